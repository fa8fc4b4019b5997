// SPDX-License-Identifier: GPL-2.0-only
/* The objects of one PG in our store (pg_objects.h). */
#include <errno.h>
#include <stdlib.h>

#include <shard/pg.h>

#include "loop.h"
#include "map.h"
#include "pg_objects.h"
#include "store.h"
#include "version.h"

struct list_ctx {
	uint32_t pg, pg_count;
	struct shard_obj *objs;
	size_t n, alloc;
	int err;
};

static void list_one(void *arg, const struct shard_obj *o)
{
	struct list_ctx *c = arg;
	struct shard_obj *n;

	if (c->err || shard_object_pg(o->volume, o->object, c->pg_count) !=
		      c->pg)
		return;
	if (c->n == c->alloc) {
		n = realloc(c->objs, (c->alloc * 2 + 64) * sizeof(*n));
		if (!n) {
			c->err = -ENOMEM;
			return;
		}
		c->objs = n;
		c->alloc = c->alloc * 2 + 64;
	}
	c->objs[c->n++] = *o;
}

int shard_obj_cmp(const void *a, const void *b)
{
	const struct shard_obj *x = a, *y = b;

	if (x->volume != y->volume)
		return x->volume < y->volume ? -1 : 1;
	if (x->object != y->object)
		return x->object < y->object ? -1 : 1;
	return 0;
}

int shard_pg_objects(struct shardd *d, uint32_t pool, uint32_t pg,
		     struct shard_obj **out, size_t *n)
{
	const struct shard_map_pool *p = d->map ?
		shard_map_pool(d->map, pool) : NULL;
	struct list_ctx c = { .pg = pg };

	*out = NULL;
	*n = 0;
	if (!p)
		return 0;
	c.pg_count = p->pg_count;
	shard_store_foreach(d->store, pool, list_one, &c);
	if (c.err) {
		free(c.objs);
		return c.err;
	}
	if (c.n)
		qsort(c.objs, c.n, sizeof(*c.objs), shard_obj_cmp);
	*out = c.objs;
	*n = c.n;
	return 0;
}

void shard_pg_version(const struct shardd *d, const struct shard_obj *o,
		      struct shard_ver *out)
{
	if (!shard_store_version(d->store, o, out))
		out->epoch = out->seq = 0;
}
