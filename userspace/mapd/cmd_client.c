// SPDX-License-Identifier: GPL-2.0-only
/*
 * Client blocklist (fencing): "client-blocklist" and "client-unblocklist"
 * change it, "client-ls" shows it. The daemons get it with the map and
 * refuse every connection and request from a listed address, so each
 * change is a new epoch: a daemon fetches the map when the epoch moves.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

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
 * address that is listed already changes nothing and succeeds;
 * unblocklisting one that is not listed is an error.
 */
static int blocklist_change(struct mapd *m, json_t *req, json_t *reply,
			    char *err,
			    int (*change)(struct mapd_state *st,
					  const char *addr))
{
	const bool add = change == state_blocklist_add;
	char addr[MAPD_ADDR_MAX];
	json_t *snap;
	int ret;

	ret = req_client_addr(req, addr, err);
	if (ret)
		return ret;
	if (state_blocklisted(&m->st, addr) == add) {
		if (!add) {
			snprintf(err, ERRLEN, "%s is not blocklisted", addr);
			return -ENOENT;
		}
		reply_addr(m, reply, addr);	/* nothing to change */
		return 0;
	}
	snap = mapd_snapshot(m);
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

int cmd_client_ls(struct mapd *m, json_t *req, json_t *reply, char *err)
{
	json_t *a = state_blocklist_json(&m->st);

	(void)req;
	if (!a) {
		snprintf(err, ERRLEN, "out of memory");
		return -ENOMEM;
	}
	json_object_set_new(reply, "blocklist", a);
	return 0;
}
