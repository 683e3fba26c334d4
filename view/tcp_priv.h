/* DNS over TCP reassembly (RFC 7766 two-byte length prefix), used by decoder.c. Internal. */
#ifndef DNSREEL_TCP_PRIV_H
#define DNSREEL_TCP_PRIV_H

#include <stddef.h>
#include <stdint.h>

#include "capture.h"

struct dnsreel_tcp;

/* max_bytes: buffered bytes over all streams; idle_ns: a stream silent this long is dropped. */
int dnsreel_tcp__new(struct dnsreel_tcp **out, size_t max_bytes, int64_t idle_ns);
void dnsreel_tcp__free(struct dnsreel_tcp *t);

/* Called once per complete DNS message (without its length prefix). msg is valid only during
 * the call. A nonzero return stops feeding and is returned by dnsreel_tcp__feed(). */
typedef int (*dnsreel_tcp_msg_fn)(void *arg, const uint8_t *msg, uint32_t len);

/* Feeds one TCP event of input capture (events in time order; now_ns is its wall time, used
 * for expiry). */
int dnsreel_tcp__feed(struct dnsreel_tcp *t, uint32_t capture, int64_t now_ns,
		      const struct dnsreel_event *ev, dnsreel_tcp_msg_fn fn, void *arg);

struct dnsreel_tcp_stats {
	size_t streams;	    /* open now */
	size_t bytes;	    /* buffered now */
	uint64_t dup_bytes; /* retransmitted bytes dropped */
	uint64_t gaps;	    /* times bytes were lost (snap length, eviction, far jump) */
	uint64_t evicted;   /* streams dropped for memory */
	uint64_t expired;   /* streams dropped for idleness */
};
void dnsreel_tcp__stats(const struct dnsreel_tcp *t, struct dnsreel_tcp_stats *st);

#endif
