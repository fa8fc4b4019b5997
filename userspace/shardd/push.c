// SPDX-License-Identifier: GPL-2.0-only
/*
 * Object pushes (push.h). A push is one buffer the size of the object,
 * read in pieces of at most SHARD_MAX_IO (what the store reads at once),
 * each piece a REP_WRITE queued before its read completes
 * (wait_payload), so that nothing queued to the peer later can overtake
 * it. The pieces cover the whole object, or, when the peer's copy is at
 * a version our store's change log reaches back to, only the blocks
 * changed since (shard_store_changed_since): the rest of its copy holds
 * our bytes already.
 *
 * Versions: the reads are submitted together, so no change here comes
 * between them, and the last one's completion knows the version of the
 * bytes read. Every piece but the last carries the unknown version: a
 * copy cut short matches nothing, and only the last piece (flagged
 * WHOLE) makes the target record ours. A removal (an object we do not
 * hold) reads nothing: its REP_ZEROs carry the unknown version, and the
 * peer drops the object once all of it is zeroes.
 *
 * Lifetime: a push is freed when its reads and every message came back
 * (pending reaches 0) and its owner was told. At exit (d->exiting) the
 * peer layer's teardown only counts down, and shard_push_free_all frees
 * what is left without telling anyone.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "loop.h"
#include "peer.h"
#include "push.h"
#include "store.h"

struct push_chunk {
	struct shard_peer_msg m;
	struct shard_push *p;
};

struct shard_push {
	struct shardd *d;
	struct shard_push *prev, *next;	/* d->pushes */
	struct shard_obj o;
	unsigned char *buf;
	struct push_chunk *chunks;
	unsigned int nchunks;
	unsigned int pending;		/* reads and messages out */
	int err;			/* the first failure */
	bool starting;			/* inside shard_push_start */
	bool removal;			/* we do not hold the object */
	bool told;
	uint64_t bytes;			/* to send: 0 for a removal */
	shard_push_done_fn done;
	void *arg;
	struct shard_ev end_ev;		/* ends on the next turn */
};

static void push_free(struct shard_push *p)
{
	struct shardd *d = p->d;

	if (p->prev)
		p->prev->next = p->next;
	else
		d->pushes = p->next;
	if (p->next)
		p->next->prev = p->prev;
	free(p->buf);
	free(p->chunks);
	free(p);
}

/* The caller holds a pending count of its own: cancelling cannot end
 * the push under it. */
static void cancel_chunks(struct shard_push *p)
{
	unsigned int k;

	for (k = 0; k < p->nchunks; k++)
		shard_peer_cancel(&p->chunks[k].m);
}

static void fail(struct shard_push *p, int err)
{
	if (p->err)
		return;
	p->err = err;
	cancel_chunks(p);
}

static void end(struct shard_push *p)
{
	if (!p->told) {
		p->told = true;
		p->done(p->arg, p->err);
	}
	push_free(p);
}

static void on_end(struct shard_ev *ev, int res)
{
	(void)res;
	end(container_of(ev, struct shard_push, end_ev));
}

static void part_done(struct shard_push *p)
{
	if (--p->pending || p->starting)
		return;
	if (p->d->exiting)
		return;		/* shard_push_free_all frees it */
	end(p);
}

static void chunk_done(struct shard_peer_msg *m, int status, uint64_t epoch)
{
	struct push_chunk *c = container_of(m, struct push_chunk, m);
	struct shard_push *p = c->p;

	(void)epoch;
	if (p->d->exiting) {
		p->pending--;
		return;
	}
	if (status != SHARD_S_OK)
		fail(p, status);
	part_done(p);
}

static void read_done(void *arg, int err)
{
	struct push_chunk *c = arg;
	struct shard_push *p = c->p;

	if (p->d->exiting) {
		p->pending--;
		return;
	}
	if (err) {
		fail(p, err == -EBADMSG ? -EBADMSG : -EIO);
	} else if (!p->err) {
		if (c == &p->chunks[p->nchunks - 1]) {
			shard_store_version(p->d->store, &p->o, &c->m.ver);
			c->m.rep_flags = SHARD_REP_F_WHOLE;
		}
		shard_peer_payload_ready(&c->m);
	}
	part_done(p);
}

static bool block_set(const uint64_t *blocks, uint32_t b)
{
	return blocks[b / 64] >> (b % 64) & 1;
}

/*
 * The pieces that carry the blocks set in blocks of an object of size
 * bytes: runs of them, cut at SHARD_MAX_IO. Fills c's offsets and
 * lengths if c is not NULL; returns how many.
 */
static unsigned int plan(const uint64_t *blocks, uint32_t size,
			 struct push_chunk *c)
{
	uint32_t nblk = (size + SHARD_BLOCK_SIZE - 1) / SHARD_BLOCK_SIZE;
	uint32_t b = 0, first, off, end;
	unsigned int n = 0;

	while (b < nblk) {
		if (!block_set(blocks, b)) {
			b++;
			continue;
		}
		first = b;
		while (b < nblk && block_set(blocks, b) &&
		       (b - first) * SHARD_BLOCK_SIZE < SHARD_MAX_IO)
			b++;
		off = first * SHARD_BLOCK_SIZE;
		end = b * SHARD_BLOCK_SIZE < size ? b * SHARD_BLOCK_SIZE : size;
		if (c) {
			c[n].m.h.offset = off;
			c[n].m.h.len = end - off;
		}
		n++;
	}
	return n;
}

/* The blocks a push of o to a copy at version theirs sends: those
 * changed since, or all. */
static void pick(struct shardd *d, const struct shard_obj *o,
		 const struct shard_ver *theirs,
		 uint64_t blocks[SHARD_STORE_BLOCK_WORDS])
{
	if (!shard_store_holds(d->store, o) || !theirs ||
	    !shard_store_changed_since(d->store, o, theirs, blocks))
		memset(blocks, 0xff, SHARD_STORE_BLOCK_WORDS * sizeof(*blocks));
}

uint64_t shard_push_size(struct shardd *d, const struct shard_obj *o,
			 const struct shard_ver *theirs)
{
	uint64_t blocks[SHARD_STORE_BLOCK_WORDS], bytes = 0;
	uint32_t size = 1U << o->order, b;

	if (!shard_store_holds(d->store, o))
		return 0;
	pick(d, o, theirs, blocks);
	for (b = 0; b * SHARD_BLOCK_SIZE < size; b++)
		if (block_set(blocks, b))
			bytes += size - b * SHARD_BLOCK_SIZE < SHARD_BLOCK_SIZE ?
				 size - b * SHARD_BLOCK_SIZE : SHARD_BLOCK_SIZE;
	return bytes;
}

struct shard_push *shard_push_start(struct shardd *d, uint32_t target,
				    const struct shard_obj *o,
				    const struct shard_ver *theirs,
				    shard_push_done_fn done, void *arg)
{
	uint32_t size = 1U << o->order, k;
	bool removal = !shard_store_holds(d->store, o);
	uint64_t blocks[SHARD_STORE_BLOCK_WORDS];
	struct shard_push *p;
	struct io_uring_sqe *sqe;

	pick(d, o, theirs, blocks);
	p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	p->nchunks = plan(blocks, size, NULL);
	p->chunks = calloc(p->nchunks, sizeof(*p->chunks));
	if (!p->chunks || (!removal &&
			   posix_memalign((void **)&p->buf, SHARD_BLOCK_SIZE,
					  size))) {
		free(p->chunks);
		free(p);
		return NULL;
	}
	plan(blocks, size, p->chunks);
	p->d = d;
	p->o = *o;
	p->removal = removal;
	p->done = done;
	p->arg = arg;
	p->starting = true;
	p->next = d->pushes;
	if (d->pushes)
		d->pushes->prev = p;
	d->pushes = p;
	for (k = 0; k < p->nchunks; k++) {
		struct shard_peer_msg *m = &p->chunks[k].m;

		p->chunks[k].p = p;
		m->h.opcode = removal ? SHARD_OP_REP_ZERO : SHARD_OP_REP_WRITE;
		m->h.obj_order = o->order;
		m->h.pool = o->pool;
		m->h.volume = o->volume;
		m->h.object = o->object;
		if (!removal) {
			m->payload = p->buf + m->h.offset;
			m->wait_payload = true;
			p->bytes += m->h.len;
		}
		m->done = chunk_done;
		if (shard_peer_send(d, target, m)) {
			p->nchunks = k;
			fail(p, -ENOMEM);
			break;
		}
		p->pending++;
	}
	for (k = 0; k < p->nchunks && !p->err && !removal; k++) {
		struct shard_peer_msg *m = &p->chunks[k].m;

		p->pending++;
		if (shard_store_read(d->store, o, m->h.offset, m->h.len,
				     p->buf + m->h.offset, read_done,
				     &p->chunks[k])) {
			p->pending--;
			fail(p, -EIO);
		}
	}
	p->starting = false;
	if (!p->pending) {
		/* Failed before anything went out: end on the next turn. */
		p->end_ev.fn = on_end;
		sqe = shard_get_sqe(d);
		io_uring_prep_nop(sqe);
		shard_sqe_set_ev(sqe, &p->end_ev);
	}
	return p;
}

uint64_t shard_push_bytes(const struct shard_push *p)
{
	return p->bytes;
}

void shard_push_cancel(struct shard_push *p)
{
	p->pending++;
	fail(p, -ECANCELED);
	part_done(p);
}

void shard_push_free_all(struct shardd *d)
{
	while (d->pushes)
		push_free(d->pushes);
}
