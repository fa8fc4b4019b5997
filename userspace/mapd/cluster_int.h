/* SPDX-License-Identifier: GPL-2.0-only */
/* Cluster mode's insides, shared by cluster*.c. */
#ifndef _MAPD_CLUSTER_INT_H
#define _MAPD_CLUSTER_INT_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <jansson.h>

#include "state.h"

struct etcd;
struct etcd_kv;
struct mapd;

#define CLUSTER_MAX_MAPDS	64

/* A daemon heartbeating to this mapd. */
struct cluster_local {
	uint32_t id;
	double last_hb;
	uint64_t used;
	bool key_put;		/* its alive key exists, with our lease */
	uint64_t put_used;
	double put_at;
};

/* Another mapd's daemon, as its alive key says. */
struct cluster_alive {
	uint32_t id;
	uint64_t used;
};

/* A daemon the leader has seen down, and since when. */
struct cluster_down {
	uint32_t id;
	double since;
};

struct mapd_cluster {
	struct etcd *e;			/* the main loop's handle */
	char *prefix, *name, *self, *endpoints;
	long timeout_ms;
	int64_t ttl;			/* lease seconds: the grace period */

	bool joined;			/* config exists and we read it */
	bool reachable;
	char error[256];		/* the last etcd problem */
	double next_try;		/* when unreachable: not before */

	json_t *config, *map;		/* the documents we hold */
	int64_t config_rev, map_rev;	/* their mod_revisions */
	bool map_unreadable;		/* etcd's map is not JSON */

	int64_t lease;			/* 0: none */
	double next_keepalive;
	bool leader;
	int64_t leader_rev;		/* our leader key's create_revision */
	char leader_name[256];
	char mapds[CLUSTER_MAX_MAPDS][256];
	size_t nmapds;

	struct cluster_alive *alive;	/* from etcd, all daemons */
	size_t nalive, alive_cap;
	struct cluster_local *local;	/* heartbeating here */
	size_t nlocal;
	struct cluster_down *downs;	/* leader only */
	size_t ndowns;

	int pipe[2];			/* watch -> main loop */
	pthread_t thread;
	bool thread_running;
	volatile int stop;
	int64_t watch_from;
};

void cluster_free(struct mapd_cluster *cl);
/* Joins (or creates) the cluster; -errno while etcd does not answer. */
int cluster_join(struct mapd *m);
void cluster_unreachable(struct mapd_cluster *cl, const char *what);
void cluster_reachable(struct mapd_cluster *cl);
/* Records alive/ID (id_str) from a refresh. */
void cluster_note_alive(struct mapd_cluster *cl, const char *id_str,
			const struct etcd_kv *kv);
/* d->used from the alive keys (or our own heartbeats). */
void cluster_used(struct mapd_cluster *cl, struct mapd_daemon *d);
bool cluster_is_alive(struct mapd_cluster *cl, uint32_t id);
/* Leader: places from config and liveness, writes a new map if needed. */
void cluster_lead(struct mapd *m);

int cluster_watch_start(struct mapd *m);
void cluster_watch_stop(struct mapd *m);

#endif /* _MAPD_CLUSTER_INT_H */
