/* Frame scanning for the dns and answers tables: the frames a scan wants (pruned by the
 * pushed-down constraints), read ahead in a second thread, decoded into rows of one event and
 * one DNS message each (UDP straight from the payload, TCP through the view's decoder). */
#ifndef DNSREEL_QSCAN_H
#define DNSREEL_QSCAN_H

#include <pthread.h>

#include "query_int.h"

/* event_id: capture (8 bits) | catalog frame index (32) | event in frame (20) | message of that
 * event (4, TCP can complete several). Stable under pruning because it names the position. */
static inline uint64_t dnsreel_q_event_key(uint32_t cap, uint32_t frame, uint32_t ev, uint32_t sub)
{
	return ((uint64_t)cap << 56) | ((uint64_t)frame << 24) | ((uint64_t)(ev & 0xFFFFF) << 4) |
	       (sub & 0xF);
}

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
	/* frames this scan skipped because they could not be read, and the first one's message */
	uint64_t skipped;
	uint32_t first_bad_cap;
	char first_bad[256];
};

/* Frees what dnsreel_q_scan_config (pushdown.c) set up. */
void dnsreel_q_scan_cfg_free(struct scan *s);
/* Starts a scan over what the configuration wants: from the first frame, or in lookup mode from
 * the first key (keeping a frame already decoded for a join's next probe). */
void dnsreel_q_scan_start(struct scan *s);
/* Stops the read-ahead of a scan (before a new configuration). */
void dnsreel_q_scan_stop(struct scan *s);
void dnsreel_q_scan_free(struct scan *s);
/* Next row; 1 = s->rows[s->pos - 1] is it, 0 = end, negative = error (s->errmsg). */
int dnsreel_q_scan_next(struct scan *s);

static inline const uint8_t *dnsreel_q_row_msg(const struct scan *s, const struct qrow *r)
{
	return r->in_arena ? s->arena + r->msg : (const uint8_t *)r->msg;
}

static inline const struct dnsreel_event *dnsreel_q_row_ev(const struct scan *s,
							   const struct qrow *r)
{
	return r->from_xev ? &s->xev[r->ev] : &s->blk.ev[r->ev];
}

static inline uint64_t dnsreel_q_row_key(const struct scan *s, const struct qrow *r)
{
	return dnsreel_q_event_key(s->blk_cap, (uint32_t)s->blk_frame, r->ev, r->sub);
}

#endif
