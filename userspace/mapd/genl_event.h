/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The kernel's events: SHARD_CMD_EVENT messages multicast on the
 * "events" group of the "shard" genl family (include/uapi/linux/shard.h),
 * read on a netlink socket of their own that the main loop polls. The
 * parser is apart from the socket so that tests can feed it messages.
 */
#ifndef _MAPD_GENL_EVENT_H
#define _MAPD_GENL_EVENT_H

#include <stddef.h>
#include <stdint.h>
#include <linux/netlink.h>

struct kevent {
	uint32_t type;		/* SHARD_EVENT_*, or a newer one */
	uint32_t daemon_id;	/* 0 when the event names none */
	int32_t dev_index;	/* -1 when the event names none */
	int err;		/* a positive errno, 0 when none */
};

/*
 * Parses one message of family (its id) into ev. -EBADMSG when it is
 * not a well-formed SHARD_CMD_EVENT, with the reason in why. An event
 * type mapd does not know is not an error: ev->type says what it is.
 */
int kmsg_parse_event(const struct nlmsghdr *nlh, int family,
		     struct kevent *ev, char *why, size_t whylen);

struct kevents;
typedef void (*kevent_fn)(void *arg, const struct kevent *ev);

/* A non-blocking socket; fn gets each well-formed event. NULL: ENOMEM
 * or no generic netlink (logged). */
struct kevents *kevents_open(kevent_fn fn, void *arg);
void kevents_close(struct kevents *ke);
/* The fd to poll for POLLIN; -1 for NULL. */
int kevents_fd(struct kevents *ke);
/*
 * Joins the events group if the module is loaded. Call it now and then:
 * a module loaded (or reloaded) later is picked up.
 */
void kevents_subscribe(struct kevents *ke);
/* Handles whatever events are queued, without blocking. */
void kevents_read(struct kevents *ke);

#endif /* _MAPD_GENL_EVENT_H */
