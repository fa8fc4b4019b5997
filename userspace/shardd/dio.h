/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * One disk operation on the ring, carried to the end: a read or write
 * that completes short is resubmitted for the remainder, so the owner
 * sees one callback with 0 or -errno for the whole range. The struct
 * lives in its owner (the store's per-request state) until the callback.
 */
#ifndef SHARDD_DIO_H
#define SHARDD_DIO_H

#include <stdint.h>

#include "ring.h"

struct shard_dio;
typedef void (*shard_dio_fn)(struct shard_dio *io, int err);

struct shard_dio {
	struct shard_ev ev;
	struct io_uring *ring;
	shard_dio_fn done;
	uint8_t opcode;		/* IORING_OP_READ, _WRITE, _FALLOCATE, _NOP */
	int fd;
	int mode;		/* fallocate */
	uint64_t falloc_len;
	unsigned char *buf;
	uint64_t off;
	uint32_t len;		/* still to transfer */
};

void shard_dio_read(struct shard_dio *io, struct io_uring *ring, int fd,
		    void *buf, uint32_t len, uint64_t off, shard_dio_fn done);
void shard_dio_write(struct shard_dio *io, struct io_uring *ring, int fd,
		     const void *buf, uint32_t len, uint64_t off,
		     shard_dio_fn done);
void shard_dio_fallocate(struct shard_dio *io, struct io_uring *ring, int fd,
			 int mode, uint64_t off, uint64_t len,
			 shard_dio_fn done);
/* Completes with 0 on the next turn of the loop: lets an owner that
 * needs no I/O still answer from a completion, never from its caller. */
void shard_dio_nop(struct shard_dio *io, struct io_uring *ring,
		   shard_dio_fn done);

#endif /* SHARDD_DIO_H */
