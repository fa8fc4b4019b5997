// SPDX-License-Identifier: GPL-2.0-only
/* libshardetcd keys against a throwaway etcd: put/get, prefixes, delete,
 * compare-and-swap with a leader guard, create-if-absent races.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "kselftest_harness.h"
#include "etcd_fixture.h"

FIXTURE(kv) {
	struct test_etcd srv;
	struct etcd *e;
};

FIXTURE_SETUP(kv)
{
	char err[256];

	if (!test_etcd_bin())
		return;		/* each test skips */
	ASSERT_EQ(0, test_etcd_start(&self->srv, 1));
	self->e = etcd_open(self->srv.url, 2000, err, sizeof(err));
	ASSERT_NE(NULL, self->e) TH_LOG("%s", err);
}

FIXTURE_TEARDOWN(kv)
{
	etcd_close(self->e);
	test_etcd_stop(&self->srv);
}

#define NEED_ETCD() do { \
	if (!self->e) \
		SKIP(return, "etcd is not installed"); \
} while (0)

TEST_F(kv, put_get_binary)
{
	static const char val[] = "a\0b\0\xff\x01 end";
	struct etcd_kv kv;
	int64_t rev = 0;

	NEED_ETCD();
	ASSERT_EQ(0, etcd_put(self->e, "/t/bin", val, sizeof(val), 0));
	ASSERT_EQ(0, etcd_get(self->e, "/t/bin", &kv, &rev));
	EXPECT_STREQ("/t/bin", kv.key);
	ASSERT_EQ(sizeof(val), kv.value_len);
	EXPECT_EQ(0, memcmp(val, kv.value, sizeof(val)));
	EXPECT_EQ('\0', kv.value[kv.value_len]);
	EXPECT_EQ(1, kv.version);
	EXPECT_EQ(kv.create_rev, kv.mod_rev);
	EXPECT_EQ(0, kv.lease);
	EXPECT_EQ(kv.mod_rev, rev);
	etcd_kv_free(&kv);

	/* An empty value is left out of etcd's JSON: still "" here. */
	ASSERT_EQ(0, etcd_put(self->e, "/t/bin", NULL, 0, 0));
	ASSERT_EQ(0, etcd_get(self->e, "/t/bin", &kv, NULL));
	EXPECT_EQ(0, kv.value_len);
	ASSERT_NE(NULL, kv.value);
	EXPECT_STREQ("", kv.value);
	EXPECT_EQ(2, kv.version);
	etcd_kv_free(&kv);

	EXPECT_EQ(-EINVAL, etcd_put(self->e, "", "x", 1, 0));
}

/* A state document of some size: 768 KiB of every byte value. */
TEST_F(kv, large_value)
{
	size_t len = 768 << 10, i;
	char *val = malloc(len);
	struct etcd_kv kv;

	NEED_ETCD();
	ASSERT_NE(NULL, val);
	for (i = 0; i < len; i++)
		val[i] = (char)(i * 7 + i / 256);
	ASSERT_EQ(0, etcd_put(self->e, "/big", val, len, 0));
	ASSERT_EQ(0, etcd_get(self->e, "/big", &kv, NULL));
	ASSERT_EQ(len, kv.value_len);
	EXPECT_EQ(0, memcmp(val, kv.value, len));
	etcd_kv_free(&kv);
	free(val);
}

TEST_F(kv, get_missing)
{
	struct etcd_kv kv;
	int64_t rev = 0;

	NEED_ETCD();
	ASSERT_EQ(-ENOENT, etcd_get(self->e, "/t/nope", &kv, &rev));
	EXPECT_NE(NULL, strstr(etcd_strerror(self->e), "/t/nope"));
	EXPECT_LT(0, rev);
	EXPECT_EQ(NULL, kv.key);
	etcd_kv_free(&kv);
}

TEST_F(kv, prefix_listing)
{
	static const char *const keys[] = {
		"/p/b", "/p/a", "/p/c", "/pz", "/q", "/x\xff", "/x\xff\xff",
	};
	struct etcd_kv *kvs;
	int64_t rev = 0;
	size_t i, n;

	NEED_ETCD();
	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		ASSERT_EQ(0, etcd_put(self->e, keys[i], keys[i],
				      strlen(keys[i]), 0));

	ASSERT_EQ(0, etcd_get_prefix(self->e, "/p/", &kvs, &n, &rev));
	ASSERT_EQ(3, n);
	EXPECT_STREQ("/p/a", kvs[0].key);
	EXPECT_STREQ("/p/b", kvs[1].key);
	EXPECT_STREQ("/p/c", kvs[2].key);
	EXPECT_STREQ("/p/c", kvs[2].value);
	EXPECT_LE(kvs[2].mod_rev, rev);
	etcd_kvs_free(kvs, n);

	/* A prefix ending in 0xff: the range end increments the byte before. */
	ASSERT_EQ(0, etcd_get_prefix(self->e, "/x\xff", &kvs, &n, NULL));
	EXPECT_EQ(2, n);
	etcd_kvs_free(kvs, n);

	ASSERT_EQ(0, etcd_get_prefix(self->e, "", &kvs, &n, NULL));
	EXPECT_EQ(7, n);
	etcd_kvs_free(kvs, n);

	ASSERT_EQ(0, etcd_get_prefix(self->e, "/nothing/", &kvs, &n, NULL));
	EXPECT_EQ(0, n);
	EXPECT_EQ(NULL, kvs);
}

TEST_F(kv, delete)
{
	struct etcd_kv kv, *kvs;
	size_t n;

	NEED_ETCD();
	ASSERT_EQ(0, etcd_put(self->e, "/d/1", "1", 1, 0));
	ASSERT_EQ(0, etcd_put(self->e, "/d/2", "2", 1, 0));
	ASSERT_EQ(0, etcd_put(self->e, "/d/3", "3", 1, 0));
	ASSERT_EQ(0, etcd_put(self->e, "/e", "e", 1, 0));

	EXPECT_EQ(1, etcd_delete(self->e, "/d/1"));
	EXPECT_EQ(0, etcd_delete(self->e, "/d/1"));
	EXPECT_EQ(-ENOENT, etcd_get(self->e, "/d/1", &kv, NULL));
	EXPECT_EQ(2, etcd_delete_prefix(self->e, "/d/"));
	ASSERT_EQ(0, etcd_get_prefix(self->e, "/d/", &kvs, &n, NULL));
	EXPECT_EQ(0, n);
	ASSERT_EQ(0, etcd_get(self->e, "/e", &kv, NULL));
	etcd_kv_free(&kv);
}

TEST_F(kv, cas)
{
	struct etcd_kv kv, leader;
	int64_t rev1 = 0, rev2 = 0, lrev = 0;

	NEED_ETCD();
	/* 0: the key must not exist yet */
	ASSERT_EQ(0, etcd_cas(self->e, "/s", "v1", 2, 0, 0, NULL, 0, &rev1));
	ASSERT_EQ(0, etcd_get(self->e, "/s", &kv, NULL));
	EXPECT_EQ(rev1, kv.mod_rev);
	etcd_kv_free(&kv);
	EXPECT_EQ(-ECANCELED, etcd_cas(self->e, "/s", "v0", 2, 0, 0, NULL, 0,
				       NULL));
	EXPECT_EQ(-ECANCELED, etcd_cas(self->e, "/s", "vX", 2, rev1 - 1, 0,
				       NULL, 0, NULL));
	EXPECT_NE(NULL, strstr(etcd_strerror(self->e), "/s"));
	ASSERT_EQ(0, etcd_cas(self->e, "/s", "v2", 2, rev1, 0, NULL, 0, &rev2));
	EXPECT_LT(rev1, rev2);
	/* the old revision no longer matches */
	EXPECT_EQ(-ECANCELED, etcd_cas(self->e, "/s", "vX", 2, rev1, 0, NULL,
				       0, NULL));

	/* The leader guard: the election key's create revision. */
	ASSERT_EQ(0, etcd_create(self->e, "/leader", "me", 2, 0, NULL, &lrev));
	ASSERT_EQ(0, etcd_cas(self->e, "/s", "v3", 2, rev2, 0, "/leader", lrev,
			      &rev2));
	/* right revision, wrong leader */
	EXPECT_EQ(-ECANCELED, etcd_cas(self->e, "/s", "vX", 2, rev2, 0,
				       "/leader", lrev + 1, NULL));
	/* the leader key gone (and recreated: a new create revision) */
	ASSERT_EQ(1, etcd_delete(self->e, "/leader"));
	EXPECT_EQ(-ECANCELED, etcd_cas(self->e, "/s", "vX", 2, rev2, 0,
				       "/leader", lrev, NULL));
	ASSERT_EQ(0, etcd_create(self->e, "/leader", "me", 2, 0, &leader,
				 NULL));
	EXPECT_EQ(-ECANCELED, etcd_cas(self->e, "/s", "vX", 2, rev2, 0,
				       "/leader", lrev, NULL));

	ASSERT_EQ(0, etcd_get(self->e, "/s", &kv, NULL));
	EXPECT_STREQ("v3", kv.value);
	EXPECT_EQ(rev2, kv.mod_rev);
	etcd_kv_free(&kv);
}

TEST_F(kv, create_exists)
{
	struct etcd_kv cur;
	int64_t crev = 0;

	NEED_ETCD();
	ASSERT_EQ(0, etcd_create(self->e, "/c", "first", 5, 0, &cur, &crev));
	EXPECT_EQ(NULL, cur.key);
	ASSERT_EQ(-EEXIST, etcd_create(self->e, "/c", "second", 6, 0, &cur,
				       NULL));
	EXPECT_STREQ("/c", cur.key);
	EXPECT_STREQ("first", cur.value);
	EXPECT_EQ(crev, cur.create_rev);
	etcd_kv_free(&cur);
	EXPECT_EQ(-EEXIST, etcd_create(self->e, "/c", "second", 6, 0, NULL,
				       NULL));
}

#define RACE_KEYS 20

struct racer {
	const char *url;
	const char *name;
	pthread_barrier_t *go;
	int won[RACE_KEYS];
	int64_t crev[RACE_KEYS];	/* the winner's, as seen */
	int errors;
};

static void *race(void *arg)
{
	struct racer *r = arg;
	char err[256], key[32];
	struct etcd *e = etcd_open(r->url, 2000, err, sizeof(err));
	int i;

	if (!e) {
		r->errors++;
		return NULL;
	}
	for (i = 0; i < RACE_KEYS; i++) {
		struct etcd_kv cur;
		int64_t crev = 0;
		int ret;

		snprintf(key, sizeof(key), "/race/%d", i);
		pthread_barrier_wait(r->go);
		ret = etcd_create(e, key, r->name, strlen(r->name), 0, &cur,
				  &crev);
		if (ret == 0) {
			r->won[i] = 1;
			r->crev[i] = crev;
		} else if (ret == -EEXIST && strcmp(cur.value, r->name)) {
			r->crev[i] = cur.create_rev;
		} else {
			r->errors++;
		}
		etcd_kv_free(&cur);
	}
	etcd_close(e);
	return NULL;
}

/* Two handles create the same keys at the same moment: one wins each. */
TEST_F(kv, create_race)
{
	pthread_barrier_t go;
	struct racer a = { .url = self->srv.url, .name = "a", .go = &go };
	struct racer b = { .url = self->srv.url, .name = "b", .go = &go };
	pthread_t ta, tb;
	int i, wins_a = 0;

	NEED_ETCD();
	pthread_barrier_init(&go, NULL, 2);
	ASSERT_EQ(0, pthread_create(&ta, NULL, race, &a));
	ASSERT_EQ(0, pthread_create(&tb, NULL, race, &b));
	pthread_join(ta, NULL);
	pthread_join(tb, NULL);
	pthread_barrier_destroy(&go);
	EXPECT_EQ(0, a.errors);
	EXPECT_EQ(0, b.errors);
	for (i = 0; i < RACE_KEYS; i++) {
		EXPECT_EQ(1, a.won[i] + b.won[i]) TH_LOG("key %d", i);
		EXPECT_EQ(a.crev[i], b.crev[i]) TH_LOG("key %d", i);
		wins_a += a.won[i];
	}
	TH_LOG("a won %d of %d", wins_a, RACE_KEYS);
}

TEST_HARNESS_MAIN
