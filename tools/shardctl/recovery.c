// SPDX-License-Identifier: GPL-2.0-only
/*
 * shardctl recovery share PCT|default
 *
 * The share of the time every daemon gives backfill while clients are
 * active, set for the whole cluster at runtime; "default" lets each
 * daemon use its own --recovery-share again. shard-mapd hands it to the
 * daemons with their heartbeats.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "shardctl.h"

int recovery_share_request(int argc, char **argv, json_t **req, char *err)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ 0 }
	};
	uint64_t pct = 0;
	const char *v;

	*req = NULL;
	optind = 0;
	if (sub_getopt(argc, argv, opts, err) != -1 ||
	    want_args(argc, argv, 1, 1, RECOVERY_SHARE_USAGE, err))
		return -EINVAL;
	v = argv[optind];
	if (strcmp(v, "default") &&
	    parse_count(v, "share", 1, 100, &pct, err)) {
		snprintf(err, ERRLEN,
			 "'%.32s': say a percentage 1..100, or default", v);
		return -EINVAL;
	}
	*req = pct ? json_pack("{s:s, s:I}", "cmd", "recovery-share",
			       "share", (json_int_t)pct) :
		     json_pack("{s:s, s:n}", "cmd", "recovery-share", "share");
	return *req ? 0 : -ENOMEM;
}

void recovery_share_print(json_t *reply)
{
	json_t *v = json_object_get(reply, "recovery_share");

	if (json_is_integer(v))
		printf("recovery share: %lld%% of the time while clients are active, for every daemon\n",
		       (long long)json_integer_value(v));
	else
		printf("recovery share: each daemon's own (--recovery-share)\n");
}

int recovery_share_main(int argc, char **argv)
{
	return run_subcommand(argc, argv, recovery_share_request,
			      recovery_share_print);
}
