// SPDX-License-Identifier: GPL-2.0-only
/*
 * Scrubs: "pg-scrub" and "pool-scrub" (an admin asks for one), the
 * heartbeat reply's "scrub" (the request goes to the PG's primary) and
 * "pg-scrubbed" (the primary's outcome, for requested and for scheduled
 * scrubs alike).
 *
 * A request is handed out once. It then runs on that daemon until its
 * outcome arrives; when the PG's primary changes meanwhile (the daemon
 * went down, the map moved) or the daemon registers again (it restarted),
 * the request goes back to the queue for whoever is the primary next.
 * The primary is looked at lazily (heartbeats, pg-ls, pg-scrubbed):
 * nothing happens between them that anyone could see.
 *
 * A mapd alone saves none of it: it is about what the daemons are doing
 * now, and the figures of the last scrub come back with the daemons' own
 * schedule. In cluster mode every change of a PG's record is made in
 * etcd (cluster_scrub_change, the same rules as here) and the records
 * here are the view of etcd's that pg-ls shows.
 */
#include <linux/shard.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cmds.h"
#include "log.h"
#include "scrub.h"

struct scrub_pool {
	uint32_t id;
	uint32_t pg_count;
	uint32_t busy;		/* PGs with a request queued or running */
	struct pg_scrub *pgs;
	struct scrub_pool_req req;	/* cluster mode */
	/*
	 * Each PG's primary at map epoch primary_epoch, or NULL: a sweep
	 * runs on every heartbeat, and a primary changes only with the
	 * epoch (a daemon up or down, a table moved).
	 */
	uint32_t *primary;
	uint64_t primary_epoch;
};

struct mapd_scrub {
	struct scrub_pool *pools;
	size_t npools;
};

void scrub_free(struct mapd *m)
{
	size_t i;

	if (!m->scrub)
		return;
	for (i = 0; i < m->scrub->npools; i++) {
		free(m->scrub->pools[i].pgs);
		free(m->scrub->pools[i].primary);
	}
	free(m->scrub->pools);
	free(m->scrub);
	m->scrub = NULL;
}

static bool busy(const struct pg_scrub *s)
{
	return s->queued || s->running;
}

/* Pool p's records, NULL when it has none (or on ENOMEM with create). */
static struct scrub_pool *scrub_pool(struct mapd *m, const struct mapd_pool *p,
				     bool create)
{
	struct mapd_scrub *sc = m->scrub;
	struct scrub_pool *sp;
	size_t i;

	for (i = 0; sc && i < sc->npools; i++)
		if (sc->pools[i].id == p->id &&
		    sc->pools[i].pg_count == p->pg_count)
			return &sc->pools[i];
	if (!create)
		return NULL;
	if (!sc) {
		sc = m->scrub = calloc(1, sizeof(*sc));
		if (!sc)
			return NULL;
	}
	/* Pool ids are never reused: records of removed pools go now. */
	for (i = 0; i < sc->npools; ) {
		if (state_pool_by_id(&m->st, sc->pools[i].id)) {
			i++;
			continue;
		}
		free(sc->pools[i].pgs);
		free(sc->pools[i].primary);
		sc->pools[i] = sc->pools[--sc->npools];
	}
	sp = realloc(sc->pools, (sc->npools + 1) * sizeof(*sp));
	if (!sp)
		return NULL;
	sc->pools = sp;
	sp = &sc->pools[sc->npools];
	memset(sp, 0, sizeof(*sp));
	sp->pgs = calloc(p->pg_count ? p->pg_count : 1, sizeof(*sp->pgs));
	if (!sp->pgs)
		return NULL;
	sp->id = p->id;
	sp->pg_count = p->pg_count;
	sc->npools++;
	return sp;
}

/* Keeps sp->busy right across a change of s; was: busy(s) before it. */
static void settle(struct scrub_pool *sp, const struct pg_scrub *s, bool was)
{
	if (was && !busy(s))
		sp->busy--;
	else if (!was && busy(s))
		sp->busy++;
}

/* The PG's primary as the kernel has it: its first acting member up. */
static uint32_t primary_of(struct mapd_state *st, const struct mapd_pool *p,
			   uint32_t pg)
{
	uint32_t j;

	for (j = 0; p->acting && j < p->size; j++) {
		uint32_t id = p->acting[(size_t)pg * p->size + j];
		struct mapd_daemon *d;

		if (id == SHARD_DAEMON_NONE)
			continue;
		d = state_daemon(st, id);
		if (d && d->up)
			return id;
	}
	return SHARD_DAEMON_NONE;
}

/* Pool p's primaries now (see struct scrub_pool); NULL on ENOMEM. */
static const uint32_t *primaries(struct mapd *m, const struct mapd_pool *p,
				 struct scrub_pool *sp)
{
	uint32_t pg;

	if (sp->primary && sp->primary_epoch == m->st.epoch)
		return sp->primary;
	if (!sp->primary) {
		sp->primary = malloc(sp->pg_count * sizeof(*sp->primary));
		if (!sp->primary)
			return NULL;
	}
	for (pg = 0; pg < sp->pg_count; pg++)
		sp->primary[pg] = primary_of(&m->st, p, pg);
	sp->primary_epoch = m->st.epoch;
	return sp->primary;
}

/* The running scrub goes back to the queue (deep wins). */
static void requeue(struct pg_scrub *s)
{
	if (s->running > s->queued)
		s->queued = s->running;
	s->running = SCRUB_NONE;
	s->runner = 0;
}

void scrub_want(struct pg_scrub *s, uint8_t kind)
{
	/* One under way at least as deep is that scrub. */
	if (s->running < kind && s->queued < kind)
		s->queued = kind;
}

static void enqueue(struct scrub_pool *sp, uint32_t pg, uint8_t kind)
{
	struct pg_scrub *s = &sp->pgs[pg];
	bool was = busy(s);

	scrub_want(s, kind);
	settle(sp, s, was);
}

static void hand_out(struct pg_scrub *s, uint32_t to)
{
	s->running = s->queued;
	s->runner = to;
	s->queued = SCRUB_NONE;
}

void scrub_view_get(struct mapd *m, const struct mapd_pool *p, uint32_t pg,
		    struct pg_scrub *out)
{
	struct scrub_pool *sp = scrub_pool(m, p, false);

	if (sp && pg < sp->pg_count)
		*out = sp->pgs[pg];
	else
		memset(out, 0, sizeof(*out));
}

int scrub_view_set(struct mapd *m, const struct mapd_pool *p, uint32_t pg,
		   const struct pg_scrub *s)
{
	struct scrub_pool *sp;
	bool was;

	if (pg >= p->pg_count)
		return -EINVAL;
	sp = scrub_pool(m, p, true);
	if (!sp)
		return -ENOMEM;
	was = busy(&sp->pgs[pg]);
	sp->pgs[pg] = *s;
	settle(sp, &sp->pgs[pg], was);
	return 0;
}

void scrub_view_req(struct mapd *m, const struct mapd_pool *p,
		    struct scrub_pool_req *out)
{
	struct scrub_pool *sp = scrub_pool(m, p, false);

	if (sp)
		*out = sp->req;
	else
		memset(out, 0, sizeof(*out));
}

int scrub_view_set_req(struct mapd *m, const struct mapd_pool *p,
		       const struct scrub_pool_req *req)
{
	struct scrub_pool *sp = scrub_pool(m, p, true);

	if (!sp)
		return -ENOMEM;
	sp->req = *req;
	return 0;
}

/* Cluster mode: a queued request goes to daemon to, the PG's primary. */
struct hand {
	uint32_t to;
	uint32_t primary;	/* the PG's, in our map */
	bool handed;
};

static bool hand(struct pg_scrub *s, void *arg)
{
	struct hand *h = arg;
	bool changed = false;

	h->handed = false;
	if (s->running && s->runner != h->primary) {
		requeue(s);
		changed = true;
	}
	if (h->primary == h->to && !s->running && s->queued) {
		hand_out(s, h->to);
		h->handed = changed = true;
	}
	return changed;
}

/*
 * Cluster mode: PG pg of pool p goes to daemon to through etcd, where
 * one mapd alone can take it; *tries counts down the etcd changes this
 * heartbeat may make.
 */
static void give_in_cluster(struct mapd *m, const struct mapd_pool *p,
			    uint32_t pg, uint32_t to, json_t *out, int *tries)
{
	struct hand h = { .to = to, .primary = to };
	struct pg_scrub now;
	char err[ERRLEN];
	int ret;

	--*tries;
	ret = cluster_scrub_change(m, p, pg, hand, &h, &now, err, sizeof(err));
	if (ret) {
		if (ret != -EHOSTUNREACH)
			log_warn("cannot hand the scrub of PG %u.%x to daemon %u: %s",
				 p->id, pg, to, err);
		*tries = 0;
		return;
	}
	if (!h.handed)
		return;		/* another mapd was quicker, or it ended */
	/* Taken in etcd: if the reply cannot say so, the daemon's next
	 * registration or a new primary puts it back in the queue. */
	if (json_array_append_new(out, json_pack("{s:I, s:I, s:b}",
			"pool", (json_int_t)p->id, "pg", (json_int_t)pg,
			"deep", now.running == SCRUB_DEEP)))
		log_warn("scrub of PG %u.%x taken for daemon %u, but out of memory for its reply",
			 p->id, pg, to);
	else
		log_info("%s scrub of PG %u.%x handed to daemon %u",
			 now.running == SCRUB_DEEP ? "deep" : "light", p->id,
			 pg, to);
}

/*
 * Every pool with requests: running ones whose runner is no longer the
 * primary are queued again; with give_to, queued ones of the PGs it is
 * the primary of are handed to it and listed in out. In cluster mode
 * the requeueing is the view's only (a mapd that hands the request out
 * writes it), and handing out goes through etcd.
 */
static void sweep(struct mapd *m, uint32_t give_to, json_t *out)
{
	int tries = 2 * SCRUB_PER_HEARTBEAT;
	const uint32_t *primary;
	uint32_t pg, moved;
	size_t i;

	for (i = 0; m->scrub && i < m->st.npools; i++) {
		const struct mapd_pool *p = &m->st.pools[i];
		struct scrub_pool *sp = scrub_pool(m, p, false);

		if (!sp || !sp->busy || !(primary = primaries(m, p, sp)))
			continue;
		for (pg = moved = 0; pg < sp->pg_count; pg++) {
			struct pg_scrub *s = &sp->pgs[pg];

			if (!busy(s))
				continue;
			if (s->running && s->runner != primary[pg]) {
				requeue(s);
				moved++;
			}
			if (!give_to || primary[pg] != give_to || s->running ||
			    !s->queued ||
			    json_array_size(out) >= SCRUB_PER_HEARTBEAT)
				continue;
			if (m->cl) {
				if (tries > 0)
					give_in_cluster(m, p, pg, give_to, out,
							&tries);
				continue;
			}
			if (json_array_append_new(out, json_pack(
					"{s:I, s:I, s:b}", "pool", (json_int_t)p->id,
					"pg", (json_int_t)pg,
					"deep", s->queued == SCRUB_DEEP)))
				continue;
			hand_out(s, give_to);
			log_info("%s scrub of PG %u.%x handed to daemon %u",
				 s->running == SCRUB_DEEP ? "deep" : "light",
				 p->id, pg, give_to);
		}
		if (moved && !m->cl)
			log_info("pool %s: %u PGs scrubbing have a new primary; their scrubs are queued again",
				 p->name, moved);
	}
}

int scrub_heartbeat(struct mapd *m, uint32_t id, json_t *reply)
{
	json_t *a;

	if (!m->scrub)
		return 0;
	a = json_array();
	if (!a)
		return -ENOMEM;
	sweep(m, id, a);
	if (json_array_size(a))
		json_object_set_new(reply, "scrub", a);
	else
		json_decref(a);
	return 0;
}

void scrub_recheck(struct mapd *m)
{
	sweep(m, 0, NULL);
}

static bool restarted(struct pg_scrub *s, void *arg)
{
	uint32_t id = *(uint32_t *)arg;

	if (!s->running || s->runner != id)
		return false;
	requeue(s);
	return true;
}

void scrub_daemon_restarted(struct mapd *m, uint32_t id)
{
	char err[ERRLEN];
	uint32_t pg;
	size_t i;

	for (i = 0; m->scrub && i < m->st.npools; i++) {
		const struct mapd_pool *p = &m->st.pools[i];
		struct scrub_pool *sp = scrub_pool(m, p, false);

		for (pg = 0; sp && sp->busy && pg < sp->pg_count; pg++) {
			struct pg_scrub *s = &sp->pgs[pg];

			if (!s->running || s->runner != id)
				continue;
			if (!m->cl) {
				requeue(s);
				continue;
			}
			if (cluster_scrub_change(m, p, pg, restarted, &id, NULL,
						 err, sizeof(err))) {
				log_warn("daemon %u restarted, but its scrub of PG %u.%x stays handed to it: %s",
					 id, p->id, pg, err);
				return;
			}
		}
	}
}

static json_t *unix_time_json(int64_t t)
{
	return t ? json_integer(t) : json_null();
}

void scrub_pg_json(struct mapd *m, const struct mapd_pool *p, uint32_t pg,
		   json_t *o)
{
	struct scrub_pool *sp = scrub_pool(m, p, false);
	struct pg_scrub none = { 0 };
	const struct pg_scrub *s = sp && pg < sp->pg_count ? &sp->pgs[pg] :
				   &none;
	const char *state = json_string_value(json_object_get(o, "state"));
	char buf[256];

	json_object_set_new(o, "last_scrub", unix_time_json(s->last));
	json_object_set_new(o, "last_deep_scrub",
			    unix_time_json(s->last_deep));
	json_object_set_new(o, "scrub_errors", json_integer(s->errors));
	json_object_set_new(o, "scrub_repaired", json_integer(s->repaired));
	if (!state || (!busy(s) && !s->errors))
		return;
	snprintf(buf, sizeof(buf), "%s%s%s%s", state,
		 s->running ? "+scrubbing" : "",
		 s->queued ? "+scrub_queued" : "",
		 s->errors ? "+inconsistent" : "");
	json_object_set_new(o, "state", json_string(buf));
}

uint32_t scrub_inconsistent(struct mapd *m, const struct mapd_pool *p)
{
	struct scrub_pool *sp = scrub_pool(m, p, false);
	uint32_t pg, n = 0;

	for (pg = 0; sp && pg < sp->pg_count; pg++)
		n += sp->pgs[pg].errors > 0;
	return n;
}

/*
 * "2.1f" as pg-ls prints it: the pool id in decimal, a dot, the PG number
 * in hex. Nothing else: no sign, space, prefix or trailing text.
 */
int scrub_parse_pgid(const char *s, uint64_t *pool, uint64_t *pg)
{
	const char *dot = strchr(s, '.');
	const char *c;

	if (!dot || dot == s || dot - s > 10 || !dot[1] || strlen(dot + 1) > 8)
		return -EINVAL;
	for (c = s; c < dot; c++)
		if (!isdigit((unsigned char)*c))
			return -EINVAL;
	for (c = dot + 1; *c; c++)
		if (!isxdigit((unsigned char)*c))
			return -EINVAL;
	*pool = strtoull(s, NULL, 10);
	*pg = strtoull(dot + 1, NULL, 16);
	return 0;
}

/* Pool pool_id and PG pg in it; an error naming what is missing. */
static int find_pg(struct mapd *m, uint64_t pool_id, uint64_t pg,
		   struct mapd_pool **out, char *err)
{
	struct mapd_pool *p;

	p = pool_id <= UINT32_MAX ? state_pool_by_id(&m->st, pool_id) : NULL;
	if (!p) {
		snprintf(err, ERRLEN, "no pool with id %llu",
			 (unsigned long long)pool_id);
		return -ENOENT;
	}
	if (pg >= p->pg_count) {
		snprintf(err, ERRLEN, "pool %u has %u PGs: no PG %llx", p->id,
			 p->pg_count, (unsigned long long)pg);
		return -ENOENT;
	}
	*out = p;
	return 0;
}

static int no_memory(char *err)
{
	snprintf(err, ERRLEN, "out of memory");
	return -ENOMEM;
}

static bool want(struct pg_scrub *s, void *arg)
{
	uint8_t was = s->queued;

	scrub_want(s, *(uint8_t *)arg);
	return s->queued != was;
}

int cmd_pg_scrub(struct mapd *m, json_t *req, json_t *reply, char *err)
{
	uint64_t pool_id, pg;
	struct mapd_pool *p;
	struct scrub_pool *sp;
	const char *pgid;
	uint32_t primary;
	uint8_t kind;
	bool deep;
	int ret;

	if ((ret = req_string(req, "pgid", true, &pgid, err)) ||
	    (ret = req_bool(req, "deep", &deep, err)))
		return ret;
	if (scrub_parse_pgid(pgid, &pool_id, &pg)) {
		snprintf(err, ERRLEN,
			 "bad pgid \"%.64s\": want POOL.PG as pg-ls prints it (pool id, a dot, the PG in hex), e.g. 2.1f",
			 pgid);
		return -EINVAL;
	}
	ret = find_pg(m, pool_id, pg, &p, err);
	if (ret)
		return ret;
	kind = deep ? SCRUB_DEEP : SCRUB_LIGHT;
	if (m->cl) {
		ret = cluster_scrub_change(m, p, pg, want, &kind, NULL, err,
					   ERRLEN);
		if (ret)
			return ret;
	} else {
		sp = scrub_pool(m, p, true);
		if (!sp)
			return no_memory(err);
		enqueue(sp, pg, kind);
	}
	primary = primary_of(&m->st, p, pg);
	log_info("%s scrub of PG %u.%llx asked for%s", deep ? "deep" : "light",
		 p->id, (unsigned long long)pg,
		 primary == SHARD_DAEMON_NONE ?
		 ": it has no primary up, it waits for one" : "");
	json_object_set_new(reply, "primary",
			    primary == SHARD_DAEMON_NONE ? json_null() :
			    json_integer(primary));
	return 0;
}

int cmd_pool_scrub(struct mapd *m, json_t *req, json_t *reply, char *err)
{
	struct scrub_pool *sp;
	struct mapd_pool *p;
	uint32_t pg;
	bool deep;
	int ret;

	if ((ret = req_pool(m, req, true, &p, err)) ||
	    (ret = req_bool(req, "deep", &deep, err)))
		return ret;
	if (m->cl) {
		ret = cluster_scrub_pool(m, p, deep, err, ERRLEN);
		if (ret)
			return ret;
	} else {
		sp = scrub_pool(m, p, true);
		if (!sp)
			return no_memory(err);
		for (pg = 0; pg < p->pg_count; pg++)
			enqueue(sp, pg, deep ? SCRUB_DEEP : SCRUB_LIGHT);
	}
	log_info("%s scrub of the %u PGs of pool %s asked for",
		 deep ? "deep" : "light", p->pg_count, p->name);
	json_object_set_new(reply, "pgs", json_integer(p->pg_count));
	return 0;
}

/* A required true or false. */
static int req_flag(json_t *req, const char *key, bool *out, char *err)
{
	if (!json_object_get(req, key) ||
	    json_is_null(json_object_get(req, key))) {
		snprintf(err, ERRLEN, "missing field \"%s\"", key);
		return -EINVAL;
	}
	return req_bool(req, key, out, err);
}

/* What pg-scrubbed says, and the PG's primary now. */
struct outcome {
	uint32_t from;
	uint32_t primary;
	bool deep, complete;
	uint64_t errors, repaired;
	int64_t now;
};

static bool take_outcome(struct pg_scrub *s, void *arg)
{
	const struct outcome *o = arg;

	if (!o->complete) {
		/*
		 * Only what was handed out is settled. A primary that gave
		 * up is not asked again; one that lost the PG leaves the
		 * request to the next primary.
		 */
		if (!s->running || s->runner != o->from ||
		    o->deep != (s->running == SCRUB_DEEP))
			return false;
		if (o->primary == o->from) {
			s->running = SCRUB_NONE;
			s->runner = 0;
		} else {
			requeue(s);
		}
		return true;
	}
	s->last = o->now;
	if (o->deep)
		s->last_deep = s->last;
	s->errors = o->errors - o->repaired;
	s->repaired += o->repaired;
	/* A deep scrub answers a light request too. */
	if (s->running && s->runner == o->from &&
	    (o->deep || s->running == SCRUB_LIGHT)) {
		s->running = SCRUB_NONE;
		s->runner = 0;
	}
	return true;
}

int cmd_pg_scrubbed(struct mapd *m, json_t *req, json_t *reply, char *err)
{
	uint64_t pool_id, pg, from, objects = 0, bytes = 0, errors = 0;
	uint64_t repaired = 0;
	const char *why = NULL;
	struct scrub_pool *sp;
	struct pg_scrub *s;
	struct mapd_pool *p;
	struct outcome o;
	bool deep, complete, was;
	int ret;

	(void)reply;
	if ((ret = req_u64(req, "pool", true, &pool_id, err)) ||
	    (ret = req_u64(req, "pg", true, &pg, err)) ||
	    (ret = req_u64(req, "from", true, &from, err)) ||
	    (ret = req_flag(req, "deep", &deep, err)) ||
	    (ret = req_flag(req, "complete", &complete, err)) ||
	    (ret = req_u64(req, "objects", complete, &objects, err)) ||
	    (ret = req_u64(req, "bytes", complete, &bytes, err)) ||
	    (ret = req_u64(req, "errors", complete, &errors, err)) ||
	    (ret = req_u64(req, "repaired", complete, &repaired, err)) ||
	    (ret = req_string(req, "error", false, &why, err)))
		return ret;
	if (repaired > errors) {
		snprintf(err, ERRLEN,
			 "field \"repaired\" (%llu) must be at most \"errors\" (%llu)",
			 (unsigned long long)repaired,
			 (unsigned long long)errors);
		return -EINVAL;
	}
	ret = find_pg(m, pool_id, pg, &p, err);
	if (ret)
		return ret;
	if (from >= SHARD_MAX_DAEMON_ID || !state_daemon(&m->st, from)) {
		snprintf(err, ERRLEN, "unknown daemon %llu",
			 (unsigned long long)from);
		return -ENOENT;
	}
	if (!complete)
		log_warn("%s scrub of PG %u.%llx on daemon %llu stopped early: %.200s",
			 deep ? "deep" : "light", p->id,
			 (unsigned long long)pg, (unsigned long long)from,
			 why ? why : "no reason given");
	o = (struct outcome){
		.from = from, .primary = primary_of(&m->st, p, pg),
		.deep = deep, .complete = complete, .errors = errors,
		.repaired = repaired, .now = time(NULL),
	};
	if (m->cl) {
		ret = cluster_scrub_change(m, p, pg, take_outcome, &o, NULL,
					   err, ERRLEN);
		if (ret)
			return ret;
	} else {
		sp = scrub_pool(m, p, complete);
		if (!sp)
			return complete ? no_memory(err) : 0;
		s = &sp->pgs[pg];
		was = busy(s);
		take_outcome(s, &o);
		settle(sp, s, was);
	}
	if (!complete)
		return 0;
	if (errors)
		log_warn("%s scrub of PG %u.%llx by daemon %llu: %llu objects, %llu bytes, %llu copies inconsistent, %llu repaired",
			 deep ? "deep" : "light", p->id,
			 (unsigned long long)pg, (unsigned long long)from,
			 (unsigned long long)objects,
			 (unsigned long long)bytes,
			 (unsigned long long)errors,
			 (unsigned long long)repaired);
	else
		log_info("%s scrub of PG %u.%llx by daemon %llu: %llu objects, %llu bytes, clean",
			 deep ? "deep" : "light", p->id,
			 (unsigned long long)pg, (unsigned long long)from,
			 (unsigned long long)objects,
			 (unsigned long long)bytes);
	return 0;
}
