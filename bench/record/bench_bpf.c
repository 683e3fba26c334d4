/* bench_bpf: the recorder's kernel programs per run, offline and without the lab (root).
 *
 * Packet programs (tc ingress/egress, the shared socket filter) run through
 * BPF_PROG_TEST_RUN on a DNS query and on a UDP packet to a port not recorded, in chunks with
 * the ring buffer drained between them; the kernel's own average per run is printed (median
 * of the chunks), against an empty program of the same type (what any hook costs at least),
 * and both again with run-time statistics off (what --stats adds to every run).
 * Process hooks: each variant the object has (raw tracepoints, BTF tracepoints) attached in
 * turn in a private netns, then sendto/recv on loopback UDP: ns per program run from the
 * kernel's run-time statistics, and the thread CPU per syscall against nothing attached.
 * Usage: bench_bpf [RUNS [packet|proc]] (default 200000 per case, both parts; one part alone
 * makes A/B rounds short). */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/bpf.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sched.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "dnsreel_bpf.h"
#include "dnsreel_pktdev.skel.h"
#include "dnsreel_proc.skel.h"
#include "dnsreel_tc.skel.h"

#define CHUNK 20000
static int ev_fd, cnt_fd, frag_fd, stats_fd = -1;
static struct ring_buffer *rb;

static int drop(void *ctx, void *data, size_t len)
{
	(void)ctx, (void)data, (void)len;
	return 0;
}

static void set_ports(volatile __u8 *bits)
{
	bits[53 >> 3] |= 1 << (53 & 7);
}

/* Ethernet + IPv4 + UDP, to port dport, with a 33-byte DNS query (www.example.test A) and
 * extra bytes after it (0: the query; more: a response's size, the answers zero bytes). */
static size_t mkpkt(uint8_t *p, uint16_t dport, size_t extra)
{
	static const uint8_t dns[] = {0x12, 0x34, 1,   0,   0,	 1,   0,   0,	0,   0,	  0,   0,
				      3,    'w',  'w', 'w', 7,	 'e', 'x', 'a', 'm', 'p', 'l', 'e',
				      4,    't',  'e', 's', 't', 0,   0,   1,	0,   1};
	size_t l4 = 8 + sizeof(dns) + extra, l3 = 20 + l4;
	memset(p, 0, 14 + l3);
	memset(p, 0xff, 6); /* broadcast: the test device accepts it as PACKET_BROADCAST */
	p[6] = 2;
	p[12] = 0x08;
	uint8_t *ip = p + 14;
	ip[0] = 0x45;
	ip[2] = (uint8_t)(l3 >> 8), ip[3] = (uint8_t)l3;
	ip[8] = 64, ip[9] = 17;
	ip[12] = 10, ip[15] = 1, ip[16] = 10, ip[19] = 2;
	uint8_t *u = ip + 20;
	u[0] = 0xc3, u[1] = 0x50;
	u[2] = (uint8_t)(dport >> 8), u[3] = (uint8_t)dport;
	u[4] = (uint8_t)(l4 >> 8), u[5] = (uint8_t)l4;
	memcpy(u + 8, dns, sizeof(dns));
	return 14 + l3;
}

/* A typical response's network-layer length (query plus an answer or two). */
#define RESP_L3_LEN 160

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return x < y ? -1 : x > y;
}

/* Run-time statistics are a global switch (a reference per fd): off only when no one else
 * holds it, which the sysctl tells. */
static bool stats_off(void)
{
	if (stats_fd >= 0)
		close(stats_fd);
	stats_fd = -1;
	FILE *f = fopen("/proc/sys/kernel/bpf_stats_enabled", "r");
	int on = 1;
	if (f) {
		if (fscanf(f, "%d", &on) != 1)
			on = 1;
		fclose(f);
	}
	return !on;
}

static void stats_on(void)
{
	if (stats_fd < 0)
		stats_fd = bpf_enable_stats(BPF_STATS_RUN_TIME);
}

/* Median over chunks of the kernel's average ns per run. */
static double test_run(int prog, const uint8_t *pkt, size_t len, int runs)
{
	uint32_t d[64];
	int n = 0;
	for (int done = 0; done < runs && n < 64; done += CHUNK) {
		LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = pkt, .data_size_in = (__u32)len,
			    .repeat = CHUNK);
		if (bpf_prog_test_run_opts(prog, &o)) {
			fprintf(stderr, "bench_bpf: test run: %s\n", strerror(errno));
			return -1;
		}
		d[n++] = o.duration;
		ring_buffer__consume(rb);
	}
	qsort(d, (size_t)n, sizeof(d[0]), cmp_u32);
	return d[n / 2];
}

/* Instructions after the verifier's rewrites (what runs, before JIT). */
static unsigned insns(int fd)
{
	struct bpf_prog_info info;
	__u32 len = sizeof(info);
	memset(&info, 0, sizeof(info));
	return bpf_obj_get_info_by_fd(fd, &info, &len) ? 0 : info.xlated_prog_len / 8;
}

static int empty_prog(enum bpf_prog_type t)
{
	struct bpf_insn insns[] = {
	    {.code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = 0},
	    {.code = BPF_JMP | BPF_EXIT},
	};
	return bpf_prog_load(t, "empty", "GPL", insns, 2, NULL);
}

static int reuse(struct bpf_map *e, struct bpf_map *c, struct bpf_map *f)
{
	int err = bpf_map__reuse_fd(e, ev_fd);
	if (!err)
		err = bpf_map__reuse_fd(c, cnt_fd);
	if (!err && f)
		err = bpf_map__reuse_fd(f, frag_fd);
	return err;
}

static void packet_progs(int runs)
{
	uint8_t dns[256], other[256], resp[256];
	size_t ld = mkpkt(dns, 53, 0), lo = mkpkt(other, 9999, 0);
	size_t lr = mkpkt(resp, 53, RESP_L3_LEN - (ld - 14));
	struct dnsreel_tc *tc = dnsreel_tc__open();
	struct dnsreel_pktdev *pd = dnsreel_pktdev__open();
	if (!tc || !pd)
		return;
	set_ports(tc->rodata->port_bits);
	set_ports(pd->rodata->port_bits);
	if (reuse(tc->maps.events, tc->maps.counters, tc->maps.frags) || dnsreel_tc__load(tc) ||
	    reuse(pd->maps.events, pd->maps.counters, pd->maps.frags) || dnsreel_pktdev__load(pd)) {
		fprintf(stderr, "bench_bpf: the packet programs did not load\n");
		return;
	}
	int ecls = empty_prog(BPF_PROG_TYPE_SCHED_CLS),
	    esock = empty_prog(BPF_PROG_TYPE_SOCKET_FILTER);
	struct {
		const char *name;
		int fd, empty;
	} p[] = {
	    {"dnsreel_tc_in", bpf_program__fd(tc->progs.dnsreel_tc_in), ecls},
	    {"dnsreel_tc_eg", bpf_program__fd(tc->progs.dnsreel_tc_eg), ecls},
	    {"dnsreel_pkt", bpf_program__fd(pd->progs.dnsreel_pkt), esock},
	};
	printf("\nPacket programs (BPF_PROG_TEST_RUN, ns per run, median of %d-run chunks):\n\n",
	       CHUNK);
	printf("| program | xlated insns | DNS query (recorded) | UDP not DNS | empty program | "
	       "DNS / empty | DNS, stats off | empty, stats off | DNS %d B (a response) |\n",
	       RESP_L3_LEN);
	printf("|---|---:|---:|---:|---:|---:|---:|---:|---:|\n");
	for (size_t i = 0; i < sizeof(p) / sizeof(p[0]); i++) {
		double a = test_run(p[i].fd, dns, ld, runs), b = test_run(p[i].fd, other, lo, runs);
		double e = test_run(p[i].empty, dns, ld, runs);
		/* What --stats (kernel.bpf_stats_enabled) adds to every run: two clock reads. */
		char off[64] = "n/a (stats on elsewhere) | n/a";
		if (stats_off()) {
			double ao = test_run(p[i].fd, dns, ld, runs);
			double eo = test_run(p[i].empty, dns, ld, runs);
			snprintf(off, sizeof(off), "%.0f | %.0f", ao, eo);
		}
		stats_on();
		double r = test_run(p[i].fd, resp, lr, runs);
		printf("| %s | %u | %.0f | %.0f | %.0f | %.1f | %s | %.0f |\n", p[i].name,
		       insns(p[i].fd), a, b, e, e > 0 ? a / e : 0, off, r);
	}
	dnsreel_tc__destroy(tc);
	dnsreel_pktdev__destroy(pd);
}

static double thread_ns(void)
{
	struct timespec t;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
	return t.tv_sec * 1e9 + t.tv_nsec;
}

struct pstat {
	__u64 cnt, ns;
};
static struct pstat pstat(struct bpf_program *p)
{
	struct bpf_prog_info info;
	__u32 len = sizeof(info);
	struct pstat s = {0, 0};
	memset(&info, 0, sizeof(info));
	if (p && !bpf_obj_get_info_by_fd(bpf_program__fd(p), &info, &len))
		s.cnt = info.run_cnt, s.ns = info.run_time_ns;
	return s;
}

static double per_run(struct pstat a, struct pstat b)
{
	return b.cnt > a.cnt ? (double)(b.ns - a.ns) / (double)(b.cnt - a.cnt) : 0;
}

/* The cases: what a forwarder and a load generator do. Returns thread ns per syscall. */
enum pcase { SEND_SAME, SEND_NEW, SEND_OTHER, RECV_DATA, RECV_EAGAIN, NCASE };
static const char *case_name[NCASE] = {
    "sendto, same socket (cached)", "new socket per query (socket+sendto+close)",
    "sendto, port not recorded", "recv with data", "recv, nothing there (EAGAIN)"};

static double run_case(enum pcase c, int runs, int cli, int srv, const struct sockaddr_in *to53,
		       const struct sockaddr_in *to_other)
{
	char buf[64] = "x", rbuf[512];
	double t0 = thread_ns(), t = 0;
	int n = c == SEND_NEW ? runs / 10 : runs;
	for (int i = 0; i < n; i++) {
		if (c == SEND_SAME || c == SEND_OTHER) {
			sendto(cli, buf, sizeof(buf), 0,
			       (const struct sockaddr *)(c == SEND_SAME ? to53 : to_other),
			       sizeof(*to53));
			if (c == SEND_SAME && i % 256 == 255) {
				double d0 = thread_ns();
				while (recv(srv, rbuf, sizeof(rbuf), MSG_DONTWAIT) > 0)
					;
				t0 += thread_ns() - d0;
			}
		} else if (c == SEND_NEW) {
			int s = socket(AF_INET, SOCK_DGRAM, 0);
			sendto(s, buf, sizeof(buf), 0, (const struct sockaddr *)to53,
			       sizeof(*to53));
			close(s);
			if (i % 256 == 255) {
				double d0 = thread_ns();
				while (recv(srv, rbuf, sizeof(rbuf), MSG_DONTWAIT) > 0)
					;
				t0 += thread_ns() - d0;
			}
		} else if (c == RECV_DATA) {
			/* fill outside the timed part, then time the receives */
			if (i % 256 == 0) {
				double d0 = thread_ns();
				for (int k = 0; k < 256; k++)
					sendto(cli, buf, sizeof(buf), 0,
					       (const struct sockaddr *)to53, sizeof(*to53));
				t0 += thread_ns() - d0;
			}
			recv(srv, rbuf, sizeof(rbuf), MSG_DONTWAIT);
		} else {
			recv(srv, rbuf, sizeof(rbuf), MSG_DONTWAIT);
		}
	}
	t = thread_ns() - t0;
	while (recv(srv, rbuf, sizeof(rbuf), MSG_DONTWAIT) > 0)
		;
	return t / n;
}

static void proc_progs(int runs)
{
	static const char *variant[][3] = {
	    {"none", NULL, NULL},
	    {"raw tracepoints", "dnsreel_send_raw", "dnsreel_recv_raw"},
	    {"BTF tracepoints", "dnsreel_send_btf", "dnsreel_recv_btf"},
	};
	struct stat st;
	if (stat("/proc/self/ns/net", &st))
		return;
	struct dnsreel_proc *p = dnsreel_proc__open();
	if (!p)
		return;
	set_ports(p->rodata->port_bits);
	p->rodata->filter_netns = true;
	if (reuse(p->maps.events, p->maps.counters, NULL) || dnsreel_proc__load(p)) {
		fprintf(stderr, "bench_bpf: the process hooks did not load\n");
		return;
	}
	__u64 ino = st.st_ino;
	__u8 one = 1;
	bpf_map_update_elem(bpf_map__fd(p->maps.netns_on), &ino, &one, BPF_ANY);

	int srv = socket(AF_INET, SOCK_DGRAM, 0), cli = socket(AF_INET, SOCK_DGRAM, 0);
	int big = 4 << 20;
	setsockopt(srv, SOL_SOCKET, SO_RCVBUF, &big, sizeof(big));
	struct sockaddr_in a53 = {.sin_family = AF_INET, .sin_port = htons(53)};
	a53.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	struct sockaddr_in aoth = a53;
	aoth.sin_port = htons(9999);
	if (bind(srv, (struct sockaddr *)&a53, sizeof(a53))) {
		perror("bench_bpf: bind 127.0.0.1:53");
		return;
	}
	double base[NCASE] = {0};
	char note[512] = "";
	printf("\nProcess hooks (loopback UDP in a private netns; ns per program run from the "
	       "kernel's statistics, syscall thread CPU ns against nothing attached):\n\n");
	printf("| hooks | case | program runs per syscall | ns per run | syscall ns | syscall / "
	       "none |\n|---|---|---:|---:|---:|---:|\n");
	for (size_t v = 0; v < sizeof(variant) / sizeof(variant[0]); v++) {
		struct bpf_program *ps = NULL, *pr = NULL;
		struct bpf_link *l1 = NULL, *l2 = NULL;
		if (variant[v][1]) {
			ps = bpf_object__find_program_by_name(p->obj, variant[v][1]);
			pr = bpf_object__find_program_by_name(p->obj, variant[v][2]);
			if (!ps || !pr)
				continue;
			size_t k = strlen(note);
			snprintf(note + k, sizeof(note) - k,
				 "- %s: %u (send) + %u (recv) xlated insns\n", variant[v][0],
				 insns(bpf_program__fd(ps)), insns(bpf_program__fd(pr)));
			l1 = bpf_program__attach(ps);
			l2 = bpf_program__attach(pr);
			if (!l1 || !l2) {
				printf("| %s | did not attach | | | | |\n", variant[v][0]);
				bpf_link__destroy(l1);
				bpf_link__destroy(l2);
				continue;
			}
		}
		for (int c = 0; c < NCASE; c++) {
			bool is_recv = c == RECV_DATA || c == RECV_EAGAIN;
			struct bpf_program *prog = is_recv ? pr : ps;
			struct pstat s0 = pstat(prog);
			double ns = run_case(c, runs, cli, srv, &a53, &aoth);
			struct pstat s1 = pstat(prog);
			int n = c == SEND_NEW ? runs / 10 : runs;
			if (!variant[v][1])
				base[c] = ns;
			printf("| %s | %s | %.2f | %.0f | %.0f | %.2f |\n", variant[v][0],
			       case_name[c], prog ? (double)(s1.cnt - s0.cnt) / n : 0,
			       per_run(s0, s1), ns, base[c] > 0 ? ns / base[c] : 0);
		}
		bpf_link__destroy(l1);
		bpf_link__destroy(l2);
		ring_buffer__consume(rb);
	}
	printf("\n%s", note);
	close(srv);
	close(cli);
	dnsreel_proc__destroy(p);
}

int main(int argc, char **argv)
{
	int runs = argc > 1 ? atoi(argv[1]) : 200000;
	const char *part = argc > 2 ? argv[2] : "";
	if (*part && strcmp(part, "packet") && strcmp(part, "proc")) {
		fprintf(stderr, "usage: bench_bpf [RUNS [packet|proc]]\n");
		return 2;
	}
	if (runs < CHUNK)
		runs = CHUNK;
	if (unshare(CLONE_NEWNET)) {
		perror("bench_bpf: unshare(CLONE_NEWNET) (run as root)");
		return 77;
	}
	int s = socket(AF_INET, SOCK_DGRAM, 0);
	struct ifreq ifr = {0};
	strcpy(ifr.ifr_name, "lo");
	ifr.ifr_flags = IFF_UP;
	if (s < 0 || ioctl(s, SIOCSIFFLAGS, &ifr)) {
		perror("bench_bpf: bring lo up");
		return 1;
	}
	close(s);
	ev_fd = bpf_map_create(BPF_MAP_TYPE_RINGBUF, "dnsreel_events", 0, 0, 32 << 20, NULL);
	cnt_fd =
	    bpf_map_create(BPF_MAP_TYPE_PERCPU_ARRAY, "dnsreel_cnt", 4, 8, DNSREEL_CNT_MAX, NULL);
	frag_fd = bpf_map_create(BPF_MAP_TYPE_LRU_HASH, "dnsreel_frags", 40, 1, 4096, NULL);
	rb = ev_fd >= 0 ? ring_buffer__new(ev_fd, drop, NULL, NULL) : NULL;
	stats_on();
	if (!rb || cnt_fd < 0 || frag_fd < 0 || stats_fd < 0) {
		fprintf(stderr, "bench_bpf: cannot create the maps or enable statistics: %s\n",
			strerror(errno));
		return 1;
	}
	double la[3] = {0};
	FILE *f = fopen("/proc/loadavg", "r");
	if (f) {
		if (fscanf(f, "%lf %lf %lf", &la[0], &la[1], &la[2]) != 3)
			la[0] = -1;
		fclose(f);
	}
	printf("bench_bpf: %d runs per case, load average %.2f %.2f %.2f\n", runs, la[0], la[1],
	       la[2]);
	if (strcmp(part, "proc"))
		packet_progs(runs);
	if (strcmp(part, "packet"))
		proc_progs(runs);
	ring_buffer__free(rb);
	return 0;
}
