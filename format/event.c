/* Event helpers: packet type names and endpoint rendering as trace_dns prints them. */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "event.h"
#include "fmt_int.h"

static const char *const pkt_names[] = {
    "HOST", "BROADCAST", "MULTICAST", "OTHERHOST", "OUTGOING", "LOOPBACK", "USER", "KERNEL",
};

const char *dnsreel_pkt_type_name(unsigned pkt_type)
{
	if (pkt_type < sizeof(pkt_names) / sizeof(pkt_names[0]))
		return pkt_names[pkt_type];
	return "UNKNOWN";
}

void dr_addr_str(uint8_t ip_version, const uint8_t *addr, char *buf, size_t len)
{
	char tmp[INET6_ADDRSTRLEN];
	if (ip_version == 6) {
		if (!inet_ntop(AF_INET6, addr, tmp, sizeof(tmp)))
			tmp[0] = 0;
	} else {
		snprintf(tmp, sizeof(tmp), "%u.%u.%u.%u", addr[0], addr[1], addr[2], addr[3]);
	}
	snprintf(buf, len, "%s", tmp);
}

int dnsreel_event_addr_str(const struct dnsreel_event *ev, bool src, bool with_port, char *buf,
			   size_t len)
{
	char a[INET6_ADDRSTRLEN];
	dr_addr_str(ev->ip_version, src ? ev->src_addr : ev->dst_addr, a, sizeof(a));
	unsigned port = src ? ev->src_port : ev->dst_port;
	if (!with_port)
		return snprintf(buf, len, "%s", a);
	if (ev->ip_version == 6)
		return snprintf(buf, len, "[%s]:%u", a, port);
	return snprintf(buf, len, "%s:%u", a, port);
}
