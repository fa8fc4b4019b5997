// SPDX-License-Identifier: GPL-2.0-only
/*
 * shardctl: the admin CLI of shard. Talks to shard-mapd over its UNIX
 * socket; see shardctl(8).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../userspace/jsonline/jsonline.h"
#include "shardctl.h"

const char *shardctl_socket = JL_DEFAULT_SOCKET;
bool shardctl_json;

const struct subcommand subcommands[] = {
	{ "create", create_main, "POOL/VOLUME --size SIZE",
	  "create a volume" },
	{ "rm", rm_main, "POOL/VOLUME", "remove a volume that is not mapped" },
	{ "ls", ls_main, "[POOL]", "list volumes and where they are mapped" },
	{ "resize", resize_main, "POOL/VOLUME --size SIZE [--force]",
	  "change a volume's size (shrinking needs --force)" },
	{ "map", map_main, "POOL/VOLUME [--read-only] [--timeout SEC]",
	  "create /dev/shardN for a volume and print its path" },
	{ "unmap", unmap_main, "DEVICE|POOL/VOLUME [--force]",
	  "remove a device" },
	{ "status", status_main, "", "show epoch, daemons, pools and devices" },
	{ "help", help_main, "", "show this help" },
};
const size_t nr_subcommands = sizeof(subcommands) / sizeof(subcommands[0]);

static void usage(FILE *f)
{
	size_t i;

	fprintf(f, "Usage: %s [--socket PATH] [--json] COMMAND [ARGS...]\n\n"
		"Commands:\n", PROG_NAME);
	for (i = 0; i < nr_subcommands; i++)
		fprintf(f, "  %-7s %-42s %s\n", subcommands[i].name,
			subcommands[i].usage, subcommands[i].summary);
	fprintf(f, "\nOptions:\n"
		"  --socket PATH  shard-mapd's socket (default %s)\n"
		"  --json         print results as JSON\n"
		"Sizes take 1024-based K, M, G and T suffixes.\n",
		JL_DEFAULT_SOCKET);
}

int help_main(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	usage(stdout);
	return 0;
}

int main(int argc, char **argv)
{
	int i = 1;
	size_t k;

	while (i < argc && !strncmp(argv[i], "--", 2)) {
		const char *a = argv[i];

		if (!strcmp(a, "--json")) {
			shardctl_json = true;
		} else if (!strcmp(a, "--help")) {
			usage(stdout);
			return 0;
		} else if (!strncmp(a, "--socket=", 9)) {
			shardctl_socket = a + 9;
		} else if (!strcmp(a, "--socket")) {
			if (++i == argc)
				return fail("option '--socket' needs a path");
			shardctl_socket = argv[i];
		} else {
			return fail("unknown option '%s' (see '%s help')", a,
				    PROG_NAME);
		}
		i++;
	}
	if (i == argc) {
		usage(stderr);
		return 1;
	}
	if (!shardctl_socket[0])
		return fail("empty socket path");
	for (k = 0; k < nr_subcommands; k++)
		if (!strcmp(argv[i], subcommands[k].name))
			return subcommands[k].main(argc - i, argv + i);
	return fail("unknown command '%s' (see '%s help')", argv[i], PROG_NAME);
}
