/* The parsers of dnsreel-export's outside input, apart from libcurl so that they fuzz alone: a
 * capture's id (its meta is untrusted) and the TSV the server answers with.
 */
#ifndef DNSREEL_EXPORT_PARSE_INT_H
#define DNSREEL_EXPORT_PARSE_INT_H

#include <stddef.h>
#include <stdint.h>

/* "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx" -> 16 bytes; DNSREEL_E_PARSE if it is not a UUID. */
int uuid_parse(const char *s, uint8_t out[16]);

/* Parses ClickHouse TSV output (escapes \t \n \0 and backslash-anything) one row at a time:
 * calls fn with the nf NUL-terminated fields of each line (valid during the call). Stops at
 * fn's nonzero return and returns it. DNSREEL_E_PARSE for a line with another number of fields
 * or a NUL byte, DNSREEL_E_LIMIT for a line over 4 KiB, DNSREEL_E_ARG for nf outside 1..16. */
int chx_tsv_rows(const char *s, size_t len, size_t nf,
		 int (*fn)(void *arg, char **fields, size_t nf), void *arg);

#endif
