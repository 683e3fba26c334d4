/* Pushdown planning for the dns and answers tables: which constraints xBestIndex takes and what a
 * plan costs, whether GROUP BY / DISTINCT is done inside the table, and at xFilter the scan
 * configuration (per capture prune, names, segments, event keys) those constraints give. */
#ifndef DNSREEL_QPUSHDOWN_H
#define DNSREEL_QPUSHDOWN_H

#include "scan_int.h"

#define DNSREEL_Q_MAX_COLS 64

enum ckind {
	CK_FIELD,    /* the field's value: text for STR, integer for INT/BOOL */
	CK_RAW,	     /* the raw number behind a STR field (timestamp ns, qtype, rcode) */
	CK_EVENT_ID, /* join key with answers */
	CK_OTHER,    /* a column of the table's own (answers) */
};

/* What a constraint on a column can tell the frame catalog. */
enum sem {
	SEM_NONE,
	SEM_TS,	  /* ns since epoch */
	SEM_TIME, /* RFC 3339 text */
	SEM_NETNS,
	SEM_NSFIELD, /* a column that comes from the netns context (pod, namespace, ...) */
	SEM_NAME,
	SEM_QR,
	SEM_RCODE,
	SEM_RCODE_RAW,
	SEM_CAPTURE,
	SEM_SEGMENT,
	SEM_EVENT_ID,
};

struct qcol {
	enum dnsreel_field_id f;
	enum ckind kind;
	enum sem sem;
	uint8_t needs_dns; /* value comes from the message: 1 header and question, 2 all */
	bool needs_ns;	   /* value comes from the netns context */
	bool lowcard;	   /* few distinct values: may be grouped inside the table */
	bool is_int;
};

/* An event table as planning and the cursor see it. */
struct evtab {
	const char *schema;
	int ncols;
	const struct qcol *cols;
	bool groups;	     /* GROUP BY / DISTINCT may be done inside the table */
	int latency_col;     /* column whose value needs every event through the decoder, or -1 */
	bool responses_only; /* rows come from responses only */
};

/* idxNum bits of a plan. */
enum {
	PLAN_GROUP = 1,	  /* grouping inside the table; sqlite3_vtab_distinct() << 8 */
	PLAN_LATENCY = 4, /* latency used: every event through the decoder */
};

/* xBestIndex. SQLite result code. */
int dnsreel_q_best_index(const struct evtab *t, const struct dnsreel_query *q,
			 sqlite3_index_info *info);

/* Builds s's configuration from xFilter's idxStr and arguments. 0 or a negative error. */
int dnsreel_q_scan_config(struct scan *s, const struct evtab *t, const char *idxStr, int argc,
			  sqlite3_value **argv);

/* A grouping plan as xFilter reads it back. */
struct qgroup_plan {
	int mode;			/* sqlite3_vtab_distinct(): 2 and 3 emit each tuple once */
	int cols[DNSREEL_Q_MAX_COLS];	/* ORDER BY columns first, then the other used ones */
	bool desc[DNSREEL_Q_MAX_COLS];	/* of the ORDER BY columns */
	int ncols, nob;			/* all, ORDER BY ones */
	int colpos[DNSREEL_Q_MAX_COLS]; /* column -> position in cols, -1 unused */
};
void dnsreel_q_group_plan(int idxNum, const char *idxStr, int ncols, struct qgroup_plan *g);

#endif
