// SPDX-License-Identifier: GPL-2.0-only
/*
 * libshardetcd's transport: endpoint failover (dead, hung and leaderless
 * members), clear errors within the timeout, and servers that are not etcd
 * or answer garbage, including a watch stream cut into small pieces.
 */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "etcd_fixture.h"

static struct etcd *open_eps(struct __test_metadata *_metadata,
			     const char *eps, long timeout_ms)
{
	char err[256];
	struct etcd *e = etcd_open(eps, timeout_ms, err, sizeof(err));

	EXPECT_NE(NULL, e) TH_LOG("%s: %s", eps, err);
	return e;
}

TEST(open_rejects_bad_arguments)
{
	static const char *const bad[] = { "", " , ", "a,,b", "ftp://x:1" };
	char err[256];
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		EXPECT_EQ(NULL, etcd_open(bad[i], 1000, err, sizeof(err)));
		EXPECT_NE('\0', err[0]) TH_LOG("\"%s\"", bad[i]);
	}
	EXPECT_EQ(NULL, etcd_open("http://127.0.0.1:1", 0, err, sizeof(err)));
	EXPECT_EQ(NULL, etcd_open(NULL, 1000, err, sizeof(err)));
}

TEST(unreachable_is_quick_and_clear)
{
	char eps[128], one[64];
	struct etcd_kv kv;
	struct etcd *e;
	int p1 = test_free_port(), p2 = test_free_port();
	long start;

	/* no scheme: http:// */
	snprintf(one, sizeof(one), "127.0.0.1:%d", p1);
	e = open_eps(_metadata, one, 1000);
	ASSERT_NE(NULL, e);
	start = test_now_ms();
	EXPECT_EQ(-ECONNREFUSED, etcd_get(e, "/k", &kv, NULL));
	EXPECT_GT(1000, test_now_ms() - start);
	snprintf(one, sizeof(one), "etcd unreachable at http://127.0.0.1:%d: Connection refused",
		 p1);
	EXPECT_STREQ(one, etcd_strerror(e));
	etcd_close(e);

	snprintf(eps, sizeof(eps), "http://127.0.0.1:%d,http://127.0.0.1:%d/",
		 p1, p2);
	e = open_eps(_metadata, eps, 1000);
	ASSERT_NE(NULL, e);
	EXPECT_EQ(-ECONNREFUSED, etcd_put(e, "/k", "v", 1, 0));
	snprintf(one, sizeof(one), "http://127.0.0.1:%d:", p1);
	EXPECT_NE(NULL, strstr(etcd_strerror(e), one)) TH_LOG("%s", etcd_strerror(e));
	snprintf(one, sizeof(one), "http://127.0.0.1:%d:", p2);
	EXPECT_NE(NULL, strstr(etcd_strerror(e), one)) TH_LOG("%s", etcd_strerror(e));
	TH_LOG("%s", etcd_strerror(e));
	etcd_close(e);
}

static int no_event(void *arg, enum etcd_ev_type type,
		    const struct etcd_kv *kv, int64_t rev)
{
	return -EINVAL;
}

/* A server that accepts but never answers: the timeout bounds each call. */
TEST(hung_server_times_out)
{
	char url[64];
	struct etcd_kv kv;
	struct etcd *e;
	int port, fd = test_silent_listener(&port);
	long took, start;

	ASSERT_LE(0, fd);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d", port);
	e = open_eps(_metadata, url, 500);
	ASSERT_NE(NULL, e);
	start = test_now_ms();
	EXPECT_EQ(-ETIMEDOUT, etcd_get(e, "/k", &kv, NULL));
	took = test_now_ms() - start;
	EXPECT_LE(450, took);
	EXPECT_GT(1500, took);
	EXPECT_NE(NULL, strstr(etcd_strerror(e), "timed out")) TH_LOG("%s", etcd_strerror(e));
	TH_LOG("%s", etcd_strerror(e));

	start = test_now_ms();
	EXPECT_EQ(-ETIMEDOUT, etcd_watch(e, "/", 0, no_event, NULL, NULL, NULL));
	took = test_now_ms() - start;
	EXPECT_LE(450, took);
	EXPECT_GT(1500, took);
	etcd_close(e);
	close(fd);
}

/* A reply from a fake server to a get, a keepalive or a watch. */
enum op { OP_GET, OP_KEEPALIVE, OP_WATCH };

static int fake_call(struct __test_metadata *_metadata, const char *reply,
		     enum op op, char *msg, size_t msglen)
{
	struct test_fake f;
	struct etcd_kv kv;
	int64_t ttl;
	struct etcd *e;
	int ret = -EINVAL;

	if (test_fake_start(&f, reply, false, false))
		return -ECHILD;
	e = open_eps(_metadata, f.url, 1000);
	if (e) {
		switch (op) {
		case OP_GET:
			ret = etcd_get(e, "/k", &kv, NULL);
			etcd_kv_free(&kv);
			break;
		case OP_KEEPALIVE:
			ret = etcd_lease_keepalive(e, 1, &ttl);
			break;
		case OP_WATCH:
			ret = etcd_watch(e, "/", 0, no_event, NULL, NULL, NULL);
			break;
		}
		snprintf(msg, msglen, "%s", etcd_strerror(e));
		etcd_close(e);
	}
	test_fake_stop(&f);
	return ret;
}

#define OK_HDRS "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n"

TEST(garbage_servers_give_eproto)
{
	static const struct {
		const char *reply;
		const char *says;
	} cases[] = {
		{ "SSH-2.0-OpenSSH_9.2\r\nnot http at all\r\n\r\n", "" },
		{ "HTTP/1.0 501 Unsupported method ('POST')\r\n"
		  "Content-Type: text/html\r\nContent-Length: 19\r\n\r\n"
		  "<html>nope</html>\r\n", "unexpected HTTP 501" },
		{ "HTTP/1.1 404 Not Found\r\nContent-Length: 9\r\n\r\n{\"a\":\"b\"}",
		  "unexpected HTTP 404" },
		{ OK_HDRS "{not json", "bad JSON" },
		{ OK_HDRS "[1, 2]", "not an object" },
		{ OK_HDRS "", "bad JSON" },
		{ OK_HDRS "{\"hello\": 1}", "header" },
		{ OK_HDRS "{\"header\": {\"revision\": \"12x\"}}", "header" },
		{ OK_HDRS "{\"header\": {\"revision\": true}}", "header" },
		{ OK_HDRS "{\"header\": {}, \"kvs\": \"nope\"}", "kvs" },
		{ OK_HDRS "{\"header\": {}, \"kvs\": [17]}", "key-value" },
		{ OK_HDRS "{\"header\": {}, \"kvs\": [{\"key\": \"!!\"}]}", "key-value" },
		{ OK_HDRS "{\"header\": {}, \"kvs\": [{\"value\": \"eA==\"}]}", "key-value" },
		{ OK_HDRS "{\"header\": {}, \"kvs\": [{\"key\": \"eA==\", \"version\": [1]}]}",
		  "key-value" },
		{ OK_HDRS "{\"header\": {}, \"kvs\": [{\"key\": \"eA=\"}]}", "key-value" },
		{ OK_HDRS "{\"header\": {}, \"kvs\": [{\"key\": \"eA\"}]}", "key-value" },
	};
	char msg[512];
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		EXPECT_EQ(-EPROTO, fake_call(_metadata, cases[i].reply, OP_GET,
					     msg, sizeof(msg)))
			TH_LOG("case %zu: %s", i, msg);
		EXPECT_NE(NULL, strstr(msg, cases[i].says))
			TH_LOG("case %zu: %s", i, msg);
	}
	/* and a valid answer from the same fake, to be sure of the rest */
	EXPECT_EQ(0, fake_call(_metadata, OK_HDRS
			       "{\"header\": {\"revision\": 7}, \"kvs\": [{\"key\": \"L2s=\", \"value\": \"eA==\", \"mod_revision\": \"5\"}]}",
			       OP_GET, msg, sizeof(msg))) TH_LOG("%s", msg);
}

TEST(stream_errors)
{
	char msg[512];

	/* an error object inside a 200 stream: a member without a leader */
	EXPECT_EQ(-EAGAIN, fake_call(_metadata, OK_HDRS
				     "{\"error\":{\"grpc_code\":14,\"http_code\":503,\"message\":\"etcdserver: no leader\",\"http_status\":\"Service Unavailable\"}}",
				     OP_KEEPALIVE, msg, sizeof(msg)));
	EXPECT_NE(NULL, strstr(msg, "no leader")) TH_LOG("%s", msg);
	EXPECT_EQ(-EAGAIN, fake_call(_metadata, OK_HDRS
				     "{\"error\":{\"grpc_code\":14,\"http_code\":503,\"message\":\"etcdserver: no leader\",\"http_status\":\"Service Unavailable\"}}",
				     OP_WATCH, msg, sizeof(msg)));
	EXPECT_EQ(-EPROTO, fake_call(_metadata, OK_HDRS "{\"result\": 5}",
				     OP_KEEPALIVE, msg, sizeof(msg)));
	EXPECT_EQ(-EPROTO, fake_call(_metadata, OK_HDRS "nonsense",
				     OP_WATCH, msg, sizeof(msg)));
	EXPECT_NE(NULL, strstr(msg, "garbage")) TH_LOG("%s", msg);
	EXPECT_EQ(-EPROTO, fake_call(_metadata, OK_HDRS "{\"result\": {]}",
				     OP_WATCH, msg, sizeof(msg)));
	EXPECT_EQ(-EPROTO, fake_call(_metadata,
				     "HTTP/1.0 501 Unsupported\r\n\r\n<html>",
				     OP_WATCH, msg, sizeof(msg)));
	EXPECT_EQ(-ECANCELED, fake_call(_metadata, OK_HDRS
					"{\"result\":{\"header\":{},\"created\":true}}"
					"{\"result\":{\"header\":{},\"canceled\":true,\"cancel_reason\":\"etcdserver: permission denied\"}}",
					OP_WATCH, msg, sizeof(msg)));
	EXPECT_NE(NULL, strstr(msg, "permission denied")) TH_LOG("%s", msg);
	/* the stream ends before the watch is created */
	EXPECT_EQ(-ECONNRESET, fake_call(_metadata, OK_HDRS, OP_WATCH, msg,
					 sizeof(msg)));
}

#define HDR "\"header\":{\"cluster_id\":\"1\",\"revision\":\"9\"}"
#define WATCH_STREAM OK_HDRS \
	"{\"result\":{" HDR ",\"created\":true}}\n" \
	"{\"result\":{" HDR ",\"events\":[{\"kv\":{\"key\":\"L2Ev\",\"create_revision\":\"5\",\"mod_revision\":\"5\",\"version\":\"1\",\"value\":\"e30=\"}}]}}\n" \
	"{\"result\":{" HDR ",\"events\":[{\"type\":\"DELETE\",\"kv\":{\"key\":\"L2Ev\",\"mod_revision\":\"7\"}},{\"kv\":{\"key\":\"L2Iv\",\"mod_revision\":\"7\",\"value\":\"XCJ9\"}}]}}" \
	"{\"result\":{" HDR ",\"events\":[{\"kv\":{\"key\":\"L2Mv\",\"mod_revision\":8}}]}}\n"

struct events {
	int n;
	int64_t rev[8];
	char value[8][8];
	enum etcd_ev_type type[8];
	int stop_at;
};

static int collect(void *arg, enum etcd_ev_type type, const struct etcd_kv *kv,
		   int64_t rev)
{
	struct events *ev = arg;

	if (ev->n < 8) {
		ev->rev[ev->n] = rev;
		ev->type[ev->n] = type;
		snprintf(ev->value[ev->n], sizeof(ev->value[0]), "%s", kv->value);
	}
	return ++ev->n == ev->stop_at;
}

/* A stream in 3-byte pieces and with several objects in one piece; strings
 * holding braces and escaped quotes must not confuse the object cutting.
 */
static void stream_case(struct __test_metadata *_metadata, const char *reply,
			bool dribble, int stop_at, int want_ret)
{
	struct events ev = { .stop_at = stop_at };
	struct test_fake f;
	int64_t last = 0;
	struct etcd *e;

	ASSERT_EQ(0, test_fake_start(&f, reply, dribble, true));
	e = open_eps(_metadata, f.url, 1000);
	if (e) {
		EXPECT_EQ(want_ret, etcd_watch(e, "/", 0, collect, &ev, NULL,
					       &last)) TH_LOG("%s", etcd_strerror(e));
		etcd_close(e);
	}
	test_fake_stop(&f);
	ASSERT_EQ(4, ev.n);
	EXPECT_EQ(5, ev.rev[0]);
	EXPECT_STREQ("{}", ev.value[0]);
	EXPECT_EQ(ETCD_EV_DELETE, ev.type[1]);
	EXPECT_EQ(7, ev.rev[2]);
	EXPECT_STREQ("\\\"}", ev.value[2]);
	EXPECT_EQ(ETCD_EV_PUT, ev.type[3]);
	EXPECT_EQ(8, last);
}

TEST(watch_stream_in_pieces)
{
	stream_case(_metadata, WATCH_STREAM, true, 4, 0);
	stream_case(_metadata, WATCH_STREAM, false, 4, 0);
	/* garbage after good events: they are delivered, then -EPROTO */
	stream_case(_metadata, WATCH_STREAM "}{", true, 0, -EPROTO);
}

FIXTURE(failover) {
	struct test_etcd srv;
	struct test_etcd pair[2];	/* for a test's own cluster */
};

FIXTURE_SETUP(failover)
{
	if (test_etcd_bin())
		ASSERT_EQ(0, test_etcd_start(&self->srv, 1));
}

FIXTURE_TEARDOWN(failover)
{
	test_etcd_stop(&self->srv);
	test_etcd_stop(&self->pair[0]);
	test_etcd_stop(&self->pair[1]);
}

#define NEED_ETCD() do { \
	if (!self->srv.pid) \
		SKIP(return, "etcd is not installed"); \
} while (0)

static int first_event(void *arg, enum etcd_ev_type type,
		       const struct etcd_kv *kv, int64_t rev)
{
	return 1;
}

TEST_F(failover, dead_endpoint_first)
{
	char eps[160];
	struct etcd_kv kv;
	struct etcd *e;

	NEED_ETCD();
	snprintf(eps, sizeof(eps), "http://127.0.0.1:%d, %s", test_free_port(),
		 self->srv.url);
	e = open_eps(_metadata, eps, 1000);
	ASSERT_NE(NULL, e);
	EXPECT_EQ(0, etcd_put(e, "/k", "v", 1, 0));
	ASSERT_EQ(0, etcd_get(e, "/k", &kv, NULL));
	EXPECT_STREQ("v", kv.value);
	etcd_kv_free(&kv);
	EXPECT_STREQ("no error", etcd_strerror(e));
	etcd_close(e);

	e = open_eps(_metadata, eps, 1000);
	ASSERT_NE(NULL, e);
	EXPECT_EQ(0, etcd_watch(e, "/k", 1, first_event, NULL, NULL, NULL));
	etcd_close(e);
}

TEST_F(failover, hung_endpoint_first)
{
	char eps[160];
	struct etcd_kv kv;
	struct etcd *e;
	int port, fd;
	long start;

	NEED_ETCD();
	fd = test_silent_listener(&port);
	ASSERT_LE(0, fd);
	snprintf(eps, sizeof(eps), "http://127.0.0.1:%d,%s", port,
		 self->srv.url);

	/* A read goes on to the next endpoint after the timeout, and the
	 * handle stays with the one that answered.
	 */
	e = open_eps(_metadata, eps, 500);
	ASSERT_NE(NULL, e);
	EXPECT_EQ(-ENOENT, etcd_get(e, "/k", &kv, NULL));
	start = test_now_ms();
	EXPECT_EQ(-ENOENT, etcd_get(e, "/k", &kv, NULL));
	EXPECT_GT(300, test_now_ms() - start);
	etcd_close(e);

	/* A write that may have arrived is not repeated, but the next call
	 * goes elsewhere.
	 */
	e = open_eps(_metadata, eps, 500);
	ASSERT_NE(NULL, e);
	EXPECT_EQ(-ETIMEDOUT, etcd_put(e, "/k", "v", 1, 0));
	EXPECT_EQ(0, etcd_put(e, "/k", "v", 1, 0));
	etcd_close(e);

	e = open_eps(_metadata, eps, 500);
	ASSERT_NE(NULL, e);
	EXPECT_EQ(0, etcd_watch(e, "/k", 1, first_event, NULL, NULL, NULL));
	etcd_close(e);
	close(fd);
}

/* A member that lost its leader refuses at once ("hasleader"), and even a
 * write moves on to another endpoint since nothing was proposed.
 */
TEST_F(failover, leaderless_member)
{
	struct test_etcd *pair = self->pair;
	char eps[160];
	struct etcd_kv kv;
	struct etcd *e;
	long start, took = 0;
	int ret = 0;

	NEED_ETCD();
	ASSERT_EQ(0, test_etcd_start(pair, 2));
	test_etcd_stop(&pair[1]);
	e = open_eps(_metadata, pair[0].url, 3000);
	ASSERT_NE(NULL, e);
	start = test_now_ms();
	while (test_now_ms() - start < 10000) {
		long t0 = test_now_ms();

		ret = etcd_get(e, "/k", &kv, NULL);
		took = test_now_ms() - t0;
		if (ret == -EAGAIN)
			break;
		usleep(100 * 1000);
	}
	EXPECT_EQ(-EAGAIN, ret) TH_LOG("%s", etcd_strerror(e));
	EXPECT_GT(1000, took);
	EXPECT_NE(NULL, strstr(etcd_strerror(e), "no leader"));
	TH_LOG("%s", etcd_strerror(e));
	EXPECT_EQ(-EAGAIN, etcd_watch(e, "/", 0, no_event, NULL, NULL, NULL));
	EXPECT_EQ(-EAGAIN, etcd_lease_keepalive(e, 0x1234, NULL));
	TH_LOG("%s", etcd_strerror(e));
	etcd_close(e);

	snprintf(eps, sizeof(eps), "%s,%s", pair[0].url, self->srv.url);
	e = open_eps(_metadata, eps, 3000);
	ASSERT_NE(NULL, e);
	EXPECT_EQ(0, etcd_put(e, "/k", "v", 1, 0)) TH_LOG("%s", etcd_strerror(e));
	etcd_close(e);
	/* the keepalive stream's error moves on too */
	e = open_eps(_metadata, eps, 3000);
	ASSERT_NE(NULL, e);
	EXPECT_EQ(-ENOENT, etcd_lease_keepalive(e, 0x1234, NULL));
	EXPECT_NE(NULL, strstr(etcd_strerror(e), "expired")) TH_LOG("%s", etcd_strerror(e));
	etcd_close(e);
}

TEST_HARNESS_MAIN
