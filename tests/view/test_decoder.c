/* Decoder: DNS over TCP reassembly (split, coalesced, retransmitted, overlapping, out of order,
 * lost bytes, memory bound) on real nsd stream bytes, and query/response latency matching. */
#include <stdint.h>
#include <time.h>

#include "check.h"
#include "dnsreel.h"
#include "view.h"

struct got {
	int n;
	char names[64][128];
	uint16_t ids[64];
	uint8_t qr[64];
	int64_t lat[64];
	uint32_t lens[64];
	int errs;
};

static int collect(void *arg, const struct dnsreel_rec *rec)
{
	struct got *g = arg;
	if (g->n < 64) {
		memcpy(g->names[g->n], rec->dns.qname, 127);
		g->names[g->n][127] = 0;
		g->ids[g->n] = rec->dns.id;
		g->qr[g->n] = rec->dns.qr;
		g->lat[g->n] = rec->latency_ns;
		g->lens[g->n] = rec->msg_len;
		if (rec->dns.err)
			g->errs++;
	}
	g->n++;
	return 0;
}

static int stop_first(void *arg, const struct dnsreel_rec *rec)
{
	(void)arg;
	(void)rec;
	return 1;
}

static struct dnsreel_event tcp_ev(int64_t ts, uint32_t seq, const uint8_t *p, size_t n, bool reply)
{
	struct dnsreel_event e;
	memset(&e, 0, sizeof(e));
	e.ts_ns = ts;
	e.netns = 4026531840u;
	e.ifindex = 2;
	e.ip_version = 4;
	e.proto = 6;
	e.tcp_flags = 0x18;
	e.tcp_seq = seq;
	uint8_t c[4] = {10, 0, 0, 5}, s[4] = {10, 0, 0, 53};
	memcpy(reply ? e.dst_addr : e.src_addr, c, 4);
	memcpy(reply ? e.src_addr : e.dst_addr, s, 4);
	e.src_port = reply ? 53 : 40000;
	e.dst_port = reply ? 40000 : 53;
	e.payload = p;
	e.cap_len = e.orig_len = (uint32_t)n;
	return e;
}

static uint8_t *qs, *rs;
static size_t qlen, rlen;

static struct dnsreel_decoder *dec(void)
{
	struct dnsreel_decoder *d = NULL;
	CHECK_INT(dnsreel_decoder__new(&d, NULL, NULL), 0);
	return d;
}

/* Feeds rs cut into pieces [cuts[i], cuts[i+1]) in the given order. */
static void feed_pieces(struct dnsreel_decoder *d, const size_t *cuts, int ncuts, const int *order,
			struct got *g, uint32_t isn)
{
	for (int k = 0; k < ncuts - 1; k++) {
		int i = order ? order[k] : k;
		struct dnsreel_event e = tcp_ev(1000 + k, isn + (uint32_t)cuts[i], rs + cuts[i],
						cuts[i + 1] - cuts[i], true);
		CHECK_INT(dnsreel_decoder__feed(d, 0, 0, &e, collect, g), 0);
	}
}

static void test_tcp(void)
{
	size_t m1 = 2 + (((size_t)rs[0] << 8) | rs[1]); /* end of the first response */
	struct got g;

	/* coalesced: both responses in one segment */
	struct dnsreel_decoder *d = dec();
	memset(&g, 0, sizeof(g));
	size_t c0[] = {0, rlen};
	feed_pieces(d, c0, 2, NULL, &g, 1000);
	CHECK_INT(g.n, 2);
	CHECK_INT(g.errs, 0);
	CHECK_STR(g.names[0], "www.example.test.");
	CHECK_STR(g.names[1], "txt.example.test.");
	dnsreel_decoder__free(d);

	/* split everywhere: one byte per segment */
	d = dec();
	memset(&g, 0, sizeof(g));
	size_t c1[1024];
	int nc = 0;
	for (size_t i = 0; i <= rlen && nc < 1024; i++)
		c1[nc++] = i;
	feed_pieces(d, c1, nc, NULL, &g, 77);
	CHECK_INT(g.n, 2);
	CHECK_INT(g.errs, 0);
	dnsreel_decoder__free(d);

	/* the length prefix split from its message, and a message split mid-way */
	d = dec();
	memset(&g, 0, sizeof(g));
	size_t c2[] = {0, 1, 2, 30, m1 + 1, rlen};
	feed_pieces(d, c2, 6, NULL, &g, 0xfffffff0u); /* sequence numbers wrap inside */
	CHECK_INT(g.n, 2);
	CHECK_INT(g.errs, 0);
	dnsreel_decoder__free(d);

	/* retransmissions and overlaps: each piece sent twice, and an overlapping resend */
	d = dec();
	memset(&g, 0, sizeof(g));
	uint32_t isn = 5000;
	struct {
		size_t a, b;
	} seq3[] = {{0, 20},	   {0, 20},	    {10, 40},	     {20, 40}, {40, m1 + 5},
		    {30, m1 + 10}, {m1 + 10, rlen}, {m1 + 10, rlen}, {0, rlen}};
	for (size_t k = 0; k < sizeof(seq3) / sizeof(seq3[0]); k++) {
		struct dnsreel_event e = tcp_ev(2000 + (int64_t)k, isn + (uint32_t)seq3[k].a,
						rs + seq3[k].a, seq3[k].b - seq3[k].a, true);
		CHECK_INT(dnsreel_decoder__feed(d, 0, 0, &e, collect, &g), 0);
	}
	CHECK_INT(g.n, 2);
	CHECK_INT(g.errs, 0);
	dnsreel_decoder__free(d);

	/* out of order: later pieces first, the hole filled last */
	d = dec();
	memset(&g, 0, sizeof(g));
	size_t c4[] = {0, 10, 50, m1 + 3, rlen};
	int order[] = {0, 2, 3, 1};
	feed_pieces(d, c4, 5, order, &g, 42);
	CHECK_INT(g.n, 2);
	CHECK_INT(g.errs, 0);
	CHECK_STR(g.names[0], "www.example.test.");
	dnsreel_decoder__free(d);

	/* a SYN starts the stream: its sequence number counts one */
	d = dec();
	memset(&g, 0, sizeof(g));
	struct dnsreel_event syn = tcp_ev(10, 999, NULL, 0, true);
	syn.tcp_flags = 0x12;
	CHECK_INT(dnsreel_decoder__feed(d, 0, 0, &syn, collect, &g), 0);
	size_t c5[] = {0, 7, rlen};
	int order5[] = {1, 0};
	feed_pieces(d, c5, 3, order5, &g, 1000);
	CHECK_INT(g.n, 2);
	dnsreel_decoder__free(d);

	/* bytes lost to the snap length: the cut message is dropped, the next one still comes out
	 * once the stream resynchronises at a segment start */
	d = dec();
	memset(&g, 0, sizeof(g));
	struct dnsreel_event e = tcp_ev(1, 100, rs, m1, true);
	e.cap_len = 20;
	CHECK_INT(dnsreel_decoder__feed(d, 0, 0, &e, collect, &g), 0);
	e = tcp_ev(2, 100 + (uint32_t)m1, rs + m1, rlen - m1, true);
	CHECK_INT(dnsreel_decoder__feed(d, 0, 0, &e, collect, &g), 0);
	CHECK_INT(g.n, 1);
	CHECK_STR(g.names[0], "txt.example.test.");
	dnsreel_decoder__free(d);

	/* a stream picked up mid-way: the first bytes are the tail of a message, whose "length"
	 * is no DNS header; framing is found again at the next segment */
	d = dec();
	memset(&g, 0, sizeof(g));
	e = tcp_ev(1, 500, rs + m1 - 6, 6, true);
	CHECK_INT(dnsreel_decoder__feed(d, 0, 0, &e, collect, &g), 0);
	e = tcp_ev(2, 506, rs + m1, rlen - m1, true);
	CHECK_INT(dnsreel_decoder__feed(d, 0, 0, &e, collect, &g), 0);
	CHECK_INT(g.n, 1);
	CHECK_INT(g.errs, 0);
	CHECK_STR(g.names[0], "txt.example.test.");
	dnsreel_decoder__free(d);

	/* picked up mid-way with the segments around the pickup reordered (no SYN seen): the
	 * earlier bytes arriving late still make messages, before anything went out ... */
	d = dec();
	memset(&g, 0, sizeof(g));
	size_t c6[] = {0, 20, m1, m1 + 10, rlen};
	int order6[] = {2, 0, 3, 1};
	feed_pieces(d, c6, 5, order6, &g, 9000);
	CHECK_INT(g.n, 2);
	CHECK_INT(g.errs, 0);
	dnsreel_decoder__free(d);
	/* ... and after: a whole earlier message in one late segment */
	d = dec();
	memset(&g, 0, sizeof(g));
	size_t c7[] = {0, m1, rlen};
	int order7[] = {1, 0};
	feed_pieces(d, c7, 3, order7, &g, 9000);
	CHECK_INT(g.n, 2);
	CHECK_INT(g.errs, 0);
	CHECK_STR(g.names[0], "txt.example.test.");
	CHECK_STR(g.names[1], "www.example.test.");
	/* a real retransmission of it later is still dropped */
	feed_pieces(d, c7, 3, order7, &g, 9000);
	CHECK_INT(g.n, 2);
	dnsreel_decoder__free(d);

	/* ... and an earlier message split over several late segments */
	d = dec();
	memset(&g, 0, sizeof(g));
	size_t c8[] = {0, 20, m1, rlen};
	int order8[] = {2, 0, 1};
	feed_pieces(d, c8, 4, order8, &g, 4000000000u);
	CHECK_INT(g.n, 2);
	CHECK_INT(g.errs, 0);
	CHECK_STR(g.names[1], "www.example.test.");
	dnsreel_decoder__free(d);

	/* a callback's nonzero return stops feeding and comes back */
	d = dec();
	e = tcp_ev(1, 1, rs, rlen, true);
	CHECK_INT(dnsreel_decoder__feed(d, 0, 0, &e, stop_first, NULL), 1);
	dnsreel_decoder__free(d);

	/* two directions and two connections at once are separate streams; RST forgets */
	d = dec();
	memset(&g, 0, sizeof(g));
	struct dnsreel_event a1 = tcp_ev(1, 1, qs, 5, false);
	struct dnsreel_event b1 = tcp_ev(2, 1, rs, 7, true);
	struct dnsreel_event a2 = tcp_ev(3, 6, qs + 5, qlen - 5, false);
	struct dnsreel_event b2 = tcp_ev(4, 8, rs + 7, rlen - 7, true);
	struct dnsreel_event other = tcp_ev(2, 1, rs, 9, true);
	other.dst_port = 40001;
	struct dnsreel_event rst = other;
	rst.tcp_flags = 0x04;
	rst.payload = NULL;
	rst.cap_len = rst.orig_len = 0;
	dnsreel_decoder__feed(d, 0, 0, &a1, collect, &g);
	dnsreel_decoder__feed(d, 0, 0, &other, collect, &g);
	dnsreel_decoder__feed(d, 0, 0, &b1, collect, &g);
	dnsreel_decoder__feed(d, 0, 0, &rst, collect, &g);
	dnsreel_decoder__feed(d, 0, 0, &a2, collect, &g);
	dnsreel_decoder__feed(d, 0, 0, &b2, collect, &g);
	CHECK_INT(g.n, 4);
	CHECK_INT(g.errs, 0);
	/* queries then responses over TCP match up for latency too */
	int with_latency = 0;
	for (int i = 0; i < 4 && i < g.n; i++)
		if (g.qr[i] && g.lat[i] > 0)
			with_latency++;
	CHECK_INT(with_latency, 2);
	dnsreel_decoder__free(d);

	/* memory bound: many streams each holding a partial message stay under max_tcp_bytes */
	struct dnsreel_decoder_opts o = {.sz = sizeof(o), .max_tcp_bytes = 64 * 1024};
	CHECK_INT(dnsreel_decoder__new(&d, NULL, &o), 0);
	memset(&g, 0, sizeof(g));
	for (int i = 0; i < 5000; i++) {
		struct dnsreel_event p = tcp_ev(i, 1, rs, 30, true);
		p.dst_port = (uint16_t)(1024 + i);
		CHECK_INT(dnsreel_decoder__feed(d, 0, 0, &p, collect, &g), 0);
	}
	/* the most recent stream still completes */
	struct dnsreel_event last = tcp_ev(6000, 31, rs + 30, rlen - 30, true);
	last.dst_port = (uint16_t)(1024 + 4999);
	CHECK_INT(dnsreel_decoder__feed(d, 0, 0, &last, collect, &g), 0);
	CHECK_INT(g.n, 2);
	dnsreel_decoder__free(d);
}

static struct dnsreel_event udp_ev(int64_t ts, const uint8_t *p, size_t n, bool reply,
				   uint32_t ifindex)
{
	struct dnsreel_event e = tcp_ev(ts, 0, p, n, reply);
	e.proto = 17;
	e.tcp_flags = 0;
	e.ifindex = ifindex;
	return e;
}

static void test_latency(void)
{
	size_t ql, rl;
	uint8_t *q = check_read_file(DATA_DIR "/a.q.bin", &ql);
	uint8_t *r = check_read_file(DATA_DIR "/a.r.bin", &rl);
	CHECK(q && r);
	if (!q || !r)
		return;
	struct dnsreel_decoder *d = dec();
	struct got g;
	memset(&g, 0, sizeof(g));
	struct dnsreel_event e;
	e = udp_ev(1000000, q, ql, false, 2);
	dnsreel_decoder__feed(d, 0, 0, &e, collect, &g);
	e = udp_ev(1000500, q, ql, false, 3); /* same query seen on another interface */
	dnsreel_decoder__feed(d, 0, 0, &e, collect, &g);
	e = udp_ev(1250000, r, rl, true, 2);
	dnsreel_decoder__feed(d, 0, 0, &e, collect, &g);
	e = udp_ev(1300000, r, rl, true, 3);
	dnsreel_decoder__feed(d, 0, 0, &e, collect, &g);
	e = udp_ev(1400000, r, rl, true, 3); /* a duplicate response: its query is used up */
	dnsreel_decoder__feed(d, 0, 0, &e, collect, &g);
	CHECK_INT(g.n, 5);
	CHECK_INT(g.lat[0], 0);
	CHECK_INT(g.lat[2], 250000);
	CHECK_INT(g.lat[3], 299500);
	CHECK_INT(g.lat[4], 0);

	/* another id, or the endpoints not reversed: no match */
	memset(&g, 0, sizeof(g));
	e = udp_ev(2000000, q, ql, false, 2);
	dnsreel_decoder__feed(d, 0, 0, &e, collect, &g);
	r[0] ^= 1;
	e = udp_ev(2100000, r, rl, true, 2);
	dnsreel_decoder__feed(d, 0, 0, &e, collect, &g);
	r[0] ^= 1;
	e = udp_ev(2200000, r, rl, false, 2);
	dnsreel_decoder__feed(d, 0, 0, &e, collect, &g);
	CHECK_INT(g.lat[1], 0);
	CHECK_INT(g.lat[2], 0);
	/* the real response still matches */
	e = udp_ev(2300000, r, rl, true, 2);
	dnsreel_decoder__feed(d, 0, 0, &e, collect, &g);
	CHECK_INT(g.lat[3], 300000);
	dnsreel_decoder__free(d);

	/* an unanswered query is forgotten after the timeout */
	struct dnsreel_decoder_opts o = {.sz = sizeof(o), .query_timeout_ns = 1000000000};
	CHECK_INT(dnsreel_decoder__new(&d, NULL, &o), 0);
	memset(&g, 0, sizeof(g));
	e = udp_ev(1, q, ql, false, 2);
	dnsreel_decoder__feed(d, 0, 0, &e, collect, &g);
	for (int i = 0; i < 10; i++) { /* time passes */
		e = udp_ev(300000000LL * (i + 1), r, 5, true, 9);
		dnsreel_decoder__feed(d, 0, 0, &e, collect, &g);
	}
	e = udp_ev(3500000000LL, r, rl, true, 2);
	dnsreel_decoder__feed(d, 0, 0, &e, collect, &g);
	CHECK_INT(g.lat[g.n - 1], 0);
	CHECK_INT(g.errs, 10); /* the 5-byte messages say where parsing stopped */
	dnsreel_decoder__free(d);

	/* many queries, never answered: memory stays bounded by expiry */
	CHECK_INT(dnsreel_decoder__new(&d, NULL, &o), 0);
	memset(&g, 0, sizeof(g));
	for (int i = 0; i < 200000; i++) {
		q[0] = (uint8_t)i;
		q[1] = (uint8_t)(i >> 8);
		e = udp_ev(1000000LL * i, q, ql, false, 2);
		e.src_port = (uint16_t)i;
		dnsreel_decoder__feed(d, 0, 0, &e, collect, &g);
	}
	CHECK_INT(g.n, 200000);
	dnsreel_decoder__free(d);
	free(q);
	free(r);
}

static int64_t last_wall;
static const char *last_pod;
static uint32_t last_segment;
static int stop_cb(void *arg, const struct dnsreel_rec *rec)
{
	(void)arg;
	last_wall = rec->wall_ns;
	last_pod = rec->ns ? rec->ns->k8s_podname : NULL;
	last_segment = rec->segment;
	return 42;
}

static void test_rec_fields(void)
{
	struct dnsreel_ctx *c = NULL;
	CHECK_INT(dnsreel_ctx__new(&c), 0);
	struct dnsreel_meta m;
	memset(&m, 0, sizeof(m));
	m.boot_to_wall_ns = 1700000000000000000LL;
	CHECK_INT(dnsreel_ctx__set_meta(c, 1, &m), 0);
	struct dnsreel_netns_ctx ns;
	memset(&ns, 0, sizeof(ns));
	ns.netns = 4026531840u;
	snprintf(ns.k8s_podname, sizeof(ns.k8s_podname), "mypod");
	CHECK_INT(dnsreel_ctx__put_netns(c, 1, &ns), 0);
	struct dnsreel_decoder *d = NULL;
	CHECK_INT(dnsreel_decoder__new(&d, c, NULL), 0);
	size_t ql;
	uint8_t *q = check_read_file(DATA_DIR "/a.q.bin", &ql);
	struct dnsreel_event e = udp_ev(5, q, ql, false, 2);
	/* the callback's nonzero return comes back */
	CHECK_INT(dnsreel_decoder__feed(d, 1, 7, &e, stop_cb, NULL), 42);
	CHECK_INT(last_wall, 1700000000000000005LL);
	CHECK_STR(last_pod, "mypod");
	CHECK_INT(last_segment, 7);
	dnsreel_decoder__free(d);
	dnsreel_ctx__free(c);
	free(q);
}

static int render(void *arg, const struct dnsreel_rec *rec)
{
	/* what a columns printer asks for: trace_dns's default columns */
	static const enum dnsreel_field_id cols[] = {
	    DNSREEL_F_K8S_NODE,	   DNSREEL_F_K8S_NAMESPACE,
	    DNSREEL_F_K8S_PODNAME, DNSREEL_F_K8S_CONTAINERNAME,
	    DNSREEL_F_SRC,	   DNSREEL_F_DST,
	    DNSREEL_F_COMM,	   DNSREEL_F_PID,
	    DNSREEL_F_QR,	   DNSREEL_F_QTYPE,
	    DNSREEL_F_NAME,	   DNSREEL_F_RCODE,
	    DNSREEL_F_ADDRESSES,   DNSREEL_F_TIMESTAMP,
	    DNSREEL_F_LATENCY_NS,  DNSREEL_F_ID};
	size_t *sum = arg;
	char buf[256];
	struct dnsreel_value v;
	for (size_t i = 0; i < sizeof(cols) / sizeof(cols[0]); i++) {
		dnsreel_rec__value(rec, cols[i], &v, buf, sizeof(buf));
		*sum += v.len;
	}
	return 0;
}

/* Not pass/fail: prints decode + latency + field rendering rate for the report. */
static void bench(void)
{
	size_t ql, rl, sum = 0;
	uint8_t *q = check_read_file(DATA_DIR "/a.q.bin", &ql);
	uint8_t *r = check_read_file(DATA_DIR "/a.r.bin", &rl);
	struct dnsreel_ctx *c = NULL;
	dnsreel_ctx__new(&c);
	struct dnsreel_netns_ctx ns;
	memset(&ns, 0, sizeof(ns));
	ns.netns = 4026531840u;
	snprintf(ns.k8s_podname, sizeof(ns.k8s_podname), "mypod");
	snprintf(ns.k8s_namespace, sizeof(ns.k8s_namespace), "demo");
	snprintf(ns.ips, sizeof(ns.ips), "10.0.0.5");
	dnsreel_ctx__put_netns(c, 0, &ns);
	struct dnsreel_decoder *d = NULL;
	dnsreel_decoder__new(&d, c, NULL);
	const unsigned long n = 1000000;
	struct timespec a, b;
	clock_gettime(CLOCK_MONOTONIC, &a);
	for (unsigned long i = 0; i < n; i++) {
		bool reply = i & 1;
		uint8_t *m = reply ? r : q;
		m[0] = (uint8_t)(i >> 1);
		m[1] = (uint8_t)(i >> 9);
		struct dnsreel_event e = udp_ev((int64_t)i * 1000, m, reply ? rl : ql, reply, 2);
		e.src_port = reply ? 53 : (uint16_t)(1024 + (i >> 1) % 30000);
		e.dst_port = reply ? (uint16_t)(1024 + (i >> 1) % 30000) : 53;
		dnsreel_decoder__feed(d, 0, 0, &e, render, &sum);
	}
	clock_gettime(CLOCK_MONOTONIC, &b);
	double s = (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9;
	printf("decode+latency+16 fields: %.2f M events/s (%zu)\n", n / s / 1e6, sum % 10);
	dnsreel_decoder__free(d);
	dnsreel_ctx__free(c);
	free(q);
	free(r);
}

int main(void)
{
	qs = check_read_file(DATA_DIR "/tcp_q.stream", &qlen);
	rs = check_read_file(DATA_DIR "/tcp_r.stream", &rlen);
	CHECK(qs && rs && rlen > 100);
	if (!qs || !rs)
		return check_done("test_decoder");
	test_tcp();
	test_latency();
	test_rec_fields();
	bench();
	free(qs);
	free(rs);
	return check_done("test_decoder");
}
