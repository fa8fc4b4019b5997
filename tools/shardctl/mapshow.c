// SPDX-License-Identifier: GPL-2.0-only
/*
 * shardctl map-show: the placement map as shard-mapd pushes it, with
 * each PG's acting set next to where placement would put it.
 */
#include <linux/shard.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include "shardctl.h"

int map_show_request(int argc, char **argv, json_t **req, char *err)
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
	*req = json_pack("{s:s}", "cmd", "map-show");
	return 0;
}

static void print_daemons(json_t *daemons)
{
	struct table *t;
	json_t *d;
	size_t i;

	if (!json_array_size(daemons)) {
		printf("no daemons\n");
		return;
	}
	t = table_new(4, "DAEMON", "ADDRESS", "STATE", "IN");
	json_array_foreach(daemons, i, d) {
		char id[24], addr[80];

		snprintf(id, sizeof(id), "%lld", jnum(d, "id"));
		format_addr(d, addr, sizeof(addr));
		table_row(t, id, addr, jtrue(d, "up") ? "up" : "down",
			  jtrue(d, "in") ? "in" : "out");
	}
	table_print(t);
}

/* acting and placement are PG-major: pg_count rows of width ids. */
static void print_pool(json_t *p)
{
	json_t *acting = json_object_get(p, "acting");
	json_t *placement = json_object_get(p, "placement");
	long long pgs = jnum(p, "pg_count"), width = jnum(p, "width");
	struct table *t;
	long long pg;

	printf("pool %s (id %lld, %lld PGs, %lld copies, min %lld)\n",
	       jstr(p, "name") ?: "?", jnum(p, "id"), pgs, width,
	       jnum(p, "min_size"));
	/* Bounded by the protocol, whatever the reply says. */
	if (pgs <= 0 || width <= 0 || pgs > SHARD_MAX_PGS ||
	    width > SHARD_MAX_WIDTH)
		return;
	t = table_new(3, "PG", "ACTING", "PLACEMENT");
	for (pg = 0; pg < pgs; pg++) {
		char id[48];
		char *a = format_ids(acting, pg * width, width);
		char *pl = placement ? format_ids(placement, pg * width, width) :
				       NULL;

		snprintf(id, sizeof(id), "%lld.%llx", jnum(p, "id"),
			 (unsigned long long)pg);
		table_row(t, id, a, pl);
		free(a);
		free(pl);
	}
	table_print(t);
}

static void print(json_t *reply)
{
	json_t *map = json_object_get(reply, "map"), *p;
	size_t i;

	printf("epoch: %lld\n\n", jnum(map, "epoch"));
	print_daemons(json_object_get(map, "daemons"));
	json_array_foreach(json_object_get(map, "pools"), i, p) {
		printf("\n");
		print_pool(p);
	}
}

int map_show_main(int argc, char **argv)
{
	return run_subcommand(argc, argv, map_show_request, print);
}
