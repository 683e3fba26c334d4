/* The module of the materialized tables (rowtab_int.h): each xFilter asks the table's fill
 * function for the rows of every capture and serves them from memory. No constraint is pushed
 * down: the tables hold hundreds of rows, not millions. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "rowtab_int.h"

struct cell {
	int type; /* SQLITE_NULL, SQLITE_INTEGER, SQLITE_TEXT */
	int64_t i;
	char *s;
};

struct rowtab_cur {
	sqlite3_vtab_cursor base;
	const struct rowtab *t;
	struct cell *cells; /* row after row, t->ncols each */
	size_t ncells, cap;
	bool in_row; /* the last t->ncols cells are the row being built */
	size_t row, nrows;
	int err;
};

static void clear(struct rowtab_cur *c)
{
	for (size_t i = 0; i < c->ncells; i++)
		free(c->cells[i].s);
	c->ncells = 0;
	c->row = c->nrows = 0;
	c->in_row = false;
	c->err = 0;
}

/* The cell of col in the row being built, starting the row if needed; NULL on failure. */
static struct cell *cell(struct rowtab_cur *c, int col)
{
	size_t n = (size_t)c->t->ncols;

	if (c->err || col < 0 || col >= c->t->ncols)
		return NULL;
	if (!c->in_row) {
		struct cell *nb =
		    dnsreel_q_grow(c->cells, &c->cap, c->ncells + n, sizeof(*nb), 256);

		if (!nb) {
			c->err = -ENOMEM;
			return NULL;
		}
		c->cells = nb;
		for (size_t k = 0; k < n; k++)
			c->cells[c->ncells + k] = (struct cell){.type = SQLITE_NULL};
		c->ncells += n;
		c->in_row = true;
	}
	return &c->cells[c->ncells - n + (size_t)col];
}

void dnsreel_q_row_int(struct rowtab_cur *c, int col, int64_t v)
{
	struct cell *x = cell(c, col);

	if (x) {
		x->type = SQLITE_INTEGER;
		x->i = v;
	}
}

void dnsreel_q_row_text(struct rowtab_cur *c, int col, const char *s)
{
	struct cell *x = cell(c, col);

	if (!x)
		return;
	free(x->s);
	x->s = strdup(s ? s : "");
	if (!x->s) {
		x->type = SQLITE_NULL;
		c->err = -ENOMEM;
		return;
	}
	x->type = SQLITE_TEXT;
}

void dnsreel_q_row_ctx(struct rowtab_cur *c, int col, const char *s)
{
	if (s && s[0])
		dnsreel_q_row_text(c, col, s);
	else
		cell(c, col); /* stays NULL */
}

void dnsreel_q_row_end(struct rowtab_cur *c)
{
	if (c->in_row && !c->err)
		c->nrows++;
	c->in_row = false;
}

void dnsreel_q_row_fail(struct rowtab_cur *c, int err)
{
	if (!c->err)
		c->err = err;
}

static int rt_connect(sqlite3 *db, void *aux, int argc, const char *const *argv, sqlite3_vtab **out,
		      char **pzErr)
{
	const struct rowtab *t = ((const struct dnsreel_qaux *)aux)->t->desc;

	return dnsreel_q_vtab_connect(db, aux, argc, argv, t->schema, sizeof(struct dnsreel_qvtab),
				      out, pzErr);
}

static int rt_best_index(sqlite3_vtab *vt, sqlite3_index_info *info)
{
	(void)vt;
	info->estimatedCost = 1000; /* a full scan of a small table, whatever the constraints */
	info->estimatedRows = 100;
	return SQLITE_OK;
}

static int rt_open(sqlite3_vtab *vt, sqlite3_vtab_cursor **out)
{
	struct rowtab_cur *c = calloc(1, sizeof(*c));

	if (!c)
		return SQLITE_NOMEM;
	c->t = ((const struct dnsreel_qvtab *)vt)->desc;
	*out = &c->base;
	return SQLITE_OK;
}

static int rt_close(sqlite3_vtab_cursor *cur)
{
	struct rowtab_cur *c = (struct rowtab_cur *)cur;

	clear(c);
	free(c->cells);
	free(c);
	return SQLITE_OK;
}

static int rt_filter(sqlite3_vtab_cursor *cur, int idxNum, const char *idxStr, int argc,
		     sqlite3_value **argv)
{
	struct rowtab_cur *c = (struct rowtab_cur *)cur;
	const struct dnsreel_query *q = ((const struct dnsreel_qvtab *)cur->pVtab)->q;
	int err;

	(void)idxNum;
	(void)idxStr;
	(void)argc;
	(void)argv;
	clear(c);
	for (size_t ci = 0; ci < q->n && !c->err; ci++)
		c->t->fill(c, q, ci);
	err = c->err;
	if (err) {
		clear(c);
		return err == -ENOMEM ? SQLITE_NOMEM : SQLITE_ERROR;
	}
	return SQLITE_OK;
}

static int rt_next(sqlite3_vtab_cursor *cur)
{
	((struct rowtab_cur *)cur)->row++;
	return SQLITE_OK;
}

static int rt_eof(sqlite3_vtab_cursor *cur)
{
	const struct rowtab_cur *c = (const struct rowtab_cur *)cur;

	return c->row >= c->nrows;
}

static int rt_column(sqlite3_vtab_cursor *cur, sqlite3_context *ctx, int col)
{
	const struct rowtab_cur *c = (const struct rowtab_cur *)cur;
	const struct cell *x;

	if (col < 0 || col >= c->t->ncols) {
		sqlite3_result_null(ctx);
		return SQLITE_OK;
	}
	x = &c->cells[c->row * (size_t)c->t->ncols + (size_t)col];
	if (x->type == SQLITE_INTEGER)
		sqlite3_result_int64(ctx, x->i);
	else if (x->type == SQLITE_TEXT)
		sqlite3_result_text(ctx, x->s, -1, SQLITE_STATIC);
	else
		sqlite3_result_null(ctx);
	return SQLITE_OK;
}

static int rt_rowid(sqlite3_vtab_cursor *cur, sqlite3_int64 *rowid)
{
	*rowid = (sqlite3_int64)((const struct rowtab_cur *)cur)->row;
	return SQLITE_OK;
}

const sqlite3_module dnsreel_q_rowtab_module = {
    .iVersion = 0,
    .xCreate = rt_connect, /* eponymous, and CREATE VIRTUAL TABLE x USING pods(DIR) */
    .xConnect = rt_connect,
    .xBestIndex = rt_best_index,
    .xDisconnect = dnsreel_q_vtab_disconnect,
    .xDestroy = dnsreel_q_vtab_disconnect,
    .xOpen = rt_open,
    .xClose = rt_close,
    .xFilter = rt_filter,
    .xNext = rt_next,
    .xEof = rt_eof,
    .xColumn = rt_column,
    .xRowid = rt_rowid,
    DNSREEL_Q_READ_ONLY_SLOTS,
};
