/* Invariant: any sequence of TCP segments (flags, sequence numbers, lengths, snap cuts, in any
 * order, across a few streams) never crashes the DNS-over-TCP reassembler, every message it
 * hands out lies inside its buffer and is at most 65535 bytes, and memory stays bounded.
 *
 * Input: records of 6 header bytes [flags][stream][seq delta hi][seq delta lo][len][cut]
 * followed by len payload bytes (fewer at the end of the input). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "view.h"

#define REQUIRE(c)                                                                                 \
	do {                                                                                       \
		if (!(c))                                                                          \
			abort();                                                                   \
	} while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int on_rec(void *arg, const struct dnsreel_rec *rec)
{
	size_t *total = arg;
	REQUIRE(rec->msg_len <= 65535);
	/* touch every byte: ASan catches anything outside the buffer */
	uint8_t x = 0;
	for (uint32_t i = 0; i < rec->msg_len; i++)
		x ^= rec->msg[i];
	*total += x + rec->msg_len;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dnsreel_decoder *d = NULL;
	struct dnsreel_decoder_opts o = {
	    .sz = sizeof(o), .max_tcp_bytes = 16 * 1024, .query_timeout_ns = 1000000};
	if (dnsreel_decoder__new(&d, NULL, &o))
		return 0;
	uint32_t seq[4] = {1000, 5000, 0xfffffff0u, 77};
	size_t pos = 0, total = 0;
	int64_t ts = 0;
	while (pos + 6 <= size) {
		const uint8_t *h = data + pos;
		pos += 6;
		size_t len = h[4];
		if (len > size - pos)
			len = size - pos;
		uint8_t *p = malloc(len ? len : 1);
		if (!p)
			break;
		memcpy(p, data + pos, len);
		pos += len;
		struct dnsreel_event ev;
		memset(&ev, 0, sizeof(ev));
		unsigned s = h[1] & 3;
		ev.ts_ns = ts += 1000 * (h[5] + 1);
		ev.netns = 1;
		ev.ip_version = 4;
		ev.proto = 6;
		ev.src_addr[3] = (uint8_t)s;
		ev.src_port = 53;
		ev.dst_port = (uint16_t)(1000 + (h[1] >> 2));
		ev.tcp_flags = h[0];
		/* the delta moves the stream's sequence back or forward: overlaps, gaps, resends */
		int16_t delta = (int16_t)((h[2] << 8) | h[3]);
		ev.tcp_seq = seq[s] + (uint32_t)(int32_t)delta;
		seq[s] = ev.tcp_seq + (uint32_t)len;
		ev.payload = p;
		ev.orig_len = (uint32_t)len;
		ev.cap_len = (uint32_t)(h[5] & 0x80 ? len / 2 : len); /* snap length cuts */
		int rc = dnsreel_decoder__feed(d, 0, 0, &ev, on_rec, &total);
		REQUIRE(rc == 0);
		free(p);
	}
	dnsreel_decoder__free(d);
	return 0;
}
