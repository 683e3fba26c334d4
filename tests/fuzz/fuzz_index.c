/* Invariant: any bytes as a capture's index.sqlite (a crafted database: lying rows, wrong
 * types, reordered or missing columns, huge values) never crash or hang the index loader or
 * the reader that opens a capture with it, and whatever the loader accepts holds its own
 * promises: frames of a segment never overlap, every frame's counts and lengths are in range,
 * netns lists are sorted, and the capture's clock offset keeps every frame's wall time in
 * int64.
 *
 * Input: the whole index.sqlite file. A capture directory with an empty seg/ is made once per
 * process under $TMPDIR; each input replaces its index.sqlite.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "capture_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define REQUIRE(c)                                                                                 \
	do {                                                                                       \
		if (!(c))                                                                          \
			abort();                                                                   \
	} while (0)

static char dir[256];

static void cleanup(void)
{
	char p[300];
	snprintf(p, sizeof(p), "%s/index.sqlite", dir);
	unlink(p);
	snprintf(p, sizeof(p), "%s/seg", dir);
	rmdir(p);
	rmdir(dir);
}

static void setup(void)
{
	const char *t = getenv("TMPDIR");
	snprintf(dir, sizeof(dir), "%s/dnsreel-fuzz-index-%d.reel", t ? t : "/tmp", (int)getpid());
	mkdir(dir, 0700);
	char seg[300];
	snprintf(seg, sizeof(seg), "%s/seg", dir);
	mkdir(seg, 0700);
	atexit(cleanup);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!dir[0])
		setup();
	char path[300];
	snprintf(path, sizeof(path), "%s/index.sqlite", dir);
	FILE *f = fopen(path, "wb");
	if (!f)
		return 0;
	fwrite(data, 1, size, f);
	fclose(f);

	struct dr_catalog c;
	memset(&c, 0, sizeof(c));
	char eb[512];
	if (dr_index_load(path, &c, eb, sizeof(eb)) == 0) {
		for (size_t i = 0; i < c.nframes; i++) {
			const struct dnsreel_frame_info *fi = &c.frames[i].fi;
			REQUIRE(fi->events > 0 && fi->events <= DR_MAX_BLOCK_EVENTS);
			REQUIRE(fi->first_ts <= fi->last_ts && fi->length > 0);
			for (size_t k = 1; k < fi->netns_count; k++)
				REQUIRE(fi->netns[k - 1] < fi->netns[k]);
			for (size_t k = 0; k < c.nframes; k++) {
				const struct dnsreel_frame_info *g = &c.frames[k].fi;
				if (k != i && g->segment == fi->segment && g->offset >= fi->offset)
					REQUIRE(g->offset >= fi->offset + fi->length);
			}
		}
	}
	dr_catalog_free(&c);

	/* the reader: index cross-checks, segment META check, wall-time range */
	struct dnsreel_capr *r;
	if (dnsreel_capr__open(&r, dir, NULL, eb, sizeof(eb)) == 0) {
		struct dnsreel_capr_summary s;
		dnsreel_capr__summary(r, &s);
		int64_t w;
		if (s.frames)
			REQUIRE(dnsreel_wall_ns(s.first_ts, dnsreel_capr__meta(r)->boot_to_wall_ns,
						&w) == 0 &&
				dnsreel_wall_ns(s.last_ts, dnsreel_capr__meta(r)->boot_to_wall_ns,
						&w) == 0);
		for (size_t i = 0; i < dnsreel_capr__netns_count(r); i++)
			REQUIRE(dnsreel_capr__netns_at(r, i) != NULL);
		dnsreel_capr__close(r);
	}
	return 0;
}
