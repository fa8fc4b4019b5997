// SPDX-License-Identifier: GPL-2.0-only
/*
 * What the tests of shardd with its peers share (peer_harness.h).
 */
#define _GNU_SOURCE
#include <endian.h>
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <shard/pg.h>

#include "crc.h"
#include "peer_harness.h"

int start_with_peer8(struct daemon *d, struct fake_mapd *m,
		     const char *const *extra, int width,
		     const uint32_t primary[2], int *client)
{
	int lfd = peer8_listen();

	if (lfd >= 0 && (daemon_start_with(d, true, extra) ||
			 session_at_epoch(m, d->port, 5, width, primary) ||
			 (client && (*client = client_hello(d->port)) < 0))) {
		peer8_close(lfd);
		lfd = -1;
	}
	return lfd;
}

int close_and_stop(struct daemon *d, int lfd, int pfd, int *fd)
{
	if (pfd >= 0)
		close(pfd);
	if (lfd >= 0)
		peer8_close(lfd);
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
	return daemon_stop(d, SIGTERM);
}

int client_hello(unsigned int port)
{
	int fd = try_connect(port);

	if (fd >= 0 && hello(fd, NULL) != SHARD_S_OK) {
		close(fd);
		fd = -1;
	}
	return fd;
}

int map_on_ping(struct fake_mapd *m, int fd, uint64_t epoch, int width,
		const uint32_t primary[2])
{
	const struct target t = { .pool = 1, .volume = 9, .epoch = epoch };
	struct shard_reply_h rh;

	if (call_to(fd, &t, SHARD_OP_PING, 0, 0, 0, 0, NULL, NULL, &rh) !=
	    SHARD_S_OK || mapd_expect(m, "map-get", 2000, NULL) != 0)
		return -1;
	return mapd_send_map(m, epoch, width, primary, NULL);
}

uint64_t object_of_pg(uint32_t pg, uint64_t *from)
{
	while (shard_object_pg(9, *from, 16) != pg)
		(*from)++;
	return (*from)++;
}

int reply_payload(int fd, const struct shard_req_h *h, uint64_t epoch,
		  const void *data, uint32_t len)
{
	unsigned char hdr[SHARD_HDR_SIZE];
	struct shard_reply_h rh = {
		.opcode = h->opcode, .status = SHARD_S_OK, .tag = h->tag,
		.epoch = epoch, .len = len, .data_crc = shard_crc32c(data, len),
	};

	shard_reply_encode(hdr, &rh);
	if (send_all(fd, hdr, sizeof(hdr)))
		return -1;
	return send_all(fd, data, len);
}

int reply_list(int fd, const struct shard_req_h *h,
	       const struct shard_list_entry *list, uint32_t n)
{
	return reply_payload(fd, h, 6, list, n * sizeof(*list));
}

int send_client_req(int fd, uint8_t op, uint64_t tag, uint64_t object,
		    uint32_t off, uint32_t len, const void *payload)
{
	struct shard_req_h h = {
		.opcode = op, .len = len, .obj_order = 22, .tag = tag,
		.volume = 9, .object = object, .offset = off, .pool = 1,
		.epoch = 5,
	};

	return send_req(fd, &h, payload);
}

int write_then_accept(int fd, int lfd, uint64_t tag, uint64_t object,
		      const void *data)
{
	if (send_client_req(fd, SHARD_OP_WRITE, tag, object, 0, 8192, data))
		return -1;
	return peer_accept(lfd);
}

int peer_reaccept(int pfd, int lfd)
{
	close(pfd);
	return peer_accept(lfd);
}

int peer8_ack(int pfd, const struct shard_req_h *h, int fd,
	      struct shard_reply_h *rh)
{
	if (peer_reply(pfd, h, SHARD_S_OK, 5))
		return -1;
	return recv_reply(fd, rh, NULL, 0);
}

int peer8_takes_write(int fd, int lfd, uint64_t tag, uint64_t object,
		      const void *data, void *buf)
{
	struct shard_reply_h rh;
	struct shard_req_h h;
	int pfd = write_then_accept(fd, lfd, tag, object, data);

	if (pfd >= 0 && (peer_recv_req(pfd, &h, buf) ||
			 peer8_ack(pfd, &h, fd, &rh) != SHARD_S_OK)) {
		close(pfd);
		pfd = -1;
	}
	return pfd;
}

int next_piece(int fd, struct pushed *p, struct shard_req_h *h, void *buf,
	       struct shard_ver *v, int wait_ms)
{
	long long at;
	unsigned int i;

	if (!readable(fd, wait_ms))
		return -1;
	at = now_ms();
	if (peer_recv_req_ver(fd, h, buf, v) || h->len != SHARD_MAX_IO ||
	    (h->opcode != SHARD_OP_REP_WRITE &&
	     h->opcode != SHARD_OP_REP_ZERO))
		return -1;
	for (i = 0; i < p->n && p->objs[i] != h->object; i++)
		;
	if (i == p->n || h->offset != p->pieces[i] << 20)
		return -1;
	/* A copy's last piece is flagged WHOLE; a removal's pieces never. */
	if (h->opcode == SHARD_OP_REP_ZERO ? rep_flags_in != 0 :
	    (rep_flags_in == SHARD_REP_F_WHOLE) != (h->offset == 3U << 20))
		return -1;
	if (!p->pieces[i]++)
		p->first_at[i] = at;
	p->zeroes[i] += h->opcode == SHARD_OP_REP_ZERO;
	return (int)i;
}

int copy_piece(int fd, struct pushed *p, struct shard_req_h *h, void *buf,
	       struct shard_ver *v, unsigned int seed)
{
	unsigned char want[8192];
	int i = next_piece(fd, p, h, buf, v, 5000);

	if (i < 0)
		return -1;
	if ((h->offset != 3U << 20 || h->opcode == SHARD_OP_REP_ZERO) &&
	    (rep_flags_in || shard_ver_known(v)))
		return -1;
	if (!h->offset && h->opcode == SHARD_OP_REP_WRITE) {
		fill(want, sizeof(want), seed + (unsigned int)i);
		if (memcmp(want, buf, sizeof(want)))
			return -1;
	}
	return peer_reply(fd, h, SHARD_S_OK, 6) ? -1 : i;
}

struct shard_list_entry entry(uint64_t object, struct shard_ver v)
{
	struct shard_list_entry e;

	memset(&e, 0, sizeof(e));
	e.volume = htole64(9);
	e.object = htole64(object);
	e.ver.epoch = htole64(v.epoch);
	e.ver.seq = htole64(v.seq);
	e.obj_order = 22;
	return e;
}

struct shard_ver le_ver(const struct shard_list_entry *e)
{
	return (struct shard_ver){ le64toh(e->ver.epoch), le64toh(e->ver.seq) };
}

int rep_call(int fd, uint8_t op, uint64_t object, uint32_t off,
	     uint32_t len, const void *payload, const struct shard_ver *v)
{
	static uint64_t tag = 5000;
	struct shard_req_h h = {
		.opcode = op, .len = len, .obj_order = 22, .tag = ++tag,
		.volume = 9, .object = object, .offset = off, .pool = 1,
		.epoch = 5,
	};
	struct shard_reply_h rh;
	int st;

	if (send_req_ver(fd, &h, payload, v))
		return -1;
	st = recv_reply(fd, &rh, NULL, 0);
	return st >= 0 && (rh.tag != h.tag || rh.opcode != op) ? -1 : st;
}

int rep_call_whole(int fd, uint8_t op, uint64_t object, uint32_t off,
		   uint32_t len, const void *payload,
		   const struct shard_ver *v)
{
	int st;

	rep_flags_out = SHARD_REP_F_WHOLE;
	st = rep_call(fd, op, object, off, len, payload, v);
	rep_flags_out = 0;
	return st;
}

int list_pg(int fd, uint32_t pg, struct shard_list_entry *list,
	    uint32_t cap, uint32_t *n)
{
	static uint64_t tag = 6000;
	struct shard_req_h h = {
		.opcode = SHARD_OP_REP_LIST, .len = cap * sizeof(*list),
		.tag = ++tag, .pool = 1, .offset = pg, .epoch = 5,
	};
	struct shard_reply_h rh;
	int st;

	*n = 0;
	if (send_req(fd, &h, NULL))
		return -1;
	st = recv_reply(fd, &rh, list, h.len);
	if (st < 0 || rh.tag != h.tag || rh.len % sizeof(*list))
		return -1;
	*n = rh.len / sizeof(*list);
	return st;
}

int peer8_connect(unsigned int port)
{
	int fd = try_connect(port);

	if (fd >= 0 && peer_hello_as(fd, 8, 7) != SHARD_S_OK) {
		close(fd);
		fd = -1;
	}
	return fd;
}

bool dropped(int fd)
{
	char c;
	ssize_t n;

	if (!readable(fd, 5000))
		return false;
	n = recv(fd, &c, 1, 0);
	return n == 0 || (n < 0 && errno == ECONNRESET);
}

long long now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (long long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/* mapd_recv() returns NULL before its timeout only when the session
 * closed or sent something that is not a request. */
bool mapd_none(struct fake_mapd *m, const char *cmd, int timeout_ms)
{
	long long end = now_ms() + timeout_ms, left;
	const char *got;
	json_t *msg;
	bool match;

	while ((left = end - now_ms()) > 0) {
		msg = mapd_recv(m, (int)left);
		if (!msg)
			return now_ms() >= end;
		got = json_string_value(json_object_get(msg, "cmd"));
		match = !cmd || (got && !strcmp(got, cmd));
		json_decref(msg);
		if (match)
			return false;
	}
	return true;
}
