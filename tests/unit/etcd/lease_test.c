// SPDX-License-Identifier: GPL-2.0-only
/* libshardetcd leases against a throwaway etcd: keepalive keeps a leased
 * key, expiry and revoke delete it.
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "etcd_fixture.h"

FIXTURE(lease) {
	struct test_etcd srv;
	struct etcd *e;
};

FIXTURE_SETUP(lease)
{
	char err[256];

	if (!test_etcd_bin())
		return;		/* each test skips */
	ASSERT_EQ(0, test_etcd_start(&self->srv, 1));
	self->e = etcd_open(self->srv.url, 2000, err, sizeof(err));
	ASSERT_NE(NULL, self->e) TH_LOG("%s", err);
}

FIXTURE_TEARDOWN(lease)
{
	etcd_close(self->e);
	test_etcd_stop(&self->srv);
}

#define NEED_ETCD() do { \
	if (!self->e) \
		SKIP(return, "etcd is not installed"); \
} while (0)

/* A liveness key lives while kept alive and goes when the lease expires. */
TEST_F(lease, keepalive_then_expiry)
{
	int64_t id = 0, ttl = -1;
	struct etcd_kv kv;
	long start, gone = 0;
	int i;

	NEED_ETCD();
	ASSERT_EQ(0, etcd_lease_grant(self->e, 1, &id));
	ASSERT_NE(0, id);
	ASSERT_EQ(0, etcd_put(self->e, "/live/a", "up", 2, id));
	ASSERT_EQ(0, etcd_get(self->e, "/live/a", &kv, NULL));
	EXPECT_EQ(id, kv.lease);
	etcd_kv_free(&kv);

	/* twice the TTL, kept alive */
	for (i = 0; i < 8; i++) {
		ASSERT_EQ(0, etcd_lease_keepalive(self->e, id, &ttl));
		EXPECT_LT(0, ttl);
		usleep(250 * 1000);
	}
	ASSERT_EQ(0, etcd_get(self->e, "/live/a", &kv, NULL));
	etcd_kv_free(&kv);

	start = test_now_ms();
	while (test_now_ms() - start < 10000) {
		int ret = etcd_get(self->e, "/live/a", &kv, NULL);

		etcd_kv_free(&kv);
		if (ret == -ENOENT) {
			gone = test_now_ms() - start;
			break;
		}
		ASSERT_EQ(0, ret);
		usleep(100 * 1000);
	}
	ASSERT_NE(0, gone) TH_LOG("leased key still there after 10 s");
	TH_LOG("leased key gone %ld ms after the last keepalive", gone);
	EXPECT_EQ(-ENOENT, etcd_lease_keepalive(self->e, id, &ttl));
	EXPECT_EQ(0, ttl);
	EXPECT_NE(NULL, strstr(etcd_strerror(self->e), "expired"));
}

TEST_F(lease, revoke)
{
	int64_t id = 0, ttl = 0;
	struct etcd_kv kv;

	NEED_ETCD();
	ASSERT_EQ(0, etcd_lease_grant(self->e, 60, &id));
	ASSERT_EQ(0, etcd_put(self->e, "/live/a", "1", 1, id));
	ASSERT_EQ(0, etcd_put(self->e, "/live/b", "1", 1, id));
	ASSERT_EQ(0, etcd_put(self->e, "/other", "1", 1, 0));
	ASSERT_EQ(0, etcd_lease_keepalive(self->e, id, &ttl));
	EXPECT_EQ(60, ttl);

	ASSERT_EQ(0, etcd_lease_revoke(self->e, id));
	EXPECT_EQ(-ENOENT, etcd_get(self->e, "/live/a", &kv, NULL));
	EXPECT_EQ(-ENOENT, etcd_get(self->e, "/live/b", &kv, NULL));
	ASSERT_EQ(0, etcd_get(self->e, "/other", &kv, NULL));
	etcd_kv_free(&kv);

	EXPECT_EQ(-ENOENT, etcd_lease_revoke(self->e, id));
	EXPECT_NE(NULL, strstr(etcd_strerror(self->e), "lease not found"));
	EXPECT_EQ(-ENOENT, etcd_lease_keepalive(self->e, id, &ttl));
}

/* Election: the winner's key is bound to its lease; when the lease goes,
 * another candidate can take over.
 */
TEST_F(lease, election_takeover)
{
	int64_t l1 = 0, l2 = 0, crev1 = 0, crev2 = 0;
	struct etcd_kv cur;

	NEED_ETCD();
	ASSERT_EQ(0, etcd_lease_grant(self->e, 30, &l1));
	ASSERT_EQ(0, etcd_lease_grant(self->e, 30, &l2));
	ASSERT_EQ(0, etcd_create(self->e, "/leader", "n1", 2, l1, NULL, &crev1));
	ASSERT_EQ(-EEXIST, etcd_create(self->e, "/leader", "n2", 2, l2, &cur,
				       NULL));
	EXPECT_EQ(l1, cur.lease);
	EXPECT_EQ(crev1, cur.create_rev);
	etcd_kv_free(&cur);

	ASSERT_EQ(0, etcd_lease_revoke(self->e, l1));
	ASSERT_EQ(0, etcd_create(self->e, "/leader", "n2", 2, l2, NULL, &crev2));
	EXPECT_LT(crev1, crev2);
	/* the old leader's guarded write is refused */
	EXPECT_EQ(-ECANCELED, etcd_cas(self->e, "/state", "x", 1, 0, 0,
				       "/leader", crev1, NULL));
	EXPECT_EQ(0, etcd_cas(self->e, "/state", "x", 1, 0, 0, "/leader",
			      crev2, NULL));
}

TEST_F(lease, bad_arguments)
{
	int64_t id = 0;

	NEED_ETCD();
	EXPECT_EQ(-EINVAL, etcd_lease_grant(self->e, 0, &id));
	/* a put bound to a lease that does not exist */
	EXPECT_EQ(-ENOENT, etcd_put(self->e, "/k", "v", 1, 0x1234));
	EXPECT_NE(NULL, strstr(etcd_strerror(self->e), "lease not found"));
}

TEST_HARNESS_MAIN
