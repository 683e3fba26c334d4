/* pcapng export of replayed DNS traffic, for Wireshark and tshark.
 *
 * One interface (IDB) per (capture, netns, ifindex), named after its pod or netns, with the
 * context as key=value pairs in if_description; link type LINUX_SLL2 so direction (packet
 * type) and interface index survive; nanosecond timestamps (if_tsresol 9). Packets are rebuilt
 * with IPv4/IPv6 and UDP/TCP headers and valid checksums around the stored DNS bytes; each
 * carries a comment with netns, pod, process and packet type, epb_flags with the direction,
 * and the process/thread id option where the process is known.
 */
#ifndef DNSREEL_PCAPNG_H
#define DNSREEL_PCAPNG_H

#include <stdint.h>
#include <stdio.h>

#include "view.h"

struct dnsreel_pcapng;

/* Writes the section header to f (not closed by the writer). ctx gives names and context;
 * capture_names (may be NULL) label interfaces when several captures are merged. */
int dnsreel_pcapng__new(struct dnsreel_pcapng **out, FILE *f, const struct dnsreel_ctx *ctx,
			size_t ncaptures, const char *const *capture_names);
/* One original packet (a UDP datagram or a TCP segment with its sequence number). */
int dnsreel_pcapng__event(struct dnsreel_pcapng *w, uint32_t capture,
			  const struct dnsreel_event *ev, int64_t wall_ns);
/* One DNS message: UDP as its datagram; TCP as one segment carrying the length-prefixed
 * message (used when a filter selects messages, so segments of other messages stay out). */
int dnsreel_pcapng__rec(struct dnsreel_pcapng *w, const struct dnsreel_rec *rec);
/* Packets written so far. */
uint64_t dnsreel_pcapng__packets(const struct dnsreel_pcapng *w);
/* Flushes and frees w. Returns 0 or the first write error (-errno). NULL ok. */
int dnsreel_pcapng__close(struct dnsreel_pcapng *w);

#endif
