// SPDX-License-Identifier: GPL-2.0-only
/*
 * A simple in-place object store on one file or block device.
 *
 * Layout (little-endian, 4 KiB aligned regions):
 *
 *   0          superblock (one 4 KiB block, crc protected)
 *   table_off  object table: one 64-byte entry per slot (32 bytes and
 *              no version in format 1)
 *   crc_off    crc table: one 4 KiB page per slot, one u32 per block
 *   data_off   data: slot i holds its object at data_off + (i << 22)
 *
 * A crc entry of 0 means "reads as zeroes": never written, discarded, or
 * written with zeroes. A block whose real crc is 0 is recorded as 1 (one
 * 2^-32 collision more, in exchange for needing no separate bitmap).
 *
 * This file opens, formats and closes the store and keeps the object
 * table in memory; store_op.c runs reads and writes on the io_uring,
 * store_order.c keeps each object's operations in order.
 *
 * Metadata goes through the page cache; data too on a regular file, and
 * with O_DIRECT on a block device. Durability comes from fdatasync at
 * FLUSH/FUA time, which covers data, crc pages and table entries alike.
 * What this store does not do (the log-structured store will): make an
 * unflushed write atomic.
 * After a crash, a block written but not flushed may read as CORRUPT
 * because its data and crc reached the disk separately.
 */
#define _GNU_SOURCE
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/fs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <shard/proto.h>

#include "crc.h"
#include "log.h"
#include "store_int.h"

static const unsigned char zero_block[SHARD_BLOCK_SIZE];

static uint64_t align_up(uint64_t x, uint64_t a)
{
	return (x + a - 1) / a * a;
}

int store_pread(int fd, void *buf, size_t len, uint64_t off)
{
	unsigned char *p = buf;

	while (len) {
		ssize_t n = pread(fd, p, len, (off_t)off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -EIO;	/* the store is shorter than its sb */
		p += n;
		off += (uint64_t)n;
		len -= (size_t)n;
	}
	return 0;
}

int store_pwrite(int fd, const void *buf, size_t len, uint64_t off)
{
	const unsigned char *p = buf;

	while (len) {
		ssize_t n = pwrite(fd, p, len, (off_t)off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		p += n;
		off += (uint64_t)n;
		len -= (size_t)n;
	}
	return 0;
}

uint32_t store_hash_obj(uint32_t pool, uint64_t volume, uint64_t object,
			uint32_t nbuckets)
{
	uint64_t h = volume * 0x9e3779b97f4a7c15ULL ^ object;

	h ^= (uint64_t)pool << 32;
	h *= 0xbf58476d1ce4e5b9ULL;
	h ^= h >> 31;
	return (uint32_t)h & (nbuckets - 1);
}

uint32_t store_lookup(const struct shard_store *st, const struct shard_obj *o)
{
	uint32_t i = st->buckets[store_hash_obj(o->pool, o->volume, o->object,
					  st->nbuckets)];

	for (; i != NONE; i = st->slots[i].next) {
		const struct slot *s = &st->slots[i];

		if (s->pool == o->pool && s->volume == o->volume &&
		    s->object == o->object)
			return i;
	}
	return NONE;
}

void store_hash_insert(struct shard_store *st, uint32_t i)
{
	struct slot *s = &st->slots[i];
	uint32_t *head = &st->buckets[store_hash_obj(s->pool, s->volume,
						     s->object, st->nbuckets)];

	s->next = *head;
	*head = i;
}

void store_hash_remove(struct shard_store *st, uint32_t i)
{
	struct slot *s = &st->slots[i];
	uint32_t *p = &st->buckets[store_hash_obj(s->pool, s->volume,
						  s->object, st->nbuckets)];

	while (*p != i)
		p = &st->slots[*p].next;
	*p = s->next;
}

void store_encode_entry(const struct shard_store *st, uint32_t i,
			struct ent_disk *e)
{
	const struct slot *s = &st->slots[i];

	__le32 crc;

	/* A free entry is all zeroes, as format leaves it. */
	memset(e, 0, sizeof(*e));
	if (!s->used)
		return;
	e->pool = htole32(s->pool);
	e->order = s->order;
	e->flags = ENT_USED;
	e->volume = htole64(s->volume);
	e->object = htole64(s->object);
	if (st->ent_size == ENT_V1_SIZE) {
		crc = htole32(shard_crc32c(e, ENT_V1_SIZE - 4));
		memcpy((unsigned char *)e + ENT_V1_SIZE - 4, &crc, 4);
		return;
	}
	e->ver_epoch = htole64(s->ver.epoch);
	e->ver_seq = htole64(s->ver.seq);
	e->crc = htole32(shard_crc32c(e, offsetof(struct ent_disk, crc)));
}

/* A table entry that is neither free nor usable: NULL if usable. */
static const char *decode_entry(const struct shard_store *st,
				const unsigned char *buf, struct slot *s)
{
	struct ent_disk e;
	__le32 crc;

	memset(&e, 0, sizeof(e));
	memcpy(&e, buf, st->ent_size);
	if (st->ent_size == ENT_V1_SIZE) {
		memcpy(&crc, buf + ENT_V1_SIZE - 4, 4);
		if (le32toh(crc) != shard_crc32c(buf, ENT_V1_SIZE - 4))
			return "crc";
		e.ver_epoch = e.ver_seq = 0;
	} else if (le32toh(e.crc) !=
		   shard_crc32c(&e, offsetof(struct ent_disk, crc))) {
		return "crc";
	}
	if (!(e.flags & ENT_USED))
		return "flags";
	s->used = true;
	s->pool = le32toh(e.pool);
	s->order = e.order;
	s->volume = le64toh(e.volume);
	s->object = le64toh(e.object);
	s->ver.epoch = le64toh(e.ver_epoch);
	s->ver.seq = le64toh(e.ver_seq);
	return NULL;
}

uint32_t store_block_crc(const unsigned char *blk)
{
	static uint32_t zero_crc;
	uint32_t c;

	if (!zero_crc)
		zero_crc = shard_crc32c(zero_block, SHARD_BLOCK_SIZE);
	c = shard_crc32c(blk, SHARD_BLOCK_SIZE);
	if (c == zero_crc && !memcmp(blk, zero_block, SHARD_BLOCK_SIZE))
		return 0;
	return c ? c : 1;
}

int shard_store_flush(struct shard_store *st)
{
	if (fdatasync(st->fd) < 0) {
		int ret = -errno;

		pr_err("store: fdatasync failed: %s", strerror(errno));
		return ret;
	}
	return 0;
}

int shard_store_fd(const struct shard_store *st)
{
	return st->fd;
}

uint64_t shard_store_capacity(const struct shard_store *st)
{
	return (uint64_t)st->nslots << SHARD_STORE_SLOT_ORDER;
}

uint64_t shard_store_used(const struct shard_store *st)
{
	return (uint64_t)(st->nslots - st->nfree) << SHARD_STORE_SLOT_ORDER;
}

uint32_t shard_store_daemon_id(const struct shard_store *st)
{
	return le32toh(st->sb.daemon_id);
}

bool shard_store_uuid(const struct shard_store *st,
		      char out[SHARD_STORE_UUID_HEX])
{
	bool any = false;
	size_t i;

	for (i = 0; i < sizeof(st->sb.uuid); i++) {
		snprintf(out + 2 * i, 3, "%02x", st->sb.uuid[i]);
		any |= st->sb.uuid[i] != 0;
	}
	return any;
}

bool shard_store_is_blkdev(const struct shard_store *st)
{
	return st->blkdev;
}

int store_write_sb(struct shard_store *st)
{
	unsigned char blk[SB_SIZE];
	int ret;

	st->sb.crc = htole32(shard_crc32c(&st->sb,
					  offsetof(struct sb_disk, crc)));
	memset(blk, 0, sizeof(blk));
	memcpy(blk, &st->sb, sizeof(st->sb));
	ret = store_pwrite(st->fd, blk, sizeof(blk), 0);
	if (!ret && fdatasync(st->fd) < 0)
		ret = -errno;
	return ret;
}

int shard_store_set_daemon_id(struct shard_store *st, uint32_t id)
{
	uint32_t old = le32toh(st->sb.daemon_id);
	int ret;

	st->sb.daemon_id = htole32(id);
	ret = store_write_sb(st);
	if (ret) {
		st->sb.daemon_id = htole32(old);
		pr_err("store: cannot record daemon id %u: %s", id,
		       strerror(-ret));
	}
	return ret;
}

/* Places the regions in dev_size bytes; fails when not one slot fits. */
static int plan_layout(struct shard_store *st, uint64_t dev_size)
{
	uint64_t per_slot = SLOT_SIZE + CRC_PAGE + sizeof(struct ent_disk);

	st->ent_size = sizeof(struct ent_disk);
	uint64_t n;

	if (dev_size < SB_SIZE + DATA_ALIGN)
		return -ENOSPC;
	n = (dev_size - SB_SIZE - DATA_ALIGN) / per_slot;
	for (; n; n--) {
		uint64_t crc_off = align_up(SB_SIZE + n * sizeof(struct ent_disk),
					    SHARD_BLOCK_SIZE);
		uint64_t data_off = align_up(crc_off + n * CRC_PAGE, DATA_ALIGN);

		if (n > UINT32_MAX - 1)
			continue;
		if (data_off + n * SLOT_SIZE <= dev_size) {
			st->sb.nslots = htole32((uint32_t)n);
			st->sb.table_off = htole64(SB_SIZE);
			st->sb.crc_off = htole64(crc_off);
			st->sb.data_off = htole64(data_off);
			return 0;
		}
	}
	return -ENOSPC;
}

/* Zeroes [off, off + len): table and crc pages of a reused device. */
static int zero_range(int fd, uint64_t off, uint64_t len, bool blkdev)
{
	static const unsigned char zeroes[1 << 16];
	int ret;

	if (!blkdev && !fallocate(fd, FALLOC_FL_ZERO_RANGE, (off_t)off,
				  (off_t)len))
		return 0;
	if (blkdev) {
		uint64_t range[2] = { off, len };

		if (!ioctl(fd, BLKZEROOUT, range))
			return 0;
	}
	while (len) {
		size_t n = len > sizeof(zeroes) ? sizeof(zeroes) : len;

		ret = store_pwrite(fd, zeroes, n, off);
		if (ret)
			return ret;
		off += n;
		len -= n;
	}
	return 0;
}

static int format(struct shard_store *st, uint64_t dev_size, bool fresh,
		  const char *path)
{
	uint64_t crc_off, data_off;
	int ret;

	memset(&st->sb, 0, sizeof(st->sb));
	ret = plan_layout(st, dev_size);
	if (ret) {
		pr_err("%s: %" PRIu64 " bytes is too small for a store (one "
		       "object slot needs %llu)", path, dev_size,
		       SLOT_SIZE + DATA_ALIGN + SB_SIZE);
		return ret;
	}
	st->sb.magic = htole64(SB_MAGIC);
	st->sb.version = htole32(SB_VERSION);
	st->sb.dev_size = htole64(dev_size);
	st->sb.slot_order = htole32(SHARD_STORE_SLOT_ORDER);
	st->sb.created = htole64((uint64_t)time(NULL));
	if (getrandom(st->sb.uuid, sizeof(st->sb.uuid), 0) < 0)
		memset(st->sb.uuid, 0, sizeof(st->sb.uuid));
	crc_off = le64toh(st->sb.crc_off);
	data_off = le64toh(st->sb.data_off);

	/* Metadata first and the superblock last: an interrupted format
	 * leaves no superblock and is simply redone. */
	if (!fresh) {
		ret = zero_range(st->fd, SB_SIZE, data_off - SB_SIZE,
				 st->blkdev);
		if (ret)
			goto err;
	}
	if (fdatasync(st->fd) < 0) {
		ret = -errno;
		goto err;
	}
	ret = store_write_sb(st);
	if (ret)
		goto err;
	pr_info("%s: formatted: %u object slots of %llu KiB, crc table at %"
		PRIu64 ", data at %" PRIu64, path, le32toh(st->sb.nslots),
		SLOT_SIZE >> 10, crc_off, data_off);
	return 0;
err:
	pr_err("%s: format failed: %s", path, strerror(-ret));
	return ret;
}

static int check_sb(struct shard_store *st, uint64_t dev_size,
		    const char *path)
{
	const struct sb_disk *sb = &st->sb;
	uint64_t n = le32toh(sb->nslots);

	if (le32toh(sb->crc) != shard_crc32c(sb, offsetof(struct sb_disk, crc))) {
		pr_err("%s: superblock crc mismatch", path);
		return -EUCLEAN;
	}
	if (le32toh(sb->version) != SB_VERSION && le32toh(sb->version) != 1) {
		pr_err("%s: store format version %u, this shardd knows 1 to %u",
		       path, le32toh(sb->version), SB_VERSION);
		return -EPROTONOSUPPORT;
	}
	st->ent_size = le32toh(sb->version) == 1 ? ENT_V1_SIZE :
		       sizeof(struct ent_disk);
	if (le32toh(sb->slot_order) != SHARD_STORE_SLOT_ORDER || !n ||
	    le64toh(sb->table_off) != SB_SIZE ||
	    le64toh(sb->crc_off) < SB_SIZE + n * st->ent_size ||
	    le64toh(sb->data_off) < le64toh(sb->crc_off) + n * CRC_PAGE) {
		pr_err("%s: superblock geometry is inconsistent", path);
		return -EUCLEAN;
	}
	if (le64toh(sb->data_off) + n * SLOT_SIZE > dev_size) {
		pr_err("%s: store needs %" PRIu64 " bytes but has %" PRIu64
		       " (truncated?)", path,
		       (uint64_t)(le64toh(sb->data_off) + n * SLOT_SIZE), dev_size);
		return -EUCLEAN;
	}
	return 0;
}

static bool all_zero(const void *buf, size_t len)
{
	const unsigned char *p = buf;

	return !len || (!p[0] && !memcmp(p, p + 1, len - 1));
}

static int load_table(struct shard_store *st, const char *path)
{
	enum { CHUNK = 1024 };
	unsigned char *ents = malloc(CHUNK * sizeof(struct ent_disk));
	uint32_t i, j, n, bad = 0;
	int ret;

	if (!ents)
		return -ENOMEM;
	for (i = st->nslots; i-- > 0;)
		st->slots[i].next = NONE;
	for (i = 0; i < st->nbuckets; i++)
		st->buckets[i] = NONE;

	for (i = 0; i < st->nslots; i += n) {
		n = st->nslots - i < CHUNK ? st->nslots - i : CHUNK;
		ret = store_pread(st->fd, ents, (size_t)n * st->ent_size,
				  store_entry_pos(st, i));
		if (ret) {
			pr_err("%s: cannot read the object table: %s", path,
			       strerror(-ret));
			free(ents);
			return ret;
		}
		for (j = 0; j < n; j++) {
			const unsigned char *e = ents + (size_t)j * st->ent_size;

			if (all_zero(e, st->ent_size))
				continue;
			/* Neither free nor usable: keep it out of both so
			 * its data is not reused. */
			if (decode_entry(st, e, &st->slots[i + j])) {
				st->slots[i + j].lost = true;
				bad++;
			} else
				store_hash_insert(st, i + j);
		}
	}
	free(ents);
	/* Free slots popped lowest first, which keeps a new store compact. */
	for (i = st->nslots; i-- > 0;)
		if (!st->slots[i].used && !st->slots[i].lost)
			st->free[st->nfree++] = i;
	st->nlost = bad;
	if (bad)
		pr_err("%s: %u object table entries failed their crc and are "
		       "out of service", path, bad);
	return 0;
}

static int open_backing(const char *path, uint64_t size, int *fdp,
			uint64_t *dev_size, bool *blkdev, bool *fresh)
{
	struct stat stb;
	int fd, ret;

	*fresh = false;
	fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT) {
		if (!size) {
			pr_err("%s does not exist; give a size to create it",
			       path);
			return -ENOENT;
		}
		fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		*fresh = fd >= 0;
	}
	if (fd < 0) {
		ret = -errno;
		pr_err("cannot open %s: %s", path, strerror(errno));
		return ret;
	}
	/* Two daemons on one store would destroy it. */
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		ret = -errno;
		pr_err("cannot lock %s: %s", path, errno == EWOULDBLOCK ?
		       "another shardd is using it" : strerror(errno));
		goto err;
	}
	if (fstat(fd, &stb) < 0) {
		ret = -errno;
		pr_err("cannot stat %s: %s", path, strerror(errno));
		goto err;
	}
	*blkdev = S_ISBLK(stb.st_mode);
	if (*blkdev) {
		if (ioctl(fd, BLKGETSIZE64, dev_size) < 0) {
			ret = -errno;
			pr_err("%s: cannot get the device size: %s", path,
			       strerror(errno));
			goto err;
		}
	} else if (S_ISREG(stb.st_mode)) {
		*dev_size = (uint64_t)stb.st_size;
		if (!stb.st_size && size) {
			/* Sparse: space is taken as objects are written. */
			if (ftruncate(fd, (off_t)size) < 0) {
				ret = -errno;
				pr_err("cannot size %s to %" PRIu64 ": %s",
				       path, size, strerror(errno));
				goto err;
			}
			*dev_size = size;
			*fresh = true;
		}
	} else {
		pr_err("%s is neither a regular file nor a block device", path);
		ret = -EINVAL;
		goto err;
	}
	*fdp = fd;
	return 0;
err:
	close(fd);
	return ret;
}

/*
 * Data through O_DIRECT on a block device: payloads are large, the page
 * cache would only double them, and the daemon keeps its buffers 4 KiB
 * aligned anyway. Regular files stay buffered unless a test asks (tmpfs
 * has no O_DIRECT). Falls back to buffered I/O when the open fails.
 */
static void open_data_fd(struct shard_store *st,
			 const struct shard_store_opts *opts)
{
	int fd;

	st->dfd = st->fd;
	if (!st->blkdev && !opts->direct)
		return;
	fd = open(opts->path, O_RDWR | O_DIRECT | O_CLOEXEC);
	if (fd < 0) {
		pr_info("%s: no O_DIRECT (%s); data goes through the page "
			"cache", opts->path, strerror(errno));
		return;
	}
	st->dfd = fd;
	st->direct = true;
}

int shard_store_open(struct shard_store **out,
		     const struct shard_store_opts *opts)
{
	unsigned char blk[SB_SIZE];
	struct shard_store *st;
	uint64_t dev_size = 0;
	bool fresh;
	int ret;

	st = calloc(1, sizeof(*st));
	if (!st)
		return -ENOMEM;
	ret = open_backing(opts->path, opts->size, &st->fd, &dev_size,
			   &st->blkdev, &fresh);
	if (ret)
		goto err_free;

	memset(blk, 0, sizeof(blk));
	if (dev_size >= SB_SIZE) {
		ret = store_pread(st->fd, blk, sizeof(blk), 0);
		if (ret) {
			pr_err("%s: cannot read the superblock: %s",
			       opts->path, strerror(-ret));
			goto err_close;
		}
	}
	memcpy(&st->sb, blk, sizeof(st->sb));
	if (le64toh(st->sb.magic) != SB_MAGIC) {
		/* Format only what is visibly empty: never someone's data. */
		if (!fresh && !opts->force_format && !all_zero(blk, sizeof(blk))) {
			pr_err("%s holds data but no shard store; wipe it "
			       "(wipefs -a) or use --force-format", opts->path);
			ret = -EEXIST;
			goto err_close;
		}
		ret = format(st, dev_size, fresh, opts->path);
		if (ret)
			goto err_close;
	}
	ret = check_sb(st, dev_size, opts->path);
	if (ret)
		goto err_close;

	st->nslots = le32toh(st->sb.nslots);
	st->table_off = le64toh(st->sb.table_off);
	st->crc_off = le64toh(st->sb.crc_off);
	st->data_off = le64toh(st->sb.data_off);
	for (st->nbuckets = 1; st->nbuckets < st->nslots; st->nbuckets <<= 1)
		;
	st->slots = calloc(st->nslots, sizeof(*st->slots));
	st->buckets = calloc(st->nbuckets, sizeof(*st->buckets));
	st->free = calloc(st->nslots, sizeof(*st->free));
	st->qbuckets = calloc(STORE_QBUCKETS, sizeof(*st->qbuckets));
	if (!st->slots || !st->buckets || !st->free || !st->qbuckets ||
	    store_log_init(st, opts->change_log)) {
		ret = -ENOMEM;
		pr_err("%s: no memory for the object table", opts->path);
		goto err_mem;
	}
	ret = load_table(st, opts->path);
	if (!ret)
		ret = store_ver_open(st, opts->boot_id_path, opts->path);
	if (ret)
		goto err_mem;
	open_data_fd(st, opts);
	pr_info("%s: store open: daemon id %u, %u of %u object slots in use",
		opts->path, shard_store_daemon_id(st), st->nslots - st->nfree,
		st->nslots);
	*out = st;
	return 0;

err_mem:
	store_log_free(st);
	free(st->qbuckets);
	free(st->free);
	free(st->buckets);
	free(st->slots);
err_close:
	close(st->fd);
err_free:
	free(st);
	return ret;
}

int shard_store_close(struct shard_store *st)
{
	int ret;

	if (!st)
		return 0;
	ret = store_ver_close(st);
	if (st->dfd != st->fd)
		close(st->dfd);
	close(st->fd);
	store_log_free(st);
	free(st->qbuckets);
	free(st->free);
	free(st->buckets);
	free(st->slots);
	free(st);
	return ret;
}

void shard_store_foreach(const struct shard_store *st, uint32_t pool,
			 void (*fn)(void *arg, const struct shard_obj *o),
			 void *arg)
{
	uint32_t i;

	for (i = 0; i < st->nslots; i++) {
		const struct slot *s = &st->slots[i];
		struct shard_obj o;

		if (!s->used || s->pool != pool)
			continue;
		o.pool = s->pool;
		o.volume = s->volume;
		o.object = s->object;
		o.order = s->order;
		fn(arg, &o);
	}
}

bool shard_store_holds(const struct shard_store *st,
		       const struct shard_obj *o)
{
	return store_lookup(st, o) != NONE;
}

uint32_t shard_store_lost(const struct shard_store *st)
{
	return st->nlost;
}
