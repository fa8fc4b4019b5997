/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Internals shared by the store's files: the on-disk layout (store.c
 * documents it), the in-memory object table, and the per-object
 * operation queues (store_order.c). Not for use outside the store.
 */
#ifndef SHARDD_STORE_INT_H
#define SHARDD_STORE_INT_H

#include <assert.h>
#include <stdbool.h>
#include <stdint.h>
#include <liburing.h>

#include <shard/proto.h>

#include "store.h"

#define SB_MAGIC		0x4f54534452414853ULL	/* "SHARDSTO" */
/* 1: 32-byte table entries without versions (still opened; their
 * versions live in memory only). 2: 64-byte entries with versions. */
#define SB_VERSION		2
#define SB_SIZE			4096U
#define SLOT_SIZE		(1ULL << SHARD_STORE_SLOT_ORDER)
#define BLOCKS_PER_SLOT		(SLOT_SIZE / SHARD_BLOCK_SIZE)
#define CRC_PAGE		(BLOCKS_PER_SLOT * 4)
#define DATA_ALIGN		(1ULL << 20)
#define ENT_USED		0x01
#define NONE			UINT32_MAX

struct sb_disk {
	__le64 magic;
	__le32 version;
	__le32 daemon_id;
	__le64 dev_size;
	__le32 slot_order;
	__le32 nslots;
	__le64 table_off;
	__le64 crc_off;
	__le64 data_off;
	__le64 created;
	__u8 uuid[16];
	/* Since the last open: the kernel's boot id then, and whether the
	 * store was closed since (store_ver.c). */
	__u8 boot_id[16];
	__le64 seq_gen;		/* sequence numbers' high half, per open */
	__le32 sb_flags;	/* SB_CLEAN */
	__u8 reserved[12];
	__le32 pad;
	__le32 crc;		/* of everything above */
};

#define SB_CLEAN		0x01

/* Version 2; version 1 ends after object, with reserved1 and crc. */
struct ent_disk {
	__le32 pool;
	__u8 order;
	__u8 flags;
	__le16 reserved0;
	__le64 volume;
	__le64 object;
	__le64 ver_epoch;
	__le64 ver_seq;
	__u8 reserved1[20];
	__le32 crc;		/* of everything above */
};

#define ENT_V1_SIZE		32U

static_assert(sizeof(struct sb_disk) == 128, "superblock size");
static_assert(sizeof(struct ent_disk) == 64, "table entry size");

struct slot {
	uint64_t volume;
	uint64_t object;
	uint32_t pool;
	uint32_t next;		/* hash chain */
	uint8_t order;
	bool used;
	bool lost;		/* its entry is unreadable: never reused */
	bool disk_unknown;	/* its entry on disk names no version (false:
				 * it may name one) */
	struct shard_ver ver;
};

struct shard_store {
	int fd;
	bool blkdev;
	struct sb_disk sb;
	uint32_t nslots;
	uint32_t ent_size;	/* of a table entry: by format version */
	uint64_t table_off, crc_off, data_off;
	uint64_t seq_next;	/* shard_store_next_seq */

	struct slot *slots;
	uint32_t *buckets;	/* heads of the hash chains */
	uint32_t nbuckets;	/* power of two */
	uint32_t *free;		/* stack of free slot indexes */
	uint32_t nfree;
	uint32_t nlost;		/* slots whose entry was unreadable */

	/* Data I/O goes here: an O_DIRECT descriptor for a block device
	 * (payloads skip the page cache), else fd. Metadata (superblock,
	 * object table, crc table) always goes through the buffered fd:
	 * its writes are smaller than a block, and neighbouring entries of
	 * different objects share blocks, which direct I/O would have to
	 * read-modify-write under a lock. */
	int dfd;
	bool direct;		/* dfd is O_DIRECT: buffers 4 KiB aligned */

	struct io_uring *ring;	/* where data operations run */
	struct store_objq **qbuckets;	/* objects with operations queued */

	/* store_log.c */
	struct store_chg *log;
	uint64_t *log_heads;
	uint32_t log_size;	/* entries, a power of two */
	uint64_t log_next;	/* the next entry's number */
};

static inline uint64_t store_crc_pos(const struct shard_store *st,
				     uint32_t slot, uint32_t blk)
{
	return st->crc_off + (uint64_t)slot * CRC_PAGE + (uint64_t)blk * 4;
}

static inline uint64_t store_data_pos(const struct shard_store *st,
				      uint32_t slot, uint32_t blk)
{
	return st->data_off + ((uint64_t)slot << SHARD_STORE_SLOT_ORDER) +
	       (uint64_t)blk * SHARD_BLOCK_SIZE;
}

static inline uint64_t store_entry_pos(const struct shard_store *st,
				       uint32_t slot)
{
	return st->table_off + (uint64_t)slot * st->ent_size;
}

/* store.c: the object table in memory. */
uint32_t store_hash_obj(uint32_t pool, uint64_t volume, uint64_t object,
			uint32_t nbuckets);
uint32_t store_lookup(const struct shard_store *st, const struct shard_obj *o);
void store_hash_insert(struct shard_store *st, uint32_t slot);
void store_hash_remove(struct shard_store *st, uint32_t slot);
/* The on-disk form of a slot's table entry (all zeroes when free):
 * st->ent_size bytes of e. */
void store_encode_entry(const struct shard_store *st, uint32_t slot,
			struct ent_disk *e);
int store_pread(int fd, void *buf, size_t len, uint64_t off);
int store_pwrite(int fd, const void *buf, size_t len, uint64_t off);
int store_write_sb(struct shard_store *st);

/*
 * store_ver.c: whether the versions on disk can be trusted, decided
 * when the store opens (after the table is loaded: it clears untrusted
 * versions, on disk too), and the clean mark at close.
 */
int store_ver_open(struct shard_store *st, const char *boot_id_path,
		   const char *path);
int store_ver_close(struct shard_store *st);
/* The crc table's encoding of a block: 0 means zeroes. */
uint32_t store_block_crc(const unsigned char *blk);

/*
 * store_order.c: operations on one object run one at a time, in the
 * order they were submitted. An operation holds a store_qent while
 * queued or running.
 */
#define STORE_QBUCKETS	1024U

struct store_objq;

struct store_qent {
	struct store_qent *next;
	struct store_objq *q;
};

/* Queues e behind the object's earlier operations. *first is set when
 * none is queued, so e may run now. -ENOMEM, or 0. */
int store_order_enter(struct shard_store *st, struct store_qent *e,
		      const struct shard_obj *o, bool *first);
/* Removes finished e (the head); returns the next one to run or NULL. */
struct store_qent *store_order_leave(struct shard_store *st,
				     struct store_qent *e);

/*
 * store_log.c: the change log behind shard_store_changed_since. add
 * records a write or zero with a version as it is submitted (alone: no
 * other operation on the object is queued before it) and returns the
 * entry's number; fail says that change failed.
 */
#define STORE_LOG_DEFAULT	65536U

struct store_chg;

int store_log_init(struct shard_store *st, uint32_t entries);
void store_log_free(struct shard_store *st);
uint64_t store_log_add(struct shard_store *st, const struct shard_obj *o,
		       uint32_t off, uint32_t len, const struct shard_ver *ver,
		       bool alone);
void store_log_fail(struct shard_store *st, const struct shard_obj *o,
		    uint64_t n);

#endif /* SHARDD_STORE_INT_H */
