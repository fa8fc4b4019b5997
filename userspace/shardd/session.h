/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The daemon's session with its local map manager (shard-mapd) over the
 * mapd UNIX socket, JSON lines (Documentation/mapd-protocol.md): register,
 * then stay connected, send a heartbeat every interval, and fetch the map
 * whenever mapd has a newer one than the daemon. Runs on the event loop.
 * When the session breaks it is reopened after a backoff; the daemon
 * serves meanwhile, with the map it has.
 */
#ifndef SHARDD_SESSION_H
#define SHARDD_SESSION_H

#include <stdint.h>
#include <jansson.h>

struct shardd;

/* error is NULL when mapd answered ok (reply is then its answer, valid
 * during the call), else why not (its error, or the session broke
 * first: the caller may send again) and reply is NULL. */
typedef void (*shard_session_note_fn)(void *arg, const char *error,
				      json_t *reply);

#define SHARD_MAPD_DEFAULT_SOCKET	"/run/shard/mapd.sock"
#define SHARD_HEARTBEAT_MS_DEFAULT	1000U
#define SHARD_HEARTBEAT_MS_MIN		50U
#define SHARD_HEARTBEAT_MS_MAX		60000U

struct shard_session_opts {
	const char *socket_path;
	const char *addr;	/* address peers and clients use */
	uint16_t port;
	const char *dev_class;	/* "ssd" or "hdd" */
	const char *host;
	const char *rack;	/* failure domain; NULL: not registered */
	const char *site;	/* NULL: not registered */
	/* The heartbeat interval; reconnect backoff and reply timeouts
	 * are multiples of it. */
	unsigned int heartbeat_ms;
};

/* Sets d->session and starts the first connection attempt. */
int shard_session_start(struct shardd *d,
			const struct shard_session_opts *opts);
/* A client sent a request stamped with epoch: when that is newer than
 * the daemon's map, fetch the map now rather than at the next
 * heartbeat. Does nothing without a session. */
void shard_session_map_hint(struct shardd *d, uint64_t epoch);
/*
 * Sends req (a request object; taken) to mapd after those queued before
 * it; done(arg, ...) follows, never from inside this call. -ENOTCONN
 * without a session (req is freed, done does not run), -ENOMEM.
 */
int shard_session_note(struct shardd *d, json_t *req,
		       shard_session_note_fn done, void *arg);
/* After the ring is gone. */
void shard_session_free(struct shardd *d);

#endif /* SHARDD_SESSION_H */
