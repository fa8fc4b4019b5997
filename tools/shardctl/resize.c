// SPDX-License-Identifier: GPL-2.0-only
/* shardctl resize POOL/VOLUME --size SIZE [--force] */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>

#include "shardctl.h"

#define USAGE "POOL/VOLUME --size SIZE [--force]"

int resize_request(int argc, char **argv, json_t **req, char *err)
{
	static const struct option opts[] = {
		{ "size", required_argument, NULL, 's' },
		{ "force", no_argument, NULL, 'f' },
		{ "json", no_argument, NULL, 'j' },
		{ 0 }
	};
	const char *size_arg = NULL;
	bool force = false;
	uint64_t size;
	int opt;

	*req = NULL;
	optind = 0;
	while ((opt = sub_getopt(argc, argv, opts, err)) != -1) {
		if (opt == 's')
			size_arg = optarg;
		else if (opt == 'f')
			force = true;
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
	*req = json_pack("{s:s, s:I, s:b}", "cmd", "resize",
			 "size", (json_int_t)size, "force", force);
	if (parse_volume(argv[optind], *req, err)) {
		json_decref(*req);
		*req = NULL;
		return -EINVAL;
	}
	return 0;
}

int resize_main(int argc, char **argv)
{
	return run_subcommand(argc, argv, resize_request, NULL);
}
