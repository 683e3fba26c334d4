/* Block codec: a block of events encoded column by column (format/FORMAT.md "Block body").
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

#include "dns.h"
#include "fmt_int.h"

enum {
	S_DICT_NS,
	S_DICT_ADDR,
	S_DICT_PROC,
	S_TS,
	S_KIND,
	S_EXTRA,
	S_NS,
	S_IFX,
	S_ADDR,
	S_PORT,
	S_TCP,
	S_PROC,
	S_POP,
	S_REF,
	S_LEN,
	S_HDR,
	S_LIT,
	S_COUNT
};

/* KIND byte */
#define K_PKT	0x07
#define K_V6	0x08
#define K_TCP	0x10
#define K_PROC	0x20
#define K_EXTRA 0x40
#define K_ORIG	0x80

/* POP byte: payload op in bits 0..2, port mode in bits 3..4 */
enum { P_LIT = 0, P_DUP = 1, P_DER_ID = 2, P_DER = 3 };
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

static inline uint64_t mix64(uint64_t h)
{
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdull;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ull;
	h ^= h >> 33;
	return h;
}

static uint64_t hash_bytes(const uint8_t *p, size_t n, uint64_t seed)
{
	uint64_t h = seed ^ (n * 0x9e3779b97f4a7c15ull);
	while (n >= 8) {
		h = (h ^ dr_rd64(p)) * 0x100000001b3ull;
		h = (h << 29) | (h >> 35);
		p += 8;
		n -= 8;
	}
	uint64_t t = 0;
	for (size_t i = 0; i < n; i++)
		t |= (uint64_t)p[i] << (8 * i);
	h = (h ^ t) * 0x100000001b3ull;
	return mix64(h);
}

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
	return mix64(h);
}

/* ---- question extent --------------------------------------------------------------------- */

/* End offset of the first question (name written without compression, then type and class),
 * or 0 when the message does not start with such a question. Encoder and decoder use the same
 * rule, so a derived payload always reproduces exactly. */
static size_t question_end(const uint8_t *p, size_t len)
{
	if (len < 12 + 1 + 4 || p[4] != 0 || p[5] == 0)
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
	o += 1 + 4;
	return o <= len ? o : 0;
}

/* ---- dictionaries ------------------------------------------------------------------------ */

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
		uint32_t h = (uint32_t)hash_bytes(d->keys + (size_t)i * d->keylen, d->keylen, 7);
		while (d->tab[h & d->tabmask])
			h++;
		d->tab[h & d->tabmask] = i + 1;
	}
	return 0;
}

/* Index of key, inserting it when new (*is_new set). Negative on allocation failure. */
static int64_t dict_get(struct dict *d, const void *key, bool *is_new)
{
	*is_new = false;
	if (!d->tab && dict_grow(d))
		return -ENOMEM;
	uint32_t h = (uint32_t)hash_bytes(key, d->keylen, 7);
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
		return dict_get(d, key, is_new);
	}
	memcpy(d->keys + (size_t)d->n * d->keylen, key, d->keylen);
	d->tab[h & d->tabmask] = d->n + 1;
	*is_new = true;
	return d->n++;
}

/* ---- encoder ----------------------------------------------------------------------------- */

struct proc_key {
	uint32_t pid, tid, uid, gid;
	uint64_t cgroup_id;
	char comm[DNSREEL_COMM_LEN];
};

struct dr_enc {
	struct dr_buf st[S_COUNT];
	struct dict ns, addr, proc;
	uint32_t *order;
	size_t *qend;
	uint32_t *ht_full, *ht_qid, *ht_q;
	size_t cap, htcap;
};

int dr_enc_new(struct dr_enc **out)
{
	struct dr_enc *e = calloc(1, sizeof(*e));
	if (!e)
		return -ENOMEM;
	e->ns.keylen = 8;
	e->addr.keylen = 16;
	e->proc.keylen = sizeof(struct proc_key);
	*out = e;
	return 0;
}

void dr_enc_free(struct dr_enc *e)
{
	if (!e)
		return;
	for (int i = 0; i < S_COUNT; i++)
		dr_buf_free(&e->st[i]);
	dict_free(&e->ns);
	dict_free(&e->addr);
	dict_free(&e->proc);
	free(e->order);
	free(e->qend);
	free(e->ht_full);
	free(e->ht_qid);
	free(e->ht_q);
	free(e);
}

static const struct dnsreel_event *sort_base;
static int cmp_ts(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	int64_t tx = sort_base[x].ts_ns, ty = sort_base[y].ts_ns;
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

static int put_addr(struct dr_enc *e, const uint8_t a[16])
{
	bool nw;
	int64_t idx = dict_get(&e->addr, a, &nw);
	if (idx < 0)
		return (int)idx;
	if (nw) {
		bool s = addr_is_short(a);
		dr_put8(&e->st[S_DICT_ADDR], s ? 4 : 16);
		dr_put(&e->st[S_DICT_ADDR], a, s ? 4 : 16);
	}
	dr_putv(&e->st[S_ADDR], (uint64_t)idx);
	return 0;
}

int dr_enc_block(struct dr_enc *e, const struct dnsreel_event *ev, size_t n, struct dr_buf *out)
{
	if (n == 0 || n > DR_MAX_BLOCK_EVENTS)
		return DNSREEL_E_ARG;
	if (n > e->cap) {
		uint32_t *o = realloc(e->order, n * sizeof(*o));
		if (o)
			e->order = o;
		size_t *q = realloc(e->qend, n * sizeof(*q));
		if (q)
			e->qend = q;
		if (!o || !q)
			return -ENOMEM;
		e->cap = n;
	}
	size_t hsz = 1;
	while (hsz < 2 * n)
		hsz <<= 1;
	if (hsz > e->htcap) {
		free(e->ht_full);
		free(e->ht_qid);
		free(e->ht_q);
		e->ht_full = malloc(hsz * sizeof(uint32_t));
		e->ht_qid = malloc(hsz * sizeof(uint32_t));
		e->ht_q = malloc(hsz * sizeof(uint32_t));
		if (!e->ht_full || !e->ht_qid || !e->ht_q) {
			e->htcap = 0;
			return -ENOMEM;
		}
		e->htcap = hsz;
	}
	memset(e->ht_full, 0, hsz * sizeof(uint32_t));
	memset(e->ht_qid, 0, hsz * sizeof(uint32_t));
	memset(e->ht_q, 0, hsz * sizeof(uint32_t));
	size_t hmask = hsz - 1;
	for (int i = 0; i < S_COUNT; i++) {
		e->st[i].len = 0;
		e->st[i].err = 0;
	}
	dict_reset(&e->ns);
	dict_reset(&e->addr);
	dict_reset(&e->proc);

	bool sorted = true;
	for (size_t i = 0; i < n; i++) {
		e->order[i] = (uint32_t)i;
		if (i && ev[i].ts_ns < ev[i - 1].ts_ns)
			sorted = false;
	}
	if (!sorted) {
		sort_base = ev; /* the writer is single-threaded per capture */
		qsort(e->order, n, sizeof(uint32_t), cmp_ts);
	}

	int64_t prev_ts = ev[e->order[0]].ts_ns;
	for (size_t i = 0; i < n; i++) {
		const struct dnsreel_event *x = &ev[e->order[i]];
		if (x->cap_len && !x->payload)
			return DNSREEL_E_ARG;
		dr_putv(&e->st[S_TS], (uint64_t)(x->ts_ns - prev_ts));
		prev_ts = x->ts_ns;

		struct proc_key pk;
		memset(&pk, 0, sizeof(pk));
		pk.pid = x->pid;
		pk.tid = x->tid;
		pk.uid = x->uid;
		pk.gid = x->gid;
		pk.cgroup_id = x->cgroup_id;
		memcpy(pk.comm, x->comm, DNSREEL_COMM_LEN);
		static const struct proc_key zero_pk;
		bool has_proc = (x->flags & DNSREEL_EV_PROC) || memcmp(&pk, &zero_pk, sizeof(pk));

		uint8_t kind = 0;
		bool extra = x->pkt_type > 7 || (x->ip_version != 4 && x->ip_version != 6) ||
			     (x->proto != 6 && x->proto != 17);
		uint32_t expect_flags = (has_proc ? DNSREEL_EV_PROC : 0) |
					(x->cap_len < x->orig_len ? DNSREEL_EV_TRUNCATED : 0);
		if (x->flags != expect_flags)
			extra = true;
		if (x->proto != 6 && (x->tcp_flags || x->tcp_seq))
			extra = true;
		kind = (uint8_t)(x->pkt_type & K_PKT);
		if (x->ip_version == 6)
			kind |= K_V6;
		if (x->proto == 6)
			kind |= K_TCP;
		if (has_proc)
			kind |= K_PROC;
		if (extra)
			kind |= K_EXTRA;
		if (x->orig_len != x->cap_len)
			kind |= K_ORIG;
		dr_put8(&e->st[S_KIND], kind);
		if (extra) {
			dr_putv(&e->st[S_EXTRA], x->flags);
			dr_put8(&e->st[S_EXTRA], x->pkt_type);
			dr_put8(&e->st[S_EXTRA], x->ip_version);
			dr_put8(&e->st[S_EXTRA], x->proto);
		}
		if ((kind & K_TCP) || extra) {
			dr_put8(&e->st[S_TCP], x->tcp_flags);
			dr_put32(&e->st[S_TCP], x->tcp_seq);
		}

		bool nw;
		int64_t idx = dict_get(&e->ns, &x->netns, &nw);
		if (idx < 0)
			return (int)idx;
		if (nw)
			dr_putv(&e->st[S_DICT_NS], x->netns);
		dr_putv(&e->st[S_NS], (uint64_t)idx);
		dr_putv(&e->st[S_IFX], x->ifindex);
		int err = put_addr(e, x->src_addr);
		if (!err)
			err = put_addr(e, x->dst_addr);
		if (err)
			return err;
		if (has_proc) {
			idx = dict_get(&e->proc, &pk, &nw);
			if (idx < 0)
				return (int)idx;
			if (nw) {
				struct dr_buf *d = &e->st[S_DICT_PROC];
				dr_putv(d, pk.pid);
				dr_putv(d, pk.tid);
				dr_putv(d, pk.uid);
				dr_putv(d, pk.gid);
				dr_putv(d, pk.cgroup_id);
				dr_put(d, pk.comm, DNSREEL_COMM_LEN);
			}
			dr_putv(&e->st[S_PROC], (uint64_t)idx);
		}

		/* payload against earlier events of the block */
		const uint8_t *p = x->payload;
		size_t len = x->cap_len;
		uint64_t hf = hash_bytes(p, len, 1);
		size_t qe = (x->proto == 17) ? question_end(p, len) : 0;
		e->qend[i] = qe;
		uint64_t hq = 0, hqi = 0;
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
		if (qe) {
			hq = hash_bytes(p + 12, qe - 12, 2);
			hqi = mix64(hq ^ ((uint64_t)dr_rd16(p) + 1) * 0x9e3779b97f4a7c15ull);
			if (op == P_LIT) {
				c = e->ht_qid[hqi & hmask];
				if (c && e->qend[c - 1] == qe) {
					const struct dnsreel_event *y = &ev[e->order[c - 1]];
					if (memcmp(y->payload + 12, p + 12, qe - 12) == 0 &&
					    memcmp(y->payload, p, 2) == 0) {
						op = P_DER_ID;
						ref = c - 1;
					}
				}
			}
			if (op == P_LIT) {
				c = e->ht_q[hq & hmask];
				if (c && e->qend[c - 1] == qe) {
					const struct dnsreel_event *y = &ev[e->order[c - 1]];
					if (memcmp(y->payload + 12, p + 12, qe - 12) == 0) {
						op = P_DER;
						ref = c - 1;
					}
				}
			}
		}
		uint8_t pm = PM_LIT;
		if (op != P_LIT) {
			const struct dnsreel_event *y = &ev[e->order[ref]];
			if (y->src_port == x->src_port && y->dst_port == x->dst_port)
				pm = PM_SAME;
			else if (y->src_port == x->dst_port && y->dst_port == x->src_port)
				pm = PM_SWAP;
			dr_putv(&e->st[S_REF], i - ref);
		}
		dr_put8(&e->st[S_POP], (uint8_t)(op | (pm << 3)));
		if (pm == PM_LIT) {
			uint8_t t[4];
			dr_le16(t, x->src_port);
			dr_le16(t + 2, x->dst_port);
			dr_put(&e->st[S_PORT], t, 4);
		}
		if (kind & K_ORIG)
			dr_putv(&e->st[S_LEN], x->orig_len);
		switch (op) {
		case P_LIT:
			dr_putv(&e->st[S_LEN], len);
			dr_put(&e->st[S_LIT], p, len);
			break;
		case P_DUP:
			break;
		case P_DER_ID:
			dr_put(&e->st[S_HDR], p + 2, 10);
			dr_putv(&e->st[S_LEN], len - qe);
			dr_put(&e->st[S_LIT], p + qe, len - qe);
			break;
		case P_DER:
			dr_put(&e->st[S_HDR], p, 12);
			dr_putv(&e->st[S_LEN], len - qe);
			dr_put(&e->st[S_LIT], p + qe, len - qe);
			break;
		}
		e->ht_full[hf & hmask] = (uint32_t)i + 1;
		if (qe) {
			e->ht_qid[hqi & hmask] = (uint32_t)i + 1;
			e->ht_q[hq & hmask] = (uint32_t)i + 1;
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

/* ---- decoder ----------------------------------------------------------------------------- */

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

	/* dictionaries: entries are at most one per event */
	uint64_t *ns = malloc(sizeof(uint64_t) * n);
	uint8_t(*addr)[16] = malloc(16 * (size_t)n * 2);
	struct proc_key *procs = NULL;
	size_t nns = 0, naddr = 0, nproc = 0;
	struct dnsreel_event *ev = calloc(n, sizeof(*ev));
	size_t *off = malloc(sizeof(size_t) * n);
	struct dr_buf arena = {0};
	int err = DNSREEL_E_CORRUPT;
	if (!ns || !addr || !ev || !off) {
		err = -ENOMEM;
		goto fail;
	}
	while (st[S_DICT_NS].p < st[S_DICT_NS].end && nns < n)
		ns[nns++] = dr_getv(&st[S_DICT_NS]);
	while (st[S_DICT_ADDR].p < st[S_DICT_ADDR].end && naddr < 2 * (size_t)n) {
		uint8_t l = dr_get8(&st[S_DICT_ADDR]);
		if (l != 4 && l != 16)
			goto fail;
		const uint8_t *a = dr_getn(&st[S_DICT_ADDR], l);
		if (!a)
			goto fail;
		memset(addr[naddr], 0, 16);
		memcpy(addr[naddr], a, l);
		naddr++;
	}
	if (slen[S_DICT_PROC]) {
		procs = malloc(sizeof(*procs) * n);
		if (!procs) {
			err = -ENOMEM;
			goto fail;
		}
		while (st[S_DICT_PROC].p < st[S_DICT_PROC].end && nproc < n) {
			struct dr_rd *d = &st[S_DICT_PROC];
			struct proc_key *k = &procs[nproc++];
			k->pid = (uint32_t)dr_getv(d);
			k->tid = (uint32_t)dr_getv(d);
			k->uid = (uint32_t)dr_getv(d);
			k->gid = (uint32_t)dr_getv(d);
			k->cgroup_id = dr_getv(d);
			const uint8_t *c = dr_getn(d, DNSREEL_COMM_LEN);
			if (!c)
				goto fail;
			memcpy(k->comm, c, DNSREEL_COMM_LEN);
			k->comm[DNSREEL_COMM_LEN - 1] = 0;
		}
	}
	if (st[S_DICT_NS].bad || st[S_DICT_NS].p != st[S_DICT_NS].end ||
	    st[S_DICT_ADDR].p != st[S_DICT_ADDR].end || st[S_DICT_PROC].bad ||
	    st[S_DICT_PROC].p != st[S_DICT_PROC].end)
		goto fail;
	/* literal bytes bound what derived payloads add; reserve once so the arena rarely moves */
	if (dr_buf_reserve(&arena, slen[S_LIT] + (size_t)slen[S_HDR] * 24 + 64)) {
		err = -ENOMEM;
		goto fail;
	}

	int64_t ts = first_ts;
	for (uint32_t i = 0; i < n; i++) {
		struct dnsreel_event *x = &ev[i];
		uint64_t d = dr_getv(&st[S_TS]);
		if (d > (uint64_t)INT64_MAX)
			goto fail;
		ts = (int64_t)((uint64_t)ts + d);
		x->ts_ns = ts;
		uint8_t kind = dr_get8(&st[S_KIND]);
		x->pkt_type = kind & K_PKT;
		x->ip_version = (kind & K_V6) ? 6 : 4;
		x->proto = (kind & K_TCP) ? 6 : 17;
		if (kind & K_EXTRA) {
			x->flags = (uint32_t)dr_getv(&st[S_EXTRA]);
			x->pkt_type = dr_get8(&st[S_EXTRA]);
			x->ip_version = dr_get8(&st[S_EXTRA]);
			x->proto = dr_get8(&st[S_EXTRA]);
		}
		if ((kind & K_TCP) || (kind & K_EXTRA)) {
			x->tcp_flags = dr_get8(&st[S_TCP]);
			x->tcp_seq = dr_get32(&st[S_TCP]);
		}
		uint64_t ni = dr_getv(&st[S_NS]);
		if (ni >= nns)
			goto fail;
		x->netns = ns[ni];
		x->ifindex = (uint32_t)dr_getv(&st[S_IFX]);
		uint64_t sa = dr_getv(&st[S_ADDR]), da = dr_getv(&st[S_ADDR]);
		if (sa >= naddr || da >= naddr)
			goto fail;
		memcpy(x->src_addr, addr[sa], 16);
		memcpy(x->dst_addr, addr[da], 16);
		if (kind & K_PROC) {
			uint64_t pi = dr_getv(&st[S_PROC]);
			if (pi >= nproc)
				goto fail;
			const struct proc_key *k = &procs[pi];
			x->pid = k->pid;
			x->tid = k->tid;
			x->uid = k->uid;
			x->gid = k->gid;
			x->cgroup_id = k->cgroup_id;
			memcpy(x->comm, k->comm, DNSREEL_COMM_LEN);
		}
		uint8_t pop = dr_get8(&st[S_POP]);
		uint8_t op = pop & 7, pm = (pop >> 3) & 3;
		if (op > P_DER || pm > PM_SWAP || (op == P_LIT && pm != PM_LIT) || (pop >> 5))
			goto fail;
		size_t ref = 0;
		if (op != P_LIT) {
			uint64_t dist = dr_getv(&st[S_REF]);
			if (dist == 0 || dist > i)
				goto fail;
			ref = i - dist;
		}
		if (pm == PM_LIT) {
			const uint8_t *pp = dr_getn(&st[S_PORT], 4);
			if (!pp)
				goto fail;
			x->src_port = dr_rd16(pp);
			x->dst_port = dr_rd16(pp + 2);
		} else if (pm == PM_SAME) {
			x->src_port = ev[ref].src_port;
			x->dst_port = ev[ref].dst_port;
		} else {
			x->src_port = ev[ref].dst_port;
			x->dst_port = ev[ref].src_port;
		}
		uint64_t orig = 0;
		if (kind & K_ORIG)
			orig = dr_getv(&st[S_LEN]);
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
			size_t qe = ev[ref].proto == 17 ? question_end(rp, rl) : 0;
			if (!qe || x->proto != 17)
				goto fail;
			const uint8_t *h = dr_getn(&st[S_HDR], op == P_DER_ID ? 10 : 12);
			uint64_t tl = dr_getv(&st[S_LEN]);
			const uint8_t *t = dr_getn(&st[S_LIT], (size_t)tl);
			if (!h || !t)
				goto fail;
			if (dr_buf_reserve(&arena, qe + tl)) {
				err = -ENOMEM;
				goto fail;
			}
			rp = arena.p + off[ref]; /* the arena may have moved */
			off[i] = arena.len;
			uint8_t *w = arena.p + arena.len;
			if (op == P_DER_ID) {
				memcpy(w, rp, 2);
				memcpy(w + 2, h, 10);
			} else {
				memcpy(w, h, 12);
			}
			memcpy(w + 12, rp + 12, qe - 12);
			memcpy(w + qe, t, (size_t)tl);
			arena.len += qe + tl;
			/* a derived payload must itself start with the same question */
			if (question_end(w, qe + tl) != qe)
				goto fail;
			x->cap_len = (uint32_t)(qe + tl);
		}
		x->orig_len = (kind & K_ORIG) ? (uint32_t)orig : x->cap_len;
		if ((kind & K_ORIG) && orig > UINT32_MAX)
			goto fail;
		if (!(kind & K_EXTRA))
			x->flags = ((kind & K_PROC) ? DNSREEL_EV_PROC : 0) |
				   (x->cap_len < x->orig_len ? DNSREEL_EV_TRUNCATED : 0);
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
	free(ns);
	free(addr);
	free(procs);
	free(off);
	*evs = ev;
	*arena_out = arena.p;
	return 0;
fail:
	free(ns);
	free(addr);
	free(procs);
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

/* One DNS message's contribution: header bits and the question name hash. Returns false when
 * the message cannot vouch for its name (then the frame gets no bloom). */
static bool summarize_msg(const uint8_t *m, size_t len, struct dr_summary *s, uint64_t *hashes,
			  size_t *nh, size_t maxh)
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
	char name[DNSREEL_DNS_NAME_MAX];
	size_t next;
	if (dnsreel_dns_name(m, len, 12, name, sizeof(name), &next) < 0)
		return false;
	if (*nh < maxh)
		hashes[(*nh)++] = dnsreel_name_hash(name, strlen(name));
	return true;
}

int dr_summarize(const struct dnsreel_event *ev, size_t n, struct dr_summary *s)
{
	memset(s, 0, sizeof(*s));
	if (!n)
		return 0;
	uint64_t *nsl = malloc(n * sizeof(uint64_t));
	uint64_t *hs = malloc(2 * n * sizeof(uint64_t));
	if (!nsl || !hs) {
		free(nsl);
		free(hs);
		return -ENOMEM;
	}
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
		nsl[i] = x->netns;
		s->proto_mask |= x->proto == 6 ? 2 : (x->proto == 17 ? 1 : 0);
		if (x->proto == 17) {
			if (!summarize_msg(x->payload, x->cap_len, s, hs, &nh, 2 * n)) {
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
				if (!summarize_msg(x->payload + o + 2, ml, s, hs, &nh, 2 * n))
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
	qsort(nsl, n, sizeof(uint64_t), cmp_u64);
	size_t k = 0;
	for (size_t i = 0; i < n; i++)
		if (!k || nsl[k - 1] != nsl[i])
			nsl[k++] = nsl[i];
	s->netns = nsl;
	s->netns_count = (uint32_t)k;
	if (bloom_ok && nh) {
		qsort(hs, nh, sizeof(uint64_t), cmp_u64);
		size_t d = 0;
		for (size_t i = 0; i < nh; i++)
			if (!d || hs[d - 1] != hs[i])
				hs[d++] = hs[i];
		/* ~10 bits per distinct name: about 1% false positives with 7 probes */
		uint32_t bits = (uint32_t)((d * 10 + 63) / 64 * 64);
		s->bloom = calloc(bits / 8, 1);
		if (!s->bloom) {
			free(hs);
			dr_summary_free(s);
			return -ENOMEM;
		}
		s->bloom_bits = bits;
		for (size_t i = 0; i < d; i++)
			bloom_add(s->bloom, bits, hs[i]);
	}
	free(hs);
	return 0;
}
