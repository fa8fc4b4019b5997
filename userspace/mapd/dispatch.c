// SPDX-License-Identifier: GPL-2.0-only
/* Request line -> command -> reply line. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cluster.h"
#include "cmds.h"
#include "dispatch.h"

/* How long a change that lost a race is tried again (seconds). */
#define RETRY_FOR	2.0

static const struct {
	const char *name;
	cmd_fn fn;
	/*
	 * A person's change: refused because something does or does not
	 * exist (ENOENT, EEXIST), a cluster mapd may only be behind etcd,
	 * so it catches up and tries again before it refuses (unblocklist
	 * on one mapd just after a fence on another; resize on one just
	 * after create on another).
	 */
	bool change;
} commands[] = {
	{ "daemon-register",	cmd_daemon_register, false },
	{ "create",		cmd_create, true },
	{ "rm",			cmd_rm, true },
	{ "ls",			cmd_ls, false },
	{ "resize",		cmd_resize, true },
	{ "map",		cmd_map, true },
	{ "unmap",		cmd_unmap, true },
	{ "status",		cmd_status, false },
	{ "daemon-heartbeat",	cmd_daemon_heartbeat, false },
	{ "daemon-report",	cmd_daemon_report, false },
	{ "map-get",		cmd_map_get, false },
	{ "map-show",		cmd_map_show, false },
	{ "daemon-ls",		cmd_daemon_ls, false },
	{ "daemon-out",		cmd_daemon_out, true },
	{ "daemon-in",		cmd_daemon_in, true },
	{ "daemon-rm",		cmd_daemon_rm, true },
	{ "pool-create",	cmd_pool_create, true },
	{ "pool-ls",		cmd_pool_ls, false },
	{ "pool-rm",		cmd_pool_rm, true },
	{ "pg-ls",		cmd_pg_ls, false },
	{ "pg-backfilled",	cmd_pg_backfilled, false },
	{ "pg-scrub",		cmd_pg_scrub, true },
	{ "pool-scrub",		cmd_pool_scrub, true },
	{ "pg-scrubbed",	cmd_pg_scrubbed, false },
	{ "cluster-create",	cmd_cluster_create, false },
	{ "cluster-join",	cmd_cluster_join, false },
	{ "client-blocklist",	cmd_client_blocklist, true },
	{ "client-unblocklist",	cmd_client_unblocklist, true },
	{ "client-ls",		cmd_client_ls, false },
	{ "client-auto-fence",	cmd_client_auto_fence, true },
	{ "recovery-share",	cmd_recovery_share, false },
};

static json_t *error_reply(const char *msg)
{
	return json_pack("{s:b, s:s}", "ok", 0, "error", msg);
}

json_t *mapd_handle(struct mapd *m, json_t *req)
{
	char err[ERRLEN] = "";
	const char *cmd;
	json_t *reply;
	bool caught_up = false;
	int ret, attempt;
	double start;
	size_t i;

	if (!json_is_object(req))
		return error_reply("request must be a JSON object");
	cmd = json_string_value(json_object_get(req, "cmd"));
	if (!cmd)
		return error_reply("missing field \"cmd\" (a string)");
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (!strcmp(commands[i].name, cmd))
			break;
	if (i == sizeof(commands) / sizeof(commands[0])) {
		snprintf(err, sizeof(err), "unknown command \"%.64s\"", cmd);
		return error_reply(err);
	}
	/*
	 * In a cluster, a change that lost a race is tried again on the
	 * state that won it. For a while rather than a number of times: a
	 * mapd with a burst of changes commits back to back, one round trip
	 * each, while the loser needs two (re-read, write) and can lose any
	 * number of times in a row until the burst ends. A short random
	 * pause keeps two losers out of step.
	 */
	start = mapd_now();
	for (attempt = 0; ; attempt++) {
		reply = json_pack("{s:b}", "ok", 1);
		if (!reply)
			return NULL;
		err[0] = '\0';
		ret = commands[i].fn(m, req, reply, err);
		if ((ret == -ENOENT || ret == -EEXIST) && m->cl &&
		    commands[i].change && !caught_up) {
			caught_up = true;
			if (cluster_catch_up(m)) {
				json_decref(reply);
				continue;
			}
		}
		if (ret != -EAGAIN || !m->cl || mapd_now() - start > RETRY_FOR)
			break;
		json_decref(reply);
		usleep(1000 + random() % (1000 << (attempt < 4 ? attempt : 4)));
	}
	if (ret) {
		/* A machine-readable "reason" the command set goes along. */
		json_t *reason = json_incref(json_object_get(reply, "reason"));

		json_decref(reply);
		if (!err[0])
			snprintf(err, sizeof(err), "%s", strerror(-ret));
		reply = error_reply(err);
		if (reply && json_is_string(reason))
			json_object_set(reply, "reason", reason);
		json_decref(reason);
		return reply;
	}
	return reply;
}

char *mapd_handle_line(struct mapd *m, const char *line, size_t len)
{
	json_error_t je;
	json_t *req, *reply;
	char err[ERRLEN];
	char *out;

	req = json_loadb(line, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY,
			 &je);
	if (!req) {
		snprintf(err, sizeof(err), "invalid JSON at column %d: %s",
			 je.column, je.text);
		reply = error_reply(err);
	} else {
		reply = mapd_handle(m, req);
		json_decref(req);
	}
	if (!reply)
		return NULL;
	out = json_dumps(reply, JSON_COMPACT);
	json_decref(reply);
	return out;
}
