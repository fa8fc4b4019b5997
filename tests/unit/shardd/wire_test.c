// SPDX-License-Identifier: GPL-2.0-only
/* crc32c and wire header encode/decode/validation. */
#include <errno.h>
#include <string.h>

#include "crc.h"
#include "wire.h"
#include "kselftest_harness.h"

static struct shard_req_h sample_req(void)
{
	struct shard_req_h h = {
		.opcode = SHARD_OP_WRITE,
		.flags = SHARD_F_FUA,
		.len = 8192,
		.obj_order = 22,
		.tag = 0x1122334455667788ULL,
		.epoch = 9,
		.volume = 0xabcdef0123ULL,
		.object = 77,
		.offset = 4096,
		.pool = 3,
		.data_crc = 0xdeadbeef,
	};

	return h;
}

TEST(crc_check_value)
{
	ASSERT_EQ(SHARD_CRC32C_CHECK, shard_crc32c("123456789", 9));
	ASSERT_EQ(0, shard_crc32c("", 0));
}

TEST(crc_streaming_matches_one_shot)
{
	unsigned char buf[10000];
	uint32_t c;
	size_t i;

	for (i = 0; i < sizeof(buf); i++)
		buf[i] = (unsigned char)(i * 7 + 3);
	c = shard_crc32c_update(0, buf, 1234);
	c = shard_crc32c_update(c, buf + 1234, sizeof(buf) - 1234);
	ASSERT_EQ(shard_crc32c(buf, sizeof(buf)), c);
}

TEST(req_roundtrip)
{
	struct shard_req_h h = sample_req(), out;
	unsigned char buf[SHARD_HDR_SIZE];
	const char *why = NULL;

	shard_req_encode(buf, &h);
	/* Little-endian magic "SDRQ" in the first four bytes. */
	ASSERT_EQ(0, memcmp(buf, "SDRQ", 4));
	ASSERT_EQ(0, shard_req_decode(buf, &out, &why));
	ASSERT_EQ(0, memcmp(&h, &out, sizeof(h)));
	ASSERT_EQ(0, shard_req_check(&out, &why));
}

TEST(req_bad_magic)
{
	struct shard_req_h h = sample_req(), out;
	unsigned char buf[SHARD_HDR_SIZE];
	const char *why = NULL;
	struct shard_reply_h rh = { .opcode = SHARD_OP_READ };

	shard_req_encode(buf, &h);
	buf[0] ^= 1;
	ASSERT_EQ(-EBADMSG, shard_req_decode(buf, &out, &why));
	ASSERT_STREQ("bad magic", why);
	/* A reply is not a request. */
	shard_reply_encode(buf, &rh);
	ASSERT_EQ(-EBADMSG, shard_req_decode(buf, &out, &why));
	ASSERT_STREQ("bad magic", why);
}

TEST(req_bad_version)
{
	struct shard_req_h h = sample_req(), out;
	unsigned char buf[SHARD_HDR_SIZE];
	const char *why = NULL;

	shard_req_encode(buf, &h);
	buf[4] = SHARD_PROTO_VERSION + 1;
	ASSERT_EQ(-EBADMSG, shard_req_decode(buf, &out, &why));
	ASSERT_STREQ("unsupported version", why);
}

TEST(req_bad_crc)
{
	struct shard_req_h h = sample_req(), out;
	unsigned char buf[SHARD_HDR_SIZE];
	const char *why = NULL;
	int i;

	/* Any flipped bit in the covered bytes or the crc itself. */
	for (i = 8; i < SHARD_HDR_SIZE; i++) {
		shard_req_encode(buf, &h);
		buf[i] ^= 0x10;
		ASSERT_EQ(-EBADMSG, shard_req_decode(buf, &out, &why));
		ASSERT_STREQ("header crc mismatch", why);
	}
}

TEST(req_oversize_len)
{
	struct shard_req_h h = sample_req(), out;
	unsigned char buf[SHARD_HDR_SIZE];
	const char *why = NULL;

	h.len = SHARD_MAX_IO + 512;
	shard_req_encode(buf, &h);
	ASSERT_EQ(-EBADMSG, shard_req_decode(buf, &out, &why));
	ASSERT_STREQ("length above SHARD_MAX_IO", why);
	h.len = SHARD_MAX_IO;
	h.offset = 0;
	shard_req_encode(buf, &h);
	ASSERT_EQ(0, shard_req_decode(buf, &out, &why));
}

TEST(req_unknown_opcode_and_flags)
{
	struct shard_req_h h = sample_req(), out;
	unsigned char buf[SHARD_HDR_SIZE];
	const char *why = NULL;

	h.opcode = 0;
	shard_req_encode(buf, &h);
	ASSERT_EQ(-EBADMSG, shard_req_decode(buf, &out, &why));
	ASSERT_STREQ("unknown opcode", why);
	h.opcode = __SHARD_OP_MAX;
	shard_req_encode(buf, &h);
	ASSERT_EQ(-EBADMSG, shard_req_decode(buf, &out, &why));
	h = sample_req();
	h.flags = 0x8000;
	shard_req_encode(buf, &h);
	ASSERT_EQ(-EBADMSG, shard_req_decode(buf, &out, &why));
	ASSERT_STREQ("unknown flags", why);
}

TEST(req_check_rules)
{
	struct shard_req_h h = sample_req();
	const char *why = NULL;

	h.obj_order = SHARD_OBJ_ORDER_MIN - 1;
	ASSERT_EQ(-EBADMSG, shard_req_check(&h, &why));
	h.obj_order = SHARD_OBJ_ORDER_MAX + 1;
	ASSERT_EQ(-EBADMSG, shard_req_check(&h, &why));
	ASSERT_STREQ("object order out of range", why);

	h = sample_req();
	h.offset = (1U << 22) - 4096;
	ASSERT_EQ(-EBADMSG, shard_req_check(&h, &why));
	ASSERT_STREQ("range beyond the object", why);

	h = sample_req();
	h.len = 1000;
	ASSERT_EQ(-EBADMSG, shard_req_check(&h, &why));
	ASSERT_STREQ("range not sector aligned", why);
	h = sample_req();
	h.opcode = SHARD_OP_READ;
	h.len = 4097;
	ASSERT_EQ(-EBADMSG, shard_req_check(&h, &why));
	h.len = 512;
	h.offset = 100;
	ASSERT_EQ(-EBADMSG, shard_req_check(&h, &why));

	h = sample_req();
	h.len = 0;
	ASSERT_EQ(-EBADMSG, shard_req_check(&h, &why));
	ASSERT_STREQ("write without payload", why);

	/* FLUSH and PING ignore the object fields. */
	h.opcode = SHARD_OP_FLUSH;
	h.obj_order = 0;
	h.offset = 12345;
	ASSERT_EQ(0, shard_req_check(&h, &why));
	h.opcode = SHARD_OP_PING;
	ASSERT_EQ(0, shard_req_check(&h, &why));
}

/* Scrub's requests: a list's length is whole entries, and only a
 * digest carries DIGEST_DATA, without a range. */
TEST(req_check_scrub)
{
	struct shard_req_h h = {
		.opcode = SHARD_OP_REP_LIST, .pool = 1, .offset = 7,
		.len = 4 * sizeof(struct shard_list_entry),
	};
	const char *why;

	ASSERT_EQ(0, shard_req_check(&h, &why));
	h.len = sizeof(struct shard_list_entry) + 1;
	ASSERT_EQ(-EBADMSG, shard_req_check(&h, &why));
	h.len = 0;
	ASSERT_EQ(-EBADMSG, shard_req_check(&h, &why));
	h = (struct shard_req_h){
		.opcode = SHARD_OP_REP_DIGEST, .obj_order = 22,
		.flags = SHARD_F_DIGEST_DATA,
	};
	ASSERT_EQ(0, shard_req_check(&h, &why));
	h.len = 4096;
	ASSERT_EQ(-EBADMSG, shard_req_check(&h, &why));
	h.len = 0;
	h.offset = 512;
	ASSERT_EQ(-EBADMSG, shard_req_check(&h, &why));
	h.offset = 0;
	h.obj_order = 40;
	ASSERT_EQ(-EBADMSG, shard_req_check(&h, &why));
	h = sample_req();
	h.flags = SHARD_F_DIGEST_DATA;
	ASSERT_EQ(-EBADMSG, shard_req_check(&h, &why));
	ASSERT_STREQ("REP_LIST", shard_op_name(SHARD_OP_REP_LIST));
	ASSERT_STREQ("REP_DIGEST", shard_op_name(SHARD_OP_REP_DIGEST));
	ASSERT_TRUE(shard_op_has_reply_payload(SHARD_OP_REP_LIST));
	ASSERT_TRUE(shard_op_has_reply_payload(SHARD_OP_REP_DIGEST));
	ASSERT_FALSE(shard_op_has_req_payload(SHARD_OP_REP_DIGEST));
}

TEST(reply_roundtrip_and_errors)
{
	struct shard_reply_h h = {
		.opcode = SHARD_OP_READ,
		.status = SHARD_S_CORRUPT,
		.len = 4096,
		.tag = 42,
		.epoch = 7,
		.data_crc = 0x12345678,
	}, out;
	unsigned char buf[SHARD_HDR_SIZE];
	const char *why = NULL;

	shard_reply_encode(buf, &h);
	ASSERT_EQ(0, memcmp(buf, "SDRP", 4));
	ASSERT_EQ(0, shard_reply_decode(buf, &out, &why));
	ASSERT_EQ(0, memcmp(&h, &out, sizeof(h)));
	buf[20] ^= 1;
	ASSERT_EQ(-EBADMSG, shard_reply_decode(buf, &out, &why));
	h.status = __SHARD_S_MAX;
	shard_reply_encode(buf, &h);
	ASSERT_EQ(-EBADMSG, shard_reply_decode(buf, &out, &why));
	ASSERT_STREQ("unknown status", why);
}

TEST_HARNESS_MAIN
