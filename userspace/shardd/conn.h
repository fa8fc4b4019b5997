/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * One client connection: receives and validates requests, runs them
 * against the store, queues replies. A protocol error closes only this
 * connection.
 */
#ifndef SHARDD_CONN_H
#define SHARDD_CONN_H

struct shardd;

/* Requests in progress (received, reply not yet sent) per connection;
 * at the limit the connection is not read until replies go out. */
#define SHARD_CONN_MAX_INFLIGHT	32
#define SHARD_MAX_CONNS		1024

/* Takes ownership of fd, an accepted TCP socket. */
int shard_conn_new(struct shardd *d, int fd);
/* A new map: connections of clients it blocklists are closed. */
void shard_conn_map_changed(struct shardd *d);
/* At shutdown, after the ring is gone: frees without further I/O. */
void shard_conn_free_all(struct shardd *d);

#endif /* SHARDD_CONN_H */
