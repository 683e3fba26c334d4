/* Namespace discovery for the recorder: who refers to which netns (/proc/PID/ns/net, the
 * bind mounts of ip netns and the container runtimes, new ones through inotify), which of them
 * the options select, and attach/detach of the hook (socket filter or tc) in each. */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/inotify.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include "k8s.h"
#include "recorder_int.h"

/* Where ip netns and the container runtimes bind-mount namespaces, under the host root. */
static const char *const netns_dirs[REC_NETNS_DIRS] = {
    "/run/netns", "/var/run/netns", "/var/run/docker/netns", "/run/docker/netns"};

static size_t ns_slot(uint64_t ino, size_t mask)
{
	return (size_t)((ino * 0x9e3779b97f4a7c15ull) >> 32) & mask;
}

/* The inode table again for what ns holds now (after entries were added or forgotten); the
 * first entry of an inode wins, as in a scan. False without memory: then a scan. */
static bool ns_index(struct dnsreel_recorder *r)
{
	if (r->ns_indexed == r->nns && r->ns_tab)
		return true;
	size_t cap = 64;
	while (cap < 4 * r->nns)
		cap <<= 1;
	if (cap != r->ns_tabcap) {
		uint32_t *t = realloc(r->ns_tab, cap * sizeof(*t));
		if (!t)
			return false;
		r->ns_tab = t;
		r->ns_tabcap = cap;
	}
	memset(r->ns_tab, 0, cap * sizeof(uint32_t));
	for (size_t i = 0; i < r->nns; i++) {
		size_t j = ns_slot(r->ns[i].ino, cap - 1);
		while (r->ns_tab[j] && r->ns[r->ns_tab[j] - 1].ino != r->ns[i].ino)
			j = (j + 1) & (cap - 1);
		if (!r->ns_tab[j])
			r->ns_tab[j] = (uint32_t)i + 1;
	}
	r->ns_indexed = r->nns;
	return true;
}

struct nsent *rec_ns_find(struct dnsreel_recorder *r, uint64_t ino)
{
	if (r->last_ns < r->nns && r->ns[r->last_ns].ino == ino)
		return &r->ns[r->last_ns];
	if (r->nns > 8 && ns_index(r)) {
		size_t mask = r->ns_tabcap - 1;
		for (size_t j = ns_slot(ino, mask); r->ns_tab[j]; j = (j + 1) & mask)
			if (r->ns[r->ns_tab[j] - 1].ino == ino) {
				r->last_ns = r->ns_tab[j] - 1;
				return &r->ns[r->last_ns];
			}
		return NULL;
	}
	for (size_t i = 0; i < r->nns; i++)
		if (r->ns[i].ino == ino) {
			r->last_ns = i;
			return &r->ns[i];
		}
	return NULL;
}
uint64_t rec_ns_id(const struct nsent *n, int64_t ts)
{
	/* A packet the ring still held from the namespace that had the inode before. */
	if (n->gen && (!n->ctx.first_seen_ns || ts < n->ctx.first_seen_ns))
		return n->ino | (uint64_t)(n->gen - 1) << 32;
	return n->ctx.netns;
}

/* Is addr (version v) one of the netns's own addresses? Unknown addresses: trust. */
bool rec_ns_is_local(const struct nsent *n, uint8_t v, const uint8_t *addr)
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
void rec_ns_read_addrs(struct nsent *n)
{
	struct ifaddrs *ifa = NULL, *i;
	n->naddrs = 0;
	n->nodelocal = 0;
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
			if (i->ifa_name && !strcmp(i->ifa_name, "nodelocaldns"))
				n->nodelocal |= 1u << n->naddrs;
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
	/* the node's: the init netns, or the recorder's own (a DaemonSet runs on the host's
	 * network, and /proc/1 may be out of reach) */
	struct stat st;
	if (o->node_netns && ((n->ctx.flags & DNSREEL_NETNS_HOST) ||
			      (!fstat(r->self_ns, &st) && (uint64_t)st.st_ino == n->ino)))
		return true;
	if (!n->ctx.k8s_podname[0])
		return false;
	return csv_has(o->k8s_namespaces, n->ctx.k8s_namespace) &&
	       csv_has(o->k8s_podnames, n->ctx.k8s_podname) &&
	       csv_has(o->k8s_containers, n->ctx.k8s_containername);
}

static void put_ns(struct dnsreel_recorder *r, struct nsent *n)
{
	if (n->hold)
		return; /* written when its hold ends, if it is chosen */
	if (r->sink.on_netns)
		r->sink.on_netns(r->sink.arg, &n->ctx);
}

void rec_ns_name_from_proc(struct dnsreel_recorder *r, uint64_t ino, const char *uid,
			   const char *cid)
{
	struct nsent *n = rec_ns_find(r, ino);
	if (!n || n->state != NS_ATTACHED) {
		if (!uid[0])
			return;
		unsigned k = r->pend_next++ % (sizeof(r->pend_names) / sizeof(r->pend_names[0]));
		r->pend_names[k].ino = ino;
		rec_scopy(r->pend_names[k].uid, sizeof(r->pend_names[k].uid), uid);
		rec_scopy(r->pend_names[k].cid, sizeof(r->pend_names[k].cid), cid);
		return;
	}
	bool changed = false;
	/* Attached before its CNI gave it an address (the next tick may come after the pod is
	 * gone): a process using a socket there means the addresses are up by now. */
	if (!n->naddrs && n->nsfd >= 0 && !setns(n->nsfd, CLONE_NEWNET)) {
		rec_ns_read_addrs(n);
		if (setns(r->self_ns, CLONE_NEWNET))
			rec_log(r, 0, "cannot return to own netns: %s", strerror(errno));
		changed = n->naddrs > 0;
	}
	const char *pods = r->pod_logs, *containers = r->containers_logs;
	bool partial = !n->ctx.k8s_podname[0] || (cid[0] && !n->ctx.runtime_containerid[0]);
	if (partial && uid[0] &&
	    !dnsreel_k8s_lookup(pods, containers, r->docker_dir, uid, cid, &n->ctx)) {
		rec_log(r, 1, "netns %llu: pod %s/%s from process", (unsigned long long)n->ino,
			n->ctx.k8s_namespace, n->ctx.k8s_podname);
		changed = true;
	}
	if (changed)
		put_ns(r, n);
}
static void hold_end(struct dnsreel_recorder *r, struct nsent *n);
static void hold_free(struct dnsreel_recorder *r, struct nsent *n);

void rec_ns_detach(struct dnsreel_recorder *r, struct nsent *n, bool gone)
{
	if (n->hold && gone)
		hold_end(r, n); /* before its gone record: chosen or not by what is known now */
	if (n->hold)
		hold_free(r, n); /* the recorder ends: its sink may be gone */
	rec_tc_detach(r, n);
	rec_ipt_unwatch(n);
	if (n->sock >= 0)
		close(n->sock);
	if (n->nsfd >= 0)
		close(n->nsfd);
	n->sock = n->nsfd = -1;
	if (gone) {
		if (n->state == NS_ATTACHED) {
			n->ctx.flags |= DNSREEL_NETNS_GONE;
			put_ns(r, n);
			rec_log(r, 1, "netns %llu gone (%llu events)", (unsigned long long)n->ino,
				(unsigned long long)n->events);
		}
		n->state = NS_GONE;
	}
	rec_bpf_netns_on(r, n->ino, false);
}

/* Addresses of n read again if its rtnetlink socket said they changed (or there is none to
 * say so: then once a second). */
static void ns_addrs_update(struct dnsreel_recorder *r, struct nsent *n)
{
	if (!n->addrs_due || n->state != NS_ATTACHED || n->nsfd < 0)
		return;
	n->addrs_due = false;
	if (setns(n->nsfd, CLONE_NEWNET))
		return;
	char before[sizeof(n->ctx.ips)];
	memcpy(before, n->ctx.ips, sizeof(before));
	rec_ns_read_addrs(n);
	if (setns(r->self_ns, CLONE_NEWNET))
		rec_log(r, 0, "cannot return to own netns: %s", strerror(errno));
	if (!n->ctx.k8s_podname[0] && !n->hold)
		rec_nodelocal_services(r, n);
	if (memcmp(before, n->ctx.ips, sizeof(before)))
		put_ns(r, n);
}

void rec_ns_addr_msg(struct nsent *n, const struct nlmsghdr *h)
{
	/* IPv6 link-local addresses are not recorded (rec_ns_read_addrs): every interface gets
	 * one as it comes up and again once its duplicate address detection ends, so those
	 * messages would cost a setns into each new pod netns for nothing. */
	if (h->nlmsg_len >= NLMSG_LENGTH(sizeof(struct ifaddrmsg))) {
		const struct ifaddrmsg *ifa = NLMSG_DATA(h);
		int alen = (int)IFA_PAYLOAD(h);
		if (ifa->ifa_family == AF_INET6) {
			for (const struct rtattr *a = IFA_RTA(ifa); RTA_OK(a, alen);
			     a = RTA_NEXT(a, alen)) {
				const uint8_t *v = RTA_DATA(a);
				if (a->rta_type == IFA_ADDRESS && RTA_PAYLOAD(a) >= 16 &&
				    v[0] == 0xfe && (v[1] & 0xc0) == 0x80)
					return;
			}
		}
	}
	n->addrs_due = true;
}

int rec_ns_netlink_socket(struct dnsreel_recorder *r, struct nsent *n, int proto, uint32_t groups,
			  unsigned group, uint32_t tag)
{
	struct stat st;
	bool self = !fstat(r->self_ns, &st) && (uint64_t)st.st_ino == n->ino;
	if (!self && (n->nsfd < 0 || setns(n->nsfd, CLONE_NEWNET)))
		return -1;
	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, proto);
	struct sockaddr_nl sa = {.nl_family = AF_NETLINK, .nl_groups = groups};
	if (fd >= 0 && (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) ||
			(group && setsockopt(fd, SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, &group,
					     sizeof(group))))) {
		close(fd);
		fd = -1;
	}
	if (!self && setns(r->self_ns, CLONE_NEWNET))
		rec_log(r, 0, "cannot return to own netns: %s", strerror(errno));
	struct epoll_event ev = {.events = EPOLLIN,
				 .data.u64 = (uint64_t)tag << 32 | (uint32_t)n->ino};
	if (fd >= 0 && epoll_ctl(r->epfd, EPOLL_CTL_ADD, fd, &ev)) {
		close(fd);
		fd = -1;
	}
	return fd;
}

/* The packet hook has no rtnetlink socket in n (the tc hook's also has the address groups):
 * one of the address groups only, so addresses are read when they change, not polled. */
static void ns_watch_addrs(struct dnsreel_recorder *r, struct nsent *n)
{
	if (n->nlfd >= 0 || n->nsfd < 0)
		return;
	n->nlfd = rec_ns_netlink_socket(r, n, NETLINK_ROUTE,
					RTMGRP_IPV4_IFADDR | RTMGRP_IPV6_IFADDR, 0, REC_EPOLL_NL);
	n->addrs_due = true; /* a change between the attach's read and the bind */
}

void rec_ns_netlink(struct dnsreel_recorder *r, uint32_t ino)
{
	if (r->tc_skel) {
		rec_tc_netlink(r, ino);
	} else {
		struct nsent *n = rec_ns_find(r, ino);
		char buf[8192] __attribute__((aligned(NLMSG_ALIGNTO)));
		for (;;) {
			if (!n || n->nlfd < 0)
				return;
			ssize_t len = recv(n->nlfd, buf, sizeof(buf), 0);
			if (len < 0) {
				if (errno != ENOBUFS)
					break;
				n->addrs_due = true; /* messages dropped */
				continue;
			}
			for (struct nlmsghdr *h = (struct nlmsghdr *)buf; NLMSG_OK(h, (size_t)len);
			     h = NLMSG_NEXT(h, len))
				if (h->nlmsg_type == RTM_NEWADDR || h->nlmsg_type == RTM_DELADDR)
					rec_ns_addr_msg(n, h);
		}
	}
	struct nsent *n = rec_ns_find(r, ino);
	if (n)
		ns_addrs_update(r, n);
}

/* Under a pod selection, a namespace that appears while recording and has no pod name yet may
 * be a pod's whose sandbox is not there yet: held (not the node's, and once). */
static bool ns_may_be_chosen_later(struct dnsreel_recorder *r, const struct nsent *n)
{
	const struct dnsreel_recorder_opts *o = &r->o;
	bool by_k8s = (o->k8s_namespaces && o->k8s_namespaces[0]) ||
		      (o->k8s_podnames && o->k8s_podnames[0]) ||
		      (o->k8s_containers && o->k8s_containers[0]);
	if (!by_k8s || !r->ready || n->hold_done || n->ctx.k8s_podname[0] ||
	    (n->ctx.flags & DNSREEL_NETNS_HOST))
		return false;
	struct stat st;
	return fstat(r->self_ns, &st) || (uint64_t)st.st_ino != n->ino;
}

static void ns_try_attach(struct dnsreel_recorder *r, struct nsent *n)
{
	if (n->state == NS_ATTACHED)
		return;
	rec_ns_resolve_k8s(r, n);
	n->resolve_due = false;
	bool hold = false;
	if (!ns_wanted(r, n)) {
		if (!ns_may_be_chosen_later(r, n)) {
			n->state = NS_SKIPPED;
			return;
		}
		hold = true;
	}
	int fd = open(n->path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		rec_log(r, 2, "netns %llu: %s vanished before attach", (unsigned long long)n->ino,
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
	int err = r->tc_skel ? rec_attach_tc(r, n) : rec_attach_socket(r, n);
	if (err) {
		r->n_attach_fail++;
		if (++n->fails >= 3)
			n->state = NS_SKIPPED; /* retried by the once-a-second tick */
		rec_log(r, err == -ENOENT || err == -EINVAL || n->fails > 1 ? 2 : 0,
			"netns %llu (%s): attach: %s", (unsigned long long)n->ino, n->path,
			strerror(-err));
		close(fd);
		n->nsfd = -1;
		return;
	}
	n->state = NS_ATTACHED;
	n->hold_dropped = false;
	n->ctx.first_seen_ns = rec_boot_ns();
	ns_watch_addrs(r, n);
	if (hold) {
		n->hold = calloc(1, sizeof(*n->hold));
		n->hold_done = true;
		if (n->hold) {
			n->hold->until = n->ctx.first_seen_ns + REC_HOLD_NS;
			r->nheld++;
			rec_scan_soon(r); /* its sandbox names it: look for it */
		}
	}
	if (!n->ctx.k8s_podname[0] && !n->hold) /* the attach read its addresses */
		rec_nodelocal_services(r, n);
	for (size_t i = 0; i < sizeof(r->pend_names) / sizeof(r->pend_names[0]); i++) {
		if (r->pend_names[i].ino != n->ino || n->ctx.k8s_podname[0])
			continue;
		r->pend_names[i].ino = 0;
		dnsreel_k8s_lookup(r->pod_logs, r->containers_logs, r->docker_dir,
				   r->pend_names[i].uid, r->pend_names[i].cid, &n->ctx);
	}
	rec_bpf_netns_on(r, n->ino, true);
	if (n->hold) {
		rec_log(r, 2, "netns %llu %s: attached, held until its pod is named",
			(unsigned long long)n->ino, n->ctx.name);
		return;
	}
	rec_log(r, 1, "attached netns %llu %s%s%s", (unsigned long long)n->ino, n->ctx.name,
		n->ctx.k8s_podname[0] ? " pod " : "", n->ctx.k8s_podname);
	/* One that appears while recording is mostly a pod's, named a little after it is
	 * attached: its rules wait for the 10-s round (kube-proxy never writes them there), so a
	 * new pod forks no dump. */
	n->ipt_due = r->o.no_iptables || r->ready ? 0 : IPT_ALL;
	r->ipt_pending |= n->ipt_due != 0;
	put_ns(r, n);
}

/* Its processes or the pod folders changed (resolve_due): the pod of n looked up again, and a
 * skipped namespace attached if the selection chooses it now. */
static void ns_refresh_k8s(struct dnsreel_recorder *r, struct nsent *n)
{
	if (!n->resolve_due)
		return;
	if (n->state == NS_SKIPPED) {
		rec_ns_resolve_k8s(r, n);
		n->resolve_due = false;
		if (ns_wanted(r, n)) {
			n->state = NS_NEW;
			ns_try_attach(r, n);
		}
		return;
	}
	if (n->state != NS_ATTACHED)
		return;
	n->resolve_due = false;
	if (n->ctx.k8s_podname[0] && n->ctx.runtime_containerid[0])
		return;
	struct dnsreel_netns_ctx before = n->ctx;
	rec_ns_resolve_k8s(r, n);
	if (memcmp(&before, &n->ctx, sizeof(before)))
		put_ns(r, n);
}

/* Records that ino is referenced (by pid, or by a bind mount path with a name). */
static struct nsent *ns_note(struct dnsreel_recorder *r, uint64_t ino, const char *path,
			     const char *name, pid_t pid)
{
	struct nsent *n = rec_ns_find(r, ino);
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
		n->sock = n->nsfd = n->nlfd = n->nffd = -1;
		n->ctx.netns = ino;
		if (ino == r->host_ino)
			n->ctx.flags |= DNSREEL_NETNS_HOST;
	}
	if (n->state == NS_GONE) {
		/* Same inode again: the kernel reused it for a new namespace, which gets an id of
		 * its own so that the old one keeps its events and names. */
		n->state = NS_NEW;
		n->gen++;
		n->ctx.netns = ino | (uint64_t)n->gen << 32;
		n->ctx.first_seen_ns = 0;
		n->ctx.flags &= ~(uint32_t)DNSREEL_NETNS_GONE;
		memset(&n->ctx.k8s_namespace, 0,
		       sizeof(n->ctx) - offsetof(struct dnsreel_netns_ctx, k8s_namespace));
		n->npids = 0;
		n->path[0] = 0;
		n->path_named = false;
		n->fails = 0;
		n->events = 0;
		n->hold_done = false;
	}
	n->seen = true;
	if (name && name[0] && strcmp(n->ctx.name, name)) {
		rec_scopy(n->ctx.name, sizeof(n->ctx.name), name);
		n->resolve_due = true; /* a selection by name may choose it now */
		if (n->state == NS_ATTACHED)
			put_ns(r, n);
	}
	if (pid > 0 && n->npids < MAX_NS_PIDS)
		n->pids[n->npids++] = pid;
	/* A bind mount stays valid; a pid's path goes with the pid, so take the latest. */
	if (path && name) {
		rec_scopy(n->path, sizeof(n->path), path);
		n->path_named = true;
	} else if (path && !n->path_named) {
		rec_scopy(n->path, sizeof(n->path), path);
	}
	return n;
}

/* The bind-mount folders. Their entries change only with an inotify event (dirs_dirty), so a
 * scan without one marks what the last listing found (dir_seen) instead of a stat and statfs
 * per entry; a full scan (every tenth) lists them anyway (a bind mount unmounted in place
 * sends no event). A listing that met files not mounted yet (`ip netns add` creates the file,
 * then mounts it) lists again at the next poll. */
static void scan_dirs(struct dnsreel_recorder *r, bool full)
{
	if (!full && !r->dirs_dirty && !r->dirs_unmounted) {
		for (size_t i = 0; i < r->nns; i++)
			if (r->ns[i].dir_seen)
				r->ns[i].seen = true;
		return;
	}
	r->dirs_dirty = false;
	r->dirs_unmounted = 0;
	for (size_t i = 0; i < r->nns; i++)
		r->ns[i].dir_seen = false;
	for (size_t d = 0; d < REC_NETNS_DIRS; d++) {
		char dir[1200];
		snprintf(dir, sizeof(dir), "%s%s", r->root, netns_dirs[d]);
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
			if (stat(p, &st) || statfs(p, &sf) || sf.f_type != NSFS_MAGIC_) {
				r->dirs_unmounted++;
				continue;
			}
			struct nsent *n = ns_note(r, (uint64_t)st.st_ino, p, de->d_name, 0);
			if (n)
				n->dir_seen = true;
		}
		closedir(dp);
	}
}

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
		/* rec_ns_find looks at last_ns first: with hundreds of pod netns, one process
		 * each, a walk of the table per pid would be most of a scan */
		if (hit && c->idx < r->nns)
			r->last_ns = c->idx;
		struct nsent *n = ns_note(r, ino, p, NULL, pid);
		if (n)
			c->idx = (uint32_t)(n - r->ns);
	}
	closedir(dp);
}

void rec_watch_dirs(struct dnsreel_recorder *r)
{
	for (int i = 0; i < REC_NETNS_DIRS; i++) {
		if (r->watch_wd[i] >= 0)
			continue;
		char dir[1200];
		snprintf(dir, sizeof(dir), "%s%s", r->root, netns_dirs[i]);
		r->watch_wd[i] = inotify_add_watch(
		    r->inofd, dir, IN_CREATE | IN_DELETE | IN_MOVED_TO | IN_MOVED_FROM | IN_ATTRIB);
		if (r->watch_wd[i] >= 0)
			r->dirs_dirty = true; /* what it got before the watch */
	}
	/* A pod's folder (kubelet) and its containers' logs: names for namespaces not named yet,
	 * instead of looking for them every second. */
	const char *logs[2] = {r->pod_logs, r->containers_logs};
	for (int i = 0; i < 2; i++)
		if (r->logs_wd[i] < 0)
			r->logs_wd[i] =
			    inotify_add_watch(r->inofd, logs[i], IN_CREATE | IN_MOVED_TO);
}

/* Full scan: who refers to which netns; attach new ones, detach unreferenced ones. */
void rec_scan_all(struct dnsreel_recorder *r)
{
	for (size_t i = 0; i < r->nns; i++) {
		r->ns[i].seen = false;
		r->ns[i].npids = 0;
	}
	scan_proc(r);
	scan_dirs(r, r->scan_count % 10 == 1); /* with scan_proc's full scans */
	for (size_t i = 0; i < r->nns; i++) {
		struct nsent *n = &r->ns[i];
		if (!n->seen) {
			if (n->state != NS_GONE)
				rec_ns_detach(r, n, true);
			continue;
		}
		uint32_t sig = 2166136261u;
		for (int k = 0; k < n->npids; k++)
			sig = (sig ^ (uint32_t)n->pids[k]) * 16777619u;
		if (sig != n->pid_sig) {
			n->pid_sig = sig;
			n->resolve_due = true;
		}
		if (n->state == NS_NEW)
			ns_try_attach(r, n);
		else
			ns_refresh_k8s(r, n);
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
	r->ns_indexed = SIZE_MAX; /* entries moved */
}

/* Cheap partial scan after inotify: only the bind-mount folders. */
void rec_scan_dirs_attach(struct dnsreel_recorder *r)
{
	if (!r->dirs_dirty && !r->dirs_unmounted)
		return; /* nothing new since the last listing */
	scan_dirs(r, false);
	for (size_t i = 0; i < r->nns; i++)
		if (r->ns[i].state == NS_NEW)
			ns_try_attach(r, &r->ns[i]);
}

/* Once a second: what has no event to say it changed. Namespaces whose pod or addresses
 * changed (resolve_due, addrs_due), attaches that failed (retried), addresses where no
 * rtnetlink socket watches them; with services (every 10 s) also kube-proxy's rules and, as a
 * safety net, the pod of every namespace not named yet. */
void rec_tick(struct dnsreel_recorder *r, bool services)
{
	for (size_t i = 0; i < r->nns; i++) {
		struct nsent *n = &r->ns[i];
		if (n->state == NS_SKIPPED && n->fails >= 3)
			n->resolve_due = true;
		if (services && !n->ctx.k8s_podname[0] && !(n->ctx.flags & DNSREEL_NETNS_HOST))
			n->resolve_due = true;
		ns_refresh_k8s(r, n);
		if (n->state != NS_ATTACHED || n->nsfd < 0)
			continue;
		if (n->nlfd < 0)
			n->addrs_due = true;
		ns_addrs_update(r, n);
		if (!r->o.no_iptables && !n->hold && rec_ipt_tick_due(r, n, services))
			n->ipt_due = IPT_ALL;
		r->ipt_pending |= n->ipt_due != 0;
	}
}

void rec_scan_soon(struct dnsreel_recorder *r)
{
	int64_t now = rec_boot_ns();
	r->busy_until = now + 20 * r->o.scan_interval_ns;
	if (r->next_scan > now + r->o.scan_interval_ns)
		r->next_scan = now + r->o.scan_interval_ns;
}

bool rec_inotify_read(struct dnsreel_recorder *r)
{
	char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
	bool dirs = false, logs = false;
	for (;;) {
		ssize_t len = read(r->inofd, buf, sizeof(buf));
		if (len <= 0)
			break;
		for (ssize_t off = 0; off + (ssize_t)sizeof(struct inotify_event) <= len;) {
			const struct inotify_event *e = (const struct inotify_event *)(buf + off);
			off += (ssize_t)(sizeof(*e) + e->len);
			if (e->mask & IN_Q_OVERFLOW) {
				dirs = logs = true;
				continue;
			}
			bool is_log = e->wd == r->logs_wd[0] || e->wd == r->logs_wd[1];
			if (e->mask & IN_IGNORED) { /* folder removed: watched again once back */
				for (int k = 0; k < REC_NETNS_DIRS; k++)
					if (r->watch_wd[k] == e->wd)
						r->watch_wd[k] = -1;
				for (int k = 0; k < 2; k++)
					if (r->logs_wd[k] == e->wd)
						r->logs_wd[k] = -1;
				continue;
			}
			if (is_log)
				logs = true;
			else
				dirs = r->dirs_dirty = true;
		}
	}
	/* A pod folder (or container log) appeared: the namespaces not named yet may be its. */
	for (size_t i = 0; logs && i < r->nns; i++) {
		struct nsent *n = &r->ns[i];
		if ((!n->ctx.k8s_podname[0] || !n->ctx.runtime_containerid[0]) &&
		    !(n->ctx.flags & DNSREEL_NETNS_HOST))
			n->resolve_due = true;
	}
	if (logs)
		rec_scan_soon(r);
	return dirs;
}

static void hold_free(struct dnsreel_recorder *r, struct nsent *n)
{
	struct nshold *h = n->hold;
	if (!h)
		return;
	r->held_bytes -= h->cap;
	r->nheld--;
	free(h->buf);
	free(h);
	n->hold = NULL;
}

/* The hold of n ends: its pod is named (or it is gone, or its time is up), and the selection
 * says whether what it held is delivered or dropped (then it is detached). */
static void hold_end(struct dnsreel_recorder *r, struct nsent *n)
{
	struct nshold *h = n->hold;
	n->hold = NULL;
	bool keep = n->state == NS_ATTACHED && ns_wanted(r, n);
	if (keep) {
		rec_log(r, 1, "attached netns %llu %s%s%s (%llu events held until named)",
			(unsigned long long)n->ino, n->ctx.name,
			n->ctx.k8s_podname[0] ? " pod " : "", n->ctx.k8s_podname,
			(unsigned long long)h->nev);
		put_ns(r, n);
		for (int i = 0; i < h->nprocs && r->sink.on_proc; i++)
			r->sink.on_proc(r->sink.arg, &h->procs[i]);
		for (size_t off = 0; off < h->len;) {
			struct dnsreel_event *e = (struct dnsreel_event *)(h->buf + off);
			e->payload = (const uint8_t *)(e + 1);
			off += (sizeof(*e) + e->cap_len + 7) & ~(size_t)7;
			r->n_events++;
			/* a write error stays in the sink, which reports it */
			if (r->sink.on_event)
				(void)r->sink.on_event(r->sink.arg, e);
		}
	} else {
		rec_log(r, 2, "netns %llu %s%s: not chosen, %llu held events dropped",
			(unsigned long long)n->ino, n->ctx.k8s_podname[0] ? "pod " : "",
			n->ctx.k8s_podname, (unsigned long long)h->nev);
		r->n_held_unselected += h->nev;
		n->events = 0;
		n->hold_dropped = true;
		if (n->state == NS_ATTACHED) {
			rec_ns_detach(r, n, false);
			n->state = NS_SKIPPED;
		}
	}
	n->hold = h;
	hold_free(r, n);
}

int rec_hold_event(struct dnsreel_recorder *r, struct nsent *n, const struct dnsreel_event *ev)
{
	struct nshold *h = n->hold;
	if (!h) { /* dropped: it was seen while attached for its hold */
		r->n_held_unselected++;
		n->events--; /* counted by the drain, but not recorded */
		return 0;
	}
	size_t need = (sizeof(*ev) + ev->cap_len + 7) & ~(size_t)7;
	if (h->len + need > h->cap) {
		size_t nc = h->cap ? h->cap : 16384;
		while (nc < h->len + need)
			nc *= 2;
		uint8_t *p = NULL;
		if (nc <= REC_HOLD_BYTES && r->held_bytes - h->cap + nc <= REC_HOLD_TOTAL)
			p = realloc(h->buf, nc);
		if (!p) {
			r->n_held_lost++;
			return 0;
		}
		r->held_bytes += nc - h->cap;
		h->buf = p;
		h->cap = nc;
	}
	struct dnsreel_event *e = (struct dnsreel_event *)(h->buf + h->len);
	*e = *ev;
	e->payload = NULL;
	if (ev->cap_len)
		memcpy(e + 1, ev->payload, ev->cap_len);
	h->len += need;
	h->nev++;
	return 0;
}

void rec_hold_proc(struct dnsreel_recorder *r, struct nsent *n, const struct dnsreel_proc_ctx *pc)
{
	(void)r;
	if (n->hold->nprocs < REC_HOLD_PROCS)
		n->hold->procs[n->hold->nprocs++] = *pc;
}

void rec_hold_check(struct dnsreel_recorder *r, bool final)
{
	if (!r->nheld)
		return;
	int64_t now = rec_boot_ns();
	const char *c = r->o.k8s_containers;
	for (size_t i = 0; i < r->nns && r->nheld; i++) {
		struct nsent *n = &r->ns[i];
		if (!n->hold)
			continue;
		/* with -c, the pod's sandbox may name it before its container is there */
		bool named = n->ctx.k8s_podname[0] && (!c || !c[0] || n->ctx.k8s_containername[0]);
		if (final || named || now >= n->hold->until)
			hold_end(r, n);
	}
}
