/* DNS message parser: header, question, answers, EDNS(0), RR iterator and RDATA text.
 *
 * Every read is bounds-checked against [msg, msg+len). Compression pointers must point strictly
 * backwards (before the pointer itself and before every earlier jump target), so a loop cannot
 * be built, and the number of jumps is capped anyway. Errors report the offset and the part of
 * the message being parsed; whatever was decoded before stays valid.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "dns.h"
#include "dnsreel.h"

#define MAX_JUMPS 64  /* a name has at most 127 labels; real messages use 1-3 jumps */
#define MAX_WIRE  255 /* RFC 1035 2.3.4: a name is at most 255 octets on the wire */

static inline uint16_t rd16(const uint8_t *p)
{
	return (uint16_t)((p[0] << 8) | p[1]);
}

static inline uint32_t rd32(const uint8_t *p)
{
	return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

/* Small bounded text appender: never overflows, remembers truncation. */
struct sbuf {
	char *p;
	size_t cap, len;
	bool full;
};

static void sb_init(struct sbuf *b, char *p, size_t cap)
{
	b->p = p;
	b->cap = cap;
	b->len = 0;
	b->full = cap == 0;
	if (cap)
		p[0] = 0;
}

static void sb_putc(struct sbuf *b, char c)
{
	if (b->len + 1 < b->cap) {
		b->p[b->len++] = c;
		b->p[b->len] = 0;
	} else {
		b->full = true;
	}
}

static void sb_puts(struct sbuf *b, const char *s)
{
	size_t n = strlen(s);
	if (b->len + n < b->cap) {
		memcpy(b->p + b->len, s, n + 1);
		b->len += n;
	} else {
		b->full = true;
	}
}

static void sb_printf(struct sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sb_printf(struct sbuf *b, const char *fmt, ...)
{
	if (b->full)
		return;
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= b->cap - b->len) {
		b->p[b->len] = 0;
		b->full = true;
	} else {
		b->len += (size_t)n;
	}
}

/* Escapes a label byte as presentation format does (RFC 4343 / 1035 5.1). */
static inline int put_label_byte(char *out, uint8_t c)
{
	if (c == '.' || c == '\\' || c == '"' || c == '(' || c == ')' || c == ';' || c == '@' ||
	    c == '$') {
		out[0] = '\\';
		out[1] = (char)c;
		return 2;
	}
	if (c <= 0x20 || c >= 0x7f) {
		out[0] = '\\';
		out[1] = (char)('0' + c / 100);
		out[2] = (char)('0' + (c / 10) % 10);
		out[3] = (char)('0' + c % 10);
		return 4;
	}
	out[0] = (char)c;
	return 1;
}

/* Label bytes printed as they are: letters, digits, '-', '_', and other printable ASCII that
 * needs no escape in presentation format. Built from put_label_byte's rules. */
static const bool plain[256] = {
#define P1(c) [c] = true
    P1('-'),	  P1('_'),	P1('*'),      P1('/'),	    P1('+'),	  P1('='),
    P1(','),	  P1(':'),	P1('#'),      P1('%'),	    P1('&'),	  P1('!'),
    P1('?'),	  P1('~'),	P1('^'),      P1('`'),	    P1('{'),	  P1('}'),
    P1('|'),	  P1('['),	P1(']'),      P1('<'),	    P1('>'),	  P1('\''),
    ['0'] = true, ['1'] = true, ['2'] = true, ['3'] = true, ['4'] = true, ['5'] = true,
    ['6'] = true, ['7'] = true, ['8'] = true, ['9'] = true,
#undef P1
#define L(c) [c] = true, [c - 'a' + 'A'] = true
    L('a'),	  L('b'),	L('c'),	      L('d'),	    L('e'),	  L('f'),
    L('g'),	  L('h'),	L('i'),	      L('j'),	    L('k'),	  L('l'),
    L('m'),	  L('n'),	L('o'),	      L('p'),	    L('q'),	  L('r'),
    L('s'),	  L('t'),	L('u'),	      L('v'),	    L('w'),	  L('x'),
    L('y'),	  L('z'),
#undef L
};

/* Decodes a possibly compressed name. buf may be NULL (validate and skip only). On success
 * returns 0 and, with buf, the presentation form; *next is the offset after the name where it
 * started. */
static int name_decode(const uint8_t *msg, size_t len, size_t off, char *buf, size_t buflen,
		       size_t *next, size_t *bad_off)
{
	size_t pos = off, end = 0, out = 0, wire = 0;
	size_t limit = off; /* pointers must go below this: strictly backwards */
	int jumps = 0;
	bool jumped = false;
	char tmp[4];

	if (buf && buflen < 2)
		return DNSREEL_E_LIMIT;
	for (;;) {
		if (pos >= len) {
			*bad_off = pos;
			return DNSREEL_E_TRUNCATED;
		}
		uint8_t l = msg[pos];
		if ((l & 0xc0) == 0xc0) {
			if (pos + 1 >= len) {
				*bad_off = pos;
				return DNSREEL_E_TRUNCATED;
			}
			size_t tgt = ((size_t)(l & 0x3f) << 8) | msg[pos + 1];
			if (!jumped) {
				end = pos + 2;
				jumped = true;
			}
			/* Only backwards, and each jump lower than the last: no loops. */
			if (tgt >= limit || tgt >= pos || ++jumps > MAX_JUMPS) {
				*bad_off = pos;
				return DNSREEL_E_CORRUPT;
			}
			limit = tgt;
			pos = tgt;
			continue;
		}
		if (l & 0xc0) { /* 0x40 extended labels and 0x80 are obsolete or unknown */
			*bad_off = pos;
			return DNSREEL_E_CORRUPT;
		}
		wire += (size_t)l + 1;
		if (wire > MAX_WIRE) {
			*bad_off = pos;
			return DNSREEL_E_CORRUPT;
		}
		if (l == 0) {
			if (!jumped)
				end = pos + 1;
			break;
		}
		if (pos + 1 + l > len) {
			*bad_off = len;
			return DNSREEL_E_TRUNCATED;
		}
		if (buf) {
			const uint8_t *lab = msg + pos + 1;
			unsigned k = 0;
			while (k < l && plain[lab[k]])
				k++;
			if (k == l) { /* the usual label: copy it whole */
				if (out + l + 2 > buflen)
					return DNSREEL_E_LIMIT;
				memcpy(buf + out, lab, l);
				out += l;
			} else {
				for (unsigned i = 0; i < l; i++) {
					int n = put_label_byte(tmp, lab[i]);
					if (out + (size_t)n + 2 > buflen)
						return DNSREEL_E_LIMIT;
					memcpy(buf + out, tmp, (size_t)n);
					out += (size_t)n;
				}
			}
			buf[out++] = '.';
		}
		pos += 1 + (size_t)l;
	}
	if (buf) {
		if (out == 0)
			buf[out++] = '.';
		buf[out] = 0;
	}
	if (next)
		*next = end;
	return 0;
}

int dnsreel_dns_name(const uint8_t *msg, size_t len, size_t off, char *buf, size_t buflen,
		     size_t *next)
{
	size_t bad = 0;
	if (!msg || !buf)
		return DNSREEL_E_ARG;
	buf[0] = 0;
	int rc = name_decode(msg, len, off, buf, buflen, next, &bad);
	if (rc < 0 && buflen)
		buf[0] = 0;
	return rc;
}

/* Skips a name without decoding it: labels until the root or the first pointer. Pointers are
 * not followed (callers that need the text validate through name_decode). */
static int name_skip(const uint8_t *msg, size_t len, size_t off, size_t *next, size_t *bad_off)
{
	size_t pos = off, wire = 0;
	for (;;) {
		if (pos >= len) {
			*bad_off = pos;
			return DNSREEL_E_TRUNCATED;
		}
		uint8_t l = msg[pos];
		if ((l & 0xc0) == 0xc0) {
			if (pos + 1 >= len) {
				*bad_off = pos;
				return DNSREEL_E_TRUNCATED;
			}
			size_t tgt = ((size_t)(l & 0x3f) << 8) | msg[pos + 1];
			if (tgt >= pos) {
				*bad_off = pos;
				return DNSREEL_E_CORRUPT;
			}
			*next = pos + 2;
			return 0;
		}
		if (l & 0xc0) {
			*bad_off = pos;
			return DNSREEL_E_CORRUPT;
		}
		wire += (size_t)l + 1;
		if (wire > MAX_WIRE) {
			*bad_off = pos;
			return DNSREEL_E_CORRUPT;
		}
		if (l == 0) {
			*next = pos + 1;
			return 0;
		}
		pos += 1 + (size_t)l;
		if (pos > len) {
			*bad_off = len;
			return DNSREEL_E_TRUNCATED;
		}
	}
}

/* The wire extent of a name whose text cannot be trusted (bad pointer, too long): labels are
 * stepped over and a pointer ends it, wherever it points. 0x40/0x80 label types have no known
 * length: DNSREEL_E_CORRUPT, the extent is unknown and the caller must stop. */
static int name_extent(const uint8_t *msg, size_t len, size_t off, size_t *next)
{
	size_t pos = off;
	for (;;) {
		if (pos >= len)
			return DNSREEL_E_TRUNCATED;
		uint8_t l = msg[pos];
		if ((l & 0xc0) == 0xc0) {
			if (pos + 1 >= len)
				return DNSREEL_E_TRUNCATED;
			*next = pos + 2;
			return 0;
		}
		if (l & 0xc0)
			return DNSREEL_E_CORRUPT;
		if (l == 0) {
			*next = pos + 1;
			return 0;
		}
		pos += 1 + (size_t)l;
	}
}

static void fmt_ecs(struct dnsreel_dns *out, const uint8_t *p, size_t n)
{
	/* RFC 7871: FAMILY(2) SOURCE PREFIX(1) SCOPE PREFIX(1) ADDRESS(ceil(prefix/8)) */
	if (n < 4) {
		out->edns_err = "ECS option shorter than its 4-byte header";
		return;
	}
	uint16_t fam = rd16(p);
	uint8_t pfx = p[2];
	uint8_t a[16] = {0};
	size_t alen = n - 4;
	char txt[INET6_ADDRSTRLEN];
	/* RFC 7871 6: exactly ceil(SOURCE PREFIX-LENGTH / 8) address octets */
	if ((fam == 1 || fam == 2) && alen != ((size_t)pfx + 7) / 8) {
		out->edns_err = "ECS address length disagrees with its source prefix";
		return;
	}
	if (fam == 1) {
		if (alen > 4 || pfx > 32) {
			out->edns_err = "ECS prefix too long for IPv4";
			return;
		}
		memcpy(a, p + 4, alen);
		inet_ntop(AF_INET, a, txt, sizeof(txt));
	} else if (fam == 2) {
		if (alen > 16 || pfx > 128) {
			out->edns_err = "ECS prefix too long for IPv6";
			return;
		}
		memcpy(a, p + 4, alen);
		inet_ntop(AF_INET6, a, txt, sizeof(txt));
	} else {
		return;
	}
	snprintf(out->edns_client_subnet, sizeof(out->edns_client_subnet), "%s/%u", txt, pfx);
}

static void parse_opt(struct dnsreel_dns *out, const uint8_t *msg, uint16_t cls, uint32_t ttl,
		      size_t rd, uint16_t rdlen)
{
	out->has_edns = true;
	out->edns_udp_size = cls;
	/* TTL of OPT: EXTENDED-RCODE(8) VERSION(8) DO(1) Z(15) */
	out->rcode = (uint16_t)(((ttl >> 24) & 0xff) << 4) | (out->rcode & 0xf);
	out->edns_version = (uint8_t)(ttl >> 16);
	out->edns_do = (ttl & 0x8000) != 0;
	size_t p = rd, end = rd + rdlen;
	out->edns_err = NULL;
	out->edns_err_off = 0;
	while (p + 4 <= end) {
		uint16_t code = rd16(msg + p), olen = rd16(msg + p + 2);
		if (p + 4 + olen > end)
			break;
		if (code == 8 && !out->edns_err) {
			fmt_ecs(out, msg + p + 4, olen);
			if (out->edns_err)
				out->edns_err_off = (uint32_t)p;
		}
		p += 4 + (size_t)olen;
	}
	if (p != end && !out->edns_err) {
		out->edns_err = "EDNS option cut by the OPT record length";
		out->edns_err_off = (uint32_t)p;
	}
}

static size_t fmt_ipv4(char *d, const uint8_t *a)
{
	size_t n = 0;
	for (int i = 0; i < 4; i++) {
		unsigned v = a[i];
		if (i)
			d[n++] = '.';
		if (v >= 100) {
			d[n++] = (char)('0' + v / 100);
			v %= 100;
			d[n++] = (char)('0' + v / 10);
			d[n++] = (char)('0' + v % 10);
		} else if (v >= 10) {
			d[n++] = (char)('0' + v / 10);
			d[n++] = (char)('0' + v % 10);
		} else {
			d[n++] = (char)('0' + v);
		}
	}
	d[n] = 0;
	return n;
}

static void add_address(struct dnsreel_dns *out, size_t *alen, int af, const uint8_t *a)
{
	char txt[INET6_ADDRSTRLEN];
	size_t n;
	if (af == AF_INET) {
		n = fmt_ipv4(txt, a);
	} else {
		if (!inet_ntop(af, a, txt, sizeof(txt)))
			return;
		n = strlen(txt);
	}
	size_t need = n + (*alen ? 1 : 0);
	if (*alen + need >= sizeof(out->addresses))
		return; /* keep whole addresses only */
	if (*alen)
		out->addresses[(*alen)++] = ',';
	memcpy(out->addresses + *alen, txt, n + 1);
	*alen += n;
}

static int fail(struct dnsreel_dns *out, int err, size_t off, const char *what)
{
	out->err = err;
	out->err_off = (uint32_t)off;
	out->err_what = what;
	return err;
}

static void mark_bad_name(struct dnsreel_dns *out, size_t off, const char *what)
{
	if (!out->bad_names++) {
		out->bad_name_off = (uint32_t)off;
		out->bad_name_what = what;
	}
}

/* Resets out and reads the header, for the full parse and the question-only one. Returns 0 or
 * the parse error (recorded in out). */
static int parse_header(const uint8_t *msg, size_t len, struct dnsreel_dns *out)
{
	out->id = 0;
	out->qr = out->opcode = out->aa = out->tc = out->rd = out->ra = out->z = out->ad = out->cd =
	    0;
	out->rcode = 0;
	out->qdcount = out->ancount = out->nscount = out->arcount = 0;
	out->has_question = false;
	out->qname[0] = 0;
	out->qtype = out->qclass = 0;
	out->has_edns = false;
	out->edns_udp_size = 0;
	out->edns_version = 0;
	out->edns_do = false;
	out->edns_client_subnet[0] = 0;
	out->addresses[0] = 0;
	out->num_answers = 0;
	out->min_ttl = 0;
	out->err = 0;
	out->err_off = 0;
	out->err_what = NULL;
	out->qname_bad = false;
	out->bad_names = 0;
	out->bad_name_off = 0;
	out->bad_name_what = NULL;
	out->edns_err = NULL;
	out->edns_err_off = 0;

	if (!msg || len < 12)
		return fail(out, DNSREEL_E_TRUNCATED, len, "header");
	out->id = rd16(msg);
	uint8_t f1 = msg[2], f2 = msg[3];
	out->qr = f1 >> 7;
	out->opcode = (f1 >> 3) & 0xf;
	out->aa = (f1 >> 2) & 1;
	out->tc = (f1 >> 1) & 1;
	out->rd = f1 & 1;
	out->ra = f2 >> 7;
	out->z = (f2 >> 6) & 1;
	out->ad = (f2 >> 5) & 1;
	out->cd = (f2 >> 4) & 1;
	out->rcode = f2 & 0xf;
	out->qdcount = rd16(msg + 4);
	out->ancount = rd16(msg + 6);
	out->nscount = rd16(msg + 8);
	out->arcount = rd16(msg + 10);
	return 0;
}

/* The first question's type and class after its name ends at next. */
static int parse_qtail(const uint8_t *msg, size_t len, size_t next, struct dnsreel_dns *out)
{
	if (next + 4 > len)
		return fail(out, DNSREEL_E_TRUNCATED, len, "question");
	out->qtype = rd16(msg + next);
	out->qclass = rd16(msg + next + 2);
	out->has_question = true;
	return 0;
}

int dnsreel_dns_parse(const uint8_t *msg, size_t len, struct dnsreel_dns *out)
{
	size_t bad = 0, off, next;
	int rc;

	if (!out)
		return DNSREEL_E_ARG;
	rc = parse_header(msg, len, out);
	if (rc < 0)
		return rc;
	off = 12;
	for (unsigned q = 0; q < out->qdcount; q++) {
		if (q == 0) {
			rc =
			    name_decode(msg, len, off, out->qname, sizeof(out->qname), &next, &bad);
			if (rc == DNSREEL_E_CORRUPT && name_extent(msg, len, off, &next) == 0) {
				out->qname[0] = 0;
				out->qname_bad = true;
				mark_bad_name(out, bad, "question");
			} else if (rc < 0) {
				out->qname[0] = 0;
				return fail(out, rc, rc == DNSREEL_E_LIMIT ? off : bad, "question");
			}
			rc = parse_qtail(msg, len, next, out);
			if (rc < 0)
				return rc;
		} else {
			rc = name_skip(msg, len, off, &next, &bad);
			if (rc == DNSREEL_E_CORRUPT && name_extent(msg, len, off, &next) == 0)
				mark_bad_name(out, bad, "question");
			else if (rc < 0)
				return fail(out, rc, bad, "question");
			if (next + 4 > len)
				return fail(out, DNSREEL_E_TRUNCATED, len, "question");
		}
		off = next + 4;
	}

	size_t alen = 0;
	uint32_t total = (uint32_t)out->ancount + out->nscount + out->arcount;
	for (uint32_t i = 0; i < total; i++) {
		const char *what = i < out->ancount			       ? "answer"
				   : i < (uint32_t)out->ancount + out->nscount ? "authority"
									       : "additional";
		bool ans = i < out->ancount;
		rc = name_skip(msg, len, off, &next, &bad);
		if (rc == DNSREEL_E_CORRUPT && name_extent(msg, len, off, &next) == 0)
			mark_bad_name(out, bad, what);
		else if (rc < 0)
			return fail(out, rc, bad, what);
		if (next + 10 > len)
			return fail(out, DNSREEL_E_TRUNCATED, len, what);
		const uint8_t *h = msg + next;
		uint16_t type = rd16(h), cls = rd16(h + 2), rdlen = rd16(h + 8);
		uint32_t ttl = rd32(h + 4);
		size_t rd = next + 10;
		if (rd + rdlen > len)
			return fail(out, DNSREEL_E_TRUNCATED, len, what);
		if (ans) {
			if (type == 1 && rdlen == 4)
				add_address(out, &alen, AF_INET, msg + rd);
			else if (type == 28 && rdlen == 16)
				add_address(out, &alen, AF_INET6, msg + rd);
			if (out->num_answers == 0 || ttl < out->min_ttl)
				out->min_ttl = ttl;
			out->num_answers++;
		} else if (type == 41 && !out->has_edns &&
			   i >= (uint32_t)out->ancount + out->nscount) {
			parse_opt(out, msg, cls, ttl, rd, rdlen);
		}
		off = rd + rdlen;
	}
	return 0;
}

/* ---- header and question only, with a name cache ------------------------------------------ */

/* Direct-mapped: a collision only costs a decode. Names longer than NC_WIRE on the wire or
 * compressed (a question name never needs to be) are decoded every time. */
#define NC_SLOTS 2048
#define NC_WIRE	 96
#define NC_TEXT	 128

struct nc_ent {
	uint8_t wlen; /* 0 = empty */
	uint8_t tlen;
	uint8_t wire[NC_WIRE];
	char text[NC_TEXT];
};

struct dnsreel_dns_ncache {
	struct nc_ent ent[NC_SLOTS];
};

int dnsreel_dns_ncache__new(struct dnsreel_dns_ncache **out)
{
	*out = calloc(1, sizeof(**out));
	return *out ? 0 : -ENOMEM;
}

void dnsreel_dns_ncache__free(struct dnsreel_dns_ncache *nc)
{
	free(nc);
}

/* Slot from the length and the first and last eight bytes. */
static size_t nc_slot(const uint8_t *p, size_t n)
{
	uint64_t a = 0, b = 0;

	memcpy(&a, p, n < 8 ? n : 8);
	if (n > 8)
		memcpy(&b, p + n - 8, 8);
	a = (a ^ (b * 0x9e3779b97f4a7c15ull) ^ n) * 0xff51afd7ed558ccdull;
	return (size_t)(a >> 40) & (NC_SLOTS - 1);
}

/* The cache slot for the plain (uncompressed, short) name at 12, or NULL; *wl its wire length. */
static struct nc_ent *nc_find(struct dnsreel_dns_ncache *nc, const uint8_t *msg, size_t len,
			      size_t *wl)
{
	for (size_t pos = 12; pos < len && pos - 12 < NC_WIRE;) {
		uint8_t l = msg[pos];

		if (l == 0) {
			*wl = pos + 1 - 12;
			return &nc->ent[nc_slot(msg + 12, *wl)];
		}
		if (l & 0xc0)
			return NULL;
		pos += (size_t)l + 1;
	}
	return NULL;
}

int dnsreel_dns_parse_question(const uint8_t *msg, size_t len, struct dnsreel_dns *out,
			       struct dnsreel_dns_ncache *nc)
{
	struct nc_ent *e = NULL;
	size_t wl = 0, next, bad = 0;
	int rc;

	if (!out)
		return DNSREEL_E_ARG;
	rc = parse_header(msg, len, out);
	if (rc < 0 || !out->qdcount)
		return rc;
	if (nc)
		e = nc_find(nc, msg, len, &wl);
	if (e && e->wlen == wl && !memcmp(e->wire, msg + 12, wl)) {
		memcpy(out->qname, e->text, (size_t)e->tlen + 1);
		return parse_qtail(msg, len, 12 + wl, out);
	}
	rc = name_decode(msg, len, 12, out->qname, sizeof(out->qname), &next, &bad);
	if (rc == DNSREEL_E_CORRUPT && name_extent(msg, len, 12, &next) == 0) {
		/* as dnsreel_dns_parse(): marked, and the question's type and class still read */
		out->qname[0] = 0;
		out->qname_bad = true;
		mark_bad_name(out, bad, "question");
		return parse_qtail(msg, len, next, out);
	}
	if (rc < 0) {
		out->qname[0] = 0;
		return fail(out, rc, rc == DNSREEL_E_LIMIT ? 12 : bad, "question");
	}
	if (e && next - 12 == wl) {
		size_t tl = strlen(out->qname);

		if (tl < NC_TEXT) {
			e->wlen = (uint8_t)wl;
			memcpy(e->wire, msg + 12, wl);
			e->tlen = (uint8_t)tl;
			memcpy(e->text, out->qname, tl + 1);
		}
	}
	return parse_qtail(msg, len, next, out);
}

/* ---- iterator ----------------------------------------------------------------------------- */

int dnsreel_dns_iter_init(struct dnsreel_dns_iter *it, const uint8_t *msg, size_t len)
{
	size_t next, bad;
	memset(it, 0, sizeof(*it));
	it->msg = msg;
	it->len = len;
	if (!msg || len < 12) {
		it->err = DNSREEL_E_TRUNCATED;
		return it->err;
	}
	uint16_t qd = rd16(msg + 4);
	it->counts[0] = rd16(msg + 6);
	it->counts[1] = rd16(msg + 8);
	it->counts[2] = rd16(msg + 10);
	size_t off = 12;
	for (unsigned q = 0; q < qd; q++) {
		int rc = name_skip(msg, len, off, &next, &bad);
		if (rc == DNSREEL_E_CORRUPT && name_extent(msg, len, off, &next) == 0)
			rc = 0; /* a bad question name does not hide the records after it */
		if (rc < 0) {
			it->err = rc;
			it->off = bad;
			return rc;
		}
		if (next + 4 > len) {
			it->err = DNSREEL_E_TRUNCATED;
			it->off = len;
			return it->err;
		}
		off = next + 4;
	}
	it->off = off;
	return 0;
}

int dnsreel_dns_iter_next(struct dnsreel_dns_iter *it, struct dnsreel_dns_rr *rr)
{
	size_t next, bad = 0;
	if (it->err)
		return it->err;
	uint32_t total = (uint32_t)it->counts[0] + it->counts[1] + it->counts[2];
	if (it->index >= total)
		return 0;
	uint32_t i = it->index;
	rr->section = i < it->counts[0]				    ? DNSREEL_DNS_ANSWER
		      : i < (uint32_t)it->counts[0] + it->counts[1] ? DNSREEL_DNS_AUTHORITY
								    : DNSREEL_DNS_ADDITIONAL;
	int rc = name_decode(it->msg, it->len, it->off, rr->name, sizeof(rr->name), &next, &bad);
	rr->name_bad = false;
	rr->name_bad_off = 0;
	if (rc == DNSREEL_E_CORRUPT && name_extent(it->msg, it->len, it->off, &next) == 0) {
		/* the record is still there: keep it, with its name marked */
		rr->name[0] = 0;
		rr->name_bad = true;
		rr->name_bad_off = (uint32_t)bad;
	} else if (rc < 0) {
		rr->name[0] = 0;
		it->err = rc;
		return rc;
	}
	if (next + 10 > it->len) {
		it->err = DNSREEL_E_TRUNCATED;
		return it->err;
	}
	const uint8_t *h = it->msg + next;
	rr->type = rd16(h);
	rr->class = rd16(h + 2);
	rr->ttl = rd32(h + 4);
	rr->rdlen = rd16(h + 8);
	rr->rdata_off = (uint32_t)(next + 10);
	if ((size_t)rr->rdata_off + rr->rdlen > it->len) {
		it->err = DNSREEL_E_TRUNCATED;
		return it->err;
	}
	it->off = (size_t)rr->rdata_off + rr->rdlen;
	it->index++;
	return 1;
}

/* ---- RDATA presentation ------------------------------------------------------------------- */

/* A name inside rdata: its uncompressed part must end within the rdata. */
static int rd_name(const uint8_t *msg, size_t len, size_t *p, size_t end, struct sbuf *b)
{
	char name[DNSREEL_DNS_NAME_MAX];
	size_t next, bad;
	int rc = name_decode(msg, len, *p, name, sizeof(name), &next, &bad);
	if (rc < 0)
		return rc;
	if (next > end)
		return DNSREEL_E_CORRUPT;
	*p = next;
	sb_puts(b, name);
	return 0;
}

static void rd_generic(const uint8_t *d, uint16_t n, struct sbuf *b)
{
	static const char hex[] = "0123456789abcdef";
	sb_printf(b, "\\# %u", n);
	if (n)
		sb_putc(b, ' ');
	for (unsigned i = 0; i < n && !b->full; i++) {
		sb_putc(b, hex[d[i] >> 4]);
		sb_putc(b, hex[d[i] & 15]);
	}
}

int dnsreel_dns_rdata_str(const uint8_t *msg, size_t len, const struct dnsreel_dns_rr *rr,
			  char *buf, size_t buflen)
{
	struct sbuf b;
	char txt[INET6_ADDRSTRLEN];
	int rc = 0;

	if (!msg || !rr || !buf || buflen == 0)
		return DNSREEL_E_ARG;
	sb_init(&b, buf, buflen);
	size_t p = rr->rdata_off, end = (size_t)rr->rdata_off + rr->rdlen;
	if (end > len || p > len)
		return DNSREEL_E_TRUNCATED;
	const uint8_t *d = msg + p;
	uint16_t n = rr->rdlen;
	uint8_t opcode = len > 2 ? (msg[2] >> 3) & 0xf : 0;
	/* RFC 2136 2.4/2.5: prerequisites and deletions carry no RDATA (class ANY or NONE, or
	 * any record of an UPDATE); RFC 1035 6.4.1: an IQUERY answer may have none */
	if (n == 0 && (rr->class == 255 || rr->class == 254 || opcode == 5 || opcode == 1) &&
	    rr->type != 41) {
		buf[0] = 0;
		return 0;
	}

	switch (rr->type) {
	case 1: /* A */
		if (n != 4)
			return DNSREEL_E_CORRUPT;
		fmt_ipv4(txt, d);
		sb_puts(&b, txt);
		break;
	case 28: /* AAAA */
		if (n != 16)
			return DNSREEL_E_CORRUPT;
		inet_ntop(AF_INET6, d, txt, sizeof(txt));
		sb_puts(&b, txt);
		break;
	case 2:	 /* NS */
	case 5:	 /* CNAME */
	case 12: /* PTR */
		rc = rd_name(msg, len, &p, end, &b);
		if (rc == 0 && p != end)
			rc = DNSREEL_E_CORRUPT;
		break;
	case 15: /* MX */
		if (n < 3)
			return DNSREEL_E_CORRUPT;
		sb_printf(&b, "%u ", rd16(d));
		p += 2;
		rc = rd_name(msg, len, &p, end, &b);
		if (rc == 0 && p != end)
			rc = DNSREEL_E_CORRUPT;
		break;
	case 33: /* SRV */
		if (n < 7)
			return DNSREEL_E_CORRUPT;
		sb_printf(&b, "%u %u %u ", rd16(d), rd16(d + 2), rd16(d + 4));
		p += 6;
		rc = rd_name(msg, len, &p, end, &b);
		if (rc == 0 && p != end)
			rc = DNSREEL_E_CORRUPT;
		break;
	case 6: /* SOA */
		rc = rd_name(msg, len, &p, end, &b);
		if (rc < 0)
			break;
		sb_putc(&b, ' ');
		rc = rd_name(msg, len, &p, end, &b);
		if (rc < 0)
			break;
		if (end - p != 20) {
			rc = DNSREEL_E_CORRUPT;
			break;
		}
		sb_printf(&b, " %u %u %u %u %u", rd32(msg + p), rd32(msg + p + 4),
			  rd32(msg + p + 8), rd32(msg + p + 12), rd32(msg + p + 16));
		break;
	case 16: /* TXT: one or more <character-string> */
		if (n == 0)
			return DNSREEL_E_CORRUPT;
		for (size_t q = 0; q < n;) {
			uint8_t sl = d[q];
			if (q + 1 + sl > n)
				return DNSREEL_E_CORRUPT;
			if (q)
				sb_putc(&b, ' ');
			sb_putc(&b, '"');
			for (unsigned k = 0; k < sl; k++) {
				uint8_t c = d[q + 1 + k];
				if (c == '"' || c == '\\') {
					sb_putc(&b, '\\');
					sb_putc(&b, (char)c);
				} else if (c < 0x20 || c >= 0x7f) {
					sb_printf(&b, "\\%03u", c);
				} else {
					sb_putc(&b, (char)c);
				}
			}
			sb_putc(&b, '"');
			q += 1 + (size_t)sl;
		}
		break;
	case 41: { /* OPT pseudo-RR */
		struct dnsreel_dns tmp;
		tmp.rcode = 0;
		tmp.edns_client_subnet[0] = 0;
		parse_opt(&tmp, msg, rr->class, rr->ttl, p, n);
		sb_printf(&b, "udp=%u ver=%u do=%d", tmp.edns_udp_size, tmp.edns_version,
			  tmp.edns_do ? 1 : 0);
		if (tmp.rcode >> 4)
			sb_printf(&b, " ext_rcode=%u", tmp.rcode >> 4);
		if (tmp.edns_client_subnet[0])
			sb_printf(&b, " ecs=%s", tmp.edns_client_subnet);
		if (tmp.edns_err)
			sb_printf(&b, " bad_option@%u (%s)", tmp.edns_err_off, tmp.edns_err);
		break;
	}
	default:
		rd_generic(d, n, &b);
		break;
	}
	if (rc < 0)
		return rc;
	if (b.full)
		return DNSREEL_E_LIMIT;
	return (int)b.len;
}

/* ---- names of numbers, as trace_dns prints them ---------------------------------------------- */

struct num_name {
	uint16_t v;
	const char *s;
};

/* trace_dns names exactly these types (the set it takes from Go's dnsmessage); others print as
 * the decimal number. */
static const struct num_name type_names[] = {
    {1, "A"},	 {2, "NS"},	{5, "CNAME"},  {6, "SOA"},    {12, "PTR"},
    {15, "MX"},	 {16, "TXT"},	{28, "AAAA"},  {33, "SRV"},   {41, "OPT"},
    {11, "WKS"}, {13, "HINFO"}, {14, "MINFO"}, {252, "AXFR"}, {255, "ALL"},
};

static const char *const rcode_names[] = {
    "Success", "FormatError", "ServerFailure", "NameError", "NotImplemented", "Refused",
};

static const char *const opcode_names[] = {"QUERY", "IQUERY", "STATUS", NULL, "NOTIFY", "UPDATE"};

const char *dnsreel_dns_type_name(uint16_t type)
{
	switch (type) {
	case 1:
		return "A";
	case 28:
		return "AAAA";
	default:
		break;
	}
	for (size_t i = 0; i < sizeof(type_names) / sizeof(type_names[0]); i++)
		if (type_names[i].v == type)
			return type_names[i].s;
	return NULL;
}

const char *dnsreel_dns_rcode_name(uint16_t rcode)
{
	return rcode < sizeof(rcode_names) / sizeof(rcode_names[0]) ? rcode_names[rcode] : NULL;
}

const char *dnsreel_dns_opcode_name(uint8_t opcode)
{
	return opcode < sizeof(opcode_names) / sizeof(opcode_names[0]) ? opcode_names[opcode]
								       : NULL;
}

static int parse_num(const char *s, const char *prefix, long max)
{
	size_t pl = prefix ? strlen(prefix) : 0;
	if (pl && strncasecmp(s, prefix, pl) != 0)
		return -1;
	s += pl;
	if (!*s)
		return -1;
	long v = 0;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		v = v * 10 + (*s - '0');
		if (v > max)
			return -1;
	}
	return (int)v;
}

int dnsreel_dns_type_from_name(const char *s)
{
	if (!s)
		return -1;
	for (size_t i = 0; i < sizeof(type_names) / sizeof(type_names[0]); i++)
		if (strcasecmp(type_names[i].s, s) == 0)
			return type_names[i].v;
	/* A few more common mnemonics, accepted on input only (output follows trace_dns). */
	static const struct num_name extra[] = {
	    {35, "NAPTR"},  {39, "DNAME"}, {43, "DS"},	 {46, "RRSIG"}, {47, "NSEC"},
	    {48, "DNSKEY"}, {50, "NSEC3"}, {64, "SVCB"}, {65, "HTTPS"}, {99, "SPF"},
	    {251, "IXFR"},  {255, "ANY"},  {257, "CAA"},
	};
	for (size_t i = 0; i < sizeof(extra) / sizeof(extra[0]); i++)
		if (strcasecmp(extra[i].s, s) == 0)
			return extra[i].v;
	int v = parse_num(s, NULL, 65535);
	if (v < 0)
		v = parse_num(s, "TYPE", 65535);
	return v;
}

int dnsreel_dns_rcode_from_name(const char *s)
{
	if (!s)
		return -1;
	for (size_t i = 0; i < sizeof(rcode_names) / sizeof(rcode_names[0]); i++)
		if (strcasecmp(rcode_names[i], s) == 0)
			return (int)i;
	/* The usual short mnemonics (dig, RFC 6895), accepted on input. */
	static const char *const mn[] = {"NOERROR",  "FORMERR", "SERVFAIL",
					 "NXDOMAIN", "NOTIMP",	"REFUSED"};
	for (size_t i = 0; i < sizeof(mn) / sizeof(mn[0]); i++)
		if (strcasecmp(mn[i], s) == 0)
			return (int)i;
	return parse_num(s, NULL, 4095);
}

const char *dnsreel_dns_rcode_text(uint16_t rcode, char *buf, size_t len)
{
	const char *t = dnsreel_dns_rcode_name(rcode);
	if (t)
		return t;
	snprintf(buf, len, "%u", rcode);
	return buf;
}

const char *dnsreel_dns_type_text(uint16_t type, char *buf, size_t len)
{
	const char *t = dnsreel_dns_type_name(type);
	if (t)
		return t;
	snprintf(buf, len, "%u", type);
	return buf;
}
