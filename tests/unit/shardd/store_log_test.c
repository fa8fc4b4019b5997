// SPDX-License-Identifier: GPL-2.0-only
/*
 * The store's change log (shard_store_changed_since): which blocks
 * changed since a version, and when the store cannot tell: a version it
 * never logged, a change with the unknown version, entries overwritten,
 * a restart, a change queued behind another operation after one.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <shard/proto.h>

#include "log.h"
#include "store.h"
#include "store_harness.h"
#include "kselftest_harness.h"

#define LOG_ENTRIES	8

FIXTURE(chg) {
	char dir[64];
	char path[96];
	struct shard_store *st;
	unsigned char *a;
	uint64_t blocks[SHARD_STORE_BLOCK_WORDS];
};

static int open_st(FIXTURE_DATA(chg) *self)
{
	struct shard_store_opts o = {
		.path = self->path, .size = STORE_SIZE,
		.change_log = LOG_ENTRIES,
	};
	int ret = shard_store_open(&self->st, &o);

	if (!ret)
		shard_store_set_ring(self->st, &ring);
	return ret;
}

FIXTURE_SETUP(chg)
{
	shard_log_init("store_log_test", SHARD_LOG_ERR);
	strcpy(self->dir, "/tmp/shardd-log-test.XXXXXX");
	ASSERT_NE(NULL, mkdtemp(self->dir));
	snprintf(self->path, sizeof(self->path), "%s/store", self->dir);
	ASSERT_EQ(0, ring_setup());
	ASSERT_EQ(0, open_st(self));
	self->a = malloc(SHARD_MAX_IO);
	ASSERT_NE(NULL, self->a);
	fill(self->a, SHARD_MAX_IO, 3);
}

FIXTURE_TEARDOWN(chg)
{
	shard_store_close(self->st);
	io_uring_queue_exit(&ring);
	unlink(self->path);
	rmdir(self->dir);
	free(self->a);
}

/* The blocks set in self->blocks, as "b b b" (at most a few). */
static const char *set_blocks(FIXTURE_DATA(chg) *self)
{
	static char out[128];
	size_t len = 0;
	uint32_t b;

	out[0] = 0;
	for (b = 0; b < SHARD_STORE_BLOCK_WORDS * 64; b++)
		if (self->blocks[b / 64] >> (b % 64) & 1)
			len += (size_t)snprintf(out + len, sizeof(out) - len,
						"%s%u", len ? " " : "", b);
	return out;
}

static bool since(FIXTURE_DATA(chg) *self, const struct shard_obj *o,
		  uint64_t epoch, uint64_t seq)
{
	const struct shard_ver v = { epoch, seq };

	return shard_store_changed_since(self->st, o, &v, self->blocks);
}

/* Writes and zeroes, some not block aligned: each version's chain
 * names the blocks of every change after it. */
TEST_F(chg, blocks_changed_since_each_version)
{
	const struct shard_obj o = OBJ4M(1), other = OBJ4M(2);

	ASSERT_EQ(0, st_write_v(self->st, &o, 0, 8192, self->a, 5, 1));
	ASSERT_EQ(0, st_write_v(self->st, &o, (1U << 20) + 4096 + 10, 100,
				self->a, 5, 2));
	ASSERT_EQ(0, st_zero_v(self->st, &o, 3U << 20, 8192, 6, 3));
	ASSERT_EQ(0, st_write_v(self->st, &o, 4095, 2, self->a, 6, 4));

	ASSERT_TRUE(since(self, &o, 5, 1));
	EXPECT_STREQ("0 1 257 768 769", set_blocks(self));
	ASSERT_TRUE(since(self, &o, 5, 2));
	EXPECT_STREQ("0 1 768 769", set_blocks(self));
	ASSERT_TRUE(since(self, &o, 6, 3));
	EXPECT_STREQ("0 1", set_blocks(self));
	/* At it already; never its version; unknown. */
	EXPECT_FALSE(since(self, &o, 6, 4));
	EXPECT_STREQ("", set_blocks(self));
	EXPECT_FALSE(since(self, &o, 5, 99));
	EXPECT_FALSE(since(self, &o, 0, 0));
	/* Another object's versions say nothing of this one. */
	EXPECT_FALSE(since(self, &other, 5, 1));
}

/* A change without a version (scrub's repair) is not a change of any
 * version's bytes; one with the unknown version ends the chain. */
TEST_F(chg, unversioned_kept_unknown_ends)
{
	const struct shard_obj o = OBJ4M(1);

	ASSERT_EQ(0, st_write_v(self->st, &o, 0, 4096, self->a, 5, 1));
	ASSERT_EQ(0, st_write_v(self->st, &o, 8192, 4096, self->a, 5, 2));
	ASSERT_EQ(0, st_write(self->st, &o, 65536, 4096, self->a));
	ASSERT_TRUE(since(self, &o, 5, 1));
	EXPECT_STREQ("2", set_blocks(self));

	ASSERT_EQ(0, st_write_v(self->st, &o, 12288, 4096, self->a, 0, 0));
	ASSERT_EQ(0, st_write_v(self->st, &o, 16384, 4096, self->a, 5, 3));
	EXPECT_FALSE(since(self, &o, 5, 2));
	EXPECT_FALSE(since(self, &o, 5, 1));
}

/* A zero that drops the object, then a write that makes it again: the
 * chain runs through (the dropped object was all zeroes). */
TEST_F(chg, chain_through_a_dropped_object)
{
	const struct shard_obj o = OBJ4M(1);
	struct shard_ver v;

	ASSERT_EQ(0, st_write_v(self->st, &o, 0, 4096, self->a, 5, 1));
	ASSERT_EQ(0, st_zero_v(self->st, &o, 0, 4096, 5, 2));
	ASSERT_FALSE(shard_store_version(self->st, &o, &v));
	ASSERT_EQ(0, st_write_v(self->st, &o, 5 * 4096, 4096, self->a, 5, 3));
	ASSERT_TRUE(since(self, &o, 5, 1));
	EXPECT_STREQ("0 5", set_blocks(self));
}

/*
 * A change that failed here may have been made on a member: a copy at
 * its version holds bytes we never did, and the chain ends there (here
 * with no room for a new object; a change queued behind it as well).
 */
TEST_F(chg, failed_change_ends_the_chain)
{
	struct shard_obj o = OBJ4M(0);
	const struct shard_obj x = OBJ4M(100);
	struct res r1 = { 0 }, r2 = { 0 }, r3 = { 0 };
	uint64_t k;

	for (k = 0; k < 7; k++) {
		o.object = k;
		ASSERT_EQ(0, st_write(self->st, &o, 0, 4096, self->a));
	}
	ASSERT_EQ(-ENOSPC, st_write_v(self->st, &x, 0, 4096, self->a, 5, 1));
	ASSERT_EQ(0, shard_store_write(self->st, &x, 4096, 4096, self->a,
				       &(struct shard_ver){ 5, 2 }, on_done,
				       &r1));
	ASSERT_EQ(-ENOSPC, wait_for(0, &r1));
	o.object = 0;
	ASSERT_EQ(0, st_zero(self->st, &o, 0, 4096));
	ASSERT_EQ(0, shard_store_write(self->st, &x, 0, 4096, self->a,
				       &(struct shard_ver){ 5, 3 }, on_done,
				       &r2));
	ASSERT_EQ(0, shard_store_write(self->st, &x, 8192, 4096, self->a,
				       &(struct shard_ver){ 5, 4 }, on_done,
				       &r3));
	ASSERT_EQ(0, wait_for(0, &r2));
	ASSERT_EQ(0, wait_for(0, &r3));
	EXPECT_FALSE(since(self, &x, 5, 1));
	EXPECT_FALSE(since(self, &x, 5, 2));
	ASSERT_TRUE(since(self, &x, 5, 3));
	EXPECT_STREQ("2", set_blocks(self));
}

/* A change queued behind one that fails took the failed one's version
 * as the one before it: that link goes too. */
TEST_F(chg, change_queued_behind_a_failed_one)
{
	const struct shard_obj x = OBJ4M(1);
	struct res r1 = { 0 }, r2 = { 0 };
	unsigned char pat[4096];

	fill(pat, sizeof(pat), 77);
	ASSERT_EQ(0, st_write_v(self->st, &x, 4 * 4096, 4096, pat, 5, 1));
	ASSERT_EQ(0, corrupt(self->path, pat, sizeof(pat)));
	/* A partial write into the damaged block fails; a whole block
	 * written behind it does not. */
	ASSERT_EQ(0, shard_store_write(self->st, &x, 4 * 4096 + 512, 512,
				       self->a, &(struct shard_ver){ 5, 2 },
				       on_done, &r1));
	ASSERT_EQ(0, shard_store_write(self->st, &x, 6 * 4096, 4096, self->a,
				       &(struct shard_ver){ 5, 3 }, on_done,
				       &r2));
	ASSERT_EQ(-EBADMSG, wait_for(0, &r1));
	ASSERT_EQ(0, wait_for(0, &r2));
	EXPECT_FALSE(since(self, &x, 5, 2));
	EXPECT_FALSE(since(self, &x, 5, 1));
}

/* The log holds its last LOG_ENTRIES changes. A version stays known
 * while every change after it is in; the change that made it need not
 * be. */
TEST_F(chg, overwritten_entries_forgotten)
{
	const struct shard_obj o = OBJ4M(1), p = OBJ4M(2);
	uint64_t k;

	ASSERT_EQ(0, st_write_v(self->st, &o, 0, 4096, self->a, 5, 1));
	ASSERT_EQ(0, st_write_v(self->st, &o, 4096, 4096, self->a, 5, 2));
	for (k = 0; k < LOG_ENTRIES - 1; k++)
		ASSERT_EQ(0, st_write_v(self->st, &p, 0, 4096, self->a, 6,
					10 + k));
	/* V1's entry is gone, V2's (all that came after V1) is not. */
	ASSERT_TRUE(since(self, &o, 5, 1));
	EXPECT_STREQ("1", set_blocks(self));
	ASSERT_EQ(0, st_write_v(self->st, &p, 0, 4096, self->a, 6, 20));
	EXPECT_FALSE(since(self, &o, 5, 1));
	EXPECT_STREQ("", set_blocks(self));
	ASSERT_TRUE(since(self, &p, 6, 10));
	EXPECT_STREQ("0", set_blocks(self));
}

/*
 * After a restart the log is empty: a change made alone takes the
 * object's recorded version as the one before it; one queued behind
 * another operation (whose end it cannot know at submission) does not.
 */
TEST_F(chg, after_restart)
{
	const struct shard_obj o = OBJ4M(1), p = OBJ4M(2);
	struct res r1 = { 0 }, r2 = { 0 };
	unsigned char buf[4096];

	ASSERT_EQ(0, st_write_v(self->st, &o, 0, 4096, self->a, 5, 1));
	ASSERT_EQ(0, st_write_v(self->st, &p, 0, 4096, self->a, 5, 2));
	ASSERT_EQ(0, shard_store_close(self->st));
	ASSERT_EQ(0, open_st(self));
	EXPECT_FALSE(since(self, &o, 5, 1));

	ASSERT_EQ(0, st_write_v(self->st, &o, 8192, 4096, self->a, 7, 1));
	ASSERT_TRUE(since(self, &o, 5, 1));
	EXPECT_STREQ("2", set_blocks(self));

	/* p: a read queued first, then the write. */
	ASSERT_EQ(0, shard_store_read(self->st, &p, 0, 4096, buf, on_done,
				      &r1));
	ASSERT_EQ(0, shard_store_write(self->st, &p, 8192, 4096, self->a,
				       &(struct shard_ver){ 7, 2 }, on_done,
				       &r2));
	ASSERT_EQ(0, wait_for(0, &r1));
	ASSERT_EQ(0, wait_for(0, &r2));
	EXPECT_FALSE(since(self, &p, 5, 2));
}

TEST_HARNESS_MAIN
