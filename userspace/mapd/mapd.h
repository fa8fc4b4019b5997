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

struct mapd {
	struct mapd_state st;
	char *state_path;
	struct mapd_kernel kernel;
	bool map_pushed;	/* the kernel has st.epoch */
	int last_kernel_err;	/* to log a kernel problem once */
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
 * commit saves the file; when that fails the snapshot is restored and
 * the error returned with a reason in err. When placement changed
 * (bump_epoch), the epoch is bumped first and the new map pushed to the
 * kernel (a failed push is retried later, it does not fail the change).
 * The snapshot is consumed.
 */
json_t *mapd_snapshot(struct mapd *m);
int mapd_commit(struct mapd *m, json_t *snap, bool bump_epoch,
		char *err, size_t errlen);

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
