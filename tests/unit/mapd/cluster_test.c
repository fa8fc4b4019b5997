// SPDX-License-Identifier: GPL-2.0-only
/*
 * Cluster commands of shard-mapd: pools, daemons by hand, heartbeats and
 * liveness, and the map the daemons fetch.
 */
#include <endian.h>
#include <linux/shard.h>

#include "kselftest_harness.h"
#include "mapd_test.h"
#include "place.h"
#include "../common/b64.h"

MAPD_FIXTURE(cl)

static json_t *pool_of(struct mapd *m, const char *name)
{
	json_t *r = test_request(m, REQ({"cmd":"pool-ls"})), *p, *found = NULL;
	size_t i;

	json_array_foreach(json_object_get(r, "pools"), i, p)
		if (!strcmp(json_string_value(json_object_get(p, "name")), name))
			found = json_incref(p);
	json_decref(r);
	return found;
}

TEST_F(cl, pool_create_validation)
{
	struct mapd *m = &self->m;

	EXPECT_ERROR(m, REQ({"cmd":"pool-create","size":3}), "missing field \"name\"");
	EXPECT_ERROR(m, REQ({"cmd":"pool-create","name":"p"}), "missing field \"size\"");
	EXPECT_ERROR(m, REQ({"cmd":"pool-create","name":"p","size":0}), "size must be 1..5");
	EXPECT_ERROR(m, REQ({"cmd":"pool-create","name":"p","size":6}), "size must be 1..5");
	EXPECT_ERROR(m, REQ({"cmd":"pool-create","name":"p","size":2,"min_size":3}), "min_size");
	EXPECT_ERROR(m, REQ({"cmd":"pool-create","name":"p","size":2,"class":"nvme"}), "class");
	EXPECT_ERROR(m, REQ({"cmd":"pool-create","name":"p","size":2,"failure_domain":"row"}), "failure_domain");
	EXPECT_ERROR(m, REQ({"cmd":"pool-create","name":"p","size":2,"pgs":70000}), "pgs");
	EXPECT_ERROR(m, REQ({"cmd":"pool-create","name":"p/q","size":2}), "invalid pool name");
	EXPECT_ERROR(m, REQ({"cmd":"pool-create","name":"default","size":2}), "already exists");
	EXPECT_EQ(1, m->st.npools);
}

TEST_F(cl, pool_create_ls_rm)
{
	struct mapd *m = &self->m;
	uint64_t epoch;
	json_t *p;

	ASSERT_NE(0, test_register(m, "a", NULL, 100, "ssd"));
	ASSERT_NE(0, test_register(m, "b", NULL, 100, "ssd"));
	ASSERT_NE(0, test_register(m, "c", NULL, 100, "hdd"));
	epoch = m->st.epoch;
	EXPECT_OK(m, REQ({"cmd":"pool-create","name":"fast","size":2,"class":"ssd","pgs":64}));
	EXPECT_GT(m->st.epoch, epoch);
	p = pool_of(m, "fast");
	ASSERT_NE(NULL, p);
	EXPECT_EQ(64, json_integer_value(json_object_get(p, "pg_count")));
	EXPECT_EQ(2, json_integer_value(json_object_get(p, "min_size")));
	EXPECT_STREQ("ssd", json_string_value(json_object_get(p, "class")));
	/* Two 100 GiB ssds, two copies: the pool holds 100 GiB. */
	EXPECT_EQ(100ULL << 30, json_integer_value(json_object_get(p, "usable")));
	EXPECT_EQ(64, json_integer_value(json_object_get(
		json_object_get(p, "pg_states"), "active+clean")));
	json_decref(p);

	/* No hdd copy in an ssd pool. */
	do {
		struct mapd_pool *fp = state_pool(&m->st, "fast");
		size_t k;

		for (k = 0; k < 64 * 2; k++)
			EXPECT_NE(3, fp->table[k]);
	} while (0);

	EXPECT_OK(m, REQ({"cmd":"create","pool":"fast","name":"v","size":512}));
	EXPECT_ERROR(m, REQ({"cmd":"pool-rm","name":"fast"}), "has 1 volume");
	EXPECT_OK(m, REQ({"cmd":"rm","pool":"fast","name":"v"}));
	EXPECT_OK(m, REQ({"cmd":"pool-rm","name":"fast"}));
	EXPECT_ERROR(m, REQ({"cmd":"pool-rm","name":"fast"}), "no pool");
	EXPECT_EQ(NULL, pool_of(m, "fast"));
}

TEST_F(cl, failure_domains_and_capped)
{
	struct mapd *m = &self->m;
	struct mapd_pool *p;
	json_t *r;
	uint32_t pg;

	/* Two hosts, one of them much larger: with two copies every PG has
	 * one copy on each host, so the large host cannot be filled in
	 * proportion. */
	test_register(m, "a", NULL, 1000, "ssd");
	test_register(m, "a", NULL, 1000, "ssd");
	test_register(m, "b", NULL, 100, "ssd");
	EXPECT_OK(m, REQ({"cmd":"pool-create","name":"r2","size":2,"pgs":128}));
	p = state_pool(&m->st, "r2");
	ASSERT_NE(NULL, p);
	for (pg = 0; pg < 128; pg++) {
		uint32_t a = p->table[pg * 2], b = p->table[pg * 2 + 1];

		EXPECT_TRUE((a == 3) != (b == 3)) TH_LOG("pg %u: %u %u", pg, a, b);
	}
	EXPECT_GT(p->ncapped, 0);
	/* Usable is what the small host can take. */
	EXPECT_EQ(100ULL << 30, p->usable);
	r = test_request(m, REQ({"cmd":"pg-ls","pool":"r2"}));
	EXPECT_EQ(128, json_array_size(json_object_get(r, "pgs")));
	json_decref(r);
	EXPECT_ERROR(m, REQ({"cmd":"pg-ls","pool":"nope"}), "no pool");
}

TEST_F(cl, rack_domain)
{
	struct mapd *m = &self->m;
	struct mapd_pool *p;
	uint32_t pg;

	test_register(m, "a", "r1", 100, "ssd");
	test_register(m, "b", "r1", 100, "ssd");
	test_register(m, "c", "r2", 100, "ssd");
	test_register(m, "d", "r2", 100, "ssd");
	EXPECT_OK(m, REQ({"cmd":"pool-create","name":"x","size":2,"failure_domain":"rack","pgs":64}));
	p = state_pool(&m->st, "x");
	for (pg = 0; pg < 64; pg++) {
		uint32_t a = p->table[pg * 2], b = p->table[pg * 2 + 1];

		/* Daemons 1,2 are rack r1, 3,4 rack r2. */
		EXPECT_NE((a - 1) / 2, (b - 1) / 2) TH_LOG("pg %u: %u %u", pg, a, b);
	}
}

TEST_F(cl, heartbeat_down_up_out)
{
	struct mapd *m = &self->m;
	uint64_t epoch;
	uint32_t id;
	json_t *r;

	id = test_register(m, "a", NULL, 100, "ssd");
	test_register(m, "b", NULL, 100, "ssd");
	ASSERT_EQ(1, id);
	EXPECT_ERROR(m, REQ({"cmd":"daemon-heartbeat","id":9,"epoch":1}), "unknown daemon 9");
	EXPECT_ERROR(m, REQ({"cmd":"daemon-heartbeat","id":1}), "missing field \"epoch\"");
	r = test_request(m, REQ({"cmd":"daemon-heartbeat","id":1,"epoch":0,"used":4096}));
	EXPECT_TRUE(reply_ok(r));
	EXPECT_EQ(m->st.epoch, json_integer_value(json_object_get(r, "epoch")));
	json_decref(r);
	EXPECT_EQ(4096, state_daemon(&m->st, 1)->used);

	/* Silent past the grace period: down, a new epoch, in the kernel. */
	m->grace = 5;
	m->out_after = 60;
	epoch = m->st.epoch;
	state_daemon(&m->st, 1)->last_seen -= 6;
	mapd_tick(m);
	EXPECT_FALSE(state_daemon(&m->st, 1)->up);
	EXPECT_TRUE(state_daemon(&m->st, 2)->up);
	EXPECT_EQ(epoch + 1, m->st.epoch);
	EXPECT_EQ(m->st.epoch, self->fk.epoch);
	/* Its PGs have no primary in a one-copy pool. */
	do {
		struct mapd_pool *p = state_pool(&m->st, "default");
		uint32_t *acting = mapd_acting_table(&m->st, p);
		uint32_t pg, none = 0;

		for (pg = 0; pg < p->pg_count; pg++)
			none += acting[pg] == SHARD_DAEMON_NONE;
		EXPECT_GT(none, 0);
		free(acting);
	} while (0);
	/* A heartbeat brings it back. */
	EXPECT_OK(m, REQ({"cmd":"daemon-heartbeat","id":1,"epoch":1}));
	EXPECT_TRUE(state_daemon(&m->st, 1)->up);
	EXPECT_EQ(epoch + 2, m->st.epoch);

	/* Down long enough: out, and nothing is placed on it. */
	state_daemon(&m->st, 1)->last_seen -= 6;
	mapd_tick(m);
	state_daemon(&m->st, 1)->down_since -= 61;
	mapd_tick(m);
	EXPECT_FALSE(state_daemon(&m->st, 1)->in);
	do {
		struct mapd_pool *p = state_pool(&m->st, "default");
		uint32_t pg;

		for (pg = 0; pg < p->pg_count; pg++)
			EXPECT_EQ(2, p->table[pg]);
	} while (0);
	/* Re-registering does not bring it in: an admin does. */
	test_register(m, "a", NULL, 100, "ssd");
	EXPECT_OK(m, "{\"cmd\":\"daemon-register\",\"id\":1,\"addr\":\"10.0.0.1\",\"port\":7000,\"capacity\":107374182400,\"class\":\"ssd\",\"host\":\"a\"}");
	EXPECT_FALSE(state_daemon(&m->st, 1)->in);
	EXPECT_OK(m, REQ({"cmd":"daemon-in","id":1}));
	EXPECT_TRUE(state_daemon(&m->st, 1)->in);
}

TEST_F(cl, session_close_marks_down)
{
	struct mapd *m = &self->m;
	uint32_t session = 0;
	uint64_t epoch;

	m->client_daemon = &session;
	ASSERT_EQ(1, test_register(m, "a", NULL, 100, "ssd"));
	EXPECT_EQ(0, session);	/* a registration alone is no session */
	EXPECT_OK(m, REQ({"cmd":"daemon-heartbeat","id":1,"epoch":0}));
	m->client_daemon = NULL;
	EXPECT_EQ(1, session);	/* the server knows whose session it is */
	epoch = m->st.epoch;
	mapd_daemon_gone(m, 1);
	EXPECT_FALSE(state_daemon(&m->st, 1)->up);
	EXPECT_EQ(epoch + 1, m->st.epoch);
	mapd_daemon_gone(m, 1);		/* again: nothing more */
	mapd_daemon_gone(m, 42);	/* unknown: nothing */
	EXPECT_EQ(epoch + 1, m->st.epoch);
	EXPECT_OK(m, REQ({"cmd":"daemon-heartbeat","id":1,"epoch":1}));
	EXPECT_TRUE(state_daemon(&m->st, 1)->up);
}

/* Members of PG pg's acting row (down ones included), as a bit set. */
static unsigned int acting_set(const struct mapd_pool *p, uint32_t pg)
{
	unsigned int set = 0;
	uint32_t j, id;

	for (j = 0; j < p->size; j++) {
		id = p->acting[(size_t)pg * p->size + j];
		if (id != SHARD_DAEMON_NONE)
			set |= 1U << id;
	}
	return set;
}

/*
 * A copy that went down misses writes: it leaves the acting sets of a
 * replicated pool and does not come back with its heartbeat; the last
 * member up stays, whatever else happens.
 */
TEST_F(cl, replicated_down_member_leaves_acting)
{
	struct mapd *m = &self->m;
	struct mapd_pool *p;
	uint32_t pg;

	test_register(m, "a", NULL, 100, "ssd");
	test_register(m, "b", NULL, 100, "ssd");
	test_register(m, "c", NULL, 100, "ssd");
	EXPECT_OK(m, REQ({"cmd":"pool-create","name":"r3","size":3,"min_size":2,"pgs":16}));
	EXPECT_OK(m, REQ({"cmd":"create","pool":"r3","name":"v","size":512}));
	p = state_pool(&m->st, "r3");
	for (pg = 0; pg < 16; pg++)
		ASSERT_EQ(0xeu, acting_set(p, pg));

	mapd_daemon_gone(m, 1);
	p = state_pool(&m->st, "r3");
	for (pg = 0; pg < 16; pg++)
		EXPECT_EQ(0xcu, acting_set(p, pg));
	EXPECT_STREQ("active+undersized+remapped", mapd_pg_state(&m->st, p, 0));
	EXPECT_OK(m, REQ({"cmd":"daemon-heartbeat","id":1,"epoch":1}));
	p = state_pool(&m->st, "r3");
	for (pg = 0; pg < 16; pg++)
		EXPECT_EQ(0xcu, acting_set(p, pg));

	/* 2 then 3 go down: 3 was last, it alone may serve again. */
	mapd_daemon_gone(m, 2);
	p = state_pool(&m->st, "r3");
	EXPECT_EQ(0x8u, acting_set(p, 0));
	EXPECT_STREQ("inactive+remapped", mapd_pg_state(&m->st, p, 0));
	mapd_daemon_gone(m, 3);
	p = state_pool(&m->st, "r3");
	EXPECT_EQ(0x8u, acting_set(p, 0));
	EXPECT_STREQ("down", mapd_pg_state(&m->st, p, 0));
	EXPECT_OK(m, REQ({"cmd":"daemon-heartbeat","id":3,"epoch":1}));
	p = state_pool(&m->st, "r3");
	EXPECT_EQ(0x8u, acting_set(p, 0));

	/* A one-copy pool keeps its only member while it is down. */
	EXPECT_OK(m, REQ({"cmd":"pool-create","name":"r1","size":1,"pgs":16}));
	EXPECT_OK(m, REQ({"cmd":"create","pool":"r1","name":"w","size":512}));
	mapd_daemon_gone(m, 3);
	p = state_pool(&m->st, "r1");
	for (pg = 0; pg < 16; pg++)
		EXPECT_NE(0u, acting_set(p, pg));
}

TEST_F(cl, daemon_out_in_rm)
{
	struct mapd *m = &self->m;
	struct mapd_pool *p;
	uint32_t pg;

	test_register(m, "a", NULL, 100, "ssd");
	test_register(m, "b", NULL, 100, "ssd");
	EXPECT_ERROR(m, REQ({"cmd":"daemon-out","id":7}), "no daemon 7");
	EXPECT_ERROR(m, REQ({"cmd":"daemon-out"}), "missing field \"id\"");
	EXPECT_OK(m, REQ({"cmd":"daemon-out","id":2}));
	p = state_pool(&m->st, "default");
	for (pg = 0; pg < p->pg_count; pg++)
		EXPECT_EQ(1, p->table[pg]);
	EXPECT_OK(m, REQ({"cmd":"daemon-in","id":2}));
	EXPECT_ERROR(m, REQ({"cmd":"daemon-rm","id":2}), "is up");
	state_daemon(&m->st, 2)->last_seen -= 100;
	mapd_tick(m);
	EXPECT_OK(m, REQ({"cmd":"daemon-rm","id":2}));
	EXPECT_EQ(NULL, state_daemon(&m->st, 2));
	p = state_pool(&m->st, "default");
	for (pg = 0; pg < p->pg_count; pg++)
		EXPECT_EQ(1, p->table[pg]);
	/* The state file still loads (no table names the removed daemon). */
	do {
		struct mapd_state st;
		char err[256];

		ASSERT_EQ(0, state_load(&st, self->path, err, sizeof(err)))
			TH_LOG("%s", err);
		state_free(&st);
	} while (0);
}

TEST_F(cl, map_get_decodes)
{
	struct mapd *m = &self->m;
	unsigned char *bin;
	uint32_t *acting;
	const char *b64;
	size_t len;
	json_t *r, *pool;

	test_register(m, "a", NULL, 100, "ssd");
	test_register(m, "b", NULL, 300, "ssd");
	r = test_request(m, REQ({"cmd":"map-get"}));
	ASSERT_TRUE(reply_ok(r));
	EXPECT_EQ(m->st.epoch, json_integer_value(json_object_get(
		json_object_get(r, "map"), "epoch")));
	pool = json_array_get(json_object_get(json_object_get(r, "map"), "pools"), 0);
	b64 = json_string_value(json_object_get(pool, "table"));
	ASSERT_NE(NULL, b64);
	ASSERT_EQ(0, b64_decode(b64, strlen(b64), &bin, &len));
	ASSERT_EQ(MAPD_DEFAULT_PGS * 4, len);
	acting = mapd_acting_table(&m->st, &m->st.pools[0]);
	for (size_t i = 0; i < MAPD_DEFAULT_PGS; i++) {
		uint32_t v;

		memcpy(&v, bin + i * 4, 4);
		EXPECT_EQ(acting[i], le32toh(v));
	}
	free(acting);
	free(bin);
	json_decref(r);

	r = test_request(m, REQ({"cmd":"map-show"}));
	EXPECT_TRUE(reply_ok(r));
	json_decref(r);
}

TEST_F(cl, weighted_fill)
{
	struct mapd *m = &self->m;
	struct mapd_pool *p;
	uint32_t n[4] = { 0 }, k;

	test_register(m, "a", NULL, 300, "ssd");
	test_register(m, "b", NULL, 300, "ssd");
	test_register(m, "c", NULL, 300, "ssd");
	test_register(m, "d", NULL, 100, "ssd");
	EXPECT_OK(m, REQ({"cmd":"pool-create","name":"r3","size":3,"pgs":1024}));
	p = state_pool(&m->st, "r3");
	for (k = 0; k < 1024 * 3; k++)
		n[p->table[k] - 1]++;
	/* The small daemon holds a tenth of the members, within 5%. */
	EXPECT_GE(n[3], 1024 * 3 / 10 * 95 / 100);
	EXPECT_LE(n[3], 1024 * 3 / 10 * 105 / 100);
	EXPECT_LT(p->max_dev, 0.05);
}

TEST_F(cl, state_roundtrip_keeps_tables)
{
	struct mapd *m = &self->m;
	struct mapd_state st;
	char err[256];

	test_register(m, "a", "r1", 100, "ssd");
	test_register(m, "b", NULL, 200, "hdd");
	EXPECT_OK(m, REQ({"cmd":"pool-create","name":"h","size":1,"class":"hdd","pgs":32,"failure_domain":"site"}));
	ASSERT_EQ(0, state_load(&st, self->path, err, sizeof(err))) TH_LOG("%s", err);
	ASSERT_EQ(2, st.npools);
	ASSERT_NE(NULL, st.pools[1].table);
	EXPECT_EQ(0, memcmp(st.pools[1].table, m->st.pools[1].table, 32 * 4));
	EXPECT_EQ(MAPD_FD_SITE, st.pools[1].domain);
	EXPECT_STREQ("hdd", st.pools[1].class);
	EXPECT_STREQ("r1", st.daemons[0].rack);
	EXPECT_TRUE(st.daemons[0].in);
	state_free(&st);
}

TEST(version1_file_loads)
{
	char *dir = test_tmpdir(), path[256], err[256];
	struct mapd m = { 0 };
	FILE *f;

	log_init(false, true);
	snprintf(path, sizeof(path), "%s/state.json", dir);
	f = fopen(path, "w");
	ASSERT_NE(NULL, f);
	fputs("{\"version\":1,\"epoch\":3,\"next_daemon_id\":2,\"next_pool_id\":2,"
	      "\"next_volume_id\":2,\"daemons\":[{\"id\":1,\"host\":\"n\","
	      "\"addr\":\"192.0.2.1\",\"port\":7410,\"capacity\":1000,"
	      "\"class\":\"ssd\",\"up\":true}],\"pools\":[{\"id\":1,"
	      "\"name\":\"default\",\"size\":1,\"pg_count\":128,\"volumes\":"
	      "[{\"id\":1,\"name\":\"vm1\",\"size\":512,\"obj_order\":22}]}]}\n", f);
	fclose(f);
	ASSERT_EQ(0, mapd_init(&m, path));
	EXPECT_EQ(4, m.st.epoch);	/* placed for the first time */
	ASSERT_NE(NULL, m.st.pools[0].table);
	EXPECT_EQ(1, m.st.pools[0].table[0]);
	EXPECT_TRUE(m.st.daemons[0].in);
	mapd_fini(&m);
	(void)err;
	test_rmdir(dir);
	free(dir);
}

TEST(bad_tables_refused)
{
	static const char *const bad[] = {
		/* names daemon 9, which does not exist */
		"\"table\":[9,1]",
		/* daemon 1 twice in a PG */
		"\"table\":[1,1]",
		/* wrong length */
		"\"table\":[1]",
		"\"table\":\"x\"",
	};
	char err[256];
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct mapd_state st;
		json_t *j;
		char doc[1024];

		snprintf(doc, sizeof(doc),
			 "{\"version\":2,\"epoch\":3,\"next_daemon_id\":3,\"next_pool_id\":2,"
			 "\"next_volume_id\":1,\"daemons\":[{\"id\":1,\"host\":\"n\","
			 "\"addr\":\"192.0.2.1\",\"port\":7410,\"capacity\":1000,"
			 "\"class\":\"ssd\",\"up\":true},{\"id\":2,\"host\":\"m\","
			 "\"addr\":\"192.0.2.2\",\"port\":7410,\"capacity\":1000,"
			 "\"class\":\"ssd\",\"up\":true}],\"pools\":[{\"id\":1,"
			 "\"name\":\"default\",\"size\":2,\"pg_count\":1,%s,\"volumes\":[]}]}",
			 bad[i]);
		j = json_loads(doc, 0, NULL);
		ASSERT_NE(NULL, j) TH_LOG("%s", doc);
		EXPECT_EQ(-EINVAL, state_from_json(&st, j, err, sizeof(err)))
			TH_LOG("accepted %s", bad[i]);
		json_decref(j);
	}
}

/* Tables travel as base64: malformed padding must not decode. */
TEST(b64_strict)
{
	static const char *const bad[] = {
		"eA======", "eA==eA==", "e=A=", "eHk", "e===", "eA=x", "e*A=",
	};
	unsigned char *out;
	size_t n, i;
	char *enc;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		EXPECT_EQ(-EINVAL, b64_decode(bad[i], strlen(bad[i]), &out, &n))
			TH_LOG("accepted %s", bad[i]);
		EXPECT_EQ(NULL, out);
	}
	ASSERT_EQ(0, b64_decode("eHk=", 4, &out, &n));
	EXPECT_EQ(2, n);
	EXPECT_EQ(0, memcmp(out, "xy", 2));
	free(out);
	enc = b64_encode("\0\1\2\3\4", 5);
	ASSERT_NE(NULL, enc);
	ASSERT_EQ(0, b64_decode(enc, strlen(enc), &out, &n));
	EXPECT_EQ(5, n);
	EXPECT_EQ(0, memcmp(out, "\0\1\2\3\4", 5));
	free(out);
	free(enc);
}

TEST_HARNESS_MAIN
