// SPDX-License-Identifier: GPL-2.0-only
/*
 * The kernel's events: SHARD_CMD_EVENT messages built here as the
 * kernel's shard_nl_event() builds them, and broken in every way a
 * message can be, fed to kmsg_parse_event(); then the good ones handed
 * to mapd (embedded mode, where they are only logged).
 */
#include <linux/shard.h>
#include <linux/netlink.h>
#include <netlink/attr.h>
#include <netlink/genl/genl.h>

#include "kselftest_harness.h"
#include "genl_event.h"
#include "mapd_test.h"
#include "report.h"

#define FAMILY 0x42

/* An event message; attributes are added by the caller. */
static struct nl_msg *event_msg(int family, uint8_t cmd)
{
	struct nl_msg *msg = nlmsg_alloc_size(4096);

	if (msg && !genlmsg_put(msg, 0, 0, family, 0, 0, cmd,
				SHARD_GENL_VERSION)) {
		nlmsg_free(msg);
		return NULL;
	}
	return msg;
}

/* As the kernel sends it: event, daemon, device if any, errno if any. */
static struct nl_msg *kernel_event(uint32_t type, uint32_t daemon, int dev,
				   uint32_t err)
{
	struct nl_msg *msg = event_msg(FAMILY, SHARD_CMD_EVENT);

	if (!msg)
		return NULL;
	if (nla_put_u32(msg, SHARD_ATTR_EVENT, type) < 0 ||
	    nla_put_u32(msg, SHARD_ATTR_DAEMON_ID, daemon) < 0 ||
	    (dev >= 0 && nla_put_u32(msg, SHARD_ATTR_DEV_INDEX, dev) < 0) ||
	    (err && nla_put_u32(msg, SHARD_ATTR_ERRNO, err) < 0)) {
		nlmsg_free(msg);
		return NULL;
	}
	return msg;
}

static int parse(struct nl_msg *msg, struct kevent *ev, char *why)
{
	return kmsg_parse_event(nlmsg_hdr(msg), FAMILY, ev, why, 64);
}

TEST(well_formed)
{
	struct nl_msg *msg;
	struct kevent ev;
	char why[64] = "";

	msg = kernel_event(SHARD_EVENT_DAEMON_UNREACHABLE, 7, -1, ECONNREFUSED);
	ASSERT_NE(NULL, msg);
	ASSERT_EQ(0, parse(msg, &ev, why)) TH_LOG("%s", why);
	EXPECT_EQ(SHARD_EVENT_DAEMON_UNREACHABLE, ev.type);
	EXPECT_EQ(7, ev.daemon_id);
	EXPECT_EQ(-1, ev.dev_index);
	EXPECT_EQ(ECONNREFUSED, ev.err);
	nlmsg_free(msg);

	msg = kernel_event(SHARD_EVENT_DAEMON_CONNECTED, 65535, -1, 0);
	ASSERT_NE(NULL, msg);
	ASSERT_EQ(0, parse(msg, &ev, why)) TH_LOG("%s", why);
	EXPECT_EQ(SHARD_EVENT_DAEMON_CONNECTED, ev.type);
	EXPECT_EQ(65535, ev.daemon_id);
	EXPECT_EQ(0, ev.err);
	nlmsg_free(msg);

	msg = kernel_event(SHARD_EVENT_IO_ERROR, 3, 2, EIO);
	ASSERT_NE(NULL, msg);
	ASSERT_EQ(0, parse(msg, &ev, why)) TH_LOG("%s", why);
	EXPECT_EQ(SHARD_EVENT_IO_ERROR, ev.type);
	EXPECT_EQ(3, ev.daemon_id);
	EXPECT_EQ(2, ev.dev_index);
	EXPECT_EQ(EIO, ev.err);
	nlmsg_free(msg);

	/* A newer kernel's event: not an error, its type says what. */
	msg = event_msg(FAMILY, SHARD_CMD_EVENT);
	ASSERT_NE(NULL, msg);
	ASSERT_LE(0, nla_put_u32(msg, SHARD_ATTR_EVENT, 99));
	ASSERT_EQ(0, parse(msg, &ev, why)) TH_LOG("%s", why);
	EXPECT_EQ(99, ev.type);
	EXPECT_EQ(0, ev.daemon_id);
	nlmsg_free(msg);

	/* Attributes it does not know are skipped. */
	msg = kernel_event(SHARD_EVENT_DAEMON_CONNECTED, 4, -1, 0);
	ASSERT_NE(NULL, msg);
	ASSERT_LE(0, nla_put_u64(msg, SHARD_ATTR_EPOCH, 12));
	ASSERT_LE(0, nla_put_u32(msg, SHARD_ATTR_MAX + 3, 1));
	ASSERT_EQ(0, parse(msg, &ev, why)) TH_LOG("%s", why);
	EXPECT_EQ(4, ev.daemon_id);
	nlmsg_free(msg);
}

/* One broken message: parse refuses it with a reason containing what. */
#define EXPECT_BAD(msg, what) do {					\
	struct kevent __ev;						\
	char __why[64] = "";						\
									\
	ASSERT_NE(NULL, msg);						\
	EXPECT_EQ(-EBADMSG, parse(msg, &__ev, __why));			\
	EXPECT_NE(NULL, strstr(__why, what)) TH_LOG("\"%s\"", __why);	\
	nlmsg_free(msg);						\
} while (0)

TEST(malformed)
{
	struct nl_msg *msg;
	struct nlmsghdr *nlh;

	/* Not ours, or not an event. */
	msg = event_msg(FAMILY + 1, SHARD_CMD_EVENT);
	nla_put_u32(msg, SHARD_ATTR_EVENT, SHARD_EVENT_DAEMON_CONNECTED);
	nla_put_u32(msg, SHARD_ATTR_DAEMON_ID, 1);
	EXPECT_BAD(msg, "not of the shard family");
	msg = event_msg(FAMILY, SHARD_CMD_GET_STATUS);
	nla_put_u32(msg, SHARD_ATTR_EVENT, SHARD_EVENT_DAEMON_CONNECTED);
	EXPECT_BAD(msg, "not an event");

	/* No room for the genl header. */
	msg = kernel_event(SHARD_EVENT_DAEMON_CONNECTED, 1, -1, 0);
	nlmsg_hdr(msg)->nlmsg_len = NLMSG_HDRLEN + 2;
	EXPECT_BAD(msg, "shorter than a genl header");

	/* No event type. */
	msg = event_msg(FAMILY, SHARD_CMD_EVENT);
	nla_put_u32(msg, SHARD_ATTR_DAEMON_ID, 1);
	EXPECT_BAD(msg, "no event type");

	/* Attributes of the wrong size. */
	msg = event_msg(FAMILY, SHARD_CMD_EVENT);
	nla_put_u16(msg, SHARD_ATTR_EVENT, SHARD_EVENT_DAEMON_CONNECTED);
	nla_put_u32(msg, SHARD_ATTR_DAEMON_ID, 1);
	EXPECT_BAD(msg, "wrong size");
	msg = event_msg(FAMILY, SHARD_CMD_EVENT);
	nla_put_u32(msg, SHARD_ATTR_EVENT, SHARD_EVENT_DAEMON_CONNECTED);
	nla_put_u64(msg, SHARD_ATTR_DAEMON_ID, 1);
	EXPECT_BAD(msg, "wrong size");
	msg = event_msg(FAMILY, SHARD_CMD_EVENT);
	nla_put_u32(msg, SHARD_ATTR_EVENT, SHARD_EVENT_DAEMON_UNREACHABLE);
	nla_put_u32(msg, SHARD_ATTR_DAEMON_ID, 1);
	nla_put_u8(msg, SHARD_ATTR_ERRNO, 5);
	EXPECT_BAD(msg, "wrong size");
	msg = event_msg(FAMILY, SHARD_CMD_EVENT);
	nla_put(msg, SHARD_ATTR_EVENT, 0, NULL);
	EXPECT_BAD(msg, "wrong size");

	/* Daemon events need a daemon, in range. */
	msg = event_msg(FAMILY, SHARD_CMD_EVENT);
	nla_put_u32(msg, SHARD_ATTR_EVENT, SHARD_EVENT_DAEMON_UNREACHABLE);
	nla_put_u32(msg, SHARD_ATTR_ERRNO, 5);
	EXPECT_BAD(msg, "without a daemon id");
	msg = event_msg(FAMILY, SHARD_CMD_EVENT);
	nla_put_u32(msg, SHARD_ATTR_EVENT, SHARD_EVENT_DAEMON_CONNECTED);
	EXPECT_BAD(msg, "without a daemon id");
	msg = kernel_event(SHARD_EVENT_DAEMON_UNREACHABLE, 0, -1, 5);
	EXPECT_BAD(msg, "daemon id out of range");
	msg = kernel_event(SHARD_EVENT_DAEMON_UNREACHABLE, SHARD_MAX_DAEMON_ID,
			   -1, 5);
	EXPECT_BAD(msg, "daemon id out of range");
	msg = kernel_event(SHARD_EVENT_DAEMON_UNREACHABLE, 0xffffffff, -1, 5);
	EXPECT_BAD(msg, "daemon id out of range");

	/* Values that are no errno or device index. */
	msg = kernel_event(SHARD_EVENT_DAEMON_UNREACHABLE, 1, -1, 4096);
	EXPECT_BAD(msg, "errno out of range");
	msg = kernel_event(SHARD_EVENT_DAEMON_UNREACHABLE, 1, -1, 0xffffffff);
	EXPECT_BAD(msg, "errno out of range");
	msg = event_msg(FAMILY, SHARD_CMD_EVENT);
	nla_put_u32(msg, SHARD_ATTR_EVENT, SHARD_EVENT_IO_ERROR);
	nla_put_u32(msg, SHARD_ATTR_DAEMON_ID, 1);
	nla_put_u32(msg, SHARD_ATTR_DEV_INDEX, 0x80000000);
	EXPECT_BAD(msg, "device index out of range");

	/*
	 * Cut short in the middle of its last attribute: what is left is
	 * ignored, and here that is the event type.
	 */
	msg = event_msg(FAMILY, SHARD_CMD_EVENT);
	nla_put_u32(msg, SHARD_ATTR_DAEMON_ID, 1);
	nla_put_u32(msg, SHARD_ATTR_EVENT, SHARD_EVENT_DAEMON_CONNECTED);
	nlh = nlmsg_hdr(msg);
	nlh->nlmsg_len -= 2;
	EXPECT_BAD(msg, "no event type");

	/* An attribute claiming more than the message holds. */
	msg = event_msg(FAMILY, SHARD_CMD_EVENT);
	nla_put_u32(msg, SHARD_ATTR_EVENT, SHARD_EVENT_DAEMON_CONNECTED);
	nla_put_u32(msg, SHARD_ATTR_DAEMON_ID, 1);
	nlh = nlmsg_hdr(msg);
	((struct nlattr *)((char *)nlh + NLMSG_HDRLEN + GENL_HDRLEN))->nla_len =
		200;
	EXPECT_BAD(msg, "");
}

/* Random bytes after a valid header: no crash, nothing out of bounds. */
TEST(garbage)
{
	struct kevent ev;
	unsigned int seed = 1;
	int i, good = 0;

	for (i = 0; i < 20000; i++) {
		struct nl_msg *msg = event_msg(FAMILY, SHARD_CMD_EVENT);
		struct nlmsghdr *nlh;
		size_t len = rand_r(&seed) % 64, k;
		char *p;

		ASSERT_NE(NULL, msg);
		nlh = nlmsg_hdr(msg);
		if (rand_r(&seed) % 2)
			nla_put_u32(msg, SHARD_ATTR_EVENT,
				    rand_r(&seed) % (SHARD_EVENT_MAX + 2));
		p = nlmsg_reserve(msg, len, 1);
		ASSERT_TRUE(p || !len);
		for (k = 0; k < len; k++)
			p[k] = rand_r(&seed);
		if (rand_r(&seed) % 4 == 0)
			nlh->nlmsg_len = rand_r(&seed) % (nlh->nlmsg_len + 1);
		if (!kmsg_parse_event(nlh, FAMILY, &ev, NULL, 0))
			good++;
		nlmsg_free(msg);
	}
	TH_LOG("%d of 20000 random messages parsed", good);
}

FIXTURE(embedded) {
	char *dir;
	struct mapd m;
};

FIXTURE_SETUP(embedded)
{
	char path[256];

	log_init(false, true);
	self->dir = test_tmpdir();
	ASSERT_NE(NULL, self->dir);
	snprintf(path, sizeof(path), "%s/state.json", self->dir);
	memset(&self->m, 0, sizeof(self->m));
	ASSERT_EQ(0, mapd_init(&self->m, path));
}

FIXTURE_TEARDOWN(embedded)
{
	mapd_fini(&self->m);
	test_rmdir(self->dir);
	free(self->dir);
}

/* On one host the kernel's events are logged; nothing changes. */
TEST_F(embedded, events_change_nothing)
{
	struct mapd *m = &self->m;
	struct kevent ev = { .dev_index = -1 };
	struct mapd_daemon *d;
	uint64_t epoch;

	EXPECT_OK(m, REQ({"cmd":"daemon-register","addr":"192.0.2.1","port":7410,"capacity":1000000,"class":"ssd","host":"node1"}));
	epoch = m->st.epoch;
	ev.type = SHARD_EVENT_DAEMON_UNREACHABLE;
	ev.daemon_id = 1;
	ev.err = ECONNREFUSED;
	mapd_kernel_event(m, &ev);
	ev.daemon_id = 99;	/* not in the map */
	mapd_kernel_event(m, &ev);
	ev.type = SHARD_EVENT_IO_ERROR;
	ev.daemon_id = 1;
	mapd_kernel_event(m, &ev);
	ev.type = 1000;
	mapd_kernel_event(m, &ev);
	ev.type = SHARD_EVENT_DAEMON_CONNECTED;
	ev.err = 0;
	mapd_kernel_event(m, &ev);
	d = state_daemon(&m->st, 1);
	ASSERT_NE(NULL, d);
	EXPECT_TRUE(d->up);
	EXPECT_EQ(epoch, m->st.epoch);
}

TEST_HARNESS_MAIN
