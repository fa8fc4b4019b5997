/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The harness of shardd's end-to-end tests: runs the shardd binary
 * ($SHARDD, else the sanitized build) on a temporary store on 127.0.0.1,
 * talks the wire protocol to it as a client or as its peer "daemon 8",
 * and plays shard-mapd on its --mapd socket (one JSON line per request,
 * one per reply).
 *
 * The maps the fake mapd sends hold daemons 7 (the daemon under test,
 * once registered) and 8, and pool 1 of 16 PGs. Calls return 0 (or what
 * they say) on success and -1 on any failure, and never assert: the
 * tests do.
 */
#ifndef _DAEMON_HARNESS_H
#define _DAEMON_HARNESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <jansson.h>

#include "version.h"
#include "wire.h"

/* A shardd process and the temporary directory it works in. */
struct daemon {
	char dir[64];
	char store[96];		/* its --store, in dir */
	char mapd[96];		/* its --mapd socket, in dir */
	unsigned int port;
	pid_t pid;		/* 0 when not running */
};

/* Where a request goes: pool and volume, and the client's epoch. */
struct target {
	uint32_t pool;
	uint64_t volume;
	uint64_t epoch;
};

/* Pool 1, volume 9, epoch 0: where call() sends. */
extern const struct target default_target;

/*
 * A fake shard-mapd on the daemon's --mapd socket, speaking the session
 * protocol: one JSON line per request, one per reply.
 */
struct fake_mapd {
	int lfd;
	int c;			/* the daemon's session, or -1 */
	char buf[65536];	/* received, not yet taken */
	size_t len;
};

#ifdef FIXTURE_DATA
/*
 * The fixtures' data, for test files (which include kselftest_harness.h
 * before this header). A test file registers a fixture with a bodiless
 * FIXTURE(shardd); or FIXTURE(session); and gives it a FIXTURE_SETUP
 * calling fixture_setup() (and, for session, mapd_listen() on d.mapd)
 * and a FIXTURE_TEARDOWN calling fixture_teardown().
 */

/* A daemon without mapd; a and b hold SHARD_MAX_IO bytes each; fd is
 * the test's client connection (-1 if none), closed by the teardown. */
FIXTURE_DATA(shardd) {
	struct daemon d;
	unsigned char *a, *b;
	int fd;
};

/* The same, with a fake mapd listening on the daemon's --mapd socket. */
FIXTURE_DATA(session) {
	struct daemon d;
	struct fake_mapd m;
	unsigned char *a, *b;
	int fd;
};
#endif

/*
 * Where the maps put daemon 8: a test's own listener (see peer8_listen()),
 * if set, else 127.0.0.2:7410.
 */
extern unsigned int peer8_port;
/* An address the maps blocklist, if set. */
extern const char *map_block;
/* A "backfill" list for the maps' pool, if set (a JSON text). */
extern const char *map_backfill;

/* For a fixture's setup: makes d's temporary directory, names its store
 * and mapd socket in it, and allocates *a and *b of SHARD_MAX_IO bytes. */
int fixture_setup(struct daemon *d, unsigned char **a, unsigned char **b);
/* For a fixture's teardown: closes fd (if >= 0), kills d (if running),
 * closes m (if not NULL), removes d's directory, frees a and b. */
void fixture_teardown(struct daemon *d, struct fake_mapd *m, int fd,
		      unsigned char *a, unsigned char *b);

/* The shardd binary: $SHARDD, else the sanitized build. */
const char *shardd_bin(void);
/* A TCP port of 127.0.0.1 that nothing listened on a moment ago. */
unsigned int free_port(void);
/* A client connection to 127.0.0.1:port (5 s receive timeout, no Nagle);
 * the fd or -1. */
int try_connect(unsigned int port);
/* Starts shardd on a free port, with --mapd d->mapd (as host "testhost",
 * class hdd) or --no-mapd, and the options in extra (NULL-terminated,
 * may be NULL) after those; waits until it accepts connections. */
int daemon_start_with(struct daemon *d, bool with_mapd,
		      const char *const *extra);
/* daemon_start_with() without extra options. */
int daemon_start(struct daemon *d, bool with_mapd);
/*
 * Starts the daemon (with mapd) with its stderr in a new unlinked file,
 * *logfd, for the test to read back.
 */
int daemon_start_logged(struct daemon *d, const char *const *extra,
			int *logfd);
/* How many times the daemon's log so far holds what. */
int log_count(int logfd, const char *what);
/* Copies the daemon's log to our stderr, as if it had written there. */
void log_show(int logfd);
/* Sends sig and waits: 0 when it exited cleanly (and, under ASan, leak
 * free), or always after SIGKILL. */
int daemon_stop(struct daemon *d, int sig);
/* True while the daemon has not exited. */
bool daemon_alive(struct daemon *d);

/* All of buf, or -1. */
int send_all(int fd, const void *buf, size_t len);
/* Exactly len bytes, or -1 (on close or the receive timeout). */
int recv_all(int fd, void *buf, size_t len);
/* Encodes and sends a request, with h->len bytes of payload if not NULL
 * (setting h->data_crc); REP_WRITE and REP_ZERO with the unknown
 * version. */
int send_req(int fd, struct shard_req_h *h, const void *payload);
/* The same, REP_WRITE and REP_ZERO with version *ver (NULL: unknown)
 * and the flags in rep_flags_out. */
extern uint32_t rep_flags_out;
int send_req_ver(int fd, struct shard_req_h *h, const void *payload,
		 const struct shard_ver *ver);
/* Reads one reply and its payload (into buf, at most cap bytes);
 * returns the status or -1 on a broken reply. */
int recv_reply(int fd, struct shard_reply_h *rh, void *buf, size_t cap);
/* One request (object order 22, a new tag) to t, and its reply, which
 * must have the same tag and opcode: the status or -1; the reply's
 * header in *rh, its payload in out. */
int call_to(int fd, const struct target *t, uint8_t op, uint64_t object,
	    uint32_t off, uint32_t len, uint16_t flags, const void *payload,
	    void *out, struct shard_reply_h *rh);
/* call_to() default_target, the reply's header dropped. */
int call(int fd, uint8_t op, uint64_t object, uint32_t off, uint32_t len,
	 uint16_t flags, const void *payload, void *out);
/* A client's HELLO: the status; the daemon's hello in *out if not
 * NULL. */
int hello(int fd, struct shard_hello *out);
/* True when the daemon has closed fd (waits up to the receive timeout). */
bool conn_closed(int fd);
/* A pattern of len bytes that differs with seed. */
void fill(unsigned char *buf, size_t len, unsigned int seed);
/* True when fd becomes readable within timeout_ms. */
bool readable(int fd, int timeout_ms);

/* Listens on path (no session yet). */
int mapd_listen(struct fake_mapd *m, const char *path);
/* Closes the session, if any, and drops what was received on it. */
void mapd_drop(struct fake_mapd *m);
/* mapd_drop(), and closes the listener. */
void mapd_close(struct fake_mapd *m);
/* Drops the session and waits for the daemon to (re)connect. */
int mapd_accept(struct fake_mapd *m, int timeout_ms);
/* The next request line, parsed; NULL on timeout, close or bad JSON. */
json_t *mapd_recv(struct fake_mapd *m, int timeout_ms);
/* The next request, which must be cmd: its "id" (or 0), -1 else; the
 * request itself in *out (to json_decref()) if out is not NULL. */
long long mapd_expect(struct fake_mapd *m, const char *cmd, int timeout_ms,
		      json_t **out);
/* Sends s as it is (a reply line ends with '\n'). */
int mapd_send(struct fake_mapd *m, const char *s);
/* mapd_send() of a formatted line (at most 511 bytes). */
int mapd_sendf(struct fake_mapd *m, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* True when the daemon closes the session within timeout_ms. */
bool mapd_closed(struct fake_mapd *m, int timeout_ms);
/* Accepts a connection and registers the daemon as 7. */
int mapd_register(struct fake_mapd *m, int timeout_ms);
/* Registers again after the daemon closed the session; -1 if it did not
 * close it or did not come back. */
int mapd_reconnect(struct fake_mapd *m);
/* Expects a heartbeat from daemon 7 and answers it with epoch. */
int mapd_beat(struct fake_mapd *m, int64_t epoch);
/*
 * A map-get reply line (to free()): daemons 7 and 8, pool 1 of 16 PGs,
 * width 1 or 2, and map_block and map_backfill if set. PG p's primary is
 * primary[p % 2] (with width 2, the other daemon second) or, for 0,
 * nobody; table_fix, if set, is then applied to the table's raw bytes.
 */
char *map_reply(uint64_t epoch, int width, const uint32_t primary[2],
		void (*table_fix)(uint32_t *table));
/* Sends map_reply(). */
int mapd_send_map(struct fake_mapd *m, uint64_t epoch, int width,
		  const uint32_t primary[2],
		  void (*table_fix)(uint32_t *table));
/*
 * A daemon started with mapd and a long heartbeat, brought to epoch: the
 * fake mapd registers it as 7, answers its first heartbeat with epoch,
 * serves the map-get that follows with mapd_send_map(m, epoch, width,
 * primary, NULL), and waits until the daemon on port has that map.
 */
int session_at_epoch(struct fake_mapd *m, unsigned int port, uint64_t epoch,
		     int width, const uint32_t primary[2]);

/* The daemon's epoch, from the reply header of a PING; -1 on failure. */
int64_t daemon_epoch(unsigned int port);
/* Waits up to 5 s for the daemon to reach epoch. */
bool reaches_epoch(unsigned int port, int64_t epoch);
/* An object of volume 9 whose PG (of 16) is even (mine) or odd. */
uint64_t object_in(bool even_pg);

/*
 * Plays "daemon 8": listens on a free port of 127.0.0.1 and sets
 * peer8_port, so the maps sent from then on put daemon 8 there; the
 * listener's fd or -1.
 */
int peer8_listen(void);
/* Closes that listener; the maps put daemon 8 elsewhere again. */
void peer8_close(int lfd);
/* Accepts the daemon's connection to daemon 8 and checks and answers its
 * PEER_HELLO (7 to 8, at epoch 5); the connection's fd or -1. */
int peer_accept(int lfd);
/* Reads one request as a peer (waiting up to 5 s), with its payload
 * into buf, its crc checked. */
int peer_recv_req(int fd, struct shard_req_h *h, void *buf);
/* The same, with the version a REP_WRITE or REP_ZERO carries in *ver
 * (all zeroes for other opcodes) and its flags in rep_flags_in. */
extern uint32_t rep_flags_in;
int peer_recv_req_ver(int fd, struct shard_req_h *h, void *buf,
		      struct shard_ver *ver);
/* Answers h with status at epoch; to a PEER_HELLO, as daemon 8. */
int peer_reply(int fd, const struct shard_req_h *h, unsigned int status,
	       uint64_t epoch);
/* Answers a REP_READ OK at epoch 5, with h->len bytes of data. */
int peer_reply_data(int fd, const struct shard_req_h *h, const void *data);
/* Sends PEER_HELLO as daemon from to daemon to on fd, a new connection,
 * and reads the reply: its status or -1. */
int peer_hello_as(int fd, uint32_t from, uint32_t to);

#endif /* _DAEMON_HARNESS_H */
