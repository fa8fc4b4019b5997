// SPDX-License-Identifier: GPL-2.0-only
/*
 * The two documents a cluster keeps in etcd:
 *   config: what people and daemons said (daemons and where they are,
 *           in/out, pools, volumes, id counters); any mapd changes it,
 *           by compare-and-swap;
 *   map:    what the leader computed from config and liveness (the epoch,
 *           which daemons are up, each pool's placement); only the leader
 *           writes it. It also repeats config's client blocklist: the
 *           leader writes a new epoch only when the map changes, and the
 *           daemons must fetch a changed blocklist.
 * A mapd's state is config with map laid over it (the blocklist comes from
 * config, never from map).
 */
#include <linux/shard.h>
#include <endian.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/b64.h"
#include "cluster_doc.h"
#include "place.h"

json_t *cluster_config_json(const struct mapd_state *st)
{
	json_t *j = state_to_json(st), *e;
	size_t i;

	if (!j)
		return NULL;
	/* Placement, up and the epoch belong to the map. */
	json_object_set_new(j, "epoch", json_integer(1));
	json_array_foreach(json_object_get(j, "daemons"), i, e)
		json_object_set_new(e, "up", json_false());
	json_array_foreach(json_object_get(j, "pools"), i, e) {
		json_object_del(e, "table");
		json_object_del(e, "acting");
	}
	return j;
}

static json_t *table_b64(const uint32_t *t, size_t n)
{
	uint32_t *le = malloc(n * sizeof(*le) + 1);
	json_t *s = NULL;
	char *b;
	size_t i;

	if (!le)
		return NULL;
	for (i = 0; i < n; i++)
		le[i] = htole32(t[i]);
	b = b64_encode(le, n * sizeof(*le));
	if (b)
		s = json_string(b);
	free(b);
	free(le);
	return s;
}

/* [[pg, daemon], ...]: the backfill targets the leader names. */
static json_t *backfill_json(const struct mapd_state *st,
			     const struct mapd_pool *p)
{
	uint32_t targets[SHARD_MAX_WIDTH], pg, j, n;
	json_t *a = json_array();

	for (pg = 0; a && p->size <= SHARD_MAX_WIDTH && pg < p->pg_count;
	     pg++) {
		n = mapd_backfill_derive(st, p, pg, targets);
		for (j = 0; j < n; j++) {
			json_t *pair = json_pack("[I, I]", (json_int_t)pg,
						 (json_int_t)targets[j]);

			if (!pair || json_array_append_new(a, pair)) {
				json_decref(a);
				return NULL;
			}
		}
	}
	return a;
}

json_t *cluster_map_json(const struct mapd_state *st)
{
	json_t *daemons = json_array(), *pools = json_array(), *o;
	size_t i, k;

	for (i = 0; i < st->ndaemons; i++) {
		const struct mapd_daemon *d = &st->daemons[i];

		o = json_pack("{s:I, s:s, s:I, s:b}", "id", (json_int_t)d->id,
			      "addr", d->addr, "port", (json_int_t)d->port,
			      "up", d->up);
		if (!o || json_array_append_new(daemons, o))
			goto fail;
	}
	for (i = 0; i < st->npools; i++) {
		const struct mapd_pool *p = &st->pools[i];
		json_t *capped = json_array(), *t, *a;

		for (k = 0; k < p->ncapped; k++)
			json_array_append_new(capped,
					      json_integer(p->capped[k]));
		size_t n = (size_t)p->pg_count * p->size;

		t = p->table ? table_b64(p->table, n) : json_null();
		a = p->acting ? table_b64(p->acting, n) : json_null();
		o = json_pack("{s:I, s:I, s:I, s:o, s:o, s:I, s:f, s:I, s:o}",
			      "id", (json_int_t)p->id,
			      "pg_count", (json_int_t)p->pg_count,
			      "width", (json_int_t)p->size, "placement", t,
			      "acting", a,
			      "usable", (json_int_t)p->usable,
			      "max_dev", p->max_dev,
			      "empty_slots", (json_int_t)p->empty_slots,
			      "capped", capped);
		/* Absent when empty, as in maps written before backfill. */
		t = o ? backfill_json(st, p) : NULL;
		if (t && json_array_size(t))
			json_object_set_new(o, "backfill", t);
		else
			json_decref(t);
		if (o && !t) {
			json_decref(o);
			o = NULL;
		}
		if (!o || json_array_append_new(pools, o))
			goto fail;
	}
	o = json_pack("{s:I, s:o, s:o}", "epoch", (json_int_t)st->epoch,
		      "daemons", daemons, "pools", pools);
	/* Absent when empty, as in maps written before blocklists were. */
	if (o && st->nblocklist &&
	    json_object_set_new(o, "blocklist", state_blocklist_json(st))) {
		json_decref(o);
		return NULL;
	}
	return o;
fail:
	json_decref(daemons);
	json_decref(pools);
	return NULL;
}

bool cluster_map_same(const json_t *a, const json_t *b)
{
	json_t *ca, *cb;
	bool same;

	if (!a || !b)
		return false;
	ca = json_deep_copy(a);
	cb = json_deep_copy(b);
	json_object_del(ca, "epoch");
	json_object_del(cb, "epoch");
	same = json_equal(ca, cb);
	json_decref(ca);
	json_decref(cb);
	return same;
}

/* A table from the map, checked against the state's daemons. */
static int table_from_map(struct mapd_state *st, struct mapd_pool *p,
			  json_t *jp, const char *what, uint32_t **out,
			  char *err, size_t errlen)
{
	const char *s = json_string_value(json_object_get(jp, what));
	size_t n = (size_t)p->pg_count * p->size, len, k, m;
	unsigned char *bin;
	uint32_t *t;

	if (!s)
		return 0;	/* not placed */
	if (b64_decode(s, strlen(s), &bin, &len) || len != n * 4) {
		free(bin);
		snprintf(err, errlen, "pool %u: %s is not %zu ids",
			 p->id, what, n);
		return -EINVAL;
	}
	t = malloc(n * sizeof(*t) + 1);
	if (!t) {
		free(bin);
		return -ENOMEM;
	}
	for (k = 0; k < n; k++) {
		uint32_t v;

		memcpy(&v, bin + k * 4, 4);
		t[k] = le32toh(v);
		if (t[k] != SHARD_DAEMON_NONE && !state_daemon(st, t[k]))
			goto bad;
		for (m = k - k % p->size; m < k; m++)
			if (t[k] != SHARD_DAEMON_NONE && t[m] == t[k])
				goto bad;
	}
	free(bin);
	free(*out);
	*out = t;
	return 0;
bad:
	free(bin);
	free(t);
	snprintf(err, errlen, "pool %u: %s names an unknown daemon or one twice in a PG",
		 p->id, what);
	return -EINVAL;
}

int cluster_apply_map(struct mapd_state *st, const json_t *map,
		      char *err, size_t errlen)
{
	json_t *daemons, *pools, *e;
	json_int_t epoch;
	json_error_t je;
	size_t i, k;
	int ret;

	if (json_unpack_ex((json_t *)map, &je, 0, "{s:I, s:o, s:o}",
			   "epoch", &epoch, "daemons", &daemons,
			   "pools", &pools) ||
	    epoch < 1 || !json_is_array(daemons) || !json_is_array(pools)) {
		snprintf(err, errlen, "map: %s", je.text[0] ? je.text :
			 "bad epoch, daemons or pools");
		return -EINVAL;
	}
	st->epoch = epoch;
	for (i = 0; i < st->ndaemons; i++)
		st->daemons[i].up = false;
	json_array_foreach(daemons, i, e) {
		json_int_t id = json_integer_value(json_object_get(e, "id"));
		struct mapd_daemon *d = id > 0 && id < SHARD_MAX_DAEMON_ID ?
					state_daemon(st, id) : NULL;

		if (d)
			d->up = json_is_true(json_object_get(e, "up"));
	}
	for (i = 0; i < st->npools; i++) {
		struct mapd_pool *p = &st->pools[i];

		free(p->table);
		p->table = NULL;
		free(p->acting);
		p->acting = NULL;
		p->usable = 0;
		p->max_dev = 0;
		p->empty_slots = 0;
		p->ncapped = 0;
		json_array_foreach(pools, k, e) {
			json_t *c, *ce;
			size_t m;

			if (json_integer_value(json_object_get(e, "id")) != p->id ||
			    json_integer_value(json_object_get(e, "pg_count")) != p->pg_count ||
			    json_integer_value(json_object_get(e, "width")) != p->size)
				continue;
			ret = table_from_map(st, p, e, "placement", &p->table,
					     err, errlen);
			if (!ret)
				ret = table_from_map(st, p, e, "acting",
						     &p->acting, err, errlen);
			if (ret)
				return ret;
			p->usable = json_integer_value(json_object_get(e, "usable"));
			p->max_dev = json_number_value(json_object_get(e, "max_dev"));
			p->empty_slots = json_integer_value(json_object_get(e, "empty_slots"));
			c = json_object_get(e, "capped");
			free(p->capped);
			p->capped = calloc(json_array_size(c) + 1,
					   sizeof(*p->capped));
			json_array_foreach(c, m, ce) {
				if (p->capped)
					p->capped[p->ncapped++] =
						json_integer_value(ce);
			}
			break;
		}
	}
	return 0;
}
