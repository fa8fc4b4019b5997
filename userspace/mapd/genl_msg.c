// SPDX-License-Identifier: GPL-2.0-only
/*
 * Messages of the "shard" generic netlink family. Nests carry
 * NLA_F_NESTED, as strict kernel validation requires.
 */
#include <linux/shard.h>
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <linux/netlink.h>
#include <netlink/attr.h>
#include <netlink/genl/genl.h>

#include "genl_msg.h"
#include "place.h"

size_t kmsg_set_map_size(const struct mapd_state *st)
{
	size_t n = 256 + st->ndaemons * 64;
	size_t i;

	for (i = 0; i < st->npools; i++)
		n += 64 + (size_t)st->pools[i].pg_count *
			st->pools[i].size * sizeof(uint32_t);
	return n;
}

static int put_hdr(struct nl_msg *msg, int family, uint8_t cmd, int flags)
{
	if (!genlmsg_put(msg, NL_AUTO_PORT, NL_AUTO_SEQ, family, 0, flags,
			 cmd, SHARD_GENL_VERSION))
		return -EMSGSIZE;
	return 0;
}

/* libnl returns -NLE_NOMEM when the message is full. */
#define PUT(expr) do { if ((expr) < 0) return -EMSGSIZE; } while (0)

static int put_daemon(struct nl_msg *msg, const struct mapd_daemon *d)
{
	unsigned char addr[16];
	struct nlattr *nest;
	int alen;

	if (inet_pton(AF_INET, d->addr, addr) == 1)
		alen = 4;
	else if (inet_pton(AF_INET6, d->addr, addr) == 1)
		alen = 16;
	else
		return -EINVAL;
	nest = nla_nest_start(msg, SHARD_ATTR_DAEMON | NLA_F_NESTED);
	if (!nest)
		return -EMSGSIZE;
	PUT(nla_put_u32(msg, SHARD_DAEMON_ATTR_ID, d->id));
	PUT(nla_put(msg, SHARD_DAEMON_ATTR_ADDR, alen, addr));
	PUT(nla_put_u16(msg, SHARD_DAEMON_ATTR_PORT, d->port));
	PUT(nla_put_u32(msg, SHARD_DAEMON_ATTR_FLAGS,
			d->up ? SHARD_DAEMON_F_UP : 0));
	nla_nest_end(msg, nest);
	return 0;
}

static int put_pool(struct nl_msg *msg, const struct mapd_state *st,
		    const struct mapd_pool *p, bool stage)
{
	size_t bytes = (size_t)p->pg_count * p->size * sizeof(uint32_t);
	struct nlattr *nest, *table;
	uint32_t *acting;

	if (bytes > KMSG_MAX_ATTR && !stage)
		return -E2BIG;
	nest = nla_nest_start(msg, SHARD_ATTR_POOL | NLA_F_NESTED);
	if (!nest)
		return -EMSGSIZE;
	PUT(nla_put_u32(msg, SHARD_POOL_ATTR_ID, p->id));
	PUT(nla_put_u32(msg, SHARD_POOL_ATTR_PG_COUNT, p->pg_count));
	PUT(nla_put_u32(msg, SHARD_POOL_ATTR_WIDTH, p->size));
	if (stage) {
		/* The table follows in SHARD_CMD_MAP_TABLE chunks. */
		nla_nest_end(msg, nest);
		return 0;
	}
	table = nla_reserve(msg, SHARD_POOL_ATTR_PG_TABLE, bytes);
	if (!table)
		return -EMSGSIZE;
	acting = mapd_acting_table(st, p);
	if (!acting)
		return -ENOMEM;
	memcpy(nla_data(table), acting, bytes);
	free(acting);
	nla_nest_end(msg, nest);
	return 0;
}

bool kmsg_map_fits(const struct mapd_state *st)
{
	size_t i;

	for (i = 0; i < st->npools; i++)
		if ((size_t)st->pools[i].pg_count * st->pools[i].size >
		    KMSG_CHUNK_IDS)
			return false;
	return kmsg_set_map_size(st) <= KMSG_MAX_MSG;
}

static int build_map(struct nl_msg *msg, int family,
		     const struct mapd_state *st, bool stage)
{
	struct nlattr *nest;
	size_t i, listed = 0;
	int ret;

	ret = put_hdr(msg, family, SHARD_CMD_SET_MAP, NLM_F_ACK);
	if (ret)
		return ret;
	PUT(nla_put_u64(msg, SHARD_ATTR_EPOCH, st->epoch));
	if (stage)
		PUT(nla_put_flag(msg, SHARD_ATTR_MAP_STAGE));
	for (i = 0; i < st->ndaemons; i++)
		listed += mapd_daemon_relied_on(st, &st->daemons[i]);
	/*
	 * The nest is required even when empty, and libnl's nla_nest_end()
	 * drops empty nests: put an empty one by hand.
	 */
	if (!listed) {
		PUT(nla_put(msg, SHARD_ATTR_DAEMONS | NLA_F_NESTED, 0, NULL));
	} else {
		nest = nla_nest_start(msg, SHARD_ATTR_DAEMONS | NLA_F_NESTED);
		if (!nest)
			return -EMSGSIZE;
		for (i = 0; i < st->ndaemons; i++) {
			if (!mapd_daemon_relied_on(st, &st->daemons[i]))
				continue;
			ret = put_daemon(msg, &st->daemons[i]);
			if (ret)
				return ret;
		}
		nla_nest_end(msg, nest);
	}

	if (!st->npools) {
		PUT(nla_put(msg, SHARD_ATTR_POOLS | NLA_F_NESTED, 0, NULL));
		return 0;
	}
	nest = nla_nest_start(msg, SHARD_ATTR_POOLS | NLA_F_NESTED);
	if (!nest)
		return -EMSGSIZE;
	for (i = 0; i < st->npools; i++) {
		ret = put_pool(msg, st, &st->pools[i], stage);
		if (ret)
			return ret;
	}
	nla_nest_end(msg, nest);
	return 0;
}

int kmsg_set_map(struct nl_msg *msg, int family, const struct mapd_state *st)
{
	return build_map(msg, family, st, false);
}

int kmsg_set_map_stage(struct nl_msg *msg, int family,
		       const struct mapd_state *st)
{
	return build_map(msg, family, st, true);
}

int kmsg_map_table(struct nl_msg *msg, int family, uint64_t epoch,
		   uint32_t pool_id, uint32_t pg_first, const uint32_t *ids,
		   size_t nids)
{
	int ret;

	if (nids * sizeof(*ids) > KMSG_MAX_ATTR)
		return -E2BIG;
	ret = put_hdr(msg, family, SHARD_CMD_MAP_TABLE, NLM_F_ACK);
	if (ret)
		return ret;
	PUT(nla_put_u64(msg, SHARD_ATTR_EPOCH, epoch));
	PUT(nla_put_u32(msg, SHARD_ATTR_POOL_ID, pool_id));
	PUT(nla_put_u32(msg, SHARD_ATTR_PG_FIRST, pg_first));
	PUT(nla_put(msg, SHARD_ATTR_PG_IDS, nids * sizeof(*ids), ids));
	return 0;
}

int kmsg_map_commit(struct nl_msg *msg, int family, uint64_t epoch)
{
	int ret = put_hdr(msg, family, SHARD_CMD_MAP_COMMIT, NLM_F_ACK);

	if (ret)
		return ret;
	PUT(nla_put_u64(msg, SHARD_ATTR_EPOCH, epoch));
	return 0;
}

int kmsg_add_dev(struct nl_msg *msg, int family, const struct kdev_spec *s)
{
	int ret = put_hdr(msg, family, SHARD_CMD_ADD_DEV, NLM_F_ACK);

	if (ret)
		return ret;
	PUT(nla_put_u32(msg, SHARD_ATTR_POOL_ID, s->pool_id));
	PUT(nla_put_u64(msg, SHARD_ATTR_VOLUME_ID, s->volume_id));
	PUT(nla_put_u64(msg, SHARD_ATTR_SIZE, s->size));
	PUT(nla_put_u8(msg, SHARD_ATTR_OBJ_ORDER, s->obj_order));
	if (s->read_only)
		PUT(nla_put_flag(msg, SHARD_ATTR_READ_ONLY));
	if (s->timeout)
		PUT(nla_put_u32(msg, SHARD_ATTR_TIMEOUT, s->timeout));
	PUT(nla_put_string(msg, SHARD_ATTR_POOL_NAME, s->pool_name));
	PUT(nla_put_string(msg, SHARD_ATTR_VOLUME_NAME, s->volume_name));
	return 0;
}

int kmsg_remove_dev(struct nl_msg *msg, int family, uint32_t index,
		    bool force)
{
	int ret = put_hdr(msg, family, SHARD_CMD_REMOVE_DEV, NLM_F_ACK);

	if (ret)
		return ret;
	PUT(nla_put_u32(msg, SHARD_ATTR_DEV_INDEX, index));
	if (force)
		PUT(nla_put_flag(msg, SHARD_ATTR_FORCE));
	return 0;
}

int kmsg_resize_dev(struct nl_msg *msg, int family, uint32_t index,
		    uint64_t size)
{
	int ret = put_hdr(msg, family, SHARD_CMD_RESIZE_DEV, NLM_F_ACK);

	if (ret)
		return ret;
	PUT(nla_put_u32(msg, SHARD_ATTR_DEV_INDEX, index));
	PUT(nla_put_u64(msg, SHARD_ATTR_SIZE, size));
	return 0;
}

int kmsg_get(struct nl_msg *msg, int family, uint8_t cmd, bool dump)
{
	return put_hdr(msg, family, cmd, dump ? NLM_F_DUMP : NLM_F_ACK);
}

static struct nla_policy dev_policy[SHARD_ATTR_MAX + 1] = {
	[SHARD_ATTR_EPOCH]		= { .type = NLA_U64 },
	[SHARD_ATTR_DAEMONS]		= { .type = NLA_NESTED },
	[SHARD_ATTR_DEV_INDEX]		= { .type = NLA_U32 },
	[SHARD_ATTR_POOL_ID]		= { .type = NLA_U32 },
	[SHARD_ATTR_VOLUME_ID]		= { .type = NLA_U64 },
	[SHARD_ATTR_SIZE]		= { .type = NLA_U64 },
	[SHARD_ATTR_OBJ_ORDER]		= { .type = NLA_U8 },
	[SHARD_ATTR_READ_ONLY]		= { .type = NLA_FLAG },
	[SHARD_ATTR_TIMEOUT]		= { .type = NLA_U32 },
	[SHARD_ATTR_POOL_NAME]		= { .type = NLA_STRING },
	[SHARD_ATTR_VOLUME_NAME]	= { .type = NLA_STRING },
	[SHARD_ATTR_OPEN_COUNT]		= { .type = NLA_U32 },
	[SHARD_ATTR_INFLIGHT]		= { .type = NLA_U32 },
	[SHARD_ATTR_HELD]		= { .type = NLA_U32 },
};

static struct nla_policy daemon_policy[SHARD_DAEMON_ATTR_MAX + 1] = {
	[SHARD_DAEMON_ATTR_ID]		= { .type = NLA_U32 },
	[SHARD_DAEMON_ATTR_PORT]	= { .type = NLA_U16 },
	[SHARD_DAEMON_ATTR_FLAGS]	= { .type = NLA_U32 },
	[SHARD_DAEMON_ATTR_CONNECTED]	= { .type = NLA_U32 },
};

int kmsg_parse_index(struct nlmsghdr *nlh, uint32_t *index)
{
	struct nlattr *tb[SHARD_ATTR_MAX + 1];

	if (genlmsg_parse(nlh, 0, tb, SHARD_ATTR_MAX, dev_policy) < 0 ||
	    !tb[SHARD_ATTR_DEV_INDEX])
		return -EBADMSG;
	*index = nla_get_u32(tb[SHARD_ATTR_DEV_INDEX]);
	return 0;
}

static void get_name(char *dst, size_t len, struct nlattr *a)
{
	size_t n;

	dst[0] = '\0';
	if (!a)
		return;
	n = nla_len(a);
	if (n >= len)
		n = len - 1;
	memcpy(dst, nla_data(a), n);
	dst[n] = '\0';
}

static uint32_t get_u32(struct nlattr *a)
{
	return a ? nla_get_u32(a) : 0;
}

int kmsg_parse_dev(struct nlmsghdr *nlh, struct kdev *d)
{
	struct nlattr *tb[SHARD_ATTR_MAX + 1];

	memset(d, 0, sizeof(*d));
	if (genlmsg_parse(nlh, 0, tb, SHARD_ATTR_MAX, dev_policy) < 0 ||
	    !tb[SHARD_ATTR_DEV_INDEX] || !tb[SHARD_ATTR_POOL_ID] ||
	    !tb[SHARD_ATTR_VOLUME_ID])
		return -EBADMSG;
	d->index = nla_get_u32(tb[SHARD_ATTR_DEV_INDEX]);
	d->pool_id = nla_get_u32(tb[SHARD_ATTR_POOL_ID]);
	d->volume_id = nla_get_u64(tb[SHARD_ATTR_VOLUME_ID]);
	if (tb[SHARD_ATTR_SIZE])
		d->size = nla_get_u64(tb[SHARD_ATTR_SIZE]);
	if (tb[SHARD_ATTR_OBJ_ORDER])
		d->obj_order = nla_get_u8(tb[SHARD_ATTR_OBJ_ORDER]);
	d->read_only = tb[SHARD_ATTR_READ_ONLY] != NULL;
	d->timeout = get_u32(tb[SHARD_ATTR_TIMEOUT]);
	d->open_count = get_u32(tb[SHARD_ATTR_OPEN_COUNT]);
	d->inflight = get_u32(tb[SHARD_ATTR_INFLIGHT]);
	d->held = get_u32(tb[SHARD_ATTR_HELD]);
	get_name(d->pool_name, sizeof(d->pool_name),
		 tb[SHARD_ATTR_POOL_NAME]);
	get_name(d->volume_name, sizeof(d->volume_name),
		 tb[SHARD_ATTR_VOLUME_NAME]);
	return 0;
}

int kmsg_parse_status(struct nlmsghdr *nlh, struct kstatus *ks)
{
	struct nlattr *tb[SHARD_ATTR_MAX + 1];
	struct nlattr *dtb[SHARD_DAEMON_ATTR_MAX + 1];
	struct nlattr *a;
	int rem, n = 0;

	memset(ks, 0, sizeof(*ks));
	if (genlmsg_parse(nlh, 0, tb, SHARD_ATTR_MAX, dev_policy) < 0 ||
	    !tb[SHARD_ATTR_EPOCH])
		return -EBADMSG;
	ks->epoch = nla_get_u64(tb[SHARD_ATTR_EPOCH]);
	if (!tb[SHARD_ATTR_DAEMONS])
		return 0;
	nla_for_each_nested(a, tb[SHARD_ATTR_DAEMONS], rem)
		n++;
	ks->daemons = calloc(n + 1, sizeof(*ks->daemons));
	if (!ks->daemons)
		return -ENOMEM;
	nla_for_each_nested(a, tb[SHARD_ATTR_DAEMONS], rem) {
		if (nla_type(a) != SHARD_ATTR_DAEMON ||
		    nla_parse_nested(dtb, SHARD_DAEMON_ATTR_MAX, a,
				     daemon_policy) < 0 ||
		    !dtb[SHARD_DAEMON_ATTR_ID])
			continue;
		ks->daemons[ks->ndaemons].id =
			nla_get_u32(dtb[SHARD_DAEMON_ATTR_ID]);
		ks->daemons[ks->ndaemons].connected =
			get_u32(dtb[SHARD_DAEMON_ATTR_CONNECTED]);
		ks->ndaemons++;
	}
	return 0;
}

void kmsg_extack(const struct nlmsghdr *nlh, char *buf, size_t len)
{
	const struct nlmsgerr *e = NLMSG_DATA(nlh);
	struct nlattr *tb[NLMSGERR_ATTR_MAX + 1];
	size_t off;

	buf[0] = '\0';
	if (nlh->nlmsg_type != NLMSG_ERROR ||
	    !(nlh->nlmsg_flags & NLM_F_ACK_TLVS) ||
	    nlh->nlmsg_len < NLMSG_HDRLEN + sizeof(*e))
		return;
	off = NLMSG_HDRLEN + sizeof(*e);
	if (!(nlh->nlmsg_flags & NLM_F_CAPPED)) {
		if (e->msg.nlmsg_len < NLMSG_HDRLEN)
			return;
		off += NLMSG_ALIGN(e->msg.nlmsg_len) - NLMSG_HDRLEN;
	}
	if (off >= nlh->nlmsg_len)
		return;
	if (nla_parse(tb, NLMSGERR_ATTR_MAX,
		      (struct nlattr *)((char *)nlh + off),
		      nlh->nlmsg_len - off, NULL) < 0 ||
	    !tb[NLMSGERR_ATTR_MSG])
		return;
	get_name(buf, len, tb[NLMSGERR_ATTR_MSG]);
}
