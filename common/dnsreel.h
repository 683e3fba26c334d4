/* libdnsreel: errors and versions shared by every part of the library.
 *
 * Every function of the library returns 0 (or a count) on success and a negative error code on
 * failure. System errors are returned as -errno; dnsreel's own errors have pinned values below
 * -1000 so they never collide with errno. The library never prints and never exits.
 */
#ifndef DNSREEL_H
#define DNSREEL_H

#include <stddef.h>
#include <stdint.h>

#define DNSREEL_VERSION "0.1.0"

/* On-disk format version (capture/FORMAT.md). A reader refuses a newer major. */
#define DNSREEL_FORMAT_MAJOR 1
#define DNSREEL_FORMAT_MINOR 2

enum dnsreel_error {
	DNSREEL_E_CORRUPT = -1001,   /* bytes do not decode: bad magic, checksum, length */
	DNSREEL_E_TRUNCATED = -1002, /* input ends inside a structure */
	DNSREEL_E_VERSION = -1003,   /* written by a newer major format version */
	DNSREEL_E_ZSTD = -1004,      /* zstd (de)compression failed */
	DNSREEL_E_SQLITE = -1005,    /* SQLite failed */
	DNSREEL_E_INDEX = -1006,     /* index disagrees with segments or has a wrong schema */
	DNSREEL_E_NOTCAPTURE = -1007, /* directory is not a capture (no index.sqlite, no seg/) */
	DNSREEL_E_PARSE = -1008,     /* a DNS message or expression could not be parsed */
	DNSREEL_E_LIMIT = -1009,     /* a built-in limit was reached (size, count) */
	DNSREEL_E_ARG = -1010,       /* invalid argument */
	DNSREEL_E_STATE = -1011,     /* call not valid in this state (e.g. writer closed) */
};

/* Text for an error code (negative errno or enum dnsreel_error). Static storage; never NULL. */
const char *dnsreel_strerror(int err);

/* ---- small helpers shared by the libraries ------------------------------------------------ */

/* Wall-clock ns of a boot-time stamp: *wall = boot_ns + boot_to_wall_ns. Both come from
 * untrusted files, so the sum is checked: DNSREEL_E_CORRUPT when it leaves int64 or falls
 * before 1970 (valid: the years 1970..2262), 0 otherwise. */
int dnsreel_wall_ns(int64_t boot_ns, int64_t boot_to_wall_ns, int64_t *wall);

/* MurmurHash3's 64-bit finaliser: spreads a key's bits for in-memory hash tables. */
static inline uint64_t dnsreel_mix64(uint64_t h)
{
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdull;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ull;
	h ^= h >> 33;
	return h;
}

/* Hash of n bytes under a seed. Stable: capture frame catalogs store it in bloom filters. */
uint64_t dnsreel_hash_bytes(const void *p, size_t n, uint64_t seed);

/* Packet type name as trace_dns prints it ("HOST", "OUTGOING", ...); "UNKNOWN" past the
 * AF_PACKET table (linux/if_packet.h PACKET_*). */
const char *dnsreel_pkt_type_name(unsigned pkt_type);

/* Address as trace_dns prints it: "10.0.0.1", "fd00::1"; with port >= 0 "10.0.0.1:53" or
 * "[fd00::1]:53". buf holds at least DNSREEL_ADDR_TEXT_LEN bytes. Returns the length. */
#define DNSREEL_ADDR_TEXT_LEN 56
size_t dnsreel_addr_text(uint8_t ip_version, const uint8_t addr[16], int port, char *buf);

#endif
