// SPDX-License-Identifier: GPL-2.0-only
/*
 * "status": the map as shard-mapd has it, what the kernel reports, the
 * daemons' recovery progress, and the hosts whose clients are fenced.
 */
#include <errno.h>
#include <stdlib.h>

#include "cluster.h"
#include "cmds.h"
#include "recovery.h"
#include "scrub.h"

static json_t *daemons_json(struct mapd *m, const struct kstatus *ks,
			    bool have_ks)
{
	const struct mapd_state *st = &m->st;
	json_t *a = json_array();
	size_t i, k;

	for (i = 0; i < st->ndaemons; i++) {
		const struct mapd_daemon *d = &st->daemons[i];
		json_t *o = daemon_json(st, d);

		if (o && have_ks) {
			json_int_t conn = 0;

			for (k = 0; k < ks->ndaemons; k++)
				if (ks->daemons[k].id == d->id)
					conn = ks->daemons[k].connected;
			json_object_set_new(o, "connected", json_integer(conn));
		}
		if (o) {
			struct recovery_sum rs = { 0 };

			mapd_recovery(m, d->id, &rs);
			json_object_set_new(o, "recovery",
					    recovery_sum_json(&rs, false));
		}
		/* Cluster mode: the mapds that cannot reach it. */
		if (o && m->cl)
			json_object_set_new(o, "reported_unreachable_by",
					    cluster_reporters_json(m, d->id));
		json_array_append_new(a, o);
	}
	return a;
}

/* Hosts and what runs on them, for the overview. */
static json_t *hosts_json(const struct mapd_state *st)
{
	json_t *hosts = json_object();
	size_t i;

	for (i = 0; i < st->ndaemons; i++) {
		const struct mapd_daemon *d = &st->daemons[i];
		json_t *h = json_object_get(hosts, d->host);

		if (!h) {
			h = json_pack("{s:s, s:I, s:I, s:I, s:[]}",
				      "host", d->host, "daemons", (json_int_t)0,
				      "up", (json_int_t)0,
				      "capacity", (json_int_t)0, "ids");
			json_object_set_new(hosts, d->host, h);
		}
		json_object_set_new(h, "daemons", json_integer(
			json_integer_value(json_object_get(h, "daemons")) + 1));
		json_object_set_new(h, "up", json_integer(
			json_integer_value(json_object_get(h, "up")) + d->up));
		json_object_set_new(h, "capacity", json_integer(
			json_integer_value(json_object_get(h, "capacity")) +
			(json_int_t)d->capacity));
		json_array_append_new(json_object_get(h, "ids"),
				      json_integer(d->id));
	}
	return hosts;
}

/* As in pool-ls, with the PGs a scrub found inconsistent. */
static json_t *pools_json(struct mapd *m)
{
	json_t *a = json_array();
	size_t i;

	for (i = 0; i < m->st.npools; i++) {
		json_t *o = pool_status_json(&m->st, &m->st.pools[i]);

		json_object_set_new(o, "inconsistent_pgs", json_integer(
			scrub_inconsistent(m, &m->st.pools[i])));
		json_array_append_new(a, o);
	}
	return a;
}

static json_t *devices_json(const struct kdev *devs, size_t n)
{
	json_t *a = json_array();
	size_t i;

	for (i = 0; i < n; i++) {
		const struct kdev *d = &devs[i];

		json_array_append_new(a, json_pack(
			"{s:o, s:I, s:s, s:s, s:I, s:I, s:I, s:b, s:I, s:I, s:I, s:I}",
			"device", dev_path_json(d->index),
			"index", (json_int_t)d->index,
			"pool", d->pool_name, "volume", d->volume_name,
			"pool_id", (json_int_t)d->pool_id,
			"volume_id", (json_int_t)d->volume_id,
			"size", (json_int_t)d->size,
			"read_only", d->read_only,
			"timeout", (json_int_t)d->timeout,
			"open_count", (json_int_t)d->open_count,
			"inflight", (json_int_t)d->inflight,
			"held", (json_int_t)d->held));
	}
	return a;
}

int cmd_status(struct mapd *m, json_t *req, json_t *reply, char *err)
{
	struct recovery_sum rec = { 0 };
	struct kstatus ks = { 0 };
	struct kdev *devs = NULL;
	struct kerr kerr = { "" };
	json_t *kernel;
	size_t n = 0;
	int ret = 0;

	(void)req;
	(void)err;
	if (!m->kernel.ops) {
		kernel = json_pack("{s:s}", "state", "disabled");
	} else {
		ret = m->kernel.ops->get_status(m->kernel.priv, &ks, &kerr);
		if (!ret)
			ret = m->kernel.ops->list_devs(m->kernel.priv, &devs,
						       &n, &kerr);
		if (!ret)
			kernel = json_pack("{s:s, s:I}", "state", "ok",
					   "epoch", (json_int_t)ks.epoch);
		else if (ret == -KERNEL_ENOTLOADED)
			kernel = json_pack("{s:s}", "state", "not loaded");
		else
			kernel = json_pack("{s:s, s:s}", "state", "error",
					   "error", kerr.msg);
	}
	json_object_set_new(reply, "epoch", json_integer(m->st.epoch));
	if (m->cl)
		cluster_status(m, reply);
	else
		json_object_set_new(reply, "mode", json_string("embedded"));
	/* Automatic fences (cluster mode; an embedded mapd lists what a
	 * cluster's state left it, if any). */
	if (m->cl || m->st.nblocklist) {
		json_t *f = client_fences_json(m);

		if (f && (m->cl || json_array_size(f)))
			json_object_set_new(reply, "fences", f);
		else
			json_decref(f);
	}
	if (m->cl || m->st.auto_fence_off)
		json_object_set_new(reply, "auto_fence",
				    json_boolean(!m->st.auto_fence_off));
	if (m->st.recovery_share)
		json_object_set_new(reply, "recovery_share",
				    json_integer(m->st.recovery_share));
	mapd_recovery(m, 0, &rec);
	json_object_set_new(reply, "recovery", recovery_sum_json(&rec, true));
	json_object_set_new(reply, "hosts", hosts_json(&m->st));
	json_object_set_new(reply, "kernel", kernel);
	json_object_set_new(reply, "daemons",
			    daemons_json(m, &ks, !ret && m->kernel.ops));
	json_object_set_new(reply, "pools", pools_json(m));
	json_object_set_new(reply, "devices", devices_json(devs, n));
	free(ks.daemons);
	free(devs);
	return 0;
}
