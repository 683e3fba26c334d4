/* The cursor the dns and answers tables share: a scan (scan.c) configured by the plan
 * (pushdown.c), and the current row decoded only as far as the columns asked for need. */
#ifndef DNSREEL_QCURSOR_H
#define DNSREEL_QCURSOR_H

#include "dns.h"
#include "group_int.h"
#include "pushdown_int.h"

struct evcur {
	sqlite3_vtab_cursor base;
	struct scan s;
	const struct evtab *t;
	/* the current row, decoded on demand */
	const struct qrow *row;
	bool rec_ready, ns_ready;
	uint8_t dns_level; /* 0 not parsed, 1 header and question, 2 whole message */
	struct dnsreel_dns_ncache *ncache;
	struct dnsreel_rec rec;
	char buf[2048];
	int64_t rowid;
};

/* xConnect, xBestIndex and xRowid of an event table (its dnsreel_qtable desc: struct evtab). */
int dnsreel_q_evtab_connect(sqlite3 *db, void *aux, int argc, const char *const *argv,
			    sqlite3_vtab **out, char **pzErr);
int dnsreel_q_evtab_best_index(sqlite3_vtab *vt, sqlite3_index_info *info);
int dnsreel_q_evcur_rowid(sqlite3_vtab_cursor *cur, sqlite3_int64 *rowid);

/* xOpen: a zeroed cursor of size bytes (a table's cursor starts with struct evcur). */
int dnsreel_q_evcur_open(sqlite3_vtab *vt, size_t size, sqlite3_vtab_cursor **out);
/* Frees what evcur holds and the cursor itself (the table frees its own parts first). */
void dnsreel_q_evcur_close(struct evcur *c);
/* The common part of xFilter: configure and start the scan. SQLite result code. */
int dnsreel_q_evcur_filter(struct evcur *c, const char *idxStr, int idxNum, int argc,
			   sqlite3_value **argv);
/* Next row of the scan into c->row; 1, 0 at the end, negative on error. */
int dnsreel_q_evcur_step(struct evcur *c);
/* Sets the vtab's error message for err (negative); returns the SQLite result code. */
int dnsreel_q_evcur_error(struct evcur *c, int err);

/* The record of the current row (event, context, message) ready for dnsreel_rec__value. */
const struct dnsreel_rec *dnsreel_q_evcur_rec(struct evcur *c);
/* The value of column qc of the current row; text points into the cursor until the next call. */
void dnsreel_q_evcur_value(struct evcur *c, const struct qcol *qc, struct cval *out);
/* sqlite3_result_* of v; stable: v's text outlives the call. */
void dnsreel_q_result(sqlite3_context *ctx, const struct cval *v, bool stable);

#endif
