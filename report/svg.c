/* Charts as inline SVG. Every chart has a <title> and <desc>, axis and value labels as real
 * text, and fills that differ by pattern as well as colour, with a legend naming each. */
#include <inttypes.h>
#include <math.h>
#include <string.h>
#include <time.h>

#include "report.h"

/* Colour and a pattern drawn over it: light to dark, with line patterns that stay apart in
 * grey print. */
static const struct {
	const char *fill, *ink, *path;
} styles[DNSREEL_SVG_STYLES] = {
    {"#c9dcef", "#1f4e79", ""},				    /* plain */
    {"#f6d08b", "#7a4b00", "M0 8L8 0M-2 2L2 -2M6 10L10 6"}, /* / lines */
    {"#e99a9a", "#7d1010", "M0 0L8 8M8 0L0 8"},		    /* cross */
    {"#d7c1ec", "#4b2a6e", "M2 2h1v1h-1zM6 6h1v1h-1z"},	    /* dots */
    {"#b9e0b5", "#1d5b1a", "M0 2H8M0 6H8"},		    /* horizontal */
    {"#5a5a5a", "#ffffff", "M2 0V8M6 0V8"},		    /* vertical, dark */
    {"#f2b8d8", "#6e1648", "M0 0L8 8M-2 6L2 10M6 -2L10 2"}, /* \ lines */
    {"#a9d6e5", "#0b4a5e", "M0 4H8M4 0V8"},		    /* grid */
};

/* Pattern definitions for chart id, one per style. */
static void defs(struct dnsreel_html *h, unsigned id, size_t n)
{
	dnsreel_html__raw(h, "<defs>");
	for (size_t i = 0; i < n && i < DNSREEL_SVG_STYLES; i++) {
		dnsreel_html__printf(h,
				     "<pattern id=\"c%u-p%zu\" width=\"8\" height=\"8\" "
				     "patternUnits=\"userSpaceOnUse\"><rect width=\"8\" "
				     "height=\"8\" fill=\"%s\"/>",
				     id, i, styles[i].fill);
		if (styles[i].path[0])
			dnsreel_html__printf(h,
					     "<path d=\"%s\" stroke=\"%s\" stroke-width=\"1.2\" "
					     "fill=\"%s\"/>",
					     styles[i].path, styles[i].ink, styles[i].ink);
		dnsreel_html__raw(h, "</pattern>");
	}
	dnsreel_html__raw(h, "</defs>\n");
}

static void open_svg(struct dnsreel_html *h, unsigned id, int w, int hgt, const char *title,
		     const char *desc)
{
	dnsreel_html__printf(h,
			     "<svg class=\"chart\" id=\"chart%u\" viewBox=\"0 0 %d %d\" "
			     "width=\"%d\" height=\"%d\" role=\"img\" "
			     "aria-labelledby=\"chart%u-t chart%u-d\">\n<title id=\"chart%u-t\">",
			     id, w, hgt, w, hgt, id, id, id);
	dnsreel_html__text(h, title);
	dnsreel_html__printf(h, "</title>\n<desc id=\"chart%u-d\">", id);
	dnsreel_html__text(h, desc);
	dnsreel_html__raw(h, "</desc>\n");
}

/* A round step for an axis holding up to max: 1, 2 or 5 times a power of ten. */
static double nice_step(double max, int ticks)
{
	if (max <= 0)
		return 1;
	double raw = max / ticks, p = pow(10, floor(log10(raw))), f = raw / p;
	return (f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10) * p;
}

static void fmt_num(char *buf, size_t len, double v)
{
	if (v >= 1e6)
		snprintf(buf, len, "%.3gM", v / 1e6);
	else if (v >= 1e4)
		snprintf(buf, len, "%.3gk", v / 1e3);
	else if (v == floor(v))
		snprintf(buf, len, "%.0f", v);
	else
		snprintf(buf, len, "%.3g", v);
}

static void clock_label(char *buf, size_t len, int64_t wall_ns, bool with_date)
{
	time_t t = (time_t)(wall_ns / 1000000000LL);
	struct tm tm;
	if (!gmtime_r(&t, &tm)) {
		snprintf(buf, len, "?");
		return;
	}
	strftime(buf, len, with_date ? "%Y-%m-%d %H:%M:%S" : "%H:%M:%S", &tm);
}

static void legend(struct dnsreel_html *h, unsigned id, const char *const *names, size_t n, int x,
		   int y)
{
	for (size_t i = 0; i < n; i++) {
		int lx = x + (int)(i % 4) * 190, ly = y + (int)(i / 4) * 20;
		dnsreel_html__printf(h,
				     "<g class=\"legend\"><rect x=\"%d\" y=\"%d\" width=\"22\" "
				     "height=\"13\" fill=\"url(#c%u-p%zu)\" stroke=\"#333\"/>"
				     "<text x=\"%d\" y=\"%d\" font-size=\"12\">",
				     lx, ly, id, i % DNSREEL_SVG_STYLES, lx + 28, ly + 11);
		dnsreel_html__text(h, names[i]);
		dnsreel_html__raw(h, "</text></g>\n");
	}
}

void dnsreel_svg_stacked(struct dnsreel_html *h, const char *title, const char *desc,
			 const char *ylabel, int64_t t0_wall_ns, double bucket_s,
			 const struct dnsreel_svg_series *s, size_t ns, size_t n)
{
	unsigned id = ++h->ids;
	const int W = 960, L = 64, R = 16, T = 16, PH = 200, B = 46;
	int lrows = (int)((ns + 3) / 4);
	int H = T + PH + B + lrows * 20 + 6;
	double max = 0;
	for (size_t i = 0; i < n; i++) {
		double sum = 0;
		for (size_t k = 0; k < ns; k++)
			sum += s[k].v[i];
		if (sum > max)
			max = sum;
	}
	double step = nice_step(max, 4), top = step * ceil(max / step);
	if (top <= 0)
		top = 1;
	open_svg(h, id, W, H, title, desc);
	defs(h, id, ns);
	int pw = W - L - R;
	/* y axis with grid lines and labels */
	for (double v = 0; v <= top + step / 2; v += step) {
		double y = T + PH - v / top * PH;
		char lab[32];
		fmt_num(lab, sizeof(lab), v);
		dnsreel_html__printf(h,
				     "<line x1=\"%d\" x2=\"%d\" y1=\"%.1f\" y2=\"%.1f\" "
				     "stroke=\"#ccc\"/><text x=\"%d\" y=\"%.1f\" font-size=\"11\" "
				     "text-anchor=\"end\">%s</text>\n",
				     L, L + pw, y, y, L - 6, y + 4, lab);
	}
	dnsreel_html__printf(h,
			     "<text x=\"14\" y=\"%d\" font-size=\"12\" transform=\"rotate(-90 14 "
			     "%d)\" text-anchor=\"middle\">",
			     T + PH / 2, T + PH / 2);
	dnsreel_html__text(h, ylabel);
	dnsreel_html__raw(h, "</text>\n");
	/* x axis: clock time at up to 6 ticks */
	double span = bucket_s * (double)(n ? n : 1);
	for (int t = 0; t <= 5; t++) {
		double x = L + pw * t / 5.0;
		char lab[40];
		clock_label(lab, sizeof(lab), t0_wall_ns + (int64_t)(span * t / 5.0 * 1e9), t == 0);
		dnsreel_html__printf(h,
				     "<line x1=\"%.1f\" x2=\"%.1f\" y1=\"%d\" y2=\"%d\" "
				     "stroke=\"#333\"/><text x=\"%.1f\" y=\"%d\" font-size=\"11\" "
				     "text-anchor=\"%s\">%s</text>\n",
				     x, x, T + PH, T + PH + 5, x, T + PH + 18,
				     t == 0   ? "start"
				     : t == 5 ? "end"
					      : "middle",
				     lab);
	}
	dnsreel_html__printf(h,
			     "<text x=\"%d\" y=\"%d\" font-size=\"11\" text-anchor=\"middle\">UTC, "
			     "%g s per bucket</text>\n",
			     L + pw / 2, T + PH + 34, bucket_s);
	/* one step area per series, stacked: bottom edge = the series below's top edge */
	double bw = n ? (double)pw / (double)n : pw;
	for (size_t k = 0; k < ns; k++) {
		dnsreel_html__printf(h,
				     "<path class=\"series\" data-series=\"%zu\" "
				     "fill=\"url(#c%u-p%zu)\" stroke=\"#222\" stroke-width=\"0.5\" "
				     "d=\"M%d %d",
				     k, id, k % DNSREEL_SVG_STYLES, L, T + PH);
		for (size_t i = 0; i < n; i++) {
			double sum = 0;
			for (size_t j = 0; j <= k; j++)
				sum += s[j].v[i];
			double y = T + PH - sum / top * PH;
			dnsreel_html__printf(h, "L%.1f %.1fL%.1f %.1f", L + bw * (double)i, y,
					     L + bw * (double)(i + 1), y);
		}
		for (size_t i = n; i-- > 0;) {
			double sum = 0;
			for (size_t j = 0; j < k; j++)
				sum += s[j].v[i];
			double y = T + PH - sum / top * PH;
			dnsreel_html__printf(h, "L%.1f %.1fL%.1f %.1f", L + bw * (double)(i + 1), y,
					     L + bw * (double)i, y);
		}
		dnsreel_html__raw(h, "Z\"><title>");
		dnsreel_html__text(h, s[k].name);
		dnsreel_html__raw(h, "</title></path>\n");
	}
	dnsreel_html__printf(h,
			     "<line x1=\"%d\" x2=\"%d\" y1=\"%d\" y2=\"%d\" stroke=\"#333\"/>"
			     "<line x1=\"%d\" x2=\"%d\" y1=\"%d\" y2=\"%d\" stroke=\"#333\"/>\n",
			     L, L + pw, T + PH, T + PH, L, L, T, T + PH);
	const char *names[DNSREEL_SVG_STYLES * 2];
	size_t nn = ns < DNSREEL_SVG_STYLES * 2 ? ns : DNSREEL_SVG_STYLES * 2;
	for (size_t k = 0; k < nn; k++)
		names[k] = s[k].name;
	legend(h, id, names, nn, L, T + PH + 42);
	dnsreel_html__raw(h, "</svg>\n");
}

void dnsreel_svg_hbars(struct dnsreel_html *h, const char *title, const char *desc,
		       const char *const *labels, const double *values, size_t n,
		       const char *value_fmt)
{
	unsigned id = ++h->ids;
	const int W = 960, LW = 380, RW = 90, RH = 22, T = 8;
	int H = T * 2 + RH * (int)(n ? n : 1);
	double max = 0;
	for (size_t i = 0; i < n; i++)
		if (values[i] > max)
			max = values[i];
	open_svg(h, id, W, H, title, desc);
	defs(h, id, 1);
	if (!n)
		dnsreel_html__printf(h, "<text x=\"8\" y=\"%d\" font-size=\"13\">none</text>\n",
				     T + 15);
	int bwmax = W - LW - RW;
	for (size_t i = 0; i < n; i++) {
		int y = T + RH * (int)i;
		double bw = max > 0 ? values[i] / max * bwmax : 0;
		char v[48];
		snprintf(v, sizeof(v), value_fmt, values[i]);
		/* a label too long for its column is cut on screen; the title keeps it whole */
		dnsreel_html__printf(h, "<g class=\"bar\"><title>");
		dnsreel_html__text(h, labels[i]);
		dnsreel_html__printf(h,
				     ": %s</title><text x=\"%d\" y=\"%d\" font-size=\"12\" "
				     "text-anchor=\"end\"",
				     v, LW - 8, y + 15);
		if (labels[i] && strlen(labels[i]) > 56)
			dnsreel_html__printf(
			    h, " textLength=\"%d\" lengthAdjust=\"spacingAndGlyphs\"", LW - 16);
		dnsreel_html__raw(h, ">");
		size_t ll = labels[i] ? strlen(labels[i]) : 0;
		dnsreel_html__textn(h, labels[i] ? labels[i] : "", ll);
		dnsreel_html__printf(h,
				     "</text><rect x=\"%d\" y=\"%d\" width=\"%.1f\" height=\"%d\" "
				     "fill=\"url(#c%u-p0)\" stroke=\"#1f4e79\"/><text x=\"%.1f\" "
				     "y=\"%d\" font-size=\"12\">%s</text></g>\n",
				     LW, y + 3, bw < 1 && values[i] > 0 ? 1 : bw, RH - 6, id,
				     LW + bw + 6, y + 15, v);
	}
	dnsreel_html__raw(h, "</svg>\n");
}

void dnsreel_svg_histograms(struct dnsreel_html *h, const char *title, const char *desc,
			    const char *const *edge_labels, size_t nb, const char *const *names,
			    const uint64_t *counts, size_t ns)
{
	unsigned id = ++h->ids;
	const int W = 960, LW = 250, RW = 70, RH = 44, T = 8, B = 30;
	int H = T + RH * (int)(ns ? ns : 1) + B;
	int pw = W - LW - RW;
	double bw = nb ? (double)pw / (double)nb : pw;
	open_svg(h, id, W, H, title, desc);
	defs(h, id, ns ? ns : 1);
	if (!ns)
		dnsreel_html__printf(h, "<text x=\"8\" y=\"%d\" font-size=\"13\">none</text>\n",
				     T + 20);
	for (size_t k = 0; k < ns; k++) {
		const uint64_t *c = counts + k * nb;
		uint64_t max = 0, total = 0;
		for (size_t b = 0; b < nb; b++) {
			max = c[b] > max ? c[b] : max;
			total += c[b];
		}
		int y0 = T + RH * (int)k, base = y0 + RH - 6;
		dnsreel_html__printf(h,
				     "<g class=\"hist\"><text x=\"%d\" y=\"%d\" font-size=\"12\" "
				     "text-anchor=\"end\">",
				     LW - 8, y0 + RH / 2 + 4);
		dnsreel_html__text(h, names[k]);
		dnsreel_html__printf(h,
				     "</text><line x1=\"%d\" x2=\"%d\" y1=\"%d\" y2=\"%d\" "
				     "stroke=\"#333\"/>",
				     LW, LW + pw, base, base);
		for (size_t b = 0; b < nb; b++) {
			if (!c[b])
				continue;
			double bh = (double)c[b] / (double)max * (RH - 10);
			if (bh < 1)
				bh = 1;
			dnsreel_html__printf(h,
					     "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" "
					     "height=\"%.1f\" fill=\"url(#c%u-p%zu)\" "
					     "stroke=\"#222\" stroke-width=\"0.5\"><title>",
					     LW + bw * (double)b + 1, base - bh, bw - 2, bh, id,
					     k % DNSREEL_SVG_STYLES);
			dnsreel_html__text(h, names[k]);
			dnsreel_html__printf(h, ", %s: %" PRIu64 "</title></rect>", edge_labels[b],
					     c[b]);
		}
		dnsreel_html__printf(
		    h, "<text x=\"%d\" y=\"%d\" font-size=\"11\">n=%" PRIu64 "</text></g>\n",
		    LW + pw + 6, y0 + RH / 2 + 4, total);
	}
	int yb = T + RH * (int)(ns ? ns : 1);
	for (size_t b = 0; b < nb; b += 2)
		dnsreel_html__printf(h,
				     "<text x=\"%.1f\" y=\"%d\" font-size=\"10\" "
				     "text-anchor=\"middle\">%s</text>",
				     LW + bw * (double)b + bw / 2, yb + 14, edge_labels[b]);
	dnsreel_html__printf(h,
			     "\n<text x=\"%d\" y=\"%d\" font-size=\"11\" "
			     "text-anchor=\"middle\">latency (bucket upper bound)</text>\n",
			     LW + pw / 2, yb + 28);
	dnsreel_html__raw(h, "</svg>\n");
}
