// SPDX-License-Identifier: GPL-2.0-only
/*
 * End to end: scrub, this test playing mapd and "daemon 8" (see
 * daemon_harness.h). As a member, daemon 7 answers REP_LIST and
 * REP_DIGEST; as a primary it scrubs a PG when mapd asks, repairs the
 * member's copy that differs from its own, or its own copy that fails
 * its checksum from the member's, and reports pg-scrubbed.
 */
#define _GNU_SOURCE
#include <endian.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>
#include <shard/pg.h>

#include "crc.h"
#include "wire.h"
#include "kselftest_harness.h"
#include "daemon_harness.h"

#define OBJ_SIZE	(1U << 22)

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

/* Objects of volume 9 in PG pg (of 16), ascending, from *from on. */
static uint64_t object_of_pg(uint32_t pg, uint64_t *from)
{
	while (shard_object_pg(9, *from, 16) != pg)
		(*from)++;
	return (*from)++;
}

/* A reply with a payload of len bytes, at epoch 5. */
static int reply_payload(int fd, const struct shard_req_h *h,
			 const void *data, uint32_t len)
{
	unsigned char hdr[SHARD_HDR_SIZE];
	struct shard_reply_h rh = {
		.opcode = h->opcode, .status = SHARD_S_OK, .tag = h->tag,
		.epoch = 5, .len = len, .data_crc = shard_crc32c(data, len),
	};

	shard_reply_encode(hdr, &rh);
	if (send_all(fd, hdr, sizeof(hdr)))
		return -1;
	return send_all(fd, data, len);
}

static int reply_digest(int fd, const struct shard_req_h *h, uint32_t flags,
			uint32_t crc)
{
	struct shard_digest dg = {
		.flags = htole32(flags), .data_crc = htole32(crc),
	};

	return reply_payload(fd, h, &dg, sizeof(dg));
}

/* Answers heartbeats (epoch 5) until cmd comes; answers it ok and
 * returns it (to json_decref()), or NULL. */
static json_t *expect_note(struct fake_mapd *m, const char *cmd)
{
	json_t *msg;
	const char *c;

	while ((msg = mapd_recv(m, 5000))) {
		c = json_string_value(json_object_get(msg, "cmd"));
		if (c && !strcmp(c, cmd)) {
			if (mapd_send(m, "{\"ok\":true}\n")) {
				json_decref(msg);
				return NULL;
			}
			return msg;
		}
		if (!c || strcmp(c, "daemon-heartbeat") ||
		    mapd_send(m, "{\"ok\":true,\"epoch\":5}\n")) {
			json_decref(msg);
			return NULL;
		}
		json_decref(msg);
	}
	return NULL;
}

static long long jint(json_t *o, const char *key)
{
	return json_integer_value(json_object_get(o, key));
}

/* A member's side: lists, digests, and refusals. */
TEST_F(session, member_answers_scrub)
{
	static const char *const extra[] = { "--heartbeat-ms", "60000", NULL };
	static const uint32_t even_mine[2] = { 7, 8 };
	const uint32_t pg = 3;		/* odd: 8 is its primary */
	struct shard_list_entry list[16];
	struct shard_reply_h rh;
	struct shard_req_h h;
	struct shard_digest dg;
	uint64_t from = 0, o1, o2, o3;
	unsigned char *obj;
	int pfd, sfd, k;

	o1 = object_of_pg(pg, &from);
	o2 = object_of_pg(pg, &from);
	o3 = object_of_pg(pg, &from);
	ASSERT_EQ(0, daemon_start_with(&self->d, true, extra));
	ASSERT_EQ(0, session_at_epoch(&self->m, self->d.port, 5, 2,
				      even_mine));
	pfd = self->fd = try_connect(self->d.port);
	ASSERT_LE(0, pfd);
	ASSERT_EQ(SHARD_S_OK, peer_hello_as(pfd, 8, 7));

	fill(self->a, 8192, 11);
	h = (struct shard_req_h){
		.opcode = SHARD_OP_REP_WRITE, .len = 8192, .obj_order = 22,
		.tag = 1, .volume = 9, .object = o2, .pool = 1, .epoch = 5,
	};
	ASSERT_EQ(0, send_req(pfd, &h, self->a));
	ASSERT_EQ(SHARD_S_OK, recv_reply(pfd, &rh, NULL, 0));
	h.tag = 2;
	h.object = o1;
	h.offset = 8192;
	ASSERT_EQ(0, send_req(pfd, &h, self->a));
	ASSERT_EQ(SHARD_S_OK, recv_reply(pfd, &rh, NULL, 0));

	/* The PG's objects in order; a short answer ends the list. */
	h = (struct shard_req_h){
		.opcode = SHARD_OP_REP_LIST, .len = sizeof(list), .tag = 3,
		.pool = 1, .offset = pg, .epoch = 5,
	};
	ASSERT_EQ(0, send_req(pfd, &h, NULL));
	ASSERT_EQ(SHARD_S_OK, recv_reply(pfd, &rh, list, sizeof(list)));
	ASSERT_EQ(2 * sizeof(list[0]), rh.len);
	EXPECT_EQ(o1, le64toh(list[0].object));
	EXPECT_EQ(o2, le64toh(list[1].object));
	EXPECT_EQ(9, le64toh(list[0].volume));
	EXPECT_EQ(22, list[0].obj_order);
	/* One entry at a time, from a cursor. */
	h.tag = 4;
	h.len = sizeof(list[0]);
	h.volume = 9;
	h.object = o1 + 1;
	ASSERT_EQ(0, send_req(pfd, &h, NULL));
	ASSERT_EQ(SHARD_S_OK, recv_reply(pfd, &rh, list, sizeof(list)));
	ASSERT_EQ(sizeof(list[0]), rh.len);
	EXPECT_EQ(o2, le64toh(list[0].object));

	/* Light digests: held or not. */
	h = (struct shard_req_h){
		.opcode = SHARD_OP_REP_DIGEST, .obj_order = 22, .tag = 5,
		.volume = 9, .object = o1, .pool = 1, .epoch = 5,
	};
	ASSERT_EQ(0, send_req(pfd, &h, NULL));
	ASSERT_EQ(SHARD_S_OK, recv_reply(pfd, &rh, &dg, sizeof(dg)));
	ASSERT_EQ(sizeof(dg), rh.len);
	EXPECT_EQ(SHARD_DIGEST_EXISTS, le32toh(dg.flags));
	h.tag = 6;
	h.object = o3;
	ASSERT_EQ(0, send_req(pfd, &h, NULL));
	ASSERT_EQ(SHARD_S_OK, recv_reply(pfd, &rh, &dg, sizeof(dg)));
	EXPECT_EQ(0, le32toh(dg.flags));

	/* A deep digest: the crc of the whole object's bytes. */
	obj = calloc(1, OBJ_SIZE);
	ASSERT_NE(NULL, obj);
	memcpy(obj + 8192, self->a, 8192);
	h.tag = 7;
	h.object = o1;
	h.flags = SHARD_F_DIGEST_DATA;
	ASSERT_EQ(0, send_req(pfd, &h, NULL));
	ASSERT_EQ(SHARD_S_OK, recv_reply(pfd, &rh, &dg, sizeof(dg)));
	EXPECT_EQ(SHARD_DIGEST_EXISTS | SHARD_DIGEST_DATA, le32toh(dg.flags));
	EXPECT_EQ(shard_crc32c(obj, OBJ_SIZE), le32toh(dg.data_crc));
	free(obj);

	/* Damaged blocks: BADCRC. (Data starts at 1 MiB, slots of 4 MiB.) */
	sfd = open(self->d.store, O_WRONLY);
	ASSERT_LE(0, sfd);
	for (k = 0; k < 2; k++)
		ASSERT_EQ(16, pwrite(sfd, "damaged damaged!", 16,
				     (1 << 20) + ((off_t)k << 22) + 8192 +
				     100));
	ASSERT_EQ(0, fsync(sfd));
	close(sfd);
	h.tag = 8;
	ASSERT_EQ(0, send_req(pfd, &h, NULL));
	ASSERT_EQ(SHARD_S_OK, recv_reply(pfd, &rh, &dg, sizeof(dg)));
	EXPECT_EQ(SHARD_DIGEST_EXISTS | SHARD_DIGEST_DATA |
		  SHARD_DIGEST_BADCRC, le32toh(dg.flags));

	/* A PG 8 is not the primary of: refused, and so is what follows. */
	h = (struct shard_req_h){
		.opcode = SHARD_OP_REP_LIST, .len = sizeof(list), .tag = 9,
		.pool = 1, .offset = 2, .epoch = 5,
	};
	ASSERT_EQ(0, send_req(pfd, &h, NULL));
	EXPECT_EQ(SHARD_S_STALE, recv_reply(pfd, &rh, list, sizeof(list)));
	close(pfd);

	/* A list of a PG out of range, and malformed requests. */
	pfd = self->fd = try_connect(self->d.port);
	ASSERT_LE(0, pfd);
	ASSERT_EQ(SHARD_S_OK, peer_hello_as(pfd, 8, 7));
	h.tag = 10;
	h.offset = 16;
	ASSERT_EQ(0, send_req(pfd, &h, NULL));
	EXPECT_EQ(SHARD_S_STALE, recv_reply(pfd, &rh, list, sizeof(list)));
	close(pfd);
	pfd = self->fd = try_connect(self->d.port);
	ASSERT_LE(0, pfd);
	ASSERT_EQ(SHARD_S_OK, peer_hello_as(pfd, 8, 7));
	h.tag = 11;
	h.offset = pg;
	h.len = 25;
	ASSERT_EQ(0, send_req(pfd, &h, NULL));
	EXPECT_TRUE(conn_closed(pfd));
	close(pfd);
	pfd = self->fd = try_connect(self->d.port);
	ASSERT_LE(0, pfd);
	ASSERT_EQ(SHARD_S_OK, peer_hello_as(pfd, 8, 7));
	h = (struct shard_req_h){
		.opcode = SHARD_OP_REP_DIGEST, .obj_order = 22, .tag = 12,
		.volume = 9, .object = o1, .pool = 1, .epoch = 5, .len = 4096,
	};
	ASSERT_EQ(0, send_req(pfd, &h, NULL));
	EXPECT_TRUE(conn_closed(pfd));
	close(pfd);
	self->fd = -1;
	ASSERT_EQ(0, daemon_stop(&self->d, SIGTERM));
}

/*
 * The primary's side. mapd asks (in a heartbeat's reply) for a deep
 * scrub of one of 7's PGs, and of one it is not primary of, among bad
 * entries. Daemon 8's copy of one object differs: 7's copy wins the tie
 * and is pushed to 8. An object only 8 holds, and that reads as zeroes
 * on 7 too, is no error.
 */
TEST_F(session, primary_repairs_a_member)
{
	static const char *const extra[] = { "--heartbeat-ms", "1000", NULL };
	static const uint32_t even_mine[2] = { 7, 8 };
	const uint32_t pg = 4;		/* even: 7 is its primary */
	const struct target cur = { .pool = 1, .volume = 9, .epoch = 5 };
	struct fake_mapd *m = &self->m;
	struct shard_list_entry list[2];
	struct shard_reply_h rh;
	struct shard_req_h h;
	uint64_t from = 0, o1, o4;
	unsigned char *obj, *zero, *got;
	json_t *msg;
	int lfd, pfd, fd, k;

	o1 = object_of_pg(pg, &from);
	o4 = object_of_pg(pg, &from);
	obj = calloc(1, OBJ_SIZE);
	zero = calloc(1, OBJ_SIZE);
	got = malloc(SHARD_MAX_IO);
	ASSERT_TRUE(obj && zero && got);
	lfd = peer8_listen();
	ASSERT_LE(0, lfd);
	ASSERT_EQ(0, daemon_start_with(&self->d, true, extra));
	ASSERT_EQ(0, session_at_epoch(m, self->d.port, 5, 2, even_mine));
	fd = self->fd = try_connect(self->d.port);
	ASSERT_LE(0, fd);
	ASSERT_EQ(SHARD_S_OK, hello(fd, NULL));

	fill(self->a, 8192, 12);
	memcpy(obj, self->a, 8192);
	ASSERT_EQ(0, send_req(fd, &(struct shard_req_h){
		.opcode = SHARD_OP_WRITE, .len = 8192, .obj_order = 22,
		.tag = 700, .volume = 9, .object = o1, .pool = 1, .epoch = 5,
	}, self->a));
	pfd = peer_accept(lfd);
	ASSERT_LE(0, pfd);
	ASSERT_EQ(0, peer_recv_req(pfd, &h, self->b));
	ASSERT_EQ(0, peer_reply(pfd, &h, SHARD_S_OK, 5));
	ASSERT_EQ(SHARD_S_OK, recv_reply(fd, &rh, NULL, 0));

	ASSERT_LE(0, mapd_expect(m, "daemon-heartbeat", 3000, NULL));
	ASSERT_EQ(0, mapd_sendf(m, "{\"ok\":true,\"epoch\":5,\"scrub\":["
				"{\"pool\":\"x\"},{\"pool\":1,\"pg\":3},"
				"{\"pool\":1,\"pg\":%u,\"deep\":true}]}\n",
				pg));

	/* The listing, then each object's digest. */
	ASSERT_EQ(0, peer_recv_req(pfd, &h, NULL));
	ASSERT_EQ(SHARD_OP_REP_LIST, h.opcode);
	EXPECT_EQ(pg, h.offset);
	EXPECT_EQ(1, h.pool);
	EXPECT_EQ(0, h.object);
	memset(list, 0, sizeof(list));
	list[0].volume = list[1].volume = htole64(9);
	list[0].object = htole64(o1);
	list[1].object = htole64(o4);
	list[0].obj_order = list[1].obj_order = 22;
	ASSERT_EQ(0, reply_payload(pfd, &h, list, sizeof(list)));

	ASSERT_EQ(0, peer_recv_req(pfd, &h, NULL));
	ASSERT_EQ(SHARD_OP_REP_DIGEST, h.opcode);
	EXPECT_EQ(o1, h.object);
	EXPECT_EQ(SHARD_F_DIGEST_DATA, h.flags);
	ASSERT_EQ(0, reply_digest(pfd, &h, SHARD_DIGEST_EXISTS |
				  SHARD_DIGEST_DATA,
				  shard_crc32c(obj, OBJ_SIZE) ^ 1));
	/* 7's copy comes over whole. */
	for (k = 0; k < 4; k++) {
		ASSERT_EQ(0, peer_recv_req(pfd, &h, got));
		ASSERT_EQ(SHARD_OP_REP_WRITE, h.opcode);
		EXPECT_EQ(o1, h.object);
		EXPECT_EQ((uint32_t)k * SHARD_MAX_IO, h.offset);
		ASSERT_EQ(SHARD_MAX_IO, h.len);
		EXPECT_EQ(0, memcmp(got, obj + h.offset, SHARD_MAX_IO));
		ASSERT_EQ(0, peer_reply(pfd, &h, SHARD_S_OK, 5));
	}
	ASSERT_EQ(0, peer_recv_req(pfd, &h, NULL));
	ASSERT_EQ(SHARD_OP_REP_DIGEST, h.opcode);
	EXPECT_EQ(o4, h.object);
	ASSERT_EQ(0, reply_digest(pfd, &h, SHARD_DIGEST_EXISTS |
				  SHARD_DIGEST_DATA,
				  shard_crc32c(zero, OBJ_SIZE)));

	/* PG 3 is not 7's; then PG 4's result. */
	msg = expect_note(m, "pg-scrubbed");
	ASSERT_NE(NULL, msg);
	EXPECT_EQ(3, jint(msg, "pg"));
	EXPECT_TRUE(json_is_false(json_object_get(msg, "complete")));
	EXPECT_TRUE(json_is_string(json_object_get(msg, "error")));
	json_decref(msg);
	msg = expect_note(m, "pg-scrubbed");
	ASSERT_NE(NULL, msg);
	EXPECT_EQ(1, jint(msg, "pool"));
	EXPECT_EQ(pg, jint(msg, "pg"));
	EXPECT_EQ(7, jint(msg, "from"));
	EXPECT_TRUE(json_is_true(json_object_get(msg, "deep")));
	EXPECT_TRUE(json_is_true(json_object_get(msg, "complete")));
	EXPECT_EQ(2, jint(msg, "objects"));
	EXPECT_EQ(1, jint(msg, "errors"));
	EXPECT_EQ(1, jint(msg, "repaired"));
	EXPECT_EQ(2LL * OBJ_SIZE * 2, jint(msg, "bytes"));
	json_decref(msg);

	/* The client's data is as it was. */
	ASSERT_EQ(SHARD_S_OK, call_to(fd, &cur, SHARD_OP_READ, o1, 0, 8192, 0,
				      NULL, self->b, &rh));
	EXPECT_EQ(0, memcmp(self->a, self->b, 8192));
	free(obj);
	free(zero);
	free(got);
	close(pfd);
	peer8_close(lfd);
	close(fd);
	self->fd = -1;
	ASSERT_EQ(0, daemon_stop(&self->d, SIGTERM));
}

/*
 * The primary's own copy fails its checksum: it is read from daemon 8's
 * (REP_READ) and written back here; reads then need no other copy.
 */
TEST_F(session, primary_repairs_its_own_copy)
{
	static const char *const extra[] = { "--heartbeat-ms", "1000", NULL };
	static const uint32_t even_mine[2] = { 7, 8 };
	const uint32_t pg = 6;
	const struct target cur = { .pool = 1, .volume = 9, .epoch = 5 };
	struct fake_mapd *m = &self->m;
	struct shard_list_entry entry;
	struct shard_reply_h rh;
	struct shard_req_h h;
	uint64_t from = 0, o1;
	unsigned char *obj;
	json_t *msg;
	int lfd, pfd, fd, sfd, k;

	o1 = object_of_pg(pg, &from);
	obj = calloc(1, OBJ_SIZE);
	ASSERT_NE(NULL, obj);
	lfd = peer8_listen();
	ASSERT_LE(0, lfd);
	ASSERT_EQ(0, daemon_start_with(&self->d, true, extra));
	ASSERT_EQ(0, session_at_epoch(m, self->d.port, 5, 2, even_mine));
	fd = self->fd = try_connect(self->d.port);
	ASSERT_LE(0, fd);
	ASSERT_EQ(SHARD_S_OK, hello(fd, NULL));

	fill(self->a, 8192, 13);
	memcpy(obj, self->a, 8192);
	ASSERT_EQ(0, send_req(fd, &(struct shard_req_h){
		.opcode = SHARD_OP_WRITE, .len = 8192, .obj_order = 22,
		.tag = 800, .volume = 9, .object = o1, .pool = 1, .epoch = 5,
	}, self->a));
	pfd = peer_accept(lfd);
	ASSERT_LE(0, pfd);
	ASSERT_EQ(0, peer_recv_req(pfd, &h, self->b));
	ASSERT_EQ(0, peer_reply(pfd, &h, SHARD_S_OK, 5));
	ASSERT_EQ(SHARD_S_OK, recv_reply(fd, &rh, NULL, 0));

	sfd = open(self->d.store, O_WRONLY);
	ASSERT_LE(0, sfd);
	ASSERT_EQ(16, pwrite(sfd, "damaged damaged!", 16, (1 << 20) + 100));
	ASSERT_EQ(0, fsync(sfd));
	close(sfd);

	ASSERT_LE(0, mapd_expect(m, "daemon-heartbeat", 3000, NULL));
	ASSERT_EQ(0, mapd_sendf(m, "{\"ok\":true,\"epoch\":5,\"scrub\":["
				"{\"pool\":1,\"pg\":%u,\"deep\":true}]}\n",
				pg));
	ASSERT_EQ(0, peer_recv_req(pfd, &h, NULL));
	ASSERT_EQ(SHARD_OP_REP_LIST, h.opcode);
	memset(&entry, 0, sizeof(entry));
	entry.volume = htole64(9);
	entry.object = htole64(o1);
	entry.obj_order = 22;
	ASSERT_EQ(0, reply_payload(pfd, &h, &entry, sizeof(entry)));
	ASSERT_EQ(0, peer_recv_req(pfd, &h, NULL));
	ASSERT_EQ(SHARD_OP_REP_DIGEST, h.opcode);
	ASSERT_EQ(0, reply_digest(pfd, &h, SHARD_DIGEST_EXISTS |
				  SHARD_DIGEST_DATA,
				  shard_crc32c(obj, OBJ_SIZE)));
	/* 7 reads 8's copy whole. */
	for (k = 0; k < 4; k++) {
		ASSERT_EQ(0, peer_recv_req(pfd, &h, NULL));
		ASSERT_EQ(SHARD_OP_REP_READ, h.opcode);
		EXPECT_EQ(o1, h.object);
		ASSERT_EQ((uint32_t)k * SHARD_MAX_IO, h.offset);
		ASSERT_EQ(SHARD_MAX_IO, h.len);
		ASSERT_EQ(0, peer_reply_data(pfd, &h, obj + h.offset));
	}
	msg = expect_note(m, "pg-scrubbed");
	ASSERT_NE(NULL, msg);
	EXPECT_EQ(pg, jint(msg, "pg"));
	EXPECT_TRUE(json_is_true(json_object_get(msg, "complete")));
	EXPECT_EQ(1, jint(msg, "objects"));
	EXPECT_EQ(1, jint(msg, "errors"));
	EXPECT_EQ(1, jint(msg, "repaired"));
	json_decref(msg);

	/* Our copy reads right again, without asking 8. */
	ASSERT_EQ(SHARD_S_OK, call_to(fd, &cur, SHARD_OP_READ, o1, 0, 8192, 0,
				      NULL, self->b, &rh));
	EXPECT_EQ(0, memcmp(self->a, self->b, 8192));
	EXPECT_FALSE(readable(pfd, 200));
	free(obj);
	close(pfd);
	peer8_close(lfd);
	close(fd);
	self->fd = -1;
	ASSERT_EQ(0, daemon_stop(&self->d, SIGTERM));
}

/* --scrub-interval: each PG 7 is primary of gets a light scrub on its
 * own, without mapd asking. */
TEST_F(session, scheduled_light_scrub)
{
	static const char *const extra[] = {
		"--heartbeat-ms", "500", "--scrub-interval", "2",
		"--deep-scrub-interval", "0", NULL
	};
	static const uint32_t even_mine[2] = { 7, 8 };
	struct fake_mapd *m = &self->m;
	struct shard_req_h h;
	json_t *msg;
	int lfd, pfd;

	lfd = peer8_listen();
	ASSERT_LE(0, lfd);
	ASSERT_EQ(0, daemon_start_with(&self->d, true, extra));
	ASSERT_EQ(0, session_at_epoch(m, self->d.port, 5, 2, even_mine));
	/* The heartbeats go on meanwhile: answer them while 7 connects. */
	while (!readable(lfd, 100)) {
		msg = mapd_recv(m, 100);
		if (msg)
			ASSERT_EQ(0, mapd_send(m, "{\"ok\":true,\"epoch\":5}\n"));
		json_decref(msg);
	}
	pfd = peer_accept(lfd);
	ASSERT_LE(0, pfd);
	ASSERT_EQ(0, peer_recv_req(pfd, &h, NULL));
	ASSERT_EQ(SHARD_OP_REP_LIST, h.opcode);
	EXPECT_EQ(0, h.offset % 2);
	ASSERT_EQ(0, reply_payload(pfd, &h, NULL, 0));
	msg = expect_note(m, "pg-scrubbed");
	ASSERT_NE(NULL, msg);
	EXPECT_EQ(h.offset, jint(msg, "pg"));
	EXPECT_TRUE(json_is_false(json_object_get(msg, "deep")));
	EXPECT_TRUE(json_is_true(json_object_get(msg, "complete")));
	EXPECT_EQ(0, jint(msg, "objects"));
	EXPECT_EQ(0, jint(msg, "errors"));
	json_decref(msg);
	close(pfd);
	peer8_close(lfd);
	ASSERT_EQ(0, daemon_stop(&self->d, SIGTERM));
}

TEST_HARNESS_MAIN
