// SPDX-License-Identifier: GPL-2.0-only
/* Volume commands: "create", "rm", "ls", "resize". */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmds.h"
#include "log.h"

static json_t *volume_json(const struct mapd_pool *p,
			   const struct mapd_volume *v,
			   const struct kdev *devs, size_t ndevs)
{
	return json_pack("{s:s, s:s, s:I, s:I, s:i, s:o}",
			 "pool", p->name, "name", v->name,
			 "id", (json_int_t)v->id, "size", (json_int_t)v->size,
			 "obj_order", v->obj_order,
			 "devices", vol_devices_json(devs, ndevs, v->id));
}

static int req_size(json_t *req, uint64_t *size, char *err)
{
	int ret = req_u64(req, "size", true, size, err);

	if (ret)
		return ret;
	if (!valid_volume_size(*size)) {
		snprintf(err, ERRLEN,
			 "size must be a positive multiple of 512 bytes");
		return -EINVAL;
	}
	return 0;
}

int cmd_create(struct mapd *m, json_t *req, json_t *reply, char *err)
{
	struct mapd_pool *p;
	struct mapd_volume *v;
	const char *name;
	uint64_t size;
	json_t *snap;
	int ret;

	if ((ret = req_pool(m, req, true, &p, err)) ||
	    (ret = req_string(req, "name", true, &name, err)) ||
	    (ret = req_size(req, &size, err)))
		return ret;
	if (!valid_name(name)) {
		snprintf(err, ERRLEN,
			 "invalid volume name \"%.64s\": use 1 to %d of A-Z a-z 0-9 . _ -",
			 name, MAPD_NAME_MAX);
		return -EINVAL;
	}
	if (state_volume(p, name)) {
		snprintf(err, ERRLEN, "volume %s/%s already exists", p->name,
			 name);
		return -EEXIST;
	}
	snap = mapd_snapshot(m);
	ret = state_add_volume(&m->st, p, name, size, NULL);
	if (ret) {
		json_decref(snap);
		return ret;
	}
	ret = mapd_commit(m, snap, false, err, ERRLEN);
	if (ret)
		return ret;
	/* Look again: a commit may have reallocated. */
	p = state_pool(&m->st, p->name);
	v = state_volume(p, name);
	log_info("created volume %s/%s, id %llu, %llu bytes", p->name, name,
		 (unsigned long long)v->id, (unsigned long long)size);
	json_object_set_new(reply, "volume", volume_json(p, v, NULL, 0));
	return 0;
}

/* The kernel's devices of volume v, or an error that says why unknown. */
static int volume_devs(struct mapd *m, struct kdev **devs, size_t *n,
		       char *err)
{
	struct kerr kerr;
	int ret = mapd_devices(m, devs, n, &kerr);

	if (ret)
		snprintf(err, ERRLEN, "cannot list mapped devices: %s",
			 kerr.msg);
	return ret;
}

int cmd_rm(struct mapd *m, json_t *req, json_t *reply, char *err)
{
	struct mapd_pool *p;
	struct mapd_volume *v;
	struct kdev *devs;
	char name[MAPD_NAME_MAX + 1];
	size_t n, i;
	json_t *snap;
	int ret;

	(void)reply;
	ret = req_volume(m, req, &p, &v, err);
	if (!ret)
		ret = volume_devs(m, &devs, &n, err);
	if (ret)
		return ret;
	for (i = 0; i < n; i++)
		if (devs[i].volume_id == v->id)
			break;
	if (i < n) {
		snprintf(err, ERRLEN,
			 "volume %s/%s is mapped at /dev/shard%u; unmap it first",
			 p->name, v->name, devs[i].index);
		free(devs);
		return -EBUSY;
	}
	free(devs);
	strcpy(name, v->name);
	snap = mapd_snapshot(m);
	state_del_volume(p, v);
	ret = mapd_commit(m, snap, false, err, ERRLEN);
	if (!ret)
		log_info("removed volume %s/%s", p->name, name);
	return ret;
}

int cmd_ls(struct mapd *m, json_t *req, json_t *reply, char *err)
{
	struct mapd_pool *only;
	struct kdev *devs;
	json_t *vols;
	size_t n, i, k;
	int ret;

	ret = req_pool(m, req, false, &only, err);
	if (!ret)
		ret = volume_devs(m, &devs, &n, err);
	if (ret)
		return ret;
	vols = json_array();
	for (i = 0; i < m->st.npools; i++) {
		struct mapd_pool *p = &m->st.pools[i];

		if (only && only != p)
			continue;
		for (k = 0; k < p->nvols; k++)
			json_array_append_new(vols,
				volume_json(p, &p->vols[k], devs, n));
	}
	free(devs);
	json_object_set_new(reply, "volumes", vols);
	return 0;
}

int cmd_resize(struct mapd *m, json_t *req, json_t *reply, char *err)
{
	struct mapd_pool *p;
	struct mapd_volume *v;
	struct kdev *devs;
	uint64_t size, old;
	struct kerr kerr;
	size_t n, i;
	json_t *snap;
	bool force;
	int ret;

	if ((ret = req_volume(m, req, &p, &v, err)) ||
	    (ret = req_size(req, &size, err)) ||
	    (ret = req_bool(req, "force", &force, err)))
		return ret;
	if (size < v->size && !force) {
		snprintf(err, ERRLEN,
			 "shrinking %s/%s from %llu to %llu bytes loses data; use force",
			 p->name, v->name, (unsigned long long)v->size,
			 (unsigned long long)size);
		return -EINVAL;
	}
	ret = volume_devs(m, &devs, &n, err);
	if (ret)
		return ret;
	old = v->size;
	snap = mapd_snapshot(m);
	v->size = size;
	ret = mapd_commit(m, snap, false, err, ERRLEN);
	if (ret)
		goto out;
	p = state_pool(&m->st, p->name);
	v = state_volume(p, v->name);
	log_info("resized volume %s/%s from %llu to %llu bytes", p->name,
		 v->name, (unsigned long long)old, (unsigned long long)size);
	for (i = 0; i < n; i++) {
		int r;

		if (devs[i].volume_id != v->id)
			continue;
		r = m->kernel.ops->resize_dev(m->kernel.priv, devs[i].index,
					      size, &kerr);
		if (r && !ret) {
			ret = r;
			snprintf(err, ERRLEN,
				 "volume resized, but /dev/shard%u was not: %s",
				 devs[i].index, kerr.msg);
			log_err("%s", err);
		}
	}
	if (!ret)
		json_object_set_new(reply, "volume",
				    volume_json(p, v, devs, n));
out:
	free(devs);
	return ret;
}
