/* The flows and flow_events tables against the flows library run directly on the same
 * captures (counts of flows and events), and pushdown against the same question with the
 * constraint hidden from the table (+timestamp, name || ''): time ranges, name and flow_id
 * must change the work, never the answer. Captures: synthetic multi-hop ones (one, then two
 * merged, with TCP) and the lab capture given as argv[1]. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include "check.h"

#include "dnsreel.h"
#include "flows.h"
#include "query.h"
#include "synth.h"
#include "view.h"

static char tmpdir[] = "/tmp/dnsreel-test-flows-sql-XXXXXX";

static sqlite3 *open_db(const char *const *caps, size_t n)
{
	struct dnsreel_query *q = NULL;
	sqlite3 *db = NULL;
	char err[512] = "";
	int e = dnsreel_query__open(&q, caps, n, NULL, err, sizeof(err));

	CHECKF(e == 0, "open %s: %s", caps[0], err);
	if (e)
		return NULL;
	sqlite3_open(":memory:", &db);
	CHECKF(dnsreel_query__register(q, db) == SQLITE_OK, "register");
	dnsreel_query__unref(q);
	return db;
}

/* Every row of sql as "a|b\n" lines, malloc'd; an error as "ERROR ...". */
static char *rows(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *st = NULL;
	size_t len = 0, cap = 256;
	char *out = malloc(cap);
	int rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);

	if (!out)
		abort();
	out[0] = 0;
	if (rc != SQLITE_OK) {
		snprintf(out, cap, "ERROR %s", sqlite3_errmsg(db));
		return out;
	}
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		for (int i = 0; i < sqlite3_column_count(st); i++) {
			const unsigned char *t = sqlite3_column_text(st, i);
			size_t need = len + (t ? strlen((const char *)t) : 4) + 3;

			if (need > cap) {
				while (need > cap)
					cap *= 2;
				out = realloc(out, cap);
				if (!out)
					abort();
			}
			len += (size_t)sprintf(out + len, "%s%s", i ? "|" : "",
					       t ? (const char *)t : "NULL");
		}
		if (len + 2 > cap) {
			cap *= 2;
			out = realloc(out, cap);
			if (!out)
				abort();
		}
		out[len++] = '\n';
		out[len] = 0;
	}
	if (rc != SQLITE_DONE)
		snprintf(out, cap, "ERROR %s", sqlite3_errmsg(db));
	sqlite3_finalize(st);
	return out;
}

static int64_t one_int(sqlite3 *db, const char *sql)
{
	char *r = rows(db, sql);
	int64_t v = strtoll(r, NULL, 10);

	CHECKF(strncmp(r, "ERROR", 5) != 0, "%s: %s", sql, r);
	free(r);
	return v;
}

/* The same rows with and without the constraint visible to the table. */
static void same(sqlite3 *db, const char *pushed, const char *hidden)
{
	char *a = rows(db, pushed), *b = rows(db, hidden);

	CHECKF(strncmp(a, "ERROR", 5) && !strcmp(a, b), "%s\n  pushed: %.300s\n  hidden: %.300s",
	       pushed, a, b);
	free(a);
	free(b);
}

/* ---- the library alone -------------------------------------------------------------------- */

struct direct {
	struct dnsreel_flows *fl;
	uint64_t flows, events;
};

static int direct_rec(void *arg, const struct dnsreel_rec *rec)
{
	return dnsreel_flows__feed(((struct direct *)arg)->fl, rec);
}

static int direct_flow(void *arg, const struct dnsreel_flow *f)
{
	struct direct *d = arg;

	d->flows++;
	d->events += f->nevents;
	return 0;
}

static void count_direct(const char *const *caps, size_t n, uint64_t *flows, uint64_t *events)
{
	struct direct d = {0};
	struct dnsreel_merge *rp = NULL;
	struct dnsreel_merge_opts ro = {.sz = sizeof(ro), .rec_fn = direct_rec, .rec_arg = &d};
	char err[512] = "";
	int e = dnsreel_merge__open(&rp, caps, n, &ro, err, sizeof(err));

	CHECKF(e == 0, "replay open: %s", err);
	if (!e) {
		struct dnsreel_flows_opts fo = {
		    .sz = sizeof(fo), .events = true, .fn = direct_flow, .arg = &d};

		e = dnsreel_flows__new(&d.fl, dnsreel_merge__ctx(rp), &fo);
	}
	if (!e)
		e = dnsreel_merge__run(rp);
	if (!e)
		e = dnsreel_flows__flush(d.fl);
	CHECKF(e == 0, "direct reconstruction: %s", dnsreel_strerror(e));
	dnsreel_flows__free(d.fl);
	if (rp)
		dnsreel_merge__close(rp);
	*flows = d.flows;
	*events = d.events;
}

/* ---- checks ------------------------------------------------------------------------------- */

static void check_captures(const char *const *caps, size_t n)
{
	sqlite3 *db = open_db(caps, n);
	uint64_t nf = 0, ne = 0;
	char sql[1024], hid[1024];

	if (!db)
		return;
	count_direct(caps, n, &nf, &ne);
	CHECKF(nf > 0, "%s: no flows", caps[0]);
	CHECKF(one_int(db, "SELECT count(*) FROM flows") == (int64_t)nf,
	       "%s: flows %lld, want %llu", caps[0],
	       (long long)one_int(db, "SELECT count(*) FROM flows"), (unsigned long long)nf);
	CHECKF(one_int(db, "SELECT count(*) FROM flow_events") == (int64_t)ne,
	       "%s: flow_events, want %llu", caps[0], (unsigned long long)ne);
	/* Every flow event names a dns row (a full scan of dns: looked up one by one, the dns
	 * table decodes a TCP message whose stream began in an earlier frame without it). */
	CHECKF(one_int(db, "SELECT count(*) FROM flow_events WHERE event_id IS NULL "
			   "OR event_id NOT IN (SELECT event_id FROM dns)") == 0,
	       "%s: flow_events without their dns row", caps[0]);
	/* Each dns row is in a flow (an upstream try that served several flows in each). */
	CHECKF(one_int(db, "SELECT count(*) FROM dns WHERE event_id NOT IN "
			   "(SELECT event_id FROM flow_events)") ==
		   one_int(db, "SELECT count(*) FROM dns WHERE qtype IS NULL"),
	       "%s: dns rows in no flow", caps[0]);
	CHECKF(one_int(db, "SELECT count(*) FROM flow_events e JOIN (SELECT * FROM dns) d "
			   "USING (event_id) WHERE d.timestamp != e.timestamp "
			   "OR d.netns_id != e.netns_id") == 0,
	       "%s: flow_events and dns disagree", caps[0]);
	/* A join probing flows by flow_id: every event finds its flow. */
	CHECKF(one_int(db, "SELECT count(*) FROM flow_events e JOIN flows f USING (flow_id)") ==
		   (int64_t)ne,
	       "%s: flow_id join", caps[0]);

	/* Time ranges cut at the 0, 10, 45, 90 and 100 % points of the flows' timestamps. */
	static const int pct[][2] = {{0, 10}, {10, 45}, {45, 90}, {90, 100}, {0, 100}, {30, 31}};
	for (size_t k = 0; k < sizeof(pct) / sizeof(pct[0]); k++) {
		int64_t lo, hi;

		snprintf(sql, sizeof(sql),
			 "SELECT timestamp FROM flows ORDER BY timestamp LIMIT 1 OFFSET %llu",
			 (unsigned long long)((nf - 1) * (uint64_t)pct[k][0] / 100));
		lo = one_int(db, sql);
		snprintf(sql, sizeof(sql),
			 "SELECT timestamp FROM flows ORDER BY timestamp LIMIT 1 OFFSET %llu",
			 (unsigned long long)((nf - 1) * (uint64_t)pct[k][1] / 100));
		hi = one_int(db, sql);
		static const char cols[] = "flow_id, lookup_id, name, qtype, outcome, rcode, "
					   "latency_ns, retries, hops, upstreams, lost_role";
		snprintf(sql, sizeof(sql),
			 "SELECT %s FROM flows WHERE timestamp >= %lld AND timestamp < %lld "
			 "ORDER BY flow_id",
			 cols, (long long)lo, (long long)hi);
		snprintf(hid, sizeof(hid),
			 "SELECT %s FROM flows WHERE +timestamp >= %lld AND +timestamp < %lld "
			 "ORDER BY flow_id",
			 cols, (long long)lo, (long long)hi);
		same(db, sql, hid);
		snprintf(sql, sizeof(sql), "SELECT flow_id FROM flows WHERE timestamp = %lld",
			 (long long)hi);
		snprintf(hid, sizeof(hid), "SELECT flow_id FROM flows WHERE +timestamp = %lld",
			 (long long)hi);
		same(db, sql, hid);
	}
	/* Names: the most asked one, a search-walk one, one that is not there. */
	same(db,
	     "SELECT flow_id, outcome FROM flows WHERE name = "
	     "(SELECT name FROM flows GROUP BY name ORDER BY count(*) DESC, name LIMIT 1)",
	     "SELECT flow_id, outcome FROM flows WHERE name || '' = "
	     "(SELECT name FROM flows GROUP BY name ORDER BY count(*) DESC, name LIMIT 1)");
	same(db, "SELECT count(*) FROM flows WHERE name = 'no.such.name.'",
	     "SELECT count(*) FROM flows WHERE name || '' = 'no.such.name.'");
	same(db,
	     "SELECT f.flow_id, count(*) FROM flows f JOIN flow_events e ON e.flow_id = f.flow_id "
	     "WHERE f.name = (SELECT max(name) FROM flows) GROUP BY 1 ORDER BY 1",
	     "SELECT f.flow_id, count(*) FROM flows f JOIN flow_events e ON e.flow_id || '' = "
	     "f.flow_id WHERE f.name || '' = (SELECT max(name) FROM flows) GROUP BY 1 ORDER BY 1");
	sqlite3_close(db);
}

static int write_synth(const char *dir, uint64_t seed, int64_t boot0, uint64_t n)
{
	struct dnsreel_synth_opts so = {.seed = seed,
					.start_ts_ns = boot0,
					.qps = 2000,
					.pods = 8,
					.multi_hop = true,
					.tcp = true};
	struct dnsreel_capw_opts wo = {
	    .sz = sizeof(wo), .block_events = 256, .segment_bytes = 256 * 1024, .no_fsync = true};

	return dnsreel_synth_write_capture(dir, &so, &wo, n);
}

int main(int argc, char **argv)
{
	char c1[256], c2[256];
	const char *both[2] = {c1, c2};

	if (!mkdtemp(tmpdir)) {
		perror("mkdtemp");
		return 1;
	}
	snprintf(c1, sizeof(c1), "%s/s1.reel", tmpdir);
	snprintf(c2, sizeof(c2), "%s/s2.reel", tmpdir);
	CHECKF(write_synth(c1, 7, 1000000000000ll, 20000) == 0, "synth 1");
	CHECKF(write_synth(c2, 8, 1000500000000ll, 8000) == 0, "synth 2");
	check_captures(both, 1);
	check_captures(both, 2);
	if (argc > 1) {
		const char *lab[1] = {argv[1]};

		check_captures(lab, 1);
	}

	char cmd[300];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
	if (system(cmd) != 0)
		fprintf(stderr, "cleanup of %s failed\n", tmpdir);
	if (check_failures)
		fprintf(stderr, "%d failure(s)\n", check_failures);
	else
		printf("test_flows_sql: ok\n");
	return check_failures ? 1 : 0;
}
