/* The report's writers on their own: escaping of hostile text, the page of an empty capture, a
 * page with one flow (its sequence diagram, its rows), time buckets that merge when full, top-N
 * tables that drop their rarer half, and the K slowest / K broken kept. */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "dnsreel.h"
#include "report_int.h"

#define MS 1000000LL
#define S  1000000000LL

static size_t count(const char *hay, const char *needle)
{
	size_t n = 0;
	for (const char *p = hay; (p = strstr(p, needle)); p += strlen(needle))
		n++;
	return n;
}

static void test_escape(void)
{
	char b[256];
	size_t n = dnsreel_html_escape(b, sizeof(b), "<script>alert('x')</script>&\"", 29);
	CHECK_STR(b, "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&amp;&quot;");
	CHECK_INT(n, strlen(b));
	/* control bytes, DEL, a lone continuation byte, an overlong '/', a surrogate: U+FFFD */
	const char bad[] = "a\x01\x7f\x80\xc0\xaf\xed\xa0\x80z";
	dnsreel_html_escape(b, sizeof(b), bad, sizeof(bad) - 1);
	CHECK_STR(b, "a&#xFFFD;&#xFFFD;&#xFFFD;&#xFFFD;&#xFFFD;&#xFFFD;&#xFFFD;&#xFFFD;z");
	/* valid UTF-8 passes as it is */
	dnsreel_html_escape(b, sizeof(b), "caf\xc3\xa9 \xe2\x9c\x93", 9);
	CHECK_STR(b, "caf\xc3\xa9 \xe2\x9c\x93");
	/* too small: cut at a whole entity, the length needed still told */
	n = dnsreel_html_escape(b, 7, "a<b<c", 5);
	CHECK_STR(b, "a&lt;b");
	CHECK_INT(n, 11);
	dnsreel_html_escape(b, 6, "a<b<c", 5);
	CHECK_STR(b, "a&lt;");
	n = dnsreel_html_escape(NULL, 0, "<<", 2);
	CHECK_INT(n, 8);

	/* through the writer, in slices, a long name with a multi-byte character at each cut */
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	struct dnsreel_html h;
	dnsreel_html__init(&h, f);
	char longname[400];
	for (size_t i = 0; i + 2 < sizeof(longname); i += 2) {
		longname[i] = (char)0xc3;
		longname[i + 1] = (char)0xa9;
	}
	longname[sizeof(longname) - 2] = '<';
	longname[sizeof(longname) - 1] = 0;
	dnsreel_html__text(&h, longname);
	fclose(f);
	CHECK_INT(count(buf, "\xc3\xa9"), 199);
	CHECK_INT(count(buf, "&#xFFFD;"), 0);
	CHECK(strstr(buf, "&lt;") != NULL);
	free(buf);
}

struct page {
	char *buf;
	size_t len;
};

static void findings_cb(void *arg, struct dnsreel_html *h)
{
	dnsreel_html__raw(h, "<p id=\"f\">");
	dnsreel_html__text(h, arg);
	dnsreel_html__raw(h, "</p>");
}

static int write_page(struct page *pg, const struct dnsreel_report_agg *a, const char *title,
		      void *findings)
{
	FILE *f = open_memstream(&pg->buf, &pg->len);
	struct dnsreel_html h;
	dnsreel_html__init(&h, f);
	struct dnsreel_meta meta = {.format_major = 1, .boot_to_wall_ns = 1700000000 * S};
	snprintf(meta.node, sizeof(meta.node), "node-<b>");
	struct dnsreel_report_capture cap = {
	    .path = "x.reel",
	    .meta = &meta,
	    .summary = {.events = 0},
	};
	struct dnsreel_report_page p = {
	    .title = title,
	    .captures = &cap,
	    .ncaptures = 1,
	    .generated_wall_ns = 1700000000 * S,
	    .generator = "test",
	    .findings = findings ? findings_cb : NULL,
	    .findings_arg = findings,
	};
	int err = dnsreel_report_write(&h, &p, a);
	fclose(f);
	return err;
}

/* Nothing a capture can hold may reach the page as markup or as a fetch. */
static void check_inert(const char *html)
{
	CHECK(!strstr(html, "<b>"));
	CHECK(!strstr(html, "<img"));
	CHECK(!strstr(html, "http:"));
	CHECK(!strstr(html, "https:"));
	CHECK(!strstr(html, " src="));
	CHECK(!strstr(html, "//"));
	CHECK_INT(count(html, "<script>"), 1);
	CHECK_INT(count(html, "</script>"), 1);
	/* url() only for the charts' own patterns */
	CHECK_INT(count(html, "url("), count(html, "url(#"));
}

static void test_empty(void)
{
	struct dnsreel_report_agg *a;
	struct dnsreel_report_agg_opts o = {.sz = sizeof(o)};
	CHECK_INT(dnsreel_report_agg__new(&a, &o), 0);
	struct page pg = {0};
	CHECK_INT(write_page(&pg, a, "Empty <i>", NULL), 0);
	CHECK(strstr(pg.buf, "<title>Empty &lt;i&gt;</title>") != NULL);
	CHECK(strstr(pg.buf, "node-&lt;b&gt;") != NULL);
	CHECK(strstr(pg.buf, "No findings were computed") != NULL);
	CHECK(strstr(pg.buf, "No answered flow") != NULL);
	CHECK(strstr(pg.buf, "No broken flow") != NULL);
	CHECK(strstr(pg.buf, "id=\"sum-flows\">0 ") != NULL);
	CHECK_INT(count(pg.buf, "<svg"), 6); /* time, 2 latency, 2 top, unanswered */
	CHECK_INT(count(pg.buf, "</svg>"), 6);
	CHECK_INT(count(pg.buf, "<section"), count(pg.buf, "</section>"));
	CHECK(strstr(pg.buf, "</html>\n") == pg.buf + pg.len - 8);
	check_inert(pg.buf);
	free(pg.buf);
	dnsreel_report_agg__free(a);
}

/* A flow as flows.h hands it out: client -> node (DNAT) -> forwarder -> upstream. */
struct built {
	struct dnsreel_event q, uq;
	struct dnsreel_flow_hop hops[6];
	struct dnsreel_flow_upstream up[2];
	struct dnsreel_flow f;
};

static void build(struct built *b, const char *name, const char *id, int64_t wall, int64_t latency,
		  bool answered, uint16_t rcode, bool upstream_answered)
{
	memset(b, 0, sizeof(*b));
	b->q.ip_version = 4;
	inet_pton(AF_INET, "10.244.0.10", b->q.src_addr);
	inet_pton(AF_INET, "10.96.0.10", b->q.dst_addr);
	b->q.src_port = 39508;
	b->q.dst_port = 53;
	b->uq = b->q;
	inet_pton(AF_INET, "10.244.0.3", b->uq.src_addr);
	inet_pton(AF_INET, "10.254.0.2", b->uq.dst_addr);
	static const int roles[6] = {DNSREEL_ROLE_CLIENT,    DNSREEL_ROLE_NODE,
				     DNSREEL_ROLE_NODE,	     DNSREEL_ROLE_FORWARDER,
				     DNSREEL_ROLE_FORWARDER, DNSREEL_ROLE_UPSTREAM};
	for (int i = 0; i < 6; i++) {
		b->hops[i].role = roles[i];
		b->hops[i].netns = 100 + (uint64_t)roles[i];
		b->hops[i].query = true;
		b->hops[i].transaction = i >= 4 ? 1 : 0;
		b->hops[i].wall_ns = wall + i * 100000;
		b->hops[i].latency_ns = answered ? latency - i * 150000 : -1;
		b->hops[i].event = i >= 4 ? &b->uq : &b->q;
	}
	if (!upstream_answered)
		b->hops[4].latency_ns = b->hops[5].latency_ns = -1;
	b->up[0].id = 0x1234;
	b->up[0].netns = 100 + DNSREEL_ROLE_FORWARDER;
	b->up[0].wall_ns = wall + 400000;
	b->up[0].answered = upstream_answered;
	b->up[0].used = upstream_answered;
	b->up[0].rcode = rcode;
	b->up[0].latency_ns = upstream_answered ? latency / 2 : -1;
	b->up[0].query = &b->uq;
	struct dnsreel_flow *f = &b->f;
	snprintf(f->flow_id, sizeof(f->flow_id), "%s", id);
	snprintf(f->lookup_id, sizeof(f->lookup_id), "%s", id);
	f->wall_ns = wall;
	f->name = name;
	f->qtype = 1;
	f->client_role = DNSREEL_ROLE_CLIENT;
	f->client_netns = 100;
	f->query = &b->q;
	f->answered = answered;
	f->rcode = rcode;
	f->rcode_origin = rcode ? DNSREEL_ROLE_UPSTREAM : -1;
	f->latency_ns = answered ? latency : -1;
	f->hops = b->hops;
	f->nhops = 6;
	f->upstream = b->up;
	f->nupstream = 1;
	f->slowest_hop = -1;
	f->matched = true;
	if (!answered) {
		f->has_lost = true;
		f->lost.role = upstream_answered ? DNSREEL_ROLE_FORWARDER : DNSREEL_ROLE_UPSTREAM;
		f->lost.after_ns = 500000;
	}
}

static void test_one_flow(void)
{
	struct dnsreel_ctx *ctx;
	CHECK_INT(dnsreel_ctx__new(&ctx), 0);
	struct dnsreel_report_agg *a;
	struct dnsreel_report_agg_opts o = {.sz = sizeof(o)};
	CHECK_INT(dnsreel_report_agg__new(&a, &o), 0);
	struct built b;
	build(&b, "<img\\032src=x\\032onerror=alert\\0401\\041>.evil.", "00000000000000aa",
	      1700000100 * S, 2 * MS, true, 0, true);
	CHECK_INT(dnsreel_report_agg__add(a, ctx, &b.f), 0);
	CHECK_INT(dnsreel_report_agg__flows(a), 1);
	CHECK_INT(a->series[RS_SUCCESS], 1);
	CHECK_INT(a->nslow, 1);
	CHECK_INT(a->nbroken, 0);
	CHECK_INT(a->nsrv, 1);
	CHECK_STR(a->srv[0].label, "10.254.0.2:53");
	CHECK_INT(a->role_lat[DNSREEL_ROLE_CLIENT].n, 1);
	CHECK_INT(a->role_lat[DNSREEL_ROLE_NODE].n, 1);	     /* first sighting per role only */
	CHECK_INT(a->role_lat[DNSREEL_ROLE_FORWARDER].n, 2); /* client's and upstream try */
	CHECK_INT(a->role_lat[DNSREEL_ROLE_UPSTREAM].n, 1);
	struct page pg = {0};
	CHECK_INT(write_page(&pg, a, "one", "finding <script>x</script>"), 0);
	CHECK(strstr(pg.buf, "<p id=\"f\">finding &lt;script&gt;x&lt;/script&gt;</p>") != NULL);
	/* the diagram: lanes client, service, forwarder, upstream; 2 queries + 2 responses of the
	 * client's transaction, one upstream try and its answer */
	CHECK_INT(count(pg.buf, "<svg class=\"seq\""), 1);
	CHECK_INT(count(pg.buf, "<g class=\"lane\">"), 4);
	CHECK_INT(count(pg.buf, "<g class=\"msg q\">"), 3);
	CHECK_INT(count(pg.buf, "<g class=\"msg r\">"), 3);
	CHECK_INT(count(pg.buf, "<g class=\"msg lost\">"), 0);
	CHECK(strstr(pg.buf, "id=\"slowest-00000000000000aa\"") != NULL);
	CHECK(strstr(pg.buf, "--flow-id 00000000000000aa") != NULL);
	CHECK(strstr(pg.buf, "&lt;img\\032src=x") != NULL);
	CHECK(strstr(pg.buf, "10.244.0.10:39508") != NULL);
	check_inert(pg.buf);
	free(pg.buf);

	/* an unanswered flow: broken, with a cross where it was last seen */
	build(&b, "lost.example.", "00000000000000bb", 1700000101 * S, 0, false, 0, false);
	CHECK_INT(dnsreel_report_agg__add(a, ctx, &b.f), 0);
	CHECK_INT(a->nbroken, 1);
	CHECK_INT(a->lost[0][DNSREEL_ROLE_UPSTREAM], 1);
	CHECK_INT(a->srv[0].tries, 2);
	CHECK_INT(a->srv[0].answered, 1);
	pg = (struct page){0};
	CHECK_INT(write_page(&pg, a, "two", NULL), 0);
	CHECK_INT(count(pg.buf, "<svg class=\"seq\""), 2);
	CHECK_INT(count(pg.buf, "<g class=\"msg lost\">"), 2); /* the try and the flow */
	CHECK(strstr(pg.buf, "unanswered: query last seen at the upstream") != NULL);
	free(pg.buf);
	dnsreel_report_agg__free(a);
	dnsreel_ctx__free(ctx);
}

static void test_bounds(void)
{
	struct dnsreel_ctx *ctx;
	CHECK_INT(dnsreel_ctx__new(&ctx), 0);
	struct dnsreel_report_agg *a;
	struct dnsreel_report_agg_opts o = {.sz = sizeof(o), .keep = 3, .max_buckets = 8};
	CHECK_INT(dnsreel_report_agg__new(&a, &o), 0);
	struct built b;
	char name[64], id[17];
	/* 10000 flows over 100 s, names from a long tail, latency rising with i */
	for (int i = 0; i < 10000; i++) {
		if (i % 3 == 0)
			snprintf(name, sizeof(name), "hot.example.");
		else
			snprintf(name, sizeof(name), "n%d.example.", i);
		snprintf(id, sizeof(id), "%016x", i);
		bool broken = i % 1000 == 7;
		build(&b, name, id, 1700000000 * S + (int64_t)i * 10 * MS, (i + 1) * 1000, !broken,
		      i % 500 == 3 ? 2 : 0, !broken);
		CHECK_INT(dnsreel_report_agg__add(a, ctx, &b.f), 0);
	}
	/* 8 buckets of 16 s hold 100 s */
	CHECK_INT(a->width_ns, 16 * S);
	CHECK(a->nb <= 8);
	uint64_t sum = 0;
	for (size_t i = 0; i < a->nb; i++)
		for (int k = 0; k < RS_COUNT; k++)
			sum += a->b[i][k];
	CHECK_INT(sum, 10000);
	/* the 3 slowest are the last three */
	CHECK_INT(a->nslow, 3);
	for (size_t i = 0; i < 3; i++)
		CHECK(a->slow[i].latency_ns >= 9998 * 1000);
	/* broken: the 10 unanswered beat the 20 SERVFAIL; the first three of them kept */
	CHECK_INT(a->nbroken, 3);
	for (size_t i = 0; i < 3; i++) {
		CHECK(!a->broken[i].answered);
		CHECK(a->broken[i].wall_ns < 1700000000 * S + 3000 * 10 * MS);
	}
	/* the names table dropped its rarer half, the hot name counted exactly */
	CHECK(a->names.evictions > 0);
	CHECK(a->names.n <= a->names.cap);
	const struct report_top_ent *e[3];
	CHECK_INT(dnsreel_report_top_sorted(&a->names, e, 3), 3);
	CHECK_STR(e[0]->key, "hot.example.");
	CHECK_INT(e[0]->count, 3334);
	CHECK_INT(e[0]->err, 0);
	CHECK_INT(a->pods.n, 1);
	dnsreel_report_agg__free(a);
	dnsreel_ctx__free(ctx);
}

static void test_write_error(void)
{
	FILE *f = fopen("/dev/full", "w");
	if (!f)
		return;
	setvbuf(f, NULL, _IONBF, 0);
	struct dnsreel_html h;
	dnsreel_html__init(&h, f);
	dnsreel_html__text(&h, "x");
	CHECK(dnsreel_html__error(&h) < 0);
	fclose(f);
}

int main(void)
{
	test_escape();
	test_empty();
	test_one_flow();
	test_bounds();
	test_write_error();
	return check_done("report");
}
