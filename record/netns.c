/* Namespace discovery for the recorder: who refers to which netns (/proc/PID/ns/net, the
 * bind mounts of ip netns and the container runtimes, new ones through inotify), which of them
 * the options select, and attach/detach of the hook (socket filter or tc) in each. */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include "k8s.h"
#include "recorder_int.h"

/* Where ip netns and the container runtimes bind-mount namespaces, under the host root. */
static const char *const netns_dirs[REC_NETNS_DIRS] = {
    "/run/netns", "/var/run/netns", "/var/run/docker/netns", "/run/docker/netns"};

struct nsent *rec_ns_find(struct dnsreel_recorder *r, uint64_t ino)
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
void rec_ns_detach(struct dnsreel_recorder *r, struct nsent *n, bool gone)
{
	rec_tc_detach(n);
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

static void ns_try_attach(struct dnsreel_recorder *r, struct nsent *n)
{
	if (n->state == NS_ATTACHED)
		return;
	rec_ns_resolve_k8s(r, n);
	if (!ns_wanted(r, n)) {
		n->state = NS_SKIPPED;
		return;
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
	n->ctx.first_seen_ns = rec_boot_ns();
	if (!n->ctx.k8s_podname[0]) /* the attach read its addresses */
		rec_nodelocal_services(r, n);
	for (size_t i = 0; i < sizeof(r->pend_names) / sizeof(r->pend_names[0]); i++) {
		if (r->pend_names[i].ino != n->ino || n->ctx.k8s_podname[0])
			continue;
		r->pend_names[i].ino = 0;
		dnsreel_k8s_lookup(r->pod_logs, r->containers_logs, r->docker_dir,
				   r->pend_names[i].uid, r->pend_names[i].cid, &n->ctx);
	}
	rec_bpf_netns_on(r, n->ino, true);
	rec_log(r, 1, "attached netns %llu %s%s%s", (unsigned long long)n->ino, n->ctx.name,
		n->ctx.k8s_podname[0] ? " pod " : "", n->ctx.k8s_podname);
	n->ipt_due = r->o.no_iptables ? 0 : IPT_ALL;
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
		n->sock = n->nsfd = n->nlfd = -1;
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
	}
	n->seen = true;
	if (name && name[0] && strcmp(n->ctx.name, name)) {
		rec_scopy(n->ctx.name, sizeof(n->ctx.name), name);
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

static void scan_dirs(struct dnsreel_recorder *r)
{
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
			if (stat(p, &st) || statfs(p, &sf) || sf.f_type != NSFS_MAGIC_)
				continue;
			ns_note(r, (uint64_t)st.st_ino, p, de->d_name, 0);
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
		ns_note(r, ino, p, NULL, pid);
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
	}
}

/* Full scan: who refers to which netns; attach new ones, detach unreferenced ones. */
void rec_scan_all(struct dnsreel_recorder *r)
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
				rec_ns_detach(r, n, true);
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
void rec_scan_dirs_attach(struct dnsreel_recorder *r)
{
	scan_dirs(r);
	for (size_t i = 0; i < r->nns; i++)
		if (r->ns[i].state == NS_NEW)
			ns_try_attach(r, &r->ns[i]);
}

/* Once a second: addresses, pod context of attached netns, retry skipped ones. */
void rec_tick(struct dnsreel_recorder *r, bool services)
{
	for (size_t i = 0; i < r->nns; i++) {
		struct nsent *n = &r->ns[i];
		if (n->state == NS_SKIPPED) {
			rec_ns_resolve_k8s(r, n);
			if (ns_wanted(r, n)) {
				n->state = NS_NEW;
				ns_try_attach(r, n);
			}
			continue;
		}
		if (n->state != NS_ATTACHED || n->nsfd < 0)
			continue;
		struct dnsreel_netns_ctx before = n->ctx;
		if (!n->ctx.k8s_podname[0] || !n->ctx.runtime_containerid[0])
			rec_ns_resolve_k8s(r, n);
		if (!setns(n->nsfd, CLONE_NEWNET)) {
			rec_ns_read_addrs(n);
			if (setns(r->self_ns, CLONE_NEWNET))
				rec_log(r, 0, "cannot return to own netns: %s", strerror(errno));
			if (!n->ctx.k8s_podname[0])
				rec_nodelocal_services(r, n);
		}
		if (memcmp(&before, &n->ctx, sizeof(before)))
			put_ns(r, n);
		if (services && !r->o.no_iptables)
			n->ipt_due = IPT_ALL;
	}
}
