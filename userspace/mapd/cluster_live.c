// SPDX-License-Identifier: GPL-2.0-only
/*
 * Liveness in cluster mode. This mapd's lease (TTL: the grace period)
 * carries its mapds/NAME key, the leader key when it leads, and an
 * alive/ID key for each daemon heartbeating to it. A daemon that stops
 * heartbeating loses its key after the grace period; a host that dies
 * loses all of its keys when its lease runs out. The leader turns keys
 * into up and down. Writing alive/ID again is also how this mapd
 * refutes a peer report about a daemon that heartbeats here
 * (cluster_refute; see cluster_report.c).
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
#include "recovery.h"

/* Refresh an alive key's "used" at most this often (seconds). */
#define USED_REFRESH	10.0

/*
 * A heartbeat at most this old refutes a peer report: two of shardd's
 * default 1 s intervals and some slack. Older, the daemon may well be
 * what the report says, and its host mapd keeps quiet.
 */
#define REFUTE_HB_AGE	2.5

static void alive_key(struct mapd_cluster *cl, uint32_t id, char *buf,
		      size_t len)
{
	snprintf(buf, len, "%salive/%u", cl->prefix, id);
}

/* The alive keys of the refresh before, for their recovery samples. */
static void keep_prev_alive(struct mapd_cluster *cl)
{
	size_t n = cl->nalive_last;

	free(cl->alive_prev);
	cl->alive_prev = NULL;
	cl->nalive_prev = 0;
	if (!n || n > cl->alive_cap)
		return;
	cl->alive_prev = malloc(n * sizeof(*cl->alive_prev));
	if (!cl->alive_prev)
		return;		/* the rates start again */
	memcpy(cl->alive_prev, cl->alive, n * sizeof(*cl->alive_prev));
	cl->nalive_prev = n;
}

/*
 * A peer's daemon's recovery figures go on from the last refresh; a new
 * sample when its key was put again (mod_revision).
 */
static void note_alive_recovery(struct mapd_cluster *cl,
				struct cluster_alive *a, json_t *v)
{
	struct mapd_recovery r;
	size_t i;

	recovery_reset(&a->rec);
	if (a->lease == cl->lease)
		return;		/* ours: sampled from the heartbeats */
	recovery_from_json(json_object_get(v, "recovery"), &r);
	for (i = 0; i < cl->nalive_prev; i++) {
		const struct cluster_alive *p = &cl->alive_prev[i];

		if (p->id != a->id || p->lease == cl->lease)
			continue;
		a->rec = p->rec;
		if (p->mod_rev == a->mod_rev) {
			a->rec.last = r;
			return;
		}
		break;
	}
	recovery_note(&a->rec, &r, mapd_now());
}

void cluster_note_alive(struct mapd_cluster *cl, const char *id_str,
			const struct etcd_kv *kv)
{
	struct cluster_alive *a;
	unsigned long id;
	json_t *j;
	char *end;

	/* The first of a refresh (cluster_refresh counts from 0). */
	if (!cl->nalive)
		keep_prev_alive(cl);
	id = strtoul(id_str, &end, 10);
	if (*end || !id || id >= SHARD_MAX_DAEMON_ID)
		return;
	if (cl->nalive == cl->alive_cap) {
		size_t cap = cl->alive_cap ? cl->alive_cap * 2 : 16;

		a = realloc(cl->alive, cap * sizeof(*a));
		if (!a)
			return;
		cl->alive = a;
		cl->alive_cap = cap;
	}
	a = &cl->alive[cl->nalive++];
	a->id = id;
	a->used = 0;
	a->mod_rev = kv->mod_rev;
	a->lease = kv->lease;
	j = json_loadb(kv->value, kv->value_len, 0, NULL);
	if (json_is_integer(json_object_get(j, "used")))
		a->used = json_integer_value(json_object_get(j, "used"));
	note_alive_recovery(cl, a, j);
	json_decref(j);
}

bool cluster_is_alive(struct mapd_cluster *cl, uint32_t id)
{
	size_t i;

	for (i = 0; i < cl->nalive; i++)
		if (cl->alive[i].id == id)
			return true;
	return false;
}

/*
 * An alive key we put may have gone without us: deleted by another mapd
 * that once heard from a daemon of that id (a host that joined with
 * sessions from before), or put over by one. Ours again on the next
 * heartbeat or tick.
 */
void cluster_check_alive_keys(struct mapd_cluster *cl)
{
	size_t i, k;

	free(cl->alive_prev);
	cl->alive_prev = NULL;
	cl->nalive_prev = 0;
	cl->nalive_last = cl->nalive;
	for (i = 0; i < cl->nlocal; i++) {
		struct cluster_local *l = &cl->local[i];
		bool ours = false;

		if (!l->key_put)
			continue;
		for (k = 0; k < cl->nalive; k++)
			if (cl->alive[k].id == l->id)
				ours = cl->alive[k].lease == cl->lease;
		if (!ours) {
			log_warn("daemon %u's alive key is gone or not ours: putting it again",
				 l->id);
			l->key_put = false;
		}
	}
}

int64_t cluster_alive_rev(struct mapd_cluster *cl, uint32_t id)
{
	size_t i;

	for (i = 0; i < cl->nalive; i++)
		if (cl->alive[i].id == id)
			return cl->alive[i].mod_rev;
	return 0;
}

double cluster_refute_age(struct mapd *m)
{
	return m->grace < REFUTE_HB_AGE ? m->grace : REFUTE_HB_AGE;
}

void cluster_used(struct mapd_cluster *cl, struct mapd_daemon *d)
{
	size_t i;

	for (i = 0; i < cl->nlocal; i++)
		if (cl->local[i].id == d->id) {
			d->used = cl->local[i].used;
			return;
		}
	for (i = 0; i < cl->nalive; i++)
		if (cl->alive[i].id == d->id)
			d->used = cl->alive[i].used;
}

/* {"used":N} and, once the daemon reported some, its recovery. */
static int put_alive(struct mapd_cluster *cl, struct cluster_local *l)
{
	const struct mapd_recovery *r = &l->rec.last;
	char k[512], v[256];
	int ret;

	alive_key(cl, l->id, k, sizeof(k));
	if (recovery_is_zero(r))
		snprintf(v, sizeof(v), "{\"used\":%llu}",
			 (unsigned long long)l->used);
	else
		snprintf(v, sizeof(v),
			 "{\"used\":%llu,\"recovery\":{\"objects\":%llu,\"bytes\":%llu,\"copied\":%llu}}",
			 (unsigned long long)l->used,
			 (unsigned long long)r->objects,
			 (unsigned long long)r->bytes,
			 (unsigned long long)r->copied);
	ret = etcd_put(cl->e, k, v, strlen(v), cl->lease);
	if (ret) {
		cluster_unreachable(cl, "writing a daemon's alive key");
		return ret;
	}
	l->key_put = true;
	l->put_used = l->used;
	l->put_rec = *r;
	l->put_at = mapd_now();
	return 0;
}

/* What the key says differs from the heartbeats: put it again when due. */
static bool alive_changed(const struct cluster_local *l)
{
	return l->used != l->put_used ||
	       memcmp(&l->rec.last, &l->put_rec, sizeof(l->put_rec));
}

/* The key says recovery goes on, the daemon says it is over: put now. */
static bool recovery_done(const struct cluster_local *l)
{
	return l->put_rec.objects && !l->rec.last.objects;
}

void cluster_heartbeat(struct mapd *m, uint32_t id, uint64_t used)
{
	cluster_heartbeat_recovery(m, id, used, NULL);
}

void cluster_heartbeat_recovery(struct mapd *m, uint32_t id, uint64_t used,
				const struct mapd_recovery *r)
{
	static const struct mapd_recovery none;
	struct mapd_cluster *cl = m->cl;
	struct cluster_local *l = NULL;
	size_t i;

	for (i = 0; i < cl->nlocal; i++)
		if (cl->local[i].id == id)
			l = &cl->local[i];
	if (!l) {
		l = realloc(cl->local, (cl->nlocal + 1) * sizeof(*l));
		if (!l)
			return;
		cl->local = l;
		l = &cl->local[cl->nlocal++];
		memset(l, 0, sizeof(*l));
		l->id = id;
		log_info("daemon %u heartbeats here", id);
	}
	l->last_hb = mapd_now();
	l->used = used;
	recovery_note(&l->rec, r ? r : &none, l->last_hb);
	/* A daemon coming back should be up again without waiting a tick,
	 * and status everywhere say at once that its recovery is over. */
	if ((!l->key_put || recovery_done(l)) && cl->lease && cl->reachable)
		put_alive(cl, l);
}

void cluster_daemon_gone(struct mapd *m, uint32_t id)
{
	struct mapd_cluster *cl = m->cl;
	char k[512];
	size_t i;

	for (i = 0; i < cl->nlocal; i++) {
		struct cluster_local *l = &cl->local[i];

		if (l->id != id)
			continue;
		/* Silent from now on: the tick drops the key if we cannot. */
		l->last_hb = 0;
		if (l->key_put && cl->reachable) {
			alive_key(cl, id, k, sizeof(k));
			if (etcd_delete(cl->e, k) >= 0) {
				l->key_put = false;
				log_warn("daemon %u is down: its session closed",
					 id);
			} else {
				cluster_unreachable(cl, "dropping an alive key");
			}
		}
	}
}

/* A fresh lease: our keys come back with it. */
static int new_lease(struct mapd_cluster *cl)
{
	size_t i;
	int ret;

	ret = etcd_lease_grant(cl->e, cl->ttl, &cl->lease);
	if (ret) {
		cl->lease = 0;
		cluster_unreachable(cl, "granting a lease");
		return ret;
	}
	ret = cluster_register_self(cl);
	if (ret)
		return ret;
	for (i = 0; i < cl->nlocal; i++)
		cl->local[i].key_put = false;
	for (i = 0; i < cl->nmine; i++)
		cl->mine[i].key_put = false;
	cluster_reachable(cl);
	cl->next_keepalive = mapd_now() + cl->ttl / 3.0;
	return 0;
}

static void keep_lease(struct mapd_cluster *cl)
{
	int64_t left;
	int ret;

	if (!cl->lease) {
		new_lease(cl);
		return;
	}
	if (mapd_now() < cl->next_keepalive)
		return;
	ret = etcd_lease_keepalive(cl->e, cl->lease, &left);
	if (ret == -ENOENT) {
		log_warn("etcd: our lease expired; taking a new one");
		cl->lease = 0;
		if (cl->leader)
			log_warn("no longer the leader (lease expired)");
		cl->leader = false;
		new_lease(cl);
		return;
	}
	if (ret) {
		cluster_unreachable(cl, "renewing our lease");
		return;
	}
	cluster_reachable(cl);
	cl->next_keepalive = mapd_now() + cl->ttl / 3.0;
}

void cluster_keep_lease(struct mapd_cluster *cl)
{
	keep_lease(cl);
	cluster_loop_alive(cl);		/* the lease may be another now */
}

static void keep_alive_keys(struct mapd *m)
{
	struct mapd_cluster *cl = m->cl;
	double now = mapd_now();
	char k[512];
	size_t i;

	for (i = 0; i < cl->nlocal && cl->lease; i++) {
		struct cluster_local *l = &cl->local[i];
		bool silent = now - l->last_hb > m->grace;
		/* Writing the key refutes reports: only on fresh news. */
		bool fresh = now - l->last_hb <= cluster_refute_age(m);

		if (silent && l->key_put) {
			alive_key(cl, l->id, k, sizeof(k));
			if (etcd_delete(cl->e, k) < 0) {
				cluster_unreachable(cl, "dropping an alive key");
				return;
			}
			l->key_put = false;
			log_warn("daemon %u is silent for %.0f s", l->id,
				 now - l->last_hb);
		} else if (fresh && (!l->key_put || recovery_done(l) ||
			   (alive_changed(l) &&
			    now - l->put_at > USED_REFRESH))) {
			if (put_alive(cl, l))
				return;
		}
	}
}

void cluster_refute(struct mapd *m)
{
	struct mapd_cluster *cl = m->cl;
	double now = mapd_now();
	size_t i, k;

	if (!cl->lease || !cl->reachable)
		return;
	for (i = 0; i < cl->nlocal; i++) {
		struct cluster_local *l = &cl->local[i];
		const char *by = NULL;
		int64_t newest = 0;

		for (k = 0; k < cl->nreports; k++)
			if (cl->reports[k].id == l->id &&
			    cl->reports[k].create_rev > newest) {
				newest = cl->reports[k].create_rev;
				by = cl->reports[k].by;
			}
		if (!by || newest <= l->refuted_rev ||
		    newest <= cluster_alive_rev(cl, l->id))
			continue;	/* none, or refuted already */
		if (now - l->last_hb > cluster_refute_age(m))
			continue;	/* silent: the report may be right */
		if (put_alive(cl, l))
			return;
		l->refuted_rev = newest;
		log_info("daemon %u heartbeats here (%.1f s ago): refuting mapd %s's report that it is unreachable",
			 l->id, now - l->last_hb, by);
	}
}

/* Heartbeating here now (not merely known from before). */
static bool local_fresh(struct mapd *m, uint32_t id)
{
	struct mapd_cluster *cl = m->cl;
	size_t i;

	for (i = 0; i < cl->nlocal; i++)
		if (cl->local[i].id == id)
			return mapd_now() - cl->local[i].last_hb <= m->grace;
	return false;
}

/*
 * Our daemons' figures from their heartbeats, the others' from their
 * alive keys: a daemon without a key (down) copies nothing. A key of
 * ours that another mapd put over, or one from our previous lease,
 * does not count a daemon twice.
 */
void cluster_recovery(struct mapd *m, uint32_t id, struct recovery_sum *s)
{
	struct mapd_cluster *cl = m->cl;
	double now = mapd_now();
	size_t i;

	for (i = 0; i < cl->nlocal; i++) {
		const struct cluster_local *l = &cl->local[i];

		if ((!id || l->id == id) && local_fresh(m, l->id))
			recovery_add(s, &l->rec, now);
	}
	for (i = 0; i < cl->nalive; i++) {
		const struct cluster_alive *a = &cl->alive[i];

		if ((!id || a->id == id) && a->lease != cl->lease &&
		    !local_fresh(m, a->id))
			recovery_add(s, &a->rec, now);
	}
}

static void campaign(struct mapd *m)
{
	struct mapd_cluster *cl = m->cl;
	struct etcd_kv cur;
	int64_t rev;
	char k[512];
	int ret;

	if (cl->leader || !cl->lease || cl->leader_name[0])
		return;
	snprintf(k, sizeof(k), "%sleader", cl->prefix);
	ret = etcd_create(cl->e, k, cl->self, strlen(cl->self), cl->lease,
			  &cur, &rev);
	if (ret == -EEXIST) {
		snprintf(cl->leader_name, sizeof(cl->leader_name), "%s",
			 cur.value);
		etcd_kv_free(&cur);
		return;
	}
	if (ret) {
		cluster_unreachable(cl, "campaigning");
		return;
	}
	cl->leader = true;
	cl->leader_rev = rev;
	snprintf(cl->leader_name, sizeof(cl->leader_name), "%s", cl->self);
	free(cl->downs);
	cl->downs = NULL;
	cl->ndowns = 0;
	cluster_reports_restart(cl);
	log_info("leading cluster %s", cl->name);
	cluster_lead(m);
}

void cluster_tick(struct mapd *m)
{
	struct mapd_cluster *cl = m->cl;
	bool was_reachable = cl->reachable;

	cluster_loop_alive(cl);
	if (!cl->reachable && mapd_now() < cl->next_try)
		return;
	if (!cl->joined && cluster_join(m))
		return;
	cluster_keep_lease(cl);
	/* No more requests to wait for: one timeout per try is enough. */
	if (!cl->lease || !cl->reachable)
		return;
	keep_alive_keys(m);
	cluster_self_sync(m);
	/* Back from an outage: catch up before acting on old news. */
	if (!was_reachable && cl->reachable)
		cluster_refresh(m);
	/* A daemon silent at a report's time may have spoken since. */
	cluster_refute(m);
	cluster_reports_sync(m);
	campaign(m);
	if (cl->leader) {
		cluster_lead(m);
		/* A new leader answers what waits for its predecessor. */
		cluster_backfill_serve(m);
	}
}
