// SPDX-License-Identifier: GPL-2.0-only
/*
 * The automatic fences' record without a cluster: blocklist entries that
 * say which dead host they fence (its boot id, since when) survive the
 * state file and refuse bad input; "client-blocklist" makes a fence's
 * address one listed by hand, "client-unblocklist" lifts it, "client-ls"
 * and "status" show them, "client-auto-fence" turns fencing on and off.
 * The cluster side is fence_etcd_test.c.
 */
#include <errno.h>

#include "kselftest_harness.h"
#include "mapd_test.h"

static const struct mapd_fence fence_c = {
	.host = "c", .boot_id = "boot-c1", .at = 1700000000,
};

TEST(fences_survive_the_state_file)
{
	struct mapd_state st, back;
	struct mapd_fence *f;
	char err[256] = "";
	json_t *j;

	ASSERT_EQ(0, state_init(&st));
	ASSERT_EQ(0, state_blocklist_add(&st, "10.9.9.9"));
	ASSERT_EQ(0, state_fence_add(&st, "10.0.0.3", &fence_c));
	ASSERT_EQ(0, state_fence_add(&st, "fd00::3", &fence_c));
	EXPECT_EQ(-EEXIST, state_fence_add(&st, "10.9.9.9", &fence_c));
	EXPECT_EQ(-EEXIST, state_blocklist_add(&st, "10.0.0.3"));
	ASSERT_EQ(3, st.nblocklist);
	/* In address order, each with its reason. */
	EXPECT_STREQ("10.0.0.3", st.blocklist[0]);
	EXPECT_STREQ("c", st.fences[0].host);
	EXPECT_STREQ("10.9.9.9", st.blocklist[1]);
	EXPECT_STREQ("", st.fences[1].host);
	EXPECT_STREQ("fd00::3", st.blocklist[2]);
	EXPECT_STREQ("c", st.fences[2].host);
	st.auto_fence_off = true;

	j = state_to_json(&st);
	ASSERT_NE(NULL, j);
	EXPECT_EQ(3, json_array_size(json_object_get(j, "blocklist")));
	EXPECT_EQ(2, json_array_size(json_object_get(j, "fences")));
	EXPECT_TRUE(json_is_false(json_object_get(j, "auto_fence")));
	json_decref(j);

	ASSERT_EQ(0, state_via_json(&st, &back, err, sizeof(err))) TH_LOG("%s", err);
	ASSERT_EQ(3, back.nblocklist);
	EXPECT_TRUE(back.auto_fence_off);
	f = state_blocklist_why(&back, "fd00::3");
	ASSERT_NE(NULL, f);
	EXPECT_STREQ("c", f->host);
	EXPECT_STREQ("boot-c1", f->boot_id);
	EXPECT_EQ(1700000000, f->at);
	f = state_blocklist_why(&back, "10.9.9.9");
	ASSERT_NE(NULL, f);
	EXPECT_STREQ("", f->host);
	EXPECT_EQ(NULL, state_blocklist_why(&back, "10.0.0.4"));
	EXPECT_EQ(0, state_blocklist_del(&back, "10.0.0.3"));
	EXPECT_STREQ("10.9.9.9", back.blocklist[0]);
	EXPECT_STREQ("", back.fences[0].host);
	EXPECT_STREQ("c", back.fences[1].host);
	state_free(&back);

	/* Nothing of it when there is none: files as before. */
	ASSERT_EQ(0, state_blocklist_del(&st, "10.0.0.3"));
	ASSERT_EQ(0, state_blocklist_del(&st, "fd00::3"));
	st.auto_fence_off = false;
	j = state_to_json(&st);
	EXPECT_EQ(NULL, json_object_get(j, "fences"));
	EXPECT_EQ(NULL, json_object_get(j, "auto_fence"));
	json_decref(j);
	state_free(&st);
}

/* A state whose JSON has fences set to text (parsed), with blocklist bl. */
static int load_with(const char *bl, const char *fences, char *err,
		     size_t len)
{
	char buf[512];

	snprintf(buf, sizeof(buf), ",\"blocklist\":%s,\"fences\":%s", bl,
		 fences);
	return state_load_members(buf, NULL, err, len);
}

TEST(bad_fences_refused)
{
	const char *bl = "[\"10.0.0.3\",\"10.0.0.4\"]";
	char err[256];

	EXPECT_EQ(0, load_with(bl, "[{\"addr\":\"::ffff:10.0.0.3\",\"host\":\"c\",\"boot_id\":\"\",\"at\":0}]",
			       err, sizeof(err))) TH_LOG("%s", err);
	EXPECT_EQ(-EINVAL, load_with(bl, "{}", err, sizeof(err)));
	EXPECT_STREQ("fences: not an array", err);
	EXPECT_EQ(-EINVAL, load_with(bl, "[{\"addr\":\"10.0.0.5\",\"host\":\"c\",\"boot_id\":\"b\",\"at\":1}]",
				     err, sizeof(err)));
	EXPECT_STREQ("fences[0]: 10.0.0.5 is not blocklisted", err);
	EXPECT_EQ(-EINVAL, load_with(bl, "[{\"addr\":\"10.0.0.3\",\"host\":\"c\",\"boot_id\":\"b\",\"at\":1},"
				     "{\"addr\":\"10.0.0.3\",\"host\":\"d\",\"boot_id\":\"b\",\"at\":1}]",
				     err, sizeof(err)));
	EXPECT_STREQ("fences[1]: duplicate address 10.0.0.3", err);
	EXPECT_EQ(-EINVAL, load_with(bl, "[{\"addr\":\"10.0.0.3\",\"host\":\"c d\",\"boot_id\":\"b\",\"at\":1}]",
				     err, sizeof(err)));
	EXPECT_STREQ("fences[0]: value out of range", err);
	EXPECT_EQ(-EINVAL, load_with(bl, "[{\"addr\":\"10.0.0.3\",\"host\":\"c\",\"boot_id\":\"b/x\",\"at\":1}]",
				     err, sizeof(err)));
	EXPECT_EQ(-EINVAL, load_with(bl, "[{\"addr\":\"10.0.0.3\",\"host\":\"c\",\"boot_id\":\"b\",\"at\":-1}]",
				     err, sizeof(err)));
	EXPECT_EQ(-EINVAL, load_with(bl, "[{\"addr\":\"node1\",\"host\":\"c\",\"boot_id\":\"b\",\"at\":1}]",
				     err, sizeof(err)));
	EXPECT_EQ(-EINVAL, load_with(bl, "[{\"addr\":\"10.0.0.3\",\"host\":\"c\"}]",
				     err, sizeof(err)));
	EXPECT_NE(NULL, strstr(err, "fences[0]: ")) TH_LOG("%s", err);
	EXPECT_EQ(0, load_with(bl, "[]", err, sizeof(err))) TH_LOG("%s", err);
}

/* The deaths the leader acted on: one per host, kept by the state file. */
TEST(deaths_survive_the_state_file)
{
	struct mapd_state st, back;
	char err[256] = "";
	json_t *j;

	ASSERT_EQ(0, state_init(&st));
	j = state_to_json(&st);
	EXPECT_EQ(NULL, json_object_get(j, "deaths"));
	json_decref(j);
	ASSERT_EQ(0, state_death_note(&st, "c", 41));
	ASSERT_EQ(0, state_death_note(&st, "d", 7));
	ASSERT_EQ(0, state_death_note(&st, "c", 52));
	ASSERT_EQ(2, st.ndeaths);
	EXPECT_FALSE(state_death_handled(&st, "c", 41));
	EXPECT_TRUE(state_death_handled(&st, "c", 52));
	ASSERT_EQ(0, state_via_json(&st, &back, err, sizeof(err))) TH_LOG("%s", err);
	EXPECT_EQ(2, back.ndeaths);
	EXPECT_TRUE(state_death_handled(&back, "c", 52));
	EXPECT_TRUE(state_death_handled(&back, "d", 7));
	EXPECT_FALSE(state_death_handled(&back, "e", 7));
	state_death_del(&back, 0);
	EXPECT_FALSE(state_death_handled(&back, "c", 52));
	EXPECT_TRUE(state_death_handled(&back, "d", 7));
	state_free(&back);
	state_free(&st);
}

TEST(bad_deaths_refused)
{
	char err[256], many[1024 * 16];
	size_t at, i;

	EXPECT_EQ(0, state_load_members(",\"deaths\":[{\"host\":\"c\",\"rev\":3}]",
				  NULL, err, sizeof(err))) TH_LOG("%s", err);
	EXPECT_EQ(-EINVAL, state_load_members(",\"deaths\":{}", NULL, err, sizeof(err)));
	EXPECT_STREQ("deaths: not an array", err);
	EXPECT_EQ(-EINVAL, state_load_members(",\"deaths\":[{\"host\":\"c\"}]",
					NULL, err, sizeof(err)));
	EXPECT_NE(NULL, strstr(err, "deaths[0]: ")) TH_LOG("%s", err);
	EXPECT_EQ(-EINVAL, state_load_members(",\"deaths\":[{\"host\":\"c\",\"rev\":0}]",
					NULL, err, sizeof(err)));
	EXPECT_STREQ("deaths[0]: value out of range", err);
	EXPECT_EQ(-EINVAL, state_load_members(",\"deaths\":[{\"host\":\"c/d\",\"rev\":1}]",
					NULL, err, sizeof(err)));
	EXPECT_STREQ("deaths[0]: value out of range", err);
	EXPECT_EQ(-EINVAL, state_load_members(",\"deaths\":[{\"host\":\"c\",\"rev\":1},"
					"{\"host\":\"c\",\"rev\":2}]",
					NULL, err, sizeof(err)));
	EXPECT_STREQ("deaths[1]: duplicate host c", err);
	/* More than one per host a cluster can have. */
	at = snprintf(many, sizeof(many), ",\"deaths\":[");
	for (i = 0; i <= MAPD_DEATHS_MAX; i++)
		at += snprintf(many + at, sizeof(many) - at,
			       "%s{\"host\":\"h%zu\",\"rev\":1}", i ? "," : "", i);
	snprintf(many + at, sizeof(many) - at, "]");
	EXPECT_EQ(-EINVAL, state_load_members(many, NULL, err, sizeof(err)));
	EXPECT_STREQ("deaths: more than 256", err);
}

MAPD_FIXTURE(fcmd)

/* The host client-ls says addr fences; "" by hand; NULL: not listed. */
static const char *fence_in_ls(json_t *r, const char *addr)
{
	json_t *f, *a;
	size_t i, k;

	json_array_foreach(json_object_get(r, "fences"), i, f)
		json_array_foreach(json_object_get(f, "addrs"), k, a)
			if (!strcmp(json_string_value(a), addr))
				return json_string_value(json_object_get(f,
								"host"));
	json_array_foreach(json_object_get(r, "blocklist"), i, a)
		if (!strcmp(json_string_value(a), addr))
			return "";
	return NULL;
}

TEST_F(fcmd, commands)
{
	struct mapd *m = &self->m;
	uint64_t epoch;
	json_t *r, *f;

	/* A state a cluster left: c fenced at two addresses. */
	ASSERT_EQ(0, state_fence_add(&m->st, "10.0.0.3", &fence_c));
	ASSERT_EQ(0, state_fence_add(&m->st, "10.0.0.33", &fence_c));
	EXPECT_OK(m, REQ({"cmd":"client-blocklist","addr":"10.9.9.9"}));
	epoch = m->st.epoch;

	r = test_request(m, REQ({"cmd":"client-ls"}));
	ASSERT_TRUE(reply_ok(r));
	EXPECT_EQ(3, json_array_size(json_object_get(r, "blocklist")));
	ASSERT_EQ(1, json_array_size(json_object_get(r, "fences")));
	f = json_array_get(json_object_get(r, "fences"), 0);
	EXPECT_STREQ("c", json_string_value(json_object_get(f, "host")));
	EXPECT_STREQ("boot-c1", json_string_value(json_object_get(f, "boot_id")));
	EXPECT_EQ(1700000000, json_integer_value(json_object_get(f, "at")));
	/* No cluster: where c is now is not known. */
	EXPECT_STREQ("unknown", json_string_value(json_object_get(f, "state")));
	EXPECT_EQ(2, json_array_size(json_object_get(f, "addrs")));
	EXPECT_STREQ("", fence_in_ls(r, "10.9.9.9"));
	json_decref(r);
	r = test_request(m, REQ({"cmd":"status"}));
	EXPECT_EQ(1, json_array_size(json_object_get(r, "fences")));
	json_decref(r);

	/* Blocklisting a fence's address: now by hand, the map as it was. */
	EXPECT_OK(m, REQ({"cmd":"client-blocklist","addr":"10.0.0.3"}));
	EXPECT_EQ(epoch, m->st.epoch);
	r = test_request(m, REQ({"cmd":"client-ls"}));
	EXPECT_STREQ("", fence_in_ls(r, "10.0.0.3"));
	EXPECT_STREQ("c", fence_in_ls(r, "10.0.0.33"));
	json_decref(r);
	/* Unblocklisting one: gone, a new epoch. */
	EXPECT_OK(m, REQ({"cmd":"client-unblocklist","addr":"10.0.0.33"}));
	EXPECT_EQ(epoch + 1, m->st.epoch);
	r = test_request(m, REQ({"cmd":"client-ls"}));
	EXPECT_EQ(NULL, fence_in_ls(r, "10.0.0.33"));
	/* None left, no cluster: the reply as before. */
	EXPECT_EQ(NULL, json_object_get(r, "fences"));
	EXPECT_EQ(NULL, json_object_get(r, "auto_fence"));
	json_decref(r);
	/* No fence left, no cluster: status as before. */
	r = test_request(m, REQ({"cmd":"status"}));
	EXPECT_EQ(NULL, json_object_get(r, "fences"));
	EXPECT_EQ(NULL, json_object_get(r, "auto_fence"));
	json_decref(r);

	EXPECT_ERROR(m, REQ({"cmd":"client-auto-fence"}), "missing field \"on\"");
	EXPECT_ERROR(m, REQ({"cmd":"client-auto-fence","on":"no"}),
		     "field \"on\" must be true or false");
	r = test_request(m, REQ({"cmd":"client-auto-fence","on":false}));
	EXPECT_TRUE(reply_ok(r));
	EXPECT_TRUE(json_is_false(json_object_get(r, "auto_fence")));
	json_decref(r);
	EXPECT_TRUE(m->st.auto_fence_off);
	EXPECT_EQ(epoch + 1, m->st.epoch);
	EXPECT_OK(m, REQ({"cmd":"client-auto-fence","on":false}));
	r = test_request(m, REQ({"cmd":"client-ls"}));
	EXPECT_TRUE(json_is_false(json_object_get(r, "auto_fence")));
	json_decref(r);
	r = test_request(m, REQ({"cmd":"status"}));
	EXPECT_TRUE(json_is_false(json_object_get(r, "auto_fence")));
	json_decref(r);

	/* Kept in the state file. */
	mapd_fini(m);
	ASSERT_EQ(0, mapd_init(m, self->path));
	EXPECT_TRUE(m->st.auto_fence_off);
	EXPECT_STREQ("", state_blocklist_why(&m->st, "10.0.0.3")->host);
	EXPECT_OK(m, REQ({"cmd":"client-auto-fence","on":true}));
	EXPECT_FALSE(m->st.auto_fence_off);
}

TEST_HARNESS_MAIN
