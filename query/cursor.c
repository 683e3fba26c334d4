/* The cursor of the dns and answers tables: a scan per xFilter, and per row only the decoding
 * the asked-for columns need (the event and its capture, the netns context, the header and
 * question, the whole message), each at most once. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cursor_int.h"
#include "dnsreel.h"

int dnsreel_q_evtab_connect(sqlite3 *db, void *aux, int argc, const char *const *argv,
			    sqlite3_vtab **out, char **pzErr)
{
	const struct evtab *t = ((const struct dnsreel_qaux *)aux)->t->desc;

	return dnsreel_q_vtab_connect(db, aux, argc, argv, t->schema, sizeof(struct dnsreel_qvtab),
				      out, pzErr);
}

int dnsreel_q_evtab_best_index(sqlite3_vtab *vt, sqlite3_index_info *info)
{
	const struct dnsreel_qvtab *v = (const struct dnsreel_qvtab *)vt;

	return dnsreel_q_best_index(v->desc, v->q, info);
}

int dnsreel_q_evcur_rowid(sqlite3_vtab_cursor *cur, sqlite3_int64 *rowid)
{
	*rowid = ((struct evcur *)cur)->rowid;
	return SQLITE_OK;
}

int dnsreel_q_evcur_open(sqlite3_vtab *vt, size_t size, sqlite3_vtab_cursor **out)
{
	const struct dnsreel_qvtab *v = (const struct dnsreel_qvtab *)vt;
	struct evcur *c = calloc(1, size);

	if (!c)
		return SQLITE_NOMEM;
	c->s.q = v->q;
	c->t = v->desc;
	if (dnsreel_dns_ncache__new(&c->ncache)) {
		free(c);
		return SQLITE_NOMEM;
	}
	c->s.eof = true;
	*out = &c->base;
	return SQLITE_OK;
}

void dnsreel_q_evcur_close(struct evcur *c)
{
	dnsreel_q_scan_free(&c->s);
	dnsreel_dns_ncache__free(c->ncache);
	free(c);
}

int dnsreel_q_evcur_error(struct evcur *c, int err)
{
	sqlite3_vtab *vt = c->base.pVtab;

	sqlite3_free(vt->zErrMsg);
	if (err == DNSREEL_E_LIMIT)
		vt->zErrMsg = sqlite3_mprintf(DNSREEL_Q_ERR_PREFIX
					      "too many groups to group inside the table; "
					      "write GROUP BY +column to let SQLite sort instead");
	else
		vt->zErrMsg = sqlite3_mprintf(DNSREEL_Q_ERR_PREFIX "%s",
					      c->s.errmsg[0] ? c->s.errmsg : dnsreel_strerror(err));
	return err == -ENOMEM ? SQLITE_NOMEM : SQLITE_ERROR;
}

int dnsreel_q_evcur_filter(struct evcur *c, const char *idxStr, int idxNum, int argc,
			   sqlite3_value **argv)
{
	struct scan *s = &c->s;
	const struct dnsreel_query *q = s->q;
	int err;

	dnsreel_q_scan_stop(s);
	s->errmsg[0] = 0;
	s->pushdown = !q->opts.no_pushdown;
	s->use_decoder_all = q->opts.no_fast_path || (idxNum & PLAN_LATENCY);
	err = dnsreel_q_scan_config(s, c->t, idxStr, argc, argv);
	if (err)
		return dnsreel_q_evcur_error(c, err);
	dnsreel_q_scan_start(s);
	c->rowid = 0;
	return SQLITE_OK;
}

int dnsreel_q_evcur_step(struct evcur *c)
{
	int r = dnsreel_q_scan_next(&c->s);

	if (r > 0) {
		c->row = &c->s.rows[c->s.pos - 1];
		c->rec_ready = false;
		c->dns_level = 0;
	}
	return r;
}

const struct dnsreel_rec *dnsreel_q_evcur_rec(struct evcur *c)
{
	const struct qrow *r = c->row;
	const struct dnsreel_event *ev;

	if (c->rec_ready)
		return &c->rec;
	ev = dnsreel_q_row_ev(&c->s, r);
	c->rec.ctx = c->s.q->ctx;
	c->rec.ev = ev;
	c->rec.ns = NULL; /* looked up when a column needs it */
	c->ns_ready = false;
	c->rec.capture = c->s.blk_cap;
	c->rec.segment = c->s.blk_segment;
	c->rec.wall_ns = ev->ts_ns + c->s.caps[c->s.blk_cap].boot_to_wall; /* per capture */
	c->rec.msg = dnsreel_q_row_msg(&c->s, r);
	c->rec.msg_len = r->msg_len;
	c->rec.latency_ns = r->latency;
	c->rec_ready = true;
	return &c->rec;
}

void dnsreel_q_evcur_value(struct evcur *c, const struct qcol *qc, struct cval *out)
{
	struct dnsreel_value v;

	if (qc->kind == CK_EVENT_ID) {
		out->type = SQLITE_INTEGER;
		out->i = (int64_t)dnsreel_q_row_key(&c->s, c->row);
		return;
	}
	dnsreel_q_evcur_rec(c);
	if (qc->needs_dns > c->dns_level) {
		if (qc->needs_dns >= 2)
			dnsreel_dns_parse(c->rec.msg, c->rec.msg_len, &c->rec.dns);
		else
			dnsreel_dns_parse_question(c->rec.msg, c->rec.msg_len, &c->rec.dns,
						   c->ncache);
		c->dns_level = qc->needs_dns;
	}
	if (qc->needs_ns && !c->ns_ready) {
		c->rec.ns = dnsreel_ctx__netns(c->s.q->ctx, c->s.blk_cap, c->rec.ev->netns);
		c->ns_ready = true;
	}
	memset(&v, 0, sizeof(v));
	dnsreel_rec__value(&c->rec, qc->f, &v, c->buf, sizeof(c->buf));
	if (v.null) {
		out->type = SQLITE_NULL;
	} else if (qc->kind == CK_RAW) {
		if (v.has_raw || v.type != DNSREEL_FT_STR) {
			out->type = SQLITE_INTEGER;
			out->i = v.i;
		} else {
			out->type = SQLITE_NULL;
		}
	} else if (qc->is_int) {
		out->type = SQLITE_INTEGER;
		out->i = v.i;
	} else {
		out->type = SQLITE_TEXT;
		out->s = v.s ? v.s : "";
		out->len = v.s ? v.len : 0;
	}
}

void dnsreel_q_result(sqlite3_context *ctx, const struct cval *v, bool stable)
{
	switch (v->type) {
	case SQLITE_INTEGER:
		sqlite3_result_int64(ctx, v->i);
		break;
	case SQLITE_TEXT:
		sqlite3_result_text(ctx, v->s, (int)v->len,
				    stable ? SQLITE_STATIC : SQLITE_TRANSIENT);
		break;
	default:
		sqlite3_result_null(ctx);
	}
}
