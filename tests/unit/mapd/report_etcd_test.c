// SPDX-License-Identifier: GPL-2.0-only
/*
 * Peer reports in cluster mode against a real etcd: three sanitized
 * shard-mapd processes (--no-kernel, --grace 10), fake daemons
 * heartbeating to them, and "daemon-report" requests standing in for
 * the kernel's DAEMON_UNREACHABLE events.
 *
 * The rules under test (userspace/mapd/cluster_report.c): a report is
 * refuted by the daemon's host mapd while the daemon heartbeats; the
 * leader marks a daemon down on a report left unrefuted for the refute
 * window (max(1 s, grace / 4): 2.5 s here), long before the grace period
 * when its host is gone; a withdrawn report stops counting; reports not
 * backed by a mapd's lease count for nothing.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "../etcd/etcd_fixture.h"
#include "mapd_proc.h"

#define CLUSTER		"r"
#define GRACE		10.0	/* seconds: the lease TTL */
#define WINDOW_MS	2500	/* the refute window: GRACE / 4 */
/* Longer than a heartbeat that refutes a report may be old (2.5 s). */
#define SILENCE_MS	3000
#define NMAPDS		3
#define PER_MAPD	2	/* fake daemons per mapd */

FIXTURE(rep) {
	struct mapd_env env;
	struct mapd_proc m[NMAPDS];
	bool stopped[NMAPDS];	/* SIGSTOPped: do not ask it anything */
	size_t n;
	uint32_t ids[NMAPDS][PER_MAPD];
	struct hb_set hb;
	int leader, host, reporter;	/* indexes into m */
};

FIXTURE_SETUP(rep)
{
	char err[256] = "";

	signal(SIGPIPE, SIG_IGN);
	if (!test_etcd_bin() || !mapd_proc_bin() ||
	    !mapd_test_selected(_metadata->name))
		return;		/* each test skips */
	ASSERT_EQ(0, mapd_env_start(&self->env, "/tmp/mapd-report.XXXXXX",
				    &self->hb, err, sizeof(err)))
		TH_LOG("%s", err);
}

FIXTURE_TEARDOWN(rep)
{
	EXPECT_EQ(0, mapd_env_finish(&self->env, &self->hb, self->m, self->n,
				     self->stopped, !_metadata->passed));
}

static void sleep_ms(long ms)
{
	usleep(ms * 1000);
}

/* Every mapd that is not stopped sees daemon id up (or down). */
static bool up_everywhere(FIXTURE_DATA(rep) *self, uint32_t id, int up)
{
	size_t i;

	for (i = 0; i < self->n; i++)
		if (self->m[i].pid && !self->stopped[i] &&
		    mapd_daemon_up(&self->m[i], id) != up)
			return false;
	return true;
}

static bool all_up(FIXTURE_DATA(rep) *self)
{
	size_t i, k;

	for (i = 0; i < self->n; i++)
		for (k = 0; k < PER_MAPD; k++)
			if (!up_everywhere(self, self->ids[i][k], 1))
				return false;
	return true;
}

/*
 * Three mapds, PER_MAPD daemons on each, all up; host and reporter are
 * the two that do not lead, so the leader hears of both through etcd.
 */
static void bring_up(struct __test_metadata *_metadata,
		     FIXTURE_DATA(rep) *self)
{
	size_t i, k;

	ASSERT_EQ(0, mapd_procs_start(self->m, NMAPDS, &self->n, &self->env,
				      CLUSTER, GRACE));
	ASSERT_LE(0, WAIT_FOR(10000, (self->leader =
		mapd_leader_index(self->m, self->n)) >= 0));
	for (i = 0; i < NMAPDS; i++)
		for (k = 0; k < PER_MAPD; k++) {
			self->ids[i][k] = mapd_register_daemon(&self->hb,
					&self->m[i], 7000 + 10 * i + k);
			ASSERT_NE(0, self->ids[i][k]);
		}
	ASSERT_LE(0, WAIT_FOR(10000, all_up(self)));
	self->host = (self->leader + 1) % NMAPDS;
	self->reporter = (self->leader + 2) % NMAPDS;
	TH_LOG("leader %s, host %s, reporter %s",
	       self->m[self->leader].name, self->m[self->host].name,
	       self->m[self->reporter].name);
}

/* A daemon-report to mapd p; the reply (NULL if none). */
static json_t *report(struct mapd_proc *p, uint32_t id, bool unreachable)
{
	char req[160];

	snprintf(req, sizeof(req),
		 "{\"cmd\":\"daemon-report\",\"id\":%u,\"unreachable\":%s,"
		 "\"reporter\":\"test\",\"err\":113}",
		 id, unreachable ? "true" : "false");
	return mapd_req(p, req);
}

#define REPORT(p, id, unreachable) do {					\
	json_t *__r = report(p, id, unreachable);			\
	ASSERT_TRUE(mapd_ok(__r))					\
		TH_LOG("daemon-report: %s", mapd_error(__r));		\
	json_decref(__r);						\
} while (0)

static void report_key(char *buf, size_t len, uint32_t id, const char *by)
{
	snprintf(buf, len, "/shard/%s/reports/%u/%s", CLUSTER, id, by);
}

/* The report key of mapd by about id: 0 and *kv, or -ENOENT. */
static int get_report(FIXTURE_DATA(rep) *self, uint32_t id, const char *by,
		      struct etcd_kv *kv)
{
	char k[128];

	report_key(k, sizeof(k), id, by);
	return etcd_get(self->env.e, k, kv, NULL);
}

static bool has_report(FIXTURE_DATA(rep) *self, uint32_t id, const char *by)
{
	struct etcd_kv kv;

	if (get_report(self, id, by, &kv))
		return false;
	etcd_kv_free(&kv);
	return true;
}

/* What status on p says of daemon id's reporters (a new reference). */
static json_t *reporters(struct mapd_proc *p, uint32_t id)
{
	json_t *r = mapd_req(p, "{\"cmd\":\"status\"}"), *d, *by = NULL;
	size_t i;

	json_array_foreach(json_object_get(r, "daemons"), i, d)
		if (json_integer_value(json_object_get(d, "id")) == id)
			by = json_incref(json_object_get(d,
					"reported_unreachable_by"));
	json_decref(r);
	return by;
}

/*
 * The daemon's host is alive and hears its heartbeats: it refutes the
 * report at once, and the daemon stays up, though the report stands.
 */
TEST_F_TIMEOUT(rep, refuted_while_heartbeating, 60)
{
	struct mapd_proc *host, *rep;
	int64_t alive_rev = 0, report_rev;
	struct etcd_kv kv;
	char k[128];
	uint32_t id;
	json_t *by;
	long took;

	MAPD_NEED_ENV(&self->env);
	bring_up(_metadata, self);
	host = &self->m[self->host];
	rep = &self->m[self->reporter];
	id = self->ids[self->host][0];

	REPORT(rep, id, true);
	/* Cheap and idempotent: the same report again changes nothing. */
	REPORT(rep, id, true);
	ASSERT_EQ(0, get_report(self, id, rep->name, &kv));
	EXPECT_NE(0, kv.lease);
	EXPECT_EQ(1, kv.version);
	EXPECT_NE(NULL, strstr(kv.value, "\"err\":113")) TH_LOG("%s", kv.value);
	report_rev = kv.create_rev;
	etcd_kv_free(&kv);
	took = WAIT_FOR(3000, mapd_proc_log_has(host, "refuting mapd"));
	EXPECT_LE(0, took);
	TH_LOG("refuted by %s within %ld ms", host->name, took);
	snprintf(k, sizeof(k), "/shard/%s/alive/%u", CLUSTER, id);
	EXPECT_LE(0, WAIT_FOR(2000, ({
		struct etcd_kv __a;
		if (!etcd_get(self->env.e, k, &__a, NULL)) {
			alive_rev = __a.mod_rev;
			etcd_kv_free(&__a);
		}
		alive_rev > report_rev;
	}))) TH_LOG("alive/%u at %lld, report at %lld", id,
		    (long long)alive_rev, (long long)report_rev);

	EXPECT_TRUE(HOLDS_FOR(2 * WINDOW_MS + 1000, up_everywhere(self, id, 1)))
		TH_LOG("daemon %u went down on a refuted report", id);
	EXPECT_TRUE(all_up(self));
	/* The report stands: status says who cannot reach it. */
	by = reporters(&self->m[self->leader], id);
	EXPECT_EQ(1, json_array_size(by));
	EXPECT_STREQ(rep->name, json_string_value(json_array_get(by, 0)) ?: "");
	json_decref(by);
	by = reporters(host, self->ids[self->host][1]);
	EXPECT_TRUE(json_is_array(by) && !json_array_size(by));
	json_decref(by);
	ASSERT_EQ(0, get_report(self, id, rep->name, &kv));
	EXPECT_EQ(1, kv.version);	/* never written again */
	etcd_kv_free(&kv);

	/* Reachable again: the key goes. */
	REPORT(rep, id, false);
	EXPECT_FALSE(has_report(self, id, rep->name));
	by = reporters(&self->m[self->leader], id);
	EXPECT_LE(0, WAIT_FOR(2000, ({
		json_decref(by);
		by = reporters(&self->m[self->leader], id);
		json_is_array(by) && !json_array_size(by);
	})));
	json_decref(by);
}

/*
 * A host gone silent (SIGSTOP: its lease runs on until the grace period
 * ends). The daemon reported unreachable is down in about the refute
 * window; the one nobody reports waits for the lease.
 */
TEST_F_TIMEOUT(rep, host_death_detected_early, 60)
{
	struct mapd_proc *host, *rep;
	uint32_t reported, control;
	long t_stop, t_report, took, control_took;

	MAPD_NEED_ENV(&self->env);
	bring_up(_metadata, self);
	host = &self->m[self->host];
	rep = &self->m[self->reporter];
	reported = self->ids[self->host][0];
	control = self->ids[self->host][1];

	/* The host and its daemons stop at once, as a host that dies. */
	hb_enable(&self->hb, reported, false);
	hb_enable(&self->hb, control, false);
	ASSERT_EQ(0, kill(host->pid, SIGSTOP));
	self->stopped[self->host] = true;
	t_stop = test_now_ms();
	REPORT(rep, reported, true);
	t_report = test_now_ms();

	took = WAIT_FOR(GRACE * 1000 + 3000,
			up_everywhere(self, reported, 0));
	ASSERT_LE(0, took) TH_LOG("daemon %u never went down", reported);
	took += t_report - t_stop;
	printf("# reported daemon %u down everywhere %ld ms after its host stopped (grace %.0f s, refute window %d ms)\n",
	       reported, took, GRACE, WINDOW_MS);
	fflush(stdout);
	EXPECT_LE(took, (GRACE - 2) * 1000);
	EXPECT_TRUE(mapd_proc_log_has(&self->m[self->leader],
				      "did not refute it"));
	/* Nobody reports the other: it is still up. */
	EXPECT_TRUE(up_everywhere(self, control, 1))
		TH_LOG("daemon %u went down before its host's lease ran out",
		       control);

	control_took = WAIT_FOR(GRACE * 1000 + 4000,
				up_everywhere(self, control, 0));
	ASSERT_LE(0, control_took);
	control_took = test_now_ms() - t_stop;
	printf("# unreported daemon %u down %ld ms after its host stopped (the lease)\n",
	       control, control_took);
	fflush(stdout);
	/*
	 * The lease is renewed every third of its TTL (on a 1 s tick), so
	 * it runs out between 2/3 of the grace period, less a second, and
	 * the whole of it after the host stopped.
	 */
	EXPECT_GE(control_took, GRACE * 1000 * 2 / 3 - 1000);
	EXPECT_LT(took, control_took);

	/* Down and its alive key gone: the reporter has nothing to add. */
	EXPECT_LE(0, WAIT_FOR(3000, !has_report(self, reported, rep->name)));
	EXPECT_TRUE(mapd_proc_log_has(rep, "withdrawing our report"));

	ASSERT_EQ(0, kill(host->pid, SIGCONT));
	self->stopped[self->host] = false;
}

/*
 * Withdrawn in time, a report counts for nothing, even against a
 * daemon that is silent (its host does not refute for it).
 */
TEST_F_TIMEOUT(rep, withdrawn_report, 60)
{
	struct mapd_proc *rep;
	uint32_t id;

	MAPD_NEED_ENV(&self->env);
	bring_up(_metadata, self);
	rep = &self->m[self->reporter];
	id = self->ids[self->host][0];

	hb_enable(&self->hb, id, false);
	sleep_ms(SILENCE_MS);
	REPORT(rep, id, true);
	EXPECT_TRUE(has_report(self, id, rep->name));
	sleep_ms(300);
	REPORT(rep, id, false);
	EXPECT_FALSE(has_report(self, id, rep->name));
	/* Within the grace period, so only the report could take it down. */
	EXPECT_TRUE(HOLDS_FOR(2 * WINDOW_MS, up_everywhere(self, id, 1)))
		TH_LOG("daemon %u went down on a withdrawn report", id);
	EXPECT_FALSE(mapd_proc_log_has(&self->m[self->host], "refuting mapd"));
	/* A withdrawal of nothing is fine too. */
	REPORT(rep, id, false);
	REPORT(rep, self->ids[self->leader][0], false);
	hb_enable(&self->hb, id, true);
	EXPECT_TRUE(all_up(self));
}

/*
 * A daemon silent while its host mapd is alive: no refute, down on the
 * report before the grace period. Heartbeating again, the host refutes
 * the standing report and the daemon is up again.
 */
TEST_F_TIMEOUT(rep, silent_daemon_not_refuted, 60)
{
	struct mapd_proc *host, *rep;
	long t0, took;
	uint32_t id;

	MAPD_NEED_ENV(&self->env);
	bring_up(_metadata, self);
	host = &self->m[self->host];
	rep = &self->m[self->reporter];
	id = self->ids[self->host][0];

	hb_enable(&self->hb, id, false);
	t0 = test_now_ms();
	sleep_ms(SILENCE_MS);
	REPORT(rep, id, true);
	took = WAIT_FOR(GRACE * 1000 + 3000, up_everywhere(self, id, 0));
	ASSERT_LE(0, took);
	printf("# silent daemon %u down %ld ms after the report, %ld ms after its last heartbeat\n",
	       id, took, test_now_ms() - t0);
	fflush(stdout);
	EXPECT_LE(took, WINDOW_MS + 2000);
	EXPECT_LE(test_now_ms() - t0, (GRACE - 2) * 1000);
	EXPECT_FALSE(mapd_proc_log_has(host, "refuting mapd"));

	hb_enable(&self->hb, id, true);
	took = WAIT_FOR(4000, up_everywhere(self, id, 1));
	EXPECT_LE(0, took) TH_LOG("daemon %u stays down though it heartbeats",
				  id);
	TH_LOG("up again %ld ms after heartbeats resumed", took);
	EXPECT_TRUE(mapd_proc_log_has(host, "refuting mapd"));
	EXPECT_TRUE(has_report(self, id, rep->name));
	EXPECT_TRUE(HOLDS_FOR(2 * WINDOW_MS, up_everywhere(self, id, 1)));
}

/*
 * Report keys that no mapd stands by: without a lease, on a lease that
 * is not a mapd's, under the name of a mapd but not on its lease, about
 * a daemon not in the map, under keys of the wrong shape. None counts,
 * nothing breaks. The same report on the mapd's own lease, about the
 * other daemon of that host, silent as long, does count.
 */
TEST_F_TIMEOUT(rep, forged_reports_ignored, 60)
{
	struct mapd_proc *rep;
	struct etcd_kv kv;
	int64_t lease, mapd_lease;
	uint32_t forged, real;
	char k[128];
	json_t *r;

	MAPD_NEED_ENV(&self->env);
	bring_up(_metadata, self);
	rep = &self->m[self->reporter];
	forged = self->ids[self->host][0];
	real = self->ids[self->host][1];
	snprintf(k, sizeof(k), "/shard/%s/mapds/%s", CLUSTER, rep->name);
	ASSERT_EQ(0, etcd_get(self->env.e, k, &kv, NULL));
	mapd_lease = kv.lease;
	etcd_kv_free(&kv);
	ASSERT_NE(0, mapd_lease);
	ASSERT_EQ(0, etcd_lease_grant(self->env.e, 30, &lease));

	hb_enable(&self->hb, forged, false);
	hb_enable(&self->hb, real, false);
	sleep_ms(SILENCE_MS);
	report_key(k, sizeof(k), forged, "nobody");
	ASSERT_EQ(0, etcd_put(self->env.e, k, "{}", 2, 0));
	report_key(k, sizeof(k), forged, "stranger");
	ASSERT_EQ(0, etcd_put(self->env.e, k, "{}", 2, lease));
	report_key(k, sizeof(k), forged, rep->name);
	ASSERT_EQ(0, etcd_put(self->env.e, k, "not json", 8, lease));
	report_key(k, sizeof(k), 999, rep->name);
	ASSERT_EQ(0, etcd_put(self->env.e, k, "{}", 2, mapd_lease));
	snprintf(k, sizeof(k), "/shard/%s/reports/x/%s", CLUSTER, rep->name);
	ASSERT_EQ(0, etcd_put(self->env.e, k, "{}", 2, mapd_lease));
	snprintf(k, sizeof(k), "/shard/%s/reports/%u/a/b", CLUSTER, forged);
	ASSERT_EQ(0, etcd_put(self->env.e, k, "{}", 2, mapd_lease));
	snprintf(k, sizeof(k), "/shard/%s/reports/%u", CLUSTER, forged);
	ASSERT_EQ(0, etcd_put(self->env.e, k, "{}", 2, mapd_lease));
	/* On the mapd's own lease it is a report like any other. */
	report_key(k, sizeof(k), real, rep->name);
	ASSERT_EQ(0, etcd_put(self->env.e, k, "{}", 2, mapd_lease));

	/* Both silent as long, and well within the grace period. */
	EXPECT_TRUE(HOLDS_FOR(2 * WINDOW_MS, up_everywhere(self, forged, 1)))
		TH_LOG("daemon %u went down on a forged report", forged);
	EXPECT_TRUE(up_everywhere(self, real, 0))
		TH_LOG("daemon %u is up despite a report", real);
	r = reporters(&self->m[self->leader], forged);
	EXPECT_EQ(0, json_array_size(r));
	json_decref(r);
	r = reporters(&self->m[self->leader], real);
	EXPECT_EQ(1, json_array_size(r));
	json_decref(r);
	EXPECT_FALSE(mapd_proc_log_has(&self->m[self->host], "refuting mapd"));
	EXPECT_TRUE(mapd_proc_alive(&self->m[self->leader]));
}

/* Bad requests get clear errors; the mapd goes on. */
TEST_F_TIMEOUT(rep, bad_input, 40)
{
	static const struct {
		const char *req, *error;
	} bad[] = {
		{ "{\"cmd\":\"daemon-report\",\"id\":4242,\"unreachable\":true,\"reporter\":\"t\"}",
		  "unknown daemon 4242" },
		{ "{\"cmd\":\"daemon-report\",\"id\":0,\"unreachable\":true,\"reporter\":\"t\"}",
		  "unknown daemon 0" },
		{ "{\"cmd\":\"daemon-report\",\"unreachable\":true,\"reporter\":\"t\"}",
		  "missing field \"id\"" },
		{ "{\"cmd\":\"daemon-report\",\"id\":1,\"reporter\":\"t\"}",
		  "missing field \"unreachable\"" },
		{ "{\"cmd\":\"daemon-report\",\"id\":1,\"unreachable\":true}",
		  "missing field \"reporter\"" },
		{ "{\"cmd\":\"daemon-report\",\"id\":\"1\",\"unreachable\":true,\"reporter\":\"t\"}",
		  "field \"id\" must be a non-negative integer" },
		{ "{\"cmd\":\"daemon-report\",\"id\":1,\"unreachable\":\"no\",\"reporter\":\"t\"}",
		  "field \"unreachable\" must be true or false" },
		{ "{\"cmd\":\"daemon-report\",\"id\":1,\"unreachable\":true,\"reporter\":[]}",
		  "field \"reporter\" must be a string" },
		{ "{\"cmd\":\"daemon-report\",\"id\":1,\"unreachable\":true,\"reporter\":\"t\",\"err\":1e3}",
		  "field \"err\" must be a non-negative integer" },
	};
	struct mapd_proc *p;
	struct etcd_kv *kvs;
	char reps[128];
	size_t i, n;
	json_t *r;

	MAPD_NEED_ENV(&self->env);
	bring_up(_metadata, self);
	p = &self->m[self->reporter];
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		r = mapd_req(p, bad[i].req);
		EXPECT_NE(NULL, r) TH_LOG("%s: no answer", bad[i].req);
		EXPECT_FALSE(mapd_ok(r)) TH_LOG("%s", bad[i].req);
		EXPECT_NE(NULL, strstr(mapd_error(r), bad[i].error))
			TH_LOG("%s -> \"%s\"", bad[i].req, mapd_error(r));
		json_decref(r);
	}
	ASSERT_TRUE(mapd_proc_alive(p));
	r = mapd_req(p, "{\"cmd\":\"status\"}");
	EXPECT_TRUE(mapd_ok(r));
	json_decref(r);
	/* Nothing was written. */
	snprintf(reps, sizeof(reps), "/shard/%s/reports/", CLUSTER);
	ASSERT_EQ(0, etcd_get_prefix(self->env.e, reps, &kvs, &n, NULL));
	EXPECT_EQ(0, n);
	etcd_kvs_free(kvs, n);
	EXPECT_TRUE(all_up(self));
}

TEST_HARNESS_MAIN
