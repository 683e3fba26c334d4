/* Invariant: any text as a -F expression, a --since/--until time or a duration never crashes
 * the parsers, never overflows (UBSan), and what they accept behaves: a parsed time formats
 * back without error (int64 ns stay inside 1677..2262), and a filter that was accepted
 * matches a record in bounded time (regular expressions run on PCRE2's DFA matcher).
 *
 * Input: the first byte picks the parser (bit 0: filter expression, else time), the rest is
 * the text (cut at the first NUL).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dns.h"
#include "view.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define REQUIRE(c)                                                                                 \
	do {                                                                                       \
		if (!(c))                                                                          \
			abort();                                                                   \
	} while (0)

/* A response for www.example.test. A with one answer. */
static const uint8_t msg[] = {0x12, 0x34, 0x81, 0x80, 0,   1,	0,   1,	  0,	0,   0,	  0, 3,
			      'w',  'w',  'w',	7,    'e', 'x', 'a', 'm', 'p',	'l', 'e', 4, 't',
			      'e',  's',  't',	0,    0,   1,	0,   1,	  0xc0, 12,  0,	  1, 0,
			      1,    0,	  0,	0,    60,  0,	4,   10,  0,	0,   1};

static struct dnsreel_ctx *ctx;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1 || size > 4096)
		return 0;
	if (!ctx && dnsreel_ctx__new(&ctx))
		return 0;
	char *text = malloc(size);
	if (!text)
		return 0;
	memcpy(text, data + 1, size - 1);
	text[size - 1] = 0;
	if (data[0] & 1) {
		struct dnsreel_filter *f;
		if (dnsreel_filter__new(&f) == 0) {
			char err[256];
			if (dnsreel_filter__add(f, text, err, sizeof(err)) == 0) {
				struct dnsreel_event ev;
				memset(&ev, 0, sizeof(ev));
				ev.ts_ns = 1000;
				ev.ip_version = 4;
				ev.proto = 17;
				ev.src_port = 53;
				ev.dst_port = 40000;
				ev.payload = msg;
				ev.cap_len = ev.orig_len = sizeof(msg);
				struct dnsreel_rec rec;
				memset(&rec, 0, sizeof(rec));
				rec.ctx = ctx;
				rec.ev = &ev;
				rec.wall_ns = 1764144000000000000LL;
				rec.msg = msg;
				rec.msg_len = sizeof(msg);
				dnsreel_dns_parse(msg, sizeof(msg), &rec.dns);
				(void)dnsreel_filter__match(f, &rec);
			}
			dnsreel_filter__free(f);
		}
	} else {
		int64_t t;
		if (dnsreel_parse_time(text, 1764144000000000000LL, &t) == 0) {
			char buf[64];
			int n = dnsreel_format_time(t, buf, sizeof(buf));
			REQUIRE(n > 0);
		}
	}
	free(text);
	return 0;
}
