// SPDX-License-Identifier: GPL-2.0-only
/* Placement table shapes. */
#include <linux/shard.h>

#include "kselftest_harness.h"
#include "placement.h"

TEST(no_daemons_all_none)
{
	uint32_t table[128 * 3];
	size_t i;

	placement_table(NULL, 0, 128, 3, table);
	for (i = 0; i < 128 * 3; i++)
		ASSERT_EQ(SHARD_DAEMON_NONE, table[i]);
}

TEST(one_daemon_one_copy)
{
	uint32_t up[] = { 5 }, table[128];
	size_t i;

	placement_table(up, 1, 128, 1, table);
	for (i = 0; i < 128; i++)
		ASSERT_EQ(5, table[i]);
}

TEST(round_robin_and_distinct)
{
	uint32_t up[] = { 1, 2, 4, 9 }, table[8 * 3];
	uint32_t i, j, k;
	unsigned primaries[4] = { 0 };

	placement_table(up, 4, 8, 3, table);
	for (i = 0; i < 8; i++) {
		for (j = 0; j < 3; j++) {
			ASSERT_EQ(up[(i + j) % 4], table[i * 3 + j]);
			for (k = 0; k < j; k++)
				ASSERT_NE(table[i * 3 + k], table[i * 3 + j]);
		}
		for (k = 0; k < 4; k++)
			primaries[k] += table[i * 3] == up[k];
	}
	for (k = 0; k < 4; k++)
		EXPECT_EQ(2, primaries[k]);
}

TEST(fewer_daemons_than_copies)
{
	uint32_t up[] = { 3, 7 }, table[4 * 3];
	uint32_t i;

	placement_table(up, 2, 4, 3, table);
	for (i = 0; i < 4; i++) {
		EXPECT_NE(SHARD_DAEMON_NONE, table[i * 3]);
		EXPECT_NE(SHARD_DAEMON_NONE, table[i * 3 + 1]);
		EXPECT_NE(table[i * 3], table[i * 3 + 1]);
		EXPECT_EQ(SHARD_DAEMON_NONE, table[i * 3 + 2]);
	}
}

TEST(deterministic)
{
	uint32_t up[] = { 1, 2, 3 }, a[100 * 2], b[100 * 2];

	placement_table(up, 3, 100, 2, a);
	placement_table(up, 3, 100, 2, b);
	EXPECT_EQ(0, memcmp(a, b, sizeof(a)));
}

TEST_HARNESS_MAIN
