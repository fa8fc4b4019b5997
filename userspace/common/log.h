/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Minimal leveled logging: to stderr ("prog: level: message"), or to
 * syslog once the program has detached from its terminal.
 */
#ifndef SHARD_LOG_H
#define SHARD_LOG_H

#include <stdbool.h>
#include <time.h>

enum shard_log_level {
	SHARD_LOG_ERR,
	SHARD_LOG_WARN,
	SHARD_LOG_INFO,
	SHARD_LOG_DEBUG,
};

void shard_log_init(const char *prog, enum shard_log_level level);
void shard_log_set_level(enum shard_log_level level);
void shard_log_use_syslog(void);
void shard_log(enum shard_log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#define pr_err(...)	shard_log(SHARD_LOG_ERR, __VA_ARGS__)
#define pr_warn(...)	shard_log(SHARD_LOG_WARN, __VA_ARGS__)
#define pr_info(...)	shard_log(SHARD_LOG_INFO, __VA_ARGS__)
#define pr_debug(...)	shard_log(SHARD_LOG_DEBUG, __VA_ARGS__)

/*
 * Rate limiting for messages a peer can trigger at will (bad requests,
 * disk errors on every read): at most burst messages per interval.
 */
struct shard_ratelimit {
	time_t start;
	unsigned int interval;	/* seconds */
	unsigned int burst;
	unsigned int printed;
	unsigned int missed;
};

#define SHARD_RATELIMIT_INIT { .interval = 5, .burst = 10 }

bool shard_ratelimit_ok(struct shard_ratelimit *rl);

#define shard_log_ratelimited(level, ...)				\
	do {								\
		static struct shard_ratelimit __rl = SHARD_RATELIMIT_INIT; \
		if (shard_ratelimit_ok(&__rl))				\
			shard_log(level, __VA_ARGS__);			\
	} while (0)

#define pr_err_ratelimited(...)	shard_log_ratelimited(SHARD_LOG_ERR, __VA_ARGS__)
#define pr_warn_ratelimited(...) shard_log_ratelimited(SHARD_LOG_WARN, __VA_ARGS__)

#endif /* SHARD_LOG_H */
