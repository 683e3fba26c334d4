/* TCP: the stream of each direction at each place is rebuilt with rewritten messages. A
 * message split over segments goes out whole with the segment that completes it (the earlier
 * ones go out empty), coalesced messages are rewritten one by one, segments that arrive before
 * the bytes preceding them wait for them, and every sequence number is moved to where its
 * bytes now lie, so the output reassembles as the input did. Memory is bounded: past
 * DR_TCP_MAX_BYTES of waiting bytes a stream's pending bytes are given up (and counted). */
#include <stdlib.h>
#include <string.h>

#include "dnsreel.h"
#include "redact_int.h"

static uint64_t tcp_key(const struct dnsreel_event *ev)
{
	uint8_t k[49];
	memcpy(k, &ev->netns, 8);
	memcpy(k + 8, ev->src_addr, 16);
	memcpy(k + 24, ev->dst_addr, 16);
	memcpy(k + 40, &ev->src_port, 2);
	memcpy(k + 42, &ev->dst_port, 2);
	memcpy(k + 44, &ev->ifindex, 4);
	k[48] = ev->pkt_type;
	uint64_t h = dnsreel_hash_bytes(k, sizeof(k), ev->ip_version);
	return h ? h : 1;
}

static void free_held(struct dnsreel_redactor *r, struct dr_tcp_held *h)
{
	if (h->b) {
		r->tcp_bytes -= h->len;
		free(h->b);
		h->b = NULL;
	}
}

/* Forgets what waits: pending bytes and held segments. */
static void give_up(struct dnsreel_redactor *r, struct dr_tcp_slot *s)
{
	if (s->npend)
		r->st.payloads_dropped++;
	s->npend = 0;
	for (int i = 0; i < DR_TCP_HELD; i++)
		if (s->held[i].b) {
			r->st.payloads_dropped++;
			free_held(r, &s->held[i]);
		}
}

static void reset(struct dnsreel_redactor *r, struct dr_tcp_slot *s, uint64_t key, uint32_t seq)
{
	give_up(r, s);
	s->key = key;
	s->next_in = s->next_out = seq;
	s->started = false;
}

struct ord {
	uint64_t key;
	uint32_t seq, idx;
};
_Static_assert(sizeof(struct ord) == 16, "dnsreel_redactor__order's tmp is n * 16 bytes");

static int cmp_ord(const void *pa, const void *pb)
{
	const struct ord *a = pa, *b = pb;
	if (a->key != b->key)
		return a->key < b->key ? -1 : 1;
	if (a->seq != b->seq)
		return a->seq < b->seq ? -1 : 1;
	return a->idx < b->idx ? -1 : a->idx > b->idx;
}

void dnsreel_redactor__order(const struct dnsreel_event *ev, size_t n, uint32_t *order, void *tmp)
{
	struct ord *o = tmp;
	for (size_t i = 0; i < n; i++) {
		o[i].idx = (uint32_t)i;
		o[i].key = ev[i].proto == 6 ? tcp_key(&ev[i]) : 0;
		o[i].seq = ev[i].proto == 6 ? ev[i].tcp_seq : 0;
	}
	qsort(o, n, sizeof(*o), cmp_ord);
	for (size_t i = 0; i < n; i++)
		order[i] = o[i].idx;
}

void dr_tcp_free(struct dnsreel_redactor *r)
{
	if (!r->tcp)
		return;
	for (size_t i = 0; i < DR_TCP_SLOTS; i++) {
		free(r->tcp[i].pend);
		for (int k = 0; k < DR_TCP_HELD; k++)
			free(r->tcp[i].held[k].b);
	}
}

struct outbuf {
	uint8_t *p;
	size_t cap, n;
};

/* Rewrites the whole messages at the start of pend onto o and keeps the rest. Returns 0, or
 * a negative code when the crypto library failed. */
static int drain(struct dnsreel_redactor *r, struct dr_tcp_slot *s, struct outbuf *o)
{
	size_t off = 0, n = s->npend;
	const uint8_t *d = s->pend;
	while (n - off >= 2) {
		size_t ml = (size_t)d[off] << 8 | d[off + 1];
		if (ml < 12) { /* not DNS over TCP from here: nothing of it can go out */
			r->st.payloads_dropped++;
			off = n;
			break;
		}
		if (n - off - 2 < ml)
			break;
		size_t room = o->cap - o->n;
		int w = DNSREEL_E_PARSE;
		if (room >= 2 + 12)
			w = dnsreel_redactor__message(r, d + off + 2, ml, o->p + o->n + 2,
						      room - 2 < 65535 ? room - 2 : 65535);
		if (w >= 0) {
			o->p[o->n] = (uint8_t)(w >> 8);
			o->p[o->n + 1] = (uint8_t)w;
			o->n += 2 + (size_t)w;
		} else if (w == DNSREEL_E_PARSE) {
			r->st.payloads_dropped++;
		} else {
			return w;
		}
		off += 2 + ml;
	}
	memmove(s->pend, d + off, n - off);
	s->npend = (uint32_t)(n - off);
	return 0;
}

/* Appends the stream bytes [seq, seq+n) past next_in to pend, draining whole messages as the
 * buffer fills. Returns 0, 1 when memory ran out (the stream was given up), or a crypto error. */
static int take(struct dnsreel_redactor *r, struct dr_tcp_slot *s, uint32_t seq, const uint8_t *b,
		uint32_t n, struct outbuf *o)
{
	uint32_t skip = s->next_in - seq;
	if (skip >= n)
		return 0;
	b += skip;
	n -= skip;
	s->next_in += n;
	s->started = true;
	while (n) {
		uint32_t want = s->npend + n < 65537u ? s->npend + n : 65537u;
		if (want > s->cpend) {
			if (r->tcp_bytes + (want - s->cpend) > DR_TCP_MAX_BYTES)
				goto out_of_memory;
			uint8_t *np = realloc(s->pend, want);
			if (!np)
				goto out_of_memory;
			r->tcp_bytes += want - s->cpend;
			s->pend = np;
			s->cpend = want;
		}
		uint32_t k = s->cpend - s->npend < n ? s->cpend - s->npend : n;
		memcpy(s->pend + s->npend, b, k);
		s->npend += k;
		b += k;
		n -= k;
		int err = drain(r, s, o);
		if (err)
			return err;
	}
	return 0;
out_of_memory:
	give_up(r, s);
	return 1;
}

int dr_tcp_event(struct dnsreel_redactor *r, struct dnsreel_event *ev, uint8_t *buf, size_t cap)
{
	uint64_t key = tcp_key(ev);
	struct dr_tcp_slot *s = &r->tcp[key & (DR_TCP_SLOTS - 1)];
	uint32_t seq = ev->tcp_seq, n = ev->cap_len;
	bool syn = ev->tcp_flags & 2;
	if (s->key != key || syn) /* another stream here, or a new one */
		reset(r, s, key, syn ? seq + 1 : seq);
	uint32_t data_seq = syn ? seq + 1 : seq;
	if (n && !s->started && (int32_t)(data_seq - s->next_in) < 0)
		s->next_in = s->next_out = data_seq; /* an earlier start than first seen */
	ev->tcp_seq = seq + (s->next_out - s->next_in);
	struct outbuf o = {buf, cap, 0};
	uint32_t out_seq = s->next_out;
	int err = 0;
	if (n && (int32_t)(data_seq - s->next_in) > 0) {
		/* bytes before these are missing: hold them until they come */
		int slot = -1;
		for (int i = 0; i < DR_TCP_HELD && slot < 0; i++)
			if (!s->held[i].b)
				slot = i;
		uint8_t *copy = NULL;
		if (slot >= 0 && r->tcp_bytes + n <= DR_TCP_MAX_BYTES && (copy = malloc(n))) {
			memcpy(copy, ev->payload, n);
			s->held[slot] = (struct dr_tcp_held){data_seq, n, copy};
			r->tcp_bytes += n;
		} else {
			/* no room to wait: what is missing is lost, go on from here */
			uint32_t delta = s->next_out - s->next_in;
			give_up(r, s);
			s->next_in = data_seq;
			s->next_out = data_seq + delta;
			out_seq = s->next_out;
			err = take(r, s, data_seq, ev->payload, n, &o);
		}
	} else if (n) {
		err = take(r, s, data_seq, ev->payload, n, &o);
		if (ev->orig_len > n && !err) {
			/* cut at the snap length: the rest of the segment never reaches us */
			give_up(r, s);
			s->next_in = data_seq + ev->orig_len;
		}
	}
	/* held segments the stream has now reached */
	for (bool more = true; more && err == 0;) {
		more = false;
		for (int i = 0; i < DR_TCP_HELD && err == 0; i++) {
			struct dr_tcp_held *h = &s->held[i];
			if (!h->b || (int32_t)(h->seq - s->next_in) > 0)
				continue;
			err = take(r, s, h->seq, h->b, h->len, &o);
			free_held(r, h);
			more = true;
		}
	}
	if (err < 0)
		return err;
	if (n) /* bytes came in: what goes out (if anything) starts where the output stands */
		ev->tcp_seq = out_seq;
	s->next_out += (uint32_t)o.n;
	ev->payload = buf;
	ev->cap_len = ev->orig_len = (uint32_t)o.n;
	ev->flags &= ~(uint32_t)DNSREEL_EV_TRUNCATED;
	return 0;
}
