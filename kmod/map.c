// SPDX-License-Identifier: GPL-2.0
/*
 * The placement map: parsed from SHARD_CMD_SET_MAP (its tables whole, or
 * filled later chunk by chunk while it is staged, see stage.c), checked for
 * internal consistency, then installed whole. Lookups on the data path run
 * under shard_client.lock and never allocate.
 */
#include <linux/in.h>
#include <linux/in6.h>
#include <linux/slab.h>
#include <linux/sort.h>
#include <linux/bsearch.h>
#include <uapi/linux/shard.h>
#include <shard/pg.h>

#include "compat.h"
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

/* Checks PGs first .. first + n - 1 of pool's table against the map. */
static int shard_map_check_pgs(const struct shard_map *map,
			       const struct shard_map_pool *pool, u32 first,
			       u32 n, const struct nlattr *attr,
			       struct netlink_ext_ack *extack)
{
	u32 pg, i, j;

	for (pg = first; pg < first + n; pg++) {
		const u32 *set = &pool->table[(size_t)pg * pool->width];

		for (i = 0; i < pool->width; i++) {
			if (set[i] == SHARD_DAEMON_NONE)
				continue;
			if (!shard_map_daemon(map, set[i])) {
				NL_SET_BAD_ATTR(extack, attr);
				SHARD_NL_ERR_FMT(extack,
						 "PG table names an unknown daemon",
						 "PG %u names unknown daemon %u",
						 pg, set[i]);
				return -EINVAL;
			}
			for (j = 0; j < i; j++) {
				if (set[j] == set[i]) {
					NL_SET_BAD_ATTR(extack, attr);
					SHARD_NL_ERR_FMT(extack,
							 "PG lists a daemon twice",
							 "PG %u lists daemon %u twice",
							 pg, set[i]);
					return -EINVAL;
				}
			}
		}
	}
	return 0;
}

/*
 * A staged pool may come without its table: the table is allocated here
 * and filled by MAP_TABLE chunks (shard_map_fill), counted in ->filled.
 */
static int shard_map_parse_pool(struct shard_map *map,
				struct shard_map_pool *pool,
				const struct nlattr *nest, bool stage,
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
	    (!stage &&
	     NL_REQ_ATTR_CHECK(extack, nest, tb, SHARD_POOL_ATTR_PG_TABLE)))
		return -EINVAL;

	pool->id = nla_get_u32(tb[SHARD_POOL_ATTR_ID]);
	pool->pg_count = nla_get_u32(tb[SHARD_POOL_ATTR_PG_COUNT]);
	pool->width = tb[SHARD_POOL_ATTR_WIDTH] ?
		      nla_get_u32(tb[SHARD_POOL_ATTR_WIDTH]) : 1;
	table = tb[SHARD_POOL_ATTR_PG_TABLE];
	bytes = (size_t)pool->pg_count * pool->width * sizeof(u32);
	if (table && nla_len(table) != bytes) {
		NL_SET_ERR_MSG_ATTR(extack, table,
				    "PG table size is not pg_count * width ids");
		return -EINVAL;
	}
	pool->table = kvmalloc(bytes, GFP_KERNEL);
	if (!pool->table)
		return -ENOMEM;
	if (!table)
		return 0;
	memcpy(pool->table, nla_data(table), bytes);
	ret = shard_map_check_pgs(map, pool, 0, pool->pg_count, table, extack);
	if (!ret)
		pool->filled = pool->pg_count;
	return ret;
}

static int shard_map_parse_pools(struct shard_map *map,
				 const struct nlattr *nest, bool stage,
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
		ret = shard_map_parse_pool(map, &map->pools[i], a, stage,
					   extack);
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

/* With stage, pools may come without tables (see shard_map_fill). */
struct shard_map *shard_map_parse(struct genl_info *info, bool stage)
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
					    stage, info->extack);
	if (ret) {
		shard_map_free(map);
		return ERR_PTR(ret);
	}
	return map;
}

/*
 * Stores a staged pool's next run of PGs (ids: whole PGs, PG-major),
 * starting at the PG named by first, which must be the next unfilled one.
 * Nothing counts until every id passed the checks.
 */
int shard_map_fill(const struct shard_map *map, struct shard_map_pool *pool,
		   const struct nlattr *first, const struct nlattr *ids,
		   struct netlink_ext_ack *extack)
{
	size_t pg_bytes = (size_t)pool->width * sizeof(u32);
	u32 pg_first = nla_get_u32(first);
	u32 n;
	int ret;

	if (!nla_len(ids) || nla_len(ids) % pg_bytes) {
		NL_SET_BAD_ATTR(extack, ids);
		SHARD_NL_ERR_FMT(extack, "PG ids are not whole PGs of this pool",
				 "PG ids are not whole PGs of this pool (%zu bytes each)",
				 pg_bytes);
		return -EINVAL;
	}
	n = nla_len(ids) / pg_bytes;
	if (pool->filled == pool->pg_count) {
		NL_SET_ERR_MSG_ATTR(extack, first,
				    "the pool's table is already complete");
		return -EINVAL;
	}
	if (pg_first != pool->filled) {
		NL_SET_BAD_ATTR(extack, first);
		SHARD_NL_ERR_FMT(extack,
				 "chunk out of order: PG_FIRST is not the next unfilled PG",
				 "chunk out of order: the next unfilled PG is %u",
				 pool->filled);
		return -EINVAL;
	}
	if (n > pool->pg_count - pg_first) {
		NL_SET_BAD_ATTR(extack, ids);
		SHARD_NL_ERR_FMT(extack, "chunk runs past the pool's PG count",
				 "chunk runs past the pool's PG count (%u)",
				 pool->pg_count);
		return -EINVAL;
	}
	memcpy(&pool->table[(size_t)pg_first * pool->width], nla_data(ids),
	       nla_len(ids));
	ret = shard_map_check_pgs(map, pool, pg_first, n, ids, extack);
	if (!ret)
		pool->filled += n;
	return ret;
}

/* The first pool whose table is not complete yet, or NULL. */
const struct shard_map_pool *shard_map_incomplete(const struct shard_map *map)
{
	u32 i;

	for (i = 0; i < map->nr_pools; i++) {
		if (map->pools[i].filled != map->pools[i].pg_count)
			return &map->pools[i];
	}
	return NULL;
}

struct shard_map_pool *shard_map_pool(const struct shard_map *map, u32 id)
{
	u32 i;

	for (i = 0; i < map->nr_pools; i++) {
		if (map->pools[i].id == id)
			return &map->pools[i];
	}
	return NULL;
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
	const struct shard_map_pool *pool = shard_map_pool(map, pool_id);
	u32 pg;

	if (!pool)
		return SHARD_DAEMON_NONE;
	pg = shard_object_pg(volume, object, pool->pg_count);
	return pool->table[pg * pool->width];
}
