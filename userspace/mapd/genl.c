// SPDX-License-Identifier: GPL-2.0-only
/*
 * The kernel backend over generic netlink (libnl-genl). The family is
 * resolved on every call, so a module loaded, unloaded or reloaded while
 * shard-mapd runs is picked up without a restart.
 */
#include <linux/shard.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/netlink.h>
#include <netlink/genl/ctrl.h>
#include <netlink/genl/genl.h>
#include <netlink/netlink.h>
#include <netlink/socket.h>

#include "genl_msg.h"
#include "place.h"
#include "kernel.h"

#ifndef SOL_NETLINK
#define SOL_NETLINK 270
#endif

struct genl_kernel {
	struct nl_sock *sk;
};

struct req_ctx {
	int (*parse)(struct nlmsghdr *nlh, void *arg);
	void *arg;
	int err;
	bool done;
	struct kerr *kerr;
};

static void gk_close_sock(struct genl_kernel *gk)
{
	nl_socket_free(gk->sk);
	gk->sk = NULL;
}

/* Connects if needed and resolves the family; its id or -errno. */
static int gk_family(struct genl_kernel *gk, struct kerr *err)
{
	int one = 1, family;

	if (!gk->sk) {
		gk->sk = nl_socket_alloc();
		if (!gk->sk)
			return -ENOMEM;
		nl_socket_disable_auto_ack(gk->sk);
		if (genl_connect(gk->sk) < 0) {
			gk_close_sock(gk);
			snprintf(err->msg, sizeof(err->msg),
				 "cannot open a generic netlink socket");
			return -EIO;
		}
		/* Best effort: older kernels have no extended acks. */
		setsockopt(nl_socket_get_fd(gk->sk), SOL_NETLINK,
			   NETLINK_EXT_ACK, &one, sizeof(one));
		setsockopt(nl_socket_get_fd(gk->sk), SOL_NETLINK,
			   NETLINK_CAP_ACK, &one, sizeof(one));
		nl_socket_set_buffer_size(gk->sk, 1 << 20, 1 << 20);
	}
	family = genl_ctrl_resolve(gk->sk, SHARD_GENL_NAME);
	if (family < 0) {
		if (family != -NLE_OBJ_NOTFOUND)
			gk_close_sock(gk);
		snprintf(err->msg, sizeof(err->msg),
			 "shard kernel module not loaded (generic netlink family \"%s\" not found)",
			 SHARD_GENL_NAME);
		return -KERNEL_ENOTLOADED;
	}
	return family;
}

static int valid_cb(struct nl_msg *msg, void *arg)
{
	struct req_ctx *c = arg;
	int ret;

	if (!c->parse)
		return NL_OK;
	ret = c->parse(nlmsg_hdr(msg), c->arg);
	if (ret && !c->err) {
		c->err = ret;
		snprintf(c->kerr->msg, sizeof(c->kerr->msg),
			 "malformed reply from the kernel");
	}
	return NL_OK;
}

static int done_cb(struct nl_msg *msg, void *arg)
{
	struct nlmsghdr *nlh = nlmsg_hdr(msg);
	struct req_ctx *c = arg;
	int e;

	c->done = true;
	/* A dump that failed part-way carries its error in NLMSG_DONE. */
	if (nlh->nlmsg_type == NLMSG_DONE &&
	    nlh->nlmsg_len >= NLMSG_HDRLEN + sizeof(int)) {
		memcpy(&e, NLMSG_DATA(nlh), sizeof(e));
		if (e < 0 && !c->err) {
			c->err = e;
			snprintf(c->kerr->msg, sizeof(c->kerr->msg),
				 "kernel: %s", strerror(-e));
		}
	}
	return NL_STOP;
}

static int err_cb(struct sockaddr_nl *nla, struct nlmsgerr *e, void *arg)
{
	struct nlmsghdr *nlh = (struct nlmsghdr *)((char *)e - NLMSG_HDRLEN);
	struct req_ctx *c = arg;
	char ext[200];

	(void)nla;
	c->done = true;
	c->err = e->error < 0 ? e->error : -EIO;
	kmsg_extack(nlh, ext, sizeof(ext));
	if (ext[0])
		snprintf(c->kerr->msg, sizeof(c->kerr->msg), "kernel: %s",
			 ext);
	else
		snprintf(c->kerr->msg, sizeof(c->kerr->msg), "kernel: %s",
			 strerror(-c->err));
	return NL_STOP;
}

/*
 * Sends msg (built by one of the kmsg_* builders for family) and reads
 * replies until the ack, the end of the dump or an error. parse is
 * called for each reply message.
 */
static int gk_request(struct genl_kernel *gk, struct nl_msg *msg,
		      int (*parse)(struct nlmsghdr *, void *), void *arg,
		      struct kerr *err)
{
	struct req_ctx c = { .parse = parse, .arg = arg, .kerr = err };
	struct nl_cb *cb;
	int ret;

	cb = nl_cb_alloc(NL_CB_DEFAULT);
	if (!cb)
		return -ENOMEM;
	nl_cb_set(cb, NL_CB_VALID, NL_CB_CUSTOM, valid_cb, &c);
	nl_cb_set(cb, NL_CB_ACK, NL_CB_CUSTOM, done_cb, &c);
	nl_cb_set(cb, NL_CB_FINISH, NL_CB_CUSTOM, done_cb, &c);
	nl_cb_err(cb, NL_CB_CUSTOM, err_cb, &c);

	ret = nl_send_auto(gk->sk, msg);
	if (ret < 0) {
		snprintf(err->msg, sizeof(err->msg), "netlink send: %s",
			 nl_geterror(ret));
		ret = -EIO;
		goto out;
	}
	while (!c.done) {
		ret = nl_recvmsgs(gk->sk, cb);
		if (ret < 0 && !c.done) {
			snprintf(err->msg, sizeof(err->msg),
				 "netlink receive: %s", nl_geterror(ret));
			c.err = -EIO;
			break;
		}
	}
	ret = c.err;
out:
	if (ret == -EIO)	/* the socket may be out of step: start over */
		gk_close_sock(gk);
	nl_cb_put(cb);
	return ret;
}

/* Allocates, builds and sends one request. */
#define GK_CALL(gk, err, size, parse, arg, build, ...)			\
({									\
	int __family = gk_family(gk, err), __ret;			\
	struct nl_msg *__msg;						\
									\
	if (__family < 0) {						\
		__ret = __family;					\
	} else if (!(__msg = nlmsg_alloc_size(size))) {			\
		__ret = -ENOMEM;					\
	} else {							\
		__ret = build(__msg, __family, ##__VA_ARGS__);		\
		if (__ret)						\
			snprintf((err)->msg, sizeof((err)->msg),	\
				 "cannot build netlink message: %s",	\
				 strerror(-__ret));			\
		else							\
			__ret = gk_request(gk, __msg, parse, arg, err);	\
		nlmsg_free(__msg);					\
	}								\
	__ret;								\
})

/* Stage, send every table in chunks of whole PGs, commit. */
static int gk_set_map_staged(struct genl_kernel *gk,
			     const struct mapd_state *st, struct kerr *err)
{
	size_t i, bytes = 256 + KMSG_CHUNK_IDS * sizeof(uint32_t);
	int ret;

	ret = GK_CALL(gk, err, kmsg_set_map_size(st), NULL, NULL,
		      kmsg_set_map_stage, st);
	for (i = 0; !ret && i < st->npools; i++) {
		const struct mapd_pool *p = &st->pools[i];
		uint32_t *acting = mapd_acting_table(st, p);
		uint32_t per = KMSG_CHUNK_IDS / p->size, pg, n;

		if (!acting)
			return -ENOMEM;
		for (pg = 0; !ret && pg < p->pg_count; pg += n) {
			n = p->pg_count - pg < per ? p->pg_count - pg : per;
			ret = GK_CALL(gk, err, bytes, NULL, NULL,
				      kmsg_map_table, st->epoch, p->id, pg,
				      &acting[(size_t)pg * p->size],
				      (size_t)n * p->size);
		}
		free(acting);
	}
	if (!ret)
		ret = GK_CALL(gk, err, 256, NULL, NULL, kmsg_map_commit,
			      st->epoch);
	return ret;
}

static int gk_set_map(void *priv, const struct mapd_state *st,
		      struct kerr *err)
{
	if (!kmsg_map_fits(st))
		return gk_set_map_staged(priv, st, err);
	return GK_CALL(priv, err, kmsg_set_map_size(st), NULL, NULL,
		       kmsg_set_map, st);
}

static int parse_index(struct nlmsghdr *nlh, void *arg)
{
	return kmsg_parse_index(nlh, arg);
}

static int gk_add_dev(void *priv, const struct kdev_spec *spec,
		      uint32_t *index, struct kerr *err)
{
	*index = SHARD_DAEMON_NONE;
	int ret = GK_CALL(priv, err, 4096, parse_index, index,
			  kmsg_add_dev, spec);

	if (!ret && *index == SHARD_DAEMON_NONE) {
		snprintf(err->msg, sizeof(err->msg),
			 "kernel did not say which device it created");
		ret = -EBADMSG;
	}
	return ret;
}

static int gk_remove_dev(void *priv, uint32_t index, bool force,
			 struct kerr *err)
{
	return GK_CALL(priv, err, 4096, NULL, NULL, kmsg_remove_dev,
		       index, force);
}

static int gk_resize_dev(void *priv, uint32_t index, uint64_t size,
			 struct kerr *err)
{
	return GK_CALL(priv, err, 4096, NULL, NULL, kmsg_resize_dev,
		       index, size);
}

struct dev_list {
	struct kdev *devs;
	size_t n;
};

static int parse_dev(struct nlmsghdr *nlh, void *arg)
{
	struct dev_list *l = arg;
	struct kdev *d;
	size_t i;

	d = realloc(l->devs, (l->n + 1) * sizeof(*d));
	if (!d)
		return -ENOMEM;
	l->devs = d;
	if (kmsg_parse_dev(nlh, &d[l->n]))
		return -EBADMSG;
	/* Keep sorted by index. */
	for (i = l->n++; i > 0 && d[i - 1].index > d[i].index; i--) {
		struct kdev t = d[i];

		d[i] = d[i - 1];
		d[i - 1] = t;
	}
	return 0;
}

static int gk_list_devs(void *priv, struct kdev **devs, size_t *n,
			struct kerr *err)
{
	struct dev_list l = { 0 };
	int ret = GK_CALL(priv, err, 4096, parse_dev, &l, kmsg_get,
			  SHARD_CMD_GET_DEV, true);

	if (ret) {
		free(l.devs);
		return ret;
	}
	*devs = l.devs;
	*n = l.n;
	return 0;
}

static int parse_status(struct nlmsghdr *nlh, void *arg)
{
	struct kstatus *ks = arg;

	free(ks->daemons);
	return kmsg_parse_status(nlh, ks);
}

static int gk_get_status(void *priv, struct kstatus *ks, struct kerr *err)
{
	int ret;

	memset(ks, 0, sizeof(*ks));
	ret = GK_CALL(priv, err, 4096, parse_status, ks, kmsg_get,
		      SHARD_CMD_GET_STATUS, false);
	if (ret) {
		free(ks->daemons);
		memset(ks, 0, sizeof(*ks));
	}
	return ret;
}

static void gk_close(void *priv)
{
	struct genl_kernel *gk = priv;

	if (gk->sk)
		gk_close_sock(gk);
	free(gk);
}

static const struct kernel_ops genl_ops = {
	.set_map	= gk_set_map,
	.add_dev	= gk_add_dev,
	.remove_dev	= gk_remove_dev,
	.resize_dev	= gk_resize_dev,
	.list_devs	= gk_list_devs,
	.get_status	= gk_get_status,
	.close		= gk_close,
};

int genl_kernel_open(struct mapd_kernel *k)
{
	struct genl_kernel *gk = calloc(1, sizeof(*gk));

	if (!gk)
		return -ENOMEM;
	k->ops = &genl_ops;
	k->priv = gk;
	return 0;
}
