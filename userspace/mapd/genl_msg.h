/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Building and parsing the messages of the "shard" genl family
 * (include/uapi/linux/shard.h), kept apart from the socket so that unit
 * tests can check them without the module.
 */
#ifndef _MAPD_GENL_MSG_H
#define _MAPD_GENL_MSG_H

#include <netlink/msg.h>

#include "kernel.h"

/* Largest payload of one netlink attribute (nla_len is 16 bits). */
#define KMSG_MAX_ATTR	(0xffff - 4)

/*
 * A map goes in one SET_MAP message when it is small; otherwise it is
 * staged, its tables sent KMSG_CHUNK_IDS ids (whole PGs) at a time, and
 * committed. Small enough for libnl's default socket buffers.
 */
#define KMSG_MAX_MSG	(16 * 1024)
#define KMSG_CHUNK_IDS	3072

/* Enough room for the SET_MAP message of st. */
size_t kmsg_set_map_size(const struct mapd_state *st);
/* Whether st's map fits in one SET_MAP message. */
bool kmsg_map_fits(const struct mapd_state *st);

/*
 * Each builder appends the genl header and attributes of one request to
 * an empty msg. -EMSGSIZE when msg is too small, -E2BIG when a pool's
 * PG table does not fit in one attribute, -EINVAL on a daemon address
 * that is not numeric.
 */
int kmsg_set_map(struct nl_msg *msg, int family, const struct mapd_state *st);
/* SET_MAP with SHARD_ATTR_MAP_STAGE, pools without tables. */
int kmsg_set_map_stage(struct nl_msg *msg, int family,
		       const struct mapd_state *st);
/* One chunk: nids ids (whole PGs) of pool_id from PG pg_first on. */
int kmsg_map_table(struct nl_msg *msg, int family, uint64_t epoch,
		   uint32_t pool_id, uint32_t pg_first, const uint32_t *ids,
		   size_t nids);
int kmsg_map_commit(struct nl_msg *msg, int family, uint64_t epoch);
int kmsg_add_dev(struct nl_msg *msg, int family, const struct kdev_spec *s);
int kmsg_remove_dev(struct nl_msg *msg, int family, uint32_t index,
		    bool force);
int kmsg_resize_dev(struct nl_msg *msg, int family, uint32_t index,
		    uint64_t size);
/* GET_DEV dump (dump true) or GET_STATUS. */
int kmsg_get(struct nl_msg *msg, int family, uint8_t cmd, bool dump);

/* Reply parsers; -EBADMSG on a malformed message. */
int kmsg_parse_index(struct nlmsghdr *nlh, uint32_t *index);
int kmsg_parse_dev(struct nlmsghdr *nlh, struct kdev *d);
/* Allocates ks->daemons; the caller frees it. */
int kmsg_parse_status(struct nlmsghdr *nlh, struct kstatus *ks);

/*
 * The extack message of an NLMSG_ERROR message, copied to buf ("" when
 * there is none).
 */
void kmsg_extack(const struct nlmsghdr *nlh, char *buf, size_t len);

#endif /* _MAPD_GENL_MSG_H */
