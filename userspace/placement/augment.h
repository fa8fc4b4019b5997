/* SPDX-License-Identifier: GPL-2.0-only */
/* The augmenting-path search state, shared by augment.c and batch.c. */
#ifndef SHARD_PL_AUGMENT_H
#define SHARD_PL_AUGMENT_H

#include "pl_internal.h"

#define MAX_BATCH 4096	/* free ends collected by one search */
#define MAX_ALT 32	/* ways out of a layer remembered per domain */

enum end_kind { END_HOLE, END_TAKE };

struct end {
	enum end_kind kind;
	uint32_t pg, pos, dom;	/* dom enters pg, at pos unless a hole */
	uint32_t cost;
};

/* A domain's member at pos in pg, which it may be pushed out of. */
struct pl_alt {
	uint32_t pg, pos;
};

/* One step of a batched path: dom enters pg at pos. */
struct step {
	uint32_t pg, pos, dom;
};

struct pl_aug {
	/* nodes: domains 0..nd-1, then PGs */
	uint32_t *dist;		/* cost */
	uint32_t *hops;		/* edges from a source, for the layers */
	uint8_t *done;
	int32_t *par_pg;	/* domain: PG it is pushed out of, -1: source */
	uint8_t *par_pos;	/* domain: its position there */
	int32_t *src;		/* domain: the device it places, if a source */
	uint32_t *par_dom;	/* PG: the domain entering it */
	int32_t *carry;		/* domain: the device that moves, on a path */
	uint32_t *q[2];
	uint32_t qn[2];
	struct end costly;	/* cheapest end that moves a kept member */
	bool have_costly;
	struct end *ends;	/* ends found by one search */
	uint32_t nends;
	/* batches */
	uint32_t *nalt;		/* per domain */
	struct pl_alt *alt;	/* MAX_ALT per domain */
	uint8_t *used;		/* PG changed by this batch */
	uint8_t *dead;		/* PG that leads nowhere in this batch */
	struct step *steps;
	const struct pl_stage *st;
};

/* batch.c: applies every free path it can find among a->ends. */
bool pl_apply_batch(struct pl_ctx *c, struct pl_aug *a);

#endif
