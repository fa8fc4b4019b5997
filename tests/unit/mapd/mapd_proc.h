/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Helpers for tests that run real shard-mapd processes: start and stop
 * them (they die with the test, PR_SET_PDEATHSIG), talk to them on their
 * socket with a timeout, and heartbeat fake daemons from a thread.
 */
#ifndef _MAPD_PROC_H
#define _MAPD_PROC_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <jansson.h>

struct mapd_proc {
	pid_t pid;		/* 0: not running */
	char name[32];
	char sock[160], state[160], log[160];
};

/* The sanitized shard-mapd ($MAPD, or build/asan/shard-mapd next to the
 * test binary); NULL if there is none.
 */
const char *mapd_proc_bin(void);

/*
 * Starts shard-mapd --foreground --no-kernel in cluster mode with its
 * socket, state file and log in dir, named name (etcd_url NULL: alone,
 * unless dir has a cluster.json). Does not wait for it.
 */
int mapd_proc_start(struct mapd_proc *p, const char *dir, const char *name,
		    const char *etcd_url, const char *cluster, double grace);
/* Waits until it answers "status"; -ECHILD if it exited. */
int mapd_proc_wait_ready(struct mapd_proc *p, long timeout_ms);
/* Whether it is still running (reaps it if not). */
bool mapd_proc_alive(struct mapd_proc *p);
/* SIGKILL and reap. */
void mapd_proc_kill(struct mapd_proc *p);
/*
 * SIGTERM, then SIGKILL after timeout_ms. Returns the wait status, or -1
 * if it had to be killed (or was not running).
 */
int mapd_proc_stop(struct mapd_proc *p, long timeout_ms);
/* Whether the log has needle in it; how many times. */
bool mapd_proc_log_has(const struct mapd_proc *p, const char *needle);
int mapd_proc_log_count(const struct mapd_proc *p, const char *needle);
/* No sanitizer report in the log. */
bool mapd_proc_log_clean(const struct mapd_proc *p);
/* The last bytes of the log, on stderr, each line prefixed "# ". */
void mapd_proc_log_tail(const struct mapd_proc *p, size_t bytes);

/*
 * One request (a JSON text) on a connection of its own, bounded by
 * timeout_ms. Returns the reply (an object) or NULL with *err set.
 */
json_t *mapd_call(const char *sock, const char *req, long timeout_ms,
		  int *err);
/* Same, on an open connection (the caller closes it on an error). */
json_t *mapd_call_fd(int fd, const char *req, int *err);
/* A connection with send and receive timeouts; fd or -errno. */
int mapd_connect(const char *sock, long timeout_ms);

/* Fake daemons registered with and heartbeating to some mapd. */
#define HB_MAX	32

struct hb_daemon {
	char sock[160];
	uint32_t id;
	bool on;
	int fd;
	uint64_t epoch;		/* from the last reply */
};

struct hb_set {
	pthread_t thread;
	pthread_mutex_t lock;
	struct hb_daemon d[HB_MAX];
	size_t n;
	long interval_ms;
	volatile int stop;
	bool running;
};

int hb_start(struct hb_set *h, long interval_ms);
/*
 * A daemon as shardd does it: sends req (a daemon-register) to the mapd
 * at sock on a connection of its own, its session, and heartbeats on it
 * from then on (reconnecting after an error). Returns the reply, or NULL
 * with *err set; one thread only adds daemons.
 */
json_t *hb_register(struct hb_set *h, const char *sock, const char *req,
		    int *err);
/* Pause or resume one daemon's heartbeats. */
void hb_enable(struct hb_set *h, uint32_t id, bool on);
void hb_stop(struct hb_set *h);

#endif /* _MAPD_PROC_H */
