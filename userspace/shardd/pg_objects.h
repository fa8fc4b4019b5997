/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The objects of one PG that our store holds, in (volume, object) order:
 * what backfill copies and what scrub compares, and our version of each
 * (what they compare first). A walk of the whole object table, filtered
 * by the PG hash (include/shard/pg.h).
 */
#ifndef SHARDD_PG_OBJECTS_H
#define SHARDD_PG_OBJECTS_H

#include <stddef.h>
#include <stdint.h>

struct shardd;
struct shard_obj;
struct shard_ver;

/* qsort order of struct shard_obj: by volume, then object. */
int shard_obj_cmp(const void *a, const void *b);

/* The objects of PG pg of pool in the daemon's map (*out: malloc'd,
 * NULL when none): 0, or -ENOMEM. */
int shard_pg_objects(struct shardd *d, uint32_t pool, uint32_t pg,
		     struct shard_obj **out, size_t *n);

/* Our version of o now: what the store recorded (store.h), all zeroes
 * when that is unknown or the store no longer holds o. */
void shard_pg_version(const struct shardd *d, const struct shard_obj *o,
		      struct shard_ver *out);

#endif /* SHARDD_PG_OBJECTS_H */
