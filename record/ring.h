/* Consumer side of the BPF ring buffer shared by the recorder's kernel programs, on the
 * mmapped ring itself (the layout libbpf uses: consumer page, producer page, data mapped
 * twice so a record that wraps reads contiguously). Our own walk instead of
 * ring_buffer__consume() so packets younger than the join delay can stay in the ring while
 * process records behind them are already applied, with no copy.
 */
#ifndef DNSREEL_RECORD_RING_H
#define DNSREEL_RECORD_RING_H

#include <stddef.h>
#include <stdint.h>

struct dnsreel_pkt_rec;
struct dnsreel_proc_rec;

struct dnsreel_ring {
	unsigned long *cons;	   /* consumer position (we write it) */
	const unsigned long *prod; /* producer position (kernel writes it) */
	const uint8_t *data;	   /* size bytes, then the start of them again */
	size_t mask;		   /* size - 1 */
	unsigned long proc_pos;	   /* process records before this are applied */
	uint64_t bad;		   /* records with a wrong type or length, skipped */
};

struct dnsreel_ring_ops {
	void *arg;
	void (*proc)(void *arg, const struct dnsreel_proc_rec *p); /* NULL: skip pass 1 */
	/* len: bytes of the record (hdr.len, checked against the sample). Nonzero stops. */
	int (*pkt)(void *arg, const struct dnsreel_pkt_rec *p, uint32_t len);
};

/* Pass 1 applies every committed process record not applied yet; pass 2 delivers packet
 * records up to the first one with ts_ns > cutoff and hands their space back. Returns the
 * packets delivered, or the pkt callback's nonzero return. */
int dnsreel_ring_consume(struct dnsreel_ring *rg, int64_t cutoff,
			 const struct dnsreel_ring_ops *ops);

#endif
