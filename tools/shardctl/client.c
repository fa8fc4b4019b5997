// SPDX-License-Identifier: GPL-2.0-only
/*
 * shardctl client blocklist ADDR
 * shardctl client unblocklist ADDR
 * shardctl client ls
 *
 * Fencing: the daemons refuse every connection and request from a
 * blocklisted client address (daemon-to-daemon connections are not
 * affected). shard-mapd keeps the list and hands it out with the map.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>

#include "shardctl.h"

/* {"cmd": cmd, "addr": ADDR}; shard-mapd normalizes the address. */
static int addr_request(int argc, char **argv, const char *cmd, json_t **req,
			char *err)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ 0 }
	};
	unsigned char buf[sizeof(struct in6_addr)];
	const char *addr;

	*req = NULL;
	optind = 0;
	if (sub_getopt(argc, argv, opts, err) != -1 ||
	    want_args(argc, argv, 1, 1, "ADDR", err))
		return -EINVAL;
	addr = argv[optind];
	if (inet_pton(AF_INET, addr, buf) != 1 &&
	    inet_pton(AF_INET6, addr, buf) != 1) {
		snprintf(err, ERRLEN,
			 "bad address '%.64s' (a numeric IPv4 or IPv6 address)",
			 addr);
		return -EINVAL;
	}
	*req = json_pack("{s:s, s:s}", "cmd", cmd, "addr", addr);
	return *req ? 0 : -ENOMEM;
}

int client_blocklist_request(int argc, char **argv, json_t **req, char *err)
{
	return addr_request(argc, argv, "client-blocklist", req, err);
}

int client_unblocklist_request(int argc, char **argv, json_t **req,
			       char *err)
{
	return addr_request(argc, argv, "client-unblocklist", req, err);
}

int client_ls_request(int argc, char **argv, json_t **req, char *err)
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
	*req = json_pack("{s:s}", "cmd", "client-ls");
	return *req ? 0 : -ENOMEM;
}

static void print_blocklisted(json_t *reply)
{
	printf("blocklisted %s (map epoch %lld)\n", jstr(reply, "addr") ?: "?",
	       jnum(reply, "epoch"));
}

static void print_unblocklisted(json_t *reply)
{
	printf("unblocklisted %s (map epoch %lld)\n",
	       jstr(reply, "addr") ?: "?", jnum(reply, "epoch"));
}

void client_ls_print(json_t *reply)
{
	json_t *list = json_object_get(reply, "blocklist"), *a;
	size_t i;

	if (!json_array_size(list)) {
		printf("no blocklisted clients\n");
		return;
	}
	json_array_foreach(list, i, a)
		printf("%s\n", json_string_value(a) ?: "?");
}

int client_blocklist_main(int argc, char **argv)
{
	return run_subcommand(argc, argv, client_blocklist_request,
			      print_blocklisted);
}

int client_unblocklist_main(int argc, char **argv)
{
	return run_subcommand(argc, argv, client_unblocklist_request,
			      print_unblocklisted);
}

int client_ls_main(int argc, char **argv)
{
	return run_subcommand(argc, argv, client_ls_request, client_ls_print);
}
