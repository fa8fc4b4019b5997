// SPDX-License-Identifier: GPL-2.0-only
/*
 * The socket protocol: request lines fed to the dispatcher, without a
 * kernel (--no-kernel) and with a fake one.
 */
#include "kselftest_harness.h"
#include "mapd_test.h"

FIXTURE(proto) {
	char *dir;
	struct mapd m;
	struct fake_kernel fk;
};

FIXTURE_SETUP(proto)
{
	char path[256];

	log_init(false, true);
	self->dir = test_tmpdir();
	ASSERT_NE(NULL, self->dir);
	snprintf(path, sizeof(path), "%s/state.json", self->dir);
	memset(&self->m, 0, sizeof(self->m));
	memset(&self->fk, 0, sizeof(self->fk));
	ASSERT_EQ(0, mapd_init(&self->m, path));
}

FIXTURE_TEARDOWN(proto)
{
	mapd_fini(&self->m);
	test_rmdir(self->dir);
	free(self->dir);
}

static void use_fake_kernel(struct mapd *m, struct fake_kernel *fk)
{
	m->kernel.ops = &fake_kernel_ops;
	m->kernel.priv = fk;
}

TEST_F(proto, malformed)
{
	struct mapd *m = &self->m;

	EXPECT_ERROR(m, "", "invalid JSON");
	EXPECT_ERROR(m, "{", "invalid JSON");
	EXPECT_ERROR(m, "not json", "invalid JSON");
	EXPECT_ERROR(m, "[1,2]", "must be a JSON object");
	EXPECT_ERROR(m, "42", "must be a JSON object");
	EXPECT_ERROR(m, "{}", "missing field \"cmd\"");
	EXPECT_ERROR(m, REQ({"cmd": 5}), "missing field \"cmd\"");
	EXPECT_ERROR(m, REQ({"cmd": "frob"}), "unknown command \"frob\"");
	EXPECT_ERROR(m, REQ({"cmd": "ls", "cmd": "ls"}), "invalid JSON");
	{
		/* Embedded NUL. */
		char *out = mapd_handle_line(m, "{\"cmd\":\"ls\"\0}", 13);
		json_t *r = json_loads(out, 0, NULL);

		EXPECT_FALSE(reply_ok(r));
		json_decref(r);
		free(out);
	}
}

TEST_F(proto, create_validation)
{
	struct mapd *m = &self->m;

	EXPECT_ERROR(m, REQ({"cmd":"create","name":"a","size":512}),
		     "missing field \"pool\"");
	EXPECT_ERROR(m, REQ({"cmd":"create","pool":"default","size":512}),
		     "missing field \"name\"");
	EXPECT_ERROR(m, REQ({"cmd":"create","pool":"default","name":"a"}),
		     "missing field \"size\"");
	EXPECT_ERROR(m, REQ({"cmd":"create","pool":"nope","name":"a","size":512}),
		     "no pool named \"nope\"");
	EXPECT_ERROR(m, REQ({"cmd":"create","pool":1,"name":"a","size":512}),
		     "field \"pool\" must be a string");
	EXPECT_ERROR(m, REQ({"cmd":"create","pool":"default","name":"a","size":"1G"}),
		     "field \"size\" must be a non-negative integer");
	EXPECT_ERROR(m, REQ({"cmd":"create","pool":"default","name":"a","size":-512}),
		     "non-negative integer");
	EXPECT_ERROR(m, REQ({"cmd":"create","pool":"default","name":"a","size":1.5}),
		     "non-negative integer");
	EXPECT_ERROR(m, REQ({"cmd":"create","pool":"default","name":"a","size":0}),
		     "multiple of 512");
	EXPECT_ERROR(m, REQ({"cmd":"create","pool":"default","name":"a","size":1000}),
		     "multiple of 512");
	EXPECT_ERROR(m, REQ({"cmd":"create","pool":"default","name":"a/b","size":512}),
		     "invalid volume name");
	EXPECT_ERROR(m, REQ({"cmd":"create","pool":"default","name":"","size":512}),
		     "invalid volume name");
	EXPECT_EQ(0, self->m.st.pools[0].nvols);
}

TEST_F(proto, create_ls_rm)
{
	struct mapd *m = &self->m;
	json_t *r, *v;

	r = test_request(m, REQ({"cmd":"create","pool":"default","name":"vm1","size":1073741824}));
	ASSERT_TRUE(reply_ok(r)) TH_LOG("%s", reply_error(r));
	v = json_object_get(r, "volume");
	EXPECT_EQ(1, json_integer_value(json_object_get(v, "id")));
	EXPECT_STREQ("vm1", json_string_value(json_object_get(v, "name")));
	EXPECT_STREQ("default", json_string_value(json_object_get(v, "pool")));
	EXPECT_EQ(1073741824, json_integer_value(json_object_get(v, "size")));
	json_decref(r);
	EXPECT_ERROR(m, REQ({"cmd":"create","pool":"default","name":"vm1","size":512}),
		     "already exists");
	EXPECT_OK(m, REQ({"cmd":"create","pool":"default","name":"vm2","size":512}));

	r = test_request(m, REQ({"cmd":"ls"}));
	ASSERT_TRUE(reply_ok(r));
	v = json_object_get(r, "volumes");
	ASSERT_EQ(2, json_array_size(v));
	EXPECT_STREQ("vm2", json_string_value(json_object_get(
		json_array_get(v, 1), "name")));
	EXPECT_EQ(0, json_array_size(json_object_get(json_array_get(v, 0),
						     "devices")));
	json_decref(r);
	EXPECT_ERROR(m, REQ({"cmd":"ls","pool":"x"}), "no pool");

	EXPECT_OK(m, REQ({"cmd":"rm","pool":"default","name":"vm1"}));
	EXPECT_ERROR(m, REQ({"cmd":"rm","pool":"default","name":"vm1"}),
		     "no volume default/vm1");
	/* Ids are never reused. */
	r = test_request(m, REQ({"cmd":"create","pool":"default","name":"vm1","size":512}));
	EXPECT_EQ(3, json_integer_value(json_object_get(
		json_object_get(r, "volume"), "id")));
	json_decref(r);
}

TEST_F(proto, survives_restart)
{
	struct mapd *m = &self->m;
	char *path = strdup(m->state_path);
	json_t *r;

	EXPECT_OK(m, REQ({"cmd":"create","pool":"default","name":"keep","size":4096}));
	mapd_fini(m);
	ASSERT_EQ(0, mapd_init(m, path));
	free(path);
	r = test_request(m, REQ({"cmd":"ls","pool":"default"}));
	EXPECT_EQ(1, json_array_size(json_object_get(r, "volumes")));
	json_decref(r);
}

TEST_F(proto, resize)
{
	struct mapd *m = &self->m;

	EXPECT_OK(m, REQ({"cmd":"create","pool":"default","name":"v","size":8192}));
	EXPECT_OK(m, REQ({"cmd":"resize","pool":"default","name":"v","size":16384}));
	EXPECT_ERROR(m, REQ({"cmd":"resize","pool":"default","name":"v","size":4096}),
		     "use force");
	EXPECT_ERROR(m, REQ({"cmd":"resize","pool":"default","name":"v","size":4096,"force":"yes"}),
		     "must be true or false");
	EXPECT_OK(m, REQ({"cmd":"resize","pool":"default","name":"v","size":4096,"force":true}));
	EXPECT_EQ(4096, self->m.st.pools[0].vols[0].size);
}

TEST_F(proto, daemon_register)
{
	struct mapd *m = &self->m;
	uint64_t epoch = self->m.st.epoch;
	json_t *r;

	r = test_request(m, REQ({"cmd":"daemon-register","id":0,"addr":"192.0.2.1","port":7410,"capacity":1000000,"class":"ssd","host":"node1"}));
	ASSERT_TRUE(reply_ok(r)) TH_LOG("%s", reply_error(r));
	EXPECT_EQ(1, json_integer_value(json_object_get(r, "id")));
	EXPECT_EQ(2, json_object_size(r));	/* exactly ok and id */
	json_decref(r);
	EXPECT_EQ(epoch + 1, self->m.st.epoch);
	r = test_request(m, REQ({"cmd":"daemon-register","id":0,"addr":"::1","port":7411,"capacity":0,"class":"hdd","host":"node1"}));
	EXPECT_EQ(2, json_integer_value(json_object_get(r, "id")));
	json_decref(r);
	/* Same again: nothing changes, no new epoch. */
	epoch = self->m.st.epoch;
	r = test_request(m, REQ({"cmd":"daemon-register","id":1,"addr":"192.0.2.1","port":7410,"capacity":1000000,"class":"ssd","host":"node1"}));
	EXPECT_EQ(1, json_integer_value(json_object_get(r, "id")));
	json_decref(r);
	EXPECT_EQ(epoch, self->m.st.epoch);
	/* A new address is a new map. */
	EXPECT_OK(m, REQ({"cmd":"daemon-register","id":1,"addr":"192.0.2.9","port":7410,"capacity":1000000,"class":"ssd","host":"node1"}));
	EXPECT_EQ(epoch + 1, self->m.st.epoch);
	EXPECT_STREQ("192.0.2.9", state_daemon(&self->m.st, 1)->addr);
	EXPECT_EQ(2, self->m.st.ndaemons);

	EXPECT_ERROR(m, REQ({"cmd":"daemon-register","addr":"example.com","port":1,"capacity":0,"class":"ssd","host":"h"}),
		     "numeric");
	EXPECT_ERROR(m, REQ({"cmd":"daemon-register","addr":"0.0.0.0","port":1,"capacity":0,"class":"ssd","host":"h"}),
		     "connect to");
	EXPECT_ERROR(m, REQ({"cmd":"daemon-register","addr":"10.0.0.1","port":0,"capacity":0,"class":"ssd","host":"h"}),
		     "port");
	EXPECT_ERROR(m, REQ({"cmd":"daemon-register","addr":"10.0.0.1","port":70000,"capacity":0,"class":"ssd","host":"h"}),
		     "port");
	EXPECT_ERROR(m, REQ({"cmd":"daemon-register","addr":"10.0.0.1","port":1,"capacity":0,"class":"tape","host":"h"}),
		     "class");
	EXPECT_ERROR(m, REQ({"cmd":"daemon-register","addr":"10.0.0.1","port":1,"class":"ssd","host":"h"}),
		     "missing field \"capacity\"");
	EXPECT_ERROR(m, REQ({"cmd":"daemon-register","id":70000,"addr":"10.0.0.1","port":1,"capacity":0,"class":"ssd","host":"h"}),
		     "below");
	/* A known id the state lost is taken as given. */
	r = test_request(m, REQ({"cmd":"daemon-register","id":10,"addr":"10.0.0.1","port":1,"capacity":0,"class":"ssd","host":"h"}));
	EXPECT_EQ(10, json_integer_value(json_object_get(r, "id")));
	json_decref(r);
	r = test_request(m, REQ({"cmd":"daemon-register","id":0,"addr":"10.0.0.2","port":1,"capacity":0,"class":"ssd","host":"h"}));
	EXPECT_EQ(11, json_integer_value(json_object_get(r, "id")));
	json_decref(r);
}

/* A registration whose reply was lost is asked again with id 0: the
 * store's uuid gets it the id it already has, not a second one. */
TEST_F(proto, daemon_register_same_store)
{
	struct mapd *m = &self->m;
	uint64_t epoch;
	json_t *r;

	r = test_request(m, REQ({"cmd":"daemon-register","id":0,"addr":"192.0.2.1","port":7410,"capacity":1000000,"class":"ssd","host":"node1","uuid":"0123456789abcdef0123456789abcdef"}));
	ASSERT_TRUE(reply_ok(r)) TH_LOG("%s", reply_error(r));
	EXPECT_EQ(1, json_integer_value(json_object_get(r, "id")));
	json_decref(r);
	epoch = self->m.st.epoch;
	r = test_request(m, REQ({"cmd":"daemon-register","id":0,"addr":"192.0.2.1","port":7410,"capacity":1000000,"class":"ssd","host":"node1","uuid":"0123456789abcdef0123456789abcdef"}));
	ASSERT_TRUE(reply_ok(r)) TH_LOG("%s", reply_error(r));
	EXPECT_EQ(1, json_integer_value(json_object_get(r, "id")));
	json_decref(r);
	EXPECT_EQ(1, self->m.st.ndaemons);
	EXPECT_EQ(epoch, self->m.st.epoch);
	EXPECT_STREQ("0123456789abcdef0123456789abcdef",
		     state_daemon(&self->m.st, 1)->uuid);

	/* Another store claiming id 1: refused, nothing changes. */
	EXPECT_ERROR(m, REQ({"cmd":"daemon-register","id":1,"addr":"192.0.2.2","port":7410,"capacity":1000000,"class":"ssd","host":"node2","uuid":"fedcba9876543210fedcba9876543210"}),
		     "belongs to the store");
	EXPECT_STREQ("192.0.2.1", state_daemon(&self->m.st, 1)->addr);
	/* The same store under another id: a copied disk. */
	EXPECT_ERROR(m, REQ({"cmd":"daemon-register","id":7,"addr":"192.0.2.2","port":7410,"capacity":1000000,"class":"ssd","host":"node2","uuid":"0123456789abcdef0123456789abcdef"}),
		     "copied disk");
	EXPECT_EQ(1, self->m.st.ndaemons);
	EXPECT_ERROR(m, REQ({"cmd":"daemon-register","addr":"192.0.2.2","port":7410,"capacity":0,"class":"ssd","host":"h","uuid":"0123"}),
		     "uuid");
	EXPECT_ERROR(m, REQ({"cmd":"daemon-register","addr":"192.0.2.2","port":7410,"capacity":0,"class":"ssd","host":"h","uuid":"0123456789ABCDEF0123456789ABCDEF"}),
		     "uuid");
	EXPECT_ERROR(m, REQ({"cmd":"daemon-register","addr":"192.0.2.2","port":7410,"capacity":0,"class":"ssd","host":"h","uuid":"00000000000000000000000000000000"}),
		     "uuid");
	EXPECT_ERROR(m, REQ({"cmd":"daemon-register","addr":"192.0.2.2","port":7410,"capacity":0,"class":"ssd","host":"h","uuid":7}),
		     "uuid");

	/* A daemon known without a uuid (registered before they existed)
	 * adopts its store's. */
	EXPECT_OK(m, REQ({"cmd":"daemon-register","id":0,"addr":"192.0.2.3","port":7410,"capacity":0,"class":"ssd","host":"h"}));
	EXPECT_OK(m, REQ({"cmd":"daemon-register","id":2,"addr":"192.0.2.3","port":7410,"capacity":0,"class":"ssd","host":"h","uuid":"11111111111111111111111111111111"}));
	EXPECT_STREQ("11111111111111111111111111111111",
		     state_daemon(&self->m.st, 2)->uuid);
}

TEST_F(proto, no_kernel)
{
	struct mapd *m = &self->m;
	json_t *r;

	EXPECT_OK(m, REQ({"cmd":"create","pool":"default","name":"v","size":512}));
	EXPECT_ERROR(m, REQ({"cmd":"map","pool":"default","name":"v"}),
		     "--no-kernel");
	EXPECT_ERROR(m, REQ({"cmd":"unmap","device":"/dev/shard0"}),
		     "--no-kernel");
	r = test_request(m, REQ({"cmd":"status"}));
	ASSERT_TRUE(reply_ok(r));
	EXPECT_STREQ("disabled", json_string_value(json_object_get(
		json_object_get(r, "kernel"), "state")));
	EXPECT_EQ(1, json_array_size(json_object_get(r, "pools")));
	EXPECT_EQ(0, json_array_size(json_object_get(r, "devices")));
	json_decref(r);
}

TEST_F(proto, map_unmap_with_kernel)
{
	struct mapd *m = &self->m;
	json_t *r;

	use_fake_kernel(m, &self->fk);
	EXPECT_OK(m, REQ({"cmd":"create","pool":"default","name":"v","size":1048576}));
	EXPECT_ERROR(m, REQ({"cmd":"map","pool":"default","name":"nope"}),
		     "no volume");
	EXPECT_ERROR(m, REQ({"cmd":"map","pool":"default","name":"v","timeout":-1}),
		     "timeout");
	r = test_request(m, REQ({"cmd":"map","pool":"default","name":"v","read_only":true,"timeout":30}));
	ASSERT_TRUE(reply_ok(r)) TH_LOG("%s", reply_error(r));
	EXPECT_STREQ("/dev/shard0", json_string_value(json_object_get(r, "device")));
	EXPECT_EQ(0, json_integer_value(json_object_get(r, "index")));
	json_decref(r);
	/* The map went in before the device. */
	EXPECT_EQ(self->m.st.epoch, self->fk.epoch);
	EXPECT_TRUE(self->fk.devs[0].read_only);
	EXPECT_EQ(30, self->fk.devs[0].timeout);
	EXPECT_EQ(22, self->fk.devs[0].obj_order);
	EXPECT_STREQ("v", self->fk.devs[0].volume_name);
	EXPECT_ERROR(m, REQ({"cmd":"map","pool":"default","name":"v"}),
		     "already mapped at /dev/shard0");

	r = test_request(m, REQ({"cmd":"ls"}));
	EXPECT_STREQ("/dev/shard0", json_string_value(json_array_get(
		json_object_get(json_array_get(json_object_get(r, "volumes"), 0),
				"devices"), 0)));
	json_decref(r);
	EXPECT_ERROR(m, REQ({"cmd":"rm","pool":"default","name":"v"}),
		     "mapped at /dev/shard0; unmap it first");

	EXPECT_OK(m, REQ({"cmd":"resize","pool":"default","name":"v","size":2097152}));
	EXPECT_EQ(0, self->fk.last_resize_index);
	EXPECT_EQ(2097152, self->fk.last_resize_size);

	r = test_request(m, REQ({"cmd":"status"}));
	EXPECT_STREQ("ok", json_string_value(json_object_get(
		json_object_get(r, "kernel"), "state")));
	EXPECT_EQ(1, json_array_size(json_object_get(r, "devices")));
	json_decref(r);

	self->fk.devs[0].open_count = 1;
	EXPECT_ERROR(m, REQ({"cmd":"unmap","device":"shard0"}), "in use");
	EXPECT_ERROR(m, REQ({"cmd":"unmap","device":"/dev/shard7"}),
		     "no device /dev/shard7");
	EXPECT_ERROR(m, REQ({"cmd":"unmap","device":"/dev/sda"}),
		     "invalid device");
	EXPECT_ERROR(m, REQ({"cmd":"unmap","device":true}), "must be a string");
	EXPECT_ERROR(m, REQ({"cmd":"unmap"}), "missing field \"device\"");
	EXPECT_OK(m, REQ({"cmd":"unmap","pool":"default","name":"v","force":true}));
	EXPECT_EQ(0, self->fk.ndevs);
	EXPECT_ERROR(m, REQ({"cmd":"unmap","pool":"default","name":"v"}),
		     "is not mapped");

	/* Index forms. */
	EXPECT_OK(m, REQ({"cmd":"map","pool":"default","name":"v"}));
	EXPECT_OK(m, REQ({"cmd":"unmap","device":0}));
	EXPECT_OK(m, REQ({"cmd":"map","pool":"default","name":"v"}));
	EXPECT_OK(m, REQ({"cmd":"unmap","device":"0"}));
	EXPECT_OK(m, REQ({"cmd":"rm","pool":"default","name":"v"}));
}

TEST_F(proto, kernel_errors)
{
	struct mapd *m = &self->m;

	use_fake_kernel(m, &self->fk);
	EXPECT_OK(m, REQ({"cmd":"create","pool":"default","name":"v","size":512}));
	self->fk.fail_add = -EINVAL;
	EXPECT_ERROR(m, REQ({"cmd":"map","pool":"default","name":"v"}),
		     "cannot map default/v: kernel: Invalid argument");
	self->fk.not_loaded = true;
	EXPECT_ERROR(m, REQ({"cmd":"map","pool":"default","name":"v"}),
		     "not loaded");
	/* Without the module nothing is mapped: rm may go ahead. */
	EXPECT_OK(m, REQ({"cmd":"ls"}));
	EXPECT_OK(m, REQ({"cmd":"rm","pool":"default","name":"v"}));
}

TEST_F(proto, kernel_epoch_ahead)
{
	struct mapd *m = &self->m;
	struct kerr err;

	use_fake_kernel(m, &self->fk);
	self->fk.epoch = 50;	/* a map from an older state file's future */
	EXPECT_EQ(0, mapd_sync_kernel(m, &err)) TH_LOG("%s", err.msg);
	EXPECT_EQ(51, self->m.st.epoch);
	EXPECT_EQ(51, self->fk.epoch);
	/* Module reloaded: epoch 0, pushed again. */
	self->fk.epoch = 0;
	EXPECT_EQ(0, mapd_sync_kernel(m, &err));
	EXPECT_EQ(51, self->fk.epoch);
	EXPECT_EQ(2, self->fk.set_maps);
	/* In step: nothing to push. */
	EXPECT_EQ(0, mapd_sync_kernel(m, &err));
	EXPECT_EQ(2, self->fk.set_maps);
}

TEST_HARNESS_MAIN
