/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * What the store's tests share. The store runs its operations on an
 * io_uring; these tests drive one of their own. st_read() and friends
 * wait for one operation; the concurrency tests submit many and then
 * run the ring until all are done.
 */
#ifndef SHARDD_STORE_HARNESS_H
#define SHARDD_STORE_HARNESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <liburing.h>

#include "store.h"

#define STORE_SIZE	(32ULL << 20)	/* 7 object slots */
#define OBJ4M(n)	{ .pool = 1, .volume = 5, .object = (n), .order = 22 }

extern struct io_uring ring;
extern unsigned int completions;

struct res {
	int err;
	bool done;
	unsigned int seq;	/* completion order */
};

int ring_setup(void);
void on_done(void *arg, int err);
/* Runs the ring until r completes; ret is what the submit returned. */
int wait_for(int ret, struct res *r);

int st_read(struct shard_store *st, const struct shard_obj *o,
	    uint32_t off, uint32_t len, void *buf);
/* Without a version: the object keeps its own. */
int st_write(struct shard_store *st, const struct shard_obj *o,
	     uint32_t off, uint32_t len, const void *buf);
int st_zero(struct shard_store *st, const struct shard_obj *o,
	    uint32_t off, uint32_t len);
int st_write_v(struct shard_store *st, const struct shard_obj *o,
	       uint32_t off, uint32_t len, const void *buf,
	       uint64_t epoch, uint64_t seq);
int st_zero_v(struct shard_store *st, const struct shard_obj *o,
	      uint32_t off, uint32_t len, uint64_t epoch, uint64_t seq);

/*
 * Opens the store file at path (closed as a store) to change it by
 * hand: reads the first 128 bytes of its superblock into sb and the
 * offset of its object table into *table_off. The fd (read-write), or
 * -1.
 */
int store_open_raw(const char *path, unsigned char sb[128],
		   uint64_t *table_off);

/* Flips one byte of the first occurrence of pat in the file at path
 * (through the page cache: an open store sees it). 0 or -1. */
int corrupt(const char *path, const unsigned char *pat, size_t len);
void fill(unsigned char *buf, size_t len, unsigned int seed);
bool is_zero(const unsigned char *buf, size_t len);

#endif /* SHARDD_STORE_HARNESS_H */
