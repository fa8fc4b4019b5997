/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The client's shared state: the current map, the daemons and their
 * connections, the block devices, and the requests travelling between them.
 *
 * Locking: shard_client.ctl_mutex serialises control operations (map
 * changes, device add/remove/resize). shard_client.lock, a spinlock, guards
 * everything the data path touches: the map pointer, every part's state and
 * list membership, and every connection's state and queues. A part on no
 * list and in state SENDING or RECEIVING belongs to the thread moving its
 * payload; nobody else may complete it.
 */
#ifndef _SHARD_CLIENT_H
#define _SHARD_CLIENT_H

#include <linux/blk-mq.h>
#include <linux/list.h>
#include <linux/mutex.h>
#include <linux/spinlock.h>
#include <linux/wait.h>
#include <linux/workqueue.h>
#include <linux/xarray.h>

#include <net/genetlink.h>

#include "map.h"

struct shard_conn;
struct shard_dev;

enum shard_part_state {
	SHARD_PART_IDLE,	/* not dispatched, or done */
	SHARD_PART_HELD,	/* on shard_client.held or .stale: not routed */
	SHARD_PART_QUEUED,	/* on conn->sendq */
	SHARD_PART_SENDING,	/* on conn->inflight, being written out */
	SHARD_PART_INFLIGHT,	/* on conn->inflight, waiting for a reply */
	SHARD_PART_RECEIVING,	/* on no list, reply payload being read */
};

/* One object operation: a request is split into parts at object bounds. */
struct shard_part {
	struct list_head node;
	struct shard_cmd *cmd;
	struct shard_conn *conn;
	u64 object;
	u32 obj_off;
	u32 len;
	u32 rq_off;		/* where this part's data starts in the request */
	u32 daemon_id;		/* FLUSH: its target; others: routed by PG */
	u8 op;			/* enum shard_op */
	u8 state;		/* enum shard_part_state */
	u8 idx;
	u8 retries;		/* BADCRC answers */
	u8 stale_retries;	/* STALE answers resent at once */
	u8 sendgen;		/* bumped per send: older sends' replies miss */
	bool replied;		/* a reply came while we were still sending */
	u8 reply_status;
	u64 reply_epoch;
};

#define SHARD_INLINE_PARTS	2

/*
 * A daemon that answers STALE although our map is as new as its own gets
 * the part again at once this often, then every SHARD_STALE_DELAY.
 */
#define SHARD_STALE_FAST	3
#define SHARD_STALE_DELAY	(HZ / 10)

/* blk-mq per-request data. */
struct shard_cmd {
	struct shard_dev *dev;
	struct shard_part *parts;
	struct shard_part inline_parts[SHARD_INLINE_PARTS];
	unsigned long start;	/* jiffies at dispatch, for the dev timeout */
	blk_status_t status;
	u16 gen;		/* bumped per dispatch; stale replies mismatch */
	u8 nr_parts;
	u8 pending;
};

struct shard_client {
	struct mutex ctl_mutex;
	spinlock_t lock;
	struct shard_map *map;		/* under lock; replaced under both */
	struct xarray daemons;		/* id -> struct shard_daemon */
	struct xarray devs;		/* index -> struct shard_dev */
	struct list_head held;		/* parts waiting for a primary */
	struct list_head stale;		/* parts waiting for a newer map */
	struct work_struct redispatch_work;
	struct delayed_work stale_work;	/* resends stale parts, slowly */
	struct workqueue_struct *wq;	/* WQ_MEM_RECLAIM: send and redispatch */
};

extern struct shard_client shard_client;

int shard_client_init(void);
void shard_client_exit(void);
int shard_client_install_map(struct shard_map *map, struct net *net,
			     struct netlink_ext_ack *extack);
int shard_client_fill_status(struct sk_buff *msg, struct genl_info *info,
			     const struct genl_family *family);

/* Data path, all under shard_client.lock unless said otherwise. */
/*
 * True when that finished the part's request: the caller completes it
 * (shard_cmd_complete) once it has dropped the lock.
 */
bool shard_part_route(struct shard_dev *dev, struct shard_part *part,
		      unsigned int hint);
void shard_part_hold(struct shard_part *part);
bool shard_part_finish(struct shard_part *part, blk_status_t status);
bool shard_part_replied(struct shard_part *part, u32 status, u64 epoch);
bool shard_part_misrouted(const struct shard_map *map,
			  const struct shard_part *part, u32 daemon_id);
void shard_cmd_release_parts(struct shard_cmd *cmd);
void shard_cmd_complete(struct shard_cmd *cmd);
void shard_kick_redispatch(void);
void shard_kick_stale(void);

#endif /* _SHARD_CLIENT_H */
