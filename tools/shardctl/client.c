// SPDX-License-Identifier: GPL-2.0-only
/*
 * shardctl client blocklist ADDR
 * shardctl client unblocklist ADDR
 * shardctl client ls
 * shardctl client auto-fence on|off
 *
 * Fencing: the daemons refuse every connection and request from a
 * blocklisted client address (daemon-to-daemon connections are not
 * affected). shard-mapd keeps the list and hands it out with the map.
 * In a cluster the leader also fences the addresses of a host whose
 * mapd died, and lifts that fence when the host comes back rebooted.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

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

int client_auto_fence_request(int argc, char **argv, json_t **req,
			      char *err)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ 0 }
	};
	const char *v;

	*req = NULL;
	optind = 0;
	if (sub_getopt(argc, argv, opts, err) != -1 ||
	    want_args(argc, argv, 1, 1, "on|off", err))
		return -EINVAL;
	v = argv[optind];
	if (strcmp(v, "on") && strcmp(v, "off")) {
		snprintf(err, ERRLEN, "'%.32s': say on or off", v);
		return -EINVAL;
	}
	*req = json_pack("{s:s, s:b}", "cmd", "client-auto-fence", "on",
			 !strcmp(v, "on"));
	return *req ? 0 : -ENOMEM;
}

/* The host whose automatic fence addr is; NULL when listed by hand. */
static const char *fence_of(json_t *fences, const char *addr)
{
	json_t *f, *a;
	size_t i, k;

	json_array_foreach(fences, i, f)
		json_array_foreach(json_object_get(f, "addrs"), k, a)
			if (json_is_string(a) &&
			    !strcmp(json_string_value(a), addr))
				return jstr(f, "host");
	return NULL;
}

/* "2024-05-01 12:00:05": when a fence was put. */
static void format_when(long long at, char *buf, size_t len)
{
	time_t t = at;
	struct tm tm;

	if (at <= 0 || !localtime_r(&t, &tm) ||
	    !strftime(buf, len, "%Y-%m-%d %H:%M:%S", &tm))
		snprintf(buf, len, "?");
}

/* The fences' addresses of one host, "a b". */
static void fence_addrs(json_t *f, char *buf, size_t len)
{
	size_t i, at = 0;
	json_t *a;

	buf[0] = '\0';
	json_array_foreach(json_object_get(f, "addrs"), i, a)
		if (at < len)
			at += snprintf(buf + at, len - at, "%s%s", i ? " " : "",
				       json_string_value(a) ?: "?");
}

void print_fences(json_t *reply)
{
	json_t *fences = json_object_get(reply, "fences"), *f;
	char when[32], addrs[512];
	const char *host, *state;
	size_t i;

	if (json_is_false(json_object_get(reply, "auto_fence")))
		printf("automatic fencing: off (shardctl client auto-fence on)\n");
	json_array_foreach(fences, i, f) {
		host = jstr(f, "host") ?: "?";
		state = jstr(f, "state") ?: "";
		format_when(jnum(f, "at"), when, sizeof(when));
		fence_addrs(f, addrs, sizeof(addrs));
		printf("fenced: host %s since %s (its mapd's lease ran out): the daemons refuse %s\n",
		       host, when, addrs);
		if (!strcmp(state, "back"))
			printf("  %s is back without a reboot: its kernel may still hold writes of VMs started\n"
			       "  elsewhere since. Once it holds none (VMs stopped, or rebooted), run:\n"
			       "  shardctl client unblocklist ADDR  (for each of %s)\n",
			       host, addrs);
		else if (!strcmp(state, "rebooted"))
			printf("  %s is back rebooted: the leader lifts the fence\n",
			       host);
		else if (!strcmp(state, "down"))
			printf("  %s is down: lifted when it comes back rebooted, or by\n"
			       "  shardctl client unblocklist ADDR\n", host);
	}
}

static void print_auto_fence(json_t *reply)
{
	printf("automatic fencing of dead hosts' clients: %s\n",
	       json_is_true(json_object_get(reply, "auto_fence")) ?
	       "on" : "off");
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
	json_t *fences = json_object_get(reply, "fences");
	const char *addr, *host;
	size_t i;

	if (json_is_false(json_object_get(reply, "auto_fence")))
		printf("automatic fencing: off\n");
	if (!json_array_size(list)) {
		printf("no blocklisted clients\n");
		return;
	}
	/* One address a line; a fence's says whose. */
	json_array_foreach(list, i, a) {
		addr = json_string_value(a) ?: "?";
		host = fence_of(fences, addr);
		if (host)
			printf("%s  (fence of host %s)\n", addr, host);
		else
			printf("%s\n", addr);
	}
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

int client_auto_fence_main(int argc, char **argv)
{
	return run_subcommand(argc, argv, client_auto_fence_request,
			      print_auto_fence);
}
