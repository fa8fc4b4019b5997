/* SPDX-License-Identifier: GPL-2.0-only */
/* The config and map documents of a cluster in etcd (see cluster_doc.c). */
#ifndef _MAPD_CLUSTER_DOC_H
#define _MAPD_CLUSTER_DOC_H

#include <stdbool.h>
#include <jansson.h>

#include "state.h"

/* NULL on ENOMEM. */
json_t *cluster_config_json(const struct mapd_state *st);
json_t *cluster_map_json(const struct mapd_state *st);
/* Whether two maps differ only in their epoch. */
bool cluster_map_same(const json_t *a, const json_t *b);
/*
 * Lays map over st (a state read from config): epoch, up, tables.
 * -EINVAL with a reason when the map is malformed or names daemons st
 * does not have; st's tables may then be partly cleared.
 */
int cluster_apply_map(struct mapd_state *st, const json_t *map,
		      char *err, size_t errlen);

#endif /* _MAPD_CLUSTER_DOC_H */
