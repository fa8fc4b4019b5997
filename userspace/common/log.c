// SPDX-License-Identifier: GPL-2.0-only
#include <stdarg.h>
#include <stdio.h>
#include <syslog.h>

#include "log.h"

static const char *log_prog = "shard";
static enum shard_log_level log_level = SHARD_LOG_INFO;
static bool log_syslog;

static const char *const level_names[] = {
	[SHARD_LOG_ERR] = "error",
	[SHARD_LOG_WARN] = "warning",
	[SHARD_LOG_INFO] = "info",
	[SHARD_LOG_DEBUG] = "debug",
};

static const int level_prio[] = {
	[SHARD_LOG_ERR] = LOG_ERR,
	[SHARD_LOG_WARN] = LOG_WARNING,
	[SHARD_LOG_INFO] = LOG_INFO,
	[SHARD_LOG_DEBUG] = LOG_DEBUG,
};

void shard_log_init(const char *prog, enum shard_log_level level)
{
	log_prog = prog;
	log_level = level;
}

void shard_log_set_level(enum shard_log_level level)
{
	log_level = level;
}

void shard_log_use_syslog(void)
{
	openlog(log_prog, LOG_PID, LOG_DAEMON);
	log_syslog = true;
}

void shard_log(enum shard_log_level level, const char *fmt, ...)
{
	va_list ap;

	if (level > log_level)
		return;
	va_start(ap, fmt);
	if (log_syslog) {
		vsyslog(level_prio[level], fmt, ap);
	} else {
		/* One fprintf per line keeps lines whole under stdio locking. */
		char msg[1024];

		vsnprintf(msg, sizeof(msg), fmt, ap);
		fprintf(stderr, "%s: %s: %s\n", log_prog, level_names[level],
			msg);
	}
	va_end(ap);
}

bool shard_ratelimit_ok(struct shard_ratelimit *rl)
{
	time_t now = time(NULL);

	if (now - rl->start >= (time_t)rl->interval) {
		if (rl->missed)
			shard_log(SHARD_LOG_WARN, "%u messages suppressed",
				  rl->missed);
		rl->start = now;
		rl->printed = 0;
		rl->missed = 0;
	}
	if (rl->printed < rl->burst) {
		rl->printed++;
		return true;
	}
	rl->missed++;
	return false;
}
