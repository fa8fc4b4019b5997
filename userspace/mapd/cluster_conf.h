/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The cluster a mapd was told to be part of (shardctl cluster create or
 * join), kept in cluster.json beside the state file so that a restart
 * without --etcd stays in the cluster. --etcd on the command line wins.
 */
#ifndef _MAPD_CLUSTER_CONF_H
#define _MAPD_CLUSTER_CONF_H

#include <stddef.h>

struct mapd_cluster_conf {
	char *endpoints;	/* etcd client URLs, comma-separated */
	char *name;		/* the cluster's name */
	char *self;		/* this mapd's name in it */
};

/* "DIR/cluster.json" for the state file DIR/x; malloc'd, NULL on ENOMEM. */
char *cluster_conf_path(const char *state_path);
/* 0, -ENOENT when there is none, or another -errno with err filled. */
int cluster_conf_load(const char *path, struct mapd_cluster_conf *c,
		      char *err, size_t errlen);
int cluster_conf_save(const char *path, const struct mapd_cluster_conf *c);
void cluster_conf_free(struct mapd_cluster_conf *c);

#endif /* _MAPD_CLUSTER_CONF_H */
