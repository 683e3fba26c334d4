/* libdnsreel_dnstap: dnstap (https://dnstap.info) in and out. Messages are the dnstap protobuf
 * schema (dnstap.proto beside this file, compiled with protoc-c), framed by Frame Streams
 * (libfstrm) with content type "protobuf:dnstap.Dnstap".
 *
 * Out: one dnstap Message per decoded event (struct dnsreel_rec), its type chosen by the caller
 * (replay takes it from the flows). In: a Frame Streams stream, a file or a DNS server's
 * socket, read message by message and turned into capture events of their own observation
 * point: pkt_type DNSREEL_PKT_DNSTAP, flag DNSREEL_EV_DNSTAP, ifindex = the dnstap message type,
 * comm = the server identity (capture/FORMAT.md §4.1).
 */
#ifndef DNSREEL_DNSTAP_H
#define DNSREEL_DNSTAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "capture.h"
#include "flows.h"
#include "view.h"

/* dnstap Message.Type values: odd ones are queries, the next even one their response. */
enum dnsreel_dnstap_type {
	DNSREEL_DNSTAP_AUTH_QUERY = 1,
	DNSREEL_DNSTAP_AUTH_RESPONSE = 2,
	DNSREEL_DNSTAP_RESOLVER_QUERY = 3,
	DNSREEL_DNSTAP_RESOLVER_RESPONSE = 4,
	DNSREEL_DNSTAP_CLIENT_QUERY = 5,
	DNSREEL_DNSTAP_CLIENT_RESPONSE = 6,
	DNSREEL_DNSTAP_FORWARDER_QUERY = 7,
	DNSREEL_DNSTAP_FORWARDER_RESPONSE = 8,
	DNSREEL_DNSTAP_STUB_QUERY = 9,
	DNSREEL_DNSTAP_STUB_RESPONSE = 10,
	DNSREEL_DNSTAP_TOOL_QUERY = 11,
	DNSREEL_DNSTAP_TOOL_RESPONSE = 12,
	DNSREEL_DNSTAP_UPDATE_QUERY = 13,
	DNSREEL_DNSTAP_UPDATE_RESPONSE = 14,
	DNSREEL_DNSTAP_TYPE_MAX = 14,
};
/* Names: dnsreel_dnstap_type_name() of view.h. */

#define DNSREEL_DNSTAP_CONTENT_TYPE "protobuf:dnstap.Dnstap"

/* ---- writer ------------------------------------------------------------------------------ */

struct dnsreel_dnstap_writer;

struct dnsreel_dnstap_writer_opts {
	size_t sz;
	FILE *out;	     /* the Frame Streams file; not closed */
	const char *version; /* Dnstap.version of every message (NULL: none) */
};

/* Writes the Frame Streams START frame. 0, DNSREEL_E_ARG, -ENOMEM or -EIO. */
int dnsreel_dnstap_writer__new(struct dnsreel_dnstap_writer **out,
			       const struct dnsreel_dnstap_writer_opts *o);
/* One message for rec as a message of type (enum dnsreel_dnstap_type). identity (NULL: none)
 * is the Dnstap.identity. Queries (odd types) carry the message as query_message from src to
 * dst at the rec's time; responses as response_message, their query time from latency_ns when
 * known. 0, DNSREEL_E_ARG, -ENOMEM or -EIO. */
int dnsreel_dnstap_writer__rec(struct dnsreel_dnstap_writer *w, const struct dnsreel_rec *rec,
			       unsigned type, const char *identity);
/* Writes the STOP frame, flushes, frees w even on error. NULL ok. 0 or -EIO. */
int dnsreel_dnstap_writer__close(struct dnsreel_dnstap_writer *w);

/* The dnstap type of event i of flow f (f->events): the client's transaction, at every point it
 * was seen, CLIENT_QUERY/RESPONSE; a forwarder's upstream transaction FORWARDER_QUERY/RESPONSE.
 * A message a server reported over dnstap keeps its own type (it takes part in no flow). */
unsigned dnsreel_dnstap_flow_type(const struct dnsreel_flow *f, size_t i);
/* Outside any flow (no question, a response to a query never seen): TOOL_QUERY/RESPONSE, or
 * the event's own type when a server reported it over dnstap. */
unsigned dnsreel_dnstap_rec_type(const struct dnsreel_rec *rec);

/* ---- messages in --------------------------------------------------------------------------- */

/* One received dnstap message as a capture event. payload and identity point into the
 * message and stay valid until the next decode or dnsreel_dnstap_msg__free(). */
struct dnsreel_dnstap_msg {
	unsigned type;			  /* enum dnsreel_dnstap_type */
	char identity[DNSREEL_SHORT_LEN]; /* cut; the event's comm holds its first 15 bytes */
	int64_t wall_ns;	 /* when the server saw it: query time of a query, else response */
	int64_t query_wall_ns;	 /* the query time the server reported (0: none) */
	struct dnsreel_event ev; /* ts_ns = wall_ns - boot_to_wall_ns given to decode */
	void *priv;
};

/* Decodes one Frame Streams data frame (a packed Dnstap) into m, replacing what it held.
 * boot_to_wall_ns: the capture's offset, so that ev.ts_ns + it = the reported wall time.
 * DNSREEL_E_PARSE with why in err when the bytes are not a dnstap message or it carries no DNS
 * message or no time; -ENOMEM. */
int dnsreel_dnstap_msg__decode(struct dnsreel_dnstap_msg *m, const uint8_t *buf, size_t len,
			       int64_t boot_to_wall_ns, char *err, size_t errlen);
void dnsreel_dnstap_msg__free(struct dnsreel_dnstap_msg *m);

/* A Frame Streams reader over a file descriptor: a file (unidirectional), or a connected
 * socket of a DNS server (bidirectional: the READY/ACCEPT/START handshake is answered). */
struct dnsreel_dnstap_reader;

/* Reads the control frames up to START and checks the content type. fd is not closed. On
 * failure returns DNSREEL_E_CORRUPT or DNSREEL_E_TRUNCATED with err naming the byte offset. */
int dnsreel_dnstap_reader__open(struct dnsreel_dnstap_reader **out, int fd, bool bidirectional,
				char *err, size_t errlen);
/* The next data frame: 1 with *data, *len (valid until the next call), 0 at the end of the
 * stream (STOP, or the socket closed), DNSREEL_E_CORRUPT or DNSREEL_E_TRUNCATED with err naming
 * the offset. *offset (may be NULL) receives the frame's byte offset in the stream. */
int dnsreel_dnstap_reader__next(struct dnsreel_dnstap_reader *r, const uint8_t **data, size_t *len,
				uint64_t *offset, char *err, size_t errlen);
void dnsreel_dnstap_reader__close(struct dnsreel_dnstap_reader *r);

#endif
