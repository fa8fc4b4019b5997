// SPDX-License-Identifier: GPL-2.0-only
/* shardctl create POOL/VOLUME --size SIZE */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>

#include "shardctl.h"

#define USAGE "POOL/VOLUME --size SIZE"

int create_request(int argc, char **argv, json_t **req, char *err)
{
	static const struct option opts[] = {
		{ "size", required_argument, NULL, 's' },
		{ "json", no_argument, NULL, 'j' },
		{ 0 }
	};
	const char *size_arg = NULL;
	uint64_t size;
	int opt;

	*req = NULL;
	optind = 0;
	while ((opt = sub_getopt(argc, argv, opts, err)) != -1) {
		if (opt == 's')
			size_arg = optarg;
		else
			return -EINVAL;
	}
	if (want_args(argc, argv, 1, 1, USAGE, err))
		return -EINVAL;
	if (!size_arg) {
		snprintf(err, ERRLEN, "missing --size (usage: %s %s)",
			 argv[0], USAGE);
		return -EINVAL;
	}
	if (parse_size(size_arg, &size, err))
		return -EINVAL;
	*req = json_pack("{s:s, s:I}", "cmd", "create", "size",
			 (json_int_t)size);
	if (parse_volume(argv[optind], *req, err)) {
		json_decref(*req);
		*req = NULL;
		return -EINVAL;
	}
	return 0;
}

static void print(json_t *reply)
{
	json_t *v = json_object_get(reply, "volume");
	char size[32];

	format_size(json_integer_value(json_object_get(v, "size")), size,
		    sizeof(size));
	printf("created %s/%s (%s, id %lld)\n",
	       json_string_value(json_object_get(v, "pool")),
	       json_string_value(json_object_get(v, "name")), size,
	       (long long)json_integer_value(json_object_get(v, "id")));
}

int create_main(int argc, char **argv)
{
	return run_subcommand(argc, argv, create_request, print);
}
