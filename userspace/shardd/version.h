/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The version of a change to an object (proto.h's struct shard_version,
 * in host order). Every copy records the version of the last change it
 * holds; copies recording the same non-zero version hold the same
 * bytes. All zeroes is "unknown", which matches nothing: a copy being
 * replaced piece by piece, one a failed write touched, or one whose
 * store went down with the machine (store_ver.c).
 */
#ifndef SHARDD_VERSION_H
#define SHARDD_VERSION_H

#include <stdbool.h>
#include <stdint.h>

struct shard_ver {
	uint64_t epoch;		/* the primary's map epoch */
	uint64_t seq;		/* unique among that daemon's changes */
};

static inline bool shard_ver_eq(const struct shard_ver *a,
				const struct shard_ver *b)
{
	return a->epoch == b->epoch && a->seq == b->seq;
}

static inline bool shard_ver_known(const struct shard_ver *v)
{
	return v->epoch || v->seq;
}

#endif /* SHARDD_VERSION_H */
