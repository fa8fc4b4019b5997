// SPDX-License-Identifier: GPL-2.0-only
/* Recovery progress: the daemons' reports, copy rates and their sums. */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "cmds.h"
#include "recovery.h"

static const char *const fields[] = { "objects", "bytes", "copied" };

static uint64_t *field_of(struct mapd_recovery *r, size_t i)
{
	return i == 0 ? &r->objects : i == 1 ? &r->bytes : &r->copied;
}

static int parse_object(json_t *o, struct mapd_recovery *r, char *err)
{
	struct mapd_recovery got = { 0 };
	json_t *v;
	size_t i;

	memset(r, 0, sizeof(*r));
	if (!o || json_is_null(o))
		return 0;
	if (!json_is_object(o)) {
		snprintf(err, ERRLEN,
			 "field \"recovery\" must be an object of \"objects\", \"bytes\" and \"copied\"");
		return -EINVAL;
	}
	for (i = 0; i < 3; i++) {
		v = json_object_get(o, fields[i]);
		if (!json_is_integer(v) || json_integer_value(v) < 0) {
			snprintf(err, ERRLEN,
				 "field \"recovery.%s\" must be a non-negative integer",
				 fields[i]);
			return -EINVAL;
		}
		*field_of(&got, i) = json_integer_value(v);
	}
	*r = got;
	return 0;
}

int recovery_parse(json_t *req, struct mapd_recovery *r, char *err)
{
	return parse_object(json_object_get(req, "recovery"), r, err);
}

void recovery_from_json(json_t *v, struct mapd_recovery *r)
{
	char err[ERRLEN];

	if (parse_object(v, r, err))
		memset(r, 0, sizeof(*r));
}

void recovery_reset(struct recovery_track *t)
{
	memset(t, 0, sizeof(*t));
}

/*
 * Consecutive samples but the newest are kept at least this far apart,
 * so that the ring spans more than the window however often reports
 * come.
 */
#define SAMPLE_SPACING	(RECOVERY_WINDOW / (RECOVERY_SAMPLES / 2))

void recovery_note(struct recovery_track *t, const struct mapd_recovery *r,
		   double now)
{
	struct recovery_sample s = { now, r->copied };

	t->last = *r;
	if (t->n && (r->copied < t->s[t->n - 1].copied ||
		     now < t->s[t->n - 1].at))
		t->n = 0;	/* the daemon restarted */
	if (t->n >= 2 && now - t->s[t->n - 2].at < SAMPLE_SPACING) {
		t->s[t->n - 1] = s;
		return;
	}
	if (t->n == RECOVERY_SAMPLES) {
		memmove(t->s, t->s + 1, (t->n - 1) * sizeof(t->s[0]));
		t->n--;
	}
	t->s[t->n++] = s;
}

uint64_t recovery_rate(const struct recovery_track *t, double now)
{
	const struct recovery_sample *last, *base;
	double dt, rate;
	int i;

	if (t->n < 2)
		return 0;
	last = &t->s[t->n - 1];
	if (now - last->at > RECOVERY_STALE)
		return 0;
	/* The newest sample a window before the last, or the oldest. */
	base = &t->s[0];
	for (i = t->n - 2; i >= 0; i--)
		if (last->at - t->s[i].at >= RECOVERY_WINDOW) {
			base = &t->s[i];
			break;
		}
	dt = last->at - base->at;
	if (dt <= 0 || last->copied <= base->copied)
		return 0;
	rate = (double)(last->copied - base->copied) / dt;
	return rate < (double)INT64_MAX ? (uint64_t)rate : (uint64_t)INT64_MAX;
}

/* Sums stay JSON integers, however many daemons say what. */
static void add_capped(uint64_t *sum, uint64_t v)
{
	*sum = v > (uint64_t)INT64_MAX - *sum ? (uint64_t)INT64_MAX : *sum + v;
}

void recovery_add(struct recovery_sum *s, const struct recovery_track *t,
		  double now)
{
	add_capped(&s->objects, t->last.objects);
	add_capped(&s->bytes, t->last.bytes);
	add_capped(&s->copied, t->last.copied);
	add_capped(&s->rate, recovery_rate(t, now));
}

json_t *recovery_sum_json(const struct recovery_sum *s, bool eta)
{
	json_t *o = json_pack("{s:I, s:I, s:I, s:I}",
			      "objects", (json_int_t)s->objects,
			      "bytes", (json_int_t)s->bytes,
			      "rate", (json_int_t)s->rate,
			      "copied", (json_int_t)s->copied);

	if (!o || !eta)
		return o;
	if (!s->rate || (!s->objects && !s->bytes))
		json_object_set_new(o, "eta", json_null());
	else
		json_object_set_new(o, "eta", json_integer(
			(json_int_t)ceil((double)s->bytes / (double)s->rate)));
	return o;
}

void mapd_recovery(struct mapd *m, uint32_t id, struct recovery_sum *s)
{
	double now = mapd_now();
	size_t i;

	if (m->cl) {
		cluster_recovery(m, id, s);
		return;
	}
	/* A daemon that is down copies nothing: its last report is old. */
	for (i = 0; i < m->st.ndaemons; i++) {
		const struct mapd_daemon *d = &m->st.daemons[i];

		if ((!id || d->id == id) && d->up)
			recovery_add(s, &d->rec, now);
	}
}
