/* One captured packet: where and when it was seen, its endpoints, the process that sent or
 * received it when known, and the DNS bytes (the L4 payload) up to the snap length.
 * This is the in-memory form; the on-disk encoding lives in format/FORMAT.md.
 */
#ifndef DNSREEL_EVENT_H
#define DNSREEL_EVENT_H

#include <stdbool.h>
#include <stdint.h>

/* Packet types as AF_PACKET reports them (linux/if_packet.h PACKET_*). */
enum dnsreel_pkt_type {
	DNSREEL_PKT_HOST = 0,
	DNSREEL_PKT_BROADCAST = 1,
	DNSREEL_PKT_MULTICAST = 2,
	DNSREEL_PKT_OTHERHOST = 3,
	DNSREEL_PKT_OUTGOING = 4,
	DNSREEL_PKT_LOOPBACK = 5,
	DNSREEL_PKT_USER = 6,
	DNSREEL_PKT_KERNEL = 7,
};

/* Name as trace_dns prints it ("HOST", "OUTGOING", ...); "UNKNOWN" past the table. */
const char *dnsreel_pkt_type_name(unsigned pkt_type);

enum dnsreel_event_flags {
	DNSREEL_EV_PROC = 1u << 0,      /* pid/tid/uid/gid/comm/cgroup_id are filled */
	DNSREEL_EV_TRUNCATED = 1u << 1, /* payload cut at the snap length (cap_len < orig_len) */
	DNSREEL_EV_BADCSUM = 1u << 2,   /* reserved: L4 checksum known bad */
	DNSREEL_EV_FRAGMENT = 1u << 3,  /* IP fragment: payload is what the fragment carried */
};

#define DNSREEL_COMM_LEN 16

struct dnsreel_event {
	int64_t ts_ns;      /* CLOCK_BOOTTIME ns of the node that recorded it */
	uint64_t netns;     /* network namespace inode number */
	uint32_t ifindex;   /* interface index inside that netns */
	uint8_t pkt_type;   /* enum dnsreel_pkt_type */
	uint8_t ip_version; /* 4 or 6 */
	uint8_t proto;      /* IPPROTO_UDP (17) or IPPROTO_TCP (6) */
	uint8_t tcp_flags;  /* TCP header flags byte (FIN=1 SYN=2 RST=4 PSH=8 ACK=16), 0 for UDP */
	uint32_t tcp_seq;   /* TCP sequence number of the first payload byte, 0 for UDP */
	uint8_t src_addr[16]; /* IPv4 in the first 4 bytes, rest zero */
	uint8_t dst_addr[16];
	uint16_t src_port; /* host byte order */
	uint16_t dst_port;
	uint32_t flags;    /* enum dnsreel_event_flags */
	uint32_t pid;      /* process (tgid), valid with DNSREEL_EV_PROC */
	uint32_t tid;
	uint32_t uid;
	uint32_t gid;
	uint64_t cgroup_id;
	char comm[DNSREEL_COMM_LEN]; /* NUL-terminated */
	uint32_t orig_len; /* L4 payload length on the wire */
	uint32_t cap_len;  /* bytes in payload (<= orig_len, <= snap length) */
	const uint8_t *payload; /* L4 payload: a DNS message for UDP, stream bytes for TCP.
				 * Not owned: points into caller or reader memory. */
};

/* Renders addr:port as trace_dns does ("10.0.0.1:53", "[fd00::1]:53" for v6 when with_port).
 * Returns the length written (snprintf rules). */
int dnsreel_event_addr_str(const struct dnsreel_event *ev, bool src, bool with_port, char *buf,
			   size_t len);

#endif
