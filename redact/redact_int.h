/* The redactor's state, shared by its source files (not a public header). */
#ifndef DNSREEL_REDACT_INT_H
#define DNSREEL_REDACT_INT_H

#include <openssl/evp.h>

#include "redact.h"

/* Direct-mapped caches: a slot is overwritten on collision, so memory stays what it was at
 * open whatever the capture's size. Sizes are powers of two. */
#define DR_ADDR_SLOTS  65536
#define DR_LABEL_SLOTS 8192
#define DR_NAME_SLOTS  4096
#define DR_COMM_SLOTS  1024
#define DR_TCP_SLOTS   4096
#define DR_MSG_SLOTS   4096
#define DR_MSG_IN      512
#define DR_MSG_OUT     1024

struct dr_addr_slot {
	uint8_t ver; /* 0 = empty */
	uint8_t in[16], out[16];
};
struct dr_label_slot {
	uint8_t len; /* 0 = empty */
	uint8_t in[63], out[63];
};
struct dr_name_slot {
	uint16_t inlen, outlen; /* inlen 0 = empty */
	uint8_t in[255], out[256];
};
struct dr_msg_slot {
	uint16_t inlen, outlen; /* inlen 0 = empty */
	uint16_t rrs_dropped, cut, edns_dropped;
	uint8_t in[DR_MSG_IN], out[DR_MSG_OUT];
};
struct dr_comm_slot {
	char in[16], out[16]; /* in[0] 0 = empty */
};
/* A TCP stream direction at one place (netns, interface, packet type, addresses, ports). The
 * output stream is the input's with every whole message rewritten: next_in and next_out are
 * where the next byte lies in each, pend the bytes of a message not yet whole (the segments
 * that carried them go out empty, the message with the segment that completes it), held the
 * segments that came before the bytes preceding them (the capture sorts by time, and hops
 * interleave), taken in once the gap before them fills. */
#define DR_TCP_HELD 4
struct dr_tcp_held {
	uint32_t seq, len;
	uint8_t *b; /* NULL = free */
};
struct dr_tcp_slot {
	uint64_t key; /* 0 = empty */
	uint32_t next_in, next_out;
	bool started; /* bytes taken in: the stream's start is known */
	uint8_t *pend;
	uint32_t npend, cpend;
	struct dr_tcp_held held[DR_TCP_HELD];
};
#define DR_TCP_MAX_BYTES (64u << 20) /* pending and held bytes of all streams together */

struct dnsreel_redactor {
	struct dnsreel_cryptopan *cp;
	EVP_MAC *mac;
	EVP_MAC_CTX *hmac; /* HMAC-SHA-512 under the name key */
	uint8_t name_key[32];
	char key_id[17];
	uint32_t drop;
	bool keep_all;
	size_t n_keep;
	struct {
		uint8_t wire[256]; /* lowercase, no root label */
		size_t len;
		unsigned labels;
	} keep[DNSREEL_REDACT_MAX_KEEP];
	struct dnsreel_redact_stats st;
	struct dr_addr_slot *addr;
	struct dr_label_slot *label;
	struct dr_name_slot *name;
	struct dr_msg_slot *msg;
	struct dr_comm_slot *comm;
	struct dr_tcp_slot *tcp;
	size_t tcp_bytes;
};

/* Domain separation of the keyed PRF: each use has its own first byte. */
enum dr_prf_use {
	DR_PRF_LABEL = 1,
	DR_PRF_TEXT = 2,  /* TXT/HINFO character-strings */
	DR_PRF_IDENT = 3, /* + enum dnsreel_redact_kind byte */
	DR_PRF_KEYID = 4,
};

/* HMAC-SHA-512(name key, use || tag || data) into out[64]. Returns 0 or DNSREEL_E_ARG. */
int dr_prf(struct dnsreel_redactor *r, uint8_t use, uint8_t tag, const void *data, size_t len,
	   uint8_t out[64]);
/* n characters of [a-z0-9] derived from data (any n). */
int dr_prf_chars(struct dnsreel_redactor *r, uint8_t use, const void *data, size_t len,
		 uint8_t *out, size_t n);

/* A TCP event's sequence number and payload (ev->payload into buf, cap bytes). */
int dr_tcp_event(struct dnsreel_redactor *r, struct dnsreel_event *ev, uint8_t *buf, size_t cap);
void dr_tcp_free(struct dnsreel_redactor *r);

#endif
