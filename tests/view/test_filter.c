/* -F filters: every operator on string, numeric, raw-number and bool fields, null values,
 * regex, parse errors, any-of lists, the time window, and what prune() pushes down. */
#include <stdint.h>

#include "check.h"
#include "dnsreel.h"
#include "view.h"

static struct dnsreel_ctx *ctx;
static uint8_t *q, *r, *nx;
static size_t ql, rl, nxl;
static struct dnsreel_event qe, re, ne;
static struct dnsreel_rec rq, rr, rn;

static void add_ns(uint64_t id, const char *k8sns, const char *pod, const char *cont)
{
	struct dnsreel_netns_ctx ns;
	memset(&ns, 0, sizeof(ns));
	ns.netns = id;
	snprintf(ns.k8s_namespace, sizeof(ns.k8s_namespace), "%s", k8sns);
	snprintf(ns.k8s_podname, sizeof(ns.k8s_podname), "%s", pod);
	snprintf(ns.k8s_containername, sizeof(ns.k8s_containername), "%s", cont);
	CHECK_INT(dnsreel_ctx__put_netns(ctx, 0, &ns), 0);
}

static void mk(struct dnsreel_event *e, struct dnsreel_rec *rec, const uint8_t *msg, size_t len,
	       uint64_t netns, int64_t ts)
{
	memset(e, 0, sizeof(*e));
	e->ts_ns = ts;
	e->netns = netns;
	e->ip_version = 4;
	e->proto = 17;
	e->src_addr[0] = 10, e->src_addr[3] = 4;
	e->dst_addr[0] = 10, e->dst_addr[3] = 53;
	e->src_port = 40000;
	e->dst_port = 53;
	e->flags = DNSREEL_EV_PROC;
	e->pid = 1234;
	snprintf(e->comm, sizeof(e->comm), "curl");
	e->payload = msg;
	e->cap_len = e->orig_len = (uint32_t)len;
	memset(rec, 0, sizeof(*rec));
	rec->ctx = ctx;
	rec->ev = e;
	rec->ns = dnsreel_ctx__netns(ctx, 0, netns);
	rec->wall_ns = ts;
	rec->msg = msg;
	rec->msg_len = (uint32_t)len;
	dnsreel_dns_parse(msg, len, &rec->dns);
}

/* Does a filter made of the one expression match rec? -1 when the expression is refused. */
static int m1(const char *expr, const struct dnsreel_rec *rec)
{
	struct dnsreel_filter *f;
	char err[256] = "";
	dnsreel_filter__new(&f);
	int rc = dnsreel_filter__add(f, expr, err, sizeof(err));
	int res = rc < 0 ? -1 : dnsreel_filter__match(f, rec);
	if (rc < 0 && !err[0]) {
		fprintf(stderr, "no error text for %s\n", expr);
		check_failures++;
	}
	dnsreel_filter__free(f);
	return res;
}

static void test_ops(void)
{
	/* strings */
	CHECK_INT(m1("name==www.example.test.", &rq), 1);
	CHECK_INT(m1("name==WWW.Example.Test", &rq), 1); /* DNS names: case, final dot */
	CHECK_INT(m1(" name == www.example.test.", &rq), 1);
	CHECK_INT(m1("name==example.test.", &rq), 0);
	CHECK_INT(m1("name!=example.test.", &rq), 1);
	CHECK_INT(m1("name~^www\\.", &rq), 1);
	CHECK_INT(m1("name~example", &rq), 1); /* unanchored */
	CHECK_INT(m1("name~^example", &rq), 0);
	CHECK_INT(m1("name!~^www", &rq), 0);
	CHECK_INT(m1("name!~nxdomain", &rq), 1);
	CHECK_INT(m1("k8s.podName~mypod|coredns-.*", &rq), 1);
	CHECK_INT(m1("k8s.podname==mypod", &rq), 1);
	CHECK_INT(m1("k8s.podname==MYPOD", &rq), 0);
	CHECK_INT(m1("comm==curl", &rq), 1);
	CHECK_INT(m1("src==10.0.0.4:40000", &rq), 1);
	CHECK_INT(m1("name<xyz", &rq), 1); /* string order */
	CHECK_INT(m1("name>xyz", &rq), 0);
	CHECK_INT(m1("name>=www.example.test.", &rq), 1);
	CHECK_INT(m1("name<=www.example.test.", &rq), 1);
	CHECK_INT(m1("addresses~192\\.0\\.2\\.11", &rr), 1);

	/* numbers */
	CHECK_INT(m1("pid==1234", &rq), 1);
	CHECK_INT(m1("pid!=1234", &rq), 0);
	CHECK_INT(m1("pid>1000", &rq), 1);
	CHECK_INT(m1("pid>=1234", &rq), 1);
	CHECK_INT(m1("pid<1234", &rq), 0);
	CHECK_INT(m1("pid<=1234", &rq), 1);
	CHECK_INT(m1("pid>99999", &rq), 0);
	CHECK_INT(m1("pid==abc", &rq), -1);
	CHECK_INT(m1("pid~^12", &rq), 1); /* regex on the text */
	CHECK_INT(m1("num_answers==2", &rr), 1);
	CHECK_INT(m1("num_answers>2", &rr), 0);
	CHECK_INT(m1("netns_id==4026533235", &rq), 1);
	CHECK_INT(m1("dst.port==53", &rq), 1);
	rr.latency_ns = 30000000;
	CHECK_INT(m1("latency_ns>20000000", &rr), 1);
	CHECK_INT(m1("latency_ns>20ms", &rr), 1);
	CHECK_INT(m1("latency_ns>=0.5s", &rr), 0);
	CHECK_INT(m1("latency_ns<1s", &rr), 1);
	/* past int64 the value is refused, not converted into whatever the cast gives */
	CHECK_INT(m1("latency_ns>1e99", &rr), -1);
	CHECK_INT(m1("latency_ns<-1e99", &rr), -1);
	CHECK_INT(m1("latency_ns>nan", &rr), -1);
	CHECK_INT(m1("latency_ns>1e9h", &rr), -1);
	CHECK_INT(m1("latency_ns>1h", &rr), 0);

	/* fields with a raw number */
	CHECK_INT(m1("qtype==A", &rq), 1);
	CHECK_INT(m1("qtype==a", &rq), 1);
	CHECK_INT(m1("qtype==1", &rq), 1);
	CHECK_INT(m1("qtype!=AAAA", &rq), 1);
	CHECK_INT(m1("qtype<AAAA", &rq), 1); /* 1 < 28 */
	CHECK_INT(m1("qtype>=28", &rq), 0);
	CHECK_INT(m1("rcode==Success", &rr), 1);
	CHECK_INT(m1("rcode==NameError", &rn), 1);
	CHECK_INT(m1("rcode==NXDOMAIN", &rn), 1);
	CHECK_INT(m1("rcode==3", &rn), 1);
	CHECK_INT(m1("rcode!=Success", &rn), 1);
	CHECK_INT(m1("rcode>0", &rn), 1);
	CHECK_INT(m1("rcode==Success", &rq), 0); /* queries have no rcode */
	CHECK_INT(m1("rcode!=Success", &rq), 1);
	CHECK_INT(m1("rcode>=0", &rq), 0);
	CHECK_INT(m1("qr==Q", &rq), 1);
	CHECK_INT(m1("qr==R", &rq), 0);
	CHECK_INT(m1("qr==R", &rr), 1);
	CHECK_INT(m1("qr_raw==true", &rr), 1);
	char idq[32];
	snprintf(idq, sizeof(idq), "id==%04x", rq.dns.id);
	CHECK_INT(m1(idq, &rq), 1);
	snprintf(idq, sizeof(idq), "id==0x%X", rq.dns.id);
	CHECK_INT(m1(idq, &rq), 1);
	snprintf(idq, sizeof(idq), "id>%04x", rq.dns.id);
	CHECK_INT(m1(idq, &rq), 0);
	CHECK_INT(m1("pkt_type==OUTGOING", &rq), 0);
	CHECK_INT(m1("pkt_type==host", &rq), 1);
	CHECK_INT(m1("pkt_type==0", &rq), 1);
	CHECK_INT(m1("proto==udp", &rq), 1);
	CHECK_INT(m1("proto==TCP", &rq), 0);
	CHECK_INT(m1("opcode==QUERY", &rq), 1);

	/* bools */
	CHECK_INT(m1("rd==true", &rq), 1);
	CHECK_INT(m1("rd==1", &rq), 1);
	CHECK_INT(m1("tc==true", &rq), 0);
	CHECK_INT(m1("aa!=false", &rr), 1);
	CHECK_INT(m1("tc==maybe", &rq), -1);

	/* time */
	CHECK_INT(m1("timestamp>=2024-08-30T15:43:35Z", &rq), 1);
	CHECK_INT(m1("timestamp<2024-08-30T15:43:35Z", &rq), 0);
	CHECK_INT(m1("timestamp<2024-08-30T17:43:36+02:00", &rq), 1);

	/* null values: no process context, unknown netns */
	CHECK_INT(m1("comm==curl", &rn), 0);
	CHECK_INT(m1("comm!=curl", &rn), 1);
	CHECK_INT(m1("comm==", &rn), 1);
	CHECK_INT(m1("pid>0", &rn), 0);
	CHECK_INT(m1("pid==", &rn), 1); /* "no process known" */
	CHECK_INT(m1("pid==", &rq), 0);
	CHECK_INT(m1("pid!=", &rq), 1);
	CHECK_INT(m1("pid<", &rq), -1);
	CHECK_INT(m1("k8s.podname==", &rn), 1);
	CHECK_INT(m1("k8s.podname~.", &rn), 0);

	/* the older spelling */
	CHECK_INT(m1("name:www.example.test.", &rq), 1);
	CHECK_INT(m1("name:!www.example.test.", &rq), 0);
	CHECK_INT(m1("name:~^www", &rq), 1);
	CHECK_INT(m1("name:!~^www", &rq), 0);
	CHECK_INT(m1("pid:>=1234", &rq), 1);
	CHECK_INT(m1("pid:!>=1234", &rq), 0);
	CHECK_INT(m1("pid:<2000", &rq), 1);
	CHECK_INT(m1("pid:!<2000", &rq), 0);

	/* refused expressions */
	CHECK_INT(m1("nosuch==1", &rq), -1);
	CHECK_INT(m1("name=x", &rq), -1);
	CHECK_INT(m1("name", &rq), -1);
	CHECK_INT(m1("==x", &rq), -1);
	CHECK_INT(m1("name~(", &rq), -1);
	/* back-references have no cost bound: refused; nested repeats match without backtracking */
	CHECK_INT(m1("name~(w)\\1", &rq), -1);
	CHECK_INT(m1("name~^(w+)+\\.example", &rq), 1);
	CHECK_INT(m1("name~^((w|ww)+)+x$", &rq), 0);
	CHECK_INT(m1("name!~^((w|ww)+)+x$", &rq), 1);
	{
		char big[1100];
		memset(big, 'a', sizeof(big));
		memcpy(big, "name~", 5);
		big[sizeof(big) - 1] = 0;
		CHECK_INT(m1(big, &rq), -1); /* longer than 1024 bytes */
	}
	CHECK_INT(m1("qtype>bogus", &rq), -1);
	CHECK_INT(m1("timestamp>yesterday-ish", &rq), -1);
}

static void test_combined(void)
{
	struct dnsreel_filter *f;
	char err[128];
	CHECK_INT(dnsreel_filter__new(&f), 0);
	CHECK(dnsreel_filter__empty(f));
	CHECK(dnsreel_filter__match(f, &rq));
	CHECK_INT(dnsreel_filter__add(f, "name~example", err, sizeof(err)), 0);
	CHECK_INT(dnsreel_filter__add(f, "qr==R", err, sizeof(err)), 0);
	CHECK(!dnsreel_filter__empty(f));
	CHECK(!dnsreel_filter__match(f, &rq)); /* ANDed */
	CHECK(dnsreel_filter__match(f, &rr));
	CHECK_INT(dnsreel_filter__add_any_of(f, DNSREEL_F_K8S_NAMESPACE, "kube-system, demo", err,
					     sizeof(err)),
		  0);
	CHECK(dnsreel_filter__match(f, &rr));
	CHECK_INT(dnsreel_filter__add_any_of(f, DNSREEL_F_K8S_PODNAME, "a,b", err, sizeof(err)), 0);
	CHECK(!dnsreel_filter__match(f, &rr));
	CHECK(dnsreel_filter__add_any_of(f, DNSREEL_F_K8S_PODNAME, " , ", err, sizeof(err)) < 0);
	dnsreel_filter__free(f);

	/* window */
	CHECK_INT(dnsreel_filter__new(&f), 0);
	dnsreel_filter__set_window(f, 1000, 2000);
	CHECK(!dnsreel_filter__empty(f));
	CHECK(dnsreel_filter__match(f, &rq)); /* ts 1500 */
	dnsreel_filter__set_window(f, 1600, 0);
	CHECK(!dnsreel_filter__match(f, &rq));
	dnsreel_filter__set_window(f, 0, 1400);
	CHECK(!dnsreel_filter__match(f, &rq));
	dnsreel_filter__free(f);
}

static bool has_netns(const struct dnsreel_prune *p, uint64_t n)
{
	for (size_t i = 0; i < p->netns_count; i++)
		if (p->netns[i] == n)
			return true;
	return false;
}

#if !defined(__SANITIZE_ADDRESS__) && !defined(__SANITIZE_UNDEFINED__)
/* realloc that fails on demand (the sanitizers own realloc, so only in plain builds) */
extern void *__libc_realloc(void *p, size_t n);
static int fail_realloc;
void *realloc(void *p, size_t n)
{
	return fail_realloc ? NULL : __libc_realloc(p, n);
}

/* Out of memory while listing the netns a -n matches: prune must fail open (no netns list),
 * never closed (an empty or short list would drop matching events silently). */
static void test_prune_oom(void)
{
	struct dnsreel_filter *f;
	struct dnsreel_prune p;
	char err[128];
	CHECK_INT(dnsreel_filter__new(&f), 0);
	dnsreel_filter__add_any_of(f, DNSREEL_F_K8S_NAMESPACE, "demo", err, sizeof(err));
	fail_realloc = 1;
	dnsreel_filter__prune(f, ctx, 0, &p);
	fail_realloc = 0;
	CHECK_INT(p.netns_count, 0);
	CHECK(p.netns == NULL);
	CHECK_INT(p.since_wall_ns, 0);
	dnsreel_filter__prune(f, ctx, 0, &p);
	CHECK_INT(p.netns_count, 2);
	dnsreel_filter__free(f);
}
#else
static void test_prune_oom(void)
{
}
#endif

static void test_prune(void)
{
	struct dnsreel_filter *f;
	struct dnsreel_prune p;
	char err[128];

	CHECK_INT(dnsreel_filter__new(&f), 0);
	dnsreel_filter__prune(f, ctx, 0, &p);
	CHECK(!p.netns_count && !p.name && !p.qr_mask && !p.rcode_mask && !p.since_wall_ns);
	dnsreel_filter__set_window(f, 100, 200);
	dnsreel_filter__add(f, "name==www.example.test.", err, sizeof(err));
	dnsreel_filter__add(f, "rcode==NameError", err, sizeof(err));
	dnsreel_filter__add_any_of(f, DNSREEL_F_K8S_NAMESPACE, "demo", err, sizeof(err));
	dnsreel_filter__prune(f, ctx, 0, &p);
	CHECK_INT(p.since_wall_ns, 100);
	CHECK_INT(p.until_wall_ns, 200);
	CHECK_STR(p.name, "www.example.test.");
	CHECK_INT(p.rcode_mask, 1u << 3);
	CHECK_INT(p.qr_mask, 2);
	CHECK_INT(p.netns_count, 2);
	CHECK(has_netns(&p, 4026533235u) && has_netns(&p, 4026533236u));
	dnsreel_filter__free(f);

	/* -p with a regex-free name, and a -c: intersection of netns terms */
	CHECK_INT(dnsreel_filter__new(&f), 0);
	dnsreel_filter__add_any_of(f, DNSREEL_F_K8S_PODNAME, "mypod,coredns-1", err, sizeof(err));
	dnsreel_filter__add(f, "k8s.containername~^core", err, sizeof(err));
	dnsreel_filter__prune(f, ctx, 0, &p);
	CHECK_INT(p.netns_count, 1);
	CHECK(has_netns(&p, 4026533300u));
	dnsreel_filter__free(f);

	/* netns_id== named directly, even when the capture does not know it */
	CHECK_INT(dnsreel_filter__new(&f), 0);
	dnsreel_filter__add(f, "netns_id==777", err, sizeof(err));
	dnsreel_filter__add(f, "qr==Q", err, sizeof(err));
	dnsreel_filter__add(f, "timestamp>=2024-08-30T15:43:35Z", err, sizeof(err));
	dnsreel_filter__prune(f, ctx, 0, &p);
	CHECK_INT(p.netns_count, 1);
	CHECK(has_netns(&p, 777));
	CHECK_INT(p.qr_mask, 1);
	CHECK_INT(p.since_wall_ns, 1725032615000000000LL);
	dnsreel_filter__free(f);

	/* a negative pod term matches unknown netns: no netns pushdown */
	CHECK_INT(dnsreel_filter__new(&f), 0);
	dnsreel_filter__add(f, "k8s.podname!=mypod", err, sizeof(err));
	dnsreel_filter__prune(f, ctx, 0, &p);
	CHECK_INT(p.netns_count, 0);
	CHECK_INT(p.since_wall_ns, 0);
	dnsreel_filter__free(f);

	/* a pod nobody has: nothing can match */
	CHECK_INT(dnsreel_filter__new(&f), 0);
	dnsreel_filter__add(f, "k8s.podname==ghost", err, sizeof(err));
	dnsreel_filter__prune(f, ctx, 0, &p);
	CHECK(p.since_wall_ns == INT64_MAX || p.netns_count == 0);
	CHECK(p.since_wall_ns == INT64_MAX);
	dnsreel_filter__free(f);

	/* rcode with qr==Q: nothing */
	CHECK_INT(dnsreel_filter__new(&f), 0);
	dnsreel_filter__add(f, "qr==Q", err, sizeof(err));
	dnsreel_filter__add(f, "rcode==Success", err, sizeof(err));
	dnsreel_filter__prune(f, ctx, 0, &p);
	CHECK(p.since_wall_ns == INT64_MAX);
	dnsreel_filter__free(f);
}

/* A typo in a field name or an enumerated value is an error naming the closest spelling, never
 * a filter that silently matches nothing. */
static void test_suggestions(void)
{
	static const struct {
		const char *expr, *want;
	} cases[] = {
	    {"rcode==NXDomian", "unknown rcode 'NXDomian' (did you mean NXDOMAIN / NameError?)"},
	    {"rcode==Sucess", "(did you mean NOERROR / Success?)"},
	    {"qtype==AAA", "unknown qtype 'AAA' (did you mean AAAA?)"},
	    {"pkt_type==OUTGOIGN", "unknown pkt_type 'OUTGOIGN' (did you mean OUTGOING?)"},
	    {"proto!=UPD", "unknown proto 'UPD' (did you mean UDP?)"},
	    {"pky_type==HOST", "unknown field \"pky_type\" (did you mean pkt_type?)"},
	    {"k8s.podnmae==x", "(did you mean k8s.podname?)"},
	    {"rcode==qqqqqqqq", "unknown rcode 'qqqqqqqq' (names as trace_dns prints them"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct dnsreel_filter *f = NULL;
		char err[256] = "";
		CHECK_INT(dnsreel_filter__new(&f), 0);
		CHECK_INT(dnsreel_filter__add(f, cases[i].expr, err, sizeof(err)), DNSREEL_E_PARSE);
		CHECKF(strstr(err, cases[i].want) != NULL, "%s: got \"%s\"", cases[i].expr, err);
		dnsreel_filter__free(f);
	}
	/* known spellings in every form stay accepted */
	static const char *const ok[] = {"rcode==nxdomain", "rcode==NameError", "rcode==3",
					 "qtype==TYPE65",   "qtype==https",	"pkt_type==host",
					 "proto==tcp",	    "rcode==",		"opcode==QUERY"};
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		struct dnsreel_filter *f = NULL;
		char err[256] = "";
		CHECK_INT(dnsreel_filter__new(&f), 0);
		CHECKF(dnsreel_filter__add(f, ok[i], err, sizeof(err)) == 0, "%s: %s", ok[i], err);
		dnsreel_filter__free(f);
	}
	char err[256] = "";
	enum dnsreel_field_id ids[4];
	size_t n = 0;
	CHECK_INT(dnsreel_fields_parse("name,pky_type", ids, 4, &n, err, sizeof(err)),
		  DNSREEL_E_ARG);
	CHECK_STR(err, "unknown field 'pky_type' (did you mean pkt_type?)");
}

int main(void)
{
	q = check_read_file(DATA_DIR "/a.q.bin", &ql);
	r = check_read_file(DATA_DIR "/a.r.bin", &rl);
	nx = check_read_file(DATA_DIR "/nxdomain.r.bin", &nxl);
	CHECK(q && r && nx);
	if (!q || !r || !nx)
		return check_done("test_filter");
	CHECK_INT(dnsreel_ctx__new(&ctx), 0);
	add_ns(4026533235u, "demo", "mypod", "main");
	add_ns(4026533236u, "demo", "otherpod", "main");
	add_ns(4026533300u, "kube-system", "coredns-1", "coredns");
	add_ns(4026533301u, "kube-system", "coredns-2", "coredns");
	mk(&qe, &rq, q, ql, 4026533235u, 1500);
	mk(&re, &rr, r, rl, 4026533235u, 1725032615463173731LL);
	mk(&ne, &rn, nx, nxl, 99, 1700);
	rq.wall_ns = 1725032615463173731LL;
	ne.flags = 0;
	test_ops();
	rq.wall_ns = 1500;
	test_combined();
	test_prune();
	test_suggestions();
	test_prune_oom();
	dnsreel_ctx__free(ctx);
	free(q);
	free(r);
	free(nx);
	return check_done("test_filter");
}
