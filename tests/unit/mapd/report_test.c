// SPDX-License-Identifier: GPL-2.0-only
/*
 * "daemon-report" on one host (embedded mode): every kind of bad input
 * gets a clear error; a good report is logged and changes nothing, since
 * a local daemon's session already says whether it lives. Cluster mode
 * is tested against etcd in report_etcd_test.c.
 */
#include "kselftest_harness.h"
#include "mapd_test.h"

FIXTURE(rep) {
	char *dir;
	struct mapd m;
};

FIXTURE_SETUP(rep)
{
	char path[256];

	log_init(false, true);
	self->dir = test_tmpdir();
	ASSERT_NE(NULL, self->dir);
	snprintf(path, sizeof(path), "%s/state.json", self->dir);
	memset(&self->m, 0, sizeof(self->m));
	ASSERT_EQ(0, mapd_init(&self->m, path));
	EXPECT_OK(&self->m, REQ({"cmd":"daemon-register","addr":"192.0.2.1","port":7410,"capacity":1000000,"class":"ssd","host":"node1"}));
}

FIXTURE_TEARDOWN(rep)
{
	mapd_fini(&self->m);
	test_rmdir(self->dir);
	free(self->dir);
}

TEST_F(rep, bad_input)
{
	struct mapd *m = &self->m;
	char line[256];

	EXPECT_ERROR(m, REQ({"cmd":"daemon-report","unreachable":true,"reporter":"d2"}),
		     "missing field \"id\"");
	EXPECT_ERROR(m, REQ({"cmd":"daemon-report","id":1,"reporter":"d2"}),
		     "missing field \"unreachable\"");
	EXPECT_ERROR(m, REQ({"cmd":"daemon-report","id":1,"unreachable":null,"reporter":"d2"}),
		     "missing field \"unreachable\"");
	EXPECT_ERROR(m, REQ({"cmd":"daemon-report","id":1,"unreachable":true}),
		     "missing field \"reporter\"");
	EXPECT_ERROR(m, REQ({"cmd":"daemon-report","id":"1","unreachable":true,"reporter":"d2"}),
		     "field \"id\" must be a non-negative integer");
	EXPECT_ERROR(m, REQ({"cmd":"daemon-report","id":-1,"unreachable":true,"reporter":"d2"}),
		     "field \"id\" must be a non-negative integer");
	EXPECT_ERROR(m, REQ({"cmd":"daemon-report","id":1.5,"unreachable":true,"reporter":"d2"}),
		     "field \"id\" must be a non-negative integer");
	EXPECT_ERROR(m, REQ({"cmd":"daemon-report","id":1,"unreachable":"yes","reporter":"d2"}),
		     "field \"unreachable\" must be true or false");
	EXPECT_ERROR(m, REQ({"cmd":"daemon-report","id":1,"unreachable":1,"reporter":"d2"}),
		     "field \"unreachable\" must be true or false");
	EXPECT_ERROR(m, REQ({"cmd":"daemon-report","id":1,"unreachable":true,"reporter":7}),
		     "field \"reporter\" must be a string");
	EXPECT_ERROR(m, REQ({"cmd":"daemon-report","id":1,"unreachable":true,"reporter":""}),
		     "field \"reporter\" must be 1..64 characters");
	EXPECT_ERROR(m, REQ({"cmd":"daemon-report","id":1,"unreachable":true,"reporter":"a\nb"}),
		     "none of them control characters");
	snprintf(line, sizeof(line),
		 "{\"cmd\":\"daemon-report\",\"id\":1,\"unreachable\":true,\"reporter\":\"%065d\"}",
		 0);
	EXPECT_ERROR(m, line, "field \"reporter\" must be 1..64 characters");
	EXPECT_ERROR(m, REQ({"cmd":"daemon-report","id":1,"unreachable":true,"reporter":"d2","err":-5}),
		     "field \"err\" must be a non-negative integer");
	EXPECT_ERROR(m, REQ({"cmd":"daemon-report","id":1,"unreachable":true,"reporter":"d2","err":4096}),
		     "field \"err\" must be an errno");
	/* Daemons that do not exist. */
	EXPECT_ERROR(m, REQ({"cmd":"daemon-report","id":2,"unreachable":true,"reporter":"d1"}),
		     "unknown daemon 2");
	EXPECT_ERROR(m, REQ({"cmd":"daemon-report","id":0,"unreachable":true,"reporter":"d1"}),
		     "unknown daemon 0");
	EXPECT_ERROR(m, REQ({"cmd":"daemon-report","id":65536,"unreachable":true,"reporter":"d1"}),
		     "unknown daemon 65536");
	EXPECT_ERROR(m, REQ({"cmd":"daemon-report","id":9223372036854775807,"unreachable":true,"reporter":"d1"}),
		     "unknown daemon");
}

TEST_F(rep, logged_only)
{
	struct mapd *m = &self->m;
	uint64_t epoch = m->st.epoch;
	json_t *r, *d;

	EXPECT_OK(m, REQ({"cmd":"daemon-report","id":1,"unreachable":true,"reporter":"daemon 2","err":111}));
	EXPECT_OK(m, REQ({"cmd":"daemon-report","id":1,"unreachable":true,"reporter":"daemon 2"}));
	EXPECT_TRUE(state_daemon(&m->st, 1)->up);
	EXPECT_OK(m, REQ({"cmd":"daemon-report","id":1,"unreachable":false,"reporter":"daemon 2"}));
	EXPECT_OK(m, REQ({"cmd":"daemon-report","id":1,"unreachable":false,"reporter":"daemon 2","err":null}));
	EXPECT_TRUE(state_daemon(&m->st, 1)->up);
	EXPECT_EQ(epoch, m->st.epoch);
	/* Embedded status has no reporters. */
	r = test_request(m, REQ({"cmd":"status"}));
	d = json_array_get(json_object_get(r, "daemons"), 0);
	EXPECT_TRUE(reply_ok(r));
	EXPECT_NE(NULL, d);
	EXPECT_EQ(NULL, json_object_get(d, "reported_unreachable_by"));
	json_decref(r);
}

TEST_HARNESS_MAIN
