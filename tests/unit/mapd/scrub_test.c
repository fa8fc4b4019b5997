// SPDX-License-Identifier: GPL-2.0-only
/*
 * Scrubs in shard-mapd: "pg-scrub" and "pool-scrub" queue requests, the
 * heartbeat reply hands each to its PG's primary once, "pg-scrubbed"
 * records the outcome, and pg-ls, pool-ls and status show it. Cluster
 * mode, with the records in etcd: scrub_etcd_test.c.
 */
#include <linux/shard.h>
#include <time.h>

#include "kselftest_harness.h"
#include "mapd_test.h"
#include "place.h"

MAPD_FIXTURE(scrub)

/* Registers a 100 GiB ssd daemon on host h; returns its id. */
static uint32_t reg(struct mapd *m, const char *host)
{
	return test_register(m, host, NULL, 100, "ssd");
}

/* A heartbeat's reply. */
static json_t *heartbeat(struct mapd *m, uint32_t id)
{
	char line[128];

	snprintf(line, sizeof(line),
		 "{\"cmd\":\"daemon-heartbeat\",\"id\":%u,\"epoch\":0}", id);
	return test_request(m, line);
}

/* How many scrubs a heartbeat of id is handed; the last in *pg, *deep. */
static size_t handed(struct mapd *m, uint32_t id, int *pg, bool *deep)
{
	json_t *r = heartbeat(m, id), *a = json_object_get(r, "scrub"), *e;
	size_t i, n = json_array_size(a);

	json_array_foreach(a, i, e) {
		if (pg)
			*pg = json_integer_value(json_object_get(e, "pg"));
		if (deep)
			*deep = json_is_true(json_object_get(e, "deep"));
	}
	/* Present only when not empty. */
	if (json_object_get(r, "scrub") && !n)
		n = 1000;
	json_decref(r);
	return n;
}

/* The primary of PG pg of pool r3 now. */
static uint32_t primary(struct mapd *m, uint32_t pg)
{
	struct mapd_pool *p = state_pool(&m->st, "r3");
	uint32_t *t = mapd_acting_table(&m->st, p);
	uint32_t id = t ? t[pg * p->size] : 0;

	free(t);
	return id;
}

/* PG pgid's object in pg-ls (a new reference), NULL when not listed. */
static json_t *pg_entry(struct mapd *m, const char *pgid)
{
	json_t *r = test_request(m, REQ({"cmd":"pg-ls","pool":"r3"}));
	json_t *e, *found = NULL;
	size_t i;

	json_array_foreach(json_object_get(r, "pgs"), i, e)
		if (!strcmp(json_string_value(json_object_get(e, "pgid")),
			    pgid))
			found = json_incref(e);
	json_decref(r);
	return found;
}

static bool state_has(struct mapd *m, const char *pgid, const char *what)
{
	json_t *e = pg_entry(m, pgid);
	const char *s = json_string_value(json_object_get(e, "state"));
	bool yes = s && strstr(s, what);

	json_decref(e);
	return yes;
}

static json_t *scrubbed(struct mapd *m, uint32_t pg, uint32_t from, bool deep,
			int errors, int repaired)
{
	char line[512];

	snprintf(line, sizeof(line),
		 "{\"cmd\":\"pg-scrubbed\",\"pool\":2,\"pg\":%u,\"from\":%u,"
		 "\"deep\":%s,\"objects\":33,\"bytes\":138412032,\"errors\":%d,"
		 "\"repaired\":%d,\"complete\":true}",
		 pg, from, deep ? "true" : "false", errors, repaired);
	return test_request(m, line);
}

#define EXPECT_SCRUBBED(m, ...) do {					\
	json_t *__r = scrubbed(m, __VA_ARGS__);				\
	EXPECT_TRUE(reply_ok(__r)) TH_LOG("%s", reply_error(__r));	\
	json_decref(__r);						\
} while (0)

/* Daemons 1, 2, 3 on hosts a, b, c; pool r3 (id 2): 3 copies, 8 PGs. */
static void setup(struct __test_metadata *_metadata, struct mapd *m)
{
	ASSERT_EQ(1, reg(m, "a"));
	ASSERT_EQ(2, reg(m, "b"));
	ASSERT_EQ(3, reg(m, "c"));
	EXPECT_OK(m, REQ({"cmd":"pool-create","name":"r3","size":3,"min_size":2,"pgs":8}));
	ASSERT_EQ(2u, state_pool(&m->st, "r3")->id);
}

TEST_F(scrub, handed_to_the_primary_once)
{
	struct mapd *m = &self->m;
	uint32_t p, id;
	bool deep = true;
	json_t *r, *e;
	int pg = -1;

	setup(_metadata, m);
	p = primary(m, 3);
	ASSERT_NE(SHARD_DAEMON_NONE, p);
	/* Nothing asked: no "scrub" in any reply. */
	for (id = 1; id <= 3; id++)
		EXPECT_EQ(0u, handed(m, id, NULL, NULL));

	r = test_request(m, REQ({"cmd":"pg-scrub","pgid":"2.3"}));
	ASSERT_TRUE(reply_ok(r)) TH_LOG("%s", reply_error(r));
	EXPECT_EQ((json_int_t)p, json_integer_value(json_object_get(r, "primary")));
	json_decref(r);
	EXPECT_TRUE(state_has(m, "2.3", "+scrub_queued"));
	EXPECT_FALSE(state_has(m, "2.3", "+scrubbing"));
	EXPECT_FALSE(state_has(m, "2.4", "+scrub"));

	/* The other members are not the primary: nothing for them. */
	for (id = 1; id <= 3; id++)
		if (id != p)
			EXPECT_EQ(0u, handed(m, id, NULL, NULL));
	ASSERT_EQ(1u, handed(m, p, &pg, &deep));
	EXPECT_EQ(3, pg);
	EXPECT_FALSE(deep);
	/* Once. */
	EXPECT_EQ(0u, handed(m, p, NULL, NULL));
	EXPECT_TRUE(state_has(m, "2.3", "active+clean+scrubbing"));
	EXPECT_FALSE(state_has(m, "2.3", "+scrub_queued"));

	/* The outcome ends it. */
	EXPECT_SCRUBBED(m, 3, p, false, 0, 0);
	e = pg_entry(m, "2.3");
	EXPECT_STREQ("active+clean", json_string_value(json_object_get(e, "state")));
	json_decref(e);
	EXPECT_EQ(0u, handed(m, p, NULL, NULL));
}

TEST_F(scrub, deep_wins)
{
	struct mapd *m = &self->m;
	bool deep = false;
	uint32_t p;
	int pg = -1;

	setup(_metadata, m);
	p = primary(m, 5);
	EXPECT_OK(m, REQ({"cmd":"pg-scrub","pgid":"2.5","deep":false}));
	EXPECT_OK(m, REQ({"cmd":"pg-scrub","pgid":"2.5","deep":true}));
	EXPECT_OK(m, REQ({"cmd":"pg-scrub","pgid":"2.5"}));
	ASSERT_EQ(1u, handed(m, p, &pg, &deep));
	EXPECT_EQ(5, pg);
	EXPECT_TRUE(deep);

	/* A light one while a deep one runs: that is the deep one. */
	EXPECT_OK(m, REQ({"cmd":"pg-scrub","pgid":"2.5"}));
	EXPECT_FALSE(state_has(m, "2.5", "+scrub_queued"));
	EXPECT_SCRUBBED(m, 5, p, true, 0, 0);
	EXPECT_EQ(0u, handed(m, p, NULL, NULL));

	/* A deep one while a light one runs: it waits for its turn. */
	EXPECT_OK(m, REQ({"cmd":"pg-scrub","pgid":"2.5"}));
	ASSERT_EQ(1u, handed(m, p, NULL, &deep));
	EXPECT_FALSE(deep);
	EXPECT_OK(m, REQ({"cmd":"pg-scrub","pgid":"2.5","deep":true}));
	EXPECT_TRUE(state_has(m, "2.5", "+scrubbing+scrub_queued"));
	EXPECT_EQ(0u, handed(m, p, NULL, NULL));
	/* A light outcome from another daemon (its schedule) settles
	 * nothing handed out. */
	EXPECT_SCRUBBED(m, 5, p % 3 + 1, false, 0, 0);
	EXPECT_EQ(0u, handed(m, p, NULL, NULL));
	EXPECT_SCRUBBED(m, 5, p, false, 0, 0);
	ASSERT_EQ(1u, handed(m, p, NULL, &deep));
	EXPECT_TRUE(deep);
}

TEST_F(scrub, queued_again_for_the_next_primary)
{
	struct mapd *m = &self->m;
	uint32_t p, q, id;
	json_t *r;
	int pg = -1;

	setup(_metadata, m);
	p = primary(m, 2);
	EXPECT_OK(m, REQ({"cmd":"pg-scrub","pgid":"2.2","deep":true}));
	ASSERT_EQ(1u, handed(m, p, NULL, NULL));
	mapd_daemon_gone(m, p);
	ASSERT_FALSE(state_daemon(&m->st, p)->up);
	q = primary(m, 2);
	ASSERT_NE(p, q);
	ASSERT_NE(SHARD_DAEMON_NONE, q);
	/* Not running on anyone now; the new primary gets it. */
	EXPECT_FALSE(state_has(m, "2.2", "+scrubbing"));
	EXPECT_TRUE(state_has(m, "2.2", "+scrub_queued"));
	ASSERT_EQ(1u, handed(m, q, &pg, NULL));
	EXPECT_EQ(2, pg);
	/* The old primary's late outcome changes nothing that runs. */
	r = test_request(m, REQ({"cmd":"pg-scrubbed","pool":2,"pg":2,"from":1,"deep":true,"complete":false,"error":"not primary any more"}));
	EXPECT_TRUE(reply_ok(r)) TH_LOG("%s", reply_error(r));
	json_decref(r);
	EXPECT_TRUE(state_has(m, "2.2", "+scrubbing"));
	for (id = 1; id <= 3; id++)
		if (id != p)
			EXPECT_EQ(0u, handed(m, id, NULL, NULL));
}

TEST_F(scrub, restart_queues_again)
{
	struct mapd *m = &self->m;
	char line[512];
	uint32_t p;
	json_t *r;

	setup(_metadata, m);
	p = primary(m, 1);
	EXPECT_OK(m, REQ({"cmd":"pg-scrub","pgid":"2.1"}));
	ASSERT_EQ(1u, handed(m, p, NULL, NULL));
	EXPECT_EQ(0u, handed(m, p, NULL, NULL));
	/* The same daemon registers again (same address: it restarted). */
	snprintf(line, sizeof(line),
		 "{\"cmd\":\"daemon-register\",\"id\":%u,\"addr\":\"10.0.0.1\",\"port\":%u,"
		 "\"capacity\":%llu,\"class\":\"ssd\",\"host\":\"%s\"}",
		 p, state_daemon(&m->st, p)->port, 100ULL << 30,
		 state_daemon(&m->st, p)->host);
	r = test_request(m, line);
	ASSERT_TRUE(reply_ok(r)) TH_LOG("%s", reply_error(r));
	json_decref(r);
	ASSERT_EQ(p, primary(m, 1));
	EXPECT_EQ(1u, handed(m, p, NULL, NULL));

	/* Its session closed: whoever is the primary now gets it. */
	mapd_daemon_gone(m, p);
	ASSERT_NE(p, primary(m, 1));
	EXPECT_EQ(1u, handed(m, primary(m, 1), NULL, NULL));
}

TEST_F(scrub, outcome_recorded)
{
	struct mapd *m = &self->m;
	time_t t0, t1;
	json_t *e, *r, *pool;
	uint32_t p;
	size_t i;
	json_int_t last, deep_at = 0;

	setup(_metadata, m);
	p = primary(m, 6);
	e = pg_entry(m, "2.6");
	ASSERT_NE(NULL, e);
	EXPECT_TRUE(json_is_null(json_object_get(e, "last_scrub")));
	EXPECT_TRUE(json_is_null(json_object_get(e, "last_deep_scrub")));
	EXPECT_EQ(0, json_integer_value(json_object_get(e, "scrub_errors")));
	EXPECT_EQ(0, json_integer_value(json_object_get(e, "scrub_repaired")));
	json_decref(e);

	/* Scheduled: no request, taken all the same. */
	t0 = time(NULL);
	EXPECT_SCRUBBED(m, 6, p, true, 3, 1);
	t1 = time(NULL);
	e = pg_entry(m, "2.6");
	last = json_integer_value(json_object_get(e, "last_scrub"));
	EXPECT_TRUE(last >= t0 && last <= t1);
	EXPECT_EQ(last, json_integer_value(json_object_get(e, "last_deep_scrub")));
	EXPECT_EQ(2, json_integer_value(json_object_get(e, "scrub_errors")));
	EXPECT_EQ(1, json_integer_value(json_object_get(e, "scrub_repaired")));
	EXPECT_STREQ("active+clean+inconsistent",
		     json_string_value(json_object_get(e, "state")));
	deep_at = last;
	json_decref(e);

	/* Counted in pool-ls and status. */
	r = test_request(m, REQ({"cmd":"pool-ls"}));
	json_array_foreach(json_object_get(r, "pools"), i, pool)
		EXPECT_EQ(strcmp(json_string_value(json_object_get(pool, "name")), "r3") ? 0 : 1,
			  json_integer_value(json_object_get(pool, "inconsistent_pgs")));
	json_decref(r);
	r = test_request(m, REQ({"cmd":"status"}));
	json_array_foreach(json_object_get(r, "pools"), i, pool)
		EXPECT_EQ(strcmp(json_string_value(json_object_get(pool, "name")), "r3") ? 0 : 1,
			  json_integer_value(json_object_get(pool, "inconsistent_pgs")));
	json_decref(r);

	/* Stopped early: nothing recorded. */
	r = test_request(m, REQ({"cmd":"pg-scrubbed","pool":2,"pg":6,"from":1,"deep":false,"complete":false,"error":"map changed"}));
	EXPECT_TRUE(reply_ok(r)) TH_LOG("%s", reply_error(r));
	json_decref(r);
	e = pg_entry(m, "2.6");
	EXPECT_EQ(2, json_integer_value(json_object_get(e, "scrub_errors")));
	json_decref(e);

	/* A light clean one: errors gone, deep time kept, repairs add up. */
	EXPECT_SCRUBBED(m, 6, p, false, 2, 2);
	e = pg_entry(m, "2.6");
	EXPECT_EQ(deep_at, json_integer_value(json_object_get(e, "last_deep_scrub")));
	EXPECT_TRUE(json_integer_value(json_object_get(e, "last_scrub")) >= deep_at);
	EXPECT_EQ(0, json_integer_value(json_object_get(e, "scrub_errors")));
	EXPECT_EQ(3, json_integer_value(json_object_get(e, "scrub_repaired")));
	EXPECT_STREQ("active+clean", json_string_value(json_object_get(e, "state")));
	json_decref(e);
	r = test_request(m, REQ({"cmd":"status"}));
	json_array_foreach(json_object_get(r, "pools"), i, pool)
		EXPECT_EQ(0, json_integer_value(json_object_get(pool, "inconsistent_pgs")));
	json_decref(r);
}

TEST_F(scrub, stopped_early_by_the_primary)
{
	struct mapd *m = &self->m;
	char line[512];
	uint32_t p;

	setup(_metadata, m);
	p = primary(m, 7);
	EXPECT_OK(m, REQ({"cmd":"pg-scrub","pgid":"2.7","deep":true}));
	ASSERT_EQ(1u, handed(m, p, NULL, NULL));
	/* Still the primary and gave up: not asked again. */
	snprintf(line, sizeof(line),
		 "{\"cmd\":\"pg-scrubbed\",\"pool\":2,\"pg\":7,\"from\":%u,"
		 "\"deep\":true,\"complete\":false,\"error\":\"disk error\"}", p);
	EXPECT_OK(m, line);
	EXPECT_FALSE(state_has(m, "2.7", "+scrub"));
	EXPECT_EQ(0u, handed(m, p, NULL, NULL));
}

TEST_F(scrub, pool_scrub)
{
	struct mapd *m = &self->m;
	int count[64] = { 0 };
	uint32_t id;
	json_t *r, *e;
	size_t i, n, total = 0, full = 0;
	int round;

	setup(_metadata, m);
	EXPECT_OK(m, REQ({"cmd":"pool-create","name":"big","size":3,"pgs":64}));
	ASSERT_EQ(3u, state_pool(&m->st, "big")->id);
	r = test_request(m, REQ({"cmd":"pool-scrub","pool":"big","deep":true}));
	ASSERT_TRUE(reply_ok(r)) TH_LOG("%s", reply_error(r));
	EXPECT_EQ(64, json_integer_value(json_object_get(r, "pgs")));
	json_decref(r);
	/* At most 16 a reply; every PG once, to its primary. */
	for (round = 0; round < 10; round++) {
		for (id = 1; id <= 3; id++) {
			r = heartbeat(m, id);
			n = json_array_size(json_object_get(r, "scrub"));
			EXPECT_LE(n, 16u);
			full += n == 16;
			json_array_foreach(json_object_get(r, "scrub"), i, e) {
				json_int_t pg = json_integer_value(json_object_get(e, "pg"));
				struct mapd_pool *p = state_pool(&m->st, "big");
				uint32_t *t = mapd_acting_table(&m->st, p);

				EXPECT_EQ(3, json_integer_value(json_object_get(e, "pool")));
				EXPECT_TRUE(json_is_true(json_object_get(e, "deep")));
				ASSERT_TRUE(pg >= 0 && pg < 64);
				EXPECT_EQ(id, t[pg * 3]);
				free(t);
				count[pg]++;
				total++;
			}
			json_decref(r);
		}
	}
	EXPECT_EQ(64u, total);
	EXPECT_NE(0u, full);	/* some daemon is primary of more than 16 */
	for (i = 0; i < 64; i++)
		EXPECT_EQ(1, count[i]);
	/* Pool r3 was not asked for. */
	EXPECT_FALSE(state_has(m, "2.0", "+scrub"));
}

TEST_F(scrub, no_primary_up)
{
	struct mapd *m = &self->m;
	json_t *r;
	int pg = -1;

	ASSERT_EQ(1, reg(m, "a"));
	EXPECT_OK(m, REQ({"cmd":"pool-create","name":"one","size":1,"pgs":4}));
	mapd_daemon_gone(m, 1);
	r = test_request(m, REQ({"cmd":"pg-scrub","pgid":"2.3"}));
	ASSERT_TRUE(reply_ok(r)) TH_LOG("%s", reply_error(r));
	EXPECT_TRUE(json_is_null(json_object_get(r, "primary")));
	ASSERT_NE(NULL, json_object_get(r, "primary"));
	json_decref(r);
	/* Back: it gets it. */
	ASSERT_EQ(1u, handed(m, 1, &pg, NULL));
	EXPECT_EQ(3, pg);
}

TEST_F(scrub, bad_input)
{
	struct mapd *m = &self->m;

	setup(_metadata, m);
	/* pg-scrub */
	EXPECT_ERROR(m, REQ({"cmd":"pg-scrub"}), "missing field \"pgid\"");
	EXPECT_ERROR(m, REQ({"cmd":"pg-scrub","pgid":23}), "field \"pgid\" must be a string");
	EXPECT_ERROR(m, REQ({"cmd":"pg-scrub","pgid":"2.1","deep":1}), "field \"deep\" must be true or false");
	EXPECT_ERROR(m, REQ({"cmd":"pg-scrub","pgid":"2"}), "bad pgid \"2\"");
	EXPECT_ERROR(m, REQ({"cmd":"pg-scrub","pgid":""}), "bad pgid");
	EXPECT_ERROR(m, REQ({"cmd":"pg-scrub","pgid":".1"}), "bad pgid");
	EXPECT_ERROR(m, REQ({"cmd":"pg-scrub","pgid":"2."}), "bad pgid");
	EXPECT_ERROR(m, REQ({"cmd":"pg-scrub","pgid":"-2.1"}), "bad pgid");
	EXPECT_ERROR(m, REQ({"cmd":"pg-scrub","pgid":"2.-1"}), "bad pgid");
	EXPECT_ERROR(m, REQ({"cmd":"pg-scrub","pgid":"2.0x1"}), "bad pgid");
	EXPECT_ERROR(m, REQ({"cmd":"pg-scrub","pgid":"2.1g"}), "bad pgid");
	EXPECT_ERROR(m, REQ({"cmd":"pg-scrub","pgid":"2.1 "}), "bad pgid");
	EXPECT_ERROR(m, REQ({"cmd":"pg-scrub","pgid":" 2.1"}), "bad pgid");
	EXPECT_ERROR(m, REQ({"cmd":"pg-scrub","pgid":"2.1.1"}), "bad pgid");
	EXPECT_ERROR(m, REQ({"cmd":"pg-scrub","pgid":"2.123456789"}), "bad pgid");
	EXPECT_ERROR(m, REQ({"cmd":"pg-scrub","pgid":"99999999999.1"}), "bad pgid");
	EXPECT_ERROR(m, REQ({"cmd":"pg-scrub","pgid":"4294967296.1"}), "no pool with id 4294967296");
	EXPECT_ERROR(m, REQ({"cmd":"pg-scrub","pgid":"9.1"}), "no pool with id 9");
	EXPECT_ERROR(m, REQ({"cmd":"pg-scrub","pgid":"2.8"}), "pool 2 has 8 PGs: no PG 8");
	EXPECT_ERROR(m, REQ({"cmd":"pg-scrub","pgid":"2.ffffffff"}), "no PG ffffffff");
	/* pool-scrub */
	EXPECT_ERROR(m, REQ({"cmd":"pool-scrub"}), "missing field \"pool\"");
	EXPECT_ERROR(m, REQ({"cmd":"pool-scrub","pool":2}), "field \"pool\" must be a string");
	EXPECT_ERROR(m, REQ({"cmd":"pool-scrub","pool":"nope"}), "no pool named \"nope\"");
	EXPECT_ERROR(m, REQ({"cmd":"pool-scrub","pool":"r3","deep":"yes"}), "field \"deep\" must be true or false");
	/* pg-scrubbed */
	EXPECT_ERROR(m, REQ({"cmd":"pg-scrubbed","pg":1,"from":1,"deep":true,"complete":false}), "missing field \"pool\"");
	EXPECT_ERROR(m, REQ({"cmd":"pg-scrubbed","pool":2,"from":1,"deep":true,"complete":false}), "missing field \"pg\"");
	EXPECT_ERROR(m, REQ({"cmd":"pg-scrubbed","pool":2,"pg":1,"deep":true,"complete":false}), "missing field \"from\"");
	EXPECT_ERROR(m, REQ({"cmd":"pg-scrubbed","pool":2,"pg":1,"from":1,"complete":false}), "missing field \"deep\"");
	EXPECT_ERROR(m, REQ({"cmd":"pg-scrubbed","pool":2,"pg":1,"from":1,"deep":true}), "missing field \"complete\"");
	EXPECT_ERROR(m, REQ({"cmd":"pg-scrubbed","pool":"r3","pg":1,"from":1,"deep":true,"complete":false}), "field \"pool\" must be a non-negative integer");
	EXPECT_ERROR(m, REQ({"cmd":"pg-scrubbed","pool":2,"pg":-1,"from":1,"deep":true,"complete":false}), "field \"pg\" must be a non-negative integer");
	EXPECT_ERROR(m, REQ({"cmd":"pg-scrubbed","pool":2,"pg":1.5,"from":1,"deep":true,"complete":false}), "field \"pg\" must be a non-negative integer");
	EXPECT_ERROR(m, REQ({"cmd":"pg-scrubbed","pool":2,"pg":1,"from":"1","deep":true,"complete":false}), "field \"from\" must be a non-negative integer");
	EXPECT_ERROR(m, REQ({"cmd":"pg-scrubbed","pool":2,"pg":1,"from":1,"deep":0,"complete":false}), "field \"deep\" must be true or false");
	EXPECT_ERROR(m, REQ({"cmd":"pg-scrubbed","pool":2,"pg":1,"from":1,"deep":true,"complete":"no"}), "field \"complete\" must be true or false");
	EXPECT_ERROR(m, REQ({"cmd":"pg-scrubbed","pool":2,"pg":1,"from":1,"deep":true,"complete":false,"error":5}), "field \"error\" must be a string");
	EXPECT_ERROR(m, REQ({"cmd":"pg-scrubbed","pool":2,"pg":1,"from":1,"deep":true,"complete":true,"bytes":0,"errors":0,"repaired":0}), "missing field \"objects\"");
	EXPECT_ERROR(m, REQ({"cmd":"pg-scrubbed","pool":2,"pg":1,"from":1,"deep":true,"complete":true,"objects":0,"errors":0,"repaired":0}), "missing field \"bytes\"");
	EXPECT_ERROR(m, REQ({"cmd":"pg-scrubbed","pool":2,"pg":1,"from":1,"deep":true,"complete":true,"objects":0,"bytes":0,"repaired":0}), "missing field \"errors\"");
	EXPECT_ERROR(m, REQ({"cmd":"pg-scrubbed","pool":2,"pg":1,"from":1,"deep":true,"complete":true,"objects":0,"bytes":0,"errors":0}), "missing field \"repaired\"");
	EXPECT_ERROR(m, REQ({"cmd":"pg-scrubbed","pool":2,"pg":1,"from":1,"deep":true,"complete":true,"objects":-1,"bytes":0,"errors":0,"repaired":0}), "field \"objects\" must be a non-negative integer");
	EXPECT_ERROR(m, REQ({"cmd":"pg-scrubbed","pool":2,"pg":1,"from":1,"deep":true,"complete":true,"objects":0,"bytes":0,"errors":1,"repaired":2}), "field \"repaired\" (2) must be at most \"errors\" (1)");
	EXPECT_ERROR(m, REQ({"cmd":"pg-scrubbed","pool":9,"pg":1,"from":1,"deep":true,"complete":true,"objects":0,"bytes":0,"errors":0,"repaired":0}), "no pool with id 9");
	EXPECT_ERROR(m, REQ({"cmd":"pg-scrubbed","pool":2,"pg":8,"from":1,"deep":true,"complete":true,"objects":0,"bytes":0,"errors":0,"repaired":0}), "pool 2 has 8 PGs: no PG 8");
	EXPECT_ERROR(m, REQ({"cmd":"pg-scrubbed","pool":2,"pg":1,"from":7,"deep":true,"complete":true,"objects":0,"bytes":0,"errors":0,"repaired":0}), "unknown daemon 7");
	EXPECT_ERROR(m, REQ({"cmd":"pg-scrubbed","pool":2,"pg":1,"from":99999999999,"deep":true,"complete":true,"objects":0,"bytes":0,"errors":0,"repaired":0}), "unknown daemon 99999999999");
	/* Nothing of it was recorded or queued. */
	EXPECT_FALSE(state_has(m, "2.1", "+scrub"));
	EXPECT_FALSE(state_has(m, "2.1", "inconsistent"));
	EXPECT_EQ(0u, handed(m, 1, NULL, NULL) + handed(m, 2, NULL, NULL) +
		      handed(m, 3, NULL, NULL));
}

TEST_HARNESS_MAIN
