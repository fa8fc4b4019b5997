/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * What shard-mapd asks of the shard kernel module. genl.c implements it
 * over generic netlink; unit tests plug in a fake; --no-kernel has none.
 * Every call returns 0 or -errno and, on error, a one-line reason in
 * err (the kernel's extack message when it sent one).
 */
#ifndef _MAPD_KERNEL_H
#define _MAPD_KERNEL_H

#include <linux/shard.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "state.h"

/* The module is not loaded: the genl family "shard" does not exist. */
#define KERNEL_ENOTLOADED	ENOPKG

struct kerr {
	char msg[256];
};

struct kdev_spec {
	uint32_t pool_id;
	uint64_t volume_id;
	uint64_t size;
	uint8_t obj_order;
	bool read_only;
	uint32_t timeout;
	const char *pool_name;
	const char *volume_name;
};

struct kdev {
	uint32_t index;
	uint32_t pool_id;
	uint64_t volume_id;
	uint64_t size;
	uint8_t obj_order;
	bool read_only;
	uint32_t timeout;
	uint32_t open_count;
	uint32_t inflight;
	uint32_t held;
	char pool_name[SHARD_MAX_NAME];
	char volume_name[SHARD_MAX_NAME];
};

struct kstatus_daemon {
	uint32_t id;
	uint32_t connected;
};

struct kstatus {
	uint64_t epoch;
	struct kstatus_daemon *daemons;
	size_t ndaemons;
};

struct kernel_ops {
	int (*set_map)(void *priv, const struct mapd_state *st,
		       struct kerr *err);
	int (*add_dev)(void *priv, const struct kdev_spec *spec,
		       uint32_t *index, struct kerr *err);
	int (*remove_dev)(void *priv, uint32_t index, bool force,
			  struct kerr *err);
	int (*resize_dev)(void *priv, uint32_t index, uint64_t size,
			  struct kerr *err);
	/* *devs is malloc'ed, sorted by index. */
	int (*list_devs)(void *priv, struct kdev **devs, size_t *n,
			 struct kerr *err);
	int (*get_status)(void *priv, struct kstatus *ks, struct kerr *err);
	void (*close)(void *priv);
};

struct mapd_kernel {
	const struct kernel_ops *ops;	/* NULL: no kernel (--no-kernel) */
	void *priv;
};

/* The generic netlink backend; fails only on ENOMEM. */
int genl_kernel_open(struct mapd_kernel *k);

#endif /* _MAPD_KERNEL_H */
