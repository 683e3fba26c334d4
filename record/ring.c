/* BPF ring-buffer walk: see ring.h. */
#include "ring.h"

#include <linux/bpf.h>

#include "dnsreel_bpf.h"

static uint32_t rec_size(uint32_t len)
{
	uint32_t rlen = len & ~(uint32_t)(BPF_RINGBUF_BUSY_BIT | BPF_RINGBUF_DISCARD_BIT);
	return (rlen + BPF_RINGBUF_HDR_SZ + 7) & ~7u;
}

/* How far ahead the walks ask for records. The first touch of a record the other CPU just
 * wrote misses in every cache of this one, and a record is 150-250 bytes: one record ahead
 * (256) left most of that miss in the first pass (perf: two thirds of the walk on its header
 * load), so it asks about five records ahead. The second pass reads records 20 ms old, out
 * of the nearer caches by then, and less far ahead suffices. */
#define RING_AHEAD_NEW 1024
#define RING_AHEAD_OLD 512

int dnsreel_ring_consume(struct dnsreel_ring *rg, int64_t cutoff,
			 const struct dnsreel_ring_ops *ops)
{
	unsigned long cons = __atomic_load_n(rg->cons, __ATOMIC_ACQUIRE);
	unsigned long prod = __atomic_load_n(rg->prod, __ATOMIC_ACQUIRE);
	unsigned long pos = rg->proc_pos > cons ? rg->proc_pos : cons;
	int delivered = 0, ret = 0;

	while (ops->proc && pos < prod) {
		const uint32_t *h = (const uint32_t *)(rg->data + (pos & rg->mask));
		/* Records were just written by another CPU: ask for the next ones early. */
		__builtin_prefetch(rg->data + ((pos + RING_AHEAD_NEW) & rg->mask));
		uint32_t len = __atomic_load_n(h, __ATOMIC_ACQUIRE);
		if (len & BPF_RINGBUF_BUSY_BIT)
			break; /* still being written: stop here, both passes */
		uint32_t rlen = len & ~(uint32_t)(BPF_RINGBUF_BUSY_BIT | BPF_RINGBUF_DISCARD_BIT);
		const struct dnsreel_rec_hdr *rh = (const void *)(h + 2);
		if (!(len & BPF_RINGBUF_DISCARD_BIT) && rlen >= sizeof(*rh) &&
		    rh->type == DNSREEL_REC_PROC && rh->len == sizeof(struct dnsreel_proc_rec) &&
		    rlen >= rh->len)
			ops->proc(ops->arg, (const struct dnsreel_proc_rec *)rh);
		pos += rec_size(len);
	}
	rg->proc_pos = pos;

	pos = cons;
	unsigned n = 0;
	while (pos < prod) {
		const uint32_t *h = (const uint32_t *)(rg->data + (pos & rg->mask));
		__builtin_prefetch(rg->data + ((pos + RING_AHEAD_OLD) & rg->mask));
		uint32_t len = __atomic_load_n(h, __ATOMIC_ACQUIRE);
		if (len & BPF_RINGBUF_BUSY_BIT)
			break;
		uint32_t rlen = len & ~(uint32_t)(BPF_RINGBUF_BUSY_BIT | BPF_RINGBUF_DISCARD_BIT);
		const struct dnsreel_rec_hdr *rh = (const void *)(h + 2);
		if (len & BPF_RINGBUF_DISCARD_BIT) {
			/* discarded by the producer: skip */
		} else if (rlen < sizeof(*rh) || rh->len > rlen) {
			rg->bad++;
		} else if (rh->type == DNSREEL_REC_PKT) {
			const struct dnsreel_pkt_rec *p = (const void *)rh;
			if (rh->len < sizeof(*p)) {
				rg->bad++;
			} else {
				if ((int64_t)p->ts_ns > cutoff)
					break; /* young: waits for its process record */
				ret = ops->pkt ? ops->pkt(ops->arg, p, rh->len) : 0;
				delivered++;
			}
		} else if (rh->type != DNSREEL_REC_PROC ||
			   rh->len != sizeof(struct dnsreel_proc_rec)) {
			rg->bad++;
		}
		pos += rec_size(len);
		/* Hand space back to the producers regularly, not only at the end. */
		if (++n % 256 == 0)
			__atomic_store_n(rg->cons, pos, __ATOMIC_RELEASE);
		if (ret)
			break;
	}
	__atomic_store_n(rg->cons, pos, __ATOMIC_RELEASE);
	return ret ? ret : delivered;
}
