// SPDX-License-Identifier: GPL-2.0-only
/*
 * End to end: shard-mapd --no-kernel on a temporary socket and state
 * file, driven by the shardctl binary and by raw protocol lines.
 */
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "../../../userspace/jsonline/jsonline.h"

/* The shardctl objects linked in need these; the binary is what runs. */
const char *shardctl_socket;
bool shardctl_json;

FIXTURE(e2e) {
	char dir[64];
	char sock[128];
	char state[128];
	pid_t mapd;
};

static pid_t start_mapd(const char *state, const char *sock)
{
	pid_t pid = fork();

	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY);

		dup2(null, 2);	/* its log */
		execl(SHARD_MAPD_BIN, "shard-mapd", "--foreground",
		      "--no-kernel", "--state", state, "--socket", sock, NULL);
		_exit(127);
	}
	for (int i = 0; i < 500; i++) {	/* up to 5 s */
		int fd = jl_connect(sock);

		if (fd >= 0) {
			close(fd);
			return pid;
		}
		if (waitpid(pid, NULL, WNOHANG) == pid)
			return -1;
		usleep(10000);
	}
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	return -1;
}

static int stop_mapd(pid_t pid)
{
	int status;

	kill(pid, SIGTERM);
	if (waitpid(pid, &status, 0) != pid)
		return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

FIXTURE_SETUP(e2e)
{
	strcpy(self->dir, "/tmp/shardctl-e2e.XXXXXX");
	ASSERT_NE(NULL, mkdtemp(self->dir));
	snprintf(self->sock, sizeof(self->sock), "%s/run/mapd.sock", self->dir);
	snprintf(self->state, sizeof(self->state), "%s/state.json", self->dir);
	self->mapd = start_mapd(self->state, self->sock);
	ASSERT_GT(self->mapd, 0) TH_LOG("shard-mapd did not start");
}

FIXTURE_TEARDOWN(e2e)
{
	char cmd[128];

	if (self->mapd > 0)
		stop_mapd(self->mapd);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", self->dir);
	if (system(cmd))
		TH_LOG("cannot clean %s", self->dir);
}

/* Runs shardctl with args; its stdout and stderr in out and err. */
static int shardctl(const char *dir, const char *sock, char *out, char *err,
		    const char *args)
{
	char cmd[1024], path[256];
	FILE *f;
	int status;
	size_t n;

	snprintf(cmd, sizeof(cmd), "%s --socket %s %s >%s/out 2>%s/err",
		 SHARDCTL_BIN, sock, args, dir, dir);
	status = system(cmd);
	snprintf(path, sizeof(path), "%s/out", dir);
	f = fopen(path, "r");
	n = f ? fread(out, 1, 4095, f) : 0;
	out[n] = '\0';
	if (f)
		fclose(f);
	snprintf(path, sizeof(path), "%s/err", dir);
	f = fopen(path, "r");
	n = f ? fread(err, 1, 4095, f) : 0;
	err[n] = '\0';
	if (f)
		fclose(f);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

#define CTL(args) shardctl(self->dir, self->sock, out, err, args)

TEST_F(e2e, volumes)
{
	char out[4096], err[4096];
	struct stat sb;

	ASSERT_EQ(0, stat(self->sock, &sb));
	EXPECT_EQ(0600, sb.st_mode & 0777);

	ASSERT_EQ(0, CTL("create default/vm1 --size 10G")) TH_LOG("%s", err);
	EXPECT_STREQ("created default/vm1 (10 GiB, id 1)\n", out);
	EXPECT_STREQ("", err);
	ASSERT_EQ(0, CTL("create default/vm2 --size 512M"));
	EXPECT_EQ(1, CTL("create default/vm1 --size 1G"));
	EXPECT_STREQ("shardctl: volume default/vm1 already exists\n", err);
	EXPECT_STREQ("", out);

	ASSERT_EQ(0, CTL("ls"));
	EXPECT_STREQ("POOL     NAME  ID  SIZE     DEVICES\n"
		     "default  vm1   1   10 GiB   -\n"
		     "default  vm2   2   512 MiB  -\n", out);
	ASSERT_EQ(0, CTL("--json ls default"));
	EXPECT_NE(NULL, strstr(out, "\"size\": 10737418240"));

	ASSERT_EQ(0, CTL("resize default/vm2 --size 1G"));
	EXPECT_EQ(1, CTL("resize default/vm2 --size 1M"));
	EXPECT_NE(NULL, strstr(err, "use force"));
	EXPECT_EQ(1, CTL("map default/vm2"));
	EXPECT_NE(NULL, strstr(err, "--no-kernel"));

	ASSERT_EQ(0, CTL("rm default/vm1"));
	EXPECT_EQ(1, CTL("rm default/vm1"));
	EXPECT_STREQ("shardctl: no volume default/vm1\n", err);
	ASSERT_EQ(0, CTL("ls"));
	EXPECT_EQ(NULL, strstr(out, "vm1"));

	ASSERT_EQ(0, CTL("status"));
	EXPECT_NE(NULL, strstr(out, "epoch: 1\nkernel: disabled\n"));
	EXPECT_NE(NULL, strstr(out, "default  1   1       128  1"));

	/* Restart: the state is still there. */
	EXPECT_EQ(0, stop_mapd(self->mapd));
	EXPECT_NE(0, stat(self->sock, &sb));	/* removed on exit */
	self->mapd = start_mapd(self->state, self->sock);
	ASSERT_GT(self->mapd, 0);
	ASSERT_EQ(0, CTL("ls"));
	EXPECT_NE(NULL, strstr(out, "vm2"));
}

TEST_F(e2e, errors)
{
	char out[4096], err[4096];
	char sock[160];

	EXPECT_EQ(1, CTL("frobnicate"));
	EXPECT_STREQ("shardctl: unknown command 'frobnicate' (see 'shardctl help')\n", err);
	EXPECT_EQ(1, CTL("create default/x --size 12Q"));
	EXPECT_NE(NULL, strstr(err, "shardctl: create: invalid size '12Q'"));
	EXPECT_EQ(1, CTL("--bogus ls"));
	EXPECT_EQ(1, CTL("create default/bad! --size 1M"));
	EXPECT_NE(NULL, strstr(err, "invalid volume name"));
	EXPECT_EQ(0, CTL("help"));
	EXPECT_NE(NULL, strstr(out, "Usage: shardctl"));

	snprintf(sock, sizeof(sock), "%s/nothere.sock", self->dir);
	EXPECT_EQ(1, shardctl(self->dir, sock, out, err, "ls"));
	EXPECT_NE(NULL, strstr(err, "shardctl: cannot connect to shard-mapd at "));
	EXPECT_NE(NULL, strstr(err, "nothere.sock: No such file or directory\n"));
}

TEST_F(e2e, daemon_register)
{
	char out[4096], err[4096];
	json_t *req, *reply;
	int fd;

	fd = jl_connect(self->sock);
	ASSERT_GE(fd, 0);
	req = json_pack("{s:s, s:i, s:s, s:i, s:I, s:s, s:s}",
			"cmd", "daemon-register", "id", 0, "addr", "127.0.0.1",
			"port", 7410, "capacity", (json_int_t)100 << 30,
			"class", "ssd", "host", "node1");
	ASSERT_EQ(0, jl_call(fd, req, &reply));
	EXPECT_TRUE(json_is_true(json_object_get(reply, "ok")));
	EXPECT_EQ(1, json_integer_value(json_object_get(reply, "id")));
	json_decref(reply);
	/* Again on the same connection: known id, same answer. */
	json_object_set_new(req, "id", json_integer(1));
	ASSERT_EQ(0, jl_call(fd, req, &reply));
	EXPECT_EQ(1, json_integer_value(json_object_get(reply, "id")));
	json_decref(reply);
	json_decref(req);
	close(fd);

	ASSERT_EQ(0, CTL("status"));
	EXPECT_NE(NULL, strstr(out, "epoch: 2\n"));
	EXPECT_NE(NULL, strstr(out, "1       node1  127.0.0.1:7410  ssd    100 GiB   up     -"))
		TH_LOG("%s", out);
}

TEST_F(e2e, bad_clients)
{
	char out[4096], err[4096];
	struct jl_buf b = { 0 };
	char *big, *line = NULL;
	int fd, idle;

	/* A client that connects and says nothing does not block others. */
	idle = jl_connect(self->sock);
	ASSERT_GE(idle, 0);
	ASSERT_EQ(0, jl_write_all(idle, "{\"cmd\":", 7));

	/* Pipelined requests are answered in order. */
	fd = jl_connect(self->sock);
	ASSERT_GE(fd, 0);
	ASSERT_EQ(0, jl_write_all(fd, "{\"cmd\":\"ls\"}\n\nnope\n{\"cmd\":\"status\"}\n", 36));
	for (int i = 0; i < 3; i++) {
		while (jl_buf_take_line(&b, 1 << 20, &line) == 0 && !line)
			ASSERT_GT(jl_buf_fill(&b, fd), 0);
		EXPECT_NE(NULL, strstr(line, i == 1 ? "\"ok\":false" : "\"ok\":true"))
			TH_LOG("%d: %s", i, line);
		free(line);
		line = NULL;
	}
	close(fd);

	/* An oversized line: an error reply, then the connection closes. */
	fd = jl_connect(self->sock);
	ASSERT_GE(fd, 0);
	big = malloc(JL_MAX_REQUEST + 100);
	memset(big, 'x', JL_MAX_REQUEST + 100);
	jl_write_all(fd, big, JL_MAX_REQUEST + 100);
	free(big);
	jl_buf_free(&b);
	while (jl_buf_take_line(&b, 1 << 20, &line) == 0 && !line)
		ASSERT_GT(jl_buf_fill(&b, fd), 0);
	EXPECT_NE(NULL, strstr(line, "longer than 65536"));
	free(line);
	EXPECT_EQ(0, jl_buf_fill(&b, fd));	/* closed */
	jl_buf_free(&b);
	close(fd);

	/* A client that goes away mid-line. */
	fd = jl_connect(self->sock);
	jl_write_all(fd, "{\"cmd\":\"st", 10);
	close(fd);

	EXPECT_EQ(0, CTL("status")) TH_LOG("%s", err);
	close(idle);
}

TEST_HARNESS_MAIN
