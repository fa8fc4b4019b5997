// SPDX-License-Identifier: GPL-2.0-only
/*
 * Recovery progress in cluster mode against a real etcd: two sanitized
 * shard-mapd processes (--no-kernel, --grace 2), one fake daemon
 * heartbeating to each with a "recovery" object, as shardd does it. The
 * figures travel in the daemons' alive keys, so that each mapd's status
 * sums every daemon of the cluster: the other mapd's daemon's from its
 * key (its rate from the copied figures seen there, every 10 s while
 * they change; its daemon-ls entry too), and a finished recovery
 * (objects down to 0) shows at once.
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

#define CLUSTER		"rec"
#define GRACE		2.0
#define NMAPDS		2
#define MIB		(1LL << 20)

/* A fake daemon's session and what it says it copies. */
struct fake {
	int fd;			/* -1: none */
	uint32_t id;
	long long objects, bytes, copied;
	long long per_s;	/* copied grows by this much a second */
	long since;		/* test_now_ms() when per_s was set */
};

FIXTURE(crec) {
	struct mapd_env env;
	struct mapd_proc m[NMAPDS];
	size_t n;
	struct fake d[NMAPDS];	/* d[i] heartbeats to m[i] */
};

FIXTURE_SETUP(crec)
{
	char err[256] = "";
	size_t i;

	signal(SIGPIPE, SIG_IGN);
	for (i = 0; i < NMAPDS; i++)
		self->d[i].fd = -1;
	if (!test_etcd_bin() || !mapd_proc_bin() ||
	    !mapd_test_selected(_metadata->name))
		return;		/* each test skips */
	ASSERT_EQ(0, mapd_env_start(&self->env, "/tmp/mapd-recovery.XXXXXX",
				    NULL, err, sizeof(err)))
		TH_LOG("%s", err);
}

FIXTURE_TEARDOWN(crec)
{
	size_t i;

	for (i = 0; i < NMAPDS; i++)
		if (self->d[i].fd >= 0)
			close(self->d[i].fd);
	EXPECT_EQ(0, mapd_env_finish(&self->env, NULL, self->m, self->n,
				     NULL, !_metadata->passed));
}

static long long copied_now(const struct fake *f)
{
	return f->copied + f->per_s * (test_now_ms() - f->since) / 1000;
}

/* Copying from now on at per_s bytes a second. */
static void set_rate(struct fake *f, long long per_s)
{
	f->copied = copied_now(f);
	f->per_s = per_s;
	f->since = test_now_ms();
}

/* One heartbeat of each daemon that has a session. */
static void beat(FIXTURE_DATA(crec) *self)
{
	char req[512];
	json_t *r;
	size_t i;
	int err;

	for (i = 0; i < NMAPDS; i++) {
		struct fake *f = &self->d[i];

		if (f->fd < 0)
			continue;
		snprintf(req, sizeof(req),
			 "{\"cmd\":\"daemon-heartbeat\",\"id\":%u,\"epoch\":1,\"used\":0,"
			 "\"recovery\":{\"objects\":%lld,\"bytes\":%lld,\"copied\":%lld}}",
			 f->id, f->objects, f->bytes, copied_now(f));
		r = mapd_call_fd(f->fd, req, &err);
		if (!mapd_ok(r))
			fprintf(stderr, "# heartbeat of %u: %s\n", f->id,
				r ? mapd_error(r) : strerror(-err));
		json_decref(r);
	}
}

/* Heartbeats every 200 ms until cond holds, for ms at most: ms it took, or -1. */
#define BEAT_UNTIL(self, ms, cond) STEP_UNTIL(beat(self), 200, ms, cond)

/* A daemon as shardd registers it, its session kept in f. */
static uint32_t register_on(struct mapd_proc *p, struct fake *f, int port)
{
	char req[256];
	json_t *r;
	int err;

	f->fd = mapd_connect(p->sock, 2000);
	if (f->fd < 0)
		return 0;
	snprintf(req, sizeof(req),
		 "{\"cmd\":\"daemon-register\",\"addr\":\"127.0.0.1\",\"port\":%d,"
		 "\"capacity\":%llu,\"class\":\"ssd\",\"host\":\"host-%s\"}",
		 port, 100ULL << 30, p->name);
	r = mapd_call_fd(f->fd, req, &err);
	if (mapd_ok(r))
		f->id = json_integer_value(json_object_get(r, "id"));
	else
		fprintf(stderr, "# register on %s: %s\n", p->name,
			r ? mapd_error(r) : strerror(-err));
	json_decref(r);
	f->since = test_now_ms();
	return f->id;
}

/* mapd p's status "recovery" (daemon id's when id is not 0); {} if none. */
static json_t *recovery_of(struct mapd_proc *p, uint32_t id)
{
	json_t *r = mapd_req(p, "{\"cmd\":\"status\"}"), *rec = NULL, *d;
	size_t i;

	if (!id)
		rec = json_object_get(r, "recovery");
	json_array_foreach(json_object_get(r, "daemons"), i, d)
		if (id && json_integer_value(json_object_get(d, "id")) == id)
			rec = json_object_get(d, "recovery");
	rec = json_incref(rec);
	json_decref(r);
	return rec ? rec : json_object();
}

/* mapd p's daemon-ls "recovery" of daemon id; NULL when none. */
static json_t *ls_recovery_of(struct mapd_proc *p, uint32_t id)
{
	json_t *r = mapd_req(p, "{\"cmd\":\"daemon-ls\"}"), *rec = NULL, *d;
	size_t i;

	json_array_foreach(json_object_get(r, "daemons"), i, d)
		if (json_integer_value(json_object_get(d, "id")) == id)
			rec = json_incref(json_object_get(d, "recovery"));
	json_decref(r);
	return rec;
}

static long long num(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);

	return json_is_integer(v) ? json_integer_value(v) : -1;
}

static long long copied_of(struct mapd_proc *p)
{
	json_t *r = recovery_of(p, 0);
	long long copied = num(r, "copied");

	json_decref(r);
	return copied;
}

/* mapd p's sums are these (copied: at least). */
static bool sums(struct mapd_proc *p, long long objects, long long bytes,
		 long long copied)
{
	json_t *r = recovery_of(p, 0);
	bool ok = num(r, "objects") == objects && num(r, "bytes") == bytes &&
		  num(r, "copied") >= copied;

	json_decref(r);
	return ok;
}

/* mapd p's summed rate is in [lo, hi], with an eta. */
static bool rate_in(struct mapd_proc *p, long long lo, long long hi)
{
	json_t *r = recovery_of(p, 0);
	bool ok = num(r, "rate") >= lo && num(r, "rate") <= hi &&
		  num(r, "eta") >= 0;

	json_decref(r);
	return ok;
}

TEST_F_TIMEOUT(crec, summed_over_the_cluster, 120)
{
	struct fake *a = &self->d[0], *b = &self->d[1];
	long took;
	json_t *r;

	MAPD_NEED_ENV(&self->env);
	ASSERT_EQ(0, mapd_procs_start(self->m, NMAPDS, &self->n, &self->env,
				      CLUSTER, GRACE));
	ASSERT_LE(0, WAIT_FOR(10000, mapd_leader_index(self->m, self->n) >= 0));
	ASSERT_NE(0, register_on(&self->m[0], a, 7000));
	ASSERT_NE(0, register_on(&self->m[1], b, 7001));

	/* Each mapd sums its own daemon and the other's. */
	a->objects = 10;
	a->bytes = 100 * MIB;
	a->copied = 1024 * MIB;
	b->objects = 5;
	b->bytes = 50 * MIB;
	took = BEAT_UNTIL(self, 10000,
			  sums(&self->m[0], 15, 150 * MIB, 1024 * MIB) &&
			  sums(&self->m[1], 15, 150 * MIB, 1024 * MIB));
	ASSERT_LE(0, took);
	TH_LOG("both mapds sum both daemons after %ld ms", took);
	r = recovery_of(&self->m[1], a->id);
	EXPECT_EQ(10, num(r, "objects"));
	EXPECT_EQ(1024 * MIB, num(r, "copied"));
	json_decref(r);
	r = recovery_of(&self->m[0], b->id);
	EXPECT_EQ(5, num(r, "objects"));
	json_decref(r);
	/* daemon-ls has them too, the other mapd's daemon's from its key. */
	r = ls_recovery_of(&self->m[1], a->id);
	ASSERT_NE(NULL, r);
	EXPECT_EQ(10, num(r, "objects"));
	EXPECT_EQ(100 * MIB, num(r, "bytes"));
	EXPECT_EQ(1024 * MIB, num(r, "copied"));
	EXPECT_EQ(NULL, json_object_get(r, "eta"));
	json_decref(r);

	/*
	 * a copies 20 MiB/s: its mapd sees it from the heartbeats, the
	 * other from its alive key, put again every 10 s while it changes.
	 */
	set_rate(a, 20 * MIB);
	/* The window fills in 10 s. */
	took = BEAT_UNTIL(self, 15000, rate_in(&self->m[0], 15 * MIB, 25 * MIB));
	EXPECT_LE(0, took);
	took = BEAT_UNTIL(self, 40000, rate_in(&self->m[1], 8 * MIB, 30 * MIB));
	EXPECT_LE(0, took);
	TH_LOG("the other mapd has a's rate after %ld ms more", took);
	r = recovery_of(&self->m[1], 0);
	TH_LOG("%s's recovery: objects %lld bytes %lld rate %lld eta %lld copied %lld",
	       self->m[1].name, num(r, "objects"), num(r, "bytes"),
	       num(r, "rate"), num(r, "eta"), num(r, "copied"));
	EXPECT_LT(1024 * MIB, num(r, "copied"));
	json_decref(r);

	/* a is done: the other mapd knows at once, not 10 s later. */
	set_rate(a, 0);
	a->objects = 0;
	a->bytes = 0;
	took = BEAT_UNTIL(self, 3000, sums(&self->m[1], 5, 50 * MIB, 0));
	EXPECT_LE(0, took);
	TH_LOG("a's recovery over on the other mapd after %ld ms", took);
	b->objects = 0;
	b->bytes = 0;
	took = BEAT_UNTIL(self, 3000, sums(&self->m[0], 0, 0, 1024 * MIB) &&
				      sums(&self->m[1], 0, 0, 1024 * MIB));
	EXPECT_LE(0, took);
	r = recovery_of(&self->m[0], 0);
	EXPECT_TRUE(json_is_null(json_object_get(r, "eta")));
	json_decref(r);

	/* a's session ends: its key goes, and its figures with it. */
	close(a->fd);
	a->fd = -1;
	b->copied = 7;
	took = BEAT_UNTIL(self, 8000, copied_of(&self->m[1]) == 7 &&
				      copied_of(&self->m[0]) < 1024 * MIB);
	EXPECT_LE(0, took);
}

TEST_HARNESS_MAIN
