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
#include "ring.h"
#include "store.h"
#include "store_harness.h"
#include "kselftest_harness.h"

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
	ASSERT_EQ(0, ring_setup());
	ASSERT_EQ(0, shard_store_open(&self->st, &o));
	shard_store_set_ring(self->st, &ring);
	self->a = malloc(SHARD_MAX_IO);
	self->b = malloc(SHARD_MAX_IO);
	ASSERT_NE(NULL, self->a);
	ASSERT_NE(NULL, self->b);
}

FIXTURE_TEARDOWN(store)
{
	shard_store_close(self->st);
	io_uring_queue_exit(&ring);
	unlink(self->path);
	rmdir(self->dir);
	free(self->a);
	free(self->b);
}

static int reopen(struct __test_metadata *_metadata, FIXTURE_DATA(store) *self)
{
	struct shard_store_opts o = { .path = self->path };

	int ret;

	EXPECT_EQ(0, shard_store_close(self->st));
	self->st = NULL;
	ret = shard_store_open(&self->st, &o);
	if (!ret)
		shard_store_set_ring(self->st, &ring);
	return ret;
}

TEST_F(store, write_read_back)
{
	struct shard_obj o = OBJ4M(1);

	EXPECT_EQ(7 * (4ULL << 20), shard_store_capacity(self->st));
	fill(self->a, SHARD_MAX_IO, 1);
	ASSERT_EQ(0, st_write(self->st, &o, 8192, SHARD_MAX_IO,
				       self->a));
	ASSERT_EQ(0, st_read(self->st, &o, 8192, SHARD_MAX_IO,
				      self->b));
	ASSERT_EQ(0, memcmp(self->a, self->b, SHARD_MAX_IO));
	/* Around it: never written, reads as zeroes. */
	ASSERT_EQ(0, st_read(self->st, &o, 0, 8192, self->b));
	ASSERT_TRUE(is_zero(self->b, 8192));
	/* Another object, and the same index in another pool. */
	o.object = 2;
	ASSERT_EQ(0, st_read(self->st, &o, 8192, 4096, self->b));
	ASSERT_TRUE(is_zero(self->b, 4096));
	o.object = 1;
	o.pool = 2;
	ASSERT_EQ(0, st_read(self->st, &o, 8192, 4096, self->b));
	ASSERT_TRUE(is_zero(self->b, 4096));
}

TEST_F(store, partial_block_writes)
{
	struct shard_obj o = OBJ4M(3);
	unsigned char want[3 * 4096];

	memset(want, 0, sizeof(want));
	/* One sector inside a never-written block. */
	fill(self->a, 512, 2);
	ASSERT_EQ(0, st_write(self->st, &o, 512, 512, self->a));
	memcpy(want + 512, self->a, 512);
	/* Across a block boundary, both ends partial. */
	fill(self->a, 1536, 3);
	ASSERT_EQ(0, st_write(self->st, &o, 3584, 1536, self->a));
	memcpy(want + 3584, self->a, 1536);
	/* Head partial, tail aligned, spanning two blocks. */
	fill(self->a, 4096 + 3072, 4);
	ASSERT_EQ(0, st_write(self->st, &o, 1024, 4096 + 3072,
				       self->a));
	memcpy(want + 1024, self->a, 4096 + 3072);
	/* Tail partial of the last block. */
	fill(self->a, 512, 5);
	ASSERT_EQ(0, st_write(self->st, &o, 8192, 512, self->a));
	memcpy(want + 8192, self->a, 512);

	ASSERT_EQ(0, st_read(self->st, &o, 0, sizeof(want), self->b));
	ASSERT_EQ(0, memcmp(want, self->b, sizeof(want)));
	/* Sector-granular reads of the same. */
	ASSERT_EQ(0, st_read(self->st, &o, 3584, 1024, self->b));
	ASSERT_EQ(0, memcmp(want + 3584, self->b, 1024));
	ASSERT_EQ(0, reopen(_metadata, self));
	ASSERT_EQ(0, st_read(self->st, &o, 0, sizeof(want), self->b));
	ASSERT_EQ(0, memcmp(want, self->b, sizeof(want)));
}

TEST_F(store, zero_reads_back_zero)
{
	struct shard_obj o = OBJ4M(4);
	unsigned char *ref = self->a;

	fill(ref, 65536, 6);
	ASSERT_EQ(0, st_write(self->st, &o, 0, 65536, ref));
	/* Whole blocks plus partial ends. */
	ASSERT_EQ(0, st_zero(self->st, &o, 1024, 16384));
	memset(ref + 1024, 0, 16384);
	/* Inside one block. */
	ASSERT_EQ(0, st_zero(self->st, &o, 20480 + 512, 1024));
	memset(ref + 20480 + 512, 0, 1024);
	/* Two partial blocks, no whole one. */
	ASSERT_EQ(0, st_zero(self->st, &o, 32768 - 1024, 2048));
	memset(ref + 32768 - 1024, 0, 2048);
	ASSERT_EQ(0, st_read(self->st, &o, 0, 65536, self->b));
	ASSERT_EQ(0, memcmp(ref, self->b, 65536));
	ASSERT_EQ(0, reopen(_metadata, self));
	ASSERT_EQ(0, st_read(self->st, &o, 0, 65536, self->b));
	ASSERT_EQ(0, memcmp(ref, self->b, 65536));
	/* Zeroing an object never written is a no-op. */
	o.object = 99;
	ASSERT_EQ(0, st_zero(self->st, &o, 0, 4096));
}

TEST_F(store, nospc_and_discard_frees_slot)
{
	struct shard_obj o = OBJ4M(0);
	uint32_t i, off;

	fill(self->a, 4096, 7);
	for (i = 0; i < 7; i++) {
		o.object = 100 + i;
		ASSERT_EQ(0, st_write(self->st, &o, 0, 4096, self->a));
	}
	o.object = 200;
	ASSERT_EQ(-ENOSPC, st_write(self->st, &o, 0, 4096, self->a));
	/* Discarding all of one object gives its slot back. */
	o.object = 103;
	for (off = 0; off < (4U << 20); off += SHARD_MAX_IO)
		ASSERT_EQ(0, st_zero(self->st, &o, off, SHARD_MAX_IO));
	o.object = 200;
	ASSERT_EQ(0, st_write(self->st, &o, 0, 4096, self->a));
	ASSERT_EQ(0, reopen(_metadata, self));
	ASSERT_EQ(0, st_read(self->st, &o, 0, 4096, self->b));
	ASSERT_EQ(0, memcmp(self->a, self->b, 4096));
	o.object = 103;
	ASSERT_EQ(0, st_read(self->st, &o, 0, 4096, self->b));
	ASSERT_TRUE(is_zero(self->b, 4096));
}

TEST_F(store, crc_mismatch_detected)
{
	struct shard_obj o = OBJ4M(5);

	fill(self->a, 3 * 4096, 8);
	ASSERT_EQ(0, st_write(self->st, &o, 0, 3 * 4096, self->a));
	ASSERT_EQ(0, shard_store_close(self->st));
	self->st = NULL;
	/* The middle block's bytes are unique in the file. */
	ASSERT_EQ(0, corrupt(self->path, self->a + 4096, 4096));
	ASSERT_EQ(0, reopen(_metadata, self));
	ASSERT_EQ(-EBADMSG, st_read(self->st, &o, 0, 3 * 4096,
					     self->b));
	ASSERT_EQ(-EBADMSG, st_read(self->st, &o, 4096 + 512, 512,
					     self->b));
	/* A partial write into the bad block cannot merge with it. */
	ASSERT_EQ(-EBADMSG, st_write(self->st, &o, 4096, 512,
					      self->a));
	/* Its neighbours are fine. */
	ASSERT_EQ(0, st_read(self->st, &o, 0, 4096, self->b));
	ASSERT_EQ(0, memcmp(self->a, self->b, 4096));
	ASSERT_EQ(0, st_read(self->st, &o, 8192, 4096, self->b));
	ASSERT_EQ(0, memcmp(self->a + 8192, self->b, 4096));
	/* Rewriting the whole block repairs it. */
	ASSERT_EQ(0, st_write(self->st, &o, 4096, 4096,
				       self->a + 4096));
	ASSERT_EQ(0, st_read(self->st, &o, 0, 3 * 4096, self->b));
	ASSERT_EQ(0, memcmp(self->a, self->b, 3 * 4096));
}

TEST_F(store, reopen_keeps_data_and_id)
{
	struct shard_obj o = OBJ4M(6);

	ASSERT_EQ(0, shard_store_daemon_id(self->st));
	ASSERT_EQ(0, shard_store_set_daemon_id(self->st, 42));
	fill(self->a, 65536, 9);
	ASSERT_EQ(0, st_write(self->st, &o, 65536, 65536, self->a));
	ASSERT_EQ(0, shard_store_flush(self->st));
	ASSERT_EQ(0, reopen(_metadata, self));
	ASSERT_EQ(42, shard_store_daemon_id(self->st));
	ASSERT_EQ(7 * (4ULL << 20), shard_store_capacity(self->st));
	ASSERT_EQ(0, st_read(self->st, &o, 65536, 65536, self->b));
	ASSERT_EQ(0, memcmp(self->a, self->b, 65536));
}

TEST_F(store, out_of_range_refused)
{
	struct shard_obj o = OBJ4M(7);

	ASSERT_EQ(-ERANGE, st_write(self->st, &o, (4U << 20) - 512,
					     1024, self->a));
	ASSERT_EQ(-ERANGE, st_read(self->st, &o, 4U << 20, 512,
					    self->b));
	ASSERT_EQ(-ERANGE, st_zero(self->st, &o, 4U << 20, 512));
	o.order = 20;
	ASSERT_EQ(-ERANGE, st_write(self->st, &o, 1U << 20, 512,
					     self->a));
	/* Larger objects than the slot size are not supported yet. */
	o.order = 23;
	ASSERT_EQ(-EOPNOTSUPP, st_write(self->st, &o, 0, 512,
						 self->a));
	o.order = 22;
	ASSERT_EQ(-EINVAL, st_write(self->st, &o, 0,
					     SHARD_MAX_IO + 512, self->a));
	/* One object, one size. */
	ASSERT_EQ(0, st_write(self->st, &o, 0, 512, self->a));
	o.order = 20;
	ASSERT_EQ(-EINVAL, st_read(self->st, &o, 0, 512, self->b));
}

/* Discarding whole blocks gives the space back to the sparse file (a
 * hole punch on the ring). */
TEST_F(store, discard_punches_holes)
{
	struct shard_obj o = OBJ4M(4);
	struct stat before, after;

	fill(self->a, SHARD_MAX_IO, 70);
	ASSERT_EQ(0, st_write(self->st, &o, 0, SHARD_MAX_IO, self->a));
	ASSERT_EQ(0, stat(self->path, &before));
	/* Keep one sector, so the slot stays and only the data goes. */
	ASSERT_EQ(0, st_zero(self->st, &o, 4096, SHARD_MAX_IO - 4096));
	ASSERT_EQ(0, stat(self->path, &after));
	ASSERT_GT(before.st_blocks - (SHARD_MAX_IO / 2) / 512, after.st_blocks);
	ASSERT_EQ(0, st_read(self->st, &o, 0, SHARD_MAX_IO, self->b));
	ASSERT_EQ(0, memcmp(self->a, self->b, 4096));
	memset(self->a, 0, SHARD_MAX_IO);
	ASSERT_EQ(0, memcmp(self->a, self->b + 4096, SHARD_MAX_IO - 4096));
}

/* Runs the ring until every one of n operations has completed. */
static int drain(struct res *rs, int n)
{
	int i;

	for (i = 0; i < n; i++)
		while (!rs[i].done) {
			if (io_uring_submit_and_wait(&ring, 1) < 0)
				return -EIO;
			shard_ring_dispatch(&ring);
		}
	return 0;
}

/*
 * Many operations in flight at once, submitted without waiting: on one
 * object they must complete, and take effect, in submission order (write
 * A, read, write B, read; eight 512-byte read-modify-writes of one block
 * back to back); other objects interleaved with them proceed too.
 */
TEST_F(store, concurrent_same_and_other_objects)
{
	enum { NOBJ = 5, PER = 3 };
	struct shard_obj o = OBJ4M(1), p = OBJ4M(0);
	static unsigned char A[4096], B[4096], sec[8][512], r1[4096],
		r2[4096], r3[4096], r4[8192], want[8192];
	static unsigned char odata[NOBJ][PER][65536], oread[NOBJ][65536 * 2];
	struct res rs[64] = { { 0 } };
	int same[16], nsame = 0, n = 0, i, j;

	fill(A, sizeof(A), 10);
	fill(B, sizeof(B), 11);
	/* Other objects first get their writes queued, in between ours. */
	for (i = 0; i < NOBJ; i++)
		for (j = 0; j < PER; j++)
			fill(odata[i][j], 65536, 20 + i * PER + j);

#define SAME(call) do { same[nsame++] = n; ASSERT_EQ(0, call); n++; } while (0)
#define OTHER(k, j) do {						\
		p.object = 100 + (k);					\
		/* 0 and 2 overlap by half: the later one must win. */	\
		ASSERT_EQ(0, shard_store_write(self->st, &p, (j) * 32768, 65536, \
					       odata[k][j], NULL, on_done, \
					       &rs[n]));			\
		n++;							\
	} while (0)

	SAME(shard_store_write(self->st, &o, 0, 4096, A, NULL, on_done, &rs[n]));
	OTHER(0, 0);
	SAME(shard_store_read(self->st, &o, 0, 4096, r1, on_done, &rs[n]));
	OTHER(1, 0);
	SAME(shard_store_write(self->st, &o, 0, 4096, B, NULL, on_done, &rs[n]));
	OTHER(2, 0);
	OTHER(3, 0);
	SAME(shard_store_read(self->st, &o, 0, 4096, r2, on_done, &rs[n]));
	OTHER(4, 0);
	for (i = 0; i < 8; i++) {
		fill(sec[i], 512, 30 + i);
		SAME(shard_store_write(self->st, &o, 4096 + i * 512, 512, sec[i],
				       NULL, on_done, &rs[n]));
		if (i < NOBJ)
			OTHER(i, 1);
	}
	SAME(shard_store_read(self->st, &o, 4096, 4096, r3, on_done, &rs[n]));
	for (i = 0; i < NOBJ; i++)
		OTHER(i, 2);
	SAME(shard_store_zero(self->st, &o, 0, 512, NULL, on_done, &rs[n]));
	SAME(shard_store_read(self->st, &o, 0, 8192, r4, on_done, &rs[n]));
#undef SAME
#undef OTHER
	ASSERT_EQ(0, drain(rs, n));

	for (i = 0; i < n; i++)
		ASSERT_EQ(0, rs[i].err);
	for (i = 1; i < nsame; i++)
		ASSERT_LT(rs[same[i - 1]].seq, rs[same[i]].seq);
	ASSERT_EQ(0, memcmp(A, r1, 4096));
	ASSERT_EQ(0, memcmp(B, r2, 4096));
	for (i = 0; i < 8; i++)
		ASSERT_EQ(0, memcmp(sec[i], r3 + i * 512, 512));
	memcpy(want, B, 4096);
	memset(want, 0, 512);
	memcpy(want + 4096, r3, 4096);
	ASSERT_EQ(0, memcmp(want, r4, 8192));

	/* Writes 0, 1, 2 at 0, 32K, 64K of 64K each: the last wins. */
	for (i = 0; i < NOBJ; i++) {
		p.object = 100 + i;
		ASSERT_EQ(0, st_read(self->st, &p, 0, 2 * 65536, oread[i]));
		ASSERT_EQ(0, memcmp(odata[i][0], oread[i], 32768));
		ASSERT_EQ(0, memcmp(odata[i][1], oread[i] + 32768, 32768));
		ASSERT_EQ(0, memcmp(odata[i][2], oread[i] + 65536, 65536));
	}
}

/* 512-byte writes into one block, all in flight together, from
 * 4 KiB-misaligned buffers: no read-modify-write may lose another's
 * sector, and reads in between see exactly the sectors before them. */
TEST_F(store, rmw_back_to_back)
{
	struct shard_obj o = OBJ4M(2);
	unsigned char *src = self->a + 1, *rd = self->b + 3;
	struct res rs[16] = { { 0 } };
	unsigned char want[4096];
	int i, n = 0;

	fill(src, 8 * 512, 40);
	memset(want, 0, sizeof(want));
	/* Reverse order, with a read after the fourth. */
	for (i = 7; i >= 0; i--) {
		ASSERT_EQ(0, shard_store_write(self->st, &o, 8192 + i * 512, 512,
					       src + i * 512, NULL, on_done,
					       &rs[n]));
		n++;
		if (i == 4) {
			ASSERT_EQ(0, shard_store_read(self->st, &o, 8192, 4096,
						      rd, on_done, &rs[n]));
			n++;
		}
	}
	ASSERT_EQ(0, shard_store_read(self->st, &o, 8192, 4096, rd + 4096,
				      on_done, &rs[n]));
	n++;
	ASSERT_EQ(0, drain(rs, n));
	for (i = 0; i < n; i++) {
		ASSERT_EQ(0, rs[i].err);
		if (i)
			ASSERT_LT(rs[i - 1].seq, rs[i].seq);
	}
	memcpy(want + 4 * 512, src + 4 * 512, 4 * 512);
	ASSERT_EQ(0, memcmp(want, rd, 4096));
	ASSERT_EQ(0, memcmp(src, rd + 4096, 4096));
}

/* Byte offset of the first occurrence of pat in the file, or -1. */
static off_t find(const char *path, const unsigned char *pat, size_t len)
{
	struct stat stb;
	unsigned char *buf, *hit;
	off_t ret = -1;
	int fd;

	fd = open(path, O_RDONLY);
	if (fd < 0 || fstat(fd, &stb) < 0)
		return -1;
	buf = malloc((size_t)stb.st_size);
	if (buf && pread(fd, buf, (size_t)stb.st_size, 0) == stb.st_size) {
		hit = memmem(buf, (size_t)stb.st_size, pat, len);
		if (hit)
			ret = hit - buf;
	}
	free(buf);
	close(fd);
	return ret;
}

/* A store cut short under the daemon: the read comes back short, then
 * empty, and fails with -EIO instead of returning garbage or spinning. */
TEST_F(store, short_read_fails_with_eio)
{
	struct shard_obj o = OBJ4M(3);
	off_t at;

	shard_log_init("store_test", SHARD_LOG_ERR + 1);
	fill(self->a, 65536, 50);
	ASSERT_EQ(0, st_write(self->st, &o, 0, 65536, self->a));
	at = find(self->path, self->a, 65536);
	ASSERT_LE(0, at);
	ASSERT_EQ(0, truncate(self->path, at + 6144));
	ASSERT_EQ(-EIO, st_read(self->st, &o, 0, 65536, self->b));
	/* What is still there reads fine. */
	ASSERT_EQ(0, st_read(self->st, &o, 0, 4096, self->b));
	ASSERT_EQ(0, memcmp(self->a, self->b, 4096));
}

/* O_DIRECT data (as on a block device) with aligned and misaligned
 * caller buffers; falls back to buffered I/O where the filesystem has
 * no O_DIRECT, and the results must be the same either way. */
TEST(direct_io)
{
	char dir[] = "/tmp/shardd-direct-test.XXXXXX";
	char path[96];
	struct shard_store_opts so = { .size = STORE_SIZE, .direct = true };
	struct shard_obj o = OBJ4M(1);
	struct shard_store *st = NULL;
	unsigned char *a, *b, want[3 * 4096];
	void *pa = NULL, *pb = NULL;

	shard_log_init("store_test", SHARD_LOG_WARN);
	ASSERT_NE(NULL, mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/store", dir);
	so.path = path;
	ASSERT_EQ(0, ring_setup());
	ASSERT_EQ(0, shard_store_open(&st, &so));
	shard_store_set_ring(st, &ring);
	ASSERT_EQ(0, posix_memalign(&pa, 4096, 2 * 65536));
	ASSERT_EQ(0, posix_memalign(&pb, 4096, 2 * 65536));
	a = pa;
	b = pb;

	/* Aligned buffer: straight to the disk. */
	fill(a, 65536, 60);
	ASSERT_EQ(0, st_write(st, &o, 0, 65536, a));
	ASSERT_EQ(0, st_read(st, &o, 0, 65536, b));
	ASSERT_EQ(0, memcmp(a, b, 65536));
	/* Misaligned buffers: through the bounce buffer. */
	fill(a + 5, 3 * 4096, 61);
	ASSERT_EQ(0, st_write(st, &o, 4096, 3 * 4096, a + 5));
	ASSERT_EQ(0, st_read(st, &o, 4096, 3 * 4096, b + 7));
	ASSERT_EQ(0, memcmp(a + 5, b + 7, 3 * 4096));
	/* Partial blocks and a zeroed range. */
	memcpy(want, a + 5, sizeof(want));
	fill(a, 1536, 62);
	ASSERT_EQ(0, st_write(st, &o, 4096 + 3584, 1536, a));
	memcpy(want + 3584, a, 1536);
	ASSERT_EQ(0, st_zero(st, &o, 4096 + 8192 + 512, 1024));
	memset(want + 8192 + 512, 0, 1024);
	ASSERT_EQ(0, st_read(st, &o, 4096, sizeof(want), b));
	ASSERT_EQ(0, memcmp(want, b, sizeof(want)));

	EXPECT_EQ(0, shard_store_close(st));
	io_uring_queue_exit(&ring);
	free(pa);
	free(pb);
	unlink(path);
	rmdir(dir);
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
