// SPDX-License-Identifier: GPL-2.0-only
/*
 * "recovery-share": the share of the time every daemon gives backfill
 * while clients are active, set at runtime for the whole cluster. It is
 * part of the state (in a cluster the config document, so every mapd has
 * it) and reaches the daemons in their heartbeats' replies; cleared, each
 * daemon goes back to its own --recovery-share.
 */
#include <errno.h>
#include <stdio.h>

#include "cmds.h"
#include "log.h"

#define SHARE_WANTED	"an integer 1..100, or null to clear it"

/* "share": 1..100 into *share, 0 for null or 0 (clear). */
static int req_share(json_t *req, uint8_t *share, char *err)
{
	json_t *v = json_object_get(req, "share");
	json_int_t n;

	if (!v) {
		snprintf(err, ERRLEN, "missing field \"share\" (%s)",
			 SHARE_WANTED);
		return -EINVAL;
	}
	if (json_is_null(v)) {
		*share = 0;
		return 0;
	}
	n = json_is_integer(v) ? json_integer_value(v) : -1;
	if (n < 0 || n > 100) {
		snprintf(err, ERRLEN, "field \"share\" must be %s",
			 SHARE_WANTED);
		return -EINVAL;
	}
	*share = n;
	return 0;
}

static void reply_share(json_t *reply, uint8_t share)
{
	json_object_set_new(reply, "recovery_share",
			    share ? json_integer(share) : json_null());
}

int cmd_recovery_share(struct mapd *m, json_t *req, json_t *reply,
		       char *err)
{
	uint8_t share;
	json_t *snap;
	int ret;

	ret = req_share(req, &share, err);
	if (ret)
		return ret;
	if (m->st.recovery_share == share) {
		reply_share(reply, share);
		return 0;	/* so it is already */
	}
	/* Not part of the map: no new epoch. */
	snap = mapd_snapshot(m);
	if (!snap) {
		snprintf(err, ERRLEN, "out of memory");
		return -ENOMEM;
	}
	m->st.recovery_share = share;
	ret = mapd_commit(m, snap, false, err, ERRLEN);
	if (ret)
		return ret;
	if (share)
		log_info("recovery share set to %u%% for every daemon",
			 (unsigned int)share);
	else
		log_info("recovery share cleared: each daemon uses its own --recovery-share");
	reply_share(reply, share);
	return 0;
}
