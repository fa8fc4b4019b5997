// SPDX-License-Identifier: GPL-2.0-only
/*
 * shardctl daemon ls
 * shardctl daemon out|in|rm ID
 */
#include <linux/shard.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "shardctl.h"

int daemon_ls_request(int argc, char **argv, json_t **req, char *err)
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
	*req = json_pack("{s:s}", "cmd", "daemon-ls");
	return 0;
}

/* {"cmd": cmd, "id": ID} from "daemon out|in|rm ID". */
static int id_request(int argc, char **argv, const char *cmd, json_t **req,
		      char *err)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ 0 }
	};
	uint64_t id;

	*req = NULL;
	optind = 0;
	if (sub_getopt(argc, argv, opts, err) != -1 ||
	    want_args(argc, argv, 1, 1, "ID", err) ||
	    parse_count(argv[optind], "daemon id", 1, SHARD_MAX_DAEMON_ID - 1,
			&id, err))
		return -EINVAL;
	*req = json_pack("{s:s, s:I}", "cmd", cmd, "id", (json_int_t)id);
	return 0;
}

int daemon_out_request(int argc, char **argv, json_t **req, char *err)
{
	return id_request(argc, argv, "daemon-out", req, err);
}

int daemon_in_request(int argc, char **argv, json_t **req, char *err)
{
	return id_request(argc, argv, "daemon-in", req, err);
}

int daemon_rm_request(int argc, char **argv, json_t **req, char *err)
{
	return id_request(argc, argv, "daemon-rm", req, err);
}

/* Where the daemon is, innermost first: "node1", "node1/r2/dc1". */
static void format_domain(json_t *d, char *buf, size_t len)
{
	const char *rack = jstr(d, "rack"), *site = jstr(d, "site");

	if (site && site[0])
		snprintf(buf, len, "%s/%s/%s", jstr(d, "host") ?: "?",
			 rack && rack[0] ? rack : "-", site);
	else if (rack && rack[0])
		snprintf(buf, len, "%s/%s", jstr(d, "host") ?: "?", rack);
	else
		snprintf(buf, len, "%s", jstr(d, "host") ?: "?");
}

/*
 * What it still has to copy as a primary of PGs being backfilled:
 * "12 obj/48 MiB", or "-" when nothing (or a mapd that predates it).
 */
static void format_recovery(json_t *d, char *buf, size_t len)
{
	json_t *r = json_object_get(d, "recovery");
	long long objects = jnum(r, "objects"), bytes = jnum(r, "bytes");
	char size[32];

	if (!json_is_object(r) || (objects <= 0 && bytes <= 0)) {
		snprintf(buf, len, "-");
		return;
	}
	format_size(bytes > 0 ? bytes : 0, size, sizeof(size));
	snprintf(buf, len, "%lld obj/%s", objects > 0 ? objects : 0, size);
}

void print_daemon_table(json_t *daemons, bool connected)
{
	struct table *t;
	json_t *d;
	size_t i;

	if (!json_array_size(daemons)) {
		printf("no daemons registered\n");
		return;
	}
	/* CONNECTED, status's alone, is last: left out otherwise. */
	t = table_new(connected ? 12 : 11, "DAEMON", "DOMAIN", "ADDRESS",
		      "CLASS", "CAPACITY", "USED", "STATE", "IN", "PGS",
		      "PRIMARIES", "RECOVERY", "CONNECTED");
	json_array_foreach(daemons, i, d) {
		char id[24], dom[200], addr[80], cap[32], used[32], pgs[24],
		     prim[24], rec[64], conn[24];

		snprintf(id, sizeof(id), "%lld", jnum(d, "id"));
		format_domain(d, dom, sizeof(dom));
		format_addr(d, addr, sizeof(addr));
		format_size(jnum(d, "capacity"), cap, sizeof(cap));
		format_size(jnum(d, "used"), used, sizeof(used));
		snprintf(pgs, sizeof(pgs), "%lld", jnum(d, "pgs"));
		snprintf(prim, sizeof(prim), "%lld", jnum(d, "primaries"));
		format_recovery(d, rec, sizeof(rec));
		if (json_object_get(d, "connected"))
			snprintf(conn, sizeof(conn), "%lld",
				 jnum(d, "connected"));
		else
			strcpy(conn, "-");
		table_row(t, id, dom, addr, jstr(d, "class"), cap, used,
			  jtrue(d, "up") ? "up" : "down",
			  jtrue(d, "in") ? "in" : "out", pgs, prim, rec, conn);
	}
	table_print(t);
}

static void print_ls(json_t *reply)
{
	print_daemon_table(json_object_get(reply, "daemons"), false);
}

int daemon_ls_main(int argc, char **argv)
{
	return run_subcommand(argc, argv, daemon_ls_request, print_ls);
}

int daemon_out_main(int argc, char **argv)
{
	return run_subcommand(argc, argv, daemon_out_request, NULL);
}

int daemon_in_main(int argc, char **argv)
{
	return run_subcommand(argc, argv, daemon_in_request, NULL);
}

int daemon_rm_main(int argc, char **argv)
{
	return run_subcommand(argc, argv, daemon_rm_request, NULL);
}
