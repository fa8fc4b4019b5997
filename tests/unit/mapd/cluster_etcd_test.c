// SPDX-License-Identifier: GPL-2.0-only
/*
 * shard-mapd's cluster mode against a real etcd: several sanitized
 * shard-mapd processes (build/asan/shard-mapd --no-kernel) on one
 * throwaway etcd, fake daemons heartbeating to them from a thread, and
 * the test talking to them on their sockets and reading etcd directly.
 * Election and failover, liveness, convergence of the map, the epoch
 * history, concurrent changes, an etcd outage and bad documents.
 *
 * Every mapd runs with --grace 2, so its lease TTL is 2 s.
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
#include "../jsonline/jsonline.h"
#include "mapd_proc.h"

#define CLUSTER		"t"
#define GRACE		2.0
#define TTL_MS		2000	/* the lease TTL: the grace period */
#define MAX_MAPDS	3
#define PER_MAPD	2	/* fake daemons per mapd */

FIXTURE(cl) {
	struct mapd_env env;
	char map_key[64], config_key[64];
	struct mapd_proc m[MAX_MAPDS];
	size_t n;
	uint32_t ids[MAX_MAPDS][PER_MAPD];
	struct hb_set hb;
};

FIXTURE_SETUP(cl)
{
	char err[256] = "";

	signal(SIGPIPE, SIG_IGN);
	if (!test_etcd_bin() || !mapd_proc_bin() ||
	    !mapd_test_selected(_metadata->name))
		return;		/* each test skips */
	snprintf(self->map_key, sizeof(self->map_key), "/shard/%s/map",
		 CLUSTER);
	snprintf(self->config_key, sizeof(self->config_key),
		 "/shard/%s/config", CLUSTER);
	ASSERT_EQ(0, mapd_env_start(&self->env, "/tmp/mapd-cluster.XXXXXX",
				    &self->hb, err, sizeof(err)))
		TH_LOG("%s", err);
}

/*
 * A mapd still running must exit cleanly on SIGTERM, with nothing for the
 * sanitizers to say (leaks included). MAPD_TEST_KEEP=1 keeps a failed
 * test's logs and state files.
 */
FIXTURE_TEARDOWN(cl)
{
	EXPECT_EQ(0, mapd_env_finish(&self->env, &self->hb, self->m, self->n,
				     NULL, !_metadata->passed));
}

static void sleep_ms(long ms)
{
	usleep(ms * 1000);
}

/* Starts n mapds at once (a, b, c). */
static int start_mapds(FIXTURE_DATA(cl) *self, size_t n)
{
	return mapd_procs_start(self->m, n, &self->n, &self->env, CLUSTER,
				GRACE);
}

static json_t *status(struct mapd_proc *p)
{
	return mapd_req(p, "{\"cmd\":\"status\"}");
}

static const char *etcd_state(json_t *st)
{
	const char *s = json_string_value(json_object_get(
		json_object_get(st, "etcd"), "state"));

	return s ? s : "";
}

/*
 * Every running mapd answers status in cluster mode with etcd ok and
 * names the same leader, copied to leader.
 */
static bool agree_on_leader(FIXTURE_DATA(cl) *self, char *leader,
			    size_t len)
{
	bool same = true;
	size_t i, seen = 0;

	leader[0] = '\0';
	for (i = 0; i < self->n && same; i++) {
		json_t *st;
		const char *l;

		if (!self->m[i].pid)
			continue;
		st = status(&self->m[i]);
		l = json_string_value(json_object_get(st, "leader"));
		if (!mapd_ok(st) || !l ||
		    strcmp(json_string_value(json_object_get(st, "mode")) ?: "",
			   "cluster") ||
		    strcmp(etcd_state(st), "ok"))
			same = false;
		else if (!seen++)
			snprintf(leader, len, "%s", l);
		else if (strcmp(leader, l))
			same = false;
		json_decref(st);
	}
	return same && seen;
}

static int index_of(FIXTURE_DATA(cl) *self, const char *name)
{
	size_t i;

	for (i = 0; i < self->n; i++)
		if (!strcmp(self->m[i].name, name))
			return i;
	return -1;
}

/* Every running mapd sees daemon id up (or down). */
static bool up_everywhere(FIXTURE_DATA(cl) *self, uint32_t id, int up)
{
	size_t i;

	for (i = 0; i < self->n; i++)
		if (self->m[i].pid && mapd_daemon_up(&self->m[i], id) != up)
			return false;
	return true;
}

static bool all_up_everywhere(FIXTURE_DATA(cl) *self)
{
	size_t i, k;

	for (i = 0; i < self->n; i++)
		for (k = 0; k < PER_MAPD; k++)
			if (self->ids[i][k] &&
			    !up_everywhere(self, self->ids[i][k], 1))
				return false;
	return true;
}

/* PER_MAPD daemons on each mapd, heartbeating; waits until all are up. */
static int add_daemons(FIXTURE_DATA(cl) *self)
{
	size_t i, k;

	for (i = 0; i < self->n; i++)
		for (k = 0; k < PER_MAPD; k++) {
			self->ids[i][k] = mapd_register_daemon(&self->hb,
					&self->m[i], 7000 + 10 * i + k);
			if (!self->ids[i][k])
				return -EIO;
		}
	return WAIT_FOR(8000, all_up_everywhere(self)) < 0 ? -ETIMEDOUT : 0;
}

static json_t *map_show(struct mapd_proc *p)
{
	json_t *r = mapd_req(p, "{\"cmd\":\"map-show\"}");
	json_t *map = json_incref(json_object_get(r, "map"));

	json_decref(r);
	return map;
}

static uint64_t epoch_of(struct mapd_proc *p)
{
	json_t *st = status(p);
	uint64_t e = json_integer_value(json_object_get(st, "epoch"));

	json_decref(st);
	return e;
}

/*
 * Every running mapd has the same map (epoch included), at least
 * min_epoch; the epoch copied to *epoch.
 */
static bool converged(FIXTURE_DATA(cl) *self, uint64_t min_epoch,
		      uint64_t *epoch)
{
	json_t *first = NULL, *map;
	bool same = true;
	size_t i;

	for (i = 0; i < self->n && same; i++) {
		if (!self->m[i].pid)
			continue;
		map = map_show(&self->m[i]);
		if (!map ||
		    json_integer_value(json_object_get(map, "epoch")) <
		    (json_int_t)min_epoch)
			same = false;
		else if (!first)
			first = json_incref(map);
		else if (!json_equal(first, map))
			same = false;
		json_decref(map);
	}
	if (same && first && epoch)
		*epoch = json_integer_value(json_object_get(first, "epoch"));
	same = same && first;
	json_decref(first);
	return same;
}

static json_t *pool_of(struct mapd_proc *p, const char *name)
{
	json_t *r = mapd_req(p, "{\"cmd\":\"pool-ls\"}"), *pool, *found = NULL;
	size_t i;

	json_array_foreach(json_object_get(r, "pools"), i, pool)
		if (!strcmp(json_string_value(json_object_get(pool, "name")),
			    name))
			found = json_incref(pool);
	json_decref(r);
	return found;
}

/* Pool name on p has all its PGs active+clean. */
static bool pool_clean(struct mapd_proc *p, const char *name)
{
	json_t *pool = pool_of(p, name);
	json_int_t pgs = json_integer_value(json_object_get(pool, "pg_count"));
	json_t *states = json_object_get(pool, "pg_states");
	bool clean = pool && pgs > 0 && json_object_size(states) == 1 &&
		json_integer_value(json_object_get(states, "active+clean")) == pgs;

	json_decref(pool);
	return clean;
}

static bool pool_clean_everywhere(FIXTURE_DATA(cl) *self, const char *name)
{
	size_t i;

	for (i = 0; i < self->n; i++)
		if (self->m[i].pid && !pool_clean(&self->m[i], name))
			return false;
	return true;
}

/* Pool name on p has every PG placed (down members may leave them
 * degraded: a down daemon stays in until --out-after). */
static bool pool_placed(struct mapd_proc *p, const char *name)
{
	json_t *pool = pool_of(p, name);
	json_t *states = json_object_get(pool, "pg_states");
	bool placed = pool && json_object_size(states) &&
		      !json_object_get(states, "unplaced");

	json_decref(pool);
	return placed;
}

static bool pool_placed_everywhere(FIXTURE_DATA(cl) *self, const char *name)
{
	size_t i;

	for (i = 0; i < self->n; i++)
		if (self->m[i].pid && !pool_placed(&self->m[i], name))
			return false;
	return true;
}

static json_t *pool_create(struct mapd_proc *p, const char *name, int size)
{
	char req[128];

	snprintf(req, sizeof(req),
		 "{\"cmd\":\"pool-create\",\"name\":\"%s\",\"size\":%d,\"pgs\":32}",
		 name, size);
	return mapd_req(p, req);
}

/* The running mapd that leads, by status; -1 if they do not agree. */
static int leader_index(FIXTURE_DATA(cl) *self)
{
	char leader[64];

	if (!agree_on_leader(self, leader, sizeof(leader)))
		return -1;
	return index_of(self, leader);
}

/*
 * The map key's whole history, from revision 1 to now: each version's
 * epoch is the previous one's + 1.
 */
struct history {
	const char *key;
	int64_t until;		/* the current version's revision */
	uint64_t epochs[4096];
	size_t n;
	int bad, deletes;
};

static int history_cb(void *arg, enum etcd_ev_type type,
		      const struct etcd_kv *kv, int64_t rev)
{
	struct history *h = arg;

	if (!strcmp(kv->key, h->key)) {
		json_t *j = type == ETCD_EV_PUT ?
			json_loadb(kv->value, kv->value_len, 0, NULL) : NULL;
		json_t *e = json_object_get(j, "epoch");

		if (type == ETCD_EV_DELETE)
			h->deletes++;
		else if (!json_is_integer(e) || h->n == 4096)
			h->bad++;
		else
			h->epochs[h->n++] = json_integer_value(e);
		json_decref(j);
	}
	return rev >= h->until ? 1 : 0;
}

static void check_history(struct __test_metadata *_metadata,
			  FIXTURE_DATA(cl) *self, uint64_t last_epoch)
{
	struct history *h = calloc(1, sizeof(*h));
	struct etcd_kv kv;
	size_t i;

	ASSERT_NE(NULL, h);
	h->key = self->map_key;
	ASSERT_EQ(0, etcd_get(self->env.e, self->map_key, &kv, NULL));
	h->until = kv.mod_rev;
	etcd_kv_free(&kv);
	EXPECT_EQ(0, etcd_watch(self->env.e, self->map_key, 1, history_cb, h,
				NULL, NULL));
	EXPECT_EQ(0, h->bad);
	EXPECT_EQ(0, h->deletes);
	EXPECT_LE(1, h->n);
	for (i = 1; i < h->n; i++) {
		EXPECT_EQ(h->epochs[i - 1] + 1, h->epochs[i])
			TH_LOG("map version %zu has epoch %llu after %llu", i,
			       (unsigned long long)h->epochs[i],
			       (unsigned long long)h->epochs[i - 1]);
	}
	/* The map may have moved on since the caller looked. */
	if (h->n && last_epoch)
		EXPECT_LE(last_epoch, h->epochs[h->n - 1]);
	TH_LOG("map history: %zu versions, epochs %llu..%llu", h->n,
	       h->n ? (unsigned long long)h->epochs[0] : 0ULL,
	       h->n ? (unsigned long long)h->epochs[h->n - 1] : 0ULL);
	free(h);
}

/* A cluster of n mapds with a leader and PER_MAPD daemons on each, up. */
static void bring_up(struct __test_metadata *_metadata,
		     FIXTURE_DATA(cl) *self, size_t n)
{
	char leader[64];

	ASSERT_EQ(0, start_mapds(self, n));
	ASSERT_LE(0, WAIT_FOR(10000, agree_on_leader(self, leader,
						     sizeof(leader))));
	ASSERT_EQ(0, add_daemons(self));
}

TEST_F_TIMEOUT(cl, one_leader, 40)
{
	char leader[64], k[64];
	struct etcd_kv kv;
	size_t i, leading = 0;
	json_t *st;

	MAPD_NEED_ENV(&self->env);
	ASSERT_EQ(0, start_mapds(self, 3));
	ASSERT_LE(0, WAIT_FOR(10000, agree_on_leader(self, leader,
						     sizeof(leader))));
	ASSERT_LE(0, index_of(self, leader));
	snprintf(k, sizeof(k), "/shard/%s/leader", CLUSTER);
	ASSERT_EQ(0, etcd_get(self->env.e, k, &kv, NULL));
	EXPECT_STREQ(leader, kv.value);
	EXPECT_NE(0, kv.lease);
	etcd_kv_free(&kv);
	for (i = 0; i < self->n; i++)
		leading += mapd_proc_log_has(&self->m[i], "leading cluster");
	EXPECT_EQ(1, leading);
	/* Each knows the others. */
	EXPECT_LE(0, WAIT_FOR(3000, ({
		bool all = true;
		for (i = 0; i < self->n; i++) {
			st = status(&self->m[i]);
			all = all && json_array_size(json_object_get(st, "mapds")) == 3 &&
			      !strcmp(json_string_value(json_object_get(st, "self")) ?: "",
				      self->m[i].name);
			json_decref(st);
		}
		all;
	})));
	TH_LOG("leader: %s", leader);
}

TEST_F_TIMEOUT(cl, pool_converges, 40)
{
	json_t *r, *map, *daemons, *pool = NULL, *p, *d, *acting;
	const char *hosts[64] = { NULL };
	uint64_t epoch = 0, before;
	size_t i, pg, width;

	MAPD_NEED_ENV(&self->env);
	bring_up(_metadata, self, 3);
	ASSERT_LE(0, WAIT_FOR(5000, converged(self, 1, &before)));
	r = pool_create(&self->m[1], "rep", 2);
	ASSERT_TRUE(mapd_ok(r)) TH_LOG("%s", mapd_error(r));
	json_decref(r);
	ASSERT_LE(0, WAIT_FOR(5000, converged(self, before + 1, &epoch) &&
			      pool_clean_everywhere(self, "rep")));
	TH_LOG("epoch %llu -> %llu", (unsigned long long)before,
	       (unsigned long long)epoch);

	/* No PG has both copies on one host. */
	r = mapd_req(&self->m[2], "{\"cmd\":\"daemon-ls\"}");
	daemons = json_object_get(r, "daemons");
	ASSERT_EQ(3 * PER_MAPD, json_array_size(daemons));
	json_array_foreach(daemons, i, d) {
		json_int_t id = json_integer_value(json_object_get(d, "id"));

		ASSERT_TRUE(id > 0 && id < 64);
		hosts[id] = json_string_value(json_object_get(d, "host"));
	}
	map = map_show(&self->m[2]);
	json_array_foreach(json_object_get(map, "pools"), i, p)
		if (!strcmp(json_string_value(json_object_get(p, "name")), "rep"))
			pool = p;
	ASSERT_NE(NULL, pool);
	width = json_integer_value(json_object_get(pool, "width"));
	ASSERT_EQ(2, width);
	acting = json_object_get(pool, "acting");
	ASSERT_EQ(32 * width, json_array_size(acting));
	for (pg = 0; pg < 32; pg++) {
		json_int_t x = json_integer_value(json_array_get(acting, pg * 2));
		json_int_t y = json_integer_value(json_array_get(acting, pg * 2 + 1));

		ASSERT_TRUE(x > 0 && x < 64 && y > 0 && y < 64 && hosts[x] &&
			    hosts[y]) TH_LOG("PG %zu: %lld %lld", pg,
					     (long long)x, (long long)y);
		EXPECT_STRNE(hosts[x], hosts[y]) TH_LOG("PG %zu", pg);
	}
	json_decref(map);
	json_decref(r);
	check_history(_metadata, self, epoch);
}

TEST_F_TIMEOUT(cl, silent_daemon_goes_down, 40)
{
	uint32_t id;
	long took;

	MAPD_NEED_ENV(&self->env);
	bring_up(_metadata, self, 3);
	id = self->ids[0][1];
	hb_enable(&self->hb, id, false);
	took = WAIT_FOR(TTL_MS + 3000, up_everywhere(self, id, 0));
	ASSERT_LE(0, took);
	TH_LOG("daemon %u down everywhere %ld ms after its last heartbeat",
	       id, took);
	EXPECT_LE(took, GRACE * 1000 + 2000);
	/* The others stay up. */
	EXPECT_TRUE(up_everywhere(self, self->ids[0][0], 1));
	EXPECT_TRUE(up_everywhere(self, self->ids[1][0], 1));

	hb_enable(&self->hb, id, true);
	took = WAIT_FOR(4000, up_everywhere(self, id, 1));
	ASSERT_LE(0, took);
	TH_LOG("up again everywhere after %ld ms", took);
	EXPECT_LE(took, 2000);
	check_history(_metadata, self, 0);
}

TEST_F_TIMEOUT(cl, leader_failover, 45)
{
	char leader[64];
	uint64_t before, epoch;
	int old, now;
	long took;
	json_t *r;
	size_t k;

	MAPD_NEED_ENV(&self->env);
	bring_up(_metadata, self, 3);
	ASSERT_LE(0, WAIT_FOR(5000, converged(self, 1, &before)));
	old = leader_index(self);
	ASSERT_LE(0, old);

	mapd_proc_kill(&self->m[old]);
	took = WAIT_FOR(TTL_MS + 4000, agree_on_leader(self, leader,
						       sizeof(leader)) &&
			strcmp(leader, self->m[old].name));
	ASSERT_LE(0, took) TH_LOG("no new leader after %s was killed",
				  self->m[old].name);
	now = index_of(self, leader);
	ASSERT_LE(0, now);
	ASSERT_NE(old, now);
	/* TAP comment: the failover time. */
	printf("# failover: %s killed, %s leads after %ld ms (lease TTL %d ms)\n",
	       self->m[old].name, leader, took, TTL_MS);
	fflush(stdout);
	EXPECT_LE(took, TTL_MS + 2000);

	/* Its daemons heartbeat to a dead mapd: down. */
	for (k = 0; k < PER_MAPD; k++) {
		uint32_t id = self->ids[old][k];

		EXPECT_LE(0, WAIT_FOR(3000, up_everywhere(self, id, 0)))
			TH_LOG("daemon %u", id);
	}
	ASSERT_LE(0, WAIT_FOR(3000, converged(self, before + 1, &before)));

	/* And the cluster still changes. */
	r = pool_create(&self->m[(old + 1) % 3], "after", 2);
	ASSERT_TRUE(mapd_ok(r)) TH_LOG("%s", mapd_error(r));
	json_decref(r);
	ASSERT_LE(0, WAIT_FOR(5000, converged(self, before + 1, &epoch) &&
			      pool_placed_everywhere(self, "after")));
	TH_LOG("epoch %llu after the change", (unsigned long long)epoch);
	check_history(_metadata, self, epoch);
}

/*
 * Many changes from all mapds at once, daemons going and coming, and a
 * leader change: no epoch is skipped or written twice.
 */
TEST_F_TIMEOUT(cl, epoch_history, 45)
{
	static const char *pools[] = { "p0", "p1", "p2" };
	int fds[MAX_MAPDS], old;
	uint64_t epoch;
	char req[128];
	size_t i;
	json_t *r;

	MAPD_NEED_ENV(&self->env);
	bring_up(_metadata, self, 3);
	/* Three pool creates, one through each mapd, sent at once. */
	for (i = 0; i < 3; i++) {
		fds[i] = mapd_connect(self->m[i].sock, 10000);
		ASSERT_LE(0, fds[i]);
		snprintf(req, sizeof(req),
			 "{\"cmd\":\"pool-create\",\"name\":\"%s\",\"size\":2,\"pgs\":16}\n",
			 pools[i]);
		ASSERT_EQ(0, jl_write_all(fds[i], req, strlen(req)));
	}
	hb_enable(&self->hb, self->ids[1][0], false);
	for (i = 0; i < 3; i++) {
		struct jl_buf b = { 0 };
		char *line = NULL;
		ssize_t n;

		while ((n = jl_buf_take_line(&b, JL_MAX_REPLY, &line)) == 0 &&
		       !line && jl_buf_fill(&b, fds[i]) > 0)
			;
		r = line ? json_loads(line, 0, NULL) : NULL;
		EXPECT_TRUE(mapd_ok(r))
			TH_LOG("%s: %s", pools[i], mapd_error(r));
		json_decref(r);
		free(line);
		jl_buf_free(&b);
		close(fds[i]);
	}
	ASSERT_LE(0, WAIT_FOR(TTL_MS + 3000,
			      up_everywhere(self, self->ids[1][0], 0)));
	hb_enable(&self->hb, self->ids[1][0], true);
	ASSERT_LE(0, WAIT_FOR(3000, up_everywhere(self, self->ids[1][0], 1)));

	old = leader_index(self);
	ASSERT_LE(0, old);
	mapd_proc_kill(&self->m[old]);
	ASSERT_LE(0, WAIT_FOR(TTL_MS + 4000, leader_index(self) >= 0 &&
			      leader_index(self) != old));
	r = pool_create(&self->m[(old + 1) % 3], "p3", 2);
	EXPECT_TRUE(mapd_ok(r)) TH_LOG("%s", mapd_error(r));
	json_decref(r);
	ASSERT_LE(0, WAIT_FOR(6000, converged(self, 1, &epoch) &&
			      pool_placed_everywhere(self, "p3")));
	check_history(_metadata, self, epoch);
}

/* Reads count reply lines from fd; how many were ok. */
static int read_replies(int fd, int count, const char *who)
{
	struct jl_buf b = { 0 };
	int good = 0, got = 0;

	while (got < count) {
		char *line = NULL;
		ssize_t n = jl_buf_take_line(&b, JL_MAX_REPLY, &line);
		json_t *r;

		if (n < 0)
			break;
		if (!line) {
			if (jl_buf_fill(&b, fd) <= 0)
				break;
			continue;
		}
		r = json_loads(line, 0, NULL);
		if (mapd_ok(r))
			good++;
		else
			fprintf(stderr, "# %s: %s\n", who, line);
		json_decref(r);
		free(line);
		got++;
	}
	jl_buf_free(&b);
	return good;
}

TEST_F_TIMEOUT(cl, concurrent_creates, 40)
{
	char req[160], leader[64];
	json_t *r, *v;
	int fa, fb, i;
	uint64_t seen[64];
	size_t n = 0, k, j;

	MAPD_NEED_ENV(&self->env);
	ASSERT_EQ(0, start_mapds(self, 2));
	ASSERT_LE(0, WAIT_FOR(10000, agree_on_leader(self, leader,
						     sizeof(leader))));
	fa = mapd_connect(self->m[0].sock, 20000);
	fb = mapd_connect(self->m[1].sock, 20000);
	ASSERT_LE(0, fa);
	ASSERT_LE(0, fb);
	/* Interleaved, pipelined: both mapds work at the same time. */
	for (i = 0; i < 20; i++) {
		snprintf(req, sizeof(req),
			 "{\"cmd\":\"create\",\"pool\":\"default\",\"name\":\"a%d\",\"size\":1048576}\n", i);
		ASSERT_EQ(0, jl_write_all(fa, req, strlen(req)));
		snprintf(req, sizeof(req),
			 "{\"cmd\":\"create\",\"pool\":\"default\",\"name\":\"b%d\",\"size\":1048576}\n", i);
		ASSERT_EQ(0, jl_write_all(fb, req, strlen(req)));
	}
	EXPECT_EQ(20, read_replies(fa, 20, "a"));
	EXPECT_EQ(20, read_replies(fb, 20, "b"));
	close(fa);
	close(fb);

	/* Both see all 40, with 40 different ids. */
	for (k = 0; k < 2; k++) {
		ASSERT_LE(0, WAIT_FOR(3000, ({
			json_t *__r = mapd_req(&self->m[k], "{\"cmd\":\"ls\"}");
			bool __all = json_array_size(json_object_get(__r, "volumes")) == 40;
			json_decref(__r);
			__all;
		}))) TH_LOG("mapd %s", self->m[k].name);
		r = mapd_req(&self->m[k], "{\"cmd\":\"ls\"}");
		n = 0;
		json_array_foreach(json_object_get(r, "volumes"), j, v) {
			uint64_t id = json_integer_value(json_object_get(v, "id"));

			for (i = 0; i < (int)n; i++) {
				EXPECT_NE(seen[i], id)
					TH_LOG("id %llu twice",
					       (unsigned long long)id);
			}
			if (n < 64)
				seen[n++] = id;
		}
		EXPECT_EQ(40, n);
		json_decref(r);
	}
}

/* Every running mapd's status says etcd is in state s, each answer
 * within 1 s; *slowest the slowest answer.
 */
static bool etcd_state_everywhere(FIXTURE_DATA(cl) *self, const char *s,
				  long *slowest)
{
	bool all = true;
	size_t i;

	for (i = 0; i < self->n; i++) {
		long t0 = test_now_ms(), took;
		json_t *st = status(&self->m[i]);

		took = test_now_ms() - t0;
		if (took > *slowest)
			*slowest = took;
		all = all && mapd_ok(st) && !strcmp(etcd_state(st), s);
		json_decref(st);
	}
	return all;
}

TEST_F_TIMEOUT(cl, etcd_outage, 45)
{
	uint64_t before, epoch;
	long slowest = 0, took;
	json_t *r;
	size_t i;

	MAPD_NEED_ENV(&self->env);
	bring_up(_metadata, self, 2);
	ASSERT_LE(0, WAIT_FOR(5000, converged(self, 1, &before)));

	test_etcd_kill(&self->env.etcd);
	took = WAIT_FOR(5000, etcd_state_everywhere(self, "unreachable",
						    &slowest));
	ASSERT_LE(0, took);
	TH_LOG("both mapds say etcd is unreachable after %ld ms", took);
	/* Still answering, quickly, with the last map. */
	for (i = 0; i < 5; i++) {
		EXPECT_TRUE(etcd_state_everywhere(self, "unreachable",
						  &slowest));
		sleep_ms(200);
	}
	EXPECT_LT(slowest, 1000) TH_LOG("a status took %ld ms", slowest);
	EXPECT_EQ(before, epoch_of(&self->m[0]));
	EXPECT_EQ(before, epoch_of(&self->m[1]));
	for (i = 0; i < 2; i++) {
		r = pool_create(&self->m[i], "during", 1);
		EXPECT_FALSE(mapd_ok(r));
		EXPECT_NE(NULL, strstr(mapd_error(r), "etcd"))
			TH_LOG("pool-create: %s", mapd_error(r));
		json_decref(r);
		r = mapd_req(&self->m[i], "{\"cmd\":\"create\",\"pool\":\"default\",\"name\":\"v\",\"size\":4096}");
		EXPECT_FALSE(mapd_ok(r));
		EXPECT_NE(NULL, strstr(mapd_error(r), "etcd"))
			TH_LOG("create: %s", mapd_error(r));
		json_decref(r);
	}
	EXPECT_EQ(NULL, pool_of(&self->m[0], "during"));

	ASSERT_EQ(0, test_etcd_restart(&self->env.etcd));
	slowest = 0;
	took = WAIT_FOR(10000, etcd_state_everywhere(self, "ok", &slowest));
	ASSERT_LE(0, took);
	TH_LOG("etcd ok again on both %ld ms after its restart", took);
	ASSERT_LE(0, WAIT_FOR(5000, leader_index(self) >= 0));
	r = pool_create(&self->m[1], "after", 2);
	ASSERT_TRUE(mapd_ok(r)) TH_LOG("%s", mapd_error(r));
	json_decref(r);
	ASSERT_LE(0, WAIT_FOR(5000, converged(self, before + 1, &epoch) &&
			      pool_clean_everywhere(self, "after")));
	check_history(_metadata, self, epoch);
}

/*
 * etcd hung (stopped, as behind a partition that drops packets): each
 * request waits for its timeout (1 s), yet status is never held up by
 * more than one of them.
 */
TEST_F_TIMEOUT(cl, etcd_hung, 40)
{
	uint64_t before, epoch;
	long slowest = 0, took;
	json_t *r;
	int i;

	MAPD_NEED_ENV(&self->env);
	bring_up(_metadata, self, 2);
	ASSERT_LE(0, WAIT_FOR(5000, converged(self, 1, &before)));
	ASSERT_EQ(0, kill(self->env.etcd.pid, SIGSTOP));
	took = WAIT_FOR(8000, etcd_state_everywhere(self, "unreachable",
						    &slowest));
	EXPECT_LE(0, took);
	for (i = 0; i < 15; i++) {
		etcd_state_everywhere(self, "unreachable", &slowest);
		sleep_ms(100);
	}
	TH_LOG("unreachable after %ld ms; slowest status %ld ms", took,
	       slowest);
	EXPECT_LT(slowest, 1500);
	ASSERT_EQ(0, kill(self->env.etcd.pid, SIGCONT));
	took = WAIT_FOR(10000, etcd_state_everywhere(self, "ok", &slowest));
	ASSERT_LE(0, took);
	TH_LOG("ok again %ld ms after etcd resumed", took);
	r = pool_create(&self->m[0], "after", 2);
	ASSERT_TRUE(mapd_ok(r)) TH_LOG("%s", mapd_error(r));
	json_decref(r);
	ASSERT_LE(0, WAIT_FOR(5000, converged(self, before + 1, &epoch) &&
			      pool_clean_everywhere(self, "after")));
}

/* The map without its epoch, as p shows it. */
static json_t *placement_of(struct mapd_proc *p)
{
	json_t *map = map_show(p);

	json_object_del(map, "epoch");
	return map;
}

static int put_doc(FIXTURE_DATA(cl) *self, const char *key, const char *doc)
{
	return etcd_put(self->env.e, key, doc, strlen(doc), 0);
}

TEST_F_TIMEOUT(cl, bad_documents, 40)
{
	static const struct {
		bool map;
		const char *doc;
		const char *logged;
	} bad[] = {
		{ true, "not json {", "map document is not a JSON object" },
		{ true, "[1,2,3]", "map document is not a JSON object" },
		{ true, "{\"epoch\":\"x\",\"daemons\":7}", "map document refused" },
		{ true, "{\"epoch\":99,\"daemons\":[],\"pools\":[{\"id\":1,\"pg_count\":128,\"width\":1,\"placement\":\"AAAA\"}]}",
		  "map document refused" },
		{ false, "\xff\xfe garbage", "config document is not a JSON object" },
		{ false, "{\"version\":1}", "config document refused" },
	};
	json_t *want[MAX_MAPDS], *got;
	uint64_t before;
	size_t i, k;
	char leader[64];

	MAPD_NEED_ENV(&self->env);
	bring_up(_metadata, self, 2);
	ASSERT_LE(0, WAIT_FOR(5000, converged(self, 1, &before)));
	for (k = 0; k < self->n; k++)
		want[k] = placement_of(&self->m[k]);

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int logged = 0;

		for (k = 0; k < self->n; k++)
			logged += mapd_proc_log_count(&self->m[k],
						      bad[i].logged);
		ASSERT_EQ(0, put_doc(self, bad[i].map ? self->map_key :
				     self->config_key, bad[i].doc));
		/* Some mapd says so (the others may only see the leader's
		 * next map, written over it). */
		EXPECT_LE(0, WAIT_FOR(3000, ({
			int __n = 0;
			for (k = 0; k < self->n; k++)
				__n += mapd_proc_log_count(&self->m[k],
							   bad[i].logged);
			__n > logged;
		}))) TH_LOG("no \"%s\" logged", bad[i].logged);
		sleep_ms(300);
		for (k = 0; k < self->n; k++) {
			long t0 = test_now_ms();
			json_t *st = status(&self->m[k]);

			ASSERT_TRUE(mapd_proc_alive(&self->m[k]))
				TH_LOG("%s died on %s", self->m[k].name,
				       bad[i].doc);
			EXPECT_TRUE(mapd_ok(st));
			EXPECT_LT(test_now_ms() - t0, 1000);
			EXPECT_LE(before, json_integer_value(
				json_object_get(st, "epoch")));
			json_decref(st);
			/* The same placement as before (the leader may have
			 * written it again, with a new epoch). */
			got = placement_of(&self->m[k]);
			EXPECT_TRUE(json_equal(want[k], got))
				TH_LOG("%s changed its map on %s",
				       self->m[k].name, bad[i].doc);
			json_decref(got);
		}
	}
	for (k = 0; k < self->n; k++)
		json_decref(want[k]);
	EXPECT_TRUE(agree_on_leader(self, leader, sizeof(leader)));
}

/* The document at key parses, as JSON; its "epoch" (0 if none). */
static bool doc_readable(FIXTURE_DATA(cl) *self, const char *key,
			 uint64_t *epoch)
{
	struct etcd_kv kv;
	bool readable;
	json_t *j;

	if (etcd_get(self->env.e, key, &kv, NULL))
		return false;
	j = json_loadb(kv.value, kv.value_len, 0, NULL);
	etcd_kv_free(&kv);
	readable = json_is_object(j);
	if (epoch)
		*epoch = json_integer_value(json_object_get(j, "epoch"));
	json_decref(j);
	return readable;
}

/*
 * Unreadable documents in etcd do not wedge the cluster: the leader
 * writes the next map over an unreadable one, and a change is made on
 * the last readable config and written over an unreadable one (as both
 * are when they are JSON but invalid), rather than retried against a
 * revision the mapd never takes.
 */
TEST_F_TIMEOUT(cl, unreadable_documents_written_over, 40)
{
	uint64_t before, epoch = 0, in_etcd = 0;
	json_t *r;
	int old;

	MAPD_NEED_ENV(&self->env);
	bring_up(_metadata, self, 2);
	ASSERT_LE(0, WAIT_FOR(5000, converged(self, 1, &before)));

	old = mapd_proc_log_count(&self->m[0], "map document is not");
	ASSERT_EQ(0, put_doc(self, self->map_key, "not json {"));
	ASSERT_LE(0, WAIT_FOR(3000, mapd_proc_log_count(&self->m[0],
				"map document is not") > old));
	r = pool_create(&self->m[1], "later", 2);
	ASSERT_TRUE(mapd_ok(r)) TH_LOG("%s", mapd_error(r));
	json_decref(r);
	EXPECT_LE(0, WAIT_FOR(5000, converged(self, before + 1, &epoch) &&
			      pool_clean_everywhere(self, "later")))
		TH_LOG("the new pool was not placed: the map stays unreadable");
	EXPECT_TRUE(doc_readable(self, self->map_key, &in_etcd));
	EXPECT_LT(before, in_etcd);
	EXPECT_EQ(epoch, in_etcd);

	old = mapd_proc_log_count(&self->m[1], "config document is not");
	ASSERT_EQ(0, put_doc(self, self->config_key, "\x01 garbage"));
	ASSERT_LE(0, WAIT_FOR(3000, mapd_proc_log_count(&self->m[1],
				"config document is not") > old));
	r = mapd_req(&self->m[1], "{\"cmd\":\"create\",\"pool\":\"default\",\"name\":\"v\",\"size\":4096}");
	EXPECT_TRUE(mapd_ok(r)) TH_LOG("create: %s", mapd_error(r));
	json_decref(r);
	EXPECT_TRUE(doc_readable(self, self->config_key, NULL));
	/* Both mapds have the volume, the pools and the daemons. */
	EXPECT_LE(0, WAIT_FOR(3000, ({
		json_t *__a = mapd_req(&self->m[0], "{\"cmd\":\"ls\"}");
		bool __has = json_array_size(json_object_get(__a, "volumes")) == 1;
		json_decref(__a);
		__has;
	})));
	EXPECT_TRUE(pool_clean_everywhere(self, "later"));
	EXPECT_TRUE(all_up_everywhere(self));
}

TEST_HARNESS_MAIN
