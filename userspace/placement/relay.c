// SPDX-License-Identifier: GPL-2.0-only
/*
 * Two-step moves, before any search.
 *
 * A hole (or a member that may be taken) in PG x that no device below
 * target may fill, because their domains are all in x already, is filled
 * by moving a member of another domain A from PG y, and a device below
 * target whose domain is not in y takes A's place there. When A's member
 * was placed in this run, moving it is no extra copy. This is the
 * augmenting path of length two, by far the most common kind, and
 * finding it by walking A's new members is much cheaper than a search:
 * tables with width close to the number of domains (16 of 20) leave
 * hundreds of such holes after the greedy pass.
 */
#include <string.h>

#include "pl_internal.h"

/* Member slots checked per hole before leaving it to the search. */
#define RELAY_TRIES 1024

struct relay {
	uint32_t *first;	/* new members of domain d: */
	uint32_t *slots;	/* slots[first[d] .. first[d + 1]) */
	uint32_t *cand;
	uint32_t *ncand;
};

static bool relay_one(struct pl_ctx *c, const struct pl_stage *st,
		      struct relay *r, uint32_t x, int32_t pos)
{
	int64_t own = pos >= 0 ? (int64_t)c->dom[*pl_slot(c, x, pos)] : -1;
	uint32_t d, y, p, tries = 0;
	int32_t m, j;
	size_t i, s;

	for (d = 0; d < c->nd; d++) {
		if (d != own && pl_dom_in(c, x, d))
			continue;
		for (i = r->first[d]; i < r->first[d + 1]; i++) {
			if (++tries > RELAY_TRIES)
				return false;
			s = r->slots[i];
			y = s / c->W;
			p = s % c->W;
			m = c->tab[s];
			if (y == x || m < 0 || c->dom[m] != d || c->kept[s])
				continue;
			j = pl_pick(c, st, r->cand, r->ncand, y, -1);
			if (j < 0)
				continue;
			pl_set(c, x, pos >= 0 ? (uint32_t)pos :
			       pl_first_empty(c, x), m, false);
			pl_set(c, y, p, j, false);
			return true;
		}
	}
	return false;
}

/* first has nd + 2 entries, slots P * W. */
bool pl_relay(struct pl_ctx *c, const struct pl_stage *st, uint32_t *cand,
	      uint32_t *ncand, uint32_t *first, uint32_t *slots)
{
	struct relay r = { first, slots, cand, ncand };
	size_t n = (size_t)c->P * c->W, s;
	bool changed = false;
	uint32_t d, x, pos;
	int32_t m;

	memset(r.first, 0, (c->nd + 2) * sizeof(*r.first));
	for (s = 0; s < n; s++)
		if (c->tab[s] >= 0 && !c->kept[s])
			r.first[c->dom[c->tab[s]] + 2]++;
	for (d = 0; d < c->nd; d++)
		r.first[d + 2] += r.first[d + 1];
	for (s = 0; s < n; s++)
		if (c->tab[s] >= 0 && !c->kept[s])
			r.slots[r.first[c->dom[c->tab[s]] + 1]++] = s;

	for (x = 0; x < c->P && *ncand; x++) {
		while (c->filled[x] < c->k && relay_one(c, st, &r, x, -1))
			changed = true;
		for (pos = 0; pos < c->W && st->take != PL_TAKE_NONE; pos++) {
			m = *pl_slot(c, x, pos);
			if (pl_takeable(c, st, m) && !pl_take_cost(c, x, pos) &&
			    relay_one(c, st, &r, x, pos))
				changed = true;
		}
	}
	return changed;
}
