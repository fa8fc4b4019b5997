// SPDX-License-Identifier: GPL-2.0-only
/* The object store on a small sparse file. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <shard/proto.h>

#include "log.h"
#include "store.h"
#include "kselftest_harness.h"

#define STORE_SIZE	(32ULL << 20)	/* 7 object slots */
#define OBJ4M(n)	{ .pool = 1, .volume = 5, .object = (n), .order = 22 }

static void fill(unsigned char *buf, size_t len, unsigned int seed)
{
	size_t i;

	for (i = 0; i < len; i++)
		buf[i] = (unsigned char)(seed * 131 + i * 7 + (i >> 9) + 1);
}

static bool is_zero(const unsigned char *buf, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (buf[i])
			return false;
	return true;
}

FIXTURE(store) {
	char dir[64];
	char path[96];
	struct shard_store *st;
	unsigned char *a, *b;
};

FIXTURE_SETUP(store)
{
	struct shard_store_opts o = { .path = self->path, .size = STORE_SIZE };

	shard_log_init("store_test", SHARD_LOG_WARN);
	strcpy(self->dir, "/tmp/shardd-store-test.XXXXXX");
	ASSERT_NE(NULL, mkdtemp(self->dir));
	snprintf(self->path, sizeof(self->path), "%s/store", self->dir);
	ASSERT_EQ(0, shard_store_open(&self->st, &o));
	self->a = malloc(SHARD_MAX_IO);
	self->b = malloc(SHARD_MAX_IO);
	ASSERT_NE(NULL, self->a);
	ASSERT_NE(NULL, self->b);
}

FIXTURE_TEARDOWN(store)
{
	shard_store_close(self->st);
	unlink(self->path);
	rmdir(self->dir);
	free(self->a);
	free(self->b);
}

static int reopen(struct __test_metadata *_metadata, FIXTURE_DATA(store) *self)
{
	struct shard_store_opts o = { .path = self->path };

	EXPECT_EQ(0, shard_store_close(self->st));
	self->st = NULL;
	return shard_store_open(&self->st, &o);
}

TEST_F(store, write_read_back)
{
	struct shard_obj o = OBJ4M(1);

	EXPECT_EQ(7 * (4ULL << 20), shard_store_capacity(self->st));
	fill(self->a, SHARD_MAX_IO, 1);
	ASSERT_EQ(0, shard_store_write(self->st, &o, 8192, SHARD_MAX_IO,
				       self->a));
	ASSERT_EQ(0, shard_store_read(self->st, &o, 8192, SHARD_MAX_IO,
				      self->b));
	ASSERT_EQ(0, memcmp(self->a, self->b, SHARD_MAX_IO));
	/* Around it: never written, reads as zeroes. */
	ASSERT_EQ(0, shard_store_read(self->st, &o, 0, 8192, self->b));
	ASSERT_TRUE(is_zero(self->b, 8192));
	/* Another object, and the same index in another pool. */
	o.object = 2;
	ASSERT_EQ(0, shard_store_read(self->st, &o, 8192, 4096, self->b));
	ASSERT_TRUE(is_zero(self->b, 4096));
	o.object = 1;
	o.pool = 2;
	ASSERT_EQ(0, shard_store_read(self->st, &o, 8192, 4096, self->b));
	ASSERT_TRUE(is_zero(self->b, 4096));
}

TEST_F(store, partial_block_writes)
{
	struct shard_obj o = OBJ4M(3);
	unsigned char want[3 * 4096];

	memset(want, 0, sizeof(want));
	/* One sector inside a never-written block. */
	fill(self->a, 512, 2);
	ASSERT_EQ(0, shard_store_write(self->st, &o, 512, 512, self->a));
	memcpy(want + 512, self->a, 512);
	/* Across a block boundary, both ends partial. */
	fill(self->a, 1536, 3);
	ASSERT_EQ(0, shard_store_write(self->st, &o, 3584, 1536, self->a));
	memcpy(want + 3584, self->a, 1536);
	/* Head partial, tail aligned, spanning two blocks. */
	fill(self->a, 4096 + 3072, 4);
	ASSERT_EQ(0, shard_store_write(self->st, &o, 1024, 4096 + 3072,
				       self->a));
	memcpy(want + 1024, self->a, 4096 + 3072);
	/* Tail partial of the last block. */
	fill(self->a, 512, 5);
	ASSERT_EQ(0, shard_store_write(self->st, &o, 8192, 512, self->a));
	memcpy(want + 8192, self->a, 512);

	ASSERT_EQ(0, shard_store_read(self->st, &o, 0, sizeof(want), self->b));
	ASSERT_EQ(0, memcmp(want, self->b, sizeof(want)));
	/* Sector-granular reads of the same. */
	ASSERT_EQ(0, shard_store_read(self->st, &o, 3584, 1024, self->b));
	ASSERT_EQ(0, memcmp(want + 3584, self->b, 1024));
	ASSERT_EQ(0, reopen(_metadata, self));
	ASSERT_EQ(0, shard_store_read(self->st, &o, 0, sizeof(want), self->b));
	ASSERT_EQ(0, memcmp(want, self->b, sizeof(want)));
}

TEST_F(store, zero_reads_back_zero)
{
	struct shard_obj o = OBJ4M(4);
	unsigned char *ref = self->a;

	fill(ref, 65536, 6);
	ASSERT_EQ(0, shard_store_write(self->st, &o, 0, 65536, ref));
	/* Whole blocks plus partial ends. */
	ASSERT_EQ(0, shard_store_zero(self->st, &o, 1024, 16384));
	memset(ref + 1024, 0, 16384);
	/* Inside one block. */
	ASSERT_EQ(0, shard_store_zero(self->st, &o, 20480 + 512, 1024));
	memset(ref + 20480 + 512, 0, 1024);
	/* Two partial blocks, no whole one. */
	ASSERT_EQ(0, shard_store_zero(self->st, &o, 32768 - 1024, 2048));
	memset(ref + 32768 - 1024, 0, 2048);
	ASSERT_EQ(0, shard_store_read(self->st, &o, 0, 65536, self->b));
	ASSERT_EQ(0, memcmp(ref, self->b, 65536));
	ASSERT_EQ(0, reopen(_metadata, self));
	ASSERT_EQ(0, shard_store_read(self->st, &o, 0, 65536, self->b));
	ASSERT_EQ(0, memcmp(ref, self->b, 65536));
	/* Zeroing an object never written is a no-op. */
	o.object = 99;
	ASSERT_EQ(0, shard_store_zero(self->st, &o, 0, 4096));
}

TEST_F(store, nospc_and_discard_frees_slot)
{
	struct shard_obj o = OBJ4M(0);
	uint32_t i, off;

	fill(self->a, 4096, 7);
	for (i = 0; i < 7; i++) {
		o.object = 100 + i;
		ASSERT_EQ(0, shard_store_write(self->st, &o, 0, 4096, self->a));
	}
	o.object = 200;
	ASSERT_EQ(-ENOSPC, shard_store_write(self->st, &o, 0, 4096, self->a));
	/* Discarding all of one object gives its slot back. */
	o.object = 103;
	for (off = 0; off < (4U << 20); off += SHARD_MAX_IO)
		ASSERT_EQ(0, shard_store_zero(self->st, &o, off, SHARD_MAX_IO));
	o.object = 200;
	ASSERT_EQ(0, shard_store_write(self->st, &o, 0, 4096, self->a));
	ASSERT_EQ(0, reopen(_metadata, self));
	ASSERT_EQ(0, shard_store_read(self->st, &o, 0, 4096, self->b));
	ASSERT_EQ(0, memcmp(self->a, self->b, 4096));
	o.object = 103;
	ASSERT_EQ(0, shard_store_read(self->st, &o, 0, 4096, self->b));
	ASSERT_TRUE(is_zero(self->b, 4096));
}

/* Flips one byte of the first occurrence of pat in the file. */
static int corrupt(const char *path, const unsigned char *pat, size_t len)
{
	struct stat stb;
	unsigned char *buf, *hit;
	int fd, ret = -1;

	fd = open(path, O_RDWR);
	if (fd < 0 || fstat(fd, &stb) < 0)
		return -1;
	buf = malloc((size_t)stb.st_size);
	if (buf && pread(fd, buf, (size_t)stb.st_size, 0) == stb.st_size) {
		hit = memmem(buf, (size_t)stb.st_size, pat, len);
		if (hit) {
			unsigned char c = (unsigned char)(hit[len / 2] ^ 0x40);

			if (pwrite(fd, &c, 1, hit - buf + len / 2) == 1)
				ret = 0;
		}
	}
	free(buf);
	close(fd);
	return ret;
}

TEST_F(store, crc_mismatch_detected)
{
	struct shard_obj o = OBJ4M(5);

	fill(self->a, 3 * 4096, 8);
	ASSERT_EQ(0, shard_store_write(self->st, &o, 0, 3 * 4096, self->a));
	ASSERT_EQ(0, shard_store_close(self->st));
	self->st = NULL;
	/* The middle block's bytes are unique in the file. */
	ASSERT_EQ(0, corrupt(self->path, self->a + 4096, 4096));
	ASSERT_EQ(0, reopen(_metadata, self));
	ASSERT_EQ(-EBADMSG, shard_store_read(self->st, &o, 0, 3 * 4096,
					     self->b));
	ASSERT_EQ(-EBADMSG, shard_store_read(self->st, &o, 4096 + 512, 512,
					     self->b));
	/* A partial write into the bad block cannot merge with it. */
	ASSERT_EQ(-EBADMSG, shard_store_write(self->st, &o, 4096, 512,
					      self->a));
	/* Its neighbours are fine. */
	ASSERT_EQ(0, shard_store_read(self->st, &o, 0, 4096, self->b));
	ASSERT_EQ(0, memcmp(self->a, self->b, 4096));
	ASSERT_EQ(0, shard_store_read(self->st, &o, 8192, 4096, self->b));
	ASSERT_EQ(0, memcmp(self->a + 8192, self->b, 4096));
	/* Rewriting the whole block repairs it. */
	ASSERT_EQ(0, shard_store_write(self->st, &o, 4096, 4096,
				       self->a + 4096));
	ASSERT_EQ(0, shard_store_read(self->st, &o, 0, 3 * 4096, self->b));
	ASSERT_EQ(0, memcmp(self->a, self->b, 3 * 4096));
}

TEST_F(store, reopen_keeps_data_and_id)
{
	struct shard_obj o = OBJ4M(6);

	ASSERT_EQ(0, shard_store_daemon_id(self->st));
	ASSERT_EQ(0, shard_store_set_daemon_id(self->st, 42));
	fill(self->a, 65536, 9);
	ASSERT_EQ(0, shard_store_write(self->st, &o, 65536, 65536, self->a));
	ASSERT_EQ(0, shard_store_flush(self->st));
	ASSERT_EQ(0, reopen(_metadata, self));
	ASSERT_EQ(42, shard_store_daemon_id(self->st));
	ASSERT_EQ(7 * (4ULL << 20), shard_store_capacity(self->st));
	ASSERT_EQ(0, shard_store_read(self->st, &o, 65536, 65536, self->b));
	ASSERT_EQ(0, memcmp(self->a, self->b, 65536));
}

TEST_F(store, out_of_range_refused)
{
	struct shard_obj o = OBJ4M(7);

	ASSERT_EQ(-ERANGE, shard_store_write(self->st, &o, (4U << 20) - 512,
					     1024, self->a));
	ASSERT_EQ(-ERANGE, shard_store_read(self->st, &o, 4U << 20, 512,
					    self->b));
	ASSERT_EQ(-ERANGE, shard_store_zero(self->st, &o, 4U << 20, 512));
	o.order = 20;
	ASSERT_EQ(-ERANGE, shard_store_write(self->st, &o, 1U << 20, 512,
					     self->a));
	/* Larger objects than the slot size are not supported yet. */
	o.order = 23;
	ASSERT_EQ(-EOPNOTSUPP, shard_store_write(self->st, &o, 0, 512,
						 self->a));
	o.order = 22;
	ASSERT_EQ(-EINVAL, shard_store_write(self->st, &o, 0,
					     SHARD_MAX_IO + 512, self->a));
	/* One object, one size. */
	ASSERT_EQ(0, shard_store_write(self->st, &o, 0, 512, self->a));
	o.order = 20;
	ASSERT_EQ(-EINVAL, shard_store_read(self->st, &o, 0, 512, self->b));
}

TEST(refuses_foreign_data)
{
	char path[] = "/tmp/shardd-foreign.XXXXXX";
	struct shard_store_opts o = { .path = path, .size = STORE_SIZE };
	struct shard_store *st = NULL;
	int fd;

	shard_log_init("store_test", SHARD_LOG_ERR + 0);
	fd = mkstemp(path);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, ftruncate(fd, (off_t)STORE_SIZE));
	ASSERT_EQ(5, pwrite(fd, "hello", 5, 100));
	close(fd);
	EXPECT_EQ(-EEXIST, shard_store_open(&st, &o));
	o.force_format = true;
	EXPECT_EQ(0, shard_store_open(&st, &o));
	shard_store_close(st);
	unlink(path);
}

TEST(too_small)
{
	char path[] = "/tmp/shardd-small.XXXXXX";
	struct shard_store_opts o = { .path = path, .size = 1 << 20 };
	struct shard_store *st = NULL;
	int fd;

	shard_log_init("store_test", SHARD_LOG_ERR + 0);
	fd = mkstemp(path);
	ASSERT_LE(0, fd);
	close(fd);
	EXPECT_EQ(-ENOSPC, shard_store_open(&st, &o));
	unlink(path);
}

TEST_HARNESS_MAIN
