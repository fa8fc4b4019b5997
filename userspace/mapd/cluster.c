// SPDX-License-Identifier: GPL-2.0-only
/* Cluster mode: see cluster.h. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../etcd/etcd.h"
#include "cluster.h"
#include "cluster_doc.h"
#include "place.h"
#include "cluster_int.h"
#include "log.h"
#include "mapd.h"

/* While etcd does not answer, try it this often (seconds). */
#define RETRY_INTERVAL	3.0

static void key(struct mapd_cluster *cl, char *buf, size_t len,
		const char *what)
{
	snprintf(buf, len, "%s%s", cl->prefix, what);
}

void cluster_unreachable(struct mapd_cluster *cl, const char *what)
{
	if (cl->reachable)
		log_err("etcd: %s: %s; serving the last map", what,
			etcd_strerror(cl->e));
	cl->reachable = false;
	snprintf(cl->error, sizeof(cl->error), "%s: %s", what,
		 etcd_strerror(cl->e));
	cl->next_try = mapd_now() + RETRY_INTERVAL;
}

void cluster_reachable(struct mapd_cluster *cl)
{
	if (!cl->reachable)
		log_info("etcd: reachable");
	cl->reachable = true;
	cl->error[0] = '\0';
}

/* Rebuilds m->st from the config and map documents we hold. */
static int rebuild(struct mapd *m)
{
	struct mapd_cluster *cl = m->cl;
	struct mapd_state st;
	char err[256];
	size_t i;
	int ret;

	if (!cl->config)
		return 0;
	ret = state_from_json(&st, cl->config, err, sizeof(err));
	if (ret) {
		log_err("etcd: config document refused: %s", err);
		return ret;
	}
	if (cl->map) {
		ret = cluster_apply_map(&st, cl->map, err, sizeof(err));
		if (ret) {
			log_err("etcd: map document refused: %s", err);
			state_free(&st);
			return ret;
		}
	}
	/* Every mapd names the backfill targets the leader wrote. */
	ret = mapd_backfill_publish(cl->map);
	if (ret) {
		state_free(&st);
		return ret;
	}
	for (i = 0; i < st.ndaemons; i++) {
		struct mapd_daemon *d = &st.daemons[i];
		struct mapd_daemon *old = state_daemon(&m->st, d->id);

		d->used = old ? old->used : 0;
		d->last_seen = old ? old->last_seen : 0;
		d->down_since = old ? old->down_since : 0;
		cluster_used(cl, d);
	}
	state_free(&m->st);
	m->st = st;
	/* The state file caches the last map for a start without etcd. */
	ret = state_save(&m->st, m->state_path);
	if (ret)
		log_warn("cannot save %s: %s", m->state_path, strerror(-ret));
	return 0;
}

static json_t *parse_doc(const struct etcd_kv *kv, const char *what)
{
	json_error_t je;
	json_t *j = json_loadb(kv->value, kv->value_len,
			       JSON_REJECT_DUPLICATES, &je);

	if (!j || !json_is_object(j)) {
		log_err("etcd: %s document is not a JSON object: %s", what,
			je.text);
		json_decref(j);
		return NULL;
	}
	return j;
}

void cluster_refresh(struct mapd *m)
{
	struct mapd_cluster *cl = m->cl;
	uint64_t old_epoch = m->st.epoch;
	bool changed = false, leader_seen = false;
	struct etcd_kv *kvs;
	int64_t rev;
	size_t n, i, plen = strlen(cl->prefix);
	struct kerr kerr;
	char c[64];

	cluster_loop_alive(cl);
	while (read(cl->pipe[0], c, sizeof(c)) > 0)
		;
	/* While etcd does not answer, the tick retries, not every wake-up. */
	if (!cl->reachable && mapd_now() < cl->next_try)
		return;
	if (etcd_get_prefix(cl->e, cl->prefix, &kvs, &n, &rev) < 0) {
		cluster_unreachable(cl, "reading the cluster state");
		return;
	}
	cluster_reachable(cl);
	cl->nalive = 0;
	cl->nmapds = 0;
	cl->bf_seen = false;
	cluster_hosts_begin(cl);
	cluster_reports_begin(cl);
	cluster_scrub_begin(cl);
	for (i = 0; i < n; i++) {
		const struct etcd_kv *kv = &kvs[i];
		const char *k = kv->key + plen;
		json_t *j;

		if (!strcmp(k, "config") && kv->mod_rev != cl->config_rev) {
			j = parse_doc(kv, "config");
			/* Unreadable, we keep ours, and the next change
			 * writes over it: its CAS needs this revision. */
			cl->config_rev = kv->mod_rev;
			if (j) {
				json_decref(cl->config);
				cl->config = j;
				changed = true;
			}
		} else if (!strcmp(k, "map") && kv->mod_rev != cl->map_rev) {
			j = parse_doc(kv, "map");
			/* Likewise; the leader writes the next epoch. */
			cl->map_rev = kv->mod_rev;
			cl->map_unreadable = !j;
			if (j) {
				json_decref(cl->map);
				cl->map = j;
				changed = true;
			}
		} else if (!strcmp(k, "leader")) {
			leader_seen = true;
			snprintf(cl->leader_name, sizeof(cl->leader_name),
				 "%s", kv->value);
			if (cl->leader && kv->create_rev != cl->leader_rev) {
				log_warn("no longer the leader (%s is)",
					 kv->value);
				cl->leader = false;
			}
		} else if (!strncmp(k, "alive/", 6)) {
			cluster_note_alive(cl, k + 6, kv);
		} else if (!strncmp(k, "mapds/", 6) &&
			   cl->nmapds < CLUSTER_MAX_MAPDS) {
			cl->mapd_leases[cl->nmapds] = kv->lease;
			cluster_note_mapd(cl, cl->nmapds, kv);
			snprintf(cl->mapds[cl->nmapds++], sizeof(cl->mapds[0]),
				 "%s", k + 6);
		} else if (!strncmp(k, "hosts/", 6)) {
			cluster_note_host(cl, k + 6, kv);
		} else if (!strncmp(k, "reports/", 8)) {
			cluster_note_report(cl, k + 8, kv);
		} else if (!strncmp(k, "backfill/", 9)) {
			cl->bf_seen = true;
		} else if (!strncmp(k, "backfilled/", 11)) {
			cluster_backfill_note_done(m, k + 11);
		} else if (!strncmp(k, "scrub/", 6)) {
			cluster_scrub_note(m, k + 6, kv);
		}
	}
	etcd_kvs_free(kvs, n);
	cluster_reports_end(cl);
	cluster_check_alive_keys(cl);
	if (!leader_seen) {
		cl->leader_name[0] = '\0';
		if (cl->leader)
			log_warn("no longer the leader (its key is gone)");
		cl->leader = false;
	}
	if (cl->watch_from <= 0)
		cl->watch_from = rev + 1;
	if (changed && !rebuild(m) && m->st.epoch != old_epoch) {
		log_info("map epoch %llu from etcd",
			 (unsigned long long)m->st.epoch);
		m->map_pushed = false;
		mapd_sync_kernel(m, &kerr);
	} else if (!changed) {
		/* Liveness of other daemons changes what status shows. */
		for (i = 0; i < m->st.ndaemons; i++)
			cluster_used(cl, &m->st.daemons[i]);
	}
	cluster_scrub_end(m);
	cluster_refute(m);
	if (cl->leader) {
		cluster_lead(m);
		cluster_backfill_serve(m);
	}
}

static int upload(struct mapd *m)
{
	struct mapd_cluster *cl = m->cl;
	json_t *config = cluster_config_json(&m->st);
	json_t *map = cluster_map_json(&m->st);
	char *a = config ? json_dumps(config, JSON_COMPACT) : NULL;
	char *b = map ? json_dumps(map, JSON_COMPACT) : NULL;
	char k[512];
	int ret = -ENOMEM;

	if (a && b) {
		key(cl, k, sizeof(k), "config");
		ret = etcd_create(cl->e, k, a, strlen(a), 0, NULL, NULL);
		if (!ret) {
			key(cl, k, sizeof(k), "map");
			ret = etcd_create(cl->e, k, b, strlen(b), 0, NULL,
					  NULL);
			if (ret == -EEXIST)
				ret = 0;
			if (!ret)
				log_info("created cluster %s from the local state (epoch %llu)",
					 cl->name, (unsigned long long)m->st.epoch);
		} else if (ret == -EEXIST) {
			ret = 0;	/* someone else created it */
		}
	}
	json_decref(config);
	json_decref(map);
	free(a);
	free(b);
	return ret;
}

/* Connects to the cluster; 0 once joined, or -errno to retry later. */
int cluster_join(struct mapd *m)
{
	struct mapd_cluster *cl = m->cl;
	struct etcd_kv kv;
	char k[512];
	int ret;

	key(cl, k, sizeof(k), "config");
	ret = etcd_get(cl->e, k, &kv, NULL);
	if (ret == -ENOENT) {
		ret = upload(m);
	} else if (!ret) {
		etcd_kv_free(&kv);
	}
	if (ret) {
		cluster_unreachable(cl, "joining the cluster");
		return ret;
	}
	cl->joined = true;
	log_info("joined cluster %s as %s", cl->name, cl->self);
	cluster_refresh(m);
	return 0;
}

int cluster_start(struct mapd *m, const struct mapd_cluster_opts *o)
{
	struct mapd_cluster *cl;
	char err[256];
	int ret;

	cl = calloc(1, sizeof(*cl));
	if (!cl)
		return -ENOMEM;
	cl->pipe[0] = cl->pipe[1] = -1;
	cl->reachable = true;
	cl->timeout_ms = o->timeout_ms;
	cl->ttl = m->grace < 2 ? 2 : (int64_t)(m->grace + 0.5);
	if (asprintf(&cl->prefix, "/shard/%s/", o->name) < 0) {
		cl->prefix = NULL;
		ret = -ENOMEM;
		goto fail;
	}
	cl->name = strdup(o->name);
	cl->self = strdup(o->self);
	cl->endpoints = strdup(o->endpoints);
	if (!cl->name || !cl->self || !cl->endpoints) {
		ret = -ENOMEM;
		goto fail;
	}
	cluster_read_boot_id(cl);
	cl->e = etcd_open(o->endpoints, o->timeout_ms, err, sizeof(err));
	if (!cl->e) {
		log_err("etcd: %s", err);
		ret = -EINVAL;
		goto fail;
	}
	if (pipe2(cl->pipe, O_CLOEXEC | O_NONBLOCK) < 0) {
		ret = -errno;
		goto fail;
	}
	m->cl = cl;
	cluster_join(m);
	ret = cluster_watch_start(m);
	if (ret) {
		m->cl = NULL;
		mapd_backfill_publish(NULL);
		goto fail;
	}
	/* Without it the main loop alone renews: slower, not wrong. */
	if (cluster_keepalive_start(cl))
		log_warn("cannot start the lease's keepalive thread");
	return 0;
fail:
	cluster_free(cl);
	return ret;
}

void cluster_free(struct mapd_cluster *cl)
{
	if (!cl)
		return;
	if (cl->e)
		etcd_close(cl->e);
	if (cl->pipe[0] >= 0)
		close(cl->pipe[0]);
	if (cl->pipe[1] >= 0)
		close(cl->pipe[1]);
	json_decref(cl->config);
	json_decref(cl->map);
	free(cl->alive);
	free(cl->local);
	free(cl->downs);
	free(cl->reports);
	free(cl->old_reports);
	free(cl->mine);
	free(cl->hosts);
	free(cl->said);
	free(cl->prefix);
	free(cl->name);
	free(cl->self);
	free(cl->endpoints);
	free(cl);
}

void cluster_stop(struct mapd *m)
{
	struct mapd_cluster *cl = m->cl;

	if (!cl)
		return;
	cluster_watch_stop(m);
	cluster_keepalive_stop(cl);
	/* Going away on purpose: let the others know at once, and that
	 * this host is not dead (hosts/ first: no fence). */
	if (cl->lease && cl->reachable) {
		cluster_self_leave(cl);
		etcd_lease_revoke(cl->e, cl->lease);
	}
	cluster_free(cl);
	m->cl = NULL;
	mapd_backfill_publish(NULL);
}

const char *cluster_name(struct mapd *m)
{
	return m->cl ? m->cl->name : NULL;
}

int cluster_event_fd(struct mapd *m)
{
	return m->cl ? m->cl->pipe[0] : -1;
}

bool cluster_catch_up(struct mapd *m)
{
	struct mapd_cluster *cl = m->cl;
	int64_t config = cl->config_rev, map = cl->map_rev;

	cluster_refresh(m);
	return cl->config_rev != config || cl->map_rev != map;
}

int cluster_commit(struct mapd *m, json_t *snap, char *err, size_t errlen)
{
	struct mapd_cluster *cl = m->cl;
	json_t *config = cluster_config_json(&m->st);
	char *doc = config ? json_dumps(config, JSON_COMPACT) : NULL;
	int64_t rev;
	char k[512];
	int ret;

	if (!doc) {
		snprintf(err, errlen, "out of memory");
		ret = -ENOMEM;
		goto fail;
	}
	if (!cl->joined) {
		snprintf(err, errlen, "not joined to cluster %s yet: %s",
			 cl->name, cl->error[0] ? cl->error : "etcd unreachable");
		ret = -EHOSTUNREACH;
		goto fail;
	}
	key(cl, k, sizeof(k), "config");
	ret = etcd_cas(cl->e, k, doc, strlen(doc), cl->config_rev, 0, NULL, 0,
		       &rev);
	if (ret == -ECANCELED) {
		mapd_restore(m, snap);
		cluster_refresh(m);
		ret = -EAGAIN;
		snprintf(err, errlen, "the cluster state changed meanwhile");
		goto out;
	}
	if (ret) {
		snprintf(err, errlen, "etcd: %s", etcd_strerror(cl->e));
		cluster_unreachable(cl, "writing the config");
		goto fail;
	}
	cluster_reachable(cl);
	json_decref(cl->config);
	cl->config = config;
	config = NULL;
	cl->config_rev = rev;
	/* The leader places what changed; if that is us, now. */
	if (cl->leader)
		cluster_lead(m);
	goto out;
fail:
	mapd_restore(m, snap);
out:
	json_decref(snap);
	json_decref(config);
	free(doc);
	return ret;
}

void cluster_status(struct mapd *m, json_t *reply)
{
	struct mapd_cluster *cl = m->cl;
	json_t *mapds = json_array();
	size_t i;

	for (i = 0; i < cl->nmapds; i++)
		json_array_append_new(mapds, json_string(cl->mapds[i]));
	json_object_set_new(reply, "mode", json_string("cluster"));
	json_object_set_new(reply, "cluster", json_string(cl->name));
	json_object_set_new(reply, "self", json_string(cl->self));
	json_object_set_new(reply, "leader", cl->leader_name[0] ?
			    json_string(cl->leader_name) : json_null());
	json_object_set_new(reply, "mapds", mapds);
	json_object_set_new(reply, "etcd", json_pack("{s:s, s:s}",
		"state", cl->reachable && cl->joined ? "ok" : "unreachable",
		"endpoints", cl->endpoints));
	if (cl->error[0])
		json_object_set_new(json_object_get(reply, "etcd"), "error",
				    json_string(cl->error));
}
