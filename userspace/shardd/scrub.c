// SPDX-License-Identifier: GPL-2.0-only
/*
 * Scrub jobs (scrub.h). A job is one PG: it lists the objects of every
 * copy with their versions (member_list.c for the members, all at once;
 * then our store), then takes the objects in order: those every copy
 * holds with the same known version are skipped by a light scrub; the
 * others, and all of them in a deep scrub, get a digest from every copy
 * at once (REP_DIGEST with data, and ours), which are compared:
 *
 * - a copy whose blocks fail their checksum is bad;
 * - of the rest, the data most of them agree on is right (ours on a tie:
 *   it is what clients have been reading), and the others are bad.
 *
 * Bad member copies get ours (push.c); a bad copy of ours is read from a
 * good member (REP_READ) and written here first, unless a change to the
 * object came in meanwhile (then the object is compared again).
 *
 * Every step counts what it waits for in j->pending; a job that is told
 * to stop cancels what it can and ends when that count is 0. At exit
 * (d->exiting) callbacks only count, and shard_scrub_free_all frees.
 */
#define _GNU_SOURCE
#include <endian.h>
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
#include "member_list.h"
#include "peer.h"
#include "pg_objects.h"
#include "push.h"
#include "rep.h"
#include "scrub.h"
#include "scrub_copy.h"
#include "session.h"
#include "store.h"
#include "version.h"

/* An object with changes on their way is tried again this often, this
 * many times, then left for the next scrub. */
#define BUSY_RETRY_MS		20U
#define BUSY_TRIES		250U
/* Comparisons of one object undone by changes before it is left. */
#define MAX_REDO		3U

struct scrub_job;

struct scrub_msg {
	struct shard_peer_msg m;
	struct scrub_job *j;
	unsigned int copy;
	struct shard_digest dg;
	bool busy;		/* with the peer layer */
};

struct scrub_push {
	struct scrub_job *j;
	struct shard_push *push;
	unsigned int copy;
};

/* A member's listing. */
struct scrub_list {
	struct scrub_job *j;
	struct shard_member_list *l;	/* NULL once done or cancelled */
	unsigned int copy;
};

struct scrub_obj {
	struct shard_obj o;
	uint32_t held;		/* bit c: copy c listed it */
	struct shard_ver ver;	/* one copy's */
	bool same;		/* every listing had ver, and it is known */
};

struct scrub_job {
	struct shardd *d;
	struct scrub_job *next;		/* d->scrub_jobs, the first runs */
	uint32_t pool, pg;
	bool deep;
	bool running;
	const char *stop_why;		/* stopping: why */
	unsigned int pending;

	/* The PG's copies when the job began: ids[0] is us. */
	uint32_t ids[SHARD_MAP_WIDTH_MAX];
	unsigned int n;
	uint64_t since;

	struct scrub_obj *objs;
	size_t nobjs, nalloc, at;	/* at: the object being compared */

	struct scrub_list lists[SHARD_MAP_WIDTH_MAX];

	/* The object being compared. */
	struct scrub_msg msgs[SHARD_MAP_WIDTH_MAX];
	struct shard_digest dg[SHARD_MAP_WIDTH_MAX];
	bool failed;			/* a copy could not answer */
	uint32_t bad;			/* copies to repair */
	unsigned int src;		/* a good copy */
	unsigned int tries, redo;
	bool counted;			/* its errors are */
	unsigned char *buf;		/* our copy's repair */
	struct scrub_msg *reads;
	unsigned int nreads;
	struct scrub_push pushes[SHARD_MAP_WIDTH_MAX];

	struct shard_ev timer_ev;
	struct __kernel_timespec ts;
	void (*after_timer)(struct scrub_job *j);

	uint64_t objects, bytes, by_version;
	unsigned int errors, repaired, skipped;
	struct timespec t0;
};

/* Per pool, when each PG was last scrubbed here (0: not yet seen). */
struct scrub_sched {
	uint32_t pool, pg_count;
	time_t *light, *deep;
};

static void next_object(struct scrub_job *j);
static void object_done(struct scrub_job *j);
static void compare(struct scrub_job *j);
static void run_next(struct shardd *d);

static uint32_t my_id(const struct shardd *d)
{
	return shard_store_daemon_id(d->store);
}

static uint32_t obj_size(const struct scrub_job *j)
{
	return 1U << j->objs[j->at].o.order;
}

static const struct shard_obj *cur(const struct scrub_job *j)
{
	return &j->objs[j->at].o;
}

static void job_free(struct scrub_job *j)
{
	free(j->objs);
	free(j->buf);
	free(j->reads);
	free(j);
}

static struct scrub_sched *sched_of(struct shardd *d, uint32_t pool,
				    uint32_t pg_count)
{
	struct scrub_sched *s;
	size_t i;

	for (i = 0; i < d->nscrub_sched; i++) {
		s = &d->scrub_sched[i];
		if (s->pool != pool)
			continue;
		if (s->pg_count == pg_count)
			return s;
		free(s->light);
		free(s->deep);
		goto fill;
	}
	s = realloc(d->scrub_sched, (i + 1) * sizeof(*s));
	if (!s)
		return NULL;
	d->scrub_sched = s;
	s = &s[i];
	d->nscrub_sched++;
fill:
	s->pool = pool;
	s->pg_count = pg_count;
	s->light = calloc(pg_count, sizeof(*s->light));
	s->deep = calloc(pg_count, sizeof(*s->deep));
	if (!s->light || !s->deep) {
		free(s->light);
		free(s->deep);
		s->light = s->deep = NULL;
		s->pg_count = 0;
		return NULL;
	}
	return s;
}

static void noted(void *arg, const char *error, json_t *reply)
{
	(void)arg;
	(void)reply;
	if (error)
		pr_warn("mapd did not take a scrub result: %s", error);
}

static void report(struct shardd *d, uint32_t pool, uint32_t pg, bool deep,
		   const struct scrub_job *j, const char *why)
{
	json_t *req;

	if (!d->session)
		return;
	req = json_pack("{s:s, s:I, s:I, s:I, s:b, s:b}", "cmd", "pg-scrubbed",
			"pool", (json_int_t)pool, "pg", (json_int_t)pg,
			"from", (json_int_t)my_id(d), "deep", deep,
			"complete", !why);
	if (!req)
		return;
	if (why)
		json_object_set_new(req, "error", json_string(why));
	if (j && !why) {
		json_object_set_new(req, "objects", json_integer(
					    (json_int_t)j->objects));
		json_object_set_new(req, "bytes", json_integer(
					    (json_int_t)j->bytes));
		json_object_set_new(req, "errors", json_integer(j->errors));
		json_object_set_new(req, "repaired",
				    json_integer(j->repaired));
	}
	shard_session_note(d, req, noted, NULL);
}

/* The job's end: reported, and the next one starts. */
static void finish(struct scrub_job *j)
{
	struct shardd *d = j->d;
	const struct shard_map_pool *p;
	struct scrub_sched *s;
	struct timespec t;
	double secs;

	d->scrub_jobs = j->next;
	d->scrub_watch = NULL;
	clock_gettime(CLOCK_MONOTONIC, &t);
	secs = (double)(t.tv_sec - j->t0.tv_sec) +
	       (double)(t.tv_nsec - j->t0.tv_nsec) / 1e9;
	if (j->stop_why) {
		pr_info("%s scrub of pool %u PG %u stopped: %s",
			j->deep ? "deep" : "light", j->pool, j->pg,
			j->stop_why);
	} else {
		pr_info("%s scrub of pool %u PG %u done: %" PRIu64
			" objects (%" PRIu64 " the same by version), %" PRIu64
			" MiB read, %u errors, %u repaired, %u skipped (busy) "
			"in %.1f s",
			j->deep ? "deep" : "light", j->pool, j->pg, j->objects,
			j->by_version, j->bytes >> 20, j->errors, j->repaired,
			j->skipped, secs);
		d->scrub_errors += j->errors;
		d->scrub_repaired += j->repaired;
		p = d->map ? shard_map_pool(d->map, j->pool) : NULL;
		s = p ? sched_of(d, j->pool, p->pg_count) : NULL;
		if (s && j->pg < s->pg_count) {
			s->light[j->pg] = time(NULL);
			if (j->deep)
				s->deep[j->pg] = s->light[j->pg];
		}
	}
	if (!d->stop)
		report(d, j->pool, j->pg, j->deep, j, j->stop_why);
	if (!d->stop && j->repaired)
		shard_backfill_retry(d);
	job_free(j);
	if (!d->stop)
		run_next(d);
}

/* One thing the job waited for is done; whether it may go on. */
static bool step_done(struct scrub_job *j)
{
	j->pending--;
	if (j->d->exiting)
		return false;
	if (j->stop_why) {
		if (!j->pending)
			finish(j);
		return false;
	}
	return !j->pending;
}

static void cancel_all(struct scrub_job *j)
{
	unsigned int c;

	for (c = 1; c < j->n; c++) {
		if (j->lists[c].l) {
			/* Its done never runs: no longer waited for. */
			shard_member_list_cancel(j->lists[c].l);
			j->lists[c].l = NULL;
			j->pending--;
		}
		if (j->msgs[c].busy)
			shard_peer_cancel(&j->msgs[c].m);
		if (j->pushes[c].push)
			shard_push_cancel(j->pushes[c].push);
	}
	for (c = 0; c < j->nreads; c++)
		if (j->reads[c].busy)
			shard_peer_cancel(&j->reads[c].m);
}

static void stop(struct scrub_job *j, const char *why)
{
	if (j->stop_why)
		return;
	j->stop_why = why;
	j->pending++;		/* cancelling cannot end the job under us */
	cancel_all(j);
	if (!--j->pending)
		finish(j);
}

static void on_timer(struct shard_ev *ev, int res)
{
	struct scrub_job *j = container_of(ev, struct scrub_job, timer_ev);

	(void)res;
	if (step_done(j))
		j->after_timer(j);
}

static void later(struct scrub_job *j, void (*fn)(struct scrub_job *j))
{
	struct io_uring_sqe *sqe = shard_get_sqe(j->d);

	j->after_timer = fn;
	j->ts.tv_sec = 0;
	j->ts.tv_nsec = BUSY_RETRY_MS * 1000000LL;
	j->timer_ev.fn = on_timer;
	io_uring_prep_timeout(sqe, &j->ts, 0, 0);
	shard_sqe_set_ev(sqe, &j->timer_ev);
	j->pending++;
}

static int msg_send(struct scrub_job *j, struct scrub_msg *sm, uint32_t to)
{
	sm->j = j;
	if (shard_peer_send(j->d, to, &sm->m))
		return -ENOMEM;
	sm->busy = true;
	j->pending++;
	return 0;
}

/* A member's answer: false when the job cannot go on with it. */
static bool answer_ok(struct scrub_msg *sm, int status)
{
	struct scrub_job *j = sm->j;

	sm->busy = false;
	if (status == SHARD_S_OK || j->d->exiting || j->stop_why)
		return status == SHARD_S_OK;
	if (status == SHARD_S_STALE)
		stop(j, "a member refused: the map changed");
	else
		stop(j, status == -ECANCELED ? "cancelled" :
		     "a member failed to answer");
	return false;
}

/* Listing. */

static int add_obj(struct scrub_job *j, const struct shard_obj *o,
		   unsigned int copy, const struct shard_ver *ver)
{
	struct scrub_obj *n;

	if (j->nobjs == j->nalloc) {
		n = realloc(j->objs, (j->nalloc * 2 + 64) * sizeof(*n));
		if (!n)
			return -ENOMEM;
		j->objs = n;
		j->nalloc = j->nalloc * 2 + 64;
	}
	n = &j->objs[j->nobjs++];
	n->o = *o;
	n->held = 1U << copy;
	n->ver = *ver;
	n->same = shard_ver_known(ver);
	return 0;
}

/* Sorted, one entry per object with every copy that holds it. */
static void merge_lists(struct scrub_job *j)
{
	struct scrub_obj *a, *b;
	size_t i, k = 0;

	if (j->nobjs)
		qsort(j->objs, j->nobjs, sizeof(*j->objs), shard_obj_cmp);
	for (i = 0; i < j->nobjs; i++) {
		a = k ? &j->objs[k - 1] : NULL;
		b = &j->objs[i];
		if (a && !shard_obj_cmp(a, b)) {
			a->held |= b->held;
			a->same = a->same && b->same &&
				  shard_ver_eq(&a->ver, &b->ver);
		} else {
			j->objs[k++] = *b;
		}
	}
	j->nobjs = k;
}

/* Every member listed: ours, read now (after theirs), and on. */
static void list_ours(struct scrub_job *j)
{
	struct shard_obj *ours;
	struct shard_ver ver;
	size_t i, n;

	if (shard_pg_objects(j->d, j->pool, j->pg, &ours, &n)) {
		stop(j, "out of memory");
		return;
	}
	for (i = 0; i < n; i++) {
		shard_pg_version(j->d, &ours[i], &ver);
		if (add_obj(j, &ours[i], 0, &ver)) {
			free(ours);
			stop(j, "out of memory");
			return;
		}
	}
	free(ours);
	merge_lists(j);
	j->at = 0;
	next_object(j);
}

static void list_done(void *arg, int err, struct shard_member_obj *objs,
		      size_t n)
{
	struct scrub_list *sl = arg;
	struct scrub_job *j = sl->j;
	size_t i;

	sl->l = NULL;
	for (i = 0; !err && i < n; i++)
		if (add_obj(j, &objs[i].o, sl->copy, &objs[i].ver))
			err = -ENOMEM;
	free(objs);
	/* Stopping while this still counts: the job cannot end under us. */
	if (err == SHARD_S_STALE)
		stop(j, "a member refused: the map changed");
	else if (err == -EBADMSG)
		stop(j, "a member's list of its objects is malformed");
	else if (err == -ENOMEM)
		stop(j, "out of memory");
	else if (err)
		stop(j, "a member failed to list its objects");
	if (step_done(j))
		list_ours(j);
}

/* Lists every member's copy at once. */
static void list_members(struct scrub_job *j)
{
	struct scrub_list *sl;
	unsigned int c;

	j->pending++;		/* until every listing is started */
	for (c = 1; c < j->n; c++) {
		sl = &j->lists[c];
		sl->j = j;
		sl->copy = c;
		sl->l = shard_member_list_start(j->d, j->ids[c], j->pool,
						j->pg, list_done, sl);
		if (!sl->l) {
			stop(j, "out of memory");
			break;
		}
		j->pending++;
	}
	if (step_done(j))
		list_ours(j);
}

/* Comparing one object. */

static void digest_done(struct shard_peer_msg *m, int status, uint64_t epoch)
{
	struct scrub_msg *sm = container_of(m, struct scrub_msg, m);
	struct scrub_job *j = sm->j;
	bool ok = answer_ok(sm, status);

	(void)epoch;
	if (ok)
		j->dg[sm->copy] = sm->dg;
	if (step_done(j))
		compare(j);
}

static void local_digest_done(void *arg, int err,
			      const struct shard_digest *dg)
{
	struct scrub_job *j = arg;

	if (err)
		j->failed = true;
	else
		j->dg[0] = *dg;
	if (step_done(j))
		compare(j);
}

static void start_digests(struct scrub_job *j);

/* The object cannot be compared now: again shortly, or, after more than
 * max tries counted in *count, left for the next scrub. */
static void retry_or_skip(struct scrub_job *j, unsigned int *count,
			  unsigned int max)
{
	if (++*count > max) {
		j->skipped++;
		object_done(j);
	} else {
		later(j, start_digests);
	}
}

static void start_digests(struct scrub_job *j)
{
	unsigned int c;

	if (shard_rep_busy(j->d, cur(j))) {
		retry_or_skip(j, &j->tries, BUSY_TRIES);
		return;
	}
	j->failed = false;
	memset(j->dg, 0, sizeof(j->dg));
	/* Ours and the members', in one step: the same point of the
	 * object's history on every copy. */
	if (shard_scrub_digest(j->d, cur(j), true, local_digest_done, j)) {
		stop(j, "out of memory");
		return;
	}
	j->pending++;
	for (c = 1; c < j->n; c++) {
		struct scrub_msg *sm = &j->msgs[c];

		memset(&sm->m, 0, sizeof(sm->m));
		sm->copy = c;
		sm->m.h.opcode = SHARD_OP_REP_DIGEST;
		sm->m.h.flags = SHARD_F_DIGEST_DATA;
		sm->m.h.pool = j->pool;
		sm->m.h.volume = cur(j)->volume;
		sm->m.h.object = cur(j)->object;
		sm->m.h.obj_order = cur(j)->order;
		sm->m.rbuf = (unsigned char *)&sm->dg;
		sm->m.done = digest_done;
		if (msg_send(j, sm, j->ids[c])) {
			stop(j, "out of memory");
			return;
		}
	}
}

static void next_object(struct scrub_job *j)
{
	uint32_t all = (1U << j->n) - 1;

	/* Equal known versions: equal bytes (a deep scrub reads them to
	 * find what rotted on a disk). */
	while (j->at < j->nobjs && !j->deep &&
	       j->objs[j->at].held == all && j->objs[j->at].same) {
		j->objects++;
		j->by_version++;
		j->at++;
	}
	if (j->at == j->nobjs) {
		finish(j);
		return;
	}
	j->tries = 0;
	j->redo = 0;
	j->counted = false;
	start_digests(j);
}

static void object_done(struct scrub_job *j)
{
	j->objects++;
	j->at++;
	next_object(j);
}

static void push_done(void *arg, int err)
{
	struct scrub_push *sp = arg;
	struct scrub_job *j = sp->j;

	sp->push = NULL;
	if (!err) {
		j->repaired++;
		pr_info("scrub of pool %u PG %u: repaired daemon %u's copy of "
			"volume %" PRIu64 " object %" PRIu64 " from ours",
			j->pool, j->pg, j->ids[sp->copy], cur(j)->volume,
			cur(j)->object);
	} else if (err != -ECANCELED) {
		pr_warn("scrub of pool %u PG %u: daemon %u's copy of volume %"
			PRIu64 " object %" PRIu64 " not repaired (%d)",
			j->pool, j->pg, j->ids[sp->copy], cur(j)->volume,
			cur(j)->object, err);
	}
	if (step_done(j))
		object_done(j);
}

/* Our copy is good (again): the bad members get it. */
static void push_to_bad(struct scrub_job *j)
{
	unsigned int c;

	j->pending++;
	for (c = 1; c < j->n; c++) {
		struct scrub_push *sp = &j->pushes[c];

		if (!(j->bad & (1U << c)))
			continue;
		sp->j = j;
		sp->copy = c;
		sp->push = shard_push_start(j->d, j->ids[c], cur(j), NULL,
					    push_done, sp);
		if (sp->push)
			j->pending++;
	}
	if (step_done(j))
		object_done(j);
}

static void local_write_done(void *arg, int err)
{
	struct scrub_job *j = arg;

	j->d->disk_busy--;
	if (err)
		j->failed = true;
	if (!step_done(j))
		return;
	if (j->failed) {
		pr_err("scrub of pool %u PG %u: our copy of volume %" PRIu64
		       " object %" PRIu64 " could not be rewritten", j->pool,
		       j->pg, cur(j)->volume, cur(j)->object);
		object_done(j);
		return;
	}
	j->repaired++;
	pr_info("scrub of pool %u PG %u: repaired our copy of volume %" PRIu64
		" object %" PRIu64 " from daemon %u's", j->pool, j->pg,
		cur(j)->volume, cur(j)->object, j->ids[j->src]);
	j->bad &= ~1U;
	push_to_bad(j);
}

static void pull_done(struct shard_peer_msg *m, int status, uint64_t epoch)
{
	struct scrub_msg *sm = container_of(m, struct scrub_msg, m);
	struct scrub_job *j = sm->j;
	uint32_t off;
	bool ok = answer_ok(sm, status);

	(void)epoch;
	if (!step_done(j) || !ok)
		return;
	j->d->scrub_watch = NULL;
	if (j->d->scrub_watch_hit) {
		/* Older than a change that came in: compare again. */
		retry_or_skip(j, &j->redo, MAX_REDO);
		return;
	}
	j->failed = false;
	j->pending++;		/* until every write is started */
	for (off = 0; off < obj_size(j); off += SHARD_MAX_IO) {
		uint32_t len = obj_size(j) - off < SHARD_MAX_IO ?
			       obj_size(j) - off : SHARD_MAX_IO;

		if (shard_store_write(j->d->store, cur(j), off, len,
				      j->buf + off, NULL, local_write_done, j)) {
			j->failed = true;
			break;
		}
		j->d->disk_busy++;
		j->pending++;
	}
	if (step_done(j)) {
		/* Not one write could start. */
		pr_err("scrub of pool %u PG %u: our copy of volume %" PRIu64
		       " object %" PRIu64 " could not be rewritten", j->pool,
		       j->pg, cur(j)->volume, cur(j)->object);
		object_done(j);
	}
}

/* Our copy is bad: read a good member's, then write it here. */
static void pull(struct scrub_job *j)
{
	uint32_t size = obj_size(j), k;

	if (shard_rep_busy(j->d, cur(j))) {
		retry_or_skip(j, &j->tries, BUSY_TRIES);
		return;
	}
	free(j->buf);
	free(j->reads);
	j->nreads = (size + SHARD_MAX_IO - 1) / SHARD_MAX_IO;
	j->reads = calloc(j->nreads, sizeof(*j->reads));
	if (!j->reads || posix_memalign((void **)&j->buf, SHARD_BLOCK_SIZE,
					size)) {
		j->buf = NULL;
		j->nreads = 0;
		stop(j, "out of memory");
		return;
	}
	j->d->scrub_watch = cur(j);
	j->d->scrub_watch_hit = false;
	for (k = 0; k < j->nreads; k++) {
		struct scrub_msg *sm = &j->reads[k];

		sm->m.h.opcode = SHARD_OP_REP_READ;
		sm->m.h.pool = j->pool;
		sm->m.h.volume = cur(j)->volume;
		sm->m.h.object = cur(j)->object;
		sm->m.h.obj_order = cur(j)->order;
		sm->m.h.offset = k * SHARD_MAX_IO;
		sm->m.h.len = size - sm->m.h.offset < SHARD_MAX_IO ?
			      size - sm->m.h.offset : SHARD_MAX_IO;
		sm->m.rbuf = j->buf + sm->m.h.offset;
		sm->m.done = pull_done;
		if (msg_send(j, sm, j->ids[j->src])) {
			stop(j, "out of memory");
			return;
		}
	}
}

static bool good(const struct scrub_job *j, unsigned int c)
{
	uint32_t f = le32toh(j->dg[c].flags);

	return (f & SHARD_DIGEST_DATA) && !(f & SHARD_DIGEST_BADCRC);
}

static uint32_t crc_of(const struct scrub_job *j, unsigned int c)
{
	return le32toh(j->dg[c].data_crc);
}

static void compare(struct scrub_job *j)
{
	unsigned int c, k, votes, best = 0, best_votes = 0, nbad = 0;
	bool any = false;

	if (j->failed) {
		stop(j, "our disk failed to read an object");
		return;
	}
	j->bytes += (uint64_t)obj_size(j) * j->n;
	/* The data most good copies agree on; ours first on a tie. */
	for (c = 0; c < j->n; c++) {
		if (!good(j, c))
			continue;
		for (votes = 0, k = 0; k < j->n; k++)
			votes += good(j, k) && crc_of(j, k) == crc_of(j, c);
		if (!any || votes > best_votes) {
			best = c;
			best_votes = votes;
			any = true;
		}
	}
	j->bad = 0;
	for (c = 0; c < j->n; c++)
		if (!any || !good(j, c) || crc_of(j, c) != crc_of(j, best)) {
			j->bad |= 1U << c;
			nbad++;
			pr_warn("scrub of pool %u PG %u: daemon %u's copy of "
				"volume %" PRIu64 " object %" PRIu64 " is %s",
				j->pool, j->pg, j->ids[c], cur(j)->volume,
				cur(j)->object, !good(j, c) ?
				"damaged (a block fails its checksum)" :
				"different from the others");
		}
	if (!nbad) {
		object_done(j);
		return;
	}
	if (!j->counted)
		j->errors += nbad;
	j->counted = true;
	if (!any) {
		pr_err("scrub of pool %u PG %u: no good copy of volume %"
		       PRIu64 " object %" PRIu64 " left", j->pool, j->pg,
		       cur(j)->volume, cur(j)->object);
		object_done(j);
		return;
	}
	j->src = best;
	if (j->bad & 1U)
		pull(j);
	else
		push_to_bad(j);
}

/* Running jobs. */

/* The PG's copies now, ours first; 0 when we are not its primary. */
static unsigned int copies(const struct shardd *d, uint32_t pool,
			   uint32_t pg, uint32_t *ids, uint64_t *since)
{
	const struct shard_map_pool *p = d->map ?
		shard_map_pool(d->map, pool) : NULL;
	const uint32_t *row;
	unsigned int n;

	if (!p || pg >= p->pg_count)
		return 0;
	row = shard_map_row(p, pg);
	if (row[0] != my_id(d))
		return 0;
	for (n = 0; n < p->width && row[n] != SHARD_MAP_NONE; n++)
		ids[n] = row[n];
	*since = p->since[pg];
	return n;
}

static void run_next(struct shardd *d)
{
	struct scrub_job *j;

	while ((j = d->scrub_jobs) && !j->running && !d->stop) {
		j->running = true;
		clock_gettime(CLOCK_MONOTONIC, &j->t0);
		j->n = copies(d, j->pool, j->pg, j->ids, &j->since);
		if (j->n < 2) {
			d->scrub_jobs = j->next;
			report(d, j->pool, j->pg, j->deep, NULL, j->n ?
			       "the PG has one copy" :
			       "this daemon is not the PG's primary");
			job_free(j);
			continue;
		}
		pr_info("%s scrub of pool %u PG %u starts (%u copies)",
			j->deep ? "deep" : "light", j->pool, j->pg, j->n);
		list_members(j);
	}
}

void shard_scrub_request(struct shardd *d, uint32_t pool, uint32_t pg,
			 bool deep)
{
	struct scrub_job *j, **tail;

	for (tail = &d->scrub_jobs; *tail; tail = &(*tail)->next) {
		j = *tail;
		if (j->pool == pool && j->pg == pg && !j->running) {
			j->deep |= deep;
			return;
		}
	}
	j = calloc(1, sizeof(*j));
	if (!j) {
		pr_err("out of memory for a scrub");
		return;
	}
	j->d = d;
	j->pool = pool;
	j->pg = pg;
	j->deep = deep;
	*tail = j;
	run_next(d);
}

static time_t spread(unsigned int interval)
{
	return interval > 1 ? random() % (interval / 2) : 0;
}

void shard_scrub_tick(struct shardd *d)
{
	time_t now = time(NULL);
	uint32_t ids[SHARD_MAP_WIDTH_MAX], pg;
	uint64_t since;
	size_t i;

	if (!d->map || d->scrub_jobs || d->stop ||
	    (!d->scrub_interval && !d->deep_scrub_interval))
		return;
	for (i = 0; i < d->map->nr_pools; i++) {
		const struct shard_map_pool *p = &d->map->pools[i];
		struct scrub_sched *s;

		if (p->width < 2)
			continue;
		s = sched_of(d, p->id, p->pg_count);
		if (!s)
			return;
		for (pg = 0; pg < p->pg_count; pg++) {
			if (copies(d, p->id, pg, ids, &since) < 2)
				continue;
			/* First seen: due at a random time in the second
			 * half of the interval, so that PGs do not all come
			 * at once, nor right after the daemon starts. */
			if (!s->light[pg])
				s->light[pg] = now - spread(d->scrub_interval);
			if (!s->deep[pg])
				s->deep[pg] = now -
					      spread(d->deep_scrub_interval);
			if (d->deep_scrub_interval &&
			    now - s->deep[pg] >= d->deep_scrub_interval) {
				shard_scrub_request(d, p->id, pg, true);
				return;
			}
			if (d->scrub_interval &&
			    now - s->light[pg] >= d->scrub_interval) {
				shard_scrub_request(d, p->id, pg, false);
				return;
			}
		}
	}
}

void shard_scrub_map_changed(struct shardd *d)
{
	struct scrub_job *j = d->scrub_jobs;
	uint32_t ids[SHARD_MAP_WIDTH_MAX];
	uint64_t since;
	unsigned int n;

	if (!j || !j->running || j->stop_why)
		return;
	n = copies(d, j->pool, j->pg, ids, &since);
	if (n != j->n || since != j->since ||
	    memcmp(ids, j->ids, n * sizeof(ids[0])))
		stop(j, "the PG's members changed");
}

void shard_scrub_note_mutation(struct shardd *d, const struct shard_req_h *h)
{
	const struct shard_obj *o = d->scrub_watch;

	if (o && o->pool == h->pool && o->volume == h->volume &&
	    o->object == h->object)
		d->scrub_watch_hit = true;
}

void shard_scrub_stop(struct shardd *d)
{
	struct scrub_job *j, *next;

	if (!d->scrub_jobs)
		return;
	/* Those not started go; the running one drains. */
	for (j = d->scrub_jobs->next; j; j = next) {
		next = j->next;
		job_free(j);
	}
	d->scrub_jobs->next = NULL;
	if (d->scrub_jobs->running)
		stop(d->scrub_jobs, "the daemon stops");
	else
		job_free(d->scrub_jobs), d->scrub_jobs = NULL;
}

void shard_scrub_free_all(struct shardd *d)
{
	struct scrub_job *j;
	size_t i;

	while ((j = d->scrub_jobs)) {
		d->scrub_jobs = j->next;
		job_free(j);
	}
	for (i = 0; i < d->nscrub_sched; i++) {
		free(d->scrub_sched[i].light);
		free(d->scrub_sched[i].deep);
	}
	free(d->scrub_sched);
}
