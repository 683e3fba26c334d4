/* Unit tests of the block encoder's choices that must not show in the output: the nearly-sorted
 * fast path gives the order qsort_r gives (ties by index), and a block appended out of order
 * encodes to the same bytes as the same events appended sorted.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <zstd.h>

#include "check.h"

#include "capture.h"
#include "capture_int.h"
#include "dnsreel.h"
#include "synth.h"

static uint64_t rng = 0x9e3779b97f4a7c15ull;

static uint32_t rnd(uint32_t n)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t)(rng % n);
}

static int cmp_ref(const void *a, const void *b, void *base)
{
	const struct dnsreel_event *ev = base;
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	if (ev[x].ts_ns != ev[y].ts_ns)
		return ev[x].ts_ns < ev[y].ts_ns ? -1 : 1;
	return x < y ? -1 : (x > y);
}

/* n events with times rising by 0..2 (ties), then moves swaps of events up to reach apart */
static void nearly(struct dnsreel_event *ev, size_t n, size_t moves, uint32_t reach)
{
	int64_t t = 1000;
	for (size_t i = 0; i < n; i++) {
		memset(&ev[i], 0, sizeof(ev[i]));
		t += rnd(3);
		ev[i].ts_ns = t;
	}
	for (size_t k = 0; n > 1 && k < moves; k++) {
		size_t i = rnd((uint32_t)n), j = i + 1 + rnd(reach);
		if (j >= n)
			continue;
		struct dnsreel_event x = ev[i];
		ev[i] = ev[j];
		ev[j] = x;
	}
}

static void test_sort_near(void)
{
	enum { N = 3000 };
	struct dnsreel_event *ev = calloc(N, sizeof(*ev));
	uint32_t *a = malloc(N * sizeof(*a)), *b = malloc(N * sizeof(*b));
	int64_t *ts = malloc(N * sizeof(*ts));
	static const size_t sizes[] = {1, 2, 3, 17, 256, 2999};
	for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
		size_t n = sizes[s];
		for (int round = 0; round < 20; round++) {
			nearly(ev, n, (size_t)round * n / 10, 1 + (uint32_t)round);
			for (size_t i = 0; i < n; i++) {
				a[i] = b[i] = (uint32_t)i;
				ts[i] = ev[i].ts_ns;
			}
			qsort_r(b, n, sizeof(*b), cmp_ref, ev);
			bool done = dr_enc_sort_near(a, ts, n, 8 * n);
			/* the mild ones fit the budget; past it, qsort_r finishes the same way */
			CHECKF(done || round >= 10, "n %zu round %d", n, round);
			if (!done)
				qsort_r(a, n, sizeof(*a), cmp_ref, ev);
			CHECKF(memcmp(a, b, n * sizeof(*a)) == 0, "n %zu round %d", n, round);
		}
	}
	/* reversed: past the budget it gives up, and qsort_r from where it stopped agrees */
	size_t n = 2000;
	for (size_t i = 0; i < n; i++)
		ts[i] = ev[i].ts_ns = (int64_t)(n - i);
	for (size_t i = 0; i < n; i++)
		a[i] = b[i] = (uint32_t)i;
	CHECK(!dr_enc_sort_near(a, ts, n, 8 * n));
	uint32_t *seen = calloc(n, sizeof(*seen));
	for (size_t i = 0; i < n; i++)
		seen[a[i]]++;
	for (size_t i = 0; i < n; i++)
		CHECK(seen[i] == 1); /* still a permutation */
	free(seen);
	qsort_r(a, n, sizeof(*a), cmp_ref, ev);
	qsort_r(b, n, sizeof(*b), cmp_ref, ev);
	CHECK(memcmp(a, b, n * sizeof(*a)) == 0);
	CHECK(a[0] == n - 1);
	free(ts);
	free(ev);
	free(a);
	free(b);
}

/* n synthesized events of every hop, their payloads copied to one buffer (*pay) as a writer's
 * arena holds them; with distinct, no two share a time. */
static struct dnsreel_event *synth_events(uint32_t seed, bool tcp, size_t n, bool distinct,
					  uint8_t **pay)
{
	struct dnsreel_synth_opts so = {.seed = seed, .multi_hop = true, .tcp = tcp};
	struct dnsreel_synth *sy;
	CHECK(dnsreel_synth__new(&sy, &so) == 0);
	struct dnsreel_event *ev = calloc(n, sizeof(*ev));
	*pay = malloc(n * 2048);
	size_t off = 0;
	int64_t last = 0;
	for (size_t i = 0; i < n; i++) {
		CHECK(dnsreel_synth__next(sy, &ev[i]) == 0);
		CHECK(ev[i].cap_len <= 2048);
		memcpy(*pay + off, ev[i].payload, ev[i].cap_len);
		ev[i].payload = *pay + off;
		off += ev[i].cap_len;
		if (distinct && ev[i].ts_ns <= last)
			ev[i].ts_ns = last + 1;
		last = ev[i].ts_ns;
	}
	dnsreel_synth__free(sy);
	return ev;
}

/* Real events (synthesizer, every hop), encoded sorted, nearly sorted and shuffled: the same
 * block bytes (distinct times, so there are no ties to order). */
static void test_block_order(void)
{
	enum { N = 5000 };
	uint8_t *pay;
	struct dnsreel_event *ev = synth_events(3, true, N, true, &pay),
			     *mix = calloc(N, sizeof(*mix));
	struct dr_enc *e;
	CHECK(dr_enc_new(&e) == 0);
	struct dr_buf want = {0}, got = {0};
	CHECK(dr_enc_block(e, ev, N, &want) == 0);
	CHECK(want.len > 0);
	/* every level's frame decodes to the body; the codec's level 6 is smaller than zstd's */
	ZSTD_CCtx *cc = ZSTD_createCCtx();
	ZSTD_CCtx_setParameter(cc, ZSTD_c_checksumFlag, 1);
	ZSTD_CCtx_setParameter(cc, ZSTD_c_contentSizeFlag, 1);
	struct dr_buf z = {0};
	uint8_t *back = malloc(want.len);
	static const int levels[] = {-3, 1, 3, 4, 6, 9, 12};
	size_t z6 = 0;
	for (size_t l = 0; l < sizeof(levels) / sizeof(levels[0]); l++) {
		CHECK(dr_enc_compress(e, cc, levels[l], &want, &z) == 0);
		size_t r = ZSTD_decompress(back, want.len, z.p, z.len);
		CHECKF(r == want.len && memcmp(back, want.p, want.len) == 0, "level %d", levels[l]);
		if (levels[l] == 6)
			z6 = z.len;
	}
	ZSTD_CCtx_reset(cc, ZSTD_reset_session_and_parameters);
	ZSTD_CCtx_setParameter(cc, ZSTD_c_checksumFlag, 1);
	ZSTD_CCtx_setParameter(cc, ZSTD_c_contentSizeFlag, 1);
	ZSTD_CCtx_setParameter(cc, ZSTD_c_compressionLevel, 6);
	CHECK(dr_enc_compress_as_set(e, cc, &want, &z) == 0);
	size_t plain = z.len;
	CHECKF(z6 > 0 && z6 < plain, "level 6: %zu bytes, with zstd's own settings %zu", z6, plain);
	ZSTD_freeCCtx(cc);
	dr_buf_free(&z);
	free(back);
	for (int mode = 0; mode < 3; mode++) {
		memcpy(mix, ev, N * sizeof(*ev));
		size_t moves = mode == 0 ? N / 20 : (mode == 1 ? N : 0);
		for (size_t k = 0; k < moves; k++) {
			size_t i = rnd(N), j = i + 1 + rnd(mode == 0 ? 2 : 8);
			if (j < N) {
				struct dnsreel_event x = mix[i];
				mix[i] = mix[j];
				mix[j] = x;
			}
		}
		if (mode == 2) /* far out of order: the qsort_r path */
			for (size_t i = N - 1; i > 0; i--) {
				size_t j = rnd((uint32_t)i + 1);
				struct dnsreel_event x = mix[i];
				mix[i] = mix[j];
				mix[j] = x;
			}
		CHECK(dr_enc_block(e, mix, N, &got) == 0);
		CHECKF(got.len == want.len && memcmp(got.p, want.p, got.len) == 0, "mode %d", mode);
		/* gathered as a writer appends, payloads as offsets from one arena: the same
		 * bytes, and again when the gathered block is encoded once more (a flush that
		 * failed and is retried); an add taken back leaves the block as it was */
		dr_enc_clear(e);
		for (size_t i = 0; i < N; i++) {
			struct dnsreel_event x = mix[i];
			x.payload = (const uint8_t *)(uintptr_t)(mix[i].payload - pay);
			CHECK(dr_enc_add(e, &x, mix[i].payload, (uintptr_t)x.payload) == 0);
			if (i == N / 2) {
				CHECK(dr_enc_add(e, &mix[0], mix[0].payload, 0) == 0);
				dr_enc_drop_last(e);
			}
		}
		CHECK(dr_enc_gathered(e) == N);
		for (int again = 0; again < 2; again++) {
			CHECK(dr_enc_block_gathered(e, pay, &got) == 0);
			CHECKF(got.len == want.len && memcmp(got.p, want.p, got.len) == 0,
			       "mode %d, gathered, encoding %d", mode, again);
		}
		dr_enc_clear(e);
		/* the summary gathered event by event is the one of the whole block */
		struct dr_summary s1, s2;
		struct dr_sumacc *sa;
		CHECK(dr_summarize(mix, N, &s1) == 0);
		CHECK(dr_sumacc_new(&sa) == 0);
		for (int round = 0; round < 2; round++) { /* reset between frames */
			dr_sumacc_reset(sa);
			for (size_t i = 0; i < N; i++)
				CHECK(dr_sumacc_add(sa, &mix[i], mix[i].payload, NULL, NULL) == 0);
			CHECK(dr_sumacc_finish(sa, &s2) == 0);
			CHECK(s1.first_ts == s2.first_ts && s1.last_ts == s2.last_ts);
			CHECK(s1.events == N && s2.events == N);
			CHECK(s1.rcode_mask == s2.rcode_mask && s1.qr_mask == s2.qr_mask &&
			      s1.proto_mask == s2.proto_mask);
			CHECK(s1.netns_count > 1 && s1.netns_count == s2.netns_count &&
			      memcmp(s1.netns, s2.netns, s1.netns_count * sizeof(uint64_t)) == 0);
			CHECKF(s1.bloom_bits == s2.bloom_bits &&
				   (!s1.bloom_bits ||
				    memcmp(s1.bloom, s2.bloom, s1.bloom_bits / 8) == 0),
			       "bloom bits %u, %u", s1.bloom_bits, s2.bloom_bits);
			dr_summary_free(&s2);
		}
		dr_summary_free(&s1);
		dr_sumacc_free(sa);
	}
	dr_buf_free(&want);
	dr_buf_free(&got);
	dr_enc_free(e);
	free(ev);
	free(mix);
	free(pay);
}

/* UDP only, so the frame has a name bloom: gathered event by event with payloads as offsets
 * from an arena (a writer's), the summary is the one of the whole block. */
static void test_summary_gathered(void)
{
	enum { N = 3000 };
	uint8_t *pay;
	struct dnsreel_event *ev = synth_events(4, false, N, false, &pay);
	struct dr_summary s1, s2;
	CHECK(dr_summarize(ev, N, &s1) == 0);
	CHECK(s1.bloom_bits > 0 && s1.netns_count > 1);
	struct dr_sumacc *sa;
	CHECK(dr_sumacc_new(&sa) == 0);
	dr_sumacc_reset(sa);
	/* with the question each event's encoder keys found, as the writer passes it */
	struct dr_enc *e;
	CHECK(dr_enc_new(&e) == 0);
	size_t named = 0;
	for (size_t i = 0; i < N; i++) {
		struct dr_qname q;
		CHECK(dr_enc_add(e, &ev[i], ev[i].payload, (uintptr_t)ev[i].payload) == 0);
		dr_enc_last_qname(e, &q);
		named += q.end != 0;
		CHECK(dr_sumacc_add(sa, &ev[i], ev[i].payload, pay, &q) == 0);
	}
	CHECK(named > N / 2);
	dr_enc_free(e);
	CHECK(dr_sumacc_finish(sa, &s2) == 0);
	CHECK(s1.first_ts == s2.first_ts && s1.last_ts == s2.last_ts && s2.events == N);
	CHECK(s1.rcode_mask == s2.rcode_mask && s1.qr_mask == s2.qr_mask);
	CHECK(s1.netns_count == s2.netns_count &&
	      memcmp(s1.netns, s2.netns, s1.netns_count * sizeof(uint64_t)) == 0);
	CHECK(s1.bloom_bits == s2.bloom_bits && memcmp(s1.bloom, s2.bloom, s1.bloom_bits / 8) == 0);
	dr_summary_free(&s1);
	dr_summary_free(&s2);
	dr_sumacc_free(sa);
	free(ev);
	free(pay);
}

int main(void)
{
	test_summary_gathered();
	test_sort_near();
	test_block_order();
	return check_failures ? 1 : 0;
}
