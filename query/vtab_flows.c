/* The flows and flow_events tables: one row per flow (flows.h: one client transaction and
 * everything it caused, across every capture of the session merged on one time line) and one
 * row per event of each flow, keyed like dns.event_id.
 *
 *   SELECT client_k8s_podname, name, round(latency_ns / 1e6, 3) AS ms, slowest_hop_role
 *   FROM flows WHERE outcome = 'answered' ORDER BY latency_ns DESC LIMIT 20;
 *   SELECT d.netns_id, d.pkt_type, d.id, d.qr FROM flow_events e JOIN dns d USING (event_id)
 *   WHERE e.flow_id = '8d9c9e0fe905b23a';
 *
 * A scan runs the view's merge over the session's captures into the flows library and keeps
 * the rows of the flows it wants. Pushed down: a time range on flows.timestamp (the client's
 * query) narrows the frames read to that range plus EDGE_NS on either side, so flows at
 * its edges come out whole; name = and flow_id = pick rows of that reconstruction (flow_id
 * through an index), so a join probing by flow_id reconstructs once. Reconstruction always
 * reads every event of the range: roles and lookups come out as without the constraint.
 * The rows of the last scan stay with the table for the next one with the same time range.
 * Rows are held in memory for the range scanned (not streamed).
 */
#include <inttypes.h>
#include <stdio.h>
#include <strings.h>

#include "dnsreel.h"
#include "flows.h"
#include "query_int.h"
#include "scan_int.h"

/* ---- schemas ------------------------------------------------------------------------------ */

enum {
	FL_FLOW_ID,
	FL_LOOKUP_ID,
	FL_CAPTURE,
	FL_TIMESTAMP,
	FL_TIME,
	FL_NAME,
	FL_QTYPE,
	FL_CLIENT_NETNS_ID,
	FL_CLIENT_ADDR,
	FL_CLIENT_PORT,
	FL_CLIENT_K8S_NAMESPACE,
	FL_CLIENT_K8S_PODNAME,
	FL_CLIENT_K8S_CONTAINERNAME,
	FL_CLIENT_COMM,
	FL_CLIENT_PID,
	FL_CLIENT_ROLE,
	FL_SERVER,
	FL_OUTCOME,
	FL_RCODE,
	FL_RCODE_ORIGIN,
	FL_LATENCY_NS,
	FL_RETRIES,
	FL_LOST_DIRECTION,
	FL_LOST_NETNS_ID,
	FL_LOST_ROLE,
	FL_LOST_AFTER_TS,
	FL_HOPS,
	FL_FORWARDER_NETNS_ID,
	FL_FORWARDER_K8S_NAMESPACE,
	FL_FORWARDER_K8S_PODNAME,
	FL_UPSTREAMS,
	FL_UPSTREAMS_ANSWERED,
	FL_UPSTREAM_SERVER,
	FL_UPSTREAM_RCODE,
	FL_UPSTREAM_LATENCY_NS,
	FL_SLOWEST_HOP_ROLE,
	FL_SLOWEST_HOP_NETNS_ID,
	FL_SLOWEST_NS,
	FL_NCOLS
};
static const char flows_schema[] =
    "CREATE TABLE x(flow_id TEXT, lookup_id TEXT, capture TEXT, timestamp INTEGER, time TEXT, "
    "name TEXT, qtype TEXT, client_netns_id INTEGER, client_addr TEXT, client_port INTEGER, "
    "client_k8s_namespace TEXT, client_k8s_podname TEXT, client_k8s_containername TEXT, "
    "client_comm TEXT, client_pid INTEGER, client_role TEXT, server TEXT, outcome TEXT, "
    "rcode TEXT, rcode_origin TEXT, latency_ns INTEGER, retries INTEGER, "
    "lost_direction TEXT, lost_netns_id INTEGER, lost_role TEXT, lost_after_ts INTEGER, "
    "hops INTEGER, forwarder_netns_id INTEGER, forwarder_k8s_namespace TEXT, "
    "forwarder_k8s_podname TEXT, upstreams INTEGER, upstreams_answered INTEGER, "
    "upstream_server TEXT, upstream_rcode TEXT, "
    "upstream_latency_ns INTEGER, slowest_hop_role TEXT, slowest_hop_netns_id INTEGER, "
    "slowest_ns INTEGER)";

enum { FE_FLOW_ID, FE_EVENT_ID, FE_CAPTURE, FE_TIMESTAMP, FE_NETNS_ID, FE_ROLE, FE_NCOLS };
static const char flow_events_schema[] = "CREATE TABLE x(flow_id TEXT, event_id INTEGER, "
					 "capture TEXT, timestamp INTEGER, netns_id INTEGER, "
					 "role TEXT)";

struct ftable {
	const char *schema;
	int ncols;
	bool events; /* flow_events */
	int ts_col;  /* pushed-down time, name and flow_id columns; -1 = none */
	int name_col;
	int flow_id_col;
};
static const struct ftable flows_table = {flows_schema, FL_NCOLS, false,
					  FL_TIMESTAMP, FL_NAME,  FL_FLOW_ID};
static const struct ftable flow_events_table = {flow_events_schema, FE_NCOLS, true, -1, -1,
						FE_FLOW_ID};

/* ---- rows --------------------------------------------------------------------------------- */

struct cell {
	int type; /* SQLITE_NULL, SQLITE_INTEGER, SQLITE_TEXT */
	int64_t i;
	char *s;
};

/* The time range a scan reconstructs; rows are kept for the next scan with the same. */
struct want {
	int64_t lo, hi; /* flows.timestamp range, inclusive */
};

struct rows {
	int ncols;
	struct cell *cells;
	size_t ncells, cap;
	int err;
};

static void rows_clear(struct rows *r)
{
	for (size_t i = 0; i < r->ncells; i++)
		free(r->cells[i].s);
	free(r->cells);
	memset(r, 0, sizeof(*r));
}

/* Starts a row of NULL cells; NULL on failure (kept in r->err). */
static struct cell *row_new(struct rows *r)
{
	size_t n = (size_t)r->ncols;
	struct cell *nb;

	if (r->err)
		return NULL;
	nb = dnsreel_q_grow(r->cells, &r->cap, r->ncells + n, sizeof(*nb), 64 * n);
	if (!nb) {
		r->err = -ENOMEM;
		return NULL;
	}
	r->cells = nb;
	for (size_t k = 0; k < n; k++)
		r->cells[r->ncells + k] = (struct cell){.type = SQLITE_NULL};
	r->ncells += n;
	return &r->cells[r->ncells - n];
}

static void set_int(struct cell *row, int col, int64_t v)
{
	row[col].type = SQLITE_INTEGER;
	row[col].i = v;
}

/* Text, copied; NULL or "" (unknown context) stays NULL unless keep_empty. */
static void set_text(struct rows *r, struct cell *row, int col, const char *s, bool keep_empty)
{
	if (!s || (!*s && !keep_empty))
		return;
	row[col].s = strdup(s);
	if (!row[col].s) {
		r->err = -ENOMEM;
		return;
	}
	row[col].type = SQLITE_TEXT;
}

/* ---- event keys ----------------------------------------------------------------------------- */

/* The flows library hands out copies of its events; they are found again by what they are
 * (where, when, which packet and message) to name them by their dns.event_id. */
struct ekey {
	uint64_t h;   /* 0 = empty slot */
	uint64_t key; /* dns.event_id */
};

struct keymap {
	struct ekey *slot;
	size_t cap, n;
};

static uint64_t mix(uint64_t h, uint64_t v)
{
	h ^= v + 0x9e3779b97f4a7c15ull + (h << 6) + (h >> 2);
	return h;
}

/* Two messages one TCP packet completes differ in id or length. */
static uint64_t ev_hash(uint32_t capture, const struct dnsreel_event *ev, uint16_t id,
			uint32_t msg_len)
{
	uint64_t h = mix(0xcbf29ce484222325ull, capture);

	h = mix(h, (uint64_t)ev->ts_ns);
	h = mix(h, ev->netns);
	h = mix(h, (uint64_t)ev->ifindex << 8 | ev->pkt_type);
	h = mix(h, (uint64_t)ev->src_port << 16 | ev->dst_port);
	h = mix(h, ev->tcp_seq);
	h = mix(h, (uint64_t)id << 32 | msg_len);
	return h ? h : 1;
}

static int keymap_put(struct keymap *m, uint64_t h, uint64_t key)
{
	if ((m->n + 1) * 2 > m->cap) {
		size_t nc = m->cap ? m->cap * 2 : 4096;
		struct ekey *ns = calloc(nc, sizeof(*ns));

		if (!ns)
			return -ENOMEM;
		for (size_t i = 0; i < m->cap; i++) {
			if (!m->slot[i].h)
				continue;
			size_t j = m->slot[i].h & (nc - 1);

			while (ns[j].h)
				j = (j + 1) & (nc - 1);
			ns[j] = m->slot[i];
		}
		free(m->slot);
		m->slot = ns;
		m->cap = nc;
	}
	size_t j = h & (m->cap - 1);

	while (m->slot[j].h && m->slot[j].h != h)
		j = (j + 1) & (m->cap - 1);
	if (!m->slot[j].h)
		m->n++;
	m->slot[j] = (struct ekey){h, key};
	return 0;
}

/* The key of h; false when unknown. */
static bool keymap_get(const struct keymap *m, uint64_t h, uint64_t *key)
{
	if (!m->cap)
		return false;
	for (size_t j = h & (m->cap - 1); m->slot[j].h; j = (j + 1) & (m->cap - 1)) {
		if (m->slot[j].h == h) {
			*key = m->slot[j].key;
			return true;
		}
	}
	return false;
}

/* ---- building the rows ---------------------------------------------------------------------- */

struct build {
	const struct ftable *t;
	const struct dnsreel_query *q;
	struct dnsreel_query *sq; /* the same session, for naming damaged frames */
	uint64_t frames_seen;	  /* of the merge, already added to the session's stats */
	const struct want *w;
	struct rows *rows;
	struct dnsreel_merge *rp;
	struct dnsreel_flows *fl;
	struct keymap keys;
	uint64_t last_pos; /* where the last rec came from (0: none): messages of one packet */
	uint32_t last_sub;
};

static int on_rec(void *arg, const struct dnsreel_rec *rec)
{
	struct build *b = arg;

	if (b->t->events) {
		uint64_t frame;
		uint32_t pos;
		int err;

		dnsreel_merge__position(b->rp, &frame, &pos);
		/* A TCP packet can complete several messages: the dns table numbers them. */
		uint64_t at = dnsreel_q_event_key(rec->capture, (uint32_t)frame, pos + 1, 0);

		b->last_sub = at == b->last_pos ? b->last_sub + 1 : 0;
		b->last_pos = at;
		err = keymap_put(
		    &b->keys, ev_hash(rec->capture, rec->ev, rec->dns.id, rec->msg_len),
		    dnsreel_q_event_key(rec->capture, (uint32_t)frame, pos, b->last_sub));
		if (err)
			return err;
	}
	return dnsreel_flows__feed(b->fl, rec);
}

/* A field of the client's first query as replay renders it (endpoints as p/NS/POD:PORT). */
static const char *query_text(const struct build *b, const struct dnsreel_flow *f,
			      const struct dnsreel_event *ev, enum dnsreel_field_id id, char *buf,
			      size_t len)
{
	struct dnsreel_rec r;
	struct dnsreel_value v;

	memset(&r, 0, sizeof(r));
	memset(&v, 0, sizeof(v));
	r.ctx = dnsreel_merge__ctx(b->rp);
	r.ev = ev;
	r.capture = f->capture;
	r.ns = dnsreel_ctx__netns(r.ctx, f->capture, ev->netns);
	dnsreel_rec__value(&r, id, &v, buf, len);
	if (!v.s || v.null)
		return NULL;
	if (v.s != buf)
		snprintf(buf, len, "%.*s", (int)v.len, v.s);
	else
		buf[v.len < len ? v.len : len - 1] = 0;
	return buf;
}

/* The role of the flow's hop in (capture, netns): where an event of the flow was seen. */
static const char *event_role(const struct dnsreel_flow *f, uint32_t capture, uint64_t netns)
{
	for (size_t i = 0; i < f->nhops; i++)
		if (f->hops[i].capture == capture && f->hops[i].netns == netns)
			return dnsreel_flow_role_name(f->hops[i].role);
	return NULL;
}

static void flow_row(struct build *b, const struct dnsreel_flow *f)
{
	struct rows *r = b->rows;
	struct cell *row = row_new(r);
	const struct dnsreel_netns_ctx *ns = f->client_ns;
	const struct dnsreel_flow_upstream *u = dnsreel_flow_counted_upstream(f);
	char buf[512], tbuf[40];
	int64_t up_lat = -1;

	if (!row)
		return;
	set_text(r, row, FL_FLOW_ID, f->flow_id, true);
	set_text(r, row, FL_LOOKUP_ID, f->lookup_id, true);
	set_text(r, row, FL_CAPTURE, b->q->paths[f->capture], true);
	set_int(row, FL_TIMESTAMP, f->wall_ns);
	dnsreel_format_time(f->wall_ns, tbuf, sizeof(tbuf));
	set_text(r, row, FL_TIME, tbuf, true);
	set_text(r, row, FL_NAME, f->name, true);
	{
		const char *t = dnsreel_dns_type_name(f->qtype);

		if (!t)
			snprintf(buf, sizeof(buf), "%u", f->qtype);
		set_text(r, row, FL_QTYPE, t ? t : buf, true);
	}
	set_int(row, FL_CLIENT_NETNS_ID, (int64_t)f->client_netns);
	if (f->query) {
		set_text(r, row, FL_CLIENT_ADDR,
			 query_text(b, f, f->query, DNSREEL_F_SRC_ADDR, buf, sizeof(buf)), false);
		set_int(row, FL_CLIENT_PORT, f->query->src_port);
		set_text(r, row, FL_SERVER,
			 query_text(b, f, f->query, DNSREEL_F_DST, buf, sizeof(buf)), false);
	}
	if (ns) {
		set_text(r, row, FL_CLIENT_K8S_NAMESPACE, ns->k8s_namespace, false);
		set_text(r, row, FL_CLIENT_K8S_PODNAME, ns->k8s_podname, false);
		set_text(r, row, FL_CLIENT_K8S_CONTAINERNAME, ns->k8s_containername, false);
	}
	if (f->has_proc) {
		set_text(r, row, FL_CLIENT_COMM, f->comm, false);
		set_int(row, FL_CLIENT_PID, f->pid);
	}
	set_text(r, row, FL_CLIENT_ROLE, dnsreel_flow_role_name(f->client_role), true);
	set_text(r, row, FL_OUTCOME, f->answered ? "answered" : "unanswered", true);
	if (f->answered)
		set_text(r, row, FL_RCODE, dnsreel_dns_rcode_text(f->rcode, buf, sizeof(buf)),
			 true);
	if (f->rcode_origin >= 0)
		set_text(r, row, FL_RCODE_ORIGIN,
			 dnsreel_flow_role_name((enum dnsreel_flow_role)f->rcode_origin), true);
	if (f->latency_ns >= 0)
		set_int(row, FL_LATENCY_NS, f->latency_ns);
	set_int(row, FL_RETRIES, f->retries);
	if (f->has_lost) {
		set_text(r, row, FL_LOST_DIRECTION, f->lost.response ? "response" : "query", true);
		set_int(row, FL_LOST_NETNS_ID, (int64_t)f->lost.netns);
		set_text(r, row, FL_LOST_ROLE, dnsreel_flow_role_name(f->lost.role), true);
		set_int(row, FL_LOST_AFTER_TS, f->lost.after_ns);
	}
	set_int(row, FL_HOPS, (int64_t)f->nhops);
	{
		uint32_t fc;
		uint64_t fn;

		if (dnsreel_flow_forwarder(f, &fc, &fn)) {
			const struct dnsreel_netns_ctx *fns =
			    dnsreel_ctx__netns(dnsreel_merge__ctx(b->rp), fc, fn);

			set_int(row, FL_FORWARDER_NETNS_ID, (int64_t)fn);
			if (fns) {
				set_text(r, row, FL_FORWARDER_K8S_NAMESPACE, fns->k8s_namespace,
					 false);
				set_text(r, row, FL_FORWARDER_K8S_PODNAME, fns->k8s_podname, false);
			}
		}
	}
	set_int(row, FL_UPSTREAMS, (int64_t)f->nupstream);
	{
		int64_t n = 0;

		for (size_t i = 0; i < f->nupstream; i++)
			n += f->upstream[i].answered;
		set_int(row, FL_UPSTREAMS_ANSWERED, n);
	}
	if (u) {
		if (u->query)
			set_text(r, row, FL_UPSTREAM_SERVER,
				 query_text(b, f, u->query, DNSREEL_F_DST, buf, sizeof(buf)),
				 false);
		if (u->answered) {
			set_text(r, row, FL_UPSTREAM_RCODE,
				 dnsreel_dns_rcode_text(u->rcode, buf, sizeof(buf)), true);
			up_lat = u->latency_ns;
		}
	}
	if (up_lat >= 0)
		set_int(row, FL_UPSTREAM_LATENCY_NS, up_lat);
	if (f->slowest_hop >= 0 && (size_t)f->slowest_hop < f->nhops) {
		const struct dnsreel_flow_hop *h = &f->hops[f->slowest_hop];

		set_text(r, row, FL_SLOWEST_HOP_ROLE, dnsreel_flow_role_name(h->role), true);
		set_int(row, FL_SLOWEST_HOP_NETNS_ID, (int64_t)h->netns);
		set_int(row, FL_SLOWEST_NS, f->slowest_ns);
	}
}

static void event_rows(struct build *b, const struct dnsreel_flow *f)
{
	struct rows *r = b->rows;

	for (size_t i = 0; i < f->nevents && !r->err; i++) {
		const struct dnsreel_rec *e = &f->events[i];
		struct cell *row = row_new(r);
		uint64_t key;

		if (!row)
			return;
		set_text(r, row, FE_FLOW_ID, f->flow_id, true);
		if (keymap_get(&b->keys, ev_hash(e->capture, e->ev, e->dns.id, e->msg_len), &key))
			set_int(row, FE_EVENT_ID, (int64_t)key);
		set_text(r, row, FE_CAPTURE, b->q->paths[e->capture], true);
		set_int(row, FE_TIMESTAMP, e->wall_ns);
		set_int(row, FE_NETNS_ID, (int64_t)e->ev->netns);
		set_text(r, row, FE_ROLE, event_role(f, e->capture, e->ev->netns), true);
	}
}

static int on_flow(void *arg, const struct dnsreel_flow *f)
{
	struct build *b = arg;
	const struct want *w = b->w;

	if (f->wall_ns < w->lo || f->wall_ns > w->hi)
		return 0;
	if (b->t->events)
		event_rows(b, f);
	else
		flow_row(b, f);
	return b->rows->err;
}

/* Read this far beyond a time range: a flow's events lie within the flow window (10 s) of its
 * client query, and its lookup's earlier flows within a lookup gap (6 s) or two before it (as
 * replay --flows --since does). */
#define EDGE_NS (22 * 1000000000ll)

/* A frame the merge skipped as damaged: named once per session, and the tool exits 1, as for the
 * event tables. The message is the key: the merge names no frame number. */
static void on_problem(void *arg, const char *msg)
{
	struct build *b = arg;
	dnsreel_q_note_bad_frame(b->sq, UINT32_MAX,
				 (size_t)(dnsreel_hash_bytes(msg, strlen(msg), 7) & 0xFFFFFFFFu),
				 msg);
}

/* Frames the flow reconstruction read count in the session's progress like a scan's. */
static void on_tick(void *arg, const struct dnsreel_merge_stats *st, bool idle)
{
	struct build *b = arg;
	if (idle)
		return;
	uint64_t done = st->frames_read + st->frames_pruned + st->frames_bad;
	b->sq->st.frames_read += done - b->frames_seen;
	b->frames_seen = done;
	if (b->sq->st.frames_total < st->frames_total)
		b->sq->st.frames_total = st->frames_total;
	if (b->sq->opts.progress)
		b->sq->opts.progress(b->sq->opts.progress_ctx, b->sq);
}

static int build_rows(const struct ftable *t, struct dnsreel_query *q, const struct want *w,
		      struct rows *rows, char *errbuf, size_t errlen)
{
	struct build b = {.t = t, .q = q, .sq = q, .w = w, .rows = rows};
	struct dnsreel_filter *filter = NULL;
	struct dnsreel_merge_opts ro = {.sz = sizeof(ro),
					.rec_fn = on_rec,
					.rec_arg = &b,
					.problem = on_problem,
					.problem_ctx = &b,
					.tick = on_tick,
					.tick_arg = &b};
	int err;

	rows->ncols = t->ncols;
	if (w->lo > INT64_MIN || w->hi < INT64_MAX) {
		err = dnsreel_filter__new(&filter);
		if (err)
			return err;
		dnsreel_filter__set_window(filter,
					   w->lo > INT64_MIN + EDGE_NS ? w->lo - EDGE_NS : 1,
					   w->hi < INT64_MAX - EDGE_NS ? w->hi + EDGE_NS : 0);
		ro.filter = filter;
	}
	err = dnsreel_merge__open(&b.rp, (const char *const *)q->paths, q->n, &ro, errbuf, errlen);
	if (!err) {
		struct dnsreel_flows_opts fo = {
		    .sz = sizeof(fo), .events = t->events, .fn = on_flow, .arg = &b};

		err = dnsreel_flows__new(&b.fl, dnsreel_merge__ctx(b.rp), &fo);
	}
	if (!err)
		err = dnsreel_merge__run(b.rp);
	if (!err)
		err = dnsreel_flows__flush(b.fl);
	if (!err)
		err = rows->err;
	if (err && !errbuf[0])
		snprintf(errbuf, errlen, "flows: %s", dnsreel_strerror(err));
	dnsreel_flows__free(b.fl);
	if (b.rp)
		dnsreel_merge__close(b.rp);
	dnsreel_filter__free(filter);
	free(b.keys.slot);
	return err;
}

/* ---- the module ----------------------------------------------------------------------------- */

/* The rows of one scan, shared by the cursors reading them and kept by the table for the next
 * scan with the same constraints (a cursor of a nested scan must not see them replaced). */
struct rowset {
	int refs;
	struct want w;
	struct rows rows;
	int flow_id_col;
	uint32_t *by_flow_id; /* row numbers sorted by flow_id, built on the first flow_id = */
};

static void rowset_unref(struct rowset *rs)
{
	if (!rs || --rs->refs > 0)
		return;
	rows_clear(&rs->rows);
	free(rs->by_flow_id);
	free(rs);
}

static const char *row_flow_id(const struct rowset *rs, size_t row)
{
	return rs->rows.cells[row * (size_t)rs->rows.ncols + (size_t)rs->flow_id_col].s;
}

/* Stable merge sort of row numbers by flow_id (qsort has no context argument in C11). */
static void merge_rows(const struct rowset *rs, uint32_t *v, uint32_t *tmp, size_t n)
{
	size_t h = n / 2, i = 0, j = h, k = 0;

	if (n < 2)
		return;
	merge_rows(rs, v, tmp, h);
	merge_rows(rs, v + h, tmp, n - h);
	while (i < h && j < n)
		tmp[k++] =
		    strcmp(row_flow_id(rs, v[j]), row_flow_id(rs, v[i])) < 0 ? v[j++] : v[i++];
	while (i < h)
		tmp[k++] = v[i++];
	while (j < n)
		tmp[k++] = v[j++];
	memcpy(v, tmp, n * sizeof(*v));
}

/* Rows [*first, *end) of flow_id in by_flow_id order. -ENOMEM or 0. */
static int rowset_find(struct rowset *rs, const char *flow_id, size_t *first, size_t *end)
{
	size_t n = rs->rows.ncells / (size_t)rs->rows.ncols, lo = 0, hi;

	if (!rs->by_flow_id && n) {
		rs->by_flow_id = malloc(n * sizeof(*rs->by_flow_id));
		if (!rs->by_flow_id)
			return -ENOMEM;
		uint32_t *tmp = malloc(n * sizeof(*tmp));

		if (!tmp) {
			free(rs->by_flow_id);
			rs->by_flow_id = NULL;
			return -ENOMEM;
		}
		for (size_t i = 0; i < n; i++)
			rs->by_flow_id[i] = (uint32_t)i;
		merge_rows(rs, rs->by_flow_id, tmp, n);
		free(tmp);
	}
	hi = n;
	while (lo < hi) { /* first row with flow_id >= the wanted one */
		size_t mid = lo + (hi - lo) / 2;

		if (strcmp(row_flow_id(rs, rs->by_flow_id[mid]), flow_id) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	*first = lo;
	while (lo < n && !strcmp(row_flow_id(rs, rs->by_flow_id[lo]), flow_id))
		lo++;
	*end = lo;
	return 0;
}

struct fvtab {
	struct dnsreel_qvtab v;
	struct rowset *last; /* referenced; NULL before the first scan */
};

/* A cursor walks the rows of its rowset (all, or those of one flow_id through the index),
 * skipping those of another name when name = was pushed down. */
struct fcur {
	sqlite3_vtab_cursor base;
	struct rowset *rs;     /* referenced */
	const uint32_t *order; /* by_flow_id, or NULL: rows in order */
	size_t i, end;	       /* position in order (or the row), end of the walk */
	char *name;	       /* NULL = any */
	int name_col;
};

static size_t cur_row(const struct fcur *c)
{
	return c->order ? c->order[c->i] : c->i;
}

/* Moves to the first row at or after i whose name matches. */
static void cur_settle(struct fcur *c)
{
	if (!c->name)
		return;
	for (; c->i < c->end; c->i++) {
		const struct cell *cl =
		    &c->rs->rows
			 .cells[cur_row(c) * (size_t)c->rs->rows.ncols + (size_t)c->name_col];

		if (cl->s && !strcasecmp(cl->s, c->name))
			return;
	}
}

static int f_connect(sqlite3 *db, void *aux, int argc, const char *const *argv, sqlite3_vtab **out,
		     char **pzErr)
{
	const struct dnsreel_qaux *a = aux;
	const struct ftable *t = a->t->desc;

	return dnsreel_q_vtab_connect(db, aux, argc, argv, t->schema, sizeof(struct fvtab), out,
				      pzErr);
}

static int f_disconnect(sqlite3_vtab *vt)
{
	struct fvtab *v = (struct fvtab *)vt;

	rowset_unref(v->last);
	return dnsreel_q_vtab_disconnect(vt);
}

/* idxNum bits: which argv entries xFilter gets, in this order. */
enum {
	P_TS_LO = 1,	/* timestamp >= or > (argv: the bound; > adds 1) */
	P_TS_GT = 2,	/* ... the lower bound is exclusive */
	P_TS_HI = 4,	/* timestamp <= or < */
	P_TS_LT = 8,	/* ... the upper bound is exclusive */
	P_TS_EQ = 16,	/* timestamp = */
	P_NAME = 32,	/* name = */
	P_FLOW_ID = 64, /* flow_id = */
};

/* Takes timestamp ranges, name = and flow_id =; each narrows the flows a scan keeps. Cost:
 * a full reconstruction, less when the time range is bounded. SQLite checks every constraint
 * again (omit stays 0): name is compared case-insensitively here, as the flows library does. */
static int f_best_index(sqlite3_vtab *vt, sqlite3_index_info *info)
{
	const struct ftable *t = ((struct dnsreel_qvtab *)vt)->desc;
	int idx[7] = {-1, -1, -1, -1, -1, -1, -1};
	int bits = 0, argi = 0;

	for (int i = 0; i < info->nConstraint; i++) {
		const struct sqlite3_index_constraint *c = &info->aConstraint[i];

		if (!c->usable)
			continue;
		if (c->iColumn == t->ts_col && t->ts_col >= 0) {
			switch (c->op) {
			case SQLITE_INDEX_CONSTRAINT_GE:
			case SQLITE_INDEX_CONSTRAINT_GT:
				if (idx[0] < 0) {
					idx[0] = i;
					bits |= P_TS_LO |
						(c->op == SQLITE_INDEX_CONSTRAINT_GT ? P_TS_GT : 0);
				}
				break;
			case SQLITE_INDEX_CONSTRAINT_LE:
			case SQLITE_INDEX_CONSTRAINT_LT:
				if (idx[2] < 0) {
					idx[2] = i;
					bits |= P_TS_HI |
						(c->op == SQLITE_INDEX_CONSTRAINT_LT ? P_TS_LT : 0);
				}
				break;
			case SQLITE_INDEX_CONSTRAINT_EQ:
				if (idx[4] < 0) {
					idx[4] = i;
					bits |= P_TS_EQ;
				}
				break;
			default:
				break;
			}
		} else if (c->op == SQLITE_INDEX_CONSTRAINT_EQ && c->iColumn == t->name_col &&
			   t->name_col >= 0 && idx[5] < 0) {
			idx[5] = i;
			bits |= P_NAME;
		} else if (c->op == SQLITE_INDEX_CONSTRAINT_EQ && c->iColumn == t->flow_id_col &&
			   idx[6] < 0) {
			idx[6] = i;
			bits |= P_FLOW_ID;
		}
	}
	for (int k = 0; k < 7; k++)
		if (idx[k] >= 0)
			info->aConstraintUsage[idx[k]].argvIndex = ++argi;
	info->idxNum = bits;
	info->estimatedCost = 1e6;
	if (bits & (P_TS_EQ | P_FLOW_ID))
		info->estimatedCost = 1e3;
	else if (bits & (P_TS_LO | P_TS_HI))
		info->estimatedCost = 1e5;
	if (bits & P_NAME)
		info->estimatedCost /= 10;
	info->estimatedRows = (sqlite3_int64)info->estimatedCost;
	return SQLITE_OK;
}

static bool want_same(const struct want *a, const struct want *b)
{
	return a->lo == b->lo && a->hi == b->hi;
}

static char *arg_text(sqlite3_value *v, bool *bad)
{
	const unsigned char *s = sqlite3_value_text(v);
	char *d = s ? strdup((const char *)s) : NULL;

	if (!d)
		*bad = true;
	return d;
}

static int f_filter(sqlite3_vtab_cursor *cur, int idxNum, const char *idxStr, int argc,
		    sqlite3_value **argv)
{
	struct fcur *c = (struct fcur *)cur;
	struct fvtab *v = (struct fvtab *)cur->pVtab;
	const struct ftable *t = v->v.desc;
	struct want w = {.lo = INT64_MIN, .hi = INT64_MAX};
	bool none = false; /* a NULL bound or name: no row can match */
	const char *flow_id = NULL;
	int a = 0;
	char errbuf[512] = "";
	int err;

	(void)idxStr;
	rowset_unref(c->rs);
	c->rs = NULL;
	c->order = NULL;
	c->i = c->end = 0;
	free(c->name);
	c->name = NULL;
	c->name_col = t->name_col;
	if (idxNum & P_TS_LO && a < argc) {
		sqlite3_int64 x = sqlite3_value_int64(argv[a]);

		none |= sqlite3_value_type(argv[a++]) == SQLITE_NULL;
		w.lo = idxNum & P_TS_GT ? (x < INT64_MAX ? x + 1 : x) : x;
	}
	if (idxNum & P_TS_HI && a < argc) {
		sqlite3_int64 x = sqlite3_value_int64(argv[a]);

		none |= sqlite3_value_type(argv[a++]) == SQLITE_NULL;
		w.hi = idxNum & P_TS_LT ? (x > INT64_MIN ? x - 1 : x) : x;
	}
	if (idxNum & P_TS_EQ && a < argc) {
		sqlite3_int64 x = sqlite3_value_int64(argv[a]);

		none |= sqlite3_value_type(argv[a++]) == SQLITE_NULL;
		w.lo = w.lo > x ? w.lo : x;
		w.hi = w.hi < x ? w.hi : x;
	}
	if (idxNum & P_NAME && a < argc) {
		if (sqlite3_value_type(argv[a]) == SQLITE_NULL)
			none = true;
		else if (!(c->name = arg_text(argv[a], &none)))
			return SQLITE_NOMEM;
		a++;
	}
	if (idxNum & P_FLOW_ID && a < argc) {
		flow_id = (const char *)sqlite3_value_text(argv[a]);
		none |= !flow_id;
		a++;
	}
	if (none || w.lo > w.hi)
		return SQLITE_OK;
	if (!v->last || !want_same(&w, &v->last->w)) {
		struct rowset *rs = calloc(1, sizeof(*rs));

		if (!rs)
			return SQLITE_NOMEM;
		rs->refs = 1;
		rs->w = w;
		rs->flow_id_col = t->flow_id_col;
		err = build_rows(t, v->v.q, &rs->w, &rs->rows, errbuf, sizeof(errbuf));
		if (err) {
			rowset_unref(rs);
			sqlite3_free(cur->pVtab->zErrMsg);
			cur->pVtab->zErrMsg = sqlite3_mprintf("%s", errbuf);
			return err == -ENOMEM ? SQLITE_NOMEM : SQLITE_ERROR;
		}
		rowset_unref(v->last);
		v->last = rs;
	}
	c->rs = v->last;
	c->rs->refs++;
	c->end = c->rs->rows.ncells / (size_t)t->ncols;
	if (flow_id) {
		if (rowset_find(c->rs, flow_id, &c->i, &c->end))
			return SQLITE_NOMEM;
		c->order = c->rs->by_flow_id;
	}
	cur_settle(c);
	return SQLITE_OK;
}

static int f_open(sqlite3_vtab *vt, sqlite3_vtab_cursor **out)
{
	struct fcur *c = sqlite3_malloc(sizeof(*c));

	(void)vt;
	if (!c)
		return SQLITE_NOMEM;
	memset(c, 0, sizeof(*c));
	*out = &c->base;
	return SQLITE_OK;
}

static int f_close(sqlite3_vtab_cursor *cur)
{
	struct fcur *c = (struct fcur *)cur;

	rowset_unref(c->rs);
	free(c->name);
	sqlite3_free(cur);
	return SQLITE_OK;
}

static int f_next(sqlite3_vtab_cursor *cur)
{
	struct fcur *c = (struct fcur *)cur;

	c->i++;
	cur_settle(c);
	return SQLITE_OK;
}

static int f_eof(sqlite3_vtab_cursor *cur)
{
	const struct fcur *c = (const struct fcur *)cur;

	return c->i >= c->end;
}

static int f_column(sqlite3_vtab_cursor *cur, sqlite3_context *ctx, int col)
{
	const struct fcur *c = (const struct fcur *)cur;
	const struct fvtab *v = (const struct fvtab *)cur->pVtab;
	const struct ftable *t = v->v.desc;
	const struct cell *cl;

	if (col < 0 || col >= t->ncols || c->i >= c->end)
		return SQLITE_OK;
	cl = &c->rs->rows.cells[cur_row(c) * (size_t)t->ncols + (size_t)col];
	if (cl->type == SQLITE_INTEGER)
		sqlite3_result_int64(ctx, cl->i);
	else if (cl->type == SQLITE_TEXT)
		sqlite3_result_text(ctx, cl->s, -1, SQLITE_TRANSIENT);
	return SQLITE_OK;
}

static int f_rowid(sqlite3_vtab_cursor *cur, sqlite3_int64 *rowid)
{
	*rowid = (sqlite3_int64)cur_row((struct fcur *)cur);
	return SQLITE_OK;
}

static const sqlite3_module flows_module = {
    .iVersion = 0,
    .xCreate = f_connect, /* eponymous, and CREATE VIRTUAL TABLE x USING flows(DIR, ...) */
    .xConnect = f_connect,
    .xBestIndex = f_best_index,
    .xDisconnect = f_disconnect,
    .xDestroy = f_disconnect,
    .xOpen = f_open,
    .xClose = f_close,
    .xFilter = f_filter,
    .xNext = f_next,
    .xEof = f_eof,
    .xColumn = f_column,
    .xRowid = f_rowid,
    DNSREEL_Q_READ_ONLY_SLOTS,
};

const struct dnsreel_qtable dnsreel_qtable_flows = {
    .name = "flows",
    .module = &flows_module,
    .desc = &flows_table,
    .in_extension = true,
};

const struct dnsreel_qtable dnsreel_qtable_flow_events = {
    .name = "flow_events",
    .module = &flows_module,
    .desc = &flow_events_table,
    .in_extension = true,
};
