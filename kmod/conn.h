/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _SHARD_CONN_H
#define _SHARD_CONN_H

#include <linux/list.h>
#include <linux/mutex.h>
#include <linux/net.h>
#include <linux/socket.h>
#include <linux/uio.h>
#include <linux/wait.h>
#include <linux/workqueue.h>

struct shard_daemon;
struct shard_map;
struct shard_part;

enum shard_conn_state {
	SHARD_CONN_DOWN,
	SHARD_CONN_UP,
};

/*
 * One TCP connection to a daemon. Its kthread connects, says HELLO, reads
 * replies until the connection fails, hands every unanswered part back for
 * resending, and reconnects with backoff. Sending runs in send_work.
 */
struct shard_conn {
	struct shard_daemon *daemon;
	unsigned int idx;
	int state;			/* under shard_client.lock */
	struct list_head sendq;		/* under shard_client.lock */
	struct list_head inflight;	/* under shard_client.lock */
	struct work_struct send_work;
	struct mutex sock_mutex;	/* sock and stopping */
	struct socket *sock;
	bool stopping;
	struct task_struct *thread;
	wait_queue_head_t wait;
	void *scratch;			/* sink for payloads nobody wants */
};

struct shard_daemon {
	u32 id;
	struct sockaddr_storage addr;
	struct net *net;
	bool reported_down;		/* one event per outage */
	unsigned int nr_conns;
	struct shard_conn conns[];
};

struct shard_daemon *shard_daemon_create(struct net *net, u32 id,
					 const struct sockaddr_storage *addr);
void shard_daemon_destroy(struct shard_daemon *d);
struct shard_conn *shard_daemon_pick_conn(struct shard_daemon *d,
					  unsigned int hint);
unsigned int shard_daemon_conns_up(struct shard_daemon *d);
void shard_conn_queue(struct shard_conn *conn, struct shard_part *part);
void shard_daemon_reroute(struct shard_daemon *d, const struct shard_map *map);
int shard_conn_recv_iter(struct shard_conn *conn, struct iov_iter *iter);

#endif /* _SHARD_CONN_H */
