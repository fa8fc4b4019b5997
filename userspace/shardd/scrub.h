/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Scrub, on a PG's primary. Every object that any member of the PG holds
 * is compared across the copies. A light scrub takes an object that
 * every copy holds with the same known version (store.h) as the same
 * there, and compares the others as a deep scrub compares all of them:
 * it reads every copy whole (each block checked against its crc32c) and
 * compares the crc32c of their data. A copy that differs from the
 * others or fails its checksum is counted as an error and repaired from
 * a good copy: pushed from ours, or, when ours is the bad one, read from
 * a member and written here. Each PG's result goes to mapd
 * (pg-scrubbed).
 *
 * Consistency: an object's copies are compared only while no change to
 * it is on its way to the members (rep.c); the digest reads are queued
 * here and to every member in one step, so each copy is read at the same
 * point of the object's history. A repair of our copy is dropped (and
 * the object compared again) if a change to it came in meanwhile.
 *
 * One PG is scrubbed at a time, one object at a time: client I/O keeps
 * most of the disks. PGs are scrubbed when mapd asks (the heartbeat's
 * reply) and on the daemon's own schedule (--scrub-interval,
 * --deep-scrub-interval).
 */
#ifndef SHARDD_SCRUB_H
#define SHARDD_SCRUB_H

#include <stdbool.h>
#include <stdint.h>

#include "wire.h"

struct shardd;

#define SHARD_SCRUB_INTERVAL_DEFAULT		(24U * 3600)
#define SHARD_DEEP_SCRUB_INTERVAL_DEFAULT	(7U * 24 * 3600)

/* Queues a scrub of PG pg of pool (merged with one already queued: deep
 * wins). Ignored, with a note to mapd, when we are not its primary. */
void shard_scrub_request(struct shardd *d, uint32_t pool, uint32_t pg,
			 bool deep);
/* Called about once a second: queues the next PG due on the schedule. */
void shard_scrub_tick(struct shardd *d);
/* A new map: a scrub of a PG whose members changed stops. */
void shard_scrub_map_changed(struct shardd *d);
/* A client's change to an object is on its way (rep.c). */
void shard_scrub_note_mutation(struct shardd *d, const struct shard_req_h *h);
/* The daemon stops: scrubs end, unreported. */
void shard_scrub_stop(struct shardd *d);
/* After the ring and the peers are gone. */
void shard_scrub_free_all(struct shardd *d);

#endif /* SHARDD_SCRUB_H */
