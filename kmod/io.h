/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _SHARD_IO_H
#define _SHARD_IO_H

#include <linux/types.h>
#include <shard/proto.h>

struct shard_conn;
struct shard_part;

/* Bits of a request tag (io.c) for the hardware queue and blk-mq tag. */
#define SHARD_TAG_HWQ_BITS	4
#define SHARD_TAG_RQ_BITS	12

void shard_io_req_init(struct shard_req *req, unsigned int op, u64 epoch);
void shard_io_req_seal(struct shard_req *req);
int shard_io_reply_check(const struct shard_reply *reply);
int shard_io_send_part(struct shard_conn *conn, struct shard_part *part,
		       u64 epoch, bool more);
int shard_io_reply(struct shard_conn *conn, const struct shard_reply *reply);

/* conn.c helpers that io.c moves payloads with. */
int shard_conn_send_kvec(struct shard_conn *conn, void *buf, size_t len,
			 bool more);
int shard_conn_send_iter(struct shard_conn *conn, struct iov_iter *iter,
			 bool more);
int shard_conn_drain(struct shard_conn *conn, size_t len);

#endif /* _SHARD_IO_H */
