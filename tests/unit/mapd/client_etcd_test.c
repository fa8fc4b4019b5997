// SPDX-License-Identifier: GPL-2.0-only
/*
 * The client blocklist in cluster mode against a real etcd: two sanitized
 * shard-mapd processes (--no-kernel). A change made on either mapd goes
 * into the config document, and the leader writes a new map epoch for
 * it (the map repeats the list), so that every mapd's daemons fetch it.
 * A mapd whose view lags behind etcd's catches up before it refuses a
 * change.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "../etcd/etcd_fixture.h"
#include "mapd_proc.h"

#define CLUSTER		"bl"
#define GRACE		2.0
#define NMAPDS		2

FIXTURE(cbl) {
	struct mapd_env env;
	struct mapd_proc m[NMAPDS];
	size_t n;
	int leader;		/* index into m */
};

FIXTURE_SETUP(cbl)
{
	char err[256] = "";

	signal(SIGPIPE, SIG_IGN);
	if (!test_etcd_bin() || !mapd_proc_bin() ||
	    !mapd_test_selected(_metadata->name))
		return;		/* each test skips */
	ASSERT_EQ(0, mapd_env_start(&self->env, "/tmp/mapd-blocklist.XXXXXX",
				    NULL, err, sizeof(err))) TH_LOG("%s", err);
}

FIXTURE_TEARDOWN(cbl)
{
	EXPECT_EQ(0, mapd_env_finish(&self->env, NULL, self->m, self->n, NULL,
				     !_metadata->passed));
}

/* The "blocklist" of a JSON object as "a,b"; "!" when it is not an array. */
static void joined(json_t *o, char *buf, size_t len)
{
	json_t *bl = json_object_get(o, "blocklist"), *e;
	size_t i, at = 0;

	if (!json_is_array(bl)) {
		snprintf(buf, len, "!");
		return;
	}
	buf[0] = '\0';
	json_array_foreach(bl, i, e)
		at += snprintf(buf + at, at < len ? len - at : 0, "%s%s",
			       i ? "," : "", json_string_value(e) ?: "?");
}

/* Mapd p's map for its daemons: its epoch (0 if none) and list. */
static uint64_t map_of(struct mapd_proc *p, char *list, size_t len)
{
	json_t *r = mapd_req(p, "{\"cmd\":\"map-get\"}");
	json_t *map = json_object_get(r, "map");
	uint64_t epoch = mapd_ok(r) ?
		json_integer_value(json_object_get(map, "epoch")) : 0;

	joined(map, list, len);
	json_decref(r);
	return epoch;
}

/* Every mapd serves a map past epoch with exactly list; the least epoch. */
static uint64_t everywhere(FIXTURE_DATA(cbl) *self, uint64_t epoch,
			   const char *list)
{
	uint64_t least = UINT64_MAX;
	char got[256];
	size_t i;

	for (i = 0; i < self->n; i++) {
		uint64_t e = map_of(&self->m[i], got, sizeof(got));

		if (e <= epoch || strcmp(got, list))
			return 0;
		if (e < least)
			least = e;
	}
	return least;
}

/* The list in etcd's document key ("config" or "map"), as "a,b". */
static void in_etcd(FIXTURE_DATA(cbl) *self, const char *key, char *buf,
		    size_t len)
{
	char k[64];
	struct etcd_kv kv;
	json_t *doc;

	snprintf(k, sizeof(k), "/shard/%s/%s", CLUSTER, key);
	snprintf(buf, len, "?");
	if (etcd_get(self->env.e, k, &kv, NULL))
		return;
	doc = json_loadb(kv.value, kv.value_len, 0, NULL);
	if (doc && !json_object_get(doc, "blocklist"))
		buf[0] = '\0';		/* absent: empty */
	else if (doc)
		joined(doc, buf, len);
	json_decref(doc);
	etcd_kv_free(&kv);
}

TEST_F_TIMEOUT(cbl, changes_reach_every_mapd, 60)
{
	uint64_t epoch, e2;
	char list[256];
	json_t *r;
	int other;
	size_t i;

	MAPD_NEED_ENV(&self->env);
	ASSERT_EQ(0, mapd_procs_start(self->m, NMAPDS, &self->n, &self->env,
				      CLUSTER, GRACE));
	ASSERT_LE(0, WAIT_FOR(10000, (self->leader =
		mapd_leader_index(self->m, self->n)) >= 0));
	other = !self->leader;
	ASSERT_LE(0, WAIT_FOR(10000, everywhere(self, 0, "") > 0));
	epoch = everywhere(self, 0, "");
	TH_LOG("leader %s, epoch %llu", self->m[self->leader].name,
	       (unsigned long long)epoch);

	/* On the mapd that does not lead: the leader hears of it in etcd. */
	r = mapd_req(&self->m[other], "{\"cmd\":\"client-blocklist\",\"addr\":\"::ffff:10.0.0.5\"}");
	ASSERT_TRUE(mapd_ok(r)) TH_LOG("%s", mapd_error(r));
	EXPECT_STREQ("10.0.0.5", json_string_value(json_object_get(r, "addr")));
	EXPECT_LE(epoch, json_integer_value(json_object_get(r, "epoch")));
	json_decref(r);
	r = mapd_req(&self->m[self->leader], "{\"cmd\":\"client-blocklist\",\"addr\":\"2001:DB8::9\"}");
	ASSERT_TRUE(mapd_ok(r)) TH_LOG("%s", mapd_error(r));
	json_decref(r);
	ASSERT_LE(0, WAIT_FOR(10000, everywhere(self, epoch, "10.0.0.5,2001:db8::9") > 0))
		TH_LOG("a map past epoch %llu with the list on every mapd",
		       (unsigned long long)epoch);
	epoch = everywhere(self, epoch, "10.0.0.5,2001:db8::9");
	ASSERT_LT(0, epoch);
	in_etcd(self, "config", list, sizeof(list));
	EXPECT_STREQ("10.0.0.5,2001:db8::9", list);
	in_etcd(self, "map", list, sizeof(list));
	EXPECT_STREQ("10.0.0.5,2001:db8::9", list);
	for (i = 0; i < NMAPDS; i++) {
		r = mapd_req(&self->m[i], "{\"cmd\":\"client-ls\"}");
		joined(r, list, sizeof(list));
		EXPECT_STREQ("10.0.0.5,2001:db8::9", list) TH_LOG("mapd %s",
								self->m[i].name);
		json_decref(r);
	}

	/* Listed already: no change, no new epoch. */
	r = mapd_req(&self->m[other], "{\"cmd\":\"client-blocklist\",\"addr\":\"10.0.0.5\"}");
	EXPECT_TRUE(mapd_ok(r)) TH_LOG("%s", mapd_error(r));
	json_decref(r);
	usleep(1000000);
	EXPECT_EQ(epoch, map_of(&self->m[self->leader], list, sizeof(list)));

	r = mapd_req(&self->m[other], "{\"cmd\":\"client-unblocklist\",\"addr\":\"10.0.0.6\"}");
	EXPECT_FALSE(mapd_ok(r));
	EXPECT_STREQ("10.0.0.6 is not blocklisted", mapd_error(r));
	json_decref(r);

	/* Removing is a new epoch as well, down to an empty list. */
	r = mapd_req(&self->m[other], "{\"cmd\":\"client-unblocklist\",\"addr\":\"10.0.0.5\"}");
	ASSERT_TRUE(mapd_ok(r)) TH_LOG("%s", mapd_error(r));
	json_decref(r);
	ASSERT_LE(0, WAIT_FOR(10000, everywhere(self, epoch, "2001:db8::9") > 0));
	e2 = everywhere(self, epoch, "2001:db8::9");
	r = mapd_req(&self->m[self->leader], "{\"cmd\":\"client-unblocklist\",\"addr\":\"2001:db8::9\"}");
	ASSERT_TRUE(mapd_ok(r)) TH_LOG("%s", mapd_error(r));
	json_decref(r);
	ASSERT_LE(0, WAIT_FOR(10000, everywhere(self, e2, "") > 0));
	in_etcd(self, "config", list, sizeof(list));
	EXPECT_STREQ("", list);
	in_etcd(self, "map", list, sizeof(list));
	EXPECT_STREQ("", list);
}

/*
 * b hears of etcd's changes 3 s late (SHARD_MAPD_TEST_WATCH_LAG_MS): an
 * address a has just listed is not on b's list yet, but b lifts it; a
 * volume a has just made b has not seen, but b resizes it.
 */
TEST_F_TIMEOUT(cbl, lagging_mapd_catches_up, 60)
{
	char list[256];
	json_t *r;

	MAPD_NEED_ENV(&self->env);
	ASSERT_EQ(0, mapd_proc_start(&self->m[0], self->env.dir, "a",
				     self->env.etcd.url, CLUSTER, GRACE));
	self->n = 1;
	ASSERT_EQ(0, mapd_proc_wait_ready(&self->m[0], 15000));
	ASSERT_LE(0, WAIT_FOR(10000, mapd_leader_index(self->m, 1) == 0));
	setenv("SHARD_MAPD_TEST_WATCH_LAG_MS", "3000", 1);
	ASSERT_EQ(0, mapd_proc_start(&self->m[1], self->env.dir, "b",
				     self->env.etcd.url, CLUSTER, GRACE));
	unsetenv("SHARD_MAPD_TEST_WATCH_LAG_MS");
	self->n = 2;
	ASSERT_EQ(0, mapd_proc_wait_ready(&self->m[1], 15000));
	ASSERT_LE(0, WAIT_FOR(10000, everywhere(self, 0, "") > 0));

	r = mapd_req(&self->m[0], "{\"cmd\":\"client-blocklist\",\"addr\":\"10.0.0.7\"}");
	ASSERT_TRUE(mapd_ok(r)) TH_LOG("%s", mapd_error(r));
	json_decref(r);
	r = mapd_req(&self->m[1], "{\"cmd\":\"client-ls\"}");
	joined(r, list, sizeof(list));
	json_decref(r);
	EXPECT_STREQ("", list) TH_LOG("b does lag behind");
	r = mapd_req(&self->m[1], "{\"cmd\":\"client-unblocklist\",\"addr\":\"10.0.0.7\"}");
	EXPECT_TRUE(mapd_ok(r)) TH_LOG("%s", mapd_error(r));
	json_decref(r);
	in_etcd(self, "config", list, sizeof(list));
	EXPECT_STREQ("", list);

	/* Not listed, wherever one looks: still refused. */
	r = mapd_req(&self->m[1], "{\"cmd\":\"client-unblocklist\",\"addr\":\"10.0.0.7\"}");
	EXPECT_FALSE(mapd_ok(r));
	EXPECT_STREQ("10.0.0.7 is not blocklisted", mapd_error(r));
	json_decref(r);

	/* A volume made on a, grown on b at once (b has not heard of it). */
	r = mapd_req(&self->m[0], "{\"cmd\":\"create\",\"pool\":\"default\",\"name\":\"vm1\",\"size\":1048576}");
	ASSERT_TRUE(mapd_ok(r)) TH_LOG("%s", mapd_error(r));
	json_decref(r);
	r = mapd_req(&self->m[1], "{\"cmd\":\"resize\",\"pool\":\"default\",\"name\":\"vm1\",\"size\":2097152}");
	EXPECT_TRUE(mapd_ok(r)) TH_LOG("%s", mapd_error(r));
	EXPECT_EQ(2097152, json_integer_value(json_object_get(
		json_object_get(r, "volume"), "size")));
	json_decref(r);
}

TEST_HARNESS_MAIN
