// SPDX-License-Identifier: GPL-2.0-only
/* Reading the fields of a request, with one-line reasons for bad ones. */
#include <errno.h>
#include <stdio.h>

#include "cmds.h"

static json_t *field(json_t *req, const char *key, bool required,
		     char *err, int *ret)
{
	json_t *v = json_object_get(req, key);

	*ret = 0;
	if ((!v || json_is_null(v)) && required) {
		snprintf(err, ERRLEN, "missing field \"%s\"", key);
		*ret = -EINVAL;
	}
	return json_is_null(v) ? NULL : v;
}

int req_string(json_t *req, const char *key, bool required,
	       const char **out, char *err)
{
	int ret;
	json_t *v = field(req, key, required, err, &ret);

	*out = NULL;
	if (ret || !v)
		return ret;
	if (!json_is_string(v)) {
		snprintf(err, ERRLEN, "field \"%s\" must be a string", key);
		return -EINVAL;
	}
	*out = json_string_value(v);
	return 0;
}

int req_u64(json_t *req, const char *key, bool required, uint64_t *out,
	    char *err)
{
	int ret;
	json_t *v = field(req, key, required, err, &ret);

	if (ret || !v)
		return ret;
	if (!json_is_integer(v) || json_integer_value(v) < 0) {
		snprintf(err, ERRLEN,
			 "field \"%s\" must be a non-negative integer", key);
		return -EINVAL;
	}
	*out = json_integer_value(v);
	return 0;
}

int req_bool(json_t *req, const char *key, bool *out, char *err)
{
	int ret;
	json_t *v = field(req, key, false, err, &ret);

	*out = false;
	if (!v)
		return 0;
	if (!json_is_boolean(v)) {
		snprintf(err, ERRLEN, "field \"%s\" must be true or false",
			 key);
		return -EINVAL;
	}
	*out = json_is_true(v);
	return 0;
}

int req_pool(struct mapd *m, json_t *req, bool required,
	     struct mapd_pool **pool, char *err)
{
	const char *name;
	int ret;

	*pool = NULL;
	ret = req_string(req, "pool", required, &name, err);
	if (ret || !name)
		return ret;
	*pool = state_pool(&m->st, name);
	if (!*pool) {
		snprintf(err, ERRLEN, "no pool named \"%.64s\"", name);
		return -ENOENT;
	}
	return 0;
}

int req_volume(struct mapd *m, json_t *req, struct mapd_pool **pool,
	       struct mapd_volume **vol, char *err)
{
	const char *name;
	int ret;

	ret = req_pool(m, req, true, pool, err);
	if (!ret)
		ret = req_string(req, "name", true, &name, err);
	if (ret)
		return ret;
	*vol = state_volume(*pool, name);
	if (!*vol) {
		snprintf(err, ERRLEN, "no volume %s/%.64s", (*pool)->name,
			 name);
		return -ENOENT;
	}
	return 0;
}

json_t *dev_path_json(uint32_t index)
{
	char path[32];

	snprintf(path, sizeof(path), "/dev/shard%u", index);
	return json_string(path);
}

json_t *vol_devices_json(const struct kdev *devs, size_t n, uint64_t id)
{
	json_t *a = json_array();
	size_t i;

	for (i = 0; i < n; i++)
		if (devs[i].volume_id == id)
			json_array_append_new(a, dev_path_json(devs[i].index));
	return a;
}
