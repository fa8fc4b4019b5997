// SPDX-License-Identifier: GPL-2.0-only
/*
 * shardctl pool create NAME --size N [--min-size M] [--device-class CLASS]
 *			[--failure-domain LEVEL] [--pgs P]
 * shardctl pool ls
 * shardctl pool rm NAME
 * (shardctl pool scrub: scrub.c)
 */
#include <linux/shard.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "shardctl.h"

static const char *const classes[] = { "ssd", "hdd", NULL };
static const char *const domains[] = { "host", "rack", "site", "daemon", NULL };

static bool one_of(const char *s, const char *const *words)
{
	for (; *words; words++)
		if (!strcmp(s, *words))
			return true;
	return false;
}

int pool_create_request(int argc, char **argv, json_t **req, char *err)
{
	static const struct option opts[] = {
		{ "size", required_argument, NULL, 's' },
		{ "min-size", required_argument, NULL, 'm' },
		{ "device-class", required_argument, NULL, 'c' },
		{ "failure-domain", required_argument, NULL, 'f' },
		{ "pgs", required_argument, NULL, 'p' },
		{ "json", no_argument, NULL, 'j' },
		{ 0 }
	};
	const char *size_arg = NULL, *class = NULL, *domain = NULL;
	uint64_t size, min_size = 0, pgs = 0;
	const char *min_arg = NULL;
	int opt;

	*req = NULL;
	optind = 0;
	while ((opt = sub_getopt(argc, argv, opts, err)) != -1) {
		switch (opt) {
		case 's':
			size_arg = optarg;
			break;
		case 'm':
			min_arg = optarg;
			if (parse_count(optarg, "--min-size", 1,
					SHARD_MAX_WIDTH, &min_size, err))
				return -EINVAL;
			break;
		case 'c':
			if (!one_of(optarg, classes)) {
				snprintf(err, ERRLEN,
					 "invalid --device-class '%s' (ssd or hdd)",
					 optarg);
				return -EINVAL;
			}
			class = optarg;
			break;
		case 'f':
			if (!one_of(optarg, domains)) {
				snprintf(err, ERRLEN,
					 "invalid --failure-domain '%s' (host, rack, site or daemon)",
					 optarg);
				return -EINVAL;
			}
			domain = optarg;
			break;
		case 'p':
			if (parse_count(optarg, "--pgs", 1, SHARD_MAX_PGS,
					&pgs, err))
				return -EINVAL;
			break;
		default:
			return -EINVAL;
		}
	}
	if (want_args(argc, argv, 1, 1, POOL_CREATE_USAGE, err))
		return -EINVAL;
	if (!size_arg) {
		snprintf(err, ERRLEN, "missing --size (usage: %s %s)",
			 argv[0], POOL_CREATE_USAGE);
		return -EINVAL;
	}
	if (parse_count(size_arg, "--size", 1, SHARD_MAX_WIDTH, &size, err))
		return -EINVAL;
	if (min_arg && min_size > size) {
		snprintf(err, ERRLEN,
			 "--min-size %s is more than --size %s copies",
			 min_arg, size_arg);
		return -EINVAL;
	}
	*req = json_pack("{s:s, s:s, s:I}", "cmd", "pool-create",
			 "name", argv[optind], "size", (json_int_t)size);
	if (min_size)
		json_object_set_new(*req, "min_size", json_integer(min_size));
	if (class)
		json_object_set_new(*req, "class", json_string(class));
	if (domain)
		json_object_set_new(*req, "failure_domain",
				    json_string(domain));
	if (pgs)
		json_object_set_new(*req, "pgs", json_integer(pgs));
	return 0;
}

int pool_ls_request(int argc, char **argv, json_t **req, char *err)
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
	*req = json_pack("{s:s}", "cmd", "pool-ls");
	return 0;
}

int pool_rm_request(int argc, char **argv, json_t **req, char *err)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ 0 }
	};

	*req = NULL;
	optind = 0;
	if (sub_getopt(argc, argv, opts, err) != -1 ||
	    want_args(argc, argv, 1, 1, "NAME", err))
		return -EINVAL;
	*req = json_pack("{s:s, s:s}", "cmd", "pool-rm", "name",
			 argv[optind]);
	return 0;
}

struct state_count {
	const char *state;
	long long n;
};

static int by_count(const void *a, const void *b)
{
	const struct state_count *x = a, *y = b;

	if (x->n != y->n)
		return x->n > y->n ? -1 : 1;
	return strcmp(x->state, y->state);
}

/* {"active+clean":120,"down":8} -> "120 active+clean, 8 down". */
static void format_pg_states(json_t *states, char *buf, size_t len)
{
	size_t i = 0, n = json_object_size(states), at = 0;
	struct state_count *c;
	const char *key;
	json_t *v;

	buf[0] = '\0';
	c = calloc(n ? n : 1, sizeof(*c));
	if (!c)
		return;
	json_object_foreach(states, key, v) {
		c[i].state = key;
		c[i++].n = json_integer_value(v);
	}
	qsort(c, n, sizeof(*c), by_count);
	for (i = 0; i < n && at < len; i++)
		at += snprintf(buf + at, len - at, "%s%lld %s", i ? ", " : "",
			       c[i].n, c[i].state);
	free(c);
	if (!buf[0])
		snprintf(buf, len, "-");
}

void print_pool_table(json_t *pools)
{
	struct table *t;
	json_t *p;
	size_t i;

	if (!json_array_size(pools)) {
		printf("no pools\n");
		return;
	}
	t = table_new(11, "POOL", "ID", "COPIES", "MIN", "PGS", "CLASS", "FD",
		      "VOLUMES", "USABLE", "DEVIATION", "PG STATES");
	json_array_foreach(pools, i, p) {
		char id[24], size[24], min[24], pgs[24], vols[24], usable[32],
		     dev[32], states[512];

		snprintf(id, sizeof(id), "%lld", jnum(p, "id"));
		snprintf(size, sizeof(size), "%lld", jnum(p, "size"));
		snprintf(min, sizeof(min), "%lld", jnum(p, "min_size"));
		snprintf(pgs, sizeof(pgs), "%lld", jnum(p, "pg_count"));
		snprintf(vols, sizeof(vols), "%lld", jnum(p, "volumes"));
		format_size(jnum(p, "usable"), usable, sizeof(usable));
		snprintf(dev, sizeof(dev), "%.1f%%", 100 *
			 json_number_value(json_object_get(p, "max_deviation")));
		format_pg_states(json_object_get(p, "pg_states"), states,
				 sizeof(states));
		table_row(t, jstr(p, "name"), id, size, min, pgs,
			  jstr(p, "class"), jstr(p, "failure_domain"), vols,
			  usable, dev, states);
	}
	table_print(t);
}

static void warn_capped(json_t *p)
{
	json_t *id;
	size_t k;

	json_array_foreach(json_object_get(p, "capped"), k, id)
		printf("warning: daemon %lld cannot be filled in proportion: its failure domain is too large for pool %s\n",
		       (long long)json_integer_value(id),
		       jstr(p, "name") ?: "?");
}

void print_capped_warnings(json_t *pools)
{
	json_t *p;
	size_t i;

	json_array_foreach(pools, i, p)
		warn_capped(p);
	json_array_foreach(pools, i, p)
		if (jnum(p, "inconsistent_pgs") > 0)
			printf("warning: pool %s has %lld inconsistent PG%s: a scrub found copies it could not repair (see 'shardctl pg ls %s')\n",
			       jstr(p, "name") ?: "?", jnum(p, "inconsistent_pgs"),
			       jnum(p, "inconsistent_pgs") == 1 ? "" : "s",
			       jstr(p, "name") ?: "?");
}

static void print_created(json_t *reply)
{
	json_t *p = json_object_get(reply, "pool");

	printf("created pool %s (id %lld, %lld copies, min %lld, %lld PGs, class %s, failure domain %s)\n",
	       jstr(p, "name") ?: "?", jnum(p, "id"), jnum(p, "size"),
	       jnum(p, "min_size"), jnum(p, "pg_count"),
	       jstr(p, "class") ?: "?", jstr(p, "failure_domain") ?: "?");
	warn_capped(p);
}

static void print_ls(json_t *reply)
{
	json_t *pools = json_object_get(reply, "pools");

	print_pool_table(pools);
	print_capped_warnings(pools);
}

int pool_create_main(int argc, char **argv)
{
	return run_subcommand(argc, argv, pool_create_request, print_created);
}

int pool_ls_main(int argc, char **argv)
{
	return run_subcommand(argc, argv, pool_ls_request, print_ls);
}

int pool_rm_main(int argc, char **argv)
{
	return run_subcommand(argc, argv, pool_rm_request, NULL);
}
