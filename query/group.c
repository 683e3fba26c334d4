/* GROUP BY / DISTINCT inside the table: an open-addressing hash of the distinct tuples, each
 * serialized into one byte arena (a type tag, then 8 bytes of integer or a length and the
 * text), sorted at the end in SQLite's order for the ORDER BY columns.
 *
 * Used by the dns table when xBestIndex found every used column low-cardinality:
 *   SELECT name, count(*) FROM dns GROUP BY name ORDER BY 2 DESC LIMIT 20
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "dnsreel.h"
#include "group_int.h"

struct gent {
	size_t off;
	uint32_t len; /* bytes of the tuple */
	uint64_t count;
	uint64_t hash;
};

static uint64_t hash_bytes(const uint8_t *p, size_t n)
{
	uint64_t h = 0x9e3779b97f4a7c15ull ^ n;

	/* Word at a time: tuples are short and hashed once per row. */
	while (n >= 8) {
		uint64_t w;

		memcpy(&w, p, 8);
		h = (h ^ w) * 0xff51afd7ed558ccdull;
		h ^= h >> 32;
		p += 8;
		n -= 8;
	}
	if (n) {
		uint64_t w = 0;

		memcpy(&w, p, n);
		h = (h ^ w) * 0xc4ceb9fe1a85ec53ull;
	}
	h ^= h >> 29;
	h *= 0xbf58476d1ce4e5b9ull;
	return h ^ (h >> 32);
}

static int put(struct qgroup *g, const void *p, size_t n)
{
	return dnsreel_q_bytes_append(&g->arena, &g->len, &g->cap, 1 << 16, p, n);
}

int dnsreel_q_group_put(struct qgroup *g, const struct cval *v)
{
	uint8_t tag = (uint8_t)v->type;
	int err = put(g, &tag, 1);

	if (err)
		return err;
	if (v->type == SQLITE_INTEGER)
		return put(g, &v->i, sizeof(v->i));
	if (v->type == SQLITE_TEXT) {
		uint32_t len = (uint32_t)v->len;

		err = put(g, &len, sizeof(len));
		return err ? err : put(g, v->s, v->len);
	}
	return 0;
}

static bool same(const struct qgroup *g, const struct gent *e, size_t start)
{
	return e->len == g->len - start && !memcmp(g->arena + e->off, g->arena + start, e->len);
}

static int grow_htab(struct qgroup *g)
{
	size_t nc = g->hcap ? g->hcap * 2 : 1024;
	size_t *nt = malloc(nc * sizeof(*nt));

	if (!nt)
		return -ENOMEM;
	for (size_t i = 0; i < nc; i++)
		nt[i] = SIZE_MAX;
	for (size_t e = 0; e < g->nents; e++) {
		size_t j = g->ents[e].hash & (nc - 1);

		while (nt[j] != SIZE_MAX)
			j = (j + 1) & (nc - 1);
		nt[j] = e;
	}
	free(g->htab);
	g->htab = nt;
	g->hcap = nc;
	return 0;
}

static int count_row(struct qgroup *g, size_t start)
{
	struct gent *ne;
	size_t slot;
	uint64_t h;
	int err;

	/* Neighbouring rows often repeat a tuple (a query, its copies, its response). */
	if (g->last < g->nents && same(g, &g->ents[g->last], start)) {
		g->ents[g->last].count++;
		g->len = start;
		return 0;
	}
	h = hash_bytes(g->arena + start, g->len - start);
	if (g->nents * 2 >= g->hcap && (err = grow_htab(g)))
		return err;
	for (slot = h & (g->hcap - 1); g->htab[slot] != SIZE_MAX;
	     slot = (slot + 1) & (g->hcap - 1)) {
		struct gent *e = &g->ents[g->htab[slot]];

		if (e->hash == h && same(g, e, start)) {
			e->count++;
			g->last = g->htab[slot];
			g->len = start; /* seen: drop the copy */
			return 0;
		}
	}
	if (g->nents >= DNSREEL_Q_GROUP_MAX)
		return DNSREEL_E_LIMIT;
	ne = dnsreel_q_grow(g->ents, &g->ents_cap, g->nents + 1, sizeof(*ne), 1024);
	if (!ne)
		return -ENOMEM;
	g->ents = ne;
	g->ents[g->nents] =
	    (struct gent){.off = start, .len = (uint32_t)(g->len - start), .count = 1, .hash = h};
	g->last = g->nents;
	g->htab[slot] = g->nents++;
	return 0;
}

int dnsreel_q_group_end_row(struct qgroup *g)
{
	int err = count_row(g, g->start);

	g->start = g->len;
	return err;
}

/* SQLite's order over the ORDER BY columns of two tuples: NULL < integer < text, text by
 * bytes (BINARY: SQLite only hands plain-collation columns to aOrderBy). */
static int group_cmp(const void *a, const void *b, void *arg)
{
	const struct qgroup *g = arg;
	const struct gent *x = a, *y = b;
	const uint8_t *p = g->arena + x->off, *q = g->arena + y->off;

	for (int k = 0; k < g->nob; k++) {
		int tp = *p++, tq = *q++, r = 0;
		int rp = tp == SQLITE_NULL ? 0 : tp == SQLITE_INTEGER ? 1 : 2;
		int rq = tq == SQLITE_NULL ? 0 : tq == SQLITE_INTEGER ? 1 : 2;
		uint32_t lp = 0, lq = 0;

		if (tp == SQLITE_TEXT)
			memcpy(&lp, p, 4);
		if (tq == SQLITE_TEXT)
			memcpy(&lq, q, 4);
		if (rp != rq) {
			r = rp < rq ? -1 : 1;
		} else if (tp == SQLITE_INTEGER) {
			int64_t i, j;

			memcpy(&i, p, 8);
			memcpy(&j, q, 8);
			r = i < j ? -1 : i > j;
		} else if (tp == SQLITE_TEXT) {
			r = memcmp(p + 4, q + 4, lp < lq ? lp : lq);
			if (!r)
				r = lp < lq ? -1 : lp > lq;
		}
		if (r)
			return g->desc[k] ? -r : r;
		p += tp == SQLITE_INTEGER ? 8 : tp == SQLITE_TEXT ? 4 + lp : 0;
		q += tq == SQLITE_INTEGER ? 8 : tq == SQLITE_TEXT ? 4 + lq : 0;
	}
	return 0;
}

/* Unpacks the current tuple into g->vals. */
static void load(struct qgroup *g)
{
	const struct gent *e = &g->ents[g->pos];
	const uint8_t *p = g->arena + e->off, *end = p + e->len;

	for (g->ncols = 0; p < end && g->ncols < 64; g->ncols++) {
		struct cval *v = &g->vals[g->ncols];

		v->type = *p++;
		if (v->type == SQLITE_INTEGER) {
			memcpy(&v->i, p, sizeof(v->i));
			p += sizeof(v->i);
		} else if (v->type == SQLITE_TEXT) {
			uint32_t len;

			memcpy(&len, p, sizeof(len));
			p += sizeof(len);
			v->s = (const char *)p;
			v->len = len;
			p += len;
		}
	}
	g->left = g->once ? 1 : e->count;
}

void dnsreel_q_group_start(struct qgroup *g, int nob, const bool *desc, bool once)
{
	g->nob = nob;
	g->desc = desc;
	g->once = once;
	if (g->nents) /* no groups: ents may be NULL, which qsort_r must not get */
		qsort_r(g->ents, g->nents, sizeof(*g->ents), group_cmp, g);
	g->pos = 0;
	if (g->nents)
		load(g);
}

void dnsreel_q_group_next(struct qgroup *g)
{
	if (g->left > 1) {
		g->left--;
		return;
	}
	if (++g->pos < g->nents)
		load(g);
}

void dnsreel_q_group_free(struct qgroup *g)
{
	free(g->ents);
	free(g->htab);
	free(g->arena);
	memset(g, 0, sizeof(*g));
}
