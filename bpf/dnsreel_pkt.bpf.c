// SPDX-License-Identifier: GPL-2.0
/* Socket filter for one network namespace's AF_PACKET (SOCK_DGRAM, ETH_P_ALL) socket (the
 * packet hook, --hook packet). Records DNS packets as dnsreel_inspect.bpf.h says and returns
 * 0 so nothing is ever queued to the packet socket itself. One instance is loaded per netns;
 * the netns inode is a read-only constant of the instance, the maps are shared.
 *
 * SOCK_DGRAM means the kernel already stripped the link header for every device type
 * (Ethernet, loopback, tun/wireguard without L2): offset 0 is the IP header and
 * skb->protocol says which one.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "dnsreel_bpf.h"
#include "dnsreel_maps.bpf.h"

/* The netns of a packet. Built twice: dnsreel_pktdev.bpf.c defines NETNS_FROM_DEV and reads
 * the inode of skb->dev's netns (the device the packet crossed lives in the netns whose
 * packet socket sees it) through bpf_cast_to_kern_ctx(): one program serves every netns and
 * attaching is a few syscalls. Kernels without that kfunc get one instance of this program
 * per netns with the inode as a read-only constant. */
#ifdef NETNS_FROM_DEV
extern void *bpf_cast_to_kern_ctx(void *obj) __ksym;
static __always_inline __u64 pkt_netns(struct __sk_buff *skb)
{
	struct sk_buff *k = bpf_cast_to_kern_ctx(skb);
	/* Direct (BTF, CO-RE relocated) loads, not probe reads: the verifier turns them into
	 * fault-tolerant loads, a NULL dev reads as 0. */
	return k->dev->nd_net.net->ns.inum;
}
#else
const volatile __u64 netns_id = 0;
static __always_inline __u64 pkt_netns(struct __sk_buff *skb)
{
	return netns_id;
}
#endif
#include "dnsreel_inspect.bpf.h"

SEC("socket")
int dnsreel_pkt(struct __sk_buff *skb)
{
	/* Returns 0 always: nothing is ever queued to the packet socket itself. */
	inspect(skb, 0, skb->pkt_type);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
