/* Unit test of the ring-buffer walk (record/ring.c) on a fake ring laid out as the kernel's:
 * 8-byte sample headers with busy/discard bits, 8-byte alignment, data mapped twice (here:
 * mirrored by hand) so records that wrap read contiguously. */
#include <linux/bpf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"

#include "dnsreel_bpf.h"
#include "ring.h"

#define SIZE 4096u
static uint8_t data[2 * SIZE];
static unsigned long cons, prod;

static void put(unsigned long v, const void *p, size_t n)
{
	const uint8_t *b = p;
	for (size_t i = 0; i < n; i++) {
		data[(v + i) & (SIZE - 1)] = b[i];
		data[((v + i) & (SIZE - 1)) + SIZE] = b[i];
	}
}

/* Appends a sample of n bytes with sample-header flags; returns its position. */
static unsigned long add(const void *rec, uint32_t n, uint32_t flags)
{
	unsigned long at = prod;
	uint32_t hdr[2] = {n | flags, 0};
	put(at, hdr, 8);
	put(at + 8, rec, n);
	prod += (n + 8 + 7) & ~7u;
	return at;
}

static void add_pkt(uint64_t ts, uint32_t cap, uint32_t lie)
{
	uint8_t buf[sizeof(struct dnsreel_pkt_rec) + 64];
	struct dnsreel_pkt_rec *p = (void *)buf;
	memset(buf, 0, sizeof(buf));
	p->hdr.type = DNSREEL_REC_PKT;
	p->hdr.len = (uint32_t)sizeof(*p) + cap + lie;
	p->ts_ns = ts;
	p->cap_len = cap;
	add(buf, (uint32_t)sizeof(*p) + cap, 0);
}

static void add_proc(uint32_t pid)
{
	struct dnsreel_proc_rec p;
	memset(&p, 0, sizeof(p));
	p.hdr.type = DNSREEL_REC_PROC;
	p.hdr.len = sizeof(p);
	p.pid = pid;
	add(&p, sizeof(p), 0);
}

struct seen {
	uint64_t ts[64];
	int n;
	uint32_t pids[64];
	int np;
	int stop_at; /* return nonzero when this ts is delivered */
};

static void on_proc(void *arg, const struct dnsreel_proc_rec *p)
{
	struct seen *s = arg;
	s->pids[s->np++] = p->pid;
}

static int on_pkt(void *arg, const struct dnsreel_pkt_rec *p, uint32_t len)
{
	struct seen *s = arg;
	CHECK(len == sizeof(*p) + p->cap_len);
	s->ts[s->n++] = p->ts_ns;
	return s->stop_at && (int)p->ts_ns == s->stop_at ? -42 : 0;
}

static void reset(unsigned long start)
{
	memset(data, 0, sizeof(data));
	cons = prod = start;
}

static struct dnsreel_ring mk(void)
{
	struct dnsreel_ring rg = {
	    .cons = &cons, .prod = &prod, .data = data, .mask = SIZE - 1, .proc_pos = 0, .bad = 0};
	return rg;
}

static void test_mixed(unsigned long start)
{
	reset(start);
	struct dnsreel_ring rg = mk();
	struct seen s = {0};
	struct dnsreel_ring_ops ops = {.arg = &s, .proc = on_proc, .pkt = on_pkt};
	add_pkt(100, 20, 0);
	add_proc(7);
	add_pkt(200, 33, 0);
	uint8_t junk[16] = {0};
	add(junk, sizeof(junk), BPF_RINGBUF_DISCARD_BIT); /* discarded: skipped silently */
	add_pkt(210, 10, 500);				  /* hdr.len larger than the sample: bad */
	struct dnsreel_rec_hdr odd = {.type = 99, .len = sizeof(odd)};
	add(&odd, sizeof(odd), 0); /* unknown type: bad */
	add(junk, 4, 0);	   /* shorter than a record header: bad */
	unsigned long at300 = prod;
	add_pkt(300, 5, 0);
	add_proc(8); /* behind the young packet: applied all the same */

	int k = dnsreel_ring_consume(&rg, 250, &ops);
	CHECK(k == 2);
	CHECK(s.n == 2 && s.ts[0] == 100 && s.ts[1] == 200);
	CHECK(s.np == 2 && s.pids[0] == 7 && s.pids[1] == 8);
	CHECK(rg.bad == 3);
	CHECK(cons == at300); /* the young packet stays in the ring */
	k = dnsreel_ring_consume(&rg, INT64_MAX, &ops);
	CHECK(k == 1 && s.n == 3 && s.ts[2] == 300);
	CHECK(s.np == 2); /* process records are not applied twice */
	CHECK(cons == prod);
	CHECK(dnsreel_ring_consume(&rg, INT64_MAX, &ops) == 0);
}

static void test_busy(void)
{
	reset(0);
	struct dnsreel_ring rg = mk();
	struct seen s = {0};
	struct dnsreel_ring_ops ops = {.arg = &s, .proc = on_proc, .pkt = on_pkt};
	add_pkt(1, 8, 0);
	unsigned long busy_at = prod;
	add_pkt(2, 8, 0);
	uint32_t h = (uint32_t)(sizeof(struct dnsreel_pkt_rec) + 8) | BPF_RINGBUF_BUSY_BIT;
	put(busy_at, &h, 4);
	add_proc(9);
	CHECK(dnsreel_ring_consume(&rg, INT64_MAX, &ops) == 1);
	CHECK(cons == busy_at && s.np == 0); /* nothing past a record being written */
	h &= ~(uint32_t)BPF_RINGBUF_BUSY_BIT;
	put(busy_at, &h, 4);
	CHECK(dnsreel_ring_consume(&rg, INT64_MAX, &ops) == 1);
	CHECK(s.n == 2 && s.np == 1 && cons == prod);
}

static void test_stop(void)
{
	reset(0);
	struct dnsreel_ring rg = mk();
	struct seen s = {.stop_at = 2};
	struct dnsreel_ring_ops ops = {.arg = &s, .proc = on_proc, .pkt = on_pkt};
	add_pkt(1, 8, 0);
	add_pkt(2, 8, 0);
	add_pkt(3, 8, 0);
	CHECK(dnsreel_ring_consume(&rg, INT64_MAX, &ops) == -42);
	CHECK(s.n == 2);
	s.stop_at = 0;
	CHECK(dnsreel_ring_consume(&rg, INT64_MAX, &ops) == 1 && s.ts[2] == 3);
}

/* Many rounds around the ring: positions keep growing, data wraps. */
static void test_wrap(void)
{
	reset(SIZE - 24);
	struct dnsreel_ring rg = mk();
	struct seen s = {0};
	struct dnsreel_ring_ops ops = {.arg = &s, .proc = on_proc, .pkt = on_pkt};
	uint64_t ts = 1;
	for (int round = 0; round < 200; round++) {
		s.n = s.np = 0;
		int want = 1 + round % 5;
		for (int i = 0; i < want; i++)
			add_pkt(ts++, (uint32_t)(round * 7 + i) % 60, 0);
		add_proc((uint32_t)round);
		CHECK(prod - cons < SIZE);
		CHECK(dnsreel_ring_consume(&rg, INT64_MAX, &ops) == want);
		CHECK(s.n == want && s.np == 1 && s.pids[0] == (uint32_t)round);
		CHECK(cons == prod);
	}
}

int main(void)
{
	test_mixed(0);
	test_mixed(SIZE - 40); /* records straddle the end of the ring */
	test_busy();
	test_stop();
	test_wrap();
	if (check_failures) {
		fprintf(stderr, "%d checks failed\n", check_failures);
		return 1;
	}
	printf("ok: ring-buffer walk\n");
	return 0;
}
