/* Block encoder: events to column streams, then one zstd frame (codec.c says why payloads
 * are coded against earlier events). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <zstd.h>

#include "codec_int.h"

/* ---- encoder ----------------------------------------------------------------------------- */

static void tup_rev(const struct tup_key *a, struct tup_key *r)
{
	*r = *a;
	r->pkt_type = rev_pkt(a->pkt_type);
	memcpy(r->src, a->dst, 16);
	memcpy(r->dst, a->src, 16);
}

/* What encoding needs of an event, kept by dr_enc_add() so that a block never reads its
 * events back: its keys into the tables (payload, question + id, question at its tuple,
 * question), its tuple as an index into the block's distinct tuples (tuples compare as
 * numbers), where its question name ends (0 = none), where its payload is (an offset from the
 * block's base) and the fields the columns take. */
struct ev_key {
	uint64_t hf, hqi, hqt, hq;
	uint64_t pay;
	uint32_t tid, nend;
	uint32_t orig_len, cap_len;
	uint32_t flags, tcp_seq;
	uint16_t sport, dport;
	uint8_t proto, tcp_flags;
};

/* The block's distinct tuples (tid order: first added first) and, per tid, what the block
 * body's dictionary made of it. */
#define TID_UNKNOWN 0
#define TID_NONE    1	/* in rev: the reversed tuple is not in the block */
#define TUP_MEMO    256 /* tup_memo_slot() takes the top 8 bits */

struct dr_enc {
	struct dr_buf st[S_COUNT];
	/* gathered by dr_enc_add, in the order events came */
	int64_t *ts;
	struct ev_key *key;
	size_t nkey;
	struct dr_dict tids; /* distinct tuples of the block */
	uint64_t *tidh;	     /* per tid: its hash (DICT_SEED) */
	uint32_t *dictof;    /* per tid: dictionary index + 1, 0 = not in the dictionary yet */
	uint32_t *rev;	     /* per tid: reversed tuple's tid + 2, TID_NONE, TID_UNKNOWN */
	uint32_t *tidof;     /* per dictionary index: its tid */
	uint32_t ndict, tidcap;
	uint32_t memo[TUP_MEMO]; /* tid + 1 of a tuple met lately, by tup_memo_slot() */
	/* per block, block (time) order */
	uint32_t *order;
	uint32_t *tupidx; /* per event: dictionary index or TUP_NONE */
	uint32_t *pred;	  /* per dictionary index: the one that followed it last time */
	size_t predcap;
	uint32_t *ht_full, *ht_qid, *ht_q, *ht_qt;
	size_t cap, keycap, htcap;
};

int dr_enc_new(struct dr_enc **out)
{
	struct dr_enc *e = calloc(1, sizeof(*e));
	if (!e)
		return -ENOMEM;
	e->tids.keylen = sizeof(struct tup_key);
	*out = e;
	return 0;
}

void dr_enc_free(struct dr_enc *e)
{
	if (!e)
		return;
	for (int i = 0; i < S_COUNT; i++)
		dr_buf_free(&e->st[i]);
	dr_dict_free(&e->tids);
	free(e->ts);
	free(e->key);
	free(e->tidh);
	free(e->dictof);
	free(e->rev);
	free(e->tidof);
	free(e->order);
	free(e->tupidx);
	free(e->pred);
	free(e->ht_full);
	free(e->ht_qid);
	free(e->ht_q);
	free(e->ht_qt);
	free(e);
}

static int cmp_ts(const void *a, const void *b, void *base)
{
	const int64_t *ts = base;
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	int64_t tx = ts[x], ty = ts[y];
	if (tx != ty)
		return tx < ty ? -1 : 1;
	return x < y ? -1 : (x > y);
}

/* Events from the ring buffer are out of time order only where CPUs interleave: a few places
 * each. A stable insertion sort takes them in a pass; past a budget of moves (the events are
 * not nearly sorted after all) it stops and the caller sorts the rest with qsort_r. Both give
 * the same order, the only one cmp_ts allows. */
bool dr_enc_sort_near(uint32_t *order, const int64_t *ts, size_t n, size_t budget)
{
	size_t moves = 0;
	for (size_t i = 1; i < n; i++) {
		uint32_t x = order[i];
		int64_t t = ts[x];
		size_t j = i;
		while (j > 0 && ts[order[j - 1]] > t) {
			order[j] = order[j - 1];
			j--;
			if (++moves > budget) {
				order[j] = x;
				return false;
			}
		}
		order[j] = x;
	}
	return true;
}

static bool addr_is_short(const uint8_t a[16])
{
	for (int i = 4; i < 16; i++)
		if (a[i])
			return false;
	return true;
}

static void put_tup(struct dr_buf *d, const struct tup_key *k)
{
	dr_putv(d, k->netns);
	dr_putv(d, k->ifindex);
	dr_put8(d, k->pkt_type);
	dr_put8(d, k->ip_version);
	dr_put8(d, k->proto);
	bool s = addr_is_short(k->src), t = addr_is_short(k->dst);
	dr_put8(d, (uint8_t)((s ? 1 : 0) | (t ? 2 : 0) | (k->has_proc ? 4 : 0)));
	dr_put(d, k->src, s ? 4 : 16);
	dr_put(d, k->dst, t ? 4 : 16);
	if (k->has_proc) {
		dr_putv(d, k->pid);
		dr_putv(d, k->tid);
		dr_putv(d, k->uid);
		dr_putv(d, k->gid);
		dr_putv(d, k->cgroup_id);
		size_t cl = strnlen(k->comm, DNSREEL_COMM_LEN);
		dr_put8(d, (uint8_t)cl);
		dr_put(d, k->comm, cl);
	}
}

static const struct tup_key *tid_key(const struct dr_enc *e, uint32_t tid)
{
	return (const struct tup_key *)(e->tids.keys + (size_t)tid * e->tids.keylen);
}

/* The per-tid arrays follow the tuple table's capacity. */
static int grow_tids(struct dr_enc *e)
{
	uint32_t n = e->tids.cap;
	if (n <= e->tidcap)
		return 0;
	uint64_t *h = realloc(e->tidh, n * sizeof(*h));
	if (h)
		e->tidh = h;
	uint32_t *d = realloc(e->dictof, n * sizeof(*d));
	if (d)
		e->dictof = d;
	uint32_t *r = realloc(e->rev, n * sizeof(*r));
	if (r)
		e->rev = r;
	uint32_t *t = realloc(e->tidof, n * sizeof(*t));
	if (t)
		e->tidof = t;
	if (!h || !d || !r || !t)
		return -ENOMEM;
	e->tidcap = n;
	return 0;
}

/* The payload key of the copy table: four independent lanes of 8 bytes, so that a payload of
 * a few hundred bytes takes a quarter of the multiply chain dnsreel_hash_bytes() would (the
 * writer hashes every payload it appends). Only the encoder's tables see it. */
static uint64_t hash_payload(const uint8_t *p, size_t n)
{
	uint64_t a = 0x9e3779b97f4a7c15ull ^ n, b = 0xc2b2ae3d27d4eb4full,
		 c = 0x165667b19e3779f9ull, d = 0x27d4eb2f165667c5ull;
	while (n >= 32) {
		a = (a ^ dr_rd64(p)) * 0x100000001b3ull;
		b = (b ^ dr_rd64(p + 8)) * 0x100000001b3ull;
		c = (c ^ dr_rd64(p + 16)) * 0x100000001b3ull;
		d = (d ^ dr_rd64(p + 24)) * 0x100000001b3ull;
		a = (a << 29) | (a >> 35);
		b = (b << 29) | (b >> 35);
		c = (c << 29) | (c >> 35);
		d = (d << 29) | (d >> 35);
		p += 32;
		n -= 32;
	}
	/* the tail in the lanes, read in place (a copy to a buffer and wide loads from it stall
	 * on store forwarding), then one mix of all four */
	if (n >= 8) {
		a = (a ^ dr_rd64(p)) * 0x100000001b3ull;
		p += 8;
		n -= 8;
	}
	if (n >= 8) {
		b = (b ^ dr_rd64(p)) * 0x100000001b3ull;
		p += 8;
		n -= 8;
	}
	if (n >= 8) {
		c = (c ^ dr_rd64(p)) * 0x100000001b3ull;
		p += 8;
		n -= 8;
	}
	uint64_t t = 0;
	for (size_t i = 0; i < n; i++)
		t |= (uint64_t)p[i] << (8 * i);
	d = (d ^ t) * 0x100000001b3ull;
	return dnsreel_mix64(a ^ ((b << 17) | (b >> 47)) ^ ((c << 31) | (c >> 33)) ^
			     ((d << 47) | (d >> 17)));
}

/* 16 bytes compared inline: a call to memcmp costs more than the compare. */
static inline bool same16(const void *a, const void *b)
{
	uint64_t x[2], y[2];
	memcpy(x, a, 16);
	memcpy(y, b, 16);
	return ((x[0] ^ y[0]) | (x[1] ^ y[1])) == 0;
}
_Static_assert(DNSREEL_COMM_LEN == 16, "comm compares as 16 bytes");

/* Whether x has tuple k, as tup_of() would build it: a comm with bytes after its NUL, or
 * without a NUL, never matches (tup_of would change it), so then the caller builds the key. */
static bool tup_is(const struct tup_key *k, const struct dnsreel_event *x)
{
	if (k->netns != x->netns || k->ifindex != x->ifindex || k->pkt_type != x->pkt_type ||
	    k->ip_version != x->ip_version || k->proto != x->proto || k->pid != x->pid ||
	    k->tid != x->tid || k->uid != x->uid || k->gid != x->gid ||
	    k->cgroup_id != x->cgroup_id || !same16(k->src, x->src_addr) ||
	    !same16(k->dst, x->dst_addr) || !same16(k->comm, x->comm))
		return false;
	bool proc = (x->flags & DNSREEL_EV_PROC) || x->pid || x->tid || x->uid || x->gid ||
		    x->cgroup_id || x->comm[0];
	return proc == (bool)k->has_proc;
}

static size_t tup_memo_slot(const struct dnsreel_event *x)
{
	uint64_t v = x->netns * 0x9e3779b97f4a7c15ull ^ (uint64_t)x->ifindex << 32 ^
		     (uint64_t)x->pkt_type << 24 ^ dr_rd32(x->src_addr) ^
		     (uint64_t)dr_rd32(x->dst_addr) << 16 ^ (uint64_t)x->pid << 40;
	return (size_t)((v * 0x9e3779b97f4a7c15ull) >> 56); /* TUP_MEMO slots */
}

void dr_enc_clear(struct dr_enc *e)
{
	e->nkey = 0;
	dr_dict_reset(&e->tids);
	memset(e->memo, 0, sizeof(e->memo));
}

void dr_enc_drop_last(struct dr_enc *e)
{
	if (e->nkey)
		e->nkey--;
}

size_t dr_enc_gathered(const struct dr_enc *e)
{
	return e->nkey;
}

int dr_enc_add(struct dr_enc *e, const struct dnsreel_event *x, const uint8_t *p, uintptr_t pay)
{
	if (e->nkey == DR_MAX_BLOCK_EVENTS)
		return DNSREEL_E_LIMIT;
	if (e->nkey == e->keycap) {
		size_t nc = e->keycap ? e->keycap * 2 : 1024;
		int64_t *t = realloc(e->ts, nc * sizeof(*t));
		if (t)
			e->ts = t;
		struct ev_key *k = realloc(e->key, nc * sizeof(*k));
		if (k)
			e->key = k;
		if (!t || !k)
			return -ENOMEM;
		e->keycap = nc;
	}
	/* a block has few tuples, met again and again: the memo finds most without building
	 * and hashing a key */
	uint32_t *memo = &e->memo[tup_memo_slot(x)];
	int64_t tid = (int64_t)*memo - 1;
	if (tid < 0 || !tup_is(tid_key(e, (uint32_t)tid), x)) {
		struct tup_key tk;
		tup_of(x, &tk);
		uint64_t h = dnsreel_hash_bytes((const uint8_t *)&tk, sizeof(tk), DICT_SEED);
		bool nw;
		/* room first, for the tuple and what is kept of it: a failed add leaves the
		 * block as it was */
		if (dr_dict_reserve(&e->tids, e->tids.n + 1) || grow_tids(e))
			return -ENOMEM;
		tid = dr_dict_get_h(&e->tids, &tk, h, &nw);
		if (tid < 0)
			return (int)tid;
		if (nw) {
			e->tidh[tid] = h;
			e->dictof[tid] = 0;
			e->rev[tid] = TID_UNKNOWN;
		}
		*memo = (uint32_t)tid + 1;
	}
	uint64_t hk = e->tidh[tid];
	struct ev_key *k = &e->key[e->nkey];
	k->tid = (uint32_t)tid;
	k->hf = hash_payload(p, x->cap_len);
	size_t ne = (x->proto == 17) ? dr_name_end(p, x->cap_len) : 0;
	k->nend = (uint32_t)ne;
	if (ne) {
		k->hq = dnsreel_hash_bytes(p + 12, ne - 12, 2);
		k->hqi = dnsreel_mix64(k->hq ^ ((uint64_t)dr_rd16(p) + 1) * 0x9e3779b97f4a7c15ull);
		/* hq and hk are mixed already: their xor is as good a key */
		k->hqt = k->hq ^ ((hk << 23) | (hk >> 41));
	} else {
		k->hq = k->hqi = k->hqt = 0;
	}
	k->pay = pay;
	k->orig_len = x->orig_len;
	k->cap_len = x->cap_len;
	k->flags = x->flags;
	k->tcp_seq = x->tcp_seq;
	k->sport = x->src_port;
	k->dport = x->dst_port;
	k->proto = x->proto;
	k->tcp_flags = x->tcp_flags;
	e->ts[e->nkey++] = x->ts_ns;
	return 0;
}

void dr_enc_last_qname(const struct dr_enc *e, struct dr_qname *q)
{
	q->end = 0;
	q->hash = 0;
	if (e->nkey) {
		q->end = e->key[e->nkey - 1].nend;
		q->hash = e->key[e->nkey - 1].hq;
	}
}

/* The reversed tuple's tid, or TUP_NONE when no event of the block has it (then no tuple of
 * the block equals it). */
static uint32_t tid_rev(struct dr_enc *e, uint32_t tid)
{
	if (e->rev[tid] == TID_UNKNOWN) {
		struct tup_key rv;
		tup_rev(tid_key(e, tid), &rv);
		int64_t r = dr_dict_find_h(
		    &e->tids, &rv, dnsreel_hash_bytes((const uint8_t *)&rv, sizeof(rv), DICT_SEED));
		e->rev[tid] = r < 0 ? TID_NONE : (uint32_t)r + 2;
	}
	return e->rev[tid] == TID_NONE ? TUP_NONE : e->rev[tid] - 2;
}

/* The block dictionary's index of a tuple, given one when new (*is_new). */
static uint32_t dict_of(struct dr_enc *e, uint32_t tid, bool *is_new)
{
	*is_new = !e->dictof[tid];
	if (*is_new) {
		e->tidof[e->ndict] = tid;
		e->dictof[tid] = ++e->ndict;
	}
	return e->dictof[tid] - 1;
}

static int grow_arrays(struct dr_enc *e, size_t n)
{
	if (n <= e->cap)
		return 0;
	uint32_t *o = realloc(e->order, n * sizeof(*o));
	if (o)
		e->order = o;
	uint32_t *t = realloc(e->tupidx, n * sizeof(*t));
	if (t)
		e->tupidx = t;
	if (!o || !t)
		return -ENOMEM;
	e->cap = n;
	return 0;
}

#define KEY(j)	   (e->key[e->order[j]])
#define PAYLOAD(k) ((const uint8_t *)((uintptr_t)base + (uintptr_t)(k)->pay))

static int enc_events(struct dr_enc *e, size_t n, const uint8_t *base);

int dr_enc_block_gathered(struct dr_enc *e, const uint8_t *base, struct dr_buf *out)
{
	size_t n = e->nkey;
	if (n == 0 || n > DR_MAX_BLOCK_EVENTS)
		return DNSREEL_E_ARG;
	int err = enc_events(e, n, base);
	if (err)
		return err;
	out->len = 0;
	for (int i = 0; i < S_COUNT; i++) {
		if (e->st[i].err)
			return e->st[i].err;
		dr_putv(out, e->st[i].len);
	}
	for (int i = 0; i < S_COUNT; i++)
		dr_put(out, e->st[i].p, e->st[i].len);
	return out->err;
}

int dr_enc_block(struct dr_enc *e, const struct dnsreel_event *ev, size_t n, struct dr_buf *out)
{
	if (n == 0 || n > DR_MAX_BLOCK_EVENTS)
		return DNSREEL_E_ARG;
	for (size_t i = 0; i < n; i++)
		if (ev[i].cap_len && !ev[i].payload)
			return DNSREEL_E_ARG;
	dr_enc_clear(e);
	int err = 0;
	for (size_t i = 0; !err && i < n; i++)
		err = dr_enc_add(e, &ev[i], ev[i].payload, (uintptr_t)ev[i].payload);
	if (!err)
		err = dr_enc_block_gathered(e, NULL, out);
	dr_enc_clear(e);
	return err;
}

static int enc_events(struct dr_enc *e, size_t n, const uint8_t *base)
{
	if (grow_arrays(e, n))
		return -ENOMEM;
	size_t hsz = 1;
	while (hsz < 2 * n)
		hsz <<= 1;
	if (hsz > e->htcap) {
		free(e->ht_full);
		free(e->ht_qid);
		free(e->ht_q);
		free(e->ht_qt);
		e->ht_qt = malloc(hsz * sizeof(uint32_t));
		e->ht_full = malloc(hsz * sizeof(uint32_t));
		e->ht_qid = malloc(hsz * sizeof(uint32_t));
		e->ht_q = malloc(hsz * sizeof(uint32_t));
		if (!e->ht_full || !e->ht_qid || !e->ht_q || !e->ht_qt) {
			e->htcap = 0;
			return -ENOMEM;
		}
		e->htcap = hsz;
	}
	memset(e->ht_full, 0, hsz * sizeof(uint32_t));
	memset(e->ht_qid, 0, hsz * sizeof(uint32_t));
	memset(e->ht_q, 0, hsz * sizeof(uint32_t));
	memset(e->ht_qt, 0, hsz * sizeof(uint32_t));
	size_t hmask = hsz - 1;
	for (int i = 0; i < S_COUNT; i++) {
		e->st[i].len = 0;
		e->st[i].err = 0;
	}
	for (uint32_t t = 0; t < e->tids.n; t++)
		e->dictof[t] = 0;
	e->ndict = 0;

	bool sorted = true;
	const int64_t *ts = e->ts;
	for (size_t i = 0; i < n; i++) {
		e->order[i] = (uint32_t)i;
		if (i && ts[i] < ts[i - 1])
			sorted = false;
	}
	/* stable: ties keep append order (the index breaks them) */
	if (!sorted && !dr_enc_sort_near(e->order, ts, n, 8 * n))
		qsort_r(e->order, n, sizeof(uint32_t), cmp_ts, (void *)ts);

	/* Two stages ahead: the table slots first, then, once a slot is in cache, the event it
	 * names (in a big block it lies far away in memory and missed as well). A slot may still
	 * change before its event's turn: these are hints only. */
	enum { AHEAD = 8 };
	int64_t prev_ts = ts[e->order[0]];
	for (size_t i = 0; i < n; i++) {
		if (i + 2 * AHEAD < n) {
			const struct ev_key *a = &e->key[e->order[i + 2 * AHEAD]];
			__builtin_prefetch(&e->ht_full[a->hf & hmask]);
			if (a->nend) {
				__builtin_prefetch(&e->ht_qid[a->hqi & hmask]);
				__builtin_prefetch(&e->ht_qt[a->hqt & hmask]);
				__builtin_prefetch(&e->ht_q[a->hq & hmask]);
			}
		}
		if (i + AHEAD < n) {
			const struct ev_key *a = &e->key[e->order[i + AHEAD]];
			uint32_t c = e->ht_full[a->hf & hmask];
			if (!c && a->nend)
				c = e->ht_q[a->hq & hmask];
			if (c)
				__builtin_prefetch(&e->key[e->order[c - 1]]);
		}
		const struct ev_key *bk = &e->key[e->order[i]];
		uint32_t tid = bk->tid;
		const struct tup_key *k = tid_key(e, tid);

		/* payload against earlier events of the block */
		const uint8_t *p = PAYLOAD(bk);
		size_t len = bk->cap_len;
		size_t ne = bk->nend;
		uint8_t op = P_LIT;
		size_t ref = 0;
		uint32_t c = e->ht_full[bk->hf & hmask];
		if (c) {
			const struct ev_key *y = &KEY(c - 1);
			if (y->cap_len == len && (len == 0 || memcmp(PAYLOAD(y), p, len) == 0)) {
				op = P_DUP;
				ref = c - 1;
			}
		}
		if (ne) {
			if (op == P_LIT) {
				c = e->ht_qid[bk->hqi & hmask];
				if (c && KEY(c - 1).nend == ne) {
					const uint8_t *yp = PAYLOAD(&KEY(c - 1));
					if (memcmp(yp + 12, p + 12, ne - 12) == 0 &&
					    memcmp(yp, p, 2) == 0) {
						op = P_DER_ID;
						ref = c - 1;
					}
				}
			}
			/* same name seen at the same place (an AAAA after its A) beats the same
			 * name elsewhere: its tuple then costs nothing */
			if (op == P_LIT) {
				c = e->ht_qt[bk->hqt & hmask];
				if (c && KEY(c - 1).nend == ne && KEY(c - 1).tid == tid) {
					const uint8_t *yp = PAYLOAD(&KEY(c - 1));
					if (memcmp(yp + 12, p + 12, ne - 12) == 0) {
						op = P_DER;
						ref = c - 1;
					}
				}
			}
			if (op == P_LIT) {
				c = e->ht_q[bk->hq & hmask];
				if (c && KEY(c - 1).nend == ne) {
					const uint8_t *yp = PAYLOAD(&KEY(c - 1));
					if (memcmp(yp + 12, p + 12, ne - 12) == 0) {
						op = P_DER;
						ref = c - 1;
					}
				}
			}
		}

		/* where: same as the reference, its reply direction, what followed the
		 * reference's tuple last time, or a dictionary index */
		uint8_t cm = CM_LIT;
		uint32_t ti = TUP_NONE;
		bool nw;
		if (op != P_LIT) {
			uint32_t rtid = KEY(ref).tid;
			uint32_t rti = e->tupidx[ref];
			if (rtid == tid) {
				cm = CM_SAME;
				ti = rti;
			} else if (rti != TUP_NONE && e->pred[rti * 4 + op] != TUP_NONE &&
				   e->tidof[e->pred[rti * 4 + op]] == tid) {
				cm = CM_PRED;
				ti = e->pred[rti * 4 + op];
			} else if (tid_rev(e, rtid) == tid) {
				/* the decoder adds the reversed tuple to its dictionary the same
				 * way, so no entry is written for it */
				cm = CM_REV;
				ti = dict_of(e, tid, &nw);
			}
		}
		/* a copy at the next hop is timed from the copy it repeats */
		int64_t ts = e->ts[e->order[i]];
		uint64_t dt = (uint64_t)(ts - (op == P_DUP ? e->ts[e->order[ref]] : prev_ts));
		dr_put8(&e->st[S_TSLO], (uint8_t)dt);
		dr_putv(&e->st[op == P_DUP ? S_TSR : S_TS], dt >> 8);
		prev_ts = ts;
		if (cm == CM_LIT) {
			ti = dict_of(e, tid, &nw);
			if (nw)
				put_tup(&e->st[S_DICT], k);
			dr_putv(&e->st[S_TUP], (uint64_t)ti);
		}
		e->tupidx[i] = ti;
		if ((size_t)e->ndict * 4 > e->predcap) {
			/* one prediction per (tuple, payload op): a query's next hop and its
			 * response follow the same tuple */
			size_t nc = (size_t)e->tidcap * 4;
			uint32_t *np = realloc(e->pred, nc * sizeof(uint32_t));
			if (!np)
				return -ENOMEM;
			for (size_t j = e->predcap; j < nc; j++)
				np[j] = TUP_NONE;
			e->pred = np;
			e->predcap = nc;
		}
		if (i == 0)
			for (size_t j = 0; j < e->predcap; j++)
				e->pred[j] = TUP_NONE;
		if (op != P_LIT && e->tupidx[ref] != TUP_NONE && ti != TUP_NONE)
			e->pred[e->tupidx[ref] * 4 + op] = ti;

		uint8_t pm = PM_LIT;
		if (op != P_LIT) {
			const struct ev_key *y = &KEY(ref);
			if (y->sport == bk->sport && y->dport == bk->dport)
				pm = PM_SAME;
			else if (y->sport == bk->dport && y->dport == bk->sport)
				pm = PM_SWAP;
			dr_putv(&e->st[S_REF], i - ref);
		}
		uint32_t expect = (k->has_proc ? DNSREEL_EV_PROC : 0) |
				  (bk->cap_len < bk->orig_len ? DNSREEL_EV_TRUNCATED : 0);
		bool extra =
		    bk->flags != expect || (bk->proto != 6 && (bk->tcp_flags || bk->tcp_seq));
		bool orig = bk->orig_len != bk->cap_len;
		dr_put8(&e->st[S_POP], (uint8_t)(op | (cm << 2) | (pm << 4) | (extra ? 0x40 : 0) |
						 (orig ? 0x80 : 0)));
		if (extra) {
			dr_putv(&e->st[S_EXTRA], bk->flags);
			dr_put8(&e->st[S_EXTRA], bk->tcp_flags);
			dr_put32(&e->st[S_EXTRA], bk->tcp_seq);
		} else if (bk->proto == 6) {
			dr_put8(&e->st[S_TCP], bk->tcp_flags);
			dr_put32(&e->st[S_TCP], bk->tcp_seq);
		}
		if (pm == PM_LIT) {
			uint8_t t[2];
			dr_le16(t, bk->sport);
			dr_put(&e->st[S_PORT], t, 2);
			dr_le16(t, bk->dport);
			dr_put(&e->st[S_DPORT], t, 2);
		}
		if (orig)
			dr_putv(&e->st[S_LEN], bk->orig_len);
		switch (op) {
		case P_LIT:
			dr_putv(&e->st[S_LEN], len);
			dr_put(&e->st[S_LIT], p, len);
			break;
		case P_DUP:
			break;
		case P_DER:
			dr_put(&e->st[S_ID], p, 2);
			/* fall through */
		case P_DER_ID: {
			/* a response repeats its query's flags rarely, its qtype nearly always;
			 * an upstream query repeats flags and qtype, not the counts */
			const struct ev_key *y = &KEY(ref);
			const uint8_t *yp = PAYLOAD(y);
			uint8_t hb = 0;
			if (memcmp(p + 2, yp + 2, 2) == 0)
				hb |= 1;
			else
				dr_put(&e->st[S_FLAGS], p + 2, 2);
			if (memcmp(p + 4, yp + 4, 8) == 0)
				hb |= 2;
			else
				for (int j = 0; j < 4; j++)
					dr_putv(&e->st[S_CNT],
						(uint64_t)((p[4 + 2 * j] << 8) | p[5 + 2 * j]));
			/* qtype and qclass may be cut by the snap length */
			if (len >= ne + 4) {
				if (y->cap_len >= ne + 4 && memcmp(p + ne, yp + ne, 4) == 0)
					hb |= 4;
				else
					dr_put(&e->st[S_QT], p + ne, 4);
				dr_putv(&e->st[S_LEN], len - ne - 4 + 1);
				dr_put(&e->st[S_LIT], p + ne + 4, len - ne - 4);
			} else {
				dr_putv(&e->st[S_LEN], 0);
				dr_putv(&e->st[S_LEN], len - ne);
				dr_put(&e->st[S_LIT], p + ne, len - ne);
			}
			dr_put8(&e->st[S_HB], hb);
			break;
		}
		}
		e->ht_full[bk->hf & hmask] = (uint32_t)i + 1;
		if (ne) {
			e->ht_qid[bk->hqi & hmask] = (uint32_t)i + 1;
			e->ht_q[bk->hq & hmask] = (uint32_t)i + 1;
			e->ht_qt[bk->hqt & hmask] = (uint32_t)i + 1;
		}
	}
	return 0;
}

/* Match finder settings for the middle levels, measured on recorded lab traffic and on the
 * synthesizer's (bench-writer, bench/RESULTS.md): matches of 6 bytes or more, and hash and
 * chain tables of 2^17 entries (a block body is a few hundred KiB; the level's own tables are
 * several MiB, cleared for every frame and missed in cache) take 5-17% less CPU than zstd's
 * own level 6 for 0.3-0.5% fewer bytes. Any decoder reads the frames. 0 = the level's own. */
void dr_enc_zstd_params(void *cctx_, int level)
{
	ZSTD_CCtx *cctx = cctx_;
	bool mid = level >= 4 && level <= 9;
	ZSTD_CCtx_setParameter(cctx, ZSTD_c_compressionLevel, level);
	ZSTD_CCtx_setParameter(cctx, ZSTD_c_minMatch, mid ? 6 : 0);
	ZSTD_CCtx_setParameter(cctx, ZSTD_c_hashLog, mid ? 17 : 0);
	ZSTD_CCtx_setParameter(cctx, ZSTD_c_chainLog, mid ? 17 : 0);
}

/* Each column gets its own zstd block (a flush ends a block), so each has its own entropy
 * tables instead of one table for very different byte statistics. */
int dr_enc_compress(struct dr_enc *e, void *cctx_, int level, const struct dr_buf *raw,
		    struct dr_buf *z)
{
	/* parameters can be set only between frames: after a reset */
	ZSTD_CCtx_reset(cctx_, ZSTD_reset_session_only);
	dr_enc_zstd_params(cctx_, level);
	return dr_enc_compress_as_set(e, cctx_, raw, z);
}

int dr_enc_compress_as_set(struct dr_enc *e, void *cctx_, const struct dr_buf *raw,
			   struct dr_buf *z)
{
	ZSTD_CCtx *cctx = cctx_;
	size_t bound = ZSTD_compressBound(raw->len) + 64 * S_COUNT;
	z->len = 0;
	if (dr_buf_reserve(z, bound))
		return -ENOMEM;
	ZSTD_CCtx_setPledgedSrcSize(cctx, raw->len);
	size_t hdr = raw->len;
	for (int i = 0; i < S_COUNT; i++)
		hdr -= e->st[i].len;
	ZSTD_outBuffer ob = {z->p, z->cap, 0};
	size_t pos = 0;
	for (int i = -1; i < S_COUNT; i++) {
		size_t l = i < 0 ? hdr : e->st[i].len;
		if (i >= 0 && l == 0)
			continue;
		ZSTD_inBuffer ib = {raw->p + pos, l, 0};
		bool last = pos + l == raw->len;
		size_t r;
		do {
			r = ZSTD_compressStream2(cctx, &ob, &ib, last ? ZSTD_e_end : ZSTD_e_flush);
			if (ZSTD_isError(r))
				return DNSREEL_E_ZSTD;
		} while (r != 0);
		pos += l;
		if (last)
			break;
	}
	z->len = ob.pos;
	return 0;
}
