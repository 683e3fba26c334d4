/* bench-writer: the capture writer's CPU per event and bytes per event at several zstd levels,
 * in one run, on the same events held in memory: synthetic (tests/common/synth) or the events
 * of a real capture (--from DIR, e.g. one kept by bench/record with LAB_KEEP_WORK=1). Prints,
 * per level, the writer's own breakdown (dnsreel_capw stats: append = the rest, block
 * encoding with the summary, zstd, write, index; thread CPU) and bytes/event of the segments
 * and of the whole capture, with ratios to the first level given. --swap P swaps neighbours
 * with probability P, as events arrive from a ring written by several CPUs; --block-events N
 * sets the events per frame (the capture writer's default otherwise); --segment-bytes B the
 * size at which a segment closes. The index's cost per event is also shown for the first and
 * the last tenth of the events: with small segments and blocks, whether a flush's index work
 * grows with the segments already written. --fsync syncs as the recorder does (the default
 * leaves it to the kernel: CPU without the disk's waits).
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "capture.h"
#include "cli.h"
#include "dnsreel.h"
#include "synth.h"

static uint64_t thread_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static uint64_t du(const char *dir, const char *part)
{
	char cmd[4200];
	snprintf(cmd, sizeof(cmd), "du -sb --apparent-size '%s/%s'", dir, part);
	FILE *f = popen(cmd, "r");
	unsigned long long b = 0;
	if (f) {
		if (fscanf(f, "%llu", &b) != 1)
			b = 0;
		pclose(f);
	}
	return b;
}

struct evs {
	struct dnsreel_event *ev;
	size_t n, cap;
	uint8_t *pay;
	size_t plen, pcap;
};

static int keep(struct evs *s, const struct dnsreel_event *e)
{
	if (s->n == s->cap) {
		size_t nc = s->cap ? s->cap * 2 : 65536;
		struct dnsreel_event *ne = realloc(s->ev, nc * sizeof(*ne));
		if (!ne)
			return -ENOMEM;
		s->ev = ne;
		s->cap = nc;
	}
	if (s->plen + e->cap_len > s->pcap) {
		size_t nc = s->pcap ? s->pcap * 2 : 1 << 24;
		while (nc < s->plen + e->cap_len)
			nc *= 2;
		uint8_t *np = realloc(s->pay, nc);
		if (!np)
			return -ENOMEM;
		s->pay = np;
		s->pcap = nc;
	}
	s->ev[s->n] = *e;
	s->ev[s->n].payload = (const uint8_t *)(uintptr_t)s->plen; /* offset until all are read */
	if (e->cap_len)
		memcpy(s->pay + s->plen, e->payload, e->cap_len);
	s->plen += e->cap_len;
	s->n++;
	return 0;
}

static int load_capture(struct evs *s, const char *dir)
{
	struct dnsreel_capr *r;
	char eb[512];
	int err = dnsreel_capr__open(&r, dir, NULL, eb, sizeof(eb));
	if (err) {
		fprintf(stderr, "bench-writer: %s\n", eb);
		return err;
	}
	for (size_t i = 0; !err && i < dnsreel_capr__frame_count(r); i++) {
		struct dnsreel_block b;
		err = dnsreel_capr__read_frame(r, i, &b, eb, sizeof(eb));
		if (err) {
			fprintf(stderr, "bench-writer: %s\n", eb);
			break;
		}
		for (size_t j = 0; !err && j < b.n; j++)
			err = keep(s, &b.ev[j]);
		dnsreel_block__release(&b);
	}
	dnsreel_capr__close(r);
	return err;
}

struct result {
	double total, append, encode, zstd, write, index, seg_b, all_b, index_first, index_last;
	uint64_t segments;
};

struct shape {
	uint32_t block;	    /* events per frame, 0: the writer's default */
	uint64_t seg_bytes; /* 0: the writer's default */
	bool fsync;	    /* as the recorder writes: fdatasync per frame, SQLite synchronous */
};

static int run(const struct evs *s, int level, const struct shape *sh, const char *tmp, int round,
	       struct result *res)
{
	char dir[4100];
	snprintf(dir, sizeof(dir), "%s/bench-writer-%d-%d.reel", tmp, (int)getpid(), round);
	struct dnsreel_capw_opts wo = {
	    .sz = sizeof(wo), .no_fsync = !sh->fsync, .zstd_level = level};
	wo.block_events = sh->block;
	wo.segment_bytes = sh->seg_bytes;
	struct dnsreel_capw *w;
	int err = dnsreel_capw__open(&w, dir, &wo);
	if (err)
		return err;
	struct dnsreel_meta m = {.format_major = DNSREEL_FORMAT_MAJOR,
				 .format_minor = DNSREEL_FORMAT_MINOR,
				 .snaplen = 65535};
	snprintf(m.node, sizeof(m.node), "bench");
	err = dnsreel_capw__set_meta(w, &m);
	uint64_t t0 = thread_ns();
	size_t tenth = s->n / 10, last = s->n - tenth;
	struct dnsreel_capw_stats st, st1 = {0}, st9 = {0};
	for (size_t i = 0; !err && i < s->n; i++) {
		if (i == tenth)
			dnsreel_capw__stats(w, &st1);
		if (i == last)
			dnsreel_capw__stats(w, &st9);
		err = dnsreel_capw__append(w, &s->ev[i]);
	}
	if (!err)
		err = dnsreel_capw__flush(w);
	uint64_t t1 = thread_ns();
	dnsreel_capw__stats(w, &st);
	int cerr = dnsreel_capw__close(w);
	if (!err)
		err = cerr;
	if (!err) {
		double n = (double)s->n;
		res->total = (double)(t1 - t0) / n;
		res->encode = (double)st.ns_encode / n;
		res->zstd = (double)st.ns_zstd / n;
		res->write = (double)st.ns_write / n;
		res->index = (double)st.ns_index / n;
		res->append = res->total - res->encode - res->zstd - res->write - res->index;
		/* the last tenth without the final flush, which any run has */
		res->index_first = tenth ? (double)st1.ns_index / (double)tenth : 0;
		res->index_last = tenth ? (double)(st.ns_index - st9.ns_index) / (double)tenth : 0;
		res->segments = st.segments;
		res->seg_b = (double)du(dir, "seg") / n;
		res->all_b = res->seg_b + (double)du(dir, "index.sqlite") / n;
	}
	char cmd[4200];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "bench-writer: could not remove %s\n", dir);
	return err;
}

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_d);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

int main(int argc, char **argv)
{
	uint64_t n = 1000000;
	struct dnsreel_synth_opts so = {.seed = 1, .multi_hop = false};
	const char *tmp = "/tmp", *from = NULL, *levels = "6,3,1,-1";
	int rounds = 3;
	struct shape sh = {0};
	double swap = 0;
	static const struct option lo[] = {
	    {"events", required_argument, 0, 'n'},
	    {"multi-hop", no_argument, 0, 'm'},
	    {"tcp", no_argument, 0, 't'},
	    {"seed", required_argument, 0, 's'},
	    {"from", required_argument, 0, 'f'},
	    {"levels", required_argument, 0, 'l'},
	    {"rounds", required_argument, 0, 'r'},
	    {"swap", required_argument, 0, 'w'},
	    {"dir", required_argument, 0, 'd'},
	    {"block-events", required_argument, 0, 'b'},
	    {"segment-bytes", required_argument, 0, 'g'},
	    {"fsync", no_argument, 0, 'y'},
	    {"help", no_argument, 0, 'h'},
	    {0, 0, 0, 0},
	};
	int c;
	while ((c = getopt_long(argc, argv, "n:h", lo, NULL)) != -1) {
		switch (c) {
		case 'n':
			n = strtoull(optarg, NULL, 0);
			break;
		case 'm':
			so.multi_hop = true;
			break;
		case 't':
			so.tcp = true;
			break;
		case 's':
			so.seed = strtoull(optarg, NULL, 0);
			break;
		case 'f':
			from = optarg;
			break;
		case 'l':
			levels = optarg;
			break;
		case 'r':
			rounds = atoi(optarg);
			break;
		case 'w':
			swap = atof(optarg);
			break;
		case 'd':
			tmp = optarg;
			break;
		case 'b':
			sh.block = (uint32_t)strtoul(optarg, NULL, 0);
			break;
		case 'g':
			if (dnsreel_parse_size(optarg, &sh.seg_bytes) || sh.seg_bytes < 4096) {
				fprintf(stderr, "bench-writer: --segment-bytes: a size of 4096 or "
						"more (K, M, G suffixes)\n");
				return 2;
			}
			break;
		case 'y':
			sh.fsync = true;
			break;
		case 'h':
			printf("Usage: bench-writer [-n EVENTS] [--multi-hop] [--tcp] [--seed N] "
			       "[--from CAPTURE] [--levels L,L,...] [--rounds N] [--swap P] "
			       "[--dir TMP] [--block-events N] [--segment-bytes B] [--fsync]\n");
			return 0;
		default:
			return 2;
		}
	}
	if (!n || rounds < 1 || rounds > 99)
		return 2;
	struct evs s = {0};
	int err = 0;
	if (from) {
		err = load_capture(&s, from);
	} else {
		struct dnsreel_synth *sy;
		err = dnsreel_synth__new(&sy, &so);
		for (uint64_t i = 0; !err && i < n; i++) {
			struct dnsreel_event ev;
			err = dnsreel_synth__next(sy, &ev);
			if (!err)
				err = keep(&s, &ev);
		}
		dnsreel_synth__free(sy);
	}
	if (err || !s.n) {
		fprintf(stderr, "bench-writer: no events: %s\n", dnsreel_strerror(err));
		return 1;
	}
	for (size_t i = 0; i < s.n; i++)
		s.ev[i].payload = s.pay + (uintptr_t)s.ev[i].payload;
	uint64_t x = 88172645463325252ull, swapped = 0;
	for (size_t i = 0; swap > 0 && i + 1 < s.n; i++) {
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		if ((double)(x >> 11) / 9007199254740992.0 < swap) {
			struct dnsreel_event t = s.ev[i];
			s.ev[i] = s.ev[i + 1];
			s.ev[i + 1] = t;
			swapped++;
			i++;
		}
	}
	int lv[16], nl = 0;
	for (const char *p = levels; *p && nl < 16;) {
		char *end;
		lv[nl++] = (int)strtol(p, &end, 10);
		if (end == p)
			return 2;
		p = *end == ',' ? end + 1 : end;
	}
	printf(
	    "bench-writer: %zu events (%s), %llu neighbours swapped, %u-event blocks, %d rounds, "
	    "medians; ns per event, thread CPU\n",
	    s.n, from ? from : (so.multi_hop ? "synth multi-hop" : "synth single-hop"),
	    (unsigned long long)swapped, sh.block ? sh.block : DNSREEL_CAPW_DEFAULT_BLOCK_EVENTS,
	    rounds);
	printf("%6s %8s %8s %8s %8s %8s %8s %9s %9s %8s %8s %9s %9s %8s\n", "level", "total",
	       "append", "encode", "zstd", "write", "index", "seg B/ev", "all B/ev", "cpu/1st",
	       "B/1st", "idx 1st10", "idx last10", "segments");
	double first_t = 0, first_b = 0;
	for (int l = 0; l < nl; l++) {
		double v[9][99];
		uint64_t segs = 0;
		for (int r = 0; r < rounds; r++) {
			struct result res = {0};
			err = run(&s, lv[l], &sh, tmp, r, &res);
			if (err) {
				fprintf(stderr, "bench-writer: level %d: %s\n", lv[l],
					dnsreel_strerror(err));
				return 1;
			}
			v[0][r] = res.total, v[1][r] = res.append, v[2][r] = res.encode;
			v[3][r] = res.zstd, v[4][r] = res.write, v[5][r] = res.index;
			v[6][r] = res.all_b;
			v[7][r] = res.index_first, v[8][r] = res.index_last;
			if (r == 0) {
				v[6][98] = res.seg_b;
				segs = res.segments;
			}
		}
		double seg_b = v[6][98], m[9];
		for (int k = 0; k < 9; k++)
			m[k] = median(v[k], rounds);
		if (l == 0)
			first_t = m[0], first_b = m[6];
		printf(
		    "%6d %8.0f %8.0f %8.0f %8.0f %8.0f %8.0f %9.3f %9.3f %8.2f %8.3f %9.0f %9.0f "
		    "%8llu\n",
		    lv[l], m[0], m[1], m[2], m[3], m[4], m[5], seg_b, m[6], m[0] / first_t,
		    m[6] / first_b, m[7], m[8], (unsigned long long)segs);
	}
	free(s.ev);
	free(s.pay);
	return 0;
}
