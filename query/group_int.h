/* GROUP BY / DISTINCT inside the dns table: the distinct tuples of the used columns with their
 * counts, handed back sorted as the ORDER BY wants, each as many times as it occurred (once
 * for DISTINCT), so SQLite's aggregator streams instead of sorting ten million rows. */
#ifndef DNSREEL_QGROUP_H
#define DNSREEL_QGROUP_H

#include "query_int.h"

#define DNSREEL_Q_GROUP_MAX (16u << 20) /* distinct tuples; more: DNSREEL_E_LIMIT */

/* One value of a row. */
struct cval {
	int type; /* SQLITE_NULL, SQLITE_INTEGER, SQLITE_TEXT */
	int64_t i;
	const char *s;
	size_t len;
};

struct gent;

struct qgroup {
	struct gent *ents;
	size_t nents, ents_cap;
	size_t *htab;
	size_t hcap;
	uint8_t *arena;
	size_t len, cap;
	size_t start; /* of the row being put */
	size_t last;  /* entry of the previous row */
	/* emitting */
	int nob;
	const bool *desc;
	bool once; /* DISTINCT: each tuple once */
	size_t pos;
	uint64_t left;
	int ncols;
	struct cval vals[64];
};

/* A row's tuple is put value by value (ORDER BY columns first; a value's text need only last
 * the call), then counted by end_row. 0, -ENOMEM or DNSREEL_E_LIMIT. */
int dnsreel_q_group_put(struct qgroup *g, const struct cval *v);
int dnsreel_q_group_end_row(struct qgroup *g);
/* Sorts by the first nob values (desc[k]: descending) and moves to the first tuple; once: each
 * tuple once, else as many times as it was added. */
void dnsreel_q_group_start(struct qgroup *g, int nob, const bool *desc, bool once);
static inline bool dnsreel_q_group_eof(const struct qgroup *g)
{
	return g->pos >= g->nents;
}
/* The current tuple's values are g->vals[0..ncols). */
void dnsreel_q_group_next(struct qgroup *g);
void dnsreel_q_group_free(struct qgroup *g);

#endif
