// SPDX-License-Identifier: GPL-2.0-only
/*
 * Backfill jobs (backfill.h). A job is one (pool, PG, target); it lists
 * the PG's objects in our store when it starts, copies them one push at
 * a time (an object read and sent in pieces of SHARD_MAX_IO, all queued
 * at once), and reports to mapd when every push was answered. A
 * job that fails (an object unreadable here, a member's error, mapd
 * refusing the report) starts over with the next map.
 *
 * Lifetime: a job is freed when it left the list and no push or report
 * refers to it; a push when its read and every message came back. At
 * exit everything left is freed at once (d->exiting: callbacks from the
 * peer layer's teardown then only count).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <shard/pg.h>

#include "backfill.h"
#include "log.h"
#include "loop.h"
#include "map.h"
#include "peer.h"
#include "session.h"
#include "store.h"

struct bf_job;

struct bf_chunk {
	struct shard_peer_msg m;
	struct bf_push *push;
};

struct bf_push {
	struct bf_job *job;
	struct bf_push *next;		/* the job's */
	struct shard_obj o;
	unsigned char *buf;
	struct bf_chunk *chunks;
	unsigned int nchunks;
	unsigned int pending;		/* the read, and chunks not answered */
	bool failed;
};

struct bf_job {
	struct shardd *d;
	struct bf_job *next;		/* d->bf_jobs */
	uint32_t pool, pg, target;
	struct shard_obj *objs;
	size_t nobjs, nalloc, next_obj, done_objs;
	uint64_t bytes;
	struct bf_push *pushes;
	unsigned int refs;		/* the list, pushes, a report */
	bool listed;
	bool failed;			/* starts over with the next map */
	bool reporting, reported;
	struct timespec t0;
};

static void pump(struct shardd *d);

static uint32_t my_id(const struct shardd *d)
{
	return shard_store_daemon_id(d->store);
}

static void list_remove(struct bf_job **head, struct bf_job *j)
{
	struct bf_job **pp;

	for (pp = head; *pp; pp = &(*pp)->next)
		if (*pp == j) {
			*pp = j->next;
			break;
		}
}

static void job_put(struct bf_job *j)
{
	if (--j->refs)
		return;
	list_remove(&j->d->bf_dead, j);
	free(j->objs);
	free(j);
}

/* Off the jobs; kept on bf_dead until its last reference goes. */
static void job_unlink(struct bf_job *j)
{
	list_remove(&j->d->bf_jobs, j);
	j->listed = false;
	j->next = j->d->bf_dead;
	j->d->bf_dead = j;
}

static void job_fail(struct bf_job *j, const char *why)
{
	if (!j->failed)
		pr_warn("backfill of pool %u PG %u to daemon %u stopped: %s; "
			"it starts over with the next map", j->pool, j->pg,
			j->target, why);
	j->failed = true;
}

static void push_cancel(struct bf_push *p)
{
	unsigned int k;

	for (k = 0; k < p->nchunks; k++)
		shard_peer_cancel(&p->chunks[k].m);
}

static void push_end(struct bf_push *p)
{
	struct bf_job *j = p->job;
	struct shardd *d = j->d;
	struct bf_push **pp;

	for (pp = &j->pushes; *pp; pp = &(*pp)->next)
		if (*pp == p) {
			*pp = p->next;
			break;
		}
	d->bf_pushes--;
	if (!p->failed) {
		j->done_objs++;
		j->bytes += 1ULL << p->o.order;
	}
	free(p->buf);
	free(p->chunks);
	free(p);
	job_put(j);
	if (!d->exiting)
		pump(d);
}

static void push_part_done(struct bf_push *p)
{
	if (!--p->pending)
		push_end(p);
}

static void chunk_done(struct shard_peer_msg *m, int status, uint64_t epoch)
{
	struct bf_chunk *c = container_of(m, struct bf_chunk, m);
	struct bf_push *p = c->push;

	(void)epoch;
	if (p->job->d->exiting) {
		p->pending--;
		return;
	}
	if (status != SHARD_S_OK) {
		p->failed = true;
		if (status != -ECANCELED)
			job_fail(p->job, "the target refused a copy");
	}
	push_part_done(p);
}

/* One chunk of the object read (the store reads at most SHARD_MAX_IO). */
static void read_done(void *arg, int err)
{
	struct bf_chunk *c = arg;
	struct bf_push *p = c->push;

	if (err) {
		p->failed = true;
		job_fail(p->job, err == -EBADMSG ?
			 "an object failed its checksum here" :
			 "an object could not be read here");
		push_cancel(p);
	} else if (!p->failed) {
		shard_peer_payload_ready(&c->m);
	}
	push_part_done(p);
}

/* Reads object i of job j and queues it to the target, in one step. */
static int push_start(struct bf_job *j, const struct shard_obj *o)
{
	struct shardd *d = j->d;
	uint32_t size = 1U << o->order, k, off;
	struct bf_push *p;
	int ret;

	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	p->nchunks = (size + SHARD_MAX_IO - 1) / SHARD_MAX_IO;
	p->chunks = calloc(p->nchunks, sizeof(*p->chunks));
	if (!p->chunks || posix_memalign((void **)&p->buf, SHARD_BLOCK_SIZE,
					 size)) {
		free(p->chunks);
		free(p);
		return -ENOMEM;
	}
	p->job = j;
	p->o = *o;
	for (k = 0, off = 0; k < p->nchunks; k++, off += SHARD_MAX_IO) {
		struct shard_peer_msg *m = &p->chunks[k].m;

		p->chunks[k].push = p;
		m->h.opcode = SHARD_OP_REP_WRITE;
		m->h.len = size - off < SHARD_MAX_IO ? size - off :
			   SHARD_MAX_IO;
		m->h.obj_order = o->order;
		m->h.pool = o->pool;
		m->h.volume = o->volume;
		m->h.object = o->object;
		m->h.offset = off;
		m->payload = p->buf + off;
		m->wait_payload = true;
		m->done = chunk_done;
		if (shard_peer_send(d, j->target, m)) {
			/* The ones queued are released by cancelling. */
			p->nchunks = k;
			p->pending = k;
			p->failed = true;
			j->refs++;
			d->bf_pushes++;
			p->next = j->pushes;
			j->pushes = p;
			job_fail(j, "out of memory");
			if (!k) {
				push_end(p);
				return -ENOMEM;
			}
			push_cancel(p);
			return -ENOMEM;
		}
	}
	/* Each message's answer, and each chunk's read. */
	p->pending = 2 * p->nchunks;
	j->refs++;
	d->bf_pushes++;
	p->next = j->pushes;
	j->pushes = p;
	for (k = 0; k < p->nchunks; k++) {
		struct shard_peer_msg *m = &p->chunks[k].m;

		ret = shard_store_read(d->store, o, m->h.offset, m->h.len,
				       p->buf + m->h.offset, read_done,
				       &p->chunks[k]);
		if (ret) {
			p->failed = true;
			job_fail(j, "an object could not be read here");
			push_cancel(p);
			/* The reads not started count as done. */
			p->pending -= p->nchunks - k - 1;
			push_part_done(p);
			break;
		}
	}
	return 0;
}

/* Jobs reported together: same pool, target, and us as primary. */
struct bf_report {
	struct shardd *d;
	size_t n;
	struct bf_job *jobs[];
};

static void job_reported(struct bf_job *j)
{
	struct timespec t;
	double s;

	clock_gettime(CLOCK_MONOTONIC, &t);
	s = (double)(t.tv_sec - j->t0.tv_sec) +
	    (double)(t.tv_nsec - j->t0.tv_nsec) / 1e9;
	j->reported = true;
	pr_info("backfill of pool %u PG %u to daemon %u done: %zu objects, %"
		PRIu64 " MiB in %.1f s", j->pool, j->pg, j->target,
		j->done_objs, j->bytes >> 20, s);
}

/* Whether mapd's reply lists PG pg among those it refused; its error. */
static const char *refused(json_t *reply, uint32_t pg)
{
	json_t *e;
	size_t i;

	json_array_foreach(json_object_get(reply, "refused"), i, e)
		if (json_integer_value(json_object_get(e, "pg")) == pg)
			return json_is_string(json_object_get(e, "error")) ?
			       json_string_value(json_object_get(e, "error")) :
			       "refused";
	return NULL;
}

static void report_done(void *arg, const char *error, json_t *reply)
{
	struct bf_report *r = arg;
	struct shardd *d = r->d;
	const char *why;
	size_t i;

	d->bf_reporting = false;
	for (i = 0; i < r->n; i++) {
		struct bf_job *j = r->jobs[i];

		j->reporting = false;
		if (!d->exiting && j->listed) {
			why = error ? error : refused(reply, j->pg);
			if (why)
				job_fail(j, why);
			else
				job_reported(j);
		}
		job_put(j);
	}
	free(r);
	if (!d->exiting)
		pump(d);
}

/*
 * Tells mapd about the jobs done, in one request for all of those with
 * the first one's pool and target (one new epoch for many PGs); one
 * request at a time.
 */
static void report(struct shardd *d)
{
	struct bf_job *j, *first = NULL;
	const struct shard_map_pool *p = NULL;
	struct bf_report *r;
	json_t *req, *pgs;
	size_t n = 0;

	if (d->bf_reporting)
		return;
	for (j = d->bf_jobs; j; j = j->next) {
		if (j->failed || j->reporting || j->reported || j->pushes ||
		    j->done_objs != j->nobjs)
			continue;
		if (!first) {
			first = j;
			p = shard_map_pool(d->map, j->pool);
		}
		if (j->pool == first->pool && j->target == first->target)
			n++;
	}
	if (!first || !p)
		return;
	r = malloc(sizeof(*r) + n * sizeof(r->jobs[0]));
	pgs = json_array();
	if (!r || !pgs) {
		free(r);
		json_decref(pgs);
		return;
	}
	r->d = d;
	r->n = 0;
	for (j = first; j; j = j->next) {
		const uint32_t *row;
		json_t *acting = json_array();
		uint32_t k;

		if (j->failed || j->reporting || j->reported || j->pushes ||
		    j->done_objs != j->nobjs || j->pool != first->pool ||
		    j->target != first->target)
			continue;
		row = shard_map_row(p, j->pg);
		for (k = 0; acting && k < p->width && row[k] != SHARD_MAP_NONE;
		     k++)
			json_array_append_new(acting, json_integer(row[k]));
		json_array_append_new(pgs, json_pack("{s:I, s:o}", "pg",
						     (json_int_t)j->pg,
						     "acting", acting));
		j->reporting = true;
		j->refs++;
		r->jobs[r->n++] = j;
	}
	req = json_pack("{s:s, s:I, s:I, s:I, s:o}", "cmd", "pg-backfilled",
			"pool", (json_int_t)first->pool,
			"daemon", (json_int_t)first->target,
			"from", (json_int_t)my_id(d), "pgs", pgs);
	d->bf_reporting = true;
	if (req && !shard_session_note(d, req, report_done, r))
		return;
	/* Not sent: they wait for the next map, as after a refusal. */
	d->bf_reporting = false;
	for (n = 0; n < r->n; n++) {
		r->jobs[n]->reporting = false;
		job_fail(r->jobs[n], "cannot send pg-backfilled to mapd");
		job_put(r->jobs[n]);
	}
	free(r);
}

static void pump_once(struct shardd *d)
{
	struct bf_job *j;
	bool more = true;

	while (more && !d->stop && d->bf_pushes < SHARD_BACKFILL_PUSHES) {
		more = false;
		for (j = d->bf_jobs; j; j = j->next) {
			if (j->failed || j->next_obj == j->nobjs)
				continue;
			if (push_start(j, &j->objs[j->next_obj++]))
				return;
			more = true;
			if (d->bf_pushes >= SHARD_BACKFILL_PUSHES)
				break;
		}
	}
	report(d);
}

/* Starts pushes while there is room, the oldest jobs first. A push
 * that ends inside this (a failure) asks for another round instead of
 * starting one within. */
static void pump(struct shardd *d)
{
	if (d->bf_pumping) {
		d->bf_again = true;
		return;
	}
	d->bf_pumping = true;
	do {
		d->bf_again = false;
		pump_once(d);
	} while (d->bf_again);
	d->bf_pumping = false;
}

struct collect {
	struct bf_job *j;
	uint32_t pg_count;
	int err;
};

static void collect(void *arg, const struct shard_obj *o)
{
	struct collect *c = arg;
	struct bf_job *j = c->j;
	struct shard_obj *n;

	if (c->err || shard_object_pg(o->volume, o->object, c->pg_count) !=
		      j->pg)
		return;
	if (j->nobjs == j->nalloc) {
		n = realloc(j->objs, (j->nalloc * 2 + 16) * sizeof(*n));
		if (!n) {
			c->err = -ENOMEM;
			return;
		}
		j->objs = n;
		j->nalloc = j->nalloc * 2 + 16;
	}
	j->objs[j->nobjs++] = *o;
}

/* Lists the PG's objects afresh: the job (re)starts from the first. */
static void job_scan(struct bf_job *j, const struct shard_map_pool *p)
{
	struct collect c = { .j = j, .pg_count = p->pg_count };

	j->nobjs = j->next_obj = j->done_objs = 0;
	j->bytes = 0;
	j->failed = j->reported = false;
	clock_gettime(CLOCK_MONOTONIC, &j->t0);
	shard_store_foreach(j->d->store, j->pool, collect, &c);
	if (c.err)
		job_fail(j, "out of memory");
	else
		pr_info("backfill of pool %u PG %u to daemon %u: %zu objects",
			j->pool, j->pg, j->target, j->nobjs);
}

static bool job_wanted(const struct shardd *d, const struct bf_job *j)
{
	const struct shard_map_pool *p = shard_map_pool(d->map, j->pool);
	uint32_t bf[SHARD_MAP_WIDTH_MAX], n, k;

	if (!p || j->pg >= p->pg_count ||
	    shard_map_row(p, j->pg)[0] != my_id(d))
		return false;
	n = shard_map_backfill(p, j->pg, bf);
	for (k = 0; k < n; k++)
		if (bf[k] == j->target)
			return true;
	return false;
}

static void job_cancel(struct bf_job *j)
{
	struct bf_push *p, *next;

	job_unlink(j);
	for (p = j->pushes; p; p = next) {
		next = p->next;
		p->failed = true;
		push_cancel(p);
	}
	job_put(j);
}

static struct bf_job *job_find(struct shardd *d, uint32_t pool, uint32_t pg,
			       uint32_t target)
{
	struct bf_job *j;

	for (j = d->bf_jobs; j; j = j->next)
		if (j->pool == pool && j->pg == pg && j->target == target)
			return j;
	return NULL;
}

void shard_backfill_map_changed(struct shardd *d)
{
	struct bf_job *j, *next, **tail;
	uint32_t bf[SHARD_MAP_WIDTH_MAX], pg, n, k;
	size_t i;

	for (j = d->bf_jobs; j; j = next) {
		next = j->next;
		if (!job_wanted(d, j)) {
			job_cancel(j);
		} else if (j->failed && !j->pushes && !j->reporting) {
			job_scan(j, shard_map_pool(d->map, j->pool));
		}
	}
	for (tail = &d->bf_jobs; *tail; tail = &(*tail)->next)
		;
	for (i = 0; i < d->map->nr_pools && !d->stop; i++) {
		const struct shard_map_pool *p = &d->map->pools[i];

		for (pg = 0; pg < p->pg_count; pg++) {
			if (shard_map_row(p, pg)[0] != my_id(d))
				continue;
			n = shard_map_backfill(p, pg, bf);
			for (k = 0; k < n; k++) {
				if (job_find(d, p->id, pg, bf[k]))
					continue;
				j = calloc(1, sizeof(*j));
				if (!j) {
					pr_err("out of memory for a backfill");
					continue;
				}
				j->d = d;
				j->pool = p->id;
				j->pg = pg;
				j->target = bf[k];
				j->refs = 1;
				j->listed = true;
				*tail = j;
				tail = &j->next;
				job_scan(j, p);
			}
		}
	}
	pump(d);
}

void shard_backfill_stop(struct shardd *d)
{
	while (d->bf_jobs)
		job_cancel(d->bf_jobs);
}

static void free_list(struct bf_job **head)
{
	struct bf_job *j;
	struct bf_push *p;

	while ((j = *head)) {
		*head = j->next;
		while ((p = j->pushes)) {
			j->pushes = p->next;
			free(p->buf);
			free(p->chunks);
			free(p);
		}
		free(j->objs);
		free(j);
	}
}

void shard_backfill_free_all(struct shardd *d)
{
	free_list(&d->bf_jobs);
	free_list(&d->bf_dead);
}
