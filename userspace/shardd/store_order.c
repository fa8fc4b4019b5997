// SPDX-License-Identifier: GPL-2.0-only
/*
 * Per-object ordering of store operations.
 *
 * With data I/O asynchronous, two operations on one object could
 * otherwise overtake each other (a read passing the write before it) or
 * interleave (two read-modify-writes of one block, each writing back its
 * own merge). So each object with operations pending has a FIFO; only
 * its head runs, and finishing it starts the next. Objects without
 * pending operations cost nothing: a queue exists only while in use.
 *
 * The queue is keyed by the object's identity, not by its slot, because
 * an object may have no slot yet (its first write allocates one) or lose
 * it (a discard that frees the slot).
 */
#include <errno.h>
#include <stdlib.h>

#include "store_int.h"

struct store_objq {
	struct store_objq *next;	/* hash chain */
	uint32_t pool;
	uint64_t volume, object;
	struct store_qent *head, *tail;
};

static struct store_objq **bucket(struct shard_store *st, uint32_t pool,
				  uint64_t volume, uint64_t object)
{
	uint64_t h = (volume * 0x9e3779b97f4a7c15ULL ^ object) +
		     (uint64_t)pool * 0xbf58476d1ce4e5b9ULL;

	h ^= h >> 29;
	return &st->qbuckets[(h * 0x94d049bb133111ebULL >> 32) %
			     STORE_QBUCKETS];
}

int store_order_enter(struct shard_store *st, struct store_qent *e,
		      const struct shard_obj *o, bool *first)
{
	struct store_objq **b = bucket(st, o->pool, o->volume, o->object);
	struct store_objq *q;

	for (q = *b; q; q = q->next)
		if (q->pool == o->pool && q->volume == o->volume &&
		    q->object == o->object)
			break;
	e->next = NULL;
	if (q) {
		q->tail->next = e;
		q->tail = e;
		e->q = q;
		*first = false;
		return 0;
	}
	q = malloc(sizeof(*q));
	if (!q)
		return -ENOMEM;
	q->pool = o->pool;
	q->volume = o->volume;
	q->object = o->object;
	q->head = q->tail = e;
	q->next = *b;
	*b = q;
	e->q = q;
	*first = true;
	return 0;
}

struct store_qent *store_order_leave(struct shard_store *st,
				     struct store_qent *e)
{
	struct store_objq *q = e->q, **p;

	q->head = e->next;
	if (q->head)
		return q->head;
	for (p = bucket(st, q->pool, q->volume, q->object); *p != q;
	     p = &(*p)->next)
		;
	*p = q->next;
	free(q);
	return NULL;
}
