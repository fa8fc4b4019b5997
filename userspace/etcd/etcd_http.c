// SPDX-License-Identifier: GPL-2.0-only
/*
 * Handles, the HTTP transport with endpoint failover, and the translation
 * of curl and etcd (gRPC status) errors into -errno plus one line of text.
 */
#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "etcd_int.h"

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_rc;

static void curl_init(void)
{
	curl_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

void etcd_seterr(struct etcd *e, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	va_end(ap);
}

/* all += "; " msg, cut to fit: one line for several failed endpoints. */
void etcd_msg_append(char *all, size_t size, const char *msg)
{
	size_t len = strlen(all);

	if (len && len + 2 < size) {
		memcpy(all + len, "; ", 3);
		len += 2;
	}
	if (len + 1 < size) {
		size_t n = strnlen(msg, size - len - 1);

		memcpy(all + len, msg, n);
		all[len + n] = '\0';
	}
}

const char *etcd_strerror(struct etcd *e)
{
	return e->msg[0] ? e->msg : "no error";
}

static void free_eps(char **eps, size_t n)
{
	size_t i;

	for (i = 0; eps && i < n; i++)
		free(eps[i]);
	free(eps);
}

/* Split "a,b,c" into URLs with a scheme and without a trailing '/'. */
static int parse_endpoints(const char *list, char ***out, size_t *nout,
			   char *err, size_t errlen)
{
	char **eps = NULL;
	size_t n = 0;
	const char *p = list;

	for (;;) {
		const char *end = strchr(p, ',');
		size_t len = end ? (size_t)(end - p) : strlen(p);
		char **grown;
		char *ep;

		while (len && isspace((unsigned char)*p))
			p++, len--;
		while (len && (isspace((unsigned char)p[len - 1]) ||
			       p[len - 1] == '/'))
			len--;
		if (!len) {
			snprintf(err, errlen, "empty endpoint in \"%s\"", list);
			goto fail;
		}
		if (memmem(p, len, "://", 3)) {
			if (strncmp(p, "http://", 7) && strncmp(p, "https://", 8)) {
				snprintf(err, errlen,
					 "endpoint %.*s: only http:// and https:// are supported",
					 (int)len, p);
				goto fail;
			}
			if (asprintf(&ep, "%.*s", (int)len, p) < 0)
				goto nomem;
		} else if (asprintf(&ep, "http://%.*s", (int)len, p) < 0) {
			goto nomem;
		}
		grown = realloc(eps, (n + 1) * sizeof(*eps));
		if (!grown) {
			free(ep);
			goto nomem;
		}
		eps = grown;
		eps[n++] = ep;
		if (!end)
			break;
		p = end + 1;
	}
	*out = eps;
	*nout = n;
	return 0;
nomem:
	snprintf(err, errlen, "out of memory");
fail:
	free_eps(eps, n);
	return -EINVAL;
}

static void set_common(struct etcd *e, CURL *c)
{
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, e->hdrs);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, e->timeout_ms);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, e->curlerr);
}

/* A handle for one long transfer (a watch), set up like the unary one. */
CURL *etcd_curl_new(struct etcd *e, const char *url)
{
	CURL *c = curl_easy_init();

	if (!c)
		return NULL;
	set_common(e, c);
	curl_easy_setopt(c, CURLOPT_URL, url);
	return c;
}

struct etcd *etcd_open(const char *endpoints, long timeout_ms,
		       char *err, size_t errlen)
{
	static const char *const hdrs[] = {
		"Content-Type: application/json",
		"Expect:",	/* no 100-continue round trip for big bodies */
		/* Fail at once on a member without a leader, instead of
		 * hanging until the timeout, and cancel watches on it.
		 */
		"Grpc-Metadata-Hasleader: true",
	};
	struct etcd *e;
	size_t i;

	if (!endpoints || timeout_ms <= 0) {
		snprintf(err, errlen, "etcd_open: no endpoints or a timeout <= 0");
		return NULL;
	}
	pthread_once(&curl_once, curl_init);
	if (curl_init_rc != CURLE_OK) {
		snprintf(err, errlen, "curl_global_init: %s",
			 curl_easy_strerror(curl_init_rc));
		return NULL;
	}
	e = calloc(1, sizeof(*e));
	if (!e) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	e->timeout_ms = timeout_ms;
	if (parse_endpoints(endpoints, &e->eps, &e->neps, err, errlen))
		goto fail;
	for (i = 0; i < sizeof(hdrs) / sizeof(hdrs[0]); i++) {
		struct curl_slist *l = curl_slist_append(e->hdrs, hdrs[i]);

		if (!l)
			goto nomem;
		e->hdrs = l;
	}
	e->curl = curl_easy_init();
	if (!e->curl)
		goto nomem;
	set_common(e, e->curl);
	curl_easy_setopt(e->curl, CURLOPT_TIMEOUT_MS, timeout_ms);
	return e;
nomem:
	snprintf(err, errlen, "out of memory");
fail:
	etcd_close(e);
	return NULL;
}

void etcd_close(struct etcd *e)
{
	if (!e)
		return;
	if (e->curl)
		curl_easy_cleanup(e->curl);
	curl_slist_free_all(e->hdrs);
	free_eps(e->eps, e->neps);
	free(e);
}

int etcd_curl_errno(CURLcode rc)
{
	switch (rc) {
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_RESOLVE_PROXY:
		return -EHOSTUNREACH;
	case CURLE_COULDNT_CONNECT:
		return -ECONNREFUSED;
	case CURLE_OPERATION_TIMEDOUT:
		return -ETIMEDOUT;
	case CURLE_GOT_NOTHING:
	case CURLE_SEND_ERROR:
	case CURLE_RECV_ERROR:
	case CURLE_PARTIAL_FILE:
		return -ECONNRESET;
	case CURLE_OUT_OF_MEMORY:
		return -ENOMEM;
	case CURLE_WEIRD_SERVER_REPLY:
	case CURLE_UNSUPPORTED_PROTOCOL:
	case CURLE_BAD_CONTENT_ENCODING:
	case CURLE_HTTP2:
	case CURLE_HTTP2_STREAM:
	case CURLE_TOO_MANY_REDIRECTS:
		return -EPROTO;
	default:
		return -EIO;
	}
}

/* Whether the request surely never reached a server, so that sending it to
 * another endpoint cannot apply it twice.
 */
bool etcd_curl_sent_nothing(CURL *c, CURLcode rc)
{
	long sent = 0;

	if (rc == CURLE_COULDNT_RESOLVE_HOST || rc == CURLE_COULDNT_CONNECT ||
	    rc == CURLE_COULDNT_RESOLVE_PROXY)
		return true;
	curl_easy_getinfo(c, CURLINFO_REQUEST_SIZE, &sent);
	return sent == 0;
}

/* The text for a failed transfer: the system's word for a socket error,
 * else curl's detailed message.
 */
static const char *curl_text(struct etcd *e, CURL *c, CURLcode rc)
{
	long oserr = 0;

	if (rc == CURLE_COULDNT_CONNECT || rc == CURLE_RECV_ERROR ||
	    rc == CURLE_SEND_ERROR) {
		curl_easy_getinfo(c, CURLINFO_OS_ERRNO, &oserr);
		if (oserr)
			return strerror((int)oserr);
	}
	return e->curlerr[0] ? e->curlerr : curl_easy_strerror(rc);
}

/* gRPC status codes (google.golang.org/grpc/codes) */
enum {
	GRPC_CANCELED = 1, GRPC_UNKNOWN, GRPC_INVALID_ARGUMENT,
	GRPC_DEADLINE_EXCEEDED, GRPC_NOT_FOUND, GRPC_ALREADY_EXISTS,
	GRPC_PERMISSION_DENIED, GRPC_RESOURCE_EXHAUSTED,
	GRPC_FAILED_PRECONDITION, GRPC_ABORTED, GRPC_OUT_OF_RANGE,
	GRPC_UNIMPLEMENTED, GRPC_INTERNAL, GRPC_UNAVAILABLE, GRPC_DATA_LOSS,
	GRPC_UNAUTHENTICATED,
};

static int grpc_errno(long code, const char *msg, bool *safe_elsewhere)
{
	*safe_elsewhere = false;
	switch (code) {
	case GRPC_INVALID_ARGUMENT:
		return -EINVAL;
	case GRPC_DEADLINE_EXCEEDED:
		return -ETIMEDOUT;
	case GRPC_NOT_FOUND:
		return -ENOENT;
	case GRPC_ALREADY_EXISTS:
		return -EEXIST;
	case GRPC_PERMISSION_DENIED:
	case GRPC_UNAUTHENTICATED:
		return -EACCES;
	case GRPC_RESOURCE_EXHAUSTED:
		return strstr(msg, "too many requests") ? -EAGAIN : -ENOSPC;
	case GRPC_OUT_OF_RANGE:
		return strstr(msg, "compacted") ? -ESTALE : -EINVAL;
	case GRPC_UNIMPLEMENTED:
		return -EOPNOTSUPP;
	case GRPC_UNAVAILABLE:
		if (strstr(msg, "timed out"))
			return -ETIMEDOUT;
		/* Refused before it was proposed: another member may do. */
		*safe_elsewhere = !strcmp(msg, "etcdserver: no leader");
		return -EAGAIN;
	default:
		return -EIO;
	}
}

/*
 * An etcd error object: {"error": "...", "message": "...", "code": N} for
 * a unary call, {"error": {"grpc_code": N, "message": "..."}} inside a
 * stream. -EPROTO if obj is neither.
 */
int etcd_grpc_error(struct etcd *e, const char *ep, json_t *obj,
		    bool *next_ep)
{
	json_t *err = json_object_get(obj, "error");
	json_t *code, *msg;
	bool elsewhere;
	int ret;

	if (json_is_object(err)) {
		code = json_object_get(err, "grpc_code");
		msg = json_object_get(err, "message");
	} else {
		code = json_object_get(obj, "code");
		msg = json_object_get(obj, "message");
	}
	if (!json_is_integer(code) || !json_is_string(msg)) {
		etcd_seterr(e, "unexpected answer from %s (not etcd?)", ep);
		*next_ep = true;
		return -EPROTO;
	}
	ret = grpc_errno(json_integer_value(code), json_string_value(msg),
			 &elsewhere);
	if (elsewhere)
		*next_ep = true;
	etcd_seterr(e, "etcd at %s: %s", ep, json_string_value(msg));
	return ret;
}

/* A non-200 answer: etcd's error object, or something that is not etcd. */
int etcd_error_body(struct etcd *e, const char *ep, long status,
		    const char *body, size_t len, bool *next_ep)
{
	json_t *obj = json_loadb(body, len, 0, NULL);
	int ret;

	if (json_is_object(obj)) {
		ret = etcd_grpc_error(e, ep, obj, next_ep);
		json_decref(obj);
		if (ret != -EPROTO)
			return ret;
	} else {
		json_decref(obj);
	}
	etcd_seterr(e, "unexpected HTTP %ld answer from %s (not etcd?)",
		    status, ep);
	*next_ep = true;
	return -EPROTO;
}

struct rbuf {
	char *p;
	size_t len, cap;
	bool too_big;
};

static size_t rbuf_write(char *data, size_t size, size_t nmemb, void *arg)
{
	struct rbuf *b = arg;
	size_t n = size * nmemb;

	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 4096;
		char *p;

		while (cap < b->len + n + 1)
			cap *= 2;
		if (cap > ETCD_MAX_RESPONSE) {
			b->too_big = true;
			return 0;
		}
		p = realloc(b->p, cap);
		if (!p)
			return 0;
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, data, n);
	b->len += n;
	b->p[b->len] = '\0';
	return n;
}

/*
 * One request to one endpoint. *next_ep: whether the caller may try the
 * next endpoint (see etcd.h for when).
 */
static int call_one(struct etcd *e, const char *ep, const char *path,
		    const char *body, enum etcd_retry retry, json_t **resp,
		    bool *next_ep)
{
	struct rbuf b = { 0 };
	json_error_t jerr;
	char *url = NULL;
	long status = 0;
	CURLcode rc;
	int ret;

	*next_ep = false;
	if (asprintf(&url, "%s%s", ep, path) < 0) {
		etcd_seterr(e, "out of memory");
		return -ENOMEM;
	}
	curl_easy_setopt(e->curl, CURLOPT_URL, url);
	curl_easy_setopt(e->curl, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(e->curl, CURLOPT_POSTFIELDSIZE_LARGE,
			 (curl_off_t)strlen(body));
	curl_easy_setopt(e->curl, CURLOPT_WRITEFUNCTION, rbuf_write);
	curl_easy_setopt(e->curl, CURLOPT_WRITEDATA, &b);
	rc = curl_easy_perform(e->curl);
	if (rc != CURLE_OK) {
		bool nothing = etcd_curl_sent_nothing(e->curl, rc);

		if (b.too_big) {
			ret = -EPROTO;
			etcd_seterr(e, "answer from %s larger than %u MiB (not etcd?)",
				    ep, ETCD_MAX_RESPONSE >> 20);
		} else {
			ret = etcd_curl_errno(rc);
			etcd_seterr(e, "etcd %s %s: %s",
				    nothing ? "unreachable at" : "failed at",
				    ep, curl_text(e, e->curl, rc));
		}
		*next_ep = nothing || retry == ETCD_READ;
		goto out;
	}
	curl_easy_getinfo(e->curl, CURLINFO_RESPONSE_CODE, &status);
	if (status != 200) {
		ret = etcd_error_body(e, ep, status, b.p ? b.p : "", b.len,
				      next_ep);
		if (retry == ETCD_WRITE && ret == -EPROTO)
			*next_ep = false;
		goto out;
	}
	*resp = json_loadb(b.p ? b.p : "", b.len, 0, &jerr);
	if (!json_is_object(*resp)) {
		etcd_seterr(e, "bad JSON from %s: %s", ep,
			    *resp ? "not an object" : jerr.text);
		json_decref(*resp);
		*resp = NULL;
		*next_ep = retry == ETCD_READ;
		ret = -EPROTO;
		goto out;
	}
	/* A streaming call (keepalive) reports errors inside the 200. */
	if (json_is_object(json_object_get(*resp, "error"))) {
		ret = etcd_grpc_error(e, ep, *resp, next_ep);
		json_decref(*resp);
		*resp = NULL;
		if (retry == ETCD_WRITE && ret == -EPROTO)
			*next_ep = false;
		goto out;
	}
	ret = 0;
out:
	free(b.p);
	free(url);
	return ret;
}

/*
 * POST req (consumed) to path, trying endpoints as etcd.h describes. On
 * success *resp is the answer object (the caller's to json_decref).
 */
int etcd_call(struct etcd *e, const char *path, json_t *req,
	      enum etcd_retry retry, json_t **resp)
{
	char *body = req ? json_dumps(req, JSON_COMPACT) : NULL;
	size_t start = e->cur, i, idx = start;
	char all[sizeof(e->msg)] = "";
	bool next_ep = false;
	int ret = -ENOMEM;

	json_decref(req);
	*resp = NULL;
	e->msg[0] = '\0';
	if (!body) {
		etcd_seterr(e, "out of memory");
		return -ENOMEM;
	}
	for (i = 0; i < e->neps; i++) {
		idx = (start + i) % e->neps;
		ret = call_one(e, e->eps[idx], path, body, retry, resp,
			       &next_ep);
		if (ret == 0 || !next_ep)
			break;
		/* Keep every endpoint's reason for the final message. */
		etcd_msg_append(all, sizeof(all), e->msg);
	}
	free(body);
	if (ret == 0) {
		e->cur = idx;
		e->msg[0] = '\0';
	} else if (next_ep) {
		/* All failed; etcd_seterr would truncate "all" quietly too. */
		memcpy(e->msg, all, sizeof(e->msg));
	} else if (ret == -ETIMEDOUT || ret == -ECONNRESET || ret == -EPROTO) {
		/* A write of unknown outcome: the next call asks another. */
		e->cur = (idx + 1) % e->neps;
	} else {
		e->cur = idx;	/* it answered, with an error of etcd's */
	}
	return ret;
}
