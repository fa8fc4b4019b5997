/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Newline-delimited JSON over a UNIX stream socket: the protocol between
 * shardctl (and shardd) and shard-mapd. One request line, one reply line.
 * See Documentation/mapd-protocol.md.
 */
#ifndef _SHARD_JSONLINE_H
#define _SHARD_JSONLINE_H

#include <stddef.h>
#include <sys/types.h>
#include <jansson.h>

/* The longest request line shard-mapd accepts, newline excluded. */
#define JL_MAX_REQUEST	(64 * 1024)
/* The longest reply line a client accepts. */
#define JL_MAX_REPLY	(16 * 1024 * 1024)

#define JL_DEFAULT_SOCKET "/run/shard/mapd.sock"

/* A growable receive buffer that hands out complete lines. */
struct jl_buf {
	char *data;
	size_t len;
	size_t cap;
};

void jl_buf_free(struct jl_buf *b);
/* Appends n bytes; -ENOMEM on failure. */
int jl_buf_append(struct jl_buf *b, const void *p, size_t n);
/*
 * Reads what is available on fd into b (one read(2)). Returns the number
 * of bytes read, 0 on end of file, -errno on error (-EAGAIN included).
 */
ssize_t jl_buf_fill(struct jl_buf *b, int fd);
/*
 * Takes the first complete line out of b: *line points to a NUL-terminated
 * copy without the newline, which the caller frees. Returns its length,
 * 0 when no complete line is buffered yet, -E2BIG when the buffered line
 * is longer than max (the caller should give up on this stream),
 * -ENOMEM.
 */
ssize_t jl_buf_take_line(struct jl_buf *b, size_t max, char **line);

/* Writes all of p, retrying on EINTR; -errno on error. */
int jl_write_all(int fd, const void *p, size_t n);

/* Compact one-line JSON of obj, newline appended; NULL on ENOMEM. */
char *jl_dump_line(const json_t *obj, size_t *len);

/* Connects to the UNIX stream socket at path; fd or -errno. */
int jl_connect(const char *path);

/*
 * Sends req as one line and reads one reply line into *reply (a JSON
 * object). Returns 0, -errno on I/O errors (-ECONNRESET when the server
 * closed the connection), -EBADMSG when the reply is not a JSON object.
 */
int jl_call(int fd, const json_t *req, json_t **reply);

#endif /* _SHARD_JSONLINE_H */
