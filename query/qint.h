/* Internals shared by the query library's files. */
#ifndef DNSREEL_QINT_H
#define DNSREEL_QINT_H

/* The loadable extension build compiles these sources again with DNSREEL_SQLITE_EXT so every
 * sqlite3_* call goes through the host's API table (the host may link its own SQLite). */
#ifdef DNSREEL_SQLITE_EXT
#include <sqlite3ext.h>
SQLITE_EXTENSION_INIT3
#else
#include <sqlite3.h>
#endif

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

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
};

/* Module client data: the session, or (extension) the means to open it on first use from the
 * connection's main database file. Shared by the modules of one connection. */
struct dnsreel_qholder {
	int refs;
	struct dnsreel_query *q;
};
/* Returns the session, opening it lazily; on failure sets *pzErr (sqlite3_mprintf). */
struct dnsreel_query *dnsreel_q_holder_get(struct dnsreel_qholder *h, sqlite3 *db, char **pzErr);
void dnsreel_q_holder_unref(void *h);

/* Context and catalog tables (vtab_ctx.c); only_pods: the extension's set. */
int dnsreel_q_register_ctx_tables(struct dnsreel_qholder *h, sqlite3 *db, bool only_pods);
/* dns and answers (vtab_dns.c). */
int dnsreel_q_register_event_tables(struct dnsreel_qholder *h, sqlite3 *db);
/* Opens a session for the capture dirs given as module arguments (CREATE VIRTUAL TABLE). */
struct dnsreel_query *dnsreel_q_open_args(int argc, const char *const *argv, char **pzErr);
void dnsreel_q_ref(struct dnsreel_query *q);

#endif
