// SPDX-License-Identifier: GPL-2.0-only
/*
 * Applying many free augmenting paths from one search, as Hopcroft-Karp
 * does for matchings.
 *
 * A search tree gives each domain a single parent, and with few domains
 * nearly every path runs through the same handful of them, so applying
 * only the tree's paths would take one search per member. But a domain is
 * not one resource: it can be pushed out of any PG where it has a member
 * placed in this run, so paths only need to be PG-disjoint. The search
 * remembers, per domain, several such members one layer below it (hops
 * from a source), and each end is traced back through the layers by
 * depth-first search over those alternatives, never reusing a PG; a PG
 * that led nowhere is not tried again in the batch. Layers keep the paths
 * shortest and the search finite.
 */
#include <string.h>

#include "augment.h"

/* A source domain can still place a device: the same one, or another. */
static bool source_left(struct pl_ctx *c, struct pl_aug *a, uint32_t d)
{
	size_t j;

	if (a->src[d] >= 0 && pl_is_src(c, a->st, a->src[d]))
		return true;
	a->src[d] = -1;
	for (j = c->dom_first[d]; j < c->dom_first[d + 1]; j++)
		if (pl_is_src(c, a->st, c->dom_devs[j]) &&
		    (a->src[d] < 0 ||
		     pl_needier(c, 0, c->dom_devs[j], a->src[d])))
			a->src[d] = c->dom_devs[j];
	return a->src[d] >= 0;
}

static bool trace_pg(struct pl_ctx *c, struct pl_aug *a, uint32_t pg,
		     uint32_t pos, uint32_t *n);

/* Domain d enters the PG of the last step: where does it come from? */
static bool trace_dom(struct pl_ctx *c, struct pl_aug *a, uint32_t d,
		      uint32_t *n)
{
	const struct pl_alt *alt = &a->alt[d * MAX_ALT];
	uint32_t i, y;
	size_t s;
	int32_t m;

	if (a->par_pg[d] < 0)
		return source_left(c, a, d);
	for (i = 0; i < a->nalt[d]; i++) {
		y = alt[i].pg;
		s = (size_t)y * c->W + alt[i].pos;
		m = c->tab[s];
		if (a->used[y] || a->dead[y] || m < 0 || c->dom[m] != d ||
		    c->kept[s])
			continue;
		a->used[y] = 1;
		if (trace_pg(c, a, y, alt[i].pos, n))
			return true;
		a->used[y] = 0;
		a->dead[y] = 1;
	}
	return false;
}

/* Some domain one layer up, not in pg, enters it at pos. */
static bool trace_pg(struct pl_ctx *c, struct pl_aug *a, uint32_t pg,
		     uint32_t pos, uint32_t *n)
{
	uint32_t d;

	for (d = 0; d < c->nd; d++) {
		if (!a->done[d] || a->dist[d] ||
		    a->hops[d] + 1 != a->hops[c->nd + pg] ||
		    pl_dom_in(c, pg, d))
			continue;
		a->steps[(*n)++] = (struct step){ pg, pos, d };
		if (trace_dom(c, a, d, n))
			return true;
		(*n)--;
	}
	return false;
}

/* Every domain on the path takes the place of the next one's member. */
static void apply_steps(struct pl_ctx *c, struct pl_aug *a,
			const struct end *e, uint32_t n)
{
	uint32_t i;

	for (i = 0; i + 1 < n; i++)
		a->carry[i] = *pl_slot(c, a->steps[i + 1].pg,
				       a->steps[i + 1].pos);
	a->carry[n - 1] = a->src[a->steps[n - 1].dom];
	pl_set(c, e->pg, e->kind == END_HOLE ? pl_first_empty(c, e->pg) :
	       e->pos, a->carry[0], false);
	for (i = 1; i < n; i++)
		pl_set(c, a->steps[i].pg, a->steps[i].pos, a->carry[i], false);
}

bool pl_apply_batch(struct pl_ctx *c, struct pl_aug *a)
{
	bool any = false, ok;
	const struct end *e;
	uint32_t i, n;
	int32_t m;

	memset(a->used, 0, c->P);
	memset(a->dead, 0, c->P);
	for (i = 0; i < a->nends; i++) {
		e = &a->ends[i];
		if (a->used[e->pg])
			continue;
		if (e->kind == END_TAKE) {
			m = *pl_slot(c, e->pg, e->pos);
			if (!pl_takeable(c, a->st, m) ||
			    pl_take_cost(c, e->pg, e->pos))
				continue;
		}
		a->used[e->pg] = 1;
		n = 0;
		if (pl_dom_in(c, e->pg, e->dom)) {
			/* A member of its own domain: that domain enters. */
			a->steps[n++] = (struct step){ e->pg, e->pos, e->dom };
			ok = trace_dom(c, a, e->dom, &n);
		} else {
			ok = trace_pg(c, a, e->pg, e->pos, &n);
		}
		if (!ok) {
			a->used[e->pg] = 0;
			continue;
		}
		apply_steps(c, a, e, n);
		any = true;
	}
	return any;
}
