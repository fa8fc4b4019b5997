// SPDX-License-Identifier: GPL-2.0-only
/*
 * "daemon-report": a daemon (or a test) says that a peer daemon cannot
 * be reached from its host, or can again. See report.h.
 */
#include <linux/shard.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cmds.h"
#include "report.h"

#define REPORTER_MAX	64
#define MAX_ERRNO	4095

/* 1..REPORTER_MAX bytes, no control characters: it goes to the logs. */
static bool valid_reporter(const char *s)
{
	size_t n = strlen(s), i;

	if (n < 1 || n > REPORTER_MAX)
		return false;
	for (i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return false;
	return true;
}

int cmd_daemon_report(struct mapd *m, json_t *req, json_t *reply, char *err)
{
	uint64_t id, e = 0;
	const char *reporter;
	json_t *u;
	int ret;

	(void)reply;
	if ((ret = req_u64(req, "id", true, &id, err)) ||
	    (ret = req_string(req, "reporter", true, &reporter, err)) ||
	    (ret = req_u64(req, "err", false, &e, err)))
		return ret;
	u = json_object_get(req, "unreachable");
	if (!u || json_is_null(u)) {
		snprintf(err, ERRLEN, "missing field \"unreachable\"");
		return -EINVAL;
	}
	if (!json_is_boolean(u)) {
		snprintf(err, ERRLEN,
			 "field \"unreachable\" must be true or false");
		return -EINVAL;
	}
	if (!valid_reporter(reporter)) {
		snprintf(err, ERRLEN,
			 "field \"reporter\" must be 1..%d characters, none of them control characters",
			 REPORTER_MAX);
		return -EINVAL;
	}
	if (e > MAX_ERRNO) {
		snprintf(err, ERRLEN, "field \"err\" must be an errno (0..%d)",
			 MAX_ERRNO);
		return -EINVAL;
	}
	if (!id || id >= SHARD_MAX_DAEMON_ID || !state_daemon(&m->st, id)) {
		snprintf(err, ERRLEN, "unknown daemon %llu",
			 (unsigned long long)id);
		return -ENOENT;
	}
	mapd_peer_report(m, id, json_is_true(u), e, reporter);
	return 0;
}
