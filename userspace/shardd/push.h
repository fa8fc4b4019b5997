/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Copying one object of ours to another daemon (backfill, scrub's
 * repair): the object, or the blocks of it changed since the peer's
 * version, is read from our store and queued to the peer as REP_WRITEs
 * in one step, so that the peer applies the copy in the order our store
 * did, before any change submitted here later (rep.c queues those after
 * it on the same connection). An object we do not hold
 * (none of our writes to it started) goes as REP_ZEROs over all of it:
 * the peer drops its copy, as ours was dropped or never made.
 */
#ifndef SHARDD_PUSH_H
#define SHARDD_PUSH_H

#include <stdint.h>

struct shardd;
struct shard_obj;
struct shard_push;
struct shard_ver;

/*
 * err: 0 when the peer has the whole object; -EBADMSG or -EIO when our
 * copy could not be read (-EBADMSG: it failed its checksum); a positive
 * SHARD_S_* the peer answered; -ECANCELED after shard_push_cancel.
 * Runs once, never from inside shard_push_start nor once d->exiting.
 */
typedef void (*shard_push_done_fn)(void *arg, int err);

/*
 * theirs: the version of the target's copy, or NULL (none, or not
 * known). When our store knows what changed since it, only the blocks
 * changed go; else all of the object. NULL on ENOMEM (done never runs).
 */
struct shard_push *shard_push_start(struct shardd *d, uint32_t target,
				    const struct shard_obj *o,
				    const struct shard_ver *theirs,
				    shard_push_done_fn done, void *arg);
/* The bytes shard_push_start would send now (0: a removal). */
uint64_t shard_push_size(struct shardd *d, const struct shard_obj *o,
			 const struct shard_ver *theirs);
/* The bytes of the object it sends (0 for a removal). */
uint64_t shard_push_bytes(const struct shard_push *p);
/* The owner no longer wants it (call only before done ran):
 * done(arg, -ECANCELED) follows, possibly before this returns. */
void shard_push_cancel(struct shard_push *p);
/* After the ring and the peers are gone: frees what is left. */
void shard_push_free_all(struct shardd *d);

#endif /* SHARDD_PUSH_H */
