// SPDX-License-Identifier: GPL-2.0-only
/*
 * Placement: round-robin over the daemons that are up. Simple and
 * deterministic; capacity weights and failure domains come later and
 * replace this file only.
 */
#include <linux/shard.h>

#include "placement.h"

void placement_table(const uint32_t *up, size_t n_up, uint32_t pg_count,
		     uint32_t width, uint32_t *table)
{
	uint32_t i, j;

	for (i = 0; i < pg_count; i++)
		for (j = 0; j < width; j++)
			table[(size_t)i * width + j] = j < n_up ?
				up[(i + j) % n_up] : SHARD_DAEMON_NONE;
}
