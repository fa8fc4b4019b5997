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
#include "log.h"
#include "mapd.h"
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
		"Usage: shard-mapd [--state FILE] [--socket PATH] [--foreground] [--no-kernel]\n"
		"  --state FILE   cluster state file (default %s)\n"
		"  --socket PATH  control socket (default %s)\n"
		"  --foreground   do not detach; log to stderr\n"
		"  --no-kernel    do not talk to the shard kernel module\n",
		DEFAULT_STATE, JL_DEFAULT_SOCKET);
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

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "state",	required_argument, NULL, 's' },
		{ "socket",	required_argument, NULL, 'S' },
		{ "foreground",	no_argument,	   NULL, 'f' },
		{ "no-kernel",	no_argument,	   NULL, 'n' },
		{ "help",	no_argument,	   NULL, 'h' },
		{ 0 }
	};
	const char *state = DEFAULT_STATE, *sock = JL_DEFAULT_SOCKET;
	bool foreground = false, kernel = true;
	struct mapd m = { 0 };
	struct sigaction sa = { .sa_handler = on_signal };
	struct kerr kerr;
	int opt, ret, lfd = -1, ready = -1;
	sigset_t block;

	while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (opt) {
		case 's': state = optarg; break;
		case 'S': sock = optarg; break;
		case 'f': foreground = true; break;
		case 'n': kernel = false; break;
		case 'h': usage(stdout); return EXIT_SUCCESS;
		default: usage(stderr); return EXIT_FAILURE;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "shard-mapd: unexpected argument '%s'\n",
			argv[optind]);
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
	if (kernel)
		mapd_sync_kernel(&m, &kerr);
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
	return ret ? EXIT_FAILURE : EXIT_SUCCESS;
}
