// SPDX-License-Identifier: GPL-2.0-only
/* shardctl unmap DEVICE|POOL/VOLUME [--force] */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "shardctl.h"

#define USAGE "DEVICE|POOL/VOLUME [--force]"

static bool all_digits(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (*s < '0' || *s > '9')
			return false;
	return true;
}

/*
 * /dev/shard/POOL/VOLUME (the udev link) and POOL/VOLUME name a volume;
 * /dev/shardN, shardN and N a device.
 */
static int target(const char *s, json_t *req, char *err)
{
	if (!strncmp(s, "/dev/shard/", 11))
		return parse_volume(s + 11, req, err);
	if ((!strncmp(s, "/dev/shard", 10) && all_digits(s + 10)) ||
	    (!strncmp(s, "shard", 5) && all_digits(s + 5)) || all_digits(s)) {
		json_object_set_new(req, "device", json_string(s));
		return 0;
	}
	if (!strncmp(s, "/dev/", 5)) {
		snprintf(err, ERRLEN, "'%s' is not a shard device", s);
		return -EINVAL;
	}
	return parse_volume(s, req, err);
}

int unmap_request(int argc, char **argv, json_t **req, char *err)
{
	static const struct option opts[] = {
		{ "force", no_argument, NULL, 'f' },
		{ "json", no_argument, NULL, 'j' },
		{ 0 }
	};
	bool force = false;
	int opt;

	*req = NULL;
	optind = 0;
	while ((opt = sub_getopt(argc, argv, opts, err)) != -1) {
		if (opt == 'f')
			force = true;
		else
			return -EINVAL;
	}
	if (want_args(argc, argv, 1, 1, USAGE, err))
		return -EINVAL;
	*req = json_pack("{s:s, s:b}", "cmd", "unmap", "force", force);
	if (target(argv[optind], *req, err)) {
		json_decref(*req);
		*req = NULL;
		return -EINVAL;
	}
	return 0;
}

int unmap_main(int argc, char **argv)
{
	return run_subcommand(argc, argv, unmap_request, NULL);
}
