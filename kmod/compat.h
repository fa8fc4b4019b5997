/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Every kernel-version difference lives here, keyed on what the build tree
 * offers (compat_probes.h, made by compat/probe.sh), never on a version.
 */
#ifndef _SHARD_COMPAT_H
#define _SHARD_COMPAT_H

#include <linux/blkdev.h>
#include <linux/blk-mq.h>
#include <linux/netlink.h>
#include <net/sock.h>

#include "compat_probes.h"

/* What dev.c wants of its queue, in one place for either API. */
struct shard_limits {
	unsigned int logical_block_size;
	unsigned int physical_block_size;
	unsigned int io_min;
	unsigned int io_opt;
	unsigned int max_hw_sectors;
	unsigned int chunk_sectors;
	unsigned int max_discard_sectors;
	unsigned int max_write_zeroes_sectors;
	unsigned int discard_granularity;
};

#ifdef SHARD_HAVE_ALLOC_DISK_LIM
static inline struct gendisk *
shard_compat_alloc_disk(struct blk_mq_tag_set *set,
			const struct shard_limits *l, void *data)
{
	struct queue_limits lim = {
		.logical_block_size = l->logical_block_size,
		.physical_block_size = l->physical_block_size,
		.io_min = l->io_min,
		.io_opt = l->io_opt,
		.max_hw_sectors = l->max_hw_sectors,
		.chunk_sectors = l->chunk_sectors,
		.max_hw_discard_sectors = l->max_discard_sectors,
		.max_write_zeroes_sectors = l->max_write_zeroes_sectors,
		.discard_granularity = l->discard_granularity,
		.max_segments = USHRT_MAX,
		.max_segment_size = UINT_MAX,
#ifdef SHARD_HAVE_BLK_FEAT
		.features = BLK_FEAT_WRITE_CACHE | BLK_FEAT_FUA |
			    BLK_FEAT_STABLE_WRITES,
#endif
	};
	struct gendisk *disk = blk_mq_alloc_disk(set, &lim, data);

#ifndef SHARD_HAVE_BLK_FEAT
	if (!IS_ERR(disk)) {
		blk_queue_write_cache(disk->queue, true, true);
		blk_queue_flag_set(QUEUE_FLAG_STABLE_WRITES, disk->queue);
	}
#endif
	return disk;
}
#else
static inline struct gendisk *
shard_compat_alloc_disk(struct blk_mq_tag_set *set,
			const struct shard_limits *l, void *data)
{
	struct gendisk *disk = blk_mq_alloc_disk(set, data);
	struct request_queue *q;

	if (IS_ERR(disk))
		return disk;
	q = disk->queue;
	blk_queue_logical_block_size(q, l->logical_block_size);
	blk_queue_physical_block_size(q, l->physical_block_size);
	blk_queue_io_min(q, l->io_min);
	blk_queue_io_opt(q, l->io_opt);
	blk_queue_max_hw_sectors(q, l->max_hw_sectors);
	blk_queue_chunk_sectors(q, l->chunk_sectors);
	blk_queue_max_discard_sectors(q, l->max_discard_sectors);
	blk_queue_max_write_zeroes_sectors(q, l->max_write_zeroes_sectors);
	q->limits.discard_granularity = l->discard_granularity;
	blk_queue_max_segments(q, USHRT_MAX);
	blk_queue_max_segment_size(q, UINT_MAX);
	blk_queue_write_cache(q, true, true);
	blk_queue_flag_set(QUEUE_FLAG_STABLE_WRITES, q);
	return disk;
}
#endif

#ifdef SHARD_HAVE_BDOPS_OPEN_GENDISK
#define SHARD_BDOPS_OPEN_ARGS	struct gendisk *shard_disk, blk_mode_t mode
#define SHARD_BDOPS_OPEN_DISK	shard_disk
#else
#define SHARD_BDOPS_OPEN_ARGS	struct block_device *bdev, fmode_t mode
#define SHARD_BDOPS_OPEN_DISK	(bdev->bd_disk)
#endif

#ifdef SHARD_HAVE_MQ_F_SHOULD_MERGE
#define SHARD_MQ_F_SHOULD_MERGE	BLK_MQ_F_SHOULD_MERGE
#else
#define SHARD_MQ_F_SHOULD_MERGE	0
#endif

static inline void shard_compat_sk_no_task_frag(struct sock *sk)
{
#ifdef SHARD_HAVE_SK_USE_TASK_FRAG
	/* We send from reclaim context: never touch current's page frag. */
	sk->sk_use_task_frag = false;
#endif
}

/*
 * An extack message with numbers in it where the kernel has room for one
 * (6.2+); before that, the plain text.
 */
#ifdef SHARD_HAVE_NL_SET_ERR_MSG_FMT
#define SHARD_NL_ERR_FMT(extack, plain, fmt, ...) do {		\
	(void)(plain);						\
	NL_SET_ERR_MSG_FMT(extack, fmt, ##__VA_ARGS__);		\
} while (0)
#else
#define SHARD_NL_ERR_FMT(extack, plain, fmt, ...) do {		\
	NL_SET_ERR_MSG(extack, plain);				\
	no_printk(fmt, ##__VA_ARGS__);				\
} while (0)
#endif

#endif /* _SHARD_COMPAT_H */
