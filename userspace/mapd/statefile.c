// SPDX-License-Identifier: GPL-2.0-only
/*
 * The state file: JSON, replaced atomically (tmp file, fsync, rename,
 * fsync of the directory). A file that is there but cannot be read or
 * parsed is an error, never a reason to start afresh.
 */
#include <linux/shard.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "state.h"

/* Ids as the file has them: 0 for an empty slot. */
static json_t *ids_to_json(const uint32_t *ids, size_t n)
{
	json_t *t = json_array();
	size_t k;

	for (k = 0; k < n; k++)
		json_array_append_new(t, json_integer(
			ids[k] == SHARD_DAEMON_NONE ? 0 : ids[k]));
	return t;
}

json_t *state_blocklist_json(const struct mapd_state *st)
{
	json_t *a = json_array();
	size_t i;

	for (i = 0; a && i < st->nblocklist; i++)
		if (json_array_append_new(a, json_string(st->blocklist[i]))) {
			json_decref(a);
			return NULL;
		}
	return a;
}

/* [{"addr", "host", "boot_id", "at"}] of the automatic fences; NULL: ENOMEM. */
static json_t *fences_json(const struct mapd_state *st)
{
	json_t *a = json_array();
	size_t i;

	for (i = 0; a && i < st->nblocklist; i++) {
		const struct mapd_fence *f = &st->fences[i];

		if (f->host[0] &&
		    json_array_append_new(a, json_pack("{s:s, s:s, s:s, s:I}",
				"addr", st->blocklist[i], "host", f->host,
				"boot_id", f->boot_id, "at", (json_int_t)f->at))) {
			json_decref(a);
			return NULL;
		}
	}
	return a;
}

/* [{"host", "rev"}] of the deaths the leader acted on; NULL: ENOMEM. */
static json_t *deaths_json(const struct mapd_state *st)
{
	json_t *a = json_array();
	size_t i;

	for (i = 0; a && i < st->ndeaths; i++)
		if (json_array_append_new(a, json_pack("{s:s, s:I}",
				"host", st->deaths[i].host,
				"rev", (json_int_t)st->deaths[i].rev))) {
			json_decref(a);
			return NULL;
		}
	return a;
}

json_t *state_to_json(const struct mapd_state *st)
{
	json_t *root, *daemons, *pools;
	size_t i, k;

	daemons = json_array();
	pools = json_array();
	for (i = 0; i < st->ndaemons; i++) {
		const struct mapd_daemon *d = &st->daemons[i];

		json_t *o = json_pack(
			"{s:I, s:s, s:s, s:I, s:I, s:s, s:b, s:b}",
			"id", (json_int_t)d->id, "host", d->host,
			"addr", d->addr, "port", (json_int_t)d->port,
			"capacity", (json_int_t)d->capacity,
			"class", d->class, "up", d->up, "in", d->in);

		if (d->rack[0])
			json_object_set_new(o, "rack", json_string(d->rack));
		if (d->site[0])
			json_object_set_new(o, "site", json_string(d->site));
		if (d->uuid[0])
			json_object_set_new(o, "uuid", json_string(d->uuid));
		json_array_append_new(daemons, o);
	}
	for (i = 0; i < st->npools; i++) {
		const struct mapd_pool *p = &st->pools[i];
		json_t *vols = json_array();

		for (k = 0; k < p->nvols; k++) {
			const struct mapd_volume *v = &p->vols[k];

			json_array_append_new(vols, json_pack(
				"{s:I, s:s, s:I, s:i}",
				"id", (json_int_t)v->id, "name", v->name,
				"size", (json_int_t)v->size,
				"obj_order", v->obj_order));
		}
		json_t *o = json_pack(
			"{s:I, s:s, s:I, s:I, s:I, s:s, s:o}",
			"id", (json_int_t)p->id, "name", p->name,
			"size", (json_int_t)p->size,
			"min_size", (json_int_t)p->min_size,
			"pg_count", (json_int_t)p->pg_count,
			"failure_domain", domain_level_name(p->domain),
			"volumes", vols);

		if (p->class[0])
			json_object_set_new(o, "class", json_string(p->class));
		if (p->table)
			json_object_set_new(o, "table", ids_to_json(p->table,
				(size_t)p->pg_count * p->size));
		if (p->acting)
			json_object_set_new(o, "acting", ids_to_json(p->acting,
				(size_t)p->pg_count * p->size));
		json_array_append_new(pools, o);
	}
	root = json_pack("{s:i, s:I, s:I, s:I, s:I, s:o, s:o}",
			 "version", MAPD_STATE_VERSION,
			 "epoch", (json_int_t)st->epoch,
			 "next_daemon_id", (json_int_t)st->next_daemon_id,
			 "next_pool_id", (json_int_t)st->next_pool_id,
			 "next_volume_id", (json_int_t)st->next_volume_id,
			 "daemons", daemons, "pools", pools);
	/* Absent when empty: files without it are the common case. */
	if (root && st->nblocklist &&
	    json_object_set_new(root, "blocklist", state_blocklist_json(st))) {
		json_decref(root);
		return NULL;
	}
	/* Which of them fence a dead host; absent when none does. */
	if (root) {
		json_t *f = fences_json(st);

		if (!f || (json_array_size(f) &&
			   json_object_set(root, "fences", f))) {
			json_decref(f);
			json_decref(root);
			return NULL;
		}
		json_decref(f);
	}
	if (root && st->auto_fence_off &&
	    json_object_set_new(root, "auto_fence", json_false())) {
		json_decref(root);
		return NULL;
	}
	if (root && st->ndeaths &&
	    json_object_set_new(root, "deaths", deaths_json(st))) {
		json_decref(root);
		return NULL;
	}
	/* Absent: each daemon its own. */
	if (root && st->recovery_share &&
	    json_object_set_new(root, "recovery_share",
				json_integer(st->recovery_share))) {
		json_decref(root);
		return NULL;
	}
	return root;
}

static int bad(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

static bool in_range(json_int_t v, json_int_t lo, json_int_t hi)
{
	return v >= lo && v <= hi;
}

static int daemon_from_json(struct mapd_state *st, size_t i, json_t *j,
			    char *err, size_t errlen)
{
	const char *host, *addr, *class, *rack = "", *site = "", *uuid = "";
	json_int_t id, port, cap;
	struct mapd_daemon d = { 0 };
	json_error_t je;
	int up, in = 1;

	if (json_unpack_ex(j, &je, 0,
			   "{s:I, s:s, s:s, s:I, s:I, s:s, s:b, s?b, s?s, s?s, s?s}",
			   "id", &id, "host", &host, "addr", &addr,
			   "port", &port, "capacity", &cap, "class", &class,
			   "up", &up, "in", &in, "rack", &rack, "site", &site,
			   "uuid", &uuid))
		return bad(err, errlen, "daemons[%zu]: %s", i, je.text);
	if (!in_range(id, 1, SHARD_MAX_DAEMON_ID - 1) ||
	    !in_range(port, 1, 65535) || cap < 0 || !valid_class(class) ||
	    strlen(host) > MAPD_HOST_MAX || strlen(addr) >= MAPD_ADDR_MAX ||
	    (rack[0] && !valid_name(rack)) || (site[0] && !valid_name(site)) ||
	    (uuid[0] && !valid_uuid(uuid)))
		return bad(err, errlen, "daemons[%zu]: value out of range", i);
	if (state_daemon(st, id))
		return bad(err, errlen, "daemons[%zu]: duplicate id %lld",
			   i, (long long)id);
	if (uuid[0] && state_daemon_by_uuid(st, uuid))
		return bad(err, errlen, "daemons[%zu]: duplicate uuid %s",
			   i, uuid);
	d.id = id;
	strcpy(d.host, host);
	strcpy(d.addr, addr);
	d.port = port;
	d.capacity = cap;
	strcpy(d.class, class);
	strcpy(d.rack, rack);
	strcpy(d.site, site);
	strcpy(d.uuid, uuid);
	d.up = up;
	d.in = in;
	return state_add_daemon(st, &d, NULL);
}

static int volume_from_json(struct mapd_state *st, struct mapd_pool *p,
			    size_t pi, size_t i, json_t *j,
			    char *err, size_t errlen)
{
	json_int_t id, size, order;
	struct mapd_volume *v;
	const char *name;
	json_error_t je;
	size_t k;

	if (json_unpack_ex(j, &je, 0, "{s:I, s:s, s:I, s:I}", "id", &id,
			   "name", &name, "size", &size, "obj_order", &order))
		return bad(err, errlen, "pools[%zu].volumes[%zu]: %s",
			   pi, i, je.text);
	if (id < 1 || !valid_name(name) || !valid_volume_size(size) ||
	    !in_range(order, SHARD_MIN_OBJ_ORDER, SHARD_MAX_OBJ_ORDER))
		return bad(err, errlen,
			   "pools[%zu].volumes[%zu]: value out of range",
			   pi, i);
	if (state_volume(p, name))
		return bad(err, errlen, "pools[%zu]: duplicate volume %s",
			   pi, name);
	for (k = 0; k < st->npools; k++) {
		size_t m;

		for (m = 0; m < st->pools[k].nvols; m++)
			if (st->pools[k].vols[m].id == (uint64_t)id)
				return bad(err, errlen,
					   "duplicate volume id %lld",
					   (long long)id);
	}
	if ((uint64_t)id >= st->next_volume_id)
		return bad(err, errlen, "volume id %lld >= next_volume_id",
			   (long long)id);
	v = realloc(p->vols, (p->nvols + 1) * sizeof(*v));
	if (!v)
		return -ENOMEM;
	p->vols = v;
	v = &p->vols[p->nvols++];
	memset(v, 0, sizeof(*v));
	v->id = id;
	strcpy(v->name, name);
	v->size = size;
	v->obj_order = order;
	return 0;
}

/* Ids in the file: 0 for an empty slot, else a daemon of this state. */
static int table_from_json(struct mapd_state *st, struct mapd_pool *p,
			   size_t pi, json_t *table, uint32_t **out,
			   const char *what, char *err, size_t errlen)
{
	size_t n = json_array_size(table), k, m;
	uint32_t *t;
	json_t *e;

	if (!json_is_array(table) || n != (size_t)p->pg_count * p->size)
		return bad(err, errlen, "pools[%zu]: %s is not %zu ids", pi,
			   what, (size_t)p->pg_count * p->size);
	t = *out = malloc(n * sizeof(*t) + 1);
	if (!t)
		return -ENOMEM;
	json_array_foreach(table, k, e) {
		json_int_t id = json_integer_value(e);

		if (!json_is_integer(e) || (id && !state_daemon(st, id)))
			return bad(err, errlen,
				   "pools[%zu].%s[%zu]: not a daemon", pi,
				   what, k);
		t[k] = id ? id : SHARD_DAEMON_NONE;
		for (m = k - k % p->size; m < k; m++)
			if (id && t[m] == (uint32_t)id)
				return bad(err, errlen,
					   "pools[%zu].%s[%zu]: daemon %lld twice in a PG",
					   pi, what, k, (long long)id);
	}
	return 0;
}

static int pool_from_json(struct mapd_state *st, size_t i, json_t *j,
			  char *err, size_t errlen)
{
	const char *name, *class = "", *fd = "host";
	json_int_t id, size, pgs, min_size = 0;
	json_t *vols, *v, *table = NULL, *acting = NULL;
	enum mapd_domain_level level;
	struct mapd_pool *p;
	json_error_t je;
	size_t k;
	int ret;

	if (json_unpack_ex(j, &je, 0,
			   "{s:I, s:s, s:I, s:I, s:o, s?I, s?s, s?s, s?o, s?o}",
			   "id", &id, "name", &name, "size", &size,
			   "pg_count", &pgs, "volumes", &vols,
			   "min_size", &min_size, "class", &class,
			   "failure_domain", &fd, "table", &table,
			   "acting", &acting))
		return bad(err, errlen, "pools[%zu]: %s", i, je.text);
	if (!min_size)
		min_size = size;
	if (!in_range(id, 1, UINT32_MAX) || !valid_name(name) ||
	    !in_range(size, 1, SHARD_MAX_WIDTH) ||
	    !in_range(min_size, 1, size) ||
	    (class[0] && !valid_class(class)) ||
	    domain_level_parse(fd, &level) ||
	    !in_range(pgs, 1, SHARD_MAX_PGS) || !json_is_array(vols))
		return bad(err, errlen, "pools[%zu]: value out of range", i);
	if (state_pool(st, name) || state_pool_by_id(st, id))
		return bad(err, errlen, "pools[%zu]: duplicate pool", i);
	if ((uint64_t)id >= st->next_pool_id)
		return bad(err, errlen, "pools[%zu]: id >= next_pool_id", i);
	p = realloc(st->pools, (st->npools + 1) * sizeof(*p));
	if (!p)
		return -ENOMEM;
	st->pools = p;
	p = &st->pools[st->npools++];
	memset(p, 0, sizeof(*p));
	p->id = id;
	strcpy(p->name, name);
	p->size = size;
	p->min_size = min_size;
	p->pg_count = pgs;
	p->domain = level;
	strcpy(p->class, class);
	if (table) {
		ret = table_from_json(st, p, i, table, &p->table, "table",
				      err, errlen);
		if (ret)
			return ret;
	}
	if (acting) {
		ret = table_from_json(st, p, i, acting, &p->acting, "acting",
				      err, errlen);
		if (ret)
			return ret;
	}
	json_array_foreach(vols, k, v) {
		ret = volume_from_json(st, p, i, k, v, err, errlen);
		if (ret)
			return ret;
	}
	return 0;
}

/* Numeric addresses, normalized as they are stored; order is ours. */
static int blocklist_from_json(struct mapd_state *st, json_t *bl,
			       char *err, size_t errlen)
{
	char addr[MAPD_ADDR_MAX];
	json_t *e;
	size_t i;
	int ret;

	if (!json_is_array(bl))
		return bad(err, errlen, "blocklist: not an array");
	if (json_array_size(bl) > MAPD_BLOCKLIST_MAX)
		return bad(err, errlen, "blocklist: more than %d addresses",
			   MAPD_BLOCKLIST_MAX);
	json_array_foreach(bl, i, e) {
		if (!json_is_string(e) ||
		    addr_normalize(json_string_value(e), addr))
			return bad(err, errlen,
				   "blocklist[%zu]: not a numeric IPv4 or IPv6 address",
				   i);
		ret = state_blocklist_add(st, addr);
		if (ret == -EEXIST)
			return bad(err, errlen,
				   "blocklist[%zu]: duplicate address %s",
				   i, addr);
		if (ret)
			return ret;
	}
	return 0;
}

/* The automatic fences among the blocklist's addresses. */
static int fences_from_json(struct mapd_state *st, json_t *fences,
			    char *err, size_t errlen)
{
	const char *addr, *host, *boot_id;
	char norm[MAPD_ADDR_MAX];
	struct mapd_fence *f;
	json_error_t je;
	json_int_t at;
	json_t *e;
	size_t i;

	if (!json_is_array(fences))
		return bad(err, errlen, "fences: not an array");
	json_array_foreach(fences, i, e) {
		if (json_unpack_ex(e, &je, 0, "{s:s, s:s, s:s, s:I}",
				   "addr", &addr, "host", &host,
				   "boot_id", &boot_id, "at", &at))
			return bad(err, errlen, "fences[%zu]: %s", i, je.text);
		if (addr_normalize(addr, norm) || !valid_name(host) ||
		    (boot_id[0] && !valid_name(boot_id)) || at < 0)
			return bad(err, errlen,
				   "fences[%zu]: value out of range", i);
		f = state_blocklist_why(st, norm);
		if (!f)
			return bad(err, errlen,
				   "fences[%zu]: %s is not blocklisted", i,
				   norm);
		if (f->host[0])
			return bad(err, errlen,
				   "fences[%zu]: duplicate address %s", i,
				   norm);
		snprintf(f->host, sizeof(f->host), "%s", host);
		snprintf(f->boot_id, sizeof(f->boot_id), "%s", boot_id);
		f->at = at;
	}
	return 0;
}

static int deaths_from_json(struct mapd_state *st, json_t *deaths,
			    char *err, size_t errlen)
{
	const char *host;
	json_error_t je;
	json_int_t rev;
	json_t *e;
	size_t i;
	int ret;

	if (!json_is_array(deaths))
		return bad(err, errlen, "deaths: not an array");
	if (json_array_size(deaths) > MAPD_DEATHS_MAX)
		return bad(err, errlen, "deaths: more than %d",
			   MAPD_DEATHS_MAX);
	json_array_foreach(deaths, i, e) {
		if (json_unpack_ex(e, &je, 0, "{s:s, s:I}", "host", &host,
				   "rev", &rev))
			return bad(err, errlen, "deaths[%zu]: %s", i, je.text);
		if (!valid_name(host) || rev < 1)
			return bad(err, errlen,
				   "deaths[%zu]: value out of range", i);
		ret = state_death_note(st, host, rev);
		if (ret)
			return ret;
		/* A host seen before is replaced, not added. */
		if (st->ndeaths != i + 1)
			return bad(err, errlen,
				   "deaths[%zu]: duplicate host %s", i, host);
	}
	return 0;
}

/* 1..100: the share of the time the daemons give backfill (%). */
static int recovery_share_from_json(struct mapd_state *st, json_t *share,
				    char *err, size_t errlen)
{
	json_int_t v;

	if (!json_is_integer(share))
		return bad(err, errlen, "recovery_share: not an integer");
	v = json_integer_value(share);
	if (!in_range(v, 1, 100))
		return bad(err, errlen,
			   "recovery_share: %lld is out of range (1..100)",
			   (long long)v);
	st->recovery_share = v;
	return 0;
}

int state_from_json(struct mapd_state *st, const json_t *j,
		    char *err, size_t errlen)
{
	json_int_t version, epoch, ndid, npid, nvid;
	json_t *daemons, *pools, *e, *blocklist = NULL, *fences = NULL;
	json_t *deaths = NULL, *share = NULL;
	int auto_fence = 1;
	json_error_t je;
	size_t i;
	int ret;

	memset(st, 0, sizeof(*st));
	if (json_unpack_ex((json_t *)j, &je, 0,
			   "{s:I, s:I, s:I, s:I, s:I, s:o, s:o, s?o, s?o, s?b, s?o, s?o}",
			   "version", &version, "epoch", &epoch,
			   "next_daemon_id", &ndid, "next_pool_id", &npid,
			   "next_volume_id", &nvid,
			   "daemons", &daemons, "pools", &pools,
			   "blocklist", &blocklist, "fences", &fences,
			   "auto_fence", &auto_fence, "deaths", &deaths,
			   "recovery_share", &share))
		return bad(err, errlen, "%s", je.text);
	if (version != 1 && version != MAPD_STATE_VERSION)
		return bad(err, errlen, "unsupported version %lld",
			   (long long)version);
	if (epoch < 1 || !in_range(ndid, 1, SHARD_MAX_DAEMON_ID) ||
	    !in_range(npid, 2, UINT32_MAX) || nvid < 1 ||
	    !json_is_array(daemons) || !json_is_array(pools))
		return bad(err, errlen, "header value out of range");
	st->epoch = epoch;
	st->next_pool_id = npid;
	st->next_volume_id = nvid;
	st->next_daemon_id = 1;
	ret = 0;
	json_array_foreach(daemons, i, e) {
		ret = daemon_from_json(st, i, e, err, errlen);
		if (ret)
			goto fail;
	}
	if (st->next_daemon_id > ndid) {
		ret = bad(err, errlen, "daemon id >= next_daemon_id");
		goto fail;
	}
	st->next_daemon_id = ndid;
	json_array_foreach(pools, i, e) {
		ret = pool_from_json(st, i, e, err, errlen);
		if (ret)
			goto fail;
	}
	if (blocklist) {
		ret = blocklist_from_json(st, blocklist, err, errlen);
		if (ret)
			goto fail;
	}
	if (fences) {
		ret = fences_from_json(st, fences, err, errlen);
		if (ret)
			goto fail;
	}
	if (deaths) {
		ret = deaths_from_json(st, deaths, err, errlen);
		if (ret)
			goto fail;
	}
	if (share) {
		ret = recovery_share_from_json(st, share, err, errlen);
		if (ret)
			goto fail;
	}
	st->auto_fence_off = !auto_fence;
	return 0;
fail:
	if (ret == -ENOMEM)
		snprintf(err, errlen, "out of memory");
	state_free(st);
	return ret;
}

int mapd_read_json(const char *path, json_t **out, char *err, size_t errlen)
{
	json_error_t je;
	int fd, ret;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		ret = -errno;
		snprintf(err, errlen, "%s: %s", path, strerror(-ret));
		return ret;
	}
	*out = json_loadfd(fd, JSON_REJECT_DUPLICATES, &je);
	close(fd);
	if (!*out) {
		snprintf(err, errlen, "%s: line %d: %s", path, je.line,
			 je.text);
		return -EINVAL;
	}
	return 0;
}

int state_load(struct mapd_state *st, const char *path,
	       char *err, size_t errlen)
{
	json_t *j;
	int ret;

	ret = mapd_read_json(path, &j, err, errlen);
	if (ret)
		return ret;
	ret = state_from_json(st, j, err, errlen);
	json_decref(j);
	if (ret) {
		char msg[256];

		snprintf(msg, sizeof(msg), "%s", err);
		snprintf(err, errlen, "%s: %s", path, msg);
	}
	return ret;
}

static int fsync_dir_of(const char *path)
{
	char *copy = strdup(path);
	int fd, ret = 0;

	if (!copy)
		return -ENOMEM;
	fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	free(copy);
	if (fd < 0)
		return -errno;
	if (fsync(fd) < 0)
		ret = -errno;
	close(fd);
	return ret;
}

int state_save(const struct mapd_state *st, const char *path)
{
	json_t *j = state_to_json(st);
	int ret = j ? json_save_atomic(j, path) : -ENOMEM;

	json_decref(j);
	return ret;
}

int json_save_atomic(const json_t *j, const char *path)
{
	char *tmp = NULL, *buf;
	int fd = -1, ret;
	size_t len;

	buf = json_dumps(j, JSON_INDENT(1) | JSON_SORT_KEYS);
	if (!buf || asprintf(&tmp, "%s.tmp", path) < 0) {
		tmp = NULL;
		ret = -ENOMEM;
		goto out;
	}
	len = strlen(buf);
	buf[len++] = '\n';	/* replaces the NUL: write len bytes */
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0) {
		ret = -errno;
		goto out;
	}
	for (size_t off = 0; off < len;) {
		ssize_t n = write(fd, buf + off, len - off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			ret = -errno;
			goto out_unlink;
		}
		off += n;
	}
	if (fsync(fd) < 0) {
		ret = -errno;
		goto out_unlink;
	}
	if (close(fd) < 0) {
		fd = -1;
		ret = -errno;
		goto out_unlink;
	}
	fd = -1;
	if (rename(tmp, path) < 0) {
		ret = -errno;
		goto out_unlink;
	}
	ret = fsync_dir_of(path);
	goto out;
out_unlink:
	unlink(tmp);
out:
	if (fd >= 0)
		close(fd);
	free(tmp);
	free(buf);
	return ret;
}
