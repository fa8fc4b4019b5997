// SPDX-License-Identifier: GPL-2.0-only
/*
 * The store's data operations (read, write, zero), run on the daemon's
 * io_uring so that the event loop never waits for the disk.
 *
 * Each operation is a small state machine. A phase submits its disk I/O
 * all at once (up to NIO requests); when the last of them completes the
 * next phase starts. The first error ends the operation once everything
 * it has in flight is back, so no buffer is freed under the kernel.
 *
 *   read:  crc entries -> stored runs of blocks (zero blocks are filled
 *          in) -> verify every block's crc -> copy out
 *   write: [table entry of a new slot] -> crc entries (only when the
 *          first or last block is partial) -> the partial first/last
 *          block (read-modify-write) -> [table entry with the unknown
 *          version] -> data and crc entries together -> [table entry
 *          with the new version]
 *   zero:  crc entries -> partial first/last block -> [table entry with
 *          the unknown version] -> those blocks, crc entries (0 for
 *          whole blocks) and a hole punch together -> the slot's whole
 *          crc page -> free the slot if it is all zero, else [table
 *          entry with the new version]
 *
 * Operations on one object are serialized by store_order.c, so a phase
 * may read crc entries and blocks without anyone changing them under
 * it. Operations on different objects touch disjoint data and crc pages;
 * the only shared state is the in-memory object table, changed here
 * synchronously, and a freed slot is reused only once the write that
 * frees its table entry has completed.
 */
#define _GNU_SOURCE
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "dio.h"
#include "log.h"
#include "store_int.h"

#define BLK	SHARD_BLOCK_SIZE
#define NIO	8		/* disk requests one phase has in flight */

enum kind { K_READ, K_WRITE, K_ZERO };

enum phase {
	P_START,
	P_ALLOC,	/* write: the table entry of a new slot */
	P_CRCS,		/* crc entries of the blocks touched */
	P_DATA,		/* read: runs of stored blocks; else RMW reads */
	P_UNVER,	/* write, zero: the entry with the unknown version */
	P_STORE,	/* write, zero: data blocks, crc entries, punch */
	P_FREECHK,	/* zero: the slot's whole crc page */
	P_FREE,		/* zero: the emptied slot's table entry */
	P_VER,		/* write, zero: the entry with the new version */
	P_DONE,
};

static const char *const kind_name[] = { "read", "write", "zero" };

struct op_io {
	struct shard_dio dio;
	struct shard_store_op *op;
};

struct shard_store_op {
	/* First, so aligned like the op itself (O_DIRECT): the partial
	 * blocks of a zero, or the bounce buffer of a 1-2 block op. */
	unsigned char edge[2][BLK];
	__le32 crc[BLOCKS_PER_SLOT];	/* indexed by block in the slot */

	struct shard_store *st;
	struct store_qent qe;
	enum kind kind;
	enum phase phase;
	struct shard_obj o;
	uint32_t off, len;
	unsigned char *ubuf;		/* the caller's */
	struct shard_ver ver;		/* recorded when set_ver */
	bool set_ver;
	uint64_t log_n;			/* its change log entry, or 0 */
	shard_store_done_fn done;
	void *arg;

	uint32_t slot;
	uint32_t b0, n;			/* blocks touched: [b0, b0 + n) */
	bool part[2];			/* first/last block is partial */
	bool rmw[2];			/* ... and was read from disk */
	unsigned char *data;		/* n blocks: ubuf, edge or bounce */
	unsigned char *bounce;		/* allocated when edge is too small */
	uint32_t cursor;		/* read: blocks done so far */
	bool fresh;			/* new slot: its crcs are all 0 */
	bool did_io;
	unsigned int pending, nio;
	int err;
	struct ent_disk ent;
	struct op_io io[NIO];
};

static void op_run(struct shard_store_op *op);

void shard_store_set_ring(struct shard_store *st, struct io_uring *ring)
{
	st->ring = ring;
}

static int check_obj(const struct shard_obj *o, uint32_t off, uint32_t len)
{
	if (o->order > SHARD_STORE_SLOT_ORDER)
		return -EOPNOTSUPP;
	if (o->order < 9 || (uint64_t)off + len > (1ULL << o->order))
		return -ERANGE;
	return 0;
}

/* Completion of one disk request of the current phase. */
static void op_io_done(struct shard_dio *dio, int err)
{
	struct shard_store_op *op = container_of(dio, struct op_io, dio)->op;

	if (err && !op->err)
		op->err = err;
	op->pending--;
	op_run(op);
}

static struct shard_dio *op_next_io(struct shard_store_op *op)
{
	struct op_io *io = &op->io[op->nio++];

	assert(op->nio <= NIO);
	io->op = op;
	op->pending++;
	op->did_io = true;
	return &io->dio;
}

static void op_read(struct shard_store_op *op, int fd, void *buf,
		    uint32_t len, uint64_t off)
{
	shard_dio_read(op_next_io(op), op->st->ring, fd, buf, len, off,
		       op_io_done);
}

static void op_write(struct shard_store_op *op, int fd, const void *buf,
		     uint32_t len, uint64_t off, shard_dio_fn done)
{
	shard_dio_write(op_next_io(op), op->st->ring, fd, buf, len, off,
			done ? done : op_io_done);
}

static unsigned char *edge_buf(struct shard_store_op *op, int i)
{
	if (op->kind == K_ZERO)
		return op->edge[i];
	return op->data + (i ? (size_t)(op->n - 1) * BLK : 0);
}

static uint32_t edge_blk(const struct shard_store_op *op, int i)
{
	return op->b0 + (i ? op->n - 1 : 0);
}

static bool crc_ok(struct shard_store_op *op, uint32_t blk,
		   const unsigned char *buf)
{
	uint32_t want = le32toh(op->crc[blk]);

	if (!want || store_block_crc(buf) == want)
		return true;
	pr_err_ratelimited("store: crc mismatch in pool %u volume %" PRIu64
			   " object %" PRIu64 " block %u (slot %u)",
			   op->o.pool, op->o.volume, op->o.object, blk,
			   op->slot);
	op->err = -EBADMSG;
	return false;
}

/* A write's new slot: undo the allocation if its entry did not land. */
static void op_alloc_done(struct shard_dio *dio, int err)
{
	struct shard_store_op *op = container_of(dio, struct op_io, dio)->op;
	struct shard_store *st = op->st;

	if (err) {
		store_hash_remove(st, op->slot);
		st->slots[op->slot].used = false;
		st->free[st->nfree++] = op->slot;
	}
	op_io_done(dio, err);
}

/* A freed slot goes back on the free stack only once its entry says so
 * on disk: reusing it earlier could reorder the two entry writes. */
static void op_free_done(struct shard_dio *dio, int err)
{
	struct shard_store_op *op = container_of(dio, struct op_io, dio)->op;
	struct shard_store *st = op->st;

	if (err) {
		/* Keep it in memory as on disk: still in use. */
		st->slots[op->slot].used = true;
		store_hash_insert(st, op->slot);
	} else {
		st->free[st->nfree++] = op->slot;
	}
	op_io_done(dio, err);
}

/* A failed punch costs only space, never the operation. */
static void op_punch_done(struct shard_dio *dio, int err)
{
	if (err)
		pr_debug("store: hole punch failed: %s", strerror(-err));
	op_io_done(dio, 0);
}

static void start_alloc(struct shard_store_op *op)
{
	struct shard_store *st = op->st;
	struct slot *s;
	uint32_t i;

	if (!st->nfree) {
		op->err = -ENOSPC;
		return;
	}
	i = st->free[--st->nfree];
	s = &st->slots[i];
	s->pool = op->o.pool;
	s->volume = op->o.volume;
	s->object = op->o.object;
	s->order = op->o.order;
	s->used = true;
	store_hash_insert(st, i);
	op->slot = i;
	/* A freed slot left its crc page zeroed, so the object reads as
	 * zeroes; only the table entry needs writing. */
	op->fresh = true;
	s->ver.epoch = s->ver.seq = 0;
	s->disk_unknown = true;
	store_encode_entry(st, i, &op->ent);
	op->phase = P_ALLOC;
	op_write(op, st->fd, &op->ent, st->ent_size,
		 store_entry_pos(st, i), op_alloc_done);
}

static void start_crcs(struct shard_store_op *op)
{
	op->phase = P_CRCS;
	/* A write of whole blocks replaces every crc entry it touches and
	 * merges with nothing on disk: it needs none of them read. */
	if (op->kind == K_WRITE && !op->part[0] && !op->part[1])
		return;
	if (op->fresh)
		memset(&op->crc[op->b0], 0, (size_t)op->n * 4);
	else
		op_read(op, op->st->fd, &op->crc[op->b0], op->n * 4,
			store_crc_pos(op->st, op->slot, op->b0));
}

static void start(struct shard_store_op *op)
{
	struct shard_store *st = op->st;
	uint32_t slot;

	if (!op->len) {
		op->phase = P_DONE;
		return;
	}
	slot = store_lookup(st, &op->o);
	if (slot == NONE) {
		if (op->kind == K_WRITE) {
			start_alloc(op);
			return;
		}
		/* Never written: reads as zeroes, nothing to zero. */
		if (op->kind == K_READ)
			memset(op->ubuf, 0, op->len);
		op->phase = P_DONE;
		return;
	}
	if (st->slots[slot].order != op->o.order) {
		op->err = -EINVAL;
		return;
	}
	op->slot = slot;
	start_crcs(op);
}

/* Read: the next runs of stored blocks; zero blocks are filled here. */
static void read_runs(struct shard_store_op *op)
{
	op->phase = P_DATA;
	while (op->cursor < op->n && op->nio < NIO) {
		uint32_t i = op->cursor, j = i;
		unsigned char *p = op->data + (size_t)i * BLK;

		if (!op->crc[op->b0 + i]) {
			memset(p, 0, BLK);
			op->cursor++;
			continue;
		}
		while (j < op->n && op->crc[op->b0 + j])
			j++;
		op_read(op, op->st->dfd, p, (j - i) * BLK,
			store_data_pos(op->st, op->slot, op->b0 + i));
		op->cursor = j;
	}
}

static void read_finish(struct shard_store_op *op)
{
	uint32_t i;

	for (i = 0; i < op->n; i++)
		if (!crc_ok(op, op->b0 + i, op->data + (size_t)i * BLK))
			return;
	if (op->data != op->ubuf)
		memcpy(op->ubuf, op->data + op->off % BLK, op->len);
	op->phase = P_DONE;
}

/* Write, zero: read the partial first and last block to merge into. */
static void rmw_read(struct shard_store_op *op)
{
	int i;

	op->phase = P_DATA;
	for (i = 0; i < 2; i++) {
		uint32_t blk = edge_blk(op, i);

		if (!op->part[i])
			continue;
		if (!op->crc[blk]) {
			memset(edge_buf(op, i), 0, BLK);
			continue;
		}
		op->rmw[i] = true;
		op_read(op, op->st->dfd, edge_buf(op, i), BLK,
			store_data_pos(op->st, op->slot, blk));
	}
}

/* A partial block whose stored copy is bad cannot be merged with. */
static bool rmw_ok(struct shard_store_op *op)
{
	int i;

	for (i = 0; i < 2; i++)
		if (op->rmw[i] && !crc_ok(op, edge_blk(op, i), edge_buf(op, i)))
			return false;
	return true;
}

/*
 * From here until the new version is recorded the object's bytes match
 * no version: if the operation fails, it stays that way.
 */
static void data_touched(struct shard_store_op *op)
{
	struct slot *s = &op->st->slots[op->slot];

	if (op->set_ver)
		s->ver.epoch = s->ver.seq = 0;
}

/*
 * Before a change with a version touches data, the table entry on disk
 * stops naming the old version: a daemon killed in the middle of the
 * change reopens with the object at no version, its bytes part old,
 * part new. Left naming the old one, it would claim the bytes of a
 * version that other copies hold whole: backfill would skip the object
 * or send only the blocks changed since, and the half-written change
 * (one never acknowledged, if its daemon was the primary) would stay.
 * An entry already at no version (a new slot, or one a change queued
 * before this one left so) is left as it is; a change without a version
 * restores the bytes its version stands for.
 */
static bool unver_first(const struct shard_store_op *op)
{
	const struct shard_store *st = op->st;

	return op->set_ver && st->ent_size != ENT_V1_SIZE &&
	       !st->slots[op->slot].disk_unknown;
}

static void write_unver(struct shard_store_op *op)
{
	struct shard_store *st = op->st;

	data_touched(op);
	st->slots[op->slot].disk_unknown = true;
	store_encode_entry(st, op->slot, &op->ent);
	op->phase = P_UNVER;
	op_write(op, st->fd, &op->ent, st->ent_size,
		 store_entry_pos(st, op->slot), NULL);
}

/*
 * Whether the operation queued next on the object is a change with a
 * version: that one's entry write will name its version, so this one's
 * need not go to disk (a run of writes to one object writes its entry
 * twice, not twice per write). Should the next one fail before it
 * touches data, the entry stays at no version: it costs a whole copy
 * of the object if its daemon dies before the object changes again.
 */
static bool change_follows(const struct shard_store_op *op)
{
	const struct store_qent *next = op->qe.next;

	return next &&
	       container_of(next, const struct shard_store_op, qe)->set_ver;
}

/* Records the change's version in the object's table entry. */
static void write_version(struct shard_store_op *op)
{
	struct shard_store *st = op->st;
	struct slot *s = &st->slots[op->slot];

	op->phase = P_DONE;
	if (!op->set_ver)
		return;
	s->ver = op->ver;
	if (s->disk_unknown && change_follows(op))
		return;
	s->disk_unknown = !shard_ver_known(&op->ver);
	store_encode_entry(st, op->slot, &op->ent);
	op->phase = P_VER;
	op_write(op, st->fd, &op->ent, st->ent_size,
		 store_entry_pos(st, op->slot), NULL);
}

static void write_store(struct shard_store_op *op)
{
	struct shard_store *st = op->st;
	uint32_t i;

	if (op->data != op->ubuf)
		memcpy(op->data + op->off % BLK, op->ubuf, op->len);
	for (i = 0; i < op->n; i++)
		op->crc[op->b0 + i] =
			htole32(store_block_crc(op->data + (size_t)i * BLK));
	data_touched(op);
	op->phase = P_STORE;
	op_write(op, st->dfd, op->data, op->n * BLK,
		 store_data_pos(st, op->slot, op->b0), NULL);
	op_write(op, st->fd, &op->crc[op->b0], op->n * 4,
		 store_crc_pos(st, op->slot, op->b0), NULL);
}

static void zero_store(struct shard_store_op *op)
{
	struct shard_store *st = op->st;
	uint32_t end = op->off + op->len;
	uint32_t w0 = op->b0 + op->part[0];		/* whole blocks */
	uint32_t w1 = op->b0 + op->n - op->part[1];	/* [w0, w1) */
	int i;

	if (op->part[0]) {
		uint32_t from = op->off % BLK;
		uint32_t to = end - op->b0 * BLK < BLK ? end - op->b0 * BLK : BLK;

		memset(op->edge[0] + from, 0, to - from);
	}
	if (op->part[1])
		memset(op->edge[1], 0, end % BLK);
	if (w1 > w0)
		memset(&op->crc[w0], 0, (size_t)(w1 - w0) * 4);
	data_touched(op);
	op->phase = P_STORE;
	for (i = 0; i < 2; i++) {
		uint32_t blk = edge_blk(op, i);

		if (!op->part[i])
			continue;
		op->crc[blk] = htole32(store_block_crc(op->edge[i]));
		op_write(op, st->dfd, op->edge[i], BLK,
			 store_data_pos(st, op->slot, blk), NULL);
	}
	op_write(op, st->fd, &op->crc[op->b0], op->n * 4,
		 store_crc_pos(st, op->slot, op->b0), NULL);
	/* Give the space back to a sparse file. */
	if (w1 > w0 && !st->blkdev)
		shard_dio_fallocate(op_next_io(op), st->ring, st->fd,
				    FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
				    store_data_pos(st, op->slot, w0),
				    (uint64_t)(w1 - w0) * BLK, op_punch_done);
}

static void zero_free_check(struct shard_store_op *op)
{
	op->phase = P_FREECHK;
	op_read(op, op->st->fd, op->crc, CRC_PAGE,
		store_crc_pos(op->st, op->slot, 0));
}

/* Frees the slot if every block of the object now reads as zeroes. */
static void zero_free(struct shard_store_op *op)
{
	struct shard_store *st = op->st;
	uint32_t i;

	for (i = 0; i < BLOCKS_PER_SLOT; i++)
		if (op->crc[i]) {
			write_version(op);
			return;
		}
	op->phase = P_DONE;
	store_hash_remove(st, op->slot);
	st->slots[op->slot].used = false;
	store_encode_entry(st, op->slot, &op->ent);
	op->phase = P_FREE;
	op_write(op, st->fd, &op->ent, st->ent_size,
		 store_entry_pos(st, op->slot), op_free_done);
}

/* Write, zero: the data phase, once the partial blocks are merged and
 * the entry names no version. */
static void store_data(struct shard_store_op *op)
{
	if (op->kind == K_WRITE)
		write_store(op);
	else
		zero_store(op);
}

/* Runs the next phase; called when the previous one has nothing left
 * in flight and did not fail. */
static void op_step(struct shard_store_op *op)
{
	switch (op->phase) {
	case P_START:
		start(op);
		break;
	case P_ALLOC:
		start_crcs(op);
		break;
	case P_CRCS:
		if (op->kind == K_READ)
			read_runs(op);
		else
			rmw_read(op);
		break;
	case P_DATA:
		if (op->kind == K_READ && op->cursor < op->n)
			read_runs(op);
		else if (op->kind == K_READ)
			read_finish(op);
		else if (!rmw_ok(op))
			break;
		else if (unver_first(op))
			write_unver(op);
		else
			store_data(op);
		break;
	case P_UNVER:
		store_data(op);
		break;
	case P_STORE:
		if (op->kind == K_ZERO)
			zero_free_check(op);
		else
			write_version(op);
		break;
	case P_FREECHK:
		zero_free(op);
		break;
	case P_FREE:
	case P_VER:
	case P_DONE:
		op->phase = P_DONE;
		break;
	}
}

static void op_free(struct shard_store_op *op)
{
	free(op->bounce);
	free(op);
}

static void op_finish(struct shard_store_op *op)
{
	struct shard_store *st = op->st;
	struct store_qent *next;

	if (!op->did_io) {
		/* Answer from a completion, never from inside the call that
		 * submitted the operation: callers need not be reentrant. */
		op->phase = P_DONE;
		shard_dio_nop(op_next_io(op), st->ring, op_io_done);
		return;
	}
	switch (op->err) {
	case 0:
	case -EBADMSG:		/* logged with the block */
	case -ENOSPC:
	case -EINVAL:
		break;
	default:
		pr_err_ratelimited("store: %s of pool %u volume %" PRIu64
				   " object %" PRIu64 " failed: %s",
				   kind_name[op->kind], op->o.pool,
				   op->o.volume, op->o.object,
				   strerror(-op->err));
	}
	if (op->err && op->log_n)
		store_log_fail(st, &op->o, op->log_n);
	next = store_order_leave(st, &op->qe);
	op->done(op->arg, op->err);
	op_free(op);
	if (next)
		op_run(container_of(next, struct shard_store_op, qe));
}

static void op_run(struct shard_store_op *op)
{
	while (!op->pending) {
		if (op->err || op->phase == P_DONE) {
			op_finish(op);
			return;
		}
		op->nio = 0;
		op_step(op);
	}
}

static int op_submit(struct shard_store *st, enum kind kind,
		     const struct shard_obj *o, uint32_t off, uint32_t len,
		     const void *buf, const struct shard_ver *ver,
		     shard_store_done_fn done, void *arg)
{
	struct shard_store_op *op;
	uint32_t end = off + len;
	void *mem;
	bool first;
	int ret;

	ret = check_obj(o, off, len);
	if (ret)
		return ret;
	if (kind != K_ZERO && len > SHARD_MAX_IO)
		return -EINVAL;
	if (posix_memalign(&mem, BLK, sizeof(*op)))
		return -ENOMEM;
	op = mem;
	/* The buffers need no clearing; each phase fills what it uses. */
	memset(&op->st, 0, sizeof(*op) - offsetof(struct shard_store_op, st));
	op->st = st;
	op->kind = kind;
	op->o = *o;
	op->off = off;
	op->len = len;
	op->ubuf = (unsigned char *)buf;	/* written only by reads */
	op->done = done;
	op->arg = arg;
	if (ver) {
		op->ver = *ver;
		op->set_ver = true;
	}
	if (len) {
		op->b0 = off / BLK;
		op->n = (end - 1) / BLK - op->b0 + 1;
		op->part[0] = off % BLK || (op->n == 1 && end % BLK);
		op->part[1] = op->n > 1 && end % BLK;
	}
	if (len && kind != K_ZERO) {
		bool aligned = !op->part[0] && !op->part[1] &&
			       (!st->direct || !((uintptr_t)buf % BLK));

		if (aligned)
			op->data = op->ubuf;
		else if (op->n <= 2)
			op->data = op->edge[0];
		else if (posix_memalign(&mem, BLK, (size_t)op->n * BLK))
			goto nomem;
		else
			op->data = op->bounce = mem;
		if (kind == K_READ)
			op->part[0] = op->part[1] = false;
	}
	if (store_order_enter(st, &op->qe, o, &first))
		goto nomem;
	if (kind != K_READ && ver && len)
		op->log_n = store_log_add(st, o, off, len, ver, first);
	if (first)
		op_run(op);
	return 0;
nomem:
	op_free(op);
	return -ENOMEM;
}

int shard_store_read(struct shard_store *st, const struct shard_obj *o,
		     uint32_t off, uint32_t len, void *buf,
		     shard_store_done_fn done, void *arg)
{
	return op_submit(st, K_READ, o, off, len, buf, NULL, done, arg);
}

int shard_store_write(struct shard_store *st, const struct shard_obj *o,
		      uint32_t off, uint32_t len, const void *buf,
		      const struct shard_ver *ver, shard_store_done_fn done,
		      void *arg)
{
	return op_submit(st, K_WRITE, o, off, len, buf, ver, done, arg);
}

int shard_store_zero(struct shard_store *st, const struct shard_obj *o,
		     uint32_t off, uint32_t len, const struct shard_ver *ver,
		     shard_store_done_fn done, void *arg)
{
	return op_submit(st, K_ZERO, o, off, len, NULL, ver, done, arg);
}
