/* SPDX-License-Identifier: GPL-2.0-only */
/* Rounding real-valued shares to integers that add up (targets.c). */
#ifndef SHARD_PL_ROUND_H
#define SHARD_PL_ROUND_H

#include <stddef.h>
#include <stdint.h>

struct pl_round_in {
	size_t n;
	const double *x;		/* values, summing to total */
	const uint32_t *have;		/* current counts, or NULL */
	const uint32_t *item_max;	/* per item maximum, or NULL */
	const uint32_t *group;		/* group of each item, or NULL */
	uint32_t ngroups;
	uint32_t group_cap;		/* maximum sum per group */
	uint32_t total;
};

/* out[i] is floor(x[i]) or one more, adding up to total; 0 or -ENOMEM. */
int pl_round(const struct pl_round_in *r, uint32_t *out);

#endif
