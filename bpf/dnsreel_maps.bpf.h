/* Kernel side only: what every recorder program declares alike. User space creates the ring
 * buffer and the counter map once and hands the same fds to each program before load
 * (bpf_map__reuse_fd), so the definitions must agree; port_bits is read-only data set
 * between open and load. Included after vmlinux.h, bpf_helpers.h and dnsreel_bpf.h. */
#ifndef DNSREEL_MAPS_BPF_H
#define DNSREEL_MAPS_BPF_H

/* Bit p set: port p is recorded. 8 KiB covers every port with a single load. */
const volatile __u8 port_bits[8192] = {};

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 32 << 20);
} events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, DNSREEL_CNT_MAX);
	__type(key, __u32);
	__type(value, __u64);
} counters SEC(".maps");

static __always_inline void count(__u32 idx)
{
	__u64 *v = bpf_map_lookup_elem(&counters, &idx);
	if (v)
		*v += 1;
}

static __always_inline bool port_on(__u16 p)
{
	return port_bits[p >> 3] & (1 << (p & 7));
}

#endif
