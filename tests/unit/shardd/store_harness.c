// SPDX-License-Identifier: GPL-2.0-only
/* What the store's tests share (store_harness.h). */
#define _GNU_SOURCE
#include <endian.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ring.h"
#include "store_harness.h"

struct io_uring ring;
unsigned int completions;

int ring_setup(void)
{
	return io_uring_queue_init(64, &ring, 0);
}

void on_done(void *arg, int err)
{
	struct res *r = arg;

	r->err = err;
	r->done = true;
	r->seq = completions++;
}

int wait_for(int ret, struct res *r)
{
	if (ret)
		return ret;
	while (!r->done) {
		if (io_uring_submit_and_wait(&ring, 1) < 0)
			return -EIO;
		shard_ring_dispatch(&ring);
	}
	return r->err;
}

int st_read(struct shard_store *st, const struct shard_obj *o,
	    uint32_t off, uint32_t len, void *buf)
{
	struct res r = { 0 };

	return wait_for(shard_store_read(st, o, off, len, buf, on_done, &r),
			&r);
}

int st_write(struct shard_store *st, const struct shard_obj *o,
	     uint32_t off, uint32_t len, const void *buf)
{
	struct res r = { 0 };

	return wait_for(shard_store_write(st, o, off, len, buf, NULL, on_done,
					  &r), &r);
}

int st_zero(struct shard_store *st, const struct shard_obj *o,
	    uint32_t off, uint32_t len)
{
	struct res r = { 0 };

	return wait_for(shard_store_zero(st, o, off, len, NULL, on_done, &r),
			&r);
}

int st_write_v(struct shard_store *st, const struct shard_obj *o,
	       uint32_t off, uint32_t len, const void *buf,
	       uint64_t epoch, uint64_t seq)
{
	struct shard_ver v = { epoch, seq };
	struct res r = { 0 };

	return wait_for(shard_store_write(st, o, off, len, buf, &v, on_done,
					  &r), &r);
}

int st_zero_v(struct shard_store *st, const struct shard_obj *o,
	      uint32_t off, uint32_t len, uint64_t epoch, uint64_t seq)
{
	struct shard_ver v = { epoch, seq };
	struct res r = { 0 };

	return wait_for(shard_store_zero(st, o, off, len, &v, on_done, &r),
			&r);
}

/* The superblock holds the table's offset at byte 32, little endian. */
int store_open_raw(const char *path, unsigned char sb[128],
		   uint64_t *table_off)
{
	int fd = open(path, O_RDWR);

	if (fd < 0)
		return -1;
	if (pread(fd, sb, 128, 0) != 128) {
		close(fd);
		return -1;
	}
	memcpy(table_off, sb + 32, 8);
	*table_off = le64toh(*table_off);
	return fd;
}

void fill(unsigned char *buf, size_t len, unsigned int seed)
{
	size_t i;

	for (i = 0; i < len; i++)
		buf[i] = (unsigned char)(seed * 131 + i * 7 + (i >> 9) + 1);
}

bool is_zero(const unsigned char *buf, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (buf[i])
			return false;
	return true;
}

int corrupt(const char *path, const unsigned char *pat, size_t len)
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
