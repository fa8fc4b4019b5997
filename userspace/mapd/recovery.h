/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Recovery progress: what the daemons, as primaries of PGs being
 * backfilled, still have to copy (the "recovery" object of their
 * heartbeats), and how fast they copy. Runtime only: a restarted mapd
 * knows it again with the next heartbeats.
 *
 * A daemon's "copied" only grows while it runs and starts again from 0
 * when it restarts; its rate is taken from the copied figures this mapd
 * saw over about the last RECOVERY_WINDOW seconds (from heartbeats, or
 * in cluster mode from the alive keys of daemons heartbeating to other
 * mapds).
 */
#ifndef _MAPD_RECOVERY_H
#define _MAPD_RECOVERY_H

#include <stdbool.h>
#include <stdint.h>
#include <jansson.h>

struct mapd;

/* One daemon's report, as in daemon-heartbeat. */
struct mapd_recovery {
	uint64_t objects;	/* left to copy */
	uint64_t bytes;		/* left to copy */
	uint64_t copied;	/* bytes, since the daemon started */
};

/* The rate is over about this many seconds. */
#define RECOVERY_WINDOW		10.0
/*
 * No news of copied for this long, the rate is 0: in cluster mode a
 * peer's figures come every USED_REFRESH (10 s) at most, and only while
 * they change.
 */
#define RECOVERY_STALE		25.0
#define RECOVERY_SAMPLES	16

struct recovery_sample {
	double at;		/* monotonic seconds */
	uint64_t copied;
};

/* A daemon's last report and the copied figures seen lately. */
struct recovery_track {
	struct mapd_recovery last;
	struct recovery_sample s[RECOVERY_SAMPLES];	/* oldest first */
	unsigned int n;
};

/* Sums over daemons; rate in bytes per second. */
struct recovery_sum {
	uint64_t objects, bytes, copied, rate;
};

/*
 * The "recovery" field of a heartbeat: zeros when it is absent (daemons
 * that predate it) or null; -EINVAL with a reason naming the field when
 * it is not an object of three non-negative integers.
 */
int recovery_parse(json_t *req, struct mapd_recovery *r, char *err);
/* The same from an alive key's value: zeros unless it is well-formed. */
void recovery_from_json(json_t *v, struct mapd_recovery *r);
static inline bool recovery_is_zero(const struct mapd_recovery *r)
{
	return !r->objects && !r->bytes && !r->copied;
}

/* A report seen at now; copied going down is a restart: a new baseline. */
void recovery_note(struct recovery_track *t, const struct mapd_recovery *r,
		   double now);
void recovery_reset(struct recovery_track *t);
/* Bytes per second over about the last RECOVERY_WINDOW seconds. */
uint64_t recovery_rate(const struct recovery_track *t, double now);
/* Adds t's figures at now to s. */
void recovery_add(struct recovery_sum *s, const struct recovery_track *t,
		  double now);

/*
 * Adds daemon id's figures to s (every daemon's when id is 0): those of
 * the daemons that are up (standalone), or in cluster mode those of
 * every daemon of the cluster that heartbeats to some mapd.
 */
void mapd_recovery(struct mapd *m, uint32_t id, struct recovery_sum *s);
/* The same in cluster mode (cluster_live.c). */
void cluster_recovery(struct mapd *m, uint32_t id, struct recovery_sum *s);

/*
 * status's "recovery": {"objects","bytes","rate","eta","copied"}, eta in
 * seconds or null when the rate is 0 or nothing is left. With eta false,
 * a daemon's (no eta). NULL on ENOMEM.
 */
json_t *recovery_sum_json(const struct recovery_sum *s, bool eta);

/*
 * A local daemon's heartbeat in cluster mode: its alive key, with used
 * and its recovery report (r; NULL: none), put at once when the daemon
 * is new here or its recovery just finished (objects down to 0), else
 * refreshed by the tick (cluster_live.c). cluster_heartbeat() is this
 * with r NULL.
 */
void cluster_heartbeat_recovery(struct mapd *m, uint32_t id, uint64_t used,
				const struct mapd_recovery *r);

#endif /* _MAPD_RECOVERY_H */
