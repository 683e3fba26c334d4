/* The replay engine: merges one or more captures onto one wall-clock time line and pushes the
 * result through decode (TCP reassembly, latency) and -F filters to the caller's sinks.
 *
 *   captures ─▶ frames (pruned by the filter) ─▶ k-way merge by time ─▶ [event sink]
 *            ─▶ dnsreel_decoder ─▶ dnsreel_filter ─▶ [rec sink: printer, pcapng, flows...]
 *
 * Order: wall-clock time (boot ts + each capture's boot->wall offset), ties broken by DNS id,
 * then capture order (the order of paths), then position in the capture. Memory is bounded by
 * the frames open at once: a frame is decoded only when the merge frontier reaches its first
 * timestamp, and released when its last event is passed on.
 *
 * Stages after the filter are plain dnsreel_rec_fn callbacks chained by the caller: the tool
 * passes the printer (or pcapng writer) as rec_fn today; flow reconstruction (--flows) is meant
 * to be one more rec_fn placed in front of it, receiving matched records in time order and
 * emitting flows at the end of run().
 */
#ifndef DNSREEL_REPLAY_H
#define DNSREEL_REPLAY_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "capture.h"
#include "view.h"

struct dnsreel_replay;

/* Every merged event, before decoding (pcapng export of the original packets). */
typedef int (*dnsreel_event_fn)(void *arg, uint32_t capture, uint32_t segment,
				const struct dnsreel_event *ev, int64_t wall_ns);

struct dnsreel_replay_stats {
	uint64_t frames_total;	   /* in the catalogs */
	uint64_t frames_read;	   /* decoded */
	uint64_t frames_pruned;	   /* skipped: could not match the filter */
	uint64_t frames_bad;	   /* damaged: named through the problem callback */
	uint64_t events_total;	   /* in the catalogs */
	uint64_t events_read;	   /* merged */
	uint64_t recs;		   /* DNS messages decoded */
	uint64_t recs_matched;	   /* passed the filter */
	uint64_t frames_open_max;  /* most frames decoded at once: the memory bound */
	uint64_t capture_problems; /* captures opened from their segments past damage or a
				    * missing index (named through the problem callback) */
};

struct dnsreel_replay_opts {
	size_t sz;
	struct dnsreel_filter *filter; /* NULL = everything; pushed down to frames */
	bool follow;		       /* keep polling the captures for new frames */
	int64_t poll_ns;	       /* follow: poll interval (default 200 ms) */
	volatile sig_atomic_t *stop;   /* run() returns when *stop becomes nonzero */
	bool no_decode;		       /* only the event sink is wanted */
	dnsreel_problem_fn problem;    /* one line per damaged frame, naming segment + offset */
	void *problem_ctx;
	dnsreel_event_fn event_fn; /* may be NULL */
	void *event_arg;
	dnsreel_rec_fn rec_fn; /* matching records; may be NULL */
	void *rec_arg;
	/* Called when the merge is idle in follow mode (flush output) and every few thousand
	 * events otherwise (progress). May be NULL. */
	void (*tick)(void *arg, const struct dnsreel_replay_stats *st, bool idle);
	void *tick_arg;
	uint32_t capr_flags; /* enum dnsreel_capr_flags for every capture */
};

/* Opens every capture (a capture whose index is unreadable is scanned from its segments) and
 * builds the shared context. On failure returns the reader's error (DNSREEL_E_VERSION for a
 * newer format, DNSREEL_E_NOTCAPTURE, ...) and writes a message naming the path into err.
 * Paths are not copied: they must outlive the replay. */
int dnsreel_replay__open(struct dnsreel_replay **out, const char *const *paths, size_t n,
			 const struct dnsreel_replay_opts *opts, char *err, size_t errlen);
/* Runs the merge to the end (or, following, until *stop). Returns 0, or the first nonzero
 * value a sink returned, or a negative error. Damaged frames are not errors here: they are
 * reported through the problem callback and counted in stats.frames_bad. */
int dnsreel_replay__run(struct dnsreel_replay *r);
void dnsreel_replay__stats(const struct dnsreel_replay *r, struct dnsreel_replay_stats *st);
const struct dnsreel_ctx *dnsreel_replay__ctx(const struct dnsreel_replay *r);
size_t dnsreel_replay__capture_count(const struct dnsreel_replay *r);
struct dnsreel_capr *dnsreel_replay__capr(const struct dnsreel_replay *r, uint32_t capture);
void dnsreel_replay__close(struct dnsreel_replay *r);

#endif
