// SPDX-License-Identifier: GPL-2.0
/*
 * The client's shared state and the installation of new maps: daemons
 * that appear get connections, daemons that leave or move have theirs torn
 * down, and every part they held, or that waits on a daemon that is no
 * longer its primary, is routed again with the new map.
 */
#include <linux/slab.h>
#include <uapi/linux/shard.h>

#include "client.h"
#include "conn.h"
#include "dev.h"

struct shard_client shard_client;

static void shard_redispatch_work(struct work_struct *work)
{
	struct shard_part *part, *tmp;
	LIST_HEAD(list);
	LIST_HEAD(done);

	spin_lock(&shard_client.lock);
	list_splice_init(&shard_client.held, &list);
	list_for_each_entry_safe(part, tmp, &list, node)
		if (shard_part_route(part->cmd->dev, part, part->idx))
			list_add_tail(&part->node, &done);
	spin_unlock(&shard_client.lock);
	/* Completion may start new I/O: never under the lock. */
	list_for_each_entry_safe(part, tmp, &done, node) {
		list_del_init(&part->node);
		shard_cmd_complete(part->cmd);
	}
}

void shard_kick_redispatch(void)
{
	queue_work(shard_client.wq, &shard_client.redispatch_work);
}

static void shard_stale_work(struct work_struct *work)
{
	spin_lock(&shard_client.lock);
	list_splice_tail_init(&shard_client.stale, &shard_client.held);
	spin_unlock(&shard_client.lock);
	shard_redispatch_work(NULL);
}

/* Parts on shard_client.stale are tried again a little later. */
void shard_kick_stale(void)
{
	queue_delayed_work(shard_client.wq, &shard_client.stale_work,
			   SHARD_STALE_DELAY);
}

static bool shard_daemon_same(const struct shard_daemon *d,
			      const struct shard_map_daemon *md,
			      const struct net *net)
{
	return net_eq(d->net, net) &&
	       !memcmp(&d->addr, &md->addr, sizeof(md->addr));
}

int shard_client_install_map(struct shard_map *map, struct net *net,
			     struct netlink_ext_ack *extack)
{
	struct shard_map *old = shard_client.map;
	struct shard_daemon **gone, *d;
	unsigned int nr_gone = 0, nr_old = 0, i;
	unsigned long id;

	lockdep_assert_held(&shard_client.ctl_mutex);
	if (old && map->epoch <= old->epoch) {
		bool same = map->epoch == old->epoch;

		shard_map_free(map);
		if (same)
			return 0;
		NL_SET_ERR_MSG(extack, "map epoch is older than the current one");
		return -ESTALE;
	}

	xa_for_each(&shard_client.daemons, id, d)
		nr_old++;
	gone = kcalloc(nr_old + 1, sizeof(*gone), GFP_KERNEL);
	if (!gone) {
		shard_map_free(map);
		return -ENOMEM;
	}

	/* Daemons that left the map, or moved, lose their connections. */
	xa_for_each(&shard_client.daemons, id, d) {
		const struct shard_map_daemon *md = shard_map_daemon(map, id);

		if (!md || !shard_daemon_same(d, md, net)) {
			xa_erase(&shard_client.daemons, id);
			gone[nr_gone++] = d;
		}
	}
	for (i = 0; i < map->nr_daemons; i++) {
		const struct shard_map_daemon *md = &map->daemons[i];

		if (xa_load(&shard_client.daemons, md->id))
			continue;
		d = shard_daemon_create(net, md->id, &md->addr);
		if (!d || xa_is_err(xa_store(&shard_client.daemons, md->id, d,
					     GFP_KERNEL))) {
			/* Its PGs wait for the next map, as for a dead one. */
			pr_err("cannot set up daemon %u\n", md->id);
			if (d)
				shard_daemon_destroy(d);
		}
	}

	/*
	 * Also a barrier: nobody still routes to a daemon in gone[]. Parts
	 * queued or waiting for a reply on a daemon that is no longer their
	 * primary go to the new one; a reply from the old one will find
	 * them moved on (shard_io_find). Parts being sent or received
	 * finish where they are: the daemon answers STALE if it must.
	 */
	spin_lock(&shard_client.lock);
	shard_client.map = map;
	list_splice_tail_init(&shard_client.stale, &shard_client.held);
	xa_for_each(&shard_client.daemons, id, d)
		shard_daemon_reroute(d, map);
	spin_unlock(&shard_client.lock);

	for (i = 0; i < nr_gone; i++)
		shard_daemon_destroy(gone[i]);
	kfree(gone);
	shard_map_free(old);
	shard_kick_redispatch();
	return 0;
}

static int shard_client_fill_daemon(struct sk_buff *msg,
				    const struct shard_map_daemon *md)
{
	const struct sockaddr_in *sin = (const void *)&md->addr;
	const struct sockaddr_in6 *sin6 = (const void *)&md->addr;
	struct shard_daemon *d;
	unsigned int up = 0;
	struct nlattr *nest;
	int ret;

	spin_lock(&shard_client.lock);
	d = xa_load(&shard_client.daemons, md->id);
	if (d)
		up = shard_daemon_conns_up(d);
	spin_unlock(&shard_client.lock);

	nest = nla_nest_start(msg, SHARD_ATTR_DAEMON);
	if (!nest)
		return -EMSGSIZE;
	if (md->addr.ss_family == AF_INET)
		ret = nla_put(msg, SHARD_DAEMON_ATTR_ADDR,
			      sizeof(sin->sin_addr), &sin->sin_addr) ||
		      nla_put_u16(msg, SHARD_DAEMON_ATTR_PORT,
				  ntohs(sin->sin_port));
	else
		ret = nla_put(msg, SHARD_DAEMON_ATTR_ADDR,
			      sizeof(sin6->sin6_addr), &sin6->sin6_addr) ||
		      nla_put_u16(msg, SHARD_DAEMON_ATTR_PORT,
				  ntohs(sin6->sin6_port));
	if (ret || nla_put_u32(msg, SHARD_DAEMON_ATTR_ID, md->id) ||
	    nla_put_u32(msg, SHARD_DAEMON_ATTR_FLAGS, md->flags) ||
	    nla_put_u32(msg, SHARD_DAEMON_ATTR_CONNECTED, up)) {
		nla_nest_cancel(msg, nest);
		return -EMSGSIZE;
	}
	nla_nest_end(msg, nest);
	return 0;
}

int shard_client_fill_status(struct sk_buff *msg, struct genl_info *info,
			     const struct genl_family *family)
{
	struct shard_map *map = shard_client.map;
	struct nlattr *nest;
	void *hdr;
	u32 i;

	lockdep_assert_held(&shard_client.ctl_mutex);
	hdr = genlmsg_put_reply(msg, info, family, 0, SHARD_CMD_GET_STATUS);
	if (!hdr)
		return -EMSGSIZE;
	if (nla_put_u64_64bit(msg, SHARD_ATTR_EPOCH, map ? map->epoch : 0,
			      SHARD_ATTR_PAD))
		goto cancel;
	nest = nla_nest_start(msg, SHARD_ATTR_DAEMONS);
	if (!nest)
		goto cancel;
	for (i = 0; map && i < map->nr_daemons; i++) {
		if (shard_client_fill_daemon(msg, &map->daemons[i]))
			goto cancel;
	}
	nla_nest_end(msg, nest);
	genlmsg_end(msg, hdr);
	return 0;
cancel:
	genlmsg_cancel(msg, hdr);
	return -EMSGSIZE;
}

int shard_client_init(void)
{
	mutex_init(&shard_client.ctl_mutex);
	spin_lock_init(&shard_client.lock);
	xa_init(&shard_client.daemons);
	xa_init_flags(&shard_client.devs, XA_FLAGS_ALLOC);
	INIT_LIST_HEAD(&shard_client.held);
	INIT_LIST_HEAD(&shard_client.stale);
	INIT_WORK(&shard_client.redispatch_work, shard_redispatch_work);
	INIT_DELAYED_WORK(&shard_client.stale_work, shard_stale_work);
	shard_client.wq = alloc_workqueue("shard", WQ_MEM_RECLAIM | WQ_HIGHPRI |
					  WQ_UNBOUND, 0);
	return shard_client.wq ? 0 : -ENOMEM;
}

/* Runs after the netlink family is gone: nothing adds work any more. */
void shard_client_exit(void)
{
	struct shard_daemon *d;
	struct shard_dev *dev;
	unsigned long id;

	mutex_lock(&shard_client.ctl_mutex);
	xa_for_each(&shard_client.devs, id, dev)
		shard_dev_remove(dev, true);
	xa_for_each(&shard_client.daemons, id, d) {
		xa_erase(&shard_client.daemons, id);
		shard_daemon_destroy(d);
	}
	shard_map_free(shard_client.map);
	shard_client.map = NULL;
	mutex_unlock(&shard_client.ctl_mutex);
	/* No connection is left to answer STALE and re-arm it. */
	cancel_delayed_work_sync(&shard_client.stale_work);
	destroy_workqueue(shard_client.wq);
	xa_destroy(&shard_client.devs);
	xa_destroy(&shard_client.daemons);
}
