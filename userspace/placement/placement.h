/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * PG placement: which storage daemons hold each placement group (PG) of a
 * pool.
 *
 * Why not CRUSH. CRUSH draws each PG's members independently by a weighted
 * hash and retries when a failure domain repeats. Drawing without
 * replacement favours the small domains: with hosts weighing 3, 3, 3 and 1
 * and three copies, the small host is in 42% of the PGs instead of 30%, so
 * it fills 40% early and caps the pool's usable capacity. Its counts are
 * also only right on average (a device with an ideal of 100 members gets
 * 100 +- 10). Here the map manager knows the whole cluster, so it can
 * compute the counts it wants first and then build a table that hits them
 * exactly.
 *
 * The steps (placement.c drives them):
 *
 * 1. Targets (targets.c). A PG takes at most one member per failure
 *    domain, so a domain can hold at most pg_count members however large
 *    it is. Each domain's share of the pg_count * width members is its
 *    capacity share; a domain whose share exceeds pg_count is capped there
 *    and the excess is spread over the other domains by capacity, again
 *    until no share exceeds the cap (water-filling). A domain's members
 *    are split among its devices by capacity. Those real-valued "ideals"
 *    are rounded to integer targets by largest remainder, keeping every
 *    domain at or under pg_count; ties go to devices that already hold
 *    the rounded-up count (so a recompute moves nothing for rounding), then
 *    to the lower id. Any such set of targets can be realised: lay the
 *    domains' members out one after the other down the PG columns, and no
 *    domain meets itself in a PG because none has more than pg_count.
 *
 * 2. Table (balance.c, relay.c, augment.c, batch.c). Start from the
 *    previous table, keeping every member whose device still exists and
 *    whose domain is not already in the PG; without one, from a weighted
 *    draw (CRUSH's distribution) steered by the targets, so the table looks
 *    random and spreads recovery. Then holes and the surplus of devices
 *    above target go to devices below target: greedily (to the most
 *    under-filled device allowed in the PG), then by two-step moves, then
 *    by augmenting paths (device A cannot enter PG x because its domain is
 *    there, but B from x may move to PG y, and A takes B's place). Moving
 *    a member placed in this run is free; moving one kept from the
 *    previous table costs a copy, so it is avoided. Nearly always every
 *    device ends exactly at its target with the minimum of copies: the
 *    members of removed devices and the surplus of shrunk ones. In the
 *    rare layout where that would cost extra copies (few spare domains),
 *    stability wins and devices stop within tolerance, max(5%, 1 member).
 *
 * 3. Primaries (primary.c), ordered pools only. Position 0 serves reads
 *    and coordinates writes, so each device should be primary of a share of
 *    PGs in proportion to its ideal. A replicated PG's members all hold the
 *    same data, so the primary is chosen among the members (matching with
 *    augmenting paths) and swapped to position 0: no data moves. The
 *    previous primary stays when it is still a member and under its quota.
 *
 * Everything is a function of the input: devices are sorted by id,
 * domains by id, hashes are splitmix64 of (pg, id), and ties break by id,
 * so the order of devs[] and the heap layout change nothing.
 */
#ifndef SHARD_PLACEMENT_H
#define SHARD_PLACEMENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct pl_device {
	uint32_t id;		/* daemon id; not SHARD_DAEMON_NONE */
	uint32_t domain;	/* failure domain (host, rack...) as a number */
	uint64_t weight;	/* capacity in bytes (any unit), > 0 */
};

struct pl_input {
	const struct pl_device *devs;	/* the devices that are "in" */
	size_t ndevs;
	uint32_t pg_count;		/* 1 .. SHARD_MAX_PGS */
	uint32_t width;			/* 1 .. SHARD_MAX_WIDTH */
	/*
	 * true (replicated): position 0 is the primary and positions within a
	 * PG may be permuted. false (erasure coded): a position is a chunk
	 * index, so a member keeps its position for as long as it stays.
	 */
	bool ordered;
	/*
	 * Previous table (pg_count * width ids) or NULL; may name devices
	 * that are gone. Its members stay where that is possible.
	 */
	const uint32_t *prev;
};

struct pl_dev_stat {
	uint32_t id;
	uint32_t members;	/* slots it holds in the table */
	uint32_t primaries;	/* PGs where it is at position 0 */
	double ideal;		/* members it should hold, after capping */
	double share_ideal;	/* uncapped capacity share of all members */
	/*
	 * Its domain cannot be filled in proportion: it would need more than
	 * one member in some PGs. Report it as "too large to fill".
	 */
	bool capped;
};

struct pl_result {
	uint32_t *table;		/* pg_count * width, PG-major */
	struct pl_dev_stat *stats;	/* one per input device, input order */
	size_t nstats;
	uint32_t empty_slots;	/* slots left SHARD_DAEMON_NONE */
	/*
	 * Members that must be copied because of this change: for ordered
	 * pools, members not in the PG's previous member set; for EC pools,
	 * positions whose member differs from the previous one. 0 without
	 * prev.
	 */
	uint32_t moved;
	/*
	 * The theoretical minimum of moved: sum over devices of
	 * max(0, ideal - members in prev). 0 without prev.
	 */
	double moved_min;
	double max_dev;		/* worst |members / ideal - 1|, ideal >= 1 */
	/*
	 * Bytes one PG member can hold before the relatively fullest device
	 * is full: min over devices with members of weight / members. Usable
	 * pool capacity = member_bytes * pg_count * data chunks (1 for
	 * replicated, k for EC k+m).
	 */
	uint64_t member_bytes;
};

/*
 * Computes a table. Returns 0, -EINVAL for bad input (NULL pointers,
 * width 0 or > SHARD_MAX_WIDTH, pg_count 0 or > SHARD_MAX_PGS, a duplicate
 * device id, id SHARD_DAEMON_NONE, weight 0) or -ENOMEM. On error *out is
 * zeroed; on success free it with placement_result_free().
 */
int placement_compute(const struct pl_input *in, struct pl_result *out);

/*
 * The CRUSH-like baseline, for comparison in reports only: each PG draws
 * its domains by capacity without replacement, then a device in each the
 * same way, which is the distribution of CRUSH's straw2 with retries.
 * prev is ignored (moved is 0).
 */
int placement_compute_baseline(const struct pl_input *in,
			       struct pl_result *out);

void placement_result_free(struct pl_result *r);

/*
 * A power-of-two PG count for ndevs devices: about 100 members per device,
 * clamped to [32, 4096]. Width 0 counts as 1.
 */
uint32_t placement_default_pgs(size_t ndevs, uint32_t width);

#endif
