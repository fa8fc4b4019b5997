// SPDX-License-Identifier: GPL-2.0-only
/*
 * Scrubs in a cluster. An admin's shardctl talks to any mapd; a PG's
 * primary heartbeats to its own host's mapd, and reports there. So the
 * records a mapd alone keeps in memory (struct pg_scrub, cmd_scrub.c)
 * live in etcd, under the cluster's prefix:
 *
 *   scrub/pg/PGID  one PG's record, PGID as pg-ls prints it (2.1f):
 *                  {"last":T,"last_deep":T,"errors":N,"repaired":N,
 *                   "queued":"light"|"deep","running":"light"|"deep",
 *                   "daemon":ID,"pool_rev":R}, zero fields left out
 *   scrub/pool/ID  the pool's last pool-scrub: {"deep":true}, or
 *                  {"deep":false,"deep_rev":R} with R the revision of
 *                  the last deep one still to be taken in (if any)
 *
 * Neither is bound to a lease (a request outlives the mapd that took
 * it) nor part of the map (no epoch). Every change of a record is a
 * compare-and-swap on its mod_revision that applies cmd_scrub.c's rules
 * to what etcd holds: a request is queued by whichever mapd is asked,
 * taken by the one mapd whose daemon is the PG's primary (the swap lets
 * one taker win), and settled by the outcome wherever it arrives.
 *
 * A pool-scrub is one key whatever the number of PGs: a PG whose record
 * has taken in (pool_rev) less than the key's revision has that request
 * queued, deep if the last deep one is newer than that. Every write of
 * a PG's record takes it in. A pool with 65536 PGs is thus asked in one
 * etcd write, and its PGs are taken as their primaries heartbeat.
 *
 * Every refresh reads the records with the rest of the cluster's keys
 * and rebuilds the view (m->scrub) from them, so pg-ls shows the same
 * on every mapd. A value that is not a record is ignored (logged once)
 * and written over by the next change of its PG. The leader deletes
 * the records of pools that were removed.
 */
#include <linux/shard.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../etcd/etcd.h"
#include "cluster.h"
#include "cluster_int.h"
#include "cmds.h"
#include "log.h"
#include "mapd.h"
#include "scrub.h"

/* A change that lost this many races in a row gives up. */
#define CHANGE_TRIES	8

/* A key read by a refresh. */
struct scrub_note {
	uint32_t pool, pg;
	bool whole;			/* scrub/pool/ID: req; else s */
	struct pg_scrub s;
	struct scrub_pool_req req;
	int64_t rev;
};

struct cluster_scrub_notes {
	struct scrub_note *v;
	size_t n, cap;
	int64_t bad_max;		/* the newest bad key logged */
};

static void pg_key(struct mapd_cluster *cl, uint32_t pool, uint32_t pg,
		   char *buf, size_t len)
{
	snprintf(buf, len, "%sscrub/pg/%u.%x", cl->prefix, pool, pg);
}

static void pool_key(struct mapd_cluster *cl, uint32_t pool, char *buf,
		     size_t len)
{
	snprintf(buf, len, "%sscrub/pool/%u", cl->prefix, pool);
}

static const char *kind_name(uint8_t kind)
{
	return kind == SCRUB_DEEP ? "deep" : "light";
}

/* Unix seconds, counts and revisions: absent is 0. */
static bool get_num(json_t *o, const char *key, int64_t max, int64_t *out)
{
	json_t *v = json_object_get(o, key);

	*out = 0;
	if (!v)
		return true;
	if (!json_is_integer(v) || json_integer_value(v) < 0 ||
	    json_integer_value(v) > max)
		return false;
	*out = json_integer_value(v);
	return true;
}

static bool get_kind(json_t *o, const char *key, uint8_t *out)
{
	const char *s;

	*out = SCRUB_NONE;
	if (!json_object_get(o, key))
		return true;
	s = json_string_value(json_object_get(o, key));
	if (!s)
		return false;
	if (!strcmp(s, "light"))
		*out = SCRUB_LIGHT;
	else if (!strcmp(s, "deep"))
		*out = SCRUB_DEEP;
	return *out != SCRUB_NONE;
}

/* kv's value as a record; NULL, or what is wrong with it. */
static const char *record_parse(const struct etcd_kv *kv, struct pg_scrub *s)
{
	json_t *j = json_loadb(kv->value, kv->value_len,
			       JSON_REJECT_DUPLICATES, NULL);
	int64_t last, last_deep, errors, repaired, daemon, pool_rev;
	const char *why = NULL;

	memset(s, 0, sizeof(*s));
	if (!json_is_object(j))
		why = "not a JSON object";
	else if (!get_num(j, "last", INT64_MAX, &last) ||
		 !get_num(j, "last_deep", INT64_MAX, &last_deep) ||
		 !get_num(j, "errors", INT64_MAX, &errors) ||
		 !get_num(j, "repaired", INT64_MAX, &repaired) ||
		 !get_num(j, "pool_rev", INT64_MAX, &pool_rev))
		why = "a time, count or revision that is not a non-negative integer";
	else if (!get_num(j, "daemon", SHARD_MAX_DAEMON_ID - 1, &daemon))
		why = "\"daemon\" is not a daemon id";
	else if (!get_kind(j, "queued", &s->queued) ||
		 !get_kind(j, "running", &s->running))
		why = "\"queued\" or \"running\" is not \"light\" or \"deep\"";
	else if (!s->running != !daemon)
		why = "\"running\" and \"daemon\" go together";
	json_decref(j);
	if (why) {
		memset(s, 0, sizeof(*s));
		return why;
	}
	s->last = last;
	s->last_deep = last_deep;
	s->errors = errors;
	s->repaired = repaired;
	s->runner = daemon;
	s->pool_rev = pool_rev;
	return NULL;
}

static char *record_doc(const struct pg_scrub *s)
{
	json_t *j = json_object();
	char *doc;

	if (!j)
		return NULL;
	if (s->last)
		json_object_set_new(j, "last", json_integer(s->last));
	if (s->last_deep)
		json_object_set_new(j, "last_deep",
				    json_integer(s->last_deep));
	/* Kept below what a JSON integer holds, for the parse above. */
	if (s->errors)
		json_object_set_new(j, "errors", json_integer(
			s->errors > INT64_MAX ? INT64_MAX : s->errors));
	if (s->repaired)
		json_object_set_new(j, "repaired", json_integer(
			s->repaired > INT64_MAX ? INT64_MAX : s->repaired));
	if (s->queued)
		json_object_set_new(j, "queued",
				    json_string(kind_name(s->queued)));
	if (s->running) {
		json_object_set_new(j, "running",
				    json_string(kind_name(s->running)));
		json_object_set_new(j, "daemon", json_integer(s->runner));
	}
	if (s->pool_rev)
		json_object_set_new(j, "pool_rev", json_integer(s->pool_rev));
	doc = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(j);
	return doc;
}

/* kv's value as a pool request; NULL, or what is wrong with it. */
static const char *req_parse(const struct etcd_kv *kv,
			     struct scrub_pool_req *r)
{
	json_t *j = json_loadb(kv->value, kv->value_len,
			       JSON_REJECT_DUPLICATES, NULL);
	json_t *deep = json_object_get(j, "deep");
	const char *why = NULL;
	int64_t deep_rev;

	memset(r, 0, sizeof(*r));
	if (!json_is_object(j))
		why = "not a JSON object";
	else if (!json_is_boolean(deep))
		why = "\"deep\" is not true or false";
	else if (!get_num(j, "deep_rev", kv->mod_rev - 1, &deep_rev))
		why = "\"deep_rev\" is not an earlier revision";
	else {
		r->rev = kv->mod_rev;
		r->deep_rev = json_is_true(deep) ? kv->mod_rev : deep_rev;
	}
	json_decref(j);
	return why;
}

/* The pool's request taken in: queued unless one as deep is under way. */
static void fold(struct pg_scrub *s, const struct scrub_pool_req *req)
{
	if (req->deep_rev > s->pool_rev)
		scrub_want(s, SCRUB_DEEP);
	else if (req->rev > s->pool_rev)
		scrub_want(s, SCRUB_LIGHT);
	if (req->rev > s->pool_rev)
		s->pool_rev = req->rev;
}

/* etcd failed what (or, with what NULL, was failing already). */
static int unreachable(struct mapd_cluster *cl, const char *what, char *err,
		       size_t errlen)
{
	if (what) {
		cluster_unreachable(cl, what);
		snprintf(err, errlen, "%s: etcd: %s", what,
			 etcd_strerror(cl->e));
	} else {
		snprintf(err, errlen, "etcd unreachable: %s",
			 cl->error[0] ? cl->error : "not joined yet");
	}
	return -EHOSTUNREACH;
}

/*
 * Puts doc at k if k's mod_revision is expect (0: no k). 0 (and
 * *new_rev), -ECANCELED, or another -errno. A write etcd left
 * unanswered went through if k holds doc now.
 */
static int cas(struct mapd_cluster *cl, const char *k, const char *doc,
	       int64_t expect, int64_t *new_rev)
{
	size_t len = strlen(doc);
	struct etcd_kv kv;
	bool same;
	int ret;

	ret = etcd_cas(cl->e, k, doc, len, expect, 0, NULL, 0, new_rev);
	if (ret != -ETIMEDOUT && ret != -ECONNRESET)
		return ret;
	if (etcd_get(cl->e, k, &kv, NULL))
		return ret;
	same = kv.mod_rev != expect && kv.value_len == len &&
	       !memcmp(kv.value, doc, len);
	*new_rev = kv.mod_rev;
	etcd_kv_free(&kv);
	return same ? 0 : -ECANCELED;
}

static bool ready(struct mapd_cluster *cl)
{
	return cl->joined && cl->reachable;
}

int cluster_scrub_change(struct mapd *m, const struct mapd_pool *p,
			 uint32_t pg, scrub_change_fn fn, void *arg,
			 struct pg_scrub *out, char *err, size_t errlen)
{
	struct mapd_cluster *cl = m->cl;
	struct scrub_pool_req req;
	struct pg_scrub s;
	struct etcd_kv kv;
	int64_t rev, new_rev;
	const char *why;
	char k[512], *doc;
	int tries, ret;

	if (!ready(cl))
		return unreachable(cl, NULL, err, errlen);
	pg_key(cl, p->id, pg, k, sizeof(k));
	scrub_view_req(m, p, &req);
	for (tries = 0; tries < CHANGE_TRIES; tries++) {
		ret = etcd_get(cl->e, k, &kv, NULL);
		if (ret && ret != -ENOENT)
			return unreachable(cl, "reading a scrub record", err,
					   errlen);
		rev = 0;
		memset(&s, 0, sizeof(s));
		if (!ret) {
			rev = kv.mod_rev;
			why = record_parse(&kv, &s);
			if (why)
				log_warn("etcd: %s: %s; taken as none", k, why);
			etcd_kv_free(&kv);
		}
		fold(&s, &req);
		if (!fn(&s, arg))
			goto done;
		doc = record_doc(&s);
		if (!doc) {
			snprintf(err, errlen, "out of memory");
			return -ENOMEM;
		}
		ret = cas(cl, k, doc, rev, &new_rev);
		free(doc);
		if (!ret)
			goto done;
		if (ret != -ECANCELED)
			return unreachable(cl, "writing a scrub record", err,
					   errlen);
	}
	snprintf(err, errlen,
		 "the scrub record of PG %u.%x changed %d times while it was written: try again",
		 p->id, pg, CHANGE_TRIES);
	return -EBUSY;
done:
	/* What a refresh will read: pg-ls shows it at once. */
	if (scrub_view_set(m, p, pg, &s))
		log_warn("out of memory for the scrub view of PG %u.%x",
			 p->id, pg);
	if (out)
		*out = s;
	return 0;
}

/* The view of pool p takes in its new request, as a refresh would. */
static void fold_view(struct mapd *m, const struct mapd_pool *p,
		      const struct scrub_pool_req *req)
{
	struct pg_scrub s;
	uint32_t pg;

	if (scrub_view_set_req(m, p, req))
		return;
	for (pg = 0; pg < p->pg_count; pg++) {
		scrub_view_get(m, p, pg, &s);
		fold(&s, req);
		if (scrub_view_set(m, p, pg, &s))
			return;
	}
}

int cluster_scrub_pool(struct mapd *m, const struct mapd_pool *p, bool deep,
		       char *err, size_t errlen)
{
	struct mapd_cluster *cl = m->cl;
	struct scrub_pool_req old, req;
	struct etcd_kv kv;
	char k[512], doc[96];
	int64_t rev, new_rev;
	const char *why;
	int tries, ret;

	if (!ready(cl))
		return unreachable(cl, NULL, err, errlen);
	pool_key(cl, p->id, k, sizeof(k));
	for (tries = 0; tries < CHANGE_TRIES; tries++) {
		ret = etcd_get(cl->e, k, &kv, NULL);
		if (ret && ret != -ENOENT)
			return unreachable(cl, "reading a pool-scrub", err,
					   errlen);
		rev = 0;
		memset(&old, 0, sizeof(old));
		if (!ret) {
			rev = kv.mod_rev;
			why = req_parse(&kv, &old);
			if (why)
				log_warn("etcd: %s: %s; taken as none", k, why);
			etcd_kv_free(&kv);
		}
		/* A light request keeps a deep one not yet taken in. */
		if (deep || !old.deep_rev)
			snprintf(doc, sizeof(doc), "{\"deep\":%s}",
				 deep ? "true" : "false");
		else
			snprintf(doc, sizeof(doc),
				 "{\"deep\":false,\"deep_rev\":%lld}",
				 (long long)old.deep_rev);
		ret = cas(cl, k, doc, rev, &new_rev);
		if (!ret) {
			req.rev = new_rev;
			req.deep_rev = deep ? new_rev : old.deep_rev;
			fold_view(m, p, &req);
			return 0;
		}
		if (ret != -ECANCELED)
			return unreachable(cl, "writing a pool-scrub", err,
					   errlen);
	}
	snprintf(err, errlen,
		 "the pool-scrub key of pool %s changed %d times while it was written: try again",
		 p->name, CHANGE_TRIES);
	return -EBUSY;
}

void cluster_scrub_begin(struct mapd_cluster *cl)
{
	if (cl->scrub_notes)
		free(cl->scrub_notes->v);
	free(cl->scrub_notes);
	/* Without memory the view stays as it is until the next refresh. */
	cl->scrub_notes = calloc(1, sizeof(*cl->scrub_notes));
}

/* A bad key is logged once, not at every refresh. */
static void bad(struct mapd_cluster *cl, const char *key, int64_t rev,
		const char *why)
{
	struct cluster_scrub_notes *ns = cl->scrub_notes;

	if (rev > cl->scrub_bad_rev)
		log_warn("etcd: %s%s: %s; ignored", cl->prefix, key, why);
	if (ns && rev > ns->bad_max)
		ns->bad_max = rev;
}

/* "7" exactly as "%u" prints it. */
static bool parse_pool_id(const char *s, uint32_t *id)
{
	unsigned long long v;

	/* Digits only, no leading 0: "%u" prints it so. */
	if (!*s || *s == '0' || strlen(s) > 10 || s[strspn(s, "0123456789")])
		return false;
	v = strtoull(s, NULL, 10);
	*id = v;
	return v <= UINT32_MAX;
}

/* "pg/2.1f" exactly as pg-ls names the PG: one key per PG. */
static bool parse_pg_key(const char *s, uint32_t *pool, uint32_t *pg)
{
	uint64_t a, b;
	char again[32];

	if (scrub_parse_pgid(s, &a, &b) || a > UINT32_MAX || b > UINT32_MAX)
		return false;
	snprintf(again, sizeof(again), "%llu.%llx", (unsigned long long)a,
		 (unsigned long long)b);
	*pool = a;
	*pg = b;
	return !strcmp(again, s);
}

/* What is wrong with the key or its value, or NULL and *note. */
static const char *parse_note(const char *rest, const struct etcd_kv *kv,
			      struct scrub_note *note)
{
	memset(note, 0, sizeof(*note));
	note->rev = kv->mod_rev;
	if (!strncmp(rest, "pg/", 3)) {
		if (!parse_pg_key(rest + 3, &note->pool, &note->pg))
			return "not a PG as pg-ls names it";
		return record_parse(kv, &note->s);
	}
	if (!strncmp(rest, "pool/", 5)) {
		if (!parse_pool_id(rest + 5, &note->pool))
			return "not a pool id";
		note->whole = true;
		return req_parse(kv, &note->req);
	}
	return "not a scrub key";
}

void cluster_scrub_note(struct mapd *m, const char *rest,
			const struct etcd_kv *kv)
{
	struct mapd_cluster *cl = m->cl;
	struct cluster_scrub_notes *ns = cl->scrub_notes;
	struct scrub_note note, *v;
	const char *why;

	if (!ns)
		return;
	why = parse_note(rest, kv, &note);
	if (why) {
		bad(cl, kv->key + strlen(cl->prefix), kv->mod_rev, why);
		return;
	}
	if (ns->n == ns->cap) {
		size_t cap = ns->cap ? 2 * ns->cap : 64;

		v = realloc(ns->v, cap * sizeof(*v));
		if (!v) {
			log_warn("out of memory for the scrub records");
			return;
		}
		ns->v = v;
		ns->cap = cap;
	}
	ns->v[ns->n++] = note;
}

/* By pool, its request first, then by PG. */
static int note_cmp(const void *a, const void *b)
{
	const struct scrub_note *x = a, *y = b;

	if (x->pool != y->pool)
		return x->pool < y->pool ? -1 : 1;
	if (x->whole != y->whole)
		return x->whole ? -1 : 1;
	if (x->pg != y->pg)
		return x->pg < y->pg ? -1 : 1;
	return 0;
}

static bool empty(const struct pg_scrub *s)
{
	return !s->last && !s->last_deep && !s->errors && !s->repaired &&
	       !s->queued && !s->running;
}

/* The records of a pool that was removed (ids are never reused). */
static void prune(struct mapd *m, uint32_t pool)
{
	struct mapd_cluster *cl = m->cl;
	char k[512];

	if (!cl->leader || !ready(cl))
		return;
	log_info("pool %u was removed: deleting its scrub records", pool);
	pool_key(cl, pool, k, sizeof(k));
	if (etcd_delete(cl->e, k) < 0) {
		cluster_unreachable(cl, "deleting a removed pool's scrub records");
		return;
	}
	snprintf(k, sizeof(k), "%sscrub/pg/%u.", cl->prefix, pool);
	if (etcd_delete_prefix(cl->e, k) < 0)
		cluster_unreachable(cl, "deleting a removed pool's scrub records");
}

/* Pool p's notes v[0..n) (sorted) into the view. */
static void view_pool(struct mapd *m, const struct mapd_pool *p,
		      const struct scrub_note *v, size_t n)
{
	struct mapd_cluster *cl = m->cl;
	struct scrub_pool_req req = { 0 };
	struct pg_scrub s;
	char key[64];
	size_t j = 0;
	uint32_t pg;

	if (n && v[0].whole) {
		req = v[0].req;
		j = 1;
		if (scrub_view_set_req(m, p, &req))
			goto nomem;
	}
	for (pg = 0; req.rev && pg < p->pg_count; pg++) {
		memset(&s, 0, sizeof(s));
		if (j < n && v[j].pg == pg)
			s = v[j++].s;
		fold(&s, &req);
		if (!empty(&s) && scrub_view_set(m, p, pg, &s))
			goto nomem;
	}
	for (; j < n; j++) {
		if (v[j].pg >= p->pg_count) {
			snprintf(key, sizeof(key), "scrub/pg/%u.%x", p->id,
				 v[j].pg);
			bad(cl, key, v[j].rev, "the pool has fewer PGs");
			continue;
		}
		s = v[j].s;
		if (!empty(&s) && scrub_view_set(m, p, v[j].pg, &s))
			goto nomem;
	}
	return;
nomem:
	log_warn("out of memory for the scrub view of pool %s", p->name);
}

void cluster_scrub_end(struct mapd *m)
{
	struct mapd_cluster *cl = m->cl;
	struct cluster_scrub_notes *ns = cl->scrub_notes;
	const struct mapd_pool *p;
	size_t i, j;

	if (!ns)
		return;
	if (ns->n)
		qsort(ns->v, ns->n, sizeof(*ns->v), note_cmp);
	/* Standalone records too: a mapd that joined forgets them. */
	scrub_free(m);
	for (i = 0; i < ns->n; i = j) {
		for (j = i; j < ns->n && ns->v[j].pool == ns->v[i].pool; j++)
			;
		p = state_pool_by_id(&m->st, ns->v[i].pool);
		if (p)
			view_pool(m, p, &ns->v[i], j - i);
		else if (ns->v[i].pool < m->st.next_pool_id)
			prune(m, ns->v[i].pool);
		/* A pool above: one our config does not have yet. */
	}
	if (ns->bad_max > cl->scrub_bad_rev)
		cl->scrub_bad_rev = ns->bad_max;
	cl->scrub_notes = NULL;
	free(ns->v);
	free(ns);
}
