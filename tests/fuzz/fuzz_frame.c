/* Invariant: any bytes fed to the segment scanner or the block decoder — as a whole segment
 * file, or as a decompressed block body with any event count — never crash, never read out of
 * bounds, never leak, and whatever decodes satisfies the block invariants (events sorted by
 * time, payload lengths within what was decoded).
 *
 * Input: the low two bits of the first byte select the mode.
 *  0: the rest is a segment file (records, blocks, zstd frames, damage; every block found is
 *     decompressed, decoded and summarized).
 *  1: two more bytes give an event count, the rest is a block body for the column decoder.
 *  2: one more byte gives a record type, the rest is that record's body, wrapped in a valid
 *     record (checksum computed) so the context decoders are reached past the CRC.
 *  3: like 1, but the body is zstd-compressed into a valid BLOCK + frame and scanned as a
 *     segment, so the whole read path (headers, sizes, zstd, codec, time checks) runs.
 * With bit 2 of the first byte set, modes 1 and 3 take their header from the input instead:
 * a u32 event count (any value, up to 1 000 001), then i64 first_ts and i64 last_ts (mode 1
 * uses first_ts only), so crafted times near INT64_MAX/MIN and huge counts reach the decoder.
 */
#include <zstd.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "capture_int.h"

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
	if ((data[0] & 3) == 2 && size >= 2) {
		struct dr_buf seg = {0};
		dr_rec_put(&seg, data[1], data + 2, size - 2);
		struct dr_catalog c;
		memset(&c, 0, sizeof(c));
		if (!seg.err)
			dr_scan_segment_buf(seg.p, seg.len, 1, "seg/000001.zst", &c, NULL, NULL,
					    NULL);
		dr_catalog_free(&c);
		dr_buf_free(&seg);
		return 0;
	}
	if ((data[0] & 4) && (data[0] & 1) && size >= 21) {
		uint32_t n = dr_rd32(data + 1) % (DR_MAX_BLOCK_EVENTS + 2);
		int64_t first = (int64_t)dr_rd64(data + 5), last = (int64_t)dr_rd64(data + 13);
		const uint8_t *body = data + 21;
		size_t blen = size - 21;
		if ((data[0] & 3) == 1) {
			struct dnsreel_event *ev;
			uint8_t *arena;
			if (dr_dec_block(body, blen, n, first, &ev, &arena) == 0) {
				check_events(ev, n);
				if (ev[0].ts_ns < first)
					abort();
				free(ev);
				free(arena);
			}
			return 0;
		}
		size_t bound = ZSTD_compressBound(blen);
		uint8_t *z = malloc(bound);
		size_t zl = z ? ZSTD_compress(z, bound, body, blen, 1) : 0;
		if (z && !ZSTD_isError(zl)) {
			struct dr_blockhdr bh = {
			    .events = n,
			    .codec = 1,
			    .first_ts = first,
			    .last_ts = last,
			    .raw_len = (uint32_t)blen,
			    .zlen = (uint32_t)zl,
			    .zcrc = dr_crc32c(0, z, zl),
			};
			uint8_t hb[DR_BLOCK_HDR_BODY];
			dr_blockhdr_ser(hb, &bh);
			struct dr_buf seg = {0};
			dr_rec_put(&seg, DR_REC_BLOCK, hb, sizeof(hb));
			dr_put(&seg, z, zl);
			struct dr_catalog c;
			memset(&c, 0, sizeof(c));
			if (!seg.err)
				dr_scan_segment_buf(seg.p, seg.len, 1, "seg/000001.zst", &c, NULL,
						    NULL, NULL);
			for (size_t i = 0; i < c.nframes; i++)
				if (c.frames[i].fi.first_ts != first ||
				    c.frames[i].fi.last_ts != last)
					abort();
			dr_catalog_free(&c);
			dr_buf_free(&seg);
		}
		free(z);
		return 0;
	}
	if ((data[0] & 3) == 3 && size >= 3) {
		size_t bound = ZSTD_compressBound(size - 3);
		uint8_t *z = malloc(bound);
		size_t zl = ZSTD_compress(z, bound, data + 3, size - 3, 1);
		if (!ZSTD_isError(zl)) {
			struct dr_blockhdr bh = {
			    .events = 1 + (uint32_t)(data[1] | data[2] << 8) % 4096,
			    .codec = 1,
			    .first_ts = 0,
			    .last_ts = (int64_t)(data[1] * 1000),
			    .raw_len = (uint32_t)(size - 3),
			    .zlen = (uint32_t)zl,
			    .zcrc = dr_crc32c(0, z, zl),
			};
			uint8_t body[DR_BLOCK_HDR_BODY];
			dr_blockhdr_ser(body, &bh);
			struct dr_buf seg = {0};
			dr_rec_put(&seg, DR_REC_BLOCK, body, sizeof(body));
			dr_put(&seg, z, zl);
			struct dr_catalog c;
			memset(&c, 0, sizeof(c));
			if (!seg.err)
				dr_scan_segment_buf(seg.p, seg.len, 1, "seg/000001.zst", &c, NULL,
						    NULL, NULL);
			dr_catalog_free(&c);
			dr_buf_free(&seg);
		}
		free(z);
		return 0;
	}
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
