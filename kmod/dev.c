// SPDX-License-Identifier: GPL-2.0
/*
 * /dev/shardN: the blk-mq side. A request becomes one part per object it
 * touches (at most SHARD_INLINE_PARTS, as the queue limits keep every
 * request within one object size), or, for a flush, one part per daemon
 * of the map. queue_rq only queues parts on connections; it never waits.
 */
#include <linux/blkdev.h>
#include <linux/blk-mq.h>
#include <linux/delay.h>
#include <linux/slab.h>
#include <linux/sizes.h>
#include <shard/proto.h>

#include "client.h"
#include "compat.h"
#include "dev.h"
#include "io.h"

#define SHARD_QUEUE_DEPTH	128
#define SHARD_MAX_HW_QUEUES	8
#define SHARD_MINORS		16
#define SHARD_RQ_TIMEOUT	(30 * HZ)

/* Both must fit in a request tag (io.c). */
static_assert(BIT(SHARD_TAG_RQ_BITS) >= SHARD_QUEUE_DEPTH);
static_assert(BIT(SHARD_TAG_HWQ_BITS) >= SHARD_MAX_HW_QUEUES);

static int shard_major;

static int shard_open(SHARD_BDOPS_OPEN_ARGS)
{
	struct shard_dev *dev = SHARD_BDOPS_OPEN_DISK->private_data;

	lockdep_assert_held(&SHARD_BDOPS_OPEN_DISK->open_mutex);
	return dev->removing ? -ENXIO : 0;
}

static const struct block_device_operations shard_fops = {
	.owner = THIS_MODULE,
	.open = shard_open,
};

static void shard_cmd_init_part(struct shard_cmd *cmd, unsigned int i)
{
	struct shard_part *part = &cmd->parts[i];

	memset(part, 0, sizeof(*part));
	INIT_LIST_HEAD(&part->node);
	part->cmd = cmd;
	part->idx = i;
}

/* Splits a data request at object boundaries. */
static blk_status_t shard_cmd_split(struct shard_dev *dev,
				    struct shard_cmd *cmd, struct request *rq,
				    unsigned int op)
{
	u64 pos = blk_rq_pos(rq) << SECTOR_SHIFT;
	u32 left = blk_rq_bytes(rq), rq_off = 0;
	u64 mask = (1ULL << dev->obj_order) - 1;
	unsigned int n = 0;

	while (left) {
		u32 len = min_t(u64, left, mask + 1 - (pos & mask));
		struct shard_part *part;

		if (WARN_ON_ONCE(n == SHARD_INLINE_PARTS))
			return BLK_STS_IOERR;
		shard_cmd_init_part(cmd, n);
		part = &cmd->parts[n++];
		part->op = op;
		part->object = pos >> dev->obj_order;
		part->obj_off = pos & mask;
		part->len = len;
		part->rq_off = rq_off;
		pos += len;
		rq_off += len;
		left -= len;
	}
	cmd->nr_parts = n;
	return BLK_STS_OK;
}

/*
 * A flush goes to every daemon of the map: any may hold our writes. Up to
 * SHARD_INLINE_PARTS daemons it needs no memory; beyond, an array.
 */
static blk_status_t shard_cmd_flush(struct shard_cmd *cmd)
{
	struct shard_part *parts = cmd->inline_parts;
	u32 want, i;

	spin_lock(&shard_client.lock);
	want = shard_client.map ? shard_client.map->nr_daemons : 0;
	spin_unlock(&shard_client.lock);
	if (want > SHARD_INLINE_PARTS) {
		/*
		 * queue_rq may not sleep. A failed allocation makes blk-mq
		 * retry the flush shortly; writes keep flowing meanwhile.
		 */
		parts = kcalloc(want, sizeof(*parts), GFP_NOWAIT | __GFP_NOWARN);
		if (!parts)
			return BLK_STS_RESOURCE;
	}
	cmd->parts = parts;

	spin_lock(&shard_client.lock);
	cmd->nr_parts = shard_client.map ? shard_client.map->nr_daemons : 0;
	if (cmd->nr_parts > max_t(u32, want, SHARD_INLINE_PARTS)) {
		/* The map grew meanwhile; blk-mq retries us. */
		spin_unlock(&shard_client.lock);
		cmd->parts = cmd->inline_parts;
		cmd->nr_parts = 0;
		if (parts != cmd->inline_parts)
			kfree(parts);
		return BLK_STS_RESOURCE;
	}
	for (i = 0; i < cmd->nr_parts; i++) {
		shard_cmd_init_part(cmd, i);
		cmd->parts[i].op = SHARD_OP_FLUSH;
		cmd->parts[i].daemon_id = shard_client.map->daemons[i].id;
	}
	spin_unlock(&shard_client.lock);
	return BLK_STS_OK;
}

static blk_status_t shard_queue_rq(struct blk_mq_hw_ctx *hctx,
				   const struct blk_mq_queue_data *bd)
{
	struct request *rq = bd->rq;
	struct shard_dev *dev = rq->q->queuedata;
	struct shard_cmd *cmd = blk_mq_rq_to_pdu(rq);
	blk_status_t sts;
	unsigned int op, i;
	bool done = false;

	switch (req_op(rq)) {
	case REQ_OP_READ:
		op = SHARD_OP_READ;
		break;
	case REQ_OP_WRITE:
		op = SHARD_OP_WRITE;
		break;
	case REQ_OP_FLUSH:
		op = SHARD_OP_FLUSH;
		break;
	case REQ_OP_DISCARD:
		op = SHARD_OP_DISCARD;
		break;
	case REQ_OP_WRITE_ZEROES:
		op = SHARD_OP_WRITE_ZEROES;
		break;
	default:
		return BLK_STS_NOTSUPP;
	}
	if (dev->read_only && op != SHARD_OP_READ && op != SHARD_OP_FLUSH)
		return BLK_STS_IOERR;

	cmd->parts = cmd->inline_parts;
	cmd->nr_parts = 0;
	if (op == SHARD_OP_FLUSH)
		sts = shard_cmd_flush(cmd);
	else
		sts = shard_cmd_split(dev, cmd, rq, op);
	if (sts)
		return sts;

	blk_mq_start_request(rq);
	spin_lock(&shard_client.lock);
	cmd->gen++;
	cmd->status = BLK_STS_OK;
	cmd->start = jiffies;
	cmd->pending = cmd->nr_parts;
	if (dev->dead || !cmd->nr_parts) {
		spin_unlock(&shard_client.lock);
		shard_cmd_release_parts(cmd);
		if (dev->dead)
			return BLK_STS_IOERR;
		/* A flush with no daemon in the map has nothing to flush. */
		blk_mq_end_request(rq, BLK_STS_OK);
		return BLK_STS_OK;
	}
	for (i = 0; i < cmd->nr_parts; i++)
		done |= shard_part_route(dev, &cmd->parts[i],
					 hctx->queue_num);
	spin_unlock(&shard_client.lock);
	if (done)
		shard_cmd_complete(cmd);
	return BLK_STS_OK;
}

static void shard_complete_rq(struct request *rq)
{
	struct shard_cmd *cmd = blk_mq_rq_to_pdu(rq);

	blk_mq_end_request(rq, cmd->status);
}

/*
 * Fails every part of the request that no thread is moving data for.
 * Returns true when the request is done, false when a part is in transfer.
 */
static bool shard_cmd_abort(struct shard_cmd *cmd)
{
	bool done = false;
	unsigned int i;

	lockdep_assert_held(&shard_client.lock);
	for (i = 0; i < cmd->nr_parts; i++) {
		u8 state = cmd->parts[i].state;

		if (state == SHARD_PART_SENDING ||
		    state == SHARD_PART_RECEIVING)
			return false;
	}
	for (i = 0; i < cmd->nr_parts; i++) {
		if (cmd->parts[i].state != SHARD_PART_IDLE)
			done = shard_part_finish(&cmd->parts[i],
						 BLK_STS_IOERR);
	}
	return done;
}

static enum blk_eh_timer_return shard_timeout(struct request *rq)
{
	struct shard_cmd *cmd = blk_mq_rq_to_pdu(rq);
	struct shard_dev *dev = cmd->dev;
	bool done;

	spin_lock(&shard_client.lock);
	if ((!dev->timeout && !dev->dead) ||
	    (!dev->dead && time_before(jiffies,
				       cmd->start +
				       (unsigned long)dev->timeout * HZ))) {
		spin_unlock(&shard_client.lock);
		return BLK_EH_RESET_TIMER;
	}
	done = shard_cmd_abort(cmd);
	spin_unlock(&shard_client.lock);
	if (!done)
		return BLK_EH_RESET_TIMER;
	pr_err_ratelimited("shard%u: request timed out after %us\n",
			   dev->index, dev->timeout);
	shard_cmd_complete(cmd);
	return BLK_EH_DONE;
}

static int shard_init_request(struct blk_mq_tag_set *set, struct request *rq,
			      unsigned int hctx_idx, unsigned int numa_node)
{
	struct shard_cmd *cmd = blk_mq_rq_to_pdu(rq);

	cmd->dev = set->driver_data;
	cmd->parts = cmd->inline_parts;
	cmd->nr_parts = 0;
	return 0;
}

static const struct blk_mq_ops shard_mq_ops = {
	.queue_rq = shard_queue_rq,
	.complete = shard_complete_rq,
	.timeout = shard_timeout,
	.init_request = shard_init_request,
};

static bool shard_dev_abort_rq(struct request *rq, void *data)
{
	struct shard_cmd *cmd = blk_mq_rq_to_pdu(rq);
	bool done;

	spin_lock(&shard_client.lock);
	done = shard_cmd_abort(cmd);
	spin_unlock(&shard_client.lock);
	if (done)
		shard_cmd_complete(cmd);
	return true;
}

struct shard_busy {
	unsigned int busy;
	unsigned int held;
};

static bool shard_dev_count_rq(struct request *rq, void *data)
{
	struct shard_cmd *cmd = blk_mq_rq_to_pdu(rq);
	struct shard_busy *b = data;
	unsigned int i;

	b->busy++;
	spin_lock(&shard_client.lock);
	for (i = 0; i < cmd->nr_parts; i++)
		b->held += cmd->parts[i].state == SHARD_PART_HELD;
	spin_unlock(&shard_client.lock);
	return true;
}

unsigned int shard_dev_count_busy(struct shard_dev *dev, unsigned int *held)
{
	struct shard_busy b = {};

	blk_mq_tagset_busy_iter(&dev->tag_set, shard_dev_count_rq, &b);
	if (held)
		*held = b.held;
	return b.busy;
}

#define SHARD_ATTR_SHOW(_name, _fmt, _expr)				\
static ssize_t _name##_show(struct device *d,				\
			    struct device_attribute *attr, char *buf)	\
{									\
	struct shard_dev *dev = dev_to_disk(d)->private_data;		\
									\
	return sysfs_emit(buf, _fmt "\n", _expr);			\
}									\
static DEVICE_ATTR_RO(_name)

SHARD_ATTR_SHOW(pool, "%s", dev->pool_name);
SHARD_ATTR_SHOW(volume, "%s", dev->volume_name);
SHARD_ATTR_SHOW(pool_id, "%u", dev->pool_id);
SHARD_ATTR_SHOW(volume_id, "%llu", dev->volume_id);
SHARD_ATTR_SHOW(object_size, "%llu", 1ULL << dev->obj_order);
SHARD_ATTR_SHOW(timeout, "%u", dev->timeout);

static struct attribute *shard_dev_attrs[] = {
	&dev_attr_pool.attr,
	&dev_attr_volume.attr,
	&dev_attr_pool_id.attr,
	&dev_attr_volume_id.attr,
	&dev_attr_object_size.attr,
	&dev_attr_timeout.attr,
	NULL,
};

static const struct attribute_group shard_dev_group = {
	.name = "shard",
	.attrs = shard_dev_attrs,
};

static const struct attribute_group *shard_dev_groups[] = {
	&shard_dev_group,
	NULL,
};

int shard_dev_add(const struct shard_dev_config *cfg, u32 *index)
{
	u32 obj_sectors = 1U << (cfg->obj_order - SECTOR_SHIFT);
	u32 io_sectors = min_t(u32, obj_sectors, SHARD_MAX_IO >> SECTOR_SHIFT);
	struct shard_limits lim = {
		.logical_block_size = SECTOR_SIZE,
		.physical_block_size = SHARD_BLOCK_SIZE,
		.io_min = SHARD_BLOCK_SIZE,
		.io_opt = 1U << cfg->obj_order,
		.max_hw_sectors = io_sectors,
		.chunk_sectors = obj_sectors,
		.max_discard_sectors = io_sectors,
		.max_write_zeroes_sectors = io_sectors,
		.discard_granularity = SHARD_BLOCK_SIZE,
	};
	struct shard_dev *dev;
	struct gendisk *disk;
	int ret;

	dev = kzalloc(sizeof(*dev), GFP_KERNEL);
	if (!dev)
		return -ENOMEM;
	dev->pool_id = cfg->pool_id;
	dev->volume_id = cfg->volume_id;
	dev->obj_order = cfg->obj_order;
	dev->read_only = cfg->read_only;
	dev->timeout = cfg->timeout;
	strscpy(dev->pool_name, cfg->pool_name ?: "", sizeof(dev->pool_name));
	strscpy(dev->volume_name, cfg->volume_name ?: "",
		sizeof(dev->volume_name));

	ret = xa_alloc(&shard_client.devs, &dev->index, NULL,
		       XA_LIMIT(0, (MINORMASK + 1) / SHARD_MINORS - 1),
		       GFP_KERNEL);
	if (ret)
		goto out_free;

	dev->tag_set.ops = &shard_mq_ops;
	dev->tag_set.nr_hw_queues = min_t(unsigned int, num_online_cpus(),
					  SHARD_MAX_HW_QUEUES);
	dev->tag_set.queue_depth = SHARD_QUEUE_DEPTH;
	dev->tag_set.numa_node = NUMA_NO_NODE;
	dev->tag_set.cmd_size = sizeof(struct shard_cmd);
	dev->tag_set.flags = SHARD_MQ_F_SHOULD_MERGE;
	dev->tag_set.timeout = dev->timeout ?
		min_t(unsigned long, (unsigned long)dev->timeout * HZ,
		      SHARD_RQ_TIMEOUT) :
		SHARD_RQ_TIMEOUT;
	dev->tag_set.driver_data = dev;
	ret = blk_mq_alloc_tag_set(&dev->tag_set);
	if (ret)
		goto out_index;

	disk = shard_compat_alloc_disk(&dev->tag_set, &lim, dev);
	if (IS_ERR(disk)) {
		ret = PTR_ERR(disk);
		goto out_tags;
	}
	dev->disk = disk;
	disk->major = shard_major;
	disk->first_minor = dev->index * SHARD_MINORS;
	disk->minors = SHARD_MINORS;
	disk->fops = &shard_fops;
	disk->private_data = dev;
	snprintf(disk->disk_name, sizeof(disk->disk_name), "shard%u",
		 dev->index);
	set_capacity(disk, cfg->size >> SECTOR_SHIFT);
	set_disk_ro(disk, dev->read_only);

	/* Replies may name this device as soon as it is findable. */
	xa_store(&shard_client.devs, dev->index, dev, GFP_KERNEL);
	/*
	 * No partition scan here: it reads the disk, and with the volume's
	 * daemons away that read would wait, holding ctl_mutex, for as long
	 * as they are gone. BLKRRPART (blockdev --rereadpt) scans on demand.
	 */
	set_bit(GD_SUPPRESS_PART_SCAN, &disk->state);
	ret = device_add_disk(NULL, disk, shard_dev_groups);
	clear_bit(GD_SUPPRESS_PART_SCAN, &disk->state);
	if (ret)
		goto out_disk;
	*index = dev->index;
	return 0;

out_disk:
	spin_lock(&shard_client.lock);
	xa_erase(&shard_client.devs, dev->index);
	spin_unlock(&shard_client.lock);
	put_disk(disk);
out_tags:
	blk_mq_free_tag_set(&dev->tag_set);
out_index:
	xa_erase(&shard_client.devs, dev->index);
out_free:
	kfree(dev);
	return ret;
}

int shard_dev_remove(struct shard_dev *dev, bool force)
{
	struct gendisk *disk = dev->disk;

	mutex_lock(&disk->open_mutex);
	if (disk_openers(disk) && !force) {
		mutex_unlock(&disk->open_mutex);
		return -EBUSY;
	}
	dev->removing = true;
	mutex_unlock(&disk->open_mutex);

	if (force) {
		spin_lock(&shard_client.lock);
		dev->dead = true;
		spin_unlock(&shard_client.lock);
		blk_mark_disk_dead(disk);
		/* Parts in transfer finish or fail soon; then abort them too. */
		for (;;) {
			blk_mq_tagset_busy_iter(&dev->tag_set,
						shard_dev_abort_rq, NULL);
			if (!shard_dev_count_busy(dev, NULL))
				break;
			msleep(100);
		}
	}
	del_gendisk(disk);
	spin_lock(&shard_client.lock);
	xa_erase(&shard_client.devs, dev->index);
	spin_unlock(&shard_client.lock);
	blk_mq_free_tag_set(&dev->tag_set);
	put_disk(disk);
	kfree(dev);
	return 0;
}

void shard_dev_resize(struct shard_dev *dev, u64 size)
{
	set_capacity_and_notify(dev->disk, size >> SECTOR_SHIFT);
}

int shard_dev_init(void)
{
	shard_major = register_blkdev(0, "shard");
	return shard_major < 0 ? shard_major : 0;
}

void shard_dev_exit(void)
{
	unregister_blkdev(shard_major, "shard");
}
