// SPDX-License-Identifier: GPL-2.0
/* tcx programs for the tc hook (--hook tc): one ingress and one egress program, attached to
 * every interface of every recorded netns, recording what the packet hook's socket filter
 * records with the same direction (pkt_type) an AF_PACKET socket reports: PACKET_OUTGOING on
 * egress, the skb's pkt_type on ingress. Unlike a packet socket, nothing is cloned or queued
 * per packet, and a packet that is not DNS costs one program run.
 *
 * tc runs with skb->data at the link header (none on tun/wireguard-like devices), so the
 * network header is found from the skb's header offsets. The netns comes from skb->dev as in
 * the shared socket filter. Both return TCX_NEXT: recording never changes what happens to a
 * packet.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "dnsreel_bpf.h"
#include "dnsreel_maps.bpf.h"

extern void *bpf_cast_to_kern_ctx(void *obj) __ksym;

static __always_inline __u64 pkt_netns(struct __sk_buff *skb)
{
	struct sk_buff *k = bpf_cast_to_kern_ctx(skb);
	return k->dev->nd_net.net->ns.inum;
}

/* tc sees skb->data..data_end: headers in the linear part are read without a helper call. */
#define DIRECT_PACKET_ACCESS 1
#include "dnsreel_inspect.bpf.h"

#define PACKET_OUTGOING_ 4
#define PACKET_LOOPBACK_ 5
#define TCX_NEXT_	 (-1)

/* Bytes from skb->data (the link header) to the network header. Both offsets are from
 * skb->head and set on both paths before tc runs (the mac header by eth_type_trans or
 * dev_queue_xmit, the network header by the stack); an unset mac header means no link
 * header. The mask bounds the offset for the verifier: link headers are far shorter. */
static __always_inline __u32 l3_offset(struct __sk_buff *skb)
{
	struct sk_buff *k = bpf_cast_to_kern_ctx(skb);
	__u16 nh = k->network_header, mh = k->mac_header;
	if (mh == (__u16)~0 || nh < mh)
		return 0;
	return (__u32)(nh - mh) & 0xff;
}

SEC("tc")
int dnsreel_tc_in(struct __sk_buff *skb)
{
	/* Multicast looped back to the sender: packet sockets never see it (packet_rcv drops
	 * PACKET_LOOPBACK), the sender's egress copy was recorded already. */
	if (skb->pkt_type != PACKET_LOOPBACK_)
		inspect(skb, l3_offset(skb), skb->pkt_type);
	return TCX_NEXT_;
}

SEC("tc")
int dnsreel_tc_eg(struct __sk_buff *skb)
{
	inspect(skb, l3_offset(skb), PACKET_OUTGOING_);
	return TCX_NEXT_;
}

char LICENSE[] SEC("license") = "GPL";
