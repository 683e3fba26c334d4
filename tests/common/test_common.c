/* common/: error texts, the checked wall clock, hashing (pinned: capture catalogs store these
 * hashes in their bloom filters, so a change would make old captures' name pruning wrong),
 * packet type names and address text. */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "check.h"
#include "dnsreel.h"

static void test_errors(void)
{
	static const int codes[] = {DNSREEL_E_CORRUPT,	  DNSREEL_E_TRUNCATED, DNSREEL_E_VERSION,
				    DNSREEL_E_ZSTD,	  DNSREEL_E_SQLITE,    DNSREEL_E_INDEX,
				    DNSREEL_E_NOTCAPTURE, DNSREEL_E_PARSE,     DNSREEL_E_LIMIT,
				    DNSREEL_E_ARG,	  DNSREEL_E_STATE};
	for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
		CHECK(codes[i] < -1000); /* negative already, apart from errno */
		CHECK(strcmp(dnsreel_strerror(codes[i]), "unknown error") != 0);
	}
	CHECK_STR(dnsreel_strerror(0), "success");
	CHECK_STR(dnsreel_strerror(-ENOENT), "No such file or directory");
	/* a negated code (the bug the convention rules out) is not mistaken for another */
	CHECK_STR(dnsreel_strerror(1010), "unknown error");
}

static void test_wall(void)
{
	int64_t w = 1;
	CHECK_INT(dnsreel_wall_ns(5, 10, &w), 0);
	CHECK_INT(w, 15);
	CHECK_INT(dnsreel_wall_ns(INT64_MAX - 1, 2, &w), DNSREEL_E_CORRUPT);
	CHECK_INT(dnsreel_wall_ns(INT64_MIN + 1, -2, &w), DNSREEL_E_CORRUPT);
	CHECK_INT(dnsreel_wall_ns(0, -1, &w), DNSREEL_E_CORRUPT); /* before 1970 */
	CHECK_INT(dnsreel_wall_ns(1000, INT64_MAX - 1000, &w), 0);
	CHECK_INT(w, INT64_MAX);
}

static void test_hash(void)
{
	CHECK(dnsreel_hash_bytes("", 0, 0) == 0);
	CHECK(dnsreel_hash_bytes("www.example.test.", 17, 1) == 0xe5699d5eb75dc41cull);
	CHECK(dnsreel_hash_bytes("abcdefgh12345", 13, 3) == 0xb02e70ecd43da5ffull);
	CHECK(dnsreel_mix64(1) == 0xb456bcfc34c2cb2cull);
	CHECK(dnsreel_hash_bytes("abcdefgh12345", 13, 3) !=
	      dnsreel_hash_bytes("abcdefgh12345", 13, 4));
	/* every length and alignment against the byte-at-a-time definition */
	uint8_t buf[80];
	uint64_t x = 0x243f6a8885a308d3ull;
	for (size_t i = 0; i < sizeof(buf); i++) {
		x = x * 6364136223846793005ull + 1442695040888963407ull;
		buf[i] = (uint8_t)(x >> 56);
	}
	for (size_t off = 0; off < 8; off++)
		for (size_t n = 0; n + off <= 72; n++) {
			const uint8_t *p = buf + off;
			uint64_t h = 7 ^ (n * 0x9e3779b97f4a7c15ull);
			size_t i = 0;
			for (; i + 8 <= n; i += 8) {
				uint64_t v = 0;
				for (int j = 7; j >= 0; j--)
					v = v << 8 | p[i + (size_t)j];
				h = (h ^ v) * 0x100000001b3ull;
				h = (h << 29) | (h >> 35);
			}
			uint64_t t = 0;
			for (size_t j = 0; i + j < n; j++)
				t |= (uint64_t)p[i + j] << (8 * j);
			h = (h ^ t) * 0x100000001b3ull;
			CHECK(dnsreel_hash_bytes(p, n, 7) == dnsreel_mix64(h));
		}
}

static void test_names(void)
{
	static const char *const want[] = {"HOST",     "BROADCAST", "MULTICAST", "OTHERHOST",
					   "OUTGOING", "LOOPBACK",  "USER",	 "KERNEL"};
	for (unsigned i = 0; i < 8; i++)
		CHECK_STR(dnsreel_pkt_type_name(i), want[i]);
	CHECK_STR(dnsreel_pkt_type_name(8), "UNKNOWN");
	CHECK_STR(dnsreel_pkt_type_name(~0u), "UNKNOWN");
}

static void test_addr(void)
{
	char b[DNSREEL_ADDR_TEXT_LEN];
	const uint8_t v4[16] = {10, 244, 0, 4}, v4b[16] = {0, 9, 100, 255};
	uint8_t v6[16] = {0xfd, 0x00};
	v6[15] = 0xa;
	CHECK_INT(dnsreel_addr_text(4, v4, -1, b), 10);
	CHECK_STR(b, "10.244.0.4");
	dnsreel_addr_text(4, v4, 51340, b);
	CHECK_STR(b, "10.244.0.4:51340");
	dnsreel_addr_text(4, v4b, 0, b);
	CHECK_STR(b, "0.9.100.255:0");
	dnsreel_addr_text(6, v6, -1, b);
	CHECK_STR(b, "fd00::a");
	dnsreel_addr_text(6, v6, 53, b);
	CHECK_STR(b, "[fd00::a]:53");
	uint8_t full[16];
	memset(full, 0xff, sizeof(full));
	CHECK_INT(dnsreel_addr_text(6, full, 65535, b),
		  strlen("[ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff]:65535"));
}

int main(void)
{
	test_errors();
	test_wall();
	test_hash();
	test_names();
	test_addr();
	return check_done("test_common");
}
