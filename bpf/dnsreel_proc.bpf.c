// SPDX-License-Identifier: GPL-2.0
/* Who sends and receives on DNS sockets: the sock:sock_send_length and sock:sock_recv_length
 * tracepoints fire in the calling thread for every sendmsg/recvmsg on an inet socket. We emit
 * a dnsreel_proc_rec into the shared ring buffer when a socket is new to us, changes thread or
 * port, or was last reported over a second ago; user space joins packets to processes by
 * (netns, protocol, local port). Tracepoints, not kprobes/fentry: this is what loads on the
 * kernels we target.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_tracing.h>

#include "dnsreel_bpf.h"
#include "dnsreel_maps.bpf.h"

#define AF_INET	     2
#define AF_INET6     10
#define IPPROTO_TCP_ 6
#define IPPROTO_UDP_ 17

/* When set, only sockets of netns listed in netns_on are reported (--netns & co.). */
const volatile bool filter_netns = false;
const volatile __u64 refresh_ns = 1000000000ull;

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, __u64);
	__type(value, __u8);
} netns_on SEC(".maps");

/* Per-CPU direct-mapped cache of sockets already reported: an array slot per hash of the
 * socket address. Cheaper than a shared LRU hash on every send and receive; a collision or
 * the other CPU only costs a duplicate record. */
struct seen {
	__u64 sk;
	__u64 pid_tgid;
	__u64 ts; /* tick_boot_ns() when last reported */
	__u32 lport;
	__u32 pad;
};
#define SEEN_SLOTS 4096
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, SEEN_SLOTS);
	__type(key, __u32);
	__type(value, struct seen);
} sock_seen SEC(".maps");

/* The refresh age needs no better than a tick: bpf_ktime_get_boot_ns() reads the clocksource,
 * half of what a call on a cached socket cost, so each CPU keeps the boot time read at its
 * last jiffy and reads the clock again only when jiffies moved (the coarse clock, which would
 * do this, is not allowed in tracing programs). Records take their own exact stamp. */
struct tick_clock {
	__u64 jiffies;
	__u64 boot_ns;
};
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct tick_clock);
} tick_clock SEC(".maps");

static __always_inline __u64 tick_boot_ns(void)
{
	__u32 zero = 0;
	struct tick_clock *c = bpf_map_lookup_elem(&tick_clock, &zero);
	if (!c)
		return bpf_ktime_get_boot_ns();
	__u64 j = bpf_jiffies64();
	if (c->jiffies != j) {
		c->boot_ns = bpf_ktime_get_boot_ns();
		c->jiffies = j;
	}
	return c->boot_ns;
}

/* One body for both kinds of tracepoint. btf is a constant at each call: with BTF (tp_btf)
 * the socket is a typed pointer read with plain loads, which the verifier makes
 * fault-tolerant, instead of a bpf_probe_read_kernel() call per field (raw tracepoints). */
#define RD(btf, p, f)	  ((btf) ? (p)->f : BPF_CORE_READ(p, f))
#define RD2(btf, p, f, g) ((btf) ? (p)->f->g : BPF_CORE_READ(p, f, g))
#define RDN(btf, d, n, sp)                                                                         \
	((btf) ? (void)__builtin_memcpy(d, sp, n) : (void)bpf_core_read(d, n, sp))

static __always_inline int handle(struct sock *sk, __u16 family, __u16 protocol, __u8 dir,
				  const bool btf)
{
	if (family != AF_INET && family != AF_INET6)
		return 0;
	if (protocol != IPPROTO_UDP_ && protocol != IPPROTO_TCP_)
		return 0;
	/* skc_dport and skc_num sit side by side (skc_portpair): one read for both. */
	__u32 pp = RD(btf, sk, __sk_common.skc_portpair);
	__u16 rport = bpf_ntohs((__u16)pp);
	__u16 lport = (__u16)(pp >> 16);
	/* An unconnected UDP socket may send to port 53 with sendto(): keep it, the
	 * per-socket dedup below keeps that cheap. */
	if (!port_on(lport) && !port_on(rport) && !(protocol == IPPROTO_UDP_ && rport == 0))
		return 0;

	/* The cache first: a socket reported a moment ago (nearly every call) costs no netns
	 * read or lookup. Only sockets that passed the netns filter are cached. */
	/* With BTF the socket pointer is typed and cannot be hashed: its cookie (made on first
	 * use, one per socket for good, sequential) keys the cache instead. Once made it is a
	 * plain load; the helper only runs for a socket that has none yet. */
	__u64 key = btf ? (__u64)sk->__sk_common.skc_cookie.counter : (__u64)sk;
	if (btf && !key)
		key = bpf_get_socket_cookie(sk);
	__u32 slot = (btf ? (__u32)key : (__u32)((key >> 6) ^ (key >> 18))) & (SEEN_SLOTS - 1);
	__u64 age_ts = tick_boot_ns();
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	struct seen *s = bpf_map_lookup_elem(&sock_seen, &slot);
	if (!s)
		return 0;
	if (s->sk == key && s->pid_tgid == pid_tgid && s->lport == lport &&
	    age_ts - s->ts < refresh_ns)
		return 0;

	__u64 netns = RD2(btf, sk, __sk_common.skc_net.net, ns.inum);
	if (filter_netns && !bpf_map_lookup_elem(&netns_on, &netns))
		return 0;
	s->sk = key;
	s->pid_tgid = pid_tgid;
	s->ts = age_ts;
	s->lport = lport;

	struct dnsreel_proc_rec *r = bpf_ringbuf_reserve(&events, sizeof(*r), 0);
	if (!r) {
		count(DNSREEL_CNT_PROC_LOST);
		s->sk = 0; /* forget it so the next call tries again */
		return 0;
	}
	__u64 uid_gid = bpf_get_current_uid_gid();
	r->hdr.type = DNSREEL_REC_PROC;
	r->hdr.pad = 0;
	r->hdr.len = sizeof(*r);
	r->ts_ns = bpf_ktime_get_boot_ns();
	r->netns = netns;
	r->cookie = btf ? key : BPF_CORE_READ(sk, __sk_common.skc_cookie.counter);
	r->cgroup_id = bpf_get_current_cgroup_id();
	r->pid = pid_tgid >> 32;
	r->tid = (__u32)pid_tgid;
	r->uid = (__u32)uid_gid;
	r->gid = uid_gid >> 32;
	__builtin_memset(r->laddr, 0, sizeof(r->laddr));
	__builtin_memset(r->raddr, 0, sizeof(r->raddr));
	if (family == AF_INET) {
		/* explicit sizes: BPF_CORE_READ_INTO would copy sizeof(*laddr) == 1 byte */
		RDN(btf, r->laddr, 4, &sk->__sk_common.skc_rcv_saddr);
		RDN(btf, r->raddr, 4, &sk->__sk_common.skc_daddr);
	} else {
		RDN(btf, r->laddr, 16, &sk->__sk_common.skc_v6_rcv_saddr);
		RDN(btf, r->raddr, 16, &sk->__sk_common.skc_v6_daddr);
	}
	r->lport = lport;
	r->rport = rport;
	r->family = family;
	r->proto = protocol;
	r->dir = dir;
	bpf_get_current_comm(r->comm, sizeof(r->comm));
	count(DNSREEL_CNT_PROC_EMIT);
	bpf_ringbuf_submit(r, BPF_RB_NO_WAKEUP);
	return 0;
}

/* BTF tracepoints first: the arguments come as they are (struct sock *sk, int ret, int
 * flags), typed, so the socket is read with plain loads. Raw tracepoints (the same arguments,
 * untyped) and then the classic ones below are the fallbacks where those do not load. */
SEC("tp_btf/sock_send_length")
int BPF_PROG(dnsreel_send_btf, struct sock *sk, int ret, int flags)
{
	if (ret <= 0)
		return 0;
	return handle(sk, sk->__sk_common.skc_family, sk->sk_protocol, DNSREEL_DIR_SEND, true);
}

SEC("tp_btf/sock_recv_length")
int BPF_PROG(dnsreel_recv_btf, struct sock *sk, int ret, int flags)
{
	/* Servers and load generators poll: most receives return -EAGAIN. Nothing was read,
	 * nothing to attribute; leaving before touching the socket keeps them cheap. */
	if (ret <= 0)
		return 0;
	return handle(sk, sk->__sk_common.skc_family, sk->sk_protocol, DNSREEL_DIR_RECV, true);
}

/* Raw tracepoints: no trace-event record is built, the arguments come untyped (void *data,
 * struct sock *sk, int ret, int flags). */
SEC("raw_tracepoint/sock_send_length")
int dnsreel_send_raw(struct bpf_raw_tracepoint_args *ctx)
{
	if ((int)ctx->args[1] <= 0)
		return 0;
	struct sock *sk = (struct sock *)ctx->args[0];
	return handle(sk, BPF_CORE_READ(sk, __sk_common.skc_family), BPF_CORE_READ(sk, sk_protocol),
		      DNSREEL_DIR_SEND, false);
}

SEC("raw_tracepoint/sock_recv_length")
int dnsreel_recv_raw(struct bpf_raw_tracepoint_args *ctx)
{
	/* Servers and load generators poll: most receives return -EAGAIN. Nothing was read,
	 * nothing to attribute; leaving before touching the socket keeps them cheap. */
	if ((int)ctx->args[1] <= 0)
		return 0;
	struct sock *sk = (struct sock *)ctx->args[0];
	return handle(sk, BPF_CORE_READ(sk, __sk_common.skc_family), BPF_CORE_READ(sk, sk_protocol),
		      DNSREEL_DIR_RECV, false);
}

SEC("tracepoint/sock/sock_send_length")
int dnsreel_send_tp(struct trace_event_raw_sock_msg_length *ctx)
{
	if (ctx->ret <= 0)
		return 0;
	return handle((struct sock *)ctx->sk, ctx->family, ctx->protocol, DNSREEL_DIR_SEND, false);
}

SEC("tracepoint/sock/sock_recv_length")
int dnsreel_recv_tp(struct trace_event_raw_sock_msg_length *ctx)
{
	if (ctx->ret <= 0)
		return 0;
	return handle((struct sock *)ctx->sk, ctx->family, ctx->protocol, DNSREEL_DIR_RECV, false);
}

char LICENSE[] SEC("license") = "GPL";
