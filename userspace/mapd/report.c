// SPDX-License-Identifier: GPL-2.0-only
/* Peer reports: see report.h. */
#include <linux/shard.h>
#include <string.h>

#include "cluster.h"
#include "log.h"
#include "report.h"

void mapd_peer_report(struct mapd *m, uint32_t daemon_id, bool unreachable,
		      int err, const char *source)
{
	if (!state_daemon(&m->st, daemon_id)) {
		log_warn("%s says daemon %u is %s, but it is not in the map; ignored",
			 source, daemon_id,
			 unreachable ? "unreachable" : "reachable");
		return;
	}
	if (m->cl) {
		cluster_peer_report(m, daemon_id, unreachable, err, source);
		return;
	}
	/* One host: the daemon's session with us is the better witness. */
	if (unreachable)
		log_warn("daemon %u unreachable (%s: %s)", daemon_id, source,
			 err ? strerror(err) : "no reason given");
	else
		log_info("daemon %u reachable again (%s)", daemon_id, source);
}

void mapd_kernel_event(void *arg, const struct kevent *ev)
{
	struct mapd *m = arg;

	switch (ev->type) {
	case SHARD_EVENT_DAEMON_UNREACHABLE:
		mapd_peer_report(m, ev->daemon_id, true, ev->err, "kernel");
		break;
	case SHARD_EVENT_DAEMON_CONNECTED:
		mapd_peer_report(m, ev->daemon_id, false, 0, "kernel");
		break;
	default:
		/* I/O errors and newer events say nothing of liveness. */
		break;
	}
}
