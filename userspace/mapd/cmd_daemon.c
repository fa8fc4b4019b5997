// SPDX-License-Identifier: GPL-2.0-only
/*
 * The storage daemons' side of the protocol: "daemon-register" (id 0
 * asks for a new id; a known id updates the daemon and marks it up),
 * then "daemon-heartbeat" every second on the same connection, and
 * "map-get" when the heartbeat's reply names a newer epoch.
 */
#include <linux/shard.h>
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "../common/b64.h"
#include "cluster.h"
#include "cmds.h"
#include "log.h"
#include "place.h"
#include "recovery.h"
#include "scrub.h"

/* Numeric, and one the kernel can connect to. */
static int check_addr(const char *addr, char *err)
{
	struct in6_addr a6;
	struct in_addr a4;

	if (inet_pton(AF_INET, addr, &a4) == 1) {
		if (a4.s_addr != htonl(INADDR_ANY) &&
		    a4.s_addr != htonl(INADDR_BROADCAST))
			return 0;
	} else if (inet_pton(AF_INET6, addr, &a6) == 1) {
		if (!IN6_IS_ADDR_UNSPECIFIED(&a6) && !IN6_IS_ADDR_MULTICAST(&a6))
			return 0;
	} else {
		snprintf(err, ERRLEN,
			 "field \"addr\" must be a numeric IPv4 or IPv6 address");
		return -EINVAL;
	}
	snprintf(err, ERRLEN,
		 "field \"addr\" must be an address clients can connect to, not %s",
		 addr);
	return -EINVAL;
}

static int parse(json_t *req, struct mapd_daemon *d, char *err)
{
	const char *addr, *class, *host, *rack = "", *site = "", *uuid = "";
	uint64_t id = 0, port, cap, used = 0;
	int ret;

	memset(d, 0, sizeof(*d));
	if ((ret = req_u64(req, "id", false, &id, err)) ||
	    (ret = req_string(req, "addr", true, &addr, err)) ||
	    (ret = req_u64(req, "port", true, &port, err)) ||
	    (ret = req_u64(req, "capacity", true, &cap, err)) ||
	    (ret = req_string(req, "class", true, &class, err)) ||
	    (ret = req_string(req, "host", true, &host, err)) ||
	    (ret = req_string(req, "rack", false, &rack, err)) ||
	    (ret = req_string(req, "site", false, &site, err)) ||
	    (ret = req_string(req, "uuid", false, &uuid, err)) ||
	    (ret = req_u64(req, "used", false, &used, err)))
		return ret;
	if (uuid && uuid[0] && !valid_uuid(uuid)) {
		snprintf(err, ERRLEN,
			 "field \"uuid\" must be %d lowercase hex digits, not all zero",
			 MAPD_UUID_LEN);
		return -EINVAL;
	}
	if ((rack && rack[0] && !valid_name(rack)) ||
	    (site && site[0] && !valid_name(site))) {
		snprintf(err, ERRLEN,
			 "fields \"rack\" and \"site\" must match [A-Za-z0-9._-]{1,64}");
		return -EINVAL;
	}
	if (id >= SHARD_MAX_DAEMON_ID) {
		snprintf(err, ERRLEN, "field \"id\" must be below %u",
			 SHARD_MAX_DAEMON_ID);
		return -EINVAL;
	}
	ret = check_addr(addr, err);
	if (ret)
		return ret;
	if (port < 1 || port > 65535) {
		snprintf(err, ERRLEN, "field \"port\" must be 1..65535");
		return -EINVAL;
	}
	if (!valid_class(class)) {
		snprintf(err, ERRLEN, "field \"class\" must be \"ssd\" or \"hdd\"");
		return -EINVAL;
	}
	if (!host[0] || strlen(host) > MAPD_HOST_MAX) {
		snprintf(err, ERRLEN, "field \"host\" must be 1..%d characters",
			 MAPD_HOST_MAX);
		return -EINVAL;
	}
	d->id = id;
	strcpy(d->addr, addr);	/* numeric: it fits */
	d->port = port;
	d->capacity = cap;
	strcpy(d->class, class);
	strcpy(d->host, host);
	if (rack)
		strcpy(d->rack, rack);
	if (site)
		strcpy(d->site, site);
	if (uuid)
		strcpy(d->uuid, uuid);
	d->used = used;
	d->up = true;
	d->in = true;
	d->last_seen = mapd_now();
	return 0;
}

/*
 * The store's uuid ties a registration to its disk. A daemon whose first
 * registration went through but whose reply was lost (a slow etcd, a
 * timeout) asks again with id 0: it gets the id it already has, not a
 * second one. A store claiming an id that another store holds is
 * refused, as is a uuid already known under another id (a copied disk).
 */
static int match_store(struct mapd *m, struct mapd_daemon *d, json_t *reply,
		       char *err)
{
	struct mapd_daemon *by_uuid = state_daemon_by_uuid(&m->st, d->uuid);
	struct mapd_daemon *by_id = d->id ? state_daemon(&m->st, d->id) : NULL;

	if (!d->id && by_uuid) {
		log_info("daemon %u asked for an id again; it keeps its own",
			 by_uuid->id);
		d->id = by_uuid->id;
		return 0;
	}
	if (by_id && by_id->uuid[0] && d->uuid[0] &&
	    strcmp(by_id->uuid, d->uuid)) {
		snprintf(err, ERRLEN,
			 "daemon id %u belongs to the store with uuid %s, not to this one (%s)",
			 d->id, by_id->uuid, d->uuid);
		/* shardd renumbers a store that holds nothing. */
		json_object_set_new(reply, "reason", json_string("id-taken"));
		return -EEXIST;
	}
	if (d->id && by_uuid && by_uuid->id != d->id) {
		snprintf(err, ERRLEN,
			 "this store (uuid %s) is registered as daemon %u, not %u: a copied disk?",
			 d->uuid, by_uuid->id, d->id);
		return -EEXIST;
	}
	return 0;
}

int cmd_daemon_register(struct mapd *m, json_t *req, json_t *reply,
			char *err)
{
	struct mapd_daemon d, *old;
	bool placement = true;
	json_t *snap;
	int ret;

	ret = parse(req, &d, err);
	if (ret)
		return ret;
	ret = match_store(m, &d, reply, err);
	if (ret)
		return ret;
	old = d.id ? state_daemon(&m->st, d.id) : NULL;
	if (old) {
		/* Out stays out until an admin says otherwise. */
		d.in = old->in;
		placement = strcmp(old->addr, d.addr) || old->port != d.port ||
			    !old->up;
		if (!placement && old->capacity == d.capacity &&
		    !strcmp(old->class, d.class) &&
		    !strcmp(old->host, d.host) &&
		    !strcmp(old->rack, d.rack) && !strcmp(old->site, d.site) &&
		    !strcmp(old->uuid, d.uuid)) {
			old->last_seen = d.last_seen;
			old->used = d.used;
			goto done;	/* nothing changed */
		}
	} else if (m->st.ndaemons >= SHARD_MAX_DAEMONS) {
		snprintf(err, ERRLEN, "too many daemons (at most %u)",
			 SHARD_MAX_DAEMONS);
		return -ENOSPC;
	} else if (!d.id) {
		if (m->st.next_daemon_id >= SHARD_MAX_DAEMON_ID) {
			snprintf(err, ERRLEN, "daemon ids exhausted");
			return -ENOSPC;
		}
		d.id = m->st.next_daemon_id;
	}

	snap = mapd_snapshot(m);
	if (old) {
		*old = d;
	} else {
		ret = state_add_daemon(&m->st, &d, NULL);
		if (ret) {
			json_decref(snap);
			return ret;
		}
	}
	ret = mapd_commit(m, snap, placement, err, ERRLEN);
	if (ret)
		return ret;
	log_info("daemon %u %s at %s port %u (%s, %s, %llu bytes)", d.id,
		 old ? "updated" : "registered", d.addr, d.port, d.host,
		 d.class, (unsigned long long)d.capacity);
done:
	/* A daemon registers when it starts: it runs no scrub now, and
	 * its copied figure starts again. */
	scrub_daemon_restarted(m, d.id);
	old = state_daemon(&m->st, d.id);
	if (old)
		recovery_reset(&old->rec);
	json_object_set_new(reply, "id", json_integer(d.id));
	return 0;
}

int cmd_daemon_heartbeat(struct mapd *m, json_t *req, json_t *reply,
			 char *err)
{
	uint64_t id, epoch, used = 0;
	struct mapd_recovery rec = { 0 };
	struct mapd_daemon *d;
	json_t *snap;
	int ret;

	if ((ret = req_u64(req, "id", true, &id, err)) ||
	    (ret = req_u64(req, "epoch", true, &epoch, err)) ||
	    (ret = req_u64(req, "used", false, &used, err)) ||
	    (ret = recovery_parse(req, &rec, err)))
		return ret;
	d = id < SHARD_MAX_DAEMON_ID ? state_daemon(&m->st, id) : NULL;
	if (!d) {
		snprintf(err, ERRLEN, "unknown daemon %llu: register first",
			 (unsigned long long)id);
		return -ENOENT;
	}
	d->last_seen = mapd_now();
	d->used = used;
	if (!m->cl)
		recovery_note(&d->rec, &rec, d->last_seen);
	/* A connection that heartbeats is the daemon's session: when it
	 * closes, the daemon is gone (a bare registration is not). */
	if (m->client_daemon)
		*m->client_daemon = id;
	if (m->cl) {
		/* The leader decides up and down from alive keys. */
		cluster_heartbeat_recovery(m, id, used, &rec);
	} else if (!d->up) {
		snap = mapd_snapshot(m);
		d->up = true;
		d->down_since = 0;
		ret = mapd_commit(m, snap, true, err, ERRLEN);
		if (ret)
			return ret;
		log_info("daemon %u is up again", (unsigned int)id);
		/* Whatever it was scrubbing ended with its session. */
		scrub_daemon_restarted(m, id);
	}
	json_object_set_new(reply, "epoch", json_integer(m->st.epoch));
	/* The cluster's setting; absent, the daemon uses its own. */
	if (m->st.recovery_share)
		json_object_set_new(reply, "recovery_share",
				    json_integer(m->st.recovery_share));
	if (scrub_heartbeat(m, id, reply)) {
		snprintf(err, ERRLEN, "out of memory");
		return -ENOMEM;
	}
	return 0;
}

/* The acting map, as the kernel has it: what daemons check requests by. */
int cmd_map_get(struct mapd *m, json_t *req, json_t *reply, char *err)
{
	json_t *map = map_json(&m->st, MAP_JSON_B64);

	(void)req;
	if (!map) {
		snprintf(err, ERRLEN, "out of memory");
		return -ENOMEM;
	}
	json_object_set_new(reply, "map", map);
	return 0;
}
