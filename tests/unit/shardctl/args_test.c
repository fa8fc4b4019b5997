// SPDX-License-Identifier: GPL-2.0-only
/* shardctl: sizes and the requests its arguments turn into. */
#include "kselftest_harness.h"
#include "shardctl.h"

const char *shardctl_socket = "/nonexistent";
bool shardctl_json;

/* Builds the request for argv (NULL-terminated); reason in err. */
static int build(int (*fn)(int, char **, json_t **, char *), json_t **req,
		 char *err, ...)
{
	char *argv[16];
	int argc = 0;
	va_list ap;

	va_start(ap, err);
	while (argc < 15 && (argv[argc] = va_arg(ap, char *)))
		argc++;
	va_end(ap);
	argv[argc] = NULL;
	err[0] = '\0';
	return fn(argc, argv, req, err);
}

static const char *s(json_t *req, const char *key)
{
	return json_string_value(json_object_get(req, key));
}

static long long n(json_t *req, const char *key)
{
	return json_integer_value(json_object_get(req, key));
}

TEST(sizes)
{
	char err[ERRLEN];
	uint64_t v;

	ASSERT_EQ(0, parse_size("512", &v, err));
	EXPECT_EQ(512, v);
	ASSERT_EQ(0, parse_size("4K", &v, err));
	EXPECT_EQ(4096, v);
	ASSERT_EQ(0, parse_size("10m", &v, err));
	EXPECT_EQ(10ULL << 20, v);
	ASSERT_EQ(0, parse_size("10G", &v, err));
	EXPECT_EQ(10ULL << 30, v);
	ASSERT_EQ(0, parse_size("2TiB", &v, err));
	EXPECT_EQ(2ULL << 40, v);
	ASSERT_EQ(0, parse_size("1GB", &v, err));
	EXPECT_EQ(1ULL << 30, v);
	EXPECT_NE(0, parse_size("", &v, err));
	EXPECT_NE(NULL, strstr(err, "invalid size"));
	EXPECT_NE(0, parse_size("-1G", &v, err));
	EXPECT_NE(0, parse_size("1.5G", &v, err));
	EXPECT_NE(0, parse_size("G", &v, err));
	EXPECT_NE(0, parse_size("10X", &v, err));
	EXPECT_NE(0, parse_size("10GG", &v, err));
	EXPECT_NE(0, parse_size(" 10G", &v, err));
	EXPECT_NE(0, parse_size("0", &v, err));
	EXPECT_NE(NULL, strstr(err, "greater than zero"));
	EXPECT_NE(0, parse_size("1000", &v, err));
	EXPECT_NE(NULL, strstr(err, "multiple of 512"));
	EXPECT_NE(0, parse_size("99999999999999999999", &v, err));
	EXPECT_NE(NULL, strstr(err, "too large"));
	EXPECT_NE(0, parse_size("9000000T", &v, err));
	EXPECT_NE(NULL, strstr(err, "too large"));
}

TEST(format_sizes)
{
	char buf[32];

	format_size(512, buf, sizeof(buf));
	EXPECT_STREQ("512 B", buf);
	format_size(10ULL << 30, buf, sizeof(buf));
	EXPECT_STREQ("10 GiB", buf);
	format_size(1536ULL << 20, buf, sizeof(buf));
	EXPECT_STREQ("1.5 GiB", buf);
}

TEST(create)
{
	char err[ERRLEN];
	json_t *req;

	ASSERT_EQ(0, build(create_request, &req, err, "create", "default/vm1",
			   "--size", "1G", NULL)) TH_LOG("%s", err);
	EXPECT_STREQ("create", s(req, "cmd"));
	EXPECT_STREQ("default", s(req, "pool"));
	EXPECT_STREQ("vm1", s(req, "name"));
	EXPECT_EQ(1LL << 30, n(req, "size"));
	json_decref(req);
	/* Options before the volume, and --opt=value. */
	ASSERT_EQ(0, build(create_request, &req, err, "create", "--size=4K",
			   "p/v", NULL));
	EXPECT_EQ(4096, n(req, "size"));
	json_decref(req);

	EXPECT_NE(0, build(create_request, &req, err, "create", "default/vm1", NULL));
	EXPECT_NE(NULL, strstr(err, "missing --size"));
	EXPECT_NE(0, build(create_request, &req, err, "create", "--size", "1G", NULL));
	EXPECT_NE(NULL, strstr(err, "missing argument"));
	EXPECT_NE(0, build(create_request, &req, err, "create", "a/b", "c/d", "--size", "1G", NULL));
	EXPECT_NE(NULL, strstr(err, "unexpected argument 'c/d'"));
	EXPECT_NE(0, build(create_request, &req, err, "create", "vm1", "--size", "1G", NULL));
	EXPECT_NE(NULL, strstr(err, "is not POOL/VOLUME"));
	EXPECT_NE(0, build(create_request, &req, err, "create", "a/b/c", "--size", "1G", NULL));
	EXPECT_NE(0, build(create_request, &req, err, "create", "/b", "--size", "1G", NULL));
	EXPECT_NE(0, build(create_request, &req, err, "create", "a/", "--size", "1G", NULL));
	EXPECT_NE(0, build(create_request, &req, err, "create", "a/b", "--size", "lots", NULL));
	EXPECT_NE(NULL, strstr(err, "invalid size 'lots'"));
	EXPECT_NE(0, build(create_request, &req, err, "create", "a/b", "--size", NULL));
	EXPECT_NE(NULL, strstr(err, "needs a value"));
	EXPECT_NE(0, build(create_request, &req, err, "create", "a/b", "--size", "1G", "--bogus", NULL));
	EXPECT_NE(NULL, strstr(err, "unknown option '--bogus'"));
	EXPECT_EQ(NULL, req);
}

TEST(volume_commands)
{
	char err[ERRLEN];
	json_t *req;

	ASSERT_EQ(0, build(rm_request, &req, err, "rm", "p/v", NULL));
	EXPECT_STREQ("rm", s(req, "cmd"));
	EXPECT_STREQ("v", s(req, "name"));
	json_decref(req);
	EXPECT_NE(0, build(rm_request, &req, err, "rm", NULL));

	ASSERT_EQ(0, build(ls_request, &req, err, "ls", NULL));
	EXPECT_EQ(NULL, json_object_get(req, "pool"));
	json_decref(req);
	ASSERT_EQ(0, build(ls_request, &req, err, "ls", "default", NULL));
	EXPECT_STREQ("default", s(req, "pool"));
	json_decref(req);
	EXPECT_NE(0, build(ls_request, &req, err, "ls", "a", "b", NULL));

	ASSERT_EQ(0, build(resize_request, &req, err, "resize", "p/v", "--size", "2G", "--force", NULL));
	EXPECT_EQ(2LL << 30, n(req, "size"));
	EXPECT_TRUE(json_is_true(json_object_get(req, "force")));
	json_decref(req);
	ASSERT_EQ(0, build(resize_request, &req, err, "resize", "p/v", "--size", "2G", NULL));
	EXPECT_TRUE(json_is_false(json_object_get(req, "force")));
	json_decref(req);

	ASSERT_EQ(0, build(status_request, &req, err, "status", NULL));
	EXPECT_STREQ("status", s(req, "cmd"));
	json_decref(req);
	EXPECT_NE(0, build(status_request, &req, err, "status", "x", NULL));
}

TEST(map_unmap)
{
	char err[ERRLEN];
	json_t *req;

	ASSERT_EQ(0, build(map_request, &req, err, "map", "p/v", "--read-only", "--timeout", "30", NULL));
	EXPECT_TRUE(json_is_true(json_object_get(req, "read_only")));
	EXPECT_EQ(30, n(req, "timeout"));
	json_decref(req);
	EXPECT_NE(0, build(map_request, &req, err, "map", "p/v", "--timeout", "-1", NULL));
	EXPECT_NE(NULL, strstr(err, "invalid timeout"));
	EXPECT_NE(0, build(map_request, &req, err, "map", "p/v", "--timeout", "99999999999", NULL));
	EXPECT_NE(0, build(map_request, &req, err, "map", "p/v", "--timeout", "1s", NULL));

	ASSERT_EQ(0, build(unmap_request, &req, err, "unmap", "/dev/shard3", NULL));
	EXPECT_STREQ("/dev/shard3", s(req, "device"));
	json_decref(req);
	ASSERT_EQ(0, build(unmap_request, &req, err, "unmap", "shard3", "--force", NULL));
	EXPECT_STREQ("shard3", s(req, "device"));
	EXPECT_TRUE(json_is_true(json_object_get(req, "force")));
	json_decref(req);
	ASSERT_EQ(0, build(unmap_request, &req, err, "unmap", "3", NULL));
	EXPECT_STREQ("3", s(req, "device"));
	json_decref(req);
	ASSERT_EQ(0, build(unmap_request, &req, err, "unmap", "default/vm1", NULL));
	EXPECT_STREQ("default", s(req, "pool"));
	EXPECT_EQ(NULL, json_object_get(req, "device"));
	json_decref(req);
	ASSERT_EQ(0, build(unmap_request, &req, err, "unmap", "/dev/shard/default/vm1", NULL));
	EXPECT_STREQ("vm1", s(req, "name"));
	json_decref(req);
	EXPECT_NE(0, build(unmap_request, &req, err, "unmap", "/dev/sda", NULL));
	EXPECT_NE(NULL, strstr(err, "not a shard device"));
	EXPECT_NE(0, build(unmap_request, &req, err, "unmap", "vm1", NULL));
	EXPECT_NE(0, build(unmap_request, &req, err, "unmap", NULL));
}

TEST(json_option_anywhere)
{
	char err[ERRLEN];
	json_t *req;

	shardctl_json = false;
	ASSERT_EQ(0, build(ls_request, &req, err, "ls", "--json", NULL));
	EXPECT_TRUE(shardctl_json);
	json_decref(req);
}

TEST(not_running)
{
	json_t *reply;

	/* Reported on stderr; here only the status is checked. */
	EXPECT_NE(0, call_mapd(json_pack("{s:s}", "cmd", "ls"), &reply));
	EXPECT_EQ(NULL, reply);
}

TEST_HARNESS_MAIN
