/* Packs: a capture in one POSIX ustar file (FORMAT.md §13). */
#include "capture_int.h"

int dr_pack_index(struct dr_src *s, char *errbuf, size_t errlen)
{
	return dr_errf(errbuf, errlen, DNSREEL_E_NOTCAPTURE, "%s: not a capture directory",
		       s->path);
}
