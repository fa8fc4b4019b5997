// SPDX-License-Identifier: GPL-2.0-only
/* libshardetcd watches against a throwaway etcd: history in order, live
 * events, *stop, compaction, a callback's error, the server going away.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "etcd_fixture.h"

FIXTURE(watch) {
	struct test_etcd srv;
	struct etcd *e;
};

FIXTURE_SETUP(watch)
{
	char err[256];

	if (!test_etcd_bin())
		return;		/* each test skips */
	ASSERT_EQ(0, test_etcd_start(&self->srv, 1));
	self->e = etcd_open(self->srv.url, 2000, err, sizeof(err));
	ASSERT_NE(NULL, self->e) TH_LOG("%s", err);
}

FIXTURE_TEARDOWN(watch)
{
	etcd_close(self->e);
	test_etcd_stop(&self->srv);
}

#define NEED_ETCD() do { \
	if (!self->e) \
		SKIP(return, "etcd is not installed"); \
} while (0)

struct seen {
	struct etcd *e;		/* for a call from inside the callback */
	int want;		/* stop after this many events (0: never) */
	int ret;		/* what to return at the last one */
	int n;
	enum etcd_ev_type type[16];
	char key[16][32];
	char value[16][32];
	int64_t rev[16];
	int nested;		/* result of an etcd_get from the callback */
};

static int record(void *arg, enum etcd_ev_type type, const struct etcd_kv *kv,
		  int64_t rev)
{
	struct seen *s = arg;

	if (s->n < 16) {
		s->type[s->n] = type;
		snprintf(s->key[s->n], sizeof(s->key[0]), "%s", kv->key);
		snprintf(s->value[s->n], sizeof(s->value[0]), "%s", kv->value);
		s->rev[s->n] = rev;
	}
	if (s->e && s->n == 0) {
		struct etcd_kv cur;

		s->nested = etcd_get(s->e, kv->key, &cur, NULL);
		etcd_kv_free(&cur);
	}
	s->n++;
	return s->want && s->n >= s->want ? s->ret : 0;
}

static int64_t put(struct etcd *e, const char *key, const char *val)
{
	struct etcd_kv kv;
	int64_t rev = -1;

	if (etcd_put(e, key, val, strlen(val), 0) == 0 &&
	    etcd_get(e, key, &kv, NULL) == 0)
		rev = kv.mod_rev;
	etcd_kv_free(&kv);
	return rev;
}

TEST_F(watch, history_in_order)
{
	struct seen s = { .want = 4, .ret = 1 };
	int64_t r1, r4, last = 0;

	NEED_ETCD();
	s.e = self->e;
	r1 = put(self->e, "/w/a", "1");
	ASSERT_LT(0, r1);
	ASSERT_LT(0, put(self->e, "/other", "x"));
	ASSERT_LT(0, put(self->e, "/w/b", "2"));
	ASSERT_EQ(1, etcd_delete(self->e, "/w/a"));
	r4 = put(self->e, "/w/a", "3");
	ASSERT_LT(0, put(self->e, "/w/c", "4"));

	ASSERT_EQ(0, etcd_watch(self->e, "/w/", r1, record, &s, NULL, &last));
	ASSERT_EQ(4, s.n);
	EXPECT_EQ(ETCD_EV_PUT, s.type[0]);
	EXPECT_STREQ("/w/a", s.key[0]);
	EXPECT_STREQ("1", s.value[0]);
	EXPECT_EQ(r1, s.rev[0]);
	EXPECT_STREQ("/w/b", s.key[1]);
	EXPECT_EQ(ETCD_EV_DELETE, s.type[2]);
	EXPECT_STREQ("/w/a", s.key[2]);
	EXPECT_STREQ("", s.value[2]);
	EXPECT_EQ(ETCD_EV_PUT, s.type[3]);
	EXPECT_STREQ("3", s.value[3]);
	EXPECT_EQ(r4, s.rev[3]);
	EXPECT_LT(s.rev[0], s.rev[1]);
	EXPECT_LT(s.rev[1], s.rev[2]);
	EXPECT_LT(s.rev[2], s.rev[3]);
	EXPECT_EQ(r4, last);
	/* the callback may use the handle */
	EXPECT_EQ(0, s.nested);

	/* and on from where it stopped */
	s = (struct seen){ .want = 1, .ret = 1 };
	ASSERT_EQ(0, etcd_watch(self->e, "/w/", last + 1, record, &s, NULL,
				&last));
	EXPECT_STREQ("/w/c", s.key[0]);
}

struct writer {
	const char *url;
	volatile int *stop;
	int64_t last_rev;
	long stopped_at;
};

static void *write_then_stop(void *arg)
{
	struct writer *w = arg;
	char err[256];
	struct etcd *e = etcd_open(w->url, 2000, err, sizeof(err));
	int i;

	usleep(300 * 1000);
	for (i = 0; e && i < 3; i++) {
		char v[8];

		snprintf(v, sizeof(v), "%d", i);
		w->last_rev = put(e, "/live/x", v);
	}
	etcd_close(e);
	usleep(300 * 1000);
	w->stopped_at = test_now_ms();
	*w->stop = 1;
	return NULL;
}

TEST_F(watch, live_events_and_stop)
{
	volatile int stop = 0;
	struct writer w = { .url = self->srv.url, .stop = &stop };
	struct seen s = { 0 };
	int64_t last = 0;
	pthread_t t;
	long took;

	NEED_ETCD();
	ASSERT_EQ(0, pthread_create(&t, NULL, write_then_stop, &w));
	EXPECT_EQ(0, etcd_watch(self->e, "/live/", 0, record, &s, &stop, &last));
	took = test_now_ms() - w.stopped_at;
	pthread_join(t, NULL);
	ASSERT_EQ(3, s.n);
	EXPECT_STREQ("0", s.value[0]);
	EXPECT_STREQ("2", s.value[2]);
	EXPECT_EQ(w.last_rev, last);
	EXPECT_GT(500, took) TH_LOG("took %ld ms to notice *stop", took);
}

TEST_F(watch, compacted)
{
	struct etcd_kv *kvs;
	struct seen s = { 0 };
	int64_t r1, rev = 0, last = 0;
	volatile int stop = 1;
	size_t n;
	int i;

	NEED_ETCD();
	r1 = put(self->e, "/c/k", "0");
	for (i = 1; i < 5; i++)
		ASSERT_LT(0, put(self->e, "/c/k", "x"));
	ASSERT_EQ(0, etcd_get_prefix(self->e, "/c/", &kvs, &n, &rev));
	etcd_kvs_free(kvs, n);
	ASSERT_EQ(0, etcd_compact(self->e, rev));
	EXPECT_EQ(-ESTALE, etcd_compact(self->e, rev - 1));

	ASSERT_EQ(-ESTALE, etcd_watch(self->e, "/c/", r1, record, &s, NULL,
				      &last));
	EXPECT_EQ(rev, last);
	EXPECT_EQ(0, s.n);
	EXPECT_NE(NULL, strstr(etcd_strerror(self->e), "compacted"));
	/* from the compact revision on it works */
	s = (struct seen){ .want = 1, .ret = 1 };
	EXPECT_EQ(0, etcd_watch(self->e, "/c/", rev, record, &s, NULL,
				&last));
	EXPECT_EQ(rev, s.rev[0]);
	/* and a *stop already set returns at once */
	EXPECT_EQ(0, etcd_watch(self->e, "/c/", 0, record, &s, &stop, NULL));
}

TEST_F(watch, callback_error)
{
	struct seen s = { .want = 1, .ret = -EIO };
	int64_t r1, last = 0;

	NEED_ETCD();
	r1 = put(self->e, "/w/a", "1");
	ASSERT_LT(0, put(self->e, "/w/a", "2"));
	EXPECT_EQ(-EIO, etcd_watch(self->e, "/w/", r1, record, &s, NULL,
				   &last));
	EXPECT_EQ(1, s.n);
	EXPECT_EQ(r1, last);
}

struct killer {
	pid_t pid;
	long killed_at;
};

static void *kill_later(void *arg)
{
	struct killer *k = arg;

	usleep(500 * 1000);
	k->killed_at = test_now_ms();
	kill(k->pid, SIGKILL);
	return NULL;
}

/* etcd dies under an established watch: an error soon, and last_rev. */
TEST_F(watch, server_dies)
{
	struct seen s = { 0 };
	struct killer k;
	int64_t r1, last = 0;
	pthread_t t;
	int ret;

	NEED_ETCD();
	r1 = put(self->e, "/w/a", "1");
	k.pid = self->srv.pid;
	ASSERT_EQ(0, pthread_create(&t, NULL, kill_later, &k));
	ret = etcd_watch(self->e, "/w/", r1, record, &s, NULL, &last);
	pthread_join(t, NULL);
	EXPECT_TRUE(ret == -ECONNRESET || ret == -EIO) TH_LOG("%d: %s", ret,
							     etcd_strerror(self->e));
	EXPECT_GT(1000, test_now_ms() - k.killed_at);
	EXPECT_EQ(1, s.n);
	EXPECT_EQ(r1, last);
	TH_LOG("%s", etcd_strerror(self->e));
}

/* The caller's loop across an etcd restart: watch again from last + 1, and
 * the same handle reconnects.
 */
TEST_F(watch, resume_after_restart)
{
	struct seen s = { 0 };
	struct killer k;
	int64_t r1, r2, r3, last = 0;
	pthread_t t;

	NEED_ETCD();
	r1 = put(self->e, "/w/a", "1");
	k.pid = self->srv.pid;
	ASSERT_EQ(0, pthread_create(&t, NULL, kill_later, &k));
	EXPECT_GT(0, etcd_watch(self->e, "/w/", r1, record, &s, NULL, &last));
	pthread_join(t, NULL);
	test_etcd_kill(&self->srv);
	ASSERT_EQ(r1, last);
	EXPECT_EQ(-ECONNREFUSED, etcd_watch(self->e, "/w/", last + 1, record,
					    &s, NULL, &last));
	EXPECT_EQ(r1, last);

	ASSERT_EQ(0, test_etcd_restart(&self->srv));
	r2 = put(self->e, "/w/b", "2");
	r3 = put(self->e, "/w/c", "3");
	ASSERT_LT(r1, r2);
	s = (struct seen){ .want = 2, .ret = 1 };
	ASSERT_EQ(0, etcd_watch(self->e, "/w/", last + 1, record, &s, NULL,
				&last));
	EXPECT_EQ(r2, s.rev[0]);
	EXPECT_EQ(r3, s.rev[1]);
	EXPECT_EQ(r3, last);
}

TEST_HARNESS_MAIN
