/* Field table and values: trace_dns names/headers/widths, lookup spellings, every field's value
 * for a known record, endpoint rendering (p/, s/, IP:PORT), null process and k8s context. */
#include <stdint.h>

#include "check.h"
#include "dnsreel.h"
#include "view.h"

static struct dnsreel_ctx *ctx;
static uint8_t *q, *r;
static size_t ql, rl;

static void setup_ctx(void)
{
	CHECK_INT(dnsreel_ctx__new(&ctx), 0);
	struct dnsreel_meta m;
	memset(&m, 0, sizeof(m));
	snprintf(m.node, sizeof(m.node), "minikube-docker");
	m.boot_to_wall_ns = 1725032615000000000LL; /* 2024-08-30T15:43:35Z */
	CHECK_INT(dnsreel_ctx__set_meta(ctx, 0, &m), 0);
	struct dnsreel_netns_ctx ns;
	memset(&ns, 0, sizeof(ns));
	ns.netns = 4026533235u;
	snprintf(ns.k8s_namespace, sizeof(ns.k8s_namespace), "demo");
	snprintf(ns.k8s_podname, sizeof(ns.k8s_podname), "mypod");
	snprintf(ns.k8s_containername, sizeof(ns.k8s_containername), "mypod-c");
	snprintf(ns.runtime_containername, sizeof(ns.runtime_containername), "k8s_mypod");
	snprintf(ns.runtime_containerid, sizeof(ns.runtime_containerid), "abc123");
	snprintf(ns.ips, sizeof(ns.ips), "127.0.0.1, 10.244.0.4/24,fd00::4");
	CHECK_INT(dnsreel_ctx__put_netns(ctx, 0, &ns), 0);
	struct dnsreel_service_ctx s;
	memset(&s, 0, sizeof(s));
	s.ip_version = 4;
	s.addr[0] = 10, s.addr[1] = 96, s.addr[2] = 0, s.addr[3] = 10;
	s.port = 53;
	snprintf(s.k8s_namespace, sizeof(s.k8s_namespace), "kube-system");
	snprintf(s.name, sizeof(s.name), "kube-dns");
	CHECK_INT(dnsreel_ctx__put_service(ctx, 0, &s), 0);
}

static struct dnsreel_event mkev(bool reply)
{
	struct dnsreel_event e;
	memset(&e, 0, sizeof(e));
	e.ts_ns = 463173731;
	e.netns = 4026533235u;
	e.ifindex = 3;
	e.pkt_type = reply ? 0 : 4;
	e.ip_version = 4;
	e.proto = 17;
	uint8_t pod[4] = {10, 244, 0, 4}, svc[4] = {10, 96, 0, 10};
	memcpy(reply ? e.dst_addr : e.src_addr, pod, 4);
	memcpy(reply ? e.src_addr : e.dst_addr, svc, 4);
	e.src_port = reply ? 53 : 51340;
	e.dst_port = reply ? 51340 : 53;
	e.flags = DNSREEL_EV_PROC;
	e.pid = 422204;
	e.tid = 422205;
	e.uid = 1000;
	e.gid = 1001;
	snprintf(e.comm, sizeof(e.comm), "isc-net-0000");
	e.payload = reply ? r : q;
	e.cap_len = e.orig_len = (uint32_t)(reply ? rl : ql);
	return e;
}

static void mkrec(struct dnsreel_rec *rec, const struct dnsreel_event *ev)
{
	memset(rec, 0, sizeof(*rec));
	rec->ctx = ctx;
	rec->ev = ev;
	rec->ns = dnsreel_ctx__netns(ctx, 0, ev->netns);
	rec->wall_ns = ev->ts_ns + dnsreel_ctx__meta(ctx, 0)->boot_to_wall_ns;
	rec->msg = ev->payload;
	rec->msg_len = ev->cap_len;
	dnsreel_dns_parse(rec->msg, rec->msg_len, &rec->dns);
}

static const char *val(const struct dnsreel_rec *rec, const char *field)
{
	static char buf[512];
	static char out[600];
	const struct dnsreel_field_def *d = dnsreel_field_find(field);
	if (!d)
		return "(no such field)";
	struct dnsreel_value v;
	dnsreel_rec__value(rec, d->id, &v, buf, sizeof(buf));
	if (v.null)
		return "(null)";
	snprintf(out, sizeof(out), "%.*s", (int)v.len, v.s ? v.s : "");
	return out;
}

static void test_table(void)
{
	size_t n;
	const struct dnsreel_field_def *defs = dnsreel_fields(&n);
	CHECK_INT(n, DNSREEL_F_COUNT_);
	for (size_t i = 0; i < n; i++) {
		CHECK_INT(defs[i].id, i); /* indexed by id */
		CHECK(defs[i].name && defs[i].header && defs[i].width > 0);
		CHECK(dnsreel_field_find(defs[i].name) == &defs[i]);
		for (const char *h = defs[i].header; *h; h++)
			CHECK(!(*h >= 'a' && *h <= 'z'));
	}
	CHECK_INT(dnsreel_field_find("k8s.podName")->id, DNSREEL_F_K8S_PODNAME);
	CHECK_INT(dnsreel_field_find("K8S_PODNAME")->id, DNSREEL_F_K8S_PODNAME);
	CHECK_INT(dnsreel_field_find("k8s.containerName")->id, DNSREEL_F_K8S_CONTAINERNAME);
	CHECK_INT(dnsreel_field_find("latency_ns_raw")->id, DNSREEL_F_LATENCY_NS);
	CHECK_INT(dnsreel_field_find("qtype_raw")->id, DNSREEL_F_QTYPE);
	CHECK_INT(dnsreel_field_find("proc.comm")->id, DNSREEL_F_COMM);
	CHECK_INT(dnsreel_field_find("src_addr")->id, DNSREEL_F_SRC_ADDR);
	CHECK(dnsreel_field_find("nosuch") == NULL);
	CHECK(dnsreel_field_find("") == NULL);
	/* trace_dns's widths */
	CHECK_INT(defs[DNSREEL_F_QR].width, 2);
	CHECK_INT(defs[DNSREEL_F_RCODE].width, 8);
	CHECK_INT(defs[DNSREEL_F_NAME].width, 30);
	CHECK_INT(defs[DNSREEL_F_SRC].width, 40);
	CHECK(defs[DNSREEL_F_PID].right_align);
	CHECK_STR(defs[DNSREEL_F_K8S_PODNAME].header, "K8S.PODNAME");
	CHECK_STR(defs[DNSREEL_F_LATENCY_NS].header, "LATENCY_NS");
}

static void test_values(void)
{
	struct dnsreel_event qe = mkev(false), re = mkev(true);
	struct dnsreel_rec rq, rr;
	mkrec(&rq, &qe);
	mkrec(&rr, &re);
	rr.latency_ns = 30245219;

	CHECK_STR(val(&rq, "timestamp"), "2024-08-30T15:43:35.463173731Z");
	{
		/* a question name that points at itself: unknown (null), the rest still there */
		static const uint8_t bad[] = {0xab, 0xcd, 0x81, 0x80, 0, 1, 0,	  1,  0, 0, 0, 0,
					      0xc0, 12,	  0,	1,    0, 1, 0xc0, 12, 0, 1, 0, 1,
					      0,    0,	  0,	60,   0, 4, 10,	  0,  0, 7};
		struct dnsreel_event be = mkev(true);
		be.payload = bad;
		be.cap_len = be.orig_len = sizeof(bad);
		struct dnsreel_rec rb;
		mkrec(&rb, &be);
		CHECK_STR(val(&rb, "name"), "(null)");
		CHECK_STR(val(&rb, "qtype"), "A");
		CHECK_STR(val(&rb, "addresses"), "10.0.0.7");
	}
	CHECK_STR(val(&rq, "k8s.node"), "minikube-docker");
	CHECK_STR(val(&rq, "k8s.namespace"), "demo");
	CHECK_STR(val(&rq, "k8s.podname"), "mypod");
	CHECK_STR(val(&rq, "k8s.containername"), "mypod-c");
	CHECK_STR(val(&rq, "runtime.containername"), "k8s_mypod");
	CHECK_STR(val(&rq, "runtime.containerid"), "abc123");
	CHECK_STR(val(&rq, "netns_id"), "4026533235");
	CHECK_STR(val(&rq, "ifindex"), "3");
	CHECK_STR(val(&rq, "pkt_type"), "OUTGOING");
	CHECK_STR(val(&rr, "pkt_type"), "HOST");
	CHECK_STR(val(&rq, "proto"), "UDP");
	CHECK_STR(val(&rq, "src"), "p/demo/mypod:51340");
	CHECK_STR(val(&rq, "dst"), "s/kube-system/kube-dns:53");
	CHECK_STR(val(&rr, "src"), "s/kube-system/kube-dns:53");
	CHECK_STR(val(&rq, "src.addr"), "10.244.0.4");
	CHECK_STR(val(&rq, "src.port"), "51340");
	CHECK_STR(val(&rq, "dst.addr"), "10.96.0.10");
	CHECK_STR(val(&rq, "dst.port"), "53");
	CHECK_STR(val(&rq, "nameserver"), "10.96.0.10");
	CHECK_STR(val(&rr, "nameserver"), "10.96.0.10");
	CHECK_STR(val(&rq, "comm"), "isc-net-0000");
	CHECK_STR(val(&rq, "pid"), "422204");
	CHECK_STR(val(&rq, "tid"), "422205");
	CHECK_STR(val(&rq, "uid"), "1000");
	CHECK_STR(val(&rq, "gid"), "1001");
	char id[8];
	snprintf(id, sizeof(id), "%04x", rq.dns.id);
	CHECK_STR(val(&rq, "id"), id);
	CHECK_STR(val(&rq, "qr"), "Q");
	CHECK_STR(val(&rr, "qr"), "R");
	CHECK_STR(val(&rq, "opcode"), "QUERY");
	CHECK_STR(val(&rq, "qtype"), "A");
	CHECK_STR(val(&rq, "name"), "www.example.test.");
	CHECK_STR(val(&rq, "rcode"), "(null)"); /* empty for queries */
	CHECK_STR(val(&rr, "rcode"), "Success");
	CHECK_STR(val(&rr, "addresses"), "192.0.2.10,192.0.2.11");
	CHECK_STR(val(&rr, "num_answers"), "2");
	CHECK_STR(val(&rr, "latency_ns"), "30245219");
	CHECK_STR(val(&rq, "latency_ns"), "0");
	CHECK_STR(val(&rq, "tc"), "false");
	CHECK_STR(val(&rq, "rd"), "true");
	CHECK_STR(val(&rr, "ra"), "false");
	CHECK_STR(val(&rr, "aa"), "true");
	CHECK_STR(val(&rr, "ad"), "false");
	CHECK_STR(val(&rr, "cd"), "false");
	char sz[16];
	snprintf(sz, sizeof(sz), "%zu", rl);
	CHECK_STR(val(&rr, "size"), sz);
	CHECK_STR(val(&rr, "capture"), "(null)");
	CHECK_STR(val(&rr, "segment"), "0");

	/* raw numbers beside the text */
	struct dnsreel_value v;
	char buf[256];
	dnsreel_rec__value(&rr, DNSREEL_F_QTYPE, &v, buf, sizeof(buf));
	CHECK(v.has_raw && v.i == 1);
	dnsreel_rec__value(&rr, DNSREEL_F_TIMESTAMP, &v, buf, sizeof(buf));
	CHECK(v.has_raw && v.i == 1725032615463173731LL);
	dnsreel_rec__value(&rr, DNSREEL_F_QR, &v, buf, sizeof(buf));
	CHECK(v.has_raw && v.i == 1);
	dnsreel_rec__value(&rr, DNSREEL_F_LATENCY_NS, &v, buf, sizeof(buf));
	CHECK(v.type == DNSREEL_FT_INT && v.i == 30245219);
	dnsreel_rec__value(&rr, DNSREEL_F_TC, &v, buf, sizeof(buf));
	CHECK(v.type == DNSREEL_FT_BOOL && v.i == 0);

	/* no process context: proc fields are null */
	qe.flags = 0;
	CHECK_STR(val(&rq, "comm"), "(null)");
	CHECK_STR(val(&rq, "pid"), "(null)");
	/* unknown netns: k8s fields null, endpoints plain; IPv6 in brackets */
	qe.netns = 1;
	mkrec(&rq, &qe);
	CHECK_STR(val(&rq, "k8s.podname"), "(null)");
	CHECK_STR(val(&rq, "k8s.node"), "minikube-docker");
	qe.ip_version = 6;
	memset(qe.src_addr, 0, 16);
	qe.src_addr[0] = 0xfd, qe.src_addr[15] = 9;
	CHECK_STR(val(&rq, "src"), "[fd00::9]:51340");
	CHECK_STR(val(&rq, "src.addr"), "fd00::9");
	/* the pod's IPv6 address names the pod too */
	qe.src_addr[15] = 4;
	CHECK_STR(val(&rq, "src"), "p/demo/mypod:51340");
	/* loopback is nobody */
	qe.ip_version = 4;
	memset(qe.src_addr, 0, 16);
	qe.src_addr[0] = 127, qe.src_addr[3] = 1;
	CHECK_STR(val(&rq, "src"), "127.0.0.1:51340");
	/* a service port other than its own is not the service */
	qe.dst_port = 5353;
	CHECK_STR(val(&rq, "dst"), "10.96.0.10:5353");

	/* a message too short for a header: DNS fields null, not garbage */
	struct dnsreel_event be = mkev(false);
	be.cap_len = 5;
	struct dnsreel_rec rb;
	mkrec(&rb, &be);
	CHECK_STR(val(&rb, "id"), "(null)");
	CHECK_STR(val(&rb, "name"), "(null)");
	CHECK_STR(val(&rb, "src"), "p/demo/mypod:51340");

	/* an unknown qtype and rcode print as numbers */
	struct dnsreel_rec rx = rr;
	rx.dns.qtype = 65;
	rx.dns.rcode = 9;
	CHECK_STR(val(&rx, "qtype"), "65");
	CHECK_STR(val(&rx, "rcode"), "9");
}

static void test_ctx(void)
{
	/* upserts keep pointers valid; a capture's context answers other captures' endpoints */
	const struct dnsreel_netns_ctx *p = dnsreel_ctx__netns(ctx, 0, 4026533235u);
	CHECK(p != NULL);
	for (uint64_t i = 0; i < 2000; i++) {
		struct dnsreel_netns_ctx ns;
		memset(&ns, 0, sizeof(ns));
		ns.netns = 5000000000ull + i;
		snprintf(ns.k8s_podname, sizeof(ns.k8s_podname), "pod-%u", (unsigned)i);
		snprintf(ns.k8s_namespace, sizeof(ns.k8s_namespace), "ns");
		snprintf(ns.ips, sizeof(ns.ips), "10.1.%u.%u", (unsigned)(i / 256),
			 (unsigned)(i % 256));
		CHECK_INT(dnsreel_ctx__put_netns(ctx, 3, &ns), 0);
	}
	CHECK(dnsreel_ctx__netns(ctx, 0, 4026533235u) == p);
	CHECK_STR(dnsreel_ctx__netns(ctx, 3, 5000001999ull)->k8s_podname, "pod-1999");
	CHECK(dnsreel_ctx__netns(ctx, 2, 5000001999ull) == NULL);
	struct dnsreel_endpoint ep;
	uint8_t a[16] = {10, 1, 7, 207};
	dnsreel_ctx__endpoint(ctx, 3, 4, a, 1, &ep);
	CHECK_INT(ep.kind, 'p');
	CHECK_STR(ep.name, "pod-1999");
	dnsreel_ctx__endpoint(ctx, 0, 4, a, 1, &ep); /* from another capture: still known */
	CHECK_INT(ep.kind, 'p');
	a[0] = 11;
	dnsreel_ctx__endpoint(ctx, 3, 4, a, 1, &ep);
	CHECK_INT(ep.kind, 0);
	/* upsert: the pod got its name later */
	struct dnsreel_netns_ctx ns = *p;
	snprintf(ns.k8s_podname, sizeof(ns.k8s_podname), "renamed");
	CHECK_INT(dnsreel_ctx__put_netns(ctx, 0, &ns), 0);
	CHECK(dnsreel_ctx__netns(ctx, 0, 4026533235u) == p);
	CHECK_STR(p->k8s_podname, "renamed");
	/* a service with port 0 covers any port */
	struct dnsreel_service_ctx s;
	memset(&s, 0, sizeof(s));
	s.ip_version = 6;
	s.addr[0] = 0xfd, s.addr[1] = 0x96, s.addr[15] = 0x0a;
	snprintf(s.k8s_namespace, sizeof(s.k8s_namespace), "kube-system");
	snprintf(s.name, sizeof(s.name), "dns6");
	CHECK_INT(dnsreel_ctx__put_service(ctx, 0, &s), 0);
	dnsreel_ctx__endpoint(ctx, 0, 6, s.addr, 5353, &ep);
	CHECK_INT(ep.kind, 's');
	CHECK_STR(ep.name, "dns6");
	/* live upserts of an unchanged record, then a new address */
	struct dnsreel_netns_ctx live = *dnsreel_ctx__netns(ctx, 3, 5000000007ull);
	for (int i = 0; i < 100000; i++)
		CHECK_INT(dnsreel_ctx__put_netns(ctx, 3, &live) |
			      dnsreel_ctx__put_service(ctx, 0, &s),
			  0);
	snprintf(live.ips, sizeof(live.ips), "10.9.9.9");
	CHECK_INT(dnsreel_ctx__put_netns(ctx, 3, &live), 0);
	uint8_t b[16] = {10, 9, 9, 9};
	dnsreel_ctx__endpoint(ctx, 3, 4, b, 1, &ep);
	CHECK_INT(ep.kind, 'p');
	CHECK_STR(ep.name, "pod-7");
	CHECK(dnsreel_ctx__meta(ctx, 3) == NULL);
	CHECK(dnsreel_ctx__meta(ctx, 0) != NULL);
}

int main(void)
{
	q = check_read_file(DATA_DIR "/a.q.bin", &ql);
	r = check_read_file(DATA_DIR "/a.r.bin", &rl);
	CHECK(q && r);
	if (!q || !r)
		return check_done("test_fields");
	setup_ctx();
	test_table();
	test_values();
	test_ctx();
	dnsreel_ctx__free(ctx);
	free(q);
	free(r);
	return check_done("test_fields");
}
