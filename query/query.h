/* SQL over captures: SQLite virtual tables that serve decoded DNS events straight from the
 * segments, with time, netns, name, pod, qr and rcode predicates pushed down to the frame
 * catalog so a selective query reads only frames that can match.
 *
 * Tables (one set per SQLite connection, all eponymous):
 *   dns        one row per DNS message as the view's decoder yields it
 *   answers    one row per resource record of every response (joins dns on event_id)
 *   netns, pods, processes, services, segments, frames, capture_info, counters
 *              the context and catalog of every capture, with a capture column
 * Column names follow the trace_dns field table of view/view.h ('.' turned into '_').
 */
#ifndef DNSREEL_QUERY_H
#define DNSREEL_QUERY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <sqlite3.h>

/* One or more open captures queried as one. */
struct dnsreel_query;

struct dnsreel_query_opts {
	size_t sz;	   /* sizeof(struct dnsreel_query_opts) */
	bool no_pushdown;  /* read every frame (tests compare answers with and without) */
	bool no_grouping;  /* never satisfy GROUP BY/DISTINCT inside the table (tests) */
	bool no_fast_path; /* feed every event through the decoder (tests) */
	bool no_prefetch;  /* read frames in the SQLite thread only */
	/* A frame that cannot be read is skipped and recorded (dnsreel_query__take_problems());
	 * with fail_on_damage the scan that skipped it also fails at its end, after the good rows
	 * (the extension: the sqlite3 shell has no other way to show it). */
	bool fail_on_damage;
	/* Called after each frame read (with the running stats), for a progress line. */
	void (*progress)(void *ctx, const struct dnsreel_query *q);
	void *progress_ctx;
};

/* Opens the captures (directories NAME.reel) read-only. *out is owned by the caller until it is
 * handed to dnsreel_query__register(), which takes a reference; release with
 * dnsreel_query__unref(). errbuf receives a message naming the capture. Returns 0 or a negative
 * error (dnsreel.h). */
int dnsreel_query__open(struct dnsreel_query **out, const char *const *captures, size_t n,
			const struct dnsreel_query_opts *opts, char *errbuf, size_t errlen);
void dnsreel_query__unref(struct dnsreel_query *q);

/* Registers all tables of q on db (takes a reference on q). Returns an SQLite result code. */
int dnsreel_query__register(struct dnsreel_query *q, sqlite3 *db);

/* Registers dns, answers and pods on db without captures: the first use opens the capture
 * whose index.sqlite is db's main database (what the loadable extension does). Other captures
 * can be named explicitly: CREATE VIRTUAL TABLE x USING dns(DIR, ...). SQLite result code. */
int dnsreel_query_register_lazy(sqlite3 *db);

/* Work done since the last reset, for --stats. */
struct dnsreel_query_stats {
	uint64_t frames_total;	 /* catalog frames over all captures, per table scan started */
	uint64_t frames_read;	 /* frames decompressed */
	uint64_t events_decoded; /* events in those frames */
	uint64_t rows;		 /* rows handed to SQLite by dns and answers */
	uint64_t scans;		 /* table scans (xFilter calls) of dns and answers */
};
void dnsreel_query__stats(const struct dnsreel_query *q, struct dnsreel_query_stats *st);
void dnsreel_query__reset_stats(struct dnsreel_query *q);
size_t dnsreel_query__capture_count(const struct dnsreel_query *q);
/* What the readers reported while opening without failing (e.g. a damaged index replaced by a
 * scan of the segments), one line per capture; "" when nothing. Lives as long as q. */
const char *dnsreel_query__warnings(const struct dnsreel_query *q);
/* Frames skipped because they could not be read (each counted once over the session). */
uint64_t dnsreel_query__bad_frames(const struct dnsreel_query *q);
/* The lines naming frames skipped since the last call (segment and offset, one a line), to be
 * freed by the caller; NULL when none. */
char *dnsreel_query__take_problems(struct dnsreel_query *q);

#endif
