/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Cluster mode: the state lives in etcd (see cluster_doc.c for the two
 * documents), every mapd watches it and keeps its kernel and its local
 * daemons in step, and the mapd holding the leader key (created with its
 * lease) alone computes placement and writes each new epoch.
 *
 * Keys, under /shard/CLUSTER/:
 *   config       the config document (any mapd, compare-and-swap)
 *   map          the map document (the leader, guarded by its key)
 *   leader       the leader's name, bound to its lease
 *   mapds/NAME   one per running mapd, bound to its lease: its kernel's
 *                boot id and its daemons' addresses
 *   hosts/NAME   the same without a lease: a host whose mapd runs or
 *                died (its mapd removes it when stopped on purpose);
 *                the leader fences the clients of one whose mapds/NAME
 *                is gone and marks it dead (see cluster_fence.c)
 *   alive/ID     one per daemon heartbeating to some mapd, bound to that
 *                mapd's lease: a daemon is up while its key exists
 *   reports/ID/NAME  mapd NAME cannot reach daemon ID, bound to NAME's
 *                lease; counts until alive/ID is written again (see
 *                cluster_report.c)
 *   backfill/REQ, backfilled/REQ  a pg-backfilled request for the
 *                leader and its answer, bound to the asking mapd's lease
 *                (see cluster_backfill.c)
 *   scrub/pg/PGID, scrub/pool/ID  scrub requests and outcomes, no lease
 *                (see cluster_scrub.c)
 *
 * etcd calls are made from the main loop with a short timeout; the watch
 * runs in a thread of its own and only wakes the main loop up.
 */
#ifndef _MAPD_CLUSTER_H
#define _MAPD_CLUSTER_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

struct mapd;

struct mapd_cluster_opts {
	const char *endpoints;	/* etcd client URLs, comma-separated */
	const char *name;	/* cluster name: the key prefix */
	const char *self;	/* this mapd's name (its host) */
	long timeout_ms;	/* per etcd request */
};

/*
 * Joins the cluster, or creates it from m's state when etcd has none.
 * etcd being unreachable is not an error: the mapd serves the state it
 * has (its state file is the cache of the last map) and retries.
 */
int cluster_start(struct mapd *m, const struct mapd_cluster_opts *o);
void cluster_stop(struct mapd *m);

/* Readable when the watch saw a change; then call cluster_refresh(). */
int cluster_event_fd(struct mapd *m);
void cluster_refresh(struct mapd *m);
/*
 * Reads etcd's state now rather than when the watch says so; true when
 * the config or the map was newer there than here.
 */
bool cluster_catch_up(struct mapd *m);
/* Lease, liveness keys, election and leader duties; about once a second. */
void cluster_tick(struct mapd *m);

/*
 * Writes m->st's config to etcd (compare-and-swap). On a conflict the
 * snapshot is restored, the state refreshed and -EAGAIN returned: the
 * caller runs its command again.
 */
int cluster_commit(struct mapd *m, json_t *snap, char *err, size_t errlen);

/*
 * The leader writes m->st's tables (changed since snap, which it
 * consumes) as the next map epoch; m->st is then etcd's, that epoch's
 * when it was written. -EAGAIN when another write won or we no longer
 * lead (run the command again), else -errno with err set.
 */
int cluster_commit_map(struct mapd *m, json_t *snap, char *err,
		       size_t errlen);

/*
 * pg-backfilled on a mapd that does not lead: puts the request under
 * backfill/ for the leader, which applies it (mapd_backfilled) and puts
 * its answer under backfilled/; waits for it for CLUSTER_BACKFILL_WAIT_MS
 * at most (keeping our lease), and withdraws the request if it is not
 * answered by then (-ETIMEDOUT: the daemon tries again with the next
 * map). reply gets the leader's "epoch" and "refused".
 */
#define CLUSTER_BACKFILL_WAIT_MS	3000
int cluster_backfill_ask(struct mapd *m, json_t *req, json_t *reply,
			 char *err, size_t errlen);
/* Whether this mapd is in a cluster and does not lead it. */
bool cluster_follows(struct mapd *m);

/* A local daemon's heartbeat: keeps its alive key. */
void cluster_heartbeat(struct mapd *m, uint32_t id, uint64_t used);

/* A local daemon's session closed: its alive key goes at once. */
void cluster_daemon_gone(struct mapd *m, uint32_t id);

/*
 * Daemon id is unreachable from this host, or reachable again (see
 * cluster_report.c): keeps our reports/ID/SELF key in etcd, or
 * withdraws it. source says who told us ("kernel", a daemon's text).
 */
void cluster_peer_report(struct mapd *m, uint32_t id, bool unreachable,
			 int err, const char *source);
/* The mapds that report daemon id unreachable (a JSON array). */
json_t *cluster_reporters_json(struct mapd *m, uint32_t id);

/*
 * The boot id mapd name's mapds/ key says its kernel has ("" when it
 * does not say); NULL when no such mapd runs (or not in cluster mode).
 */
const char *cluster_mapd_boot_id(struct mapd *m, const char *name);

/* The cluster's name; NULL when not in cluster mode. */
const char *cluster_name(struct mapd *m);

/* "mode", "leader", "etcd" fields of the status reply. */
void cluster_status(struct mapd *m, json_t *reply);

#endif /* _MAPD_CLUSTER_H */
