// SPDX-License-Identifier: GPL-2.0-only
/*
 * Backfill jobs (backfill.h). A job is one (pool, PG, target); it lists
 * the PG's objects on the target with their versions (member_list.c),
 * then ours (pg_objects.c), read after the target's answer so that ours
 * are never older than what it listed; it copies those the target
 * lacks or holds with another version, or an unknown one on either
 * side, one push at a time (push.c), and reports to mapd when every push
 * was answered. A copy sends only the blocks changed since the target's
 * version when our store's change log still reaches back to it (a
 * member back after a short absence), else the whole object. A job
 * that fails (the target's list, an object unreadable here, a member's
 * error, mapd refusing the report) starts over with the next map, or
 * once a scrub repaired our copy.
 *
 * Objects the target holds and we do not are removed there (push.c
 * sends a removal for an object we do not hold): we hold every change a
 * client was told is done, so such an object was dropped here (a
 * DISCARD or WRITE_ZEROES of all of it) while the target was away, or
 * comes from a change never acknowledged. Left there, it would be read
 * once the target is a primary. Not while our store lost table entries
 * (shard_store_lost): we may hold the object without knowing it, and
 * the target's copy may be the only one; those are left and counted.
 *
 * Peering: when this daemon becomes a PG's primary (the map before named
 * another), the same job, with a member of the PG as its target and no
 * report, makes that member's copies agree with ours. Every change a
 * client was told is done is on every member already (the old primary
 * answered only once all had it, and mapd takes a member that misses
 * one out of the PG), so our copy is complete and the new primary
 * serves at once; what may differ is a change that was on its way when
 * the old primary died and that reached only some of us. That change
 * was never acknowledged: our version of the object wins (its client,
 * if alive, sends it again to us). Peering pushes are not throttled:
 * there are few of them, and copies that disagree should not last.
 *
 * Lifetime: a job is freed when it left the list and no push or report
 * refers to it. At exit everything left is freed at once (push.c tells
 * no one once d->exiting).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "backfill.h"
#include "log.h"
#include "loop.h"
#include "map.h"
#include "member_list.h"
#include "pg_objects.h"
#include "push.h"
#include "scrub.h"
#include "session.h"
#include "store.h"
#include "version.h"

struct bf_job;

struct bf_push {
	struct bf_job *job;
	struct bf_push *next;		/* the job's */
	struct shard_push *push;
	uint64_t bytes;			/* 0: a removal */
	uint64_t size;			/* of the object */
	struct timespec t0;
};

struct bf_job {
	struct shardd *d;
	struct bf_job *next;		/* d->bf_jobs */
	uint32_t pool, pg, target;
	bool sync;			/* peering: the target is a member */
	struct shard_member_list *tlist;	/* listing the target */
	/* Before the target's list is in, all of ours (what progress
	 * counts); then those to copy. */
	struct shard_obj *objs;
	size_t nobjs, next_obj, done_objs;
	size_t ncopy;			/* objs[ncopy..]: removals */
	/* The target's version of objs[i < ncopy]: what a push needs
	 * to send (unknown: all of it). NULL before the list is in. */
	struct shard_ver *theirs;
	size_t compared, same, only_there, removed;
	size_t partial;			/* copies of changed blocks only */
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
	free(j->theirs);
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

static const char *kind(const struct bf_job *j)
{
	return j->sync ? "peering" : "backfill";
}

static void job_fail(struct bf_job *j, const char *why)
{
	if (!j->failed)
		pr_warn("%s of pool %u PG %u to daemon %u stopped: %s; "
			"it starts over with the next map", kind(j), j->pool,
			j->pg, j->target, why);
	j->failed = true;
}

static double secs(const struct timespec *a, const struct timespec *b)
{
	return (double)(b->tv_sec - a->tv_sec) +
	       (double)(b->tv_nsec - a->tv_nsec) / 1e9;
}

static void add_secs(struct timespec *t, double s)
{
	long long ns = (long long)(s * 1e9) + t->tv_nsec;

	t->tv_sec += ns / 1000000000;
	t->tv_nsec = ns % 1000000000;
}

/*
 * Backing off for clients (--recovery-share, or the cluster's share:
 * shard_backfill_set_share): while a client request came in within
 * CLIENT_WINDOW, pushes go one at a time, each followed by a pause long
 * enough that they take the share of the time. The share is read anew
 * for each pause.
 */
#define CLIENT_WINDOW	0.5

static bool clients_active(const struct shardd *d, const struct timespec *now)
{
	return d->recovery_share < 100 &&
	       (d->client_at.tv_sec || d->client_at.tv_nsec) &&
	       secs(&d->client_at, now) < CLIENT_WINDOW;
}

static void note_clients(struct shardd *d, const struct bf_push *p)
{
	struct timespec now;
	double pause;

	if (p->job->sync)
		return;
	clock_gettime(CLOCK_MONOTONIC, &now);
	if (!clients_active(d, &now))
		return;
	pause = secs(&p->t0, &now) * (100 - d->recovery_share) /
		d->recovery_share;
	add_secs(&now, pause);
	if (secs(&d->bf_resume_at, &now) > 0)
		d->bf_resume_at = now;
}

/* Warns of a bad share from mapd, once while it keeps sending it. */
static void bad_share(struct shardd *d, const json_t *v)
{
	char text[sizeof(d->recovery_share_bad)];
	char *dump = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
	size_t n = dump ? strlen(dump) : 0;

	if (n >= sizeof(text))
		snprintf(text, sizeof(text), "%.*s...", (int)sizeof(text) - 4,
			 dump);
	else
		snprintf(text, sizeof(text), "%s", dump ? dump : "(?)");
	free(dump);
	if (!strcmp(text, d->recovery_share_bad))
		return;
	strcpy(d->recovery_share_bad, text);
	pr_warn("mapd: heartbeat reply's recovery_share %s is not a "
		"percentage 1..100: ignored; recovery share stays %u%%", text,
		d->recovery_share);
}

void shard_backfill_set_share(struct shardd *d, const json_t *v)
{
	bool cluster = v && !json_is_null(v);
	unsigned int share = d->recovery_share_arg;

	if (cluster) {
		if (!json_is_integer(v) || json_integer_value(v) < 1 ||
		    json_integer_value(v) > 100) {
			bad_share(d, v);
			return;
		}
		share = (unsigned int)json_integer_value(v);
	}
	d->recovery_share_bad[0] = '\0';
	if (share == d->recovery_share)
		return;
	d->recovery_share = share;
	if (cluster)
		pr_info("recovery share now %u%% (set for the cluster; "
			"--recovery-share %u)", share, d->recovery_share_arg);
	else
		pr_info("recovery share back to %u%% (--recovery-share)",
			share);
}

static void push_done(void *arg, int err)
{
	struct bf_push *p = arg;
	struct bf_job *j = p->job;
	struct shardd *d = j->d;
	struct bf_push **pp;

	note_clients(d, p);
	for (pp = &j->pushes; *pp; pp = &(*pp)->next)
		if (*pp == p) {
			*pp = p->next;
			break;
		}
	d->bf_pushes--;
	d->bf_sync_pushes -= j->sync;
	if (!err) {
		j->done_objs++;
		j->removed += !p->bytes;
		j->partial += p->bytes && p->bytes < p->size;
		j->bytes += p->bytes;
		d->bf_copied += p->bytes;
	} else if (err == -EBADMSG) {
		/* A deep scrub repairs our copy from another member's, and
		 * the job then starts over (shard_backfill_retry). */
		job_fail(j, "an object failed its checksum here; a deep scrub "
			 "of the PG will repair it");
		shard_scrub_request(d, j->pool, j->pg, true);
	} else if (err != -ECANCELED) {
		job_fail(j, err < 0 ? "an object could not be read here" :
			 "the target refused a copy");
	}
	free(p);
	job_put(j);
	pump(d);
}

/* The target's version of objs[i], NULL if none or not known. */
static const struct shard_ver *their_ver(const struct bf_job *j, size_t i)
{
	return j->theirs && i < j->ncopy ? &j->theirs[i] : NULL;
}

static int push_start(struct bf_job *j, size_t i)
{
	struct shardd *d = j->d;
	struct bf_push *p = calloc(1, sizeof(*p));

	if (p)
		p->push = shard_push_start(d, j->target, &j->objs[i],
					   their_ver(j, i), push_done, p);
	if (!p || !p->push) {
		free(p);
		job_fail(j, "out of memory");
		return -ENOMEM;
	}
	p->job = j;
	p->bytes = shard_push_bytes(p->push);
	p->size = 1ULL << j->objs[i].order;
	clock_gettime(CLOCK_MONOTONIC, &p->t0);
	p->next = j->pushes;
	j->pushes = p;
	j->refs++;
	d->bf_pushes++;
	d->bf_sync_pushes += j->sync;
	return 0;
}

/* Jobs reported together: same pool, target, and us as primary. */
struct bf_report {
	struct shardd *d;
	size_t n;
	struct bf_job *jobs[];
};

/* "12 KiB", "4.0 MiB": a delta's bytes show, a rebuild's stay short. */
static const char *size_text(uint64_t bytes, char *buf, size_t len)
{
	if (bytes < 1ULL << 20)
		snprintf(buf, len, "%" PRIu64 " KiB", (bytes + 1023) >> 10);
	else
		snprintf(buf, len, "%.1f MiB", (double)bytes / (1 << 20));
	return buf;
}

static void job_reported(struct bf_job *j)
{
	struct timespec t;
	char size[32];
	double s;

	clock_gettime(CLOCK_MONOTONIC, &t);
	s = secs(&j->t0, &t);
	j->reported = true;
	/* Peering finds nothing to copy almost always: quiet then. */
	if (j->sync && !j->done_objs && !j->only_there) {
		pr_debug("peering of pool %u PG %u to daemon %u: %zu objects, "
			 "the same there", j->pool, j->pg, j->target,
			 j->compared);
		return;
	}
	pr_info("%s of pool %u PG %u to daemon %u done: %zu objects, %s in "
		"%.1f s (%zu of %zu objects copied, %zu of them only the "
		"blocks changed, %zu the same there, %zu only there, %zu of "
		"them removed)", kind(j), j->pool, j->pg, j->target,
		j->done_objs - j->removed,
		size_text(j->bytes, size, sizeof(size)), s,
		j->done_objs - j->removed, j->compared, j->partial, j->same,
		j->only_there, j->removed);
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
	d->bf_report = NULL;
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

	for (j = d->bf_jobs; j; j = j->next)
		if (j->sync && !j->failed && !j->tlist && !j->reported &&
		    !j->pushes && j->done_objs == j->nobjs)
			job_reported(j);	/* peering tells no one */
	if (d->bf_reporting)
		return;
	for (j = d->bf_jobs; j; j = j->next) {
		if (j->sync || j->failed || j->tlist || j->reporting ||
		    j->reported || j->pushes || j->done_objs != j->nobjs)
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

		if (j->failed || j->tlist || j->reporting || j->reported ||
		    j->pushes || j->done_objs != j->nobjs ||
		    j->pool != first->pool || j->target != first->target)
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
	if (req && !shard_session_note(d, req, report_done, r)) {
		d->bf_report = r;	/* freed here if the daemon stops first */
		return;
	}
	/* Not sent: they wait for the next map, as after a refusal. */
	d->bf_reporting = false;
	for (n = 0; n < r->n; n++) {
		r->jobs[n]->reporting = false;
		job_fail(r->jobs[n], "cannot send pg-backfilled to mapd");
		job_put(r->jobs[n]);
	}
	free(r);
}

static void on_refill(struct shard_ev *ev, int res)
{
	struct shardd *d = container_of(ev, struct shardd, bf_refill_ev);

	(void)res;
	d->bf_refill_armed = false;
	pump(d);
}

static void arm_refill(struct shardd *d, double wait)
{
	struct io_uring_sqe *sqe;

	if (d->bf_refill_armed)
		return;
	d->bf_refill_ts.tv_sec = (long long)wait;
	d->bf_refill_ts.tv_nsec = (long long)((wait -
		(double)d->bf_refill_ts.tv_sec) * 1e9) + 1000000;
	d->bf_refill_ev.fn = on_refill;
	sqe = shard_get_sqe(d);
	io_uring_prep_timeout(sqe, &d->bf_refill_ts, 0, 0);
	shard_sqe_set_ev(sqe, &d->bf_refill_ev);
	d->bf_refill_armed = true;
}

/* While clients are active: one push at a time, after the pause. */
static bool clients_allow(struct shardd *d)
{
	struct timespec now;
	double wait;

	clock_gettime(CLOCK_MONOTONIC, &now);
	if (!clients_active(d, &now))
		return true;
	if (d->bf_pushes - d->bf_sync_pushes)
		return false;
	wait = secs(&now, &d->bf_resume_at);
	if (wait <= 0)
		return true;
	arm_refill(d, wait);
	return false;
}

/*
 * The throttle (--recovery-mbps, and clients_allow): whether bytes more
 * may be sent now. The budget fills at the configured rate, at most one
 * object ahead; when it is short, a timer pumps again once it will do.
 */
static bool may_send(struct shardd *d, uint64_t bytes)
{
	struct timespec now;

	if (!clients_allow(d))
		return false;
	if (!d->recovery_bps)
		return true;
	clock_gettime(CLOCK_MONOTONIC, &now);
	if (d->bf_budget_at.tv_sec || d->bf_budget_at.tv_nsec)
		d->bf_budget += secs(&d->bf_budget_at, &now) *
				(double)d->recovery_bps;
	else
		d->bf_budget = (double)bytes;
	d->bf_budget_at = now;
	if (d->bf_budget > (double)bytes)
		d->bf_budget = (double)bytes;
	if (d->bf_budget >= (double)bytes) {
		d->bf_budget -= (double)bytes;
		return true;
	}
	arm_refill(d, ((double)bytes - d->bf_budget) / (double)d->recovery_bps);
	return false;
}

/* What the job's next push sends: the throttle counts bytes sent,
 * which a removal does not (it reads nothing either). */
static uint64_t next_size(const struct bf_job *j)
{
	return shard_push_size(j->d, &j->objs[j->next_obj],
			       their_ver(j, j->next_obj));
}

static void pump_once(struct shardd *d)
{
	struct bf_job *j;
	bool more = true, throttled = false;

	while (more && !d->stop && d->bf_pushes < d->recovery_pushes) {
		more = false;
		for (j = d->bf_jobs; j; j = j->next) {
			if (j->failed || j->tlist || j->next_obj == j->nobjs)
				continue;
			if (!j->sync && (throttled ||
					 !may_send(d, next_size(j)))) {
				throttled = true;
				continue;
			}
			if (push_start(j, j->next_obj++))
				return;
			more = true;
			if (d->bf_pushes >= d->recovery_pushes)
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

/* An object the target holds and we do not: removed there (into
 * gone) unless our store lost table entries. */
static void only_there(struct bf_job *j, const struct shard_obj *o,
		       struct shard_obj *gone, size_t *ngone)
{
	bool leave = shard_store_lost(j->d->store);

	j->only_there++;
	pr_debug("%s of pool %u PG %u: daemon %u holds volume %" PRIu64
		 " object %" PRIu64 ", which we do not; %s", kind(j), j->pool,
		 j->pg, j->target, o->volume, o->object, leave ?
		 "left there (this store lost table entries)" :
		 "removed there");
	if (!leave)
		gone[(*ngone)++] = *o;
}

/* Whether the target's copy of o (its listing's entry t) is ours. */
static bool same_there(const struct bf_job *j, const struct shard_obj *o,
		       const struct shard_member_obj *t)
{
	struct shard_ver v;

	shard_pg_version(j->d, o, &v);
	return t->o.order == o->order && shard_ver_known(&v) &&
	       shard_ver_eq(&v, &t->ver);
}

/*
 * The target's objects are in. Ours are read now, after its answer: a
 * change queued to it after the listing is there, or on its way behind
 * it, or newer here (and the object is copied).
 */
static void target_listed(void *arg, int err, struct shard_member_obj *theirs,
			  size_t nt)
{
	struct bf_job *j = arg;
	size_t i, k = 0, keep = 0, ngone = 0;
	struct shard_obj *gone, *all;
	struct shard_ver v;

	j->tlist = NULL;
	if (err) {
		job_fail(j, err > 0 ? "the target failed to list its objects" :
			 err == -EBADMSG ? "the target's list of its objects "
			 "is malformed" : "out of memory");
		return;
	}
	free(j->objs);
	free(j->theirs);
	j->objs = NULL;
	j->theirs = NULL;
	j->nobjs = j->ncopy = 0;
	gone = malloc((nt + 1) * sizeof(*gone));
	if (!gone ||
	    shard_pg_objects(j->d, j->pool, j->pg, &j->objs, &j->nobjs) ||
	    !(j->theirs = calloc(j->nobjs + 1, sizeof(*j->theirs)))) {
		free(gone);
		free(theirs);
		j->nobjs = 0;
		job_fail(j, "out of memory");
		return;
	}
	j->compared = j->nobjs;
	for (i = 0; i < j->nobjs; i++) {
		const struct shard_obj *o = &j->objs[i];

		while (k < nt && shard_obj_cmp(&theirs[k].o, o) < 0)
			only_there(j, &theirs[k++].o, gone, &ngone);
		v = (struct shard_ver){ 0, 0 };
		if (k < nt && !shard_obj_cmp(&theirs[k].o, o)) {
			if (same_there(j, o, &theirs[k])) {
				k++;
				j->same++;
				continue;
			}
			if (theirs[k].o.order == o->order)
				v = theirs[k].ver;
			k++;
		}
		j->theirs[keep] = v;
		j->objs[keep++] = *o;
	}
	while (k < nt)
		only_there(j, &theirs[k++].o, gone, &ngone);
	free(theirs);
	/* The removals after the copies. */
	all = ngone ? realloc(j->objs, (keep + ngone) * sizeof(*all)) :
	      j->objs;
	if (ngone && !all) {
		free(gone);
		j->nobjs = j->ncopy = keep;
		job_fail(j, "out of memory");
		return;
	}
	if (ngone)
		memcpy(all + keep, gone, ngone * sizeof(*all));
	free(gone);
	j->objs = all;
	j->ncopy = keep;
	j->nobjs = keep + ngone;
	if (!j->sync || j->nobjs)
		pr_info("%s of pool %u PG %u to daemon %u: %zu of %zu objects "
			"to copy, %zu the same there, %zu only there (%zu to "
			"remove there)", kind(j), j->pool, j->pg, j->target,
			keep, j->compared, j->same, j->only_there, ngone);
	pump(j->d);
}

/* Lists the PG's objects afresh, the target's first: the job (re)starts
 * from nothing done. */
static void job_scan(struct bf_job *j)
{
	j->next_obj = j->done_objs = 0;
	j->compared = j->same = j->only_there = j->removed = 0;
	j->partial = 0;
	j->bytes = 0;
	j->failed = j->reported = false;
	clock_gettime(CLOCK_MONOTONIC, &j->t0);
	free(j->objs);
	free(j->theirs);
	j->theirs = NULL;
	j->ncopy = 0;
	if (shard_pg_objects(j->d, j->pool, j->pg, &j->objs, &j->nobjs)) {
		job_fail(j, "out of memory");
		return;
	}
	j->ncopy = j->nobjs;
	j->tlist = shard_member_list_start(j->d, j->target, j->pool, j->pg,
					   target_listed, j);
	if (!j->tlist)
		job_fail(j, "out of memory");
	else if (!j->sync)
		pr_info("backfill of pool %u PG %u to daemon %u: %zu objects "
			"here, listing the target's", j->pool, j->pg, j->target,
			j->nobjs);
}

/* Whether id is a member of PG pg other than its primary. */
static bool member_of(const struct shard_map_pool *p, uint32_t pg,
		      uint32_t id)
{
	const uint32_t *row = shard_map_row(p, pg);
	uint32_t k;

	for (k = 1; k < p->width && row[k] != SHARD_MAP_NONE; k++)
		if (row[k] == id)
			return true;
	return false;
}

/* Whether this map makes us the primary of PG pg of p, which another
 * daemon was in prev. */
static bool became_primary(const struct shardd *d,
			   const struct shard_map_pool *p, uint32_t pg,
			   const struct shard_map *prev)
{
	const struct shard_map_pool *q = prev ? shard_map_pool(prev, p->id) :
					     NULL;
	uint32_t was;

	if (p->width < 2 || shard_map_row(p, pg)[0] != my_id(d) || !q ||
	    q->pg_count != p->pg_count)
		return false;
	was = shard_map_row(q, pg)[0];
	return was != my_id(d) && was != SHARD_MAP_NONE;
}

static bool job_wanted(const struct shardd *d, const struct bf_job *j)
{
	const struct shard_map_pool *p = shard_map_pool(d->map, j->pool);
	uint32_t bf[SHARD_MAP_WIDTH_MAX], n, k;

	if (!p || j->pg >= p->pg_count ||
	    shard_map_row(p, j->pg)[0] != my_id(d))
		return false;
	if (j->sync)
		return member_of(p, j->pg, j->target);
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
	if (j->tlist) {
		shard_member_list_cancel(j->tlist);
		j->tlist = NULL;
	}
	/* The list's reference keeps j while a push's end drops its own. */
	for (p = j->pushes; p; p = next) {
		next = p->next;
		shard_push_cancel(p->push);
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

/* Jobs that failed and are idle start over. */
static void restart_failed(struct shardd *d)
{
	struct bf_job *j;

	for (j = d->bf_jobs; j; j = j->next)
		if (j->failed && !j->tlist && !j->pushes && !j->reporting)
			job_scan(j);
}

void shard_backfill_retry(struct shardd *d)
{
	restart_failed(d);
	pump(d);
}

static void job_add(struct shardd *d, struct bf_job ***tail, uint32_t pool,
		    uint32_t pg, uint32_t target, bool sync)
{
	struct bf_job *j;

	if (job_find(d, pool, pg, target))
		return;
	j = calloc(1, sizeof(*j));
	if (!j) {
		pr_err("out of memory for a %s", sync ? "peering" : "backfill");
		return;
	}
	j->d = d;
	j->pool = pool;
	j->pg = pg;
	j->target = target;
	j->sync = sync;
	j->refs = 1;
	j->listed = true;
	**tail = j;
	*tail = &j->next;
	job_scan(j);
}

void shard_backfill_map_changed(struct shardd *d, const struct shard_map *prev)
{
	struct bf_job *j, *next, **tail;
	uint32_t bf[SHARD_MAP_WIDTH_MAX], pg, n, k;
	const uint32_t *row;
	size_t i;

	for (j = d->bf_jobs; j; j = next) {
		next = j->next;
		if (!job_wanted(d, j))
			job_cancel(j);
	}
	restart_failed(d);
	for (tail = &d->bf_jobs; *tail; tail = &(*tail)->next)
		;
	for (i = 0; i < d->map->nr_pools && !d->stop; i++) {
		const struct shard_map_pool *p = &d->map->pools[i];

		for (pg = 0; pg < p->pg_count; pg++) {
			row = shard_map_row(p, pg);
			if (row[0] != my_id(d))
				continue;
			if (became_primary(d, p, pg, prev))
				for (k = 1; k < p->width &&
				     row[k] != SHARD_MAP_NONE; k++)
					job_add(d, &tail, p->id, pg, row[k],
						true);
			n = shard_map_backfill(p, pg, bf);
			for (k = 0; k < n; k++)
				job_add(d, &tail, p->id, pg, bf[k], false);
		}
	}
	pump(d);
}

void shard_backfill_progress(const struct shardd *d, uint64_t *objects,
			     uint64_t *bytes)
{
	const struct bf_job *j;
	const struct bf_push *p;
	size_t i;

	*objects = *bytes = 0;
	for (j = d->bf_jobs; j; j = j->next) {
		if (j->reported)
			continue;
		*objects += j->nobjs - j->done_objs;
		for (i = j->next_obj; i < j->ncopy; i++)
			*bytes += 1ULL << j->objs[i].order;
		for (p = j->pushes; p; p = p->next)
			*bytes += p->bytes;
	}
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
			free(p);	/* its shard_push: push.c's */
		}
		/* j->tlist freed itself when the peers went. */
		free(j->objs);
		free(j->theirs);
		free(j);
	}
}

void shard_backfill_free_all(struct shardd *d)
{
	/* A pg-backfilled still with mapd: the session tells no one now. */
	free(d->bf_report);
	d->bf_report = NULL;
	free_list(&d->bf_jobs);
	free_list(&d->bf_dead);
}
