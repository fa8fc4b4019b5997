// SPDX-License-Identifier: GPL-2.0-only
/* cluster.json: see cluster_conf.h. */
#include <errno.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>

#include "cluster_conf.h"
#include "state.h"

char *cluster_conf_path(const char *state_path)
{
	char *copy = strdup(state_path), *out;

	if (!copy)
		return NULL;
	if (asprintf(&out, "%s/cluster.json", dirname(copy)) < 0)
		out = NULL;
	free(copy);
	return out;
}

void cluster_conf_free(struct mapd_cluster_conf *c)
{
	free(c->endpoints);
	free(c->name);
	free(c->self);
	memset(c, 0, sizeof(*c));
}

int cluster_conf_load(const char *path, struct mapd_cluster_conf *c,
		      char *err, size_t errlen)
{
	const char *endpoints, *name, *self;
	json_error_t je;
	json_t *j;
	int ret;

	memset(c, 0, sizeof(*c));
	ret = mapd_read_json(path, &j, err, errlen);
	if (ret)
		return ret;
	if (json_unpack_ex(j, &je, 0, "{s:s, s:s, s:s}", "etcd", &endpoints,
			   "cluster", &name, "name", &self)) {
		snprintf(err, errlen, "%s: %s", path, je.text);
		json_decref(j);
		return -EINVAL;
	}
	if (!endpoints[0] || !valid_name(name) || !valid_name(self)) {
		snprintf(err, errlen,
			 "%s: \"etcd\" must not be empty; \"cluster\" and \"name\" must match [A-Za-z0-9._-]{1,64}",
			 path);
		json_decref(j);
		return -EINVAL;
	}
	c->endpoints = strdup(endpoints);
	c->name = strdup(name);
	c->self = strdup(self);
	json_decref(j);
	if (!c->endpoints || !c->name || !c->self) {
		cluster_conf_free(c);
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	return 0;
}

int cluster_conf_save(const char *path, const struct mapd_cluster_conf *c)
{
	json_t *j = json_pack("{s:s, s:s, s:s}", "etcd", c->endpoints,
			      "cluster", c->name, "name", c->self);
	int ret = j ? json_save_atomic(j, path) : -ENOMEM;

	json_decref(j);
	return ret;
}
