/* The dns table: one row per DNS message as the view's decoder yields it, decoded from the
 * segments frame by frame, with time, netns, name, pod, qr, rcode, capture, segment and
 * event_id constraints pushed down to the frame catalog (pushdown.c). Column names are the
 * trace_dns fields of view.h with '.' turned into '_', in trace_dns's order first.
 *
 *   SELECT k8s_podname, name, count(*) FROM dns
 *   WHERE rcode = 'NameError' AND time >= '2026-01-01T10:00' GROUP BY 1, 2 ORDER BY 3 DESC;
 */
#include <stdlib.h>

#include "cursor_int.h"
#include "dnsreel.h"

enum dns_col {
	DNS_TIMESTAMP,
	DNS_TIME,
	DNS_K8S_NODE,
	DNS_K8S_NAMESPACE,
	DNS_K8S_PODNAME,
	DNS_K8S_CONTAINERNAME,
	DNS_RUNTIME_CONTAINERNAME,
	DNS_NETNS_ID,
	DNS_PKT_TYPE,
	DNS_PROTO,
	DNS_SRC_ADDR,
	DNS_SRC_PORT,
	DNS_DST_ADDR,
	DNS_DST_PORT,
	DNS_SRC,
	DNS_DST,
	DNS_COMM,
	DNS_PID,
	DNS_TID,
	DNS_UID,
	DNS_GID,
	DNS_ID,
	DNS_QR,
	DNS_OPCODE,
	DNS_QTYPE,
	DNS_QTYPE_RAW,
	DNS_NAME,
	DNS_RCODE,
	DNS_RCODE_RAW,
	DNS_NUM_ANSWERS,
	DNS_ADDRESSES,
	DNS_LATENCY_NS,
	DNS_TC,
	DNS_RD,
	DNS_RA,
	DNS_AA,
	DNS_SIZE,
	DNS_CAPTURE,
	DNS_SEGMENT,
	DNS_RUNTIME_CONTAINERID,
	DNS_IFINDEX,
	DNS_NAMESERVER,
	DNS_AD,
	DNS_CD,
	DNS_EVENT_ID,
	DNS_OBSERVATION,
	DNS_DNSTAP_TYPE,
	DNS_DNSTAP_IDENTITY,
	DNS_NCOLS
};

static const char dns_schema[] =
    "CREATE TABLE x(timestamp INTEGER, time TEXT, k8s_node TEXT, k8s_namespace TEXT, "
    "k8s_podname TEXT, k8s_containername TEXT, runtime_containername TEXT, netns_id INTEGER, "
    "pkt_type TEXT, proto TEXT, src_addr TEXT, src_port INTEGER, dst_addr TEXT, "
    "dst_port INTEGER, src TEXT, dst TEXT, comm TEXT, pid INTEGER, tid INTEGER, uid INTEGER, "
    "gid INTEGER, id TEXT, qr TEXT, opcode TEXT, qtype TEXT, qtype_raw INTEGER, name TEXT, "
    "rcode TEXT, rcode_raw INTEGER, num_answers INTEGER, addresses TEXT, latency_ns INTEGER, "
    "tc INTEGER, rd INTEGER, ra INTEGER, aa INTEGER, size INTEGER, capture TEXT, "
    "segment INTEGER, runtime_containerid TEXT, ifindex INTEGER, nameserver TEXT, "
    "ad INTEGER, cd INTEGER, event_id INTEGER, observation TEXT, dnstap_type TEXT, "
    "dnstap_identity TEXT)";

/* needs_dns: 1 header and question, 2 the whole message (rcode: extended bits in OPT). */
static const struct qcol dns_cols[DNS_NCOLS] = {
    /* column = {field, kind, pushdown, needs_dns, needs_ns, lowcard, is_int} */
    [DNS_TIMESTAMP] = {DNSREEL_F_TIMESTAMP, CK_RAW, SEM_TS, 0, false, false, true},
    [DNS_TIME] = {DNSREEL_F_TIMESTAMP, CK_FIELD, SEM_TIME, 0, false, false, false},
    [DNS_K8S_NODE] = {DNSREEL_F_K8S_NODE, CK_FIELD, SEM_NONE, 0, false, true, false},
    [DNS_K8S_NAMESPACE] = {DNSREEL_F_K8S_NAMESPACE, CK_FIELD, SEM_NSFIELD, 0, true, true, false},
    [DNS_K8S_PODNAME] = {DNSREEL_F_K8S_PODNAME, CK_FIELD, SEM_NSFIELD, 0, true, true, false},
    [DNS_K8S_CONTAINERNAME] = {DNSREEL_F_K8S_CONTAINERNAME, CK_FIELD, SEM_NSFIELD, 0, true, true,
			       false},
    [DNS_RUNTIME_CONTAINERNAME] = {DNSREEL_F_RUNTIME_CONTAINERNAME, CK_FIELD, SEM_NSFIELD, 0, true,
				   true, false},
    [DNS_NETNS_ID] = {DNSREEL_F_NETNS_ID, CK_FIELD, SEM_NETNS, 0, false, true, true},
    [DNS_PKT_TYPE] = {DNSREEL_F_PKT_TYPE, CK_FIELD, SEM_NONE, 0, false, true, false},
    [DNS_PROTO] = {DNSREEL_F_PROTO, CK_FIELD, SEM_NONE, 0, false, true, false},
    [DNS_SRC_ADDR] = {DNSREEL_F_SRC_ADDR, CK_FIELD, SEM_NONE, 0, false, true, false},
    [DNS_SRC_PORT] = {DNSREEL_F_SRC_PORT, CK_FIELD, SEM_NONE, 0, false, false, true},
    [DNS_DST_ADDR] = {DNSREEL_F_DST_ADDR, CK_FIELD, SEM_NONE, 0, false, true, false},
    [DNS_DST_PORT] = {DNSREEL_F_DST_PORT, CK_FIELD, SEM_NONE, 0, false, false, true},
    [DNS_SRC] = {DNSREEL_F_SRC, CK_FIELD, SEM_NONE, 0, false, false, false},
    [DNS_DST] = {DNSREEL_F_DST, CK_FIELD, SEM_NONE, 0, false, false, false},
    [DNS_COMM] = {DNSREEL_F_COMM, CK_FIELD, SEM_NONE, 0, false, true, false},
    [DNS_PID] = {DNSREEL_F_PID, CK_FIELD, SEM_NONE, 0, false, true, true},
    [DNS_TID] = {DNSREEL_F_TID, CK_FIELD, SEM_NONE, 0, false, false, true},
    [DNS_UID] = {DNSREEL_F_UID, CK_FIELD, SEM_NONE, 0, false, true, true},
    [DNS_GID] = {DNSREEL_F_GID, CK_FIELD, SEM_NONE, 0, false, true, true},
    [DNS_ID] = {DNSREEL_F_ID, CK_FIELD, SEM_NONE, 1, false, false, false},
    [DNS_QR] = {DNSREEL_F_QR, CK_FIELD, SEM_QR, 1, false, true, false},
    [DNS_OPCODE] = {DNSREEL_F_OPCODE, CK_FIELD, SEM_NONE, 1, false, true, false},
    [DNS_QTYPE] = {DNSREEL_F_QTYPE, CK_FIELD, SEM_NONE, 1, false, true, false},
    [DNS_QTYPE_RAW] = {DNSREEL_F_QTYPE, CK_RAW, SEM_NONE, 1, false, true, true},
    [DNS_NAME] = {DNSREEL_F_NAME, CK_FIELD, SEM_NAME, 1, false, true, false},
    [DNS_RCODE] = {DNSREEL_F_RCODE, CK_FIELD, SEM_RCODE, 2, false, true, false},
    [DNS_RCODE_RAW] = {DNSREEL_F_RCODE, CK_RAW, SEM_RCODE_RAW, 2, false, true, true},
    [DNS_NUM_ANSWERS] = {DNSREEL_F_NUM_ANSWERS, CK_FIELD, SEM_NONE, 2, false, true, true},
    [DNS_ADDRESSES] = {DNSREEL_F_ADDRESSES, CK_FIELD, SEM_NONE, 2, false, false, false},
    [DNS_LATENCY_NS] = {DNSREEL_F_LATENCY_NS, CK_FIELD, SEM_NONE, 0, false, false, true},
    [DNS_TC] = {DNSREEL_F_TC, CK_FIELD, SEM_NONE, 1, false, true, true},
    [DNS_RD] = {DNSREEL_F_RD, CK_FIELD, SEM_NONE, 1, false, true, true},
    [DNS_RA] = {DNSREEL_F_RA, CK_FIELD, SEM_NONE, 1, false, true, true},
    [DNS_AA] = {DNSREEL_F_AA, CK_FIELD, SEM_NONE, 1, false, true, true},
    [DNS_SIZE] = {DNSREEL_F_SIZE, CK_FIELD, SEM_NONE, 0, false, false, true},
    [DNS_CAPTURE] = {DNSREEL_F_CAPTURE, CK_FIELD, SEM_CAPTURE, 0, false, true, false},
    [DNS_SEGMENT] = {DNSREEL_F_SEGMENT, CK_FIELD, SEM_SEGMENT, 0, false, true, true},
    [DNS_RUNTIME_CONTAINERID] = {DNSREEL_F_RUNTIME_CONTAINERID, CK_FIELD, SEM_NSFIELD, 0, true,
				 true, false},
    [DNS_IFINDEX] = {DNSREEL_F_IFINDEX, CK_FIELD, SEM_NONE, 0, false, true, true},
    [DNS_NAMESERVER] = {DNSREEL_F_NAMESERVER, CK_FIELD, SEM_NONE, 1, false, true, false},
    [DNS_AD] = {DNSREEL_F_AD, CK_FIELD, SEM_NONE, 1, false, true, true},
    [DNS_CD] = {DNSREEL_F_CD, CK_FIELD, SEM_NONE, 1, false, true, true},
    [DNS_EVENT_ID] = {DNSREEL_F_COUNT_, CK_EVENT_ID, SEM_EVENT_ID, 0, false, false, true},
    [DNS_OBSERVATION] = {DNSREEL_F_OBSERVATION, CK_FIELD, SEM_NONE, 0, false, true, false},
    [DNS_DNSTAP_TYPE] = {DNSREEL_F_DNSTAP_TYPE, CK_FIELD, SEM_NONE, 0, false, true, false},
    [DNS_DNSTAP_IDENTITY] = {DNSREEL_F_DNSTAP_IDENTITY, CK_FIELD, SEM_NONE, 0, false, true, false},
};

static const struct evtab dns_table = {
    .schema = dns_schema,
    .ncols = DNS_NCOLS,
    .cols = dns_cols,
    .groups = true,
    .latency_col = DNS_LATENCY_NS,
    .responses_only = false,
};

struct dns_cur {
	struct evcur c;
	/* GROUP BY inside the table (PLAN_GROUP) */
	bool grouped;
	struct qgroup_plan plan;
	struct qgroup g;
};

static int dns_step(struct evcur *c)
{
	int r = dnsreel_q_evcur_step(c);

	if (r > 0) {
		c->s.q->st.rows++;
		c->rowid++;
	}
	return r;
}

/* Counts the distinct tuples of the whole scan now, to hand them out sorted. */
static int dns_group(struct dns_cur *d, int idxNum, const char *idxStr)
{
	struct qgroup_plan *p = &d->plan;
	struct cval v;
	int r, err = 0;

	dnsreel_q_group_plan(idxNum, idxStr, DNS_NCOLS, p);
	d->grouped = true;
	while ((r = dns_step(&d->c)) > 0) {
		/* A value's text lives in the cursor's buffer until the next value. */
		for (int k = 0; k < p->ncols && !err; k++) {
			dnsreel_q_evcur_value(&d->c, &dns_cols[p->cols[k]], &v);
			err = dnsreel_q_group_put(&d->g, &v);
		}
		err = err ? err : dnsreel_q_group_end_row(&d->g);
		if (err)
			return err;
	}
	if (r < 0)
		return r;
	dnsreel_q_group_start(&d->g, p->nob, p->desc, p->mode >= 2); /* DISTINCT: once */
	d->c.rowid = 0;
	return 0;
}

static int dns_open(sqlite3_vtab *vt, sqlite3_vtab_cursor **out)
{
	return dnsreel_q_evcur_open(vt, sizeof(struct dns_cur), out);
}

static int dns_close(sqlite3_vtab_cursor *cur)
{
	struct dns_cur *d = (struct dns_cur *)cur;

	dnsreel_q_group_free(&d->g);
	dnsreel_q_evcur_close(&d->c);
	return SQLITE_OK;
}

static int dns_filter(sqlite3_vtab_cursor *cur, int idxNum, const char *idxStr, int argc,
		      sqlite3_value **argv)
{
	struct dns_cur *d = (struct dns_cur *)cur;
	int rc, err;

	dnsreel_q_group_free(&d->g);
	d->grouped = false;
	rc = dnsreel_q_evcur_filter(&d->c, idxStr, idxNum, argc, argv);
	if (rc != SQLITE_OK)
		return rc;
	err = idxNum & PLAN_GROUP ? dns_group(d, idxNum, idxStr) : dns_step(&d->c);
	return err < 0 ? dnsreel_q_evcur_error(&d->c, err) : SQLITE_OK;
}

static int dns_next(sqlite3_vtab_cursor *cur)
{
	struct dns_cur *d = (struct dns_cur *)cur;
	int r;

	if (d->grouped) {
		d->c.rowid++;
		dnsreel_q_group_next(&d->g);
		return SQLITE_OK;
	}
	r = dns_step(&d->c);
	return r < 0 ? dnsreel_q_evcur_error(&d->c, r) : SQLITE_OK;
}

static int dns_eof(sqlite3_vtab_cursor *cur)
{
	struct dns_cur *d = (struct dns_cur *)cur;

	return d->grouped ? dnsreel_q_group_eof(&d->g) : d->c.s.eof;
}

static int dns_column(sqlite3_vtab_cursor *cur, sqlite3_context *ctx, int col)
{
	struct dns_cur *d = (struct dns_cur *)cur;
	struct cval v;

	if (col < 0 || col >= DNS_NCOLS) {
		sqlite3_result_null(ctx);
	} else if (d->grouped) {
		int k = d->plan.colpos[col];

		if (k < 0)
			sqlite3_result_null(ctx);
		else
			dnsreel_q_result(ctx, &d->g.vals[k], true);
	} else {
		dnsreel_q_evcur_value(&d->c, &dns_cols[col], &v);
		dnsreel_q_result(ctx, &v, false);
	}
	return SQLITE_OK;
}

static const sqlite3_module dns_module = {
    .iVersion = 0,
    .xCreate = dnsreel_q_evtab_connect, /* eponymous, and CREATE VIRTUAL TABLE x USING dns(DIR) */
    .xConnect = dnsreel_q_evtab_connect,
    .xBestIndex = dnsreel_q_evtab_best_index,
    .xDisconnect = dnsreel_q_vtab_disconnect,
    .xDestroy = dnsreel_q_vtab_disconnect,
    .xOpen = dns_open,
    .xClose = dns_close,
    .xFilter = dns_filter,
    .xNext = dns_next,
    .xEof = dns_eof,
    .xColumn = dns_column,
    .xRowid = dnsreel_q_evcur_rowid,
    DNSREEL_Q_READ_ONLY_SLOTS,
};

const struct dnsreel_qtable dnsreel_qtable_dns = {
    .name = "dns",
    .module = &dns_module,
    .desc = &dns_table,
    .in_extension = true,
};
