/* Realistic synthetic DNS traffic for tests and benchmarks: kube-style names with ndots search
 * suffixes, A/AAAA/SRV/TXT, NXDOMAIN and SERVFAIL, random ids and ports, query/response pairs,
 * optionally seen at several hops (pod, node, forwarder, upstream). Deterministic from a seed.
 * Messages are real RFC 1035 wire bytes.
 */
#ifndef DNSREEL_SYNTH_H
#define DNSREEL_SYNTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "capture.h"

struct dnsreel_synth;

struct dnsreel_synth_opts {
	uint64_t seed;
	int64_t start_ts_ns;  /* boot ns of the first event (default 1e12) */
	uint32_t qps;         /* client queries per second (default 20000) */
	uint32_t pods;        /* client pods (default 50) */
	bool multi_hop;       /* also emit node, forwarder and upstream copies */
	bool tcp;             /* some transactions over TCP (split and coalesced) */
	uint32_t nxdomain_pct; /* default 20: search-path expansion makes many */
};

int dnsreel_synth__new(struct dnsreel_synth **out, const struct dnsreel_synth_opts *opts);
void dnsreel_synth__free(struct dnsreel_synth *s);
/* Next event in time order. ev->payload stays valid until the next call. */
int dnsreel_synth__next(struct dnsreel_synth *s, struct dnsreel_event *ev);
/* Ground truth of the event next() returned last: the client exchange (flow) it belongs to,
 * numbered from 1 in the order exchanges start; flow2 a second one when the event carries two
 * messages (TCP, coalesced), else 0; the lookup (one application call) numbered likewise. A
 * forwarder's upstream query and its answer belong to the exchange that caused them. */
void dnsreel_synth__truth(const struct dnsreel_synth *s, uint64_t *flow, uint64_t *flow2,
			  uint64_t *lookup);
/* The meta, netns and service contexts the events refer to. */
const struct dnsreel_meta *dnsreel_synth__meta(const struct dnsreel_synth *s);
size_t dnsreel_synth__netns_count(const struct dnsreel_synth *s);
const struct dnsreel_netns_ctx *dnsreel_synth__netns_at(const struct dnsreel_synth *s, size_t i);
size_t dnsreel_synth__service_count(const struct dnsreel_synth *s);
const struct dnsreel_service_ctx *dnsreel_synth__service_at(const struct dnsreel_synth *s,
							     size_t i);
/* Writes a whole capture of n events to dir (contexts included). */
int dnsreel_synth_write_capture(const char *dir, const struct dnsreel_synth_opts *so,
				const struct dnsreel_capw_opts *wo, uint64_t n);

#endif
