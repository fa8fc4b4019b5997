// SPDX-License-Identifier: GPL-2.0-only
/*
 * Fencing the clients of a host the cluster declares dead. A host is
 * declared dead when its mapd's lease runs out: its daemons go down
 * with their alive keys, and whoever runs its VMs may start them
 * elsewhere. Its kernel may still be running (a partition, a hung mapd)
 * with writes of those VMs queued, which must never land on top of the
 * new ones: the leader puts the host's client addresses on the
 * blocklist, and no daemon accepts them from then on.
 *
 * Each mapd says two things about its host, in the same value:
 *   mapds/NAME  (its lease) it runs;
 *   hosts/NAME  (no lease)  it runs or ran, and did not stop on purpose
 *               (a stop on purpose deletes it before the lease goes);
 * the value: {"boot_id": its kernel's boot id, "addrs": the addresses
 * its daemons registered with, which are the host's (shardd binds to
 * them), so its kernel client's too}. The leader sees a hosts/ key
 * without its mapds/ key, fences those addresses (each recorded with
 * the host, the time and the boot id: config's "fences") in a config
 * change, which it places as a new map epoch, and marks the hosts/ key
 * "dead" so that it acts on one death once. The same config change
 * records the death (host, hosts/ key revision): a fence lifted by hand
 * before the mark, or a leader that dies between the two writes, does
 * not fence the same death twice.
 *
 * When the host's mapd is back with another boot id, the host rebooted:
 * its old kernel and whatever it held are gone, and the leader lifts
 * the fence. With the same boot id (a partition healed, a mapd
 * restarted) the old kernel may still hold writes: the fence stays
 * until a person runs `shardctl client unblocklist ADDR`, and status
 * and the leader's log say so. Addresses listed by hand are never
 * lifted here. "auto_fence": false in the config (shardctl client
 * auto-fence off) stops new fences; lifting goes on.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../etcd/etcd.h"
#include "cluster.h"
#include "cluster_int.h"
#include "log.h"
#include "mapd.h"

#define BOOT_ID_PATH	"/proc/sys/kernel/random/boot_id"
/* Where the boot id is read from instead (tests: simulated hosts). */
#define BOOT_ID_ENV	"SHARD_MAPD_BOOT_ID_FILE"
/* Set: no dead marks (tests: a leader that stops between the two writes). */
#define NO_MARK_ENV	"SHARD_MAPD_TEST_NO_DEAD_MARK"

void cluster_read_boot_id(struct mapd_cluster *cl)
{
	const char *path = getenv(BOOT_ID_ENV);
	char buf[MAPD_BOOT_ID_MAX + 2];
	size_t n;
	FILE *f;

	cl->boot_id[0] = '\0';
	if (!path || !*path)
		path = BOOT_ID_PATH;
	f = fopen(path, "re");
	if (!f) {
		log_warn("cannot read this kernel's boot id from %s: %s; a fence of this host will be lifted by hand only",
			 path, strerror(errno));
		return;
	}
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	while (n && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
		buf[--n] = '\0';
	if (!valid_name(buf)) {
		log_warn("%s does not hold a boot id; a fence of this host will be lifted by hand only",
			 path);
		return;
	}
	memcpy(cl->boot_id, buf, n + 1);	/* valid_name: n <= 64 */
}

/* Adds a normalized address to a sorted set of at most max. */
static void addr_set_add(char (*set)[MAPD_ADDR_MAX], size_t *n,
			 const char *addr)
{
	size_t i, k;

	for (i = 0; i < *n && strcmp(set[i], addr) < 0; i++)
		;
	if ((i < *n && !strcmp(set[i], addr)) || *n == CLUSTER_HOST_ADDRS)
		return;
	for (k = *n; k > i; k--)
		memcpy(set[k], set[k - 1], MAPD_ADDR_MAX);
	snprintf(set[i], MAPD_ADDR_MAX, "%s", addr);
	(*n)++;
}

/* "a, b": a host's addresses for the log. */
static void addr_list(char (*set)[MAPD_ADDR_MAX], size_t n, char *buf,
		      size_t len)
{
	size_t i, at = 0;

	buf[0] = '\0';
	for (i = 0; i < n && at < len; i++)
		at += snprintf(buf + at, len - at, "%s%s", i ? ", " : "",
			       set[i]);
}

/* A mapds/ or hosts/ value; malloc'd, NULL on ENOMEM. */
static char *host_value(const char *boot_id, char (*addrs)[MAPD_ADDR_MAX],
			size_t n, bool dead)
{
	json_t *j = json_pack("{s:s, s:[]}", "boot_id", boot_id, "addrs");
	char *v = NULL;
	size_t i;

	for (i = 0; j && i < n; i++)
		json_array_append_new(json_object_get(j, "addrs"),
				      json_string(addrs[i]));
	if (j && dead)
		json_object_set_new(j, "dead", json_true());
	if (j)
		v = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	return v;
}

/* Reads a value as host_value() wrote it; what is not valid is left out. */
static void parse_value(const struct etcd_kv *kv, char *boot_id,
			char (*addrs)[MAPD_ADDR_MAX], size_t *naddrs,
			bool *dead)
{
	json_t *j = json_loadb(kv->value, kv->value_len, 0, NULL), *a;
	const char *b = json_string_value(json_object_get(j, "boot_id"));
	char norm[MAPD_ADDR_MAX];
	size_t i;

	boot_id[0] = '\0';
	if (b && valid_name(b))
		snprintf(boot_id, MAPD_BOOT_ID_MAX + 1, "%s", b);
	if (naddrs) {
		*naddrs = 0;
		json_array_foreach(json_object_get(j, "addrs"), i, a)
			if (json_is_string(a) &&
			    !addr_normalize(json_string_value(a), norm))
				addr_set_add(addrs, naddrs, norm);
	}
	if (dead)
		*dead = json_is_true(json_object_get(j, "dead"));
	json_decref(j);
}

int cluster_register_self(struct mapd_cluster *cl)
{
	char *v = host_value(cl->boot_id, cl->addrs, cl->naddrs, false);
	char k[512];
	int ret;

	if (!v)
		return -ENOMEM;
	snprintf(k, sizeof(k), "%smapds/%s", cl->prefix, cl->self);
	ret = etcd_put(cl->e, k, v, strlen(v), cl->lease);
	if (!ret) {
		snprintf(k, sizeof(k), "%shosts/%s", cl->prefix, cl->self);
		ret = etcd_put(cl->e, k, v, strlen(v), 0);
	}
	free(v);
	if (ret) {
		cluster_unreachable(cl, "registering this mapd");
		return ret;
	}
	cl->self_put = true;
	return 0;
}

void cluster_self_leave(struct mapd_cluster *cl)
{
	char k[512];

	snprintf(k, sizeof(k), "%shosts/%s", cl->prefix, cl->self);
	if (etcd_delete(cl->e, k) < 0)
		log_warn("etcd: cannot remove %s: %s; this host may be fenced as dead",
			 k, etcd_strerror(cl->e));
}

void cluster_hosts_begin(struct mapd_cluster *cl)
{
	cl->nhosts = 0;
}

void cluster_note_host(struct mapd_cluster *cl, const char *rest,
		       const struct etcd_kv *kv)
{
	struct cluster_host *h;

	if (!valid_name(rest))
		return;
	if (cl->nhosts == cl->hosts_cap) {
		size_t cap = cl->hosts_cap ? cl->hosts_cap * 2 : 8;

		h = realloc(cl->hosts, cap * sizeof(*h));
		if (!h)
			return;
		cl->hosts = h;
		cl->hosts_cap = cap;
	}
	h = &cl->hosts[cl->nhosts++];
	memset(h, 0, sizeof(*h));
	snprintf(h->name, sizeof(h->name), "%s", rest);
	h->mod_rev = kv->mod_rev;
	parse_value(kv, h->boot_id, h->addrs, &h->naddrs, &h->dead);
}

void cluster_note_mapd(struct mapd_cluster *cl, size_t i,
		       const struct etcd_kv *kv)
{
	if (i < CLUSTER_MAX_MAPDS)
		parse_value(kv, cl->mapd_boot_ids[i], NULL, NULL, NULL);
}

/* The boot id of mapd name's kernel ("" unknown); NULL: it does not run. */
static const char *mapd_boot(struct mapd_cluster *cl, const char *name,
			     int64_t *lease)
{
	size_t i;

	for (i = 0; i < cl->nmapds; i++)
		if (!strcmp(cl->mapds[i], name)) {
			if (lease)
				*lease = cl->mapd_leases[i];
			return cl->mapd_boot_ids[i];
		}
	return NULL;
}

const char *cluster_mapd_boot_id(struct mapd *m, const char *name)
{
	return m->cl ? mapd_boot(m->cl, name, NULL) : NULL;
}

/* A fence's host is back with another kernel: its old one is gone. */
static bool rebooted(const char *now, const struct mapd_fence *f)
{
	return now && now[0] && f->boot_id[0] && strcmp(now, f->boot_id);
}

/*
 * A host whose mapd's lease ran out, not dealt with yet: its hosts/ key
 * is neither marked dead nor, at this revision, among the config's
 * deaths (the fence is written first, the mark after).
 */
static bool newly_dead(struct mapd *m, const struct cluster_host *h)
{
	return !h->dead && !mapd_boot(m->cl, h->name, NULL) &&
	       !state_death_handled(&m->st, h->name, h->mod_rev);
}

/*
 * The config's deaths kept only while they guard something: the host's
 * hosts/ key still at the revision it died with, not marked yet.
 */
static void prune_deaths(struct mapd *m)
{
	struct mapd_cluster *cl = m->cl;
	struct mapd_state *st = &m->st;
	bool keep;
	size_t i = 0, k;

	while (i < st->ndeaths) {
		keep = false;
		for (k = 0; k < cl->nhosts && !keep; k++)
			keep = !strcmp(cl->hosts[k].name, st->deaths[i].host) &&
			       cl->hosts[k].mod_rev == st->deaths[i].rev &&
			       !cl->hosts[k].dead;
		if (keep)
			i++;
		else
			state_death_del(st, i);
	}
}

/* The addresses fencing host, for the log. */
static void fenced_addrs(const struct mapd_state *st, const char *host,
			 char *buf, size_t len)
{
	size_t i, at = 0;

	buf[0] = '\0';
	for (i = 0; i < st->nblocklist && at < len; i++)
		if (!strcmp(st->fences[i].host, host))
			at += snprintf(buf + at, len - at, "%s%s",
				       at ? ", " : "", st->blocklist[i]);
}

/* This host fenced: its own mapd says so too, once per fence. */
static void say_self_fenced(struct mapd *m)
{
	struct mapd_cluster *cl = m->cl;
	const struct mapd_fence *f = NULL;
	char list[512];
	size_t i;

	for (i = 0; i < m->st.nblocklist && !f; i++)
		if (!strcmp(m->st.fences[i].host, cl->self))
			f = &m->st.fences[i];
	if (!f || f->at == cl->self_fenced_at) {
		if (!f)
			cl->self_fenced_at = 0;
		return;
	}
	cl->self_fenced_at = f->at;
	fenced_addrs(&m->st, cl->self, list, sizeof(list));
	log_warn("this host (%s) is fenced: the cluster declared it dead (this mapd's lease ran out), and the daemons refuse its clients %s. %s",
		 cl->self, list, rebooted(cl->boot_id, f) ?
		 "This host rebooted since: the leader lifts it." :
		 "It did not reboot since: lifted by shardctl client unblocklist ADDR once the writes its kernel may hold are no longer wanted");
}

void cluster_self_sync(struct mapd *m)
{
	struct mapd_cluster *cl = m->cl;
	char addrs[CLUSTER_HOST_ADDRS][MAPD_ADDR_MAX], norm[MAPD_ADDR_MAX];
	size_t i, n = 0;
	bool same;

	say_self_fenced(m);

	/* Every daemon that heartbeated here since we started. */
	for (i = 0; i < cl->nlocal; i++) {
		const struct mapd_daemon *d = state_daemon(&m->st,
							   cl->local[i].id);

		if (d && !addr_normalize(d->addr, norm))
			addr_set_add(addrs, &n, norm);
	}
	same = n == cl->naddrs;
	for (i = 0; same && i < n; i++)
		same = !strcmp(addrs[i], cl->addrs[i]);
	if (!same) {
		memcpy(cl->addrs, addrs, n * sizeof(addrs[0]));
		cl->naddrs = n;
		cl->self_put = false;
	}
	if (!cl->self_put && cl->lease && cl->reachable)
		cluster_register_self(cl);
}

/*
 * A fenced host back with the kernel it was fenced with: the leader
 * says so once for each of its mapd's leases.
 */
static void say_still_fenced(struct mapd *m)
{
	struct mapd_cluster *cl = m->cl;
	const struct mapd_state *st = &m->st;
	struct cluster_fence_said *s;
	char list[512];
	const char *now;
	int64_t lease = 0;
	size_t i, k;

	for (i = 0; i < st->nblocklist; i++) {
		const struct mapd_fence *f = &st->fences[i];

		if (!f->host[0])
			continue;
		now = mapd_boot(cl, f->host, &lease);
		if (!now || rebooted(now, f))
			continue;
		for (k = 0; k < cl->nsaid; k++)
			if (!strcmp(cl->said[k].host, f->host))
				break;
		if (k < cl->nsaid && cl->said[k].lease == lease)
			continue;
		if (k == cl->nsaid) {
			s = realloc(cl->said, (k + 1) * sizeof(*s));
			if (!s)
				return;
			cl->said = s;
			cl->nsaid++;
		}
		s = &cl->said[k];
		snprintf(s->host, sizeof(s->host), "%s", f->host);
		s->lease = lease;
		fenced_addrs(st, f->host, list, sizeof(list));
		log_warn("host %s is back with %s: it stays fenced (%s), since its kernel may still hold writes of VMs started elsewhere since. Once it holds none (its VMs stopped, or it rebooted), run shardctl client unblocklist ADDR for each",
			 f->host, now[0] && f->boot_id[0] ?
			 "the boot id it was fenced with" :
			 "an unknown boot id", list);
	}
}

/*
 * The running mapd that publishes addr as well (a host's address is
 * never fenced while another host that lives says it is its own); NULL
 * when none does.
 */
static const char *live_owner(struct mapd_cluster *cl,
			      const struct cluster_host *dead,
			      const char *addr)
{
	size_t i, k;

	for (i = 0; i < cl->nhosts; i++) {
		const struct cluster_host *h = &cl->hosts[i];

		if (!strcmp(h->name, dead->name) || !mapd_boot(cl, h->name, NULL))
			continue;
		for (k = 0; k < h->naddrs; k++)
			if (!strcmp(h->addrs[k], addr))
				return h->name;
	}
	return NULL;
}

/* Fences a dead host's addresses in m->st; true if it added any. */
static bool fence_host(struct mapd *m, struct cluster_host *h)
{
	const char *owner;
	struct mapd_fence f = { .at = time(NULL) };
	char added[CLUSTER_HOST_ADDRS][MAPD_ADDR_MAX], list[512];
	size_t i, n = 0;
	int ret;

	if (m->st.auto_fence_off) {
		log_warn("host %s is dead (its mapd's lease ran out); automatic fencing is off: its clients are not fenced",
			 h->name);
		return false;
	}
	if (!h->naddrs) {
		log_warn("host %s is dead (its mapd's lease ran out), but no address of it is known (none of its daemons heartbeated to its mapd): its clients are not fenced",
			 h->name);
		return false;
	}
	snprintf(f.host, sizeof(f.host), "%s", h->name);
	snprintf(f.boot_id, sizeof(f.boot_id), "%s", h->boot_id);
	for (i = 0; i < h->naddrs; i++) {
		owner = live_owner(m->cl, h, h->addrs[i]);
		if (owner) {
			log_warn("host %s is dead, but host %s, alive, has its address %s too: not fenced",
				 h->name, owner, h->addrs[i]);
			continue;
		}
		ret = state_fence_add(&m->st, h->addrs[i], &f);
		if (!ret)
			snprintf(added[n++], MAPD_ADDR_MAX, "%s", h->addrs[i]);
		else if (ret != -EEXIST)	/* listed: left as it is */
			log_err("cannot fence %s of host %s: %s", h->addrs[i],
				h->name, ret == -ENOSPC ?
				"the blocklist is full" : strerror(-ret));
	}
	if (!n) {
		addr_list(h->addrs, h->naddrs, list, sizeof(list));
		log_warn("host %s is dead (its mapd's lease ran out); nothing to fence of its addresses (%s)",
			 h->name, list);
		return false;
	}
	addr_list(added, n, list, sizeof(list));
	log_warn("host %s is dead (its mapd's lease ran out): fenced, the daemons refuse its clients %s (boot id %s). Lifted when it comes back rebooted; else by shardctl client unblocklist ADDR",
		 h->name, list, h->boot_id[0] ? h->boot_id : "unknown");
	return true;
}

/* Lifts the fences of hosts back with another boot id; true if any. */
static bool lift_fences(struct mapd *m)
{
	struct mapd_state *st = &m->st;
	struct mapd_fence f;
	char addr[MAPD_ADDR_MAX];
	const char *now;
	bool any = false;
	size_t i = 0;

	while (i < st->nblocklist) {
		now = st->fences[i].host[0] ?
		      mapd_boot(m->cl, st->fences[i].host, NULL) : NULL;
		if (!rebooted(now, &st->fences[i])) {
			i++;
			continue;
		}
		f = st->fences[i];
		snprintf(addr, sizeof(addr), "%s", st->blocklist[i]);
		state_blocklist_del(st, addr);
		log_info("host %s is back with another boot id (%s; fenced with %s): it rebooted, its old kernel is gone. Fence lifted: the daemons accept %s again",
			 f.host, now, f.boot_id, addr);
		any = true;
	}
	return any;
}

/* Whether cluster_fence() has anything to do. */
static bool fence_work(struct mapd *m)
{
	struct mapd_cluster *cl = m->cl;
	const struct mapd_state *st = &m->st;
	size_t i;

	for (i = 0; i < cl->nhosts; i++)
		if (newly_dead(m, &cl->hosts[i]))
			return true;
	for (i = 0; i < st->nblocklist; i++)
		if (st->fences[i].host[0] &&
		    rebooted(mapd_boot(cl, st->fences[i].host, NULL),
			     &st->fences[i]))
			return true;
	return false;
}

/* Marks a hosts/ key dead, unless its mapd put it again meanwhile. */
static void mark_dead(struct mapd_cluster *cl, struct cluster_host *h)
{
	char *v = host_value(h->boot_id, h->addrs, h->naddrs, true);
	char k[512], guard[512];
	int64_t rev;
	size_t i;
	int ret;

	if (!v || getenv(NO_MARK_ENV)) {
		free(v);
		return;		/* the next pass does it */
	}
	snprintf(k, sizeof(k), "%shosts/%s", cl->prefix, h->name);
	snprintf(guard, sizeof(guard), "%sleader", cl->prefix);
	ret = etcd_cas(cl->e, k, v, strlen(v), h->mod_rev, 0, guard,
		       cl->leader_rev, &rev);
	free(v);
	if (ret && ret != -ECANCELED)
		cluster_unreachable(cl, "marking a host dead");
	if (ret)
		return;
	/* Dealt with until the next refresh, too (ticks lead between). */
	for (i = 0; i < cl->nhosts; i++)
		if (!strcmp(cl->hosts[i].name, h->name)) {
			cl->hosts[i].dead = true;
			cl->hosts[i].mod_rev = rev;
		}
}

bool cluster_fence(struct mapd *m)
{
	struct mapd_cluster *cl = m->cl;
	struct cluster_host *gone;
	size_t i, ngone = 0;
	bool changed = false;
	char err[256];
	json_t *snap;
	int ret;

	if (!cl->leader || cl->fencing || !cl->joined)
		return false;
	say_still_fenced(m);
	if (!fence_work(m))
		return false;
	/* Copies: the commit may refresh, which reads the hosts again. */
	gone = calloc(cl->nhosts + 1, sizeof(*gone));
	snap = mapd_snapshot(m);
	if (!gone || !snap) {
		free(gone);
		json_decref(snap);
		return false;
	}
	prune_deaths(m);
	for (i = 0; i < cl->nhosts; i++) {
		if (!newly_dead(m, &cl->hosts[i]))
			continue;
		gone[ngone] = cl->hosts[i];
		if (fence_host(m, &gone[ngone])) {
			changed = true;
			/* Failing (ENOMEM), the mark after is the only record. */
			state_death_note(&m->st, gone[ngone].name,
					 gone[ngone].mod_rev);
		}
		ngone++;
	}
	changed |= lift_fences(m);
	if (changed) {
		/* Its own placing (cluster_lead) writes the map, not us. */
		cl->fencing = true;
		ret = cluster_commit(m, snap, err, sizeof(err));
		cl->fencing = false;
		if (ret) {
			log_warn("leader: cannot write the fences: %s; trying again",
				 err);
			free(gone);
			return true;
		}
	} else {
		json_decref(snap);
	}
	for (i = 0; i < ngone && cl->leader; i++)
		mark_dead(cl, &gone[i]);
	free(gone);
	return changed;
}
