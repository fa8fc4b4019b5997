// SPDX-License-Identifier: GPL-2.0
/*
 * Maps larger than one netlink message: SET_MAP with MAP_STAGE parks a map
 * here, MAP_TABLE chunks fill its pools' tables, MAP_COMMIT installs it.
 * There is one staging per host, owned by the socket (network namespace
 * and portid) that started it, so that two senders cannot interleave
 * their chunks. It goes away on commit, on replacement, when its socket
 * closes (netlink.c's release notifier) and at module exit: a sender
 * that dies half way leaves nothing behind.
 */
#include <net/genetlink.h>
#include <net/net_namespace.h>
#include <uapi/linux/shard.h>

#include "client.h"
#include "compat.h"
#include "map.h"
#include "stage.h"

/* Under shard_client.ctl_mutex; portid is also peeked at without it. */
static struct {
	struct shard_map *map;
	struct net *net;	/* a reference, while map is set */
	u32 portid;		/* 0 while nothing is staged */
} shard_stage;

static void shard_stage_drop(void)
{
	lockdep_assert_held(&shard_client.ctl_mutex);
	shard_map_free(shard_stage.map);
	shard_stage.map = NULL;
	if (shard_stage.net)
		put_net(shard_stage.net);
	shard_stage.net = NULL;
	WRITE_ONCE(shard_stage.portid, 0);
}

/* Takes map (freed on error); replaces whatever was staged. */
int shard_stage_start(struct shard_map *map, struct genl_info *info)
{
	const struct shard_map *cur = shard_client.map;

	lockdep_assert_held(&shard_client.ctl_mutex);
	if (cur && map->epoch < cur->epoch) {
		shard_map_free(map);
		NL_SET_ERR_MSG(info->extack,
			       "map epoch is older than the current one");
		return -ESTALE;
	}
	shard_stage_drop();
	shard_stage.map = map;
	shard_stage.net = get_net(genl_info_net(info));
	WRITE_ONCE(shard_stage.portid, info->snd_portid);
	return 0;
}

/* The staged map, when this message may work on it; else an ERR_PTR. */
static struct shard_map *shard_stage_get(struct genl_info *info)
{
	const struct nlattr *epoch = info->attrs[SHARD_ATTR_EPOCH];
	struct shard_map *map = shard_stage.map;

	lockdep_assert_held(&shard_client.ctl_mutex);
	if (!map) {
		NL_SET_ERR_MSG(info->extack, "no map is staged");
		return ERR_PTR(-ENOENT);
	}
	if (shard_stage.portid != info->snd_portid ||
	    !net_eq(shard_stage.net, genl_info_net(info))) {
		NL_SET_ERR_MSG(info->extack,
			       "the staged map belongs to another socket");
		return ERR_PTR(-EBUSY);
	}
	if (nla_get_u64(epoch) != map->epoch) {
		NL_SET_BAD_ATTR(info->extack, epoch);
		SHARD_NL_ERR_FMT(info->extack,
				 "epoch does not match the staged map",
				 "epoch does not match the staged map (%llu)",
				 map->epoch);
		return ERR_PTR(-ESTALE);
	}
	return map;
}

int shard_stage_table(struct genl_info *info)
{
	struct nlattr **a = info->attrs;
	struct shard_map_pool *pool;
	struct shard_map *map;

	lockdep_assert_held(&shard_client.ctl_mutex);
	map = shard_stage_get(info);
	if (IS_ERR(map))
		return PTR_ERR(map);
	pool = shard_map_pool(map, nla_get_u32(a[SHARD_ATTR_POOL_ID]));
	if (!pool) {
		NL_SET_ERR_MSG_ATTR(info->extack, a[SHARD_ATTR_POOL_ID],
				    "pool is not in the staged map");
		return -EINVAL;
	}
	return shard_map_fill(map, pool, a[SHARD_ATTR_PG_FIRST],
			      a[SHARD_ATTR_PG_IDS], info->extack);
}

int shard_stage_commit(struct genl_info *info)
{
	const struct shard_map_pool *pool;
	struct shard_map *map;
	struct net *net;
	int ret;

	lockdep_assert_held(&shard_client.ctl_mutex);
	map = shard_stage_get(info);
	if (IS_ERR(map))
		return PTR_ERR(map);
	pool = shard_map_incomplete(map);
	if (pool) {
		SHARD_NL_ERR_FMT(info->extack, "a pool's table is incomplete",
				 "pool %u table incomplete (%u of %u PGs)",
				 pool->id, pool->filled, pool->pg_count);
		return -EINVAL;
	}
	/* The install takes the map, whatever it decides. */
	net = get_net(shard_stage.net);
	shard_stage.map = NULL;
	shard_stage_drop();
	ret = shard_client_install_map(map, net, info->extack);
	put_net(net);
	return ret;
}

/* The socket net/portid closed: its staging, if any, goes with it. */
void shard_stage_release(struct net *net, u32 portid)
{
	if (READ_ONCE(shard_stage.portid) != portid)
		return;
	mutex_lock(&shard_client.ctl_mutex);
	if (shard_stage.map && shard_stage.portid == portid &&
	    net_eq(shard_stage.net, net))
		shard_stage_drop();
	mutex_unlock(&shard_client.ctl_mutex);
}

void shard_stage_exit(void)
{
	mutex_lock(&shard_client.ctl_mutex);
	shard_stage_drop();
	mutex_unlock(&shard_client.ctl_mutex);
}
