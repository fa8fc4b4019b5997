// SPDX-License-Identifier: GPL-2.0-only
/*
 * Pools: "pool-create", "pool-ls", "pool-rm" (refused while it has
 * volumes), and "pg-ls" (with each PG's scrub figures, see scrub.h). A
 * pool's PG count is fixed when it is created.
 */
#include <linux/shard.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../placement/placement.h"
#include "cmds.h"
#include "log.h"
#include "place.h"
#include "scrub.h"

#define MAX_POOL_SIZE	5	/* replicated copies */

json_t *pool_status_json(const struct mapd_state *st,
			 const struct mapd_pool *p)
{
	json_t *states = json_object(), *capped = json_array(), *o;
	uint32_t pg;
	size_t i;

	for (pg = 0; pg < p->pg_count; pg++) {
		const char *s = mapd_pg_state(st, p, pg);
		json_t *n = json_object_get(states, s);

		json_object_set_new(states, s, json_integer(
			(n ? json_integer_value(n) : 0) + 1));
	}
	for (i = 0; i < p->ncapped; i++)
		json_array_append_new(capped, json_integer(p->capped[i]));
	o = json_pack("{s:I, s:s, s:I, s:I, s:I, s:s, s:s, s:I, s:I, s:f, s:I, s:o, s:o}",
		      "id", (json_int_t)p->id, "name", p->name,
		      "size", (json_int_t)p->size,
		      "min_size", (json_int_t)p->min_size,
		      "pg_count", (json_int_t)p->pg_count,
		      "class", p->class[0] ? p->class : "any",
		      "failure_domain", domain_level_name(p->domain),
		      "volumes", (json_int_t)p->nvols,
		      "usable", (json_int_t)p->usable,
		      "max_deviation", p->max_dev,
		      "empty_slots", (json_int_t)p->empty_slots,
		      "pg_states", states, "capped", capped);
	return o;
}

static size_t daemons_for(const struct mapd_state *st, const char *class)
{
	size_t i, n = 0;

	for (i = 0; i < st->ndaemons; i++)
		n += st->daemons[i].in &&
		     (!class[0] || !strcmp(class, st->daemons[i].class));
	return n;
}

int cmd_pool_create(struct mapd *m, json_t *req, json_t *reply, char *err)
{
	const char *name, *class = NULL, *fd = NULL;
	uint64_t size, min_size = 0, pgs = 0;
	enum mapd_domain_level level = MAPD_FD_HOST;
	struct mapd_pool *p;
	json_t *snap;
	int ret;

	if ((ret = req_string(req, "name", true, &name, err)) ||
	    (ret = req_u64(req, "size", true, &size, err)) ||
	    (ret = req_u64(req, "min_size", false, &min_size, err)) ||
	    (ret = req_string(req, "class", false, &class, err)) ||
	    (ret = req_string(req, "failure_domain", false, &fd, err)) ||
	    (ret = req_u64(req, "pgs", false, &pgs, err)))
		return ret;
	if (!valid_name(name)) {
		snprintf(err, ERRLEN,
			 "invalid pool name \"%.64s\": use 1 to %d of A-Z a-z 0-9 . _ -",
			 name, MAPD_NAME_MAX);
		return -EINVAL;
	}
	if (size < 1 || size > MAX_POOL_SIZE) {
		snprintf(err, ERRLEN, "size must be 1..%d copies",
			 MAX_POOL_SIZE);
		return -EINVAL;
	}
	if (!min_size)
		min_size = size > 1 ? size / 2 + 1 : 1;
	if (min_size > size) {
		snprintf(err, ERRLEN, "min_size must be 1..size (%llu)",
			 (unsigned long long)size);
		return -EINVAL;
	}
	if (class && !valid_class(class)) {
		snprintf(err, ERRLEN, "class must be \"ssd\" or \"hdd\"");
		return -EINVAL;
	}
	if (fd && domain_level_parse(fd, &level)) {
		snprintf(err, ERRLEN,
			 "failure_domain must be \"host\", \"rack\", \"site\" or \"daemon\"");
		return -EINVAL;
	}
	if (pgs > SHARD_MAX_PGS) {
		snprintf(err, ERRLEN, "pgs must be 1..%u", SHARD_MAX_PGS);
		return -EINVAL;
	}
	if (state_pool(&m->st, name)) {
		snprintf(err, ERRLEN, "pool %s already exists", name);
		return -EEXIST;
	}
	if (m->st.npools >= SHARD_MAX_POOLS) {
		snprintf(err, ERRLEN, "too many pools (at most %u)",
			 SHARD_MAX_POOLS);
		return -ENOSPC;
	}
	if (!pgs)
		pgs = placement_default_pgs(daemons_for(&m->st,
							class ? class : ""),
					    size);

	snap = mapd_snapshot(m);
	p = realloc(m->st.pools, (m->st.npools + 1) * sizeof(*p));
	if (!p) {
		json_decref(snap);
		return -ENOMEM;
	}
	m->st.pools = p;
	p = &m->st.pools[m->st.npools++];
	memset(p, 0, sizeof(*p));
	p->id = m->st.next_pool_id++;
	strcpy(p->name, name);
	p->size = size;
	p->min_size = min_size;
	p->pg_count = pgs;
	p->domain = level;
	if (class)
		strcpy(p->class, class);
	ret = mapd_commit(m, snap, true, err, ERRLEN);
	if (ret)
		return ret;
	p = state_pool(&m->st, name);
	log_info("created pool %s: id %u, size %u, min_size %u, %u PGs, %s, failure domain %s",
		 name, p->id, p->size, p->min_size, p->pg_count,
		 p->class[0] ? p->class : "any class",
		 domain_level_name(p->domain));
	json_object_set_new(reply, "pool", pool_status_json(&m->st, p));
	return 0;
}

int cmd_pool_ls(struct mapd *m, json_t *req, json_t *reply, char *err)
{
	json_t *a = json_array();
	size_t i;

	(void)req;
	(void)err;
	for (i = 0; i < m->st.npools; i++) {
		json_t *o = pool_status_json(&m->st, &m->st.pools[i]);

		json_object_set_new(o, "inconsistent_pgs", json_integer(
			scrub_inconsistent(m, &m->st.pools[i])));
		json_array_append_new(a, o);
	}
	json_object_set_new(reply, "pools", a);
	return 0;
}

int cmd_pool_rm(struct mapd *m, json_t *req, json_t *reply, char *err)
{
	struct mapd_pool *p;
	const char *name;
	json_t *snap;
	int ret;

	(void)reply;
	ret = req_string(req, "name", true, &name, err);
	if (ret)
		return ret;
	p = state_pool(&m->st, name);
	if (!p) {
		snprintf(err, ERRLEN, "no pool named \"%.64s\"", name);
		return -ENOENT;
	}
	if (p->nvols) {
		snprintf(err, ERRLEN, "pool %s has %zu volume%s; remove %s first",
			 p->name, p->nvols, p->nvols == 1 ? "" : "s",
			 p->nvols == 1 ? "it" : "them");
		return -EBUSY;
	}
	snap = mapd_snapshot(m);
	state_del_pool(&m->st, p);
	ret = mapd_commit(m, snap, true, err, ERRLEN);
	if (!ret)
		log_info("removed pool %s", name);
	return ret;
}

static json_t *members_json(const uint32_t *row, uint32_t n)
{
	json_t *a = json_array();
	uint32_t j;

	for (j = 0; j < n; j++)
		json_array_append_new(a, row[j] == SHARD_DAEMON_NONE ?
				      json_null() : json_integer(row[j]));
	return a;
}

int cmd_pg_ls(struct mapd *m, json_t *req, json_t *reply, char *err)
{
	json_t *a = json_array();
	struct mapd_pool *only;
	size_t i;
	uint32_t pg;
	int ret;

	ret = req_pool(m, req, false, &only, err);
	if (ret) {
		json_decref(a);
		return ret;
	}
	scrub_recheck(m);	/* "+scrubbing" only where it still runs */
	for (i = 0; i < m->st.npools; i++) {
		const struct mapd_pool *p = &m->st.pools[i];
		uint32_t *acting;

		if (only && only != p)
			continue;
		acting = mapd_acting_table(&m->st, p);
		if (!acting) {
			json_decref(a);
			return -ENOMEM;
		}
		for (pg = 0; pg < p->pg_count; pg++) {
			const uint32_t *row = &acting[(size_t)pg * p->size];
			char id[32];
			json_t *o;

			snprintf(id, sizeof(id), "%u.%x", p->id, pg);
			o = json_pack(
				"{s:s, s:s, s:I, s:o, s:o, s:o, s:s}",
				"pgid", id, "pool", p->name, "pg", (json_int_t)pg,
				"up", p->table ? members_json(
					&p->table[(size_t)pg * p->size], p->size) :
					json_array(),
				"acting", members_json(row, p->size),
				"primary", row[0] == SHARD_DAEMON_NONE ?
					json_null() : json_integer(row[0]),
				"state", mapd_pg_state(&m->st, p, pg));
			scrub_pg_json(m, p, pg, o);
			json_array_append_new(a, o);
		}
		free(acting);
	}
	json_object_set_new(reply, "pgs", a);
	return 0;
}
