/* lab-compare: checks a dnsreel capture against tcpdump's pcaps of the same lab run.
 *
 * Every DNS packet tcpdump saw in a lab netns must be in the capture exactly once more often
 * than not: the comparison is a multiset equality on (netns, ifindex, pkt_type, proto,
 * endpoints, TCP seq and flags, DNS bytes). Capture events in the compared namespaces that
 * tcpdump did not see are failures too; events in other namespaces (the host, other labs) are
 * counted and ignored. Optional checks: process context in a netns (every event there carries
 * one of the given pid/comm pairs, and each pid has a query and a response), and coverage
 * (NXDOMAIN, SERVFAIL, AAAA, TCP, IPv6, truncated UDP answers) present on both sides.
 *
 * pcap files are parsed here (classic pcap, LINUX_SLL2 or LINUX_SLL link types, as
 * `tcpdump -i any -w` writes them) so the test does not trust libpcap or tshark for the
 * answer it checks.
 *
 * Exit: 0 all match, 1 mismatch or unreadable input, 2 usage.
 */
#include <errno.h>
#include <fnmatch.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "capture.h"
#include "dnsreel.h"

#define MAX_PCAPS  16
#define MAX_PROCS  64
#define MAX_EXPECT 16

struct pkt {
	uint64_t netns;
	uint32_t ifindex;
	uint8_t pkt_type;
	uint8_t ip_version;
	uint8_t proto;
	uint8_t tcp_flags;
	uint32_t tcp_seq;
	uint8_t src[16], dst[16];
	uint16_t sport, dport;
	uint32_t orig_len;
	uint32_t cap_len;
	uint8_t *payload; /* owned */
	uint32_t flags;	  /* event flags (capture side) */
	uint32_t pid;
	char comm[16];
	bool matched;
};

struct vec {
	struct pkt *v;
	size_t n, cap;
};

static int vec_push(struct vec *a, const struct pkt *p)
{
	if (a->n == a->cap) {
		size_t nc = a->cap ? a->cap * 2 : 1024;
		struct pkt *nv = realloc(a->v, nc * sizeof(*nv));
		if (!nv)
			return -ENOMEM;
		a->v = nv;
		a->cap = nc;
	}
	a->v[a->n++] = *p;
	return 0;
}

static void vec_free(struct vec *a)
{
	for (size_t i = 0; i < a->n; i++)
		free(a->v[i].payload);
	free(a->v);
}

static struct {
	uint16_t ports[8];
	size_t nports;
	bool verbose;
	bool no_loss;
} g = {.ports = {53, 5353}, .nports = 2};

static bool dns_port(uint16_t p)
{
	for (size_t i = 0; i < g.nports; i++)
		if (g.ports[i] == p)
			return true;
	return false;
}

static uint16_t be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint32_t rd32(const uint8_t *p, bool swap)
{
	uint32_t v;
	memcpy(&v, p, 4);
	return swap ? __builtin_bswap32(v) : v;
}

/* Parses an L3 packet into p (without netns/ifindex/pkt_type). Returns 1 for a DNS packet the
 * recorder must keep (port match; TCP only with payload), 0 to skip. */
static int parse_l3(const uint8_t *d, size_t len, struct pkt *p)
{
	size_t off, l4len;
	uint8_t proto;
	if (len < 1)
		return 0;
	if ((d[0] >> 4) == 4) {
		if (len < 20)
			return 0;
		size_t ihl = (size_t)(d[0] & 15) * 4;
		size_t tot = be16(d + 2);
		if (ihl < 20 || ihl > len)
			return 0;
		/* GSO super-packets may carry tot_len 0; otherwise it bounds the packet. */
		if (tot >= ihl && tot < len)
			len = tot;
		if ((be16(d + 6) & 0x3fff) != 0)
			return 0; /* fragments: none in the lab */
		p->ip_version = 4;
		memset(p->src, 0, 16);
		memset(p->dst, 0, 16);
		memcpy(p->src, d + 12, 4);
		memcpy(p->dst, d + 16, 4);
		proto = d[9];
		off = ihl;
	} else if ((d[0] >> 4) == 6) {
		if (len < 40)
			return 0;
		size_t plen = be16(d + 4);
		if (plen && 40 + plen < len)
			len = 40 + plen;
		p->ip_version = 6;
		memcpy(p->src, d + 8, 16);
		memcpy(p->dst, d + 24, 16);
		proto = d[6];
		off = 40;
		/* Walk extension headers: hop-by-hop, routing, destination options. */
		for (int i = 0; i < 8 && (proto == 0 || proto == 43 || proto == 60); i++) {
			if (off + 8 > len)
				return 0;
			proto = d[off];
			off += ((size_t)d[off + 1] + 1) * 8;
		}
		if (proto == 44)
			return 0;
	} else {
		return 0;
	}
	if (off > len)
		return 0;
	p->proto = proto;
	if (proto == 17) {
		if (off + 8 > len)
			return 0;
		p->sport = be16(d + off);
		p->dport = be16(d + off + 2);
		p->tcp_flags = 0;
		p->tcp_seq = 0;
		off += 8;
	} else if (proto == 6) {
		if (off + 20 > len)
			return 0;
		p->sport = be16(d + off);
		p->dport = be16(d + off + 2);
		p->tcp_seq = be32(d + off + 4);
		size_t doff = (size_t)(d[off + 12] >> 4) * 4;
		p->tcp_flags = d[off + 13];
		if (doff < 20 || off + doff > len)
			return 0;
		off += doff;
	} else {
		return 0;
	}
	if (!dns_port(p->sport) && !dns_port(p->dport))
		return 0;
	l4len = len - off;
	if (proto == 6 && l4len == 0)
		return 0;
	p->orig_len = (uint32_t)l4len;
	p->cap_len = (uint32_t)l4len;
	p->payload = malloc(l4len ? l4len : 1);
	if (!p->payload)
		return -ENOMEM;
	memcpy(p->payload, d + off, l4len);
	return 1;
}

/* Reads one pcap file of netns `netns` into out. Returns packets kept or negative. */
static long read_pcap(const char *path, uint64_t netns, struct vec *out, uint64_t *nonip)
{
	FILE *f = fopen(path, "rb");
	uint8_t gh[24], rh[16];
	uint8_t *buf = NULL;
	long kept = 0;
	if (!f) {
		fprintf(stderr, "lab-compare: %s: %s\n", path, strerror(errno));
		return -1;
	}
	if (fread(gh, 1, 24, f) != 24) {
		fprintf(stderr, "lab-compare: %s: no pcap header (did tcpdump start?)\n", path);
		fclose(f);
		return -1;
	}
	uint32_t magic;
	memcpy(&magic, gh, 4);
	bool swap;
	if (magic == 0xa1b2c3d4 || magic == 0xa1b23c4d)
		swap = false;
	else if (magic == 0xd4c3b2a1 || magic == 0x4d3cb2a1)
		swap = true;
	else {
		fprintf(stderr, "lab-compare: %s: not a classic pcap file (magic %08x)\n", path,
			magic);
		fclose(f);
		return -1;
	}
	uint32_t linktype = rd32(gh + 20, swap) & 0x0fffffff;
	if (linktype != 276 && linktype != 113) {
		fprintf(stderr,
			"lab-compare: %s: link type %u, want LINUX_SLL2 (276) or SLL (113)\n", path,
			linktype);
		fclose(f);
		return -1;
	}
	buf = malloc(1u << 18);
	if (!buf) {
		fclose(f);
		return -1;
	}
	for (;;) {
		size_t r = fread(rh, 1, 16, f);
		if (r == 0)
			break;
		if (r != 16) {
			/* tcpdump killed mid-write: the last record is cut; say so and stop. */
			fprintf(stderr, "lab-compare: %s: cut record header at end\n", path);
			break;
		}
		uint32_t incl = rd32(rh + 8, swap), origl = rd32(rh + 12, swap);
		if (incl > (1u << 18)) {
			fprintf(stderr, "lab-compare: %s: record of %u bytes\n", path, incl);
			kept = -1;
			break;
		}
		if (fread(buf, 1, incl, f) != incl) {
			fprintf(stderr, "lab-compare: %s: cut record at end\n", path);
			break;
		}
		if (incl < origl) {
			fprintf(stderr, "lab-compare: %s: packet cut by snaplen (use -s 0)\n",
				path);
			kept = -1;
			break;
		}
		struct pkt p;
		memset(&p, 0, sizeof(p));
		p.netns = netns;
		size_t hl;
		uint16_t l3;
		if (linktype == 276) {
			if (incl < 20)
				continue;
			l3 = be16(buf);
			p.ifindex = be32(buf + 4);
			p.pkt_type = buf[10];
			hl = 20;
		} else {
			if (incl < 16)
				continue;
			p.pkt_type = (uint8_t)be16(buf);
			l3 = be16(buf + 14);
			p.ifindex = 0; /* SLL has none: compared as "any" */
			hl = 16;
		}
		if (l3 != 0x0800 && l3 != 0x86dd) {
			(*nonip)++;
			continue;
		}
		int k = parse_l3(buf + hl, incl - hl, &p);
		if (k < 0) {
			kept = -1;
			break;
		}
		if (k == 0)
			continue;
		if (vec_push(out, &p) < 0) {
			free(p.payload);
			kept = -1;
			break;
		}
		kept++;
	}
	free(buf);
	fclose(f);
	return kept;
}

static int cmp_pkt(const void *a_, const void *b_)
{
	const struct pkt *a = a_, *b = b_;
#define C(f)                                                                                       \
	do {                                                                                       \
		if (a->f != b->f)                                                                  \
			return a->f < b->f ? -1 : 1;                                               \
	} while (0)
	C(netns);
	C(pkt_type);
	C(ip_version);
	C(proto);
	C(sport);
	C(dport);
	C(tcp_seq);
	C(tcp_flags);
	C(orig_len);
	int c = memcmp(a->src, b->src, 16);
	if (c)
		return c;
	c = memcmp(a->dst, b->dst, 16);
	if (c)
		return c;
	uint32_t n = a->cap_len < b->cap_len ? a->cap_len : b->cap_len;
	c = memcmp(a->payload, b->payload, n);
	if (c)
		return c;
	C(cap_len);
	C(ifindex);
#undef C
	return 0;
}

/* Equal as evidence: same key, and the capture's bytes are a prefix of tcpdump's (snaplen). */
static bool same(const struct pkt *t, const struct pkt *e)
{
	if (t->netns != e->netns || t->pkt_type != e->pkt_type || t->ip_version != e->ip_version ||
	    t->proto != e->proto || t->sport != e->sport || t->dport != e->dport ||
	    t->tcp_seq != e->tcp_seq || t->tcp_flags != e->tcp_flags ||
	    t->orig_len != e->orig_len || memcmp(t->src, e->src, 16) || memcmp(t->dst, e->dst, 16))
		return false;
	if (t->ifindex && e->ifindex && t->ifindex != e->ifindex)
		return false;
	if (e->cap_len > t->cap_len || memcmp(t->payload, e->payload, e->cap_len))
		return false;
	return true;
}

static void describe(const char *what, const struct pkt *p, const char *nsname)
{
	char s[64], d[64];
	struct dnsreel_event ev;
	memset(&ev, 0, sizeof(ev));
	ev.ip_version = p->ip_version;
	memcpy(ev.src_addr, p->src, 16);
	memcpy(ev.dst_addr, p->dst, 16);
	ev.src_port = p->sport;
	ev.dst_port = p->dport;
	dnsreel_event_addr_str(&ev, true, true, s, sizeof(s));
	dnsreel_event_addr_str(&ev, false, true, d, sizeof(d));
	uint16_t id = 0;
	const uint8_t *m = p->payload;
	uint32_t ml = p->cap_len;
	if (p->proto == 6 && ml >= 2) {
		m += 2;
		ml -= 2;
	}
	if (ml >= 2)
		id = be16(m);
	fprintf(stderr,
		"  %s: netns %s(%" PRIu64 ") if %u %s %s %s -> %s len %u seq %u flags 0x%02x "
		"id 0x%04x",
		what, nsname, p->netns, p->ifindex, dnsreel_pkt_type_name(p->pkt_type),
		p->proto == 6 ? "TCP" : "UDP", s, d, p->orig_len, p->tcp_seq, p->tcp_flags, id);
	if (p->flags & DNSREEL_EV_PROC)
		fprintf(stderr, " pid %u comm %s", p->pid, p->comm);
	fputc('\n', stderr);
}

/* DNS header facts for coverage: message start (skips the TCP length prefix when the segment
 * starts a message; good enough for the lab's one-message-per-segment traffic). */
struct dnsfacts {
	bool ok, qr, tc;
	uint8_t rcode;
	uint16_t qtype;
};

static struct dnsfacts dns_facts(const struct pkt *p)
{
	struct dnsfacts f = {0};
	const uint8_t *m = p->payload;
	size_t n = p->cap_len;
	if (p->proto == 6) {
		if (n < 2)
			return f;
		m += 2;
		n -= 2;
	}
	if (n < 12)
		return f;
	f.qr = m[2] & 0x80;
	f.tc = m[2] & 0x02;
	f.rcode = m[3] & 15;
	if (be16(m + 4) >= 1) {
		size_t o = 12;
		while (o < n && m[o] && (m[o] & 0xc0) == 0)
			o += (size_t)m[o] + 1;
		if (o < n && (m[o] & 0xc0))
			o += 2;
		else
			o += 1;
		if (o + 2 <= n)
			f.qtype = be16(m + o);
	}
	f.ok = true;
	return f;
}

struct nsmap {
	uint64_t netns;
	char name[64];
	char file[512];
	long pcap_pkts;
	long cap_events;
};

struct procspec {
	uint64_t netns;
	uint32_t pid;
	char comm[128]; /* glob patterns separated by '|' */
	bool q, r;
};

/* comm against "dig|isc-*": a thread may carry its own name (BIND's dig sends from its
 * isc-net-NNNN threads), which is what the kernel reports, as trace_dns shows it. */
static bool comm_match(const char *pats, const char *comm)
{
	char buf[128];
	snprintf(buf, sizeof(buf), "%s", pats);
	char *s = buf, *t;
	while ((t = strsep(&s, "|")))
		if (!fnmatch(t, comm, 0))
			return true;
	return false;
}

static const char *nsname(struct nsmap *m, size_t n, uint64_t ns)
{
	for (size_t i = 0; i < n; i++)
		if (m[i].netns == ns)
			return m[i].name;
	return "?";
}

/* Pod context of a netns and service names, as the recorder derived them from the lab's
 * cgroups, pod-logs folder and kube-proxy rules. Returns the number of mismatches. */
static size_t check_context(struct dnsreel_capr *r, const char **pods, size_t npods,
			    const char **svcs, size_t nsvcs)
{
	size_t bad = 0;
	for (size_t i = 0; i < npods; i++) {
		char want[512], got[512];
		const char *eq = strchr(pods[i], '=');
		uint64_t ino = strtoull(pods[i], NULL, 10);
		snprintf(want, sizeof(want), "%s", eq ? eq + 1 : "");
		const struct dnsreel_netns_ctx *n = dnsreel_capr__netns(r, ino);
		if (!n) {
			fprintf(stderr, "  context: netns %" PRIu64 " unknown to the capture\n",
				ino);
			bad++;
			continue;
		}
		snprintf(got, sizeof(got), "%s/%s/%s/%s", n->k8s_namespace, n->k8s_podname,
			 n->k8s_containername, n->k8s_pod_uid);
		if (strcmp(want, got)) {
			fprintf(stderr, "  context: netns %" PRIu64 " is %s, want %s\n", ino, got,
				want);
			bad++;
		}
	}
	for (size_t i = 0; i < nsvcs; i++) {
		bool found = false;
		char got[512] = "";
		for (size_t j = 0; j < dnsreel_capr__service_count(r) && !found; j++) {
			const struct dnsreel_service_ctx *sv = dnsreel_capr__service_at(r, j);
			struct dnsreel_event ev;
			memset(&ev, 0, sizeof(ev));
			ev.ip_version = sv->ip_version;
			memcpy(ev.dst_addr, sv->addr, 16);
			ev.dst_port = sv->port;
			char a[80];
			dnsreel_event_addr_str(&ev, false, true, a, sizeof(a));
			snprintf(got, sizeof(got), "%s=%s/%s", a, sv->k8s_namespace, sv->name);
			found = !strcmp(got, svcs[i]);
		}
		if (!found) {
			fprintf(stderr, "  context: no service %s (%zu known)\n", svcs[i],
				dnsreel_capr__service_count(r));
			for (size_t j = 0; j < dnsreel_capr__service_count(r); j++) {
				const struct dnsreel_service_ctx *sv =
				    dnsreel_capr__service_at(r, j);
				fprintf(stderr, "    known: v%u proto %u port %u %s/%s\n",
					sv->ip_version, sv->proto, sv->port, sv->k8s_namespace,
					sv->name);
			}
			bad++;
		}
	}
	return bad;
}

static const char usage_text[] =
    "Usage: lab-compare -c CAPTURE -p INODE:NAME[:FILE.pcap] [-p ...] [options]\n"
    "Checks that every DNS packet tcpdump saw is in the capture, and nothing more.\n"
    "  -c, --capture DIR           the dnsreel capture\n"
    "  -p, --pcap INODE:NAME:FILE  tcpdump -i any -w FILE run in netns INODE (NAME for\n"
    "                              messages); without FILE only with --count\n"
    "  -P, --proc INODE:PID:COMM   every event in netns INODE must carry one of the given\n"
    "                              processes (repeat), each in a query and a response;\n"
    "                              PID 0: any pid; COMM: globs joined by |\n"
    "  -r, --require LIST          coverage: nxdomain,servfail,aaaa,tcp,ipv6,tc\n"
    "      --pod INODE=NS/POD/CONTAINER/UID   pod context the capture has for netns INODE\n"
    "      --service IP:PORT=NS/NAME          a service the capture knows ([v6]:port)\n"
    "      --ports LIST            DNS ports (default 53,5353)\n"
    "      --count                 only print counts (no comparison)\n"
    "      --no-loss               fail when the recorder counted any lost event\n"
    "  -v, --verbose               list every mismatch (default: first 20)\n"
    "  -h, --help\n";

static void usage(FILE *o)
{
	fputs(usage_text, o);
}

int main(int argc, char **argv)
{
	const char *capdir = NULL, *require = NULL;
	struct nsmap maps[MAX_PCAPS];
	size_t nmaps = 0;
	struct procspec procs[MAX_PROCS];
	size_t nprocs = 0;
	bool count_only = false;
	const char *pods[MAX_EXPECT], *svcs[MAX_EXPECT];
	size_t npods = 0, nsvcs = 0;
	int rc = 1;
	static const struct option opts[] = {
	    {"capture", required_argument, 0, 'c'}, {"pcap", required_argument, 0, 'p'},
	    {"proc", required_argument, 0, 'P'},    {"require", required_argument, 0, 'r'},
	    {"ports", required_argument, 0, 'o'},   {"count", no_argument, 0, 'n'},
	    {"verbose", no_argument, 0, 'v'},	    {"help", no_argument, 0, 'h'},
	    {"pod", required_argument, 0, 'K'},	    {"service", required_argument, 0, 'S'},
	    {"no-loss", no_argument, 0, 'L'},	    {0, 0, 0, 0}};
	int c;
	while ((c = getopt_long(argc, argv, "c:p:P:r:vh", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			capdir = optarg;
			break;
		case 'p': {
			/* INODE:NAME[:FILE]; without FILE the netns is only counted (--count). */
			char *a = optarg, *e1 = strchr(a, ':'),
			     *e2 = e1 ? strchr(e1 + 1, ':') : NULL;
			if (!e1 || nmaps == MAX_PCAPS) {
				fprintf(stderr, "lab-compare: bad --pcap %s\n", optarg);
				usage(stderr);
				return 2;
			}
			struct nsmap *m = &maps[nmaps++];
			memset(m, 0, sizeof(*m));
			m->netns = strtoull(a, NULL, 10);
			int nl = e2 ? (int)(e2 - e1 - 1) : (int)strlen(e1 + 1);
			snprintf(m->name, sizeof(m->name), "%.*s", nl, e1 + 1);
			snprintf(m->file, sizeof(m->file), "%s", e2 ? e2 + 1 : "");
			break;
		}
		case 'P': {
			char *a = optarg, *e1 = strchr(a, ':'),
			     *e2 = e1 ? strchr(e1 + 1, ':') : NULL;
			if (!e2 || nprocs == MAX_PROCS) {
				fprintf(stderr, "lab-compare: bad --proc %s\n", optarg);
				usage(stderr);
				return 2;
			}
			struct procspec *p = &procs[nprocs++];
			memset(p, 0, sizeof(*p));
			p->netns = strtoull(a, NULL, 10);
			p->pid = (uint32_t)strtoul(e1 + 1, NULL, 10);
			snprintf(p->comm, sizeof(p->comm), "%s", e2 + 1);
			break;
		}
		case 'r':
			require = optarg;
			break;
		case 'o': {
			g.nports = 0;
			char *s = optarg, *t;
			while ((t = strsep(&s, ",")) && g.nports < 8)
				g.ports[g.nports++] = (uint16_t)atoi(t);
			break;
		}
		case 'n':
			count_only = true;
			break;
		case 'L':
			g.no_loss = true;
			break;
		case 'K':
		case 'S':
			if ((c == 'K' ? npods : nsvcs) == MAX_EXPECT) {
				fprintf(stderr, "lab-compare: too many --%s\n",
					c == 'K' ? "pod" : "service");
				return 2;
			}
			if (c == 'K')
				pods[npods++] = optarg;
			else
				svcs[nsvcs++] = optarg;
			break;
		case 'v':
			g.verbose = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (!capdir || !nmaps || optind != argc) {
		fprintf(stderr, "lab-compare: need -c CAPTURE and at least one -p\n");
		usage(stderr);
		return 2;
	}

	struct vec tp = {0}, ev = {0};
	uint64_t nonip = 0;
	for (size_t i = 0; i < nmaps; i++) {
		if (!maps[i].file[0]) {
			if (!count_only) {
				fprintf(stderr, "lab-compare: -p %s needs a pcap file\n",
					maps[i].name);
				goto out;
			}
			continue;
		}
		long k = read_pcap(maps[i].file, maps[i].netns, &tp, &nonip);
		if (k < 0)
			goto out;
		maps[i].pcap_pkts = k;
	}

	char err[512] = "";
	struct dnsreel_capr *r = NULL;
	int e = dnsreel_capr__open(&r, capdir, NULL, err, sizeof(err));
	if (e < 0) {
		fprintf(stderr, "lab-compare: %s: %s %s\n", capdir, dnsreel_strerror(e), err);
		goto out;
	}
	uint64_t other = 0, total = 0;
	int64_t first_ts = INT64_MAX, last_ts = INT64_MIN;
	for (size_t fi = 0; fi < dnsreel_capr__frame_count(r); fi++) {
		struct dnsreel_block blk = {0};
		e = dnsreel_capr__read_frame(r, fi, &blk, err, sizeof(err));
		if (e < 0) {
			fprintf(stderr, "lab-compare: frame %zu: %s %s\n", fi, dnsreel_strerror(e),
				err);
			dnsreel_capr__close(r);
			goto out;
		}
		for (size_t j = 0; j < blk.n; j++) {
			const struct dnsreel_event *x = &blk.ev[j];
			total++;
			size_t mi;
			for (mi = 0; mi < nmaps; mi++)
				if (maps[mi].netns == x->netns)
					break;
			if (mi == nmaps) {
				other++;
				continue;
			}
			maps[mi].cap_events++;
			if (x->ts_ns < first_ts)
				first_ts = x->ts_ns;
			if (x->ts_ns > last_ts)
				last_ts = x->ts_ns;
			struct pkt p;
			memset(&p, 0, sizeof(p));
			p.netns = x->netns;
			p.ifindex = x->ifindex;
			p.pkt_type = x->pkt_type;
			p.ip_version = x->ip_version;
			p.proto = x->proto;
			p.tcp_flags = x->tcp_flags;
			p.tcp_seq = x->tcp_seq;
			memcpy(p.src, x->src_addr, 16);
			memcpy(p.dst, x->dst_addr, 16);
			p.sport = x->src_port;
			p.dport = x->dst_port;
			p.orig_len = x->orig_len;
			p.cap_len = x->cap_len;
			p.flags = x->flags;
			p.pid = x->pid;
			memcpy(p.comm, x->comm, sizeof(p.comm));
			p.comm[15] = 0;
			p.payload = malloc(x->cap_len ? x->cap_len : 1);
			if (!p.payload) {
				dnsreel_block__release(&blk);
				dnsreel_capr__close(r);
				goto out;
			}
			memcpy(p.payload, x->payload, x->cap_len);
			if (vec_push(&ev, &p) < 0) {
				free(p.payload);
				dnsreel_block__release(&blk);
				dnsreel_capr__close(r);
				goto out;
			}
		}
		dnsreel_block__release(&blk);
	}
	uint64_t lost = 0;
	for (size_t i = 0; i < dnsreel_capr__counter_count(r); i++) {
		const struct dnsreel_counter *ct = dnsreel_capr__counter_at(r, i);
		if (!strncmp(ct->name, "lost", 4))
			lost += ct->value;
	}
	size_t ctxbad = check_context(r, pods, npods, svcs, nsvcs);
	dnsreel_capr__close(r);

	printf("capture: %" PRIu64 " events, %" PRIu64 " in other netns, lost %" PRIu64 "\n", total,
	       other, lost);
	for (size_t i = 0; i < nmaps; i++)
		printf("netns %-12s %12" PRIu64 ": tcpdump %ld DNS packets, capture %ld events\n",
		       maps[i].name, maps[i].netns, maps[i].pcap_pkts, maps[i].cap_events);
	printf("total: tcpdump %zu, capture %zu\n", tp.n, ev.n);
	if (ev.n)
		printf("time: first %" PRId64 " last %" PRId64 " (boot ns, compared netns)\n",
		       first_ts, last_ts);
	if (count_only) {
		if (npods || nsvcs)
			printf("context: %zu of %zu expected pods/services wrong or missing\n",
			       ctxbad, npods + nsvcs);
		rc = ctxbad ? 1 : 0;
		goto out;
	}

	/* Multiset match: sort both, walk in step. ifindex and snaplen cuts are the only
	 * fuzzy parts, so equal keys sit together. */
	qsort(tp.v, tp.n, sizeof(*tp.v), cmp_pkt);
	qsort(ev.v, ev.n, sizeof(*ev.v), cmp_pkt);
	size_t missing = 0, extra = 0, shown = 0;
	size_t i = 0, j = 0;
	while (i < tp.n || j < ev.n) {
		if (i < tp.n && j < ev.n && same(&tp.v[i], &ev.v[j])) {
			tp.v[i].matched = ev.v[j].matched = true;
			i++, j++;
			continue;
		}
		int cmp =
		    (i < tp.n && j < ev.n) ? cmp_pkt(&tp.v[i], &ev.v[j]) : (i < tp.n ? -1 : 1);
		if (cmp <= 0)
			i++;
		else
			j++;
	}
	for (i = 0; i < tp.n; i++)
		if (!tp.v[i].matched) {
			missing++;
			if (g.verbose || shown++ < 20)
				describe("missing from capture", &tp.v[i],
					 nsname(maps, nmaps, tp.v[i].netns));
		}
	for (j = 0; j < ev.n; j++)
		if (!ev.v[j].matched) {
			extra++;
			if (g.verbose || shown++ < 20)
				describe("not seen by tcpdump", &ev.v[j],
					 nsname(maps, nmaps, ev.v[j].netns));
		}
	printf("match: %zu, missing from capture: %zu, not seen by tcpdump: %zu\n", tp.n - missing,
	       missing, extra);
	bool ok = missing == 0 && extra == 0 && tp.n > 0;
	if (tp.n == 0)
		fprintf(stderr, "lab-compare: tcpdump saw no DNS packets: nothing was compared\n");

	/* Process context. */
	size_t procbad = 0;
	if (nprocs) {
		for (j = 0; j < ev.n; j++) {
			const struct pkt *p = &ev.v[j];
			bool netns_checked = false, hit = false;
			for (size_t k = 0; k < nprocs; k++) {
				if (procs[k].netns != p->netns)
					continue;
				netns_checked = true;
				if ((p->flags & DNSREEL_EV_PROC) &&
				    (procs[k].pid == 0 || p->pid == procs[k].pid) &&
				    comm_match(procs[k].comm, p->comm)) {
					hit = true;
					struct dnsfacts f = dns_facts(p);
					if (f.ok && f.qr)
						procs[k].r = true;
					else if (f.ok)
						procs[k].q = true;
				}
			}
			if (netns_checked && !hit) {
				procbad++;
				if (g.verbose || shown++ < 40)
					describe("no or wrong process context", p,
						 nsname(maps, nmaps, p->netns));
			}
		}
		for (size_t k = 0; k < nprocs; k++) {
			if (!procs[k].q || !procs[k].r) {
				procbad++;
				fprintf(stderr, "  pid %u (%s): %s%s\n", procs[k].pid,
					procs[k].comm, procs[k].q ? "" : "no query carries it ",
					procs[k].r ? "" : "no response carries it");
			}
		}
		printf("process context: %zu events without the expected pid/comm\n", procbad);
		if (procbad)
			ok = false;
	}

	/* Coverage, counted on the capture side (they match tcpdump's when the above passed). */
	size_t nx = 0, sf = 0, aaaa = 0, tcp = 0, v6 = 0, tc = 0;
	for (j = 0; j < ev.n; j++) {
		struct dnsfacts f = dns_facts(&ev.v[j]);
		if (ev.v[j].proto == 6)
			tcp++;
		if (ev.v[j].ip_version == 6)
			v6++;
		if (!f.ok)
			continue;
		if (f.qr && f.rcode == 3)
			nx++;
		if (f.qr && f.rcode == 2)
			sf++;
		if (f.qtype == 28)
			aaaa++;
		if (f.qr && f.tc && ev.v[j].proto == 17)
			tc++;
	}
	printf("coverage: nxdomain %zu, servfail %zu, aaaa %zu, tcp %zu, ipv6 %zu, tc %zu\n", nx,
	       sf, aaaa, tcp, v6, tc);
	if (require) {
		char *dup = strdup(require), *s = dup, *t;
		while (dup && (t = strsep(&s, ","))) {
			size_t n = !strcmp(t, "nxdomain")   ? nx
				   : !strcmp(t, "servfail") ? sf
				   : !strcmp(t, "aaaa")	    ? aaaa
				   : !strcmp(t, "tcp")	    ? tcp
				   : !strcmp(t, "ipv6")	    ? v6
				   : !strcmp(t, "tc")	    ? tc
							    : (size_t)-1;
			if (n == (size_t)-1) {
				fprintf(stderr, "lab-compare: unknown coverage item %s\n", t);
				ok = false;
			} else if (n == 0) {
				fprintf(stderr, "lab-compare: coverage: no %s event\n", t);
				ok = false;
			}
		}
		free(dup);
	}
	/* Losses anywhere (other netns of a busy machine included) fail only with --no-loss: lost
	 * events of the compared netns already show up as missing packets above. */
	if (lost) {
		fprintf(stderr, "lab-compare: %s: the recorder counted %" PRIu64 " lost events\n",
			g.no_loss ? "error" : "warning", lost);
		if (g.no_loss)
			ok = false;
	}
	if (npods || nsvcs)
		printf("context: %zu of %zu expected pods/services wrong or missing\n", ctxbad,
		       npods + nsvcs);
	if (ctxbad)
		ok = false;
	printf("%s\n", ok ? "OK" : "FAIL");
	rc = ok ? 0 : 1;
out:
	vec_free(&tp);
	vec_free(&ev);
	return rc;
}
