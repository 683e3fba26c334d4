/* Invariant: any bytes, parsed as a DNS message, never crash the parser, the RR iterator, the
 * name decoder or the RDATA printer, and every result stays inside the buffer: offsets and
 * lengths within the message, every text NUL-terminated inside its array. The record built
 * from them renders every field without crashing either. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dns.h"
#include "view.h"

#define REQUIRE(c)                                                                                 \
	do {                                                                                       \
		if (!(c))                                                                          \
			abort();                                                                   \
	} while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct dnsreel_dns d;
	/* an exact-size copy so any read past the end is caught by ASan */
	uint8_t *m = malloc(size ? size : 1);
	if (!m)
		return 0;
	memcpy(m, data, size);

	int rc = dnsreel_dns_parse(m, size, &d);
	REQUIRE(rc == d.err);
	REQUIRE(rc == 0 || (d.err_off <= size && d.err_what));
	REQUIRE(memchr(d.qname, 0, sizeof(d.qname)));
	REQUIRE(memchr(d.addresses, 0, sizeof(d.addresses)));
	REQUIRE(memchr(d.edns_client_subnet, 0, sizeof(d.edns_client_subnet)));
	REQUIRE(d.num_answers <= d.ancount);

	struct dnsreel_dns_iter it;
	struct dnsreel_dns_rr rr;
	char buf[2048];
	int n = 0;
	dnsreel_dns_iter_init(&it, m, size);
	while (dnsreel_dns_iter_next(&it, &rr) == 1) {
		REQUIRE((size_t)rr.rdata_off + rr.rdlen <= size);
		REQUIRE(memchr(rr.name, 0, sizeof(rr.name)));
		int w = dnsreel_dns_rdata_str(m, size, &rr, buf, sizeof(buf));
		REQUIRE(w < (int)sizeof(buf));
		REQUIRE(w < 0 || strlen(buf) == (size_t)w);
		w = dnsreel_dns_rdata_str(m, size, &rr, buf, 9); /* small buffers stay bounded */
		REQUIRE(w < 9);
		n++;
	}
	REQUIRE(n <= 3 * 65535);

	/* names from a few arbitrary offsets */
	for (size_t off = 0; off < size && off < 64; off += 7) {
		size_t next = 0;
		char name[DNSREEL_DNS_NAME_MAX];
		if (dnsreel_dns_name(m, size, off, name, sizeof(name), &next) == 0) {
			REQUIRE(next > off && next <= size);
			REQUIRE(strlen(name) < sizeof(name));
		}
	}

	/* every field of a record made from it */
	struct dnsreel_event ev;
	memset(&ev, 0, sizeof(ev));
	ev.ip_version = size && (data[0] & 1) ? 6 : 4;
	ev.proto = 17;
	ev.payload = m;
	ev.cap_len = ev.orig_len = (uint32_t)size;
	struct dnsreel_rec rec;
	memset(&rec, 0, sizeof(rec));
	rec.ev = &ev;
	rec.msg = m;
	rec.msg_len = (uint32_t)size;
	rec.dns = d;
	for (int f = 0; f < DNSREEL_F_COUNT_; f++) {
		struct dnsreel_value v;
		char vb[256];
		dnsreel_rec__value(&rec, (enum dnsreel_field_id)f, &v, vb, sizeof(vb));
		REQUIRE(v.null || v.s || v.type != DNSREEL_FT_STR);
	}
	free(m);
	return 0;
}
