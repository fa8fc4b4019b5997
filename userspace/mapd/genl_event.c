// SPDX-License-Identifier: GPL-2.0-only
/* The kernel's events: see genl_event.h. */
#include <linux/shard.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netlink/attr.h>
#include <netlink/genl/ctrl.h>
#include <netlink/genl/genl.h>
#include <netlink/netlink.h>
#include <netlink/socket.h>

#include "genl_event.h"
#include "log.h"
#include "mapd.h"

/* Messages handled per wake-up, so that a flood cannot starve clients. */
#define READ_BATCH	64
/* A kernel sending garbage is said so this often at most (seconds). */
#define WARN_INTERVAL	60.0
/* Highest value taken for an errno. */
#define MAX_ERRNO	4095

struct kevents {
	struct nl_sock *sk;	/* joined to the group */
	struct nl_sock *ctl;	/* resolves the family and group */
	int family, group;	/* as last resolved; 0: not joined */
	bool missing_said;
	double last_warn;
	unsigned long bad;	/* malformed ones not said since */
	kevent_fn fn;
	void *arg;
};

/* Exactly four bytes: a u32 of another size is not what the kernel sends. */
static struct nla_policy event_policy[SHARD_ATTR_MAX + 1] = {
	[SHARD_ATTR_EVENT]	= { .type = NLA_U32, .maxlen = 4 },
	[SHARD_ATTR_DAEMON_ID]	= { .type = NLA_U32, .maxlen = 4 },
	[SHARD_ATTR_DEV_INDEX]	= { .type = NLA_U32, .maxlen = 4 },
	[SHARD_ATTR_ERRNO]	= { .type = NLA_U32, .maxlen = 4 },
};

static int bad(char *why, size_t len, const char *reason)
{
	if (why)
		snprintf(why, len, "%s", reason);
	return -EBADMSG;
}

int kmsg_parse_event(const struct nlmsghdr *nlh, int family,
		     struct kevent *ev, char *why, size_t whylen)
{
	struct nlattr *tb[SHARD_ATTR_MAX + 1];
	const struct genlmsghdr *g;
	uint32_t v;

	memset(ev, 0, sizeof(*ev));
	ev->dev_index = -1;
	if (nlh->nlmsg_len < NLMSG_HDRLEN ||
	    !genlmsg_valid_hdr((struct nlmsghdr *)nlh, 0))
		return bad(why, whylen, "shorter than a genl header");
	if (nlh->nlmsg_type != family)
		return bad(why, whylen, "not of the shard family");
	g = nlmsg_data(nlh);
	if (g->cmd != SHARD_CMD_EVENT)
		return bad(why, whylen, "not an event");
	if (genlmsg_parse((struct nlmsghdr *)nlh, 0, tb, SHARD_ATTR_MAX,
			  event_policy) < 0)
		return bad(why, whylen, "an attribute of the wrong size");
	if (!tb[SHARD_ATTR_EVENT])
		return bad(why, whylen, "no event type");
	ev->type = nla_get_u32(tb[SHARD_ATTR_EVENT]);
	if (tb[SHARD_ATTR_DAEMON_ID]) {
		v = nla_get_u32(tb[SHARD_ATTR_DAEMON_ID]);
		if (!v || v >= SHARD_MAX_DAEMON_ID)
			return bad(why, whylen, "daemon id out of range");
		ev->daemon_id = v;
	} else if (ev->type == SHARD_EVENT_DAEMON_UNREACHABLE ||
		   ev->type == SHARD_EVENT_DAEMON_CONNECTED) {
		return bad(why, whylen, "a daemon event without a daemon id");
	}
	if (tb[SHARD_ATTR_DEV_INDEX]) {
		v = nla_get_u32(tb[SHARD_ATTR_DEV_INDEX]);
		if (v > INT32_MAX)
			return bad(why, whylen, "device index out of range");
		ev->dev_index = v;
	}
	if (tb[SHARD_ATTR_ERRNO]) {
		v = nla_get_u32(tb[SHARD_ATTR_ERRNO]);
		if (v > MAX_ERRNO)
			return bad(why, whylen, "errno out of range");
		ev->err = v;
	}
	return 0;
}

static int on_msg(struct nl_msg *msg, void *arg)
{
	struct kevents *ke = arg;
	struct kevent ev;
	char why[64];
	double now;

	if (!kmsg_parse_event(nlmsg_hdr(msg), ke->family, &ev, why,
			      sizeof(why))) {
		ke->fn(ke->arg, &ev);
		return NL_OK;
	}
	now = mapd_now();
	if (ke->last_warn && now - ke->last_warn < WARN_INTERVAL) {
		ke->bad++;
		return NL_OK;
	}
	if (ke->bad)
		log_warn("malformed kernel event ignored (%s); %lu more since the last such warning",
			 why, ke->bad);
	else
		log_warn("malformed kernel event ignored (%s)", why);
	ke->last_warn = now;
	ke->bad = 0;
	return NL_OK;
}

struct kevents *kevents_open(kevent_fn fn, void *arg)
{
	struct kevents *ke = calloc(1, sizeof(*ke));

	if (!ke)
		return NULL;
	ke->fn = fn;
	ke->arg = arg;
	ke->sk = nl_socket_alloc();
	if (!ke->sk)
		goto fail;
	/* Multicast messages carry no sequence number of ours. */
	nl_socket_disable_seq_check(ke->sk);
	nl_socket_modify_cb(ke->sk, NL_CB_VALID, NL_CB_CUSTOM, on_msg, ke);
	if (genl_connect(ke->sk) < 0 ||
	    nl_socket_set_nonblocking(ke->sk) < 0) {
		log_err("cannot open a generic netlink socket for the kernel's events");
		goto fail;
	}
	nl_socket_set_buffer_size(ke->sk, 256 * 1024, 0);
	return ke;
fail:
	kevents_close(ke);
	return NULL;
}

void kevents_close(struct kevents *ke)
{
	if (!ke)
		return;
	if (ke->sk)
		nl_socket_free(ke->sk);
	if (ke->ctl)
		nl_socket_free(ke->ctl);
	free(ke);
}

int kevents_fd(struct kevents *ke)
{
	return ke ? nl_socket_get_fd(ke->sk) : -1;
}

void kevents_subscribe(struct kevents *ke)
{
	int family, group;

	if (!ke)
		return;
	if (!ke->ctl) {
		ke->ctl = nl_socket_alloc();
		if (!ke->ctl)
			return;
		if (genl_connect(ke->ctl) < 0) {
			nl_socket_free(ke->ctl);
			ke->ctl = NULL;
			return;
		}
	}
	family = genl_ctrl_resolve(ke->ctl, SHARD_GENL_NAME);
	group = family < 0 ? family :
		genl_ctrl_resolve_grp(ke->ctl, SHARD_GENL_NAME,
				      SHARD_GENL_MCGRP_EVENTS);
	if (family < 0 || group < 0) {
		if (family != -NLE_OBJ_NOTFOUND && group != -NLE_OBJ_NOTFOUND) {
			/* The socket may be out of step: a new one next time. */
			nl_socket_free(ke->ctl);
			ke->ctl = NULL;
		}
		if (ke->family || !ke->missing_said)
			log_info("kernel events: no shard module; listening once it is loaded");
		ke->missing_said = true;
		ke->family = ke->group = 0;
		return;
	}
	/*
	 * Unloading the module drops every member of its groups, and a
	 * reload may keep the same ids: join every time (it is idempotent),
	 * say so only when something changed.
	 */
	if (nl_socket_add_membership(ke->sk, group) < 0) {
		if (ke->family)
			log_warn("kernel events: cannot join the \"%s\" group",
				 SHARD_GENL_MCGRP_EVENTS);
		ke->family = ke->group = 0;
		return;
	}
	if (family != ke->family || group != ke->group)
		log_info("kernel events: listening");
	ke->family = family;
	ke->group = group;
}

void kevents_read(struct kevents *ke)
{
	int i, ret;

	if (!ke)
		return;
	for (i = 0; i < READ_BATCH; i++) {
		ret = nl_recvmsgs_default(ke->sk);
		if (ret >= 0)
			continue;
		if (ret == -NLE_AGAIN)
			break;
		if (ret == -NLE_NOMEM) {
			/* ENOBUFS: the kernel dropped some for us. */
			log_warn("kernel events: some were lost (receive buffer full)");
			continue;
		}
		log_warn("kernel events: %s", nl_geterror(ret));
		break;
	}
}
