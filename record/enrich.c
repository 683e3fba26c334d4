/* Context for the recorder's events: the socket -> process table fed by the process hooks
 * and its join to packets, process details from /proc, pod and container names for a netns
 * (k8s.c parses), and service VIPs from kube-proxy's rules (iptables-save, or libnftables). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netlink.h>
#include <nftables/libnftables.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include "k8s.h"
#include "recorder_int.h"

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

/* The cgroup v2 mount: at the host root's /sys/fs/cgroup (unified layout) or
 * /sys/fs/cgroup/unified (hybrid), else wherever this mount namespace has one. -2: none. */
int rec_cgroup2_open(struct dnsreel_recorder *r)
{
	char path[1200];
	const char *const where[2] = {"/sys/fs/cgroup", "/sys/fs/cgroup/unified"};
	for (int i = 0; i < 3; i++) {
		if (i < 2) {
			snprintf(path, sizeof(path), "%s%s", r->root, where[i]);
		} else {
			FILE *f = fopen("/proc/self/mounts", "re");
			char line[1024], dir[512], type[32];
			path[0] = 0;
			while (f && fgets(line, sizeof(line), f))
				if (sscanf(line, "%*s %511s %31s", dir, type) == 2 &&
				    !strcmp(type, "cgroup2")) {
					rec_scopy(path, sizeof(path), dir);
					break;
				}
			if (f)
				fclose(f);
			if (!path[0])
				break;
		}
		struct statfs sf;
		int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (fd >= 0 && !fstatfs(fd, &sf) &&
		    sf.f_type == 0x63677270) /* CGROUP2_SUPER_MAGIC */
			return fd;
		if (fd >= 0)
			close(fd);
	}
	return -2;
}

/* The /proc/PID/cgroup text of a process, or, when the process is gone already (a client
 * that exited before its record was read), "0::PATH" of the cgroup v2 directory its record
 * names by id (the kernfs id bpf_get_current_cgroup_id() gives is the directory's file
 * handle), as long as the runtime has not removed it: a pod is still named from it. */
static ssize_t proc_cgroup(struct dnsreel_recorder *r, uint32_t pid, uint64_t cgroup_id, char *buf,
			   size_t len)
{
	char path[1200];
	snprintf(path, sizeof(path), "%s/proc/%u/cgroup", r->root, pid);
	ssize_t n = read_file(path, buf, len);
	if (n > 0 || !cgroup_id)
		return n;
	if (r->cg_mntfd == -1)
		r->cg_mntfd = rec_cgroup2_open(r);
	if (r->cg_mntfd < 0)
		return -ENOENT;
	_Alignas(struct file_handle) unsigned char hb[sizeof(struct file_handle) + 8];
	struct file_handle *fh = (struct file_handle *)hb;
	fh->handle_bytes = 8;
	fh->handle_type = 0xfe; /* FILEID_KERNFS */
	memcpy(fh->f_handle, &cgroup_id, 8);
	int fd = open_by_handle_at(r->cg_mntfd, fh, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	char link[64], dir[1024];
	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	ssize_t l = readlink(link, dir, sizeof(dir) - 1);
	close(fd);
	if (l <= 0)
		return -ENOENT;
	dir[l] = 0;
	int w = snprintf(buf, len, "0::%s\n", dir);
	return w > 0 && (size_t)w < len ? w : -ENAMETOOLONG;
}

static void emit_proc_ctx(struct dnsreel_recorder *r, const struct pentry *e)
{
	if (!r->sink.on_proc || !pidset_add(r, e->pid))
		return;
	struct dnsreel_proc_ctx pc;
	memset(&pc, 0, sizeof(pc));
	pc.pid = e->pid;
	const struct nsent *ns = rec_ns_find(r, e->netns);
	pc.netns = ns ? rec_ns_id(ns, e->ts) : e->netns;
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
		rec_scopy(pc.cmdline, sizeof(pc.cmdline), buf);
	}
	if (proc_cgroup(r, e->pid, e->cgroup_id, buf, sizeof(buf)) > 0)
		dnsreel_cgroup_parse(buf, pc.k8s_pod_uid, sizeof(pc.k8s_pod_uid),
				     pc.runtime_containerid, sizeof(pc.runtime_containerid),
				     pc.cgroup, sizeof(pc.cgroup));
	rec_ns_name_from_proc(r, e->netns, pc.k8s_pod_uid, pc.runtime_containerid);
	struct nsent *hn = rec_ns_find(r, e->netns);
	if (hn && hn->hold)
		rec_hold_proc(r, hn, &pc); /* written with the netns, if it is chosen */
	else if (hn && hn->hold_dropped)
		return; /* a process of a namespace not chosen */
	else
		r->sink.on_proc(r->sink.arg, &pc);
}

void rec_apply_proc(struct dnsreel_recorder *r, const struct dnsreel_proc_rec *p)
{
	/* A namespace not known yet (no bind mount; its process was faster than the scan): look
	 * for it now rather than at the next idle scan. */
	const struct nsent *pn = rec_ns_find(r, p->netns);
	if (!pn || pn->state == NS_GONE || pn->state == NS_NEW)
		rec_scan_soon(r);
	struct pentry *e = pt_put(r, p->netns, p->proto, p->lport, p->laddr);
	rec_log(r, 3, "proc rec netns %llu proto %u lport %u rport %u pid %u comm %.16s",
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
static bool addr_is_zero(const uint8_t a[16])
{
	static const uint8_t z[16];
	return !memcmp(a, z, 16);
}
/* A local socket sent the packet (OUTGOING, local = source) or will read it (local =
 * destination). Forwarded packets have neither side local. */
void rec_join(struct dnsreel_recorder *r, struct nsent *n, struct dnsreel_event *ev)
{
	if (ev->pkt_type != DNSREEL_PKT_OUTGOING && ev->pkt_type != DNSREEL_PKT_HOST &&
	    ev->pkt_type != DNSREEL_PKT_BROADCAST && ev->pkt_type != DNSREEL_PKT_MULTICAST)
		return;
	bool out = ev->pkt_type == DNSREEL_PKT_OUTGOING;
	const uint8_t *laddr = out ? ev->src_addr : ev->dst_addr;
	uint16_t lport = out ? ev->src_port : ev->dst_port;
	/* The most recently reported socket on that port whose address fits. */
	struct pentry *e = NULL;
	uint32_t h = pt_hash(ev->netns, ev->proto, lport);
	uint32_t tag = pt_tagof(h);
	for (uint32_t i = 0; lport && i < PT_WAYS; i++) {
		uint32_t slot = (h + i) & (PT_SIZE - 1);
		if (r->pt_tag[slot] != tag)
			continue; /* another key (or empty): its entry can not match */
		struct pentry *c = &r->pt[slot];
		if (!c->used || c->netns != ev->netns || c->proto != ev->proto ||
		    c->lport != lport || (e && c->ts <= e->ts))
			continue;
		bool fits;
		if (addr_is_zero(c->laddr))
			fits = rec_ns_is_local(n, ev->ip_version, laddr);
		else if (ev->ip_version == 4)
			fits = !memcmp(c->laddr, laddr, 4) ||
			       (c->laddr[10] == 0xff && c->laddr[11] == 0xff &&
				!memcmp(c->laddr + 12, laddr, 4));
		else
			fits = !memcmp(c->laddr, laddr, 16);
		if (fits)
			e = c;
	}
	if (e) {
		ev->flags |= DNSREEL_EV_PROC;
		ev->pid = e->pid;
		ev->tid = e->tid;
		ev->uid = e->uid;
		ev->gid = e->gid;
		ev->cgroup_id = e->cgroup_id;
		memcpy(ev->comm, e->comm, sizeof(ev->comm));
		/* The process record may have come before the netns was known (its socket opened
		 * as the namespace appeared): its first packet names it then, once per process. */
		bool partial = !n->ctx.k8s_podname[0] || !n->ctx.runtime_containerid[0];
		if (partial && !(n->ctx.flags & DNSREEL_NETNS_HOST) && n->name_pid != e->pid) {
			n->name_pid = e->pid;
			char path[1200], buf[4096], uid[40], cid[80], cg[8];
			snprintf(path, sizeof(path), "%s/proc/%u/cgroup", r->root, e->pid);
			if (read_file(path, buf, sizeof(buf)) > 0) {
				dnsreel_cgroup_parse(buf, uid, sizeof(uid), cid, sizeof(cid), cg,
						     sizeof(cg));
				rec_ns_name_from_proc(r, n->ino, uid, cid);
			}
		}
	}
}

/* Pod and container context from the processes found in the netns. */
void rec_ns_resolve_k8s(struct dnsreel_recorder *r, struct nsent *n)
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
			rec_scopy(uid, sizeof(uid), u);
		if (c[0] && !first_cid[0])
			rec_scopy(first_cid, sizeof(first_cid), c);
		if (c[0] && u[0] && !cid[0]) {
			/* Prefer the container whose name the kubelet logs know (not the pause
			 * sandbox). */
			struct dnsreel_netns_ctx tmp;
			memset(&tmp, 0, sizeof(tmp));
			dnsreel_k8s_lookup(r->pod_logs, r->containers_logs, NULL, u, c, &tmp);
			if (tmp.k8s_containername[0])
				rec_scopy(cid, sizeof(cid), c);
		}
	}
	if (!cid[0])
		rec_scopy(cid, sizeof(cid), first_cid);
	if (uid[0] || cid[0])
		dnsreel_k8s_lookup(r->pod_logs, r->containers_logs, r->docker_dir, uid, cid,
				   &n->ctx);
	if (uid[0] && !n->ctx.k8s_pod_uid[0])
		rec_scopy(n->ctx.k8s_pod_uid, sizeof(n->ctx.k8s_pod_uid), uid);
}

static void svc_emit(void *arg, const struct dnsreel_service_ctx *s)
{
	struct dnsreel_recorder *r = arg;
	for (size_t i = 0; i < r->nsvcs; i++)
		if (!memcmp(&r->svcs[i], s, sizeof(*s)))
			return;
	if (r->nsvcs == r->cap_svcs) {
		size_t nc = r->cap_svcs ? r->cap_svcs * 2 : 16;
		struct dnsreel_service_ctx *p = realloc(r->svcs, nc * sizeof(*p));
		if (!p)
			return;
		r->svcs = p;
		r->cap_svcs = nc;
	}
	r->svcs[r->nsvcs++] = *s;
	rec_log(r, 1, "service %s/%s port %u", s->k8s_namespace, s->name, s->port);
	if (r->sink.on_service)
		r->sink.on_service(r->sink.arg, s);
}

/* NodeLocal DNSCache (the node-local-dns DaemonSet, host network) listens on a link-local
 * address (169.254.20.10 by default) of its own "nodelocaldns" link, beside the kube-dns VIP it
 * also binds there; the VIP keeps its kube-proxy name, the link-local address gets the cache's. */
void rec_nodelocal_services(struct dnsreel_recorder *r, const struct nsent *n)
{
	for (int i = 0; i < n->naddrs; i++) {
		const uint8_t *a = n->addrs[i];
		if (!(n->nodelocal & (1u << i)) || n->addr_v[i] != 4 || a[0] != 169 || a[1] != 254)
			continue;
		struct dnsreel_service_ctx s;
		memset(&s, 0, sizeof(s));
		s.ip_version = 4;
		s.port = 53;
		memcpy(s.addr, a, 4);
		snprintf(s.k8s_namespace, sizeof(s.k8s_namespace), "kube-system");
		snprintf(s.name, sizeof(s.name), "node-local-dns");
		svc_emit(r, &s);
	}
}

/* kube-proxy's nftables mode keeps its service VIPs in the maps of `table ip kube-proxy` and
 * `table ip6 kube-proxy`: listed through libnftables (no nft binary on the node is needed) as
 * JSON on stdout, which is the job's pipe. A table that is absent is no error. */
static void nft_dump(void)
{
	struct nft_ctx *nft = nft_ctx_new(NFT_CTX_DEFAULT);
	if (!nft)
		_exit(127);
	/* A FILE of its own: stdout's buffer may hold the parent's unwritten bytes. */
	FILE *out = fdopen(1, "w");
	if (!out)
		_exit(127);
	nft_ctx_set_output(nft, out);
	nft_ctx_output_set_flags(nft, NFT_CTX_OUTPUT_JSON | NFT_CTX_OUTPUT_NUMERIC_PROTO);
	nft_ctx_buffer_error(nft);
	static const char *const maps[] = {"service-ips", "service-nodeports",
					   "no-endpoint-services"};
	for (int fam = 0; fam < 2; fam++)
		for (size_t m = 0; m < sizeof(maps) / sizeof(maps[0]); m++) {
			char cmd[96];
			snprintf(cmd, sizeof(cmd), "list map %s kube-proxy %s", fam ? "ip6" : "ip",
				 maps[m]);
			if (!nft_run_cmd_from_buffer(nft, cmd))
				fputc('\n', out);
		}
	fflush(out);
	nft_ctx_free(nft);
	_exit(0);
}

/* kube-proxy's rules: iptables-save / ip6tables-save -t nat, or the nftables maps, dumped inside
 * the netns (the child does setns).
 * Asynchronous: a dump can take tens of milliseconds and the consumer loop must not stall, so
 * its output is read from the epoll loop and parsed at EOF. */
static void ipt_start(struct dnsreel_recorder *r, struct nsent *n, uint8_t kind)
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
		if (kind == IPT_NFT)
			nft_dump();
		const char *cmd = kind == IPT_V6 ? "ip6tables-save" : "iptables-save";
		execlp(cmd, cmd, "-t", "nat", (char *)NULL);
		_exit(127);
	}
	close(pfd[1]);
	struct ipt_job *j = &r->ipt[slot];
	j->pid = pid;
	j->fd = pfd[0];
	j->len = 0;
	j->kind = kind;
	struct epoll_event ev = {.events = EPOLLIN, .data.u32 = EPOLL_IPT + (uint32_t)slot};
	if (epoll_ctl(r->epfd, EPOLL_CTL_ADD, j->fd, &ev))
		rec_ipt_finish(r, j); /* unwatchable: drop this dump, the next round retries */
}

/* kube-proxy (and every other service proxy) runs in the node's netns, never in a pod's: a pod
 * netns is not dumped, so a node with hundreds of pods forks no iptables-save for them. The
 * recorder's own netns is always dumped, even when a host-network pod's process names it. */
static bool ipt_wanted(const struct dnsreel_recorder *r, const struct nsent *n)
{
	if (!n->ctx.k8s_podname[0])
		return true;
	struct stat st;
	return !fstat(r->self_ns, &st) && (uint64_t)st.st_ino == n->ino;
}

bool rec_ipt_nft_variant(void)
{
	/* Debian's iptables-save is a link to xtables-nft-multi or xtables-legacy-multi (the
	 * alternatives); found as execlp would find it. */
	const char *path = getenv("PATH");
	char dir[PATH_MAX], real[PATH_MAX];
	if (!path || !path[0])
		path = "/usr/local/bin:/usr/bin:/bin";
	while (*path) {
		size_t l = strcspn(path, ":");
		if (l && l < sizeof(dir) - 16) {
			snprintf(dir, sizeof(dir), "%.*s/iptables-save", (int)l, path);
			if (!access(dir, X_OK) && realpath(dir, real)) {
				const char *b = strrchr(real, '/');
				return strstr(b ? b + 1 : real, "nft") != NULL;
			}
		}
		path += l;
		if (*path == ':')
			path++;
	}
	return true; /* no iptables-save: only the nftables dumps, which notify */
}

/* A netfilter socket in n's netns on the nf_tables group: every rule, set or map change
 * there (kube-proxy's nftables mode, and iptables-nft) is reported, so the rules are dumped
 * once per change instead of every 10 s. */
static void ipt_watch(struct dnsreel_recorder *r, struct nsent *n)
{
	n->nf_tried = true;
	n->nffd = rec_ns_netlink_socket(r, n, NETLINK_NETFILTER, 0, NFNLGRP_NFTABLES, REC_EPOLL_NF);
	if (n->nffd >= 0)
		rec_log(r, 2, "netns %llu: service rules dumped when nf_tables reports a change",
			(unsigned long long)n->ino);
}

void rec_ipt_unwatch(struct nsent *n)
{
	if (n->nffd >= 0)
		close(n->nffd); /* leaves the epoll set with it */
	n->nffd = -1;
	n->nf_tried = n->ipt_changed = false;
}

static bool ipt_notified(const struct dnsreel_recorder *r, const struct nsent *n)
{
	return n->nffd >= 0 && r->ipt_nft;
}

bool rec_ipt_tick_due(struct dnsreel_recorder *r, struct nsent *n, bool services)
{
	if (!ipt_notified(r, n))
		return services;
	int64_t now = rec_boot_ns();
	if (n->ipt_changed && now - n->ipt_last >= REC_IPT_MIN_NS) {
		n->ipt_changed = false;
		return true;
	}
	/* a safety net only: a notification lost without ENOBUFS */
	return services && now - n->ipt_last >= REC_IPT_SAFETY_NS;
}

void rec_ipt_notify(struct dnsreel_recorder *r, uint32_t ino)
{
	struct nsent *n = rec_ns_find(r, ino);
	char buf[8192] __attribute__((aligned(NLMSG_ALIGNTO)));
	bool changed = false;
	while (n && n->nffd >= 0) {
		ssize_t len = recv(n->nffd, buf, sizeof(buf), 0);
		if (len > 0 || (len < 0 && errno == ENOBUFS)) {
			changed = true; /* any message is a change; ENOBUFS: some were dropped */
			continue;
		}
		if (len < 0 && errno == EINTR)
			continue;
		if (len == 0 || errno != EAGAIN) {
			rec_ipt_unwatch(n); /* every 10 s again */
			n->nf_tried = true;
		}
		break;
	}
	if (!changed || !n || n->state != NS_ATTACHED || n->hold || r->o.no_iptables)
		return;
	if (rec_boot_ns() - n->ipt_last >= REC_IPT_MIN_NS) {
		n->ipt_due = IPT_ALL;
		r->ipt_pending = true;
	} else {
		n->ipt_changed = true; /* a dump ran just now: the next tick */
	}
}

/* Starts due scans while job slots are free. */
void rec_ipt_pump(struct dnsreel_recorder *r)
{
	if (!r->ipt_pending)
		return; /* the poll loop calls this every time: no walk over every netns */
	bool left = false;
	for (size_t i = 0; i < r->nns; i++) {
		struct nsent *n = &r->ns[i];
		if (!n->ipt_due)
			continue;
		if (n->state != NS_ATTACHED || !ipt_wanted(r, n)) {
			n->ipt_due = 0;
			continue;
		}
		int busy = 0;
		for (int k = 0; k < MAX_IPT_JOBS; k++)
			busy += r->ipt[k].pid > 0;
		if (busy == MAX_IPT_JOBS)
			return; /* still pending */
		uint8_t kind = IPT_NFT;
		if (n->ipt_due & IPT_V4)
			kind = IPT_V4;
		else if (n->ipt_due & IPT_V6)
			kind = IPT_V6;
		n->ipt_due &= (uint8_t)~kind;
		if (!n->nf_tried)
			ipt_watch(r, n); /* before the dump: no change falls between */
		n->ipt_last = rec_boot_ns();
		ipt_start(r, n, kind);
		left |= n->ipt_due != 0; /* one kind per netns and call */
	}
	r->ipt_pending = left;
}

void rec_ipt_finish(struct dnsreel_recorder *r, struct ipt_job *j)
{
	/* a failed DEL leaves nothing behind: closing the fd removes it from the set anyway */
	(void)epoll_ctl(r->epfd, EPOLL_CTL_DEL, j->fd, NULL);
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
		if (j->kind == IPT_NFT)
			dnsreel_nft_json_parse(j->buf, j->len, svc_emit, r);
		else
			dnsreel_iptables_parse(j->buf, svc_emit, r);
	}
	j->len = 0;
}

void rec_ipt_read(struct dnsreel_recorder *r, struct ipt_job *j)
{
	for (;;) {
		if (j->len + 4096 + 1 > j->cap) {
			size_t nc = j->cap ? j->cap * 2 : 65536;
			char *nb = nc <= (64u << 20) ? realloc(j->buf, nc) : NULL;
			if (!nb) {
				rec_ipt_finish(r, j);
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
		rec_ipt_finish(r, j); /* EOF or error */
		return;
	}
}
