// SPDX-License-Identifier: GPL-2.0-only
/*
 * Automatic fencing in cluster mode against a real etcd: three
 * sanitized shard-mapd processes (--no-kernel, --grace 2), "a" leading,
 * each given its own boot id through SHARD_MAPD_BOOT_ID_FILE, and fake
 * daemons on b (10.0.0.2) and c (10.0.0.3; and one at b's address)
 * that heartbeat to their mapd. When c's mapd dies (SIGKILL: its lease
 * runs out) the leader blocklists 10.0.0.3 in a new epoch, recorded as
 * c's fence; c back with the same boot id stays fenced, c back with
 * another one (rebooted) is let back in. Addresses listed by hand are
 * never lifted, a person can lift a fence (or make its address one
 * listed by hand), an address a live host has too is not fenced, a mapd
 * stopped on purpose is not fenced, and with automatic fencing off
 * nothing is. One death is fenced once, even when a person lifts the
 * fence before the leader has marked the death.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "../etcd/etcd_fixture.h"
#include "mapd_proc.h"

#define CLUSTER		"fence"
#define GRACE		2.0
#define NMAPDS		3
#define A		0	/* the leader */
#define B		1
#define C		2
#define ADDR_B		"10.0.0.2"
#define ADDR_C		"10.0.0.3"
#define BY_HAND		"10.9.9.9"
/* Ample for a lease to run out and the leader to act. */
#define DEATH_MS	15000

FIXTURE(cfence) {
	struct mapd_env env;
	struct hb_set hb;
	struct mapd_proc m[NMAPDS];
	size_t n;
};

FIXTURE_SETUP(cfence)
{
	char err[256] = "";

	signal(SIGPIPE, SIG_IGN);
	if (!test_etcd_bin() || !mapd_proc_bin() ||
	    !mapd_test_selected(_metadata->name))
		return;		/* each test skips */
	ASSERT_EQ(0, mapd_env_start(&self->env, "/tmp/mapd-fence.XXXXXX",
				    &self->hb, err, sizeof(err)))
		TH_LOG("%s", err);
}

FIXTURE_TEARDOWN(cfence)
{
	EXPECT_EQ(0, mapd_env_finish(&self->env, self->env.e ? &self->hb :
				     NULL, self->m, self->n, NULL,
				     !_metadata->passed));
}

/* Starts mapd i ("a" + i) with boot as its kernel's boot id; 0 or -errno. */
static int start(FIXTURE_DATA(cfence) *self, int i, const char *boot)
{
	char name[2] = { 'a' + i, 0 }, path[128];
	FILE *f;
	int ret;

	snprintf(path, sizeof(path), "%s/%s.boot", self->env.dir, name);
	f = fopen(path, "w");
	if (!f)
		return -errno;
	fprintf(f, "%s\n", boot);
	fclose(f);
	/* The child takes the environment as it is at the fork. */
	setenv("SHARD_MAPD_BOOT_ID_FILE", path, 1);
	ret = mapd_proc_start(&self->m[i], self->env.dir, name,
			      self->env.etcd.url, CLUSTER, GRACE);
	unsetenv("SHARD_MAPD_BOOT_ID_FILE");
	if ((size_t)i >= self->n)
		self->n = i + 1;
	return ret ? ret : mapd_proc_wait_ready(&self->m[i], 15000);
}

/* A fake daemon at addr heartbeating to mapd i; its id, or 0. */
static uint32_t daemon_on(FIXTURE_DATA(cfence) *self, int i,
			  const char *addr, int port)
{
	char req[256];
	uint32_t id = 0;
	json_t *r;
	int err;

	snprintf(req, sizeof(req),
		 "{\"cmd\":\"daemon-register\",\"addr\":\"%s\",\"port\":%d,"
		 "\"capacity\":%llu,\"class\":\"ssd\",\"host\":\"host-%s\"}",
		 addr, port, 100ULL << 30, self->m[i].name);
	r = hb_register(&self->hb, self->m[i].sock, req, &err);
	if (mapd_ok(r))
		id = json_integer_value(json_object_get(r, "id"));
	else
		fprintf(stderr, "# register on %s: %s\n", self->m[i].name,
			r ? mapd_error(r) : strerror(-err));
	json_decref(r);
	return id;
}

/* An etcd key of the cluster as JSON (NULL: none, or not JSON). */
static json_t *etcd_json(FIXTURE_DATA(cfence) *self, const char *what)
{
	struct etcd_kv kv;
	char k[128];
	json_t *j;

	snprintf(k, sizeof(k), "/shard/%s/%s", CLUSTER, what);
	if (etcd_get(self->env.e, k, &kv, NULL))
		return NULL;
	j = json_loadb(kv.value, kv.value_len, 0, NULL);
	etcd_kv_free(&kv);
	return j;
}

/* Whether the leader has marked c's death on hosts/c. */
static bool marked_dead(FIXTURE_DATA(cfence) *self)
{
	json_t *h = etcd_json(self, "hosts/c");
	bool dead = json_is_true(json_object_get(h, "dead"));

	json_decref(h);
	return dead;
}

/* Mapd c's keys say its daemon's address and boot id. */
static bool published(FIXTURE_DATA(cfence) *self, const char *boot)
{
	json_t *m = etcd_json(self, "mapds/c"), *h = etcd_json(self, "hosts/c");
	bool ok = true;
	json_t *j[2] = { m, h };
	size_t i;

	/* Its daemons' addresses, in order: b's too, for its second. */
	for (i = 0; i < 2; i++) {
		json_t *a = json_object_get(j[i], "addrs");

		ok = ok && json_array_size(a) == 2 &&
		     !strcmp(json_string_value(json_array_get(a, 0)) ?: "",
			     ADDR_B) &&
		     !strcmp(json_string_value(json_array_get(a, 1)) ?: "",
			     ADDR_C) &&
		     !strcmp(json_string_value(json_object_get(j[i],
				"boot_id")) ?: "", boot) &&
		     !json_object_get(j[i], "dead");
	}
	json_decref(m);
	json_decref(h);
	return ok;
}

/*
 * Why mapd p lists addr: "" by hand, the host it fences, or NULL when it
 * does not list it (into buf).
 */
static const char *why_listed(struct mapd_proc *p, const char *addr,
			      char *buf, size_t len)
{
	json_t *r = mapd_req(p, "{\"cmd\":\"client-ls\"}"), *e, *f, *a;
	const char *ret = NULL;
	size_t i, k;

	json_array_foreach(json_object_get(r, "blocklist"), i, e)
		if (!strcmp(json_string_value(e) ?: "", addr)) {
			buf[0] = '\0';
			ret = buf;
		}
	json_array_foreach(json_object_get(r, "fences"), i, f)
		json_array_foreach(json_object_get(f, "addrs"), k, a)
			if (ret && !strcmp(json_string_value(a) ?: "", addr))
				snprintf(buf, len, "%s",
					 json_string_value(json_object_get(f,
						"host")) ?: "?");
	json_decref(r);
	return ret;
}

static bool fenced_by(struct mapd_proc *p, const char *addr,
		      const char *host)
{
	char buf[80];
	const char *w = why_listed(p, addr, buf, sizeof(buf));

	return w && !strcmp(w, host);
}

static bool listed(struct mapd_proc *p, const char *addr)
{
	char buf[80];

	return why_listed(p, addr, buf, sizeof(buf)) != NULL;
}

/* The epoch of mapd p's map for its daemons (0: none) and whether its
 * blocklist has addr. */
static uint64_t map_epoch(struct mapd_proc *p, const char *addr, bool *has)
{
	json_t *r = mapd_req(p, "{\"cmd\":\"map-get\"}"), *e;
	json_t *map = json_object_get(r, "map");
	uint64_t epoch = mapd_ok(r) ?
		json_integer_value(json_object_get(map, "epoch")) : 0;
	size_t i;

	*has = false;
	json_array_foreach(json_object_get(map, "blocklist"), i, e)
		if (!strcmp(json_string_value(e) ?: "", addr))
			*has = true;
	json_decref(r);
	return epoch;
}

/* Mapd p's map is past epoch and lists addr (or does not). */
static bool map_past(struct mapd_proc *p, uint64_t epoch, const char *addr,
		     bool want)
{
	bool has;

	return map_epoch(p, addr, &has) > epoch && has == want;
}

/* Status of mapd p: c's fence's "state" (into buf), NULL without one. */
static const char *fence_state(struct mapd_proc *p, char *buf, size_t len)
{
	json_t *r = mapd_req(p, "{\"cmd\":\"status\"}"), *f;
	const char *ret = NULL;
	size_t i;

	json_array_foreach(json_object_get(r, "fences"), i, f)
		if (!strcmp(json_string_value(json_object_get(f, "host")) ?: "",
			    "c")) {
			snprintf(buf, len, "%s", json_string_value(
				json_object_get(f, "state")) ?: "?");
			ret = buf;
		}
	json_decref(r);
	return ret;
}

static bool state_is(struct mapd_proc *p, const char *want)
{
	char buf[32];
	const char *s = fence_state(p, buf, sizeof(buf));

	return s && !strcmp(s, want);
}

/* Whether mapd p lists mapd name as running. */
static bool runs(struct mapd_proc *p, const char *name)
{
	json_t *r = mapd_req(p, "{\"cmd\":\"status\"}"), *e;
	bool yes = false;
	size_t i;

	json_array_foreach(json_object_get(r, "mapds"), i, e)
		yes |= !strcmp(json_string_value(e) ?: "", name);
	json_decref(r);
	return yes;
}

static bool req_ok(struct mapd_proc *p, const char *req)
{
	json_t *r = mapd_req(p, req);
	bool ok = mapd_ok(r);

	if (!ok)
		fprintf(stderr, "# %s -> %s\n", req, mapd_error(r));
	json_decref(r);
	return ok;
}

/*
 * a leads, b and c run with a daemon each (c's keys say so), BY_HAND is
 * blocklisted by hand; the map's epoch then.
 */
static uint64_t cluster_up(struct __test_metadata *_metadata,
			   FIXTURE_DATA(cfence) *self)
{
	bool has;

	EXPECT_EQ(0, start(self, A, "boot-a"));
	EXPECT_LE(0, WAIT_FOR(10000, mapd_leader_index(self->m, 1) == A));
	EXPECT_EQ(0, start(self, B, "boot-b"));
	EXPECT_EQ(0, start(self, C, "boot-c1"));
	EXPECT_LE(0, WAIT_FOR(10000, mapd_leader_index(self->m, NMAPDS) == A));
	EXPECT_NE(0, daemon_on(self, B, ADDR_B, 7201));
	EXPECT_NE(0, daemon_on(self, C, ADDR_C, 7301));
	/* b, alive, has this address too: never fenced with c. */
	EXPECT_NE(0, daemon_on(self, C, ADDR_B, 7302));
	EXPECT_TRUE(req_ok(&self->m[B], "{\"cmd\":\"client-blocklist\",\"addr\":\"" BY_HAND "\"}"));
	EXPECT_LE(0, WAIT_FOR(10000, published(self, "boot-c1")))
		TH_LOG("c's mapds/ and hosts/ keys say its address and boot id");
	EXPECT_LE(0, WAIT_FOR(10000, map_past(&self->m[A], 0, BY_HAND, true)));
	return map_epoch(&self->m[A], BY_HAND, &has);
}

TEST_F_TIMEOUT(cfence, dead_host_fenced_until_it_reboots, 120)
{
	uint64_t e0, e1, e2;
	json_t *config, *f, *d;
	char buf[32];
	bool has;

	MAPD_NEED_ENV(&self->env);
	e0 = cluster_up(_metadata, self);
	ASSERT_LT(0, e0);
	EXPECT_FALSE(listed(&self->m[A], ADDR_C));

	/* c dies: its lease runs out, a fences 10.0.0.3 in a new epoch. */
	mapd_proc_kill(&self->m[C]);
	ASSERT_LE(0, WAIT_FOR(DEATH_MS, fenced_by(&self->m[A], ADDR_C, "c")));
	ASSERT_LE(0, WAIT_FOR(5000, map_past(&self->m[A], e0, ADDR_C, true)));
	e1 = map_epoch(&self->m[A], ADDR_C, &has);
	EXPECT_LE(0, WAIT_FOR(5000, map_past(&self->m[B], e0, ADDR_C, true)))
		TH_LOG("b's daemons get the fence too");
	EXPECT_TRUE(fenced_by(&self->m[B], ADDR_C, "c"));
	EXPECT_TRUE(fenced_by(&self->m[A], BY_HAND, ""));
	EXPECT_FALSE(listed(&self->m[A], ADDR_B));
	EXPECT_TRUE(mapd_proc_log_has(&self->m[A],
		"host b, alive, has its address " ADDR_B " too: not fenced"));
	EXPECT_TRUE(state_is(&self->m[A], "down"));
	EXPECT_TRUE(mapd_proc_log_has(&self->m[A], "host c is dead"));
	/* The record: config's fences, and hosts/c dealt with. */
	config = etcd_json(self, "config");
	f = json_array_get(json_object_get(config, "fences"), 0);
	EXPECT_EQ(1, json_array_size(json_object_get(config, "fences")));
	EXPECT_STREQ(ADDR_C, json_string_value(json_object_get(f, "addr")) ?: "");
	EXPECT_STREQ("c", json_string_value(json_object_get(f, "host")) ?: "");
	EXPECT_STREQ("boot-c1", json_string_value(json_object_get(f, "boot_id")) ?: "");
	EXPECT_LT(1000000000, json_integer_value(json_object_get(f, "at")));
	/* With the fence, in the same write: c's death at hosts/c's rev. */
	d = json_array_get(json_object_get(config, "deaths"), 0);
	EXPECT_EQ(1, json_array_size(json_object_get(config, "deaths")));
	EXPECT_STREQ("c", json_string_value(json_object_get(d, "host")) ?: "");
	EXPECT_LT(0, json_integer_value(json_object_get(d, "rev")));
	json_decref(config);
	EXPECT_LE(0, WAIT_FOR(5000, marked_dead(self)));

	/* Back with the same boot id: still fenced, and a says why. */
	ASSERT_EQ(0, start(self, C, "boot-c1"));
	ASSERT_LE(0, WAIT_FOR(10000, runs(&self->m[A], "c")));
	EXPECT_LE(0, WAIT_FOR(5000, state_is(&self->m[A], "back")));
	EXPECT_TRUE(HOLDS_FOR(3000, fenced_by(&self->m[A], ADDR_C, "c")));
	/* (c's daemon up again is a new epoch: the list is what counts) */
	EXPECT_LT(e1, map_epoch(&self->m[A], ADDR_C, &has));
	EXPECT_TRUE(has);
	EXPECT_TRUE(state_is(&self->m[C], "back"));
	EXPECT_LE(0, WAIT_FOR(5000, mapd_proc_log_has(&self->m[A],
		"host c is back with the boot id it was fenced with")));
	EXPECT_EQ(1, mapd_proc_log_count(&self->m[A],
		"host c is back with the boot id it was fenced with"));
	EXPECT_STREQ("back", fence_state(&self->m[C], buf, sizeof(buf)) ?: "none");

	/* Dies again: the same fence, nothing new. */
	mapd_proc_kill(&self->m[C]);
	ASSERT_LE(0, WAIT_FOR(DEATH_MS, state_is(&self->m[A], "down")));
	ASSERT_LE(0, WAIT_FOR(DEATH_MS, mapd_proc_log_has(&self->m[A],
		"nothing to fence of its addresses")));
	e1 = map_epoch(&self->m[A], ADDR_C, &has);
	EXPECT_TRUE(has);
	EXPECT_TRUE(fenced_by(&self->m[A], ADDR_C, "c"));

	/* Back rebooted: the fence goes in a new epoch; BY_HAND stays. */
	ASSERT_EQ(0, start(self, C, "boot-c2"));
	ASSERT_LE(0, WAIT_FOR(10000, !listed(&self->m[A], ADDR_C)));
	ASSERT_LE(0, WAIT_FOR(5000, map_past(&self->m[A], e1, ADDR_C, false)));
	e2 = map_epoch(&self->m[A], BY_HAND, &has);
	EXPECT_TRUE(has);
	EXPECT_LT(e1, e2);
	EXPECT_TRUE(fenced_by(&self->m[A], BY_HAND, ""));
	EXPECT_TRUE(mapd_proc_log_has(&self->m[A], "Fence lifted"));
	EXPECT_EQ(NULL, fence_state(&self->m[A], buf, sizeof(buf)));
	config = etcd_json(self, "config");
	EXPECT_EQ(NULL, json_object_get(config, "fences"));
	EXPECT_EQ(NULL, json_object_get(config, "deaths"))
		TH_LOG("c's death, dealt with, is not kept");
	json_decref(config);
}

/*
 * The fence and the mark on hosts/c are two etcd writes. A fence lifted
 * by hand between them (or after a leader that stopped between them:
 * here none marks at all) stays lifted, since the fence's own write
 * recorded c's death in the config.
 */
TEST_F_TIMEOUT(cfence, fence_lifted_before_the_mark_stays_lifted, 120)
{
	MAPD_NEED_ENV(&self->env);
	setenv("SHARD_MAPD_TEST_NO_DEAD_MARK", "1", 1);
	ASSERT_LT(0, cluster_up(_metadata, self));
	unsetenv("SHARD_MAPD_TEST_NO_DEAD_MARK");
	mapd_proc_kill(&self->m[C]);
	ASSERT_LE(0, WAIT_FOR(DEATH_MS, fenced_by(&self->m[A], ADDR_C, "c")));
	ASSERT_TRUE(req_ok(&self->m[B], "{\"cmd\":\"client-unblocklist\",\"addr\":\"" ADDR_C "\"}"));
	/* a hears of it from etcd, and does not fence c again. */
	ASSERT_LE(0, WAIT_FOR(5000, !listed(&self->m[A], ADDR_C)));
	EXPECT_TRUE(HOLDS_FOR(4000, !listed(&self->m[A], ADDR_C)));
	EXPECT_FALSE(marked_dead(self));
	EXPECT_EQ(1, mapd_proc_log_count(&self->m[A], "host c is dead (its mapd's lease ran out): fenced"));
}

TEST_F_TIMEOUT(cfence, hand_made_entries_stay, 120)
{
	bool has;

	MAPD_NEED_ENV(&self->env);
	ASSERT_LT(0, cluster_up(_metadata, self));
	/* Listed by hand before c dies: the fence leaves it as it is. */
	ASSERT_TRUE(req_ok(&self->m[B], "{\"cmd\":\"client-blocklist\",\"addr\":\"" ADDR_C "\"}"));
	mapd_proc_kill(&self->m[C]);
	ASSERT_LE(0, WAIT_FOR(DEATH_MS, mapd_proc_log_has(&self->m[A],
		"host c is dead")));
	EXPECT_TRUE(fenced_by(&self->m[A], ADDR_C, ""));
	ASSERT_EQ(0, start(self, C, "boot-c2"));
	ASSERT_LE(0, WAIT_FOR(10000, runs(&self->m[A], "c")));
	EXPECT_TRUE(HOLDS_FOR(3000, fenced_by(&self->m[A], ADDR_C, "")));
	ASSERT_TRUE(req_ok(&self->m[A], "{\"cmd\":\"client-unblocklist\",\"addr\":\"" ADDR_C "\"}"));

	/* A fence made one listed by hand: a reboot does not lift it. */
	ASSERT_LE(0, WAIT_FOR(10000, published(self, "boot-c2")));
	mapd_proc_kill(&self->m[C]);
	ASSERT_LE(0, WAIT_FOR(DEATH_MS, fenced_by(&self->m[A], ADDR_C, "c")));
	ASSERT_TRUE(req_ok(&self->m[B], "{\"cmd\":\"client-blocklist\",\"addr\":\"" ADDR_C "\"}"));
	ASSERT_LE(0, WAIT_FOR(5000, fenced_by(&self->m[A], ADDR_C, "")));
	ASSERT_EQ(0, start(self, C, "boot-c3"));
	ASSERT_LE(0, WAIT_FOR(10000, runs(&self->m[A], "c")));
	EXPECT_TRUE(HOLDS_FOR(3000, fenced_by(&self->m[A], ADDR_C, "")));

	/* Lifted by a person while c is down: c is not fenced again. */
	ASSERT_LE(0, WAIT_FOR(10000, published(self, "boot-c3")));
	ASSERT_TRUE(req_ok(&self->m[A], "{\"cmd\":\"client-unblocklist\",\"addr\":\"" ADDR_C "\"}"));
	mapd_proc_kill(&self->m[C]);
	ASSERT_LE(0, WAIT_FOR(DEATH_MS, fenced_by(&self->m[A], ADDR_C, "c")));
	ASSERT_TRUE(req_ok(&self->m[B], "{\"cmd\":\"client-unblocklist\",\"addr\":\"" ADDR_C "\"}"));
	/* a hears of it from etcd, and does not fence c again. */
	ASSERT_LE(0, WAIT_FOR(5000, !listed(&self->m[A], ADDR_C)));
	EXPECT_TRUE(HOLDS_FOR(4000, !listed(&self->m[A], ADDR_C)));
	EXPECT_TRUE(map_past(&self->m[A], 0, BY_HAND, true));
	EXPECT_FALSE(map_past(&self->m[A], 0, ADDR_C, true));
	(void)has;
}

TEST_F_TIMEOUT(cfence, stop_on_purpose_or_fencing_off, 120)
{
	json_t *r;

	MAPD_NEED_ENV(&self->env);
	ASSERT_LT(0, cluster_up(_metadata, self));
	/* Stopped on purpose: it says so before its lease goes. */
	EXPECT_TRUE(WIFEXITED(mapd_proc_stop(&self->m[C], 5000)));
	ASSERT_LE(0, WAIT_FOR(10000, !runs(&self->m[A], "c")));
	EXPECT_TRUE(HOLDS_FOR(4000, !listed(&self->m[A], ADDR_C)));
	EXPECT_FALSE(mapd_proc_log_has(&self->m[A], "host c is dead"));

	/* Automatic fencing off (on any mapd): a death fences nothing. */
	ASSERT_EQ(0, start(self, C, "boot-c1"));
	ASSERT_LE(0, WAIT_FOR(10000, published(self, "boot-c1")));
	r = mapd_req(&self->m[B], "{\"cmd\":\"client-auto-fence\",\"on\":false}");
	ASSERT_TRUE(mapd_ok(r)) TH_LOG("%s", mapd_error(r));
	EXPECT_TRUE(json_is_false(json_object_get(r, "auto_fence")));
	json_decref(r);
	ASSERT_LE(0, WAIT_FOR(5000, ({
		json_t *s = mapd_req(&self->m[A], "{\"cmd\":\"status\"}");
		bool off = json_is_false(json_object_get(s, "auto_fence"));
		json_decref(s);
		off;
	})));
	mapd_proc_kill(&self->m[C]);
	ASSERT_LE(0, WAIT_FOR(DEATH_MS, mapd_proc_log_has(&self->m[A],
		"automatic fencing is off")));
	EXPECT_TRUE(HOLDS_FOR(2000, !listed(&self->m[A], ADDR_C)));
	/* On again: the death was dealt with, it stays unfenced. */
	ASSERT_TRUE(req_ok(&self->m[A], "{\"cmd\":\"client-auto-fence\",\"on\":true}"));
	EXPECT_TRUE(HOLDS_FOR(3000, !listed(&self->m[A], ADDR_C)));
	EXPECT_TRUE(fenced_by(&self->m[A], BY_HAND, ""));
	EXPECT_EQ(1, mapd_proc_log_count(&self->m[A], "automatic fencing is off"));
}

TEST_HARNESS_MAIN
