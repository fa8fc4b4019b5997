// SPDX-License-Identifier: GPL-2.0
/*
 * Generic netlink family "shard": the module's only control interface.
 * include/uapi/linux/shard.h describes every command and attribute.
 */
#include <linux/module.h>
#include <linux/notifier.h>
#include <net/genetlink.h>
#include <uapi/linux/shard.h>

#include "client.h"
#include "conn.h"
#include "dev.h"
#include "map.h"
#include "netlink.h"
#include "stage.h"

/* A week: longer waits are "forever" in all but name. */
#define SHARD_MAX_TIMEOUT	(7 * 24 * 3600)

static struct netlink_range_validation shard_timeout_range = {
	.max = SHARD_MAX_TIMEOUT,
};

static const struct nla_policy shard_policy[SHARD_ATTR_MAX + 1] = {
	[SHARD_ATTR_EPOCH] = { .type = NLA_U64 },
	[SHARD_ATTR_DAEMONS] = NLA_POLICY_NESTED_ARRAY(shard_daemon_policy),
	[SHARD_ATTR_DAEMON] = { .type = NLA_REJECT },
	[SHARD_ATTR_POOLS] = NLA_POLICY_NESTED_ARRAY(shard_pool_policy),
	[SHARD_ATTR_POOL] = { .type = NLA_REJECT },
	[SHARD_ATTR_DEV_INDEX] = { .type = NLA_U32 },
	[SHARD_ATTR_POOL_ID] = { .type = NLA_U32 },
	[SHARD_ATTR_VOLUME_ID] = { .type = NLA_U64 },
	[SHARD_ATTR_SIZE] = NLA_POLICY_MIN(NLA_U64, SECTOR_SIZE),
	[SHARD_ATTR_OBJ_ORDER] = NLA_POLICY_RANGE(NLA_U8, SHARD_MIN_OBJ_ORDER,
						  SHARD_MAX_OBJ_ORDER),
	[SHARD_ATTR_READ_ONLY] = { .type = NLA_FLAG },
	[SHARD_ATTR_TIMEOUT] = NLA_POLICY_FULL_RANGE(NLA_U32,
						     &shard_timeout_range),
	[SHARD_ATTR_FORCE] = { .type = NLA_FLAG },
	[SHARD_ATTR_POOL_NAME] = { .type = NLA_NUL_STRING,
				   .len = SHARD_MAX_NAME - 1 },
	[SHARD_ATTR_VOLUME_NAME] = { .type = NLA_NUL_STRING,
				     .len = SHARD_MAX_NAME - 1 },
	[SHARD_ATTR_OPEN_COUNT] = { .type = NLA_REJECT },
	[SHARD_ATTR_INFLIGHT] = { .type = NLA_REJECT },
	[SHARD_ATTR_HELD] = { .type = NLA_REJECT },
	[SHARD_ATTR_EVENT] = { .type = NLA_REJECT },
	[SHARD_ATTR_DAEMON_ID] = { .type = NLA_REJECT },
	[SHARD_ATTR_ERRNO] = { .type = NLA_REJECT },
	[SHARD_ATTR_MAP_STAGE] = { .type = NLA_FLAG },
	[SHARD_ATTR_PG_FIRST] = { .type = NLA_U32 },
	[SHARD_ATTR_PG_IDS] = { .type = NLA_BINARY,
				.len = SHARD_MAX_TABLE_IDS * sizeof(u32) },
};

static struct genl_family shard_family;

static const struct genl_multicast_group shard_mcgrps[] = {
	{ .name = SHARD_GENL_MCGRP_EVENTS },
};

static int shard_nl_set_map(struct sk_buff *skb, struct genl_info *info)
{
	bool stage = nla_get_flag(info->attrs[SHARD_ATTR_MAP_STAGE]);
	struct shard_map *map;
	int ret;

	map = shard_map_parse(info, stage);
	if (IS_ERR(map))
		return PTR_ERR(map);
	mutex_lock(&shard_client.ctl_mutex);
	if (stage)
		ret = shard_stage_start(map, info);
	else
		ret = shard_client_install_map(map, genl_info_net(info),
					       info->extack);
	mutex_unlock(&shard_client.ctl_mutex);
	return ret;
}

static int shard_nl_map_table(struct sk_buff *skb, struct genl_info *info)
{
	int ret;

	if (GENL_REQ_ATTR_CHECK(info, SHARD_ATTR_EPOCH) ||
	    GENL_REQ_ATTR_CHECK(info, SHARD_ATTR_POOL_ID) ||
	    GENL_REQ_ATTR_CHECK(info, SHARD_ATTR_PG_FIRST) ||
	    GENL_REQ_ATTR_CHECK(info, SHARD_ATTR_PG_IDS))
		return -EINVAL;
	mutex_lock(&shard_client.ctl_mutex);
	ret = shard_stage_table(info);
	mutex_unlock(&shard_client.ctl_mutex);
	return ret;
}

static int shard_nl_map_commit(struct sk_buff *skb, struct genl_info *info)
{
	int ret;

	if (GENL_REQ_ATTR_CHECK(info, SHARD_ATTR_EPOCH))
		return -EINVAL;
	mutex_lock(&shard_client.ctl_mutex);
	ret = shard_stage_commit(info);
	mutex_unlock(&shard_client.ctl_mutex);
	return ret;
}

static bool shard_nl_size_ok(struct genl_info *info, struct nlattr *attr)
{
	if (nla_get_u64(attr) % SECTOR_SIZE) {
		NL_SET_ERR_MSG_ATTR(info->extack, attr,
				    "size must be a multiple of 512 bytes");
		return false;
	}
	return true;
}

static int shard_nl_add_dev(struct sk_buff *skb, struct genl_info *info)
{
	struct nlattr **a = info->attrs;
	struct shard_dev_config cfg = {};
	struct sk_buff *msg;
	void *hdr;
	u32 index;
	int ret;

	if (GENL_REQ_ATTR_CHECK(info, SHARD_ATTR_POOL_ID) ||
	    GENL_REQ_ATTR_CHECK(info, SHARD_ATTR_VOLUME_ID) ||
	    GENL_REQ_ATTR_CHECK(info, SHARD_ATTR_SIZE))
		return -EINVAL;
	if (!shard_nl_size_ok(info, a[SHARD_ATTR_SIZE]))
		return -EINVAL;
	cfg.pool_id = nla_get_u32(a[SHARD_ATTR_POOL_ID]);
	cfg.volume_id = nla_get_u64(a[SHARD_ATTR_VOLUME_ID]);
	cfg.size = nla_get_u64(a[SHARD_ATTR_SIZE]);
	cfg.obj_order = a[SHARD_ATTR_OBJ_ORDER] ?
			nla_get_u8(a[SHARD_ATTR_OBJ_ORDER]) :
			SHARD_DEFAULT_OBJ_ORDER;
	cfg.read_only = nla_get_flag(a[SHARD_ATTR_READ_ONLY]);
	cfg.timeout = a[SHARD_ATTR_TIMEOUT] ?
		      nla_get_u32(a[SHARD_ATTR_TIMEOUT]) : 0;
	cfg.pool_name = a[SHARD_ATTR_POOL_NAME] ?
			nla_data(a[SHARD_ATTR_POOL_NAME]) : NULL;
	cfg.volume_name = a[SHARD_ATTR_VOLUME_NAME] ?
			  nla_data(a[SHARD_ATTR_VOLUME_NAME]) : NULL;

	msg = genlmsg_new(NLMSG_GOODSIZE, GFP_KERNEL);
	if (!msg)
		return -ENOMEM;
	mutex_lock(&shard_client.ctl_mutex);
	ret = shard_dev_add(&cfg, &index);
	mutex_unlock(&shard_client.ctl_mutex);
	if (ret) {
		NL_SET_ERR_MSG(info->extack, "cannot create the block device");
		goto out_free;
	}
	hdr = genlmsg_put_reply(msg, info, &shard_family, 0, SHARD_CMD_ADD_DEV);
	if (!hdr || nla_put_u32(msg, SHARD_ATTR_DEV_INDEX, index)) {
		ret = -EMSGSIZE;
		goto out_free;
	}
	genlmsg_end(msg, hdr);
	return genlmsg_reply(msg, info);

out_free:
	nlmsg_free(msg);
	return ret;
}

static struct shard_dev *shard_nl_dev(struct genl_info *info)
{
	struct shard_dev *dev;

	lockdep_assert_held(&shard_client.ctl_mutex);
	dev = xa_load(&shard_client.devs,
		      nla_get_u32(info->attrs[SHARD_ATTR_DEV_INDEX]));
	if (!dev)
		NL_SET_ERR_MSG_ATTR(info->extack,
				    info->attrs[SHARD_ATTR_DEV_INDEX],
				    "no such device");
	return dev;
}

static int shard_nl_remove_dev(struct sk_buff *skb, struct genl_info *info)
{
	struct shard_dev *dev;
	int ret = -ENODEV;

	if (GENL_REQ_ATTR_CHECK(info, SHARD_ATTR_DEV_INDEX))
		return -EINVAL;
	mutex_lock(&shard_client.ctl_mutex);
	dev = shard_nl_dev(info);
	if (dev) {
		ret = shard_dev_remove(dev,
				       nla_get_flag(info->attrs[SHARD_ATTR_FORCE]));
		if (ret == -EBUSY)
			NL_SET_ERR_MSG(info->extack,
				       "device is open (use force to remove it anyway)");
	}
	mutex_unlock(&shard_client.ctl_mutex);
	return ret;
}

static int shard_nl_resize_dev(struct sk_buff *skb, struct genl_info *info)
{
	struct shard_dev *dev;
	int ret = -ENODEV;

	if (GENL_REQ_ATTR_CHECK(info, SHARD_ATTR_DEV_INDEX) ||
	    GENL_REQ_ATTR_CHECK(info, SHARD_ATTR_SIZE))
		return -EINVAL;
	if (!shard_nl_size_ok(info, info->attrs[SHARD_ATTR_SIZE]))
		return -EINVAL;
	mutex_lock(&shard_client.ctl_mutex);
	dev = shard_nl_dev(info);
	if (dev) {
		shard_dev_resize(dev, nla_get_u64(info->attrs[SHARD_ATTR_SIZE]));
		ret = 0;
	}
	mutex_unlock(&shard_client.ctl_mutex);
	return ret;
}

static int shard_nl_fill_dev(struct sk_buff *msg, struct shard_dev *dev,
			     u32 portid, u32 seq, int flags)
{
	unsigned int held, busy;
	void *hdr;

	hdr = genlmsg_put(msg, portid, seq, &shard_family, flags,
			  SHARD_CMD_GET_DEV);
	if (!hdr)
		return -EMSGSIZE;
	busy = shard_dev_count_busy(dev, &held);
	if (nla_put_u32(msg, SHARD_ATTR_DEV_INDEX, dev->index) ||
	    nla_put_u32(msg, SHARD_ATTR_POOL_ID, dev->pool_id) ||
	    nla_put_u64_64bit(msg, SHARD_ATTR_VOLUME_ID, dev->volume_id,
			      SHARD_ATTR_PAD) ||
	    nla_put_u64_64bit(msg, SHARD_ATTR_SIZE,
			      get_capacity(dev->disk) << SECTOR_SHIFT,
			      SHARD_ATTR_PAD) ||
	    nla_put_u8(msg, SHARD_ATTR_OBJ_ORDER, dev->obj_order) ||
	    (dev->read_only && nla_put_flag(msg, SHARD_ATTR_READ_ONLY)) ||
	    nla_put_u32(msg, SHARD_ATTR_TIMEOUT, dev->timeout) ||
	    nla_put_u32(msg, SHARD_ATTR_OPEN_COUNT, disk_openers(dev->disk)) ||
	    nla_put_u32(msg, SHARD_ATTR_INFLIGHT, busy) ||
	    nla_put_u32(msg, SHARD_ATTR_HELD, held) ||
	    nla_put_string(msg, SHARD_ATTR_POOL_NAME, dev->pool_name) ||
	    nla_put_string(msg, SHARD_ATTR_VOLUME_NAME, dev->volume_name)) {
		genlmsg_cancel(msg, hdr);
		return -EMSGSIZE;
	}
	genlmsg_end(msg, hdr);
	return 0;
}

static int shard_nl_get_dev(struct sk_buff *skb, struct genl_info *info)
{
	struct shard_dev *dev;
	struct sk_buff *msg;
	int ret = -ENODEV;

	if (GENL_REQ_ATTR_CHECK(info, SHARD_ATTR_DEV_INDEX))
		return -EINVAL;
	msg = genlmsg_new(NLMSG_GOODSIZE, GFP_KERNEL);
	if (!msg)
		return -ENOMEM;
	mutex_lock(&shard_client.ctl_mutex);
	dev = shard_nl_dev(info);
	if (dev)
		ret = shard_nl_fill_dev(msg, dev, info->snd_portid,
					info->snd_seq, 0);
	mutex_unlock(&shard_client.ctl_mutex);
	if (ret) {
		nlmsg_free(msg);
		return ret;
	}
	return genlmsg_reply(msg, info);
}

static int shard_nl_dump_dev(struct sk_buff *skb, struct netlink_callback *cb)
{
	unsigned long index = cb->args[0];
	struct shard_dev *dev;
	int ret = 0;

	mutex_lock(&shard_client.ctl_mutex);
	xa_for_each_start(&shard_client.devs, index, dev, index) {
		ret = shard_nl_fill_dev(skb, dev, NETLINK_CB(cb->skb).portid,
					cb->nlh->nlmsg_seq, NLM_F_MULTI);
		if (ret)
			break;
		cb->args[0] = index + 1;
	}
	mutex_unlock(&shard_client.ctl_mutex);
	/* A full skb means "call again"; an empty one cannot make progress. */
	if (ret == -EMSGSIZE && skb->len)
		return skb->len;
	return ret ?: skb->len;
}

static int shard_nl_get_status(struct sk_buff *skb, struct genl_info *info)
{
	struct sk_buff *msg;
	int ret;

	msg = genlmsg_new(NLMSG_GOODSIZE, GFP_KERNEL);
	if (!msg)
		return -ENOMEM;
	mutex_lock(&shard_client.ctl_mutex);
	ret = shard_client_fill_status(msg, info, &shard_family);
	mutex_unlock(&shard_client.ctl_mutex);
	if (ret) {
		nlmsg_free(msg);
		return ret;
	}
	return genlmsg_reply(msg, info);
}

static const struct genl_ops shard_ops[] = {
	{
		.cmd = SHARD_CMD_SET_MAP,
		.doit = shard_nl_set_map,
		.flags = GENL_ADMIN_PERM,
	},
	{
		.cmd = SHARD_CMD_MAP_TABLE,
		.doit = shard_nl_map_table,
		.flags = GENL_ADMIN_PERM,
	},
	{
		.cmd = SHARD_CMD_MAP_COMMIT,
		.doit = shard_nl_map_commit,
		.flags = GENL_ADMIN_PERM,
	},
	{
		.cmd = SHARD_CMD_ADD_DEV,
		.doit = shard_nl_add_dev,
		.flags = GENL_ADMIN_PERM,
	},
	{
		.cmd = SHARD_CMD_REMOVE_DEV,
		.doit = shard_nl_remove_dev,
		.flags = GENL_ADMIN_PERM,
	},
	{
		.cmd = SHARD_CMD_RESIZE_DEV,
		.doit = shard_nl_resize_dev,
		.flags = GENL_ADMIN_PERM,
	},
	{
		.cmd = SHARD_CMD_GET_DEV,
		.doit = shard_nl_get_dev,
		.dumpit = shard_nl_dump_dev,
	},
	{
		.cmd = SHARD_CMD_GET_STATUS,
		.doit = shard_nl_get_status,
	},
};

static struct genl_family shard_family __ro_after_init = {
	.name = SHARD_GENL_NAME,
	.version = SHARD_GENL_VERSION,
	.maxattr = SHARD_ATTR_MAX,
	.policy = shard_policy,
	.netnsok = true,
	.parallel_ops = true,
	.module = THIS_MODULE,
	.ops = shard_ops,
	.n_ops = ARRAY_SIZE(shard_ops),
	.mcgrps = shard_mcgrps,
	.n_mcgrps = ARRAY_SIZE(shard_mcgrps),
};

/* Tells listeners of the events group; dev is -1 when none applies. */
void shard_nl_event(u32 event, u32 daemon_id, int dev, u32 err)
{
	struct sk_buff *msg;
	void *hdr;

	msg = genlmsg_new(NLMSG_GOODSIZE, GFP_NOIO);
	if (!msg)
		return;
	hdr = genlmsg_put(msg, 0, 0, &shard_family, 0, SHARD_CMD_EVENT);
	if (!hdr || nla_put_u32(msg, SHARD_ATTR_EVENT, event) ||
	    nla_put_u32(msg, SHARD_ATTR_DAEMON_ID, daemon_id) ||
	    (dev >= 0 && nla_put_u32(msg, SHARD_ATTR_DEV_INDEX, dev)) ||
	    (err && nla_put_u32(msg, SHARD_ATTR_ERRNO, err))) {
		nlmsg_free(msg);
		return;
	}
	genlmsg_end(msg, hdr);
	/*
	 * The family is netnsok and the module's state is global: a map
	 * manager in a network namespace (a container, a test's simulated
	 * host) drives the same devices, so it hears the same events.
	 */
	genlmsg_multicast_allns(&shard_family, msg, 0, 0);
}

/* A closing socket takes its staged map with it. */
static int shard_nl_notify(struct notifier_block *nb, unsigned long event,
			   void *ptr)
{
	struct netlink_notify *n = ptr;

	if (event == NETLINK_URELEASE && n->protocol == NETLINK_GENERIC)
		shard_stage_release(n->net, n->portid);
	return NOTIFY_DONE;
}

static struct notifier_block shard_nl_notifier = {
	.notifier_call = shard_nl_notify,
};

int __init shard_nl_init(void)
{
	int ret;

	ret = netlink_register_notifier(&shard_nl_notifier);
	if (ret)
		return ret;
	ret = genl_register_family(&shard_family);
	if (ret)
		netlink_unregister_notifier(&shard_nl_notifier);
	return ret;
}

void shard_nl_exit(void)
{
	genl_unregister_family(&shard_family);
	netlink_unregister_notifier(&shard_nl_notifier);
	shard_stage_exit();
}

MODULE_ALIAS_GENL_FAMILY(SHARD_GENL_NAME);
