/* Error texts for dnsreel's pinned codes and for -errno. */
#include <string.h>

#include "dnsreel.h"

const char *dnsreel_strerror(int err)
{
	switch (err) {
	case 0:
		return "success";
	case DNSREEL_E_CORRUPT:
		return "corrupt data (bad magic, checksum or length)";
	case DNSREEL_E_TRUNCATED:
		return "data ends inside a structure (truncated)";
	case DNSREEL_E_VERSION:
		return "written by a newer format version; upgrade dnsreel to read it";
	case DNSREEL_E_ZSTD:
		return "zstd (de)compression failed";
	case DNSREEL_E_SQLITE:
		return "SQLite error";
	case DNSREEL_E_INDEX:
		return "index disagrees with the segments or has a wrong schema";
	case DNSREEL_E_NOTCAPTURE:
		return "not a dnsreel capture (no index.sqlite and no seg/)";
	case DNSREEL_E_PARSE:
		return "could not be parsed";
	case DNSREEL_E_LIMIT:
		return "a built-in limit was reached";
	case DNSREEL_E_ARG:
		return "invalid argument";
	case DNSREEL_E_STATE:
		return "call not valid in this state";
	default:
		break;
	}
	if (err < 0 && err > -4096) {
		/* strerror() may use a shared buffer; the glibc table is static storage */
		const char *s = strerrordesc_np(-err);
		if (s)
			return s;
	}
	return "unknown error";
}
