// SPDX-License-Identifier: GPL-2.0
/*
 * The placement map: parsed from SHARD_CMD_SET_MAP, checked for internal
 * consistency, then installed whole by netlink.c. Lookups on the data path
 * run under shard_client.lock and never allocate.
 */
#include <linux/in.h>
#include <linux/in6.h>
#include <linux/slab.h>
#include <linux/sort.h>
#include <linux/bsearch.h>
#include <uapi/linux/shard.h>
#include <shard/pg.h>

#include "map.h"

static struct netlink_range_validation shard_daemon_id_range = {
	.max = SHARD_MAX_DAEMON_ID - 1,
};

const struct nla_policy shard_daemon_policy[SHARD_DAEMON_ATTR_MAX + 1] = {
	[SHARD_DAEMON_ATTR_ID] = NLA_POLICY_FULL_RANGE(NLA_U32,
						       &shard_daemon_id_range),
	[SHARD_DAEMON_ATTR_ADDR] = { .type = NLA_BINARY,
				     .len = sizeof(struct in6_addr) },
	[SHARD_DAEMON_ATTR_PORT] = NLA_POLICY_MIN(NLA_U16, 1),
	[SHARD_DAEMON_ATTR_FLAGS] = NLA_POLICY_MASK(NLA_U32, SHARD_DAEMON_F_ALL),
	[SHARD_DAEMON_ATTR_CONNECTED] = { .type = NLA_REJECT },
};

static struct netlink_range_validation shard_pg_count_range = {
	.min = 1,
	.max = SHARD_MAX_PGS,
};

const struct nla_policy shard_pool_policy[SHARD_POOL_ATTR_MAX + 1] = {
	[SHARD_POOL_ATTR_ID] = { .type = NLA_U32 },
	[SHARD_POOL_ATTR_PG_COUNT] = NLA_POLICY_FULL_RANGE(NLA_U32,
							&shard_pg_count_range),
	[SHARD_POOL_ATTR_WIDTH] = NLA_POLICY_RANGE(NLA_U32, 1, SHARD_MAX_WIDTH),
	[SHARD_POOL_ATTR_PG_TABLE] = NLA_POLICY_MIN_LEN(sizeof(u32)),
};

void shard_map_free(struct shard_map *map)
{
	u32 i;

	if (!map)
		return;
	for (i = 0; i < map->nr_pools; i++)
		kvfree(map->pools[i].table);
	kfree(map->pools);
	kfree(map->daemons);
	kfree(map);
}

static int shard_map_count(const struct nlattr *nest)
{
	const struct nlattr *a;
	int rem, n = 0;

	nla_for_each_nested(a, nest, rem)
		n++;
	return n;
}

static int shard_map_parse_daemon(struct shard_map_daemon *d,
				  const struct nlattr *nest,
				  struct netlink_ext_ack *extack)
{
	struct nlattr *tb[SHARD_DAEMON_ATTR_MAX + 1];
	const struct nlattr *addr;
	u16 port;
	int ret;

	ret = nla_parse_nested(tb, SHARD_DAEMON_ATTR_MAX, nest,
			       shard_daemon_policy, extack);
	if (ret)
		return ret;
	if (NL_REQ_ATTR_CHECK(extack, nest, tb, SHARD_DAEMON_ATTR_ID) ||
	    NL_REQ_ATTR_CHECK(extack, nest, tb, SHARD_DAEMON_ATTR_ADDR) ||
	    NL_REQ_ATTR_CHECK(extack, nest, tb, SHARD_DAEMON_ATTR_PORT))
		return -EINVAL;

	d->id = nla_get_u32(tb[SHARD_DAEMON_ATTR_ID]);
	d->flags = tb[SHARD_DAEMON_ATTR_FLAGS] ?
		   nla_get_u32(tb[SHARD_DAEMON_ATTR_FLAGS]) : SHARD_DAEMON_F_UP;
	port = nla_get_u16(tb[SHARD_DAEMON_ATTR_PORT]);
	addr = tb[SHARD_DAEMON_ATTR_ADDR];
	memset(&d->addr, 0, sizeof(d->addr));
	if (nla_len(addr) == sizeof(struct in_addr)) {
		struct sockaddr_in *sin = (struct sockaddr_in *)&d->addr;

		sin->sin_family = AF_INET;
		sin->sin_port = htons(port);
		memcpy(&sin->sin_addr, nla_data(addr), sizeof(sin->sin_addr));
	} else if (nla_len(addr) == sizeof(struct in6_addr)) {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&d->addr;

		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(port);
		memcpy(&sin6->sin6_addr, nla_data(addr),
		       sizeof(sin6->sin6_addr));
	} else {
		NL_SET_ERR_MSG_ATTR(extack, addr,
				    "daemon address must be 4 or 16 bytes");
		return -EINVAL;
	}
	return 0;
}

static int shard_map_daemon_cmp(const void *a, const void *b)
{
	const struct shard_map_daemon *x = a, *y = b;

	return x->id < y->id ? -1 : x->id > y->id;
}

static int shard_map_parse_daemons(struct shard_map *map,
				   const struct nlattr *nest,
				   struct netlink_ext_ack *extack)
{
	const struct nlattr *a;
	int rem, n, ret;
	u32 i = 0;

	n = shard_map_count(nest);
	if (n > SHARD_MAX_DAEMONS) {
		NL_SET_ERR_MSG_ATTR(extack, nest, "too many daemons");
		return -E2BIG;
	}
	map->daemons = kcalloc(max(n, 1), sizeof(*map->daemons), GFP_KERNEL);
	if (!map->daemons)
		return -ENOMEM;
	nla_for_each_nested(a, nest, rem) {
		if (nla_type(a) != SHARD_ATTR_DAEMON) {
			NL_SET_ERR_MSG_ATTR(extack, a, "expected SHARD_ATTR_DAEMON");
			return -EINVAL;
		}
		ret = shard_map_parse_daemon(&map->daemons[i++], a, extack);
		if (ret)
			return ret;
	}
	map->nr_daemons = i;
	sort(map->daemons, i, sizeof(*map->daemons), shard_map_daemon_cmp,
	     NULL);
	for (i = 1; i < map->nr_daemons; i++) {
		if (map->daemons[i].id == map->daemons[i - 1].id) {
			NL_SET_ERR_MSG_ATTR(extack, nest, "duplicate daemon id");
			return -EINVAL;
		}
	}
	return 0;
}

static int shard_map_check_table(const struct shard_map *map,
				 const struct shard_map_pool *pool,
				 const struct nlattr *attr,
				 struct netlink_ext_ack *extack)
{
	u32 pg, i, j;

	for (pg = 0; pg < pool->pg_count; pg++) {
		const u32 *set = &pool->table[pg * pool->width];

		for (i = 0; i < pool->width; i++) {
			if (set[i] == SHARD_DAEMON_NONE)
				continue;
			if (!shard_map_daemon(map, set[i])) {
				NL_SET_ERR_MSG_ATTR(extack, attr,
						    "PG table names an unknown daemon");
				return -EINVAL;
			}
			for (j = 0; j < i; j++) {
				if (set[j] == set[i]) {
					NL_SET_ERR_MSG_ATTR(extack, attr,
							    "PG lists a daemon twice");
					return -EINVAL;
				}
			}
		}
	}
	return 0;
}

static int shard_map_parse_pool(struct shard_map *map,
				struct shard_map_pool *pool,
				const struct nlattr *nest,
				struct netlink_ext_ack *extack)
{
	struct nlattr *tb[SHARD_POOL_ATTR_MAX + 1];
	const struct nlattr *table;
	size_t bytes;
	int ret;

	ret = nla_parse_nested(tb, SHARD_POOL_ATTR_MAX, nest,
			       shard_pool_policy, extack);
	if (ret)
		return ret;
	if (NL_REQ_ATTR_CHECK(extack, nest, tb, SHARD_POOL_ATTR_ID) ||
	    NL_REQ_ATTR_CHECK(extack, nest, tb, SHARD_POOL_ATTR_PG_COUNT) ||
	    NL_REQ_ATTR_CHECK(extack, nest, tb, SHARD_POOL_ATTR_PG_TABLE))
		return -EINVAL;

	pool->id = nla_get_u32(tb[SHARD_POOL_ATTR_ID]);
	pool->pg_count = nla_get_u32(tb[SHARD_POOL_ATTR_PG_COUNT]);
	pool->width = tb[SHARD_POOL_ATTR_WIDTH] ?
		      nla_get_u32(tb[SHARD_POOL_ATTR_WIDTH]) : 1;
	table = tb[SHARD_POOL_ATTR_PG_TABLE];
	bytes = (size_t)pool->pg_count * pool->width * sizeof(u32);
	if (nla_len(table) != bytes) {
		NL_SET_ERR_MSG_ATTR(extack, table,
				    "PG table size is not pg_count * width ids");
		return -EINVAL;
	}
	pool->table = kvmalloc(bytes, GFP_KERNEL);
	if (!pool->table)
		return -ENOMEM;
	memcpy(pool->table, nla_data(table), bytes);
	return shard_map_check_table(map, pool, table, extack);
}

static int shard_map_parse_pools(struct shard_map *map,
				 const struct nlattr *nest,
				 struct netlink_ext_ack *extack)
{
	const struct nlattr *a;
	int rem, n, ret;
	u32 i, j;

	n = shard_map_count(nest);
	if (n > SHARD_MAX_POOLS) {
		NL_SET_ERR_MSG_ATTR(extack, nest, "too many pools");
		return -E2BIG;
	}
	map->pools = kcalloc(max(n, 1), sizeof(*map->pools), GFP_KERNEL);
	if (!map->pools)
		return -ENOMEM;
	nla_for_each_nested(a, nest, rem) {
		if (nla_type(a) != SHARD_ATTR_POOL) {
			NL_SET_ERR_MSG_ATTR(extack, a, "expected SHARD_ATTR_POOL");
			return -EINVAL;
		}
		/* Count first: a failed pool's table is freed with the map. */
		i = map->nr_pools++;
		ret = shard_map_parse_pool(map, &map->pools[i], a, extack);
		if (ret)
			return ret;
		for (j = 0; j < i; j++) {
			if (map->pools[j].id == map->pools[i].id) {
				NL_SET_ERR_MSG_ATTR(extack, a,
						    "duplicate pool id");
				return -EINVAL;
			}
		}
	}
	return 0;
}

struct shard_map *shard_map_parse(struct genl_info *info)
{
	struct shard_map *map;
	int ret;

	if (GENL_REQ_ATTR_CHECK(info, SHARD_ATTR_EPOCH) ||
	    GENL_REQ_ATTR_CHECK(info, SHARD_ATTR_DAEMONS) ||
	    GENL_REQ_ATTR_CHECK(info, SHARD_ATTR_POOLS))
		return ERR_PTR(-EINVAL);

	map = kzalloc(sizeof(*map), GFP_KERNEL);
	if (!map)
		return ERR_PTR(-ENOMEM);
	map->epoch = nla_get_u64(info->attrs[SHARD_ATTR_EPOCH]);
	ret = shard_map_parse_daemons(map, info->attrs[SHARD_ATTR_DAEMONS],
				      info->extack);
	if (!ret)
		ret = shard_map_parse_pools(map, info->attrs[SHARD_ATTR_POOLS],
					    info->extack);
	if (ret) {
		shard_map_free(map);
		return ERR_PTR(ret);
	}
	return map;
}

const struct shard_map_daemon *shard_map_daemon(const struct shard_map *map,
						u32 id)
{
	struct shard_map_daemon key = { .id = id };

	return bsearch(&key, map->daemons, map->nr_daemons,
		       sizeof(*map->daemons), shard_map_daemon_cmp);
}

u32 shard_map_primary(const struct shard_map *map, u32 pool_id, u64 volume,
		      u64 object)
{
	const struct shard_map_pool *pool = NULL;
	u32 i, pg;

	for (i = 0; i < map->nr_pools; i++) {
		if (map->pools[i].id == pool_id) {
			pool = &map->pools[i];
			break;
		}
	}
	if (!pool)
		return SHARD_DAEMON_NONE;
	pg = shard_object_pg(volume, object, pool->pg_count);
	return pool->table[pg * pool->width];
}
