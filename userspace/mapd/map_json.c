// SPDX-License-Identifier: GPL-2.0-only
/* The map as JSON: for the daemons ("map-get") and for people ("map-show"). */
#include <linux/shard.h>
#include <endian.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "../common/b64.h"
#include "cmds.h"
#include "place.h"

static json_t *ids_json(const uint32_t *t, size_t n)
{
	json_t *a = json_array();
	size_t i;

	for (i = 0; a && i < n; i++)
		json_array_append_new(a, t[i] == SHARD_DAEMON_NONE ?
				      json_null() : json_integer(t[i]));
	return a;
}

/* Little-endian u32s in base64: compact for 4096 PGs x 5. */
static json_t *ids_b64(uint32_t *t, size_t n)
{
	json_t *s = NULL;
	size_t i;
	char *b;

	for (i = 0; i < n; i++)
		t[i] = htole32(t[i]);
	b = b64_encode(t, n * sizeof(*t));
	if (b)
		s = json_string(b);
	free(b);
	return s;
}

/*
 * [[pg, daemon], ...]: who each PG's primary copies the PG to (and
 * sends new writes to) until mapd adds it to the acting set.
 */
static json_t *backfill_json(const struct mapd_state *st,
			     const struct mapd_pool *p)
{
	uint32_t targets[SHARD_MAX_WIDTH], pg, j, n;
	json_t *a = json_array(), *pair;

	for (pg = 0; a && p->size <= SHARD_MAX_WIDTH && pg < p->pg_count;
	     pg++) {
		n = mapd_backfill_targets(st, p, pg, targets);
		for (j = 0; j < n; j++) {
			pair = json_pack("[I, I]", (json_int_t)pg,
					 (json_int_t)targets[j]);
			if (!pair || json_array_append_new(a, pair)) {
				json_decref(a);
				return NULL;
			}
		}
	}
	return a;
}

static json_t *pool_json(const struct mapd_state *st,
			 const struct mapd_pool *p, enum map_json_form form)
{
	size_t n = (size_t)p->pg_count * p->size;
	uint32_t *acting = mapd_acting_table(st, p);
	json_t *o, *t = NULL;

	if (!acting)
		return NULL;
	o = json_pack("{s:I, s:s, s:I, s:I, s:I}", "id", (json_int_t)p->id,
		      "name", p->name, "pg_count", (json_int_t)p->pg_count,
		      "width", (json_int_t)p->size,
		      "min_size", (json_int_t)p->min_size);
	if (o && form == MAP_JSON_B64) {
		t = ids_b64(acting, n);
		if (t)
			json_object_set_new(o, "table", t);
	} else if (o) {
		t = ids_json(acting, n);
		if (t)
			json_object_set_new(o, "acting", t);
		if (t && p->table) {
			t = ids_json(p->table, n);
			if (t)
				json_object_set_new(o, "placement", t);
		}
	}
	free(acting);
	if (t) {
		t = backfill_json(st, p);
		if (t && json_object_set_new(o, "backfill", t))
			t = NULL;
	}
	if (!t) {
		json_decref(o);
		return NULL;
	}
	return o;
}

json_t *map_json(const struct mapd_state *st, enum map_json_form form)
{
	json_t *daemons = json_array(), *pools = json_array(), *o;
	json_t *blocklist = state_blocklist_json(st);
	size_t i;

	if (!daemons || !pools || !blocklist)
		goto fail;
	for (i = 0; i < st->ndaemons; i++) {
		const struct mapd_daemon *d = &st->daemons[i];

		o = json_pack("{s:I, s:s, s:I, s:b, s:b}",
			      "id", (json_int_t)d->id, "addr", d->addr,
			      "port", (json_int_t)d->port, "up", d->up,
			      "in", d->in);
		if (!o || json_array_append_new(daemons, o))
			goto fail;
	}
	for (i = 0; i < st->npools; i++) {
		o = pool_json(st, &st->pools[i], form);
		if (!o || json_array_append_new(pools, o))
			goto fail;
	}
	/* The daemons refuse the blocklist's clients (fencing). */
	return json_pack("{s:I, s:o, s:o, s:o}",
			 "epoch", (json_int_t)st->epoch, "daemons", daemons,
			 "pools", pools, "blocklist", blocklist);
fail:
	json_decref(daemons);
	json_decref(pools);
	json_decref(blocklist);
	return NULL;
}

int cmd_map_show(struct mapd *m, json_t *req, json_t *reply, char *err)
{
	json_t *map = map_json(&m->st, MAP_JSON_ARRAYS);

	(void)req;
	if (!map) {
		snprintf(err, ERRLEN, "out of memory");
		return -ENOMEM;
	}
	json_object_set_new(reply, "map", map);
	return 0;
}
