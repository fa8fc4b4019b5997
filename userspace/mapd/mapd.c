// SPDX-License-Identifier: GPL-2.0-only
/* shard-mapd's core: state file, commits, and keeping the kernel in step. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <time.h>

#include "cluster.h"
#include "genl_event.h"
#include "log.h"
#include "mapd.h"
#include "place.h"
#include "scrub.h"

double mapd_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Daemons up in the file get a grace period to say they still are. */
static void start_clocks(struct mapd *m)
{
	double now = mapd_now();
	size_t i;

	for (i = 0; i < m->st.ndaemons; i++) {
		m->st.daemons[i].last_seen = now;
		m->st.daemons[i].down_since = m->st.daemons[i].up ? 0 : now;
	}
}

int mapd_init(struct mapd *m, const char *state_path)
{
	char err[512];
	int ret;

	m->state_path = strdup(state_path);
	if (!m->state_path)
		return -ENOMEM;
	if (!m->grace)
		m->grace = MAPD_DEFAULT_GRACE;
	ret = state_load(&m->st, state_path, err, sizeof(err));
	if (ret == -ENOENT) {
		ret = state_init(&m->st);
		if (ret)
			return ret;
		ret = state_save(&m->st, state_path);
		if (ret) {
			log_err("cannot create state file %s: %s",
				state_path, strerror(-ret));
			return ret;
		}
		log_info("created state file %s with pool \"%s\"",
			 state_path, MAPD_DEFAULT_POOL);
		return mapd_place(&m->st) < 0 ? -ENOMEM : 0;
	}
	if (ret) {
		log_err("cannot load state file %s; refusing to start",
			err);
		return ret;
	}
	log_info("loaded %s: epoch %llu, %zu daemons, %zu pools",
		 state_path, (unsigned long long)m->st.epoch,
		 m->st.ndaemons, m->st.npools);
	start_clocks(m);
	/* A version 1 file has no tables: they are placed now, and saved
	 * with the next change (the epoch moves then). */
	ret = mapd_place(&m->st);
	if (ret > 0) {
		json_t *snap = mapd_snapshot(m);

		ret = mapd_commit(m, snap, true, err, sizeof(err));
	}
	return ret < 0 ? ret : 0;
}

void mapd_fini(struct mapd *m)
{
	cluster_stop(m);
	kevents_close(m->events);
	if (m->kernel.ops)
		m->kernel.ops->close(m->kernel.priv);
	scrub_free(m);
	state_free(&m->st);
	free(m->state_path);
	memset(m, 0, sizeof(*m));
}

json_t *mapd_snapshot(struct mapd *m)
{
	return state_to_json(&m->st);
}

void mapd_restore(struct mapd *m, json_t *snap)
{
	struct mapd_state st;
	char err[256];
	size_t i;

	/* A snapshot we made ourselves always loads back. */
	if (snap && !state_from_json(&st, snap, err, sizeof(err))) {
		/* Runtime fields are not in the snapshot. */
		for (i = 0; i < st.ndaemons; i++) {
			struct mapd_daemon *old =
				state_daemon(&m->st, st.daemons[i].id);

			if (old) {
				st.daemons[i].used = old->used;
				st.daemons[i].last_seen = old->last_seen;
				st.daemons[i].down_since = old->down_since;
				st.daemons[i].rec = old->rec;
			}
		}
		state_free(&m->st);
		m->st = st;
		/* Runtime figures; in a cluster the leader's map has them. */
		if (!m->cl)
			mapd_place(&m->st);
	} else {
		log_err("cannot restore state after a failed save: %s",
			snap ? err : "no snapshot");
	}
}

int mapd_commit(struct mapd *m, json_t *snap, bool bump_epoch,
		char *err, size_t errlen)
{
	struct kerr kerr;
	int ret;

	if (!snap) {
		snprintf(err, errlen, "out of memory");
		ret = -ENOMEM;
		goto out;
	}
	/* The leader places and numbers epochs in a cluster. */
	if (m->cl)
		return cluster_commit(m, snap, err, errlen);
	ret = mapd_place(&m->st);
	if (ret < 0) {
		snprintf(err, errlen, "out of memory");
		mapd_restore(m, snap);
		goto out;
	}
	if (ret > 0)
		bump_epoch = true;
	if (bump_epoch)
		m->st.epoch++;
	ret = state_save(&m->st, m->state_path);
	if (ret) {
		snprintf(err, errlen, "cannot save state file %s: %s",
			 m->state_path, strerror(-ret));
		log_err("%s", err);
		mapd_restore(m, snap);
		goto out;
	}
	if (bump_epoch) {
		m->map_pushed = false;
		mapd_sync_kernel(m, &kerr);
	}
out:
	json_decref(snap);
	return ret;
}

static void kernel_problem(struct mapd *m, int ret, const struct kerr *err)
{
	if (ret == m->last_kernel_err)
		return;
	m->last_kernel_err = ret;
	if (ret == -KERNEL_ENOTLOADED)
		log_warn("%s; will push the map when it appears", err->msg);
	else if (ret)
		log_err("cannot push map to the kernel: %s", err->msg);
}

int mapd_sync_kernel(struct mapd *m, struct kerr *err)
{
	const struct kernel_ops *ops = m->kernel.ops;
	struct kstatus ks;
	int ret;

	err->msg[0] = '\0';
	if (!ops)
		return 0;
	ret = ops->get_status(m->kernel.priv, &ks, err);
	if (ret)
		goto out;
	free(ks.daemons);
	if (ks.epoch > m->st.epoch && m->cl) {
		snprintf(err->msg, sizeof(err->msg),
			 "the kernel has map epoch %llu, ahead of the cluster's %llu; it takes the cluster's map once the cluster passes it (or the module is reloaded)",
			 (unsigned long long)ks.epoch,
			 (unsigned long long)m->st.epoch);
		ret = -ESTALE;
		goto out;
	}
	if (ks.epoch > m->st.epoch) {
		json_t *snap = mapd_snapshot(m);
		char msg[256];

		log_warn("kernel has map epoch %llu, ahead of ours (%llu); moving past it",
			 (unsigned long long)ks.epoch,
			 (unsigned long long)m->st.epoch);
		m->st.epoch = ks.epoch;
		/* The commit bumps once more and comes back here. */
		return mapd_commit(m, snap, true, msg, sizeof(msg));
	}
	if (ks.epoch == m->st.epoch && m->map_pushed)
		goto out;
	ret = ops->set_map(m->kernel.priv, &m->st, err);
	if (!ret) {
		if (!m->map_pushed || m->last_kernel_err)
			log_info("pushed map epoch %llu to the kernel",
				 (unsigned long long)m->st.epoch);
		m->map_pushed = true;
	}
out:
	if (ret)
		m->map_pushed = false;
	kernel_problem(m, ret, err);
	return ret;
}

int mapd_devices(struct mapd *m, struct kdev **devs, size_t *n,
		 struct kerr *err)
{
	int ret;

	*devs = NULL;
	*n = 0;
	if (!m->kernel.ops)
		return 0;
	ret = m->kernel.ops->list_devs(m->kernel.priv, devs, n, err);
	if (ret == -KERNEL_ENOTLOADED)
		ret = 0;
	return ret;
}

void mapd_tick(struct mapd *m)
{
	double now = mapd_now();
	char err[256];
	size_t i;

	if (m->cl) {
		cluster_tick(m);
		return;
	}
	for (i = 0; i < m->st.ndaemons; i++) {
		struct mapd_daemon *d = &m->st.daemons[i];
		json_t *snap;

		if (d->up && now - d->last_seen > m->grace) {
			snap = mapd_snapshot(m);
			d->up = false;
			d->down_since = now;
			if (!mapd_commit(m, snap, true, err, sizeof(err)))
				log_warn("daemon %u is down: no heartbeat for %.0f s",
					 d->id, now - d->last_seen);
		} else if (!d->up && d->in && m->out_after > 0 &&
			   d->down_since && now - d->down_since > m->out_after) {
			snap = mapd_snapshot(m);
			d->in = false;
			if (!mapd_commit(m, snap, true, err, sizeof(err)))
				log_warn("daemon %u is out: down for %.0f s; its PGs move",
					 d->id, now - d->down_since);
		}
	}
}

void mapd_daemon_gone(struct mapd *m, uint32_t id)
{
	struct mapd_daemon *d = state_daemon(&m->st, id);
	char err[256];
	json_t *snap;

	if (m->cl) {
		cluster_daemon_gone(m, id);
		return;
	}
	if (!d || !d->up)
		return;
	snap = mapd_snapshot(m);
	d->up = false;
	d->down_since = mapd_now();
	if (!mapd_commit(m, snap, true, err, sizeof(err)))
		log_warn("daemon %u is down: its session closed", id);
}
