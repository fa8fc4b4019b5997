// SPDX-License-Identifier: GPL-2.0-only
#define _GNU_SOURCE
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "conn.h"
#include "log.h"
#include "loop.h"
#include "backfill.h"
#include "peer.h"
#include "push.h"
#include "rep.h"
#include "scrub.h"
#include "store.h"

#define RING_ENTRIES	256

static void arm_accept(struct shardd *d)
{
	struct io_uring_sqe *sqe = shard_get_sqe(d);

	io_uring_prep_accept(sqe, d->listen_fd, NULL, NULL, SOCK_CLOEXEC);
	shard_sqe_set_ev(sqe, &d->accept_ev);
}

static void on_accept_retry(struct shard_ev *ev, int res)
{
	struct shardd *d = container_of(ev, struct shardd, accept_retry_ev);

	(void)res;
	if (!d->stop)
		arm_accept(d);
}

static void on_accept(struct shard_ev *ev, int res)
{
	struct shardd *d = container_of(ev, struct shardd, accept_ev);
	struct io_uring_sqe *sqe;

	if (d->stop) {
		if (res >= 0)
			close(res);
		return;
	}
	if (res < 0) {
		pr_err_ratelimited("accept: %s", strerror(-res));
		/* Out of descriptors or memory: back off instead of
		 * spinning on the same error. */
		d->accept_retry_ts.tv_sec = 0;
		d->accept_retry_ts.tv_nsec = 100 * 1000 * 1000;
		sqe = shard_get_sqe(d);
		io_uring_prep_timeout(sqe, &d->accept_retry_ts, 0, 0);
		shard_sqe_set_ev(sqe, &d->accept_retry_ev);
		return;
	}
	if (d->nconns >= SHARD_MAX_CONNS) {
		pr_warn_ratelimited("refusing connection: %u connections open",
				    d->nconns);
		close(res);
	} else {
		shard_conn_new(d, res);
	}
	arm_accept(d);
}

static void arm_signal(struct shardd *d)
{
	struct io_uring_sqe *sqe = shard_get_sqe(d);

	io_uring_prep_read(sqe, d->sig_fd, &d->sig_info, sizeof(d->sig_info),
			   0);
	shard_sqe_set_ev(sqe, &d->sig_ev);
}

static void on_signal(struct shard_ev *ev, int res)
{
	struct shardd *d = container_of(ev, struct shardd, sig_ev);

	if (res == -EINTR || res == -EAGAIN) {
		arm_signal(d);
		return;
	}
	if (res < 0) {
		pr_err("reading signalfd: %s; stopping", strerror(-res));
	} else {
		pr_info("%s received, shutting down",
			strsignal((int)d->sig_info.ssi_signo));
	}
	d->stop = true;
	shard_rep_stop(d);
	shard_backfill_stop(d);
	shard_scrub_stop(d);
}

int shard_loop_init(struct shardd *d, int listen_fd)
{
	struct io_uring_params p;
	sigset_t set;
	int ret;

	d->listen_fd = listen_fd;
	d->accept_ev.fn = on_accept;
	d->accept_retry_ev.fn = on_accept_retry;
	d->sig_ev.fn = on_signal;

	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	d->sig_fd = signalfd(-1, &set, SFD_CLOEXEC);
	if (d->sig_fd < 0) {
		ret = -errno;
		pr_err("signalfd: %s", strerror(errno));
		return ret;
	}

	memset(&p, 0, sizeof(p));
	/* Replies to many connections can complete at once. */
	p.flags = IORING_SETUP_CQSIZE;
	p.cq_entries = RING_ENTRIES * 8;
	ret = io_uring_queue_init_params(RING_ENTRIES, &d->ring, &p);
	if (ret < 0) {
		pr_err("io_uring_queue_init: %s", strerror(-ret));
		close(d->sig_fd);
		return ret;
	}
	shard_store_set_ring(d->store, &d->ring);
	arm_accept(d);
	arm_signal(d);
	return 0;
}

int shard_loop_run(struct shardd *d)
{
	int ret;

	/* After a stop, connections take no new requests (conn.c), so the
	 * disk work left drains. */
	while (!d->stop || d->disk_busy) {
		ret = io_uring_submit_and_wait(&d->ring, 1);
		if (ret == -EINTR)
			continue;
		if (ret < 0) {
			pr_err("io_uring_submit_and_wait: %s", strerror(-ret));
			return ret;
		}
		shard_ring_dispatch(&d->ring);
	}
	return 0;
}

void shard_loop_exit(struct shardd *d)
{
	/* The kernel cancels what is in flight when the ring goes; only
	 * then may the buffers those requests point at be freed. */
	io_uring_queue_exit(&d->ring);
	d->exiting = true;
	shard_conn_free_all(d);
	shard_peer_free_all(d);
	shard_backfill_free_all(d);
	shard_scrub_free_all(d);
	shard_push_free_all(d);
	free(d->dirty);
	free(d->members);
	close(d->sig_fd);
}
