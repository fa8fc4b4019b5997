/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * A member's side of replication: whether a REP_ request from a peer
 * daemon may change this daemon's copy (the rules are in
 * include/shard/proto.h). Anything refused is answered STALE, logged
 * and counted, and changes nothing.
 */
#ifndef SHARDD_REPLICA_H
#define SHARDD_REPLICA_H

#include <stdbool.h>
#include <stdint.h>

#include "wire.h"

struct shardd;

/*
 * true, or false with *why saying what is wrong (a static string).
 * *target is set when this daemon takes the request only as the PG's
 * backfill target, not as a member.
 */
bool shard_replica_accepts(const struct shardd *d, const struct shard_req_h *h,
			   uint32_t from, const char **why, bool *target);

#endif /* SHARDD_REPLICA_H */
