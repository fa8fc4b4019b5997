// SPDX-License-Identifier: GPL-2.0-only
/* Placement: input checks, the invariants on chosen layouts, stability. */
#include <errno.h>

#include "kselftest_harness.h"
#include "pl_test.h"

#define TB (1ULL << 40)
#define GB (1ULL << 30)

static struct pl_input input(const struct pl_device *d, size_t n,
			     uint32_t pgs, uint32_t width, bool ordered)
{
	return (struct pl_input){ .devs = d, .ndevs = n, .pg_count = pgs,
				  .width = width, .ordered = ordered };
}

/* hosts x per_host devices, weights from the seed, ids 10, 11, ... */
static size_t make_hosts(struct pl_device *d, uint32_t hosts,
			 uint32_t per_host, uint64_t seed)
{
	struct t_rng r = { seed };
	uint32_t h, j;
	size_t n = 0;

	for (h = 0; h < hosts; h++)
		for (j = 0; j < per_host; j++, n++)
			d[n] = (struct pl_device){ 10 + n, 100 + h,
						   t_weight(&r) };
	return n;
}

TEST(bad_input_refused)
{
	struct pl_device d[3] = { { 1, 1, TB }, { 2, 2, TB }, { 3, 3, TB } };
	struct pl_input in = input(d, 3, 64, 3, true);
	struct pl_result r;

	ASSERT_EQ(0, placement_compute(&in, &r));
	placement_result_free(&r);
	EXPECT_EQ(-EINVAL, placement_compute(NULL, &r));
	EXPECT_EQ(-EINVAL, placement_compute(&in, NULL));
	in.width = 0;
	EXPECT_EQ(-EINVAL, placement_compute(&in, &r));
	EXPECT_EQ(NULL, r.table);
	in.width = SHARD_MAX_WIDTH + 1;
	EXPECT_EQ(-EINVAL, placement_compute(&in, &r));
	in.width = 3;
	in.pg_count = 0;
	EXPECT_EQ(-EINVAL, placement_compute(&in, &r));
	in.pg_count = SHARD_MAX_PGS + 1;
	EXPECT_EQ(-EINVAL, placement_compute(&in, &r));
	in.pg_count = 64;
	d[2].id = 1;
	EXPECT_EQ(-EINVAL, placement_compute(&in, &r));
	d[2].id = SHARD_DAEMON_NONE;
	EXPECT_EQ(-EINVAL, placement_compute(&in, &r));
	d[2].id = 3;
	d[1].weight = 0;
	EXPECT_EQ(-EINVAL, placement_compute(&in, &r));
	d[1].weight = TB;
	in.devs = NULL;
	EXPECT_EQ(-EINVAL, placement_compute(&in, &r));
	EXPECT_EQ(-EINVAL, placement_compute_baseline(&in, &r));
	placement_result_free(NULL);
}

TEST(no_devices_all_empty)
{
	struct pl_input in = input(NULL, 0, 32, 3, true);
	struct pl_result r;
	size_t i;

	ASSERT_EQ(0, placement_compute(&in, &r));
	EXPECT_EQ(32 * 3, r.empty_slots);
	EXPECT_EQ(0, r.nstats);
	for (i = 0; i < 32 * 3; i++)
		ASSERT_EQ(SHARD_DAEMON_NONE, r.table[i]);
	placement_result_free(&r);
}

TEST(default_pgs)
{
	EXPECT_EQ(32, placement_default_pgs(0, 3));
	EXPECT_EQ(32, placement_default_pgs(1, 3));
	EXPECT_EQ(128, placement_default_pgs(4, 3));	/* 133 */
	EXPECT_EQ(256, placement_default_pgs(10, 3));	/* 333 */
	EXPECT_EQ(512, placement_default_pgs(10, 2));	/* 500 */
	EXPECT_EQ(2048, placement_default_pgs(120, 5));	/* 2400 */
	EXPECT_EQ(4096, placement_default_pgs(120, 1));
	EXPECT_EQ(4096, placement_default_pgs(1000, 3));
	EXPECT_EQ(512, placement_default_pgs(5, 0));	/* as width 1 */
}

/* Same cluster, devices in another order: the same table, byte for byte. */
TEST(deterministic_in_any_order)
{
	struct pl_device d[60], e[60];
	struct pl_result a, b, c;
	struct pl_input in;
	struct t_rng r = { 99 };
	size_t n = make_hosts(d, 12, 5, 7), i, j;

	memcpy(e, d, sizeof(d));
	for (i = n; i > 1; i--) {
		struct pl_device t = e[i - 1];

		j = t_range(&r, 0, i - 1);
		e[i - 1] = e[j];
		e[j] = t;
	}
	in = input(d, n, 1024, 3, true);
	ASSERT_EQ(0, placement_compute(&in, &a));
	ASSERT_EQ(0, placement_compute(&in, &c));
	in.devs = e;
	ASSERT_EQ(0, placement_compute(&in, &b));
	EXPECT_EQ(0, memcmp(a.table, b.table, 1024 * 3 * sizeof(uint32_t)));
	EXPECT_EQ(0, memcmp(a.table, c.table, 1024 * 3 * sizeof(uint32_t)));
	for (i = 0; i < n; i++) {
		EXPECT_EQ(e[i].id, b.stats[i].id);
		for (j = 0; j < n; j++)
			if (a.stats[j].id == e[i].id)
				EXPECT_EQ(a.stats[j].members,
					  b.stats[i].members);
	}
	/* With a previous table too. */
	in.prev = a.table;
	placement_result_free(&b);
	placement_result_free(&c);
	e[3].weight /= 2;
	ASSERT_EQ(0, placement_compute(&in, &b));
	memcpy(d, e, sizeof(d));
	for (i = 0; i < n / 2; i++) {
		struct pl_device t = d[i];

		d[i] = d[n - 1 - i];
		d[n - 1 - i] = t;
	}
	in.devs = d;
	ASSERT_EQ(0, placement_compute(&in, &c));
	EXPECT_EQ(0, memcmp(b.table, c.table, 1024 * 3 * sizeof(uint32_t)));
	placement_result_free(&a);
	placement_result_free(&b);
	placement_result_free(&c);
}

/* Two hosts, three copies: two members per PG, the third slot empty. */
TEST(fewer_domains_than_width)
{
	struct pl_device d[6];
	size_t n = make_hosts(d, 2, 3, 11);
	struct pl_input in = input(d, n, 256, 3, true);
	struct pl_result r;
	uint32_t pg;

	ASSERT_EQ(0, placement_compute(&in, &r));
	EXPECT_EQ(NULL, t_check(&in, &r, NULL));
	EXPECT_EQ(256, r.empty_slots);
	for (pg = 0; pg < 256; pg++)
		ASSERT_EQ(SHARD_DAEMON_NONE, r.table[pg * 3 + 2]);
	placement_result_free(&r);

	/* EC 4+2 on three hosts: three chunks placed, three empty. */
	in.width = 6;
	in.ordered = false;
	ASSERT_EQ(0, placement_compute(&in, &r));
	EXPECT_EQ(NULL, t_check(&in, &r, NULL));
	placement_result_free(&r);
	in.width = 6;
	n = make_hosts(d, 3, 2, 12);
	in.ndevs = n;
	ASSERT_EQ(0, placement_compute(&in, &r));
	EXPECT_EQ(NULL, t_check(&in, &r, NULL));
	EXPECT_EQ(256 * 3, r.empty_slots);
	placement_result_free(&r);
}

/* Every replicated width and the usual EC layouts on 12 mixed hosts. */
TEST(widths_and_ec_layouts)
{
	static const uint32_t widths[] = { 1, 2, 3, 4, 5, 6, 11, 16 };
	struct pl_device d[48];
	size_t n = make_hosts(d, 12, 4, 5), i;
	struct pl_input in;
	struct pl_result r;
	double worst;

	for (i = 0; i < sizeof(widths) / sizeof(widths[0]); i++) {
		in = input(d, n, placement_default_pgs(n, widths[i]),
			   widths[i], widths[i] <= 5);
		ASSERT_EQ(0, placement_compute(&in, &r));
		EXPECT_EQ(NULL, t_check(&in, &r, &worst));
		EXPECT_EQ(in.pg_count * (widths[i] > 12 ? widths[i] - 12 : 0),
			  r.empty_slots);
		t_note("width %2u, %4u PGs: worst %.2f of the bound, max_dev %.1f%%\n",
		       widths[i], in.pg_count, worst, 100 * r.max_dev);
		placement_result_free(&r);
	}
}

/*
 * The classic case: hosts of 3, 3, 3 and 1 TB, three copies. CRUSH puts
 * the small host in 42% of the PGs instead of 30%; here it gets its
 * share.
 */
TEST(hosts_3_3_3_1)
{
	struct pl_device d[4] = {
		{ 1, 1, 3 * TB }, { 2, 2, 3 * TB }, { 3, 3, 3 * TB },
		{ 4, 4, 1 * TB },
	};
	struct pl_input in = input(d, 4, 1024, 3, true);
	struct pl_result r, crush;
	double small, fill;

	ASSERT_EQ(0, placement_compute(&in, &r));
	ASSERT_EQ(0, placement_compute_baseline(&in, &crush));
	EXPECT_EQ(NULL, t_check(&in, &r, NULL));
	small = 0.1 * 3 * 1024;
	EXPECT_LT(fabs(r.stats[3].ideal - small), 1e-9);
	fill = r.stats[3].members / small - 1;
	EXPECT_LT(fabs(fill), 0.05);
	EXPECT_GT(crush.stats[3].members / small - 1, 0.25);
	t_note("small host: ideal %.1f, here %u (%+.1f%%), CRUSH-like %u (%+.1f%%)\n",
	       small, r.stats[3].members, 100 * fill, crush.stats[3].members,
	       100 * (crush.stats[3].members / small - 1));
	/* Usable capacity follows: the small host no longer fills first. */
	EXPECT_GT(r.member_bytes, crush.member_bytes * 13 / 10);
	placement_result_free(&r);
	placement_result_free(&crush);
}

/* One host too big for its domain: capped at one member per PG. */
TEST(capped_domain)
{
	struct pl_device d[5] = {
		{ 1, 1, 6 * TB }, { 2, 1, 4 * TB }, { 3, 2, 1 * TB },
		{ 4, 3, 1 * TB }, { 5, 4, 1 * TB },
	};
	struct pl_input in = input(d, 5, 512, 3, true);
	struct pl_result r;
	uint32_t most;
	uint64_t mb;
	size_t i;

	ASSERT_EQ(0, placement_compute(&in, &r));
	EXPECT_EQ(NULL, t_check(&in, &r, NULL));
	EXPECT_TRUE(r.stats[0].capped);
	EXPECT_TRUE(r.stats[1].capped);
	EXPECT_FALSE(r.stats[2].capped);
	EXPECT_LT(fabs(r.stats[0].ideal - 512 * 0.6), 1e-9);
	EXPECT_LT(fabs(r.stats[2].ideal - 1024.0 / 3), 1e-9);
	EXPECT_GT(r.stats[0].share_ideal, r.stats[0].ideal);
	EXPECT_EQ(512, r.stats[0].members + r.stats[1].members);
	/* The small hosts fill first; the capped one keeps free space. */
	for (i = 0, mb = UINT64_MAX, most = 0; i < 5; i++) {
		if (d[i].weight / r.stats[i].members < mb)
			mb = d[i].weight / r.stats[i].members;
		if (i >= 2 && r.stats[i].members > most)
			most = r.stats[i].members;
	}
	EXPECT_EQ(mb, r.member_bytes);
	EXPECT_EQ(TB / most, r.member_bytes);
	placement_result_free(&r);
}

/*
 * Proxmox-like: three hosts with mixed 0.5/1/2/4 TB disks and three
 * copies. Every host holds exactly one member of every PG; within a host
 * the disks fill in proportion to their size.
 */
TEST(three_hosts_mixed_disks)
{
	struct pl_device d[] = {
		{ 1, 1, 4 * TB }, { 2, 1, 2 * TB }, { 3, 1, TB / 2 },
		{ 4, 2, 2 * TB }, { 5, 2, 2 * TB }, { 6, 2, 1 * TB },
		{ 7, 2, TB / 2 }, { 8, 3, 4 * TB }, { 9, 3, 1 * TB },
	};
	struct pl_input in = input(d, 9, 256, 3, true);
	struct pl_result r;
	size_t i;

	ASSERT_EQ(0, placement_compute(&in, &r));
	EXPECT_EQ(NULL, t_check(&in, &r, NULL));
	EXPECT_EQ(256, r.stats[0].members + r.stats[1].members +
		  r.stats[2].members);
	for (i = 0; i < 9; i++)
		EXPECT_LE(fabs(r.stats[i].members - r.stats[i].ideal), 1);
	EXPECT_LT(fabs(r.stats[0].ideal - 256 * 4 / 6.5), 1e-9);
	placement_result_free(&r);
}

/* Recomputing an unchanged cluster from its own table changes nothing. */
TEST(recompute_is_stable)
{
	struct pl_device d[40];
	size_t n = make_hosts(d, 8, 5, 3);
	struct pl_input in = input(d, n, 1024, 3, true);
	struct pl_result a, b;

	ASSERT_EQ(0, placement_compute(&in, &a));
	in.prev = a.table;
	ASSERT_EQ(0, placement_compute(&in, &b));
	EXPECT_EQ(0, b.moved);
	EXPECT_EQ(0, memcmp(a.table, b.table, 1024 * 3 * sizeof(uint32_t)));
	placement_result_free(&a);
	placement_result_free(&b);
}

static void check_change(struct __test_metadata *_metadata,
			 struct pl_input *in, const uint32_t *prev,
			 const char *what)
{
	struct pl_result r;
	double min;

	in->prev = prev;
	ASSERT_EQ(0, placement_compute(in, &r));
	EXPECT_EQ(NULL, t_check(in, &r, NULL));
	min = t_min_moves(in, &r, prev);
	EXPECT_EQ(t_moved(in, r.table, prev), r.moved);
	EXPECT_LE(r.moved, 1.2 * min + 1);
	t_note("%s: %u copies, minimum %.1f\n", what, r.moved, min);
	placement_result_free(&r);
	in->prev = NULL;
}

/* Adding, removing and reweighting move about the minimum. */
TEST(changes_move_the_minimum)
{
	struct pl_device d[41];
	size_t n = make_hosts(d, 8, 5, 21);
	struct pl_input in = input(d, n, 1024, 3, true);
	struct pl_result a;

	ASSERT_EQ(0, placement_compute(&in, &a));
	d[n] = (struct pl_device){ 500, 103, 200 * GB };
	in.ndevs = n + 1;
	check_change(_metadata, &in, a.table, "add to a host");
	d[n].domain = 999;
	check_change(_metadata, &in, a.table, "add a host");
	in.ndevs = n;
	d[7] = d[n - 1];
	in.ndevs = n - 1;
	check_change(_metadata, &in, a.table, "remove");
	in.ndevs = n;
	make_hosts(d, 8, 5, 21);
	d[7].weight *= 3;
	check_change(_metadata, &in, a.table, "reweight x3");
	/* A whole host goes away. */
	make_hosts(d, 8, 5, 21);
	in.ndevs = n - 5;
	check_change(_metadata, &in, a.table, "remove a host");
	placement_result_free(&a);
}

/* EC: a chunk that stays keeps its position; only new chunks are copied. */
TEST(ec_members_keep_their_position)
{
	struct pl_device d[41];
	size_t n = make_hosts(d, 10, 4, 8);
	struct pl_input in = input(d, n, 512, 6, false);
	struct pl_result a, b;
	uint32_t pg, p, q;

	ASSERT_EQ(0, placement_compute(&in, &a));
	d[n] = (struct pl_device){ 900, 104, 200 * GB };
	in.ndevs = n + 1;
	in.prev = a.table;
	ASSERT_EQ(0, placement_compute(&in, &b));
	EXPECT_EQ(NULL, t_check(&in, &b, NULL));
	for (pg = 0; pg < 512; pg++)
		for (p = 0; p < 6; p++)
			for (q = 0; q < 6; q++)
				if (a.table[pg * 6 + p] == b.table[pg * 6 + q])
					ASSERT_EQ(p, q);
	EXPECT_EQ(t_moved(&in, b.table, a.table), b.moved);
	placement_result_free(&a);
	placement_result_free(&b);
}

/*
 * Primaries follow capacity, and survive a recompute: a PG changes its
 * primary only when the old one left or is over its new quota.
 */
TEST(primaries_balanced_and_kept)
{
	struct pl_device d[41];
	size_t n = make_hosts(d, 8, 5, 30);
	struct pl_input in = input(d, n, 2048, 3, true);
	struct pl_result a, b;
	uint32_t pg, changed = 0, left = 0;

	ASSERT_EQ(0, placement_compute(&in, &a));
	EXPECT_LE(t_primary_dev(&in, &a), 1);
	d[n] = (struct pl_device){ 700, 102, 200 * GB };
	in.ndevs = n + 1;
	in.prev = a.table;
	ASSERT_EQ(0, placement_compute(&in, &b));
	EXPECT_LE(t_primary_dev(&in, &b), 1);
	for (pg = 0; pg < 2048; pg++) {
		if (a.table[pg * 3] == b.table[pg * 3])
			continue;
		changed++;
		left += b.table[pg * 3 + 1] != a.table[pg * 3] &&
			b.table[pg * 3 + 2] != a.table[pg * 3];
	}
	t_note("%u primaries changed, %u because the primary left; %u copies\n",
	       changed, left, b.moved);
	/* The new device takes its share of primaries, nothing much more. */
	EXPECT_LE(changed - left, 2048 / 40 + 2048 / 100);
	placement_result_free(&a);
	placement_result_free(&b);
}

/* A previous table with unknown ids, duplicates and a host merge. */
TEST(messy_previous_table)
{
	struct pl_device d[20];
	size_t n = make_hosts(d, 5, 4, 40), i;
	struct pl_input in = input(d, n, 256, 3, true);
	struct pl_result a, b;
	struct t_rng r = { 5 };

	ASSERT_EQ(0, placement_compute(&in, &a));
	for (i = 0; i < 100; i++)
		a.table[t_range(&r, 0, 256 * 3 - 1)] = t_range(&r, 0, 40);
	a.table[0] = a.table[1] = SHARD_DAEMON_NONE;
	a.table[5] = 12345;
	/* Hosts 100 and 101 become one failure domain. */
	for (i = 0; i < n; i++)
		if (d[i].domain == 101)
			d[i].domain = 100;
	in.prev = a.table;
	ASSERT_EQ(0, placement_compute(&in, &b));
	EXPECT_EQ(NULL, t_check(&in, &b, NULL));
	placement_result_free(&a);
	placement_result_free(&b);
}

/* A single device: one member per PG, whatever the width. */
TEST(single_device)
{
	struct pl_device d = { 7, 1, TB };
	struct pl_input in = input(&d, 1, 64, 3, false);
	struct pl_result r;

	ASSERT_EQ(0, placement_compute(&in, &r));
	EXPECT_EQ(NULL, t_check(&in, &r, NULL));
	EXPECT_EQ(64, r.stats[0].members);
	EXPECT_EQ(64 * 2, r.empty_slots);
	EXPECT_EQ(TB / 64, r.member_bytes);
	placement_result_free(&r);
}

/* 4096 PGs x 5 over 120 devices: the map manager does this per change. */
TEST(speed_4096_pgs_120_devices)
{
	struct pl_device d[121];
	size_t n = make_hosts(d, 20, 6, 77);
	struct pl_input in = input(d, n, 4096, 5, true);
	struct pl_result a, b;
	double t0, t1, t2;

	t0 = t_now();
	ASSERT_EQ(0, placement_compute(&in, &a));
	t1 = t_now();
	d[n] = (struct pl_device){ 999, 105, 200 * GB };
	in.ndevs = n + 1;
	in.prev = a.table;
	ASSERT_EQ(0, placement_compute(&in, &b));
	t2 = t_now();
	EXPECT_EQ(NULL, t_check(&in, &b, NULL));
	t_note("4096 x 5 over 120 devices: %.0f ms, adding one: %.0f ms (this build)\n",
	       1000 * (t1 - t0), 1000 * (t2 - t1));
	/* Generous: this build has ASan and shares the CPU. */
	EXPECT_LT(t1 - t0, 5.0);
	EXPECT_LT(t2 - t1, 5.0);
	placement_result_free(&a);
	placement_result_free(&b);
}

TEST_HARNESS_MAIN
