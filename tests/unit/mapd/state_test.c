// SPDX-License-Identifier: GPL-2.0-only
/* shard-mapd state: file round trip, atomic replace, refusal of bad files. */
#include <fcntl.h>
#include <sys/stat.h>

#include "kselftest_harness.h"
#include "mapd_test.h"

static char *path_in(const char *dir, const char *name)
{
	char *p;

	if (asprintf(&p, "%s/%s", dir, name) < 0)
		return NULL;
	return p;
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	if (f) {
		fputs(text, f);
		fclose(f);
	}
}

static char *read_file(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf;
	size_t n;

	if (!f)
		return NULL;
	buf = calloc(1, 1 << 16);
	n = buf ? fread(buf, 1, (1 << 16) - 1, f) : 0;
	(void)n;
	fclose(f);
	return buf;
}

FIXTURE(state) {
	char *dir;
	char *path;
};

FIXTURE_SETUP(state)
{
	log_init(false, true);
	self->dir = test_tmpdir();
	ASSERT_NE(NULL, self->dir);
	self->path = path_in(self->dir, "state.json");
}

FIXTURE_TEARDOWN(state)
{
	test_rmdir(self->dir);
	free(self->dir);
	free(self->path);
}

TEST_F(state, round_trip)
{
	struct mapd_state a, b;
	struct mapd_daemon d = { .id = 7, .port = 7410, .capacity = 1 << 30,
				 .up = true };
	char err[256];
	json_t *ja, *jb;

	ASSERT_EQ(0, state_init(&a));
	strcpy(d.host, "node1");
	strcpy(d.addr, "fd00::1");
	strcpy(d.class, "hdd");
	strcpy(d.uuid, "00112233445566778899aabbccddeeff");
	ASSERT_EQ(0, state_add_daemon(&a, &d, NULL));
	ASSERT_EQ(0, state_add_volume(&a, &a.pools[0], "vm-1.disk_0",
				      10ULL << 30, NULL));
	ASSERT_EQ(0, state_add_volume(&a, &a.pools[0], "two", 512, NULL));
	a.epoch = 42;
	ASSERT_EQ(0, state_save(&a, self->path));
	ASSERT_EQ(0, state_load(&b, self->path, err, sizeof(err)))
		TH_LOG("%s", err);
	EXPECT_EQ(42, b.epoch);
	EXPECT_EQ(8, b.next_daemon_id);
	EXPECT_EQ(3, b.next_volume_id);
	ASSERT_EQ(1, b.ndaemons);
	EXPECT_STREQ("fd00::1", b.daemons[0].addr);
	EXPECT_STREQ("00112233445566778899aabbccddeeff", b.daemons[0].uuid);
	ASSERT_EQ(1, b.npools);
	ASSERT_EQ(2, b.pools[0].nvols);
	EXPECT_EQ(10ULL << 30, b.pools[0].vols[0].size);
	EXPECT_EQ(22, b.pools[0].vols[0].obj_order);
	ja = state_to_json(&a);
	jb = state_to_json(&b);
	EXPECT_TRUE(json_equal(ja, jb));
	json_decref(ja);
	json_decref(jb);
	state_free(&a);
	state_free(&b);
}

TEST_F(state, missing_file_creates_default_pool)
{
	struct mapd m = { 0 };
	struct stat sb;

	ASSERT_EQ(0, mapd_init(&m, self->path));
	ASSERT_EQ(1, m.st.npools);
	EXPECT_STREQ("default", m.st.pools[0].name);
	EXPECT_EQ(1, m.st.pools[0].id);
	EXPECT_EQ(128, m.st.pools[0].pg_count);
	EXPECT_EQ(1, m.st.pools[0].size);
	ASSERT_EQ(0, stat(self->path, &sb));
	EXPECT_EQ(0600, sb.st_mode & 0777);
	mapd_fini(&m);
}

TEST_F(state, failed_save_leaves_old_file)
{
	struct mapd_state st;
	char *tmp = path_in(self->dir, "state.json.tmp");
	char *before, *after;

	ASSERT_EQ(0, state_init(&st));
	ASSERT_EQ(0, state_save(&st, self->path));
	before = read_file(self->path);
	ASSERT_NE(NULL, before);
	/* A directory where the tmp file goes makes the write fail. */
	ASSERT_EQ(0, mkdir(tmp, 0700));
	st.epoch = 99;
	EXPECT_EQ(-EISDIR, state_save(&st, self->path));
	after = read_file(self->path);
	ASSERT_NE(NULL, after);
	EXPECT_STREQ(before, after);
	free(before);
	free(after);
	free(tmp);
	state_free(&st);
}

TEST_F(state, failed_commit_rolls_back)
{
	struct mapd m = { 0 };
	char *tmp = path_in(self->dir, "state.json.tmp");
	json_t *r;

	ASSERT_EQ(0, mapd_init(&m, self->path));
	ASSERT_EQ(0, mkdir(tmp, 0700));
	r = test_request(&m, "{\"cmd\":\"create\",\"pool\":\"default\",\"name\":\"v\",\"size\":4096}");
	EXPECT_FALSE(reply_ok(r));
	EXPECT_NE(NULL, strstr(reply_error(r), "cannot save state file"));
	json_decref(r);
	EXPECT_EQ(0, m.st.pools[0].nvols);
	EXPECT_EQ(1, m.st.next_volume_id);
	rmdir(tmp);
	r = test_request(&m, "{\"cmd\":\"create\",\"pool\":\"default\",\"name\":\"v\",\"size\":4096}");
	EXPECT_TRUE(reply_ok(r));
	json_decref(r);
	free(tmp);
	mapd_fini(&m);
}

static void expect_refused(struct __test_metadata *_metadata,
			   const char *path, const char *text,
			   const char *why)
{
	struct mapd m = { 0 };
	char *after;

	write_file(path, text);
	EXPECT_NE(0, mapd_init(&m, path)) TH_LOG("accepted: %s", why);
	mapd_fini(&m);
	after = read_file(path);
	ASSERT_NE(NULL, after);
	EXPECT_STREQ(text, after) TH_LOG("file changed: %s", why);
	free(after);
}

TEST_F(state, corrupt_file_refused)
{
	struct mapd_state st;
	char err[256];

	expect_refused(_metadata, self->path, "", "empty");
	expect_refused(_metadata, self->path, "{\"epoch\": 3,", "truncated");
	expect_refused(_metadata, self->path, "[]", "not an object");
	expect_refused(_metadata, self->path,
		"{\"version\":1,\"epoch\":1,\"next_daemon_id\":1,\"next_pool_id\":2,"
		"\"next_volume_id\":1,\"daemons\":[],\"pools\":[{\"id\":1,"
		"\"name\":\"bad/name\",\"size\":1,\"pg_count\":128,\"volumes\":[]}]}",
		"bad pool name");
	expect_refused(_metadata, self->path,
		"{\"version\":1,\"epoch\":1,\"next_daemon_id\":1,\"next_pool_id\":2,"
		"\"next_volume_id\":5,\"daemons\":[],\"pools\":[{\"id\":1,"
		"\"name\":\"p\",\"size\":1,\"pg_count\":128,\"volumes\":["
		"{\"id\":1,\"name\":\"a\",\"size\":100,\"obj_order\":22}]}]}",
		"size not a multiple of 512");
	expect_refused(_metadata, self->path,
		"{\"version\":1,\"epoch\":1,\"next_daemon_id\":1,\"next_pool_id\":2,"
		"\"next_volume_id\":5,\"daemons\":[],\"pools\":[{\"id\":1,"
		"\"name\":\"p\",\"size\":1,\"pg_count\":128,\"volumes\":["
		"{\"id\":1,\"name\":\"a\",\"size\":512,\"obj_order\":22},"
		"{\"id\":1,\"name\":\"b\",\"size\":512,\"obj_order\":22}]}]}",
		"duplicate volume id");
	expect_refused(_metadata, self->path,
		"{\"version\":2,\"epoch\":1,\"next_daemon_id\":3,\"next_pool_id\":2,"
		"\"next_volume_id\":1,\"pools\":[],\"daemons\":["
		"{\"id\":1,\"host\":\"h\",\"addr\":\"10.0.0.1\",\"port\":1,"
		"\"capacity\":0,\"class\":\"ssd\",\"up\":true,"
		"\"uuid\":\"00112233445566778899aabbccddeeff\"},"
		"{\"id\":2,\"host\":\"h\",\"addr\":\"10.0.0.2\",\"port\":1,"
		"\"capacity\":0,\"class\":\"ssd\",\"up\":true,"
		"\"uuid\":\"00112233445566778899aabbccddeeff\"}]}",
		"duplicate uuid");
	expect_refused(_metadata, self->path,
		"{\"version\":2,\"epoch\":1,\"next_daemon_id\":3,\"next_pool_id\":2,"
		"\"next_volume_id\":1,\"pools\":[],\"daemons\":["
		"{\"id\":1,\"host\":\"h\",\"addr\":\"10.0.0.1\",\"port\":1,"
		"\"capacity\":0,\"class\":\"ssd\",\"up\":true,"
		"\"uuid\":\"xyz\"}]}",
		"value out of range");
	expect_refused(_metadata, self->path,
		"{\"version\":3,\"epoch\":1,\"next_daemon_id\":1,\"next_pool_id\":2,"
		"\"next_volume_id\":1,\"daemons\":[],\"pools\":[]}",
		"future version");
	write_file(self->path, "{\"epoch\": \"x\"}");
	EXPECT_EQ(-EINVAL, state_load(&st, self->path, err, sizeof(err)));
	EXPECT_NE(NULL, strstr(err, self->path));
}

TEST_F(state, unreadable_file_refused)
{
	struct mapd m = { 0 };

	/* A directory in place of the file: it exists but cannot be read. */
	ASSERT_EQ(0, mkdir(self->path, 0700));
	EXPECT_NE(0, mapd_init(&m, self->path));
	mapd_fini(&m);
}

TEST(names_and_sizes)
{
	char longname[80];

	EXPECT_TRUE(valid_name("vm-100-disk-0"));
	EXPECT_TRUE(valid_name("A.b_c-9"));
	EXPECT_FALSE(valid_name(""));
	EXPECT_FALSE(valid_name("."));
	EXPECT_FALSE(valid_name(".."));
	EXPECT_FALSE(valid_name("a/b"));
	EXPECT_FALSE(valid_name("a b"));
	EXPECT_FALSE(valid_name("é"));
	memset(longname, 'x', 64);
	longname[64] = '\0';
	EXPECT_TRUE(valid_name(longname));
	longname[64] = 'x';
	longname[65] = '\0';
	EXPECT_FALSE(valid_name(longname));
	EXPECT_TRUE(valid_volume_size(512));
	EXPECT_TRUE(valid_volume_size(1ULL << 40));
	EXPECT_FALSE(valid_volume_size(0));
	EXPECT_FALSE(valid_volume_size(511));
	EXPECT_FALSE(valid_volume_size(1000));
	EXPECT_FALSE(valid_volume_size(UINT64_MAX - 511));
	EXPECT_TRUE(valid_class("ssd"));
	EXPECT_FALSE(valid_class("nvme"));
}

TEST_HARNESS_MAIN
