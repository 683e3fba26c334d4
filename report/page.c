/* The sections of the report, in the order a reader asks: what was recorded, what is wrong,
 * when, how slow and where, who asked, and the flows that show it. Each chart is followed by
 * its numbers as a table, so nothing is only in a picture. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "dnsreel.h"
#include "report_int.h"

static void fmt_time(char *buf, size_t len, int64_t wall_ns)
{
	if (dnsreel_format_time(wall_ns, buf, len) < 0)
		snprintf(buf, len, "(out of range)");
}

static void fmt_ms(char *buf, size_t len, int64_t ns)
{
	if (ns < 0)
		snprintf(buf, len, "-");
	else
		snprintf(buf, len, "%.3f ms", (double)ns / 1e6);
}

static void section(struct dnsreel_html *h, const char *id, const char *title)
{
	dnsreel_html__printf(h, "<section id=\"%s\">\n<h2>%s</h2>\n", id, title);
}

static void section_end(struct dnsreel_html *h)
{
	dnsreel_html__raw(h, "</section>\n");
}

static void summary(struct dnsreel_html *h, const struct dnsreel_report_page *p,
		    const struct dnsreel_report_agg *a)
{
	section(h, "summary", "Capture summary");
	uint64_t events = 0, lost = 0;
	size_t pods = 0, netns = 0;
	int64_t first = 0, last = 0;
	bool any = false;
	for (size_t i = 0; i < p->ncaptures; i++) {
		const struct dnsreel_report_capture *c = &p->captures[i];
		events += c->summary.events;
		lost += c->lost;
		pods += c->pods;
		netns += c->netns;
		if (!c->summary.frames)
			continue;
		int64_t f, l;
		if (dnsreel_wall_ns(c->summary.first_ts, c->meta->boot_to_wall_ns, &f) ||
		    dnsreel_wall_ns(c->summary.last_ts, c->meta->boot_to_wall_ns, &l))
			continue;
		if (!any || f < first)
			first = f;
		if (!any || l > last)
			last = l;
		any = true;
	}
	char a1[48], a2[48];
	dnsreel_html__raw(h, "<dl class=\"kv\" id=\"summary-kv\">\n<dt>Nodes</dt><dd>");
	for (size_t i = 0; i < p->ncaptures; i++) {
		if (i)
			dnsreel_html__raw(h, ", ");
		dnsreel_html__text(h, p->captures[i].meta->node[0] ? p->captures[i].meta->node
								   : "(unknown)");
	}
	dnsreel_html__raw(h, "</dd>\n<dt>Time range</dt><dd>");
	if (any) {
		fmt_time(a1, sizeof(a1), first);
		fmt_time(a2, sizeof(a2), last);
		dnsreel_html__printf(h, "%s .. %s (%.3f s)", a1, a2, (double)(last - first) / 1e9);
	} else {
		dnsreel_html__raw(h, "no events");
	}
	dnsreel_html__printf(h,
			     "</dd>\n<dt>Events</dt><dd id=\"sum-events\">%" PRIu64 "</dd>\n"
			     "<dt>Flows</dt><dd id=\"sum-flows\">%" PRIu64 " (%" PRIu64
			     " from clients, %" PRIu64 " a forwarder's own)</dd>\n"
			     "<dt>Network namespaces</dt><dd>%zu (%zu with a pod)</dd>\n"
			     "<dt>Recorder losses</dt><dd id=\"sum-lost\">%" PRIu64 "%s</dd>\n",
			     events, a->flows, a->client_flows, a->forwarder_flows, netns, pods,
			     lost,
			     lost ? " events the recorder could not keep: an absent packet may "
				    "be one of these, not a network drop"
				  : " (the recorder kept every packet it saw)");
	if (p->frames_bad)
		dnsreel_html__printf(
		    h, "<dt>Damaged frames</dt><dd>%" PRIu64 " skipped; the rest was read</dd>\n",
		    p->frames_bad);
	dnsreel_html__raw(h, "</dl>\n");

	static const struct dnsreel_html_col cols[] = {
	    {"capture", false},	   {"node", false},  {"first event", false},
	    {"last event", false}, {"events", true}, {"lost", true},
	    {"netns", true},	   {"pods", true},   {"state", false},
	};
	dnsreel_html__table_begin(h, "captures", "Captures", cols, sizeof(cols) / sizeof(cols[0]));
	for (size_t i = 0; i < p->ncaptures; i++) {
		const struct dnsreel_report_capture *c = &p->captures[i];
		int64_t w;
		dnsreel_html__row_begin(h);
		dnsreel_html__td_text(h, c->path);
		dnsreel_html__td_text(h, c->meta->node);
		a1[0] = a2[0] = 0;
		if (c->summary.frames &&
		    !dnsreel_wall_ns(c->summary.first_ts, c->meta->boot_to_wall_ns, &w))
			fmt_time(a1, sizeof(a1), w);
		if (c->summary.frames &&
		    !dnsreel_wall_ns(c->summary.last_ts, c->meta->boot_to_wall_ns, &w))
			fmt_time(a2, sizeof(a2), w);
		dnsreel_html__td_text(h, a1);
		dnsreel_html__td_text(h, a2);
		dnsreel_html__td_u64(h, c->summary.events);
		dnsreel_html__td_u64(h, c->lost);
		dnsreel_html__td_u64(h, c->netns);
		dnsreel_html__td_u64(h, c->pods);
		dnsreel_html__td_text(h, c->problem ? c->problem : "intact");
		dnsreel_html__row_end(h);
	}
	dnsreel_html__table_end(h);

	static const struct dnsreel_html_col ccols[] = {
	    {"capture", false}, {"counter", false}, {"value", true}};
	size_t nc = 0;
	for (size_t i = 0; i < p->ncaptures; i++)
		nc += p->captures[i].capr ? dnsreel_capr__counter_count(p->captures[i].capr) : 0;
	if (nc) {
		dnsreel_html__raw(h, "<details><summary>Recorder counters</summary>\n");
		dnsreel_html__table_begin(h, "counters", "Recorder counters", ccols, 3);
		for (size_t i = 0; i < p->ncaptures; i++) {
			const struct dnsreel_capr *c = p->captures[i].capr;
			size_t n = c ? dnsreel_capr__counter_count(c) : 0;
			for (size_t k = 0; k < n; k++) {
				const struct dnsreel_counter *ct = dnsreel_capr__counter_at(c, k);
				dnsreel_html__row_begin(h);
				dnsreel_html__td_text(h, p->captures[i].path);
				dnsreel_html__td_text(h, ct->name);
				dnsreel_html__td_u64(h, ct->value);
				dnsreel_html__row_end(h);
			}
		}
		dnsreel_html__table_end(h);
		dnsreel_html__raw(h, "</details>\n");
	}
	section_end(h);
}

static void over_time(struct dnsreel_html *h, const struct dnsreel_report_agg *a)
{
	section(h, "time", "Queries and errors over time");
	size_t n = a->nb;
	double bucket_s = (double)a->width_ns / 1e9;
	double *v = calloc((n ? n : 1) * RS_COUNT, sizeof(*v));
	struct dnsreel_svg_series s[RS_COUNT];
	for (int k = 0; k < RS_COUNT; k++) {
		s[k].name = dnsreel_report_series_names[k];
		s[k].v = v ? v + (size_t)k * n : NULL;
		for (size_t i = 0; v && i < n; i++)
			v[(size_t)k * n + i] = (double)a->b[i][k] / bucket_s;
	}
	char desc[256];
	snprintf(desc, sizeof(desc),
		 "Client transactions per second, stacked by outcome (%" PRIu64
		 " flows, %zu buckets of %g s). The table below gives the counts.",
		 a->flows, n, bucket_s);
	dnsreel_html__raw(h, "<figure>\n");
	if (v)
		dnsreel_svg_stacked(h, "Flows per second by outcome", desc, "flows per second",
				    a->t0, bucket_s, s, RS_COUNT, n);
	dnsreel_html__printf(h, "<figcaption>%s</figcaption>\n</figure>\n", desc);
	free(v);

	static const struct dnsreel_html_col cols[] = {
	    {"outcome", false}, {"flows", true}, {"share", true}};
	dnsreel_html__table_begin(h, "outcomes", "Flows by outcome", cols, 3);
	for (int k = 0; k < RS_COUNT; k++) {
		dnsreel_html__row_begin(h);
		dnsreel_html__td_text(h, dnsreel_report_series_names[k]);
		dnsreel_html__td_u64(h, a->series[k]);
		dnsreel_html__td_num(
		    h, a->flows ? 100.0 * (double)a->series[k] / (double)a->flows : 0, "%.2f %%");
		dnsreel_html__row_end(h);
	}
	dnsreel_html__table_end(h);
	uint64_t oe = a->origin[0] + a->origin[1] + a->origin[2] + a->origin[3];
	if (oe) {
		static const struct dnsreel_html_col ocols[] = {{"produced by", false},
								{"error responses", true}};
		dnsreel_html__table_begin(h, "origins", "Which hop produced the error responses",
					  ocols, 2);
		for (int r = 0; r < 4; r++) {
			dnsreel_html__row_begin(h);
			dnsreel_html__td_text(h, dnsreel_flow_role_name((enum dnsreel_flow_role)r));
			dnsreel_html__td_u64(h, a->origin[r]);
			dnsreel_html__row_end(h);
		}
		dnsreel_html__table_end(h);
	}
	dnsreel_html__raw(h, "<details><summary>Counts per bucket</summary>\n");
	static const struct dnsreel_html_col bcols[] = {
	    {"bucket start (UTC)", false}, {"Success", true}, {"NXDOMAIN", true},
	    {"ServerFailure", true},	   {"Refused", true}, {"other error", true},
	    {"unanswered", true},
	};
	dnsreel_html__table_begin(h, "buckets", "Flows per bucket", bcols, 7);
	for (size_t i = 0; i < n; i++) {
		uint64_t sum = 0;
		for (int k = 0; k < RS_COUNT; k++)
			sum += a->b[i][k];
		if (!sum)
			continue;
		char t[48];
		fmt_time(t, sizeof(t), a->t0 + (int64_t)i * a->width_ns);
		dnsreel_html__row_begin(h);
		dnsreel_html__td_text(h, t);
		for (int k = 0; k < RS_COUNT; k++)
			dnsreel_html__td_u64(h, a->b[i][k]);
		dnsreel_html__row_end(h);
	}
	dnsreel_html__table_end(h);
	dnsreel_html__raw(h, "</details>\n");
	section_end(h);
}

static void hist_row(struct dnsreel_html *h, const char *name, const struct report_hist *hs)
{
	char b[32];
	dnsreel_html__row_begin(h);
	dnsreel_html__td_text(h, name);
	dnsreel_html__td_u64(h, hs->n);
	static const double qs[] = {0.5, 0.9, 0.99};
	for (size_t i = 0; i < 3; i++) {
		int64_t q = dnsreel_report_hist_quantile(hs, qs[i]);
		fmt_ms(b, sizeof(b), q);
		dnsreel_html__td_num(h, q >= 0 ? (double)q / 1e6 : -1,
				     q >= 0 ? "&le; %.3f ms" : "-");
	}
	dnsreel_html__td_num(h, hs->n ? (double)hs->max_ns / 1e6 : -1, hs->n ? "%.3f ms" : "-");
	dnsreel_html__row_end(h);
}

static const struct dnsreel_html_col lat_cols[] = {
    {"series", false}, {"n", true}, {"p50", true}, {"p90", true}, {"p99", true}, {"max", true},
};

static void latency(struct dnsreel_html *h, const struct dnsreel_report_agg *a)
{
	section(h, "latency", "Latency");
	dnsreel_html__raw(h, "<p class=\"note\">At each hop: its response seen minus its query "
			     "seen there, so the client's latency holds the whole round trip and "
			     "the upstream's only the server's own time. Percentiles are bucket "
			     "upper bounds.</p>\n");
	const char *names[4 + RA_SERVERS + 1];
	uint64_t *counts = calloc((4 + RA_SERVERS + 1) * RL_BUCKETS, sizeof(*counts));
	size_t ns = 0;
	for (int r = 0; r < 4; r++) {
		names[ns] = dnsreel_flow_role_name((enum dnsreel_flow_role)r);
		if (counts)
			memcpy(counts + ns * RL_BUCKETS, a->role_lat[r].b,
			       sizeof(a->role_lat[r].b));
		ns++;
	}
	dnsreel_html__raw(h, "<h3>By hop role</h3>\n<figure>\n");
	if (counts)
		dnsreel_svg_histograms(h, "Latency by hop role",
				       "Histogram of response-minus-query time at the first "
				       "sighting of each role, one row per role.",
				       dnsreel_report_lat_labels, RL_BUCKETS, names, counts, ns);
	dnsreel_html__raw(h, "<figcaption>Latency at the client, node, forwarder and upstream "
			     "hops.</figcaption>\n</figure>\n");
	dnsreel_html__table_begin(h, "lat-roles", "Latency by hop role", lat_cols, 6);
	for (int r = 0; r < 4; r++)
		hist_row(h, names[r], &a->role_lat[r]);
	dnsreel_html__table_end(h);

	ns = 0;
	for (size_t i = 0; i < a->nsrv; i++) {
		names[ns] = a->srv[i].label;
		if (counts)
			memcpy(counts + ns * RL_BUCKETS, a->srv[i].lat.b, sizeof(a->srv[i].lat.b));
		ns++;
	}
	if (a->srv_rest.tries) {
		names[ns] = a->srv_rest.label;
		if (counts)
			memcpy(counts + ns * RL_BUCKETS, a->srv_rest.lat.b,
			       sizeof(a->srv_rest.lat.b));
		ns++;
	}
	dnsreel_html__raw(h, "<h3>By upstream server</h3>\n<figure>\n");
	if (counts)
		dnsreel_svg_histograms(h, "Upstream latency by server",
				       "Histogram of the time from a forwarder's upstream query to "
				       "its answer, one row per upstream server.",
				       dnsreel_report_lat_labels, RL_BUCKETS, names, counts, ns);
	dnsreel_html__raw(h, "<figcaption>Upstream tries as the forwarder saw them."
			     "</figcaption>\n</figure>\n");
	free(counts);
	static const struct dnsreel_html_col scols[] = {
	    {"server", false},	     {"tries", true},	{"answered", true},    {"unanswered", true},
	    {"ServerFailure", true}, {"Refused", true}, {"other error", true}, {"TC", true},
	    {"p50", true},	     {"p99", true},	{"max", true},
	};
	dnsreel_html__table_begin(h, "servers", "Upstream servers", scols, 11);
	for (size_t i = 0; i <= a->nsrv; i++) {
		const struct report_server *sv = i < a->nsrv ? &a->srv[i] : &a->srv_rest;
		if (i == a->nsrv && !sv->tries)
			break;
		dnsreel_html__row_begin(h);
		dnsreel_html__td_text(h, sv->label);
		dnsreel_html__td_u64(h, sv->tries);
		dnsreel_html__td_u64(h, sv->answered);
		dnsreel_html__td_u64(h, sv->tries - sv->answered);
		dnsreel_html__td_u64(h, sv->servfail);
		dnsreel_html__td_u64(h, sv->refused);
		dnsreel_html__td_u64(h, sv->other_err);
		dnsreel_html__td_u64(h, sv->tc);
		int64_t q50 = dnsreel_report_hist_quantile(&sv->lat, 0.5),
			q99 = dnsreel_report_hist_quantile(&sv->lat, 0.99);
		dnsreel_html__td_num(h, q50 >= 0 ? (double)q50 / 1e6 : -1,
				     q50 >= 0 ? "&le; %.3f ms" : "-");
		dnsreel_html__td_num(h, q99 >= 0 ? (double)q99 / 1e6 : -1,
				     q99 >= 0 ? "&le; %.3f ms" : "-");
		dnsreel_html__td_num(h, sv->lat.n ? (double)sv->lat.max_ns / 1e6 : -1,
				     sv->lat.n ? "%.3f ms" : "-");
		dnsreel_html__row_end(h);
	}
	dnsreel_html__table_end(h);
	section_end(h);
}

static void top_table(struct dnsreel_html *h, const struct report_top *t, size_t max,
		      const char *id, const char *what, const char *chart_title)
{
	const struct report_top_ent **e = calloc(max ? max : 1, sizeof(*e));
	const char **labels = calloc(max ? max : 1, sizeof(*labels));
	double *v = calloc(max ? max : 1, sizeof(*v));
	size_t n = e && labels && v ? dnsreel_report_top_sorted(t, e, max) : 0;
	for (size_t i = 0; i < n; i++) {
		labels[i] = e[i]->key;
		v[i] = (double)e[i]->count;
	}
	char desc[160];
	snprintf(desc, sizeof(desc),
		 "The %zu %s with the most flows, as bars; the table below "
		 "gives the counts.",
		 n, what);
	dnsreel_html__raw(h, "<figure>\n");
	dnsreel_svg_hbars(h, chart_title, desc, labels, v, n, "%.0f");
	dnsreel_html__raw(h, "</figure>\n");
	static const struct dnsreel_html_col cols[] = {
	    {"rank", true},
	    {"key", false},
	    {"flows", true},
	    {"NXDOMAIN", true},
	    {"other errors and unanswered", true},
	};
	struct dnsreel_html_col c[5];
	memcpy(c, cols, sizeof(c));
	c[1].name = what;
	dnsreel_html__table_begin(h, id, chart_title, c, 5);
	for (size_t i = 0; i < n; i++) {
		dnsreel_html__row_begin(h);
		dnsreel_html__td_u64(h, i + 1);
		dnsreel_html__td_text(h, e[i]->key);
		if (e[i]->err)
			dnsreel_html__printf(h,
					     "<td class=\"n\" data-v=\"%" PRIu64 "\">%" PRIu64
					     " to %" PRIu64 "</td>",
					     e[i]->count, e[i]->count, e[i]->count + e[i]->err);
		else
			dnsreel_html__td_u64(h, e[i]->count);
		dnsreel_html__td_u64(h, e[i]->nxdomain);
		dnsreel_html__td_u64(h, e[i]->errors);
		dnsreel_html__row_end(h);
	}
	dnsreel_html__table_end(h);
	if (t->evictions)
		dnsreel_html__raw(h, "<p class=\"note\">More keys than the table holds: counts "
				     "given as a range were first counted after rarer keys were "
				     "dropped.</p>\n");
	free(e);
	free(labels);
	free(v);
}

static void unanswered(struct dnsreel_html *h, const struct dnsreel_report_agg *a)
{
	section(h, "unanswered", "Unanswered by hop");
	dnsreel_html__raw(h,
			  "<p class=\"note\">Where the message of each unanswered flow was "
			  "last seen: a query last seen at the node never reached the forwarder; a "
			  "response last seen at the node never reached the client.</p>\n");
	const char *labels[9];
	double v[9];
	char lab[9][48];
	size_t n = 0;
	for (int resp = 0; resp < 2; resp++)
		for (int r = 0; r < 4; r++) {
			snprintf(lab[n], sizeof(lab[n]), "%s last seen at the %s",
				 resp ? "response" : "query",
				 dnsreel_flow_role_name((enum dnsreel_flow_role)r));
			labels[n] = lab[n];
			v[n++] = (double)a->lost[resp][r];
		}
	snprintf(lab[n], sizeof(lab[n]), "nowhere known");
	labels[n] = lab[n];
	v[n++] = (double)a->lost_unseen;
	dnsreel_html__raw(h, "<figure>\n");
	dnsreel_svg_hbars(h, "Unanswered flows by where they were last seen",
			  "One bar per place an unanswered flow's message was last seen.", labels,
			  v, n, "%.0f");
	dnsreel_html__raw(h, "</figure>\n");
	static const struct dnsreel_html_col cols[] = {{"last seen", false}, {"flows", true}};
	dnsreel_html__table_begin(h, "lost", "Unanswered flows by where they were last seen", cols,
				  2);
	for (size_t i = 0; i < n; i++) {
		dnsreel_html__row_begin(h);
		dnsreel_html__td_text(h, labels[i]);
		dnsreel_html__td_u64(h, (uint64_t)v[i]);
		dnsreel_html__row_end(h);
	}
	dnsreel_html__table_end(h);
	section_end(h);
}

static int cmp_slow(const void *a, const void *b)
{
	const struct dnsreel_report_flow *x = a, *y = b;
	if (x->latency_ns != y->latency_ns)
		return x->latency_ns > y->latency_ns ? -1 : 1;
	return x->wall_ns < y->wall_ns ? -1 : x->wall_ns > y->wall_ns;
}

static int cmp_wall(const void *a, const void *b)
{
	const struct dnsreel_report_flow *x = a, *y = b;
	return x->wall_ns < y->wall_ns ? -1 : x->wall_ns > y->wall_ns;
}

static void flows_section(struct dnsreel_html *h, const char *id, const char *title,
			  const struct dnsreel_report_flow *kept, size_t n, bool slow,
			  const char *none)
{
	section(h, id, title);
	if (!n) {
		dnsreel_html__printf(h, "<p>%s</p>\n", none);
		section_end(h);
		return;
	}
	struct dnsreel_report_flow *f = malloc(n * sizeof(*f));
	if (!f) {
		dnsreel_html__raw(h, "<p>(out of memory)</p>\n");
		section_end(h);
		return;
	}
	memcpy(f, kept, n * sizeof(*f));
	qsort(f, n, sizeof(*f), slow ? cmp_slow : cmp_wall);
	static const struct dnsreel_html_col cols[] = {
	    {"flow_id", false}, {"time (UTC)", false}, {"client", false},
	    {"name", false},	{"type", false},       {"outcome", false},
	    {"latency", true},	{"retries", true},     {"upstream tries", true},
	};
	char tid[48];
	snprintf(tid, sizeof(tid), "%s-table", id);
	dnsreel_html__table_begin(h, tid, title, cols, 9);
	for (size_t i = 0; i < n; i++) {
		char t[48];
		fmt_time(t, sizeof(t), f[i].wall_ns);
		dnsreel_html__printf(h, "<tr><td class=\"mono\"><a href=\"#%s-%s\">%s</a></td>", id,
				     f[i].flow_id, f[i].flow_id);
		dnsreel_html__td_text(h, t);
		dnsreel_html__td_text(h, f[i].client);
		dnsreel_html__td_text(h, f[i].name);
		dnsreel_html__td_text(h, f[i].qtype);
		dnsreel_html__td_text(h, f[i].answered ? f[i].rcode : "unanswered");
		dnsreel_html__td_num(h, f[i].answered ? (double)f[i].latency_ns / 1e6 : -1,
				     f[i].answered ? "%.3f ms" : "-");
		dnsreel_html__td_u64(h, f[i].retries);
		dnsreel_html__td_u64(h, f[i].nup_total);
		dnsreel_html__row_end(h);
	}
	dnsreel_html__table_end(h);
	for (size_t i = 0; i < n; i++) {
		dnsreel_html__printf(h, "<figure class=\"flow\" id=\"%s-%s\">\n", id, f[i].flow_id);
		dnsreel_html__printf(h, "<figcaption>Flow <code>%s</code>: ", f[i].flow_id);
		dnsreel_html__text(h, f[i].name);
		dnsreel_html__printf(h, " %s from ", f[i].qtype);
		dnsreel_html__text(h, f[i].client);
		if (f[i].answered) {
			char ms[32];
			fmt_ms(ms, sizeof(ms), f[i].latency_ns);
			dnsreel_html__raw(h, ", answered ");
			dnsreel_html__text(h, f[i].rcode);
			dnsreel_html__printf(h, " in %s", ms);
		} else {
			dnsreel_html__raw(h, ", unanswered: ");
			dnsreel_html__text(h, f[i].lost);
		}
		if (f[i].nhops_total > f[i].nhops || f[i].nup_total > f[i].nup)
			dnsreel_html__raw(h, " (diagram cut: more hops or tries than drawn)");
		dnsreel_html__printf(h,
				     ". See it: <code>dnsreel replay CAPTURE --flows --flow-id "
				     "%s</code></figcaption>\n",
				     f[i].flow_id);
		dnsreel_svg_sequence(h, &f[i]);
		dnsreel_html__raw(h, "</figure>\n");
	}
	free(f);
	section_end(h);
}

static void no_findings(void *arg, struct dnsreel_html *h)
{
	(void)arg;
	dnsreel_html__raw(h, "<p>No findings were computed for this report.</p>\n");
}

int dnsreel_report_write(struct dnsreel_html *h, const struct dnsreel_report_page *p,
			 const struct dnsreel_report_agg *a)
{
	char when[48];
	dnsreel_html__page_begin(h, p->title);
	dnsreel_html__raw(h, "<header>\n<h1>");
	dnsreel_html__text(h, p->title);
	fmt_time(when, sizeof(when), p->generated_wall_ns);
	dnsreel_html__raw(h, "</h1>\n<p class=\"note\">Written by ");
	dnsreel_html__text(h, p->generator);
	dnsreel_html__printf(h, " at %s. Self-contained: this page loads nothing.</p>\n", when);
	dnsreel_html__raw(h, "<nav aria-label=\"Contents\"><ul>"
			     "<li><a href=\"#summary\">Capture summary</a></li>"
			     "<li><a href=\"#findings\">Findings</a></li>"
			     "<li><a href=\"#time\">Queries and errors over time</a></li>"
			     "<li><a href=\"#latency\">Latency</a></li>"
			     "<li><a href=\"#pods\">Top pods</a></li>"
			     "<li><a href=\"#names\">Top names</a></li>"
			     "<li><a href=\"#unanswered\">Unanswered by hop</a></li>"
			     "<li><a href=\"#slowest\">Slowest flows</a></li>"
			     "<li><a href=\"#broken\">Broken flows</a></li>"
			     "</ul></nav>\n</header>\n<main>\n");
	summary(h, p, a);
	section(h, "findings", "Findings");
	(p->findings ? p->findings : no_findings)(p->findings_arg, h);
	section_end(h);
	over_time(h, a);
	latency(h, a);
	section(h, "pods", "Top pods");
	top_table(h, &a->pods, a->o.top, "top-pods", "pod", "Pods by flows");
	section_end(h);
	section(h, "names", "Top names");
	top_table(h, &a->names, a->o.top, "top-names", "name", "Names by flows");
	section_end(h);
	unanswered(h, a);
	flows_section(h, "slowest", "Slowest flows", a->slow, a->nslow, true,
		      "No answered flow in the capture.");
	flows_section(h, "broken", "Broken flows", a->broken, a->nbroken, false,
		      "No broken flow: every flow was answered with Success.");
	dnsreel_html__raw(h, "</main>\n");
	dnsreel_html__page_end(h);
	return dnsreel_html__error(h);
}
