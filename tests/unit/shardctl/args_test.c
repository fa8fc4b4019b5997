// SPDX-License-Identifier: GPL-2.0-only
/* shardctl: sizes and the requests its arguments turn into. */
#include <time.h>
#include <unistd.h>

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

TEST(counts)
{
	char err[ERRLEN];
	uint64_t v;

	ASSERT_EQ(0, parse_count("3", "--size", 1, 16, &v, err));
	EXPECT_EQ(3, v);
	ASSERT_EQ(0, parse_count("16", "--size", 1, 16, &v, err));
	EXPECT_EQ(16, v);
	EXPECT_NE(0, parse_count("", "--size", 1, 16, &v, err));
	EXPECT_NE(NULL, strstr(err, "invalid --size ''"));
	EXPECT_NE(0, parse_count("x", "--size", 1, 16, &v, err));
	EXPECT_NE(0, parse_count("-1", "--size", 1, 16, &v, err));
	EXPECT_NE(0, parse_count("+1", "--size", 1, 16, &v, err));
	EXPECT_NE(0, parse_count(" 1", "--size", 1, 16, &v, err));
	EXPECT_NE(0, parse_count("1 ", "--size", 1, 16, &v, err));
	EXPECT_NE(0, parse_count("0x10", "--size", 1, 16, &v, err));
	EXPECT_NE(0, parse_count("1.5", "--size", 1, 16, &v, err));
	EXPECT_NE(NULL, strstr(err, "a whole number"));
	EXPECT_NE(0, parse_count("0", "--size", 1, 16, &v, err));
	EXPECT_NE(NULL, strstr(err, "out of range (1..16)"));
	EXPECT_NE(0, parse_count("17", "--size", 1, 16, &v, err));
	EXPECT_NE(0, parse_count("99999999999999999999999", "--size", 1, 16,
				 &v, err));
	EXPECT_NE(NULL, strstr(err, "out of range"));
	EXPECT_NE(0, parse_count("99999999999999999999999x", "--size", 1, 16,
				 &v, err));
	EXPECT_NE(NULL, strstr(err, "a whole number"));
}

TEST(pool_create)
{
	char err[ERRLEN];
	json_t *req;

	ASSERT_EQ(0, build(pool_create_request, &req, err, "pool create", "fast",
			   "--size", "3", NULL)) TH_LOG("%s", err);
	EXPECT_STREQ("pool-create", s(req, "cmd"));
	EXPECT_STREQ("fast", s(req, "name"));
	EXPECT_EQ(3, n(req, "size"));
	/* Left to shard-mapd's defaults. */
	EXPECT_EQ(NULL, json_object_get(req, "min_size"));
	EXPECT_EQ(NULL, json_object_get(req, "class"));
	EXPECT_EQ(NULL, json_object_get(req, "failure_domain"));
	EXPECT_EQ(NULL, json_object_get(req, "pgs"));
	json_decref(req);

	ASSERT_EQ(0, build(pool_create_request, &req, err, "pool create",
			   "--pgs=256", "--failure-domain", "rack", "big",
			   "--size", "3", "--min-size", "2",
			   "--device-class", "hdd", NULL)) TH_LOG("%s", err);
	EXPECT_STREQ("big", s(req, "name"));
	EXPECT_EQ(3, n(req, "size"));
	EXPECT_EQ(2, n(req, "min_size"));
	EXPECT_STREQ("hdd", s(req, "class"));
	EXPECT_STREQ("rack", s(req, "failure_domain"));
	EXPECT_EQ(256, n(req, "pgs"));
	json_decref(req);
	ASSERT_EQ(0, build(pool_create_request, &req, err, "pool create", "p",
			   "--size", "2", "--device-class", "ssd",
			   "--failure-domain", "site", NULL));
	EXPECT_STREQ("ssd", s(req, "class"));
	EXPECT_STREQ("site", s(req, "failure_domain"));
	json_decref(req);
	ASSERT_EQ(0, build(pool_create_request, &req, err, "pool create", "p",
			   "--size", "1", "--failure-domain", "host", NULL));
	json_decref(req);
	ASSERT_EQ(0, build(pool_create_request, &req, err, "pool create", "p",
			   "--size", "3", "--failure-domain", "daemon", NULL));
	EXPECT_STREQ("daemon", s(req, "failure_domain"));
	json_decref(req);

	EXPECT_NE(0, build(pool_create_request, &req, err, "pool create", "p", NULL));
	EXPECT_NE(NULL, strstr(err, "missing --size (usage: pool create NAME --size N"));
	EXPECT_NE(0, build(pool_create_request, &req, err, "pool create", "--size", "3", NULL));
	EXPECT_NE(NULL, strstr(err, "missing argument (usage: pool create NAME"));
	EXPECT_NE(0, build(pool_create_request, &req, err, "pool create", "a", "b", "--size", "3", NULL));
	EXPECT_NE(NULL, strstr(err, "unexpected argument 'b'"));
	EXPECT_NE(0, build(pool_create_request, &req, err, "pool create", "p", "--size", "three", NULL));
	EXPECT_NE(NULL, strstr(err, "invalid --size 'three'"));
	EXPECT_NE(0, build(pool_create_request, &req, err, "pool create", "p", "--size", "0", NULL));
	EXPECT_NE(NULL, strstr(err, "--size 0 is out of range"));
	EXPECT_NE(0, build(pool_create_request, &req, err, "pool create", "p", "--size", "-3", NULL));
	EXPECT_NE(0, build(pool_create_request, &req, err, "pool create", "p", "--size", "3", "--min-size", "4", NULL));
	EXPECT_NE(NULL, strstr(err, "--min-size 4 is more than --size 3"));
	EXPECT_NE(0, build(pool_create_request, &req, err, "pool create", "p", "--size", "3", "--min-size", "0", NULL));
	EXPECT_NE(0, build(pool_create_request, &req, err, "pool create", "p", "--size", "3", "--min-size", "2x", NULL));
	EXPECT_NE(NULL, strstr(err, "invalid --min-size '2x'"));
	EXPECT_NE(0, build(pool_create_request, &req, err, "pool create", "p", "--size", "3", "--pgs", "0", NULL));
	EXPECT_NE(NULL, strstr(err, "--pgs 0 is out of range"));
	EXPECT_NE(0, build(pool_create_request, &req, err, "pool create", "p", "--size", "3", "--pgs", "65537", NULL));
	EXPECT_NE(0, build(pool_create_request, &req, err, "pool create", "p", "--size", "3", "--pgs", "1e3", NULL));
	EXPECT_NE(0, build(pool_create_request, &req, err, "pool create", "p", "--size", "3", "--device-class", "nvme", NULL));
	EXPECT_NE(NULL, strstr(err, "invalid --device-class 'nvme' (ssd or hdd)"));
	EXPECT_NE(0, build(pool_create_request, &req, err, "pool create", "p", "--size", "3", "--device-class", "SSD", NULL));
	EXPECT_NE(0, build(pool_create_request, &req, err, "pool create", "p", "--size", "3", "--failure-domain", "row", NULL));
	EXPECT_NE(NULL, strstr(err, "invalid --failure-domain 'row' (host, rack, site or daemon)"));
	EXPECT_NE(0, build(pool_create_request, &req, err, "pool create", "p", "--size", "3", "--failure-domain", NULL));
	EXPECT_NE(NULL, strstr(err, "needs a value"));
	EXPECT_NE(0, build(pool_create_request, &req, err, "pool create", "p", "--size", "3", "--class", "ssd", NULL));
	EXPECT_NE(NULL, strstr(err, "unknown option '--class'"));
	EXPECT_EQ(NULL, req);
}

TEST(pool_ls_rm)
{
	char err[ERRLEN];
	json_t *req;

	ASSERT_EQ(0, build(pool_ls_request, &req, err, "pool ls", NULL));
	EXPECT_STREQ("pool-ls", s(req, "cmd"));
	json_decref(req);
	EXPECT_NE(0, build(pool_ls_request, &req, err, "pool ls", "x", NULL));
	EXPECT_NE(NULL, strstr(err, "unexpected argument 'x'"));
	EXPECT_NE(0, build(pool_ls_request, &req, err, "pool ls", "--all", NULL));

	ASSERT_EQ(0, build(pool_rm_request, &req, err, "pool rm", "fast", NULL));
	EXPECT_STREQ("pool-rm", s(req, "cmd"));
	EXPECT_STREQ("fast", s(req, "name"));
	json_decref(req);
	EXPECT_NE(0, build(pool_rm_request, &req, err, "pool rm", NULL));
	EXPECT_NE(NULL, strstr(err, "missing argument (usage: pool rm NAME)"));
	EXPECT_NE(0, build(pool_rm_request, &req, err, "pool rm", "a", "b", NULL));
	EXPECT_NE(NULL, strstr(err, "unexpected argument 'b'"));
	EXPECT_EQ(NULL, req);
}

TEST(daemon_commands)
{
	int (*fn[])(int, char **, json_t **, char *) = {
		daemon_out_request, daemon_in_request, daemon_rm_request,
	};
	const char *names[] = { "daemon out", "daemon in", "daemon rm" };
	const char *cmds[] = { "daemon-out", "daemon-in", "daemon-rm" };
	char err[ERRLEN];
	json_t *req;

	ASSERT_EQ(0, build(daemon_ls_request, &req, err, "daemon ls", NULL));
	EXPECT_STREQ("daemon-ls", s(req, "cmd"));
	json_decref(req);
	EXPECT_NE(0, build(daemon_ls_request, &req, err, "daemon ls", "1", NULL));

	for (int i = 0; i < 3; i++) {
		char *name = (char *)names[i];

		ASSERT_EQ(0, build(fn[i], &req, err, name, "4", NULL))
			TH_LOG("%s: %s", name, err);
		EXPECT_STREQ(cmds[i], s(req, "cmd"));
		EXPECT_EQ(4, n(req, "id"));
		json_decref(req);
		ASSERT_EQ(0, build(fn[i], &req, err, name, "65535", NULL));
		json_decref(req);
		EXPECT_NE(0, build(fn[i], &req, err, name, NULL));
		EXPECT_NE(NULL, strstr(err, "missing argument"));
		EXPECT_NE(0, build(fn[i], &req, err, name, "1", "2", NULL));
		EXPECT_NE(NULL, strstr(err, "unexpected argument '2'"));
		EXPECT_NE(0, build(fn[i], &req, err, name, "osd.4", NULL));
		EXPECT_NE(NULL, strstr(err, "invalid daemon id 'osd.4'"));
		EXPECT_NE(0, build(fn[i], &req, err, name, "0", NULL));
		EXPECT_NE(NULL, strstr(err, "out of range"));
		EXPECT_NE(0, build(fn[i], &req, err, name, "65536", NULL));
		EXPECT_NE(0, build(fn[i], &req, err, name, "99999999999999999999", NULL));
		EXPECT_NE(0, build(fn[i], &req, err, name, "-1", NULL));
		EXPECT_NE(NULL, strstr(err, "unknown option '-1'"));
		EXPECT_EQ(NULL, req);
	}
}

TEST(pg_ls_map_show)
{
	char err[ERRLEN];
	json_t *req;

	ASSERT_EQ(0, build(pg_ls_request, &req, err, "pg ls", NULL));
	EXPECT_STREQ("pg-ls", s(req, "cmd"));
	EXPECT_EQ(NULL, json_object_get(req, "pool"));
	json_decref(req);
	ASSERT_EQ(0, build(pg_ls_request, &req, err, "pg ls", "fast", NULL));
	EXPECT_STREQ("fast", s(req, "pool"));
	json_decref(req);
	EXPECT_NE(0, build(pg_ls_request, &req, err, "pg ls", "a", "b", NULL));
	EXPECT_NE(NULL, strstr(err, "unexpected argument 'b' (usage: pg ls [POOL])"));

	ASSERT_EQ(0, build(map_show_request, &req, err, "map-show", NULL));
	EXPECT_STREQ("map-show", s(req, "cmd"));
	json_decref(req);
	shardctl_json = false;
	ASSERT_EQ(0, build(map_show_request, &req, err, "map-show", "--json", NULL));
	EXPECT_TRUE(shardctl_json);
	shardctl_json = false;
	json_decref(req);
	EXPECT_NE(0, build(map_show_request, &req, err, "map-show", "1", NULL));
	EXPECT_NE(0, build(map_show_request, &req, err, "map-show", "--epoch", "1", NULL));
	EXPECT_EQ(NULL, req);
}

TEST(scrub_commands)
{
	char err[ERRLEN];
	json_t *req;

	ASSERT_EQ(0, build(pg_scrub_request, &req, err, "pg scrub", "2.1f", NULL));
	EXPECT_STREQ("pg-scrub", s(req, "cmd"));
	EXPECT_STREQ("2.1f", s(req, "pgid"));
	EXPECT_TRUE(json_is_false(json_object_get(req, "deep")));
	json_decref(req);
	ASSERT_EQ(0, build(pg_deep_scrub_request, &req, err, "pg deep-scrub", "12.ABCDEF01", NULL));
	EXPECT_STREQ("pg-scrub", s(req, "cmd"));
	EXPECT_STREQ("12.ABCDEF01", s(req, "pgid"));
	EXPECT_TRUE(json_is_true(json_object_get(req, "deep")));
	json_decref(req);

	EXPECT_NE(0, build(pg_scrub_request, &req, err, "pg scrub", NULL));
	EXPECT_NE(NULL, strstr(err, "(usage: pg scrub PGID)")) TH_LOG("%s", err);
	EXPECT_NE(0, build(pg_scrub_request, &req, err, "pg scrub", "2.1", "2.2", NULL));
	EXPECT_NE(NULL, strstr(err, "unexpected argument '2.2'")) TH_LOG("%s", err);
	EXPECT_NE(0, build(pg_scrub_request, &req, err, "pg scrub", "--deep", "2.1", NULL));
	EXPECT_NE(NULL, strstr(err, "--deep")) TH_LOG("%s", err);
	{
		static const char *const bad[] = {
			"2", "2.", ".1", "x.1", "2.g", "2.1.1", "2.-1",
			"2.0x1", " 2.1", "2.1 ", "", "2.123456789",
			"12345678901.1", "vms",
		};

		for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			EXPECT_NE(0, build(pg_deep_scrub_request, &req, err,
					   "pg deep-scrub", bad[i], NULL))
				TH_LOG("'%s' taken", bad[i]);
			EXPECT_NE(NULL, strstr(err, "bad PG id")) TH_LOG("%s", err);
			EXPECT_EQ(NULL, req);
		}
	}
	EXPECT_TRUE(valid_pgid("1.0"));
	EXPECT_TRUE(valid_pgid("4294967295.ffffffff"));

	ASSERT_EQ(0, build(pool_scrub_request, &req, err, "pool scrub", "vms", NULL));
	EXPECT_STREQ("pool-scrub", s(req, "cmd"));
	EXPECT_STREQ("vms", s(req, "pool"));
	EXPECT_TRUE(json_is_false(json_object_get(req, "deep")));
	json_decref(req);
	ASSERT_EQ(0, build(pool_scrub_request, &req, err, "pool scrub", "--deep", "vms", NULL));
	EXPECT_TRUE(json_is_true(json_object_get(req, "deep")));
	json_decref(req);
	ASSERT_EQ(0, build(pool_scrub_request, &req, err, "pool scrub", "vms", "--deep", NULL));
	EXPECT_TRUE(json_is_true(json_object_get(req, "deep")));
	json_decref(req);
	EXPECT_NE(0, build(pool_scrub_request, &req, err, "pool scrub", NULL));
	EXPECT_NE(NULL, strstr(err, "(usage: pool scrub NAME [--deep])")) TH_LOG("%s", err);
	EXPECT_NE(0, build(pool_scrub_request, &req, err, "pool scrub", "a", "b", NULL));
	EXPECT_NE(0, build(pool_scrub_request, &req, err, "pool scrub", "--deep=yes", "a", NULL));
	EXPECT_NE(0, build(pool_scrub_request, &req, err, "pool scrub", "--shallow", "a", NULL));
	EXPECT_NE(NULL, strstr(err, "--shallow")) TH_LOG("%s", err);
	EXPECT_EQ(NULL, req);
}

TEST(cluster_create_join)
{
	char err[ERRLEN];
	json_t *req;

	ASSERT_EQ(0, build(cluster_create_request, &req, err, "cluster create",
			   "prod", "--etcd", "http://10.0.0.1:2379,http://10.0.0.2:2379",
			   NULL)) TH_LOG("%s", err);
	EXPECT_STREQ("cluster-create", s(req, "cmd"));
	EXPECT_STREQ("prod", s(req, "cluster"));
	EXPECT_STREQ("http://10.0.0.1:2379,http://10.0.0.2:2379", s(req, "etcd"));
	EXPECT_EQ(NULL, json_object_get(req, "name"));	/* mapd's default */
	json_decref(req);
	ASSERT_EQ(0, build(cluster_join_request, &req, err, "cluster join",
			   "--name", "pve2", "--etcd=http://10.0.0.1:2379", "prod",
			   NULL)) TH_LOG("%s", err);
	EXPECT_STREQ("cluster-join", s(req, "cmd"));
	EXPECT_STREQ("pve2", s(req, "name"));
	json_decref(req);

	EXPECT_NE(0, build(cluster_join_request, &req, err, "cluster join", "prod", NULL));
	EXPECT_NE(NULL, strstr(err, "missing --etcd URLS"));
	EXPECT_NE(0, build(cluster_join_request, &req, err, "cluster join", "prod", "--etcd", "", NULL));
	EXPECT_NE(NULL, strstr(err, "missing --etcd URLS"));
	EXPECT_NE(0, build(cluster_create_request, &req, err, "cluster create", "--etcd", "http://a:1", NULL));
	EXPECT_NE(NULL, strstr(err, "missing argument (usage: cluster create NAME"));
	EXPECT_NE(0, build(cluster_create_request, &req, err, "cluster create", "a", "b", "--etcd", "http://a:1", NULL));
	EXPECT_NE(NULL, strstr(err, "unexpected argument 'b'"));
	EXPECT_NE(0, build(cluster_create_request, &req, err, "cluster create", "a", "--etcd", NULL));
}

TEST(client_commands)
{
	int (*fn[])(int, char **, json_t **, char *) = {
		client_blocklist_request, client_unblocklist_request,
	};
	const char *names[] = { "client blocklist", "client unblocklist" };
	const char *cmds[] = { "client-blocklist", "client-unblocklist" };
	char err[ERRLEN];
	json_t *req;

	for (int i = 0; i < 2; i++) {
		char *name = (char *)names[i];

		ASSERT_EQ(0, build(fn[i], &req, err, name, "10.0.0.5", NULL))
			TH_LOG("%s: %s", name, err);
		EXPECT_STREQ(cmds[i], s(req, "cmd"));
		EXPECT_STREQ("10.0.0.5", s(req, "addr"));
		EXPECT_EQ(2, json_object_size(req));
		json_decref(req);
		/* mapd normalizes: the address goes as given. */
		ASSERT_EQ(0, build(fn[i], &req, err, name, "2001:DB8::1", NULL));
		EXPECT_STREQ("2001:DB8::1", s(req, "addr"));
		json_decref(req);
		ASSERT_EQ(0, build(fn[i], &req, err, name, "::ffff:10.0.0.1", NULL));
		EXPECT_STREQ("::ffff:10.0.0.1", s(req, "addr"));
		json_decref(req);
		ASSERT_EQ(0, build(fn[i], &req, err, name, "::1", NULL));
		EXPECT_STREQ("::1", s(req, "addr"));
		json_decref(req);
		shardctl_json = false;
		ASSERT_EQ(0, build(fn[i], &req, err, name, "--json", "10.0.0.5", NULL));
		EXPECT_TRUE(shardctl_json);
		shardctl_json = false;
		json_decref(req);

		EXPECT_NE(0, build(fn[i], &req, err, name, NULL));
		EXPECT_NE(NULL, strstr(err, "missing argument (usage: "));
		EXPECT_NE(NULL, strstr(err, " ADDR)"));
		EXPECT_NE(0, build(fn[i], &req, err, name, "10.0.0.5", "10.0.0.6", NULL));
		EXPECT_NE(NULL, strstr(err, "unexpected argument '10.0.0.6'"));
		EXPECT_NE(0, build(fn[i], &req, err, name, "node1", NULL));
		EXPECT_STREQ("bad address 'node1' (a numeric IPv4 or IPv6 address)", err);
		EXPECT_NE(0, build(fn[i], &req, err, name, "10.0.0.0/8", NULL));
		EXPECT_NE(NULL, strstr(err, "bad address '10.0.0.0/8'"));
		EXPECT_NE(0, build(fn[i], &req, err, name, "10.0.0.256", NULL));
		EXPECT_NE(NULL, strstr(err, "bad address"));
		EXPECT_NE(0, build(fn[i], &req, err, name, "[::1]", NULL));
		EXPECT_NE(NULL, strstr(err, "bad address"));
		EXPECT_NE(0, build(fn[i], &req, err, name, "", NULL));
		EXPECT_NE(NULL, strstr(err, "bad address ''"));
		EXPECT_NE(0, build(fn[i], &req, err, name, "--all", NULL));
		EXPECT_NE(NULL, strstr(err, "unknown option '--all'"));
		EXPECT_EQ(NULL, req);
	}

	ASSERT_EQ(0, build(client_ls_request, &req, err, "client ls", NULL));
	EXPECT_STREQ("client-ls", s(req, "cmd"));
	EXPECT_EQ(1, json_object_size(req));
	json_decref(req);
	EXPECT_NE(0, build(client_ls_request, &req, err, "client ls", "10.0.0.5", NULL));
	EXPECT_NE(NULL, strstr(err, "unexpected argument '10.0.0.5'"));
	EXPECT_EQ(NULL, req);
}

TEST(recovery_share_command)
{
	const char *bad[] = { "0", "101", "-1", "1.5", "25%", "", "abc",
			      "99999999999999999999", "Default" };
	char err[ERRLEN];
	json_t *req;

	ASSERT_EQ(0, build(recovery_share_request, &req, err, "recovery share", "40", NULL))
		TH_LOG("%s", err);
	EXPECT_STREQ("recovery-share", s(req, "cmd"));
	EXPECT_EQ(40, n(req, "share"));
	EXPECT_EQ(2, json_object_size(req));
	json_decref(req);
	ASSERT_EQ(0, build(recovery_share_request, &req, err, "recovery share", "1", NULL));
	EXPECT_EQ(1, n(req, "share"));
	json_decref(req);
	ASSERT_EQ(0, build(recovery_share_request, &req, err, "recovery share", "100", NULL));
	EXPECT_EQ(100, n(req, "share"));
	json_decref(req);
	/* default: null, each daemon's own. */
	ASSERT_EQ(0, build(recovery_share_request, &req, err, "recovery share", "default", NULL));
	EXPECT_STREQ("recovery-share", s(req, "cmd"));
	EXPECT_TRUE(json_is_null(json_object_get(req, "share")));
	json_decref(req);
	shardctl_json = false;
	ASSERT_EQ(0, build(recovery_share_request, &req, err, "recovery share", "--json", "25", NULL));
	EXPECT_TRUE(shardctl_json);
	shardctl_json = false;
	json_decref(req);

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char want[ERRLEN];

		req = NULL;
		EXPECT_NE(0, build(recovery_share_request, &req, err, "recovery share",
				   (char *)bad[i], NULL)) TH_LOG("'%s'", bad[i]);
		if (bad[i][0] == '-')
			continue;	/* an option */
		snprintf(want, sizeof(want), "'%s': say a percentage 1..100, or default", bad[i]);
		EXPECT_STREQ(want, err);
		EXPECT_EQ(NULL, req);
	}
	EXPECT_NE(0, build(recovery_share_request, &req, err, "recovery share", "-1", NULL));
	EXPECT_STREQ("unknown option '-1'", err);
	EXPECT_NE(0, build(recovery_share_request, &req, err, "recovery share", NULL));
	EXPECT_STREQ("missing argument (usage: recovery share PCT|default)", err);
	EXPECT_NE(0, build(recovery_share_request, &req, err, "recovery share", "20", "30", NULL));
	EXPECT_STREQ("unexpected argument '30' (usage: recovery share PCT|default)", err);
	EXPECT_EQ(NULL, req);
}

TEST(reply_text)
{
	json_t *ids = json_pack("[i, n, i, i, i, n]", 1, 2, 30, 4);
	json_t *d = json_pack("{s:s, s:i}", "addr", "fd00::1", "port", 7410);
	char buf[64], *t;

	t = format_ids(ids, 0, 3);
	EXPECT_STREQ("1,-,2", t);
	free(t);
	t = format_ids(ids, 3, 3);
	EXPECT_STREQ("30,4,-", t);
	free(t);
	t = format_ids(ids, 6, 3);	/* past the end */
	EXPECT_STREQ("-", t);
	free(t);
	t = format_ids(NULL, 0, 3);
	EXPECT_STREQ("-", t);
	free(t);
	format_addr(d, buf, sizeof(buf));
	EXPECT_STREQ("[fd00::1]:7410", buf);
	json_object_set_new(d, "addr", json_string("10.0.0.1"));
	format_addr(d, buf, sizeof(buf));
	EXPECT_STREQ("10.0.0.1:7410", buf);
	t = json_text(json_object_get(d, "port"));
	EXPECT_STREQ("7410", t);
	free(t);
	t = json_text(json_null());
	EXPECT_STREQ("-", t);
	free(t);
	/* Missing fields read as empty, not as a crash. */
	EXPECT_EQ(NULL, jstr(NULL, "x"));
	EXPECT_EQ(0, jnum(d, "nothere"));
	EXPECT_FALSE(jtrue(d, "addr"));
	json_decref(ids);
	json_decref(d);
}

/* What print(reply) writes on stdout, malloc'd. */
static char *printed(void (*print)(json_t *), json_t *reply)
{
	FILE *f = tmpfile();
	int saved = dup(STDOUT_FILENO);
	char *buf = calloc(1, 8192);

	fflush(stdout);
	dup2(fileno(f), STDOUT_FILENO);
	print(reply);
	fflush(stdout);
	dup2(saved, STDOUT_FILENO);
	close(saved);
	rewind(f);
	fread(buf, 1, 8191, f);
	fclose(f);
	return buf;
}

TEST(status_text)
{
	json_t *reply = json_loads(
		"{\"mode\":\"cluster\",\"leader\":\"node2\","
		" \"etcd\":{\"state\":\"unreachable\",\"error\":\"connection refused\"},"
		" \"epoch\":7,\"kernel\":{\"state\":\"ok\",\"epoch\":7},"
		" \"hosts\":{\"node2\":{\"host\":\"node2\",\"daemons\":1,\"up\":0,\"capacity\":1073741824,\"ids\":[2]},"
		"            \"node1\":{\"host\":\"node1\",\"daemons\":1,\"up\":1,\"capacity\":2147483648,\"ids\":[1]}},"
		" \"daemons\":[{\"id\":1,\"host\":\"node1\",\"rack\":\"r1\",\"site\":\"dc1\",\"addr\":\"10.0.0.1\",\"port\":7410,"
		"              \"capacity\":2147483648,\"used\":1048576,\"class\":\"ssd\",\"up\":true,\"in\":true,"
		"              \"pgs\":12,\"primaries\":6,\"connected\":2},"
		"             {\"id\":2,\"host\":\"node2\",\"site\":\"dc1\",\"addr\":\"fd00::2\",\"port\":7411,"
		"              \"capacity\":1073741824,\"used\":0,\"class\":\"hdd\",\"up\":false,\"in\":false,"
		"              \"pgs\":0,\"primaries\":0}],"
		" \"pools\":[{\"id\":1,\"name\":\"fast\",\"size\":3,\"min_size\":2,\"pg_count\":128,\"class\":\"ssd\","
		"            \"failure_domain\":\"rack\",\"volumes\":4,\"usable\":1073741824,\"max_deviation\":0.0431,"
		"            \"empty_slots\":0,\"pg_states\":{\"down\":8,\"active+clean\":120},\"capped\":[4,5]}],"
		" \"devices\":[]}", 0, NULL);
	char *out;

	ASSERT_NE(NULL, reply);
	out = printed(status_print, reply);
	EXPECT_NE(NULL, strstr(out, "mode: cluster, leader: node2, etcd: unreachable (connection refused)\n"
				    "epoch: 7\nkernel: ok (map epoch 7)\n\n")) TH_LOG("%s", out);
	/* Hosts sorted by name. */
	EXPECT_NE(NULL, strstr(out, "HOST   DAEMONS  UP  CAPACITY\n"
				    "node1  1        1   2 GiB\n"
				    "node2  1        0   1 GiB\n")) TH_LOG("%s", out);
	EXPECT_NE(NULL, strstr(out, "DAEMON  DOMAIN        ADDRESS         CLASS  CAPACITY  USED   STATE  IN   PGS  PRIMARIES  RECOVERY  CONNECTED\n"
				    "1       node1/r1/dc1  10.0.0.1:7410   ssd    2 GiB     1 MiB  up     in   12   6          -         2\n"
				    "2       node2/-/dc1   [fd00::2]:7411  hdd    1 GiB     0 B    down   out  0    0          -         -\n"))
		TH_LOG("%s", out);
	EXPECT_NE(NULL, strstr(out, "fast  1   3       2    128  ssd    rack  4        1 GiB   4.3%       120 active+clean, 8 down\n"))
		TH_LOG("%s", out);
	EXPECT_NE(NULL, strstr(out, "warning: daemon 4 cannot be filled in proportion: its failure domain is too large for pool fast\n"
				    "warning: daemon 5 cannot"));
	EXPECT_NE(NULL, strstr(out, "no devices mapped\n"));
	free(out);

	/* Embedded mode, nothing registered; odd types do not crash it. */
	json_decref(reply);
	reply = json_loads("{\"mode\":\"embedded\",\"epoch\":1,\"kernel\":{\"state\":\"disabled\"},"
			   "\"hosts\":{},\"daemons\":[],\"pools\":[{\"name\":3,\"pg_states\":[1],\"capped\":{}}],"
			   "\"devices\":[]}", 0, NULL);
	ASSERT_NE(NULL, reply);
	out = printed(status_print, reply);
	EXPECT_NE(NULL, strstr(out, "mode: embedded\nepoch: 1\nkernel: disabled\n\nno daemons registered\n"))
		TH_LOG("%s", out);
	free(out);
	json_decref(reply);
	out = printed(status_print, NULL);
	EXPECT_NE(NULL, strstr(out, "epoch: 0\nkernel: ?\n"));
	free(out);
}

/* status's one line about recovery, from the reply's "recovery". */
static char *recovery_line(const char *rec)
{
	char text[512];
	json_t *reply;
	char *out;

	snprintf(text, sizeof(text),
		 "{\"mode\":\"embedded\",\"epoch\":1,\"kernel\":{\"state\":\"disabled\"},"
		 "\"recovery\":%s,\"hosts\":{},\"daemons\":[],\"pools\":[],\"devices\":[]}",
		 rec);
	reply = json_loads(text, 0, NULL);
	out = printed(status_print, reply);
	json_decref(reply);
	return out;
}

TEST(status_recovery_text)
{
	static const char *const cases[][2] = {
		{ "{\"objects\":12,\"bytes\":50331648,\"rate\":21076377,\"eta\":3,\"copied\":1288490189}",
		  "kernel: disabled\nrecovery: 12 objects, 48 MiB to go at 20.1 MiB/s, about 3 s left (1.2 GiB copied)\n\n" },
		{ "{\"objects\":0,\"bytes\":0,\"rate\":0,\"eta\":null,\"copied\":1288490189}",
		  "kernel: disabled\nrecovery: idle (1.2 GiB copied)\n\n" },
		/* Idle, and it still copies what it had in hand. */
		{ "{\"objects\":0,\"bytes\":0,\"rate\":5000,\"eta\":null,\"copied\":0}",
		  "recovery: idle (0 B copied)\n" },
		/* Not copying now: no eta. */
		{ "{\"objects\":1,\"bytes\":4096,\"rate\":0,\"eta\":null,\"copied\":0}",
		  "recovery: 1 object, 4 KiB to go at 0 B/s (0 B copied)\n" },
		{ "{\"objects\":900,\"bytes\":107374182400,\"rate\":19884107,\"eta\":5400,\"copied\":512}",
		  "recovery: 900 objects, 100 GiB to go at 19.0 MiB/s, about 90 min left (512 B copied)\n" },
		{ "{\"objects\":9,\"bytes\":9,\"rate\":1,\"eta\":9000,\"copied\":0}",
		  ", about 2.5 h left (" },
		{ "{\"objects\":9,\"bytes\":9,\"rate\":1,\"eta\":200000,\"copied\":0}",
		  ", about 2.3 days left (" },
		{ "{\"objects\":9,\"bytes\":9,\"rate\":1,\"eta\":119,\"copied\":0}",
		  ", about 119 s left (" },
		/* Odd types do not crash it. */
		{ "{\"objects\":\"x\",\"bytes\":[],\"eta\":\"soon\"}",
		  "recovery: idle (0 B copied)\n" },
		{ "{\"objects\":-3,\"bytes\":-1,\"rate\":-1,\"copied\":-1}",
		  "recovery: idle (0 B copied)\n" },
		{ "{\"objects\":2,\"bytes\":-1,\"rate\":-1,\"eta\":-5,\"copied\":-1}",
		  "recovery: 2 objects, 0 B to go at 0 B/s (0 B copied)\n" },
	};
	size_t i;
	char *out;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		out = recovery_line(cases[i][0]);
		EXPECT_NE(NULL, strstr(out, cases[i][1]))
			TH_LOG("%s -> %s", cases[i][0], out);
		free(out);
	}
	/* Not an object (or a mapd that predates it): no line. */
	out = recovery_line("7");
	EXPECT_EQ(NULL, strstr(out, "recovery"));
	EXPECT_NE(NULL, strstr(out, "kernel: disabled\n\n"));
	free(out);
	out = recovery_line("null");
	EXPECT_EQ(NULL, strstr(out, "recovery"));
	free(out);
}

/* daemon ls's table of these daemons. */
static void print_ls_table(json_t *reply)
{
	print_daemon_table(json_object_get(reply, "daemons"), false);
}

TEST(daemon_ls_recovery_column)
{
	static const char *const cases[][2] = {
		{ "\"recovery\":{\"objects\":12,\"bytes\":50331648,\"rate\":21076377,\"copied\":1288490189}",
		  "  12 obj/48 MiB\n" },
		{ "\"recovery\":{\"objects\":1,\"bytes\":4096,\"rate\":0,\"copied\":0}",
		  "  1 obj/4 KiB\n" },
		/* Done, it copied: nothing left to show. */
		{ "\"recovery\":{\"objects\":0,\"bytes\":0,\"rate\":9,\"copied\":1288490189}",
		  "  -\n" },
		/* A mapd that predates it. */
		{ "\"in\":true", "  -\n" },
		/* Odd types do not crash it. */
		{ "\"recovery\":7", "  -\n" },
		{ "\"recovery\":{\"objects\":\"x\",\"bytes\":[]}", "  -\n" },
		{ "\"recovery\":{\"objects\":-3,\"bytes\":-1}", "  -\n" },
		{ "\"recovery\":{\"objects\":2,\"bytes\":-1}", "  2 obj/0 B\n" },
		{ "\"recovery\":{\"objects\":-2,\"bytes\":1024}", "  0 obj/1 KiB\n" },
		{ "\"recovery\":{\"objects\":9223372036854775807,\"bytes\":9223372036854775807}",
		  "  9223372036854775807 obj/8.0 EiB\n" },
	};
	char text[512];
	json_t *reply;
	size_t i;
	char *out;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(text, sizeof(text),
			 "{\"daemons\":[{\"id\":1,\"host\":\"node1\",\"addr\":\"10.0.0.1\",\"port\":7410,"
			 "\"capacity\":1073741824,\"used\":0,\"class\":\"ssd\",\"up\":true,"
			 "\"pgs\":3,\"primaries\":1,%s}]}", cases[i][0]);
		reply = json_loads(text, 0, NULL);
		ASSERT_NE(NULL, reply) TH_LOG("%s", text);
		out = printed(print_ls_table, reply);
		EXPECT_NE(NULL, strstr(out, "  PRIMARIES  RECOVERY\n1       node1  "))
			TH_LOG("%s", out);
		EXPECT_NE(NULL, strstr(out, cases[i][1]))
			TH_LOG("%s -> %s", cases[i][0], out);
		EXPECT_EQ(NULL, strstr(out, "CONNECTED"));
		free(out);
		json_decref(reply);
	}
}

TEST(scrub_text)
{
	json_t *reply = json_loads(
		"{\"pgs\":[{\"pgid\":\"2.0\",\"pool\":\"rep\",\"up\":[1,2],\"acting\":[1,2],\"primary\":1,"
		"          \"state\":\"active+clean\",\"last_scrub\":null,\"last_deep_scrub\":null,\"scrub_errors\":0},"
		"         {\"pgid\":\"2.1\",\"pool\":\"rep\",\"up\":[2,1],\"acting\":[2,1],\"primary\":2,"
		"          \"state\":\"active+clean+inconsistent\",\"last_scrub\":1795468800,"
		"          \"last_deep_scrub\":1795468800,\"scrub_errors\":2}]}", 0, NULL);
	char *out, buf[64];
	json_t *v;

	setenv("TZ", "UTC", 1);
	tzset();
	v = json_integer(1795468800);	/* 2026-11-23 21:20 UTC */
	format_scrub_time(v, buf, sizeof(buf));
	EXPECT_STREQ("2026-11-23 21:20", buf);
	json_decref(v);
	format_scrub_time(json_null(), buf, sizeof(buf));
	EXPECT_STREQ("never", buf);
	format_scrub_time(NULL, buf, sizeof(buf));
	EXPECT_STREQ("never", buf);
	v = json_string("yesterday");
	format_scrub_time(v, buf, sizeof(buf));
	EXPECT_STREQ("never", buf);
	json_decref(v);

	ASSERT_NE(NULL, reply);
	out = printed(pg_ls_print, reply);
	EXPECT_STREQ("PG   POOL  STATE                      UP   ACTING  PRIMARY  LAST SCRUB        ERRORS\n"
		     "2.0  rep   active+clean               1,2  1,2     1        never             \n"
		     "2.1  rep   active+clean+inconsistent  2,1  2,1     2        2026-11-23 21:20  2\n", out);
	free(out);
	/* No errors anywhere: no errors column. */
	json_object_set_new(json_array_get(json_object_get(reply, "pgs"), 1),
			    "scrub_errors", json_integer(0));
	out = printed(pg_ls_print, reply);
	EXPECT_NE(NULL, strstr(out, "PRIMARY  LAST SCRUB\n")) TH_LOG("%s", out);
	EXPECT_EQ(NULL, strstr(out, "ERRORS")) TH_LOG("%s", out);
	free(out);
	json_decref(reply);

	reply = json_pack("{s:i}", "primary", 4);
	out = printed(pg_scrub_print, reply);
	EXPECT_NE(NULL, strstr(out, "queued for its primary, daemon 4\n")) TH_LOG("%s", out);
	free(out);
	json_decref(reply);
	reply = json_pack("{s:n}", "primary");
	out = printed(pg_scrub_print, reply);
	EXPECT_NE(NULL, strstr(out, "the PG has no primary up, it is scrubbed when one is back\n")) TH_LOG("%s", out);
	free(out);
	json_decref(reply);

	reply = json_loads("[{\"name\":\"rep\",\"capped\":[],\"inconsistent_pgs\":3},"
			   " {\"name\":\"ok\",\"capped\":[],\"inconsistent_pgs\":0}]", 0, NULL);
	out = printed(print_capped_warnings, reply);
	EXPECT_STREQ("warning: pool rep has 3 inconsistent PGs: a scrub found copies it could not repair (see 'shardctl pg ls rep')\n", out);
	free(out);
	json_decref(reply);
}

TEST(recovery_share_text)
{
	json_t *reply = json_loads("{\"recovery_share\":40}", 0, NULL);
	char *out;

	ASSERT_NE(NULL, reply);
	out = printed(recovery_share_print, reply);
	EXPECT_STREQ("recovery share: 40% of the time while clients are active, for every daemon\n", out);
	free(out);
	json_decref(reply);
	reply = json_loads("{\"recovery_share\":null}", 0, NULL);
	out = printed(recovery_share_print, reply);
	EXPECT_STREQ("recovery share: each daemon's own (--recovery-share)\n", out);
	free(out);
	json_decref(reply);
	out = printed(recovery_share_print, NULL);
	EXPECT_STREQ("recovery share: each daemon's own (--recovery-share)\n", out);
	free(out);

	/* status: a line when the cluster has one, none otherwise. */
	reply = json_loads("{\"mode\":\"embedded\",\"epoch\":1,\"kernel\":{\"state\":\"disabled\"},"
			   "\"recovery_share\":15,\"hosts\":{},\"daemons\":[],\"pools\":[],\"devices\":[]}",
			   0, NULL);
	ASSERT_NE(NULL, reply);
	out = printed(status_print, reply);
	EXPECT_NE(NULL, strstr(out, "kernel: disabled\nrecovery share: 15% (set for the cluster)\n\n"))
		TH_LOG("%s", out);
	free(out);
	json_object_del(reply, "recovery_share");
	out = printed(status_print, reply);
	EXPECT_EQ(NULL, strstr(out, "recovery share")) TH_LOG("%s", out);
	free(out);
	json_object_set_new(reply, "recovery_share", json_string("15"));
	out = printed(status_print, reply);
	EXPECT_EQ(NULL, strstr(out, "recovery share")) TH_LOG("%s", out);
	free(out);
	json_decref(reply);
}

TEST(client_ls_text)
{
	json_t *reply = json_loads("{\"blocklist\":[\"10.0.0.5\",\"2001:db8::1\"]}",
				   0, NULL);
	char *out;

	ASSERT_NE(NULL, reply);
	out = printed(client_ls_print, reply);
	EXPECT_STREQ("10.0.0.5\n2001:db8::1\n", out);
	free(out);
	json_decref(reply);
	reply = json_loads("{\"blocklist\":[]}", 0, NULL);
	out = printed(client_ls_print, reply);
	EXPECT_STREQ("no blocklisted clients\n", out);
	free(out);
	json_decref(reply);
	/* Odd replies do not crash it. */
	reply = json_loads("{\"blocklist\":[5]}", 0, NULL);
	out = printed(client_ls_print, reply);
	EXPECT_STREQ("?\n", out);
	free(out);
	json_decref(reply);
	out = printed(client_ls_print, NULL);
	EXPECT_STREQ("no blocklisted clients\n", out);
	free(out);
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
