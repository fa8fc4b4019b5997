// SPDX-License-Identifier: GPL-2.0-only
/*
 * shardctl pg scrub PGID
 * shardctl pg deep-scrub PGID
 * shardctl pool scrub NAME [--deep]
 *
 * Each asks shard-mapd to have the PG's primary compare every object's
 * copies and repair the bad ones; the outcome shows in "pg ls".
 */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "shardctl.h"

bool valid_pgid(const char *s)
{
	const char *dot = strchr(s, '.');
	const char *c;

	if (!dot || dot == s || dot - s > 10 || !dot[1] || strlen(dot + 1) > 8)
		return false;
	for (c = s; c < dot; c++)
		if (!isdigit((unsigned char)*c))
			return false;
	for (c = dot + 1; *c; c++)
		if (!isxdigit((unsigned char)*c))
			return false;
	return true;
}

void format_scrub_time(json_t *v, char *buf, size_t len)
{
	time_t t;
	struct tm tm;

	if (!json_is_integer(v) || json_integer_value(v) <= 0) {
		snprintf(buf, len, "never");
		return;
	}
	t = (time_t)json_integer_value(v);
	if (!localtime_r(&t, &tm) ||
	    !strftime(buf, len, "%Y-%m-%d %H:%M", &tm))
		snprintf(buf, len, "%lld", (long long)json_integer_value(v));
}

static int pg_request(int argc, char **argv, json_t **req, char *err,
		      bool deep)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ 0 }
	};

	*req = NULL;
	optind = 0;
	if (sub_getopt(argc, argv, opts, err) != -1 ||
	    want_args(argc, argv, 1, 1, "PGID", err))
		return -EINVAL;
	if (!valid_pgid(argv[optind])) {
		snprintf(err, ERRLEN,
			 "bad PG id '%.64s': want POOL.PG as 'pg ls' shows it (e.g. 2.1f)",
			 argv[optind]);
		return -EINVAL;
	}
	*req = json_pack("{s:s, s:s, s:b}", "cmd", "pg-scrub",
			 "pgid", argv[optind], "deep", deep);
	return 0;
}

int pg_scrub_request(int argc, char **argv, json_t **req, char *err)
{
	return pg_request(argc, argv, req, err, false);
}

int pg_deep_scrub_request(int argc, char **argv, json_t **req, char *err)
{
	return pg_request(argc, argv, req, err, true);
}

int pool_scrub_request(int argc, char **argv, json_t **req, char *err)
{
	static const struct option opts[] = {
		{ "deep", no_argument, NULL, 'd' },
		{ "json", no_argument, NULL, 'j' },
		{ 0 }
	};
	bool deep = false;
	int opt;

	*req = NULL;
	optind = 0;
	while ((opt = sub_getopt(argc, argv, opts, err)) != -1) {
		if (opt != 'd')
			return -EINVAL;
		deep = true;
	}
	if (want_args(argc, argv, 1, 1, "NAME [--deep]", err))
		return -EINVAL;
	*req = json_pack("{s:s, s:s, s:b}", "cmd", "pool-scrub",
			 "pool", argv[optind], "deep", deep);
	return 0;
}

/* The PG id asked about, for the printers: run_subcommand gives them
 * the reply only. */
static const char *asked;
static bool asked_deep;

void pg_scrub_print(json_t *reply)
{
	json_t *p = json_object_get(reply, "primary");
	const char *what = asked_deep ? "deep scrub" : "scrub";

	if (json_is_integer(p))
		printf("%s of PG %s queued for its primary, daemon %lld\n",
		       what, asked ?: "?", (long long)json_integer_value(p));
	else
		printf("%s of PG %s queued: the PG has no primary up, it is scrubbed when one is back\n",
		       what, asked ?: "?");
}

void pool_scrub_print(json_t *reply)
{
	printf("%s of the %lld PGs of pool %s queued\n",
	       asked_deep ? "deep scrub" : "scrub", jnum(reply, "pgs"),
	       asked ?: "?");
}

static int pg_main(int argc, char **argv, bool deep)
{
	json_t *req;
	char err[ERRLEN];

	/* The request is built twice: once here for the text. */
	if (!pg_request(argc, argv, &req, err, deep)) {
		asked = argv[optind];
		json_decref(req);
	}
	asked_deep = deep;
	return run_subcommand(argc, argv, deep ? pg_deep_scrub_request :
			      pg_scrub_request, pg_scrub_print);
}

int pg_scrub_main(int argc, char **argv)
{
	return pg_main(argc, argv, false);
}

int pg_deep_scrub_main(int argc, char **argv)
{
	return pg_main(argc, argv, true);
}

int pool_scrub_main(int argc, char **argv)
{
	json_t *req;
	char err[ERRLEN];

	if (!pool_scrub_request(argc, argv, &req, err)) {
		asked = argv[optind];
		asked_deep = json_is_true(json_object_get(req, "deep"));
		json_decref(req);
	}
	return run_subcommand(argc, argv, pool_scrub_request,
			      pool_scrub_print);
}
