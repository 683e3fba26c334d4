/* libdnsreel_view: the decoded view of captures, shared by replay, query, flows and record
 * --live: context across captures, DNS-over-TCP reassembly, query/response latency, the
 * trace_dns field table, -F filters, time parsing, the printers, and the merge of several
 * captures onto one time line. Decoded fields are derived here from the stored bytes, never
 * stored. Beneath it: the capture container (capture.h) and the DNS wire parser (dns.h).
 */
#ifndef DNSREEL_VIEW_H
#define DNSREEL_VIEW_H

#include <stdbool.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "capture.h"
#include "dns.h"

/* ---- context across one or more captures ------------------------------------------------ */

struct dnsreel_ctx;

int dnsreel_ctx__new(struct dnsreel_ctx **out);
void dnsreel_ctx__free(struct dnsreel_ctx *c);
/* Loads node name, boot->wall offset, netns, services of capture r as input number capture. */
int dnsreel_ctx__add_capture(struct dnsreel_ctx *c, uint32_t capture, const struct dnsreel_capr *r);
/* Live use (record --live): the same, fed piecemeal. Copied; upserts. */
int dnsreel_ctx__set_meta(struct dnsreel_ctx *c, uint32_t capture, const struct dnsreel_meta *m);
int dnsreel_ctx__put_netns(struct dnsreel_ctx *c, uint32_t capture,
			   const struct dnsreel_netns_ctx *ns);
int dnsreel_ctx__put_service(struct dnsreel_ctx *c, uint32_t capture,
			     const struct dnsreel_service_ctx *svc);
const struct dnsreel_netns_ctx *dnsreel_ctx__netns(const struct dnsreel_ctx *c, uint32_t capture,
						   uint64_t netns);
const struct dnsreel_meta *dnsreel_ctx__meta(const struct dnsreel_ctx *c, uint32_t capture);

/* What an address is: a pod ('p', from netns ips), a service ('s'), or unknown (0). */
struct dnsreel_endpoint {
	char kind;
	const char *k8s_namespace;
	const char *name;
};
void dnsreel_ctx__endpoint(const struct dnsreel_ctx *c, uint32_t capture, uint8_t ip_version,
			   const uint8_t addr[16], uint16_t port, struct dnsreel_endpoint *ep);
/* The same at boot time ts_ns of that capture: a pod address names the pod that had it then
 * (the newest netns first seen by ts_ns), as pods come and go and their IPs are reused. */
void dnsreel_ctx__endpoint_at(const struct dnsreel_ctx *c, uint32_t capture, uint8_t ip_version,
			      const uint8_t addr[16], uint16_t port, int64_t ts_ns,
			      struct dnsreel_endpoint *ep);

/* ---- one DNS message at one observation point -------------------------------------------- */

struct dnsreel_rec {
	const struct dnsreel_ctx *ctx;
	const struct dnsreel_event *ev;	    /* the packet (TCP: the one completing the message) */
	const struct dnsreel_netns_ctx *ns; /* NULL when the netns is unknown */
	uint32_t capture;		    /* input number */
	uint32_t segment;
	int64_t wall_ns;    /* ev->ts_ns + the capture's boot->wall offset */
	const uint8_t *msg; /* DNS message; TCP: reassembled, no length prefix */
	uint32_t msg_len;
	struct dnsreel_dns dns; /* parsed; dns.err says if it did not all parse */
	int64_t latency_ns;	/* response: time since its query at the same netns and
				 * interface (reversed endpoints, same id); else 0 */
};

/* Turns events (fed in time order) into recs: UDP payloads directly, TCP through per-stream
 * reassembly (RFC 7766 length prefix, split and coalesced messages, retransmissions), with
 * latency matched. Memory is bounded: old streams and unanswered queries expire. */
struct dnsreel_decoder;
typedef int (*dnsreel_rec_fn)(void *arg, const struct dnsreel_rec *rec);

struct dnsreel_decoder_opts {
	size_t sz;
	int64_t query_timeout_ns; /* forget unanswered queries after this (default 30 s) */
	size_t max_tcp_bytes;	  /* buffered TCP bytes over all streams (default 64 MiB) */
};
int dnsreel_decoder__new(struct dnsreel_decoder **out, const struct dnsreel_ctx *ctx,
			 const struct dnsreel_decoder_opts *opts);
/* Emits 0..n recs for ev through fn; a nonzero return of fn stops and is returned. */
int dnsreel_decoder__feed(struct dnsreel_decoder *d, uint32_t capture, uint32_t segment,
			  const struct dnsreel_event *ev, dnsreel_rec_fn fn, void *arg);
void dnsreel_decoder__free(struct dnsreel_decoder *d);

/* ---- fields ------------------------------------------------------------------------------ */

/* Every field a rec has. Names follow trace_dns ("k8s.podname"); SQL names turn '.' into '_'. */
enum dnsreel_field_id {
	DNSREEL_F_TIMESTAMP, /* RFC 3339 ns text; raw: ns since epoch */
	DNSREEL_F_K8S_NODE,
	DNSREEL_F_K8S_NAMESPACE,
	DNSREEL_F_K8S_PODNAME,
	DNSREEL_F_K8S_CONTAINERNAME,
	DNSREEL_F_RUNTIME_CONTAINERNAME,
	DNSREEL_F_RUNTIME_CONTAINERID,
	DNSREEL_F_NETNS_ID,
	DNSREEL_F_IFINDEX,
	DNSREEL_F_PKT_TYPE,
	DNSREEL_F_PROTO,
	DNSREEL_F_SRC, /* "10.244.0.4:51340" or "p/ns/pod:port" */
	DNSREEL_F_DST,
	DNSREEL_F_SRC_ADDR,
	DNSREEL_F_SRC_PORT,
	DNSREEL_F_DST_ADDR,
	DNSREEL_F_DST_PORT,
	DNSREEL_F_NAMESERVER, /* the server side address: dst of a query, src of a response */
	DNSREEL_F_COMM,
	DNSREEL_F_PID,
	DNSREEL_F_TID,
	DNSREEL_F_UID,
	DNSREEL_F_GID,
	DNSREEL_F_ID, /* 4 hex digits */
	DNSREEL_F_QR, /* "Q" / "R" */
	DNSREEL_F_OPCODE,
	DNSREEL_F_QTYPE,
	DNSREEL_F_NAME,
	DNSREEL_F_RCODE, /* empty for queries */
	DNSREEL_F_ADDRESSES,
	DNSREEL_F_NUM_ANSWERS,
	DNSREEL_F_LATENCY_NS,
	DNSREEL_F_TC,
	DNSREEL_F_RD,
	DNSREEL_F_RA,
	DNSREEL_F_AA,
	DNSREEL_F_AD,
	DNSREEL_F_CD,
	DNSREEL_F_SIZE,	   /* DNS message bytes on the wire */
	DNSREEL_F_CAPTURE, /* capture path */
	DNSREEL_F_SEGMENT,
	DNSREEL_F_OBSERVATION,	   /* "wire" (a packet) or "dnstap" (a server's own report) */
	DNSREEL_F_DNSTAP_TYPE,	   /* dnstap message type ("CLIENT_QUERY"); empty for packets */
	DNSREEL_F_DNSTAP_IDENTITY, /* the reporting server's identity; empty for packets */
	DNSREEL_F_COUNT_
};

enum dnsreel_ftype {
	DNSREEL_FT_STR,
	DNSREEL_FT_INT, /* int64 */
	DNSREEL_FT_BOOL,
};

struct dnsreel_field_def {
	enum dnsreel_field_id id;
	const char *name;   /* "k8s.podname" */
	const char *header; /* "K8S.PODNAME" */
	enum dnsreel_ftype type;
	int width; /* column width as trace_dns prints it */
	bool right_align;
};

/* The whole table, indexed by enum dnsreel_field_id. */
const struct dnsreel_field_def *dnsreel_fields(size_t *count);
/* Case-insensitive; accepts '.' or '_' spelling (k8s.podName, k8s_podname). NULL if unknown. */
const struct dnsreel_field_def *dnsreel_field_find(const char *name);

struct dnsreel_value {
	enum dnsreel_ftype type;
	int64_t i; /* INT and BOOL; for STR fields with a raw number (qtype, rcode,
		    * timestamp, qr) the raw value, see has_raw */
	bool has_raw;
	bool null;     /* unknown (no process context, no k8s context, query rcode) */
	const char *s; /* STR: text (points into buf or the rec); INT/BOOL: formatted too */
	size_t len;
};
/* dnstap message type name ("AUTH_QUERY" = 1 ... "UPDATE_RESPONSE" = 14); "" otherwise. */
const char *dnsreel_dnstap_type_name(unsigned type);

/* Value of a field for rec. buf (>= 128 bytes) holds formatted text when needed. */
void dnsreel_rec__value(const struct dnsreel_rec *rec, enum dnsreel_field_id f,
			struct dnsreel_value *v, char *buf, size_t buflen);

/* ---- filters (-F) ------------------------------------------------------------------------ */

struct dnsreel_filter;

int dnsreel_filter__new(struct dnsreel_filter **out);
void dnsreel_filter__free(struct dnsreel_filter *f);
/* Adds "FIELD OP VALUE", OP one of == != ~ !~ < <= > >= (regex: PCRE2 syntax, unanchored as
 * trace_dns does, matched without backtracking; back-references are refused, patterns are at
 * most 1024 bytes). Repeated adds are ANDed. errbuf says what is wrong. */
int dnsreel_filter__add(struct dnsreel_filter *f, const char *expr, char *errbuf, size_t errlen);
/* -n/-p/-c style: field equals any of the comma-separated values. */
int dnsreel_filter__add_any_of(struct dnsreel_filter *f, enum dnsreel_field_id field,
			       const char *csv, char *errbuf, size_t errlen);
/* Time window on wall clock ns (0 = open). */
void dnsreel_filter__set_window(struct dnsreel_filter *f, int64_t since_wall_ns,
				int64_t until_wall_ns);
bool dnsreel_filter__empty(const struct dnsreel_filter *f);
bool dnsreel_filter__match(const struct dnsreel_filter *f, const struct dnsreel_rec *rec);
/* Pushdown: fills p with what the filter implies for capture (time window, name==, netns_id==,
 * netns of -n/-p/-c matches via ctx, qr==, rcode==). Storage for p->netns is owned by f.
 * Nothing can match: since_wall_ns = INT64_MAX. Netns terms that an unknown netns could pass
 * (k8s.podname!=x) give no netns list. Caveat: frames skipped for qr==/rcode== or the window
 * may hold the query of a response that is kept, whose latency_ns is then 0; a caller that
 * shows latency can clear qr_mask/rcode_mask (TCP streams crossing skipped frames resync). */
void dnsreel_filter__prune(struct dnsreel_filter *f, const struct dnsreel_ctx *ctx,
			   uint32_t capture, struct dnsreel_prune *p);

/* "2026-11-26T08:00:00Z", "2026-11-26T08:00:00.5+01:00", "-10m", "1h" (ago), "now",
 * or plain ns since epoch. */
int dnsreel_parse_time(const char *s, int64_t now_wall_ns, int64_t *out_wall_ns);
/* A tool's --since/--until (either may be NULL: open): both read as dnsreel_parse_time does,
 * an inverted window refused. 0, or DNSREEL_E_ARG with errbuf naming the option at fault. */
int dnsreel_window_parse(const char *since, const char *until, int64_t now_wall_ns,
			 int64_t *since_ns, int64_t *until_ns, char *errbuf, size_t errlen);
/* RFC 3339 with ns and Z, as trace_dns prints timestamps. */
int dnsreel_format_time(int64_t wall_ns, char *buf, size_t buflen);

/* ---- printers ---------------------------------------------------------------------------- */

/* Printers for decoded DNS records (struct dnsreel_rec) in the output formats trace_dns users
 * know: aligned columns, JSON (an object per event, on one line or indented, or one array),
 * and CSV. Shared by dnsreel-replay and dnsreel-record --live. Output is buffered inside the
 * printer; it reaches the FILE on dnsreel_printer__flush(), when the buffer fills, at close,
 * and after every record when the stream is a terminal (so a live view is not delayed).
 */

enum dnsreel_output {
	DNSREEL_OUT_COLUMNS,
	DNSREEL_OUT_JSON,  /* one JSON object per event, one per line (as ig -o json) */
	DNSREEL_OUT_JSONL, /* the same, by its JSON Lines name */
	DNSREEL_OUT_CSV,
	DNSREEL_OUT_JSONARRAY,	/* one JSON array of every event */
	DNSREEL_OUT_JSONPRETTY, /* one indented object per event (as ig -o jsonpretty) */
};

struct dnsreel_printer;

struct dnsreel_printer_opts {
	size_t sz; /* sizeof(struct dnsreel_printer_opts) */
	enum dnsreel_output output;
	/* Columns (columns, csv) or keys (json, jsonl) to print, copied. NULL = defaults:
	 * columns: trace_dns's default columns; csv: timestamp plus every trace_dns field;
	 * json/jsonl: the full trace_dns JSON layout (nested src, dst, proc, k8s, ...). With
	 * fields given, json/jsonl print a flat object keyed by field name. */
	const enum dnsreel_field_id *fields;
	size_t nfields;
	bool wide;	 /* columns: never cut long values */
	bool no_resolve; /* columns, csv: src/dst as IP:PORT, not p/NS/POD:PORT or s/NS/SVC */
	bool no_header;	 /* columns and csv: no header row */
	FILE *out;	 /* NULL = stdout; not closed by the printer */
};

/* Creates a printer. Returns 0, DNSREEL_E_ARG (bad output or field id), or -ENOMEM.
 * *out is owned by the caller: release with dnsreel_printer__close(). */
int dnsreel_printer__new(struct dnsreel_printer **out, const struct dnsreel_printer_opts *o);
/* Formats one record. Returns 0 or -errno when writing to the stream failed. */
int dnsreel_printer__print(struct dnsreel_printer *p, const struct dnsreel_rec *rec);
/* Writes buffered output to the stream and fflush()es it. 0 or -errno. */
int dnsreel_printer__flush(struct dnsreel_printer *p);
/* Ends a JSON array (an empty "[]" when nothing was printed), flushes and frees p, even on
 * error. NULL ok. Returns 0 or the first write error seen. */
int dnsreel_printer__close(struct dnsreel_printer *p);

/* JSON string: writes s (n bytes) quoted, with '"', '\\' and control characters escaped, at d
 * (room for 6 * n + 2 bytes). Returns the end of what was written. */
char *dnsreel_json_str(char *d, const char *s, size_t n);
/* The same to a stream. 0, -ENOMEM or -EIO. */
int dnsreel_json_fputs(FILE *o, const char *s);
/* One-line JSON text src (n bytes, as the printers write it) indented by two spaces per level
 * at d, or only measured when d is NULL. Returns the length of the indented text. */
size_t dnsreel_json_indent(const char *src, size_t n, char *d);

/* "columns" | "json" | "jsonl" | "jsonarray" | "jsonpretty" | "csv" -> *out. 0 or DNSREEL_E_ARG. */
int dnsreel_output_parse(const char *s, enum dnsreel_output *out);
/* "name,k8s.podName, src" -> field ids (case-insensitive, '.' or '_', spaces ignored).
 * At most max ids; *n receives the count. On an unknown or empty name or too many names
 * returns DNSREEL_E_ARG (DNSREEL_E_LIMIT when over max) and writes why into err. */
int dnsreel_fields_parse(const char *csv, enum dnsreel_field_id *ids, size_t max, size_t *n,
			 char *err, size_t errlen);

/* trace_dns's default columns (k8s.node ... addresses), for callers that want to extend them. */
const enum dnsreel_field_id *dnsreel_default_columns(size_t *n);

/* Formats wall_ns as RFC 3339 UTC with 9 fraction digits and Z
 * ("2024-08-30T15:43:35.463173731Z"). buf needs >= 31 bytes. Returns the length. Faster than
 * dnsreel_format_time() for streams of nearby times: the calendar part is cached per second. */
struct dnsreel_timefmt {
	int64_t sec;
	char date[24];
};
size_t dnsreel_timefmt(struct dnsreel_timefmt *cache, int64_t wall_ns, char *buf);

/* ---- the merge of captures by time ----------------------------------------------------- */

/* The merge: puts one or more captures onto one wall-clock time line and pushes the
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

struct dnsreel_merge;

/* Every merged event, before decoding (pcapng export of the original packets). */
typedef int (*dnsreel_event_fn)(void *arg, uint32_t capture, uint32_t segment,
				const struct dnsreel_event *ev, int64_t wall_ns);

struct dnsreel_merge_stats {
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

struct dnsreel_merge_opts {
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
	void (*tick)(void *arg, const struct dnsreel_merge_stats *st, bool idle);
	void *tick_arg;
	uint32_t capr_flags; /* enum dnsreel_capr_flags for every capture */
};

/* Opens every capture (a capture whose index is unreadable is scanned from its segments) and
 * builds the shared context. On failure returns the reader's error (DNSREEL_E_VERSION for a
 * newer format, DNSREEL_E_NOTCAPTURE, ...) and writes a message naming the path into err.
 * Paths are not copied: they must outlive the replay. */
int dnsreel_merge__open(struct dnsreel_merge **out, const char *const *paths, size_t n,
			const struct dnsreel_merge_opts *opts, char *err, size_t errlen);
/* Runs the merge to the end (or, following, until *stop). Returns 0, or the first nonzero
 * value a sink returned, or a negative error. Damaged frames are not errors here: they are
 * reported through the problem callback and counted in stats.frames_bad. */
int dnsreel_merge__run(struct dnsreel_merge *r);
void dnsreel_merge__stats(const struct dnsreel_merge *r, struct dnsreel_merge_stats *st);
/* Inside rec_fn (and event_fn): the catalog frame index of the event being decoded and its
 * position in that frame, as the query dns table's event_id names it. */
void dnsreel_merge__position(const struct dnsreel_merge *r, uint64_t *frame, uint32_t *event);
const struct dnsreel_ctx *dnsreel_merge__ctx(const struct dnsreel_merge *r);
size_t dnsreel_merge__capture_count(const struct dnsreel_merge *r);
struct dnsreel_capr *dnsreel_merge__capr(const struct dnsreel_merge *r, uint32_t capture);
void dnsreel_merge__close(struct dnsreel_merge *r);

#endif
