/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The object store behind shardd. The interface is deliberately narrow
 * (open, read, write, zero, flush, close) so that the planned
 * log-structured store can replace this one without touching the network
 * side.
 *
 * Every call is synchronous and not thread safe: the event loop calls it
 * from its one thread, which also gives per-object ordering for free.
 * Errors are -errno: -EBADMSG stored data failed its crc (logged here
 * with the object and block), -ENOSPC no free object slot, -ERANGE range
 * outside the object, -EOPNOTSUPP object size not supported, -EINVAL
 * object known with another size, -EIO the disk failed.
 */
#ifndef SHARDD_STORE_H
#define SHARDD_STORE_H

#include <stdbool.h>
#include <stdint.h>

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
};

int shard_store_open(struct shard_store **out,
		     const struct shard_store_opts *opts);
/* Flushes and closes; returns the flush error, if any. */
int shard_store_close(struct shard_store *st);

int shard_store_read(struct shard_store *st, const struct shard_obj *obj,
		     uint32_t off, uint32_t len, void *buf);
int shard_store_write(struct shard_store *st, const struct shard_obj *obj,
		      uint32_t off, uint32_t len, const void *buf);
/* DISCARD and WRITE_ZEROES: the range reads as zeroes afterwards. */
int shard_store_zero(struct shard_store *st, const struct shard_obj *obj,
		     uint32_t off, uint32_t len);
/* Makes every earlier write durable (fdatasync). */
int shard_store_flush(struct shard_store *st);

/* The descriptor to fsync asynchronously, same effect as flush. */
int shard_store_fd(const struct shard_store *st);
uint64_t shard_store_capacity(const struct shard_store *st);
uint32_t shard_store_daemon_id(const struct shard_store *st);
/* Records the id the map manager assigned, durably. */
int shard_store_set_daemon_id(struct shard_store *st, uint32_t id);
bool shard_store_is_blkdev(const struct shard_store *st);

#endif /* SHARDD_STORE_H */
