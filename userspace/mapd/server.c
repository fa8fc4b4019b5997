// SPDX-License-Identifier: GPL-2.0-only
/*
 * The UNIX socket server: non-blocking clients in one poll() loop, one
 * JSON request line in, one reply line out, in order. A request line
 * longer than JL_MAX_REQUEST gets an error reply and the connection is
 * closed once the reply is out.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "../jsonline/jsonline.h"
#include "cluster.h"
#include "dispatch.h"
#include "genl_event.h"
#include "log.h"
#include "server.h"

#define MAX_CLIENTS	128
#define MAX_PENDING_OUT	(4 * 1024 * 1024)	/* stop reading past this */
#define SYNC_INTERVAL	5	/* seconds between kernel checks */
#define TICK_INTERVAL	1	/* seconds between liveness checks */

struct client {
	int fd;
	uint32_t daemon_id;	/* a daemon's session: who it is, or 0 */
	bool eof;		/* the client is done sending */
	bool closing;		/* answer no more; close when out is sent */
	struct jl_buf in;
	struct jl_buf out;
};

static int mkdir_p(const char *dir, mode_t mode)
{
	char *p, *copy = strdup(dir);
	int ret = 0;

	if (!copy)
		return -ENOMEM;
	for (p = copy + 1; ; p++) {
		if (*p == '/' || !*p) {
			char c = *p;

			*p = '\0';
			if (mkdir(copy, mode) < 0 && errno != EEXIST) {
				ret = -errno;
				break;
			}
			*p = c;
			if (!c)
				break;
		}
	}
	free(copy);
	return ret;
}

int server_listen(const char *path)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	char *dir, *slash;
	struct stat sb;
	mode_t old;
	int fd, ret;

	if (strlen(path) >= sizeof(sun.sun_path)) {
		log_err("socket path %s is too long", path);
		return -ENAMETOOLONG;
	}
	strcpy(sun.sun_path, path);
	dir = strdup(path);
	if (!dir)
		return -ENOMEM;
	slash = strrchr(dir, '/');
	ret = 0;
	if (slash && slash != dir) {
		*slash = '\0';
		ret = mkdir_p(dir, 0755);
		if (ret)
			log_err("cannot create %s: %s", dir, strerror(-ret));
	}
	free(dir);
	if (ret)
		return ret;

	if (lstat(path, &sb) == 0) {
		if (!S_ISSOCK(sb.st_mode)) {
			log_err("%s exists and is not a socket", path);
			return -EEXIST;
		}
		fd = jl_connect(path);
		if (fd >= 0) {
			close(fd);
			log_err("another shard-mapd is serving %s", path);
			return -EADDRINUSE;
		}
		unlink(path);	/* stale */
	}

	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0) {
		ret = -errno;
		log_err("socket: %s", strerror(-ret));
		return ret;
	}
	old = umask(0177);
	ret = bind(fd, (struct sockaddr *)&sun, sizeof(sun));
	umask(old);
	if (ret < 0 || chmod(path, 0600) < 0 || listen(fd, 64) < 0) {
		ret = -errno;
		log_err("cannot listen on %s: %s", path, strerror(-ret));
		close(fd);
		return ret;
	}
	return fd;
}

static void client_free(struct client *c)
{
	close(c->fd);
	jl_buf_free(&c->in);
	jl_buf_free(&c->out);
	free(c);
}

static int client_reply(struct client *c, const char *reply)
{
	if (!reply)
		reply = "{\"ok\":false,\"error\":\"out of memory\"}";
	if (jl_buf_append(&c->out, reply, strlen(reply)) ||
	    jl_buf_append(&c->out, "\n", 1))
		return -ENOMEM;
	return 0;
}

/* Answers every complete line buffered; -errno to drop the client. */
static int client_process(struct mapd *m, struct client *c)
{
	char *line, *reply;
	ssize_t n;
	int ret;

	while (!c->closing && c->out.len < MAX_PENDING_OUT) {
		n = jl_buf_take_line(&c->in, JL_MAX_REQUEST, &line);
		if (n == -E2BIG) {
			c->closing = true;
			return client_reply(c,
				"{\"ok\":false,\"error\":\"request line longer than 65536 bytes\"}");
		}
		if (n < 0)
			return n;
		if (!line)
			return 0;
		if (strspn(line, " \t\r") == (size_t)n) {	/* blank */
			free(line);
			continue;
		}
		m->client_daemon = &c->daemon_id;
		reply = mapd_handle_line(m, line, n);
		m->client_daemon = NULL;
		free(line);
		ret = client_reply(c, reply);
		free(reply);
		if (ret)
			return ret;
	}
	return 0;
}

static int client_flush(struct client *c)
{
	while (c->out.len) {
		ssize_t n = send(c->fd, c->out.data, c->out.len,
				 MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN)
				return 0;
			return -errno;
		}
		memmove(c->out.data, c->out.data + n, c->out.len - n);
		c->out.len -= n;
	}
	return 0;
}

/* Reads, answers, writes; -errno or 1 (done) to drop the client. */
static int client_event(struct mapd *m, struct client *c, short revents)
{
	ssize_t n;
	int ret;

	if (revents & POLLERR)
		return -EIO;
	if ((revents & (POLLIN | POLLHUP)) && !c->eof && !c->closing) {
		n = jl_buf_fill(&c->in, c->fd);
		if (n == 0)
			c->eof = true;	/* answer what came, then go */
		else if (n < 0 && n != -EAGAIN)
			return n;
	}
	/* Answer until the client stops reading or nothing is left. */
	do {
		ret = client_process(m, c);
		if (!ret)
			ret = client_flush(c);
		if (ret)
			return ret;
	} while (!c->out.len && !c->closing && c->in.len &&
		 memchr(c->in.data, '\n', c->in.len));
	return (c->eof || c->closing) && !c->out.len ? 1 : 0;
}

static void accept_clients(int lfd, struct client **clients, size_t *n)
{
	for (;;) {
		int fd = accept4(lfd, NULL, NULL,
				 SOCK_NONBLOCK | SOCK_CLOEXEC);
		struct client *c;

		if (fd < 0) {
			if (errno != EAGAIN && errno != EINTR)
				log_warn("accept: %s", strerror(errno));
			return;
		}
		if (*n >= MAX_CLIENTS) {
			log_warn("too many clients; refusing one");
			close(fd);
			continue;
		}
		c = calloc(1, sizeof(*c));
		if (!c) {
			close(fd);
			return;
		}
		c->fd = fd;
		clients[(*n)++] = c;
	}
}

/*
 * A daemon's session closed: unless it has another one open (it
 * reconnected first), its process is gone, so it is down now rather
 * than after the grace period.
 */
static void daemon_session_closed(struct mapd *m, struct client **clients,
				  size_t n, uint32_t id)
{
	size_t i;

	if (!id)
		return;
	for (i = 0; i < n; i++)
		if (clients[i]->daemon_id == id)
			return;
	mapd_daemon_gone(m, id);
}

/*
 * This mapd joined a cluster: every other connection was opened under
 * the state it had alone, where daemon ids meant other daemons. They are
 * closed now, their unread requests dropped, so that no heartbeat of an
 * old id reaches the cluster; daemons register again. Not "gone": their
 * ids name other daemons now.
 */
static void drop_old_sessions(struct mapd *m, struct client **clients,
			      size_t n, struct client *keep)
{
	size_t i;

	m->drop_daemon_sessions = false;
	for (i = 0; i < n; i++) {
		struct client *c = clients[i];

		if (c == keep)
			continue;
		c->daemon_id = 0;
		c->closing = true;
		c->in.len = 0;
		shutdown(c->fd, SHUT_RDWR);
	}
}

static time_t now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec;
}

int server_run(struct mapd *m, int lfd, volatile sig_atomic_t *stop)
{
	struct client *clients[MAX_CLIENTS];
	struct pollfd pfd[MAX_CLIENTS + 3];
	int efd, kfd = kevents_fd(m->events);
	struct timespec timeout = { .tv_sec = TICK_INTERVAL };
	time_t last_sync = now(), last_tick = now();
	struct kerr kerr;
	size_t n = 0, i, ev;
	uint32_t gone;
	sigset_t mask;
	int ret = 0;

	sigprocmask(SIG_SETMASK, NULL, &mask);
	sigdelset(&mask, SIGINT);
	sigdelset(&mask, SIGTERM);
	while (!*stop) {
		pfd[0] = (struct pollfd){ .fd = lfd, .events = POLLIN };
		for (i = 0; i < n; i++) {
			struct client *c = clients[i];

			pfd[i + 1].fd = c->fd;
			pfd[i + 1].events = 0;
			pfd[i + 1].revents = 0;
			if (!c->eof && !c->closing &&
			    c->out.len < MAX_PENDING_OUT)
				pfd[i + 1].events |= POLLIN;
			if (c->out.len)
				pfd[i + 1].events |= POLLOUT;
		}
		ev = n + 1;
		/* Cluster mode may begin later (shardctl cluster create). */
		efd = cluster_event_fd(m);
		pfd[ev] = (struct pollfd){ .fd = efd, .events = POLLIN };
		pfd[ev + 1] = (struct pollfd){ .fd = kfd, .events = POLLIN };
		ret = ppoll(pfd, ev + 2, &timeout, &mask);
		if (ret < 0) {
			ret = 0;
			if (errno == EINTR)
				continue;
			ret = -errno;
			log_err("poll: %s", strerror(-ret));
			break;
		}
		ret = 0;
		/* Clients first: accepting changes the array. */
		for (i = n; i-- > 0;) {
			if (!pfd[i + 1].revents)
				continue;
			ret = client_event(m, clients[i], pfd[i + 1].revents);
			if (m->drop_daemon_sessions)
				drop_old_sessions(m, clients, n, clients[i]);
			if (!ret)
				continue;
			ret = 0;
			gone = clients[i]->daemon_id;
			client_free(clients[i]);
			clients[i] = clients[--n];
			daemon_session_closed(m, clients, n, gone);
		}
		if (efd >= 0 && (pfd[ev].revents & POLLIN))
			cluster_refresh(m);
		if (kfd >= 0 && (pfd[ev + 1].revents & POLLIN))
			kevents_read(m->events);
		if (pfd[0].revents & POLLIN)
			accept_clients(lfd, clients, &n);
		if (now() - last_tick >= TICK_INTERVAL) {
			mapd_tick(m);
			last_tick = now();
		}
		if (m->kernel.ops && now() - last_sync >= SYNC_INTERVAL) {
			mapd_sync_kernel(m, &kerr);
			kevents_subscribe(m->events);
			last_sync = now();
		}
	}
	for (i = 0; i < n; i++)
		client_free(clients[i]);
	return ret;
}
