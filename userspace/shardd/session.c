// SPDX-License-Identifier: GPL-2.0-only
/*
 * One request to mapd at a time: send its line, receive the reply line,
 * handle it, then send the next one wanted (registration first on every
 * connection, then map-get before heartbeat). Every connect, send and
 * receive is bounded by a link timeout. Whatever goes wrong (I/O error,
 * timeout, an error reply, a malformed or oversized reply line, an
 * invalid map) closes the connection and arms the reconnect timer; the
 * message is logged once, not at every retry.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "backfill.h"
#include "conn.h"
#include "log.h"
#include "loop.h"
#include "map.h"
#include "rep.h"
#include "scrub.h"
#include "session.h"
#include "store.h"

/* In heartbeat intervals (5 s, 30 s and 5 s at the default 1 s). */
#define RETRY_BEATS	5	/* reconnect after a failure */
#define REFUSED_BEATS	30	/* reconnect after a refused register */
#define TIMEOUT_BEATS	5	/* one connect, send or receive */
/* Good replies in one session after which an old failure is news again. */
#define HEALTHY_REPLIES	10

/* A reply line, newline excluded: a map of 4096 PGs x 5 is ~110 KB. */
#define REPLY_MAX	(16U << 20)
#define RX_INITIAL	4096U
#define RX_KEEP		(1U << 20)

enum sess_state {
	SESS_DOWN,		/* the reconnect timer is armed */
	SESS_CONNECTING,
	SESS_UP,
};

enum sess_req {
	REQ_NONE,
	REQ_REGISTER,
	REQ_HEARTBEAT,
	REQ_MAP,
	REQ_NOTE,
};

static const char *const req_name[] = {
	[REQ_NONE] = "none",
	[REQ_REGISTER] = "daemon-register",
	[REQ_HEARTBEAT] = "daemon-heartbeat",
	[REQ_MAP] = "map-get",
	[REQ_NOTE] = "request",
};

/* A request another part of the daemon asked for (backfill's). */
struct note {
	struct note *next;
	json_t *req;
	shard_session_note_fn done;
	void *arg;
};

struct shard_session {
	struct shardd *d;
	char *socket_path, *addr, *dev_class, *host, *rack, *site;
	uint16_t port;
	unsigned int hb_ms;
	struct sockaddr_un sun;

	enum sess_state state;
	int fd;
	bool registered;
	enum sess_req req;	/* in flight: being sent, or its reply read */
	bool sending;
	bool want_heartbeat, want_map;
	uint64_t hinted;	/* highest client epoch a fetch was made for */
	uint64_t ignored_epoch;	/* older map last logged */
	unsigned int good_replies;

	char *tx;
	size_t tx_len, tx_sent;
	char *rx;
	size_t rx_cap, rx_len, rx_scanned;

	struct note *notes, *notes_tail;	/* the head is in flight */

	char last_fail[256];	/* the failure last logged */
	bool announced_down;	/* a failure was logged since registering */

	bool hb_armed;
	struct shard_ev io_ev, hb_ev, retry_ev;
	struct __kernel_timespec io_ts, hb_ts, retry_ts;
};

/* The link timeouts' own completions carry nothing we need. */
static void on_ignore(struct shard_ev *ev, int res)
{
	(void)ev;
	(void)res;
}

static struct shard_ev ignore_ev = { .fn = on_ignore };

static void start_next(struct shard_session *s);

static void set_ts(struct __kernel_timespec *ts, unsigned long long ms)
{
	ts->tv_sec = (long long)(ms / 1000);
	ts->tv_nsec = (long long)(ms % 1000) * 1000000;
}

static void arm_timer(struct shard_session *s, struct shard_ev *ev,
		      struct __kernel_timespec *ts, unsigned long long ms)
{
	struct io_uring_sqe *sqe = shard_get_sqe(s->d);

	set_ts(ts, ms);
	io_uring_prep_timeout(sqe, ts, 0, 0);
	shard_sqe_set_ev(sqe, ev);
}

/* Bounds the I/O just prepared in sqe. */
static void arm_io(struct shard_session *s, struct io_uring_sqe *sqe)
{
	shard_sqe_set_ev(sqe, &s->io_ev);
	sqe->flags |= IOSQE_IO_LINK;
	set_ts(&s->io_ts, (unsigned long long)s->hb_ms * TIMEOUT_BEATS);
	sqe = shard_get_sqe(s->d);
	io_uring_prep_link_timeout(sqe, &s->io_ts, 0);
	shard_sqe_set_ev(sqe, &ignore_ev);
}

/* Ends every note queued: the caller sends again if it still wants. */
static void notes_fail(struct shard_session *s, const char *why)
{
	struct note *n = s->notes;

	s->notes = s->notes_tail = NULL;
	while (n) {
		struct note *next = n->next;

		json_decref(n->req);
		if (n->done)
			n->done(n->arg, why, NULL);
		free(n);
		n = next;
	}
}

static void sess_close(struct shard_session *s)
{
	notes_fail(s, "the session with mapd closed");
	if (s->fd >= 0) {
		close(s->fd);
		s->fd = -1;
	}
	free(s->tx);
	s->tx = NULL;
	free(s->rx);
	s->rx = NULL;
	s->rx_cap = s->rx_len = s->rx_scanned = 0;
	s->state = SESS_DOWN;
	s->registered = false;
	s->req = REQ_NONE;
	s->want_heartbeat = s->want_map = false;
	s->good_replies = 0;
}

/* Only from a completion of the session's own I/O (or before any was
 * submitted), so that nothing in flight refers to the closed socket. */
static void sess_fail(struct shard_session *s, unsigned int beats,
		      const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void sess_fail(struct shard_session *s, unsigned int beats,
		      const char *fmt, ...)
{
	unsigned long long ms = (unsigned long long)s->hb_ms * beats;
	char msg[sizeof(s->last_fail)];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (strcmp(msg, s->last_fail)) {
		pr_warn("mapd %s: %s; serving with map epoch %" PRIu64
			", reconnecting every %llu ms", s->socket_path, msg,
			s->d->epoch, ms);
		strcpy(s->last_fail, msg);
		s->announced_down = true;
	} else {
		pr_debug("mapd %s: %s; reconnecting in %llu ms",
			 s->socket_path, msg, ms);
	}
	sess_close(s);
	arm_timer(s, &s->retry_ev, &s->retry_ts, ms);
}

static void arm_heartbeat(struct shard_session *s)
{
	if (s->hb_armed)
		return;
	s->hb_armed = true;
	arm_timer(s, &s->hb_ev, &s->hb_ts, s->hb_ms);
}

/* The request line for s->req, newline terminated, in s->tx. */
static int build_request(struct shard_session *s)
{
	struct shard_store *st = s->d->store;
	char uuid[SHARD_STORE_UUID_HEX];
	uint64_t objects, bytes;
	json_t *req = NULL;
	char *line;
	size_t n;

	switch (s->req) {
	case REQ_REGISTER:
		req = json_pack("{s:s, s:I, s:s, s:i, s:I, s:s, s:s, s:I}",
				"cmd", req_name[s->req],
				"id", (json_int_t)shard_store_daemon_id(st),
				"addr", s->addr,
				"port", (int)s->port,
				"capacity",
				(json_int_t)shard_store_capacity(st),
				"class", s->dev_class,
				"host", s->host,
				"used", (json_int_t)shard_store_used(st));
		if (req && shard_store_uuid(st, uuid) &&
		    json_object_set_new(req, "uuid", json_string(uuid)))
			goto nomem;
		if (req && s->rack &&
		    json_object_set_new(req, "rack", json_string(s->rack)))
			goto nomem;
		if (req && s->site &&
		    json_object_set_new(req, "site", json_string(s->site)))
			goto nomem;
		break;
	case REQ_HEARTBEAT:
		shard_backfill_progress(s->d, &objects, &bytes);
		req = json_pack("{s:s, s:I, s:I, s:I, s:{s:I, s:I, s:I}}",
				"cmd", req_name[s->req],
				"id", (json_int_t)shard_store_daemon_id(st),
				"epoch", (json_int_t)s->d->epoch,
				"used", (json_int_t)shard_store_used(st),
				"recovery",
				"objects", (json_int_t)objects,
				"bytes", (json_int_t)bytes,
				"copied", (json_int_t)s->d->bf_copied);
		break;
	case REQ_MAP:
		req = json_pack("{s:s}", "cmd", req_name[s->req]);
		break;
	case REQ_NOTE:
		req = json_incref(s->notes->req);
		break;
	case REQ_NONE:
		return -EINVAL;
	}
	if (!req)
		return -ENOMEM;
	line = json_dumps(req, JSON_COMPACT);
	json_decref(req);
	if (!line)
		return -ENOMEM;
	n = strlen(line);
	s->tx = realloc(line, n + 2);
	if (!s->tx) {
		free(line);
		return -ENOMEM;
	}
	s->tx[n] = '\n';
	s->tx[n + 1] = '\0';
	s->tx_len = n + 1;
	s->tx_sent = 0;
	return 0;
nomem:
	json_decref(req);
	return -ENOMEM;
}

static void arm_send(struct shard_session *s)
{
	struct io_uring_sqe *sqe = shard_get_sqe(s->d);

	io_uring_prep_send(sqe, s->fd, s->tx + s->tx_sent,
			   s->tx_len - s->tx_sent, MSG_NOSIGNAL);
	arm_io(s, sqe);
}

static void arm_recv(struct shard_session *s)
{
	struct io_uring_sqe *sqe = shard_get_sqe(s->d);

	io_uring_prep_recv(sqe, s->fd, s->rx + s->rx_len,
			   s->rx_cap - s->rx_len, 0);
	arm_io(s, sqe);
}

/* Takes the daemon id from a registration reply. 0 or -1 after
 * sess_fail. */
static int got_register(struct shard_session *s, json_t *msg)
{
	struct shard_store *st = s->d->store;
	uint32_t mine = shard_store_daemon_id(st);
	json_t *id = json_object_get(msg, "id");
	json_int_t v;

	if (!json_is_integer(id) || json_integer_value(id) <= 0 ||
	    json_integer_value(id) >= SHARD_MAP_NONE) {
		sess_fail(s, RETRY_BEATS, "registration reply without a valid "
			  "id");
		return -1;
	}
	v = json_integer_value(id);
	if (mine && mine != v) {
		/* Two daemons claiming one id would be worse than none. */
		sess_fail(s, REFUSED_BEATS, "mapd answered id %lld but this "
			  "store is daemon %u", (long long)v, mine);
		return -1;
	}
	if (!mine) {
		if (shard_store_set_daemon_id(st, (uint32_t)v)) {
			sess_fail(s, RETRY_BEATS, "cannot record daemon id "
				  "%lld in the store", (long long)v);
			return -1;
		}
		pr_info("registered with mapd: assigned daemon id %lld",
			(long long)v);
	} else if (s->announced_down || !s->last_fail[0]) {
		pr_info("registered with mapd as daemon %u", mine);
	}
	s->announced_down = false;
	s->registered = true;
	/* Learn mapd's epoch now rather than one interval later. */
	s->want_heartbeat = true;
	arm_heartbeat(s);
	return 0;
}

/* The scrubs mapd asks of us: [{"pool": P, "pg": N, "deep": bool}]. */
static void take_scrubs(struct shard_session *s, json_t *list)
{
	json_t *e, *pool, *pg, *deep;
	size_t i;

	if (!list)
		return;
	if (!json_is_array(list)) {
		pr_warn("mapd: heartbeat reply's scrub is not an array: "
			"ignored");
		return;
	}
	json_array_foreach(list, i, e) {
		pool = json_object_get(e, "pool");
		pg = json_object_get(e, "pg");
		deep = json_object_get(e, "deep");
		if (!json_is_integer(pool) || !json_is_integer(pg) ||
		    json_integer_value(pool) < 0 ||
		    json_integer_value(pool) > UINT32_MAX ||
		    json_integer_value(pg) < 0 ||
		    json_integer_value(pg) > UINT32_MAX ||
		    (deep && !json_is_boolean(deep))) {
			pr_warn("mapd: heartbeat reply's scrub[%zu] is not "
				"{pool, pg, deep}: ignored", i);
			continue;
		}
		shard_scrub_request(s->d, (uint32_t)json_integer_value(pool),
				    (uint32_t)json_integer_value(pg),
				    json_is_true(deep));
	}
}

static int got_heartbeat(struct shard_session *s, json_t *msg)
{
	json_t *epoch = json_object_get(msg, "epoch");

	if (!json_is_integer(epoch) || json_integer_value(epoch) < 0) {
		sess_fail(s, RETRY_BEATS, "heartbeat reply without a valid "
			  "epoch");
		return -1;
	}
	if ((uint64_t)json_integer_value(epoch) > s->d->epoch)
		s->want_map = true;
	take_scrubs(s, json_object_get(msg, "scrub"));
	shard_backfill_set_share(s->d, json_object_get(msg, "recovery_share"));
	shard_scrub_tick(s->d);
	return 0;
}

static void install_map(struct shard_session *s, struct shard_map *map)
{
	struct shardd *d = s->d;
	uint32_t me = shard_store_daemon_id(d->store);
	struct shard_map *prev = d->map;

	shard_map_inherit(map, prev);
	d->map = map;
	d->epoch = map->epoch;
	shard_rep_map_changed(d);
	shard_backfill_map_changed(d, prev);
	shard_map_free(prev);
	shard_scrub_map_changed(d);
	shard_conn_map_changed(d);
	pr_info("map epoch %" PRIu64 ": %zu daemons, %zu pools; daemon %u is "
		"primary of %zu PGs", map->epoch, map->nr_daemons,
		map->nr_pools, me, shard_map_primary_count(map, me));
}

static int got_map(struct shard_session *s, json_t *msg)
{
	struct shard_map *map;
	char err[256] = "";
	uint64_t cur = s->d->epoch;

	if (shard_map_parse(json_object_get(msg, "map"), &map, err,
			    sizeof(err))) {
		sess_fail(s, RETRY_BEATS, "refusing the map: %s", err);
		return -1;
	}
	if (map->epoch > cur) {
		install_map(s, map);
		return 0;
	}
	/* Well formed but not newer: mapd lost its state, or raced. */
	if (map->epoch < cur && map->epoch != s->ignored_epoch)
		pr_warn("mapd %s: ignoring map epoch %" PRIu64 ", older than "
			"the current %" PRIu64, s->socket_path, map->epoch,
			cur);
	else
		pr_debug("mapd %s: map epoch %" PRIu64 " is not newer than %"
			 PRIu64, s->socket_path, map->epoch, cur);
	s->ignored_epoch = map->epoch;
	shard_map_free(map);
	return 0;
}

/*
 * mapd says our id is another store's: this host's mapd joined a cluster
 * after we registered with it alone. A store that holds nothing can take
 * a new id; one that holds data keeps its id and stays refused, since
 * clients would look for its data under the id it has.
 */
static int renumber(struct shard_session *s)
{
	struct shard_store *st = s->d->store;
	uint32_t old = shard_store_daemon_id(st);

	if (!old || shard_store_used(st))
		return -1;
	if (shard_store_set_daemon_id(st, 0))
		return -1;
	pr_warn("daemon id %u belongs to another store in mapd's cluster; this store holds no data, so it registers anew",
		old);
	return 0;
}

/* The reply line to s->req is s->rx[0..len). */
static void handle_reply(struct shard_session *s, size_t len)
{
	enum sess_req req = s->req;
	json_error_t jerr;
	json_t *msg, *ok, *e;
	char why[160];
	bool taken;
	int ret;

	msg = json_loadb(s->rx, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!msg || !json_is_object(msg)) {
		json_decref(msg);
		return sess_fail(s, RETRY_BEATS, "%s: unreadable reply: %s",
				 req_name[req], msg ? "not an object"
						    : jerr.text);
	}
	ok = json_object_get(msg, "ok");
	if (!json_is_boolean(ok)) {
		json_decref(msg);
		return sess_fail(s, RETRY_BEATS, "%s: reply without a boolean "
				 "\"ok\"", req_name[req]);
	}
	if (req == REQ_NOTE) {
		struct note *n = s->notes;

		e = json_object_get(msg, "error");
		snprintf(why, sizeof(why), "%s", json_is_string(e) ?
			 json_string_value(e) : "(no reason given)");
		s->notes = n->next;
		if (!s->notes)
			s->notes_tail = NULL;
		if (json_is_true(ok))
			n->done(n->arg, NULL, msg);
		else
			n->done(n->arg, why, NULL);
		json_decref(n->req);
		free(n);
		json_decref(msg);
		msg = NULL;
		ret = 0;
		goto next;
	}
	if (!json_is_true(ok)) {
		e = json_object_get(msg, "error");
		/* Copied out: msg is freed before sess_fail formats. */
		snprintf(why, sizeof(why), "%s", json_is_string(e) ?
			 json_string_value(e) : "(no reason given)");
		taken = req == REQ_REGISTER &&
			json_is_string(json_object_get(msg, "reason")) &&
			!strcmp(json_string_value(json_object_get(msg, "reason")),
				"id-taken");
		json_decref(msg);
		if (taken && !renumber(s))
			return sess_fail(s, 1, "%s refused: %s; asking for a new id",
					 req_name[req], why);
		return sess_fail(s, req == REQ_REGISTER ? REFUSED_BEATS
							 : RETRY_BEATS,
				 "%s refused: %s", req_name[req], why);
	}
	switch (req) {
	case REQ_REGISTER:
		ret = got_register(s, msg);
		break;
	case REQ_HEARTBEAT:
		ret = got_heartbeat(s, msg);
		break;
	case REQ_MAP:
		ret = got_map(s, msg);
		break;
	default:
		ret = -1;
		break;
	}
	json_decref(msg);
	if (ret)
		return;		/* the session was closed */
next:
	s->req = REQ_NONE;
	s->rx_len = s->rx_scanned = 0;
	if (s->rx_cap > RX_KEEP) {
		/* Maps come rarely: do not keep a big buffer around. */
		char *p = realloc(s->rx, RX_INITIAL);

		if (p) {
			s->rx = p;
			s->rx_cap = RX_INITIAL;
		}
	}
	if (++s->good_replies == HEALTHY_REPLIES)
		s->last_fail[0] = '\0';
	start_next(s);
}

/* Room for more of the reply; false after sess_fail. */
static bool rx_room(struct shard_session *s)
{
	size_t cap;
	char *p;

	if (s->rx_len < s->rx_cap)
		return true;
	if (s->rx_cap > REPLY_MAX) {
		sess_fail(s, RETRY_BEATS, "%s: reply line longer than %u "
			  "bytes", req_name[s->req], REPLY_MAX);
		return false;
	}
	cap = s->rx_cap * 2 > REPLY_MAX + 1 ? REPLY_MAX + 1 : s->rx_cap * 2;
	p = realloc(s->rx, cap);
	if (!p) {
		sess_fail(s, RETRY_BEATS, "no memory for a %zu-byte reply",
			  cap);
		return false;
	}
	s->rx = p;
	s->rx_cap = cap;
	return true;
}

static void received(struct shard_session *s, int res)
{
	char *nl;

	if (res < 0)
		return sess_fail(s, RETRY_BEATS, "%s: receive: %s",
				 req_name[s->req], strerror(-res));
	if (res == 0)
		return sess_fail(s, RETRY_BEATS, "%s: mapd closed the "
				 "connection", req_name[s->req]);
	s->rx_len += (size_t)res;
	nl = memchr(s->rx + s->rx_scanned, '\n', s->rx_len - s->rx_scanned);
	s->rx_scanned = s->rx_len;
	if (!nl) {
		if (rx_room(s))
			arm_recv(s);
		return;
	}
	/* Replies answer requests, one each: nothing may follow. */
	if ((size_t)(nl - s->rx) + 1 != s->rx_len)
		return sess_fail(s, RETRY_BEATS, "%s: data after the reply",
				 req_name[s->req]);
	handle_reply(s, (size_t)(nl - s->rx));
}

static void on_io(struct shard_ev *ev, int res)
{
	struct shard_session *s = container_of(ev, struct shard_session,
					       io_ev);

	if (s->d->stop)
		return;
	if (res == -ECANCELED)
		res = -ETIMEDOUT;	/* the link timeout fired */
	if (s->state == SESS_CONNECTING) {
		if (res < 0)
			return sess_fail(s, RETRY_BEATS, "connect: %s",
					 strerror(-res));
		s->state = SESS_UP;
		return start_next(s);
	}
	if (!s->sending)
		return received(s, res);
	if (res < 0)
		return sess_fail(s, RETRY_BEATS, "%s: send: %s",
				 req_name[s->req], strerror(-res));
	s->tx_sent += (size_t)res;
	if (s->tx_sent < s->tx_len)
		return arm_send(s);
	free(s->tx);
	s->tx = NULL;
	s->sending = false;
	arm_recv(s);
}

/* Sends the next request wanted, if none is in flight. */
static void start_next(struct shard_session *s)
{
	int ret;

	if (s->state != SESS_UP || s->req != REQ_NONE)
		return;
	if (!s->registered) {
		s->req = REQ_REGISTER;
	} else if (s->want_map) {
		s->req = REQ_MAP;
		s->want_map = false;
	} else if (s->want_heartbeat) {
		s->req = REQ_HEARTBEAT;
		s->want_heartbeat = false;
	} else if (s->notes) {
		s->req = REQ_NOTE;
	} else {
		return;
	}
	ret = build_request(s);
	if (ret)
		return sess_fail(s, RETRY_BEATS, "building the %s request: %s",
				 req_name[s->req], strerror(-ret));
	if (!s->rx) {
		s->rx = malloc(RX_INITIAL);
		if (!s->rx)
			return sess_fail(s, RETRY_BEATS, "no memory for a "
					 "reply");
		s->rx_cap = RX_INITIAL;
	}
	s->sending = true;
	arm_send(s);
}

static void attempt(struct shard_session *s)
{
	struct io_uring_sqe *sqe;

	if (access(s->socket_path, F_OK) < 0)
		return sess_fail(s, RETRY_BEATS, "socket not found");
	s->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s->fd < 0)
		return sess_fail(s, RETRY_BEATS, "socket: %s",
				 strerror(errno));
	s->state = SESS_CONNECTING;
	sqe = shard_get_sqe(s->d);
	io_uring_prep_connect(sqe, s->fd, (struct sockaddr *)&s->sun,
			      sizeof(s->sun));
	arm_io(s, sqe);
}

static void on_retry(struct shard_ev *ev, int res)
{
	struct shard_session *s = container_of(ev, struct shard_session,
					       retry_ev);

	(void)res;
	if (!s->d->stop)
		attempt(s);
}

static void on_heartbeat(struct shard_ev *ev, int res)
{
	struct shard_session *s = container_of(ev, struct shard_session,
					       hb_ev);

	(void)res;
	s->hb_armed = false;
	/* Without a session the timer stops; registering restarts it. */
	if (s->d->stop || !s->registered)
		return;
	s->want_heartbeat = true;
	start_next(s);
	arm_heartbeat(s);
}

void shard_session_map_hint(struct shardd *d, uint64_t epoch)
{
	struct shard_session *s = d->session;

	/* One fetch per newer epoch heard of, however many requests
	 * carry it. */
	if (!s || epoch <= d->epoch || epoch <= s->hinted)
		return;
	s->hinted = epoch;
	if (!s->registered)
		return;	/* the heartbeat after registering asks */
	pr_debug("a client has map epoch %" PRIu64 ", newer than %" PRIu64
		 ": fetching the map", epoch, d->epoch);
	s->want_map = true;
	start_next(s);
}

static char *dup_opt(const char *s, bool *nomem)
{
	char *p;

	if (!s)
		return NULL;
	p = strdup(s);
	if (!p)
		*nomem = true;
	return p;
}

int shard_session_start(struct shardd *d,
			const struct shard_session_opts *opts)
{
	struct shard_session *s;
	bool nomem = false;

	if (strlen(opts->socket_path) >= sizeof(s->sun.sun_path)) {
		pr_err("mapd socket path too long: %s", opts->socket_path);
		return -ENAMETOOLONG;
	}
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->socket_path = dup_opt(opts->socket_path, &nomem);
	s->addr = dup_opt(opts->addr, &nomem);
	s->dev_class = dup_opt(opts->dev_class, &nomem);
	s->host = dup_opt(opts->host, &nomem);
	s->rack = dup_opt(opts->rack, &nomem);
	s->site = dup_opt(opts->site, &nomem);
	s->d = d;
	s->fd = -1;
	d->session = s;
	if (nomem) {
		shard_session_free(d);
		return -ENOMEM;
	}
	s->port = opts->port;
	s->hb_ms = opts->heartbeat_ms ? opts->heartbeat_ms
				      : SHARD_HEARTBEAT_MS_DEFAULT;
	s->io_ev.fn = on_io;
	s->hb_ev.fn = on_heartbeat;
	s->retry_ev.fn = on_retry;
	s->sun.sun_family = AF_UNIX;
	strcpy(s->sun.sun_path, s->socket_path);
	attempt(s);
	return 0;
}

int shard_session_note(struct shardd *d, json_t *req,
		       shard_session_note_fn done, void *arg)
{
	struct shard_session *s = d->session;
	struct note *n;

	if (!s) {
		json_decref(req);
		return -ENOTCONN;
	}
	n = calloc(1, sizeof(*n));
	if (!n) {
		json_decref(req);
		return -ENOMEM;
	}
	n->req = req;
	n->done = done;
	n->arg = arg;
	if (s->notes_tail)
		s->notes_tail->next = n;
	else
		s->notes = n;
	s->notes_tail = n;
	start_next(s);
	return 0;
}

void shard_session_free(struct shardd *d)
{
	struct shard_session *s = d->session;

	if (!s)
		return;
	/* At exit: nobody to tell. */
	for (struct note *n = s->notes; n; n = n->next)
		n->done = NULL;
	sess_close(s);
	free(s->socket_path);
	free(s->addr);
	free(s->dev_class);
	free(s->host);
	free(s->rack);
	free(s->site);
	free(s);
	d->session = NULL;
}
