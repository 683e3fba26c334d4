/* The tc hook: the tcx programs (bpf/dnsreel_tc.bpf.c) on every interface of a netns, ingress
 * and egress, kept in step with the interfaces through an rtnetlink socket per netns (link
 * group): an interface added while recording is attached when its RTM_NEWLINK arrives, which
 * is before it can be up and carry a packet. Each attachment is a BPF link held by its fd:
 * closing it detaches, and nothing else (no qdisc, no pinned object) is left behind. */
#include <errno.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "dnsreel_tc.skel.h"
#include "recorder_int.h"

/* The attach types of tcx (kernel 6.6); older UAPI headers lack them. */
#define TCX_INGRESS_ 46
#define TCX_EGRESS_  47

static struct tclink *tcl_find(struct nsent *n, int ifindex)
{
	for (int i = 0; i < n->ntcl; i++)
		if (n->tcl[i].ifindex == ifindex)
			return &n->tcl[i];
	return NULL;
}

static void tcl_close(struct tclink *l)
{
	for (int d = 0; d < 2; d++)
		if (l->fd[d] >= 0)
			close(l->fd[d]);
	l->fd[0] = l->fd[1] = -1;
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
	l->ifindex = ifindex;
	l->fd[0] = bpf_link_create(bpf_program__fd(r->tc_skel->progs.dnsreel_tc_in), ifindex,
				   TCX_INGRESS_, NULL);
	l->fd[1] = bpf_link_create(bpf_program__fd(r->tc_skel->progs.dnsreel_tc_eg), ifindex,
				   TCX_EGRESS_, NULL);
	if (l->fd[0] < 0 || l->fd[1] < 0) {
		int err = l->fd[0] < 0 ? l->fd[0] : l->fd[1];
		tcl_close(l);
		/* Gone between the event and the attach: nothing to record there. */
		return err == -ENODEV ? 0 : err;
	}
	n->ntcl++;
	rec_log(r, 2, "netns %llu: tc on ifindex %d", (unsigned long long)n->ino, ifindex);
	return 0;
}

static void tc_detach_if(struct nsent *n, int ifindex)
{
	struct tclink *l = tcl_find(n, ifindex);
	if (!l)
		return;
	tcl_close(l);
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
		tcl_close(&n->tcl[k]);
		n->tcl[k] = n->tcl[--n->ntcl];
	}
	if_freenameindex(ifs);
	return err;
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
	/* Does this kernel have tcx? One link on our own loopback says, and goes at once. */
	int fd = bpf_link_create(bpf_program__fd(skel->progs.dnsreel_tc_in), 1, TCX_INGRESS_, NULL);
	if (fd < 0) {
		err = fd;
		snprintf(errbuf, errlen, "the kernel cannot attach tcx programs (Linux 6.6+): %s",
			 strerror(-err));
		dnsreel_tc__destroy(skel);
		return err;
	}
	close(fd);
	r->tc_skel = skel;
	return 0;
}

void rec_tc_close(struct dnsreel_recorder *r)
{
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
		rec_tc_detach(n);
		return err;
	}
	n->nlfd = nl;
	return 0;
}

void rec_tc_detach(struct nsent *n)
{
	for (int i = 0; i < n->ntcl; i++)
		tcl_close(&n->tcl[i]);
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
