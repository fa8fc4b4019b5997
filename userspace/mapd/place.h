/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * From the cluster state to PG tables: which daemons hold each PG
 * (placement, userspace/placement does the work) and which of them serve
 * it now (the acting set, what the kernel and the daemons are given).
 */
#ifndef _MAPD_PLACE_H
#define _MAPD_PLACE_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "state.h"

/*
 * Recomputes the placement of every pool from the daemons that are in
 * (up or down) and of the pool's class, keeping what it can of the
 * previous tables, then moves acting sets where that loses no data (see
 * struct mapd_pool). Returns 1 when some table changed, 0 when none
 * did, -ENOMEM. Also refreshes each pool's usable, max_dev, empty_slots
 * and moved.
 */
int mapd_place(struct mapd_state *st);

/*
 * Pool p's acting table as the kernel gets it (pg_count * size ids,
 * malloc'ed): for each PG its acting members that are up, in order,
 * then SHARD_DAEMON_NONE. Member 0 is the primary; a PG with no member up has
 * none, and I/O to it waits. NULL on ENOMEM.
 */
uint32_t *mapd_acting_table(const struct mapd_state *st,
			    const struct mapd_pool *p);

/*
 * Whether the map still relies on daemon d's copies: it is up, or it is
 * a member of some PG's acting set in a pool with volumes (down: its
 * PGs wait for it). A daemon that is neither is left out of the
 * kernel's map, so that a flush does not wait for it.
 */
bool mapd_daemon_relied_on(const struct mapd_state *st,
			   const struct mapd_daemon *d);

/* Whether pool p places data on daemon d: in, of the pool's class. */
bool mapd_pool_takes(const struct mapd_pool *p, const struct mapd_daemon *d);

/*
 * Daemons that should join PG pg of pool p once they hold its data
 * (backfill, done by the PG's primary): the members of its placement
 * row that are up and in and not in its acting row, in placement order.
 * Only for pools with volumes, and only when some acting member is up
 * (someone to copy from). Returns how many (at most p->size), written to
 * out. Derived from the tables, never saved.
 */
uint32_t mapd_backfill_derive(const struct mapd_state *st,
			      const struct mapd_pool *p, uint32_t pg,
			      uint32_t *out);
/*
 * The backfill targets this mapd names (map-get, the checks of
 * pg-backfilled, PG states): derived, or in a cluster those of the
 * leader's map document (mapd_backfill_publish), still placed and not
 * acting, in placement order.
 */
uint32_t mapd_backfill_targets(const struct mapd_state *st,
			       const struct mapd_pool *p, uint32_t pg,
			       uint32_t *out);
/*
 * Cluster mode: the targets are the map document's ("backfill" of each
 * pool: [[pg, daemon], ...]) from now on; NULL derives them again.
 * -ENOMEM (and nothing changes).
 */
int mapd_backfill_publish(const json_t *map);

/* PG states as shardctl shows them. */
const char *mapd_pg_state(const struct mapd_state *st,
			  const struct mapd_pool *p, uint32_t pg);

#endif /* _MAPD_PLACE_H */
