/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * What scrub and backfill ask of one copy, ours or a member's (the reply
 * payloads of REP_LIST and REP_DIGEST): the PG's objects in order with
 * their versions, and one object's digest read after every change
 * submitted to our store before.
 */
#ifndef SHARDD_SCRUB_COPY_H
#define SHARDD_SCRUB_COPY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct shardd;
struct shard_obj;
struct shard_digest;
struct shard_list_entry;

/* Objects of PG pg of pool in (volume, object) order, from (volume,
 * object) on, each with our version of it as of now; at most max of them
 * into out. Returns how many, or -ENOMEM. */
int shard_scrub_list(struct shardd *d, uint32_t pool, uint32_t pg,
		     uint64_t volume, uint64_t object,
		     struct shard_list_entry *out, uint32_t max);

/* err is 0 (dg filled in, wire order), or -EIO: our disk failed. */
typedef void (*shard_digest_done_fn)(void *arg, int err,
				     const struct shard_digest *dg);

/*
 * The digest of object o: whether we hold it and, with data, the crc32c
 * of its bytes (SHARD_DIGEST_BADCRC when a block failed its checksum).
 * done follows, never from inside this call; -ENOMEM: it does not.
 */
int shard_scrub_digest(struct shardd *d, const struct shard_obj *o,
		       bool data, shard_digest_done_fn done, void *arg);

#endif /* SHARDD_SCRUB_COPY_H */
