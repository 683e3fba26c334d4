/* BPF ring-buffer walk: see ring.h. */
#include "ring.h"

#include <linux/bpf.h>
#include <stdbool.h>
#include <stdlib.h>

/* bpf/dnsreel.h by path: format/dnsreel.h has the same name on the include path. */
#include "../bpf/dnsreel.h"

/* Packets handed over per batch: their ring space is released when the batch is done, so a
 * batch must stay a small part of the ring. */
#define BATCH_MAX 8192

struct dnsreel_ring_item {
	int64_t ts;
	const struct dnsreel_pkt_rec *p;
	uint32_t len;
	uint32_t seq; /* ring order, for ties */
};

static uint32_t rec_size(uint32_t len)
{
	uint32_t rlen = len & ~(uint32_t)(BPF_RINGBUF_BUSY_BIT | BPF_RINGBUF_DISCARD_BIT);
	return (rlen + BPF_RINGBUF_HDR_SZ + 7) & ~7u;
}

static int cmp_item(const void *a, const void *b)
{
	const struct dnsreel_ring_item *x = a, *y = b;
	if (x->ts != y->ts)
		return x->ts < y->ts ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* Records reach the ring in reservation order, which differs from timestamp order only by
 * nanoseconds between CPUs: insertion sort is linear on that. A batch that is really out of
 * order (should not happen) goes to qsort instead of going quadratic. */
static void sort_items(struct dnsreel_ring_item *v, size_t n)
{
	size_t moves = 0;
	for (size_t i = 1; i < n; i++) {
		struct dnsreel_ring_item x = v[i];
		size_t j = i;
		while (j > 0 && v[j - 1].ts > x.ts) {
			v[j] = v[j - 1];
			j--;
			if (++moves > 16 * n) {
				v[j] = x;
				qsort(v, n, sizeof(*v), cmp_item);
				return;
			}
		}
		v[j] = x;
	}
}

int dnsreel_ring_consume(struct dnsreel_ring *rg, int64_t cutoff,
			 const struct dnsreel_ring_ops *ops)
{
	unsigned long cons = __atomic_load_n(rg->cons, __ATOMIC_ACQUIRE);
	unsigned long prod = __atomic_load_n(rg->prod, __ATOMIC_ACQUIRE);
	unsigned long pos = rg->proc_pos > cons ? rg->proc_pos : cons;
	int delivered = 0, ret = 0;

	while (ops->proc && pos < prod) {
		const uint32_t *h = (const uint32_t *)(rg->data + (pos & rg->mask));
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

	if (!rg->items) {
		rg->items = malloc(BATCH_MAX * sizeof(*rg->items));
		if (!rg->items)
			return -12; /* -ENOMEM */
	}
	pos = cons;
	bool more = true;
	while (more && !ret) {
		/* Collect a batch of packets old enough, in ring order. */
		size_t n = 0;
		more = false;
		while (pos < prod) {
			const uint32_t *h = (const uint32_t *)(rg->data + (pos & rg->mask));
			uint32_t len = __atomic_load_n(h, __ATOMIC_ACQUIRE);
			if (len & BPF_RINGBUF_BUSY_BIT)
				break;
			uint32_t rlen =
			    len & ~(uint32_t)(BPF_RINGBUF_BUSY_BIT | BPF_RINGBUF_DISCARD_BIT);
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
					if (n == BATCH_MAX) {
						more = true;
						break;
					}
					rg->items[n].ts = (int64_t)p->ts_ns;
					rg->items[n].p = p;
					rg->items[n].len = rh->len;
					rg->items[n].seq = (uint32_t)n;
					n++;
				}
			} else if (rh->type != DNSREEL_REC_PROC ||
				   rh->len != sizeof(struct dnsreel_proc_rec)) {
				rg->bad++;
			}
			pos += rec_size(len);
		}
		/* Deliver in time order (the capture writer then need not sort), then release
		 * the space. */
		sort_items(rg->items, n);
		size_t i;
		for (i = 0; i < n && !ret; i++) {
			if (ops->pkt)
				ret = ops->pkt(ops->arg, rg->items[i].p, rg->items[i].len);
			delivered++;
		}
		rg->dropped += n - i; /* only after a callback error, which ends recording */
		__atomic_store_n(rg->cons, pos, __ATOMIC_RELEASE);
	}
	return ret ? ret : delivered;
}

void dnsreel_ring_free(struct dnsreel_ring *rg)
{
	free(rg->items);
	rg->items = NULL;
}
