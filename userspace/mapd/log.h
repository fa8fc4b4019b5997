/* SPDX-License-Identifier: GPL-2.0-only */
/* shard-mapd logging: stderr in the foreground, syslog otherwise. */
#ifndef _MAPD_LOG_H
#define _MAPD_LOG_H

#include <stdbool.h>
#include <syslog.h>

void log_init(bool use_syslog, bool quiet);
void log_msg(int prio, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#define log_err(...)	log_msg(LOG_ERR, __VA_ARGS__)
#define log_warn(...)	log_msg(LOG_WARNING, __VA_ARGS__)
#define log_info(...)	log_msg(LOG_INFO, __VA_ARGS__)

#endif /* _MAPD_LOG_H */
