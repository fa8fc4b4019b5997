// SPDX-License-Identifier: GPL-2.0-only
/*
 * End to end: shardd's session with shard-mapd (a fake one, see
 * daemon_harness.h): registration and heartbeats, requests at stale
 * epochs, a new id for an empty store, a recovery share set for the
 * cluster, and a mapd that misbehaves.
 */
#define _GNU_SOURCE
#include <endian.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

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
	json_t *msg, *rec;
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
		/* Nothing to backfill, nothing copied yet. */
		rec = json_object_get(msg, "recovery");
		EXPECT_EQ(0, json_integer_value(json_object_get(rec,
								"objects")));
		EXPECT_EQ(0, json_integer_value(json_object_get(rec, "bytes")));
		EXPECT_TRUE(json_is_integer(json_object_get(rec, "copied")));
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
	ASSERT_EQ(0, session_at_epoch(m, self->d.port, 5, 1, even_mine));

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

static void unknown_daemon(uint32_t *table)
{
	table[5] = htole32(99);
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

/* Answers a heartbeat with epoch 0 and what follows it in the reply
 * (a JSON text, "" for nothing), then takes the next heartbeat on the
 * same session: by then the daemon has acted on the reply. */
static int beat_with(struct fake_mapd *m, const char *more)
{
	if (mapd_sendf(m, "{\"ok\":true,\"epoch\":0%s}\n", more))
		return -1;
	return mapd_expect(m, "daemon-heartbeat", 2000, NULL) == 7 ? 0 : -1;
}

/*
 * A recovery share set for the cluster (mapd's heartbeat reply carries
 * "recovery_share") overrides --recovery-share while it is set, and is
 * logged at each change; values that are not 1..100 are ignored with one
 * warning each, and never break the session.
 */
TEST_F(session, heartbeat_sets_recovery_share)
{
	static const char *const extra[] = {
		"--heartbeat-ms", "100", "--recovery-share", "30", NULL };
	static const char now100[] = "recovery share now 100% (set for the "
		"cluster; --recovery-share 30)";
	static const char now50[] = "recovery share now 50% (set for the "
		"cluster; --recovery-share 30)";
	static const char back[] = "recovery share back to 30% "
		"(--recovery-share)";
	static const char bad[] = "heartbeat reply's recovery_share";
	struct fake_mapd *m = &self->m;
	int logfd = -1;

	ASSERT_EQ(0, daemon_start_logged(&self->d, extra, &logfd));
	ASSERT_EQ(0, mapd_register(m, 5000));
	ASSERT_EQ(7, mapd_expect(m, "daemon-heartbeat", 2000, NULL));

	/* Set, and set again: logged once. */
	ASSERT_EQ(0, beat_with(m, ",\"recovery_share\":100"));
	EXPECT_EQ(1, log_count(logfd, now100));
	ASSERT_EQ(0, beat_with(m, ",\"recovery_share\":100"));
	EXPECT_EQ(1, log_count(logfd, now100));

	/* No longer set: --recovery-share again; then null, the same. */
	ASSERT_EQ(0, beat_with(m, ""));
	EXPECT_EQ(1, log_count(logfd, back));
	ASSERT_EQ(0, beat_with(m, ",\"recovery_share\":null"));
	EXPECT_EQ(1, log_count(logfd, back));

	/* Bad values: one warning each, however often they come; the
	 * share stays what it was (50, not 30). */
	ASSERT_EQ(0, beat_with(m, ",\"recovery_share\":50"));
	EXPECT_EQ(1, log_count(logfd, now50));
	ASSERT_EQ(0, beat_with(m, ",\"recovery_share\":\"x\""));
	ASSERT_EQ(0, beat_with(m, ",\"recovery_share\":\"x\""));
	ASSERT_EQ(0, beat_with(m, ",\"recovery_share\":\"x\""));
	EXPECT_EQ(1, log_count(logfd, "recovery_share \"x\" is not a "
			       "percentage 1..100: ignored; recovery share "
			       "stays 50%"));
	ASSERT_EQ(0, beat_with(m, ",\"recovery_share\":0"));
	ASSERT_EQ(0, beat_with(m, ",\"recovery_share\":0"));
	EXPECT_EQ(1, log_count(logfd, "recovery_share 0 is not"));
	ASSERT_EQ(0, beat_with(m, ",\"recovery_share\":101"));
	ASSERT_EQ(0, beat_with(m, ",\"recovery_share\":101"));
	EXPECT_EQ(1, log_count(logfd, "recovery_share 101 is not"));
	ASSERT_EQ(0, beat_with(m, ",\"recovery_share\":-5"));
	ASSERT_EQ(0, beat_with(m, ",\"recovery_share\":50.5"));
	ASSERT_EQ(0, beat_with(m, ",\"recovery_share\":[100]"));
	ASSERT_EQ(0, beat_with(m, ",\"recovery_share\":{\"pct\":100}"));
	ASSERT_EQ(0, beat_with(m, ",\"recovery_share\":true"));
	ASSERT_EQ(0, beat_with(m, ",\"recovery_share\":\"a long text that "
			       "does not fit in the log line whole\""));
	EXPECT_EQ(9, log_count(logfd, bad));
	EXPECT_EQ(1, log_count(logfd, "recovery_share \"a long text"));
	EXPECT_EQ(0, log_count(logfd, "in the log line whole"));
	EXPECT_EQ(1, log_count(logfd, back));
	EXPECT_EQ(1, log_count(logfd, now50));

	/* A bad value again after a good one is news again. */
	ASSERT_EQ(0, beat_with(m, ",\"recovery_share\":100"));
	EXPECT_EQ(2, log_count(logfd, now100));
	ASSERT_EQ(0, beat_with(m, ",\"recovery_share\":\"x\""));
	EXPECT_EQ(2, log_count(logfd, "recovery_share \"x\" is not"));
	EXPECT_EQ(1, log_count(logfd, "recovery_share \"x\" is not a "
			       "percentage 1..100: ignored; recovery share "
			       "stays 100%"));
	ASSERT_EQ(0, beat_with(m, ""));
	EXPECT_EQ(2, log_count(logfd, back));

	/* Through all of it, one session: nothing closed it. */
	EXPECT_EQ(0, log_count(logfd, "reconnecting"));
	log_show(logfd);
	close(logfd);
	ASSERT_EQ(0, daemon_stop(&self->d, SIGTERM));
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

TEST_HARNESS_MAIN
