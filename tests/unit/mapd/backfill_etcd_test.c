// SPDX-License-Identifier: GPL-2.0-only
/*
 * Backfill in cluster mode against a real etcd: two sanitized shard-mapd
 * processes (--no-kernel, --grace 2), one fake daemon heartbeating to
 * each. The leader names the backfill targets in the map document, so
 * both mapds serve the same; "pg-backfilled" sent to the mapd that does
 * not lead goes to the leader through etcd (backfill/REQ, answered in
 * backfilled/REQ), which checks and applies it as a mapd alone does; a
 * leader that dies while a request waits leaves it answered with an
 * error, and the next leader answers what it finds.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "mapd_proc.h"

#define CLUSTER		"bf"
#define GRACE		2.0
#define NMAPDS		2
#define PGS		8
/* Longer than a mapd waits for its leader. */
#define ASK_MS		10000

FIXTURE(cbf) {
	struct mapd_env env;
	struct mapd_proc m[NMAPDS];
	size_t n;
	struct hb_set hb;
	int leader, other;	/* indexes into m */
	uint32_t dl, df;	/* daemons: the leader's host's, the other's */
	uint32_t pool;		/* r2's id */
};

FIXTURE_SETUP(cbf)
{
	char err[256] = "";

	signal(SIGPIPE, SIG_IGN);
	if (!test_etcd_bin() || !mapd_proc_bin() ||
	    !mapd_test_selected(_metadata->name))
		return;		/* each test skips */
	ASSERT_EQ(0, mapd_env_start(&self->env, "/tmp/mapd-backfill.XXXXXX",
				    &self->hb, err, sizeof(err)))
		TH_LOG("%s", err);
}

FIXTURE_TEARDOWN(cbf)
{
	EXPECT_EQ(0, mapd_env_finish(&self->env, &self->hb, self->m, self->n,
				     NULL, !_metadata->passed));
}

/* Pool name in mapd p's map (map-show, ids as numbers): a reference. */
static json_t *pool_of(struct mapd_proc *p, const char *name,
		       uint64_t *epoch)
{
	json_t *r = mapd_req(p, "{\"cmd\":\"map-show\"}"), *map, *e;
	json_t *found = NULL;
	size_t i;

	map = json_object_get(r, "map");
	if (epoch)
		*epoch = json_integer_value(json_object_get(map, "epoch"));
	json_array_foreach(json_object_get(map, "pools"), i, e)
		if (!strcmp(json_string_value(json_object_get(e, "name")) ?: "",
			    name))
			found = json_incref(e);
	json_decref(r);
	return found;
}

/* PG pg's acting members (up) as "[a,b]". */
static void acting_of(json_t *pool, uint32_t pg, char *buf, size_t len)
{
	json_t *a = json_object_get(pool, "acting");
	size_t w = json_integer_value(json_object_get(pool, "width")), j;
	size_t at = snprintf(buf, len, "[");
	bool first = true;

	for (j = 0; j < w; j++) {
		json_t *v = json_array_get(a, pg * w + j);

		if (!json_is_integer(v))
			continue;
		at += snprintf(buf + at, at < len ? len - at : 0, "%s%lld",
			       first ? "" : ",",
			       (long long)json_integer_value(v));
		first = false;
	}
	snprintf(buf + at, at < len ? len - at : 0, "]");
}

/*
 * Both mapds serve the same map of r2 (epoch, acting, backfill), past
 * min_epoch, with exactly nbf backfill pairs, each naming daemon t.
 */
static bool same_backfill(FIXTURE_DATA(cbf) *self, uint64_t min_epoch,
			  size_t nbf, uint32_t t, uint64_t *epoch)
{
	json_t *p[NMAPDS] = { NULL }, *pair;
	uint64_t e[NMAPDS];
	bool same = true;
	size_t i, k;

	for (i = 0; i < NMAPDS; i++) {
		p[i] = pool_of(&self->m[i], "r2", &e[i]);
		if (!p[i] || e[i] <= min_epoch || e[i] != e[0] ||
		    !json_equal(p[i], p[0]) ||
		    json_array_size(json_object_get(p[i], "backfill")) != nbf)
			same = false;
	}
	json_array_foreach(json_object_get(p[0], "backfill"), k, pair)
		if (json_integer_value(json_array_get(pair, 1)) != t)
			same = false;
	for (i = 0; i < NMAPDS; i++)
		json_decref(p[i]);
	if (same && epoch)
		*epoch = e[0];
	return same;
}

static bool up_on_both(FIXTURE_DATA(cbf) *self, uint32_t id, int up)
{
	size_t i;

	for (i = 0; i < NMAPDS; i++)
		if (self->m[i].pid && mapd_daemon_up(&self->m[i], id) != up)
			return false;
	return true;
}

/*
 * Two mapds, a daemon on each, pool r2 (2 copies on 2 hosts, PGS PGs)
 * with a volume, placed on both mapds.
 */
static void bring_up(struct __test_metadata *_metadata,
		     FIXTURE_DATA(cbf) *self)
{
	json_t *r, *p;

	ASSERT_EQ(0, mapd_procs_start(self->m, NMAPDS, &self->n, &self->env,
				      CLUSTER, GRACE));
	ASSERT_LE(0, WAIT_FOR(10000, (self->leader =
		mapd_leader_index(self->m, self->n)) >= 0));
	self->other = !self->leader;
	self->dl = mapd_register_daemon(&self->hb, &self->m[self->leader],
					7000);
	self->df = mapd_register_daemon(&self->hb, &self->m[self->other],
					7001);
	ASSERT_NE(0, self->dl);
	ASSERT_NE(0, self->df);
	ASSERT_LE(0, WAIT_FOR(10000, up_on_both(self, self->dl, 1) &&
				     up_on_both(self, self->df, 1)));
	r = mapd_req(&self->m[self->other],
		     "{\"cmd\":\"pool-create\",\"name\":\"r2\",\"size\":2,"
		     "\"min_size\":1,\"pgs\":8}");
	ASSERT_TRUE(mapd_ok(r)) TH_LOG("pool-create: %s", mapd_error(r));
	json_decref(r);
	r = mapd_req(&self->m[self->other],
		     "{\"cmd\":\"create\",\"pool\":\"r2\",\"name\":\"v\","
		     "\"size\":512}");
	ASSERT_TRUE(mapd_ok(r)) TH_LOG("create: %s", mapd_error(r));
	json_decref(r);
	/* Placed on both hosts everywhere, nothing to backfill. */
	ASSERT_LE(0, WAIT_FOR(10000, same_backfill(self, 0, 0, 0, NULL)));
	p = pool_of(&self->m[self->leader], "r2", NULL);
	ASSERT_NE(NULL, p);
	self->pool = json_integer_value(json_object_get(p, "id"));
	json_decref(p);
	TH_LOG("leader %s (daemon %u), other %s (daemon %u), pool %u",
	       self->m[self->leader].name, self->dl,
	       self->m[self->other].name, self->df, self->pool);
}

static json_t *ask(struct mapd_proc *p, const char *req, long *took)
{
	long t0 = test_now_ms();
	json_t *r;
	int err;

	r = mapd_call(p->sock, req, ASK_MS, &err);
	if (took)
		*took = test_now_ms() - t0;
	return r;
}

TEST_F_TIMEOUT(cbf, backfill_through_the_other_mapd, 90)
{
	char req[512], want[256], row[64];
	uint64_t e0, e1, e2;
	json_t *r, *p, *ref;
	uint32_t pg;

	MAPD_NEED_ENV(&self->env);
	bring_up(_metadata, self);

	/* The daemon on the leader's host goes down, then comes back:
	 * both mapds name it as every PG's backfill target. */
	hb_enable(&self->hb, self->dl, false);
	ASSERT_LE(0, WAIT_FOR(10000, up_on_both(self, self->dl, 0)));
	ASSERT_LE(0, WAIT_FOR(10000, same_backfill(self, 0, 0, 0, &e0)));
	hb_enable(&self->hb, self->dl, true);
	ASSERT_LE(0, WAIT_FOR(10000, same_backfill(self, e0, PGS, self->dl,
						   &e0)));
	p = pool_of(&self->m[self->other], "r2", NULL);
	for (pg = 0; pg < PGS; pg++) {
		acting_of(p, pg, row, sizeof(row));
		snprintf(want, sizeof(want), "[%u]", self->df);
		EXPECT_STREQ(want, row);
	}
	json_decref(p);

	/* To the mapd that does not lead: PGs 0..3 join, PG 4's stale row
	 * is refused as a mapd alone refuses it; one new epoch. */
	snprintf(req, sizeof(req),
		 "{\"cmd\":\"pg-backfilled\",\"pool\":%u,\"daemon\":%u,\"from\":%u,"
		 "\"pgs\":[{\"pg\":0,\"acting\":[%u]},{\"pg\":1,\"acting\":[%u]},"
		 "{\"pg\":2,\"acting\":[%u]},{\"pg\":3,\"acting\":[%u]},"
		 "{\"pg\":4,\"acting\":[%u]}]}",
		 self->pool, self->dl, self->df, self->df, self->df, self->df,
		 self->df, self->dl);
	r = ask(&self->m[self->other], req, NULL);
	ASSERT_TRUE(mapd_ok(r)) TH_LOG("pg-backfilled: %s", mapd_error(r));
	e1 = json_integer_value(json_object_get(r, "epoch"));
	EXPECT_EQ(e0 + 1, e1);
	ref = json_object_get(r, "refused");
	ASSERT_EQ(1, json_array_size(ref));
	EXPECT_EQ(4, json_integer_value(json_object_get(
		json_array_get(ref, 0), "pg")));
	snprintf(want, sizeof(want),
		 "PG %u.4 has acting [%u] now, not [%u]: the map changed",
		 self->pool, self->df, self->dl);
	EXPECT_STREQ(want, json_string_value(json_object_get(
		json_array_get(ref, 0), "error")) ?: "");
	json_decref(r);
	/* Both mapds serve that epoch: 4 targets left, PGs 0..3 whole. */
	ASSERT_LE(0, WAIT_FOR(10000, same_backfill(self, e1 - 1, PGS - 4,
						   self->dl, &e2)));
	EXPECT_EQ(e1, e2);
	p = pool_of(&self->m[self->leader], "r2", NULL);
	for (pg = 0; pg < 4; pg++) {
		acting_of(p, pg, row, sizeof(row));
		EXPECT_NE(NULL, strchr(row, ','))
			TH_LOG("PG %u acting %s", pg, row);
	}
	json_decref(p);
	/* Nothing left behind in etcd. */
	snprintf(req, sizeof(req), "/shard/%s/backfill", CLUSTER);
	{
		struct etcd_kv *kvs;
		size_t n;

		ASSERT_EQ(0, etcd_get_prefix(self->env.e, req, &kvs, &n,
					     NULL));
		EXPECT_EQ(0, n) TH_LOG("%s", n ? kvs[0].key : "");
		etcd_kvs_free(kvs, n);
	}

	/* The same again, now stale: the standalone error, no new epoch. */
	snprintf(req, sizeof(req),
		 "{\"cmd\":\"pg-backfilled\",\"pool\":%u,\"pg\":0,\"daemon\":%u,"
		 "\"from\":%u,\"acting\":[%u]}",
		 self->pool, self->dl, self->df, self->df);
	r = ask(&self->m[self->other], req, NULL);
	EXPECT_FALSE(mapd_ok(r));
	EXPECT_NE(NULL, strstr(mapd_error(r), "now, not [")) TH_LOG("%s",
							       mapd_error(r));
	EXPECT_NE(NULL, strstr(mapd_error(r), ": the map changed"));
	json_decref(r);

	/* Straight to the leader: applied there. */
	snprintf(req, sizeof(req),
		 "{\"cmd\":\"pg-backfilled\",\"pool\":%u,\"pg\":5,\"daemon\":%u,"
		 "\"from\":%u,\"acting\":[%u]}",
		 self->pool, self->dl, self->df, self->df);
	r = ask(&self->m[self->leader], req, NULL);
	EXPECT_TRUE(mapd_ok(r)) TH_LOG("%s", mapd_error(r));
	EXPECT_EQ(e1 + 1, json_integer_value(json_object_get(r, "epoch")));
	json_decref(r);
	ASSERT_LE(0, WAIT_FOR(10000, same_backfill(self, e1, PGS - 5,
						   self->dl, NULL)));

	/* Bad input is refused where it arrives, as alone. */
	r = ask(&self->m[self->other],
		"{\"cmd\":\"pg-backfilled\",\"pool\":1,\"daemon\":1,\"from\":2}",
		NULL);
	EXPECT_FALSE(mapd_ok(r));
	EXPECT_STREQ("missing field \"pg\"", mapd_error(r));
	json_decref(r);
	snprintf(req, sizeof(req),
		 "{\"cmd\":\"pg-backfilled\",\"pool\":%u,\"pg\":99,\"daemon\":%u,"
		 "\"from\":%u,\"acting\":[%u]}",
		 self->pool, self->dl, self->df, self->df);
	r = ask(&self->m[self->other], req, NULL);
	snprintf(want, sizeof(want), "pool %u has %d PGs: no PG 99",
		 self->pool, PGS);
	EXPECT_STREQ(want, mapd_error(r));
	json_decref(r);
}

/* The next leader's answer to a request left in etcd: the doc, or NULL. */
static json_t *answer_in_etcd(FIXTURE_DATA(cbf) *self, const char *name)
{
	struct etcd_kv kv;
	char k[128];
	json_t *a;

	snprintf(k, sizeof(k), "/shard/%s/backfilled/%s", CLUSTER, name);
	if (etcd_get(self->env.e, k, &kv, NULL))
		return NULL;
	a = json_loadb(kv.value, kv.value_len, 0, NULL);
	etcd_kv_free(&kv);
	return a;
}

TEST_F_TIMEOUT(cbf, leader_dies_while_asked, 90)
{
	char req[512], k[128], name[64], want[128];
	json_t *r = NULL, *a = NULL;
	int64_t lease;
	long took;

	MAPD_NEED_ENV(&self->env);
	bring_up(_metadata, self);

	/* The leader dies: what waits for it is answered, in bounded time. */
	mapd_proc_kill(&self->m[self->leader]);
	snprintf(req, sizeof(req),
		 "{\"cmd\":\"pg-backfilled\",\"pool\":%u,\"pg\":0,\"daemon\":%u,"
		 "\"from\":%u,\"acting\":[%u]}",
		 self->pool, self->dl, self->df, self->df);
	r = ask(&self->m[self->other], req, &took);
	ASSERT_NE(NULL, r);
	EXPECT_FALSE(mapd_ok(r));
	EXPECT_NE(NULL, strstr(mapd_error(r), "no answer from the leader"))
		TH_LOG("%s", mapd_error(r));
	EXPECT_GT(6000, took);
	json_decref(r);
	/* It kept its lease while it waited: its daemon stayed up. */
	EXPECT_EQ(1, mapd_daemon_up(&self->m[self->other], self->df));
	/* Withdrawn: the next leader has nothing of it. */
	ASSERT_LE(0, WAIT_FOR(10000, mapd_leader_index(&self->m[self->other],
						       1) == 0));

	/* A request a mapd put before its leader died: the new leader
	 * answers it with the standalone checks. */
	ASSERT_EQ(0, etcd_lease_grant(self->env.e, 30, &lease));
	snprintf(name, sizeof(name), "%llx-1", (unsigned long long)lease);
	snprintf(k, sizeof(k), "/shard/%s/backfill/%s", CLUSTER, name);
	snprintf(req, sizeof(req),
		 "{\"cmd\":\"pg-backfilled\",\"pool\":%u,\"pg\":99,\"daemon\":%u,"
		 "\"from\":%u,\"acting\":[%u]}",
		 self->pool, self->dl, self->df, self->df);
	ASSERT_EQ(0, etcd_put(self->env.e, k, req, strlen(req), lease));
	ASSERT_LE(0, WAIT_FOR(10000, (a = answer_in_etcd(self, name)) != NULL));
	EXPECT_FALSE(json_is_true(json_object_get(a, "ok")));
	snprintf(want, sizeof(want), "pool %u has %d PGs: no PG 99",
		 self->pool, PGS);
	EXPECT_STREQ(want, json_string_value(json_object_get(a, "error")) ?:
		     "");
	json_decref(a);
	{
		struct etcd_kv kv;

		EXPECT_EQ(-ENOENT, etcd_get(self->env.e, k, &kv, NULL));
	}
	etcd_lease_revoke(self->env.e, lease);
}

TEST_HARNESS_MAIN
