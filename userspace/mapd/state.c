// SPDX-License-Identifier: GPL-2.0-only
/*
 * The in-memory cluster state of shard-mapd: lookups and the few
 * mutations that need more than assigning a field.
 */
#include <linux/shard.h>
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "state.h"

int state_init(struct mapd_state *st)
{
	memset(st, 0, sizeof(*st));
	st->pools = calloc(1, sizeof(*st->pools));
	if (!st->pools)
		return -ENOMEM;
	st->npools = 1;
	st->pools[0].id = 1;
	strcpy(st->pools[0].name, MAPD_DEFAULT_POOL);
	st->pools[0].size = 1;
	st->pools[0].min_size = 1;
	st->pools[0].pg_count = MAPD_DEFAULT_PGS;
	st->pools[0].domain = MAPD_FD_HOST;
	st->epoch = 1;
	st->next_daemon_id = 1;
	st->next_pool_id = 2;
	st->next_volume_id = 1;
	return 0;
}

void state_free(struct mapd_state *st)
{
	size_t i;

	for (i = 0; i < st->npools; i++) {
		free(st->pools[i].vols);
		free(st->pools[i].table);
		free(st->pools[i].acting);
		free(st->pools[i].capped);
	}
	free(st->pools);
	free(st->daemons);
	free(st->blocklist);
	free(st->fences);
	free(st->deaths);
	memset(st, 0, sizeof(*st));
}

struct mapd_pool *state_pool(struct mapd_state *st, const char *name)
{
	size_t i;

	for (i = 0; i < st->npools; i++)
		if (!strcmp(st->pools[i].name, name))
			return &st->pools[i];
	return NULL;
}

struct mapd_pool *state_pool_by_id(struct mapd_state *st, uint32_t id)
{
	size_t i;

	for (i = 0; i < st->npools; i++)
		if (st->pools[i].id == id)
			return &st->pools[i];
	return NULL;
}

struct mapd_volume *state_volume(struct mapd_pool *p, const char *name)
{
	size_t i;

	for (i = 0; i < p->nvols; i++)
		if (!strcmp(p->vols[i].name, name))
			return &p->vols[i];
	return NULL;
}

struct mapd_daemon *state_daemon(struct mapd_state *st, uint32_t id)
{
	size_t i;

	for (i = 0; i < st->ndaemons; i++)
		if (st->daemons[i].id == id)
			return &st->daemons[i];
	return NULL;
}

struct mapd_daemon *state_daemon_by_uuid(struct mapd_state *st,
					 const char *uuid)
{
	size_t i;

	for (i = 0; uuid[0] && i < st->ndaemons; i++)
		if (!strcmp(st->daemons[i].uuid, uuid))
			return &st->daemons[i];
	return NULL;
}

int state_add_volume(struct mapd_state *st, struct mapd_pool *p,
		     const char *name, uint64_t size,
		     struct mapd_volume **out)
{
	struct mapd_volume *v;

	v = realloc(p->vols, (p->nvols + 1) * sizeof(*v));
	if (!v)
		return -ENOMEM;
	p->vols = v;
	v = &p->vols[p->nvols++];
	memset(v, 0, sizeof(*v));
	v->id = st->next_volume_id++;
	strncpy(v->name, name, MAPD_NAME_MAX);
	v->size = size;
	v->obj_order = SHARD_DEFAULT_OBJ_ORDER;
	if (out)
		*out = v;
	return 0;
}

void state_del_volume(struct mapd_pool *p, struct mapd_volume *v)
{
	size_t i = v - p->vols;

	memmove(&p->vols[i], &p->vols[i + 1],
		(p->nvols - i - 1) * sizeof(*v));
	p->nvols--;
}

int state_add_daemon(struct mapd_state *st, const struct mapd_daemon *d,
		     struct mapd_daemon **out)
{
	struct mapd_daemon *a;
	size_t i;

	a = realloc(st->daemons, (st->ndaemons + 1) * sizeof(*a));
	if (!a)
		return -ENOMEM;
	st->daemons = a;
	for (i = st->ndaemons; i > 0 && a[i - 1].id > d->id; i--)
		a[i] = a[i - 1];
	a[i] = *d;
	st->ndaemons++;
	if (d->id >= st->next_daemon_id)
		st->next_daemon_id = d->id + 1;
	if (out)
		*out = &a[i];
	return 0;
}

void state_del_pool(struct mapd_state *st, struct mapd_pool *p)
{
	size_t i = p - st->pools;

	free(p->vols);
	free(p->table);
	free(p->acting);
	free(p->capped);
	memmove(&st->pools[i], &st->pools[i + 1],
		(st->npools - i - 1) * sizeof(*p));
	st->npools--;
}

void state_del_daemon(struct mapd_state *st, struct mapd_daemon *d)
{
	size_t i = d - st->daemons;

	memmove(&st->daemons[i], &st->daemons[i + 1],
		(st->ndaemons - i - 1) * sizeof(*d));
	st->ndaemons--;
}

int addr_normalize(const char *addr, char out[MAPD_ADDR_MAX])
{
	static const unsigned char v4mapped[12] = {
		0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff
	};
	unsigned char a[sizeof(struct in6_addr)];

	if (inet_pton(AF_INET, addr, a) == 1)
		return inet_ntop(AF_INET, a, out, MAPD_ADDR_MAX) ? 0 : -EINVAL;
	if (inet_pton(AF_INET6, addr, a) != 1)
		return -EINVAL;
	if (!memcmp(a, v4mapped, sizeof(v4mapped)))
		return inet_ntop(AF_INET, a + sizeof(v4mapped), out,
				 MAPD_ADDR_MAX) ? 0 : -EINVAL;
	return inet_ntop(AF_INET6, a, out, MAPD_ADDR_MAX) ? 0 : -EINVAL;
}

/* Address order for people reading the list: IPv4 first, then by value. */
static int addr_cmp(const char *x, const char *y)
{
	unsigned char a[sizeof(struct in6_addr)] = { 0 };
	unsigned char b[sizeof(struct in6_addr)] = { 0 };
	bool a4 = inet_pton(AF_INET, x, a) == 1;
	bool b4 = inet_pton(AF_INET, y, b) == 1;
	int c;

	if (a4 != b4)
		return a4 ? -1 : 1;
	if (!a4 && (inet_pton(AF_INET6, x, a) != 1 ||
		    inet_pton(AF_INET6, y, b) != 1))
		return strcmp(x, y);	/* not normalized: never stored */
	c = memcmp(a, b, a4 ? sizeof(struct in_addr) : sizeof(a));
	return c ? c : strcmp(x, y);
}

/* The index of a listed address, or nblocklist. */
static size_t blocklist_index(const struct mapd_state *st, const char *addr)
{
	size_t i;

	for (i = 0; i < st->nblocklist; i++)
		if (!strcmp(st->blocklist[i], addr))
			break;
	return i;
}

bool state_blocklisted(const struct mapd_state *st, const char *addr)
{
	return blocklist_index(st, addr) < st->nblocklist;
}

struct mapd_fence *state_blocklist_why(struct mapd_state *st,
				       const char *addr)
{
	size_t i = blocklist_index(st, addr);

	return i < st->nblocklist ? &st->fences[i] : NULL;
}

int state_fence_add(struct mapd_state *st, const char *addr,
		    const struct mapd_fence *f)
{
	static const struct mapd_fence by_hand;
	char (*a)[MAPD_ADDR_MAX];
	struct mapd_fence *w;
	size_t i;

	if (strlen(addr) >= MAPD_ADDR_MAX)
		return -EINVAL;
	if (state_blocklisted(st, addr))
		return -EEXIST;
	if (st->nblocklist >= MAPD_BLOCKLIST_MAX)
		return -ENOSPC;
	/* Both grown before either is used: no half-added entry. */
	w = realloc(st->fences, (st->nblocklist + 1) * sizeof(*w));
	if (!w)
		return -ENOMEM;
	st->fences = w;
	a = realloc(st->blocklist, (st->nblocklist + 1) * sizeof(*a));
	if (!a)
		return -ENOMEM;
	st->blocklist = a;
	for (i = st->nblocklist; i > 0 && addr_cmp(a[i - 1], addr) > 0; i--) {
		memcpy(a[i], a[i - 1], sizeof(*a));
		w[i] = w[i - 1];
	}
	strcpy(a[i], addr);
	w[i] = f ? *f : by_hand;
	st->nblocklist++;
	return 0;
}

int state_blocklist_add(struct mapd_state *st, const char *addr)
{
	return state_fence_add(st, addr, NULL);
}

static void blocklist_remove(struct mapd_state *st, size_t i)
{
	memmove(&st->blocklist[i], &st->blocklist[i + 1],
		(st->nblocklist - i - 1) * sizeof(*st->blocklist));
	memmove(&st->fences[i], &st->fences[i + 1],
		(st->nblocklist - i - 1) * sizeof(*st->fences));
	st->nblocklist--;
}

int state_blocklist_del(struct mapd_state *st, const char *addr)
{
	size_t i = blocklist_index(st, addr);

	if (i == st->nblocklist)
		return -ENOENT;
	blocklist_remove(st, i);
	return 0;
}

static size_t death_index(const struct mapd_state *st, const char *host)
{
	size_t i;

	for (i = 0; i < st->ndeaths; i++)
		if (!strcmp(st->deaths[i].host, host))
			break;
	return i;
}

bool state_death_handled(const struct mapd_state *st, const char *host,
			 int64_t rev)
{
	size_t i = death_index(st, host);

	return i < st->ndeaths && st->deaths[i].rev == rev;
}

int state_death_note(struct mapd_state *st, const char *host, int64_t rev)
{
	size_t i = death_index(st, host);
	struct mapd_death *d;

	if (strlen(host) > MAPD_NAME_MAX)
		return -EINVAL;
	if (i == st->ndeaths) {
		if (st->ndeaths >= MAPD_DEATHS_MAX)
			return -ENOSPC;
		d = realloc(st->deaths, (st->ndeaths + 1) * sizeof(*d));
		if (!d)
			return -ENOMEM;
		st->deaths = d;
		strcpy(d[st->ndeaths++].host, host);
	}
	st->deaths[i].rev = rev;
	return 0;
}

void state_death_del(struct mapd_state *st, size_t i)
{
	memmove(&st->deaths[i], &st->deaths[i + 1],
		(st->ndeaths - i - 1) * sizeof(*st->deaths));
	st->ndeaths--;
}

static const char *const level_names[] = {
	[MAPD_FD_HOST] = "host",
	[MAPD_FD_RACK] = "rack",
	[MAPD_FD_SITE] = "site",
	[MAPD_FD_DAEMON] = "daemon",
};

const char *domain_level_name(enum mapd_domain_level l)
{
	return l <= MAPD_FD_DAEMON ? level_names[l] : "?";
}

int domain_level_parse(const char *s, enum mapd_domain_level *l)
{
	unsigned int i;

	for (i = 0; i <= MAPD_FD_DAEMON; i++)
		if (!strcmp(s, level_names[i])) {
			*l = i;
			return 0;
		}
	return -EINVAL;
}
