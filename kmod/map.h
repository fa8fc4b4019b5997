/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _SHARD_MAP_H
#define _SHARD_MAP_H

#include <linux/socket.h>
#include <linux/types.h>
#include <net/genetlink.h>
#include <uapi/linux/shard.h>

struct shard_map_daemon {
	u32 id;
	u32 flags;
	struct sockaddr_storage addr;
};

struct shard_map_pool {
	u32 id;
	u32 pg_count;
	u32 width;
	u32 filled;		/* PGs with their ids in table; staging only */
	u32 *table;		/* pg_count * width daemon ids, PG-major */
};

/* An immutable placement map; replaced whole, never edited. */
struct shard_map {
	u64 epoch;
	u32 nr_daemons;
	u32 nr_pools;
	struct shard_map_daemon *daemons;	/* sorted by id */
	struct shard_map_pool *pools;
};

extern const struct nla_policy shard_daemon_policy[SHARD_DAEMON_ATTR_MAX + 1];
extern const struct nla_policy shard_pool_policy[SHARD_POOL_ATTR_MAX + 1];

struct shard_map *shard_map_parse(struct genl_info *info, bool stage);
void shard_map_free(struct shard_map *map);
int shard_map_fill(const struct shard_map *map, struct shard_map_pool *pool,
		   const struct nlattr *first, const struct nlattr *ids,
		   struct netlink_ext_ack *extack);
const struct shard_map_pool *shard_map_incomplete(const struct shard_map *map);
struct shard_map_pool *shard_map_pool(const struct shard_map *map, u32 id);
const struct shard_map_daemon *shard_map_daemon(const struct shard_map *map,
						u32 id);
u32 shard_map_primary(const struct shard_map *map, u32 pool_id, u64 volume,
		      u64 object);

#endif /* _SHARD_MAP_H */
