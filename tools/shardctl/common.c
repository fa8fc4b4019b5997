// SPDX-License-Identifier: GPL-2.0-only
/* What the subcommands share: errors, options, the call to shard-mapd. */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../userspace/jsonline/jsonline.h"
#include "shardctl.h"

int fail(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", PROG_NAME);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return 1;
}

int call_mapd(json_t *req, json_t **reply)
{
	const char *msg;
	int fd, ret;

	*reply = NULL;
	fd = jl_connect(shardctl_socket);
	if (fd < 0) {
		json_decref(req);
		return fail("cannot connect to shard-mapd at %s: %s",
			    shardctl_socket, strerror(-fd));
	}
	ret = jl_call(fd, req, reply);
	close(fd);
	json_decref(req);
	if (ret == -EBADMSG)
		return fail("shard-mapd sent a reply that is not a JSON object");
	if (ret == -ECONNRESET)
		return fail("shard-mapd closed the connection without replying");
	if (ret)
		return fail("talking to shard-mapd at %s: %s",
			    shardctl_socket, strerror(-ret));
	if (json_is_true(json_object_get(*reply, "ok")))
		return 0;
	msg = json_string_value(json_object_get(*reply, "error"));
	fail("%s", msg ? msg : "shard-mapd failed without a reason");
	json_decref(*reply);
	*reply = NULL;
	return 1;
}

int run_subcommand(int argc, char **argv,
		   int (*request)(int, char **, json_t **, char *),
		   void (*print)(json_t *reply))
{
	char err[ERRLEN] = "";
	json_t *req, *reply;
	int ret;

	if (request(argc, argv, &req, err))
		return fail("%s: %s", argv[0], err);
	ret = call_mapd(req, &reply);
	if (ret)
		return ret;
	if (shardctl_json) {
		json_object_del(reply, "ok");
		json_dumpf(reply, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		putchar('\n');
	} else if (print) {
		print(reply);
	}
	json_decref(reply);
	if (fflush(stdout) == EOF || ferror(stdout))
		return fail("writing output: %s", strerror(errno));
	return 0;
}

int sub_getopt(int argc, char **argv, const struct option *opts, char *err)
{
	int opt;

	opterr = 0;
	for (;;) {
		opt = getopt_long(argc, argv, ":", opts, NULL);
		if (opt == 'j') {
			shardctl_json = true;
			continue;
		}
		if (opt == '?')
			snprintf(err, ERRLEN, "unknown option '%s'",
				 argv[optind - 1]);
		else if (opt == ':')
			snprintf(err, ERRLEN, "option '%s' needs a value",
				 argv[optind - 1]);
		return opt == ':' ? '?' : opt;
	}
}

int want_args(int argc, char **argv, int min, int max, const char *usage,
	      char *err)
{
	int n = argc - optind;

	if (n < min) {
		snprintf(err, ERRLEN, "missing argument (usage: %s %s)",
			 argv[0], usage);
		return -EINVAL;
	}
	if (n > max) {
		snprintf(err, ERRLEN, "unexpected argument '%s' (usage: %s %s)",
			 argv[optind + max], argv[0], usage);
		return -EINVAL;
	}
	return 0;
}

int parse_volume(const char *s, json_t *req, char *err)
{
	const char *slash = strchr(s, '/');

	if (!slash || slash == s || !slash[1] || strchr(slash + 1, '/')) {
		snprintf(err, ERRLEN, "'%s' is not POOL/VOLUME", s);
		return -EINVAL;
	}
	json_object_set_new(req, "pool", json_stringn(s, slash - s));
	json_object_set_new(req, "name", json_string(slash + 1));
	return 0;
}
