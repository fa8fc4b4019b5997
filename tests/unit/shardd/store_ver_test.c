// SPDX-License-Identifier: GPL-2.0-only
/*
 * Object versions in the store: recorded with each change, kept across
 * a restart of the daemon, cleared by a restart of the machine; unique
 * sequence numbers; format-1 stores; unreadable table entries.
 */
#define _GNU_SOURCE
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <shard/proto.h>

#include "crc.h"
#include "log.h"
#include "ring.h"
#include "store.h"
#include "store_harness.h"
#include "kselftest_harness.h"

FIXTURE(ver) {
	char dir[64];
	char path[96];
	char boot[96];
	struct shard_store *st;
	unsigned char *a, *b;
};

static void set_boot(FIXTURE_DATA(ver) *self, const char *id)
{
	FILE *f = fopen(self->boot, "w");

	if (f) {
		fprintf(f, "%s\n", id);
		fclose(f);
	}
}

static int open_st(FIXTURE_DATA(ver) *self, const char *path)
{
	struct shard_store_opts o = {
		.path = path, .size = STORE_SIZE, .boot_id_path = self->boot,
	};
	int ret = shard_store_open(&self->st, &o);

	if (!ret)
		shard_store_set_ring(self->st, &ring);
	return ret;
}

FIXTURE_SETUP(ver)
{
	shard_log_init("store_ver_test", SHARD_LOG_ERR);
	strcpy(self->dir, "/tmp/shardd-ver-test.XXXXXX");
	ASSERT_NE(NULL, mkdtemp(self->dir));
	snprintf(self->path, sizeof(self->path), "%s/store", self->dir);
	snprintf(self->boot, sizeof(self->boot), "%s/boot_id", self->dir);
	set_boot(self, "0f2b3c4d-1111-4222-8333-944455556666");
	ASSERT_EQ(0, ring_setup());
	ASSERT_EQ(0, open_st(self, self->path));
	self->a = malloc(SHARD_MAX_IO);
	self->b = malloc(SHARD_MAX_IO);
	ASSERT_NE(NULL, self->a);
	ASSERT_NE(NULL, self->b);
}

FIXTURE_TEARDOWN(ver)
{
	char cmd[160];

	shard_store_close(self->st);
	io_uring_queue_exit(&ring);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", self->dir);
	if (system(cmd))
		fprintf(stderr, "cannot remove %s\n", self->dir);
	free(self->a);
	free(self->b);
}

static int close_st(FIXTURE_DATA(ver) *self)
{
	int ret = shard_store_close(self->st);

	self->st = NULL;
	return ret;
}

static int reopen(FIXTURE_DATA(ver) *self)
{
	int ret = close_st(self);

	return ret ? ret : open_st(self, self->path);
}

/*
 * What a daemon killed now would leave: the store as the page cache has
 * it, never closed. The copy is opened from then on.
 */
static int crash_copy(FIXTURE_DATA(ver) *self, const char *from, char *copy,
		      size_t len)
{
	static unsigned int n;
	char cmd[300];

	snprintf(copy, len, "%s/crashed%u", self->dir, n++);
	snprintf(cmd, sizeof(cmd), "cp --sparse=always %s %s", from, copy);
	return system(cmd);
}

static bool ver_is(struct shard_store *st, const struct shard_obj *o,
		   uint64_t epoch, uint64_t seq)
{
	struct shard_ver v;

	return shard_store_version(st, o, &v) && v.epoch == epoch &&
	       v.seq == seq;
}

TEST_F(ver, recorded_kept_and_dropped)
{
	struct shard_obj o = OBJ4M(1), other = OBJ4M(2);
	struct shard_ver v;

	EXPECT_FALSE(shard_store_version(self->st, &o, &v));
	fill(self->a, 8192, 1);
	ASSERT_EQ(0, st_write_v(self->st, &o, 0, 8192, self->a, 7, 100));
	EXPECT_TRUE(ver_is(self->st, &o, 7, 100));
	/* Without a version the object keeps its own; a new one has none. */
	ASSERT_EQ(0, st_write(self->st, &o, 512, 512, self->a));
	EXPECT_TRUE(ver_is(self->st, &o, 7, 100));
	ASSERT_EQ(0, st_write(self->st, &other, 0, 4096, self->a));
	EXPECT_TRUE(ver_is(self->st, &other, 0, 0));
	/* A zero records its version too. */
	ASSERT_EQ(0, st_zero_v(self->st, &o, 0, 4096, 8, 101));
	EXPECT_TRUE(ver_is(self->st, &o, 8, 101));
	/* A refused write changes nothing. */
	EXPECT_EQ(-ERANGE, shard_store_write(self->st, &o, 4U << 20, 512,
					     self->a, NULL, on_done, NULL));
	EXPECT_TRUE(ver_is(self->st, &o, 8, 101));
	ASSERT_EQ(0, reopen(self));
	EXPECT_TRUE(ver_is(self->st, &o, 8, 101));
	ASSERT_EQ(0, st_read(self->st, &o, 4096, 4096, self->b));
	EXPECT_EQ(0, memcmp(self->a + 4096, self->b, 4096));
	/* Zeroed whole, the object is gone, and so is its version. */
	ASSERT_EQ(0, st_zero_v(self->st, &o, 0, 8192, 9, 102));
	EXPECT_FALSE(shard_store_version(self->st, &o, &v));
}

/* A daemon that dies keeps its versions: the page cache has them. */
TEST_F(ver, kept_after_daemon_crash)
{
	struct shard_obj o = OBJ4M(3);
	char copy[128];

	fill(self->a, 4096, 2);
	ASSERT_EQ(0, st_write_v(self->st, &o, 0, 4096, self->a, 5, 55));
	ASSERT_EQ(0, crash_copy(self, self->path, copy, sizeof(copy)));
	ASSERT_EQ(0, close_st(self));
	ASSERT_EQ(0, open_st(self, copy));
	EXPECT_TRUE(ver_is(self->st, &o, 5, 55));
}

/* After the machine went down, data and versions may disagree: every
 * version is unknown, for good, but the data stays. */
TEST_F(ver, cleared_after_machine_crash)
{
	struct shard_obj o = OBJ4M(4), p = OBJ4M(5);
	char copy[128], from[128];

	fill(self->a, 4096, 3);
	ASSERT_EQ(0, st_write_v(self->st, &o, 0, 4096, self->a, 5, 56));
	ASSERT_EQ(0, st_write_v(self->st, &p, 0, 4096, self->a, 5, 57));
	ASSERT_EQ(0, crash_copy(self, self->path, copy, sizeof(copy)));
	ASSERT_EQ(0, close_st(self));
	set_boot(self, "0f2b3c4d-1111-4222-8333-999999999999");
	ASSERT_EQ(0, open_st(self, copy));
	EXPECT_TRUE(ver_is(self->st, &o, 0, 0));
	EXPECT_TRUE(ver_is(self->st, &p, 0, 0));
	ASSERT_EQ(0, st_read(self->st, &o, 0, 4096, self->b));
	EXPECT_EQ(0, memcmp(self->a, self->b, 4096));
	/* New changes are recorded again; the cleared stay cleared. */
	ASSERT_EQ(0, st_write_v(self->st, &p, 0, 512, self->a, 6, 1));
	ASSERT_EQ(0, close_st(self));
	set_boot(self, "0f2b3c4d-1111-4222-8333-944455556666");
	ASSERT_EQ(0, open_st(self, copy));
	EXPECT_TRUE(ver_is(self->st, &o, 0, 0));
	EXPECT_TRUE(ver_is(self->st, &p, 6, 1));
	/* A closed store trusts its versions whatever the boot. */
	ASSERT_EQ(0, st_write_v(self->st, &o, 0, 512, self->a, 6, 2));
	ASSERT_EQ(0, close_st(self));
	set_boot(self, "not a boot id");
	ASSERT_EQ(0, open_st(self, copy));
	EXPECT_TRUE(ver_is(self->st, &o, 6, 2));
	/* Without a boot id, a store that was not closed trusts nothing. */
	snprintf(from, sizeof(from), "%s", copy);
	ASSERT_EQ(0, crash_copy(self, from, copy, sizeof(copy)));
	ASSERT_EQ(0, close_st(self));
	ASSERT_EQ(0, open_st(self, copy));
	EXPECT_TRUE(ver_is(self->st, &o, 0, 0));
}

TEST_F(ver, sequence_numbers_never_repeat)
{
	uint64_t a, b, c;

	a = shard_store_next_seq(self->st);
	b = shard_store_next_seq(self->st);
	EXPECT_EQ(a + 1, b);
	ASSERT_EQ(0, reopen(self));
	c = shard_store_next_seq(self->st);
	EXPECT_EQ((a >> 32) + 1, c >> 32);
	EXPECT_NE(0, (uint32_t)c);
}

/* Writes sb (the superblock's first 128 bytes) with a fresh crc. */
static int put_sb(const char *path, unsigned char *sb)
{
	uint32_t crc = htole32(shard_crc32c(sb, 124));
	int fd = open(path, O_RDWR);
	int ret;

	if (fd < 0)
		return -1;
	memcpy(sb + 124, &crc, 4);
	ret = pwrite(fd, sb, 128, 0) == 128 ? 0 : -1;
	close(fd);
	return ret;
}

/*
 * A format-1 store (32-byte entries, no versions) opens: its objects
 * are there with unknown versions, and versions recorded since live in
 * memory only.
 */
TEST_F(ver, format1_store)
{
	struct shard_obj o = OBJ4M(9);
	unsigned char sb[128], ent[32];
	uint64_t table_off;
	uint32_t crc;
	int fd;

	ASSERT_EQ(0, close_st(self));
	fd = store_open_raw(self->path, sb, &table_off);
	ASSERT_LE(0, fd);
	/* Slot 0 holds object 9 of volume 5 in pool 1; its crc page is
	 * zero, so it reads as zeroes. */
	memset(ent, 0, sizeof(ent));
	ent[0] = 1;
	ent[4] = 22;
	ent[5] = 0x01;
	ent[8] = 5;
	ent[16] = 9;
	crc = htole32(shard_crc32c(ent, 28));
	memcpy(ent + 28, &crc, 4);
	ASSERT_EQ(32, pwrite(fd, ent, 32, (off_t)table_off));
	close(fd);
	sb[8] = 1;		/* version */
	ASSERT_EQ(0, put_sb(self->path, sb));

	ASSERT_EQ(0, open_st(self, self->path));
	EXPECT_TRUE(ver_is(self->st, &o, 0, 0));
	ASSERT_EQ(0, st_read(self->st, &o, 0, 4096, self->b));
	EXPECT_TRUE(is_zero(self->b, 4096));
	fill(self->a, 4096, 4);
	ASSERT_EQ(0, st_write_v(self->st, &o, 4096, 4096, self->a, 3, 3));
	EXPECT_TRUE(ver_is(self->st, &o, 3, 3));
	ASSERT_EQ(0, reopen(self));
	EXPECT_TRUE(ver_is(self->st, &o, 0, 0));
	ASSERT_EQ(0, st_read(self->st, &o, 4096, 4096, self->b));
	EXPECT_EQ(0, memcmp(self->a, self->b, 4096));
}

/* A table entry that fails its crc takes its slot out of service: the
 * data there may be someone's, and the slot is never handed out. */
TEST_F(ver, unreadable_entry_slot_not_reused)
{
	struct shard_obj o = OBJ4M(0);
	unsigned char sb[128], byte;
	uint64_t table_off;
	uint32_t i;
	int fd;

	fill(self->a, 4096, 5);
	for (i = 0; i < 7; i++) {
		o.object = 100 + i;
		ASSERT_EQ(0, st_write(self->st, &o, 0, 4096, self->a));
	}
	EXPECT_EQ(0u, shard_store_lost(self->st));
	ASSERT_EQ(0, close_st(self));
	fd = store_open_raw(self->path, sb, &table_off);
	ASSERT_LE(0, fd);
	ASSERT_EQ(1, pread(fd, &byte, 1, (off_t)table_off + 8));
	byte ^= 0x10;
	ASSERT_EQ(1, pwrite(fd, &byte, 1, (off_t)table_off + 8));
	close(fd);
	ASSERT_EQ(0, open_st(self, self->path));
	o.object = 100;
	EXPECT_FALSE(shard_store_holds(self->st, &o));
	/* Said, so that backfill removes nothing it may hold unknowingly. */
	EXPECT_EQ(1u, shard_store_lost(self->st));
	o.object = 200;
	EXPECT_EQ(-ENOSPC, st_write(self->st, &o, 0, 4096, self->a));
	o.object = 101;
	ASSERT_EQ(0, st_read(self->st, &o, 0, 4096, self->b));
	EXPECT_EQ(0, memcmp(self->a, self->b, 4096));
}

/* Little-endian u64 at p. */
static uint64_t le64_at(const unsigned char *p)
{
	uint64_t v;

	memcpy(&v, p, 8);
	return le64toh(v);
}

/*
 * Opens the store file at path beside the open store (through the page
 * cache, what a killed daemon leaves) and finds o's table entry: the
 * fd, the entry's position in *ent_pos and o's data in *data_pos; -1
 * if not found.
 */
static int find_entry(const char *path, const struct shard_obj *o,
		      uint64_t *ent_pos, uint64_t *data_pos)
{
	unsigned char sb[128], ent[64];
	uint64_t table_off;
	uint32_t nslots, i;
	int fd = store_open_raw(path, sb, &table_off);

	if (fd < 0)
		return -1;
	memcpy(&nslots, sb + 28, 4);
	nslots = le32toh(nslots);
	for (i = 0; i < nslots; i++) {
		if (pread(fd, ent, 64, (off_t)(table_off + i * 64)) != 64)
			break;
		if ((ent[5] & 1) && le64_at(ent + 8) == o->volume &&
		    le64_at(ent + 16) == o->object) {
			*ent_pos = table_off + i * 64;
			*data_pos = le64_at(sb + 48) +
				    ((uint64_t)i << SHARD_STORE_SLOT_ORDER);
			return fd;
		}
	}
	close(fd);
	return -1;
}

/* The sequence number the entry at pos names on disk. */
static uint64_t disk_seq(int fd, uint64_t pos)
{
	unsigned char ent[64];

	if (pread(fd, ent, 64, (off_t)pos) != 64)
		return UINT64_MAX;
	return le64_at(ent + 32);
}

/*
 * A daemon killed in the middle of a change: whenever the change's data
 * is on disk, the object's table entry there no longer names the
 * version before it, so that the copy is not taken for that version's
 * bytes. Stepped one ring dispatch at a time, for a write and then a
 * zero.
 */
TEST_F(ver, entry_unknown_while_data_changes)
{
	struct shard_obj o = OBJ4M(6);
	unsigned char blk[4096], zero[4096] = { 0 };
	const unsigned char *want[2] = { self->b, zero };
	uint64_t pos, data;
	unsigned int seen = 0;
	int fd, k;

	fill(self->a, 8192, 3);
	fill(self->b, 4096, 4);
	/* Two blocks: the zero of one leaves the object there. */
	ASSERT_EQ(0, st_write_v(self->st, &o, 8192, 8192, self->a, 5, 60));
	fd = find_entry(self->path, &o, &pos, &data);
	ASSERT_LE(0, fd);
	for (k = 0; k < 2; k++) {
		const struct shard_ver v = { 6, 61 + (uint64_t)k };
		const uint64_t old_seq = k ? 61 : 60;
		struct res r = { 0 };

		ASSERT_EQ(0, k ? shard_store_zero(self->st, &o, 8192, 4096, &v,
						  on_done, &r) :
			  shard_store_write(self->st, &o, 8192, 4096, self->b,
					    &v, on_done, &r));
		while (!r.done) {
			ASSERT_LE(0, io_uring_submit_and_wait(&ring, 1));
			shard_ring_dispatch(&ring);
			ASSERT_EQ(4096, pread(fd, blk, 4096,
					      (off_t)data + 8192));
			if (memcmp(blk, want[k], 4096) ||
			    disk_seq(fd, pos) == v.seq)
				continue;
			seen |= 1U << k;
			EXPECT_NE(old_seq, disk_seq(fd, pos));
		}
		ASSERT_EQ(0, r.err);
		EXPECT_EQ(v.seq, disk_seq(fd, pos));
		EXPECT_TRUE(ver_is(self->st, &o, v.epoch, v.seq));
	}
	/* Both changes were seen with their data written and no version
	 * yet. */
	EXPECT_EQ(3u, seen);
	close(fd);
}

/*
 * Writes queued one behind the other on an object: the entry goes to
 * no version once and, at the end, names the last one's version; never
 * one in between, which the next write would replace at once.
 */
TEST_F(ver, run_of_changes_names_the_last)
{
	struct shard_obj o = OBJ4M(6);
	struct res r[3] = { { 0 } };
	uint64_t pos, data, seq;
	int fd, k;

	fill(self->a, 3 * 4096, 5);
	ASSERT_EQ(0, st_write_v(self->st, &o, 0, 4096, self->a, 5, 70));
	fd = find_entry(self->path, &o, &pos, &data);
	ASSERT_LE(0, fd);
	for (k = 0; k < 3; k++)
		ASSERT_EQ(0, shard_store_write(self->st, &o, 4096 * (uint32_t)k,
					       4096, self->a + 4096 * k,
					       &(struct shard_ver){ 6, 71 + k },
					       on_done, &r[k]));
	while (!r[2].done) {
		ASSERT_LE(0, io_uring_submit_and_wait(&ring, 1));
		shard_ring_dispatch(&ring);
		seq = disk_seq(fd, pos);
		EXPECT_TRUE(seq == 70 || seq == 0 || seq == 73);
	}
	for (k = 0; k < 3; k++)
		ASSERT_EQ(0, r[k].err);
	EXPECT_EQ(73u, disk_seq(fd, pos));
	EXPECT_TRUE(ver_is(self->st, &o, 6, 73));
	close(fd);
	/* What a daemon killed now would leave keeps it. */
	ASSERT_EQ(0, reopen(self));
	EXPECT_TRUE(ver_is(self->st, &o, 6, 73));
	ASSERT_EQ(0, st_read(self->st, &o, 0, 3 * 4096, self->b));
	EXPECT_EQ(0, memcmp(self->a, self->b, 3 * 4096));
}

TEST_HARNESS_MAIN
