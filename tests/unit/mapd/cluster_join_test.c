// SPDX-License-Identifier: GPL-2.0-only
/*
 * shardctl cluster create|join against a real etcd: mapds that start
 * alone become members of a cluster, stay members across a restart
 * without --etcd, and a daemon registered on a host alone, whose id is
 * another store's in the cluster, is told so ("id-taken") and gets a new
 * id when it asks with its store's uuid.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "../etcd/etcd_fixture.h"
#include "mapd_proc.h"

#define CALL_MS		3000
#define UUID_A		"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define UUID_B		"bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"

FIXTURE(join) {
	struct test_etcd etcd;
	char dir[64], dir_a[96], dir_b[96];
	struct mapd_proc a, b;
	struct hb_set hb;
	bool ready;
};

FIXTURE_SETUP(join)
{
	signal(SIGPIPE, SIG_IGN);
	if (!test_etcd_bin() || !mapd_proc_bin())
		return;
	strcpy(self->dir, "/tmp/mapd-join.XXXXXX");
	ASSERT_NE(NULL, mkdtemp(self->dir));
	snprintf(self->dir_a, sizeof(self->dir_a), "%s/a", self->dir);
	snprintf(self->dir_b, sizeof(self->dir_b), "%s/b", self->dir);
	ASSERT_EQ(0, mkdir(self->dir_a, 0700));
	ASSERT_EQ(0, mkdir(self->dir_b, 0700));
	ASSERT_EQ(0, test_etcd_start(&self->etcd, 1));
	ASSERT_EQ(0, hb_start(&self->hb, 300));
	self->ready = true;
}

FIXTURE_TEARDOWN(join)
{
	struct mapd_proc *p[] = { &self->a, &self->b };
	char cmd[128];
	size_t i;

	if (!self->ready)
		return;
	hb_stop(&self->hb);
	for (i = 0; i < 2; i++) {
		bool was_running = p[i]->pid > 0;
		int status = mapd_proc_stop(p[i], 5000);

		if (was_running)
			EXPECT_TRUE(WIFEXITED(status) && !WEXITSTATUS(status))
				TH_LOG("mapd %s: wait status %d", p[i]->name,
				       status);
		if (p[i]->name[0]) {
			EXPECT_TRUE(mapd_proc_log_clean(p[i]));
			if (!_metadata->passed)
				mapd_proc_log_tail(p[i], 3000);
		}
	}
	test_etcd_stop(&self->etcd);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", self->dir);
	if (system(cmd))
		fprintf(stderr, "# cannot remove %s\n", self->dir);
}

static json_t *call(struct mapd_proc *p, const char *req)
{
	int err;
	json_t *r = mapd_call(p->sock, req, CALL_MS, &err);

	return r ? r : json_pack("{s:b, s:s}", "ok", 0, "error",
				 strerror(err));
}

static bool ok(json_t *r)
{
	return json_is_true(json_object_get(r, "ok"));
}

static const char *error_of(json_t *r)
{
	const char *e = json_string_value(json_object_get(r, "error"));

	return e ? e : "";
}

/* A cluster-create or cluster-join request for cluster "t". */
static json_t *enter(FIXTURE_DATA(join) *self, struct mapd_proc *p,
		     const char *cmd, const char *name)
{
	char req[512];

	snprintf(req, sizeof(req),
		 "{\"cmd\":\"%s\",\"cluster\":\"t\",\"etcd\":\"%s\",\"name\":\"%s\"}",
		 cmd, self->etcd.url, name);
	return call(p, req);
}

static const char *mode_of(struct mapd_proc *p, char *buf, size_t len)
{
	json_t *st = call(p, "{\"cmd\":\"status\"}");
	const char *mode = json_string_value(json_object_get(st, "mode"));
	const char *etcd = json_string_value(json_object_get(
		json_object_get(st, "etcd"), "state"));

	snprintf(buf, len, "%s/%s", mode ? mode : "?",
		 etcd ? etcd : "-");
	json_decref(st);
	return buf;
}

/* Polls until p's mode/etcd state is want; true if it got there. */
static bool wait_mode(struct mapd_proc *p, const char *want, long ms)
{
	char buf[64];

	for (; ms > 0; ms -= 100) {
		if (!strcmp(mode_of(p, buf, sizeof(buf)), want))
			return true;
		usleep(100 * 1000);
	}
	return false;
}

#define REG(port, id, uuid)						\
	"{\"cmd\":\"daemon-register\",\"id\":" #id ",\"addr\":\"127.0.0.1\","	\
	"\"port\":" #port ",\"capacity\":1073741824,\"class\":\"ssd\","	\
	"\"host\":\"h\",\"uuid\":\"" uuid "\"}"

#define HB(id) "{\"cmd\":\"daemon-heartbeat\",\"id\":" #id ",\"epoch\":0}"

/* Whether daemon id is up in p's status. */
static bool daemon_up(struct mapd_proc *p, uint32_t id)
{
	json_t *st = call(p, "{\"cmd\":\"status\"}"), *d;
	bool up = false;
	size_t i;

	json_array_foreach(json_object_get(st, "daemons"), i, d)
		if (json_integer_value(json_object_get(d, "id")) == id)
			up = json_is_true(json_object_get(d, "up"));
	json_decref(st);
	return up;
}

static bool has_volume(struct mapd_proc *p, const char *name)
{
	json_t *r = call(p, "{\"cmd\":\"ls\"}");
	char *text = json_dumps(r, JSON_COMPACT);
	bool found = text && strstr(text, name);

	free(text);
	json_decref(r);
	return found;
}

TEST_F_TIMEOUT(join, create_then_join, 60)
{
	json_t *r;
	int err, fd;

	if (!self->ready)
		SKIP(return, "needs etcd and build/asan/shard-mapd");

	/* A: a host alone with a daemon and a volume. */
	ASSERT_EQ(0, mapd_proc_start(&self->a, self->dir_a, "a", NULL, NULL,
				     2.0));
	ASSERT_EQ(0, mapd_proc_wait_ready(&self->a, 10000));
	r = hb_register(&self->hb, self->a.sock, REG(7001, 0, UUID_A), &err);
	ASSERT_NE(NULL, r) TH_LOG("%s", strerror(err));
	ASSERT_EQ(1, json_integer_value(json_object_get(r, "id")));
	json_decref(r);
	r = call(&self->a, "{\"cmd\":\"create\",\"pool\":\"default\",\"name\":\"va\",\"size\":1048576}");
	ASSERT_TRUE(ok(r)) TH_LOG("%s", error_of(r));
	json_decref(r);

	/* Nothing to join yet. */
	r = enter(self, &self->a, "cluster-join", "a");
	EXPECT_FALSE(ok(r));
	EXPECT_NE(NULL, strstr(error_of(r), "there is no cluster t"))
		TH_LOG("%s", error_of(r));
	json_decref(r);

	r = enter(self, &self->a, "cluster-create", "a");
	ASSERT_TRUE(ok(r)) TH_LOG("%s", error_of(r));
	EXPECT_STREQ("t", json_string_value(json_object_get(r, "cluster")));
	json_decref(r);
	EXPECT_TRUE(wait_mode(&self->a, "cluster/ok", 10000));
	r = enter(self, &self->a, "cluster-create", "a");
	EXPECT_NE(NULL, strstr(error_of(r), "already a member"))
		TH_LOG("%s", error_of(r));
	json_decref(r);

	/* B: alone, its daemon got id 1 too (on a session that heartbeats),
	 * and it has a volume. */
	ASSERT_EQ(0, mapd_proc_start(&self->b, self->dir_b, "b", NULL, NULL,
				     2.0));
	ASSERT_EQ(0, mapd_proc_wait_ready(&self->b, 10000));
	fd = mapd_connect(self->b.sock, CALL_MS);
	ASSERT_LE(0, fd);
	r = mapd_call_fd(fd, REG(7002, 0, UUID_B), &err);
	ASSERT_NE(NULL, r);
	ASSERT_EQ(1, json_integer_value(json_object_get(r, "id")));
	json_decref(r);
	r = mapd_call_fd(fd, HB(1), &err);
	ASSERT_TRUE(ok(r));
	json_decref(r);
	r = call(&self->b, "{\"cmd\":\"create\",\"pool\":\"default\",\"name\":\"vb\",\"size\":1048576}");
	ASSERT_TRUE(ok(r));
	json_decref(r);
	r = enter(self, &self->b, "cluster-create", "b");
	EXPECT_NE(NULL, strstr(error_of(r), "already exists"))
		TH_LOG("%s", error_of(r));
	json_decref(r);
	r = enter(self, &self->b, "cluster-join", "b");
	EXPECT_NE(NULL, strstr(error_of(r), "holds volumes (default/vb)"))
		TH_LOG("%s", error_of(r));
	json_decref(r);
	r = call(&self->b, "{\"cmd\":\"rm\",\"pool\":\"default\",\"name\":\"vb\"}");
	ASSERT_TRUE(ok(r)) TH_LOG("%s", error_of(r));
	json_decref(r);
	r = enter(self, &self->b, "cluster-join", "b");
	ASSERT_TRUE(ok(r)) TH_LOG("%s", error_of(r));
	json_decref(r);
	/* The session from before the join is closed: its heartbeat for
	 * id 1 would speak for A's daemon. */
	r = mapd_call_fd(fd, HB(1), &err);
	EXPECT_EQ(NULL, r) TH_LOG("a heartbeat on an old session was taken");
	json_decref(r);
	close(fd);
	EXPECT_TRUE(wait_mode(&self->b, "cluster/ok", 10000));
	/* B now sees the cluster's state: A's volume, not its own. */
	EXPECT_TRUE(has_volume(&self->b, "va"));
	EXPECT_FALSE(has_volume(&self->b, "vb"));

	/* B's daemon, registering again as shardd does: id 1 is A's
	 * daemon's in the cluster; with id 0 it gets one of its own, and
	 * again the same one. */
	r = call(&self->b, REG(7002, 1, UUID_B));
	EXPECT_FALSE(ok(r));
	EXPECT_STREQ("id-taken",
		     json_string_value(json_object_get(r, "reason")));
	json_decref(r);
	r = call(&self->b, REG(7002, 0, UUID_B));
	ASSERT_TRUE(ok(r)) TH_LOG("%s", error_of(r));
	EXPECT_EQ(2, json_integer_value(json_object_get(r, "id")));
	json_decref(r);
	r = call(&self->b, REG(7002, 0, UUID_B));
	EXPECT_EQ(2, json_integer_value(json_object_get(r, "id")));
	json_decref(r);

	/* A's daemon 1 stayed up throughout, past B's grace period. */
	usleep(5000 * 1000);
	EXPECT_TRUE(daemon_up(&self->a, 1));
	EXPECT_TRUE(daemon_up(&self->b, 1));

	/* Restarted without --etcd, B is still a member. */
	EXPECT_EQ(0, WEXITSTATUS(mapd_proc_stop(&self->b, 5000)));
	ASSERT_EQ(0, mapd_proc_start(&self->b, self->dir_b, "b", NULL, NULL,
				     2.0));
	ASSERT_EQ(0, mapd_proc_wait_ready(&self->b, 10000));
	EXPECT_TRUE(wait_mode(&self->b, "cluster/ok", 10000));
	EXPECT_TRUE(has_volume(&self->b, "va"));
}

/* Bad requests: clear errors, nothing remembered, mapd stays alone. */
TEST_F_TIMEOUT(join, bad_requests, 30)
{
	char path[160], buf[64];
	json_t *r;

	if (!self->ready)
		SKIP(return, "needs etcd and build/asan/shard-mapd");
	ASSERT_EQ(0, mapd_proc_start(&self->a, self->dir_a, "a", NULL, NULL,
				     2.0));
	ASSERT_EQ(0, mapd_proc_wait_ready(&self->a, 10000));
	r = call(&self->a, "{\"cmd\":\"cluster-create\",\"cluster\":\"t\"}");
	EXPECT_NE(NULL, strstr(error_of(r), "\"etcd\"")) TH_LOG("%s", error_of(r));
	json_decref(r);
	r = call(&self->a, "{\"cmd\":\"cluster-create\",\"cluster\":\"t/x\",\"etcd\":\"http://127.0.0.1:1\"}");
	EXPECT_NE(NULL, strstr(error_of(r), "must match")) TH_LOG("%s", error_of(r));
	json_decref(r);
	r = call(&self->a, "{\"cmd\":\"cluster-create\",\"cluster\":\"t\",\"etcd\":\"ftp://x\"}");
	EXPECT_NE(NULL, strstr(error_of(r), "http")) TH_LOG("%s", error_of(r));
	json_decref(r);
	r = call(&self->a, "{\"cmd\":\"cluster-create\",\"cluster\":\"t\",\"etcd\":\"http://127.0.0.1:1\"}");
	EXPECT_NE(NULL, strstr(error_of(r), "etcd")) TH_LOG("%s", error_of(r));
	json_decref(r);
	r = call(&self->a, "{\"cmd\":\"cluster-join\",\"cluster\":7,\"etcd\":\"http://127.0.0.1:1\"}");
	EXPECT_FALSE(ok(r));
	json_decref(r);
	snprintf(path, sizeof(path), "%s/cluster.json", self->dir_a);
	EXPECT_NE(0, access(path, F_OK));
	EXPECT_STREQ("embedded/-", mode_of(&self->a, buf, sizeof(buf)));

	/* A cluster.json that is not right: mapd refuses to start. */
	EXPECT_EQ(0, mapd_proc_stop(&self->a, 5000) & 0xff00);
	FILE *f = fopen(path, "w");

	ASSERT_NE(NULL, f);
	fputs("{\"etcd\":\"\",\"cluster\":\"t\"}\n", f);
	fclose(f);
	ASSERT_EQ(0, mapd_proc_start(&self->a, self->dir_a, "a", NULL, NULL,
				     2.0));
	EXPECT_NE(0, mapd_proc_wait_ready(&self->a, 5000));
	EXPECT_TRUE(mapd_proc_log_has(&self->a, "cluster.json"));
}

TEST_HARNESS_MAIN
