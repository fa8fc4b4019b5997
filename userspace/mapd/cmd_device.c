// SPDX-License-Identifier: GPL-2.0-only
/*
 * Device commands: "map" creates /dev/shardN for a volume in the kernel,
 * "unmap" removes it. Which devices exist is the kernel's to say.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmds.h"
#include "log.h"

static int need_kernel(struct mapd *m, char *err)
{
	if (m->kernel.ops)
		return 0;
	snprintf(err, ERRLEN,
		 "kernel support is disabled (shard-mapd --no-kernel)");
	return -EOPNOTSUPP;
}

static int list_devs(struct mapd *m, struct kdev **devs, size_t *n,
		     char *err)
{
	struct kerr kerr;
	int ret;

	*devs = NULL;
	*n = 0;
	ret = m->kernel.ops->list_devs(m->kernel.priv, devs, n, &kerr);
	if (ret == -KERNEL_ENOTLOADED)
		snprintf(err, ERRLEN, "%s", kerr.msg);
	else if (ret)
		snprintf(err, ERRLEN, "cannot list devices: %s", kerr.msg);
	return ret;
}

int cmd_map(struct mapd *m, json_t *req, json_t *reply, char *err)
{
	struct kdev_spec spec = { 0 };
	uint64_t timeout = 0;
	struct mapd_pool *p;
	struct mapd_volume *v;
	struct kdev *devs;
	struct kerr kerr;
	uint32_t index;
	size_t n, i;
	int ret;

	if ((ret = req_volume(m, req, &p, &v, err)) ||
	    (ret = req_bool(req, "read_only", &spec.read_only, err)) ||
	    (ret = req_u64(req, "timeout", false, &timeout, err)) ||
	    (ret = need_kernel(m, err)))
		return ret;
	if (timeout > UINT32_MAX) {
		snprintf(err, ERRLEN, "field \"timeout\" is too large");
		return -EINVAL;
	}
	ret = list_devs(m, &devs, &n, err);
	if (ret)
		return ret;
	for (i = 0; i < n && devs[i].volume_id != v->id; i++)
		;
	if (i < n) {
		snprintf(err, ERRLEN, "volume %s/%s is already mapped at /dev/shard%u",
			 p->name, v->name, devs[i].index);
		free(devs);
		return -EEXIST;
	}
	free(devs);
	if (!m->map_pushed) {
		ret = mapd_sync_kernel(m, &kerr);
		if (ret) {
			snprintf(err, ERRLEN, "%s", kerr.msg);
			return ret;
		}
	}
	spec.pool_id = p->id;
	spec.volume_id = v->id;
	spec.size = v->size;
	spec.obj_order = v->obj_order;
	spec.timeout = timeout;
	spec.pool_name = p->name;
	spec.volume_name = v->name;
	ret = m->kernel.ops->add_dev(m->kernel.priv, &spec, &index, &kerr);
	if (ret) {
		snprintf(err, ERRLEN, "cannot map %s/%s: %s", p->name,
			 v->name, kerr.msg);
		return ret;
	}
	log_info("mapped %s/%s at /dev/shard%u%s", p->name, v->name, index,
		 spec.read_only ? " (read-only)" : "");
	json_object_set_new(reply, "device", dev_path_json(index));
	json_object_set_new(reply, "index", json_integer(index));
	return 0;
}

/* "/dev/shardN", "shardN" or "N"; -EINVAL otherwise. */
static int parse_device(const char *s, uint32_t *index)
{
	unsigned long v;
	char *end;

	if (!strncmp(s, "/dev/", 5))
		s += 5;
	if (!strncmp(s, "shard", 5))
		s += 5;
	if (*s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end || v > UINT32_MAX)
		return -EINVAL;
	*index = v;
	return 0;
}

/* The device index an unmap request names. */
static int unmap_target(struct mapd *m, json_t *req, const struct kdev *devs,
			size_t n, uint32_t *index, char *err)
{
	struct mapd_pool *p;
	struct mapd_volume *v;
	json_t *dev = json_object_get(req, "device");
	size_t i;
	int ret;

	if (json_is_integer(dev) && json_integer_value(dev) >= 0 &&
	    json_integer_value(dev) <= UINT32_MAX) {
		*index = json_integer_value(dev);
	} else if (json_is_string(dev)) {
		if (parse_device(json_string_value(dev), index)) {
			snprintf(err, ERRLEN,
				 "invalid device \"%.64s\": expected /dev/shardN, shardN or N",
				 json_string_value(dev));
			return -EINVAL;
		}
	} else if (dev && !json_is_null(dev)) {
		snprintf(err, ERRLEN,
			 "field \"device\" must be a string or an index");
		return -EINVAL;
	} else {
		if (!json_object_get(req, "pool") &&
		    !json_object_get(req, "name")) {
			snprintf(err, ERRLEN,
				 "missing field \"device\" (or \"pool\" and \"name\")");
			return -EINVAL;
		}
		ret = req_volume(m, req, &p, &v, err);
		if (ret)
			return ret;
		for (i = 0; i < n; i++)
			if (devs[i].volume_id == v->id) {
				*index = devs[i].index;
				return 0;
			}
		snprintf(err, ERRLEN, "volume %s/%s is not mapped", p->name,
			 v->name);
		return -ENOENT;
	}
	for (i = 0; i < n; i++)
		if (devs[i].index == *index)
			return 0;
	snprintf(err, ERRLEN, "no device /dev/shard%u", *index);
	return -ENODEV;
}

int cmd_unmap(struct mapd *m, json_t *req, json_t *reply, char *err)
{
	struct kdev *devs = NULL;
	struct kerr kerr;
	uint32_t index;
	size_t n;
	bool force;
	int ret;

	(void)reply;
	if ((ret = req_bool(req, "force", &force, err)) ||
	    (ret = need_kernel(m, err)) ||
	    (ret = list_devs(m, &devs, &n, err)))
		return ret;
	ret = unmap_target(m, req, devs, n, &index, err);
	free(devs);
	if (ret)
		return ret;
	ret = m->kernel.ops->remove_dev(m->kernel.priv, index, force, &kerr);
	if (ret) {
		if (ret == -EBUSY)
			snprintf(err, ERRLEN,
				 "/dev/shard%u is in use (open); close it or use force",
				 index);
		else
			snprintf(err, ERRLEN, "cannot unmap /dev/shard%u: %s",
				 index, kerr.msg);
		return ret;
	}
	log_info("unmapped /dev/shard%u%s", index, force ? " (forced)" : "");
	json_object_set_new(reply, "device", dev_path_json(index));
	return 0;
}
