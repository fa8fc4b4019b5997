// SPDX-License-Identifier: GPL-2.0-only
/*
 * End to end: runs the shardd binary ($SHARDD, else the sanitized build)
 * on a temporary store on 127.0.0.1 and talks the wire protocol to it.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
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
#include <time.h>
#include <unistd.h>

#include <shard/pg.h>

#include "b64.h"
#include "crc.h"
#include "wire.h"
#include "kselftest_harness.h"

#define DEFAULT_SHARDD	"../../../userspace/shardd/build/san/shardd"

struct daemon {
	char dir[64];
	char store[96];
	char mapd[96];
	unsigned int port;
	pid_t pid;
};

static unsigned int free_port(void)
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

static int try_connect(unsigned int port)
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

/* Starts shardd, with the options in extra (NULL-terminated) after
 * the usual ones, and waits until it accepts connections. */
static int daemon_start_with(struct daemon *d, bool with_mapd,
			     const char *const *extra)
{
	const char *bin = getenv("SHARDD") ? getenv("SHARDD") : DEFAULT_SHARDD;
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

static int daemon_start(struct daemon *d, bool with_mapd)
{
	return daemon_start_with(d, with_mapd, NULL);
}

/* SIGTERM and wait: 0 when it exited cleanly (and leak free). */
static int daemon_stop(struct daemon *d, int sig)
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

static bool daemon_alive(struct daemon *d)
{
	int status;

	return waitpid(d->pid, &status, WNOHANG) == 0;
}

static int send_all(int fd, const void *buf, size_t len)
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

static int recv_all(int fd, void *buf, size_t len)
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

static int send_req(int fd, struct shard_req_h *h, const void *payload)
{
	unsigned char hdr[SHARD_HDR_SIZE];

	if (payload)
		h->data_crc = shard_crc32c(payload, h->len);
	shard_req_encode(hdr, h);
	if (send_all(fd, hdr, sizeof(hdr)))
		return -1;
	return payload ? send_all(fd, payload, h->len) : 0;
}

/* Reads one reply and its payload (into buf, at most cap bytes);
 * returns the status or -1 on a broken reply. */
static int recv_reply(int fd, struct shard_reply_h *rh, void *buf,
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

/* Where a request goes: pool and volume, and the client's epoch. */
struct target {
	uint32_t pool;
	uint64_t volume;
	uint64_t epoch;
};

static const struct target default_target = { .pool = 1, .volume = 9 };

/* One request, one reply with the same tag and opcode; the reply
 * header in *rh. */
static int call_to(int fd, const struct target *t, uint8_t op,
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

static int call(int fd, uint8_t op, uint64_t object, uint32_t off,
		uint32_t len, uint16_t flags, const void *payload, void *out)
{
	struct shard_reply_h rh;

	return call_to(fd, &default_target, op, object, off, len, flags,
		       payload, out, &rh);
}

static int hello(int fd, struct shard_hello *out)
{
	struct shard_hello tmp;

	return call(fd, SHARD_OP_HELLO, 0, 0, 0, 0, NULL, out ? out : &tmp);
}

static bool conn_closed(int fd)
{
	char c;

	return recv(fd, &c, 1, 0) == 0;
}

static void fill(unsigned char *buf, size_t len, unsigned int seed)
{
	size_t i;

	for (i = 0; i < len; i++)
		buf[i] = (unsigned char)(seed * 29 + i * 13 + (i >> 8));
}

FIXTURE(shardd) {
	struct daemon d;
	unsigned char *a, *b;
	int fd;
};

FIXTURE_SETUP(shardd)
{
	strcpy(self->d.dir, "/tmp/shardd-test.XXXXXX");
	ASSERT_NE(NULL, mkdtemp(self->d.dir));
	snprintf(self->d.store, sizeof(self->d.store), "%s/store",
		 self->d.dir);
	snprintf(self->d.mapd, sizeof(self->d.mapd), "%s/mapd.sock",
		 self->d.dir);
	self->a = malloc(SHARD_MAX_IO);
	self->b = malloc(SHARD_MAX_IO);
	self->fd = -1;
	ASSERT_NE(NULL, self->a);
	ASSERT_NE(NULL, self->b);
}

FIXTURE_TEARDOWN(shardd)
{
	if (self->fd >= 0)
		close(self->fd);
	if (self->d.pid > 0)
		daemon_stop(&self->d, SIGKILL);
	unlink(self->d.store);
	unlink(self->d.mapd);
	rmdir(self->d.dir);
	free(self->a);
	free(self->b);
}

TEST_F(shardd, requests)
{
	unsigned char hdr[SHARD_HDR_SIZE];
	struct shard_req_h h = { 0 };
	struct shard_reply_h rh;
	struct shard_hello hi;
	int fd;

	ASSERT_EQ(0, daemon_start(&self->d, false));
	fd = self->fd = try_connect(self->d.port);
	ASSERT_LE(0, fd);
	ASSERT_EQ(SHARD_S_OK, hello(fd, &hi));
	EXPECT_EQ(0, le32toh(hi.daemon_id));
	EXPECT_EQ(7 * (4ULL << 20), le64toh(hi.capacity));
	ASSERT_EQ(SHARD_S_OK, call(fd, SHARD_OP_PING, 0, 0, 0, 0, NULL, NULL));

	/* Big (received straight into the request) and small writes. */
	fill(self->a, SHARD_MAX_IO, 1);
	ASSERT_EQ(SHARD_S_OK, call(fd, SHARD_OP_WRITE, 1, 0, SHARD_MAX_IO, 0,
				   self->a, NULL));
	ASSERT_EQ(SHARD_S_OK, call(fd, SHARD_OP_READ, 1, 0, SHARD_MAX_IO, 0,
				   NULL, self->b));
	ASSERT_EQ(0, memcmp(self->a, self->b, SHARD_MAX_IO));
	fill(self->a, 512, 2);
	ASSERT_EQ(SHARD_S_OK, call(fd, SHARD_OP_WRITE, 1, 1536, 512,
				   SHARD_F_FUA, self->a, NULL));
	ASSERT_EQ(SHARD_S_OK, call(fd, SHARD_OP_READ, 1, 1536, 512, 0, NULL,
				   self->b));
	ASSERT_EQ(0, memcmp(self->a, self->b, 512));
	ASSERT_EQ(SHARD_S_OK, call(fd, SHARD_OP_FLUSH, 0, 0, 0, 0, NULL, NULL));

	/* DISCARD and WRITE_ZEROES read back zero. */
	ASSERT_EQ(SHARD_S_OK, call(fd, SHARD_OP_DISCARD, 1, 0, 8192, 0, NULL,
				   NULL));
	ASSERT_EQ(SHARD_S_OK, call(fd, SHARD_OP_WRITE_ZEROES, 1, 65536, 1024,
				   SHARD_F_FUA, NULL, NULL));
	ASSERT_EQ(SHARD_S_OK, call(fd, SHARD_OP_READ, 1, 0, 8192, 0, NULL,
				   self->b));
	memset(self->a, 0, 8192);
	ASSERT_EQ(0, memcmp(self->a, self->b, 8192));
	ASSERT_EQ(SHARD_S_OK, call(fd, SHARD_OP_READ, 1, 65536, 1024, 0, NULL,
				   self->b));
	ASSERT_EQ(0, memcmp(self->a, self->b, 1024));

	/* Never-written object reads as zeroes. */
	ASSERT_EQ(SHARD_S_OK, call(fd, SHARD_OP_READ, 77, 4096, 4096, 0, NULL,
				   self->b));
	ASSERT_EQ(0, memcmp(self->a, self->b, 4096));

	/* Objects above 4 MiB: well formed, refused. */
	h.opcode = SHARD_OP_READ;
	h.len = 512;
	h.obj_order = 23;
	h.tag = 5;
	ASSERT_EQ(0, send_req(fd, &h, NULL));
	ASSERT_EQ(SHARD_S_INVAL, recv_reply(fd, &rh, self->b, 0));
	ASSERT_EQ(0, rh.len);

	/* A payload crc mismatch is answered, the connection lives on. */
	h.opcode = SHARD_OP_WRITE;
	h.len = 4096;
	h.obj_order = 22;
	h.tag = 6;
	h.object = 1;
	h.data_crc = shard_crc32c(self->a, 4096) ^ 1;
	shard_req_encode(hdr, &h);
	ASSERT_EQ(0, send_all(fd, hdr, sizeof(hdr)));
	ASSERT_EQ(0, send_all(fd, self->a, 4096));
	ASSERT_EQ(SHARD_S_BADCRC, recv_reply(fd, &rh, self->b, 0));
	ASSERT_EQ(6, rh.tag);
	ASSERT_EQ(SHARD_S_OK, call(fd, SHARD_OP_PING, 0, 0, 0, 0, NULL, NULL));
	close(fd);
	self->fd = -1;
	ASSERT_EQ(0, daemon_stop(&self->d, SIGTERM));
}

/* Sends raw bytes on a new connection; true if the daemon then closes
 * it. */
static bool rejected(unsigned int port, const void *buf, size_t len,
		     bool hello_first)
{
	int fd = try_connect(port);
	bool ret;

	if (fd < 0)
		return false;
	if (hello_first && hello(fd, NULL) != SHARD_S_OK) {
		close(fd);
		return false;
	}
	ret = !send_all(fd, buf, len) && conn_closed(fd);
	close(fd);
	return ret;
}

TEST_F(shardd, bad_input_closes_only_that_connection)
{
	struct shard_req_h h = {
		.opcode = SHARD_OP_READ, .len = 4096, .obj_order = 22,
		.tag = 1,
	};
	unsigned char hdr[SHARD_HDR_SIZE], junk[256];
	unsigned int port;
	int fd, i;

	ASSERT_EQ(0, daemon_start(&self->d, false));
	port = self->d.port;
	fd = self->fd = try_connect(port);
	ASSERT_LE(0, fd);
	ASSERT_EQ(SHARD_S_OK, hello(fd, NULL));

	fill(junk, sizeof(junk), 3);
	EXPECT_TRUE(rejected(port, junk, sizeof(junk), false));
	EXPECT_TRUE(rejected(port, junk, sizeof(junk), true));

	shard_req_encode(hdr, &h);
	hdr[0] ^= 0xff;				/* magic */
	EXPECT_TRUE(rejected(port, hdr, sizeof(hdr), true));
	shard_req_encode(hdr, &h);
	hdr[30] ^= 1;				/* hdr_crc */
	EXPECT_TRUE(rejected(port, hdr, sizeof(hdr), true));
	h.len = SHARD_MAX_IO * 4;		/* huge len */
	shard_req_encode(hdr, &h);
	EXPECT_TRUE(rejected(port, hdr, sizeof(hdr), true));
	h.len = 4096;
	h.offset = 4U << 20;			/* beyond the object */
	shard_req_encode(hdr, &h);
	EXPECT_TRUE(rejected(port, hdr, sizeof(hdr), true));
	h.offset = 0;
	h.len = 1000;				/* not sectors */
	shard_req_encode(hdr, &h);
	EXPECT_TRUE(rejected(port, hdr, sizeof(hdr), true));
	h.len = 4096;
	h.obj_order = 40;
	shard_req_encode(hdr, &h);
	EXPECT_TRUE(rejected(port, hdr, sizeof(hdr), true));
	h.obj_order = 22;
	h.opcode = 99;
	shard_req_encode(hdr, &h);
	EXPECT_TRUE(rejected(port, hdr, sizeof(hdr), true));
	h.opcode = SHARD_OP_WRITE;
	h.len = 0;
	shard_req_encode(hdr, &h);
	EXPECT_TRUE(rejected(port, hdr, sizeof(hdr), true));
	h.opcode = SHARD_OP_READ;
	h.len = 4096;
	shard_req_encode(hdr, &h);
	EXPECT_TRUE(rejected(port, hdr, sizeof(hdr), false)); /* no HELLO */

	/* Truncated header, and a WRITE cut off mid-payload. */
	for (i = 0; i < 2; i++) {
		int c = try_connect(port);

		ASSERT_LE(0, c);
		ASSERT_EQ(SHARD_S_OK, hello(c, NULL));
		h.opcode = SHARD_OP_WRITE;
		h.len = SHARD_MAX_IO;
		h.data_crc = 0;
		shard_req_encode(hdr, &h);
		ASSERT_EQ(0, send_all(c, hdr, i ? sizeof(hdr) : 20));
		if (i) {
			ASSERT_EQ(0, send_all(c, self->a, 100000));
		}
		close(c);
	}

	/* The first connection was never disturbed. */
	ASSERT_TRUE(daemon_alive(&self->d));
	ASSERT_EQ(SHARD_S_OK, call(fd, SHARD_OP_PING, 0, 0, 0, 0, NULL, NULL));
	fill(self->a, 8192, 4);
	ASSERT_EQ(SHARD_S_OK, call(fd, SHARD_OP_WRITE, 2, 0, 8192, 0, self->a,
				   NULL));
	ASSERT_EQ(SHARD_S_OK, call(fd, SHARD_OP_READ, 2, 0, 8192, 0, NULL,
				   self->b));
	ASSERT_EQ(0, memcmp(self->a, self->b, 8192));
	close(fd);
	self->fd = -1;
	ASSERT_EQ(0, daemon_stop(&self->d, SIGTERM));
}

/* More requests than the in-flight limit, sent before any reply is
 * read: all must be answered, in any order, with their tags. */
TEST_F(shardd, pipelined_past_the_limit)
{
	enum { N = 100 };
	bool seen[N] = { false };
	struct shard_reply_h rh;
	int fd, i;

	ASSERT_EQ(0, daemon_start(&self->d, false));
	fd = self->fd = try_connect(self->d.port);
	ASSERT_LE(0, fd);
	ASSERT_EQ(SHARD_S_OK, hello(fd, NULL));
	for (i = 0; i < N; i++) {
		struct shard_req_h h = {
			.opcode = SHARD_OP_WRITE, .len = 8192, .obj_order = 22,
			.tag = (uint64_t)i, .volume = 3, .object = (uint64_t)i % 5,
			.offset = (uint32_t)(i / 5) * 8192,
		};

		fill(self->a, 8192, (unsigned int)i);
		ASSERT_EQ(0, send_req(fd, &h, self->a));
	}
	for (i = 0; i < N; i++) {
		ASSERT_EQ(SHARD_S_OK, recv_reply(fd, &rh, self->b, 0));
		ASSERT_GT(N, rh.tag);
		ASSERT_FALSE(seen[rh.tag]);
		seen[rh.tag] = true;
	}
	for (i = 0; i < N; i++) {
		struct shard_req_h h = {
			.opcode = SHARD_OP_READ, .len = 8192, .obj_order = 22,
			.tag = (uint64_t)i, .volume = 3, .object = (uint64_t)i % 5,
			.offset = (uint32_t)(i / 5) * 8192,
		};

		ASSERT_EQ(0, send_req(fd, &h, NULL));
	}
	for (i = 0; i < N; i++) {
		ASSERT_EQ(SHARD_S_OK, recv_reply(fd, &rh, self->b, 8192));
		fill(self->a, 8192, (unsigned int)rh.tag);
		ASSERT_EQ(0, memcmp(self->a, self->b, 8192));
	}
	close(fd);
	self->fd = -1;
	ASSERT_EQ(0, daemon_stop(&self->d, SIGTERM));
}

/*
 * Several connections, each with a sequence of requests in flight at
 * once (sent before any reply is read). On a connection's own object:
 * write A, read, write B over part of it, read, eight 512-byte writes
 * into one block back to back, read, discard, read, each read seeing
 * exactly what came before it. Meanwhile every connection writes its own
 * sector of one block of a shared object: no read-modify-write may lose
 * another connection's sector.
 */
TEST_F(shardd, concurrent_connections)
{
	enum { NC = 4, NR = 16, SHARED = 30 };
	static unsigned char A[NC][8192], B[NC][4096], S[NC][8][512],
		Q[NC][512], got[NC][NR][8192], want[8192];
	struct shard_reply_h rh;
	int fds[NC], c, i;

	ASSERT_EQ(0, daemon_start(&self->d, false));
	for (c = 0; c < NC; c++) {
		fds[c] = try_connect(self->d.port);
		ASSERT_LE(0, fds[c]);
		ASSERT_EQ(SHARD_S_OK, hello(fds[c], NULL));
		fill(A[c], 8192, 100 + c);
		fill(B[c], 4096, 110 + c);
		for (i = 0; i < 8; i++)
			fill(S[c][i], 512, 120 + c * 8 + i);
		fill(Q[c], 512, 160 + c);
	}
	/* Request i of every connection before request i + 1 of any. */
	for (i = 0; i < NR; i++) {
		for (c = 0; c < NC; c++) {
			struct shard_req_h h = {
				.opcode = SHARD_OP_READ, .obj_order = 22,
				.tag = (uint64_t)i, .volume = 9, .pool = 1,
				.object = 20 + (uint64_t)c,
			};
			const void *p = NULL;

			switch (i) {
			case 0:		/* write A */
				h.opcode = SHARD_OP_WRITE;
				h.len = 8192;
				p = A[c];
				break;
			case 1:		/* read: A */
			case 3:		/* read: B, A's second block */
			case 15:	/* read: after the discard */
				h.len = 8192;
				break;
			case 2:		/* write B over the first block */
				h.opcode = SHARD_OP_WRITE;
				h.len = 4096;
				p = B[c];
				break;
			case 12:	/* read: the eight sectors */
				h.offset = 8192;
				h.len = 4096;
				break;
			case 13:	/* my sector of the shared block */
				h.opcode = SHARD_OP_WRITE;
				h.object = SHARED;
				h.offset = (uint32_t)c * 512;
				h.len = 512;
				p = Q[c];
				break;
			case 14:	/* discard the first sector */
				h.opcode = SHARD_OP_DISCARD;
				h.len = 512;
				break;
			default:	/* 4..11: sectors, back to back */
				h.opcode = SHARD_OP_WRITE;
				h.offset = 8192 + (uint32_t)(i - 4) * 512;
				h.len = 512;
				p = S[c][i - 4];
				break;
			}
			ASSERT_EQ(0, send_req(fds[c], &h, p));
		}
	}
	for (c = 0; c < NC; c++)
		for (i = 0; i < NR; i++) {
			unsigned char buf[8192];

			ASSERT_EQ(SHARD_S_OK, recv_reply(fds[c], &rh, buf,
							 sizeof(buf)));
			ASSERT_GT(NR, rh.tag);
			memcpy(got[c][rh.tag], buf, rh.len);
		}
	for (c = 0; c < NC; c++) {
		ASSERT_EQ(0, memcmp(A[c], got[c][1], 8192));
		memcpy(want, A[c], 8192);
		memcpy(want, B[c], 4096);
		ASSERT_EQ(0, memcmp(want, got[c][3], 8192));
		for (i = 0; i < 8; i++)
			ASSERT_EQ(0, memcmp(S[c][i], got[c][12] + i * 512, 512));
		memset(want, 0, 512);
		ASSERT_EQ(0, memcmp(want, got[c][15], 8192));
	}
	ASSERT_EQ(SHARD_S_OK, call(fds[0], SHARD_OP_READ, SHARED, 0, 4096, 0,
				   NULL, self->b));
	for (c = 0; c < NC; c++)
		ASSERT_EQ(0, memcmp(Q[c], self->b + c * 512, 512));
	memset(want, 0, sizeof(want));
	ASSERT_EQ(0, memcmp(want, self->b + NC * 512, 4096 - NC * 512));
	for (c = 0; c < NC; c++)
		close(fds[c]);
	ASSERT_EQ(0, daemon_stop(&self->d, SIGTERM));
}

/* FUA writes and FLUSHes mixed into pipelined traffic are all answered,
 * and what they covered survives a kill -9. */
TEST_F(shardd, pipelined_fua_and_flush_survive_kill9)
{
	enum { N = 24 };
	struct shard_reply_h rh;
	int fd, i;

	ASSERT_EQ(0, daemon_start(&self->d, false));
	fd = try_connect(self->d.port);
	ASSERT_LE(0, fd);
	ASSERT_EQ(SHARD_S_OK, hello(fd, NULL));
	for (i = 0; i < N; i++) {
		struct shard_req_h h = {
			.opcode = i % 6 == 5 ? SHARD_OP_FLUSH : SHARD_OP_WRITE,
			.flags = i % 4 == 1 ? SHARD_F_FUA : 0,
			.obj_order = 22, .tag = (uint64_t)i, .volume = 9,
			.pool = 1, .object = 40 + (uint64_t)i % 3,
			.offset = (uint32_t)i * 4096 + 512,
		};

		if (h.opcode == SHARD_OP_FLUSH)
			h.flags = 0;
		else
			h.len = 4096;
		fill(self->a + i * 4096, 4096, 200 + (unsigned int)i);
		ASSERT_EQ(0, send_req(fd, &h, h.len ? self->a + i * 4096
						    : NULL));
	}
	for (i = 0; i < N; i++)
		ASSERT_EQ(SHARD_S_OK, recv_reply(fd, &rh, self->b, 0));
	/* Everything above was acknowledged: one FLUSH covers it all. */
	ASSERT_EQ(SHARD_S_OK, call(fd, SHARD_OP_FLUSH, 0, 0, 0, 0, NULL, NULL));
	close(fd);
	ASSERT_EQ(0, daemon_stop(&self->d, SIGKILL));

	ASSERT_EQ(0, daemon_start(&self->d, false));
	fd = self->fd = try_connect(self->d.port);
	ASSERT_LE(0, fd);
	ASSERT_EQ(SHARD_S_OK, hello(fd, NULL));
	for (i = 0; i < N; i++) {
		if (i % 6 == 5)
			continue;
		ASSERT_EQ(SHARD_S_OK, call(fd, SHARD_OP_READ, 40 + i % 3,
					   (uint32_t)i * 4096 + 512, 4096, 0,
					   NULL, self->b));
		ASSERT_EQ(0, memcmp(self->a + i * 4096, self->b, 4096));
	}
}

/* SIGTERM with requests in flight: the daemon lets the disk work it
 * started finish, then exits cleanly (and, under ASan, leak free). */
TEST_F(shardd, sigterm_with_requests_in_flight)
{
	int fd, i;

	ASSERT_EQ(0, daemon_start(&self->d, false));
	fd = self->fd = try_connect(self->d.port);
	ASSERT_LE(0, fd);
	ASSERT_EQ(SHARD_S_OK, hello(fd, NULL));
	fill(self->a, 65536, 7);
	for (i = 0; i < 40; i++) {
		struct shard_req_h h = {
			.opcode = i % 2 ? SHARD_OP_READ : SHARD_OP_WRITE,
			.flags = i % 5 == 2 ? SHARD_F_FUA : 0,
			.len = 65536 - (i % 3) * 512, .obj_order = 22,
			.tag = (uint64_t)i, .volume = 9, .pool = 1,
			.object = (uint64_t)i % 4, .offset = (uint32_t)i * 512,
		};

		ASSERT_EQ(0, send_req(fd, &h, i % 2 ? NULL : self->a));
	}
	ASSERT_EQ(0, daemon_stop(&self->d, SIGTERM));
}

TEST_F(shardd, flushed_data_survives_kill9)
{
	int fd;

	ASSERT_EQ(0, daemon_start(&self->d, false));
	fd = try_connect(self->d.port);
	ASSERT_LE(0, fd);
	ASSERT_EQ(SHARD_S_OK, hello(fd, NULL));
	fill(self->a, 65536, 5);
	ASSERT_EQ(SHARD_S_OK, call(fd, SHARD_OP_WRITE, 3, 4096, 65536, 0,
				   self->a, NULL));
	ASSERT_EQ(SHARD_S_OK, call(fd, SHARD_OP_FLUSH, 0, 0, 0, 0, NULL, NULL));
	close(fd);
	ASSERT_EQ(0, daemon_stop(&self->d, SIGKILL));

	ASSERT_EQ(0, daemon_start(&self->d, false));
	fd = self->fd = try_connect(self->d.port);
	ASSERT_LE(0, fd);
	ASSERT_EQ(SHARD_S_OK, hello(fd, NULL));
	ASSERT_EQ(SHARD_S_OK, call(fd, SHARD_OP_READ, 3, 4096, 65536, 0, NULL,
				   self->b));
	ASSERT_EQ(0, memcmp(self->a, self->b, 65536));
}

/*
 * A fake shard-mapd on the daemon's --mapd socket, speaking the session
 * protocol: one JSON line per request, one per reply.
 */
struct fake_mapd {
	int lfd;
	int c;			/* the daemon's session, or -1 */
	char buf[65536];	/* received, not yet taken */
	size_t len;
};

static int mapd_listen(struct fake_mapd *m, const char *path)
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

static void mapd_drop(struct fake_mapd *m)
{
	if (m->c >= 0)
		close(m->c);
	m->c = -1;
	m->len = 0;
}

static void mapd_close(struct fake_mapd *m)
{
	mapd_drop(m);
	if (m->lfd >= 0)
		close(m->lfd);
	m->lfd = -1;
}

static bool readable(int fd, int timeout_ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	return poll(&p, 1, timeout_ms) == 1;
}

/* Waits for the daemon to (re)connect. */
static int mapd_accept(struct fake_mapd *m, int timeout_ms)
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
static json_t *mapd_recv(struct fake_mapd *m, int timeout_ms)
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
static long long mapd_expect(struct fake_mapd *m, const char *cmd,
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

static int mapd_send(struct fake_mapd *m, const char *s)
{
	return send_all(m->c, s, strlen(s));
}

static int mapd_sendf(struct fake_mapd *m, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static int mapd_sendf(struct fake_mapd *m, const char *fmt, ...)
{
	char line[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	return mapd_send(m, line);
}

/* True when the daemon closes the session within timeout_ms. */
static bool mapd_closed(struct fake_mapd *m, int timeout_ms)
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
static int mapd_register(struct fake_mapd *m, int timeout_ms)
{
	if (mapd_accept(m, timeout_ms) ||
	    mapd_expect(m, "daemon-register", 2000, NULL) < 0)
		return -1;
	return mapd_send(m, "{\"ok\":true,\"id\":7}\n");
}

/* Where the maps below put daemon 8: a test's own listener, if set. */
static unsigned int peer8_port;
/* An address the maps below blocklist, if set. */
static const char *map_block;
/* A "backfill" list for the maps' pool, if set (a JSON text). */
static const char *map_backfill;

/*
 * A map-get reply: daemons 7 and 8, pool 1 of 16 PGs, width 1 or 2. PG
 * p's primary is primary[p % 2] (with width 2, the other daemon second)
 * or, for 0, nobody; table_fix, if set, is then applied to the table's
 * raw bytes.
 */
static char *map_reply(uint64_t epoch, int width, const uint32_t primary[2],
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

static int mapd_send_map(struct fake_mapd *m, uint64_t epoch, int width,
			 const uint32_t primary[2],
			 void (*table_fix)(uint32_t *table))
{
	char *line = map_reply(epoch, width, primary, table_fix);
	int ret = line ? mapd_send(m, line) : -1;

	free(line);
	return ret;
}

/* The daemon's epoch, from the reply header of a PING. */
static int64_t daemon_epoch(unsigned int port)
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
static bool reaches_epoch(unsigned int port, int64_t epoch)
{
	int i;

	for (i = 0; i < 250; i++) {
		if (daemon_epoch(port) == epoch)
			return true;
		usleep(20000);
	}
	return false;
}

FIXTURE(session) {
	struct daemon d;
	struct fake_mapd m;
	unsigned char *a, *b;
	int fd;
};

FIXTURE_SETUP(session)
{
	strcpy(self->d.dir, "/tmp/shardd-test.XXXXXX");
	ASSERT_NE(NULL, mkdtemp(self->d.dir));
	snprintf(self->d.store, sizeof(self->d.store), "%s/store",
		 self->d.dir);
	snprintf(self->d.mapd, sizeof(self->d.mapd), "%s/mapd.sock",
		 self->d.dir);
	self->a = malloc(SHARD_MAX_IO);
	self->b = malloc(SHARD_MAX_IO);
	self->fd = -1;
	ASSERT_NE(NULL, self->a);
	ASSERT_NE(NULL, self->b);
	ASSERT_EQ(0, mapd_listen(&self->m, self->d.mapd));
}

FIXTURE_TEARDOWN(session)
{
	if (self->fd >= 0)
		close(self->fd);
	if (self->d.pid > 0)
		daemon_stop(&self->d, SIGKILL);
	mapd_close(&self->m);
	unlink(self->d.store);
	unlink(self->d.mapd);
	rmdir(self->d.dir);
	free(self->a);
	free(self->b);
}

/* Registration with every field, then heartbeats on the same
 * connection, each with the epoch held and the store's use. */
TEST_F(session, registers_and_heartbeats)
{
	static const char *const extra[] = {
		"--rack", "r1", "--site", "s1", "--heartbeat-ms", "100", NULL,
	};
	struct fake_mapd *m = &self->m;
	struct timespec t0, t1;
	struct shard_hello hi;
	const char *uuid;
	json_t *msg;
	int fd, i;

	ASSERT_EQ(0, daemon_start_with(&self->d, true, extra));
	ASSERT_EQ(0, mapd_accept(m, 5000));
	ASSERT_EQ(0, mapd_expect(m, "daemon-register", 5000, &msg));
	EXPECT_STREQ("127.0.0.1",
		     json_string_value(json_object_get(msg, "addr")));
	EXPECT_EQ(self->d.port,
		  json_integer_value(json_object_get(msg, "port")));
	EXPECT_EQ(7 * (4LL << 20),
		  json_integer_value(json_object_get(msg, "capacity")));
	EXPECT_STREQ("hdd", json_string_value(json_object_get(msg, "class")));
	EXPECT_STREQ("testhost",
		     json_string_value(json_object_get(msg, "host")));
	EXPECT_STREQ("r1", json_string_value(json_object_get(msg, "rack")));
	EXPECT_STREQ("s1", json_string_value(json_object_get(msg, "site")));
	EXPECT_TRUE(json_is_integer(json_object_get(msg, "used")));
	EXPECT_EQ(0, json_integer_value(json_object_get(msg, "used")));
	/* The store's uuid: mapd knows a repeated registration by it. */
	uuid = json_string_value(json_object_get(msg, "uuid"));
	ASSERT_NE(NULL, uuid);
	EXPECT_EQ(32, strlen(uuid));
	EXPECT_EQ(32, strspn(uuid, "0123456789abcdef"));
	json_decref(msg);
	ASSERT_EQ(0, mapd_send(m, "{\"ok\":true,\"id\":7}\n"));

	/* The first heartbeat follows at once, then one per interval. */
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (i = 0; i < 5; i++) {
		ASSERT_EQ(7, mapd_expect(m, "daemon-heartbeat", 2000, &msg));
		EXPECT_EQ(0, json_integer_value(json_object_get(msg,
								"epoch")));
		EXPECT_TRUE(json_is_integer(json_object_get(msg, "used")));
		json_decref(msg);
		ASSERT_EQ(0, mapd_send(m, "{\"ok\":true,\"epoch\":0}\n"));
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	EXPECT_LE(350, (t1.tv_sec - t0.tv_sec) * 1000 +
		       (t1.tv_nsec - t0.tv_nsec) / 1000000);

	/* The id shows in HELLO; a written object shows in "used". */
	fd = self->fd = try_connect(self->d.port);
	ASSERT_LE(0, fd);
	ASSERT_EQ(SHARD_S_OK, hello(fd, &hi));
	ASSERT_EQ(7, le32toh(hi.daemon_id));
	fill(self->a, 4096, 1);
	ASSERT_EQ(SHARD_S_OK, call(fd, SHARD_OP_WRITE, 1, 0, 4096, 0, self->a,
				   NULL));
	for (i = 0; i < 20; i++) {
		json_int_t used;

		ASSERT_EQ(7, mapd_expect(m, "daemon-heartbeat", 2000, &msg));
		used = json_integer_value(json_object_get(msg, "used"));
		json_decref(msg);
		ASSERT_EQ(0, mapd_send(m, "{\"ok\":true,\"epoch\":0}\n"));
		if (used == 4LL << 20)
			break;
	}
	ASSERT_GT(20, i);
	close(fd);
	self->fd = -1;
	ASSERT_EQ(0, daemon_stop(&self->d, SIGTERM));

	/* The id is durable: no mapd this time. */
	mapd_close(m);
	unlink(self->d.mapd);
	ASSERT_EQ(0, daemon_start(&self->d, false));
	fd = self->fd = try_connect(self->d.port);
	ASSERT_LE(0, fd);
	ASSERT_EQ(SHARD_S_OK, hello(fd, &hi));
	ASSERT_EQ(7, le32toh(hi.daemon_id));
}

/* An object of volume 9 whose PG (of 16) is even (mine) or odd. */
static uint64_t object_in(bool even_pg)
{
	uint64_t o;

	for (o = 0;; o++)
		if ((shard_object_pg(9, o, 16) % 2 == 0) == even_pg)
			return o;
}

/*
 * Daemon 7 is primary of the even PGs at epoch 5. Requests at older
 * epochs to the odd PGs (and to pools the map does not have) are
 * answered STALE, WRITEs included, whose payload is then dropped;
 * everything else is served. A request at a newer epoch is served and
 * makes the daemon fetch the map at once.
 */
TEST_F(session, stale_requests)
{
	static const char *const extra[] = { "--heartbeat-ms", "60000", NULL };
	static const uint32_t even_mine[2] = { 7, 8 }, all_mine[2] = { 7, 7 };
	const uint64_t mine = object_in(true), other = object_in(false);
	const struct target old = { .pool = 1, .volume = 9, .epoch = 4 };
	const struct target cur = { .pool = 1, .volume = 9, .epoch = 5 };
	const struct target newer = { .pool = 1, .volume = 9, .epoch = 6 };
	const struct target nopool = { .pool = 2, .volume = 9, .epoch = 4 };
	const struct target nopool_cur = { .pool = 2, .volume = 9, .epoch = 5 };
	const struct target nomap = { .pool = 1, .volume = 9, .epoch = 0 };
	struct fake_mapd *m = &self->m;
	struct shard_req_h h = {
		.opcode = SHARD_OP_WRITE, .len = 8192, .obj_order = 22,
		.tag = 77, .volume = 9, .object = other, .pool = 1, .epoch = 4,
	};
	struct shard_reply_h rh;
	int fd;

	ASSERT_EQ(0, daemon_start_with(&self->d, true, extra));
	ASSERT_EQ(0, mapd_register(m, 5000));
	ASSERT_EQ(7, mapd_expect(m, "daemon-heartbeat", 2000, NULL));
	ASSERT_EQ(0, mapd_send(m, "{\"ok\":true,\"epoch\":5}\n"));
	ASSERT_EQ(0, mapd_expect(m, "map-get", 2000, NULL));
	ASSERT_EQ(0, mapd_send_map(m, 5, 1, even_mine, NULL));
	ASSERT_TRUE(reaches_epoch(self->d.port, 5));

	fd = self->fd = try_connect(self->d.port);
	ASSERT_LE(0, fd);
	ASSERT_EQ(SHARD_S_OK, hello(fd, NULL));
	fill(self->a, 8192, 1);
	ASSERT_EQ(SHARD_S_OK, call_to(fd, &cur, SHARD_OP_WRITE, other, 0,
				      8192, 0, self->a, NULL, &rh));
	EXPECT_EQ(5, rh.epoch);

	/* A stale WRITE, a PING right behind it: the payload is read and
	 * dropped, the PING parsed after it. */
	fill(self->b, 8192, 2);
	ASSERT_EQ(0, send_req(fd, &h, self->b));
	h.opcode = SHARD_OP_PING;
	h.len = 0;
	h.tag = 78;
	ASSERT_EQ(0, send_req(fd, &h, NULL));
	ASSERT_EQ(SHARD_S_STALE, recv_reply(fd, &rh, self->b, 0));
	EXPECT_EQ(77, rh.tag);
	EXPECT_EQ(0, rh.len);
	EXPECT_EQ(5, rh.epoch);
	ASSERT_EQ(SHARD_S_OK, recv_reply(fd, &rh, self->b, 0));
	EXPECT_EQ(78, rh.tag);

	/* Every object operation at an old epoch is refused... */
	EXPECT_EQ(SHARD_S_STALE, call_to(fd, &old, SHARD_OP_READ, other, 0,
					 4096, 0, NULL, self->b, &rh));
	EXPECT_EQ(0, rh.len);
	EXPECT_EQ(SHARD_S_STALE, call_to(fd, &old, SHARD_OP_DISCARD, other,
					 0, 4096, 0, NULL, NULL, &rh));
	EXPECT_EQ(SHARD_S_STALE, call_to(fd, &old, SHARD_OP_WRITE_ZEROES,
					 other, 0, 4096, 0, NULL, NULL, &rh));
	EXPECT_EQ(SHARD_S_STALE, call_to(fd, &nomap, SHARD_OP_READ, other, 0,
					 4096, 0, NULL, self->b, &rh));
	EXPECT_EQ(SHARD_S_STALE, call_to(fd, &nopool, SHARD_OP_READ, mine, 0,
					 4096, 0, NULL, self->b, &rh));
	/* ... and did not touch the store. */
	ASSERT_EQ(SHARD_S_OK, call_to(fd, &cur, SHARD_OP_READ, other, 0, 8192,
				      0, NULL, self->b, &rh));
	ASSERT_EQ(0, memcmp(self->a, self->b, 8192));

	/* FLUSH has no PG; my PGs, the current epoch and pools at the
	 * current epoch are served. */
	EXPECT_EQ(SHARD_S_OK, call_to(fd, &old, SHARD_OP_FLUSH, 0, 0, 0, 0,
				      NULL, NULL, &rh));
	EXPECT_EQ(SHARD_S_OK, call_to(fd, &old, SHARD_OP_WRITE, mine, 0, 8192,
				      0, self->a, NULL, &rh));
	EXPECT_EQ(SHARD_S_OK, call_to(fd, &old, SHARD_OP_READ, mine, 0, 8192,
				      0, NULL, self->b, &rh));
	EXPECT_EQ(0, memcmp(self->a, self->b, 8192));
	EXPECT_EQ(SHARD_S_OK, call_to(fd, &nopool_cur, SHARD_OP_READ, mine, 0,
				      4096, 0, NULL, self->b, &rh));

	/* A newer epoch: served at once, and the map is fetched now, not
	 * at the next heartbeat (a minute away). */
	EXPECT_EQ(SHARD_S_OK, call_to(fd, &newer, SHARD_OP_READ, other, 0,
				      8192, 0, NULL, self->b, &rh));
	EXPECT_EQ(5, rh.epoch);
	EXPECT_EQ(0, memcmp(self->a, self->b, 8192));
	ASSERT_EQ(0, mapd_expect(m, "map-get", 2000, NULL));
	ASSERT_EQ(0, mapd_send_map(m, 6, 1, all_mine, NULL));
	ASSERT_TRUE(reaches_epoch(self->d.port, 6));
	EXPECT_EQ(SHARD_S_OK, call_to(fd, &cur, SHARD_OP_READ, other, 0, 8192,
				      0, NULL, self->b, &rh));
	EXPECT_EQ(6, rh.epoch);
	close(fd);
	self->fd = -1;
	ASSERT_EQ(0, daemon_stop(&self->d, SIGTERM));
}

/* A peer's side of the wire, for the replication test. */
static int peer_recv_req(int fd, struct shard_req_h *h, void *buf)
{
	unsigned char hdr[SHARD_HDR_SIZE];
	const char *why;

	if (!readable(fd, 5000) || recv_all(fd, hdr, sizeof(hdr)) ||
	    shard_req_decode(hdr, h, &why) ||
	    (shard_op_has_req_payload(h->opcode) &&
	     (recv_all(fd, buf, h->len) ||
	      shard_crc32c(buf, h->len) != h->data_crc)))
		return -1;
	return 0;
}

static int peer_reply(int fd, const struct shard_req_h *h,
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
static int peer_reply_data(int fd, const struct shard_req_h *h,
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
static int peer_accept(int lfd)
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

static int peer_hello_as(int fd, uint32_t from, uint32_t to)
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

/*
 * Daemon 7 is primary of the even PGs of a pool of two copies, daemon 8
 * (this test) of the odd ones. As primary, 7 acknowledges a client's
 * WRITE only after 8 has it; it sends it again on a new connection when
 * 8 drops the old one, and again shortly when 8 answers STALE from an
 * older map; a FLUSH reaches 8. As member, 7 applies 8's REP_WRITE to
 * an odd PG, and refuses (STALE, nothing changed) one to an even PG, one
 * stamped before the PG's members were set, and misplaced requests.
 */
TEST_F(session, replication)
{
	static const char *const extra[] = { "--heartbeat-ms", "60000", NULL };
	static const uint32_t even_mine[2] = { 7, 8 };
	const uint64_t mine = object_in(true), other = object_in(false);
	const struct target cur = { .pool = 1, .volume = 9, .epoch = 5 };
	const struct target newer = { .pool = 1, .volume = 9, .epoch = 6 };
	struct fake_mapd *m = &self->m;
	struct sockaddr_in sin = { .sin_family = AF_INET };
	socklen_t sl = sizeof(sin);
	struct shard_reply_h rh;
	struct shard_req_h h;
	int lfd, pfd, fd, one = 1;

	lfd = socket(AF_INET, SOCK_STREAM, 0);
	ASSERT_LE(0, lfd);
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ASSERT_EQ(0, bind(lfd, (struct sockaddr *)&sin, sizeof(sin)));
	ASSERT_EQ(0, listen(lfd, 4));
	ASSERT_EQ(0, getsockname(lfd, (struct sockaddr *)&sin, &sl));
	peer8_port = ntohs(sin.sin_port);

	ASSERT_EQ(0, daemon_start_with(&self->d, true, extra));
	ASSERT_EQ(0, mapd_register(m, 5000));
	ASSERT_EQ(7, mapd_expect(m, "daemon-heartbeat", 2000, NULL));
	ASSERT_EQ(0, mapd_send(m, "{\"ok\":true,\"epoch\":5}\n"));
	ASSERT_EQ(0, mapd_expect(m, "map-get", 2000, NULL));
	ASSERT_EQ(0, mapd_send_map(m, 5, 2, even_mine, NULL));
	ASSERT_TRUE(reaches_epoch(self->d.port, 5));

	fd = self->fd = try_connect(self->d.port);
	ASSERT_LE(0, fd);
	ASSERT_EQ(SHARD_S_OK, hello(fd, NULL));

	/* The primary's side: the member has it before the client hears. */
	fill(self->a, 8192, 1);
	h = (struct shard_req_h){
		.opcode = SHARD_OP_WRITE, .len = 8192, .obj_order = 22,
		.tag = 500, .volume = 9, .object = mine, .pool = 1, .epoch = 5,
	};
	ASSERT_EQ(0, send_req(fd, &h, self->a));
	pfd = peer_accept(lfd);
	ASSERT_LE(0, pfd);
	ASSERT_EQ(0, peer_recv_req(pfd, &h, self->b));
	EXPECT_EQ(SHARD_OP_REP_WRITE, h.opcode);
	EXPECT_EQ(mine, h.object);
	EXPECT_EQ(5, h.epoch);
	ASSERT_EQ(8192, h.len);
	EXPECT_EQ(0, memcmp(self->a, self->b, 8192));
	EXPECT_FALSE(readable(fd, 200));
	ASSERT_EQ(0, peer_reply(pfd, &h, SHARD_S_OK, 5));
	ASSERT_EQ(SHARD_S_OK, recv_reply(fd, &rh, self->b, 0));
	EXPECT_EQ(500, rh.tag);

	/* The member drops the connection unanswered: sent again. */
	fill(self->a, 8192, 2);
	h.opcode = SHARD_OP_WRITE;
	h.tag = 501;
	h.epoch = 5;
	ASSERT_EQ(0, send_req(fd, &h, self->a));
	ASSERT_EQ(0, peer_recv_req(pfd, &h, self->b));
	close(pfd);
	pfd = peer_accept(lfd);
	ASSERT_LE(0, pfd);
	ASSERT_EQ(0, peer_recv_req(pfd, &h, self->b));
	EXPECT_EQ(SHARD_OP_REP_WRITE, h.opcode);
	EXPECT_EQ(0, memcmp(self->a, self->b, 8192));
	EXPECT_FALSE(readable(fd, 100));
	/* STALE from a member behind us: the primary drops the
	 * connection (the member refuses all that follows on it) and
	 * sends it all again shortly on a new one. */
	ASSERT_EQ(0, peer_reply(pfd, &h, SHARD_S_STALE, 4));
	EXPECT_TRUE(readable(pfd, 2000));
	EXPECT_EQ(0, recv(pfd, self->b, 1, 0));
	close(pfd);
	pfd = peer_accept(lfd);
	ASSERT_LE(0, pfd);
	ASSERT_EQ(0, peer_recv_req(pfd, &h, self->b));
	EXPECT_EQ(SHARD_OP_REP_WRITE, h.opcode);
	EXPECT_EQ(0, memcmp(self->a, self->b, 8192));
	EXPECT_FALSE(readable(fd, 50));
	ASSERT_EQ(0, peer_reply(pfd, &h, SHARD_S_OK, 5));
	ASSERT_EQ(SHARD_S_OK, recv_reply(fd, &rh, self->b, 0));
	EXPECT_EQ(501, rh.tag);

	/* A DISCARD goes as REP_ZERO: a range, no payload. */
	h = (struct shard_req_h){
		.opcode = SHARD_OP_DISCARD, .len = 4096, .obj_order = 22,
		.tag = 503, .volume = 9, .object = mine, .pool = 1, .epoch = 5,
		.offset = 4096,
	};
	ASSERT_EQ(0, send_req(fd, &h, NULL));
	ASSERT_EQ(0, peer_recv_req(pfd, &h, self->b));
	EXPECT_EQ(SHARD_OP_REP_ZERO, h.opcode);
	EXPECT_EQ(4096, h.offset);
	EXPECT_EQ(4096, h.len);
	ASSERT_EQ(0, peer_reply(pfd, &h, SHARD_S_OK, 5));
	ASSERT_EQ(SHARD_S_OK, recv_reply(fd, &rh, self->b, 0));
	EXPECT_EQ(503, rh.tag);

	/* A FLUSH reaches the member written to. */
	h = (struct shard_req_h){ .opcode = SHARD_OP_FLUSH, .tag = 502,
				  .epoch = 5 };
	ASSERT_EQ(0, send_req(fd, &h, NULL));
	ASSERT_EQ(0, peer_recv_req(pfd, &h, self->b));
	EXPECT_EQ(SHARD_OP_REP_FLUSH, h.opcode);
	EXPECT_FALSE(readable(fd, 100));
	ASSERT_EQ(0, peer_reply(pfd, &h, SHARD_S_OK, 5));
	ASSERT_EQ(SHARD_S_OK, recv_reply(fd, &rh, self->b, 0));
	EXPECT_EQ(502, rh.tag);
	close(pfd);

	/* The member's side: this test is daemon 8, primary of odd PGs. */
	pfd = try_connect(self->d.port);
	ASSERT_LE(0, pfd);
	ASSERT_EQ(SHARD_S_OK, peer_hello_as(pfd, 8, 7));
	fill(self->a, 8192, 3);
	ASSERT_EQ(SHARD_S_OK, call_to(pfd, &cur, SHARD_OP_REP_WRITE, other,
				      0, 8192, 0, self->a, NULL, &rh));
	EXPECT_EQ(SHARD_S_OK, call_to(pfd, &cur, SHARD_OP_REP_FLUSH, 0, 0, 0,
				      0, NULL, NULL, &rh));
	fill(self->b, 8192, 4);
	/* Not the primary of an even PG; an epoch before the members; a
	 * pool the map does not have: each refused, on a connection of
	 * its own, for after a refusal everything is refused. */
	EXPECT_EQ(SHARD_S_STALE, call_to(pfd, &cur, SHARD_OP_REP_WRITE, mine,
					 0, 8192, 0, self->b, NULL, &rh));
	EXPECT_EQ(SHARD_S_STALE, call_to(pfd, &cur, SHARD_OP_REP_WRITE, other,
					 0, 8192, 0, self->b, NULL, &rh));
	close(pfd);
	pfd = try_connect(self->d.port);
	ASSERT_LE(0, pfd);
	ASSERT_EQ(SHARD_S_OK, peer_hello_as(pfd, 8, 7));
	EXPECT_EQ(SHARD_S_STALE, call_to(pfd, &(struct target){ .pool = 1,
				.volume = 9, .epoch = 4 }, SHARD_OP_REP_WRITE,
					 other, 0, 8192, 0, self->b, NULL,
					 &rh));
	close(pfd);
	pfd = try_connect(self->d.port);
	ASSERT_LE(0, pfd);
	ASSERT_EQ(SHARD_S_OK, peer_hello_as(pfd, 8, 7));
	EXPECT_EQ(SHARD_S_STALE, call_to(pfd, &(struct target){ .pool = 2,
				.volume = 9, .epoch = 5 }, SHARD_OP_REP_ZERO,
					 other, 0, 8192, 0, NULL, NULL, &rh));
	close(pfd);
	pfd = try_connect(self->d.port);
	ASSERT_LE(0, pfd);
	ASSERT_EQ(SHARD_S_OK, peer_hello_as(pfd, 8, 7));
	/* A client request on a peer connection closes it. */
	EXPECT_EQ(-1, call_to(pfd, &cur, SHARD_OP_READ, other, 0, 4096, 0,
			      NULL, self->b, &rh));
	close(pfd);
	/* So do a REP_ request on a client connection and a hello for
	 * another daemon. */
	pfd = try_connect(self->d.port);
	ASSERT_LE(0, pfd);
	ASSERT_EQ(SHARD_S_OK, hello(pfd, NULL));
	EXPECT_EQ(-1, call_to(pfd, &cur, SHARD_OP_REP_WRITE, other, 0, 8192,
			      0, self->b, NULL, &rh));
	close(pfd);
	pfd = try_connect(self->d.port);
	ASSERT_LE(0, pfd);
	EXPECT_NE(SHARD_S_OK, peer_hello_as(pfd, 8, 9));
	close(pfd);

	/* What 8 wrote is there, what was refused is not (a client of a
	 * newer map may read it from us). */
	ASSERT_EQ(SHARD_S_OK, call_to(fd, &newer, SHARD_OP_READ, other, 0,
				      8192, 0, NULL, self->b, &rh));
	EXPECT_EQ(0, memcmp(self->a, self->b, 8192));
	close(lfd);
	peer8_port = 0;
	close(fd);
	self->fd = -1;
	ASSERT_EQ(0, daemon_stop(&self->d, SIGTERM));
}

/*
 * The primary's own copy fails its checksum: a client's READ is served
 * from the other member's copy (REP_READ), and fails CORRUPT only when
 * that one cannot serve it either.
 */
TEST_F(session, read_from_another_copy)
{
	static const char *const extra[] = { "--heartbeat-ms", "60000", NULL };
	static const uint32_t even_mine[2] = { 7, 8 };
	const uint64_t mine = object_in(true);
	const struct target cur = { .pool = 1, .volume = 9, .epoch = 5 };
	struct fake_mapd *m = &self->m;
	struct sockaddr_in sin = { .sin_family = AF_INET };
	socklen_t sl = sizeof(sin);
	struct shard_reply_h rh;
	struct shard_req_h h;
	int lfd, pfd, fd, sfd, one = 1, k;

	lfd = socket(AF_INET, SOCK_STREAM, 0);
	ASSERT_LE(0, lfd);
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ASSERT_EQ(0, bind(lfd, (struct sockaddr *)&sin, sizeof(sin)));
	ASSERT_EQ(0, listen(lfd, 4));
	ASSERT_EQ(0, getsockname(lfd, (struct sockaddr *)&sin, &sl));
	peer8_port = ntohs(sin.sin_port);

	ASSERT_EQ(0, daemon_start_with(&self->d, true, extra));
	ASSERT_EQ(0, mapd_register(m, 5000));
	ASSERT_EQ(7, mapd_expect(m, "daemon-heartbeat", 2000, NULL));
	ASSERT_EQ(0, mapd_send(m, "{\"ok\":true,\"epoch\":5}\n"));
	ASSERT_EQ(0, mapd_expect(m, "map-get", 2000, NULL));
	ASSERT_EQ(0, mapd_send_map(m, 5, 2, even_mine, NULL));
	ASSERT_TRUE(reaches_epoch(self->d.port, 5));
	fd = self->fd = try_connect(self->d.port);
	ASSERT_LE(0, fd);
	ASSERT_EQ(SHARD_S_OK, hello(fd, NULL));

	fill(self->a, 8192, 5);
	h = (struct shard_req_h){
		.opcode = SHARD_OP_WRITE, .len = 8192, .obj_order = 22,
		.tag = 600, .volume = 9, .object = mine, .pool = 1, .epoch = 5,
	};
	ASSERT_EQ(0, send_req(fd, &h, self->a));
	pfd = peer_accept(lfd);
	ASSERT_LE(0, pfd);
	ASSERT_EQ(0, peer_recv_req(pfd, &h, self->b));
	ASSERT_EQ(0, peer_reply(pfd, &h, SHARD_S_OK, 5));
	ASSERT_EQ(SHARD_S_OK, recv_reply(fd, &rh, self->b, 0));

	/* Damage the first block of every slot of our store (the data
	 * starts at 1 MiB; slots are 4 MiB). */
	sfd = open(self->d.store, O_WRONLY);
	ASSERT_LE(0, sfd);
	for (k = 0; k < 7; k++)
		ASSERT_EQ(16, pwrite(sfd, "damaged damaged!", 16,
				     (1 << 20) + ((off_t)k << 22) + 100));
	ASSERT_EQ(0, fsync(sfd));
	close(sfd);

	h = (struct shard_req_h){
		.opcode = SHARD_OP_READ, .len = 8192, .obj_order = 22,
		.tag = 601, .volume = 9, .object = mine, .pool = 1, .epoch = 5,
	};
	ASSERT_EQ(0, send_req(fd, &h, NULL));
	ASSERT_EQ(0, peer_recv_req(pfd, &h, self->b));
	EXPECT_EQ(SHARD_OP_REP_READ, h.opcode);
	EXPECT_EQ(mine, h.object);
	EXPECT_EQ(0, h.offset);
	ASSERT_EQ(8192, h.len);
	ASSERT_EQ(0, peer_reply_data(pfd, &h, self->a));
	memset(self->b, 0, 8192);
	ASSERT_EQ(SHARD_S_OK, recv_reply(fd, &rh, self->b, 8192));
	EXPECT_EQ(601, rh.tag);
	EXPECT_EQ(0, memcmp(self->a, self->b, 8192));

	/* The other copy is bad too: CORRUPT. */
	ASSERT_EQ(0, send_req(fd, &(struct shard_req_h){
		.opcode = SHARD_OP_READ, .len = 4096, .obj_order = 22,
		.tag = 602, .volume = 9, .object = mine, .pool = 1, .epoch = 5,
	}, NULL));
	ASSERT_EQ(0, peer_recv_req(pfd, &h, self->b));
	EXPECT_EQ(SHARD_OP_REP_READ, h.opcode);
	ASSERT_EQ(0, peer_reply(pfd, &h, SHARD_S_CORRUPT, 5));
	EXPECT_EQ(SHARD_S_CORRUPT, recv_reply(fd, &rh, self->b, 4096));
	EXPECT_EQ(602, rh.tag);

	/* An undamaged range is served from our copy, nothing asked. */
	EXPECT_EQ(SHARD_S_OK, call_to(fd, &cur, SHARD_OP_READ, mine, 4096,
				      4096, 0, NULL, self->b, &rh));
	EXPECT_EQ(0, memcmp(self->a + 4096, self->b, 4096));
	EXPECT_FALSE(readable(pfd, 100));
	close(pfd);
	close(lfd);
	peer8_port = 0;
	close(fd);
	self->fd = -1;
	ASSERT_EQ(0, daemon_stop(&self->d, SIGTERM));
}

/*
 * The map names daemon 8 (this test) as a backfill target of a PG of
 * daemon 7's: 7 sends it every object of the PG, whole, in SHARD_MAX_IO
 * REP_WRITEs, then tells mapd pg-backfilled with the PG's acting row.
 */
TEST_F(session, backfill)
{
	static const char *const extra[] = { "--heartbeat-ms", "60000", NULL };
	static const uint32_t all_mine[2] = { 7, 7 };
	const uint64_t mine = object_in(true);
	const struct target cur = { .pool = 1, .volume = 9, .epoch = 5 };
	const struct target newer = { .pool = 1, .volume = 9, .epoch = 6 };
	struct fake_mapd *m = &self->m;
	struct sockaddr_in sin = { .sin_family = AF_INET };
	socklen_t sl = sizeof(sin);
	char bf[64];
	struct shard_reply_h rh;
	struct shard_req_h h;
	json_t *msg;
	int lfd, pfd, fd, one = 1, k;

	lfd = socket(AF_INET, SOCK_STREAM, 0);
	ASSERT_LE(0, lfd);
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ASSERT_EQ(0, bind(lfd, (struct sockaddr *)&sin, sizeof(sin)));
	ASSERT_EQ(0, listen(lfd, 4));
	ASSERT_EQ(0, getsockname(lfd, (struct sockaddr *)&sin, &sl));
	peer8_port = ntohs(sin.sin_port);

	ASSERT_EQ(0, daemon_start_with(&self->d, true, extra));
	ASSERT_EQ(0, mapd_register(m, 5000));
	ASSERT_EQ(7, mapd_expect(m, "daemon-heartbeat", 2000, NULL));
	ASSERT_EQ(0, mapd_send(m, "{\"ok\":true,\"epoch\":5}\n"));
	ASSERT_EQ(0, mapd_expect(m, "map-get", 2000, NULL));
	ASSERT_EQ(0, mapd_send_map(m, 5, 1, all_mine, NULL));
	ASSERT_TRUE(reaches_epoch(self->d.port, 5));
	fd = self->fd = try_connect(self->d.port);
	ASSERT_LE(0, fd);
	ASSERT_EQ(SHARD_S_OK, hello(fd, NULL));
	fill(self->a, 8192, 6);
	ASSERT_EQ(SHARD_S_OK, call_to(fd, &cur, SHARD_OP_WRITE, mine, 0, 8192,
				      0, self->a, NULL, &rh));

	/* Epoch 6 names daemon 8 to join mine's PG. */
	ASSERT_EQ(SHARD_S_OK, call_to(fd, &newer, SHARD_OP_PING, 0, 0, 0, 0,
				      NULL, NULL, &rh));
	ASSERT_EQ(0, mapd_expect(m, "map-get", 2000, NULL));
	snprintf(bf, sizeof(bf), "[[%u, 8]]", shard_object_pg(9, mine, 16));
	map_backfill = bf;
	ASSERT_EQ(0, mapd_send_map(m, 6, 1, all_mine, NULL));
	map_backfill = NULL;
	pfd = peer_accept(lfd);
	ASSERT_LE(0, pfd);
	for (k = 0; k < 4; k++) {
		ASSERT_EQ(0, peer_recv_req(pfd, &h, self->b));
		EXPECT_EQ(SHARD_OP_REP_WRITE, h.opcode);
		EXPECT_EQ(mine, h.object);
		EXPECT_EQ(22, h.obj_order);
		EXPECT_EQ((uint32_t)k << 20, h.offset);
		ASSERT_EQ(SHARD_MAX_IO, h.len);
		if (!k)
			EXPECT_EQ(0, memcmp(self->a, self->b, 8192));
		ASSERT_EQ(0, peer_reply(pfd, &h, SHARD_S_OK, 6));
	}
	ASSERT_EQ(0, mapd_expect(m, "pg-backfilled", 5000, &msg));
	EXPECT_EQ(1, json_integer_value(json_object_get(msg, "pool")));
	EXPECT_EQ(8, json_integer_value(json_object_get(msg, "daemon")));
	EXPECT_EQ(7, json_integer_value(json_object_get(msg, "from")));
	do {
		json_t *pgs = json_object_get(msg, "pgs"), *e;

		ASSERT_EQ(1, json_array_size(pgs));
		e = json_array_get(pgs, 0);
		EXPECT_EQ(shard_object_pg(9, mine, 16),
			  json_integer_value(json_object_get(e, "pg")));
		EXPECT_EQ(1, json_array_size(json_object_get(e, "acting")));
		EXPECT_EQ(7, json_integer_value(json_array_get(
			json_object_get(e, "acting"), 0)));
	} while (0);
	json_decref(msg);
	ASSERT_EQ(0, mapd_send(m, "{\"ok\":true,\"epoch\":7,\"refused\":[]}\n"));

	close(pfd);
	close(lfd);
	peer8_port = 0;
	close(fd);
	self->fd = -1;
	ASSERT_EQ(0, daemon_stop(&self->d, SIGTERM));
}

/*
 * A map that blocklists the client's address closes its connection;
 * its HELLO is refused from then on, and so is a PEER_HELLO from there
 * unless the map puts that daemon at that address.
 */
TEST_F(session, blocklisted_client)
{
	static const char *const extra[] = { "--heartbeat-ms", "60000", NULL };
	static const uint32_t all_mine[2] = { 7, 7 };
	const struct target cur = { .pool = 1, .volume = 9, .epoch = 5 };
	const struct target newer = { .pool = 1, .volume = 9, .epoch = 6 };
	struct fake_mapd *m = &self->m;
	struct shard_reply_h rh;
	int fd;

	ASSERT_EQ(0, daemon_start_with(&self->d, true, extra));
	ASSERT_EQ(0, mapd_register(m, 5000));
	ASSERT_EQ(7, mapd_expect(m, "daemon-heartbeat", 2000, NULL));
	ASSERT_EQ(0, mapd_send(m, "{\"ok\":true,\"epoch\":5}\n"));
	ASSERT_EQ(0, mapd_expect(m, "map-get", 2000, NULL));
	ASSERT_EQ(0, mapd_send_map(m, 5, 1, all_mine, NULL));
	ASSERT_TRUE(reaches_epoch(self->d.port, 5));

	fd = self->fd = try_connect(self->d.port);
	ASSERT_LE(0, fd);
	ASSERT_EQ(SHARD_S_OK, hello(fd, NULL));
	fill(self->a, 4096, 1);
	ASSERT_EQ(SHARD_S_OK, call_to(fd, &cur, SHARD_OP_WRITE, 1, 0, 4096, 0,
				      self->a, NULL, &rh));
	/* A newer epoch makes the daemon fetch the map that blocks us. */
	ASSERT_EQ(SHARD_S_OK, call_to(fd, &newer, SHARD_OP_PING, 0, 0, 0, 0,
				      NULL, NULL, &rh));
	ASSERT_EQ(0, mapd_expect(m, "map-get", 2000, NULL));
	map_block = "127.0.0.1";
	ASSERT_EQ(0, mapd_send_map(m, 6, 1, all_mine, NULL));
	EXPECT_TRUE(readable(fd, 5000));
	EXPECT_TRUE(conn_closed(fd));
	close(fd);
	fd = self->fd = try_connect(self->d.port);
	ASSERT_LE(0, fd);
	EXPECT_NE(SHARD_S_OK, hello(fd, NULL));
	close(fd);
	/* Daemon 8 is at 127.0.0.2 in the map: not from here. */
	fd = self->fd = try_connect(self->d.port);
	ASSERT_LE(0, fd);
	EXPECT_NE(SHARD_S_OK, peer_hello_as(fd, 8, 7));
	close(fd);
	self->fd = -1;
	map_block = NULL;
	ASSERT_EQ(0, daemon_stop(&self->d, SIGTERM));
}

static void unknown_daemon(uint32_t *table)
{
	table[5] = htole32(99);
}

/* Registers again after the daemon closed the session; -1 if it did not
 * close it or did not come back. */
static int mapd_reconnect(struct fake_mapd *m)
{
	if (!mapd_closed(m, 3000))
		return -1;
	return mapd_register(m, 5000);
}

/* Registered, one heartbeat answered with epoch. */
static int mapd_beat(struct fake_mapd *m, int64_t epoch)
{
	if (mapd_expect(m, "daemon-heartbeat", 2000, NULL) != 7)
		return -1;
	return mapd_sendf(m, "{\"ok\":true,\"epoch\":%lld}\n",
			  (long long)epoch);
}

/*
 * This host's mapd joined a cluster where our id is another store's:
 * a store holding nothing asks for a new id at once; once it holds data
 * it keeps its id and stays refused (heartbeat 100 ms: 3 s backoff).
 */
TEST_F(session, renumbers_only_an_empty_store)
{
	static const char *const extra[] = { "--heartbeat-ms", "100", NULL };
	static const char taken[] = "{\"ok\":false,\"error\":\"daemon id 7 "
		"belongs to the store with uuid 1\",\"reason\":\"id-taken\"}\n";
	struct fake_mapd *m = &self->m;
	struct shard_hello hi;
	int fd;

	ASSERT_EQ(0, daemon_start_with(&self->d, true, extra));
	ASSERT_EQ(0, mapd_register(m, 5000));	/* id 7 */
	ASSERT_EQ(7, mapd_expect(m, "daemon-heartbeat", 2000, NULL));
	mapd_drop(m);

	ASSERT_EQ(0, mapd_accept(m, 5000));
	ASSERT_EQ(7, mapd_expect(m, "daemon-register", 2000, NULL));
	ASSERT_EQ(0, mapd_send(m, taken));
	ASSERT_TRUE(mapd_closed(m, 3000));
	/* Back within a beat or so, without an id. */
	ASSERT_EQ(0, mapd_accept(m, 1500));
	ASSERT_EQ(0, mapd_expect(m, "daemon-register", 2000, NULL));
	ASSERT_EQ(0, mapd_send(m, "{\"ok\":true,\"id\":12}\n"));
	ASSERT_EQ(12, mapd_expect(m, "daemon-heartbeat", 2000, NULL));

	/* Data written: the id stays, refused or not. */
	fd = self->fd = try_connect(self->d.port);
	ASSERT_LE(0, fd);
	ASSERT_EQ(SHARD_S_OK, hello(fd, &hi));
	ASSERT_EQ(12, le32toh(hi.daemon_id));
	fill(self->a, 4096, 1);
	ASSERT_EQ(SHARD_S_OK, call(fd, SHARD_OP_WRITE, 1, 0, 4096, 0, self->a,
				   NULL));
	mapd_drop(m);
	ASSERT_EQ(0, mapd_accept(m, 5000));
	ASSERT_EQ(12, mapd_expect(m, "daemon-register", 2000, NULL));
	ASSERT_EQ(0, mapd_send(m, taken));
	ASSERT_TRUE(mapd_closed(m, 3000));
	ASSERT_NE(0, mapd_accept(m, 1500));	/* the long backoff */
	ASSERT_EQ(0, mapd_accept(m, 5000));
	ASSERT_EQ(12, mapd_expect(m, "daemon-register", 2000, NULL));
}

/*
 * A mapd that misbehaves in every way the daemon must survive: each
 * time the daemon drops the session and comes back (heartbeat 100 ms:
 * reconnect after 500 ms, reply timeout 500 ms, 3 s after a refusal),
 * keeps serving, and keeps the map it had.
 */
TEST_F(session, survives_a_bad_mapd)
{
	static const char *const extra[] = { "--heartbeat-ms", "100", NULL };
	static const uint32_t even_mine[2] = { 7, 8 };
	struct fake_mapd *m = &self->m;
	struct shard_hello hi;
	json_t *msg;
	char *huge;
	size_t huge_len = 17U << 20;
	int fd;

	ASSERT_EQ(0, daemon_start_with(&self->d, true, extra));

	/* Replies to the registration: not JSON, a wrong type, data
	 * after the reply, cut off, none at all. */
	ASSERT_EQ(0, mapd_accept(m, 5000));
	ASSERT_EQ(0, mapd_expect(m, "daemon-register", 2000, NULL));
	ASSERT_EQ(0, mapd_send(m, "}{ not json\n"));
	ASSERT_TRUE(mapd_closed(m, 3000));
	ASSERT_EQ(0, mapd_accept(m, 5000));
	ASSERT_EQ(0, mapd_expect(m, "daemon-register", 2000, NULL));
	ASSERT_EQ(0, mapd_send(m, "{\"ok\":true,\"id\":\"7\"}\n"));
	ASSERT_TRUE(mapd_closed(m, 3000));
	ASSERT_EQ(0, mapd_accept(m, 5000));
	ASSERT_EQ(0, mapd_expect(m, "daemon-register", 2000, NULL));
	ASSERT_EQ(0, mapd_send(m, "{\"ok\":true,\"id\":7}\n{\"ok\":true}\n"));
	ASSERT_TRUE(mapd_closed(m, 3000));
	ASSERT_EQ(0, mapd_accept(m, 5000));
	ASSERT_LE(0, mapd_expect(m, "daemon-register", 2000, NULL));
	ASSERT_EQ(0, mapd_send(m, "{\"ok\":tr"));
	mapd_drop(m);
	ASSERT_EQ(0, mapd_accept(m, 5000));
	ASSERT_LE(0, mapd_expect(m, "daemon-register", 2000, NULL));
	ASSERT_TRUE(mapd_closed(m, 3000));		/* timed out */

	/* A heartbeat reply with wrong types; an error reply. */
	ASSERT_EQ(0, mapd_register(m, 5000));
	ASSERT_EQ(7, mapd_expect(m, "daemon-heartbeat", 2000, NULL));
	ASSERT_EQ(0, mapd_send(m, "{\"ok\":\"yes\",\"epoch\":\"5\"}\n"));
	ASSERT_EQ(0, mapd_reconnect(m));
	ASSERT_EQ(7, mapd_expect(m, "daemon-heartbeat", 2000, NULL));
	ASSERT_EQ(0, mapd_send(m, "{\"ok\":false,\"error\":\"who?\"}\n"));
	ASSERT_EQ(0, mapd_reconnect(m));

	/* A line longer than 16 MiB. */
	huge = malloc(huge_len);
	ASSERT_NE(NULL, huge);
	memset(huge, 'x', huge_len);
	ASSERT_EQ(7, mapd_expect(m, "daemon-heartbeat", 2000, NULL));
	/* The send fails once the daemon has had enough and closes. */
	send_all(m->c, huge, huge_len);
	free(huge);
	ASSERT_EQ(0, mapd_reconnect(m));

	/* Maps that must be refused: an unknown daemon in the table,
	 * a table that is not base64. */
	ASSERT_EQ(0, mapd_beat(m, 5));
	ASSERT_EQ(0, mapd_expect(m, "map-get", 2000, NULL));
	ASSERT_EQ(0, mapd_send_map(m, 5, 2, even_mine, unknown_daemon));
	ASSERT_EQ(0, mapd_reconnect(m));
	ASSERT_EQ(0, mapd_beat(m, 5));
	ASSERT_EQ(0, mapd_expect(m, "map-get", 2000, NULL));
	ASSERT_EQ(0, mapd_send(m, "{\"ok\":true,\"map\":{\"epoch\":5,"
			       "\"daemons\":[{\"id\":7}],\"pools\":[{\"id\":1,"
			       "\"pg_count\":1,\"width\":1,\"table\":"
			       "\"*****\"}]}}\n"));
	ASSERT_EQ(0, mapd_reconnect(m));
	EXPECT_EQ(0, daemon_epoch(self->d.port));

	/* A good map, then an older one: ignored, the session goes on. */
	ASSERT_EQ(0, mapd_beat(m, 5));
	ASSERT_EQ(0, mapd_expect(m, "map-get", 2000, NULL));
	ASSERT_EQ(0, mapd_send_map(m, 5, 2, even_mine, NULL));
	ASSERT_EQ(7, mapd_expect(m, "daemon-heartbeat", 2000, &msg));
	EXPECT_EQ(5, json_integer_value(json_object_get(msg, "epoch")));
	json_decref(msg);
	ASSERT_EQ(0, mapd_send(m, "{\"ok\":true,\"epoch\":9}\n"));
	ASSERT_EQ(0, mapd_expect(m, "map-get", 2000, NULL));
	ASSERT_EQ(0, mapd_send_map(m, 3, 2, even_mine, NULL));
	ASSERT_EQ(7, mapd_expect(m, "daemon-heartbeat", 2000, &msg));
	EXPECT_EQ(5, json_integer_value(json_object_get(msg, "epoch")));
	json_decref(msg);
	ASSERT_EQ(0, mapd_send(m, "{\"ok\":true,\"epoch\":5}\n"));
	EXPECT_EQ(5, daemon_epoch(self->d.port));

	/* A refused registration: back after the longer backoff. */
	mapd_drop(m);
	ASSERT_EQ(0, mapd_accept(m, 5000));
	ASSERT_EQ(7, mapd_expect(m, "daemon-register", 2000, NULL));
	ASSERT_EQ(0, mapd_send(m, "{\"ok\":false,\"error\":\"not now\"}\n"));
	ASSERT_TRUE(mapd_closed(m, 3000));
	ASSERT_NE(0, mapd_accept(m, 1500));
	ASSERT_EQ(0, mapd_register(m, 5000));
	ASSERT_EQ(0, mapd_beat(m, 5));

	/* Through all of it the daemon served, with the map it had. */
	fd = self->fd = try_connect(self->d.port);
	ASSERT_LE(0, fd);
	ASSERT_EQ(SHARD_S_OK, hello(fd, &hi));
	ASSERT_EQ(7, le32toh(hi.daemon_id));
	EXPECT_EQ(5, daemon_epoch(self->d.port));
	close(fd);
	self->fd = -1;
	ASSERT_EQ(0, daemon_stop(&self->d, SIGTERM));
}

TEST(bad_arguments)
{
	const char *bin = getenv("SHARDD") ? getenv("SHARDD") : DEFAULT_SHARDD;
	char cmd[512];

	snprintf(cmd, sizeof(cmd), "%s --bogus 2>/dev/null", bin);
	EXPECT_NE(0, system(cmd));
	snprintf(cmd, sizeof(cmd), "%s 2>/dev/null", bin);
	EXPECT_NE(0, system(cmd));
	snprintf(cmd, sizeof(cmd), "%s --store /nonexistent --class xyz "
		 "2>/dev/null", bin);
	EXPECT_NE(0, system(cmd));
	snprintf(cmd, sizeof(cmd), "%s --store /nonexistent --port 70000 "
		 "2>/dev/null", bin);
	EXPECT_NE(0, system(cmd));
	snprintf(cmd, sizeof(cmd), "%s --store /nonexistent --heartbeat-ms 0 "
		 "2>/dev/null", bin);
	EXPECT_EQ(2 << 8, system(cmd));
	snprintf(cmd, sizeof(cmd), "%s --store /nonexistent --heartbeat-ms "
		 "1s 2>/dev/null", bin);
	EXPECT_EQ(2 << 8, system(cmd));
	snprintf(cmd, sizeof(cmd), "%s --store /nonexistent --heartbeat-ms "
		 "-1000 2>/dev/null", bin);
	EXPECT_EQ(2 << 8, system(cmd));
	snprintf(cmd, sizeof(cmd), "%s --store /nonexistent --rack 'r 1' "
		 "2>/dev/null", bin);
	EXPECT_EQ(2 << 8, system(cmd));
	snprintf(cmd, sizeof(cmd), "%s --store /nonexistent --site '' "
		 "2>/dev/null", bin);
	EXPECT_EQ(2 << 8, system(cmd));
	snprintf(cmd, sizeof(cmd), "%s --help >/dev/null", bin);
	EXPECT_EQ(0, system(cmd));
}

TEST_HARNESS_MAIN
