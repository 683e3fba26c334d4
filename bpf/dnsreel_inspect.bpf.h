/* Kernel side only: the DNS packet inspection shared by the socket filter
 * (dnsreel_pkt.bpf.c) and the tc programs (dnsreel_tc.bpf.c): keeps UDP/TCP packets to or
 * from a recorded port and copies the network and transport headers plus the DNS bytes (up to
 * the snap length) into the shared ring buffer. The includer defines pkt_netns() first.
 * Included after vmlinux.h, bpf_helpers.h, bpf_endian.h, dnsreel_bpf.h and dnsreel_maps.bpf.h.
 */
#ifndef DNSREEL_INSPECT_BPF_H
#define DNSREEL_INSPECT_BPF_H

#define ETH_P_IP     0x0800
#define ETH_P_IPV6   0x86DD
#define IPPROTO_TCP_ 6
#define IPPROTO_UDP_ 17

const volatile __u32 snaplen = 65535;

/* First fragments of recorded datagrams, so their later fragments (which carry no ports)
 * are recorded too. Keyed by addresses, IP id and protocol. */
struct frag_key {
	__u8 src[16];
	__u8 dst[16];
	__u32 id;
	__u32 proto;
};
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 4096);
	__type(key, struct frag_key);
	__type(value, __u8);
} frags SEC(".maps");

/* Records do not wake the consumer while it polls (every 10 ms at most while the ring holds
 * anything): a wakeup is an irq_work (a self-IPI, on a VM an exit of microseconds), and once
 * the consumer lagged past any threshold, every packet would raise one. Only a consumer that
 * went to sleep with the ring empty is woken, once per CPU, by wake_consumer().
 * bpf_ringbuf_reserve() needs a constant size, so records come in a few size classes and the
 * copy length is clamped to the class (which also bounds it for the verifier). */
#define EMIT_CLASS(SZ)                                                                             \
	if (cap <= (SZ)-DNSREEL_RB_HDR_LEN) {                                                      \
		struct dnsreel_pkt_rec *r = bpf_ringbuf_reserve(&events, (SZ), 0);                 \
		if (!r) {                                                                          \
			count(DNSREEL_CNT_RB_LOST);                                                \
			return;                                                                    \
		}                                                                                  \
		if (cap > (SZ)-DNSREEL_RB_HDR_LEN)                                                 \
			cap = (SZ)-DNSREEL_RB_HDR_LEN;                                             \
		if (cap < 1 || bpf_skb_load_bytes(skb, base, r->data, cap)) {                      \
			bpf_ringbuf_discard(r, BPF_RB_NO_WAKEUP);                                  \
			count(DNSREEL_CNT_SHORT);                                                  \
			return;                                                                    \
		}                                                                                  \
		r->hdr.type = DNSREEL_REC_PKT;                                                     \
		r->hdr.pad = 0;                                                                    \
		r->hdr.len = DNSREEL_RB_HDR_LEN + cap;                                             \
		r->ts_ns = bpf_ktime_get_boot_ns();                                                \
		r->netns = pkt_netns(skb);                                                         \
		r->cookie = 0;                                                                     \
		r->ifindex = skb->ifindex;                                                         \
		r->pkt_len = skb->len - base;                                                      \
		r->cap_len = cap;                                                                  \
		r->l3_proto = l3;                                                                  \
		r->pkt_type = ptype;                                                               \
		r->flags = flags;                                                                  \
		bpf_ringbuf_submit(r, BPF_RB_NO_WAKEUP);                                           \
		wake_consumer();                                                                   \
		return;                                                                            \
	}

/* User space set DNSREEL_CNT_WAKE on every CPU, then checked the ring was still empty, and
 * sleeps. Read after the submit, whose commit (an xchg) is a full barrier: either the
 * consumer's check saw this record, or this load sees the flag. The wakeup rides on an
 * empty discarded record, which the consumer skips. */
static __always_inline void wake_consumer(void)
{
	__u32 idx = DNSREEL_CNT_WAKE;
	__u64 *v = bpf_map_lookup_elem(&counters, &idx);
	if (!v || !*v)
		return;
	*v = 0;
	void *w = bpf_ringbuf_reserve(&events, 8, 0);
	if (w)
		bpf_ringbuf_discard(w, BPF_RB_FORCE_WAKEUP);
}

/* Inlined, once (inspect() has a single call): a BPF-to-BPF call with its spills cost ~25 ns
 * of a ~150 ns record (bench_bpf). l3_proto, flags and pkt_type travel packed in meta
 * (l3 << 16 | flags << 8 | ptype). */
static __always_inline void emit(struct __sk_buff *skb, __u32 base, __u64 cap, __u32 meta)
{
	__u16 l3 = meta >> 16;
	__u8 flags = meta >> 8, ptype = meta;

	count(DNSREEL_CNT_PKT_MATCHED);
	if (cap > DNSREEL_MAX_CAP)
		cap = DNSREEL_MAX_CAP;
	/* A query's record fits 128 bytes: in the 256 class it took ~40 ns more (bench_bpf), and
	 * half the ring for nothing. */
	EMIT_CLASS(128)
	EMIT_CLASS(256)
	EMIT_CLASS(512)
	EMIT_CLASS(1024)
	EMIT_CLASS(2048)
	EMIT_CLASS(4096)
	EMIT_CLASS(16384)
	EMIT_CLASS(DNSREEL_MAX_CAP + DNSREEL_RB_HDR_LEN)
}

#define META(l3, flags, ptype) ((__u32)(l3) << 16 | (__u32)(flags) << 8 | (ptype))

/* The IPv4 header and the ports behind it (no options), as one load. */
struct ip4_ports {
	struct iphdr ip;
	__u16 ports[2];
};

/* The includer may read the linear part of the packet directly (tc: DIRECT_PACKET_ACCESS);
 * a socket filter cannot, and nor can anyone past the linear part: one helper call. */
static __always_inline int load_hdr(struct __sk_buff *skb, __u32 base, struct ip4_ports *h)
{
#ifdef DIRECT_PACKET_ACCESS
	void *data = (void *)(long)skb->data, *end = (void *)(long)skb->data_end;
	struct ip4_ports *p = data + base;
	if ((void *)(p + 1) <= end) {
		*h = *p;
		return 0;
	}
#endif
	return bpf_skb_load_bytes(skb, base, h, sizeof(*h));
}

/* Later fragment of a datagram whose first fragment was recorded? */
static __always_inline bool frag_known(struct frag_key *k)
{
	return bpf_map_lookup_elem(&frags, k) != NULL;
}

/* Inspects one packet whose network header starts base bytes into the skb (0 for the socket
 * filter, the link header's length at tc) and records it when it is DNS, as direction ptype
 * (what an AF_PACKET socket would report). len is what the socket would see: skb->len less
 * base. */
static __always_inline void inspect(struct __sk_buff *skb, __u32 base, __u8 ptype)
{
	__u16 l3 = bpf_ntohs(skb->protocol);
	__u32 len = skb->len - base;
	__u32 l4off, l4end, l4proto;
	__u8 flags = 0;
	struct frag_key fk = {};
	bool first_frag = false;
	__u64 cap; /* bytes to record from base: one emit() for every path below */

	__u16 ports[2];
	bool have_ports = false;

	if (l3 == ETH_P_IP) {
		/* Header and ports in one load when there are no IP options (nearly always). */
		struct ip4_ports h;
		struct iphdr ip;
		if (!load_hdr(skb, base, &h)) {
			ip = h.ip;
			if (ip.ihl == 5) {
				ports[0] = h.ports[0];
				ports[1] = h.ports[1];
				have_ports = true;
			}
		} else if (bpf_skb_load_bytes(skb, base, &ip, sizeof(ip))) {
			return;
		}
		if (ip.version != 4 || ip.ihl < 5)
			return;
		l4off = ip.ihl * 4;
		l4end = bpf_ntohs(ip.tot_len);
		l4proto = ip.protocol;
		__u16 fo = bpf_ntohs(ip.frag_off);
		if (fo & 0x3fff) {
			flags |= DNSREEL_PKTF_FRAGMENT;
			__builtin_memcpy(fk.src, &ip.saddr, 4);
			__builtin_memcpy(fk.dst, &ip.daddr, 4);
			fk.id = ip.id;
			fk.proto = l4proto;
			if (fo & 0x1fff) {
				/* No ports in a later fragment: known datagram or nothing. */
				if (!frag_known(&fk))
					return;
				count(DNSREEL_CNT_FRAG_LATER);
				cap = len < snaplen + l4off ? len : snaplen + l4off;
				goto record;
			}
			first_frag = true;
		}
		/* GSO super-packets and lying tot_len: never trust it past what is there. */
		if (l4end < l4off || l4end > len) {
			if (l4end < l4off)
				flags |= DNSREEL_PKTF_MALFORMED;
			l4end = len;
		}
	} else if (l3 == ETH_P_IPV6) {
		struct ipv6hdr ip6;
		if (bpf_skb_load_bytes(skb, base, &ip6, sizeof(ip6)))
			return;
		if (ip6.version != 6)
			return;
		l4off = sizeof(ip6);
		l4end = sizeof(ip6) + bpf_ntohs(ip6.payload_len);
		if (l4end > len || ip6.payload_len == 0)
			l4end = len;
		l4proto = ip6.nexthdr;
		/* Walk at most 6 extension headers: the verifier needs a bound, and real DNS
		 * traffic carries one or two at most. */
		int i;
		for (i = 0; i < 6; i++) {
			__u8 eh[8];
			if (l4proto != 0 && l4proto != 43 && l4proto != 60 && l4proto != 44 &&
			    l4proto != 51)
				break;
			if (bpf_skb_load_bytes(skb, base + (l4off & 0xffff), eh, sizeof(eh))) {
				count(DNSREEL_CNT_SHORT);
				return;
			}
			if (l4proto == 44) {
				__u16 off = ((__u16)eh[2] << 8 | eh[3]);
				flags |= DNSREEL_PKTF_FRAGMENT;
				__builtin_memcpy(fk.src, &ip6.saddr, 16);
				__builtin_memcpy(fk.dst, &ip6.daddr, 16);
				__builtin_memcpy(&fk.id, &eh[4], 4);
				fk.proto = 44;
				if (off & 0xfff8) {
					if (!frag_known(&fk))
						return;
					count(DNSREEL_CNT_FRAG_LATER);
					cap = len < snaplen + 1024 ? len : snaplen + 1024;
					goto record;
				}
				first_frag = true;
				l4off += 8;
			} else if (l4proto == 51) {
				l4off += ((__u32)eh[1] + 2) * 4;
			} else {
				l4off += ((__u32)eh[1] + 1) * 8;
			}
			l4proto = eh[0];
		}
		if (i == 6) {
			count(DNSREEL_CNT_IPV6_DEEP);
			return;
		}
	} else {
		return;
	}

	if (l4proto != IPPROTO_UDP_ && l4proto != IPPROTO_TCP_)
		return;
	if (!have_ports && bpf_skb_load_bytes(skb, base + (l4off & 0xffff), ports, sizeof(ports))) {
		count(DNSREEL_CNT_SHORT);
		return;
	}
	if (!port_on(bpf_ntohs(ports[0])) && !port_on(bpf_ntohs(ports[1])))
		return;

	__u32 payoff;
	if (l4proto == IPPROTO_UDP_) {
		payoff = l4off + 8;
		if (payoff > l4end)
			flags |= DNSREEL_PKTF_MALFORMED;
	} else {
		__u8 doff;
		if (bpf_skb_load_bytes(skb, base + ((l4off + 12) & 0xffff), &doff, 1)) {
			count(DNSREEL_CNT_SHORT);
			return;
		}
		doff >>= 4;
		if (doff < 5) {
			flags |= DNSREEL_PKTF_MALFORMED;
			doff = 5;
		}
		payoff = l4off + doff * 4;
		if (payoff > l4end)
			flags |= DNSREEL_PKTF_MALFORMED;
		/* Pure ACKs, SYNs and FINs without data carry no DNS bytes. */
		else if (payoff == l4end && !first_frag)
			return;
	}
	if (flags & DNSREEL_PKTF_MALFORMED)
		count(DNSREEL_CNT_MALFORMED);
	if (first_frag) {
		__u8 one = 1;
		bpf_map_update_elem(&frags, &fk, &one, BPF_ANY);
	}
	cap = (__u64)payoff + snaplen;
	if (cap > len)
		cap = len;
record:
	emit(skb, base, cap, META(l3, flags, ptype));
}

#endif
