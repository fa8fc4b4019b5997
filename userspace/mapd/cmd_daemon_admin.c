// SPDX-License-Identifier: GPL-2.0-only
/*
 * Daemons by hand: "daemon-ls" (with their recovery figures when they
 * report any), "daemon-out" (its PGs are placed elsewhere), "daemon-in"
 * (it takes its share again), "daemon-rm" (a daemon that is down leaves
 * the cluster; its id is never reused).
 */
#include <linux/shard.h>
#include <errno.h>
#include <stdlib.h>
#include <stdio.h>

#include "cmds.h"
#include "log.h"
#include "place.h"
#include "recovery.h"

json_t *daemon_json(const struct mapd_state *st, const struct mapd_daemon *d)
{
	json_int_t pgs = 0, primaries = 0;
	size_t i, k;
	json_t *o;

	for (i = 0; i < st->npools; i++) {
		const struct mapd_pool *p = &st->pools[i];
		uint32_t *acting = mapd_acting_table(st, p);

		for (k = 0; p->table && k < (size_t)p->pg_count * p->size; k++)
			pgs += p->table[k] == d->id;
		for (k = 0; acting && k < p->pg_count; k++)
			primaries += acting[k * p->size] == d->id;
		free(acting);
	}
	o = json_pack("{s:I, s:s, s:s, s:I, s:I, s:I, s:s, s:b, s:b, s:I, s:I}",
		      "id", (json_int_t)d->id, "host", d->host,
		      "addr", d->addr, "port", (json_int_t)d->port,
		      "capacity", (json_int_t)d->capacity,
		      "used", (json_int_t)d->used, "class", d->class,
		      "up", d->up, "in", d->in, "pgs", pgs,
		      "primaries", primaries);
	if (o && d->rack[0])
		json_object_set_new(o, "rack", json_string(d->rack));
	if (o && d->site[0])
		json_object_set_new(o, "site", json_string(d->site));
	return o;
}

/*
 * A daemon's recovery figures, only when it reports any: a listing of
 * daemons that never backfilled stays as it was.
 */
static void add_recovery(struct mapd *m, uint32_t id, json_t *o)
{
	struct recovery_sum rs = { 0 };

	mapd_recovery(m, id, &rs);
	if (rs.objects || rs.bytes || rs.copied || rs.rate)
		json_object_set_new(o, "recovery",
				    recovery_sum_json(&rs, false));
}

int cmd_daemon_ls(struct mapd *m, json_t *req, json_t *reply, char *err)
{
	json_t *a = json_array(), *o;
	size_t i;

	(void)req;
	(void)err;
	for (i = 0; i < m->st.ndaemons; i++) {
		o = daemon_json(&m->st, &m->st.daemons[i]);
		if (o)
			add_recovery(m, m->st.daemons[i].id, o);
		json_array_append_new(a, o);
	}
	json_object_set_new(reply, "daemons", a);
	return 0;
}

static int req_daemon(struct mapd *m, json_t *req, struct mapd_daemon **d,
		      char *err)
{
	uint64_t id;
	int ret = req_u64(req, "id", true, &id, err);

	if (ret)
		return ret;
	*d = id < SHARD_MAX_DAEMON_ID ? state_daemon(&m->st, id) : NULL;
	if (!*d) {
		snprintf(err, ERRLEN, "no daemon %llu", (unsigned long long)id);
		return -ENOENT;
	}
	return 0;
}

static int set_in(struct mapd *m, json_t *req, char *err, bool in)
{
	struct mapd_daemon *d;
	uint32_t id;
	json_t *snap;
	int ret;

	ret = req_daemon(m, req, &d, err);
	if (ret || d->in == in)
		return ret;
	id = d->id;
	snap = mapd_snapshot(m);
	d->in = in;
	ret = mapd_commit(m, snap, true, err, ERRLEN);
	if (!ret)
		log_info("daemon %u marked %s by request", id, in ? "in" : "out");
	return ret;
}

int cmd_daemon_out(struct mapd *m, json_t *req, json_t *reply, char *err)
{
	(void)reply;
	return set_in(m, req, err, false);
}

int cmd_daemon_in(struct mapd *m, json_t *req, json_t *reply, char *err)
{
	(void)reply;
	return set_in(m, req, err, true);
}

int cmd_daemon_rm(struct mapd *m, json_t *req, json_t *reply, char *err)
{
	struct mapd_daemon *d;
	uint32_t id;
	json_t *snap;
	int ret;

	(void)reply;
	ret = req_daemon(m, req, &d, err);
	if (ret)
		return ret;
	if (d->up) {
		snprintf(err, ERRLEN,
			 "daemon %u is up; stop it first (or mark it out)",
			 d->id);
		return -EBUSY;
	}
	id = d->id;
	snap = mapd_snapshot(m);
	state_del_daemon(&m->st, d);
	ret = mapd_commit(m, snap, true, err, ERRLEN);
	if (!ret)
		log_info("daemon %u removed", id);
	return ret;
}
