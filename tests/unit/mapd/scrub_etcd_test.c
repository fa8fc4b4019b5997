// SPDX-License-Identifier: GPL-2.0-only
/*
 * Scrubs in cluster mode against a real etcd: two sanitized shard-mapd
 * processes (--no-kernel, --grace 2), one fake daemon heartbeating to
 * each on a session of its own, and a pool of two copies, so that every
 * PG has one member on each host. A scrub asked of either mapd is kept
 * in etcd (scrub/pg/PGID, scrub/pool/ID), handed once to the PG's
 * primary by the mapd that daemon heartbeats to, and its outcome,
 * reported there, shows in every mapd's pg-ls; none of it is a new map
 * epoch. Values that are not records are ignored.
 */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "../etcd/etcd_fixture.h"
#include "mapd_proc.h"

#define CLUSTER		"scr"
#define GRACE		2.0
#define NMAPDS		2
#define PGS		16

/* A fake daemon's session, and every scrub its heartbeats were handed. */
struct fake {
	int fd;			/* -1: none */
	uint32_t id;
	json_t *got;		/* [{"pool","pg","deep"}, ...] */
};

FIXTURE(cscrub) {
	struct mapd_env env;
	struct mapd_proc m[NMAPDS];
	size_t n;
	struct fake d[NMAPDS];	/* d[i] heartbeats to m[i] */
	uint32_t pool;		/* r2's id */
};

FIXTURE_SETUP(cscrub)
{
	char err[256] = "";
	size_t i;

	signal(SIGPIPE, SIG_IGN);
	for (i = 0; i < NMAPDS; i++) {
		self->d[i].fd = -1;
		self->d[i].got = json_array();
	}
	if (!test_etcd_bin() || !mapd_proc_bin() ||
	    !mapd_test_selected(_metadata->name))
		return;		/* each test skips */
	ASSERT_EQ(0, mapd_env_start(&self->env, "/tmp/mapd-scrub.XXXXXX",
				    NULL, err, sizeof(err)))
		TH_LOG("%s", err);
}

FIXTURE_TEARDOWN(cscrub)
{
	size_t i;

	for (i = 0; i < NMAPDS; i++) {
		if (self->d[i].fd >= 0)
			close(self->d[i].fd);
		json_decref(self->d[i].got);
	}
	EXPECT_EQ(0, mapd_env_finish(&self->env, NULL, self->m, self->n,
				     NULL, !_metadata->passed));
}

/* One heartbeat of each daemon, what it is handed kept in its got. */
static void beat(FIXTURE_DATA(cscrub) *self)
{
	char req[256];
	json_t *r, *e;
	size_t i, k;
	int err;

	for (i = 0; i < NMAPDS; i++) {
		struct fake *f = &self->d[i];

		if (f->fd < 0)
			continue;
		snprintf(req, sizeof(req),
			 "{\"cmd\":\"daemon-heartbeat\",\"id\":%u,\"epoch\":1,\"used\":0}",
			 f->id);
		r = mapd_call_fd(f->fd, req, &err);
		if (!mapd_ok(r))
			fprintf(stderr, "# heartbeat of %u: %s\n", f->id,
				r ? mapd_error(r) : strerror(-err));
		json_array_foreach(json_object_get(r, "scrub"), k, e)
			json_array_append(f->got, e);
		json_decref(r);
	}
}

/* Heartbeats every 200 ms until cond holds, for ms at most: ms it took, or -1. */
#define BEAT_UNTIL(self, ms, cond) STEP_UNTIL(beat(self), 200, ms, cond)

/* Heartbeats for ms. */
static void beat_for(FIXTURE_DATA(cscrub) *self, long ms)
{
	long t0 = test_now_ms();

	while (test_now_ms() - t0 < ms) {
		beat(self);
		usleep(200000);
	}
}

/* A daemon as shardd registers it, its session kept in f. */
static uint32_t register_on(struct mapd_proc *p, struct fake *f, int port)
{
	char req[256];
	json_t *r;
	int err;

	if (f->fd < 0)
		f->fd = mapd_connect(p->sock, 2000);
	if (f->fd < 0)
		return 0;
	snprintf(req, sizeof(req),
		 "{\"cmd\":\"daemon-register\",\"id\":%u,\"addr\":\"127.0.0.1\",\"port\":%d,"
		 "\"capacity\":%llu,\"class\":\"ssd\",\"host\":\"host-%s\"}",
		 f->id, port, 100ULL << 30, p->name);
	r = mapd_call_fd(f->fd, req, &err);
	if (mapd_ok(r))
		f->id = json_integer_value(json_object_get(r, "id"));
	else
		fprintf(stderr, "# register on %s: %s\n", p->name,
			r ? mapd_error(r) : strerror(-err));
	json_decref(r);
	return f->id;
}

/* How many times f was handed PG pg of pool; the last one's depth. */
static int handed(const struct fake *f, uint32_t pool, uint32_t pg,
		  bool *deep)
{
	json_t *e;
	size_t i;
	int n = 0;

	json_array_foreach(f->got, i, e)
		if (json_integer_value(json_object_get(e, "pool")) == pool &&
		    json_integer_value(json_object_get(e, "pg")) == pg) {
			n++;
			if (deep)
				*deep = json_is_true(json_object_get(e, "deep"));
		}
	return n;
}

/*
 * Mapd p's pg-ls (a new reference; an empty one if it does not answer).
 * One request for all PGs: the heartbeats must not wait for many, or
 * the daemons would be late and taken down.
 */
static json_t *pg_ls(struct mapd_proc *p)
{
	json_t *r = mapd_req(p, "{\"cmd\":\"pg-ls\"}");
	json_t *pgs = json_incref(json_object_get(r, "pgs"));

	json_decref(r);
	return pgs ? pgs : json_array();
}

/* PG pg of pool's entry in pgs (borrowed), or NULL. */
static json_t *entry(json_t *pgs, uint32_t pool, uint32_t pg)
{
	json_t *e;
	char id[32];
	size_t i;

	snprintf(id, sizeof(id), "%u.%x", pool, pg);
	json_array_foreach(pgs, i, e)
		if (!strcmp(json_string_value(json_object_get(e, "pgid")) ?: "",
			    id))
			return e;
	return NULL;
}

static bool entry_state_is(json_t *pgs, uint32_t pool, uint32_t pg,
			   const char *what, bool want)
{
	const char *s = json_string_value(json_object_get(
		entry(pgs, pool, pg), "state"));

	return s && !!strstr(s, what) == want;
}

static long long entry_num(json_t *pgs, uint32_t pool, uint32_t pg,
			   const char *key)
{
	json_t *v = json_object_get(entry(pgs, pool, pg), key);

	return json_is_integer(v) ? json_integer_value(v) : -1;
}

/* Whether PG pg's state on p has what in it (want) or not (!want). */
static bool state_is(struct mapd_proc *p, uint32_t pool, uint32_t pg,
		     const char *what, bool want)
{
	json_t *pgs = pg_ls(p);
	bool ok = entry_state_is(pgs, pool, pg, what, want);

	json_decref(pgs);
	return ok;
}

static long long pg_num(struct mapd_proc *p, uint32_t pool, uint32_t pg,
			const char *key)
{
	json_t *pgs = pg_ls(p);
	long long n = entry_num(pgs, pool, pg, key);

	json_decref(pgs);
	return n;
}

/* PG pg's primary in pgs; 0 if none or unknown. */
static uint32_t entry_primary(json_t *pgs, uint32_t pool, uint32_t pg)
{
	long long n = entry_num(pgs, pool, pg, "primary");

	return n > 0 ? n : 0;
}

static uint32_t primary(struct mapd_proc *p, uint32_t pool, uint32_t pg)
{
	long long n = pg_num(p, pool, pg, "primary");

	return n > 0 ? n : 0;
}

static uint64_t epoch_of(struct mapd_proc *p)
{
	json_t *r = mapd_req(p, "{\"cmd\":\"status\"}");
	uint64_t e = json_integer_value(json_object_get(r, "epoch"));

	json_decref(r);
	return e;
}

/* The fake daemon of the mapd where id heartbeats. */
static struct fake *fake_of(FIXTURE_DATA(cscrub) *self, uint32_t id)
{
	size_t i;

	for (i = 0; i < NMAPDS; i++)
		if (self->d[i].id == id)
			return &self->d[i];
	return NULL;
}

static int mapd_of(FIXTURE_DATA(cscrub) *self, uint32_t id)
{
	size_t i;

	for (i = 0; i < NMAPDS; i++)
		if (self->d[i].id == id)
			return i;
	return -1;
}

/* Both mapds agree on every PG's primary, each one of our daemons. */
static bool placed(FIXTURE_DATA(cscrub) *self)
{
	json_t *pgs[NMAPDS];
	bool ok = true;
	uint32_t pg, a;
	size_t i;

	for (i = 0; i < NMAPDS; i++)
		pgs[i] = pg_ls(&self->m[i]);
	for (pg = 0; ok && pg < PGS; pg++) {
		a = entry_primary(pgs[0], self->pool, pg);
		if (!a || !fake_of(self, a))
			ok = false;
		for (i = 1; ok && i < NMAPDS; i++)
			if (entry_primary(pgs[i], self->pool, pg) != a)
				ok = false;
	}
	for (i = 0; i < NMAPDS; i++)
		json_decref(pgs[i]);
	return ok;
}

static bool up_everywhere(FIXTURE_DATA(cscrub) *self)
{
	size_t i, k;

	for (i = 0; i < NMAPDS; i++)
		for (k = 0; k < NMAPDS; k++)
			if (mapd_daemon_up(&self->m[i], self->d[k].id) != 1)
				return false;
	return true;
}

/* Two mapds, a daemon on each, pool r2 (2 copies, PGS PGs) placed. */
static void bring_up(struct __test_metadata *_metadata,
		     FIXTURE_DATA(cscrub) *self)
{
	char req[256];
	json_t *r;
	size_t i;

	ASSERT_EQ(0, mapd_procs_start(self->m, NMAPDS, &self->n, &self->env,
				      CLUSTER, GRACE));
	ASSERT_LE(0, WAIT_FOR(10000, mapd_leader_index(self->m, self->n) >= 0));
	for (i = 0; i < NMAPDS; i++)
		ASSERT_NE(0, register_on(&self->m[i], &self->d[i], 7000 + i));
	ASSERT_LE(0, BEAT_UNTIL(self, 10000, up_everywhere(self)));
	snprintf(req, sizeof(req),
		 "{\"cmd\":\"pool-create\",\"name\":\"r2\",\"size\":2,"
		 "\"min_size\":1,\"pgs\":%d}", PGS);
	r = mapd_req(&self->m[0], req);
	ASSERT_TRUE(mapd_ok(r)) TH_LOG("pool-create: %s", mapd_error(r));
	self->pool = json_integer_value(json_object_get(
		json_object_get(r, "pool"), "id"));
	json_decref(r);
	ASSERT_NE(0, self->pool);
	ASSERT_LE(0, BEAT_UNTIL(self, 10000, placed(self)));
}

/* A PG whose primary heartbeats to mapd index want; -1 if none. */
static int pg_with_primary_on(FIXTURE_DATA(cscrub) *self, int want)
{
	json_t *pgs = pg_ls(&self->m[0]);
	int found = -1;
	uint32_t pg;

	for (pg = 0; found < 0 && pg < PGS; pg++)
		if (mapd_of(self, entry_primary(pgs, self->pool, pg)) == want)
			found = pg;
	json_decref(pgs);
	return found;
}

static json_t *ask(struct mapd_proc *p, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static json_t *ask(struct mapd_proc *p, const char *fmt, ...)
{
	char req[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(req, sizeof(req), fmt, ap);
	va_end(ap);
	return mapd_req(p, req);
}

#define ASK_OK(p, ...) do {						\
	json_t *__r = ask(p, __VA_ARGS__);				\
	EXPECT_TRUE(mapd_ok(__r)) TH_LOG("%s", mapd_error(__r));	\
	json_decref(__r);						\
} while (0)

/* etcd's value at the cluster's key rest, parsed; NULL if none. */
static json_t *etcd_doc(FIXTURE_DATA(cscrub) *self, const char *rest)
{
	struct etcd_kv kv;
	char k[256];
	json_t *j;

	snprintf(k, sizeof(k), "/shard/%s/%s", CLUSTER, rest);
	if (etcd_get(self->env.e, k, &kv, NULL))
		return NULL;
	j = json_loadb(kv.value, kv.value_len, 0, NULL);
	etcd_kv_free(&kv);
	return j ? j : json_string("not JSON");
}

static size_t etcd_count(FIXTURE_DATA(cscrub) *self, const char *rest)
{
	struct etcd_kv *kvs;
	char k[256];
	size_t n;

	snprintf(k, sizeof(k), "/shard/%s/%s", CLUSTER, rest);
	if (etcd_get_prefix(self->env.e, k, &kvs, &n, NULL))
		return (size_t)-1;
	etcd_kvs_free(kvs, n);
	return n;
}

static void put(FIXTURE_DATA(cscrub) *self, const char *rest, const char *v)
{
	char k[256];

	snprintf(k, sizeof(k), "/shard/%s/%s", CLUSTER, rest);
	if (etcd_put(self->env.e, k, v, strlen(v), 0))
		fprintf(stderr, "# cannot put %s\n", k);
}

TEST_F_TIMEOUT(cscrub, handed_once_on_the_primarys_mapd, 120)
{
	uint32_t P, D, other;
	struct fake *f, *g;
	int pg, at, asker;
	uint64_t epoch;
	bool deep = false;
	json_t *r, *doc;
	char key[64];

	MAPD_NEED_ENV(&self->env);
	bring_up(_metadata, self);
	P = self->pool;
	/* A PG whose primary heartbeats to m[1]; asked of m[0]. */
	pg = pg_with_primary_on(self, 1);
	ASSERT_LE(0, pg) TH_LOG("no PG has its primary on %s",
				self->m[1].name);
	at = 1;
	asker = 0;
	D = primary(&self->m[0], P, pg);
	f = &self->d[at];
	g = &self->d[asker];
	ASSERT_EQ(D, f->id);
	other = g->id;
	epoch = epoch_of(&self->m[0]);

	r = ask(&self->m[asker], "{\"cmd\":\"pg-scrub\",\"pgid\":\"%u.%x\"}",
		P, pg);
	ASSERT_TRUE(mapd_ok(r)) TH_LOG("%s", mapd_error(r));
	EXPECT_EQ(D, json_integer_value(json_object_get(r, "primary")));
	json_decref(r);
	/* Queued, as both mapds show. */
	EXPECT_TRUE(state_is(&self->m[asker], P, pg, "+scrub_queued", true));
	EXPECT_LE(0, WAIT_FOR(5000, state_is(&self->m[at], P, pg,
					     "+scrub_queued", true)));
	snprintf(key, sizeof(key), "scrub/pg/%u.%x", P, pg);
	doc = etcd_doc(self, key);
	EXPECT_STREQ("light", json_string_value(json_object_get(doc,
							       "queued")) ?: "");
	json_decref(doc);

	/* Its primary, on the other mapd, is handed it, once. */
	ASSERT_LE(0, BEAT_UNTIL(self, 5000, handed(f, P, pg, &deep) > 0));
	EXPECT_FALSE(deep);
	beat_for(self, 1500);
	EXPECT_EQ(1, handed(f, P, pg, NULL));
	EXPECT_EQ(0, handed(g, P, pg, NULL)) TH_LOG("daemon %u is no primary",
						 other);
	EXPECT_LE(0, WAIT_FOR(5000, state_is(&self->m[asker], P, pg,
					     "+scrubbing", true) &&
				    state_is(&self->m[asker], P, pg,
					     "+scrub_queued", false)));
	doc = etcd_doc(self, key);
	EXPECT_STREQ("light", json_string_value(json_object_get(doc,
							       "running")) ?: "");
	EXPECT_EQ(D, json_integer_value(json_object_get(doc, "daemon")));
	EXPECT_EQ(NULL, json_object_get(doc, "queued"));
	json_decref(doc);

	/* A light request while it runs is that scrub; a deep one waits. */
	ASK_OK(&self->m[asker], "{\"cmd\":\"pg-scrub\",\"pgid\":\"%u.%x\"}",
	       P, pg);
	EXPECT_TRUE(state_is(&self->m[asker], P, pg, "+scrub_queued", false));
	ASK_OK(&self->m[asker],
	       "{\"cmd\":\"pg-scrub\",\"pgid\":\"%u.%x\",\"deep\":true}", P, pg);
	EXPECT_TRUE(state_is(&self->m[asker], P, pg,
			     "+scrubbing+scrub_queued", true));
	beat_for(self, 1000);
	EXPECT_EQ(1, handed(f, P, pg, NULL));

	/* The outcome, reported where the primary heartbeats, ends the
	 * light one; the deep one is handed next. */
	r = ask(&self->m[at],
		"{\"cmd\":\"pg-scrubbed\",\"pool\":%u,\"pg\":%d,\"from\":%u,"
		"\"deep\":false,\"complete\":true,\"objects\":3,\"bytes\":4096,"
		"\"errors\":2,\"repaired\":1}", P, pg, D);
	ASSERT_TRUE(mapd_ok(r)) TH_LOG("%s", mapd_error(r));
	json_decref(r);
	ASSERT_LE(0, BEAT_UNTIL(self, 5000, handed(f, P, pg, &deep) == 2));
	EXPECT_TRUE(deep);
	/* Every mapd shows the outcome. */
	EXPECT_LE(0, WAIT_FOR(5000, pg_num(&self->m[asker], P, pg,
					   "scrub_errors") == 1 &&
				    state_is(&self->m[asker], P, pg,
					     "+inconsistent", true)));
	EXPECT_LT(0, pg_num(&self->m[asker], P, pg, "last_scrub"));
	EXPECT_EQ(-1, pg_num(&self->m[asker], P, pg, "last_deep_scrub"));
	EXPECT_EQ(1, pg_num(&self->m[asker], P, pg, "scrub_repaired"));
	r = mapd_req(&self->m[asker], "{\"cmd\":\"pool-ls\"}");
	{
		json_t *e;
		size_t i;
		long long n = -1;

		json_array_foreach(json_object_get(r, "pools"), i, e)
			if (json_integer_value(json_object_get(e, "id")) == P)
				n = json_integer_value(json_object_get(
					e, "inconsistent_pgs"));
		EXPECT_EQ(1, n);
	}
	json_decref(r);

	/* The daemon restarts (registers again): what it was handed is
	 * queued again, and handed again. */
	ASSERT_EQ(D, register_on(&self->m[at], f, 7000 + at));
	ASSERT_LE(0, BEAT_UNTIL(self, 5000, handed(f, P, pg, NULL) == 3));

	/* The deep outcome, clean: it ends, on every mapd. */
	ASK_OK(&self->m[at],
	       "{\"cmd\":\"pg-scrubbed\",\"pool\":%u,\"pg\":%d,\"from\":%u,"
	       "\"deep\":true,\"complete\":true,\"objects\":3,\"bytes\":4096,"
	       "\"errors\":0,\"repaired\":0}", P, pg, D);
	EXPECT_LE(0, WAIT_FOR(5000, state_is(&self->m[asker], P, pg,
					     "+scrub", false) &&
				    state_is(&self->m[asker], P, pg,
					     "+inconsistent", false)));
	EXPECT_LT(0, pg_num(&self->m[asker], P, pg, "last_deep_scrub"));
	EXPECT_EQ(0, pg_num(&self->m[at], P, pg, "scrub_errors"));
	beat_for(self, 1000);
	EXPECT_EQ(3, handed(f, P, pg, NULL));

	/* None of it was a new epoch. */
	EXPECT_EQ(epoch, epoch_of(&self->m[0]));
	EXPECT_EQ(epoch, epoch_of(&self->m[1]));

	/* Bad requests are refused as alone. */
	r = ask(&self->m[asker], "{\"cmd\":\"pg-scrub\",\"pgid\":\"%u.%x\"}",
		P, PGS);
	EXPECT_FALSE(mapd_ok(r));
	EXPECT_NE(NULL, strstr(mapd_error(r), "no PG")) TH_LOG("%s",
							      mapd_error(r));
	json_decref(r);
	r = ask(&self->m[at], "{\"cmd\":\"pg-scrubbed\",\"pool\":%u,\"pg\":0,"
		"\"from\":%u,\"deep\":true,\"complete\":true}", P, D);
	EXPECT_STREQ("missing field \"objects\"", mapd_error(r));
	json_decref(r);
}

/* Every PG was handed to its primary exactly n times, as deep. */
static bool all_handed(FIXTURE_DATA(cscrub) *self, int n, bool deep)
{
	json_t *pgs = pg_ls(&self->m[0]);
	bool d = !deep, ok = true;
	uint32_t pg, p;

	for (pg = 0; ok && pg < PGS; pg++) {
		p = entry_primary(pgs, self->pool, pg);
		if (!fake_of(self, p) ||
		    handed(fake_of(self, p), self->pool, pg, &d) != n ||
		    d != deep)
			ok = false;
	}
	json_decref(pgs);
	return ok;
}

static size_t handed_total(FIXTURE_DATA(cscrub) *self)
{
	return json_array_size(self->d[0].got) +
	       json_array_size(self->d[1].got);
}

/* Each daemon reports every PG it was handed, complete, clean. */
static void report_all(struct __test_metadata *_metadata,
		       FIXTURE_DATA(cscrub) *self, bool deep)
{
	json_t *pgs = pg_ls(&self->m[0]);
	uint32_t pg, p;
	int i;

	for (pg = 0; pg < PGS; pg++) {
		p = entry_primary(pgs, self->pool, pg);
		i = mapd_of(self, p);
		EXPECT_LE(0, i);
		if (i < 0)
			break;
		if (pg % 4 == 0)
			beat(self);
		ASK_OK(&self->m[i],
		       "{\"cmd\":\"pg-scrubbed\",\"pool\":%u,\"pg\":%u,\"from\":%u,"
		       "\"deep\":%s,\"complete\":true,\"objects\":1,\"bytes\":1,"
		       "\"errors\":0,\"repaired\":0}", self->pool, pg, p,
		       deep ? "true" : "false");
	}
	json_decref(pgs);
}

static bool all_states(FIXTURE_DATA(cscrub) *self, int mapd,
		       const char *what, bool want)
{
	json_t *pgs = pg_ls(&self->m[mapd]);
	bool ok = true;
	uint32_t pg;

	for (pg = 0; ok && pg < PGS; pg++)
		ok = entry_state_is(pgs, self->pool, pg, what, want);
	json_decref(pgs);
	return ok;
}

TEST_F_TIMEOUT(cscrub, pool_scrub_and_pool_removal, 120)
{
	uint64_t epoch;
	uint32_t P;
	json_t *r;
	char key[64];
	int pg;

	MAPD_NEED_ENV(&self->env);
	bring_up(_metadata, self);
	P = self->pool;
	epoch = epoch_of(&self->m[0]);

	/* One key for the whole pool; every mapd shows every PG queued. */
	r = ask(&self->m[1], "{\"cmd\":\"pool-scrub\",\"pool\":\"r2\"}");
	ASSERT_TRUE(mapd_ok(r)) TH_LOG("%s", mapd_error(r));
	EXPECT_EQ(PGS, json_integer_value(json_object_get(r, "pgs")));
	json_decref(r);
	EXPECT_EQ(0, etcd_count(self, "scrub/pg/"));
	EXPECT_EQ(1, etcd_count(self, "scrub/pool/"));
	EXPECT_TRUE(all_states(self, 1, "+scrub_queued", true));
	EXPECT_LE(0, WAIT_FOR(5000, all_states(self, 0, "+scrub_queued",
					       true)));

	/* Each PG to its primary, once, light. */
	ASSERT_LE(0, BEAT_UNTIL(self, 10000, all_handed(self, 1, false)));
	beat_for(self, 1000);
	EXPECT_TRUE(all_handed(self, 1, false));
	EXPECT_EQ(PGS, handed_total(self));
	EXPECT_LE(0, WAIT_FOR(5000, all_states(self, 0, "+scrubbing", true) &&
				    all_states(self, 0, "+scrub_queued",
					       false)));

	/* Deep, asked while the light ones run: it waits for them. */
	ASK_OK(&self->m[0], "{\"cmd\":\"pool-scrub\",\"pool\":\"r2\",\"deep\":true}");
	EXPECT_TRUE(all_states(self, 0, "+scrubbing+scrub_queued", true));
	/* A light one after it does not make it light. */
	ASK_OK(&self->m[1], "{\"cmd\":\"pool-scrub\",\"pool\":\"r2\"}");
	EXPECT_LE(0, WAIT_FOR(5000, all_states(self, 0,
				"+scrubbing+scrub_queued", true)));
	beat_for(self, 1000);
	EXPECT_EQ(PGS, handed_total(self));
	report_all(_metadata, self, false);
	ASSERT_LE(0, BEAT_UNTIL(self, 10000, all_handed(self, 2, true)));
	beat_for(self, 1000);
	EXPECT_EQ(2 * PGS, handed_total(self));
	report_all(_metadata, self, true);
	EXPECT_LE(0, WAIT_FOR(5000, all_states(self, 0, "+scrub", false) &&
				    all_states(self, 1, "+scrub", false)));
	{
		json_t *pgs = pg_ls(&self->m[0]);

		for (pg = 0; pg < PGS; pg++)
			EXPECT_LT(0, entry_num(pgs, P, pg, "last_deep_scrub"));
		json_decref(pgs);
	}
	beat_for(self, 1000);
	EXPECT_EQ(2 * PGS, handed_total(self));
	EXPECT_EQ(epoch, epoch_of(&self->m[0]));

	/* A pool removed: the leader deletes its records. */
	r = ask(&self->m[0], "{\"cmd\":\"pool-create\",\"name\":\"gone\","
		"\"size\":1,\"pgs\":4}");
	ASSERT_TRUE(mapd_ok(r)) TH_LOG("%s", mapd_error(r));
	P = json_integer_value(json_object_get(json_object_get(r, "pool"),
					       "id"));
	json_decref(r);
	ASK_OK(&self->m[0], "{\"cmd\":\"pg-scrub\",\"pgid\":\"%u.1\"}", P);
	ASK_OK(&self->m[1], "{\"cmd\":\"pool-scrub\",\"pool\":\"gone\"}");
	snprintf(key, sizeof(key), "scrub/pg/%u.", P);
	EXPECT_EQ(1, etcd_count(self, key));
	ASK_OK(&self->m[1], "{\"cmd\":\"pool-rm\",\"name\":\"gone\"}");
	EXPECT_LE(0, BEAT_UNTIL(self, 5000, etcd_count(self, key) == 0));
	snprintf(key, sizeof(key), "scrub/pool/%u", P);
	EXPECT_EQ(0, etcd_count(self, key));
	/* r2's are kept. */
	snprintf(key, sizeof(key), "scrub/pg/%u.", self->pool);
	EXPECT_EQ(PGS, etcd_count(self, key));
}

TEST_F_TIMEOUT(cscrub, garbage_is_ignored, 120)
{
	static const char *const bad[][2] = {
		{ "pg/%u.0", "not json" },
		{ "pg/%u.1", "{\"running\":\"deep\"}" },
		{ "pg/%u.2", "{\"queued\":\"thorough\"}" },
		{ "pg/%u.3", "{\"last\":-5}" },
		{ "pg/%u.4", "[1,2]" },
		{ "pg/%u.ff", "{\"queued\":\"deep\"}" },
		{ "pg/%u.05", "{\"queued\":\"deep\"}" },
		{ "pg/%u.x", "{}" },
		{ "pool/%u", "{\"deep\":\"yes\"}" },
		{ "nonsense", "{}" },
	};
	char rest[64], log[128];
	uint32_t P, D, pg;
	size_t i, k;
	int at;

	MAPD_NEED_ENV(&self->env);
	bring_up(_metadata, self);
	P = self->pool;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(rest, sizeof(rest), "scrub/%s", bad[i][0]);
		snprintf(log, sizeof(log), rest, P);
		put(self, log, bad[i][1]);
	}
	/* A pool this cluster never had, past its ids: left alone. */
	put(self, "scrub/pg/4000000000.0", "{\"queued\":\"deep\"}");
	/* Many refreshes (every heartbeat's key, every put). */
	beat_for(self, 3000);
	for (k = 0; k < NMAPDS; k++) {
		ASSERT_TRUE(mapd_proc_alive(&self->m[k]));
		json_t *pgs = pg_ls(&self->m[k]);

		for (pg = 0; pg < PGS; pg++)
			EXPECT_TRUE(entry_state_is(pgs, P, pg, "+scrub", false))
				TH_LOG("PG %u on %s", pg, self->m[k].name);
		json_decref(pgs);
		/* Each logged once, not at every refresh. */
		for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			snprintf(rest, sizeof(rest), "/shard/%s/scrub/%s:",
				 CLUSTER, bad[i][0]);
			snprintf(log, sizeof(log), rest, P);
			EXPECT_EQ(1, mapd_proc_log_count(&self->m[k], log))
				TH_LOG("%s on %s", log, self->m[k].name);
		}
	}
	EXPECT_EQ(0, handed_total(self));
	snprintf(rest, sizeof(rest), "scrub/pg/4000000000.0");
	EXPECT_EQ(1, etcd_count(self, rest));

	/* A request writes over a bad record, and is handed out. */
	D = primary(&self->m[0], P, 0);
	at = mapd_of(self, D);
	ASSERT_LE(0, at);
	ASK_OK(&self->m[!at], "{\"cmd\":\"pg-scrub\",\"pgid\":\"%u.0\",\"deep\":true}",
	       P);
	EXPECT_LE(0, BEAT_UNTIL(self, 5000, handed(&self->d[at], P, 0,
						   NULL) == 1));
	/* And a pool-scrub over the bad pool key. */
	ASK_OK(&self->m[at], "{\"cmd\":\"pool-scrub\",\"pool\":\"r2\"}");
	EXPECT_LE(0, BEAT_UNTIL(self, 10000, handed_total(self) == PGS));
	beat_for(self, 1000);
	EXPECT_EQ(PGS, handed_total(self));
	for (k = 0; k < NMAPDS; k++)
		EXPECT_TRUE(mapd_proc_alive(&self->m[k]));
}

/* A request outlives the mapd that took it, and one that restarts. */
TEST_F_TIMEOUT(cscrub, outlives_a_mapd, 120)
{
	struct fake *f = &self->d[1];
	uint32_t P;
	int pg;

	MAPD_NEED_ENV(&self->env);
	bring_up(_metadata, self);
	P = self->pool;
	pg = pg_with_primary_on(self, 1);
	ASSERT_LE(0, pg);

	/* Asked of m[0], which then stops (its daemon with it) before
	 * the primary, on m[1], heartbeats again. */
	ASK_OK(&self->m[0], "{\"cmd\":\"pg-scrub\",\"pgid\":\"%u.%x\"}", P,
	       pg);
	close(self->d[0].fd);
	self->d[0].fd = -1;
	ASSERT_EQ(0, mapd_proc_stop(&self->m[0], 10000) >> 8);
	ASSERT_LE(0, BEAT_UNTIL(self, 10000, handed(f, P, pg, NULL) == 1));

	/* m[0] comes back: it shows the scrub running, from etcd, and
	 * nobody is handed it again. */
	ASSERT_EQ(0, mapd_proc_start(&self->m[0], self->env.dir, "a",
				     self->env.etcd.url, CLUSTER, GRACE));
	ASSERT_EQ(0, mapd_proc_wait_ready(&self->m[0], 15000));
	EXPECT_LE(0, BEAT_UNTIL(self, 10000, state_is(&self->m[0], P, pg,
						      "+scrubbing", true)));
	beat_for(self, 1500);
	EXPECT_EQ(1, handed(f, P, pg, NULL));
	EXPECT_EQ(1, handed_total(self));
}

TEST_HARNESS_MAIN
