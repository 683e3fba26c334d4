/* DNS over TCP reassembly: one byte stream per direction, keyed by capture, netns, interface
 * and 5-tuple. Bytes are placed by sequence number (wrap-safe), so retransmissions and
 * overlaps are trimmed and early segments wait (bounded) until the gap fills. Complete
 * messages (RFC 7766: two-byte length, then the message) are handed out as soon as they are
 * whole, several per segment or one across many.
 *
 * Memory is bounded: buffered bytes over all streams stay under max_bytes (the least recently
 * active streams are dropped first), out-of-order segments per stream are capped, and streams
 * idle longer than idle_ns are dropped. A gap that can never fill (snap length cut, a stream
 * picked up mid-way, eviction) is skipped by resynchronising at the next segment start, which
 * is where DNS senders put message starts in practice.
 */
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "dnsreel.h"
#include "tcp_priv.h"

#define MAX_OOO	     32		/* early segments kept per stream */
#define FAR_AHEAD    (1u << 20) /* a jump this far ahead means bytes were lost: resync */
#define LOST_FRAMING INT_MIN	/* internal: not a callback return */
#define TCP_FIN	     0x01
#define TCP_SYN	     0x02
#define TCP_RST	     0x04

struct skey {
	uint64_t netns;
	uint32_t capture;
	uint32_t ifindex;
	uint16_t sport, dport;
	uint8_t ver, pad[3];
	uint8_t saddr[16], daddr[16];
};

struct oseg {
	struct oseg *next;
	uint32_t seq;
	uint32_t len;
	uint8_t data[];
};

struct stream {
	struct skey k;
	uint32_t next_seq;
	uint8_t *buf;
	size_t start, len, cap;
	struct oseg *ooo;
	unsigned nooo;
	size_t ooo_bytes;
	int64_t last_ns;
	uint32_t first_seq; /* without SYN: the lowest sequence number taken so far */
	bool synced;	    /* its SYN was seen: next_seq is exact from the start */
	bool emitted;	    /* a message was handed out */
	/* Without SYN, bytes before first_seq that arrive after messages went out are
	 * reassembled apart, in pre (one level: pre's own late bytes give whole messages only). */
	struct stream *pre;
	struct stream *parent;
};

struct dnsreel_tcp {
	struct stream **tab;
	size_t cap, n;
	size_t max_bytes, bytes;
	int64_t idle_ns, next_sweep;
	struct dnsreel_tcp_stats st;
};

static uint64_t khash(const struct skey *k)
{
	uint64_t a, b, c, d;
	memcpy(&a, k->saddr, 8);
	memcpy(&b, k->saddr + 8, 8);
	memcpy(&c, k->daddr, 8);
	memcpy(&d, k->daddr + 8, 8);
	uint64_t h = dnsreel_mix64(k->netns ^ ((uint64_t)k->capture << 40) ^ k->ifindex);
	h = dnsreel_mix64(h ^ a ^ ((uint64_t)k->sport << 48) ^ k->dport);
	return dnsreel_mix64(h ^ b ^ (c * 31) ^ (d * 131) ^ k->ver);
}

int dnsreel_tcp__new(struct dnsreel_tcp **out, size_t max_bytes, int64_t idle_ns)
{
	struct dnsreel_tcp *t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	t->cap = 256;
	t->tab = calloc(t->cap, sizeof(*t->tab));
	if (!t->tab) {
		free(t);
		return -ENOMEM;
	}
	t->max_bytes = max_bytes ? max_bytes : 64u << 20;
	t->idle_ns = idle_ns > 0 ? idle_ns : 60LL * 1000000000LL;
	*out = t;
	return 0;
}

static void reset_data(struct dnsreel_tcp *t, struct stream *s);

static void stream_free(struct dnsreel_tcp *t, struct stream *s)
{
	reset_data(t, s);
	free(s);
}

void dnsreel_tcp__free(struct dnsreel_tcp *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < t->cap; i++)
		if (t->tab[i])
			stream_free(t, t->tab[i]);
	free(t->tab);
	free(t);
}

void dnsreel_tcp__stats(const struct dnsreel_tcp *t, struct dnsreel_tcp_stats *st)
{
	*st = t->st;
	st->streams = t->n;
	st->bytes = t->bytes;
}

static size_t slot_of(const struct dnsreel_tcp *t, const struct skey *k)
{
	size_t i = (size_t)khash(k) & (t->cap - 1);
	while (t->tab[i] && memcmp(&t->tab[i]->k, k, sizeof(*k)) != 0)
		i = (i + 1) & (t->cap - 1);
	return i;
}

/* Linear probing delete with backward shift: no tombstones. */
static void slot_delete(struct dnsreel_tcp *t, size_t i)
{
	stream_free(t, t->tab[i]);
	t->tab[i] = NULL;
	t->n--;
	size_t j = i;
	for (;;) {
		j = (j + 1) & (t->cap - 1);
		if (!t->tab[j])
			return;
		size_t h = (size_t)khash(&t->tab[j]->k) & (t->cap - 1);
		/* move j back to i if its home h is not in (i, j] cyclically */
		bool between = i <= j ? (h > i && h <= j) : (h > i || h <= j);
		if (!between) {
			t->tab[i] = t->tab[j];
			t->tab[j] = NULL;
			i = j;
		}
	}
}

static int grow(struct dnsreel_tcp *t)
{
	size_t ncap = t->cap * 2;
	struct stream **nt = calloc(ncap, sizeof(*nt));
	if (!nt)
		return -ENOMEM;
	struct stream **old = t->tab;
	size_t ocap = t->cap;
	t->tab = nt;
	t->cap = ncap;
	for (size_t i = 0; i < ocap; i++)
		if (old[i])
			t->tab[slot_of(t, &old[i]->k)] = old[i];
	free(old);
	return 0;
}

/* Drops streams idle past idle_ns; scanning restarts after each delete shifts entries. */
static void sweep(struct dnsreel_tcp *t, int64_t now)
{
	for (size_t i = 0; i < t->cap;) {
		struct stream *s = t->tab[i];
		if (s && now - s->last_ns > t->idle_ns) {
			slot_delete(t, i);
			t->st.expired++;
			continue; /* slot i may hold a shifted entry now */
		}
		i++;
	}
}

/* Frees memory by dropping the least recently active streams other than keep. */
static void evict(struct dnsreel_tcp *t, size_t need, const struct stream *keep)
{
	while (t->bytes + need > t->max_bytes) {
		size_t best = SIZE_MAX;
		for (size_t i = 0; i < t->cap; i++) {
			struct stream *s = t->tab[i];
			if (s && s != keep &&
			    (best == SIZE_MAX || s->last_ns < t->tab[best]->last_ns))
				best = i;
		}
		if (best == SIZE_MAX)
			return;
		slot_delete(t, best);
		t->st.evicted++;
	}
}

/* Drops what a stream holds (the stream before a restart, out-of-order segments, the
 * buffer), keeping the stream itself. */
static void reset_data(struct dnsreel_tcp *t, struct stream *s)
{
	if (s->pre) {
		stream_free(t, s->pre);
		s->pre = NULL;
	}
	t->bytes -= s->cap + s->ooo_bytes;
	struct oseg *o = s->ooo;
	while (o) {
		struct oseg *n = o->next;
		free(o);
		o = n;
	}
	s->ooo = NULL;
	s->nooo = 0;
	s->ooo_bytes = 0;
	free(s->buf);
	s->buf = NULL;
	s->start = s->len = s->cap = 0;
}

static int append(struct dnsreel_tcp *t, struct stream *s, const uint8_t *p, size_t n)
{
	if (s->start && (s->start + s->len + n > s->cap || s->start > s->cap / 2)) {
		memmove(s->buf, s->buf + s->start, s->len);
		s->start = 0;
	}
	if (s->len + n > s->cap) {
		size_t ncap = s->cap ? s->cap : 512;
		while (ncap < s->len + n)
			ncap *= 2;
		if (t->bytes - s->cap + ncap > t->max_bytes)
			evict(t, ncap - s->cap, s->parent ? s->parent : s);
		if (t->bytes - s->cap + ncap > t->max_bytes)
			return DNSREEL_E_LIMIT;
		uint8_t *nb = realloc(s->buf, ncap);
		if (!nb)
			return -ENOMEM;
		t->bytes += ncap - s->cap;
		s->buf = nb;
		s->cap = ncap;
	}
	memcpy(s->buf + s->start + s->len, p, n);
	s->len += n;
	return 0;
}

/* Hands out every complete message in the buffer. Returns 0, LOST_FRAMING when the stream lost its
 * framing (counted as a gap by the caller), or the callback's nonzero return. */
static int extract(struct stream *s, dnsreel_tcp_msg_fn fn, void *arg)
{
	while (s->len >= 2) {
		const uint8_t *b = s->buf + s->start;
		uint32_t l = ((uint32_t)b[0] << 8) | b[1];
		if (s->len < 2 + (size_t)l)
			break;
		if (l < 12) {
			/* shorter than a DNS header: we are not at a message start (a stream picked
			 * up mid-way). Drop what is buffered; the next segment starts afresh. */
			s->start = s->len = 0;
			return LOST_FRAMING;
		}
		s->start += 2 + (size_t)l;
		s->len -= 2 + (size_t)l;
		s->emitted = true;
		int rc = fn(arg, b + 2, l);
		if (rc)
			return rc;
	}
	if (!s->len)
		s->start = 0;
	return 0;
}

/* Places in-order bytes [seq, seq+n) (n captured of orig on the wire) into the stream. */
static int take(struct dnsreel_tcp *t, struct stream *s, uint32_t seq, const uint8_t *p, size_t n,
		size_t orig, dnsreel_tcp_msg_fn fn, void *arg)
{
	int32_t rel = (int32_t)(seq - s->next_seq);
	size_t skip = rel < 0 ? (size_t)(-(int64_t)rel) : 0;
	if (skip >= orig) {
		t->st.dup_bytes += orig;
		return 0;
	}
	if (skip) {
		t->st.dup_bytes += skip < n ? skip : n;
	}
	size_t have = skip < n ? n - skip : 0;
	if (have) {
		int rc = append(t, s, p + skip, have);
		if (rc == DNSREEL_E_LIMIT) {
			/* no room even alone: give the stream up and resync later */
			reset_data(t, s);
			t->st.gaps++;
			s->next_seq = seq + (uint32_t)orig;
			return 0;
		}
		if (rc)
			return rc;
	}
	s->next_seq = seq + (uint32_t)orig;
	int rc = extract(s, fn, arg);
	if (rc == LOST_FRAMING) {
		t->st.gaps++;
		return 0;
	}
	if (rc)
		return rc;
	if (n < orig) {
		/* bytes cut by the snap length are gone: drop the partial message */
		t->st.gaps++;
		s->start = s->len = 0;
	}
	return 0;
}

static int drain_ooo(struct dnsreel_tcp *t, struct stream *s, dnsreel_tcp_msg_fn fn, void *arg)
{
	while (s->ooo && (int32_t)(s->ooo->seq - s->next_seq) <= 0) {
		struct oseg *o = s->ooo;
		s->ooo = o->next;
		s->nooo--;
		s->ooo_bytes -= sizeof(*o) + o->len;
		t->bytes -= sizeof(*o) + o->len;
		int rc = take(t, s, o->seq, o->data, o->len, o->len, fn, arg);
		free(o);
		if (rc)
			return rc;
	}
	return 0;
}

static void keep_ooo(struct dnsreel_tcp *t, struct stream *s, uint32_t seq, const uint8_t *p,
		     size_t n)
{
	if (s->nooo >= MAX_OOO || t->bytes + sizeof(struct oseg) + n > t->max_bytes)
		return; /* the gap will be skipped when it never fills */
	struct oseg **pp = &s->ooo;
	while (*pp && (int32_t)((*pp)->seq - seq) < 0)
		pp = &(*pp)->next;
	if (*pp && (*pp)->seq == seq && (*pp)->len >= n) {
		t->st.dup_bytes += n;
		return;
	}
	struct oseg *o = malloc(sizeof(*o) + n);
	if (!o)
		return;
	o->seq = seq;
	o->len = (uint32_t)n;
	memcpy(o->data, p, n);
	o->next = *pp;
	*pp = o;
	s->nooo++;
	s->ooo_bytes += sizeof(*o) + n;
	t->bytes += sizeof(*o) + n;
}

/* Whole messages at the start of p (n bytes), framed as in extract(). */
static int late_messages(const uint8_t *p, size_t n, dnsreel_tcp_msg_fn fn, void *arg)
{
	while (n >= 2) {
		uint32_t l = ((uint32_t)p[0] << 8) | p[1];
		if (l < 12 || 2 + (size_t)l > n)
			return 0;
		int rc = fn(arg, p + 2, l);
		if (rc)
			return rc;
		p += 2 + (size_t)l;
		n -= 2 + (size_t)l;
	}
	return 0;
}

/* Places one segment's bytes [seq, seq+orig) (n of them captured) into stream s. */
static int place(struct dnsreel_tcp *t, struct stream *s, uint32_t seq, const uint8_t *p, size_t n,
		 size_t orig, dnsreel_tcp_msg_fn fn, void *arg)
{
	int rc = 0;
	int32_t rel = (int32_t)(seq - s->next_seq);
	if (rel > 0 && (uint32_t)rel >= FAR_AHEAD) {
		/* bytes before this are lost for good: start over here */
		reset_data(t, s);
		t->st.gaps++;
		s->next_seq = seq;
		rel = 0;
	}
	if (rel < 0 && !s->synced && !s->emitted &&
	    (int32_t)(seq - (s->next_seq - (uint32_t)s->len)) < 0) {
		/* A stream picked up mid-way whose earlier bytes arrive late (reordered around
		 * the moment we started): nothing was handed out yet, so start the stream at
		 * them and let what we hold wait as an early segment. */
		if (s->len)
			keep_ooo(t, s, s->next_seq - (uint32_t)s->len, s->buf + s->start, s->len);
		s->start = s->len = 0;
		s->next_seq = seq;
		s->first_seq = seq;
		rel = 0;
	} else if (rel < 0 && !s->synced && (int32_t)(seq - s->first_seq) < 0) {
		/* The same after messages went out: bytes never seen, before first_seq. */
		uint32_t before = s->first_seq - seq;
		size_t pn = n < before ? n : before, po = orig < before ? orig : before;
		if (s->parent) /* already the side stream: whole messages only */
			return n == orig ? late_messages(p, pn, fn, arg) : 0;
		if (!s->pre) {
			s->pre = calloc(1, sizeof(*s->pre));
			if (!s->pre)
				return -ENOMEM;
			s->pre->k = s->k;
			s->pre->parent = s;
			s->pre->next_seq = seq;
			s->pre->first_seq = seq;
		}
		return place(t, s->pre, seq, p, pn, po, fn, arg);
	}
	if (rel > 0 && s->nooo >= MAX_OOO) {
		/* the hole did not fill while MAX_OOO segments waited: skip it */
		t->st.gaps++;
		s->start = s->len = 0;
		s->next_seq = s->ooo->seq;
		rc = drain_ooo(t, s, fn, arg);
		rel = (int32_t)(seq - s->next_seq);
	}
	if (rc)
		return rc;
	if (rel > 0) {
		if (n == orig)
			keep_ooo(t, s, seq, p, n);
		else
			t->st.gaps++;
		return 0;
	}
	rc = take(t, s, seq, p, n, orig, fn, arg);
	if (!rc)
		rc = drain_ooo(t, s, fn, arg);
	return rc;
}

int dnsreel_tcp__feed(struct dnsreel_tcp *t, uint32_t capture, int64_t now_ns,
		      const struct dnsreel_event *ev, dnsreel_tcp_msg_fn fn, void *arg)
{
	if (!t || !ev)
		return DNSREEL_E_ARG;
	if (now_ns >= t->next_sweep) {
		sweep(t, now_ns);
		t->next_sweep = now_ns + t->idle_ns / 2;
	}
	struct skey k;
	memset(&k, 0, sizeof(k));
	k.netns = ev->netns;
	k.capture = capture;
	k.ifindex = ev->ifindex;
	k.sport = ev->src_port;
	k.dport = ev->dst_port;
	k.ver = ev->ip_version;
	memcpy(k.saddr, ev->src_addr, 16);
	memcpy(k.daddr, ev->dst_addr, 16);

	size_t i = slot_of(t, &k);
	struct stream *s = t->tab[i];
	if (ev->tcp_flags & TCP_RST) {
		if (s)
			slot_delete(t, i);
		return 0;
	}
	size_t n = ev->payload ? ev->cap_len : 0;
	size_t orig = ev->orig_len > n ? ev->orig_len : n;
	uint32_t seq = ev->tcp_seq;
	if (ev->tcp_flags & TCP_SYN) {
		/* a (new) connection: the SYN takes one sequence number */
		if (s)
			reset_data(t, s);
		seq++;
	}
	if (!s) {
		if (!orig && !(ev->tcp_flags & TCP_SYN))
			return 0; /* a bare ACK/FIN of a stream we hold nothing for */
		if ((t->n + 1) * 2 > t->cap && grow(t) < 0)
			return -ENOMEM;
		i = slot_of(t, &k);
		s = calloc(1, sizeof(*s));
		if (!s)
			return -ENOMEM;
		s->k = k;
		s->next_seq = seq; /* picked up mid-way: start at this segment */
		s->first_seq = seq;
		t->tab[i] = s;
		t->n++;
	} else if (ev->tcp_flags & TCP_SYN) {
		s->next_seq = seq;
		s->emitted = false;
	}
	if (ev->tcp_flags & TCP_SYN)
		s->synced = true;
	s->last_ns = now_ns;

	int rc = orig ? place(t, s, seq, ev->payload, n, orig, fn, arg) : 0;
	if (!rc && (ev->tcp_flags & TCP_FIN)) {
		/* the stream ends: whatever is left can never complete */
		i = slot_of(t, &k);
		if (t->tab[i])
			slot_delete(t, i);
	}
	return rc;
}
