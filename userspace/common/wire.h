/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Encoding and validation of the headers in include/shard/proto.h.
 * Programs work with the host-order mirrors below; only this file knows
 * the byte order, the magics and the header crc.
 */
#ifndef SHARD_WIRE_H
#define SHARD_WIRE_H

#include <stdint.h>

#include <shard/proto.h>

/*
 * Object sizes a request may name. proto.h does not define a range; the
 * kernel client uses 4 MiB objects by default and nothing outside
 * 64 KiB .. 64 MiB makes sense for this design.
 */
#define SHARD_OBJ_ORDER_MIN	16
#define SHARD_OBJ_ORDER_MAX	26

struct shard_req_h {
	uint8_t opcode;
	uint16_t flags;
	uint32_t len;
	uint8_t obj_order;
	uint64_t tag;
	uint64_t epoch;
	uint64_t volume;
	uint64_t object;
	uint32_t offset;
	uint32_t pool;
	uint32_t data_crc;
};

struct shard_reply_h {
	uint8_t opcode;
	uint32_t status;
	uint32_t len;
	uint64_t tag;
	uint64_t epoch;
	uint32_t data_crc;
};

/* buf is SHARD_HDR_SIZE bytes, any alignment. Encoding sets hdr_crc. */
void shard_req_encode(void *buf, const struct shard_req_h *h);
void shard_reply_encode(void *buf, const struct shard_reply_h *h);

/*
 * Decode and check what every header must satisfy (magic, version,
 * hdr_crc, opcode, flags, len <= SHARD_MAX_IO). Returns 0 or -EBADMSG
 * with *why naming the problem (a static string).
 */
int shard_req_decode(const void *buf, struct shard_req_h *h, const char **why);
int shard_reply_decode(const void *buf, struct shard_reply_h *h,
		       const char **why);

/*
 * Per-opcode rules for a decoded request: object requests need a valid
 * obj_order, sector-aligned offset and length inside the object, and a
 * WRITE a payload. Returns 0 or -EBADMSG with *why set.
 */
int shard_req_check(const struct shard_req_h *h, const char **why);

/*
 * struct shard_rep_ext, sizeof(struct shard_rep_ext) bytes at buf (any
 * alignment). Decoding checks its crc: 0, or -EBADMSG.
 */
void shard_rep_ext_encode(void *buf, uint64_t epoch, uint64_t seq,
			  uint32_t flags);
/* Also -EBADMSG for flags this daemon does not know. */
int shard_rep_ext_decode(const void *buf, uint64_t *epoch, uint64_t *seq,
			 uint32_t *flags);

const char *shard_op_name(unsigned int op);
const char *shard_status_name(unsigned int status);

#endif /* SHARD_WIRE_H */
