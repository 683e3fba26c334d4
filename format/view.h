/* The decoded view of a capture shared by replay, query and record --live: context across
 * captures, DNS-over-TCP reassembly, query/response latency, the trace_dns field table, and
 * -F filters. Decoded fields are derived here from the stored bytes, never stored.
 */
#ifndef DNSREEL_VIEW_H
#define DNSREEL_VIEW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "capture.h"
#include "context.h"
#include "dns.h"
#include "event.h"

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

/* ---- one DNS message at one observation point -------------------------------------------- */

struct dnsreel_rec {
	const struct dnsreel_ctx *ctx;
	const struct dnsreel_event *ev;    /* the packet (TCP: the one completing the message) */
	const struct dnsreel_netns_ctx *ns; /* NULL when the netns is unknown */
	uint32_t capture;                  /* input number */
	uint32_t segment;
	int64_t wall_ns;                   /* ev->ts_ns + the capture's boot->wall offset */
	const uint8_t *msg;                /* DNS message; TCP: reassembled, no length prefix */
	uint32_t msg_len;
	struct dnsreel_dns dns;            /* parsed; dns.err says if it did not all parse */
	int64_t latency_ns;                /* response: time since its query at the same netns and
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
	size_t max_tcp_bytes;     /* buffered TCP bytes over all streams (default 64 MiB) */
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
	DNSREEL_F_ID,  /* 4 hex digits */
	DNSREEL_F_QR,  /* "Q" / "R" */
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
	DNSREEL_F_SIZE,     /* DNS message bytes on the wire */
	DNSREEL_F_CAPTURE,  /* capture path */
	DNSREEL_F_SEGMENT,
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
	int width;          /* column width as trace_dns prints it */
	bool right_align;
};

/* The whole table, indexed by enum dnsreel_field_id. */
const struct dnsreel_field_def *dnsreel_fields(size_t *count);
/* Case-insensitive; accepts '.' or '_' spelling (k8s.podName, k8s_podname). NULL if unknown. */
const struct dnsreel_field_def *dnsreel_field_find(const char *name);

struct dnsreel_value {
	enum dnsreel_ftype type;
	int64_t i;      /* INT and BOOL; for STR fields with a raw number (qtype, rcode,
			 * timestamp, qr) the raw value, see has_raw */
	bool has_raw;
	bool null;      /* unknown (no process context, no k8s context, query rcode) */
	const char *s;  /* STR: text (points into buf or the rec); INT/BOOL: formatted too */
	size_t len;
};
/* Value of a field for rec. buf (>= 128 bytes) holds formatted text when needed. */
void dnsreel_rec__value(const struct dnsreel_rec *rec, enum dnsreel_field_id f,
			struct dnsreel_value *v, char *buf, size_t buflen);

/* ---- filters (-F) ------------------------------------------------------------------------ */

struct dnsreel_filter;

int dnsreel_filter__new(struct dnsreel_filter **out);
void dnsreel_filter__free(struct dnsreel_filter *f);
/* Adds "FIELD OP VALUE", OP one of == != ~ !~ < <= > >= (regex: POSIX ERE, unanchored as
 * trace_dns does). Repeated adds are ANDed. errbuf says what is wrong. */
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
/* RFC 3339 with ns and Z, as trace_dns prints timestamps. */
int dnsreel_format_time(int64_t wall_ns, char *buf, size_t buflen);

#endif
