/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Connections from this daemon to the other daemons, for the requests a
 * PG's primary sends its members (REP_WRITE, REP_ZERO, REP_FLUSH, and
 * the reads of REP_READ, REP_LIST and REP_DIGEST). One
 * connection per peer, opened on first use with PEER_HELLO, carries
 * requests in the order they were queued. A connection that fails is
 * reopened after a backoff and every request not yet answered is sent
 * again, in the same order: a member misses nothing the primary still
 * waits for. Runs on the event loop; never calls back from inside a
 * call, except shard_peer_cancel as it says.
 */
#ifndef SHARDD_PEER_H
#define SHARDD_PEER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "version.h"
#include "wire.h"

struct shardd;
struct shard_peer;
struct shard_peer_msg;

/*
 * status is a SHARD_S_* of the peer's reply, with the peer's map epoch
 * (never STALE or BADCRC: those are sent again), or -ECANCELED after
 * shard_peer_cancel. The peer layer no longer
 * refers to the message (nor its payload) when this runs.
 */
typedef void (*shard_peer_done_fn)(struct shard_peer_msg *m, int status,
				   uint64_t epoch);

/* One request to a peer; owned by the sender, which fills h (all but
 * the tag; data_crc too), payload (h.len bytes, for the opcodes that
 * carry one), ver (REP_WRITE, REP_ZERO) and done. The peer layer stamps
 * h.epoch with the daemon's epoch whenever it sends m. */
struct shard_peer_msg {
	struct shard_req_h h;
	struct shard_ver ver;
	uint32_t rep_flags;		/* SHARD_REP_F_* */
	const unsigned char *payload;
	/* REP_READ, REP_LIST, REP_DIGEST: where the reply's payload goes
	 * (room for h.len bytes; a struct shard_digest), and how many
	 * bytes came (set before done runs with SHARD_S_OK). */
	unsigned char *rbuf;
	uint32_t rlen;
	/* Queued before its payload is there: m and everything after it
	 * wait until shard_peer_payload_ready (which also sets data_crc). */
	bool wait_payload;
	shard_peer_done_fn done;
	/* The peer layer's: */
	struct shard_peer *peer;
	struct shard_peer_msg *prev, *next;
	unsigned char hdr[SHARD_HDR_SIZE + sizeof(struct shard_rep_ext)];
	size_t off;		/* bytes of header and payload sent */
	bool queued;
	bool in_send;		/* part of the SENDMSG in flight */
	bool cancelled;
};

/* Requests sent and not answered, per connection. */
#define SHARD_PEER_MAX_INFLIGHT	128

/* Queues m to daemon peer_id (addresses come from the daemon's map);
 * m->done follows. -ENOMEM: nothing queued, done never runs. */
int shard_peer_send(struct shardd *d, uint32_t peer_id,
		    struct shard_peer_msg *m);
/* The sender no longer wants m: done(m, -ECANCELED) runs as soon as no
 * I/O refers to m (before this returns if m was not sent; after its
 * reply or the connection's failure if it was). */
void shard_peer_cancel(struct shard_peer_msg *m);
/* m's payload is in place: it (and what was queued after it) may go. */
void shard_peer_payload_ready(struct shard_peer_msg *m);
/* A new map is installed: connections held for it may start. */
void shard_peer_map_changed(struct shardd *d);
/* After the ring is gone: cancels everything and frees the peers. */
void shard_peer_free_all(struct shardd *d);

#endif /* SHARDD_PEER_H */
