/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _SHARD_NETLINK_H
#define _SHARD_NETLINK_H

#include <linux/types.h>

int shard_nl_init(void);
void shard_nl_exit(void);
void shard_nl_event(u32 event, u32 daemon_id, int dev, u32 err);

#endif /* _SHARD_NETLINK_H */
