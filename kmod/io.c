// SPDX-License-Identifier: GPL-2.0
/*
 * Parts on the wire: routing a part to its PG primary's connection, holding
 * it while there is none, sending it from and receiving it straight into
 * the request's pages, and matching replies back to parts.
 *
 * A reply is matched by its tag, which names the device, the blk-mq tag,
 * the part and the request's dispatch generation; anything that does not
 * match a part this connection is waiting on (a reply to a request that
 * completed or timed out meanwhile) is read and dropped.
 */
#include <linux/blk-mq.h>
#include <linux/crc32c.h>
#include <linux/highmem.h>
#include <linux/ratelimit.h>
#include <linux/slab.h>
#include <uapi/linux/shard.h>
#include <shard/proto.h>

#include "client.h"
#include "conn.h"
#include "dev.h"
#include "io.h"
#include "netlink.h"

/* A part whose payload crc the daemon rejects this often fails. */
#define SHARD_CRC_RETRIES	3

/*
 * The tag: the request's dispatch generation (bits 48-63), device (32-47),
 * part (24-31), the part's send count (16-23: a part sent again, even on
 * the same connection, does not take an earlier send's reply), hardware
 * queue (12-15) and blk-mq tag (0-11).
 */
static u64 shard_io_tag(struct shard_cmd *cmd, struct shard_part *part)
{
	u32 unique = blk_mq_unique_tag(blk_mq_rq_from_pdu(cmd));

	return (u64)cmd->gen << 48 | (u64)cmd->dev->index << 32 |
	       (u64)part->idx << 24 | (u64)part->sendgen << 16 |
	       (u64)(blk_mq_unique_tag_to_hwq(unique) &
		     (BIT(SHARD_TAG_HWQ_BITS) - 1)) << SHARD_TAG_RQ_BITS |
	       (blk_mq_unique_tag_to_tag(unique) &
		(BIT(SHARD_TAG_RQ_BITS) - 1));
}

static struct shard_part *shard_io_find(struct shard_conn *conn, u64 tag)
{
	u32 hwq = (tag >> SHARD_TAG_RQ_BITS) & (BIT(SHARD_TAG_HWQ_BITS) - 1);
	u32 t = tag & (BIT(SHARD_TAG_RQ_BITS) - 1);
	u32 idx = (tag >> 24) & 0xff;
	struct shard_part *part;
	struct shard_dev *dev;
	struct shard_cmd *cmd;
	struct request *rq;

	lockdep_assert_held(&shard_client.lock);
	dev = xa_load(&shard_client.devs, (tag >> 32) & 0xffff);
	if (!dev || hwq >= dev->tag_set.nr_hw_queues ||
	    t >= dev->tag_set.queue_depth)
		return NULL;
	rq = blk_mq_tag_to_rq(dev->tag_set.tags[hwq], t);
	if (!rq)
		return NULL;
	cmd = blk_mq_rq_to_pdu(rq);
	if (cmd->gen != (u16)(tag >> 48) || idx >= cmd->nr_parts)
		return NULL;
	part = &cmd->parts[idx];
	if (part->conn != conn || part->sendgen != (u8)(tag >> 16) ||
	    (part->state != SHARD_PART_SENDING &&
	     part->state != SHARD_PART_INFLIGHT))
		return NULL;
	return part;
}

bool shard_part_route(struct shard_dev *dev, struct shard_part *part,
		      unsigned int hint)
{
	struct shard_map *map = shard_client.map;
	struct shard_daemon *d = NULL;
	struct shard_conn *conn = NULL;
	u32 id = SHARD_DAEMON_NONE;

	lockdep_assert_held(&shard_client.lock);
	if (part->op == SHARD_OP_FLUSH) {
		id = part->daemon_id;
		/*
		 * The map manager lists every daemon whose copy the map
		 * still relies on; one it dropped holds nothing a flush
		 * must reach (in a pool of copies the others have it all).
		 */
		if (map && !shard_map_daemon(map, id))
			return shard_part_finish(part, BLK_STS_OK);
	} else if (map) {
		id = shard_map_primary(map, dev->pool_id, dev->volume_id,
				       part->object);
	}
	if (id != SHARD_DAEMON_NONE)
		d = xa_load(&shard_client.daemons, id);
	if (d)
		conn = shard_daemon_pick_conn(d, hint);
	if (!conn) {
		shard_part_hold(part);
		return false;
	}
	shard_conn_queue(conn, part);
	return false;
}

/* True when map routes part to another daemon than daemon_id. */
bool shard_part_misrouted(const struct shard_map *map,
			  const struct shard_part *part, u32 daemon_id)
{
	const struct shard_dev *dev = part->cmd->dev;

	/* A flush is for the daemon it names, whatever the map says. */
	if (part->op == SHARD_OP_FLUSH)
		return false;
	return shard_map_primary(map, dev->pool_id, dev->volume_id,
				 part->object) != daemon_id;
}

/* Takes a part off its connection and parks it until it can be resent. */
void shard_part_hold(struct shard_part *part)
{
	lockdep_assert_held(&shard_client.lock);
	list_del_init(&part->node);
	part->conn = NULL;
	part->state = SHARD_PART_HELD;
	list_add_tail(&part->node, &shard_client.held);
}

/* Returns true when this was the request's last part; complete it then. */
bool shard_part_finish(struct shard_part *part, blk_status_t status)
{
	struct shard_cmd *cmd = part->cmd;

	lockdep_assert_held(&shard_client.lock);
	list_del_init(&part->node);
	part->conn = NULL;
	part->state = SHARD_PART_IDLE;
	if (status && !cmd->status)
		cmd->status = status;
	return --cmd->pending == 0;
}

/* Frees a flush's fan-out parts; replies look parts up under the lock. */
void shard_cmd_release_parts(struct shard_cmd *cmd)
{
	struct shard_part *parts = NULL;

	spin_lock(&shard_client.lock);
	if (cmd->parts != cmd->inline_parts) {
		parts = cmd->parts;
		cmd->parts = cmd->inline_parts;
		cmd->nr_parts = 0;
	}
	spin_unlock(&shard_client.lock);
	kfree(parts);
}

void shard_cmd_complete(struct shard_cmd *cmd)
{
	shard_cmd_release_parts(cmd);
	blk_mq_complete_request(blk_mq_rq_from_pdu(cmd));
}

void shard_io_req_init(struct shard_req *req, unsigned int op, u64 epoch)
{
	memset(req, 0, sizeof(*req));
	req->magic = cpu_to_le32(SHARD_REQ_MAGIC);
	req->version = SHARD_PROTO_VERSION;
	req->opcode = op;
	req->epoch = cpu_to_le64(epoch);
}

void shard_io_req_seal(struct shard_req *req)
{
	req->hdr_crc = cpu_to_le32(~crc32c(~0, req, SHARD_HDR_CRC_LEN));
}

int shard_io_reply_check(const struct shard_reply *reply)
{
	if (le32_to_cpu(reply->magic) != SHARD_REPLY_MAGIC ||
	    reply->version != SHARD_PROTO_VERSION ||
	    le32_to_cpu(reply->hdr_crc) !=
	    ~crc32c(~0, reply, SHARD_HDR_CRC_LEN) ||
	    !reply->opcode || reply->opcode >= __SHARD_OP_MAX ||
	    le32_to_cpu(reply->len) > SHARD_MAX_IO) {
		pr_warn_ratelimited("bad reply header from a daemon\n");
		return -EPROTO;
	}
	return 0;
}

/* What to do with each piece of a part's payload in the request's pages. */
struct shard_io_xfer {
	struct shard_conn *conn;
	bool more;
	u32 crc;
	int (*fn)(struct shard_io_xfer *x, struct bio_vec *bv, bool last);
};

/*
 * Calls x->fn on the request's bytes off to off + len, a multi-page bvec
 * at a time: one sendmsg or recvmsg per contiguous run, not per page.
 */
static int shard_io_walk(struct request *rq, u32 off, u32 len,
			 struct shard_io_xfer *x)
{
	struct req_iterator iter;
	struct bio_vec bv;
	u32 pos = 0;
	int ret;

	rq_for_each_bvec(bv, rq, iter) {
		u32 start = max(pos, off), end = min(pos + bv.bv_len, off + len);
		struct bio_vec sub;

		if (start < end) {
			u32 at = bv.bv_offset + (start - pos);

			sub.bv_page = nth_page(bv.bv_page, at >> PAGE_SHIFT);
			sub.bv_offset = offset_in_page(at);
			sub.bv_len = end - start;
			ret = x->fn(x, &sub, end == off + len);
			if (ret)
				return ret;
		}
		pos += bv.bv_len;
		if (pos >= off + len)
			break;
	}
	return pos >= off + len ? 0 : -EIO;
}

static int shard_io_crc_seg(struct shard_io_xfer *x, struct bio_vec *bv,
			    bool last)
{
	u32 done = 0;

	/* A bvec may span pages; map them one at a time. */
	while (done < bv->bv_len) {
		u32 at = bv->bv_offset + done;
		u32 n = min_t(u32, bv->bv_len - done,
			      PAGE_SIZE - offset_in_page(at));
		void *p = kmap_local_page(nth_page(bv->bv_page,
						    at >> PAGE_SHIFT));

		x->crc = crc32c(x->crc, p + offset_in_page(at), n);
		kunmap_local(p);
		done += n;
	}
	return 0;
}

static int shard_io_send_seg(struct shard_io_xfer *x, struct bio_vec *bv,
			     bool last)
{
	struct iov_iter iter;

	iov_iter_bvec(&iter, ITER_SOURCE, bv, 1, bv->bv_len);
	return shard_conn_send_iter(x->conn, &iter, x->more || !last);
}

static int shard_io_recv_seg(struct shard_io_xfer *x, struct bio_vec *bv,
			     bool last)
{
	struct iov_iter iter;

	iov_iter_bvec(&iter, ITER_DEST, bv, 1, bv->bv_len);
	return shard_conn_recv_iter(x->conn, &iter);
}

/*
 * Called by the send work with the part in SENDING: nobody completes or
 * moves it meanwhile, so its request's pages stay ours to read.
 */
int shard_io_send_part(struct shard_conn *conn, struct shard_part *part,
		       u64 epoch, bool more)
{
	struct shard_cmd *cmd = part->cmd;
	struct shard_dev *dev = cmd->dev;
	struct request *rq = blk_mq_rq_from_pdu(cmd);
	struct shard_io_xfer x = { .conn = conn, .more = more, .crc = ~0 };
	bool payload = part->op == SHARD_OP_WRITE;
	struct shard_req req;
	int ret;

	shard_io_req_init(&req, part->op, epoch);
	req.tag = cpu_to_le64(shard_io_tag(cmd, part));
	if (part->op != SHARD_OP_FLUSH) {
		req.len = cpu_to_le32(part->len);
		req.obj_order = dev->obj_order;
		req.volume = cpu_to_le64(dev->volume_id);
		req.object = cpu_to_le64(part->object);
		req.offset = cpu_to_le32(part->obj_off);
		req.pool = cpu_to_le32(dev->pool_id);
	}
	if (payload && (rq->cmd_flags & REQ_FUA))
		req.flags = cpu_to_le16(SHARD_F_FUA);
	if (payload) {
		x.fn = shard_io_crc_seg;
		ret = shard_io_walk(rq, part->rq_off, part->len, &x);
		if (ret)
			return ret;
		req.data_crc = cpu_to_le32(~x.crc);
	}
	shard_io_req_seal(&req);

	ret = shard_conn_send_kvec(conn, &req, sizeof(req), payload || more);
	if (ret || !payload)
		return ret;
	x.fn = shard_io_send_seg;
	return shard_io_walk(rq, part->rq_off, part->len, &x);
}

static int shard_io_recv_part(struct shard_conn *conn, struct shard_part *part,
			      u32 want_crc)
{
	struct request *rq = blk_mq_rq_from_pdu(part->cmd);
	struct shard_io_xfer x = { .conn = conn, .fn = shard_io_recv_seg };
	int ret;

	ret = shard_io_walk(rq, part->rq_off, part->len, &x);
	if (ret)
		return ret;
	x.fn = shard_io_crc_seg;
	x.crc = ~0;
	shard_io_walk(rq, part->rq_off, part->len, &x);
	if (~x.crc != want_crc) {
		pr_warn_ratelimited("daemon %u: read payload crc mismatch, resending\n",
				    conn->daemon->id);
		return -EBADMSG;
	}
	return 0;
}

static blk_status_t shard_io_status(u32 status)
{
	switch (status) {
	case SHARD_S_OK:
		return BLK_STS_OK;
	case SHARD_S_NOSPC:
		return BLK_STS_NOSPC;
	case SHARD_S_INVAL:
	case SHARD_S_ROFS:
		return BLK_STS_NOTSUPP;
	default:
		return BLK_STS_IOERR;
	}
}

/*
 * A daemon said it is not the part's primary at the part's epoch. When it
 * knows a newer map than ours, the part waits for that map (its install
 * resends). Otherwise our map may route the part elsewhere by now, or
 * stamps it with a newer epoch: send it again at once. A daemon that says
 * so again and again would make that a loop; after SHARD_STALE_FAST tries
 * the part waits a little between them.
 */
static void shard_part_stale(struct shard_part *part, u64 epoch)
{
	const struct shard_map *map = shard_client.map;

	lockdep_assert_held(&shard_client.lock);
	list_del_init(&part->node);
	part->conn = NULL;
	part->state = SHARD_PART_HELD;
	if (map && map->epoch >= epoch &&
	    part->stale_retries < SHARD_STALE_FAST) {
		part->stale_retries++;
		list_add_tail(&part->node, &shard_client.held);
		shard_kick_redispatch();
		return;
	}
	list_add_tail(&part->node, &shard_client.stale);
	if (map && map->epoch >= epoch)
		shard_kick_stale();
}

/*
 * Acts on a reply's status for a part that no thread is moving data for;
 * epoch is the daemon's. Returns true when that finished its request.
 */
bool shard_part_replied(struct shard_part *part, u32 status, u64 epoch)
{
	lockdep_assert_held(&shard_client.lock);
	if (status == SHARD_S_STALE) {
		shard_part_stale(part, epoch);
		return false;
	}
	if (status == SHARD_S_BADCRC && ++part->retries < SHARD_CRC_RETRIES) {
		shard_part_hold(part);
		shard_kick_redispatch();
		return false;
	}
	return shard_part_finish(part, shard_io_status(status));
}

static void shard_io_report(struct shard_conn *conn, const struct shard_reply *reply,
			    u32 dev_index)
{
	static DEFINE_RATELIMIT_STATE(rs, 5 * HZ, 10);

	if (!__ratelimit(&rs))
		return;
	pr_err("daemon %u: opcode %u failed with status %u\n",
	       conn->daemon->id, reply->opcode, le32_to_cpu(reply->status));
	shard_nl_event(SHARD_EVENT_IO_ERROR, conn->daemon->id, dev_index, EIO);
}

/* Handles one checked reply header; a non-zero return drops the link. */
int shard_io_reply(struct shard_conn *conn, const struct shard_reply *reply)
{
	u32 status = le32_to_cpu(reply->status);
	u32 len = le32_to_cpu(reply->len);
	struct shard_part *part;
	struct shard_cmd *cmd;
	bool done = false;
	u32 dev_index;
	int ret;

	spin_lock(&shard_client.lock);
	part = shard_io_find(conn, le64_to_cpu(reply->tag));
	if (!part) {
		spin_unlock(&shard_client.lock);
		return len ? shard_conn_drain(conn, len) : 0;
	}
	if (reply->opcode != part->op ||
	    (len && (status != SHARD_S_OK || part->op != SHARD_OP_READ)) ||
	    (part->op == SHARD_OP_READ && status == SHARD_S_OK &&
	     len != part->len)) {
		spin_unlock(&shard_client.lock);
		pr_warn_ratelimited("daemon %u: reply does not fit its request\n",
				    conn->daemon->id);
		return -EPROTO;
	}
	cmd = part->cmd;
	dev_index = cmd->dev->index;

	if (len) {
		list_del_init(&part->node);
		part->state = SHARD_PART_RECEIVING;
		spin_unlock(&shard_client.lock);
		ret = shard_io_recv_part(conn, part,
					 le32_to_cpu(reply->data_crc));
		spin_lock(&shard_client.lock);
		if (ret) {
			shard_part_hold(part);
			spin_unlock(&shard_client.lock);
			return ret;
		}
		done = shard_part_finish(part, BLK_STS_OK);
	} else if (part->state == SHARD_PART_SENDING) {
		/*
		 * The daemon has the whole payload but our sendmsg has not
		 * returned yet: the sender still reads the request's pages,
		 * so it finishes the part once it is done with them.
		 */
		part->replied = true;
		part->reply_status = status;
		part->reply_epoch = le64_to_cpu(reply->epoch);
	} else {
		done = shard_part_replied(part, status,
					  le64_to_cpu(reply->epoch));
	}
	spin_unlock(&shard_client.lock);
	if (status != SHARD_S_OK && status != SHARD_S_STALE &&
	    status != SHARD_S_BADCRC)
		shard_io_report(conn, reply, dev_index);
	if (done)
		shard_cmd_complete(cmd);
	return 0;
}
