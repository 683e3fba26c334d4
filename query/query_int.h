/* Internals shared by the query library's files: the session and what a table gets from
 * registration. Each file uses only what is listed before it:
 *   session.c                        the captures, and how a table's xConnect finds them
 *   scan.c, pushdown.c, group.c      frames -> rows, constraints -> plan, GROUP BY tuples
 *   cursor.c                         the dns/answers cursor over a scan
 *   rowtab.c                         the module of the small materialized tables
 *   vtab_*.c                         one table (or one family of tables) each
 *   register.c                       the list of tables, registered on a connection */
#ifndef DNSREEL_QUERY_INT_H
#define DNSREEL_QUERY_INT_H

/* The loadable extension build compiles these sources again with DNSREEL_SQLITE_EXT so every
 * sqlite3_* call goes through the host's API table (the host may link its own SQLite). */
#ifdef DNSREEL_SQLITE_EXT
#include <sqlite3ext.h>
SQLITE_EXTENSION_INIT3
#else
#include <sqlite3.h>
#endif

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "query.h"
#include "view.h"

struct dnsreel_query {
	int refs;
	size_t n;
	struct dnsreel_capr **capr;
	char **paths;
	struct dnsreel_ctx *ctx;
	struct dnsreel_query_opts opts;
	struct dnsreel_query_stats st;
	uint64_t frames_all; /* catalog frames over all captures */
	char *warnings;	     /* malloc'd, may be NULL */
	/* Frames that failed to read, each once (capture << 32 | frame, sorted), and the lines
	 * naming them not yet taken by dnsreel_query__take_problems(). */
	uint64_t *bad;
	size_t nbad, bad_cap;
	char *problems; /* malloc'd, may be NULL */
	size_t problems_len;
	char *last_problem; /* the last line added to problems (malloc'd, may be NULL) */
};

void dnsreel_q_ref(struct dnsreel_query *q);
/* Records that frame of capture cap failed to read with msg (segment and offset); a frame
 * already recorded is not recorded again. 0, or -ENOMEM. */
int dnsreel_q_note_bad_frame(struct dnsreel_query *q, uint32_t cap, size_t frame, const char *msg);

/* The extension's guard: SQLITE_OK when main's schema has no table or view named as a table the
 * extension registers (it would shadow ours, and the user would read the file's rows as ours);
 * else an error with *pzErr. */
int dnsreel_q_ext_check_schema(sqlite3 *db, char **pzErr);

/* Errors inside the sqlite3 shell say they come from the extension; the tool has its own
 * prefix. */
#ifdef DNSREEL_SQLITE_EXT
#define DNSREEL_Q_ERR_PREFIX "dnsreel: "
#else
#define DNSREEL_Q_ERR_PREFIX ""
#endif

/* The session of one connection's tables, or (extension) the means to open it on first use
 * from the connection's main database file. */
struct dnsreel_qholder {
	int refs;
	struct dnsreel_query *q;
};

/* One table as registration lists it. desc is the module's own description of the table
 * (several tables may share one module). */
struct dnsreel_qtable {
	const char *name;
	const sqlite3_module *module;
	const void *desc;
	bool
	    in_extension; /* the extension registers it too (the index has no table of that name) */
};

/* A module's client data: the connection's holder and the table it was registered as. */
struct dnsreel_qaux {
	struct dnsreel_qholder *h;
	const struct dnsreel_qtable *t;
};

/* The sqlite3_module slots every table here leaves empty: read-only, no transactions,
 * no overloaded functions, no renames; iVersion 0 reads nothing past xRename. */
#define DNSREEL_Q_READ_ONLY_SLOTS                                                                  \
	.xUpdate = NULL, .xBegin = NULL, .xSync = NULL, .xCommit = NULL, .xRollback = NULL,        \
	.xFindFunction = NULL, .xRename = NULL, .xSavepoint = NULL, .xRelease = NULL,              \
	.xRollbackTo = NULL, .xShadowName = NULL

/* What every table's sqlite3_vtab starts with. */
struct dnsreel_qvtab {
	sqlite3_vtab base;
	struct dnsreel_query *q; /* referenced */
	const void *desc;	 /* the dnsreel_qtable's desc */
};

/* xConnect of every table: the session named by the module arguments (CREATE VIRTUAL TABLE x
 * USING dns(DIR, ...)) or the connection's, the schema declared, a zeroed vtab of size bytes
 * (at least sizeof(struct dnsreel_qvtab)) in *out. SQLite result code; *pzErr on failure. */
int dnsreel_q_vtab_connect(sqlite3 *db, void *aux, int argc, const char *const *argv,
			   const char *schema, size_t size, sqlite3_vtab **out, char **pzErr);
/* xDisconnect / xDestroy of every table. */
int dnsreel_q_vtab_disconnect(sqlite3_vtab *vt);

/* arr with room for need elements of elem bytes: arr itself, or reallocated to double its
 * capacity *cap (first when empty) as often as needed; NULL when out of memory (arr and *cap
 * unchanged). */
static inline void *dnsreel_q_grow(void *arr, size_t *cap, size_t need, size_t elem, size_t first)
{
	size_t nc = *cap ? *cap : first;
	void *na;

	if (need <= *cap)
		return arr;
	while (nc < need)
		nc *= 2;
	na = realloc(arr, nc * elem);
	if (na)
		*cap = nc;
	return na;
}

/* Appends n bytes to a doubling byte arena (the scan's message copies, the group tuples). */
static inline int dnsreel_q_bytes_append(uint8_t **buf, size_t *len, size_t *cap, size_t first_cap,
					 const void *p, size_t n)
{
	uint8_t *nb = dnsreel_q_grow(*buf, cap, *len + n, 1, first_cap);

	if (!nb)
		return -ENOMEM;
	*buf = nb;
	memcpy(*buf + *len, p, n);
	*len += n;
	return 0;
}

/* qsort/bsearch order of uint64_t (netns ids, event keys). */
static inline int dnsreel_q_u64_cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

#endif
