// SPDX-License-Identifier: GPL-2.0-only
/*
 * Backfill in shard-mapd: which daemons a PG's primary copies the PG to
 * (mapd_backfill_targets, "backfill" in the map, "+backfilling" states),
 * and "pg-backfilled", which adds one to the PG's acting set.
 */
#include <linux/shard.h>

#include "kselftest_harness.h"
#include "mapd_test.h"
#include "place.h"

MAPD_FIXTURE(bf)

/* Registers a 100 GiB ssd daemon on host h; returns its id. */
static uint32_t reg(struct mapd *m, const char *host)
{
	return test_register(m, host, NULL, 100, "ssd");
}

static void heartbeat(struct mapd *m, uint32_t id)
{
	char line[128];

	snprintf(line, sizeof(line),
		 "{\"cmd\":\"daemon-heartbeat\",\"id\":%u,\"epoch\":0}", id);
	json_decref(test_request(m, line));
}

/* PG pg's acting members that are up, as map-get serves them. */
static uint32_t up_row(struct mapd *m, const struct mapd_pool *p, uint32_t pg,
		       uint32_t *out)
{
	uint32_t *t = mapd_acting_table(&m->st, p);
	uint32_t n = 0;

	while (t && n < p->size && t[pg * p->size + n] != SHARD_DAEMON_NONE) {
		out[n] = t[pg * p->size + n];
		n++;
	}
	free(t);
	return n;
}

/* "[1,2,3]" */
static void ids_text(const uint32_t *ids, uint32_t n, char *buf, size_t len)
{
	size_t at = snprintf(buf, len, "[");
	uint32_t j;

	for (j = 0; j < n; j++)
		at += snprintf(buf + at, len - at, "%s%u", j ? "," : "", ids[j]);
	snprintf(buf + at, len - at, "]");
}

static json_t *backfilled(struct mapd *m, uint32_t pool, uint32_t pg,
			  uint32_t daemon, uint32_t from, const uint32_t *acting,
			  uint32_t n)
{
	char line[512], ids[128];

	ids_text(acting, n, ids, sizeof(ids));
	snprintf(line, sizeof(line),
		 "{\"cmd\":\"pg-backfilled\",\"pool\":%u,\"pg\":%u,\"daemon\":%u,"
		 "\"from\":%u,\"acting\":%s}", pool, pg, daemon, from, ids);
	return test_request(m, line);
}

/* The right report for target t of PG pg: from its primary, its row. */
static bool backfill_ok(struct mapd *m, const char *pool, uint32_t pg,
			uint32_t t)
{
	struct mapd_pool *p = state_pool(&m->st, pool);
	uint32_t row[SHARD_MAX_WIDTH], n = up_row(m, p, pg, row);
	json_t *r = backfilled(m, p->id, pg, t, row[0], row, n);
	bool ok = reply_ok(r) &&
		  json_integer_value(json_object_get(r, "epoch")) ==
		  (json_int_t)m->st.epoch;

	if (!reply_ok(r))
		fprintf(stderr, "# pg-backfilled %s.%x %u: %s\n", pool, pg, t,
			reply_error(r));
	json_decref(r);
	return ok;
}

static bool in_row(const uint32_t *row, uint32_t n, uint32_t id)
{
	uint32_t j;

	for (j = 0; j < n; j++)
		if (row[j] == id)
			return true;
	return false;
}

/* Pool name's object in the map (map-get or map-show); a reference. */
static json_t *map_pool(struct mapd *m, const char *cmd, const char *name)
{
	char line[64];
	json_t *r, *p, *found = NULL;
	size_t i;

	snprintf(line, sizeof(line), "{\"cmd\":\"%s\"}", cmd);
	r = test_request(m, line);
	json_array_foreach(json_object_get(json_object_get(r, "map"), "pools"),
			   i, p)
		if (!strcmp(json_string_value(json_object_get(p, "name")), name))
			found = json_incref(p);
	json_decref(r);
	return found;
}

static const char *pg_state(struct mapd *m, const char *pool, uint32_t pg)
{
	return mapd_pg_state(&m->st, state_pool(&m->st, pool), pg);
}

/* Three daemons on hosts a, b, c; pool r3 (3 copies, 16 PGs) with a
 * volume; daemon 1 went down and came back: it left every acting set. */
static void setup_r3_back(struct __test_metadata *_metadata, struct mapd *m)
{
	struct mapd_pool *p;
	uint32_t pg, row[8];

	ASSERT_EQ(1, reg(m, "a"));
	ASSERT_EQ(2, reg(m, "b"));
	ASSERT_EQ(3, reg(m, "c"));
	EXPECT_OK(m, REQ({"cmd":"pool-create","name":"r3","size":3,"min_size":2,"pgs":16}));
	EXPECT_OK(m, REQ({"cmd":"create","pool":"r3","name":"v","size":512}));
	p = state_pool(&m->st, "r3");
	for (pg = 0; pg < 16; pg++)
		ASSERT_EQ(0u, mapd_backfill_targets(&m->st, p, pg, row));
	mapd_daemon_gone(m, 1);
	/* Down: nothing to copy to. */
	p = state_pool(&m->st, "r3");
	for (pg = 0; pg < 16; pg++)
		ASSERT_EQ(0u, mapd_backfill_targets(&m->st, p, pg, row));
	heartbeat(m, 1);
	ASSERT_TRUE(state_daemon(&m->st, 1)->up);
}

TEST_F(bf, returning_member_is_a_target)
{
	struct mapd *m = &self->m;
	uint32_t pg, row[8], n;
	struct mapd_pool *p;
	json_t *jp, *bf, *pair;
	size_t i;

	setup_r3_back(_metadata, m);
	p = state_pool(&m->st, "r3");
	for (pg = 0; pg < 16; pg++) {
		n = mapd_backfill_targets(&m->st, p, pg, row);
		ASSERT_EQ(1u, n);
		EXPECT_EQ(1u, row[0]);
		EXPECT_STREQ("active+undersized+remapped+backfilling",
			     pg_state(m, "r3", pg));
	}
	/* Out of range: none. */
	EXPECT_EQ(0u, mapd_backfill_targets(&m->st, p, 16, row));

	jp = map_pool(m, "map-get", "r3");
	ASSERT_NE(NULL, jp);
	bf = json_object_get(jp, "backfill");
	ASSERT_TRUE(json_is_array(bf));
	ASSERT_EQ(16, json_array_size(bf));
	json_array_foreach(bf, i, pair) {
		ASSERT_EQ(2, json_array_size(pair));
		EXPECT_EQ((json_int_t)i, json_integer_value(json_array_get(pair, 0)));
		EXPECT_EQ(1, json_integer_value(json_array_get(pair, 1)));
	}
	json_decref(jp);
	jp = map_pool(m, "map-show", "r3");
	EXPECT_EQ(16, json_array_size(json_object_get(jp, "backfill")));
	json_decref(jp);
	/* The default pool has no volumes: nothing to copy, but the key. */
	jp = map_pool(m, "map-get", "default");
	ASSERT_NE(NULL, jp);
	bf = json_object_get(jp, "backfill");
	EXPECT_TRUE(json_is_array(bf));
	EXPECT_EQ(0, json_array_size(bf));
	json_decref(jp);

	jp = test_request(m, REQ({"cmd":"pool-ls"}));
	json_array_foreach(json_object_get(jp, "pools"), i, bf)
		if (!strcmp(json_string_value(json_object_get(bf, "name")), "r3"))
			EXPECT_EQ(16, json_integer_value(json_object_get(
				json_object_get(bf, "pg_states"),
				"active+undersized+remapped+backfilling")));
	json_decref(jp);
}

TEST_F(bf, backfilled_member_joins)
{
	struct mapd *m = &self->m;
	uint32_t pg, bpg, row[8], n, before[8], nbefore;
	struct mapd_pool *p;
	struct mapd_state st;
	uint64_t epoch;
	char err[256];
	json_t *jp;

	setup_r3_back(_metadata, m);
	p = state_pool(&m->st, "r3");
	/* A PG that placement gives to daemon 1 as its primary. */
	for (bpg = 0; bpg < 16 && p->table[bpg * 3] != 1; bpg++)
		;
	ASSERT_LT(bpg, 16);
	nbefore = up_row(m, p, bpg, before);
	ASSERT_EQ(2u, nbefore);
	epoch = m->st.epoch;
	ASSERT_TRUE(backfill_ok(m, "r3", bpg, 1));
	EXPECT_EQ(epoch + 1, m->st.epoch);
	EXPECT_EQ(m->st.epoch, self->fk.epoch);	/* the kernel has it */
	p = state_pool(&m->st, "r3");
	n = up_row(m, p, bpg, row);
	ASSERT_EQ(3u, n);
	EXPECT_TRUE(in_row(row, n, 1));
	/* The PG has its placement members again, in placement order:
	 * daemon 1 is its primary again. */
	EXPECT_EQ(1u, row[0]);
	EXPECT_EQ(0, memcmp(&p->acting[bpg * 3], &p->table[bpg * 3],
			    3 * sizeof(*row)));
	EXPECT_STREQ("active+clean", pg_state(m, "r3", bpg));
	EXPECT_EQ(0u, mapd_backfill_targets(&m->st, p, bpg, row));
	for (pg = 0; pg < 16; pg++) {
		if (pg == bpg)
			continue;
		n = mapd_backfill_targets(&m->st, p, pg, row);
		EXPECT_EQ(1u, n);
		EXPECT_EQ(1u, row[0]);
	}
	jp = map_pool(m, "map-get", "r3");
	EXPECT_EQ(15, json_array_size(json_object_get(jp, "backfill")));
	json_decref(jp);
	/* Saved. */
	ASSERT_EQ(0, state_load(&st, self->path, err, sizeof(err))) TH_LOG("%s", err);
	EXPECT_EQ(0, memcmp(&state_pool(&st, "r3")->acting[bpg * 3],
			    &p->acting[bpg * 3], 3 * sizeof(*row)));
	state_free(&st);

	/* The same report again: the row it names is gone. */
	jp = backfilled(m, p->id, bpg, 1, before[0], before, nbefore);
	EXPECT_FALSE(reply_ok(jp));
	EXPECT_NE(NULL, strstr(reply_error(jp), "the map changed"));
	json_decref(jp);

	for (pg = 0; pg < 16; pg++)
		if (pg != bpg)
			ASSERT_TRUE(backfill_ok(m, "r3", pg, 1)) TH_LOG("pg %u", pg);
	p = state_pool(&m->st, "r3");
	for (pg = 0; pg < 16; pg++)
		EXPECT_STREQ("active+clean", pg_state(m, "r3", pg));
	jp = map_pool(m, "map-get", "r3");
	EXPECT_EQ(0, json_array_size(json_object_get(jp, "backfill")));
	json_decref(jp);
}

/* Two members came back: the first one done is appended, the second
 * completes the row, which then takes placement order. */
TEST_F(bf, two_targets)
{
	struct mapd *m = &self->m;
	uint32_t row[8], t[8], n, nt;
	struct mapd_pool *p;

	ASSERT_EQ(1, reg(m, "a"));
	ASSERT_EQ(2, reg(m, "b"));
	ASSERT_EQ(3, reg(m, "c"));
	EXPECT_OK(m, REQ({"cmd":"pool-create","name":"r3","size":3,"min_size":2,"pgs":16}));
	EXPECT_OK(m, REQ({"cmd":"create","pool":"r3","name":"v","size":512}));
	mapd_daemon_gone(m, 1);
	mapd_daemon_gone(m, 2);
	heartbeat(m, 1);
	heartbeat(m, 2);
	p = state_pool(&m->st, "r3");
	n = up_row(m, p, 0, row);
	ASSERT_EQ(1u, n);
	EXPECT_EQ(3u, row[0]);
	/* Below min_size: not "active", so no "+backfilling" shown. */
	EXPECT_STREQ("inactive+remapped", pg_state(m, "r3", 0));
	nt = mapd_backfill_targets(&m->st, p, 0, t);
	ASSERT_EQ(2u, nt);
	/* In placement order. */
	do {
		uint32_t want[3], k = 0, j;

		for (j = 0; j < 3; j++)
			if (p->table[j] != 3)
				want[k++] = p->table[j];
		ASSERT_EQ(2u, k);
		EXPECT_EQ(want[0], t[0]);
		EXPECT_EQ(want[1], t[1]);
	} while (0);

	ASSERT_TRUE(backfill_ok(m, "r3", 0, t[1]));
	p = state_pool(&m->st, "r3");
	EXPECT_EQ(3u, p->acting[0]);
	EXPECT_EQ(t[1], p->acting[1]);
	EXPECT_EQ(SHARD_DAEMON_NONE, p->acting[2]);
	EXPECT_STREQ("active+undersized+remapped+backfilling",
		     pg_state(m, "r3", 0));
	nt = mapd_backfill_targets(&m->st, p, 0, row);
	ASSERT_EQ(1u, nt);
	EXPECT_EQ(t[0], row[0]);
	ASSERT_TRUE(backfill_ok(m, "r3", 0, t[0]));
	p = state_pool(&m->st, "r3");
	EXPECT_EQ(0, memcmp(p->acting, p->table, 3 * sizeof(*row)));
	EXPECT_STREQ("active+clean", pg_state(m, "r3", 0));
}

/* Many PGs in one report: one epoch; bad entries refused, listed. */
TEST_F(bf, many_pgs_one_epoch)
{
	struct mapd *m = &self->m;
	struct mapd_pool *p;
	uint32_t pg, row[8], n, primary = 0;
	char line[4096], ids[64];
	size_t at;
	uint64_t epoch;
	json_t *r, *refused;

	setup_r3_back(_metadata, m);
	p = state_pool(&m->st, "r3");
	/* Every PG whose primary is that of PG 0. */
	at = 0;
	for (pg = 0; pg < 16; pg++) {
		n = up_row(m, p, pg, row);
		if (!pg)
			primary = row[0];
		if (row[0] != primary)
			continue;
		ids_text(row, n, ids, sizeof(ids));
		at += snprintf(line + at, sizeof(line) - at,
			       "%s{\"pg\":%u,\"acting\":%s}", at ? "," : "", pg,
			       ids);
	}
	/* A wrong row and a bad entry. */
	at += snprintf(line + at, sizeof(line) - at,
		       ",{\"pg\":1,\"acting\":[9]},{\"pgg\":2}");
	{
		char req[4400];

		snprintf(req, sizeof(req),
			 "{\"cmd\":\"pg-backfilled\",\"pool\":%u,\"daemon\":1,"
			 "\"from\":%u,\"pgs\":[%s]}", p->id, primary, line);
		epoch = m->st.epoch;
		r = test_request(m, req);
	}
	ASSERT_TRUE(reply_ok(r));
	EXPECT_EQ(epoch + 1, m->st.epoch);
	refused = json_object_get(r, "refused");
	ASSERT_EQ(2, json_array_size(refused));
	json_decref(r);
	p = state_pool(&m->st, "r3");
	for (pg = 0; pg < 16; pg++) {
		n = up_row(m, p, pg, row);
		if (in_row(row, n, 1))
			continue;
		/* Not reported: still a target. */
		EXPECT_EQ(1u, mapd_backfill_targets(&m->st, p, pg, row));
	}
	EXPECT_ERROR(m, REQ({"cmd":"pg-backfilled","pool":2,"daemon":1,"from":2,"pgs":{}}),
		     "field \"pgs\" must be an array");
}

TEST_F(bf, refusals)
{
	struct mapd *m = &self->m;
	uint32_t row[8], bad[8], n;
	struct mapd_pool *p;
	uint64_t epoch;
	uint32_t *acting;
	json_t *r;

	setup_r3_back(_metadata, m);
	p = state_pool(&m->st, "r3");
	n = up_row(m, p, 3, row);
	ASSERT_EQ(2u, n);
	ASSERT_EQ(2u, p->id);
	epoch = m->st.epoch;
	acting = malloc(16 * 3 * sizeof(*acting));
	ASSERT_NE(NULL, acting);
	memcpy(acting, p->acting, 16 * 3 * sizeof(*acting));

#define EXPECT_REFUSED(r, what) do {					\
	EXPECT_FALSE(reply_ok(r));					\
	EXPECT_NE(NULL, strstr(reply_error(r), what))			\
		TH_LOG("-> \"%s\"", reply_error(r));			\
	json_decref(r);							\
} while (0)

	r = backfilled(m, 99, 3, 1, row[0], row, n);
	EXPECT_REFUSED(r, "no pool with id 99");
	r = backfilled(m, 2, 16, 1, row[0], row, n);
	EXPECT_REFUSED(r, "no PG 16");
	/* Order matters. */
	bad[0] = row[1];
	bad[1] = row[0];
	r = backfilled(m, 2, 3, 1, bad[0], bad, 2);
	EXPECT_REFUSED(r, "the map changed");
	/* A member missing, one too many, another PG's ids. */
	r = backfilled(m, 2, 3, 1, row[0], row, 1);
	EXPECT_REFUSED(r, "the map changed");
	bad[0] = row[0];
	bad[1] = row[1];
	bad[2] = 1;
	r = backfilled(m, 2, 3, 1, row[0], bad, 3);
	EXPECT_REFUSED(r, "the map changed");
	bad[3] = 7;
	r = backfilled(m, 2, 3, 1, row[0], bad, 4);
	EXPECT_REFUSED(r, "too long");
	bad[1] = 1;
	r = backfilled(m, 2, 3, 1, row[0], bad, 2);
	EXPECT_REFUSED(r, "the map changed");
	/* Not from the primary. */
	r = backfilled(m, 2, 3, 1, row[1], row, n);
	EXPECT_REFUSED(r, "is not the primary");
	r = backfilled(m, 2, 3, 1, 1, row, n);
	EXPECT_REFUSED(r, "is not the primary");
	/* Not a target: a member already, unknown, the primary itself. */
	r = backfilled(m, 2, 3, row[1], row[0], row, n);
	EXPECT_REFUSED(r, "is not a backfill target of PG 2.3 (its targets: [1])");
	r = backfilled(m, 2, 3, 42, row[0], row, n);
	EXPECT_REFUSED(r, "is not a backfill target");
	/* A pool without volumes has no targets. */
	do {
		struct mapd_pool *d = state_pool(&m->st, "default");
		uint32_t drow[8], dn = up_row(m, d, 0, drow);

		ASSERT_EQ(1u, dn);
		r = backfilled(m, d->id, 0, drow[0] == 1 ? 2 : 1, drow[0],
			       drow, dn);
		EXPECT_REFUSED(r, "is not a backfill target");
	} while (0);

	/* Missing and mistyped fields. */
	EXPECT_ERROR(m, REQ({"cmd":"pg-backfilled","pg":3,"daemon":1,"from":2,"acting":[2,3]}),
		     "missing field \"pool\"");
	EXPECT_ERROR(m, REQ({"cmd":"pg-backfilled","pool":2,"daemon":1,"from":2,"acting":[2,3]}),
		     "missing field \"pg\"");
	EXPECT_ERROR(m, REQ({"cmd":"pg-backfilled","pool":2,"pg":3,"from":2,"acting":[2,3]}),
		     "missing field \"daemon\"");
	EXPECT_ERROR(m, REQ({"cmd":"pg-backfilled","pool":2,"pg":3,"daemon":1,"acting":[2,3]}),
		     "missing field \"from\"");
	EXPECT_ERROR(m, REQ({"cmd":"pg-backfilled","pool":2,"pg":3,"daemon":1,"from":2}),
		     "missing field \"acting\"");
	EXPECT_ERROR(m, REQ({"cmd":"pg-backfilled","pool":"r3","pg":3,"daemon":1,"from":2,"acting":[2,3]}),
		     "field \"pool\" must be a non-negative integer");
	EXPECT_ERROR(m, REQ({"cmd":"pg-backfilled","pool":2,"pg":-1,"daemon":1,"from":2,"acting":[2,3]}),
		     "field \"pg\" must be a non-negative integer");
	EXPECT_ERROR(m, REQ({"cmd":"pg-backfilled","pool":2,"pg":3,"daemon":"1","from":2,"acting":[2,3]}),
		     "field \"daemon\" must be a non-negative integer");
	EXPECT_ERROR(m, REQ({"cmd":"pg-backfilled","pool":2,"pg":3,"daemon":1,"from":2.0,"acting":[2,3]}),
		     "field \"from\" must be a non-negative integer");
	EXPECT_ERROR(m, REQ({"cmd":"pg-backfilled","pool":2,"pg":3,"daemon":1,"from":2,"acting":"2,3"}),
		     "field \"acting\" must be a non-empty array of daemon ids");
	EXPECT_ERROR(m, REQ({"cmd":"pg-backfilled","pool":2,"pg":3,"daemon":1,"from":2,"acting":[]}),
		     "field \"acting\" must be a non-empty array of daemon ids");
	EXPECT_ERROR(m, REQ({"cmd":"pg-backfilled","pool":2,"pg":3,"daemon":1,"from":2,"acting":[2,null]}),
		     "field \"acting\" must be a non-empty array of daemon ids");
	EXPECT_ERROR(m, REQ({"cmd":"pg-backfilled","pool":2,"pg":3,"daemon":1,"from":2,"acting":[2,-3]}),
		     "field \"acting\" must be a non-empty array of daemon ids");
	EXPECT_ERROR(m, REQ({"cmd":"pg-backfilled","pool":2,"pg":3,"daemon":1,"from":2,"acting":[2,4294967295]}),
		     "field \"acting\" must be a non-empty array of daemon ids");
	EXPECT_ERROR(m, REQ({"cmd":"pg-backfilled","pool":2,"pg":3,"daemon":1,"from":2,"acting":[[2],3]}),
		     "field \"acting\" must be a non-empty array of daemon ids");
	EXPECT_ERROR(m, REQ({"cmd":"pg-backfilled","pool":4294967298,"pg":3,"daemon":1,"from":2,"acting":[2,3]}),
		     "no pool with id 4294967298");

	/* Cluster mode: see backfill_etcd_test.c. */

	/* Nothing changed by any of it. */
	EXPECT_EQ(epoch, m->st.epoch);
	p = state_pool(&m->st, "r3");
	EXPECT_EQ(0, memcmp(acting, p->acting, 16 * 3 * sizeof(*acting)));
	free(acting);
	/* And the right one still goes through. */
	EXPECT_TRUE(backfill_ok(m, "r3", 3, 1));
#undef EXPECT_REFUSED
}

/* A daemon marked out: its PGs' new placement members are targets;
 * once backfilled the PGs are served by their placement. */
TEST_F(bf, daemon_out_moves_to_target)
{
	struct mapd *m = &self->m;
	uint32_t pg, row[8], t[8], n, nt, moved = 0;
	struct mapd_pool *p;
	json_t *jp;

	ASSERT_EQ(1, reg(m, "a"));
	ASSERT_EQ(2, reg(m, "b"));
	ASSERT_EQ(3, reg(m, "c"));
	EXPECT_OK(m, REQ({"cmd":"pool-create","name":"r2","size":2,"min_size":1,"pgs":32}));
	EXPECT_OK(m, REQ({"cmd":"create","pool":"r2","name":"v","size":512}));
	EXPECT_OK(m, REQ({"cmd":"daemon-out","id":3}));
	p = state_pool(&m->st, "r2");
	for (pg = 0; pg < 32; pg++) {
		n = up_row(m, p, pg, row);
		nt = mapd_backfill_targets(&m->st, p, pg, t);
		EXPECT_FALSE(in_row(row, n, 3));
		EXPECT_FALSE(in_row(&p->table[pg * 2], 2, 3));
		if (n == 2) {
			EXPECT_EQ(0u, nt);
			EXPECT_STREQ("active+clean", pg_state(m, "r2", pg));
			continue;
		}
		/* It had 3: the other of 1, 2 joins. */
		moved++;
		ASSERT_EQ(1u, n);
		ASSERT_EQ(1u, nt);
		EXPECT_EQ(row[0] == 1 ? 2u : 1u, t[0]);
		EXPECT_STREQ("active+undersized+remapped+backfilling",
			     pg_state(m, "r2", pg));
		ASSERT_TRUE(backfill_ok(m, "r2", pg, t[0]));
		p = state_pool(&m->st, "r2");
		EXPECT_EQ(0, memcmp(&p->acting[pg * 2], &p->table[pg * 2],
				    2 * sizeof(*row)));
		EXPECT_STREQ("active+clean", pg_state(m, "r2", pg));
	}
	EXPECT_GT(moved, 0);
	jp = map_pool(m, "map-get", "r2");
	EXPECT_EQ(0, json_array_size(json_object_get(jp, "backfill")));
	json_decref(jp);
}

/* One copy: a new daemon takes some PGs; each stays on its old daemon
 * (the only copy) until backfilled, then moves whole. */
TEST_F(bf, one_copy_pool_moves_to_new_daemon)
{
	struct mapd *m = &self->m;
	uint32_t pg, t[8], moved = 0, old;
	struct mapd_pool *p;

	ASSERT_EQ(1, reg(m, "a"));
	ASSERT_EQ(2, reg(m, "b"));
	EXPECT_OK(m, REQ({"cmd":"pool-create","name":"r1","size":1,"pgs":32}));
	EXPECT_OK(m, REQ({"cmd":"create","pool":"r1","name":"v","size":512}));
	ASSERT_EQ(3, reg(m, "c"));
	p = state_pool(&m->st, "r1");
	for (pg = 0; pg < 32; pg++) {
		if (p->table[pg] != 3) {
			EXPECT_EQ(p->table[pg], p->acting[pg]);
			EXPECT_EQ(0u, mapd_backfill_targets(&m->st, p, pg, t));
			continue;
		}
		moved++;
		old = p->acting[pg];
		EXPECT_TRUE(old == 1 || old == 2);
		ASSERT_EQ(1u, mapd_backfill_targets(&m->st, p, pg, t));
		EXPECT_EQ(3u, t[0]);
		EXPECT_STREQ("active+remapped+backfilling", pg_state(m, "r1", pg));
		ASSERT_TRUE(backfill_ok(m, "r1", pg, 3));
		p = state_pool(&m->st, "r1");
		EXPECT_EQ(3u, p->acting[pg]);
		EXPECT_STREQ("active+clean", pg_state(m, "r1", pg));
		EXPECT_EQ(0u, mapd_backfill_targets(&m->st, p, pg, t));
	}
	EXPECT_GT(moved, 0);
	/* The old copy down: nobody to copy from, no target. */
	mapd_daemon_gone(m, 1);
	p = state_pool(&m->st, "r1");
	for (pg = 0; pg < 32; pg++)
		if (p->acting[pg] == 1)
			EXPECT_EQ(0u, mapd_backfill_targets(&m->st, p, pg, t));
}

/* A full acting row whose placement moved: the new member replaces the
 * one placement no longer wants. */
TEST_F(bf, full_row_swaps_member)
{
	struct mapd *m = &self->m;
	uint32_t pg, row[8], t[8], n, moved = 0;
	struct mapd_pool *p;

	ASSERT_EQ(1, reg(m, "a"));
	ASSERT_EQ(2, reg(m, "b"));
	ASSERT_EQ(3, reg(m, "c"));
	EXPECT_OK(m, REQ({"cmd":"pool-create","name":"r3","size":3,"min_size":2,"pgs":32}));
	EXPECT_OK(m, REQ({"cmd":"create","pool":"r3","name":"v","size":512}));
	ASSERT_EQ(4, reg(m, "d"));
	p = state_pool(&m->st, "r3");
	for (pg = 0; pg < 32; pg++) {
		n = up_row(m, p, pg, row);
		ASSERT_EQ(3u, n);
		if (!in_row(&p->table[pg * 3], 3, 4)) {
			EXPECT_EQ(0u, mapd_backfill_targets(&m->st, p, pg, t));
			continue;
		}
		moved++;
		EXPECT_FALSE(in_row(row, n, 4));
		ASSERT_EQ(1u, mapd_backfill_targets(&m->st, p, pg, t));
		EXPECT_EQ(4u, t[0]);
		EXPECT_STREQ("active+remapped+backfilling", pg_state(m, "r3", pg));
		ASSERT_TRUE(backfill_ok(m, "r3", pg, 4));
		p = state_pool(&m->st, "r3");
		EXPECT_EQ(0, memcmp(&p->acting[pg * 3], &p->table[pg * 3],
				    3 * sizeof(*row)));
		EXPECT_STREQ("active+clean", pg_state(m, "r3", pg));
	}
	EXPECT_GT(moved, 0);
}

/*
 * Placement that reorders a PG's members (a daemon joining another
 * domain can): the acting row, holding the same members, takes the new
 * order at once. Nothing is to be copied, so it would otherwise stay
 * remapped for good.
 */
TEST_F(bf, reordered_members_take_placement_order)
{
	struct mapd *m = &self->m;
	struct mapd_pool *p;
	uint32_t *a, t[8];

	ASSERT_EQ(1, reg(m, "a"));
	ASSERT_EQ(2, reg(m, "b"));
	ASSERT_EQ(3, reg(m, "c"));
	EXPECT_OK(m, REQ({"cmd":"pool-create","name":"r3","size":3,"min_size":2,"pgs":8}));
	EXPECT_OK(m, REQ({"cmd":"create","pool":"r3","name":"v","size":512}));
	p = state_pool(&m->st, "r3");
	a = &p->acting[3];		/* PG 1 */
	a[0] = p->table[4];
	a[1] = p->table[5];
	a[2] = p->table[3];
	EXPECT_STREQ("active+remapped", pg_state(m, "r3", 1));
	EXPECT_EQ(0u, mapd_backfill_targets(&m->st, p, 1, t));
	ASSERT_LE(0, mapd_place(&m->st));
	p = state_pool(&m->st, "r3");
	EXPECT_EQ(0, memcmp(&p->acting[3], &p->table[3], 3 * sizeof(*a)));
	EXPECT_STREQ("active+clean", pg_state(m, "r3", 1));

	/* A member down: the two left are kept in their order, undersized. */
	a = &p->acting[6];		/* PG 2 */
	a[0] = p->table[7];
	a[1] = p->table[6];
	mapd_daemon_gone(m, p->table[8]);
	p = state_pool(&m->st, "r3");
	EXPECT_EQ(p->table[7], p->acting[6]);
	EXPECT_EQ(p->table[6], p->acting[7]);
	EXPECT_EQ(SHARD_DAEMON_NONE, p->acting[8]);
}

/*
 * Cluster mode: the targets are those of the leader's map document,
 * still placed and not acting; nonsense in it is left out. NULL derives
 * them again.
 */
TEST_F(bf, published_targets)
{
	struct mapd *m = &self->m;
	uint32_t pg, row[8], acting0;
	struct mapd_pool *p;
	json_t *map;

	setup_r3_back(_metadata, m);
	p = state_pool(&m->st, "r3");
	ASSERT_EQ(2u, p->id);
	acting0 = p->acting[3 * 3];	/* PG 3's first member, acting */
	map = json_pack("{s:[{s:i, s:[[i,i],[i,i],[s,i],[i,i],[i,i]]}]}",
			"pools", "id", 2, "backfill", 0, 1, 3, acting0, "x", 1,
			5, 99999999, 7, -1);
	ASSERT_NE(NULL, map);
	ASSERT_EQ(0, mapd_backfill_publish(map));
	json_decref(map);
	ASSERT_EQ(1u, mapd_backfill_targets(&m->st, p, 0, row));
	EXPECT_EQ(1u, row[0]);
	for (pg = 1; pg < 16; pg++)
		EXPECT_EQ(0u, mapd_backfill_targets(&m->st, p, pg, row))
			TH_LOG("PG %u", pg);
	EXPECT_STREQ("active+undersized+remapped",
		     mapd_pg_state(&m->st, p, 1));
	/* Derived as before, whatever was published. */
	EXPECT_EQ(1u, mapd_backfill_derive(&m->st, p, 1, row));
	ASSERT_EQ(0, mapd_backfill_publish(NULL));
	for (pg = 0; pg < 16; pg++)
		EXPECT_EQ(1u, mapd_backfill_targets(&m->st, p, pg, row));
}

TEST_HARNESS_MAIN
