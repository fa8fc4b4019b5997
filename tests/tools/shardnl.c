// SPDX-License-Identifier: GPL-2.0
/*
 * shardnl: sends one raw command to the "shard" generic netlink family,
 * attributes spelled out on the command line, and prints the reply. For
 * tests that need exact control of what the kernel sees, bad input
 * included; administrators use shardctl.
 *
 *   shardnl [--dump] CMD [ATTR...] [-- CMD [ATTR...]]...
 *   shardnl --monitor SECONDS     print the "events" group's messages
 *   CMD  := a command name | sleep SECONDS
 *   ATTR := NAME:TYPE:VALUE | NAME:{ ATTR... }
 *   TYPE := u8 | u16 | u32 | u64 | str | flag | hex | zeros (VALUE bytes)
 *         | gen (VALUE = FIRST:COUNT:WIDTH:ID,ID,...: a PG table of COUNT
 *           PGs from PG FIRST, PG p's member j being ID[(p + j) % #IDs])
 *
 * Commands separated by "--" go out one after the other on the same
 * socket (one netlink portid, as a staged map needs); "sleep" keeps the
 * socket open a while. The first failure ends the run.
 *
 * NAME is a number or a name from the tables below; nested attributes use
 * the d. (daemon) and p. (pool) names. Exit status: 0, or 1 with
 * "error: <errno name> (<extack message>)" on stderr.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>
#include <linux/netlink.h>
#include <netlink/genl/ctrl.h>
#include <netlink/genl/genl.h>
#include <netlink/msg.h>
#include <linux/shard.h>

struct name {
	const char *name;
	int value;
};

static const struct name cmds[] = {
	{ "set-map", SHARD_CMD_SET_MAP },
	{ "add-dev", SHARD_CMD_ADD_DEV },
	{ "remove-dev", SHARD_CMD_REMOVE_DEV },
	{ "resize-dev", SHARD_CMD_RESIZE_DEV },
	{ "get-dev", SHARD_CMD_GET_DEV },
	{ "get-status", SHARD_CMD_GET_STATUS },
	{ "event", SHARD_CMD_EVENT },
	{ "map-table", SHARD_CMD_MAP_TABLE },
	{ "map-commit", SHARD_CMD_MAP_COMMIT },
	{ NULL, 0 },
};

static const struct name attrs[] = {
	{ "epoch", SHARD_ATTR_EPOCH },
	{ "daemons", SHARD_ATTR_DAEMONS },
	{ "daemon", SHARD_ATTR_DAEMON },
	{ "pools", SHARD_ATTR_POOLS },
	{ "pool", SHARD_ATTR_POOL },
	{ "index", SHARD_ATTR_DEV_INDEX },
	{ "pool-id", SHARD_ATTR_POOL_ID },
	{ "volume-id", SHARD_ATTR_VOLUME_ID },
	{ "size", SHARD_ATTR_SIZE },
	{ "obj-order", SHARD_ATTR_OBJ_ORDER },
	{ "read-only", SHARD_ATTR_READ_ONLY },
	{ "timeout", SHARD_ATTR_TIMEOUT },
	{ "force", SHARD_ATTR_FORCE },
	{ "pool-name", SHARD_ATTR_POOL_NAME },
	{ "volume-name", SHARD_ATTR_VOLUME_NAME },
	{ "open-count", SHARD_ATTR_OPEN_COUNT },
	{ "map-stage", SHARD_ATTR_MAP_STAGE },
	{ "pg-first", SHARD_ATTR_PG_FIRST },
	{ "pg-ids", SHARD_ATTR_PG_IDS },
	{ "d.id", SHARD_DAEMON_ATTR_ID },
	{ "d.addr", SHARD_DAEMON_ATTR_ADDR },
	{ "d.port", SHARD_DAEMON_ATTR_PORT },
	{ "d.flags", SHARD_DAEMON_ATTR_FLAGS },
	{ "d.connected", SHARD_DAEMON_ATTR_CONNECTED },
	{ "p.id", SHARD_POOL_ATTR_ID },
	{ "p.pg-count", SHARD_POOL_ATTR_PG_COUNT },
	{ "p.width", SHARD_POOL_ATTR_WIDTH },
	{ "p.table", SHARD_POOL_ATTR_PG_TABLE },
	{ NULL, 0 },
};

static int lookup(const struct name *t, const char *s)
{
	char *end;
	long v;

	for (; t->name; t++)
		if (!strcmp(t->name, s))
			return t->value;
	v = strtol(s, &end, 0);
	if (*s && !*end && v >= 0 && v < 0x4000)
		return (int)v;
	fprintf(stderr, "shardnl: unknown name '%s'\n", s);
	exit(2);
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static void __attribute__((noreturn)) bad_value(const char *kind,
						const char *val)
{
	fprintf(stderr, "shardnl: bad %s value '%s'\n", kind, val);
	exit(2);
}

/* gen: FIRST:COUNT:WIDTH:ID,ID,... (see the top of the file). */
static int put_gen(struct nl_msg *msg, int type, const char *val)
{
	unsigned long first, count, width, n = 0, pg, j;
	uint32_t ids[64], *table;
	char *end;
	int ret;

	first = strtoul(val, &end, 0);
	if (*end != ':')
		bad_value("gen", val);
	count = strtoul(end + 1, &end, 0);
	if (*end != ':')
		bad_value("gen", val);
	width = strtoul(end + 1, &end, 0);
	if (*end != ':' || !width)
		bad_value("gen", val);
	do {
		if (n == sizeof(ids) / sizeof(ids[0]))
			bad_value("gen", val);
		ids[n++] = (uint32_t)strtoul(end + 1, &end, 0);
	} while (*end == ',');
	if (*end || count * width > (1UL << 24))
		bad_value("gen", val);
	table = malloc(count * width * sizeof(*table) + 1);
	if (!table)
		return -1;
	for (pg = 0; pg < count; pg++)
		for (j = 0; j < width; j++)
			table[pg * width + j] = ids[(first + pg + j) % n];
	ret = nla_put(msg, type, (int)(count * width * sizeof(*table)), table);
	free(table);
	return ret;
}

static void put_attr(struct nl_msg *msg, int type, const char *kind,
		     const char *val)
{
	unsigned long long v = strtoull(val, NULL, 0);
	int ret = 0;

	if (!strcmp(kind, "u8"))
		ret = nla_put_u8(msg, type, (uint8_t)v);
	else if (!strcmp(kind, "u16"))
		ret = nla_put_u16(msg, type, (uint16_t)v);
	else if (!strcmp(kind, "u32"))
		ret = nla_put_u32(msg, type, (uint32_t)v);
	else if (!strcmp(kind, "u64"))
		ret = nla_put_u64(msg, type, v);
	else if (!strcmp(kind, "str"))
		ret = nla_put_string(msg, type, val);
	else if (!strcmp(kind, "flag"))
		ret = nla_put_flag(msg, type);
	else if (!strcmp(kind, "gen"))
		ret = put_gen(msg, type, val);
	else if (!strcmp(kind, "zeros")) {
		void *buf = calloc(1, v ? v : 1);

		ret = nla_put(msg, type, (int)v, buf);
		free(buf);
	} else if (!strcmp(kind, "hex")) {
		size_t n = strlen(val) / 2, i;
		unsigned char *buf = malloc(n ? n : 1);

		for (i = 0; i < n; i++) {
			int hi = hexval(val[2 * i]), lo = hexval(val[2 * i + 1]);

			if (hi < 0 || lo < 0) {
				fprintf(stderr, "shardnl: bad hex '%s'\n", val);
				exit(2);
			}
			buf[i] = (unsigned char)(hi << 4 | lo);
		}
		ret = nla_put(msg, type, (int)n, buf);
		free(buf);
	} else {
		fprintf(stderr, "shardnl: unknown type '%s'\n", kind);
		exit(2);
	}
	if (ret < 0) {
		fprintf(stderr, "shardnl: message too large\n");
		exit(2);
	}
}

/* Consumes ATTR tokens until a closing "}", a "--" or the end. */
static int put_attrs(struct nl_msg *msg, char **argv, int argc, int i)
{
	while (i < argc) {
		char *tok = argv[i++], *kind, *val;

		if (!strcmp(tok, "}"))
			return i;
		if (!strcmp(tok, "--"))
			return i - 1;
		kind = strchr(tok, ':');
		if (!kind) {
			fprintf(stderr, "shardnl: bad attribute '%s'\n", tok);
			exit(2);
		}
		*kind++ = '\0';
		if (!strcmp(kind, "{")) {
			struct nlattr *nest = nla_nest_start(msg,
							     lookup(attrs, tok));

			i = put_attrs(msg, argv, argc, i);
			nla_nest_end(msg, nest);
			continue;
		}
		val = strchr(kind, ':');
		if (val)
			*val++ = '\0';
		put_attr(msg, lookup(attrs, tok), kind, val ? val : "");
	}
	return i;
}

static void print_attrs(struct nlattr *head, int len, int depth)
{
	struct nlattr *a;
	int rem;

	nla_for_each_attr(a, head, len, rem) {
		int n = nla_len(a);

		printf("%*s%d", depth * 2, "", nla_type(a));
		if (n == 8)
			printf(" u64 %" PRIu64, nla_get_u64(a));
		else if (n == 4)
			printf(" u32 %u", nla_get_u32(a));
		else if (n == 2)
			printf(" u16 %u", nla_get_u16(a));
		else if (n == 1)
			printf(" u8 %u", nla_get_u8(a));
		else if (n > 0 && ((char *)nla_data(a))[n - 1] == '\0' &&
			 strlen(nla_data(a)) == (size_t)n - 1)
			printf(" str %s", (char *)nla_data(a));
		printf("\n");
		/* Nests in our replies: the daemon list and its daemons. */
		if (nla_type(a) == SHARD_ATTR_DAEMONS ||
		    (depth == 1 && nla_type(a) == SHARD_ATTR_DAEMON))
			print_attrs(nla_data(a), n, depth + 1);
	}
}

static int on_reply(struct nl_msg *msg, void *arg)
{
	struct genlmsghdr *gh = nlmsg_data(nlmsg_hdr(msg));

	(void)arg;
	printf("cmd %u\n", gh->cmd);
	print_attrs(genlmsg_attrdata(gh, 0), genlmsg_attrlen(gh, 0), 0);
	return NL_OK;
}

static int on_error(struct sockaddr_nl *who, struct nlmsgerr *err, void *arg)
{
	struct nlmsghdr *nlh = (struct nlmsghdr *)((char *)err - NLMSG_HDRLEN);
	int *status = arg;
	const char *why = "";

	(void)who;
	if (nlh->nlmsg_flags & NLM_F_ACK_TLVS) {
		size_t off = sizeof(*err);
		struct nlattr *a;
		int rem;

		if (!(nlh->nlmsg_flags & NLM_F_CAPPED))
			off += err->msg.nlmsg_len - NLMSG_HDRLEN;
		nla_for_each_attr(a, (struct nlattr *)((char *)err + off),
				  (int)(nlh->nlmsg_len - NLMSG_HDRLEN - off),
				  rem)
			if (nla_type(a) == NLMSGERR_ATTR_MSG)
				why = nla_data(a);
	}
	*status = err->error;
	if (err->error)
		fprintf(stderr, "error: %s (%s)\n", strerror(-err->error), why);
	return NL_STOP;
}

/* Prints every event multicast by the module for a while. */
static int monitor(struct nl_sock *sk, int seconds)
{
	int grp = genl_ctrl_resolve_grp(sk, SHARD_GENL_NAME,
					SHARD_GENL_MCGRP_EVENTS);
	struct timeval tv = { .tv_sec = seconds };

	if (grp < 0 || nl_socket_add_membership(sk, grp)) {
		fprintf(stderr, "error: cannot join the events group\n");
		return 1;
	}
	nl_socket_disable_seq_check(sk);
	nl_socket_modify_cb(sk, NL_CB_VALID, NL_CB_CUSTOM, on_reply, NULL);
	setsockopt(nl_socket_get_fd(sk), SOL_SOCKET, SO_RCVTIMEO, &tv,
		   sizeof(tv));
	setvbuf(stdout, NULL, _IOLBF, 0);
	/* Ends when a receive times out after the last event. */
	while (nl_recvmsgs_default(sk) >= 0)
		;
	return 0;
}

/* Sends one command and takes its answer: 0, or 1 after an error. */
static int run(struct nl_sock *sk, int family, int cmd, int flags,
	       char **argv, int argc, int *i)
{
	struct nl_msg *msg;
	int status = 0, ret;

	msg = nlmsg_alloc_size(1 << 20);
	if (!msg || !genlmsg_put(msg, NL_AUTO_PORT, NL_AUTO_SEQ, family, 0,
				 flags, cmd, SHARD_GENL_VERSION)) {
		fprintf(stderr, "shardnl: out of memory\n");
		exit(1);
	}
	*i = put_attrs(msg, argv, argc, *i);

	nl_socket_modify_err_cb(sk, NL_CB_CUSTOM, on_error, &status);
	ret = nl_send_auto(sk, msg);
	nlmsg_free(msg);
	if (ret < 0) {
		fprintf(stderr, "error: send: %s\n", nl_geterror(ret));
		return 1;
	}
	ret = nl_recvmsgs_default(sk);
	if (ret < 0 && !status) {
		fprintf(stderr, "error: %s\n", nl_geterror(ret));
		return 1;
	}
	return status ? 1 : 0;
}

int main(int argc, char **argv)
{
	struct nl_sock *sk;
	int family, cmd, ret = 0, i = 1, flags = NLM_F_ACK, one = 1;

	if (argc > 2 && !strcmp(argv[1], "--monitor")) {
		sk = nl_socket_alloc();
		if (!sk || genl_connect(sk)) {
			fprintf(stderr, "shardnl: cannot open a netlink socket\n");
			return 1;
		}
		return monitor(sk, atoi(argv[2]));
	}
	if (argc > 1 && !strcmp(argv[1], "--dump")) {
		flags |= NLM_F_DUMP;
		i++;
	}
	if (i >= argc) {
		fprintf(stderr, "usage: shardnl [--dump] CMD [ATTR...] [-- CMD [ATTR...]]...\n");
		return 2;
	}

	sk = nl_socket_alloc();
	if (!sk || genl_connect(sk)) {
		fprintf(stderr, "shardnl: cannot open a netlink socket\n");
		return 1;
	}
	setsockopt(nl_socket_get_fd(sk), SOL_NETLINK, NETLINK_EXT_ACK, &one,
		   sizeof(one));
	/* libnl's default 32 KiB would refuse a full 64 KiB PG table. */
	nl_socket_set_buffer_size(sk, 1 << 20, 1 << 20);
	family = genl_ctrl_resolve(sk, SHARD_GENL_NAME);
	if (family < 0) {
		fprintf(stderr, "error: no such family (%s)\n",
			nl_geterror(family));
		return 1;
	}
	nl_socket_modify_cb(sk, NL_CB_VALID, NL_CB_CUSTOM, on_reply, NULL);

	while (!ret && i < argc) {
		if (!strcmp(argv[i], "sleep") && i + 1 < argc) {
			usleep((useconds_t)(atof(argv[i + 1]) * 1e6));
			i += 2;
		} else {
			cmd = lookup(cmds, argv[i++]);
			ret = run(sk, family, cmd, flags, argv, argc, &i);
		}
		if (i < argc && !strcmp(argv[i], "--"))
			i++;
		else if (i < argc) {
			fprintf(stderr, "shardnl: expected -- before '%s'\n",
				argv[i]);
			ret = 2;
		}
	}
	nl_socket_free(sk);
	return ret;
}
