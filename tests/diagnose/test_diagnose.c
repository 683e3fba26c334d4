/* The detectors on hand-built flows and messages, one signature each, with the exact finding
 * ids, subjects, counts and numbers they must give; the near misses that must give nothing; the
 * bounded tables under many keys; and the JSON form. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "diagnose.h"
#include "dnsreel.h"

#define MS 1000000LL
#define S  1000000000LL
#define T0 (1764000000LL * S) /* 2025-11-24T16:00:00Z: a minute boundary */

/* A flow under construction: its storage and the public view of it. */
struct fl {
	struct dnsreel_flow f;
	struct dnsreel_event q, fq, uq[4];
	struct dnsreel_flow_hop hops[3];
	struct dnsreel_flow_upstream up[4];
	char name[128];
};

static uint64_t seq;

/* A client flow from netns (port, id) answered rcode after latency (-1: unanswered). */
static struct fl *mk(uint64_t netns, uint16_t port, uint16_t id, const char *name, uint16_t qtype,
		     int64_t wall, int64_t latency, uint16_t rcode)
{
	struct fl *x = calloc(1, sizeof(*x));
	seq++;
	snprintf(x->f.flow_id, sizeof(x->f.flow_id), "%016llx", (unsigned long long)seq);
	memcpy(x->f.lookup_id, x->f.flow_id, 17);
	snprintf(x->name, sizeof(x->name), "%s", name);
	x->f.name = x->name;
	x->f.qtype = qtype;
	x->f.qclass = 1;
	x->f.wall_ns = wall;
	x->f.client_role = DNSREEL_ROLE_CLIENT;
	x->f.client_netns = netns;
	x->q = (struct dnsreel_event){.netns = netns, .ip_version = 4, .proto = 17,
				      .src_port = port, .dst_port = 53,
				      .src_addr = {10, 244, 0, 10}, .dst_addr = {10, 96, 0, 10}};
	x->f.query = &x->q;
	x->f.answered = latency >= 0;
	x->f.latency_ns = latency;
	x->f.rcode = x->f.answered ? rcode : 0;
	x->f.rcode_origin = -1;
	x->hops[0] = (struct dnsreel_flow_hop){.role = DNSREEL_ROLE_CLIENT, .netns = netns,
					       .query = true, .id = id, .wall_ns = wall,
					       .latency_ns = latency, .event = &x->q};
	x->fq = (struct dnsreel_event){.netns = 7, .ip_version = 4, .proto = 17,
				       .src_port = port, .dst_port = 53,
				       .src_addr = {10, 244, 0, 10}, .dst_addr = {10, 244, 0, 2}};
	x->hops[1] = (struct dnsreel_flow_hop){.role = DNSREEL_ROLE_FORWARDER, .netns = 7,
					       .query = true, .id = id, .wall_ns = wall + MS / 10,
					       .latency_ns = latency > 0 ? latency / 2 : -1,
					       .event = &x->fq};
	x->f.hops = x->hops;
	x->f.nhops = 2;
	x->f.slowest_hop = -1;
	x->f.matched = true;
	return x;
}

/* An upstream try of x to 10.254.0.2:53. */
static void up(struct fl *x, uint16_t id, int64_t wall, int64_t latency, uint16_t rcode)
{
	size_t i = x->f.nupstream++;
	x->uq[i] = (struct dnsreel_event){.netns = 7, .ip_version = 4, .proto = 17,
					  .src_port = 40000, .dst_port = 53,
					  .src_addr = {10, 244, 0, 2}, .dst_addr = {10, 254, 0, 2}};
	x->up[i] = (struct dnsreel_flow_upstream){.id = id, .netns = 7, .wall_ns = wall,
						  .answered = latency >= 0, .rcode = rcode,
						  .latency_ns = latency, .query = &x->uq[i]};
	x->f.upstream = x->up;
}

static void feed(struct dnsreel_diag *d, struct fl *x)
{
	CHECK_INT(dnsreel_diag__flow(d, &x->f), 0);
	free(x);
}

static struct dnsreel_diag *diag_new(void)
{
	static const char *caps[] = {"t.reel"};
	struct dnsreel_diag_opts o = {.sz = sizeof(o), .captures = caps, .ncaptures = 1};
	struct dnsreel_diag *d = NULL;
	CHECK_INT(dnsreel_diag__new(&d, NULL, &o), 0);
	return d;
}

static const struct dnsreel_finding *get(const struct dnsreel_diag *d, const char *id,
					 const char *subject)
{
	for (size_t i = 0; i < dnsreel_diag__finding_count(d); i++) {
		const struct dnsreel_finding *f = dnsreel_diag__finding_at(d, i);
		if (!strcmp(f->id, id) && (!subject || !strcmp(f->subject, subject)))
			return f;
	}
	return NULL;
}

static double num(const struct dnsreel_finding *f, const char *key)
{
	for (size_t i = 0; f && i < f->nnums; i++)
		if (!strcmp(f->nums[i].key, key))
			return f->nums[i].value;
	return -1;
}

/* A: answered in 1 ms; AAAA of the same socket 20 us later: retried, answered after 5 s. */
static void test_race(void)
{
	struct dnsreel_diag *d = diag_new();
	for (int i = 0; i < 3; i++) {
		int64_t t = T0 + i * 10 * S;
		feed(d, mk(100, (uint16_t)(50000 + i), 0x10, "www.example.test.", 1, t, MS, 0));
		struct fl *x =
		    mk(100, (uint16_t)(50000 + i), 0x11, "www.example.test.", 28, t + 20000, 5 * S, 0);
		x->f.retries = 1;
		feed(d, x);
	}
	/* near misses: another socket; the same socket but 50 ms apart; both fast */
	feed(d, mk(100, 50100, 0x20, "a.test.", 1, T0 + 40 * S, MS, 0));
	struct fl *x = mk(100, 50101, 0x21, "a.test.", 28, T0 + 40 * S + 1000, 5 * S, 0);
	x->f.retries = 1;
	feed(d, x);
	feed(d, mk(100, 50200, 0x30, "b.test.", 1, T0 + 50 * S, MS, 0));
	x = mk(100, 50200, 0x31, "b.test.", 28, T0 + 50 * S + 50 * MS, 5 * S, 0);
	x->f.retries = 1;
	feed(d, x);
	feed(d, mk(100, 50300, 0x40, "c.test.", 1, T0 + 60 * S, MS, 0));
	feed(d, mk(100, 50300, 0x41, "c.test.", 28, T0 + 60 * S + 1000, 2 * MS, 0));
	CHECK_INT(dnsreel_diag__finish(d), 0);
	const struct dnsreel_finding *f = get(d, DNSREEL_FIND_CONNTRACK_RACE, "");
	CHECK(f != NULL);
	if (f) {
		CHECK_INT(f->count, 3);
		CHECK_STR(f->severity_name, "error");
		CHECK_INT(f->nflow_ids, 3);
		CHECK_STR(f->flow_ids[0], "0000000000000002"); /* the late one */
		CHECK_STR(f->replay, "dnsreel replay t.reel --flows --flow-id 0000000000000002");
		CHECK_INT(num(f, "retry_delay_ms_mean"), 5000);
		CHECK_INT(num(f, "never_answered"), 0);
		CHECK_INT(f->first_wall_ns, T0 + 20000);
		CHECK_STR(f->pods[0], "netns:100");
	}
	CHECK_INT(dnsreel_diag__finding_count(d), 1);
	dnsreel_diag__free(d);
}

/* ndots:5: svc.cluster.local, cluster.local, then the name itself. */
static void test_search(void)
{
	struct dnsreel_diag *d = diag_new();
	static const char *const walk[] = {"api.example.com.default.svc.cluster.local.",
					   "api.example.com.svc.cluster.local.",
					   "api.example.com.cluster.local.", "api.example.com."};
	char lookup[17] = "", first[17] = "";
	for (int l = 0; l < 2; l++)
		for (int i = 0; i < 4; i++) {
			int64_t t = T0 + l * 20 * S + i * 2 * MS;
			struct fl *x = mk(200, 40000, (uint16_t)(l * 8 + i), walk[i], 1, t, MS,
					  i < 3 ? 3 : 0);
			if (i == 0)
				memcpy(lookup, x->f.flow_id, 17);
			if (!first[0])
				memcpy(first, lookup, 17);
			memcpy(x->f.lookup_id, lookup, 17);
			feed(d, x);
		}
	/* a lookup answered at once, and one that is NXDOMAIN all the way (no answer: no walk) */
	feed(d, mk(200, 40001, 99, "kubernetes.default.svc.cluster.local.", 1, T0 + 50 * S, MS, 0));
	feed(d, mk(201, 40002, 98, "nosuch.", 1, T0 + 50 * S, MS, 3));
	CHECK_INT(dnsreel_diag__finish(d), 0);
	const struct dnsreel_finding *f = get(d, DNSREEL_FIND_SEARCH_PATH, "netns:200");
	CHECK(f != NULL);
	CHECK(get(d, DNSREEL_FIND_SEARCH_PATH, "netns:201") == NULL);
	if (f) {
		CHECK_INT(f->count, 2);
		CHECK_INT(num(f, "walk_lookups"), 2);
		CHECK_INT(num(f, "lookups"), 3);
		CHECK_INT(num(f, "queries"), 9);
		CHECK_INT(num(f, "queries_per_lookup"), 3);
		CHECK_INT(num(f, "nxdomain_before_answer"), 6);
		CHECK_INT(num(f, "nxdomain_per_walk"), 3);
		CHECK_INT(num(f, "extra_latency_ms_mean"), 6);
		char want[64];
		snprintf(want, sizeof(want), "--flows --lookup-id %s", first);
		CHECK(strstr(f->replay, want) != NULL);
	}
	dnsreel_diag__free(d);
}

static void test_unanswered(void)
{
	struct dnsreel_diag *d = diag_new();
	struct fl *x = mk(300, 1, 1, "a.test.", 1, T0, -1, 0);
	x->f.has_lost = true;
	x->f.lost.role = DNSREEL_ROLE_NODE;
	feed(d, x);
	x = mk(300, 2, 2, "a.test.", 1, T0 + S, -1, 0);
	x->f.has_lost = true;
	x->f.lost.role = DNSREEL_ROLE_NODE;
	x->f.retries = 2;
	feed(d, x);
	x = mk(300, 3, 3, "b.test.", 1, T0 + 2 * S, -1, 0);
	x->f.has_lost = true;
	x->f.lost.role = DNSREEL_ROLE_FORWARDER;
	up(x, 77, T0 + 2 * S + MS, -1, 0);
	feed(d, x);
	x = mk(300, 4, 4, "c.test.", 1, T0 + 3 * S, -1, 0);
	x->f.has_lost = true;
	x->f.lost.role = DNSREEL_ROLE_FORWARDER;
	feed(d, x);
	x = mk(300, 5, 5, "d.test.", 1, T0 + 4 * S, -1, 0);
	x->f.has_lost = true;
	x->f.lost.response = true;
	x->f.lost.role = DNSREEL_ROLE_NODE;
	feed(d, x);
	CHECK_INT(dnsreel_diag__counter(d, 0, "lost.ringbuf", 4), 0);
	CHECK_INT(dnsreel_diag__counter(d, 0, "events.malformed", 9), 0);
	CHECK_INT(dnsreel_diag__finish(d), 0);
	const struct dnsreel_finding *f = get(d, DNSREEL_FIND_UNANSWERED, "node");
	CHECK(f && f->count == 2 && num(f, "retries") == 2 && num(f, "recorder_lost_events") == 4);
	f = get(d, DNSREEL_FIND_UNANSWERED, "upstream");
	CHECK(f && f->count == 1 && f->nservers == 1 && !strcmp(f->servers[0], "10.254.0.2:53"));
	f = get(d, DNSREEL_FIND_UNANSWERED, "forwarder");
	CHECK(f && f->count == 1);
	f = get(d, DNSREEL_FIND_UNANSWERED, "return");
	CHECK(f && f->count == 1);
	f = get(d, DNSREEL_FIND_UPSTREAM_TIMEOUT, "10.254.0.2:53");
	CHECK(f && f->count == 1);
	f = get(d, DNSREEL_FIND_RECORDER_LOSS, "t.reel");
	CHECK(f && f->count == 4 && num(f, "lost.ringbuf") == 4 && num(f, "events_lost") == 4);
	CHECK_INT(dnsreel_diag__finding_count(d), 6);
	/* most severe first; equal severity by count */
	CHECK_STR(dnsreel_diag__finding_at(d, 0)->id, DNSREEL_FIND_UNANSWERED);
	CHECK_STR(dnsreel_diag__finding_at(d, 0)->subject, "node");
	CHECK_STR(dnsreel_diag__finding_at(d, 5)->id, DNSREEL_FIND_RECORDER_LOSS);
	dnsreel_diag__free(d);
}

/* SERVFAIL after three tries (one try serving two clients counts once), REFUSED, slow. */
static void test_upstream(void)
{
	struct dnsreel_diag *d = diag_new();
	for (int c = 0; c < 2; c++) {
		struct fl *x = mk((uint64_t)(400 + c), 1, 1, "x.broken.test.", 1, T0 + c * 100, 30 * MS, 2);
		x->f.rcode_origin = DNSREEL_ROLE_FORWARDER;
		for (int i = 0; i < 3; i++)
			up(x, (uint16_t)(500 + i), T0 + i * 5 * MS, MS, 2);
		feed(d, x);
	}
	struct fl *x = mk(402, 1, 1, "r.test.", 1, T0 + S, 30 * MS, 2);
	up(x, 600, T0 + S + MS, MS, 5);
	up(x, 601, T0 + S + 2 * MS, MS, 5);
	feed(d, x);
	for (int i = 0; i < 30; i++) {
		x = mk(403, 1, (uint16_t)i, "slow.test.", 1, T0 + 2 * S + i * S, 400 * MS, 0);
		up(x, (uint16_t)(700 + i), T0 + 2 * S + i * S + MS, 300 * MS + i * MS, 0);
		feed(d, x);
	}
	CHECK_INT(dnsreel_diag__finish(d), 0);
	const struct dnsreel_finding *f = get(d, DNSREEL_FIND_UPSTREAM_SERVFAIL, "10.254.0.2:53");
	CHECK(f != NULL);
	if (f) {
		CHECK_INT(f->count, 3);
		CHECK_INT(num(f, "client_flows_failed"), 3);
		CHECK_INT(num(f, "tries"), 35);
		CHECK_INT(f->npods, 2);
	}
	f = get(d, DNSREEL_FIND_UPSTREAM_REFUSED, "10.254.0.2:53");
	CHECK(f && f->count == 2);
	f = get(d, DNSREEL_FIND_UPSTREAM_SLOW, "10.254.0.2:53");
	CHECK(f && f->count == 30 && num(f, "latency_ms_max") == 329);
	CHECK_INT(dnsreel_diag__finding_count(d), 3);
	dnsreel_diag__free(d);

	/* fewer than 20 answers, or fast: not slow */
	d = diag_new();
	for (int i = 0; i < 10; i++) {
		x = mk(403, 1, (uint16_t)i, "slow.test.", 1, T0 + i * S, 400 * MS, 0);
		up(x, (uint16_t)(700 + i), T0 + i * S + MS, 300 * MS, 0);
		feed(d, x);
	}
	CHECK_INT(dnsreel_diag__finish(d), 0);
	CHECK_INT(dnsreel_diag__finding_count(d), 0);
	dnsreel_diag__free(d);
}

static void test_forwarder_refused(void)
{
	struct dnsreel_diag *d = diag_new();
	for (int i = 0; i < 10; i++) {
		struct fl *x = mk(500, (uint16_t)i, (uint16_t)i, "n.test.", 1, T0 + i * MS, MS,
				  i < 4 ? 5 : 0);
		if (i < 4)
			x->f.rcode_origin = DNSREEL_ROLE_FORWARDER;
		feed(d, x);
	}
	/* REFUSED passed on from upstream is not the forwarder's */
	struct fl *x = mk(500, 99, 99, "u.test.", 1, T0 + S, MS, 5);
	x->f.rcode_origin = DNSREEL_ROLE_UPSTREAM;
	up(x, 900, T0 + S, MS / 2, 5);
	feed(d, x);
	/* a quiet second: 50 ms inside the forwarder */
	feed(d, mk(500, 98, 98, "q.test.", 1, T0 + 2 * S, 100 * MS, 0));
	CHECK_INT(dnsreel_diag__finish(d), 0);
	const struct dnsreel_finding *f = get(d, DNSREEL_FIND_FORWARDER_REFUSED, "netns:7");
	CHECK(f != NULL);
	if (f) {
		CHECK_INT(f->count, 4);
		CHECK_INT(num(f, "flows"), 12);
		CHECK_INT(num(f, "peak_refused_per_second"), 4);
		CHECK_INT(num(f, "peak_queries_per_second"), 10);
		CHECK(num(f, "latency_ms_p90_refusing") == 0.5);
		CHECK(num(f, "latency_ms_p90_other") == 50);
		CHECK_STR(f->servers[0], "10.244.0.2:53");
	}
	CHECK(get(d, DNSREEL_FIND_UPSTREAM_REFUSED, NULL) != NULL);
	CHECK_INT(dnsreel_diag__finding_count(d), 2);
	dnsreel_diag__free(d);
}

/* A DNS message with one question and an optional OPT record. */
static size_t msg(uint8_t *b, uint16_t id, bool qr, bool tc, const char *name, uint16_t qtype,
		  int edns)
{
	size_t n = 0;
	b[n++] = (uint8_t)(id >> 8), b[n++] = (uint8_t)id;
	b[n++] = (uint8_t)((qr ? 0x80 : 0) | (tc ? 0x02 : 0) | 1);
	b[n++] = 0;
	b[n++] = 0, b[n++] = 1, b[n++] = 0, b[n++] = 0, b[n++] = 0, b[n++] = 0;
	b[n++] = 0, b[n++] = edns >= 0 ? 1 : 0;
	const char *p = name;
	while (*p) {
		const char *dot = strchr(p, '.');
		size_t l = (size_t)(dot - p);
		b[n++] = (uint8_t)l;
		memcpy(b + n, p, l);
		n += l;
		p = dot + 1;
	}
	b[n++] = 0;
	b[n++] = (uint8_t)(qtype >> 8), b[n++] = (uint8_t)qtype, b[n++] = 0, b[n++] = 1;
	if (edns >= 0) {
		b[n++] = 0, b[n++] = 0, b[n++] = 41;
		b[n++] = (uint8_t)(edns >> 8), b[n++] = (uint8_t)edns;
		for (int i = 0; i < 6; i++)
			b[n++] = 0;
	}
	return n;
}

static void rec(struct dnsreel_diag *d, uint8_t proto, uint16_t id, bool qr, bool tc,
		const char *name, int edns, uint32_t pad)
{
	uint8_t b[512];
	size_t n = msg(b, id, qr, tc, name, 16, edns);
	struct dnsreel_event ev = {.proto = proto, .ip_version = 4};
	struct dnsreel_rec r = {.ev = &ev, .msg = b, .msg_len = (uint32_t)(n + pad)};
	CHECK_INT(dnsreel_dns_parse(b, n, &r.dns), 0);
	CHECK_INT(dnsreel_diag__rec(d, &r), 0);
}

static void test_truncation(void)
{
	struct dnsreel_diag *d = diag_new();
	/* the client's query (EDNS 1232) at two hops, the truncated answer at three, the TCP
	 * retry's answer */
	rec(d, 17, 7, false, false, "big.example.test.", 1232, 0);
	rec(d, 17, 7, false, false, "big.example.test.", 1232, 0);
	for (int i = 0; i < 3; i++)
		rec(d, 17, 7, true, true, "big.example.test.", 1232, 0);
	rec(d, 6, 8, true, false, "big.example.test.", -1, 2300);
	struct fl *x = mk(600, 1, 7, "big.example.test.", 16, T0, MS, 0);
	x->f.tc = true;
	feed(d, x);
	x = mk(600, 2, 8, "big.example.test.", 16, T0 + 2 * MS, 3 * MS, 0);
	x->q.proto = 6;
	feed(d, x);
	/* a second truncated answer with no retry, to a query without EDNS */
	rec(d, 17, 9, false, false, "big2.example.test.", -1, 0);
	rec(d, 17, 9, true, true, "big2.example.test.", -1, 0);
	x = mk(601, 1, 9, "big2.example.test.", 16, T0 + S, MS, 0);
	x->f.tc = true;
	feed(d, x);
	/* answers over the buffer offered, seen at two hops each: 1500 bytes to EDNS 1232, 600
	 * to no EDNS; 1000 to 1232 fits */
	rec(d, 17, 20, false, false, "fat.example.test.", 1232, 0);
	rec(d, 17, 20, true, false, "fat.example.test.", 1232, 1500 - 45);
	rec(d, 17, 20, true, false, "fat.example.test.", 1232, 1500 - 45);
	rec(d, 17, 21, false, false, "fat2.example.test.", -1, 0);
	rec(d, 17, 21, true, false, "fat2.example.test.", -1, 600 - 35);
	rec(d, 17, 21, true, false, "fat2.example.test.", -1, 600 - 35);
	rec(d, 17, 22, false, false, "ok.example.test.", 1232, 0);
	rec(d, 17, 22, true, false, "ok.example.test.", 1232, 1000 - 44);
	CHECK_INT(dnsreel_diag__finish(d), 0);
	const struct dnsreel_finding *e = get(d, DNSREEL_FIND_EDNS_MISMATCH, "");
	CHECK(e && e->count == 2 && num(e, "size_max") == 1500 && num(e, "edns_buffer_min") == 512);
	const struct dnsreel_finding *f = get(d, DNSREEL_FIND_TRUNCATION, "");
	CHECK(f != NULL);
	if (f) {
		CHECK_INT(f->count, 2);
		CHECK_INT(num(f, "tcp_retries"), 1);
		CHECK_INT(num(f, "truncated_messages"), 2);
		CHECK_INT(num(f, "tcp_size_max"), 2300 + 34);
		CHECK_INT(num(f, "edns_buffer_min"), 512);
		CHECK_INT(num(f, "edns_buffer_max"), 1232);
		CHECK_INT(num(f, "queries_without_edns"), 1);
		CHECK_INT(f->npods, 2);
	}
	dnsreel_diag__free(d);
}

/* 3 quiet minutes of 5 NXDOMAIN, then 300 in one minute: a storm; a hot name at 1000/min. */
static void test_storms(void)
{
	struct dnsreel_diag *d = diag_new();
	uint16_t id = 0;
	for (int m = 0; m < 3; m++)
		for (int i = 0; i < 5; i++)
			feed(d, mk(700, 1, id++, "nx.test.", 1, T0 + m * 60 * S + i * S, MS, 3));
	for (int i = 0; i < 300; i++)
		feed(d, mk(700, 1, id++, "nx.test.", 1, T0 + 3 * 60 * S + i * 100 * MS, MS, 3));
	/* a name's first minute is not judged: hot.test. asked 10 times a minute first */
	for (int i = 0; i < 10; i++)
		feed(d, mk(701, 1, id++, "hot.test.", 1, T0 + 3 * 60 * S + i * S, MS, 0));
	for (int i = 0; i < 1000; i++)
		feed(d, mk(701, 1, id++, "hot.test.", 1, T0 + 4 * 60 * S + i * 50 * MS, MS, 0));
	for (int i = 0; i < 1000; i++)
		feed(d, mk(702, 1, id++, "new.test.", 1, T0 + 5 * 60 * S + i * 50 * MS, MS, 0));
	/* a pod whose first minute is its storm: judged against the other pod-minutes (5, 5, 5,
	 * 300 and 704's 150: mean 93); 704's first minute, under 10x theirs, is not */
	for (int i = 0; i < 1000; i++)
		feed(d, mk(703, 1, id++, "nx2.test.", 1, T0 + 6 * 60 * S + i * 50 * MS, MS, 3));
	for (int i = 0; i < 150; i++)
		feed(d, mk(704, 1, id++, "nx3.test.", 1, T0 + 6 * 60 * S + i * 50 * MS, MS, 3));
	CHECK_INT(dnsreel_diag__finish(d), 0);
	const struct dnsreel_finding *f = get(d, DNSREEL_FIND_NXDOMAIN_STORM, "netns:700");
	CHECK(f != NULL);
	if (f) {
		CHECK_INT(f->count, 300);
		CHECK_INT(num(f, "minutes"), 1);
		CHECK_INT(num(f, "peak_per_minute"), 300);
		CHECK_INT(num(f, "usual_per_minute"), 5);
		CHECK_INT(f->first_wall_ns, T0 + 3 * 60 * S);
		CHECK_INT(f->nflow_ids, 5);
	}
	f = get(d, DNSREEL_FIND_HOT_NAME, "hot.test.");
	CHECK(f && f->count == 1000 && num(f, "peak_per_minute") == 1000);
	/* nx.test. at 300/min is not hot (under 600); new.test.'s 1000 are its first minute */
	CHECK(get(d, DNSREEL_FIND_HOT_NAME, "nx.test.") == NULL);
	f = get(d, DNSREEL_FIND_NXDOMAIN_STORM, "netns:703");
	CHECK(f && f->count == 1000 && f->first_wall_ns == T0 + 6 * 60 * S && f->nflow_ids == 5);
	CHECK_INT(num(f, "usual_per_minute"), 93);
	CHECK(get(d, DNSREEL_FIND_NXDOMAIN_STORM, "netns:704") == NULL);
	CHECK_INT(dnsreel_diag__finding_count(d), 3);
	dnsreel_diag__free(d);
}

/* A clean stream: A+AAAA answered fast, upstream fast: nothing. Then many keys: bounded. */
static void test_clean_and_bounded(void)
{
	struct dnsreel_diag *d = diag_new();
	for (int i = 0; i < 20000; i++) {
		uint64_t ns = 1000 + (uint64_t)(i % 5000);
		char name[64];
		snprintf(name, sizeof(name), "n%d.example.test.", i);
		struct fl *x = mk(ns, (uint16_t)(1024 + i % 60000), (uint16_t)i, name, 1,
				  T0 + i * MS, 2 * MS, 0);
		up(x, (uint16_t)i, T0 + i * MS + MS / 2, MS, 0);
		feed(d, x);
		feed(d, mk(ns, (uint16_t)(1024 + i % 60000), (uint16_t)(i + 1), name, 28,
			   T0 + i * MS + 10000, 2 * MS, 0));
	}
	CHECK_INT(dnsreel_diag__finish(d), 0);
	CHECK_INT(dnsreel_diag__finding_count(d), 0);
	struct dnsreel_diag_stats st;
	dnsreel_diag__stats(d, &st);
	CHECK_INT(st.client_flows, 40000);
	CHECK_INT(st.lookups, 40000);
	CHECK(st.dropped_keys > 0); /* 5000 pods do not fit: counted, not grown */
	char *buf = NULL;
	size_t len = 0;
	FILE *o = open_memstream(&buf, &len);
	CHECK_INT(dnsreel_diag__json(d, o), 0);
	fclose(o);
	CHECK(strstr(buf, "\"findings\":[]}") != NULL);
	CHECK(strstr(buf, "{\"schema\":1,\"captures\":[\"t.reel\"]") == buf);
	free(buf);
	dnsreel_diag__free(d);
}

static void test_json(void)
{
	struct dnsreel_diag *d = diag_new();
	struct fl *x = mk(300, 1, 1, "a\"q.test.", 1, T0, -1, 0);
	x->f.has_lost = true;
	x->f.lost.role = DNSREEL_ROLE_CLIENT;
	feed(d, x);
	CHECK_INT(dnsreel_diag__finish(d), 0);
	CHECK(dnsreel_diag__flow(d, &(struct dnsreel_flow){0}) == DNSREEL_E_ARG);
	char *buf = NULL;
	size_t len = 0;
	FILE *o = open_memstream(&buf, &len);
	CHECK_INT(dnsreel_diag__json(d, o), 0);
	fclose(o);
	const char *want =
	    "{\"schema\":1,\"captures\":[\"t.reel\"],\"first\":\"2025-11-24T16:00:00.000000000Z\","
	    "\"last\":\"2025-11-24T16:00:00.000000000Z\",\"flows\":1,\"client_flows\":1,"
	    "\"lookups\":1,\"unanswered\":1,\"findings\":[{\"id\":\"unanswered\",\"subject\":"
	    "\"node\",\"severity\":\"error\",\"count\":1,\"title\":\"1 query never answered, "
	    "last seen on the node, before the forwarder\",\"first\":"
	    "\"2025-11-24T16:00:00.000000000Z\",\"last\":\"2025-11-24T16:00:00.000000000Z\","
	    "\"pods\":[\"netns:300\"],\"netns\":[\"300\",\"0\"],\"servers\":[],\"flow_ids\":["
	    "\"%016llx\"],\"replay\":\"dnsreel replay t.reel --flows --flow-id %016llx\",";
	char w[2048];
	snprintf(w, sizeof(w), want, (unsigned long long)seq, (unsigned long long)seq);
	CHECKF(!strncmp(buf, w, strlen(w)), "got %s", buf);
	CHECK(strstr(buf, "\"numbers\":{\"retries\":0,\"flows\":1,\"recorder_lost_events\":0}}]}\n"));
	free(buf);
	dnsreel_diag__free(d);
}

int main(void)
{
	test_race();
	test_search();
	test_unanswered();
	test_upstream();
	test_forwarder_refused();
	test_truncation();
	test_storms();
	test_clean_and_bounded();
	test_json();
	return check_done("diagnose");
}
