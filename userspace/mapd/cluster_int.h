/* SPDX-License-Identifier: GPL-2.0-only */
/* Cluster mode's insides, shared by cluster*.c. */
#ifndef _MAPD_CLUSTER_INT_H
#define _MAPD_CLUSTER_INT_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <jansson.h>

#include "recovery.h"
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
	int64_t refuted_rev;	/* the newest report about it we refuted */
	struct recovery_track rec;	/* from its heartbeats */
	struct mapd_recovery put_rec;	/* in the key we put */
};

/* Another mapd's daemon, as its alive key says. */
struct cluster_alive {
	uint32_t id;
	uint64_t used;
	int64_t mod_rev;	/* newer than a report's create_rev: refuted */
	int64_t lease;		/* whose key it is */
	/* Its recovery, sampled whenever the key was put again (kept
	 * from one refresh to the next; not for our own keys). */
	struct recovery_track rec;
};

/* A reports/ID/NAME key: mapd NAME cannot reach daemon ID. */
struct cluster_report {
	uint32_t id;
	char by[256];
	int64_t create_rev;
	int64_t lease;
	double seen;		/* when this mapd first saw it */
	bool logged;		/* the leader said it marks the daemon down */
};

/* A report this mapd stands by: its key is kept in etcd. */
struct cluster_mine {
	uint32_t id;
	int err;
	char source[80];	/* a daemon's reporter text fits whole */
	bool key_put;		/* written with our current lease */
	bool withdraw;		/* to delete, then forget */
};

/* Client addresses a host's mapd publishes (its daemons'), at most. */
#define CLUSTER_HOST_ADDRS	16

/*
 * A hosts/NAME key (cluster_fence.c): a host whose mapd runs, or ran
 * until its lease ran out (dead: the leader has dealt with that).
 */
struct cluster_host {
	char name[MAPD_NAME_MAX + 1];
	char boot_id[MAPD_BOOT_ID_MAX + 1];	/* "" unknown */
	char addrs[CLUSTER_HOST_ADDRS][MAPD_ADDR_MAX];
	size_t naddrs;
	bool dead;
	int64_t mod_rev;
};

/* A fenced host back with the boot id it was fenced with: said once. */
struct cluster_fence_said {
	char host[MAPD_NAME_MAX + 1];
	int64_t lease;			/* its mapd's */
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
	/* A lost map write re-reads, which may lead again: refresh -> lead
	 * -> refresh, kept to one such round per call. */
	int lead_depth;
	int64_t leader_rev;		/* our leader key's create_revision */
	char leader_name[256];
	char mapds[CLUSTER_MAX_MAPDS][256];
	int64_t mapd_leases[CLUSTER_MAX_MAPDS];
	/* Their kernels' boot ids from their mapds/ keys ("" unknown). */
	char mapd_boot_ids[CLUSTER_MAX_MAPDS][MAPD_BOOT_ID_MAX + 1];
	size_t nmapds;

	/* Fencing (cluster_fence.c). This host: its kernel's boot id and
	 * its daemons' addresses, as its mapds/ and hosts/ keys say. */
	char boot_id[MAPD_BOOT_ID_MAX + 1];
	char addrs[CLUSTER_HOST_ADDRS][MAPD_ADDR_MAX];
	size_t naddrs;
	bool self_put;			/* both keys say so, this lease */
	int64_t self_fenced_at;		/* our fence we logged */
	struct cluster_host *hosts;	/* from etcd, every hosts/ key */
	size_t nhosts, hosts_cap;
	bool fencing;			/* leader: committing a fence */
	struct cluster_fence_said *said;	/* leader */
	size_t nsaid;

	struct cluster_alive *alive;	/* from etcd, all daemons */
	size_t nalive, alive_cap;
	/* During a refresh: the alive keys of the one before (their
	 * recovery samples go on); allocated by the first alive key
	 * noted, freed by cluster_check_alive_keys(). */
	struct cluster_alive *alive_prev;
	size_t nalive_prev;
	size_t nalive_last;		/* nalive after the last refresh */
	struct cluster_local *local;	/* heartbeating here */
	size_t nlocal;
	struct cluster_down *downs;	/* leader only */
	size_t ndowns;
	struct cluster_report *reports;	/* from etcd, all mapds' */
	size_t nreports;
	struct cluster_report *old_reports;	/* during a refresh */
	size_t nold_reports;
	struct cluster_mine *mine;	/* reports we stand by */
	size_t nmine;

	/* pg-backfilled through etcd (cluster_backfill.c) */
	bool bf_seen;			/* a request key at the last refresh */
	bool bf_serving;		/* the leader answers them now */
	uint32_t bf_seq;		/* our requests' numbers */

	/* Scrub records (cluster_scrub.c): read by a refresh, they make
	 * the view at its end; bad ones up to scrub_bad_rev are logged. */
	struct cluster_scrub_notes *scrub_notes;
	int64_t scrub_bad_rev;

	/* The lease's second renewer (cluster_keepalive.c): the lease to
	 * renew and when the main loop last showed life (ms), atomics. */
	pthread_t ka_thread;
	bool ka_running;
	int64_t ka_lease, ka_loop_ms;

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
/* After a refresh: our daemons whose alive key is gone or not ours
 * (and the end of the refresh for the alive keys' recovery samples). */
void cluster_check_alive_keys(struct mapd_cluster *cl);
/* d->used from the alive keys (or our own heartbeats). */
void cluster_used(struct mapd_cluster *cl, struct mapd_daemon *d);
bool cluster_is_alive(struct mapd_cluster *cl, uint32_t id);
/* alive/ID's mod_revision; 0 when there is no such key. */
int64_t cluster_alive_rev(struct mapd_cluster *cl, uint32_t id);
/*
 * Up as the leader places it: alive, and not condemned by a report
 * that the daemon's host mapd left unrefuted for the refute window.
 */
bool cluster_is_up(struct mapd *m, uint32_t id);

/*
 * Peer reports (cluster_report.c). A refresh calls begin, note for
 * each reports/ key (rest: "ID/NAME"), then end once the mapds are
 * known.
 */
void cluster_reports_begin(struct mapd_cluster *cl);
void cluster_note_report(struct mapd_cluster *cl, const char *rest,
			 const struct etcd_kv *kv);
void cluster_reports_end(struct mapd_cluster *cl);
/* A new leader: every window starts now. */
void cluster_reports_restart(struct mapd_cluster *cl);
/* Writes and withdraws our own reports as needed (the tick). */
void cluster_reports_sync(struct mapd *m);
/* The host mapd's answer: re-puts alive/ID of a local daemon that
 * heartbeats and has a report against it (cluster_live.c). */
void cluster_refute(struct mapd *m);
/* Freshest heartbeat that refutes a report (seconds). */
double cluster_refute_age(struct mapd *m);
/* Leader: places from config and liveness, writes a new map if needed. */
void cluster_lead(struct mapd *m);

/* Renews our lease when due, or takes a new one (cluster_live.c). */
void cluster_keep_lease(struct mapd_cluster *cl);
/*
 * A thread that renews our lease too while the main loop lives
 * (cluster_keepalive.c); the main loop calls cluster_loop_alive() on
 * each tick and refresh, and whenever the lease changed.
 */
int cluster_keepalive_start(struct mapd_cluster *cl);
void cluster_keepalive_stop(struct mapd_cluster *cl);
void cluster_loop_alive(struct mapd_cluster *cl);

/*
 * pg-backfilled in a cluster (cluster_backfill.c). A refresh notes the
 * backfilled/NAME keys (rest: NAME): ours are answers nobody waits for
 * any more. The leader then answers the backfill/NAME requests.
 */
void cluster_backfill_note_done(struct mapd *m, const char *rest);
void cluster_backfill_serve(struct mapd *m);

/*
 * Scrub records (cluster_scrub.c): a refresh calls begin, note for each
 * scrub/ key (rest: what follows "scrub/"), then end once m->st is the
 * new state, which rebuilds m->scrub from the records (and, leading,
 * deletes those of removed pools).
 */
void cluster_scrub_begin(struct mapd_cluster *cl);
void cluster_scrub_note(struct mapd *m, const char *rest,
			const struct etcd_kv *kv);
void cluster_scrub_end(struct mapd *m);

/*
 * Fencing (cluster_fence.c). Each mapd puts mapds/NAME (with its lease)
 * and hosts/NAME (without one) saying its kernel's boot id and its
 * daemons' addresses: cluster_register_self() with a new lease,
 * cluster_self_sync() on the tick when the addresses change, and
 * cluster_self_leave() drops hosts/NAME on a stop on purpose. A refresh
 * calls cluster_hosts_begin, then cluster_note_host for each hosts/ key
 * (rest: NAME) and cluster_note_mapd for each mapds/ key (i: its index
 * in mapds[]). The leader's cluster_fence() fences the clients of a
 * host whose mapds/ key went while its hosts/ key stayed, and lifts the
 * fence of a host back with another boot id; true if it changed the
 * config (it is placed from there).
 */
void cluster_read_boot_id(struct mapd_cluster *cl);
int cluster_register_self(struct mapd_cluster *cl);
void cluster_self_sync(struct mapd *m);
void cluster_self_leave(struct mapd_cluster *cl);
void cluster_hosts_begin(struct mapd_cluster *cl);
void cluster_note_host(struct mapd_cluster *cl, const char *rest,
		       const struct etcd_kv *kv);
void cluster_note_mapd(struct mapd_cluster *cl, size_t i,
		       const struct etcd_kv *kv);
bool cluster_fence(struct mapd *m);

int cluster_watch_start(struct mapd *m);
void cluster_watch_stop(struct mapd *m);

#endif /* _MAPD_CLUSTER_INT_H */
