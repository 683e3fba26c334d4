/* Context and catalog tables: netns, pods, processes, services, segments, frames,
 * capture_info, counters. Small, so each scan materializes its rows from the readers. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dnsreel.h"
#include "qint.h"

enum ctab {
	T_NETNS,
	T_PODS,
	T_PROCESSES,
	T_SERVICES,
	T_SEGMENTS,
	T_FRAMES,
	T_CAPTURE_INFO,
	T_COUNTERS,
	T_COUNT_
};

static const struct {
	const char *name;
	const char *schema;
} ctabs[T_COUNT_] = {
    [T_NETNS] = {"netns", "CREATE TABLE x(capture TEXT, netns_id INTEGER, name TEXT, "
			  "host INTEGER, gone INTEGER, first_seen INTEGER, k8s_namespace TEXT, "
			  "k8s_podname TEXT, k8s_pod_uid TEXT, k8s_containername TEXT, "
			  "runtime_containername TEXT, runtime_containerid TEXT, ips TEXT)"},
    [T_PODS] = {"pods", "CREATE TABLE x(capture TEXT, k8s_node TEXT, k8s_namespace TEXT, "
			"k8s_podname TEXT, k8s_pod_uid TEXT, k8s_containername TEXT, "
			"runtime_containername TEXT, runtime_containerid TEXT, netns_id INTEGER, "
			"ips TEXT)"},
    [T_PROCESSES] = {"processes",
		     "CREATE TABLE x(capture TEXT, pid INTEGER, ppid INTEGER, start_ns INTEGER, "
		     "netns_id INTEGER, cgroup_id INTEGER, uid INTEGER, gid INTEGER, comm TEXT, "
		     "cmdline TEXT, cgroup TEXT, k8s_pod_uid TEXT, runtime_containerid TEXT)"},
    [T_SERVICES] = {"services", "CREATE TABLE x(capture TEXT, addr TEXT, port INTEGER, "
				"proto INTEGER, k8s_namespace TEXT, name TEXT)"},
    [T_SEGMENTS] = {"segments",
		    "CREATE TABLE x(capture TEXT, segment INTEGER, frames INTEGER, events INTEGER, "
		    "bytes INTEGER, first_timestamp INTEGER, last_timestamp INTEGER)"},
    [T_FRAMES] = {"frames",
		  "CREATE TABLE x(capture TEXT, frame INTEGER, segment INTEGER, offset INTEGER, "
		  "length INTEGER, events INTEGER, first_timestamp INTEGER, "
		  "last_timestamp INTEGER, qr_mask INTEGER, rcode_mask INTEGER, "
		  "proto_mask INTEGER, netns_count INTEGER)"},
    [T_CAPTURE_INFO] = {"capture_info", "CREATE TABLE x(capture TEXT, key TEXT, value)"},
    [T_COUNTERS] = {"counters", "CREATE TABLE x(capture TEXT, name TEXT, value INTEGER)"},
};

struct cell {
	int type;
	int64_t i;
	char *s;
};

struct ctab_vtab {
	sqlite3_vtab base;
	struct dnsreel_query *q;
	enum ctab kind;
	int ncols;
};

struct ctab_cur {
	sqlite3_vtab_cursor base;
	struct cell *cells;
	size_t ncells, cap;
	int ncols;
	size_t row, nrows;
};

static int put(struct ctab_cur *c, int type, int64_t i, const char *s)
{
	struct cell *x;

	if (c->ncells == c->cap) {
		size_t nc = c->cap ? c->cap * 2 : 256;
		struct cell *n = realloc(c->cells, nc * sizeof(*n));

		if (!n)
			return -ENOMEM;
		c->cells = n;
		c->cap = nc;
	}
	x = &c->cells[c->ncells];
	x->type = type;
	x->i = i;
	x->s = NULL;
	if (type == SQLITE_TEXT) {
		x->s = strdup(s ? s : "");
		if (!x->s)
			return -ENOMEM;
	}
	c->ncells++;
	return 0;
}

static int put_i(struct ctab_cur *c, int64_t i)
{
	return put(c, SQLITE_INTEGER, i, NULL);
}

static int put_s(struct ctab_cur *c, const char *s)
{
	return put(c, SQLITE_TEXT, 0, s);
}

/* Empty context strings mean unknown. */
static int put_sn(struct ctab_cur *c, const char *s)
{
	return s && s[0] ? put(c, SQLITE_TEXT, 0, s) : put(c, SQLITE_NULL, 0, NULL);
}

static void clear(struct ctab_cur *c)
{
	for (size_t i = 0; i < c->ncells; i++)
		free(c->cells[i].s);
	c->ncells = 0;
	c->row = c->nrows = 0;
}

static int fill(struct ctab_cur *c, struct dnsreel_query *q, enum ctab kind)
{
	int e = 0;

	for (size_t ci = 0; ci < q->n && !e; ci++) {
		const struct dnsreel_capr *r = q->capr[ci];
		const struct dnsreel_meta *m = dnsreel_capr__meta(r);
		const char *cap = q->paths[ci];
		int64_t off = m ? m->boot_to_wall_ns : 0;

		switch (kind) {
		case T_NETNS:
		case T_PODS:
			for (size_t i = 0; i < dnsreel_capr__netns_count(r) && !e; i++) {
				const struct dnsreel_netns_ctx *ns = dnsreel_capr__netns_at(r, i);

				if (kind == T_PODS && !ns->k8s_podname[0])
					continue;
				e = put_s(c, cap);
				if (kind == T_PODS) {
					e = e ?: put_sn(c, m ? m->node : NULL);
					e = e ?: put_sn(c, ns->k8s_namespace);
					e = e ?: put_sn(c, ns->k8s_podname);
					e = e ?: put_sn(c, ns->k8s_pod_uid);
					e = e ?: put_sn(c, ns->k8s_containername);
					e = e ?: put_sn(c, ns->runtime_containername);
					e = e ?: put_sn(c, ns->runtime_containerid);
					e = e ?: put_i(c, (int64_t)ns->netns);
					e = e ?: put_sn(c, ns->ips);
				} else {
					e = e ?: put_i(c, (int64_t)ns->netns);
					e = e ?: put_sn(c, ns->name);
					e = e ?: put_i(c, !!(ns->flags & DNSREEL_NETNS_HOST));
					e = e ?: put_i(c, !!(ns->flags & DNSREEL_NETNS_GONE));
					e = e
						?: put_i(c, ns->first_seen_ns
								? ns->first_seen_ns + off
								: 0);
					e = e ?: put_sn(c, ns->k8s_namespace);
					e = e ?: put_sn(c, ns->k8s_podname);
					e = e ?: put_sn(c, ns->k8s_pod_uid);
					e = e ?: put_sn(c, ns->k8s_containername);
					e = e ?: put_sn(c, ns->runtime_containername);
					e = e ?: put_sn(c, ns->runtime_containerid);
					e = e ?: put_sn(c, ns->ips);
				}
				c->nrows++;
			}
			break;
		case T_PROCESSES:
			for (size_t i = 0; i < dnsreel_capr__proc_count(r) && !e; i++) {
				const struct dnsreel_proc_ctx *p = dnsreel_capr__proc_at(r, i);
				char comm[sizeof(p->comm) + 1];

				memcpy(comm, p->comm, sizeof(p->comm));
				comm[sizeof(p->comm)] = 0;
				e = put_s(c, cap);
				e = e ?: put_i(c, p->pid);
				e = e ?: put_i(c, p->ppid);
				e = e ?: put_i(c, (int64_t)p->start_ns);
				e = e ?: put_i(c, (int64_t)p->netns);
				e = e ?: put_i(c, (int64_t)p->cgroup_id);
				e = e ?: put_i(c, p->uid);
				e = e ?: put_i(c, p->gid);
				e = e ?: put_sn(c, comm);
				e = e ?: put_sn(c, p->cmdline);
				e = e ?: put_sn(c, p->cgroup);
				e = e ?: put_sn(c, p->k8s_pod_uid);
				e = e ?: put_sn(c, p->runtime_containerid);
				c->nrows++;
			}
			break;
		case T_SERVICES:
			for (size_t i = 0; i < dnsreel_capr__service_count(r) && !e; i++) {
				const struct dnsreel_service_ctx *sv =
				    dnsreel_capr__service_at(r, i);
				char a[INET6_ADDRSTRLEN] = "";

				inet_ntop(sv->ip_version == 6 ? AF_INET6 : AF_INET, sv->addr, a,
					  sizeof(a));
				e = put_s(c, cap);
				e = e ?: put_s(c, a);
				e = e ?: put_i(c, sv->port);
				e = e ?: put_i(c, sv->proto);
				e = e ?: put_sn(c, sv->k8s_namespace);
				e = e ?: put_sn(c, sv->name);
				c->nrows++;
			}
			break;
		case T_SEGMENTS: {
			/* Catalog order is by time; segments are listed in first-seen order. */
			size_t nf = dnsreel_capr__frame_count(r);
			struct seg {
				uint32_t seg;
				uint64_t frames, events, bytes;
				int64_t first, last;
			} *segs = NULL;
			size_t ns = 0;

			for (size_t i = 0; i < nf; i++) {
				const struct dnsreel_frame_info *f = dnsreel_capr__frame(r, i);
				size_t k;

				for (k = 0; k < ns && segs[k].seg != f->segment; k++)
					;
				if (k == ns) {
					struct seg *n = realloc(segs, (ns + 1) * sizeof(*n));

					if (!n) {
						e = -ENOMEM;
						break;
					}
					segs = n;
					segs[ns++] = (struct seg){f->segment,  0,	  0, 0,
								  f->first_ts, f->last_ts};
				}
				segs[k].frames++;
				segs[k].events += f->events;
				segs[k].bytes += f->length;
				if (f->first_ts < segs[k].first)
					segs[k].first = f->first_ts;
				if (f->last_ts > segs[k].last)
					segs[k].last = f->last_ts;
			}
			for (size_t k = 0; k < ns && !e; k++) {
				e = put_s(c, cap);
				e = e ?: put_i(c, segs[k].seg);
				e = e ?: put_i(c, (int64_t)segs[k].frames);
				e = e ?: put_i(c, (int64_t)segs[k].events);
				e = e ?: put_i(c, (int64_t)segs[k].bytes);
				e = e ?: put_i(c, segs[k].first + off);
				e = e ?: put_i(c, segs[k].last + off);
				c->nrows++;
			}
			free(segs);
			break;
		}
		case T_FRAMES:
			for (size_t i = 0; i < dnsreel_capr__frame_count(r) && !e; i++) {
				const struct dnsreel_frame_info *f = dnsreel_capr__frame(r, i);

				e = put_s(c, cap);
				e = e ?: put_i(c, (int64_t)i);
				e = e ?: put_i(c, f->segment);
				e = e ?: put_i(c, (int64_t)f->offset);
				e = e ?: put_i(c, f->length);
				e = e ?: put_i(c, f->events);
				e = e ?: put_i(c, f->first_ts + off);
				e = e ?: put_i(c, f->last_ts + off);
				e = e ?: put_i(c, f->qr_mask);
				e = e ?: put_i(c, f->rcode_mask);
				e = e ?: put_i(c, f->proto_mask);
				e = e ?: put_i(c, f->netns_count);
				c->nrows++;
			}
			break;
		case T_CAPTURE_INFO: {
			struct dnsreel_capr_summary sm;
			char tmp[64];

			dnsreel_capr__summary(r, &sm);
#define KV_S(k, v)                                                                                 \
	do {                                                                                       \
		e = e ?: put_s(c, cap);                                                            \
		e = e ?: put_s(c, k);                                                              \
		e = e ?: put_s(c, v);                                                              \
		c->nrows++;                                                                        \
	} while (0)
#define KV_I(k, v)                                                                                 \
	do {                                                                                       \
		e = e ?: put_s(c, cap);                                                            \
		e = e ?: put_s(c, k);                                                              \
		e = e ?: put_i(c, (int64_t)(v));                                                   \
		c->nrows++;                                                                        \
	} while (0)
			if (m) {
				snprintf(tmp, sizeof(tmp), "%u.%u", m->format_major,
					 m->format_minor);
				KV_S("format_version", tmp);
				KV_S("capture_id", m->capture_id);
				KV_S("node", m->node);
				KV_S("kernel", m->kernel);
				KV_S("recorder", m->recorder);
				KV_I("boot_to_wall_ns", m->boot_to_wall_ns);
				KV_I("start_wall_ns", m->start_wall_ns);
				KV_I("snaplen", m->snaplen);
			}
			KV_I("events", sm.events);
			KV_I("frames", sm.frames);
			KV_I("segments", sm.segments);
			KV_I("bytes_segments", sm.bytes_segments);
			KV_I("bytes_index", sm.bytes_index);
			KV_I("first_timestamp", sm.first_ts + off);
			KV_I("last_timestamp", sm.last_ts + off);
#undef KV_S
#undef KV_I
			break;
		}
		case T_COUNTERS:
			for (size_t i = 0; i < dnsreel_capr__counter_count(r) && !e; i++) {
				const struct dnsreel_counter *k = dnsreel_capr__counter_at(r, i);

				e = put_s(c, cap);
				e = e ?: put_s(c, k->name);
				e = e ?: put_i(c, (int64_t)k->value);
				c->nrows++;
			}
			break;
		default:
			break;
		}
	}
	return e;
}

static int ct_connect(sqlite3 *db, void *aux, int argc, const char *const *argv, sqlite3_vtab **out,
		      char **pzErr, enum ctab kind)
{
	struct dnsreel_query *q;
	struct ctab_vtab *v;
	int rc;

	if (argc > 3) {
		q = dnsreel_q_open_args(argc - 3, argv + 3, pzErr);
	} else {
		q = dnsreel_q_holder_get(aux, db, pzErr);
		if (q)
			dnsreel_q_ref(q);
	}
	if (!q)
		return SQLITE_ERROR;
	rc = sqlite3_declare_vtab(db, ctabs[kind].schema);
	if (rc != SQLITE_OK) {
		dnsreel_query__unref(q);
		return rc;
	}
	sqlite3_vtab_config(db, SQLITE_VTAB_INNOCUOUS);
	v = sqlite3_malloc(sizeof(*v));
	if (!v) {
		dnsreel_query__unref(q);
		return SQLITE_NOMEM;
	}
	memset(v, 0, sizeof(*v));
	v->q = q;
	v->kind = kind;
	for (const char *p = ctabs[kind].schema; *p; p++)
		v->ncols += *p == ',';
	v->ncols++;
	*out = &v->base;
	return SQLITE_OK;
}

#define CONNECT_FN(K)                                                                              \
	static int ct_connect_##K(sqlite3 *db, void *aux, int argc, const char *const *argv,       \
				  sqlite3_vtab **out, char **pzErr)                                \
	{                                                                                          \
		return ct_connect(db, aux, argc, argv, out, pzErr, K);                             \
	}
CONNECT_FN(T_NETNS)
CONNECT_FN(T_PODS)
CONNECT_FN(T_PROCESSES)
CONNECT_FN(T_SERVICES)
CONNECT_FN(T_SEGMENTS)
CONNECT_FN(T_FRAMES)
CONNECT_FN(T_CAPTURE_INFO)
CONNECT_FN(T_COUNTERS)

static int ct_disconnect(sqlite3_vtab *vt)
{
	struct ctab_vtab *v = (struct ctab_vtab *)vt;

	dnsreel_query__unref(v->q);
	sqlite3_free(v);
	return SQLITE_OK;
}

static int ct_best_index(sqlite3_vtab *vt, sqlite3_index_info *info)
{
	(void)vt;
	info->estimatedCost = 1000;
	info->estimatedRows = 100;
	return SQLITE_OK;
}

static int ct_open(sqlite3_vtab *vt, sqlite3_vtab_cursor **out)
{
	struct ctab_cur *c = calloc(1, sizeof(*c));

	if (!c)
		return SQLITE_NOMEM;
	c->ncols = ((struct ctab_vtab *)vt)->ncols;
	*out = &c->base;
	return SQLITE_OK;
}

static int ct_close(sqlite3_vtab_cursor *cur)
{
	struct ctab_cur *c = (struct ctab_cur *)cur;

	clear(c);
	free(c->cells);
	free(c);
	return SQLITE_OK;
}

static int ct_filter(sqlite3_vtab_cursor *cur, int idxNum, const char *idxStr, int argc,
		     sqlite3_value **argv)
{
	struct ctab_cur *c = (struct ctab_cur *)cur;
	struct ctab_vtab *v = (struct ctab_vtab *)cur->pVtab;
	int e;

	(void)idxNum;
	(void)idxStr;
	(void)argc;
	(void)argv;
	clear(c);
	e = fill(c, v->q, v->kind);
	if (e) {
		clear(c);
		return e == -ENOMEM ? SQLITE_NOMEM : SQLITE_ERROR;
	}
	return SQLITE_OK;
}

static int ct_next(sqlite3_vtab_cursor *cur)
{
	((struct ctab_cur *)cur)->row++;
	return SQLITE_OK;
}

static int ct_eof(sqlite3_vtab_cursor *cur)
{
	struct ctab_cur *c = (struct ctab_cur *)cur;

	return c->row >= c->nrows;
}

static int ct_column(sqlite3_vtab_cursor *cur, sqlite3_context *ctx, int col)
{
	struct ctab_cur *c = (struct ctab_cur *)cur;
	const struct cell *x;

	if (col < 0 || col >= c->ncols) {
		sqlite3_result_null(ctx);
		return SQLITE_OK;
	}
	x = &c->cells[c->row * (size_t)c->ncols + (size_t)col];
	if (x->type == SQLITE_INTEGER)
		sqlite3_result_int64(ctx, x->i);
	else if (x->type == SQLITE_TEXT)
		sqlite3_result_text(ctx, x->s, -1, SQLITE_STATIC);
	else
		sqlite3_result_null(ctx);
	return SQLITE_OK;
}

static int ct_rowid(sqlite3_vtab_cursor *cur, sqlite3_int64 *rowid)
{
	*rowid = (sqlite3_int64)((struct ctab_cur *)cur)->row;
	return SQLITE_OK;
}

#define MODULE(K)                                                                                  \
	{                                                                                          \
		.xCreate = ct_connect_##K, .xConnect = ct_connect_##K,                             \
		.xBestIndex = ct_best_index, .xDisconnect = ct_disconnect,                         \
		.xDestroy = ct_disconnect, .xOpen = ct_open, .xClose = ct_close,                   \
		.xFilter = ct_filter, .xNext = ct_next, .xEof = ct_eof, .xColumn = ct_column,      \
		.xRowid = ct_rowid,                                                                \
	}

static const sqlite3_module ct_modules[T_COUNT_] = {
    [T_NETNS] = MODULE(T_NETNS),
    [T_PODS] = MODULE(T_PODS),
    [T_PROCESSES] = MODULE(T_PROCESSES),
    [T_SERVICES] = MODULE(T_SERVICES),
    [T_SEGMENTS] = MODULE(T_SEGMENTS),
    [T_FRAMES] = MODULE(T_FRAMES),
    [T_CAPTURE_INFO] = MODULE(T_CAPTURE_INFO),
    [T_COUNTERS] = MODULE(T_COUNTERS),
};

int dnsreel_q_register_ctx_tables(struct dnsreel_qholder *h, sqlite3 *db, bool only_pods)
{
	for (int k = 0; k < T_COUNT_; k++) {
		int rc;

		/* In the sqlite3 shell the index's own tables carry these names; pods is ours. */
		if (only_pods && k != T_PODS)
			continue;
		h->refs++;
		rc = sqlite3_create_module_v2(db, ctabs[k].name, &ct_modules[k], h,
					      dnsreel_q_holder_unref);
		if (rc != SQLITE_OK)
			return rc;
	}
	return SQLITE_OK;
}
