// SPDX-License-Identifier: GPL-2.0-only
/* Real shard-mapd processes for tests: see mapd_proc.h. */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
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

#include "../jsonline/jsonline.h"
#include "mapd_proc.h"

static long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000;
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

const char *mapd_proc_bin(void)
{
	static char bin[PATH_MAX];
	const char *env = getenv("MAPD");
	char exe[PATH_MAX];
	ssize_t n;

	if (env && *env)
		return access(env, X_OK) == 0 ? env : NULL;
	/* build/asan/tests/NAME -> build/asan/shard-mapd */
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n <= 0)
		return NULL;
	exe[n] = '\0';
	snprintf(bin, sizeof(bin), "%s/../shard-mapd", dirname(exe));
	return access(bin, X_OK) == 0 ? bin : NULL;
}

int mapd_proc_start(struct mapd_proc *p, const char *dir, const char *name,
		    const char *etcd_url, const char *cluster, double grace)
{
	const char *bin = mapd_proc_bin();
	pid_t parent = getpid();
	char g[32];

	memset(p, 0, sizeof(*p));
	if (!bin)
		return -ENOENT;
	snprintf(p->name, sizeof(p->name), "%s", name);
	snprintf(p->sock, sizeof(p->sock), "%s/%s.sock", dir, name);
	snprintf(p->state, sizeof(p->state), "%s/%s.json", dir, name);
	snprintf(p->log, sizeof(p->log), "%s/%s.log", dir, name);
	snprintf(g, sizeof(g), "%g", grace);
	fflush(stdout);
	fflush(stderr);
	p->pid = fork();
	if (p->pid < 0) {
		p->pid = 0;
		return -errno;
	}
	if (p->pid == 0) {
		int fd = open(p->log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC,
			      0644);

		/* Dies with the test, even when the test is killed. */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(1);
		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		if (!etcd_url)
			execl(bin, "shard-mapd", "--no-kernel", "--foreground",
			      "--state", p->state, "--socket", p->sock,
			      "--grace", g, (char *)NULL);
		else
			execl(bin, "shard-mapd", "--no-kernel", "--foreground",
			      "--state", p->state, "--socket", p->sock,
			      "--etcd", etcd_url, "--cluster", cluster,
			      "--name", name, "--grace", g, (char *)NULL);
		_exit(127);
	}
	return 0;
}

bool mapd_proc_alive(struct mapd_proc *p)
{
	if (p->pid <= 0)
		return false;
	if (waitpid(p->pid, NULL, WNOHANG) == p->pid) {
		p->pid = 0;
		return false;
	}
	return true;
}

int mapd_proc_wait_ready(struct mapd_proc *p, long timeout_ms)
{
	long deadline = now_ms() + timeout_ms;

	while (now_ms() < deadline) {
		json_t *r;
		int err;

		if (!mapd_proc_alive(p))
			return -ECHILD;
		r = mapd_call(p->sock, "{\"cmd\":\"status\"}", 1000, &err);
		if (r) {
			json_decref(r);
			return 0;
		}
		sleep_ms(50);
	}
	return -ETIMEDOUT;
}

void mapd_proc_kill(struct mapd_proc *p)
{
	if (p->pid <= 0)
		return;
	kill(p->pid, SIGKILL);
	waitpid(p->pid, NULL, 0);
	p->pid = 0;
}

int mapd_proc_stop(struct mapd_proc *p, long timeout_ms)
{
	long deadline = now_ms() + timeout_ms;
	int status;

	if (p->pid <= 0)
		return -1;
	kill(p->pid, SIGTERM);
	while (now_ms() < deadline) {
		if (waitpid(p->pid, &status, WNOHANG) == p->pid) {
			p->pid = 0;
			return status;
		}
		sleep_ms(20);
	}
	mapd_proc_kill(p);
	return -1;
}

static char *read_log(const struct mapd_proc *p, size_t *len)
{
	FILE *f = fopen(p->log, "r");
	char *buf = NULL;
	size_t cap = 0, n;

	*len = 0;
	if (!f)
		return NULL;
	for (;;) {
		if (cap - *len < 4096) {
			char *b = realloc(buf, cap + 65536);

			if (!b)
				break;
			buf = b;
			cap += 65536;
		}
		n = fread(buf + *len, 1, cap - *len - 1, f);
		if (!n)
			break;
		*len += n;
	}
	fclose(f);
	if (buf)
		buf[*len] = '\0';
	return buf;
}

int mapd_proc_log_count(const struct mapd_proc *p, const char *needle)
{
	size_t len;
	char *log = read_log(p, &len), *s;
	int n = 0;

	for (s = log; s && (s = strstr(s, needle)); s += strlen(needle))
		n++;
	free(log);
	return n;
}

bool mapd_proc_log_has(const struct mapd_proc *p, const char *needle)
{
	return mapd_proc_log_count(p, needle) > 0;
}

bool mapd_proc_log_clean(const struct mapd_proc *p)
{
	return !mapd_proc_log_has(p, "Sanitizer") &&
	       !mapd_proc_log_has(p, "runtime error:");
}

void mapd_proc_log_tail(const struct mapd_proc *p, size_t bytes)
{
	size_t len;
	char *log = read_log(p, &len), *s, *nl;

	if (!log)
		return;
	s = len > bytes ? log + len - bytes : log;
	fprintf(stderr, "# --- %s log (%s) ---\n", p->name, p->log);
	for (; *s; s = nl + 1) {
		nl = strchr(s, '\n');
		if (!nl) {
			fprintf(stderr, "# %s\n", s);
			break;
		}
		fprintf(stderr, "# %.*s\n", (int)(nl - s), s);
	}
	free(log);
}

int mapd_connect(const char *sock, long timeout_ms)
{
	struct timeval tv = { timeout_ms / 1000, (timeout_ms % 1000) * 1000 };
	int fd = jl_connect(sock);

	if (fd < 0)
		return fd;
	if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) ||
	    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv))) {
		int err = -errno;

		close(fd);
		return err;
	}
	return fd;
}

json_t *mapd_call_fd(int fd, const char *req, int *err)
{
	json_t *j = json_loads(req, JSON_DECODE_ANY, NULL), *reply = NULL;

	if (!j) {
		*err = -EINVAL;
		return NULL;
	}
	*err = jl_call(fd, j, &reply);
	json_decref(j);
	if (*err == -EAGAIN)
		*err = -ETIMEDOUT;
	return *err ? NULL : reply;
}

json_t *mapd_call(const char *sock, const char *req, long timeout_ms,
		  int *err)
{
	int fd = mapd_connect(sock, timeout_ms);
	json_t *r;

	if (fd < 0) {
		*err = fd;
		return NULL;
	}
	r = mapd_call_fd(fd, req, err);
	close(fd);
	return r;
}

/* One heartbeat; reconnects next time after an error. */
static void beat(struct hb_daemon *d)
{
	char req[160];
	json_t *r;
	int err;

	if (d->fd < 0)
		d->fd = mapd_connect(d->sock, 1000);
	if (d->fd < 0)
		return;
	snprintf(req, sizeof(req),
		 "{\"cmd\":\"daemon-heartbeat\",\"id\":%u,\"epoch\":%llu,\"used\":%u}",
		 d->id, (unsigned long long)d->epoch, d->id << 20);
	r = mapd_call_fd(d->fd, req, &err);
	if (!r) {
		close(d->fd);
		d->fd = -1;
		return;
	}
	if (json_is_integer(json_object_get(r, "epoch")))
		d->epoch = json_integer_value(json_object_get(r, "epoch"));
	json_decref(r);
}

static void *hb_main(void *arg)
{
	struct hb_set *h = arg;
	size_t i, n;

	while (!h->stop) {
		long next = now_ms() + h->interval_ms;

		pthread_mutex_lock(&h->lock);
		n = h->n;
		pthread_mutex_unlock(&h->lock);
		for (i = 0; i < n && !h->stop; i++) {
			bool on;

			pthread_mutex_lock(&h->lock);
			on = h->d[i].on;
			pthread_mutex_unlock(&h->lock);
			if (on)
				beat(&h->d[i]);
		}
		while (!h->stop && now_ms() < next)
			sleep_ms(20);
	}
	return NULL;
}

int hb_start(struct hb_set *h, long interval_ms)
{
	int ret;

	memset(h, 0, sizeof(*h));
	h->interval_ms = interval_ms;
	pthread_mutex_init(&h->lock, NULL);
	ret = pthread_create(&h->thread, NULL, hb_main, h);
	if (ret) {
		pthread_mutex_destroy(&h->lock);
		return -ret;
	}
	h->running = true;
	return 0;
}

json_t *hb_register(struct hb_set *h, const char *sock, const char *req,
		    int *err)
{
	struct hb_daemon *d;
	json_t *r;
	int fd;

	pthread_mutex_lock(&h->lock);
	if (h->n == HB_MAX) {
		pthread_mutex_unlock(&h->lock);
		*err = -ENOSPC;
		return NULL;
	}
	d = &h->d[h->n];
	pthread_mutex_unlock(&h->lock);
	/* Only this thread adds: d is ours until n covers it. */
	fd = mapd_connect(sock, 2000);
	if (fd < 0) {
		*err = fd;
		return NULL;
	}
	r = mapd_call_fd(fd, req, err);
	if (!r || !json_is_true(json_object_get(r, "ok")) ||
	    !json_is_integer(json_object_get(r, "id"))) {
		close(fd);
		return r;
	}
	snprintf(d->sock, sizeof(d->sock), "%s", sock);
	d->id = json_integer_value(json_object_get(r, "id"));
	d->on = true;
	d->fd = fd;
	d->epoch = 0;
	pthread_mutex_lock(&h->lock);
	h->n++;
	pthread_mutex_unlock(&h->lock);
	return r;
}

void hb_enable(struct hb_set *h, uint32_t id, bool on)
{
	size_t i;

	pthread_mutex_lock(&h->lock);
	for (i = 0; i < h->n; i++)
		if (h->d[i].id == id)
			h->d[i].on = on;
	pthread_mutex_unlock(&h->lock);
}

void hb_stop(struct hb_set *h)
{
	size_t i;

	if (!h->running)
		return;
	h->stop = 1;
	pthread_join(h->thread, NULL);
	for (i = 0; i < h->n; i++)
		if (h->d[i].fd >= 0)
			close(h->d[i].fd);
	pthread_mutex_destroy(&h->lock);
	h->running = false;
}

int mapd_env_start(struct mapd_env *env, const char *tmpl,
		   struct hb_set *hb, char *err, size_t len)
{
	int ret;

	if (strlen(tmpl) >= sizeof(env->dir)) {
		snprintf(err, len, "directory template too long");
		return -ENAMETOOLONG;
	}
	strcpy(env->dir, tmpl);
	if (!mkdtemp(env->dir)) {
		ret = -errno;
		snprintf(err, len, "mkdtemp %s: %s", tmpl, strerror(errno));
		env->dir[0] = '\0';
		return ret;
	}
	ret = test_etcd_start(&env->etcd, 1);
	if (ret) {
		snprintf(err, len, "cannot start etcd: %s", strerror(-ret));
	} else {
		env->e = etcd_open(env->etcd.url, 2000, err, len);
		ret = env->e ? 0 : -EINVAL;
	}
	if (!ret && hb) {
		ret = hb_start(hb, 300);
		if (ret)
			snprintf(err, len, "cannot start heartbeats: %s",
				 strerror(-ret));
	}
	if (ret)
		mapd_env_release(env, false);
	return ret;
}

void mapd_env_release(struct mapd_env *env, bool keep)
{
	char cmd[128];

	if (env->e)
		etcd_close(env->e);
	env->e = NULL;
	test_etcd_stop(&env->etcd);
	if (keep) {
		fprintf(stderr, "# kept %s\n", env->dir);
	} else if (env->dir[0]) {
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", env->dir);
		if (system(cmd))
			fprintf(stderr, "# cannot remove %s\n", env->dir);
	}
}

int mapd_procs_finish(struct mapd_proc *m, size_t n, const bool *stopped,
		      bool failed)
{
	int bad = 0;
	size_t i;

	for (i = 0; i < n; i++) {
		if (m[i].pid > 0 && stopped && stopped[i])
			kill(m[i].pid, SIGCONT);
		if (m[i].pid > 0)
			kill(m[i].pid, SIGTERM);
	}
	for (i = 0; i < n; i++) {
		struct mapd_proc *p = &m[i];
		bool was_running = p->pid > 0, broke = false;
		int status = mapd_proc_stop(p, 5000);

		if (was_running && !(WIFEXITED(status) &&
				     !WEXITSTATUS(status))) {
			fprintf(stderr, "# mapd %s: wait status %d\n",
				p->name, status);
			broke = true;
		}
		if (!mapd_proc_log_clean(p)) {
			fprintf(stderr, "# mapd %s: sanitizer report in %s\n",
				p->name, p->log);
			broke = true;
		}
		bad += broke;
		if (failed || broke)
			mapd_proc_log_tail(p, 3000);
	}
	return bad;
}

bool mapd_test_selected(const char *name)
{
	const char *only = getenv("MAPD_TEST");

	return !only || !*only || !strcmp(only, name);
}

json_t *mapd_req(const struct mapd_proc *p, const char *req)
{
	int err;

	return mapd_call(p->sock, req, MAPD_CALL_MS, &err);
}

bool mapd_ok(json_t *r)
{
	return r && json_is_true(json_object_get(r, "ok"));
}

const char *mapd_error(json_t *r)
{
	const char *e = r ? json_string_value(json_object_get(r, "error")) :
			    "no answer";

	return e ? e : "";
}

int mapd_leader_index(struct mapd_proc *m, size_t n)
{
	const char *name = NULL;
	json_t **st = calloc(n ? n : 1, sizeof(*st));
	int found = -1;
	size_t i, k;

	if (!st)
		return -1;
	for (i = 0; i < n; i++) {
		const char *l;

		st[i] = mapd_req(&m[i], "{\"cmd\":\"status\"}");
		l = json_string_value(json_object_get(st[i], "leader"));
		if (!mapd_ok(st[i]) || !l || (name && strcmp(name, l)))
			goto out;
		name = l;
	}
	for (k = 0; name && k < n; k++)
		if (!strcmp(m[k].name, name))
			found = k;
out:
	for (i = 0; i < n; i++)
		json_decref(st[i]);
	free(st);
	return found;
}

uint32_t mapd_register_daemon(struct hb_set *h, const struct mapd_proc *p,
			      int port)
{
	char req[256];
	uint32_t id = 0;
	json_t *r;
	int err;

	snprintf(req, sizeof(req),
		 "{\"cmd\":\"daemon-register\",\"addr\":\"127.0.0.1\",\"port\":%d,"
		 "\"capacity\":%llu,\"class\":\"ssd\",\"host\":\"host-%s\"}",
		 port, 100ULL << 30, p->name);
	r = hb_register(h, p->sock, req, &err);
	if (mapd_ok(r))
		id = json_integer_value(json_object_get(r, "id"));
	else
		fprintf(stderr, "# register on %s: %s\n", p->name,
			r ? mapd_error(r) : strerror(-err));
	json_decref(r);
	return id;
}

int mapd_daemon_up(const struct mapd_proc *p, uint32_t id)
{
	json_t *r = mapd_req(p, "{\"cmd\":\"daemon-ls\"}"), *d;
	int up = -1;
	size_t i;

	json_array_foreach(json_object_get(r, "daemons"), i, d)
		if (json_integer_value(json_object_get(d, "id")) == id)
			up = json_is_true(json_object_get(d, "up"));
	json_decref(r);
	return up;
}

int mapd_env_finish(struct mapd_env *env, struct hb_set *hb,
		    struct mapd_proc *m, size_t n, const bool *stopped,
		    bool failed)
{
	int bad;

	if (hb)
		hb_stop(hb);
	bad = mapd_procs_finish(m, n, stopped, failed);
	mapd_env_release(env, (failed || bad) && getenv("MAPD_TEST_KEEP"));
	return bad;
}

int mapd_procs_start(struct mapd_proc *m, size_t n, size_t *started,
		     const struct mapd_env *env, const char *cluster,
		     double grace)
{
	char name[2] = "a";
	size_t i;
	int ret;

	if (n > 26)
		return -EINVAL;
	for (i = 0; i < n; i++) {
		name[0] = 'a' + i;
		ret = mapd_proc_start(&m[i], env->dir, name, env->etcd.url,
				      cluster, grace);
		if (ret)
			return ret;
		*started = i + 1;
	}
	for (i = 0; i < n; i++) {
		ret = mapd_proc_wait_ready(&m[i], 15000);
		if (ret)
			return ret;
	}
	return 0;
}
