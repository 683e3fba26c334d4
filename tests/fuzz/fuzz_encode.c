/* Invariant: any events the recorder could hand the writer (payloads of any bytes: names with
 * odd labels, pointers, cut headers, TCP streams; tuples, ports, flags and times of any value)
 * encode without a crash or an out-of-bounds read, gathered as the writer gathers them
 * (payloads as arena offsets, dr_enc_add) into the same bytes as dr_enc_block, and decode back
 * to exactly those events in time order (stable); the summary gathered event by event is the
 * one of the whole block.
 *
 * Input: a sequence of events, each a 12-byte head then its payload:
 *   0-1  time step (u16; 0 makes ties), 2 tuple (bits 0-2 pick one of 8 tuples, bit 3 the
 *   reply direction, bit 4 TCP), 3 ports (bit 0 swapped, bit 1 another client port),
 *   4 flags byte, 5 tcp flags, 6-7 payload length (u16, at most what is left), 8 source of
 *   the payload (0: the input bytes; 1-255: a copy of the event that many back, with byte 9
 *   written at offset byte 10 when byte 10 is below the length), 11 orig_len extra.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "capture_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

enum { MAX_EV = 2048, MAX_PAY = 1 << 16 };

static void same_or_abort(const struct dnsreel_event *a, const struct dnsreel_event *b)
{
	if (a->ts_ns != b->ts_ns || a->netns != b->netns || a->ifindex != b->ifindex ||
	    a->pkt_type != b->pkt_type || a->ip_version != b->ip_version || a->proto != b->proto ||
	    a->tcp_flags != b->tcp_flags || a->tcp_seq != b->tcp_seq ||
	    memcmp(a->src_addr, b->src_addr, 16) || memcmp(a->dst_addr, b->dst_addr, 16) ||
	    a->src_port != b->src_port || a->dst_port != b->dst_port || a->flags != b->flags ||
	    a->pid != b->pid || a->tid != b->tid || a->uid != b->uid || a->gid != b->gid ||
	    a->cgroup_id != b->cgroup_id || memcmp(a->comm, b->comm, DNSREEL_COMM_LEN) ||
	    a->orig_len != b->orig_len || a->cap_len != b->cap_len ||
	    (a->cap_len && memcmp(a->payload, b->payload, a->cap_len)))
		abort();
}

static int cmp_time(const void *x, const void *y)
{
	const struct dnsreel_event *a = *(const struct dnsreel_event *const *)x,
				   *b = *(const struct dnsreel_event *const *)y;
	if (a->ts_ns != b->ts_ns)
		return a->ts_ns < b->ts_ns ? -1 : 1;
	return a < b ? -1 : (a > b); /* stable: ties in the order given */
}

static void tuple(struct dnsreel_event *e, uint8_t t)
{
	static const char *const comms[] = {"", "dig", "unbound", "coredns"};
	unsigned k = t & 7;
	e->netns = 4026531840ull + (k & 3);
	e->ifindex = 2 + (k >> 1);
	e->ip_version = (k & 4) ? 6 : 4;
	e->proto = (t & 16) ? 6 : 17;
	uint8_t cl[16] = {10, 0, 0, (uint8_t)(1 + k)}, sv[16] = {10, 96, 0, 10};
	if (e->ip_version == 6) {
		cl[0] = sv[0] = 0xfd;
		cl[15] = (uint8_t)(1 + k);
		sv[15] = 10;
	}
	bool reply = t & 8;
	memcpy(e->src_addr, reply ? sv : cl, 16);
	memcpy(e->dst_addr, reply ? cl : sv, 16);
	e->pkt_type = reply ? DNSREEL_PKT_HOST : DNSREEL_PKT_OUTGOING;
	if (k & 1) {
		e->pid = 100 + k;
		e->tid = 100 + k;
		e->cgroup_id = 7000 + k;
		e->flags |= DNSREEL_EV_PROC;
	}
	memset(e->comm, 0, sizeof(e->comm));
	strcpy(e->comm, comms[k & 3]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dnsreel_event *ev = calloc(MAX_EV, sizeof(*ev));
	uint8_t *pay = malloc(MAX_PAY); /* the writer's arena: payloads at offsets */
	if (!ev || !pay) {
		free(ev);
		free(pay);
		return 0;
	}
	size_t n = 0, used = 0, o = 0;
	int64_t t = 1000000;
	while (n < MAX_EV && o + 12 <= size) {
		const uint8_t *h = data + o;
		o += 12;
		struct dnsreel_event *e = &ev[n];
		t += dr_rd16(h);
		e->ts_ns = t;
		tuple(e, h[2]);
		bool swap = h[3] & 1;
		uint16_t cport = (h[3] & 2) ? 40001 : 40000;
		e->src_port = swap ? 53 : cport;
		e->dst_port = swap ? cport : 53;
		e->flags |= (uint32_t)h[4]
			    << 8; /* bits the codec does not know: kept as they are */
		e->tcp_flags = h[5];
		if (e->proto == 6)
			e->tcp_seq = (uint32_t)t;
		size_t len = dr_rd16(h + 6);
		const uint8_t *src;
		if (h[8] && h[8] <= n) {
			const struct dnsreel_event *r = &ev[n - h[8]];
			src = pay + (uintptr_t)r->payload;
			if (len > r->cap_len)
				len = r->cap_len;
		} else {
			src = data + o;
			if (len > size - o)
				len = size - o;
			o += len;
		}
		if (used + len > MAX_PAY)
			break;
		memmove(pay + used, src, len);
		if (h[8] && h[10] < len)
			pay[used + h[10]] = h[9];
		e->payload = (const uint8_t *)(uintptr_t)used;
		used += len;
		e->cap_len = (uint32_t)len;
		e->orig_len = (uint32_t)len + h[11];
		if (h[11])
			e->flags |= DNSREEL_EV_TRUNCATED;
		n++;
	}
	if (n == 0) {
		free(ev);
		free(pay);
		return 0;
	}
	struct dr_enc *enc;
	struct dr_buf gathered = {0}, whole = {0};
	struct dr_sumacc *sa = NULL;
	if (dr_enc_new(&enc) || dr_sumacc_new(&sa))
		abort();
	/* as the writer: offsets, keys gathered at append, the summary too */
	for (size_t i = 0; i < n; i++) {
		struct dr_qname q;
		const uint8_t *p = pay + (uintptr_t)ev[i].payload;
		if (dr_enc_add(enc, &ev[i], p, (uintptr_t)ev[i].payload))
			abort();
		dr_enc_last_qname(enc, &q);
		if (dr_sumacc_add(sa, &ev[i], p, pay, &q))
			abort();
	}
	if (dr_enc_block_gathered(enc, pay, &gathered))
		abort();
	/* as anyone else: pointers, one call */
	for (size_t i = 0; i < n; i++)
		ev[i].payload = pay + (uintptr_t)ev[i].payload;
	if (dr_enc_block(enc, ev, n, &whole) || whole.len != gathered.len ||
	    memcmp(whole.p, gathered.p, whole.len))
		abort();
	struct dr_summary s1, s2;
	if (dr_sumacc_finish(sa, &s1) || dr_summarize(ev, n, &s2))
		abort();
	if (s1.first_ts != s2.first_ts || s1.last_ts != s2.last_ts || s1.events != s2.events ||
	    s1.rcode_mask != s2.rcode_mask || s1.qr_mask != s2.qr_mask ||
	    s1.proto_mask != s2.proto_mask || s1.netns_count != s2.netns_count ||
	    memcmp(s1.netns, s2.netns, s1.netns_count * sizeof(uint64_t)) ||
	    s1.bloom_bits != s2.bloom_bits ||
	    (s1.bloom_bits && memcmp(s1.bloom, s2.bloom, s1.bloom_bits / 8)))
		abort();
	/* decodes to the events in time order */
	const struct dnsreel_event **by_time = malloc(n * sizeof(*by_time));
	for (size_t i = 0; i < n; i++)
		by_time[i] = &ev[i];
	qsort(by_time, n, sizeof(*by_time), cmp_time);
	struct dnsreel_event *back;
	uint8_t *arena;
	if (dr_dec_block(whole.p, whole.len, (uint32_t)n, by_time[0]->ts_ns, &back, &arena))
		abort();
	for (size_t i = 0; i < n; i++)
		same_or_abort(by_time[i], &back[i]);
	free(back);
	free(arena);
	free(by_time);
	dr_summary_free(&s1);
	dr_summary_free(&s2);
	dr_sumacc_free(sa);
	dr_buf_free(&gathered);
	dr_buf_free(&whole);
	dr_enc_free(enc);
	free(ev);
	free(pay);
	return 0;
}
