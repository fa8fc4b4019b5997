// SPDX-License-Identifier: GPL-2.0-only
/*
 * The daemon's map parser (userspace/shardd/map.c): a valid map gives
 * the primaries the kernel would compute; every malformed element is
 * refused with a message naming it.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <endian.h>
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <shard/pg.h>

#include "b64.h"
#include "map.h"
#include "kselftest_harness.h"

/* base64 of n little-endian u32 ids. */
static char *table_b64(const uint32_t *ids, size_t n)
{
	uint32_t *le = malloc(n * 4 + 1);
	char *out;
	size_t i;

	if (!le)
		return NULL;
	for (i = 0; i < n; i++)
		le[i] = htole32(ids[i]);
	out = b64_encode(le, n * 4);
	free(le);
	return out;
}

/* Daemons 3, 1 and 2 (out of order on purpose); pool 5 with 8 PGs of
 * width 2 whose primary is 1 for even PGs, 2 for odd ones, and PG 7
 * empty; pool 9 with one PG. */
static json_t *good_map(void)
{
	uint32_t t5[16], t9[3] = { 3, 1, SHARD_MAP_NONE };
	char *b5, *b9;
	json_t *m;
	int pg;

	for (pg = 0; pg < 8; pg++) {
		t5[pg * 2] = pg % 2 ? 2 : 1;
		t5[pg * 2 + 1] = 3;
	}
	t5[14] = t5[15] = SHARD_MAP_NONE;
	b5 = table_b64(t5, 16);
	b9 = table_b64(t9, 3);
	m = json_pack("{s:I, s:[{s:i, s:s, s:i, s:b}, {s:i, s:s, s:i, s:b},"
		      " {s:i}], s:[{s:i, s:i, s:i, s:s},"
		      " {s:i, s:i, s:i, s:s}]}",
		      "epoch", (json_int_t)12,
		      "daemons",
		      "id", 3, "addr", "10.0.0.3", "port", 7410, "up", 1,
		      "id", 1, "addr", "10.0.0.1", "port", 7410, "up", 0,
		      "id", 2,
		      "pools",
		      "id", 9, "pg_count", 1, "width", 3, "table", b9,
		      "id", 5, "pg_count", 8, "width", 2, "table", b5);
	free(b5);
	free(b9);
	return m;
}

static int parse(json_t *m, struct shard_map **out, char *err, size_t len)
{
	int ret = shard_map_parse(m, out, err, len);

	json_decref(m);
	return ret;
}

TEST(valid_map)
{
	struct shard_map *map;
	char err[256];
	uint64_t obj;
	int seen[3] = { 0 };

	ASSERT_EQ(0, parse(good_map(), &map, err, sizeof(err)));
	ASSERT_EQ(12, map->epoch);
	ASSERT_EQ(3, map->nr_daemons);
	EXPECT_EQ(1, map->daemons[0].id);
	EXPECT_EQ(3, map->daemons[2].id);
	ASSERT_EQ(2, map->nr_pools);
	EXPECT_EQ(5, map->pools[0].id);
	EXPECT_EQ(9, map->pools[1].id);
	EXPECT_EQ(3, shard_map_primary(map, 9, 1, 1));
	EXPECT_EQ(SHARD_MAP_NONE, shard_map_primary(map, 4, 1, 1));
	for (obj = 0; obj < 200; obj++) {
		uint32_t pg = shard_object_pg(77, obj, 8);
		uint32_t want = pg == 7 ? SHARD_MAP_NONE : pg % 2 ? 2 : 1;
		uint32_t got = shard_map_primary(map, 5, 77, obj);

		ASSERT_EQ(want, got);
		seen[got == SHARD_MAP_NONE ? 0 : got]++;
	}
	/* The objects spread over the PGs: all three cases occur. */
	EXPECT_LT(0, seen[0]);
	EXPECT_LT(0, seen[1]);
	EXPECT_LT(0, seen[2]);
	EXPECT_EQ(4, shard_map_primary_count(map, 1));
	EXPECT_EQ(1, shard_map_primary_count(map, 3));
	EXPECT_EQ(3, shard_map_primary_count(map, 2));
	EXPECT_EQ(0, shard_map_primary_count(map, 42));
	shard_map_free(map);
}

TEST(empty_and_largest_maps)
{
	size_t n = (size_t)SHARD_MAP_PG_MAX * SHARD_MAP_WIDTH_MAX, i;
	struct shard_map *map;
	uint32_t *ids;
	char err[256], *b;

	ASSERT_EQ(0, parse(json_pack("{s:i, s:[], s:[]}", "epoch", 1,
				     "daemons", "pools"),
			   &map, err, sizeof(err)));
	EXPECT_EQ(SHARD_MAP_NONE, shard_map_primary(map, 1, 0, 0));
	shard_map_free(map);

	ids = malloc(n * 4);
	ASSERT_NE(NULL, ids);
	for (i = 0; i < n; i++)
		ids[i] = (uint32_t)(i % 16) + 1;
	b = table_b64(ids, n);
	free(ids);
	ASSERT_NE(NULL, b);
	ASSERT_EQ(0, parse(json_pack("{s:i, s:[{s:i},{s:i},{s:i},{s:i},"
				     "{s:i},{s:i},{s:i},{s:i},{s:i},{s:i},"
				     "{s:i},{s:i},{s:i},{s:i},{s:i},{s:i}],"
				     " s:[{s:i, s:i, s:i, s:s}]}",
				     "epoch", 2, "daemons",
				     "id", 1, "id", 2, "id", 3, "id", 4,
				     "id", 5, "id", 6, "id", 7, "id", 8,
				     "id", 9, "id", 10, "id", 11, "id", 12,
				     "id", 13, "id", 14, "id", 15, "id", 16,
				     "pools", "id", 1, "pg_count",
				     (int)SHARD_MAP_PG_MAX, "width",
				     (int)SHARD_MAP_WIDTH_MAX, "table", b),
			   &map, err, sizeof(err)));
	free(b);
	EXPECT_EQ(SHARD_MAP_PG_MAX, shard_map_primary_count(map, 1));
	shard_map_free(map);
}

/* Replaces key in the element at path ("" = the map, "d1" = daemons[1],
 * "p1" = pools[1]) with v (NULL: deletes it). */
static json_t *mutate(const char *path, const char *key, json_t *v)
{
	json_t *m = good_map(), *o = m;

	if (path[0] == 'd')
		o = json_array_get(json_object_get(m, "daemons"),
				   (size_t)(path[1] - '0'));
	else if (path[0] == 'p')
		o = json_array_get(json_object_get(m, "pools"),
				   (size_t)(path[1] - '0'));
	if (v)
		json_object_set_new(o, key, v);
	else
		json_object_del(o, key);
	return m;
}

static json_t *table_of(const uint32_t *ids, size_t n)
{
	char *b = table_b64(ids, n);
	json_t *s = json_string(b);

	free(b);
	return s;
}

/* Clients of the blocklist, v4 or v6, are blocked; others are not. */
TEST(blocklist)
{
	struct sockaddr_storage ss = { 0 };
	struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
	struct shard_map *map;
	char err[256];

	ASSERT_EQ(0, parse(mutate("", "blocklist",
				  json_pack("[s,s]", "2001:db8::7", "10.1.2.3")),
			   &map, err, sizeof(err))) TH_LOG("%s", err);
	ASSERT_EQ(2, map->nr_blocked);
	sin->sin_family = AF_INET;
	inet_pton(AF_INET, "10.1.2.3", &sin->sin_addr);
	EXPECT_TRUE(shard_map_blocked(map, &ss));
	inet_pton(AF_INET, "10.1.2.4", &sin->sin_addr);
	EXPECT_FALSE(shard_map_blocked(map, &ss));
	memset(&ss, 0, sizeof(ss));
	sin6->sin6_family = AF_INET6;
	inet_pton(AF_INET6, "::ffff:10.1.2.3", &sin6->sin6_addr);
	EXPECT_TRUE(shard_map_blocked(map, &ss));
	inet_pton(AF_INET6, "2001:db8::7", &sin6->sin6_addr);
	EXPECT_TRUE(shard_map_blocked(map, &ss));
	inet_pton(AF_INET6, "2001:db8::8", &sin6->sin6_addr);
	EXPECT_FALSE(shard_map_blocked(map, &ss));
	shard_map_free(map);
	/* None: nobody is blocked. */
	ASSERT_EQ(0, parse(good_map(), &map, err, sizeof(err)));
	EXPECT_FALSE(shard_map_blocked(map, &ss));
	shard_map_free(map);
}

TEST(invalid_maps_are_refused)
{
	static const uint32_t unknown[16] = { 1, 3, 1, 3, 77, 3 };
	static const uint32_t short_tbl[15] = { 1 };
	struct {
		json_t *m;
		const char *why;
	} cases[] = {
		{ json_string("map"), "map: missing or not an object" },
		{ mutate("", "epoch", NULL), "map.epoch" },
		{ mutate("", "epoch", json_integer(0)), "map.epoch" },
		{ mutate("", "epoch", json_integer(-3)), "map.epoch" },
		{ mutate("", "epoch", json_string("12")), "map.epoch" },
		{ mutate("", "epoch", json_real(12.0)), "map.epoch" },
		{ mutate("", "daemons", NULL), "daemons: missing" },
		{ mutate("", "daemons", json_object()), "daemons: missing" },
		{ mutate("", "pools", json_string("x")), "pools: missing" },
		{ mutate("d1", "id", NULL), "daemons[1].id" },
		{ mutate("d1", "id", json_integer(0)), "daemons[1].id" },
		{ mutate("d1", "id", json_integer(0xffffffffLL)),
		  "daemons[1].id" },
		{ mutate("d1", "id", json_integer(1LL << 40)),
		  "daemons[1].id" },
		{ mutate("d1", "id", json_string("1")), "daemons[1].id" },
		{ mutate("d1", "id", json_integer(2)),
		  "daemons: id 2 listed twice" },
		{ mutate("d0", "addr", json_integer(10)), "daemons[0].addr" },
		{ mutate("d0", "port", json_integer(70000)),
		  "daemons[0].port" },
		{ mutate("d0", "up", json_string("yes")), "daemons[0].up" },
		{ mutate("", "blocklist", json_string("10.0.0.1")),
		  "blocklist: not an array" },
		{ mutate("", "blocklist", json_pack("[s]", "10.0.0.256")),
		  "blocklist[0]: not a numeric address" },
		{ mutate("", "blocklist", json_pack("[s,i]", "10.0.0.1", 1)),
		  "blocklist[1]: not a numeric address" },
		{ mutate("p0", "min_size", json_integer(0)), "pools[0].min_size" },
		{ mutate("p0", "id", json_integer(0)), "pools[0].id" },
		{ mutate("p0", "id", json_integer(5)),
		  "pools: id 5 listed twice" },
		{ mutate("p1", "pg_count", json_integer(0)),
		  "pools[1].pg_count" },
		{ mutate("p1", "pg_count", json_integer(65537)),
		  "pools[1].pg_count" },
		{ mutate("p1", "pg_count", json_string("8")),
		  "pools[1].pg_count" },
		{ mutate("p1", "width", json_integer(0)), "pools[1].width" },
		{ mutate("p1", "width", json_integer(17)), "pools[1].width" },
		{ mutate("p1", "width", NULL), "pools[1].width" },
		{ mutate("p1", "table", NULL), "pools[1].table: missing" },
		{ mutate("p1", "table", json_array()),
		  "pools[1].table: missing" },
		{ mutate("p1", "table", json_string("!!!!")),
		  "pools[1].table: not base64" },
		{ mutate("p1", "table", json_string("AAAAA")),
		  "pools[1].table: not base64" },
		{ mutate("p1", "table", table_of(short_tbl, 15)),
		  "pools[1].table: 60 bytes, pg_count 8 x width 2 needs 64" },
		{ mutate("p1", "table", table_of(unknown, 16)),
		  "pools[1].table: PG 2 member 0 is daemon 77, not in "
		  "the map" },
		{ mutate("p1", "table", json_string("")),
		  "pools[1].table: 0 bytes" },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct shard_map *map = (void *)1;
		char err[256] = "";

		ASSERT_NE(NULL, cases[i].m);
		EXPECT_EQ(-EINVAL, parse(cases[i].m, &map, err, sizeof(err)))
			TH_LOG("case %zu (%s) was accepted", i, cases[i].why);
		EXPECT_EQ(NULL, map);
		EXPECT_NE(NULL, strstr(err, cases[i].why))
			TH_LOG("case %zu: got '%s', want '%s'", i, err,
			       cases[i].why);
	}
}

TEST_HARNESS_MAIN
