/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The object store behind shardd. The interface is deliberately narrow
 * (open, read, write, zero, flush, close) so that the planned
 * log-structured store can replace this one without touching the network
 * side.
 *
 * Not thread safe: the event loop calls it from its one thread. Open,
 * close, flush and set_daemon_id are synchronous (setup and shutdown).
 * Read, write and zero run asynchronously on the daemon's io_uring:
 * they return at once, and their done callback runs later from a ring
 * completion (never from inside the call). Operations on one object run
 * in the order they were submitted, one at a time, so a read sees every
 * write submitted before it and a partial-block read-modify-write never
 * races another write; operations on different objects overlap.
 *
 * Errors are -errno: -EBADMSG stored data failed its crc (logged here
 * with the object and block), -ENOSPC no free object slot, -ERANGE range
 * outside the object, -EOPNOTSUPP object size not supported, -EINVAL
 * object known with another size, -EIO the disk failed.
 */
#ifndef SHARDD_STORE_H
#define SHARDD_STORE_H

#include <stdbool.h>
#include <stdint.h>

#include "version.h"

/* Objects up to this size; each object takes one slot of this size. */
#define SHARD_STORE_SLOT_ORDER	22

struct shard_store;

struct shard_obj {
	uint32_t pool;
	uint64_t volume;
	uint64_t object;
	uint8_t order;		/* log2 of the object size */
};

struct shard_store_opts {
	const char *path;	/* regular file or block device */
	uint64_t size;		/* bytes, to create or size an empty file */
	bool force_format;	/* format even if the store holds data */
	bool direct;		/* O_DIRECT data on a regular file (tests);
				 * block devices always try it */
	const char *boot_id_path;	/* tests; NULL: the kernel's */
	uint32_t change_log;	/* entries of the change log; 0: 65536 */
};

struct io_uring;

/* err is 0 or -errno as above. */
typedef void (*shard_store_done_fn)(void *arg, int err);

int shard_store_open(struct shard_store **out,
		     const struct shard_store_opts *opts);
/* Flushes and closes; returns the flush error, if any. */
int shard_store_close(struct shard_store *st);

/* The ring data operations run on; set before the first of them. */
void shard_store_set_ring(struct shard_store *st, struct io_uring *ring);

/*
 * Asynchronous operations. 0: started, done(arg, err) follows; -errno:
 * refused at once (bad range, no memory), done is never called. buf
 * must stay valid until done. Buffers aligned to 4 KiB with 4 KiB
 * aligned offset and length go to the disk as they are; anything else
 * is copied through a bounce buffer (and read-modify-written).
 *
 * A write or zero that succeeds records ver as the object's version
 * (NULL: the object keeps its version; a new one has none). One that
 * fails leaves the version as it was, or unknown once data was touched.
 */
int shard_store_read(struct shard_store *st, const struct shard_obj *obj,
		     uint32_t off, uint32_t len, void *buf,
		     shard_store_done_fn done, void *arg);
int shard_store_write(struct shard_store *st, const struct shard_obj *obj,
		      uint32_t off, uint32_t len, const void *buf,
		      const struct shard_ver *ver, shard_store_done_fn done,
		      void *arg);
/* DISCARD and WRITE_ZEROES: the range reads as zeroes afterwards. An
 * object left all zeroes is dropped, version and all. */
int shard_store_zero(struct shard_store *st, const struct shard_obj *obj,
		     uint32_t off, uint32_t len, const struct shard_ver *ver,
		     shard_store_done_fn done, void *arg);

/*
 * The object's version as of the last operation on it that finished
 * (called from a read's done callback: the version of the bytes read).
 * False when the store does not hold the object.
 */
bool shard_store_version(const struct shard_store *st,
			 const struct shard_obj *o, struct shard_ver *out);
/*
 * Which blocks of an object changed since its version from: true when
 * the store still knows every change submitted to it since then (it
 * keeps the last ones, in memory), with bit b of blocks set for each
 * 4 KiB block b any of them touched. A read submitted after the call
 * returns bytes that differ from those of version from in those blocks
 * only. False (and no bits) when it does not know, when from is
 * unknown, or when the object is at from already.
 */
#define SHARD_STORE_BLOCK_WORDS	((1U << (SHARD_STORE_SLOT_ORDER - 12)) / 64)
bool shard_store_changed_since(const struct shard_store *st,
			       const struct shard_obj *o,
			       const struct shard_ver *from,
			       uint64_t blocks[SHARD_STORE_BLOCK_WORDS]);
/* A sequence number for a new change's version, never handed out
 * before by this store (it survives restarts). */
uint64_t shard_store_next_seq(struct shard_store *st);

/*
 * Calls fn for every object of pool the store holds (any order), including
 * those whose first write is still in progress: an operation submitted
 * later on one of them runs after that write.
 */
void shard_store_foreach(const struct shard_store *st, uint32_t pool,
			 void (*fn)(void *arg, const struct shard_obj *o),
			 void *arg);

/* Whether the store holds the object (any write to it was started). */
bool shard_store_holds(const struct shard_store *st,
		       const struct shard_obj *o);
/*
 * How many objects the store may hold without knowing which: their
 * table entries were unreadable at open (their slots stay out of use).
 */
uint32_t shard_store_lost(const struct shard_store *st);

/* Makes every completed write durable (fdatasync); synchronous. */
int shard_store_flush(struct shard_store *st);

/* The descriptor to fsync on the ring, same effect as flush: it covers
 * every operation whose done callback has run. */
int shard_store_fd(const struct shard_store *st);
uint64_t shard_store_capacity(const struct shard_store *st);
/* Bytes taken by objects: whole slots, however much of them is written. */
uint64_t shard_store_used(const struct shard_store *st);
uint32_t shard_store_daemon_id(const struct shard_store *st);
/* The store's uuid (chosen at format time) in lowercase hex; false if
 * it has none (all zero: no entropy when it was formatted). */
#define SHARD_STORE_UUID_HEX	33
bool shard_store_uuid(const struct shard_store *st,
		      char out[SHARD_STORE_UUID_HEX]);
/* Records the id the map manager assigned, durably. */
int shard_store_set_daemon_id(struct shard_store *st, uint32_t id);
bool shard_store_is_blkdev(const struct shard_store *st);

#endif /* SHARDD_STORE_H */
