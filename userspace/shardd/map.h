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
#include <netinet/in.h>
#include <sys/socket.h>

/* An empty member slot in a PG table; also "no primary". */
#define SHARD_MAP_NONE		0xffffffffU
#define SHARD_MAP_PG_MAX	65536U
#define SHARD_MAP_WIDTH_MAX	16U

#define SHARD_MAP_ADDR_MAX	46	/* INET6_ADDRSTRLEN */
#define SHARD_MAP_BLOCKLIST_MAX	4096

struct shard_map_daemon {
	uint32_t id;
	uint16_t port;			/* 0: not known */
	char addr[SHARD_MAP_ADDR_MAX];	/* numeric; "" when not known */
};

struct shard_map_bf {
	uint32_t pg;
	uint32_t id;
};

struct shard_map_pool {
	uint32_t id;
	uint32_t pg_count;
	uint32_t width;
	uint32_t min_size;	/* members needed to take writes */
	/* pg_count * width daemon ids, PG-major, host order. */
	uint32_t *table;
	/* Per PG, the epoch from which its members are what table says:
	 * a peer's request stamped older comes from before the change. */
	uint64_t *since;
	/* Daemons being brought into PGs (backfill): (pg, id) pairs,
	 * pg ascending. They get a PG's changes but are not members. */
	struct shard_map_bf *bf;
	size_t nr_bf;
};

struct shard_map {
	uint64_t epoch;
	struct shard_map_daemon *daemons;	/* ids ascending */
	size_t nr_daemons;
	struct shard_map_pool *pools;	/* ids ascending */
	size_t nr_pools;
	/* Client addresses no request is taken from (IPv4 as v4-mapped). */
	struct in6_addr *blocked;
	size_t nr_blocked;
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
/* Whether the map blocklists the client at this address. */
bool shard_map_blocked(const struct shard_map *map,
		       const struct sockaddr_storage *ss);

/* Whether the map gives daemon id the host address of ss. */
bool shard_map_daemon_at(const struct shard_map *map, uint32_t id,
			 const struct sockaddr_storage *ss);

/* The daemon with this id, or NULL. */
const struct shard_map_daemon *shard_map_daemon(const struct shard_map *map,
						uint32_t id);
/*
 * Carries each PG's since epoch over from prev (the map this one
 * replaces, or NULL): a PG whose members did not change keeps it, any
 * other gets map->epoch.
 */
void shard_map_inherit(struct shard_map *map, const struct shard_map *prev);
/* The object's PG in pool p. */
uint32_t shard_map_pg(const struct shard_map_pool *p, uint64_t volume,
		      uint64_t object);
/* PG pg's members: width ids, SHARD_MAP_NONE after the last. */
static inline const uint32_t *shard_map_row(const struct shard_map_pool *p,
					    uint32_t pg)
{
	return &p->table[(size_t)pg * p->width];
}

/* PG pg's backfill targets into out (at most SHARD_MAP_WIDTH_MAX);
 * returns how many. */
unsigned int shard_map_backfill(const struct shard_map_pool *p, uint32_t pg,
				uint32_t *out);

/* How many PGs, over all pools, have daemon_id as primary. */
size_t shard_map_primary_count(const struct shard_map *map,
			       uint32_t daemon_id);

#endif /* SHARDD_MAP_H */
