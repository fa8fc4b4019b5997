/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * What another daemon holds of one PG: its objects and their versions,
 * asked with REP_LIST page after page (protocol.md, "Between daemons:
 * scrub"). Scrub lists the PG's members with it, backfill its target.
 *
 * The pages go on the daemon's one connection to that peer (peer.c), in
 * order with everything else queued to it: each page reflects every
 * change queued to the peer before it.
 */
#ifndef SHARDD_MEMBER_LIST_H
#define SHARDD_MEMBER_LIST_H

#include <stddef.h>
#include <stdint.h>

#include "store.h"
#include "version.h"

struct shardd;
struct shard_member_list;

/* One object the peer holds (o.pool is the listed pool). */
struct shard_member_obj {
	struct shard_obj o;
	struct shard_ver ver;		/* all zeroes: unknown */
};

/*
 * err: 0, and objs (n of them, malloc'd, in (volume, object) order; the
 * callee's to free(), NULL when n is 0); a positive SHARD_S_* the peer
 * answered; -EBADMSG when its list is malformed (an object of a bad
 * size, or out of order); -ENOMEM. Runs once, never from inside
 * shard_member_list_start, never after shard_member_list_cancel, never
 * once d->exiting (the list then frees itself, telling no one).
 */
typedef void (*shard_member_listed_fn)(void *arg, int err,
				       struct shard_member_obj *objs,
				       size_t n);

/* Lists PG pg of pool on daemon peer. NULL on ENOMEM (done never runs). */
struct shard_member_list *shard_member_list_start(struct shardd *d,
						  uint32_t peer, uint32_t pool,
						  uint32_t pg,
						  shard_member_listed_fn done,
						  void *arg);
/* The owner no longer wants it (call only before done ran): done never
 * runs, and the list frees itself once the peer layer lets it go. */
void shard_member_list_cancel(struct shard_member_list *l);

#endif /* SHARDD_MEMBER_LIST_H */
