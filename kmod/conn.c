// SPDX-License-Identifier: GPL-2.0
/*
 * Daemons and their TCP connections. Everything here runs in the I/O path
 * of the block device, so the kthread and the send work run with
 * memalloc_noio and the socket allocates with GFP_NOIO: reclaim must never
 * wait on the device we are trying to serve.
 */
#include <linux/crc32c.h>
#include <linux/kthread.h>
#include <linux/sched/mm.h>
#include <linux/slab.h>
#include <linux/tcp.h>
#include <net/sock.h>
#include <net/tcp.h>
#include <uapi/linux/shard.h>
#include <shard/proto.h>

#include "client.h"
#include "compat.h"
#include "conn.h"
#include "io.h"
#include "netlink.h"

static unsigned int conns_per_daemon = 2;
module_param(conns_per_daemon, uint, 0444);
MODULE_PARM_DESC(conns_per_daemon, "TCP connections to each daemon (1-16)");

#define SHARD_BACKOFF_MIN	(HZ / 10)
#define SHARD_BACKOFF_MAX	(5 * HZ)
#define SHARD_CONNECT_TIMEOUT	(3 * HZ)
#define SHARD_IO_TIMEOUT	(10 * HZ)
#define SHARD_KEEPALIVE_IDLE	5	/* seconds */
#define SHARD_KEEPALIVE_INTVL	2
#define SHARD_KEEPALIVE_CNT	3
/*
 * Unacknowledged data (or a window that stays shut) for this long means a
 * dead peer. Generous: a live daemon stops reading while its disk is busy.
 */
#define SHARD_USER_TIMEOUT_MS	30000
/* A reply stalled mid-way this many socket timeouts kills the link. */
#define SHARD_STALL_LIMIT	3

static int shard_conn_xfer(struct shard_conn *conn, struct msghdr *msg,
			   bool send, bool idle_ok)
{
	size_t done = 0, total = msg_data_left(msg);
	int stalls = 0;
	int ret;

	while (msg_data_left(msg)) {
		if (send)
			ret = sock_sendmsg(conn->sock, msg);
		else
			ret = sock_recvmsg(conn->sock, msg, msg->msg_flags);
		if (ret == -EAGAIN || ret == -EINTR) {
			if (READ_ONCE(conn->stopping) ||
			    (!send && kthread_should_stop()))
				return -ESHUTDOWN;
			/*
			 * Idle between replies, or a full send buffer (the
			 * daemon's backpressure): keepalive and the user
			 * timeout tell a dead peer from a busy one.
			 */
			if (send || (idle_ok && !done))
				continue;
			if (++stalls >= SHARD_STALL_LIMIT)
				return -ETIMEDOUT;
			continue;
		}
		if (ret < 0)
			return ret;
		if (ret == 0)
			return -ECONNRESET;
		done += ret;
		stalls = 0;
	}
	return done == total ? 0 : -EIO;
}

int shard_conn_send_kvec(struct shard_conn *conn, void *buf, size_t len,
			 bool more)
{
	struct kvec kv = { .iov_base = buf, .iov_len = len };
	struct msghdr msg = { .msg_flags = MSG_NOSIGNAL | (more ? MSG_MORE : 0) };

	iov_iter_kvec(&msg.msg_iter, ITER_SOURCE, &kv, 1, len);
	return shard_conn_xfer(conn, &msg, true, false);
}

int shard_conn_send_iter(struct shard_conn *conn, struct iov_iter *iter,
			 bool more)
{
	struct msghdr msg = { .msg_flags = MSG_NOSIGNAL | (more ? MSG_MORE : 0) };

	msg.msg_iter = *iter;
	return shard_conn_xfer(conn, &msg, true, false);
}

int shard_conn_recv_iter(struct shard_conn *conn, struct iov_iter *iter)
{
	struct msghdr msg = { .msg_flags = MSG_NOSIGNAL | MSG_WAITALL };

	msg.msg_iter = *iter;
	return shard_conn_xfer(conn, &msg, false, false);
}

static int shard_conn_recv_kvec(struct shard_conn *conn, void *buf,
				size_t len, bool idle_ok)
{
	struct kvec kv = { .iov_base = buf, .iov_len = len };
	struct msghdr msg = { .msg_flags = MSG_NOSIGNAL | MSG_WAITALL };

	iov_iter_kvec(&msg.msg_iter, ITER_DEST, &kv, 1, len);
	return shard_conn_xfer(conn, &msg, false, idle_ok);
}

/* Reads and drops a payload nobody is waiting for any more. */
int shard_conn_drain(struct shard_conn *conn, size_t len)
{
	int ret;

	while (len) {
		size_t n = min_t(size_t, len, PAGE_SIZE);

		ret = shard_conn_recv_kvec(conn, conn->scratch, n, false);
		if (ret)
			return ret;
		len -= n;
	}
	return 0;
}

static void shard_conn_send_work(struct work_struct *work)
{
	struct shard_conn *conn = container_of(work, struct shard_conn,
					       send_work);
	unsigned int noio = memalloc_noio_save();
	struct shard_part *part, *parts;
	struct shard_cmd *cmd;
	bool done;
	u64 epoch;
	u16 gen;
	int ret;

	for (;;) {
		spin_lock(&shard_client.lock);
		if (conn->state != SHARD_CONN_UP || list_empty(&conn->sendq)) {
			spin_unlock(&shard_client.lock);
			break;
		}
		part = list_first_entry(&conn->sendq, struct shard_part, node);
		list_move_tail(&part->node, &conn->inflight);
		part->state = SHARD_PART_SENDING;
		part->replied = false;
		cmd = part->cmd;
		parts = cmd->parts;
		gen = cmd->gen;
		epoch = shard_client.map ? shard_client.map->epoch : 0;
		spin_unlock(&shard_client.lock);

		ret = shard_io_send_part(conn, part, epoch,
					 !list_empty_careful(&conn->sendq));

		/*
		 * The cmd is blk-mq's and outlives us; a flush's parts array
		 * may have been freed, so look at the part only if it is
		 * still the one we sent.
		 */
		done = false;
		spin_lock(&shard_client.lock);
		if (cmd->gen == gen && cmd->parts == parts &&
		    part->conn == conn && part->state == SHARD_PART_SENDING) {
			part->state = SHARD_PART_INFLIGHT;
			if (part->replied)
				done = shard_part_replied(part,
							  part->reply_status,
							  part->reply_epoch);
		}
		spin_unlock(&shard_client.lock);
		if (done)
			shard_cmd_complete(cmd);
		if (ret) {
			/* The kthread sees the dead socket and resends. */
			kernel_sock_shutdown(conn->sock, SHUT_RDWR);
			break;
		}
	}
	memalloc_noio_restore(noio);
}

void shard_conn_queue(struct shard_conn *conn, struct shard_part *part)
{
	lockdep_assert_held(&shard_client.lock);
	part->conn = conn;
	part->state = SHARD_PART_QUEUED;
	part->sendgen++;
	list_move_tail(&part->node, &conn->sendq);
	queue_work(shard_client.wq, &conn->send_work);
}

/*
 * Holds the parts on d's connections that map routes to another daemon:
 * queued ones, and sent ones still waiting for their reply. Parts in the
 * middle of a transfer stay with the thread moving their data.
 */
void shard_daemon_reroute(struct shard_daemon *d, const struct shard_map *map)
{
	struct shard_part *part, *tmp;
	unsigned int i;

	lockdep_assert_held(&shard_client.lock);
	for (i = 0; i < d->nr_conns; i++) {
		struct shard_conn *conn = &d->conns[i];

		list_for_each_entry_safe(part, tmp, &conn->sendq, node) {
			if (shard_part_misrouted(map, part, d->id))
				shard_part_hold(part);
		}
		list_for_each_entry_safe(part, tmp, &conn->inflight, node) {
			if (part->state == SHARD_PART_INFLIGHT &&
			    shard_part_misrouted(map, part, d->id))
				shard_part_hold(part);
		}
	}
}

struct shard_conn *shard_daemon_pick_conn(struct shard_daemon *d,
					  unsigned int hint)
{
	unsigned int i;

	lockdep_assert_held(&shard_client.lock);
	for (i = 0; i < d->nr_conns; i++) {
		struct shard_conn *conn = &d->conns[(hint + i) % d->nr_conns];

		if (conn->state == SHARD_CONN_UP)
			return conn;
	}
	return NULL;
}

unsigned int shard_daemon_conns_up(struct shard_daemon *d)
{
	unsigned int i, n = 0;

	lockdep_assert_held(&shard_client.lock);
	for (i = 0; i < d->nr_conns; i++)
		n += d->conns[i].state == SHARD_CONN_UP;
	return n;
}

static void shard_sock_setup(struct socket *sock)
{
	struct sock *sk = sock->sk;

	sk->sk_allocation = GFP_NOIO | __GFP_MEMALLOC;
	shard_compat_sk_no_task_frag(sk);
	sk_set_memalloc(sk);
	sk->sk_sndtimeo = SHARD_CONNECT_TIMEOUT;
	sk->sk_rcvtimeo = SHARD_IO_TIMEOUT;
	tcp_sock_set_nodelay(sk);
	/* A peer that vanishes without a FIN must not hold I/O forever. */
	sock_set_keepalive(sk);
	tcp_sock_set_keepidle(sk, SHARD_KEEPALIVE_IDLE);
	tcp_sock_set_keepintvl(sk, SHARD_KEEPALIVE_INTVL);
	tcp_sock_set_keepcnt(sk, SHARD_KEEPALIVE_CNT);
	tcp_sock_set_user_timeout(sk, SHARD_USER_TIMEOUT_MS);
}

static int shard_conn_hello(struct shard_conn *conn)
{
	struct shard_req req = {};
	struct shard_reply reply;
	struct shard_hello hello;
	u32 status, id;
	int ret;

	shard_io_req_init(&req, SHARD_OP_HELLO, 0);
	shard_io_req_seal(&req);
	ret = shard_conn_send_kvec(conn, &req, sizeof(req), false);
	if (ret)
		return ret;
	ret = shard_conn_recv_kvec(conn, &reply, sizeof(reply), false);
	if (ret)
		return ret;
	ret = shard_io_reply_check(&reply);
	if (ret)
		return ret;
	status = le32_to_cpu(reply.status);
	if (reply.opcode != SHARD_OP_HELLO || status != SHARD_S_OK ||
	    le32_to_cpu(reply.len) != sizeof(hello))
		return -EPROTO;
	ret = shard_conn_recv_kvec(conn, &hello, sizeof(hello), false);
	if (ret)
		return ret;
	if (le32_to_cpu(reply.data_crc) != ~crc32c(~0, &hello, sizeof(hello)))
		return -EBADMSG;
	id = le32_to_cpu(hello.daemon_id);
	/* Registered, but the daemon has not stored its new id yet. */
	if (!id)
		return -EAGAIN;
	if (id != conn->daemon->id) {
		pr_warn_ratelimited("daemon %u: the peer says it is daemon %u\n",
				    conn->daemon->id, id);
		return -ENXIO;
	}
	return 0;
}

static int shard_conn_connect(struct shard_conn *conn)
{
	struct shard_daemon *d = conn->daemon;
	struct socket *sock;
	int ret;

	ret = sock_create_kern(d->net, d->addr.ss_family, SOCK_STREAM,
			       IPPROTO_TCP, &sock);
	if (ret)
		return ret;
	shard_sock_setup(sock);

	mutex_lock(&conn->sock_mutex);
	if (conn->stopping) {
		mutex_unlock(&conn->sock_mutex);
		sock_release(sock);
		return -ESHUTDOWN;
	}
	conn->sock = sock;
	mutex_unlock(&conn->sock_mutex);

	ret = kernel_connect(sock, (struct sockaddr *)&d->addr,
			     d->addr.ss_family == AF_INET ?
			     sizeof(struct sockaddr_in) :
			     sizeof(struct sockaddr_in6), 0);
	if (!ret)
		ret = shard_conn_hello(conn);
	if (!ret)
		sock->sk->sk_sndtimeo = SHARD_IO_TIMEOUT;
	return ret;
}

static void shard_conn_release(struct shard_conn *conn)
{
	mutex_lock(&conn->sock_mutex);
	if (conn->sock) {
		sock_release(conn->sock);
		conn->sock = NULL;
	}
	mutex_unlock(&conn->sock_mutex);
}

static void shard_conn_up(struct shard_conn *conn)
{
	struct shard_daemon *d = conn->daemon;
	bool was_down;

	spin_lock(&shard_client.lock);
	conn->state = SHARD_CONN_UP;
	was_down = d->reported_down;
	d->reported_down = false;
	spin_unlock(&shard_client.lock);
	if (was_down)
		shard_nl_event(SHARD_EVENT_DAEMON_CONNECTED, d->id, -1, 0);
	shard_kick_redispatch();
}

/* Hands every part this connection owned back for resending. */
static void shard_conn_down(struct shard_conn *conn)
{
	struct shard_part *part, *tmp;

	spin_lock(&shard_client.lock);
	conn->state = SHARD_CONN_DOWN;
	spin_unlock(&shard_client.lock);

	kernel_sock_shutdown(conn->sock, SHUT_RDWR);
	cancel_work_sync(&conn->send_work);

	spin_lock(&shard_client.lock);
	list_for_each_entry_safe(part, tmp, &conn->inflight, node)
		shard_part_hold(part);
	list_for_each_entry_safe(part, tmp, &conn->sendq, node)
		shard_part_hold(part);
	spin_unlock(&shard_client.lock);
	shard_kick_redispatch();
}

static void shard_conn_unreachable(struct shard_conn *conn, int err)
{
	struct shard_daemon *d = conn->daemon;
	bool report;

	if (err == -EAGAIN)
		return;
	spin_lock(&shard_client.lock);
	report = !d->reported_down && !shard_daemon_conns_up(d);
	if (report)
		d->reported_down = true;
	spin_unlock(&shard_client.lock);
	if (report) {
		pr_warn("daemon %u unreachable: %d\n", d->id, err);
		shard_nl_event(SHARD_EVENT_DAEMON_UNREACHABLE, d->id, -1, -err);
	}
}

static int shard_conn_recv_loop(struct shard_conn *conn)
{
	struct shard_reply reply;
	int ret;

	for (;;) {
		ret = shard_conn_recv_kvec(conn, &reply, sizeof(reply), true);
		if (ret)
			return ret;
		ret = shard_io_reply_check(&reply);
		if (ret)
			return ret;
		ret = shard_io_reply(conn, &reply);
		if (ret)
			return ret;
	}
}

static int shard_conn_thread(void *arg)
{
	struct shard_conn *conn = arg;
	unsigned long backoff = SHARD_BACKOFF_MIN;
	unsigned int noio = memalloc_noio_save();
	int ret;

	while (!kthread_should_stop()) {
		ret = shard_conn_connect(conn);
		if (!ret) {
			backoff = SHARD_BACKOFF_MIN;
			shard_conn_up(conn);
			ret = shard_conn_recv_loop(conn);
			shard_conn_down(conn);
		}
		shard_conn_release(conn);
		if (kthread_should_stop())
			break;
		shard_conn_unreachable(conn, ret);
		wait_event_interruptible_timeout(conn->wait,
						 kthread_should_stop(), backoff);
		backoff = min(backoff * 2, (unsigned long)SHARD_BACKOFF_MAX);
	}
	memalloc_noio_restore(noio);
	return 0;
}

static void shard_conn_stop(struct shard_conn *conn)
{
	if (!conn->thread)
		return;
	mutex_lock(&conn->sock_mutex);
	conn->stopping = true;
	if (conn->sock)
		kernel_sock_shutdown(conn->sock, SHUT_RDWR);
	mutex_unlock(&conn->sock_mutex);
	kthread_stop(conn->thread);
	conn->thread = NULL;
}

struct shard_daemon *shard_daemon_create(struct net *net, u32 id,
					 const struct sockaddr_storage *addr)
{
	unsigned int n = clamp(conns_per_daemon, 1U, 16U);
	struct shard_daemon *d;
	unsigned int i;

	d = kzalloc(struct_size(d, conns, n), GFP_KERNEL);
	if (!d)
		return NULL;
	d->id = id;
	d->addr = *addr;
	d->net = get_net(net);
	d->nr_conns = n;
	for (i = 0; i < n; i++) {
		struct shard_conn *conn = &d->conns[i];

		conn->daemon = d;
		conn->idx = i;
		INIT_LIST_HEAD(&conn->sendq);
		INIT_LIST_HEAD(&conn->inflight);
		INIT_WORK(&conn->send_work, shard_conn_send_work);
		mutex_init(&conn->sock_mutex);
		init_waitqueue_head(&conn->wait);
		conn->scratch = kmalloc(PAGE_SIZE, GFP_KERNEL);
		if (!conn->scratch)
			goto err;
	}
	for (i = 0; i < n; i++) {
		struct task_struct *t;

		t = kthread_run(shard_conn_thread, &d->conns[i], "shard-d%u.%u",
				id, i);
		if (IS_ERR(t))
			goto err;
		d->conns[i].thread = t;
	}
	return d;
err:
	shard_daemon_destroy(d);
	return NULL;
}

/* The daemon must already be unreachable from the map and xarray. */
void shard_daemon_destroy(struct shard_daemon *d)
{
	unsigned int i;

	for (i = 0; i < d->nr_conns; i++)
		shard_conn_stop(&d->conns[i]);
	for (i = 0; i < d->nr_conns; i++)
		kfree(d->conns[i].scratch);
	put_net(d->net);
	kfree(d);
}
