/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Registration with the local map manager (shard-mapd) over its UNIX
 * socket: one JSON line out, one JSON line back. Runs on the event loop
 * and retries until it succeeds; the daemon serves meanwhile.
 */
#ifndef SHARDD_REGISTER_H
#define SHARDD_REGISTER_H

#include <stdint.h>

struct shardd;

#define SHARD_MAPD_DEFAULT_SOCKET	"/run/shard/mapd.sock"

struct shard_register_opts {
	const char *socket_path;
	const char *addr;	/* address peers and clients use */
	uint16_t port;
	const char *dev_class;	/* "ssd" or "hdd" */
	const char *host;
};

/* Starts the first attempt; d->reg is set on success. */
int shard_register_start(struct shardd *d,
			 const struct shard_register_opts *opts);
/* After the ring is gone. */
void shard_register_free(struct shardd *d);

#endif /* SHARDD_REGISTER_H */
