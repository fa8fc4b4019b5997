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

#include "../etcd/etcd_fixture.h"

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

/*
 * What the tests on a throwaway etcd share: the etcd, the test's own
 * client on it, and a directory for the mapds' files.
 */
struct mapd_env {
	struct test_etcd etcd;
	struct etcd *e;
	char dir[64];
};

/*
 * Makes the directory from tmpl ("/tmp/mapd-x.XXXXXX"), starts one etcd
 * member, opens a client on it and, if hb is not NULL, starts its
 * heartbeat thread (every 300 ms); undoes it all on a failure (a failed
 * fixture setup gets no teardown). 0, or -errno with err set.
 */
int mapd_env_start(struct mapd_env *env, const char *tmpl,
		   struct hb_set *hb, char *err, size_t len);
/* Closes the client, stops etcd, removes the directory unless keep. */
void mapd_env_release(struct mapd_env *env, bool keep);
/*
 * A fixture teardown: stops hb (if not NULL) and the mapds as
 * mapd_procs_finish does, then releases env, keeping the directory if
 * the test failed and $MAPD_TEST_KEEP is set. How many mapds broke
 * mapd_procs_finish's rules.
 */
int mapd_env_finish(struct mapd_env *env, struct hb_set *hb,
		    struct mapd_proc *m, size_t n, const bool *stopped,
		    bool failed);
/*
 * A test that needs the etcd environment (and is selected by
 * MAPD_TEST) skips without it; for kselftest_harness tests.
 */
#define MAPD_NEED_ENV(env) do {						\
	if (!mapd_test_selected(_metadata->name))			\
		SKIP(return, "not selected by MAPD_TEST");		\
	if (!(env)->e)							\
		SKIP(return, "needs etcd and build/asan/shard-mapd");	\
} while (0)

/*
 * Starts n mapds named "a", "b", ... (n <= 26) in cluster mode on env's
 * etcd at once, *started counting them, then waits until each answers
 * (15 s each). 0 or -errno.
 */
int mapd_procs_start(struct mapd_proc *m, size_t n, size_t *started,
		     const struct mapd_env *env, const char *cluster,
		     double grace);

/*
 * A teardown's end for mapds m[0..n): SIGTERM to all at once (each takes
 * a moment for its leak check; SIGCONT first to those stopped[i], if
 * stopped), then waits for each. A mapd still running must exit 0, and
 * no log may have a sanitizer report: how many broke that, each said on
 * stderr. The logs' tails go to stderr too if failed or any broke it.
 */
int mapd_procs_finish(struct mapd_proc *m, size_t n, const bool *stopped,
		      bool failed);

/* MAPD_TEST=NAME runs only the test NAME: whether name is selected. */
bool mapd_test_selected(const char *name);

/* A request to mapd p bounded by MAPD_CALL_MS; NULL if no answer. */
#define MAPD_CALL_MS	2000
json_t *mapd_req(const struct mapd_proc *p, const char *req);
/* Whether the reply r says ok; its "error" ("no answer" for NULL). */
bool mapd_ok(json_t *r);
const char *mapd_error(json_t *r);

/* Every mapd of m[0..n) names the same leader: its index, or -1. */
int mapd_leader_index(struct mapd_proc *m, size_t n);

/*
 * Registers a 100 GiB ssd daemon at 127.0.0.1:port on mapd p (host:
 * "host-" and the mapd's name) that heartbeats from then on; its id, or
 * 0 (said on stderr).
 */
uint32_t mapd_register_daemon(struct hb_set *h, const struct mapd_proc *p,
			      int port);
/* Daemon id as mapd p sees it: 1 up, 0 down, -1 unknown. */
int mapd_daemon_up(const struct mapd_proc *p, uint32_t id);

/* Runs step, then checks cond, every interval_ms for up to timeout_ms:
 * ms it took, or -1. */
#define STEP_UNTIL(step, interval_ms, timeout_ms, cond) ({		\
	long __t0 = test_now_ms(), __took = -1;				\
	for (;;) {							\
		step;							\
		if (cond) {						\
			__took = test_now_ms() - __t0;			\
			break;						\
		}							\
		if (test_now_ms() - __t0 > (timeout_ms))		\
			break;						\
		usleep((interval_ms) * 1000);				\
	}								\
	__took;								\
})

/* Polls cond every 100 ms for up to timeout_ms: ms it took, or -1. */
#define WAIT_FOR(timeout_ms, cond) STEP_UNTIL((void)0, 100, timeout_ms, cond)

/* cond holds at every check (every 200 ms) for ms. */
#define HOLDS_FOR(ms, cond) ({					\
	long __t0 = test_now_ms();					\
	bool __all = true;						\
	while (__all && test_now_ms() - __t0 < (ms)) {			\
		__all = (cond);						\
		usleep(200000);						\
	}								\
	__all;								\
})

#endif /* _MAPD_PROC_H */
