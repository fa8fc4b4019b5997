// SPDX-License-Identifier: GPL-2.0-only
/*
 * The store's change log: the last changes submitted to it, in memory,
 * so that a copy of an object known to be at one of its versions can be
 * brought up to date by sending only the blocks changed since
 * (shard_store_changed_since, push.c). It is lost with the daemon:
 * after a restart every copy that differs goes whole, as before.
 *
 * An entry is one write or zero that carries a version: the object, the
 * byte range, the version it gives the object and the one the object
 * had before it. "Before" is the version of the object's previous entry
 * when the log holds one, else the object's recorded version when no
 * other operation on it is queued, else unknown. The chain of an
 * object's entries, newest first, each one's "before" the next one's
 * version, so tells every range changed since any version on it. A
 * change that ran without a version (scrub's repair, which rewrites the
 * bytes the version stands for) changes no version's bytes and is not
 * logged; one with the unknown version ends every chain through it.
 *
 * Entries are recorded when the operation is submitted, not when it
 * ends: whatever is read after the question was asked comes after
 * every change the answer counts. A zero that drops the object counts
 * like any other: its blocks were all zeroes, as the copy's are at
 * that version outside the ranges logged since. A change that fails
 * here may have been made elsewhere (a member's store took it): its
 * version names bytes we never held, so it ends its object's chain
 * (store_log_fail).
 *
 * Layout: a ring of entries numbered from 1 (number n in ring[n % size],
 * so the oldest is overwritten), and hash buckets holding the newest
 * entry number of their objects, each entry the number of the one
 * before it in its bucket. Numbers only fall along a bucket's chain, so
 * the first entry found overwritten ends it.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "store_int.h"

struct store_chg {
	uint64_t n;		/* 0: never used */
	uint64_t older;		/* the bucket's entry before this one */
	uint64_t volume, object;
	uint32_t pool;
	uint32_t off, len;
	struct shard_ver before, ver;
};

int store_log_init(struct shard_store *st, uint32_t entries)
{
	uint32_t size = 1;

	if (!entries)
		entries = STORE_LOG_DEFAULT;
	while (size < entries)
		size <<= 1;
	st->log = calloc(size, sizeof(*st->log));
	st->log_heads = calloc(size, sizeof(*st->log_heads));
	if (!st->log || !st->log_heads) {
		store_log_free(st);
		return -ENOMEM;
	}
	st->log_size = size;
	st->log_next = 1;
	return 0;
}

void store_log_free(struct shard_store *st)
{
	free(st->log);
	free(st->log_heads);
	st->log = NULL;
	st->log_heads = NULL;
	st->log_size = 0;
}

/* Entry n, or NULL once it was overwritten (or never written). */
static struct store_chg *entry(const struct shard_store *st, uint64_t n)
{
	struct store_chg *e = &st->log[n & (st->log_size - 1)];

	return n && e->n == n ? e : NULL;
}

static bool is_obj(const struct store_chg *e, const struct shard_obj *o)
{
	return e->pool == o->pool && e->volume == o->volume &&
	       e->object == o->object;
}

static uint64_t *head(const struct shard_store *st, const struct shard_obj *o)
{
	return &st->log_heads[store_hash_obj(o->pool, o->volume, o->object,
					     st->log_size)];
}

/* The object's newest entry still in the log, or NULL. */
static const struct store_chg *newest(const struct shard_store *st,
				      const struct shard_obj *o)
{
	const struct store_chg *e;

	for (e = entry(st, *head(st, o)); e; e = entry(st, e->older))
		if (is_obj(e, o))
			return e;
	return NULL;
}

uint64_t store_log_add(struct shard_store *st, const struct shard_obj *o,
		       uint32_t off, uint32_t len, const struct shard_ver *ver,
		       bool alone)
{
	const struct store_chg *last = newest(st, o);
	uint64_t *h = head(st, o);
	struct store_chg *e;
	uint64_t n = st->log_next++;
	struct shard_ver before = { 0, 0 };

	if (last)
		before = last->ver;
	else if (alone)
		shard_store_version(st, o, &before);
	e = &st->log[n & (st->log_size - 1)];
	*e = (struct store_chg){
		.n = n, .older = *h, .volume = o->volume, .object = o->object,
		.pool = o->pool, .off = off, .len = len, .before = before,
		.ver = *ver,
	};
	*h = n;
	return n;
}

void store_log_fail(struct shard_store *st, const struct shard_obj *o,
		    uint64_t n)
{
	static const struct shard_ver unknown = { 0, 0 };
	struct store_chg *failed = entry(st, n), *e;
	struct shard_ver v;

	if (!failed)
		return;
	v = failed->ver;
	failed->ver = unknown;
	/* Changes queued behind it took its version as theirs before. */
	for (e = entry(st, *head(st, o)); e && e->n > n; e = entry(st, e->older))
		if (is_obj(e, o) && shard_ver_eq(&e->before, &v))
			e->before = unknown;
}

static void mark(uint64_t *blocks, uint32_t off, uint32_t len)
{
	uint32_t b, last = (off + len - 1) / SHARD_BLOCK_SIZE;

	for (b = off / SHARD_BLOCK_SIZE; b <= last; b++)
		blocks[b / 64] |= 1ULL << (b % 64);
}

bool shard_store_changed_since(const struct shard_store *st,
			       const struct shard_obj *o,
			       const struct shard_ver *from,
			       uint64_t blocks[SHARD_STORE_BLOCK_WORDS])
{
	const struct store_chg *e;
	struct shard_ver cur = { 0, 0 };
	bool first = true;

	memset(blocks, 0, SHARD_STORE_BLOCK_WORDS * sizeof(*blocks));
	if (!st->log_size || !shard_ver_known(from) ||
	    o->order > SHARD_STORE_SLOT_ORDER)
		return false;
	for (e = entry(st, *head(st, o)); e; e = entry(st, e->older)) {
		if (!is_obj(e, o))
			continue;
		if (first) {
			/* At from already: nothing to tell. */
			if (shard_ver_eq(&e->ver, from))
				break;
			cur = e->ver;
			first = false;
		}
		if (!shard_ver_known(&cur) || !shard_ver_eq(&e->ver, &cur))
			break;
		mark(blocks, e->off, e->len);
		cur = e->before;
		if (shard_ver_known(&cur) && shard_ver_eq(&cur, from))
			return true;
	}
	memset(blocks, 0, SHARD_STORE_BLOCK_WORDS * sizeof(*blocks));
	return false;
}
