// SPDX-License-Identifier: GPL-2.0-only
/*
 * Peer reports in cluster mode: faster failure detection than the grace
 * period, with etcd keys only.
 *
 * A mapd that hears that daemon ID is unreachable from its host (its
 * kernel's DAEMON_UNREACHABLE event, or a "daemon-report" request) puts
 * reports/ID/SELF on its own lease, and deletes it when it hears that
 * the daemon is reachable again. The daemon's host mapd, which sees its
 * heartbeats, refutes a report by writing alive/ID again
 * (cluster_refute): a report counts only while its create_revision is
 * newer than alive/ID's mod_revision. The leader marks the daemon down
 * when a report has counted for the refute window; a refuted or
 * withdrawn report stops counting at once.
 *
 * So a report can take down only a daemon whose host mapd is gone (its
 * lease runs on until the grace period ends) or whose daemon is silent,
 * never one whose host mapd is alive and hears from it.
 */
#include <linux/shard.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../etcd/etcd.h"
#include "cluster.h"
#include "cluster_int.h"
#include "log.h"
#include "mapd.h"

/*
 * How long the leader holds a report before it counts. In that time the
 * host mapd hears of the report through its watch, writes alive/ID, and
 * that comes back through the leader's watch: two watch deliveries and
 * one put, tens of milliseconds on a healthy etcd. A quarter of the
 * grace period, and at least a second, leaves room for a slow etcd and
 * for the host mapd's main loop being busy, and still comes well before
 * the grace period, which is what a report is for.
 */
#define REFUTE_WINDOW_MIN	1.0

static double refute_window(struct mapd *m)
{
	double w = m->grace / 4;

	return w < REFUTE_WINDOW_MIN ? REFUTE_WINDOW_MIN : w;
}

static void report_key(struct mapd_cluster *cl, uint32_t id, char *buf,
		       size_t len)
{
	snprintf(buf, len, "%sreports/%u/%s", cl->prefix, id, cl->self);
}

void cluster_reports_begin(struct mapd_cluster *cl)
{
	free(cl->old_reports);
	cl->old_reports = cl->reports;
	cl->nold_reports = cl->nreports;
	cl->reports = NULL;
	cl->nreports = 0;
}

void cluster_note_report(struct mapd_cluster *cl, const char *rest,
			 const struct etcd_kv *kv)
{
	struct cluster_report *r;
	unsigned long id;
	char *end;

	id = strtoul(rest, &end, 10);
	if (*end != '/' || !id || id >= SHARD_MAX_DAEMON_ID || !end[1] ||
	    strchr(end + 1, '/') || strlen(end + 1) >= sizeof(r->by))
		return;
	/* Not bound to a lease: no mapd stands by it. */
	if (!kv->lease)
		return;
	r = realloc(cl->reports, (cl->nreports + 1) * sizeof(*r));
	if (!r)
		return;
	cl->reports = r;
	r = &cl->reports[cl->nreports++];
	memset(r, 0, sizeof(*r));
	r->id = id;
	strcpy(r->by, end + 1);
	r->create_rev = kv->create_rev;
	r->lease = kv->lease;
}

/* The reporter is a mapd of the cluster, and the key is on its lease. */
static bool from_a_mapd(struct mapd_cluster *cl,
			const struct cluster_report *r)
{
	size_t i;

	for (i = 0; i < cl->nmapds; i++)
		if (!strcmp(cl->mapds[i], r->by))
			return cl->mapd_leases[i] == r->lease;
	return false;
}

void cluster_reports_end(struct mapd_cluster *cl)
{
	double now = mapd_now();
	size_t i, k, n = 0;

	for (i = 0; i < cl->nreports; i++) {
		struct cluster_report *r = &cl->reports[i];

		if (!from_a_mapd(cl, r))
			continue;
		/* Seen before: its window goes on. */
		r->seen = now;
		for (k = 0; k < cl->nold_reports; k++) {
			struct cluster_report *o = &cl->old_reports[k];

			if (o->id == r->id && o->create_rev == r->create_rev &&
			    !strcmp(o->by, r->by)) {
				r->seen = o->seen;
				r->logged = o->logged;
				break;
			}
		}
		cl->reports[n++] = *r;
	}
	cl->nreports = n;
	free(cl->old_reports);
	cl->old_reports = NULL;
	cl->nold_reports = 0;
}

/*
 * First-seen times are this mapd's memory only. A new leader starts
 * every window afresh: it cannot tell how long the old leader waited,
 * and its own view may be stale (it may have been cut off from etcd
 * until now), so it gives the host mapds their full time to refute.
 */
void cluster_reports_restart(struct mapd_cluster *cl)
{
	double now = mapd_now();
	size_t i;

	for (i = 0; i < cl->nreports; i++) {
		cl->reports[i].seen = now;
		cl->reports[i].logged = false;
	}
}

/* A report about id that counts: unrefuted for the refute window. */
static struct cluster_report *condemning(struct mapd *m, uint32_t id)
{
	struct mapd_cluster *cl = m->cl;
	int64_t alive_rev = cluster_alive_rev(cl, id);
	double now = mapd_now(), window = refute_window(m);
	size_t i;

	if (!state_daemon(&m->st, id))
		return NULL;	/* not in the map: nothing to mark */
	for (i = 0; i < cl->nreports; i++) {
		struct cluster_report *r = &cl->reports[i];

		if (r->id == id && r->create_rev > alive_rev &&
		    now - r->seen >= window)
			return r;
	}
	return NULL;
}

bool cluster_is_up(struct mapd *m, uint32_t id)
{
	struct cluster_report *r;

	if (!cluster_is_alive(m->cl, id))
		return false;
	r = condemning(m, id);
	if (!r)
		return true;
	if (m->cl->leader && !r->logged) {
		r->logged = true;
		log_warn("daemon %u is down: mapd %s reports it unreachable and its host did not refute it within %.1f s",
			 id, r->by, refute_window(m));
	}
	return false;
}

json_t *cluster_reporters_json(struct mapd *m, uint32_t id)
{
	struct mapd_cluster *cl = m->cl;
	json_t *a = json_array();
	size_t i;

	for (i = 0; a && i < cl->nreports; i++)
		if (cl->reports[i].id == id)
			json_array_append_new(a, json_string(cl->reports[i].by));
	return a;
}

static struct cluster_mine *mine(struct mapd_cluster *cl, uint32_t id)
{
	size_t i;

	for (i = 0; i < cl->nmine; i++)
		if (cl->mine[i].id == id)
			return &cl->mine[i];
	return NULL;
}

static int put_mine(struct mapd_cluster *cl, struct cluster_mine *r)
{
	json_t *j = json_pack("{s:i}", "err", r->err);
	char k[512], *v;
	int ret = -ENOMEM;

	/* Not UTF-8 (it came from the kernel or a request): left out. */
	json_object_set_new(j, "source", json_string(r->source));
	v = j ? json_dumps(j, JSON_COMPACT) : NULL;
	json_decref(j);
	if (!v)
		return ret;
	report_key(cl, r->id, k, sizeof(k));
	ret = etcd_put(cl->e, k, v, strlen(v), cl->lease);
	free(v);
	if (ret) {
		cluster_unreachable(cl, "writing a peer report");
		return ret;
	}
	r->key_put = true;
	return 0;
}

/* Deletes our key and forgets the report; -errno to try again later. */
static int withdraw(struct mapd_cluster *cl, size_t i)
{
	char k[512];

	report_key(cl, cl->mine[i].id, k, sizeof(k));
	if (etcd_delete(cl->e, k) < 0) {
		cluster_unreachable(cl, "withdrawing a peer report");
		return -EIO;
	}
	cl->mine[i] = cl->mine[--cl->nmine];
	return 0;
}

void cluster_reports_sync(struct mapd *m)
{
	struct mapd_cluster *cl = m->cl;
	size_t i = 0;

	if (!cl->lease || !cl->reachable)
		return;		/* the tick comes back */
	while (i < cl->nmine) {
		struct cluster_mine *r = &cl->mine[i];
		struct mapd_daemon *d = state_daemon(&m->st, r->id);

		/*
		 * Nothing more to say once the daemon is gone from the map,
		 * or down with its alive key gone too, which keeps it down
		 * without us. Down while its key still exists (its host's
		 * lease runs on) is our report's doing: it stays, or the
		 * leader would mark the daemon up again.
		 */
		if (!r->withdraw &&
		    (!d || (!d->up && !cluster_is_alive(cl, r->id)))) {
			log_info("daemon %u is %s: withdrawing our report",
				 r->id, d ? "down" : "not in the map");
			r->withdraw = true;
		}
		if (r->withdraw) {
			if (withdraw(cl, i))
				return;
			continue;
		}
		if (!r->key_put && put_mine(cl, r))
			return;
		i++;
	}
}

void cluster_peer_report(struct mapd *m, uint32_t id, bool unreachable,
			 int err, const char *source)
{
	struct mapd_cluster *cl = m->cl;
	struct cluster_mine *r = mine(cl, id);

	if (unreachable) {
		if (!r || r->withdraw)
			log_warn("daemon %u unreachable from here (%s: %s)",
				 id, source, err ? strerror(err) : "no reason given");
		if (!r) {
			r = realloc(cl->mine, (cl->nmine + 1) * sizeof(*r));
			if (!r)
				return;
			cl->mine = r;
			r = &cl->mine[cl->nmine++];
			memset(r, 0, sizeof(*r));
			r->id = id;
		}
		r->withdraw = false;
		r->err = err;
		snprintf(r->source, sizeof(r->source), "%s", source);
	} else if (r && !r->withdraw) {
		log_info("daemon %u reachable again from here (%s)", id,
			 source);
		r->withdraw = true;
	}
	cluster_reports_sync(m);
}
