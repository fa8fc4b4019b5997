// SPDX-License-Identifier: GPL-2.0-only
/*
 * Listing a PG on another daemon (member_list.h). One REP_LIST is out at
 * a time; a full page asks again from the object after its last one, a
 * short page ends the list. Each entry must come after the one before
 * (and after the cursor), so a peer that repeats itself cannot keep a
 * list going for ever.
 *
 * Lifetime: while the list lives its one message is with the peer layer,
 * which always calls it back, and that callback frees a list that was
 * cancelled or whose daemon is exiting.
 */
#define _GNU_SOURCE
#include <endian.h>
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "loop.h"
#include "member_list.h"
#include "peer.h"
#include "wire.h"

/* Entries asked for per REP_LIST (40 bytes each). */
#define LIST_ENTRIES		2048U

struct shard_member_list {
	struct shardd *d;
	struct shard_peer_msg m;
	uint32_t peer, pool, pg;
	uint64_t volume, object;	/* the next key wanted */
	bool cancelled;
	struct shard_list_entry *page;
	struct shard_member_obj *objs;
	size_t n, alloc;
	shard_member_listed_fn done;
	void *arg;
};

static void list_free(struct shard_member_list *l)
{
	free(l->page);
	free(l->objs);
	free(l);
}

static void end(struct shard_member_list *l, int err)
{
	struct shard_member_obj *objs = err || !l->n ? NULL : l->objs;

	if (objs)
		l->objs = NULL;
	l->done(l->arg, err, objs, objs ? l->n : 0);
	list_free(l);
}

static void page_done(struct shard_peer_msg *m, int status, uint64_t epoch);

static int ask(struct shard_member_list *l)
{
	memset(&l->m, 0, sizeof(l->m));
	l->m.h.opcode = SHARD_OP_REP_LIST;
	l->m.h.pool = l->pool;
	l->m.h.offset = l->pg;
	l->m.h.volume = l->volume;
	l->m.h.object = l->object;
	l->m.h.len = LIST_ENTRIES * sizeof(struct shard_list_entry);
	l->m.rbuf = (unsigned char *)l->page;
	l->m.done = page_done;
	return shard_peer_send(l->d, l->peer, &l->m) ? -ENOMEM : 0;
}

static int add(struct shard_member_list *l, const struct shard_member_obj *e)
{
	struct shard_member_obj *n;
	size_t alloc;

	if (l->n == l->alloc) {
		alloc = l->alloc * 2 + 64;
		n = realloc(l->objs, alloc * sizeof(*n));
		if (!n)
			return -ENOMEM;
		l->objs = n;
		l->alloc = alloc;
	}
	l->objs[l->n++] = *e;
	return 0;
}

/* Takes one page: 0, 1 when it was the last one, or -errno. */
static int take_page(struct shard_member_list *l, uint32_t n)
{
	const struct shard_list_entry *le;
	struct shard_member_obj e;
	uint32_t k;

	for (k = 0; k < n; k++) {
		le = &l->page[k];
		memset(&e, 0, sizeof(e));
		e.o.pool = l->pool;
		e.o.volume = le64toh(le->volume);
		e.o.object = le64toh(le->object);
		e.o.order = le->obj_order;
		e.ver.epoch = le64toh(le->ver.epoch);
		e.ver.seq = le64toh(le->ver.seq);
		if (e.o.order < SHARD_OBJ_ORDER_MIN ||
		    e.o.order > SHARD_OBJ_ORDER_MAX)
			return -EBADMSG;
		if (e.o.volume < l->volume ||
		    (e.o.volume == l->volume && e.o.object < l->object))
			return -EBADMSG;
		if (add(l, &e))
			return -ENOMEM;
		l->volume = e.o.volume;
		l->object = e.o.object + 1;
		if (!l->object && !++l->volume)
			return 1;	/* the last key there is */
	}
	return n < LIST_ENTRIES;
}

static void page_done(struct shard_peer_msg *m, int status, uint64_t epoch)
{
	struct shard_member_list *l = container_of(m, struct shard_member_list,
						   m);
	int ret;

	(void)epoch;
	if (l->cancelled || l->d->exiting) {
		list_free(l);
		return;
	}
	if (status != SHARD_S_OK) {
		end(l, status);
		return;
	}
	ret = take_page(l, m->rlen / sizeof(struct shard_list_entry));
	if (!ret)
		ret = ask(l);
	if (ret)
		end(l, ret < 0 ? ret : 0);
}

struct shard_member_list *shard_member_list_start(struct shardd *d,
						  uint32_t peer, uint32_t pool,
						  uint32_t pg,
						  shard_member_listed_fn done,
						  void *arg)
{
	struct shard_member_list *l = calloc(1, sizeof(*l));

	if (!l)
		return NULL;
	l->page = calloc(LIST_ENTRIES, sizeof(*l->page));
	if (!l->page) {
		free(l);
		return NULL;
	}
	l->d = d;
	l->peer = peer;
	l->pool = pool;
	l->pg = pg;
	l->done = done;
	l->arg = arg;
	if (ask(l)) {
		list_free(l);
		return NULL;
	}
	return l;
}

void shard_member_list_cancel(struct shard_member_list *l)
{
	l->cancelled = true;
	/* page_done follows, now or once the peer lets go of it. */
	shard_peer_cancel(&l->m);
}
