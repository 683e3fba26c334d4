/* Domain names: reverse-zone addresses through Crypto-PAn, kept suffixes as they are, every
 * other label a keyed pseudonym of the same length ([a-z0-9], a leading '_' kept), so one label
 * always becomes one pseudonym and search-path walks keep their shape. */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "dnsreel.h"
#include "redact_int.h"

static int label_pseudonym(struct dnsreel_redactor *r, const uint8_t *in, size_t len, uint8_t *out)
{
	uint8_t low[63];
	for (size_t i = 0; i < len; i++)
		low[i] = (uint8_t)tolower(in[i]);
	if (len == 1 && low[0] == '*') {
		out[0] = '*';
		return 0;
	}
	struct dr_label_slot *s = &r->label[dnsreel_hash_bytes(low, len, 3) & (DR_LABEL_SLOTS - 1)];
	if (s->len == len && !memcmp(s->in, low, len)) {
		memcpy(out, s->out, len);
		return 0;
	}
	size_t skip = low[0] == '_' ? 1 : 0;
	out[0] = '_';
	int err = dr_prf_chars(r, DR_PRF_LABEL, low, len, out + skip, len - skip);
	if (err)
		return err;
	s->len = (uint8_t)len;
	memcpy(s->in, low, len);
	memcpy(s->out, out, len);
	return 0;
}

static bool label_eq(const uint8_t *a, const uint8_t *b, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (tolower(a[i]) != b[i])
			return false;
	return true;
}

static bool is_label(const uint8_t *l, const char *s)
{
	size_t n = strlen(s);
	return l[0] == n && label_eq(l + 1, (const uint8_t *)s, n);
}

/* A decimal octet as reverse names write it: 0..255, no leading zero. -1 otherwise. */
static int octet(const uint8_t *l)
{
	if (l[0] < 1 || l[0] > 3 || (l[0] > 1 && l[1] == '0'))
		return -1;
	int v = 0;
	for (int i = 1; i <= l[0]; i++) {
		if (l[i] < '0' || l[i] > '9')
			return -1;
		v = v * 10 + (l[i] - '0');
	}
	return v <= 255 ? v : -1;
}

static int nibble(const uint8_t *l)
{
	if (l[0] != 1)
		return -1;
	int c = tolower(l[1]);
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

#define MAX_LABELS 128

static int rewrite(struct dnsreel_redactor *r, const uint8_t *name, size_t len, uint8_t out[256])
{
	size_t lab[MAX_LABELS];
	unsigned n = 0;
	size_t off = 0;
	for (;;) {
		if (off >= len)
			return DNSREEL_E_PARSE;
		uint8_t l = name[off];
		if (l == 0)
			break;
		if (l > 63 || n == MAX_LABELS || off + 1 + l >= len)
			return DNSREEL_E_PARSE;
		lab[n++] = off;
		off += 1 + (size_t)l;
	}
	if (off + 1 != len || len > 255)
		return DNSREEL_E_PARSE;

	/* what each label becomes: 0 pseudonym, 1 kept, 2 replaced by text[i] */
	uint8_t what[MAX_LABELS] = {0};
	char text[MAX_LABELS][4];
	unsigned rev_end = n; /* labels from here on are the reverse zone's own */
	if (n >= 2 && is_label(name + lab[n - 1], "arpa") &&
	    (is_label(name + lab[n - 2], "in-addr") || is_label(name + lab[n - 2], "ip6"))) {
		bool v4 = is_label(name + lab[n - 2], "in-addr");
		rev_end = n - 2;
		unsigned max = v4 ? 4 : 32, k = 0;
		uint8_t a[16] = {0};
		while (k < max && k < rev_end) {
			const uint8_t *l = name + lab[rev_end - 1 - k];
			int v = v4 ? octet(l) : nibble(l);
			if (v < 0)
				break;
			if (v4)
				a[k] = (uint8_t)v;
			else
				a[k / 2] |= (uint8_t)(k % 2 ? v : v << 4);
			k++;
		}
		if (k) {
			uint8_t m[16];
			int err = dnsreel_redactor__addr(r, v4 ? 4 : 6, a, m);
			if (err)
				return err;
			for (unsigned i = 0; i < k; i++) {
				unsigned idx = rev_end - 1 - i;
				what[idx] = 2;
				if (v4)
					snprintf(text[idx], sizeof(text[idx]), "%u", m[i]);
				else
					snprintf(text[idx], sizeof(text[idx]), "%x",
						 (m[i / 2] >> (i % 2 ? 0 : 4)) & 15);
			}
		}
		what[n - 1] = what[n - 2] = 1;
	}
	if (r->keep_all) {
		for (unsigned i = 0; i < n; i++)
			if (!what[i])
				what[i] = 1;
	} else {
		unsigned best = 0;
		for (size_t k = 0; k < r->n_keep; k++) {
			unsigned kl = r->keep[k].labels;
			if (kl > n || kl <= best)
				continue;
			size_t start = lab[n - kl];
			if (len - 1 - start == r->keep[k].len &&
			    label_eq(name + start, r->keep[k].wire, r->keep[k].len))
				best = kl;
		}
		for (unsigned i = n - best; i < n; i++)
			what[i] = 1;
	}
	size_t o = 0;
	for (unsigned i = 0; i < n; i++) {
		const uint8_t *l = name + lab[i];
		size_t ll = what[i] == 2 ? strlen(text[i]) : l[0];
		if (o + 1 + ll + 1 > 255)
			return DNSREEL_E_LIMIT;
		out[o++] = (uint8_t)ll;
		if (what[i] == 1) {
			memcpy(out + o, l + 1, ll);
		} else if (what[i] == 2) {
			memcpy(out + o, text[i], ll);
		} else {
			int err = label_pseudonym(r, l + 1, ll, out + o);
			if (err)
				return err;
		}
		o += ll;
	}
	out[o++] = 0;
	return (int)o;
}

int dnsreel_redactor__wire_name(struct dnsreel_redactor *r, const uint8_t *name, size_t len,
				uint8_t out[256])
{
	if (len == 0 || len > 255)
		return DNSREEL_E_PARSE;
	if (len == 1) {
		out[0] = 0;
		return name[0] == 0 ? 1 : DNSREEL_E_PARSE;
	}
	struct dr_name_slot *s = &r->name[dnsreel_hash_bytes(name, len, 5) & (DR_NAME_SLOTS - 1)];
	if (s->inlen == len && !memcmp(s->in, name, len)) {
		memcpy(out, s->out, s->outlen);
		return s->outlen;
	}
	int n = rewrite(r, name, len, out);
	if (n < 0)
		return n;
	s->inlen = (uint16_t)len;
	s->outlen = (uint16_t)n;
	memcpy(s->in, name, len);
	memcpy(s->out, out, (size_t)n);
	return n;
}
