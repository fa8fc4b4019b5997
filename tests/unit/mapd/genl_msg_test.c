// SPDX-License-Identifier: GPL-2.0-only
/*
 * Generic netlink messages: built with the kmsg_* builders and parsed
 * back with nla_parse against the UAPI enums, as the kernel would.
 */
#include <linux/shard.h>
#include <arpa/inet.h>
#include <linux/netlink.h>
#include <netlink/attr.h>
#include <netlink/genl/genl.h>

#include "kselftest_harness.h"
#include "genl_msg.h"
#include "mapd_test.h"
#include "place.h"

#define FAMILY 0x42

static void add_daemon(struct mapd_state *st, uint32_t id, const char *addr,
		       uint16_t port, bool up)
{
	struct mapd_daemon d = {
		.id = id, .port = port, .up = up, .in = true,
		.capacity = 1ULL << 30,
	};

	strcpy(d.addr, addr);
	strcpy(d.host, addr);	/* one host each */
	strcpy(d.class, "ssd");
	state_add_daemon(st, &d, NULL);
}

static struct genlmsghdr *check_hdr(struct __test_metadata *_metadata,
				    struct nl_msg *msg, uint8_t cmd)
{
	struct nlmsghdr *nlh = nlmsg_hdr(msg);
	struct genlmsghdr *g = nlmsg_data(nlh);

	EXPECT_EQ(FAMILY, nlh->nlmsg_type);
	EXPECT_EQ(cmd, g->cmd);
	EXPECT_EQ(SHARD_GENL_VERSION, g->version);
	return g;
}

TEST(set_map)
{
	struct nlattr *tb[SHARD_ATTR_MAX + 1], *a, *p;
	struct nlattr *dtb[SHARD_DAEMON_ATTR_MAX + 1];
	struct nlattr *ptb[SHARD_POOL_ATTR_MAX + 1];
	struct mapd_state st;
	struct nl_msg *msg;
	int rem, n = 0;
	uint32_t *table;
	struct in6_addr a6;

	ASSERT_EQ(0, state_init(&st));
	st.epoch = 77;
	add_daemon(&st, 3, "192.0.2.3", 7410, true);
	add_daemon(&st, 1, "2001:db8::1", 7411, true);
	add_daemon(&st, 2, "192.0.2.2", 7412, false);
	st.pools[0].pg_count = 16;
	st.pools[0].size = 2;
	/* Data in the pool: the down daemon 2 is waited for, so listed. */
	ASSERT_EQ(0, state_add_volume(&st, &st.pools[0], "v", 1 << 20, NULL));
	ASSERT_LE(0, mapd_place(&st));
	msg = nlmsg_alloc_size(kmsg_set_map_size(&st));
	ASSERT_NE(NULL, msg);
	ASSERT_EQ(0, kmsg_set_map(msg, FAMILY, &st));
	check_hdr(_metadata, msg, SHARD_CMD_SET_MAP);
	EXPECT_TRUE(nlmsg_hdr(msg)->nlmsg_flags & NLM_F_ACK);
	ASSERT_EQ(0, genlmsg_parse(nlmsg_hdr(msg), 0, tb, SHARD_ATTR_MAX, NULL));
	ASSERT_NE(NULL, tb[SHARD_ATTR_EPOCH]);
	EXPECT_EQ(77, nla_get_u64(tb[SHARD_ATTR_EPOCH]));
	ASSERT_NE(NULL, tb[SHARD_ATTR_DAEMONS]);
	ASSERT_NE(NULL, tb[SHARD_ATTR_POOLS]);
	EXPECT_TRUE(tb[SHARD_ATTR_DAEMONS]->nla_type & NLA_F_NESTED);
	EXPECT_TRUE(tb[SHARD_ATTR_POOLS]->nla_type & NLA_F_NESTED);

	/* Daemons in id order, every one of them, with flags. */
	nla_for_each_nested(a, tb[SHARD_ATTR_DAEMONS], rem) {
		n++;
		EXPECT_EQ(SHARD_ATTR_DAEMON, nla_type(a));
		EXPECT_TRUE(a->nla_type & NLA_F_NESTED);
		ASSERT_EQ(0, nla_parse_nested(dtb, SHARD_DAEMON_ATTR_MAX, a, NULL));
		ASSERT_NE(NULL, dtb[SHARD_DAEMON_ATTR_ID]);
		EXPECT_EQ(n, nla_get_u32(dtb[SHARD_DAEMON_ATTR_ID]));
		EXPECT_EQ(7409 + (n == 1 ? 2 : n == 2 ? 3 : 1),
			  nla_get_u16(dtb[SHARD_DAEMON_ATTR_PORT]));
		EXPECT_EQ(n == 2 ? 0 : SHARD_DAEMON_F_UP,
			  nla_get_u32(dtb[SHARD_DAEMON_ATTR_FLAGS]));
		EXPECT_EQ(NULL, dtb[SHARD_DAEMON_ATTR_CONNECTED]);
		if (n == 1) {
			ASSERT_EQ(16, nla_len(dtb[SHARD_DAEMON_ATTR_ADDR]));
			inet_pton(AF_INET6, "2001:db8::1", &a6);
			EXPECT_EQ(0, memcmp(&a6, nla_data(dtb[SHARD_DAEMON_ATTR_ADDR]), 16));
		} else {
			EXPECT_EQ(4, nla_len(dtb[SHARD_DAEMON_ATTR_ADDR]));
		}
	}
	EXPECT_EQ(3, n);

	/* One pool; its acting table names the up daemons 1 and 3 only,
	 * every PG has a primary, and none names a daemon twice. */
	n = 0;
	nla_for_each_nested(p, tb[SHARD_ATTR_POOLS], rem) {
		n++;
		EXPECT_EQ(SHARD_ATTR_POOL, nla_type(p));
		EXPECT_TRUE(p->nla_type & NLA_F_NESTED);
		ASSERT_EQ(0, nla_parse_nested(ptb, SHARD_POOL_ATTR_MAX, p, NULL));
		EXPECT_EQ(1, nla_get_u32(ptb[SHARD_POOL_ATTR_ID]));
		EXPECT_EQ(16, nla_get_u32(ptb[SHARD_POOL_ATTR_PG_COUNT]));
		EXPECT_EQ(2, nla_get_u32(ptb[SHARD_POOL_ATTR_WIDTH]));
		ASSERT_EQ(16 * 2 * 4, nla_len(ptb[SHARD_POOL_ATTR_PG_TABLE]));
		table = nla_data(ptb[SHARD_POOL_ATTR_PG_TABLE]);
		for (int i = 0; i < 16; i++) {
			uint32_t a = table[2 * i], b = table[2 * i + 1];

			EXPECT_TRUE(a == 1 || a == 3);
			EXPECT_TRUE(b == 1 || b == 3 || b == SHARD_DAEMON_NONE);
			EXPECT_NE(a, b);
		}
	}
	EXPECT_EQ(1, n);
	nlmsg_free(msg);
	state_free(&st);
}

/* A down daemon no PG waits for is left out: a flush would wait on it. */
TEST(set_map_leaves_out_a_down_daemon_nothing_needs)
{
	struct nlattr *tb[SHARD_ATTR_MAX + 1], *a;
	struct nlattr *dtb[SHARD_DAEMON_ATTR_MAX + 1];
	struct mapd_state st;
	struct nl_msg *msg;
	uint32_t ids[4];
	int rem, n = 0;
	size_t k;

	ASSERT_EQ(0, state_init(&st));
	add_daemon(&st, 1, "192.0.2.1", 7410, true);
	add_daemon(&st, 2, "192.0.2.2", 7410, false);
	add_daemon(&st, 3, "192.0.2.3", 7410, true);
	st.pools[0].pg_count = 16;
	st.pools[0].size = 2;
	ASSERT_LE(0, mapd_place(&st));
	/* No data in the pool: nothing waits for a down daemon. */
	EXPECT_FALSE(mapd_daemon_relied_on(&st, &st.daemons[1]));
	ASSERT_EQ(0, state_add_volume(&st, &st.pools[0], "v", 1 << 20, NULL));
	EXPECT_TRUE(mapd_daemon_relied_on(&st, &st.daemons[1]));
	for (k = 0; k < 32; k++)
		if (st.pools[0].acting[k] == 2)
			st.pools[0].acting[k] = SHARD_DAEMON_NONE;
	EXPECT_FALSE(mapd_daemon_relied_on(&st, &st.daemons[1]));
	msg = nlmsg_alloc_size(kmsg_set_map_size(&st));
	ASSERT_NE(NULL, msg);
	ASSERT_EQ(0, kmsg_set_map(msg, FAMILY, &st));
	ASSERT_EQ(0, genlmsg_parse(nlmsg_hdr(msg), 0, tb, SHARD_ATTR_MAX, NULL));
	ASSERT_NE(NULL, tb[SHARD_ATTR_DAEMONS]);
	nla_for_each_nested(a, tb[SHARD_ATTR_DAEMONS], rem) {
		ASSERT_EQ(0, nla_parse_nested(dtb, SHARD_DAEMON_ATTR_MAX, a, NULL));
		ASSERT_GT(4, n);
		ids[n++] = nla_get_u32(dtb[SHARD_DAEMON_ATTR_ID]);
	}
	ASSERT_EQ(2, n);
	EXPECT_EQ(1, ids[0]);
	EXPECT_EQ(3, ids[1]);
	nlmsg_free(msg);

	/* All of them down and unneeded: the nest is there, empty. */
	st.daemons[0].up = st.daemons[2].up = false;
	for (k = 0; k < 32; k++)
		st.pools[0].acting[k] = SHARD_DAEMON_NONE;
	msg = nlmsg_alloc_size(kmsg_set_map_size(&st));
	ASSERT_NE(NULL, msg);
	ASSERT_EQ(0, kmsg_set_map(msg, FAMILY, &st));
	ASSERT_EQ(0, genlmsg_parse(nlmsg_hdr(msg), 0, tb, SHARD_ATTR_MAX, NULL));
	ASSERT_NE(NULL, tb[SHARD_ATTR_DAEMONS]);
	EXPECT_EQ(0, nla_len(tb[SHARD_ATTR_DAEMONS]));
	nlmsg_free(msg);
	state_free(&st);
}

TEST(set_map_no_daemons)
{
	struct nlattr *tb[SHARD_ATTR_MAX + 1], *ptb[SHARD_POOL_ATTR_MAX + 1];
	struct mapd_state st;
	struct nl_msg *msg;
	uint32_t *table;

	ASSERT_EQ(0, state_init(&st));
	msg = nlmsg_alloc_size(kmsg_set_map_size(&st));
	ASSERT_EQ(0, kmsg_set_map(msg, FAMILY, &st));
	ASSERT_EQ(0, genlmsg_parse(nlmsg_hdr(msg), 0, tb, SHARD_ATTR_MAX, NULL));
	ASSERT_NE(NULL, tb[SHARD_ATTR_DAEMONS]);	/* required, empty */
	EXPECT_EQ(0, nla_len(tb[SHARD_ATTR_DAEMONS]));
	ASSERT_EQ(0, nla_parse_nested(ptb, SHARD_POOL_ATTR_MAX,
				      nla_data(tb[SHARD_ATTR_POOLS]), NULL));
	ASSERT_EQ(128 * 4, nla_len(ptb[SHARD_POOL_ATTR_PG_TABLE]));
	table = nla_data(ptb[SHARD_POOL_ATTR_PG_TABLE]);
	for (int i = 0; i < 128; i++)
		ASSERT_EQ(SHARD_DAEMON_NONE, table[i]);
	nlmsg_free(msg);
	state_free(&st);
}

TEST(set_map_limits)
{
	struct mapd_state st;
	struct nl_msg *msg;

	ASSERT_EQ(0, state_init(&st));
	/* 65536 PGs x 1 does not fit in one attribute. */
	st.pools[0].pg_count = SHARD_MAX_PGS;
	msg = nlmsg_alloc_size(kmsg_set_map_size(&st));
	EXPECT_EQ(-E2BIG, kmsg_set_map(msg, FAMILY, &st));
	nlmsg_free(msg);
	/* Too small a message is an error, not an overflow. */
	st.pools[0].pg_count = 1024;
	msg = nlmsg_alloc_size(256);
	EXPECT_EQ(-EMSGSIZE, kmsg_set_map(msg, FAMILY, &st));
	nlmsg_free(msg);
	state_free(&st);
}

/* 4096 PGs x 5 is staged: SET_MAP without tables, chunks, commit. */
TEST(set_map_staged)
{
	struct nlattr *tb[SHARD_ATTR_MAX + 1], *ptb[SHARD_POOL_ATTR_MAX + 1];
	struct mapd_state st;
	struct nl_msg *msg;
	uint32_t ids[10] = { 1, 2, 3, 4, 5, 2, 3, 4, 5, 6 };
	char addr[32];

	ASSERT_EQ(0, state_init(&st));
	st.epoch = 9;
	for (uint32_t i = 1; i <= 6; i++) {
		snprintf(addr, sizeof(addr), "192.0.2.%u", i);
		add_daemon(&st, i, addr, 7410, true);
	}
	st.pools[0].pg_count = 4096;
	st.pools[0].size = 5;
	ASSERT_LE(0, mapd_place(&st));
	EXPECT_FALSE(kmsg_map_fits(&st));

	msg = nlmsg_alloc_size(kmsg_set_map_size(&st));
	ASSERT_EQ(0, kmsg_set_map_stage(msg, FAMILY, &st));
	check_hdr(_metadata, msg, SHARD_CMD_SET_MAP);
	ASSERT_EQ(0, genlmsg_parse(nlmsg_hdr(msg), 0, tb, SHARD_ATTR_MAX, NULL));
	EXPECT_NE(NULL, tb[SHARD_ATTR_MAP_STAGE]);
	EXPECT_EQ(9, nla_get_u64(tb[SHARD_ATTR_EPOCH]));
	ASSERT_EQ(0, nla_parse_nested(ptb, SHARD_POOL_ATTR_MAX,
				      nla_data(tb[SHARD_ATTR_POOLS]), NULL));
	EXPECT_EQ(4096, nla_get_u32(ptb[SHARD_POOL_ATTR_PG_COUNT]));
	EXPECT_EQ(5, nla_get_u32(ptb[SHARD_POOL_ATTR_WIDTH]));
	EXPECT_EQ(NULL, ptb[SHARD_POOL_ATTR_PG_TABLE]);
	/* The whole staged message stays small. */
	EXPECT_LT(nlmsg_hdr(msg)->nlmsg_len, KMSG_MAX_MSG);
	nlmsg_free(msg);

	msg = nlmsg_alloc_size(256 + sizeof(ids));
	ASSERT_EQ(0, kmsg_map_table(msg, FAMILY, 9, 1, 614, ids, 10));
	check_hdr(_metadata, msg, SHARD_CMD_MAP_TABLE);
	ASSERT_EQ(0, genlmsg_parse(nlmsg_hdr(msg), 0, tb, SHARD_ATTR_MAX, NULL));
	EXPECT_EQ(9, nla_get_u64(tb[SHARD_ATTR_EPOCH]));
	EXPECT_EQ(1, nla_get_u32(tb[SHARD_ATTR_POOL_ID]));
	EXPECT_EQ(614, nla_get_u32(tb[SHARD_ATTR_PG_FIRST]));
	ASSERT_EQ(sizeof(ids), nla_len(tb[SHARD_ATTR_PG_IDS]));
	EXPECT_EQ(0, memcmp(ids, nla_data(tb[SHARD_ATTR_PG_IDS]), sizeof(ids)));
	nlmsg_free(msg);

	msg = nlmsg_alloc_size(256);
	ASSERT_EQ(0, kmsg_map_commit(msg, FAMILY, 9));
	check_hdr(_metadata, msg, SHARD_CMD_MAP_COMMIT);
	ASSERT_EQ(0, genlmsg_parse(nlmsg_hdr(msg), 0, tb, SHARD_ATTR_MAX, NULL));
	EXPECT_EQ(9, nla_get_u64(tb[SHARD_ATTR_EPOCH]));
	nlmsg_free(msg);

	/* A chunk is whole PGs and within one attribute. */
	EXPECT_GE(SHARD_MAX_TABLE_IDS, KMSG_CHUNK_IDS);
	state_free(&st);
}

TEST(add_remove_resize)
{
	struct kdev_spec s = { .pool_id = 1, .volume_id = 1ULL << 40,
			       .size = 1 << 30, .obj_order = 22,
			       .read_only = true, .timeout = 30,
			       .pool_name = "default", .volume_name = "vm1" };
	struct nlattr *tb[SHARD_ATTR_MAX + 1];
	struct nl_msg *msg;

	msg = nlmsg_alloc_size(4096);
	ASSERT_EQ(0, kmsg_add_dev(msg, FAMILY, &s));
	check_hdr(_metadata, msg, SHARD_CMD_ADD_DEV);
	ASSERT_EQ(0, genlmsg_parse(nlmsg_hdr(msg), 0, tb, SHARD_ATTR_MAX, NULL));
	EXPECT_EQ(1, nla_get_u32(tb[SHARD_ATTR_POOL_ID]));
	EXPECT_EQ(1ULL << 40, nla_get_u64(tb[SHARD_ATTR_VOLUME_ID]));
	EXPECT_EQ(1 << 30, nla_get_u64(tb[SHARD_ATTR_SIZE]));
	EXPECT_EQ(1, nla_len(tb[SHARD_ATTR_OBJ_ORDER]));
	EXPECT_EQ(22, nla_get_u8(tb[SHARD_ATTR_OBJ_ORDER]));
	EXPECT_NE(NULL, tb[SHARD_ATTR_READ_ONLY]);
	EXPECT_EQ(0, nla_len(tb[SHARD_ATTR_READ_ONLY]));
	EXPECT_EQ(30, nla_get_u32(tb[SHARD_ATTR_TIMEOUT]));
	EXPECT_STREQ("default", nla_get_string(tb[SHARD_ATTR_POOL_NAME]));
	EXPECT_STREQ("vm1", nla_get_string(tb[SHARD_ATTR_VOLUME_NAME]));
	EXPECT_EQ(NULL, tb[SHARD_ATTR_DEV_INDEX]);
	nlmsg_free(msg);

	s.read_only = false;
	s.timeout = 0;
	msg = nlmsg_alloc_size(4096);
	ASSERT_EQ(0, kmsg_add_dev(msg, FAMILY, &s));
	ASSERT_EQ(0, genlmsg_parse(nlmsg_hdr(msg), 0, tb, SHARD_ATTR_MAX, NULL));
	EXPECT_EQ(NULL, tb[SHARD_ATTR_READ_ONLY]);
	EXPECT_EQ(NULL, tb[SHARD_ATTR_TIMEOUT]);
	nlmsg_free(msg);

	msg = nlmsg_alloc_size(4096);
	ASSERT_EQ(0, kmsg_remove_dev(msg, FAMILY, 5, true));
	check_hdr(_metadata, msg, SHARD_CMD_REMOVE_DEV);
	ASSERT_EQ(0, genlmsg_parse(nlmsg_hdr(msg), 0, tb, SHARD_ATTR_MAX, NULL));
	EXPECT_EQ(5, nla_get_u32(tb[SHARD_ATTR_DEV_INDEX]));
	EXPECT_NE(NULL, tb[SHARD_ATTR_FORCE]);
	nlmsg_free(msg);

	msg = nlmsg_alloc_size(4096);
	ASSERT_EQ(0, kmsg_resize_dev(msg, FAMILY, 2, 4096));
	check_hdr(_metadata, msg, SHARD_CMD_RESIZE_DEV);
	ASSERT_EQ(0, genlmsg_parse(nlmsg_hdr(msg), 0, tb, SHARD_ATTR_MAX, NULL));
	EXPECT_EQ(2, nla_get_u32(tb[SHARD_ATTR_DEV_INDEX]));
	EXPECT_EQ(4096, nla_get_u64(tb[SHARD_ATTR_SIZE]));
	nlmsg_free(msg);

	msg = nlmsg_alloc_size(4096);
	ASSERT_EQ(0, kmsg_get(msg, FAMILY, SHARD_CMD_GET_DEV, true));
	EXPECT_TRUE((nlmsg_hdr(msg)->nlmsg_flags & NLM_F_DUMP) == NLM_F_DUMP);
	nlmsg_free(msg);
}

/* Replies as the kernel would send them. */
TEST(parse_replies)
{
	struct nlattr *nest, *d;
	struct kstatus ks;
	struct kdev dev;
	struct nl_msg *msg;
	uint32_t index;

	msg = nlmsg_alloc_size(4096);
	genlmsg_put(msg, 0, 0, FAMILY, 0, 0, SHARD_CMD_GET_DEV, 1);
	nla_put_u32(msg, SHARD_ATTR_DEV_INDEX, 3);
	nla_put_u32(msg, SHARD_ATTR_POOL_ID, 1);
	nla_put_u64(msg, SHARD_ATTR_VOLUME_ID, 9);
	nla_put_u64(msg, SHARD_ATTR_SIZE, 1 << 20);
	nla_put_u8(msg, SHARD_ATTR_OBJ_ORDER, 22);
	nla_put_flag(msg, SHARD_ATTR_READ_ONLY);
	nla_put_u32(msg, SHARD_ATTR_OPEN_COUNT, 2);
	nla_put_u32(msg, SHARD_ATTR_HELD, 4);
	nla_put_string(msg, SHARD_ATTR_POOL_NAME, "default");
	nla_put_string(msg, SHARD_ATTR_VOLUME_NAME, "vm1");
	ASSERT_EQ(0, kmsg_parse_dev(nlmsg_hdr(msg), &dev));
	EXPECT_EQ(3, dev.index);
	EXPECT_EQ(9, dev.volume_id);
	EXPECT_EQ(1 << 20, dev.size);
	EXPECT_TRUE(dev.read_only);
	EXPECT_EQ(2, dev.open_count);
	EXPECT_EQ(4, dev.held);
	EXPECT_EQ(0, dev.inflight);
	EXPECT_STREQ("vm1", dev.volume_name);
	ASSERT_EQ(0, kmsg_parse_index(nlmsg_hdr(msg), &index));
	EXPECT_EQ(3, index);
	nlmsg_free(msg);

	/* Missing required attributes, or a wrong length, are refused. */
	msg = nlmsg_alloc_size(4096);
	genlmsg_put(msg, 0, 0, FAMILY, 0, 0, SHARD_CMD_GET_DEV, 1);
	nla_put_u16(msg, SHARD_ATTR_DEV_INDEX, 3);
	EXPECT_EQ(-EBADMSG, kmsg_parse_dev(nlmsg_hdr(msg), &dev));
	EXPECT_EQ(-EBADMSG, kmsg_parse_index(nlmsg_hdr(msg), &index));
	nlmsg_free(msg);

	msg = nlmsg_alloc_size(4096);
	genlmsg_put(msg, 0, 0, FAMILY, 0, 0, SHARD_CMD_GET_STATUS, 1);
	nla_put_u64(msg, SHARD_ATTR_EPOCH, 12);
	nest = nla_nest_start(msg, SHARD_ATTR_DAEMONS | NLA_F_NESTED);
	for (uint32_t i = 1; i <= 2; i++) {
		d = nla_nest_start(msg, SHARD_ATTR_DAEMON | NLA_F_NESTED);
		nla_put_u32(msg, SHARD_DAEMON_ATTR_ID, i);
		nla_put_u32(msg, SHARD_DAEMON_ATTR_CONNECTED, i * 4);
		nla_nest_end(msg, d);
	}
	nla_nest_end(msg, nest);
	ASSERT_EQ(0, kmsg_parse_status(nlmsg_hdr(msg), &ks));
	EXPECT_EQ(12, ks.epoch);
	ASSERT_EQ(2, ks.ndaemons);
	EXPECT_EQ(2, ks.daemons[1].id);
	EXPECT_EQ(8, ks.daemons[1].connected);
	free(ks.daemons);
	nlmsg_free(msg);
}

/* An NLMSG_ERROR with an extack message, capped and not. */
TEST(extack)
{
	unsigned char buf[512] __attribute__((aligned(4))) = { 0 };
	struct nlmsghdr *nlh = (struct nlmsghdr *)buf;
	struct nlmsgerr *e = NLMSG_DATA(nlh);
	struct nlattr *a;
	const char text[] = "pg table has an unknown daemon";
	char out[128];
	size_t off;

	for (int capped = 0; capped < 2; capped++) {
		memset(buf, 0, sizeof(buf));
		nlh->nlmsg_type = NLMSG_ERROR;
		nlh->nlmsg_flags = NLM_F_ACK_TLVS | (capped ? NLM_F_CAPPED : 0);
		e->error = -EINVAL;
		e->msg.nlmsg_len = NLMSG_HDRLEN + 24;	/* the request */
		off = NLMSG_HDRLEN + sizeof(*e) + (capped ? 0 : 24);
		a = (struct nlattr *)(buf + off);
		a->nla_type = NLMSGERR_ATTR_MSG;
		a->nla_len = NLA_HDRLEN + sizeof(text);
		memcpy((char *)a + NLA_HDRLEN, text, sizeof(text));
		nlh->nlmsg_len = off + NLA_ALIGN(a->nla_len);
		kmsg_extack(nlh, out, sizeof(out));
		EXPECT_STREQ(text, out);
	}
	nlh->nlmsg_flags = 0;	/* no TLVs */
	kmsg_extack(nlh, out, sizeof(out));
	EXPECT_STREQ("", out);
	/* A lying request length does not read past the message. */
	nlh->nlmsg_flags = NLM_F_ACK_TLVS;
	e->msg.nlmsg_len = 4000;
	kmsg_extack(nlh, out, sizeof(out));
	EXPECT_STREQ("", out);
}

TEST_HARNESS_MAIN
