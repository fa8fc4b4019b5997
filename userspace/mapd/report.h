/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Peer reports: a daemon that cannot be reached from this host, or can
 * again. They come from the kernel's events and from "daemon-report"
 * requests, and shorten failure detection in cluster mode (see
 * cluster_report.c for the rules). On one host they are only logged: a
 * local daemon's session with mapd already says whether it lives.
 */
#ifndef _MAPD_REPORT_H
#define _MAPD_REPORT_H

#include <stdbool.h>
#include <stdint.h>

#include "genl_event.h"
#include "mapd.h"

/*
 * daemon_id is unreachable from here (err: a positive errno, 0 if none
 * known) or reachable again; source says who noticed ("kernel", or a
 * daemon's own words). A daemon not in the map is logged and ignored.
 */
void mapd_peer_report(struct mapd *m, uint32_t daemon_id, bool unreachable,
		      int err, const char *source);

/* The kernel's events (kevent_fn; arg is the struct mapd). */
void mapd_kernel_event(void *arg, const struct kevent *ev);

#endif /* _MAPD_REPORT_H */
