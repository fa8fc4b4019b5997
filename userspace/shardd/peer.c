// SPDX-License-Identifier: GPL-2.0-only
/*
 * Connections to peer daemons (peer.h).
 *
 * A peer keeps its messages in one list in queue order. Those before
 * p->next_send have been sent on the current connection (or answered
 * and removed); a reply names its message by tag. When the connection
 * fails, every message left is unsent again and the whole list goes out
 * on the next connection, PEER_HELLO first.
 *
 * A member that refuses a request (STALE: one of us is behind on the
 * map; BADCRC: damaged on the way) refuses everything after it on that
 * connection too (replica.c), so the connection is dropped and all that
 * is not answered goes again, in order: stamped with our epoch at that
 * time, and once our map is at least as new as the member's.
 *
 * Lifetime: a peer stays for the life of the daemon (the set of daemons
 * is small); its socket comes and goes. A message in the SENDMSG in
 * flight cannot be released before that completes, so cancelling it
 * only marks it.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <endian.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "crc.h"
#include "log.h"
#include "loop.h"
#include "map.h"
#include "peer.h"
#include "session.h"
#include "store.h"

#define BACKOFF_MIN_MS	50U
#define BACKOFF_MAX_MS	2000U
#define TX_BATCH	16
/* Replies carry no payload but the HELLO reply's. */
#define RXBUF_SIZE	(SHARD_HDR_SIZE * 64)

enum peer_state { PEER_IDLE, PEER_CONNECTING, PEER_UP, PEER_BACKOFF };

struct shard_peer {
	struct shardd *d;
	struct shard_peer *next;	/* d->peers */
	uint32_t id;
	enum peer_state state;
	int fd;
	uint64_t next_tag;
	uint64_t hold_epoch;		/* reconnect once our map is this new */
	unsigned int backoff_ms;
	bool logged_down;

	struct shard_peer_msg *head, *tail;
	struct shard_peer_msg *next_send;
	unsigned int inflight;		/* sent, not answered */
	struct shard_peer_msg hello;
	struct shard_peer_hello hello_body;

	struct sockaddr_storage sa;
	socklen_t salen;
	struct shard_ev conn_ev;
	struct shard_ev timer_ev;
	struct __kernel_timespec ts;

	struct shard_ev send_ev;
	bool send_armed;
	struct msghdr msg;
	struct iovec iov[2 * TX_BATCH];

	struct shard_ev recv_ev;
	bool recv_armed;
	unsigned char rxbuf[RXBUF_SIZE];
	size_t rxlen;
	/* A reply whose payload is still arriving, into its message's
	 * rbuf: its header, and how much has come. */
	struct shard_peer_msg *rx_msg;
	struct shard_reply_h rx_hdr;
	uint32_t rx_got;
	/* Events in flight: the socket is closed when none is left. */
	unsigned int busy;
};

static void peer_kick(struct shard_peer *p);

/* Payload bytes: REP_ZERO's len is a range, not a payload. */
static uint32_t payload_len(const struct shard_peer_msg *m)
{
	return shard_op_has_req_payload(m->h.opcode) ? m->h.len : 0;
}

/* The header, with the rep ext after it when the opcode has one. */
static size_t head_len(const struct shard_peer_msg *m)
{
	return SHARD_HDR_SIZE + (shard_op_has_rep_ext(m->h.opcode) ?
				 sizeof(struct shard_rep_ext) : 0);
}

/* Header and payload: what sending m takes. */
static size_t msg_bytes(const struct shard_peer_msg *m)
{
	return head_len(m) + payload_len(m);
}

static void unlink_msg(struct shard_peer *p, struct shard_peer_msg *m)
{
	if (p->next_send == m)
		p->next_send = m->next;
	if (m->prev)
		m->prev->next = m->next;
	else
		p->head = m->next;
	if (m->next)
		m->next->prev = m->prev;
	else
		p->tail = m->prev;
	m->prev = m->next = NULL;
	m->queued = false;
}

/* Removes m and tells its owner; the hello is the peer's own. */
static void finish_msg(struct shard_peer *p, struct shard_peer_msg *m,
		       int status, uint64_t epoch)
{
	unlink_msg(p, m);
	if (m != &p->hello)
		m->done(m, status, epoch);
}

static void push_front(struct shard_peer *p, struct shard_peer_msg *m)
{
	m->prev = NULL;
	m->next = p->head;
	if (p->head)
		p->head->prev = m;
	else
		p->tail = m;
	p->head = m;
	m->queued = true;
}

static void push_back(struct shard_peer *p, struct shard_peer_msg *m)
{
	m->next = NULL;
	m->prev = p->tail;
	if (p->tail)
		p->tail->next = m;
	else
		p->head = m;
	p->tail = m;
	m->queued = true;
}

static void set_ts(struct __kernel_timespec *ts, unsigned int ms)
{
	ts->tv_sec = ms / 1000;
	ts->tv_nsec = (long long)(ms % 1000) * 1000000;
}

static void submit(struct shard_peer *p, struct io_uring_sqe *sqe,
		   struct shard_ev *ev)
{
	shard_sqe_set_ev(sqe, ev);
	p->busy++;
}

/* Closes a failed connection once no submission refers to it. */
static void peer_reap(struct shard_peer *p)
{
	if (p->fd < 0 || p->state == PEER_UP || p->state == PEER_CONNECTING ||
	    p->busy)
		return;
	close(p->fd);
	p->fd = -1;
	if (p->state == PEER_IDLE)
		peer_kick(p);
}

static void peer_fail(struct shard_peer *p, const char *why)
{
	struct shard_peer_msg *m, *next;
	struct io_uring_sqe *sqe;

	if (p->state != PEER_UP && p->state != PEER_CONNECTING)
		return;
	if (!p->logged_down)
		pr_warn_ratelimited("peer daemon %u: %s; reconnecting", p->id,
				    why);
	p->logged_down = true;
	if (p->fd >= 0)
		shutdown(p->fd, SHUT_RDWR);
	p->state = PEER_BACKOFF;
	p->rxlen = 0;
	p->rx_msg = NULL;
	p->inflight = 0;
	/* Everything not answered goes again, from the start. */
	for (m = p->head; m; m = next) {
		next = m->next;
		m->off = 0;
		if (m == &p->hello)
			unlink_msg(p, m);
		else if (m->cancelled && !m->in_send)
			finish_msg(p, m, -ECANCELED, 0);
	}
	p->next_send = p->head;
	p->backoff_ms = p->backoff_ms ? p->backoff_ms * 2 : BACKOFF_MIN_MS;
	if (p->backoff_ms > BACKOFF_MAX_MS)
		p->backoff_ms = BACKOFF_MAX_MS;
	set_ts(&p->ts, p->backoff_ms);
	sqe = shard_get_sqe(p->d);
	io_uring_prep_timeout(sqe, &p->ts, 0, 0);
	submit(p, sqe, &p->timer_ev);
	peer_reap(p);
}

static void arm_recv(struct shard_peer *p)
{
	struct io_uring_sqe *sqe = shard_get_sqe(p->d);

	if (p->rx_msg)
		io_uring_prep_recv(sqe, p->fd, p->rx_msg->rbuf + p->rx_got,
				   p->rx_hdr.len - p->rx_got, 0);
	else
		io_uring_prep_recv(sqe, p->fd, p->rxbuf + p->rxlen,
				   RXBUF_SIZE - p->rxlen, 0);
	submit(p, sqe, &p->recv_ev);
	p->recv_armed = true;
}

static void arm_send(struct shard_peer *p)
{
	struct io_uring_sqe *sqe;
	struct shard_peer_msg *m;
	unsigned int n = 0, i = 0;

	for (m = p->next_send; m && i < TX_BATCH &&
	     p->inflight + i < SHARD_PEER_MAX_INFLIGHT; m = m->next, i++) {
		size_t skip = m->off;

		/* The queue's order is the order of changes: wait. */
		if (m->wait_payload)
			break;
		if (!skip) {
			m->h.tag = ++p->next_tag;
			m->h.epoch = p->d->epoch;
			shard_req_encode(m->hdr, &m->h);
			if (shard_op_has_rep_ext(m->h.opcode))
				shard_rep_ext_encode(m->hdr + SHARD_HDR_SIZE,
						     m->ver.epoch, m->ver.seq,
						     m->rep_flags);
		}
		if (skip < head_len(m)) {
			p->iov[n].iov_base = m->hdr + skip;
			p->iov[n].iov_len = head_len(m) - skip;
			n++;
			skip = 0;
		} else {
			skip -= head_len(m);
		}
		if (payload_len(m) > skip) {
			p->iov[n].iov_base = (void *)(m->payload + skip);
			p->iov[n].iov_len = payload_len(m) - skip;
			n++;
		}
		m->in_send = true;
	}
	if (!n)
		return;
	memset(&p->msg, 0, sizeof(p->msg));
	p->msg.msg_iov = p->iov;
	p->msg.msg_iovlen = n;
	sqe = shard_get_sqe(p->d);
	io_uring_prep_sendmsg(sqe, p->fd, &p->msg, MSG_NOSIGNAL);
	submit(p, sqe, &p->send_ev);
	p->send_armed = true;
}

static void on_send(struct shard_ev *ev, int res)
{
	struct shard_peer *p = container_of(ev, struct shard_peer, send_ev);
	size_t done = res > 0 ? (size_t)res : 0;
	struct shard_peer_msg *m, *next;

	p->busy--;
	p->send_armed = false;
	/* Walk what this SENDMSG carried, in order: advance, release the
	 * cancelled. After a failure they may be anywhere in the list. */
	for (m = p->head; m; m = next) {
		size_t left = msg_bytes(m) - m->off;

		next = m->next;
		if (!m->in_send)
			continue;
		m->in_send = false;
		if (p->state == PEER_UP && done) {
			size_t n = done < left ? done : left;

			m->off += n;
			done -= n;
			if (m->off == msg_bytes(m)) {
				p->next_send = next;
				p->inflight++;
			}
		}
		/* One sent whole waits for its reply: the tag stays known. */
		if (m->cancelled && !m->off)
			finish_msg(p, m, -ECANCELED, 0);
	}
	if (p->state != PEER_UP) {
		peer_reap(p);
		return;
	}
	if (res < 0 && res != -EINTR && res != -EAGAIN) {
		peer_fail(p, strerror(-res));
		return;
	}
	peer_kick(p);
}

static struct shard_peer_msg *find_tag(struct shard_peer *p, uint64_t tag)
{
	struct shard_peer_msg *m;

	for (m = p->head; m && m != p->next_send; m = m->next)
		if (m->h.tag == tag)
			return m;
	return NULL;
}

/* 0, or -EBADMSG after the connection was failed. */
static int take_reply(struct shard_peer *p, const struct shard_reply_h *rh,
		      const unsigned char *payload)
{
	struct shard_peer_msg *m = find_tag(p, rh->tag);
	struct shard_hello hello;

	if (!m || m->h.opcode != rh->opcode) {
		peer_fail(p, "reply to no request of ours");
		return -EBADMSG;
	}
	if (m == &p->hello) {
		memcpy(&hello, payload, sizeof(hello));
		if (rh->status != SHARD_S_OK || le32toh(hello.daemon_id) != p->id) {
			peer_fail(p, "PEER_HELLO refused or answered by another daemon");
			return -EBADMSG;
		}
		if (p->logged_down)
			pr_info("peer daemon %u: connected", p->id);
		p->logged_down = false;
	} else if (rh->status == SHARD_S_STALE ||
		   rh->status == SHARD_S_BADCRC) {
		if (rh->epoch > p->d->epoch) {
			if (rh->epoch > p->hold_epoch)
				p->hold_epoch = rh->epoch;
			shard_session_map_hint(p->d, rh->epoch);
		}
		pr_debug("peer daemon %u: %s to %s at epoch %" PRIu64
			 " (its epoch %" PRIu64 "): sending again", p->id,
			 shard_status_name(rh->status),
			 shard_op_name(m->h.opcode), m->h.epoch, rh->epoch);
		p->inflight--;
		if (m->cancelled)
			finish_msg(p, m, -ECANCELED, 0);
		peer_fail(p, "a request was refused");
		return -EBADMSG;
	} else if (rh->status == SHARD_S_OK) {
		p->backoff_ms = 0;
	}
	p->inflight--;
	if (m->cancelled)
		finish_msg(p, m, -ECANCELED, 0);
	else
		finish_msg(p, m, (int)rh->status, rh->epoch);
	return 0;
}

/*
 * A reply's payload is complete in m->rbuf: 0, or -EBADMSG
 * after the connection was failed.
 */
static int took_read_payload(struct shard_peer *p)
{
	struct shard_peer_msg *m = p->rx_msg;

	p->rx_msg = NULL;
	if (shard_crc32c(m->rbuf, p->rx_hdr.len) != p->rx_hdr.data_crc) {
		peer_fail(p, "reply payload crc mismatch");
		return -EBADMSG;
	}
	return take_reply(p, &p->rx_hdr, NULL);
}

/* The payload a reply to m must carry. */
static uint32_t reply_payload(const struct shard_peer_msg *m,
			      const struct shard_reply_h *rh)
{
	if (rh->status != SHARD_S_OK)
		return 0;
	switch (rh->opcode) {
	case SHARD_OP_PEER_HELLO:
		return sizeof(struct shard_hello);
	case SHARD_OP_REP_READ:
		return m->h.len;
	case SHARD_OP_REP_DIGEST:
		return sizeof(struct shard_digest);
	case SHARD_OP_REP_LIST:
		/* Up to what was asked, in whole entries. */
		return rh->len <= m->h.len &&
		       !(rh->len % sizeof(struct shard_list_entry)) ?
		       rh->len : m->h.len + 1;
	default:
		return 0;
	}
}

static void on_recv(struct shard_ev *ev, int res)
{
	struct shard_peer *p = container_of(ev, struct shard_peer, recv_ev);
	struct shard_peer_msg *m;
	struct shard_reply_h rh;
	const char *why;
	size_t at = 0, need, n;

	p->busy--;
	p->recv_armed = false;
	if (p->state != PEER_UP) {
		peer_reap(p);
		return;
	}
	if (res == -EINTR || res == -EAGAIN) {
		arm_recv(p);
		return;
	}
	if (res <= 0) {
		peer_fail(p, res ? strerror(-res) : "connection closed");
		return;
	}
	if (p->rx_msg) {
		p->rx_got += (uint32_t)res;
		if (p->rx_got == p->rx_hdr.len && took_read_payload(p))
			return;
	} else {
		p->rxlen += (size_t)res;
	}
	while (!p->rx_msg && p->rxlen - at >= SHARD_HDR_SIZE) {
		if (shard_reply_decode(p->rxbuf + at, &rh, &why)) {
			peer_fail(p, why);
			return;
		}
		m = find_tag(p, rh.tag);
		if (!m || m->h.opcode != rh.opcode) {
			peer_fail(p, "reply to no request of ours");
			return;
		}
		need = reply_payload(m, &rh);
		if (rh.len != need) {
			peer_fail(p, "reply with an unexpected payload");
			return;
		}
		if (m->rbuf)
			m->rlen = need;
		if (m->rbuf && need) {
			/* Into the message's buffer: what is here, then the
			 * rest straight from the socket. */
			n = p->rxlen - at - SHARD_HDR_SIZE;
			if (n > need)
				n = need;
			memcpy(m->rbuf, p->rxbuf + at + SHARD_HDR_SIZE, n);
			at += SHARD_HDR_SIZE + n;
			p->rx_msg = m;
			p->rx_hdr = rh;
			p->rx_got = (uint32_t)n;
			if (n == need && took_read_payload(p))
				return;
			continue;
		}
		if (p->rxlen - at < SHARD_HDR_SIZE + need)
			break;
		if (need && shard_crc32c(p->rxbuf + at + SHARD_HDR_SIZE,
					 need) != rh.data_crc) {
			peer_fail(p, "reply payload crc mismatch");
			return;
		}
		if (take_reply(p, &rh, p->rxbuf + at + SHARD_HDR_SIZE))
			return;
		at += SHARD_HDR_SIZE + need;
	}
	memmove(p->rxbuf, p->rxbuf + at, p->rxlen - at);
	p->rxlen -= at;
	arm_recv(p);
	peer_kick(p);
}

static void on_connect(struct shard_ev *ev, int res)
{
	struct shard_peer *p = container_of(ev, struct shard_peer, conn_ev);

	p->busy--;
	if (p->state != PEER_CONNECTING) {
		peer_reap(p);
		return;
	}
	if (res < 0) {
		peer_fail(p, strerror(-res));
		return;
	}
	p->state = PEER_UP;
	p->next_send = p->head;
	arm_recv(p);
	peer_kick(p);
}

static int resolve(struct shard_peer *p)
{
	const struct shard_map_daemon *md;
	struct sockaddr_in *sin = (struct sockaddr_in *)&p->sa;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&p->sa;

	md = p->d->map ? shard_map_daemon(p->d->map, p->id) : NULL;
	if (!md || !md->addr[0] || !md->port)
		return -ENOENT;
	memset(&p->sa, 0, sizeof(p->sa));
	if (inet_pton(AF_INET, md->addr, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons(md->port);
		p->salen = sizeof(*sin);
	} else if (inet_pton(AF_INET6, md->addr, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(md->port);
		p->salen = sizeof(*sin6);
	} else {
		return -EINVAL;
	}
	return 0;
}

static void peer_connect(struct shard_peer *p)
{
	struct shardd *d = p->d;
	struct io_uring_sqe *sqe;
	int one = 1, ret;

	p->state = PEER_CONNECTING;
	ret = resolve(p);
	if (ret) {
		peer_fail(p, ret == -ENOENT ? "no address in the map" :
			  "bad address in the map");
		return;
	}
	p->fd = socket(p->sa.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (p->fd < 0) {
		peer_fail(p, strerror(errno));
		return;
	}
	setsockopt(p->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	setsockopt(p->fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one));
	/* The hello goes first: the member learns who we are. */
	memset(&p->hello.h, 0, sizeof(p->hello.h));
	p->hello.h.opcode = SHARD_OP_PEER_HELLO;
	p->hello.h.len = sizeof(p->hello_body);
	p->hello.h.epoch = d->epoch;
	memset(&p->hello_body, 0, sizeof(p->hello_body));
	p->hello_body.daemon_id = htole32(shard_store_daemon_id(d->store));
	p->hello_body.target_id = htole32(p->id);
	p->hello.payload = (const unsigned char *)&p->hello_body;
	p->hello.h.data_crc = shard_crc32c(&p->hello_body,
					   sizeof(p->hello_body));
	p->hello.off = 0;
	p->hello.in_send = false;
	p->hello.cancelled = false;
	push_front(p, &p->hello);
	sqe = shard_get_sqe(d);
	io_uring_prep_connect(sqe, p->fd, (struct sockaddr *)&p->sa, p->salen);
	submit(p, sqe, &p->conn_ev);
}

static void on_timer(struct shard_ev *ev, int res)
{
	struct shard_peer *p = container_of(ev, struct shard_peer, timer_ev);

	(void)res;
	p->busy--;
	peer_reap(p);
	if (p->state != PEER_BACKOFF)
		return;
	p->state = PEER_IDLE;
	peer_kick(p);
}

/* Starts whatever can start: a connection, or sending. */
static void peer_kick(struct shard_peer *p)
{
	switch (p->state) {
	case PEER_IDLE:
		if (!p->head || p->fd >= 0 || p->d->stop)
			break;
		/* The member refused us with a newer map: get it first. */
		if (p->d->epoch < p->hold_epoch) {
			shard_session_map_hint(p->d, p->hold_epoch);
			break;
		}
		peer_connect(p);
		break;
	case PEER_UP:
		if (!p->send_armed && p->next_send)
			arm_send(p);
		break;
	default:
		break;
	}
}

static struct shard_peer *peer_get(struct shardd *d, uint32_t id)
{
	struct shard_peer *p;

	for (p = d->peers; p; p = p->next)
		if (p->id == id)
			return p;
	p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	p->d = d;
	p->id = id;
	p->fd = -1;
	p->conn_ev.fn = on_connect;
	p->timer_ev.fn = on_timer;
	p->send_ev.fn = on_send;
	p->recv_ev.fn = on_recv;
	p->next = d->peers;
	d->peers = p;
	return p;
}

int shard_peer_send(struct shardd *d, uint32_t peer_id,
		    struct shard_peer_msg *m)
{
	struct shard_peer *p = peer_get(d, peer_id);

	if (!p)
		return -ENOMEM;
	m->peer = p;
	m->off = 0;
	m->in_send = false;
	m->cancelled = false;
	push_back(p, m);
	if (!p->next_send)
		p->next_send = m;
	peer_kick(p);
	return 0;
}

void shard_peer_cancel(struct shard_peer_msg *m)
{
	struct shard_peer *p = m->peer;

	if (!m->queued || m->cancelled)
		return;
	m->cancelled = true;
	/* Sent, wholly or in part: its reply or a failure releases it. */
	if (m->in_send || m->off)
		return;
	finish_msg(p, m, -ECANCELED, 0);
}

void shard_peer_payload_ready(struct shard_peer_msg *m)
{
	m->wait_payload = false;
	m->h.data_crc = shard_crc32c(m->payload, m->h.len);
	if (m->queued && !m->cancelled)
		peer_kick(m->peer);
}

void shard_peer_map_changed(struct shardd *d)
{
	struct shard_peer *p;

	for (p = d->peers; p; p = p->next)
		peer_kick(p);
}

void shard_peer_free_all(struct shardd *d)
{
	struct shard_peer *p;

	while ((p = d->peers)) {
		d->peers = p->next;
		while (p->head)
			finish_msg(p, p->head, -ECANCELED, 0);
		if (p->fd >= 0)
			close(p->fd);
		free(p);
	}
}
