// SPDX-License-Identifier: GPL-2.0-only
/*
 * The client blocklist in cluster mode against a real etcd: two sanitized
 * shard-mapd processes (--no-kernel). A change made on either mapd goes
 * into the config document, and the leader writes a new map epoch for
 * it (the map repeats the list), so that every mapd's daemons fetch it.
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
#define CALL_MS		2000	/* a request to a mapd */

FIXTURE(cbl) {
	struct test_etcd etcd;
	struct etcd *e;		/* the test's own client */
	char dir[64];
	struct mapd_proc m[NMAPDS];
	size_t n;
	int leader;		/* index into m */
};

static void release(FIXTURE_DATA(cbl) *self, bool keep)
{
	char cmd[128];

	if (self->e)
		etcd_close(self->e);
	self->e = NULL;
	test_etcd_stop(&self->etcd);
	if (keep) {
		fprintf(stderr, "# kept %s\n", self->dir);
	} else if (self->dir[0]) {
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", self->dir);
		if (system(cmd))
			fprintf(stderr, "# cannot remove %s\n", self->dir);
	}
}

FIXTURE_SETUP(cbl)
{
	char err[256] = "";
	int ret;

	signal(SIGPIPE, SIG_IGN);
	if (!test_etcd_bin() || !mapd_proc_bin())
		return;		/* each test skips */
	strcpy(self->dir, "/tmp/mapd-blocklist.XXXXXX");
	ASSERT_NE(NULL, mkdtemp(self->dir));
	ret = test_etcd_start(&self->etcd, 1);
	if (!ret) {
		self->e = etcd_open(self->etcd.url, 2000, err, sizeof(err));
		ret = self->e ? 0 : -EINVAL;
	}
	if (ret)
		release(self, false);
	ASSERT_EQ(0, ret) TH_LOG("%s", err);
}

FIXTURE_TEARDOWN(cbl)
{
	size_t i;

	for (i = 0; i < self->n; i++)
		if (self->m[i].pid > 0)
			kill(self->m[i].pid, SIGTERM);
	for (i = 0; i < self->n; i++) {
		struct mapd_proc *p = &self->m[i];
		bool was_running = p->pid > 0;
		int status = mapd_proc_stop(p, 5000);

		if (was_running) {
			EXPECT_TRUE(WIFEXITED(status) && !WEXITSTATUS(status))
				TH_LOG("mapd %s: wait status %d", p->name,
				       status);
		}
		EXPECT_TRUE(mapd_proc_log_clean(p))
			TH_LOG("mapd %s: sanitizer report in %s", p->name,
			       p->log);
		if (!_metadata->passed)
			mapd_proc_log_tail(p, 3000);
	}
	release(self, !_metadata->passed && getenv("MAPD_TEST_KEEP"));
}

#define NEED_ETCD() do {						\
	if (!self->e)							\
		SKIP(return, "needs etcd and build/asan/shard-mapd");	\
} while (0)

/* Polls cond every 100 ms for up to timeout_ms: ms it took, or -1. */
#define WAIT_FOR(timeout_ms, cond) ({					\
	long __t0 = test_now_ms(), __took = -1;				\
	for (;;) {							\
		if (cond) {						\
			__took = test_now_ms() - __t0;			\
			break;						\
		}							\
		if (test_now_ms() - __t0 > (timeout_ms))		\
			break;						\
		usleep(100000);						\
	}								\
	__took;								\
})

static json_t *call(struct mapd_proc *p, const char *req)
{
	int err;

	return mapd_call(p->sock, req, CALL_MS, &err);
}

static bool ok(json_t *r)
{
	return r && json_is_true(json_object_get(r, "ok"));
}

static const char *error_of(json_t *r)
{
	const char *e = r ? json_string_value(json_object_get(r, "error")) :
			    "no answer";

	return e ? e : "";
}

/* Both mapds name the same leader: its index, or -1. */
static int leader_index(FIXTURE_DATA(cbl) *self)
{
	const char *name = NULL;
	json_t *st[NMAPDS] = { NULL };
	int found = -1;
	size_t i, k;

	for (i = 0; i < self->n; i++) {
		const char *l;

		st[i] = call(&self->m[i], "{\"cmd\":\"status\"}");
		l = json_string_value(json_object_get(st[i], "leader"));
		if (!ok(st[i]) || !l || (name && strcmp(name, l)))
			goto out;
		name = l;
	}
	for (k = 0; name && k < self->n; k++)
		if (!strcmp(self->m[k].name, name))
			found = k;
out:
	for (i = 0; i < self->n; i++)
		json_decref(st[i]);
	return found;
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
	json_t *r = call(p, "{\"cmd\":\"map-get\"}");
	json_t *map = json_object_get(r, "map");
	uint64_t epoch = ok(r) ?
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
	if (etcd_get(self->e, k, &kv, NULL))
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
	static const char *names[NMAPDS] = { "a", "b" };
	uint64_t epoch, e2;
	char list[256];
	json_t *r;
	int other;
	size_t i;

	NEED_ETCD();
	for (i = 0; i < NMAPDS; i++) {
		ASSERT_EQ(0, mapd_proc_start(&self->m[i], self->dir, names[i],
					     self->etcd.url, CLUSTER, GRACE));
		self->n = i + 1;
	}
	for (i = 0; i < NMAPDS; i++)
		ASSERT_EQ(0, mapd_proc_wait_ready(&self->m[i], 15000));
	ASSERT_LE(0, WAIT_FOR(10000, (self->leader = leader_index(self)) >= 0));
	other = !self->leader;
	ASSERT_LE(0, WAIT_FOR(10000, everywhere(self, 0, "") > 0));
	epoch = everywhere(self, 0, "");
	TH_LOG("leader %s, epoch %llu", self->m[self->leader].name,
	       (unsigned long long)epoch);

	/* On the mapd that does not lead: the leader hears of it in etcd. */
	r = call(&self->m[other], "{\"cmd\":\"client-blocklist\",\"addr\":\"::ffff:10.0.0.5\"}");
	ASSERT_TRUE(ok(r)) TH_LOG("%s", error_of(r));
	EXPECT_STREQ("10.0.0.5", json_string_value(json_object_get(r, "addr")));
	EXPECT_LE(epoch, json_integer_value(json_object_get(r, "epoch")));
	json_decref(r);
	r = call(&self->m[self->leader], "{\"cmd\":\"client-blocklist\",\"addr\":\"2001:DB8::9\"}");
	ASSERT_TRUE(ok(r)) TH_LOG("%s", error_of(r));
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
		r = call(&self->m[i], "{\"cmd\":\"client-ls\"}");
		joined(r, list, sizeof(list));
		EXPECT_STREQ("10.0.0.5,2001:db8::9", list) TH_LOG("mapd %s",
								self->m[i].name);
		json_decref(r);
	}

	/* Listed already: no change, no new epoch. */
	r = call(&self->m[other], "{\"cmd\":\"client-blocklist\",\"addr\":\"10.0.0.5\"}");
	EXPECT_TRUE(ok(r)) TH_LOG("%s", error_of(r));
	json_decref(r);
	usleep(1000000);
	EXPECT_EQ(epoch, map_of(&self->m[self->leader], list, sizeof(list)));

	r = call(&self->m[other], "{\"cmd\":\"client-unblocklist\",\"addr\":\"10.0.0.6\"}");
	EXPECT_FALSE(ok(r));
	EXPECT_STREQ("10.0.0.6 is not blocklisted", error_of(r));
	json_decref(r);

	/* Removing is a new epoch as well, down to an empty list. */
	r = call(&self->m[other], "{\"cmd\":\"client-unblocklist\",\"addr\":\"10.0.0.5\"}");
	ASSERT_TRUE(ok(r)) TH_LOG("%s", error_of(r));
	json_decref(r);
	ASSERT_LE(0, WAIT_FOR(10000, everywhere(self, epoch, "2001:db8::9") > 0));
	e2 = everywhere(self, epoch, "2001:db8::9");
	r = call(&self->m[self->leader], "{\"cmd\":\"client-unblocklist\",\"addr\":\"2001:db8::9\"}");
	ASSERT_TRUE(ok(r)) TH_LOG("%s", error_of(r));
	json_decref(r);
	ASSERT_LE(0, WAIT_FOR(10000, everywhere(self, e2, "") > 0));
	in_etcd(self, "config", list, sizeof(list));
	EXPECT_STREQ("", list);
	in_etcd(self, "map", list, sizeof(list));
	EXPECT_STREQ("", list);
}

TEST_HARNESS_MAIN
