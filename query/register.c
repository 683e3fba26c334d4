/* Registration: the list of every table a connection gets, and the modules' client data. The
 * tables know nothing of this file; a new table is one line in TABLES. */
#include <stdlib.h>

#include "query_int.h"

/* X(name): the table whose file defines `const struct dnsreel_qtable dnsreel_qtable_NAME` (its
 * name, module, description and whether the extension registers it), in this order. */
#define TABLES(X)                                                                                  \
	X(dns)                                                                                     \
	X(answers)                                                                                 \
	X(netns)                                                                                   \
	X(pods)                                                                                    \
	X(processes)                                                                               \
	X(services)                                                                                \
	X(segments)                                                                                \
	X(frames)                                                                                  \
	X(capture_info)                                                                            \
	X(counters)                                                                                \
	X(flows)                                                                                   \
	X(flow_events)

#define DECLARE(name) extern const struct dnsreel_qtable dnsreel_qtable_##name;
TABLES(DECLARE)
#undef DECLARE

static const struct dnsreel_qtable *const tables[] = {
#define ENTRY(name) &dnsreel_qtable_##name,
    TABLES(ENTRY)
#undef ENTRY
};

static void holder_unref(struct dnsreel_qholder *h)
{
	if (!h || --h->refs > 0)
		return;
	dnsreel_query__unref(h->q);
	free(h);
}

/* sqlite3_create_module_v2's destructor of a module's client data. */
static void aux_free(void *p)
{
	struct dnsreel_qaux *a = p;

	holder_unref(a->h);
	free(a);
}

/* lazy: the extension's set, on a connection to a capture's own index. */
static int register_all(struct dnsreel_query *q, sqlite3 *db, bool lazy)
{
	struct dnsreel_qholder *h = calloc(1, sizeof(*h));
	int rc = SQLITE_OK;

	if (!h)
		return SQLITE_NOMEM;
	h->refs = 1; /* ours until the modules hold theirs */
	if (q) {
		dnsreel_q_ref(q);
		h->q = q;
	}
	for (size_t i = 0; i < sizeof(tables) / sizeof(tables[0]) && rc == SQLITE_OK; i++) {
		struct dnsreel_qaux *a;

		if (lazy && !tables[i]->in_extension)
			continue;
		a = malloc(sizeof(*a));
		if (!a) {
			rc = SQLITE_NOMEM;
			break;
		}
		h->refs++;
		a->h = h;
		a->t = tables[i];
		/* On failure SQLite calls aux_free itself. */
		rc = sqlite3_create_module_v2(db, tables[i]->name, tables[i]->module, a, aux_free);
	}
	holder_unref(h);
	return rc;
}

int dnsreel_query__register(struct dnsreel_query *q, sqlite3 *db)
{
	return register_all(q, db, false);
}

int dnsreel_query_register_lazy(sqlite3 *db)
{
	return register_all(NULL, db, true);
}

int dnsreel_q_ext_check_schema(sqlite3 *db, char **pzErr)
{
	sqlite3_stmt *st = NULL;
	char *names = NULL, *sql;
	int rc;

	for (size_t i = 0; i < sizeof(tables) / sizeof(tables[0]); i++) {
		char *n;

		if (!tables[i]->in_extension)
			continue;
		n = sqlite3_mprintf("%z%s%Q", names, names ? "," : "", tables[i]->name);
		if (!n)
			return SQLITE_NOMEM;
		names = n;
	}
	sql = sqlite3_mprintf("SELECT type, name FROM main.sqlite_schema WHERE lower(name) IN (%s) "
			      "AND type IN ('table', 'view') LIMIT 1",
			      names);
	sqlite3_free(names);
	if (!sql)
		return SQLITE_NOMEM;
	rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);
	sqlite3_free(sql);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*pzErr = sqlite3_mprintf(
		    "dnsreel: %s has a %s named %s, which would replace the extension's table: "
		    "refusing to load on this file (not a capture index as dnsreel writes it)",
		    sqlite3_db_filename(db, "main"), sqlite3_column_text(st, 0),
		    sqlite3_column_text(st, 1));
		rc = SQLITE_ERROR;
	} else if (rc == SQLITE_DONE) {
		rc = SQLITE_OK;
	} else {
		*pzErr = sqlite3_mprintf("dnsreel: cannot read the schema of %s: %s",
					 sqlite3_db_filename(db, "main"), sqlite3_errmsg(db));
	}
	sqlite3_finalize(st);
	return rc;
}
