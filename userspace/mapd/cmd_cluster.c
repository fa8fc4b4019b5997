// SPDX-License-Identifier: GPL-2.0-only
/*
 * "cluster-create" and "cluster-join" (shardctl cluster create|join): a
 * mapd running alone becomes a member of a cluster kept in etcd, and
 * remembers it in cluster.json (cluster_conf.h).
 *
 * create: the cluster must not exist; this host's state (pools, volumes,
 *         daemons) becomes its first state.
 * join:   the cluster must exist; this host's state gives way to the
 *         cluster's, so a host that holds volumes is refused (they would
 *         vanish from the map). Daemons that registered here alone
 *         register again: their ids may be other stores' in the cluster
 *         (see match_store in cmd_daemon.c and shardd's renumbering).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../etcd/etcd.h"
#include "cluster.h"
#include "cluster_conf.h"
#include "cmds.h"
#include "log.h"

/* Does /shard/NAME/config exist? 1 yes, 0 no, -errno with err filled. */
static int cluster_exists(const char *endpoints, const char *name,
			  long timeout_ms, char *err)
{
	struct etcd_kv kv;
	struct etcd *e;
	char key[128], why[256];
	int ret;

	e = etcd_open(endpoints, timeout_ms, why, sizeof(why));
	if (!e) {
		snprintf(err, ERRLEN, "field \"etcd\": %s", why);
		return -EINVAL;
	}
	snprintf(key, sizeof(key), "/shard/%s/config", name);
	ret = etcd_get(e, key, &kv, NULL);
	if (!ret) {
		etcd_kv_free(&kv);
		ret = 1;
	} else if (ret == -ENOENT) {
		ret = 0;
	} else {
		snprintf(err, ERRLEN, "etcd: %s", etcd_strerror(e));
		ret = -EHOSTUNREACH;
	}
	etcd_close(e);
	return ret;
}

static bool has_volumes(struct mapd *m, char *err)
{
	size_t i;

	for (i = 0; i < m->st.npools; i++) {
		struct mapd_pool *p = &m->st.pools[i];

		if (p->nvols) {
			snprintf(err, ERRLEN,
				 "this host holds volumes (%s/%s%s): joining takes the cluster's state and they would vanish from the map; remove them, or make the cluster from this host with 'shardctl cluster create'",
				 p->name, p->vols[0].name,
				 p->nvols > 1 ? " and others" : "");
			return true;
		}
	}
	return false;
}

static int cluster_enter(struct mapd *m, json_t *req, json_t *reply,
			 char *err, bool create)
{
	const char *endpoints, *name, *self = m->hostname;
	struct mapd_cluster_conf conf;
	struct mapd_cluster_opts o;
	char *path;
	int ret;

	if ((ret = req_string(req, "etcd", true, &endpoints, err)) ||
	    (ret = req_string(req, "cluster", true, &name, err)) ||
	    (ret = req_string(req, "name", false, &self, err)))
		return ret;
	if (!self)
		self = m->hostname;
	if (m->cl) {
		snprintf(err, ERRLEN, "already a member of cluster %s",
			 cluster_name(m));
		return -EALREADY;
	}
	if (!valid_name(name) || !valid_name(self)) {
		snprintf(err, ERRLEN,
			 "the cluster's name and this mapd's must match [A-Za-z0-9._-]{1,64}");
		return -EINVAL;
	}
	if (!endpoints[0]) {
		snprintf(err, ERRLEN, "field \"etcd\" is empty");
		return -EINVAL;
	}
	ret = cluster_exists(endpoints, name, m->etcd_timeout_ms, err);
	if (ret < 0)
		return ret;
	if (create && ret) {
		snprintf(err, ERRLEN,
			 "cluster %s already exists in etcd; join it with 'shardctl cluster join %s --etcd ...'",
			 name, name);
		return -EEXIST;
	}
	if (!create && !ret) {
		snprintf(err, ERRLEN,
			 "there is no cluster %s in etcd; make it on one host with 'shardctl cluster create %s --etcd ...'",
			 name, name);
		return -ENOENT;
	}
	if (!create && has_volumes(m, err))
		return -EBUSY;

	/* Remembered first: a mapd that dies now comes back a member. */
	path = cluster_conf_path(m->state_path);
	conf.endpoints = (char *)endpoints;
	conf.name = (char *)name;
	conf.self = (char *)self;
	ret = path ? cluster_conf_save(path, &conf) : -ENOMEM;
	if (ret) {
		snprintf(err, ERRLEN, "cannot save %s: %s",
			 path ? path : "cluster.json", strerror(-ret));
		free(path);
		return ret;
	}
	o.endpoints = endpoints;
	o.name = name;
	o.self = self;
	o.timeout_ms = m->etcd_timeout_ms;
	ret = cluster_start(m, &o);
	if (ret) {
		unlink(path);
		free(path);
		snprintf(err, ERRLEN, "cannot start cluster mode: %s",
			 strerror(-ret));
		return ret;
	}
	free(path);
	log_info("%s cluster %s as %s (etcd %s)",
		 create ? "created" : "joined", name, self, endpoints);
	/* Our daemons' ids were given here alone: they register again. */
	if (!create)
		m->drop_daemon_sessions = true;
	json_object_set_new(reply, "cluster", json_string(name));
	json_object_set_new(reply, "self", json_string(self));
	json_object_set_new(reply, "endpoints", json_string(endpoints));
	return 0;
}

int cmd_cluster_create(struct mapd *m, json_t *req, json_t *reply,
		       char *err)
{
	return cluster_enter(m, req, reply, err, true);
}

int cmd_cluster_join(struct mapd *m, json_t *req, json_t *reply, char *err)
{
	return cluster_enter(m, req, reply, err, false);
}
