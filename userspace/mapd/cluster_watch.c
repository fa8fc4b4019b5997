// SPDX-License-Identifier: GPL-2.0-only
/*
 * The watch thread: follows every key of the cluster and wakes the main
 * loop up, which re-reads what it needs. It never touches the state.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../etcd/etcd.h"
#include "cluster.h"
#include "cluster_int.h"
#include "log.h"
#include "mapd.h"

/*
 * Set: each change is passed on this many ms late (tests: a mapd whose
 * view lags behind etcd, as one on a slow or busy host does).
 */
#define LAG_ENV		"SHARD_MAPD_TEST_WATCH_LAG_MS"

struct watch_ctx {
	struct mapd_cluster *cl;
	struct etcd *e;
	int64_t from;
	long lag_ms;
};

static void wake(struct mapd_cluster *cl)
{
	char c = 'w';

	/* Full pipe: the main loop has a wake-up pending anyway. */
	if (write(cl->pipe[1], &c, 1) < 0 && errno != EAGAIN)
		log_warn("watch: cannot wake the main loop: %s",
			 strerror(errno));
}

static int on_event(void *arg, enum etcd_ev_type type,
		    const struct etcd_kv *kv, int64_t rev)
{
	struct watch_ctx *w = arg;
	struct timespec tick = { 0, 10 * 1000 * 1000 };
	long ms;

	(void)type;
	(void)kv;
	(void)rev;
	for (ms = 0; ms < w->lag_ms && !w->cl->stop; ms += 10)
		nanosleep(&tick, NULL);
	wake(w->cl);
	return 0;
}

static void *watch_main(void *arg)
{
	struct watch_ctx *w = arg;
	struct mapd_cluster *cl = w->cl;
	struct timespec pause = { 0, 500 * 1000 * 1000 };
	int64_t last = 0;
	int ret;

	while (!cl->stop) {
		last = w->from > 0 ? w->from - 1 : 0;
		/* Whatever happened while we were not watching. */
		wake(cl);
		ret = etcd_watch(w->e, cl->prefix, w->from, on_event, w,
				 &cl->stop, &last);
		if (cl->stop)
			break;
		if (last > 0)
			w->from = last + 1;
		if (ret == -ESTALE)
			continue;	/* compacted: from the compact revision */
		nanosleep(&pause, NULL);
	}
	etcd_close(w->e);
	free(w);
	return NULL;
}

int cluster_watch_start(struct mapd *m)
{
	struct mapd_cluster *cl = m->cl;
	struct watch_ctx *w = calloc(1, sizeof(*w));
	char err[256];
	int ret;

	if (!w)
		return -ENOMEM;
	w->cl = cl;
	w->from = cl->watch_from;
	if (getenv(LAG_ENV))
		w->lag_ms = strtol(getenv(LAG_ENV), NULL, 10);
	/* Handles are per thread. */
	w->e = etcd_open(cl->endpoints, cl->timeout_ms, err, sizeof(err));
	if (!w->e) {
		log_err("etcd: %s", err);
		free(w);
		return -EINVAL;
	}
	ret = pthread_create(&cl->thread, NULL, watch_main, w);
	if (ret) {
		etcd_close(w->e);
		free(w);
		return -ret;
	}
	cl->thread_running = true;
	return 0;
}

void cluster_watch_stop(struct mapd *m)
{
	struct mapd_cluster *cl = m->cl;

	if (!cl->thread_running)
		return;
	cl->stop = 1;
	pthread_join(cl->thread, NULL);
	cl->thread_running = false;
}
