// SPDX-License-Identifier: GPL-2.0-only
/*
 * shard-mapd: the map manager of shard, embedded (single host) mode.
 * Keeps the cluster state in a file, pushes the placement map into the
 * kernel over generic netlink, and serves shardctl and shardd on a UNIX
 * socket.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "../jsonline/jsonline.h"
#include "cluster.h"
#include "cluster_conf.h"
#include "genl_event.h"
#include "log.h"
#include "mapd.h"
#include "report.h"
#include "server.h"

#ifndef PR_SET_IO_FLUSHER
#define PR_SET_IO_FLUSHER 57
#endif

#define DEFAULT_STATE	"/var/lib/shard/state.json"

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: shard-mapd [OPTION]...\n"
		"  --state FILE      cluster state file (default %s)\n"
		"  --socket PATH     control socket (default %s)\n"
		"  --grace SEC       a daemon silent this long is down (default %d)\n"
		"  --out-after SEC   a daemon down this long is out, its PGs move\n"
		"                    (default %d; 0 never)\n"
		"  --etcd URLS       cluster mode: the state lives in etcd at these\n"
		"                    client URLs (comma-separated); created from\n"
		"                    the state file when etcd has none\n"
		"  --cluster NAME    cluster name, the etcd key prefix (default shard)\n"
		"  --name NAME       this mapd's name in the cluster (default: hostname)\n"
		"  --etcd-timeout MS each etcd request's limit (default 1000)\n"
		"  --foreground      do not detach; log to stderr\n"
		"  --no-kernel       do not talk to the shard kernel module\n",
		DEFAULT_STATE, JL_DEFAULT_SOCKET, MAPD_DEFAULT_GRACE,
		MAPD_DEFAULT_OUT_AFTER);
}

/* Seconds, fractions allowed: 0.5 .. one day (0 too unless positive). */
static int parse_seconds(const char *s, double *out, bool positive)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || *end || !(v >= 0 && v <= 86400) ||
	    (positive && v < 0.5)) {
		fprintf(stderr, "shard-mapd: bad number of seconds '%s'\n", s);
		return -1;
	}
	*out = v;
	return 0;
}

/*
 * Detaches; the parent exits only once the child says it is serving (or
 * failed), so that "shard-mapd && shardctl ..." works.
 */
static int daemonize(int *ready_fd)
{
	int p[2], null;
	char c = 1;
	pid_t pid;

	if (pipe2(p, O_CLOEXEC) < 0)
		return -errno;
	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid > 0) {
		close(p[1]);
		if (read(p[0], &c, 1) != 1)
			c = 1;
		_exit(c ? EXIT_FAILURE : EXIT_SUCCESS);
	}
	close(p[0]);
	setsid();
	null = open("/dev/null", O_RDWR);
	if (null >= 0) {
		dup2(null, 0);
		dup2(null, 1);
		dup2(null, 2);
		if (null > 2)
			close(null);
	}
	*ready_fd = p[1];
	return 0;
}

/* The cluster shardctl cluster create|join made us part of, if any. */
static int remembered_cluster(const char *state, struct mapd_cluster_conf *c,
			      struct mapd_cluster_opts *o)
{
	char *path = cluster_conf_path(state), err[512];
	int ret;

	if (!path)
		return -ENOMEM;
	ret = cluster_conf_load(path, c, err, sizeof(err));
	if (ret == -ENOENT) {
		ret = 0;
	} else if (ret) {
		log_err("%s; fix or remove it (shardctl cluster join writes it again)",
			err);
	} else {
		log_info("cluster %s from %s", c->name, path);
		o->endpoints = c->endpoints;
		o->name = c->name;
		o->self = c->self;
	}
	free(path);
	return ret;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "state",	required_argument, NULL, 's' },
		{ "socket",	required_argument, NULL, 'S' },
		{ "foreground",	no_argument,	   NULL, 'f' },
		{ "no-kernel",	no_argument,	   NULL, 'n' },
		{ "grace",	required_argument, NULL, 'g' },
		{ "etcd",	required_argument, NULL, 'e' },
		{ "cluster",	required_argument, NULL, 'c' },
		{ "name",	required_argument, NULL, 'N' },
		{ "etcd-timeout", required_argument, NULL, 'T' },
		{ "out-after",	required_argument, NULL, 'o' },
		{ "help",	no_argument,	   NULL, 'h' },
		{ 0 }
	};
	const char *state = DEFAULT_STATE, *sock = JL_DEFAULT_SOCKET;
	bool foreground = false, kernel = true;
	struct mapd m = {
		.grace = MAPD_DEFAULT_GRACE,
		.out_after = MAPD_DEFAULT_OUT_AFTER,
	};
	struct sigaction sa = { .sa_handler = on_signal };
	struct mapd_cluster_opts copts = {
		.name = "shard", .timeout_ms = 1000,
	};
	struct mapd_cluster_conf conf = { 0 };
	char host[256];
	struct kerr kerr;
	int opt, ret, lfd = -1, ready = -1;
	sigset_t block;

	while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (opt) {
		case 's': state = optarg; break;
		case 'S': sock = optarg; break;
		case 'f': foreground = true; break;
		case 'n': kernel = false; break;
		case 'e': copts.endpoints = optarg; break;
		case 'c': copts.name = optarg; break;
		case 'N': copts.self = optarg; break;
		case 'T': {
			double sec;

			if (parse_seconds(optarg, &sec, true) || sec < 500 ||
			    sec > 60000) {
				fprintf(stderr, "shard-mapd: --etcd-timeout takes 500..60000 ms\n");
				return EXIT_FAILURE;
			}
			copts.timeout_ms = (long)sec;
			break;
		}
		case 'g':
		case 'o':
			if (parse_seconds(optarg, opt == 'g' ? &m.grace :
					  &m.out_after, opt == 'g'))
				return EXIT_FAILURE;
			break;
		case 'h': usage(stdout); return EXIT_SUCCESS;
		default: usage(stderr); return EXIT_FAILURE;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "shard-mapd: unexpected argument '%s'\n",
			argv[optind]);
		return EXIT_FAILURE;
	}

	if (gethostname(host, sizeof(host)) < 0)
		strcpy(host, "localhost");
	host[sizeof(host) - 1] = '\0';
	snprintf(m.hostname, sizeof(m.hostname), "%s", host);
	m.etcd_timeout_ms = copts.timeout_ms;
	if (!copts.self)
		copts.self = host;
	if (!valid_name(copts.name) || !valid_name(copts.self)) {
		fprintf(stderr, "shard-mapd: --cluster and --name must match [A-Za-z0-9._-]{1,64}\n");
		return EXIT_FAILURE;
	}
	log_init(false, false);
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	sigprocmask(SIG_BLOCK, &block, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	/* The kernel may hold I/O until we push a map: don't wait on it. */
	prctl(PR_SET_IO_FLUSHER, 1, 0, 0, 0);

	ret = mapd_init(&m, state);
	if (ret)
		goto out;
	if (!copts.endpoints) {
		ret = remembered_cluster(state, &conf, &copts);
		if (ret)
			goto out;
	}
	if (kernel) {
		ret = genl_kernel_open(&m.kernel);
		if (ret)
			goto out;
	}
	lfd = server_listen(sock);
	if (lfd < 0) {
		ret = lfd;
		goto out;
	}
	if (!foreground) {
		ret = daemonize(&ready);
		if (ret) {
			log_err("cannot detach: %s", strerror(-ret));
			goto out_unlink;
		}
		log_init(true, false);
	}
	if (copts.endpoints) {
		ret = cluster_start(&m, &copts);
		if (ret) {
			log_err("cannot start cluster mode: %s", strerror(-ret));
			goto out_unlink;
		}
	}
	if (kernel) {
		/* Its reports of unreachable daemons: without them mapd
		 * works as before, only slower to notice a dead host. */
		m.events = kevents_open(mapd_kernel_event, &m);
		kevents_subscribe(m.events);
		mapd_sync_kernel(&m, &kerr);
	}
	log_info("serving %s (epoch %llu%s)", sock,
		 (unsigned long long)m.st.epoch,
		 kernel ? "" : ", kernel disabled");
	if (ready >= 0) {
		char c = 0;

		if (write(ready, &c, 1) != 1)
			log_warn("cannot tell the parent we are ready");
		close(ready);
		ready = -1;
	}
	ret = server_run(&m, lfd, &stop);
	log_info("exiting");
out_unlink:
	unlink(sock);
	close(lfd);
out:
	mapd_fini(&m);
	cluster_conf_free(&conf);
	return ret ? EXIT_FAILURE : EXIT_SUCCESS;
}
