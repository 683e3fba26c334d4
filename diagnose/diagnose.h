/* libdnsreel_diagnose: names the failure modes Kubernetes DNS is known for from the signatures
 * they leave in reconstructed flows (flows.h) and in the decoded messages (view.h): conntrack
 * insert race, search-path amplification, unanswered queries by hop, upstream trouble per
 * server, forwarder REFUSED, truncation, NXDOMAIN storms and hot names, and the recorder's own
 * losses. Each finding carries counts, its time range, who was involved, example flow_ids with
 * the replay command that shows them, and what usually fixes it.
 *
 * Streaming: fed one rec and one flow at a time; every table is bounded (per-key tables of a
 * fixed size, top-N, per-minute buckets), so memory does not grow with the capture.
 *
 *   merge ─▶ rec ─▶ dnsreel_diag__rec() ─▶ dnsreel_flows__feed() ─▶ flow ─▶ dnsreel_diag__flow()
 *   capture counters ─▶ dnsreel_diag__counter()           then dnsreel_diag__finish(), findings
 */
#ifndef DNSREEL_DIAGNOSE_H
#define DNSREEL_DIAGNOSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "flows.h"
#include "view.h"

/* Version of the JSON layout of dnsreel_diag__json() ("schema" key); bumped only when a key
 * changes meaning or goes away (new keys do not bump it). */
#define DNSREEL_DIAG_SCHEMA 1

enum dnsreel_severity {
	DNSREEL_SEV_INFO,    /* worth knowing, not breaking anything by itself */
	DNSREEL_SEV_WARNING, /* costs latency or load; lookups still succeed */
	DNSREEL_SEV_ERROR,   /* lookups fail or time out */
};
/* "info", "warning", "error"; "unknown" past the enum. */
const char *dnsreel_severity_name(enum dnsreel_severity s);

/* Stable finding ids (the "id" of a finding; tests and scripts match on them). */
#define DNSREEL_FIND_CONNTRACK_RACE "conntrack-race"
#define DNSREEL_FIND_SEARCH_PATH "search-path"
#define DNSREEL_FIND_UNANSWERED "unanswered"	      /* subject: node|forwarder|upstream|return */
#define DNSREEL_FIND_UPSTREAM_SERVFAIL "upstream-servfail" /* subject: the server */
#define DNSREEL_FIND_UPSTREAM_REFUSED "upstream-refused"
#define DNSREEL_FIND_UPSTREAM_TIMEOUT "upstream-timeout"
#define DNSREEL_FIND_UPSTREAM_SLOW "upstream-slow"
#define DNSREEL_FIND_FORWARDER_REFUSED "forwarder-refused" /* subject: the forwarder */
#define DNSREEL_FIND_TRUNCATION "truncation"
#define DNSREEL_FIND_NXDOMAIN_STORM "nxdomain-storm"	   /* subject: the client pod */
#define DNSREEL_FIND_HOT_NAME "hot-name"		   /* subject: the name */
#define DNSREEL_FIND_RECORDER_LOSS "recorder-loss"	   /* subject: the capture path */
#define DNSREEL_FIND_EDNS_MISMATCH "edns-mismatch" /* UDP answers over the offered buffer */

/* A detector-specific number: "queries_per_lookup" = 4.0. Keys are lower_snake_case, stable
 * per finding id, and documented in dnsreel-diagnose(1). */
struct dnsreel_finding_num {
	const char *key;
	double value;
};

/* One finding. Every pointer is owned by the dnsreel_diag and lives until dnsreel_diag__free().
 */
struct dnsreel_finding {
	const char *id;	     /* DNSREEL_FIND_* */
	const char *subject; /* what it is about (a pod, server, hop, name); "" when global */
	const char *title;   /* one line, plain words, with the key numbers */
	enum dnsreel_severity severity;
	const char *severity_name;
	uint64_t count;		  /* occurrences (flows, lookups, tries, events: see title) */
	int64_t first_wall_ns;	  /* first and last occurrence; 0 when unknown (counters) */
	int64_t last_wall_ns;
	const char *const *pods;  /* "namespace/pod" of the clients involved (at most 8) */
	size_t npods;
	const char *const *netns; /* netns inode numbers as text (at most 8) */
	size_t nnetns;
	const char *const *servers; /* "10.0.3.2:53" forwarders or upstreams involved (at most 8) */
	size_t nservers;
	const char *const *flow_ids; /* example flows (at most opts.max_examples) */
	size_t nflow_ids;
	const char *replay; /* "dnsreel replay CAPTURE... --flows --flow-id ID", or "" */
	const char *fix;    /* what usually fixes it */
	const struct dnsreel_finding_num *nums;
	size_t nnums;
};

struct dnsreel_diag_opts {
	size_t sz;
	/* Capture paths as given, for the replay command lines (not copied; must outlive d). */
	const char *const *captures;
	size_t ncaptures;
	size_t max_examples;	  /* example flow_ids per finding (default 5, at most 32) */
	uint64_t min_count;	  /* report a finding from this many occurrences (default 1) */
	int64_t race_gap_ns;	  /* two queries of one socket this close are a pair (10 ms) */
	int64_t race_retry_ns;	  /* ... and a retry this much later is the resolver's (1 s) */
	int64_t slow_upstream_ns; /* an upstream whose p90 latency is above this is slow (250 ms) */
	uint64_t slow_min_samples; /* answered tries before slowness is judged (20) */
	uint64_t storm_min;	   /* NXDOMAIN per minute per pod for a storm (120) */
	double storm_factor;	   /* ... and this many times its usual rate (10) */
	uint64_t hot_min;	   /* queries per minute for one name to be hot (600) */
	double hot_factor;	   /* ... and this many times its usual rate (10) */
};

struct dnsreel_diag;

/* ctx is the merge's context (pods, netns, capture metadata); it must outlive d. opts may be
 * NULL (defaults). Returns 0, DNSREEL_E_ARG or -ENOMEM. Free with dnsreel_diag__free(). */
int dnsreel_diag__new(struct dnsreel_diag **out, const struct dnsreel_ctx *ctx,
		      const struct dnsreel_diag_opts *opts);
/* Every decoded message, in time order, before it goes to flow reconstruction (message sizes,
 * EDNS buffer sizes and TCP retries are read here). Returns 0 or -ENOMEM. */
int dnsreel_diag__rec(struct dnsreel_diag *d, const struct dnsreel_rec *rec);
/* Every flow, from the flows callback (flows without events suffice). 0 or -ENOMEM. */
int dnsreel_diag__flow(struct dnsreel_diag *d, const struct dnsreel_flow *f);
/* A capture's cumulative counter (dnsreel_capr__counter_at()): "lost.*" ones are the
 * recorder's losses. capture is the merge's input number. 0 or -ENOMEM. */
int dnsreel_diag__counter(struct dnsreel_diag *d, uint32_t capture, const char *name,
			  uint64_t value);
/* Frames of capture that could not be read (dnsreel_merge_stats.frames_bad): events in them
 * are missing from the flows too. 0 or -ENOMEM. */
int dnsreel_diag__damaged(struct dnsreel_diag *d, uint32_t capture, uint64_t frames);
/* End of stream: closes open buckets and builds the findings, most severe first (then by
 * count, then id and subject). After it only the readers below may be called. 0 or -ENOMEM. */
int dnsreel_diag__finish(struct dnsreel_diag *d);

size_t dnsreel_diag__finding_count(const struct dnsreel_diag *d);
/* NULL past the end. */
const struct dnsreel_finding *dnsreel_diag__finding_at(const struct dnsreel_diag *d, size_t i);

/* Totals over what was fed, for summaries. */
struct dnsreel_diag_stats {
	uint64_t recs;	       /* messages fed */
	uint64_t flows;	       /* flows fed */
	uint64_t client_flows; /* of them, sent by a client (not a forwarder's own) */
	uint64_t lookups;
	uint64_t answered, unanswered;
	uint64_t dropped_keys; /* keys a full table could not track (counts still in totals) */
	int64_t first_wall_ns, last_wall_ns;
};
void dnsreel_diag__stats(const struct dnsreel_diag *d, struct dnsreel_diag_stats *st);

/* The findings as one JSON object (schema in dnsreel-diagnose(1)), newline-terminated.
 * 0 or -EIO. */
int dnsreel_diag__json(const struct dnsreel_diag *d, FILE *out);
/* The findings as text for a person: a block per finding. 0 or -EIO. */
int dnsreel_diag__text(const struct dnsreel_diag *d, FILE *out);

void dnsreel_diag__free(struct dnsreel_diag *d);

#endif
