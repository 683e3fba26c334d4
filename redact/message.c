/* DNS messages rebuilt with every name and address redacted. The input is read with the
 * same care as dnswire's parser (bounds, backward-only compression pointers, 255-octet names);
 * the output writes names uncompressed and recomputes every RDLENGTH and section count, so it
 * parses as what it says. Records whose RDATA cannot be rewritten (types not known to hold
 * only names, addresses and numbers) are left out, and so is whatever follows damage. */
#include <string.h>

#include "dnsreel.h"
#include "redact_int.h"

/* The name at off, uncompressed, into wire (256 bytes). *next: the offset after it where it
 * sits. Pointers must go backwards, below every earlier jump (so no loops). */
static int read_name(const uint8_t *m, size_t len, size_t off, uint8_t wire[256], size_t *wlen,
		     size_t *next)
{
	size_t pos = off, o = 0, min = off;
	bool jumped = false;
	for (int jumps = 0;;) {
		if (pos >= len)
			return DNSREEL_E_TRUNCATED;
		uint8_t c = m[pos];
		if (c == 0) {
			wire[o++] = 0;
			if (!jumped)
				*next = pos + 1;
			*wlen = o;
			return 0;
		}
		if ((c & 0xC0) == 0xC0) {
			if (pos + 1 >= len)
				return DNSREEL_E_TRUNCATED;
			size_t ptr = (size_t)(c & 0x3F) << 8 | m[pos + 1];
			if (!jumped)
				*next = pos + 2;
			jumped = true;
			if (ptr >= min || ++jumps > 64)
				return DNSREEL_E_CORRUPT;
			min = ptr;
			pos = ptr;
			continue;
		}
		if (c & 0xC0)
			return DNSREEL_E_CORRUPT; /* extended label types: none in use */
		if (pos + 1 + c > len)
			return DNSREEL_E_TRUNCATED;
		if (o + 1 + c + 1 > 255)
			return DNSREEL_E_CORRUPT;
		memcpy(wire + o, m + pos, 1 + (size_t)c);
		o += 1 + (size_t)c;
		pos += 1 + (size_t)c;
	}
}

struct out {
	uint8_t *p;
	size_t cap, n;
};

static bool put(struct out *w, const void *b, size_t n)
{
	if (w->cap - w->n < n)
		return false;
	memcpy(w->p + w->n, b, n);
	w->n += n;
	return true;
}

static uint16_t be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static void set16(uint8_t *p, size_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

enum { RD_OK = 0, RD_DROP = 1, RD_FULL = 2 };

/* A name of the message at off (inside [off, end)) rewritten onto w. */
static int name_at(struct dnsreel_redactor *r, const uint8_t *m, size_t len, size_t off, size_t end,
		   size_t *next, struct out *w)
{
	uint8_t wire[256], red[256];
	size_t wl = 0;
	int err = read_name(m, len, off, wire, &wl, next);
	if (err || *next > end)
		return RD_DROP;
	int n = dnsreel_redactor__wire_name(r, wire, wl, red);
	if (n == DNSREEL_E_PARSE || n == DNSREEL_E_LIMIT)
		return RD_DROP;
	if (n < 0)
		return n;
	return put(w, red, (size_t)n) ? RD_OK : RD_FULL;
}

/* EDNS options: client subnet addresses mapped, options that only carry numbers kept, the
 * rest (NSID names a server, CHAIN a name, unknown ones anything) left out. */
static int opt_rdata(struct dnsreel_redactor *r, const uint8_t *d, size_t n, struct out *w)
{
	size_t off = 0;
	while (n - off >= 4) {
		uint16_t code = be16(d + off), ol = be16(d + off + 2);
		const uint8_t *v = d + off + 4;
		if (n - off - 4 < ol)
			break;
		off += 4 + (size_t)ol;
		uint8_t buf[4 + 16];
		size_t bl = 0;
		if (code == 8) { /* RFC 7871 client subnet */
			if (ol < 4) {
				r->st.edns_options_dropped++;
				continue;
			}
			uint16_t fam = be16(v);
			unsigned src = v[2], bits = fam == 1 ? 32 : fam == 2 ? 128 : 0;
			size_t al = ol - 4u;
			if (!bits || src > bits || al != (src + 7) / 8) {
				r->st.edns_options_dropped++;
				continue;
			}
			uint8_t a[16] = {0}, mm[16];
			memcpy(a, v + 4, al);
			int err = dnsreel_redactor__addr(r, fam == 1 ? 4 : 6, a, mm);
			if (err)
				return err;
			if (src % 8)
				mm[src / 8] &= (uint8_t)(0xFF << (8 - src % 8));
			memcpy(buf, v, 4);
			memcpy(buf + 4, mm, al);
			bl = 4 + al;
		} else if (code == 9 || code == 10 || code == 11 || code == 12) {
			/* EXPIRE, COOKIE (opaque random), TCP keepalive, padding */
			if (ol > 40 && code != 12) {
				r->st.edns_options_dropped++;
				continue;
			}
			uint8_t hdr[4];
			set16(hdr, code);
			set16(hdr + 2, ol);
			if (code == 12) { /* padding: zeros, whatever it held */
				if (!put(w, hdr, 4))
					return RD_FULL;
				for (size_t i = 0; i < ol; i++)
					if (!put(w, "", 1))
						return RD_FULL;
				continue;
			}
			if (!put(w, hdr, 4) || !put(w, v, ol))
				return RD_FULL;
			continue;
		} else if (code == 15 && ol >= 2) { /* extended error: the code, not its text */
			memcpy(buf, v, 2);
			bl = 2;
		} else {
			r->st.edns_options_dropped++;
			continue;
		}
		uint8_t hdr[4];
		set16(hdr, code);
		set16(hdr + 2, bl);
		if (!put(w, hdr, 4) || !put(w, buf, bl))
			return RD_FULL;
	}
	if (off != n)
		r->st.edns_options_dropped++;
	return RD_OK;
}

/* Character-strings (TXT, HINFO, SPF): framing kept, text replaced by keyed characters. */
static int strings_rdata(struct dnsreel_redactor *r, const uint8_t *d, size_t n, struct out *w)
{
	size_t off = 0;
	while (off < n) {
		size_t l = d[off];
		if (n - off - 1 < l)
			return RD_DROP;
		uint8_t buf[256];
		buf[0] = (uint8_t)l;
		int err = dr_prf_chars(r, DR_PRF_TEXT, d + off + 1, l, buf + 1, l);
		if (err)
			return err;
		if (!put(w, buf, l + 1))
			return RD_FULL;
		off += 1 + l;
	}
	return RD_OK;
}

/* RDATA of rr (at rd, rdlen bytes) onto w. */
static int rdata(struct dnsreel_redactor *r, const uint8_t *m, size_t len, uint16_t type, size_t rd,
		 size_t rdlen, struct out *w)
{
	size_t end = rd + rdlen, next = 0;
	const uint8_t *d = m + rd;
	int e;
	switch (type) {
	case 1: /* A */
	case 28: /* AAAA */ {
		size_t al = type == 1 ? 4 : 16;
		if (rdlen != al)
			return RD_DROP;
		uint8_t a[16] = {0}, mm[16];
		memcpy(a, d, al);
		int err = dnsreel_redactor__addr(r, type == 1 ? 4 : 6, a, mm);
		if (err)
			return err;
		return put(w, mm, al) ? RD_OK : RD_FULL;
	}
	case 2:
	case 3:
	case 4:
	case 5:
	case 7:
	case 8:
	case 9:
	case 12:
	case 39:
		/* NS MD MF CNAME MB MG MR PTR DNAME: one name */
		e = name_at(r, m, len, rd, end, &next, w);
		return e == RD_OK && next != end ? RD_DROP : e;
	case 15:
	case 18:
	case 21:
	case 36: /* MX AFSDB RT KX: preference, name */
		if (rdlen < 3)
			return RD_DROP;
		if (!put(w, d, 2))
			return RD_FULL;
		e = name_at(r, m, len, rd + 2, end, &next, w);
		return e == RD_OK && next != end ? RD_DROP : e;
	case 33: /* SRV: priority, weight, port, target */
		if (rdlen < 7)
			return RD_DROP;
		if (!put(w, d, 6))
			return RD_FULL;
		e = name_at(r, m, len, rd + 6, end, &next, w);
		return e == RD_OK && next != end ? RD_DROP : e;
	case 6:	 /* SOA: two names, five numbers */
	case 14: /* MINFO */
	case 17: /* RP */
		e = name_at(r, m, len, rd, end, &next, w);
		if (e != RD_OK)
			return e;
		e = name_at(r, m, len, next, end, &next, w);
		if (e != RD_OK)
			return e;
		if (type != 6)
			return next == end ? RD_OK : RD_DROP;
		if (end - next != 20)
			return RD_DROP;
		return put(w, m + next, 20) ? RD_OK : RD_FULL;
	case 13:
	case 16:
	case 99: /* HINFO TXT SPF */
		return strings_rdata(r, d, rdlen, w);
	case 41:
		return opt_rdata(r, d, rdlen, w);
	default:
		return RD_DROP;
	}
}

static int rebuild(struct dnsreel_redactor *r, const uint8_t *m, size_t len, uint8_t *outp,
		   size_t cap)
{
	if (len < 12 || cap < 12)
		return DNSREEL_E_PARSE;
	struct out w = {outp, cap, 12};
	memcpy(outp, m, 12);
	uint16_t cnt[4] = {be16(m + 4), be16(m + 6), be16(m + 8), be16(m + 10)};
	uint16_t done[4] = {0, 0, 0, 0};
	size_t off = 12;
	bool cut = false;
	for (unsigned q = 0; q < cnt[0] && !cut; q++) {
		size_t mark = w.n, next = 0;
		int e = name_at(r, m, len, off, len, &next, &w);
		if (e < 0)
			return e;
		if (e != RD_OK || len - next < 4 || !put(&w, m + next, 4)) {
			w.n = mark;
			cut = true;
			break;
		}
		off = next + 4;
		done[0]++;
	}
	if (cnt[0] && !done[0])
		return DNSREEL_E_PARSE;
	for (unsigned s = 1; s < 4 && !cut; s++) {
		for (unsigned i = 0; i < cnt[s]; i++) {
			uint8_t wire[256];
			size_t wl = 0, next = 0, mark = w.n;
			if (read_name(m, len, off, wire, &wl, &next) || len - next < 10) {
				cut = true;
				break;
			}
			uint16_t type = be16(m + next);
			size_t rdlen = be16(m + next + 8), rd = next + 10;
			if (len - rd < rdlen) {
				cut = true;
				break;
			}
			off = rd + rdlen;
			if ((r->drop & DNSREEL_REDACT_DROP_ANSWERS) && type != 41) {
				r->st.rrs_dropped++;
				continue;
			}
			uint8_t red[256];
			int n = dnsreel_redactor__wire_name(r, wire, wl, red);
			if (n == DNSREEL_E_PARSE || n == DNSREEL_E_LIMIT) {
				r->st.rrs_dropped++;
				continue;
			}
			if (n < 0)
				return n;
			if (!put(&w, red, (size_t)n) || !put(&w, m + next, 10)) {
				w.n = mark;
				cut = true;
				break;
			}
			size_t rdpos = w.n;
			int e = rdata(r, m, len, type, rd, rdlen, &w);
			if (e < 0)
				return e;
			if (e == RD_FULL) {
				w.n = mark;
				cut = true;
				break;
			}
			if (e == RD_DROP) {
				w.n = mark;
				r->st.rrs_dropped++;
				continue;
			}
			set16(outp + rdpos - 2, w.n - rdpos);
			done[s]++;
		}
	}
	if (cut)
		r->st.messages_cut++;
	for (unsigned s = 0; s < 4; s++)
		set16(outp + 4 + 2 * s, done[s]);
	r->st.messages++;
	return (int)w.n;
}

/* One message is seen at every hop, and a query and the same query again are the same bytes:
 * the rebuilt form of small messages is kept, with what rebuilding them counted. Only results
 * built with room to spare are kept, so a hit is what rebuilding would give. */
int dnsreel_redactor__message(struct dnsreel_redactor *r, const uint8_t *m, size_t len,
			      uint8_t *outp, size_t cap)
{
	if (len < 12 || len > DR_MSG_IN)
		return rebuild(r, m, len, outp, cap);
	struct dr_msg_slot *s = &r->msg[dnsreel_hash_bytes(m, len, 11) & (DR_MSG_SLOTS - 1)];
	if (s->inlen == len && s->outlen <= cap && !memcmp(s->in, m, len)) {
		memcpy(outp, s->out, s->outlen);
		r->st.messages++;
		r->st.rrs_dropped += s->rrs_dropped;
		r->st.messages_cut += s->cut;
		r->st.edns_options_dropped += s->edns_dropped;
		return s->outlen;
	}
	struct dnsreel_redact_stats before = r->st;
	int n = rebuild(r, m, len, outp, cap);
	if (n >= 0 && (size_t)n <= DR_MSG_OUT && cap >= 65535) {
		s->inlen = (uint16_t)len;
		s->outlen = (uint16_t)n;
		memcpy(s->in, m, len);
		memcpy(s->out, outp, (size_t)n);
		s->rrs_dropped = (uint16_t)(r->st.rrs_dropped - before.rrs_dropped);
		s->cut = (uint16_t)(r->st.messages_cut - before.messages_cut);
		s->edns_dropped =
		    (uint16_t)(r->st.edns_options_dropped - before.edns_options_dropped);
	}
	return n;
}
