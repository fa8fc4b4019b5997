/* SPDX-License-Identifier: (GPL-2.0 WITH Linux-syscall-note) OR MIT */
/*
 * shard: generic netlink interface of the shard block driver.
 *
 * Family "shard", version SHARD_GENL_VERSION, multicast group "events".
 * Every mutating command needs CAP_NET_ADMIN. Attributes are validated
 * strictly: unknown attributes, wrong types and out-of-range values are
 * refused with an extack message.
 *
 * SHARD_CMD_SET_MAP: installs a new placement map. Refused when its epoch
 *   is lower than the current one; an equal epoch replaces nothing and
 *   succeeds. With SHARD_ATTR_MAP_STAGE the map is staged instead (see
 *   "Maps larger than one message" below).
 *     SHARD_ATTR_EPOCH: u64, required
 *     SHARD_ATTR_MAP_STAGE: flag; stage the map, do not install it
 *     SHARD_ATTR_DAEMONS: nest, required; one SHARD_ATTR_DAEMON per daemon
 *       SHARD_ATTR_DAEMON: nest
 *         SHARD_DAEMON_ATTR_ID: u32 (< SHARD_MAX_DAEMON_ID), required
 *         SHARD_DAEMON_ATTR_ADDR: binary, struct in_addr or struct in6_addr,
 *           required
 *         SHARD_DAEMON_ATTR_PORT: u16, host order, non-zero, required
 *         SHARD_DAEMON_ATTR_FLAGS: u32, SHARD_DAEMON_F_*
 *     SHARD_ATTR_POOLS: nest, required; one SHARD_ATTR_POOL per pool
 *       SHARD_ATTR_POOL: nest
 *         SHARD_POOL_ATTR_ID: u32, required
 *         SHARD_POOL_ATTR_PG_COUNT: u32 (1 .. SHARD_MAX_PGS), required
 *         SHARD_POOL_ATTR_WIDTH: u32 (1 .. SHARD_MAX_WIDTH), members per PG
 *         SHARD_POOL_ATTR_PG_TABLE: binary, required (optional when
 *           staging): pg_count * width __u32 daemon ids in host order,
 *           PG-major; member 0 is the primary; SHARD_DAEMON_NONE marks an
 *           empty slot. Every id must be a daemon of this map, and no PG
 *           may name a daemon twice. One netlink attribute holds at most
 *           65531 bytes, so a table sent here has at most
 *           SHARD_MAX_TABLE_IDS ids; larger ones are staged.
 *
 * Maps larger than one message: a map is staged, its tables are sent in
 * chunks, then it is committed. The staging belongs to the netlink socket
 * (portid) that sent the SET_MAP; MAP_TABLE and MAP_COMMIT from any other
 * socket are refused (EBUSY). There is one staging per host: a new one
 * replaces the old, whoever owned it. It is dropped when committed, when
 * its socket closes, and when the module unloads. A refused MAP_TABLE or
 * MAP_COMMIT changes nothing: the sender may correct itself and go on.
 *   1. SHARD_CMD_SET_MAP with SHARD_ATTR_MAP_STAGE: the daemons and pools
 *      as above, each pool's PG_TABLE optional. A pool sent with its table
 *      is complete; one without waits for MAP_TABLE chunks. A staged epoch
 *      lower than the current map's is refused at once (ESTALE).
 *   2. SHARD_CMD_MAP_TABLE, any number: one run of whole PGs of one pool.
 *      Chunks of a pool come in PG order, each starting at the first PG
 *      not yet filled; every id is checked on arrival as for PG_TABLE.
 *        SHARD_ATTR_EPOCH: u64, required; the staged map's epoch, else
 *          ESTALE
 *        SHARD_ATTR_POOL_ID: u32, required; a pool of the staged map
 *        SHARD_ATTR_PG_FIRST: u32, required; the pool's next unfilled PG
 *        SHARD_ATTR_PG_IDS: binary, required; n * width __u32 daemon ids
 *          (n >= 1 whole PGs, PG-major, at most SHARD_MAX_TABLE_IDS ids),
 *          for PGs pg_first .. pg_first + n - 1 (not past pg_count)
 *   3. SHARD_CMD_MAP_COMMIT: installs the staged map exactly as SET_MAP
 *      does (lower epoch ESTALE, equal epoch replaces nothing) and drops
 *      the staging. Refused with EINVAL while a pool's table is
 *      incomplete.
 *        SHARD_ATTR_EPOCH: u64, required; the staged map's epoch, else
 *          ESTALE
 *   Without a staging MAP_TABLE and MAP_COMMIT fail with ENOENT.
 *
 * SHARD_CMD_ADD_DEV: creates /dev/shardN for a volume; replies with
 *   SHARD_ATTR_DEV_INDEX.
 *     SHARD_ATTR_POOL_ID: u32, required
 *     SHARD_ATTR_VOLUME_ID: u64, required
 *     SHARD_ATTR_SIZE: u64 bytes, multiple of 512, required
 *     SHARD_ATTR_OBJ_ORDER: u8, log2 of the object size
 *       (SHARD_MIN_OBJ_ORDER .. SHARD_MAX_OBJ_ORDER, default 22; the
 *       daemons' store holds objects of up to 4 MiB)
 *     SHARD_ATTR_READ_ONLY: flag
 *     SHARD_ATTR_TIMEOUT: u32 seconds a request may wait for its daemon
 *       before it fails with EIO; 0 (default) waits forever
 *     SHARD_ATTR_POOL_NAME, SHARD_ATTR_VOLUME_NAME: strings, shown in sysfs
 *       (for the udev rule that makes /dev/shard/POOL/VOLUME)
 *
 * SHARD_CMD_REMOVE_DEV: removes a device.
 *     SHARD_ATTR_DEV_INDEX: u32, required
 *     SHARD_ATTR_FORCE: flag; without it a device that is open is refused
 *       (EBUSY); with it, pending requests fail and the device goes away
 *
 * SHARD_CMD_RESIZE_DEV: changes a device's size.
 *     SHARD_ATTR_DEV_INDEX: u32, required
 *     SHARD_ATTR_SIZE: u64 bytes, required
 *
 * SHARD_CMD_GET_DEV: dump (or one device with SHARD_ATTR_DEV_INDEX); each
 *   message carries SHARD_ATTR_DEV_INDEX, SHARD_ATTR_POOL_ID,
 *   SHARD_ATTR_VOLUME_ID, SHARD_ATTR_SIZE, SHARD_ATTR_OBJ_ORDER,
 *   SHARD_ATTR_READ_ONLY, SHARD_ATTR_TIMEOUT, SHARD_ATTR_OPEN_COUNT,
 *   SHARD_ATTR_INFLIGHT, SHARD_ATTR_HELD and the names.
 *
 * SHARD_CMD_GET_STATUS: the current SHARD_ATTR_EPOCH and SHARD_ATTR_DAEMONS,
 *   each daemon with SHARD_DAEMON_ATTR_CONNECTED (connections up).
 *
 * SHARD_CMD_EVENT: multicast only, group "events".
 *     SHARD_ATTR_EVENT: u32, SHARD_EVENT_*
 *     SHARD_ATTR_DAEMON_ID, SHARD_ATTR_DEV_INDEX, SHARD_ATTR_ERRNO (u32)
 *       as the event needs
 */
#ifndef _UAPI_LINUX_SHARD_H
#define _UAPI_LINUX_SHARD_H

#include <linux/types.h>

#define SHARD_GENL_NAME		"shard"
#define SHARD_GENL_VERSION	1
#define SHARD_GENL_MCGRP_EVENTS	"events"

#define SHARD_DAEMON_NONE	0xffffffffU
#define SHARD_MAX_DAEMON_ID	65536
#define SHARD_MAX_DAEMONS	1024
#define SHARD_MAX_POOLS		64
#define SHARD_MAX_PGS		65536
#define SHARD_MAX_TABLE_IDS	16382	/* one attribute's worth of ids */
#define SHARD_MAX_WIDTH		16
#define SHARD_MIN_OBJ_ORDER	16
#define SHARD_MAX_OBJ_ORDER	22
#define SHARD_DEFAULT_OBJ_ORDER	22
#define SHARD_MAX_NAME		128

enum shard_nl_cmd {
	SHARD_CMD_UNSPEC,
	SHARD_CMD_SET_MAP,
	SHARD_CMD_ADD_DEV,
	SHARD_CMD_REMOVE_DEV,
	SHARD_CMD_RESIZE_DEV,
	SHARD_CMD_GET_DEV,
	SHARD_CMD_GET_STATUS,
	SHARD_CMD_EVENT,
	SHARD_CMD_MAP_TABLE,
	SHARD_CMD_MAP_COMMIT,
	__SHARD_CMD_MAX
};
#define SHARD_CMD_MAX (__SHARD_CMD_MAX - 1)

enum shard_attr {
	SHARD_ATTR_UNSPEC,
	SHARD_ATTR_EPOCH,		/* u64 */
	SHARD_ATTR_DAEMONS,		/* nest of SHARD_ATTR_DAEMON */
	SHARD_ATTR_DAEMON,		/* nest of SHARD_DAEMON_ATTR_* */
	SHARD_ATTR_POOLS,		/* nest of SHARD_ATTR_POOL */
	SHARD_ATTR_POOL,		/* nest of SHARD_POOL_ATTR_* */
	SHARD_ATTR_DEV_INDEX,		/* u32 */
	SHARD_ATTR_POOL_ID,		/* u32 */
	SHARD_ATTR_VOLUME_ID,		/* u64 */
	SHARD_ATTR_SIZE,		/* u64, bytes */
	SHARD_ATTR_OBJ_ORDER,		/* u8 */
	SHARD_ATTR_READ_ONLY,		/* flag */
	SHARD_ATTR_TIMEOUT,		/* u32, seconds */
	SHARD_ATTR_FORCE,		/* flag */
	SHARD_ATTR_POOL_NAME,		/* string */
	SHARD_ATTR_VOLUME_NAME,		/* string */
	SHARD_ATTR_OPEN_COUNT,		/* u32 */
	SHARD_ATTR_INFLIGHT,		/* u32 */
	SHARD_ATTR_HELD,		/* u32 */
	SHARD_ATTR_EVENT,		/* u32, SHARD_EVENT_* */
	SHARD_ATTR_DAEMON_ID,		/* u32 */
	SHARD_ATTR_ERRNO,		/* u32 */
	SHARD_ATTR_PAD,
	SHARD_ATTR_MAP_STAGE,		/* flag */
	SHARD_ATTR_PG_FIRST,		/* u32 */
	SHARD_ATTR_PG_IDS,		/* binary, __u32[n * width] */
	__SHARD_ATTR_MAX
};
#define SHARD_ATTR_MAX (__SHARD_ATTR_MAX - 1)

enum shard_daemon_attr {
	SHARD_DAEMON_ATTR_UNSPEC,
	SHARD_DAEMON_ATTR_ID,		/* u32 */
	SHARD_DAEMON_ATTR_ADDR,		/* binary: in_addr or in6_addr */
	SHARD_DAEMON_ATTR_PORT,		/* u16 */
	SHARD_DAEMON_ATTR_FLAGS,	/* u32 */
	SHARD_DAEMON_ATTR_CONNECTED,	/* u32, connections up (status) */
	__SHARD_DAEMON_ATTR_MAX
};
#define SHARD_DAEMON_ATTR_MAX (__SHARD_DAEMON_ATTR_MAX - 1)

/* SHARD_DAEMON_ATTR_FLAGS */
#define SHARD_DAEMON_F_UP	(1U << 0)
#define SHARD_DAEMON_F_ALL	SHARD_DAEMON_F_UP

enum shard_pool_attr {
	SHARD_POOL_ATTR_UNSPEC,
	SHARD_POOL_ATTR_ID,		/* u32 */
	SHARD_POOL_ATTR_PG_COUNT,	/* u32 */
	SHARD_POOL_ATTR_WIDTH,		/* u32 */
	SHARD_POOL_ATTR_PG_TABLE,	/* binary, __u32[pg_count * width] */
	__SHARD_POOL_ATTR_MAX
};
#define SHARD_POOL_ATTR_MAX (__SHARD_POOL_ATTR_MAX - 1)

enum shard_event {
	SHARD_EVENT_UNSPEC,
	SHARD_EVENT_DAEMON_UNREACHABLE,
	SHARD_EVENT_DAEMON_CONNECTED,
	SHARD_EVENT_IO_ERROR,
	__SHARD_EVENT_MAX
};
#define SHARD_EVENT_MAX (__SHARD_EVENT_MAX - 1)

#endif /* _UAPI_LINUX_SHARD_H */
