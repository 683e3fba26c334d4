/* Flow and lookup reconstruction over the decoded event stream (struct dnsreel_rec, fed in time
 * order after decode). A flow is one client transaction and everything it caused: the client's
 * query and its response at every observation point (DNAT and SNAT followed one side at a time,
 * as conntrack rewrites them), retransmissions, and the forwarder's upstream transactions that
 * served it. A lookup groups the flows of one application call (search-path walk, A and AAAA,
 * retries). Hop roles come from the traffic only (pkt_type, netns, addresses).
 *
 * Streaming: a flow is emitted, in client-query time order, once the stream has moved a window
 * past its client query; memory is that of the window, never of the capture.
 */
#ifndef DNSREEL_FLOWS_H
#define DNSREEL_FLOWS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "view.h"

enum dnsreel_flow_role {
	DNSREEL_ROLE_CLIENT,	/* the netns the query left */
	DNSREEL_ROLE_NODE,	/* a netns that passed it on (host, bridge, DNAT) */
	DNSREEL_ROLE_FORWARDER, /* the netns that answered or forwarded the client's query */
	DNSREEL_ROLE_UPSTREAM,	/* the server a forwarder asked */
};
/* "client", "node", "forwarder", "upstream". */
const char *dnsreel_flow_role_name(enum dnsreel_flow_role r);

/* One observation point of one transaction of the flow: where its query (or, when the query was
 * not seen there, its response) was first seen. */
struct dnsreel_flow_hop {
	enum dnsreel_flow_role role;
	uint32_t capture;
	uint64_t netns;
	uint32_t ifindex;
	uint8_t pkt_type;   /* of the first sighting here */
	bool query;	    /* direction: the query was seen here (else only the response) */
	uint16_t id;	    /* DNS id of the transaction */
	size_t transaction; /* 0 = the client's, i > 0 = upstream[i - 1] */
	int64_t wall_ns;    /* first sighting */
	int64_t latency_ns; /* response seen here minus first query here; -1 = none */
	const struct dnsreel_event *event; /* first sighting (endpoints); valid in the callback */
};

/* One upstream transaction a forwarder made for the flow, in the order they were sent. */
struct dnsreel_flow_upstream {
	uint16_t id;
	uint32_t capture;
	uint64_t netns;			   /* the forwarder's netns, which sent it */
	int64_t wall_ns;		   /* sent (first sighting) */
	bool answered;			   /* the forwarder received a response */
	bool used;			   /* the answer the forwarder passed on to the client */
	bool tc;			   /* the response was truncated */
	uint16_t rcode;			   /* valid when answered */
	int64_t latency_ns;		   /* at the forwarder; -1 when unanswered */
	const struct dnsreel_event *query; /* first sighting: dst is the server; callback only */
};

struct dnsreel_flow {
	char flow_id[17];   /* 16 hex digits, stable across runs and filters */
	char lookup_id[17]; /* flow_id of the lookup's first flow */
	int64_t wall_ns;    /* client query (first sighting) */
	const char *name;   /* qname as the client sent it */
	uint16_t qtype, qclass;
	/* The client: where and who sent the first query. */
	enum dnsreel_flow_role client_role; /* CLIENT, or FORWARDER for a forwarder's own query */
	uint32_t capture;
	uint64_t client_netns;
	const struct dnsreel_netns_ctx *client_ns; /* NULL when unknown */
	bool has_proc;				   /* pid and comm are known */
	uint32_t pid;
	char comm[16];
	const struct dnsreel_event
	    *query; /* the client's first query: src = client, dst = server */
	/* Outcome */
	bool answered; /* the client received a response */
	bool tc;       /* ... and it was truncated (the client will ask again over TCP) */
	uint16_t rcode;
	int rcode_origin;   /* enum dnsreel_flow_role that produced a non-Success rcode, or -1 */
	int64_t latency_ns; /* at the client: response minus first query; -1 when unanswered */
	uint32_t retries;   /* retransmissions of the query (same id and port) */
	bool has_lost;	    /* unanswered: where the message was last seen */
	struct {
		bool response;
		uint32_t capture;
		uint64_t netns;
		enum dnsreel_flow_role role;
		int64_t after_ns;
	} lost;
	const struct dnsreel_flow_hop *hops; /* by first sighting */
	size_t nhops;
	const struct dnsreel_flow_upstream *upstream;
	size_t nupstream;
	int slowest_hop;    /* index into hops where the message waited longest, -1 = none */
	int64_t slowest_ns; /* that wait: from a sighting there to the flow's next sighting */
	/* Every event of the flow in time order (opts.events), dns parsed; callback only. */
	const struct dnsreel_rec *events;
	size_t nevents;
	bool matched; /* an event of the flow passed opts.filter (always true without one) */
};

/* Return nonzero to stop: dnsreel_flows__feed()/__flush() return that value. */
typedef int (*dnsreel_flow_fn)(void *arg, const struct dnsreel_flow *f);

struct dnsreel_flows_opts {
	size_t sz;
	int64_t window_ns;     /* emit a flow this long after its client query (default 10 s) */
	int64_t lookup_gap_ns; /* a lookup's next flow comes within this (default 6 s) */
	bool events;	       /* keep the message bytes and hand out events (costs memory) */
	const struct dnsreel_filter *filter; /* sets flow.matched; NULL: every flow matches */
	dnsreel_flow_fn fn;
	void *arg;
};

struct dnsreel_flows_stats {
	uint64_t recs;	       /* fed */
	uint64_t recs_ignored; /* without a question: in no flow */
	uint64_t flows;	       /* emitted */
	uint64_t transactions; /* message groups (client and upstream) */
	uint64_t live_max;     /* most transactions held at once: the memory bound */
};

struct dnsreel_flows;

/* ctx is the replay's context (netns of each capture, capture ids); it must outlive fl.
 * Returns 0, DNSREEL_E_ARG or -ENOMEM. Free with dnsreel_flows__free(). */
int dnsreel_flows__new(struct dnsreel_flows **out, const struct dnsreel_ctx *ctx,
		       const struct dnsreel_flows_opts *opts);
/* One rec, in time order. Emits the flows whose window closed. Returns 0, -ENOMEM, or the
 * callback's nonzero value. */
int dnsreel_flows__feed(struct dnsreel_flows *fl, const struct dnsreel_rec *rec);
/* The stream is idle up to now_wall_ns (following a capture being recorded): emits the flows
 * whose window closed by then, as a later event would. Same returns as __feed. */
int dnsreel_flows__advance(struct dnsreel_flows *fl, int64_t now_wall_ns);
/* End of stream: emits every flow still open. */
int dnsreel_flows__flush(struct dnsreel_flows *fl);
void dnsreel_flows__stats(const struct dnsreel_flows *fl, struct dnsreel_flows_stats *st);
void dnsreel_flows__free(struct dnsreel_flows *fl);

/* ---- flow-level filters: -F outcome==unanswered, -F rcode!=Success ------------------------ */

/* Fields a flow filter knows: outcome (answered|unanswered), rcode (Success, NameError, ...;
 * empty when unanswered), rcode_origin, flow_id, lookup_id, name, qtype, retries, latency_ns,
 * upstreams (count), client.role. */
bool dnsreel_flow_field_known(const char *field);
/* Does the -F term EXPR ("FIELD OP VALUE") select flows by what they ended with (a flow field
 * that is no event field, or rcode: the client's answer) rather than events? Tools that take
 * one -F list for both hand such terms to a flow filter, the rest to the event filter. */
bool dnsreel_flow_term(const char *expr);
/* The upstream transaction whose answer counts: the used one, else the last answered, else
 * the first try; NULL without upstreams. */
const struct dnsreel_flow_upstream *dnsreel_flow_counted_upstream(const struct dnsreel_flow *f);
/* The forwarder of the flow: the netns that received the client's query and answered or
 * forwarded it, or the client itself when the forwarder asked on its own. false: none. */
bool dnsreel_flow_forwarder(const struct dnsreel_flow *f, uint32_t *capture, uint64_t *netns);
/* The frames a reconstruction must read to give whole flows for the time window
 * [since_ns, until_ns] (0 = open; both 0: *out = NULL, read everything): a flow with an event
 * inside the window has all its events within one flow window (flow_window_ns, 0 = the
 * default) of it, and its lookup's earlier flows within two lookup gaps. 0 or -ENOMEM. */
int dnsreel_flow_span__new(struct dnsreel_filter **out, int64_t flow_window_ns, int64_t since_ns,
			   int64_t until_ns);

struct dnsreel_flow_filter;
int dnsreel_flow_filter__new(struct dnsreel_flow_filter **out);
void dnsreel_flow_filter__free(struct dnsreel_flow_filter *ff);
/* "FIELD OP VALUE" as dnsreel_filter__add() takes it; ANDed. errbuf says what is wrong.
 * 0, DNSREEL_E_PARSE or -ENOMEM. */
int dnsreel_flow_filter__add(struct dnsreel_flow_filter *ff, const char *expr, char *errbuf,
			     size_t errlen);
bool dnsreel_flow_filter__match(const struct dnsreel_flow_filter *ff, const struct dnsreel_flow *f);

/* ---- printers ----------------------------------------------------------------------------- */

/* The JSON forms follow replay's for events: json and jsonl one object per line, jsonpretty
 * each indented, jsonarray one array. */
enum dnsreel_flow_output {
	DNSREEL_FLOW_OUT_TREE,	     /* one block per flow: client line, indented hops, outcome */
	DNSREEL_FLOW_OUT_JSON,	     /* one flow object per line */
	DNSREEL_FLOW_OUT_JSONL,	     /* the same, by its JSON Lines name */
	DNSREEL_FLOW_OUT_CSV,	     /* one row per flow */
	DNSREEL_FLOW_OUT_MERMAID,    /* one sequenceDiagram per flow */
	DNSREEL_FLOW_OUT_JSONARRAY,  /* one array of flow objects */
	DNSREEL_FLOW_OUT_JSONPRETTY, /* one indented object per flow */
};
/* "tree" | "json" | "jsonl" | "jsonarray" | "jsonpretty" | "csv" | "mermaid" -> *out.
 * 0 or DNSREEL_E_ARG. */
int dnsreel_flow_output_parse(const char *s, enum dnsreel_flow_output *out);

struct dnsreel_flow_printer;
struct dnsreel_flow_printer_opts {
	size_t sz;
	enum dnsreel_flow_output output;
	bool no_header; /* csv */
	bool no_events; /* json forms: leave out "events" */
	FILE *out;	/* NULL = stdout; not closed */
};
/* The flows printed must carry events (dnsreel_flows_opts.events) for the JSON "events" and
 * for mermaid.
 * 0, DNSREEL_E_ARG or -ENOMEM; free with dnsreel_flow_printer__close(). */
int dnsreel_flow_printer__new(struct dnsreel_flow_printer **out, const struct dnsreel_ctx *ctx,
			      const struct dnsreel_flow_printer_opts *o);
/* 0 or -errno when writing failed. */
int dnsreel_flow_printer__print(struct dnsreel_flow_printer *p, const struct dnsreel_flow *f);
/* Ends the JSON array, flushes, frees. Returns 0 or the first write error. NULL ok. */
int dnsreel_flow_printer__close(struct dnsreel_flow_printer *p);

#endif
