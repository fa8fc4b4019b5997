// SPDX-License-Identifier: GPL-2.0
/* Write cache, FUA and stable writes are queue_limits features (6.11+). */
#include <linux/blkdev.h>

blk_features_t probe(void);
blk_features_t probe(void)
{
	return BLK_FEAT_WRITE_CACHE | BLK_FEAT_FUA | BLK_FEAT_STABLE_WRITES;
}
