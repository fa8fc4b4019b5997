// SPDX-License-Identifier: GPL-2.0-only
/*
 * Connection state machine.
 *
 * Receive: bytes land in a per-connection buffer and are parsed into
 * requests; a large WRITE payload is received straight into the
 * request's buffer. Requests are submitted to the store as soon as they
 * are complete; the store runs them asynchronously on the ring and keeps
 * requests to one object in submission (= arrival) order, across
 * connections too. Payload buffers are 4 KiB aligned so that the store
 * can hand them to O_DIRECT without a copy.
 *
 * Send: finished requests queue their replies; one SENDMSG at a time per
 * connection (several replies gathered into it) keeps the byte stream in
 * order.
 *
 * Lifetime: a connection that hits an error is marked dead and shut
 * down, which completes its outstanding recv/send; it is freed when no
 * submission refers to it any more (recv, send, store operations and
 * fsyncs of its requests).
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

#include "conn.h"
#include "crc.h"
#include "log.h"
#include "loop.h"
#include "map.h"
#include "rep.h"
#include "replica.h"
#include "scrub_copy.h"
#include "session.h"
#include "store.h"
#include "wire.h"

#define RXBUF_SIZE	(64 * 1024)
/* Payload remainders at least this big bypass the receive buffer. */
#define DIRECT_RECV_MIN	(16 * 1024)
#define TX_BATCH	8

struct shard_conn;

struct req {
	struct shard_conn *c;
	struct req *next;		/* send queue */
	struct shard_req_h h;
	unsigned char rhdr[SHARD_HDR_SIZE];	/* encoded reply */
	unsigned char *buf;		/* WRITE payload or reply payload */
	struct shard_ver ver;		/* REP_WRITE, REP_ZERO: the change's */
	uint32_t rep_flags;		/* and SHARD_REP_F_* */
	uint32_t reply_len;
	size_t sent;			/* of header plus payload */
	struct shard_ev fsync_ev;
	unsigned int status;
	/* A replicated request ends when its parts (the local one and the
	 * members') have; status is the first failure among them. */
	struct shard_rep *rep;
	unsigned int parts;
	unsigned int part_status;
};

struct shard_conn {
	struct shardd *d;
	struct shard_conn *prev, *next;
	int fd;
	struct sockaddr_storage ss;	/* the other end */
	char peer[INET6_ADDRSTRLEN + 8];
	bool dead;
	bool hello_done;
	uint32_t peer_id;		/* a peer daemon's; 0: a client */
	/* A peer's request was refused: so is every later one, so that
	 * nothing after it is applied out of the primary's order. */
	bool refusing;
	unsigned int inflight;
	unsigned int disk;		/* store ops and fsyncs in flight */

	unsigned char *rxbuf;
	size_t rxhead, rxtail;
	struct shard_ev recv_ev;
	bool recv_armed;
	bool recv_direct;		/* into cur->buf */
	struct req *cur;		/* WRITE waiting for its payload */
	uint32_t cur_got;

	struct req *txq_head, *txq_tail;
	struct shard_ev send_ev;
	bool send_armed;
	struct msghdr msg;
	struct iovec iov[2 * TX_BATCH];
};

static void conn_process(struct shard_conn *c);
static void conn_arm_recv(struct shard_conn *c);
static void conn_arm_send(struct shard_conn *c);

static void req_free(struct req *r)
{
	if (r->rep)
		shard_rep_release(r->rep);
	free(r->buf);
	free(r);
}

static void conn_free(struct shard_conn *c)
{
	struct shardd *d = c->d;
	struct req *r, *next;

	for (r = c->txq_head; r; r = next) {
		next = r->next;
		req_free(r);
	}
	if (c->cur)
		req_free(c->cur);
	if (c->prev)
		c->prev->next = c->next;
	else
		d->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	d->nconns--;
	close(c->fd);
	free(c->rxbuf);
	free(c);
}

/* Frees a dead connection once nothing in flight refers to it. */
static void conn_put(struct shard_conn *c)
{
	if (c->dead && !c->recv_armed && !c->send_armed && !c->disk) {
		pr_debug("%s: connection closed", c->peer);
		conn_free(c);
	}
}

static void conn_kill(struct shard_conn *c)
{
	if (c->dead)
		return;
	c->dead = true;
	/* Completes a pending recv (with 0) and send (with an error). */
	shutdown(c->fd, SHUT_RDWR);
}

static void protocol_error(struct shard_conn *c, const char *why)
{
	pr_warn_ratelimited("%s: protocol error: %s; closing the connection",
			    c->peer, why);
	conn_kill(c);
}

static unsigned int errno_to_status(int err)
{
	switch (err) {
	case 0:
		return SHARD_S_OK;
	case -EBADMSG:
		return SHARD_S_CORRUPT;
	case -ENOSPC:
		return SHARD_S_NOSPC;
	case -EINVAL:
	case -ERANGE:
	case -EOPNOTSUPP:
		return SHARD_S_INVAL;
	case -EROFS:
		return SHARD_S_ROFS;
	default:
		return SHARD_S_IO;
	}
}

/* Queues r's reply: status, and reply_len bytes of r->buf on success. */
static void reply(struct req *r, unsigned int status)
{
	struct shard_conn *c = r->c;
	struct shard_reply_h rh = {
		.opcode = r->h.opcode,
		.status = status,
		.tag = r->h.tag,
		.epoch = c->d->epoch,
	};

	if (status != SHARD_S_OK || !shard_op_has_reply_payload(r->h.opcode))
		r->reply_len = 0;
	rh.len = r->reply_len;
	if (rh.len)
		rh.data_crc = shard_crc32c(r->buf, rh.len);
	shard_reply_encode(r->rhdr, &rh);
	r->status = status;

	if (c->dead) {
		req_free(r);
		c->inflight--;
		return;
	}
	r->next = NULL;
	if (c->txq_tail)
		c->txq_tail->next = r;
	else
		c->txq_head = r;
	c->txq_tail = r;
	if (!c->send_armed)
		conn_arm_send(c);
}

/* A payload buffer the store can use for O_DIRECT as it is. */
static unsigned char *buf_alloc(size_t len)
{
	void *p;

	return posix_memalign(&p, SHARD_BLOCK_SIZE, len ? len : 1) ? NULL : p;
}

/* Disk work of r is in flight: keeps c, and shutdown, waiting for it. */
static void disk_begin(struct req *r)
{
	r->c->disk++;
	r->c->d->disk_busy++;
}

static void disk_end(struct req *r)
{
	r->c->disk--;
	r->c->d->disk_busy--;
}

/* After r's disk work completed and r was answered (or freed). */
static void disk_after(struct shard_conn *c)
{
	if (c->dead)
		conn_put(c);
	else if (!c->recv_armed)
		conn_process(c);
}

static void finish_mutation(struct req *r, int err);

/* One part of a replicated request is done. */
static void part_done(struct req *r, unsigned int status)
{
	if (status && !r->part_status)
		r->part_status = status;
	if (--r->parts)
		return;
	if (r->h.opcode == SHARD_OP_FLUSH || r->part_status)
		reply(r, r->part_status);
	else
		finish_mutation(r, 0);	/* FUA: our own fsync still */
}

/* The members' part (rep.c). */
static void rep_done(void *arg, unsigned int status)
{
	struct req *r = arg;
	struct shard_conn *c = r->c;

	disk_end(r);
	part_done(r, status);
	disk_after(c);
}

static void on_fsync(struct shard_ev *ev, int res)
{
	struct req *r = container_of(ev, struct req, fsync_ev);
	struct shard_conn *c = r->c;

	disk_end(r);
	if (res < 0)
		pr_err_ratelimited("store: fsync failed: %s", strerror(-res));
	if (r->parts)
		part_done(r, res < 0 ? SHARD_S_IO : SHARD_S_OK);
	else
		reply(r, res < 0 ? SHARD_S_IO : SHARD_S_OK);
	disk_after(c);
}

/* Replies once every write acknowledged so far is durable: their
 * store operations have completed, so an fdatasync issued now covers
 * them. Writes still in flight are not acknowledged and need not be. */
static void reply_after_fsync(struct req *r)
{
	struct shard_conn *c = r->c;
	struct io_uring_sqe *sqe = shard_get_sqe(c->d);

	r->fsync_ev.fn = on_fsync;
	io_uring_prep_fsync(sqe, shard_store_fd(c->d->store),
			    IORING_FSYNC_DATASYNC);
	shard_sqe_set_ev(sqe, &r->fsync_ev);
	disk_begin(r);
}

static struct shard_obj req_obj(const struct shard_req_h *h)
{
	struct shard_obj o = {
		.pool = h->pool,
		.volume = h->volume,
		.object = h->object,
		.order = h->obj_order,
	};

	return o;
}

static void finish_mutation(struct req *r, int err)
{
	if (!err && (r->h.flags & SHARD_F_FUA))
		reply_after_fsync(r);
	else
		reply(r, errno_to_status(err));
}

static void exec_hello(struct req *r)
{
	struct shard_store *st = r->c->d->store;
	struct shard_hello hello;

	memset(&hello, 0, sizeof(hello));
	hello.daemon_id = htole32(shard_store_daemon_id(st));
	hello.capacity = htole64(shard_store_capacity(st));
	r->buf = malloc(sizeof(hello));
	if (!r->buf) {
		reply(r, SHARD_S_IO);
		return;
	}
	memcpy(r->buf, &hello, sizeof(hello));
	r->reply_len = sizeof(hello);
	r->c->hello_done = true;
	reply(r, SHARD_S_OK);
}

/* A read served from another member's copy (rep.c). */
static void copy_read_done(void *arg, unsigned int status)
{
	struct req *r = arg;
	struct shard_conn *c = r->c;

	disk_end(r);
	if (status == SHARD_S_OK)
		memcpy(r->buf, shard_rep_buf(r->rep), r->h.len);
	r->reply_len = r->h.len;
	reply(r, status);
	disk_after(c);
}

static void read_done(void *arg, int err)
{
	struct req *r = arg;
	struct shard_conn *c = r->c;

	disk_end(r);
	/*
	 * Our copy failed its checksum: in a pool of copies, a client's
	 * read is served from another member's. Ours stays as it is until
	 * a scrub repairs it: a write that came in meanwhile must not be
	 * undone by writing back what was read before it.
	 */
	if (err == -EBADMSG && r->h.opcode == SHARD_OP_READ) {
		r->rep = shard_rep_read(c->d, &r->h, copy_read_done, r);
		if (r->rep) {
			disk_begin(r);
			disk_after(c);
			return;
		}
	}
	r->reply_len = r->h.len;
	reply(r, errno_to_status(err));
	disk_after(c);
}

static void exec_read(struct req *r)
{
	struct shard_obj o = req_obj(&r->h);
	int err;

	r->buf = buf_alloc(r->h.len);
	if (!r->buf) {
		reply(r, SHARD_S_IO);
		return;
	}
	err = shard_store_read(r->c->d->store, &o, r->h.offset, r->h.len,
			       r->buf, read_done, r);
	if (err)
		reply(r, errno_to_status(err));
	else
		disk_begin(r);
}

/* WRITE, DISCARD and WRITE_ZEROES completion. */
static void mutation_done(void *arg, int err)
{
	struct req *r = arg;
	struct shard_conn *c = r->c;

	disk_end(r);
	free(r->buf);
	r->buf = NULL;
	if (c->dead)
		reply(r, errno_to_status(err));	/* frees r */
	else
		finish_mutation(r, err);
	disk_after(c);
}

/* The local part of a replicated mutation. */
static void local_done(void *arg, int err)
{
	struct req *r = arg;
	struct shard_conn *c = r->c;

	disk_end(r);
	part_done(r, errno_to_status(err));
	disk_after(c);
}

/*
 * The version a change is recorded with: the primary's new one for a
 * client's, the primary's own on a member.
 */
static struct shard_ver change_version(struct req *r)
{
	struct shard_ver v = r->ver;

	if (r->h.opcode != SHARD_OP_REP_WRITE &&
	    r->h.opcode != SHARD_OP_REP_ZERO) {
		v.epoch = r->c->d->epoch;
		v.seq = shard_store_next_seq(r->c->d->store);
	}
	return v;
}

/*
 * A client's mutation in a pool with copies: the members get it (rep.c)
 * while our store does; the reply waits for both. The payload now
 * belongs to the op, which keeps it until every member has it.
 */
static void exec_replicated(struct req *r)
{
	struct shard_obj o = req_obj(&r->h);
	struct shard_ver v = change_version(r);
	unsigned char *buf = r->buf;
	int err;

	r->rep = shard_rep_mutation(r->c->d, &r->h, buf, &v, rep_done, r);
	if (!r->rep) {
		free(r->buf);
		r->buf = NULL;
		reply(r, SHARD_S_IO);
		return;
	}
	r->buf = NULL;
	r->parts = 2;
	disk_begin(r);			/* the members' part */
	if (r->h.opcode == SHARD_OP_WRITE)
		err = shard_store_write(r->c->d->store, &o, r->h.offset,
					r->h.len, buf, &v, local_done, r);
	else
		err = shard_store_zero(r->c->d->store, &o, r->h.offset,
				       r->h.len, &v, local_done, r);
	if (err)
		part_done(r, errno_to_status(err));
	else
		disk_begin(r);
}

static void exec_write(struct req *r)
{
	struct shard_obj o = req_obj(&r->h);
	struct shard_ver v;
	int err;

	if (shard_crc32c(r->buf, r->h.len) != r->h.data_crc) {
		pr_warn_ratelimited("%s: %s tag %" PRIu64 " payload crc "
				    "mismatch", r->c->peer,
				    shard_op_name(r->h.opcode), r->h.tag);
		r->c->refusing = r->c->peer_id != 0;
		free(r->buf);
		r->buf = NULL;
		reply(r, SHARD_S_BADCRC);
		return;
	}
	if (r->h.opcode == SHARD_OP_WRITE &&
	    shard_rep_wanted(r->c->d, &r->h)) {
		exec_replicated(r);
		return;
	}
	v = change_version(r);
	err = shard_store_write(r->c->d->store, &o, r->h.offset, r->h.len,
				r->buf, &v, mutation_done, r);
	if (err) {
		free(r->buf);
		r->buf = NULL;
		finish_mutation(r, err);
	} else {
		disk_begin(r);
	}
}

static void exec_zero(struct req *r)
{
	struct shard_obj o = req_obj(&r->h);
	struct shard_ver v;
	int err;

	if (r->h.opcode != SHARD_OP_REP_ZERO &&
	    shard_rep_wanted(r->c->d, &r->h)) {
		exec_replicated(r);
		return;
	}
	v = change_version(r);
	err = shard_store_zero(r->c->d->store, &o, r->h.offset, r->h.len, &v,
			       mutation_done, r);
	if (err)
		finish_mutation(r, err);
	else
		disk_begin(r);
}

/*
 * A request routed with an older map than the daemon's is served only
 * if, in the daemon's map, this daemon is still the primary of the
 * object's PG; otherwise the client must fetch the newer map and resend
 * (to whichever daemon that map names). A request with a newer epoch is
 * served: its client knows more than we do. At the same epoch, so is
 * one to a pool of one copy (the client may route as it likes); in a
 * pool of several copies only the primary may change or serve a copy.
 */
static bool req_stale(const struct req *r)
{
	const struct shardd *d = r->c->d;

	switch (r->h.opcode) {
	case SHARD_OP_READ:
	case SHARD_OP_WRITE:
	case SHARD_OP_DISCARD:
	case SHARD_OP_WRITE_ZEROES:
		break;
	default:
		return false;
	}
	if (!d->map || r->h.epoch > d->map->epoch)
		return false;
	if (r->h.epoch == d->map->epoch) {
		const struct shard_map_pool *p = shard_map_pool(d->map,
								r->h.pool);

		if (!p || p->width == 1)
			return false;
	}
	return shard_map_primary(d->map, r->h.pool, r->h.volume, r->h.object)
	       != shard_store_daemon_id(d->store);
}

static void reply_stale(struct req *r)
{
	struct shardd *d = r->c->d;

	/* A WRITE's payload was read in full (the stream stays in step)
	 * and is dropped; the store is not touched. */
	free(r->buf);
	r->buf = NULL;
	d->stale_replies++;
	pr_debug("%s: %s tag %#" PRIx64 " at epoch %" PRIu64 " (ours %"
		 PRIu64 "): pool %u volume %" PRIu64 " object %" PRIu64
		 " has another primary; STALE (%" PRIu64 " so far)", r->c->peer,
		 shard_op_name(r->h.opcode), r->h.tag, r->h.epoch, d->epoch,
		 r->h.pool, r->h.volume, r->h.object, d->stale_replies);
	reply(r, SHARD_S_STALE);
}

/* FLUSH: our store, and the members written to since the last. */
static void exec_flush(struct req *r)
{
	struct shard_rep *op = NULL;

	if (shard_rep_flush(r->c->d, rep_done, r, &op)) {
		reply(r, SHARD_S_IO);
		return;
	}
	if (op) {
		r->rep = op;
		r->parts = 2;
		disk_begin(r);
	}
	reply_after_fsync(r);
}

static void exec_peer_hello(struct req *r)
{
	struct shard_conn *c = r->c;
	uint32_t me = shard_store_daemon_id(c->d->store);
	struct shard_peer_hello ph;

	memcpy(&ph, r->buf, sizeof(ph));
	free(r->buf);
	r->buf = NULL;
	if (shard_crc32c((unsigned char *)&ph, sizeof(ph)) != r->h.data_crc) {
		protocol_error(c, "PEER_HELLO payload crc mismatch");
		reply(r, SHARD_S_BADCRC);
		return;
	}
	if (!me || le32toh(ph.target_id) != me || !le32toh(ph.daemon_id) ||
	    le32toh(ph.daemon_id) == me) {
		pr_warn_ratelimited("%s: PEER_HELLO from daemon %u for daemon "
				    "%u, this is daemon %u: closing",
				    c->peer, le32toh(ph.daemon_id),
				    le32toh(ph.target_id), me);
		conn_kill(c);
		reply(r, SHARD_S_INVAL);
		return;
	}
	/* A blocklisted host's daemons may still serve as members. */
	if (shard_map_blocked(c->d->map, &c->ss) &&
	    !shard_map_daemon_at(c->d->map, le32toh(ph.daemon_id), &c->ss)) {
		pr_warn_ratelimited("%s: PEER_HELLO as daemon %u from a "
				    "blocklisted address that is not that "
				    "daemon's: closing", c->peer,
				    le32toh(ph.daemon_id));
		conn_kill(c);
		reply(r, SHARD_S_INVAL);
		return;
	}
	c->peer_id = le32toh(ph.daemon_id);
	snprintf(c->peer + strlen(c->peer), sizeof(c->peer) - strlen(c->peer),
		 "/d%u", c->peer_id);
	exec_hello(r);
}

/* A blocklisted client is closed: nothing from it is applied. */
static bool client_blocked(struct shard_conn *c)
{
	if (!shard_map_blocked(c->d->map, &c->ss))
		return false;
	pr_warn_ratelimited("%s: client is blocklisted (map epoch %" PRIu64
			    "): closing", c->peer, c->d->epoch);
	conn_kill(c);
	return true;
}

static void digest_done(void *arg, int err, const struct shard_digest *dg)
{
	struct req *r = arg;
	struct shard_conn *c = r->c;

	disk_end(r);
	if (!err) {
		memcpy(r->buf, dg, sizeof(*dg));
		r->reply_len = sizeof(*dg);
	}
	reply(r, errno_to_status(err));
	disk_after(c);
}

/* Scrub's questions to a member: what it holds, and digests. */
static void exec_scrub(struct req *r)
{
	struct shard_obj o = req_obj(&r->h);
	int n;

	r->buf = malloc(r->h.opcode == SHARD_OP_REP_LIST ? r->h.len :
			sizeof(struct shard_digest));
	if (!r->buf) {
		reply(r, SHARD_S_IO);
		return;
	}
	if (r->h.opcode == SHARD_OP_REP_LIST) {
		n = shard_scrub_list(r->c->d, r->h.pool, r->h.offset,
				     r->h.volume, r->h.object,
				     (struct shard_list_entry *)r->buf,
				     r->h.len / sizeof(struct shard_list_entry));
		r->reply_len = n < 0 ? 0 :
			       (uint32_t)n * sizeof(struct shard_list_entry);
		reply(r, n < 0 ? SHARD_S_IO : SHARD_S_OK);
		return;
	}
	if (shard_scrub_digest(r->c->d, &o,
			       r->h.flags & SHARD_F_DIGEST_DATA, digest_done,
			       r)) {
		reply(r, SHARD_S_IO);
		return;
	}
	disk_begin(r);
}

/*
 * A member's side of REP_ requests: refused ones change nothing, and
 * neither do the ones after them on the connection (the primary sends
 * them all again, in order, on a new one).
 */
static void log_refusal(const struct req *r, const char *why)
{
	const struct shardd *d = r->c->d;
	char what[80];

	if (r->h.opcode == SHARD_OP_REP_LIST)
		snprintf(what, sizeof(what), "PG %u", r->h.offset);
	else
		snprintf(what, sizeof(what), "volume %" PRIu64 " object %"
			 PRIu64, r->h.volume, r->h.object);
	pr_warn_ratelimited("%s: %s of pool %u %s at epoch %" PRIu64 " (ours %"
			    PRIu64 ") refused: %s (%" PRIu64 " so far)",
			    r->c->peer, shard_op_name(r->h.opcode), r->h.pool,
			    what, r->h.epoch, d->epoch, why, d->peer_refused);
}

static void exec_rep(struct req *r)
{
	struct shardd *d = r->c->d;
	const char *why = "an earlier request on this connection was refused";
	bool target = false;

	if (r->c->refusing ||
	    !shard_replica_accepts(d, &r->h, r->c->peer_id, &why, &target)) {
		free(r->buf);
		r->buf = NULL;
		d->peer_refused++;
		if (!r->c->refusing)
			log_refusal(r, why);
		r->c->refusing = true;
		reply(r, SHARD_S_STALE);
		return;
	}
	/*
	 * Being backfilled, this copy may lack changes to the rest of the
	 * object: a change to part of it does not make it that version.
	 * The last piece of a whole-object copy does.
	 */
	if (target && !(r->rep_flags & SHARD_REP_F_WHOLE))
		r->ver.epoch = r->ver.seq = 0;
	switch (r->h.opcode) {
	case SHARD_OP_REP_WRITE:
		exec_write(r);
		break;
	case SHARD_OP_REP_ZERO:
		exec_zero(r);
		break;
	case SHARD_OP_REP_READ:
		exec_read(r);
		break;
	case SHARD_OP_REP_LIST:
	case SHARD_OP_REP_DIGEST:
		exec_scrub(r);
		break;
	default:
		reply_after_fsync(r);
		break;
	}
}

static void exec(struct req *r)
{
	/* Recovery backs off while clients are active (backfill.c). */
	if (!r->c->peer_id && r->h.opcode >= SHARD_OP_READ &&
	    r->h.opcode <= SHARD_OP_WRITE_ZEROES)
		clock_gettime(CLOCK_MONOTONIC, &r->c->d->client_at);
	if (req_stale(r)) {
		reply_stale(r);
		return;
	}
	switch (r->h.opcode) {
	case SHARD_OP_HELLO:
		if (client_blocked(r->c)) {
			reply(r, SHARD_S_INVAL);
			break;
		}
		exec_hello(r);
		break;
	case SHARD_OP_PEER_HELLO:
		exec_peer_hello(r);
		break;
	case SHARD_OP_REP_WRITE:
	case SHARD_OP_REP_ZERO:
	case SHARD_OP_REP_FLUSH:
	case SHARD_OP_REP_READ:
	case SHARD_OP_REP_LIST:
	case SHARD_OP_REP_DIGEST:
		exec_rep(r);
		break;
	case SHARD_OP_PING:
		reply(r, SHARD_S_OK);
		break;
	case SHARD_OP_READ:
		exec_read(r);
		break;
	case SHARD_OP_WRITE:
		exec_write(r);
		break;
	case SHARD_OP_FLUSH:
		exec_flush(r);
		break;
	case SHARD_OP_DISCARD:
	case SHARD_OP_WRITE_ZEROES:
		exec_zero(r);
		break;
	}
}

/* Why opcode may not come now on c, or NULL when it may. */
static const char *request_misplaced(const struct shard_conn *c,
				     unsigned int op)
{
	bool rep_op = op >= SHARD_OP_REP_WRITE;

	if (!c->hello_done)
		return op == SHARD_OP_HELLO || op == SHARD_OP_PEER_HELLO ?
		       NULL : "request before HELLO";
	if (op == SHARD_OP_HELLO || op == SHARD_OP_PEER_HELLO)
		return "a second HELLO";
	if (op == SHARD_OP_PING)
		return NULL;
	if (c->peer_id)
		return rep_op ? NULL : "a client request from a peer daemon";
	return rep_op ? "a peer request from a client" : NULL;
}

/* Parses one header at rxhead (and the rep ext after it) into a new
 * request. 0; -EAGAIN when the ext has not all come; or -errno after
 * the connection was killed. */
static int take_header(struct shard_conn *c)
{
	size_t ext = 0;
	struct shard_ver ver = { 0, 0 };
	uint32_t rep_flags = 0;
	struct shard_req_h h;
	const char *why;
	struct req *r;

	if (shard_req_decode(c->rxbuf + c->rxhead, &h, &why) ||
	    shard_req_check(&h, &why)) {
		protocol_error(c, why);
		return -EBADMSG;
	}
	why = request_misplaced(c, h.opcode);
	if (why) {
		protocol_error(c, why);
		return -EBADMSG;
	}
	if (shard_op_has_rep_ext(h.opcode)) {
		ext = sizeof(struct shard_rep_ext);
		if (c->rxtail - c->rxhead < SHARD_HDR_SIZE + ext)
			return -EAGAIN;
		if (shard_rep_ext_decode(c->rxbuf + c->rxhead + SHARD_HDR_SIZE,
					 &ver.epoch, &ver.seq, &rep_flags)) {
			protocol_error(c, "bad rep ext (crc or flags)");
			return -EBADMSG;
		}
	}
	c->rxhead += SHARD_HDR_SIZE + ext;
	if (h.epoch > c->d->epoch)
		shard_session_map_hint(c->d, h.epoch);

	r = calloc(1, sizeof(*r));
	if (r && shard_op_has_req_payload(h.opcode)) {
		r->buf = buf_alloc(h.len);
		if (!r->buf) {
			free(r);
			r = NULL;
		}
	}
	if (!r) {
		pr_err_ratelimited("%s: out of memory; closing the connection",
				   c->peer);
		conn_kill(c);
		return -ENOMEM;
	}
	r->c = c;
	r->h = h;
	r->ver = ver;
	r->rep_flags = rep_flags;
	c->inflight++;
	if (shard_op_has_req_payload(h.opcode)) {
		c->cur = r;
		c->cur_got = 0;
	} else {
		exec(r);
	}
	return 0;
}

/* Runs what the receive buffer holds, then reads more if allowed. */
static void conn_process(struct shard_conn *c)
{
	while (!c->dead) {
		size_t avail = c->rxtail - c->rxhead;

		if (c->cur) {
			uint32_t need = c->cur->h.len - c->cur_got;
			uint32_t n = avail < need ? (uint32_t)avail : need;

			memcpy(c->cur->buf + c->cur_got, c->rxbuf + c->rxhead,
			       n);
			c->rxhead += n;
			c->cur_got += n;
			if (c->cur_got < c->cur->h.len)
				break;
			struct req *r = c->cur;

			c->cur = NULL;
			exec(r);
			continue;
		}
		/* Shutting down: finish what is in progress, start nothing. */
		if (c->inflight >= SHARD_CONN_MAX_INFLIGHT ||
		    avail < SHARD_HDR_SIZE || c->d->stop)
			break;
		if (take_header(c))
			break;
	}
	if (c->dead) {
		/* Callers do not touch c after this. */
		conn_put(c);
		return;
	}
	if (!c->recv_armed &&
	    (c->cur || c->inflight < SHARD_CONN_MAX_INFLIGHT))
		conn_arm_recv(c);
}

static void on_recv(struct shard_ev *ev, int res)
{
	struct shard_conn *c = container_of(ev, struct shard_conn, recv_ev);

	c->recv_armed = false;
	if (c->dead) {
		conn_put(c);
		return;
	}
	if (res == -EINTR || res == -EAGAIN) {
		conn_arm_recv(c);
		return;
	}
	if (res <= 0) {
		if (res < 0)
			pr_warn_ratelimited("%s: recv: %s", c->peer,
					    strerror(-res));
		else if (c->cur || c->rxtail != c->rxhead)
			pr_warn_ratelimited("%s: peer closed mid-request",
					    c->peer);
		conn_kill(c);
		conn_put(c);
		return;
	}
	if (c->recv_direct)
		c->cur_got += (uint32_t)res;
	else
		c->rxtail += (size_t)res;
	conn_process(c);
}

static void conn_arm_recv(struct shard_conn *c)
{
	struct io_uring_sqe *sqe;
	void *dst;
	size_t len;

	/* Keep unparsed bytes at the front so the tail has room. */
	if (c->rxhead == c->rxtail) {
		c->rxhead = c->rxtail = 0;
	} else if (c->rxhead) {
		memmove(c->rxbuf, c->rxbuf + c->rxhead, c->rxtail - c->rxhead);
		c->rxtail -= c->rxhead;
		c->rxhead = 0;
	}
	c->recv_direct = c->cur && c->rxtail == 0 &&
			 c->cur->h.len - c->cur_got >= DIRECT_RECV_MIN;
	if (c->recv_direct) {
		dst = c->cur->buf + c->cur_got;
		len = c->cur->h.len - c->cur_got;
	} else {
		dst = c->rxbuf + c->rxtail;
		len = RXBUF_SIZE - c->rxtail;
	}
	sqe = shard_get_sqe(c->d);
	io_uring_prep_recv(sqe, c->fd, dst, len, 0);
	shard_sqe_set_ev(sqe, &c->recv_ev);
	c->recv_armed = true;
}

static void on_send(struct shard_ev *ev, int res)
{
	struct shard_conn *c = container_of(ev, struct shard_conn, send_ev);
	size_t done = res > 0 ? (size_t)res : 0;

	c->send_armed = false;
	if (c->dead) {
		conn_put(c);
		return;
	}
	if (res < 0 && res != -EINTR && res != -EAGAIN) {
		pr_warn_ratelimited("%s: send: %s", c->peer, strerror(-res));
		conn_kill(c);
		conn_put(c);
		return;
	}
	while (done && c->txq_head) {
		struct req *r = c->txq_head;
		size_t left = SHARD_HDR_SIZE + r->reply_len - r->sent;

		if (done < left) {
			r->sent += done;
			break;
		}
		done -= left;
		c->txq_head = r->next;
		if (!c->txq_head)
			c->txq_tail = NULL;
		req_free(r);
		c->inflight--;
	}
	if (c->txq_head)
		conn_arm_send(c);
	/* Below the limit again: parse what is buffered and read on. */
	if (!c->recv_armed)
		conn_process(c);
}

static void conn_arm_send(struct shard_conn *c)
{
	struct io_uring_sqe *sqe;
	unsigned int n = 0, i;
	struct req *r;

	for (r = c->txq_head, i = 0; r && i < TX_BATCH; r = r->next, i++) {
		size_t skip = r->sent;

		if (skip < SHARD_HDR_SIZE) {
			c->iov[n].iov_base = r->rhdr + skip;
			c->iov[n].iov_len = SHARD_HDR_SIZE - skip;
			n++;
			skip = 0;
		} else {
			skip -= SHARD_HDR_SIZE;
		}
		if (r->reply_len > skip) {
			c->iov[n].iov_base = r->buf + skip;
			c->iov[n].iov_len = r->reply_len - skip;
			n++;
		}
	}
	memset(&c->msg, 0, sizeof(c->msg));
	c->msg.msg_iov = c->iov;
	c->msg.msg_iovlen = n;
	sqe = shard_get_sqe(c->d);
	io_uring_prep_sendmsg(sqe, c->fd, &c->msg, MSG_NOSIGNAL);
	shard_sqe_set_ev(sqe, &c->send_ev);
	c->send_armed = true;
}

static void format_peer(struct shard_conn *c)
{
	socklen_t sl = sizeof(c->ss);
	char host[INET6_ADDRSTRLEN] = "?";
	unsigned int port = 0;

	if (!getpeername(c->fd, (struct sockaddr *)&c->ss, &sl)) {
		if (c->ss.ss_family == AF_INET) {
			struct sockaddr_in *sin = (struct sockaddr_in *)&c->ss;

			inet_ntop(AF_INET, &sin->sin_addr, host, sizeof(host));
			port = ntohs(sin->sin_port);
		} else if (c->ss.ss_family == AF_INET6) {
			struct sockaddr_in6 *sin6 =
				(struct sockaddr_in6 *)&c->ss;

			inet_ntop(AF_INET6, &sin6->sin6_addr, host,
				  sizeof(host));
			port = ntohs(sin6->sin6_port);
		}
	}
	snprintf(c->peer, sizeof(c->peer), "%s:%u", host, port);
}

int shard_conn_new(struct shardd *d, int fd)
{
	struct shard_conn *c;
	int one = 1;

	c = calloc(1, sizeof(*c));
	if (c)
		c->rxbuf = malloc(RXBUF_SIZE);
	if (!c || !c->rxbuf) {
		pr_err_ratelimited("out of memory for a new connection");
		if (c)
			free(c);
		close(fd);
		return -ENOMEM;
	}
	/* Replies are small and latency bound. */
	if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) < 0)
		pr_warn_ratelimited("TCP_NODELAY: %s", strerror(errno));
	setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one));
	c->d = d;
	c->fd = fd;
	c->recv_ev.fn = on_recv;
	c->send_ev.fn = on_send;
	format_peer(c);
	c->next = d->conns;
	if (d->conns)
		d->conns->prev = c;
	d->conns = c;
	d->nconns++;
	pr_debug("%s: connection accepted", c->peer);
	conn_arm_recv(c);
	return 0;
}

void shard_conn_map_changed(struct shardd *d)
{
	struct shard_conn *c;

	for (c = d->conns; c; c = c->next)
		if (!c->dead && c->hello_done && !c->peer_id)
			client_blocked(c);
}

void shard_conn_free_all(struct shardd *d)
{
	while (d->conns)
		conn_free(d->conns);
}
