/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _SHARD_DEV_H
#define _SHARD_DEV_H

#include <linux/blk-mq.h>
#include <uapi/linux/shard.h>

/* One mapped volume: /dev/shardN. */
struct shard_dev {
	u32 index;
	u32 pool_id;
	u64 volume_id;
	u8 obj_order;
	bool read_only;
	u32 timeout;		/* seconds a request may wait; 0: forever */
	bool dead;		/* under shard_client.lock: fail everything */
	bool removing;		/* under disk->open_mutex: refuse opens */
	char pool_name[SHARD_MAX_NAME];
	char volume_name[SHARD_MAX_NAME];
	struct blk_mq_tag_set tag_set;
	struct gendisk *disk;
};

struct shard_dev_config {
	u32 pool_id;
	u64 volume_id;
	u64 size;
	u8 obj_order;
	bool read_only;
	u32 timeout;
	const char *pool_name;
	const char *volume_name;
};

int shard_dev_init(void);
void shard_dev_exit(void);
int shard_dev_add(const struct shard_dev_config *cfg, u32 *index);
int shard_dev_remove(struct shard_dev *dev, bool force);
void shard_dev_resize(struct shard_dev *dev, u64 size);
unsigned int shard_dev_count_busy(struct shard_dev *dev, unsigned int *held);

#endif /* _SHARD_DEV_H */
