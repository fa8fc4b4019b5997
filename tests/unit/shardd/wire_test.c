// SPDX-License-Identifier: GPL-2.0-only
/* crc32c and wire header encode/decode/validation. */
#include <endian.h>
#include <errno.h>
#include <stddef.h>
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
	/* 40-byte entries, with the version at 16; 24, their size before
	 * versions, is no length for one. */
	ASSERT_EQ(40, sizeof(struct shard_list_entry));
	ASSERT_EQ(16, offsetof(struct shard_list_entry, ver));
	ASSERT_EQ(32, offsetof(struct shard_list_entry, obj_order));
	h.len = 40;
	ASSERT_EQ(0, shard_req_check(&h, &why));
	h.len = 2048 * 40;
	ASSERT_EQ(0, shard_req_check(&h, &why));
	h.len = 24;
	ASSERT_EQ(-EBADMSG, shard_req_check(&h, &why));
	h.len = 3 * 24;
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

/* The ext after a REP_WRITE's or REP_ZERO's header: version and flags,
 * little-endian, at any alignment, with a crc of the 20 bytes before
 * it. */
TEST(rep_ext_roundtrip)
{
	static const uint32_t flags[] = { 0, SHARD_REP_F_WHOLE };
	unsigned char buf[1 + sizeof(struct shard_rep_ext)];
	unsigned char *ext = buf + 1;	/* unaligned on purpose */
	uint64_t epoch, seq;
	uint32_t f, crc;
	size_t i, k;

	ASSERT_EQ(24, sizeof(struct shard_rep_ext));
	ASSERT_EQ(0, offsetof(struct shard_rep_ext, ver.epoch));
	ASSERT_EQ(8, offsetof(struct shard_rep_ext, ver.seq));
	ASSERT_EQ(16, offsetof(struct shard_rep_ext, flags));
	ASSERT_EQ(20, offsetof(struct shard_rep_ext, crc));
	for (k = 0; k < sizeof(flags) / sizeof(flags[0]); k++) {
		shard_rep_ext_encode(ext, 0x0102030405060708ULL,
				     0x1112131415161718ULL, flags[k]);
		/* Little-endian on the wire. */
		ASSERT_EQ(0x08, ext[0]);
		ASSERT_EQ(0x01, ext[7]);
		ASSERT_EQ(0x18, ext[8]);
		ASSERT_EQ(0x11, ext[15]);
		ASSERT_EQ(flags[k], ext[16]);
		ASSERT_EQ(0, ext[17] | ext[18] | ext[19]);
		crc = (uint32_t)ext[20] | (uint32_t)ext[21] << 8 |
		      (uint32_t)ext[22] << 16 | (uint32_t)ext[23] << 24;
		ASSERT_EQ(shard_crc32c(ext, 20), crc);
		epoch = seq = f = 99;
		ASSERT_EQ(0, shard_rep_ext_decode(ext, &epoch, &seq, &f));
		ASSERT_EQ(0x0102030405060708ULL, epoch);
		ASSERT_EQ(0x1112131415161718ULL, seq);
		ASSERT_EQ(flags[k], f);
	}
	/* The unknown version is a version like any other on the wire. */
	shard_rep_ext_encode(ext, 0, 0, SHARD_REP_F_WHOLE);
	epoch = seq = f = 99;
	ASSERT_EQ(0, shard_rep_ext_decode(ext, &epoch, &seq, &f));
	ASSERT_EQ(0, epoch);
	ASSERT_EQ(0, seq);
	ASSERT_EQ(SHARD_REP_F_WHOLE, f);
	ASSERT_TRUE(shard_op_has_rep_ext(SHARD_OP_REP_WRITE));
	ASSERT_TRUE(shard_op_has_rep_ext(SHARD_OP_REP_ZERO));
	ASSERT_FALSE(shard_op_has_rep_ext(SHARD_OP_WRITE));
	ASSERT_FALSE(shard_op_has_rep_ext(SHARD_OP_DISCARD));
	ASSERT_FALSE(shard_op_has_rep_ext(SHARD_OP_REP_READ));
	ASSERT_FALSE(shard_op_has_rep_ext(SHARD_OP_REP_LIST));
	ASSERT_FALSE(shard_op_has_rep_ext(SHARD_OP_REP_FLUSH));

	/* Any bit flipped, in the crc or what it covers, fails. */
	for (i = 0; i < sizeof(struct shard_rep_ext); i++) {
		for (k = 0; k < 8; k++) {
			shard_rep_ext_encode(ext, 5, 42, SHARD_REP_F_WHOLE);
			ext[i] ^= (unsigned char)(1U << k);
			ASSERT_EQ(-EBADMSG,
				  shard_rep_ext_decode(ext, &epoch, &seq, &f));
		}
	}
}

/* Flags this daemon does not know fail, even under a good crc. */
TEST(rep_ext_unknown_flags)
{
	static const uint32_t bad[] = {
		1U << 1, 0x80, 1U << 31, SHARD_REP_F_WHOLE | 0x80, ~0U,
	};
	struct shard_rep_ext e;
	uint64_t epoch, seq;
	uint32_t f;
	size_t k;

	for (k = 0; k < sizeof(bad) / sizeof(bad[0]); k++) {
		memset(&e, 0, sizeof(e));
		e.ver.epoch = htole64(5);
		e.ver.seq = htole64(42);
		e.flags = htole32(bad[k]);
		e.crc = htole32(shard_crc32c(&e, offsetof(struct shard_rep_ext,
							 crc)));
		ASSERT_EQ(-EBADMSG, shard_rep_ext_decode(&e, &epoch, &seq, &f));
		/* The same by the encoder: its crc is no excuse. */
		shard_rep_ext_encode(&e, 5, 42, bad[k]);
		ASSERT_EQ(-EBADMSG, shard_rep_ext_decode(&e, &epoch, &seq, &f));
	}
	/* The hand-built ext with a known flag decodes: the crc is right. */
	e.flags = htole32(SHARD_REP_F_WHOLE);
	e.crc = htole32(shard_crc32c(&e, offsetof(struct shard_rep_ext, crc)));
	ASSERT_EQ(0, shard_rep_ext_decode(&e, &epoch, &seq, &f));
	ASSERT_EQ(5, epoch);
	ASSERT_EQ(42, seq);
	ASSERT_EQ(SHARD_REP_F_WHOLE, f);
}

TEST_HARNESS_MAIN
