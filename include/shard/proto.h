/* SPDX-License-Identifier: (GPL-2.0 WITH Linux-syscall-note) OR MIT */
/*
 * shard wire protocol between the kernel client (and later, peer daemons)
 * and a storage daemon. One copy, included by kmod/ and userspace/.
 *
 * A connection is a TCP stream of messages. Every message starts with a
 * fixed 64-byte little-endian header; a payload of hdr.len bytes follows
 * when the opcode carries one (requests: WRITE; replies: READ, HELLO).
 *
 * The client opens with HELLO; the daemon answers with a HELLO reply whose
 * payload is struct shard_hello. daemon_id 0 there means the daemon has
 * no id yet (it is registering): the client retries shortly. After that the client sends requests and
 * the daemon answers each one with exactly one reply carrying the same tag,
 * in any order. A daemon consumes a request's whole payload before it
 * replies to it.
 *
 * Every crc here is the standard CRC-32C (Castagnoli, as iSCSI: initial
 * value ~0, final xor ~0; "123456789" gives 0xe3069283). Both headers are
 * protected by hdr_crc, the crc of the first 60 bytes of the header; a
 * payload by data_crc. A message
 * with a bad magic, version, header crc, opcode, or a length above
 * SHARD_MAX_IO is a protocol error: the receiver drops the connection.
 * A payload crc mismatch on a request is answered with SHARD_S_BADCRC;
 * on a reply the client drops the connection and resends.
 *
 * Opcodes: READ returns len bytes (never-written ranges read as zeroes);
 * WRITE stores its payload; DISCARD and WRITE_ZEROES make len bytes read
 * as zeroes and carry no payload (a daemon may free the space); FLUSH
 * makes every write this daemon acknowledged before it durable, and FUA
 * on a WRITE makes that write durable before its reply; PING is answered
 * with an empty reply. FLUSH and PING ignore the object fields.
 *
 * Objects: a request addresses (pool, volume, object index); its offset
 * and length lie within one object (object size = 1 << obj_order, carried
 * in every request so that a daemon needs no per-volume state).
 *
 * Between daemons: the primary of a PG of a pool with several copies
 * opens a connection to each other member with PEER_HELLO (payload:
 * struct shard_peer_hello naming the sender; the reply is a HELLO
 * reply) and sends it REP_WRITE and REP_ZERO (the WRITE and the
 * DISCARD/WRITE_ZEROES of a client, same fields, epoch = the primary's
 * map epoch) and REP_FLUSH (as FLUSH), and REP_READ (as READ) when its
 * own copy of a block fails its checksum. A member applies a REP_ request
 * only when, in its own map, the sender is the PG's primary, it is
 * itself a member, and the request's epoch is not older than the epoch
 * in which the PG's members last changed; otherwise it answers STALE
 * and changes nothing. Client opcodes on a peer connection, and REP_
 * opcodes on a client connection, are protocol errors.
 *
 * REP_WRITE and REP_ZERO carry a struct shard_rep_ext right after the
 * header (before REP_WRITE's len bytes of data; len keeps its meaning):
 * the version of the change, which the member records with the object.
 * Copies of an object recording the same non-zero version hold the same
 * bytes. A version of all zeroes records "unknown" (the pieces of a
 * whole-object copy but its last).
 *
 * Scrub, from a PG's primary to its members (same rule; neither changes
 * data): REP_LIST names the objects of PG h.offset of the pool that the
 * member holds, in (volume, object) order from (h.volume, h.object) on,
 * as an array of struct shard_list_entry of at most h.len bytes (fewer
 * than asked: the list is complete). REP_DIGEST (offset and len 0)
 * answers struct shard_digest for one object, read after every change
 * the member got before it; with SHARD_F_DIGEST_DATA it reads the whole
 * object, checking every block's crc.
 */
#ifndef _SHARD_PROTO_H
#define _SHARD_PROTO_H

#include <linux/types.h>

#define SHARD_PROTO_VERSION	1
#define SHARD_REQ_MAGIC		0x51524453U	/* "SDRQ" on the wire */
#define SHARD_REPLY_MAGIC	0x50524453U	/* "SDRP" on the wire */
#define SHARD_DEFAULT_PORT	7410

/* The largest payload of one message; the kernel never sends more. */
#define SHARD_MAX_IO		(1U << 20)
/* Daemons keep one crc32c per block of this size. */
#define SHARD_BLOCK_SIZE	4096U
#define SHARD_SECTOR_SIZE	512U

enum shard_op {
	SHARD_OP_HELLO		= 1,
	SHARD_OP_PING		= 2,
	SHARD_OP_READ		= 3,
	SHARD_OP_WRITE		= 4,
	SHARD_OP_FLUSH		= 5,
	SHARD_OP_DISCARD	= 6,
	SHARD_OP_WRITE_ZEROES	= 7,
	SHARD_OP_PEER_HELLO	= 8,
	SHARD_OP_REP_WRITE	= 9,
	SHARD_OP_REP_ZERO	= 10,
	SHARD_OP_REP_FLUSH	= 11,
	SHARD_OP_REP_READ	= 12,
	SHARD_OP_REP_LIST	= 13,
	SHARD_OP_REP_DIGEST	= 14,
	__SHARD_OP_MAX
};

/* Request flags. */
#define SHARD_F_FUA		(1U << 0)	/* durable before the reply */
#define SHARD_F_DIGEST_DATA	(1U << 1)	/* REP_DIGEST reads the data */
#define SHARD_F_ALL		(SHARD_F_FUA | SHARD_F_DIGEST_DATA)

/* Reply status: 0 or one of these. */
enum shard_status {
	SHARD_S_OK		= 0,
	SHARD_S_IO		= 1,	/* the daemon's disk failed */
	SHARD_S_BADCRC		= 2,	/* payload crc mismatch on receipt */
	SHARD_S_CORRUPT		= 3,	/* stored data failed its checksum */
	SHARD_S_INVAL		= 4,	/* well formed but not acceptable */
	SHARD_S_STALE		= 5,	/* not this PG's primary at this epoch */
	SHARD_S_NOSPC		= 6,
	SHARD_S_ROFS		= 7,
	__SHARD_S_MAX
};

struct shard_req {
	__le32 magic;
	__u8 version;
	__u8 opcode;		/* enum shard_op */
	__le16 flags;		/* SHARD_F_* */
	__le32 len;		/* payload (WRITE) or bytes asked for (READ) */
	__u8 obj_order;		/* log2 of the object size */
	__u8 reserved[3];
	__le64 tag;		/* opaque to the daemon, echoed in the reply */
	__le64 epoch;		/* the client's map epoch */
	__le64 volume;		/* volume id */
	__le64 object;		/* object index within the volume */
	__le32 offset;		/* byte offset within the object */
	__le32 pool;		/* pool id */
	__le32 data_crc;	/* crc32c of the payload, 0 without one */
	__le32 hdr_crc;
};

struct shard_reply {
	__le32 magic;
	__u8 version;
	__u8 opcode;		/* echoed */
	__le16 reserved0;
	__le32 status;		/* enum shard_status */
	__le32 len;		/* payload that follows */
	__le64 tag;		/* echoed */
	__le64 epoch;		/* the daemon's map epoch */
	__le64 reserved[3];
	__le32 data_crc;
	__le32 hdr_crc;
};

/* Payload of the daemon's HELLO reply. */
struct shard_hello {
	__le32 daemon_id;
	__le32 flags;
	__le64 capacity;	/* bytes */
	__le64 reserved[2];
};

/* Payload of PEER_HELLO: the daemon that opens the connection. */
struct shard_peer_hello {
	__le32 daemon_id;	/* the sender */
	__le32 target_id;	/* the daemon it means to reach */
	__le64 reserved[3];
};

/*
 * A change to an object: the map epoch of the primary that made it and a
 * sequence number unique among that daemon's changes. Only equality
 * means anything: equal versions, equal bytes.
 */
struct shard_version {
	__le64 epoch;
	__le64 seq;
};

/* After the header of REP_WRITE and REP_ZERO. */
struct shard_rep_ext {
	struct shard_version ver;
	__le32 flags;		/* SHARD_REP_F_* */
	__le32 crc;		/* crc32c of the 20 bytes above */
};

/*
 * The last piece of a copy (of the whole object, or of the blocks
 * changed since the receiver's version): the receiver holds all of the
 * object as of ver now. Without it a daemon that is only being
 * backfilled records "unknown": a change to part of an object whose
 * other bytes it may have missed does not make its copy that version.
 */
#define SHARD_REP_F_WHOLE	(1U << 0)

/* REP_LIST reply entries. */
struct shard_list_entry {
	__le64 volume;
	__le64 object;
	struct shard_version ver;	/* all zeroes: unknown */
	__u8 obj_order;
	__u8 reserved[7];
};

/* REP_DIGEST reply payload. */
struct shard_digest {
	__le32 flags;		/* SHARD_DIGEST_* */
	__le32 data_crc;	/* crc32c of the object's bytes (DATA) */
	__le64 reserved[3];
};

#define SHARD_DIGEST_EXISTS	(1U << 0)	/* the member holds it */
#define SHARD_DIGEST_DATA	(1U << 1)	/* data_crc is set */
#define SHARD_DIGEST_BADCRC	(1U << 2)	/* a block failed its crc */

#define SHARD_HDR_SIZE		64
#define SHARD_HDR_CRC_LEN	60

/* Sizes are part of the protocol: fail the build if they drift. */
#ifdef __KERNEL__
#include <linux/build_bug.h>
#define SHARD_PROTO_ASSERT(e, m) static_assert(e, m)
#else
#include <assert.h>
#define SHARD_PROTO_ASSERT(e, m) static_assert(e, m)
#endif
SHARD_PROTO_ASSERT(sizeof(struct shard_req) == SHARD_HDR_SIZE, "req size");
SHARD_PROTO_ASSERT(sizeof(struct shard_reply) == SHARD_HDR_SIZE, "reply size");
SHARD_PROTO_ASSERT(sizeof(struct shard_hello) == 32, "hello size");
SHARD_PROTO_ASSERT(sizeof(struct shard_peer_hello) == 32, "peer hello size");
SHARD_PROTO_ASSERT(sizeof(struct shard_version) == 16, "version size");
SHARD_PROTO_ASSERT(sizeof(struct shard_rep_ext) == 24, "rep ext size");
SHARD_PROTO_ASSERT(sizeof(struct shard_list_entry) == 40, "list entry size");
SHARD_PROTO_ASSERT(sizeof(struct shard_digest) == 32, "digest size");

/* True when an opcode's request carries a payload. */
static inline int shard_op_has_req_payload(unsigned int op)
{
	return op == SHARD_OP_WRITE || op == SHARD_OP_REP_WRITE ||
	       op == SHARD_OP_PEER_HELLO;
}

/* True when a struct shard_rep_ext follows the request header. */
static inline int shard_op_has_rep_ext(unsigned int op)
{
	return op == SHARD_OP_REP_WRITE || op == SHARD_OP_REP_ZERO;
}

/* True when a successful reply to this opcode carries a payload. */
static inline int shard_op_has_reply_payload(unsigned int op)
{
	return op == SHARD_OP_READ || op == SHARD_OP_HELLO ||
	       op == SHARD_OP_PEER_HELLO || op == SHARD_OP_REP_READ ||
	       op == SHARD_OP_REP_LIST || op == SHARD_OP_REP_DIGEST;
}

#endif /* _SHARD_PROTO_H */
