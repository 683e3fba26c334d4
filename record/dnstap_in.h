/* dnsreel-record --dnstap-socket: a unix socket a local DNS server (unbound, CoreDNS, Knot)
 * sends its dnstap stream to. A thread accepts the server's connection, answers the Frame
 * Streams handshake and decodes each message into an event of the dnstap observation point
 * (capture/FORMAT.md §4.1) in the server's network namespace (from the socket peer's pid); the
 * recording loop takes the queued events with rec_dnstap__drain() and writes them beside the
 * packets. Connections are served one at a time, in order.
 */
#ifndef DNSREEL_RECORD_DNSTAP_IN_H
#define DNSREEL_RECORD_DNSTAP_IN_H

#include <stddef.h>
#include <stdint.h>

#include "capture.h"

struct rec_dnstap;

struct rec_dnstap_stats {
	uint64_t connections; /* accepted */
	uint64_t messages;    /* decoded and queued */
	uint64_t bad;	      /* frames that were no dnstap message, or streams cut by damage */
	uint64_t dropped;     /* the queue was full: the recording loop fell behind */
};

/* Creates the socket at path (a stale socket file there is replaced; any other file is an
 * error), mode 0666 so a server running as its own user can connect, and starts the thread.
 * host_root: prefix of /proc for the peer's netns ("" or NULL = /). boot_to_wall_ns: the
 * capture's offset, so event ts_ns are boot time like the packets'. errbuf says what failed. */
int rec_dnstap__open(struct rec_dnstap **out, const char *path, const char *host_root,
		     int64_t boot_to_wall_ns, char *errbuf, size_t errlen);
/* Hands every queued event to fn (payload valid during the call) in arrival order. Returns 0
 * or fn's first nonzero value. */
int rec_dnstap__drain(struct rec_dnstap *d, int (*fn)(void *arg, const struct dnsreel_event *ev),
		      void *arg);
void rec_dnstap__stats(struct rec_dnstap *d, struct rec_dnstap_stats *st);
/* The last connection problem as a sentence ("" when none); copied into buf. */
void rec_dnstap__last_error(struct rec_dnstap *d, char *buf, size_t len);
/* Ends the connection, stops the thread, removes the socket file; queued events not drained
 * are dropped, so drain once more after stopping with rec_dnstap__stop(). NULL ok. */
void rec_dnstap__stop(struct rec_dnstap *d);
void rec_dnstap__close(struct rec_dnstap *d);

#endif
