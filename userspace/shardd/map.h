/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The daemon's copy of the placement map, as shard-mapd serves it in
 * its map-get reply: the daemons of the cluster and, per pool, which
 * daemons hold each placement group (member 0 is the primary). A map is
 * parsed and validated whole; an invalid one is never partly used.
 */
#ifndef SHARDD_MAP_H
#define SHARDD_MAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

/* An empty member slot in a PG table; also "no primary". */
#define SHARD_MAP_NONE		0xffffffffU
#define SHARD_MAP_PG_MAX	65536U
#define SHARD_MAP_WIDTH_MAX	16U

struct shard_map_pool {
	uint32_t id;
	uint32_t pg_count;
	uint32_t width;
	/* pg_count * width daemon ids, PG-major, host order. */
	uint32_t *table;
};

struct shard_map {
	uint64_t epoch;
	uint32_t *daemons;	/* ids, ascending */
	size_t nr_daemons;
	struct shard_map_pool *pools;	/* ids ascending */
	size_t nr_pools;
};

/*
 * Builds a map from the "map" object of a map-get reply. 0, or -EINVAL
 * with err naming the offending element (-ENOMEM with err set too).
 */
int shard_map_parse(const json_t *obj, struct shard_map **out, char *err,
		    size_t errlen);
void shard_map_free(struct shard_map *map);

/* The pool, or NULL when the map has none with this id. */
const struct shard_map_pool *shard_map_pool(const struct shard_map *map,
					    uint32_t pool_id);
/* The primary of the object's PG, as the kernel computes it
 * (kmod/map.c); SHARD_MAP_NONE for an unknown pool or an empty PG. */
uint32_t shard_map_primary(const struct shard_map *map, uint32_t pool_id,
			   uint64_t volume, uint64_t object);
/* How many PGs, over all pools, have daemon_id as primary. */
size_t shard_map_primary_count(const struct shard_map *map,
			       uint32_t daemon_id);

#endif /* SHARDD_MAP_H */
