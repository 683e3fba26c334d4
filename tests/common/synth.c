/* Synthetic DNS traffic: a small kube-style node (client pods, a kube-dns service VIP, a
 * CoreDNS-role forwarder, an upstream server) whose lookups are turned into real RFC 1035
 * messages seen at one or several observation points. A lookup schedules all its packets at
 * once into a min-heap; events leave the heap in time order because every later lookup starts
 * after the heap's head is drained up to its start time.
 */
#include "synth.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define SYN_MAXMSG 1400
#define SYN_MAXPAY (2 * (SYN_MAXMSG + 2))

struct syn_item {
	int64_t ts;
	uint64_t seq;		      /* tie break: keeps insertion order for equal times */
	uint64_t flow, flow2, lookup; /* ground truth, see dnsreel_synth__truth() */
	struct dnsreel_event ev;
	uint32_t len;
	uint8_t pay[SYN_MAXPAY];
};

struct syn_pod {
	uint64_t netns;
	uint8_t ip[4];
	uint32_t veth; /* host-side ifindex */
	uint32_t pid;
	uint64_t cgroup_id;
	char comm[16];
	uint32_t ns_idx;
};

struct msgb;

struct dnsreel_synth {
	struct dnsreel_synth_opts o;
	uint64_t rng;
	uint64_t seq;
	int64_t next_lookup;
	double mean_gap_ns;
	double p_ext;
	struct syn_item **heap;
	size_t nheap, capheap;
	struct syn_item **freelist;
	size_t nfree, capfree;
	struct syn_item *cur; /* returned last; recycled on the next call */
	struct dnsreel_meta meta;
	struct syn_pod *pods;
	struct dnsreel_netns_ctx *netns;
	size_t nnetns;
	struct dnsreel_service_ctx *svcs;
	size_t nsvcs;
	struct dnsreel_proc_ctx *procs;
	size_t nprocs;
	/* forwarder */
	uint64_t fwd_netns;
	uint8_t fwd_ip[4];
	uint32_t fwd_veth;
	uint32_t fwd_pid;
	uint64_t fwd_cgroup;
	uint64_t host_netns;
	uint8_t node_ip[4];
	uint8_t upstream_ip[4];
	uint8_t vip[4];
	struct msgb *mb; /* scratch messages */
	/* ground truth: the flow (client exchange) and lookup being emitted; numbering from 1 */
	uint64_t cur_flow, cur_flow2, cur_lookup, nflows, nlookups;
	uint64_t last_flow, last_flow2, last_lookup;
};

#define NAMESPACES 8
#define SERVICES   40

static uint64_t rnd(struct dnsreel_synth *s)
{
	/* splitmix64: tiny, fast and good enough for test traffic */
	uint64_t z = (s->rng += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static uint32_t rndn(struct dnsreel_synth *s, uint32_t n)
{
	return n ? (uint32_t)(rnd(s) % n) : 0;
}

static double rndf(struct dnsreel_synth *s)
{
	return (double)(rnd(s) >> 11) / (double)(1ull << 53);
}

/* ---- heap ------------------------------------------------------------------------------- */

static bool item_less(const struct syn_item *a, const struct syn_item *b)
{
	return a->ts < b->ts || (a->ts == b->ts && a->seq < b->seq);
}

static struct syn_item *item_get(struct dnsreel_synth *s)
{
	if (s->nfree)
		return s->freelist[--s->nfree];
	return malloc(sizeof(struct syn_item));
}

static void item_put(struct dnsreel_synth *s, struct syn_item *it)
{
	if (s->nfree == s->capfree) {
		size_t nc = s->capfree ? s->capfree * 2 : 256;
		struct syn_item **nf = realloc(s->freelist, nc * sizeof(*nf));
		if (!nf) {
			free(it);
			return;
		}
		s->freelist = nf;
		s->capfree = nc;
	}
	s->freelist[s->nfree++] = it;
}

static int heap_push(struct dnsreel_synth *s, struct syn_item *it)
{
	if (s->nheap == s->capheap) {
		size_t nc = s->capheap ? s->capheap * 2 : 256;
		struct syn_item **nh = realloc(s->heap, nc * sizeof(*nh));
		if (!nh)
			return -ENOMEM;
		s->heap = nh;
		s->capheap = nc;
	}
	it->seq = s->seq++;
	size_t i = s->nheap++;
	while (i) {
		size_t p = (i - 1) / 2;
		if (!item_less(it, s->heap[p]))
			break;
		s->heap[i] = s->heap[p];
		i = p;
	}
	s->heap[i] = it;
	return 0;
}

static struct syn_item *heap_pop(struct dnsreel_synth *s)
{
	struct syn_item *top = s->heap[0];
	struct syn_item *last = s->heap[--s->nheap];
	size_t i = 0, n = s->nheap;
	for (;;) {
		size_t c = 2 * i + 1;
		if (c >= n)
			break;
		if (c + 1 < n && item_less(s->heap[c + 1], s->heap[c]))
			c++;
		if (!item_less(s->heap[c], last))
			break;
		s->heap[i] = s->heap[c];
		i = c;
	}
	if (n)
		s->heap[i] = last;
	return top;
}

/* ---- DNS message builder ---------------------------------------------------------------- */

struct msgb {
	uint8_t b[SYN_MAXMSG];
	size_t len;
	/* compression table: offset of a written label and the name text from there on */
	struct {
		uint16_t off;
		char name[256];
	} tab[48];
	size_t ntab;
	bool overflow;
};

static void put8(struct msgb *m, uint8_t v)
{
	if (m->len + 1 > sizeof(m->b)) {
		m->overflow = true;
		return;
	}
	m->b[m->len++] = v;
}

static void put16(struct msgb *m, uint16_t v)
{
	put8(m, (uint8_t)(v >> 8));
	put8(m, (uint8_t)v);
}

static void put32(struct msgb *m, uint32_t v)
{
	put16(m, (uint16_t)(v >> 16));
	put16(m, (uint16_t)v);
}

static void putbytes(struct msgb *m, const void *p, size_t n)
{
	if (m->len + n > sizeof(m->b)) {
		m->overflow = true;
		return;
	}
	memcpy(m->b + m->len, p, n);
	m->len += n;
}

/* name: presentation form with trailing dot; compresses against names written before */
static void put_name(struct msgb *m, const char *name)
{
	const char *p = name;
	while (*p && strcmp(p, ".") != 0) {
		for (size_t i = 0; i < m->ntab; i++) {
			if (strcasecmp(m->tab[i].name, p) == 0) {
				put16(m, (uint16_t)(0xc000 | m->tab[i].off));
				return;
			}
		}
		const char *dot = strchr(p, '.');
		size_t ll = dot ? (size_t)(dot - p) : strlen(p);
		if (ll > 63)
			ll = 63;
		if (m->ntab < sizeof(m->tab) / sizeof(m->tab[0]) && m->len < 0x3fff &&
		    strlen(p) < sizeof(m->tab[0].name)) {
			m->tab[m->ntab].off = (uint16_t)m->len;
			strcpy(m->tab[m->ntab].name, p);
			m->ntab++;
		}
		put8(m, (uint8_t)ll);
		putbytes(m, p, ll);
		p += ll;
		if (*p == '.')
			p++;
	}
	put8(m, 0);
}

static void msg_header(struct msgb *m, uint16_t id, uint16_t flags, uint16_t qd, uint16_t an,
		       uint16_t ns, uint16_t ar)
{
	m->len = 0;
	m->ntab = 0;
	m->overflow = false;
	put16(m, id);
	put16(m, flags);
	put16(m, qd);
	put16(m, an);
	put16(m, ns);
	put16(m, ar);
}

static void rr_head(struct msgb *m, const char *name, uint16_t type, uint32_t ttl)
{
	put_name(m, name);
	put16(m, type);
	put16(m, 1);
	put32(m, ttl);
}

static void put_opt(struct msgb *m, uint16_t udp)
{
	put8(m, 0);
	put16(m, 41);
	put16(m, udp);
	put32(m, 0);
	put16(m, 0);
}

enum { T_A = 1, T_NS = 2, T_CNAME = 5, T_SOA = 6, T_TXT = 16, T_AAAA = 28, T_SRV = 33 };
enum { RC_OK = 0, RC_SERVFAIL = 2, RC_NX = 3 };

static void build_query(struct msgb *m, uint16_t id, const char *name, uint16_t qtype, bool edns)
{
	msg_header(m, id, 0x0100 /* RD */, 1, 0, 0, edns ? 1 : 0);
	put_name(m, name);
	put16(m, qtype);
	put16(m, 1);
	if (edns)
		put_opt(m, 1232);
}

static bool suffix(const char *name, const char *suf)
{
	size_t a = strlen(name), b = strlen(suf);
	return a >= b && strcasecmp(name + a - b, suf) == 0;
}

/* Response for (name, qtype) with rcode; answers derived from the name so repeated lookups
 * give the same data. */
static void build_response(struct dnsreel_synth *s, struct msgb *m, uint16_t id, const char *name,
			   uint16_t qtype, int rcode, bool edns, bool aa)
{
	(void)s;
	uint16_t flags = 0x8180 | (aa ? 0x0400 : 0) | (uint16_t)rcode;
	uint32_t h = 2166136261u;
	for (const char *p = name; *p; p++)
		h = (h ^ (uint8_t)*p) * 16777619u;
	bool cluster = suffix(name, "cluster.local.");
	if (rcode != RC_OK) {
		msg_header(m, id, flags, 1, 0, rcode == RC_NX ? 1 : 0, edns ? 1 : 0);
		put_name(m, name);
		put16(m, qtype);
		put16(m, 1);
		if (rcode == RC_NX) {
			const char *zone = cluster ? "cluster.local." : "example.com.";
			rr_head(m, zone, T_SOA, cluster ? 30 : 900);
			size_t rdl = m->len;
			put16(m, 0);
			put_name(m, cluster ? "ns.dns.cluster.local." : "ns1.example.com.");
			put_name(m,
				 cluster ? "hostmaster.cluster.local." : "hostmaster.example.com.");
			put32(m, 1700000000u + (h & 0xff));
			put32(m, 7200);
			put32(m, 1800);
			put32(m, 86400);
			put32(m, 30);
			size_t n = m->len - rdl - 2;
			m->b[rdl] = (uint8_t)(n >> 8);
			m->b[rdl + 1] = (uint8_t)n;
		}
		if (edns)
			put_opt(m, 1232);
		return;
	}
	uint32_t ttl = cluster ? 30 : 60 + (h % 240);
	bool cname = !cluster && (h % 5) == 0 && (qtype == T_A || qtype == T_AAAA);
	uint16_t nans = 1;
	if (qtype == T_A || qtype == T_AAAA)
		nans = cluster ? 1 : (uint16_t)(1 + (h >> 8) % 3);
	if (qtype == T_AAAA && cluster)
		nans = 0; /* IPv4-only cluster: NOERROR with no data */
	if (qtype == T_SRV)
		nans = (uint16_t)(1 + (h >> 4) % 3);
	msg_header(m, id, flags, 1, (uint16_t)(nans + (cname ? 1 : 0)), 0, edns ? 1 : 0);
	put_name(m, name);
	put16(m, qtype);
	put16(m, 1);
	char target[300];
	const char *owner = name;
	if (cname) {
		snprintf(target, sizeof(target), "edge-%u.cdn.example.net.", h % 17);
		rr_head(m, name, T_CNAME, ttl);
		size_t rdl = m->len;
		put16(m, 0);
		put_name(m, target);
		size_t n = m->len - rdl - 2;
		m->b[rdl] = (uint8_t)(n >> 8);
		m->b[rdl + 1] = (uint8_t)n;
		owner = target;
	}
	for (uint16_t i = 0; i < nans; i++) {
		rr_head(m, owner, qtype, ttl);
		if (qtype == T_A) {
			put16(m, 4);
			if (cluster) {
				put8(m, 10);
				put8(m, 96);
				put8(m, (uint8_t)(h >> 8));
				put8(m, (uint8_t)h);
			} else {
				put8(m, 93);
				put8(m, 184);
				put8(m, (uint8_t)(h >> 16));
				put8(m, (uint8_t)(h + i));
			}
		} else if (qtype == T_AAAA) {
			put16(m, 16);
			uint8_t a[16] = {0x26, 0x06, 0x28, 0x00, 0x02, 0x20, 0, 1};
			a[8] = (uint8_t)(h >> 24);
			a[9] = (uint8_t)(h >> 16);
			a[14] = (uint8_t)(h >> 8);
			a[15] = (uint8_t)(h + i);
			putbytes(m, a, 16);
		} else if (qtype == T_SRV) {
			size_t rdl = m->len;
			put16(m, 0);
			put16(m, 0);
			put16(m, (uint16_t)(100 / nans));
			put16(m, (uint16_t)(8080 + (h % 10)));
			/* target: the service name minus the _port._proto labels */
			const char *t = name;
			for (int k = 0; k < 2 && strchr(t, '.'); k++)
				t = strchr(t, '.') + 1;
			char tn[300];
			snprintf(tn, sizeof(tn), "%u-%u-%u-%u.%s", 10, 244, i, (h % 200) + 2, t);
			put_name(m, tn);
			size_t n = m->len - rdl - 2;
			m->b[rdl] = (uint8_t)(n >> 8);
			m->b[rdl + 1] = (uint8_t)n;
		} else if (qtype == T_TXT) {
			char txt[200];
			int tl = snprintf(txt, sizeof(txt),
					  "v=spf1 include:_spf.example.com ip4:%u.%u.0.0/16 ~all",
					  (h >> 8) & 0xff, h & 0xff);
			put16(m, (uint16_t)(tl + 1 + 12));
			put8(m, (uint8_t)tl);
			putbytes(m, txt, (size_t)tl);
			put8(m, 11);
			putbytes(m, "k=synthetic", 11);
		}
	}
	if (edns)
		put_opt(m, 1232);
}

/* ---- topology --------------------------------------------------------------------------- */

static const char *const apps[] = {"web", "api", "worker", "cache", "auth", "billing", "search"};
static const char *const comms[] = {"nginx", "java", "python3", "node", "curl", "envoy", "ruby"};
static const char *const ext_names[] = {
    "api.example.com.",	      "www.example.com.",    "cdn.example.net.",
    "login.example.org.",     "s3.example-aws.com.", "metrics.example.io.",
    "registry.example.com.",  "mail.example.com.",   "db.example.internal.",
    "telemetry.example.net.", "hooks.example.dev.",  "static.example.org.",
};

static void fmt_uuid(struct dnsreel_synth *s, char *out, size_t len)
{
	uint64_t a = rnd(s), b = rnd(s);
	snprintf(out, len, "%08x-%04x-4%03x-%04x-%012llx", (unsigned)(a >> 32),
		 (unsigned)(a >> 16) & 0xffff, (unsigned)a & 0xfff,
		 (unsigned)(0x8000 | ((b >> 48) & 0x3fff)),
		 (unsigned long long)(b & 0xffffffffffffull));
}

static void fmt_hex64(struct dnsreel_synth *s, char *out)
{
	for (int i = 0; i < 4; i++)
		sprintf(out + 16 * i, "%016llx", (unsigned long long)rnd(s));
}

static int setup(struct dnsreel_synth *s)
{
	uint32_t npods = s->o.pods;
	s->host_netns = 4026531840ull;
	s->fwd_netns = 4026532100ull;
	memcpy(s->node_ip, (uint8_t[]){192, 168, 1, 10}, 4);
	memcpy(s->upstream_ip, (uint8_t[]){192, 0, 2, 53}, 4);
	memcpy(s->vip, (uint8_t[]){10, 96, 0, 10}, 4);
	memcpy(s->fwd_ip, (uint8_t[]){10, 244, 255, 10}, 4);
	s->fwd_veth = 5;
	s->fwd_pid = 2200;
	s->fwd_cgroup = 0x5000;

	struct dnsreel_meta *m = &s->meta;
	m->format_major = 1;
	m->format_minor = 0;
	fmt_uuid(s, m->capture_id, sizeof(m->capture_id));
	snprintf(m->node, sizeof(m->node), "node-1");
	snprintf(m->kernel, sizeof(m->kernel), "6.1.0-synthetic-amd64");
	snprintf(m->recorder, sizeof(m->recorder), "dnsreel-synth 0.1.0");
	m->boot_to_wall_ns = 1780000000000000000ll - s->o.start_ts_ns;
	m->start_wall_ns = s->o.start_ts_ns + m->boot_to_wall_ns;
	m->snaplen = 65535;

	s->pods = calloc(npods, sizeof(*s->pods));
	s->netns = calloc(npods + 2, sizeof(*s->netns));
	s->procs = calloc(npods + 1, sizeof(*s->procs));
	s->svcs = calloc(SERVICES + 1, sizeof(*s->svcs));
	if (!s->pods || !s->netns || !s->procs || !s->svcs)
		return -ENOMEM;

	struct dnsreel_netns_ctx *h = &s->netns[s->nnetns++];
	h->netns = s->host_netns;
	h->flags = DNSREEL_NETNS_HOST;
	h->first_seen_ns = s->o.start_ts_ns - 1000000;
	snprintf(h->ips, sizeof(h->ips), "192.168.1.10,10.244.0.1");

	struct dnsreel_netns_ctx *f = &s->netns[s->nnetns++];
	f->netns = s->fwd_netns;
	f->first_seen_ns = s->o.start_ts_ns - 1000000;
	fmt_uuid(s, f->k8s_pod_uid, sizeof(f->k8s_pod_uid));
	snprintf(f->name, sizeof(f->name), "cni-%.36s", f->k8s_pod_uid);
	snprintf(f->k8s_namespace, sizeof(f->k8s_namespace), "kube-system");
	snprintf(f->k8s_podname, sizeof(f->k8s_podname), "coredns-5d78c9869d-x7k2p");
	snprintf(f->k8s_containername, sizeof(f->k8s_containername), "coredns");
	snprintf(f->runtime_containername, sizeof(f->runtime_containername), "coredns");
	fmt_hex64(s, f->runtime_containerid);
	snprintf(f->ips, sizeof(f->ips), "10.244.255.10");

	struct dnsreel_proc_ctx *fp = &s->procs[s->nprocs++];
	fp->pid = s->fwd_pid;
	fp->ppid = 2190;
	fp->start_ns = (uint64_t)s->o.start_ts_ns - 5000000000ull;
	fp->netns = s->fwd_netns;
	fp->cgroup_id = s->fwd_cgroup;
	snprintf(fp->comm, sizeof(fp->comm), "coredns");
	snprintf(fp->cmdline, sizeof(fp->cmdline), "/coredns -conf /etc/coredns/Corefile");
	snprintf(fp->cgroup, sizeof(fp->cgroup),
		 "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod%.36s.slice",
		 f->k8s_pod_uid);
	memcpy(fp->k8s_pod_uid, f->k8s_pod_uid, sizeof(fp->k8s_pod_uid));
	memcpy(fp->runtime_containerid, f->runtime_containerid, sizeof(fp->runtime_containerid));

	for (uint32_t i = 0; i < npods; i++) {
		struct syn_pod *p = &s->pods[i];
		p->netns = 4026532200ull + i;
		p->ip[0] = 10;
		p->ip[1] = 244;
		p->ip[2] = (uint8_t)(i / 250);
		p->ip[3] = (uint8_t)(i % 250 + 2);
		p->veth = 10 + i;
		p->pid = 3000 + 37 * i;
		p->cgroup_id = 0x10000 + i;
		p->ns_idx = i % NAMESPACES;
		snprintf(p->comm, sizeof(p->comm), "%s", comms[i % 7]);

		struct dnsreel_netns_ctx *n = &s->netns[s->nnetns++];
		n->netns = p->netns;
		n->first_seen_ns = s->o.start_ts_ns - 1000000;
		fmt_uuid(s, n->k8s_pod_uid, sizeof(n->k8s_pod_uid));
		snprintf(n->name, sizeof(n->name), "cni-%.36s", n->k8s_pod_uid);
		snprintf(n->k8s_namespace, sizeof(n->k8s_namespace), "ns-%u", p->ns_idx);
		snprintf(n->k8s_podname, sizeof(n->k8s_podname), "%s-%u-7f9c6d%04x-%05x",
			 apps[i % 7], i, (unsigned)rndn(s, 0x10000), (unsigned)rndn(s, 0x100000));
		snprintf(n->k8s_containername, sizeof(n->k8s_containername), "%s", apps[i % 7]);
		snprintf(n->runtime_containername, sizeof(n->runtime_containername), "%s",
			 apps[i % 7]);
		fmt_hex64(s, n->runtime_containerid);
		snprintf(n->ips, sizeof(n->ips), "%u.%u.%u.%u", p->ip[0], p->ip[1], p->ip[2],
			 p->ip[3]);

		struct dnsreel_proc_ctx *pc = &s->procs[s->nprocs++];
		pc->pid = p->pid;
		pc->ppid = p->pid - 1;
		pc->start_ns = (uint64_t)s->o.start_ts_ns - 3000000000ull;
		pc->netns = p->netns;
		pc->cgroup_id = p->cgroup_id;
		pc->uid = 1000;
		pc->gid = 1000;
		snprintf(pc->comm, sizeof(pc->comm), "%s", p->comm);
		snprintf(pc->cmdline, sizeof(pc->cmdline), "%s --serve", p->comm);
		snprintf(pc->cgroup, sizeof(pc->cgroup),
			 "/kubepods.slice/kubepods-pod%.36s.slice/cri-containerd-%.64s.scope",
			 n->k8s_pod_uid, n->runtime_containerid);
		memcpy(pc->k8s_pod_uid, n->k8s_pod_uid, sizeof(pc->k8s_pod_uid));
		memcpy(pc->runtime_containerid, n->runtime_containerid,
		       sizeof(pc->runtime_containerid));
	}

	struct dnsreel_service_ctx *kd = &s->svcs[s->nsvcs++];
	kd->ip_version = 4;
	kd->port = 53;
	memcpy(kd->addr, s->vip, 4);
	snprintf(kd->k8s_namespace, sizeof(kd->k8s_namespace), "kube-system");
	snprintf(kd->name, sizeof(kd->name), "kube-dns");
	for (uint32_t k = 0; k < SERVICES; k++) {
		struct dnsreel_service_ctx *sv = &s->svcs[s->nsvcs++];
		char name[64];
		snprintf(name, sizeof(name), "svc-%u.ns-%u.svc.cluster.local.", k, k % NAMESPACES);
		uint32_t h = 2166136261u;
		for (const char *p = name; *p; p++)
			h = (h ^ (uint8_t)*p) * 16777619u;
		sv->ip_version = 4;
		sv->proto = 6;
		sv->port = 80;
		sv->addr[0] = 10;
		sv->addr[1] = 96;
		sv->addr[2] = (uint8_t)(h >> 8);
		sv->addr[3] = (uint8_t)h;
		snprintf(sv->k8s_namespace, sizeof(sv->k8s_namespace), "ns-%u", k % NAMESPACES);
		snprintf(sv->name, sizeof(sv->name), "svc-%u", k);
	}
	return 0;
}

/* ---- lookups ---------------------------------------------------------------------------- */

struct hop {
	uint64_t netns;
	uint32_t ifindex;
	uint8_t pkt_type;
	bool proc;
	uint32_t pid;
	uint64_t cgroup;
	const char *comm;
	const uint8_t *src, *dst;
	uint16_t sport, dport;
};

static int emit(struct dnsreel_synth *s, int64_t ts, const struct hop *h, bool tcp, uint32_t tseq,
		const uint8_t *pay, size_t len)
{
	struct syn_item *it = item_get(s);
	if (!it)
		return -ENOMEM;
	memset(&it->ev, 0, sizeof(it->ev));
	it->ts = ts;
	struct dnsreel_event *e = &it->ev;
	it->flow = s->cur_flow;
	it->flow2 = s->cur_flow2;
	it->lookup = s->cur_lookup;
	e->ts_ns = ts;
	e->netns = h->netns;
	e->ifindex = h->ifindex;
	e->pkt_type = h->pkt_type;
	e->ip_version = 4;
	e->proto = tcp ? 6 : 17;
	e->tcp_flags = tcp ? 0x18 : 0;
	e->tcp_seq = tcp ? tseq : 0;
	memcpy(e->src_addr, h->src, 4);
	memcpy(e->dst_addr, h->dst, 4);
	e->src_port = h->sport;
	e->dst_port = h->dport;
	if (h->proc) {
		e->flags |= DNSREEL_EV_PROC;
		e->pid = h->pid;
		e->tid = h->pid;
		e->uid = h->pid == s->fwd_pid ? 65532 : 1000;
		e->gid = e->uid;
		e->cgroup_id = h->cgroup;
		snprintf(e->comm, sizeof(e->comm), "%s", h->comm);
	}
	if (len > SYN_MAXPAY)
		len = SYN_MAXPAY;
	memcpy(it->pay, pay, len);
	it->len = (uint32_t)len;
	e->orig_len = (uint32_t)len;
	e->cap_len = (uint32_t)len;
	int err = heap_push(s, it);
	if (err)
		free(it);
	return err;
}

/* Emits one message along a path of hops: at time ts + i*step for hop i. TCP: framed with a
 * 2-byte length, sometimes split across two segments. */
static int emit_path(struct dnsreel_synth *s, int64_t ts, const struct hop *hops, size_t n,
		     bool tcp, uint32_t *tseq, const struct msgb *m, int split)
{
	uint8_t buf[SYN_MAXMSG + 2];
	const uint8_t *pay = m->b;
	size_t len = m->len;
	if (tcp) {
		buf[0] = (uint8_t)(m->len >> 8);
		buf[1] = (uint8_t)m->len;
		memcpy(buf + 2, m->b, m->len);
		pay = buf;
		len += 2;
	}
	int64_t t = ts;
	for (size_t i = 0; i < n; i++) {
		/* each hop a few microseconds after the previous one */
		if (i)
			t += 4000 + (int64_t)rndn(s, 6000);
		int err;
		if (tcp && split > 0 && (size_t)split < len) {
			err = emit(s, t, &hops[i], true, *tseq, pay, (size_t)split);
			if (!err)
				err = emit(s, t + 20000, &hops[i], true, *tseq + (uint32_t)split,
					   pay + split, len - (size_t)split);
		} else {
			err = emit(s, t, &hops[i], tcp, *tseq, pay, len);
		}
		if (err)
			return err;
	}
	if (tcp)
		*tseq += (uint32_t)len;
	return 0;
}

/* Two messages in one TCP segment (a client pipelining A and AAAA). */
static int emit_coalesced(struct dnsreel_synth *s, int64_t ts, const struct hop *hops, size_t n,
			  uint32_t *tseq, const struct msgb *a, const struct msgb *b)
{
	uint8_t buf[SYN_MAXPAY];
	size_t len = 0;
	buf[len++] = (uint8_t)(a->len >> 8);
	buf[len++] = (uint8_t)a->len;
	memcpy(buf + len, a->b, a->len);
	len += a->len;
	buf[len++] = (uint8_t)(b->len >> 8);
	buf[len++] = (uint8_t)b->len;
	memcpy(buf + len, b->b, b->len);
	len += b->len;
	for (size_t i = 0; i < n; i++) {
		int err = emit(s, ts + (int64_t)i * 5000, &hops[i], true, *tseq, buf, len);
		if (err)
			return err;
	}
	*tseq += (uint32_t)len;
	return 0;
}

struct txn_ctx {
	struct syn_pod *pod;
	uint16_t cport;
	bool tcp;
	uint32_t cseq, sseq; /* client and server TCP sequence */
};

/* Builds the query path (pod → node → DNAT → forwarder) and response path back. */
static void paths(struct dnsreel_synth *s, struct txn_ctx *t, struct hop *q, size_t *nq,
		  struct hop *r, size_t *nr)
{
	struct syn_pod *p = t->pod;
	struct hop pod_out = {
	    p->netns, 2, DNSREEL_PKT_OUTGOING, true, p->pid, p->cgroup_id, p->comm, p->ip, s->vip,
	    t->cport, 53};
	struct hop pod_in = {p->netns,	   2,	    DNSREEL_PKT_HOST, true,  p->pid,
			     p->cgroup_id, p->comm, s->vip,	      p->ip, 53,
			     t->cport};
	*nq = 0;
	*nr = 0;
	q[(*nq)++] = pod_out;
	if (s->o.multi_hop) {
		struct hop node_in = {
		    s->host_netns, p->veth, DNSREEL_PKT_OTHERHOST, false, 0, 0, "", p->ip, s->vip,
		    t->cport,	   53};
		struct hop dnat = {s->host_netns,
				   s->fwd_veth,
				   DNSREEL_PKT_OUTGOING,
				   false,
				   0,
				   0,
				   "",
				   p->ip,
				   s->fwd_ip,
				   t->cport,
				   53};
		struct hop fwd_in = {
		    s->fwd_netns, 2,	 DNSREEL_PKT_HOST, true,     s->fwd_pid, s->fwd_cgroup,
		    "coredns",	  p->ip, s->fwd_ip,	   t->cport, 53};
		q[(*nq)++] = node_in;
		q[(*nq)++] = dnat;
		q[(*nq)++] = fwd_in;
		struct hop fwd_out = {s->fwd_netns, 2,		DNSREEL_PKT_OUTGOING,
				      true,	    s->fwd_pid, s->fwd_cgroup,
				      "coredns",    s->fwd_ip,	p->ip,
				      53,	    t->cport};
		struct hop node_fwd = {s->host_netns,
				       s->fwd_veth,
				       DNSREEL_PKT_OTHERHOST,
				       false,
				       0,
				       0,
				       "",
				       s->fwd_ip,
				       p->ip,
				       53,
				       t->cport};
		struct hop node_out = {s->host_netns,
				       p->veth,
				       DNSREEL_PKT_OUTGOING,
				       false,
				       0,
				       0,
				       "",
				       s->vip,
				       p->ip,
				       53,
				       t->cport};
		r[(*nr)++] = fwd_out;
		r[(*nr)++] = node_fwd;
		r[(*nr)++] = node_out;
	}
	r[(*nr)++] = pod_in;
}

/* One query/response exchange; returns the time the response reaches the client. */
static int64_t exchange(struct dnsreel_synth *s, struct txn_ctx *t, int64_t ts, const char *name,
			uint16_t qtype, int rcode, int *err, const char *pair_name,
			uint16_t pair_type, bool *paired)
{
	struct hop q[4], r[4];
	size_t nq, nr;
	paths(s, t, q, &nq, r, &nr);
	struct msgb *mqp = &s->mb[0], *mrp = &s->mb[1], *mq2p = &s->mb[2], *mr2p = &s->mb[3];
#define mq  (*mqp)
#define mr  (*mrp)
#define mq2 (*mq2p)
#define mr2 (*mr2p)
	uint16_t id = (uint16_t)rnd(s);
	bool cluster = suffix(name, "cluster.local.");
	build_query(&mq, id, name, qtype, false);
	int split = 0;
	bool coalesce = false;
	if (t->tcp) {
		uint32_t k = rndn(s, 3);
		if (k == 1)
			split = 1 + (int)rndn(s, (uint32_t)mq.len); /* inside prefix or message */
		else if (k == 2 && pair_name)
			coalesce = true;
	}
	uint16_t id2 = (uint16_t)rnd(s);
	if (paired)
		*paired = coalesce;
	s->cur_flow = ++s->nflows;
	s->cur_flow2 = coalesce ? ++s->nflows : 0;
	if (coalesce) {
		build_query(&mq2, id2, pair_name, pair_type, false);
		*err = emit_coalesced(s, ts, q, nq, &t->cseq, &mq, &mq2);
	} else {
		*err = emit_path(s, ts, q, nq, t->tcp, &t->cseq, &mq, split);
	}
	if (*err)
		return ts;
	int64_t lat = cluster ? 80000 + (int64_t)rndn(s, 900000) : 0;
	int64_t qdone = ts + (int64_t)nq * 10000;
	if (!cluster) {
		/* forwarder asks upstream with a new id, over UDP with EDNS */
		int64_t up = 3000000 + (int64_t)(rndf(s) * rndf(s) * 60000000.0);
		uint16_t uport = (uint16_t)(32768 + rndn(s, 28000));
		uint16_t uid = (uint16_t)rnd(s);
		struct msgb *uqp = &s->mb[4], *urp = &s->mb[5];
#define uq (*uqp)
#define ur (*urp)
		build_query(&uq, uid, name, qtype, true);
		build_response(s, &ur, uid, name, qtype, rcode, true, false);
		struct hop uqh[2] = {
		    {s->fwd_netns, 2, DNSREEL_PKT_OUTGOING, true, s->fwd_pid, s->fwd_cgroup,
		     "coredns", s->fwd_ip, s->upstream_ip, uport, 53},
		    {s->host_netns, 2, DNSREEL_PKT_OUTGOING, false, 0, 0, "", s->node_ip,
		     s->upstream_ip, uport, 53},
		};
		struct hop urh[2] = {
		    {s->host_netns, 2, DNSREEL_PKT_HOST, false, 0, 0, "", s->upstream_ip,
		     s->node_ip, 53, uport},
		    {s->fwd_netns, 2, DNSREEL_PKT_HOST, true, s->fwd_pid, s->fwd_cgroup, "coredns",
		     s->upstream_ip, s->fwd_ip, 53, uport},
		};
		uint32_t dummy = 0;
		if (s->o.multi_hop) {
			*err = emit_path(s, qdone + 30000, uqh, 2, false, &dummy, &uq, 0);
			if (!*err)
				*err =
				    emit_path(s, qdone + 30000 + up, urh, 2, false, &dummy, &ur, 0);
			if (*err)
				return ts;
		}
		lat = up + 60000 + (int64_t)rndn(s, 40000);
	}
	/* about 1 in 300 queries never gets an answer (a drop somewhere on the path) */
	if (rndn(s, 300) == 0) {
		return ts + 5000000000ll;
	}
	int64_t rts = qdone + lat;
	build_response(s, &mr, id, name, qtype, rcode, false, cluster);
	if (coalesce) {
		build_response(s, &mr2, id2, pair_name, pair_type, rcode, false, cluster);
		*err = emit_coalesced(s, rts, r, nr, &t->sseq, &mr, &mr2);
	} else {
		int rs = 0;
		if (t->tcp && rndn(s, 3) == 0)
			rs = 1 + (int)rndn(s, (uint32_t)mr.len);
		*err = emit_path(s, rts, r, nr, t->tcp, &t->sseq, &mr, rs);
	}
	return rts + (int64_t)nr * 10000;
}
#undef mq
#undef mr
#undef mq2
#undef mr2
#undef uq
#undef ur

static int lookup(struct dnsreel_synth *s, int64_t ts)
{
	struct txn_ctx t = {0};
	s->cur_lookup = ++s->nlookups;
	t.pod = &s->pods[rndn(s, s->o.pods)];
	t.cport = (uint16_t)(32768 + rndn(s, 28232));
	t.tcp = s->o.tcp && rndn(s, 20) == 0;
	t.cseq = (uint32_t)rnd(s);
	t.sseq = (uint32_t)rnd(s);
	int err = 0;
	char name[300];
	double u = rndf(s);
	uint32_t k = rndn(s, SERVICES);
	if (u < s->p_ext) {
		/* external name with ndots:5: three search suffixes fail, then the name itself */
		const char *base = ext_names[rndn(s, sizeof(ext_names) / sizeof(ext_names[0]))];
		char bare[128];
		snprintf(bare, sizeof(bare), "%.*s", (int)strlen(base) - 1, base);
		const char *suf[3] = {NULL, "svc.cluster.local.", "cluster.local."};
		char s0[64];
		snprintf(s0, sizeof(s0), "ns-%u.svc.cluster.local.", t.pod->ns_idx);
		suf[0] = s0;
		int64_t at = ts;
		for (int i = 0; i < 4 && !err; i++) {
			if (i < 3)
				snprintf(name, sizeof(name), "%s.%s", bare, suf[i]);
			else
				snprintf(name, sizeof(name), "%s", base);
			int rc = i < 3 ? RC_NX : (rndn(s, 50) == 0 ? RC_SERVFAIL : RC_OK);
			uint16_t qt = rndn(s, 10) == 0 ? T_TXT : T_A;
			/* glibc asks A and AAAA back to back from the same socket */
			bool paired = false;
			int64_t a = exchange(s, &t, at, name, qt, rc, &err, qt == T_A ? name : NULL,
					     T_AAAA, &paired);
			if (!err && qt == T_A && !paired)
				a = exchange(s, &t, at + 15000, name, T_AAAA, rc, &err, NULL, 0,
					     NULL);
			at = a + 10000;
			if (rc == RC_SERVFAIL)
				break;
		}
	} else if (u < s->p_ext + 0.1) {
		/* SRV lookup of a headless service, fully qualified */
		snprintf(name, sizeof(name), "_http._tcp.svc-%u.ns-%u.svc.cluster.local.", k,
			 k % NAMESPACES);
		exchange(s, &t, ts, name, T_SRV, RC_OK, &err, NULL, 0, NULL);
	} else if (u < s->p_ext + 0.13) {
		/* a service that does not exist: NXDOMAIN for real */
		snprintf(name, sizeof(name), "svc-%u.ns-%u.svc.cluster.local.", SERVICES + k,
			 k % NAMESPACES);
		exchange(s, &t, ts, name, T_A, RC_NX, &err, NULL, 0, NULL);
	} else {
		/* short service name "svc-K.ns-M": first search suffix hits */
		snprintf(name, sizeof(name), "svc-%u.ns-%u.svc.cluster.local.", k, k % NAMESPACES);
		bool paired = false;
		exchange(s, &t, ts, name, T_A, RC_OK, &err, name, T_AAAA, &paired);
		if (!err && !paired)
			exchange(s, &t, ts + 12000, name, T_AAAA, RC_OK, &err, NULL, 0, NULL);
	}
	return err;
}

/* ---- public API ------------------------------------------------------------------------- */

int dnsreel_synth__new(struct dnsreel_synth **out, const struct dnsreel_synth_opts *opts)
{
	*out = NULL;
	struct dnsreel_synth *s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	if (opts)
		s->o = *opts;
	if (!s->o.start_ts_ns)
		s->o.start_ts_ns = 1000000000000ll;
	if (!s->o.qps)
		s->o.qps = 20000;
	if (!s->o.pods)
		s->o.pods = 50;
	if (s->o.pods > 60000)
		s->o.pods = 60000;
	if (!s->o.nxdomain_pct)
		s->o.nxdomain_pct = 20;
	double r = s->o.nxdomain_pct / 100.0;
	if (r > 0.7)
		r = 0.7;
	/* external lookups answer NXDOMAIN for 6 of their 8 queries; other kinds roughly none */
	s->p_ext = r / (3.0 * (1.0 - r));
	if (s->p_ext > 0.85)
		s->p_ext = 0.85;
	double q_per_lookup = 8 * s->p_ext + 1 * 0.13 + 2 * (1.0 - s->p_ext - 0.13);
	s->mean_gap_ns = 1e9 * q_per_lookup / s->o.qps;
	s->rng = s->o.seed ^ 0x6a09e667f3bcc909ull;
	s->mb = calloc(6, sizeof(struct msgb));
	if (!s->mb) {
		free(s);
		return -ENOMEM;
	}
	s->next_lookup = s->o.start_ts_ns;
	int err = setup(s);
	if (err) {
		dnsreel_synth__free(s);
		return err;
	}
	*out = s;
	return 0;
}

void dnsreel_synth__free(struct dnsreel_synth *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->nheap; i++)
		free(s->heap[i]);
	for (size_t i = 0; i < s->nfree; i++)
		free(s->freelist[i]);
	free(s->cur);
	free(s->heap);
	free(s->freelist);
	free(s->pods);
	free(s->netns);
	free(s->procs);
	free(s->svcs);
	free(s->mb);
	free(s);
}

int dnsreel_synth__next(struct dnsreel_synth *s, struct dnsreel_event *ev)
{
	if (s->cur) {
		item_put(s, s->cur);
		s->cur = NULL;
	}
	while (!s->nheap || s->heap[0]->ts > s->next_lookup) {
		int err = lookup(s, s->next_lookup);
		if (err)
			return err;
		double u = rndf(s);
		if (u < 1e-12)
			u = 1e-12;
		/* exponential gaps: Poisson arrivals, at least 1 ns apart */
		int64_t gap = (int64_t)(-s->mean_gap_ns * __builtin_log(u));
		s->next_lookup += gap > 0 ? gap : 1;
	}
	s->cur = heap_pop(s);
	s->last_flow = s->cur->flow;
	s->last_flow2 = s->cur->flow2;
	s->last_lookup = s->cur->lookup;
	*ev = s->cur->ev;
	ev->payload = s->cur->pay;
	return 0;
}

void dnsreel_synth__truth(const struct dnsreel_synth *s, uint64_t *flow, uint64_t *flow2,
			  uint64_t *lookup)
{
	*flow = s->last_flow;
	*flow2 = s->last_flow2;
	*lookup = s->last_lookup;
}

const struct dnsreel_meta *dnsreel_synth__meta(const struct dnsreel_synth *s)
{
	return &s->meta;
}

size_t dnsreel_synth__netns_count(const struct dnsreel_synth *s)
{
	return s->nnetns;
}

const struct dnsreel_netns_ctx *dnsreel_synth__netns_at(const struct dnsreel_synth *s, size_t i)
{
	return i < s->nnetns ? &s->netns[i] : NULL;
}

size_t dnsreel_synth__service_count(const struct dnsreel_synth *s)
{
	return s->nsvcs;
}

const struct dnsreel_service_ctx *dnsreel_synth__service_at(const struct dnsreel_synth *s, size_t i)
{
	return i < s->nsvcs ? &s->svcs[i] : NULL;
}

int dnsreel_synth_write_capture(const char *dir, const struct dnsreel_synth_opts *so,
				const struct dnsreel_capw_opts *wo, uint64_t n)
{
	struct dnsreel_synth *s = NULL;
	struct dnsreel_capw *w = NULL;
	int err = dnsreel_synth__new(&s, so);
	if (err)
		return err;
	err = dnsreel_capw__open(&w, dir, wo);
	if (err)
		goto out;
	err = dnsreel_capw__set_meta(w, &s->meta);
	for (size_t i = 0; !err && i < s->nnetns; i++)
		err = dnsreel_capw__put_netns(w, &s->netns[i]);
	for (size_t i = 0; !err && i < s->nsvcs; i++)
		err = dnsreel_capw__put_service(w, &s->svcs[i]);
	for (size_t i = 0; !err && i < s->nprocs; i++)
		err = dnsreel_capw__put_proc(w, &s->procs[i]);
	for (uint64_t i = 0; !err && i < n; i++) {
		struct dnsreel_event ev;
		err = dnsreel_synth__next(s, &ev);
		if (!err)
			err = dnsreel_capw__append(w, &ev);
	}
	if (!err)
		err = dnsreel_capw__set_counter(w, "lost.ringbuf", 0);
	if (!err)
		err = dnsreel_capw__set_counter(w, "events.total", n);
out:;
	int cerr = dnsreel_capw__close(w);
	if (!err)
		err = cerr;
	dnsreel_synth__free(s);
	return err;
}
