// SPDX-License-Identifier: GPL-2.0-only
/*
 * shardd: the shard storage daemon, one per disk. This file parses the
 * command line and sets up; loop.c runs the daemon.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <netdb.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <shard/proto.h>

#include "backfill.h"
#include "devinfo.h"
#include "log.h"
#include "loop.h"
#include "map.h"
#include "scrub.h"
#include "session.h"
#include "store.h"

#ifndef PR_SET_IO_FLUSHER
#define PR_SET_IO_FLUSHER 57
#endif

#define SHARDD_VERSION "0.1"

struct options {
	const char *store;
	uint64_t size;
	const char *listen;
	unsigned int port;
	const char *advertise;
	const char *mapd;
	const char *host;
	const char *rack;
	const char *site;
	unsigned int heartbeat_ms;
	unsigned int scrub_s, deep_scrub_s;
	unsigned int recovery_pushes, recovery_mbps, recovery_share;
	const char *dev_class;
	bool foreground;
	bool force_format;
	int verbose;
};

static const char usage_text[] =
"Usage: shardd --store PATH [OPTION]...\n"
"The shard storage daemon: serves one disk to shard clients.\n"
"\n"
"  -s, --store PATH       block device, file, or directory (uses\n"
"                         PATH/" SHARD_STORE_FILE ")\n"
"  -S, --size BYTES       size of a new store file (K, M, G, T suffixes);\n"
"                         default for a directory: 90% of its free space\n"
"  -l, --listen ADDR      address to listen on (default 0.0.0.0)\n"
"  -p, --port N           TCP port (default 7410; 0 picks one)\n"
"  -a, --advertise ADDR   address to register with mapd (default: the\n"
"                         listen address, 127.0.0.1 for 0.0.0.0)\n"
"  -m, --mapd SOCKET      map manager socket (default " SHARD_MAPD_DEFAULT_SOCKET ")\n"
"  -M, --no-mapd          do not register with a map manager\n"
"  -H, --host NAME        host name to register (default: hostname)\n"
"      --rack NAME        rack to register, for placement across racks\n"
"      --site NAME        site to register, for placement across sites\n"
"      --heartbeat-ms N   heartbeat interval to mapd (default 1000)\n"
"      --scrub-interval S light scrub of each PG we are primary of every\n"
"                         S seconds (default 86400; 0: only on request)\n"
"      --deep-scrub-interval S\n"
"                         deep scrub every S seconds (default 604800)\n"
"      --recovery-mbps N  copy at most N MB/s to daemons being backfilled\n"
"                         (default 0: no limit)\n"
"      --recovery-pushes N\n"
"                         objects being copied at once (default 4, 1..64)\n"
"      --recovery-share PCT\n"
"                         while clients use this daemon, recovery takes at\n"
"                         most PCT% of the time (default 25; 100: all);\n"
"                         a share set for the cluster overrides it\n"
"  -c, --class ssd|hdd    device class (default: detected)\n"
"  -f, --foreground       do not detach; log to stderr\n"
"      --force-format     format the store even if it holds other data\n"
"  -v, --verbose          log debug messages\n"
"  -h, --help             show this help\n"
"  -V, --version          show the version\n";

enum {
	OPT_FORCE_FORMAT = 256,
	OPT_RACK,
	OPT_SITE,
	OPT_HEARTBEAT_MS,
	OPT_SCRUB,
	OPT_DEEP_SCRUB,
	OPT_RECOVERY_MBPS,
	OPT_RECOVERY_PUSHES,
	OPT_RECOVERY_SHARE,
};

static const struct option long_opts[] = {
	{ "store", required_argument, NULL, 's' },
	{ "size", required_argument, NULL, 'S' },
	{ "listen", required_argument, NULL, 'l' },
	{ "port", required_argument, NULL, 'p' },
	{ "advertise", required_argument, NULL, 'a' },
	{ "mapd", required_argument, NULL, 'm' },
	{ "no-mapd", no_argument, NULL, 'M' },
	{ "host", required_argument, NULL, 'H' },
	{ "rack", required_argument, NULL, OPT_RACK },
	{ "site", required_argument, NULL, OPT_SITE },
	{ "heartbeat-ms", required_argument, NULL, OPT_HEARTBEAT_MS },
	{ "scrub-interval", required_argument, NULL, OPT_SCRUB },
	{ "deep-scrub-interval", required_argument, NULL, OPT_DEEP_SCRUB },
	{ "recovery-mbps", required_argument, NULL, OPT_RECOVERY_MBPS },
	{ "recovery-pushes", required_argument, NULL, OPT_RECOVERY_PUSHES },
	{ "recovery-share", required_argument, NULL, OPT_RECOVERY_SHARE },
	{ "class", required_argument, NULL, 'c' },
	{ "foreground", no_argument, NULL, 'f' },
	{ "force-format", no_argument, NULL, OPT_FORCE_FORMAT },
	{ "verbose", no_argument, NULL, 'v' },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, 'V' },
	{ NULL, 0, NULL, 0 },
};

static int parse_size(const char *s, uint64_t *out)
{
	unsigned long long v;
	char *end;
	int shift = 0;

	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || end == s || *s == '-')
		return -EINVAL;
	switch (*end) {
	case 'T': case 't': shift += 10; /* fall through */
	case 'G': case 'g': shift += 10; /* fall through */
	case 'M': case 'm': shift += 10; /* fall through */
	case 'K': case 'k': shift += 10; end++; break;
	case '\0': break;
	default: return -EINVAL;
	}
	if (*end || (shift && v > (UINT64_MAX >> shift)))
		return -EINVAL;
	*out = (uint64_t)v << shift;
	return 0;
}

/* Failure domain names, as shard-mapd accepts them. */
static bool valid_domain(const char *name)
{
	size_t n = strlen(name);

	if (n < 1 || n > 64 || !strcmp(name, ".") || !strcmp(name, ".."))
		return false;
	return strspn(name, "abcdefghijklmnopqrstuvwxyz"
			    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") == n;
}

static int parse_args(int argc, char **argv, struct options *o)
{
	unsigned long port, ms;
	char *end;
	int c;

	o->listen = "0.0.0.0";
	o->port = SHARD_DEFAULT_PORT;
	o->mapd = SHARD_MAPD_DEFAULT_SOCKET;
	o->heartbeat_ms = SHARD_HEARTBEAT_MS_DEFAULT;
	o->scrub_s = SHARD_SCRUB_INTERVAL_DEFAULT;
	o->deep_scrub_s = SHARD_DEEP_SCRUB_INTERVAL_DEFAULT;
	o->recovery_pushes = SHARD_RECOVERY_PUSHES_DEFAULT;
	o->recovery_share = SHARD_RECOVERY_SHARE_DEFAULT;
	while ((c = getopt_long(argc, argv, "s:S:l:p:a:m:MH:c:fvhV", long_opts,
				NULL)) != -1) {
		switch (c) {
		case 's':
			o->store = optarg;
			break;
		case 'S':
			if (parse_size(optarg, &o->size) || !o->size) {
				fprintf(stderr, "shardd: invalid size '%s'\n",
					optarg);
				return -EINVAL;
			}
			break;
		case 'l':
			o->listen = optarg;
			break;
		case 'p':
			errno = 0;
			port = strtoul(optarg, &end, 10);
			if (errno || end == optarg || *end || port > 65535) {
				fprintf(stderr, "shardd: invalid port '%s'\n",
					optarg);
				return -EINVAL;
			}
			o->port = (unsigned int)port;
			break;
		case 'a':
			o->advertise = optarg;
			break;
		case 'm':
			o->mapd = optarg;
			break;
		case 'M':
			o->mapd = NULL;
			break;
		case 'H':
			o->host = optarg;
			break;
		case OPT_RACK:
		case OPT_SITE:
			if (!valid_domain(optarg)) {
				fprintf(stderr, "shardd: --%s must be 1 to 64 "
					"of A-Z a-z 0-9 . _ -, not '%s'\n",
					c == OPT_RACK ? "rack" : "site",
					optarg);
				return -EINVAL;
			}
			if (c == OPT_RACK)
				o->rack = optarg;
			else
				o->site = optarg;
			break;
		case OPT_HEARTBEAT_MS:
			errno = 0;
			ms = strtoul(optarg, &end, 10);
			if (errno || end == optarg || *end || *optarg == '-' ||
			    ms < SHARD_HEARTBEAT_MS_MIN ||
			    ms > SHARD_HEARTBEAT_MS_MAX) {
				fprintf(stderr, "shardd: --heartbeat-ms must "
					"be %u..%u, not '%s'\n",
					SHARD_HEARTBEAT_MS_MIN,
					SHARD_HEARTBEAT_MS_MAX, optarg);
				return -EINVAL;
			}
			o->heartbeat_ms = (unsigned int)ms;
			break;
		case OPT_SCRUB:
		case OPT_DEEP_SCRUB:
			errno = 0;
			ms = strtoul(optarg, &end, 10);
			if (errno || end == optarg || *end || *optarg == '-' ||
			    ms > 10UL * 365 * 24 * 3600) {
				fprintf(stderr, "shardd: --%s must be a number "
					"of seconds up to ten years, not '%s'\n",
					c == OPT_SCRUB ? "scrub-interval" :
					"deep-scrub-interval", optarg);
				return -EINVAL;
			}
			if (c == OPT_SCRUB)
				o->scrub_s = (unsigned int)ms;
			else
				o->deep_scrub_s = (unsigned int)ms;
			break;
		case OPT_RECOVERY_MBPS:
		case OPT_RECOVERY_PUSHES:
			errno = 0;
			ms = strtoul(optarg, &end, 10);
			if (errno || end == optarg || *end || *optarg == '-' ||
			    (c == OPT_RECOVERY_MBPS ? ms > 1000000 :
			     !ms || ms > SHARD_RECOVERY_PUSHES_MAX)) {
				if (c == OPT_RECOVERY_MBPS)
					fprintf(stderr, "shardd: --recovery-mbps "
						"must be 0..1000000, not '%s'\n",
						optarg);
				else
					fprintf(stderr, "shardd: --recovery-pushes "
						"must be 1..%u, not '%s'\n",
						SHARD_RECOVERY_PUSHES_MAX, optarg);
				return -EINVAL;
			}
			if (c == OPT_RECOVERY_MBPS)
				o->recovery_mbps = (unsigned int)ms;
			else
				o->recovery_pushes = (unsigned int)ms;
			break;
		case OPT_RECOVERY_SHARE:
			errno = 0;
			ms = strtoul(optarg, &end, 10);
			if (errno || end == optarg || *end || *optarg == '-' ||
			    !ms || ms > 100) {
				fprintf(stderr, "shardd: --recovery-share must "
					"be a percentage, 1..100, not '%s'\n",
					optarg);
				return -EINVAL;
			}
			o->recovery_share = (unsigned int)ms;
			break;
		case 'c':
			if (strcmp(optarg, "ssd") && strcmp(optarg, "hdd")) {
				fprintf(stderr, "shardd: --class must be ssd "
					"or hdd, not '%s'\n", optarg);
				return -EINVAL;
			}
			o->dev_class = optarg;
			break;
		case 'f':
			o->foreground = true;
			break;
		case OPT_FORCE_FORMAT:
			o->force_format = true;
			break;
		case 'v':
			o->verbose++;
			break;
		case 'h':
			fputs(usage_text, stdout);
			exit(0);
		case 'V':
			puts("shardd " SHARDD_VERSION);
			exit(0);
		default:
			fprintf(stderr, "Try 'shardd --help'.\n");
			return -EINVAL;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "shardd: unexpected argument '%s'\n",
			argv[optind]);
		return -EINVAL;
	}
	if (!o->store) {
		fprintf(stderr, "shardd: --store PATH is required\n");
		return -EINVAL;
	}
	return 0;
}

/* Binds and listens; *port_out is the real port (for --port 0). */
static int open_listener(const char *addr, unsigned int port,
			 unsigned int *port_out)
{
	struct addrinfo hints = {
		.ai_family = AF_UNSPEC,
		.ai_socktype = SOCK_STREAM,
		.ai_flags = AI_PASSIVE | AI_NUMERICHOST | AI_NUMERICSERV,
	};
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	struct addrinfo *ai;
	char portstr[8];
	int fd, ret, one = 1;

	snprintf(portstr, sizeof(portstr), "%u", port);
	ret = getaddrinfo(addr, portstr, &hints, &ai);
	if (ret) {
		pr_err("invalid listen address '%s': %s", addr,
		       gai_strerror(ret));
		return -EINVAL;
	}
	fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		ret = -errno;
		pr_err("socket: %s", strerror(errno));
		goto out;
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 ||
	    listen(fd, 128) < 0 ||
	    getsockname(fd, (struct sockaddr *)&ss, &sl) < 0) {
		ret = -errno;
		pr_err("cannot listen on %s port %u: %s", addr, port,
		       strerror(errno));
		close(fd);
		goto out;
	}
	*port_out = ntohs(ss.ss_family == AF_INET6 ?
			  ((struct sockaddr_in6 *)&ss)->sin6_port :
			  ((struct sockaddr_in *)&ss)->sin_port);
	ret = fd;
out:
	freeaddrinfo(ai);
	return ret;
}

static const char *default_advertise(const char *listen)
{
	if (!strcmp(listen, "0.0.0.0"))
		return "127.0.0.1";
	if (!strcmp(listen, "::"))
		return "::1";
	return listen;
}

/* Detaches after setup, so setup errors still reach the terminal. */
static int daemonize(void)
{
	pid_t pid = fork();
	int fd;

	if (pid < 0) {
		pr_err("fork: %s", strerror(errno));
		return -errno;
	}
	if (pid > 0)
		_exit(0);
	setsid();
	if (chdir("/") < 0)
		pr_warn("chdir /: %s", strerror(errno));
	fd = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (fd >= 0) {
		dup2(fd, STDIN_FILENO);
		dup2(fd, STDOUT_FILENO);
		dup2(fd, STDERR_FILENO);
		if (fd > STDERR_FILENO)
			close(fd);
	}
	shard_log_use_syslog();
	return 0;
}

static void setup_process(void)
{
	sigset_t set;

	/* A client vanishing mid-send must not kill the daemon. */
	signal(SIGPIPE, SIG_IGN);
	/* Delivered through a signalfd read on the ring instead. */
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigprocmask(SIG_BLOCK, &set, NULL);

	/* We may sit in the I/O path of this host's own shard devices:
	 * keep reclaim from recursing into us. */
	if (prctl(PR_SET_IO_FLUSHER, 1, 0, 0, 0) < 0)
		pr_info("PR_SET_IO_FLUSHER not set (%s); fine unless this "
			"host maps its own shard devices", strerror(errno));
}

int main(int argc, char **argv)
{
	struct shard_session_opts mopts;
	struct shard_store_opts sopts;
	struct shardd d;
	struct options o;
	char hostname[256];
	unsigned int port = 0;
	char *file = NULL;
	uint64_t size;
	int ret, lfd = -1;

	memset(&o, 0, sizeof(o));
	memset(&d, 0, sizeof(d));
	shard_log_init("shardd", SHARD_LOG_INFO);
	if (parse_args(argc, argv, &o))
		return 2;
	if (o.verbose)
		shard_log_set_level(SHARD_LOG_DEBUG);
	setup_process();

	ret = shard_resolve_store(o.store, o.size, &file, &size);
	if (ret)
		goto out;
	sopts = (struct shard_store_opts){
		.path = file,
		.size = size,
		.force_format = o.force_format,
		/* Tests stand in for a restart of the machine with it. */
		.boot_id_path = getenv("SHARDD_BOOT_ID_FILE"),
	};
	ret = shard_store_open(&d.store, &sopts);
	if (ret)
		goto out_free;
	if (!o.dev_class)
		o.dev_class = shard_detect_class(shard_store_fd(d.store));

	lfd = open_listener(o.listen, o.port, &port);
	if (lfd < 0) {
		ret = lfd;
		goto out_store;
	}
	pr_info("serving %s (%" PRIu64 " MiB, %s, daemon id %u) on %s port %u",
		file, shard_store_capacity(d.store) >> 20, o.dev_class,
		shard_store_daemon_id(d.store), o.listen, port);

	if (!o.foreground) {
		ret = daemonize();
		if (ret)
			goto out_listen;
	}
	ret = shard_loop_init(&d, lfd);
	if (ret)
		goto out_listen;
	d.scrub_interval = o.scrub_s;
	d.deep_scrub_interval = o.deep_scrub_s;
	d.recovery_pushes = o.recovery_pushes;
	d.recovery_bps = (uint64_t)o.recovery_mbps * 1000000;
	d.recovery_share = d.recovery_share_arg = o.recovery_share;
	srandom((unsigned int)getpid() ^ (unsigned int)time(NULL));

	if (o.mapd) {
		if (!o.host) {
			if (gethostname(hostname, sizeof(hostname)) < 0)
				strcpy(hostname, "localhost");
			hostname[sizeof(hostname) - 1] = '\0';
			o.host = hostname;
		}
		mopts = (struct shard_session_opts){
			.socket_path = o.mapd,
			.addr = o.advertise ? o.advertise
					    : default_advertise(o.listen),
			.port = (uint16_t)port,
			.dev_class = o.dev_class,
			.host = o.host,
			.rack = o.rack,
			.site = o.site,
			.heartbeat_ms = o.heartbeat_ms,
		};
		ret = shard_session_start(&d, &mopts);
		if (ret)
			goto out_loop;
	}

	ret = shard_loop_run(&d);

out_loop:
	shard_loop_exit(&d);
	shard_session_free(&d);
	if (d.stale_replies)
		pr_info("%" PRIu64 " requests answered STALE", d.stale_replies);
	shard_map_free(d.map);
out_listen:
	close(lfd);
out_store:
	if (shard_store_close(d.store) && !ret)
		ret = -EIO;
out_free:
	free(file);
out:
	if (!ret)
		pr_info("stopped");
	return ret ? 1 : 0;
}
