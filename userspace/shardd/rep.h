/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The primary's side of replication: a client's mutation of an object in
 * a pool with several copies goes to every other member of the object's
 * PG (REP_WRITE, REP_ZERO), and a FLUSH to every member written to
 * since the last (REP_FLUSH). The members are those of the daemon's
 * newest map, re-read whenever a map arrives: one that left no longer
 * counts, one that joined is sent the request too. A member that cannot
 * be reached is retried (peer.c) until it answers or a map takes it out
 * of the PG; so once an operation is done, every member of the PG has
 * it, and the PG has at least min_size members.
 *
 * The caller applies the request to its own store meanwhile: the local
 * copy is legitimate, since this daemon is the PG's primary in the map
 * the client used or in its own (conn.c checks that first).
 */
#ifndef SHARDD_REP_H
#define SHARDD_REP_H

#include <stdbool.h>
#include <stdint.h>

#include "version.h"
#include "wire.h"

struct shardd;
struct shard_rep;

/* status is a SHARD_S_* for the client. */
typedef void (*shard_rep_done_fn)(void *arg, unsigned int status);

/* Whether mutation h (already checked by conn.c) needs a shard_rep. */
bool shard_rep_wanted(const struct shardd *d, const struct shard_req_h *h);

/*
 * Replicates a WRITE, DISCARD or WRITE_ZEROES with version ver (the one
 * our store records it with); takes buf (the WRITE payload, NULL for
 * the others), which stays readable until shard_rep_release. done(arg, status) runs once, never from inside
 * this call: SHARD_S_OK when every member of the PG has it, STALE when
 * this daemon is no longer the PG's primary, or the error a member
 * answered. NULL on ENOMEM (buf not taken).
 */
struct shard_rep *shard_rep_mutation(struct shardd *d,
				     const struct shard_req_h *h,
				     unsigned char *buf,
				     const struct shard_ver *ver,
				     shard_rep_done_fn done, void *arg);
/*
 * A client's READ whose data failed its checksum here: the same range
 * from the PG's other members, one after the other, into a buffer of the
 * op's (shard_rep_buf). done(arg, status): SHARD_S_OK when one served
 * it, CORRUPT when none could, STALE when this daemon is no longer the
 * primary. NULL when there is no other member to ask (or ENOMEM).
 */
struct shard_rep *shard_rep_read(struct shardd *d, const struct shard_req_h *h,
				 shard_rep_done_fn done, void *arg);
/*
 * A client's FLUSH: REP_FLUSH to every member written to since the last
 * flush. *out is NULL when there is none (nothing to wait for); else
 * done follows as above. -ENOMEM.
 */
int shard_rep_flush(struct shardd *d, shard_rep_done_fn done, void *arg,
		    struct shard_rep **out);
/* The caller is done with the op (and its buffer); call once, before or
 * after done ran. */
void shard_rep_release(struct shard_rep *op);
/* The payload given to shard_rep_mutation, or the data shard_rep_read
 * got. */
unsigned char *shard_rep_buf(struct shard_rep *op);

/* Whether a change to object o has not reached every member yet. */
struct shard_obj;
bool shard_rep_busy(const struct shardd *d, const struct shard_obj *o);

/* A new map is installed: the members of every op are re-read. */
void shard_rep_map_changed(struct shardd *d);
/* The daemon stops: every op ends with STALE (the client resends to the
 * next primary). */
void shard_rep_stop(struct shardd *d);

#endif /* SHARDD_REP_H */
