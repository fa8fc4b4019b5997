/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The daemon's one io_uring event loop. Every submission carries a
 * pointer to a struct shard_ev embedded in its owner (connection,
 * request, mapd session, ...); completion calls ev->fn, which finds the
 * owner with container_of.
 */
#ifndef SHARDD_LOOP_H
#define SHARDD_LOOP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <liburing.h>
#include <sys/signalfd.h>
#include <time.h>

#include "ring.h"

struct shard_conn;
struct shard_map;
struct shard_obj;
struct shard_session;
struct shard_store;

struct shardd {
	struct io_uring ring;
	struct shard_store *store;
	/* The newest map mapd gave us (NULL before the first) and its
	 * epoch (0 without a map), which every reply carries. */
	struct shard_map *map;
	uint64_t epoch;
	uint64_t stale_replies;	/* requests answered STALE */
	bool stop;
	/* Store operations and fsyncs in flight: shutdown waits for them
	 * so that no buffer is freed while the kernel may still use it. */
	unsigned int disk_busy;

	int listen_fd;
	struct shard_ev accept_ev;
	struct shard_ev accept_retry_ev;
	struct __kernel_timespec accept_retry_ts;

	int sig_fd;
	struct signalfd_siginfo sig_info;
	struct shard_ev sig_ev;

	struct shard_conn *conns;	/* doubly linked list */
	unsigned int nconns;

	struct shard_session *session;	/* NULL without --mapd */

	/* Replication (rep.c, peer.c). */
	struct shard_peer *peers;
	struct shard_rep *reps, *reps_tail;	/* not finished */
	struct shard_rep *rep_kick, *rep_kick_tail;	/* not yet evaluated */
	struct shard_ev rep_kick_ev;
	bool rep_kick_armed;
	uint32_t *dirty;		/* peers written since the last flush */
	size_t ndirty, dirty_cap;
	uint32_t *members;		/* peers in PGs we are primary of */
	size_t nmembers;
	uint64_t peer_refused;		/* REP_ requests answered STALE */
	bool exiting;			/* the ring is gone: free, do not act */

	/* Backfill (backfill.c). */
	struct bf_job *bf_jobs;		/* wanted by the map */
	struct bf_job *bf_dead;		/* cancelled, still referenced */
	unsigned int bf_pushes;		/* objects on their way */
	bool bf_pumping, bf_again;
	bool bf_reporting;		/* a pg-backfilled is with mapd */
	struct bf_report *bf_report;	/* that one's context */
	uint64_t bf_copied;		/* bytes backfilled since start */
	unsigned int recovery_pushes;	/* objects on their way, at most */
	uint64_t recovery_bps;		/* bytes a second; 0: no limit */
	/* % of the time while clients are active (100: no backing off):
	 * the cluster's, while mapd's heartbeat replies set one, else
	 * --recovery-share (backfill.c). */
	unsigned int recovery_share;
	unsigned int recovery_share_arg;	/* --recovery-share */
	char recovery_share_bad[40];	/* the bad value last warned of */
	struct timespec client_at;	/* the last client request came */
	struct timespec bf_resume_at;	/* no push before, while clients
					 * are active */
	unsigned int bf_sync_pushes;	/* peering's, among bf_pushes */
	double bf_budget;		/* bytes that may go now */
	struct timespec bf_budget_at;	/* when it was counted */
	struct shard_ev bf_refill_ev;
	struct __kernel_timespec bf_refill_ts;
	bool bf_refill_armed;

	struct shard_push *pushes;	/* push.c */

	/* Scrub (scrub.c). */
	struct scrub_job *scrub_jobs;	/* the first runs */
	struct scrub_sched *scrub_sched;
	size_t nscrub_sched;
	unsigned int scrub_interval;	/* seconds; 0: not scheduled */
	unsigned int deep_scrub_interval;
	const struct shard_obj *scrub_watch;	/* being repaired here */
	bool scrub_watch_hit;		/* a change to it came in */
	uint64_t scrub_errors, scrub_repaired;
};

/* Creates the ring and arms accept and signal handling. listen_fd is
 * bound and listening; SIGINT and SIGTERM must be blocked. */
int shard_loop_init(struct shardd *d, int listen_fd);
/* Runs until SIGINT/SIGTERM, then until the disk work in flight is
 * done; returns 0 or -errno. */
int shard_loop_run(struct shardd *d);
/* Frees the ring and every connection. */
void shard_loop_exit(struct shardd *d);

/* A free SQE, submitting queued ones to make room if needed. */
static inline struct io_uring_sqe *shard_get_sqe(struct shardd *d)
{
	return shard_ring_get_sqe(&d->ring);
}

#endif /* SHARDD_LOOP_H */
