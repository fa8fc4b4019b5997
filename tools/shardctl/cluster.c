// SPDX-License-Identifier: GPL-2.0-only
/*
 * shardctl cluster create NAME --etcd URLS [--name SELF]
 * shardctl cluster join NAME --etcd URLS [--name SELF]
 *
 * Turns this host's shard-mapd into a member of a cluster kept in etcd:
 * "create" makes the cluster from this host's state, "join" adopts an
 * existing one. mapd remembers the setting, so it stays in the cluster
 * when it restarts.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "shardctl.h"

static int cluster_request(const char *cmd, int argc, char **argv,
			   json_t **req, char *err)
{
	static const struct option opts[] = {
		{ "etcd", required_argument, NULL, 'e' },
		{ "name", required_argument, NULL, 'n' },
		{ "json", no_argument, NULL, 'j' },
		{ 0 }
	};
	const char *etcd = NULL, *self = NULL;
	int opt;

	*req = NULL;
	optind = 0;
	while ((opt = sub_getopt(argc, argv, opts, err)) != -1) {
		switch (opt) {
		case 'e':
			etcd = optarg;
			break;
		case 'n':
			self = optarg;
			break;
		default:
			return -EINVAL;
		}
	}
	if (want_args(argc, argv, 1, 1, CLUSTER_USAGE, err))
		return -EINVAL;
	if (!etcd || !etcd[0]) {
		snprintf(err, ERRLEN,
			 "missing --etcd URLS, e.g. http://10.0.0.1:2379,http://10.0.0.2:2379 (usage: %s %s)",
			 argv[0], CLUSTER_USAGE);
		return -EINVAL;
	}
	*req = json_pack("{s:s, s:s, s:s}", "cmd", cmd, "cluster",
			 argv[optind], "etcd", etcd);
	if (*req && self)
		json_object_set_new(*req, "name", json_string(self));
	return *req ? 0 : -ENOMEM;
}

int cluster_create_request(int argc, char **argv, json_t **req, char *err)
{
	return cluster_request("cluster-create", argc, argv, req, err);
}

int cluster_join_request(int argc, char **argv, json_t **req, char *err)
{
	return cluster_request("cluster-join", argc, argv, req, err);
}

static void print_joined(json_t *reply)
{
	printf("cluster %s: this host's mapd is %s; etcd %s\n",
	       jstr(reply, "cluster"), jstr(reply, "self"),
	       jstr(reply, "endpoints"));
}

int cluster_create_main(int argc, char **argv)
{
	return run_subcommand(argc, argv, cluster_create_request,
			      print_joined);
}

int cluster_join_main(int argc, char **argv)
{
	return run_subcommand(argc, argv, cluster_join_request, print_joined);
}
