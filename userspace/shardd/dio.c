// SPDX-License-Identifier: GPL-2.0-only
#define _GNU_SOURCE
#include <errno.h>
#include <stdbool.h>

#include "dio.h"

static void dio_on_cqe(struct shard_ev *ev, int res);

static void dio_queue(struct shard_dio *io)
{
	struct io_uring_sqe *sqe = shard_ring_get_sqe(io->ring);

	switch (io->opcode) {
	case IORING_OP_READ:
		io_uring_prep_read(sqe, io->fd, io->buf, io->len, io->off);
		break;
	case IORING_OP_WRITE:
		io_uring_prep_write(sqe, io->fd, io->buf, io->len, io->off);
		break;
	case IORING_OP_FALLOCATE:
		io_uring_prep_fallocate(sqe, io->fd, io->mode, (off_t)io->off,
					(off_t)io->falloc_len);
		break;
	default:
		io_uring_prep_nop(sqe);
		break;
	}
	io->ev.fn = dio_on_cqe;
	shard_sqe_set_ev(sqe, &io->ev);
}

static void dio_on_cqe(struct shard_ev *ev, int res)
{
	struct shard_dio *io = container_of(ev, struct shard_dio, ev);
	bool rw = io->opcode == IORING_OP_READ ||
		  io->opcode == IORING_OP_WRITE;

	if (res == -EINTR || res == -EAGAIN) {
		dio_queue(io);
		return;
	}
	if (res < 0) {
		io->done(io, res);
		return;
	}
	if (!rw) {
		io->done(io, 0);
		return;
	}
	/* 0 bytes: past the end of the store, or a device that makes no
	 * progress; either way retrying would spin. */
	if (res == 0) {
		io->done(io, -EIO);
		return;
	}
	if ((uint32_t)res < io->len) {
		io->buf += res;
		io->off += (uint64_t)res;
		io->len -= (uint32_t)res;
		dio_queue(io);
		return;
	}
	io->done(io, 0);
}

static void dio_init(struct shard_dio *io, struct io_uring *ring,
		     uint8_t opcode, int fd, void *buf, uint32_t len,
		     uint64_t off, shard_dio_fn done)
{
	io->ring = ring;
	io->opcode = opcode;
	io->fd = fd;
	io->mode = 0;
	io->buf = buf;
	io->len = len;
	io->falloc_len = 0;
	io->off = off;
	io->done = done;
}

static void dio_start(struct shard_dio *io, struct io_uring *ring,
		      uint8_t opcode, int fd, void *buf, uint32_t len,
		      uint64_t off, shard_dio_fn done)
{
	dio_init(io, ring, opcode, fd, buf, len, off, done);
	dio_queue(io);
}

void shard_dio_read(struct shard_dio *io, struct io_uring *ring, int fd,
		    void *buf, uint32_t len, uint64_t off, shard_dio_fn done)
{
	dio_start(io, ring, IORING_OP_READ, fd, buf, len, off, done);
}

void shard_dio_write(struct shard_dio *io, struct io_uring *ring, int fd,
		     const void *buf, uint32_t len, uint64_t off,
		     shard_dio_fn done)
{
	/* The kernel only reads from buf; the cast keeps one struct. */
	dio_start(io, ring, IORING_OP_WRITE, fd, (void *)buf, len, off, done);
}

void shard_dio_fallocate(struct shard_dio *io, struct io_uring *ring, int fd,
			 int mode, uint64_t off, uint64_t len,
			 shard_dio_fn done)
{
	dio_init(io, ring, IORING_OP_FALLOCATE, fd, NULL, 0, off, done);
	io->mode = mode;
	io->falloc_len = len;
	dio_queue(io);
}

void shard_dio_nop(struct shard_dio *io, struct io_uring *ring,
		   shard_dio_fn done)
{
	dio_start(io, ring, IORING_OP_NOP, -1, NULL, 0, 0, done);
}
