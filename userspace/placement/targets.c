// SPDX-License-Identifier: GPL-2.0-only
/*
 * Ideal member counts and their integer targets.
 *
 * The capacity share is what a device "deserves", but a domain can be in
 * each PG only once: with 3 hosts and 3 copies every host holds exactly
 * pg_count members whatever its size. Water-filling caps such domains and
 * gives their excess to the others in proportion to capacity, which is the
 * fairest split the failure-domain rule allows (it maximises the pool's
 * usable capacity). Rounding then keeps each target within one member of
 * its ideal while never asking a domain for more than pg_count.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>

#include "pl_internal.h"
#include "pl_round.h"

void pl_compute_ideals(struct pl_ctx *c)
{
	double total = 0, members = (double)c->P * c->k, rest, rest_w;
	const double *dw = c->dom_weight;
	uint32_t d, ncap = 0;
	bool again = true;
	size_t i;

	for (d = 0; d < c->nd; d++) {
		c->dom_weight[d] = 0;
		c->dom_capped[d] = false;
	}
	for (i = 0; i < c->n; i++) {
		c->dom_weight[c->dom[i]] += (double)c->weight[i];
		total += (double)c->weight[i];
	}
	for (i = 0; i < c->n; i++)
		c->share[i] = members * (double)c->weight[i] / total;

	/*
	 * Capping a domain only raises the others' shares, so capping every
	 * domain over the limit at once and repeating converges in at most nd
	 * rounds. A tiny tolerance keeps a domain that is exactly full from
	 * being reported as capped because of rounding.
	 */
	for (;;) {
		rest = members - (double)ncap * c->P;
		rest_w = 0;
		for (d = 0; d < c->nd; d++)
			if (!c->dom_capped[d])
				rest_w += dw[d];
		if (!again)
			break;
		again = false;
		for (d = 0; d < c->nd; d++) {
			if (c->dom_capped[d] || !c->k)
				continue;
			if (rest * dw[d] / rest_w > c->P * (1 + 1e-9)) {
				c->dom_capped[d] = true;
				ncap++;
				again = true;
			}
		}
	}
	for (d = 0; d < c->nd; d++)
		c->dom_ideal[d] = c->dom_capped[d] ? c->P :
			rest_w > 0 ? rest * dw[d] / rest_w : 0;
	for (i = 0; i < c->n; i++) {
		d = c->dom[i];
		c->ideal[i] = c->dom_ideal[d] * (double)c->weight[i] / dw[d];
	}
}

struct rank {
	uint32_t idx;
	uint8_t tier;
	double rem;
};

static int rank_cmp(const void *a, const void *b)
{
	const struct rank *x = a, *y = b;

	if (x->tier != y->tier)
		return x->tier < y->tier ? -1 : 1;
	if (x->rem != y->rem)
		return x->rem > y->rem ? -1 : 1;
	return x->idx < y->idx ? -1 : x->idx > y->idx;
}

/*
 * Largest remainder with two kinds of limits: an item's own maximum and a
 * cap per group. Items that already have the rounded-up count go first so
 * that a recompute does not trade one rounding for another and move data
 * for nothing. Each group below its cap still has as many items with a
 * fractional part as its share of the remainder needs, so one sweep
 * normally finishes; the later sweeps only absorb floating-point noise.
 */
int pl_round(const struct pl_round_in *r, uint32_t *out)
{
	struct rank *rk;
	uint32_t *gsum = NULL;
	int64_t left = r->total;
	size_t i, j;
	int sweep;

	rk = calloc(r->n ? r->n : 1, sizeof(*rk));
	if (r->group)
		gsum = calloc(r->ngroups ? r->ngroups : 1, sizeof(*gsum));
	if (!rk || (r->group && !gsum)) {
		free(rk);
		free(gsum);
		return -ENOMEM;
	}
	for (i = 0; i < r->n; i++) {
		double f = floor(r->x[i]);

		out[i] = f < 0 ? 0 : (uint32_t)f;
		if (r->item_max && out[i] > r->item_max[i])
			out[i] = r->item_max[i];
		rk[i].idx = i;
		rk[i].rem = r->x[i] - out[i];
		rk[i].tier = !(r->have && r->have[i] > out[i]);
		if (gsum)
			gsum[r->group[i]] += out[i];
		left -= out[i];
	}
	qsort(rk, r->n, sizeof(*rk), rank_cmp);

	/* Noise can push a floor sum over a cap: take back the smallest. */
	for (j = r->n; j-- > 0;) {
		i = rk[j].idx;
		while (out[i] && (left < 0 ||
				  (gsum && gsum[r->group[i]] > r->group_cap))) {
			out[i]--;
			left++;
			if (gsum)
				gsum[r->group[i]]--;
		}
	}
	for (sweep = 0; sweep < 3 && left > 0; sweep++) {
		for (j = 0; j < r->n && left > 0; j++) {
			i = rk[j].idx;
			if (sweep == 0 && rk[j].rem <= 0)
				continue;
			if (r->item_max && out[i] >= r->item_max[i])
				continue;
			if (gsum && gsum[r->group[i]] >= r->group_cap)
				continue;
			if (sweep < 2 && out[i] > floor(r->x[i]))
				continue;
			out[i]++;
			left--;
			if (gsum)
				gsum[r->group[i]]++;
		}
	}
	free(rk);
	free(gsum);
	return 0;
}

/*
 * The tolerance is the acceptance bound, max(5%, 1 member), a hair
 * tighter so that floating point never puts a device on the wrong side.
 */
static void tolerance(struct pl_ctx *c)
{
	double tol, lo, hi;
	size_t i;

	for (i = 0; i < c->n; i++) {
		tol = fmax(PL_TOLERANCE * c->ideal[i], 1) * (1 - 1e-9);
		lo = ceil(c->ideal[i] - tol);
		hi = floor(c->ideal[i] + tol);
		c->lo[i] = lo < 0 ? 0 : (uint32_t)fmin(lo, c->tgt[i]);
		c->hi[i] = (uint32_t)fmax(fmin(hi, c->P), c->tgt[i]);
	}
}

int pl_round_targets(struct pl_ctx *c)
{
	int ret;
	struct pl_round_in r = {
		.n = c->n,
		.x = c->ideal,
		.have = c->in->prev ? c->prev_cnt : NULL,
		.group = c->dom,
		.ngroups = c->nd,
		.group_cap = c->P,
		.total = c->P * c->k,
	};

	ret = pl_round(&r, c->tgt);
	if (!ret)
		tolerance(c);
	return ret;
}
