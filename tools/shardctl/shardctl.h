/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * shardctl: the admin CLI of shard. One file per subcommand, each with
 * an x_main(argc, argv) (argv[0] is the subcommand's name) and an
 * x_request() that turns the arguments into a shard-mapd request, so
 * that argument handling is testable without a server.
 */
#ifndef _SHARDCTL_H
#define _SHARDCTL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#define PROG_NAME	"shardctl"
#define ERRLEN		512

extern const char *shardctl_socket;
extern bool shardctl_json;

/*
 * A command, or a group of them ("pool create", "pool ls"): a group has
 * subs, a table ended by an entry without a name, and no main.
 */
struct subcommand {
	const char *name;
	int (*main)(int argc, char **argv);
	const char *usage;	/* arguments, after the name */
	const char *summary;
	const struct subcommand *subs;
};
extern const struct subcommand subcommands[];
extern const size_t nr_subcommands;

#define CLUSTER_USAGE	"NAME --etcd URLS [--name SELF]"
#define RECOVERY_SHARE_USAGE	"PCT|default"
#define POOL_CREATE_USAGE \
	"NAME --size N [--min-size M] [--device-class ssd|hdd] " \
	"[--failure-domain host|rack|site] [--pgs P]"

int create_main(int argc, char **argv);
int rm_main(int argc, char **argv);
int ls_main(int argc, char **argv);
int resize_main(int argc, char **argv);
int map_main(int argc, char **argv);
int unmap_main(int argc, char **argv);
int status_main(int argc, char **argv);
int help_main(int argc, char **argv);
int pool_create_main(int argc, char **argv);
int pool_ls_main(int argc, char **argv);
int pool_rm_main(int argc, char **argv);
int daemon_ls_main(int argc, char **argv);
int daemon_out_main(int argc, char **argv);
int daemon_in_main(int argc, char **argv);
int daemon_rm_main(int argc, char **argv);
int pg_ls_main(int argc, char **argv);
int pg_scrub_main(int argc, char **argv);
int pg_deep_scrub_main(int argc, char **argv);
int pool_scrub_main(int argc, char **argv);
int map_show_main(int argc, char **argv);
int cluster_create_main(int argc, char **argv);
int cluster_join_main(int argc, char **argv);
int client_blocklist_main(int argc, char **argv);
int client_unblocklist_main(int argc, char **argv);
int client_ls_main(int argc, char **argv);
int client_auto_fence_main(int argc, char **argv);
int recovery_share_main(int argc, char **argv);

/* Request builders: 0, or -EINVAL with a one-line reason in err. */
int create_request(int argc, char **argv, json_t **req, char *err);
int rm_request(int argc, char **argv, json_t **req, char *err);
int ls_request(int argc, char **argv, json_t **req, char *err);
int resize_request(int argc, char **argv, json_t **req, char *err);
int map_request(int argc, char **argv, json_t **req, char *err);
int unmap_request(int argc, char **argv, json_t **req, char *err);
int status_request(int argc, char **argv, json_t **req, char *err);
int pool_create_request(int argc, char **argv, json_t **req, char *err);
int pool_ls_request(int argc, char **argv, json_t **req, char *err);
int pool_rm_request(int argc, char **argv, json_t **req, char *err);
int daemon_ls_request(int argc, char **argv, json_t **req, char *err);
int daemon_out_request(int argc, char **argv, json_t **req, char *err);
int daemon_in_request(int argc, char **argv, json_t **req, char *err);
int daemon_rm_request(int argc, char **argv, json_t **req, char *err);
int pg_ls_request(int argc, char **argv, json_t **req, char *err);
int pg_scrub_request(int argc, char **argv, json_t **req, char *err);
int pg_deep_scrub_request(int argc, char **argv, json_t **req, char *err);
int pool_scrub_request(int argc, char **argv, json_t **req, char *err);
int map_show_request(int argc, char **argv, json_t **req, char *err);
int cluster_create_request(int argc, char **argv, json_t **req, char *err);
int cluster_join_request(int argc, char **argv, json_t **req, char *err);
int client_blocklist_request(int argc, char **argv, json_t **req, char *err);
int client_unblocklist_request(int argc, char **argv, json_t **req,
			       char *err);
int client_ls_request(int argc, char **argv, json_t **req, char *err);
int client_auto_fence_request(int argc, char **argv, json_t **req,
			      char *err);
int recovery_share_request(int argc, char **argv, json_t **req, char *err);

/* Prints "shardctl: <reason>" on stderr; returns 1 (the exit code). */
int fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/*
 * Sends req (consumed) to shard-mapd and returns its reply in *reply
 * when it says "ok": true. Otherwise reports the reason and returns
 * non-zero.
 */
int call_mapd(json_t *req, json_t **reply);

/*
 * Runs a subcommand: builds the request, calls shard-mapd, prints the
 * reply with print() or as JSON with --json. Returns the exit code.
 */
int run_subcommand(int argc, char **argv,
		   int (*request)(int, char **, json_t **, char *),
		   void (*print)(json_t *reply));

/* Sizes: "10G" -> bytes (1024-based K/M/G/T, optional "iB"). */
int parse_size(const char *s, uint64_t *out, char *err);
/* "10 GiB", "1.5 MiB", "512 B" into buf. */
void format_size(uint64_t bytes, char *buf, size_t len);
/*
 * A decimal number in min..max ("--pgs", "daemon id" name it in err):
 * 0, -EINVAL or -ERANGE.
 */
int parse_count(const char *s, const char *what, uint64_t min, uint64_t max,
		uint64_t *out, char *err);
/* "POOL/VOLUME" -> pool and name fields of req. */
int parse_volume(const char *s, json_t *req, char *err);

/*
 * Options parsing shared by the subcommands: getopt_long with the common
 * --json and --help added. Returns the option, -1 at the end, or '?'
 * with err filled.
 */
struct option;
int sub_getopt(int argc, char **argv, const struct option *opts,
	       char *err);
/* Positional arguments left after options: exactly n, else -EINVAL. */
int want_args(int argc, char **argv, int min, int max, const char *usage,
	      char *err);

/* Aligned text tables. */
struct table;
struct table *table_new(size_t ncols, ...);	/* headers */
void table_row(struct table *t, ...);		/* ncols strings */
void table_print(struct table *t);		/* and frees */

/* Reply fields for text output: "" / 0 / false when missing. */
const char *jstr(json_t *o, const char *key);
long long jnum(json_t *o, const char *key);
bool jtrue(json_t *o, const char *key);
/* A scalar as text ("-" for null or missing); malloc'd, NULL on ENOMEM. */
char *json_text(json_t *v);
/* "addr:port" of a daemon object, "[v6]:port" for IPv6. */
void format_addr(json_t *d, char *buf, size_t len);
/* ids[from..from+n) as "1,4,-" (null is "-"); malloc'd. */
char *format_ids(json_t *ids, size_t from, size_t n);

/* Tables shared by status and the pool and daemon commands. */
void print_daemon_table(json_t *daemons, bool connected);
void print_pool_table(json_t *pools);
/*
 * A warning line per daemon a pool cannot fill in proportion, and per
 * pool with PGs a scrub found inconsistent.
 */
void print_capped_warnings(json_t *pools);
/* The text of "pg ls" for its reply. */
void pg_ls_print(json_t *reply);
/* The text of "pg scrub", "pg deep-scrub" and "pool scrub". */
void pg_scrub_print(json_t *reply);
void pool_scrub_print(json_t *reply);
/* POOL.PG as "pg ls" shows it: decimal pool id, a dot, the PG in hex. */
bool valid_pgid(const char *s);
/* Unix seconds as "2026-11-23 21:04" (local time); "never" for null. */
void format_scrub_time(json_t *v, char *buf, size_t len);
/* The text of "status" for its reply (status_main's printer). */
void status_print(json_t *reply);
/* The text of "client ls": one address a line, or that there is none. */
void client_ls_print(json_t *reply);
/* The automatic fences of a status or client-ls reply, and what to do. */
void print_fences(json_t *reply);
/* The text of "recovery share": the cluster's share, or that there is none. */
void recovery_share_print(json_t *reply);

#endif /* _SHARDCTL_H */
