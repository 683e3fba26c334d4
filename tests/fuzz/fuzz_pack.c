/* Invariant: any bytes as a pack (a crafted or cut ustar: lying sizes, bad checksums, names
 * with .. or /, members listed twice, headers past the end) never crash or hang the pack
 * reader, the capture reader opening it, or the custody check over it; every member the
 * reader lists is a relative name inside the capture whose byte range lies inside the file,
 * with no more bytes present than its header claims, and the members' ranges never overlap.
 *
 * Input: the whole pack file, written once per input to a file under $TMPDIR.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "capture_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define REQUIRE(c)                                                                                 \
	do {                                                                                       \
		if (!(c))                                                                          \
			abort();                                                                   \
	} while (0)

static char path[256];

static void cleanup(void)
{
	unlink(path);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!path[0]) {
		const char *t = getenv("TMPDIR");
		snprintf(path, sizeof(path), "%s/dnsreel-fuzz-pack-%d.reel.tar", t ? t : "/tmp",
			 (int)getpid());
		atexit(cleanup);
	}
	FILE *f = fopen(path, "wb");
	if (!f)
		return 0;
	fwrite(data, 1, size, f);
	fclose(f);

	char eb[512];
	struct dr_src *s;
	if (dr_src_open(&s, path, eb, sizeof(eb)) == 0) {
		REQUIRE(s->pack);
		for (size_t i = 0; i < s->n; i++) {
			const struct dr_member *m = &s->m[i];
			REQUIRE(m->name[0] && m->name[0] != '/' && !strstr(m->name, ".."));
			REQUIRE(m->avail <= m->size && m->off <= size && m->avail <= size - m->off);
			for (size_t k = 0; k < i; k++)
				REQUIRE(s->m[k].off + s->m[k].avail <= m->off ||
					m->off + m->avail <= s->m[k].off || !m->avail ||
					!s->m[k].avail);
		}
		dr_src_close(s);
	}
	struct dnsreel_capr *r;
	if (dnsreel_capr__open(&r, path, NULL, eb, sizeof(eb)) == 0) {
		for (size_t i = 0; i < dnsreel_capr__frame_count(r) && i < 64; i++) {
			struct dnsreel_block blk;
			if (dnsreel_capr__read_frame(r, i, &blk, eb, sizeof(eb)) == 0)
				REQUIRE(blk.n == dnsreel_capr__frame(r, i)->events);
			dnsreel_block__release(&blk);
		}
		const struct dnsreel_custody *c;
		if (dnsreel_capr__custody(r, &c) == 0)
			REQUIRE(!c->chained || strlen(c->root) == DNSREEL_HASH_HEX - 1);
		dnsreel_capr__close(r);
	}
	return 0;
}
