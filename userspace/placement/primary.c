// SPDX-License-Identifier: GPL-2.0-only
/*
 * Primaries of ordered (replicated) pools.
 *
 * The primary serves the reads and runs the writes of its PG, so its load
 * should follow its share of the data, not merely the member count: each
 * device gets a quota of ideal / k primaries, rounded. Choosing one member
 * per PG within quotas is a bipartite matching; a greedy pass does most of
 * it and augmenting paths (x takes i, so i gives up y, which takes j...)
 * finish it. All members of a replicated PG hold the same data, so making
 * another member primary is a swap of positions and copies nothing.
 * Keeping the previous primary first keeps clients' connections warm.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "pl_internal.h"
#include "pl_round.h"

#define SALT_PRIMARY	0x9a1eULL

struct prim {
	struct pl_ctx *c;
	int32_t *of;		/* primary per PG, -1 none */
	uint32_t *pc;		/* primaries per device */
	uint32_t *quota;
	/* augmenting search */
	uint32_t *first;	/* PGs where device i is primary: */
	uint32_t *pgs;		/* pgs[first[i] .. first[i + 1]) */
	int32_t *via;		/* device: PG it would take over */
	uint32_t *queue;
};

static bool member(const struct pl_ctx *c, uint32_t pg, int32_t dev)
{
	uint32_t pos;

	for (pos = 0; pos < c->W; pos++)
		if (*pl_slot(c, pg, pos) == dev)
			return true;
	return false;
}

/* The member furthest below its quota, relative to it; -1 if all full. */
static int32_t pick(const struct prim *p, uint32_t pg)
{
	const struct pl_ctx *c = p->c;
	int32_t best = -1, m;
	uint64_t a, b;
	uint32_t pos;

	for (pos = 0; pos < c->W; pos++) {
		m = *pl_slot(c, pg, pos);
		if (m < 0 || p->pc[m] >= p->quota[m])
			continue;
		if (best >= 0) {
			a = (uint64_t)(p->quota[m] - p->pc[m]) * p->quota[best];
			b = (uint64_t)(p->quota[best] - p->pc[best]) *
			    p->quota[m];
			if (a < b || (a == b &&
			    pl_hash(pg, c->id[m], SALT_PRIMARY) <=
			    pl_hash(pg, c->id[best], SALT_PRIMARY)))
				continue;
		}
		best = m;
	}
	return best;
}

/* Breadth-first over devices from pg's members; true if pg got one. */
static bool augment(struct prim *p, uint32_t pg)
{
	struct pl_ctx *c = p->c;
	uint32_t head = 0, tail = 0, i, y, pos, n;
	int32_t m, d, old;
	size_t j;

	memset(p->first, 0, (c->n + 1) * sizeof(*p->first));
	for (y = 0; y < c->P; y++)
		if (p->of[y] >= 0)
			p->first[p->of[y] + 1]++;
	for (i = 0; i < c->n; i++)
		p->first[i + 1] += p->first[i];
	for (y = 0; y < c->P; y++)
		if (p->of[y] >= 0)
			p->pgs[p->first[p->of[y]]++] = y;
	for (i = c->n; i > 0; i--)
		p->first[i] = p->first[i - 1];
	p->first[0] = 0;
	for (i = 0; i < c->n; i++)
		p->via[i] = -1;

	for (pos = 0; pos < c->W; pos++) {
		m = *pl_slot(c, pg, pos);
		if (m >= 0 && p->quota[m]) {
			p->via[m] = pg;
			p->queue[tail++] = m;
		}
	}
	for (d = -1; head < tail && d < 0;) {
		i = p->queue[head++];
		for (j = p->first[i]; j < p->first[i + 1] && d < 0; j++) {
			y = p->pgs[j];
			for (pos = 0; pos < c->W; pos++) {
				m = *pl_slot(c, y, pos);
				if (m < 0 || p->via[m] >= 0 || !p->quota[m])
					continue;
				p->via[m] = y;
				if (p->pc[m] < p->quota[m]) {
					d = m;
					break;
				}
				p->queue[tail++] = m;
			}
		}
	}
	if (d < 0)
		return false;
	/* d takes via[d] from its primary, which takes its own via... */
	p->pc[d]++;
	for (n = 0; n <= c->n; n++) {
		y = p->via[d];
		old = p->of[y];
		p->of[y] = d;
		if (y == pg)
			return true;
		d = old;
	}
	return true;	/* not reached: a path has at most n devices */
}

/* Over-quota fallback: the member with the fewest primaries per quota. */
static int32_t least_loaded(const struct prim *p, uint32_t pg)
{
	const struct pl_ctx *c = p->c;
	int32_t best = -1, m;
	uint32_t pos;

	for (pos = 0; pos < c->W; pos++) {
		m = *pl_slot(c, pg, pos);
		if (m < 0)
			continue;
		if (best < 0 || (uint64_t)p->pc[m] * (p->quota[best] + 1) <
		    (uint64_t)p->pc[best] * (p->quota[m] + 1))
			best = m;
	}
	return best;
}

static void to_front(struct pl_ctx *c, uint32_t pg, int32_t dev)
{
	uint32_t pos;
	int32_t t;
	uint8_t k;

	for (pos = 1; pos < c->W; pos++) {
		if (*pl_slot(c, pg, pos) != dev)
			continue;
		t = *pl_slot(c, pg, 0);
		*pl_slot(c, pg, 0) = dev;
		*pl_slot(c, pg, pos) = t;
		k = c->kept[(size_t)pg * c->W];
		c->kept[(size_t)pg * c->W] = c->kept[(size_t)pg * c->W + pos];
		c->kept[(size_t)pg * c->W + pos] = k;
		return;
	}
}

int pl_balance_primaries(struct pl_ctx *c)
{
	const uint32_t *prev = c->in->prev;
	struct prim p = { .c = c };
	double *x = malloc(c->n * sizeof(*x) + 1);
	uint32_t *have = calloc(c->n + 1, sizeof(*have));
	struct pl_round_in r = {
		.n = c->n, .x = x, .have = prev ? have : NULL,
		.item_max = c->cur, .total = c->P,
	};
	int32_t d;
	uint32_t pg;
	size_t i;
	int ret = -ENOMEM;

	p.of = malloc(c->P * sizeof(*p.of));
	p.pc = calloc(c->n + 1, sizeof(*p.pc));
	p.quota = malloc((c->n + 1) * sizeof(*p.quota));
	p.first = malloc((c->n + 1) * sizeof(*p.first));
	p.pgs = malloc(c->P * sizeof(*p.pgs));
	p.via = malloc((c->n + 1) * sizeof(*p.via));
	p.queue = malloc((c->n + 1) * sizeof(*p.queue));
	if (!x || !have || !p.of || !p.pc || !p.quota || !p.first ||
	    !p.pgs || !p.via || !p.queue)
		goto out;

	for (i = 0; i < c->n; i++)
		x[i] = c->ideal[i] / c->k;
	for (pg = 0; prev && pg < c->P; pg++) {
		d = pl_lookup(c, prev[(size_t)pg * c->W]);
		if (d >= 0 && member(c, pg, d))
			have[d]++;
	}
	ret = pl_round(&r, p.quota);
	if (ret)
		goto out;

	for (pg = 0; pg < c->P; pg++) {
		p.of[pg] = -1;
		d = prev ? pl_lookup(c, prev[(size_t)pg * c->W]) : -1;
		if (d >= 0 && member(c, pg, d) && p.pc[d] < p.quota[d]) {
			p.of[pg] = d;
			p.pc[d]++;
		}
	}
	for (pg = 0; pg < c->P; pg++) {
		if (p.of[pg] >= 0 || !c->filled[pg])
			continue;
		d = pick(&p, pg);
		if (d >= 0) {
			p.of[pg] = d;
			p.pc[d]++;
		}
	}
	for (pg = 0; pg < c->P; pg++) {
		if (p.of[pg] >= 0 || !c->filled[pg] || augment(&p, pg))
			continue;
		d = least_loaded(&p, pg);
		p.of[pg] = d;
		p.pc[d]++;
	}
	for (pg = 0; pg < c->P; pg++)
		if (p.of[pg] >= 0)
			to_front(c, pg, p.of[pg]);
	ret = 0;
out:
	free(x);
	free(have);
	free(p.of);
	free(p.pc);
	free(p.quota);
	free(p.first);
	free(p.pgs);
	free(p.via);
	free(p.queue);
	return ret;
}
