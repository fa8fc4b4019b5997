/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * State shared by the placement steps. Devices are indexed 0..n-1 in id
 * order and domains 0..nd-1 in domain id order, so that nothing depends
 * on the caller's order. The working table holds device indexes, -1 for
 * an empty slot.
 */
#ifndef SHARD_PL_INTERNAL_H
#define SHARD_PL_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <linux/shard.h>

#include "placement.h"

/*
 * How far a device may be from its ideal when reaching it exactly would
 * cost extra copies: the acceptance bound is max(5%, 1 member).
 */
#define PL_TOLERANCE	0.05

struct pl_ctx {
	const struct pl_input *in;
	uint32_t P;		/* pg_count */
	uint32_t W;		/* width */
	uint32_t k;		/* members per PG: min(W, nd) */
	size_t n;		/* devices */
	uint32_t nd;		/* domains */

	/* per device, in id order */
	uint32_t *id;
	uint64_t *weight;
	uint32_t *dom;		/* domain index */
	size_t *orig;		/* index in in->devs */
	double *ideal;
	double *share;
	uint32_t *tgt;		/* integer target */
	uint32_t *lo, *hi;	/* tolerated range around the ideal */
	uint32_t *cur;		/* members in the working table */
	uint32_t *kcnt;		/* of which kept from prev */
	uint32_t *prev_cnt;	/* members kept from prev (before balancing) */

	/* per domain */
	uint32_t *dom_id;
	double *dom_weight;
	double *dom_ideal;
	bool *dom_capped;
	/* devices of domain d: dom_devs[dom_first[d] .. dom_first[d + 1]) */
	uint32_t *dom_first;
	uint32_t *dom_devs;

	/* working table, P * W */
	int32_t *tab;
	uint8_t *kept;		/* slot holds a member kept from prev */
	uint32_t *filled;	/* members per PG */
	uint64_t *dmask;	/* per PG, bitmap of domains present */
	uint32_t mwords;	/* 64-bit words per PG in dmask */
};

static inline bool pl_dom_in(const struct pl_ctx *c, uint32_t pg, uint32_t d)
{
	return c->dmask[(size_t)pg * c->mwords + d / 64] >> (d % 64) & 1;
}

static inline int32_t *pl_slot(const struct pl_ctx *c, uint32_t pg,
			       uint32_t pos)
{
	return &c->tab[(size_t)pg * c->W + pos];
}

/*
 * What an augmenting path starts from (a device that should gain a member)
 * and may end at (besides a hole: a member of a device that may lose one).
 */
enum pl_src { PL_SRC_BELOW_TGT, PL_SRC_BELOW_LO, PL_SRC_BELOW_HI };
enum pl_take { PL_TAKE_OVER_TGT, PL_TAKE_OVER_LO, PL_TAKE_OVER_HI,
	       PL_TAKE_NONE };

struct pl_stage {
	enum pl_src src;
	enum pl_take take;
	bool paid;		/* may move members kept from prev */
};

static inline bool pl_is_src(const struct pl_ctx *c,
			     const struct pl_stage *st, uint32_t dev)
{
	switch (st->src) {
	case PL_SRC_BELOW_TGT:
		return c->cur[dev] < c->tgt[dev];
	case PL_SRC_BELOW_LO:
		return c->cur[dev] < c->lo[dev];
	default:
		return c->cur[dev] < c->hi[dev];
	}
}

static inline bool pl_takeable(const struct pl_ctx *c,
			       const struct pl_stage *st, int32_t dev)
{
	if (dev < 0)
		return false;
	switch (st->take) {
	case PL_TAKE_OVER_TGT:
		return c->cur[dev] > c->tgt[dev];
	case PL_TAKE_OVER_LO:
		return c->cur[dev] > c->lo[dev];
	case PL_TAKE_OVER_HI:
		return c->cur[dev] > c->hi[dev];
	default:
		return false;
	}
}

/*
 * Taking a member costs a copy the change did not need when it was kept
 * from prev and its device does not keep more than its target: that
 * device will have to be refilled elsewhere, or end short. (A device over
 * target only because it filled holes in this run counts as not over.)
 */
static inline uint32_t pl_take_cost(const struct pl_ctx *c, uint32_t pg,
				    uint32_t pos)
{
	size_t slot = (size_t)pg * c->W + pos;
	int32_t dev = c->tab[slot];

	return c->kept[slot] && c->kcnt[dev] <= c->tgt[dev];
}

/* The index of device id, or -1. */
static inline int32_t pl_lookup(const struct pl_ctx *c, uint32_t id)
{
	size_t lo = 0, hi = c->n, mid;

	while (lo < hi) {
		mid = (lo + hi) / 2;
		if (c->id[mid] < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < c->n && c->id[lo] == id ? (int32_t)lo : -1;
}

/* splitmix64: a fast, well-mixed 64-bit hash for rendezvous draws. */
static inline uint64_t pl_hash(uint64_t a, uint64_t b, uint64_t salt)
{
	uint64_t z = (a * 0x9e3779b97f4a7c15ULL) ^
		     ((b + salt) * 0xbf58476d1ce4e5b9ULL);

	z += 0x9e3779b97f4a7c15ULL;
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* targets.c */
void pl_compute_ideals(struct pl_ctx *c);
int pl_round_targets(struct pl_ctx *c);

/* balance.c */
void pl_set(struct pl_ctx *c, uint32_t pg, uint32_t pos, int32_t dev,
	    bool kept);
uint32_t pl_first_empty(const struct pl_ctx *c, uint32_t pg);
int32_t pl_pick(const struct pl_ctx *c, const struct pl_stage *st,
		uint32_t *cand, uint32_t *ncand, uint32_t pg, int64_t dom);
bool pl_needier(const struct pl_ctx *c, uint32_t pg, uint32_t a, uint32_t b);
int pl_initial_fill(struct pl_ctx *c, bool baseline);
int pl_balance(struct pl_ctx *c);

/* relay.c */
bool pl_relay(struct pl_ctx *c, const struct pl_stage *st, uint32_t *cand,
	      uint32_t *ncand, uint32_t *first, uint32_t *slots);

/* augment.c */
struct pl_aug;
struct pl_aug *pl_aug_new(const struct pl_ctx *c);
void pl_aug_free(struct pl_aug *a);
bool pl_augment(struct pl_ctx *c, struct pl_aug *a,
		const struct pl_stage *st);

/* primary.c */
int pl_balance_primaries(struct pl_ctx *c);

#endif
