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

/* Designated, so that a command needs no subs and a group no main. */
#define CMD(n, m, u, s)	{ .name = n, .main = m, .usage = u, .summary = s }
#define GROUP(n, t)	{ .name = n, .subs = t }

static const struct subcommand pool_commands[] = {
	CMD("create", pool_create_main, POOL_CREATE_USAGE,
	    "create a replicated pool"),
	CMD("ls", pool_ls_main, "",
	    "list pools: copies, PGs, usable space, PG states"),
	CMD("rm", pool_rm_main, "NAME", "remove a pool that has no volumes"),
	CMD("scrub", pool_scrub_main, "NAME [--deep]",
	    "scrub every PG of a pool"),
	{ 0 }
};

static const struct subcommand daemon_commands[] = {
	CMD("ls", daemon_ls_main, "", "list storage daemons and their PGs"),
	CMD("out", daemon_out_main, "ID", "move a daemon's PGs elsewhere"),
	CMD("in", daemon_in_main, "ID", "let a daemon take its share again"),
	CMD("rm", daemon_rm_main, "ID", "forget a daemon that is down"),
	{ 0 }
};

static const struct subcommand cluster_commands[] = {
	CMD("create", cluster_create_main, CLUSTER_USAGE,
	    "make a cluster in etcd from this host's state"),
	CMD("join", cluster_join_main, CLUSTER_USAGE,
	    "make this host a member of a cluster in etcd"),
	{ 0 }
};

static const struct subcommand client_commands[] = {
	CMD("blocklist", client_blocklist_main, "ADDR",
	    "make the daemons refuse a client address (fencing)"),
	CMD("unblocklist", client_unblocklist_main, "ADDR",
	    "take a client address off the blocklist"),
	CMD("ls", client_ls_main, "", "list the blocklisted client addresses"),
	CMD("auto-fence", client_auto_fence_main, "on|off",
	    "fence dead hosts' clients automatically (cluster; default on)"),
	{ 0 }
};

static const struct subcommand recovery_commands[] = {
	CMD("share", recovery_share_main, RECOVERY_SHARE_USAGE,
	    "set every daemon's backfill share while clients are active"),
	{ 0 }
};

static const struct subcommand pg_commands[] = {
	CMD("ls", pg_ls_main, "[POOL]",
	    "list placement groups: up and acting sets, state, last scrub"),
	CMD("scrub", pg_scrub_main, "PGID",
	    "have a PG's primary compare its copies and repair bad ones"),
	CMD("deep-scrub", pg_deep_scrub_main, "PGID",
	    "scrub a PG reading every copy's data in full"),
	{ 0 }
};

const struct subcommand subcommands[] = {
	CMD("create", create_main, "POOL/VOLUME --size SIZE",
	    "create a volume"),
	CMD("rm", rm_main, "POOL/VOLUME", "remove a volume that is not mapped"),
	CMD("ls", ls_main, "[POOL]", "list volumes and where they are mapped"),
	CMD("resize", resize_main, "POOL/VOLUME --size SIZE [--force]",
	    "change a volume's size (shrinking needs --force)"),
	CMD("map", map_main, "POOL/VOLUME [--read-only] [--timeout SEC]",
	    "create /dev/shardN for a volume and print its path"),
	CMD("unmap", unmap_main, "DEVICE|POOL/VOLUME [--force]",
	    "remove a device"),
	GROUP("pool", pool_commands),
	GROUP("daemon", daemon_commands),
	GROUP("pg", pg_commands),
	GROUP("cluster", cluster_commands),
	GROUP("client", client_commands),
	GROUP("recovery", recovery_commands),
	CMD("map-show", map_show_main, "",
	    "show the placement map: each PG's acting set and placement"),
	CMD("status", status_main, "",
	    "show epoch, hosts, daemons, pools and devices"),
	CMD("help", help_main, "", "show this help"),
};
const size_t nr_subcommands = sizeof(subcommands) / sizeof(subcommands[0]);

#define NAME_WIDTH	14
#define USAGE_WIDTH	42

static void usage_line(FILE *f, const char *group, const struct subcommand *c)
{
	char name[32];
	int width = USAGE_WIDTH, len;

	len = snprintf(name, sizeof(name), "%s%s%s", group ?: "",
		       group ? " " : "", c->name);
	/* A long name takes from the usage column: summaries line up. */
	if (len > NAME_WIDTH)
		width -= len - NAME_WIDTH;
	/* A long usage gets a line of its own. */
	if ((int)strlen(c->usage) > width)
		fprintf(f, "  %-*s %s\n  %-*s %-*s %s\n", NAME_WIDTH, name,
			c->usage, NAME_WIDTH, "", USAGE_WIDTH, "", c->summary);
	else
		fprintf(f, "  %-*s %-*s %s\n", NAME_WIDTH, name, width,
			c->usage, c->summary);
}

static void usage(FILE *f)
{
	const struct subcommand *c;
	size_t i;

	fprintf(f, "Usage: %s [--socket PATH] [--json] COMMAND [ARGS...]\n\n"
		"Commands:\n", PROG_NAME);
	for (i = 0; i < nr_subcommands; i++) {
		if (!subcommands[i].subs) {
			usage_line(f, NULL, &subcommands[i]);
			continue;
		}
		for (c = subcommands[i].subs; c->name; c++)
			usage_line(f, subcommands[i].name, c);
	}
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

/* "pool" alone: "missing pool command (one of: create, ls, rm)". */
static int missing_command(const struct subcommand *group)
{
	const struct subcommand *c;
	char names[128];
	size_t len = 0;

	names[0] = '\0';
	for (c = group->subs; c->name && len < sizeof(names); c++)
		len += snprintf(names + len, sizeof(names) - len, "%s%s",
				len ? ", " : "", c->name);
	return fail("missing %s command (one of: %s)", group->name, names);
}

/* "pool create ARGS": the command sees argv[0] "pool create". */
static int run_group(const struct subcommand *group, int argc, char **argv)
{
	const struct subcommand *c;
	char name[64], **av;
	int ret;

	if (argc < 2)
		return missing_command(group);
	if (!strcmp(argv[1], "help") || !strcmp(argv[1], "--help"))
		return help_main(0, NULL);
	for (c = group->subs; c->name; c++)
		if (!strcmp(argv[1], c->name))
			break;
	if (!c->name)
		return fail("unknown command '%s %s' (see '%s help')",
			    group->name, argv[1], PROG_NAME);
	/* A copy: getopt_long permutes what it is given. */
	av = calloc(argc, sizeof(*av));
	if (!av)
		return fail("out of memory");
	snprintf(name, sizeof(name), "%s %s", group->name, c->name);
	av[0] = name;
	memcpy(av + 1, argv + 2, (argc - 2) * sizeof(*av));
	ret = c->main(argc - 1, av);
	free(av);
	return ret;
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
	for (k = 0; k < nr_subcommands; k++) {
		if (strcmp(argv[i], subcommands[k].name))
			continue;
		if (subcommands[k].subs)
			return run_group(&subcommands[k], argc - i, argv + i);
		return subcommands[k].main(argc - i, argv + i);
	}
	return fail("unknown command '%s' (see '%s help')", argv[i], PROG_NAME);
}
