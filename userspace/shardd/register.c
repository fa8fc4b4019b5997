// SPDX-License-Identifier: GPL-2.0-only
/*
 * Each attempt: connect, send the request line, read the reply line,
 * all on the ring and bounded by a link timeout. Any failure closes the
 * socket and arms a timer for the next attempt.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "log.h"
#include "loop.h"
#include "register.h"
#include "store.h"

#define RETRY_SEC	5
#define REFUSED_SEC	30
#define STEP_TIMEOUT_SEC 5
#define REPLY_MAX	4096

enum reg_state {
	REG_IDLE,
	REG_CONNECTING,
	REG_SENDING,
	REG_RECEIVING,
	REG_DONE,
};

struct shard_register {
	struct shardd *d;
	struct shard_register_opts o;
	char *socket_path, *addr, *dev_class, *host;

	enum reg_state state;
	int fd;
	struct sockaddr_un sun;
	char *line;
	size_t line_len, sent;
	char reply[REPLY_MAX];
	size_t reply_len;
	int last_err;		/* log a repeated failure only once */

	struct shard_ev ev;
	struct shard_ev timer_ev;
	struct __kernel_timespec timer_ts;
	struct __kernel_timespec step_ts;
};

/* The link timeouts' own completions carry nothing we need. */
static void on_ignore(struct shard_ev *ev, int res)
{
	(void)ev;
	(void)res;
}

static struct shard_ev ignore_ev = { .fn = on_ignore };

static void reg_step(struct shard_register *r);

static void schedule_retry(struct shard_register *r, unsigned int sec)
{
	struct io_uring_sqe *sqe;

	if (r->fd >= 0) {
		close(r->fd);
		r->fd = -1;
	}
	free(r->line);
	r->line = NULL;
	r->state = REG_IDLE;
	r->timer_ts.tv_sec = sec;
	r->timer_ts.tv_nsec = 0;
	sqe = shard_get_sqe(r->d);
	io_uring_prep_timeout(sqe, &r->timer_ts, 0, 0);
	shard_sqe_set_ev(sqe, &r->timer_ev);
}

static void fail(struct shard_register *r, int err, const char *what)
{
	if (err != r->last_err)
		pr_warn("mapd %s: %s: %s; serving unregistered, retrying every "
			"%d s", r->socket_path, what, strerror(-err), RETRY_SEC);
	r->last_err = err;
	schedule_retry(r, RETRY_SEC);
}

/* Adds a timeout to the SQE just prepared. */
static void link_timeout(struct shard_register *r, struct io_uring_sqe *sqe)
{
	sqe->flags |= IOSQE_IO_LINK;
	r->step_ts.tv_sec = STEP_TIMEOUT_SEC;
	r->step_ts.tv_nsec = 0;
	sqe = shard_get_sqe(r->d);
	io_uring_prep_link_timeout(sqe, &r->step_ts, 0);
	shard_sqe_set_ev(sqe, &ignore_ev);
}

static int build_line(struct shard_register *r)
{
	struct shard_store *st = r->d->store;
	json_t *req;
	char *s;

	req = json_pack("{s:s, s:I, s:s, s:i, s:I, s:s, s:s}",
			"cmd", "daemon-register",
			"id", (json_int_t)shard_store_daemon_id(st),
			"addr", r->addr,
			"port", (int)r->o.port,
			"capacity", (json_int_t)shard_store_capacity(st),
			"class", r->dev_class,
			"host", r->host);
	if (!req)
		return -ENOMEM;
	s = json_dumps(req, JSON_COMPACT);
	json_decref(req);
	if (!s)
		return -ENOMEM;
	r->line_len = strlen(s) + 1;
	r->line = malloc(r->line_len + 1);
	if (!r->line) {
		free(s);
		return -ENOMEM;
	}
	memcpy(r->line, s, r->line_len - 1);
	r->line[r->line_len - 1] = '\n';
	r->line[r->line_len] = '\0';
	free(s);
	return 0;
}

static void handle_reply(struct shard_register *r)
{
	struct shard_store *st = r->d->store;
	json_error_t jerr;
	json_t *msg, *ok, *id;
	uint32_t mine = shard_store_daemon_id(st);

	msg = json_loadb(r->reply, r->reply_len, 0, &jerr);
	if (!msg || !json_is_object(msg)) {
		pr_warn("mapd %s: unreadable reply: %s", r->socket_path,
			msg ? "not an object" : jerr.text);
		json_decref(msg);
		schedule_retry(r, RETRY_SEC);
		return;
	}
	ok = json_object_get(msg, "ok");
	id = json_object_get(msg, "id");
	if (!json_is_true(ok)) {
		json_t *e = json_object_get(msg, "error");

		pr_err("mapd %s refused the registration: %s; retrying in %d s",
		       r->socket_path, json_is_string(e) ? json_string_value(e)
		       : "(no reason given)", REFUSED_SEC);
		json_decref(msg);
		schedule_retry(r, REFUSED_SEC);
		return;
	}
	if (!json_is_integer(id) || json_integer_value(id) <= 0 ||
	    json_integer_value(id) > UINT32_MAX) {
		pr_err("mapd %s: reply without a valid id", r->socket_path);
		json_decref(msg);
		schedule_retry(r, RETRY_SEC);
		return;
	}
	if (!mine) {
		mine = (uint32_t)json_integer_value(id);
		if (shard_store_set_daemon_id(st, mine)) {
			json_decref(msg);
			schedule_retry(r, RETRY_SEC);
			return;
		}
		pr_info("registered with mapd: assigned daemon id %u", mine);
	} else if (mine != json_integer_value(id)) {
		/* Two daemons claiming one id would be worse than none. */
		pr_err("mapd %s answered id %lld but this store is daemon %u; "
		       "keeping %u", r->socket_path,
		       (long long)json_integer_value(id), mine, mine);
	} else {
		pr_info("registered with mapd as daemon %u", mine);
	}
	json_decref(msg);
	close(r->fd);
	r->fd = -1;
	free(r->line);
	r->line = NULL;
	r->state = REG_DONE;
}

static void on_event(struct shard_ev *ev, int res)
{
	struct shard_register *r = container_of(ev, struct shard_register, ev);
	char *nl;

	if (r->d->stop)
		return;
	switch (r->state) {
	case REG_CONNECTING:
		if (res < 0)
			return fail(r, res, "connect");
		r->state = REG_SENDING;
		r->sent = 0;
		break;
	case REG_SENDING:
		if (res < 0)
			return fail(r, res, "send");
		r->sent += (size_t)res;
		if (r->sent == r->line_len) {
			r->state = REG_RECEIVING;
			r->reply_len = 0;
		}
		break;
	case REG_RECEIVING:
		if (res < 0)
			return fail(r, res, "receive");
		if (res == 0)
			return fail(r, -ECONNRESET, "reply");
		r->reply_len += (size_t)res;
		nl = memchr(r->reply, '\n', r->reply_len);
		if (nl) {
			r->reply_len = (size_t)(nl - r->reply);
			r->last_err = 0;
			return handle_reply(r);
		}
		if (r->reply_len == sizeof(r->reply))
			return fail(r, -EMSGSIZE, "reply");
		break;
	default:
		return;
	}
	reg_step(r);
}

/* Submits the I/O for the current state. */
static void reg_step(struct shard_register *r)
{
	struct io_uring_sqe *sqe = shard_get_sqe(r->d);

	switch (r->state) {
	case REG_CONNECTING:
		io_uring_prep_connect(sqe, r->fd, (struct sockaddr *)&r->sun,
				      sizeof(r->sun));
		break;
	case REG_SENDING:
		io_uring_prep_send(sqe, r->fd, r->line + r->sent,
				   r->line_len - r->sent, MSG_NOSIGNAL);
		break;
	case REG_RECEIVING:
		io_uring_prep_recv(sqe, r->fd, r->reply + r->reply_len,
				   sizeof(r->reply) - r->reply_len, 0);
		break;
	default:
		io_uring_prep_nop(sqe);
		shard_sqe_set_ev(sqe, &ignore_ev);
		return;
	}
	shard_sqe_set_ev(sqe, &r->ev);
	link_timeout(r, sqe);
}

static void attempt(struct shard_register *r)
{
	int ret;

	if (access(r->socket_path, F_OK) < 0)
		return fail(r, -errno, "socket not found");
	r->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (r->fd < 0)
		return fail(r, -errno, "socket");
	ret = build_line(r);
	if (ret)
		return fail(r, ret, "building the request");
	r->state = REG_CONNECTING;
	reg_step(r);
}

static void on_timer(struct shard_ev *ev, int res)
{
	struct shard_register *r =
		container_of(ev, struct shard_register, timer_ev);

	(void)res;
	if (!r->d->stop)
		attempt(r);
}

int shard_register_start(struct shardd *d,
			 const struct shard_register_opts *opts)
{
	struct shard_register *r;
	int ret;

	r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	r->socket_path = strdup(opts->socket_path);
	r->addr = strdup(opts->addr);
	r->dev_class = strdup(opts->dev_class);
	r->host = strdup(opts->host);
	if (!r->socket_path || !r->addr || !r->dev_class || !r->host) {
		ret = -ENOMEM;
		goto err;
	}
	if (strlen(r->socket_path) >= sizeof(r->sun.sun_path)) {
		pr_err("mapd socket path too long: %s", r->socket_path);
		ret = -ENAMETOOLONG;
		goto err;
	}
	r->o = *opts;
	r->d = d;
	r->fd = -1;
	r->ev.fn = on_event;
	r->timer_ev.fn = on_timer;
	r->sun.sun_family = AF_UNIX;
	strcpy(r->sun.sun_path, r->socket_path);
	d->reg = r;
	attempt(r);
	return 0;
err:
	free(r->socket_path);
	free(r->addr);
	free(r->dev_class);
	free(r->host);
	free(r);
	return ret;
}

void shard_register_free(struct shardd *d)
{
	struct shard_register *r = d->reg;

	if (!r)
		return;
	if (r->fd >= 0)
		close(r->fd);
	free(r->line);
	free(r->socket_path);
	free(r->addr);
	free(r->dev_class);
	free(r->host);
	free(r);
	d->reg = NULL;
}
