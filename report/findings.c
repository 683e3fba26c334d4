/* The diagnose findings as a section of the page: a sortable overview table, then one block per
 * finding with its evidence (counts, time range, who was involved, example flows, the replay
 * line that shows them) and what usually fixes it. Severity is said in words and by the
 * block's border style, never by colour alone. */
#include <inttypes.h>
#include <string.h>

#include "diagnose.h"
#include "report_int.h"

enum { REPORT_FINDING_BLOCKS = 12 };

static void fmt_time(char *buf, size_t len, int64_t wall_ns)
{
	if (!wall_ns || dnsreel_format_time(wall_ns, buf, len) < 0)
		snprintf(buf, len, "-");
}

static void list(struct dnsreel_html *h, const char *what, const char *const *v, size_t n)
{
	if (!n)
		return;
	dnsreel_html__printf(h, "<dt>%s</dt><dd>", what);
	for (size_t i = 0; i < n; i++) {
		if (i)
			dnsreel_html__raw(h, ", ");
		dnsreel_html__raw(h, "<code>");
		dnsreel_html__text(h, v[i]);
		dnsreel_html__raw(h, "</code>");
	}
	dnsreel_html__raw(h, "</dd>\n");
}

/* A flow drawn further down the page is linked; any other is named. */
static const char *drawn_in(const struct dnsreel_report_agg *a, const char *flow_id)
{
	for (size_t i = 0; a && i < a->nbroken; i++)
		if (!strcmp(a->broken[i].flow_id, flow_id))
			return "broken";
	for (size_t i = 0; a && i < a->nslow; i++)
		if (!strcmp(a->slow[i].flow_id, flow_id))
			return "slowest";
	return NULL;
}

static bool is_flow_id(const char *s)
{
	size_t n = strlen(s);
	return n == 16 && strspn(s, "0123456789abcdef") == 16;
}

void dnsreel_report_findings_html(struct dnsreel_html *h, const struct dnsreel_diag *d,
				  const struct dnsreel_report_agg *a)
{
	size_t n = dnsreel_diag__finding_count(d);
	if (!n) {
		dnsreel_html__raw(h, "<p id=\"no-findings\">No findings: none of the failure modes "
				     "diagnose knows left its signature in these flows.</p>\n");
		return;
	}
	dnsreel_html__printf(h, "<p>%zu finding%s, most severe first.</p>\n", n, n > 1 ? "s" : "");
	static const struct dnsreel_html_col cols[] = {
	    {"severity", false}, {"finding", false}, {"subject", false},
	    {"count", true},	 {"first", false},   {"last", false},
	};
	/* the most severe in full; the rest are rows of the table only, so a capture with a
	 * finding per pod still gives a page one reads */
	size_t blocks = n < REPORT_FINDING_BLOCKS ? n : REPORT_FINDING_BLOCKS;
	dnsreel_html__table_begin(h, "findings-table", "Findings", cols, 6);
	for (size_t i = 0; i < n; i++) {
		const struct dnsreel_finding *f = dnsreel_diag__finding_at(d, i);
		char t1[48], t2[48];
		fmt_time(t1, sizeof(t1), f->first_wall_ns);
		fmt_time(t2, sizeof(t2), f->last_wall_ns);
		dnsreel_html__row_begin(h);
		dnsreel_html__td_text(h, f->severity_name);
		if (i < blocks) {
			dnsreel_html__printf(h, "<td><a href=\"#finding-%zu\">", i + 1);
			dnsreel_html__text(h, f->id);
			dnsreel_html__raw(h, "</a></td>");
		} else {
			dnsreel_html__td_text(h, f->id);
		}
		dnsreel_html__td_text(h, f->subject);
		dnsreel_html__td_u64(h, f->count);
		dnsreel_html__td_text(h, t1);
		dnsreel_html__td_text(h, t2);
		dnsreel_html__row_end(h);
	}
	dnsreel_html__table_end(h);

	for (size_t i = 0; i < blocks; i++) {
		const struct dnsreel_finding *f = dnsreel_diag__finding_at(d, i);
		const char *sev = f->severity == DNSREEL_SEV_ERROR     ? "high"
				  : f->severity == DNSREEL_SEV_WARNING ? "medium"
								       : "low";
		dnsreel_html__printf(h, "<article class=\"finding %s\" id=\"finding-%zu\">\n<h3>",
				     sev, i + 1);
		dnsreel_html__raw(h, "<span class=\"sev\">[");
		dnsreel_html__text(h, f->severity_name);
		dnsreel_html__raw(h, "]</span> <code>");
		dnsreel_html__text(h, f->id);
		dnsreel_html__raw(h, "</code>");
		if (f->subject && f->subject[0]) {
			dnsreel_html__raw(h, " ");
			dnsreel_html__text(h, f->subject);
		}
		dnsreel_html__raw(h, "</h3>\n<p>");
		dnsreel_html__text(h, f->title);
		dnsreel_html__raw(h, "</p>\n<dl class=\"kv\">\n");
		char t1[48], t2[48];
		fmt_time(t1, sizeof(t1), f->first_wall_ns);
		fmt_time(t2, sizeof(t2), f->last_wall_ns);
		dnsreel_html__printf(h, "<dt>count</dt><dd>%" PRIu64 "</dd>\n", f->count);
		if (f->first_wall_ns)
			dnsreel_html__printf(h, "<dt>when</dt><dd>%s .. %s</dd>\n", t1, t2);
		list(h, "pods", f->pods, f->npods);
		list(h, "servers", f->servers, f->nservers);
		list(h, "netns", f->netns, f->nnetns);
		if (f->nnums) {
			dnsreel_html__raw(h, "<dt>numbers</dt><dd>");
			for (size_t k = 0; k < f->nnums; k++) {
				if (k)
					dnsreel_html__raw(h, ", ");
				dnsreel_html__text(h, f->nums[k].key);
				dnsreel_html__printf(h, "=%g", f->nums[k].value);
			}
			dnsreel_html__raw(h, "</dd>\n");
		}
		if (f->nflow_ids) {
			dnsreel_html__raw(h, "<dt>example flows</dt><dd>");
			for (size_t k = 0; k < f->nflow_ids; k++) {
				const char *id = f->flow_ids[k], *where = NULL;
				if (k)
					dnsreel_html__raw(h, ", ");
				if (is_flow_id(id))
					where = drawn_in(a, id);
				if (where)
					dnsreel_html__printf(
					    h, "<a href=\"#%s-%s\"><code>%s</code></a>", where, id,
					    id);
				else {
					dnsreel_html__raw(h, "<code>");
					dnsreel_html__text(h, id);
					dnsreel_html__raw(h, "</code>");
				}
			}
			dnsreel_html__raw(h, "</dd>\n");
		}
		if (f->replay && f->replay[0]) {
			dnsreel_html__raw(h, "<dt>see them</dt><dd><code>");
			dnsreel_html__text(h, f->replay);
			dnsreel_html__raw(h, "</code></dd>\n");
		}
		if (f->fix && f->fix[0]) {
			dnsreel_html__raw(h, "<dt>usual fix</dt><dd>");
			dnsreel_html__text(h, f->fix);
			dnsreel_html__raw(h, "</dd>\n");
		}
		dnsreel_html__raw(h, "</dl>\n</article>\n");
	}
	if (n > blocks)
		dnsreel_html__printf(
		    h,
		    "<p id=\"more-findings\">%zu more findings are rows of the table "
		    "above; <code>dnsreel diagnose</code> prints each with its "
		    "evidence.</p>\n",
		    n - blocks);
}
