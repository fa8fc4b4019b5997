/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _SHARD_STAGE_H
#define _SHARD_STAGE_H

#include <net/genetlink.h>

#include "map.h"

int shard_stage_start(struct shard_map *map, struct genl_info *info);
int shard_stage_table(struct genl_info *info);
int shard_stage_commit(struct genl_info *info);
void shard_stage_release(struct net *net, u32 portid);
void shard_stage_exit(void);

#endif /* _SHARD_STAGE_H */
