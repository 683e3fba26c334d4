/* The view over a real capture recorded in the lab (tests/data/lab-basic.reel): context loaded
 * from the capture, every event decoded (UDP and TCP, IPv4 and IPv6), the same number of DNS
 * messages tshark finds in the tcpdump pcaps of the same run, endpoints rendered as pods and
 * services, latency at the client pod for every answer, and filter pushdown by pod. */
#include <stdint.h>

#include "capture.h"
#include "check.h"
#include "dnsreel.h"
#include "view.h"

static uint64_t APP_NETNS; /* the netns of the app pod default/dnsclient */

struct evref {
	const struct dnsreel_event *ev;
	uint32_t segment;
};

struct stats {
	int recs, errs, tcp, v6, app_resp, app_resp_lat, app_pod_src, app_svc_dst, nx, servfail;
	int big_tcp;
	bool names[16];
};

static const char *const want_names[] = {
    "www.example.test.",       "alias.example.test.",
    "example.test.",	       "_http._tcp.web.default.svc.cluster.local.",
    "nosuch.example.test.",    "nope.default.svc.cluster.local.",
    "x.broken.test.",	       "mail.example.test.default.svc.cluster.local.",
    "mail.example.test.",      "txt.example.test.",
    "_sip._udp.example.test.", "big.example.test.",
};
#define NWANT (sizeof(want_names) / sizeof(want_names[0]))

static int on_rec(void *arg, const struct dnsreel_rec *rec)
{
	struct stats *st = arg;
	char buf[512];
	struct dnsreel_value v;
	st->recs++;
	if (rec->dns.err) {
		fprintf(stderr, "rec %d: parse error %d at %u (%s)\n", st->recs, rec->dns.err,
			rec->dns.err_off, rec->dns.err_what);
		st->errs++;
	}
	if (rec->ev->proto == 6)
		st->tcp++;
	if (rec->ev->ip_version == 6)
		st->v6++;
	for (size_t i = 0; i < NWANT; i++)
		if (!strcmp(rec->dns.qname, want_names[i]))
			st->names[i] = true;
	if (rec->dns.qr && rec->dns.rcode == 3)
		st->nx++;
	if (rec->dns.qr && rec->dns.rcode == 2)
		st->servfail++;
	if (rec->ev->proto == 6 && rec->dns.qr && !strcmp(rec->dns.qname, "big.example.test.") &&
	    rec->msg_len > 2000)
		st->big_tcp++;
	if (rec->ev->netns == APP_NETNS) {
		if (rec->dns.qr) {
			st->app_resp++;
			if (rec->latency_ns > 0 && rec->latency_ns < 5000000000LL)
				st->app_resp_lat++;
		} else {
			dnsreel_rec__value(rec, DNSREEL_F_SRC, &v, buf, sizeof(buf));
			if (v.len > 19 && !memcmp(v.s, "p/default/dnsclient:", 20))
				st->app_pod_src++;
			dnsreel_rec__value(rec, DNSREEL_F_DST, &v, buf, sizeof(buf));
			if (v.len == 25 && !memcmp(v.s, "s/kube-system/kube-dns:53", 25))
				st->app_svc_dst++;
			dnsreel_rec__value(rec, DNSREEL_F_K8S_PODNAME, &v, buf, sizeof(buf));
			CHECK(!v.null && v.len == 9 && !memcmp(v.s, "dnsclient", 9));
		}
	}
	return 0;
}

static int cmp_ev(const void *a, const void *b)
{
	const struct evref *x = a, *y = b;
	if (x->ev->ts_ns != y->ev->ts_ns)
		return x->ev->ts_ns < y->ev->ts_ns ? -1 : 1;
	return x < y ? -1 : 1;
}

int main(int argc, char **argv)
{
	/* DNS messages tshark finds in the tcpdump pcaps of the same run (see CMakeLists.txt) */
	int want_recs = argc > 1 ? atoi(argv[1]) : -1;
	struct dnsreel_capr *r = NULL;
	char err[512] = "";
	int rc = dnsreel_capr__open(&r, CAPTURE_DIR, NULL, err, sizeof(err));
	if (rc < 0) {
		fprintf(stderr, "open %s: %s\n", CAPTURE_DIR, err);
		CHECK(rc == 0);
		return check_done("test_capture");
	}
	struct dnsreel_ctx *ctx = NULL;
	CHECK_INT(dnsreel_ctx__new(&ctx), 0);
	CHECK_INT(dnsreel_ctx__add_capture(ctx, 0, r), 0);
	CHECK(dnsreel_ctx__meta(ctx, 0) != NULL);
	for (size_t i = 0; i < dnsreel_capr__netns_count(r); i++) {
		const struct dnsreel_netns_ctx *ns = dnsreel_capr__netns_at(r, i);
		if (!strcmp(ns->k8s_podname, "dnsclient"))
			APP_NETNS = ns->netns;
	}
	CHECK(APP_NETNS != 0);
	CHECK(dnsreel_ctx__netns(ctx, 0, APP_NETNS) != NULL);

	size_t nf = dnsreel_capr__frame_count(r);
	struct dnsreel_block *blk = calloc(nf ? nf : 1, sizeof(*blk));
	size_t nev = 0, cap = 0;
	struct evref *evs = NULL;
	size_t bad = 0;
	for (size_t i = 0; i < nf; i++) {
		if (dnsreel_capr__read_frame(r, i, &blk[i], err, sizeof(err)) < 0) {
			fprintf(stderr, "%s\n", err);
			bad++;
		}
		const struct dnsreel_frame_info *fi = dnsreel_capr__frame(r, i);
		for (size_t k = 0; k < blk[i].n; k++) {
			if (nev == cap)
				evs = realloc(evs, (cap = cap ? cap * 2 : 512) * sizeof(*evs));
			evs[nev].ev = &blk[i].ev[k];
			evs[nev].segment = fi->segment;
			nev++;
		}
	}
	if (bad == nf) {
		/* A golden capture this build cannot read is a format compatibility break: fail
		 * loudly rather than skip, so it is fixed (re-recorded or a version bump). */
		fprintf(stderr, "test_capture: FAIL: no frame of %s decodes with this build\n",
			CAPTURE_DIR);
		free(blk);
		dnsreel_ctx__free(ctx);
		dnsreel_capr__close(r);
		return 1;
	}
	CHECK_INT(bad, 0);
	qsort(evs, nev, sizeof(*evs), cmp_ev);

	struct dnsreel_decoder *d = NULL;
	CHECK_INT(dnsreel_decoder__new(&d, ctx, NULL), 0);
	struct stats st;
	memset(&st, 0, sizeof(st));
	for (size_t i = 0; i < nev; i++)
		CHECK_INT(dnsreel_decoder__feed(d, 0, evs[i].segment, evs[i].ev, on_rec, &st), 0);
	dnsreel_decoder__free(d);

	/* every message: as many as tshark decodes from the pcaps (327 when this was written) */
	if (want_recs >= 0)
		CHECK_INT(st.recs, want_recs);
	else
		printf("test_capture: no tshark count given; %d messages decoded\n", st.recs);
	CHECK(st.recs > 300);
	CHECK_INT(st.errs, 0);
	CHECK(st.tcp >= 8);
	CHECK(st.v6 >= 2);
	CHECK(st.big_tcp >= 1);
	CHECK(st.nx >= 2);
	CHECK(st.servfail >= 1);
	for (size_t i = 0; i < NWANT; i++)
		if (!st.names[i]) {
			fprintf(stderr, "name %s not seen\n", want_names[i]);
			check_failures++;
		}
	/* at the app pod: 17 answers (13 transactions, 3 search-path NXDOMAINs, the TC retry),
	 * each with the time since its query */
	CHECK_INT(st.app_resp, 17);
	CHECK_INT(st.app_resp_lat, st.app_resp);
	CHECK(st.app_pod_src >= 14);
	CHECK(st.app_svc_dst >= 13);

	/* pushdown: -p dnsclient names exactly the app netns */
	struct dnsreel_filter *f = NULL;
	struct dnsreel_prune p;
	CHECK_INT(dnsreel_filter__new(&f), 0);
	CHECK_INT(
	    dnsreel_filter__add_any_of(f, DNSREEL_F_K8S_PODNAME, "dnsclient", err, sizeof(err)), 0);
	dnsreel_filter__prune(f, ctx, 0, &p);
	CHECK_INT(p.netns_count, 1);
	CHECK(p.netns_count == 1 && p.netns[0] == APP_NETNS);
	dnsreel_filter__free(f);

	for (size_t i = 0; i < nf; i++)
		dnsreel_block__release(&blk[i]);
	free(blk);
	free(evs);
	dnsreel_ctx__free(ctx);
	dnsreel_capr__close(r);
	return check_done("test_capture");
}
