/* Invariant: any bytes, as a DNS message or as a run of TCP segments, go through the
 * redactor's rewriter without crashing or reading outside the input, and whatever it writes
 * fits its buffer and parses back (dnswire) completely: no damage, no undecodable name, no
 * more records than the input claimed. The first byte picks the mode and the output size. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dns.h"
#include "dnsreel.h"
#include "redact.h"

#define REQUIRE(c)                                                                                 \
	do {                                                                                       \
		if (!(c))                                                                          \
			abort();                                                                   \
	} while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct dnsreel_redactor *redactor(void)
{
	static struct dnsreel_redactor *r;
	if (!r) {
		static const uint8_t key[32] = "fuzz-key-fuzz-key-fuzz-key-fuzz";
		const char *keep[] = {"cluster.local.", "in-addr.arpa."};
		struct dnsreel_redact_opts o = {.sz = sizeof(o), .keep_suffix = keep, .n_keep = 2};
		REQUIRE(dnsreel_redactor__new(&r, key, sizeof(key), &o) == 0);
	}
	return r;
}

static void check_message(const uint8_t *in, size_t inlen, const uint8_t *out, int n, size_t cap)
{
	REQUIRE(n >= 12 && (size_t)n <= cap);
	static struct dnsreel_dns d;
	REQUIRE(dnsreel_dns_parse(out, (size_t)n, &d) == 0);
	REQUIRE(d.bad_names == 0);
	REQUIRE(!memcmp(out, in, 4)); /* id and flags kept */
	REQUIRE(inlen >= 12);
	for (int s = 0; s < 4; s++)
		REQUIRE((out[4 + 2 * s] << 8 | out[5 + 2 * s]) <=
			(in[4 + 2 * s] << 8 | in[5 + 2 * s]));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	struct dnsreel_redactor *r = redactor();
	uint8_t mode = data[0];
	size_t len = size - 1;
	uint8_t *m = malloc(len ? len : 1); /* exact size: ASan sees any read past the end */
	if (!m)
		return 0;
	memcpy(m, data + 1, len);
	static uint8_t out[65536 + 2];
	if (mode < 0x80) {
		size_t cap = mode < 0x40 ? 65535 : 12 + (size_t)(mode & 0x3F) * 8;
		int n = dnsreel_redactor__message(r, m, len, out, cap);
		REQUIRE(n >= 0 || n == DNSREEL_E_PARSE);
		if (n >= 0)
			check_message(m, len, out, n, cap);
		uint8_t name[256];
		if (len && len <= 255)
			(void)dnsreel_redactor__wire_name(r, m, len, name);
	} else {
		/* TCP: segments of [u8 seq step][u8 flags][u8 length] + bytes, one stream */
		struct dnsreel_event ev = {
		    .ip_version = 4, .proto = 6, .netns = 1, .src_port = 53, .dst_port = 4000};
		uint32_t seq = 1000;
		size_t off = 0;
		while (len - off >= 3) {
			seq += (uint32_t)(int8_t)m[off];
			uint8_t fl = m[off + 1];
			size_t l = m[off + 2];
			off += 3;
			if (l > len - off)
				l = len - off;
			uint8_t *seg = malloc(l ? l : 1);
			if (!seg)
				break;
			memcpy(seg, m + off, l);
			ev.tcp_seq = seq;
			ev.tcp_flags = fl & 0x1F;
			ev.payload = seg;
			ev.cap_len = (uint32_t)l;
			ev.orig_len = (uint32_t)l + (fl & 0x80 ? 7 : 0);
			ev.src_addr[0] = 10, ev.dst_addr[0] = 10, ev.dst_addr[3] = 2;
			REQUIRE(dnsreel_redactor__event(r, &ev, out, sizeof(out)) == 0);
			REQUIRE(ev.cap_len <= sizeof(out) && ev.cap_len == ev.orig_len);
			/* what goes out is whole messages, each parsing */
			size_t o = 0;
			while (o < ev.cap_len) {
				REQUIRE(ev.cap_len - o >= 2);
				size_t ml = (size_t)out[o] << 8 | out[o + 1];
				REQUIRE(ev.cap_len - o - 2 >= ml);
				static struct dnsreel_dns d;
				REQUIRE(dnsreel_dns_parse(out + o + 2, ml, &d) == 0);
				o += 2 + ml;
			}
			free(seg);
			off += l;
			seq += (uint32_t)l;
		}
	}
	free(m);
	return 0;
}
