// SPDX-License-Identifier: GPL-2.0-only
/*
 * Our lease, renewed from a thread of its own as well as by the main
 * loop (cluster_keep_lease, which alone takes a new lease and learns
 * whether etcd answers). A lease that runs out declares this host dead:
 * its daemons go down, and its clients are fenced until it reboots or a
 * person lifts the fence (cluster_fence.c). A main loop slowed down by
 * slow etcd requests on a loaded machine renews late, and a lease of a
 * few seconds may then run out under a mapd that is alive; this thread
 * renews every third of the TTL while the main loop shows signs of life
 * (cluster_loop_alive). A main loop stuck for a whole TTL is a hung
 * mapd: the thread stops renewing, and the lease runs out as it should.
 * Only the lease id and a time cross between the threads.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <time.h>

#include "../etcd/etcd.h"
#include "cluster_int.h"
#include "log.h"
#include "mapd.h"

struct ka_ctx {
	struct mapd_cluster *cl;
	struct etcd *e;
};

static int64_t now_ms(void)
{
	return (int64_t)(mapd_now() * 1000);
}

void cluster_loop_alive(struct mapd_cluster *cl)
{
	__atomic_store_n(&cl->ka_lease, cl->lease, __ATOMIC_RELAXED);
	__atomic_store_n(&cl->ka_loop_ms, now_ms(), __ATOMIC_RELAXED);
}

static void *ka_main(void *arg)
{
	struct ka_ctx *k = arg;
	struct mapd_cluster *cl = k->cl;
	const struct timespec step = { 0, 100 * 1000 * 1000 };
	int64_t period = cl->ttl * 1000 / 3, next = now_ms() + period;
	int64_t lease, seen;

	while (!cl->stop) {
		if (now_ms() < next) {
			nanosleep(&step, NULL);
			continue;
		}
		next = now_ms() + period;
		lease = __atomic_load_n(&cl->ka_lease, __ATOMIC_RELAXED);
		seen = __atomic_load_n(&cl->ka_loop_ms, __ATOMIC_RELAXED);
		/* Errors are the main loop's to see, on its own renewal. */
		if (lease && now_ms() - seen < cl->ttl * 1000)
			etcd_lease_keepalive(k->e, lease, NULL);
	}
	etcd_close(k->e);
	free(k);
	return NULL;
}

int cluster_keepalive_start(struct mapd_cluster *cl)
{
	struct ka_ctx *k = calloc(1, sizeof(*k));
	char err[256];
	int ret;

	if (!k)
		return -ENOMEM;
	k->cl = cl;
	/* Handles are per thread. */
	k->e = etcd_open(cl->endpoints, cl->timeout_ms, err, sizeof(err));
	if (!k->e) {
		log_err("etcd: %s", err);
		free(k);
		return -EINVAL;
	}
	cluster_loop_alive(cl);
	ret = pthread_create(&cl->ka_thread, NULL, ka_main, k);
	if (ret) {
		etcd_close(k->e);
		free(k);
		return -ret;
	}
	cl->ka_running = true;
	return 0;
}

void cluster_keepalive_stop(struct mapd_cluster *cl)
{
	if (!cl->ka_running)
		return;
	cl->stop = 1;
	pthread_join(cl->ka_thread, NULL);
	cl->ka_running = false;
}
