// SPDX-License-Identifier: GPL-2.0-only
/*
 * Fencing on the member's side. The epoch rule is what keeps a primary
 * that was cut off, or that has not seen a new member join, from getting
 * a write acknowledged by only some of the PG's members: the member with
 * the newer map refuses it, and the primary learns the newer map from
 * the refusal.
 */
#include "loop.h"
#include "map.h"
#include "replica.h"
#include "store.h"

bool shard_replica_accepts(const struct shardd *d, const struct shard_req_h *h,
			   uint32_t from, const char **why, bool *target)
{
	const struct shard_map_pool *p;
	uint32_t bf[SHARD_MAP_WIDTH_MAX];
	const uint32_t *row;
	uint32_t pg, me = shard_store_daemon_id(d->store), j, n;

	*target = false;
	/* Makes durable what was acknowledged; changes no data. */
	if (h->opcode == SHARD_OP_REP_FLUSH)
		return true;
	if (!d->map) {
		*why = "no map yet";
		return false;
	}
	p = shard_map_pool(d->map, h->pool);
	if (!p) {
		*why = "no such pool in our map";
		return false;
	}
	/* REP_LIST names its PG; the others an object. */
	if (h->opcode == SHARD_OP_REP_LIST) {
		pg = h->offset;
		if (pg >= p->pg_count) {
			*why = "no such PG in our map";
			return false;
		}
	} else {
		pg = shard_map_pg(p, h->volume, h->object);
	}
	row = shard_map_row(p, pg);
	if (h->epoch < p->since[pg]) {
		*why = "epoch older than the PG's members";
		return false;
	}
	if (row[0] != from) {
		*why = "the sender is not the PG's primary";
		return false;
	}
	for (j = 1; j < p->width && row[j] != SHARD_MAP_NONE; j++)
		if (row[j] == me)
			return true;
	/* Being backfilled: it takes the PG's changes (not its reads),
	 * and lists what it holds for the primary to compare. */
	if (h->opcode != SHARD_OP_REP_WRITE && h->opcode != SHARD_OP_REP_ZERO &&
	    h->opcode != SHARD_OP_REP_LIST) {
		*why = "this daemon is not a member of the PG";
		return false;
	}
	n = shard_map_backfill(p, pg, bf);
	for (j = 0; j < n; j++)
		if (bf[j] == me) {
			*target = true;
			return true;
		}
	*why = "this daemon is not a member of the PG";
	return false;
}
