// SPDX-License-Identifier: GPL-2.0-only
/* shardctl status */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "shardctl.h"

int status_request(int argc, char **argv, json_t **req, char *err)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ 0 }
	};

	*req = NULL;
	optind = 0;
	if (sub_getopt(argc, argv, opts, err) != -1 ||
	    want_args(argc, argv, 0, 0, "", err))
		return -EINVAL;
	*req = json_pack("{s:s}", "cmd", "status");
	return 0;
}

static const char *str(json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

static long long num(json_t *o, const char *key)
{
	return json_integer_value(json_object_get(o, key));
}

static void print_daemons(json_t *daemons)
{
	struct table *t;
	json_t *d;
	size_t i;

	if (!json_array_size(daemons)) {
		printf("no daemons registered\n");
		return;
	}
	t = table_new(7, "DAEMON", "HOST", "ADDRESS", "CLASS", "CAPACITY",
		      "STATE", "CONNECTED");
	json_array_foreach(daemons, i, d) {
		char id[16], addr[80], cap[32], conn[16];
		const char *a = str(d, "addr") ?: "";

		snprintf(id, sizeof(id), "%lld", num(d, "id"));
		snprintf(addr, sizeof(addr), strchr(a, ':') ? "[%s]:%lld" :
			 "%s:%lld", a, num(d, "port"));
		format_size(num(d, "capacity"), cap, sizeof(cap));
		if (json_object_get(d, "connected"))
			snprintf(conn, sizeof(conn), "%lld",
				 num(d, "connected"));
		else
			strcpy(conn, "-");
		table_row(t, id, str(d, "host"), addr, str(d, "class"), cap,
			  json_is_true(json_object_get(d, "up")) ? "up" : "down",
			  conn);
	}
	table_print(t);
}

static void print_pools(json_t *pools)
{
	struct table *t;
	json_t *p;
	size_t i;

	t = table_new(5, "POOL", "ID", "COPIES", "PGS", "VOLUMES");
	json_array_foreach(pools, i, p) {
		char id[16], size[16], pgs[16], vols[24];

		snprintf(id, sizeof(id), "%lld", num(p, "id"));
		snprintf(size, sizeof(size), "%lld", num(p, "size"));
		snprintf(pgs, sizeof(pgs), "%lld", num(p, "pg_count"));
		snprintf(vols, sizeof(vols), "%lld", num(p, "volumes"));
		table_row(t, str(p, "name"), id, size, pgs, vols);
	}
	table_print(t);
}

static void print_devices(json_t *devs)
{
	struct table *t;
	json_t *d;
	size_t i;

	if (!json_array_size(devs)) {
		printf("no devices mapped\n");
		return;
	}
	t = table_new(7, "DEVICE", "VOLUME", "SIZE", "MODE", "OPEN",
		      "INFLIGHT", "HELD");
	json_array_foreach(devs, i, d) {
		char vol[160], size[32], open[16], infl[16], held[16];

		snprintf(vol, sizeof(vol), "%s/%s", str(d, "pool") ?: "?",
			 str(d, "volume") ?: "?");
		format_size(num(d, "size"), size, sizeof(size));
		snprintf(open, sizeof(open), "%lld", num(d, "open_count"));
		snprintf(infl, sizeof(infl), "%lld", num(d, "inflight"));
		snprintf(held, sizeof(held), "%lld", num(d, "held"));
		table_row(t, str(d, "device"), vol, size,
			  json_is_true(json_object_get(d, "read_only")) ?
			  "ro" : "rw", open, infl, held);
	}
	table_print(t);
}

static void print(json_t *reply)
{
	json_t *k = json_object_get(reply, "kernel");
	const char *state = str(k, "state") ?: "?";

	printf("epoch: %lld\nkernel: %s", num(reply, "epoch"), state);
	if (json_object_get(k, "epoch"))
		printf(" (map epoch %lld)", num(k, "epoch"));
	if (str(k, "error"))
		printf(" (%s)", str(k, "error"));
	printf("\n\n");
	print_daemons(json_object_get(reply, "daemons"));
	printf("\n");
	print_pools(json_object_get(reply, "pools"));
	printf("\n");
	print_devices(json_object_get(reply, "devices"));
}

int status_main(int argc, char **argv)
{
	return run_subcommand(argc, argv, status_request, print);
}
