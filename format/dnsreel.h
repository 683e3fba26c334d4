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

/* On-disk format version (format/FORMAT.md). A reader refuses a newer major. */
#define DNSREEL_FORMAT_MAJOR 1
#define DNSREEL_FORMAT_MINOR 0

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

#endif
