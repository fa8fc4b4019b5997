// SPDX-License-Identifier: GPL-2.0-only
/* shardctl map POOL/VOLUME [--read-only] [--timeout SEC] */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include "shardctl.h"

int map_request(int argc, char **argv, json_t **req, char *err)
{
	static const struct option opts[] = {
		{ "read-only", no_argument, NULL, 'r' },
		{ "timeout", required_argument, NULL, 't' },
		{ "json", no_argument, NULL, 'j' },
		{ 0 }
	};
	unsigned long timeout = 0;
	bool ro = false;
	char *end;
	int opt;

	*req = NULL;
	optind = 0;
	while ((opt = sub_getopt(argc, argv, opts, err)) != -1) {
		if (opt == 'r') {
			ro = true;
		} else if (opt == 't') {
			errno = 0;
			timeout = strtoul(optarg, &end, 10);
			if (optarg[0] < '0' || optarg[0] > '9' || *end ||
			    errno || timeout > UINT32_MAX) {
				snprintf(err, ERRLEN,
					 "invalid timeout '%s' (seconds, 0 waits forever)",
					 optarg);
				return -EINVAL;
			}
		} else {
			return -EINVAL;
		}
	}
	if (want_args(argc, argv, 1, 1,
		      "POOL/VOLUME [--read-only] [--timeout SEC]", err))
		return -EINVAL;
	*req = json_pack("{s:s, s:b, s:I}", "cmd", "map", "read_only", ro,
			 "timeout", (json_int_t)timeout);
	if (parse_volume(argv[optind], *req, err)) {
		json_decref(*req);
		*req = NULL;
		return -EINVAL;
	}
	return 0;
}

static void print(json_t *reply)
{
	printf("%s\n", json_string_value(json_object_get(reply, "device")));
}

int map_main(int argc, char **argv)
{
	return run_subcommand(argc, argv, map_request, print);
}
