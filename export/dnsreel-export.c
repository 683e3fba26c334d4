/* dnsreel-export: captures into ClickHouse (events, answers, flows) over its HTTP interface,
 * in RowBinary batches, exactly once per event.
 *
 *   captures ─▶ merge by time ─▶ decode ─▶ events, answers rows ─┐
 *                                   └────▶ flows ─▶ flows rows ──┴▶ batch ─▶ INSERTs ─▶ commit
 *
 * Exactly once, on a server without deduplication for plain MergeTree (18.16 deduplicates
 * inserted blocks only in Replicated tables): the exports table holds the state. A batch is
 *   1. inserted: its rows carry the batch number (unique: the wall clock ns it was opened),
 *   2. committed: one INSERT (one block, one part: all or nothing) of a 'frame' row per frame
 *      it touched (how many of the frame's events are now in ClickHouse), a 'flows' row (the
 *      time of its last flow and the flow ids at that time) and a 'commit' row with its counts.
 * A re-run first deletes the rows of batches without a commit (an export killed or cut off
 * between 1 and 2), then skips every event a frame row covers and every flow up to the flows
 * watermark. The whole capture is still read: latency and flows need every event.
 */
#include <curl/curl.h>
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "dnsreel.h"
#include "export_int.h"
#include "flows.h"
#include "view.h"

enum {
	OPT_CLICKHOUSE = 1000,
	OPT_DATABASE,
	OPT_CREATE,
	OPT_SCHEMA,
	OPT_REPORT,
	OPT_SQL,
	OPT_BATCH,
	OPT_NO_FLOWS,
	OPT_NO_ANSWERS,
	OPT_SCAN,
	OPT_STREAMS,
};

static const struct dnsreel_opt options[] = {
    {OPT_CLICKHOUSE, "clickhouse", 0, DNSREEL_REQ_ARG, "URL",
     "ClickHouse HTTP interface, e.g. http://127.0.0.1:8123/ (user:password@ allowed)", "Target"},
    {OPT_DATABASE, "database", 0, DNSREEL_REQ_ARG, "DB", "database (default dnsreel)", NULL},
    {OPT_CREATE, "create", 0, DNSREEL_NO_ARG, NULL,
     "create the database and tables first (if they do not exist)", NULL},
    {OPT_BATCH, "batch", 0, DNSREEL_REQ_ARG, "N",
     "events per batch (one commit each; default 262144)", "Export"},
    {OPT_STREAMS, "streams", 0, DNSREEL_REQ_ARG, "N",
     "INSERT streams per batch: 2 lets the server parse two at once (default 1)", NULL},
    {OPT_NO_FLOWS, "no-flows", 0, DNSREEL_NO_ARG, NULL, "leave the flows table out", NULL},
    {OPT_NO_ANSWERS, "no-answers", 0, DNSREEL_NO_ARG, NULL, "leave the answers table out", NULL},
    {OPT_SCAN, "scan", 0, DNSREEL_NO_ARG, NULL,
     "ignore index.sqlite and scan the segments (damaged index)", NULL},
    {OPT_SCHEMA, "schema", 0, DNSREEL_REQ_ARG, "clickhouse",
     "print the ClickHouse DDL (tables, ordering, partitions) and exit", "SQL"},
    {OPT_REPORT, "report", 0, DNSREEL_REQ_ARG, "NAME",
     "print a built-in report (as dnsreel query --report) in ClickHouse SQL; 'list' names them",
     NULL},
    {OPT_SQL, "sql", 0, DNSREEL_REQ_ARG, "clickhouse", "--report: the SQL dialect (clickhouse)",
     NULL},
    {0, NULL, 0, 0, NULL, NULL, NULL},
};

static void print_versions(FILE *out)
{
	fprintf(out, ", libcurl %s", curl_version_info(CURLVERSION_NOW)->version);
}

static const struct dnsreel_tool tool = {
    .name = "dnsreel-export",
    .usage = "CAPTURE... --clickhouse URL [OPTIONS]",
    .summary = "load captures (events, answers, flows) into ClickHouse, each event once",
    .opts = options,
    .epilog = "Examples:\n"
	      "  dnsreel-export node.reel --clickhouse http://127.0.0.1:8123/ --create\n"
	      "  dnsreel-export --schema clickhouse\n"
	      "  dnsreel-export --report nxdomain --sql clickhouse | clickhouse-client -n\n"
	      "Re-running the same command adds only what is new (a capture that grew, or what an\n"
	      "interrupted export left out).\n"
	      "Exit status: 0 ok, 1 failure (the server refused or went away: what was committed\n"
	      "stays, re-run to resume), 2 usage.\n",
    .print_versions = print_versions,
};

static volatile sig_atomic_t stop_flag;

static void on_signal(int sig)
{
	(void)sig;
	stop_flag = 1;
}

/* A frame by where it is, for the state read back. */
struct fkey {
	uint32_t segment;
	uint64_t offset;
	size_t idx;
};

struct cap {
	const char *path;
	uint8_t id[16];
	char id_text[40];
	size_t nframes;
	struct fkey *keys;   /* sorted by segment, offset */
	uint32_t *committed; /* per catalog frame: events already in ClickHouse */
	uint32_t *done;	     /* ... after this run's batches so far */
	uint8_t *touched;    /* in the open batch */
	size_t *touched_list;
	size_t ntouched;
	/* flows: everything up to (flows_ts, flows_at) is in ClickHouse */
	int64_t flows_ts;
	char (*flows_at)[17];
	size_t nflows_at, cap_flows_at;
	bool flows_dirty;     /* the open batch moved the watermark */
	char (*batch_at)[17]; /* ids at flows_ts the open batch brings */
	size_t nbatch_at, cap_batch_at;
	/* this run */
	uint64_t ev_batch, ans_batch, fl_batch; /* rows in the open batch */
	uint64_t ev_total, ans_total, fl_total, ev_skipped, fl_skipped;
	uint64_t before_events, before_answers, before_flows; /* committed before this run */
};

struct run {
	struct dnsreel_cli *cli;
	struct chx *ch, *ch2; /* ch2: the second INSERT stream, or NULL */
	const char *db;
	struct dnsreel_merge *mg;
	struct dnsreel_flows *fl;
	struct cap *caps;
	size_t ncaps;
	uint64_t batch_events;
	bool answers, flows;
	struct rb ev, ev2, ans, flw; /* ev2: every other event, for the second stream */
	bool flip;
	char *dbuf;
	size_t dbuf_cap;
	/* the event being decoded */
	struct chx_pos pos;
	uint32_t cur_cap;
	bool cur_skip;
	uint64_t last_key;
	uint64_t batch;	  /* open batch number */
	uint64_t batches; /* committed by this run */
	int err;	  /* first failure; stops the merge */
	char errmsg[1200];
	struct dnsreel_progress progress;
	uint64_t rows_sent;
};

static int fail(struct run *r, int err, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(struct run *r, int err, const char *fmt, ...)
{
	va_list ap;

	if (r->err)
		return r->err;
	va_start(ap, fmt);
	vsnprintf(r->errmsg, sizeof(r->errmsg), fmt, ap);
	va_end(ap);
	r->err = err;
	return err;
}

/* Runs query (and body) on the server; on failure the message names what it was doing. */
static int ch(struct run *r, const char *what, const char *query, const char *settings,
	      const void *body, size_t len, const char **resp, size_t *rlen)
{
	int err = chx__post(r->ch, query, settings, body, len, resp, rlen);

	if (err)
		return fail(r, err, "%s: %s", what,
			    err == -EIO ? chx__error(r->ch) : dnsreel_strerror(err));
	return 0;
}

static int fkey_cmp(const void *a, const void *b)
{
	const struct fkey *x = a, *y = b;

	if (x->segment != y->segment)
		return x->segment < y->segment ? -1 : 1;
	return x->offset < y->offset ? -1 : x->offset > y->offset;
}

static struct fkey *fkey_find(struct cap *c, uint32_t segment, uint64_t offset)
{
	struct fkey k = {segment, offset, 0};

	return bsearch(&k, c->keys, c->nframes, sizeof(k), fkey_cmp);
}

static int add_id(char (**arr)[17], size_t *n, size_t *cap, const char *id)
{
	if (*n == *cap) {
		size_t nc = *cap ? *cap * 2 : 16;
		char(*na)[17] = realloc(*arr, nc * sizeof(**arr));
		if (!na)
			return -ENOMEM;
		*arr = na;
		*cap = nc;
	}
	snprintf((*arr)[(*n)++], 17, "%s", id);
	return 0;
}

static int cap_init(struct run *r, uint32_t i)
{
	struct cap *c = &r->caps[i];
	struct dnsreel_capr *cr = dnsreel_merge__capr(r->mg, i);
	const struct dnsreel_meta *m = dnsreel_capr__meta(cr);

	c->path = dnsreel_capr__path(cr);
	if (uuid_parse(m->capture_id, c->id) < 0) {
		/* a capture without a UUID (old or hand-made): a stable one from its id text */
		uint64_t h1 = dnsreel_hash_bytes(m->capture_id, strlen(m->capture_id), 1);
		uint64_t h2 = dnsreel_hash_bytes(m->capture_id, strlen(m->capture_id), 2);
		for (int k = 0; k < 8; k++) {
			c->id[k] = (uint8_t)(h1 >> (56 - 8 * k));
			c->id[8 + k] = (uint8_t)(h2 >> (56 - 8 * k));
		}
	}
	snprintf(c->id_text, sizeof(c->id_text),
		 "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", c->id[0],
		 c->id[1], c->id[2], c->id[3], c->id[4], c->id[5], c->id[6], c->id[7], c->id[8],
		 c->id[9], c->id[10], c->id[11], c->id[12], c->id[13], c->id[14], c->id[15]);
	for (uint32_t j = 0; j < i; j++)
		if (!memcmp(r->caps[j].id, c->id, 16))
			return fail(r, DNSREEL_E_ARG, "%s and %s are the same capture (id %s)",
				    r->caps[j].path, c->path, c->id_text);
	c->nframes = dnsreel_capr__frame_count(cr);
	size_t n = c->nframes ? c->nframes : 1;
	c->keys = calloc(n, sizeof(*c->keys));
	c->committed = calloc(n, sizeof(*c->committed));
	c->done = calloc(n, sizeof(*c->done));
	c->touched = calloc(n, 1);
	c->touched_list = calloc(n, sizeof(*c->touched_list));
	if (!c->keys || !c->committed || !c->done || !c->touched || !c->touched_list)
		return fail(r, -ENOMEM, "out of memory");
	for (size_t k = 0; k < c->nframes; k++) {
		const struct dnsreel_frame_info *fi = dnsreel_capr__frame(cr, k);
		c->keys[k] = (struct fkey){fi->segment, fi->offset, k};
	}
	qsort(c->keys, c->nframes, sizeof(*c->keys), fkey_cmp);
	c->flows_ts = INT64_MIN;
	return 0;
}

static void cap_free(struct cap *c)
{
	free(c->keys);
	free(c->committed);
	free(c->done);
	free(c->touched);
	free(c->touched_list);
	free(c->flows_at);
	free(c->batch_at);
}

/* ---- the state in ClickHouse ------------------------------------------------------------------
 */

static int on_frame_row(void *arg, char **f, size_t nf)
{
	struct cap *c = arg;
	char *end;
	(void)nf;
	unsigned long long seg = strtoull(f[0], &end, 10), off, done;
	if (*end)
		return DNSREEL_E_PARSE;
	off = strtoull(f[1], &end, 10);
	if (*end)
		return DNSREEL_E_PARSE;
	done = strtoull(f[2], &end, 10);
	if (*end || seg > UINT32_MAX || done > UINT32_MAX)
		return DNSREEL_E_PARSE;
	struct fkey *k = fkey_find(c, (uint32_t)seg, off);
	/* a frame no longer in the capture (ring mode dropped its segment) stays exported */
	if (k) {
		c->committed[k->idx] = (uint32_t)done;
		c->done[k->idx] = (uint32_t)done;
	}
	return 0;
}

static int on_u64_row(void *arg, char **f, size_t nf)
{
	uint64_t *out = arg;
	for (size_t i = 0; i < nf; i++) {
		char *end;
		out[i] = strtoull(f[i], &end, 10);
		if (!*f[i] || *end)
			return DNSREEL_E_PARSE;
	}
	return 0;
}

struct idlist {
	char (**arr)[17];
	size_t *n, *cap;
};

static int on_id_row(void *arg, char **f, size_t nf)
{
	struct idlist *l = arg;
	(void)nf;
	if (strlen(f[0]) != 16)
		return DNSREEL_E_PARSE;
	return add_id(l->arr, l->n, l->cap, f[0]);
}

struct batchlist {
	uint64_t *b;
	size_t n, cap;
};

static int on_batch_row(void *arg, char **f, size_t nf)
{
	struct batchlist *l = arg;
	char *end;
	(void)nf;
	uint64_t v = strtoull(f[0], &end, 10);
	if (*end)
		return DNSREEL_E_PARSE;
	if (l->n == l->cap) {
		size_t nc = l->cap ? l->cap * 2 : 8;
		uint64_t *nb = realloc(l->b, nc * sizeof(*nb));
		if (!nb)
			return -ENOMEM;
		l->b = nb;
		l->cap = nc;
	}
	l->b[l->n++] = v;
	return 0;
}

static int tsv(struct run *r, const char *what, const char *q, size_t nf,
	       int (*fn)(void *, char **, size_t), void *arg)
{
	const char *resp;
	size_t len;
	int err = ch(r, what, q, NULL, NULL, 0, &resp, &len);

	if (err)
		return err;
	err = chx_tsv_rows(resp, len, nf, fn, arg);
	if (err)
		return fail(r, err, "%s: unexpected answer from the server (%s)", what,
			    dnsreel_strerror(err));
	return 0;
}

/* Waits for the server's mutations on db to finish (ALTER ... DELETE runs in the background). */
static int wait_mutations(struct run *r)
{
	char q[512];
	snprintf(q, sizeof(q),
		 "SELECT count() FROM system.mutations WHERE database = '%s' AND is_done = 0 "
		 "FORMAT TSV",
		 r->db);
	for (int i = 0; i < 3000 && !stop_flag; i++) {
		uint64_t n = 0;
		int err =
		    tsv(r, "waiting for the removal of uncommitted rows", q, 1, on_u64_row, &n);
		if (err)
			return err;
		if (!n)
			return 0;
		usleep(100000);
	}
	return fail(r, DNSREEL_E_STATE,
		    "the removal of uncommitted rows did not finish (system.mutations); re-run");
}

static int put_state_row(struct rb *b, const struct cap *c, uint64_t batch, uint8_t kind,
			 uint32_t segment, uint64_t offset, uint32_t done, int64_t flows_ts,
			 char (*ids)[17], size_t nids, const uint64_t counts[3], const char *node)
{
	rb_uuid(b, c->id);
	rb_u64(b, batch);
	rb_u8(b, kind);
	rb_u32(b, segment);
	rb_u64(b, offset);
	rb_u32(b, done);
	rb_i64(b, flows_ts);
	{ /* Array(String): a LEB128 count, then the strings */
		uint8_t len[10];
		size_t k = 0;
		uint64_t v = nids;
		do {
			len[k] = (uint8_t)(v & 0x7f);
			v >>= 7;
			if (v)
				len[k] |= 0x80;
			k++;
		} while (v);
		rb_bytes(b, len, k);
	}
	for (size_t i = 0; i < nids; i++)
		rb_str(b, ids[i]);
	rb_u64(b, counts ? counts[0] : 0);
	rb_u64(b, counts ? counts[1] : 0);
	rb_u64(b, counts ? counts[2] : 0);
	rb_str(b, c->path);
	rb_str(b, node);
	b->rows++;
	return b->err;
}

static const char state_cols[] = "capture_id, batch, kind, segment, frame_offset, done, "
				 "flows_ts, flows_at, events, answers, flows, path, node";
enum { K_FRAME = 2, K_FLOWS = 3, K_COMMIT = 4 };

static int insert(struct run *r, const char *what, const char *table, const char *cols,
		  struct rb *b)
{
	char q[2048];

	if (b->err)
		return fail(r, b->err, "%s: out of memory", what);
	if (!b->rows)
		return 0;
	snprintf(q, sizeof(q), "INSERT INTO %s.%s (%s) FORMAT RowBinary", r->db, table, cols);
	int64_t t0 = dnsreel_now_boot_ns();
	int err = ch(r, what, q, NULL, b->p, b->n, NULL, NULL);
	dnsreel_log(r->cli, 1, "batch %" PRIu64 ": %s: %" PRIu64 " rows, %zu bytes, %.3f s",
		    r->batch, table, b->rows, b->n, (double)(dnsreel_now_boot_ns() - t0) / 1e9);
	return err;
}

static const char *node_of(struct run *r, uint32_t i)
{
	return dnsreel_capr__meta(dnsreel_merge__capr(r->mg, i))->node;
}

/* Waits until no INSERT into db runs: the server finishes the INSERT of a client killed after
 * it sent the whole batch, so those rows may land after the killed export is gone. */
static int wait_inserts(struct run *r)
{
	char q[512];
	snprintf(q, sizeof(q),
		 "SELECT count() FROM system.processes WHERE query LIKE 'INSERT INTO %s.%%' "
		 "FORMAT TSV",
		 r->db);
	for (int i = 0; i < 600 && !stop_flag; i++) {
		uint64_t n = 0;
		int err = tsv(r, "waiting for earlier inserts", q, 1, on_u64_row, &n);
		if (err || !n)
			return err;
		usleep(100000);
	}
	return fail(r, DNSREEL_E_STATE,
		    "INSERTs into %s still run after 60 s (another export of the same captures?)",
		    r->db);
}

/* Removes what batches without a commit left, and reads what is committed. */
static int load_state(struct run *r)
{
	char q[4096];
	struct batchlist bl = {0};
	int err = wait_inserts(r);

	for (size_t i = 0; i < r->ncaps && !err; i++) {
		struct cap *c = &r->caps[i];

		bl.n = 0;
		char sub[512];
		snprintf(sub, sizeof(sub),
			 "capture_id = toUUID('%s') AND batch NOT IN (SELECT batch FROM %s.exports "
			 "WHERE capture_id = toUUID('%s') AND kind = 'commit')",
			 c->id_text, r->db, c->id_text);
		snprintf(
		    q, sizeof(q),
		    "SELECT DISTINCT batch FROM (SELECT DISTINCT batch FROM %s.events WHERE %s "
		    "UNION ALL SELECT DISTINCT batch FROM %s.answers WHERE %s UNION ALL "
		    "SELECT DISTINCT batch FROM %s.flows WHERE %s) ORDER BY batch FORMAT TSV",
		    r->db, sub, r->db, sub, r->db, sub);
		err = tsv(r, "reading the export state", q, 1, on_batch_row, &bl);
		if (err || !bl.n)
			continue;
		/* rows of an interrupted batch: deleted by batch number */
		char list[4096];
		size_t o = 0;
		for (size_t k = 0; k < bl.n && o + 24 < sizeof(list); k++)
			o += (size_t)snprintf(list + o, sizeof(list) - o, "%s%" PRIu64,
					      k ? "," : "", bl.b[k]);
		dnsreel_log(r->cli, 0, "%s: removing the rows of %zu interrupted batch(es) (%s)",
			    c->path, bl.n, list);
		static const char *const tables[] = {"events", "answers", "flows"};
		for (size_t t = 0; t < 3 && !err; t++) {
			char dq[4600];
			snprintf(dq, sizeof(dq), "ALTER TABLE %s.%s DELETE WHERE batch IN (%s)",
				 r->db, tables[t], list);
			err = ch(r, "removing the rows of an interrupted export", dq, NULL, NULL, 0,
				 NULL, NULL);
		}
		if (!err)
			err = wait_mutations(r);
	}
	free(bl.b);
	for (size_t i = 0; i < r->ncaps && !err; i++) {
		struct cap *c = &r->caps[i];
		uint64_t v[3] = {0};
		snprintf(
		    q, sizeof(q),
		    "SELECT segment, frame_offset, max(done) FROM %s.exports WHERE capture_id = "
		    "toUUID('%s') AND kind = 'frame' GROUP BY segment, frame_offset FORMAT TSV",
		    r->db, c->id_text);
		err = tsv(r, "reading the export state", q, 3, on_frame_row, c);
		if (err)
			break;
		snprintf(q, sizeof(q),
			 "SELECT count(), max(flows_ts) FROM %s.exports WHERE capture_id = "
			 "toUUID('%s') AND kind = 'flows' FORMAT TSV",
			 r->db, c->id_text);
		err = tsv(r, "reading the export state", q, 2, on_u64_row, v);
		if (err)
			break;
		if (v[0]) {
			struct idlist l = {&c->flows_at, &c->nflows_at, &c->cap_flows_at};
			c->flows_ts = (int64_t)v[1];
			snprintf(
			    q, sizeof(q),
			    "SELECT DISTINCT arrayJoin(flows_at) FROM %s.exports WHERE "
			    "capture_id = toUUID('%s') AND kind = 'flows' AND flows_ts = %" PRId64
			    " FORMAT TSV",
			    r->db, c->id_text, c->flows_ts);
			err = tsv(r, "reading the export state", q, 1, on_id_row, &l);
			if (err)
				break;
		}
		snprintf(q, sizeof(q),
			 "SELECT sum(events), sum(answers), sum(flows) FROM %s.exports WHERE "
			 "capture_id = toUUID('%s') AND kind = 'commit' FORMAT TSV",
			 r->db, c->id_text);
		uint64_t t[3] = {0};
		err = tsv(r, "reading the export state", q, 3, on_u64_row, t);
		c->before_events = t[0];
		c->before_answers = t[1];
		c->before_flows = t[2];
	}
	return err;
}

/* ---- batches ----------------------------------------------------------------------------------
 */

static uint64_t new_batch_id(struct run *r)
{
	uint64_t b = (uint64_t)dnsreel_now_wall_ns();
	return b > r->batch ? b : r->batch + 1;
}

static bool batch_empty(const struct run *r)
{
	if (r->ev.rows || r->ev2.rows || r->ans.rows || r->flw.rows)
		return false;
	for (size_t i = 0; i < r->ncaps; i++)
		if (r->caps[i].ntouched || r->caps[i].flows_dirty)
			return false;
	return true;
}

/* One INSERT stream's share of a batch: up to two tables, sent in order. */
struct stream {
	struct run *r;
	struct chx *ch;
	struct rb *rb[2];
	const char *table[2], *cols[2];
	int err;
	char msg[1200];
};

static void *stream_send(void *arg)
{
	struct stream *st = arg;
	struct run *r = st->r;

	for (int i = 0; i < 2 && !st->err; i++) {
		struct rb *b = st->rb[i];
		char q[2048];

		if (!b || !b->rows)
			continue;
		if (b->err) {
			st->err = b->err;
			snprintf(st->msg, sizeof(st->msg), "inserting %s: out of memory",
				 st->table[i]);
			break;
		}
		snprintf(q, sizeof(q), "INSERT INTO %s.%s (%s) FORMAT RowBinary", r->db,
			 st->table[i], st->cols[i]);
		int64_t t0 = dnsreel_now_boot_ns();
		st->err = chx__post(st->ch, q, NULL, b->p, b->n, NULL, NULL);
		if (st->err)
			snprintf(st->msg, sizeof(st->msg), "inserting %s: %s", st->table[i],
				 st->err == -EIO ? chx__error(st->ch) : dnsreel_strerror(st->err));
		else
			dnsreel_log(r->cli, 1,
				    "batch %" PRIu64 ": %s: %" PRIu64 " rows, %zu bytes, %.3f s",
				    r->batch, st->table[i], b->rows, b->n,
				    (double)(dnsreel_now_boot_ns() - t0) / 1e9);
	}
	return NULL;
}

/* The batch's rows: events and answers on the first stream; the other half of the events and
 * the flows on the second, at the same time (ClickHouse parses each INSERT on one thread). */
static int send_data(struct run *r)
{
	struct stream s1 = {
	    r, r->ch, {&r->ev, &r->ans}, {"events", "answers"}, {chx_events_cols, chx_answers_cols},
	    0, ""};
	struct stream s2 = {
	    r, r->ch2, {&r->ev2, &r->flw}, {"events", "flows"}, {chx_events_cols, chx_flows_cols},
	    0, ""};
	pthread_t t;
	bool two = r->ch2 && pthread_create(&t, NULL, stream_send, &s2) == 0;

	if (!two) {
		stream_send(&s1);
		s2.ch = r->ch;
		if (!s1.err)
			stream_send(&s2);
	} else {
		stream_send(&s1);
		pthread_join(t, NULL);
	}
	if (s1.err)
		return fail(r, s1.err, "%s", s1.msg);
	if (s2.err)
		return fail(r, s2.err, "%s", s2.msg);
	return 0;
}

/* Sends the open batch and commits it; opens the next when more follows. */
static int commit(struct run *r, bool more)
{
	struct rb b = {0};
	int err;

	if (r->err)
		return r->err;
	if (batch_empty(r))
		return 0;
	err = send_data(r);
	for (size_t i = 0; i < r->ncaps && !err; i++) {
		struct cap *c = &r->caps[i];
		struct dnsreel_capr *cr = dnsreel_merge__capr(r->mg, (uint32_t)i);
		const char *node = node_of(r, (uint32_t)i);
		uint64_t counts[3] = {c->ev_batch, c->ans_batch, c->fl_batch};

		for (size_t k = 0; k < c->ntouched && !err; k++) {
			size_t f = c->touched_list[k];
			const struct dnsreel_frame_info *fi = dnsreel_capr__frame(cr, f);
			err = put_state_row(&b, c, r->batch, K_FRAME, fi->segment, fi->offset,
					    c->done[f], 0, NULL, 0, NULL, node);
		}
		if (!err && c->flows_dirty)
			err = put_state_row(&b, c, r->batch, K_FLOWS, 0, 0, 0, c->flows_ts,
					    c->batch_at, c->nbatch_at, NULL, node);
		if (!err)
			err = put_state_row(&b, c, r->batch, K_COMMIT, 0, 0, 0, 0, NULL, 0, counts,
					    node);
		if (err)
			fail(r, err, "out of memory");
	}
	if (!err)
		err = insert(r, "committing a batch", "exports", state_cols, &b);
	rb_free(&b);
	if (err)
		return err;
	r->batches++;
	r->rows_sent += r->ev.rows + r->ev2.rows + r->ans.rows + r->flw.rows;
	rb_reset(&r->ev);
	rb_reset(&r->ev2);
	rb_reset(&r->ans);
	rb_reset(&r->flw);
	for (size_t i = 0; i < r->ncaps; i++) {
		struct cap *c = &r->caps[i];
		for (size_t k = 0; k < c->ntouched; k++)
			c->touched[c->touched_list[k]] = 0;
		c->ntouched = 0;
		c->flows_dirty = false;
		c->nbatch_at = 0;
		c->ev_total += c->ev_batch;
		c->ans_total += c->ans_batch;
		c->fl_total += c->fl_batch;
		c->ev_batch = c->ans_batch = c->fl_batch = 0;
	}
	if (more)
		r->batch = new_batch_id(r);
	return 0;
}

/* ---- the stream ---------------------------------------------------------------------------------
 */

static int on_event(void *arg, uint32_t capture, uint32_t segment, const struct dnsreel_event *ev,
		    int64_t wall_ns)
{
	struct run *r = arg;
	struct cap *c = &r->caps[capture];
	uint64_t frame;
	uint32_t pos;

	(void)ev;
	(void)wall_ns;
	/* between events: every message of the events before is in the batch */
	if (r->ev.rows + r->ev2.rows >= r->batch_events && commit(r, true))
		return 1;
	dnsreel_merge__position(r->mg, &frame, &pos);
	if (frame >= c->nframes)
		return fail(r, DNSREEL_E_STATE, "%s: frame %" PRIu64 " is not in the catalog",
			    c->path, frame);
	const struct dnsreel_frame_info *fi =
	    dnsreel_capr__frame(dnsreel_merge__capr(r->mg, capture), frame);
	r->cur_cap = capture;
	r->cur_skip = pos < c->committed[frame];
	r->pos.capture_id = c->id;
	r->pos.segment = segment;
	r->pos.frame_offset = fi->offset;
	r->pos.event = pos;
	r->pos.sub = 0;
	r->last_key = UINT64_MAX;
	if (r->cur_skip) {
		c->ev_skipped++;
		return 0;
	}
	c->done[frame] = pos + 1;
	if (!c->touched[frame]) {
		c->touched[frame] = 1;
		c->touched_list[c->ntouched++] = frame;
	}
	return 0;
}

static int on_rec(void *arg, const struct dnsreel_rec *rec)
{
	struct run *r = arg;

	if (!r->cur_skip) {
		struct cap *c = &r->caps[r->cur_cap];
		/* a TCP packet completing several messages: numbered as the query tool does */
		if (r->last_key != UINT64_MAX)
			r->pos.sub++;
		r->last_key = 0;
		r->pos.batch = r->batch;
		r->flip = !r->flip;
		chx_event_row(r->ch2 && r->flip ? &r->ev2 : &r->ev, &r->pos, rec);
		c->ev_batch++;
		if (r->answers)
			c->ans_batch +=
			    chx_answer_rows(&r->ans, &r->pos, rec, &r->dbuf, &r->dbuf_cap);
		if (r->ev.err || r->ev2.err || r->ans.err)
			return fail(r, -ENOMEM, "out of memory");
	}
	return r->fl ? dnsreel_flows__feed(r->fl, rec) : 0;
}

static bool id_in(char (*ids)[17], size_t n, const char *id)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(ids[i], id))
			return true;
	return false;
}

static int on_flow(void *arg, const struct dnsreel_flow *f)
{
	struct run *r = arg;
	struct cap *c = &r->caps[f->capture];

	if (f->wall_ns < c->flows_ts ||
	    (f->wall_ns == c->flows_ts && id_in(c->flows_at, c->nflows_at, f->flow_id))) {
		c->fl_skipped++;
		return 0;
	}
	if (f->wall_ns > c->flows_ts) {
		c->flows_ts = f->wall_ns;
		c->nflows_at = 0;
		c->nbatch_at = 0;
	}
	if (add_id(&c->flows_at, &c->nflows_at, &c->cap_flows_at, f->flow_id) ||
	    add_id(&c->batch_at, &c->nbatch_at, &c->cap_batch_at, f->flow_id))
		return fail(r, -ENOMEM, "out of memory");
	c->flows_dirty = true;
	chx_flow_row(&r->flw, dnsreel_merge__ctx(r->mg), c->id, r->batch, f);
	c->fl_batch++;
	return r->flw.err ? fail(r, -ENOMEM, "out of memory") : 0;
}

static void on_problem(void *arg, const char *msg)
{
	struct run *r = arg;
	dnsreel_progress_done(&r->progress);
	dnsreel_err(r->cli, "damaged: %s", msg);
}

static void on_tick(void *arg, const struct dnsreel_merge_stats *st, bool idle)
{
	struct run *r = arg;
	char rate[96];

	if (idle)
		return;
	dnsreel_progress_rate(&r->progress, st->events_read, st->events_total, "events", rate,
			      sizeof(rate));
	dnsreel_progress(&r->progress, "events %llu/%llu  batches %llu  rows sent %llu%s",
			 (unsigned long long)st->events_read, (unsigned long long)st->events_total,
			 (unsigned long long)r->batches, (unsigned long long)r->rows_sent, rate);
}

/* ---- main ---------------------------------------------------------------------------------------
 */

static int print_schema(const char *db)
{
	char *stmts[16];
	size_t n = chx_schema(db, stmts, 16);

	if (!n)
		return -ENOMEM;
	printf("-- dnsreel %s: ClickHouse schema (18.16 and later; see dnsreel-export(1))\n"
	       "SET allow_experimental_low_cardinality_type = 1;\n\n",
	       DNSREEL_VERSION);
	for (size_t i = 0; i < n; i++) {
		printf("%s;\n\n", stmts[i]);
		free(stmts[i]);
	}
	return 0;
}

static int create_tables(struct run *r)
{
	char *stmts[16];
	size_t n = chx_schema(r->db, stmts, 16);
	int err = n ? 0 : fail(r, -ENOMEM, "out of memory");

	for (size_t i = 0; i < n; i++) {
		if (!err)
			err = ch(r, "creating the tables (--create)", stmts[i], CHX_CREATE_SETTINGS,
				 NULL, 0, NULL, NULL);
		free(stmts[i]);
	}
	return err;
}

/* Says what ClickHouse holds of each capture against what the export state committed. */
static int summary(struct run *r)
{
	char q[1024];
	int err = 0;

	for (size_t i = 0; i < r->ncaps && !err; i++) {
		struct cap *c = &r->caps[i];
		uint64_t have[3] = {0};
		snprintf(
		    q, sizeof(q),
		    "SELECT (SELECT count() FROM %s.events WHERE capture_id = toUUID('%s')), "
		    "(SELECT count() FROM %s.answers WHERE capture_id = toUUID('%s')), "
		    "(SELECT count() FROM %s.flows WHERE capture_id = toUUID('%s')) FORMAT TSV",
		    r->db, c->id_text, r->db, c->id_text, r->db, c->id_text);
		err = tsv(r, "counting the exported rows", q, 3, on_u64_row, have);
		if (err)
			break;
		uint64_t want[3] = {c->before_events + c->ev_total,
				    c->before_answers + c->ans_total,
				    c->before_flows + c->fl_total};
		dnsreel_log(r->cli, 0,
			    "%s: exported %" PRIu64 " events, %" PRIu64 " answers, %" PRIu64
			    " flows (skipped as already there: %" PRIu64 " events, %" PRIu64
			    " flows); %s.events holds %" PRIu64 " events of capture %s",
			    c->path, c->ev_total, c->ans_total, c->fl_total, c->ev_skipped,
			    c->fl_skipped, r->db, have[0], c->id_text);
		if (have[0] != want[0] || have[1] != want[1] || have[2] != want[2])
			err = fail(r, DNSREEL_E_STATE,
				   "%s: ClickHouse holds %" PRIu64 " events, %" PRIu64
				   " answers, %" PRIu64 " flows of this capture but the export "
				   "state committed %" PRIu64 ", %" PRIu64 ", %" PRIu64
				   " (another export of the same capture at the same time, or rows "
				   "inserted by hand)",
				   c->path, have[0], have[1], have[2], want[0], want[1], want[2]);
	}
	return err;
}

int main(int argc, char **argv)
{
	struct dnsreel_cli cli;
	struct run run = {
	    .cli = &cli, .db = "dnsreel", .batch_events = 262144, .answers = true, .flows = true};
	const char *url = NULL, *schema = NULL, *report = NULL, *sql = NULL;
	bool create = false, scan = false;
	unsigned streams = 1;
	int exit_code = DNSREEL_EXIT_OK, code = 0, id, err = 0;
	char errbuf[1024] = "";
	uint64_t v;

	dnsreel_cli_init(&cli, &tool, argc, argv);
	while ((id = dnsreel_cli_next(&cli, &code)) != -1) {
		switch (id) {
		case DNSREEL_CLI_EXIT:
			exit_code = code;
			goto cleanup;
		case OPT_CLICKHOUSE:
			url = cli.arg;
			break;
		case OPT_DATABASE:
			run.db = cli.arg;
			break;
		case OPT_CREATE:
			create = true;
			break;
		case OPT_SCHEMA:
			schema = cli.arg;
			break;
		case OPT_REPORT:
			report = cli.arg;
			break;
		case OPT_SQL:
			sql = cli.arg;
			break;
		case OPT_BATCH:
			if (dnsreel_parse_u64(cli.arg, 1, 1u << 30, &v)) {
				exit_code = dnsreel_cli_usage_error(
				    &tool, "--batch '%s': a number of events (1 or more)", cli.arg);
				goto cleanup;
			}
			run.batch_events = v;
			break;
		case OPT_NO_FLOWS:
			run.flows = false;
			break;
		case OPT_NO_ANSWERS:
			run.answers = false;
			break;
		case OPT_SCAN:
			scan = true;
			break;
		case OPT_STREAMS:
			if (dnsreel_parse_u64(cli.arg, 1, 2, &v)) {
				exit_code = dnsreel_cli_usage_error(&tool, "--streams '%s': 1 or 2",
								    cli.arg);
				goto cleanup;
			}
			streams = (unsigned)v;
			break;
		}
	}
	/* the database name goes into SQL text: a plain identifier only */
	for (const char *p = run.db; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || *p == '_' ||
		      (p != run.db && *p >= '0' && *p <= '9'))) {
			exit_code = dnsreel_cli_usage_error(
			    &tool, "--database '%s': letters, digits and _ only", run.db);
			goto cleanup;
		}
	if (!run.db[0]) {
		exit_code = dnsreel_cli_usage_error(&tool, "--database: empty name");
		goto cleanup;
	}
	if (sql && strcmp(sql, "clickhouse")) {
		exit_code = dnsreel_cli_usage_error(&tool, "--sql '%s': only clickhouse", sql);
		goto cleanup;
	}
	if (schema) {
		if (strcmp(schema, "clickhouse")) {
			exit_code = dnsreel_cli_usage_error(&tool, "--schema '%s': only clickhouse",
							    schema);
			goto cleanup;
		}
		if (print_schema(run.db) < 0)
			exit_code = DNSREEL_EXIT_FAIL;
		goto cleanup;
	}
	if (report) {
		size_t n;
		const struct chx_report *rs = chx_reports(&n);
		if (!strcmp(report, "list")) {
			for (size_t i = 0; i < n; i++)
				printf("%s\n", rs[i].name);
			goto cleanup;
		}
		char *s = chx_report_sql(report, run.db);
		if (!s) {
			exit_code = dnsreel_cli_usage_error(
			    &tool, "--report '%s': unknown (--report list names them)", report);
			goto cleanup;
		}
		fputs(s, stdout);
		free(s);
		goto cleanup;
	}
	if (!url) {
		exit_code = dnsreel_cli_usage_error(&tool, "--clickhouse URL is required");
		goto cleanup;
	}
	if (cli.optind >= argc) {
		exit_code = dnsreel_cli_usage_error(&tool, "no capture given");
		goto cleanup;
	}
	if (curl_global_init(CURL_GLOBAL_DEFAULT)) {
		dnsreel_err(&cli, "libcurl did not initialise");
		exit_code = DNSREEL_EXIT_FAIL;
		goto cleanup;
	}

	struct dnsreel_merge_opts mo = {
	    .sz = sizeof(mo),
	    .stop = &stop_flag,
	    .problem = on_problem,
	    .problem_ctx = &run,
	    .event_fn = on_event,
	    .event_arg = &run,
	    .rec_fn = on_rec,
	    .rec_arg = &run,
	    .tick = on_tick,
	    .tick_arg = &run,
	    .capr_flags = scan ? DNSREEL_CAPR_SCAN : 0,
	};
	err = dnsreel_merge__open(&run.mg, (const char *const *)argv + cli.optind,
				  (size_t)(argc - cli.optind), &mo, errbuf, sizeof(errbuf));
	if (err < 0) {
		dnsreel_err(&cli, "%s", errbuf[0] ? errbuf : dnsreel_strerror(err));
		exit_code = DNSREEL_EXIT_FAIL;
		goto cleanup;
	}
	run.ncaps = dnsreel_merge__capture_count(run.mg);
	run.caps = calloc(run.ncaps, sizeof(*run.caps));
	if (!run.caps) {
		dnsreel_err(&cli, "out of memory");
		exit_code = DNSREEL_EXIT_FAIL;
		goto cleanup;
	}
	for (uint32_t i = 0; i < run.ncaps && !err; i++)
		err = cap_init(&run, i);
	if (!err && run.flows) {
		struct dnsreel_flows_opts fo = {.sz = sizeof(fo), .fn = on_flow, .arg = &run};
		err = dnsreel_flows__new(&run.fl, dnsreel_merge__ctx(run.mg), &fo);
		if (err)
			fail(&run, err, "flows: %s", dnsreel_strerror(err));
	}
	if (!err)
		err = chx__new(&run.ch, url);
	if (!err && streams > 1)
		err = chx__new(&run.ch2, url);
	if (err && !run.err)
		fail(&run, err, "%s", dnsreel_strerror(err));
	if (!err && create)
		err = create_tables(&run);
	if (!err)
		err = load_state(&run);

	struct sigaction sa = {.sa_handler = on_signal};
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	dnsreel_progress_init(&run.progress, &cli);
	run.batch = new_batch_id(&run);
	if (!err) {
		int rc = dnsreel_merge__run(run.mg);
		if (rc && !run.err)
			fail(&run, rc < 0 ? rc : DNSREEL_E_STATE, "export: %s",
			     rc < 0 ? dnsreel_strerror(rc) : "stopped");
		if (!run.err && run.fl) {
			rc = dnsreel_flows__flush(run.fl);
			if (rc && !run.err)
				fail(&run, rc, "flows: %s", dnsreel_strerror(rc));
		}
		/* interrupted (Ctrl-C): what was read is committed, the rest is for a re-run */
		if (!run.err || (stop_flag && run.err == DNSREEL_E_STATE)) {
			int e2 = run.err;
			run.err = 0;
			commit(&run, false);
			if (!run.err)
				run.err = e2;
		}
		if (!run.err && stop_flag)
			fail(&run, DNSREEL_E_STATE, "interrupted");
		if (!run.err)
			summary(&run);
		err = run.err;
	}
	dnsreel_progress_done(&run.progress);
	if (err) {
		dnsreel_err(&cli, "%s", run.errmsg[0] ? run.errmsg : dnsreel_strerror(err));
		if (run.ch && run.batch && !batch_empty(&run)) {
			uint64_t done = 0;
			for (size_t i = 0; i < run.ncaps; i++)
				done += run.caps[i].ev_total;
			dnsreel_err(&cli,
				    "ClickHouse %s: %" PRIu64 " batch(es) with %" PRIu64
				    " events committed by this run; batch %" PRIu64
				    " is not: run the same command again to remove its rows and "
				    "resume",
				    chx__gone(run.ch) || (run.ch2 && chx__gone(run.ch2))
					? "is unreachable"
					: "refused",
				    run.batches, done, run.batch);
		}
		exit_code = DNSREEL_EXIT_FAIL;
	}
	if (run.mg) {
		struct dnsreel_merge_stats st;
		dnsreel_merge__stats(run.mg, &st);
		if (st.frames_bad || st.capture_problems) {
			dnsreel_err(
			    &cli, "capture damaged (%llu frame(s) skipped); the rest was exported",
			    (unsigned long long)st.frames_bad);
			exit_code = DNSREEL_EXIT_FAIL;
		}
	}

cleanup:
	dnsreel_flows__free(run.fl);
	for (size_t i = 0; i < run.ncaps && run.caps; i++)
		cap_free(&run.caps[i]);
	free(run.caps);
	rb_free(&run.ev);
	rb_free(&run.ev2);
	chx__free(run.ch2);
	rb_free(&run.ans);
	rb_free(&run.flw);
	free(run.dbuf);
	chx__free(run.ch);
	dnsreel_merge__close(run.mg);
	if (url && !schema && !report)
		curl_global_cleanup();
	exit_code = dnsreel_cli_end(&cli, exit_code);
	dnsreel_cli_free(&cli);
	return exit_code;
}
