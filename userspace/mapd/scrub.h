/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Scrub bookkeeping (cmd_scrub.c): the scrubs an admin asked for, which
 * primary each was handed to, and the outcome of each PG's last complete
 * scrub. Kept in memory only: a restarted mapd knows of no scrub, and the
 * daemons' own schedule fills the figures in again.
 */
#ifndef _MAPD_SCRUB_H
#define _MAPD_SCRUB_H

#include <stdint.h>
#include <jansson.h>

#include "mapd.h"

/* At most this many requests in one heartbeat reply. */
#define SCRUB_PER_HEARTBEAT	16

/* Frees m->scrub (mapd_fini). */
void scrub_free(struct mapd *m);

/*
 * Daemon id heartbeats: hands it the queued requests of the PGs it is the
 * primary of, as the reply's "scrub" array (left out when none). Requests
 * handed to a daemon that is no longer its PG's primary are queued again
 * first. -ENOMEM.
 */
int scrub_heartbeat(struct mapd *m, uint32_t id, json_t *reply);

/* Daemon id (re)started: the scrubs it was handed are queued again. */
void scrub_daemon_restarted(struct mapd *m, uint32_t id);

/*
 * Before listing PGs: requests whose primary changed go back to the
 * queue, so that "+scrubbing" is true.
 */
void scrub_recheck(struct mapd *m);

/*
 * PG pg of pool p's scrub fields for pg-ls, added to o: last_scrub,
 * last_deep_scrub (unix seconds or null), scrub_errors, scrub_repaired,
 * and "+scrubbing", "+scrub_queued", "+inconsistent" appended to o's
 * "state".
 */
void scrub_pg_json(struct mapd *m, const struct mapd_pool *p, uint32_t pg,
		   json_t *o);

/* How many PGs of pool p have errors their last scrub did not repair. */
uint32_t scrub_inconsistent(struct mapd *m, const struct mapd_pool *p);

#endif /* _MAPD_SCRUB_H */
