// SPDX-License-Identifier: GPL-2.0-only
/*
 * Entry points: input checks, the sorted working state, and the result.
 * See placement.h for the algorithm.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "pl_internal.h"

struct keyed {
	uint32_t key;
	size_t idx;
};

static int keyed_cmp(const void *a, const void *b)
{
	const struct keyed *x = a, *y = b;

	if (x->key != y->key)
		return x->key < y->key ? -1 : 1;
	return x->idx < y->idx ? -1 : x->idx > y->idx;
}

static int check_input(const struct pl_input *in, const struct pl_result *out)
{
	size_t i;

	if (!in || !out || (in->ndevs && !in->devs))
		return -EINVAL;
	if (!in->width || in->width > SHARD_MAX_WIDTH)
		return -EINVAL;
	if (!in->pg_count || in->pg_count > SHARD_MAX_PGS)
		return -EINVAL;
	for (i = 0; i < in->ndevs; i++)
		if (in->devs[i].id == SHARD_DAEMON_NONE ||
		    !in->devs[i].weight)
			return -EINVAL;
	return 0;
}

static void ctx_free(struct pl_ctx *c)
{
	free(c->id);
	free(c->weight);
	free(c->dom);
	free(c->orig);
	free(c->ideal);
	free(c->share);
	free(c->tgt);
	free(c->lo);
	free(c->hi);
	free(c->cur);
	free(c->kcnt);
	free(c->prev_cnt);
	free(c->dom_id);
	free(c->dom_weight);
	free(c->dom_ideal);
	free(c->dom_capped);
	free(c->dom_first);
	free(c->dom_devs);
	free(c->tab);
	free(c->kept);
	free(c->filled);
	free(c->dmask);
}

/* Devices by id, domains by id: the order the caller used is gone. */
static int sort_devices(struct pl_ctx *c)
{
	const struct pl_input *in = c->in;
	struct keyed *k = malloc((in->ndevs + 1) * sizeof(*k));
	size_t i;
	int ret = -ENOMEM;

	if (!k)
		return -ENOMEM;
	for (i = 0; i < in->ndevs; i++)
		k[i] = (struct keyed){ in->devs[i].id, i };
	qsort(k, in->ndevs, sizeof(*k), keyed_cmp);
	for (i = 0; i < c->n; i++) {
		if (i && k[i].key == k[i - 1].key) {
			ret = -EINVAL;
			goto out;
		}
		c->id[i] = k[i].key;
		c->orig[i] = k[i].idx;
		c->weight[i] = in->devs[k[i].idx].weight;
	}

	for (i = 0; i < c->n; i++)
		k[i] = (struct keyed){ in->devs[c->orig[i]].domain, i };
	qsort(k, c->n, sizeof(*k), keyed_cmp);
	c->nd = 0;
	for (i = 0; i < c->n; i++) {
		if (!i || k[i].key != k[i - 1].key) {
			c->dom_id[c->nd] = k[i].key;
			c->dom_first[c->nd++] = i;
		}
		c->dom[k[i].idx] = c->nd - 1;
		c->dom_devs[i] = k[i].idx;
	}
	/* Equal domains sort by device index: devices stay in id order. */
	c->dom_first[c->nd] = c->n;
	c->k = c->in->width < c->nd ? c->in->width : c->nd;
	ret = 0;
out:
	free(k);
	return ret;
}

static int ctx_init(struct pl_ctx *c, const struct pl_input *in)
{
	size_t n = in->ndevs, slots = (size_t)in->pg_count * in->width, i;
	int ret;

	memset(c, 0, sizeof(*c));
	c->in = in;
	c->P = in->pg_count;
	c->W = in->width;
	c->n = n;
	c->id = malloc((n + 1) * sizeof(*c->id));
	c->weight = malloc((n + 1) * sizeof(*c->weight));
	c->dom = malloc((n + 1) * sizeof(*c->dom));
	c->orig = malloc((n + 1) * sizeof(*c->orig));
	c->ideal = malloc((n + 1) * sizeof(*c->ideal));
	c->share = malloc((n + 1) * sizeof(*c->share));
	c->tgt = calloc(n + 1, sizeof(*c->tgt));
	c->lo = calloc(n + 1, sizeof(*c->lo));
	c->hi = calloc(n + 1, sizeof(*c->hi));
	c->cur = calloc(n + 1, sizeof(*c->cur));
	c->kcnt = calloc(n + 1, sizeof(*c->kcnt));
	c->prev_cnt = calloc(n + 1, sizeof(*c->prev_cnt));
	c->dom_id = malloc((n + 1) * sizeof(*c->dom_id));
	c->dom_weight = malloc((n + 1) * sizeof(*c->dom_weight));
	c->dom_ideal = malloc((n + 1) * sizeof(*c->dom_ideal));
	c->dom_capped = malloc((n + 1) * sizeof(*c->dom_capped));
	c->dom_first = malloc((n + 2) * sizeof(*c->dom_first));
	c->dom_devs = malloc((n + 1) * sizeof(*c->dom_devs));
	c->tab = malloc(slots * sizeof(*c->tab));
	c->kept = calloc(slots, 1);
	c->filled = calloc(c->P, sizeof(*c->filled));
	if (!c->id || !c->weight || !c->dom || !c->orig || !c->ideal ||
	    !c->share || !c->tgt || !c->lo || !c->hi || !c->cur ||
	    !c->kcnt || !c->prev_cnt || !c->dom_id || !c->dom_weight ||
	    !c->dom_ideal || !c->dom_capped || !c->dom_first ||
	    !c->dom_devs || !c->tab || !c->kept || !c->filled)
		return -ENOMEM;
	for (i = 0; i < slots; i++)
		c->tab[i] = -1;
	ret = sort_devices(c);
	if (ret)
		return ret;
	c->mwords = (c->nd + 63) / 64 + 1;
	c->dmask = calloc((size_t)c->P * c->mwords, sizeof(*c->dmask));
	return c->dmask ? 0 : -ENOMEM;
}

/*
 * Members of the previous table stay where they are unless their device
 * is gone or their domain already has a member in the PG (the caller may
 * have moved a device to another host). Lower positions win, so an EC
 * pool's chunk 0 is the one that stays.
 */
static void load_prev(struct pl_ctx *c)
{
	uint32_t pg, pos;
	int32_t d;

	for (pg = 0; pg < c->P; pg++) {
		for (pos = 0; pos < c->W; pos++) {
			d = pl_lookup(c, c->in->prev[(size_t)pg * c->W + pos]);
			if (d < 0 || pl_dom_in(c, pg, c->dom[d]) ||
			    c->filled[pg] >= c->k)
				continue;
			pl_set(c, pg, pos, d, true);
		}
	}
	memcpy(c->prev_cnt, c->cur, c->n * sizeof(*c->cur));
}

/* Replicated PGs list their members first: empty slots go last. */
static void compact(struct pl_ctx *c)
{
	uint32_t pg, pos, to;
	int32_t *row;

	for (pg = 0; pg < c->P; pg++) {
		row = pl_slot(c, pg, 0);
		for (pos = to = 0; pos < c->W; pos++)
			if (row[pos] >= 0)
				row[to++] = row[pos];
		while (to < c->W)
			row[to++] = -1;
	}
}

static bool in_row(const uint32_t *row, uint32_t w, uint32_t id)
{
	uint32_t pos;

	for (pos = 0; pos < w; pos++)
		if (row[pos] == id)
			return true;
	return false;
}

static int fill_result(struct pl_ctx *c, struct pl_result *out)
{
	const uint32_t *prev = c->in->prev;
	size_t slots = (size_t)c->P * c->W, s, i;
	struct pl_dev_stat *st;
	uint32_t *prev_cnt;
	uint64_t mb = 0, b;
	bool any = false;
	double dev;
	int32_t d;

	out->table = malloc(slots * sizeof(*out->table));
	out->stats = calloc(c->n + 1, sizeof(*out->stats));
	prev_cnt = calloc(c->n + 1, sizeof(*prev_cnt));
	if (!out->table || !out->stats || !prev_cnt) {
		free(prev_cnt);
		return -ENOMEM;
	}
	out->nstats = c->n;
	for (s = 0; s < slots; s++) {
		d = c->tab[s];
		out->table[s] = d < 0 ? SHARD_DAEMON_NONE : c->id[d];
		if (d < 0) {
			out->empty_slots++;
			continue;
		}
		st = &out->stats[c->orig[d]];
		st->members++;
		st->primaries += s % c->W == 0;
		if (!prev)
			continue;
		if (c->in->ordered ?
		    !in_row(prev + s / c->W * c->W, c->W, c->id[d]) :
		    prev[s] != c->id[d])
			out->moved++;
	}
	for (s = 0; prev && s < slots; s++) {
		d = pl_lookup(c, prev[s]);
		if (d >= 0)
			prev_cnt[d]++;
	}
	for (i = 0; i < c->n; i++) {
		st = &out->stats[c->orig[i]];
		st->id = c->id[i];
		st->ideal = c->ideal[i];
		st->share_ideal = c->share[i];
		st->capped = c->dom_capped[c->dom[i]];
		if (prev && c->ideal[i] > prev_cnt[i])
			out->moved_min += c->ideal[i] - prev_cnt[i];
		if (c->ideal[i] >= 1) {
			dev = st->members / c->ideal[i] - 1;
			dev = dev < 0 ? -dev : dev;
			if (dev > out->max_dev)
				out->max_dev = dev;
		}
		if (st->members) {
			b = c->weight[i] / st->members;
			if (!any || b < mb)
				mb = b;
			any = true;
		}
	}
	out->member_bytes = mb;
	free(prev_cnt);
	return 0;
}

static int run(const struct pl_input *in, struct pl_result *out, bool crush)
{
	struct pl_ctx c;
	int ret;

	if (out)
		memset(out, 0, sizeof(*out));
	ret = check_input(in, out);
	if (ret)
		return ret;
	ret = ctx_init(&c, in);
	if (ret)
		goto out;
	if (in->prev && !crush)
		load_prev(&c);
	pl_compute_ideals(&c);
	if (crush) {
		ret = pl_initial_fill(&c, true);
	} else {
		ret = pl_round_targets(&c);
		if (!ret && !in->prev)
			ret = pl_initial_fill(&c, false);
		if (!ret)
			ret = pl_balance(&c);
		if (!ret && in->ordered && c.k)
			ret = pl_balance_primaries(&c);
	}
	if (ret)
		goto out;
	if (in->ordered)
		compact(&c);
	ret = fill_result(&c, out);
out:
	ctx_free(&c);
	if (ret)
		placement_result_free(out);
	return ret;
}

int placement_compute(const struct pl_input *in, struct pl_result *out)
{
	return run(in, out, false);
}

int placement_compute_baseline(const struct pl_input *in,
			       struct pl_result *out)
{
	struct pl_input plain;

	if (!in)
		return run(in, out, true);
	plain = *in;
	plain.prev = NULL;
	return run(&plain, out, true);
}

void placement_result_free(struct pl_result *r)
{
	if (!r)
		return;
	free(r->table);
	free(r->stats);
	memset(r, 0, sizeof(*r));
}

uint32_t placement_default_pgs(size_t ndevs, uint32_t width)
{
	double want = 100.0 * (double)ndevs / (width ? width : 1);
	uint32_t p = 32;

	/*
	 * The nearest power of two on a log scale: the boundary between p
	 * and 2p is their geometric mean, p * sqrt(2).
	 */
	while (p < 4096 && want > p * 1.41421356237)
		p *= 2;
	return p;
}
