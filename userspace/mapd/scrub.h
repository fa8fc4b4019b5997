/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Scrub bookkeeping (cmd_scrub.c): the scrubs an admin asked for, which
 * primary each was handed to, and the outcome of each PG's last complete
 * scrub, one struct pg_scrub per PG.
 *
 * A mapd alone keeps them in memory only: a restarted mapd knows of no
 * scrub, and the daemons' own schedule fills the figures in again. In
 * cluster mode the records live in etcd (cluster_scrub.c) and the
 * memory holds a view of them, rebuilt at each refresh: the same
 * transitions, the same pg-ls fields, on every mapd.
 */
#ifndef _MAPD_SCRUB_H
#define _MAPD_SCRUB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#include "mapd.h"

/* At most this many requests in one heartbeat reply. */
#define SCRUB_PER_HEARTBEAT	16

enum { SCRUB_NONE, SCRUB_LIGHT, SCRUB_DEEP };	/* ordered: deep wins */

/* One PG's scrubs. */
struct pg_scrub {
	int64_t last;		/* unix seconds of the last complete scrub */
	int64_t last_deep;	/* of the last complete deep one; 0: never */
	uint64_t errors;	/* left unrepaired by the last complete one */
	uint64_t repaired;	/* by every complete scrub so far */
	uint8_t queued;		/* asked for, not handed out yet */
	uint8_t running;	/* handed out, no outcome yet */
	uint32_t runner;	/* the daemon it was handed to */
	/* Cluster mode: the pool-wide request (struct scrub_pool_req)
	 * this record has taken in, by its etcd revision; 0: none. */
	int64_t pool_rev;
};

/*
 * Cluster mode: the last "pool-scrub" of a pool, by the etcd revision
 * of its key, and the last deep one (the same revision, an earlier
 * one, or 0). A PG whose record took in less has it queued.
 */
struct scrub_pool_req {
	int64_t rev;
	int64_t deep_rev;
};

/* Frees m->scrub (mapd_fini; in cluster mode, before a new view). */
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

/*
 * The rules, on one record (cmd_scrub.c), for the cluster code:
 * a request of kind (SCRUB_LIGHT or SCRUB_DEEP) is queued unless one
 * at least as deep is queued or under way.
 */
void scrub_want(struct pg_scrub *s, uint8_t kind);
/* "2.1f" (pool id in decimal, a dot, the PG in hex, nothing else). */
int scrub_parse_pgid(const char *s, uint64_t *pool, uint64_t *pg);

/*
 * The view in memory: PG pg of pool p's record (all zero when it has
 * none), and setting it; pool p's pool-wide request. -ENOMEM.
 */
void scrub_view_get(struct mapd *m, const struct mapd_pool *p, uint32_t pg,
		    struct pg_scrub *out);
int scrub_view_set(struct mapd *m, const struct mapd_pool *p, uint32_t pg,
		   const struct pg_scrub *s);
void scrub_view_req(struct mapd *m, const struct mapd_pool *p,
		    struct scrub_pool_req *out);
int scrub_view_set_req(struct mapd *m, const struct mapd_pool *p,
		       const struct scrub_pool_req *req);

/*
 * Cluster mode (cluster_scrub.c). A change of one record: true when it
 * changed s. It may run more than once (on a fresh copy each time).
 */
typedef bool (*scrub_change_fn)(struct pg_scrub *s, void *arg);

/*
 * Applies fn to PG pg of pool p's record in etcd (compare-and-swap,
 * again on a conflict) and puts the outcome in the view and in *out
 * (may be NULL). 0, or -EHOSTUNREACH (etcd), -EBUSY (lost every race),
 * -ENOMEM with err (errlen bytes) set.
 */
int cluster_scrub_change(struct mapd *m, const struct mapd_pool *p,
			 uint32_t pg, scrub_change_fn fn, void *arg,
			 struct pg_scrub *out, char *err, size_t errlen);

/*
 * A scrub of every PG of pool p: one key, pool p's request (see struct
 * scrub_pool_req), whatever the number of PGs. Errors as above.
 */
int cluster_scrub_pool(struct mapd *m, const struct mapd_pool *p, bool deep,
		       char *err, size_t errlen);

#endif /* _MAPD_SCRUB_H */
