/* Frame scanning: frames -> rows for the dns and answers tables.
 *
 * A frame the catalog rules out for the pushed-down constraints is never decompressed. Rows are
 * an event index plus a message pointer; everything else is decoded only for the columns SQLite
 * asks for (cursor.c). A full scan reads frames ahead in a worker thread with readers of its
 * own while the SQLite thread turns the previous ones into rows (two cores, two stages).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dns.h"
#include "dnsreel.h"
#include "scan_int.h"

void dnsreel_q_scan_cfg_free(struct scan *s)
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

void dnsreel_q_scan_free(struct scan *s)
{
	pf_free(s);
	dnsreel_q_scan_cfg_free(s);
	scan_drop_frame(s);
	dnsreel_decoder__free(s->dec);
	s->dec = NULL;
	free(s->rows);
	free(s->arena);
	free(s->xev);
}

static int push_row(struct scan *s, const struct qrow *r)
{
	struct qrow *nr = dnsreel_q_grow(s->rows, &s->rows_cap, s->nrows + 1, sizeof(*nr), 4096);

	if (!nr)
		return -ENOMEM;
	s->rows = nr;
	s->rows[s->nrows++] = *r;
	return 0;
}

static int arena_put(struct scan *s, const void *p, size_t n, size_t *off)
{
	*off = s->arena_len;
	return dnsreel_q_bytes_append(&s->arena, &s->arena_len, &s->arena_cap, 65536, p, n);
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
		struct dnsreel_event *nx =
		    dnsreel_q_grow(s->xev, &s->xev_cap, s->nxev + 1, sizeof(*nx), 64);

		if (!nx)
			return -ENOMEM;
		s->xev = nx;
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

/* A frame that cannot be read is skipped, as replay skips it: recorded once in the session
 * (segment and offset) and counted for this scan. 0, or the error when it is not damage. */
static int skip_bad_frame(struct scan *s, uint32_t cap, size_t i, int err, const char *msg)
{
	struct dnsreel_query *q = s->q;
	const struct dnsreel_frame_info *fi = dnsreel_capr__frame(q->capr[cap], i);
	char buf[768];

	if (err == -ENOMEM)
		return err;
	if (msg && msg[0])
		snprintf(buf, sizeof(buf), "%s", msg);
	else
		snprintf(buf, sizeof(buf), "%s: seg/%06u.zst offset %llu: %s", q->paths[cap],
			 fi ? fi->segment : 0, (unsigned long long)(fi ? fi->offset : 0),
			 dnsreel_strerror(err));
	if (!s->skipped++) {
		snprintf(s->first_bad, sizeof(s->first_bad), "%.255s", buf);
		s->first_bad_cap = cap;
	}
	return dnsreel_q_note_bad_frame(q, cap, i, buf);
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
	}
	pthread_mutex_unlock(&pf->mu);
	return NULL;
}

void dnsreel_q_scan_stop(struct scan *s)
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
	dnsreel_q_scan_stop(s);
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
			uint64_t *np = dnsreel_q_grow(pf->plan, &pf->plan_cap, pf->nplan + 1,
						      sizeof(*np), 1024);

			if (!np)
				return;
			pf->plan = np;
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
	bool bad;
	int err;

	if (pf->consumed >= pf->nplan)
		return 0;
	sl = &pf->slots[pf->consumed % PF_SLOTS];
	pthread_mutex_lock(&pf->mu);
	while (!sl->ready)
		pthread_cond_wait(&pf->cv, &pf->mu);
	pthread_mutex_unlock(&pf->mu);
	item = sl->item;
	bad = sl->err != 0;
	err = bad ? skip_bad_frame(s, (uint32_t)(item >> 32), (size_t)(item & 0xFFFFFFFFu), sl->err,
				   sl->errmsg)
		  : 0;
	blk = sl->blk;
	pthread_mutex_lock(&pf->mu);
	sl->ready = false;
	pf->consumed++;
	pthread_cond_broadcast(&pf->cv);
	pthread_mutex_unlock(&pf->mu);

	scan_drop_frame(s);
	if (bad) /* the slot is the worker's again: only what was copied out is used */
		return err ? err : 1; /* skipped: no rows, the next frame follows */
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
	char msg[512] = "";

	err = dnsreel_capr__read_frame(q->capr[cap], i, &s->blk, msg, sizeof(msg));
	if (err) {
		err = skip_bad_frame(s, cap, i, err, msg);
		if (err)
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
	if (q->opts.progress)
		q->opts.progress(q->opts.progress_ctx, q);

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

static bool key_wanted(const struct scan *s, uint64_t k)
{
	return bsearch(&k, s->keys, s->nkeys, sizeof(k), dnsreel_q_u64_cmp) != NULL;
}

/* The pushed-down predicates that can be decided from the event alone (time, netns, qr) drop
 * rows here, before SQLite spends a column call on them. Conservative like the frame check:
 * SQLite still evaluates every constraint on what is left. */
static bool row_may_match(const struct scan *s, const struct qrow *r)
{
	const struct capcfg *cc = &s->caps[s->blk_cap];
	const struct dnsreel_event *ev = dnsreel_q_row_ev(s, r);
	int64_t wall = ev->ts_ns + cc->boot_to_wall;

	if (cc->p.since_wall_ns && wall < cc->p.since_wall_ns)
		return false;
	if (cc->p.until_wall_ns && wall > cc->p.until_wall_ns)
		return false;
	if (cc->p.netns_count && !bsearch(&ev->netns, cc->p.netns, cc->p.netns_count,
					  sizeof(uint64_t), dnsreel_q_u64_cmp))
		return false;
	if (cc->p.qr_mask) {
		int qr = dnsreel_dns_qr(dnsreel_q_row_msg(s, r), r->msg_len);

		if (qr < 0 || !(cc->p.qr_mask & (qr ? 2 : 1)))
			return false;
	}
	return true;
}

int dnsreel_q_scan_next(struct scan *s)
{
	struct dnsreel_query *q = s->q;
	int err;

	if (s->eof)
		return 0;
	for (;;) {
		while (s->pos < s->nrows) {
			const struct qrow *r = &s->rows[s->pos++];

			if (s->keys && !key_wanted(s, dnsreel_q_row_key(s, r)))
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
	if (s->skipped && q->opts.fail_on_damage) {
		snprintf(s->errmsg, sizeof(s->errmsg),
			 "%llu damaged frame(s) skipped, the rows before this error come from the "
			 "rest (first: %.150s); dnsreel verify --reindex %.150s rebuilds the index "
			 "from the intact frames",
			 (unsigned long long)s->skipped, s->first_bad, q->paths[s->first_bad_cap]);
		return DNSREEL_E_CORRUPT;
	}
	return 0;
}

void dnsreel_q_scan_start(struct scan *s)
{
	struct dnsreel_query *q = s->q;

	s->cap = 0;
	s->frame = 0;
	s->key_pos = 0;
	s->eof = false;
	s->skipped = 0;
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
}
