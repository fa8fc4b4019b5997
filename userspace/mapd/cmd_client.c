// SPDX-License-Identifier: GPL-2.0-only
/*
 * Client blocklist (fencing): "client-blocklist" and "client-unblocklist"
 * change it, "client-ls" shows it, "client-auto-fence" turns the
 * automatic fences on or off. The daemons get it with the map and refuse
 * every connection and request from a listed address, so each change of
 * the addresses is a new epoch: a daemon fetches the map when the epoch
 * moves. In a cluster the leader adds the addresses of a host whose mapd
 * died and lifts them when that host comes back rebooted
 * (cluster_fence.c); what a person listed stays until a person lifts it.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cluster.h"
#include "cmds.h"
#include "log.h"

/* "addr": a numeric IPv4 or IPv6 address, normalized into out. */
static int req_client_addr(json_t *req, char out[MAPD_ADDR_MAX], char *err)
{
	const char *addr;
	int ret;

	ret = req_string(req, "addr", true, &addr, err);
	if (ret)
		return ret;
	if (addr_normalize(addr, out)) {
		snprintf(err, ERRLEN,
			 "bad address \"%.64s\": not a numeric IPv4 or IPv6 address",
			 addr);
		return -EINVAL;
	}
	return 0;
}

static void reply_addr(struct mapd *m, json_t *reply, const char *addr)
{
	json_object_set_new(reply, "addr", json_string(addr));
	json_object_set_new(reply, "epoch", json_integer(m->st.epoch));
}

/*
 * What client-blocklist and client-unblocklist share: the request's
 * address, changed by change (state_blocklist_add or state_blocklist_del)
 * in a new epoch, or not at all if the commit fails. Blocklisting an
 * address that is listed already changes nothing and succeeds, except
 * that an automatic fence's address becomes one listed by hand;
 * unblocklisting one that is not listed is an error, and unblocklisting
 * a fence's address is how a person lifts it.
 */
static int blocklist_change(struct mapd *m, json_t *req, json_t *reply,
			    char *err,
			    int (*change)(struct mapd_state *st,
					  const char *addr))
{
	const bool add = change == state_blocklist_add;
	char addr[MAPD_ADDR_MAX], host[MAPD_NAME_MAX + 1] = "";
	struct mapd_fence *why;
	json_t *snap;
	int ret;

	ret = req_client_addr(req, addr, err);
	if (ret)
		return ret;
	why = state_blocklist_why(&m->st, addr);
	if (why)
		snprintf(host, sizeof(host), "%s", why->host);
	if (!add && !why) {
		snprintf(err, ERRLEN, "%s is not blocklisted", addr);
		return -ENOENT;
	}
	if (add && why && !host[0]) {
		reply_addr(m, reply, addr);	/* nothing to change */
		return 0;
	}
	snap = mapd_snapshot(m);
	if (why && add) {
		/* A host's fence, now the person's: never lifted by itself.
		 * The addresses stay: the map does not change. */
		memset(why, 0, sizeof(*why));
		ret = mapd_commit(m, snap, false, err, ERRLEN);
		if (ret)
			return ret;
		log_info("client %s (fencing host %s) is now blocklisted by hand: it stays until unblocklisted",
			 addr, host);
		reply_addr(m, reply, addr);
		return 0;
	}
	ret = change(&m->st, addr);
	if (ret) {
		json_decref(snap);
		if (ret == -ENOSPC)
			snprintf(err, ERRLEN,
				 "the blocklist is full (%d addresses); unblocklist some first",
				 MAPD_BLOCKLIST_MAX);
		else if (ret == -ENOMEM)
			snprintf(err, ERRLEN, "out of memory");
		else
			snprintf(err, ERRLEN, "%s: %s", addr, strerror(-ret));
		return ret;
	}
	ret = mapd_commit(m, snap, true, err, ERRLEN);
	if (ret)
		return ret;
	if (add)
		log_info("client %s blocklisted: the daemons refuse it", addr);
	else if (host[0])
		log_info("client %s no longer blocklisted (it fenced host %s)",
			 addr, host);
	else
		log_info("client %s no longer blocklisted", addr);
	reply_addr(m, reply, addr);
	return 0;
}

int cmd_client_blocklist(struct mapd *m, json_t *req, json_t *reply,
			 char *err)
{
	return blocklist_change(m, req, reply, err, state_blocklist_add);
}

int cmd_client_unblocklist(struct mapd *m, json_t *req, json_t *reply,
			   char *err)
{
	return blocklist_change(m, req, reply, err, state_blocklist_del);
}

/*
 * Where a fenced host is now: "down" (no mapd of that name runs), "back"
 * (its mapd runs with the boot id it was fenced with, or one of them is
 * not known: the old kernel may still hold writes, so the fence stays
 * until someone lifts it), "rebooted" (another boot id: the leader lifts
 * the fence), "unknown" (not in a cluster).
 */
static const char *fenced_host_state(struct mapd *m,
				     const struct mapd_fence *f,
				     const char **now)
{
	*now = NULL;
	if (!cluster_name(m))
		return "unknown";
	*now = cluster_mapd_boot_id(m, f->host);
	if (!*now)
		return "down";
	if ((*now)[0] && f->boot_id[0] && strcmp(*now, f->boot_id))
		return "rebooted";
	return "back";
}

json_t *client_fences_json(struct mapd *m)
{
	const struct mapd_state *st = &m->st;
	json_t *a = json_array(), *o;
	size_t i, k;

	for (i = 0; a && i < st->nblocklist; i++) {
		const struct mapd_fence *f = &st->fences[i];
		const char *state, *now;

		if (!f->host[0])
			continue;
		for (k = 0; k < i; k++)
			if (!strcmp(st->fences[k].host, f->host))
				break;
		if (k < i)
			continue;	/* that host's object is made */
		state = fenced_host_state(m, f, &now);
		o = json_pack("{s:s, s:[], s:s, s:I, s:s}", "host", f->host,
			      "addrs", "boot_id", f->boot_id,
			      "at", (json_int_t)f->at, "state", state);
		if (o && now)
			json_object_set_new(o, "boot_id_now", json_string(now));
		for (k = i; o && k < st->nblocklist; k++)
			if (!strcmp(st->fences[k].host, f->host))
				json_array_append_new(json_object_get(o, "addrs"),
						      json_string(st->blocklist[k]));
		if (!o || json_array_append_new(a, o)) {
			json_decref(a);
			return NULL;
		}
	}
	return a;
}

int cmd_client_ls(struct mapd *m, json_t *req, json_t *reply, char *err)
{
	json_t *a = state_blocklist_json(&m->st);
	json_t *f = client_fences_json(m);

	(void)req;
	if (!a || !f) {
		json_decref(a);
		json_decref(f);
		snprintf(err, ERRLEN, "out of memory");
		return -ENOMEM;
	}
	json_object_set_new(reply, "blocklist", a);
	/* Alone, as before unless a cluster's state left some. */
	if (m->cl || json_array_size(f))
		json_object_set_new(reply, "fences", f);
	else
		json_decref(f);
	if (m->cl || m->st.auto_fence_off)
		json_object_set_new(reply, "auto_fence",
				    json_boolean(!m->st.auto_fence_off));
	return 0;
}

int cmd_client_auto_fence(struct mapd *m, json_t *req, json_t *reply,
			  char *err)
{
	json_t *snap;
	bool on;
	int ret;

	if (!json_object_get(req, "on")) {
		snprintf(err, ERRLEN, "missing field \"on\" (true or false)");
		return -EINVAL;
	}
	ret = req_bool(req, "on", &on, err);
	if (ret)
		return ret;
	if (m->st.auto_fence_off == !on) {
		json_object_set_new(reply, "auto_fence", json_boolean(on));
		return 0;	/* so it is already */
	}
	snap = mapd_snapshot(m);
	m->st.auto_fence_off = !on;
	ret = mapd_commit(m, snap, false, err, ERRLEN);
	if (ret)
		return ret;
	log_info("automatic fencing of dead hosts' clients turned %s",
		 on ? "on" : "off");
	json_object_set_new(reply, "auto_fence", json_boolean(on));
	return 0;
}
