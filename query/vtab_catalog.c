/* The catalog tables: each capture's segments, frames (the index's frame catalog, what
 * pushdown prunes on), capture_info (metadata and summary as key/value) and counters, with a
 * capture column.
 *
 *   SELECT capture, sum(events), sum(bytes) FROM segments GROUP BY capture;
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "rowtab_int.h"

/* ---- segments ----------------------------------------------------------------------------- */

enum {
	SEG_CAPTURE,
	SEG_SEGMENT,
	SEG_FRAMES,
	SEG_EVENTS,
	SEG_BYTES,
	SEG_FIRST_TIMESTAMP,
	SEG_LAST_TIMESTAMP,
	SEG_NCOLS
};
static const char segments_schema[] =
    "CREATE TABLE x(capture TEXT, segment INTEGER, frames INTEGER, events INTEGER, "
    "bytes INTEGER, first_timestamp INTEGER, last_timestamp INTEGER)";

struct seg {
	uint32_t seg;
	uint64_t frames, events, bytes;
	int64_t first, last;
};

/* Segments in first-seen order of the catalog (which is by time), summed over their frames. */
static int seg_sums(const struct dnsreel_capr *r, struct seg **out, size_t *n)
{
	struct seg *segs = NULL;
	size_t ns = 0;

	for (size_t i = 0; i < dnsreel_capr__frame_count(r); i++) {
		const struct dnsreel_frame_info *f = dnsreel_capr__frame(r, i);
		size_t k;

		for (k = 0; k < ns && segs[k].seg != f->segment; k++)
			;
		if (k == ns) {
			struct seg *nb = realloc(segs, (ns + 1) * sizeof(*nb));

			if (!nb) {
				free(segs);
				return -ENOMEM;
			}
			segs = nb;
			segs[ns++] = (struct seg){
			    .seg = f->segment, .first = f->first_ts, .last = f->last_ts};
		}
		segs[k].frames++;
		segs[k].events += f->events;
		segs[k].bytes += f->length;
		if (f->first_ts < segs[k].first)
			segs[k].first = f->first_ts;
		if (f->last_ts > segs[k].last)
			segs[k].last = f->last_ts;
	}
	*out = segs;
	*n = ns;
	return 0;
}

static void segments_fill(struct rowtab_cur *c, const struct dnsreel_query *q, size_t ci)
{
	const struct dnsreel_capr *r = q->capr[ci];
	int64_t off = dnsreel_q_boot_to_wall(r);
	struct seg *segs;
	size_t ns;

	if (seg_sums(r, &segs, &ns)) {
		dnsreel_q_row_fail(c, -ENOMEM);
		return;
	}
	for (size_t k = 0; k < ns; k++) {
		dnsreel_q_row_text(c, SEG_CAPTURE, q->paths[ci]);
		dnsreel_q_row_int(c, SEG_SEGMENT, segs[k].seg);
		dnsreel_q_row_int(c, SEG_FRAMES, (int64_t)segs[k].frames);
		dnsreel_q_row_int(c, SEG_EVENTS, (int64_t)segs[k].events);
		dnsreel_q_row_int(c, SEG_BYTES, (int64_t)segs[k].bytes);
		dnsreel_q_row_int(c, SEG_FIRST_TIMESTAMP, segs[k].first + off);
		dnsreel_q_row_int(c, SEG_LAST_TIMESTAMP, segs[k].last + off);
		dnsreel_q_row_end(c);
	}
	free(segs);
}

static const struct rowtab segments_table = {segments_schema, SEG_NCOLS, segments_fill};
const struct dnsreel_qtable dnsreel_qtable_segments = {"segments", &dnsreel_q_rowtab_module,
						       &segments_table, false};

/* ---- frames ------------------------------------------------------------------------------- */

enum {
	FR_CAPTURE,
	FR_FRAME,
	FR_SEGMENT,
	FR_OFFSET,
	FR_LENGTH,
	FR_EVENTS,
	FR_FIRST_TIMESTAMP,
	FR_LAST_TIMESTAMP,
	FR_QR_MASK,
	FR_RCODE_MASK,
	FR_PROTO_MASK,
	FR_NETNS_COUNT,
	FR_NCOLS
};
static const char frames_schema[] =
    "CREATE TABLE x(capture TEXT, frame INTEGER, segment INTEGER, offset INTEGER, "
    "length INTEGER, events INTEGER, first_timestamp INTEGER, last_timestamp INTEGER, "
    "qr_mask INTEGER, rcode_mask INTEGER, proto_mask INTEGER, netns_count INTEGER)";

static void frames_fill(struct rowtab_cur *c, const struct dnsreel_query *q, size_t ci)
{
	const struct dnsreel_capr *r = q->capr[ci];
	int64_t off = dnsreel_q_boot_to_wall(r);

	for (size_t i = 0; i < dnsreel_capr__frame_count(r); i++) {
		const struct dnsreel_frame_info *f = dnsreel_capr__frame(r, i);

		dnsreel_q_row_text(c, FR_CAPTURE, q->paths[ci]);
		dnsreel_q_row_int(c, FR_FRAME, (int64_t)i);
		dnsreel_q_row_int(c, FR_SEGMENT, f->segment);
		dnsreel_q_row_int(c, FR_OFFSET, (int64_t)f->offset);
		dnsreel_q_row_int(c, FR_LENGTH, f->length);
		dnsreel_q_row_int(c, FR_EVENTS, f->events);
		dnsreel_q_row_int(c, FR_FIRST_TIMESTAMP, f->first_ts + off);
		dnsreel_q_row_int(c, FR_LAST_TIMESTAMP, f->last_ts + off);
		dnsreel_q_row_int(c, FR_QR_MASK, f->qr_mask);
		dnsreel_q_row_int(c, FR_RCODE_MASK, f->rcode_mask);
		dnsreel_q_row_int(c, FR_PROTO_MASK, f->proto_mask);
		dnsreel_q_row_int(c, FR_NETNS_COUNT, f->netns_count);
		dnsreel_q_row_end(c);
	}
}

static const struct rowtab frames_table = {frames_schema, FR_NCOLS, frames_fill};
const struct dnsreel_qtable dnsreel_qtable_frames = {"frames", &dnsreel_q_rowtab_module,
						     &frames_table, false};

/* ---- capture_info: metadata and summary --------------------------------------------------- */

enum { INFO_CAPTURE, INFO_KEY, INFO_VALUE, INFO_NCOLS };
static const char capture_info_schema[] = "CREATE TABLE x(capture TEXT, key TEXT, value)";

static void info_text(struct rowtab_cur *c, const char *cap, const char *key, const char *v)
{
	dnsreel_q_row_text(c, INFO_CAPTURE, cap);
	dnsreel_q_row_text(c, INFO_KEY, key);
	dnsreel_q_row_text(c, INFO_VALUE, v);
	dnsreel_q_row_end(c);
}

static void info_int(struct rowtab_cur *c, const char *cap, const char *key, int64_t v)
{
	dnsreel_q_row_text(c, INFO_CAPTURE, cap);
	dnsreel_q_row_text(c, INFO_KEY, key);
	dnsreel_q_row_int(c, INFO_VALUE, v);
	dnsreel_q_row_end(c);
}

static void capture_info_fill(struct rowtab_cur *c, const struct dnsreel_query *q, size_t ci)
{
	const struct dnsreel_capr *r = q->capr[ci];
	const struct dnsreel_meta *m = dnsreel_capr__meta(r);
	const char *cap = q->paths[ci];
	int64_t off = dnsreel_q_boot_to_wall(r);
	struct dnsreel_capr_summary sm;
	char ver[32];

	dnsreel_capr__summary(r, &sm);
	if (m) {
		snprintf(ver, sizeof(ver), "%u.%u", m->format_major, m->format_minor);
		info_text(c, cap, "format_version", ver);
		info_text(c, cap, "capture_id", m->capture_id);
		info_text(c, cap, "node", m->node);
		info_text(c, cap, "kernel", m->kernel);
		info_text(c, cap, "recorder", m->recorder);
		info_int(c, cap, "boot_to_wall_ns", m->boot_to_wall_ns);
		info_int(c, cap, "start_wall_ns", m->start_wall_ns);
		info_int(c, cap, "snaplen", m->snaplen);
	}
	info_int(c, cap, "events", (int64_t)sm.events);
	info_int(c, cap, "frames", (int64_t)sm.frames);
	info_int(c, cap, "segments", (int64_t)sm.segments);
	info_int(c, cap, "bytes_segments", (int64_t)sm.bytes_segments);
	info_int(c, cap, "bytes_index", (int64_t)sm.bytes_index);
	info_int(c, cap, "first_timestamp", sm.first_ts + off);
	info_int(c, cap, "last_timestamp", sm.last_ts + off);
}

static const struct rowtab capture_info_table = {capture_info_schema, INFO_NCOLS,
						 capture_info_fill};
const struct dnsreel_qtable dnsreel_qtable_capture_info = {"capture_info", &dnsreel_q_rowtab_module,
							   &capture_info_table, false};

/* ---- counters ----------------------------------------------------------------------------- */

enum { CNT_CAPTURE, CNT_NAME, CNT_VALUE, CNT_NCOLS };
static const char counters_schema[] = "CREATE TABLE x(capture TEXT, name TEXT, value INTEGER)";

static void counters_fill(struct rowtab_cur *c, const struct dnsreel_query *q, size_t ci)
{
	const struct dnsreel_capr *r = q->capr[ci];

	for (size_t i = 0; i < dnsreel_capr__counter_count(r); i++) {
		const struct dnsreel_counter *k = dnsreel_capr__counter_at(r, i);

		dnsreel_q_row_text(c, CNT_CAPTURE, q->paths[ci]);
		dnsreel_q_row_text(c, CNT_NAME, k->name);
		dnsreel_q_row_int(c, CNT_VALUE, (int64_t)k->value);
		dnsreel_q_row_end(c);
	}
}

static const struct rowtab counters_table = {counters_schema, CNT_NCOLS, counters_fill};
const struct dnsreel_qtable dnsreel_qtable_counters = {"counters", &dnsreel_q_rowtab_module,
						       &counters_table, false};
