/* Flow reconstruction on hand-built event streams, one per definition of the contract: the DNAT
 * hop, coalescing, several upstream tries and the used one, retransmissions, a forwarder's own
 * query, lookup grouping (search walk, A + AAAA), the same id and port from two netns, lost
 * queries and responses with the exact place, 0x20 case, flow filters, and the window bound. */
#include <arpa/inet.h>
#include <stdint.h>
#include <string.h>

#include "check.h"
#include "dnsreel.h"
#include "flows.h"

#define MS 1000000LL
#define S  1000000000LL

/* What a test keeps of an emitted flow. */
struct hop_copy {
	int role;
	uint64_t netns;
	uint32_t ifindex;
	bool query;
	uint16_t id;
	int64_t latency;
};
struct up_copy {
	uint16_t id;
	bool answered, used;
	uint16_t rcode;
	int64_t latency;
};
struct flow_copy {
	char flow_id[17], lookup_id[17];
	char name[128];
	uint16_t qtype;
	int client_role;
	uint64_t client_netns;
	int64_t wall;
	bool answered;
	uint16_t rcode;
	int rcode_origin;
	int64_t latency;
	uint32_t retries;
	bool has_lost, lost_response;
	uint64_t lost_netns;
	int lost_role;
	int64_t lost_after;
	size_t nhops, nup, nevents;
	struct hop_copy hops[32];
	struct up_copy up[8];
	int slowest;
	bool matched;
	bool pass_ff;
};

struct got {
	struct flow_copy f[64];
	int n;
	struct dnsreel_flow_filter *ff;
};

static int collect(void *arg, const struct dnsreel_flow *f)
{
	struct got *g = arg;
	if (g->n >= 64)
		return 0;
	struct flow_copy *c = &g->f[g->n++];
	memset(c, 0, sizeof(*c));
	memcpy(c->flow_id, f->flow_id, 17);
	memcpy(c->lookup_id, f->lookup_id, 17);
	snprintf(c->name, sizeof(c->name), "%s", f->name);
	c->qtype = f->qtype;
	c->client_role = f->client_role;
	c->client_netns = f->client_netns;
	c->wall = f->wall_ns;
	c->answered = f->answered;
	c->rcode = f->rcode;
	c->rcode_origin = f->rcode_origin;
	c->latency = f->latency_ns;
	c->retries = f->retries;
	c->has_lost = f->has_lost;
	c->lost_response = f->lost.response;
	c->lost_netns = f->lost.netns;
	c->lost_role = f->lost.role;
	c->lost_after = f->lost.after_ns;
	c->nhops = f->nhops;
	c->nup = f->nupstream;
	c->nevents = f->nevents;
	for (size_t i = 0; i < f->nhops && i < 32; i++)
		c->hops[i] =
		    (struct hop_copy){f->hops[i].role,	f->hops[i].netns, f->hops[i].ifindex,
				      f->hops[i].query, f->hops[i].id,	  f->hops[i].latency_ns};
	for (size_t i = 0; i < f->nupstream && i < 8; i++)
		c->up[i] = (struct up_copy){f->upstream[i].id, f->upstream[i].answered,
					    f->upstream[i].used, f->upstream[i].rcode,
					    f->upstream[i].latency_ns};
	c->slowest = f->slowest_hop;
	c->matched = f->matched;
	c->pass_ff = g->ff ? dnsreel_flow_filter__match(g->ff, f) : true;
	return 0;
}

/* A DNS message: header and one question. */
static size_t build_msg(uint8_t *b, uint16_t id, bool qr, const char *name, uint16_t qtype,
			uint16_t rcode)
{
	size_t n = 0;
	b[n++] = (uint8_t)(id >> 8);
	b[n++] = (uint8_t)id;
	b[n++] = (uint8_t)((qr ? 0x80 : 0) | 0x01);
	b[n++] = (uint8_t)((qr ? 0x80 : 0) | (rcode & 15));
	b[n++] = 0, b[n++] = 1;
	for (int i = 0; i < 6; i++)
		b[n++] = 0;
	const char *p = name;
	while (*p && strcmp(p, ".")) {
		const char *dot = strchr(p, '.');
		size_t l = dot ? (size_t)(dot - p) : strlen(p);
		b[n++] = (uint8_t)l;
		memcpy(b + n, p, l);
		n += l;
		p += l + (dot ? 1 : 0);
	}
	b[n++] = 0;
	b[n++] = (uint8_t)(qtype >> 8), b[n++] = (uint8_t)qtype;
	b[n++] = 0, b[n++] = 1;
	return n;
}

struct stream {
	struct dnsreel_flows *fl;
	int64_t t0;
};

struct pkt {
	int64_t t; /* ms */
	/* capture: see feed_cap() */
	uint64_t netns;
	uint32_t ifindex;
	uint8_t pkt_type;
	const char *src;
	uint16_t sport;
	const char *dst;
	uint16_t dport;
	uint16_t id;
	bool qr;
	const char *name;
	uint16_t qtype;
	uint16_t rcode;
	uint32_t pid; /* 0 = no process context */
};

static uint32_t cur_capture;

static int feed(struct stream *s, const struct pkt *p)
{
	uint8_t msg[512];
	struct dnsreel_event ev;
	memset(&ev, 0, sizeof(ev));
	size_t n = build_msg(msg, p->id, p->qr, p->name, p->qtype, p->rcode);
	ev.ts_ns = s->t0 + p->t;
	ev.netns = p->netns;
	ev.ifindex = p->ifindex;
	ev.pkt_type = p->pkt_type;
	ev.ip_version = 4;
	ev.proto = 17;
	inet_pton(AF_INET, p->src, ev.src_addr);
	inet_pton(AF_INET, p->dst, ev.dst_addr);
	ev.src_port = p->sport;
	ev.dst_port = p->dport;
	if (p->pid) {
		ev.flags = DNSREEL_EV_PROC;
		ev.pid = p->pid;
		snprintf(ev.comm, sizeof(ev.comm), "app");
	}
	ev.orig_len = ev.cap_len = (uint32_t)n;
	ev.payload = msg;
	static struct dnsreel_rec rec;
	memset(&rec, 0, sizeof(rec));
	rec.ev = &ev;
	rec.capture = cur_capture;
	rec.wall_ns = ev.ts_ns;
	rec.msg = msg;
	rec.msg_len = (uint32_t)n;
	dnsreel_dns_parse(msg, n, &rec.dns);
	return dnsreel_flows__feed(s->fl, &rec);
}

static void feed_all(struct stream *s, const struct pkt *p, size_t n, int64_t shift_ms)
{
	for (size_t i = 0; i < n; i++) {
		struct pkt q = p[i];
		q.t = (q.t + shift_ms) * MS;
		CHECK_INT(feed(s, &q), 0);
	}
}

#define OUT  DNSREEL_PKT_OUTGOING
#define HOST DNSREEL_PKT_HOST
#define PASS DNSREEL_PKT_OTHERHOST

/* netns: 1 client pod, 2 node, 3 forwarder, 4 upstream, 5 a second client pod. */
#define POD  "10.244.0.10"
#define POD2 "10.244.0.11"
#define VIP  "10.96.0.10"
#define FWD  "10.244.0.2"
#define UP   "10.254.0.2"

/* The client asks the VIP; the node DNATs it to the forwarder; the forwarder answers. */
static const struct pkt dnat[] = {
    {0, 1, 2, OUT, POD, 40000, VIP, 53, 0x0e14, false, "svc.default.svc.cluster.local.", 1, 0, 100},
    {1, 2, 3, HOST, POD, 40000, VIP, 53, 0x0e14, false, "svc.default.svc.cluster.local.", 1, 0, 0},
    {2, 2, 4, OUT, POD, 40000, FWD, 53, 0x0e14, false, "svc.default.svc.cluster.local.", 1, 0, 0},
    {3, 3, 2, HOST, POD, 40000, FWD, 53, 0x0e14, false, "svc.default.svc.cluster.local.", 1, 0, 7},
    {13, 3, 2, OUT, FWD, 53, POD, 40000, 0x0e14, true, "svc.default.svc.cluster.local.", 1, 0, 7},
    {14, 2, 4, PASS, FWD, 53, POD, 40000, 0x0e14, true, "svc.default.svc.cluster.local.", 1, 0, 0},
    {15, 2, 3, OUT, VIP, 53, POD, 40000, 0x0e14, true, "svc.default.svc.cluster.local.", 1, 0, 0},
    {16, 1, 2, HOST, VIP, 53, POD, 40000, 0x0e14, true, "svc.default.svc.cluster.local.", 1, 0,
     100},
};

/* The dnat exchange (its first n packets) with another DNS id. */
static void feed_dnat(struct stream *s, size_t n, uint16_t id, int64_t shift_ms)
{
	struct pkt p[8];
	memcpy(p, dnat, sizeof(p));
	for (size_t k = 0; k < 8; k++)
		p[k].id = id;
	feed_all(s, p, n, shift_ms);
}

static void new_stream(struct stream *s, struct got *g, int64_t window)
{
	memset(g, 0, sizeof(*g));
	struct dnsreel_flows_opts o = {
	    .sz = sizeof(o), .window_ns = window, .fn = collect, .arg = g};
	s->t0 = 1000 * S;
	CHECK_INT(dnsreel_flows__new(&s->fl, NULL, &o), 0);
}

static void end_stream(struct stream *s)
{
	CHECK_INT(dnsreel_flows__flush(s->fl), 0);
	dnsreel_flows__free(s->fl);
	s->fl = NULL;
}

static void test_dnat(void)
{
	struct stream s;
	struct got g;
	new_stream(&s, &g, 0);
	feed_all(&s, dnat, sizeof(dnat) / sizeof(dnat[0]), 0);
	end_stream(&s);
	CHECK_INT(g.n, 1);
	struct flow_copy *f = &g.f[0];
	CHECK(f->answered);
	CHECK_INT(f->rcode, 0);
	CHECK_INT(f->rcode_origin, -1);
	CHECK_INT(f->latency, 16 * MS);
	CHECK_INT(f->retries, 0);
	CHECK(!f->has_lost);
	CHECK_INT(f->client_role, DNSREEL_ROLE_CLIENT);
	CHECK_INT(f->client_netns, 1);
	CHECK_INT(f->nup, 0);
	CHECK_INT(f->nhops, 4);
	int roles[] = {DNSREEL_ROLE_CLIENT, DNSREEL_ROLE_NODE, DNSREEL_ROLE_NODE,
		       DNSREEL_ROLE_FORWARDER};
	int64_t lat[] = {16 * MS, 14 * MS, 12 * MS, 10 * MS};
	for (int i = 0; i < 4; i++) {
		CHECK_INT(f->hops[i].role, roles[i]);
		CHECK_INT(f->hops[i].latency, lat[i]);
		CHECK(f->hops[i].query);
	}
	/* The forwarder held the query 10 ms: the longest wait. */
	CHECK_INT(f->slowest, 3);
	CHECK_STR(f->flow_id, f->lookup_id);
	CHECK_INT(strlen(f->flow_id), 16);
}

/* Two pods ask the same name; the forwarder asks upstream once (coalescing) in mixed case
 * (0x20) and answers both. */
static const struct pkt coalesce[] = {
    {0, 1, 2, OUT, POD, 40000, FWD, 53, 0x1111, false, "www.example.test.", 1, 0, 100},
    {1, 5, 2, OUT, POD2, 41000, FWD, 53, 0x2222, false, "www.example.test.", 1, 0, 200},
    {2, 3, 2, HOST, POD, 40000, FWD, 53, 0x1111, false, "www.example.test.", 1, 0, 7},
    {3, 3, 2, HOST, POD2, 41000, FWD, 53, 0x2222, false, "www.example.test.", 1, 0, 7},
    {4, 3, 2, OUT, FWD, 5000, UP, 53, 0xabcd, false, "wWw.ExaMple.tEst.", 1, 0, 7},
    {5, 4, 2, HOST, FWD, 5000, UP, 53, 0xabcd, false, "wWw.ExaMple.tEst.", 1, 0, 9},
    {25, 4, 2, OUT, UP, 53, FWD, 5000, 0xabcd, true, "wWw.ExaMple.tEst.", 1, 0, 9},
    {26, 3, 2, HOST, UP, 53, FWD, 5000, 0xabcd, true, "wWw.ExaMple.tEst.", 1, 0, 7},
    {27, 3, 2, OUT, FWD, 53, POD, 40000, 0x1111, true, "www.example.test.", 1, 0, 7},
    {27, 3, 2, OUT, FWD, 53, POD2, 41000, 0x2222, true, "www.example.test.", 1, 0, 7},
    {28, 1, 2, HOST, FWD, 53, POD, 40000, 0x1111, true, "www.example.test.", 1, 0, 100},
    {28, 5, 2, HOST, FWD, 53, POD2, 41000, 0x2222, true, "www.example.test.", 1, 0, 200},
};

static void test_coalesce(void)
{
	struct stream s;
	struct got g;
	new_stream(&s, &g, 0);
	feed_all(&s, coalesce, sizeof(coalesce) / sizeof(coalesce[0]), 0);
	end_stream(&s);
	CHECK_INT(g.n, 2);
	for (int i = 0; i < 2 && i < g.n; i++) {
		struct flow_copy *f = &g.f[i];
		CHECK_INT(f->client_netns, i ? 5 : 1);
		CHECK(f->answered);
		CHECK_INT(f->nup, 1);
		CHECK_INT(f->up[0].id, 0xabcd);
		CHECK(f->up[0].used);
		CHECK(f->up[0].answered);
		CHECK_INT(f->up[0].latency, 22 * MS);
		CHECK_INT(f->nhops,
			  4); /* client, forwarder, forwarder (upstream query), upstream */
		CHECK_INT(f->hops[f->nhops - 1].role, DNSREEL_ROLE_UPSTREAM);
		CHECK_INT(f->slowest, 3); /* the upstream took 20 ms */
	}
	CHECK(strcmp(g.f[0].lookup_id, g.f[1].lookup_id) != 0);
}

/* Two pods ask the same name at once and the forwarder asks upstream for each (no coalescing):
 * each flow gets its own try, though the second client arrived before the first try left. */
static const struct pkt separate[] = {
    {0, 1, 2, OUT, POD, 40000, FWD, 53, 0x1111, false, "two.example.test.", 1, 0, 100},
    {1, 3, 2, HOST, POD, 40000, FWD, 53, 0x1111, false, "two.example.test.", 1, 0, 7},
    {1, 5, 2, OUT, POD2, 41000, FWD, 53, 0x2222, false, "two.example.test.", 1, 0, 200},
    {2, 3, 2, HOST, POD2, 41000, FWD, 53, 0x2222, false, "two.example.test.", 1, 0, 7},
    {3, 3, 2, OUT, FWD, 5000, UP, 53, 0xa001, false, "two.example.test.", 1, 0, 7},
    {4, 3, 2, OUT, FWD, 5001, UP, 53, 0xa002, false, "two.example.test.", 1, 0, 7},
    {10, 3, 2, HOST, UP, 53, FWD, 5000, 0xa001, true, "two.example.test.", 1, 0, 7},
    {11, 3, 2, OUT, FWD, 53, POD, 40000, 0x1111, true, "two.example.test.", 1, 0, 7},
    {12, 3, 2, HOST, UP, 53, FWD, 5001, 0xa002, true, "two.example.test.", 1, 0, 7},
    {13, 3, 2, OUT, FWD, 53, POD2, 41000, 0x2222, true, "two.example.test.", 1, 0, 7},
    {14, 1, 2, HOST, FWD, 53, POD, 40000, 0x1111, true, "two.example.test.", 1, 0, 100},
    {15, 5, 2, HOST, FWD, 53, POD2, 41000, 0x2222, true, "two.example.test.", 1, 0, 200},
};

static void test_separate(void)
{
	struct stream s;
	struct got g;
	new_stream(&s, &g, 0);
	feed_all(&s, separate, sizeof(separate) / sizeof(separate[0]), 0);
	end_stream(&s);
	CHECK_INT(g.n, 2);
	CHECK_INT(g.f[0].nup, 1);
	CHECK_INT(g.f[0].up[0].id, 0xa001);
	CHECK(g.f[0].up[0].used);
	CHECK_INT(g.f[1].nup, 1);
	CHECK_INT(g.f[1].up[0].id, 0xa002);
	CHECK(g.f[1].up[0].used);
}

/* One process asks the same name twice at once (two threads): two lookups, not one. A retry of
 * an unanswered question after a second (new id, new port) stays in the lookup. */
static void test_lookup_concurrent(void)
{
	struct stream s;
	struct got g;
	new_stream(&s, &g, 0);
	const char *n = "c.example.test.";
	struct pkt p[] = {
	    {0, 1, 2, OUT, POD, 40000, FWD, 53, 0x0001, false, n, 1, 0, 100},
	    {1, 1, 2, OUT, POD, 40001, FWD, 53, 0x0002, false, n, 1, 0, 100},
	    {3, 1, 2, HOST, FWD, 53, POD, 40000, 0x0001, true, n, 1, 0, 100},
	    {4, 1, 2, HOST, FWD, 53, POD, 40001, 0x0002, true, n, 1, 0, 100},
	    /* another call: unanswered, retried 5 s later from a new port */
	    {100, 1, 2, OUT, POD, 40002, FWD, 53, 0x0003, false, "r.example.test.", 1, 0, 100},
	    {5100, 1, 2, OUT, POD, 40003, FWD, 53, 0x0004, false, "r.example.test.", 1, 0, 100},
	    {5102, 1, 2, HOST, FWD, 53, POD, 40003, 0x0004, true, "r.example.test.", 1, 0, 100},
	};
	feed_all(&s, p, sizeof(p) / sizeof(p[0]), 0);
	end_stream(&s);
	CHECK_INT(g.n, 4);
	CHECK(strcmp(g.f[0].lookup_id, g.f[1].lookup_id) != 0);
	CHECK_STR(g.f[2].lookup_id, g.f[2].flow_id);
	CHECK_STR(g.f[3].lookup_id, g.f[2].flow_id);
	CHECK(!g.f[2].answered);
	CHECK(g.f[3].answered);
}

/* A pod on node 1 (capture 0) asks CoreDNS on node 2 (capture 1); the netns inode numbers of
 * the two nodes collide, as they may: the flow still forms across the merged captures, with the
 * roles of each side. */
static void test_cross_node(void)
{
	struct stream s;
	struct got g;
	new_stream(&s, &g, 0);
	const char *n = "x.example.test.";
	struct pkt a[] = {
	    {0, 1, 2, OUT, POD, 40000, FWD, 53, 0x5151, false, n, 1, 0, 100},
	    {1, 2, 3, HOST, POD, 40000, FWD, 53, 0x5151, false, n, 1, 0, 0},
	    {2, 2, 9, OUT, POD, 40000, FWD, 53, 0x5151, false, n, 1, 0, 0},
	};
	struct pkt b[] = {
	    {3, 2, 9, HOST, POD, 40000, FWD, 53, 0x5151, false, n, 1, 0, 0},
	    {4, 2, 4, OUT, POD, 40000, FWD, 53, 0x5151, false, n, 1, 0, 0},
	    {5, 1, 2, HOST, POD, 40000, FWD, 53, 0x5151, false, n, 1, 0, 7},
	    {6, 1, 2, OUT, FWD, 53, POD, 40000, 0x5151, true, n, 1, 0, 7},
	    {7, 2, 4, PASS, FWD, 53, POD, 40000, 0x5151, true, n, 1, 0, 0},
	    {8, 2, 9, OUT, FWD, 53, POD, 40000, 0x5151, true, n, 1, 0, 0},
	};
	struct pkt c[] = {
	    {9, 2, 9, HOST, FWD, 53, POD, 40000, 0x5151, true, n, 1, 0, 0},
	    {10, 2, 3, OUT, FWD, 53, POD, 40000, 0x5151, true, n, 1, 0, 0},
	    {11, 1, 2, HOST, FWD, 53, POD, 40000, 0x5151, true, n, 1, 0, 100},
	};
	cur_capture = 0;
	feed_all(&s, a, 3, 0);
	cur_capture = 1;
	feed_all(&s, b, 6, 0);
	cur_capture = 0;
	feed_all(&s, c, 3, 0);
	end_stream(&s);
	CHECK_INT(g.n, 1);
	CHECK(g.f[0].answered);
	CHECK_INT(g.f[0].latency, 11 * MS);
	CHECK_INT(g.f[0].nhops, 6);
	int roles[] = {DNSREEL_ROLE_CLIENT, DNSREEL_ROLE_NODE, DNSREEL_ROLE_NODE,
		       DNSREEL_ROLE_NODE,   DNSREEL_ROLE_NODE, DNSREEL_ROLE_FORWARDER};
	for (int i = 0; i < 6; i++)
		CHECK_INT(g.f[0].hops[i].role, roles[i]);
	/* netns 1 of capture 1 is the forwarder, netns 1 of capture 0 the client */
	CHECK_INT(g.f[0].hops[5].netns, 1);
	CHECK_INT(g.f[0].client_netns, 1);
}

/* The forwarder tries three times: no answer, REFUSED, then Success; the client gets
 * Success; one more query of the client's id after the first try is a retransmission. */
static const struct pkt tries[] = {
    {0, 1, 2, OUT, POD, 40000, FWD, 53, 0x0101, false, "slow.example.test.", 28, 0, 100},
    {1, 3, 2, HOST, POD, 40000, FWD, 53, 0x0101, false, "slow.example.test.", 28, 0, 7},
    {2, 3, 2, OUT, FWD, 5001, UP, 53, 0x0a01, false, "slow.example.test.", 28, 0, 7},
    {1000, 1, 2, OUT, POD, 40000, FWD, 53, 0x0101, false, "slow.example.test.", 28, 0, 100},
    {1001, 3, 2, HOST, POD, 40000, FWD, 53, 0x0101, false, "slow.example.test.", 28, 0, 7},
    {1500, 3, 2, OUT, FWD, 5002, "10.254.0.3", 53, 0x0a02, false, "slow.example.test.", 28, 0, 7},
    {1510, 3, 2, HOST, "10.254.0.3", 53, FWD, 5002, 0x0a02, true, "slow.example.test.", 28, 5, 7},
    {1520, 3, 2, OUT, FWD, 5003, UP, 53, 0x0a03, false, "slow.example.test.", 28, 0, 7},
    {1530, 3, 2, HOST, UP, 53, FWD, 5003, 0x0a03, true, "slow.example.test.", 28, 0, 7},
    {1531, 3, 2, OUT, FWD, 53, POD, 40000, 0x0101, true, "slow.example.test.", 28, 0, 7},
    {1532, 1, 2, HOST, FWD, 53, POD, 40000, 0x0101, true, "slow.example.test.", 28, 0, 100},
};

static void test_tries(void)
{
	struct stream s;
	struct got g;
	new_stream(&s, &g, 0);
	feed_all(&s, tries, sizeof(tries) / sizeof(tries[0]), 0);
	end_stream(&s);
	CHECK_INT(g.n, 1);
	struct flow_copy *f = &g.f[0];
	CHECK_INT(f->retries, 1);
	CHECK(f->answered);
	CHECK_INT(f->latency, 1532 * MS);
	CHECK_INT(f->nup, 3);
	CHECK_INT(f->up[0].id, 0x0a01);
	CHECK(!f->up[0].answered);
	CHECK(!f->up[0].used);
	CHECK_INT(f->up[0].latency, -1);
	CHECK_INT(f->up[1].id, 0x0a02);
	CHECK_INT(f->up[1].rcode, 5);
	CHECK(!f->up[1].used);
	CHECK_INT(f->up[2].id, 0x0a03);
	CHECK(f->up[2].used);
	CHECK_INT(f->nevents, 0); /* events were not asked for */
}

/* Unbound's REFUSED-then-SERVFAIL: the client's error names its origin. */
static const struct pkt servfail[] = {
    {0, 1, 2, OUT, POD, 40000, FWD, 53, 0x0102, false, "x.broken.test.", 1, 0, 100},
    {1, 3, 2, HOST, POD, 40000, FWD, 53, 0x0102, false, "x.broken.test.", 1, 0, 7},
    {2, 3, 2, OUT, FWD, 5001, UP, 53, 0x0b01, false, "x.broken.test.", 1, 0, 7},
    {3, 3, 2, HOST, UP, 53, FWD, 5001, 0x0b01, true, "x.broken.test.", 1, 2, 7},
    {4, 3, 2, OUT, FWD, 5002, UP, 53, 0x0b02, false, "x.broken.test.", 1, 0, 7},
    {5, 3, 2, HOST, UP, 53, FWD, 5002, 0x0b02, true, "x.broken.test.", 1, 2, 7},
    {6, 3, 2, OUT, FWD, 53, POD, 40000, 0x0102, true, "x.broken.test.", 1, 2, 7},
    {7, 1, 2, HOST, FWD, 53, POD, 40000, 0x0102, true, "x.broken.test.", 1, 2, 100},
    /* the forwarder's own NXDOMAIN, no upstream */
    {100, 1, 2, OUT, POD, 40001, FWD, 53, 0x0103, false, "nope.default.svc.cluster.local.", 1, 0,
     101},
    {101, 3, 2, HOST, POD, 40001, FWD, 53, 0x0103, false, "nope.default.svc.cluster.local.", 1, 0,
     7},
    {102, 3, 2, OUT, FWD, 53, POD, 40001, 0x0103, true, "nope.default.svc.cluster.local.", 1, 3, 7},
    {103, 1, 2, HOST, FWD, 53, POD, 40001, 0x0103, true, "nope.default.svc.cluster.local.", 1, 3,
     101},
};

static void test_rcode_origin(void)
{
	struct stream s;
	struct got g;
	new_stream(&s, &g, 0);
	feed_all(&s, servfail, sizeof(servfail) / sizeof(servfail[0]), 0);
	end_stream(&s);
	CHECK_INT(g.n, 2);
	CHECK_INT(g.f[0].rcode, 2);
	CHECK_INT(g.f[0].rcode_origin, DNSREEL_ROLE_UPSTREAM);
	CHECK_INT(g.f[0].nup, 2);
	CHECK(!g.f[0].up[0].used);
	CHECK(g.f[0].up[1].used);
	CHECK_INT(g.f[1].rcode, 3);
	CHECK_INT(g.f[1].rcode_origin, DNSREEL_ROLE_FORWARDER);
	CHECK_INT(g.f[1].nup, 0);
}

/* A forwarder that has answered clients sends `. NS` on its own: a flow whose client is the
 * forwarder, with the upstream as its server's role. */
static const struct pkt health[] = {
    {0, 3, 2, OUT, FWD, 6000, UP, 53, 0x7777, false, ".", 2, 0, 7},
    {1, 4, 2, HOST, FWD, 6000, UP, 53, 0x7777, false, ".", 2, 0, 9},
    {2, 4, 2, OUT, UP, 53, FWD, 6000, 0x7777, true, ".", 2, 0, 9},
    {3, 3, 2, HOST, UP, 53, FWD, 6000, 0x7777, true, ".", 2, 0, 7},
};

static void test_health(void)
{
	struct stream s;
	struct got g;
	new_stream(&s, &g, 0);
	feed_all(&s, dnat, sizeof(dnat) / sizeof(dnat[0]), 0);
	feed_all(&s, health, sizeof(health) / sizeof(health[0]), 100);
	end_stream(&s);
	CHECK_INT(g.n, 2);
	struct flow_copy *f = &g.f[1];
	CHECK_STR(f->name, ".");
	CHECK_INT(f->client_role, DNSREEL_ROLE_FORWARDER);
	CHECK_INT(f->client_netns, 3);
	CHECK(f->answered);
	CHECK_INT(f->nup, 0);
	CHECK_INT(f->nhops, 2);
	CHECK_INT(f->hops[0].role, DNSREEL_ROLE_FORWARDER);
	CHECK_INT(f->hops[1].role, DNSREEL_ROLE_UPSTREAM);
	/* the client's flow did not take the health check as an upstream try */
	CHECK_INT(g.f[0].nup, 0);
}

/* getaddrinfo with ndots:5: A and AAAA in parallel for each search name, NXDOMAIN until the
 * name itself; then the same process asks again later: a new lookup. */
static void test_lookup(void)
{
	struct stream s;
	struct got g;
	new_stream(&s, &g, 0);
	const char *names[] = {"api.example.com.default.svc.cluster.local.",
			       "api.example.com.svc.cluster.local.",
			       "api.example.com.cluster.local.", "api.example.com."};
	uint16_t id = 0x100;
	int64_t t = 0;
	for (int round = 0; round < 2; round++) {
		for (int i = 0; i < 4; i++) {
			uint16_t rc = i < 3 ? 3 : 0;
			for (int qt = 0; qt < 2; qt++) {
				uint16_t qtype = qt ? 28 : 1;
				struct pkt q[] = {
				    {t, 1, 2, OUT, POD, 45000, FWD, 53, id, false, names[i], qtype,
				     0, 300},
				    {t + 1, 3, 2, HOST, POD, 45000, FWD, 53, id, false, names[i],
				     qtype, 0, 7},
				};
				feed_all(&s, q, 2, 0);
				id++;
			}
			for (int qt = 0; qt < 2; qt++) {
				uint16_t qtype = qt ? 28 : 1;
				uint16_t rid = (uint16_t)(id - 2 + qt);
				struct pkt r[] = {
				    {t + 2, 3, 2, OUT, FWD, 53, POD, 45000, rid, true, names[i],
				     qtype, rc, 7},
				    {t + 3, 1, 2, HOST, FWD, 53, POD, 45000, rid, true, names[i],
				     qtype, rc, 300},
				};
				feed_all(&s, r, 2, 0);
			}
			t += 4;
		}
		t += 1000;
	}
	/* Another process, same netns: a lookup of its own. */
	struct pkt other[] = {
	    {t, 1, 2, OUT, POD, 46000, FWD, 53, 0x999, false, "api.example.com.", 1, 0, 301},
	};
	feed_all(&s, other, 1, 0);
	end_stream(&s);
	CHECK_INT(g.n, 17);
	for (int i = 0; i < 8 && i < g.n; i++)
		CHECK_STR(g.f[i].lookup_id, g.f[0].flow_id);
	for (int i = 8; i < 16 && i < g.n; i++)
		CHECK_STR(g.f[i].lookup_id, g.f[8].flow_id);
	CHECK(strcmp(g.f[0].lookup_id, g.f[8].lookup_id) != 0);
	CHECK_STR(g.f[16].lookup_id, g.f[16].flow_id);
	CHECK(strcmp(g.f[16].lookup_id, g.f[8].lookup_id) != 0);
	CHECK_INT(g.f[16].answered, 0);
}

/* Two pods use the same id and port for the same name at the same time. */
static void test_same_id_port(void)
{
	struct stream s;
	struct got g;
	new_stream(&s, &g, 0);
	const char *n = "dup.example.test.";
	struct pkt p[] = {
	    {0, 1, 2, OUT, POD, 40000, VIP, 53, 0x4242, false, n, 1, 0, 100},
	    {0, 5, 2, OUT, POD2, 40000, VIP, 53, 0x4242, false, n, 1, 0, 200},
	    {1, 2, 3, HOST, POD, 40000, VIP, 53, 0x4242, false, n, 1, 0, 0},
	    {1, 2, 6, HOST, POD2, 40000, VIP, 53, 0x4242, false, n, 1, 0, 0},
	    {2, 3, 2, HOST, POD, 40000, FWD, 53, 0x4242, false, n, 1, 0, 7},
	    {2, 3, 2, HOST, POD2, 40000, FWD, 53, 0x4242, false, n, 1, 0, 7},
	    {3, 3, 2, OUT, FWD, 53, POD, 40000, 0x4242, true, n, 1, 0, 7},
	    {4, 2, 3, OUT, VIP, 53, POD, 40000, 0x4242, true, n, 1, 0, 0},
	    {5, 1, 2, HOST, VIP, 53, POD, 40000, 0x4242, true, n, 1, 0, 100},
	    {13, 3, 2, OUT, FWD, 53, POD2, 40000, 0x4242, true, n, 1, 3, 7},
	    {14, 2, 6, OUT, VIP, 53, POD2, 40000, 0x4242, true, n, 1, 3, 0},
	    {15, 5, 2, HOST, VIP, 53, POD2, 40000, 0x4242, true, n, 1, 3, 200},
	};
	feed_all(&s, p, sizeof(p) / sizeof(p[0]), 0);
	end_stream(&s);
	CHECK_INT(g.n, 2);
	CHECK_INT(g.f[0].client_netns, 1);
	CHECK_INT(g.f[0].latency, 5 * MS);
	CHECK_INT(g.f[0].rcode, 0);
	CHECK_INT(g.f[0].nhops, 3);
	CHECK_INT(g.f[1].client_netns, 5);
	CHECK_INT(g.f[1].latency, 15 * MS);
	CHECK_INT(g.f[1].rcode, 3);
	CHECK_INT(g.f[1].nhops, 3);
	CHECK_INT(g.f[1].hops[1].ifindex, 6);
	CHECK(strcmp(g.f[0].flow_id, g.f[1].flow_id) != 0);
}

/* A query dropped between node and forwarder; a response lost between node and client. */
static void test_lost(void)
{
	struct stream s;
	struct got g;
	new_stream(&s, &g, 0);
	/* the query never reaches the forwarder */
	feed_dnat(&s, 3, 1, 0);
	/* the response passes the node and never reaches the pod */
	feed_dnat(&s, 7, 2, 200);
	end_stream(&s);
	CHECK_INT(g.n, 2);
	struct flow_copy *f = &g.f[0];
	CHECK(!f->answered);
	CHECK_INT(f->latency, -1);
	CHECK(f->has_lost);
	CHECK(!f->lost_response);
	CHECK_INT(f->lost_netns, 2);
	CHECK_INT(f->lost_role, DNSREEL_ROLE_NODE);
	CHECK_INT(f->lost_after, 1000 * S + 2 * MS);
	CHECK_INT(f->nhops, 3);
	f = &g.f[1];
	CHECK(!f->answered);
	CHECK(f->lost_response);
	CHECK_INT(f->lost_netns, 2);
	CHECK_INT(f->lost_role, DNSREEL_ROLE_NODE);
	CHECK_INT(f->lost_after, 1000 * S + 215 * MS);
}

/* Flow-level filters on a stream with an answered, an unanswered and an NXDOMAIN flow. */
static void test_flow_filter(void)
{
	const char *exprs[] = {"outcome==unanswered", "rcode!=Success", "rcode==NameError",
			       "retries>0", "rcode_origin==forwarder"};
	/* An unanswered flow did not get Success either: rcode!=Success keeps it. */
	int expect[][3] = {{0, 1, 0}, {0, 1, 1}, {0, 0, 1}, {0, 0, 0}, {0, 0, 1}};
	for (size_t e = 0; e < sizeof(exprs) / sizeof(exprs[0]); e++) {
		struct stream s;
		struct got g;
		new_stream(&s, &g, 0);
		char err[128] = "";
		CHECK_INT(dnsreel_flow_filter__new(&g.ff), 0);
		CHECKF(dnsreel_flow_filter__add(g.ff, exprs[e], err, sizeof(err)) == 0, "%s: %s",
		       exprs[e], err);
		feed_dnat(&s, 8, 1, 0);
		feed_dnat(&s, 3, 2, 100);
		feed_all(&s, servfail + 8, 4, 200);
		end_stream(&s);
		CHECK_INT(g.n, 3);
		for (int i = 0; i < 3; i++)
			CHECKF(g.f[i].pass_ff == (bool)expect[e][i], "%s flow %d", exprs[e], i);
		dnsreel_flow_filter__free(g.ff);
	}
	struct dnsreel_flow_filter *ff;
	char err[128];
	CHECK_INT(dnsreel_flow_filter__new(&ff), 0);
	CHECK_INT(dnsreel_flow_filter__add(ff, "nosuch==1", err, sizeof(err)), DNSREEL_E_PARSE);
	CHECK_INT(dnsreel_flow_filter__add(ff, "retries>x", err, sizeof(err)), DNSREEL_E_PARSE);
	dnsreel_flow_filter__free(ff);
	CHECK(dnsreel_flow_field_known("outcome"));
	CHECK(!dnsreel_flow_field_known("k8s.podname"));
}

/* Flows come out in client-query order as the window passes them, and memory holds only the
 * window: 2000 flows one per 100 ms with a 1 s window. */
static void test_window(void)
{
	struct stream s;
	struct got g;
	new_stream(&s, &g, 1 * S);
	int emitted_before_end = 0;
	for (int i = 0; i < 2000; i++) {
		struct pkt p[8];
		memcpy(p, dnat, sizeof(p));
		for (int k = 0; k < 8; k++) {
			p[k].id = (uint16_t)i;
			p[k].sport = (uint16_t)(20000 + i % 1000);
		}
		feed_all(&s, p, 8, (int64_t)i * 100);
		if (g.n > 60)
			g.n = 0, emitted_before_end += 60;
	}
	struct dnsreel_flows_stats st;
	dnsreel_flows__stats(s.fl, &st);
	CHECKF(st.live_max <= 12, "live_max %llu", (unsigned long long)st.live_max);
	CHECK(emitted_before_end > 1800);
	end_stream(&s);
}

/* The same stream twice gives the same ids; flow ids do not depend on what else is fed. */
static void test_stable_ids(void)
{
	char a[17], b[17];
	struct stream s;
	struct got g;
	new_stream(&s, &g, 0);
	feed_all(&s, dnat, 8, 0);
	end_stream(&s);
	memcpy(a, g.f[0].flow_id, 17);
	new_stream(&s, &g, 0);
	feed_all(&s, health, 4, -50);
	feed_all(&s, dnat, 8, 0);
	end_stream(&s);
	memcpy(b, g.f[1].flow_id, 17);
	CHECK_STR(a, b);
}

int main(void)
{
	test_dnat();
	test_coalesce();
	test_tries();
	test_separate();
	test_cross_node();
	test_lookup_concurrent();
	test_rcode_origin();
	test_health();
	test_lookup();
	test_same_id_port();
	test_lost();
	test_flow_filter();
	test_window();
	test_stable_ids();
	return check_done("test_flows");
}
