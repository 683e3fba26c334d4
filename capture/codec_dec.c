/* Block decoder: column streams back to events; every length and index is checked, since a
 * block comes from an untrusted file. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <zstd.h>

#include "codec_int.h"

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
	/* every event takes exactly one byte of the op and low-timestamp columns: checked before
	 * anything is allocated for n events */
	if (slen[S_POP] != n || slen[S_TSLO] != n)
		return DNSREEL_E_CORRUPT;
	const uint8_t *q = hdr.p;
	for (int i = 0; i < S_COUNT; i++) {
		st[i].p = q;
		st[i].end = q + slen[i];
		st[i].bad = false;
		q += slen[i];
	}

	struct dr_dict tups = {.keylen = sizeof(struct tup_key)};
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
		int64_t base = op == P_DUP ? ev[ref].ts_ns : ts;
		if (base > 0 && (int64_t)dt > INT64_MAX - base)
			goto fail; /* a crafted first_ts near INT64_MAX */
		int64_t t = base + (int64_t)dt;
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
				int64_t r = dr_dict_get(&tups, &k, &nw);
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
			int64_t r = dr_dict_get(&tups, &k, &nw);
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
			size_t ne = ev[ref].proto == 17 ? dr_name_end(rp, rl) : 0;
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
			if (dr_name_end(w, total_len) != ne)
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
	dr_dict_free(&tups);
	free(pred);
	free(evt);
	free(hp);
	free(off);
	*evs = ev;
	*arena_out = arena.p;
	return 0;
fail:
	dr_dict_free(&tups);
	free(pred);
	free(evt);
	free(hp);
	free(off);
	free(ev);
	dr_buf_free(&arena);
	return err;
}
