/* Tables whose rows each scan builds from the session's readers: the context and catalog
 * tables, small enough to materialize whole. A table is a struct rowtab (its schema and a fill
 * function) as the desc of a dnsreel_qtable whose module is dnsreel_q_rowtab_module. */
#ifndef DNSREEL_QROWTAB_H
#define DNSREEL_QROWTAB_H

#include "query_int.h"

struct rowtab_cur;

struct rowtab {
	const char *schema;
	int ncols;
	/* Adds the rows of capture ci with the dnsreel_q_row_* calls below. */
	void (*fill)(struct rowtab_cur *c, const struct dnsreel_query *q, size_t ci);
};

extern const sqlite3_module dnsreel_q_rowtab_module;

/* The cells of the row being built, by column; a column not set is NULL. Failures (out of
 * memory) are kept in the cursor and end the scan with an error. */
void dnsreel_q_row_int(struct rowtab_cur *c, int col, int64_t v);
/* Text, copied; NULL is "". */
void dnsreel_q_row_text(struct rowtab_cur *c, int col, const char *s);
/* Context text: empty means unknown, and is NULL. */
void dnsreel_q_row_ctx(struct rowtab_cur *c, int col, const char *s);
/* Ends the row. */
void dnsreel_q_row_end(struct rowtab_cur *c);
/* Boot-time to wall-clock offset of a capture's timestamps. */
static inline int64_t dnsreel_q_boot_to_wall(const struct dnsreel_capr *r)
{
	const struct dnsreel_meta *m = dnsreel_capr__meta(r);

	return m ? m->boot_to_wall_ns : 0;
}

/* Fails the scan with err (negative). */
void dnsreel_q_row_fail(struct rowtab_cur *c, int err);

#endif
