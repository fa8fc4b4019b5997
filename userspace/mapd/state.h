/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Cluster state of shard-mapd: epoch, daemons, pools and their volumes,
 * and its JSON file. The file is replaced atomically on every change.
 */
#ifndef _MAPD_STATE_H
#define _MAPD_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#include "recovery.h"

#define MAPD_NAME_MAX		64	/* pool and volume names */
#define MAPD_HOST_MAX		255
#define MAPD_ADDR_MAX		46	/* INET6_ADDRSTRLEN */
#define MAPD_DEFAULT_PGS	128
#define MAPD_DEFAULT_POOL	"default"
#define MAPD_STATE_VERSION	2	/* version 1 files still load */
#define MAPD_DOMAIN_MAX		64	/* rack and site names */
#define MAPD_UUID_LEN		32	/* a store uuid in lowercase hex */
#define MAPD_BLOCKLIST_MAX	1024	/* blocklisted client addresses */
#define MAPD_DEATHS_MAX		256	/* host deaths the leader recorded */
#define MAPD_BOOT_ID_MAX	64	/* a kernel's boot id, as valid_name() */

struct mapd_daemon {
	uint32_t id;
	char host[MAPD_HOST_MAX + 1];
	char addr[MAPD_ADDR_MAX];	/* numeric IPv4 or IPv6 */
	uint16_t port;
	uint64_t capacity;		/* bytes */
	char class[4];			/* "ssd" or "hdd" */
	char rack[MAPD_DOMAIN_MAX + 1];	/* "" when not given */
	char site[MAPD_DOMAIN_MAX + 1];
	/* The store's uuid, 32 hex digits ("" from daemons that predate
	 * it): a registration that repeats itself gets the same id. */
	char uuid[MAPD_UUID_LEN + 1];
	bool up;
	bool in;			/* holds data: placement counts it */
	/* Runtime only, never saved: */
	uint64_t used;			/* bytes, from heartbeats */
	double last_seen;		/* monotonic seconds, last heartbeat */
	double down_since;		/* monotonic seconds; 0 while up */
	/* Its recovery reports (standalone; in cluster mode the cluster
	 * code keeps them, see recovery.h). */
	struct recovery_track rec;
};

struct mapd_volume {
	uint64_t id;			/* unique, never reused */
	char name[MAPD_NAME_MAX + 1];
	uint64_t size;			/* bytes, multiple of 512 */
	uint8_t obj_order;
};

enum mapd_domain_level {
	MAPD_FD_HOST,
	MAPD_FD_RACK,
	MAPD_FD_SITE,
	MAPD_FD_DAEMON,		/* one host, several disks: copies per disk */
};

struct mapd_pool {
	uint32_t id;
	char name[MAPD_NAME_MAX + 1];
	uint32_t size;			/* copies */
	uint32_t min_size;		/* copies needed to accept writes */
	uint32_t pg_count;
	char class[4];			/* "ssd", "hdd" or "" (any) */
	enum mapd_domain_level domain;	/* no two copies share one */
	struct mapd_volume *vols;
	size_t nvols;
	/*
	 * Placement, PG-major, pg_count * size daemon ids: which daemons
	 * hold each PG, up or not. Saved, so that the next placement
	 * moves as little as possible. NULL until first placed.
	 */
	uint32_t *table;
	/*
	 * Who serves each PG now, same shape. It follows table only where
	 * that moves no data: while the pool has no volumes, or when none
	 * of a PG's members is left. Otherwise a PG stays where its data
	 * is ("remapped") until recovery has copied it. In a pool of
	 * several copies a member that goes down leaves the PG's acting
	 * set for good (it misses writes) unless it was the last one up.
	 */
	uint32_t *acting;
	/* Runtime only, from the last placement: */
	uint64_t usable;		/* bytes the pool can hold */
	double max_dev;			/* worst fill deviation */
	uint32_t empty_slots;		/* too few failure domains */
	uint32_t moved;			/* slots moved by the last change */
	uint32_t *capped;		/* daemons it cannot fill fully */
	size_t ncapped;
};

/*
 * Why an address is on the blocklist: put there by hand (host[0] is
 * '\0'; only a person takes it off), or the automatic fence of a host
 * whose mapd the cluster's leader saw die (lifted when that host comes
 * back with another boot id, i.e. after a reboot).
 */
struct mapd_fence {
	char host[MAPD_NAME_MAX + 1];		/* the dead host's mapd */
	char boot_id[MAPD_BOOT_ID_MAX + 1];	/* its kernel's; "" unknown */
	int64_t at;			/* when, seconds since 1970 */
};

/*
 * A host's death the leader acted on: its hosts/ key at that revision.
 * Recorded in the config, in the same write as the fence, so that one
 * death is fenced once however the leader's later steps go (a fence a
 * person lifts stays lifted).
 */
struct mapd_death {
	char host[MAPD_NAME_MAX + 1];
	int64_t rev;
};

struct mapd_state {
	uint64_t epoch;
	uint32_t next_daemon_id;
	uint32_t next_pool_id;
	uint64_t next_volume_id;
	struct mapd_daemon *daemons;	/* sorted by id */
	size_t ndaemons;
	struct mapd_pool *pools;
	size_t npools;
	/*
	 * Client addresses the daemons refuse (fencing): normalized by
	 * addr_normalize(), in address order, no duplicates, at most
	 * MAPD_BLOCKLIST_MAX.
	 */
	char (*blocklist)[MAPD_ADDR_MAX];
	struct mapd_fence *fences;	/* one per blocklist entry */
	size_t nblocklist;
	/* Cluster mode: the leader does not fence hosts it sees die. */
	bool auto_fence_off;
	struct mapd_death *deaths;	/* one per host at most */
	size_t ndeaths;
	/*
	 * The share of the time a daemon spends on backfill while clients
	 * are active (1..100, %), for every daemon: they get it with each
	 * heartbeat's reply.
	 */
	uint8_t recovery_share; /* 0: each daemon's own --recovery-share */
};

/* A fresh state: epoch 1, pool "default" (id 1), no daemons. */
int state_init(struct mapd_state *st);
void state_free(struct mapd_state *st);

json_t *state_to_json(const struct mapd_state *st);
/* The blocklist as an array of strings; NULL on ENOMEM. */
json_t *state_blocklist_json(const struct mapd_state *st);
/* Fills st from j; on -EINVAL, err says what is wrong. */
int state_from_json(struct mapd_state *st, const json_t *j,
		    char *err, size_t errlen);

/*
 * Reads path into st. -ENOENT when the file does not exist (st is left
 * untouched); any other -errno means the file is there but unusable, and
 * err says why.
 */
int state_load(struct mapd_state *st, const char *path,
	       char *err, size_t errlen);
/*
 * Writes st to path atomically: path.tmp is written and fsynced, renamed
 * over path, and the directory fsynced. On failure path is untouched.
 */
int state_save(const struct mapd_state *st, const char *path);
/* Reads a JSON file (duplicate keys refused) into *out: -errno of the
 * open (-ENOENT: no such file) or -EINVAL, with err naming the file. */
int mapd_read_json(const char *path, json_t **out, char *err, size_t errlen);
/* Writes j to path so that a crash leaves the old file or the new one:
 * a temporary file, fsync, rename, fsync of the directory; -errno. */
int json_save_atomic(const json_t *j, const char *path);

struct mapd_pool *state_pool(struct mapd_state *st, const char *name);
struct mapd_pool *state_pool_by_id(struct mapd_state *st, uint32_t id);
struct mapd_volume *state_volume(struct mapd_pool *p, const char *name);
struct mapd_daemon *state_daemon(struct mapd_state *st, uint32_t id);
struct mapd_daemon *state_daemon_by_uuid(struct mapd_state *st,
					 const char *uuid);

/* Adds a volume (a new id is taken); -ENOMEM. */
int state_add_volume(struct mapd_state *st, struct mapd_pool *p,
		     const char *name, uint64_t size,
		     struct mapd_volume **out);
void state_del_volume(struct mapd_pool *p, struct mapd_volume *v);
/* Adds a daemon with id, keeping the array sorted; -ENOMEM. */
int state_add_daemon(struct mapd_state *st, const struct mapd_daemon *d,
		     struct mapd_daemon **out);

void state_del_pool(struct mapd_state *st, struct mapd_pool *p);
void state_del_daemon(struct mapd_state *st, struct mapd_daemon *d);

/*
 * A numeric IPv4 or IPv6 address as the daemons compare it: through
 * inet_pton and inet_ntop, an IPv4-mapped IPv6 address ("::ffff:a.b.c.d",
 * how a dual-stack socket sees an IPv4 client) as plain IPv4. -EINVAL
 * when addr is not one.
 */
int addr_normalize(const char *addr, char out[MAPD_ADDR_MAX]);
/* Whether a normalized address is blocklisted. */
bool state_blocklisted(const struct mapd_state *st, const char *addr);
/*
 * Adds a normalized address, keeping the list in order: 0, -EEXIST when
 * it is there already, -ENOSPC when the list is full, -ENOMEM.
 */
int state_blocklist_add(struct mapd_state *st, const char *addr);
/* Removes a normalized address: 0, or -ENOENT when it is not there. */
int state_blocklist_del(struct mapd_state *st, const char *addr);
/*
 * Why a normalized address is listed (host "" : by hand); NULL when it
 * is not listed.
 */
struct mapd_fence *state_blocklist_why(struct mapd_state *st,
				       const char *addr);
/* Adds a normalized address as the fence f; errors as blocklist_add. */
int state_fence_add(struct mapd_state *st, const char *addr,
		    const struct mapd_fence *f);

/* Whether host's death at hosts/ key revision rev was acted on. */
bool state_death_handled(const struct mapd_state *st, const char *host,
			 int64_t rev);
/* Records host's death at rev, replacing an older one: 0, -ENOSPC, -ENOMEM. */
int state_death_note(struct mapd_state *st, const char *host, int64_t rev);
void state_death_del(struct mapd_state *st, size_t i);

const char *domain_level_name(enum mapd_domain_level l);
int domain_level_parse(const char *s, enum mapd_domain_level *l);

/* Validation shared by mapd and its tests. */
bool valid_name(const char *name);
bool valid_volume_size(uint64_t size);
bool valid_class(const char *class);
/* MAPD_UUID_LEN lowercase hex digits, not all zero. */
bool valid_uuid(const char *uuid);

#endif /* _MAPD_STATE_H */
