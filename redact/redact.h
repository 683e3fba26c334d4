/* Keyed pseudonymisation of captures, for handing them to another team.
 *
 * Addresses go through Crypto-PAn (prefix-preserving: two addresses sharing their first k bits
 * map to two addresses sharing exactly their first k bits), names and identifiers through a
 * keyed HMAC. Both are functions of the key alone, so two captures redacted with one key still
 * merge and their flows still link; without the key no mapping can be reversed or recomputed.
 * DNS messages are rebuilt (names written without compression, lengths and counts fixed), so
 * what comes out parses as DNS again. Nothing here prints or exits.
 */
#ifndef DNSREEL_REDACT_H
#define DNSREEL_REDACT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "capture.h"

/* ---- Crypto-PAn ------------------------------------------------------------------------ */

/* The construction of Xu, Fan, Ammar and Moon (ICNP 2002) over AES-128 (OpenSSL EVP): key[0..16)
 * is the AES key, AES(key[16..32)) the pad. Bit i of the output is bit i of the input XOR the
 * first bit of AES(input's first i bits followed by the pad's remaining bits). */
struct dnsreel_cryptopan;

/* Returns 0, -ENOMEM or DNSREEL_E_ARG (OpenSSL refused the key). Free with __free (NULL ok). */
int dnsreel_cryptopan__new(struct dnsreel_cryptopan **out, const uint8_t key[32]);
void dnsreel_cryptopan__free(struct dnsreel_cryptopan *cp);
/* Maps an address of bits = 32 (IPv4, 4 bytes) or 128 (IPv6, 16 bytes), network byte order.
 * Returns 0 or DNSREEL_E_ARG. in and out may be the same buffer. Uncached. */
int dnsreel_cryptopan__map(struct dnsreel_cryptopan *cp, unsigned bits, const uint8_t *in,
			   uint8_t *out);

/* ---- the redactor ---------------------------------------------------------------------- */

/* What goes instead of being pseudonymised (--drop). */
enum dnsreel_redact_drop {
	DNSREEL_REDACT_DROP_PROC = 1u << 0,    /* process context: table, pid/uid/comm of events */
	DNSREEL_REDACT_DROP_NAMES = 1u << 1,   /* pod/namespace/container/netns/node names, ids */
	DNSREEL_REDACT_DROP_CMDLINE = 1u << 2, /* command lines and cgroup paths */
	DNSREEL_REDACT_DROP_ANSWERS = 1u << 3, /* every RR but OPT: responses keep only rcode */
};

#define DNSREEL_REDACT_KEY_LEN	32
#define DNSREEL_REDACT_MAX_KEEP 16

struct dnsreel_redact_opts {
	size_t sz;
	/* Query-name suffixes kept as they are ("cluster.local."); labels below them, and every
	 * label of other names, become label pseudonyms. "." keeps every name. */
	const char *const *keep_suffix;
	size_t n_keep; /* at most DNSREEL_REDACT_MAX_KEEP */
	uint32_t drop; /* enum dnsreel_redact_drop */
};

/* What was changed or lost, for the tool's summary and the output's counters. */
struct dnsreel_redact_stats {
	uint64_t events;
	uint64_t messages;	   /* DNS messages rebuilt */
	uint64_t payloads_dropped; /* payloads that did not parse far enough to rewrite: emptied */
	uint64_t rrs_dropped;	   /* records of types whose rdata cannot be rewritten */
	uint64_t messages_cut;	   /* messages that ended in damage: rebuilt up to it */
	uint64_t edns_options_dropped;
};

struct dnsreel_redactor;

/* key: the master key (DNSREEL_REDACT_KEY_LEN bytes); the Crypto-PAn key and the name key are
 * derived from it with HMAC-SHA-256 under distinct labels. Returns 0, -ENOMEM, DNSREEL_E_ARG
 * (bad suffix, too many, short key). Free with __free (NULL ok). */
int dnsreel_redactor__new(struct dnsreel_redactor **out, const uint8_t *key, size_t keylen,
			  const struct dnsreel_redact_opts *opts);
void dnsreel_redactor__free(struct dnsreel_redactor *r);
const struct dnsreel_redact_stats *dnsreel_redactor__stats(const struct dnsreel_redactor *r);
/* A keyed fingerprint of the key (16 hex digits and NUL): tells whether two outputs were made
 * with one key, and reveals nothing of it. */
void dnsreel_redactor__key_id(const struct dnsreel_redactor *r, char out[17]);

/* Address of version 4 (first 4 bytes used, the rest zeroed on output) or 6. Cached. */
int dnsreel_redactor__addr(struct dnsreel_redactor *r, uint8_t ip_version, const uint8_t in[16],
			   uint8_t out[16]);

/* Kinds of identifier, so equal text of different kinds maps differently, and each keeps the
 * shape readers expect (a UUID stays a UUID, a 64-hex container id stays one). */
enum dnsreel_redact_kind {
	DNSREEL_RK_NODE,
	DNSREEL_RK_NETNS,     /* ip netns / runtime netns file name */
	DNSREEL_RK_NAMESPACE, /* k8s namespace */
	DNSREEL_RK_POD,
	DNSREEL_RK_CONTAINER, /* k8s or runtime container name */
	DNSREEL_RK_UID,	      /* pod UID: UUID-shaped output */
	DNSREEL_RK_CID,	      /* container id: hex of the same length */
	DNSREEL_RK_COMM,      /* process name, < 16 bytes */
	DNSREEL_RK_CMDLINE,
	DNSREEL_RK_CGROUP,
	DNSREEL_RK_SERVICE,
	DNSREEL_RK_CAPTURE, /* capture id: UUID-shaped */
};
/* Pseudonym of in (NUL-terminated) into out (outlen bytes, cut to fit, NUL-terminated).
 * Empty stays empty. Returns 0 or DNSREEL_E_ARG. */
int dnsreel_redactor__ident(struct dnsreel_redactor *r, enum dnsreel_redact_kind kind,
			    const char *in, char *out, size_t outlen);
/* A comma-separated list of addresses (netns ips): each address mapped, anything that is not
 * an address replaced by a pseudonym. */
int dnsreel_redactor__addr_list(struct dnsreel_redactor *r, const char *in, char *out,
				size_t outlen);

/* A domain name in wire form (uncompressed, ending in the root label, at most 255 bytes) into
 * out (256 bytes): reverse-zone addresses mapped, kept suffixes kept, other labels replaced by
 * label pseudonyms of the same length. Returns the output length, or DNSREEL_E_PARSE (not a
 * name) / DNSREEL_E_LIMIT (the result would pass 255 bytes). */
int dnsreel_redactor__wire_name(struct dnsreel_redactor *r, const uint8_t *name, size_t len,
				uint8_t out[256]);

/* A DNS message into out (cap bytes; 65535 suffice). Returns the output length; where the
 * input ends in damage after its question, the output is the message up to it, with counts
 * that say so. DNSREEL_E_PARSE when not even header and question parse (nothing kept). */
int dnsreel_redactor__message(struct dnsreel_redactor *r, const uint8_t *msg, size_t len,
			      uint8_t *out, size_t cap);

/* An event in place: addresses, process name (or process fields with DROP_PROC), payload
 * rewritten into buf (cap bytes, at least 65536 + 2 for TCP) that ev->payload then points to.
 * TCP sequence numbers of later segments of the same stream follow the length changes.
 * Returns 0, or a negative code only when the crypto library failed. */
int dnsreel_redactor__event(struct dnsreel_redactor *r, struct dnsreel_event *ev, uint8_t *buf,
			    size_t cap);

/* The order to hand a block's events to __event: each TCP stream's segments by sequence
 * number (the capture sorts by time, and a segment seen at one hop can precede at another the
 * bytes before it), the rest as they come. order receives n indexes; tmp is scratch space of
 * n * 16 bytes. */
void dnsreel_redactor__order(const struct dnsreel_event *ev, size_t n, uint32_t *order, void *tmp);

/* Context records, into out (may not alias in). */
int dnsreel_redactor__netns(struct dnsreel_redactor *r, const struct dnsreel_netns_ctx *in,
			    struct dnsreel_netns_ctx *out);
int dnsreel_redactor__proc(struct dnsreel_redactor *r, const struct dnsreel_proc_ctx *in,
			   struct dnsreel_proc_ctx *out);
int dnsreel_redactor__service(struct dnsreel_redactor *r, const struct dnsreel_service_ctx *in,
			      struct dnsreel_service_ctx *out);
/* Capture metadata: node and capture id pseudonymised (the new id names a capture of its own,
 * the same for the same input and key), recorder set to recorder. */
int dnsreel_redactor__meta(struct dnsreel_redactor *r, const struct dnsreel_meta *in,
			   const char *recorder, struct dnsreel_meta *out);

#endif
