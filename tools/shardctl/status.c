// SPDX-License-Identifier: GPL-2.0-only
/* shardctl status */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "shardctl.h"

int status_request(int argc, char **argv, json_t **req, char *err)
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
	*req = json_pack("{s:s}", "cmd", "status");
	return 0;
}

/* "mode: cluster, leader: node2, etcd: unreachable (reason)". */
static void print_mode(json_t *reply)
{
	json_t *leader = json_object_get(reply, "leader");
	json_t *etcd = json_object_get(reply, "etcd");

	if (!json_object_get(reply, "mode"))
		return;
	printf("mode: %s", jstr(reply, "mode") ?: "?");
	if (leader) {
		char *l = json_text(leader);

		printf(", leader: %s", l ?: "?");
		free(l);
	}
	if (etcd) {
		printf(", etcd: %s", jstr(etcd, "state") ?: "?");
		if (jstr(etcd, "error"))
			printf(" (%s)", jstr(etcd, "error"));
	}
	printf("\n");
}

/* "3 s", "12 min", "2.5 h": how long is left, roughly. */
static void format_eta(long long s, char *buf, size_t len)
{
	if (s < 120)
		snprintf(buf, len, "%lld s", s);
	else if (s < 120 * 60)
		snprintf(buf, len, "%lld min", (s + 30) / 60);
	else if (s < 48 * 3600)
		snprintf(buf, len, "%.1f h", s / 3600.0);
	else
		snprintf(buf, len, "%.1f days", s / 86400.0);
}

/*
 * "recovery: 12 objects, 48 MiB to go at 19.2 MiB/s, about 3 s left
 * (1.2 GiB copied)", or "recovery: idle (1.2 GiB copied)"; nothing from
 * a mapd that predates it.
 */
static void print_recovery(json_t *r)
{
	long long objects = jnum(r, "objects"), bytes = jnum(r, "bytes");
	long long rate = jnum(r, "rate");
	char left[32], speed[32], copied[32], eta[32];
	json_t *e = json_object_get(r, "eta");

	if (!json_is_object(r))
		return;
	format_size(jnum(r, "copied") > 0 ? jnum(r, "copied") : 0, copied,
		    sizeof(copied));
	if (objects <= 0 && bytes <= 0) {
		printf("recovery: idle (%s copied)\n", copied);
		return;
	}
	format_size(bytes > 0 ? bytes : 0, left, sizeof(left));
	format_size(rate > 0 ? rate : 0, speed, sizeof(speed));
	printf("recovery: %lld object%s, %s to go at %s/s", objects,
	       objects == 1 ? "" : "s", left, speed);
	if (json_is_integer(e) && json_integer_value(e) >= 0) {
		format_eta(json_integer_value(e), eta, sizeof(eta));
		printf(", about %s left", eta);
	}
	printf(" (%s copied)\n", copied);
}

static int by_name(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static void print_hosts(json_t *hosts)
{
	size_t i = 0, n = json_object_size(hosts);
	const char **names, *key;
	struct table *t;
	json_t *h;

	if (!n)
		return;
	names = calloc(n, sizeof(*names));
	if (!names)
		return;
	json_object_foreach(hosts, key, h)
		names[i++] = key;
	qsort(names, n, sizeof(*names), by_name);
	t = table_new(4, "HOST", "DAEMONS", "UP", "CAPACITY");
	for (i = 0; i < n; i++) {
		char daemons[24], up[24], cap[32];

		h = json_object_get(hosts, names[i]);
		snprintf(daemons, sizeof(daemons), "%lld", jnum(h, "daemons"));
		snprintf(up, sizeof(up), "%lld", jnum(h, "up"));
		format_size(jnum(h, "capacity"), cap, sizeof(cap));
		table_row(t, names[i], daemons, up, cap);
	}
	table_print(t);
	printf("\n");
	free(names);
}

static void print_devices(json_t *devs)
{
	struct table *t;
	json_t *d;
	size_t i;

	if (!json_array_size(devs)) {
		printf("no devices mapped\n");
		return;
	}
	t = table_new(7, "DEVICE", "VOLUME", "SIZE", "MODE", "OPEN",
		      "INFLIGHT", "HELD");
	json_array_foreach(devs, i, d) {
		char vol[160], size[32], open[16], infl[16], held[16];

		snprintf(vol, sizeof(vol), "%s/%s", jstr(d, "pool") ?: "?",
			 jstr(d, "volume") ?: "?");
		format_size(jnum(d, "size"), size, sizeof(size));
		snprintf(open, sizeof(open), "%lld", jnum(d, "open_count"));
		snprintf(infl, sizeof(infl), "%lld", jnum(d, "inflight"));
		snprintf(held, sizeof(held), "%lld", jnum(d, "held"));
		table_row(t, jstr(d, "device"), vol, size,
			  json_is_true(json_object_get(d, "read_only")) ?
			  "ro" : "rw", open, infl, held);
	}
	table_print(t);
}

void status_print(json_t *reply)
{
	json_t *k = json_object_get(reply, "kernel");
	json_t *pools = json_object_get(reply, "pools");

	print_mode(reply);
	printf("epoch: %lld\nkernel: %s", jnum(reply, "epoch"),
	       jstr(k, "state") ?: "?");
	if (json_object_get(k, "epoch"))
		printf(" (map epoch %lld)", jnum(k, "epoch"));
	if (jstr(k, "error"))
		printf(" (%s)", jstr(k, "error"));
	printf("\n");
	print_recovery(json_object_get(reply, "recovery"));
	if (json_is_integer(json_object_get(reply, "recovery_share")))
		printf("recovery share: %lld%% (set for the cluster)\n",
		       jnum(reply, "recovery_share"));
	print_fences(reply);
	printf("\n");
	print_hosts(json_object_get(reply, "hosts"));
	print_daemon_table(json_object_get(reply, "daemons"), true);
	printf("\n");
	print_pool_table(pools);
	print_capped_warnings(pools);
	printf("\n");
	print_devices(json_object_get(reply, "devices"));
}

int status_main(int argc, char **argv)
{
	return run_subcommand(argc, argv, status_request, status_print);
}
