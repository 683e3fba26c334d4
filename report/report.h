/* The incident report: one self-contained HTML page drawn from flows. Three parts, a file each:
 *
 *   html.c     the page writer: every string from a capture is escaped here, the page skeleton
 *              (inline CSS with a print stylesheet, a small script that sorts tables), tables
 *   svg.c      charts as inline SVG: stacked series over time, histograms, horizontal bars;
 *              every series has a pattern and a text label, so no meaning rests on colour
 *   seqdiag.c  one flow as a sequence diagram: pod -> service -> CoreDNS -> upstream
 *   agg.c      the fixed-size aggregates fed one flow at a time (time buckets that merge when
 *              full, latency histograms, top-N counters, the K slowest and K broken flows)
 *   findings.c the diagnose findings (diagnose.h) with their evidence
 *   page.c     the sections of the page from the aggregates and the captures' summaries
 *
 * Memory is bounded by the aggregates' fixed sizes, never by the capture. Nothing here prints
 * to a terminal or exits; writers record the first write error and report it at the end.
 */
#ifndef DNSREEL_REPORT_H
#define DNSREEL_REPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "flows.h"
#include "view.h"

/* ---- HTML writer ------------------------------------------------------------------------- */

struct dnsreel_html {
	FILE *out;
	int err;      /* first write error (-errno), 0 while all is well */
	unsigned ids; /* ids handed out for charts, so SVG pattern ids stay unique in a page */
};

void dnsreel_html__init(struct dnsreel_html *h, FILE *out);
/* Trusted markup of our own, written as it is. Never pass text from a capture. */
void dnsreel_html__raw(struct dnsreel_html *h, const char *markup);
void dnsreel_html__printf(struct dnsreel_html *h, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Untrusted text (names, pod names, anything from a capture): escaped for element text and
 * quoted attribute values alike. NULL writes nothing. */
void dnsreel_html__text(struct dnsreel_html *h, const char *s);
/* The same for n bytes. */
void dnsreel_html__textn(struct dnsreel_html *h, const char *s, size_t n);
/* 0 or the first write error. */
int dnsreel_html__error(const struct dnsreel_html *h);
/* Escapes s into d (dlen bytes, always terminated, cut at a whole entity when short): & < > " '
 * become entities; control bytes, DEL and bytes of invalid UTF-8 become U+FFFD, so nothing a
 * capture holds can end an element, an attribute, a comment or a script. Returns the length the
 * whole escaped text needs (snprintf rules). */
size_t dnsreel_html_escape(char *d, size_t dlen, const char *s, size_t n);

/* <!DOCTYPE html> ... <body>: title (untrusted, escaped), the inline style and script. */
void dnsreel_html__page_begin(struct dnsreel_html *h, const char *title);
void dnsreel_html__page_end(struct dnsreel_html *h);

/* Sortable tables: a header row of th with scope=col; data-sort says how a column sorts. */
struct dnsreel_html_col {
	const char *name; /* trusted header text */
	bool numeric;	  /* right-aligned, sorts by number */
};
/* id: trusted, unique in the page; caption: trusted text. */
void dnsreel_html__table_begin(struct dnsreel_html *h, const char *id, const char *caption,
			       const struct dnsreel_html_col *cols, size_t ncols);
void dnsreel_html__row_begin(struct dnsreel_html *h);
void dnsreel_html__td_text(struct dnsreel_html *h, const char *untrusted);
void dnsreel_html__td_u64(struct dnsreel_html *h, uint64_t v);
/* A number with its own text (e.g. "1.250" ms): value sorts, text shows. */
void dnsreel_html__td_num(struct dnsreel_html *h, double value, const char *fmt);
void dnsreel_html__row_end(struct dnsreel_html *h);
void dnsreel_html__table_end(struct dnsreel_html *h);

/* ---- SVG charts -------------------------------------------------------------------------- */

/* Series styles: each a fill pattern with a legend label, distinct without colour. */
enum { DNSREEL_SVG_STYLES = 8 };

struct dnsreel_svg_series {
	const char *name; /* trusted label */
	const double *v;  /* n values */
};

/* Stacked series over time (one step area per series, the first at the bottom): n buckets of
 * bucket_s seconds from t0_wall_ns. title and desc are trusted text. */
void dnsreel_svg_stacked(struct dnsreel_html *h, const char *title, const char *desc,
			 const char *ylabel, int64_t t0_wall_ns, double bucket_s,
			 const struct dnsreel_svg_series *s, size_t ns, size_t n);

/* Horizontal bars, one per label (untrusted), value printed beside each bar. */
void dnsreel_svg_hbars(struct dnsreel_html *h, const char *title, const char *desc,
		       const char *const *labels, const double *values, size_t n,
		       const char *value_fmt);

/* Histograms as small multiples, one row per series (untrusted name) over the same buckets
 * (trusted edge labels, nb of them), each row scaled to its own largest bucket. counts is
 * ns x nb, row by row. */
void dnsreel_svg_histograms(struct dnsreel_html *h, const char *title, const char *desc,
			    const char *const *edge_labels, size_t nb, const char *const *names,
			    const uint64_t *counts, size_t ns);

/* ---- flows kept for drawing -------------------------------------------------------------- */

enum { DNSREEL_RF_HOPS = 24, DNSREEL_RF_UP = 6, DNSREEL_RF_LABEL = 96 };

/* A copy of what a sequence diagram needs of one flow, taken inside the flows callback (whose
 * pointers die with it), endpoint names resolved then. */
struct dnsreel_report_flow {
	char flow_id[17];
	char name[256];
	char qtype[16];
	char rcode[24];			  /* empty when unanswered */
	char client[DNSREEL_RF_LABEL];	  /* p/ns/pod or IP:port */
	char server[DNSREEL_RF_LABEL];	  /* the address the client asked: s/ns/svc:53 */
	char forwarder[DNSREEL_RF_LABEL]; /* the netns that answered or forwarded */
	char lost[96];			  /* where it was last seen, empty when answered */
	int64_t wall_ns;
	int64_t latency_ns; /* -1 when unanswered */
	bool answered, forwarder_client;
	uint16_t rcode_num;
	uint32_t retries;
	int rcode_origin; /* enum dnsreel_flow_role or -1 */
	struct {
		uint8_t role; /* enum dnsreel_flow_role */
		bool query;
		uint8_t transaction;
		int64_t wall_ns, latency_ns;
	} hops[DNSREEL_RF_HOPS];
	size_t nhops, nhops_total;
	struct {
		char server[DNSREEL_RF_LABEL];
		int64_t wall_ns, latency_ns;
		bool answered, used, tc;
		char rcode[24];
	} up[DNSREEL_RF_UP];
	size_t nup, nup_total;
};

/* Copies f (a flow inside its callback) into out. */
void dnsreel_report_flow_copy(struct dnsreel_report_flow *out, const struct dnsreel_ctx *ctx,
			      const struct dnsreel_flow *f);
/* The flow as an SVG sequence diagram with its title and a text description. */
void dnsreel_svg_sequence(struct dnsreel_html *h, const struct dnsreel_report_flow *f);

/* ---- aggregates -------------------------------------------------------------------------- */

struct dnsreel_report_agg;

struct dnsreel_report_agg_opts {
	size_t sz;
	size_t top;	    /* rows of the top pods / names tables (default 10) */
	size_t keep;	    /* slowest and broken flows drawn (default 10 each) */
	size_t max_buckets; /* time buckets before neighbours merge (default 600) */
};

/* 0, DNSREEL_E_ARG or -ENOMEM. */
int dnsreel_report_agg__new(struct dnsreel_report_agg **out,
			    const struct dnsreel_report_agg_opts *opts);
void dnsreel_report_agg__free(struct dnsreel_report_agg *a);
/* One flow, inside the flows callback. 0 or -ENOMEM. */
int dnsreel_report_agg__add(struct dnsreel_report_agg *a, const struct dnsreel_ctx *ctx,
			    const struct dnsreel_flow *f);
uint64_t dnsreel_report_agg__flows(const struct dnsreel_report_agg *a);

/* ---- the page ---------------------------------------------------------------------------- */

/* What the page says about each capture, taken from the merge before it closes. */
struct dnsreel_report_capture {
	const char *path;
	const struct dnsreel_meta *meta;
	struct dnsreel_capr_summary summary;
	uint64_t lost; /* the recorder's loss counters, summed (lost.*, drop.*, not lost.proc.*) */
	size_t netns, pods;
	const struct dnsreel_capr *capr; /* its recorder counters; NULL: none shown */
	const char *problem;		 /* damage found opening it, or NULL */
};

/* The findings section is drawn by a callback, so the page does not depend on how findings
 * are made; NULL draws a section that says none were computed. */
typedef void (*dnsreel_report_findings_fn)(void *arg, struct dnsreel_html *h);

struct dnsreel_report_page {
	const char *title; /* untrusted (it may name the capture) */
	const struct dnsreel_report_capture *captures;
	size_t ncaptures;
	uint64_t events_read, frames_bad;
	int64_t generated_wall_ns;
	const char *generator; /* "dnsreel-report 0.1.0" */
	dnsreel_report_findings_fn findings;
	void *findings_arg;
};

struct dnsreel_diag;
/* The findings of a finished diagnosis (diagnose.h) as the findings section: an overview table
 * and a block per finding; example flows the page draws (a, may be NULL) are linked. */
void dnsreel_report_findings_html(struct dnsreel_html *h, const struct dnsreel_diag *d,
				  const struct dnsreel_report_agg *a);

/* Writes the whole page. 0 or the first write error (-errno). */
int dnsreel_report_write(struct dnsreel_html *h, const struct dnsreel_report_page *p,
			 const struct dnsreel_report_agg *a);

#endif
