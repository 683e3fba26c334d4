/* The tc hook: the programs of bpf/dnsreel_tc.bpf.c on every interface of a netns, ingress
 * and egress, kept in step with the interfaces through an rtnetlink socket per netns (link
 * group): an interface added while recording is attached when its RTM_NEWLINK arrives, which
 * is before it can be up and carry a packet.
 *
 * Two ways to attach the same programs. Classic tc (the default): a clsact qdisc and a
 * direct-action bpf filter per direction, through rtnetlink; about 0.1 ms a netns. tcx (Linux
 * 6.6+): a BPF link per direction, held by its fd, so that even a killed recorder leaves
 * nothing behind; but each link waits out an RCU grace period under the RTNL lock (6-25 ms,
 * one after another), seconds for a node's pods. Classic filters outlive a killed recorder:
 * the slot locks (struct tcslots) let the next one replace or remove them. On detach the
 * recorder removes its filters, and the clsact qdisc if it created it and nothing else is
 * left on it. */
#include <errno.h>
#include <fcntl.h>
#include <linux/if_ether.h>
#include <linux/netlink.h>
#include <linux/pkt_sched.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "dnsreel_tc.skel.h"
#include "recorder_int.h"

/* The attach types of tcx (kernel 6.6); older UAPI headers lack them. */
#define TCX_INGRESS_ 46
#define TCX_EGRESS_  47

/* Classic tc: the filters' priority (first among the classic filters, so that none before
 * them hides a packet) and handles, one per slot. */
#define TC_PRIO	       1
#define TC_HANDLE(slot) (0xd25e0000u + (uint32_t)(slot))
#define TC_LOCK_DIR    "/run/dnsreel"

static struct tclink *tcl_find(struct nsent *n, int ifindex)
{
	for (int i = 0; i < n->ntcl; i++)
		if (n->tcl[i].ifindex == ifindex)
			return &n->tcl[i];
	return NULL;
}

/* The filters on the clsact qdisc of ifindex, both directions, one dump each: how many (or a
 * negative errno), and in *slots bit k when slot k's handle is among them. */
static int tc_dump(int ifindex, uint32_t *slots)
{
	int nl = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	if (nl < 0)
		return -errno;
	int n = 0, err = 0;
	*slots = 0;
	uint32_t parents[2] = {TC_H_MAKE(TC_H_CLSACT, TC_H_MIN_INGRESS),
			       TC_H_MAKE(TC_H_CLSACT, TC_H_MIN_EGRESS)};
	for (int d = 0; d < 2 && !err; d++) {
		struct {
			struct nlmsghdr h;
			struct tcmsg t;
		} req = {.h = {.nlmsg_len = sizeof(req),
			       .nlmsg_type = RTM_GETTFILTER,
			       .nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP,
			       .nlmsg_seq = (uint32_t)d + 1},
			 .t = {.tcm_family = AF_UNSPEC, .tcm_ifindex = ifindex,
			       .tcm_parent = parents[d]}};
		if (send(nl, &req, sizeof(req), 0) < 0) {
			err = -errno;
			break;
		}
		char buf[8192] __attribute__((aligned(NLMSG_ALIGNTO)));
		for (bool done = false; !done && !err;) {
			ssize_t len = recv(nl, buf, sizeof(buf), 0);
			if (len <= 0) {
				err = len < 0 ? -errno : -EIO;
				break;
			}
			for (struct nlmsghdr *h = (struct nlmsghdr *)buf; NLMSG_OK(h, (size_t)len);
			     h = NLMSG_NEXT(h, len)) {
				if (h->nlmsg_type == NLMSG_DONE) {
					done = true;
				} else if (h->nlmsg_type == NLMSG_ERROR) {
					const struct nlmsgerr *e = NLMSG_DATA(h);
					err = h->nlmsg_len >= NLMSG_LENGTH(sizeof(*e)) && e->error
						  ? e->error
						  : -EIO;
					done = true;
				} else if (h->nlmsg_type == RTM_NEWTFILTER &&
					   h->nlmsg_len >= NLMSG_LENGTH(sizeof(struct tcmsg))) {
					const struct tcmsg *t = NLMSG_DATA(h);
					n++;
					uint32_t k = t->tcm_handle - TC_HANDLE(0);
					if (TC_H_MAJ(t->tcm_info) >> 16 == TC_PRIO &&
					    k < REC_TC_SLOTS)
						*slots |= 1u << k;
				}
			}
		}
	}
	close(nl);
	return err ? err : n;
}

/* Classic tc on ifindex of the current netns: the qdisc if there is none, then our filters,
 * replacing what a dead recorder left at our handle (a live one would hold the slot, whatever
 * lock folder it had) and removing what dead ones left at theirs. The qdisc is ours to
 * remove when we made it, or when a dead recorder's filters on it show that one of us did. */
static int tc_classic_attach(struct dnsreel_recorder *r, struct tclink *l)
{
	DECLARE_LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = l->ifindex,
			    .attach_point = BPF_TC_INGRESS | BPF_TC_EGRESS);
	int err = bpf_tc_hook_create(&hook);
	if (err && err != -EEXIST)
		return err;
	l->qdisc_ours = !err;
	const struct tcslots *sl = &r->tc_slots;
	uint32_t dead = 0;
	if (!l->qdisc_ours) { /* a new qdisc has no filters */
		uint32_t there = 0;
		if (tc_dump(l->ifindex, &there) > 0)
			dead = there & (sl->stale | 1u << sl->own);
		l->qdisc_ours = dead != 0;
	}
	int progs[2] = {bpf_program__fd(r->tc_skel->progs.dnsreel_tc_in),
			bpf_program__fd(r->tc_skel->progs.dnsreel_tc_eg)};
	enum bpf_tc_attach_point pts[2] = {BPF_TC_INGRESS, BPF_TC_EGRESS};
	for (int d = 0; d < 2; d++) {
		hook.attach_point = pts[d];
		for (int k = 0; k < REC_TC_SLOTS; k++) {
			if (k == sl->own || !(dead >> k & 1))
				continue;
			DECLARE_LIBBPF_OPTS(bpf_tc_opts, gone, .handle = TC_HANDLE(k),
					    .priority = TC_PRIO);
			bpf_tc_detach(&hook, &gone); /* ENOENT: only on the other direction */
		}
		DECLARE_LIBBPF_OPTS(bpf_tc_opts, opts, .prog_fd = progs[d],
				    .handle = TC_HANDLE(sl->own), .priority = TC_PRIO,
				    .flags = BPF_TC_F_REPLACE);
		err = bpf_tc_attach(&hook, &opts);
		if (err)
			return err;
	}
	return 0;
}

/* Whether anything is left on the clsact qdisc of ifindex (an error counts as something). */
static bool tc_has_filters(int ifindex)
{
	uint32_t slots;
	return tc_dump(ifindex, &slots) != 0;
}

static void tc_classic_detach(struct dnsreel_recorder *r, const struct tclink *l)
{
	DECLARE_LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = l->ifindex);
	enum bpf_tc_attach_point pts[2] = {BPF_TC_INGRESS, BPF_TC_EGRESS};
	for (int d = 0; d < 2; d++) {
		hook.attach_point = pts[d];
		DECLARE_LIBBPF_OPTS(bpf_tc_opts, opts, .handle = TC_HANDLE(r->tc_slots.own),
				    .priority = TC_PRIO);
		bpf_tc_detach(&hook, &opts); /* ENODEV, ENOENT: gone with the interface */
	}
	if (l->qdisc_ours && !tc_has_filters(l->ifindex)) {
		hook.attach_point = BPF_TC_INGRESS | BPF_TC_EGRESS;
		bpf_tc_hook_destroy(&hook);
	}
}

/* The tcx links of l, if any (closing detaches them). */
static void tcl_close_links(struct tclink *l)
{
	for (int d = 0; d < 2; d++)
		if (l->fd[d] >= 0)
			close(l->fd[d]);
	l->fd[0] = l->fd[1] = -1;
}

/* Takes the programs off l's interface (the current netns is l's). */
static void tcl_close(struct dnsreel_recorder *r, struct tclink *l)
{
	if (r->o.hook == DNSREEL_HOOK_TC)
		tc_classic_detach(r, l);
	tcl_close_links(l);
}

/* Attaches both programs to ifindex of the current netns (the caller did setns). */
static int tc_attach_if(struct dnsreel_recorder *r, struct nsent *n, int ifindex)
{
	if (tcl_find(n, ifindex))
		return 0;
	if (n->ntcl == n->cap_tcl) {
		int nc = n->cap_tcl ? n->cap_tcl * 2 : 8;
		struct tclink *p = realloc(n->tcl, (size_t)nc * sizeof(*p));
		if (!p)
			return -ENOMEM;
		n->tcl = p;
		n->cap_tcl = nc;
	}
	struct tclink *l = &n->tcl[n->ntcl];
	*l = (struct tclink){.ifindex = ifindex, .fd = {-1, -1}};
	int err = 0;
	if (r->o.hook == DNSREEL_HOOK_TCX) {
		l->fd[0] = bpf_link_create(bpf_program__fd(r->tc_skel->progs.dnsreel_tc_in),
					   ifindex, TCX_INGRESS_, NULL);
		l->fd[1] = bpf_link_create(bpf_program__fd(r->tc_skel->progs.dnsreel_tc_eg),
					   ifindex, TCX_EGRESS_, NULL);
		if (l->fd[0] < 0 || l->fd[1] < 0)
			err = l->fd[0] < 0 ? l->fd[0] : l->fd[1];
	} else {
		err = tc_classic_attach(r, l);
	}
	if (err) {
		tcl_close(r, l);
		/* Gone between the event and the attach: nothing to record there. */
		return err == -ENODEV ? 0 : err;
	}
	n->ntcl++;
	rec_log(r, 2, "netns %llu: tc on ifindex %d", (unsigned long long)n->ino, ifindex);
	return 0;
}

/* The interface is gone (RTM_DELLINK): its filters and qdisc went with it. */
static void tc_detach_if(struct nsent *n, int ifindex)
{
	struct tclink *l = tcl_find(n, ifindex);
	if (!l)
		return;
	tcl_close_links(l);
	*l = n->tcl[--n->ntcl];
}

/* Every interface of the current netns; with resync, links of interfaces no longer there go. */
static int tc_attach_all(struct dnsreel_recorder *r, struct nsent *n, bool resync)
{
	struct if_nameindex *ifs = if_nameindex();
	if (!ifs)
		return -errno;
	int err = 0;
	for (struct if_nameindex *i = ifs; i->if_index && !err; i++)
		err = tc_attach_if(r, n, (int)i->if_index);
	for (int k = 0; resync && k < n->ntcl;) {
		bool there = false;
		for (struct if_nameindex *i = ifs; i->if_index; i++)
			there |= (int)i->if_index == n->tcl[k].ifindex;
		if (there) {
			k++;
			continue;
		}
		tcl_close_links(&n->tcl[k]); /* gone with its interface: links only */
		n->tcl[k] = n->tcl[--n->ntcl];
	}
	if_freenameindex(ifs);
	return err;
}

/* Does this kernel have tcx? One link on our own loopback says, and goes at once. */
static int tcx_probe(struct dnsreel_tc *skel, char *errbuf, size_t errlen)
{
	int fd = bpf_link_create(bpf_program__fd(skel->progs.dnsreel_tc_in), 1, TCX_INGRESS_, NULL);
	if (fd < 0) {
		snprintf(errbuf, errlen, "the kernel cannot attach tcx programs (Linux 6.6+): %s",
			 strerror(-fd));
		return fd;
	}
	close(fd);
	return 0;
}

/* Can this kernel attach classic bpf filters (clsact, cls_bpf)? A two-instruction program
 * on our own loopback says, and goes at once with the qdisc if it made one. */
static int tc_classic_probe(int handle, char *errbuf, size_t errlen)
{
	const struct bpf_insn ret_next[] = {
	    {.code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = -1},
	    {.code = BPF_JMP | BPF_EXIT}};
	int prog = bpf_prog_load(BPF_PROG_TYPE_SCHED_CLS, "dnsreel_probe", "GPL", ret_next, 2,
				 NULL);
	if (prog < 0) {
		snprintf(errbuf, errlen, "the kernel refused a tc program: %s", strerror(-prog));
		return prog;
	}
	DECLARE_LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = 1, .attach_point = BPF_TC_INGRESS);
	int made = bpf_tc_hook_create(&hook);
	int err = made == -EEXIST ? 0 : made;
	if (!err) {
		DECLARE_LIBBPF_OPTS(bpf_tc_opts, opts, .prog_fd = prog, .handle = (uint32_t)handle,
				    .priority = TC_PRIO, .flags = BPF_TC_F_REPLACE);
		err = bpf_tc_attach(&hook, &opts);
		if (!err) {
			opts.prog_fd = opts.prog_id = 0;
			opts.flags = 0;
			bpf_tc_detach(&hook, &opts);
		}
	}
	if (!made && !tc_has_filters(1)) {
		hook.attach_point = BPF_TC_INGRESS | BPF_TC_EGRESS;
		bpf_tc_hook_destroy(&hook);
	}
	close(prog);
	if (err)
		snprintf(errbuf, errlen,
			 "the kernel cannot attach tc bpf filters (clsact, cls_bpf): %s",
			 strerror(-err));
	return err;
}

/* Locks slot k's file: 1 taken, 0 held by a live recorder, <0 error. *existed: the file was
 * there before (left by a recorder that did not end cleanly, when we could lock it). */
static int slot_lock(struct tcslots *sl, int k, bool *existed)
{
	char path[96];
	snprintf(path, sizeof(path), "%s/tc-slot-%d.lock", sl->dir, k);
	for (;;) {
		*existed = !access(path, F_OK);
		int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
		if (fd < 0)
			return -errno;
		if (flock(fd, LOCK_EX | LOCK_NB)) {
			int err = errno == EWOULDBLOCK ? 0 : -errno;
			close(fd);
			return err;
		}
		/* A recorder that ended cleanly unlinks its file: ours must still be the one at
		 * the path, else it is a file nobody else will ever lock. */
		struct stat a, b;
		if (!fstat(fd, &a) && !stat(path, &b) && a.st_ino == b.st_ino) {
			sl->fd[k] = fd;
			return 1;
		}
		close(fd);
	}
}

/* Classic tc: a slot of our own, and the stale ones to clean up after. */
static int tc_slot_take(struct tcslots *sl, char *errbuf, size_t errlen)
{
	snprintf(sl->dir, sizeof(sl->dir), "%s", TC_LOCK_DIR);
	if (mkdir(sl->dir, 0700) && errno != EEXIST) {
		int err = -errno;
		snprintf(errbuf, errlen,
			 "cannot create %s (the tc hook's slot locks): %s; mount a writable "
			 "folder there",
			 sl->dir, strerror(errno));
		return err;
	}
	sl->own = -1;
	sl->stale = 0;
	for (int k = 0; k < REC_TC_SLOTS; k++) {
		bool existed;
		int got = slot_lock(sl, k, &existed);
		if (got < 0) {
			snprintf(errbuf, errlen, "cannot lock %s/tc-slot-%d.lock: %s", sl->dir, k,
				 strerror(-got));
			return got;
		}
		if (!got)
			continue;
		if (sl->own < 0)
			sl->own = k; /* what a dead recorder left at this handle is replaced */
		else if (existed)
			sl->stale |= 1u << k;
		else {
			close(sl->fd[k]); /* never used: leave it free */
			sl->fd[k] = -1;
			char path[96];
			snprintf(path, sizeof(path), "%s/tc-slot-%d.lock", sl->dir, k);
			unlink(path);
		}
	}
	if (sl->own < 0) {
		snprintf(errbuf, errlen,
			 "%d recorders with the tc hook already run on this node (%s): stop one, "
			 "or use --hook tcx",
			 REC_TC_SLOTS, sl->dir);
		return -EBUSY;
	}
	return 0;
}

/* Ends with the recorder: the stale slots were cleaned where it attached, its own is free. */
static void tc_slot_release(struct tcslots *sl)
{
	for (int k = 0; k < REC_TC_SLOTS; k++) {
		if (sl->fd[k] < 0)
			continue;
		char path[96];
		snprintf(path, sizeof(path), "%s/tc-slot-%d.lock", sl->dir, k);
		unlink(path); /* before the unlock: who locks it next has a file of its own */
		close(sl->fd[k]);
		sl->fd[k] = -1;
	}
	sl->own = -1;
}

int rec_tc_open(struct dnsreel_recorder *r, char *errbuf, size_t errlen)
{
	struct dnsreel_tc *skel = dnsreel_tc__open();
	int err;
	if (!skel) {
		err = errno ? -errno : -ENOMEM;
		snprintf(errbuf, errlen, "cannot open the tc programs: %s", strerror(-err));
		return err;
	}
	skel->rodata->snaplen = r->o.snaplen;
	memcpy((void *)skel->rodata->port_bits, r->port_bits, sizeof(r->port_bits));
	err = bpf_map__reuse_fd(skel->maps.events, r->events_fd);
	if (!err)
		err = bpf_map__reuse_fd(skel->maps.counters, r->counters_fd);
	if (!err)
		err = bpf_map__reuse_fd(skel->maps.frags, r->frags_fd);
	if (!err)
		err = dnsreel_tc__load(skel);
	if (err) {
		snprintf(errbuf, errlen,
			 "the kernel refused the tc programs: %s (run with -v for the verifier "
			 "log)",
			 strerror(-err));
		dnsreel_tc__destroy(skel);
		return err;
	}
	if (r->o.hook == DNSREEL_HOOK_TCX) {
		err = tcx_probe(skel, errbuf, errlen);
	} else {
		err = tc_slot_take(&r->tc_slots, errbuf, errlen);
		if (!err)
			err = tc_classic_probe((int)TC_HANDLE(r->tc_slots.own), errbuf, errlen);
		if (err)
			tc_slot_release(&r->tc_slots);
	}
	if (err) {
		dnsreel_tc__destroy(skel);
		return err;
	}
	r->tc_skel = skel;
	return 0;
}

void rec_tc_close(struct dnsreel_recorder *r)
{
	tc_slot_release(&r->tc_slots);
	if (r->tc_skel)
		dnsreel_tc__destroy(r->tc_skel);
	r->tc_skel = NULL;
}

int rec_attach_tc(struct dnsreel_recorder *r, struct nsent *n)
{
	if (setns(n->nsfd, CLONE_NEWNET))
		return -errno;
	/* Listen first, then list: an interface added in between is in both, and attached
	 * once. */
	int err = 0;
	int nl = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, NETLINK_ROUTE);
	if (nl < 0)
		err = -errno;
	if (!err) {
		/* the address groups too: netns.c re-reads addresses when they change */
		struct sockaddr_nl sa = {.nl_family = AF_NETLINK,
					 .nl_groups =
					     RTMGRP_LINK | RTMGRP_IPV4_IFADDR | RTMGRP_IPV6_IFADDR};
		int big = 1 << 20;
		setsockopt(nl, SOL_SOCKET, SO_RCVBUF, &big, sizeof(big));
		if (bind(nl, (struct sockaddr *)&sa, sizeof(sa)))
			err = -errno;
	}
	if (!err)
		err = tc_attach_all(r, n, false);
	if (!err)
		rec_ns_read_addrs(n);
	if (setns(r->self_ns, CLONE_NEWNET))
		rec_log(r, 0, "cannot return to own netns: %s", strerror(errno));
	if (!err) {
		struct epoll_event ev = {
		    .events = EPOLLIN, .data.u64 = (uint64_t)REC_EPOLL_NL << 32 | (uint32_t)n->ino};
		if (epoll_ctl(r->epfd, EPOLL_CTL_ADD, nl, &ev))
			err = -errno;
	}
	if (err) {
		if (nl >= 0)
			close(nl);
		rec_tc_detach(r, n);
		return err;
	}
	n->nlfd = nl;
	return 0;
}

void rec_tc_detach(struct dnsreel_recorder *r, struct nsent *n)
{
	/* Classic filters are taken off inside their netns (alive while n->nsfd is open). */
	bool enter = r->o.hook == DNSREEL_HOOK_TC && n->ntcl && n->nsfd >= 0;
	if (enter && setns(n->nsfd, CLONE_NEWNET)) {
		rec_log(r, 0, "netns %llu: cannot enter it to take the tc filters off: %s",
			(unsigned long long)n->ino, strerror(errno));
		enter = false;
		n->ntcl = 0;
	}
	for (int i = 0; i < n->ntcl; i++)
		tcl_close(r, &n->tcl[i]);
	if (enter && setns(r->self_ns, CLONE_NEWNET))
		rec_log(r, 0, "cannot return to own netns: %s", strerror(errno));
	free(n->tcl);
	n->tcl = NULL;
	n->ntcl = n->cap_tcl = 0;
	if (n->nlfd >= 0)
		close(n->nlfd); /* leaves the epoll set with it */
	n->nlfd = -1;
}

void rec_tc_netlink(struct dnsreel_recorder *r, uint32_t ino)
{
	struct nsent *n = rec_ns_find(r, ino);
	if (!n || n->nlfd < 0 || n->nsfd < 0)
		return;
	char buf[16384] __attribute__((aligned(NLMSG_ALIGNTO)));
	bool entered = false, resync = false;
	for (;;) {
		ssize_t len = recv(n->nlfd, buf, sizeof(buf), 0);
		if (len < 0) {
			/* Events dropped (socket buffer overrun): list the interfaces again. */
			if (errno == ENOBUFS) {
				resync = true;
				n->addrs_due = true;
				continue;
			}
			break;
		}
		for (struct nlmsghdr *h = (struct nlmsghdr *)buf; NLMSG_OK(h, (size_t)len);
		     h = NLMSG_NEXT(h, len)) {
			if (h->nlmsg_type == RTM_NEWADDR || h->nlmsg_type == RTM_DELADDR) {
				rec_ns_addr_msg(n, h);
				continue;
			}
			if ((h->nlmsg_type != RTM_NEWLINK && h->nlmsg_type != RTM_DELLINK) ||
			    h->nlmsg_len < NLMSG_LENGTH(sizeof(struct ifinfomsg)))
				continue;
			const struct ifinfomsg *ifi = NLMSG_DATA(h);
			if (h->nlmsg_type == RTM_DELLINK) {
				tc_detach_if(n, ifi->ifi_index);
				continue;
			}
			if (tcl_find(n, ifi->ifi_index))
				continue;
			if (!entered && setns(n->nsfd, CLONE_NEWNET))
				return;
			entered = true;
			int err = tc_attach_if(r, n, ifi->ifi_index);
			if (err)
				rec_log(r, 0, "netns %llu: tc attach on ifindex %d: %s",
					(unsigned long long)n->ino, ifi->ifi_index, strerror(-err));
		}
	}
	if (resync) {
		if (!entered && setns(n->nsfd, CLONE_NEWNET))
			return;
		entered = true;
		int err = tc_attach_all(r, n, true);
		if (err)
			rec_log(r, 0, "netns %llu: tc attach: %s", (unsigned long long)n->ino,
				strerror(-err));
	}
	if (entered && setns(r->self_ns, CLONE_NEWNET))
		rec_log(r, 0, "cannot return to own netns: %s", strerror(errno));
}
