// SPDX-License-Identifier: GPL-2.0-only
/*
 * The cluster's recovery share: "recovery-share" sets or clears it (no
 * new epoch), bad values change nothing, the state file keeps it (and
 * refuses bad ones), and the daemons get it in their heartbeats' replies
 * only while it is set; "status" shows it. A cluster carries it in the
 * config document, which is the state file's format.
 */
#include <errno.h>
#include <sys/stat.h>

#include "kselftest_harness.h"
#include "mapd_test.h"

MAPD_FIXTURE(rs)

/* The state file's inode: a save replaces the file, a new inode. */
static ino_t file_ino(const char *path)
{
	struct stat sb;

	return stat(path, &sb) ? 0 : sb.st_ino;
}

/* The reply's "recovery_share": -1 absent, 0 null, else its value. */
static long long share_of(json_t *r)
{
	json_t *v = json_object_get(r, "recovery_share");

	if (!v)
		return -1;
	return json_is_null(v) ? 0 : json_integer_value(v);
}

static long long heartbeat_share(struct mapd *m, uint32_t id)
{
	char line[128];
	long long share;
	json_t *r;

	snprintf(line, sizeof(line),
		 "{\"cmd\":\"daemon-heartbeat\",\"id\":%u,\"epoch\":0}", id);
	r = test_request(m, line);
	share = reply_ok(r) ? share_of(r) : -2;
	json_decref(r);
	return share;
}

static long long status_share(struct mapd *m)
{
	json_t *r = test_request(m, REQ({"cmd":"status"}));
	long long share = reply_ok(r) ? share_of(r) : -2;

	json_decref(r);
	return share;
}

TEST_F(rs, set_clear_same)
{
	struct mapd *m = &self->m;
	uint64_t epoch = m->st.epoch;
	ino_t ino;
	json_t *r;

	EXPECT_EQ(0, m->st.recovery_share);
	EXPECT_EQ(-1, status_share(m));

	r = test_request(m, REQ({"cmd":"recovery-share","share":40}));
	ASSERT_TRUE(reply_ok(r)) TH_LOG("%s", reply_error(r));
	EXPECT_EQ(40, share_of(r));
	json_decref(r);
	EXPECT_EQ(40, m->st.recovery_share);
	EXPECT_EQ(epoch, m->st.epoch);	/* not part of the map */
	EXPECT_EQ(40, status_share(m));

	/* The same again: ok, nothing written. */
	ino = file_ino(self->path);
	ASSERT_NE(0, ino);
	r = test_request(m, REQ({"cmd":"recovery-share","share":40}));
	EXPECT_TRUE(reply_ok(r));
	EXPECT_EQ(40, share_of(r));
	json_decref(r);
	EXPECT_EQ(ino, file_ino(self->path));

	/* The bounds; a change is saved. */
	EXPECT_OK(m, REQ({"cmd":"recovery-share","share":100}));
	EXPECT_EQ(100, m->st.recovery_share);
	EXPECT_NE(ino, file_ino(self->path));
	EXPECT_OK(m, REQ({"cmd":"recovery-share","share":1}));
	EXPECT_EQ(1, m->st.recovery_share);

	/* Kept across a restart. */
	mapd_fini(m);
	ASSERT_EQ(0, mapd_init(m, self->path));
	EXPECT_EQ(1, m->st.recovery_share);

	/* Cleared by null, and by 0. */
	r = test_request(m, REQ({"cmd":"recovery-share","share":null}));
	ASSERT_TRUE(reply_ok(r)) TH_LOG("%s", reply_error(r));
	EXPECT_EQ(0, share_of(r));	/* present, null */
	json_decref(r);
	EXPECT_EQ(0, m->st.recovery_share);
	EXPECT_EQ(-1, status_share(m));
	ino = file_ino(self->path);
	r = test_request(m, REQ({"cmd":"recovery-share","share":0}));
	EXPECT_TRUE(reply_ok(r));
	EXPECT_EQ(0, share_of(r));
	json_decref(r);
	EXPECT_EQ(ino, file_ino(self->path));	/* cleared already */
	EXPECT_OK(m, REQ({"cmd":"recovery-share","share":25}));
	EXPECT_OK(m, REQ({"cmd":"recovery-share","share":0}));
	EXPECT_EQ(0, m->st.recovery_share);
	EXPECT_EQ(epoch, m->st.epoch);

	mapd_fini(m);
	ASSERT_EQ(0, mapd_init(m, self->path));
	EXPECT_EQ(0, m->st.recovery_share);
}

TEST_F(rs, bad_values_change_nothing)
{
	static const char *const bad[] = {
		REQ({"cmd":"recovery-share","share":101}),
		REQ({"cmd":"recovery-share","share":-1}),
		REQ({"cmd":"recovery-share","share":1.5}),
		REQ({"cmd":"recovery-share","share":25.0}),
		REQ({"cmd":"recovery-share","share":"25"}),
		REQ({"cmd":"recovery-share","share":true}),
		REQ({"cmd":"recovery-share","share":[25]}),
		REQ({"cmd":"recovery-share","share":99999999999999}),
	};
	struct mapd *m = &self->m;
	ino_t ino;
	size_t i;

	EXPECT_OK(m, REQ({"cmd":"recovery-share","share":40}));
	ino = file_ino(self->path);
	EXPECT_ERROR(m, REQ({"cmd":"recovery-share"}),
		     "missing field \"share\" (an integer 1..100, or null to clear it)");
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		EXPECT_ERROR(m, bad[i],
			     "field \"share\" must be an integer 1..100, or null to clear it");
	EXPECT_EQ(40, m->st.recovery_share);
	EXPECT_EQ(ino, file_ino(self->path));
	EXPECT_EQ(40, status_share(m));
}

TEST_F(rs, heartbeat_carries_it_when_set)
{
	struct mapd *m = &self->m;
	uint32_t id = test_register(m, "node1", NULL, 100, "ssd");

	ASSERT_NE(0, id);
	EXPECT_EQ(-1, heartbeat_share(m, id));
	EXPECT_OK(m, REQ({"cmd":"recovery-share","share":30}));
	EXPECT_EQ(30, heartbeat_share(m, id));
	EXPECT_OK(m, REQ({"cmd":"recovery-share","share":null}));
	EXPECT_EQ(-1, heartbeat_share(m, id));
}

TEST(state_file_round_trip)
{
	struct mapd_state st, back;
	char err[256] = "";
	json_t *j;

	ASSERT_EQ(0, state_init(&st));
	/* Not set: not written, files as before. */
	j = state_to_json(&st);
	ASSERT_NE(NULL, j);
	EXPECT_EQ(NULL, json_object_get(j, "recovery_share"));
	json_decref(j);

	st.recovery_share = 35;
	j = state_to_json(&st);
	ASSERT_NE(NULL, j);
	EXPECT_EQ(35, json_integer_value(json_object_get(j, "recovery_share")));
	json_decref(j);
	ASSERT_EQ(0, state_via_json(&st, &back, err, sizeof(err))) TH_LOG("%s", err);
	EXPECT_EQ(35, back.recovery_share);
	state_free(&back);

	st.recovery_share = 0;
	ASSERT_EQ(0, state_via_json(&st, &back, err, sizeof(err))) TH_LOG("%s", err);
	EXPECT_EQ(0, back.recovery_share);
	state_free(&back);
	state_free(&st);
}

/* A state of the members in text: 0 with *share, or -errno. */
static int load_members(const char *members, uint8_t *share, char *err,
			size_t len)
{
	struct mapd_state st;
	int ret = state_load_members(members, &st, err, len);

	if (!ret) {
		*share = st.recovery_share;
		state_free(&st);
	}
	return ret;
}

TEST(bad_state_file_values_refused)
{
	uint8_t share = 0;
	char err[256];

	EXPECT_EQ(0, load_members("", &share, err, sizeof(err))) TH_LOG("%s", err);
	EXPECT_EQ(0, share);
	EXPECT_EQ(0, load_members(",\"recovery_share\":1", &share, err,
				  sizeof(err))) TH_LOG("%s", err);
	EXPECT_EQ(1, share);
	EXPECT_EQ(0, load_members(",\"recovery_share\":100", &share, err,
				  sizeof(err))) TH_LOG("%s", err);
	EXPECT_EQ(100, share);

	EXPECT_EQ(-EINVAL, load_members(",\"recovery_share\":0", &share, err,
					sizeof(err)));
	EXPECT_STREQ("recovery_share: 0 is out of range (1..100)", err);
	EXPECT_EQ(-EINVAL, load_members(",\"recovery_share\":101", &share, err,
					sizeof(err)));
	EXPECT_STREQ("recovery_share: 101 is out of range (1..100)", err);
	EXPECT_EQ(-EINVAL, load_members(",\"recovery_share\":-5", &share, err,
					sizeof(err)));
	EXPECT_STREQ("recovery_share: -5 is out of range (1..100)", err);
	EXPECT_EQ(-EINVAL, load_members(",\"recovery_share\":\"25\"", &share,
					err, sizeof(err)));
	EXPECT_STREQ("recovery_share: not an integer", err);
	EXPECT_EQ(-EINVAL, load_members(",\"recovery_share\":25.5", &share,
					err, sizeof(err)));
	EXPECT_STREQ("recovery_share: not an integer", err);
	EXPECT_EQ(-EINVAL, load_members(",\"recovery_share\":null", &share,
					err, sizeof(err)));
	EXPECT_STREQ("recovery_share: not an integer", err);
}

/* A state file with a bad value stops mapd with the reason. */
TEST(bad_state_file_stops_mapd)
{
	char *dir = test_tmpdir();
	char path[256];
	struct mapd m;
	FILE *f;

	ASSERT_NE(NULL, dir);
	log_init(false, true);
	snprintf(path, sizeof(path), "%s/state.json", dir);
	f = fopen(path, "w");
	ASSERT_NE(NULL, f);
	fprintf(f, "{\"version\":2,\"epoch\":1,\"next_daemon_id\":1,"
		"\"next_pool_id\":2,\"next_volume_id\":1,\"daemons\":[],"
		"\"pools\":[],\"recovery_share\":250}\n");
	fclose(f);
	memset(&m, 0, sizeof(m));
	EXPECT_EQ(-EINVAL, mapd_init(&m, path));
	free(m.state_path);
	test_rmdir(dir);
	free(dir);
}

TEST_HARNESS_MAIN
