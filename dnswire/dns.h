/* DNS message parser (RFC 1035, name compression, EDNS(0) OPT). Never reads outside
 * [msg, msg+len), rejects compression pointer loops, and reports where parsing stopped instead
 * of guessing: fields decoded before the error stay valid.
 */
#ifndef DNSREEL_DNS_H
#define DNSREEL_DNS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DNSREEL_DNS_NAME_MAX 1025 /* presentation form with \DDD escapes fits, plus NUL */

enum dnsreel_dns_section {
	DNSREEL_DNS_ANSWER = 1,
	DNSREEL_DNS_AUTHORITY = 2,
	DNSREEL_DNS_ADDITIONAL = 3,
};

struct dnsreel_dns {
	uint16_t id;
	uint8_t qr, opcode, aa, tc, rd, ra, z, ad, cd;
	uint16_t rcode; /* with EDNS extended bits when OPT is present */
	uint16_t qdcount, ancount, nscount, arcount;
	bool has_question;
	char qname[DNSREEL_DNS_NAME_MAX]; /* FQDN with trailing dot ("." for root) */
	uint16_t qtype, qclass;
	/* EDNS(0), found by walking the additional section */
	bool has_edns;
	uint16_t edns_udp_size;
	uint8_t edns_version;
	bool edns_do;
	char edns_client_subnet[64]; /* "10.0.0.0/24" or "" */
	/* First A/AAAA addresses of the answer section, comma-separated, as trace_dns shows. */
	char addresses[512];
	uint16_t num_answers; /* answer RRs actually parsed */
	uint32_t min_ttl;     /* smallest answer TTL, 0 without answers */
	/* Where parsing stopped: 0 = whole message parsed, else a negative code, the byte offset
	 * and what was being parsed ("header", "question", "answer 3", ...). */
	int err;
	uint32_t err_off;
	const char *err_what;
	/* Names that do not decode (a pointer to itself or forward, over 255 octets) but whose
	 * extent is known are skipped, not fatal: the rest of the message still decodes. The
	 * question's name is then "" (qname_bad). bad_names counts them; bad_name_off is the
	 * offset of the first and bad_name_what its place ("question", "answer", ...). */
	bool qname_bad;
	uint16_t bad_names;
	uint32_t bad_name_off;
	const char *bad_name_what;
	/* EDNS option framing: an option cut by the OPT length, an ECS option too short or too
	 * long for its family and prefix. NULL when the options frame correctly. */
	const char *edns_err;
	uint32_t edns_err_off;
};

/* Parses header, question, answer addresses and EDNS. Returns 0 when the whole message parsed,
 * DNSREEL_E_TRUNCATED / DNSREEL_E_CORRUPT otherwise (out is filled as far as it got). */
int dnsreel_dns_parse(const uint8_t *msg, size_t len, struct dnsreel_dns *out);

/* Header and first question only, filled exactly as dnsreel_dns_parse() fills them; rcode is the
 * header's four bits (the extended bits live in OPT), and answers, addresses and EDNS stay empty.
 * Most fields need no more, and walking every RR costs more than the rest of a row. cache: NULL,
 * or a name cache that saves decoding a question name seen before. Returns 0 or
 * DNSREEL_E_TRUNCATED / DNSREEL_E_CORRUPT (out filled as far as it got). */
struct dnsreel_dns_ncache;
int dnsreel_dns_parse_question(const uint8_t *msg, size_t len, struct dnsreel_dns *out,
			       struct dnsreel_dns_ncache *cache);
/* Question names repeat (a query, its response, every hop): a cache from a name's wire form to
 * its text, for one thread. Returns 0 or -ENOMEM; free with dnsreel_dns_ncache__free (NULL ok). */
int dnsreel_dns_ncache__new(struct dnsreel_dns_ncache **out);
void dnsreel_dns_ncache__free(struct dnsreel_dns_ncache *cache);

/* The QR bit of a message: 1 response, 0 query, -1 shorter than a header. */
static inline int dnsreel_dns_qr(const uint8_t *msg, size_t len)
{
	return len < 12 ? -1 : msg[2] >> 7;
}

/* Reads the name at off into presentation form (lowercase kept as sent, trailing dot).
 * *next receives the offset after the name in the uncompressed position. Bytes that are not
 * plain text are escaped as presentation format does (\. and \032). Pointers must point
 * backwards (below every earlier jump); at most 64 jumps, 255 wire octets. Returns 0, or
 * DNSREEL_E_TRUNCATED / DNSREEL_E_CORRUPT / DNSREEL_E_LIMIT (buf too small). */
int dnsreel_dns_name(const uint8_t *msg, size_t len, size_t off, char *buf, size_t buflen,
		     size_t *next);

/* One resource record. */
struct dnsreel_dns_rr {
	uint8_t section; /* enum dnsreel_dns_section */
	char name[DNSREEL_DNS_NAME_MAX];
	uint16_t type, class;
	uint32_t ttl;
	uint16_t rdlen;
	uint32_t rdata_off; /* offset of rdata within the message */
	bool name_bad;	    /* owner name does not decode (name is ""); the record does */
	uint32_t name_bad_off;
};

/* Walks every RR of answer, authority and additional sections. */
struct dnsreel_dns_iter {
	const uint8_t *msg;
	size_t len;
	size_t off;
	uint32_t index;   /* RR number over all sections */
	uint16_t counts[3];
	int err;
};
int dnsreel_dns_iter_init(struct dnsreel_dns_iter *it, const uint8_t *msg, size_t len);
/* 1 = rr filled, 0 = done, negative = damaged (it->err, stops) */
int dnsreel_dns_iter_next(struct dnsreel_dns_iter *it, struct dnsreel_dns_rr *rr);

/* RDATA in presentation form: A/AAAA address, CNAME/NS/PTR name, MX "10 mx.example.",
 * TXT quoted strings, SRV "prio weight port target.", SOA, OPT "udp=1232 do=1" (with
 * " bad_option@OFFSET" when its options do not frame), else RFC 3597 "\# LEN HEX". Empty RDATA
 * is valid (empty text) where RFC 2136 UPDATE (class ANY or NONE, or opcode UPDATE) and IQUERY
 * allow it. Returns length written, or negative on damage (DNSREEL_E_LIMIT: buf too small;
 * 4 * rdlen + 64 bytes always suffice). */
int dnsreel_dns_rdata_str(const uint8_t *msg, size_t len, const struct dnsreel_dns_rr *rr,
			  char *buf, size_t buflen);

/* Names as trace_dns prints them: "A", "AAAA", "SRV", ... else NULL (print the number). */
const char *dnsreel_dns_type_name(uint16_t type);
/* "Success", "FormatError", "ServerFailure", "NameError", "NotImplemented", "Refused", ...
 * else NULL. */
const char *dnsreel_dns_rcode_name(uint16_t rcode);
/* The name, or the number as text in buf when there is none (never NULL). */
const char *dnsreel_dns_rcode_text(uint16_t rcode, char *buf, size_t len);
const char *dnsreel_dns_type_text(uint16_t type, char *buf, size_t len);
/* "QUERY", "IQUERY", "STATUS", "NOTIFY", "UPDATE" else NULL */
const char *dnsreel_dns_opcode_name(uint8_t opcode);
/* Reverse lookups for filters; -1 when unknown. Case-insensitive. */
int dnsreel_dns_type_from_name(const char *s);
int dnsreel_dns_rcode_from_name(const char *s);

#endif
