// SPDX-License-Identifier: GPL-2.0-only
/*
 * End to end: runs the shardd binary ($SHARDD, else the sanitized build)
 * on a temporary store on 127.0.0.1 and talks the wire protocol to it.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <jansson.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

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

/* Starts shardd and waits until it accepts connections. */
static int daemon_start(struct daemon *d, bool with_mapd)
{
	const char *bin = getenv("SHARDD") ? getenv("SHARDD") : DEFAULT_SHARDD;
	char port[16];
	int i, fd;

	d->port = free_port();
	snprintf(port, sizeof(port), "%u", d->port);
	d->pid = fork();
	if (d->pid < 0)
		return -1;
	if (!d->pid) {
		if (with_mapd)
			execl(bin, bin, "--store", d->store, "--size", "32M",
			      "--listen", "127.0.0.1", "--port", port,
			      "--mapd", d->mapd, "--host", "testhost",
			      "--class", "hdd", "--foreground", (char *)NULL);
		else
			execl(bin, bin, "--store", d->store, "--size", "32M",
			      "--listen", "127.0.0.1", "--port", port,
			      "--no-mapd", "--foreground", (char *)NULL);
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

/* One request, one reply with the same tag and opcode. */
static int call(int fd, uint8_t op, uint64_t object, uint32_t off,
		uint32_t len, uint16_t flags, const void *payload, void *out)
{
	static uint64_t tag = 1000;
	struct shard_req_h h = {
		.opcode = op, .flags = flags, .len = len, .obj_order = 22,
		.tag = ++tag, .volume = 9, .object = object, .offset = off,
		.pool = 1,
	};
	struct shard_reply_h rh;
	int st;

	if (send_req(fd, &h, payload))
		return -1;
	st = recv_reply(fd, &rh, out, SHARD_MAX_IO);
	if (st >= 0 && (rh.tag != h.tag || rh.opcode != op))
		return -1;
	return st;
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

/* A fake mapd: checks the registration line and assigns id 7. */
TEST_F(shardd, registers_with_mapd)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct timeval tv = { .tv_sec = 5 };
	const char *answer = "{\"ok\":true,\"id\":7}\n";
	struct shard_hello hi;
	json_error_t jerr;
	json_t *msg;
	char line[1024];
	ssize_t n;
	int lfd, c, fd, i;

	strcpy(sun.sun_path, self->d.mapd);
	lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ASSERT_LE(0, lfd);
	ASSERT_EQ(0, bind(lfd, (struct sockaddr *)&sun, sizeof(sun)));
	ASSERT_EQ(0, listen(lfd, 4));
	setsockopt(lfd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));

	ASSERT_EQ(0, daemon_start(&self->d, true));
	c = accept(lfd, NULL, NULL);
	ASSERT_LE(0, c);
	setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	n = recv(c, line, sizeof(line) - 1, 0);
	ASSERT_LT(0, n);
	line[n] = '\0';
	ASSERT_EQ('\n', line[n - 1]);
	msg = json_loads(line, 0, &jerr);
	ASSERT_NE(NULL, msg);
	EXPECT_STREQ("daemon-register",
		     json_string_value(json_object_get(msg, "cmd")));
	EXPECT_EQ(0, json_integer_value(json_object_get(msg, "id")));
	EXPECT_STREQ("127.0.0.1",
		     json_string_value(json_object_get(msg, "addr")));
	EXPECT_EQ(self->d.port,
		  json_integer_value(json_object_get(msg, "port")));
	EXPECT_EQ(7 * (4LL << 20),
		  json_integer_value(json_object_get(msg, "capacity")));
	EXPECT_STREQ("hdd", json_string_value(json_object_get(msg, "class")));
	EXPECT_STREQ("testhost",
		     json_string_value(json_object_get(msg, "host")));
	json_decref(msg);
	ASSERT_EQ((ssize_t)strlen(answer), send(c, answer, strlen(answer), 0));
	close(c);
	close(lfd);

	/* The id shows in HELLO as soon as the daemon has stored it. */
	for (i = 0; i < 100; i++) {
		fd = try_connect(self->d.port);
		ASSERT_LE(0, fd);
		ASSERT_EQ(SHARD_S_OK, hello(fd, &hi));
		close(fd);
		if (le32toh(hi.daemon_id) == 7)
			break;
		usleep(20000);
	}
	ASSERT_EQ(7, le32toh(hi.daemon_id));
	ASSERT_EQ(0, daemon_stop(&self->d, SIGTERM));

	/* And it is durable: no mapd this time. */
	unlink(self->d.mapd);
	ASSERT_EQ(0, daemon_start(&self->d, false));
	fd = self->fd = try_connect(self->d.port);
	ASSERT_LE(0, fd);
	ASSERT_EQ(SHARD_S_OK, hello(fd, &hi));
	ASSERT_EQ(7, le32toh(hi.daemon_id));
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
	snprintf(cmd, sizeof(cmd), "%s --help >/dev/null", bin);
	EXPECT_EQ(0, system(cmd));
}

TEST_HARNESS_MAIN
