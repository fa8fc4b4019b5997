// SPDX-License-Identifier: GPL-2.0-only
/*
 * Augmenting paths: how a device gets a member when no PG it may enter has
 * a hole or a member to spare.
 *
 * Device A (domain DA) should gain a member. It may enter any PG without
 * DA; if that PG has a hole or a member that may be taken, done. If not,
 * A takes the place of some member B there, and B's domain must now find
 * a PG, and so on. A path ends at a hole or a takeable member; along it
 * every PG and every domain appears once, so the domain rule holds after
 * the whole path is applied. This is the augmenting path of the
 * domain-to-PG b-matching; such a path exists whenever the counts can be
 * improved at all.
 *
 * Pushing out a member that was placed in this run costs nothing, it has
 * not been copied yet; pushing out a member kept from the previous table
 * costs a copy. The search is breadth-first by cost (0-1 BFS, one queue
 * per level), so it returns a cheapest path, and without st->paid it stops
 * after cost 0.
 *
 * Nodes are domains (0..nd-1) and PGs (nd..nd+P-1). A domain node expands
 * to every PG not holding the domain: O(P) each, O(nd * P) per search.
 * Free paths are applied in batches (batch.c), so the number of searches
 * stays small even when thousands of paths are needed.
 */
#include <stdlib.h>
#include <string.h>

#include "pl_internal.h"
#include "augment.h"

struct pl_aug *pl_aug_new(const struct pl_ctx *c)
{
	size_t nodes = (size_t)c->nd + c->P;
	struct pl_aug *a = calloc(1, sizeof(*a));

	if (!a)
		return NULL;
	a->dist = malloc(nodes * sizeof(*a->dist));
	a->done = malloc(nodes);
	a->par_pg = malloc((c->nd + 1) * sizeof(*a->par_pg));
	a->par_pos = malloc(c->nd + 1);
	a->src = malloc((c->nd + 1) * sizeof(*a->src));
	a->carry = malloc((c->nd + 1) * sizeof(*a->carry));
	a->par_dom = malloc(c->P * sizeof(*a->par_dom));
	a->q[0] = malloc(nodes * sizeof(uint32_t));
	a->q[1] = malloc(nodes * sizeof(uint32_t));
	a->ends = malloc(MAX_BATCH * sizeof(*a->ends));
	a->used = malloc(nodes);
	a->dead = malloc(nodes);
	a->hops = malloc(nodes * sizeof(*a->hops));
	a->nalt = malloc((c->nd + 1) * sizeof(*a->nalt));
	a->alt = malloc((c->nd + 1) * MAX_ALT * sizeof(*a->alt));
	a->steps = malloc((nodes + 1) * sizeof(*a->steps));
	if (!a->dist || !a->done || !a->par_pg || !a->par_pos || !a->src ||
	    !a->carry || !a->par_dom || !a->q[0] || !a->q[1] || !a->ends ||
	    !a->used || !a->dead || !a->hops || !a->nalt || !a->alt ||
	    !a->steps) {
		pl_aug_free(a);
		return NULL;
	}
	return a;
}

void pl_aug_free(struct pl_aug *a)
{
	if (!a)
		return;
	free(a->dist);
	free(a->done);
	free(a->par_pg);
	free(a->par_pos);
	free(a->src);
	free(a->carry);
	free(a->par_dom);
	free(a->q[0]);
	free(a->q[1]);
	free(a->ends);
	free(a->used);
	free(a->dead);
	free(a->hops);
	free(a->nalt);
	free(a->alt);
	free(a->steps);
	free(a);
}

/*
 * Records an end; true when the search should stop: a paid path is
 * applied alone, free ones are collected for a batch.
 */
static bool found(struct pl_aug *a, struct end e)
{
	a->ends[a->nends++] = e;
	return e.cost > 0 || a->nends == MAX_BATCH;
}

/* A take that costs a copy competes with the paths one level deeper. */
static bool take_end(struct pl_aug *a, const struct pl_ctx *c,
		     const struct pl_stage *st, uint32_t pg, uint32_t pos,
		     uint32_t dom, uint32_t level, bool *stop)
{
	uint32_t cost = pl_take_cost(c, pg, pos);

	if (!cost) {
		*stop = found(a, (struct end){ END_TAKE, pg, pos, dom, level });
		return true;
	}
	if (st->paid && !a->have_costly) {
		a->costly = (struct end){ END_TAKE, pg, pos, dom, level + 1 };
		a->have_costly = true;
	}
	return false;
}

static bool relax(struct pl_aug *a, uint32_t node, uint32_t dist,
		  uint32_t level, uint32_t hops)
{
	if (a->done[node] || dist >= a->dist[node])
		return false;
	a->dist[node] = dist;
	a->hops[node] = hops;
	a->q[dist > level][a->qn[dist > level]++] = node;
	return true;
}

/*
 * Domain d needs a PG: any PG without d, or a takeable member of its own
 * (one such end per domain and search is plenty).
 */
static bool expand_domain(const struct pl_ctx *c, struct pl_aug *a,
			  const struct pl_stage *st, uint32_t d,
			  uint32_t level)
{
	bool stop = false, ended = false;
	uint32_t pg, pos;
	int32_t m;

	for (pg = 0; pg < c->P; pg++) {
		if (!pl_dom_in(c, pg, d)) {
			if (relax(a, c->nd + pg, level, level, a->hops[d] + 1))
				a->par_dom[pg] = d;
			continue;
		}
		for (pos = 0; pos < c->W && !ended; pos++) {
			m = *pl_slot(c, pg, pos);
			if (m >= 0 && c->dom[m] == d && pl_takeable(c, st, m))
				ended = take_end(a, c, st, pg, pos, d, level,
						 &stop);
		}
		if (stop)
			return true;
	}
	return false;
}

/* par_dom[pg] enters pg: a hole, a takeable member, or push one out. */
static bool expand_pg(const struct pl_ctx *c, struct pl_aug *a,
		      const struct pl_stage *st, uint32_t pg,
		      uint32_t level)
{
	uint32_t pos, d, cost;
	bool stop = false;
	int32_t m;

	if (c->filled[pg] < c->k)
		return found(a, (struct end){ END_HOLE, pg, 0, a->par_dom[pg],
					      level });
	for (pos = 0; pos < c->W; pos++)
		if (pl_takeable(c, st, *pl_slot(c, pg, pos)) &&
		    take_end(a, c, st, pg, pos, a->par_dom[pg], level, &stop))
			return stop;
	for (pos = 0; pos < c->W; pos++) {
		m = *pl_slot(c, pg, pos);
		if (m < 0)
			continue;
		if (pl_takeable(c, st, m))
			continue;	/* kept aside as an end */
		cost = c->kept[(size_t)pg * c->W + pos];
		if (cost && !st->paid)
			continue;
		d = c->dom[m];
		if (relax(a, d, level + cost, level, a->hops[c->nd + pg] + 1)) {
			a->par_pg[d] = pg;
			a->par_pos[d] = pos;
			a->nalt[d] = 0;
		}
		/* Other free ways out of the same layer, for batches. */
		if (!cost && a->dist[d] == level &&
		    a->hops[d] == a->hops[c->nd + pg] + 1 &&
		    a->nalt[d] < MAX_ALT)
			a->alt[d * MAX_ALT + a->nalt[d]++] =
				(struct pl_alt){ pg, pos };
	}
	return false;
}

/*
 * Fills a->ends: every free end of the search tree, or the single
 * cheapest path when only paid ones exist.
 */
static bool search(const struct pl_ctx *c, struct pl_aug *a,
		   const struct pl_stage *st)
{
	uint32_t nodes = c->nd + c->P, level = 0, i, v, *t;
	size_t j;

	memset(a->done, 0, nodes);
	for (v = 0; v < nodes; v++)
		a->dist[v] = UINT32_MAX;
	a->qn[0] = a->qn[1] = 0;
	a->have_costly = false;
	a->nends = 0;
	for (v = 0; v < c->nd; v++) {
		a->src[v] = -1;
		for (j = c->dom_first[v]; j < c->dom_first[v + 1]; j++) {
			i = c->dom_devs[j];
			if (pl_is_src(c, st, i) &&
			    (a->src[v] < 0 || pl_needier(c, 0, i, a->src[v])))
				a->src[v] = i;
		}
		if (a->src[v] >= 0) {
			a->par_pg[v] = -1;
			a->nalt[v] = 0;
			relax(a, v, 0, 0, 0);
		}
	}
	for (;;) {
		for (i = 0; i < a->qn[0]; i++) {
			v = a->q[0][i];
			if (a->done[v] || a->dist[v] != level)
				continue;
			a->done[v] = 1;
			if (v < c->nd ? expand_domain(c, a, st, v, level) :
			    expand_pg(c, a, st, v - c->nd, level))
				break;
		}
		if (a->nends) {
			/* Only free paths are batched: keep one paid path. */
			if (level)
				a->nends = 1;
			return true;
		}
		if (a->have_costly && (a->costly.cost <= level || !a->qn[1])) {
			a->ends[a->nends++] = a->costly;
			return true;
		}
		if (!a->qn[1])
			return false;
		t = a->q[0];
		a->q[0] = a->q[1];
		a->q[1] = t;
		a->qn[0] = a->qn[1];
		a->qn[1] = 0;
		level++;
	}
}

/* The end slot first, then each push-out back to the source. */
static void apply(struct pl_ctx *c, struct pl_aug *a, const struct end *e)
{
	uint32_t d = e->dom, pg;

	for (;;) {
		a->carry[d] = a->par_pg[d] < 0 ? a->src[d] :
			*pl_slot(c, a->par_pg[d], a->par_pos[d]);
		if (a->par_pg[d] < 0)
			break;
		d = a->par_dom[a->par_pg[d]];
	}
	d = e->dom;
	pl_set(c, e->pg, e->kind == END_HOLE ? pl_first_empty(c, e->pg) :
	       e->pos, a->carry[d], false);
	while (a->par_pg[d] >= 0) {
		pg = a->par_pg[d];
		pl_set(c, pg, a->par_pos[d], a->carry[a->par_dom[pg]], false);
		d = a->par_dom[pg];
	}
}

bool pl_augment(struct pl_ctx *c, struct pl_aug *a,
		const struct pl_stage *st)
{
	a->st = st;
	if (!search(c, a, st))
		return false;
	if (!a->ends[0].cost)
		return pl_apply_batch(c, a);
	apply(c, a, &a->ends[0]);
	return true;
}
