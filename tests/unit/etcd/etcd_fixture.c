// SPDX-License-Identifier: GPL-2.0-only
/* Throwaway etcd members and fake servers for libshardetcd's tests. */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "etcd_fixture.h"

#define START_TIMEOUT_MS	20000

long test_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000;
}

const char *test_etcd_bin(void)
{
	static char found[4096];
	const char *env = getenv("ETCD");
	char *path, *dir, *save;

	if (env && *env)
		return access(env, X_OK) == 0 ? env : NULL;
	path = strdup(getenv("PATH") ? getenv("PATH") : "/usr/bin:/bin");
	for (dir = strtok_r(path, ":", &save); dir;
	     dir = strtok_r(NULL, ":", &save)) {
		snprintf(found, sizeof(found), "%s/etcd", dir);
		if (access(found, X_OK) == 0) {
			free(path);
			return found;
		}
	}
	free(path);
	return NULL;
}

static int listen_any(int backlog, int *port)
{
	struct sockaddr_in a = { .sin_family = AF_INET,
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -errno;
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) ||
	    getsockname(fd, (struct sockaddr *)&a, &len) ||
	    (backlog && listen(fd, backlog))) {
		int err = -errno;

		close(fd);
		return err;
	}
	*port = ntohs(a.sin_port);
	return fd;
}

int test_free_port(void)
{
	int port, fd = listen_any(0, &port);

	if (fd < 0)
		return fd;
	close(fd);
	return port;
}

int test_silent_listener(int *port)
{
	return listen_any(16, port);
}

/* In a forked child: die with the test process. */
static void die_with_parent(pid_t parent)
{
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != parent)
		_exit(1);
}

static int rm_one(const char *p, const struct stat *st, int flag,
		  struct FTW *ftw)
{
	(void)st, (void)flag, (void)ftw;
	remove(p);
	return 0;
}

static void print_log_tail(const struct test_etcd *m)
{
	char path[128], buf[2048];
	ssize_t n;
	off_t size;
	int fd;

	snprintf(path, sizeof(path), "%s/etcd.log", m->dir);
	fd = open(path, O_RDONLY);
	if (fd < 0)
		return;
	size = lseek(fd, 0, SEEK_END);
	lseek(fd, size > (off_t)sizeof(buf) - 1 ? size - (off_t)sizeof(buf) + 1 : 0,
	      SEEK_SET);
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n > 0) {
		buf[n] = '\0';
		fprintf(stderr, "# etcd log (%s):\n%s\n", m->url, buf);
	}
}

static int spawn(struct test_etcd *m)
{
	char client[64], peer[64], data[96], logp[96];
	const char *bin = test_etcd_bin();
	pid_t parent = getpid();

	snprintf(client, sizeof(client), "http://127.0.0.1:%d", m->port);
	snprintf(peer, sizeof(peer), "http://127.0.0.1:%d", m->peer_port);
	snprintf(data, sizeof(data), "%s/data", m->dir);
	snprintf(logp, sizeof(logp), "%s/etcd.log", m->dir);
	fflush(stdout);
	fflush(stderr);
	m->pid = fork();
	if (m->pid < 0)
		return -errno;
	if (m->pid == 0) {
		int fd = open(logp, O_WRONLY | O_CREAT | O_APPEND, 0644);

		die_with_parent(parent);
		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		/* Short raft timers: a lost leader shows in about a second,
		 * and the minimum lease TTL is 1 s.
		 */
		execl(bin, "etcd", "--name", m->name, "--data-dir", data,
		      "--listen-client-urls", client,
		      "--advertise-client-urls", client,
		      "--listen-peer-urls", peer,
		      "--initial-advertise-peer-urls", peer,
		      "--initial-cluster", m->cluster,
		      "--heartbeat-interval", "50",
		      "--election-timeout", "500", (char *)NULL);
		_exit(127);
	}
	return 0;
}

static int wait_ready(struct test_etcd *m, long deadline)
{
	char err[256];
	int status;

	while (test_now_ms() < deadline) {
		struct etcd *e;
		struct etcd_kv kv;
		int ret;

		if (waitpid(m->pid, &status, WNOHANG) == m->pid) {
			fprintf(stderr, "# etcd at %s exited (status %d)\n",
				m->url, status);
			m->pid = 0;
			print_log_tail(m);
			return -ECHILD;
		}
		e = etcd_open(m->url, 300, err, sizeof(err));
		if (!e)
			return -EINVAL;
		ret = etcd_get(e, "fixture-probe", &kv, NULL);
		etcd_kv_free(&kv);
		etcd_close(e);
		if (ret == 0 || ret == -ENOENT)
			return 0;
		usleep(50 * 1000);
	}
	fprintf(stderr, "# etcd at %s did not start within %d ms\n", m->url,
		START_TIMEOUT_MS);
	print_log_tail(m);
	return -ETIMEDOUT;
}

int test_etcd_start(struct test_etcd *m, size_t n)
{
	char cluster[sizeof(m->cluster)] = "";
	long deadline = test_now_ms() + START_TIMEOUT_MS;
	size_t i;
	int ret = 0;

	memset(m, 0, n * sizeof(*m));
	if (!test_etcd_bin())
		return -ENOENT;
	for (i = 0; i < n; i++) {
		strcpy(m[i].dir, "/tmp/etcd-test.XXXXXX");
		if (!mkdtemp(m[i].dir)) {
			m[i].dir[0] = '\0';
			ret = -errno;
			goto fail;
		}
		m[i].port = test_free_port();
		m[i].peer_port = test_free_port();
		if (m[i].port < 0 || m[i].peer_port < 0) {
			ret = -EADDRNOTAVAIL;
			goto fail;
		}
		snprintf(m[i].url, sizeof(m[i].url), "http://127.0.0.1:%d",
			 m[i].port);
		snprintf(m[i].name, sizeof(m[i].name), "m%zu", i % 1000);
		snprintf(cluster + strlen(cluster),
			 sizeof(cluster) - strlen(cluster),
			 "%sm%zu=http://127.0.0.1:%d", i ? "," : "", i,
			 m[i].peer_port);
	}
	for (i = 0; i < n; i++) {
		memcpy(m[i].cluster, cluster, sizeof(cluster));
		ret = spawn(&m[i]);
		if (ret)
			goto fail;
	}
	for (i = 0; i < n; i++) {
		ret = wait_ready(&m[i], deadline);
		if (ret)
			goto fail;
	}
	return 0;
fail:
	for (i = 0; i < n; i++)
		test_etcd_stop(&m[i]);
	return ret;
}

void test_etcd_kill(struct test_etcd *m)
{
	if (m->pid > 0) {
		kill(m->pid, SIGKILL);
		waitpid(m->pid, NULL, 0);
		m->pid = 0;
	}
}

int test_etcd_restart(struct test_etcd *m)
{
	int ret;

	test_etcd_kill(m);
	if (!m->dir[0] || !m->cluster[0])
		return -EINVAL;
	ret = spawn(m);
	if (!ret)
		ret = wait_ready(m, test_now_ms() + START_TIMEOUT_MS);
	return ret;
}

void test_etcd_stop(struct test_etcd *m)
{
	test_etcd_kill(m);
	if (m->dir[0]) {
		nftw(m->dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
		m->dir[0] = '\0';
	}
}

/* Read one HTTP request: headers, then Content-Length bytes of body. */
static void read_request(int fd)
{
	char buf[65536];
	size_t len = 0;
	struct timeval tv = { .tv_sec = 2 };

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	for (;;) {
		ssize_t n = read(fd, buf + len, sizeof(buf) - 1 - len);
		char *end, *cl;

		if (n <= 0)
			return;
		len += n;
		buf[len] = '\0';
		end = strstr(buf, "\r\n\r\n");
		if (!end)
			continue;
		cl = strcasestr(buf, "\r\nContent-Length:");
		if (!cl || (size_t)(end + 4 - buf) + strtoul(cl + 17, NULL, 10) <= len ||
		    len == sizeof(buf) - 1)
			return;
	}
}

static void write_all(int fd, const char *p, size_t len)
{
	while (len) {
		ssize_t n = write(fd, p, len);

		if (n <= 0)
			return;
		p += n;
		len -= n;
	}
}

static void serve(int lfd, const char *reply, bool dribble, bool hold)
{
	size_t len = strlen(reply);
	int one = 1;

	signal(SIGPIPE, SIG_IGN);
	for (;;) {
		int fd = accept(lfd, NULL, NULL);
		size_t off;

		if (fd < 0)
			continue;
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		read_request(fd);
		if (!dribble) {
			write_all(fd, reply, len);
		} else {
			for (off = 0; off < len; off += 3) {
				write_all(fd, reply + off,
					  len - off < 3 ? len - off : 3);
				usleep(1000);
			}
		}
		if (!hold)
			close(fd);
	}
}

int test_fake_start(struct test_fake *f, const char *reply, bool dribble,
		    bool hold)
{
	pid_t parent = getpid();
	int lfd = listen_any(16, &f->port);

	if (lfd < 0)
		return lfd;
	snprintf(f->url, sizeof(f->url), "http://127.0.0.1:%d", f->port);
	fflush(stdout);
	fflush(stderr);
	f->pid = fork();
	if (f->pid < 0) {
		close(lfd);
		return -errno;
	}
	if (f->pid == 0) {
		die_with_parent(parent);
		serve(lfd, reply, dribble, hold);
		_exit(0);
	}
	close(lfd);
	return 0;
}

void test_fake_stop(struct test_fake *f)
{
	if (f->pid > 0) {
		kill(f->pid, SIGKILL);
		waitpid(f->pid, NULL, 0);
		f->pid = 0;
	}
}
