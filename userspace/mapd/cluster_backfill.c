// SPDX-License-Identifier: GPL-2.0-only
/*
 * pg-backfilled in a cluster. Only the leader writes the map, whose
 * acting tables the request changes, but a daemon asks its own host's
 * mapd. That mapd puts the request as backfill/REQ (REQ: its lease in
 * hex, "-", a number), bound to its lease, and waits for the answer
 * backfilled/REQ; the leader applies the request exactly as a mapd
 * alone does (mapd_backfilled: the same checks, one new epoch), puts
 * the answer bound to the asker's lease, and deletes the request.
 *
 * Why this is safe when the leader changes or a side dies:
 *   - the map is written only by a leader holding its key, so a request
 *     is applied by one leader or none;
 *   - a request applied once no longer checks out (the PG's acting row
 *     is not what it names any more), so a second leader that finds it
 *     still there answers it with that error, never applies it twice;
 *   - the asker waits CLUSTER_BACKFILL_WAIT_MS at most, keeping its lease
 *     meanwhile (its daemons' alive keys hang on it), then withdraws the
 *     request and answers with an error; the daemon sends it again with
 *     its next map, on which the request was applied or was not;
 *   - a mapd that dies takes its requests and answers with its lease.
 * An answer that comes after the asker gave up is deleted by it at its
 * next refresh.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../etcd/etcd.h"
#include "cluster.h"
#include "cluster_int.h"
#include "cmds.h"
#include "log.h"
#include "mapd.h"

/* A request the leader could not run for losing races this often. */
#define SERVE_TRIES	5

bool cluster_follows(struct mapd *m)
{
	return m->cl && !m->cl->leader;
}

static void req_key(struct mapd_cluster *cl, char *buf, size_t len,
		    const char *what, const char *name)
{
	snprintf(buf, len, "%s%s/%s", cl->prefix, what, name);
}

/* The answer as the leader puts it: the reply, or the error. */
static char *answer_doc(int ret, json_t *reply, const char *err)
{
	json_t *a = ret ? json_pack("{s:b, s:s, s:i}", "ok", 0, "error",
				    err[0] ? err : strerror(-ret), "errno",
				    -ret) :
			  json_incref(reply);
	char *doc;

	if (!a)
		return NULL;
	if (!ret)
		json_object_set_new(a, "ok", json_true());
	doc = json_dumps(a, JSON_COMPACT);
	json_decref(a);
	return doc;
}

/*
 * Answers one request; false when we no longer lead and leave it for
 * the next leader.
 */
static bool serve_one(struct mapd *m, const struct etcd_kv *kv,
		      const char *name)
{
	struct mapd_cluster *cl = m->cl;
	json_t *req, *reply = json_object();
	char err[ERRLEN] = "", k[512], *doc;
	struct etcd_kv done;
	int ret = -EINVAL, tries;

	req_key(cl, k, sizeof(k), "backfilled", name);
	if (!etcd_get(cl->e, k, &done, NULL)) {
		/* Answered before a failed delete: only the delete. */
		etcd_kv_free(&done);
		json_decref(reply);
		goto drop;
	}
	req = json_loadb(kv->value, kv->value_len, 0, NULL);
	if (!json_is_object(req) || !reply) {
		snprintf(err, sizeof(err), "pg-backfilled: bad request %s",
			 name);
	} else {
		for (tries = 0; tries < SERVE_TRIES; tries++) {
			json_object_clear(reply);
			err[0] = '\0';
			ret = mapd_backfilled(m, req, reply, err);
			if (ret != -EAGAIN)
				break;
			if (!cl->leader) {
				json_decref(req);
				json_decref(reply);
				return false;
			}
		}
	}
	json_decref(req);
	/* The dispatcher would run it again; the asker's daemon does. */
	if (ret == -EAGAIN)
		ret = -EBUSY;
	doc = answer_doc(ret, reply, err);
	json_decref(reply);
	log_info("pg-backfilled from mapd request %s: %s", name,
		 ret ? err : "done");
	/* The asker's lease: the answer goes with it if the asker dies. */
	if (doc && etcd_put(cl->e, k, doc, strlen(doc), kv->lease) < 0)
		log_warn("cannot answer pg-backfilled request %s: %s", name,
			 etcd_strerror(cl->e));
	free(doc);
drop:
	if (etcd_delete(cl->e, kv->key) < 0)
		cluster_unreachable(cl, "deleting a pg-backfilled request");
	return true;
}

void cluster_backfill_serve(struct mapd *m)
{
	struct mapd_cluster *cl = m->cl;
	struct etcd_kv *kvs;
	size_t n, i, plen;
	char k[512];

	if (!cl->leader || cl->bf_serving || !cl->bf_seen || !cl->reachable)
		return;
	req_key(cl, k, sizeof(k), "backfill", "");
	plen = strlen(k);
	if (etcd_get_prefix(cl->e, k, &kvs, &n, NULL) < 0) {
		cluster_unreachable(cl, "reading pg-backfilled requests");
		return;
	}
	cl->bf_seen = false;
	/* What it does refreshes, which must not serve the same again. */
	cl->bf_serving = true;
	for (i = 0; i < n && cl->leader; i++)
		if (!serve_one(m, &kvs[i], kvs[i].key + plen))
			break;
	cl->bf_serving = false;
	etcd_kvs_free(kvs, n);
}

void cluster_backfill_note_done(struct mapd *m, const char *rest)
{
	struct mapd_cluster *cl = m->cl;
	char mine[32], k[512];

	/* No request of ours is waiting while the main loop refreshes. */
	snprintf(mine, sizeof(mine), "%llx-", (unsigned long long)cl->lease);
	if (!cl->lease || strncmp(rest, mine, strlen(mine)))
		return;
	req_key(cl, k, sizeof(k), "backfilled", rest);
	if (etcd_delete(cl->e, k) < 0)
		cluster_unreachable(cl, "deleting a late pg-backfilled answer");
}

/* The leader's answer, if it is there: 1 (and *ans), 0, or -errno. */
static int get_answer(struct mapd_cluster *cl, const char *k, json_t **ans)
{
	struct etcd_kv kv;
	int ret = etcd_get(cl->e, k, &kv, NULL);

	if (ret == -ENOENT)
		return 0;
	if (ret)
		return ret;
	*ans = json_loadb(kv.value, kv.value_len, 0, NULL);
	etcd_kv_free(&kv);
	etcd_delete(cl->e, k);
	if (!json_is_object(*ans)) {
		json_decref(*ans);
		*ans = json_pack("{s:b, s:s}", "ok", 0, "error",
				 "the leader's answer is not a JSON object");
	}
	return *ans ? 1 : -ENOMEM;
}

/* Waits for the answer until the deadline: 1 (and *ans), or 0. */
static int wait_answer(struct mapd *m, const char *k, json_t **ans,
		       bool *woke)
{
	struct mapd_cluster *cl = m->cl;
	double until = mapd_now() + CLUSTER_BACKFILL_WAIT_MS / 1000.0;
	struct pollfd pfd = { .fd = cl->pipe[0], .events = POLLIN };
	char c[64];
	int ret;

	for (;;) {
		/* The watch wakes us on every change in the cluster. */
		if (poll(&pfd, 1, 100) > 0) {
			while (read(cl->pipe[0], c, sizeof(c)) > 0)
				;
			*woke = true;
		}
		/* etcd may fail a moment: the deadline bounds the wait. */
		ret = get_answer(cl, k, ans);
		if (ret > 0)
			return ret;
		/* Our daemons' alive keys hang on the lease. */
		cluster_keep_lease(cl);
		if (mapd_now() > until)
			return 0;
	}
}

static void copy_answer(json_t *ans, json_t *reply)
{
	const char *key;
	json_t *v;

	json_object_foreach(ans, key, v)
		if (strcmp(key, "ok") && strcmp(key, "error") &&
		    strcmp(key, "errno"))
			json_object_set(reply, key, v);
}

int cluster_backfill_ask(struct mapd *m, json_t *req, json_t *reply,
			 char *err, size_t errlen)
{
	struct mapd_cluster *cl = m->cl;
	char name[64], k[512], kd[512], *doc;
	json_t *ans = NULL;
	bool woke = false;
	int ret, e;

	if (!cl->joined || !cl->reachable || !cl->lease) {
		snprintf(err, errlen, "pg-backfilled: etcd unreachable: %s",
			 cl->error[0] ? cl->error : "no lease yet");
		return -EHOSTUNREACH;
	}
	snprintf(name, sizeof(name), "%llx-%u",
		 (unsigned long long)cl->lease, ++cl->bf_seq);
	req_key(cl, k, sizeof(k), "backfill", name);
	req_key(cl, kd, sizeof(kd), "backfilled", name);
	doc = json_dumps(req, JSON_COMPACT);
	if (!doc) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	ret = etcd_put(cl->e, k, doc, strlen(doc), cl->lease);
	free(doc);
	if (ret) {
		snprintf(err, errlen, "pg-backfilled: etcd: %s",
			 etcd_strerror(cl->e));
		cluster_unreachable(cl, "asking the leader for pg-backfilled");
		return -EHOSTUNREACH;
	}
	ret = wait_answer(m, kd, &ans, &woke);
	if (!ret) {
		/* Gone: the leader took it, and its answer is on the way. */
		if (etcd_delete(cl->e, k) == 0)
			ret = get_answer(cl, kd, &ans);
	}
	/* The main loop refreshes for what the watch said meanwhile. */
	if (woke && write(cl->pipe[1], "w", 1) < 0)
		log_warn("cannot wake the main loop up");
	if (ret <= 0) {
		snprintf(err, errlen,
			 "pg-backfilled: no answer from the leader (%s) within %d ms%s%s: fetch the map and send it again",
			 cl->leader_name[0] ? cl->leader_name : "none",
			 CLUSTER_BACKFILL_WAIT_MS, ret ? ": " : "",
			 ret ? etcd_strerror(cl->e) : "");
		return -ETIMEDOUT;
	}
	if (!json_is_true(json_object_get(ans, "ok"))) {
		snprintf(err, errlen, "%s",
			 json_string_value(json_object_get(ans, "error")) ?:
			 "refused by the leader");
		e = json_integer_value(json_object_get(ans, "errno"));
		json_decref(ans);
		/* Not -EAGAIN: the dispatcher would send it again. */
		return e > 0 && e < 4096 && e != EAGAIN ? -e : -EINVAL;
	}
	copy_answer(ans, reply);
	json_decref(ans);
	return 0;
}
