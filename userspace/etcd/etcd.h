/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * libshardetcd: a small synchronous client for etcd's v3 HTTP/JSON gateway
 * (etcd 3.4: POST /v3/kv/..., /v3/lease/..., /v3/watch), built on libcurl
 * and jansson. shard-mapd uses it for its control plane: a state document
 * written with compare-and-swap, leader election by a create-if-absent key
 * bound to a lease, liveness keys with leases, and watches. Consensus is
 * etcd's; this is only the client.
 *
 * Handles: one struct etcd per thread; a handle is not thread-safe. The only
 * global state is curl_global_init, done once (pthread_once).
 *
 * Endpoints and failover: etcd_open takes a comma-separated list of client
 * URLs. A call starts with the endpoint that last answered and tries each
 * endpoint at most once, so it takes at most (endpoints x timeout_ms):
 *   - a request that never reached a server (connection refused, connect
 *     timeout, unresolvable name) moves on to the next endpoint;
 *   - a member without a leader ("etcdserver: no leader") moves on too: every
 *     request asks for a leader (gRPC metadata hasleader=true), so such a
 *     member refuses at once instead of hanging, and has done nothing;
 *   - reads (get, keepalive, watch setup) also move on after a timeout, a
 *     reset or garbage;
 *   - a write (put, delete, cas, create, grant, revoke, compact) that may
 *     have reached a server is not repeated: the call returns -ETIMEDOUT or
 *     -ECONNRESET, meaning "outcome unknown, re-read", and the next call
 *     starts at the next endpoint.
 *
 * Errors: every function returns 0 (or a count) on success and -errno on
 * failure; nothing aborts. etcd_strerror(e) is the last error as one line:
 *   -ENOENT     key or lease not found
 *   -ECANCELED  a compare of etcd_cas failed
 *   -EEXIST     etcd_create found the key
 *   -ESTALE     a revision has been compacted
 *   -ECONNREFUSED/-EHOSTUNREACH  no endpoint could be reached
 *   -ETIMEDOUT, -ECONNRESET      see above
 *   -EAGAIN     etcd has no leader right now (an election is running)
 *   -EPROTO     the server's answer is not what etcd sends
 *   -EINVAL, -ENOMEM, -EIO (any other etcd error; see etcd_strerror)
 *
 * Keys are C strings; values are bytes (any content, NUL included) and are
 * also NUL-terminated for convenience. Revisions, lease ids and TTLs are
 * int64_t; 0 means "none".
 */
#ifndef _SHARD_ETCD_H
#define _SHARD_ETCD_H

#include <stddef.h>
#include <stdint.h>

struct etcd;

struct etcd_kv {
	char *key;
	char *value;		/* value_len bytes + a NUL; never NULL */
	size_t value_len;
	int64_t create_rev;
	int64_t mod_rev;
	int64_t version;
	int64_t lease;
};

/*
 * endpoints: "http://10.0.0.1:2379,http://10.0.0.2:2379" (a missing scheme
 * means http://). timeout_ms bounds the connect and each request on one
 * endpoint. Nothing is contacted yet. On failure returns NULL with a message
 * in err.
 */
struct etcd *etcd_open(const char *endpoints, long timeout_ms,
		       char *err, size_t errlen);
void etcd_close(struct etcd *e);
const char *etcd_strerror(struct etcd *e);

/* -ENOENT when the key does not exist. header_rev (may be NULL): etcd's
 * revision when it answered, the revision to watch from (+ 1).
 */
int etcd_get(struct etcd *e, const char *key, struct etcd_kv *kv,
	     int64_t *header_rev);
/* All keys starting with prefix ("" for all keys), sorted by key. An empty
 * result is 0 with *kvs NULL and *n 0.
 */
int etcd_get_prefix(struct etcd *e, const char *prefix, struct etcd_kv **kvs,
		    size_t *n, int64_t *header_rev);
int etcd_put(struct etcd *e, const char *key, const void *val, size_t len,
	     int64_t lease);
/* Return the number of keys deleted (0 if there were none). */
int etcd_delete(struct etcd *e, const char *key);
int etcd_delete_prefix(struct etcd *e, const char *prefix);

/*
 * Compare-and-swap: put key=val (bound to lease, if not 0) only if key's
 * mod_revision is expect_mod_rev (0: the key must not exist) and, when
 * guard_key is not NULL, guard_key's create_revision is guard_create_rev (so
 * that only the leader holding that election key may write). -ECANCELED when
 * a compare failed. new_rev (may be NULL): the key's new mod_revision.
 */
int etcd_cas(struct etcd *e, const char *key, const void *val, size_t len,
	     int64_t expect_mod_rev, int64_t lease, const char *guard_key,
	     int64_t guard_create_rev, int64_t *new_rev);
/*
 * Create key=val bound to lease only if the key does not exist: the leader
 * election primitive. create_rev (may be NULL): the new key's
 * create_revision. -EEXIST when it exists, with the existing key in *cur if
 * cur is not NULL (free it with etcd_kv_free).
 */
int etcd_create(struct etcd *e, const char *key, const void *val, size_t len,
		int64_t lease, struct etcd_kv *cur, int64_t *create_rev);
/* Forget history before rev (etcd 3.4 does not compact by itself unless
 * started with --auto-compaction-retention). -ESTALE if already compacted.
 */
int etcd_compact(struct etcd *e, int64_t rev);

/* etcd may raise a TTL to its minimum (about 2 s with default settings). */
int etcd_lease_grant(struct etcd *e, int64_t ttl_s, int64_t *lease_id);
/* Renew once. *ttl_left (may be NULL): the TTL now left; -ENOENT (and
 * *ttl_left 0) when the lease has expired or never existed.
 */
int etcd_lease_keepalive(struct etcd *e, int64_t lease_id, int64_t *ttl_left);
/* Deletes the keys bound to the lease. -ENOENT if it does not exist. */
int etcd_lease_revoke(struct etcd *e, int64_t lease_id);

enum etcd_ev_type { ETCD_EV_PUT, ETCD_EV_DELETE };

/*
 * One event: kv is valid during the call only (a DELETE carries the key and
 * mod_rev only); rev is the event's revision. Return 0 to go on, > 0 to stop
 * the watch (etcd_watch returns 0), < 0 to stop it with that error.
 */
typedef int (*etcd_watch_cb)(void *arg, enum etcd_ev_type type,
			     const struct etcd_kv *kv, int64_t rev);

/*
 * Watch keys starting with prefix from start_rev (0: from now on), calling cb
 * for each put and delete in revision order. Blocks until cb stops it, *stop
 * (may be NULL) becomes non-zero (checked every 200 ms), or an error.
 *
 * *last_rev (may be NULL) is set on return: every revision <= *last_rev has
 * been delivered, so after an error the caller watches again from
 * *last_rev + 1. It is -1 if a watch from now was never set up, so that + 1
 * means "from now" again. For no gap between a read and a watch, watch from
 * the read's header_rev + 1 rather than from now.
 *
 * Errors: -ECONNRESET and the like when the stream broke (the next call
 * starts at the next endpoint); -EAGAIN when the member lost its leader;
 * -ESTALE when start_rev has been compacted, with *last_rev set to the
 * compact revision: the caller re-reads (etcd_get_prefix) and watches from
 * its header_rev + 1.
 *
 * Setting up the watch is bounded by the timeout; an established watch is
 * kept alive by TCP keepalive (a dead peer breaks it within about 3x the
 * timeout) and by etcd cancelling it when its member loses the leader.
 * cb may make other calls (not etcd_watch) on the same handle.
 */
int etcd_watch(struct etcd *e, const char *prefix, int64_t start_rev,
	       etcd_watch_cb cb, void *arg, volatile int *stop,
	       int64_t *last_rev);

void etcd_kv_free(struct etcd_kv *kv);
void etcd_kvs_free(struct etcd_kv *kvs, size_t n);

#endif /* _SHARD_ETCD_H */
