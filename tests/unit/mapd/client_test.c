// SPDX-License-Identifier: GPL-2.0-only
/*
 * Client blocklist (fencing) in shard-mapd: the client-* requests, the
 * normalized addresses, epochs, the state file, the map the daemons
 * fetch, and the cluster documents that carry it to etcd.
 */
#include <sys/stat.h>

#include "kselftest_harness.h"
#include "mapd_test.h"
#include "cluster_doc.h"

MAPD_FIXTURE(bl)

/* The reply's "blocklist" (or the map's) as "a,b,c". */
static void joined(json_t *list, char *buf, size_t len)
{
	size_t i, at = 0;
	json_t *e;

	buf[0] = '\0';
	json_array_foreach(list, i, e)
		at += snprintf(buf + at, at < len ? len - at : 0, "%s%s",
			       i ? "," : "",
			       json_is_string(e) ? json_string_value(e) : "?");
}

/* client-ls as "a,b,c"; "!" when it is not an array. */
static void listed(struct mapd *m, char *buf, size_t len)
{
	json_t *r = test_request(m, REQ({"cmd":"client-ls"}));
	json_t *bl = json_object_get(r, "blocklist");

	if (!reply_ok(r) || !json_is_array(bl))
		snprintf(buf, len, "!");
	else
		joined(bl, buf, len);
	json_decref(r);
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	if (f) {
		fputs(text, f);
		fclose(f);
	}
}

TEST(normalize)
{
	static const struct {
		const char *in, *out;
	} good[] = {
		{ "10.0.0.5", "10.0.0.5" },
		{ "::ffff:10.0.0.1", "10.0.0.1" },
		{ "::FFFF:192.0.2.7", "192.0.2.7" },
		{ "::ffff:a00:1", "10.0.0.1" },
		{ "2001:DB8::1", "2001:db8::1" },
		{ "2001:0db8:0000:0000:0000:0000:0000:0001", "2001:db8::1" },
		{ "::1", "::1" },
		{ "::", "::" },
		{ "fe80::1", "fe80::1" },
		{ "0.0.0.0", "0.0.0.0" },
		/* IPv4-compatible (not mapped) stays IPv6, as inet_ntop
		 * writes it. */
		{ "::10.0.0.1", "::10.0.0.1" },
		{ "0:0:0:0:0:0:a00:1", "::10.0.0.1" },
	};
	static const char *const bad[] = {
		"", "foo", "localhost", "10.0.0", "10.0.0.256", "10.0.0.1 ",
		" 10.0.0.1", "10.0.0.1/32", "fe80::1%eth0", "[::1]",
		"10.0.0.1:7410", "1::2::3", "0x0a.0.0.1",
		"ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255x",
	};
	char out[MAPD_ADDR_MAX];
	size_t i;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		ASSERT_EQ(0, addr_normalize(good[i].in, out))
			TH_LOG("%s", good[i].in);
		EXPECT_STREQ(good[i].out, out) TH_LOG("%s", good[i].in);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		const char *b = bad[i];

		EXPECT_EQ(-EINVAL, addr_normalize(b, out))
			TH_LOG("accepted \"%s\"", b ?: "");
	}
	/* The longest IPv6 text fits. */
	ASSERT_EQ(0, addr_normalize("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
				    out));
	EXPECT_STREQ("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", out);
}

TEST_F(bl, add_ls_remove)
{
	struct mapd *m = &self->m;
	uint64_t epoch = m->st.epoch;
	char buf[512];
	json_t *r;

	listed(m, buf, sizeof(buf));
	EXPECT_STREQ("", buf);

	r = test_request(m, REQ({"cmd":"client-blocklist","addr":"10.0.0.5"}));
	ASSERT_TRUE(reply_ok(r)) TH_LOG("%s", reply_error(r));
	EXPECT_STREQ("10.0.0.5", json_string_value(json_object_get(r, "addr")));
	EXPECT_EQ(epoch + 1, json_integer_value(json_object_get(r, "epoch")));
	EXPECT_EQ(3, json_object_size(r));	/* ok, addr, epoch */
	json_decref(r);
	EXPECT_EQ(epoch + 1, m->st.epoch);
	/* The kernel has the new epoch too. */
	EXPECT_EQ(epoch + 1, self->fk.epoch);

	/* Normalized on the way in. */
	r = test_request(m, REQ({"cmd":"client-blocklist","addr":"2001:DB8::1"}));
	ASSERT_TRUE(reply_ok(r)) TH_LOG("%s", reply_error(r));
	EXPECT_STREQ("2001:db8::1", json_string_value(json_object_get(r, "addr")));
	EXPECT_EQ(epoch + 2, json_integer_value(json_object_get(r, "epoch")));
	json_decref(r);
	r = test_request(m, REQ({"cmd":"client-blocklist","addr":"::ffff:10.0.0.1"}));
	ASSERT_TRUE(reply_ok(r)) TH_LOG("%s", reply_error(r));
	EXPECT_STREQ("10.0.0.1", json_string_value(json_object_get(r, "addr")));
	json_decref(r);
	EXPECT_EQ(epoch + 3, m->st.epoch);
	listed(m, buf, sizeof(buf));
	EXPECT_STREQ("10.0.0.1,10.0.0.5,2001:db8::1", buf);

	/* Listed already, in any spelling: ok, and no new epoch. */
	r = test_request(m, REQ({"cmd":"client-blocklist","addr":"::FFFF:10.0.0.5"}));
	ASSERT_TRUE(reply_ok(r)) TH_LOG("%s", reply_error(r));
	EXPECT_STREQ("10.0.0.5", json_string_value(json_object_get(r, "addr")));
	EXPECT_EQ(epoch + 3, json_integer_value(json_object_get(r, "epoch")));
	json_decref(r);
	EXPECT_OK(m, REQ({"cmd":"client-blocklist","addr":"2001:db8:0::1"}));
	EXPECT_EQ(epoch + 3, m->st.epoch);
	EXPECT_EQ(3, m->st.nblocklist);

	r = test_request(m, REQ({"cmd":"client-unblocklist","addr":"::ffff:10.0.0.5"}));
	ASSERT_TRUE(reply_ok(r)) TH_LOG("%s", reply_error(r));
	EXPECT_STREQ("10.0.0.5", json_string_value(json_object_get(r, "addr")));
	EXPECT_EQ(epoch + 4, json_integer_value(json_object_get(r, "epoch")));
	json_decref(r);
	EXPECT_EQ(epoch + 4, self->fk.epoch);
	listed(m, buf, sizeof(buf));
	EXPECT_STREQ("10.0.0.1,2001:db8::1", buf);

	EXPECT_ERROR(m, REQ({"cmd":"client-unblocklist","addr":"10.0.0.5"}),
		     "10.0.0.5 is not blocklisted");
	EXPECT_ERROR(m, REQ({"cmd":"client-unblocklist","addr":"::ffff:10.0.0.5"}),
		     "10.0.0.5 is not blocklisted");
	EXPECT_EQ(epoch + 4, m->st.epoch);

	EXPECT_OK(m, REQ({"cmd":"client-unblocklist","addr":"10.0.0.1"}));
	EXPECT_OK(m, REQ({"cmd":"client-unblocklist","addr":"2001:db8::1"}));
	listed(m, buf, sizeof(buf));
	EXPECT_STREQ("", buf);
	EXPECT_EQ(epoch + 6, m->st.epoch);
}

TEST_F(bl, address_order)
{
	struct mapd *m = &self->m;
	char buf[512];

	EXPECT_OK(m, REQ({"cmd":"client-blocklist","addr":"2001:db8::1"}));
	EXPECT_OK(m, REQ({"cmd":"client-blocklist","addr":"10.0.0.10"}));
	EXPECT_OK(m, REQ({"cmd":"client-blocklist","addr":"::1"}));
	EXPECT_OK(m, REQ({"cmd":"client-blocklist","addr":"10.0.0.9"}));
	EXPECT_OK(m, REQ({"cmd":"client-blocklist","addr":"192.0.2.1"}));
	EXPECT_OK(m, REQ({"cmd":"client-blocklist","addr":"9.255.255.255"}));
	EXPECT_OK(m, REQ({"cmd":"client-blocklist","addr":"fe80::1"}));
	listed(m, buf, sizeof(buf));
	/* IPv4 first, each family by value. */
	EXPECT_STREQ("9.255.255.255,10.0.0.9,10.0.0.10,192.0.2.1,::1,2001:db8::1,fe80::1",
		     buf);
}

TEST_F(bl, bad_requests)
{
	struct mapd *m = &self->m;
	uint64_t epoch = m->st.epoch;

	EXPECT_ERROR(m, REQ({"cmd":"client-blocklist"}), "missing field \"addr\"");
	EXPECT_ERROR(m, REQ({"cmd":"client-blocklist","addr":null}), "missing field \"addr\"");
	EXPECT_ERROR(m, REQ({"cmd":"client-unblocklist"}), "missing field \"addr\"");
	EXPECT_ERROR(m, REQ({"cmd":"client-blocklist","addr":167772165}),
		     "field \"addr\" must be a string");
	EXPECT_ERROR(m, REQ({"cmd":"client-blocklist","addr":["10.0.0.5"]}),
		     "field \"addr\" must be a string");
	EXPECT_ERROR(m, REQ({"cmd":"client-unblocklist","addr":true}),
		     "field \"addr\" must be a string");
	EXPECT_ERROR(m, REQ({"cmd":"client-blocklist","addr":"node1"}),
		     "bad address \"node1\": not a numeric IPv4 or IPv6 address");
	EXPECT_ERROR(m, REQ({"cmd":"client-blocklist","addr":""}), "bad address");
	EXPECT_ERROR(m, REQ({"cmd":"client-blocklist","addr":"10.0.0.0/8"}), "bad address");
	EXPECT_ERROR(m, REQ({"cmd":"client-blocklist","addr":"10.0.0.1:7410"}), "bad address");
	EXPECT_ERROR(m, REQ({"cmd":"client-blocklist","addr":"fe80::1%eth0"}), "bad address");
	EXPECT_ERROR(m, REQ({"cmd":"client-unblocklist","addr":"300.0.0.1"}), "bad address");
	/* A long one is cut short in the reason. */
	EXPECT_ERROR(m, "{\"cmd\":\"client-blocklist\",\"addr\":\""
		     "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
		     "\"}", "bad address");
	EXPECT_EQ(0, m->st.nblocklist);
	EXPECT_EQ(epoch, m->st.epoch);
	/* client-ls takes no arguments and ignores any. */
	EXPECT_OK(m, REQ({"cmd":"client-ls","addr":5}));
}

TEST_F(bl, full)
{
	struct mapd *m = &self->m;
	char addr[MAPD_ADDR_MAX];
	uint64_t epoch;
	int i;

	for (i = 0; i < MAPD_BLOCKLIST_MAX; i++) {
		snprintf(addr, sizeof(addr), "10.1.%d.%d", i / 256, i % 256);
		ASSERT_EQ(0, state_blocklist_add(&m->st, addr));
	}
	EXPECT_EQ(-ENOSPC, state_blocklist_add(&m->st, "10.2.0.0"));
	EXPECT_EQ(-EEXIST, state_blocklist_add(&m->st, "10.1.0.0"));
	epoch = m->st.epoch;
	EXPECT_ERROR(m, REQ({"cmd":"client-blocklist","addr":"10.2.0.0"}),
		     "the blocklist is full (1024 addresses)");
	/* One that is there already is no change: still fine. */
	EXPECT_OK(m, REQ({"cmd":"client-blocklist","addr":"10.1.3.255"}));
	EXPECT_EQ(epoch, m->st.epoch);
	EXPECT_OK(m, REQ({"cmd":"client-unblocklist","addr":"10.1.3.255"}));
	EXPECT_OK(m, REQ({"cmd":"client-blocklist","addr":"10.2.0.0"}));
	EXPECT_EQ(MAPD_BLOCKLIST_MAX, m->st.nblocklist);
	EXPECT_STREQ("10.2.0.0", m->st.blocklist[MAPD_BLOCKLIST_MAX - 1]);
	EXPECT_EQ(epoch + 2, m->st.epoch);

	/* A full list survives the file. */
	mapd_fini(m);
	memset(m, 0, sizeof(*m));
	ASSERT_EQ(0, mapd_init(m, self->path));
	EXPECT_EQ(MAPD_BLOCKLIST_MAX, m->st.nblocklist);
	EXPECT_STREQ("10.1.0.0", m->st.blocklist[0]);
}

TEST_F(bl, map_get_and_show_carry_it)
{
	struct mapd *m = &self->m;
	char buf[512];
	json_t *r, *map;

	r = test_request(m, REQ({"cmd":"map-get"}));
	map = json_object_get(r, "map");
	ASSERT_TRUE(json_is_array(json_object_get(map, "blocklist")));
	EXPECT_EQ(0, json_array_size(json_object_get(map, "blocklist")));
	json_decref(r);

	EXPECT_OK(m, REQ({"cmd":"client-blocklist","addr":"fd00::5"}));
	EXPECT_OK(m, REQ({"cmd":"client-blocklist","addr":"::ffff:192.0.2.1"}));
	r = test_request(m, REQ({"cmd":"map-get"}));
	ASSERT_TRUE(reply_ok(r));
	map = json_object_get(r, "map");
	EXPECT_EQ(m->st.epoch, json_integer_value(json_object_get(map, "epoch")));
	joined(json_object_get(map, "blocklist"), buf, sizeof(buf));
	EXPECT_STREQ("192.0.2.1,fd00::5", buf);
	json_decref(r);

	r = test_request(m, REQ({"cmd":"map-show"}));
	ASSERT_TRUE(reply_ok(r));
	joined(json_object_get(json_object_get(r, "map"), "blocklist"), buf,
	       sizeof(buf));
	EXPECT_STREQ("192.0.2.1,fd00::5", buf);
	json_decref(r);
}

TEST_F(bl, survives_restart)
{
	struct mapd *m = &self->m;
	char buf[512];
	uint64_t epoch;

	EXPECT_OK(m, REQ({"cmd":"client-blocklist","addr":"10.0.0.5"}));
	EXPECT_OK(m, REQ({"cmd":"client-blocklist","addr":"2001:db8::7"}));
	epoch = m->st.epoch;
	mapd_fini(m);
	memset(m, 0, sizeof(*m));
	ASSERT_EQ(0, mapd_init(m, self->path));
	EXPECT_EQ(epoch, m->st.epoch);
	listed(m, buf, sizeof(buf));
	EXPECT_STREQ("10.0.0.5,2001:db8::7", buf);
}

TEST_F(bl, failed_save_rolls_back)
{
	struct mapd *m = &self->m;
	char tmp[300], buf[512];
	uint64_t epoch;

	EXPECT_OK(m, REQ({"cmd":"client-blocklist","addr":"10.0.0.5"}));
	epoch = m->st.epoch;
	snprintf(tmp, sizeof(tmp), "%s.tmp", self->path);
	ASSERT_EQ(0, mkdir(tmp, 0700));
	EXPECT_ERROR(m, REQ({"cmd":"client-blocklist","addr":"10.0.0.6"}),
		     "cannot save state file");
	EXPECT_ERROR(m, REQ({"cmd":"client-unblocklist","addr":"10.0.0.5"}),
		     "cannot save state file");
	EXPECT_EQ(epoch, m->st.epoch);
	listed(m, buf, sizeof(buf));
	EXPECT_STREQ("10.0.0.5", buf);
	rmdir(tmp);
	EXPECT_OK(m, REQ({"cmd":"client-blocklist","addr":"10.0.0.6"}));
	listed(m, buf, sizeof(buf));
	EXPECT_STREQ("10.0.0.5,10.0.0.6", buf);
}

#define HEADER "{\"version\":2,\"epoch\":4,\"next_daemon_id\":1," \
	"\"next_pool_id\":2,\"next_volume_id\":1,\"daemons\":[],\"pools\":[]"

TEST(state_json_round_trip)
{
	struct mapd_state a, b;
	char err[256];
	json_t *ja, *jb;

	ASSERT_EQ(0, state_init(&a));
	ja = state_to_json(&a);
	/* None: no key, as in files written before blocklists. */
	EXPECT_EQ(NULL, json_object_get(ja, "blocklist"));
	json_decref(ja);
	ASSERT_EQ(0, state_blocklist_add(&a, "10.0.0.5"));
	ASSERT_EQ(0, state_blocklist_add(&a, "fd00::1"));
	ASSERT_EQ(0, state_blocklist_add(&a, "10.0.0.1"));
	ja = state_to_json(&a);
	ASSERT_NE(NULL, ja);
	ASSERT_EQ(0, state_from_json(&b, ja, err, sizeof(err))) TH_LOG("%s", err);
	ASSERT_EQ(3, b.nblocklist);
	EXPECT_STREQ("10.0.0.1", b.blocklist[0]);
	EXPECT_STREQ("10.0.0.5", b.blocklist[1]);
	EXPECT_STREQ("fd00::1", b.blocklist[2]);
	EXPECT_TRUE(state_blocklisted(&b, "fd00::1"));
	EXPECT_FALSE(state_blocklisted(&b, "fd00::2"));
	jb = state_to_json(&b);
	EXPECT_TRUE(json_equal(ja, jb));
	json_decref(ja);
	json_decref(jb);
	EXPECT_EQ(-ENOENT, state_blocklist_del(&b, "10.0.0.9"));
	EXPECT_EQ(0, state_blocklist_del(&b, "10.0.0.5"));
	EXPECT_EQ(2, b.nblocklist);
	EXPECT_STREQ("fd00::1", b.blocklist[1]);
	state_free(&a);
	state_free(&b);
}

TEST(state_json_entries_checked)
{
	static const struct {
		const char *tail, *why;
	} bad[] = {
		{ ",\"blocklist\":{}}", "blocklist: not an array" },
		{ ",\"blocklist\":\"10.0.0.1\"}", "blocklist: not an array" },
		{ ",\"blocklist\":null}", "blocklist: not an array" },
		{ ",\"blocklist\":[\"10.0.0.1\",5]}",
		  "blocklist[1]: not a numeric IPv4 or IPv6 address" },
		{ ",\"blocklist\":[\"node1\"]}",
		  "blocklist[0]: not a numeric IPv4 or IPv6 address" },
		{ ",\"blocklist\":[\"10.0.0.0/8\"]}",
		  "blocklist[0]: not a numeric IPv4 or IPv6 address" },
		{ ",\"blocklist\":[null]}",
		  "blocklist[0]: not a numeric IPv4 or IPv6 address" },
		{ ",\"blocklist\":[\"10.0.0.1\",\"::ffff:10.0.0.1\"]}",
		  "blocklist[1]: duplicate address 10.0.0.1" },
		{ ",\"blocklist\":[\"2001:db8::1\",\"2001:DB8::1\"]}",
		  "blocklist[1]: duplicate address 2001:db8::1" },
	};
	struct mapd_state st;
	char err[256], text[512];
	json_t *j;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(text, sizeof(text), "%s%s", HEADER, bad[i].tail);
		j = json_loads(text, 0, NULL);
		ASSERT_NE(NULL, j) TH_LOG("%s", text);
		err[0] = '\0';
		EXPECT_EQ(-EINVAL, state_from_json(&st, j, err, sizeof(err)))
			TH_LOG("accepted %s", text);
		EXPECT_STREQ(bad[i].why, err) TH_LOG("%s", text);
		json_decref(j);
	}

	/* Hand-written spellings are normalized and put in order. */
	j = json_loads(HEADER ",\"blocklist\":[\"2001:DB8::1\",\"::ffff:10.0.0.9\",\"10.0.0.10\"]}",
		       0, NULL);
	ASSERT_NE(NULL, j);
	ASSERT_EQ(0, state_from_json(&st, j, err, sizeof(err))) TH_LOG("%s", err);
	json_decref(j);
	ASSERT_EQ(3, st.nblocklist);
	EXPECT_STREQ("10.0.0.9", st.blocklist[0]);
	EXPECT_STREQ("10.0.0.10", st.blocklist[1]);
	EXPECT_STREQ("2001:db8::1", st.blocklist[2]);
	state_free(&st);
}

TEST(state_json_too_many)
{
	struct mapd_state st;
	json_t *j, *bl = json_array();
	char err[256], addr[32];
	int i;

	for (i = 0; i <= MAPD_BLOCKLIST_MAX; i++) {
		snprintf(addr, sizeof(addr), "10.1.%d.%d", i / 256, i % 256);
		json_array_append_new(bl, json_string(addr));
	}
	j = json_loads(HEADER "}", 0, NULL);
	ASSERT_NE(NULL, j);
	json_object_set_new(j, "blocklist", bl);
	EXPECT_EQ(-EINVAL, state_from_json(&st, j, err, sizeof(err)));
	EXPECT_STREQ("blocklist: more than 1024 addresses", err);
	/* Exactly the limit is fine. */
	json_array_remove(bl, 0);
	ASSERT_EQ(0, state_from_json(&st, j, err, sizeof(err))) TH_LOG("%s", err);
	EXPECT_EQ(MAPD_BLOCKLIST_MAX, st.nblocklist);
	state_free(&st);
	json_decref(j);
}

FIXTURE(file) {
	char *dir;
	char path[256];
};

FIXTURE_SETUP(file)
{
	log_init(false, true);
	self->dir = test_tmpdir();
	ASSERT_NE(NULL, self->dir);
	snprintf(self->path, sizeof(self->path), "%s/state.json", self->dir);
}

FIXTURE_TEARDOWN(file)
{
	test_rmdir(self->dir);
	free(self->dir);
}

TEST_F(file, old_file_without_blocklist_loads)
{
	struct mapd m = { 0 };
	char buf[64];

	write_file(self->path, HEADER "}");
	ASSERT_EQ(0, mapd_init(&m, self->path));
	EXPECT_EQ(0, m.st.nblocklist);
	listed(&m, buf, sizeof(buf));
	EXPECT_STREQ("", buf);
	mapd_fini(&m);
}

TEST_F(file, bad_entry_refused)
{
	struct mapd_state st;
	struct mapd m = { 0 };
	char err[512];

	write_file(self->path, HEADER ",\"blocklist\":[\"10.0.0.5\",\"10.0.0.x\"]}");
	EXPECT_EQ(-EINVAL, state_load(&st, self->path, err, sizeof(err)));
	EXPECT_NE(NULL, strstr(err, self->path)) TH_LOG("%s", err);
	EXPECT_NE(NULL, strstr(err, ": blocklist[1]: not a numeric IPv4 or IPv6 address"))
		TH_LOG("%s", err);
	/* mapd refuses to start on it and leaves it alone. */
	EXPECT_NE(0, mapd_init(&m, self->path));
	mapd_fini(&m);
	EXPECT_EQ(-EINVAL, state_load(&st, self->path, err, sizeof(err)));
}

/* What goes to etcd: config keeps the list, map repeats it. */
TEST(cluster_documents)
{
	struct mapd_state a, b;
	json_t *config, *map, *map2;
	char err[256];

	ASSERT_EQ(0, state_init(&a));
	a.epoch = 9;
	map = cluster_map_json(&a);
	ASSERT_NE(NULL, map);
	EXPECT_EQ(NULL, json_object_get(map, "blocklist"));

	ASSERT_EQ(0, state_blocklist_add(&a, "10.0.0.5"));
	ASSERT_EQ(0, state_blocklist_add(&a, "fd00::1"));
	config = cluster_config_json(&a);
	ASSERT_NE(NULL, config);
	EXPECT_EQ(2, json_array_size(json_object_get(config, "blocklist")));
	/* A mapd reading the config has the list. */
	ASSERT_EQ(0, state_from_json(&b, config, err, sizeof(err))) TH_LOG("%s", err);
	ASSERT_EQ(2, b.nblocklist);
	EXPECT_STREQ("10.0.0.5", b.blocklist[0]);
	EXPECT_STREQ("fd00::1", b.blocklist[1]);

	/* A changed list is a changed map: the leader writes a new epoch. */
	map2 = cluster_map_json(&a);
	ASSERT_NE(NULL, map2);
	EXPECT_EQ(2, json_array_size(json_object_get(map2, "blocklist")));
	EXPECT_FALSE(cluster_map_same(map, map2));
	json_decref(map);
	map = cluster_map_json(&b);
	EXPECT_TRUE(cluster_map_same(map, map2));
	state_blocklist_del(&b, "fd00::1");
	json_decref(map);
	map = cluster_map_json(&b);
	EXPECT_FALSE(cluster_map_same(map, map2));

	/* The map is laid over config; the list stays config's. */
	EXPECT_EQ(0, cluster_apply_map(&b, map2, err, sizeof(err))) TH_LOG("%s", err);
	EXPECT_EQ(9, b.epoch);
	ASSERT_EQ(1, b.nblocklist);
	EXPECT_STREQ("10.0.0.5", b.blocklist[0]);

	json_decref(config);
	json_decref(map);
	json_decref(map2);
	state_free(&a);
	state_free(&b);
}

TEST_HARNESS_MAIN
