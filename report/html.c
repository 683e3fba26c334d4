/* The page writer: escaping, the page skeleton and sortable tables. The page carries its style
 * and script inline and names no URL, so it works offline and as an email attachment. */
#include <errno.h>
#include <stdarg.h>
#include <string.h>

#include "report_int.h"

void dnsreel_html__init(struct dnsreel_html *h, FILE *out)
{
	h->out = out;
	h->err = 0;
	h->ids = 0;
}

static void put(struct dnsreel_html *h, const char *s, size_t n)
{
	if (h->err || !n)
		return;
	if (fwrite(s, 1, n, h->out) != n)
		h->err = errno ? -errno : -EIO;
}

void dnsreel_html__raw(struct dnsreel_html *h, const char *markup)
{
	put(h, markup, strlen(markup));
}

void dnsreel_html__printf(struct dnsreel_html *h, const char *fmt, ...)
{
	if (h->err)
		return;
	va_list ap;
	va_start(ap, fmt);
	if (vfprintf(h->out, fmt, ap) < 0)
		h->err = errno ? -errno : -EIO;
	va_end(ap);
}

void dnsreel_report_cut(char *buf, size_t len, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, len, fmt, ap);
	va_end(ap);
}

int dnsreel_html__error(const struct dnsreel_html *h)
{
	return h->err;
}

/* Length of the valid UTF-8 sequence at s (n bytes left), 0 when it is not one: overlong forms,
 * surrogates and code points past U+10FFFF are refused as a browser's decoder would. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
	unsigned c = s[0];
	size_t len;
	unsigned min;
	if (c < 0xc2 || c > 0xf4)
		return 0;
	if (c < 0xe0) {
		len = 2;
		min = 0x80;
	} else if (c < 0xf0) {
		len = 3;
		min = 0x800;
	} else {
		len = 4;
		min = 0x10000;
	}
	if (n < len)
		return 0;
	unsigned cp = c & (0x3f >> (len - 1));
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return len;
}

size_t dnsreel_html_escape(char *d, size_t dlen, const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t need = 0, wrote = 0, i = 0;
	bool cut = false;
	while (i < n) {
		const char *rep;
		size_t k = 1, rl;
		unsigned c = p[i];
		switch (c) {
		case '&':
			rep = "&amp;";
			break;
		case '<':
			rep = "&lt;";
			break;
		case '>':
			rep = "&gt;";
			break;
		case '"':
			rep = "&quot;";
			break;
		case '\'':
			rep = "&#39;";
			break;
		default:
			rep = NULL;
		}
		if (rep) {
			rl = strlen(rep);
		} else if (c < 0x20 || c == 0x7f) {
			rep = "&#xFFFD;";
			rl = 8;
		} else if (c >= 0x80 && !(k = utf8_len(p + i, n - i))) {
			rep = "&#xFFFD;";
			rl = 8;
			k = 1;
		} else {
			rep = (const char *)p + i; /* printable ASCII or one whole UTF-8 sequence */
			rl = k;
		}
		if (!cut && wrote + rl < dlen) {
			memcpy(d + wrote, rep, rl);
			wrote += rl;
		} else {
			cut = true;
		}
		need += rl;
		i += k;
	}
	if (dlen)
		d[wrote] = 0;
	return need;
}

void dnsreel_html__textn(struct dnsreel_html *h, const char *s, size_t n)
{
	char buf[1024];
	size_t i = 0;
	/* in slices that never split a UTF-8 sequence: a sequence is at most 4 bytes, and a byte
	 * escapes to at most 8 */
	while (i < n && !h->err) {
		size_t chunk = n - i < 96 ? n - i : 96;
		while (chunk < n - i && chunk > 92 && ((unsigned char)s[i + chunk] & 0xc0) == 0x80)
			chunk--;
		size_t len = dnsreel_html_escape(buf, sizeof(buf), s + i, chunk);
		put(h, buf, len);
		i += chunk;
	}
}

void dnsreel_html__text(struct dnsreel_html *h, const char *s)
{
	if (s)
		dnsreel_html__textn(h, s, strlen(s));
}

/* The style: readable on screen and on paper (no backgrounds that waste toner, tables break
 * between rows, charts scale to the page). Patterns in the charts carry the meaning; colour
 * only helps. */
static const char style[] =
    "<style>\n"
    "body{box-sizing:border-box;font:15px/1.45 system-ui,sans-serif;margin:0 "
    "auto;max-width:1100px;padding:0 "
    "16px 40px;color:#111;background:#fff}\n"
    "h1{font-size:1.6em;margin:.8em 0 .2em}h2{font-size:1.3em;margin:1.6em 0 .4em;"
    "border-bottom:2px solid #444}h3{font-size:1.05em;margin:1.2em 0 .3em}\n"
    "table{border-collapse:collapse;margin:.4em 0 1em;font-size:.9em}\n"
    "caption{text-align:left;font-weight:600;padding:.2em 0}\n"
    "th,td{border:1px solid #999;padding:.15em .5em;text-align:left;vertical-align:top}\n"
    "td.n,th.n{text-align:right;font-variant-numeric:tabular-nums}\n"
    "th{background:#eee}th[data-sort]{cursor:pointer}\n"
    "th[aria-sort=ascending]::after{content:\" \\25B2\"}"
    "th[aria-sort=descending]::after{content:\" \\25BC\"}\n"
    "code,.mono{font-family:ui-monospace,monospace;font-size:.92em;word-break:break-all}\n"
    "figure{margin:.6em 0 1.2em}figcaption{font-size:.9em;color:#333}\n"
    "svg{max-width:100%;height:auto;font-family:system-ui,sans-serif}\n"
    "svg text{fill:#111}.sev-high{font-weight:700}\n"
    ".finding{border:1px solid #999;border-left:6px solid #444;padding:.3em .8em;"
    "margin:.6em 0}\n"
    ".finding.high{border-left-style:double;border-left-width:9px}"
    ".finding.low{border-left-style:dotted}\n"
    ".note{color:#333;font-size:.9em}\n"
    "dl.kv{display:grid;grid-template-columns:max-content auto;gap:.1em 1em}"
    "dl.kv dt{font-weight:600}dl.kv dd{margin:0}\n"
    "nav ul{columns:2;padding-left:1.2em}\n"
    "@media print{body{max-width:none;font-size:11pt}nav{display:none}"
    "h2{break-after:avoid}figure,tr,.finding{break-inside:avoid}"
    "th{background:none}a{color:inherit;text-decoration:none}"
    "details{display:block}details>summary{display:none}}\n"
    /* on paper a closed details shows its table too (a rule of its own: a browser that does
     * not know the pseudo-element drops only this rule) */
    "@media print{details::details-content{content-visibility:visible;display:block}}\n"
    "</style>\n";

/* Sorting: a click (or Enter) on a header sorts its table; without script the tables read in
 * the order they were written. No network, no eval, no strings from the capture. */
static const char script[] =
    "<script>\n"
    "(function(){\n"
    "function key(td,num){var v=td.getAttribute('data-v');if(v===null)v=td.textContent;"
    "return num?parseFloat(v):v.toLowerCase();}\n"
    "function sort(th){var t=th.closest('table'),b=t.tBodies[0],i=th.cellIndex,"
    "num=th.getAttribute('data-sort')==='num',asc=th.getAttribute('aria-sort')!=='ascending';\n"
    "var rows=Array.prototype.slice.call(b.rows);\n"
    "rows.sort(function(x,y){var a=key(x.cells[i],num),c=key(y.cells[i],num);"
    "if(num){if(isNaN(a))a=-Infinity;if(isNaN(c))c=-Infinity;}"
    "return (a<c?-1:a>c?1:0)*(asc?1:-1);});\n"
    "Array.prototype.forEach.call(th.parentNode.cells,function(h){h.removeAttribute("
    "'aria-sort');});\n"
    "th.setAttribute('aria-sort',asc?'ascending':'descending');\n"
    "rows.forEach(function(r){b.appendChild(r);});}\n"
    "document.querySelectorAll('th[data-sort]').forEach(function(th){th.tabIndex=0;"
    "th.addEventListener('click',function(){sort(th);});"
    "th.addEventListener('keydown',function(e){if(e.key==='Enter')sort(th);});});\n"
    "})();\n"
    "</script>\n";

void dnsreel_html__page_begin(struct dnsreel_html *h, const char *title)
{
	dnsreel_html__raw(h,
			  "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
			  "<meta name=\"viewport\" content=\"width=device-width, "
			  "initial-scale=1\">\n"
			  /* nothing may load from anywhere: a policy that allows no fetch */
			  "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src "
			  "'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; "
			  "img-src data:\">\n<title>");
	dnsreel_html__text(h, title);
	dnsreel_html__raw(h, "</title>\n");
	dnsreel_html__raw(h, style);
	dnsreel_html__raw(h, "</head>\n<body>\n");
}

void dnsreel_html__page_end(struct dnsreel_html *h)
{
	dnsreel_html__raw(h, script);
	dnsreel_html__raw(h, "</body>\n</html>\n");
}

void dnsreel_html__table_begin(struct dnsreel_html *h, const char *id, const char *caption,
			       const struct dnsreel_html_col *cols, size_t ncols)
{
	dnsreel_html__printf(h, "<table id=\"%s\">\n", id);
	if (caption) {
		dnsreel_html__raw(h, "<caption>");
		dnsreel_html__text(h, caption);
		dnsreel_html__raw(h, "</caption>\n");
	}
	dnsreel_html__raw(h, "<thead><tr>");
	for (size_t i = 0; i < ncols; i++) {
		dnsreel_html__printf(h, "<th scope=\"col\" data-sort=\"%s\"%s>",
				     cols[i].numeric ? "num" : "text",
				     cols[i].numeric ? " class=\"n\"" : "");
		dnsreel_html__text(h, cols[i].name);
		dnsreel_html__raw(h, "</th>");
	}
	dnsreel_html__raw(h, "</tr></thead>\n<tbody>\n");
}

void dnsreel_html__row_begin(struct dnsreel_html *h)
{
	dnsreel_html__raw(h, "<tr>");
}

void dnsreel_html__td_text(struct dnsreel_html *h, const char *untrusted)
{
	dnsreel_html__raw(h, "<td>");
	dnsreel_html__text(h, untrusted);
	dnsreel_html__raw(h, "</td>");
}

void dnsreel_html__td_u64(struct dnsreel_html *h, uint64_t v)
{
	dnsreel_html__printf(h, "<td class=\"n\">%llu</td>", (unsigned long long)v);
}

void dnsreel_html__td_num(struct dnsreel_html *h, double value, const char *fmt)
{
	char txt[64];
	snprintf(txt, sizeof(txt), fmt, value);
	dnsreel_html__printf(h, "<td class=\"n\" data-v=\"%.9g\">%s</td>", value, txt);
}

void dnsreel_html__row_end(struct dnsreel_html *h)
{
	dnsreel_html__raw(h, "</tr>\n");
}

void dnsreel_html__table_end(struct dnsreel_html *h)
{
	dnsreel_html__raw(h, "</tbody>\n</table>\n");
}
