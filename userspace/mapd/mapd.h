/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * shard-mapd's core: the state, where it is saved, and the kernel it
 * keeps in step with it.
 */
#ifndef _MAPD_MAPD_H
#define _MAPD_MAPD_H

#include <jansson.h>

#include "kernel.h"
#include "state.h"

#define MAPD_DEFAULT_GRACE	5	/* seconds without heartbeat: down */
#define MAPD_DEFAULT_OUT_AFTER	600	/* seconds down: out */

struct mapd_cluster;
struct mapd_scrub;
struct kevents;

struct mapd {
	struct mapd_state st;
	struct mapd_cluster *cl;	/* NULL: embedded mode */
	double grace;			/* seconds */
	double out_after;		/* seconds; 0 never */
	char *state_path;
	/* For "cluster-create" and "cluster-join": --name's default and
	 * --etcd-timeout. */
	char hostname[256];
	long etcd_timeout_ms;
	/* Set on joining a cluster: the daemons' sessions are closed so
	 * that they register again (their ids were given here alone). */
	bool drop_daemon_sessions;
	struct mapd_kernel kernel;
	struct kevents *events;	/* the kernel's events; NULL: none */
	bool map_pushed;	/* the kernel has st.epoch */
	/* While a request is handled: where to note that the connection
	 * is a daemon's session (its id), or NULL. */
	uint32_t *client_daemon;
	int last_kernel_err;	/* to log a kernel problem once */
	/* Scrub requests and outcomes (scrub.h); never saved. */
	struct mapd_scrub *scrub;
};

/*
 * Loads the state file, or creates it with the default pool when it does
 * not exist. Any other failure (unreadable, corrupt) is reported and
 * returned: the file is never overwritten then.
 */
int mapd_init(struct mapd *m, const char *state_path);
void mapd_fini(struct mapd *m);

/*
 * Changing the state: take a snapshot, change m->st, then commit. The
 * commit places the pools again, saves the file; when that fails the
 * snapshot is restored and the error returned with a reason in err.
 * When the map changed (bump_epoch: daemons' addresses or up/down; or
 * a PG table moved), the epoch is bumped first and the new map pushed
 * to the kernel (a failed push is retried later, it does not fail the
 * change).
 * The snapshot is consumed.
 */
json_t *mapd_snapshot(struct mapd *m);
/* Puts a snapshot back (keeping runtime fields); does not consume it. */
void mapd_restore(struct mapd *m, json_t *snap);
int mapd_commit(struct mapd *m, json_t *snap, bool bump_epoch,
		char *err, size_t errlen);

/*
 * pg-backfilled's checks and change (cmd_backfill.c) on m->st, in one
 * new epoch: a mapd alone, or a cluster's leader for a request that
 * reached any mapd. reply gets "epoch" (and "refused"); else -errno
 * with err (ERRLEN bytes) set.
 */
int mapd_backfilled(struct mapd *m, json_t *req, json_t *reply, char *err);

/* Monotonic seconds. */
double mapd_now(void);

/*
 * Liveness, called about once a second: a daemon silent for longer
 * than the grace period is marked down, one down for longer than
 * out_after is marked out (its PGs are placed elsewhere). Each change is
 * a new epoch.
 */
void mapd_tick(struct mapd *m);

/* Daemon id's session with us closed: it is down (see server.c). */
void mapd_daemon_gone(struct mapd *m, uint32_t id);

/*
 * Brings the kernel's map up to st.epoch when it is behind (or was
 * reloaded). If the kernel is ahead (the state file is older than the
 * map it has), the epoch moves past it. Called at start, after changes
 * and periodically. -errno when the map could not be pushed.
 */
int mapd_sync_kernel(struct mapd *m, struct kerr *err);

/*
 * The devices the kernel has. With no kernel or the module not loaded
 * that is none, and 0 is returned.
 */
int mapd_devices(struct mapd *m, struct kdev **devs, size_t *n,
		 struct kerr *err);

#endif /* _MAPD_MAPD_H */
