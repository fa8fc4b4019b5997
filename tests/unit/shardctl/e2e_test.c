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

/* grace: its --grace, or NULL for the default. */
static pid_t start_mapd_grace(const char *state, const char *sock,
			      const char *grace)
{
	pid_t pid = fork();

	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY);

		dup2(null, 2);	/* its log */
		execl(SHARD_MAPD_BIN, "shard-mapd", "--foreground",
		      "--no-kernel", "--state", state, "--socket", sock,
		      grace ? "--grace" : NULL, grace, NULL);
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

static pid_t start_mapd(const char *state, const char *sock)
{
	return start_mapd_grace(state, sock, NULL);
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

/* Big enough for map-show of the default pool's 128 PGs as JSON. */
#define OUTLEN	65536

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
	n = f ? fread(out, 1, OUTLEN - 1, f) : 0;
	out[n] = '\0';
	if (f)
		fclose(f);
	snprintf(path, sizeof(path), "%s/err", dir);
	f = fopen(path, "r");
	n = f ? fread(err, 1, OUTLEN - 1, f) : 0;
	err[n] = '\0';
	if (f)
		fclose(f);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

#define CTL(args) shardctl(self->dir, self->sock, out, err, args)

TEST_F(e2e, volumes)
{
	char out[OUTLEN], err[OUTLEN];
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
	EXPECT_NE(NULL, strstr(out, "mode: embedded\nepoch: 1\nkernel: disabled\n"));
	EXPECT_NE(NULL, strstr(out, "default  1   1       1    128  any    host  1        0 B     0.0%       128 down\n"))
		TH_LOG("%s", out);

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
	char out[OUTLEN], err[OUTLEN];
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
	char out[OUTLEN], err[OUTLEN];
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
	EXPECT_NE(NULL, strstr(out, "1       node1   127.0.0.1:7410  ssd    100 GiB   0 B   up     in  128  128        -         -\n"))
		TH_LOG("%s", out);
}

TEST_F(e2e, bad_clients)
{
	char out[OUTLEN], err[OUTLEN];
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

/* Registers a daemon as shardd would and hangs up; returns its id. */
static long long register_daemon(const char *sock, const char *host,
				 const char *rack, const char *class, int port)
{
	json_t *req, *reply;
	long long id = -1;
	int fd;

	fd = jl_connect(sock);
	if (fd < 0)
		return -1;
	req = json_pack("{s:s, s:i, s:s, s:i, s:I, s:s, s:s}",
			"cmd", "daemon-register", "id", 0, "addr", "127.0.0.1",
			"port", port, "capacity", (json_int_t)100 << 30,
			"class", class, "host", host);
	if (rack)
		json_object_set_new(req, "rack", json_string(rack));
	if (!jl_call(fd, req, &reply)) {
		if (json_is_true(json_object_get(reply, "ok")))
			id = json_integer_value(json_object_get(reply, "id"));
		json_decref(reply);
	}
	json_decref(req);
	close(fd);
	return id;
}

/* out as JSON (from --json), or NULL. */
static json_t *parsed(const char *out)
{
	return json_loads(out, 0, NULL);
}

/* The daemon with id in a "daemons" array. */
static json_t *daemon_by_id(json_t *daemons, long long id)
{
	json_t *d;
	size_t i;

	json_array_foreach(daemons, i, d)
		if (json_integer_value(json_object_get(d, "id")) == id)
			return d;
	return NULL;
}

TEST_F(e2e, pools)
{
	char out[OUTLEN], err[OUTLEN];
	json_t *j, *p;

	ASSERT_EQ(0, CTL("pool create fast --size 2 --min-size 1 --device-class ssd --failure-domain rack --pgs 16"))
		TH_LOG("%s", err);
	EXPECT_STREQ("created pool fast (id 2, 2 copies, min 1, 16 PGs, class ssd, failure domain rack)\n", out);
	EXPECT_STREQ("", err);
	ASSERT_EQ(0, CTL("pool create slow --size 3"));
	EXPECT_NE(NULL, strstr(out, "created pool slow (id 3, 3 copies, min 2, "));
	EXPECT_NE(NULL, strstr(out, "class any, failure domain host)\n"));

	EXPECT_EQ(1, CTL("pool create fast --size 2"));
	EXPECT_STREQ("shardctl: pool fast already exists\n", err);
	EXPECT_STREQ("", out);
	EXPECT_EQ(1, CTL("pool create 'bad!' --size 2"));
	EXPECT_NE(NULL, strstr(err, "invalid pool name"));
	EXPECT_EQ(1, CTL("pool create big --size 9"));
	EXPECT_STREQ("shardctl: size must be 1..5 copies\n", err);
	EXPECT_EQ(1, CTL("pool create x --size 2 --pgs 0"));
	EXPECT_STREQ("shardctl: pool create: --pgs 0 is out of range (1..65536)\n", err);
	EXPECT_EQ(1, CTL("pool create x --size 2 --device-class nvme"));
	EXPECT_STREQ("shardctl: pool create: invalid --device-class 'nvme' (ssd or hdd)\n", err);
	EXPECT_EQ(1, CTL("pool create x --size 2 --failure-domain row"));
	EXPECT_NE(NULL, strstr(err, "invalid --failure-domain 'row'"));
	EXPECT_EQ(1, CTL("pool create --size 2"));
	EXPECT_NE(NULL, strstr(err, "missing argument (usage: pool create NAME"));

	ASSERT_EQ(0, CTL("pool ls"));
	EXPECT_NE(NULL, strstr(out, "POOL     ID  COPIES  MIN  PGS  CLASS  FD    VOLUMES  USABLE  DEVIATION  PG STATES\n"
				    "default  1   1       1    128  any    host  0        0 B     0.0%       128 down\n"
				    "fast     2   2       1    16   ssd    rack  0        0 B     0.0%       16 down\n"))
		TH_LOG("%s", out);
	ASSERT_EQ(0, CTL("pool ls --json"));
	j = parsed(out);
	ASSERT_NE(NULL, j) TH_LOG("%s", out);
	p = json_array_get(json_object_get(j, "pools"), 1);
	EXPECT_STREQ("fast", json_string_value(json_object_get(p, "name")));
	EXPECT_EQ(16, json_integer_value(json_object_get(json_object_get(p, "pg_states"), "down")));
	EXPECT_EQ(NULL, json_object_get(j, "ok"));
	json_decref(j);

	/* Not while it has volumes. */
	ASSERT_EQ(0, CTL("create fast/v1 --size 1G"));
	EXPECT_EQ(1, CTL("pool rm fast"));
	EXPECT_STREQ("shardctl: pool fast has 1 volume; remove it first\n", err);
	ASSERT_EQ(0, CTL("ls fast"));
	EXPECT_NE(NULL, strstr(out, "fast  v1"));
	ASSERT_EQ(0, CTL("rm fast/v1"));
	ASSERT_EQ(0, CTL("pool rm fast")) TH_LOG("%s", err);
	EXPECT_STREQ("", out);
	EXPECT_EQ(1, CTL("pool rm fast"));
	EXPECT_STREQ("shardctl: no pool named \"fast\"\n", err);
	EXPECT_EQ(1, CTL("pool rm"));
	EXPECT_NE(NULL, strstr(err, "missing argument (usage: pool rm NAME)"));
	ASSERT_EQ(0, CTL("pool ls"));
	EXPECT_EQ(NULL, strstr(out, "fast"));
	EXPECT_NE(NULL, strstr(out, "slow"));

	EXPECT_EQ(1, CTL("pool"));
	EXPECT_STREQ("shardctl: missing pool command (one of: create, ls, rm, scrub)\n", err);
	EXPECT_EQ(1, CTL("pool frob"));
	EXPECT_STREQ("shardctl: unknown command 'pool frob' (see 'shardctl help')\n", err);
	EXPECT_EQ(0, CTL("help"));
	EXPECT_NE(NULL, strstr(out, "  pool create    NAME --size N"));
	EXPECT_NE(NULL, strstr(out, "  daemon out     ID "));
	EXPECT_NE(NULL, strstr(out, "  cluster create NAME --etcd URLS"));
	EXPECT_NE(NULL, strstr(out, "  map-show "));
}

TEST_F(e2e, daemons)
{
	char out[OUTLEN], err[OUTLEN];
	json_t *j, *d;
	int i;

	/* Fake daemons send no heartbeats: keep them up meanwhile. */
	EXPECT_EQ(0, stop_mapd(self->mapd));
	self->mapd = start_mapd_grace(self->state, self->sock, "600");
	ASSERT_GT(self->mapd, 0);
	ASSERT_EQ(1, register_daemon(self->sock, "node1", "r1", "ssd", 7410));
	ASSERT_EQ(2, register_daemon(self->sock, "node2", "r2", "ssd", 7411));
	ASSERT_EQ(3, register_daemon(self->sock, "node3", NULL, "hdd", 7412));

	ASSERT_EQ(0, CTL("daemon ls"));
	EXPECT_NE(NULL, strstr(out, "DAEMON  DOMAIN    ADDRESS         CLASS  CAPACITY  USED  STATE  IN  PGS  PRIMARIES  RECOVERY\n"
				    "1       node1/r1  127.0.0.1:7410  ssd    100 GiB   0 B   up     in  "))
		TH_LOG("%s", out);
	EXPECT_NE(NULL, strstr(out, "\n3       node3     127.0.0.1:7412  hdd    100 GiB   0 B   up     in  "));
	EXPECT_EQ(NULL, strstr(out, "CONNECTED"));

	ASSERT_EQ(0, CTL("daemon out 2"));
	EXPECT_STREQ("", out);
	ASSERT_EQ(0, CTL("--json daemon ls"));
	j = parsed(out);
	d = daemon_by_id(json_object_get(j, "daemons"), 2);
	ASSERT_NE(NULL, d) TH_LOG("%s", out);
	EXPECT_TRUE(json_is_false(json_object_get(d, "in")));
	EXPECT_TRUE(json_is_true(json_object_get(d, "up")));
	EXPECT_EQ(0, json_integer_value(json_object_get(d, "pgs")));
	/* Never reported any recovery: no such field. */
	EXPECT_EQ(NULL, json_object_get(d, "recovery"));
	json_decref(j);
	ASSERT_EQ(0, CTL("daemon ls"));
	EXPECT_NE(NULL, strstr(out, "\n2       node2/r2  127.0.0.1:7411  ssd    100 GiB   0 B   up     out  0    0          -\n"))
		TH_LOG("%s", out);
	ASSERT_EQ(0, CTL("daemon in 2"));
	ASSERT_EQ(0, CTL("daemon ls --json"));
	j = parsed(out);
	d = daemon_by_id(json_object_get(j, "daemons"), 2);
	EXPECT_TRUE(json_is_true(json_object_get(d, "in")));
	EXPECT_LT(0, json_integer_value(json_object_get(d, "pgs")));
	json_decref(j);

	EXPECT_EQ(1, CTL("daemon out 99"));
	EXPECT_STREQ("shardctl: no daemon 99\n", err);
	EXPECT_EQ(1, CTL("daemon in x"));
	EXPECT_STREQ("shardctl: daemon in: invalid daemon id 'x' (a whole number)\n", err);
	EXPECT_EQ(1, CTL("daemon out"));
	EXPECT_NE(NULL, strstr(err, "missing argument (usage: daemon out ID)"));
	EXPECT_EQ(1, CTL("daemon rm 1"));
	EXPECT_STREQ("shardctl: daemon 1 is up; stop it first (or mark it out)\n", err);

	/* Silent daemons go down after the grace period; then rm works. */
	EXPECT_EQ(0, stop_mapd(self->mapd));
	self->mapd = start_mapd_grace(self->state, self->sock, "0.5");
	ASSERT_GT(self->mapd, 0);
	for (i = 0; i < 100; i++) {	/* up to 10 s */
		ASSERT_EQ(0, CTL("--json daemon ls"));
		j = parsed(out);
		d = daemon_by_id(json_object_get(j, "daemons"), 3);
		if (json_is_false(json_object_get(d, "up"))) {
			json_decref(j);
			break;
		}
		json_decref(j);
		usleep(100000);
	}
	ASSERT_LT(i, 100) TH_LOG("daemon 3 still up: %s", out);
	ASSERT_EQ(0, CTL("daemon rm 3")) TH_LOG("%s", err);
	ASSERT_EQ(0, CTL("daemon ls"));
	EXPECT_EQ(NULL, strstr(out, "node3"));
	EXPECT_NE(NULL, strstr(out, "node1"));
	EXPECT_EQ(1, CTL("daemon rm 3"));
	EXPECT_STREQ("shardctl: no daemon 3\n", err);
}

TEST_F(e2e, pgs_map_and_status)
{
	char out[OUTLEN], err[OUTLEN], line[128];
	json_t *j, *pg, *pool, *acting, *placement;
	size_t i;

	/* Fake daemons send no heartbeats: keep them up meanwhile. */
	EXPECT_EQ(0, stop_mapd(self->mapd));
	self->mapd = start_mapd_grace(self->state, self->sock, "600");
	ASSERT_GT(self->mapd, 0);
	ASSERT_EQ(1, register_daemon(self->sock, "node1", "r1", "ssd", 7410));
	ASSERT_EQ(2, register_daemon(self->sock, "node2", "r1", "ssd", 7411));
	ASSERT_EQ(3, register_daemon(self->sock, "node3", "r2", "hdd", 7412));
	ASSERT_EQ(0, CTL("pool create rep --size 2 --pgs 8")) TH_LOG("%s", err);

	/* pg ls: every PG on two hosts, the primary first. */
	ASSERT_EQ(0, CTL("--json pg ls rep"));
	j = parsed(out);
	ASSERT_NE(NULL, j) TH_LOG("%s", out);
	ASSERT_EQ(8, json_array_size(json_object_get(j, "pgs")));
	json_array_foreach(json_object_get(j, "pgs"), i, pg) {
		acting = json_object_get(pg, "acting");
		ASSERT_EQ(2, json_array_size(acting));
		EXPECT_NE(json_integer_value(json_array_get(acting, 0)),
			  json_integer_value(json_array_get(acting, 1)));
		EXPECT_EQ(json_integer_value(json_array_get(acting, 0)),
			  json_integer_value(json_object_get(pg, "primary")));
		EXPECT_STREQ("active+clean", json_string_value(json_object_get(pg, "state")));
	}
	pg = json_array_get(json_object_get(j, "pgs"), 7);
	EXPECT_STREQ("2.7", json_string_value(json_object_get(pg, "pgid")));
	acting = json_object_get(pg, "acting");
	snprintf(line, sizeof(line), "\n2.7  rep   active+clean  %lld,%lld  %lld,%lld     %lld        never\n",
		 json_integer_value(json_array_get(json_object_get(pg, "up"), 0)),
		 json_integer_value(json_array_get(json_object_get(pg, "up"), 1)),
		 json_integer_value(json_array_get(acting, 0)),
		 json_integer_value(json_array_get(acting, 1)),
		 json_integer_value(json_array_get(acting, 0)));
	json_decref(j);
	ASSERT_EQ(0, CTL("pg ls rep"));
	EXPECT_NE(NULL, strstr(out, "PG   POOL  STATE         UP   ACTING  PRIMARY  LAST SCRUB\n2.0  rep   active+clean  "))
		TH_LOG("%s", out);
	EXPECT_NE(NULL, strstr(out, line)) TH_LOG("%s not in %s", line, out);
	ASSERT_EQ(0, CTL("pg ls"));
	EXPECT_NE(NULL, strstr(out, "\n1.7f  default  active+clean  "));
	EXPECT_EQ(1, CTL("pg ls nope"));
	EXPECT_STREQ("shardctl: no pool named \"nope\"\n", err);

	/* map-show: the text is the JSON's table, PG by PG. */
	ASSERT_EQ(0, CTL("map-show --json"));
	j = parsed(out);
	ASSERT_NE(NULL, j) TH_LOG("%s", out);
	pool = json_array_get(json_object_get(json_object_get(j, "map"), "pools"), 1);
	EXPECT_STREQ("rep", json_string_value(json_object_get(pool, "name")));
	EXPECT_EQ(2, json_integer_value(json_object_get(pool, "width")));
	acting = json_object_get(pool, "acting");
	placement = json_object_get(pool, "placement");
	ASSERT_EQ(16, json_array_size(acting));
	ASSERT_EQ(16, json_array_size(placement));
	snprintf(line, sizeof(line), "PG   ACTING  PLACEMENT\n2.0  %lld,%lld     %lld,%lld\n2.1  ",
		 json_integer_value(json_array_get(acting, 0)),
		 json_integer_value(json_array_get(acting, 1)),
		 json_integer_value(json_array_get(placement, 0)),
		 json_integer_value(json_array_get(placement, 1)));
	json_decref(j);
	ASSERT_EQ(0, CTL("map-show"));
	EXPECT_EQ(0, strncmp(out, "epoch: ", 7));
	EXPECT_NE(NULL, strstr(out, "\n\nDAEMON  ADDRESS         STATE  IN\n"
				    "1       127.0.0.1:7410  up     in\n"));
	EXPECT_NE(NULL, strstr(out, "\n\npool default (id 1, 128 PGs, 1 copies, min 1)\nPG    ACTING  PLACEMENT\n1.0   "))
		TH_LOG("%s", out);
	EXPECT_NE(NULL, strstr(out, "\n\npool rep (id 2, 8 PGs, 2 copies, min 2)\n"));
	EXPECT_NE(NULL, strstr(out, line)) TH_LOG("%s not in %s", line, out);

	/* status: hosts, daemons with their domain, pools with PG states. */
	ASSERT_EQ(0, CTL("status"));
	EXPECT_EQ(0, strncmp(out, "mode: embedded\nepoch: ", 22)) TH_LOG("%s", out);
	EXPECT_NE(NULL, strstr(out, "kernel: disabled\n"
				    "recovery: idle (0 B copied)\n\n"
				    "HOST   DAEMONS  UP  CAPACITY\n"
				    "node1  1        1   100 GiB\n"
				    "node2  1        1   100 GiB\n"
				    "node3  1        1   100 GiB\n\n"
				    "DAEMON  DOMAIN    ADDRESS         CLASS  CAPACITY  USED  STATE  IN  PGS  PRIMARIES  RECOVERY  CONNECTED\n"
				    "1       node1/r1  127.0.0.1:7410  ssd    100 GiB   0 B   up     in  "))
		TH_LOG("%s", out);
	EXPECT_NE(NULL, strstr(out, "\nrep      2   2       2    8    any    host  0        "));
	EXPECT_NE(NULL, strstr(out, "8 active+clean\n"));
	EXPECT_NE(NULL, strstr(out, "128 active+clean\n"));
	EXPECT_EQ(NULL, strstr(out, "warning:"));
	EXPECT_NE(NULL, strstr(out, "\n\nno devices mapped\n"));

	ASSERT_EQ(0, CTL("status --json"));
	j = parsed(out);
	ASSERT_NE(NULL, j) TH_LOG("%s", out);
	EXPECT_STREQ("embedded", json_string_value(json_object_get(j, "mode")));
	EXPECT_EQ(3, json_object_size(json_object_get(j, "hosts")));
	EXPECT_EQ(2, json_array_size(json_object_get(j, "pools")));
	EXPECT_EQ(NULL, json_object_get(j, "ok"));
	json_decref(j);

	/* A daemon out: its PGs move, and status says so. */
	ASSERT_EQ(0, CTL("daemon out 3"));
	ASSERT_EQ(0, CTL("status"));
	EXPECT_NE(NULL, strstr(out, "\n3       node3/r2  127.0.0.1:7412  hdd    100 GiB   0 B   up     out  0    0          -         -\n"))
		TH_LOG("%s", out);
}

/* A heartbeat of daemon 1 on its session fd with this recovery. */
static bool recovery_beat(int fd, long long objects, long long bytes,
			  long long copied)
{
	json_t *req, *reply = NULL;
	bool ok;

	req = json_pack("{s:s, s:i, s:i, s:{s:I, s:I, s:I}}",
			"cmd", "daemon-heartbeat", "id", 1, "epoch", 1,
			"recovery", "objects", (json_int_t)objects,
			"bytes", (json_int_t)bytes, "copied", (json_int_t)copied);
	ok = !jl_call(fd, req, &reply) &&
	     json_is_true(json_object_get(reply, "ok"));
	json_decref(reply);
	json_decref(req);
	return ok;
}

/* Daemon 1's session, as shardd keeps it: the fd, or -1. */
static int daemon_session(const char *sock)
{
	json_t *req, *reply = NULL;
	int fd = jl_connect(sock);

	if (fd < 0)
		return -1;
	req = json_pack("{s:s, s:s, s:i, s:I, s:s, s:s}",
			"cmd", "daemon-register", "addr", "127.0.0.1",
			"port", 7410, "capacity", (json_int_t)100 << 30,
			"class", "ssd", "host", "node1");
	if (jl_call(fd, req, &reply) ||
	    json_integer_value(json_object_get(reply, "id")) != 1) {
		close(fd);
		fd = -1;
	}
	json_decref(reply);
	json_decref(req);
	return fd;
}

TEST_F(e2e, recovery_in_status)
{
	char out[OUTLEN], err[OUTLEN];
	json_t *j, *rec;
	int fd;

	fd = daemon_session(self->sock);
	ASSERT_GE(fd, 0);

	/* One report: what is left, no rate yet. */
	ASSERT_TRUE(recovery_beat(fd, 12, 48 << 20, 1288490189));
	ASSERT_EQ(0, CTL("status")) TH_LOG("%s", err);
	EXPECT_NE(NULL, strstr(out, "kernel: disabled\n"
				    "recovery: 12 objects, 48 MiB to go at 0 B/s (1.2 GiB copied)\n\n"))
		TH_LOG("%s", out);

	/* 20 MiB copied half a second later: a rate and an eta. */
	usleep(500000);
	ASSERT_TRUE(recovery_beat(fd, 7, 28 << 20, 1288490189 + (20 << 20)));
	ASSERT_EQ(0, CTL("status"));
	EXPECT_NE(NULL, strstr(out, "\nrecovery: 7 objects, 28 MiB to go at "))
		TH_LOG("%s", out);
	EXPECT_NE(NULL, strstr(out, " s left (1.2 GiB copied)\n\n")) TH_LOG("%s", out);
	ASSERT_EQ(0, CTL("status --json"));
	j = parsed(out);
	ASSERT_NE(NULL, j) TH_LOG("%s", out);
	rec = json_object_get(j, "recovery");
	EXPECT_EQ(5, json_object_size(rec));
	EXPECT_EQ(7, json_integer_value(json_object_get(rec, "objects")));
	EXPECT_EQ(28 << 20, json_integer_value(json_object_get(rec, "bytes")));
	EXPECT_LT(0, json_integer_value(json_object_get(rec, "rate")));
	/* 20 MiB in half a second at least. */
	EXPECT_GE(40 << 20, json_integer_value(json_object_get(rec, "rate")));
	EXPECT_LE(1, json_integer_value(json_object_get(rec, "eta")));
	EXPECT_EQ(1288490189 + (20 << 20),
		  json_integer_value(json_object_get(rec, "copied")));
	json_decref(j);

	/* Done. */
	ASSERT_TRUE(recovery_beat(fd, 0, 0, 1288490189 + (100 << 20)));
	ASSERT_EQ(0, CTL("status"));
	EXPECT_NE(NULL, strstr(out, "\nrecovery: idle (1.3 GiB copied)\n\n"))
		TH_LOG("%s", out);
	/* A bad report is refused and changes nothing. */
	EXPECT_FALSE(recovery_beat(fd, -1, 0, 0));
	ASSERT_EQ(0, CTL("status"));
	EXPECT_NE(NULL, strstr(out, "\nrecovery: idle (1.3 GiB copied)\n\n"));
	close(fd);
}

/* Daemon 1's heartbeat reply's "recovery_share": -1 absent, -2 error. */
static long long share_beat(int fd)
{
	json_t *req, *reply = NULL, *v;
	long long share = -2;

	req = json_pack("{s:s, s:i, s:i}", "cmd", "daemon-heartbeat",
			"id", 1, "epoch", 1);
	if (!jl_call(fd, req, &reply) &&
	    json_is_true(json_object_get(reply, "ok"))) {
		v = json_object_get(reply, "recovery_share");
		share = v ? json_integer_value(v) : -1;
	}
	json_decref(reply);
	json_decref(req);
	return share;
}

TEST_F(e2e, recovery_share)
{
	char out[OUTLEN], err[OUTLEN];
	json_t *j;
	int fd;

	fd = daemon_session(self->sock);
	ASSERT_GE(fd, 0);
	EXPECT_EQ(-1, share_beat(fd));
	ASSERT_EQ(0, CTL("status"));
	EXPECT_EQ(NULL, strstr(out, "recovery share")) TH_LOG("%s", out);

	ASSERT_EQ(0, CTL("recovery share 40")) TH_LOG("%s", err);
	EXPECT_STREQ("recovery share: 40% of the time while clients are active, for every daemon\n", out);
	EXPECT_STREQ("", err);
	EXPECT_EQ(40, share_beat(fd));
	ASSERT_EQ(0, CTL("status"));
	EXPECT_NE(NULL, strstr(out, "\nrecovery share: 40% (set for the cluster)\n")) TH_LOG("%s", out);
	ASSERT_EQ(0, CTL("status --json"));
	j = parsed(out);
	ASSERT_NE(NULL, j) TH_LOG("%s", out);
	EXPECT_EQ(40, json_integer_value(json_object_get(j, "recovery_share")));
	json_decref(j);
	/* Again: the same. */
	ASSERT_EQ(0, CTL("--json recovery share 40"));
	EXPECT_STREQ("{\n  \"recovery_share\": 40\n}\n", out);

	/* Bad arguments: refused here, mapd's setting stays. */
	EXPECT_EQ(1, CTL("recovery share 0"));
	EXPECT_STREQ("shardctl: recovery share: '0': say a percentage 1..100, or default\n", err);
	EXPECT_STREQ("", out);
	EXPECT_EQ(1, CTL("recovery share 101"));
	EXPECT_STREQ("shardctl: recovery share: '101': say a percentage 1..100, or default\n", err);
	EXPECT_EQ(1, CTL("recovery share half"));
	EXPECT_STREQ("shardctl: recovery share: 'half': say a percentage 1..100, or default\n", err);
	EXPECT_EQ(1, CTL("recovery share"));
	EXPECT_STREQ("shardctl: recovery share: missing argument (usage: recovery share PCT|default)\n", err);
	EXPECT_EQ(1, CTL("recovery"));
	EXPECT_STREQ("shardctl: missing recovery command (one of: share)\n", err);
	EXPECT_EQ(40, share_beat(fd));

	ASSERT_EQ(0, CTL("recovery share default")) TH_LOG("%s", err);
	EXPECT_STREQ("recovery share: each daemon's own (--recovery-share)\n", out);
	EXPECT_EQ(-1, share_beat(fd));
	close(fd);

	/* Kept across a restart. */
	ASSERT_EQ(0, CTL("recovery share 40")) TH_LOG("%s", err);
	EXPECT_EQ(0, stop_mapd(self->mapd));
	self->mapd = start_mapd(self->state, self->sock);
	ASSERT_GT(self->mapd, 0);
	ASSERT_EQ(0, CTL("status"));
	EXPECT_NE(NULL, strstr(out, "\nrecovery share: 40% (set for the cluster)\n")) TH_LOG("%s", out);

	ASSERT_EQ(0, CTL("--json recovery share default")) TH_LOG("%s", err);
	EXPECT_STREQ("{\n  \"recovery_share\": null\n}\n", out);
	ASSERT_EQ(0, CTL("status"));
	EXPECT_EQ(NULL, strstr(out, "recovery share")) TH_LOG("%s", out);

	EXPECT_EQ(0, CTL("help"));
	EXPECT_NE(NULL, strstr(out, "  recovery share PCT|default "));
}

TEST_F(e2e, recovery_in_daemon_ls)
{
	char out[OUTLEN], err[OUTLEN];
	json_t *j, *rec;
	int fd;

	fd = daemon_session(self->sock);
	ASSERT_GE(fd, 0);
	/* Nothing reported yet: "-", and no field in the reply. */
	ASSERT_TRUE(recovery_beat(fd, 0, 0, 0));
	ASSERT_EQ(0, CTL("daemon ls")) TH_LOG("%s", err);
	EXPECT_NE(NULL, strstr(out, "  PRIMARIES  RECOVERY\n1       node1 "))
		TH_LOG("%s", out);
	EXPECT_NE(NULL, strstr(out, "  -\n")) TH_LOG("%s", out);
	ASSERT_EQ(0, CTL("--json daemon ls"));
	j = parsed(out);
	ASSERT_NE(NULL, j) TH_LOG("%s", out);
	EXPECT_EQ(NULL, json_object_get(daemon_by_id(json_object_get(j, "daemons"), 1),
					 "recovery"));
	json_decref(j);

	/* Copying: what is left, in the table and in the reply. */
	ASSERT_TRUE(recovery_beat(fd, 12, 48 << 20, 1 << 20));
	ASSERT_EQ(0, CTL("daemon ls"));
	EXPECT_NE(NULL, strstr(out, "  PRIMARIES  RECOVERY\n"));
	EXPECT_NE(NULL, strstr(out, "  12 obj/48 MiB\n")) TH_LOG("%s", out);
	ASSERT_EQ(0, CTL("daemon ls --json"));
	j = parsed(out);
	ASSERT_NE(NULL, j) TH_LOG("%s", out);
	rec = json_object_get(daemon_by_id(json_object_get(j, "daemons"), 1),
			      "recovery");
	EXPECT_EQ(4, json_object_size(rec)) TH_LOG("%s", out);
	EXPECT_EQ(12, json_integer_value(json_object_get(rec, "objects")));
	EXPECT_EQ(48 << 20, json_integer_value(json_object_get(rec, "bytes")));
	/* 1 MiB since the report before. */
	EXPECT_LT(0, json_integer_value(json_object_get(rec, "rate")));
	EXPECT_EQ(1 << 20, json_integer_value(json_object_get(rec, "copied")));
	json_decref(j);
	/* status's daemon table has the column too, before CONNECTED. */
	ASSERT_EQ(0, CTL("status"));
	EXPECT_NE(NULL, strstr(out, "  PRIMARIES  RECOVERY       CONNECTED\n"))
		TH_LOG("%s", out);
	EXPECT_NE(NULL, strstr(out, "  12 obj/48 MiB  -\n")) TH_LOG("%s", out);

	/* Done: "-" again, the reply still says what it copied. */
	ASSERT_TRUE(recovery_beat(fd, 0, 0, 5 << 20));
	ASSERT_EQ(0, CTL("daemon ls"));
	EXPECT_EQ(NULL, strstr(out, " obj/")) TH_LOG("%s", out);
	ASSERT_EQ(0, CTL("--json daemon ls"));
	j = parsed(out);
	rec = json_object_get(daemon_by_id(json_object_get(j, "daemons"), 1),
			      "recovery");
	EXPECT_EQ(0, json_integer_value(json_object_get(rec, "objects")));
	EXPECT_EQ(5 << 20, json_integer_value(json_object_get(rec, "copied")));
	json_decref(j);
	close(fd);
}

/* One raw request on a connection of its own; the reply or NULL. */
static json_t *raw_call(const char *sock, json_t *req)
{
	json_t *reply = NULL;
	int fd = jl_connect(sock);

	if (fd >= 0 && jl_call(fd, req, &reply))
		reply = NULL;
	if (fd >= 0)
		close(fd);
	json_decref(req);
	return reply;
}

TEST_F(e2e, scrub)
{
	char out[OUTLEN], err[OUTLEN], line[256];
	json_t *j, *pg, *req, *reply, *a;
	long long primary;
	time_t t;
	struct tm tm;
	char when[32];
	int fd;

	/* Fake daemons send no heartbeats: keep them up meanwhile. */
	EXPECT_EQ(0, stop_mapd(self->mapd));
	self->mapd = start_mapd_grace(self->state, self->sock, "600");
	ASSERT_GT(self->mapd, 0);
	ASSERT_EQ(1, register_daemon(self->sock, "node1", NULL, "ssd", 7410));
	ASSERT_EQ(2, register_daemon(self->sock, "node2", NULL, "ssd", 7411));
	ASSERT_EQ(0, CTL("pool create rep --size 2 --pgs 8")) TH_LOG("%s", err);

	ASSERT_EQ(0, CTL("--json pg scrub 2.3")) TH_LOG("%s", err);
	j = parsed(out);
	primary = json_integer_value(json_object_get(j, "primary"));
	EXPECT_TRUE(primary == 1 || primary == 2) TH_LOG("%s", out);
	json_decref(j);
	snprintf(line, sizeof(line),
		 "deep scrub of PG 2.3 queued for its primary, daemon %lld\n",
		 primary);
	ASSERT_EQ(0, CTL("pg deep-scrub 2.3")) TH_LOG("%s", err);
	EXPECT_STREQ(line, out);
	ASSERT_EQ(0, CTL("pool scrub rep"));
	EXPECT_STREQ("scrub of the 8 PGs of pool rep queued\n", out);
	ASSERT_EQ(0, CTL("pg ls rep"));
	EXPECT_NE(NULL, strstr(out, "\n2.3  rep   active+clean+scrub_queued  ")) TH_LOG("%s", out);
	EXPECT_NE(NULL, strstr(out, "  never\n")) TH_LOG("%s", out);
	EXPECT_EQ(NULL, strstr(out, "ERRORS")) TH_LOG("%s", out);

	/* Errors, from mapd and from shardctl itself. */
	EXPECT_EQ(1, CTL("pg scrub 9.1"));
	EXPECT_STREQ("shardctl: no pool with id 9\n", err);
	EXPECT_EQ(1, CTL("pg scrub 2.8"));
	EXPECT_STREQ("shardctl: pool 2 has 8 PGs: no PG 8\n", err);
	EXPECT_EQ(1, CTL("pg deep-scrub rep"));
	EXPECT_NE(NULL, strstr(err, "bad PG id 'rep'")) TH_LOG("%s", err);
	EXPECT_EQ(1, CTL("pool scrub nope"));
	EXPECT_STREQ("shardctl: no pool named \"nope\"\n", err);
	EXPECT_EQ(1, CTL("pool scrub"));

	/* The primary's heartbeat hands it out: the PG is scrubbing while
	 * the daemon's session lasts. */
	fd = jl_connect(self->sock);
	ASSERT_GE(fd, 0);
	req = json_pack("{s:s, s:I, s:i}", "cmd", "daemon-heartbeat",
			"id", (json_int_t)primary, "epoch", 0);
	ASSERT_EQ(0, jl_call(fd, req, &reply));
	json_decref(req);
	a = json_object_get(reply, "scrub");
	EXPECT_LE(1, json_array_size(a)) TH_LOG("no scrub in the reply");
	EXPECT_GE(16, json_array_size(a));
	json_decref(reply);
	ASSERT_EQ(0, CTL("pg ls rep"));
	EXPECT_NE(NULL, strstr(out, "\n2.3  rep   active+clean+scrubbing  ")) TH_LOG("%s", out);
	close(fd);

	/* An outcome with errors: recorded, shown, warned about. */
	reply = raw_call(self->sock, json_pack(
		"{s:s, s:i, s:i, s:I, s:b, s:i, s:i, s:i, s:i, s:b}",
		"cmd", "pg-scrubbed", "pool", 2, "pg", 3,
		"from", (json_int_t)primary, "deep", 1, "objects", 33,
		"bytes", 138412032, "errors", 3, "repaired", 1, "complete", 1));
	ASSERT_NE(NULL, reply);
	EXPECT_TRUE(json_is_true(json_object_get(reply, "ok")));
	json_decref(reply);
	ASSERT_EQ(0, CTL("--json pg ls rep"));
	j = parsed(out);
	pg = json_array_get(json_object_get(j, "pgs"), 3);
	EXPECT_STREQ("2.3", json_string_value(json_object_get(pg, "pgid")));
	EXPECT_EQ(2, json_integer_value(json_object_get(pg, "scrub_errors")));
	EXPECT_EQ(1, json_integer_value(json_object_get(pg, "scrub_repaired")));
	t = json_integer_value(json_object_get(pg, "last_deep_scrub"));
	EXPECT_EQ(t, json_integer_value(json_object_get(pg, "last_scrub")));
	EXPECT_LE(time(NULL) - t, 60);
	EXPECT_NE(NULL, strstr(json_string_value(json_object_get(pg, "state")), "+inconsistent"));
	EXPECT_TRUE(json_is_null(json_object_get(json_array_get(json_object_get(j, "pgs"), 4),
						 "last_scrub")));
	json_decref(j);
	localtime_r(&t, &tm);
	strftime(when, sizeof(when), "%Y-%m-%d %H:%M", &tm);
	ASSERT_EQ(0, CTL("pg ls rep"));
	EXPECT_NE(NULL, strstr(out, "LAST SCRUB        ERRORS\n")) TH_LOG("%s", out);
	EXPECT_NE(NULL, strstr(out, when)) TH_LOG("%s", out);
	EXPECT_NE(NULL, strstr(out, "inconsistent")) TH_LOG("%s", out);
	ASSERT_EQ(0, CTL("status"));
	EXPECT_NE(NULL, strstr(out, "warning: pool rep has 1 inconsistent PG: a scrub found copies it could not repair (see 'shardctl pg ls rep')\n"))
		TH_LOG("%s", out);
	ASSERT_EQ(0, CTL("pool ls"));
	EXPECT_NE(NULL, strstr(out, "warning: pool rep has 1 inconsistent PG")) TH_LOG("%s", out);

	/* Bad outcomes are refused. */
	reply = raw_call(self->sock, json_pack(
		"{s:s, s:i, s:i, s:I, s:b, s:b}", "cmd", "pg-scrubbed",
		"pool", 2, "pg", 3, "from", (json_int_t)primary, "deep", 0,
		"complete", 1));
	ASSERT_NE(NULL, reply);
	EXPECT_STREQ("missing field \"objects\"",
		     json_string_value(json_object_get(reply, "error")));
	json_decref(reply);

	ASSERT_EQ(0, CTL("pool scrub --deep default"));
	EXPECT_STREQ("deep scrub of the 128 PGs of pool default queued\n", out);
}

/* The map a daemon fetches ("map-get"), or NULL. */
static json_t *map_get(const char *sock)
{
	json_t *req = json_pack("{s:s}", "cmd", "map-get"), *reply = NULL;
	json_t *map = NULL;
	int fd = jl_connect(sock);

	if (fd >= 0 && !jl_call(fd, req, &reply))
		map = json_incref(json_object_get(reply, "map"));
	if (fd >= 0)
		close(fd);
	json_decref(req);
	json_decref(reply);
	return map;
}

TEST_F(e2e, client_blocklist)
{
	char out[OUTLEN], err[OUTLEN];
	long long epoch;
	json_t *j, *map;

	ASSERT_EQ(0, CTL("client ls")) TH_LOG("%s", err);
	EXPECT_STREQ("no blocklisted clients\n", out);
	ASSERT_EQ(0, CTL("client ls --json"));
	EXPECT_STREQ("{\n  \"blocklist\": []\n}\n", out);
	map = map_get(self->sock);
	ASSERT_NE(NULL, map);
	epoch = json_integer_value(json_object_get(map, "epoch"));
	EXPECT_EQ(0, json_array_size(json_object_get(map, "blocklist")));
	json_decref(map);

	ASSERT_EQ(0, CTL("client blocklist ::ffff:10.0.0.5")) TH_LOG("%s", err);
	EXPECT_STREQ("", err);
	snprintf(err, sizeof(err), "blocklisted 10.0.0.5 (map epoch %lld)\n", epoch + 1);
	EXPECT_STREQ(err, out);
	ASSERT_EQ(0, CTL("--json client blocklist 2001:DB8::1"));
	j = parsed(out);
	ASSERT_NE(NULL, j) TH_LOG("%s", out);
	EXPECT_STREQ("2001:db8::1", json_string_value(json_object_get(j, "addr")));
	EXPECT_EQ(epoch + 2, json_integer_value(json_object_get(j, "epoch")));
	EXPECT_EQ(NULL, json_object_get(j, "ok"));
	json_decref(j);
	/* Again: fine, and the epoch stays. */
	ASSERT_EQ(0, CTL("client blocklist 10.0.0.5"));
	snprintf(err, sizeof(err), "blocklisted 10.0.0.5 (map epoch %lld)\n", epoch + 2);
	EXPECT_STREQ(err, out);

	ASSERT_EQ(0, CTL("client ls"));
	EXPECT_STREQ("10.0.0.5\n2001:db8::1\n", out);
	ASSERT_EQ(0, CTL("client ls --json"));
	j = parsed(out);
	ASSERT_NE(NULL, j) TH_LOG("%s", out);
	EXPECT_EQ(2, json_array_size(json_object_get(j, "blocklist")));
	json_decref(j);

	/* What the daemons get. */
	map = map_get(self->sock);
	ASSERT_NE(NULL, map);
	EXPECT_EQ(epoch + 2, json_integer_value(json_object_get(map, "epoch")));
	EXPECT_STREQ("10.0.0.5", json_string_value(json_array_get(json_object_get(map, "blocklist"), 0)));
	EXPECT_STREQ("2001:db8::1", json_string_value(json_array_get(json_object_get(map, "blocklist"), 1)));
	json_decref(map);
	ASSERT_EQ(0, CTL("map-show --json"));
	j = parsed(out);
	ASSERT_NE(NULL, j) TH_LOG("%s", out);
	EXPECT_EQ(2, json_array_size(json_object_get(json_object_get(j, "map"), "blocklist")));
	json_decref(j);

	/* Errors: bad arguments here, refusals from shard-mapd. */
	EXPECT_EQ(1, CTL("client blocklist node1"));
	EXPECT_STREQ("shardctl: client blocklist: bad address 'node1' (a numeric IPv4 or IPv6 address)\n", err);
	EXPECT_STREQ("", out);
	EXPECT_EQ(1, CTL("client blocklist"));
	EXPECT_STREQ("shardctl: client blocklist: missing argument (usage: client blocklist ADDR)\n", err);
	EXPECT_EQ(1, CTL("client unblocklist 10.0.0.6"));
	EXPECT_STREQ("shardctl: 10.0.0.6 is not blocklisted\n", err);
	EXPECT_EQ(1, CTL("client"));
	EXPECT_STREQ("shardctl: missing client command (one of: blocklist, unblocklist, ls, auto-fence)\n", err);
	EXPECT_EQ(1, CTL("client frob"));
	EXPECT_STREQ("shardctl: unknown command 'client frob' (see 'shardctl help')\n", err);

	/* Kept across a restart. */
	EXPECT_EQ(0, stop_mapd(self->mapd));
	self->mapd = start_mapd(self->state, self->sock);
	ASSERT_GT(self->mapd, 0);
	ASSERT_EQ(0, CTL("client ls"));
	EXPECT_STREQ("10.0.0.5\n2001:db8::1\n", out);

	ASSERT_EQ(0, CTL("client unblocklist 10.0.0.5")) TH_LOG("%s", err);
	snprintf(err, sizeof(err), "unblocklisted 10.0.0.5 (map epoch %lld)\n", epoch + 3);
	EXPECT_STREQ(err, out);
	ASSERT_EQ(0, CTL("client unblocklist 2001:0db8::1")) TH_LOG("%s", err);
	ASSERT_EQ(0, CTL("client ls"));
	EXPECT_STREQ("no blocklisted clients\n", out);
	map = map_get(self->sock);
	ASSERT_NE(NULL, map);
	EXPECT_EQ(epoch + 4, json_integer_value(json_object_get(map, "epoch")));
	EXPECT_TRUE(json_is_array(json_object_get(map, "blocklist")));
	EXPECT_EQ(0, json_array_size(json_object_get(map, "blocklist")));
	json_decref(map);

	EXPECT_EQ(0, CTL("help"));
	EXPECT_NE(NULL, strstr(out, "  client blocklist ADDR "));
	EXPECT_NE(NULL, strstr(out, "  client ls "));
}

TEST_HARNESS_MAIN
