// SPDX-License-Identifier: GPL-2.0-only
#include <endian.h>
#include <errno.h>
#include <stddef.h>
#include <string.h>

#include "crc.h"
#include "wire.h"

void shard_req_encode(void *buf, const struct shard_req_h *h)
{
	struct shard_req w;

	memset(&w, 0, sizeof(w));
	w.magic = htole32(SHARD_REQ_MAGIC);
	w.version = SHARD_PROTO_VERSION;
	w.opcode = h->opcode;
	w.flags = htole16(h->flags);
	w.len = htole32(h->len);
	w.obj_order = h->obj_order;
	w.tag = htole64(h->tag);
	w.epoch = htole64(h->epoch);
	w.volume = htole64(h->volume);
	w.object = htole64(h->object);
	w.offset = htole32(h->offset);
	w.pool = htole32(h->pool);
	w.data_crc = htole32(h->data_crc);
	w.hdr_crc = htole32(shard_crc32c(&w, SHARD_HDR_CRC_LEN));
	memcpy(buf, &w, sizeof(w));
}

void shard_reply_encode(void *buf, const struct shard_reply_h *h)
{
	struct shard_reply w;

	memset(&w, 0, sizeof(w));
	w.magic = htole32(SHARD_REPLY_MAGIC);
	w.version = SHARD_PROTO_VERSION;
	w.opcode = h->opcode;
	w.status = htole32(h->status);
	w.len = htole32(h->len);
	w.tag = htole64(h->tag);
	w.epoch = htole64(h->epoch);
	w.data_crc = htole32(h->data_crc);
	w.hdr_crc = htole32(shard_crc32c(&w, SHARD_HDR_CRC_LEN));
	memcpy(buf, &w, sizeof(w));
}

static int bad(const char **why, const char *what)
{
	if (why)
		*why = what;
	return -EBADMSG;
}

/* The checks both directions share; the crc goes first so that a
 * corrupted header is reported as such, not as whatever field it hit. */
static int check_common(const void *buf, uint32_t magic, uint32_t want_magic,
			uint8_t version, uint32_t hdr_crc, const char **why)
{
	if (magic != want_magic)
		return bad(why, "bad magic");
	if (version != SHARD_PROTO_VERSION)
		return bad(why, "unsupported version");
	if (shard_crc32c(buf, SHARD_HDR_CRC_LEN) != hdr_crc)
		return bad(why, "header crc mismatch");
	return 0;
}

int shard_req_decode(const void *buf, struct shard_req_h *h, const char **why)
{
	struct shard_req w;
	int ret;

	memcpy(&w, buf, sizeof(w));
	ret = check_common(buf, le32toh(w.magic), SHARD_REQ_MAGIC, w.version,
			   le32toh(w.hdr_crc), why);
	if (ret)
		return ret;
	h->opcode = w.opcode;
	h->flags = le16toh(w.flags);
	h->len = le32toh(w.len);
	h->obj_order = w.obj_order;
	h->tag = le64toh(w.tag);
	h->epoch = le64toh(w.epoch);
	h->volume = le64toh(w.volume);
	h->object = le64toh(w.object);
	h->offset = le32toh(w.offset);
	h->pool = le32toh(w.pool);
	h->data_crc = le32toh(w.data_crc);
	if (h->opcode == 0 || h->opcode >= __SHARD_OP_MAX)
		return bad(why, "unknown opcode");
	if (h->flags & ~SHARD_F_ALL)
		return bad(why, "unknown flags");
	if (h->len > SHARD_MAX_IO)
		return bad(why, "length above SHARD_MAX_IO");
	return 0;
}

int shard_reply_decode(const void *buf, struct shard_reply_h *h,
		       const char **why)
{
	struct shard_reply w;
	int ret;

	memcpy(&w, buf, sizeof(w));
	ret = check_common(buf, le32toh(w.magic), SHARD_REPLY_MAGIC, w.version,
			   le32toh(w.hdr_crc), why);
	if (ret)
		return ret;
	h->opcode = w.opcode;
	h->status = le32toh(w.status);
	h->len = le32toh(w.len);
	h->tag = le64toh(w.tag);
	h->epoch = le64toh(w.epoch);
	h->data_crc = le32toh(w.data_crc);
	if (h->opcode == 0 || h->opcode >= __SHARD_OP_MAX)
		return bad(why, "unknown opcode");
	if (h->status >= __SHARD_S_MAX)
		return bad(why, "unknown status");
	if (h->len > SHARD_MAX_IO)
		return bad(why, "length above SHARD_MAX_IO");
	return 0;
}

int shard_req_check(const struct shard_req_h *h, const char **why)
{
	uint64_t obj_size;

	if ((h->flags & SHARD_F_DIGEST_DATA) &&
	    h->opcode != SHARD_OP_REP_DIGEST)
		return bad(why, "DIGEST_DATA flag on another opcode");
	switch (h->opcode) {
	case SHARD_OP_REP_LIST:
		if (h->len < sizeof(struct shard_list_entry) ||
		    h->len % sizeof(struct shard_list_entry))
			return bad(why, "REP_LIST length not a multiple of an "
				   "entry");
		return 0;
	case SHARD_OP_REP_DIGEST:
		if (h->offset || h->len)
			return bad(why, "REP_DIGEST with a range");
		break;
	case SHARD_OP_READ:
	case SHARD_OP_WRITE:
	case SHARD_OP_DISCARD:
	case SHARD_OP_WRITE_ZEROES:
	case SHARD_OP_REP_WRITE:
	case SHARD_OP_REP_ZERO:
	case SHARD_OP_REP_READ:
		break;
	case SHARD_OP_PEER_HELLO:
		if (h->len != sizeof(struct shard_peer_hello))
			return bad(why, "PEER_HELLO payload of a wrong size");
		return 0;
	default:
		/* HELLO, PING and FLUSH ignore the object fields. */
		return 0;
	}
	if (h->obj_order < SHARD_OBJ_ORDER_MIN ||
	    h->obj_order > SHARD_OBJ_ORDER_MAX)
		return bad(why, "object order out of range");
	obj_size = 1ULL << h->obj_order;
	if ((uint64_t)h->offset + h->len > obj_size)
		return bad(why, "range beyond the object");
	if (h->offset % SHARD_SECTOR_SIZE || h->len % SHARD_SECTOR_SIZE)
		return bad(why, "range not sector aligned");
	if ((h->opcode == SHARD_OP_WRITE || h->opcode == SHARD_OP_REP_WRITE) &&
	    h->len == 0)
		return bad(why, "write without payload");
	return 0;
}

void shard_rep_ext_encode(void *buf, uint64_t epoch, uint64_t seq,
			  uint32_t flags)
{
	struct shard_rep_ext e;

	memset(&e, 0, sizeof(e));
	e.ver.epoch = htole64(epoch);
	e.ver.seq = htole64(seq);
	e.flags = htole32(flags);
	e.crc = htole32(shard_crc32c(&e, offsetof(struct shard_rep_ext, crc)));
	memcpy(buf, &e, sizeof(e));
}

int shard_rep_ext_decode(const void *buf, uint64_t *epoch, uint64_t *seq,
			 uint32_t *flags)
{
	struct shard_rep_ext e;

	memcpy(&e, buf, sizeof(e));
	if (le32toh(e.crc) !=
	    shard_crc32c(&e, offsetof(struct shard_rep_ext, crc)) ||
	    le32toh(e.flags) & ~SHARD_REP_F_WHOLE)
		return -EBADMSG;
	*epoch = le64toh(e.ver.epoch);
	*seq = le64toh(e.ver.seq);
	*flags = le32toh(e.flags);
	return 0;
}

const char *shard_op_name(unsigned int op)
{
	static const char *const names[] = {
		[SHARD_OP_HELLO] = "HELLO",
		[SHARD_OP_PING] = "PING",
		[SHARD_OP_READ] = "READ",
		[SHARD_OP_WRITE] = "WRITE",
		[SHARD_OP_FLUSH] = "FLUSH",
		[SHARD_OP_DISCARD] = "DISCARD",
		[SHARD_OP_WRITE_ZEROES] = "WRITE_ZEROES",
		[SHARD_OP_PEER_HELLO] = "PEER_HELLO",
		[SHARD_OP_REP_WRITE] = "REP_WRITE",
		[SHARD_OP_REP_ZERO] = "REP_ZERO",
		[SHARD_OP_REP_FLUSH] = "REP_FLUSH",
		[SHARD_OP_REP_READ] = "REP_READ",
		[SHARD_OP_REP_LIST] = "REP_LIST",
		[SHARD_OP_REP_DIGEST] = "REP_DIGEST",
	};

	if (op >= __SHARD_OP_MAX || !names[op])
		return "UNKNOWN";
	return names[op];
}

const char *shard_status_name(unsigned int status)
{
	static const char *const names[] = {
		[SHARD_S_OK] = "OK",
		[SHARD_S_IO] = "IO",
		[SHARD_S_BADCRC] = "BADCRC",
		[SHARD_S_CORRUPT] = "CORRUPT",
		[SHARD_S_INVAL] = "INVAL",
		[SHARD_S_STALE] = "STALE",
		[SHARD_S_NOSPC] = "NOSPC",
		[SHARD_S_ROFS] = "ROFS",
	};

	if (status >= __SHARD_S_MAX)
		return "UNKNOWN";
	return names[status];
}
