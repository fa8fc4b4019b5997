// SPDX-License-Identifier: GPL-2.0-only
/*
 * End to end: runs the shardd binary ($SHARDD, else the sanitized build)
 * without mapd on a temporary store on 127.0.0.1 and talks the wire
 * protocol to it: requests, bad input, pipelining, kill -9 and SIGTERM,
 * bad arguments.
 */
#define _GNU_SOURCE
#include <endian.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "crc.h"
#include "wire.h"
#include "kselftest_harness.h"
#include "daemon_harness.h"

FIXTURE(shardd);		/* its data: daemon_harness.h */

FIXTURE_SETUP(shardd)
{
	self->fd = -1;
	ASSERT_EQ(0, fixture_setup(&self->d, &self->a, &self->b));
}

FIXTURE_TEARDOWN(shardd)
{
	fixture_teardown(&self->d, NULL, self->fd, self->a, self->b);
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

TEST(bad_arguments)
{
	const char *bin = shardd_bin();
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
	/* Scrub and recovery settings: numbers in range, nothing else. */
	static const char *const bad[] = {
		"--scrub-interval -1", "--scrub-interval 1d",
		"--deep-scrub-interval 999999999999", "--recovery-mbps x",
		"--recovery-mbps 1000001", "--recovery-pushes 0",
		"--recovery-pushes 65", "--recovery-share 0",
		"--recovery-share 101", "--recovery-share x",
		"--recovery-share -1",
	};
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(cmd, sizeof(cmd), "%s --store /nonexistent %s "
			 "2>/dev/null", bin, bad[i]);
		EXPECT_EQ(2 << 8, system(cmd)) TH_LOG("%s", bad[i]);
	}
	snprintf(cmd, sizeof(cmd), "%s --help >/dev/null", bin);
	EXPECT_EQ(0, system(cmd));
}

TEST_HARNESS_MAIN
