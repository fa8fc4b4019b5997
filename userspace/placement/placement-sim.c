// SPDX-License-Identifier: GPL-2.0-only
/*
 * placement-sim: figures for reports. For a few named clusters it prints
 * each device's fill against its ideal next to the CRUSH-like (straw2)
 * baseline, the usable capacity both give, the copies when a device is
 * added or removed against the theoretical minimum, and compute times.
 *
 *   placement-sim [SCENARIO...]    (default: all; -l lists them)
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <linux/shard.h>

#include "placement.h"

#define TB 1000000000000ULL
#define MAX_DEVS 130

struct cluster {
	struct pl_device d[MAX_DEVS];
	size_t n;
	uint32_t width, data_chunks;
	bool ordered;
};

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static uint64_t rng_next(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static void add(struct cluster *c, uint32_t host, uint64_t weight)
{
	c->d[c->n] = (struct pl_device){ (uint32_t)c->n + 1, host, weight };
	c->n++;
}

static struct pl_input input(const struct cluster *c, uint32_t pgs)
{
	return (struct pl_input){ .devs = c->d, .ndevs = c->n,
				  .pg_count = pgs, .width = c->width,
				  .ordered = c->ordered };
}

/* Best of a few runs, in milliseconds. */
static double timed(const struct pl_input *in, struct pl_result *out)
{
	double best = 1e9, t;
	int i;

	for (i = 0; i < 5; i++) {
		placement_result_free(out);
		t = now();
		if (placement_compute(in, out)) {
			fprintf(stderr, "placement_compute failed\n");
			exit(1);
		}
		t = now() - t;
		if (t < best)
			best = t;
	}
	return best * 1000;
}

static double dev_pct(uint32_t members, double ideal)
{
	return ideal > 0 ? 100 * (members / ideal - 1) : 0;
}

static void print_devices(const struct cluster *c, const struct pl_result *r,
			  const struct pl_result *s)
{
	uint32_t k = c->width;
	size_t i, hosts = 0, j;

	/* members per PG: min(width, hosts) */
	for (i = 0; i < c->n; i++) {
		for (j = 0; j < i; j++)
			if (c->d[j].domain == c->d[i].domain)
				break;
		hosts += j == i;
	}
	if (hosts < k)
		k = hosts;
	printf("  %4s %5s %8s %9s %8s %7s %8s %7s %9s %s\n", "dev", "host",
	       "TB", "ideal", "members", "dev", "crush", "dev",
	       "prim/ideal", "");
	for (i = 0; i < c->n; i++) {
		const struct pl_dev_stat *st = &r->stats[i];

		printf("  %4u %5u %8.2f %9.1f %8u %+6.1f%% %8u %+6.1f%% %4u/%-5.1f%s\n",
		       st->id, c->d[i].domain, (double)c->d[i].weight / TB,
		       st->ideal, st->members, dev_pct(st->members, st->ideal),
		       s->stats[i].members,
		       dev_pct(s->stats[i].members, st->ideal), st->primaries,
		       c->ordered ? st->ideal / k : 0,
		       st->capped ? "  capped: too large to fill" : "");
	}
}

static double worst_abs(const struct pl_result *r)
{
	double w = 0;
	size_t i;

	for (i = 0; i < r->nstats; i++)
		w = fmax(w, fabs(r->stats[i].members - r->stats[i].ideal));
	return w;
}

static void change(const char *what, const struct cluster *c, uint32_t pgs,
		   const uint32_t *prev)
{
	struct pl_input in = input(c, pgs);
	struct pl_result r = { 0 };
	double ms;

	in.prev = prev;
	ms = timed(&in, &r);
	printf("  %-28s %6u copies, minimum %8.1f (x%.3f), worst %.1f%%, %.2f ms\n",
	       what, r.moved, r.moved_min,
	       r.moved_min > 0 ? r.moved / r.moved_min : 1, 100 * r.max_dev,
	       ms);
	placement_result_free(&r);
}

static void report(const char *title, struct cluster *c, uint32_t pgs,
		   uint32_t add_host, uint64_t add_weight, bool details)
{
	struct pl_input in = input(c, pgs);
	struct pl_result r = { 0 }, s = { 0 };
	double ms, usable, usable_s;
	struct cluster m;
	char what[64];

	ms = timed(&in, &r);
	if (placement_compute_baseline(&in, &s)) {
		fprintf(stderr, "placement_compute_straw2 failed\n");
		exit(1);
	}
	printf("== %s: %zu devices, width %u%s, %u PGs\n", title, c->n,
	       c->width, c->ordered ? "" : " (EC)", pgs);
	if (details)
		print_devices(c, &r, &s);
	usable = (double)r.member_bytes * pgs * c->data_chunks / TB;
	usable_s = (double)s.member_bytes * pgs * c->data_chunks / TB;
	printf("  worst deviation: here %.2f%% (%.1f members), CRUSH-like %.2f%% (%.1f members)\n",
	       100 * r.max_dev, worst_abs(&r), 100 * s.max_dev, worst_abs(&s));
	printf("  usable capacity: here %.2f TB, CRUSH-like %.2f TB (%+.1f%%)\n",
	       usable, usable_s, 100 * (usable / usable_s - 1));
	printf("  compute: %.2f ms\n", ms);

	m = *c;
	m.d[m.n++] = (struct pl_device){ 900, add_host, add_weight };
	snprintf(what, sizeof(what), "add %.2f TB to host %u:",
		 (double)add_weight / TB, add_host);
	change(what, &m, pgs, r.table);
	m = *c;
	m.d[m.n - 1].weight = m.d[m.n - 1].weight * 2;
	snprintf(what, sizeof(what), "double dev %u's weight:",
		 m.d[m.n - 1].id);
	change(what, &m, pgs, r.table);
	m = *c;
	m.d[0] = m.d[--m.n];
	snprintf(what, sizeof(what), "remove dev %u:", c->d[0].id);
	change(what, &m, pgs, r.table);
	printf("\n");
	placement_result_free(&r);
	placement_result_free(&s);
}

static void classic(void)
{
	struct cluster c = { .width = 3, .ordered = true, .data_chunks = 1 };

	add(&c, 1, 3 * TB);
	add(&c, 2, 3 * TB);
	add(&c, 3, 3 * TB);
	add(&c, 4, 1 * TB);
	report("3,3,3,1: four hosts of 3, 3, 3 and 1 TB, three copies", &c,
	       1024, 5, 2 * TB, true);
}

static void proxmox(void)
{
	struct cluster c = { .width = 3, .ordered = true, .data_chunks = 1 };
	static const uint64_t disks[3][4] = {
		{ 4 * TB, 2 * TB, 1 * TB, TB / 2 },
		{ 2 * TB, 2 * TB, 1 * TB, TB / 2 },
		{ 4 * TB, 1 * TB, TB / 2, 0 },
	};
	uint32_t h, j;

	for (h = 0; h < 3; h++)
		for (j = 0; j < 4; j++)
			if (disks[h][j])
				add(&c, h + 1, disks[h][j]);
	report("proxmox: three hosts, mixed 0.5/1/2/4 TB disks, three copies",
	       &c, placement_default_pgs(c.n, 3), 2, 4 * TB, true);
}

static void random_hosts(uint32_t width, uint32_t data, bool ordered,
			 const char *title)
{
	struct cluster c = { .width = width, .ordered = ordered,
			     .data_chunks = data };
	uint64_t s = 2024;
	uint32_t h, j, nd;

	for (h = 0; h < 10; h++) {
		nd = 1 + rng_next(&s) % 6;
		for (j = 0; j < nd; j++)
			add(&c, h + 1, (1 + rng_next(&s) % 16) * TB / 4);
	}
	report(title, &c, placement_default_pgs(c.n, width), 3, 2 * TB,
	       ordered);
}

static void big(void)
{
	struct cluster c = { .width = 5, .ordered = true, .data_chunks = 1 };
	uint64_t s = 77;
	uint32_t h, j;

	for (h = 0; h < 20; h++)
		for (j = 0; j < 6; j++)
			add(&c, h + 1, (1 + rng_next(&s) % 16) * TB / 4);
	report("big: 20 hosts x 6 devices (1:16), five copies", &c, 4096, 7,
	       4 * TB, false);
}

static void ten_rep(void)
{
	random_hosts(3, 1, true, "10 hosts, 1-6 random devices each, three copies");
}

static void ten_ec(void)
{
	random_hosts(6, 4, false, "10 hosts, 1-6 random devices each, EC 4+2");
}

static const struct {
	const char *name;
	void (*fn)(void);
} scenarios[] = {
	{ "3331", classic },
	{ "proxmox", proxmox },
	{ "10hosts", ten_rep },
	{ "10hosts-ec", ten_ec },
	{ "big", big },
};

int main(int argc, char **argv)
{
	size_t i, ns = sizeof(scenarios) / sizeof(scenarios[0]);
	int a;

	if (argc > 1 && !strcmp(argv[1], "-l")) {
		for (i = 0; i < ns; i++)
			printf("%s\n", scenarios[i].name);
		return 0;
	}
	for (i = 0; argc == 1 && i < ns; i++)
		scenarios[i].fn();
	for (a = 1; a < argc; a++) {
		for (i = 0; i < ns; i++)
			if (!strcmp(argv[a], scenarios[i].name))
				break;
		if (i == ns) {
			fprintf(stderr, "unknown scenario %s (-l lists them)\n",
				argv[a]);
			return 1;
		}
		scenarios[i].fn();
	}
	return 0;
}
