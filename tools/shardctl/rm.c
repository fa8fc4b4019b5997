// SPDX-License-Identifier: GPL-2.0-only
/* shardctl rm POOL/VOLUME */
#include <errno.h>
#include <getopt.h>

#include "shardctl.h"

int rm_request(int argc, char **argv, json_t **req, char *err)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ 0 }
	};

	*req = NULL;
	optind = 0;
	if (sub_getopt(argc, argv, opts, err) != -1 ||
	    want_args(argc, argv, 1, 1, "POOL/VOLUME", err))
		return -EINVAL;
	*req = json_pack("{s:s}", "cmd", "rm");
	if (parse_volume(argv[optind], *req, err)) {
		json_decref(*req);
		*req = NULL;
		return -EINVAL;
	}
	return 0;
}

int rm_main(int argc, char **argv)
{
	return run_subcommand(argc, argv, rm_request, NULL);
}
