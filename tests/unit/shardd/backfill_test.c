// SPDX-License-Identifier: GPL-2.0-only
/*
 * End to end: shardd copying a PG's objects to another daemon, this
 * test playing "daemon 8" (see daemon_harness.h): backfill (of the
 * objects whose versions differ) and a backfill target's side of it,
 * peering when a map makes the daemon a PG's new primary, and backfill
 * backing off while clients use the daemon (--recovery-share).
 */
#define _GNU_SOURCE
#include <endian.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>
#include <shard/pg.h>

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

/* Brings the daemon to the map of epoch (every PG 7's, width 1) that
 * names 8 as a backfill target of pg (map_on_ping() on fd). */
static int backfill_map(struct fake_mapd *m, int fd, uint64_t epoch,
			uint32_t pg)
{
	static const uint32_t all_mine[2] = { 7, 7 };
	char bf[64];
	int ret;

	snprintf(bf, sizeof(bf), "[[%u, 8]]", pg);
	map_backfill = bf;
	ret = map_on_ping(m, fd, epoch, 1, all_mine);
	map_backfill = NULL;
	return ret;
}

/* The backfill of pg to daemon 8 that the map of epoch 6 starts
 * (backfill_map()): accepts the daemon's connection to 8 on lfd and
 * takes its first REP_LIST (into *h). The connection's fd, or -1. */
static int backfill_begins(struct fake_mapd *m, int fd, int lfd, uint32_t pg,
			   struct shard_req_h *h)
{
	int pfd;

	if (backfill_map(m, fd, 6, pg))
		return -1;
	pfd = peer_accept(lfd);
	if (pfd >= 0 && (peer_recv_req(pfd, h, NULL) ||
			 h->opcode != SHARD_OP_REP_LIST)) {
		close(pfd);
		pfd = -1;
	}
	return pfd;
}

/*
 * The map names daemon 8 (this test) as a backfill target of a PG of
 * daemon 7's: 7 lists what 8 holds of the PG, sends it every object of
 * the PG that 8 lacks or holds with another version, whole, in
 * SHARD_MAX_IO REP_WRITEs (the last one carrying the object's version),
 * removes there the object 7 does not hold, then tells mapd
 * pg-backfilled with the PG's acting row.
 */
TEST_F(session, backfill)
{
	static const char *const extra[] = { "--heartbeat-ms", "60000", NULL };
	static const uint32_t all_mine[2] = { 7, 7 };
	const uint64_t mine = object_in(true);
	const uint32_t pg = shard_object_pg(9, mine, 16);
	const struct target cur = { .pool = 1, .volume = 9, .epoch = 5 };
	struct fake_mapd *m = &self->m;
	struct pushed p = { .objs = &mine, .n = 1 };
	struct shard_reply_h rh;
	struct shard_req_h h;
	struct shard_ver v;
	json_t *msg;
	int lfd, pfd, fd, k;

	lfd = start_with_peer8(&self->d, m, extra, 1, all_mine, &self->fd);
	ASSERT_LE(0, lfd);
	fd = self->fd;
	fill(self->a, 8192, 6);
	ASSERT_EQ(SHARD_S_OK, call_to(fd, &cur, SHARD_OP_WRITE, mine, 0, 8192,
				      0, self->a, NULL, &rh));

	/* Epoch 6 names daemon 8 to join mine's PG. */
	pfd = backfill_begins(m, fd, lfd, pg, &h);
	ASSERT_LE(0, pfd);
	EXPECT_EQ(1, h.pool);
	EXPECT_EQ(pg, h.offset);
	EXPECT_EQ(0, h.volume);
	EXPECT_EQ(0, h.object);
	EXPECT_EQ(0, h.len % sizeof(struct shard_list_entry));
	EXPECT_EQ(6, h.epoch);
	ASSERT_EQ(0, reply_list(pfd, &h, NULL, 0));
	for (k = 0; k < 4; k++) {
		ASSERT_EQ(0, copy_piece(pfd, &p, &h, self->b, &v, 6));
		EXPECT_EQ(22, h.obj_order);
	}
	/* The last piece: the version of the client's WRITE, made at epoch
	 * 5 (not a new one of the copy's epoch 6). */
	EXPECT_EQ(5, v.epoch);
	EXPECT_NE(0, v.seq);
	ASSERT_EQ(0, mapd_expect(m, "pg-backfilled", 5000, &msg));
	EXPECT_EQ(1, json_integer_value(json_object_get(msg, "pool")));
	EXPECT_EQ(8, json_integer_value(json_object_get(msg, "daemon")));
	EXPECT_EQ(7, json_integer_value(json_object_get(msg, "from")));
	do {
		json_t *pgs = json_object_get(msg, "pgs"), *e;

		ASSERT_EQ(1, json_array_size(pgs));
		e = json_array_get(pgs, 0);
		EXPECT_EQ(pg, json_integer_value(json_object_get(e, "pg")));
		EXPECT_EQ(1, json_array_size(json_object_get(e, "acting")));
		EXPECT_EQ(7, json_integer_value(json_array_get(
			json_object_get(e, "acting"), 0)));
	} while (0);
	json_decref(msg);
	/* Left unanswered: the daemon stops with the report still with
	 * mapd, and must free what waits for the answer (LSan). */
	ASSERT_EQ(0, close_and_stop(&self->d, lfd, pfd, &self->fd));
}

/*
 * Backfill by versions. Daemon 7 is first a member of an odd PG of
 * daemon 8's (this test), which writes objects A..E to it, each with a
 * version (E's unknown); then a map makes 7 the PG's primary and 8 its
 * backfill target. 8 lists A with 7's version, B with another, C with
 * the unknown one, not D, E with one 7 cannot match, and F, which 7 does
 * not hold. 7 copies B, C, D and E whole, leaves A and F, and reports
 * the PG backfilled.
 */
TEST_F(session, backfill_copies_what_differs)
{
	static const char *const extra[] = { "--heartbeat-ms", "60000", NULL };
	static const uint32_t even_mine[2] = { 7, 8 };
	const uint32_t pg = 5;		/* odd: 8's at epoch 5 */
	const struct shard_ver unknown = { 0, 0 };
	struct shard_ver ver[5], v;
	struct fake_mapd *m = &self->m;
	struct shard_list_entry list[5];
	struct shard_reply_h rh;
	struct shard_req_h h;
	uint64_t from = 0, o[6];
	struct pushed p = { .objs = o, .n = 6 };
	json_t *msg;
	int lfd, pfd, fd, i, k;

	for (k = 0; k < 6; k++)
		o[k] = object_of_pg(pg, &from);
	lfd = start_with_peer8(&self->d, m, extra, 2, even_mine, NULL);
	ASSERT_LE(0, lfd);

	/* As the PG's primary, 8 writes A..E to its member 7. */
	pfd = self->fd = peer8_connect(self->d.port);
	ASSERT_LE(0, pfd);
	for (k = 0; k < 5; k++) {
		ver[k] = (struct shard_ver){ 5, 100 + k };
		fill(self->a, 8192, 20 + k);
		h = (struct shard_req_h){
			.opcode = SHARD_OP_REP_WRITE, .len = 8192,
			.obj_order = 22, .tag = 10 + k, .volume = 9,
			.object = o[k], .pool = 1, .epoch = 5,
		};
		ASSERT_EQ(0, send_req_ver(pfd, &h, self->a,
					  k < 4 ? &ver[k] : &unknown));
		ASSERT_EQ(SHARD_S_OK, recv_reply(pfd, &rh, NULL, 0));
	}
	close(pfd);

	/* Epoch 6: 7 is the PG's primary, 8 its backfill target. */
	fd = self->fd = client_hello(self->d.port);
	ASSERT_LE(0, fd);
	pfd = backfill_begins(m, fd, lfd, pg, &h);
	ASSERT_LE(0, pfd);
	EXPECT_EQ(pg, h.offset);
	list[0] = entry(o[0], ver[0]);
	list[1] = entry(o[1], (struct shard_ver){ 5, 99 });
	list[2] = entry(o[2], unknown);
	list[3] = entry(o[4], ver[4]);
	list[4] = entry(o[5], (struct shard_ver){ 5, 200 });
	ASSERT_EQ(0, reply_list(pfd, &h, list, 5));

	/* B, C, D and E come whole, each with 7's version last (E's is
	 * unknown here too); F, which 7 does not hold, is removed there:
	 * zeroes over all of it. */
	for (k = 0; k < 20; k++) {
		i = copy_piece(pfd, &p, &h, self->b, &v, 20);
		ASSERT_LE(0, i);
		if (h.offset != 3U << 20 || i == 5)
			continue;
		if (i < 4) {
			EXPECT_TRUE(shard_ver_eq(&ver[i], &v));
		} else {
			EXPECT_FALSE(shard_ver_known(&v));
		}
	}
	EXPECT_EQ(0, p.pieces[0]);
	for (k = 1; k < 5; k++) {
		EXPECT_EQ(4, p.pieces[k]);
		EXPECT_EQ(0, p.zeroes[k]);
	}
	EXPECT_EQ(4, p.pieces[5]);
	EXPECT_EQ(4, p.zeroes[5]);

	ASSERT_EQ(0, mapd_expect(m, "pg-backfilled", 5000, &msg));
	EXPECT_EQ(8, json_integer_value(json_object_get(msg, "daemon")));
	EXPECT_EQ(pg, json_integer_value(json_object_get(
		json_array_get(json_object_get(msg, "pgs"), 0), "pg")));
	json_decref(msg);
	EXPECT_FALSE(readable(pfd, 200));
	ASSERT_EQ(0, close_and_stop(&self->d, lfd, pfd, &self->fd));
}

/*
 * Delta recovery. Daemon 7, a member of an odd PG of daemon 8's (this
 * test), takes three changes to object A from 8 (V1: 8 KiB at 0; V2:
 * 512 bytes at 1 MiB + 4.5 KiB; V3: zeroes over 8 KiB at 3 MiB) and
 * one to B. A map then makes 7 the PG's primary and 8 its backfill
 * target, 8 listing A at V1 and B at a version 7 never had. A comes as
 * the blocks changed since V1 only, the last piece flagged WHOLE with
 * V3; B whole.
 */
TEST_F(session, backfill_sends_only_what_changed)
{
	static const char *const extra[] = { "--heartbeat-ms", "60000", NULL };
	static const uint32_t even_mine[2] = { 7, 8 };
	const uint32_t pg = 5;		/* odd: 8's at epoch 5 */
	const struct shard_ver v1 = { 5, 300 }, v2 = { 5, 301 },
			       v3 = { 5, 302 }, vb = { 5, 303 };
	struct shard_list_entry list[2];
	struct fake_mapd *m = &self->m;
	unsigned int a_pieces = 0, b_pieces = 0;
	unsigned char want[4096];
	struct shard_req_h h;
	struct shard_ver v;
	uint64_t from = 0, a, b;
	json_t *msg;
	int lfd, pfd, fd, k;

	a = object_of_pg(pg, &from);
	b = object_of_pg(pg, &from);
	lfd = start_with_peer8(&self->d, m, extra, 2, even_mine, NULL);
	ASSERT_LE(0, lfd);
	pfd = self->fd = peer8_connect(self->d.port);
	ASSERT_LE(0, pfd);
	fill(self->a, 8192, 40);
	ASSERT_EQ(SHARD_S_OK, rep_call(pfd, SHARD_OP_REP_WRITE, a, 0, 8192,
				       self->a, &v1));
	fill(self->a, 512, 41);
	ASSERT_EQ(SHARD_S_OK, rep_call(pfd, SHARD_OP_REP_WRITE, a,
				       (1U << 20) + 4096 + 512, 512, self->a,
				       &v2));
	ASSERT_EQ(SHARD_S_OK, rep_call(pfd, SHARD_OP_REP_ZERO, a, 3U << 20,
				       8192, NULL, &v3));
	fill(self->a, 8192, 42);
	ASSERT_EQ(SHARD_S_OK, rep_call(pfd, SHARD_OP_REP_WRITE, b, 0, 8192,
				       self->a, &vb));
	close(pfd);

	fd = self->fd = client_hello(self->d.port);
	ASSERT_LE(0, fd);
	pfd = backfill_begins(m, fd, lfd, pg, &h);
	ASSERT_LE(0, pfd);
	list[0] = entry(a < b ? a : b, a < b ? v1 : (struct shard_ver){ 5, 9 });
	list[1] = entry(a < b ? b : a, a < b ? (struct shard_ver){ 5, 9 } : v1);
	ASSERT_EQ(0, reply_list(pfd, &h, list, 2));

	/* A's two runs of changed blocks and B's four pieces, in any order
	 * between the objects, each object's in order. */
	for (k = 0; k < 6; k++) {
		ASSERT_TRUE(readable(pfd, 5000));
		ASSERT_EQ(0, peer_recv_req_ver(pfd, &h, self->b, &v));
		ASSERT_EQ(SHARD_OP_REP_WRITE, h.opcode);
		if (h.object == b) {
			EXPECT_EQ(b_pieces << 20, h.offset);
			EXPECT_EQ(SHARD_MAX_IO, h.len);
			EXPECT_EQ(++b_pieces == 4 ? SHARD_REP_F_WHOLE : 0,
				  rep_flags_in);
			if (b_pieces == 4)
				EXPECT_TRUE(shard_ver_eq(&vb, &v));
		} else {
			ASSERT_EQ(a, h.object);
			a_pieces++;
			if (a_pieces == 1) {
				/* The block V2 changed, whole. */
				EXPECT_EQ((1U << 20) + 4096, h.offset);
				EXPECT_EQ(4096, h.len);
				memset(want, 0, sizeof(want));
				fill(want + 512, 512, 41);
				EXPECT_EQ(0, memcmp(want, self->b, 4096));
				EXPECT_EQ(0, rep_flags_in);
				EXPECT_FALSE(shard_ver_known(&v));
			} else {
				/* V3's zeroes, with A's version now. */
				EXPECT_EQ(3U << 20, h.offset);
				EXPECT_EQ(8192, h.len);
				memset(want, 0, sizeof(want));
				EXPECT_EQ(0, memcmp(want, self->b, 4096));
				EXPECT_EQ(0, memcmp(want, self->b + 4096,
						    4096));
				EXPECT_EQ(SHARD_REP_F_WHOLE, rep_flags_in);
				EXPECT_TRUE(shard_ver_eq(&v3, &v));
			}
		}
		ASSERT_EQ(0, peer_reply(pfd, &h, SHARD_S_OK, 6));
	}
	EXPECT_EQ(2, a_pieces);
	EXPECT_EQ(4, b_pieces);
	ASSERT_EQ(0, mapd_expect(m, "pg-backfilled", 5000, &msg));
	json_decref(msg);
	EXPECT_FALSE(readable(pfd, 200));
	ASSERT_EQ(0, close_and_stop(&self->d, lfd, pfd, &self->fd));
}

/*
 * The throttle (--recovery-mbps) counts the bytes a push sends: at
 * 1 MB/s, a copy of 4 KiB changed in each of two objects goes at once,
 * where charging whole objects would hold the second back 4 s.
 */
TEST_F(session, throttle_counts_bytes_sent)
{
	static const char *const extra[] = {
		"--heartbeat-ms", "60000", "--recovery-mbps", "1",
		"--recovery-share", "100", NULL,
	};
	static const uint32_t even_mine[2] = { 7, 8 };
	const uint32_t pg = 5;		/* odd: 8's at epoch 5 */
	struct shard_list_entry list[2];
	struct fake_mapd *m = &self->m;
	struct shard_req_h h;
	struct shard_ver v;
	uint64_t from = 0, o[2];
	long long at[2] = { 0, 0 };
	int lfd, pfd, fd, k;

	lfd = start_with_peer8(&self->d, m, extra, 2, even_mine, NULL);
	ASSERT_LE(0, lfd);
	pfd = self->fd = peer8_connect(self->d.port);
	ASSERT_LE(0, pfd);
	fill(self->a, 8192, 50);
	for (k = 0; k < 2; k++) {
		o[k] = object_of_pg(pg, &from);
		ASSERT_EQ(SHARD_S_OK, rep_call(pfd, SHARD_OP_REP_WRITE, o[k],
					       0, 8192, self->a,
					       &(struct shard_ver){ 5, 400 + k }));
		ASSERT_EQ(SHARD_S_OK, rep_call(pfd, SHARD_OP_REP_WRITE, o[k],
					       8192, 4096, self->a,
					       &(struct shard_ver){ 5, 410 + k }));
	}
	close(pfd);

	fd = self->fd = client_hello(self->d.port);
	ASSERT_LE(0, fd);
	pfd = backfill_begins(m, fd, lfd, pg, &h);
	ASSERT_LE(0, pfd);
	for (k = 0; k < 2; k++)
		list[k] = entry(o[k], (struct shard_ver){ 5, 400 + k });
	ASSERT_EQ(0, reply_list(pfd, &h, list, 2));
	for (k = 0; k < 2; k++) {
		ASSERT_TRUE(readable(pfd, 8000));
		ASSERT_EQ(0, peer_recv_req_ver(pfd, &h, self->b, &v));
		ASSERT_EQ(o[k], h.object);
		EXPECT_EQ(8192, h.offset);
		EXPECT_EQ(4096, h.len);
		EXPECT_EQ(SHARD_REP_F_WHOLE, rep_flags_in);
		at[k] = now_ms();
		ASSERT_EQ(0, peer_reply(pfd, &h, SHARD_S_OK, 6));
	}
	EXPECT_GT(1000, at[1] - at[0]);
	ASSERT_EQ(0, close_and_stop(&self->d, lfd, pfd, &self->fd));
}

/*
 * The target's list comes in pages: a full one is followed by a
 * request from the object after its last. A list that goes backwards,
 * or an error instead of one, fails the job, which starts over with the
 * next map; a daemon stopping while it waits for a list exits clean.
 */
TEST_F(session, backfill_listing_pages_and_failures)
{
	static const char *const extra[] = { "--heartbeat-ms", "60000", NULL };
	static const uint32_t all_mine[2] = { 7, 7 };
	const uint64_t mine = object_in(true);
	const uint32_t pg = shard_object_pg(9, mine, 16);
	const struct target cur = { .pool = 1, .volume = 9, .epoch = 5 };
	struct fake_mapd *m = &self->m;
	struct shard_list_entry *list;
	struct shard_reply_h rh;
	struct shard_req_h h;
	uint32_t n, k;
	int lfd, pfd, fd;

	lfd = start_with_peer8(&self->d, m, extra, 1, all_mine, &self->fd);
	ASSERT_LE(0, lfd);
	fd = self->fd;
	fill(self->a, 8192, 7);
	ASSERT_EQ(SHARD_S_OK, call_to(fd, &cur, SHARD_OP_WRITE, mine, 0, 8192,
				      0, self->a, NULL, &rh));
	pfd = backfill_begins(m, fd, lfd, pg, &h);
	ASSERT_LE(0, pfd);

	/* A full page of objects only 8 holds, then the next from the
	 * object after the last, which goes backwards. */
	n = h.len / sizeof(*list);
	ASSERT_LT(1, n);
	list = calloc(n, sizeof(*list));
	ASSERT_NE(NULL, list);
	for (k = 0; k < n; k++)
		list[k] = entry(1000000 + k, (struct shard_ver){ 5, k + 1 });
	ASSERT_EQ(0, reply_list(pfd, &h, list, n));
	ASSERT_EQ(0, peer_recv_req(pfd, &h, NULL));
	ASSERT_EQ(SHARD_OP_REP_LIST, h.opcode);
	EXPECT_EQ(pg, h.offset);
	EXPECT_EQ(9, h.volume);
	EXPECT_EQ(1000000 + n, h.object);
	list[0] = entry(1000000 + n, (struct shard_ver){ 5, 1 });
	list[1] = entry(1000000, (struct shard_ver){ 5, 1 });
	ASSERT_EQ(0, reply_list(pfd, &h, list, 2));
	free(list);
	EXPECT_FALSE(readable(pfd, 300));

	/* The next map: listed again from the start; refused. */
	ASSERT_EQ(0, backfill_map(m, fd, 7, pg));
	ASSERT_EQ(0, peer_recv_req(pfd, &h, NULL));
	ASSERT_EQ(SHARD_OP_REP_LIST, h.opcode);
	EXPECT_EQ(0, h.volume);
	EXPECT_EQ(0, h.object);
	ASSERT_EQ(0, peer_reply(pfd, &h, SHARD_S_IO, 7));
	EXPECT_FALSE(readable(pfd, 300));

	/* And again, left unanswered as the daemon stops. */
	ASSERT_EQ(0, backfill_map(m, fd, 8, pg));
	ASSERT_EQ(0, peer_recv_req(pfd, &h, NULL));
	ASSERT_EQ(SHARD_OP_REP_LIST, h.opcode);
	close(fd);
	self->fd = -1;
	ASSERT_EQ(0, daemon_stop(&self->d, SIGTERM));
	close(pfd);
	peer8_close(lfd);
}

/*
 * Daemon 7 is only a backfill target of an odd PG of daemon 8's (this
 * test), not a member. It takes the PG's changes: a REP_WRITE or
 * REP_ZERO without SHARD_REP_F_WHOLE is applied but recorded with the
 * unknown version (the rest of the object may be missing here), the
 * last piece of a whole-object copy (the flag) with its version. It
 * lists what it holds for the primary to compare, but refuses to serve
 * digests or reads (STALE).
 */
TEST_F(session, backfill_target_lists_and_records_unknown)
{
	static const char *const extra[] = { "--heartbeat-ms", "60000", NULL };
	static const uint32_t odd_8s[2] = { 7, 8 };
	static const uint32_t all_mine[2] = { 7, 7 };
	const uint32_t pg = 3;		/* odd: 8's, and 7 its target */
	const struct target newer = { .pool = 1, .volume = 9, .epoch = 6 };
	const struct shard_ver v42 = { 5, 42 }, v43 = { 5, 43 };
	const struct shard_ver v44 = { 5, 44 }, v45 = { 5, 45 };
	struct fake_mapd *m = &self->m;
	struct shard_list_entry list[8];
	unsigned char want[16384];
	struct shard_reply_h rh;
	struct shard_ver v;
	uint64_t from = 0, x, y;
	char bf[64];
	uint32_t n;
	int pfd, fd;

	x = object_of_pg(pg, &from);
	y = object_of_pg(pg, &from);
	ASSERT_EQ(0, daemon_start_with(&self->d, true, extra));
	snprintf(bf, sizeof(bf), "[[%u, 7]]", pg);
	map_backfill = bf;
	ASSERT_EQ(0, session_at_epoch(m, self->d.port, 5, 1, odd_8s));
	map_backfill = NULL;

	pfd = peer8_connect(self->d.port);
	ASSERT_LE(0, pfd);
	/* Listed (nothing yet), not refused. */
	ASSERT_EQ(SHARD_S_OK, list_pg(pfd, pg, list, 8, &n));
	EXPECT_EQ(0, n);

	/* A change to part of x: applied, its version unknown here. */
	fill(self->a, 8192, 41);
	memcpy(want, self->a, 8192);
	ASSERT_EQ(SHARD_S_OK, rep_call(pfd, SHARD_OP_REP_WRITE, x, 0, 8192,
				       self->a, &v42));
	ASSERT_EQ(SHARD_S_OK, list_pg(pfd, pg, list, 8, &n));
	ASSERT_EQ(1, n);
	EXPECT_EQ(x, le64toh(list[0].object));
	EXPECT_EQ(0, le64toh(list[0].ver.epoch));
	EXPECT_EQ(0, le64toh(list[0].ver.seq));

	/* The last piece of a whole copy: its version is recorded. */
	fill(self->a, 8192, 42);
	memcpy(want + 8192, self->a, 8192);
	ASSERT_EQ(SHARD_S_OK, rep_call_whole(pfd, SHARD_OP_REP_WRITE, x, 8192,
					     8192, self->a, &v43));
	ASSERT_EQ(SHARD_S_OK, list_pg(pfd, pg, list, 8, &n));
	ASSERT_EQ(1, n);
	EXPECT_EQ(x, le64toh(list[0].object));
	EXPECT_EQ(5, le64toh(list[0].ver.epoch));
	EXPECT_EQ(43, le64toh(list[0].ver.seq));

	/* A REP_ZERO without the flag: unknown again. */
	memset(want, 0, 4096);
	ASSERT_EQ(SHARD_S_OK, rep_call(pfd, SHARD_OP_REP_ZERO, x, 0, 4096,
				       NULL, &v44));
	/* y, in one flagged piece: known from the start. */
	fill(self->a, 8192, 43);
	ASSERT_EQ(SHARD_S_OK, rep_call_whole(pfd, SHARD_OP_REP_WRITE, y, 0,
					     8192, self->a, &v45));
	ASSERT_EQ(SHARD_S_OK, list_pg(pfd, pg, list, 8, &n));
	ASSERT_EQ(2, n);
	EXPECT_EQ(x, le64toh(list[0].object));
	v = le_ver(&list[0]);
	EXPECT_FALSE(shard_ver_known(&v));
	EXPECT_EQ(y, le64toh(list[1].object));
	v = le_ver(&list[1]);
	EXPECT_TRUE(shard_ver_eq(&v45, &v));

	/* Digests and reads are not a target's to serve: STALE. */
	EXPECT_EQ(SHARD_S_STALE, rep_call(pfd, SHARD_OP_REP_DIGEST, x, 0, 0,
					  NULL, NULL));
	close(pfd);
	pfd = peer8_connect(self->d.port);
	ASSERT_LE(0, pfd);
	EXPECT_EQ(SHARD_S_STALE, rep_call(pfd, SHARD_OP_REP_READ, x, 0, 4096,
					  NULL, NULL));
	close(pfd);
	/* A PG it is neither member nor target of: its list is refused. */
	pfd = peer8_connect(self->d.port);
	ASSERT_LE(0, pfd);
	EXPECT_EQ(SHARD_S_STALE, list_pg(pfd, pg + 2, list, 8, &n));
	close(pfd);

	/* What the target took is there: a map making 7 the PG's
	 * primary lets a client read it. */
	fd = self->fd = client_hello(self->d.port);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, map_on_ping(m, fd, 6, 1, all_mine));
	ASSERT_TRUE(reaches_epoch(self->d.port, 6));
	ASSERT_EQ(SHARD_S_OK, call_to(fd, &newer, SHARD_OP_READ, x, 0,
				      sizeof(want), 0, NULL, self->b, &rh));
	EXPECT_EQ(0, memcmp(want, self->b, sizeof(want)));
	ASSERT_EQ(SHARD_S_OK, call_to(fd, &newer, SHARD_OP_READ, y, 0, 8192,
				      0, NULL, self->b, &rh));
	EXPECT_EQ(0, memcmp(self->a, self->b, 8192));
	ASSERT_EQ(0, close_and_stop(&self->d, -1, -1, &self->fd));
}

/*
 * Peering. At epoch 5 daemon 8 (this test) is the primary of the odd
 * PGs and 7 their member; 8 writes A, B and C of one of them to 7. Epoch
 * 6 makes 7 the primary of every PG and 8 the member: 7 lists 8's
 * objects of each odd PG, and serves the PGs at once (a client's READ is
 * answered while the list is out). 8 lists A with 7's version, B with
 * another, not C, and D, which 7 does not hold: 7 copies B and C whole,
 * removes D there (its copy wins), leaves A, and tells mapd nothing. A map that leaves the
 * primaries where they were starts no peering.
 */
TEST_F(session, peering_after_primary_change)
{
	static const char *const extra[] = { "--heartbeat-ms", "60000", NULL };
	static const uint32_t even_mine[2] = { 7, 8 };
	static const uint32_t all_mine[2] = { 7, 7 };
	const uint32_t pg = 5;		/* odd: 8's at epoch 5 */
	struct fake_mapd *m = &self->m;
	struct shard_list_entry list[3];
	struct shard_req_h h, held;
	struct shard_reply_h rh;
	struct shard_ver ver[3], v;
	unsigned int listed = 0;
	uint64_t from = 0, o[4];
	struct pushed p = { .objs = o, .n = 4 };
	int lfd, pfd, fd, i, k;

	for (k = 0; k < 4; k++)
		o[k] = object_of_pg(pg, &from);
	lfd = start_with_peer8(&self->d, m, extra, 2, even_mine, NULL);
	ASSERT_LE(0, lfd);

	/* As the PG's primary, 8 writes A, B and C to its member 7. */
	pfd = peer8_connect(self->d.port);
	ASSERT_LE(0, pfd);
	for (k = 0; k < 3; k++) {
		ver[k] = (struct shard_ver){ 5, 100 + k };
		fill(self->a, 8192, 60 + k);
		ASSERT_EQ(SHARD_S_OK, rep_call(pfd, SHARD_OP_REP_WRITE, o[k],
					       0, 8192, self->a, &ver[k]));
	}
	close(pfd);

	/* Epoch 6: 7 is the primary of every PG, 8 the member. */
	fd = self->fd = client_hello(self->d.port);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, map_on_ping(m, fd, 6, 2, all_mine));

	/* One list for each PG that was 8's; all but ours are empty. */
	pfd = peer_accept(lfd);
	ASSERT_LE(0, pfd);
	for (k = 0; k < 8; k++) {
		ASSERT_EQ(0, peer_recv_req(pfd, &h, NULL));
		ASSERT_EQ(SHARD_OP_REP_LIST, h.opcode);
		EXPECT_EQ(1, h.pool);
		EXPECT_EQ(6, h.epoch);
		EXPECT_EQ(0, h.volume);
		EXPECT_EQ(0, h.object);
		ASSERT_GT(16, h.offset);
		EXPECT_EQ(0, listed & (1U << h.offset));
		listed |= 1U << h.offset;
		if (h.offset == pg)
			held = h;
		else
			ASSERT_EQ(0, reply_list(pfd, &h, NULL, 0));
	}
	EXPECT_EQ(0xaaaa, listed);

	/* Our list still out: A is served all the same, from our copy. */
	h = (struct shard_req_h){
		.opcode = SHARD_OP_READ, .len = 8192, .obj_order = 22,
		.tag = 700, .volume = 9, .object = o[0], .pool = 1, .epoch = 6,
	};
	ASSERT_EQ(0, send_req(fd, &h, NULL));
	EXPECT_TRUE(readable(fd, 2000));
	ASSERT_EQ(SHARD_S_OK, recv_reply(fd, &rh, self->b, 8192));
	EXPECT_EQ(700, rh.tag);
	fill(self->a, 8192, 60);
	EXPECT_EQ(0, memcmp(self->a, self->b, 8192));
	EXPECT_FALSE(readable(pfd, 100));

	list[0] = entry(o[0], ver[0]);
	list[1] = entry(o[1], (struct shard_ver){ 5, 99 });
	list[2] = entry(o[3], (struct shard_ver){ 5, 200 });
	ASSERT_EQ(0, reply_list(pfd, &held, list, 3));

	/* B and C come whole, each with 7's version last; D's removal. */
	for (k = 0; k < 12; k++) {
		i = copy_piece(pfd, &p, &h, self->b, &v, 60);
		ASSERT_LE(0, i);
		EXPECT_EQ(6, h.epoch);
		if (h.offset == 3U << 20 && i < 3)
			EXPECT_TRUE(shard_ver_eq(&ver[i], &v));
	}
	EXPECT_EQ(0, p.pieces[0]);
	EXPECT_EQ(4, p.pieces[1]);
	EXPECT_EQ(4, p.pieces[2]);
	EXPECT_EQ(4, p.pieces[3]);
	EXPECT_EQ(4, p.zeroes[3]);
	EXPECT_EQ(0, p.zeroes[1] + p.zeroes[2]);
	/* Peering reports to no one. */
	EXPECT_TRUE(mapd_none(m, "pg-backfilled", 500));
	EXPECT_FALSE(readable(pfd, 100));

	/* Epoch 7, the same primaries: nothing is listed again. */
	ASSERT_EQ(0, map_on_ping(m, fd, 7, 2, all_mine));
	ASSERT_TRUE(reaches_epoch(self->d.port, 7));
	EXPECT_FALSE(readable(pfd, 300));
	ASSERT_EQ(0, close_and_stop(&self->d, lfd, pfd, &self->fd));
}

/* The two sides of a backfill that backs off for a client: the client
 * on fd READing 4096 bytes of object at t (into rbuf), daemon 8 taking
 * the pushes on pfd (their pieces into pbuf). */
struct busy {
	int fd;
	const struct target *t;
	uint64_t object;
	void *rbuf;
	int pfd;
	void *pbuf;
};

/* READs, one after the other, at least one, until the time until
 * (now_ms()) or, if to_piece, until a piece comes: how many, or -1 if
 * one failed. */
static int client_reads(const struct busy *b, long long until,
			bool to_piece)
{
	struct shard_reply_h rh;
	int n = 0;

	do {
		if (call_to(b->fd, b->t, SHARD_OP_READ, b->object, 0, 4096, 0,
			    NULL, b->rbuf, &rh) != SHARD_S_OK)
			return -1;
		n++;
	} while (now_ms() < until && !(to_piece && readable(b->pfd, 0)));
	return n;
}

/*
 * A round of backing off: READs until until, no piece coming meanwhile;
 * answers the n pieces in held; READs on until the next push begins,
 * and takes its four pieces, which must come alone (into held[0..3]).
 * The index of its object, or -1 on any failure. *took: how long the
 * push of held[n - 1]'s object took, from its first piece until the
 * answers; *gap: from the answers until the next push began.
 */
static int back_off_round(const struct busy *b, long long until,
			  struct pushed *p, struct shard_req_h *held, int n,
			  long long *took, long long *gap)
{
	long long done;
	int i, k;

	if (client_reads(b, until, false) <= 0 || readable(b->pfd, 0))
		return -1;
	for (k = 0; k < n; k++)
		if (peer_reply(b->pfd, &held[k], SHARD_S_OK, 6))
			return -1;
	done = now_ms();
	/* The daemon's count of that push began before its first piece
	 * came here, and ended after its last answer left. */
	for (i = 0; p->objs[i] != held[n - 1].object; i++)
		;
	*took = done - p->first_at[i];
	if (client_reads(b, now_ms() + 30000, true) <= 0)
		return -1;
	i = next_piece(b->pfd, p, &held[0], b->pbuf, NULL, 5000);
	if (i < 0 || p->pieces[i] != 1)
		return -1;
	*gap = p->first_at[i] - done;
	for (k = 1; k < 4; k++)
		if (next_piece(b->pfd, p, &held[k], b->pbuf, NULL, 5000) != i)
			return -1;
	return i;
}

/*
 * Backfill backing off for clients (--recovery-share 20). Daemon 7
 * backfills eight objects to daemon 8 (this test). With no client
 * request in the last half second, four go at once (--recovery-pushes):
 * the pieces of all four come before any is answered. With READs going
 * on from then on, the next object comes alone, and only after a pause
 * of four times the push before it ((100 - 20) / 20), and so does the
 * one after it. Half a second without a client request ends the
 * backing off: the last two go at once.
 */
TEST_F(session, recovery_backs_off_for_clients)
{
	static const char *const extra[] = {
		"--heartbeat-ms", "60000", "--recovery-share", "20",
		"--size", "64M", NULL };
	static const uint32_t all_mine[2] = { 7, 7 };
	const struct target cur = { .pool = 1, .volume = 9, .epoch = 5 };
	const struct target newer = { .pool = 1, .volume = 9, .epoch = 6 };
	const uint32_t pg = 4;
	struct fake_mapd *m = &self->m;
	struct shard_req_h h, held[16];
	struct shard_reply_h rh;
	struct pushed p = { .n = 8 };
	struct busy b = { .t = &newer, .rbuf = self->a, .pbuf = self->b };
	long long took, gap;
	uint64_t from = 0, o[8];
	unsigned int seen;
	int lfd, pfd, fd, i, k;
	json_t *msg;

	for (k = 0; k < 8; k++)
		o[k] = object_of_pg(pg, &from);
	p.objs = o;
	b.object = o[0];
	lfd = start_with_peer8(&self->d, m, extra, 1, all_mine, &self->fd);
	ASSERT_LE(0, lfd);
	fd = self->fd;
	b.fd = fd;
	for (k = 0; k < 8; k++) {
		fill(self->a, 8192, 70 + k);
		ASSERT_EQ(SHARD_S_OK, call_to(fd, &cur, SHARD_OP_WRITE, o[k], 0,
					      8192, 0, self->a, NULL, &rh));
	}
	/* Those WRITEs are client requests too: let them age. */
	usleep(700 * 1000);
	pfd = backfill_begins(m, fd, lfd, pg, &h);
	ASSERT_LE(0, pfd);
	b.pfd = pfd;
	ASSERT_EQ(0, reply_list(pfd, &h, NULL, 0));

	/* No client lately: four objects at once, a fifth waits for room. */
	for (k = 0; k < 16; k++)
		ASSERT_LE(0, next_piece(pfd, &p, &held[k], self->b, NULL,
					5000));
	for (seen = 0, i = 0; i < 8; i++)
		seen += p.pieces[i] == 4;
	EXPECT_EQ(4, seen);

	/* READs while they are out and on: the fifth after a pause. */
	i = back_off_round(&b, now_ms() + 100, &p, held, 16, &took, &gap);
	ASSERT_LE(0, i);
	TH_LOG("pause %lld ms after pushes that took %lld ms", gap, took);
	EXPECT_GE(gap, 2 * took);

	/* It came alone; READs during it and on: the sixth after a pause
	 * too. */
	i = back_off_round(&b, p.first_at[i] + 200, &p, held, 4, &took, &gap);
	ASSERT_LE(0, i);
	TH_LOG("pause %lld ms after a push that took %lld ms", gap, took);
	EXPECT_GE(gap, 2 * took);

	/* No READ from then on: the sixth ends more than half a second
	 * after the last, and the last two come at once. */
	EXPECT_FALSE(readable(pfd, 700));
	for (k = 0; k < 4; k++)
		ASSERT_EQ(0, peer_reply(pfd, &held[k], SHARD_S_OK, 6));
	for (k = 0; k < 8; k++)
		ASSERT_LE(0, next_piece(pfd, &p, &held[k], self->b, NULL,
					5000));
	for (k = 0; k < 8; k++)
		ASSERT_EQ(0, peer_reply(pfd, &held[k], SHARD_S_OK, 6));
	for (i = 0; i < 8; i++)
		EXPECT_EQ(4, p.pieces[i]);

	ASSERT_LE(0, mapd_expect(m, "pg-backfilled", 5000, &msg));
	EXPECT_EQ(8, json_integer_value(json_object_get(msg, "daemon")));
	json_decref(msg);
	ASSERT_EQ(0, close_and_stop(&self->d, lfd, pfd, &self->fd));
}

TEST_HARNESS_MAIN
