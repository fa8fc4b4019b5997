// SPDX-License-Identifier: GPL-2.0-only
/*
 * Placement for shard-mapd. Failure domains are names (a host, a rack, a
 * site); a daemon with no rack (or site) is a domain of its own at that
 * level, named after the level below, so that a pool asking for racks
 * still never puts two copies on one host.
 */
#include <linux/shard.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../placement/placement.h"
#include "place.h"

bool mapd_pool_takes(const struct mapd_pool *p, const struct mapd_daemon *d)
{
	return d->in && d->capacity &&
	       (!p->class[0] || !strcmp(p->class, d->class));
}

static void domain_name(const struct mapd_daemon *d,
			enum mapd_domain_level l, char *buf, size_t len)
{
	if (l == MAPD_FD_DAEMON)
		snprintf(buf, len, "daemon/%u", d->id);
	else if (l == MAPD_FD_SITE && d->site[0])
		snprintf(buf, len, "site/%s", d->site);
	else if (l >= MAPD_FD_RACK && d->rack[0])
		snprintf(buf, len, "rack/%s", d->rack);
	else
		snprintf(buf, len, "host/%s", d->host);
}

/* Domain numbers in order of first appearance over daemons by id. */
static int domain_ids(const struct mapd_state *st, const struct mapd_pool *p,
		      struct pl_device *devs, size_t *n)
{
	char (*names)[MAPD_HOST_MAX + 8];
	size_t i, k, nd = 0;

	names = calloc(st->ndaemons + 1, sizeof(*names));
	if (!names)
		return -ENOMEM;
	*n = 0;
	for (i = 0; i < st->ndaemons; i++) {
		const struct mapd_daemon *d = &st->daemons[i];
		char name[sizeof(*names)];

		if (!mapd_pool_takes(p, d))
			continue;
		domain_name(d, p->domain, name, sizeof(name));
		for (k = 0; k < nd; k++)
			if (!strcmp(names[k], name))
				break;
		if (k == nd)
			strcpy(names[nd++], name);
		devs[*n].id = d->id;
		devs[*n].domain = k;
		devs[*n].weight = d->capacity;
		(*n)++;
	}
	free(names);
	return 0;
}

/*
 * The members of acting row old that keep serving, in order, into row;
 * returns how many. A member that holds no data any more (out) leaves.
 * In a pool of several copies a member that is down leaves too while
 * another member is up: the others take writes it misses, so it holds
 * an old copy from then on and may serve again only after recovery has
 * brought it up to date. When no member is up they all stay, so that
 * the last one to go down (the one with every write) serves again.
 */
static uint32_t keep_members(struct mapd_state *st, const struct mapd_pool *p,
			     const uint32_t *old, uint32_t *row)
{
	bool any_up = false;
	uint32_t j, k = 0;

	for (j = 0; j < p->size; j++) {
		struct mapd_daemon *d = old[j] == SHARD_DAEMON_NONE ?
			NULL : state_daemon(st, old[j]);

		any_up |= d && d->in && d->up;
	}
	for (j = 0; j < p->size; j++) {
		struct mapd_daemon *d = old[j] == SHARD_DAEMON_NONE ?
			NULL : state_daemon(st, old[j]);

		if (d && d->in && (d->up || p->size == 1 || !any_up))
			row[k++] = old[j];
	}
	return k;
}

static bool row_has(const uint32_t *row, uint32_t n, uint32_t id)
{
	uint32_t j;

	for (j = 0; j < n; j++)
		if (row[j] == id)
			return true;
	return false;
}

/*
 * Whether the n members of row are the placement row want's, in any
 * order. Such a row takes want's order: nothing is copied for it, and
 * otherwise it would stay remapped with nothing to backfill (placement
 * may reorder a PG's members when a daemon joins another domain).
 */
static bool same_members(const uint32_t *row, uint32_t n,
			 const uint32_t *want, uint32_t size)
{
	uint32_t j, placed = 0;

	for (j = 0; j < size; j++)
		placed += want[j] != SHARD_DAEMON_NONE;
	if (n != placed)
		return false;
	for (j = 0; j < n; j++)
		if (!row_has(want, size, row[j]))
			return false;
	return true;
}

/*
 * Moves the acting sets toward the placement where no data is lost by
 * it; see struct mapd_pool. Returns whether anything changed.
 */
static int update_acting(struct mapd_state *st, struct mapd_pool *p)
{
	size_t nslots = (size_t)p->pg_count * p->size;
	uint32_t pg, k;
	bool changed = false;
	uint32_t *row;

	row = malloc(p->size * sizeof(*row));
	if (!row)
		return -ENOMEM;
	if (!p->acting) {
		p->acting = malloc(nslots * sizeof(*p->acting));
		if (!p->acting) {
			free(row);
			return -ENOMEM;
		}
		memcpy(p->acting, p->table, nslots * sizeof(*p->acting));
		free(row);
		return 1;
	}
	for (pg = 0; pg < p->pg_count; pg++) {
		uint32_t *old = &p->acting[(size_t)pg * p->size];
		const uint32_t *want = &p->table[(size_t)pg * p->size];

		k = p->nvols ? keep_members(st, p, old, row) : 0;
		if (!k || same_members(row, k, want, p->size))
			memcpy(row, want, p->size * sizeof(*row));
		else
			while (k < p->size)
				row[k++] = SHARD_DAEMON_NONE;
		if (memcmp(row, old, p->size * sizeof(*row))) {
			memcpy(old, row, p->size * sizeof(*row));
			changed = true;
		}
	}
	free(row);
	return changed;
}

static int place_pool(struct mapd_state *st, struct mapd_pool *p)
{
	size_t nslots = (size_t)p->pg_count * p->size, n, i;
	struct pl_result res = { 0 };
	struct pl_device *devs;
	struct pl_input in;
	int ret, changed;

	devs = calloc(st->ndaemons + 1, sizeof(*devs));
	if (!devs)
		return -ENOMEM;
	ret = domain_ids(st, p, devs, &n);
	if (ret)
		goto out;
	if (!n) {
		/* Nothing to place on: every slot empty. */
		res.table = malloc(nslots * sizeof(*res.table));
		if (!res.table) {
			ret = -ENOMEM;
			goto out;
		}
		for (i = 0; i < nslots; i++)
			res.table[i] = SHARD_DAEMON_NONE;
		res.empty_slots = nslots;
	} else {
		in = (struct pl_input){
			.devs = devs, .ndevs = n, .pg_count = p->pg_count,
			.width = p->size, .ordered = true, .prev = p->table,
		};
		ret = placement_compute(&in, &res);
		if (ret)
			goto out;
	}
	changed = !p->table ||
		  memcmp(p->table, res.table, nslots * sizeof(*p->table));
	free(p->table);
	p->table = res.table;
	res.table = NULL;
	p->usable = res.member_bytes * p->pg_count;
	p->max_dev = res.max_dev;
	p->empty_slots = res.empty_slots;
	p->moved = res.moved;
	free(p->capped);
	p->capped = calloc(res.nstats + 1, sizeof(*p->capped));
	p->ncapped = 0;
	for (i = 0; p->capped && i < res.nstats; i++)
		if (res.stats[i].capped)
			p->capped[p->ncapped++] = res.stats[i].id;
	placement_result_free(&res);
	ret = update_acting(st, p);
	if (ret >= 0)
		ret |= changed;
out:
	free(devs);
	return ret;
}

int mapd_place(struct mapd_state *st)
{
	int ret, changed = 0;
	size_t i;

	for (i = 0; i < st->npools; i++) {
		ret = place_pool(st, &st->pools[i]);
		if (ret < 0)
			return ret;
		changed |= ret;
	}
	return changed;
}

static bool daemon_up(const struct mapd_state *st, uint32_t id)
{
	struct mapd_daemon *d;

	if (id == SHARD_DAEMON_NONE)
		return false;
	d = state_daemon((struct mapd_state *)st, id);
	return d && d->up;
}

uint32_t *mapd_acting_table(const struct mapd_state *st,
			    const struct mapd_pool *p)
{
	size_t nslots = (size_t)p->pg_count * p->size;
	uint32_t *t = malloc(nslots * sizeof(*t) + 1);
	uint32_t pg, j, k;

	if (!t)
		return NULL;
	for (pg = 0; pg < p->pg_count; pg++) {
		uint32_t *row = &t[(size_t)pg * p->size];

		k = 0;
		for (j = 0; p->acting && j < p->size; j++) {
			uint32_t id = p->acting[(size_t)pg * p->size + j];

			if (daemon_up(st, id))
				row[k++] = id;
		}
		while (k < p->size)
			row[k++] = SHARD_DAEMON_NONE;
	}
	return t;
}

bool mapd_daemon_relied_on(const struct mapd_state *st,
			   const struct mapd_daemon *d)
{
	size_t i, k, n;

	if (d->up)
		return true;
	for (i = 0; i < st->npools; i++) {
		const struct mapd_pool *p = &st->pools[i];

		/* A pool with no volumes holds no data to wait for. */
		n = p->acting && p->nvols ? (size_t)p->pg_count * p->size : 0;
		for (k = 0; k < n; k++)
			if (p->acting[k] == d->id)
				return true;
	}
	return false;
}

/*
 * In a cluster the leader names the targets in the map document, so
 * that every mapd serves the same ones for an epoch and a change of
 * them is a new epoch; the mapds take them from there (published).
 * One mapd per process: its mode, not a state's.
 */
struct bf_pair {
	uint32_t pool, pg, daemon;
};

static struct bf_pair *published;
static size_t npublished;
static bool publishing;

static int pair_cmp(const void *a, const void *b)
{
	const struct bf_pair *x = a, *y = b;

	if (x->pool != y->pool)
		return x->pool < y->pool ? -1 : 1;
	if (x->pg != y->pg)
		return x->pg < y->pg ? -1 : 1;
	return 0;
}

int mapd_backfill_publish(const json_t *map)
{
	struct bf_pair *pairs = NULL;
	json_t *pool, *pair;
	size_t i, k, n = 0, cap = 0;

	json_array_foreach(json_object_get(map, "pools"), i, pool) {
		json_int_t id = json_integer_value(json_object_get(pool, "id"));

		json_array_foreach(json_object_get(pool, "backfill"), k, pair) {
			json_int_t pg = json_integer_value(
				json_array_get(pair, 0));
			json_int_t d = json_integer_value(
				json_array_get(pair, 1));

			/* Nonsense is left out; a PG's row is checked where
			 * it is used. */
			if (!json_is_integer(json_array_get(pair, 0)) ||
			    !json_is_integer(json_array_get(pair, 1)) ||
			    id < 0 || id > UINT32_MAX || pg < 0 ||
			    pg > UINT32_MAX || d <= 0 ||
			    d >= SHARD_MAX_DAEMON_ID)
				continue;
			if (n == cap) {
				struct bf_pair *more;

				cap = cap ? 2 * cap : 16;
				more = realloc(pairs, cap * sizeof(*pairs));
				if (!more) {
					free(pairs);
					return -ENOMEM;
				}
				pairs = more;
			}
			pairs[n++] = (struct bf_pair){ id, pg, d };
		}
	}
	/* Stable enough: equal keys keep no order, rows are re-sorted
	 * by placement where they are used. */
	if (n)
		qsort(pairs, n, sizeof(*pairs), pair_cmp);
	free(published);
	published = pairs;
	npublished = n;
	publishing = map != NULL;
	return 0;
}

/* PG pg of pool p as the published map names it, in placement order. */
static uint32_t published_targets(const struct mapd_pool *p, uint32_t pg,
				  uint32_t *out)
{
	struct bf_pair key = { p->id, pg, 0 }, *at;
	const uint32_t *acting, *want;
	size_t lo = 0, hi = npublished;
	uint32_t j, n = 0;

	if (!p->acting || !p->table || pg >= p->pg_count)
		return 0;
	while (lo < hi) {	/* the first pair not below key */
		size_t mid = (lo + hi) / 2;

		if (pair_cmp(&published[mid], &key) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	acting = &p->acting[(size_t)pg * p->size];
	want = &p->table[(size_t)pg * p->size];
	for (j = 0; j < p->size; j++) {
		for (at = &published[lo];
		     at < published + npublished && !pair_cmp(at, &key); at++)
			if (at->daemon == want[j])
				break;
		if (want[j] == SHARD_DAEMON_NONE ||
		    at == published + npublished || pair_cmp(at, &key) ||
		    row_has(acting, p->size, want[j]) ||
		    row_has(out, n, want[j]))
			continue;
		out[n++] = want[j];
	}
	return n;
}

uint32_t mapd_backfill_targets(const struct mapd_state *st,
			       const struct mapd_pool *p, uint32_t pg,
			       uint32_t *out)
{
	if (publishing)
		return published_targets(p, pg, out);
	return mapd_backfill_derive(st, p, pg, out);
}

uint32_t mapd_backfill_derive(const struct mapd_state *st,
			      const struct mapd_pool *p, uint32_t pg,
			      uint32_t *out)
{
	size_t at = (size_t)pg * p->size;
	const uint32_t *acting, *want;
	bool any_up = false;
	uint32_t j, n = 0;

	/* A pool without volumes holds no data: acting follows placement. */
	if (!p->nvols || !p->acting || !p->table || pg >= p->pg_count)
		return 0;
	acting = &p->acting[at];
	want = &p->table[at];
	for (j = 0; j < p->size; j++)
		any_up |= daemon_up(st, acting[j]);
	if (!any_up)
		return 0;
	for (j = 0; j < p->size; j++) {
		const struct mapd_daemon *d;

		if (want[j] == SHARD_DAEMON_NONE ||
		    row_has(acting, p->size, want[j]) ||
		    row_has(out, n, want[j]))
			continue;
		d = state_daemon((struct mapd_state *)st, want[j]);
		if (d && d->up && d->in)
			out[n++] = want[j];
	}
	return n;
}

/*
 * Active states by kind (clean, degraded, undersized) and by how the PG
 * stands to its placement: as placed, remapped, remapped with members
 * to backfill. A PG as placed has every placement member acting: none
 * to backfill.
 */
static const char *const active_states[3][3] = {
	{ "active+clean", "active+remapped", "active+remapped+backfilling" },
	{ "active+degraded", "active+degraded+remapped",
	  "active+degraded+remapped+backfilling" },
	{ "active+undersized", "active+undersized+remapped",
	  "active+undersized+remapped+backfilling" },
};

const char *mapd_pg_state(const struct mapd_state *st,
			  const struct mapd_pool *p, uint32_t pg)
{
	uint32_t targets[SHARD_MAX_WIDTH];
	size_t at = (size_t)pg * p->size;
	uint32_t j, acting = 0, up = 0;
	int kind = 0, placed;
	bool remapped;

	if (!p->acting || !p->table)
		return "unplaced";
	for (j = 0; j < p->size; j++) {
		uint32_t id = p->acting[at + j];

		acting += id != SHARD_DAEMON_NONE;
		up += daemon_up(st, id);
	}
	remapped = memcmp(&p->acting[at], &p->table[at],
			  p->size * sizeof(*p->table));
	if (!up)
		return "down";
	if (up < p->min_size)
		return remapped ? "inactive+remapped" : "inactive";
	if (acting < p->size)
		kind = 2;
	else if (up < acting)
		kind = 1;
	placed = !remapped ? 0 :
		 p->size <= SHARD_MAX_WIDTH &&
		 mapd_backfill_targets(st, p, pg, targets) ? 2 : 1;
	return active_states[kind][placed];
}
