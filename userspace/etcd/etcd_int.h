/* SPDX-License-Identifier: GPL-2.0-only */
/* libshardetcd internals shared by its .c files; not installed. */
#ifndef _SHARD_ETCD_INT_H
#define _SHARD_ETCD_INT_H

#include <stdbool.h>
#include <curl/curl.h>
#include <jansson.h>

#include "etcd.h"

/* A bigger answer is not from etcd (its request limit is 1.5 MiB by default,
 * a range answer is a few of those at most).
 */
#define ETCD_MAX_RESPONSE	(64u << 20)

struct etcd {
	CURL *curl;			/* unary requests; keeps its connection */
	struct curl_slist *hdrs;
	char **eps;			/* endpoint URLs, no trailing '/' */
	size_t neps;
	size_t cur;			/* the endpoint that last answered */
	long timeout_ms;
	char curlerr[CURL_ERROR_SIZE];
	char msg[512];
};

/* Whether a request may be sent again after it possibly reached a server. */
enum etcd_retry { ETCD_WRITE, ETCD_READ };

/* etcd_http.c */
void etcd_seterr(struct etcd *e, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void etcd_msg_append(char *all, size_t size, const char *msg);
int etcd_call(struct etcd *e, const char *path, json_t *req,
	      enum etcd_retry retry, json_t **resp);
CURL *etcd_curl_new(struct etcd *e, const char *url);
int etcd_curl_errno(CURLcode rc);
bool etcd_curl_sent_nothing(CURL *c, CURLcode rc);
int etcd_error_body(struct etcd *e, const char *ep, long status,
		    const char *body, size_t len, bool *next_ep);
int etcd_grpc_error(struct etcd *e, const char *ep, json_t *err,
		    bool *next_ep);

/* etcd_json.c */
json_t *etcd_json_b64(const void *data, size_t len);
json_t *etcd_json_i64(int64_t v);
int etcd_get_i64(json_t *obj, const char *name, int64_t *v);
int etcd_header_rev(struct etcd *e, json_t *resp, int64_t *rev);
int etcd_parse_kv(struct etcd *e, json_t *obj, struct etcd_kv *kv);
char *etcd_prefix_end(const char *prefix, size_t *len);

#endif /* _SHARD_ETCD_INT_H */
