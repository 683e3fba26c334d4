/* Unit tests of the query tables: every dns column's type and value for hand-made events,
 * answers rows, SQL answers against the view decoder run directly (what replay uses), pushdown
 * (same rows with and without, fewer frames with), the UDP fast path, in-table grouping and
 * read-ahead against their plain counterparts, several captures as one, context tables.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include "check.h"

#include "dnsreel.h"
#include "query.h"
#include "synth.h"
#include "view.h"

static char tmpdir[] = "/tmp/dnsreel-test-query-XXXXXX";

/* ---- a hand-made capture ------------------------------------------------------------------ */

#define BOOT0 1000000000000ll
#define WALL0 1767225600000000000ll /* 2026-01-01T00:00:00Z */

struct msgb {
	uint8_t b[512];
	size_t n;
};

static void put8(struct msgb *m, uint8_t x)
{
	m->b[m->n++] = x;
}
static void put16(struct msgb *m, uint16_t x)
{
	put8(m, (uint8_t)(x >> 8));
	put8(m, (uint8_t)x);
}
static void put32(struct msgb *m, uint32_t x)
{
	put16(m, (uint16_t)(x >> 16));
	put16(m, (uint16_t)x);
}
static void putname(struct msgb *m, const char *name)
{
	while (*name) {
		const char *dot = strchr(name, '.');
		size_t l = dot ? (size_t)(dot - name) : strlen(name);

		put8(m, (uint8_t)l);
		memcpy(m->b + m->n, name, l);
		m->n += l;
		name += l + (dot ? 1 : 0);
	}
	put8(m, 0);
}
static void header(struct msgb *m, uint16_t id, uint16_t flags, uint16_t qd, uint16_t an,
		   uint16_t ns, uint16_t ar)
{
	m->n = 0;
	put16(m, id);
	put16(m, flags);
	put16(m, qd);
	put16(m, an);
	put16(m, ns);
	put16(m, ar);
}
static void rr_a(struct msgb *m, const char *name, uint32_t ttl, const uint8_t a[4])
{
	putname(m, name);
	put16(m, 1);
	put16(m, 1);
	put32(m, ttl);
	put16(m, 4);
	memcpy(m->b + m->n, a, 4);
	m->n += 4;
}

static void ev_init(struct dnsreel_event *ev, int64_t ts, uint64_t netns, const char *src,
		    uint16_t sport, const char *dst, uint16_t dport, uint8_t pkt,
		    const struct msgb *m)
{
	unsigned a, b, c, d;

	memset(ev, 0, sizeof(*ev));
	ev->ts_ns = ts;
	ev->netns = netns;
	ev->ifindex = 2;
	ev->pkt_type = pkt;
	ev->ip_version = 4;
	ev->proto = 17;
	sscanf(src, "%u.%u.%u.%u", &a, &b, &c, &d);
	ev->src_addr[0] = (uint8_t)a, ev->src_addr[1] = (uint8_t)b, ev->src_addr[2] = (uint8_t)c,
	ev->src_addr[3] = (uint8_t)d;
	sscanf(dst, "%u.%u.%u.%u", &a, &b, &c, &d);
	ev->dst_addr[0] = (uint8_t)a, ev->dst_addr[1] = (uint8_t)b, ev->dst_addr[2] = (uint8_t)c,
	ev->dst_addr[3] = (uint8_t)d;
	ev->src_port = sport;
	ev->dst_port = dport;
	ev->orig_len = ev->cap_len = (uint32_t)m->n;
	ev->payload = m->b;
}

static int write_known(const char *dir)
{
	struct dnsreel_capw_opts wo = {.sz = sizeof(wo), .no_fsync = true};
	struct dnsreel_capw *w = NULL;
	struct dnsreel_meta meta = {.format_major = DNSREEL_FORMAT_MAJOR,
				    .format_minor = DNSREEL_FORMAT_MINOR,
				    .boot_to_wall_ns = WALL0 - BOOT0,
				    .start_wall_ns = WALL0,
				    .snaplen = 65535};
	struct dnsreel_netns_ctx ns = {.netns = 4026532001ull, .first_seen_ns = BOOT0 - 1000};
	struct dnsreel_service_ctx svc = {.ip_version = 4, .port = 53, .addr = {10, 96, 0, 10}};
	struct dnsreel_event ev;
	struct msgb m;
	static const uint8_t a1[4] = {93, 184, 216, 34}, a2[4] = {1, 2, 3, 4};
	int err;

	snprintf(meta.capture_id, sizeof(meta.capture_id), "test-known");
	snprintf(meta.node, sizeof(meta.node), "node-a");
	snprintf(meta.recorder, sizeof(meta.recorder), "test");
	snprintf(ns.k8s_namespace, sizeof(ns.k8s_namespace), "default");
	snprintf(ns.k8s_podname, sizeof(ns.k8s_podname), "web-1");
	snprintf(ns.k8s_containername, sizeof(ns.k8s_containername), "web");
	snprintf(ns.runtime_containername, sizeof(ns.runtime_containername), "web-ctr");
	snprintf(ns.runtime_containerid, sizeof(ns.runtime_containerid), "abc123");
	snprintf(ns.ips, sizeof(ns.ips), "10.244.0.5");
	snprintf(svc.k8s_namespace, sizeof(svc.k8s_namespace), "kube-system");
	snprintf(svc.name, sizeof(svc.name), "kube-dns");

	err = dnsreel_capw__open(&w, dir, &wo);
	if (err)
		return err;
	err = dnsreel_capw__set_meta(w, &meta);
	if (!err)
		err = dnsreel_capw__put_netns(w, &ns);
	if (!err)
		err = dnsreel_capw__put_service(w, &svc);

	/* 1: query example.com. A from the pod, with process context */
	header(&m, 0x1234, 0x0100, 1, 0, 0, 0);
	putname(&m, "example.com");
	put16(&m, 1);
	put16(&m, 1);
	ev_init(&ev, BOOT0, ns.netns, "10.244.0.5", 40000, "10.96.0.10", 53, DNSREEL_PKT_OUTGOING,
		&m);
	ev.flags = DNSREEL_EV_PROC;
	ev.pid = 1234;
	ev.tid = 1235;
	ev.uid = 1000;
	ev.gid = 1001;
	snprintf(ev.comm, sizeof(ev.comm), "curl");
	if (!err)
		err = dnsreel_capw__append(w, &ev);

	/* 2: its response 5 ms later: two A answers, one NS in authority */
	header(&m, 0x1234, 0x8180, 1, 2, 1, 0);
	putname(&m, "example.com");
	put16(&m, 1);
	put16(&m, 1);
	rr_a(&m, "example.com", 300, a1);
	rr_a(&m, "example.com", 300, a2);
	putname(&m, "example.com");
	put16(&m, 2);
	put16(&m, 1);
	put32(&m, 3600);
	put16(&m, 17);
	putname(&m, "ns1.example.com");
	ev_init(&ev, BOOT0 + 5000000, ns.netns, "10.96.0.10", 53, "10.244.0.5", 40000,
		DNSREEL_PKT_HOST, &m);
	if (!err)
		err = dnsreel_capw__append(w, &ev);

	/* 3: NXDOMAIN response for an AAAA in an unknown netns, no process */
	header(&m, 0xbeef, 0x8183, 1, 0, 0, 0);
	putname(&m, "nx.example.com");
	put16(&m, 28);
	put16(&m, 1);
	ev_init(&ev, BOOT0 + 7000000, 777, "10.0.0.53", 53, "10.0.0.7", 5353, DNSREEL_PKT_HOST, &m);
	if (!err)
		err = dnsreel_capw__append(w, &ev);
	int cerr = dnsreel_capw__close(w);
	return err ? err : cerr;
}

/* ---- SQL helpers -------------------------------------------------------------------------- */

static sqlite3 *open_db(const char *const *caps, size_t n, const struct dnsreel_query_opts *o,
			struct dnsreel_query **qout)
{
	struct dnsreel_query *q = NULL;
	sqlite3 *db = NULL;
	char err[512];
	int e = dnsreel_query__open(&q, caps, n, o, err, sizeof(err));

	CHECKF(e == 0, "open %s: %s", caps[0], err);
	if (e)
		return NULL;
	sqlite3_open(":memory:", &db);
	CHECKF(dnsreel_query__register(q, db) == SQLITE_OK, "register");
	if (qout)
		*qout = q;
	else
		dnsreel_query__unref(q);
	return db;
}

/* All rows of sql as one text ("a|b\n..."), malloc'd; NULL and error as text. */
static char *rows(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *st = NULL;
	char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);
	int rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);

	if (rc != SQLITE_OK) {
		fprintf(f, "ERROR %s", sqlite3_errmsg(db));
		fclose(f);
		return out;
	}
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		for (int i = 0; i < sqlite3_column_count(st); i++) {
			const unsigned char *t = sqlite3_column_text(st, i);

			fprintf(f, "%s%s", i ? "|" : "", t ? (const char *)t : "NULL");
		}
		fputc('\n', f);
	}
	if (rc != SQLITE_DONE)
		fprintf(f, "ERROR %s", sqlite3_errmsg(db));
	sqlite3_finalize(st);
	fclose(f);
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

static void expect(sqlite3 *db, const char *sql, const char *want)
{
	char *got = rows(db, sql);

	CHECKF(!strcmp(got, want), "%s\n got: %s\nwant: %s", sql, got, want);
	free(got);
}

/* ---- known events ------------------------------------------------------------------------- */

static void test_known(void)
{
	char dir[256];
	const char *caps[1] = {dir};
	sqlite3 *db;

	snprintf(dir, sizeof(dir), "%s/known.reel", tmpdir);
	CHECKF(write_known(dir) == 0, "write known capture");
	db = open_db(caps, 1, NULL, NULL);
	if (!db)
		return;
	expect(db, "SELECT count(*) FROM dns", "3\n");

	/* Every column of the query, with its SQL type. */
	static const struct {
		const char *col, *type, *val;
	} q[] = {
	    {"timestamp", "integer", "1767225600000000000"},
	    {"time", "text", "2026-01-01T00:00:00.000000000Z"},
	    {"k8s_node", "text", "node-a"},
	    {"k8s_namespace", "text", "default"},
	    {"k8s_podname", "text", "web-1"},
	    {"k8s_containername", "text", "web"},
	    {"runtime_containername", "text", "web-ctr"},
	    {"netns_id", "integer", "4026532001"},
	    {"pkt_type", "text", "OUTGOING"},
	    {"proto", "text", "UDP"},
	    {"src_addr", "text", "10.244.0.5"},
	    {"src_port", "integer", "40000"},
	    {"dst_addr", "text", "10.96.0.10"},
	    {"dst_port", "integer", "53"},
	    {"src", "text", "p/default/web-1:40000"},
	    {"dst", "text", "s/kube-system/kube-dns:53"},
	    {"comm", "text", "curl"},
	    {"pid", "integer", "1234"},
	    {"tid", "integer", "1235"},
	    {"uid", "integer", "1000"},
	    {"gid", "integer", "1001"},
	    {"id", "text", "1234"},
	    {"qr", "text", "Q"},
	    {"opcode", "text", "QUERY"},
	    {"qtype", "text", "A"},
	    {"qtype_raw", "integer", "1"},
	    {"name", "text", "example.com."},
	    {"rcode", "null", "NULL"},
	    {"rcode_raw", "null", "NULL"},
	    {"num_answers", "integer", "0"},
	    {"addresses", "text", ""},
	    {"latency_ns", "integer", "0"},
	    {"tc", "integer", "0"},
	    {"rd", "integer", "1"},
	    {"ra", "integer", "0"},
	    {"aa", "integer", "0"},
	    {"size", "integer", "29"},
	    {"segment", "integer", "1"},
	    {"runtime_containerid", "text", "abc123"},
	    {"ifindex", "integer", "2"},
	    {"nameserver", "text", "10.96.0.10"},
	    {"ad", "integer", "0"},
	    {"cd", "integer", "0"},
	};
	for (size_t i = 0; i < sizeof(q) / sizeof(q[0]); i++) {
		char sql[256], want[256];

		snprintf(sql, sizeof(sql), "SELECT typeof(%s), %s FROM dns WHERE qr = 'Q'",
			 q[i].col, q[i].col);
		snprintf(want, sizeof(want), "%s|%s\n", q[i].type, q[i].val);
		expect(db, sql, want);
	}
	/* The response: latency matched through the decoder, rcode and answers. */
	expect(
	    db,
	    "SELECT qr, rcode, rcode_raw, num_answers, addresses, latency_ns, ra, pkt_type, src, "
	    "dst, nameserver, typeof(comm), typeof(pid) FROM dns WHERE qr = 'R' AND netns_id = "
	    "4026532001",
	    "R|Success|0|2|93.184.216.34,1.2.3.4|5000000|1|HOST|s/kube-system/kube-dns:53|p/"
	    "default/web-1:40000|10.96.0.10|null|null\n");
	/* Unknown netns: k8s columns NULL, node still known. */
	expect(db,
	       "SELECT name, qtype, qtype_raw, rcode, rcode_raw, typeof(k8s_podname), "
	       "typeof(k8s_namespace), k8s_node, src FROM dns WHERE netns_id = 777",
	       "nx.example.com.|AAAA|28|NameError|3|null|null|node-a|10.0.0.53:53\n");
	/* Every column name of the issue, in its order, first. */
	expect(db,
	       "SELECT group_concat(name, ',') FROM (SELECT name FROM pragma_table_info('dns') "
	       "LIMIT 39)",
	       "timestamp,time,k8s_node,k8s_namespace,k8s_podname,k8s_containername,runtime_"
	       "containername,netns_id,pkt_type,proto,src_addr,src_port,dst_addr,dst_port,src,dst,"
	       "comm,pid,tid,uid,gid,id,qr,opcode,qtype,qtype_raw,name,rcode,rcode_raw,num_"
	       "answers,addresses,latency_ns,tc,rd,ra,aa,size,capture,segment\n");
	/* Every column with its declared type, pinned: the schema is written out beside the
	 * column constants, so a change shows here. */
	expect(db, "SELECT group_concat(name || ' ' || type, ',') FROM pragma_table_info('dns')",
	       "timestamp INTEGER,time TEXT,k8s_node TEXT,k8s_namespace TEXT,k8s_podname TEXT,"
	       "k8s_containername TEXT,runtime_containername TEXT,netns_id INTEGER,pkt_type TEXT,"
	       "proto TEXT,src_addr TEXT,src_port INTEGER,dst_addr TEXT,dst_port INTEGER,src TEXT,"
	       "dst TEXT,comm TEXT,pid INTEGER,tid INTEGER,uid INTEGER,gid INTEGER,id TEXT,qr TEXT,"
	       "opcode TEXT,qtype TEXT,qtype_raw INTEGER,name TEXT,rcode TEXT,rcode_raw INTEGER,"
	       "num_answers INTEGER,addresses TEXT,latency_ns INTEGER,tc INTEGER,rd INTEGER,"
	       "ra INTEGER,aa INTEGER,size INTEGER,capture TEXT,segment INTEGER,"
	       "runtime_containerid TEXT,ifindex INTEGER,nameserver TEXT,ad INTEGER,cd INTEGER,"
	       "event_id INTEGER,observation TEXT,dnstap_type TEXT,dnstap_identity TEXT\n");
	/* The field columns are the view's fields, '.' turned into '_'. */
	{
		size_t nf;
		const struct dnsreel_field_def *defs = dnsreel_fields(&nf);

		for (size_t f = 0; f < nf; f++) {
			char col[64], sql[160];

			snprintf(col, sizeof(col), "%s", defs[f].name);
			for (char *p = col; *p; p++)
				if (*p == '.')
					*p = '_';
			if (f == DNSREEL_F_TIMESTAMP)
				snprintf(col, sizeof(col), "time");
			snprintf(sql, sizeof(sql),
				 "SELECT count(*) FROM pragma_table_info('dns') WHERE name = '%s'",
				 col);
			CHECKF(one_int(db, sql) == 1, "field %s has no dns column", defs[f].name);
		}
	}
	/* answers: every RR of every response, joinable to dns. */
	expect(db,
	       "SELECT a.section, a.rr_index, a.name, a.type, a.type_raw, a.class, a.ttl, a.data, "
	       "d.qr FROM answers a JOIN dns d USING (event_id) ORDER BY a.timestamp, a.rr_index",
	       "answer|0|example.com.|A|1|IN|300|93.184.216.34|R\n"
	       "answer|1|example.com.|A|1|IN|300|1.2.3.4|R\n"
	       "authority|2|example.com.|NS|2|IN|3600|ns1.example.com.|R\n");
	/* Context tables. */
	expect(db, "SELECT k8s_namespace, k8s_podname, k8s_node, netns_id FROM pods",
	       "default|web-1|node-a|4026532001\n");
	expect(db, "SELECT netns_id, k8s_podname, ips FROM netns", "4026532001|web-1|10.244.0.5\n");
	expect(db, "SELECT addr, port, k8s_namespace, name FROM services",
	       "10.96.0.10|53|kube-system|kube-dns\n");
	expect(db, "SELECT value FROM capture_info WHERE key = 'node'", "node-a\n");
	expect(db, "SELECT value FROM capture_info WHERE key = 'events'", "3\n");
	expect(db, "SELECT sum(events), count(*) FROM segments", "3|1\n");
	expect(db, "SELECT sum(events) FROM frames", "3\n");
	/* Time text bounds pushed down stay exact after SQLite's re-check. */
	expect(db, "SELECT count(*) FROM dns WHERE time >= '2026-01-01T00:00:00.005'", "2\n");
	expect(db, "SELECT count(*) FROM dns WHERE time < '2026-01-01T00:00:00.005'", "1\n");
	expect(db, "SELECT count(*) FROM dns WHERE time > '2026-01-01T00:00'", "3\n");
	expect(db, "SELECT count(*) FROM dns WHERE time < '2026-01-01'", "0\n");
	expect(db, "SELECT count(*) FROM dns WHERE timestamp = 1767225600000000000", "1\n");
	/* SQLite gives the text INTEGER affinity here: pushdown must not assume int < text. */
	expect(db, "SELECT count(*) FROM dns WHERE timestamp > '1'", "3\n");
	expect(db, "SELECT count(*) FROM dns WHERE timestamp > 'x'", "0\n");
	expect(db, "SELECT count(*) FROM dns WHERE name = 'EXAMPLE.COM.'", "0\n");
	expect(db, "SELECT count(*) FROM dns WHERE name = 'EXAMPLE.COM.' COLLATE NOCASE", "2\n");
	expect(db, "SELECT count(*) FROM dns WHERE k8s_podname = 'web-1'", "2\n");
	expect(db, "SELECT count(*) FROM dns WHERE k8s_podname IN ('web-1', 'x')", "2\n");
	expect(db, "SELECT count(*) FROM dns WHERE rcode = 'NameError'", "1\n");
	expect(db, "SELECT count(*) FROM dns WHERE qr = 'R'", "2\n");
	expect(db, "SELECT count(*) FROM dns WHERE netns_id IN (777, 4026532001)", "3\n");
	expect(db, "SELECT count(*) FROM dns WHERE capture = 'nope'", "0\n");
	sqlite3_close(db);
}

/* ---- synthetic captures: against the decoder, pushdown, modes ---------------------------- */

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

struct refctx {
	sqlite3_stmt *ins;
};

static int ref_rec(void *arg, const struct dnsreel_rec *rec)
{
	struct refctx *r = arg;
	static const enum dnsreel_field_id f[] = {DNSREEL_F_NAME,	 DNSREEL_F_RCODE,
						  DNSREEL_F_K8S_PODNAME, DNSREEL_F_NETNS_ID,
						  DNSREEL_F_QR,		 DNSREEL_F_LATENCY_NS};
	char buf[2048];

	sqlite3_reset(r->ins);
	for (int i = 0; i < 6; i++) {
		struct dnsreel_value v;

		dnsreel_rec__value(rec, f[i], &v, buf, sizeof(buf));
		if (v.null)
			sqlite3_bind_null(r->ins, i + 1);
		else if (v.type != DNSREEL_FT_STR)
			sqlite3_bind_int64(r->ins, i + 1, v.i);
		else
			sqlite3_bind_text(r->ins, i + 1, v.s, (int)v.len, SQLITE_TRANSIENT);
	}
	sqlite3_bind_int(r->ins, 7, (int)rec->capture);
	return sqlite3_step(r->ins) == SQLITE_DONE ? 0 : -1;
}

/* The reference: every event through the view decoder, into a plain table ref. */
static void load_reference(sqlite3 *db, const char *const *caps, size_t n)
{
	struct dnsreel_ctx *ctx = NULL;
	struct dnsreel_capr *r[4] = {0};
	struct refctx rc = {0};
	char err[256];

	sqlite3_exec(db,
		     "CREATE TABLE ref(name, rcode, k8s_podname, netns_id, qr, latency_ns, cap)",
		     NULL, NULL, NULL);
	sqlite3_prepare_v2(db, "INSERT INTO ref VALUES (?, ?, ?, ?, ?, ?, ?)", -1, &rc.ins, NULL);
	dnsreel_ctx__new(&ctx);
	sqlite3_exec(db, "BEGIN", NULL, NULL, NULL);
	for (size_t c = 0; c < n; c++) {
		struct dnsreel_capr_opts o = {.sz = sizeof(o)};
		struct dnsreel_decoder *d = NULL;
		struct dnsreel_decoder_opts dopt = {.sz = sizeof(dopt)};

		CHECKF(dnsreel_capr__open(&r[c], caps[c], &o, err, sizeof(err)) == 0, "%s", err);
		dnsreel_ctx__add_capture(ctx, (uint32_t)c, r[c]);
		dnsreel_decoder__new(&d, ctx, &dopt);
		for (size_t i = 0; i < dnsreel_capr__frame_count(r[c]); i++) {
			struct dnsreel_block b;

			CHECKF(dnsreel_capr__read_frame(r[c], i, &b, err, sizeof(err)) == 0, "%s",
			      err);
			for (size_t j = 0; j < b.n; j++)
				dnsreel_decoder__feed(d, (uint32_t)c,
						      dnsreel_capr__frame(r[c], i)->segment,
						      &b.ev[j], ref_rec, &rc);
			dnsreel_block__release(&b);
		}
		dnsreel_decoder__free(d);
	}
	sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
	sqlite3_finalize(rc.ins);
	for (size_t c = 0; c < n; c++)
		dnsreel_capr__close(r[c]);
	dnsreel_ctx__free(ctx);
}

/* Two SELECTs give the same multiset of rows. */
static void same_rows(sqlite3 *db, const char *a, const char *b)
{
	char sql[4096];

	snprintf(sql, sizeof(sql),
		 "SELECT (SELECT count(*) FROM (%s EXCEPT %s)) + (SELECT count(*) FROM (%s EXCEPT "
		 "%s)), (SELECT count(*) FROM (%s)) - (SELECT count(*) FROM (%s))",
		 a, b, b, a, a, b);
	expect(db, sql, "0|0\n");
}

static void test_against_decoder(const char *const *caps, size_t n)
{
	sqlite3 *db = open_db(caps, n, NULL, NULL);

	if (!db)
		return;
	load_reference(db, caps, n);
	CHECKF(one_int(db, "SELECT count(*) FROM ref") > 1000, "reference rows");
	expect(db, "SELECT (SELECT count(*) FROM dns) = (SELECT count(*) FROM ref)", "1\n");
	same_rows(db, "SELECT name, count(*) FROM dns GROUP BY name",
		  "SELECT name, count(*) FROM ref GROUP BY name");
	same_rows(db, "SELECT rcode, count(*) FROM dns GROUP BY rcode",
		  "SELECT rcode, count(*) FROM ref GROUP BY rcode");
	same_rows(db, "SELECT k8s_podname, count(*) FROM dns GROUP BY k8s_podname",
		  "SELECT k8s_podname, count(*) FROM ref GROUP BY k8s_podname");
	same_rows(db, "SELECT netns_id, qr, count(*) FROM dns GROUP BY netns_id, qr",
		  "SELECT netns_id, qr, count(*) FROM ref GROUP BY netns_id, qr");
	same_rows(db, "SELECT name, rcode, k8s_podname, netns_id, qr, latency_ns FROM dns",
		  "SELECT name, rcode, k8s_podname, netns_id, qr, latency_ns FROM ref");
	sqlite3_close(db);
}

static const char *const probes[] = {
    "name = '%N'",
    "name IN ('%N', 'nothing.example.')",
    "k8s_podname = '%P'",
    "k8s_namespace = '%S' AND qr = 'R'",
    "netns_id = %I",
    "qr = 'R' AND rcode = 'NameError'",
    "rcode_raw = 2",
    "rcode IN ('ServerFailure', 'NameError')",
    "timestamp BETWEEN %T0 AND %T1",
    "timestamp > %T0 AND timestamp <= %T1 AND name = '%N'",
    "time >= '%H0' AND time < '%H1'",
    "segment = 2",
    "segment IN (1, 3) AND qr = 'Q'",
    "name = '%N' AND k8s_podname = '%P' AND timestamp BETWEEN %T0 AND %T1",
    NULL,
};

/* Replaces %N %P %S %I %T0 %T1 %H0 %H1 in a probe. */
static void subst(char *out, size_t len, const char *p, const char *name, const char *pod,
		  const char *ns, const char *netns, const char *t0, const char *t1, const char *h0,
		  const char *h1)
{
	size_t o = 0;

	while (*p && o + 128 < len) {
		const char *rep = NULL;
		size_t skip = 2;

		if (p[0] == '%') {
			switch (p[1]) {
			case 'N':
				rep = name;
				break;
			case 'P':
				rep = pod;
				break;
			case 'S':
				rep = ns;
				break;
			case 'I':
				rep = netns;
				break;
			case 'T':
				rep = p[2] == '0' ? t0 : t1;
				skip = 3;
				break;
			case 'H':
				rep = p[2] == '0' ? h0 : h1;
				skip = 3;
				break;
			}
		}
		if (rep) {
			o += (size_t)snprintf(out + o, len - o, "%s", rep);
			p += skip;
		} else {
			out[o++] = *p++;
		}
	}
	out[o] = 0;
}

static void test_pushdown(const char *const *caps, size_t n)
{
	struct dnsreel_query_opts plain = {.sz = sizeof(plain),
					   .no_pushdown = true,
					   .no_grouping = true,
					   .no_fast_path = true,
					   .no_prefetch = true};
	struct dnsreel_query *qa = NULL, *qb = NULL;
	sqlite3 *a = open_db(caps, n, NULL, &qa), *b = open_db(caps, n, &plain, &qb);
	char name[300], pod[300], ns[100], netns[40], t0[40], t1[40], h0[64], h1[64];
	char *r;

	if (!a || !b)
		return;
	/* A busy name and pod, a window in the middle. */
	r = rows(a, "SELECT name FROM dns WHERE qr = 'Q' GROUP BY name ORDER BY count(*) DESC "
		    "LIMIT 1");
	snprintf(name, sizeof(name), "%.*s", (int)strcspn(r, "\n"), r);
	free(r);
	r = rows(a, "SELECT k8s_podname || '|' || k8s_namespace || '|' || netns_id FROM dns WHERE "
		    "k8s_podname IS NOT NULL GROUP BY 1 ORDER BY count(*) DESC LIMIT 1");
	sscanf(r, "%299[^|]|%99[^|]|%39[^\n]", pod, ns, netns);
	free(r);
	int64_t lo = one_int(a, "SELECT min(timestamp) FROM dns");
	int64_t hi = one_int(a, "SELECT max(timestamp) FROM dns");
	snprintf(t0, sizeof(t0), "%lld", (long long)(lo + (hi - lo) / 3));
	snprintf(t1, sizeof(t1), "%lld", (long long)(lo + (hi - lo) / 2));
	r = rows(a, "SELECT substr(time, 1, 23) FROM dns ORDER BY timestamp LIMIT 1 OFFSET 2000");
	snprintf(h0, sizeof(h0), "%.*s", (int)strcspn(r, "\n"), r);
	free(r);
	r = rows(a, "SELECT substr(time, 1, 23) FROM dns ORDER BY timestamp LIMIT 1 OFFSET 5000");
	snprintf(h1, sizeof(h1), "%.*s", (int)strcspn(r, "\n"), r);
	free(r);

	for (int i = 0; probes[i]; i++) {
		char where[1024], sql[2048];
		struct dnsreel_query_stats sa, sb;
		char *ra, *rb;

		subst(where, sizeof(where), probes[i], name, pod, ns, netns, t0, t1, h0, h1);
		snprintf(sql, sizeof(sql),
			 "SELECT event_id, name, qr, rcode, k8s_podname, timestamp, segment FROM "
			 "dns WHERE %s ORDER BY event_id",
			 where);
		dnsreel_query__reset_stats(qa);
		dnsreel_query__reset_stats(qb);
		ra = rows(a, sql);
		rb = rows(b, sql);
		dnsreel_query__stats(qa, &sa);
		dnsreel_query__stats(qb, &sb);
		CHECKF(!strcmp(ra, rb), "pushdown changes the answer of: %s", where);
		CHECKF(strlen(ra) > 0 || strstr(probes[i], "segment"), "no rows for: %s", where);
		/* Synthetic pods are busy in every frame: their probes may not save frames (the
		 * split capture below checks they do when they can). */
		bool busy = strstr(probes[i], "%P") || strstr(probes[i], "%S") ||
			    strstr(probes[i], "%I") || strstr(probes[i], "rcode");
		CHECKF(busy ? sa.frames_read <= sb.frames_read : sa.frames_read < sb.frames_read,
		      "%s: %llu frames with pushdown, %llu without", where,
		      (unsigned long long)sa.frames_read, (unsigned long long)sb.frames_read);
		CHECKF(sb.frames_read == sb.frames_total, "%s: plain mode reads all", where);
		free(ra);
		free(rb);
	}
	/* Grouping inside the table, the UDP fast path and read-ahead give what plain SQLite
	 * sorting over decoder rows gives. */
	static const char *const groups[] = {
	    "SELECT name, count(*) FROM dns GROUP BY name ORDER BY 2 DESC, 1",
	    "SELECT k8s_podname, qr, count(*), sum(size) FROM dns GROUP BY 1, 2 ORDER BY 1, 2",
	    "SELECT DISTINCT k8s_namespace FROM dns ORDER BY 1",
	    "SELECT count(DISTINCT name) FROM dns",
	    "SELECT rcode, count(*) FROM dns WHERE qr = 'R' GROUP BY rcode ORDER BY 1",
	    "SELECT name, qtype FROM dns GROUP BY name, qtype HAVING count(*) > 3 ORDER BY 1, 2",
	    "SELECT pkt_type, proto, count(*) FROM dns GROUP BY proto, pkt_type ORDER BY 1, 2",
	    "SELECT name, max(latency_ns), count(*) FROM dns GROUP BY name ORDER BY 1",
	    "SELECT capture, count(*) FROM dns GROUP BY capture ORDER BY 1",
	    NULL,
	};
	for (int i = 0; groups[i]; i++) {
		char *ra = rows(a, groups[i]), *rb = rows(b, groups[i]);

		CHECKF(!strcmp(ra, rb), "grouping changes: %s\n%.300s\n---\n%.300s", groups[i], ra,
		      rb);
		CHECKF(strncmp(ra, "ERROR", 5), "%s: %s", groups[i], ra);
		free(ra);
		free(rb);
	}
	/* answers joined back to dns, by lookup on event_id. */
	expect(a,
	       "SELECT (SELECT count(*) FROM answers WHERE section = 'answer') = (SELECT "
	       "sum(num_answers) FROM dns WHERE qr = 'R')",
	       "1\n");
	/* The join probes dns by event_id (one frame each, cached); the reference joins a
	 * materialized copy through SQLite's automatic index. */
	char *ra = rows(a, "SELECT a.event_id, a.rr_index, a.data, d.name, d.qtype FROM answers a "
			   "JOIN dns d USING (event_id) ORDER BY 1, 2");
	char *rb = rows(a, "WITH d AS MATERIALIZED (SELECT event_id, name, qtype FROM dns) "
			   "SELECT a.event_id, a.rr_index, a.data, d.name, d.qtype FROM answers a "
			   "JOIN d USING (event_id) ORDER BY 1, 2");
	CHECKF(!strcmp(ra, rb) && strlen(ra) > 0, "answers join differs");
	free(ra);
	free(rb);
	ra = rows(a, "SELECT count(*) FROM answers");
	rb = rows(b, "SELECT count(*) FROM answers");
	CHECKF(!strcmp(ra, rb), "answers count with and without pushdown: %s vs %s", ra, rb);
	free(ra);
	free(rb);
	sqlite3_close(a);
	sqlite3_close(b);
	dnsreel_query__unref(qa);
	dnsreel_query__unref(qb);
}

/* Pods that live in different time ranges: pod and netns pushdown must skip frames. */
static void test_split(void)
{
	char dir[256];
	const char *caps[1] = {dir};
	struct dnsreel_synth_opts so = {.seed = 3, .start_ts_ns = BOOT0, .qps = 2000, .pods = 4};
	struct dnsreel_capw_opts wo = {.sz = sizeof(wo), .block_events = 200, .no_fsync = true};
	struct dnsreel_synth *sy = NULL;
	struct dnsreel_capw *w = NULL;
	struct dnsreel_netns_ctx na = {.netns = 5001}, nb = {.netns = 5002};
	struct dnsreel_query *q = NULL;
	struct dnsreel_query_stats st;
	sqlite3 *db;
	int err;

	snprintf(dir, sizeof(dir), "%s/split.reel", tmpdir);
	snprintf(na.k8s_namespace, sizeof(na.k8s_namespace), "team-a");
	snprintf(na.k8s_podname, sizeof(na.k8s_podname), "alpha");
	snprintf(nb.k8s_namespace, sizeof(nb.k8s_namespace), "team-b");
	snprintf(nb.k8s_podname, sizeof(nb.k8s_podname), "beta");
	err = dnsreel_synth__new(&sy, &so);
	if (!err)
		err = dnsreel_capw__open(&w, dir, &wo);
	if (!err)
		err = dnsreel_capw__set_meta(w, dnsreel_synth__meta(sy));
	if (!err)
		err = dnsreel_capw__put_netns(w, &na);
	if (!err)
		err = dnsreel_capw__put_netns(w, &nb);
	for (int i = 0; i < 4000 && !err; i++) {
		struct dnsreel_event ev;

		err = dnsreel_synth__next(sy, &ev);
		ev.netns = i < 2000 ? na.netns : nb.netns;
		if (!err)
			err = dnsreel_capw__append(w, &ev);
	}
	CHECKF(err == 0, "split capture: %s", dnsreel_strerror(err));
	dnsreel_capw__close(w);
	dnsreel_synth__free(sy);
	db = open_db(caps, 1, NULL, &q);
	if (!db)
		return;
	static const char *const sqls[] = {
	    "SELECT count(*) FROM dns WHERE k8s_podname = 'alpha'",
	    "SELECT count(*) FROM dns WHERE k8s_namespace = 'team-b'",
	    "SELECT count(*) FROM dns WHERE netns_id = 5001",
	    "SELECT count(*) FROM dns WHERE k8s_podname IN ('beta')",
	};
	for (int i = 0; i < 4; i++) {
		dnsreel_query__reset_stats(q);
		CHECKF(one_int(db, sqls[i]) == 2000, "%s", sqls[i]);
		dnsreel_query__stats(q, &st);
		CHECKF(st.frames_read <= st.frames_total / 2 + 1, "%s: read %llu of %llu frames",
		      sqls[i], (unsigned long long)st.frames_read,
		      (unsigned long long)st.frames_total);
	}
	dnsreel_query__reset_stats(q);
	expect(db, "SELECT count(*) FROM dns WHERE k8s_podname = 'gamma'", "0\n");
	dnsreel_query__stats(q, &st);
	CHECKF(st.frames_read == 0, "unknown pod reads no frame (%llu)",
	      (unsigned long long)st.frames_read);
	sqlite3_close(db);
	dnsreel_query__unref(q);
}

static void test_multi(const char *c1, const char *c2)
{
	const char *one[1] = {c1}, *two[1] = {c2}, *both[2] = {c1, c2};
	sqlite3 *a = open_db(one, 1, NULL, NULL), *b = open_db(two, 1, NULL, NULL),
		*ab = open_db(both, 2, NULL, NULL);
	char want[128];

	if (!a || !b || !ab)
		return;
	int64_t na = one_int(a, "SELECT count(*) FROM dns"),
		nb = one_int(b, "SELECT count(*) FROM dns");
	snprintf(want, sizeof(want), "%lld\n", (long long)(na + nb));
	expect(ab, "SELECT count(*) FROM dns", want);
	expect(ab, "SELECT count(DISTINCT capture) FROM dns", "2\n");
	snprintf(want, sizeof(want), "%lld\n", (long long)na);
	char sql[512];
	snprintf(sql, sizeof(sql), "SELECT count(*) FROM dns WHERE capture = '%s'", c1);
	expect(ab, sql, want);
	expect(ab, "SELECT count(DISTINCT capture) FROM pods", "2\n");
	expect(ab, "SELECT count(*) FROM capture_info WHERE key = 'node'", "2\n");
	expect(ab, "SELECT count(*) = count(DISTINCT event_id) FROM dns", "1\n"); /* keys unique */
	sqlite3_close(a);
	sqlite3_close(b);
	sqlite3_close(ab);
}

/* ---- damaged and empty captures ----------------------------------------------------------- */

/* The last segment cut inside a frame: the intact frames answer, each bad frame is named once
 * over the session (not again by the next statement), and with fail_on_damage (the extension)
 * the statement fails at its end, naming the damage and the repair. */
static void test_damaged(const char *good)
{
	char dir[256], cmd[600], seg[300], *p;
	const char *caps[1] = {dir};
	struct dnsreel_query_opts qo = {.sz = sizeof(qo)};
	struct dnsreel_query *q = NULL;
	sqlite3 *db;
	int64_t total, cut, lost_frames, nseg;

	snprintf(dir, sizeof(dir), "%s/cut.reel", tmpdir);
	snprintf(cmd, sizeof(cmd), "cp -r %s %s", good, dir);
	CHECKF(system(cmd) == 0, "%s", cmd);
	db = open_db(caps, 1, NULL, NULL);
	if (!db)
		return;
	total = one_int(db, "SELECT count(*) FROM dns");
	nseg = one_int(db, "SELECT max(segment) FROM frames");
	/* Cut the last segment in the middle of its second-to-last frame. */
	snprintf(cmd, sizeof(cmd),
		 "SELECT offset + length / 2 FROM frames WHERE segment = %lld ORDER BY offset DESC "
		 "LIMIT 1 OFFSET 1",
		 (long long)nseg);
	cut = one_int(db, cmd);
	sqlite3_close(db);
	snprintf(seg, sizeof(seg), "%s/seg/%06lld.zst", dir, (long long)nseg);
	CHECKF(cut > 0 && truncate(seg, cut) == 0, "truncate %s to %lld", seg, (long long)cut);

	db = open_db(caps, 1, &qo, &q);
	if (!db)
		return;
	snprintf(cmd, sizeof(cmd),
		 "SELECT count(*) FROM frames WHERE segment = %lld AND offset + length > %lld",
		 (long long)nseg, (long long)cut);
	lost_frames = one_int(db, cmd);
	CHECKF(lost_frames == 2, "two frames cut (%lld)", (long long)lost_frames);
	int64_t left = one_int(db, "SELECT count(*) FROM dns");
	CHECKF(left > 0 && left < total, "intact frames answer: %lld of %lld rows", (long long)left,
	       (long long)total);
	CHECKF(dnsreel_query__bad_frames(q) == 2, "bad frames %llu",
	       (unsigned long long)dnsreel_query__bad_frames(q));
	p = dnsreel_query__take_problems(q);
	int lines = 0;
	for (const char *c = p; c && *c; c++)
		lines += *c == '\n';
	CHECKF(lines == 2 && p && strstr(p, seg) && strstr(p, "offset "),
	       "each bad frame named with segment and offset: %s", p ? p : "(none)");
	free(p);
	/* A second statement (prefetched full scan and a GROUP BY) skips them again silently. */
	CHECKF(one_int(db, "SELECT count(*) FROM (SELECT name FROM dns GROUP BY name)") > 0,
	       "group by over a damaged capture");
	CHECKF(one_int(db, "SELECT count(*) FROM dns") == left, "same answer again");
	p = dnsreel_query__take_problems(q);
	CHECKF(p == NULL, "a frame is named once: %s", p ? p : "");
	free(p);
	sqlite3_close(db);
	dnsreel_query__unref(q);

	qo.fail_on_damage = true;
	q = NULL;
	db = open_db(caps, 1, &qo, &q);
	if (!db)
		return;
	p = rows(db, "SELECT count(*) FROM dns");
	CHECKF(strstr(p, "ERROR") && strstr(p, "2 damaged frame(s)") &&
		   strstr(p, "verify --reindex") && !strstr(p, "dnsreel: "),
	       "fail_on_damage: %s", p);
	free(p);
	sqlite3_close(db);
	dnsreel_query__unref(q);
}

/* A capture without events: GROUP BY inside the table over no rows gives no rows. */
static void test_empty(void)
{
	char dir[256];
	const char *caps[1] = {dir};
	struct dnsreel_synth_opts so = {.seed = 4, .start_ts_ns = BOOT0};
	struct dnsreel_capw_opts wo = {.sz = sizeof(wo), .no_fsync = true};
	struct dnsreel_synth *sy = NULL;
	struct dnsreel_capw *w = NULL;
	sqlite3 *db;
	int err;

	snprintf(dir, sizeof(dir), "%s/empty.reel", tmpdir);
	err = dnsreel_synth__new(&sy, &so);
	if (!err)
		err = dnsreel_capw__open(&w, dir, &wo);
	if (!err)
		err = dnsreel_capw__set_meta(w, dnsreel_synth__meta(sy));
	CHECKF(err == 0, "empty capture: %s", dnsreel_strerror(err));
	dnsreel_capw__close(w);
	dnsreel_synth__free(sy);
	db = open_db(caps, 1, NULL, NULL);
	if (!db)
		return;
	expect(db, "SELECT count(*) FROM dns", "0\n");
	expect(db, "SELECT name, count(*) FROM dns GROUP BY name", "");
	expect(db, "SELECT DISTINCT rcode FROM dns", "");
	expect(db, "SELECT qtype, count(*) FROM dns GROUP BY qtype ORDER BY 2 DESC", "");
	expect(db, "SELECT name, count(*) FROM answers GROUP BY name", "");
	sqlite3_close(db);
}

int main(void)
{
	char c1[256], c2[256];
	const char *both[2] = {c1, c2};

	if (!mkdtemp(tmpdir)) {
		perror("mkdtemp");
		return 1;
	}
	test_known();
	snprintf(c1, sizeof(c1), "%s/s1.reel", tmpdir);
	snprintf(c2, sizeof(c2), "%s/s2.reel", tmpdir);
	CHECKF(write_synth(c1, 7, 1000000000000ll, 40000) == 0, "synth 1");
	CHECKF(write_synth(c2, 8, 5000000000000ll, 15000) == 0, "synth 2");
	test_against_decoder(both, 1);
	test_against_decoder(both, 2);
	test_pushdown(both, 1);
	test_pushdown(both, 2);
	test_multi(c1, c2);
	test_split();
	test_damaged(c1);
	test_empty();

	char cmd[300];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
	if (system(cmd) != 0)
		fprintf(stderr, "cleanup of %s failed\n", tmpdir);
	if (check_failures)
		fprintf(stderr, "%d failure(s)\n", check_failures);
	else
		printf("test_query: ok\n");
	return check_failures ? 1 : 0;
}
