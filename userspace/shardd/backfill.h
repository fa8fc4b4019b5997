/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Backfill, on the primary: a daemon the map names as a PG's backfill
 * target (one that is to join the PG: back after being down, or new in
 * its placement) is sent every object of the PG this daemon holds that
 * it lacks or holds in another version (or an unknown one: store.h),
 * while rep.c sends it every new change as well. Once all of them are
 * there, mapd is told (pg-backfilled) and makes it a member.
 *
 * Order: an object is read from our store and queued to the target in
 * one step, before any change submitted later can be queued to it, so
 * the target applies the copy and the changes in the order our store
 * did. At most d->recovery_pushes objects (--recovery-pushes) are on
 * their way at once over all PGs, and no more than d->recovery_bps bytes
 * a second (--recovery-mbps); while clients' requests come in, one at a
 * time, each followed by a pause that leaves them the rest of the time
 * (--recovery-share), so that client I/O keeps most of its speed.
 */
#ifndef SHARDD_BACKFILL_H
#define SHARDD_BACKFILL_H

#include <stdint.h>
#include <jansson.h>

struct shardd;

#define SHARD_RECOVERY_PUSHES_DEFAULT	4
#define SHARD_RECOVERY_PUSHES_MAX	64
/* While clients use the daemon, recovery takes this % of the time. */
#define SHARD_RECOVERY_SHARE_DEFAULT	25

/*
 * A new map (d->map; prev is the one it replaced, or NULL): backfills
 * start where it names targets of our PGs, and stop where it no longer
 * does; where it makes us a PG's primary, peering makes its members'
 * copies agree with ours (backfill.c).
 */
struct shard_map;
void shard_backfill_map_changed(struct shardd *d, const struct shard_map *prev);
/* Something that made jobs fail was mended (a scrub repaired our
 * copy): those jobs start over without waiting for a new map. */
void shard_backfill_retry(struct shardd *d);
/* What is left to copy to backfill targets: objects, and their bytes
 * (d->bf_copied counts what was copied since the daemon started). */
void shard_backfill_progress(const struct shardd *d, uint64_t *objects,
			     uint64_t *bytes);
/*
 * The "recovery_share" of mapd's heartbeat reply (v; NULL when absent):
 * a share set for the cluster (shardctl recovery share) overrides
 * --recovery-share while it is set. Absent or null: --recovery-share
 * again. Any other value than an integer 1..100 is ignored (the share
 * stays), with a warning once per distinct value. Pauses computed from
 * then on use the new share.
 */
void shard_backfill_set_share(struct shardd *d, const json_t *v);
/* The daemon stops: no more objects are started. */
void shard_backfill_stop(struct shardd *d);
/* After the ring and the peers are gone: frees what is left. */
void shard_backfill_free_all(struct shardd *d);

#endif /* SHARDD_BACKFILL_H */
