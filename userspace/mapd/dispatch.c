// SPDX-License-Identifier: GPL-2.0-only
/* Request line -> command -> reply line. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmds.h"
#include "dispatch.h"

/* How long a change that lost a race is tried again (seconds). */
#define RETRY_FOR	2.0

static const struct {
	const char *name;
	cmd_fn fn;
} commands[] = {
	{ "daemon-register",	cmd_daemon_register },
	{ "create",		cmd_create },
	{ "rm",			cmd_rm },
	{ "ls",			cmd_ls },
	{ "resize",		cmd_resize },
	{ "map",		cmd_map },
	{ "unmap",		cmd_unmap },
	{ "status",		cmd_status },
	{ "daemon-heartbeat",	cmd_daemon_heartbeat },
	{ "daemon-report",	cmd_daemon_report },
	{ "map-get",		cmd_map_get },
	{ "map-show",		cmd_map_show },
	{ "daemon-ls",		cmd_daemon_ls },
	{ "daemon-out",		cmd_daemon_out },
	{ "daemon-in",		cmd_daemon_in },
	{ "daemon-rm",		cmd_daemon_rm },
	{ "pool-create",	cmd_pool_create },
	{ "pool-ls",		cmd_pool_ls },
	{ "pool-rm",		cmd_pool_rm },
	{ "pg-ls",		cmd_pg_ls },
	{ "pg-backfilled",	cmd_pg_backfilled },
	{ "pg-scrub",		cmd_pg_scrub },
	{ "pool-scrub",		cmd_pool_scrub },
	{ "pg-scrubbed",	cmd_pg_scrubbed },
	{ "cluster-create",	cmd_cluster_create },
	{ "cluster-join",	cmd_cluster_join },
	{ "client-blocklist",	cmd_client_blocklist },
	{ "client-unblocklist",	cmd_client_unblocklist },
	{ "client-ls",		cmd_client_ls },
	{ "client-auto-fence",	cmd_client_auto_fence },
	{ "recovery-share",	cmd_recovery_share },
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
