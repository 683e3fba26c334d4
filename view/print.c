/* Printers for dnsreel_rec: columns, json, jsonl, csv. The hot path (replay of millions of
 * records) formats integers, addresses and times by hand into one large buffer and writes it
 * with fwrite in big chunks; printf is never used per record.
 */
#include "view.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "ctx_priv.h"
#include "dnsreel.h"

#define OBUF_CAP   (256 * 1024)
#define MAX_FIELDS 64

struct dnsreel_printer {
	enum dnsreel_output output;
	FILE *out;
	bool wide, no_header, tty, header_done, custom_fields;
	bool no_resolve;
	bool hold; /* keep the buffer whole (grow, never flush): an object is being re-laid */
	size_t nrec;
	int err; /* first write error */
	enum dnsreel_field_id fields[MAX_FIELDS];
	size_t nfields;
	int widths[MAX_FIELDS]; /* effective column widths: max(field width, header length) */
	char *b;		/* output buffer */
	size_t len, cap;
	char *line; /* one columns line before trailing spaces are trimmed */
	size_t line_cap;
	struct dnsreel_timefmt tf;
};

static const enum dnsreel_field_id default_columns[] = {
    DNSREEL_F_K8S_NODE,	   DNSREEL_F_K8S_NAMESPACE,
    DNSREEL_F_K8S_PODNAME, DNSREEL_F_K8S_CONTAINERNAME,
    DNSREEL_F_SRC,	   DNSREEL_F_DST,
    DNSREEL_F_COMM,	   DNSREEL_F_PID,
    DNSREEL_F_QR,	   DNSREEL_F_QTYPE,
    DNSREEL_F_NAME,	   DNSREEL_F_RCODE,
    DNSREEL_F_ADDRESSES,
};

static const enum dnsreel_field_id default_csv[] = {
    DNSREEL_F_TIMESTAMP,
    DNSREEL_F_K8S_NODE,
    DNSREEL_F_K8S_NAMESPACE,
    DNSREEL_F_K8S_PODNAME,
    DNSREEL_F_K8S_CONTAINERNAME,
    DNSREEL_F_RUNTIME_CONTAINERNAME,
    DNSREEL_F_NETNS_ID,
    DNSREEL_F_PKT_TYPE,
    DNSREEL_F_SRC,
    DNSREEL_F_DST,
    DNSREEL_F_NAMESERVER,
    DNSREEL_F_COMM,
    DNSREEL_F_PID,
    DNSREEL_F_TID,
    DNSREEL_F_UID,
    DNSREEL_F_GID,
    DNSREEL_F_ID,
    DNSREEL_F_QR,
    DNSREEL_F_QTYPE,
    DNSREEL_F_NAME,
    DNSREEL_F_RCODE,
    DNSREEL_F_ADDRESSES,
    DNSREEL_F_NUM_ANSWERS,
    DNSREEL_F_LATENCY_NS,
    DNSREEL_F_TC,
    DNSREEL_F_RD,
    DNSREEL_F_RA,
};

const enum dnsreel_field_id *dnsreel_default_columns(size_t *n)
{
	*n = sizeof(default_columns) / sizeof(default_columns[0]);
	return default_columns;
}

/* ---- output buffer ------------------------------------------------------------------------ */

static void ob_flush(struct dnsreel_printer *p)
{
	if (p->len && fwrite(p->b, 1, p->len, p->out) != p->len && !p->err)
		p->err = errno ? -errno : -EIO;
	p->len = 0;
}

/* Makes room for n more bytes; afterwards p->b + p->len has at least n bytes free. */
static int ob_reserve(struct dnsreel_printer *p, size_t n)
{
	if (p->len + n <= p->cap)
		return 0;
	if (!p->hold)
		ob_flush(p);
	if (p->len + n > p->cap) {
		size_t want = p->len + n > 2 * p->cap ? p->len + n : 2 * p->cap;
		char *nb = realloc(p->b, want);
		if (!nb)
			return -ENOMEM;
		p->b = nb;
		p->cap = want;
	}
	return 0;
}

static inline void ob_put(struct dnsreel_printer *p, const char *s, size_t n)
{
	if (ob_reserve(p, n) < 0)
		return;
	memcpy(p->b + p->len, s, n);
	p->len += n;
}

#define OB_LIT(p, lit) ob_put((p), (lit), sizeof(lit) - 1)

/* Unsigned decimal into d (>= 20 bytes); returns length. */
static const char digits2[201] = "00010203040506070809101112131415161718192021222324"
				 "25262728293031323334353637383940414243444546474849"
				 "50515253545556575859606162636465666768697071727374"
				 "75767778798081828384858687888990919293949596979899";

/* Two digits per division: timestamps have 19 of them on every line. */
static inline size_t fmt_u64(char *d, uint64_t v)
{
	char t[20];
	size_t n = 20;
	while (v >= 100) {
		unsigned r = (unsigned)(v % 100);
		v /= 100;
		n -= 2;
		memcpy(t + n, digits2 + 2 * r, 2);
	}
	if (v >= 10) {
		n -= 2;
		memcpy(t + n, digits2 + 2 * v, 2);
	} else {
		t[--n] = (char)('0' + v);
	}
	memcpy(d, t + n, 20 - n);
	return 20 - n;
}

static inline size_t fmt_i64(char *d, int64_t v)
{
	if (v < 0) {
		d[0] = '-';
		return 1 + fmt_u64(d + 1, (uint64_t)0 - (uint64_t)v);
	}
	return fmt_u64(d, (uint64_t)v);
}

static inline void ob_i64(struct dnsreel_printer *p, int64_t v)
{
	if (ob_reserve(p, 21) < 0)
		return;
	p->len += fmt_i64(p->b + p->len, v);
}

static const uint8_t jesc[256] = {
    [0 ... 0x1f] = 1,
    ['"'] = 1,
    ['\\'] = 1,
};

/* The escaped form of one byte that needs it. */
static char *esc1(char *d, unsigned char c)
{
	static const char hex[] = "0123456789abcdef";
	*d++ = '\\';
	switch (c) {
	case '"':
	case '\\':
		*d++ = (char)c;
		break;
	case '\n':
		*d++ = 'n';
		break;
	case '\r':
		*d++ = 'r';
		break;
	case '\t':
		*d++ = 't';
		break;
	default:
		*d++ = 'u';
		*d++ = '0';
		*d++ = '0';
		*d++ = hex[c >> 4];
		*d++ = hex[c & 15];
	}
	return d;
}

char *dnsreel_json_str(char *d, const char *s, size_t n)
{
	*d++ = '"';
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (!jesc[c])
			*d++ = (char)c;
		else
			d = esc1(d, c);
	}
	*d++ = '"';
	return d;
}

int dnsreel_json_fputs(FILE *o, const char *s)
{
	char buf[1024];
	size_t n = strlen(s);
	char *big = n * 6 + 2 > sizeof(buf) ? malloc(n * 6 + 2) : NULL;
	if (n * 6 + 2 > sizeof(buf) && !big)
		return -ENOMEM;
	char *d = big ? big : buf;
	size_t len = (size_t)(dnsreel_json_str(d, s, n) - d);
	int err = fwrite(d, 1, len, o) == len ? 0 : -EIO;
	free(big);
	return err;
}

/* JSON string with quotes; escapes ", \ and control characters. */
static void ob_jstr(struct dnsreel_printer *p, const char *s, size_t n)
{
	if (ob_reserve(p, n * 6 + 2) < 0)
		return;
	p->len = (size_t)(dnsreel_json_str(p->b + p->len, s, n) - p->b);
}

static inline void ob_jcstr(struct dnsreel_printer *p, const char *s)
{
	ob_jstr(p, s ? s : "", s ? strlen(s) : 0);
}

/* ---- time ------------------------------------------------------------------------------- */

size_t dnsreel_timefmt(struct dnsreel_timefmt *cache, int64_t wall_ns, char *buf)
{
	int64_t sec = wall_ns / 1000000000, ns = wall_ns % 1000000000;
	if (ns < 0) {
		ns += 1000000000;
		sec--;
	}
	if (!cache->date[0] || cache->sec != sec) {
		time_t t = (time_t)sec;
		struct tm tm;
		if (!gmtime_r(&t, &tm) || tm.tm_year + 1900 > 9999 || tm.tm_year + 1900 < 0)
			memset(&tm, 0, sizeof(tm));
		strftime(cache->date, sizeof(cache->date), "%Y-%m-%dT%H:%M:%S", &tm);
		cache->sec = sec;
	}
	size_t n = strlen(cache->date);
	memcpy(buf, cache->date, n);
	buf[n++] = '.';
	for (int i = 8; i >= 0; i--) {
		buf[n + (size_t)i] = (char)('0' + ns % 10);
		ns /= 10;
	}
	n += 9;
	buf[n++] = 'Z';
	buf[n] = 0;
	return n;
}

/* ---- field values ----------------------------------------------------------------------- */

/* src/dst as trace_dns shows endpoints: p/NS/POD:PORT, s/NS/SVC:PORT, else 10.0.0.1:53 or
 * [fd00::1]:53. buf >= 400 bytes (names are cut to fit). */
static size_t endpoint_text(const struct dnsreel_rec *rec, bool src, bool resolve, char *buf)
{
	const struct dnsreel_event *ev = rec->ev;
	const uint8_t *a = src ? ev->src_addr : ev->dst_addr;
	uint16_t port = src ? ev->src_port : ev->dst_port;
	struct dnsreel_endpoint ep = {0};
	size_t n = 0;
	if (resolve)
		dnsreel_ctx__endpoint_at(rec->ctx, rec->capture, ev->ip_version, a, port, ev->ts_ns,
					 &ep);
	if (ep.kind) {
		size_t nl = ep.k8s_namespace ? strnlen(ep.k8s_namespace, 64) : 0;
		size_t ml = ep.name ? strnlen(ep.name, 300) : 0;
		buf[n++] = ep.kind;
		buf[n++] = '/';
		memcpy(buf + n, ep.k8s_namespace, nl);
		n += nl;
		buf[n++] = '/';
		memcpy(buf + n, ep.name, ml);
		n += ml;
	} else if (ev->ip_version == 6) {
		buf[n++] = '[';
		n += dnsreel_addr_text(6, a, -1, buf + n);
		buf[n++] = ']';
	} else {
		n += dnsreel_addr_text(4, a, -1, buf + n);
	}
	buf[n++] = ':';
	n += fmt_u64(buf + n, port);
	buf[n] = 0;
	return n;
}

/* Text of field f for rec, into buf (>= 256 bytes) or pointing into rec; NULL value -> "". */
static const char *field_text(struct dnsreel_printer *p, const struct dnsreel_rec *rec,
			      enum dnsreel_field_id f, char *buf, size_t buflen, size_t *len,
			      struct dnsreel_value *vout)
{
	struct dnsreel_value v;
	if (f == DNSREEL_F_TIMESTAMP) {
		*len = dnsreel_timefmt(&p->tf, rec->wall_ns, buf);
		if (vout) {
			memset(vout, 0, sizeof(*vout));
			vout->type = DNSREEL_FT_STR;
			vout->i = rec->wall_ns;
		}
		return buf;
	}
	if ((f == DNSREEL_F_SRC || f == DNSREEL_F_DST) && rec->ev && rec->ctx && buflen >= 400) {
		/* The hot columns: rendered here without printf, as the field table does. */
		*len = endpoint_text(rec, f == DNSREEL_F_SRC, !p->no_resolve, buf);
		if (vout) {
			memset(vout, 0, sizeof(*vout));
			vout->type = DNSREEL_FT_STR;
			vout->s = buf;
			vout->len = *len;
		}
		return buf;
	}
	memset(&v, 0, sizeof(v));
	dnsreel_rec__value(rec, f, &v, buf, buflen);
	if (vout)
		*vout = v;
	if (v.null) {
		*len = 0;
		return "";
	}
	if (v.s) {
		*len = v.len ? v.len : strlen(v.s);
		return v.s;
	}
	if (v.type == DNSREEL_FT_BOOL) {
		*len = v.i ? 4 : 5;
		return v.i ? "true" : "false";
	}
	*len = fmt_i64(buf, v.i);
	return buf;
}

/* ---- columns ---------------------------------------------------------------------------- */

/* Characters (code points) in s; ASCII, the common case, is checked 8 bytes at a time. */
static size_t utf8_len(const char *s, size_t n)
{
	size_t i = 0;
	for (; i + 8 <= n; i += 8) {
		uint64_t w;
		memcpy(&w, s + i, 8);
		if (w & 0x8080808080808080ull)
			break;
	}
	size_t c = i;
	for (; i < n; i++)
		c += ((unsigned char)s[i] & 0xC0) != 0x80;
	return c;
}

/* Byte offset of code point k of s. */
static size_t utf8_off(const char *s, size_t n, size_t k)
{
	size_t i = 0;
	while (i < n && k) {
		i++;
		while (i < n && ((unsigned char)s[i] & 0xC0) == 0x80)
			i++;
		k--;
	}
	return i;
}

static const char ELLIPSIS[] = "\xe2\x80\xa6"; /* … */

static int line_reserve(struct dnsreel_printer *p, size_t need)
{
	if (need <= p->line_cap)
		return 0;
	size_t nc = p->line_cap ? p->line_cap : 1024;
	while (nc < need)
		nc *= 2;
	char *nl = realloc(p->line, nc);
	if (!nl)
		return -ENOMEM;
	p->line = nl;
	p->line_cap = nc;
	return 0;
}

/* Appends one cell at *pos of p->line; returns 0 or -ENOMEM. */
static int put_cell(struct dnsreel_printer *p, size_t *pos, const char *s, size_t n, int width,
		    bool right, bool middle, bool last)
{
	size_t chars = utf8_len(s, n);
	size_t w = width > 0 ? (size_t)width : chars;
	if (line_reserve(p, *pos + n + w + 8) < 0)
		return -ENOMEM;
	char *d = p->line + *pos;
	if (chars > w && !p->wide && w >= 1) {
		/* Cut as trace_dns does: keep w-1 characters and mark the cut with an ellipsis,
		 * at the end, or in the middle for pod names whose tail tells pods apart. */
		size_t keep = w - 1;
		if (middle) {
			size_t head = keep / 2, tail = keep - head;
			bool ascii = chars == n;
			size_t ho = ascii ? head : utf8_off(s, n, head);
			size_t to = ascii ? chars - tail : utf8_off(s, n, chars - tail);
			memcpy(d, s, ho);
			d += ho;
			memcpy(d, ELLIPSIS, 3);
			d += 3;
			memcpy(d, s + to, n - to);
			d += n - to;
		} else {
			size_t o = chars == n ? keep : utf8_off(s, n, keep);
			memcpy(d, s, o);
			d += o;
			memcpy(d, ELLIPSIS, 3);
			d += 3;
		}
		chars = w;
	} else {
		size_t pad = chars < w ? w - chars : 0;
		if (right) {
			memset(d, ' ', pad);
			d += pad;
		}
		memcpy(d, s, n);
		d += n;
		if (!right) {
			memset(d, ' ', pad);
			d += pad;
		}
	}
	if (!last)
		*d++ = ' ';
	*pos = (size_t)(d - p->line);
	return 0;
}

static void flush_line(struct dnsreel_printer *p, size_t pos)
{
	while (pos && p->line[pos - 1] == ' ')
		pos--;
	if (ob_reserve(p, pos + 1) < 0)
		return;
	memcpy(p->b + p->len, p->line, pos);
	p->len += pos;
	p->b[p->len++] = '\n';
}

static void columns_header(struct dnsreel_printer *p)
{
	const struct dnsreel_field_def *defs = dnsreel_fields(NULL);
	size_t pos = 0;
	for (size_t i = 0; i < p->nfields; i++) {
		const struct dnsreel_field_def *d = &defs[p->fields[i]];
		if (put_cell(p, &pos, d->header, strlen(d->header), p->widths[i], d->right_align,
			     false, i + 1 == p->nfields) < 0)
			return;
	}
	flush_line(p, pos);
}

/* An endpoint too wide for its column loses characters from the middle of its name, never
 * its ":PORT", so the port stays visible as trace_dns users read it. ASCII only (k8s names and
 * addresses are); anything else is cut as every other cell. Returns the new length or 0. */
static size_t cut_keep_port(const char *s, size_t n, size_t w, char *out)
{
	const char *colon = memrchr(s, ':', n);
	if (!colon || n <= w || utf8_len(s, n) != n)
		return 0;
	size_t tail = n - (size_t)(colon - s), room = w > tail + 2 ? w - tail - 1 : 0;
	if (!room)
		return 0;
	size_t head = room / 2, back = room - head, pre = (size_t)(colon - s);
	size_t o = 0;
	memcpy(out, s, head);
	o += head;
	memcpy(out + o, ELLIPSIS, 3);
	o += 3;
	memcpy(out + o, s + pre - back, back + tail);
	return o + back + tail;
}

static void print_columns(struct dnsreel_printer *p, const struct dnsreel_rec *rec)
{
	const struct dnsreel_field_def *defs = dnsreel_fields(NULL);
	char buf[512];
	size_t pos = 0;
	for (size_t i = 0; i < p->nfields; i++) {
		enum dnsreel_field_id f = p->fields[i];
		size_t n;
		const char *s = field_text(p, rec, f, buf, sizeof(buf), &n, NULL);
		char cut[sizeof(buf) + 4];
		size_t cn;
		if ((f == DNSREEL_F_SRC || f == DNSREEL_F_DST) && !p->wide && p->widths[i] > 0 &&
		    (cn = cut_keep_port(s, n, (size_t)p->widths[i], cut)) > 0) {
			s = cut;
			n = cn;
		}
		if (put_cell(p, &pos, s, n, p->widths[i], defs[f].right_align,
			     f == DNSREEL_F_K8S_PODNAME, i + 1 == p->nfields) < 0)
			return;
	}
	flush_line(p, pos);
}

/* ---- csv -------------------------------------------------------------------------------- */

static void csv_cell(struct dnsreel_printer *p, const char *s, size_t n)
{
	bool quote = n && (s[0] == ' ' || s[n - 1] == ' ');
	for (size_t i = 0; i < n && !quote; i++)
		quote = s[i] == ',' || s[i] == '"' || s[i] == '\n' || s[i] == '\r';
	if (!quote) {
		ob_put(p, s, n);
		return;
	}
	if (ob_reserve(p, 2 * n + 2) < 0)
		return;
	char *d = p->b + p->len;
	*d++ = '"';
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '"')
			*d++ = '"';
		*d++ = s[i];
	}
	*d++ = '"';
	p->len = (size_t)(d - p->b);
}

static void csv_header(struct dnsreel_printer *p)
{
	const struct dnsreel_field_def *defs = dnsreel_fields(NULL);
	for (size_t i = 0; i < p->nfields; i++) {
		if (i)
			OB_LIT(p, ",");
		ob_put(p, defs[p->fields[i]].name, strlen(defs[p->fields[i]].name));
	}
	OB_LIT(p, "\n");
}

static void print_csv(struct dnsreel_printer *p, const struct dnsreel_rec *rec)
{
	char buf[512];
	for (size_t i = 0; i < p->nfields; i++) {
		size_t n;
		const char *s = field_text(p, rec, p->fields[i], buf, sizeof(buf), &n, NULL);
		if (i)
			OB_LIT(p, ",");
		csv_cell(p, s, n);
	}
	OB_LIT(p, "\n");
}

/* ---- json ------------------------------------------------------------------------------- */

static void json_flat(struct dnsreel_printer *p, const struct dnsreel_rec *rec)
{
	const struct dnsreel_field_def *defs = dnsreel_fields(NULL);
	char buf[512];
	OB_LIT(p, "{");
	for (size_t i = 0; i < p->nfields; i++) {
		enum dnsreel_field_id f = p->fields[i];
		struct dnsreel_value v;
		size_t n;
		const char *s = field_text(p, rec, f, buf, sizeof(buf), &n, &v);
		if (i)
			OB_LIT(p, ",");
		ob_jcstr(p, defs[f].name);
		OB_LIT(p, ":");
		if (v.null && f != DNSREEL_F_TIMESTAMP)
			OB_LIT(p, "null");
		else if (defs[f].type == DNSREEL_FT_INT && f != DNSREEL_F_TIMESTAMP)
			ob_i64(p, v.i);
		else if (defs[f].type == DNSREEL_FT_BOOL) {
			if (v.i)
				OB_LIT(p, "true");
			else
				OB_LIT(p, "false");
		} else
			ob_jstr(p, s, n);
	}
	OB_LIT(p, "}");
}

/* The full layout is the hot path of `-o jsonl`: one reservation per record, then an unchecked
 * cursor. Bound: every string of a record escaped at worst 6x stays far below JSON_REC_MAX. */
#define JSON_REC_MAX (48 * 1024)

/* Any byte of w below 0x20 (NUL included), '"' or '\\': exact for existence, SWAR. */
static inline bool word_special(uint64_t w)
{
	const uint64_t ones = 0x0101010101010101ull, high = 0x8080808080808080ull;
	uint64_t q = w ^ (ones * '"'), b = w ^ (ones * '\\');
	uint64_t lt = (w - ones * 0x20) & ~w & high;
	uint64_t zq = (q - ones) & ~q & high;
	uint64_t zb = (b - ones) & ~b & high;
	return (lt | zq | zb) != 0;
}

/* A NUL-terminated string held in a char array of max bytes (fixed struct fields: reading
 * the whole array is safe; damaged input may lack the NUL). Copies 8 bytes at a time while no
 * byte needs attention. */
static char *cj_cstr(char *d, const char *s, size_t max)
{
	size_t i = 0;
	*d++ = '"';
	for (;;) {
		while (i + 8 <= max) {
			uint64_t w;
			memcpy(&w, s + i, 8);
			if (word_special(w))
				break;
			memcpy(d, &w, 8);
			d += 8;
			i += 8;
		}
		size_t lim = i + 8 < max ? i + 8 : max;
		for (; i < lim; i++) {
			unsigned char c = (unsigned char)s[i];
			if (!c)
				goto done;
			if (!jesc[c])
				*d++ = (char)c;
			else
				d = esc1(d, c);
		}
		if (i >= max)
			break;
	}
done:
	*d++ = '"';
	return d;
}

/* A string of unknown storage size. */
static inline char *cj_sz(char *d, const char *s)
{
	return dnsreel_json_str(d, s, strlen(s));
}

#define CLIT(d, lit) (memcpy((d), (lit), sizeof(lit) - 1), (d) += sizeof(lit) - 1)

static inline char *cj_u64(char *d, uint64_t v)
{
	return d + fmt_u64(d, v);
}

static char *cj_endpoint(char *d, const struct dnsreel_rec *rec, bool src)
{
	const struct dnsreel_event *ev = rec->ev;
	const uint8_t *a = src ? ev->src_addr : ev->dst_addr;
	uint16_t port = src ? ev->src_port : ev->dst_port;
	CLIT(d, "{\"addr\":\"");
	d += dnsreel_addr_text(ev->ip_version, a, -1, d);
	CLIT(d, "\",\"port\":");
	d = cj_u64(d, port);
	if (ev->proto == 6)
		CLIT(d, ",\"proto\":\"TCP\"");
	else
		CLIT(d, ",\"proto\":\"UDP\"");
	if (ev->ip_version == 6)
		CLIT(d, ",\"version\":6");
	else
		CLIT(d, ",\"version\":4");
	if (rec->ctx) {
		struct dnsreel_endpoint ep = {0};
		dnsreel_ctx__endpoint_at(rec->ctx, rec->capture, ev->ip_version, a, port, ev->ts_ns,
					 &ep);
		if (ep.kind == 'p' || ep.kind == 's') {
			if (ep.kind == 'p')
				CLIT(d, ",\"k8s\":{\"kind\":\"pod\",\"namespace\":");
			else
				CLIT(d, ",\"k8s\":{\"kind\":\"svc\",\"namespace\":");
			d = cj_sz(d, ep.k8s_namespace ? ep.k8s_namespace : "");
			CLIT(d, ",\"name\":");
			d = cj_sz(d, ep.name ? ep.name : "");
			*d++ = '}';
		}
	}
	*d++ = '}';
	return d;
}

/* A context string field: null when unknown (NULL or empty), as the field table has it. */
static char *cj_known(char *d, const char *s, size_t max)
{
	if (!s || !s[0]) {
		CLIT(d, "null");
		return d;
	}
	return cj_cstr(d, s, max);
}

static void json_full(struct dnsreel_printer *p, const struct dnsreel_rec *rec)
{
	const struct dnsreel_event *ev = rec->ev;
	const struct dnsreel_dns *dns = &rec->dns;
	const struct dnsreel_netns_ctx *ns = rec->ns;
	static const char hex[] = "0123456789abcdef";

	if (ob_reserve(p, JSON_REC_MAX) < 0)
		return;
	char *d = p->b + p->len;

	CLIT(d, "{\"timestamp\":\"");
	d += dnsreel_timefmt(&p->tf, rec->wall_ns, d);
	CLIT(d, "\",\"timestamp_raw\":");
	if (rec->wall_ns < 0) {
		*d++ = '-';
		d = cj_u64(d, (uint64_t)0 - (uint64_t)rec->wall_ns);
	} else {
		d = cj_u64(d, (uint64_t)rec->wall_ns);
	}
	CLIT(d, ",\"netns_id\":");
	d = cj_u64(d, ev->netns);
	CLIT(d, ",\"pkt_type\":");
	d = cj_sz(d, dnsreel_pkt_type_name(ev->pkt_type));

	CLIT(d, ",\"src\":");
	d = cj_endpoint(d, rec, true);
	CLIT(d, ",\"dst\":");
	d = cj_endpoint(d, rec, false);

	/* The server side: where a query goes, where a response comes from. */
	CLIT(d, ",\"nameserver\":{\"addr\":\"");
	d += dnsreel_addr_text(ev->ip_version, dns->qr ? ev->src_addr : ev->dst_addr, -1, d);
	if (ev->ip_version == 6)
		CLIT(d, "\",\"version\":6}");
	else
		CLIT(d, "\",\"version\":4}");

	/* Unknown is null, as in the --fields layout and SQL: no process context is no uid (not
	 * uid 0, which reads as root), a netns without a pod has no pod name. */
	bool proc = ev->flags & DNSREEL_EV_PROC;
	if (proc) {
		CLIT(d, ",\"proc\":{\"comm\":");
		d = cj_cstr(d, ev->comm, sizeof(ev->comm));
		CLIT(d, ",\"pid\":");
		d = cj_u64(d, ev->pid);
		CLIT(d, ",\"tid\":");
		d = cj_u64(d, ev->tid);
		CLIT(d, ",\"creds\":{\"uid\":");
		d = cj_u64(d, ev->uid);
		CLIT(d, ",\"gid\":");
		d = cj_u64(d, ev->gid);
		CLIT(d, "}}");
	} else {
		CLIT(d, ",\"proc\":{\"comm\":null,\"pid\":null,\"tid\":null,"
			"\"creds\":{\"uid\":null,\"gid\":null}}");
	}

	const struct dnsreel_meta *m = rec->ctx ? dnsreel_ctx__meta(rec->ctx, rec->capture) : NULL;
	CLIT(d, ",\"k8s\":{\"node\":");
	d = cj_known(d, m ? m->node : NULL, sizeof(m->node));
	CLIT(d, ",\"namespace\":");
	d = cj_known(d, ns ? ns->k8s_namespace : NULL, sizeof(ns->k8s_namespace));
	CLIT(d, ",\"podName\":");
	d = cj_known(d, ns ? ns->k8s_podname : NULL, sizeof(ns->k8s_podname));
	CLIT(d, ",\"containerName\":");
	d = cj_known(d, ns ? ns->k8s_containername : NULL, sizeof(ns->k8s_containername));
	CLIT(d, "},\"runtime\":{\"containerName\":");
	d = cj_known(d, ns ? ns->runtime_containername : NULL, sizeof(ns->runtime_containername));
	CLIT(d, ",\"containerId\":");
	d = cj_known(d, ns ? ns->runtime_containerid : NULL, sizeof(ns->runtime_containerid));

	CLIT(d, "},\"id\":\"");
	*d++ = hex[dns->id >> 12];
	*d++ = hex[(dns->id >> 8) & 15];
	*d++ = hex[(dns->id >> 4) & 15];
	*d++ = hex[dns->id & 15];
	if (dns->qr)
		CLIT(d, "\",\"qr\":\"R\",\"qr_raw\":1,\"qtype\":");
	else
		CLIT(d, "\",\"qr\":\"Q\",\"qr_raw\":0,\"qtype\":");
	const char *t = dnsreel_dns_type_name(dns->qtype);
	if (t) {
		d = cj_sz(d, t);
	} else {
		*d++ = '"';
		d = cj_u64(d, dns->qtype);
		*d++ = '"';
	}
	CLIT(d, ",\"qtype_raw\":");
	d = cj_u64(d, dns->qtype);
	CLIT(d, ",\"name\":");
	d = cj_known(d, dns->has_question ? dns->qname : NULL, sizeof(dns->qname));
	CLIT(d, ",\"rcode\":");
	if (!dns->qr) {
		CLIT(d, "null");
	} else if ((t = dnsreel_dns_rcode_name(dns->rcode))) {
		d = cj_sz(d, t);
	} else {
		*d++ = '"';
		d = cj_u64(d, dns->rcode);
		*d++ = '"';
	}
	CLIT(d, ",\"rcode_raw\":");
	d = cj_u64(d, dns->rcode);
	CLIT(d, ",\"addresses\":");
	d = cj_cstr(d, dns->addresses, sizeof(dns->addresses));
	CLIT(d, ",\"num_answers\":");
	d = cj_u64(d, dns->num_answers);
	CLIT(d, ",\"latency_ns_raw\":");
	d = cj_u64(d, rec->latency_ns > 0 ? (uint64_t)rec->latency_ns : 0);
	if (dns->tc)
		CLIT(d, ",\"tc\":true");
	else
		CLIT(d, ",\"tc\":false");
	if (dns->rd)
		CLIT(d, ",\"rd\":true");
	else
		CLIT(d, ",\"rd\":false");
	if (dns->ra)
		CLIT(d, ",\"ra\":true}");
	else
		CLIT(d, ",\"ra\":false}");
	p->len = (size_t)(d - p->b);
}

/* ---- public ----------------------------------------------------------------------------- */

int dnsreel_printer__new(struct dnsreel_printer **out, const struct dnsreel_printer_opts *o)
{
	*out = NULL;
	if (!o || o->sz < sizeof(size_t) + sizeof(enum dnsreel_output) ||
	    o->output > DNSREEL_OUT_JSONPRETTY || o->nfields > MAX_FIELDS)
		return DNSREEL_E_ARG;
	struct dnsreel_printer *p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	p->output = o->output;
	p->out = o->out ? o->out : stdout;
	p->wide = o->wide;
	p->no_resolve = o->no_resolve;
	p->no_header = o->no_header;
	p->tty = isatty(fileno(p->out));
	const enum dnsreel_field_id *f = o->fields;
	size_t nf = o->nfields;
	p->custom_fields = f && nf;
	if (!p->custom_fields) {
		if (o->output == DNSREEL_OUT_CSV) {
			f = default_csv;
			nf = sizeof(default_csv) / sizeof(default_csv[0]);
		} else {
			f = default_columns;
			nf = sizeof(default_columns) / sizeof(default_columns[0]);
		}
	}
	size_t count = 0;
	const struct dnsreel_field_def *defs = dnsreel_fields(&count);
	for (size_t i = 0; i < nf; i++) {
		if ((size_t)f[i] >= count) {
			free(p);
			return DNSREEL_E_ARG;
		}
		p->fields[i] = f[i];
		int hl = (int)strlen(defs[f[i]].header);
		p->widths[i] = defs[f[i]].width > hl ? defs[f[i]].width : hl;
	}
	p->nfields = nf;
	p->cap = OBUF_CAP;
	p->b = malloc(p->cap);
	if (!p->b) {
		free(p);
		return -ENOMEM;
	}
	*out = p;
	return 0;
}

/* Appends n_ bytes at d + len when d is set, and counts them either way (src_ is evaluated
 * only when writing: no side effects in it). */
#define JI_PUT(src_, n_)                                                                           \
	do {                                                                                       \
		if (d)                                                                             \
			memcpy(d + len, (src_), (n_));                                             \
		len += (n_);                                                                       \
	} while (0)

size_t dnsreel_json_indent(const char *src, size_t n, char *d)
{
	size_t len = 0;
	int depth = 0;
	bool in_str = false;
	for (size_t i = 0; i < n; i++) {
		char c = src[i];
		if (in_str) {
			JI_PUT(&c, 1);
			if (c == '\\' && i + 1 < n) {
				i++;
				JI_PUT(&src[i], 1);
			} else if (c == '"')
				in_str = false;
			continue;
		}
		switch (c) {
		case '"':
			in_str = true;
			JI_PUT(&c, 1);
			break;
		case '{':
		case '[':
			JI_PUT(&c, 1);
			if (i + 1 < n && (src[i + 1] == '}' || src[i + 1] == ']')) {
				i++;
				JI_PUT(&src[i], 1);
				break;
			}
			depth++;
			JI_PUT("\n", 1);
			for (int k = 0; k < depth; k++)
				JI_PUT("  ", 2);
			break;
		case '}':
		case ']':
			depth--;
			JI_PUT("\n", 1);
			for (int k = 0; k < depth; k++)
				JI_PUT("  ", 2);
			JI_PUT(&c, 1);
			break;
		case ',':
			JI_PUT(",\n", 2);
			for (int k = 0; k < depth; k++)
				JI_PUT("  ", 2);
			break;
		case ':':
			JI_PUT(": ", 2);
			break;
		default:
			JI_PUT(&c, 1);
		}
	}
	return len;
}

/* Re-lays the one-line JSON object at p->b[start..len) indented, as Inspektor Gadget's
 * -o jsonpretty prints events. */
static void json_indent(struct dnsreel_printer *p, size_t start)
{
	size_t n = p->len - start;
	size_t want = dnsreel_json_indent(p->b + start, n, NULL);
	char *dst = malloc(want);
	if (!dst) {
		p->err = p->err ? p->err : -ENOMEM;
		return;
	}
	dnsreel_json_indent(p->b + start, n, dst);
	p->len = start;
	ob_put(p, dst, want);
	free(dst);
}

int dnsreel_printer__print(struct dnsreel_printer *p, const struct dnsreel_rec *rec)
{
	switch (p->output) {
	case DNSREEL_OUT_COLUMNS:
		if (!p->header_done && !p->no_header)
			columns_header(p);
		p->header_done = true;
		print_columns(p, rec);
		break;
	case DNSREEL_OUT_CSV:
		if (!p->header_done && !p->no_header)
			csv_header(p);
		p->header_done = true;
		print_csv(p, rec);
		break;
	case DNSREEL_OUT_JSONARRAY:
		if (p->nrec)
			OB_LIT(p, ",\n");
		else
			OB_LIT(p, "[\n");
		/* fallthrough */
	case DNSREEL_OUT_JSON:
	case DNSREEL_OUT_JSONL:
	case DNSREEL_OUT_JSONPRETTY: {
		size_t start = p->len;
		p->hold = p->output == DNSREEL_OUT_JSONPRETTY;
		if (p->custom_fields)
			json_flat(p, rec);
		else
			json_full(p, rec);
		if (p->hold) {
			p->hold = false;
			json_indent(p, start);
		}
		if (p->output != DNSREEL_OUT_JSONARRAY)
			OB_LIT(p, "\n");
		break;
	}
	}
	p->nrec++;
	if (p->tty)
		return dnsreel_printer__flush(p);
	return p->err;
}

int dnsreel_printer__flush(struct dnsreel_printer *p)
{
	ob_flush(p);
	if (fflush(p->out) && !p->err)
		p->err = errno ? -errno : -EIO;
	return p->err;
}

int dnsreel_printer__close(struct dnsreel_printer *p)
{
	if (!p)
		return 0;
	if (p->output == DNSREEL_OUT_JSONARRAY) {
		if (p->nrec)
			OB_LIT(p, "\n]\n");
		else
			OB_LIT(p, "[]\n");
	} else if (p->output == DNSREEL_OUT_COLUMNS && !p->header_done && !p->no_header) {
		/* trace_dns shows its header even before the first event. */
		columns_header(p);
	} else if (p->output == DNSREEL_OUT_CSV && !p->header_done && !p->no_header) {
		csv_header(p);
	}
	int err = dnsreel_printer__flush(p);
	free(p->b);
	free(p->line);
	free(p);
	return err;
}

int dnsreel_output_parse(const char *s, enum dnsreel_output *out)
{
	static const struct {
		const char *name;
		enum dnsreel_output o;
	} t[] = {{"columns", DNSREEL_OUT_COLUMNS},	 {"json", DNSREEL_OUT_JSON},
		 {"jsonl", DNSREEL_OUT_JSONL},		 {"jsonarray", DNSREEL_OUT_JSONARRAY},
		 {"jsonpretty", DNSREEL_OUT_JSONPRETTY}, {"csv", DNSREEL_OUT_CSV}};
	for (size_t i = 0; s && i < sizeof(t) / sizeof(t[0]); i++)
		if (!strcasecmp(s, t[i].name)) {
			*out = t[i].o;
			return 0;
		}
	return DNSREEL_E_ARG;
}

int dnsreel_fields_parse(const char *csv, enum dnsreel_field_id *ids, size_t max, size_t *n,
			 char *err, size_t errlen)
{
	*n = 0;
	if (err && errlen)
		err[0] = 0;
	const char *s = csv ? csv : "";
	for (;;) {
		const char *e = strchr(s, ',');
		size_t len = e ? (size_t)(e - s) : strlen(s);
		while (len && (*s == ' ' || *s == '\t')) {
			s++;
			len--;
		}
		while (len && (s[len - 1] == ' ' || s[len - 1] == '\t'))
			len--;
		char name[128];
		if (!len || len >= sizeof(name)) {
			if (err)
				snprintf(err, errlen, "%s field name in '%s'",
					 len ? "too long a" : "empty", csv ? csv : "");
			return DNSREEL_E_ARG;
		}
		memcpy(name, s, len);
		name[len] = 0;
		const struct dnsreel_field_def *d = dnsreel_field_find(name);
		if (!d) {
			const char *near = dnsreel__suggest_field(name);
			if (err)
				snprintf(err, errlen, "unknown field '%s'%s%s%s", name,
					 near ? " (did you mean " : "", near ? near : "",
					 near ? "?)" : "");
			return DNSREEL_E_ARG;
		}
		if (*n >= max) {
			if (err)
				snprintf(err, errlen, "too many fields (at most %zu)", max);
			return DNSREEL_E_LIMIT;
		}
		ids[(*n)++] = d->id;
		if (!e)
			break;
		s = e + 1;
	}
	return 0;
}
