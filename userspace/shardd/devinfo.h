/* SPDX-License-Identifier: GPL-2.0-only */
/* Where the store lives and what kind of disk is under it. */
#ifndef SHARDD_DEVINFO_H
#define SHARDD_DEVINFO_H

#include <stdint.h>

#define SHARD_STORE_FILE	"shard.store"

/*
 * Turns --store into the file or device to open. A directory means
 * DIR/shard.store; creating it without --size takes 90% of the free space
 * of the directory's filesystem. *file is malloc'ed.
 */
int shard_resolve_store(const char *path, uint64_t size, char **file,
			uint64_t *size_out);

/* "hdd" if the disk under fd is rotational, else "ssd" (also when it
 * cannot be told, as for tmpfs or overlay files). */
const char *shard_detect_class(int fd);

#endif /* SHARDD_DEVINFO_H */
