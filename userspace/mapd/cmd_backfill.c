// SPDX-License-Identifier: GPL-2.0-only
/*
 * "pg-backfilled": a PG's primary has copied the PG to a backfill target
 * (see mapd_backfill_targets) while sending it every new write, so the
 * target holds the PG's data and joins its acting set.
 *
 * The primary names the acting row its map had; mapd takes the report
 * only if that is still the PG's acting row and the sender its primary.
 * Otherwise the map moved under the copy (a member went down, the
 * primary changed, the target left) and the primary's word is about a
 * PG that no longer exists in that shape.
 */
#include <linux/shard.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cluster.h"
#include "cmds.h"
#include "log.h"
#include "place.h"

/* "[1,2,3]" into buf, for error messages. */
static void format_ids(const uint32_t *ids, uint32_t n, char *buf,
		       size_t len)
{
	size_t at = 0;
	uint32_t j;

	at += snprintf(buf, len, "[");
	for (j = 0; j < n && at < len; j++)
		at += snprintf(buf + at, len - at, "%s%u", j ? "," : "",
			       ids[j]);
	if (at < len)
		snprintf(buf + at, len - at, "]");
}

/* "acting": a non-empty array of at most p->size daemon ids. */
static int req_acting(json_t *req, const struct mapd_pool *p, uint32_t *ids,
		      uint32_t *n, char *err)
{
	json_t *a = json_object_get(req, "acting"), *v;
	size_t i;

	if (!a || json_is_null(a)) {
		snprintf(err, ERRLEN, "missing field \"acting\"");
		return -EINVAL;
	}
	if (!json_is_array(a) || !json_array_size(a)) {
		snprintf(err, ERRLEN,
			 "field \"acting\" must be a non-empty array of daemon ids");
		return -EINVAL;
	}
	*n = 0;
	json_array_foreach(a, i, v) {
		if (!json_is_integer(v) || json_integer_value(v) < 0 ||
		    json_integer_value(v) >= SHARD_MAX_DAEMON_ID) {
			snprintf(err, ERRLEN,
				 "field \"acting\" must be a non-empty array of daemon ids");
			return -EINVAL;
		}
		/* Longer than the pool's rows: cannot be the PG's row. */
		if (*n < p->size)
			ids[*n] = json_integer_value(v);
		(*n)++;
	}
	return 0;
}

/*
 * PG pg's acting row with daemon t added: its members, then t; past
 * p->size members, those not in the placement row leave from the end,
 * the ones down or out first. A row that ends up holding exactly the
 * placement row's members takes its order, so that the PG is clean and
 * has the primary placement chose for it.
 */
static void add_member(struct mapd_state *st, struct mapd_pool *p,
		       uint32_t pg, uint32_t t)
{
	uint32_t *acting = &p->acting[(size_t)pg * p->size];
	const uint32_t *want = &p->table[(size_t)pg * p->size];
	uint32_t row[SHARD_MAX_WIDTH + 1], n = 0, j, k, placed = 0;
	int pass;

	for (j = 0; j < p->size; j++)
		if (acting[j] != SHARD_DAEMON_NONE)
			row[n++] = acting[j];
	row[n++] = t;
	for (pass = 0; pass < 2; pass++) {
		for (j = n; j-- > 0 && n > p->size; ) {
			struct mapd_daemon *d = state_daemon(st, row[j]);
			bool gone = !d || !d->up || !d->in;

			for (k = 0; k < p->size && want[k] != row[j]; k++)
				;
			if (k < p->size || (!pass && !gone))
				continue;
			memmove(&row[j], &row[j + 1], (n - j - 1) * sizeof(*row));
			n--;
		}
	}
	for (j = 0; j < p->size; j++)
		placed += want[j] != SHARD_DAEMON_NONE;
	for (j = 0; j < n; j++) {
		for (k = 0; k < p->size && want[k] != row[j]; k++)
			;
		if (k == p->size)
			break;
	}
	if (j == n && n == placed) {
		memcpy(acting, want, p->size * sizeof(*acting));
		return;
	}
	for (j = 0; j < p->size; j++)
		acting[j] = j < n ? row[j] : SHARD_DAEMON_NONE;
}

/*
 * Checks one report: PG pg of pool p, acting row as in e, backfilled by
 * from into t. 0 when it may be taken, else -errno with err set.
 */
static int check_report(struct mapd *m, struct mapd_pool *p, json_t *e,
			uint64_t pg, uint64_t t, uint64_t from, char *err)
{
	uint32_t ids[SHARD_MAX_WIDTH], targets[SHARD_MAX_WIDTH];
	uint32_t n, nt, k, j;
	uint32_t *table;
	char a[128], b[128];
	int ret;

	if (pg >= p->pg_count) {
		snprintf(err, ERRLEN, "pool %u has %u PGs: no PG %llu", p->id,
			 p->pg_count, (unsigned long long)pg);
		return -EINVAL;
	}
	ret = req_acting(e, p, ids, &n, err);
	if (ret)
		return ret;
	table = mapd_acting_table(&m->st, p);
	if (!table) {
		snprintf(err, ERRLEN, "out of memory");
		return -ENOMEM;
	}
	for (k = 0; k < p->size; k++)
		if (table[pg * p->size + k] == SHARD_DAEMON_NONE)
			break;
	if (k != n || memcmp(&table[pg * p->size], ids, n * sizeof(*ids))) {
		format_ids(&table[pg * p->size], k, a, sizeof(a));
		format_ids(ids, n < p->size ? n : p->size, b, sizeof(b));
		free(table);
		snprintf(err, ERRLEN,
			 "PG %u.%llx has acting %s now, not %s%s: the map changed",
			 p->id, (unsigned long long)pg, a, b,
			 n > p->size ? " (too long)" : "");
		return -ESTALE;
	}
	free(table);
	if (from != ids[0]) {
		snprintf(err, ERRLEN,
			 "daemon %llu is not the primary of PG %u.%llx (daemon %u is)",
			 (unsigned long long)from, p->id,
			 (unsigned long long)pg, ids[0]);
		return -EPERM;
	}
	nt = mapd_backfill_targets(&m->st, p, pg, targets);
	for (j = 0; j < nt && targets[j] != t; j++)
		;
	if (j == nt) {
		format_ids(targets, nt, a, sizeof(a));
		snprintf(err, ERRLEN,
			 "daemon %llu is not a backfill target of PG %u.%llx (its targets: %s)",
			 (unsigned long long)t, p->id, (unsigned long long)pg,
			 a);
		return -EINVAL;
	}
	return 0;
}

/* The change made: the map with it is the next epoch. */
static int commit(struct mapd *m, json_t *snap, char *err)
{
	/* In a cluster, the map is the leader's (it is us here). */
	if (m->cl)
		return cluster_commit_map(m, snap, err, ERRLEN);
	return mapd_commit(m, snap, true, err, ERRLEN);
}

/*
 * Several PGs at once ("pgs": [{"pg": N, "acting": [...]}, ...]): every
 * one that checks out joins, in one new epoch; the others are listed in
 * "refused" with their error. A primary that finished many small PGs
 * would otherwise make an epoch for each.
 */
static int backfilled_many(struct mapd *m, struct mapd_pool *p, json_t *pgs,
			   uint64_t t, uint64_t from, json_t *reply, char *err)
{
	json_t *refused = json_array(), *e, *snap;
	uint64_t *take, pg;
	size_t i, n = 0;
	char why[ERRLEN];
	int ret = 0;

	take = calloc(json_array_size(pgs) + 1, sizeof(*take));
	if (!refused || !take) {
		json_decref(refused);
		free(take);
		snprintf(err, ERRLEN, "out of memory");
		return -ENOMEM;
	}
	json_array_foreach(pgs, i, e) {
		json_t *v = json_object_get(e, "pg");

		if (!json_is_object(e) || !json_is_integer(v) ||
		    json_integer_value(v) < 0) {
			snprintf(why, sizeof(why),
				 "pgs[%zu]: not {\"pg\": N, \"acting\": [...]}", i);
			json_array_append_new(refused,
				json_pack("{s:I, s:s}", "pg", (json_int_t)-1,
					  "error", why));
			continue;
		}
		pg = (uint64_t)json_integer_value(v);
		if (check_report(m, p, e, pg, t, from, why)) {
			json_array_append_new(refused,
				json_pack("{s:I, s:s}", "pg", (json_int_t)pg,
					  "error", why));
			continue;
		}
		/* Twice in one request: once is enough. */
		for (size_t k = 0; k < n; k++)
			if (take[k] == pg)
				goto next;
		take[n++] = pg;
next:
		;
	}
	if (n) {
		/* The commit may rebuild the state: p goes. */
		uint32_t id = p->id;

		snap = mapd_snapshot(m);
		for (i = 0; i < n; i++)
			add_member(&m->st, p, (uint32_t)take[i], (uint32_t)t);
		ret = commit(m, snap, err);
		if (!ret)
			log_info("daemon %llu joins %zu PGs of pool %u (backfilled from daemon %llu)",
				 (unsigned long long)t, n, id,
				 (unsigned long long)from);
	}
	free(take);
	if (ret) {
		json_decref(refused);
		return ret;
	}
	json_object_set_new(reply, "epoch", json_integer(m->st.epoch));
	json_object_set_new(reply, "refused", refused);
	return 0;
}

/* The fields every pg-backfilled needs, checked where it arrives. */
static int req_fields(json_t *req, uint64_t *pool_id, uint64_t *pg,
		      uint64_t *t, uint64_t *from, char *err)
{
	json_t *pgs = json_object_get(req, "pgs");
	int ret;

	if ((ret = req_u64(req, "pool", true, pool_id, err)) ||
	    (!pgs && (ret = req_u64(req, "pg", true, pg, err))) ||
	    (ret = req_u64(req, "daemon", true, t, err)) ||
	    (ret = req_u64(req, "from", true, from, err)))
		return ret;
	if (pgs && !json_is_array(pgs)) {
		snprintf(err, ERRLEN, "field \"pgs\" must be an array");
		return -EINVAL;
	}
	return 0;
}

int mapd_backfilled(struct mapd *m, json_t *req, json_t *reply, char *err)
{
	uint64_t pool_id, pg = 0, t, from;
	struct mapd_pool *p;
	json_t *snap, *pgs = json_object_get(req, "pgs");
	int ret;

	ret = req_fields(req, &pool_id, &pg, &t, &from, err);
	if (ret)
		return ret;
	p = pool_id <= UINT32_MAX ? state_pool_by_id(&m->st, pool_id) : NULL;
	if (!p) {
		snprintf(err, ERRLEN, "no pool with id %llu",
			 (unsigned long long)pool_id);
		return -ENOENT;
	}
	if (p->size > SHARD_MAX_WIDTH || !p->acting || !p->table) {
		snprintf(err, ERRLEN, "pool %u is not placed", p->id);
		return -EINVAL;
	}
	if (pgs)
		return backfilled_many(m, p, pgs, t, from, reply, err);
	ret = check_report(m, p, req, pg, t, from, err);
	if (ret)
		return ret;

	snap = mapd_snapshot(m);
	add_member(&m->st, p, pg, t);
	ret = commit(m, snap, err);
	if (ret)
		return ret;
	log_info("daemon %llu joins PG %llu.%llx (backfilled from daemon %llu)",
		 (unsigned long long)t, (unsigned long long)pool_id,
		 (unsigned long long)pg, (unsigned long long)from);
	json_object_set_new(reply, "epoch", json_integer(m->st.epoch));
	return 0;
}

int cmd_pg_backfilled(struct mapd *m, json_t *req, json_t *reply, char *err)
{
	uint64_t pool_id, pg = 0, t, from;
	int ret;

	ret = req_fields(req, &pool_id, &pg, &t, &from, err);
	if (ret)
		return ret;
	/* The leader owns the acting tables: it checks and applies. */
	if (cluster_follows(m))
		return cluster_backfill_ask(m, req, reply, err, ERRLEN);
	return mapd_backfilled(m, req, reply, err);
}
