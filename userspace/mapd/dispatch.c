// SPDX-License-Identifier: GPL-2.0-only
/* Request line -> command -> reply line. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmds.h"
#include "dispatch.h"

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
	size_t i;
	int ret;

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
	reply = json_pack("{s:b}", "ok", 1);
	if (!reply)
		return NULL;
	ret = commands[i].fn(m, req, reply, err);
	if (ret) {
		json_decref(reply);
		if (!err[0])
			snprintf(err, sizeof(err), "%s", strerror(-ret));
		return error_reply(err);
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
