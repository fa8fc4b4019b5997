/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Helpers for the placement tests: a seeded cluster generator and the
 * checks every table must pass. The checks recompute everything from the
 * table itself rather than trusting the result's statistics.
 */
#ifndef SHARD_PL_TEST_H
#define SHARD_PL_TEST_H

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <linux/shard.h>

#include "placement.h"

#define T_MAX_DEVS 128

struct t_rng {
	uint64_t s;
};

static inline uint64_t t_next(struct t_rng *r)
{
	uint64_t z = (r->s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* Uniform in [lo, hi]. */
static inline uint32_t t_range(struct t_rng *r, uint32_t lo, uint32_t hi)
{
	return lo + (uint32_t)(t_next(r) % (hi - lo + 1));
}

struct t_cluster {
	struct pl_device devs[T_MAX_DEVS];
	size_t n;
	uint32_t hosts;
	uint32_t width;
	bool ordered;
	uint32_t next_id;
};

/* A random capacity, spread 1:16, in units of 256 GiB-ish. */
static inline uint64_t t_weight(struct t_rng *r)
{
	return (uint64_t)t_range(r, 16, 256) << 30;
}

/*
 * 2 to 20 hosts with 1 to 6 devices each, ids sparse and shuffled
 * between hosts; width 1..5 replicated or an EC layout.
 */
static inline void t_gen_cluster(struct t_rng *r, struct t_cluster *cl)
{
	static const uint32_t ec[] = { 3, 4, 6, 11 };	/* 2+1 2+2 4+2 8+3 */
	uint32_t h, j, nd;

	memset(cl, 0, sizeof(*cl));
	cl->hosts = t_range(r, 2, 20);
	cl->next_id = t_range(r, 0, 1000);
	for (h = 0; h < cl->hosts; h++) {
		nd = t_range(r, 1, 6);
		for (j = 0; j < nd; j++) {
			cl->devs[cl->n].id = cl->next_id;
			cl->next_id += t_range(r, 1, 3);
			cl->devs[cl->n].domain = 1000 + h * 7;
			cl->devs[cl->n].weight = t_weight(r);
			cl->n++;
		}
	}
	/* Shuffle so that hosts are not contiguous in the input. */
	for (j = cl->n; j > 1; j--) {
		struct pl_device t;
		uint32_t o = t_range(r, 0, j - 1);

		t = cl->devs[j - 1];
		cl->devs[j - 1] = cl->devs[o];
		cl->devs[o] = t;
	}
	if (t_range(r, 0, 3) == 0) {
		cl->width = ec[t_range(r, 0, 3)];
		cl->ordered = false;
	} else {
		cl->width = t_range(r, 1, 5);
		cl->ordered = true;
	}
}

static inline const struct pl_device *t_find(const struct pl_device *d,
					     size_t n, uint32_t id)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (d[i].id == id)
			return &d[i];
	return NULL;
}

static inline uint32_t t_domains(const struct pl_device *d, size_t n)
{
	uint32_t nd = 0;
	size_t i, j;

	for (i = 0; i < n; i++) {
		for (j = 0; j < i; j++)
			if (d[j].domain == d[i].domain)
				break;
		nd += j == i;
	}
	return nd;
}

/*
 * Every invariant of a table; returns NULL or what is wrong. *worst gets
 * the worst |members - ideal| / max(0.05 * ideal, 1) (must be <= 1).
 */
static inline const char *t_check(const struct pl_input *in,
				  const struct pl_result *res, double *worst)
{
	uint32_t k = t_domains(in->devs, in->ndevs), pg, a, b, filled;
	uint32_t *cnt = calloc(in->ndevs + 1, sizeof(*cnt));
	uint32_t *prim = calloc(in->ndevs + 1, sizeof(*prim));
	const struct pl_device *da, *db;
	const char *err = NULL;
	double w = 0, dev, tot = 0;
	size_t i;

	if (k > in->width)
		k = in->width;
	if (res->nstats != in->ndevs)
		err = "nstats";
	for (pg = 0; !err && pg < in->pg_count; pg++) {
		const uint32_t *row = res->table + (size_t)pg * in->width;

		filled = 0;
		for (a = 0; a < in->width && !err; a++) {
			if (row[a] == SHARD_DAEMON_NONE)
				continue;
			filled++;
			da = t_find(in->devs, in->ndevs, row[a]);
			if (!da) {
				err = "unknown device in table";
				break;
			}
			cnt[da - in->devs]++;
			prim[da - in->devs] += a == 0;
			for (b = 0; b < a; b++) {
				if (row[b] == SHARD_DAEMON_NONE)
					continue;
				db = t_find(in->devs, in->ndevs, row[b]);
				if (db->domain == da->domain)
					err = "two members of a PG in a domain";
			}
			if (in->ordered && a && row[a - 1] == SHARD_DAEMON_NONE)
				err = "ordered PG with a hole before a member";
		}
		if (!err && filled != k)
			err = "PG not filled to min(width, domains)";
	}
	if (!err && res->empty_slots != in->pg_count * (in->width - k))
		err = "empty_slots";
	for (i = 0; !err && i < in->ndevs; i++) {
		const struct pl_dev_stat *st = &res->stats[i];

		if (st->id != in->devs[i].id || st->members != cnt[i] ||
		    st->primaries != prim[i]) {
			err = "stats do not match the table";
			break;
		}
		tot += st->ideal;
		dev = fabs(st->members - st->ideal) /
		      fmax(0.05 * st->ideal, 1);
		if (dev > w)
			w = dev;
	}
	if (!err && fabs(tot - (double)in->pg_count * k) > 1e-6 * (tot + 1))
		err = "ideals do not add up to the members";
	if (!err && w > 1 + 1e-9)
		err = "a device is further than max(5%, 1) from its ideal";
	if (worst)
		*worst = w;
	free(cnt);
	free(prim);
	return err;
}

/*
 * Worst primary count against its share, ideal / members per PG, in units
 * of max(5%, 1): primaries follow capacity, not just membership.
 */
static inline double t_primary_dev(const struct pl_input *in,
				   const struct pl_result *res)
{
	uint32_t k = t_domains(in->devs, in->ndevs);
	double w = 0, want, dev;
	size_t i;

	if (k > in->width)
		k = in->width;
	for (i = 0; i < in->ndevs; i++) {
		want = res->stats[i].ideal / k;
		dev = fabs(res->stats[i].primaries - want) /
		      fmax(0.05 * want, 1);
		if (dev > w)
			w = dev;
	}
	return w;
}

/* The theoretical minimum of copies: sum of max(0, ideal - old count). */
static inline double t_min_moves(const struct pl_input *in,
				 const struct pl_result *res,
				 const uint32_t *prev)
{
	size_t slots = (size_t)in->pg_count * in->width, s, i;
	double m = 0;
	uint32_t c;

	for (i = 0; i < in->ndevs; i++) {
		c = 0;
		for (s = 0; s < slots; s++)
			c += prev[s] == in->devs[i].id;
		if (res->stats[i].ideal > c)
			m += res->stats[i].ideal - c;
	}
	return m;
}

/* Copies a table needs relative to prev, counted independently. */
static inline uint32_t t_moved(const struct pl_input *in,
			       const uint32_t *table, const uint32_t *prev)
{
	uint32_t pg, a, b, n = 0;
	const uint32_t *row, *old;
	bool found;

	for (pg = 0; pg < in->pg_count; pg++) {
		row = table + (size_t)pg * in->width;
		old = prev + (size_t)pg * in->width;
		for (a = 0; a < in->width; a++) {
			if (row[a] == SHARD_DAEMON_NONE)
				continue;
			found = false;
			for (b = 0; b < in->width; b++)
				if (in->ordered ? old[b] == row[a] :
				    (b == a && old[b] == row[a]))
					found = true;
			n += !found;
		}
	}
	return n;
}

/* A TAP comment that survives the harness's _exit() in the test child. */
#define t_note(...) do {				\
	ksft_print_msg(__VA_ARGS__);			\
	fflush(stdout);					\
} while (0)

/*
 * Width one less than the number of domains: every PG lacks exactly one
 * domain, so how many PGs lack each domain follows from the domain
 * totals, and the PG compositions cannot change freely.
 */
static inline bool t_pinned(const struct pl_input *in)
{
	uint32_t nd = t_domains(in->devs, in->ndevs);

	return in->width >= 2 && in->width + 1 == nd;
}

static inline double t_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static inline int t_dcmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

#endif
