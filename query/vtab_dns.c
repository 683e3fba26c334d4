/* The dns and answers virtual tables: rows decoded from the segments frame by frame.
 *
 * Speed comes from three things. Pushdown: constraints on time, netns, name, pod, qr, rcode,
 * capture, segment and event_id become a dnsreel_prune per capture, and frames the catalog
 * rules out are never decompressed (SQLite re-checks every constraint, so pruning only has to
 * be conservative). Laziness: a row is an event index plus a message pointer; netns context,
 * DNS parsing and text formatting happen only for the columns SQLite asks for. Grouping: for
 * GROUP BY / DISTINCT over low-cardinality columns the table counts distinct tuples of the
 * used columns itself and hands SQLite each tuple as many times as it occurred, clustered, so
 * SQLite's aggregator streams instead of sorting ten million rows.
 */
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dnsreel.h"
#include "qint.h"

/* ---- columns ------------------------------------------------------------------------------ */

enum ckind {
	CK_FIELD,    /* the field's value: text for STR, integer for INT/BOOL */
	CK_RAW,	     /* the raw number behind a STR field (timestamp ns, qtype, rcode) */
	CK_EVENT_ID, /* join key with answers */
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
	char name[48];
	enum dnsreel_field_id f;
	enum ckind kind;
	bool is_int;
	uint8_t needs_dns; /* value comes from the message: 1 header and question, 2 all */
	bool needs_ns;	   /* value comes from the netns context */
	bool lowcard;	   /* few distinct values: may be grouped inside the table */
	enum sem sem;
};

#define MAX_COLS 64

static struct qcol dns_cols[MAX_COLS];
static int ndns_cols;
static char dns_schema[4096];
static int col_latency = -1;
static pthread_once_t cols_once = PTHREAD_ONCE_INIT;

/* The issue's column order first (SELECT * reads like trace_dns), then the extra fields. */
static const struct {
	enum dnsreel_field_id f;
	enum ckind kind;
	const char *name; /* NULL: the field table's name with '.' -> '_' */
} col_order[] = {
    {DNSREEL_F_TIMESTAMP, CK_RAW, "timestamp"},
    {DNSREEL_F_TIMESTAMP, CK_FIELD, "time"},
    {DNSREEL_F_K8S_NODE, CK_FIELD, NULL},
    {DNSREEL_F_K8S_NAMESPACE, CK_FIELD, NULL},
    {DNSREEL_F_K8S_PODNAME, CK_FIELD, NULL},
    {DNSREEL_F_K8S_CONTAINERNAME, CK_FIELD, NULL},
    {DNSREEL_F_RUNTIME_CONTAINERNAME, CK_FIELD, NULL},
    {DNSREEL_F_NETNS_ID, CK_FIELD, NULL},
    {DNSREEL_F_PKT_TYPE, CK_FIELD, NULL},
    {DNSREEL_F_PROTO, CK_FIELD, NULL},
    {DNSREEL_F_SRC_ADDR, CK_FIELD, NULL},
    {DNSREEL_F_SRC_PORT, CK_FIELD, NULL},
    {DNSREEL_F_DST_ADDR, CK_FIELD, NULL},
    {DNSREEL_F_DST_PORT, CK_FIELD, NULL},
    {DNSREEL_F_SRC, CK_FIELD, NULL},
    {DNSREEL_F_DST, CK_FIELD, NULL},
    {DNSREEL_F_COMM, CK_FIELD, NULL},
    {DNSREEL_F_PID, CK_FIELD, NULL},
    {DNSREEL_F_TID, CK_FIELD, NULL},
    {DNSREEL_F_UID, CK_FIELD, NULL},
    {DNSREEL_F_GID, CK_FIELD, NULL},
    {DNSREEL_F_ID, CK_FIELD, NULL},
    {DNSREEL_F_QR, CK_FIELD, NULL},
    {DNSREEL_F_OPCODE, CK_FIELD, NULL},
    {DNSREEL_F_QTYPE, CK_FIELD, NULL},
    {DNSREEL_F_QTYPE, CK_RAW, "qtype_raw"},
    {DNSREEL_F_NAME, CK_FIELD, NULL},
    {DNSREEL_F_RCODE, CK_FIELD, NULL},
    {DNSREEL_F_RCODE, CK_RAW, "rcode_raw"},
    {DNSREEL_F_NUM_ANSWERS, CK_FIELD, NULL},
    {DNSREEL_F_ADDRESSES, CK_FIELD, NULL},
    {DNSREEL_F_LATENCY_NS, CK_FIELD, NULL},
    {DNSREEL_F_TC, CK_FIELD, NULL},
    {DNSREEL_F_RD, CK_FIELD, NULL},
    {DNSREEL_F_RA, CK_FIELD, NULL},
    {DNSREEL_F_AA, CK_FIELD, NULL},
    {DNSREEL_F_SIZE, CK_FIELD, NULL},
    {DNSREEL_F_CAPTURE, CK_FIELD, NULL},
    {DNSREEL_F_SEGMENT, CK_FIELD, NULL},
    {DNSREEL_F_RUNTIME_CONTAINERID, CK_FIELD, NULL},
    {DNSREEL_F_IFINDEX, CK_FIELD, NULL},
    {DNSREEL_F_NAMESERVER, CK_FIELD, NULL},
    {DNSREEL_F_AD, CK_FIELD, NULL},
    {DNSREEL_F_CD, CK_FIELD, NULL},
    {DNSREEL_F_COUNT_, CK_EVENT_ID, "event_id"},
};

static uint8_t field_needs_dns(enum dnsreel_field_id f)
{
	switch (f) {
	case DNSREEL_F_RCODE: /* extended bits live in OPT */
	case DNSREEL_F_ADDRESSES:
	case DNSREEL_F_NUM_ANSWERS:
		return 2;
	case DNSREEL_F_ID:
	case DNSREEL_F_QR:
	case DNSREEL_F_OPCODE:
	case DNSREEL_F_QTYPE:
	case DNSREEL_F_NAME:
	case DNSREEL_F_TC:
	case DNSREEL_F_RD:
	case DNSREEL_F_RA:
	case DNSREEL_F_AA:
	case DNSREEL_F_AD:
	case DNSREEL_F_CD:
	case DNSREEL_F_NAMESERVER:
		return 1;
	default:
		return 0;
	}
}

static bool field_needs_ns(enum dnsreel_field_id f)
{
	switch (f) {
	case DNSREEL_F_K8S_NAMESPACE:
	case DNSREEL_F_K8S_PODNAME:
	case DNSREEL_F_K8S_CONTAINERNAME:
	case DNSREEL_F_RUNTIME_CONTAINERNAME:
	case DNSREEL_F_RUNTIME_CONTAINERID:
		return true;
	default:
		return false;
	}
}

static bool field_highcard(enum dnsreel_field_id f, enum ckind k)
{
	if (k == CK_EVENT_ID)
		return true;
	switch (f) {
	case DNSREEL_F_TIMESTAMP:
	case DNSREEL_F_SRC:
	case DNSREEL_F_DST:
	case DNSREEL_F_SRC_PORT:
	case DNSREEL_F_DST_PORT:
	case DNSREEL_F_ID:
	case DNSREEL_F_LATENCY_NS:
	case DNSREEL_F_ADDRESSES:
	case DNSREEL_F_TID:
	case DNSREEL_F_SIZE:
		return true;
	default:
		return false;
	}
}

static enum sem field_sem(enum dnsreel_field_id f, enum ckind k)
{
	if (k == CK_EVENT_ID)
		return SEM_EVENT_ID;
	switch (f) {
	case DNSREEL_F_TIMESTAMP:
		return k == CK_RAW ? SEM_TS : SEM_TIME;
	case DNSREEL_F_NETNS_ID:
		return SEM_NETNS;
	case DNSREEL_F_K8S_NAMESPACE:
	case DNSREEL_F_K8S_PODNAME:
	case DNSREEL_F_K8S_CONTAINERNAME:
	case DNSREEL_F_RUNTIME_CONTAINERNAME:
	case DNSREEL_F_RUNTIME_CONTAINERID:
		return k == CK_FIELD ? SEM_NSFIELD : SEM_NONE;
	case DNSREEL_F_NAME:
		return SEM_NAME;
	case DNSREEL_F_QR:
		return k == CK_FIELD ? SEM_QR : SEM_NONE;
	case DNSREEL_F_RCODE:
		return k == CK_RAW ? SEM_RCODE_RAW : SEM_RCODE;
	case DNSREEL_F_CAPTURE:
		return SEM_CAPTURE;
	case DNSREEL_F_SEGMENT:
		return SEM_SEGMENT;
	default:
		return SEM_NONE;
	}
}

static void cols_init(void)
{
	size_t nf;
	const struct dnsreel_field_def *defs = dnsreel_fields(&nf);
	size_t off;

	off = (size_t)snprintf(dns_schema, sizeof(dns_schema), "CREATE TABLE x(");
	for (size_t i = 0; i < sizeof(col_order) / sizeof(col_order[0]); i++) {
		struct qcol *c = &dns_cols[ndns_cols];
		enum dnsreel_field_id f = col_order[i].f;

		if (col_order[i].kind != CK_EVENT_ID && (size_t)f >= nf)
			continue;
		c->f = f;
		c->kind = col_order[i].kind;
		if (col_order[i].name) {
			snprintf(c->name, sizeof(c->name), "%s", col_order[i].name);
		} else {
			snprintf(c->name, sizeof(c->name), "%s", defs[f].name);
			for (char *p = c->name; *p; p++)
				if (*p == '.')
					*p = '_';
		}
		c->is_int = c->kind != CK_FIELD || defs[f].type != DNSREEL_FT_STR;
		c->needs_dns = c->kind != CK_EVENT_ID ? field_needs_dns(f) : 0;
		c->needs_ns = c->kind != CK_EVENT_ID && field_needs_ns(f);
		c->lowcard = !field_highcard(f, c->kind);
		c->sem = field_sem(f, c->kind);
		if (c->kind == CK_FIELD && f == DNSREEL_F_LATENCY_NS)
			col_latency = ndns_cols;
		off += (size_t)snprintf(dns_schema + off, sizeof(dns_schema) - off, "%s\"%s\" %s",
					ndns_cols ? ", " : "", c->name,
					c->is_int ? "INTEGER" : "TEXT");
		ndns_cols++;
	}
	snprintf(dns_schema + off, sizeof(dns_schema) - off, ")");
}

/* answers: fixed columns. */
enum {
	A_EVENT_ID,
	A_CAPTURE,
	A_SEGMENT,
	A_TIMESTAMP,
	A_SECTION,
	A_RR_INDEX,
	A_NAME,
	A_TYPE,
	A_TYPE_RAW,
	A_CLASS,
	A_TTL,
	A_DATA,
	A_NCOLS
};
static const char ans_schema[] =
    "CREATE TABLE x(event_id INTEGER, capture TEXT, segment INTEGER, timestamp INTEGER, "
    "section TEXT, rr_index INTEGER, name TEXT, type TEXT, type_raw INTEGER, class TEXT, "
    "ttl INTEGER, data TEXT)";
static const enum sem ans_sem[A_NCOLS] = {
    [A_EVENT_ID] = SEM_EVENT_ID,
    [A_CAPTURE] = SEM_CAPTURE,
    [A_SEGMENT] = SEM_SEGMENT,
    [A_TIMESTAMP] = SEM_TS,
};

/* ---- event keys --------------------------------------------------------------------------- */

/* event_id: capture (8 bits) | catalog frame index (32) | event in frame (20) | message of that
 * event (4, TCP can complete several). Stable under pruning because it names the position. */
static uint64_t make_key(uint32_t cap, uint32_t frame, uint32_t ev, uint32_t sub)
{
	return ((uint64_t)cap << 56) | ((uint64_t)frame << 24) | ((uint64_t)(ev & 0xFFFFF) << 4) |
	       (sub & 0xF);
}

/* ---- scan: frames -> rows ----------------------------------------------------------------- */

struct qrow {
	uint32_t ev; /* index in the block, or in xev when from_xev */
	uint16_t sub;
	bool from_xev;
	bool in_arena; /* msg is an arena offset (reassembled TCP message) */
	uint32_t msg_len;
	uintptr_t msg; /* pointer, or arena offset */
	int64_t latency;
};

struct capcfg {
	bool skip;
	int64_t boot_to_wall;
	struct dnsreel_prune p;
	uint64_t *netns; /* owned */
};

/* Read-ahead: a worker thread with readers of its own decompresses the frames a scan will
 * want while the SQLite thread turns the previous ones into rows (two cores, two stages). */
#define PF_SLOTS      4
#define PF_MIN_FRAMES 16 /* below this the thread costs more than it saves */

struct pf_slot {
	bool ready;
	struct dnsreel_block blk;
	uint64_t item; /* capture << 32 | frame */
	int err;
	char errmsg[256];
};

struct prefetch {
	struct dnsreel_capr **rd; /* the worker's own readers, one per capture */
	size_t nrd;
	pthread_t th;
	bool running, stop;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	uint64_t *plan;
	size_t nplan, plan_cap, produced, consumed;
	struct pf_slot slots[PF_SLOTS];
};

struct scan {
	struct dnsreel_query *q;
	struct prefetch pf;
	bool pf_on;
	/* what to read */
	bool use_decoder_all; /* latency wanted: every event through the decoder */
	bool pushdown;
	struct capcfg *caps;
	char **names;
	size_t nnames;
	int64_t *segs;
	size_t nsegs;
	uint64_t *keys; /* sorted; non-NULL: lookup mode */
	size_t nkeys, key_pos;
	bool no_rows; /* contradictory constraints */
	/* where we are */
	uint32_t cap;
	size_t frame;
	bool eof;
	/* the loaded frame */
	struct dnsreel_block blk;
	bool blk_loaded;
	uint32_t blk_cap;
	size_t blk_frame;
	bool blk_fresh; /* rows came from a decoder that started at this frame */
	bool blk_dec_all;
	uint32_t blk_segment;
	struct dnsreel_decoder *dec;
	uint32_t dec_cap;
	struct qrow *rows;
	size_t nrows, rows_cap, pos;
	uint8_t *arena;
	size_t arena_len, arena_cap;
	struct dnsreel_event *xev;
	size_t nxev, xev_cap;
	/* feed state */
	uint32_t feed_ev;
	uint16_t feed_sub;
	int err;
	char errmsg[512];
};

static void scan_cfg_free(struct scan *s)
{
	if (s->caps) {
		for (size_t i = 0; i < s->q->n; i++)
			free(s->caps[i].netns);
		free(s->caps);
		s->caps = NULL;
	}
	for (size_t i = 0; i < s->nnames; i++)
		free(s->names[i]);
	free(s->names);
	s->names = NULL;
	s->nnames = 0;
	free(s->segs);
	s->segs = NULL;
	s->nsegs = 0;
	free(s->keys);
	s->keys = NULL;
	s->nkeys = 0;
}

static void scan_drop_frame(struct scan *s)
{
	if (s->blk_loaded)
		dnsreel_block__release(&s->blk);
	s->blk_loaded = false;
	s->nrows = s->pos = 0;
}

static void pf_free(struct scan *s);

static void scan_free(struct scan *s)
{
	pf_free(s);
	scan_cfg_free(s);
	scan_drop_frame(s);
	dnsreel_decoder__free(s->dec);
	s->dec = NULL;
	free(s->rows);
	free(s->arena);
	free(s->xev);
}

static int push_row(struct scan *s, const struct qrow *r)
{
	if (s->nrows == s->rows_cap) {
		size_t nc = s->rows_cap ? s->rows_cap * 2 : 4096;
		struct qrow *nr = realloc(s->rows, nc * sizeof(*nr));

		if (!nr)
			return -ENOMEM;
		s->rows = nr;
		s->rows_cap = nc;
	}
	s->rows[s->nrows++] = *r;
	return 0;
}

/* Appends n bytes to a doubling byte arena; both the row arena and the group arena use it. */
static int bytes_append(uint8_t **buf, size_t *len, size_t *cap, size_t first_cap, const void *p,
			size_t n)
{
	if (*len + n > *cap) {
		size_t nc = *cap ? *cap * 2 : first_cap;
		uint8_t *na;

		while (nc < *len + n)
			nc *= 2;
		na = realloc(*buf, nc);
		if (!na)
			return -ENOMEM;
		*buf = na;
		*cap = nc;
	}
	memcpy(*buf + *len, p, n);
	*len += n;
	return 0;
}

static int arena_put(struct scan *s, const void *p, size_t n, size_t *off)
{
	*off = s->arena_len;
	return bytes_append(&s->arena, &s->arena_len, &s->arena_cap, 65536, p, n);
}

static int on_rec(void *arg, const struct dnsreel_rec *rec)
{
	struct scan *s = arg;
	const struct dnsreel_event *fed = &s->blk.ev[s->feed_ev];
	struct qrow r = {.sub = s->feed_sub++, .msg_len = rec->msg_len, .latency = rec->latency_ns};
	int err;

	if (rec->ev >= s->blk.ev && rec->ev < s->blk.ev + s->blk.n) {
		r.ev = (uint32_t)(rec->ev - s->blk.ev);
	} else {
		/* The decoder handed out its own copy of the event: keep one too. */
		if (s->nxev == s->xev_cap) {
			size_t nc = s->xev_cap ? s->xev_cap * 2 : 64;
			struct dnsreel_event *nx = realloc(s->xev, nc * sizeof(*nx));

			if (!nx)
				return -ENOMEM;
			s->xev = nx;
			s->xev_cap = nc;
		}
		s->xev[s->nxev] = *rec->ev;
		s->xev[s->nxev].payload = NULL;
		r.from_xev = true;
		r.ev = (uint32_t)s->nxev++;
	}
	if (rec->msg >= fed->payload && rec->msg_len <= fed->cap_len &&
	    rec->msg + rec->msg_len <= fed->payload + fed->cap_len) {
		r.msg = (uintptr_t)rec->msg;
	} else {
		size_t off = 0;

		err = arena_put(s, rec->msg, rec->msg_len, &off);
		if (err)
			return err;
		r.msg = off;
		r.in_arena = true;
	}
	return push_row(s, &r);
}

static const char *row_msg(const struct scan *s, const struct qrow *r)
{
	return r->in_arena ? (const char *)s->arena + r->msg : (const char *)r->msg;
}

static const struct dnsreel_event *row_ev(const struct scan *s, const struct qrow *r)
{
	return r->from_xev ? &s->xev[r->ev] : &s->blk.ev[r->ev];
}

static void *pf_worker(void *arg)
{
	struct prefetch *pf = arg;

	pthread_mutex_lock(&pf->mu);
	while (!pf->stop && pf->produced < pf->nplan) {
		struct pf_slot *sl = &pf->slots[pf->produced % PF_SLOTS];
		uint64_t item;

		if (sl->ready) {
			pthread_cond_wait(&pf->cv, &pf->mu);
			continue;
		}
		item = pf->plan[pf->produced];
		pthread_mutex_unlock(&pf->mu);
		sl->item = item;
		sl->errmsg[0] = 0;
		sl->err = dnsreel_capr__read_frame(pf->rd[item >> 32], (size_t)(item & 0xFFFFFFFFu),
						   &sl->blk, sl->errmsg, sizeof(sl->errmsg));
		pthread_mutex_lock(&pf->mu);
		sl->ready = true;
		pf->produced++;
		pthread_cond_broadcast(&pf->cv);
		if (sl->err)
			break;
	}
	pthread_mutex_unlock(&pf->mu);
	return NULL;
}

static void pf_stop(struct scan *s)
{
	struct prefetch *pf = &s->pf;

	if (pf->running) {
		pthread_mutex_lock(&pf->mu);
		pf->stop = true;
		pthread_cond_broadcast(&pf->cv);
		pthread_mutex_unlock(&pf->mu);
		pthread_join(pf->th, NULL);
		pthread_mutex_destroy(&pf->mu);
		pthread_cond_destroy(&pf->cv);
		pf->running = false;
	}
	for (int k = 0; k < PF_SLOTS; k++) {
		if (pf->slots[k].ready && !pf->slots[k].err)
			dnsreel_block__release(&pf->slots[k].blk);
		pf->slots[k].ready = false;
	}
	pf->nplan = pf->produced = pf->consumed = 0;
	s->pf_on = false;
}

static void pf_free(struct scan *s)
{
	pf_stop(s);
	for (size_t i = 0; i < s->pf.nrd; i++)
		dnsreel_capr__close(s->pf.rd[i]);
	free(s->pf.rd);
	free(s->pf.plan);
	memset(&s->pf, 0, sizeof(s->pf));
}

static bool frame_wanted(struct scan *s, uint32_t cap, size_t i);

/* Plans the frames of a full scan and starts the worker when there are enough of them.
 * Falls back to reading in this thread on any trouble. */
static void pf_start(struct scan *s)
{
	struct dnsreel_query *q = s->q;
	struct prefetch *pf = &s->pf;

	pf->nplan = 0;
	for (uint32_t c = 0; c < q->n; c++) {
		size_t nf = dnsreel_capr__frame_count(q->capr[c]);

		if (s->caps[c].skip)
			continue;
		for (size_t i = 0; i < nf; i++) {
			if (!frame_wanted(s, c, i))
				continue;
			if (pf->nplan == pf->plan_cap) {
				size_t nc = pf->plan_cap ? pf->plan_cap * 2 : 1024;
				uint64_t *np = realloc(pf->plan, nc * sizeof(*np));

				if (!np)
					return;
				pf->plan = np;
				pf->plan_cap = nc;
			}
			pf->plan[pf->nplan++] = (uint64_t)c << 32 | i;
		}
	}
	if (pf->nplan < PF_MIN_FRAMES || q->opts.no_prefetch)
		return;
	if (!pf->rd) {
		pf->rd = calloc(q->n, sizeof(*pf->rd));
		if (!pf->rd)
			return;
		for (size_t c = 0; c < q->n; c++) {
			struct dnsreel_capr_opts ro = {.sz = sizeof(ro)};

			if (dnsreel_capr__open(&pf->rd[c], q->paths[c], &ro, NULL, 0) ||
			    dnsreel_capr__frame_count(pf->rd[c]) !=
				dnsreel_capr__frame_count(q->capr[c])) {
				pf_free(s);
				return;
			}
			pf->nrd = c + 1;
		}
	}
	pf->produced = pf->consumed = 0;
	pf->stop = false;
	pthread_mutex_init(&pf->mu, NULL);
	pthread_cond_init(&pf->cv, NULL);
	if (pthread_create(&pf->th, NULL, pf_worker, pf)) {
		pthread_mutex_destroy(&pf->mu);
		pthread_cond_destroy(&pf->cv);
		return;
	}
	pf->running = true;
	s->pf_on = true;
}

static int scan_rows(struct scan *s, uint32_t cap, size_t i, bool fresh);

/* Takes the next read-ahead frame. 1 = loaded, 0 = plan done, negative = error. */
static int pf_next(struct scan *s)
{
	struct prefetch *pf = &s->pf;
	struct pf_slot *sl;
	struct dnsreel_block blk;
	uint64_t item;
	int err;

	if (pf->consumed >= pf->nplan)
		return 0;
	sl = &pf->slots[pf->consumed % PF_SLOTS];
	pthread_mutex_lock(&pf->mu);
	while (!sl->ready)
		pthread_cond_wait(&pf->cv, &pf->mu);
	pthread_mutex_unlock(&pf->mu);
	item = sl->item;
	err = sl->err;
	if (err) {
		snprintf(s->errmsg, sizeof(s->errmsg), "%s", sl->errmsg);
		return err;
	}
	blk = sl->blk;
	pthread_mutex_lock(&pf->mu);
	sl->ready = false;
	pf->consumed++;
	pthread_cond_broadcast(&pf->cv);
	pthread_mutex_unlock(&pf->mu);

	scan_drop_frame(s);
	s->blk = blk;
	err = scan_rows(s, (uint32_t)(item >> 32), (size_t)(item & 0xFFFFFFFFu), false);
	return err ? err : 1;
}

/* Decodes frame i of capture cap into rows. fresh: with a decoder of its own (lookups). */
static int scan_load(struct scan *s, uint32_t cap, size_t i, bool fresh)
{
	struct dnsreel_query *q = s->q;
	int err;

	if (s->blk_loaded && fresh && s->blk_fresh && s->blk_cap == cap && s->blk_frame == i &&
	    s->blk_dec_all == s->use_decoder_all) {
		s->pos = 0; /* cached: a join probing the same frame again */
		return 0;
	}
	scan_drop_frame(s);
	s->arena_len = 0;
	s->nxev = 0;
	err = dnsreel_capr__read_frame(q->capr[cap], i, &s->blk, s->errmsg, sizeof(s->errmsg));
	if (err) {
		if (!s->errmsg[0])
			snprintf(s->errmsg, sizeof(s->errmsg), "%s: frame %zu: %s", q->paths[cap],
				 i, dnsreel_strerror(err));
		return err;
	}
	return scan_rows(s, cap, i, fresh);
}

/* Turns the block just read (s->blk) into rows. */
static int scan_rows(struct scan *s, uint32_t cap, size_t i, bool fresh)
{
	struct dnsreel_query *q = s->q;
	struct dnsreel_decoder *dec;
	int err;

	s->arena_len = 0;
	s->nxev = 0;
	s->blk_loaded = true;
	s->blk_cap = cap;
	s->blk_frame = i;
	s->blk_fresh = fresh;
	s->blk_dec_all = s->use_decoder_all;
	s->blk_segment = dnsreel_capr__frame(q->capr[cap], i)->segment;
	q->st.frames_read++;
	q->st.events_decoded += s->blk.n;

	if (fresh || !s->dec || s->dec_cap != cap) {
		dnsreel_decoder__free(s->dec);
		s->dec = NULL;
	}
	dec = s->dec;
	for (size_t j = 0; j < s->blk.n; j++) {
		const struct dnsreel_event *ev = &s->blk.ev[j];

		if (!s->use_decoder_all && ev->proto == 17) {
			/* UDP: the payload is the message; no decoder state needed. */
			struct qrow r = {.ev = (uint32_t)j,
					 .msg_len = ev->cap_len,
					 .msg = (uintptr_t)ev->payload};

			err = push_row(s, &r);
			if (err)
				goto fail;
			continue;
		}
		if (!dec) {
			struct dnsreel_decoder_opts o = {.sz = sizeof(o)};

			err = dnsreel_decoder__new(&dec, q->ctx, &o);
			if (err)
				goto fail;
			s->dec = dec;
			s->dec_cap = cap;
		}
		s->feed_ev = (uint32_t)j;
		s->feed_sub = 0;
		err = dnsreel_decoder__feed(dec, cap, s->blk_segment, ev, on_rec, s);
		if (err)
			goto fail;
	}
	if (fresh) {
		dnsreel_decoder__free(s->dec);
		s->dec = NULL;
	}
	s->pos = 0;
	return 0;
fail:
	snprintf(s->errmsg, sizeof(s->errmsg), "%s: frame %zu: %s", q->paths[cap], i,
		 dnsreel_strerror(err));
	scan_drop_frame(s);
	return err;
}

static bool frame_wanted(struct scan *s, uint32_t cap, size_t i)
{
	const struct dnsreel_capr *r = s->q->capr[cap];
	struct dnsreel_prune *p = &s->caps[cap].p;

	if (!s->pushdown)
		return true;
	if (s->nsegs) {
		uint32_t seg = dnsreel_capr__frame(r, i)->segment;
		bool ok = false;

		for (size_t k = 0; k < s->nsegs && !ok; k++)
			ok = s->segs[k] == (int64_t)seg;
		if (!ok)
			return false;
	}
	if (!s->nnames)
		return dnsreel_capr__frame_may_match(r, i, p);
	for (size_t k = 0; k < s->nnames; k++) {
		p->name = s->names[k];
		if (dnsreel_capr__frame_may_match(r, i, p)) {
			p->name = NULL;
			return true;
		}
	}
	p->name = NULL;
	return false;
}

static int u64_cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static bool key_wanted(const struct scan *s, uint64_t k)
{
	return bsearch(&k, s->keys, s->nkeys, sizeof(k), u64_cmp) != NULL;
}

static int u64_cmp(const void *a, const void *b);

/* The pushed-down predicates that can be decided from the event alone (time, netns, qr) drop
 * rows here, before SQLite spends a column call on them. Conservative like the frame check:
 * SQLite still evaluates every constraint on what is left. */
static bool row_may_match(const struct scan *s, const struct qrow *r)
{
	const struct capcfg *cc = &s->caps[s->blk_cap];
	const struct dnsreel_event *ev = r->from_xev ? &s->xev[r->ev] : &s->blk.ev[r->ev];
	int64_t wall = ev->ts_ns + cc->boot_to_wall;

	if (cc->p.since_wall_ns && wall < cc->p.since_wall_ns)
		return false;
	if (cc->p.until_wall_ns && wall > cc->p.until_wall_ns)
		return false;
	if (cc->p.netns_count &&
	    !bsearch(&ev->netns, cc->p.netns, cc->p.netns_count, sizeof(uint64_t), u64_cmp))
		return false;
	if (cc->p.qr_mask) {
		const uint8_t *m = (const uint8_t *)row_msg(s, r);

		if (r->msg_len < 12 || !(cc->p.qr_mask & (m[2] & 0x80 ? 2 : 1)))
			return false;
	}
	return true;
}

/* Next row; 1 = s->rows[s->pos - 1] is it, 0 = end, negative = error (errmsg). */
static int scan_next(struct scan *s)
{
	struct dnsreel_query *q = s->q;
	int err;

	if (s->eof)
		return 0;
	for (;;) {
		while (s->pos < s->nrows) {
			const struct qrow *r = &s->rows[s->pos++];

			if (s->keys && !key_wanted(s, make_key(s->blk_cap, (uint32_t)s->blk_frame,
							       r->ev, r->sub)))
				continue;
			if (s->keys && r->from_xev)
				continue;
			if (s->pushdown && !row_may_match(s, r))
				continue;
			return 1;
		}
		if (s->no_rows)
			break;
		if (s->keys) {
			/* Lookup: the distinct frames named by the keys, in order. */
			uint32_t cap;
			size_t fr;

			if (s->key_pos >= s->nkeys)
				break;
			uint64_t first = s->keys[s->key_pos] >> 24;

			cap = (uint32_t)(first >> 32);
			fr = (size_t)(first & 0xFFFFFFFFu);
			while (s->key_pos < s->nkeys && (s->keys[s->key_pos] >> 24) == first)
				s->key_pos++;
			if (cap >= q->n || fr >= dnsreel_capr__frame_count(q->capr[cap]) ||
			    s->caps[cap].skip)
				continue;
			err = scan_load(s, cap, fr, true);
			if (err)
				return err;
			continue;
		}
		if (s->pf_on) {
			err = pf_next(s);
			if (err < 0)
				return err;
			if (err == 0)
				break;
			continue;
		}
		if (s->cap >= q->n)
			break;
		if (s->caps[s->cap].skip ||
		    s->frame >= dnsreel_capr__frame_count(q->capr[s->cap])) {
			s->cap++;
			s->frame = 0;
			dnsreel_decoder__free(s->dec);
			s->dec = NULL;
			continue;
		}
		if (!frame_wanted(s, s->cap, s->frame)) {
			s->frame++;
			continue;
		}
		err = scan_load(s, s->cap, s->frame, false);
		s->frame++;
		if (err)
			return err;
	}
	s->eof = true;
	return 0;
}

/* ---- constraints -------------------------------------------------------------------------- */

/* idxStr: four bytes per argv value: semantic, operator, IN-all-at-once flag, column, each
 * + '0'. After '|': columns of the GROUP BY/DISTINCT satisfied inside the table; after a second
 * '|': the other columns the statement uses (grouping keeps them in the tuple).
 * idxNum: 1 group, 2 distinct, 4 latency used (every event through the decoder). */
enum { OP_EQ = 1, OP_GT, OP_GE, OP_LT, OP_LE };

static int map_op(unsigned char op)
{
	switch (op) {
	case SQLITE_INDEX_CONSTRAINT_EQ:
		return OP_EQ;
	case SQLITE_INDEX_CONSTRAINT_GT:
		return OP_GT;
	case SQLITE_INDEX_CONSTRAINT_GE:
		return OP_GE;
	case SQLITE_INDEX_CONSTRAINT_LT:
		return OP_LT;
	case SQLITE_INDEX_CONSTRAINT_LE:
		return OP_LE;
	default:
		return 0;
	}
}

static bool sem_allows(enum sem sem, int op)
{
	switch (sem) {
	case SEM_TS:
	case SEM_TIME:
		return op != 0;
	case SEM_NONE:
		return false;
	default:
		return op == OP_EQ;
	}
}

static bool sem_text(enum sem sem)
{
	return sem == SEM_TIME || sem == SEM_NSFIELD || sem == SEM_NAME || sem == SEM_QR ||
	       sem == SEM_RCODE || sem == SEM_CAPTURE;
}

struct tdesc {
	bool is_dns;
	int ncols;
	enum sem (*sem_of)(int col);
};

static enum sem dns_sem_of(int col)
{
	return dns_cols[col].sem;
}

static enum sem ans_sem_of(int col)
{
	return col >= 0 && col < A_NCOLS ? ans_sem[col] : SEM_NONE;
}

/* Conservative wall-clock bounds for "time OP 'text'". Row texts are fixed-width
 * "YYYY-MM-DDTHH:MM:SS.nnnnnnnnnZ", so a text comparison agrees with time order on the longest
 * prefix of the literal that is a date/time up to a field boundary. */
static bool time_bounds(const char *s, int op, int64_t *lo, int64_t *hi)
{
	static const int cuts[] = {19, 16, 13, 10};
	static const int64_t units[] = {1, 60, 3600, 86400};
	size_t len = strlen(s);

	for (int c = 0; c < 4; c++) {
		int k = cuts[c];
		struct tm tm = {0};
		char tmp[20];
		int64_t t;

		if ((int)len < k)
			continue;
		memcpy(tmp, s, (size_t)k);
		tmp[k] = 0;
		for (int j = 0; j < k; j++) {
			char ch = tmp[j];
			bool digit = ch >= '0' && ch <= '9';
			char want = j == 4 || j == 7	 ? '-'
				    : j == 10		 ? 'T'
				    : j == 13 || j == 16 ? ':'
							 : 0;

			if (want ? ch != want : !digit)
				return false;
		}
		tm.tm_year = atoi(tmp) - 1900;
		tm.tm_mon = atoi(tmp + 5) - 1;
		tm.tm_mday = atoi(tmp + 8);
		if (k > 10)
			tm.tm_hour = atoi(tmp + 11);
		if (k > 13)
			tm.tm_min = atoi(tmp + 14);
		if (k > 16)
			tm.tm_sec = atoi(tmp + 17);
		t = (int64_t)timegm(&tm);
		if (t < 0 || t > 4102444800LL)
			return false;
		*lo = t * 1000000000LL;
		*hi = (t + units[c]) * 1000000000LL;
		(void)op;
		return true;
	}
	return false;
}

static bool value_int(sqlite3_value *v, int64_t *out)
{
	int t = sqlite3_value_type(v);

	if (t == SQLITE_INTEGER) {
		*out = sqlite3_value_int64(v);
		return true;
	}
	if (t == SQLITE_TEXT) {
		const char *s = (const char *)sqlite3_value_text(v);
		char *end;
		long long x;

		if (!s || !*s)
			return false;
		errno = 0;
		x = strtoll(s, &end, 10);
		if (errno || *end)
			return false;
		*out = x;
		return true;
	}
	return false;
}

static int add_u64(uint64_t **arr, size_t *n, uint64_t v)
{
	uint64_t *na = realloc(*arr, (*n + 1) * sizeof(**arr));

	if (!na)
		return -ENOMEM;
	na[(*n)++] = v;
	*arr = na;
	return 0;
}

/* Values of one argv: the IN list when processed at once, else the value itself. */
struct vals {
	sqlite3_value *v[64];
	size_t n;
	bool too_many; /* longer IN list: do not prune on it */
	bool dup;      /* v[] are copies to free */
};

static void get_vals(sqlite3_value *arg, bool in_all, struct vals *out)
{
	out->n = 0;
	out->too_many = false;
	out->dup = false;
	if (!in_all) {
		out->v[out->n++] = arg;
		return;
	}
	sqlite3_value *x = NULL;
	int rc = sqlite3_vtab_in_first(arg, &x);

	if (rc != SQLITE_OK && rc != SQLITE_DONE) {
		/* SQLite chose one value per xFilter after all (e.g. to sort by it). */
		out->v[out->n++] = arg;
		return;
	}
	/* The list hands out one value object at a time: keep copies. */
	out->dup = true;
	for (; rc == SQLITE_OK && x; rc = sqlite3_vtab_in_next(arg, &x)) {
		if (out->n == 64) {
			out->too_many = true;
			return;
		}
		out->v[out->n] = sqlite3_value_dup(x);
		if (!out->v[out->n]) {
			out->too_many = true; /* out of memory: do not prune on it */
			return;
		}
		out->n++;
	}
}

static void vals_free(struct vals *v)
{
	if (v->dup)
		for (size_t i = 0; i < v->n; i++)
			sqlite3_value_free(v->v[i]);
	v->n = 0;
	v->dup = false;
}

/* Netns-derived constraint values, ANDed across columns, ORed within one. */
struct nsreq {
	enum dnsreel_field_id f;
	struct vals vals;
};

static const char *ns_field(const struct dnsreel_netns_ctx *ns, enum dnsreel_field_id f)
{
	switch (f) {
	case DNSREEL_F_K8S_NAMESPACE:
		return ns->k8s_namespace;
	case DNSREEL_F_K8S_PODNAME:
		return ns->k8s_podname;
	case DNSREEL_F_K8S_CONTAINERNAME:
		return ns->k8s_containername;
	case DNSREEL_F_RUNTIME_CONTAINERNAME:
		return ns->runtime_containername;
	case DNSREEL_F_RUNTIME_CONTAINERID:
		return ns->runtime_containerid;
	default:
		return "";
	}
}

/* Builds the scan configuration from xFilter's arguments. */
static int scan_config(struct scan *s, const struct tdesc *t, const char *idx, int argc,
		       sqlite3_value **argv)
{
	struct dnsreel_query *q = s->q;
	int64_t since = INT64_MIN, until = INT64_MAX;
	uint32_t qr_mask = 3, rcode_mask = UINT32_MAX;
	bool have_netns = false;
	uint64_t *netns = NULL;
	size_t nnetns = 0;
	struct nsreq nsr[8];
	size_t nnsr = 0;
	bool cap_ok[256];
	int err = 0;

	scan_cfg_free(s);
	s->no_rows = false;
	s->caps = calloc(q->n, sizeof(*s->caps));
	if (!s->caps)
		return -ENOMEM;
	for (size_t i = 0; i < q->n; i++)
		cap_ok[i] = true;
	if (!t->is_dns)
		qr_mask = 2; /* answers come from responses only */

	for (int a = 0; idx && idx[0] && idx[0] != '|' && a < argc; a++, idx += 4) {
		enum sem sem = (enum sem)(idx[0] - '0');
		int op = idx[1] - '0';
		bool in_all = idx[2] == '1';
		int col = idx[3] - '0';
		struct vals vs;

		bool kept = false;

		get_vals(argv[a], in_all, &vs);
		if (vs.too_many) {
			vals_free(&vs);
			continue;
		}
		switch (sem) {
		case SEM_TS: {
			sqlite3_value *v = vs.v[0];
			int ty = sqlite3_value_type(v);
			int64_t x;

			if (ty == SQLITE_INTEGER) {
				x = sqlite3_value_int64(v);
			} else if (ty == SQLITE_FLOAT) {
				double d = sqlite3_value_double(v);

				if (!(d > -9e18 && d < 9e18))
					break;
				x = (int64_t)(op == OP_GT || op == OP_GE ? floor(d) : ceil(d));
			} else {
				break; /* integer vs text compares by type: no bound */
			}
			if (op == OP_EQ || op == OP_GT || op == OP_GE)
				since = x > since ? x : since;
			if (op == OP_EQ || op == OP_LT || op == OP_LE)
				until = x < until ? x : until;
			break;
		}
		case SEM_TIME: {
			const char *txt;
			int64_t lo, hi;

			if (sqlite3_value_type(vs.v[0]) != SQLITE_TEXT)
				break;
			txt = (const char *)sqlite3_value_text(vs.v[0]);
			if (!txt || !time_bounds(txt, op, &lo, &hi))
				break;
			if (op == OP_EQ || op == OP_GT || op == OP_GE)
				since = lo > since ? lo : since;
			if (op == OP_EQ || op == OP_LT || op == OP_LE)
				until = hi < until ? hi : until;
			break;
		}
		case SEM_NETNS: {
			uint64_t *mine = NULL;
			size_t nmine = 0;

			for (size_t k = 0; k < vs.n; k++) {
				int64_t x;

				if (value_int(vs.v[k], &x) &&
				    (err = add_u64(&mine, &nmine, (uint64_t)x)))
					break;
			}
			if (!have_netns) {
				netns = mine;
				nnetns = nmine;
				have_netns = true;
			} else {
				/* AND of two netns constraints: keep the common ones. */
				size_t w = 0;

				for (size_t k = 0; k < nnetns; k++)
					for (size_t m = 0; m < nmine; m++)
						if (netns[k] == mine[m]) {
							netns[w++] = netns[k];
							break;
						}
				nnetns = w;
				free(mine);
			}
			break;
		}
		case SEM_NSFIELD:
			if (t->is_dns && nnsr < 8 && col >= 0 && col < ndns_cols) {
				nsr[nnsr].f = dns_cols[col].f;
				nsr[nnsr].vals = vs;
				nnsr++;
				kept = true; /* freed after the netns lists are built */
			}
			break;
		case SEM_NAME:
			if (s->names) {
				/* Second name constraint (AND): keep the first set, still safe. */
				break;
			}
			s->names = calloc(vs.n ? vs.n : 1, sizeof(*s->names));
			if (!s->names) {
				err = -ENOMEM;
				break;
			}
			for (size_t k = 0; k < vs.n; k++) {
				const char *txt = (const char *)sqlite3_value_text(vs.v[k]);

				if (txt && !(s->names[s->nnames] = strdup(txt))) {
					err = -ENOMEM;
					break;
				}
				if (txt)
					s->nnames++;
			}
			if (!s->nnames)
				s->no_rows = vs.n > 0 ? false : s->no_rows;
			break;
		case SEM_QR: {
			uint32_t m = 0;

			for (size_t k = 0; k < vs.n; k++) {
				const char *txt = (const char *)sqlite3_value_text(vs.v[k]);

				if (txt && !strcmp(txt, "Q"))
					m |= 1;
				else if (txt && !strcmp(txt, "R"))
					m |= 2;
				else
					m |= 3; /* unknown spelling: no pruning */
			}
			qr_mask &= m;
			break;
		}
		case SEM_RCODE:
		case SEM_RCODE_RAW: {
			uint32_t m = 0;

			for (size_t k = 0; k < vs.n; k++) {
				int64_t r = -1;

				if (sem == SEM_RCODE_RAW) {
					if (!value_int(vs.v[k], &r))
						r = -2;
				} else {
					const char *txt = (const char *)sqlite3_value_text(vs.v[k]);

					r = txt ? dnsreel_dns_rcode_from_name(txt) : -1;
					if (r < 0 && txt)
						value_int(vs.v[k], &r);
				}
				if (r < 0)
					m = UINT32_MAX;
				else
					m |= 1u << (r > 31 ? 31 : r);
			}
			rcode_mask &= m;
			if (!rcode_mask)
				s->no_rows = true;
			break;
		}
		case SEM_CAPTURE:
			for (size_t i = 0; i < q->n; i++) {
				bool any = false;

				for (size_t k = 0; k < vs.n && !any; k++) {
					const char *txt = (const char *)sqlite3_value_text(vs.v[k]);

					any = txt && (!strcmp(txt, q->paths[i]) ||
						      !strcmp(txt, dnsreel_capr__path(q->capr[i])));
				}
				if (!any)
					cap_ok[i] = false;
			}
			break;
		case SEM_SEGMENT:
			if (s->segs)
				break;
			s->segs = calloc(vs.n ? vs.n : 1, sizeof(*s->segs));
			if (!s->segs) {
				err = -ENOMEM;
				break;
			}
			for (size_t k = 0; k < vs.n; k++) {
				int64_t x;

				if (value_int(vs.v[k], &x))
					s->segs[s->nsegs++] = x;
			}
			if (!s->nsegs)
				s->no_rows = true;
			break;
		case SEM_EVENT_ID:
			if (s->keys)
				break;
			for (size_t k = 0; k < vs.n && !err; k++) {
				int64_t x;

				if (value_int(vs.v[k], &x))
					err = add_u64(&s->keys, &s->nkeys, (uint64_t)x);
			}
			if (!s->keys)
				s->no_rows = true;
			break;
		default:
			break;
		}
		if (!kept)
			vals_free(&vs);
		if (err)
			break;
	}
	if (err) {
		for (size_t r = 0; r < nnsr; r++)
			vals_free(&nsr[r].vals);
		free(netns);
		return err;
	}
	if (s->keys)
		qsort(s->keys, s->nkeys, sizeof(*s->keys), u64_cmp);
	if (qr_mask == 0)
		s->no_rows = true;

	for (size_t i = 0; i < q->n; i++) {
		struct capcfg *cc = &s->caps[i];
		const struct dnsreel_meta *m = dnsreel_ctx__meta(q->ctx, (uint32_t)i);

		if (!m) /* the same offset rec_prepare() uses */
			m = dnsreel_capr__meta(q->capr[i]);

		cc->boot_to_wall = m ? m->boot_to_wall_ns : 0;
		cc->skip = !cap_ok[i];
		if (since != INT64_MIN)
			cc->p.since_wall_ns = since > 0 ? since : 0;
		if (until != INT64_MAX)
			cc->p.until_wall_ns = until > 0 ? until : 1;
		cc->p.qr_mask = qr_mask == 3 ? 0 : (uint8_t)qr_mask;
		cc->p.rcode_mask = rcode_mask == UINT32_MAX ? 0 : rcode_mask;
		if (have_netns || nnsr) {
			/* Candidate netns of this capture: the netns_id values, filtered by the
			 * pod/namespace/container values as the rows would show them. */
			size_t cand_n = have_netns ? nnetns : dnsreel_capr__netns_count(q->capr[i]);

			for (size_t k = 0; k < cand_n; k++) {
				uint64_t id = have_netns
						  ? netns[k]
						  : dnsreel_capr__netns_at(q->capr[i], k)->netns;
				const struct dnsreel_netns_ctx *ns =
				    dnsreel_ctx__netns(q->ctx, (uint32_t)i, id);
				bool ok = true;

				for (size_t r = 0; r < nnsr && ok; r++) {
					const char *have = ns ? ns_field(ns, nsr[r].f) : NULL;
					bool any = false;

					for (size_t v = 0; v < nsr[r].vals.n && !any; v++) {
						const char *want = (const char *)sqlite3_value_text(
						    nsr[r].vals.v[v]);

						any = have && want && !strcmp(have, want);
					}
					ok = any;
				}
				if (ok && (err = add_u64(&cc->netns, &cc->p.netns_count, id)))
					break;
			}
			if (err)
				break;
			if (cc->p.netns_count > 1)
				qsort(cc->netns, cc->p.netns_count, sizeof(uint64_t), u64_cmp);
			cc->p.netns = cc->netns;
			if (!cc->p.netns_count)
				cc->skip = true;
		}
	}
	for (size_t r = 0; r < nnsr; r++)
		vals_free(&nsr[r].vals);
	free(netns);
	return err;
}

/* ---- shared xBestIndex -------------------------------------------------------------------- */

struct qvtab {
	sqlite3_vtab base;
	struct dnsreel_query *q;
	const struct tdesc *t;
};

static const struct tdesc dns_desc = {true, 0, dns_sem_of};
static const struct tdesc ans_desc = {false, A_NCOLS, ans_sem_of};

static int tbl_ncols(const struct tdesc *t)
{
	return t->is_dns ? ndns_cols : t->ncols;
}

static int best_index(sqlite3_vtab *vt, sqlite3_index_info *info)
{
	struct qvtab *v = (struct qvtab *)vt;
	const struct tdesc *t = v->t;
	char idx[256 * 4 + 160];
	int n = 0, argv_i = 0;
	double frames = (double)(v->q->frames_all ? v->q->frames_all : 1);
	double sel = 1.0;
	bool point = false;

	for (int i = 0; i < info->nConstraint && n < 250 * 4; i++) {
		const struct sqlite3_index_constraint *c = &info->aConstraint[i];
		enum sem sem;
		int op;
		const char *coll;

		if (!c->usable || c->iColumn < 0 || c->iColumn >= tbl_ncols(t))
			continue;
		sem = t->sem_of(c->iColumn);
		op = map_op(c->op);
		if (!sem_allows(sem, op) || v->q->opts.no_pushdown)
			continue;
		if (sem_text(sem)) {
			coll = sqlite3_vtab_collation(info, i);
			if (coll && sqlite3_stricmp(coll, "BINARY"))
				continue;
		}
		info->aConstraintUsage[i].argvIndex = ++argv_i;
		info->aConstraintUsage[i].omit = 0; /* SQLite re-checks: pruning is per frame */
		bool in_all = op == OP_EQ && sqlite3_vtab_in(info, i, -1);
		if (in_all)
			sqlite3_vtab_in(info, i, 1);
		idx[n++] = (char)('0' + sem);
		idx[n++] = (char)('0' + op);
		idx[n++] = in_all ? '1' : '0';
		idx[n++] = (char)('0' + c->iColumn);
		switch (sem) {
		case SEM_EVENT_ID:
			point = true;
			break;
		case SEM_TS:
		case SEM_TIME:
			sel *= op == OP_EQ ? 0.001 : 0.3;
			break;
		case SEM_NAME:
		case SEM_NETNS:
		case SEM_NSFIELD:
			sel *= 0.05;
			break;
		default:
			sel *= 0.5;
		}
	}
	idx[n++] = '|';

	/* GROUP BY / DISTINCT done inside the table when every used column is low-cardinality
	 * (the distinct tuples fit in memory). */
	if (t->is_dns && info->nOrderBy > 0 && !v->q->opts.no_grouping && !point) {
		int distinct = sqlite3_vtab_distinct(info);
		uint64_t used = info->colUsed, ob = 0;
		bool ok = true;

		for (int i = 0; i < info->nOrderBy && ok; i++) {
			int col = info->aOrderBy[i].iColumn;

			if (col < 0 || col >= ndns_cols || col >= 63)
				ok = false;
			else
				ob |= 1ull << col;
		}
		for (int col = 0; col < ndns_cols && ok; col++) {
			if (!(used & (1ull << (col < 63 ? col : 63))))
				continue;
			if (!dns_cols[col].lowcard)
				ok = false;
		}
		if (ok) {
			/* Distinct tuples come out sorted as ORDER BY wants them, which also
			 * satisfies adjacency (GROUP BY) and DISTINCT; see group_cmp. */
			info->orderByConsumed = 1;
			info->idxNum |= 1 | (distinct & 3) << 8;
			for (int i = 0; i < info->nOrderBy; i++) {
				idx[n++] = (char)('0' + info->aOrderBy[i].iColumn);
				idx[n++] = info->aOrderBy[i].desc ? '1' : '0';
			}
		}
	}
	idx[n++] = '|';
	if (info->idxNum & 1) {
		for (int col = 0; col < ndns_cols; col++) {
			bool in_ob = false;

			for (int i = 0; i < info->nOrderBy; i++)
				in_ob |= info->aOrderBy[i].iColumn == col;
			if (!in_ob && (info->colUsed & (1ull << col)))
				idx[n++] = (char)('0' + col);
		}
	}
	idx[n] = 0;
	if (t->is_dns && col_latency >= 0 && (info->colUsed & (1ull << col_latency)))
		info->idxNum |= 4;
	info->idxStr = sqlite3_mprintf("%s", idx);
	info->needToFreeIdxStr = 1;
	if (point) {
		info->estimatedCost = 10;
		info->estimatedRows = 2;
	} else {
		info->estimatedCost = frames * 1000.0 * sel + 1;
		info->estimatedRows = (sqlite3_int64)(frames * 4096.0 * sel) + 1;
	}
	return SQLITE_OK;
}

/* ---- dns cursor --------------------------------------------------------------------------- */

struct cval {
	int type; /* SQLITE_NULL, SQLITE_INTEGER, SQLITE_TEXT */
	int64_t i;
	const char *s;
	size_t len;
};

/* Distinct tuples of used columns with their counts. */
struct gent {
	size_t off;
	uint32_t len, glen; /* bytes of the tuple; of its grouping columns (first) */
	uint64_t count;
	uint64_t hash;
};

struct dcur {
	sqlite3_vtab_cursor base;
	struct scan s;
	const struct tdesc *t;
	/* current row, materialized on demand */
	const struct qrow *row;
	bool rec_ready, ns_ready;
	uint8_t dns_level; /* 0 not parsed, 1 header and question, 2 whole message */
	struct ncache_ent *ncache;
	struct dnsreel_rec rec;
	char buf[2048];
	int64_t rowid;
	/* grouping */
	bool grouped;
	int gmode;
	int gcols[MAX_COLS], ngcols; /* grouping columns then the other used ones */
	bool gdesc[MAX_COLS];
	int nob;
	int colpos[MAX_COLS]; /* column -> position in the tuple, -1 unused */
	struct gent *ents;
	size_t nents, ents_cap;
	size_t *htab;
	size_t hcap;
	uint8_t *garena;
	size_t glen, gcap;
	size_t gi, glast;
	uint64_t grep;
	struct cval gvals[MAX_COLS];
	/* answers */
	struct dnsreel_dns_iter it;
	struct dnsreel_dns_rr rr;
	bool in_msg;
	char *dbuf;
	size_t dbuf_cap;
	int dlen;
};

static void rec_prepare(struct dcur *c)
{
	struct dnsreel_query *q = c->s.q;
	const struct qrow *r = c->row;
	const struct dnsreel_event *ev = row_ev(&c->s, r);

	c->rec.ctx = q->ctx;
	c->rec.ev = ev;
	c->rec.ns = NULL; /* looked up when a column needs it */
	c->ns_ready = false;
	c->rec.capture = c->s.blk_cap;
	c->rec.segment = c->s.blk_segment;
	c->rec.wall_ns = ev->ts_ns + c->s.caps[c->s.blk_cap].boot_to_wall; /* per capture */
	c->rec.msg = (const uint8_t *)row_msg(&c->s, r);
	c->rec.msg_len = r->msg_len;
	c->rec.latency_ns = r->latency;
	c->rec_ready = true;
}

/* Header and first question only, exactly as dnsreel_dns_parse() fills them: most columns
 * need no more, and walking every answer costs more than the rest of the row. */
/* Question names repeat (a query, its response, every hop): a small direct-mapped cache from
 * wire form to presentation form saves decoding them again. */
#define NC_SLOTS 2048
#define NC_WIRE	 96
#define NC_TEXT	 128
struct ncache_ent {
	uint8_t wlen; /* 0 = empty */
	uint8_t tlen;
	uint8_t wire[NC_WIRE];
	char text[NC_TEXT];
};

/* Slot from the length and the first and last eight bytes: a collision only costs a miss. */
static size_t name_slot(const uint8_t *p, size_t n)
{
	uint64_t a = 0, b = 0;

	memcpy(&a, p, n < 8 ? n : 8);
	if (n > 8)
		memcpy(&b, p + n - 8, 8);
	a = (a ^ (b * 0x9e3779b97f4a7c15ull) ^ n) * 0xff51afd7ed558ccdull;
	return (size_t)(a >> 40) & (NC_SLOTS - 1);
}

static void dns_light(struct dnsreel_dns *d, const uint8_t *msg, size_t len, struct ncache_ent *nc)
{
	size_t next = 0, pos = 12;
	struct ncache_ent *e = NULL;

	d->has_question = false;
	d->qname[0] = 0;
	d->qtype = d->qclass = 0;
	if (len < 12)
		return;
	d->id = (uint16_t)(msg[0] << 8 | msg[1]);
	d->qr = msg[2] >> 7;
	d->opcode = (msg[2] >> 3) & 0xf;
	d->aa = (msg[2] >> 2) & 1;
	d->tc = (msg[2] >> 1) & 1;
	d->rd = msg[2] & 1;
	d->ra = msg[3] >> 7;
	d->z = (msg[3] >> 6) & 1;
	d->ad = (msg[3] >> 5) & 1;
	d->cd = (msg[3] >> 4) & 1;
	d->rcode = msg[3] & 0xf;
	d->qdcount = (uint16_t)(msg[4] << 8 | msg[5]);
	d->ancount = (uint16_t)(msg[6] << 8 | msg[7]);
	d->nscount = (uint16_t)(msg[8] << 8 | msg[9]);
	d->arcount = (uint16_t)(msg[10] << 8 | msg[11]);
	if (!d->qdcount)
		return;
	/* Plain uncompressed name short enough to cache? */
	while (nc && pos < len && pos - 12 < NC_WIRE) {
		uint8_t l = msg[pos];

		if (l == 0) {
			size_t wl = pos + 1 - 12;

			e = &nc[name_slot(msg + 12, wl)];
			if (e->wlen == wl && !memcmp(e->wire, msg + 12, wl)) {
				memcpy(d->qname, e->text, (size_t)e->tlen + 1);
				next = pos + 1;
				goto have_name;
			}
			break;
		}
		if (l & 0xc0)
			break;
		pos += (size_t)l + 1;
	}
	if (dnsreel_dns_name(msg, len, 12, d->qname, sizeof(d->qname), &next) < 0) {
		d->qname[0] = 0;
		return;
	}
	if (e && next > 12 && next - 12 <= NC_WIRE) {
		size_t tl = strlen(d->qname);

		if (tl < NC_TEXT) {
			e->wlen = (uint8_t)(next - 12);
			memcpy(e->wire, msg + 12, e->wlen);
			e->tlen = (uint8_t)tl;
			memcpy(e->text, d->qname, tl + 1);
		}
	}
have_name:
	if (next + 4 > len)
		return;
	d->qtype = (uint16_t)(msg[next] << 8 | msg[next + 1]);
	d->qclass = (uint16_t)(msg[next + 2] << 8 | msg[next + 3]);
	d->has_question = true;
}

static void dns_prepare(struct dcur *c, uint8_t level)
{
	if (!c->rec_ready)
		rec_prepare(c);
	if (level >= 2)
		dnsreel_dns_parse(c->rec.msg, c->rec.msg_len, &c->rec.dns);
	else
		dns_light(&c->rec.dns, c->rec.msg, c->rec.msg_len, c->ncache);
	c->dns_level = level;
}

static void dns_value(struct dcur *c, int col, struct cval *out)
{
	const struct qcol *qc = &dns_cols[col];
	struct dnsreel_value v;

	if (qc->kind == CK_EVENT_ID) {
		out->type = SQLITE_INTEGER;
		out->i = (int64_t)make_key(c->s.blk_cap, (uint32_t)c->s.blk_frame, c->row->ev,
					   c->row->sub);
		return;
	}
	if (!c->rec_ready)
		rec_prepare(c);
	if (qc->needs_dns > c->dns_level)
		dns_prepare(c, qc->needs_dns);
	if (qc->needs_ns && !c->ns_ready) {
		c->rec.ns = dnsreel_ctx__netns(c->s.q->ctx, c->s.blk_cap, c->rec.ev->netns);
		c->ns_ready = true;
	}
	memset(&v, 0, sizeof(v));
	dnsreel_rec__value(&c->rec, qc->f, &v, c->buf, sizeof(c->buf));
	if (v.null) {
		out->type = SQLITE_NULL;
	} else if (qc->kind == CK_RAW) {
		if (v.has_raw || v.type != DNSREEL_FT_STR) {
			out->type = SQLITE_INTEGER;
			out->i = v.i;
		} else {
			out->type = SQLITE_NULL;
		}
	} else if (qc->is_int) {
		out->type = SQLITE_INTEGER;
		out->i = v.i;
	} else {
		out->type = SQLITE_TEXT;
		out->s = v.s ? v.s : "";
		out->len = v.s ? v.len : 0;
	}
}

static void result_cval(sqlite3_context *ctx, const struct cval *v, bool stable)
{
	switch (v->type) {
	case SQLITE_INTEGER:
		sqlite3_result_int64(ctx, v->i);
		break;
	case SQLITE_TEXT:
		sqlite3_result_text(ctx, v->s, (int)v->len,
				    stable ? SQLITE_STATIC : SQLITE_TRANSIENT);
		break;
	default:
		sqlite3_result_null(ctx);
	}
}

/* -- grouping -- */

static uint64_t hash_bytes(const uint8_t *p, size_t n)
{
	uint64_t h = 0x9e3779b97f4a7c15ull ^ n;

	/* Word at a time: tuples are short and hashed once per row. */
	while (n >= 8) {
		uint64_t w;

		memcpy(&w, p, 8);
		h = (h ^ w) * 0xff51afd7ed558ccdull;
		h ^= h >> 32;
		p += 8;
		n -= 8;
	}
	if (n) {
		uint64_t w = 0;

		memcpy(&w, p, n);
		h = (h ^ w) * 0xc4ceb9fe1a85ec53ull;
	}
	h ^= h >> 29;
	h *= 0xbf58476d1ce4e5b9ull;
	return h ^ (h >> 32);
}

static int gbuf_put(struct dcur *c, const void *p, size_t n)
{
	return bytes_append(&c->garena, &c->glen, &c->gcap, 1 << 16, p, n);
}

static int ser_cval(struct dcur *c, const struct cval *v)
{
	uint8_t tag = (uint8_t)v->type;
	int err = gbuf_put(c, &tag, 1);

	if (err)
		return err;
	if (v->type == SQLITE_INTEGER)
		return gbuf_put(c, &v->i, sizeof(v->i));
	if (v->type == SQLITE_TEXT) {
		uint32_t len = (uint32_t)v->len;

		err = gbuf_put(c, &len, sizeof(len));
		return err ? err : gbuf_put(c, v->s, v->len);
	}
	return 0;
}

#define GROUP_MAX_ENTS (16u << 20)

static int group_add_row(struct dcur *c, int nob)
{
	size_t start = c->glen, glen = 0;
	struct cval v;
	uint64_t h;
	size_t slot;
	int err;

	for (int k = 0; k < c->ngcols; k++) {
		dns_value(c, c->gcols[k], &v);
		err = ser_cval(c, &v);
		if (err)
			return err;
		if (k + 1 == nob)
			glen = c->glen - start;
	}
	/* Neighbouring rows often repeat a tuple (a query, its copies, its response). */
	if (c->nents && c->glast < c->nents) {
		struct gent *e = &c->ents[c->glast];

		if (e->len == c->glen - start &&
		    !memcmp(c->garena + e->off, c->garena + start, e->len)) {
			e->count++;
			c->glen = start;
			return 0;
		}
	}
	h = hash_bytes(c->garena + start, c->glen - start);
	if (c->nents * 2 >= c->hcap) {
		size_t nc = c->hcap ? c->hcap * 2 : 1024;
		size_t *nt = malloc(nc * sizeof(*nt));

		if (!nt)
			return -ENOMEM;
		for (size_t i = 0; i < nc; i++)
			nt[i] = SIZE_MAX;
		for (size_t e = 0; e < c->nents; e++) {
			size_t j = c->ents[e].hash & (nc - 1);

			while (nt[j] != SIZE_MAX)
				j = (j + 1) & (nc - 1);
			nt[j] = e;
		}
		free(c->htab);
		c->htab = nt;
		c->hcap = nc;
	}
	for (slot = h & (c->hcap - 1); c->htab[slot] != SIZE_MAX;
	     slot = (slot + 1) & (c->hcap - 1)) {
		struct gent *e = &c->ents[c->htab[slot]];

		if (e->hash == h && e->len == c->glen - start &&
		    !memcmp(c->garena + e->off, c->garena + start, e->len)) {
			e->count++;
			c->glast = c->htab[slot];
			c->glen = start; /* seen: drop the copy */
			return 0;
		}
	}
	if (c->nents >= GROUP_MAX_ENTS)
		return -DNSREEL_E_LIMIT;
	if (c->nents == c->ents_cap) {
		size_t nc = c->ents_cap ? c->ents_cap * 2 : 1024;
		struct gent *ne = realloc(c->ents, nc * sizeof(*ne));

		if (!ne)
			return -ENOMEM;
		c->ents = ne;
		c->ents_cap = nc;
	}
	c->ents[c->nents] = (struct gent){.off = start,
					  .len = (uint32_t)(c->glen - start),
					  .glen = (uint32_t)glen,
					  .count = 1,
					  .hash = h};
	c->glast = c->nents;
	c->htab[slot] = c->nents++;
	return 0;
}

/* SQLite's order over the ORDER BY columns of two tuples: NULL < integer < text, text by
 * bytes (BINARY: SQLite only hands plain-collation columns to aOrderBy). */
static int group_cmp(const void *a, const void *b, void *arg)
{
	const struct dcur *c = arg;
	const struct gent *x = a, *y = b;
	const uint8_t *p = c->garena + x->off, *q = c->garena + y->off;

	for (int k = 0; k < c->nob; k++) {
		int tp = *p++, tq = *q++, r = 0;
		int rp = tp == SQLITE_NULL ? 0 : tp == SQLITE_INTEGER ? 1 : 2;
		int rq = tq == SQLITE_NULL ? 0 : tq == SQLITE_INTEGER ? 1 : 2;
		uint32_t lp = 0, lq = 0;

		if (tp == SQLITE_TEXT)
			memcpy(&lp, p, 4);
		if (tq == SQLITE_TEXT)
			memcpy(&lq, q, 4);
		if (rp != rq) {
			r = rp < rq ? -1 : 1;
		} else if (tp == SQLITE_INTEGER) {
			int64_t i, j;

			memcpy(&i, p, 8);
			memcpy(&j, q, 8);
			r = i < j ? -1 : i > j;
		} else if (tp == SQLITE_TEXT) {
			r = memcmp(p + 4, q + 4, lp < lq ? lp : lq);
			if (!r)
				r = lp < lq ? -1 : lp > lq;
		}
		if (r)
			return c->gdesc[k] ? -r : r;
		p += tp == SQLITE_INTEGER ? 8 : tp == SQLITE_TEXT ? 4 + lp : 0;
		q += tq == SQLITE_INTEGER ? 8 : tq == SQLITE_TEXT ? 4 + lq : 0;
	}
	return 0;
}

static void group_load_entry(struct dcur *c)
{
	const struct gent *e = &c->ents[c->gi];
	const uint8_t *p = c->garena + e->off;

	for (int k = 0; k < c->ngcols; k++) {
		struct cval *v = &c->gvals[k];

		v->type = *p++;
		if (v->type == SQLITE_INTEGER) {
			memcpy(&v->i, p, sizeof(v->i));
			p += sizeof(v->i);
		} else if (v->type == SQLITE_TEXT) {
			uint32_t len;

			memcpy(&len, p, sizeof(len));
			p += sizeof(len);
			v->s = (const char *)p;
			v->len = len;
			p += len;
		}
	}
	c->grep = c->gmode >= 2 ? 1 : e->count; /* DISTINCT: once is enough */
}

static void group_free(struct dcur *c)
{
	free(c->ents);
	free(c->htab);
	free(c->garena);
	c->ents = NULL;
	c->htab = NULL;
	c->garena = NULL;
	c->nents = c->ents_cap = c->hcap = c->glen = c->gcap = 0;
	c->grouped = false;
}

static int set_err(struct dcur *c, int err)
{
	sqlite3_vtab *vt = c->base.pVtab;

	sqlite3_free(vt->zErrMsg);
	if (err == -DNSREEL_E_LIMIT)
		vt->zErrMsg = sqlite3_mprintf("dnsreel: too many groups to group inside the table; "
					      "write GROUP BY +column to let SQLite sort instead");
	else
		vt->zErrMsg = sqlite3_mprintf("dnsreel: %s",
					      c->s.errmsg[0] ? c->s.errmsg : dnsreel_strerror(err));
	return err == -ENOMEM ? SQLITE_NOMEM : SQLITE_ERROR;
}

/* -- cursor methods shared by dns and answers -- */

static int ans_advance(struct dcur *c);

static int cur_step(struct dcur *c)
{
	int r = scan_next(&c->s);

	if (r > 0) {
		c->row = &c->s.rows[c->s.pos - 1];
		c->rec_ready = false;
		c->dns_level = 0;
		c->s.q->st.rows++;
		c->rowid++;
	}
	return r;
}

static int x_open(sqlite3_vtab *vt, sqlite3_vtab_cursor **out)
{
	struct qvtab *v = (struct qvtab *)vt;
	struct dcur *c = calloc(1, sizeof(*c));

	if (!c)
		return SQLITE_NOMEM;
	c->s.q = v->q;
	c->t = v->t;
	c->ncache = calloc(NC_SLOTS, sizeof(*c->ncache));
	if (!c->ncache) {
		free(c);
		return SQLITE_NOMEM;
	}
	c->s.eof = true;
	*out = &c->base;
	return SQLITE_OK;
}

static int x_close(sqlite3_vtab_cursor *cur)
{
	struct dcur *c = (struct dcur *)cur;

	scan_free(&c->s);
	group_free(c);
	free(c->dbuf);
	free(c->ncache);
	free(c);
	return SQLITE_OK;
}

static int x_filter(sqlite3_vtab_cursor *cur, int idxNum, const char *idxStr, int argc,
		    sqlite3_value **argv)
{
	struct dcur *c = (struct dcur *)cur;
	struct scan *s = &c->s;
	struct dnsreel_query *q = s->q;
	const char *grp = idxStr ? strchr(idxStr, '|') : NULL;
	const char *rest = grp ? strchr(grp + 1, '|') : NULL;
	int err, nob = 0;

	pf_stop(s);
	group_free(c);
	s->errmsg[0] = 0;
	s->pushdown = !q->opts.no_pushdown;
	s->use_decoder_all = q->opts.no_fast_path;
	if (idxNum & 4)
		s->use_decoder_all = true;
	err = scan_config(s, c->t, idxStr, argc, argv);
	if (err)
		return set_err(c, err);
	s->cap = 0;
	s->frame = 0;
	s->key_pos = 0;
	s->eof = false;
	if (!s->keys) {
		dnsreel_decoder__free(s->dec); /* a new scan starts with fresh TCP state */
		s->dec = NULL;
	}
	if (s->keys && s->blk_loaded && s->blk_fresh)
		s->pos = s->nrows; /* keep the decoded frame: the next probe may hit it */
	else
		scan_drop_frame(s);
	if (!s->keys && !s->no_rows)
		pf_start(s);
	q->st.scans++;
	q->st.frames_total += s->keys ? 0 : q->frames_all;
	c->rowid = 0;
	c->in_msg = false;

	if (c->t->is_dns && (idxNum & 1)) {
		/* Grouping: count distinct tuples now, emit them clustered. */

		c->grouped = true;
		c->gmode = (idxNum >> 8) & 3;
		c->ngcols = 0;
		for (int i = 0; i < MAX_COLS; i++)
			c->colpos[i] = -1;
		for (const char *p = grp + 1; p[0] && p[0] != '|' && p[1]; p += 2) {
			int col = p[0] - '0';

			if (col >= 0 && col < ndns_cols && c->colpos[col] < 0) {
				c->gdesc[c->ngcols] = p[1] == '1';
				c->colpos[col] = c->ngcols;
				c->gcols[c->ngcols++] = col;
			}
		}
		nob = c->ngcols;
		for (const char *p = rest ? rest + 1 : ""; *p; p++) {
			int col = *p - '0';

			if (col >= 0 && col < ndns_cols && c->colpos[col] < 0) {
				c->colpos[col] = c->ngcols;
				c->gcols[c->ngcols++] = col;
			}
		}
		for (;;) {
			int r = cur_step(c);

			if (r < 0)
				return set_err(c, r);
			if (!r)
				break;
			err = group_add_row(c, nob);
			if (err)
				return set_err(c, err);
		}
		c->nob = nob;
		qsort_r(c->ents, c->nents, sizeof(*c->ents), group_cmp, c);
		c->gi = 0;
		c->rowid = 0;
		if (c->nents)
			group_load_entry(c);
		return SQLITE_OK;
	}
	if (c->t->is_dns) {
		err = cur_step(c);
		return err < 0 ? set_err(c, err) : SQLITE_OK;
	}
	err = ans_advance(c);
	return err < 0 ? set_err(c, err) : SQLITE_OK;
}

static int dns_next(sqlite3_vtab_cursor *cur)
{
	struct dcur *c = (struct dcur *)cur;
	int r;

	if (c->grouped) {
		c->rowid++;
		if (c->grep > 1) {
			c->grep--;
			return SQLITE_OK;
		}
		if (++c->gi < c->nents)
			group_load_entry(c);
		return SQLITE_OK;
	}
	r = cur_step(c);
	return r < 0 ? set_err(c, r) : SQLITE_OK;
}

static int dns_eof(sqlite3_vtab_cursor *cur)
{
	struct dcur *c = (struct dcur *)cur;

	return c->grouped ? c->gi >= c->nents : c->s.eof;
}

static int dns_column(sqlite3_vtab_cursor *cur, sqlite3_context *ctx, int col)
{
	struct dcur *c = (struct dcur *)cur;
	struct cval v;

	if (col < 0 || col >= ndns_cols) {
		sqlite3_result_null(ctx);
		return SQLITE_OK;
	}
	if (c->grouped) {
		if (c->colpos[col] < 0)
			sqlite3_result_null(ctx);
		else
			result_cval(ctx, &c->gvals[c->colpos[col]], true);
		return SQLITE_OK;
	}
	dns_value(c, col, &v);
	result_cval(ctx, &v, false);
	return SQLITE_OK;
}

static int x_rowid(sqlite3_vtab_cursor *cur, sqlite3_int64 *rowid)
{
	struct dcur *c = (struct dcur *)cur;

	*rowid = c->rowid;
	return SQLITE_OK;
}

/* ---- answers cursor ----------------------------------------------------------------------- */

/* Moves to the next RR of a response; 0 with a row or at the end (s.eof), negative on error. */
static int ans_advance(struct dcur *c)
{
	for (;;) {
		if (c->in_msg) {
			int r = dnsreel_dns_iter_next(&c->it, &c->rr);

			if (r == 1) {
				c->rowid++;
				c->s.q->st.rows++;
				c->dlen = -1;
				return 0;
			}
			c->in_msg = false;
		}
		int r = scan_next(&c->s);

		if (r <= 0)
			return r;
		c->row = &c->s.rows[c->s.pos - 1];
		c->rec_ready = false;
		c->dns_level = 0;
		const uint8_t *m = (const uint8_t *)row_msg(&c->s, c->row);

		if (c->row->msg_len < 12 || !(m[2] & 0x80))
			continue;
		if (dnsreel_dns_iter_init(&c->it, m, c->row->msg_len) < 0)
			continue;
		c->in_msg = true;
	}
}

static int ans_next(sqlite3_vtab_cursor *cur)
{
	struct dcur *c = (struct dcur *)cur;
	int r = ans_advance(c);

	return r < 0 ? set_err(c, r) : SQLITE_OK;
}

static int ans_eof(sqlite3_vtab_cursor *cur)
{
	struct dcur *c = (struct dcur *)cur;

	return !c->in_msg && c->s.eof;
}

static const char *section_name(uint8_t s)
{
	switch (s) {
	case DNSREEL_DNS_ANSWER:
		return "answer";
	case DNSREEL_DNS_AUTHORITY:
		return "authority";
	case DNSREEL_DNS_ADDITIONAL:
		return "additional";
	default:
		return NULL;
	}
}

static int ans_column(sqlite3_vtab_cursor *cur, sqlite3_context *ctx, int col)
{
	struct dcur *c = (struct dcur *)cur;
	const struct dnsreel_dns_rr *rr = &c->rr;
	struct dnsreel_value v;
	const char *s;

	switch (col) {
	case A_EVENT_ID:
		sqlite3_result_int64(ctx,
				     (sqlite3_int64)make_key(c->s.blk_cap, (uint32_t)c->s.blk_frame,
							     c->row->ev, c->row->sub));
		break;
	case A_CAPTURE:
		if (!c->rec_ready)
			rec_prepare(c);
		memset(&v, 0, sizeof(v));
		dnsreel_rec__value(&c->rec, DNSREEL_F_CAPTURE, &v, c->buf, sizeof(c->buf));
		if (v.null || !v.s)
			sqlite3_result_null(ctx);
		else
			sqlite3_result_text(ctx, v.s, (int)v.len, SQLITE_TRANSIENT);
		break;
	case A_SEGMENT:
		sqlite3_result_int64(ctx, c->s.blk_segment);
		break;
	case A_TIMESTAMP:
		if (!c->rec_ready)
			rec_prepare(c);
		sqlite3_result_int64(ctx, c->rec.wall_ns);
		break;
	case A_SECTION:
		s = section_name(rr->section);
		if (s)
			sqlite3_result_text(ctx, s, -1, SQLITE_STATIC);
		else
			sqlite3_result_null(ctx);
		break;
	case A_RR_INDEX:
		sqlite3_result_int64(ctx, (sqlite3_int64)c->it.index - 1);
		break;
	case A_NAME:
		sqlite3_result_text(ctx, rr->name, -1, SQLITE_TRANSIENT);
		break;
	case A_TYPE:
		s = dnsreel_dns_type_name(rr->type);
		if (s)
			sqlite3_result_text(ctx, s, -1, SQLITE_STATIC);
		else
			sqlite3_result_text(ctx, sqlite3_mprintf("%u", rr->type), -1, sqlite3_free);
		break;
	case A_TYPE_RAW:
		sqlite3_result_int64(ctx, rr->type);
		break;
	case A_CLASS:
		if (rr->type == 41) /* OPT: the class field is the UDP payload size */
			sqlite3_result_null(ctx);
		else if (rr->class == 1)
			sqlite3_result_text(ctx, "IN", 2, SQLITE_STATIC);
		else if (rr->class == 3)
			sqlite3_result_text(ctx, "CH", 2, SQLITE_STATIC);
		else if (rr->class == 4)
			sqlite3_result_text(ctx, "HS", 2, SQLITE_STATIC);
		else
			sqlite3_result_text(ctx, sqlite3_mprintf("CLASS%u", rr->class), -1,
					    sqlite3_free);
		break;
	case A_TTL:
		sqlite3_result_int64(ctx, rr->ttl);
		break;
	case A_DATA: {
		const uint8_t *m = (const uint8_t *)row_msg(&c->s, c->row);
		int n;

		if (!c->dbuf) {
			c->dbuf_cap = 4096;
			c->dbuf = malloc(c->dbuf_cap);
			if (!c->dbuf)
				return SQLITE_NOMEM;
		}
		n = dnsreel_dns_rdata_str(m, c->row->msg_len, rr, c->dbuf, c->dbuf_cap);
		if (n >= 0 && (size_t)n >= c->dbuf_cap) {
			char *nb = realloc(c->dbuf, (size_t)n + 1);

			if (!nb)
				return SQLITE_NOMEM;
			c->dbuf = nb;
			c->dbuf_cap = (size_t)n + 1;
			n = dnsreel_dns_rdata_str(m, c->row->msg_len, rr, c->dbuf, c->dbuf_cap);
		}
		if (n < 0)
			sqlite3_result_null(ctx);
		else
			sqlite3_result_text(ctx, c->dbuf, n, SQLITE_TRANSIENT);
		break;
	}
	default:
		sqlite3_result_null(ctx);
	}
	return SQLITE_OK;
}

/* ---- connect and register ----------------------------------------------------------------- */

static int connect_common(sqlite3 *db, void *aux, int argc, const char *const *argv,
			  sqlite3_vtab **out, char **pzErr, const struct tdesc *t,
			  const char *schema)
{
	struct dnsreel_qholder *h = aux;
	struct dnsreel_query *q;
	struct qvtab *v;
	int rc;

	pthread_once(&cols_once, cols_init);
	if (argc > 3) {
		q = dnsreel_q_open_args(argc - 3, argv + 3, pzErr);
		if (!q)
			return SQLITE_ERROR;
	} else {
		q = dnsreel_q_holder_get(h, db, pzErr);
		if (!q)
			return SQLITE_ERROR;
		dnsreel_q_ref(q);
	}
	rc = sqlite3_declare_vtab(db, schema);
	if (rc != SQLITE_OK) {
		dnsreel_query__unref(q);
		return rc;
	}
	sqlite3_vtab_config(db, SQLITE_VTAB_INNOCUOUS);
	v = sqlite3_malloc(sizeof(*v));
	if (!v) {
		dnsreel_query__unref(q);
		return SQLITE_NOMEM;
	}
	memset(v, 0, sizeof(*v));
	v->q = q;
	v->t = t;
	*out = &v->base;
	return SQLITE_OK;
}

static int dns_connect(sqlite3 *db, void *aux, int argc, const char *const *argv,
		       sqlite3_vtab **out, char **pzErr)
{
	pthread_once(&cols_once, cols_init);
	return connect_common(db, aux, argc, argv, out, pzErr, &dns_desc, dns_schema);
}

static int ans_connect(sqlite3 *db, void *aux, int argc, const char *const *argv,
		       sqlite3_vtab **out, char **pzErr)
{
	return connect_common(db, aux, argc, argv, out, pzErr, &ans_desc, ans_schema);
}

static int x_disconnect(sqlite3_vtab *vt)
{
	struct qvtab *v = (struct qvtab *)vt;

	dnsreel_query__unref(v->q);
	sqlite3_free(v);
	return SQLITE_OK;
}

static const sqlite3_module dns_module = {
    .iVersion = 0,
    .xCreate = dns_connect,
    .xConnect = dns_connect,
    .xBestIndex = best_index,
    .xDisconnect = x_disconnect,
    .xDestroy = x_disconnect,
    .xOpen = x_open,
    .xClose = x_close,
    .xFilter = x_filter,
    .xNext = dns_next,
    .xEof = dns_eof,
    .xColumn = dns_column,
    .xRowid = x_rowid,
};

static const sqlite3_module ans_module = {
    .iVersion = 0,
    .xCreate = ans_connect,
    .xConnect = ans_connect,
    .xBestIndex = best_index,
    .xDisconnect = x_disconnect,
    .xDestroy = x_disconnect,
    .xOpen = x_open,
    .xClose = x_close,
    .xFilter = x_filter,
    .xNext = ans_next,
    .xEof = ans_eof,
    .xColumn = ans_column,
    .xRowid = x_rowid,
};

int dnsreel_q_register_event_tables(struct dnsreel_qholder *h, sqlite3 *db)
{
	int rc;

	pthread_once(&cols_once, cols_init);
	h->refs++;
	rc = sqlite3_create_module_v2(db, "dns", &dns_module, h, dnsreel_q_holder_unref);
	if (rc != SQLITE_OK)
		return rc;
	h->refs++;
	return sqlite3_create_module_v2(db, "answers", &ans_module, h, dnsreel_q_holder_unref);
}
