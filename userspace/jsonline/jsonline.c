// SPDX-License-Identifier: GPL-2.0-only
/*
 * Newline-delimited JSON over UNIX stream sockets, shared by shard-mapd
 * and its clients.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "jsonline.h"

void jl_buf_free(struct jl_buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}

static int jl_buf_reserve(struct jl_buf *b, size_t more)
{
	size_t cap = b->cap ? b->cap : 4096;
	char *p;

	if (b->len + more <= b->cap)
		return 0;
	while (cap < b->len + more) {
		if (cap > (size_t)-1 / 2)
			return -ENOMEM;
		cap *= 2;
	}
	p = realloc(b->data, cap);
	if (!p)
		return -ENOMEM;
	b->data = p;
	b->cap = cap;
	return 0;
}

int jl_buf_append(struct jl_buf *b, const void *p, size_t n)
{
	int ret = jl_buf_reserve(b, n);

	if (ret)
		return ret;
	memcpy(b->data + b->len, p, n);
	b->len += n;
	return 0;
}

ssize_t jl_buf_fill(struct jl_buf *b, int fd)
{
	ssize_t n;
	int ret;

	ret = jl_buf_reserve(b, 4096);
	if (ret)
		return ret;
	do
		n = read(fd, b->data + b->len, b->cap - b->len);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	b->len += n;
	return n;
}

ssize_t jl_buf_take_line(struct jl_buf *b, size_t max, char **line)
{
	char *nl, *copy;
	size_t n;

	*line = NULL;
	nl = b->len ? memchr(b->data, '\n', b->len) : NULL;
	if (!nl)
		return b->len > max ? -E2BIG : 0;
	n = nl - b->data;
	if (n > max)
		return -E2BIG;
	copy = malloc(n + 1);
	if (!copy)
		return -ENOMEM;
	memcpy(copy, b->data, n);
	copy[n] = '\0';
	memmove(b->data, nl + 1, b->len - n - 1);
	b->len -= n + 1;
	*line = copy;
	/* An empty line is a line: report it with length 0 but a copy set. */
	return n;
}

int jl_write_all(int fd, const void *p, size_t n)
{
	const char *c = p;

	while (n) {
		ssize_t w = send(fd, c, n, MSG_NOSIGNAL);

		if (w < 0 && errno == ENOTSOCK)
			w = write(fd, c, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		c += w;
		n -= w;
	}
	return 0;
}

char *jl_dump_line(const json_t *obj, size_t *len)
{
	char *s = json_dumps(obj, JSON_COMPACT | JSON_ENCODE_ANY);
	size_t n;
	char *p;

	if (!s)
		return NULL;
	n = strlen(s);
	p = realloc(s, n + 2);
	if (!p) {
		free(s);
		return NULL;
	}
	p[n] = '\n';
	p[n + 1] = '\0';
	if (len)
		*len = n + 1;
	return p;
}

int jl_connect(const char *path)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int fd, ret;

	if (strlen(path) >= sizeof(sun.sun_path))
		return -ENAMETOOLONG;
	strcpy(sun.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		ret = -errno;
		close(fd);
		return ret;
	}
	return fd;
}

int jl_call(int fd, const json_t *req, json_t **reply)
{
	struct jl_buf b = { 0 };
	char *out, *line = NULL;
	size_t n;
	ssize_t r;
	int ret;

	*reply = NULL;
	out = jl_dump_line(req, &n);
	if (!out)
		return -ENOMEM;
	ret = jl_write_all(fd, out, n);
	free(out);
	if (ret)
		return ret;
	for (;;) {
		r = jl_buf_take_line(&b, JL_MAX_REPLY, &line);
		if (r < 0 || line)
			break;
		r = jl_buf_fill(&b, fd);
		if (r == 0)
			r = -ECONNRESET;
		if (r < 0)
			break;
	}
	jl_buf_free(&b);
	if (r < 0)
		return r;
	*reply = json_loads(line, JSON_REJECT_DUPLICATES, NULL);
	free(line);
	if (!*reply || !json_is_object(*reply)) {
		json_decref(*reply);
		*reply = NULL;
		return -EBADMSG;
	}
	return 0;
}
