/* Internals of the flows library shared by flows.c (transactions, feeding), lookup.c (lookup
 * grouping) and emit.c (roles, outcome, the flow handed to the caller). Not installed. */
#ifndef DNSREEL_FLOWS_INT_H
#define DNSREEL_FLOWS_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "flows.h"

#define DEFAULT_WINDOW_NS     (10 * 1000000000LL)
#define DEFAULT_LOOKUP_GAP_NS (6 * 1000000000LL)

enum key_kind {
	K_QSRC = 1, /* query source endpoint */
	K_QDST,	    /* query destination endpoint */
	K_PEND,	    /* query received in a netns, question only */
	K_SENT,	    /* upstream try sent from a netns and not yet answered there */
};

/* One sighting, compact: the window holds millions of them. The whole event is kept (in
 * tx.full) only where it is shown: the first sighting at each observation point, the client's
 * process, and every sighting when the caller wants events. */
struct obs {
	int64_t wall;
	uint64_t netns;
	uint32_t capture;
	uint32_t ifindex;
	uint32_t pid;
	int32_t full; /* index into tx.full, -1 = none */
	uint16_t src_port;
	uint16_t rcode;
	uint8_t pkt_type, qr, tc, proc;
};

struct full {
	struct dnsreel_event ev;
	uint8_t *msg; /* owned copy when opts.events */
	uint32_t msg_len, segment;
	int64_t latency;
};

struct tx;
struct sighting;

struct hent {
	uint64_t key;
	struct hent *next, **pprev; /* pprev: O(1) unlink */
	struct tx *tx;
};

struct lookup {
	uint64_t key;
	struct lookup *next;
	char id[17];
	char *stem; /* the labels every name of the lookup starts with */
	char *prev; /* the last name */
	int64_t last;
	uint32_t pending;
	bool done;
	int64_t done_at; /* when the answer that ended it reached the client */
	/* The questions asked: one asked again after its answer, or again within a second while
	 * the first is unanswered (too soon for a retry), is another call. */
	struct {
		uint64_t qhash;
		int64_t ts;
		bool answered, truncated; /* truncated: the retry over TCP may follow at once */
	} asked[16];
	uint32_t nasked;
};

#define RETRY_MIN_NS 1000000000LL
/* A resolver asks A and AAAA of a name together, but may send the second only once the first
 * is answered: a finished lookup still takes the other type of its last name this long. */
#define COMPANION_NS 200000000LL

struct tx {
	struct tx *all_next, **all_pprev; /* every live transaction, whoever holds it */
	uint16_t id, qtype, qclass;
	char *name, *lname;
	uint64_t qhash; /* lowercase name, qtype, qclass */
	struct obs *obs;
	size_t nobs, obs_cap;
	struct full *full;
	size_t nfull, full_cap;
	bool proc_kept; /* a sighting with the client's process is in full */
	struct hent **ents;
	size_t nents, ents_cap;
	uint32_t origin_cap;
	uint64_t origin_netns;
	int64_t first;
	bool root, emitted;
	int refs; /* roots holding this upstream transaction, plus one while a root is live */
	/* root only */
	struct tx **up;
	size_t nup, up_cap;
	struct tx *next_root;
	struct tx
	    *inflight; /* a try of the forwarder in flight when this query reached it (held) */
	struct lookup *lookup;
	char flow_id[17];
	char lookup_id[17];
	bool client_answered;
	bool matched;
};

struct dnsreel_flows {
	struct dnsreel_flows_opts o;
	struct tx *all; /* every transaction not yet freed: the end frees what no root holds */
	const struct dnsreel_ctx *ctx;
	struct hent **tab;
	size_t tab_mask, tab_n;
	struct hent *free_hents; /* recycled entries: one malloc per entry is the hot path */
	struct lookup **ltab;
	size_t ltab_mask, ltab_n;
	int64_t last_sweep;
	uint64_t *servers; /* (capture, netns) hashes that sent a response: forwarders */
	size_t nservers, servers_cap;
	struct tx *head, *tail;
	uint64_t live;
	int64_t now;
	struct dnsreel_flows_stats st;
	/* emission scratch */
	struct dnsreel_flow_hop *hops;
	size_t hops_cap;
	struct dnsreel_flow_upstream *ups;
	size_t ups_cap;
	struct dnsreel_rec *recs;
	size_t recs_cap;
	struct sighting *sorted;
	size_t sorted_cap;
};

/* ---- hashing ------------------------------------------------------------------------------ */

static inline uint64_t mix(uint64_t h, uint64_t v)
{
	h ^= v + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2);
	h *= 0xff51afd7ed558ccdULL;
	return h ^ (h >> 33);
}

static inline uint64_t fnv(uint64_t h, const void *p, size_t n)
{
	const uint8_t *b = p;
	for (size_t i = 0; i < n; i++) {
		h ^= b[i];
		h *= 0x100000001b3ULL;
	}
	return h;
}

static inline uint64_t endpoint_hash(uint64_t h, uint8_t ipv, const uint8_t a[16], uint16_t port)
{
	uint64_t w0, w1;
	memcpy(&w0, a, 8);
	memcpy(&w1, a + 8, 8);
	return mix(mix(mix(h, w0), w1), (uint64_t)ipv << 16 | port);
}

static inline uint64_t netns_key(uint32_t cap, uint64_t netns)
{
	return mix(mix(0x51ed, cap), netns);
}

void dnsreel__fl_tx_release(struct dnsreel_flows *fl, struct tx *t);
bool dnsreel__fl_is_server(const struct dnsreel_flows *fl, uint64_t k);
void dnsreel__fl_lookup_free(struct lookup *l);
int dnsreel__fl_grow_ltab(struct dnsreel_flows *fl);
void dnsreel__fl_lookup_sweep(struct dnsreel_flows *fl);
int dnsreel__fl_assign_lookup(struct dnsreel_flows *fl, struct tx *t,
			      const struct dnsreel_rec *rec);
void dnsreel__fl_lookup_drop_if_done(struct dnsreel_flows *fl, struct lookup *l);
void dnsreel__fl_lookup_answered(struct dnsreel_flows *fl, struct tx *t, const struct obs *o);
int dnsreel__fl_emit_ready(struct dnsreel_flows *fl);
/* Before a root is emitted: a flow the forwarder served with no try of its own was served by
 * the try in flight when its query arrived (coalesced); attach that one. */
int dnsreel__fl_settle_inflight(struct dnsreel_flows *fl, struct tx *t);

#endif
