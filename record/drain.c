/* The ring-buffer drain: maps the BPF ring buffer, walks it (ring.c) and turns packet records
 * into events for the sink, joined to their process. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include "parse.h"
#include "recorder_int.h"

/* Our own consumer over the mmapped ring (same layout libbpf uses): it lets us look ahead
 * for process records and leave packets younger than the join delay in the ring, without
 * copying them out. The kernel maps the data twice in a row so a record that wraps reads
 * contiguously; of the second copy only what the longest record can reach past the end is
 * mapped (REC_RING_TAIL), since the kernel fills every page of the mapping at mmap and the
 * whole second copy would count in the recorder's RSS as much again as the ring. */
#define REC_RING_TAIL (128u << 10)
_Static_assert(REC_RING_TAIL >= 8 + DNSREEL_RB_HDR_LEN + DNSREEL_MAX_CAP,
	       "a record that wraps must fit the mapped tail");
static size_t ring_map_len(size_t pg, size_t size)
{
	return pg + size + (size < REC_RING_TAIL ? size : REC_RING_TAIL);
}
int rec_ring_open(struct ring *rg, int fd, size_t size)
{
	long pg = sysconf(_SC_PAGESIZE);
	rg->size = size;
	rg->cons_map = mmap(NULL, (size_t)pg, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (rg->cons_map == MAP_FAILED) {
		rg->cons_map = NULL;
		return -errno;
	}
	rg->prod_map = mmap(NULL, ring_map_len((size_t)pg, size), PROT_READ, MAP_SHARED, fd, pg);
	if (rg->prod_map == MAP_FAILED) {
		int err = -errno;
		munmap(rg->cons_map, (size_t)pg);
		rg->cons_map = rg->prod_map = NULL;
		return err;
	}
	/* The kernel maps the ring page by page (VM_MIXEDMAP): a fork (the rule dumps) would copy
	 * every one of its page table entries, only for the child to drop them at exec. */
	(void)madvise(rg->prod_map, ring_map_len((size_t)pg, size), MADV_DONTFORK);
	(void)madvise(rg->cons_map, (size_t)pg, MADV_DONTFORK);
	rg->rg.cons = rg->cons_map;
	rg->rg.prod = rg->prod_map;
	rg->rg.data = (const uint8_t *)rg->prod_map + pg;
	rg->rg.mask = size - 1;
	rg->rg.proc_pos = 0;
	return 0;
}

void rec_ring_close(struct ring *rg)
{
	long pg = sysconf(_SC_PAGESIZE);
	if (rg->cons_map)
		munmap(rg->cons_map, (size_t)pg);
	if (rg->prod_map)
		munmap(rg->prod_map, ring_map_len((size_t)pg, rg->size));
}

static uint64_t sink_flush_ns(struct dnsreel_recorder *r)
{
	return r->sink.flush_ns ? r->sink.flush_ns(r->sink.arg) : 0;
}

/* The per-event parts --stats samples (join, sink) take tens of ns: timed with the thread CPU
 * clock, a system call costing more than they do and varying with the run queue, the error
 * of subtracting its cost, scaled by the sample step, came out larger than the parts (the
 * ring walk, consume less the two, then read negative). The vDSO monotonic clock costs a few
 * ns; over so short a span the thread keeps its CPU nearly always, and a span cut by a
 * preemption is capped so that it cannot count as milliseconds. */
#define REC_STATS_SPAN_CAP_NS 20000
static uint64_t stats_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* One sampled span [a, b] less what a clock read costs (c), capped, scaled to every event. */
static uint64_t stats_part(uint64_t a, uint64_t b, uint64_t c)
{
	uint64_t d = b - a > c ? b - a - c : 0;
	return (d < REC_STATS_SPAN_CAP_NS ? d : REC_STATS_SPAN_CAP_NS) * REC_STATS_SAMPLE;
}

static int deliver_pkt(struct dnsreel_recorder *r, const struct dnsreel_pkt_rec *p, uint32_t len)
{
	struct dnsreel_event ev;
	if (len < sizeof(*p) || p->cap_len > len - sizeof(*p)) {
		r->n_lost_user++;
		return 0;
	}
	struct nsent *n = rec_ns_find(r, p->netns);
	if (!n) {
		/* Shared program: a packet of a netns not attached (the socket is closed before
		 * its entry goes, so this is a netns we never knew). */
		r->n_unknown_ns++;
		return 0;
	}
	memset(&ev, 0, sizeof(ev));
	ev.ts_ns = (int64_t)p->ts_ns;
	ev.netns = p->netns;
	ev.ifindex = p->ifindex;
	ev.pkt_type = p->pkt_type;
	if (p->flags & DNSREEL_PKTF_FRAGMENT)
		ev.flags |= DNSREEL_EV_FRAGMENT;
	int st = dnsreel_parse_packet(p->data, p->cap_len, p->pkt_len, p->l3_proto, &ev);
	if (st != DNSREEL_PARSE_OK && st != DNSREEL_PARSE_LENLIE) {
		r->n_malformed++;
		return 0;
	}
	if (st == DNSREEL_PARSE_LENLIE)
		r->n_lenlie++;
	n->events++;
	if (r->o.stats && r->n_events % REC_STATS_SAMPLE == 0) {
		/* Sampled, and timed with the vDSO clock (stats_ns says why). A block flush lands
		 * on a sampled event whenever the block size is a multiple of the step: such a
		 * sample keeps no sink time (the writer times its flushes itself). */
		uint64_t f0 = sink_flush_ns(r);
		uint64_t ta = stats_ns(), t0 = stats_ns();
		if (r->has_proc)
			rec_join(r, n, &ev);
		uint64_t t1 = stats_ns();
		ev.netns = rec_ns_id(n, ev.ts_ns);
		if (n->hold || n->hold_dropped) {
			r->ns_join += stats_part(t0, t1, t0 - ta);
			return rec_hold_event(r, n, &ev);
		}
		r->n_events++;
		int ret = r->sink.on_event ? r->sink.on_event(r->sink.arg, &ev) : 0;
		uint64_t t2 = stats_ns();
		r->ns_join += stats_part(t0, t1, t0 - ta);
		if (sink_flush_ns(r) == f0)
			r->ns_sink += stats_part(t1, t2, t0 - ta);
		return ret;
	}
	if (r->has_proc)
		rec_join(r, n, &ev);
	ev.netns = rec_ns_id(n, ev.ts_ns); /* after the join: process records carry the inode */
	if (n->hold || n->hold_dropped)
		return rec_hold_event(r, n, &ev); /* its pod is not named yet, or not chosen */
	r->n_events++;
	if (r->sink.on_event)
		return r->sink.on_event(r->sink.arg, &ev);
	return 0;
}

static void ring_proc(void *arg, const struct dnsreel_proc_rec *p)
{
	rec_apply_proc(arg, p);
}

static int ring_pkt(void *arg, const struct dnsreel_pkt_rec *p, uint32_t len)
{
	return deliver_pkt(arg, p, len);
}

/* Process records are applied even when they sit behind packets still waiting: a packet then
 * finds the process that sent it although the tracepoint fired after it was copied. */
int rec_consume(struct dnsreel_recorder *r, int64_t cutoff)
{
	/* Without process hooks there are no process records: no first pass. */
	const struct dnsreel_ring_ops ops = {
	    .arg = r, .proc = r->has_proc ? ring_proc : NULL, .pkt = ring_pkt};
	if (!r->o.stats)
		return dnsreel_ring_consume(&r->ring.rg, cutoff, &ops);
	uint64_t f0 = sink_flush_ns(r), t0 = rec_cpu_ns();
	int k = dnsreel_ring_consume(&r->ring.rg, cutoff, &ops);
	uint64_t t = rec_cpu_ns() - t0, f = sink_flush_ns(r) - f0;
	r->ns_consume += t > f ? t - f : 0;
	return k;
}

int dnsreel_recorder__drain(struct dnsreel_recorder *r)
{
	/* What is in the ring now, not what keeps arriving: on a busy node a loop until empty
	 * would never end. A few passes get past records still being written. */
	int total = 0, k = 0;
	for (int pass = 0; pass < 4; pass++) {
		k = rec_consume(r, INT64_MAX);
		if (k <= 0)
			break;
		total += k;
	}
	rec_hold_check(r, true); /* what is still held is decided by what is known now */
	return k < 0 ? k : total;
}

bool rec_ring_sleep(struct dnsreel_recorder *r)
{
	uint32_t idx = DNSREEL_CNT_WAKE;
	if (!r->ring.rg.cons)
		return false;
	if (!r->wake_ones) {
		r->wake_ones = malloc((size_t)r->ncpus * sizeof(uint64_t));
		if (!r->wake_ones)
			return false;
		for (int c = 0; c < r->ncpus; c++)
			r->wake_ones[c] = 1;
	}
	if (bpf_map_update_elem(r->counters_fd, &idx, r->wake_ones, BPF_ANY))
		return false; /* no flag set: keep polling */
	/* The flag's store before the producer position's load (the programs do the converse):
	 * a record submitted meanwhile is seen here, or its program sees the flag. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	return *r->ring.rg.cons == __atomic_load_n(r->ring.rg.prod, __ATOMIC_ACQUIRE);
}
