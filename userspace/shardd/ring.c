// SPDX-License-Identifier: GPL-2.0-only
#include <stdlib.h>

#include "log.h"
#include "ring.h"

struct io_uring_sqe *shard_ring_get_sqe(struct io_uring *ring)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(ring);

	if (!sqe) {
		io_uring_submit(ring);
		sqe = io_uring_get_sqe(ring);
	}
	if (!sqe) {
		/* Cannot happen after a submit freed the SQ; be loud if so. */
		pr_err("io_uring submission queue full");
		abort();
	}
	return sqe;
}

unsigned int shard_ring_dispatch(struct io_uring *ring)
{
	struct io_uring_cqe *cqe;
	unsigned int head, n = 0;

	io_uring_for_each_cqe(ring, head, cqe) {
		struct shard_ev *ev = io_uring_cqe_get_data(cqe);

		n++;
		if (ev)
			ev->fn(ev, cqe->res);
	}
	io_uring_cq_advance(ring, n);
	return n;
}
