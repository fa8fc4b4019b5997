/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Helpers for libshardetcd's tests: throwaway etcd members on free ports,
 * and fake servers that answer with whatever a test wants. Every process
 * started here dies with the test (PR_SET_PDEATHSIG), so a crashed or
 * timed-out test leaves nothing running.
 */
#ifndef _ETCD_FIXTURE_H
#define _ETCD_FIXTURE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "etcd.h"

struct test_etcd {
	pid_t pid;
	char dir[64];		/* data dir and log, removed by stop */
	char url[64];		/* the client URL */
	int port, peer_port;
	char name[16];		/* the member's name, m0... */
	char cluster[512];	/* its --initial-cluster */
};

/* The etcd binary ($ETCD or etcd in $PATH), NULL if there is none. */
const char *test_etcd_bin(void);
/* Start n members forming one cluster and wait until all serve. */
int test_etcd_start(struct test_etcd *m, size_t n);
/* Kill one member (SIGKILL), wait for it, remove its data. */
void test_etcd_stop(struct test_etcd *m);
/* Kill one member (SIGKILL) and wait for it, keeping its data... */
void test_etcd_kill(struct test_etcd *m);
/* ... to start it again: same name, ports and data; waits until it serves
 * (a member of a bigger cluster needs the others' quorum for that).
 */
int test_etcd_restart(struct test_etcd *m);

/* A port nothing listens on (bound once, then released). */
int test_free_port(void);
/* A listening socket that never accepts: requests to it hang. */
int test_silent_listener(int *port);

/*
 * A fake server: for each connection, reads the request and writes reply
 * (in 3-byte pieces if dribble), then closes the connection, or keeps it
 * open if hold (like a watch stream).
 */
struct test_fake {
	pid_t pid;
	int port;
	char url[64];
};
int test_fake_start(struct test_fake *f, const char *reply, bool dribble,
		    bool hold);
void test_fake_stop(struct test_fake *f);

long test_now_ms(void);

#endif /* _ETCD_FIXTURE_H */
