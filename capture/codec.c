/* Block codec: a block of events encoded column by column (capture/FORMAT.md "Block body").
 * Most of a DNS capture repeats itself: the same message seen at several hops, a response
 * that starts with its query's header and question, an upstream query that repeats the
 * client's question under a new id. Payloads are therefore coded against an earlier event of
 * the block (exact copy, or "header + question of event k + tail"), and small dictionaries
 * replace netns, addresses and process tuples. zstd then squeezes the columns.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <zstd.h>

#include "dns.h"
#include "capture_int.h"

enum {
	S_DICT, /* tuple dictionary entries */
	S_TS,
	S_TSR,	/* time since the referenced event (copies) */
	S_TSLO, /* low bytes of both time columns: nearly uniform, kept apart */
	S_POP,
	S_REF,
	S_TUP,
	S_PORT,
	S_DPORT, /* destination ports apart: mostly 53 */
	S_EXTRA,
	S_TCP,
	S_ID,
	S_FLAGS,
	S_CNT,
	S_QT,
	S_HB, /* derived header: which parts repeat the reference */
	S_LEN,
	S_LIT,
	S_COUNT
};

/* POP byte: payload op (bits 0-1), where mode (2-3), port mode (4-5), extra flags (6),
 * orig_len != cap_len (7) */
enum { P_LIT = 0, P_DUP = 1, P_DER_ID = 2, P_DER = 3 };
enum { CM_LIT = 0, CM_SAME = 1, CM_PRED = 2, CM_REV = 3 };
enum { PM_LIT = 0, PM_SAME = 1, PM_SWAP = 2 };

int dr_buf_reserve(struct dr_buf *b, size_t extra)
{
	if (b->err)
		return b->err;
	size_t need = b->len + extra;
	if (need <= b->cap)
		return 0;
	size_t nc = b->cap ? b->cap : 256;
	while (nc < need)
		nc *= 2;
	uint8_t *np = realloc(b->p, nc);
	if (!np) {
		b->err = -ENOMEM;
		return b->err;
	}
	b->p = np;
	b->cap = nc;
	return 0;
}

void dr_buf_free(struct dr_buf *b)
{
	free(b->p);
	memset(b, 0, sizeof(*b));
}

/* ---- CRC32C (Castagnoli), table driven, slicing by 8 ------------------------------------- */

static uint32_t crc_tab[8][256];
static int crc_ready;

static void crc_init(void)
{
	for (uint32_t i = 0; i < 256; i++) {
		uint32_t c = i;
		for (int k = 0; k < 8; k++)
			c = (c & 1) ? (c >> 1) ^ 0x82F63B78u : c >> 1;
		crc_tab[0][i] = c;
	}
	for (uint32_t i = 0; i < 256; i++)
		for (int t = 1; t < 8; t++)
			crc_tab[t][i] =
			    (crc_tab[t - 1][i] >> 8) ^ crc_tab[0][crc_tab[t - 1][i] & 0xff];
	__atomic_store_n(&crc_ready, 1, __ATOMIC_RELEASE);
}

uint32_t dr_crc32c(uint32_t crc, const void *data, size_t len)
{
	if (!__atomic_load_n(&crc_ready, __ATOMIC_ACQUIRE))
		crc_init(); /* idempotent: racing threads compute the same table */
	const uint8_t *p = data;
	crc = ~crc;
	while (len >= 8) {
		uint32_t lo = crc ^ dr_rd32(p);
		uint32_t hi = dr_rd32(p + 4);
		crc = crc_tab[7][lo & 0xff] ^ crc_tab[6][(lo >> 8) & 0xff] ^
		      crc_tab[5][(lo >> 16) & 0xff] ^ crc_tab[4][lo >> 24] ^ crc_tab[3][hi & 0xff] ^
		      crc_tab[2][(hi >> 8) & 0xff] ^ crc_tab[1][(hi >> 16) & 0xff] ^
		      crc_tab[0][hi >> 24];
		p += 8;
		len -= 8;
	}
	while (len--)
		crc = (crc >> 8) ^ crc_tab[0][(crc ^ *p++) & 0xff];
	return ~crc;
}

/* ---- hashing ----------------------------------------------------------------------------- */

uint64_t dnsreel_name_hash(const char *name, size_t len)
{
	/* normalized: lowercase, exactly one trailing dot ("." for the root) */
	while (len > 1 && name[len - 1] == '.' && name[len - 2] == '.')
		len--;
	uint64_t h = 0xcbf29ce484222325ull;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)name[i];
		if (c >= 'A' && c <= 'Z')
			c = (unsigned char)(c + 32);
		h = (h ^ c) * 0x100000001b3ull;
	}
	if (len == 0 || name[len - 1] != '.')
		h = (h ^ '.') * 0x100000001b3ull;
	return dnsreel_mix64(h);
}

/* ---- question extent --------------------------------------------------------------------- */

/* End offset of the first question's name (written without compression), or 0 when the
 * message does not start with such a question. Encoder and decoder use the same rule, so a
 * derived payload always reproduces exactly. */
static size_t name_end(const uint8_t *p, size_t len)
{
	if (len < 12 + 1 || p[4] != 0 || p[5] == 0)
		return 0;
	size_t o = 12, total = 0;
	for (;;) {
		if (o >= len)
			return 0;
		uint8_t l = p[o];
		if (l == 0)
			break;
		if (l > 63)
			return 0;
		total += (size_t)l + 1;
		if (total > 255)
			return 0;
		o += (size_t)l + 1;
	}
	return o + 1;
}

/* ---- dictionaries ------------------------------------------------------------------------ */

/* The seed the encoder hashes tuples with for its question-at-tuple table, so that one hash
 * serves both. A dictionary is exact, so its hash never shows in the output. */
#define DICT_SEED 3

struct dict {
	size_t keylen;
	uint8_t *keys; /* n * keylen */
	uint32_t n, cap;
	uint32_t *tab; /* open addressing: index + 1, 0 = empty */
	uint32_t tabmask;
};

static void dict_reset(struct dict *d)
{
	d->n = 0;
	if (d->tab)
		memset(d->tab, 0, ((size_t)d->tabmask + 1) * sizeof(uint32_t));
}

static void dict_free(struct dict *d)
{
	free(d->keys);
	free(d->tab);
	memset(d, 0, sizeof(*d));
}

static int dict_grow(struct dict *d)
{
	uint32_t nc = d->cap ? d->cap * 2 : 64;
	uint8_t *nk = realloc(d->keys, (size_t)nc * d->keylen);
	if (!nk)
		return -ENOMEM;
	d->keys = nk;
	d->cap = nc;
	uint32_t tsz = nc * 2;
	uint32_t *nt = calloc(tsz, sizeof(uint32_t));
	if (!nt)
		return -ENOMEM;
	free(d->tab);
	d->tab = nt;
	d->tabmask = tsz - 1;
	for (uint32_t i = 0; i < d->n; i++) {
		uint32_t h =
		    (uint32_t)dnsreel_hash_bytes(d->keys + (size_t)i * d->keylen, d->keylen, DICT_SEED);
		while (d->tab[h & d->tabmask])
			h++;
		d->tab[h & d->tabmask] = i + 1;
	}
	return 0;
}

/* Index of key, inserting it when new (*is_new set). Negative on allocation failure. hash is
 * dnsreel_hash_bytes(key, keylen, DICT_SEED): the encoder has it already for its tuple tables. */
static int64_t dict_get_h(struct dict *d, const void *key, uint64_t hash, bool *is_new)
{
	*is_new = false;
	if (!d->tab && dict_grow(d))
		return -ENOMEM;
	uint32_t h = (uint32_t)hash;
	for (;;) {
		uint32_t v = d->tab[h & d->tabmask];
		if (!v)
			break;
		if (memcmp(d->keys + (size_t)(v - 1) * d->keylen, key, d->keylen) == 0)
			return v - 1;
		h++;
	}
	if (d->n == d->cap) {
		if (dict_grow(d))
			return -ENOMEM;
		return dict_get_h(d, key, hash, is_new);
	}
	memcpy(d->keys + (size_t)d->n * d->keylen, key, d->keylen);
	d->tab[h & d->tabmask] = d->n + 1;
	*is_new = true;
	return d->n++;
}

static int64_t dict_get(struct dict *d, const void *key, bool *is_new)
{
	return dict_get_h(d, key, dnsreel_hash_bytes(key, d->keylen, DICT_SEED), is_new);
}

/* ---- encoder ----------------------------------------------------------------------------- */

/* Where and by whom an event was seen: one dictionary entry per distinct tuple in a block. */
struct tup_key {
	uint64_t netns;
	uint64_t cgroup_id;
	uint32_t ifindex, pid, tid, uid, gid;
	uint8_t pkt_type, ip_version, proto, has_proc;
	uint8_t src[16], dst[16];
	char comm[DNSREEL_COMM_LEN];
};

#define TUP_NONE UINT32_MAX

static void tup_of(const struct dnsreel_event *x, struct tup_key *k)
{
	memset(k, 0, sizeof(*k));
	k->netns = x->netns;
	k->ifindex = x->ifindex;
	k->pkt_type = x->pkt_type;
	k->ip_version = x->ip_version;
	k->proto = x->proto;
	memcpy(k->src, x->src_addr, 16);
	memcpy(k->dst, x->dst_addr, 16);
	k->pid = x->pid;
	k->tid = x->tid;
	k->uid = x->uid;
	k->gid = x->gid;
	k->cgroup_id = x->cgroup_id;
	/* bytes after the NUL are not part of comm: zero them so keys compare by meaning */
	memcpy(k->comm, x->comm, strnlen(x->comm, DNSREEL_COMM_LEN - 1));
	static const char zero[DNSREEL_COMM_LEN];
	k->has_proc = (x->flags & DNSREEL_EV_PROC) || k->pid || k->tid || k->uid || k->gid ||
		      k->cgroup_id || memcmp(k->comm, zero, sizeof(zero));
}

/* The reply direction: same place and process, endpoints swapped, sent <-> received. */
static uint8_t rev_pkt(uint8_t t)
{
	return t == DNSREEL_PKT_OUTGOING ? DNSREEL_PKT_HOST
	       : t == DNSREEL_PKT_HOST	 ? DNSREEL_PKT_OUTGOING
					 : t;
}

static void tup_rev(const struct tup_key *a, struct tup_key *r)
{
	*r = *a;
	r->pkt_type = rev_pkt(a->pkt_type);
	memcpy(r->src, a->dst, 16);
	memcpy(r->dst, a->src, 16);
}

struct dr_enc {
	struct dr_buf st[S_COUNT];
	struct dict tup;
	uint32_t *order;
	size_t *nend;	  /* per event (block order): end of the question name, 0 = none */
	uint32_t *tupidx; /* per event: tuple index or TUP_NONE */
	struct tup_key *tk;
	uint32_t *pred; /* per tuple index: the tuple that followed it last time */
	size_t predcap;
	uint32_t *ht_full, *ht_qid, *ht_q, *ht_qt;
	size_t cap, htcap;
};

int dr_enc_new(struct dr_enc **out)
{
	struct dr_enc *e = calloc(1, sizeof(*e));
	if (!e)
		return -ENOMEM;
	e->tup.keylen = sizeof(struct tup_key);
	*out = e;
	return 0;
}

void dr_enc_free(struct dr_enc *e)
{
	if (!e)
		return;
	for (int i = 0; i < S_COUNT; i++)
		dr_buf_free(&e->st[i]);
	dict_free(&e->tup);
	free(e->order);
	free(e->nend);
	free(e->tupidx);
	free(e->tk);
	free(e->pred);
	free(e->ht_full);
	free(e->ht_qid);
	free(e->ht_q);
	free(e->ht_qt);
	free(e);
}

static int cmp_ts(const void *a, const void *b, void *base)
{
	const struct dnsreel_event *ev = base;
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	int64_t tx = ev[x].ts_ns, ty = ev[y].ts_ns;
	if (tx != ty)
		return tx < ty ? -1 : 1;
	return x < y ? -1 : (x > y);
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

static int grow_arrays(struct dr_enc *e, size_t n)
{
	if (n <= e->cap)
		return 0;
	uint32_t *o = realloc(e->order, n * sizeof(*o));
	if (o)
		e->order = o;
	size_t *q = realloc(e->nend, n * sizeof(*q));
	if (q)
		e->nend = q;
	uint32_t *t = realloc(e->tupidx, n * sizeof(*t));
	if (t)
		e->tupidx = t;
	struct tup_key *k = realloc(e->tk, n * sizeof(*k));
	if (k)
		e->tk = k;
	if (!o || !q || !t || !k)
		return -ENOMEM;
	e->cap = n;
	return 0;
}

int dr_enc_block(struct dr_enc *e, const struct dnsreel_event *ev, size_t n, struct dr_buf *out)
{
	if (n == 0 || n > DR_MAX_BLOCK_EVENTS)
		return DNSREEL_E_ARG;
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
	dict_reset(&e->tup);

	bool sorted = true;
	for (size_t i = 0; i < n; i++) {
		e->order[i] = (uint32_t)i;
		if (i && ev[i].ts_ns < ev[i - 1].ts_ns)
			sorted = false;
	}
	if (!sorted) {
		/* stable: ties keep append order (the index breaks them) */
		qsort_r(e->order, n, sizeof(uint32_t), cmp_ts, (void *)ev);
	}

	int64_t prev_ts = ev[e->order[0]].ts_ns;
	for (size_t i = 0; i < n; i++) {
		const struct dnsreel_event *x = &ev[e->order[i]];
		if (x->cap_len && !x->payload)
			return DNSREEL_E_ARG;
		struct tup_key *k = &e->tk[i];
		tup_of(x, k);

		/* payload against earlier events of the block */
		const uint8_t *p = x->payload;
		size_t len = x->cap_len;
		uint64_t hf = dnsreel_hash_bytes(p, len, 1);
		size_t ne = (x->proto == 17) ? name_end(p, len) : 0;
		e->nend[i] = ne;
		uint64_t hq = 0, hqi = 0, hqt = 0;
		uint64_t hk = 0; /* hash of the tuple k, once needed (hk_ok) */
		bool hk_ok = false;
		uint8_t op = P_LIT;
		size_t ref = 0;
		uint32_t c = e->ht_full[hf & hmask];
		if (c) {
			const struct dnsreel_event *y = &ev[e->order[c - 1]];
			if (y->cap_len == len && (len == 0 || memcmp(y->payload, p, len) == 0)) {
				op = P_DUP;
				ref = c - 1;
			}
		}
		if (ne) {
			hq = dnsreel_hash_bytes(p + 12, ne - 12, 2);
			hqi = dnsreel_mix64(hq ^ ((uint64_t)dr_rd16(p) + 1) * 0x9e3779b97f4a7c15ull);
			if (op == P_LIT) {
				c = e->ht_qid[hqi & hmask];
				if (c && e->nend[c - 1] == ne) {
					const struct dnsreel_event *y = &ev[e->order[c - 1]];
					if (memcmp(y->payload + 12, p + 12, ne - 12) == 0 &&
					    memcmp(y->payload, p, 2) == 0) {
						op = P_DER_ID;
						ref = c - 1;
					}
				}
			}
			/* same name seen at the same place (an AAAA after its A) beats the same
			 * name elsewhere: its tuple then costs nothing */
			hk = dnsreel_hash_bytes((const uint8_t *)k, sizeof(*k), DICT_SEED);
			hk_ok = true;
			hqt = dnsreel_mix64(hq ^ hk);
			if (op == P_LIT) {
				c = e->ht_qt[hqt & hmask];
				if (c && e->nend[c - 1] == ne &&
				    memcmp(&e->tk[c - 1], k, sizeof(*k)) == 0) {
					const struct dnsreel_event *y = &ev[e->order[c - 1]];
					if (memcmp(y->payload + 12, p + 12, ne - 12) == 0) {
						op = P_DER;
						ref = c - 1;
					}
				}
			}
			if (op == P_LIT) {
				c = e->ht_q[hq & hmask];
				if (c && e->nend[c - 1] == ne) {
					const struct dnsreel_event *y = &ev[e->order[c - 1]];
					if (memcmp(y->payload + 12, p + 12, ne - 12) == 0) {
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
		if (op != P_LIT) {
			const struct tup_key *rk = &e->tk[ref];
			uint32_t rti = e->tupidx[ref];
			struct tup_key rv;
			if (memcmp(rk, k, sizeof(*k)) == 0) {
				cm = CM_SAME;
				ti = rti;
			} else if (rti != TUP_NONE && e->pred[rti * 4 + op] != TUP_NONE &&
				   memcmp(e->tup.keys +
					      (size_t)e->pred[rti * 4 + op] * e->tup.keylen,
					  k, sizeof(*k)) == 0) {
				cm = CM_PRED;
				ti = e->pred[rti * 4 + op];
			} else {
				tup_rev(rk, &rv);
				if (memcmp(&rv, k, sizeof(*k)) == 0) {
					/* the decoder adds the reversed tuple to its dictionary the
					 * same way, so no entry is written for it */
					bool nw;
					if (!hk_ok) {
						hk = dnsreel_hash_bytes((const uint8_t *)k, sizeof(*k),
								DICT_SEED);
						hk_ok = true;
					}
					int64_t idx = dict_get_h(&e->tup, k, hk, &nw);
					if (idx < 0)
						return (int)idx;
					cm = CM_REV;
					ti = (uint32_t)idx;
				}
			}
		}
		/* a copy at the next hop is timed from the copy it repeats */
		uint64_t dt =
		    (uint64_t)(x->ts_ns - (op == P_DUP ? ev[e->order[ref]].ts_ns : prev_ts));
		dr_put8(&e->st[S_TSLO], (uint8_t)dt);
		dr_putv(&e->st[op == P_DUP ? S_TSR : S_TS], dt >> 8);
		prev_ts = x->ts_ns;
		if (cm == CM_LIT) {
			bool nw;
			if (!hk_ok)
				hk = dnsreel_hash_bytes((const uint8_t *)k, sizeof(*k), DICT_SEED);
			int64_t idx = dict_get_h(&e->tup, k, hk, &nw);
			if (idx < 0)
				return (int)idx;
			if (nw)
				put_tup(&e->st[S_DICT], k);
			dr_putv(&e->st[S_TUP], (uint64_t)idx);
			ti = (uint32_t)idx;
		}
		e->tupidx[i] = ti;
		if ((size_t)e->tup.n * 4 > e->predcap) {
			/* one prediction per (tuple, payload op): a query's next hop and its
			 * response follow the same tuple */
			size_t nc = (size_t)e->tup.cap * 4;
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
			const struct dnsreel_event *y = &ev[e->order[ref]];
			if (y->src_port == x->src_port && y->dst_port == x->dst_port)
				pm = PM_SAME;
			else if (y->src_port == x->dst_port && y->dst_port == x->src_port)
				pm = PM_SWAP;
			dr_putv(&e->st[S_REF], i - ref);
		}
		uint32_t expect = (k->has_proc ? DNSREEL_EV_PROC : 0) |
				  (x->cap_len < x->orig_len ? DNSREEL_EV_TRUNCATED : 0);
		bool extra = x->flags != expect || (x->proto != 6 && (x->tcp_flags || x->tcp_seq));
		bool orig = x->orig_len != x->cap_len;
		dr_put8(&e->st[S_POP], (uint8_t)(op | (cm << 2) | (pm << 4) | (extra ? 0x40 : 0) |
						 (orig ? 0x80 : 0)));
		if (extra) {
			dr_putv(&e->st[S_EXTRA], x->flags);
			dr_put8(&e->st[S_EXTRA], x->tcp_flags);
			dr_put32(&e->st[S_EXTRA], x->tcp_seq);
		} else if (x->proto == 6) {
			dr_put8(&e->st[S_TCP], x->tcp_flags);
			dr_put32(&e->st[S_TCP], x->tcp_seq);
		}
		if (pm == PM_LIT) {
			uint8_t t[2];
			dr_le16(t, x->src_port);
			dr_put(&e->st[S_PORT], t, 2);
			dr_le16(t, x->dst_port);
			dr_put(&e->st[S_DPORT], t, 2);
		}
		if (orig)
			dr_putv(&e->st[S_LEN], x->orig_len);
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
			const struct dnsreel_event *y = &ev[e->order[ref]];
			const uint8_t *yp = y->payload;
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
		e->ht_full[hf & hmask] = (uint32_t)i + 1;
		if (ne) {
			e->ht_qid[hqi & hmask] = (uint32_t)i + 1;
			e->ht_q[hq & hmask] = (uint32_t)i + 1;
			e->ht_qt[hqt & hmask] = (uint32_t)i + 1;
		}
	}
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

/* Each column gets its own zstd block (a flush ends a block), so each has its own entropy
 * tables instead of one table for very different byte statistics. */
int dr_enc_compress(struct dr_enc *e, void *cctx_, int level, const struct dr_buf *raw,
		    struct dr_buf *z)
{
	ZSTD_CCtx *cctx = cctx_;
	ZSTD_CCtx_setParameter(cctx, ZSTD_c_compressionLevel, level);
	size_t bound = ZSTD_compressBound(raw->len) + 64 * S_COUNT;
	z->len = 0;
	if (dr_buf_reserve(z, bound))
		return -ENOMEM;
	ZSTD_CCtx_reset(cctx, ZSTD_reset_session_only);
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

/* ---- decoder ----------------------------------------------------------------------------- */

static void tup_apply(struct dnsreel_event *x, const struct tup_key *t)
{
	x->netns = t->netns;
	x->ifindex = t->ifindex;
	x->pkt_type = t->pkt_type;
	x->ip_version = t->ip_version;
	x->proto = t->proto;
	memcpy(x->src_addr, t->src, 16);
	memcpy(x->dst_addr, t->dst, 16);
	x->pid = t->pid;
	x->tid = t->tid;
	x->uid = t->uid;
	x->gid = t->gid;
	x->cgroup_id = t->cgroup_id;
	memcpy(x->comm, t->comm, DNSREEL_COMM_LEN);
}

/* Reads one dictionary entry (capture/FORMAT.md "tuple entry"). */
static bool get_tup(struct dr_rd *d, struct tup_key *t)
{
	memset(t, 0, sizeof(*t));
	t->netns = dr_getv(d);
	t->ifindex = (uint32_t)dr_getv(d);
	t->pkt_type = dr_get8(d);
	t->ip_version = dr_get8(d);
	t->proto = dr_get8(d);
	uint8_t f = dr_get8(d);
	const uint8_t *a = dr_getn(d, (f & 1) ? 4 : 16);
	if (a)
		memcpy(t->src, a, (f & 1) ? 4 : 16);
	a = dr_getn(d, (f & 2) ? 4 : 16);
	if (a)
		memcpy(t->dst, a, (f & 2) ? 4 : 16);
	t->has_proc = (f & 4) ? 1 : 0;
	if (t->has_proc) {
		t->pid = (uint32_t)dr_getv(d);
		t->tid = (uint32_t)dr_getv(d);
		t->uid = (uint32_t)dr_getv(d);
		t->gid = (uint32_t)dr_getv(d);
		t->cgroup_id = dr_getv(d);
		uint8_t cl = dr_get8(d);
		const uint8_t *c = dr_getn(d, cl);
		if (cl >= DNSREEL_COMM_LEN || !c)
			return false;
		memcpy(t->comm, c, cl);
	}
	return !d->bad && !(f >> 3);
}

static void copy_where(struct dnsreel_event *x, const struct dnsreel_event *y, bool rev)
{
	x->netns = y->netns;
	x->ifindex = y->ifindex;
	x->pkt_type = rev ? rev_pkt(y->pkt_type) : y->pkt_type;
	x->ip_version = y->ip_version;
	x->proto = y->proto;
	memcpy(x->src_addr, rev ? y->dst_addr : y->src_addr, 16);
	memcpy(x->dst_addr, rev ? y->src_addr : y->dst_addr, 16);
	x->pid = y->pid;
	x->tid = y->tid;
	x->uid = y->uid;
	x->gid = y->gid;
	x->cgroup_id = y->cgroup_id;
	memcpy(x->comm, y->comm, DNSREEL_COMM_LEN);
	x->flags = y->flags & DNSREEL_EV_PROC;
}

int dr_dec_block(const uint8_t *body, size_t len, uint32_t n, int64_t first_ts,
		 struct dnsreel_event **evs, uint8_t **arena_out)
{
	*evs = NULL;
	*arena_out = NULL;
	if (n == 0 || n > DR_MAX_BLOCK_EVENTS)
		return DNSREEL_E_CORRUPT;
	struct dr_rd hdr = {body, body + len, false};
	struct dr_rd st[S_COUNT];
	size_t slen[S_COUNT];
	size_t total = 0;
	for (int i = 0; i < S_COUNT; i++) {
		slen[i] = dr_getv(&hdr);
		if (hdr.bad || slen[i] > len)
			return DNSREEL_E_CORRUPT;
		total += slen[i];
	}
	if (total != (size_t)(hdr.end - hdr.p))
		return DNSREEL_E_CORRUPT;
	const uint8_t *q = hdr.p;
	for (int i = 0; i < S_COUNT; i++) {
		st[i].p = q;
		st[i].end = q + slen[i];
		st[i].bad = false;
		q += slen[i];
	}

	struct dict tups = {.keylen = sizeof(struct tup_key)};
	uint32_t *pred = NULL, *evt = NULL;
	uint8_t *hp = NULL;
	size_t predcap = 0;
	struct dnsreel_event *ev = malloc(n * sizeof(*ev));
	size_t *off = malloc(sizeof(size_t) * n);
	struct dr_buf arena = {0};
	int err = DNSREEL_E_CORRUPT;
	evt = malloc(n * sizeof(uint32_t));
	hp = malloc(n);
	if (!ev || !off || !evt || !hp) {
		err = -ENOMEM;
		goto fail;
	}
	/* literal bytes bound what derived payloads add; reserve once so the arena rarely moves */
	size_t nder = slen[S_HB] < n ? slen[S_HB] : n;
	if (dr_buf_reserve(&arena, slen[S_LIT] + nder * 96 + 64)) {
		err = -ENOMEM;
		goto fail;
	}

	int64_t ts = first_ts;
	for (uint32_t i = 0; i < n; i++) {
		struct dnsreel_event *x = &ev[i];
		uint8_t pop = dr_get8(&st[S_POP]);
		uint8_t op = pop & 3, cm = (pop >> 2) & 3, pm = (pop >> 4) & 3;
		if (pm > PM_SWAP || (op == P_LIT && (pm != PM_LIT || cm != CM_LIT)))
			goto fail;
		size_t ref = 0;
		if (op != P_LIT) {
			uint64_t dist = dr_getv(&st[S_REF]);
			if (dist == 0 || dist > i)
				goto fail;
			ref = i - dist;
		}
		uint64_t lo = dr_get8(&st[S_TSLO]);
		uint64_t dt = dr_getv(&st[op == P_DUP ? S_TSR : S_TS]);
		if (dt > (uint64_t)INT64_MAX / 512)
			goto fail;
		dt = dt << 8 | lo;
		int64_t t = (op == P_DUP ? ev[ref].ts_ns : ts) + (int64_t)dt;
		if (t < ts || t < first_ts)
			goto fail; /* events of a block are sorted */
		ts = t;
		x->ts_ns = ts;
		uint32_t ti = TUP_NONE;
		switch (cm) {
		case CM_LIT: {
			uint64_t idx = dr_getv(&st[S_TUP]);
			if (idx == tups.n) {
				/* first use: its entry comes next in the dictionary column */
				struct tup_key k;
				bool nw;
				if (!get_tup(&st[S_DICT], &k))
					goto fail;
				int64_t r = dict_get(&tups, &k, &nw);
				if (r < 0) {
					err = (int)r;
					goto fail;
				}
				if (!nw)
					goto fail;
			} else if (idx > tups.n) {
				goto fail;
			}
			ti = (uint32_t)idx;
			const struct tup_key *k =
			    (const struct tup_key *)(tups.keys + (size_t)ti * tups.keylen);
			tup_apply(x, k);
			hp[i] = k->has_proc;
			break;
		}
		case CM_SAME:
			copy_where(x, &ev[ref], false);
			ti = evt[ref];
			hp[i] = hp[ref];
			break;
		case CM_PRED: {
			if (evt[ref] == TUP_NONE || pred[(size_t)evt[ref] * 4 + op] == TUP_NONE)
				goto fail;
			ti = pred[(size_t)evt[ref] * 4 + op];
			const struct tup_key *k =
			    (const struct tup_key *)(tups.keys + (size_t)ti * tups.keylen);
			tup_apply(x, k);
			hp[i] = k->has_proc;
			break;
		}
		case CM_REV: {
			copy_where(x, &ev[ref], true);
			hp[i] = hp[ref];
			struct tup_key k;
			bool nw;
			tup_of(x, &k);
			k.has_proc = hp[i];
			int64_t r = dict_get(&tups, &k, &nw);
			if (r < 0) {
				err = (int)r;
				goto fail;
			}
			ti = (uint32_t)r;
			break;
		}
		}
		x->flags = hp[i] ? DNSREEL_EV_PROC : 0;
		if ((size_t)tups.n * 4 > predcap) {
			size_t nc = (size_t)tups.cap * 4;
			uint32_t *np = realloc(pred, nc * sizeof(uint32_t));
			if (!np) {
				err = -ENOMEM;
				goto fail;
			}
			for (size_t j = predcap; j < nc; j++)
				np[j] = TUP_NONE;
			pred = np;
			predcap = nc;
		}
		evt[i] = ti;
		if (op != P_LIT && evt[ref] != TUP_NONE && ti != TUP_NONE)
			pred[(size_t)evt[ref] * 4 + op] = ti;
		x->tcp_flags = 0;
		x->tcp_seq = 0;
		if (pop & 0x40) {
			x->flags = (uint32_t)dr_getv(&st[S_EXTRA]);
			x->tcp_flags = dr_get8(&st[S_EXTRA]);
			x->tcp_seq = dr_get32(&st[S_EXTRA]);
		} else if (x->proto == 6) {
			x->tcp_flags = dr_get8(&st[S_TCP]);
			x->tcp_seq = dr_get32(&st[S_TCP]);
		}
		if (pm == PM_LIT) {
			const uint8_t *sp = dr_getn(&st[S_PORT], 2);
			const uint8_t *dp = dr_getn(&st[S_DPORT], 2);
			if (!sp || !dp)
				goto fail;
			x->src_port = dr_rd16(sp);
			x->dst_port = dr_rd16(dp);
		} else if (pm == PM_SAME) {
			x->src_port = ev[ref].src_port;
			x->dst_port = ev[ref].dst_port;
		} else {
			x->src_port = ev[ref].dst_port;
			x->dst_port = ev[ref].src_port;
		}
		uint64_t orig = 0;
		if (pop & 0x80) {
			orig = dr_getv(&st[S_LEN]);
			if (orig > UINT32_MAX)
				goto fail;
		}
		if (op == P_LIT) {
			uint64_t l = dr_getv(&st[S_LEN]);
			const uint8_t *b = dr_getn(&st[S_LIT], (size_t)l);
			if (!b || l > UINT32_MAX)
				goto fail;
			off[i] = arena.len;
			dr_put(&arena, b, (size_t)l);
			x->cap_len = (uint32_t)l;
		} else if (op == P_DUP) {
			off[i] = off[ref];
			x->cap_len = ev[ref].cap_len;
		} else {
			const uint8_t *rp = arena.p + off[ref];
			size_t rl = ev[ref].cap_len;
			size_t ne = ev[ref].proto == 17 ? name_end(rp, rl) : 0;
			if (!ne || x->proto != 17)
				goto fail;
			uint8_t h[12];
			if (op == P_DER) {
				const uint8_t *id = dr_getn(&st[S_ID], 2);
				if (!id)
					goto fail;
				memcpy(h, id, 2);
			} else {
				memcpy(h, rp, 2);
			}
			uint8_t hb = dr_get8(&st[S_HB]);
			if (hb >> 3)
				goto fail;
			if (hb & 1) {
				memcpy(h + 2, rp + 2, 2);
			} else {
				const uint8_t *fl = dr_getn(&st[S_FLAGS], 2);
				if (!fl)
					goto fail;
				memcpy(h + 2, fl, 2);
			}
			if (hb & 2) {
				memcpy(h + 4, rp + 4, 8);
			} else {
				for (int j = 0; j < 4; j++) {
					uint64_t cv = dr_getv(&st[S_CNT]);
					if (cv > 0xffff)
						goto fail;
					h[4 + 2 * j] = (uint8_t)(cv >> 8);
					h[5 + 2 * j] = (uint8_t)cv;
				}
			}
			uint64_t tl = dr_getv(&st[S_LEN]);
			const uint8_t *qt = NULL;
			if (tl) {
				if (hb & 4) {
					if (rl < ne + 4)
						goto fail;
					qt = rp + ne;
				} else {
					qt = dr_getn(&st[S_QT], 4);
				}
				tl -= 1;
			} else {
				if (hb & 4)
					goto fail;
				tl = dr_getv(&st[S_LEN]);
				if (tl >= 4)
					goto fail;
			}
			const uint8_t *t = dr_getn(&st[S_LIT], (size_t)tl);
			if (!qt && tl >= 4)
				goto fail;
			if (!t)
				goto fail;
			uint8_t qtb[4];
			if (qt) {
				memcpy(qtb, qt, 4); /* rp may move with the arena */
				qt = qtb;
			}
			size_t total_len = ne + (qt ? 4 : 0) + (size_t)tl;
			if (dr_buf_reserve(&arena, total_len)) {
				err = -ENOMEM;
				goto fail;
			}
			rp = arena.p + off[ref]; /* the arena may have moved */
			off[i] = arena.len;
			uint8_t *w = arena.p + arena.len;
			memcpy(w, h, 12);
			memcpy(w + 12, rp + 12, ne - 12);
			size_t o = ne;
			if (qt) {
				memcpy(w + o, qt, 4);
				o += 4;
			}
			memcpy(w + o, t, (size_t)tl);
			arena.len += total_len;
			/* a derived payload must itself start with the same question name */
			if (name_end(w, total_len) != ne)
				goto fail;
			x->cap_len = (uint32_t)total_len;
		}
		x->orig_len = (pop & 0x80) ? (uint32_t)orig : x->cap_len;
		if (!(pop & 0x40) && x->cap_len < x->orig_len)
			x->flags |= DNSREEL_EV_TRUNCATED;
	}
	for (int i = 0; i < S_COUNT; i++)
		if (st[i].bad || st[i].p != st[i].end)
			goto fail;
	if (arena.err) {
		err = arena.err;
		goto fail;
	}
	for (uint32_t i = 0; i < n; i++)
		ev[i].payload = arena.p ? arena.p + off[i] : (const uint8_t *)"";
	dict_free(&tups);
	free(pred);
	free(evt);
	free(hp);
	free(off);
	*evs = ev;
	*arena_out = arena.p;
	return 0;
fail:
	dict_free(&tups);
	free(pred);
	free(evt);
	free(hp);
	free(off);
	free(ev);
	dr_buf_free(&arena);
	return err;
}

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
 * cheaper than hashing them one by one again. Direct mapped: a collision only costs a miss. */
#define NCACHE 1024
struct name_cache {
	const uint8_t *wire; /* NULL = empty */
	size_t len;
	uint64_t hash;
};

static bool cached_name_hash(const uint8_t *m, size_t len, struct name_cache *nc, uint64_t *out)
{
	size_t o = 12;
	while (o < len && m[o] && m[o] <= 63)
		o += 1 + (size_t)m[o];
	if (o >= len || m[o])
		return wire_name_hash(m, len, out); /* fails the same way */
	size_t wl = o + 1 - 12;
	struct name_cache *c = &nc[dnsreel_hash_bytes(m + 12, wl, 2) & (NCACHE - 1)];
	if (c->wire && c->len == wl && memcmp(c->wire, m + 12, wl) == 0) {
		*out = c->hash;
		return true;
	}
	if (!wire_name_hash(m, len, out))
		return false;
	c->wire = m + 12;
	c->len = wl;
	c->hash = *out;
	return true;
}

/* One DNS message's contribution: header bits and the question name hash. Returns false when
 * the message cannot vouch for its name (then the frame gets no bloom). */
static bool summarize_msg(const uint8_t *m, size_t len, struct dr_summary *s, uint64_t *hashes,
			  size_t *nh, size_t maxh, struct name_cache *nc)
{
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
	if (!cached_name_hash(m, len, nc, &h)) {
		char name[DNSREEL_DNS_NAME_MAX];
		size_t next;
		if (dnsreel_dns_name(m, len, 12, name, sizeof(name), &next) < 0)
			return false;
		h = dnsreel_name_hash(name, strlen(name));
	}
	if (*nh < maxh)
		hashes[(*nh)++] = h;
	return true;
}

int dr_summarize(const struct dnsreel_event *ev, size_t n, struct dr_summary *s)
{
	memset(s, 0, sizeof(*s));
	if (!n)
		return 0;
	uint64_t *nsl = malloc(n * sizeof(uint64_t));
	uint64_t *hs = malloc(2 * n * sizeof(uint64_t));
	/* hash set for dedupe_u64(): a power of two at least twice the most values it takes */
	size_t tabsz = 16;
	while (tabsz < 4 * n)
		tabsz <<= 1;
	uint64_t *tab = malloc(tabsz * sizeof(uint64_t));
	struct name_cache *nc = calloc(NCACHE, sizeof(*nc));
	if (!nsl || !hs || !tab || !nc) {
		free(nsl);
		free(hs);
		free(tab);
		free(nc);
		return -ENOMEM;
	}
	struct u64set set = {tab, tabsz};
	size_t nsn = 0;
	bool bloom_ok = true;
	size_t nh = 0;
	s->first_ts = ev[0].ts_ns;
	s->last_ts = ev[0].ts_ns;
	s->events = (uint32_t)n;
	for (size_t i = 0; i < n; i++) {
		const struct dnsreel_event *x = &ev[i];
		if (x->ts_ns < s->first_ts)
			s->first_ts = x->ts_ns;
		if (x->ts_ns > s->last_ts)
			s->last_ts = x->ts_ns;
		if (!nsn || nsl[nsn - 1] != x->netns) /* runs of one netns are common */
			nsl[nsn++] = x->netns;
		s->proto_mask |= x->proto == 6 ? 2 : (x->proto == 17 ? 1 : 0);
		if (x->proto == 17) {
			if (!summarize_msg(x->payload, x->cap_len, s, hs, &nh, 2 * n, nc)) {
				bloom_ok = false;
				s->qr_mask |= 3;
				s->rcode_mask = 0xffffffffu;
			}
		} else if (x->proto == 6) {
			/* whole messages with their 2-byte length only; a segment starting
			 * mid-message cannot be vouched for */
			size_t o = 0;
			bool whole = x->cap_len > 0;
			while (whole && o < x->cap_len) {
				if (x->cap_len - o < 2) {
					whole = false;
					break;
				}
				size_t ml = dr_rd16(x->payload + o);
				if (ml < 12 || ml > x->cap_len - o - 2) {
					whole = false;
					break;
				}
				o += 2 + ml;
			}
			o = 0;
			while (whole && o < x->cap_len) {
				size_t ml = dr_rd16(x->payload + o);
				if (!summarize_msg(x->payload + o + 2, ml, s, hs, &nh, 2 * n, nc))
					whole = false;
				o += 2 + ml;
			}
			if (!whole) {
				bloom_ok = false;
				s->qr_mask |= 3;
				s->rcode_mask = 0xffffffffu;
			}
		} else {
			bloom_ok = false;
			s->qr_mask |= 3;
			s->rcode_mask = 0xffffffffu;
		}
	}
	/* a frame sees a handful of netns and far fewer names than events: drop repeats in
	 * linear time, then sort only what is left */
	size_t k = nsn;
	if (k > 1) {
		k = dedupe_u64(nsl, k, &set);
		if (k <= 32)
			sort_small_u64(nsl, k);
		else
			qsort(nsl, k, sizeof(uint64_t), cmp_u64);
	}
	s->netns = nsl;
	s->netns_count = (uint32_t)k;
	if (bloom_ok && nh) {
		/* the bloom's bits do not depend on the order names are added in */
		size_t d = dedupe_u64(hs, nh, &set);
		/* ~10 bits per distinct name: about 1% false positives with 7 probes */
		uint32_t bits = (uint32_t)((d * 10 + 63) / 64 * 64);
		s->bloom = calloc(bits / 8, 1);
		if (!s->bloom) {
			free(hs);
			free(tab);
			free(nc);
			dr_summary_free(s);
			return -ENOMEM;
		}
		s->bloom_bits = bits;
		for (size_t i = 0; i < d; i++)
			bloom_add(s->bloom, bits, hs[i]);
	}
	free(hs);
	free(tab);
	free(nc);
	return 0;
}
