// SPDX-License-Identifier: GPL-2.0-only
/* shardctl pg ls [POOL] (pg scrub, pg deep-scrub: scrub.c) */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include "shardctl.h"

int pg_ls_request(int argc, char **argv, json_t **req, char *err)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ 0 }
	};

	*req = NULL;
	optind = 0;
	if (sub_getopt(argc, argv, opts, err) != -1 ||
	    want_args(argc, argv, 0, 1, "[POOL]", err))
		return -EINVAL;
	*req = json_pack("{s:s}", "cmd", "pg-ls");
	if (optind < argc)
		json_object_set_new(*req, "pool", json_string(argv[optind]));
	return 0;
}

void pg_ls_print(json_t *reply)
{
	json_t *pgs = json_object_get(reply, "pgs"), *pg;
	bool errors = false;
	struct table *t;
	size_t i;

	if (!json_array_size(pgs)) {
		printf("no placement groups\n");
		return;
	}
	/* The errors column only when some PG has any. */
	json_array_foreach(pgs, i, pg)
		errors |= jnum(pg, "scrub_errors") > 0;
	if (errors)
		t = table_new(8, "PG", "POOL", "STATE", "UP", "ACTING",
			      "PRIMARY", "LAST SCRUB", "ERRORS");
	else
		t = table_new(7, "PG", "POOL", "STATE", "UP", "ACTING",
			      "PRIMARY", "LAST SCRUB");
	json_array_foreach(pgs, i, pg) {
		json_t *up = json_object_get(pg, "up");
		json_t *acting = json_object_get(pg, "acting");
		char *u = format_ids(up, 0, json_array_size(up));
		char *a = format_ids(acting, 0, json_array_size(acting));
		char *p = json_text(json_object_get(pg, "primary"));
		char last[64], errs[24] = "";

		format_scrub_time(json_object_get(pg, "last_scrub"), last,
				  sizeof(last));
		if (jnum(pg, "scrub_errors") > 0)
			snprintf(errs, sizeof(errs), "%lld",
				 jnum(pg, "scrub_errors"));
		table_row(t, jstr(pg, "pgid"), jstr(pg, "pool"),
			  jstr(pg, "state"), u, a, p, last, errs);
		free(u);
		free(a);
		free(p);
	}
	table_print(t);
}

int pg_ls_main(int argc, char **argv)
{
	return run_subcommand(argc, argv, pg_ls_request, pg_ls_print);
}
