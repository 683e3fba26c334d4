/* Hashing, packet type names and address text shared by the libraries. */
#include <arpa/inet.h>
#include <string.h>

#include "dnsreel.h"

int dnsreel_wall_ns(int64_t boot_ns, int64_t boot_to_wall_ns, int64_t *wall)
{
	if ((boot_to_wall_ns > 0 && boot_ns > INT64_MAX - boot_to_wall_ns) ||
	    (boot_to_wall_ns < 0 && boot_ns < INT64_MIN - boot_to_wall_ns)) {
		*wall = 0;
		return DNSREEL_E_CORRUPT;
	}
	*wall = boot_ns + boot_to_wall_ns;
	/* no recorder ran before 1970: a negative wall time is a damaged offset */
	return *wall < 0 ? DNSREEL_E_CORRUPT : 0;
}

/* Little-endian loads: one load each where the host is little-endian (GCC leaves the byte loop
 * a loop; the writer hashes every payload, question and tuple), the same values elsewhere. */
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
static uint64_t rd64le(const uint8_t *p)
{
	uint64_t v;
	memcpy(&v, p, 8);
	return v;
}

static uint64_t rd_tail_le(const uint8_t *p, size_t n)
{
	uint64_t t = 0;
	size_t o = 0;
	if (n & 4) {
		uint32_t v;
		memcpy(&v, p, 4);
		t = v;
		o = 4;
	}
	if (n & 2) {
		uint16_t v;
		memcpy(&v, p + o, 2);
		t |= (uint64_t)v << (8 * o);
		o += 2;
	}
	if (n & 1)
		t |= (uint64_t)p[o] << (8 * o);
	return t;
}
#else
static uint64_t rd64le(const uint8_t *p)
{
	uint64_t v = 0;
	for (int i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

static uint64_t rd_tail_le(const uint8_t *p, size_t n)
{
	uint64_t t = 0;
	for (size_t i = 0; i < n; i++)
		t |= (uint64_t)p[i] << (8 * i);
	return t;
}
#endif

uint64_t dnsreel_hash_bytes(const void *data, size_t n, uint64_t seed)
{
	const uint8_t *p = data;
	uint64_t h = seed ^ (n * 0x9e3779b97f4a7c15ull);
	while (n >= 8) {
		h = (h ^ rd64le(p)) * 0x100000001b3ull;
		h = (h << 29) | (h >> 35);
		p += 8;
		n -= 8;
	}
	h = (h ^ rd_tail_le(p, n)) * 0x100000001b3ull;
	return dnsreel_mix64(h);
}

static const char *const pkt_names[] = {
    "HOST", "BROADCAST", "MULTICAST", "OTHERHOST", "OUTGOING", "LOOPBACK", "USER", "KERNEL",
};

const char *dnsreel_pkt_type_name(unsigned pkt_type)
{
	if (pkt_type < sizeof(pkt_names) / sizeof(pkt_names[0]))
		return pkt_names[pkt_type];
	if (pkt_type == 16) /* DNSREEL_PKT_DNSTAP: a server's own report, not a packet */
		return "DNSTAP";
	return "UNKNOWN";
}

/* Decimal digits of v at d; no snprintf: printers call this for every event. */
static size_t put_u(char *d, unsigned v)
{
	char t[12];
	size_t n = 0;
	do {
		t[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	for (size_t i = 0; i < n; i++)
		d[i] = t[n - 1 - i];
	return n;
}

size_t dnsreel_addr_text(uint8_t ip_version, const uint8_t addr[16], int port, char *buf)
{
	size_t n = 0;
	if (ip_version == 6) {
		if (port >= 0)
			buf[n++] = '[';
		if (!inet_ntop(AF_INET6, addr, buf + n, INET6_ADDRSTRLEN))
			buf[n] = 0;
		n += strlen(buf + n);
		if (port >= 0)
			buf[n++] = ']';
	} else {
		for (int i = 0; i < 4; i++) {
			unsigned b = addr[i];
			if (i)
				buf[n++] = '.';
			if (b >= 100)
				buf[n++] = (char)('0' + b / 100);
			if (b >= 10)
				buf[n++] = (char)('0' + b / 10 % 10);
			buf[n++] = (char)('0' + b % 10);
		}
	}
	if (port >= 0) {
		buf[n++] = ':';
		n += put_u(buf + n, (unsigned)port);
	}
	buf[n] = 0;
	return n;
}
