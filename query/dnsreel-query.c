/* dnsreel-query: SQL over one or more captures.
 *
 * The main database is in memory and holds only our virtual tables; captures are read through
 * the capture reader (read-only, defensive). The connection itself is locked down too: no
 * extension loading, no triggers or views, no ATTACH, untrusted schema off, defensive on, so a
 * crafted file cannot make SQL run behind the user's back.
 */
#include <errno.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sqlite3.h>

#include "cli.h"
#include "dnsreel.h"
#include "view.h"
#include "query.h"
#include "reports.h"

#ifdef DNSREEL_HAVE_EDIT
#include <editline/readline.h>
#endif

enum { OPT_STATS = 0x100, OPT_REPORT, OPT_SHOW_SQL, OPT_NO_PUSHDOWN, OPT_NO_HEADER };

static const struct dnsreel_opt opts[] = {
    {'o', "output", 'o', DNSREEL_REQ_ARG, "FORMAT", "table (default), csv or json", "Output"},
    {OPT_NO_HEADER, "no-header", 0, DNSREEL_NO_ARG, NULL, "table and csv: no header row", NULL},
    {OPT_STATS, "stats", 0, DNSREEL_NO_ARG, NULL,
     "after each statement, print frames read of total, events and time on stderr", NULL},
    {OPT_REPORT, "report", 0, DNSREEL_REQ_ARG, "NAME", "run a built-in report; 'list' shows them",
     "Reports"},
    {OPT_SHOW_SQL, "show-sql", 0, DNSREEL_NO_ARG, NULL,
     "with --report: print the report's SQL instead of running it", NULL},
    {OPT_NO_PUSHDOWN, "no-pushdown", 0, DNSREEL_NO_ARG, NULL,
     "read every frame (to compare answers and speed)", "Debugging"},
    {0, NULL, 0, 0, NULL, NULL, NULL},
};

static const struct dnsreel_tool tool = {
    .name = "dnsreel-query",
    .usage = "[OPTIONS] CAPTURE... [SQL]",
    .summary = "SQL over dnsreel captures (tables dns, answers, netns, pods, processes, "
	       "services, segments, frames, capture_info, counters)",
    .opts = opts,
    .epilog = "Examples:\n"
	      "  dnsreel query cap.reel \"SELECT name, count(*) FROM dns GROUP BY name "
	      "ORDER BY 2 DESC LIMIT 10\"\n"
	      "  dnsreel query -o json a.reel b.reel \"SELECT * FROM dns WHERE rcode = "
	      "'NameError'\"\n"
	      "  dnsreel query --report list\n"
	      "  dnsreel query --report nxdomain --show-sql > my.sql\n"
	      "  dnsreel query cap.reel            (interactive shell)\n",
};

enum outfmt { OUT_TABLE, OUT_CSV, OUT_JSON };

struct app {
	struct dnsreel_cli cli;
	sqlite3 *db;
	struct dnsreel_query *q;
	enum outfmt out;
	bool stats;
	bool no_header;
	int64_t t0;
	struct dnsreel_progress progress;
	bool index_damaged; /* a reader reported a damaged or missing index at open */
};

/* ---- output ------------------------------------------------------------------------------- */

struct table {
	int ncol;
	char **names;
	char **cells; /* row-major, NULL = SQL NULL */
	bool *numeric;
	size_t nrows, cap;
};

static void csv_str(FILE *f, const char *s)
{
	if (!strpbrk(s, ",\"\r\n")) {
		fputs(s, f);
		return;
	}
	fputc('"', f);
	for (; *s; s++) {
		if (*s == '"')
			fputc('"', f);
		fputc(*s, f);
	}
	fputc('"', f);
}

/* Text of a column value; blobs as hex. Returns malloc'd text or NULL for SQL NULL. */
static char *cell_text(sqlite3_stmt *st, int i)
{
	int t = sqlite3_column_type(st, i);

	if (t == SQLITE_NULL)
		return NULL;
	if (t == SQLITE_BLOB) {
		const unsigned char *b = sqlite3_column_blob(st, i);
		int n = sqlite3_column_bytes(st, i);
		char *s = malloc((size_t)n * 2 + 1);

		if (!s)
			return strdup("");
		for (int k = 0; k < n; k++)
			sprintf(s + 2 * k, "%02x", b[k]);
		s[2 * n] = 0;
		return s;
	}
	const char *txt = (const char *)sqlite3_column_text(st, i);
	return strdup(txt ? txt : "");
}

/* UTF-8 aware display width (code points; good enough for names and addresses). */
static size_t dwidth(const char *s)
{
	size_t w = 0;

	for (; *s; s++)
		if (((unsigned char)*s & 0xC0) != 0x80)
			w++;
	return w;
}

static int run_stmt(struct app *a, sqlite3_stmt *st, bool *first_json)
{
	int ncol = sqlite3_column_count(st);
	struct table tb = {.ncol = ncol};
	FILE *f = stdout;
	int rc;
	size_t row = 0;

	if (ncol == 0) {
		while ((rc = sqlite3_step(st)) == SQLITE_ROW)
			;
		return rc == SQLITE_DONE ? 0 : rc;
	}
	if (a->out == OUT_CSV && !a->no_header) {
		for (int i = 0; i < ncol; i++) {
			if (i)
				fputc(',', f);
			csv_str(f, sqlite3_column_name(st, i));
		}
		fputc('\n', f);
	}
	if (a->out == OUT_TABLE) {
		tb.numeric = calloc((size_t)ncol, sizeof(bool));
		if (!tb.numeric)
			return SQLITE_NOMEM;
		for (int i = 0; i < ncol; i++)
			tb.numeric[i] = true;
	}
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (a->out == OUT_CSV) {
			for (int i = 0; i < ncol; i++) {
				char *s = cell_text(st, i);

				if (i)
					fputc(',', f);
				if (s)
					csv_str(f, s);
				free(s);
			}
			fputc('\n', f);
		} else if (a->out == OUT_JSON) {
			fputs(*first_json ? "[\n  {" : ",\n  {", f);
			*first_json = false;
			for (int i = 0; i < ncol; i++) {
				int t = sqlite3_column_type(st, i);

				if (i)
					fputs(", ", f);
				dnsreel_json_fputs(f, sqlite3_column_name(st, i));
				fputs(": ", f);
				if (t == SQLITE_NULL) {
					fputs("null", f);
				} else if (t == SQLITE_INTEGER) {
					fprintf(f, "%lld", (long long)sqlite3_column_int64(st, i));
				} else if (t == SQLITE_FLOAT) {
					double d = sqlite3_column_double(st, i);

					if (d != d || d * 0 != 0) /* NaN, inf: not JSON numbers */
						fputs("null", f);
					else
						fprintf(f, "%.17g", d);
				} else {
					char *s = cell_text(st, i);

					dnsreel_json_fputs(f, s ? s : "");
					free(s);
				}
			}
			fputc('}', f);
		} else {
			if (tb.nrows == tb.cap) {
				size_t nc = tb.cap ? tb.cap * 2 : 64;
				char **n = realloc(tb.cells, nc * (size_t)ncol * sizeof(char *));

				if (!n) {
					rc = SQLITE_NOMEM;
					break;
				}
				tb.cells = n;
				tb.cap = nc;
			}
			for (int i = 0; i < ncol; i++) {
				int t = sqlite3_column_type(st, i);

				tb.cells[tb.nrows * (size_t)ncol + (size_t)i] = cell_text(st, i);
				if (t == SQLITE_TEXT || t == SQLITE_BLOB)
					tb.numeric[i] = false;
			}
			tb.nrows++;
		}
		row++;
	}
	if (a->out == OUT_TABLE) {
		size_t *w = calloc((size_t)ncol, sizeof(size_t));

		if (w) {
			for (int i = 0; i < ncol; i++) {
				w[i] = a->no_header ? 0 : dwidth(sqlite3_column_name(st, i));
				for (size_t r = 0; r < tb.nrows; r++) {
					const char *s = tb.cells[r * (size_t)ncol + (size_t)i];
					size_t l = s ? dwidth(s) : 0;

					if (l > w[i])
						w[i] = l;
				}
			}
			for (size_t r = 0; r < tb.nrows + (a->no_header ? 0 : 1); r++) {
				bool hdr = !a->no_header && r == 0;
				size_t dr = r - (a->no_header ? 0 : 1);

				for (int i = 0; i < ncol; i++) {
					const char *s =
					    hdr ? sqlite3_column_name(st, i)
						: tb.cells[dr * (size_t)ncol + (size_t)i];
					size_t l = s ? dwidth(s) : 0;
					size_t pad = w[i] - l;
					bool right = !hdr && tb.numeric[i];
					bool last = i == ncol - 1;

					if (i)
						fputs("  ", f);
					if (right)
						for (size_t k = 0; k < pad; k++)
							fputc(' ', f);
					fputs(s ? s : "", f);
					if (!right && !last)
						for (size_t k = 0; k < pad; k++)
							fputc(' ', f);
				}
				fputc('\n', f);
			}
			free(w);
		}
		for (size_t k = 0; k < tb.nrows * (size_t)ncol; k++)
			free(tb.cells[k]);
		free(tb.cells);
		free(tb.numeric);
	}
	return rc == SQLITE_DONE ? 0 : rc;
}

static void print_stats(struct app *a)
{
	struct dnsreel_query_stats st;
	double ms = (double)(dnsreel_now_boot_ns() - a->t0) / 1e6;

	if (!a->stats || !a->q)
		return;
	dnsreel_query__stats(a->q, &st);
	fprintf(stderr,
		"stats: frames read %llu of %llu (%.1f%%), events decoded %llu, rows %llu, "
		"scans %llu, %.1f ms\n",
		(unsigned long long)st.frames_read, (unsigned long long)st.frames_total,
		st.frames_total ? 100.0 * (double)st.frames_read / (double)st.frames_total : 0.0,
		(unsigned long long)st.events_decoded, (unsigned long long)st.rows,
		(unsigned long long)st.scans, ms);
}

/* Frames read of the catalog's, while a statement runs (the tables call this per frame). */
static void on_progress(void *ctx, const struct dnsreel_query *q)
{
	struct app *a = ctx;
	struct dnsreel_query_stats st;
	char rate[96];

	if (!a->progress.on)
		return;
	dnsreel_query__stats(q, &st);
	dnsreel_progress_rate(&a->progress, st.frames_read, st.frames_total, "frames", rate,
			      sizeof(rate));
	dnsreel_progress(&a->progress, "frames %llu/%llu%s", (unsigned long long)st.frames_read,
			 (unsigned long long)st.frames_total, rate);
}

/* Names each frame skipped since the last call, once. */
static void show_problems(struct app *a)
{
	char *p = a->q ? dnsreel_query__take_problems(a->q) : NULL;

	for (const char *w = p; w && *w;) {
		size_t l = strcspn(w, "\n");

		dnsreel_err(&a->cli, "damaged: %.*s", (int)l, w);
		w += l + (w[l] ? 1 : 0);
	}
	free(p);
}

/* Runs every statement of sql. Returns 0 or 1 (error reported). */
static int run_sql(struct app *a, const char *sql)
{
	const char *tail = sql;
	bool first_json = true, any_json = false;
	int ret = 0;

	while (tail && *tail) {
		sqlite3_stmt *st = NULL;
		const char *next = NULL;
		int rc;

		if (a->q)
			dnsreel_query__reset_stats(a->q);
		a->t0 = dnsreel_now_boot_ns();
		dnsreel_progress_init(&a->progress, &a->cli);
		rc = sqlite3_prepare_v2(a->db, tail, -1, &st, &next);
		if (rc != SQLITE_OK) {
			show_problems(a); /* a table read frames while the statement was prepared */
			dnsreel_err(&a->cli, "%s", sqlite3_errmsg(a->db));
			ret = 1;
			break;
		}
		tail = next;
		if (!st)
			continue; /* comment or whitespace */
		if (a->out == OUT_JSON && sqlite3_column_count(st) > 0)
			any_json = true;
		rc = run_stmt(a, st, &first_json);
		dnsreel_progress_done(&a->progress);
		show_problems(a);
		if (rc != SQLITE_OK) {
			dnsreel_err(&a->cli, "%s", sqlite3_errmsg(a->db));
			ret = 1;
		}
		sqlite3_finalize(st);
		fflush(stdout); /* results before their stats line */
		print_stats(a);
		if (ret)
			break;
	}
	if (any_json)
		fputs(first_json ? "[]\n" : "\n]\n", stdout);
	fflush(stdout);
	return ret;
}

/* ---- safety ------------------------------------------------------------------------------- */

static int authorizer(void *arg, int action, const char *a1, const char *a2, const char *db,
		      const char *trigger)
{
	(void)arg;
	(void)a1;
	(void)a2;
	(void)db;
	(void)trigger;
	switch (action) {
	case SQLITE_ATTACH:
	case SQLITE_DETACH:
		return SQLITE_DENY; /* captures are named on the command line */
	default:
		return SQLITE_OK;
	}
}

static int open_db(struct app *a, sqlite3 **out)
{
	sqlite3 *db = NULL;
	int rc = sqlite3_open_v2(":memory:", &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL);

	if (rc != SQLITE_OK) {
		dnsreel_err(&a->cli, "sqlite: %s", db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
		sqlite3_close(db);
		return -1;
	}
	sqlite3_db_config(db, SQLITE_DBCONFIG_DEFENSIVE, 1, NULL);
	sqlite3_db_config(db, SQLITE_DBCONFIG_TRUSTED_SCHEMA, 0, NULL);
	sqlite3_db_config(db, SQLITE_DBCONFIG_ENABLE_TRIGGER, 0, NULL);
	sqlite3_db_config(db, SQLITE_DBCONFIG_ENABLE_VIEW, 0, NULL);
	sqlite3_db_config(db, SQLITE_DBCONFIG_ENABLE_LOAD_EXTENSION, 0, NULL);
	sqlite3_set_authorizer(db, authorizer, NULL);
	*out = db;
	return 0;
}

/* ---- interactive shell -------------------------------------------------------------------- */

static void shell_help(void)
{
	fputs(".help                 this text\n"
	      ".tables               list tables\n"
	      ".schema [TABLE]       columns of the tables\n"
	      ".mode table|csv|json  output format\n"
	      ".stats on|off         frames read and time after each statement\n"
	      ".reports              list built-in reports\n"
	      ".report NAME          run a report (.sql NAME prints its SQL)\n"
	      ".quit                 leave (also Ctrl-D)\n"
	      "SQL statements end with ';'.\n",
	      stdout);
}

static const char *const table_names[] = {"dns",	  "answers",  "netns",	  "pods",
					  "processes",	  "services", "segments", "frames",
					  "capture_info", "counters", NULL};

static void shell_schema(struct app *a, const char *only)
{
	for (int i = 0; table_names[i]; i++) {
		sqlite3_stmt *st;
		char *sql;
		bool first = true;

		if (only && *only && strcmp(only, table_names[i]))
			continue;
		sql = sqlite3_mprintf("SELECT name, type FROM pragma_table_xinfo(%Q)",
				      table_names[i]);
		if (sqlite3_prepare_v2(a->db, sql, -1, &st, NULL) == SQLITE_OK) {
			printf("%s(", table_names[i]);
			while (sqlite3_step(st) == SQLITE_ROW) {
				printf("%s%s %s", first ? "" : ", ", sqlite3_column_text(st, 0),
				       sqlite3_column_text(st, 1));
				first = false;
			}
			printf(")\n");
		}
		sqlite3_finalize(st);
		sqlite3_free(sql);
	}
}

static void list_reports(FILE *f)
{
	size_t n;
	const struct dnsreel_report *r = dnsreel_reports(&n);

	for (size_t i = 0; i < n; i++)
		fprintf(f, "%-12s %s\n", r[i].name, r[i].title);
}

/* Handles a dot command; returns false on .quit. */
static bool shell_dot(struct app *a, char *line)
{
	char *cmd = strtok(line, " \t\n");
	char *arg = strtok(NULL, " \t\n");

	if (!strcmp(cmd, ".quit") || !strcmp(cmd, ".exit"))
		return false;
	if (!strcmp(cmd, ".help")) {
		shell_help();
	} else if (!strcmp(cmd, ".tables")) {
		for (int i = 0; table_names[i]; i++)
			printf("%s%s", i ? " " : "", table_names[i]);
		printf("\n");
	} else if (!strcmp(cmd, ".schema")) {
		shell_schema(a, arg);
	} else if (!strcmp(cmd, ".mode") && arg) {
		if (!strcmp(arg, "table"))
			a->out = OUT_TABLE;
		else if (!strcmp(arg, "csv"))
			a->out = OUT_CSV;
		else if (!strcmp(arg, "json"))
			a->out = OUT_JSON;
		else
			fprintf(stderr, "unknown mode '%s' (table, csv, json)\n", arg);
	} else if (!strcmp(cmd, ".stats")) {
		a->stats = !arg || !strcmp(arg, "on");
	} else if (!strcmp(cmd, ".reports")) {
		list_reports(stdout);
	} else if ((!strcmp(cmd, ".report") || !strcmp(cmd, ".sql")) && arg) {
		const struct dnsreel_report *r = dnsreel_report_find(arg);

		char *rs = r ? dnsreel_report_sql(r, dnsreel_query__capture_count(a->q) > 1) : NULL;

		if (!r)
			fprintf(stderr, "no report '%s' (.reports lists them)\n", arg);
		else if (!rs)
			fprintf(stderr, "out of memory\n");
		else if (cmd[1] == 's')
			fputs(rs, stdout);
		else
			run_sql(a, rs);
		free(rs);
	} else {
		fprintf(stderr, "unknown command '%s' (.help)\n", cmd);
	}
	return true;
}

static char *read_line(const char *prompt, bool tty)
{
#ifdef DNSREEL_HAVE_EDIT
	if (tty)
		return readline(prompt);
#endif
	char *line = NULL;
	size_t cap = 0;

	if (tty) {
		fputs(prompt, stdout);
		fflush(stdout);
	}
	if (getline(&line, &cap, stdin) < 0) {
		free(line);
		return NULL;
	}
	line[strcspn(line, "\n")] = 0;
	return line;
}

static int shell(struct app *a)
{
	bool tty = isatty(STDIN_FILENO);
	char *buf = NULL;
	size_t len = 0;
	int ret = 0;
	char hist[4096] = "";
	const char *home = getenv("HOME");

#ifdef DNSREEL_HAVE_EDIT
	if (tty && home) {
		snprintf(hist, sizeof(hist), "%s/.dnsreel_query_history", home);
		using_history();
		read_history(hist);
	}
#else
	(void)home;
#endif
	if (tty)
		printf(
		    "dnsreel-query %s: %zu capture(s). .help for help, statements end with ';'.\n",
		    DNSREEL_VERSION, dnsreel_query__capture_count(a->q));
	for (;;) {
		char *line = read_line(len ? "   ...> " : "dnsreel> ", tty);
		size_t l;

		if (!line)
			break;
		if (!len && line[0] == '.') {
#ifdef DNSREEL_HAVE_EDIT
			if (tty)
				add_history(line);
#endif
			bool go = shell_dot(a, line);

			free(line);
			if (!go)
				break;
			continue;
		}
		l = strlen(line);
		char *nb = realloc(buf, len + l + 2);

		if (!nb) {
			free(line);
			ret = 1;
			break;
		}
		buf = nb;
		memcpy(buf + len, line, l);
		len += l;
		buf[len++] = '\n';
		buf[len] = 0;
		free(line);
		if (sqlite3_complete(buf)) {
#ifdef DNSREEL_HAVE_EDIT
			if (tty) {
				buf[len - 1] = 0;
				add_history(buf);
				buf[len - 1] = '\n';
			}
#endif
			if (run_sql(a, buf))
				ret = 1;
			len = 0;
		}
	}
	if (len && run_sql(a, buf)) /* an unterminated last statement from a pipe still runs */
		ret = 1;
	free(buf);
#ifdef DNSREEL_HAVE_EDIT
	if (tty && hist[0])
		write_history(hist);
#endif
	if (tty)
		printf("\n");
	return tty ? 0 : ret;
}

/* ---- main --------------------------------------------------------------------------------- */

static bool is_dir(const char *p)
{
	struct stat st;

	return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

int main(int argc, char **argv)
{
	struct app a = {.out = OUT_TABLE};
	struct dnsreel_query_opts qo = {.sz = sizeof(qo)};
	const char *report = NULL, *sql = NULL;
	char *report_sql = NULL;
	bool show_sql = false;
	const char **caps = NULL;
	size_t ncaps = 0;
	int ret = DNSREEL_EXIT_FAIL, id, code;
	char err[1024];

	/* Frames decode into multi-megabyte blocks, one after another: keep freed memory for the
	 * next one instead of returning it to the kernel and faulting it in again. */
	mallopt(M_MMAP_THRESHOLD, 256 << 20);
	mallopt(M_TRIM_THRESHOLD, 512 << 20);
	dnsreel_cli_init(&a.cli, &tool, argc, argv);
	while ((id = dnsreel_cli_next(&a.cli, &code)) != -1) {
		if (id == DNSREEL_CLI_EXIT)
			return code;
		switch (id) {
		case 'o':
			if (!strcmp(a.cli.arg, "table"))
				a.out = OUT_TABLE;
			else if (!strcmp(a.cli.arg, "csv"))
				a.out = OUT_CSV;
			else if (!strcmp(a.cli.arg, "json"))
				a.out = OUT_JSON;
			else
				return dnsreel_cli_usage_error(&tool, "unknown output '%s'",
							       a.cli.arg);
			break;
		case OPT_NO_HEADER:
			a.no_header = true;
			break;
		case OPT_STATS:
			a.stats = true;
			break;
		case OPT_REPORT:
			report = a.cli.arg;
			break;
		case OPT_SHOW_SQL:
			show_sql = true;
			break;
		case OPT_NO_PUSHDOWN:
			qo.no_pushdown = true;
			break;
		default:
			return dnsreel_cli_usage_error(&tool, "unhandled option");
		}
	}
	if (report && !strcmp(report, "list")) {
		list_reports(stdout);
		return dnsreel_cli_end(&a.cli, DNSREEL_EXIT_OK);
	}
	const struct dnsreel_report *rep = NULL;
	if (report) {
		rep = dnsreel_report_find(report);
		if (!rep) {
			dnsreel_cli_free(&a.cli);
			return dnsreel_cli_usage_error(&tool, "no report '%s' (--report list)",
						       report);
		}
		if (show_sql) {
			/* The variant for the captures named, as running it would use. */
			char *rs = dnsreel_report_sql(rep, argc - a.cli.optind > 1);

			if (rs)
				fputs(rs, stdout);
			free(rs);
			return dnsreel_cli_end(&a.cli, rs ? DNSREEL_EXIT_OK : DNSREEL_EXIT_FAIL);
		}
	} else if (show_sql) {
		dnsreel_cli_free(&a.cli);
		return dnsreel_cli_usage_error(&tool, "--show-sql needs --report NAME");
	}

	/* Operands: capture directories, then the SQL (the last operand, if not a directory). */
	int nops = argc - a.cli.optind;
	char **ops = argv + a.cli.optind;

	/* SQL has blanks; a lone word that is not a directory is a capture that cannot be opened. */
	if (nops > 0 && !rep && !is_dir(ops[nops - 1]) && strpbrk(ops[nops - 1], " \t\n;")) {
		sql = ops[nops - 1];
		nops--;
	}
	if (nops == 0) {
		dnsreel_cli_free(&a.cli);
		return dnsreel_cli_usage_error(&tool, "no capture given");
	}
	caps = calloc((size_t)nops, sizeof(*caps));
	if (!caps)
		goto cleanup;
	for (int i = 0; i < nops; i++)
		caps[ncaps++] = ops[i];

	qo.progress = on_progress;
	qo.progress_ctx = &a;
	int e = dnsreel_query__open(&a.q, caps, ncaps, &qo, err, sizeof(err));
	if (e) {
		dnsreel_err(&a.cli, "%s", err[0] ? err : dnsreel_strerror(e));
		goto cleanup;
	}
	/* A damaged or missing index: the reader scanned the segments instead. The answers come
	 * from what it found, but the capture is not whole (exit 1 at the end, as replay). */
	for (const char *w = dnsreel_query__warnings(a.q); *w;) {
		size_t l = strcspn(w, "\n");

		dnsreel_err(&a.cli, "damaged: %.*s", (int)l, w);
		a.index_damaged = true;
		w += l + (w[l] ? 1 : 0);
	}
	if (open_db(&a, &a.db))
		goto cleanup;
	if (dnsreel_query__register(a.q, a.db) != SQLITE_OK) {
		dnsreel_err(&a.cli, "cannot register tables: %s", sqlite3_errmsg(a.db));
		goto cleanup;
	}
	if (rep) {
		report_sql = dnsreel_report_sql(rep, ncaps > 1);
		if (!report_sql) {
			dnsreel_err(&a.cli, "out of memory");
			goto cleanup;
		}
		sql = report_sql;
	}
	ret = sql ? run_sql(&a, sql) : shell(&a);
	ret = ret ? DNSREEL_EXIT_FAIL : DNSREEL_EXIT_OK;
	if (dnsreel_query__bad_frames(a.q) || a.index_damaged) {
		char hint[1024];
		size_t hl = 0;

		hint[0] = 0;
		for (size_t i = 0; i < ncaps && hl < sizeof(hint) - 1; i++) {
			int n =
			    snprintf(hint + hl, sizeof(hint) - hl, "%s%s", i ? " " : "", caps[i]);

			hl += n > 0 ? (size_t)n : 0;
		}
		uint64_t nbad = dnsreel_query__bad_frames(a.q);
		char what[128];

		if (nbad)
			snprintf(what, sizeof(what), "%llu frame(s) skipped%s",
				 (unsigned long long)nbad,
				 a.index_damaged ? ", index not used" : "");
		else
			snprintf(what, sizeof(what), "index not used, segments scanned instead");
		dnsreel_err(&a.cli,
			    "capture damaged (%s); the answers come from the rest. To repair: "
			    "dnsreel verify --reindex %s",
			    what, hint);
		ret = DNSREEL_EXIT_FAIL;
	}
cleanup:
	sqlite3_close(a.db);
	dnsreel_query__unref(a.q);
	free(report_sql);
	free(caps);
	return dnsreel_cli_end(&a.cli, ret);
}
