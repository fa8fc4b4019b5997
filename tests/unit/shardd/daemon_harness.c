// SPDX-License-Identifier: GPL-2.0-only
/*
 * The harness of shardd's end-to-end tests (daemon_harness.h): the
 * daemon's process, a client's and a peer's side of the wire, and a fake
 * shard-mapd.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <endian.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <shard/pg.h>

#include "b64.h"
#include "crc.h"
#include "daemon_harness.h"

#define DEFAULT_SHARDD	"../../../userspace/shardd/build/san/shardd"

unsigned int peer8_port;
const char *map_block;
const char *map_backfill;

unsigned int free_port(void)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	socklen_t sl = sizeof(sin);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sin, sizeof(sin)) ||
	    getsockname(fd, (struct sockaddr *)&sin, &sl))
		return 0;
	close(fd);
	return ntohs(sin.sin_port);
}

int try_connect(unsigned int port)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	struct timeval tv = { .tv_sec = 5 };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;

	sin.sin_port = htons((uint16_t)port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0) {
		close(fd);
		return -1;
	}
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return fd;
}

const char *shardd_bin(void)
{
	return getenv("SHARDD") ? getenv("SHARDD") : DEFAULT_SHARDD;
}

/* Starts shardd, with the options in extra (NULL-terminated) after
 * the usual ones, and waits until it accepts connections. */
int daemon_start_with(struct daemon *d, bool with_mapd,
		      const char *const *extra)
{
	const char *bin = shardd_bin();
	const char *argv[32];
	char port[16];
	int i, fd, n = 0;

	d->port = free_port();
	snprintf(port, sizeof(port), "%u", d->port);
	argv[n++] = bin;
	argv[n++] = "--store";
	argv[n++] = d->store;
	argv[n++] = "--size";
	argv[n++] = "32M";
	argv[n++] = "--listen";
	argv[n++] = "127.0.0.1";
	argv[n++] = "--port";
	argv[n++] = port;
	argv[n++] = "--foreground";
	if (with_mapd) {
		argv[n++] = "--mapd";
		argv[n++] = d->mapd;
		argv[n++] = "--host";
		argv[n++] = "testhost";
		argv[n++] = "--class";
		argv[n++] = "hdd";
	} else {
		argv[n++] = "--no-mapd";
	}
	while (extra && *extra && n < 31)
		argv[n++] = *extra++;
	argv[n] = NULL;
	d->pid = fork();
	if (d->pid < 0)
		return -1;
	if (!d->pid) {
		execv(bin, (char *const *)argv);
		_exit(127);
	}
	for (i = 0; i < 200; i++) {
		int status;

		fd = try_connect(d->port);
		if (fd >= 0) {
			close(fd);
			return 0;
		}
		if (waitpid(d->pid, &status, WNOHANG) == d->pid)
			return -1;
		usleep(25000);
	}
	return -1;
}

int daemon_start(struct daemon *d, bool with_mapd)
{
	return daemon_start_with(d, with_mapd, NULL);
}

/* SIGTERM and wait: 0 when it exited cleanly (and leak free). */
int daemon_stop(struct daemon *d, int sig)
{
	int status;

	if (d->pid <= 0)
		return 0;
	kill(d->pid, sig);
	if (waitpid(d->pid, &status, 0) != d->pid)
		return -1;
	d->pid = 0;
	if (sig == SIGKILL)
		return 0;
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}

bool daemon_alive(struct daemon *d)
{
	int status;

	return waitpid(d->pid, &status, WNOHANG) == 0;
}

int fixture_setup(struct daemon *d, unsigned char **a, unsigned char **b)
{
	strcpy(d->dir, "/tmp/shardd-test.XXXXXX");
	if (!mkdtemp(d->dir))
		return -1;
	snprintf(d->store, sizeof(d->store), "%s/store", d->dir);
	snprintf(d->mapd, sizeof(d->mapd), "%s/mapd.sock", d->dir);
	*a = malloc(SHARD_MAX_IO);
	*b = malloc(SHARD_MAX_IO);
	return *a && *b ? 0 : -1;
}

void fixture_teardown(struct daemon *d, struct fake_mapd *m, int fd,
		      unsigned char *a, unsigned char *b)
{
	if (fd >= 0)
		close(fd);
	if (d->pid > 0)
		daemon_stop(d, SIGKILL);
	if (m)
		mapd_close(m);
	unlink(d->store);
	unlink(d->mapd);
	rmdir(d->dir);
	free(a);
	free(b);
}

int send_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len) {
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL);

		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int recv_all(int fd, void *buf, size_t len)
{
	char *p = buf;

	while (len) {
		ssize_t n = recv(fd, p, len, 0);

		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

uint32_t rep_flags_out, rep_flags_in;

int send_req_ver(int fd, struct shard_req_h *h, const void *payload,
		 const struct shard_ver *ver)
{
	unsigned char hdr[SHARD_HDR_SIZE + sizeof(struct shard_rep_ext)];
	size_t n = SHARD_HDR_SIZE;

	if (payload)
		h->data_crc = shard_crc32c(payload, h->len);
	shard_req_encode(hdr, h);
	if (shard_op_has_rep_ext(h->opcode)) {
		shard_rep_ext_encode(hdr + n, ver ? ver->epoch : 0,
				     ver ? ver->seq : 0, rep_flags_out);
		n += sizeof(struct shard_rep_ext);
	}
	if (send_all(fd, hdr, n))
		return -1;
	return payload ? send_all(fd, payload, h->len) : 0;
}

int send_req(int fd, struct shard_req_h *h, const void *payload)
{
	return send_req_ver(fd, h, payload, NULL);
}

/* Reads one reply and its payload (into buf, at most cap bytes);
 * returns the status or -1 on a broken reply. */
int recv_reply(int fd, struct shard_reply_h *rh, void *buf,
	       size_t cap)
{
	unsigned char hdr[SHARD_HDR_SIZE];
	const char *why;

	if (recv_all(fd, hdr, sizeof(hdr)) ||
	    shard_reply_decode(hdr, rh, &why) || rh->len > cap ||
	    recv_all(fd, buf, rh->len) ||
	    (rh->len && shard_crc32c(buf, rh->len) != rh->data_crc))
		return -1;
	return (int)rh->status;
}


const struct target default_target = { .pool = 1, .volume = 9 };

/* One request, one reply with the same tag and opcode; the reply
 * header in *rh. */
int call_to(int fd, const struct target *t, uint8_t op,
	    uint64_t object, uint32_t off, uint32_t len,
	    uint16_t flags, const void *payload, void *out,
	    struct shard_reply_h *rh)
{
	static uint64_t tag = 1000;
	struct shard_req_h h = {
		.opcode = op, .flags = flags, .len = len, .obj_order = 22,
		.tag = ++tag, .volume = t->volume, .object = object,
		.offset = off, .pool = t->pool, .epoch = t->epoch,
	};
	int st;

	if (send_req(fd, &h, payload))
		return -1;
	st = recv_reply(fd, rh, out, SHARD_MAX_IO);
	if (st >= 0 && (rh->tag != h.tag || rh->opcode != op))
		return -1;
	return st;
}

int call(int fd, uint8_t op, uint64_t object, uint32_t off,
	 uint32_t len, uint16_t flags, const void *payload, void *out)
{
	struct shard_reply_h rh;

	return call_to(fd, &default_target, op, object, off, len, flags,
		       payload, out, &rh);
}

int hello(int fd, struct shard_hello *out)
{
	struct shard_hello tmp;

	return call(fd, SHARD_OP_HELLO, 0, 0, 0, 0, NULL, out ? out : &tmp);
}

bool conn_closed(int fd)
{
	char c;

	return recv(fd, &c, 1, 0) == 0;
}

void fill(unsigned char *buf, size_t len, unsigned int seed)
{
	size_t i;

	for (i = 0; i < len; i++)
		buf[i] = (unsigned char)(seed * 29 + i * 13 + (i >> 8));
}

int mapd_listen(struct fake_mapd *m, const char *path)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };

	m->c = -1;
	m->len = 0;
	strcpy(sun.sun_path, path);
	m->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (m->lfd < 0 ||
	    bind(m->lfd, (struct sockaddr *)&sun, sizeof(sun)) ||
	    listen(m->lfd, 4))
		return -1;
	return 0;
}

void mapd_drop(struct fake_mapd *m)
{
	if (m->c >= 0)
		close(m->c);
	m->c = -1;
	m->len = 0;
}

void mapd_close(struct fake_mapd *m)
{
	mapd_drop(m);
	if (m->lfd >= 0)
		close(m->lfd);
	m->lfd = -1;
}

bool readable(int fd, int timeout_ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	return poll(&p, 1, timeout_ms) == 1;
}

/* Waits for the daemon to (re)connect. */
int mapd_accept(struct fake_mapd *m, int timeout_ms)
{
	struct timeval tv = { .tv_sec = 5 };

	mapd_drop(m);
	if (!readable(m->lfd, timeout_ms))
		return -1;
	m->c = accept4(m->lfd, NULL, NULL, SOCK_CLOEXEC);
	if (m->c < 0)
		return -1;
	setsockopt(m->c, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	return 0;
}

/* The next request line, parsed; NULL on timeout, close or bad JSON. */
json_t *mapd_recv(struct fake_mapd *m, int timeout_ms)
{
	json_error_t jerr;
	json_t *msg;
	char *nl;
	ssize_t n;

	while (!(nl = memchr(m->buf, '\n', m->len))) {
		if (m->len == sizeof(m->buf) || !readable(m->c, timeout_ms))
			return NULL;
		n = recv(m->c, m->buf + m->len, sizeof(m->buf) - m->len, 0);
		if (n <= 0)
			return NULL;
		m->len += (size_t)n;
	}
	msg = json_loadb(m->buf, (size_t)(nl - m->buf), 0, &jerr);
	m->len -= (size_t)(nl + 1 - m->buf);
	memmove(m->buf, nl + 1, m->len);
	return msg;
}

/* The next request, which must be cmd: its "id" (or 0), -1 else. */
long long mapd_expect(struct fake_mapd *m, const char *cmd,
		      int timeout_ms, json_t **out)
{
	json_t *msg = mapd_recv(m, timeout_ms);
	const char *got;
	long long id;

	if (!msg)
		return -1;
	got = json_string_value(json_object_get(msg, "cmd"));
	if (!got || strcmp(got, cmd)) {
		json_decref(msg);
		return -1;
	}
	id = json_integer_value(json_object_get(msg, "id"));
	if (out)
		*out = msg;
	else
		json_decref(msg);
	return id;
}

int mapd_send(struct fake_mapd *m, const char *s)
{
	return send_all(m->c, s, strlen(s));
}

int mapd_sendf(struct fake_mapd *m, const char *fmt, ...)
{
	char line[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	return mapd_send(m, line);
}

/* True when the daemon closes the session within timeout_ms. */
bool mapd_closed(struct fake_mapd *m, int timeout_ms)
{
	char junk[4096];
	ssize_t n;

	while (readable(m->c, timeout_ms)) {
		n = recv(m->c, junk, sizeof(junk), 0);
		if (n <= 0)
			return true;
	}
	return false;
}

/* Accepts a connection and registers the daemon as 7. */
int mapd_register(struct fake_mapd *m, int timeout_ms)
{
	if (mapd_accept(m, timeout_ms) ||
	    mapd_expect(m, "daemon-register", 2000, NULL) < 0)
		return -1;
	return mapd_send(m, "{\"ok\":true,\"id\":7}\n");
}


/*
 * A map-get reply: daemons 7 and 8, pool 1 of 16 PGs, width 1 or 2. PG
 * p's primary is primary[p % 2] (with width 2, the other daemon second)
 * or, for 0, nobody; table_fix, if set, is then applied to the table's
 * raw bytes.
 */
char *map_reply(uint64_t epoch, int width, const uint32_t primary[2],
		void (*table_fix)(uint32_t *table))
{
	uint32_t table[32];
	json_t *msg;
	char *b64, *line, *out;
	int pg;

	for (pg = 0; pg < 16; pg++) {
		uint32_t p = primary[pg % 2];

		table[pg * width] = htole32(p ? p : 0xffffffffU);
		if (width == 2)
			table[pg * 2 + 1] = htole32(p == 7 ? 8 : 7);
	}
	if (table_fix)
		table_fix(table);
	b64 = b64_encode(table, 16 * width * sizeof(*table));
	msg = json_pack("{s:b, s:{s:I, s:[{s:i, s:s, s:i, s:b}, "
			"{s:i, s:s, s:i, s:b}], s:[{s:i, s:i, s:i, s:s}]}}",
			"ok", 1, "map", "epoch", (json_int_t)epoch,
			"daemons",
			"id", 7, "addr", "127.0.0.1", "port", 7410, "up", 1,
			"id", 8, "addr", peer8_port ? "127.0.0.1" : "127.0.0.2",
			"port", peer8_port ? (int)peer8_port : 7410, "up", 1,
			"pools",
			"id", 1, "pg_count", 16, "width", width, "table", b64);
	free(b64);
	if (map_block)
		json_object_set_new(json_object_get(msg, "map"), "blocklist",
				    json_pack("[s]", map_block));
	if (map_backfill)
		json_object_set_new(json_array_get(json_object_get(
			json_object_get(msg, "map"), "pools"), 0), "backfill",
			json_loads(map_backfill, 0, NULL));
	line = json_dumps(msg, JSON_COMPACT);
	json_decref(msg);
	if (asprintf(&out, "%s\n", line) < 0)
		out = NULL;
	free(line);
	return out;
}

int mapd_send_map(struct fake_mapd *m, uint64_t epoch, int width,
		  const uint32_t primary[2],
		  void (*table_fix)(uint32_t *table))
{
	char *line = map_reply(epoch, width, primary, table_fix);
	int ret = line ? mapd_send(m, line) : -1;

	free(line);
	return ret;
}

/* The daemon's epoch, from the reply header of a PING. */
int64_t daemon_epoch(unsigned int port)
{
	struct shard_reply_h rh;
	int fd = try_connect(port);
	int64_t ret = -1;

	if (fd < 0)
		return -1;
	if (hello(fd, NULL) == SHARD_S_OK &&
	    call_to(fd, &default_target, SHARD_OP_PING, 0, 0, 0, 0, NULL,
		    NULL, &rh) == SHARD_S_OK)
		ret = (int64_t)rh.epoch;
	close(fd);
	return ret;
}

/* Waits up to 5 s for the daemon to reach epoch. */
bool reaches_epoch(unsigned int port, int64_t epoch)
{
	int i;

	for (i = 0; i < 250; i++) {
		if (daemon_epoch(port) == epoch)
			return true;
		usleep(20000);
	}
	return false;
}

/* An object of volume 9 whose PG (of 16) is even (mine) or odd. */
uint64_t object_in(bool even_pg)
{
	uint64_t o;

	for (o = 0;; o++)
		if ((shard_object_pg(9, o, 16) % 2 == 0) == even_pg)
			return o;
}

/* A peer's side of the wire, for the replication tests. */
int peer_recv_req_ver(int fd, struct shard_req_h *h, void *buf,
		      struct shard_ver *ver)
{
	unsigned char hdr[SHARD_HDR_SIZE], ext[sizeof(struct shard_rep_ext)];
	struct shard_ver v = { 0, 0 };
	const char *why;

	if (!readable(fd, 5000) || recv_all(fd, hdr, sizeof(hdr)) ||
	    shard_req_decode(hdr, h, &why))
		return -1;
	rep_flags_in = 0;
	if (shard_op_has_rep_ext(h->opcode) &&
	    (recv_all(fd, ext, sizeof(ext)) ||
	     shard_rep_ext_decode(ext, &v.epoch, &v.seq, &rep_flags_in)))
		return -1;
	if (ver)
		*ver = v;
	if ((shard_op_has_req_payload(h->opcode) &&
	     (recv_all(fd, buf, h->len) ||
	      shard_crc32c(buf, h->len) != h->data_crc)))
		return -1;
	return 0;
}

int peer_recv_req(int fd, struct shard_req_h *h, void *buf)
{
	return peer_recv_req_ver(fd, h, buf, NULL);
}

int peer_reply(int fd, const struct shard_req_h *h,
	       unsigned int status, uint64_t epoch)
{
	unsigned char hdr[SHARD_HDR_SIZE];
	struct shard_reply_h rh = {
		.opcode = h->opcode, .status = status, .tag = h->tag,
		.epoch = epoch,
	};
	struct shard_hello hi = { .daemon_id = htole32(8) };

	if (h->opcode == SHARD_OP_PEER_HELLO) {
		rh.len = sizeof(hi);
		rh.data_crc = shard_crc32c(&hi, sizeof(hi));
	}
	shard_reply_encode(hdr, &rh);
	if (send_all(fd, hdr, sizeof(hdr)))
		return -1;
	return rh.len ? send_all(fd, &hi, sizeof(hi)) : 0;
}

/* A reply to a REP_READ, with its data. */
int peer_reply_data(int fd, const struct shard_req_h *h,
		    const void *data)
{
	unsigned char hdr[SHARD_HDR_SIZE];
	struct shard_reply_h rh = {
		.opcode = h->opcode, .status = SHARD_S_OK, .tag = h->tag,
		.epoch = 5, .len = h->len,
		.data_crc = shard_crc32c(data, h->len),
	};

	shard_reply_encode(hdr, &rh);
	if (send_all(fd, hdr, sizeof(hdr)))
		return -1;
	return send_all(fd, data, h->len);
}

/* Accepts the daemon's connection to "daemon 8" and checks its hello. */
int peer_accept(int lfd)
{
	struct shard_peer_hello ph;
	struct shard_req_h h;
	int fd;

	if (!readable(lfd, 5000))
		return -1;
	fd = accept(lfd, NULL, NULL);
	if (fd < 0)
		return -1;
	if (peer_recv_req(fd, &h, &ph) || h.opcode != SHARD_OP_PEER_HELLO ||
	    le32toh(ph.daemon_id) != 7 || le32toh(ph.target_id) != 8 ||
	    peer_reply(fd, &h, SHARD_S_OK, 5)) {
		close(fd);
		return -1;
	}
	return fd;
}

int peer_hello_as(int fd, uint32_t from, uint32_t to)
{
	struct shard_peer_hello ph = {
		.daemon_id = htole32(from), .target_id = htole32(to),
	};
	struct shard_req_h h = {
		.opcode = SHARD_OP_PEER_HELLO, .len = sizeof(ph), .tag = 1,
	};
	struct shard_reply_h rh;
	struct shard_hello hi;

	if (send_req(fd, &h, &ph))
		return -1;
	return recv_reply(fd, &rh, &hi, sizeof(hi));
}

/* Registers again after the daemon closed the session; -1 if it did not
 * close it or did not come back. */
int mapd_reconnect(struct fake_mapd *m)
{
	if (!mapd_closed(m, 3000))
		return -1;
	return mapd_register(m, 5000);
}

/* Registered, one heartbeat answered with epoch. */
int mapd_beat(struct fake_mapd *m, int64_t epoch)
{
	if (mapd_expect(m, "daemon-heartbeat", 2000, NULL) != 7)
		return -1;
	return mapd_sendf(m, "{\"ok\":true,\"epoch\":%lld}\n",
			  (long long)epoch);
}

int session_at_epoch(struct fake_mapd *m, unsigned int port, uint64_t epoch,
		     int width, const uint32_t primary[2])
{
	if (mapd_register(m, 5000) || mapd_beat(m, (int64_t)epoch) ||
	    mapd_expect(m, "map-get", 2000, NULL) ||
	    mapd_send_map(m, epoch, width, primary, NULL))
		return -1;
	return reaches_epoch(port, (int64_t)epoch) ? 0 : -1;
}

int peer8_listen(void)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	socklen_t sl = sizeof(sin);
	int lfd, one = 1;

	lfd = socket(AF_INET, SOCK_STREAM, 0);
	if (lfd < 0)
		return -1;
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(lfd, (struct sockaddr *)&sin, sizeof(sin)) ||
	    listen(lfd, 4) ||
	    getsockname(lfd, (struct sockaddr *)&sin, &sl)) {
		close(lfd);
		return -1;
	}
	peer8_port = ntohs(sin.sin_port);
	return lfd;
}

void peer8_close(int lfd)
{
	close(lfd);
	peer8_port = 0;
}

/*
 * Starts the daemon (with mapd) with its stderr in a new unlinked file,
 * *logfd, for the test to read back.
 */
int daemon_start_logged(struct daemon *d, const char *const *extra,
			       int *logfd)
{
	char path[128];
	int saved, fd, ret = -1;

	snprintf(path, sizeof(path), "%s/log.XXXXXX", d->dir);
	fd = mkostemp(path, O_CLOEXEC);
	if (fd < 0)
		return -1;
	unlink(path);
	fflush(stderr);
	saved = dup(2);
	if (saved >= 0 && dup2(fd, 2) == 2) {
		ret = daemon_start_with(d, true, extra);
		dup2(saved, 2);
	}
	if (saved >= 0)
		close(saved);
	if (ret)
		close(fd);
	else
		*logfd = fd;
	return ret;
}

/* How many times the daemon's log so far holds what. */
int log_count(int logfd, const char *what)
{
	static char buf[1 << 16];
	ssize_t len = pread(logfd, buf, sizeof(buf) - 1, 0);
	const char *p = buf;
	int n = 0;

	if (len < 0)
		return -1;
	buf[len] = '\0';
	while ((p = strstr(p, what))) {
		n++;
		p++;
	}
	return n;
}

/* Copies the daemon's log to our stderr, as if it had written there. */
void log_show(int logfd)
{
	static char buf[1 << 16];
	ssize_t len = pread(logfd, buf, sizeof(buf) - 1, 0);

	if (len > 0) {
		buf[len] = '\0';
		fputs(buf, stderr);
	}
}
