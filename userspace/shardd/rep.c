// SPDX-License-Identifier: GPL-2.0-only
/*
 * Replication from the primary (rep.h).
 *
 * An op has one target per member it must reach. A target's message is
 * with the peer layer (busy) until its reply or cancellation comes
 * back; the op, and its buffer, live until it finished, the caller
 * released it and no target is busy. evaluate() is the one place that
 * decides: it re-reads the members from the map, sends to targets that
 * need it, and finishes the op. It runs when the op starts (on the next
 * turn of the loop), on every reply and on every new map.
 *
 * Order: ops start, and go to each member, in the order the client's
 * requests arrived (which is the order our own store applies them), and
 * the peer layer keeps that order on the wire and when it sends again
 * (a member that refuses a request refuses everything after it on that
 * connection, and all of it goes again). So every member applies the
 * changes to an object in the same order as the primary.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "loop.h"
#include "map.h"
#include "peer.h"
#include "rep.h"
#include "scrub.h"
#include "session.h"
#include "store.h"

struct rep_target {
	struct shard_peer_msg m;
	struct shard_rep *op;
	uint32_t id;
	bool busy;		/* m is with the peer layer */
	bool acked;
	bool needed;		/* still a member */
	bool failed;		/* a read it could not serve */
};

struct shard_rep {
	struct shardd *d;
	struct shard_rep *prev, *next;	/* d->reps, oldest first */
	struct shard_rep *kick_next;	/* d->rep_kick, oldest first */
	unsigned int refs;
	bool flush;
	bool read;			/* from one member's copy */
	bool finished;
	bool kicked;
	struct shard_req_h h;
	struct shard_ver ver;		/* a mutation's */
	unsigned char *buf;
	uint64_t need_epoch;		/* evaluate with a map this new */
	unsigned int status;		/* a member's failure */
	shard_rep_done_fn done;
	void *arg;
	unsigned int nt;
	struct rep_target *t;
};

static void evaluate(struct shard_rep *op);

static uint32_t my_id(const struct shardd *d)
{
	return shard_store_daemon_id(d->store);
}

bool shard_rep_wanted(const struct shardd *d, const struct shard_req_h *h)
{
	uint32_t bf[SHARD_MAP_WIDTH_MAX];
	const struct shard_map_pool *p;

	/*
	 * Without mapd, or before its first map, there are no peers to
	 * know of. (A daemon is primary of a replicated PG only once it
	 * has been up for a while: mapd takes a member that went down out
	 * of the PG, and it fetches the map as soon as it registers.)
	 */
	if (!d->session || !d->map)
		return false;
	p = shard_map_pool(d->map, h->pool);
	/* A pool newer than our map: learn it first (the op waits). */
	if (!p)
		return h->epoch > d->epoch;
	if (p->width > 1)
		return true;
	/* One copy, moving: the daemon it moves to takes every change. */
	return p->nr_bf &&
	       shard_map_backfill(p, shard_map_pg(p, h->volume, h->object),
				  bf);
}

static void op_put(struct shard_rep *op)
{
	if (--op->refs)
		return;
	free(op->buf);
	free(op->t);
	free(op);
}

static void op_unlink(struct shard_rep *op)
{
	struct shardd *d = op->d;

	if (op->prev)
		op->prev->next = op->next;
	else
		d->reps = op->next;
	if (op->next)
		op->next->prev = op->prev;
	else
		d->reps_tail = op->prev;
	op->prev = op->next = NULL;
}

static void finish(struct shard_rep *op, unsigned int status)
{
	unsigned int i;

	if (op->finished)
		return;
	op->finished = true;
	op_unlink(op);
	for (i = 0; i < op->nt; i++)
		if (op->t[i].busy)
			shard_peer_cancel(&op->t[i].m);
	op->done(op->arg, status);
	op_put(op);		/* the list's */
}

static void mark_dirty(struct shardd *d, uint32_t id)
{
	size_t i;
	uint32_t *n;

	for (i = 0; i < d->ndirty; i++)
		if (d->dirty[i] == id)
			return;
	if (d->ndirty == d->dirty_cap) {
		n = realloc(d->dirty, (d->dirty_cap * 2 + 8) * sizeof(*n));
		if (!n) {
			/* A later flush then misses this peer's disk: say so. */
			pr_err_ratelimited("out of memory: a FLUSH may not reach daemon %u",
					   id);
			return;
		}
		d->dirty = n;
		d->dirty_cap = d->dirty_cap * 2 + 8;
	}
	d->dirty[d->ndirty++] = id;
}

static void target_done(struct shard_peer_msg *m, int status, uint64_t epoch)
{
	struct rep_target *t = container_of(m, struct rep_target, m);
	struct shard_rep *op = t->op;
	struct shardd *d = op->d;

	(void)epoch;
	t->busy = false;
	if (status == -ECANCELED || op->finished || !t->needed) {
		op_put(op);
		return;
	}
	if (op->read) {
		if (status == SHARD_S_OK) {
			pr_warn_ratelimited("pool %u volume %" PRIu64 " object %"
					    PRIu64 ": our copy failed its checksum; "
					    "read served from daemon %u's",
					    op->h.pool, op->h.volume,
					    op->h.object, t->id);
			finish(op, SHARD_S_OK);
		} else {
			t->failed = true;
			evaluate(op);
		}
		op_put(op);
		return;
	}
	switch (status) {
	case SHARD_S_OK:
		t->acked = true;
		/*
		 * Marked on the answer, not on sending: a change answered
		 * after a FLUSH took its snapshot of the dirty members is
		 * then covered by the next FLUSH.
		 */
		if (!op->flush)
			mark_dirty(d, t->id);
		break;
	default:
		pr_err_ratelimited("daemon %u answered %s to %s of pool %u volume %"
				   PRIu64 " object %" PRIu64,
				   t->id, shard_status_name((unsigned int)status),
				   shard_op_name(m->h.opcode), op->h.pool,
				   op->h.volume, op->h.object);
		if (!op->status)
			op->status = (unsigned int)status;
		break;
	}
	evaluate(op);
	op_put(op);
}

static void send_target(struct shard_rep *op, struct rep_target *t)
{
	struct shardd *d = op->d;
	struct shard_peer_msg *m = &t->m;

	memset(m, 0, sizeof(*m));
	m->h = op->h;
	m->ver = op->ver;
	switch (op->h.opcode) {
	case SHARD_OP_WRITE:
		m->h.opcode = SHARD_OP_REP_WRITE;
		m->payload = op->buf;
		break;
	case SHARD_OP_FLUSH:
		m->h.opcode = SHARD_OP_REP_FLUSH;
		m->h.len = 0;
		break;
	case SHARD_OP_READ:
		m->h.opcode = SHARD_OP_REP_READ;
		m->rbuf = op->buf;
		break;
	default:
		m->h.opcode = SHARD_OP_REP_ZERO;
		break;
	}
	m->h.epoch = d->epoch;
	m->done = target_done;
	if (shard_peer_send(d, t->id, m)) {
		if (!op->status)
			op->status = SHARD_S_IO;
		return;
	}
	t->busy = true;
	op->refs++;
}

/* Whether id serves in a PG this daemon is the primary of. */
static bool my_member(const struct shardd *d, uint32_t id)
{
	size_t i;

	for (i = 0; i < d->nmembers; i++)
		if (d->members[i] == id)
			return true;
	return false;
}

/* A target for id, unless the op has one. */
static void add_target(struct shard_rep *op, uint32_t id)
{
	unsigned int i;

	for (i = 0; i < op->nt; i++)
		if (op->t[i].id == id)
			return;
	/* Members and backfill targets: at most width - 1 each. */
	if (op->nt == 2 * SHARD_MAP_WIDTH_MAX)
		return;
	memset(&op->t[op->nt], 0, sizeof(op->t[0]));
	op->t[op->nt].op = op;
	op->t[op->nt].id = id;
	op->t[op->nt].needed = true;
	op->nt++;
}

/* Re-reads the PG's members; false when the op finished. */
static bool retarget(struct shard_rep *op, unsigned int *copies)
{
	struct shardd *d = op->d;
	const struct shard_map_pool *p = shard_map_pool(d->map, op->h.pool);
	uint32_t bf[SHARD_MAP_WIDTH_MAX], pg;
	const uint32_t *row;
	unsigned int i, j, nbf;

	if (!p) {
		finish(op, SHARD_S_STALE);
		return false;
	}
	pg = shard_map_pg(p, op->h.volume, op->h.object);
	row = shard_map_row(p, pg);
	if (row[0] != my_id(d)) {
		finish(op, SHARD_S_STALE);
		return false;
	}
	nbf = shard_map_backfill(p, pg, bf);
	for (i = 0; i < op->nt; i++) {
		op->t[i].needed = false;
		for (j = 1; j < p->width && row[j] != SHARD_MAP_NONE; j++)
			if (row[j] == op->t[i].id)
				op->t[i].needed = true;
		for (j = 0; !op->read && j < nbf; j++)
			if (bf[j] == op->t[i].id)
				op->t[i].needed = true;
		if (!op->t[i].needed && op->t[i].busy)
			shard_peer_cancel(&op->t[i].m);
	}
	*copies = 1;
	for (j = 1; j < p->width && row[j] != SHARD_MAP_NONE; j++) {
		(*copies)++;
		add_target(op, row[j]);
	}
	/* Daemons being backfilled take every change too (not reads):
	 * they do not count as copies until they are members. */
	for (j = 0; !op->read && j < nbf; j++)
		add_target(op, bf[j]);
	if (*copies < p->min_size) {
		pr_debug("pool %u PG %u has %u of min_size %u copies: holding "
			 "writes", p->id,
			 shard_map_pg(p, op->h.volume, op->h.object), *copies,
			 p->min_size);
		*copies = 0;
	}
	return true;
}

/* One member at a time, in order, until one serves the read. */
static void evaluate_read(struct shard_rep *op)
{
	unsigned int i, copies;

	if (!retarget(op, &copies))
		return;
	for (i = 0; i < op->nt; i++)
		if (op->t[i].needed && op->t[i].busy)
			return;
	for (i = 0; i < op->nt; i++) {
		if (op->t[i].needed && !op->t[i].failed) {
			send_target(op, &op->t[i]);
			if (op->status)
				finish(op, op->status);
			return;
		}
	}
	finish(op, SHARD_S_CORRUPT);
}

static void evaluate(struct shard_rep *op)
{
	struct shardd *d = op->d;
	unsigned int i, copies = 1;
	bool all = true;

	if (op->finished)
		return;
	if (d->stop) {
		finish(op, SHARD_S_STALE);
		return;
	}
	if (!d->map || d->epoch < op->need_epoch) {
		shard_session_map_hint(d, op->need_epoch);
		return;
	}
	if (op->read) {
		evaluate_read(op);
		return;
	}
	if (!op->flush) {
		if (!retarget(op, &copies))
			return;
	} else {
		for (i = 0; i < op->nt; i++)
			op->t[i].needed = my_member(d, op->t[i].id);
	}
	for (i = 0; i < op->nt; i++) {
		struct rep_target *t = &op->t[i];

		if (!t->needed || t->acked)
			continue;
		all = false;
		if (!t->busy)
			send_target(op, t);
	}
	if (op->status)
		finish(op, op->status);
	else if (all && copies)
		finish(op, SHARD_S_OK);
}

/* Runs the ops started since the last turn of the loop. */
static void on_kick(struct shard_ev *ev, int res)
{
	struct shardd *d = container_of(ev, struct shardd, rep_kick_ev);
	struct shard_rep *op;

	(void)res;
	d->rep_kick_armed = false;
	while ((op = d->rep_kick)) {
		d->rep_kick = op->kick_next;
		if (!d->rep_kick)
			d->rep_kick_tail = NULL;
		op->kick_next = NULL;
		op->kicked = false;
		evaluate(op);
		op_put(op);
	}
}

static struct shard_rep *op_new(struct shardd *d, unsigned int nt,
				shard_rep_done_fn done, void *arg)
{
	struct shard_rep *op = calloc(1, sizeof(*op));

	if (op)
		op->t = calloc(nt ? nt : 1, sizeof(*op->t));
	if (!op || !op->t) {
		free(op);
		return NULL;
	}
	op->d = d;
	op->refs = 3;		/* the list's, the caller's, the kick's */
	op->done = done;
	op->arg = arg;
	d->rep_kick_ev.fn = on_kick;
	op->prev = d->reps_tail;
	if (d->reps_tail)
		d->reps_tail->next = op;
	else
		d->reps = op;
	d->reps_tail = op;
	op->kicked = true;
	if (d->rep_kick_tail)
		d->rep_kick_tail->kick_next = op;
	else
		d->rep_kick = op;
	d->rep_kick_tail = op;
	if (!d->rep_kick_armed) {
		struct io_uring_sqe *sqe = shard_get_sqe(d);

		io_uring_prep_nop(sqe);
		shard_sqe_set_ev(sqe, &d->rep_kick_ev);
		d->rep_kick_armed = true;
	}
	return op;
}

struct shard_rep *shard_rep_mutation(struct shardd *d,
				     const struct shard_req_h *h,
				     unsigned char *buf,
				     const struct shard_ver *ver,
				     shard_rep_done_fn done, void *arg)
{
	struct shard_rep *op = op_new(d, 2 * SHARD_MAP_WIDTH_MAX, done, arg);

	if (!op)
		return NULL;
	op->h = *h;
	op->ver = *ver;
	op->buf = buf;
	op->need_epoch = h->epoch;
	shard_scrub_note_mutation(d, h);
	return op;
}

bool shard_rep_busy(const struct shardd *d, const struct shard_obj *o)
{
	const struct shard_rep *op;

	for (op = d->reps; op; op = op->next)
		if (!op->flush && !op->read && op->h.pool == o->pool &&
		    op->h.volume == o->volume && op->h.object == o->object)
			return true;
	return false;
}

struct shard_rep *shard_rep_read(struct shardd *d, const struct shard_req_h *h,
				 shard_rep_done_fn done, void *arg)
{
	const struct shard_map_pool *p;
	struct shard_rep *op;
	const uint32_t *row;
	unsigned char *buf;

	if (!d->session || !d->map)
		return NULL;
	p = shard_map_pool(d->map, h->pool);
	if (!p || p->width < 2)
		return NULL;
	row = shard_map_row(p, shard_map_pg(p, h->volume, h->object));
	if (row[0] != my_id(d) || row[1] == SHARD_MAP_NONE)
		return NULL;
	if (posix_memalign((void **)&buf, SHARD_BLOCK_SIZE, h->len))
		return NULL;
	op = op_new(d, 2 * SHARD_MAP_WIDTH_MAX, done, arg);
	if (!op) {
		free(buf);
		return NULL;
	}
	op->read = true;
	op->h = *h;
	op->buf = buf;
	return op;
}

int shard_rep_flush(struct shardd *d, shard_rep_done_fn done, void *arg,
		    struct shard_rep **out)
{
	struct shard_rep *op;
	size_t i;

	*out = NULL;
	if (!d->ndirty)
		return 0;
	op = op_new(d, (unsigned int)d->ndirty, done, arg);
	if (!op)
		return -ENOMEM;
	op->flush = true;
	op->h.opcode = SHARD_OP_FLUSH;
	for (i = 0; i < d->ndirty; i++) {
		op->t[i].op = op;
		op->t[i].id = d->dirty[i];
	}
	op->nt = (unsigned int)d->ndirty;
	d->ndirty = 0;
	*out = op;
	return 0;
}

void shard_rep_release(struct shard_rep *op)
{
	op_put(op);
}

unsigned char *shard_rep_buf(struct shard_rep *op)
{
	return op->buf;
}

/* The daemons that serve with us in PGs we are the primary of, or are
 * being backfilled into them. */
static void collect_members(struct shardd *d)
{
	const struct shard_map *map = d->map;
	uint32_t me = my_id(d), pg, j;
	size_t i;

	d->nmembers = 0;
	for (i = 0; i < map->nr_daemons; i++) {
		uint32_t id = map->daemons[i].id;
		bool found = false;
		size_t k;

		if (id == me)
			continue;
		for (k = 0; k < map->nr_pools && !found; k++) {
			const struct shard_map_pool *p = &map->pools[k];

			for (pg = 0; pg < p->pg_count && !found; pg++) {
				const uint32_t *row = shard_map_row(p, pg);

				if (row[0] != me)
					continue;
				for (j = 1; j < p->width; j++)
					found |= row[j] == id;
			}
			/* Backfill targets of our PGs take changes too. */
			for (j = 0; j < p->nr_bf && !found; j++)
				found = p->bf[j].id == id &&
					shard_map_row(p, p->bf[j].pg)[0] == me;
		}
		if (found)
			d->members[d->nmembers++] = id;
	}
}

void shard_rep_map_changed(struct shardd *d)
{
	struct shard_rep *op, *next;
	uint32_t *m;

	m = realloc(d->members, (d->map->nr_daemons + 1) * sizeof(*m));
	if (m) {
		d->members = m;
		collect_members(d);
	}
	for (op = d->reps; op; op = next) {
		next = op->next;
		evaluate(op);
	}
	shard_peer_map_changed(d);
}

void shard_rep_stop(struct shardd *d)
{
	while (d->reps)
		finish(d->reps, SHARD_S_STALE);
}
