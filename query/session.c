/* A query session: the open captures and their shared context, referenced by every table
 * of a connection; and how a table's xConnect finds its session. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dnsreel.h"
#include "query_int.h"

void dnsreel_q_ref(struct dnsreel_query *q)
{
	q->refs++;
}

void dnsreel_query__unref(struct dnsreel_query *q)
{
	if (!q || --q->refs > 0)
		return;
	for (size_t i = 0; i < q->n; i++) {
		dnsreel_capr__close(q->capr[i]);
		free(q->paths[i]);
	}
	free(q->capr);
	free(q->paths);
	free(q->warnings);
	free(q->bad);
	free(q->problems);
	free(q->last_problem);
	dnsreel_ctx__free(q->ctx);
	free(q);
}

int dnsreel_query__open(struct dnsreel_query **out, const char *const *captures, size_t n,
			const struct dnsreel_query_opts *opts, char *errbuf, size_t errlen)
{
	struct dnsreel_query *q;
	int err;

	*out = NULL;
	if (errbuf && errlen)
		errbuf[0] = 0;
	if (n == 0)
		return DNSREEL_E_ARG;
	/* a merged capture is read as its parts, each a capture of its own */
	char **xp;
	err = dnsreel_capture_expand(captures, n, &xp, &n, errbuf, errlen);
	if (err)
		return err;
	captures = (const char *const *)xp;
	if (n > 255) { /* the capture number is 8 bits of event_id */
		if (errbuf && errlen)
			snprintf(errbuf, errlen,
				 "%zu captures (merged ones counted by their "
				 "parts): at most 255 at once",
				 n);
		dnsreel_capture_expand_free(xp, n);
		return DNSREEL_E_LIMIT;
	}
	q = calloc(1, sizeof(*q));
	if (!q) {
		dnsreel_capture_expand_free(xp, n);
		return -ENOMEM;
	}
	q->refs = 1;
	if (opts)
		memcpy(&q->opts, opts,
		       opts->sz && opts->sz < sizeof(q->opts) ? opts->sz : sizeof(q->opts));
	q->capr = calloc(n, sizeof(*q->capr));
	q->paths = calloc(n, sizeof(*q->paths));
	if (!q->capr || !q->paths) {
		err = -ENOMEM;
		goto fail;
	}
	err = dnsreel_ctx__new(&q->ctx);
	if (err)
		goto fail;
	for (size_t i = 0; i < n; i++) {
		struct dnsreel_capr_opts ro = {.sz = sizeof(ro)};

		q->paths[i] = strdup(captures[i]);
		if (!q->paths[i]) {
			err = -ENOMEM;
			goto fail;
		}
		q->n = i + 1;
		err = dnsreel_capr__open(&q->capr[i], captures[i], &ro, errbuf, errlen);
		if (err) {
			if (errbuf && errlen && !errbuf[0])
				snprintf(errbuf, errlen, "%s: %s", captures[i],
					 dnsreel_strerror(err));
			goto fail;
		}
		if (dnsreel_capr__problem(q->capr[i]) || dnsreel_capr__scanned(q->capr[i])) {
			/* Opened anyway (the catalog rebuilt from the segments): say so, naming the
			 * capture. */
			const char *pr = dnsreel_capr__problem(q->capr[i]);
			size_t old = q->warnings ? strlen(q->warnings) : 0,
			       cl = strlen(captures[i]);
			bool named = pr && !strncmp(pr, captures[i], cl) && pr[cl] == '/';
			char *w;

			if (!pr)
				pr = "index.sqlite missing (scanned the segments instead)";
			w = realloc(q->warnings, old + cl + strlen(pr) + 4);
			if (!w) {
				err = -ENOMEM;
				goto fail;
			}
			if (named)
				sprintf(w + old, "%s\n", pr);
			else
				sprintf(w + old, "%s: %s\n", captures[i], pr);
			q->warnings = w;
		}
		err = dnsreel_ctx__add_capture(q->ctx, (uint32_t)i, q->capr[i]);
		if (err) {
			if (errbuf && errlen)
				snprintf(errbuf, errlen, "%s: %s", captures[i],
					 dnsreel_strerror(err));
			goto fail;
		}
		q->frames_all += dnsreel_capr__frame_count(q->capr[i]);
	}
	dnsreel_capture_expand_free(xp, n);
	*out = q;
	return 0;
fail:
	dnsreel_capture_expand_free(xp, n);
	dnsreel_query__unref(q);
	return err;
}

/* Sessions the tables open themselves (the extension's, and CREATE VIRTUAL TABLE ... USING
 * dns(DIR)): nobody reads their problems, and SQLite has no channel for a warning, so a damaged
 * frame fails the statement after the good rows. */
static const struct dnsreel_query_opts ext_opts = {.sz = sizeof(ext_opts), .fail_on_damage = true};

/* The capture of an index opened in the sqlite3 shell: the directory of main's file. */
static struct dnsreel_query *holder_get(struct dnsreel_qholder *h, sqlite3 *db, char **pzErr)
{
	const char *file;
	char dir[4096], err[512];
	const char *dirs[1] = {dir};
	char *slash;
	int e;

	if (h->q)
		return h->q;
	file = sqlite3_db_filename(db, "main");
	if (!file || !file[0]) {
		*pzErr = sqlite3_mprintf("dnsreel: the main database is not a capture index; open "
					 "CAPTURE.reel/index.sqlite, or CREATE VIRTUAL TABLE t "
					 "USING dns('CAPTURE.reel')");
		return NULL;
	}
	if (strlen(file) >= sizeof(dir)) {
		*pzErr = sqlite3_mprintf("dnsreel: path too long");
		return NULL;
	}
	strcpy(dir, file);
	slash = strrchr(dir, '/');
	if (!slash)
		strcpy(dir, ".");
	else if (slash == dir)
		dir[1] = 0;
	else
		*slash = 0;
	e = dnsreel_query__open(&h->q, dirs, 1, &ext_opts, err, sizeof(err));
	if (e) {
		*pzErr =
		    sqlite3_mprintf(DNSREEL_Q_ERR_PREFIX "%s", err[0] ? err : dnsreel_strerror(e));
		return NULL;
	}
	return h->q;
}

/* Opens a session for the capture dirs given as module arguments. */
static struct dnsreel_query *open_args(int argc, const char *const *argv, char **pzErr)
{
	struct dnsreel_query *q = NULL;
	char *dirs[255] = {0};
	char err[512];
	int n = 0, e;

	for (int i = 0; i < argc && n < 255; i++) {
		const char *a = argv[i];
		size_t len = strlen(a);

		/* Arguments arrive as written: strip one level of SQL quotes. */
		if (len >= 2 && (a[0] == '\'' || a[0] == '"') && a[len - 1] == a[0]) {
			dirs[n] = sqlite3_mprintf("%.*s", (int)len - 2, a + 1);
		} else {
			dirs[n] = sqlite3_mprintf("%s", a);
		}
		if (!dirs[n])
			break;
		n++;
	}
	e = dnsreel_query__open(&q, (const char *const *)dirs, (size_t)n, &ext_opts, err,
				sizeof(err));
	for (int i = 0; i < n; i++)
		sqlite3_free(dirs[i]);
	if (e) {
		*pzErr =
		    sqlite3_mprintf(DNSREEL_Q_ERR_PREFIX "%s", err[0] ? err : dnsreel_strerror(e));
		return NULL;
	}
	return q;
}

int dnsreel_q_vtab_connect(sqlite3 *db, void *aux, int argc, const char *const *argv,
			   const char *schema, size_t size, sqlite3_vtab **out, char **pzErr)
{
	const struct dnsreel_qaux *a = aux;
	struct dnsreel_query *q;
	struct dnsreel_qvtab *v;
	int rc;

	/* argv: module name, database, table name, then the arguments. Capture paths are taken
	 * only from a statement of this connection's own (a table in temp or in memory): a table
	 * stored in a database file would let that file make a reader open any path, another
	 * capture or a FIFO, as soon as its schema is used. */
	if (argc > 3) {
		const char *file = sqlite3_db_filename(db, argv[1]);

		if (file && file[0]) {
			*pzErr = sqlite3_mprintf(
			    DNSREEL_Q_ERR_PREFIX
			    "table %s.%s in %s names captures (USING %s(...)): refusing capture "
			    "paths stored in a database file; create it in temp: CREATE VIRTUAL "
			    "TABLE temp.%s USING %s('DIR')",
			    argv[1], argv[2], file, argv[0], argv[2], argv[0]);
			return SQLITE_ERROR;
		}

		q = open_args(argc - 3, argv + 3, pzErr);
	} else {
		q = holder_get(a->h, db, pzErr);
		if (q)
			dnsreel_q_ref(q);
	}
	if (!q)
		return SQLITE_ERROR;
	rc = sqlite3_declare_vtab(db, schema);
	if (rc != SQLITE_OK) {
		dnsreel_query__unref(q);
		return rc;
	}
	sqlite3_vtab_config(db, SQLITE_VTAB_INNOCUOUS);
	v = sqlite3_malloc64(size);
	if (!v) {
		dnsreel_query__unref(q);
		return SQLITE_NOMEM;
	}
	memset(v, 0, size);
	v->q = q;
	v->desc = a->t->desc;
	*out = &v->base;
	return SQLITE_OK;
}

int dnsreel_q_vtab_disconnect(sqlite3_vtab *vt)
{
	struct dnsreel_qvtab *v = (struct dnsreel_qvtab *)vt;

	dnsreel_query__unref(v->q);
	sqlite3_free(v);
	return SQLITE_OK;
}

void dnsreel_query__stats(const struct dnsreel_query *q, struct dnsreel_query_stats *st)
{
	*st = q->st;
}

void dnsreel_query__reset_stats(struct dnsreel_query *q)
{
	memset(&q->st, 0, sizeof(q->st));
}

const char *dnsreel_query__warnings(const struct dnsreel_query *q)
{
	return q->warnings ? q->warnings : "";
}

size_t dnsreel_query__capture_count(const struct dnsreel_query *q)
{
	return q->n;
}

int dnsreel_q_note_bad_frame(struct dnsreel_query *q, uint32_t cap, size_t frame, const char *msg)
{
	uint64_t key = (uint64_t)cap << 32 | (frame & 0xFFFFFFFFu);
	size_t lo = 0, hi = q->nbad, l = strlen(msg);
	uint64_t *nb;
	char *np;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (q->bad[mid] < key)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo < q->nbad && q->bad[lo] == key)
		return 0;
	nb = dnsreel_q_grow(q->bad, &q->bad_cap, q->nbad + 1, sizeof(*nb), 16);
	if (!nb)
		return -ENOMEM;
	q->bad = nb;
	memmove(q->bad + lo + 1, q->bad + lo, (q->nbad - lo) * sizeof(*q->bad));
	q->bad[lo] = key;
	q->nbad++;
	/* A segment that cannot be opened fails each of its frames with the same words: once. */
	if (q->last_problem && !strcmp(q->last_problem, msg))
		return 0;
	free(q->last_problem);
	q->last_problem = strdup(msg);
	np = realloc(q->problems, q->problems_len + l + 2);
	if (!np)
		return -ENOMEM;
	q->problems = np;
	memcpy(q->problems + q->problems_len, msg, l);
	q->problems_len += l;
	q->problems[q->problems_len++] = '\n';
	q->problems[q->problems_len] = 0;
	return 0;
}

uint64_t dnsreel_query__bad_frames(const struct dnsreel_query *q)
{
	return q->nbad;
}

char *dnsreel_query__take_problems(struct dnsreel_query *q)
{
	char *p = q->problems;

	q->problems = NULL;
	q->problems_len = 0;
	return p;
}
