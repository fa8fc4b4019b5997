// SPDX-License-Identifier: GPL-2.0-only
/*
 * shard-load: a host-side load generator for shardd. Speaks the wire
 * protocol (include/shard/proto.h) over one TCP connection: HELLO, then
 * READ or WRITE requests of --bs bytes at random --bs-aligned offsets
 * within the first --span bytes of one volume, --qd of them outstanding,
 * for --time seconds (or --count requests). Reports IOPS and p50/p99/max
 * latency.
 *
 *   make -C tests/tools shard-load
 *   shard-load -p 7410 -m write -q 1 -t 5
 *   shard-load -p 7410 -m read -q 32 -t 5 --fill   (write the span first)
 *
 * Replies may come back in any order; each carries the request's tag.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "crc.h"
#include "wire.h"

#define MAXQD	256

struct slot {
	bool busy;
	uint64_t t0;
	uint8_t op;
	uint32_t len;
};

static const char *host = "127.0.0.1";
static const char *port = "7410";
static unsigned int qd = 1, bs = 4096, obj_order = 22, pool = 1;
static uint64_t span = 64ULL << 20, volume = 1, count;
static double seconds = 5;
static bool do_write = true, fill, fua;
static int fd;
static unsigned char *wbuf, *rbuf;
static uint32_t wcrc;
static struct slot slots[MAXQD];
static uint64_t *lat;
static size_t nlat, caplat;
static uint64_t rng = 0x9e3779b97f4a7c15ULL;

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static uint64_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static void die(const char *what)
{
	fprintf(stderr, "shard-load: %s: %s\n", what,
		errno ? strerror(errno) : "failed");
	exit(1);
}

static void xwritev(struct iovec *iov, int n)
{
	while (n) {
		ssize_t r = writev(fd, iov, n);

		if (r < 0) {
			if (errno == EINTR)
				continue;
			die("send");
		}
		while (n && (size_t)r >= iov->iov_len) {
			r -= (ssize_t)iov->iov_len;
			iov++;
			n--;
		}
		if (n) {
			iov->iov_base = (char *)iov->iov_base + r;
			iov->iov_len -= (size_t)r;
		}
	}
}

static void xread(void *buf, size_t len)
{
	while (len) {
		ssize_t r = read(fd, buf, len);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			if (!r)
				errno = ECONNRESET;
			die("recv");
		}
		buf = (char *)buf + r;
		len -= (size_t)r;
	}
}

static void send_req(unsigned int tag, uint8_t op, uint64_t pos, uint32_t len)
{
	unsigned char hdr[SHARD_HDR_SIZE];
	uint64_t osize = 1ULL << obj_order;
	struct shard_req_h h = {
		.opcode = op,
		.len = len,
		.obj_order = (uint8_t)obj_order,
		.tag = tag,
		.volume = volume,
		.object = pos / osize,
		.offset = (uint32_t)(pos % osize),
		.pool = pool,
	};
	struct iovec iov[2] = {
		{ hdr, SHARD_HDR_SIZE },
		{ wbuf, len },
	};

	if (op == SHARD_OP_WRITE) {
		h.data_crc = wcrc;
		if (fua)
			h.flags = SHARD_F_FUA;
	}
	shard_req_encode(hdr, &h);
	slots[tag].busy = true;
	slots[tag].op = op;
	slots[tag].len = len;
	slots[tag].t0 = now_ns();
	xwritev(iov, op == SHARD_OP_WRITE ? 2 : 1);
}

/* Reads one reply; returns its tag. */
static unsigned int recv_reply(void)
{
	unsigned char hdr[SHARD_HDR_SIZE];
	struct shard_reply_h rh;
	const char *why;
	uint64_t t1;

	xread(hdr, sizeof(hdr));
	if (shard_reply_decode(hdr, &rh, &why)) {
		fprintf(stderr, "shard-load: bad reply: %s\n", why);
		exit(1);
	}
	if (rh.len)
		xread(rbuf, rh.len);
	t1 = now_ns();
	if (rh.tag >= MAXQD || !slots[rh.tag].busy) {
		fprintf(stderr, "shard-load: unexpected tag %" PRIu64 "\n",
			rh.tag);
		exit(1);
	}
	if (rh.status) {
		fprintf(stderr, "shard-load: %s tag %" PRIu64 ": %s\n",
			shard_op_name(rh.opcode), rh.tag,
			shard_status_name(rh.status));
		exit(1);
	}
	slots[rh.tag].busy = false;
	if (nlat == caplat) {
		caplat = caplat ? caplat * 2 : 65536;
		lat = realloc(lat, caplat * sizeof(*lat));
		if (!lat)
			die("realloc");
	}
	lat[nlat++] = t1 - slots[rh.tag].t0;
	return (unsigned int)rh.tag;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static void do_connect(void)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *ai;
	int one = 1;

	if (getaddrinfo(host, port, &hints, &ai))
		die("getaddrinfo");
	fd = socket(ai->ai_family, SOCK_STREAM, 0);
	if (fd < 0 || connect(fd, ai->ai_addr, ai->ai_addrlen) < 0)
		die("connect");
	freeaddrinfo(ai);
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

static void hello(void)
{
	send_req(0, SHARD_OP_HELLO, 0, 0);
	recv_reply();
	nlat = 0;
}

static uint64_t rand_pos(void)
{
	return (rnd() % (span / bs)) * bs;
}

static void usage(void)
{
	fputs("usage: shard-load [-H host] [-p port] [-m read|write] [-q qd]\n"
	      "       [-b bs] [-s span] [-t seconds] [-n count] [-V volume]\n"
	      "       [-o obj_order] [--fill] [--fua]\n", stderr);
	exit(2);
}

static uint64_t parse_size(const char *s)
{
	char *end;
	uint64_t v = strtoull(s, &end, 0);

	switch (*end) {
	case 'G': case 'g': v <<= 10; /* fall through */
	case 'M': case 'm': v <<= 10; /* fall through */
	case 'K': case 'k': v <<= 10; break;
	}
	return v;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "host", 1, NULL, 'H' }, { "port", 1, NULL, 'p' },
		{ "mode", 1, NULL, 'm' }, { "qd", 1, NULL, 'q' },
		{ "bs", 1, NULL, 'b' }, { "span", 1, NULL, 's' },
		{ "time", 1, NULL, 't' }, { "count", 1, NULL, 'n' },
		{ "volume", 1, NULL, 'V' }, { "order", 1, NULL, 'o' },
		{ "fill", 0, NULL, 'F' }, { "fua", 0, NULL, 'U' },
		{ NULL, 0, NULL, 0 },
	};
	uint64_t t_start, t_end, deadline, done = 0, issued = 0;
	unsigned int i, inflight = 0;
	int c;

	while ((c = getopt_long(argc, argv, "H:p:m:q:b:s:t:n:V:o:", opts,
				NULL)) != -1) {
		switch (c) {
		case 'H': host = optarg; break;
		case 'p': port = optarg; break;
		case 'm':
			if (!strcmp(optarg, "read"))
				do_write = false;
			else if (!strcmp(optarg, "write"))
				do_write = true;
			else
				usage();
			break;
		case 'q': qd = (unsigned int)atoi(optarg); break;
		case 'b': bs = (unsigned int)parse_size(optarg); break;
		case 's': span = parse_size(optarg); break;
		case 't': seconds = atof(optarg); break;
		case 'n': count = strtoull(optarg, NULL, 0); break;
		case 'V': volume = strtoull(optarg, NULL, 0); break;
		case 'o': obj_order = (unsigned int)atoi(optarg); break;
		case 'F': fill = true; break;
		case 'U': fua = true; break;
		default: usage();
		}
	}
	if (!qd || qd >= MAXQD || !bs || bs > SHARD_MAX_IO || bs % 512 ||
	    span < bs || (1ULL << obj_order) % bs)
		usage();
	if (posix_memalign((void **)&wbuf, 4096, SHARD_MAX_IO) ||
	    posix_memalign((void **)&rbuf, 4096, SHARD_MAX_IO))
		die("alloc");
	for (i = 0; i < SHARD_MAX_IO; i++)
		wbuf[i] = (unsigned char)rnd();
	wcrc = shard_crc32c(wbuf, bs);

	do_connect();
	hello();

	if (fill) {
		/* Sequential, pipelined, so reads find stored blocks. */
		uint64_t pos = 0, chunk = 1ULL << 20;

		if (chunk > (1ULL << obj_order))
			chunk = 1ULL << obj_order;
		wcrc = shard_crc32c(wbuf, (uint32_t)chunk);
		while (pos < span) {
			send_req(1, SHARD_OP_WRITE, pos, (uint32_t)chunk);
			recv_reply();
			pos += chunk;
		}
		wcrc = shard_crc32c(wbuf, bs);
		nlat = 0;
	}

	t_start = now_ns();
	deadline = t_start + (uint64_t)(seconds * 1e9);
	for (i = 1; i <= qd; i++) {
		send_req(i, do_write ? SHARD_OP_WRITE : SHARD_OP_READ,
			 rand_pos(), bs);
		issued++;
		inflight++;
	}
	while (inflight) {
		unsigned int tag = recv_reply();
		uint64_t t = now_ns();

		inflight--;
		done++;
		if ((count && issued >= count) || (!count && t >= deadline))
			continue;
		send_req(tag, do_write ? SHARD_OP_WRITE : SHARD_OP_READ,
			 rand_pos(), bs);
		issued++;
		inflight++;
	}
	t_end = now_ns();

	qsort(lat, nlat, sizeof(*lat), cmp_u64);
	{
		double el = (double)(t_end - t_start) / 1e9;

		printf("%s bs=%u qd=%u: %" PRIu64 " ops in %.2fs: %.0f IOPS, "
		       "%.1f MiB/s; lat us p50 %.0f p99 %.0f max %.0f\n",
		       do_write ? "write" : "read", bs, qd, done, el,
		       (double)done / el, (double)done * bs / el / 1048576.0,
		       lat[nlat / 2] / 1e3, lat[nlat * 99 / 100] / 1e3,
		       lat[nlat - 1] / 1e3);
	}
	close(fd);
	return 0;
}
