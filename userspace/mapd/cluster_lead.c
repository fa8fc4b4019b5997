// SPDX-License-Identifier: GPL-2.0-only
/*
 * The leader's work: from the config, the alive keys, the peer reports
 * (cluster_report.c) and the current map, compute the next map; write
 * it with the next epoch only if it differs, guarded by our leader key,
 * so that a leader that lost its key can never write. A daemon down
 * for longer than out_after is marked out in the config, which moves
 * its PGs.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../etcd/etcd.h"
#include "cluster.h"
#include "cluster_doc.h"
#include "cluster_int.h"
#include "log.h"
#include "mapd.h"
#include "place.h"

static double down_since(struct mapd_cluster *cl, uint32_t id, bool up)
{
	struct cluster_down *d;
	size_t i;

	for (i = 0; i < cl->ndowns; i++)
		if (cl->downs[i].id == id) {
			if (up)
				cl->downs[i] = cl->downs[--cl->ndowns];
			return up ? 0 : cl->downs[i].since;
		}
	if (up)
		return 0;
	d = realloc(cl->downs, (cl->ndowns + 1) * sizeof(*d));
	if (!d)
		return 0;
	cl->downs = d;
	cl->downs[cl->ndowns].id = id;
	cl->downs[cl->ndowns].since = mapd_now();
	return cl->downs[cl->ndowns++].since;
}

/* Marks daemons out that have been down too long; true if it wrote. */
static bool mark_out(struct mapd *m)
{
	double now = mapd_now();
	bool any = false;
	char err[256];
	json_t *snap;
	size_t i;

	if (m->out_after <= 0)
		return false;
	snap = mapd_snapshot(m);
	for (i = 0; i < m->st.ndaemons; i++) {
		struct mapd_daemon *d = &m->st.daemons[i];
		double since;

		if (!d->in)
			continue;
		since = down_since(m->cl, d->id, cluster_is_up(m, d->id));
		if (since && now - since > m->out_after) {
			log_warn("daemon %u is out: down for %.0f s; its PGs move",
				 d->id, now - since);
			d->in = false;
			any = true;
		}
	}
	if (!any) {
		json_decref(snap);
		return false;
	}
	if (cluster_commit(m, snap, err, sizeof(err)))
		log_warn("cannot mark daemons out: %s", err);
	return true;
}

/*
 * Writes the map of m->st, placed again with the liveness we see, with
 * the next epoch, unless it says what the current one does (1).
 * -ECANCELED when someone wrote before us or we are no longer leader
 * (refreshed: m->st is etcd's), -EIO while etcd does not answer.
 */
static int write_map(struct mapd *m)
{
	struct mapd_cluster *cl = m->cl;
	struct mapd_state st;
	json_t *snap, *map = NULL;
	char err[256], k[512], *doc = NULL;
	int64_t rev;
	size_t i;
	int ret;

	/* Our state is config + the current map: tables to move from. */
	snap = mapd_snapshot(m);
	ret = snap ? state_from_json(&st, snap, err, sizeof(err)) : -ENOMEM;
	json_decref(snap);
	if (ret) {
		log_err("leader: cannot copy the state: %s", err);
		return ret;
	}
	for (i = 0; i < st.ndaemons; i++)
		st.daemons[i].up = cluster_is_up(m, st.daemons[i].id);
	ret = -ENOMEM;
	if (mapd_place(&st) < 0)
		goto out;
	map = cluster_map_json(&st);
	if (!map)
		goto out;
	ret = 1;
	if (cl->map && !cl->map_unreadable && cluster_map_same(map, cl->map))
		goto out;	/* nothing to say */

	/* One past the map the CAS below is against: no two maps can
	 * carry the same epoch, whatever our state says. */
	if (cl->map) {
		json_int_t base = json_integer_value(json_object_get(cl->map,
								     "epoch"));

		st.epoch = m->st.epoch + 1;
		if (base >= 0 && (uint64_t)base >= m->st.epoch)
			st.epoch = (uint64_t)base + 1;
	}
	json_object_set_new(map, "epoch", json_integer(st.epoch));
	ret = -ENOMEM;
	doc = json_dumps(map, JSON_COMPACT);
	if (!doc)
		goto out;
	snprintf(k, sizeof(k), "%smap", cl->prefix);
	snprintf(err, sizeof(err), "%sleader", cl->prefix);
	ret = etcd_cas(cl->e, k, doc, strlen(doc), cl->map_rev, 0, err,
		       cl->leader_rev, &rev);
	if (ret == -ECANCELED) {
		/* Someone wrote before us, or we are no longer leader. */
		cl->lead_depth++;
		cluster_refresh(m);
		cl->lead_depth--;
		goto out;
	}
	if (ret) {
		cluster_unreachable(cl, "writing the map");
		ret = -EIO;
		goto out;
	}
	log_info("leader: wrote map epoch %llu", (unsigned long long)st.epoch);
	/* The watch brings it back to every mapd, us included. */
out:
	free(doc);
	json_decref(map);
	state_free(&st);
	return ret;
}

void cluster_lead(struct mapd *m)
{
	struct mapd_cluster *cl = m->cl;

	if (!cl->leader || !cl->joined || !cl->config || cl->lead_depth > 1)
		return;
	if (cluster_fence(m))
		return;		/* the config changed: placed from there */
	if (mark_out(m))
		return;		/* the config changed: placed from there */
	write_map(m);
}

int cluster_commit_map(struct mapd *m, json_t *snap, char *err,
		       size_t errlen)
{
	struct mapd_cluster *cl = m->cl;
	int ret;

	if (!snap) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	if (!cl->leader || !cl->joined || !cl->config) {
		mapd_restore(m, snap);
		json_decref(snap);
		/* Run again: it goes to the leader then. */
		snprintf(err, errlen, "no longer the leader");
		return -EAGAIN;
	}
	/* A refresh inside (a lost race) must not lead with our change. */
	cl->lead_depth++;
	ret = write_map(m);
	cl->lead_depth--;
	/*
	 * What we wrote comes back from etcd; what we did not, goes. The
	 * state is made again from etcd's documents whatever happened: a
	 * race lost in write_map refreshed it under our change already,
	 * and the snapshot is older than that refresh. Restoring it alone
	 * would pair an old epoch with the new map's revision, and the next
	 * write would reuse an epoch that another map already has.
	 */
	mapd_restore(m, snap);
	json_decref(snap);
	cl->map_rev = 0;
	cluster_refresh(m);
	if (ret == -ECANCELED) {
		snprintf(err, errlen, "the cluster state changed meanwhile");
		return -EAGAIN;
	}
	if (ret < 0) {
		snprintf(err, errlen, "cannot write the map: %s",
			 ret == -EIO ? etcd_strerror(cl->e) : strerror(-ret));
		return ret == -EIO ? -EHOSTUNREACH : ret;
	}
	return 0;
}
