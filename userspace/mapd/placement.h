/* SPDX-License-Identifier: GPL-2.0-only */
/* PG -> daemon placement. A later issue makes it capacity-weighted. */
#ifndef _MAPD_PLACEMENT_H
#define _MAPD_PLACEMENT_H

#include <stddef.h>
#include <stdint.h>

/*
 * Fills table[pg_count * width] (PG-major, member 0 the primary) from the
 * ids of the daemons that are up, sorted ascending. Deterministic: PG i,
 * member j is up[(i + j) % n_up]; members past n_up (fewer daemons than
 * copies) and every slot when n_up is 0 are SHARD_DAEMON_NONE, so no PG
 * ever holds a daemon twice.
 */
void placement_table(const uint32_t *up, size_t n_up, uint32_t pg_count,
		     uint32_t width, uint32_t *table);

#endif /* _MAPD_PLACEMENT_H */
