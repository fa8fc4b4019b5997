// SPDX-License-Identifier: GPL-2.0-only
/* shardctl ls [POOL] */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "shardctl.h"

int ls_request(int argc, char **argv, json_t **req, char *err)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ 0 }
	};

	*req = NULL;
	optind = 0;
	if (sub_getopt(argc, argv, opts, err) != -1 ||
	    want_args(argc, argv, 0, 1, "[POOL]", err))
		return -EINVAL;
	*req = json_pack("{s:s}", "cmd", "ls");
	if (optind < argc)
		json_object_set_new(*req, "pool", json_string(argv[optind]));
	return 0;
}

/* "/dev/shard0,/dev/shard3" or "-". */
static char *join_devices(json_t *devs)
{
	size_t i, len = 1;
	json_t *d;
	char *s;

	json_array_foreach(devs, i, d)
		len += strlen(json_string_value(d) ?: "") + 1;
	s = calloc(1, len);
	if (!s)
		return NULL;
	json_array_foreach(devs, i, d) {
		if (i)
			strcat(s, ",");
		strcat(s, json_string_value(d) ?: "");
	}
	return s;
}

static void print(json_t *reply)
{
	json_t *vols = json_object_get(reply, "volumes"), *v;
	struct table *t;
	size_t i;

	t = table_new(5, "POOL", "NAME", "ID", "SIZE", "DEVICES");
	json_array_foreach(vols, i, v) {
		char size[32], id[24];
		char *devs = join_devices(json_object_get(v, "devices"));

		format_size(json_integer_value(json_object_get(v, "size")),
			    size, sizeof(size));
		snprintf(id, sizeof(id), "%lld",
			 (long long)json_integer_value(json_object_get(v, "id")));
		table_row(t, json_string_value(json_object_get(v, "pool")),
			  json_string_value(json_object_get(v, "name")), id,
			  size, devs && devs[0] ? devs : "-");
		free(devs);
	}
	table_print(t);
}

int ls_main(int argc, char **argv)
{
	return run_subcommand(argc, argv, ls_request, print);
}
