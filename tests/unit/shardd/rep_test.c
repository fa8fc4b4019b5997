// SPDX-License-Identifier: GPL-2.0-only
/*
 * End to end: shardd with its peers, this test playing "daemon 8" (see
 * daemon_harness.h): replication both ways, reads from another copy,
 * backfill, and a blocklisted client.
 */
#define _GNU_SOURCE
#include <endian.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <jansson.h>
#include <shard/pg.h>

#include "wire.h"
#include "kselftest_harness.h"
#include "daemon_harness.h"

FIXTURE(session);		/* its data: daemon_harness.h */

FIXTURE_SETUP(session)
{
	self->fd = -1;
	ASSERT_EQ(0, fixture_setup(&self->d, &self->a, &self->b));
	ASSERT_EQ(0, mapd_listen(&self->m, self->d.mapd));
}

FIXTURE_TEARDOWN(session)
{
	fixture_teardown(&self->d, &self->m, self->fd, self->a, self->b);
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
	struct shard_reply_h rh;
	struct shard_req_h h;
	int lfd, pfd, fd;

	lfd = peer8_listen();
	ASSERT_LE(0, lfd);

	ASSERT_EQ(0, daemon_start_with(&self->d, true, extra));
	ASSERT_EQ(0, session_at_epoch(m, self->d.port, 5, 2, even_mine));

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
	peer8_close(lfd);
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
	struct shard_reply_h rh;
	struct shard_req_h h;
	int lfd, pfd, fd, sfd, k;

	lfd = peer8_listen();
	ASSERT_LE(0, lfd);

	ASSERT_EQ(0, daemon_start_with(&self->d, true, extra));
	ASSERT_EQ(0, session_at_epoch(m, self->d.port, 5, 2, even_mine));
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
	peer8_close(lfd);
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
	char bf[64];
	struct shard_reply_h rh;
	struct shard_req_h h;
	json_t *msg;
	int lfd, pfd, fd, k;

	lfd = peer8_listen();
	ASSERT_LE(0, lfd);

	ASSERT_EQ(0, daemon_start_with(&self->d, true, extra));
	ASSERT_EQ(0, session_at_epoch(m, self->d.port, 5, 1, all_mine));
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
	/* Left unanswered: the daemon stops with the report still with
	 * mapd, and must free what waits for the answer (LSan). */

	close(pfd);
	peer8_close(lfd);
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
	ASSERT_EQ(0, session_at_epoch(m, self->d.port, 5, 1, all_mine));

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

TEST_HARNESS_MAIN
