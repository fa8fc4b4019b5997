// SPDX-License-Identifier: GPL-2.0-only
/*
 * End to end: shardd with its peers, this test playing "daemon 8" (see
 * daemon_harness.h): replication both ways and the versions it
 * carries, reads from another copy, malformed rep exts, and a
 * blocklisted client. Backfill and peering: backfill_test.c.
 */
#define _GNU_SOURCE
#include <endian.h>
#include <fcntl.h>
#include <stddef.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <shard/pg.h>

#include "crc.h"
#include "wire.h"
#include "kselftest_harness.h"
#include "daemon_harness.h"
#include "peer_harness.h"

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

	lfd = start_with_peer8(&self->d, m, extra, 2, even_mine, &self->fd);
	ASSERT_LE(0, lfd);
	fd = self->fd;

	/* The primary's side: the member has it before the client hears. */
	fill(self->a, 8192, 1);
	pfd = write_then_accept(fd, lfd, 500, mine, self->a);
	ASSERT_LE(0, pfd);
	ASSERT_EQ(0, peer_recv_req(pfd, &h, self->b));
	EXPECT_EQ(SHARD_OP_REP_WRITE, h.opcode);
	EXPECT_EQ(mine, h.object);
	EXPECT_EQ(5, h.epoch);
	ASSERT_EQ(8192, h.len);
	EXPECT_EQ(0, memcmp(self->a, self->b, 8192));
	EXPECT_FALSE(readable(fd, 200));
	ASSERT_EQ(SHARD_S_OK, peer8_ack(pfd, &h, fd, &rh));
	EXPECT_EQ(500, rh.tag);

	/* The member drops the connection unanswered: sent again. */
	fill(self->a, 8192, 2);
	h.opcode = SHARD_OP_WRITE;
	h.tag = 501;
	h.epoch = 5;
	ASSERT_EQ(0, send_req(fd, &h, self->a));
	ASSERT_EQ(0, peer_recv_req(pfd, &h, self->b));
	pfd = peer_reaccept(pfd, lfd);
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
	pfd = peer_reaccept(pfd, lfd);
	ASSERT_LE(0, pfd);
	ASSERT_EQ(0, peer_recv_req(pfd, &h, self->b));
	EXPECT_EQ(SHARD_OP_REP_WRITE, h.opcode);
	EXPECT_EQ(0, memcmp(self->a, self->b, 8192));
	EXPECT_FALSE(readable(fd, 50));
	ASSERT_EQ(SHARD_S_OK, peer8_ack(pfd, &h, fd, &rh));
	EXPECT_EQ(501, rh.tag);

	/* A DISCARD goes as REP_ZERO: a range, no payload. */
	ASSERT_EQ(0, send_client_req(fd, SHARD_OP_DISCARD, 503, mine, 4096,
				     4096, NULL));
	ASSERT_EQ(0, peer_recv_req(pfd, &h, self->b));
	EXPECT_EQ(SHARD_OP_REP_ZERO, h.opcode);
	EXPECT_EQ(4096, h.offset);
	EXPECT_EQ(4096, h.len);
	ASSERT_EQ(SHARD_S_OK, peer8_ack(pfd, &h, fd, &rh));
	EXPECT_EQ(503, rh.tag);

	/* A FLUSH reaches the member written to. */
	h = (struct shard_req_h){ .opcode = SHARD_OP_FLUSH, .tag = 502,
				  .epoch = 5 };
	ASSERT_EQ(0, send_req(fd, &h, NULL));
	ASSERT_EQ(0, peer_recv_req(pfd, &h, self->b));
	EXPECT_EQ(SHARD_OP_REP_FLUSH, h.opcode);
	EXPECT_FALSE(readable(fd, 100));
	ASSERT_EQ(SHARD_S_OK, peer8_ack(pfd, &h, fd, &rh));
	EXPECT_EQ(502, rh.tag);
	close(pfd);

	/* The member's side: this test is daemon 8, primary of odd PGs. */
	pfd = peer8_connect(self->d.port);
	ASSERT_LE(0, pfd);
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
	pfd = peer8_connect(self->d.port);
	ASSERT_LE(0, pfd);
	EXPECT_EQ(SHARD_S_STALE, call_to(pfd, &(struct target){ .pool = 1,
				.volume = 9, .epoch = 4 }, SHARD_OP_REP_WRITE,
					 other, 0, 8192, 0, self->b, NULL,
					 &rh));
	close(pfd);
	pfd = peer8_connect(self->d.port);
	ASSERT_LE(0, pfd);
	EXPECT_EQ(SHARD_S_STALE, call_to(pfd, &(struct target){ .pool = 2,
				.volume = 9, .epoch = 5 }, SHARD_OP_REP_ZERO,
					 other, 0, 8192, 0, NULL, NULL, &rh));
	close(pfd);
	pfd = peer8_connect(self->d.port);
	ASSERT_LE(0, pfd);
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
	ASSERT_EQ(0, close_and_stop(&self->d, lfd, -1, &self->fd));
}

/*
 * Versions of the changes 7 makes as a primary: each client WRITE's
 * REP_WRITE carries {map epoch, a new seq}, no flags; one sent again on
 * a new connection carries the same version; a DISCARD's REP_ZERO one of
 * its own. As a member, 7 records the version 8 sends with the object
 * and lists it.
 */
TEST_F(session, versions_on_rep_writes)
{
	static const char *const extra[] = { "--heartbeat-ms", "60000", NULL };
	static const uint32_t even_mine[2] = { 7, 8 };
	const uint64_t mine = object_in(true), other = object_in(false);
	const uint32_t other_pg = shard_object_pg(9, other, 16);
	const struct shard_ver v42 = { 5, 42 }, v43 = { 5, 43 };
	const struct shard_ver v44 = { 5, 44 };
	struct fake_mapd *m = &self->m;
	struct shard_list_entry list[8];
	struct shard_ver v1, v2, v2again, vz;
	struct shard_reply_h rh;
	struct shard_req_h h;
	struct shard_ver v;
	uint32_t n;
	int lfd, pfd, fd;

	lfd = start_with_peer8(&self->d, m, extra, 2, even_mine, &self->fd);
	ASSERT_LE(0, lfd);
	fd = self->fd;

	/* Two WRITEs to one object: two versions of map epoch 5. */
	fill(self->a, 8192, 31);
	pfd = write_then_accept(fd, lfd, 1500, mine, self->a);
	ASSERT_LE(0, pfd);
	rep_flags_in = 99;
	ASSERT_EQ(0, peer_recv_req_ver(pfd, &h, self->b, &v1));
	ASSERT_EQ(SHARD_OP_REP_WRITE, h.opcode);
	EXPECT_EQ(mine, h.object);
	EXPECT_EQ(0, memcmp(self->a, self->b, 8192));
	EXPECT_EQ(5, v1.epoch);
	EXPECT_NE(0, v1.seq);
	EXPECT_EQ(0, rep_flags_in);
	ASSERT_EQ(SHARD_S_OK, peer8_ack(pfd, &h, fd, &rh));
	EXPECT_EQ(1500, rh.tag);

	fill(self->a, 8192, 32);
	ASSERT_EQ(0, send_client_req(fd, SHARD_OP_WRITE, 1501, mine, 8192,
				     8192, self->a));
	rep_flags_in = 99;
	ASSERT_EQ(0, peer_recv_req_ver(pfd, &h, self->b, &v2));
	ASSERT_EQ(SHARD_OP_REP_WRITE, h.opcode);
	EXPECT_EQ(8192, h.offset);
	EXPECT_EQ(5, v2.epoch);
	EXPECT_NE(0, v2.seq);
	EXPECT_NE(v1.seq, v2.seq);
	EXPECT_EQ(0, rep_flags_in);

	/* 8 drops the connection unanswered: the same change, the same
	 * version, on the next one. */
	pfd = peer_reaccept(pfd, lfd);
	ASSERT_LE(0, pfd);
	rep_flags_in = 99;
	ASSERT_EQ(0, peer_recv_req_ver(pfd, &h, self->b, &v2again));
	ASSERT_EQ(SHARD_OP_REP_WRITE, h.opcode);
	EXPECT_EQ(mine, h.object);
	EXPECT_EQ(8192, h.offset);
	EXPECT_EQ(0, memcmp(self->a, self->b, 8192));
	EXPECT_TRUE(shard_ver_eq(&v2, &v2again));
	EXPECT_EQ(0, rep_flags_in);
	EXPECT_FALSE(readable(fd, 50));
	ASSERT_EQ(SHARD_S_OK, peer8_ack(pfd, &h, fd, &rh));
	EXPECT_EQ(1501, rh.tag);

	/* A DISCARD's REP_ZERO: a version of its own. */
	ASSERT_EQ(0, send_client_req(fd, SHARD_OP_DISCARD, 1502, mine, 4096,
				     4096, NULL));
	rep_flags_in = 99;
	ASSERT_EQ(0, peer_recv_req_ver(pfd, &h, self->b, &vz));
	ASSERT_EQ(SHARD_OP_REP_ZERO, h.opcode);
	EXPECT_EQ(4096, h.offset);
	EXPECT_EQ(4096, h.len);
	EXPECT_EQ(5, vz.epoch);
	EXPECT_NE(0, vz.seq);
	EXPECT_NE(v1.seq, vz.seq);
	EXPECT_NE(v2.seq, vz.seq);
	EXPECT_EQ(0, rep_flags_in);
	ASSERT_EQ(SHARD_S_OK, peer8_ack(pfd, &h, fd, &rh));
	EXPECT_EQ(1502, rh.tag);
	close(pfd);

	/* The member's side: 8's version is the one recorded and listed,
	 * that of the last change. */
	pfd = peer8_connect(self->d.port);
	ASSERT_LE(0, pfd);
	fill(self->a, 8192, 33);
	ASSERT_EQ(SHARD_S_OK, rep_call(pfd, SHARD_OP_REP_WRITE, other, 0, 8192,
				       self->a, &v42));
	ASSERT_EQ(SHARD_S_OK, list_pg(pfd, other_pg, list, 8, &n));
	ASSERT_EQ(1, n);
	EXPECT_EQ(9, le64toh(list[0].volume));
	EXPECT_EQ(other, le64toh(list[0].object));
	EXPECT_EQ(5, le64toh(list[0].ver.epoch));
	EXPECT_EQ(42, le64toh(list[0].ver.seq));
	ASSERT_EQ(SHARD_S_OK, rep_call(pfd, SHARD_OP_REP_ZERO, other, 0, 4096,
				       NULL, &v43));
	ASSERT_EQ(SHARD_S_OK, list_pg(pfd, other_pg, list, 8, &n));
	ASSERT_EQ(1, n);
	v = le_ver(&list[0]);
	EXPECT_TRUE(shard_ver_eq(&v43, &v));
	/* A member takes the flag the same way: the version stands. */
	ASSERT_EQ(SHARD_S_OK, rep_call_whole(pfd, SHARD_OP_REP_WRITE, other,
					     0, 8192, self->a, &v44));
	ASSERT_EQ(SHARD_S_OK, list_pg(pfd, other_pg, list, 8, &n));
	ASSERT_EQ(1, n);
	v = le_ver(&list[0]);
	EXPECT_TRUE(shard_ver_eq(&v44, &v));
	close(pfd);
	ASSERT_EQ(0, close_and_stop(&self->d, lfd, -1, &self->fd));
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

	lfd = start_with_peer8(&self->d, m, extra, 2, even_mine, &self->fd);
	ASSERT_LE(0, lfd);
	fd = self->fd;

	fill(self->a, 8192, 5);
	pfd = peer8_takes_write(fd, lfd, 600, mine, self->a, self->b);
	ASSERT_LE(0, pfd);

	/* Damage the first block of every slot of our store (the data
	 * starts at 1 MiB; slots are 4 MiB). */
	sfd = open(self->d.store, O_WRONLY);
	ASSERT_LE(0, sfd);
	for (k = 0; k < 7; k++)
		ASSERT_EQ(16, pwrite(sfd, "damaged damaged!", 16,
				     (1 << 20) + ((off_t)k << 22) + 100));
	ASSERT_EQ(0, fsync(sfd));
	close(sfd);

	ASSERT_EQ(0, send_client_req(fd, SHARD_OP_READ, 601, mine, 0, 8192,
				     NULL));
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
	ASSERT_EQ(0, send_client_req(fd, SHARD_OP_READ, 602, mine, 0, 4096,
				     NULL));
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
	ASSERT_EQ(0, close_and_stop(&self->d, lfd, pfd, &self->fd));
}

/* Sends h (for a REP_WRITE, with h->len bytes of payload) with the ext
 * bytes given as they are; what the send does not matter: the daemon
 * may close before the payload is in. */
static void send_raw_ext(int fd, struct shard_req_h *h, const void *ext,
			 const void *payload)
{
	unsigned char hdr[SHARD_HDR_SIZE + sizeof(struct shard_rep_ext)];

	if (payload)
		h->data_crc = shard_crc32c(payload, h->len);
	shard_req_encode(hdr, h);
	memcpy(hdr + SHARD_HDR_SIZE, ext, sizeof(struct shard_rep_ext));
	if (!send_all(fd, hdr, sizeof(hdr)) && payload)
		send_all(fd, payload, h->len);
}

/*
 * A REP_WRITE or REP_ZERO whose ext fails its crc, or names a flag this
 * daemon does not know (under a good crc), is a protocol error: the
 * connection is closed and nothing is applied. An ext that comes in a
 * segment after its header is waited for.
 */
TEST_F(session, bad_rep_ext_closes)
{
	static const char *const extra[] = { "--heartbeat-ms", "60000", NULL };
	static const uint32_t even_mine[2] = { 7, 8 };
	const uint64_t other = object_in(false);
	const uint32_t pg = shard_object_pg(9, other, 16);
	const struct shard_ver v42 = { 5, 42 };
	unsigned char ext[sizeof(struct shard_rep_ext)];
	struct shard_list_entry list[8];
	struct shard_rep_ext e;
	struct shard_reply_h rh;
	struct shard_req_h h;
	struct shard_ver v;
	int pfd, logfd = -1;
	uint32_t n;

	ASSERT_EQ(0, daemon_start_logged(&self->d, extra, &logfd));
	ASSERT_EQ(0, session_at_epoch(&self->m, self->d.port, 5, 2,
				      even_mine));
	fill(self->a, 8192, 51);
	h = (struct shard_req_h){
		.opcode = SHARD_OP_REP_WRITE, .len = 8192, .obj_order = 22,
		.tag = 1, .volume = 9, .object = other, .pool = 1, .epoch = 5,
	};

	/* A crc one bit off. */
	pfd = peer8_connect(self->d.port);
	ASSERT_LE(0, pfd);
	shard_rep_ext_encode(ext, 5, 42, 0);
	ext[offsetof(struct shard_rep_ext, crc)] ^= 1;
	send_raw_ext(pfd, &h, ext, self->a);
	EXPECT_TRUE(dropped(pfd));
	close(pfd);

	/* An unknown flag, under a crc that is right. */
	pfd = peer8_connect(self->d.port);
	ASSERT_LE(0, pfd);
	memset(&e, 0, sizeof(e));
	e.ver.epoch = htole64(5);
	e.ver.seq = htole64(42);
	e.flags = htole32(0x80);
	e.crc = htole32(shard_crc32c(&e, offsetof(struct shard_rep_ext, crc)));
	h.tag = 2;
	send_raw_ext(pfd, &h, &e, self->a);
	EXPECT_TRUE(dropped(pfd));
	close(pfd);

	/* A REP_ZERO's ext with its version changed under its crc. */
	pfd = peer8_connect(self->d.port);
	ASSERT_LE(0, pfd);
	shard_rep_ext_encode(ext, 5, 42, SHARD_REP_F_WHOLE);
	ext[offsetof(struct shard_rep_ext, ver.seq)] ^= 0x40;
	h = (struct shard_req_h){
		.opcode = SHARD_OP_REP_ZERO, .len = 8192, .obj_order = 22,
		.tag = 3, .volume = 9, .object = other, .pool = 1, .epoch = 5,
	};
	send_raw_ext(pfd, &h, ext, NULL);
	EXPECT_TRUE(dropped(pfd));
	close(pfd);

	/* Nothing of it was applied. */
	pfd = peer8_connect(self->d.port);
	ASSERT_LE(0, pfd);
	ASSERT_EQ(SHARD_S_OK, list_pg(pfd, pg, list, 8, &n));
	EXPECT_EQ(0, n);

	/* The same REP_WRITE, a good ext in a later segment: taken. */
	h = (struct shard_req_h){
		.opcode = SHARD_OP_REP_WRITE, .len = 8192, .obj_order = 22,
		.tag = 4, .volume = 9, .object = other, .pool = 1, .epoch = 5,
		.data_crc = shard_crc32c(self->a, 8192),
	};
	shard_req_encode(self->b, &h);
	ASSERT_EQ(0, send_all(pfd, self->b, SHARD_HDR_SIZE));
	EXPECT_FALSE(readable(pfd, 100));
	shard_rep_ext_encode(ext, v42.epoch, v42.seq, 0);
	ASSERT_EQ(0, send_all(pfd, ext, 10));
	EXPECT_FALSE(readable(pfd, 100));
	ASSERT_EQ(0, send_all(pfd, ext + 10, sizeof(ext) - 10));
	ASSERT_EQ(0, send_all(pfd, self->a, 8192));
	ASSERT_EQ(SHARD_S_OK, recv_reply(pfd, &rh, NULL, 0));
	EXPECT_EQ(4, rh.tag);
	ASSERT_EQ(SHARD_S_OK, list_pg(pfd, pg, list, 8, &n));
	ASSERT_EQ(1, n);
	EXPECT_EQ(other, le64toh(list[0].object));
	v = le_ver(&list[0]);
	EXPECT_TRUE(shard_ver_eq(&v42, &v));
	close(pfd);

	ASSERT_EQ(0, daemon_stop(&self->d, SIGTERM));
	EXPECT_EQ(3, log_count(logfd, "protocol error: bad rep ext"));
	log_show(logfd);
	close(logfd);
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
	struct fake_mapd *m = &self->m;
	struct shard_reply_h rh;
	int fd;

	ASSERT_EQ(0, daemon_start_with(&self->d, true, extra));
	ASSERT_EQ(0, session_at_epoch(m, self->d.port, 5, 1, all_mine));

	fd = self->fd = client_hello(self->d.port);
	ASSERT_LE(0, fd);
	fill(self->a, 4096, 1);
	ASSERT_EQ(SHARD_S_OK, call_to(fd, &cur, SHARD_OP_WRITE, 1, 0, 4096, 0,
				      self->a, NULL, &rh));
	/* A newer epoch makes the daemon fetch the map that blocks us. */
	map_block = "127.0.0.1";
	ASSERT_EQ(0, map_on_ping(m, fd, 6, 1, all_mine));
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
