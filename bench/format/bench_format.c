/* bench-format: writes and reads a realistic DNS mix (tests/common/synth) as a dnsreel capture
 * and prints, side by side in one run, encode and decode events/s (one core), bytes/event on
 * disk (segments + index), and the same packets as a nanosecond pcap (Ethernet/IP/UDP or TCP
 * headers rebuilt, checksums computed) compressed with zstd level 19, with the ratio.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zstd.h>

#include "capture.h"
#include "dnsreel.h"
#include "synth.h"

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static double cpu_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* ---- pcap with rebuilt headers ---------------------------------------------------------- */

static uint32_t sum16(const uint8_t *p, size_t n, uint32_t s)
{
	for (size_t i = 0; i + 1 < n; i += 2)
		s += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (n & 1)
		s += (uint32_t)(p[n - 1] << 8);
	return s;
}

static uint16_t fold(uint32_t s)
{
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)~s;
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, (uint16_t)(v >> 16));
	put16(p + 2, (uint16_t)v);
}

/* One pcap record (ns resolution) for an event; returns its length in out. */
static size_t pcap_record(const struct dnsreel_event *e, int64_t b2w, uint8_t *out)
{
	uint8_t *f = out + 16;
	size_t l4 = e->proto == 6 ? 20 : 8;
	size_t ipl = e->ip_version == 6 ? 40 : 20;
	size_t len = 14 + ipl + l4 + e->cap_len;
	/* Ethernet: veth-style locally administered MACs derived from the addresses */
	uint8_t src_mac[6] = {0x02,	      0x42,	      e->src_addr[0],
			      e->src_addr[1], e->src_addr[2], e->src_addr[3]};
	uint8_t dst_mac[6] = {0x02,	      0x42,	      e->dst_addr[0],
			      e->dst_addr[1], e->dst_addr[2], e->dst_addr[3]};
	memcpy(f, dst_mac, 6);
	memcpy(f + 6, src_mac, 6);
	put16(f + 12, e->ip_version == 6 ? 0x86dd : 0x0800);
	uint8_t *ip = f + 14;
	size_t l4len = l4 + e->cap_len;
	memset(ip, 0, ipl + l4);
	uint32_t ps;
	if (e->ip_version == 6) {
		ip[0] = 0x60;
		put16(ip + 4, (uint16_t)l4len);
		ip[6] = e->proto;
		ip[7] = 64;
		memcpy(ip + 8, e->src_addr, 16);
		memcpy(ip + 24, e->dst_addr, 16);
		ps = sum16(ip + 8, 32, 0) + e->proto + (uint32_t)l4len;
	} else {
		ip[0] = 0x45;
		put16(ip + 2, (uint16_t)(20 + l4len));
		put16(ip + 6, 0x4000); /* DF, id 0 as Linux sends for UDP with DF */
		ip[8] = 64;
		ip[9] = e->proto;
		memcpy(ip + 12, e->src_addr, 4);
		memcpy(ip + 16, e->dst_addr, 4);
		put16(ip + 10, fold(sum16(ip, 20, 0)));
		ps = sum16(ip + 12, 8, 0) + e->proto + (uint32_t)l4len;
	}
	uint8_t *t = ip + ipl;
	put16(t, e->src_port);
	put16(t + 2, e->dst_port);
	if (e->proto == 6) {
		put32(t + 4, e->tcp_seq);
		put32(t + 8, e->tcp_seq ^ 0x5a5a1234u); /* an ack number */
		t[12] = 0x50;
		t[13] = e->tcp_flags;
		put16(t + 14, 502);
	} else {
		put16(t + 4, (uint16_t)l4len);
	}
	memcpy(t + l4, e->payload, e->cap_len);
	uint16_t ck = fold(sum16(t, l4len, ps));
	put16(t + (e->proto == 6 ? 16 : 6), ck ? ck : 0xffff);
	int64_t wall = e->ts_ns + b2w;
	uint8_t *h = out;
	uint32_t sec = (uint32_t)(wall / 1000000000), ns = (uint32_t)(wall % 1000000000);
	memcpy(h, &sec, 4);
	memcpy(h + 4, &ns, 4);
	uint32_t l = (uint32_t)len;
	memcpy(h + 8, &l, 4);
	uint32_t ol = (uint32_t)(len - e->cap_len + e->orig_len);
	memcpy(h + 12, &ol, 4);
	return 16 + len;
}

static uint64_t dir_bytes(const char *dir, uint64_t *index)
{
	char cmd[8400];
	snprintf(cmd, sizeof(cmd), "du -sb --apparent-size '%s/seg' '%s/index.sqlite'", dir, dir);
	FILE *p = popen(cmd, "r");
	uint64_t seg = 0, idx = 0;
	char name[4096];
	if (p) {
		unsigned long long v;
		if (fscanf(p, "%llu %4095s", &v, name) == 2)
			seg = v;
		if (fscanf(p, "%llu %4095s", &v, name) == 2)
			idx = v;
		pclose(p);
	}
	*index = idx;
	return seg;
}

int main(int argc, char **argv)
{
	uint64_t n = 1000000;
	struct dnsreel_synth_opts so = {.seed = 1, .multi_hop = false};
	struct dnsreel_capw_opts wo = {.sz = sizeof(wo), .no_fsync = true};
	const char *tmp = "/tmp";
	int pcap_level = 19;
	static const struct option lo[] = {
	    {"events", required_argument, 0, 'n'},
	    {"multi-hop", no_argument, 0, 'm'},
	    {"tcp", no_argument, 0, 't'},
	    {"seed", required_argument, 0, 's'},
	    {"level", required_argument, 0, 'l'},
	    {"pcap-level", required_argument, 0, 'p'},
	    {"dir", required_argument, 0, 'd'},
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
		case 'l':
			wo.zstd_level = atoi(optarg);
			break;
		case 'p':
			pcap_level = atoi(optarg);
			break;
		case 'd':
			tmp = optarg;
			break;
		case 'h':
			printf("Usage: bench-format [-n EVENTS] [--multi-hop] [--tcp] [--seed N] "
			       "[--level N] [--pcap-level N] [--dir TMP]\n");
			return 0;
		default:
			return 2;
		}
	}
	if (!n)
		return 2;
	char dir[4000];
	snprintf(dir, sizeof(dir), "%s/bench-format-%d.reel", tmp, (int)getpid());

	/* 1: generation alone, so encode time excludes the synthesizer */
	struct dnsreel_synth *s;
	struct dnsreel_event ev;
	dnsreel_synth__new(&s, &so);
	double t0 = cpu_now();
	uint64_t payload = 0;
	for (uint64_t i = 0; i < n; i++) {
		dnsreel_synth__next(s, &ev);
		payload += ev.cap_len;
	}
	double t_gen = cpu_now() - t0;
	dnsreel_synth__free(s);

	/* 2: generate + write the capture */
	dnsreel_synth__new(&s, &so);
	t0 = cpu_now();
	int err = dnsreel_synth_write_capture(dir, &so, &wo, n);
	double t_write = cpu_now() - t0;
	dnsreel_synth__free(s);
	if (err) {
		fprintf(stderr, "bench-format: writing %s: %s\n", dir, dnsreel_strerror(err));
		return 1;
	}
	uint64_t idx_bytes, seg_bytes = dir_bytes(dir, &idx_bytes);

	/* 3: decode every frame */
	struct dnsreel_capr *r;
	char eb[512];
	err = dnsreel_capr__open(&r, dir, NULL, eb, sizeof(eb));
	if (err) {
		fprintf(stderr, "bench-format: %s\n", eb);
		return 1;
	}
	uint64_t got = 0, chk = 0;
	t0 = cpu_now();
	double w0 = now();
	for (size_t i = 0; i < dnsreel_capr__frame_count(r); i++) {
		struct dnsreel_block b;
		err = dnsreel_capr__read_frame(r, i, &b, eb, sizeof(eb));
		if (err) {
			fprintf(stderr, "bench-format: %s\n", eb);
			return 1;
		}
		got += b.n;
		chk += b.ev[b.n - 1].cap_len;
		dnsreel_block__release(&b);
	}
	double t_read = cpu_now() - t0, w_read = now() - w0;
	int64_t b2w = dnsreel_capr__meta(r)->boot_to_wall_ns;
	dnsreel_capr__close(r);
	if (got != n) {
		fprintf(stderr, "bench-format: read %llu events, wrote %llu\n",
			(unsigned long long)got, (unsigned long long)n);
		return 1;
	}

	/* 4: the same events as pcap, compressed with zstd -19 (single thread, in process) */
	dnsreel_synth__new(&s, &so);
	ZSTD_CCtx *cc = ZSTD_createCCtx();
	ZSTD_CCtx_setParameter(cc, ZSTD_c_compressionLevel, pcap_level);
	ZSTD_CCtx_setParameter(cc, ZSTD_c_checksumFlag, 1);
	size_t ocap = ZSTD_CStreamOutSize() * 4;
	uint8_t *obuf = malloc(ocap), *rec = malloc(70000), *chunk = malloc(1 << 20);
	uint64_t pcap_raw = 0, pcap_z = 0;
	size_t cl = 0;
	uint8_t gh[24];
	uint32_t magic = 0xa1b23c4d; /* nanosecond pcap */
	uint16_t vmaj = 2, vmin = 4;
	uint32_t zero = 0, snap = 65535, link = 1;
	memcpy(gh, &magic, 4);
	memcpy(gh + 4, &vmaj, 2);
	memcpy(gh + 6, &vmin, 2);
	memcpy(gh + 8, &zero, 4);
	memcpy(gh + 12, &zero, 4);
	memcpy(gh + 16, &snap, 4);
	memcpy(gh + 20, &link, 4);
	memcpy(chunk, gh, 24);
	cl = 24;
	double tz0 = now();
	for (uint64_t i = 0; i <= n; i++) {
		size_t rl = 0;
		if (i < n) {
			dnsreel_synth__next(s, &ev);
			rl = pcap_record(&ev, b2w, rec);
		}
		if (cl + rl > (1 << 20) || i == n) {
			ZSTD_inBuffer in = {chunk, cl, 0};
			size_t rem;
			do {
				ZSTD_outBuffer out = {obuf, ocap, 0};
				rem = ZSTD_compressStream2(cc, &out, &in,
							   i == n ? ZSTD_e_end : ZSTD_e_continue);
				if (ZSTD_isError(rem)) {
					fprintf(stderr, "zstd: %s\n", ZSTD_getErrorName(rem));
					return 1;
				}
				pcap_z += out.pos;
			} while (i == n ? rem != 0 : in.pos < in.size);
			pcap_raw += cl;
			cl = 0;
		}
		memcpy(chunk + cl, rec, rl);
		cl += rl;
	}
	double tz = now() - tz0;
	ZSTD_freeCCtx(cc);
	dnsreel_synth__free(s);
	free(obuf);
	free(rec);
	free(chunk);

	double enc = t_write - t_gen;
	double cap_bpe = (double)(seg_bytes + idx_bytes) / (double)n;
	double pcap_bpe = (double)pcap_z / (double)n;
	printf("bench/format: %llu events (%s%s, seed %llu), avg DNS payload %.1f bytes, capture "
	       "zstd level %d\n",
	       (unsigned long long)n, so.multi_hop ? "multi-hop" : "single-hop",
	       so.tcp ? ", some TCP" : "", (unsigned long long)so.seed, (double)payload / (double)n,
	       wo.zstd_level ? wo.zstd_level : 6);
	printf("%-34s %16s %18s %10s\n", "", "dnsreel capture", "pcap+zstd-19", "ratio");
	printf("%-34s %16.2f %18.2f %10.3f\n", "bytes/event on disk", cap_bpe, pcap_bpe,
	       cap_bpe / pcap_bpe);
	printf("%-34s %16.2f %18s\n", "  segments bytes/event", (double)seg_bytes / (double)n, "");
	printf("%-34s %16.2f %18s\n", "  index bytes/event", (double)idx_bytes / (double)n, "");
	printf("%-34s %16s %18.2f\n", "  uncompressed pcap bytes/event", "",
	       (double)pcap_raw / (double)n);
	printf("%-34s %16.0f %18.0f\n", "encode events/s (one core)", n / enc, n / tz);
	printf("%-34s %16.0f %18s\n", "decode events/s (one core)", n / t_read, "");
	printf("%-34s %16.0f\n", "  decode wall events/s", n / w_read);
	printf("targets: bytes/event ratio <= 0.5: %s; decode >= 5M events/s: %s\n",
	       cap_bpe / pcap_bpe <= 0.5 ? "met" : "NOT met",
	       n / t_read >= 5e6 ? "met" : "NOT met");
	char cmd[4200];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "bench-format: could not remove %s\n", dir);
	(void)chk;
	return 0;
}
