/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The socket protocol of shard-mapd (Documentation/mapd-protocol.md): one
 * JSON request line in, one JSON reply line out.
 */
#ifndef _MAPD_DISPATCH_H
#define _MAPD_DISPATCH_H

#include <stddef.h>
#include <jansson.h>

#include "mapd.h"

/*
 * Handles one request line (without its newline) and returns the reply
 * line, malloc'ed, without a newline; NULL only when out of memory.
 */
char *mapd_handle_line(struct mapd *m, const char *line, size_t len);

/* The same on parsed JSON; returns a new reply object. */
json_t *mapd_handle(struct mapd *m, json_t *req);

#endif /* _MAPD_DISPATCH_H */
