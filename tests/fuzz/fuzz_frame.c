/* Invariant: any bytes fed to the segment scanner or the block decoder — as a whole segment
 * file, or as a decompressed block body with any event count — never crash, never read out of
 * bounds, never leak, and whatever decodes satisfies the block invariants (events sorted by
 * time, payload lengths within what was decoded).
 *
 * Input: first byte selects the mode. Even: the rest is a segment file (records, blocks, zstd
 * frames, damage; every block found is decompressed, decoded and summarized). Odd: two more
 * bytes give an event count, the rest is a block body for the column decoder.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fmt_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_events(const struct dnsreel_event *ev, uint32_t n)
{
	volatile uint8_t sink = 0;
	for (uint32_t i = 0; i < n; i++) {
		if (i && ev[i].ts_ns < ev[i - 1].ts_ns)
			abort();
		/* touch every payload byte: ASan catches a length beyond the arena */
		for (uint32_t k = 0; k < ev[i].cap_len; k++)
			sink ^= ev[i].payload[k];
	}
	(void)sink;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	if ((data[0] & 1) == 0) {
		struct dr_catalog c;
		memset(&c, 0, sizeof(c));
		dr_scan_segment_buf(data + 1, size - 1, 1, "seg/000001.zst", &c, NULL, NULL, NULL);
		for (size_t i = 0; i < c.nframes; i++) {
			const struct dnsreel_frame_info *fi = &c.frames[i].fi;
			if (fi->first_ts > fi->last_ts || fi->offset + fi->length > size - 1)
				abort();
		}
		dr_catalog_free(&c);
		return 0;
	}
	if (size < 3)
		return 0;
	uint32_t n = 1 + (uint32_t)(data[1] | data[2] << 8) % 4096;
	struct dnsreel_event *ev;
	uint8_t *arena;
	if (dr_dec_block(data + 3, size - 3, n, 0, &ev, &arena) == 0) {
		check_events(ev, n);
		struct dr_summary s;
		if (dr_summarize(ev, n, &s) == 0)
			dr_summary_free(&s);
		free(ev);
		free(arena);
	}
	return 0;
}
