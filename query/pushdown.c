/* Pushdown planning: xBestIndex and the constraints it hands to xFilter.
 *
 * Constraints on time, netns, name, pod, qr, rcode, capture, segment and event_id become a
 * dnsreel_prune per capture, and frames the catalog rules out are never decompressed. SQLite
 * re-checks every constraint (omit stays 0), so pruning only has to be conservative. For
 * GROUP BY / DISTINCT over low-cardinality columns the table may group itself (group.c).
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dns.h"
#include "dnsreel.h"
#include "pushdown_int.h"

/* ---- constraints -------------------------------------------------------------------------- */

/* idxStr: four bytes per argv value: semantic, operator, IN-all-at-once flag, column, each
 * + '0'. After '|': columns of the GROUP BY/DISTINCT satisfied inside the table; after a second
 * '|': the other columns the statement uses (grouping keeps them in the tuple).
 * idxNum: the PLAN_* bits of pushdown_int.h. */
enum { OP_EQ = 1, OP_GT, OP_GE, OP_LT, OP_LE };

static int map_op(unsigned char op)
{
	switch (op) {
	case SQLITE_INDEX_CONSTRAINT_EQ:
		return OP_EQ;
	case SQLITE_INDEX_CONSTRAINT_GT:
		return OP_GT;
	case SQLITE_INDEX_CONSTRAINT_GE:
		return OP_GE;
	case SQLITE_INDEX_CONSTRAINT_LT:
		return OP_LT;
	case SQLITE_INDEX_CONSTRAINT_LE:
		return OP_LE;
	default:
		return 0;
	}
}

static bool sem_allows(enum sem sem, int op)
{
	switch (sem) {
	case SEM_TS:
	case SEM_TIME:
		return op != 0;
	case SEM_NONE:
		return false;
	default:
		return op == OP_EQ;
	}
}

static bool sem_text(enum sem sem)
{
	return sem == SEM_TIME || sem == SEM_NSFIELD || sem == SEM_NAME || sem == SEM_QR ||
	       sem == SEM_RCODE || sem == SEM_CAPTURE;
}

/* Conservative wall-clock bounds for "time OP 'text'". Row texts are fixed-width
 * "YYYY-MM-DDTHH:MM:SS.nnnnnnnnnZ", so a text comparison agrees with time order on the longest
 * prefix of the literal that is a date/time up to a field boundary. */
static bool time_bounds(const char *s, int op, int64_t *lo, int64_t *hi)
{
	static const int cuts[] = {19, 16, 13, 10};
	static const int64_t units[] = {1, 60, 3600, 86400};
	size_t len = strlen(s);

	for (int c = 0; c < 4; c++) {
		int k = cuts[c];
		struct tm tm = {0};
		char tmp[20];
		int64_t t;

		if ((int)len < k)
			continue;
		memcpy(tmp, s, (size_t)k);
		tmp[k] = 0;
		for (int j = 0; j < k; j++) {
			char ch = tmp[j];
			bool digit = ch >= '0' && ch <= '9';
			char want = j == 4 || j == 7	 ? '-'
				    : j == 10		 ? 'T'
				    : j == 13 || j == 16 ? ':'
							 : 0;

			if (want ? ch != want : !digit)
				return false;
		}
		tm.tm_year = atoi(tmp) - 1900;
		tm.tm_mon = atoi(tmp + 5) - 1;
		tm.tm_mday = atoi(tmp + 8);
		if (k > 10)
			tm.tm_hour = atoi(tmp + 11);
		if (k > 13)
			tm.tm_min = atoi(tmp + 14);
		if (k > 16)
			tm.tm_sec = atoi(tmp + 17);
		t = (int64_t)timegm(&tm);
		if (t < 0 || t > 4102444800LL)
			return false;
		*lo = t * 1000000000LL;
		*hi = (t + units[c]) * 1000000000LL;
		(void)op;
		return true;
	}
	return false;
}

static bool value_int(sqlite3_value *v, int64_t *out)
{
	int t = sqlite3_value_type(v);

	if (t == SQLITE_INTEGER) {
		*out = sqlite3_value_int64(v);
		return true;
	}
	if (t == SQLITE_TEXT) {
		const char *s = (const char *)sqlite3_value_text(v);
		char *end;
		long long x;

		if (!s || !*s)
			return false;
		errno = 0;
		x = strtoll(s, &end, 10);
		if (errno || *end)
			return false;
		*out = x;
		return true;
	}
	return false;
}

static int add_u64(uint64_t **arr, size_t *n, uint64_t v)
{
	uint64_t *na = realloc(*arr, (*n + 1) * sizeof(**arr));

	if (!na)
		return -ENOMEM;
	na[(*n)++] = v;
	*arr = na;
	return 0;
}

/* Values of one argv: the IN list when processed at once, else the value itself. */
struct vals {
	sqlite3_value *v[64];
	size_t n;
	bool too_many; /* longer IN list: do not prune on it */
	bool dup;      /* v[] are copies to free */
};

static void get_vals(sqlite3_value *arg, bool in_all, struct vals *out)
{
	out->n = 0;
	out->too_many = false;
	out->dup = false;
	if (!in_all) {
		out->v[out->n++] = arg;
		return;
	}
	sqlite3_value *x = NULL;
	int rc = sqlite3_vtab_in_first(arg, &x);

	if (rc != SQLITE_OK && rc != SQLITE_DONE) {
		/* SQLite chose one value per xFilter after all (e.g. to sort by it). */
		out->v[out->n++] = arg;
		return;
	}
	/* The list hands out one value object at a time: keep copies. */
	out->dup = true;
	for (; rc == SQLITE_OK && x; rc = sqlite3_vtab_in_next(arg, &x)) {
		if (out->n == 64) {
			out->too_many = true;
			return;
		}
		out->v[out->n] = sqlite3_value_dup(x);
		if (!out->v[out->n]) {
			out->too_many = true; /* out of memory: do not prune on it */
			return;
		}
		out->n++;
	}
}

static void vals_free(struct vals *v)
{
	if (v->dup)
		for (size_t i = 0; i < v->n; i++)
			sqlite3_value_free(v->v[i]);
	v->n = 0;
	v->dup = false;
}

/* Netns-derived constraint values, ANDed across columns, ORed within one. */
struct nsreq {
	enum dnsreel_field_id f;
	struct vals vals;
};

static const char *ns_field(const struct dnsreel_netns_ctx *ns, enum dnsreel_field_id f)
{
	switch (f) {
	case DNSREEL_F_K8S_NAMESPACE:
		return ns->k8s_namespace;
	case DNSREEL_F_K8S_PODNAME:
		return ns->k8s_podname;
	case DNSREEL_F_K8S_CONTAINERNAME:
		return ns->k8s_containername;
	case DNSREEL_F_RUNTIME_CONTAINERNAME:
		return ns->runtime_containername;
	case DNSREEL_F_RUNTIME_CONTAINERID:
		return ns->runtime_containerid;
	default:
		return "";
	}
}

int dnsreel_q_scan_config(struct scan *s, const struct evtab *t, const char *idx, int argc,
			  sqlite3_value **argv)
{
	struct dnsreel_query *q = s->q;
	int64_t since = INT64_MIN, until = INT64_MAX;
	uint32_t qr_mask = 3, rcode_mask = UINT32_MAX;
	bool have_netns = false;
	uint64_t *netns = NULL;
	size_t nnetns = 0;
	struct nsreq nsr[8];
	size_t nnsr = 0;
	bool cap_ok[256];
	int err = 0;

	dnsreel_q_scan_cfg_free(s);
	s->no_rows = false;
	s->caps = calloc(q->n, sizeof(*s->caps));
	if (!s->caps)
		return -ENOMEM;
	for (size_t i = 0; i < q->n; i++)
		cap_ok[i] = true;
	if (t->responses_only)
		qr_mask = 2;

	for (int a = 0; idx && idx[0] && idx[0] != '|' && a < argc; a++, idx += 4) {
		enum sem sem = (enum sem)(idx[0] - '0');
		int op = idx[1] - '0';
		bool in_all = idx[2] == '1';
		int col = idx[3] - '0';
		struct vals vs;

		bool kept = false;

		get_vals(argv[a], in_all, &vs);
		if (vs.too_many) {
			vals_free(&vs);
			continue;
		}
		switch (sem) {
		case SEM_TS: {
			sqlite3_value *v = vs.v[0];
			int ty = sqlite3_value_type(v);
			int64_t x;

			if (ty == SQLITE_INTEGER) {
				x = sqlite3_value_int64(v);
			} else if (ty == SQLITE_FLOAT) {
				double d = sqlite3_value_double(v);

				if (!(d > -9e18 && d < 9e18))
					break;
				x = (int64_t)(op == OP_GT || op == OP_GE ? floor(d) : ceil(d));
			} else {
				break; /* integer vs text compares by type: no bound */
			}
			if (op == OP_EQ || op == OP_GT || op == OP_GE)
				since = x > since ? x : since;
			if (op == OP_EQ || op == OP_LT || op == OP_LE)
				until = x < until ? x : until;
			break;
		}
		case SEM_TIME: {
			const char *txt;
			int64_t lo, hi;

			if (sqlite3_value_type(vs.v[0]) != SQLITE_TEXT)
				break;
			txt = (const char *)sqlite3_value_text(vs.v[0]);
			if (!txt || !time_bounds(txt, op, &lo, &hi))
				break;
			if (op == OP_EQ || op == OP_GT || op == OP_GE)
				since = lo > since ? lo : since;
			if (op == OP_EQ || op == OP_LT || op == OP_LE)
				until = hi < until ? hi : until;
			break;
		}
		case SEM_NETNS: {
			uint64_t *mine = NULL;
			size_t nmine = 0;

			for (size_t k = 0; k < vs.n; k++) {
				int64_t x;

				if (value_int(vs.v[k], &x) &&
				    (err = add_u64(&mine, &nmine, (uint64_t)x)))
					break;
			}
			if (!have_netns) {
				netns = mine;
				nnetns = nmine;
				have_netns = true;
			} else {
				/* AND of two netns constraints: keep the common ones. */
				size_t w = 0;

				for (size_t k = 0; k < nnetns; k++)
					for (size_t m = 0; m < nmine; m++)
						if (netns[k] == mine[m]) {
							netns[w++] = netns[k];
							break;
						}
				nnetns = w;
				free(mine);
			}
			break;
		}
		case SEM_NSFIELD:
			if (nnsr < 8 && col >= 0 && col < t->ncols) {
				nsr[nnsr].f = t->cols[col].f;
				nsr[nnsr].vals = vs;
				nnsr++;
				kept = true; /* freed after the netns lists are built */
			}
			break;
		case SEM_NAME:
			if (s->names) {
				/* Second name constraint (AND): keep the first set, still safe. */
				break;
			}
			s->names = calloc(vs.n ? vs.n : 1, sizeof(*s->names));
			if (!s->names) {
				err = -ENOMEM;
				break;
			}
			for (size_t k = 0; k < vs.n; k++) {
				const char *txt = (const char *)sqlite3_value_text(vs.v[k]);

				if (txt && !(s->names[s->nnames] = strdup(txt))) {
					err = -ENOMEM;
					break;
				}
				if (txt)
					s->nnames++;
			}
			if (!s->nnames)
				s->no_rows = vs.n > 0 ? false : s->no_rows;
			break;
		case SEM_QR: {
			uint32_t m = 0;

			for (size_t k = 0; k < vs.n; k++) {
				const char *txt = (const char *)sqlite3_value_text(vs.v[k]);

				if (txt && !strcmp(txt, "Q"))
					m |= 1;
				else if (txt && !strcmp(txt, "R"))
					m |= 2;
				else
					m |= 3; /* unknown spelling: no pruning */
			}
			qr_mask &= m;
			break;
		}
		case SEM_RCODE:
		case SEM_RCODE_RAW: {
			uint32_t m = 0;

			for (size_t k = 0; k < vs.n; k++) {
				int64_t r = -1;

				if (sem == SEM_RCODE_RAW) {
					if (!value_int(vs.v[k], &r))
						r = -2;
				} else {
					const char *txt = (const char *)sqlite3_value_text(vs.v[k]);

					r = txt ? dnsreel_dns_rcode_from_name(txt) : -1;
					if (r < 0 && txt)
						value_int(vs.v[k], &r);
				}
				if (r < 0)
					m = UINT32_MAX;
				else
					m |= 1u << (r > 31 ? 31 : r);
			}
			rcode_mask &= m;
			if (!rcode_mask)
				s->no_rows = true;
			break;
		}
		case SEM_CAPTURE:
			for (size_t i = 0; i < q->n; i++) {
				bool any = false;

				for (size_t k = 0; k < vs.n && !any; k++) {
					const char *txt = (const char *)sqlite3_value_text(vs.v[k]);

					any = txt && (!strcmp(txt, q->paths[i]) ||
						      !strcmp(txt, dnsreel_capr__path(q->capr[i])));
				}
				if (!any)
					cap_ok[i] = false;
			}
			break;
		case SEM_SEGMENT:
			if (s->segs)
				break;
			s->segs = calloc(vs.n ? vs.n : 1, sizeof(*s->segs));
			if (!s->segs) {
				err = -ENOMEM;
				break;
			}
			for (size_t k = 0; k < vs.n; k++) {
				int64_t x;

				if (value_int(vs.v[k], &x))
					s->segs[s->nsegs++] = x;
			}
			if (!s->nsegs)
				s->no_rows = true;
			break;
		case SEM_EVENT_ID:
			if (s->keys)
				break;
			for (size_t k = 0; k < vs.n && !err; k++) {
				int64_t x;

				if (value_int(vs.v[k], &x))
					err = add_u64(&s->keys, &s->nkeys, (uint64_t)x);
			}
			if (!s->keys)
				s->no_rows = true;
			break;
		default:
			break;
		}
		if (!kept)
			vals_free(&vs);
		if (err)
			break;
	}
	if (err) {
		for (size_t r = 0; r < nnsr; r++)
			vals_free(&nsr[r].vals);
		free(netns);
		return err;
	}
	if (s->keys)
		qsort(s->keys, s->nkeys, sizeof(*s->keys), dnsreel_q_u64_cmp);
	if (qr_mask == 0)
		s->no_rows = true;

	for (size_t i = 0; i < q->n; i++) {
		struct capcfg *cc = &s->caps[i];
		const struct dnsreel_meta *m = dnsreel_ctx__meta(q->ctx, (uint32_t)i);

		if (!m) /* the offset the cursor adds to row times */
			m = dnsreel_capr__meta(q->capr[i]);

		cc->boot_to_wall = m ? m->boot_to_wall_ns : 0;
		cc->skip = !cap_ok[i];
		if (since != INT64_MIN)
			cc->p.since_wall_ns = since > 0 ? since : 0;
		if (until != INT64_MAX)
			cc->p.until_wall_ns = until > 0 ? until : 1;
		cc->p.qr_mask = qr_mask == 3 ? 0 : (uint8_t)qr_mask;
		cc->p.rcode_mask = rcode_mask == UINT32_MAX ? 0 : rcode_mask;
		if (have_netns || nnsr) {
			/* Candidate netns of this capture: the netns_id values, filtered by the
			 * pod/namespace/container values as the rows would show them. */
			size_t cand_n = have_netns ? nnetns : dnsreel_capr__netns_count(q->capr[i]);

			for (size_t k = 0; k < cand_n; k++) {
				uint64_t id = have_netns
						  ? netns[k]
						  : dnsreel_capr__netns_at(q->capr[i], k)->netns;
				const struct dnsreel_netns_ctx *ns =
				    dnsreel_ctx__netns(q->ctx, (uint32_t)i, id);
				bool ok = true;

				for (size_t r = 0; r < nnsr && ok; r++) {
					const char *have = ns ? ns_field(ns, nsr[r].f) : NULL;
					bool any = false;

					for (size_t v = 0; v < nsr[r].vals.n && !any; v++) {
						const char *want = (const char *)sqlite3_value_text(
						    nsr[r].vals.v[v]);

						any = have && want && !strcmp(have, want);
					}
					ok = any;
				}
				if (ok && (err = add_u64(&cc->netns, &cc->p.netns_count, id)))
					break;
			}
			if (err)
				break;
			if (cc->p.netns_count > 1)
				qsort(cc->netns, cc->p.netns_count, sizeof(uint64_t),
				      dnsreel_q_u64_cmp);
			cc->p.netns = cc->netns;
			if (!cc->p.netns_count)
				cc->skip = true;
		}
	}
	for (size_t r = 0; r < nnsr; r++)
		vals_free(&nsr[r].vals);
	free(netns);
	return err;
}

int dnsreel_q_best_index(const struct evtab *t, const struct dnsreel_query *q,
			 sqlite3_index_info *info)
{
	char idx[250 * 4 + 3 * DNSREEL_Q_MAX_COLS + 8]; /* constraints, ORDER BY, used columns */
	int n = 0, argv_i = 0;
	double frames = (double)(q->frames_all ? q->frames_all : 1);
	double sel = 1.0;
	bool point = false;

	for (int i = 0; i < info->nConstraint && n < 250 * 4; i++) {
		const struct sqlite3_index_constraint *c = &info->aConstraint[i];
		enum sem sem;
		int op;
		const char *coll;

		if (!c->usable || c->iColumn < 0 || c->iColumn >= t->ncols)
			continue;
		sem = t->cols[c->iColumn].sem;
		op = map_op(c->op);
		if (!sem_allows(sem, op) || q->opts.no_pushdown)
			continue;
		if (sem_text(sem)) {
			coll = sqlite3_vtab_collation(info, i);
			if (coll && sqlite3_stricmp(coll, "BINARY"))
				continue;
		}
		info->aConstraintUsage[i].argvIndex = ++argv_i;
		info->aConstraintUsage[i].omit = 0; /* SQLite re-checks: pruning is per frame */
		bool in_all = op == OP_EQ && sqlite3_vtab_in(info, i, -1);
		if (in_all)
			sqlite3_vtab_in(info, i, 1);
		idx[n++] = (char)('0' + sem);
		idx[n++] = (char)('0' + op);
		idx[n++] = in_all ? '1' : '0';
		idx[n++] = (char)('0' + c->iColumn);
		switch (sem) {
		case SEM_EVENT_ID:
			point = true;
			break;
		case SEM_TS:
		case SEM_TIME:
			sel *= op == OP_EQ ? 0.001 : 0.3;
			break;
		case SEM_NAME:
		case SEM_NETNS:
		case SEM_NSFIELD:
			sel *= 0.05;
			break;
		default:
			sel *= 0.5;
		}
	}
	idx[n++] = '|';

	/* GROUP BY / DISTINCT done inside the table when every used column is low-cardinality
	 * (the distinct tuples fit in memory). */
	if (t->groups && info->nOrderBy > 0 && !q->opts.no_grouping && !point) {
		int distinct = sqlite3_vtab_distinct(info);
		uint64_t used = info->colUsed;
		bool ok = info->nOrderBy <= DNSREEL_Q_MAX_COLS;

		for (int i = 0; i < info->nOrderBy && ok; i++) {
			int col = info->aOrderBy[i].iColumn;

			ok = col >= 0 && col < t->ncols && col < 63;
		}
		for (int col = 0; col < t->ncols && ok; col++) {
			if (!(used & (1ull << (col < 63 ? col : 63))))
				continue;
			if (!t->cols[col].lowcard)
				ok = false;
		}
		if (ok) {
			/* Distinct tuples come out sorted as ORDER BY wants them, which also
			 * satisfies adjacency (GROUP BY) and DISTINCT (group.c). */
			info->orderByConsumed = 1;
			info->idxNum |= PLAN_GROUP | (distinct & 3) << 8;
			for (int i = 0; i < info->nOrderBy; i++) {
				idx[n++] = (char)('0' + info->aOrderBy[i].iColumn);
				idx[n++] = info->aOrderBy[i].desc ? '1' : '0';
			}
		}
	}
	idx[n++] = '|';
	if (info->idxNum & PLAN_GROUP) {
		for (int col = 0; col < t->ncols; col++) {
			bool in_ob = false;

			for (int i = 0; i < info->nOrderBy; i++)
				in_ob |= info->aOrderBy[i].iColumn == col;
			if (!in_ob && (info->colUsed & (1ull << col)))
				idx[n++] = (char)('0' + col);
		}
	}
	idx[n] = 0;
	if (t->latency_col >= 0 && (info->colUsed & (1ull << t->latency_col)))
		info->idxNum |= PLAN_LATENCY;
	info->idxStr = sqlite3_mprintf("%s", idx);
	info->needToFreeIdxStr = 1;
	if (point) {
		info->estimatedCost = 10;
		info->estimatedRows = 2;
	} else {
		info->estimatedCost = frames * 1000.0 * sel + 1;
		info->estimatedRows = (sqlite3_int64)(frames * 4096.0 * sel) + 1;
	}
	return SQLITE_OK;
}

void dnsreel_q_group_plan(int idxNum, const char *idxStr, int ncols, struct qgroup_plan *g)
{
	const char *grp = idxStr ? strchr(idxStr, '|') : NULL;
	const char *rest = grp ? strchr(grp + 1, '|') : NULL;

	g->mode = (idxNum >> 8) & 3;
	g->ncols = 0;
	for (int i = 0; i < DNSREEL_Q_MAX_COLS; i++)
		g->colpos[i] = -1;
	for (const char *p = grp ? grp + 1 : ""; p[0] && p[0] != '|' && p[1]; p += 2) {
		int col = p[0] - '0';

		if (col >= 0 && col < ncols && g->colpos[col] < 0) {
			g->desc[g->ncols] = p[1] == '1';
			g->colpos[col] = g->ncols;
			g->cols[g->ncols++] = col;
		}
	}
	g->nob = g->ncols;
	for (const char *p = rest ? rest + 1 : ""; *p; p++) {
		int col = *p - '0';

		if (col >= 0 && col < ncols && g->colpos[col] < 0) {
			g->colpos[col] = g->ncols;
			g->cols[g->ncols++] = col;
		}
	}
}
