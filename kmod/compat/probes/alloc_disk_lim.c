// SPDX-License-Identifier: GPL-2.0
/* blk_mq_alloc_disk() takes queue limits (6.9+). */
#include <linux/blk-mq.h>

struct gendisk *probe(struct blk_mq_tag_set *set);
struct gendisk *probe(struct blk_mq_tag_set *set)
{
	struct queue_limits lim = {};

	return blk_mq_alloc_disk(set, &lim, NULL);
}
