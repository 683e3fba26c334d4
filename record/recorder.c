/* The recorder engine: BPF programs, namespace discovery and attach, ring-buffer consumer,
 * packet-to-process join, context. See recorder.h. */
#include "recorder.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/inotify.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "dnsreel_bpf.h"
#include "dnsreel_pkt.skel.h"
#include "dnsreel_pktdev.skel.h"
#include "dnsreel_proc.skel.h"
#include "k8s.h"
#include "parse.h"
#include "ring.h"

#define NSFS_MAGIC_  0x6e736673
#define MAX_NS_ADDRS 16
#define MAX_NS_PIDS  4
#define PT_SIZE	     (1u << 15) /* process table slots */
#define PT_WAYS	     8
#define PIDSET_SIZE  8192

enum ns_state { NS_NEW, NS_SKIPPED, NS_ATTACHED, NS_GONE };

struct nsent {
	uint64_t ino;
	enum ns_state state;
	int sock;	 /* AF_PACKET socket with the filter, -1 when not attached */
	int nsfd;	 /* kept while attached: setns for addresses and iptables */
	char path[256];	 /* how to open it: a pid's ns/net or a bind mount */
	bool path_named; /* path is a bind mount (stable), not a pid's */
	bool seen;	 /* referenced in the current scan */
	pid_t pids[MAX_NS_PIDS];
	int npids;
	uint64_t events;
	int fails;
	uint8_t ipt_due; /* scans wanted: bit 0 iptables-save, bit 1 ip6tables-save */
	uint8_t addrs[MAX_NS_ADDRS][16];
	uint8_t addr_v[MAX_NS_ADDRS];
	int naddrs;
	struct dnsreel_netns_ctx ctx;
};

struct pentry {
	uint64_t netns;
	int64_t ts;
	uint64_t cgroup_id;
	uint32_t pid, tid, uid, gid;
	uint16_t lport;
	uint8_t proto;
	uint8_t used;
	uint8_t laddr[16];
	char comm[16];
};

/* The mapping behind struct dnsreel_ring (ring.h). */
struct ring {
	struct dnsreel_ring rg;
	int fd;
	void *cons_map;
	void *prod_map;
	size_t size;
};

#define MAX_IPT_JOBS 8
#define EPOLL_IPT    100
struct ipt_job {
	pid_t pid;
	int fd;
	char *buf;
	size_t len, cap;
};

struct svc_seen {
	struct dnsreel_service_ctx s;
};

struct dnsreel_recorder {
	struct dnsreel_recorder_opts o;
	struct dnsreel_sink sink;
	char root[512];
	char pod_logs[1024];
	char containers_logs[1024];
	char docker_dir[1024];
	uint8_t port_bits[8192];
	int events_fd, counters_fd, frags_fd;
	struct ring ring;
	struct dnsreel_proc *proc_skel;
	struct dnsreel_pktdev *shared_pkt; /* one program for every netns */
	uint64_t n_unknown_ns;
	struct bpf_link *proc_links[2];
	bool has_proc;
	int self_ns;
	uint64_t host_ino;
	int epfd, inofd;
	char watch_dirs[4][1024];
	int watch_wd[4];
	struct nsent *ns;
	size_t nns, cap_ns;
	size_t last_ns;
	int64_t next_scan, next_tick, next_svc, fast_until;
	bool ready;
	bool filtering;
	struct pentry *pt;
	/* Per-slot tag (key hash, 0 = empty) beside pt: the join probes PT_WAYS slots per packet,
	 * and 4-byte tags keep that in one cache line instead of ten 80-byte entries. */
	uint32_t *pt_tag;
	uint32_t *pidset;
	struct pidc *pidc;
	uint64_t scan_count;
	struct ipt_job ipt[MAX_IPT_JOBS];
	struct svc_seen *svcs;
	size_t nsvcs, cap_svcs;
	int ncpus;
	uint64_t n_events, n_malformed, n_lenlie, n_lost_user, n_attach_fail;
};

static void logf_(struct dnsreel_recorder *r, int level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void logf_(struct dnsreel_recorder *r, int level, const char *fmt, ...)
{
	if (!r->sink.log || level > r->sink.max_level)
		return;
	char buf[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	r->sink.log(r->sink.arg, level, buf);
}

static int64_t boot_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_BOOTTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void scopy(char *dst, size_t n, const char *src)
{
	size_t l = strnlen(src, n - 1);
	memcpy(dst, src, l);
	dst[l] = 0;
}

/* ---- ring buffer ------------------------------------------------------------------------ */

/* Our own consumer over the mmapped ring (same layout libbpf uses): it lets us look ahead
 * for process records and leave packets younger than the join delay in the ring, without
 * copying them out. */
static int ring_open(struct ring *rg, int fd, size_t size)
{
	long pg = sysconf(_SC_PAGESIZE);
	rg->fd = fd;
	rg->size = size;
	rg->cons_map = mmap(NULL, (size_t)pg, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (rg->cons_map == MAP_FAILED) {
		rg->cons_map = NULL;
		return -errno;
	}
	rg->prod_map = mmap(NULL, (size_t)pg + 2 * size, PROT_READ, MAP_SHARED, fd, pg);
	if (rg->prod_map == MAP_FAILED) {
		int err = -errno;
		munmap(rg->cons_map, (size_t)pg);
		rg->cons_map = rg->prod_map = NULL;
		return err;
	}
	rg->rg.cons = rg->cons_map;
	rg->rg.prod = rg->prod_map;
	rg->rg.data = (const uint8_t *)rg->prod_map + pg;
	rg->rg.mask = size - 1;
	rg->rg.proc_pos = 0;
	return 0;
}

static void ring_close(struct ring *rg)
{
	long pg = sysconf(_SC_PAGESIZE);
	if (rg->cons_map)
		munmap(rg->cons_map, (size_t)pg);
	if (rg->prod_map)
		munmap(rg->prod_map, (size_t)pg + 2 * rg->size);
}

/* ---- process table ---------------------------------------------------------------------- */

static uint32_t pt_hash(uint64_t netns, uint8_t proto, uint16_t port)
{
	uint64_t h = netns * 0x9E3779B97F4A7C15ull ^ ((uint64_t)proto << 16 | port);
	h ^= h >> 29;
	h *= 0xBF58476D1CE4E5B9ull;
	return (uint32_t)(h >> 32);
}

static uint32_t pt_tagof(uint32_t h)
{
	return h ? h : 1;
}

/* Several sockets may share (netns, proto, port): one per local address (a server bound to
 * each of its IPs, IPv4 and IPv6 twins). Entries are per local address; the join tries each. */
static struct pentry *pt_put(struct dnsreel_recorder *r, uint64_t netns, uint8_t proto,
			     uint16_t port, const uint8_t laddr[16])
{
	uint32_t h = pt_hash(netns, proto, port), tag = pt_tagof(h);
	struct pentry *victim = NULL;
	/* Tags first: entries are touched only when their key may match, or to pick a victim
	 * among full ways. A slot is in use exactly when its tag is non-zero. */
	for (uint32_t i = 0; i < PT_WAYS; i++) {
		uint32_t slot = (h + i) & (PT_SIZE - 1);
		struct pentry *e = &r->pt[slot];
		if (r->pt_tag[slot] == tag && e->used && e->netns == netns && e->proto == proto &&
		    e->lport == port && !memcmp(e->laddr, laddr, 16))
			return e;
	}
	for (uint32_t i = 0; i < PT_WAYS && !victim; i++) {
		uint32_t slot = (h + i) & (PT_SIZE - 1);
		if (!r->pt_tag[slot])
			victim = &r->pt[slot];
	}
	if (!victim) {
		/* all used: the least recently reported goes */
		for (uint32_t i = 0; i < PT_WAYS; i++) {
			struct pentry *e = &r->pt[(h + i) & (PT_SIZE - 1)];
			if (!victim || e->ts < victim->ts)
				victim = e;
		}
	}
	memset(victim, 0, sizeof(*victim));
	victim->netns = netns;
	victim->proto = proto;
	victim->lport = port;
	memcpy(victim->laddr, laddr, 16);
	victim->used = 1;
	r->pt_tag[victim - r->pt] = pt_tagof(h);
	return victim;
}

static bool pidset_add(struct dnsreel_recorder *r, uint32_t pid)
{
	uint32_t h = (pid * 2654435761u) & (PIDSET_SIZE - 1);
	for (uint32_t i = 0; i < 16; i++) {
		uint32_t *s = &r->pidset[(h + i) & (PIDSET_SIZE - 1)];
		if (*s == pid)
			return false;
		if (!*s) {
			*s = pid;
			return true;
		}
	}
	r->pidset[h] = pid; /* full neighbourhood: overwrite, may re-emit later */
	return true;
}

static ssize_t read_file(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ssize_t n = read(fd, buf, len - 1);
	int err = errno;
	close(fd);
	if (n < 0)
		return -err;
	buf[n] = 0;
	return n;
}

static void emit_proc_ctx(struct dnsreel_recorder *r, const struct pentry *e)
{
	if (!r->sink.on_proc || !pidset_add(r, e->pid))
		return;
	struct dnsreel_proc_ctx pc;
	memset(&pc, 0, sizeof(pc));
	pc.pid = e->pid;
	pc.netns = e->netns;
	pc.cgroup_id = e->cgroup_id;
	pc.uid = e->uid;
	pc.gid = e->gid;
	memcpy(pc.comm, e->comm, sizeof(pc.comm));
	pc.comm[15] = 0;
	char path[1200], buf[4096];
	snprintf(path, sizeof(path), "%s/proc/%u/stat", r->root, e->pid);
	if (read_file(path, buf, sizeof(buf)) > 0) {
		char *p = strrchr(buf, ')');
		if (p) {
			/* fields after comm: state ppid ... starttime is the 22nd field overall */
			unsigned long long v[20] = {0};
			char st;
			int n =
			    sscanf(p + 2,
				   "%c %llu %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s "
				   "%*s %*s %*s %*s %llu",
				   &st, &v[0], &v[1]);
			if (n == 3) {
				pc.ppid = (uint32_t)v[0];
				long hz = sysconf(_SC_CLK_TCK);
				pc.start_ns =
				    v[1] * (1000000000ull / (uint64_t)(hz > 0 ? hz : 100));
			}
		}
	}
	snprintf(path, sizeof(path), "%s/proc/%u/cmdline", r->root, e->pid);
	ssize_t n = read_file(path, buf, sizeof(pc.cmdline));
	if (n > 0) {
		for (ssize_t i = 0; i < n; i++)
			if (!buf[i])
				buf[i] = ' ';
		while (n > 0 && buf[n - 1] == ' ')
			buf[--n] = 0;
		scopy(pc.cmdline, sizeof(pc.cmdline), buf);
	}
	snprintf(path, sizeof(path), "%s/proc/%u/cgroup", r->root, e->pid);
	if (read_file(path, buf, sizeof(buf)) > 0)
		dnsreel_cgroup_parse(buf, pc.k8s_pod_uid, sizeof(pc.k8s_pod_uid),
				     pc.runtime_containerid, sizeof(pc.runtime_containerid),
				     pc.cgroup, sizeof(pc.cgroup));
	r->sink.on_proc(r->sink.arg, &pc);
}

static void apply_proc(struct dnsreel_recorder *r, const struct dnsreel_proc_rec *p)
{
	struct pentry *e = pt_put(r, p->netns, p->proto, p->lport, p->laddr);
	logf_(r, 3, "proc rec netns %llu proto %u lport %u rport %u pid %u comm %.16s",
	      (unsigned long long)p->netns, p->proto, p->lport, p->rport, p->pid, p->comm);
	if (!e)
		return;
	bool newpid = e->pid != p->pid;
	e->ts = (int64_t)p->ts_ns;
	e->cgroup_id = p->cgroup_id;
	e->pid = p->pid;
	e->tid = p->tid;
	e->uid = p->uid;
	e->gid = p->gid;
	memcpy(e->laddr, p->laddr, 16);
	memcpy(e->comm, p->comm, 16);
	e->comm[15] = 0;
	if (newpid)
		emit_proc_ctx(r, e);
}

/* ---- namespaces ------------------------------------------------------------------------- */

static struct nsent *ns_find(struct dnsreel_recorder *r, uint64_t ino)
{
	if (r->last_ns < r->nns && r->ns[r->last_ns].ino == ino)
		return &r->ns[r->last_ns];
	for (size_t i = 0; i < r->nns; i++)
		if (r->ns[i].ino == ino) {
			r->last_ns = i;
			return &r->ns[i];
		}
	return NULL;
}

static bool addr_is_zero(const uint8_t a[16])
{
	static const uint8_t z[16];
	return !memcmp(a, z, 16);
}

/* Is addr (version v) one of the netns's own addresses? Unknown addresses: trust. */
static bool ns_is_local(const struct nsent *n, uint8_t v, const uint8_t *addr)
{
	if (v == 4 && addr[0] == 127)
		return true;
	if (v == 6) {
		static const uint8_t lo6[16] = {[15] = 1};
		if (!memcmp(addr, lo6, 16))
			return true;
	}
	if (!n || n->naddrs == 0)
		return true;
	for (int i = 0; i < n->naddrs; i++)
		if (n->addr_v[i] == v && !memcmp(n->addrs[i], addr, v == 4 ? 4 : 16))
			return true;
	return false;
}

/* Addresses of the current netns (caller did setns) into n and its ctx text. */
static void ns_read_addrs(struct nsent *n)
{
	struct ifaddrs *ifa = NULL, *i;
	n->naddrs = 0;
	n->ctx.ips[0] = 0;
	if (getifaddrs(&ifa))
		return;
	size_t off = 0;
	for (i = ifa; i; i = i->ifa_next) {
		if (!i->ifa_addr || (i->ifa_flags & IFF_LOOPBACK))
			continue;
		int fam = i->ifa_addr->sa_family;
		char txt[INET6_ADDRSTRLEN];
		uint8_t a[16] = {0};
		uint8_t v;
		if (fam == AF_INET) {
			memcpy(a, &((struct sockaddr_in *)i->ifa_addr)->sin_addr, 4);
			v = 4;
		} else if (fam == AF_INET6) {
			memcpy(a, &((struct sockaddr_in6 *)i->ifa_addr)->sin6_addr, 16);
			if (a[0] == 0xfe && (a[1] & 0xc0) == 0x80)
				continue; /* link-local: not a pod address */
			v = 6;
		} else {
			continue;
		}
		if (n->naddrs < MAX_NS_ADDRS) {
			memcpy(n->addrs[n->naddrs], a, 16);
			n->addr_v[n->naddrs++] = v;
		}
		inet_ntop(fam == AF_INET ? AF_INET : AF_INET6, a, txt, sizeof(txt));
		int w = snprintf(n->ctx.ips + off, sizeof(n->ctx.ips) - off, "%s%s", off ? "," : "",
				 txt);
		if (w > 0 && off + (size_t)w < sizeof(n->ctx.ips))
			off += (size_t)w;
	}
	freeifaddrs(ifa);
}

/* Pod and container context from the processes found in the netns. */
static void ns_resolve_k8s(struct dnsreel_recorder *r, struct nsent *n)
{
	char path[1200], buf[8192];
	char uid[40] = "", cid[80] = "", first_cid[80] = "";
	for (int i = 0; i < n->npids; i++) {
		char u[40], c[80], cg[8];
		snprintf(path, sizeof(path), "%s/proc/%d/cgroup", r->root, n->pids[i]);
		if (read_file(path, buf, sizeof(buf)) <= 0)
			continue;
		dnsreel_cgroup_parse(buf, u, sizeof(u), c, sizeof(c), cg, sizeof(cg));
		if (u[0] && !uid[0])
			scopy(uid, sizeof(uid), u);
		if (c[0] && !first_cid[0])
			scopy(first_cid, sizeof(first_cid), c);
		if (c[0] && u[0] && !cid[0]) {
			/* Prefer the container whose name the kubelet logs know (not the pause
			 * sandbox). */
			struct dnsreel_netns_ctx tmp;
			memset(&tmp, 0, sizeof(tmp));
			dnsreel_k8s_lookup(r->pod_logs, r->containers_logs, NULL, u, c, &tmp);
			if (tmp.k8s_containername[0])
				scopy(cid, sizeof(cid), c);
		}
	}
	if (!cid[0])
		scopy(cid, sizeof(cid), first_cid);
	if (uid[0] || cid[0])
		dnsreel_k8s_lookup(r->pod_logs, r->containers_logs, r->docker_dir, uid, cid,
				   &n->ctx);
	if (uid[0] && !n->ctx.k8s_pod_uid[0])
		scopy(n->ctx.k8s_pod_uid, sizeof(n->ctx.k8s_pod_uid), uid);
}

static bool csv_has(const char *csv, const char *v)
{
	if (!csv || !csv[0])
		return true;
	size_t vl = strlen(v);
	const char *s = csv;
	while (*s) {
		const char *c = strchr(s, ',');
		size_t l = c ? (size_t)(c - s) : strlen(s);
		if (l == vl && !strncmp(s, v, l))
			return true;
		if (!c)
			break;
		s = c + 1;
	}
	return false;
}

static bool ns_wanted(struct dnsreel_recorder *r, struct nsent *n)
{
	const struct dnsreel_recorder_opts *o = &r->o;
	if (!r->filtering)
		return true;
	bool by_id = o->netns_ids_n || o->netns_names_n;
	bool by_k8s = (o->k8s_namespaces && o->k8s_namespaces[0]) ||
		      (o->k8s_podnames && o->k8s_podnames[0]) ||
		      (o->k8s_containers && o->k8s_containers[0]);
	for (size_t i = 0; i < o->netns_ids_n; i++)
		if (o->netns_ids[i] == n->ino)
			return true;
	for (size_t i = 0; i < o->netns_names_n; i++)
		if (n->ctx.name[0] && !strcmp(o->netns_names[i], n->ctx.name))
			return true;
	if (!by_k8s)
		return false;
	if (by_id && !by_k8s)
		return false;
	if (!n->ctx.k8s_podname[0])
		return false;
	return csv_has(o->k8s_namespaces, n->ctx.k8s_namespace) &&
	       csv_has(o->k8s_podnames, n->ctx.k8s_podname) &&
	       csv_has(o->k8s_containers, n->ctx.k8s_containername);
}

static void put_ns(struct dnsreel_recorder *r, struct nsent *n)
{
	if (r->sink.on_netns)
		r->sink.on_netns(r->sink.arg, &n->ctx);
}

static void svc_emit(void *arg, const struct dnsreel_service_ctx *s)
{
	struct dnsreel_recorder *r = arg;
	for (size_t i = 0; i < r->nsvcs; i++)
		if (!memcmp(&r->svcs[i].s, s, sizeof(*s)))
			return;
	if (r->nsvcs == r->cap_svcs) {
		size_t nc = r->cap_svcs ? r->cap_svcs * 2 : 16;
		struct svc_seen *p = realloc(r->svcs, nc * sizeof(*p));
		if (!p)
			return;
		r->svcs = p;
		r->cap_svcs = nc;
	}
	r->svcs[r->nsvcs++].s = *s;
	logf_(r, 1, "service %s/%s port %u", s->k8s_namespace, s->name, s->port);
	if (r->sink.on_service)
		r->sink.on_service(r->sink.arg, s);
}

/* kube-proxy's rules: iptables-save / ip6tables-save -t nat run inside the netns (the child
 * does setns).
 * Asynchronous: iptables-save can take tens of milliseconds and the consumer loop must not
 * stall, so its output is read from the epoll loop and parsed at EOF. */
static void ns_scan_iptables(struct dnsreel_recorder *r, struct nsent *n, bool v6)
{
	int slot = -1;
	for (int i = 0; i < MAX_IPT_JOBS; i++)
		if (r->ipt[i].pid <= 0) {
			slot = i;
			break;
		}
	int pfd[2];
	if (slot < 0 || n->nsfd < 0 || pipe2(pfd, O_CLOEXEC | O_NONBLOCK))
		return;
	pid_t pid = fork();
	if (pid < 0) {
		close(pfd[0]);
		close(pfd[1]);
		return;
	}
	if (pid == 0) {
		int devnull = open("/dev/null", O_RDWR);
		int fl = fcntl(pfd[1], F_GETFL);
		fcntl(pfd[1], F_SETFL, fl & ~O_NONBLOCK);
		dup2(pfd[1], 1);
		if (devnull >= 0)
			dup2(devnull, 2);
		if (setns(n->nsfd, CLONE_NEWNET))
			_exit(127);
		const char *cmd = v6 ? "ip6tables-save" : "iptables-save";
		execlp(cmd, cmd, "-t", "nat", (char *)NULL);
		_exit(127);
	}
	close(pfd[1]);
	struct ipt_job *j = &r->ipt[slot];
	j->pid = pid;
	j->fd = pfd[0];
	j->len = 0;
	struct epoll_event ev = {.events = EPOLLIN, .data.u32 = EPOLL_IPT + (uint32_t)slot};
	epoll_ctl(r->epfd, EPOLL_CTL_ADD, j->fd, &ev);
}

/* Starts due scans while job slots are free. */
static void ipt_pump(struct dnsreel_recorder *r)
{
	for (size_t i = 0; i < r->nns; i++) {
		struct nsent *n = &r->ns[i];
		if (!n->ipt_due)
			continue;
		if (n->state != NS_ATTACHED) {
			n->ipt_due = 0;
			continue;
		}
		int busy = 0;
		for (int k = 0; k < MAX_IPT_JOBS; k++)
			busy += r->ipt[k].pid > 0;
		if (busy == MAX_IPT_JOBS)
			return;
		bool v6 = !(n->ipt_due & 1);
		n->ipt_due &= (uint8_t)(v6 ? ~2u : ~1u);
		ns_scan_iptables(r, n, v6);
	}
}

static void ipt_finish(struct dnsreel_recorder *r, struct ipt_job *j)
{
	epoll_ctl(r->epfd, EPOLL_CTL_DEL, j->fd, NULL);
	close(j->fd);
	j->fd = -1;
	if (j->pid > 0) {
		kill(j->pid, SIGKILL); /* no-op when it already exited */
		while (waitpid(j->pid, NULL, 0) < 0 && errno == EINTR)
			;
	}
	j->pid = 0;
	if (j->buf && j->len) {
		j->buf[j->len] = 0;
		dnsreel_iptables_parse(j->buf, svc_emit, r);
	}
	j->len = 0;
}

static void ipt_read(struct dnsreel_recorder *r, struct ipt_job *j)
{
	for (;;) {
		if (j->len + 4096 + 1 > j->cap) {
			size_t nc = j->cap ? j->cap * 2 : 65536;
			char *nb = nc <= (64u << 20) ? realloc(j->buf, nc) : NULL;
			if (!nb) {
				ipt_finish(r, j);
				return;
			}
			j->buf = nb;
			j->cap = nc;
		}
		ssize_t k = read(j->fd, j->buf + j->len, j->cap - j->len - 1);
		if (k > 0) {
			j->len += (size_t)k;
			continue;
		}
		if (k < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		ipt_finish(r, j); /* EOF or error */
		return;
	}
}

static struct dnsreel_pkt *pkt_open_load(struct dnsreel_recorder *r, uint64_t ino, int *err)
{
	struct dnsreel_pkt *skel = dnsreel_pkt__open();
	if (!skel) {
		*err = errno ? -errno : -ENOMEM;
		return NULL;
	}
	skel->rodata->netns_id = ino;
	skel->rodata->snaplen = r->o.snaplen;
	skel->rodata->wakeup_bytes = r->ring.size / 4;
	memcpy((void *)skel->rodata->port_bits, r->port_bits, sizeof(r->port_bits));
	if ((*err = bpf_map__reuse_fd(skel->maps.events, r->events_fd)) ||
	    (*err = bpf_map__reuse_fd(skel->maps.counters, r->counters_fd)) ||
	    (*err = bpf_map__reuse_fd(skel->maps.frags, r->frags_fd)) ||
	    (*err = dnsreel_pkt__load(skel))) {
		dnsreel_pkt__destroy(skel);
		return NULL;
	}
	return skel;
}

/* The shared program (netns from skb->dev); NULL when the kernel refuses it. */
static struct dnsreel_pktdev *pktdev_open_load(struct dnsreel_recorder *r, int *err)
{
	struct dnsreel_pktdev *skel = dnsreel_pktdev__open();
	if (!skel) {
		*err = errno ? -errno : -ENOMEM;
		return NULL;
	}
	skel->rodata->snaplen = r->o.snaplen;
	skel->rodata->wakeup_bytes = r->ring.size / 4;
	memcpy((void *)skel->rodata->port_bits, r->port_bits, sizeof(r->port_bits));
	if ((*err = bpf_map__reuse_fd(skel->maps.events, r->events_fd)) ||
	    (*err = bpf_map__reuse_fd(skel->maps.counters, r->counters_fd)) ||
	    (*err = bpf_map__reuse_fd(skel->maps.frags, r->frags_fd)) ||
	    (*err = dnsreel_pktdev__load(skel))) {
		dnsreel_pktdev__destroy(skel);
		return NULL;
	}
	return skel;
}

static int attach_socket(struct dnsreel_recorder *r, struct nsent *n)
{
	int err = 0;
	/* Shared program: nothing to load, attaching is a few syscalls. Otherwise an instance
	 * with this netns's inode baked in (tens of milliseconds of verification). */
	struct dnsreel_pkt *skel = NULL;
	int prog;
	if (r->shared_pkt) {
		prog = bpf_program__fd(r->shared_pkt->progs.dnsreel_pkt);
	} else {
		if (!(skel = pkt_open_load(r, n->ino, &err)))
			return err;
		prog = bpf_program__fd(skel->progs.dnsreel_pkt);
	}
	if (setns(n->nsfd, CLONE_NEWNET)) {
		err = -errno;
		dnsreel_pkt__destroy(skel);
		return err;
	}
	/* Protocol 0 first: no packet reaches the socket before the filter is on it. */
	int s = socket(AF_PACKET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	err = s < 0 ? -errno : 0;
	if (!err && setsockopt(s, SOL_SOCKET, SO_ATTACH_BPF, &prog, sizeof(prog)))
		err = -errno;

	if (!err) {
		int small = 4096;
		setsockopt(s, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
		struct sockaddr_ll sll = {.sll_family = AF_PACKET,
					  .sll_protocol = htons(ETH_P_ALL)};
		if (bind(s, (struct sockaddr *)&sll, sizeof(sll)))
			err = -errno;
	}
	if (!err)
		ns_read_addrs(n);
	if (setns(r->self_ns, CLONE_NEWNET))
		logf_(r, 0, "cannot return to own netns: %s", strerror(errno));
	dnsreel_pkt__destroy(skel); /* NULL ok; the socket holds the program */
	if (err) {
		if (s >= 0)
			close(s);
		return err;
	}
	n->sock = s;
	return 0;
}

static void ns_detach(struct dnsreel_recorder *r, struct nsent *n, bool gone)
{
	if (n->sock >= 0)
		close(n->sock);
	if (n->nsfd >= 0)
		close(n->nsfd);
	n->sock = n->nsfd = -1;
	if (gone) {
		if (n->state == NS_ATTACHED) {
			n->ctx.flags |= DNSREEL_NETNS_GONE;
			put_ns(r, n);
			logf_(r, 1, "netns %llu gone (%llu events)", (unsigned long long)n->ino,
			      (unsigned long long)n->events);
		}
		n->state = NS_GONE;
	}
	if (r->proc_skel && r->filtering)
		bpf_map_delete_elem(bpf_map__fd(r->proc_skel->maps.netns_on), &n->ino);
}

static void ns_try_attach(struct dnsreel_recorder *r, struct nsent *n)
{
	if (n->state == NS_ATTACHED)
		return;
	ns_resolve_k8s(r, n);
	if (!ns_wanted(r, n)) {
		n->state = NS_SKIPPED;
		return;
	}
	int fd = open(n->path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		logf_(r, 2, "netns %llu: %s vanished before attach", (unsigned long long)n->ino,
		      n->path);
		return;
	}
	struct stat st;
	struct statfs sf;
	if (fstat(fd, &st) || fstatfs(fd, &sf) || sf.f_type != NSFS_MAGIC_ ||
	    (uint64_t)st.st_ino != n->ino) {
		close(fd);
		return;
	}
	n->nsfd = fd;
	int err = attach_socket(r, n);
	if (err) {
		r->n_attach_fail++;
		if (++n->fails >= 3)
			n->state = NS_SKIPPED; /* retried by the once-a-second tick */
		logf_(r, err == -ENOENT || err == -EINVAL || n->fails > 1 ? 2 : 0,
		      "netns %llu (%s): attach: %s", (unsigned long long)n->ino, n->path,
		      strerror(-err));
		close(fd);
		n->nsfd = -1;
		return;
	}
	n->state = NS_ATTACHED;
	n->ctx.first_seen_ns = boot_ns();
	if (r->proc_skel && r->filtering) {
		__u8 one = 1;
		bpf_map_update_elem(bpf_map__fd(r->proc_skel->maps.netns_on), &n->ino, &one,
				    BPF_ANY);
	}
	logf_(r, 1, "attached netns %llu %s%s%s", (unsigned long long)n->ino, n->ctx.name,
	      n->ctx.k8s_podname[0] ? " pod " : "", n->ctx.k8s_podname);
	n->ipt_due = r->o.no_iptables ? 0 : 3;
	put_ns(r, n);
}

/* Records that ino is referenced (by pid, or by a bind mount path with a name). */
static struct nsent *ns_note(struct dnsreel_recorder *r, uint64_t ino, const char *path,
			     const char *name, pid_t pid)
{
	struct nsent *n = ns_find(r, ino);
	if (!n) {
		if (r->nns == r->cap_ns) {
			size_t nc = r->cap_ns ? r->cap_ns * 2 : 64;
			struct nsent *p = realloc(r->ns, nc * sizeof(*p));
			if (!p)
				return NULL;
			r->ns = p;
			r->cap_ns = nc;
		}
		n = &r->ns[r->nns++];
		memset(n, 0, sizeof(*n));
		n->ino = ino;
		n->sock = n->nsfd = -1;
		n->ctx.netns = ino;
		if (ino == r->host_ino)
			n->ctx.flags |= DNSREEL_NETNS_HOST;
	}
	if (n->state == NS_GONE) {
		/* Same inode again: the kernel reused it for a new namespace. */
		n->state = NS_NEW;
		n->ctx.flags &= ~(uint32_t)DNSREEL_NETNS_GONE;
		memset(&n->ctx.k8s_namespace, 0,
		       sizeof(n->ctx) - offsetof(struct dnsreel_netns_ctx, k8s_namespace));
		n->npids = 0;
		n->path[0] = 0;
		n->path_named = false;
		n->fails = 0;
		n->events = 0;
	}
	n->seen = true;
	if (name && name[0] && strcmp(n->ctx.name, name)) {
		scopy(n->ctx.name, sizeof(n->ctx.name), name);
		if (n->state == NS_ATTACHED)
			put_ns(r, n);
	}
	if (pid > 0 && n->npids < MAX_NS_PIDS)
		n->pids[n->npids++] = pid;
	/* A bind mount stays valid; a pid's path goes with the pid, so take the latest. */
	if (path && name) {
		scopy(n->path, sizeof(n->path), path);
		n->path_named = true;
	} else if (path && !n->path_named) {
		scopy(n->path, sizeof(n->path), path);
	}
	return n;
}

static void scan_dirs(struct dnsreel_recorder *r)
{
	static const char *const dirs[] = {"/run/netns", "/var/run/netns", "/var/run/docker/netns",
					   "/run/docker/netns"};
	for (size_t d = 0; d < sizeof(dirs) / sizeof(dirs[0]); d++) {
		char dir[1200];
		snprintf(dir, sizeof(dir), "%s%s", r->root, dirs[d]);
		DIR *dp = opendir(dir);
		if (!dp)
			continue;
		struct dirent *de;
		while ((de = readdir(dp))) {
			if (de->d_name[0] == '.')
				continue;
			char p[1500];
			struct stat st;
			struct statfs sf;
			snprintf(p, sizeof(p), "%s/%s", dir, de->d_name);
			/* A fresh `ip netns add` file is a plain file until the bind mount lands.
			 */
			if (stat(p, &st) || statfs(p, &sf) || sf.f_type != NSFS_MAGIC_)
				continue;
			ns_note(r, (uint64_t)st.st_ino, p, de->d_name, 0);
		}
		closedir(dp);
	}
}

/* pid -> netns inode seen at the last full scan: readlink of /proc/PID/ns/net is the costly
 * part of a scan on a node with thousands of processes, and a process rarely changes netns.
 * Known pids are re-read only on every tenth (full) scan. */
struct pidc {
	int32_t pid;
	uint32_t pad;
	uint64_t ino;
};
#define PIDC_SIZE (1u << 16)
#define PIDC_WAYS 4

static struct pidc *pidc_slot(struct dnsreel_recorder *r, int32_t pid, bool *hit)
{
	uint32_t h = ((uint32_t)pid * 2654435761u) & (PIDC_SIZE - 1);
	struct pidc *free_slot = NULL;
	for (uint32_t i = 0; i < PIDC_WAYS; i++) {
		struct pidc *c = &r->pidc[(h + i) & (PIDC_SIZE - 1)];
		if (c->pid == pid) {
			*hit = true;
			return c;
		}
		if (!c->pid && !free_slot)
			free_slot = c;
	}
	*hit = false;
	return free_slot ? free_slot : &r->pidc[h]; /* full: overwrite */
}

static void scan_proc(struct dnsreel_recorder *r)
{
	char dir[1200];
	snprintf(dir, sizeof(dir), "%s/proc", r->root);
	DIR *dp = opendir(dir);
	if (!dp)
		return;
	bool full = r->scan_count++ % 10 == 0;
	if (full)
		memset(r->pidc, 0, PIDC_SIZE * sizeof(*r->pidc));
	int dfd = dirfd(dp);
	struct dirent *de;
	while ((de = readdir(dp))) {
		if (de->d_name[0] < '1' || de->d_name[0] > '9')
			continue;
		int32_t pid = atoi(de->d_name);
		bool hit;
		struct pidc *c = pidc_slot(r, pid, &hit);
		char rel[300];
		snprintf(rel, sizeof(rel), "%s/ns/net", de->d_name);
		unsigned long long ino;
		if (hit) {
			ino = c->ino;
		} else {
			char link[64];
			ssize_t l = readlinkat(dfd, rel, link, sizeof(link) - 1);
			if (l <= 0)
				continue; /* kernel thread or gone */
			link[l] = 0;
			if (sscanf(link, "net:[%llu]", &ino) != 1)
				continue;
			c->pid = pid;
			c->ino = ino;
		}
		char p[1600];
		snprintf(p, sizeof(p), "%s/%s", dir, rel);
		ns_note(r, ino, p, NULL, pid);
	}
	closedir(dp);
}

static void watch_dirs(struct dnsreel_recorder *r)
{
	static const char *const dirs[] = {"/run/netns", "/var/run/netns", "/var/run/docker/netns",
					   "/run/docker/netns"};
	for (int i = 0; i < 4; i++) {
		if (r->watch_wd[i] >= 0)
			continue;
		snprintf(r->watch_dirs[i], sizeof(r->watch_dirs[i]), "%s%s", r->root, dirs[i]);
		r->watch_wd[i] = inotify_add_watch(r->inofd, r->watch_dirs[i],
						   IN_CREATE | IN_DELETE | IN_MOVED_TO |
						       IN_MOVED_FROM | IN_ATTRIB);
	}
}

/* Full scan: who refers to which netns; attach new ones, detach unreferenced ones. */
static void scan_all(struct dnsreel_recorder *r)
{
	for (size_t i = 0; i < r->nns; i++) {
		r->ns[i].seen = false;
		r->ns[i].npids = 0;
	}
	scan_proc(r);
	scan_dirs(r);
	for (size_t i = 0; i < r->nns; i++) {
		struct nsent *n = &r->ns[i];
		if (!n->seen) {
			if (n->state != NS_GONE)
				ns_detach(r, n, true);
			continue;
		}
		if (n->state == NS_NEW)
			ns_try_attach(r, n);
	}
	/* Forget gone entries once there are many, so the table does not grow without end;
	 * until then they keep their event counts for the exit summary. */
	if (r->nns < 4096)
		return;
	size_t w = 0;
	for (size_t i = 0; i < r->nns; i++) {
		if (r->ns[i].state == NS_GONE && !r->ns[i].seen)
			continue;
		if (w != i)
			r->ns[w] = r->ns[i];
		w++;
	}
	r->nns = w;
	r->last_ns = 0;
}

/* Cheap partial scan after inotify: only the bind-mount folders. */
static void scan_dirs_attach(struct dnsreel_recorder *r)
{
	scan_dirs(r);
	for (size_t i = 0; i < r->nns; i++)
		if (r->ns[i].state == NS_NEW)
			ns_try_attach(r, &r->ns[i]);
}

/* Once a second: addresses, pod context of attached netns, retry skipped ones. */
static void tick(struct dnsreel_recorder *r, bool services)
{
	for (size_t i = 0; i < r->nns; i++) {
		struct nsent *n = &r->ns[i];
		if (n->state == NS_SKIPPED) {
			ns_resolve_k8s(r, n);
			if (ns_wanted(r, n)) {
				n->state = NS_NEW;
				ns_try_attach(r, n);
			}
			continue;
		}
		if (n->state != NS_ATTACHED || n->nsfd < 0)
			continue;
		struct dnsreel_netns_ctx before = n->ctx;
		if (!n->ctx.k8s_podname[0])
			ns_resolve_k8s(r, n);
		if (!setns(n->nsfd, CLONE_NEWNET)) {
			ns_read_addrs(n);
			if (setns(r->self_ns, CLONE_NEWNET))
				logf_(r, 0, "cannot return to own netns: %s", strerror(errno));
		}
		if (memcmp(&before, &n->ctx, sizeof(before)))
			put_ns(r, n);
		if (services && !r->o.no_iptables)
			n->ipt_due = 3;
	}
}

/* ---- BPF setup -------------------------------------------------------------------------- */

static int libbpf_quiet(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if (level == LIBBPF_WARN && getenv("DNSREEL_BPF_DEBUG"))
		return vfprintf(stderr, fmt, ap);
	if (level == LIBBPF_DEBUG && getenv("DNSREEL_BPF_DEBUG"))
		return vfprintf(stderr, fmt, ap);
	return 0;
}

static void load_proc(struct dnsreel_recorder *r)
{
	struct stat st;
	if (stat("/sys/kernel/btf/vmlinux", &st)) {
		logf_(r, 0,
		      "warning: no kernel BTF (/sys/kernel/btf/vmlinux): recording without "
		      "process context");
		return;
	}
	if (stat("/sys/kernel/tracing/events/sock", &st) &&
	    stat("/sys/kernel/debug/tracing/events/sock", &st)) {
		if (mount("nodev", "/sys/kernel/tracing", "tracefs", 0, NULL) && errno != EBUSY)
			logf_(r, 1, "mount tracefs: %s", strerror(errno));
	}
	struct dnsreel_proc *p = NULL;
	int err = 0;
	struct bpf_link *l1 = NULL, *l2 = NULL;
	/* Raw tracepoints are cheaper (no trace record built per call); fall back to the
	 * classic ones. */
	for (int raw = 1; raw >= 0; raw--) {
		p = dnsreel_proc__open();
		if (!p) {
			err = -errno;
			break;
		}
		memcpy((void *)p->rodata->port_bits, r->port_bits, sizeof(r->port_bits));
		p->rodata->filter_netns = r->filtering;
		bpf_program__set_autoload(p->progs.dnsreel_send_raw, raw);
		bpf_program__set_autoload(p->progs.dnsreel_recv_raw, raw);
		bpf_program__set_autoload(p->progs.dnsreel_send_tp, !raw);
		bpf_program__set_autoload(p->progs.dnsreel_recv_tp, !raw);
		if ((err = bpf_map__reuse_fd(p->maps.events, r->events_fd)) ||
		    (err = bpf_map__reuse_fd(p->maps.counters, r->counters_fd)) ||
		    (err = dnsreel_proc__load(p))) {
			dnsreel_proc__destroy(p);
			p = NULL;
			continue;
		}
		l1 =
		    bpf_program__attach(raw ? p->progs.dnsreel_send_raw : p->progs.dnsreel_send_tp);
		l2 =
		    bpf_program__attach(raw ? p->progs.dnsreel_recv_raw : p->progs.dnsreel_recv_tp);
		if (l1 || l2 || !raw)
			break;
		dnsreel_proc__destroy(p);
		p = NULL;
	}
	if (!p) {
		logf_(r, 0,
		      "warning: process hooks did not load (%s): recording without process context",
		      strerror(err ? -err : EINVAL));
		return;
	}
	if (!l1 || !l2) {
		logf_(r, 0,
		      "warning: tracepoints sock:sock_send_length/sock_recv_length missing%s: "
		      "%s process context",
		      l1 || l2 ? " (one of them)" : "", l1 || l2 ? "partial" : "no");
	}
	r->proc_links[0] = l1;
	r->proc_links[1] = l2;
	r->proc_skel = p;
	r->has_proc = l1 || l2;
}

int dnsreel_recorder__new(struct dnsreel_recorder **out, const struct dnsreel_recorder_opts *o,
			  const struct dnsreel_sink *sink, char *errbuf, size_t errlen)
{
	struct dnsreel_recorder *r = calloc(1, sizeof(*r));
	int err = 0;
	*out = NULL;
	if (!r)
		return -ENOMEM;
	memcpy(&r->o, o, o->sz < sizeof(r->o) ? o->sz : sizeof(r->o));
	if (sink)
		r->sink = *sink;
	r->events_fd = r->counters_fd = r->frags_fd = r->self_ns = r->epfd = r->inofd = -1;
	r->ring.fd = -1;
	for (int i = 0; i < 4; i++)
		r->watch_wd[i] = -1;
	for (int i = 0; i < MAX_IPT_JOBS; i++)
		r->ipt[i].fd = -1;
	const char *root = o->host_root && o->host_root[0] ? o->host_root : "";
	if (!strcmp(root, "/"))
		root = "";
	scopy(r->root, sizeof(r->root), root);
	size_t rl = strlen(r->root);
	while (rl && r->root[rl - 1] == '/')
		r->root[--rl] = 0;
	if (o->pod_logs && o->pod_logs[0])
		scopy(r->pod_logs, sizeof(r->pod_logs), o->pod_logs);
	else
		snprintf(r->pod_logs, sizeof(r->pod_logs), "%s/var/log/pods", r->root);
	snprintf(r->containers_logs, sizeof(r->containers_logs), "%s/var/log/containers", r->root);
	snprintf(r->docker_dir, sizeof(r->docker_dir), "%s/var/lib/docker/containers", r->root);
	if (o->port_bits)
		memcpy(r->port_bits, o->port_bits, sizeof(r->port_bits));
	else
		dnsreel_parse_ports("53,5353", r->port_bits);
	if (!r->o.snaplen || r->o.snaplen > 65535)
		r->o.snaplen = 65535;
	if (!r->o.ringbuf_bytes)
		r->o.ringbuf_bytes = 32u << 20;
	if (!r->o.scan_interval_ns)
		r->o.scan_interval_ns = 100000000;
	if (!r->o.join_delay_ns)
		r->o.join_delay_ns = 20000000;
	r->filtering =
	    o->netns_ids_n || o->netns_names_n || (o->k8s_namespaces && o->k8s_namespaces[0]) ||
	    (o->k8s_podnames && o->k8s_podnames[0]) || (o->k8s_containers && o->k8s_containers[0]);
	r->pt = calloc(PT_SIZE, sizeof(*r->pt));
	r->pt_tag = calloc(PT_SIZE, sizeof(*r->pt_tag));
	r->pidset = calloc(PIDSET_SIZE, sizeof(*r->pidset));
	r->pidc = calloc(PIDC_SIZE, sizeof(*r->pidc));
	if (!r->pt || !r->pt_tag || !r->pidset || !r->pidc) {
		err = -ENOMEM;
		goto fail;
	}
	libbpf_set_print(libbpf_quiet);
	r->ncpus = libbpf_num_possible_cpus();
	if (r->ncpus <= 0)
		r->ncpus = 1;

	r->self_ns = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	if (r->self_ns < 0) {
		err = -errno;
		snprintf(errbuf, errlen, "cannot open /proc/self/ns/net: %s", strerror(errno));
		goto fail;
	}
	char hp[1200];
	struct stat st;
	snprintf(hp, sizeof(hp), "%s/proc/1/ns/net", r->root);
	if (!stat(hp, &st))
		r->host_ino = (uint64_t)st.st_ino;

	r->events_fd = bpf_map_create(BPF_MAP_TYPE_RINGBUF, "dnsreel_events", 0, 0,
				      (uint32_t)r->o.ringbuf_bytes, NULL);
	if (r->events_fd < 0) {
		err = -errno;
		snprintf(errbuf, errlen, "cannot create the BPF ring buffer (%llu bytes): %s",
			 (unsigned long long)r->o.ringbuf_bytes, strerror(errno));
		goto fail;
	}
	r->counters_fd =
	    bpf_map_create(BPF_MAP_TYPE_PERCPU_ARRAY, "dnsreel_cnt", 4, 8, DNSREEL_CNT_MAX, NULL);
	r->frags_fd = bpf_map_create(BPF_MAP_TYPE_LRU_HASH, "dnsreel_frags", 40, 1, 4096, NULL);
	if (r->counters_fd < 0 || r->frags_fd < 0) {
		err = -errno;
		snprintf(errbuf, errlen, "cannot create BPF maps: %s", strerror(errno));
		goto fail;
	}
	err = ring_open(&r->ring, r->events_fd, r->o.ringbuf_bytes);
	if (err) {
		snprintf(errbuf, errlen, "cannot map the ring buffer: %s", strerror(-err));
		goto fail;
	}
	/* One shared program when the kernel lets it read the packet's netns; else check the
	 * per-netns program loads: a clear early error. */
	if (!getenv("DNSREEL_PER_NETNS_PROG"))
		r->shared_pkt = pktdev_open_load(r, &err);
	if (!r->shared_pkt) {
		struct dnsreel_pkt *t = pkt_open_load(r, 0, &err);
		if (!t) {
			snprintf(errbuf, errlen,
				 "the kernel refused the socket filter program: %s (run with "
				 "DNSREEL_BPF_DEBUG=1 for the verifier log)",
				 strerror(-err));
			goto fail;
		}
		dnsreel_pkt__destroy(t);
		logf_(r, 1, "one socket filter program per netns (no bpf_cast_to_kern_ctx)");
	}
	err = 0;
	if (!o->no_proc)
		load_proc(r);

	r->epfd = epoll_create1(EPOLL_CLOEXEC);
	r->inofd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (r->epfd < 0 || r->inofd < 0) {
		err = -errno;
		snprintf(errbuf, errlen, "epoll/inotify: %s", strerror(errno));
		goto fail;
	}
	/* Edge-triggered: the ring deliberately keeps the youngest packets (join delay), and a
	 * level-triggered ring fd would report ready all the time. Only the producers' forced
	 * wakeups (ring filling up) wake us early; otherwise we poll on a short timer. */
	struct epoll_event ev = {.events = EPOLLIN | EPOLLET, .data.u32 = 1};
	epoll_ctl(r->epfd, EPOLL_CTL_ADD, r->events_fd, &ev);
	ev.events = EPOLLIN;
	ev.data.u32 = 2;
	epoll_ctl(r->epfd, EPOLL_CTL_ADD, r->inofd, &ev);
	watch_dirs(r);

	scan_all(r);
	ipt_pump(r);
	r->ready = true;
	int64_t now = boot_ns();
	r->next_scan = now + r->o.scan_interval_ns;
	r->next_tick = now + 1000000000;
	r->next_svc = now + 10000000000ll;
	*out = r;
	return 0;
fail:
	dnsreel_recorder__free(r);
	return err ? err : -EINVAL;
}

/* ---- events ----------------------------------------------------------------------------- */

static int deliver_pkt(struct dnsreel_recorder *r, const struct dnsreel_pkt_rec *p, uint32_t len)
{
	struct dnsreel_event ev;
	if (len < sizeof(*p) || p->cap_len > len - sizeof(*p)) {
		r->n_lost_user++;
		return 0;
	}
	struct nsent *n = ns_find(r, p->netns);
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
	if (n)
		n->events++;
	/* Join: a local socket sent it (OUTGOING, local = source) or will read it (local =
	 * destination). Forwarded packets have neither side local. */
	if (r->has_proc &&
	    (ev.pkt_type == DNSREEL_PKT_OUTGOING || ev.pkt_type == DNSREEL_PKT_HOST ||
	     ev.pkt_type == DNSREEL_PKT_BROADCAST || ev.pkt_type == DNSREEL_PKT_MULTICAST)) {
		bool out = ev.pkt_type == DNSREEL_PKT_OUTGOING;
		const uint8_t *laddr = out ? ev.src_addr : ev.dst_addr;
		uint16_t lport = out ? ev.src_port : ev.dst_port;
		/* The most recently reported socket on that port whose address fits. */
		struct pentry *e = NULL;
		uint32_t h = pt_hash(ev.netns, ev.proto, lport);
		uint32_t tag = pt_tagof(h);
		for (uint32_t i = 0; lport && i < PT_WAYS; i++) {
			uint32_t slot = (h + i) & (PT_SIZE - 1);
			if (r->pt_tag[slot] != tag)
				continue; /* another key (or empty): its entry can not match */
			struct pentry *c = &r->pt[slot];
			if (!c->used || c->netns != ev.netns || c->proto != ev.proto ||
			    c->lport != lport || (e && c->ts <= e->ts))
				continue;
			bool fits;
			if (addr_is_zero(c->laddr))
				fits = ns_is_local(n, ev.ip_version, laddr);
			else if (ev.ip_version == 4)
				fits = !memcmp(c->laddr, laddr, 4) ||
				       (c->laddr[10] == 0xff && c->laddr[11] == 0xff &&
					!memcmp(c->laddr + 12, laddr, 4));
			else
				fits = !memcmp(c->laddr, laddr, 16);
			if (fits)
				e = c;
		}
		bool ok = e != NULL;
		if (ok) {
			ev.flags |= DNSREEL_EV_PROC;
			ev.pid = e->pid;
			ev.tid = e->tid;
			ev.uid = e->uid;
			ev.gid = e->gid;
			ev.cgroup_id = e->cgroup_id;
			memcpy(ev.comm, e->comm, sizeof(ev.comm));
		}
	}
	r->n_events++;
	if (r->sink.on_event)
		return r->sink.on_event(r->sink.arg, &ev);
	return 0;
}

static void ring_proc(void *arg, const struct dnsreel_proc_rec *p)
{
	apply_proc(arg, p);
}

static int ring_pkt(void *arg, const struct dnsreel_pkt_rec *p, uint32_t len)
{
	return deliver_pkt(arg, p, len);
}

/* Process records are applied even when they sit behind packets still waiting: a packet then
 * finds the process that sent it although the tracepoint fired after it was copied. */
static int consume(struct dnsreel_recorder *r, int64_t cutoff)
{
	/* Without process hooks there are no process records: no first pass. */
	const struct dnsreel_ring_ops ops = {
	    .arg = r, .proc = r->has_proc ? ring_proc : NULL, .pkt = ring_pkt};
	return dnsreel_ring_consume(&r->ring.rg, cutoff, &ops);
}

int dnsreel_recorder__poll(struct dnsreel_recorder *r, int timeout_ms)
{
	int64_t now = boot_ns();
	int wait = timeout_ms;
	/* Never sleep long: producers mostly do not wake us (see wakeup_bytes). */
	if (wait < 0 || wait > 10)
		wait = 10;
	struct epoll_event evs[16];
	int n = epoll_wait(r->epfd, evs, 16, wait);
	if (n < 0 && errno != EINTR)
		return -errno;
	bool dirs_changed = false;
	for (int i = 0; i < n; i++) {
		if (evs[i].data.u32 >= EPOLL_IPT && evs[i].data.u32 < EPOLL_IPT + MAX_IPT_JOBS) {
			struct ipt_job *j = &r->ipt[evs[i].data.u32 - EPOLL_IPT];
			if (j->pid > 0)
				ipt_read(r, j);
		} else if (evs[i].data.u32 == 2) {
			char buf[4096];
			while (read(r->inofd, buf, sizeof(buf)) > 0)
				;
			dirs_changed = true;
		}
	}
	now = boot_ns();
	if (dirs_changed)
		r->fast_until = now + 500000000;
	if (now < r->fast_until)
		scan_dirs_attach(r);
	if (now >= r->next_scan) {
		scan_all(r);
		r->next_scan = now + r->o.scan_interval_ns;
	}
	if (now >= r->next_tick) {
		bool svc = now >= r->next_svc;
		watch_dirs(r);
		tick(r, svc);
		if (svc)
			r->next_svc = now + 10000000000ll;
		r->next_tick = now + 1000000000;
	}
	ipt_pump(r);
	return consume(r, boot_ns() - r->o.join_delay_ns);
}

int dnsreel_recorder__drain(struct dnsreel_recorder *r)
{
	/* What is in the ring now, not what keeps arriving: on a busy node a loop until empty
	 * would never end. A few passes get past records still being written. */
	int total = 0, k = 0;
	for (int pass = 0; pass < 4; pass++) {
		k = consume(r, INT64_MAX);
		if (k <= 0)
			break;
		total += k;
	}
	return k < 0 ? k : total;
}

bool dnsreel_recorder__ready(const struct dnsreel_recorder *r)
{
	return r->ready;
}

bool dnsreel_recorder__has_proc(const struct dnsreel_recorder *r)
{
	return r->has_proc;
}

static int read_counter(struct dnsreel_recorder *r, uint32_t idx, uint64_t *percpu)
{
	return bpf_map_lookup_elem(r->counters_fd, &idx, percpu);
}

void dnsreel_recorder__counters(struct dnsreel_recorder *r,
				void (*fn)(void *arg, const char *name, uint64_t value), void *arg)
{
	uint64_t *v = calloc((size_t)r->ncpus, sizeof(uint64_t));
	char name[64];
	static const struct {
		uint32_t idx;
		const char *name;
	} sums[] = {
	    {DNSREEL_CNT_PKT_MATCHED, "kernel.matched"},
	    {DNSREEL_CNT_MALFORMED, "kernel.malformed"},
	    {DNSREEL_CNT_SHORT, "kernel.short"},
	    {DNSREEL_CNT_FRAG_LATER, "kernel.frag_later"},
	    {DNSREEL_CNT_PROC_EMIT, "kernel.proc_records"},
	    {DNSREEL_CNT_IPV6_DEEP, "kernel.ipv6_deep"},
	};
	if (!v)
		return;
	if (!read_counter(r, DNSREEL_CNT_RB_LOST, v))
		for (int c = 0; c < r->ncpus; c++) {
			snprintf(name, sizeof(name), "lost.ringbuf.cpu%d", c);
			fn(arg, name, v[c]);
		}
	if (!read_counter(r, DNSREEL_CNT_PROC_LOST, v))
		for (int c = 0; c < r->ncpus; c++) {
			snprintf(name, sizeof(name), "lost.proc.cpu%d", c);
			fn(arg, name, v[c]);
		}
	for (size_t i = 0; i < sizeof(sums) / sizeof(sums[0]); i++) {
		if (read_counter(r, sums[i].idx, v))
			continue;
		uint64_t s = 0;
		for (int c = 0; c < r->ncpus; c++)
			s += v[c];
		fn(arg, sums[i].name, s);
	}
	free(v);
	fn(arg, "lost.user", r->n_lost_user + r->ring.rg.bad);
	fn(arg, "lost.unknown_netns", r->n_unknown_ns);
	fn(arg, "events.malformed", r->n_malformed);
	fn(arg, "events.length_mismatch", r->n_lenlie);
	fn(arg, "events.total", r->n_events);
	fn(arg, "netns.attach_failed", r->n_attach_fail);
	uint64_t att = 0;
	for (size_t i = 0; i < r->nns; i++)
		att += r->ns[i].state == NS_ATTACHED;
	fn(arg, "netns.attached", att);
}

uint64_t dnsreel_recorder__lost(struct dnsreel_recorder *r)
{
	uint64_t *v = calloc((size_t)r->ncpus, sizeof(uint64_t));
	uint64_t s = r->n_lost_user + r->ring.rg.bad + r->n_unknown_ns;
	if (!v)
		return s;
	if (!read_counter(r, DNSREEL_CNT_RB_LOST, v))
		for (int c = 0; c < r->ncpus; c++)
			s += v[c];
	if (!read_counter(r, DNSREEL_CNT_PROC_LOST, v))
		for (int c = 0; c < r->ncpus; c++)
			s += v[c];
	free(v);
	return s;
}

size_t dnsreel_recorder__nsstats(struct dnsreel_recorder *r, struct dnsreel_recorder_nsstat *out,
				 size_t max)
{
	size_t k = 0;
	for (size_t i = 0; i < r->nns && k < max; i++) {
		struct nsent *n = &r->ns[i];
		if (n->state != NS_ATTACHED && !n->events)
			continue;
		out[k].netns = n->ino;
		out[k].name = n->ctx.k8s_podname[0]		    ? n->ctx.k8s_podname
			      : n->ctx.name[0]			    ? n->ctx.name
			      : (n->ctx.flags & DNSREEL_NETNS_HOST) ? "(host)"
								    : "";
		out[k].events = n->events;
		out[k].attached = n->state == NS_ATTACHED;
		k++;
	}
	return k;
}

void dnsreel_recorder__free(struct dnsreel_recorder *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->nns; i++)
		ns_detach(r, &r->ns[i], false);
	free(r->ns);
	for (int i = 0; i < 2; i++)
		if (r->proc_links[i])
			bpf_link__destroy(r->proc_links[i]);
	if (r->proc_skel)
		dnsreel_proc__destroy(r->proc_skel);
	if (r->shared_pkt)
		dnsreel_pktdev__destroy(r->shared_pkt);
	ring_close(&r->ring);
	if (r->events_fd >= 0)
		close(r->events_fd);
	if (r->counters_fd >= 0)
		close(r->counters_fd);
	if (r->frags_fd >= 0)
		close(r->frags_fd);
	if (r->self_ns >= 0)
		close(r->self_ns);
	if (r->epfd >= 0)
		close(r->epfd);
	if (r->inofd >= 0)
		close(r->inofd);
	for (int i = 0; i < MAX_IPT_JOBS; i++) {
		if (r->ipt[i].pid > 0) {
			r->ipt[i].len = 0; /* do not parse a cut output */
			ipt_finish(r, &r->ipt[i]);
		}
		free(r->ipt[i].buf);
	}
	free(r->svcs);
	free(r->pt);
	free(r->pt_tag);
	free(r->pidset);
	free(r->pidc);
	free(r);
}
