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

#define MAPD_NAME_MAX		64	/* pool and volume names */
#define MAPD_HOST_MAX		255
#define MAPD_ADDR_MAX		46	/* INET6_ADDRSTRLEN */
#define MAPD_DEFAULT_PGS	128
#define MAPD_DEFAULT_POOL	"default"
#define MAPD_STATE_VERSION	1

struct mapd_daemon {
	uint32_t id;
	char host[MAPD_HOST_MAX + 1];
	char addr[MAPD_ADDR_MAX];	/* numeric IPv4 or IPv6 */
	uint16_t port;
	uint64_t capacity;		/* bytes */
	char class[4];			/* "ssd" or "hdd" */
	bool up;
};

struct mapd_volume {
	uint64_t id;			/* unique, never reused */
	char name[MAPD_NAME_MAX + 1];
	uint64_t size;			/* bytes, multiple of 512 */
	uint8_t obj_order;
};

struct mapd_pool {
	uint32_t id;
	char name[MAPD_NAME_MAX + 1];
	uint32_t size;			/* copies */
	uint32_t pg_count;
	struct mapd_volume *vols;
	size_t nvols;
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
};

/* A fresh state: epoch 1, pool "default" (id 1), no daemons. */
int state_init(struct mapd_state *st);
void state_free(struct mapd_state *st);

json_t *state_to_json(const struct mapd_state *st);
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

struct mapd_pool *state_pool(struct mapd_state *st, const char *name);
struct mapd_pool *state_pool_by_id(struct mapd_state *st, uint32_t id);
struct mapd_volume *state_volume(struct mapd_pool *p, const char *name);
struct mapd_daemon *state_daemon(struct mapd_state *st, uint32_t id);

/* Adds a volume (a new id is taken); -ENOMEM. */
int state_add_volume(struct mapd_state *st, struct mapd_pool *p,
		     const char *name, uint64_t size,
		     struct mapd_volume **out);
void state_del_volume(struct mapd_pool *p, struct mapd_volume *v);
/* Adds a daemon with id, keeping the array sorted; -ENOMEM. */
int state_add_daemon(struct mapd_state *st, const struct mapd_daemon *d,
		     struct mapd_daemon **out);

/* Validation shared by mapd and its tests. */
bool valid_name(const char *name);
bool valid_volume_size(uint64_t size);
bool valid_class(const char *class);

#endif /* _MAPD_STATE_H */
