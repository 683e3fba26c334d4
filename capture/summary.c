/* Catalog summary of a block: what a frame holds (names, netns, rcodes, ...) for pruning. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "codec_int.h"
#include "dns.h"

/* ---- catalog summary --------------------------------------------------------------------- */

void dr_summary_free(struct dr_summary *s)
{
	free(s->netns);
	free(s->bloom);
	memset(s, 0, sizeof(*s));
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : (x > y);
}

/* Room for an open addressing set of 64-bit values, used by dedupe_u64(). */
struct u64set {
	uint64_t *slot;
	size_t cap; /* slots, a power of two */
};

/* Keeps the first occurrence of each value of v[0..n), in order; returns how many remain.
 * n must be at most half the set's cap. A slot holds value + 1 so that 0 marks it empty; the
 * value UINT64_MAX, whose + 1 would be 0, is tracked on the side. Only as many slots as n
 * needs are cleared: a frame has far fewer netns runs than slots. */
static size_t dedupe_u64(uint64_t *v, size_t n, struct u64set *set)
{
	size_t used = 16;
	while (used < 2 * n)
		used <<= 1;
	if (used > set->cap)
		used = set->cap;
	size_t mask = used - 1;
	memset(set->slot, 0, used * sizeof(uint64_t));
	bool have_max = false;
	size_t d = 0;
	for (size_t i = 0; i < n; i++) {
		uint64_t x = v[i];
		if (x == UINT64_MAX) {
			if (have_max)
				continue;
			have_max = true;
		} else {
			size_t j = (size_t)dnsreel_mix64(x) & mask;
			while (set->slot[j] && set->slot[j] != x + 1)
				j = (j + 1) & mask;
			if (set->slot[j])
				continue;
			set->slot[j] = x + 1;
		}
		v[d++] = x;
	}
	return d;
}

/* Insertion sort: for the few distinct netns of a frame it beats qsort's call overhead. */
static void sort_small_u64(uint64_t *v, size_t n)
{
	for (size_t i = 1; i < n; i++) {
		uint64_t x = v[i];
		size_t j = i;
		while (j && v[j - 1] > x) {
			v[j] = v[j - 1];
			j--;
		}
		v[j] = x;
	}
}

#define BLOOM_K 7

bool dr_bloom_has(const uint8_t *bloom, uint32_t bits, uint64_t h)
{
	if (!bits)
		return true;
	uint32_t h1 = (uint32_t)h, h2 = (uint32_t)(h >> 32) | 1;
	for (int k = 0; k < BLOOM_K; k++) {
		uint32_t b = (h1 + (uint32_t)k * h2) % bits;
		if (!(bloom[b >> 3] & (1u << (b & 7))))
			return false;
	}
	return true;
}

static void bloom_add(uint8_t *bloom, uint32_t bits, uint64_t h)
{
	uint32_t h1 = (uint32_t)h, h2 = (uint32_t)(h >> 32) | 1;
	for (int k = 0; k < BLOOM_K; k++) {
		uint32_t b = (h1 + (uint32_t)k * h2) % bits;
		bloom[b >> 3] |= (uint8_t)(1u << (b & 7));
	}
}

/* Label bytes a name's presentation form shows unchanged: a subset of what dns.c prints
 * without escape, enough for nearly every real name. */
static inline bool wire_plain(uint8_t c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '-' || c == '_';
}

/* dnsreel_name_hash() of the first question's presentation form, hashed straight from the
 * wire: the name must start at offset 12, be uncompressed, at most 255 octets and hold only
 * wire_plain bytes, so its text is the labels joined by dots plus the trailing dot (just "."
 * for the root). Decoding the name to text and hashing that cost more than the rest of the
 * summary together. Returns false when the name needs the general path. */
static bool wire_name_hash(const uint8_t *m, size_t len, uint64_t *out)
{
	uint64_t h = 0xcbf29ce484222325ull;
	size_t o = 12, wire = 0;
	for (;;) {
		if (o >= len)
			return false;
		uint8_t l = m[o];
		if (l > 63)
			return false; /* pointer or reserved label type */
		wire += (size_t)l + 1;
		if (wire > 255)
			return false;
		if (l == 0)
			break;
		if (o + 1 + l > len)
			return false;
		const uint8_t *lab = m + o + 1;
		for (unsigned i = 0; i < l; i++) {
			uint8_t c = lab[i];
			if (!wire_plain(c))
				return false;
			if (c >= 'A' && c <= 'Z')
				c = (uint8_t)(c + 32);
			h = (h ^ c) * 0x100000001b3ull;
		}
		h = (h ^ '.') * 0x100000001b3ull;
		o += 1 + (size_t)l;
	}
	if (wire == 1) /* the root: its text is "." */
		h = (h ^ '.') * 0x100000001b3ull;
	*out = dnsreel_mix64(h);
	return true;
}

/* Names of a frame whose hash wire_name_hash() computed, by their wire bytes: the same
 * question comes back in its response, its retries and at every hop, and comparing bytes is
 * cheaper than hashing them one by one again. Direct mapped: a collision only costs a miss.
 * wire is an offset from the payloads' base (a writer's arena moves as it grows). */
#define NCACHE 1024
struct name_cache {
	uintptr_t wire; /* 0 = empty */
	size_t len;
	uint64_t hash;
};

/* *seen: the name was in the cache, so the frame has its hash already. */
static bool cached_name_hash(const uint8_t *m, size_t len, const uint8_t *base,
			     struct name_cache *nc, const struct dr_qname *q, uint64_t *out,
			     bool *seen)
{
	size_t wl;
	uint64_t wh;
	if (q && q->end) {
		wl = q->end - 12;
		wh = q->hash;
	} else {
		size_t o = 12;
		while (o < len && m[o] && m[o] <= 63)
			o += 1 + (size_t)m[o];
		if (o >= len || m[o])
			return wire_name_hash(m, len, out); /* fails the same way */
		wl = o + 1 - 12;
		wh = dnsreel_hash_bytes(m + 12, wl, 2);
	}
	struct name_cache *c = &nc[wh & (NCACHE - 1)];
	if (c->wire && c->len == wl &&
	    memcmp((const uint8_t *)((uintptr_t)base + c->wire), m + 12, wl) == 0) {
		*out = c->hash;
		*seen = true;
		return true;
	}
	if (!wire_name_hash(m, len, out))
		return false;
	c->wire = (uintptr_t)(m + 12) - (uintptr_t)base;
	c->len = wl;
	c->hash = *out;
	return true;
}

/* What a frame's summary gathers while its events come (dr_sumacc_add), so that they are
 * read while in cache instead of in a pass over the whole block at flush. */
struct dr_sumacc {
	struct dr_summary s;
	uint64_t *nsl; /* netns of each run of events */
	size_t nnsl, capnsl;
	uint64_t *hs; /* question name hashes */
	size_t nh, caph;
	struct name_cache *nc;
	bool bloom_ok;
};

int dr_sumacc_new(struct dr_sumacc **out)
{
	struct dr_sumacc *a = calloc(1, sizeof(*a));
	if (!a || !(a->nc = calloc(NCACHE, sizeof(*a->nc)))) {
		free(a);
		return -ENOMEM;
	}
	a->bloom_ok = true;
	*out = a;
	return 0;
}

void dr_sumacc_free(struct dr_sumacc *a)
{
	if (!a)
		return;
	free(a->nsl);
	free(a->hs);
	free(a->nc);
	free(a);
}

void dr_sumacc_reset(struct dr_sumacc *a)
{
	memset(&a->s, 0, sizeof(a->s));
	a->nnsl = a->nh = 0;
	memset(a->nc, 0, NCACHE * sizeof(*a->nc));
	a->bloom_ok = true;
}

/* One DNS message's contribution: header bits and the question name hash. Returns false when
 * the message cannot vouch for its name (then the frame gets no bloom). */
static bool summarize_msg(struct dr_sumacc *a, const uint8_t *m, size_t len, const uint8_t *base,
			  const struct dr_qname *q)
{
	struct dr_summary *s = &a->s;
	if (len < 12)
		return false;
	bool qr = m[2] & 0x80;
	s->qr_mask |= qr ? 2 : 1;
	if (qr) {
		unsigned rc = m[3] & 0x0f;
		s->rcode_mask |= 1u << rc;
		/* EDNS extended rcodes are counted by the reader as rcode & 0xf plus OPT bits;
		 * mark the high bits conservatively when an OPT record may be present */
		if (m[10] || m[11])
			s->rcode_mask |= 0xfffffff0u;
	}
	if (dr_rd16(m + 4) == 0)
		return true; /* no question: no name to match */
	uint64_t h;
	bool seen = false;
	if (!cached_name_hash(m, len, base, a->nc, q, &h, &seen)) {
		char name[DNSREEL_DNS_NAME_MAX];
		size_t next;
		if (dnsreel_dns_name(m, len, 12, name, sizeof(name), &next) < 0)
			return false;
		h = dnsreel_name_hash(name, strlen(name));
	}
	/* a name the cache knew is in hs already: hs stays near the frame's distinct names */
	if (!seen)
		a->hs[a->nh++] = h; /* room reserved by dr_sumacc_add */
	return true;
}

static void no_bloom(struct dr_sumacc *a)
{
	a->bloom_ok = false;
	a->s.qr_mask |= 3;
	a->s.rcode_mask = 0xffffffffu;
}

/* Room for n more values in *v. */
static int reserve_u64(uint64_t **v, size_t n_now, size_t *cap, size_t n)
{
	if (n_now + n <= *cap)
		return 0;
	size_t nc = *cap ? *cap : 256;
	while (nc < n_now + n)
		nc *= 2;
	uint64_t *nv = realloc(*v, nc * sizeof(*nv));
	if (!nv)
		return -ENOMEM;
	*v = nv;
	*cap = nc;
	return 0;
}

int dr_sumacc_add(struct dr_sumacc *a, const struct dnsreel_event *x, const uint8_t *p,
		  const uint8_t *base, const struct dr_qname *q)
{
	struct dr_summary *s = &a->s;
	/* room first (a netns, and a name per message: a TCP message takes 14 bytes at least),
	 * so that a failed add leaves the summary as it was */
	if (reserve_u64(&a->nsl, a->nnsl, &a->capnsl, 1) ||
	    reserve_u64(&a->hs, a->nh, &a->caph, x->proto == 6 ? x->cap_len / 14 + 1 : 1))
		return -ENOMEM;
	if (!s->events || x->ts_ns < s->first_ts)
		s->first_ts = x->ts_ns;
	if (!s->events || x->ts_ns > s->last_ts)
		s->last_ts = x->ts_ns;
	s->events++;
	/* runs of one netns are common */
	if (!a->nnsl || a->nsl[a->nnsl - 1] != x->netns)
		a->nsl[a->nnsl++] = x->netns;
	s->proto_mask |= x->proto == 6 ? 2 : (x->proto == 17 ? 1 : 0);
	if (x->proto == 17) {
		if (!summarize_msg(a, p, x->cap_len, base, q))
			no_bloom(a);
	} else if (x->proto == 6) {
		/* whole messages with their 2-byte length only; a segment starting mid-message
		 * cannot be vouched for */
		size_t o = 0;
		bool whole = x->cap_len > 0;
		while (whole && o < x->cap_len) {
			if (x->cap_len - o < 2) {
				whole = false;
				break;
			}
			size_t ml = dr_rd16(p + o);
			if (ml < 12 || ml > x->cap_len - o - 2) {
				whole = false;
				break;
			}
			o += 2 + ml;
		}
		o = 0;
		while (whole && o < x->cap_len) {
			size_t ml = dr_rd16(p + o);
			if (!summarize_msg(a, p + o + 2, ml, base, NULL))
				whole = false;
			o += 2 + ml;
		}
		if (!whole)
			no_bloom(a);
	} else {
		no_bloom(a);
	}
	return 0;
}

int dr_sumacc_finish(struct dr_sumacc *a, struct dr_summary *out)
{
	*out = a->s;
	size_t k = a->nnsl;
	/* hash set for dedupe_u64(): a power of two at least twice the most values it takes */
	size_t most = k > a->nh ? k : a->nh, tabsz = 16;
	while (tabsz < 2 * most)
		tabsz <<= 1;
	uint64_t *tab = malloc(tabsz * sizeof(uint64_t));
	out->netns = malloc((k ? k : 1) * sizeof(uint64_t));
	if (!tab || !out->netns) {
		free(tab);
		dr_summary_free(out);
		return -ENOMEM;
	}
	struct u64set set = {tab, tabsz};
	/* a frame sees a handful of netns and far fewer names than events: drop repeats in
	 * linear time, then sort only what is left */
	memcpy(out->netns, a->nsl, k * sizeof(uint64_t));
	if (k > 1) {
		k = dedupe_u64(out->netns, k, &set);
		if (k <= 32)
			sort_small_u64(out->netns, k);
		else
			qsort(out->netns, k, sizeof(uint64_t), cmp_u64);
	}
	out->netns_count = (uint32_t)k;
	if (a->bloom_ok && a->nh) {
		/* the bloom's bits do not depend on the order names are added in */
		size_t d = dedupe_u64(a->hs, a->nh, &set);
		/* ~10 bits per distinct name: about 1% false positives with 7 probes */
		uint32_t bits = (uint32_t)((d * 10 + 63) / 64 * 64);
		out->bloom = calloc(bits / 8, 1);
		if (!out->bloom) {
			free(tab);
			dr_summary_free(out);
			return -ENOMEM;
		}
		out->bloom_bits = bits;
		for (size_t i = 0; i < d; i++)
			bloom_add(out->bloom, bits, a->hs[i]);
	}
	free(tab);
	return 0;
}

int dr_summarize(const struct dnsreel_event *ev, size_t n, struct dr_summary *s)
{
	memset(s, 0, sizeof(*s));
	if (!n)
		return 0;
	struct dr_sumacc *a;
	int err = dr_sumacc_new(&a);
	for (size_t i = 0; !err && i < n; i++)
		err = dr_sumacc_add(a, &ev[i], ev[i].payload, NULL, NULL);
	if (!err)
		err = dr_sumacc_finish(a, s);
	dr_sumacc_free(a);
	return err;
}
