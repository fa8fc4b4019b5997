// SPDX-License-Identifier: GPL-2.0
/*
 * The object -> PG hash of include/shard/pg.h: fixed values (a change
 * moves every object, so it must be deliberate), range, and uniformity.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <shard/pg.h>

#include "kselftest_harness.h"

TEST(known_values)
{
	/* splitmix64's finaliser of 0 and 1, as published. */
	ASSERT_EQ(0ULL, shard_mix64(0));
	ASSERT_EQ(0x5692161d100b05e5ULL, shard_mix64(1));
	/* Pinned: if these change, every object moves. */
	ASSERT_EQ(2058620425U, shard_object_hash(1, 0));
	ASSERT_EQ(61U, shard_object_pg(1, 0, 128));
	ASSERT_EQ(342U, shard_object_pg(77, 12345, 1000));
	EXPECT_NE(shard_object_hash(1, 0), shard_object_hash(2, 0));
	EXPECT_NE(shard_object_hash(1, 0), shard_object_hash(1, 1));
}

TEST(range)
{
	uint32_t counts[] = { 1, 2, 3, 7, 100, 128, 4096, 65536 };
	uint64_t obj;
	size_t i;

	for (i = 0; i < sizeof(counts) / sizeof(counts[0]); i++)
		for (obj = 0; obj < 10000; obj++)
			ASSERT_LT(shard_object_pg(42, obj, counts[i]), counts[i]);
}

/* Objects of one volume spread evenly: chi-square well within bounds. */
static double chi_square(uint64_t volume, uint32_t pgs, uint32_t n)
{
	uint32_t *hist = calloc(pgs, sizeof(*hist));
	double expect = (double)n / pgs, chi = 0;
	uint32_t i;

	for (i = 0; i < n; i++)
		hist[shard_object_pg(volume, i, pgs)]++;
	for (i = 0; i < pgs; i++)
		chi += (hist[i] - expect) * (hist[i] - expect) / expect;
	free(hist);
	return chi;
}

TEST(uniform)
{
	uint32_t pgs[] = { 64, 100, 128, 1000 };
	size_t i;

	for (i = 0; i < sizeof(pgs) / sizeof(pgs[0]); i++) {
		double df = pgs[i] - 1;
		/* Mean df, sd sqrt(2 df): 6 sd is far beyond chance. */
		double limit = df + 6 * sqrt(2 * df);

		EXPECT_LT(chi_square(1, pgs[i], 200000), limit);
		EXPECT_LT(chi_square(0xdeadbeef, pgs[i], 200000), limit);
	}
}

TEST(deterministic)
{
	uint64_t obj;

	for (obj = 0; obj < 1000; obj++)
		ASSERT_EQ(shard_object_pg(9, obj, 333),
			  shard_object_pg(9, obj, 333));
}

TEST_HARNESS_MAIN
