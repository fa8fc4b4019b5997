// SPDX-License-Identifier: GPL-2.0-only
/*
 * Recovery progress on one host (embedded mode): the "recovery" object
 * of daemon-heartbeat (absent, good, bad: refused and nothing changed),
 * status's sums, the copy rate from heartbeats some time apart, the eta,
 * a daemon restart (copied going down) as a new baseline, daemon-ls's
 * figures (only for daemons that report some), and a failed commit that
 * keeps the samples. The rate arithmetic itself is checked on made-up
 * clocks. Cluster mode is tested against etcd in recovery_etcd_test.c.
 */
#include <math.h>
#include <sys/stat.h>

#include "kselftest_harness.h"
#include "mapd_test.h"
#include "recovery.h"

#define MIB	(1ULL << 20)

MAPD_FIXTURE(rec)

static void heartbeat(struct __test_metadata *_metadata, struct mapd *m,
		      uint32_t id, const char *recovery)
{
	char line[512];

	snprintf(line, sizeof(line),
		 "{\"cmd\":\"daemon-heartbeat\",\"id\":%u,\"epoch\":1,\"used\":%u%s%s}",
		 id, id * 1000, recovery ? ",\"recovery\":" : "",
		 recovery ? recovery : "");
	EXPECT_OK(m, line);
}

/* status's "recovery" (a new reference, never NULL). */
static json_t *status_recovery(struct mapd *m)
{
	json_t *r = test_request(m, REQ({"cmd":"status"}));
	json_t *rec = json_incref(json_object_get(r, "recovery"));

	json_decref(r);
	return rec ? rec : json_object();
}

/* A daemon's own figures in status's "daemons". */
static json_t *daemon_recovery(struct mapd *m, uint32_t id)
{
	json_t *r = test_request(m, REQ({"cmd":"status"})), *d, *rec = NULL;
	size_t i;

	json_array_foreach(json_object_get(r, "daemons"), i, d)
		if (json_integer_value(json_object_get(d, "id")) == id)
			rec = json_incref(json_object_get(d, "recovery"));
	json_decref(r);
	return rec ? rec : json_object();
}

static long long num(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);

	return json_is_integer(v) ? json_integer_value(v) : -1;
}

static long long used_of(struct mapd *m, uint32_t id)
{
	json_t *r = test_request(m, REQ({"cmd":"daemon-ls"})), *d;
	long long used = -1;
	size_t i;

	json_array_foreach(json_object_get(r, "daemons"), i, d)
		if (json_integer_value(json_object_get(d, "id")) == id)
			used = num(d, "used");
	json_decref(r);
	return used;
}

TEST_F(rec, idle_and_absent)
{
	struct mapd *m = &self->m;
	uint32_t a = test_register(m, "node1", NULL, 100, "ssd");
	json_t *r;

	ASSERT_NE(0, a);
	/* Always there, zeros when idle. */
	r = status_recovery(m);
	EXPECT_EQ(5, json_object_size(r));
	EXPECT_EQ(0, num(r, "objects"));
	EXPECT_EQ(0, num(r, "bytes"));
	EXPECT_EQ(0, num(r, "rate"));
	EXPECT_EQ(0, num(r, "copied"));
	EXPECT_TRUE(json_is_null(json_object_get(r, "eta")));
	json_decref(r);
	/* A daemon that predates it, and null: all 0. */
	heartbeat(_metadata, m, a, "{\"objects\":3,\"bytes\":300,\"copied\":7}");
	heartbeat(_metadata, m, a, NULL);
	r = status_recovery(m);
	EXPECT_EQ(0, num(r, "objects"));
	EXPECT_EQ(0, num(r, "copied"));
	json_decref(r);
	heartbeat(_metadata, m, a, "{\"objects\":3,\"bytes\":300,\"copied\":7}");
	heartbeat(_metadata, m, a, "null");
	r = status_recovery(m);
	EXPECT_EQ(0, num(r, "objects"));
	json_decref(r);
	/* Per daemon too, without eta. */
	r = daemon_recovery(m, a);
	EXPECT_EQ(4, json_object_size(r));
	EXPECT_EQ(0, num(r, "objects"));
	EXPECT_EQ(0, num(r, "rate"));
	json_decref(r);
}

TEST_F(rec, bad_values_change_nothing)
{
	static const char *const bad[][2] = {
		{ "5", "field \"recovery\" must be an object" },
		{ "[1,2,3]", "field \"recovery\" must be an object" },
		{ "\"x\"", "field \"recovery\" must be an object" },
		{ "true", "field \"recovery\" must be an object" },
		{ "{}", "field \"recovery.objects\" must be a non-negative integer" },
		{ "{\"objects\":1,\"bytes\":2}",
		  "field \"recovery.copied\" must be a non-negative integer" },
		{ "{\"objects\":-1,\"bytes\":2,\"copied\":3}",
		  "field \"recovery.objects\" must be a non-negative integer" },
		{ "{\"objects\":1,\"bytes\":2.5,\"copied\":3}",
		  "field \"recovery.bytes\" must be a non-negative integer" },
		{ "{\"objects\":1,\"bytes\":\"2\",\"copied\":3}",
		  "field \"recovery.bytes\" must be a non-negative integer" },
		{ "{\"objects\":1,\"bytes\":2,\"copied\":null}",
		  "field \"recovery.copied\" must be a non-negative integer" },
		{ "{\"objects\":1,\"bytes\":2,\"copied\":99999999999999999999}",
		  "" },	/* not even JSON jansson takes */
	};
	struct mapd *m = &self->m;
	uint32_t a = test_register(m, "node1", NULL, 100, "ssd");
	char line[512];
	json_t *r;
	size_t i;

	ASSERT_NE(0, a);
	heartbeat(_metadata, m, a, "{\"objects\":5,\"bytes\":500,\"copied\":50}");
	ASSERT_EQ(a * 1000, used_of(m, a));
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(line, sizeof(line),
			 "{\"cmd\":\"daemon-heartbeat\",\"id\":%u,\"epoch\":1,\"used\":1,\"recovery\":%s}",
			 a, bad[i][0]);
		EXPECT_ERROR(m, line, bad[i][1]);
	}
	/* Neither the recovery nor "used" changed. */
	r = status_recovery(m);
	EXPECT_EQ(5, num(r, "objects"));
	EXPECT_EQ(500, num(r, "bytes"));
	EXPECT_EQ(50, num(r, "copied"));
	json_decref(r);
	EXPECT_EQ(a * 1000, used_of(m, a));
	/* Fields it does not know are left alone. */
	heartbeat(_metadata, m, a,
		  "{\"objects\":4,\"bytes\":400,\"copied\":60,\"pgs\":2}");
	r = status_recovery(m);
	EXPECT_EQ(4, num(r, "objects"));
	json_decref(r);
}

TEST_F(rec, sums_rate_and_eta)
{
	struct mapd *m = &self->m;
	uint32_t a = test_register(m, "node1", NULL, 100, "ssd");
	uint32_t b = test_register(m, "node2", NULL, 100, "ssd");
	uint32_t c = test_register(m, "node3", NULL, 100, "ssd");
	long long rate, lo, hi;
	char rec[256];
	json_t *r;

	ASSERT_NE(0, c);
	heartbeat(_metadata, m, a, "{\"objects\":10,\"bytes\":104857600,\"copied\":0}");
	heartbeat(_metadata, m, b, "{\"objects\":2,\"bytes\":1048576,\"copied\":4096}");
	heartbeat(_metadata, m, c, NULL);
	r = status_recovery(m);
	EXPECT_EQ(12, num(r, "objects"));
	EXPECT_EQ(100 * MIB + MIB, num(r, "bytes"));
	EXPECT_EQ(4096, num(r, "copied"));
	/* One report each: no rate yet, no eta. */
	EXPECT_EQ(0, num(r, "rate"));
	EXPECT_TRUE(json_is_null(json_object_get(r, "eta")));
	json_decref(r);

	/* a copies 50 MiB in half a second or so. */
	usleep(500000);
	snprintf(rec, sizeof(rec),
		 "{\"objects\":6,\"bytes\":%llu,\"copied\":%llu}",
		 50 * MIB, 50 * MIB);
	heartbeat(_metadata, m, a, rec);
	r = daemon_recovery(m, a);
	rate = num(r, "rate");
	/* 50 MiB over 0.5 s and whatever the machine added to it. */
	lo = 50 * MIB / 2;
	hi = 100 * MIB;
	EXPECT_LE(lo, rate);
	EXPECT_GE(hi, rate);
	EXPECT_EQ(6, num(r, "objects"));
	EXPECT_EQ(50 * MIB, num(r, "copied"));
	json_decref(r);
	r = status_recovery(m);
	EXPECT_EQ(8, num(r, "objects"));
	EXPECT_EQ(51 * MIB, num(r, "bytes"));
	EXPECT_EQ(50 * MIB + 4096, num(r, "copied"));
	/* b's rate is 0 (one report): the sum is a's. */
	EXPECT_EQ(rate, num(r, "rate"));
	EXPECT_EQ((long long)ceil((double)(51 * MIB) / (double)rate),
		  num(r, "eta"));
	json_decref(r);

	/* A daemon that is down copies nothing: it is not counted. */
	mapd_daemon_gone(m, b);
	r = status_recovery(m);
	EXPECT_EQ(6, num(r, "objects"));
	EXPECT_EQ(50 * MIB, num(r, "copied"));
	json_decref(r);

	/* Nothing left: no eta, whatever the rate. */
	usleep(200000);
	snprintf(rec, sizeof(rec), "{\"objects\":0,\"bytes\":0,\"copied\":%llu}",
		 60 * MIB);
	heartbeat(_metadata, m, a, rec);
	r = status_recovery(m);
	EXPECT_EQ(0, num(r, "objects"));
	EXPECT_EQ(0, num(r, "bytes"));
	EXPECT_LT(0, num(r, "rate"));
	EXPECT_TRUE(json_is_null(json_object_get(r, "eta")));
	EXPECT_EQ(60 * MIB, num(r, "copied"));
	json_decref(r);
}

TEST_F(rec, restart_is_a_new_baseline)
{
	struct mapd *m = &self->m;
	uint32_t a = test_register(m, "node1", NULL, 100, "ssd");
	char rec[256];
	json_t *r;

	ASSERT_NE(0, a);
	snprintf(rec, sizeof(rec), "{\"objects\":9,\"bytes\":%llu,\"copied\":%llu}",
		 900 * MIB, 1024 * MIB);
	heartbeat(_metadata, m, a, rec);
	usleep(300000);
	snprintf(rec, sizeof(rec), "{\"objects\":8,\"bytes\":%llu,\"copied\":%llu}",
		 800 * MIB, 1124 * MIB);
	heartbeat(_metadata, m, a, rec);
	r = status_recovery(m);
	EXPECT_LT(0, num(r, "rate"));
	json_decref(r);

	/* Restarted: copied starts again from 0. No negative rate, none. */
	snprintf(rec, sizeof(rec), "{\"objects\":8,\"bytes\":%llu,\"copied\":%llu}",
		 800 * MIB, 10 * MIB);
	heartbeat(_metadata, m, a, rec);
	r = status_recovery(m);
	EXPECT_EQ(0, num(r, "rate"));
	EXPECT_EQ(10 * MIB, num(r, "copied"));
	EXPECT_TRUE(json_is_null(json_object_get(r, "eta")));
	json_decref(r);
	/* And from there, the rate of the new run only. */
	usleep(300000);
	snprintf(rec, sizeof(rec), "{\"objects\":7,\"bytes\":%llu,\"copied\":%llu}",
		 770 * MIB, 40 * MIB);
	heartbeat(_metadata, m, a, rec);
	r = status_recovery(m);
	EXPECT_LT(0, num(r, "rate"));
	EXPECT_GE(100 * MIB, num(r, "rate"));
	json_decref(r);

	/* Registering again (a daemon that started) forgets it all. */
	snprintf(rec, sizeof(rec),
		 "{\"cmd\":\"daemon-register\",\"id\":%u,\"addr\":\"10.0.0.1\",\"port\":7000,"
		 "\"capacity\":%llu,\"class\":\"ssd\",\"host\":\"node1\"}",
		 a, 100ULL << 30);
	EXPECT_OK(m, rec);
	EXPECT_EQ(1, self->m.st.ndaemons);
	r = status_recovery(m);
	EXPECT_EQ(0, num(r, "objects"));
	EXPECT_EQ(0, num(r, "rate"));
	json_decref(r);
}

/* daemon-ls's "recovery" of daemon id; NULL when it has none. */
static json_t *ls_recovery(struct mapd *m, uint32_t id)
{
	json_t *r = test_request(m, REQ({"cmd":"daemon-ls"})), *d, *rec = NULL;
	size_t i;

	json_array_foreach(json_object_get(r, "daemons"), i, d)
		if (json_integer_value(json_object_get(d, "id")) == id)
			rec = json_incref(json_object_get(d, "recovery"));
	json_decref(r);
	return rec;
}

TEST_F(rec, daemon_ls_only_when_reported)
{
	struct mapd *m = &self->m;
	uint32_t a = test_register(m, "node1", NULL, 100, "ssd");
	uint32_t b = test_register(m, "node2", NULL, 100, "ssd");
	char rec[256];
	json_t *r;

	ASSERT_NE(0, b);
	/* Nothing reported: the listing is as it always was. */
	EXPECT_EQ(NULL, ls_recovery(m, a));
	heartbeat(_metadata, m, b, NULL);
	EXPECT_EQ(NULL, ls_recovery(m, b));
	heartbeat(_metadata, m, b, "{\"objects\":0,\"bytes\":0,\"copied\":0}");
	EXPECT_EQ(NULL, ls_recovery(m, b));

	snprintf(rec, sizeof(rec), "{\"objects\":3,\"bytes\":%llu,\"copied\":%llu}",
		 3 * MIB, MIB);
	heartbeat(_metadata, m, a, rec);
	r = ls_recovery(m, a);
	ASSERT_NE(NULL, r);
	EXPECT_EQ(4, json_object_size(r));	/* no eta */
	EXPECT_EQ(3, num(r, "objects"));
	EXPECT_EQ(3 * MIB, num(r, "bytes"));
	EXPECT_EQ(0, num(r, "rate"));
	EXPECT_EQ(MIB, num(r, "copied"));
	json_decref(r);
	EXPECT_EQ(NULL, ls_recovery(m, b));

	/* A rate once it copied, as status has it. */
	usleep(300000);
	snprintf(rec, sizeof(rec), "{\"objects\":1,\"bytes\":%llu,\"copied\":%llu}",
		 MIB, 3 * MIB);
	heartbeat(_metadata, m, a, rec);
	r = ls_recovery(m, a);
	EXPECT_LT(0, num(r, "rate"));
	EXPECT_EQ(1, num(r, "objects"));
	json_decref(r);

	/* Done, but it copied: still there, with what it copied. */
	snprintf(rec, sizeof(rec), "{\"objects\":0,\"bytes\":0,\"copied\":%llu}",
		 4 * MIB);
	heartbeat(_metadata, m, a, rec);
	r = ls_recovery(m, a);
	EXPECT_EQ(0, num(r, "objects"));
	EXPECT_EQ(4 * MIB, num(r, "copied"));
	json_decref(r);

	/* A daemon that is down copies nothing. */
	mapd_daemon_gone(m, a);
	EXPECT_EQ(NULL, ls_recovery(m, a));
}

/* A commit that cannot save restores the state: not the copy rates. */
TEST_F(rec, failed_commit_keeps_samples)
{
	struct mapd *m = &self->m;
	uint32_t a = test_register(m, "node1", NULL, 100, "ssd");
	char tmp[300], rec[256];
	long long rate;
	json_t *r;

	ASSERT_NE(0, a);
	snprintf(rec, sizeof(rec), "{\"objects\":10,\"bytes\":%llu,\"copied\":0}",
		 100 * MIB);
	heartbeat(_metadata, m, a, rec);
	usleep(300000);
	snprintf(rec, sizeof(rec), "{\"objects\":8,\"bytes\":%llu,\"copied\":%llu}",
		 80 * MIB, 20 * MIB);
	heartbeat(_metadata, m, a, rec);
	r = status_recovery(m);
	rate = num(r, "rate");
	EXPECT_LT(0, rate);
	json_decref(r);

	/* A directory where the tmp file goes makes the save fail. */
	snprintf(tmp, sizeof(tmp), "%s.tmp", self->path);
	ASSERT_EQ(0, mkdir(tmp, 0700));
	EXPECT_ERROR(m, REQ({"cmd":"create","pool":"default","name":"v","size":4096}),
		     "cannot save state file");
	ASSERT_EQ(0, rmdir(tmp));
	r = status_recovery(m);
	EXPECT_EQ(8, num(r, "objects"));
	EXPECT_EQ(80 * MIB, num(r, "bytes"));
	EXPECT_EQ(20 * MIB, num(r, "copied"));
	EXPECT_EQ(rate, num(r, "rate"));
	EXPECT_LE(1, num(r, "eta"));
	json_decref(r);
	EXPECT_EQ(a * 1000, used_of(m, a));

	/* The next report's rate goes on from the samples before. */
	usleep(300000);
	snprintf(rec, sizeof(rec), "{\"objects\":6,\"bytes\":%llu,\"copied\":%llu}",
		 60 * MIB, 40 * MIB);
	heartbeat(_metadata, m, a, rec);
	r = daemon_recovery(m, a);
	EXPECT_LT(0, num(r, "rate"));
	EXPECT_GE(70 * MIB, num(r, "rate"));	/* 40 MiB in 0.6 s or more */
	json_decref(r);
}

/* The arithmetic, on made-up clocks. */
TEST(rate_over_the_window)
{
	struct mapd_recovery rep = { 1, 100, 0 };
	struct recovery_track t;
	int s;

	recovery_reset(&t);
	EXPECT_EQ(0, recovery_rate(&t, 0));
	/* 100 bytes a second, a report a second, for 20 s. */
	for (s = 0; s <= 20; s++) {
		rep.copied = 100 * s;
		recovery_note(&t, &rep, 1000 + s);
	}
	EXPECT_GE(RECOVERY_SAMPLES, t.n);
	EXPECT_EQ(100, recovery_rate(&t, 1020));
	/* Stopped copying: the rate falls to 0 within the window. */
	for (s = 21; s <= 25; s++)
		recovery_note(&t, &rep, 1000 + s);
	EXPECT_EQ(50, recovery_rate(&t, 1025));
	for (s = 26; s <= 31; s++)
		recovery_note(&t, &rep, 1000 + s);
	EXPECT_EQ(0, recovery_rate(&t, 1031));

	/* Reports every 10 ms: the samples still span the window. */
	recovery_reset(&t);
	for (s = 0; s <= 3000; s++) {
		rep.copied = 1000ULL * s;
		recovery_note(&t, &rep, s / 100.0);
	}
	EXPECT_LE(99999, recovery_rate(&t, 30));	/* float times */
	EXPECT_GE(100000, recovery_rate(&t, 30));
	EXPECT_LE(RECOVERY_WINDOW, t.s[t.n - 1].at - t.s[0].at);

	/* A peer's figures every 11 s: over the last interval. */
	recovery_reset(&t);
	rep.copied = 0;
	recovery_note(&t, &rep, 0);
	rep.copied = 1100;
	recovery_note(&t, &rep, 11);
	EXPECT_EQ(100, recovery_rate(&t, 15));
	rep.copied = 3300;
	recovery_note(&t, &rep, 22);
	EXPECT_EQ(200, recovery_rate(&t, 22));
	/* No news for long: 0. */
	EXPECT_EQ(200, recovery_rate(&t, 22 + RECOVERY_STALE));
	EXPECT_EQ(0, recovery_rate(&t, 23 + RECOVERY_STALE));

	/* A restart: a new baseline. */
	rep.copied = 10;
	recovery_note(&t, &rep, 23);
	EXPECT_EQ(1, t.n);
	EXPECT_EQ(0, recovery_rate(&t, 23));
	rep.copied = 110;
	recovery_note(&t, &rep, 24);
	EXPECT_EQ(100, recovery_rate(&t, 24));
}

TEST(sums_and_eta_json)
{
	struct recovery_sum s = { 0 };
	struct recovery_track t;
	struct mapd_recovery rep = { 3, 1000, 0 };
	json_t *j;

	recovery_reset(&t);
	recovery_note(&t, &rep, 0);
	rep.copied = 300;
	recovery_note(&t, &rep, 1);
	recovery_add(&s, &t, 1);
	recovery_add(&s, &t, 1);
	EXPECT_EQ(6, s.objects);
	EXPECT_EQ(2000, s.bytes);
	EXPECT_EQ(600, s.rate);
	EXPECT_EQ(600, s.copied);
	j = recovery_sum_json(&s, true);
	EXPECT_EQ(4, json_integer_value(json_object_get(j, "eta")));
	json_decref(j);
	/* Sums stay JSON integers. */
	t.last.bytes = INT64_MAX;
	recovery_add(&s, &t, 1);
	recovery_add(&s, &t, 1);
	EXPECT_EQ(INT64_MAX, s.bytes);
	j = recovery_sum_json(&s, false);
	EXPECT_EQ(INT64_MAX, json_integer_value(json_object_get(j, "bytes")));
	EXPECT_EQ(NULL, json_object_get(j, "eta"));
	json_decref(j);
}

TEST_HARNESS_MAIN
