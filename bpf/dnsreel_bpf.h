/* Records the kernel programs (dnsreel_pkt.bpf.c, dnsreel_proc.bpf.c) pass to user space
 * through the one shared ring buffer, and the indexes of their per-CPU counters.
 * Included by both sides: fixed-width fields only, explicit padding, sizes asserted.
 * Ring-buffer records are not the on-disk format (that is capture/FORMAT.md).
 */
#ifndef DNSREEL_BPF_H
#define DNSREEL_BPF_H

#ifdef __BPF__
/* vmlinux.h (or the kernel UAPI) provides __u8..__u64 on the kernel side. */
#else
#include <linux/types.h>
#endif

/* Every record starts with this header; user space checks type and that len fits the
 * sample the ring buffer handed over before reading anything else. */
enum dnsreel_rec_type {
	DNSREEL_REC_PKT = 1,  /* struct dnsreel_pkt_rec + packet bytes from L3 */
	DNSREEL_REC_PROC = 2, /* struct dnsreel_proc_rec */
};

struct dnsreel_rec_hdr {
	__u16 type; /* enum dnsreel_rec_type */
	__u16 pad;
	__u32 len; /* bytes of the whole record including this header */
};

enum dnsreel_pkt_flags {
	DNSREEL_PKTF_FRAGMENT = 1 << 0,	 /* IP fragment (first or later) */
	DNSREEL_PKTF_MALFORMED = 1 << 1, /* ports matched but a header length lies */
};

/* One packet seen by the socket filter of one netns. data[] holds cap_len bytes starting at
 * the network header (the AF_PACKET socket is SOCK_DGRAM so the link header is gone). */
struct dnsreel_pkt_rec {
	struct dnsreel_rec_hdr hdr;
	__u64 ts_ns;	/* bpf_ktime_get_boot_ns() */
	__u64 netns;	/* netns inode number of the socket filter instance */
	__u64 cookie;	/* socket cookie of skb->sk (sending socket), 0 when none */
	__u32 ifindex;	/* skb->ifindex */
	__u32 pkt_len;	/* skb->len from the network header */
	__u32 cap_len;	/* bytes in data[] */
	__u16 l3_proto; /* ETH_P_IP / ETH_P_IPV6, host order */
	__u8 pkt_type;	/* PACKET_HOST .. PACKET_OUTGOING */
	__u8 flags;	/* enum dnsreel_pkt_flags */
	__u8 data[];
};

enum dnsreel_proc_dir {
	DNSREEL_DIR_SEND = 1,
	DNSREEL_DIR_RECV = 2,
};

/* Which process used which socket: emitted by the sock send/recv tracepoints when a socket is
 * new to them, changes owner thread, or was last reported more than a second ago. */
struct dnsreel_proc_rec {
	struct dnsreel_rec_hdr hdr;
	__u64 ts_ns;
	__u64 netns;  /* inode of the socket's netns */
	__u64 cookie; /* socket cookie */
	__u64 cgroup_id;
	__u32 pid; /* tgid */
	__u32 tid;
	__u32 uid;
	__u32 gid;
	__u8 laddr[16]; /* local address, IPv4 in the first 4 bytes; all zero = wildcard */
	__u8 raddr[16]; /* remote address of a connected socket */
	__u16 lport;	/* host order */
	__u16 rport;	/* host order, 0 when unconnected */
	__u16 family;	/* AF_INET / AF_INET6 */
	__u8 proto;	/* IPPROTO_UDP / IPPROTO_TCP */
	__u8 dir;	/* enum dnsreel_proc_dir */
	char comm[16];
};

/* Per-CPU counters (array map "counters"), summed by user space. */
enum dnsreel_counter_idx {
	DNSREEL_CNT_PKT_SEEN = 0,    /* packets inspected by the socket filters */
	DNSREEL_CNT_PKT_MATCHED = 1, /* packets on a recorded port */
	DNSREEL_CNT_RB_LOST = 2,     /* bpf_ringbuf_reserve failed for a packet */
	DNSREEL_CNT_MALFORMED = 3,   /* headers that lie (passed on with a flag) */
	DNSREEL_CNT_SHORT = 4,	     /* IP/UDP/TCP header cut before the ports */
	DNSREEL_CNT_FRAG_LATER = 5,  /* later IP fragments of a recorded datagram */
	DNSREEL_CNT_PROC_LOST = 6,   /* bpf_ringbuf_reserve failed for a proc record */
	DNSREEL_CNT_PROC_EMIT = 7,   /* proc records emitted */
	DNSREEL_CNT_IPV6_DEEP = 8,   /* IPv6 extension chain longer than we walk */
	/* Not a counter: a flag user space sets on every CPU before it sleeps with the ring
	 * empty; a packet program that finds it set on its CPU clears it and wakes the consumer
	 * (dnsreel_inspect.bpf.h). */
	DNSREEL_CNT_WAKE = 9,
	DNSREEL_CNT_MAX = 16,
};

#define DNSREEL_RB_HDR_LEN 48 /* sizeof(struct dnsreel_pkt_rec) */
/* Largest packet record: a whole 64 KiB L4 payload plus IPv6 (with ext headers) + TCP. */
#define DNSREEL_MAX_CAP (65536 + 1024)

#ifndef __cplusplus
_Static_assert(sizeof(struct dnsreel_rec_hdr) == 8, "rec_hdr size");
_Static_assert(sizeof(struct dnsreel_pkt_rec) == DNSREEL_RB_HDR_LEN, "pkt_rec size");
_Static_assert(sizeof(struct dnsreel_proc_rec) == 112, "proc_rec size");
#endif

#endif
