// SPDX-License-Identifier: GPL-2.0-only
/*
 * End to end: scrub, this test playing mapd and "daemon 8" (see
 * daemon_harness.h). As a member, daemon 7 answers REP_LIST (with each
 * object's version) and REP_DIGEST; as a primary it scrubs a PG when
 * mapd asks, repairs the member's copy that differs from its own, or its
 * own copy that fails its checksum from the member's, and reports
 * pg-scrubbed; a light scrub takes copies of the same known version as
 * the same.
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
#include "peer_harness.h"

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

/* Answers a REP_DIGEST (h) OK at epoch 5 with a digest of flags and
 * crc. */
static int reply_digest(int fd, const struct shard_req_h *h, uint32_t flags,
			uint32_t crc)
{
	struct shard_digest dg = {
		.flags = htole32(flags), .data_crc = htole32(crc),
	};

	return reply_payload(fd, h, 5, &dg, sizeof(dg));
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

/* Asks, in the reply to the next heartbeat, for a scrub of pg, deep or
 * light. */
static int ask_scrub(struct fake_mapd *m, uint32_t pg, bool deep)
{
	if (mapd_expect(m, "daemon-heartbeat", 3000, NULL) < 0)
		return -1;
	return mapd_sendf(m, "{\"ok\":true,\"epoch\":5,\"scrub\":["
			  "{\"pool\":1,\"pg\":%u%s}]}\n", pg,
			  deep ? ",\"deep\":true" : "");
}

/* Asks for a light scrub of pg, and takes its REP_LIST on pfd. */
static int light_scrub_listing(struct fake_mapd *m, int pfd, uint32_t pg,
			       struct shard_req_h *h)
{
	if (ask_scrub(m, pg, false) || peer_recv_req(pfd, h, NULL))
		return -1;
	return h->opcode == SHARD_OP_REP_LIST && h->offset == pg ? 0 : -1;
}

/* A member's side: lists with versions, digests, and refusals. */
TEST_F(session, member_answers_scrub)
{
	static const char *const extra[] = { "--heartbeat-ms", "60000", NULL };
	static const uint32_t even_mine[2] = { 7, 8 };
	const uint32_t pg = 3;		/* odd: 8 is its primary */
	const struct shard_ver v1 = { 5, 1001 }, v2 = { 5, 1000 };
	struct shard_list_entry list[16];
	struct shard_reply_h rh;
	struct shard_req_h h;
	struct shard_digest dg;
	struct shard_ver v;
	uint64_t from = 0, o1, o2, o3, o4;
	unsigned char *obj;
	int pfd, sfd, k;

	o1 = object_of_pg(pg, &from);
	o2 = object_of_pg(pg, &from);
	o3 = object_of_pg(pg, &from);
	o4 = object_of_pg(pg, &from);
	ASSERT_EQ(0, daemon_start_with(&self->d, true, extra));
	ASSERT_EQ(0, session_at_epoch(&self->m, self->d.port, 5, 2,
				      even_mine));
	pfd = self->fd = peer8_connect(self->d.port);
	ASSERT_LE(0, pfd);

	/* Each change with its version; o4's last one carries none. */
	fill(self->a, 8192, 11);
	h = (struct shard_req_h){
		.opcode = SHARD_OP_REP_WRITE, .len = 8192, .obj_order = 22,
		.tag = 1, .volume = 9, .object = o2, .pool = 1, .epoch = 5,
	};
	ASSERT_EQ(0, send_req_ver(pfd, &h, self->a, &v2));
	ASSERT_EQ(SHARD_S_OK, recv_reply(pfd, &rh, NULL, 0));
	h.tag = 2;
	h.object = o1;
	h.offset = 8192;
	ASSERT_EQ(0, send_req_ver(pfd, &h, self->a, &v1));
	ASSERT_EQ(SHARD_S_OK, recv_reply(pfd, &rh, NULL, 0));
	h.tag = 20;
	h.object = o4;
	h.offset = 0;
	ASSERT_EQ(0, send_req_ver(pfd, &h, self->a, &v1));
	ASSERT_EQ(SHARD_S_OK, recv_reply(pfd, &rh, NULL, 0));
	h.tag = 21;
	ASSERT_EQ(0, send_req(pfd, &h, self->a));
	ASSERT_EQ(SHARD_S_OK, recv_reply(pfd, &rh, NULL, 0));

	/* The PG's objects in order, each with its version; a short
	 * answer ends the list. */
	h = (struct shard_req_h){
		.opcode = SHARD_OP_REP_LIST, .len = sizeof(list), .tag = 3,
		.pool = 1, .offset = pg, .epoch = 5,
	};
	ASSERT_EQ(0, send_req(pfd, &h, NULL));
	ASSERT_EQ(SHARD_S_OK, recv_reply(pfd, &rh, list, sizeof(list)));
	ASSERT_EQ(3 * sizeof(list[0]), rh.len);
	ASSERT_EQ(40, sizeof(list[0]));
	EXPECT_EQ(o1, le64toh(list[0].object));
	EXPECT_EQ(o2, le64toh(list[1].object));
	EXPECT_EQ(o4, le64toh(list[2].object));
	EXPECT_EQ(9, le64toh(list[0].volume));
	EXPECT_EQ(22, list[0].obj_order);
	v = le_ver(&list[0]);
	EXPECT_TRUE(shard_ver_eq(&v1, &v));
	v = le_ver(&list[1]);
	EXPECT_TRUE(shard_ver_eq(&v2, &v));
	v = le_ver(&list[2]);
	EXPECT_FALSE(shard_ver_known(&v));
	for (k = 0; k < 3; k++)
		EXPECT_EQ(0, memcmp(list[k].reserved, "\0\0\0\0\0\0\0", 7));
	/* One entry at a time, from a cursor. */
	h.tag = 4;
	h.len = sizeof(list[0]);
	h.volume = 9;
	h.object = o1 + 1;
	ASSERT_EQ(0, send_req(pfd, &h, NULL));
	ASSERT_EQ(SHARD_S_OK, recv_reply(pfd, &rh, list, sizeof(list)));
	ASSERT_EQ(sizeof(list[0]), rh.len);
	EXPECT_EQ(o2, le64toh(list[0].object));
	v = le_ver(&list[0]);
	EXPECT_TRUE(shard_ver_eq(&v2, &v));

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
	pfd = self->fd = peer8_connect(self->d.port);
	ASSERT_LE(0, pfd);
	h.tag = 10;
	h.offset = 16;
	ASSERT_EQ(0, send_req(pfd, &h, NULL));
	EXPECT_EQ(SHARD_S_STALE, recv_reply(pfd, &rh, list, sizeof(list)));
	close(pfd);
	pfd = self->fd = peer8_connect(self->d.port);
	ASSERT_LE(0, pfd);
	h.tag = 11;
	h.offset = pg;
	h.len = 24;		/* the entry's size before versions */
	ASSERT_EQ(0, send_req(pfd, &h, NULL));
	EXPECT_TRUE(conn_closed(pfd));
	close(pfd);
	pfd = self->fd = peer8_connect(self->d.port);
	ASSERT_LE(0, pfd);
	h = (struct shard_req_h){
		.opcode = SHARD_OP_REP_DIGEST, .obj_order = 22, .tag = 12,
		.volume = 9, .object = o1, .pool = 1, .epoch = 5, .len = 4096,
	};
	ASSERT_EQ(0, send_req(pfd, &h, NULL));
	EXPECT_TRUE(conn_closed(pfd));
	ASSERT_EQ(0, close_and_stop(&self->d, -1, -1, &self->fd));
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
	const struct shard_ver unknown = { 0, 0 };
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
	lfd = start_with_peer8(&self->d, m, extra, 2, even_mine, &self->fd);
	ASSERT_LE(0, lfd);
	fd = self->fd;

	fill(self->a, 8192, 12);
	memcpy(obj, self->a, 8192);
	pfd = peer8_takes_write(fd, lfd, 700, o1, self->a, self->b);
	ASSERT_LE(0, pfd);

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
	list[0] = entry(o1, unknown);
	list[1] = entry(o4, unknown);
	ASSERT_EQ(0, reply_payload(pfd, &h, 5, list, sizeof(list)));

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
	ASSERT_EQ(0, close_and_stop(&self->d, lfd, pfd, &self->fd));
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
	const struct shard_ver unknown = { 0, 0 };
	struct fake_mapd *m = &self->m;
	struct shard_list_entry one;
	struct shard_reply_h rh;
	struct shard_req_h h;
	uint64_t from = 0, o1;
	unsigned char *obj;
	json_t *msg;
	int lfd, pfd, fd, sfd, k;

	o1 = object_of_pg(pg, &from);
	obj = calloc(1, OBJ_SIZE);
	ASSERT_NE(NULL, obj);
	lfd = start_with_peer8(&self->d, m, extra, 2, even_mine, &self->fd);
	ASSERT_LE(0, lfd);
	fd = self->fd;

	fill(self->a, 8192, 13);
	memcpy(obj, self->a, 8192);
	pfd = peer8_takes_write(fd, lfd, 800, o1, self->a, self->b);
	ASSERT_LE(0, pfd);

	sfd = open(self->d.store, O_WRONLY);
	ASSERT_LE(0, sfd);
	ASSERT_EQ(16, pwrite(sfd, "damaged damaged!", 16, (1 << 20) + 100));
	ASSERT_EQ(0, fsync(sfd));
	close(sfd);

	ASSERT_EQ(0, ask_scrub(m, pg, true));
	ASSERT_EQ(0, peer_recv_req(pfd, &h, NULL));
	ASSERT_EQ(SHARD_OP_REP_LIST, h.opcode);
	one = entry(o1, unknown);
	ASSERT_EQ(0, reply_payload(pfd, &h, 5, &one, sizeof(one)));
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
	ASSERT_EQ(0, close_and_stop(&self->d, lfd, pfd, &self->fd));
}

/*
 * A light scrub compares versions first: an object daemon 8 lists with
 * the version 7 sent it is the same there and not read; one listed with
 * another version, with the unknown one, or only on 8 gets a digest of
 * every copy. Their bytes are the same: no error.
 */
TEST_F(session, light_scrub_by_version)
{
	static const char *const extra[] = { "--heartbeat-ms", "1000", NULL };
	static const uint32_t even_mine[2] = { 7, 8 };
	const uint32_t pg = 8;		/* even: 7 is its primary */
	struct fake_mapd *m = &self->m;
	struct shard_list_entry list[4];
	struct shard_ver ver[3];
	struct shard_reply_h rh;
	struct shard_req_h h;
	uint64_t from = 0, o[4];
	unsigned char *obj, *zero;
	json_t *msg;
	int lfd, pfd = -1, fd, k;

	for (k = 0; k < 4; k++)
		o[k] = object_of_pg(pg, &from);
	obj = calloc(1, OBJ_SIZE);
	zero = calloc(1, OBJ_SIZE);
	ASSERT_TRUE(obj && zero);
	lfd = start_with_peer8(&self->d, m, extra, 2, even_mine, &self->fd);
	ASSERT_LE(0, lfd);
	fd = self->fd;

	/* Three objects of the same bytes, written through 7: 8 gets
	 * each change with its version. */
	fill(self->a, 8192, 14);
	memcpy(obj, self->a, 8192);
	for (k = 0; k < 3; k++) {
		ASSERT_EQ(0, send_client_req(fd, SHARD_OP_WRITE, 900 + k, o[k],
					     0, 8192, self->a));
		if (pfd < 0) {
			pfd = peer_accept(lfd);
			ASSERT_LE(0, pfd);
		}
		ASSERT_EQ(0, peer_recv_req_ver(pfd, &h, self->b, &ver[k]));
		ASSERT_EQ(SHARD_OP_REP_WRITE, h.opcode);
		EXPECT_TRUE(shard_ver_known(&ver[k]));
		ASSERT_EQ(SHARD_S_OK, peer8_ack(pfd, &h, fd, &rh));
	}
	EXPECT_FALSE(shard_ver_eq(&ver[0], &ver[1]));

	ASSERT_EQ(0, light_scrub_listing(m, pfd, pg, &h));
	list[0] = entry(o[0], ver[0]);
	list[1] = entry(o[1], (struct shard_ver){ ver[1].epoch,
						   ver[1].seq + 1000 });
	list[2] = entry(o[2], (struct shard_ver){ 0, 0 });
	list[3] = entry(o[3], (struct shard_ver){ 5, 77 });
	ASSERT_EQ(0, reply_payload(pfd, &h, 5, list, sizeof(list)));
	/* o[0] is not asked for; the others are, in order. */
	for (k = 1; k < 4; k++) {
		ASSERT_EQ(0, peer_recv_req(pfd, &h, NULL));
		ASSERT_EQ(SHARD_OP_REP_DIGEST, h.opcode);
		EXPECT_EQ(o[k], h.object);
		EXPECT_EQ(SHARD_F_DIGEST_DATA, h.flags);
		/* 7 has no o[3]: it reads as zeroes there. */
		ASSERT_EQ(0, reply_digest(pfd, &h, SHARD_DIGEST_EXISTS |
					  SHARD_DIGEST_DATA,
					  shard_crc32c(k < 3 ? obj : zero,
						       OBJ_SIZE)));
	}
	msg = expect_note(m, "pg-scrubbed");
	ASSERT_NE(NULL, msg);
	EXPECT_EQ(pg, jint(msg, "pg"));
	EXPECT_TRUE(json_is_false(json_object_get(msg, "deep")));
	EXPECT_TRUE(json_is_true(json_object_get(msg, "complete")));
	EXPECT_EQ(4, jint(msg, "objects"));
	EXPECT_EQ(0, jint(msg, "errors"));
	EXPECT_EQ(0, jint(msg, "repaired"));
	EXPECT_EQ(3LL * OBJ_SIZE * 2, jint(msg, "bytes"));
	json_decref(msg);
	EXPECT_FALSE(readable(pfd, 200));
	free(obj);
	free(zero);
	ASSERT_EQ(0, close_and_stop(&self->d, lfd, pfd, &self->fd));
}

/* The scrub's result: whether it failed with an error containing why. */
static bool scrub_failed(struct fake_mapd *m, uint32_t pg, const char *why)
{
	json_t *msg = expect_note(m, "pg-scrubbed");
	const char *e;
	bool ok;

	if (!msg)
		return false;
	e = json_string_value(json_object_get(msg, "error"));
	ok = jint(msg, "pg") == pg &&
	     json_is_false(json_object_get(msg, "complete")) && e &&
	     strstr(e, why);
	json_decref(msg);
	return ok;
}

/*
 * A member's list that goes backwards, or an error instead of one, ends
 * the scrub (reported incomplete); a daemon stopping while a list is
 * asked for exits clean.
 */
TEST_F(session, scrub_stops_on_a_bad_list)
{
	static const char *const extra[] = { "--heartbeat-ms", "500", NULL };
	static const uint32_t even_mine[2] = { 7, 8 };
	const uint32_t pg = 10;
	struct fake_mapd *m = &self->m;
	struct shard_list_entry list[2];
	struct shard_req_h h;
	int lfd, pfd;

	lfd = start_with_peer8(&self->d, m, extra, 2, even_mine, NULL);
	ASSERT_LE(0, lfd);
	ASSERT_EQ(0, ask_scrub(m, pg, false));
	pfd = peer_accept(lfd);
	ASSERT_LE(0, pfd);
	ASSERT_EQ(0, peer_recv_req(pfd, &h, NULL));
	ASSERT_EQ(SHARD_OP_REP_LIST, h.opcode);
	list[0] = entry(50, (struct shard_ver){ 5, 1 });
	list[1] = entry(40, (struct shard_ver){ 5, 2 });
	ASSERT_EQ(0, reply_payload(pfd, &h, 5, list, sizeof(list)));
	EXPECT_TRUE(scrub_failed(m, pg, "malformed"));

	ASSERT_EQ(0, light_scrub_listing(m, pfd, pg, &h));
	ASSERT_EQ(0, peer_reply(pfd, &h, SHARD_S_IO, 5));
	EXPECT_TRUE(scrub_failed(m, pg, "failed to list"));

	/* Left unanswered: the daemon stops with the list asked for. */
	ASSERT_EQ(0, light_scrub_listing(m, pfd, pg, &h));
	EXPECT_FALSE(readable(pfd, 100));
	ASSERT_EQ(0, daemon_stop(&self->d, SIGTERM));
	close(pfd);
	peer8_close(lfd);
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

	lfd = start_with_peer8(&self->d, m, extra, 2, even_mine, NULL);
	ASSERT_LE(0, lfd);
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
	ASSERT_EQ(0, reply_payload(pfd, &h, 5, NULL, 0));
	msg = expect_note(m, "pg-scrubbed");
	ASSERT_NE(NULL, msg);
	EXPECT_EQ(h.offset, jint(msg, "pg"));
	EXPECT_TRUE(json_is_false(json_object_get(msg, "deep")));
	EXPECT_TRUE(json_is_true(json_object_get(msg, "complete")));
	EXPECT_EQ(0, jint(msg, "objects"));
	EXPECT_EQ(0, jint(msg, "errors"));
	json_decref(msg);
	ASSERT_EQ(0, close_and_stop(&self->d, lfd, pfd, &self->fd));
}

TEST_HARNESS_MAIN
