/* bench-flows: flow reconstruction over synthetic multi-hop captures.
 *
 *   bench_flows gen CAP N SEED    writes a capture of N events (dnsreel-synth --multi-hop)
 *   bench_flows run CAP           merge + decode + flows (no printing): events/s, flows, peak RSS
 *   bench_flows base CAP          merge + decode alone, what run adds flows to
 *   bench_flows eval CAP N SEED   the same with the generator's truth: every flow and every
 *                                 lookup compared to the exchange and application call that
 *                                 made its events; prints precision and recall
 *
 * A reconstructed flow counts as right when its events are exactly the events of one true
 * exchange (client query and response at every hop, the forwarder's upstream query and answer);
 * a lookup when its flows are exactly the right flows of one true lookup.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "dnsreel.h"
#include "flows.h"
#include "synth.h"
#include "view.h"

/* ---- u64 -> u64 map (open addressing; keys below 2^63, stored as 2k+1 so 0 marks empty) --- */

struct map {
	uint64_t *k, *v;
	size_t mask, n;
};

static int map_init(struct map *m, size_t want)
{
	size_t cap = 1024;
	while (cap < want * 2)
		cap *= 2;
	m->k = calloc(cap, sizeof(uint64_t));
	m->v = calloc(cap, sizeof(uint64_t));
	m->mask = cap - 1;
	m->n = 0;
	return m->k && m->v ? 0 : -1;
}

static inline uint64_t hmix(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ULL;
	return x ^ (x >> 33);
}

static uint64_t *map_slot(struct map *m, uint64_t k, bool insert)
{
	k = k << 1 | 1;
	for (size_t i = hmix(k) & m->mask;; i = (i + 1) & m->mask) {
		if (m->k[i] == k)
			return &m->v[i];
		if (!m->k[i]) {
			if (!insert)
				return NULL;
			m->k[i] = k;
			m->n++;
			return &m->v[i];
		}
	}
}

static uint64_t ev_key(const struct dnsreel_event *ev)
{
	uint64_t h = hmix((uint64_t)ev->ts_ns);
	h = hmix(h ^ ev->netns);
	h = hmix(h ^ ((uint64_t)ev->ifindex << 24 | (uint64_t)ev->pkt_type << 16 | ev->src_port));
	return hmix(h ^ ((uint64_t)ev->dst_port << 32 | ev->tcp_seq));
}

/* ---- state -------------------------------------------------------------------------------- */

struct bench {
	struct dnsreel_flows *fl;
	uint64_t flows;
	bool eval;
	struct map truth;      /* event -> truth flow << 32 | truth lookup (32 bits each) */
	uint32_t *flow_events; /* truth flow -> its event count */
	uint64_t nflow_truth;
	uint64_t flows_right, events_seen, events_unknown;
	/* lookups: reconstructed lookup id -> truth lookup (or ~0 mixed), and back */
	struct map lk_r2t, lk_t2r, lk_rflows;
	uint32_t *lookup_flows; /* truth lookup -> its flows */
	uint64_t nlookup_truth;
};

static int on_rec(void *arg, const struct dnsreel_rec *rec)
{
	struct bench *b = arg;
	return b->fl ? dnsreel_flows__feed(b->fl, rec) : 0;
}

static uint64_t hex_id(const char *s)
{
	return strtoull(s, NULL, 16) >> 1;
}

#define MIXED UINT64_MAX

static int on_flow(void *arg, const struct dnsreel_flow *f)
{
	struct bench *b = arg;
	b->flows++;
	if (!b->eval)
		return 0;
	uint64_t tf = 0, tl = 0;
	bool right = f->nevents > 0;
	for (size_t i = 0; i < f->nevents; i++) {
		uint64_t *v = map_slot(&b->truth, ev_key(f->events[i].ev), false);
		b->events_seen++;
		if (!v) {
			b->events_unknown++;
			right = false;
			continue;
		}
		uint64_t fl = *v >> 32, lk = *v & 0xffffffffu;
		if (!i)
			tf = fl, tl = lk;
		else if (fl != tf)
			right = false;
	}
	if (right && tf < b->nflow_truth && b->flow_events[tf] == f->nevents)
		b->flows_right++;
	else
		right = false;
	if (getenv("BENCH_FLOWS_DEBUG"))
		fprintf(stderr,
			"flow %s lookup %s %s %s truth flow %" PRIu64 " lookup %" PRIu64 " %s\n",
			f->flow_id, f->lookup_id, f->name, f->answered ? "answered" : "unanswered",
			tf, tl, right ? "right" : "WRONG");
	/* lookups: a right flow ties its lookup id to its true lookup */
	uint64_t rid = hex_id(f->lookup_id);
	uint64_t *r2t = map_slot(&b->lk_r2t, rid, true);
	uint64_t *cnt = map_slot(&b->lk_rflows, rid, true);
	(*cnt)++;
	uint64_t want = right ? tl + 1 : MIXED;
	if (!*r2t)
		*r2t = want;
	else if (*r2t != want)
		*r2t = MIXED;
	if (right) {
		uint64_t *t2r = map_slot(&b->lk_t2r, tl + 1, true);
		if (!*t2r)
			*t2r = rid + 1; /* values: 0 = unset */
		else if (*t2r != rid + 1)
			*t2r = MIXED;
	}
	return 0;
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int build_truth(struct bench *b, uint64_t n, uint64_t seed)
{
	struct dnsreel_synth_opts so = {.seed = seed, .multi_hop = true};
	struct dnsreel_synth *s;
	if (dnsreel_synth__new(&s, &so))
		return -1;
	if (map_init(&b->truth, n))
		return -1;
	size_t fcap = 1024, lcap = 1024;
	b->flow_events = calloc(fcap, sizeof(uint32_t));
	b->lookup_flows = calloc(lcap, sizeof(uint32_t));
	uint64_t last_flow_seen = 0;
	for (uint64_t i = 0; i < n; i++) {
		struct dnsreel_event ev;
		if (dnsreel_synth__next(s, &ev))
			return -1;
		uint64_t fl, fl2, lk;
		dnsreel_synth__truth(s, &fl, &fl2, &lk);
		*map_slot(&b->truth, ev_key(&ev), true) = fl << 32 | lk;
		while (fl >= fcap || lk >= lcap) {
			if (fl >= fcap) {
				b->flow_events =
				    realloc(b->flow_events, 2 * fcap * sizeof(uint32_t));
				memset(b->flow_events + fcap, 0, fcap * sizeof(uint32_t));
				fcap *= 2;
			}
			if (lk >= lcap) {
				b->lookup_flows =
				    realloc(b->lookup_flows, 2 * lcap * sizeof(uint32_t));
				memset(b->lookup_flows + lcap, 0, lcap * sizeof(uint32_t));
				lcap *= 2;
			}
		}
		if (!b->flow_events[fl])
			b->lookup_flows[lk]++;
		b->flow_events[fl]++;
		if (fl > last_flow_seen)
			last_flow_seen = fl;
		if (lk + 1 > b->nlookup_truth)
			b->nlookup_truth = lk + 1;
	}
	b->nflow_truth = last_flow_seen + 1;
	dnsreel_synth__free(s);
	return 0;
}

/* flows false: the same merge and decode with nothing after it, the cost flows add to. */
static int replay(struct bench *b, const char *cap, bool flows, bool events)
{
	const char *paths[1] = {cap};
	struct dnsreel_merge *rp;
	struct dnsreel_merge_opts ro = {.sz = sizeof(ro), .rec_fn = on_rec, .rec_arg = b};
	char err[512];
	if (dnsreel_merge__open(&rp, paths, 1, &ro, err, sizeof(err))) {
		fprintf(stderr, "bench_flows: %s\n", err);
		return -1;
	}
	struct dnsreel_flows_opts fo = {
	    .sz = sizeof(fo), .events = events, .fn = on_flow, .arg = b};
	if (flows && dnsreel_flows__new(&b->fl, dnsreel_merge__ctx(rp), &fo))
		return -1;
	double t0 = now_s();
	int ret = dnsreel_merge__run(rp);
	if (!ret && b->fl)
		ret = dnsreel_flows__flush(b->fl);
	double t1 = now_s();
	struct dnsreel_merge_stats st;
	dnsreel_merge__stats(rp, &st);
	struct dnsreel_flows_stats fs = {0};
	if (b->fl)
		dnsreel_flows__stats(b->fl, &fs);
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	double cpu = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
		     (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
	printf("events %" PRIu64 " flows %" PRIu64 " transactions %" PRIu64 " live_max %" PRIu64
	       " wall_s %.2f cpu_s %.2f events/s_wall %.0f"
	       " peak_rss_MiB %.1f\n",
	       st.events_read, b->flows, fs.transactions, fs.live_max, t1 - t0, cpu,
	       (double)st.events_read / (t1 - t0), (double)ru.ru_maxrss / 1024.0);
	dnsreel_flows__free(b->fl);
	dnsreel_merge__close(rp);
	return ret;
}

int main(int argc, char **argv)
{
	struct bench b;
	memset(&b, 0, sizeof(b));
	if (argc == 5 && !strcmp(argv[1], "gen")) {
		struct dnsreel_synth_opts so = {.seed = strtoull(argv[4], NULL, 0),
						.multi_hop = true};
		struct dnsreel_capw_opts wo = {.sz = sizeof(wo), .no_fsync = true};
		int err =
		    dnsreel_synth_write_capture(argv[2], &so, &wo, strtoull(argv[3], NULL, 0));
		if (err)
			fprintf(stderr, "bench_flows: %s: %s\n", argv[2], dnsreel_strerror(err));
		return err ? 1 : 0;
	}
	if (argc == 3 && !strcmp(argv[1], "run"))
		return replay(&b, argv[2], true, false) ? 1 : 0;
	if (argc == 3 && !strcmp(argv[1], "base"))
		return replay(&b, argv[2], false, false) ? 1 : 0;
	if (argc == 5 && !strcmp(argv[1], "eval")) {
		uint64_t n = strtoull(argv[3], NULL, 0);
		if (build_truth(&b, n, strtoull(argv[4], NULL, 0)) || map_init(&b.lk_r2t, n / 4) ||
		    map_init(&b.lk_t2r, n / 4) || map_init(&b.lk_rflows, n / 4)) {
			fprintf(stderr, "bench_flows: truth: out of memory\n");
			return 1;
		}
		b.eval = true;
		if (replay(&b, argv[2], true, true))
			return 1;
		uint64_t truth_flows = 0;
		for (uint64_t i = 1; i < b.nflow_truth; i++)
			truth_flows += b.flow_events[i] != 0;
		/* lookups right both ways: one true lookup, all of its flows */
		uint64_t lk_right = 0, lk_total = b.lk_r2t.n, lk_truth = 0;
		for (uint64_t i = 1; i < b.nlookup_truth; i++)
			lk_truth += b.lookup_flows[i] != 0;
		for (size_t i = 0; i <= b.lk_r2t.mask; i++) {
			if (!b.lk_r2t.k[i] || b.lk_r2t.v[i] == MIXED)
				continue;
			uint64_t tl = b.lk_r2t.v[i] - 1, rid = b.lk_r2t.k[i] >> 1;
			uint64_t *back = map_slot(&b.lk_t2r, tl + 1, false);
			uint64_t *cnt = map_slot(&b.lk_rflows, rid, false);
			if (back && *back == rid + 1 && cnt && tl < b.nlookup_truth &&
			    *cnt == b.lookup_flows[tl])
				lk_right++;
		}
		printf("flows: reconstructed %" PRIu64 " true %" PRIu64 " exact %" PRIu64
		       " precision %.4f%% recall %.4f%%; events in flows %" PRIu64
		       " (unknown %" PRIu64 ")\n",
		       b.flows, truth_flows, b.flows_right,
		       100.0 * (double)b.flows_right / (double)b.flows,
		       100.0 * (double)b.flows_right / (double)truth_flows, b.events_seen,
		       b.events_unknown);
		printf("lookups: reconstructed %" PRIu64 " true %" PRIu64 " exact %" PRIu64
		       " precision %.4f%% recall %.4f%%\n",
		       lk_total, lk_truth, lk_right, 100.0 * (double)lk_right / (double)lk_total,
		       100.0 * (double)lk_right / (double)lk_truth);
		return 0;
	}
	fprintf(stderr,
		"usage: bench_flows gen CAP N SEED | run CAP | base CAP | eval CAP N SEED\n");
	return 2;
}
