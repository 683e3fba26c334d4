/* Packet bytes (from the network header) into a dnsreel_event. Every length is checked
 * against the bytes really present. */
#include "parse.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

static uint16_t rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

int dnsreel_parse_packet(const uint8_t *p, uint32_t cap, uint32_t pkt_len, uint16_t l3_proto,
			 struct dnsreel_event *ev)
{
	uint32_t l4off, l4end, proto;
	bool later_frag = false, lie = false;

	if (cap > pkt_len)
		pkt_len = cap;
	if (cap < 1)
		return DNSREEL_PARSE_SHORT;
	if (l3_proto == 0)
		l3_proto = (p[0] >> 4) == 6 ? 0x86DD : 0x0800;
	memset(ev->src_addr, 0, sizeof(ev->src_addr));
	memset(ev->dst_addr, 0, sizeof(ev->dst_addr));
	ev->src_port = ev->dst_port = 0;
	ev->tcp_seq = 0;
	ev->tcp_flags = 0;

	if (l3_proto == 0x0800) {
		if (cap < 20)
			return DNSREEL_PARSE_SHORT;
		if ((p[0] >> 4) != 4 || (p[0] & 15) < 5)
			return DNSREEL_PARSE_BADHDR;
		l4off = (p[0] & 15) * 4u;
		if (l4off > cap)
			return DNSREEL_PARSE_SHORT; /* options cut */
		l4end = rd16(p + 2);
		proto = p[9];
		uint16_t fo = rd16(p + 6);
		if (fo & 0x3fff)
			ev->flags |= DNSREEL_EV_FRAGMENT;
		if (fo & 0x1fff)
			later_frag = true;
		ev->ip_version = 4;
		memcpy(ev->src_addr, p + 12, 4);
		memcpy(ev->dst_addr, p + 16, 4);
		/* tot_len 0 (GSO/BIG TCP) or past the packet: the packet length rules. */
		if (l4end < l4off) {
			if (l4end != 0)
				lie = true;
			l4end = pkt_len;
		} else if (l4end > pkt_len) {
			lie = true;
			l4end = pkt_len;
		}
	} else if (l3_proto == 0x86DD) {
		if (cap < 40)
			return DNSREEL_PARSE_SHORT;
		if ((p[0] >> 4) != 6)
			return DNSREEL_PARSE_BADHDR;
		ev->ip_version = 6;
		memcpy(ev->src_addr, p + 8, 16);
		memcpy(ev->dst_addr, p + 24, 16);
		l4off = 40;
		l4end = 40u + rd16(p + 4);
		if (rd16(p + 4) == 0) {
			l4end = pkt_len; /* jumbogram or GSO */
		} else if (l4end > pkt_len) {
			lie = true;
			l4end = pkt_len;
		}
		proto = p[6];
		/* Same bound as the kernel walk: six extension headers. */
		int i;
		for (i = 0; i < 6; i++) {
			if (proto != 0 && proto != 43 && proto != 60 && proto != 44 && proto != 51)
				break;
			if (l4off + 8 > cap)
				return DNSREEL_PARSE_SHORT;
			const uint8_t *eh = p + l4off;
			if (proto == 44) {
				ev->flags |= DNSREEL_EV_FRAGMENT;
				if (rd16(eh + 2) & 0xfff8)
					later_frag = true;
				l4off += 8;
			} else if (proto == 51) {
				l4off += (eh[1] + 2u) * 4;
			} else {
				l4off += (eh[1] + 1u) * 8;
			}
			proto = eh[0];
			if (later_frag)
				break;
		}
		if (i == 6)
			return DNSREEL_PARSE_NOTL4;
		if (l4off > l4end) {
			lie = true;
			if (l4off > cap)
				return DNSREEL_PARSE_SHORT;
		}
	} else {
		return DNSREEL_PARSE_NOTL4;
	}
	if (proto != 17 && proto != 6)
		return DNSREEL_PARSE_NOTL4;
	ev->proto = (uint8_t)proto;
	if (l4end > pkt_len)
		l4end = pkt_len;

	uint32_t payoff;
	if (later_frag) {
		/* No transport header in a later fragment: keep the bytes it carries. */
		if (l4off > cap)
			return DNSREEL_PARSE_SHORT;
		payoff = l4off;
	} else if (proto == 17) {
		if (l4off + 8 > cap)
			return DNSREEL_PARSE_SHORT;
		const uint8_t *u = p + l4off;
		ev->src_port = rd16(u);
		ev->dst_port = rd16(u + 2);
		payoff = l4off + 8;
		uint16_t ulen = rd16(u + 4);
		if (payoff > l4end) {
			lie = true;
			l4end = payoff;
		}
		/* A fragmented datagram's UDP length covers all fragments; otherwise it must fit.
		 */
		if (!(ev->flags & DNSREEL_EV_FRAGMENT)) {
			if (ulen < 8 || l4off + ulen > l4end)
				lie = true;
			else if (l4off + ulen < l4end)
				l4end = l4off + ulen; /* link padding after the datagram */
		}
	} else {
		if (l4off + 20 > cap)
			return DNSREEL_PARSE_SHORT;
		const uint8_t *t = p + l4off;
		ev->src_port = rd16(t);
		ev->dst_port = rd16(t + 2);
		ev->tcp_seq = rd32(t + 4);
		ev->tcp_flags = t[13];
		uint32_t doff = (t[12] >> 4) * 4u;
		if (doff < 20)
			return DNSREEL_PARSE_BADHDR;
		payoff = l4off + doff;
		if (payoff > cap)
			return DNSREEL_PARSE_SHORT;
		if (payoff > l4end) {
			lie = true;
			l4end = payoff;
		}
	}
	ev->orig_len = l4end - payoff;
	uint32_t have = cap > payoff ? cap - payoff : 0;
	ev->cap_len = have < ev->orig_len ? have : ev->orig_len;
	ev->payload = p + payoff;
	if (ev->cap_len < ev->orig_len)
		ev->flags |= DNSREEL_EV_TRUNCATED;
	return lie ? DNSREEL_PARSE_LENLIE : DNSREEL_PARSE_OK;
}

int dnsreel_parse_ports(const char *csv, uint8_t bits[8192])
{
	memset(bits, 0, 8192);
	const char *s = csv;
	int n = 0;
	while (*s) {
		char *end;
		errno = 0;
		unsigned long v = strtoul(s, &end, 10);
		if (end == s || errno || v == 0 || v > 65535)
			return -EINVAL;
		bits[v >> 3] |= (uint8_t)(1u << (v & 7));
		n++;
		s = end;
		if (*s == ',')
			s++;
		else if (*s)
			return -EINVAL;
	}
	return n ? 0 : -EINVAL;
}

int dnsreel_parse_addr(const char *s, uint8_t addr[16])
{
	memset(addr, 0, 16);
	if (inet_pton(AF_INET, s, addr) == 1)
		return 4;
	if (inet_pton(AF_INET6, s, addr) == 1)
		return 6;
	return 0;
}
