/* User-space parsing of what the kernel handed over: packet bytes from the network header on
 * (IPv4/IPv6 with extension headers, UDP, TCP) into a struct dnsreel_event. The kernel already
 * filtered, but its copy is re-checked here: every length is untrusted.
 */
#ifndef DNSREEL_RECORD_PARSE_H
#define DNSREEL_RECORD_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "capture.h"

enum dnsreel_parse_status {
	DNSREEL_PARSE_OK = 0,
	DNSREEL_PARSE_SHORT = 1,  /* headers cut before the transport payload: not stored */
	DNSREEL_PARSE_BADHDR = 2, /* version/IHL/data offset impossible: not stored */
	DNSREEL_PARSE_NOTL4 = 3,  /* neither UDP nor TCP (or too many IPv6 ext headers) */
	DNSREEL_PARSE_LENLIE = 4, /* stored, but a length field disagreed with the bytes */
};

/* Parses cap bytes at p (a packet of pkt_len bytes from its network header; l3_proto is the
 * ethertype, 0 to guess from the version nibble). Fills ev's addresses, ports, proto,
 * ip_version, tcp_seq/flags, orig_len, cap_len and payload (pointing into p) and ORs
 * DNSREEL_EV_FRAGMENT / DNSREEL_EV_TRUNCATED into ev->flags. Other fields are left alone.
 * Returns enum dnsreel_parse_status; OK and LENLIE mean ev is usable. */
int dnsreel_parse_packet(const uint8_t *p, uint32_t cap, uint32_t pkt_len, uint16_t l3_proto,
			 struct dnsreel_event *ev);

/* Parses "53,5353,8053" into a 65536-bit map (bit p of bits[p/8]). 0 or -EINVAL. */
int dnsreel_parse_ports(const char *csv, uint8_t bits[8192]);

/* Parses an address "10.0.0.1" or "fd00::1" into 16 bytes (IPv4 in the first 4).
 * Returns 4, 6, or 0 when not an address. */
int dnsreel_parse_addr(const char *s, uint8_t addr[16]);

#endif
