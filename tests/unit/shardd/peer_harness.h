/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * What the tests of shardd with its peers share (rep_test.c,
 * backfill_test.c, scrub_test.c), on top of daemon_harness.h: the daemon
 * started with this test as its peer "daemon 8", objects of a given PG,
 * a client's WRITEs replicated to 8, daemon 8's requests to the daemon
 * under test and its answers to that daemon's requests, the pieces of
 * whole objects pushed to 8, and the fake mapd's maps and silence.
 *
 * As in daemon_harness.h, the objects are of pool 1 (16 PGs) volume 9,
 * calls return 0 (or what they say) on success and -1 on any failure,
 * and never assert: the tests do.
 */
#ifndef _PEER_HARNESS_H
#define _PEER_HARNESS_H

#include <stdbool.h>
#include <stdint.h>

#include "daemon_harness.h"
#include "version.h"
#include "wire.h"

/*
 * Plays daemon 8 (peer8_listen()), then starts d with mapd and the
 * options in extra (daemon_start_with()), brings it to epoch 5 with maps
 * of width and primary (session_at_epoch()) and, if client is not NULL,
 * connects a client to it into *client (client_hello()). The listener's
 * fd, or -1 (the listener closed).
 */
int start_with_peer8(struct daemon *d, struct fake_mapd *m,
		     const char *const *extra, int width,
		     const uint32_t primary[2], int *client);
/*
 * The end of a test, in this order: closes daemon 8's side, the
 * connection pfd and the listener lfd (each if >= 0), then the
 * connection *fd (if >= 0; set to -1), and stops d with SIGTERM:
 * daemon_stop()'s result.
 */
int close_and_stop(struct daemon *d, int lfd, int pfd, int *fd);
/* A client connection to the daemon on port, its HELLO answered OK; the
 * fd or -1. */
int client_hello(unsigned int port);
/*
 * Brings the daemon to the map of epoch: a client's PING of that epoch
 * (pool 1, volume 9) on fd, answered OK, makes it ask the fake mapd for
 * the map, which is sent with mapd_send_map(m, epoch, width, primary,
 * NULL) (map_block and map_backfill as set). Does not wait for the
 * daemon to take it.
 */
int map_on_ping(struct fake_mapd *m, int fd, uint64_t epoch, int width,
		const uint32_t primary[2]);

/* Objects of volume 9 in PG pg (of 16), ascending, from *from on: the
 * next one, *from moved past it. */
uint64_t object_of_pg(uint32_t pg, uint64_t *from);

/* A list entry of volume 9, order 22, version v (little endian, as on
 * the wire). */
struct shard_list_entry entry(uint64_t object, struct shard_ver v);
/* A list entry's version, in host order. */
struct shard_ver le_ver(const struct shard_list_entry *e);
/* Answers h OK at epoch with the len bytes of data as its payload. */
int reply_payload(int fd, const struct shard_req_h *h, uint64_t epoch,
		  const void *data, uint32_t len);
/* Answers a REP_LIST (h) OK at epoch 6 with the n entries of list. */
int reply_list(int fd, const struct shard_req_h *h,
	       const struct shard_list_entry *list, uint32_t n);

/* Sends a client's request op with tag on fd (pool 1, volume 9, order
 * 22, epoch 5) for len bytes of object at off, with those bytes of
 * payload if not NULL; its reply is left to come. */
int send_client_req(int fd, uint8_t op, uint64_t tag, uint64_t object,
		    uint32_t off, uint32_t len, const void *payload);
/* Sends a client's WRITE on fd of 8192 bytes of data to object at 0 with
 * tag, which the daemon as primary replicates to daemon 8: accepts its
 * connection to 8 on lfd (peer_accept()); the fd or -1. */
int write_then_accept(int fd, int lfd, uint64_t tag, uint64_t object,
		      const void *data);
/* Closes daemon 8's connection pfd and accepts the daemon's next one on
 * lfd (peer_accept()); the fd or -1. */
int peer_reaccept(int pfd, int lfd);
/* As daemon 8 on pfd, answers the daemon's request h OK at epoch 5, then
 * reads the reply to the client on fd: its status or -1, its header in
 * *rh. */
int peer8_ack(int pfd, const struct shard_req_h *h, int fd,
	      struct shard_reply_h *rh);
/*
 * write_then_accept(), then takes the REP_WRITE on the connection to 8
 * (the payload into buf) and answers it (peer8_ack()); the client's
 * reply must be OK. The connection to 8, or -1 (closed).
 */
int peer8_takes_write(int fd, int lfd, uint64_t tag, uint64_t object,
		      const void *data, void *buf);

/*
 * Whole objects pushed to daemon 8 (by backfill or peering): each in
 * SHARD_MAX_IO REP_WRITEs, in order, the last (at 3 MiB) flagged
 * SHARD_REP_F_WHOLE; several objects' pieces may interleave.
 */
struct pushed {
	const uint64_t *objs;	/* the objects that may come */
	unsigned int n;		/* how many (at most 8) */
	unsigned int pieces[8];	/* of each, so far */
	unsigned int zeroes[8];	/* of them REP_ZERO (a removal) */
	long long first_at[8];	/* when its first one came (now_ms()) */
};
/*
 * The next piece on fd, within wait_ms: its header in *h, its payload
 * in buf, its version in *v (if not NULL), its flags in rep_flags_in.
 * The index in p->objs of its object, the piece counted; -1 when it is
 * not a REP_WRITE of SHARD_MAX_IO bytes at the next offset of one of
 * them, flagged SHARD_REP_F_WHOLE if and only if it is the last, or a
 * REP_ZERO of the same (a removal; never flagged, counted in zeroes).
 */
int next_piece(int fd, struct pushed *p, struct shard_req_h *h, void *buf,
	       struct shard_ver *v, int wait_ms);
/*
 * A piece of a whole-object copy to daemon 8, answered OK at epoch 6:
 * next_piece() (waiting up to 5 s, v not NULL), and but for the last
 * piece no flags and the unknown version, and a first piece of object i
 * (the index returned) starting with 8192 bytes of fill(seed + i); or a
 * removal's piece, with the unknown version. The
 * index, or -1 when it is not such a piece (then left unanswered) or
 * the answer fails. The last piece's version, in *v, is the test's to
 * check.
 */
int copy_piece(int fd, struct pushed *p, struct shard_req_h *h, void *buf,
	       struct shard_ver *v, unsigned int seed);

/* A new peer connection from daemon 8 to the daemon on port (its
 * PEER_HELLO answered OK); the fd or -1. */
int peer8_connect(unsigned int port);
/*
 * As daemon 8 on fd, a REP_ request of pool 1 volume 9 object order 22
 * at epoch 5 (with version v, NULL for unknown, and rep_flags_out, for
 * REP_WRITE and REP_ZERO) and its reply, which must have the same tag
 * and opcode: the status, or -1.
 */
int rep_call(int fd, uint8_t op, uint64_t object, uint32_t off,
	     uint32_t len, const void *payload, const struct shard_ver *v);
/* rep_call() flagged SHARD_REP_F_WHOLE (rep_flags_out, 0 again after). */
int rep_call_whole(int fd, uint8_t op, uint64_t object, uint32_t off,
		   uint32_t len, const void *payload,
		   const struct shard_ver *v);
/*
 * As daemon 8 on fd, REP_LIST of PG pg of pool 1 at epoch 5, from the
 * start, into list (room for cap entries): the status, or -1; *n
 * entries on OK.
 */
int list_pg(int fd, uint32_t pg, struct shard_list_entry *list,
	    uint32_t cap, uint32_t *n);
/* True when the daemon drops fd without a reply (waits up to 5 s): end
 * of stream, or a reset (it closed with our bytes unread). */
bool dropped(int fd);

/* Milliseconds of CLOCK_MONOTONIC, for the tests that time the daemon. */
long long now_ms(void);

/*
 * True when no request cmd (any request, if cmd is NULL) comes on the
 * fake mapd's session within timeout_ms; false when one does or the
 * session closes. Other requests that come meanwhile are dropped.
 */
bool mapd_none(struct fake_mapd *m, const char *cmd, int timeout_ms);

#endif /* _PEER_HARNESS_H */
