/* SPDX-License-Identifier: GPL-2.0-only */
/* The UNIX socket server of shard-mapd: a poll() loop over its clients. */
#ifndef _MAPD_SERVER_H
#define _MAPD_SERVER_H

#include <signal.h>

#include "mapd.h"

/*
 * Creates the socket's directory (0755) if needed and listens on path
 * (mode 0600). A stale socket is replaced; a live one (another
 * shard-mapd) or a file that is not a socket is an error. Returns the
 * listening fd or -errno, reported.
 */
int server_listen(const char *path);

/*
 * Serves clients until *stop is set. SIGINT and SIGTERM must be blocked
 * by the caller; they are let through only while waiting. Also calls
 * mapd_tick() every second and mapd_sync_kernel() every few seconds,
 * and reads the kernel's events (m->events) as they come.
 */
int server_run(struct mapd *m, int lfd, volatile sig_atomic_t *stop);

#endif /* _MAPD_SERVER_H */
