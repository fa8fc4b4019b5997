/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The commands of the socket protocol. Each fills reply (an object that
 * already holds "ok": true) and returns 0, or returns -errno with a
 * one-line reason in err.
 */
#ifndef _MAPD_CMDS_H
#define _MAPD_CMDS_H

#include <stdbool.h>
#include <stdint.h>
#include <jansson.h>

#include "mapd.h"

#define ERRLEN 512

typedef int (*cmd_fn)(struct mapd *m, json_t *req, json_t *reply, char *err);

int cmd_daemon_register(struct mapd *m, json_t *req, json_t *reply, char *err);
int cmd_create(struct mapd *m, json_t *req, json_t *reply, char *err);
int cmd_rm(struct mapd *m, json_t *req, json_t *reply, char *err);
int cmd_ls(struct mapd *m, json_t *req, json_t *reply, char *err);
int cmd_resize(struct mapd *m, json_t *req, json_t *reply, char *err);
int cmd_map(struct mapd *m, json_t *req, json_t *reply, char *err);
int cmd_unmap(struct mapd *m, json_t *req, json_t *reply, char *err);
int cmd_status(struct mapd *m, json_t *req, json_t *reply, char *err);
int cmd_daemon_heartbeat(struct mapd *m, json_t *req, json_t *reply,
			 char *err);
int cmd_map_get(struct mapd *m, json_t *req, json_t *reply, char *err);
int cmd_map_show(struct mapd *m, json_t *req, json_t *reply, char *err);
int cmd_daemon_ls(struct mapd *m, json_t *req, json_t *reply, char *err);
int cmd_daemon_out(struct mapd *m, json_t *req, json_t *reply, char *err);
int cmd_daemon_in(struct mapd *m, json_t *req, json_t *reply, char *err);
int cmd_daemon_rm(struct mapd *m, json_t *req, json_t *reply, char *err);
int cmd_pool_create(struct mapd *m, json_t *req, json_t *reply, char *err);
int cmd_pool_ls(struct mapd *m, json_t *req, json_t *reply, char *err);
int cmd_pool_rm(struct mapd *m, json_t *req, json_t *reply, char *err);
int cmd_pg_ls(struct mapd *m, json_t *req, json_t *reply, char *err);
int cmd_pg_backfilled(struct mapd *m, json_t *req, json_t *reply, char *err);
int cmd_pg_scrub(struct mapd *m, json_t *req, json_t *reply, char *err);
int cmd_pool_scrub(struct mapd *m, json_t *req, json_t *reply, char *err);
int cmd_pg_scrubbed(struct mapd *m, json_t *req, json_t *reply, char *err);
int cmd_daemon_report(struct mapd *m, json_t *req, json_t *reply, char *err);
int cmd_cluster_create(struct mapd *m, json_t *req, json_t *reply, char *err);
int cmd_cluster_join(struct mapd *m, json_t *req, json_t *reply, char *err);
int cmd_client_blocklist(struct mapd *m, json_t *req, json_t *reply,
			 char *err);
int cmd_client_unblocklist(struct mapd *m, json_t *req, json_t *reply,
			   char *err);
int cmd_client_ls(struct mapd *m, json_t *req, json_t *reply, char *err);
int cmd_client_auto_fence(struct mapd *m, json_t *req, json_t *reply,
			  char *err);
int cmd_recovery_share(struct mapd *m, json_t *req, json_t *reply,
		       char *err);
/* The automatic fences, one object per host (cmd_client.c); NULL: ENOMEM. */
json_t *client_fences_json(struct mapd *m);

enum map_json_form {
	MAP_JSON_B64,		/* tables as base64 of LE u32 (daemons) */
	MAP_JSON_ARRAYS,	/* acting and placement as arrays (people) */
};

/* The map at st's epoch; NULL on ENOMEM. */
json_t *map_json(const struct mapd_state *st, enum map_json_form form);
/* A daemon's status object, and a pool's (status, ls commands). */
json_t *daemon_json(const struct mapd_state *st, const struct mapd_daemon *d);
json_t *pool_status_json(const struct mapd_state *st,
			 const struct mapd_pool *p);

/* Request fields (request.c); -EINVAL with a reason on a bad one. */
int req_string(json_t *req, const char *key, bool required,
	       const char **out, char *err);
int req_u64(json_t *req, const char *key, bool required, uint64_t *out,
	    char *err);
int req_bool(json_t *req, const char *key, bool *out, char *err);
/* "pool" and "name" naming an existing volume. */
int req_volume(struct mapd *m, json_t *req, struct mapd_pool **pool,
	       struct mapd_volume **vol, char *err);
int req_pool(struct mapd *m, json_t *req, bool required,
	     struct mapd_pool **pool, char *err);

/* "/dev/shardN" of device index. */
json_t *dev_path_json(uint32_t index);
/* Devices of volume id in devs (a JSON array of paths). */
json_t *vol_devices_json(const struct kdev *devs, size_t n, uint64_t id);

#endif /* _MAPD_CMDS_H */
