/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Helpers for shard-mapd's unit tests: a temporary state directory, and
 * a fake kernel that records what it is asked.
 */
#ifndef _MAPD_TEST_H
#define _MAPD_TEST_H

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dispatch.h"
#include "log.h"
#include "mapd.h"

static inline char *test_tmpdir(void)
{
	char tmpl[] = "/tmp/mapd-test.XXXXXX";
	char *d = mkdtemp(tmpl);

	return d ? strdup(d) : NULL;
}

static inline void test_rmdir(const char *dir)
{
	char cmd[512];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd))
		fprintf(stderr, "cannot remove %s\n", dir);
}

/* A fake kernel: devices in an array, every call counted. */
struct fake_kernel {
	struct kdev devs[16];
	size_t ndevs;
	uint64_t epoch;		/* the map it was given */
	int set_maps;
	int fail_add;		/* -errno for the next add_dev */
	int fail_remove;
	uint32_t last_resize_index;
	uint64_t last_resize_size;
	bool not_loaded;
};

static int fk_set_map(void *priv, const struct mapd_state *st,
		      struct kerr *err)
{
	struct fake_kernel *fk = priv;

	if (fk->not_loaded) {
		snprintf(err->msg, sizeof(err->msg), "not loaded");
		return -KERNEL_ENOTLOADED;
	}
	if (st->epoch < fk->epoch) {
		snprintf(err->msg, sizeof(err->msg), "stale epoch");
		return -ESTALE;
	}
	fk->epoch = st->epoch;
	fk->set_maps++;
	return 0;
}

static int fk_add_dev(void *priv, const struct kdev_spec *s,
		      uint32_t *index, struct kerr *err)
{
	struct fake_kernel *fk = priv;
	struct kdev *d;
	uint32_t i;

	if (fk->fail_add) {
		int ret = fk->fail_add;

		fk->fail_add = 0;
		snprintf(err->msg, sizeof(err->msg), "kernel: %s",
			 strerror(-ret));
		return ret;
	}
	for (i = 0; ; i++) {	/* lowest free index */
		size_t k;

		for (k = 0; k < fk->ndevs && fk->devs[k].index != i; k++)
			;
		if (k == fk->ndevs)
			break;
	}
	d = &fk->devs[fk->ndevs++];
	memset(d, 0, sizeof(*d));
	d->index = i;
	d->pool_id = s->pool_id;
	d->volume_id = s->volume_id;
	d->size = s->size;
	d->obj_order = s->obj_order;
	d->read_only = s->read_only;
	d->timeout = s->timeout;
	snprintf(d->pool_name, sizeof(d->pool_name), "%s", s->pool_name);
	snprintf(d->volume_name, sizeof(d->volume_name), "%s",
		 s->volume_name);
	*index = i;
	return 0;
}

static struct kdev *fk_find(struct fake_kernel *fk, uint32_t index)
{
	size_t i;

	for (i = 0; i < fk->ndevs; i++)
		if (fk->devs[i].index == index)
			return &fk->devs[i];
	return NULL;
}

static int fk_remove_dev(void *priv, uint32_t index, bool force,
			 struct kerr *err)
{
	struct fake_kernel *fk = priv;
	struct kdev *d = fk_find(fk, index);

	if (!d) {
		snprintf(err->msg, sizeof(err->msg), "kernel: no such device");
		return -ENODEV;
	}
	if (d->open_count && !force) {
		snprintf(err->msg, sizeof(err->msg), "kernel: busy");
		return -EBUSY;
	}
	*d = fk->devs[--fk->ndevs];
	return 0;
}

static int fk_resize_dev(void *priv, uint32_t index, uint64_t size,
			 struct kerr *err)
{
	struct fake_kernel *fk = priv;
	struct kdev *d = fk_find(fk, index);

	if (!d) {
		snprintf(err->msg, sizeof(err->msg), "kernel: no such device");
		return -ENODEV;
	}
	d->size = size;
	fk->last_resize_index = index;
	fk->last_resize_size = size;
	return 0;
}

static int fk_list_devs(void *priv, struct kdev **devs, size_t *n,
			struct kerr *err)
{
	struct fake_kernel *fk = priv;

	if (fk->not_loaded) {
		snprintf(err->msg, sizeof(err->msg), "not loaded");
		return -KERNEL_ENOTLOADED;
	}
	*devs = calloc(fk->ndevs + 1, sizeof(**devs));
	if (!*devs)
		return -ENOMEM;
	memcpy(*devs, fk->devs, fk->ndevs * sizeof(**devs));
	*n = fk->ndevs;
	return 0;
}

static int fk_get_status(void *priv, struct kstatus *ks, struct kerr *err)
{
	struct fake_kernel *fk = priv;

	memset(ks, 0, sizeof(*ks));
	if (fk->not_loaded) {
		snprintf(err->msg, sizeof(err->msg), "not loaded");
		return -KERNEL_ENOTLOADED;
	}
	ks->epoch = fk->epoch;
	ks->daemons = calloc(1, sizeof(*ks->daemons));
	if (!ks->daemons)
		return -ENOMEM;
	ks->daemons[0].id = 1;
	ks->daemons[0].connected = 2;
	ks->ndaemons = 1;
	return 0;
}

static void fk_close(void *priv)
{
	(void)priv;
}

static const struct kernel_ops fake_kernel_ops = {
	.set_map	= fk_set_map,
	.add_dev	= fk_add_dev,
	.remove_dev	= fk_remove_dev,
	.resize_dev	= fk_resize_dev,
	.list_devs	= fk_list_devs,
	.get_status	= fk_get_status,
	.close		= fk_close,
};

/* Sends one request line, returns the parsed reply (never NULL). */
/* st through JSON and back into out (the state file's round trip); 0
 * or -errno with err. */
static inline int state_via_json(const struct mapd_state *st,
				   struct mapd_state *out, char *err,
				   size_t len)
{
	json_t *j = state_to_json(st);
	int ret = j ? state_from_json(out, j, err, len) : -ENOMEM;

	json_decref(j);
	return ret;
}

/*
 * A version 2 state, empty but for the members in text (",\"k\":v,.."),
 * loaded into *out (NULL: freed at once); 0 or -errno with err.
 */
static inline int state_load_members(const char *members,
				     struct mapd_state *out, char *err,
				     size_t len)
{
	static const char head[] =
		"{\"version\":2,\"epoch\":1,\"next_daemon_id\":1,"
		"\"next_pool_id\":2,\"next_volume_id\":1,\"daemons\":[],"
		"\"pools\":[]";
	size_t n = sizeof(head) + strlen(members) + 2;
	struct mapd_state st;
	char *buf = malloc(n);
	json_t *j;
	int ret;

	if (!buf)
		return -ENOMEM;
	snprintf(buf, n, "%s%s}", head, members);
	j = json_loads(buf, 0, NULL);
	free(buf);
	if (!j)
		return -EPROTO;
	err[0] = '\0';
	ret = state_from_json(&st, j, err, len);
	json_decref(j);
	if (!ret && out)
		*out = st;
	else if (!ret)
		state_free(&st);
	return ret;
}

static inline json_t *test_request(struct mapd *m, const char *line)
{
	char *out = mapd_handle_line(m, line, strlen(line));
	json_t *j = out ? json_loads(out, 0, NULL) : NULL;

	free(out);
	return j ? j : json_object();
}

static inline bool reply_ok(json_t *r)
{
	return json_is_true(json_object_get(r, "ok"));
}

/* Registers a daemon at 10.0.0.1 (a new port each) on host, in rack if
 * not NULL, of cap_gib GiB and class; returns its id, 0 on failure. */
static inline uint32_t test_register(struct mapd *m, const char *host,
				     const char *rack, int cap_gib,
				     const char *class)
{
	char line[512];
	json_t *r;
	uint32_t id;

	snprintf(line, sizeof(line),
		 "{\"cmd\":\"daemon-register\",\"addr\":\"10.0.0.1\",\"port\":%d,"
		 "\"capacity\":%llu,\"class\":\"%s\",\"host\":\"%s\"%s%s%s}",
		 7000 + (int)m->st.ndaemons, (unsigned long long)cap_gib << 30,
		 class, host, rack ? ",\"rack\":\"" : "", rack ? rack : "",
		 rack ? "\"" : "");
	r = test_request(m, line);
	id = reply_ok(r) ? json_integer_value(json_object_get(r, "id")) : 0;
	json_decref(r);
	return id;
}

static inline const char *reply_error(json_t *r)
{
	const char *e = json_string_value(json_object_get(r, "error"));

	return e ? e : "";
}

/* Request lines written as JSON in the source. */
#define REQ(...) #__VA_ARGS__

/*
 * Expects an error reply whose reason contains what, or an ok reply.
 * For kselftest_harness tests: they use _metadata.
 */
#define EXPECT_ERROR(m, line, what) do {				\
	json_t *__r = test_request(m, line);				\
	EXPECT_FALSE(reply_ok(__r)) TH_LOG("%s", line);			\
	EXPECT_NE(NULL, strstr(reply_error(__r), what))			\
		TH_LOG("%s -> \"%s\"", line, reply_error(__r));		\
	json_decref(__r);						\
} while (0)

#define EXPECT_OK(m, line) do {						\
	json_t *__r = test_request(m, line);				\
	EXPECT_TRUE(reply_ok(__r))					\
		TH_LOG("%s -> \"%s\"", line, reply_error(__r));		\
	json_decref(__r);						\
} while (0)

/*
 * The fixture of the tests that drive one in-process mapd on a fake
 * kernel, with its state file in a temporary directory: fields dir,
 * path, m and fk. For kselftest_harness tests.
 */
#define MAPD_FIXTURE(name)						\
FIXTURE(name) {								\
	char *dir;							\
	char path[256];							\
	struct mapd m;							\
	struct fake_kernel fk;						\
};									\
									\
FIXTURE_SETUP(name)							\
{									\
	log_init(false, true);						\
	self->dir = test_tmpdir();					\
	ASSERT_NE(NULL, self->dir);					\
	snprintf(self->path, sizeof(self->path), "%s/state.json",	\
		 self->dir);						\
	memset(&self->m, 0, sizeof(self->m));				\
	memset(&self->fk, 0, sizeof(self->fk));				\
	ASSERT_EQ(0, mapd_init(&self->m, self->path));			\
	self->m.kernel.ops = &fake_kernel_ops;				\
	self->m.kernel.priv = &self->fk;				\
}									\
									\
FIXTURE_TEARDOWN(name)							\
{									\
	mapd_fini(&self->m);						\
	test_rmdir(self->dir);						\
	free(self->dir);						\
}

#endif /* _MAPD_TEST_H */
