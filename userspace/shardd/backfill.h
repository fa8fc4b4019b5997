/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Backfill, on the primary: a daemon the map names as a PG's backfill
 * target (one that is to join the PG: back after being down, or new in
 * its placement) is sent every object of the PG this daemon holds, while
 * rep.c sends it every new change as well. Once all of them are there,
 * mapd is told (pg-backfilled) and makes it a member.
 *
 * Order: an object is read from our store and queued to the target in
 * one step, before any change submitted later can be queued to it, so
 * the target applies the copy and the changes in the order our store
 * did. At most SHARD_BACKFILL_PUSHES objects are on their way at once,
 * over all PGs, so client I/O keeps most of the disk and the network.
 */
#ifndef SHARDD_BACKFILL_H
#define SHARDD_BACKFILL_H

struct shardd;

#define SHARD_BACKFILL_PUSHES	4

/* A new map: backfills start where it names targets of our PGs, and
 * stop where it no longer does. */
void shard_backfill_map_changed(struct shardd *d);
/* The daemon stops: no more objects are started. */
void shard_backfill_stop(struct shardd *d);
/* After the ring and the peers are gone: frees what is left. */
void shard_backfill_free_all(struct shardd *d);

#endif /* SHARDD_BACKFILL_H */
