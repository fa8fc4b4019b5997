/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The completion convention shared by everything on the daemon's ring:
 * every SQE's user_data points at a struct shard_ev embedded in its
 * owner; dispatching a CQE calls ev->fn, which finds the owner with
 * container_of. Kept apart from loop.h so that the store (and its unit
 * test, which drives a ring of its own) need not know the daemon.
 */
#ifndef SHARDD_RING_H
#define SHARDD_RING_H

#include <stddef.h>
#include <liburing.h>

#ifndef container_of
#define container_of(ptr, type, member) \
	((type *)((char *)(ptr) - offsetof(type, member)))
#endif

struct shard_ev;
typedef void (*shard_ev_fn)(struct shard_ev *ev, int res);

struct shard_ev {
	shard_ev_fn fn;
};

/* A free SQE, submitting queued ones to make room if needed. */
struct io_uring_sqe *shard_ring_get_sqe(struct io_uring *ring);

static inline void shard_sqe_set_ev(struct io_uring_sqe *sqe,
				    struct shard_ev *ev)
{
	io_uring_sqe_set_data(sqe, ev);
}

/* Calls the handlers of every CQE ready now; returns how many. */
unsigned int shard_ring_dispatch(struct io_uring *ring);

#endif /* SHARDD_RING_H */
