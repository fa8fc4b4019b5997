// SPDX-License-Identifier: GPL-2.0-only
/*
 * 1,000 random clusters (fixed seeds): 2 to 20 hosts of 1 to 6 devices,
 * capacities 1:16, replicated widths 1..5 and EC 2+1, 2+2, 4+2, 8+3, the
 * default PG count. Each table must keep failure domains apart and every
 * device within max(5%, 1 member) of its ideal; primaries within the same
 * bound of their share. Then a device is added (to a host or as a new
 * host), one removed and one reweighted, each recomputed from the first
 * table: the same invariants, and the copies against the theoretical
 * minimum, sum over devices of max(0, ideal - old members).
 *
 * The movement bound, 1.2 x minimum + 1, is not always reachable: when the
 * width is close to the number of hosts the PG compositions are pinned by
 * the host totals (width = hosts - 1: the PGs lacking host h number
 * pg_count minus h's members), and a removed device's members can sit in
 * PGs that only hosts already full could take over. Keeping every device
 * within tolerance then needs a few copies more than the formula, however
 * the table is built (see balance.c). So the test asserts the bound on all
 * but one change in a thousand, a hard 1.3 x minimum + 1 on every change,
 * and lists the exceptions.
 */
#include "kselftest_harness.h"
#include "pl_test.h"

#ifndef CLUSTERS
#define CLUSTERS 1000
#endif

struct stats {
	double *dev;		/* max_dev per table */
	double *ratio;		/* copies / minimum per change */
	size_t ndev, nratio;
	double worst;		/* worst deviation, in units of the bound */
	double pworst;		/* same for primaries */
	uint32_t moved, over, pinned, pinned_over;
	double min_sum, secs;
	uint32_t computes;
};

static const char *check_table(struct stats *s, const struct pl_input *in,
			       const struct pl_result *r)
{
	const char *err;
	double w;

	err = t_check(in, r, &w);
	if (err)
		return err;
	s->worst = fmax(s->worst, w);
	s->dev[s->ndev++] = r->max_dev;
	if (in->ordered) {
		w = t_primary_dev(in, r);
		s->pworst = fmax(s->pworst, w);
		if (w > 1)
			return "primaries further than max(5%, 1) from their share";
	}
	return NULL;
}

/* Recompute after a change; check invariants and the movement bound. */
static const char *change(struct stats *s, const struct pl_input *in,
			  const uint32_t *prev, const char *why)
{
	struct pl_input next = *in;
	struct pl_result r;
	const char *err;
	double min, t0;
	uint32_t moved;

	next.prev = prev;
	t0 = t_now();
	if (placement_compute(&next, &r))
		return "compute failed";
	s->secs += t_now() - t0;
	s->computes++;
	err = check_table(s, &next, &r);
	if (err)
		goto out;
	min = t_min_moves(&next, &r, prev);
	moved = t_moved(&next, r.table, prev);
	err = "moved does not match the table";
	if (moved != r.moved)
		goto out;
	err = "moved_min does not match";
	if (fabs(min - r.moved_min) > 1e-6 * (min + 1))
		goto out;
	err = "moved more than 1.3 x the minimum + 1";
	if (moved > 1.3 * min + 1)
		goto out;
	err = NULL;
	s->pinned += t_pinned(&next);
	if (moved > 1.2 * min + 1) {
		s->over++;
		s->pinned_over += t_pinned(&next);
		t_note("over 1.2 x minimum + 1: %s: %u copies, minimum %.1f (x%.3f)%s\n",
		       why, moved, min, moved / min,
		       t_pinned(&next) ? ", pinned" : "");
	}
	s->moved += moved;
	s->min_sum += min;
	s->ratio[s->nratio++] = min > 0 ? moved / min : 1;
out:
	placement_result_free(&r);
	return err;
}

static const char *one_cluster(struct stats *s, uint64_t seed, char *why,
			       size_t whylen)
{
	struct t_rng rng = { seed };
	struct t_cluster cl, mod;
	struct pl_input in = { 0 };
	struct pl_result base;
	const char *err;
	size_t len;
	double t0;
	uint32_t o;

	t_gen_cluster(&rng, &cl);
	in.devs = cl.devs;
	in.ndevs = cl.n;
	in.width = cl.width;
	in.ordered = cl.ordered;
	in.pg_count = placement_default_pgs(cl.n, cl.width);
	snprintf(why, whylen, "seed %llu: %zu devices on %u hosts, width %u%s, %u PGs",
		 (unsigned long long)seed, cl.n, cl.hosts, cl.width,
		 cl.ordered ? "" : " (EC)", in.pg_count);
	len = strlen(why);

	t0 = t_now();
	if (placement_compute(&in, &base))
		return "compute failed";
	s->secs += t_now() - t0;
	s->computes++;
	err = check_table(s, &in, &base);
	if (err)
		goto out;

	/* Add a device, to an existing host or as a new one. */
	mod = cl;
	mod.devs[mod.n].id = mod.next_id + 5;
	mod.devs[mod.n].weight = t_weight(&rng);
	mod.devs[mod.n].domain = t_range(&rng, 0, 1) ?
		cl.devs[t_range(&rng, 0, cl.n - 1)].domain : 999;
	in.devs = mod.devs;
	in.ndevs = mod.n + 1;
	snprintf(why + len, whylen - len, ", adding a device");
	err = change(s, &in, base.table, why);
	if (err)
		goto out;

	/* Remove one. */
	if (cl.n > 1) {
		mod = cl;
		o = t_range(&rng, 0, cl.n - 1);
		mod.devs[o] = mod.devs[--mod.n];
		in.devs = mod.devs;
		in.ndevs = mod.n;
		snprintf(why + len, whylen - len, ", removing a device");
		err = change(s, &in, base.table, why);
		if (err)
			goto out;
	}

	/* Reweight one (a disk replaced by a larger or smaller one). */
	mod = cl;
	o = t_range(&rng, 0, cl.n - 1);
	mod.devs[o].weight = t_weight(&rng);
	in.devs = mod.devs;
	in.ndevs = mod.n;
	snprintf(why + len, whylen - len, ", reweighting a device");
	err = change(s, &in, base.table, why);
out:
	placement_result_free(&base);
	return err;
}

static double pct(const double *v, size_t n, double p)
{
	return n ? v[(size_t)(p * (n - 1) + 0.5)] : 0;
}

/* ASan makes this take tens of seconds: more than the default 30 s. */
FIXTURE(clusters) {
	int unused;
};

FIXTURE_SETUP(clusters)
{
}

FIXTURE_TEARDOWN(clusters)
{
}

TEST_F_TIMEOUT(clusters, random, 300)
{
	struct stats s = { 0 };
	const char *err;
	char why[200];
	double sum = 0;
	uint64_t seed;
	int failed = 0;
	size_t i;

	s.dev = calloc(CLUSTERS * 4, sizeof(*s.dev));
	s.ratio = calloc(CLUSTERS * 3, sizeof(*s.ratio));
	ASSERT_NE(NULL, s.dev);
	ASSERT_NE(NULL, s.ratio);
	for (seed = 1; seed <= CLUSTERS; seed++) {
		err = one_cluster(&s, seed * 7919, why, sizeof(why));
		if (err) {
			TH_LOG("%s: %s", why, err);
			failed++;
		}
	}
	qsort(s.dev, s.ndev, sizeof(*s.dev), t_dcmp);
	qsort(s.ratio, s.nratio, sizeof(*s.ratio), t_dcmp);
	for (i = 0; i < s.ndev; i++)
		sum += s.dev[i];
	t_note("%d clusters, %u tables in %.1f s (%.2f ms each)\n", CLUSTERS,
	       s.computes, s.secs, 1000 * s.secs / s.computes);
	t_note("worst |members - ideal| / max(5%% ideal, 1): %.2f (<= 1 required); primaries %.2f\n",
	       s.worst, s.pworst);
	t_note("worst |members / ideal - 1| per table: mean %.2f%%, p99 %.2f%%, max %.2f%% (small ideals: 1 member is many %%)\n",
	       100 * sum / s.ndev, 100 * pct(s.dev, s.ndev, 0.99),
	       100 * s.dev[s.ndev - 1]);
	t_note("copies / minimum over %zu changes: p50 %.3f, p90 %.3f, p99 %.3f, p99.9 %.3f, max %.3f\n",
	       s.nratio, pct(s.ratio, s.nratio, 0.5),
	       pct(s.ratio, s.nratio, 0.9), pct(s.ratio, s.nratio, 0.99),
	       pct(s.ratio, s.nratio, 0.999), s.ratio[s.nratio - 1]);
	t_note("copies in all: %u for a minimum of %.0f; over 1.2 x minimum + 1: %u (%u of them pinned; %u pinned changes)\n",
	       s.moved, s.min_sum, s.over, s.pinned_over, s.pinned);
	free(s.dev);
	free(s.ratio);
	ASSERT_EQ(0, failed);
	ASSERT_LE(s.over * 1000, s.nratio);
}

TEST_HARNESS_MAIN
