/* The answers table: one row per resource record (answer, authority and additional sections)
 * of every response, from the same scan as dns; event_id joins the two.
 *
 *   SELECT d.k8s_podname, a.name, a.type, a.data, a.ttl FROM answers a JOIN dns d USING (event_id)
 *   WHERE a.section = 'answer' AND a.type = 'CNAME';
 */
#include <errno.h>
#include <stdlib.h>

#include "cursor_int.h"
#include "dnsreel.h"

enum ans_col {
	A_EVENT_ID,
	A_CAPTURE,
	A_SEGMENT,
	A_TIMESTAMP,
	A_SECTION,
	A_RR_INDEX,
	A_NAME,
	A_TYPE,
	A_TYPE_RAW,
	A_CLASS,
	A_TTL,
	A_DATA,
	A_NCOLS
};

static const char ans_schema[] =
    "CREATE TABLE x(event_id INTEGER, capture TEXT, segment INTEGER, timestamp INTEGER, "
    "section TEXT, rr_index INTEGER, name TEXT, type TEXT, type_raw INTEGER, class TEXT, "
    "ttl INTEGER, data TEXT)";

/* Only the columns that prune frames say more than their kind. */
static const struct qcol ans_cols[A_NCOLS] = {
    [A_EVENT_ID] = {.kind = CK_EVENT_ID, .sem = SEM_EVENT_ID},
    [A_CAPTURE] = {.f = DNSREEL_F_CAPTURE, .kind = CK_FIELD, .sem = SEM_CAPTURE},
    [A_SEGMENT] = {.kind = CK_OTHER, .sem = SEM_SEGMENT},
    [A_TIMESTAMP] = {.kind = CK_OTHER, .sem = SEM_TS},
    [A_SECTION] = {.kind = CK_OTHER},
    [A_RR_INDEX] = {.kind = CK_OTHER},
    [A_NAME] = {.kind = CK_OTHER},
    [A_TYPE] = {.kind = CK_OTHER},
    [A_TYPE_RAW] = {.kind = CK_OTHER},
    [A_CLASS] = {.kind = CK_OTHER},
    [A_TTL] = {.kind = CK_OTHER},
    [A_DATA] = {.kind = CK_OTHER},
};

static const struct evtab ans_table = {
    .schema = ans_schema,
    .ncols = A_NCOLS,
    .cols = ans_cols,
    .groups = false,
    .latency_col = -1,
    .responses_only = true,
};

struct ans_cur {
	struct evcur c;
	struct dnsreel_dns_iter it;
	struct dnsreel_dns_rr rr;
	bool in_msg;
	char *dbuf;
	size_t dbuf_cap;
};

/* Moves to the next RR of a response; 0 with a row or at the end (s.eof), negative on error. */
static int ans_advance(struct ans_cur *a)
{
	struct evcur *c = &a->c;

	for (;;) {
		const uint8_t *m;
		int r;

		if (a->in_msg) {
			if (dnsreel_dns_iter_next(&a->it, &a->rr) == 1) {
				c->rowid++;
				c->s.q->st.rows++;
				return 0;
			}
			a->in_msg = false;
		}
		r = dnsreel_q_evcur_step(c);
		if (r <= 0)
			return r;
		m = dnsreel_q_row_msg(&c->s, c->row);
		if (dnsreel_dns_qr(m, c->row->msg_len) != 1 ||
		    dnsreel_dns_iter_init(&a->it, m, c->row->msg_len) < 0)
			continue;
		a->in_msg = true;
	}
}

static int ans_open(sqlite3_vtab *vt, sqlite3_vtab_cursor **out)
{
	return dnsreel_q_evcur_open(vt, sizeof(struct ans_cur), out);
}

static int ans_close(sqlite3_vtab_cursor *cur)
{
	struct ans_cur *a = (struct ans_cur *)cur;

	free(a->dbuf);
	dnsreel_q_evcur_close(&a->c);
	return SQLITE_OK;
}

static int ans_filter(sqlite3_vtab_cursor *cur, int idxNum, const char *idxStr, int argc,
		      sqlite3_value **argv)
{
	struct ans_cur *a = (struct ans_cur *)cur;
	int rc = dnsreel_q_evcur_filter(&a->c, idxStr, idxNum, argc, argv);

	a->in_msg = false;
	if (rc != SQLITE_OK)
		return rc;
	rc = ans_advance(a);
	return rc < 0 ? dnsreel_q_evcur_error(&a->c, rc) : SQLITE_OK;
}

static int ans_next(sqlite3_vtab_cursor *cur)
{
	struct ans_cur *a = (struct ans_cur *)cur;
	int r = ans_advance(a);

	return r < 0 ? dnsreel_q_evcur_error(&a->c, r) : SQLITE_OK;
}

static int ans_eof(sqlite3_vtab_cursor *cur)
{
	struct ans_cur *a = (struct ans_cur *)cur;

	return !a->in_msg && a->c.s.eof;
}

/* RDATA text into the cursor's buffer, grown for long records; its length or negative. */
static int ans_rdata(struct ans_cur *a)
{
	const uint8_t *m = dnsreel_q_row_msg(&a->c.s, a->c.row);
	int n = DNSREEL_E_LIMIT;

	if (a->dbuf)
		n = dnsreel_dns_rdata_str(m, a->c.row->msg_len, &a->rr, a->dbuf, a->dbuf_cap);
	while (n == DNSREEL_E_LIMIT && a->dbuf_cap < (1u << 18)) {
		size_t nc = a->dbuf_cap ? a->dbuf_cap * 4 : 4096;
		char *nb = realloc(a->dbuf, nc);

		if (!nb)
			return -ENOMEM;
		a->dbuf = nb;
		a->dbuf_cap = nc;
		n = dnsreel_dns_rdata_str(m, a->c.row->msg_len, &a->rr, a->dbuf, a->dbuf_cap);
	}
	return n;
}

static const char *section_name(uint8_t s)
{
	switch (s) {
	case DNSREEL_DNS_ANSWER:
		return "answer";
	case DNSREEL_DNS_AUTHORITY:
		return "authority";
	case DNSREEL_DNS_ADDITIONAL:
		return "additional";
	default:
		return NULL;
	}
}

static int ans_column(sqlite3_vtab_cursor *cur, sqlite3_context *ctx, int col)
{
	struct ans_cur *a = (struct ans_cur *)cur;
	const struct dnsreel_dns_rr *rr = &a->rr;
	static const struct qcol capture = {.f = DNSREEL_F_CAPTURE, .kind = CK_FIELD};
	struct cval v;
	const char *s;
	int n;

	switch (col) {
	case A_EVENT_ID:
		sqlite3_result_int64(ctx, (sqlite3_int64)dnsreel_q_row_key(&a->c.s, a->c.row));
		break;
	case A_CAPTURE:
		dnsreel_q_evcur_value(&a->c, &capture, &v);
		dnsreel_q_result(ctx, &v, false);
		break;
	case A_SEGMENT:
		sqlite3_result_int64(ctx, a->c.s.blk_segment);
		break;
	case A_TIMESTAMP:
		sqlite3_result_int64(ctx, dnsreel_q_evcur_rec(&a->c)->wall_ns);
		break;
	case A_SECTION:
		s = section_name(rr->section);
		if (s)
			sqlite3_result_text(ctx, s, -1, SQLITE_STATIC);
		else
			sqlite3_result_null(ctx);
		break;
	case A_RR_INDEX:
		sqlite3_result_int64(ctx, (sqlite3_int64)a->it.index - 1);
		break;
	case A_NAME:
		sqlite3_result_text(ctx, rr->name, -1, SQLITE_TRANSIENT);
		break;
	case A_TYPE:
		s = dnsreel_dns_type_name(rr->type);
		if (s)
			sqlite3_result_text(ctx, s, -1, SQLITE_STATIC);
		else
			sqlite3_result_text(ctx, sqlite3_mprintf("%u", rr->type), -1, sqlite3_free);
		break;
	case A_TYPE_RAW:
		sqlite3_result_int64(ctx, rr->type);
		break;
	case A_CLASS:
		if (rr->type == 41) /* OPT: the class field is the UDP payload size */
			sqlite3_result_null(ctx);
		else if (rr->class == 1)
			sqlite3_result_text(ctx, "IN", 2, SQLITE_STATIC);
		else if (rr->class == 3)
			sqlite3_result_text(ctx, "CH", 2, SQLITE_STATIC);
		else if (rr->class == 4)
			sqlite3_result_text(ctx, "HS", 2, SQLITE_STATIC);
		else
			sqlite3_result_text(ctx, sqlite3_mprintf("CLASS%u", rr->class), -1,
					    sqlite3_free);
		break;
	case A_TTL:
		sqlite3_result_int64(ctx, rr->ttl);
		break;
	case A_DATA:
		n = ans_rdata(a);
		if (n == -ENOMEM)
			return SQLITE_NOMEM;
		if (n < 0)
			sqlite3_result_null(ctx);
		else
			sqlite3_result_text(ctx, a->dbuf, n, SQLITE_TRANSIENT);
		break;
	default:
		sqlite3_result_null(ctx);
	}
	return SQLITE_OK;
}
static const sqlite3_module ans_module = {
    .iVersion = 0,
    .xCreate =
	dnsreel_q_evtab_connect, /* eponymous, and CREATE VIRTUAL TABLE x USING answers(DIR) */
    .xConnect = dnsreel_q_evtab_connect,
    .xBestIndex = dnsreel_q_evtab_best_index,
    .xDisconnect = dnsreel_q_vtab_disconnect,
    .xDestroy = dnsreel_q_vtab_disconnect,
    .xOpen = ans_open,
    .xClose = ans_close,
    .xFilter = ans_filter,
    .xNext = ans_next,
    .xEof = ans_eof,
    .xColumn = ans_column,
    .xRowid = dnsreel_q_evcur_rowid,
    DNSREEL_Q_READ_ONLY_SLOTS,
};

const struct dnsreel_qtable dnsreel_qtable_answers = {
    .name = "answers",
    .module = &ans_module,
    .desc = &ans_table,
    .in_extension = true,
};
