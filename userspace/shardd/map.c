// SPDX-License-Identifier: GPL-2.0-only
/*
 * The map arrives as JSON from shard-mapd (map-get in
 * Documentation/mapd-protocol.md): anything that does not fit the format
 * exactly is refused, so that the data path can use the result without
 * further checks.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <endian.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <shard/pg.h>

#include "b64.h"
#include "map.h"

static int bad(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int bad(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

static int oom(char *err, size_t errlen, const char *where)
{
	snprintf(err, errlen, "%s: out of memory", where);
	return -ENOMEM;
}

/* obj[key] as an integer in [min, max]. -ENOENT when absent and not
 * required, -EINVAL for a wrong type or range. */
static int get_uint(const json_t *obj, const char *key, uint64_t min,
		    uint64_t max, bool required, uint64_t *out)
{
	json_t *v = json_object_get(obj, key);
	json_int_t n;

	if (!v)
		return required ? -EINVAL : -ENOENT;
	if (!json_is_integer(v))
		return -EINVAL;
	n = json_integer_value(v);
	if (n < 0 || (uint64_t)n < min || (uint64_t)n > max)
		return -EINVAL;
	*out = (uint64_t)n;
	return 0;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

static int cmp_pool(const void *a, const void *b)
{
	return cmp_u32(&((const struct shard_map_pool *)a)->id,
		       &((const struct shard_map_pool *)b)->id);
}

static int cmp_daemon(const void *a, const void *b)
{
	return cmp_u32(&((const struct shard_map_daemon *)a)->id,
		       &((const struct shard_map_daemon *)b)->id);
}

const struct shard_map_daemon *shard_map_daemon(const struct shard_map *map,
						uint32_t id)
{
	struct shard_map_daemon key = { .id = id };

	return bsearch(&key, map->daemons, map->nr_daemons,
		       sizeof(*map->daemons), cmp_daemon);
}

static bool has_daemon(const struct shard_map *map, uint32_t id)
{
	return shard_map_daemon(map, id) != NULL;
}

static int parse_daemons(struct shard_map *map, const json_t *arr, char *err,
			 size_t errlen)
{
	size_t i, n;

	if (!json_is_array(arr))
		return bad(err, errlen, "daemons: missing or not an array");
	n = json_array_size(arr);
	map->daemons = calloc(n ? n : 1, sizeof(*map->daemons));
	if (!map->daemons)
		return oom(err, errlen, "daemons");
	for (i = 0; i < n; i++) {
		const json_t *d = json_array_get(arr, i);
		const json_t *addr, *up;
		uint64_t id, port;
		int ret;

		if (!json_is_object(d))
			return bad(err, errlen, "daemons[%zu]: not an object",
				   i);
		/* SHARD_MAP_NONE marks empty table slots: not an id. */
		if (get_uint(d, "id", 1, SHARD_MAP_NONE - 1, true, &id))
			return bad(err, errlen, "daemons[%zu].id: missing, "
				   "not an integer or out of range", i);
		addr = json_object_get(d, "addr");
		if (addr && (!json_is_string(addr) ||
			     json_string_length(addr) >= SHARD_MAP_ADDR_MAX))
			return bad(err, errlen, "daemons[%zu].addr: not a "
				   "string of an address", i);
		ret = get_uint(d, "port", 0, 65535, false, &port);
		if (ret && ret != -ENOENT)
			return bad(err, errlen, "daemons[%zu].port: not an "
				   "integer 0..65535", i);
		up = json_object_get(d, "up");
		if (up && !json_is_boolean(up))
			return bad(err, errlen, "daemons[%zu].up: not a "
				   "boolean", i);
		map->daemons[i].id = (uint32_t)id;
		map->daemons[i].port = ret ? 0 : (uint16_t)port;
		if (addr)
			strcpy(map->daemons[i].addr, json_string_value(addr));
	}
	map->nr_daemons = n;
	qsort(map->daemons, n, sizeof(*map->daemons), cmp_daemon);
	for (i = 1; i < n; i++)
		if (map->daemons[i].id == map->daemons[i - 1].id)
			return bad(err, errlen, "daemons: id %" PRIu32
				   " listed twice", map->daemons[i].id);
	return 0;
}

static int parse_table(struct shard_map *map, struct shard_map_pool *p,
		       const json_t *s, size_t pi, char *err, size_t errlen)
{
	size_t want = (size_t)p->pg_count * p->width * 4, got, i;
	unsigned char *raw;
	int ret;

	if (!json_is_string(s))
		return bad(err, errlen, "pools[%zu].table: missing or not a "
			   "string", pi);
	ret = b64_decode(json_string_value(s), json_string_length(s), &raw,
			 &got);
	if (ret == -ENOMEM)
		return oom(err, errlen, "pool table");
	if (ret)
		return bad(err, errlen, "pools[%zu].table: not base64", pi);
	if (got != want) {
		free(raw);
		return bad(err, errlen, "pools[%zu].table: %zu bytes, "
			   "pg_count %" PRIu32 " x width %" PRIu32 " needs %zu",
			   pi, got, p->pg_count, p->width, want);
	}
	p->table = malloc(want);
	if (!p->table) {
		free(raw);
		return oom(err, errlen, "pool table");
	}
	for (i = 0; i < want / 4; i++) {
		uint32_t le, id;

		memcpy(&le, raw + i * 4, 4);
		id = le32toh(le);
		if (id != SHARD_MAP_NONE && !has_daemon(map, id)) {
			free(raw);
			return bad(err, errlen, "pools[%zu].table: PG %zu "
				   "member %zu is daemon %" PRIu32 ", not in "
				   "the map", pi, i / p->width, i % p->width,
				   id);
		}
		p->table[i] = id;
	}
	free(raw);
	return 0;
}

/* A numeric address as an in6_addr, IPv4 as v4-mapped; -EINVAL. */
static int addr_parse(const char *s, struct in6_addr *out)
{
	struct in_addr v4;

	if (inet_pton(AF_INET6, s, out) == 1)
		return 0;
	if (inet_pton(AF_INET, s, &v4) != 1)
		return -EINVAL;
	memset(out, 0, sizeof(*out));
	out->s6_addr[10] = out->s6_addr[11] = 0xff;
	memcpy(&out->s6_addr[12], &v4, 4);
	return 0;
}

static int cmp_in6(const void *a, const void *b)
{
	return memcmp(a, b, sizeof(struct in6_addr));
}

/* "blocklist" is optional (maps from before it have none). */
static int parse_blocklist(struct shard_map *map, const json_t *arr,
			   char *err, size_t errlen)
{
	size_t i, n;

	if (!arr)
		return 0;
	if (!json_is_array(arr) ||
	    json_array_size(arr) > SHARD_MAP_BLOCKLIST_MAX)
		return bad(err, errlen, "blocklist: not an array of at most "
			   "%u addresses", SHARD_MAP_BLOCKLIST_MAX);
	n = json_array_size(arr);
	map->blocked = calloc(n ? n : 1, sizeof(*map->blocked));
	if (!map->blocked)
		return oom(err, errlen, "blocklist");
	for (i = 0; i < n; i++) {
		const json_t *a = json_array_get(arr, i);

		if (!json_is_string(a) ||
		    addr_parse(json_string_value(a), &map->blocked[i]))
			return bad(err, errlen, "blocklist[%zu]: not a numeric "
				   "address", i);
	}
	map->nr_blocked = n;
	qsort(map->blocked, n, sizeof(*map->blocked), cmp_in6);
	return 0;
}

/* A socket address's host as an in6_addr; false for other families. */
static bool ss_to_in6(const struct sockaddr_storage *ss, struct in6_addr *a)
{
	if (ss->ss_family == AF_INET6) {
		*a = ((const struct sockaddr_in6 *)ss)->sin6_addr;
		return true;
	}
	if (ss->ss_family != AF_INET)
		return false;
	memset(a, 0, sizeof(*a));
	a->s6_addr[10] = a->s6_addr[11] = 0xff;
	memcpy(&a->s6_addr[12], &((const struct sockaddr_in *)ss)->sin_addr, 4);
	return true;
}

bool shard_map_blocked(const struct shard_map *map,
		       const struct sockaddr_storage *ss)
{
	struct in6_addr a;

	if (!map || !map->nr_blocked || !ss_to_in6(ss, &a))
		return false;
	return bsearch(&a, map->blocked, map->nr_blocked,
		       sizeof(*map->blocked), cmp_in6) != NULL;
}

bool shard_map_daemon_at(const struct shard_map *map, uint32_t id,
			 const struct sockaddr_storage *ss)
{
	const struct shard_map_daemon *md = map ? shard_map_daemon(map, id) :
					    NULL;
	struct in6_addr a, b;

	return md && !addr_parse(md->addr, &a) && ss_to_in6(ss, &b) &&
	       !memcmp(&a, &b, sizeof(a));
}

static int cmp_bf(const void *a, const void *b)
{
	const struct shard_map_bf *x = a, *y = b;

	if (x->pg != y->pg)
		return x->pg < y->pg ? -1 : 1;
	return 0;
}

/* "backfill" is optional: [[pg, id], ...], each id a daemon of the map
 * and not a member of that PG, at most width per PG. */
static int parse_backfill(struct shard_map *map, struct shard_map_pool *p,
			  const json_t *arr, size_t pi, char *err,
			  size_t errlen)
{
	size_t i, n, k;

	if (!arr)
		return 0;
	if (!json_is_array(arr))
		return bad(err, errlen, "pools[%zu].backfill: not an array", pi);
	n = json_array_size(arr);
	if (n > (size_t)p->pg_count * SHARD_MAP_WIDTH_MAX)
		return bad(err, errlen, "pools[%zu].backfill: too long", pi);
	p->bf = calloc(n ? n : 1, sizeof(*p->bf));
	if (!p->bf)
		return oom(err, errlen, "backfill");
	for (i = 0; i < n; i++) {
		const json_t *e = json_array_get(arr, i);
		json_int_t pg, id;
		const uint32_t *row;

		if (!json_is_array(e) || json_array_size(e) != 2 ||
		    !json_is_integer(json_array_get(e, 0)) ||
		    !json_is_integer(json_array_get(e, 1)))
			return bad(err, errlen, "pools[%zu].backfill[%zu]: not "
				   "a [pg, daemon] pair", pi, i);
		pg = json_integer_value(json_array_get(e, 0));
		id = json_integer_value(json_array_get(e, 1));
		if (pg < 0 || pg >= p->pg_count || id <= 0 ||
		    id >= SHARD_MAP_NONE || !has_daemon(map, (uint32_t)id))
			return bad(err, errlen, "pools[%zu].backfill[%zu]: no "
				   "such PG or daemon", pi, i);
		row = shard_map_row(p, (uint32_t)pg);
		for (k = 0; k < p->width; k++)
			if (row[k] == (uint32_t)id)
				return bad(err, errlen, "pools[%zu].backfill"
					   "[%zu]: daemon %lld is a member",
					   pi, i, (long long)id);
		p->bf[i].pg = (uint32_t)pg;
		p->bf[i].id = (uint32_t)id;
	}
	p->nr_bf = n;
	/* Stable for equal PGs: the order mapd gave stays. */
	for (i = 1; i < n; i++) {
		struct shard_map_bf x = p->bf[i];

		for (k = i; k > 0 && cmp_bf(&p->bf[k - 1], &x) > 0; k--)
			p->bf[k] = p->bf[k - 1];
		p->bf[k] = x;
	}
	for (i = 0; i < n; i++) {
		unsigned int same = 0;

		for (k = 0; k < n; k++)
			if (p->bf[k].pg == p->bf[i].pg) {
				same++;
				if (k != i && p->bf[k].id == p->bf[i].id)
					return bad(err, errlen, "pools[%zu]."
						   "backfill: PG %u lists "
						   "daemon %u twice", pi,
						   p->bf[i].pg, p->bf[i].id);
			}
		if (same > p->width)
			return bad(err, errlen, "pools[%zu].backfill: PG %u "
				   "has too many", pi, p->bf[i].pg);
	}
	return 0;
}

unsigned int shard_map_backfill(const struct shard_map_pool *p, uint32_t pg,
				uint32_t *out)
{
	unsigned int n = 0;
	size_t lo = 0, hi = p->nr_bf;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (p->bf[mid].pg < pg)
			lo = mid + 1;
		else
			hi = mid;
	}
	while (lo < p->nr_bf && p->bf[lo].pg == pg && n < SHARD_MAP_WIDTH_MAX)
		out[n++] = p->bf[lo++].id;
	return n;
}

static int parse_pools(struct shard_map *map, const json_t *arr, char *err,
		       size_t errlen)
{
	size_t i, n;
	int ret;

	if (!json_is_array(arr))
		return bad(err, errlen, "pools: missing or not an array");
	n = json_array_size(arr);
	map->pools = calloc(n ? n : 1, sizeof(*map->pools));
	if (!map->pools)
		return oom(err, errlen, "pools");
	for (i = 0; i < n; i++) {
		const json_t *o = json_array_get(arr, i);
		struct shard_map_pool *p = &map->pools[i];
		uint64_t id, pgs, width, min_size = 1;

		/* Counted first: shard_map_free() frees what is set. */
		map->nr_pools = i + 1;
		if (!json_is_object(o))
			return bad(err, errlen, "pools[%zu]: not an object", i);
		if (get_uint(o, "id", 1, UINT32_MAX, true, &id))
			return bad(err, errlen, "pools[%zu].id: missing, not "
				   "an integer or out of range", i);
		if (get_uint(o, "pg_count", 1, SHARD_MAP_PG_MAX, true, &pgs))
			return bad(err, errlen, "pools[%zu].pg_count: missing, "
				   "not an integer or not 1..%u", i,
				   SHARD_MAP_PG_MAX);
		if (get_uint(o, "width", 1, SHARD_MAP_WIDTH_MAX, true, &width))
			return bad(err, errlen, "pools[%zu].width: missing, "
				   "not an integer or not 1..%u", i,
				   SHARD_MAP_WIDTH_MAX);
		ret = get_uint(o, "min_size", 1, width, false, &min_size);
		if (ret && ret != -ENOENT)
			return bad(err, errlen, "pools[%zu].min_size: not an "
				   "integer 1..width", i);
		p->id = (uint32_t)id;
		p->pg_count = (uint32_t)pgs;
		p->width = (uint32_t)width;
		p->min_size = (uint32_t)min_size;
		p->since = calloc(p->pg_count, sizeof(*p->since));
		if (!p->since)
			return oom(err, errlen, "pool");
		ret = parse_table(map, p, json_object_get(o, "table"), i, err,
				  errlen);
		if (!ret)
			ret = parse_backfill(map, p, json_object_get(o, "backfill"),
					     i, err, errlen);
		if (ret)
			return ret;
	}
	qsort(map->pools, n, sizeof(*map->pools), cmp_pool);
	for (i = 1; i < n; i++)
		if (map->pools[i].id == map->pools[i - 1].id)
			return bad(err, errlen, "pools: id %" PRIu32
				   " listed twice", map->pools[i].id);
	return 0;
}

int shard_map_parse(const json_t *obj, struct shard_map **out, char *err,
		    size_t errlen)
{
	struct shard_map *map;
	uint64_t epoch;
	int ret;

	*out = NULL;
	if (!json_is_object(obj))
		return bad(err, errlen, "map: missing or not an object");
	if (get_uint(obj, "epoch", 1, INT64_MAX, true, &epoch))
		return bad(err, errlen, "map.epoch: missing, not an integer "
			   "or not positive");
	map = calloc(1, sizeof(*map));
	if (!map)
		return oom(err, errlen, "map");
	map->epoch = epoch;
	ret = parse_daemons(map, json_object_get(obj, "daemons"), err, errlen);
	if (!ret)
		ret = parse_pools(map, json_object_get(obj, "pools"), err,
				  errlen);
	if (!ret)
		ret = parse_blocklist(map, json_object_get(obj, "blocklist"),
				      err, errlen);
	if (ret) {
		shard_map_free(map);
		return ret;
	}
	shard_map_inherit(map, NULL);
	*out = map;
	return 0;
}

/* Whether PG pg has the same members and backfill targets in p and q. */
static bool same_members(const struct shard_map_pool *p,
			 const struct shard_map_pool *q, uint32_t pg)
{
	uint32_t a[SHARD_MAP_WIDTH_MAX], b[SHARD_MAP_WIDTH_MAX];
	unsigned int na, nb;

	if (memcmp(shard_map_row(p, pg), shard_map_row(q, pg),
		   p->width * sizeof(uint32_t)))
		return false;
	na = shard_map_backfill(p, pg, a);
	nb = shard_map_backfill(q, pg, b);
	return na == nb && !memcmp(a, b, na * sizeof(*a));
}

void shard_map_inherit(struct shard_map *map, const struct shard_map *prev)
{
	const struct shard_map_pool *q;
	uint32_t pg;
	size_t i;

	for (i = 0; i < map->nr_pools; i++) {
		struct shard_map_pool *p = &map->pools[i];

		q = prev ? shard_map_pool(prev, p->id) : NULL;
		if (q && (q->pg_count != p->pg_count || q->width != p->width))
			q = NULL;
		for (pg = 0; pg < p->pg_count; pg++)
			p->since[pg] = q && same_members(p, q, pg) ?
				       q->since[pg] : map->epoch;
	}
}

void shard_map_free(struct shard_map *map)
{
	size_t i;

	if (!map)
		return;
	for (i = 0; i < map->nr_pools; i++) {
		free(map->pools[i].table);
		free(map->pools[i].since);
		free(map->pools[i].bf);
	}
	free(map->pools);
	free(map->daemons);
	free(map->blocked);
	free(map);
}

const struct shard_map_pool *shard_map_pool(const struct shard_map *map,
					    uint32_t pool_id)
{
	struct shard_map_pool key = { .id = pool_id };

	return bsearch(&key, map->pools, map->nr_pools, sizeof(*map->pools),
		       cmp_pool);
}

uint32_t shard_map_primary(const struct shard_map *map, uint32_t pool_id,
			   uint64_t volume, uint64_t object)
{
	const struct shard_map_pool *p = shard_map_pool(map, pool_id);
	uint32_t pg;

	if (!p)
		return SHARD_MAP_NONE;
	pg = shard_map_pg(p, volume, object);
	return p->table[(size_t)pg * p->width];
}

uint32_t shard_map_pg(const struct shard_map_pool *p, uint64_t volume,
		      uint64_t object)
{
	return shard_object_pg(volume, object, p->pg_count);
}

size_t shard_map_primary_count(const struct shard_map *map,
			       uint32_t daemon_id)
{
	size_t n = 0, i;
	uint32_t pg;

	for (i = 0; i < map->nr_pools; i++) {
		const struct shard_map_pool *p = &map->pools[i];

		for (pg = 0; pg < p->pg_count; pg++)
			if (p->table[(size_t)pg * p->width] == daemon_id)
				n++;
	}
	return n;
}
