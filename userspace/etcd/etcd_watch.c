// SPDX-License-Identifier: GPL-2.0-only
/*
 * Watch: POST /v3/watch with one create_request; the answer is an endless
 * stream of JSON objects ({"result": {...}} or {"error": {...}}) that curl
 * hands over in arbitrary pieces. Objects are cut out of the stream by
 * counting braces outside strings and parsed once each. curl's multi
 * interface drives the transfer so that *stop is looked at every 200 ms.
 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "etcd_int.h"

#define STOP_POLL_MS	200

struct watch {
	struct etcd *e;
	const char *ep;
	CURL *c;
	etcd_watch_cb cb;
	void *arg;
	bool from_now;		/* start_rev 0 */
	int64_t last;		/* every revision <= last was delivered */
	bool created;
	bool done;		/* the stream's content ended the watch */
	bool by_cb;		/* ... or rather the callback did */
	int ret;		/* the result when done */
	bool next_ep;		/* when done: another endpoint may do */
	long status;		/* HTTP status, once known */
	char curlerr[CURL_ERROR_SIZE];	/* not e's: cb may use e meanwhile */
	/* the stream: buf[0, len) unconsumed; scanned up to scan */
	char *buf;
	size_t len, cap, scan;
	int depth;
	bool in_str, esc;
};

static void finish(struct watch *w, int ret)
{
	w->done = true;
	w->ret = ret;
}

/* Deliver the events of one answer in order. */
static void events(struct watch *w, json_t *evs)
{
	size_t i, n = json_array_size(evs);

	for (i = 0; i < n && !w->done; i++) {
		json_t *ev = json_array_get(evs, i);
		json_t *type = json_object_get(ev, "type");
		enum etcd_ev_type t = ETCD_EV_PUT;
		struct etcd_kv kv;
		int64_t next_rev;
		int ret;

		/* PUT is the zero value and is left out. */
		if (type && json_is_string(type) &&
		    !strcmp(json_string_value(type), "DELETE")) {
			t = ETCD_EV_DELETE;
		} else if (type && (!json_is_string(type) ||
				    strcmp(json_string_value(type), "PUT"))) {
			etcd_seterr(w->e, "watch event of unknown type from %s",
				    w->ep);
			finish(w, -EPROTO);
			return;
		}
		ret = etcd_parse_kv(w->e, json_object_get(ev, "kv"), &kv);
		if (ret) {
			finish(w, ret);
			return;
		}
		if (kv.mod_rev <= 0) {
			etcd_kv_free(&kv);
			etcd_seterr(w->e, "watch event without a revision from %s",
				    w->ep);
			finish(w, -EPROTO);
			return;
		}
		if (kv.mod_rev - 1 > w->last)
			w->last = kv.mod_rev - 1;
		ret = w->cb(w->arg, t, &kv, kv.mod_rev);
		/* A revision (a transaction) is done with its last event, and
		 * etcd does not split one over two answers.
		 */
		if (etcd_get_i64(json_object_get(json_array_get(evs, i + 1), "kv"),
				 "mod_revision", &next_rev) ||
		    next_rev != kv.mod_rev)
			w->last = kv.mod_rev;
		etcd_kv_free(&kv);
		if (ret < 0)
			etcd_seterr(w->e, "watch stopped by its callback: %s",
				    strerror(-ret));
		if (ret) {
			w->by_cb = true;
			finish(w, ret > 0 ? 0 : ret);
		}
	}
}

static void message(struct watch *w, const char *text, size_t len)
{
	json_t *obj = json_loadb(text, len, 0, NULL);
	json_t *res, *evs;
	int64_t rev, compact;

	if (!json_is_object(obj)) {
		etcd_seterr(w->e, "bad JSON in the watch stream from %s", w->ep);
		finish(w, -EPROTO);
		goto out;
	}
	res = json_object_get(obj, "result");
	if (!json_is_object(res)) {
		/* {"error": {...}}, e.g. the member lost its leader */
		finish(w, etcd_grpc_error(w->e, w->ep, obj, &w->next_ep));
		goto out;
	}
	evs = json_object_get(res, "events");
	if (etcd_header_rev(w->e, res, &rev) ||
	    etcd_get_i64(res, "compact_revision", &compact) ||
	    (evs && !json_is_array(evs))) {
		etcd_seterr(w->e, "malformed watch answer from %s", w->ep);
		finish(w, -EPROTO);
		goto out;
	}
	if (json_is_true(json_object_get(res, "canceled"))) {
		json_t *why = json_object_get(res, "cancel_reason");

		if (compact > 0) {
			etcd_seterr(w->e, "watch from revision %lld: compacted up to %lld",
				    (long long)w->last + 1, (long long)compact);
			w->last = compact;
			finish(w, -ESTALE);
		} else {
			etcd_seterr(w->e, "etcd at %s cancelled the watch: %s",
				    w->ep, json_is_string(why) ?
				    json_string_value(why) : "no reason given");
			finish(w, -ECANCELED);
		}
		goto out;
	}
	if (json_is_true(json_object_get(res, "created"))) {
		w->created = true;
		/* From now on: the watch starts after the revision etcd was
		 * at when it created it.
		 */
		if (w->from_now && rev > w->last)
			w->last = rev;
	}
	events(w, evs);
out:
	json_decref(obj);
}

/* Cut complete top-level objects out of the buffered stream. */
static void scan(struct watch *w)
{
	size_t start = 0, i;

	for (i = w->scan; i < w->len && !w->done; i++) {
		char ch = w->buf[i];

		if (w->in_str) {
			if (w->esc)
				w->esc = false;
			else if (ch == '\\')
				w->esc = true;
			else if (ch == '"')
				w->in_str = false;
			continue;
		}
		if (w->depth == 0) {
			if (ch == ' ' || ch == '\n' || ch == '\r' || ch == '\t') {
				start = i + 1;
				continue;
			}
			if (ch != '{') {
				etcd_seterr(w->e, "garbage in the watch stream from %s",
					    w->ep);
				finish(w, -EPROTO);
				return;
			}
		}
		if (ch == '"') {
			w->in_str = true;
		} else if (ch == '{' || ch == '[') {
			w->depth++;
		} else if ((ch == '}' || ch == ']') && --w->depth == 0) {
			message(w, w->buf + start, i + 1 - start);
			start = i + 1;
		}
	}
	memmove(w->buf, w->buf + start, w->len - start);
	w->len -= start;
	w->scan = i - start;
}

static size_t on_data(char *data, size_t size, size_t nmemb, void *arg)
{
	struct watch *w = arg;
	size_t n = size * nmemb;

	if (w->done)
		return 0;
	if (!w->status)
		curl_easy_getinfo(w->c, CURLINFO_RESPONSE_CODE, &w->status);
	if (w->len + n + 1 > w->cap) {
		size_t cap = w->cap ? w->cap : 16384;
		char *p;

		while (cap < w->len + n + 1)
			cap *= 2;
		if (cap > ETCD_MAX_RESPONSE) {
			etcd_seterr(w->e, "watch answer from %s larger than %u MiB (not etcd?)",
				    w->ep, ETCD_MAX_RESPONSE >> 20);
			finish(w, -EPROTO);
			return 0;
		}
		p = realloc(w->buf, cap);
		if (!p) {
			etcd_seterr(w->e, "out of memory");
			finish(w, -ENOMEM);
			return 0;
		}
		w->buf = p;
		w->cap = cap;
	}
	memcpy(w->buf + w->len, data, n);
	w->len += n;
	w->buf[w->len] = '\0';
	/* an error status: keep the body for the end */
	if (w->status == 200)
		scan(w);
	return w->done ? 0 : n;
}

/* A dead peer breaks an idle watch after TCP_KEEPIDLE + 2 probes. */
static int on_socket(void *arg, curl_socket_t fd, curlsocktype purpose)
{
	int cnt = 2;

	(void)arg;
	if (purpose == CURLSOCKTYPE_IPCXN)
		setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &cnt, sizeof(cnt));
	return CURL_SOCKOPT_OK;
}

static long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000;
}

/* What ended a transfer that the stream's content did not end. */
static int transfer_end(struct watch *w, CURLcode rc)
{
	if (rc != CURLE_OK) {
		bool nothing = etcd_curl_sent_nothing(w->c, rc);

		w->next_ep = !w->created;
		etcd_seterr(w->e, "etcd %s %s: %s", nothing ? "unreachable at" :
			    "watch broke at", w->ep,
			    w->curlerr[0] ? w->curlerr :
			    curl_easy_strerror(rc));
		return etcd_curl_errno(rc);
	}
	if (!w->status)	/* no body at all */
		curl_easy_getinfo(w->c, CURLINFO_RESPONSE_CODE, &w->status);
	if (w->status != 200) {
		int ret = etcd_error_body(w->e, w->ep, w->status,
					  w->buf ? w->buf : "", w->len,
					  &w->next_ep);

		w->next_ep = w->next_ep || !w->created;
		return ret;
	}
	w->next_ep = !w->created;
	etcd_seterr(w->e, "etcd at %s ended the watch stream", w->ep);
	return -ECONNRESET;
}

static int watch_one(struct watch *w, const char *body, volatile int *stop)
{
	struct etcd *e = w->e;
	long keepidle = e->timeout_ms >= 2000 ? e->timeout_ms / 1000 : 1;
	long deadline = now_ms() + e->timeout_ms;
	bool ended = false;
	CURLcode rc = CURLE_OK;
	CURLM *m = NULL;
	char *url = NULL;
	int ret = -ENOMEM;

	if (asprintf(&url, "%s/v3/watch", w->ep) < 0 ||
	    !(w->c = etcd_curl_new(e, url)) || !(m = curl_multi_init())) {
		etcd_seterr(e, "out of memory");
		goto out;
	}
	curl_easy_setopt(w->c, CURLOPT_ERRORBUFFER, w->curlerr);
	curl_easy_setopt(w->c, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(w->c, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(w->c, CURLOPT_WRITEDATA, w);
	curl_easy_setopt(w->c, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(w->c, CURLOPT_TCP_KEEPIDLE, keepidle);
	curl_easy_setopt(w->c, CURLOPT_TCP_KEEPINTVL, keepidle);
	curl_easy_setopt(w->c, CURLOPT_SOCKOPTFUNCTION, on_socket);
	if (curl_multi_add_handle(m, w->c) != CURLM_OK) {
		etcd_seterr(e, "curl_multi_add_handle failed");
		ret = -EIO;
		goto out;
	}
	for (;;) {
		CURLMsg *msg;
		int running, left;

		if (curl_multi_perform(m, &running) != CURLM_OK) {
			etcd_seterr(e, "curl_multi_perform failed");
			ret = -EIO;
			break;
		}
		while ((msg = curl_multi_info_read(m, &left))) {
			if (msg->msg == CURLMSG_DONE) {
				rc = msg->data.result;
				ended = true;
			}
		}
		if (w->done) {
			ret = w->ret;
			break;
		}
		if (ended) {
			ret = transfer_end(w, rc);
			break;
		}
		if (stop && *stop) {
			ret = 0;
			break;
		}
		if (!w->created && now_ms() >= deadline) {
			etcd_seterr(e, "etcd at %s: no watch within %ld ms",
				    w->ep, e->timeout_ms);
			w->next_ep = true;
			ret = -ETIMEDOUT;
			break;
		}
		if (curl_multi_poll(m, NULL, 0, STOP_POLL_MS, NULL) != CURLM_OK) {
			etcd_seterr(e, "curl_multi_poll failed");
			ret = -EIO;
			break;
		}
	}
	curl_multi_remove_handle(m, w->c);
out:
	curl_multi_cleanup(m);
	if (w->c)
		curl_easy_cleanup(w->c);
	w->c = NULL;
	free(url);
	return ret;
}

static json_t *create_req(const char *prefix, int64_t start_rev)
{
	size_t len;
	char *end = etcd_prefix_end(prefix, &len);
	json_t *req;

	if (!end)
		return NULL;
	req = json_pack("{s:{s:o, s:o, s:o}}", "create_request",
			"key", *prefix ? etcd_json_b64(prefix, strlen(prefix))
				       : etcd_json_b64("", 1),
			"range_end", etcd_json_b64(end, len),
			"start_revision", etcd_json_i64(start_rev));
	free(end);
	return req;
}

int etcd_watch(struct etcd *e, const char *prefix, int64_t start_rev,
	       etcd_watch_cb cb, void *arg, volatile int *stop,
	       int64_t *last_rev)
{
	struct watch w = {
		.e = e, .cb = cb, .arg = arg, .from_now = start_rev == 0,
		.last = start_rev > 0 ? start_rev - 1 : 0,
	};
	size_t start = e->cur, i, idx = start;
	char all[sizeof(e->msg)] = "";
	json_t *req;
	char *body;
	int ret = 0;

	e->msg[0] = '\0';
	if (!cb || start_rev < 0) {
		etcd_seterr(e, "etcd_watch: no callback or a negative revision");
		return -EINVAL;
	}
	req = create_req(prefix ? prefix : "", start_rev);
	body = req ? json_dumps(req, JSON_COMPACT) : NULL;
	json_decref(req);
	if (!body) {
		etcd_seterr(e, "out of memory");
		return -ENOMEM;
	}
	for (i = 0; i < e->neps; i++) {
		idx = (start + i) % e->neps;
		w.ep = e->eps[idx];
		w.next_ep = false;
		w.done = false;
		w.status = 0;
		w.len = w.scan = 0;
		w.depth = 0;
		w.in_str = w.esc = false;
		ret = watch_one(&w, body, stop);
		if (!w.next_ep || w.created)
			break;
		etcd_msg_append(all, sizeof(all), e->msg);
	}
	free(body);
	free(w.buf);
	if (ret && w.next_ep && !w.created)
		memcpy(e->msg, all, sizeof(e->msg));
	/* A watch that broke after it ran: try another member next time. */
	if (ret && ret != -ESTALE && ret != -ECANCELED && w.created &&
	    !w.by_cb)
		e->cur = (idx + 1) % e->neps;
	else if (w.created)
		e->cur = idx;
	/* never created from now: + 1 must be "from now" (0) again */
	if (last_rev)
		*last_rev = w.from_now && !w.created ? -1 : w.last;
	return ret;
}
