/* BPF for the recorder: the shared maps, the hook (the tc programs, tcattach.c, or the socket
 * filter: one shared program, or one instance per netns where the kernel cannot tell a
 * packet's netns), the process hooks, a filtered AF_PACKET socket per netns, and libbpf's
 * messages routed to the recorder's log. */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "dnsreel_pkt.skel.h"
#include "dnsreel_pktdev.skel.h"
#include "dnsreel_proc.skel.h"
#include "dnsreel_tc.skel.h"
#include "recorder_int.h"

/* libbpf's print hook is process-wide and passes no user pointer, so the recorder whose
 * setup or attach runs on this thread is remembered here for its messages. Set while a
 * recorder exists, cleared when it is freed. */
static _Thread_local struct dnsreel_recorder *libbpf_log_to;

/* libbpf warns about refusals the recorder expects and falls back from (the shared program
 * on older kernels, raw tracepoints), and prints the verifier log as a warning: shown with
 * -v, so a normal run says only what the recorder itself concludes. */
static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	struct dnsreel_recorder *r = libbpf_log_to;
	int lv = level == LIBBPF_WARN ? 1 : level == LIBBPF_INFO ? 2 : 3;
	if (!r || !r->o.log || lv > r->o.log_level)
		return 0;
	va_list aq;
	va_copy(aq, ap);
	int n = vsnprintf(NULL, 0, fmt, aq);
	va_end(aq);
	if (n < 0)
		return 0;
	/* The verifier log comes as one message of any size. */
	char *msg = malloc((size_t)n + 1);
	if (!msg)
		return 0;
	vsnprintf(msg, (size_t)n + 1, fmt, ap);
	while (n > 0 && msg[n - 1] == '\n')
		msg[--n] = 0;
	r->o.log(r->o.log_arg, lv, msg);
	free(msg);
	return n;
}

/* Every program shares the one ring buffer and counter map (and the fragment map). */
static int reuse_maps(const struct dnsreel_recorder *r, struct bpf_map *events,
		      struct bpf_map *counters, struct bpf_map *frags)
{
	int err = bpf_map__reuse_fd(events, r->events_fd);
	if (!err)
		err = bpf_map__reuse_fd(counters, r->counters_fd);
	if (!err && frags)
		err = bpf_map__reuse_fd(frags, r->frags_fd);
	return err;
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
	memcpy((void *)skel->rodata->port_bits, r->port_bits, sizeof(r->port_bits));
	if ((*err = reuse_maps(r, skel->maps.events, skel->maps.counters, skel->maps.frags)) ||
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
	memcpy((void *)skel->rodata->port_bits, r->port_bits, sizeof(r->port_bits));
	if ((*err = reuse_maps(r, skel->maps.events, skel->maps.counters, skel->maps.frags)) ||
	    (*err = dnsreel_pktdev__load(skel))) {
		dnsreel_pktdev__destroy(skel);
		return NULL;
	}
	return skel;
}

int rec_attach_socket(struct dnsreel_recorder *r, struct nsent *n)
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
		rec_ns_read_addrs(n);
	if (setns(r->self_ns, CLONE_NEWNET))
		rec_log(r, 0, "cannot return to own netns: %s", strerror(errno));
	dnsreel_pkt__destroy(skel); /* NULL ok; the socket holds the program */
	if (err) {
		if (s >= 0)
			close(s);
		return err;
	}
	n->sock = s;
	return 0;
}

void rec_bpf_netns_on(struct dnsreel_recorder *r, uint64_t ino, bool on)
{
	if (!r->proc_skel || !r->filtering)
		return;
	int fd = bpf_map__fd(r->proc_skel->maps.netns_on);
	if (on) {
		__u8 one = 1;
		bpf_map_update_elem(fd, &ino, &one, BPF_ANY);
	} else {
		bpf_map_delete_elem(fd, &ino);
	}
}

static void load_proc(struct dnsreel_recorder *r)
{
	struct stat st;
	if (stat("/sys/kernel/btf/vmlinux", &st)) {
		rec_log(r, 0,
			"warning: no kernel BTF (/sys/kernel/btf/vmlinux): recording without "
			"process context");
		return;
	}
	if (stat("/sys/kernel/tracing/events/sock", &st) &&
	    stat("/sys/kernel/debug/tracing/events/sock", &st)) {
		if (mount("nodev", "/sys/kernel/tracing", "tracefs", 0, NULL) && errno != EBUSY)
			rec_log(r, 1, "mount tracefs: %s", strerror(errno));
	}
	struct dnsreel_proc *p = NULL;
	int err = 0;
	struct bpf_link *l1 = NULL, *l2 = NULL;
	/* Sends only unless asked: servers answer on the socket they received on and clients
	 * send before they receive, so a send record (within the join delay) names the process
	 * of the packets a socket receives too, while a receive hook runs on every recvmsg,
	 * mostly polls that find nothing.
	 * BTF tracepoints read the socket with plain loads, raw ones build no trace record; the
	 * classic ones are the last fallback. DNSREEL_PROC_HOOK=raw|tp starts lower (the
	 * benchmark compares them). */
	static const char *const names[3][2] = {{"dnsreel_send_tp", "dnsreel_recv_tp"},
						{"dnsreel_send_raw", "dnsreel_recv_raw"},
						{"dnsreel_send_btf", "dnsreel_recv_btf"}};
	const char *want = getenv("DNSREEL_PROC_HOOK");
	int top = want && !strcmp(want, "tp") ? 0 : want && !strcmp(want, "raw") ? 1 : 2;
	for (int mode = top; mode >= 0; mode--) {
		p = dnsreel_proc__open();
		if (!p) {
			err = -errno;
			break;
		}
		memcpy((void *)p->rodata->port_bits, r->port_bits, sizeof(r->port_bits));
		p->rodata->filter_netns = r->filtering;
		struct bpf_program *prog[2] = {NULL, NULL}, *q;
		bpf_object__for_each_program(q, p->obj)
		{
			const char *nm = bpf_program__name(q);
			bool on = !strcmp(nm, names[mode][0]) ||
				  (r->o.proc_recv && !strcmp(nm, names[mode][1]));
			bpf_program__set_autoload(q, on);
			if (on)
				prog[!strcmp(nm, names[mode][1])] = q;
		}
		if ((err = reuse_maps(r, p->maps.events, p->maps.counters, NULL)) ||
		    (err = dnsreel_proc__load(p))) {
			dnsreel_proc__destroy(p);
			p = NULL;
			continue;
		}
		l1 = bpf_program__attach(prog[0]);
		l2 = prog[1] ? bpf_program__attach(prog[1]) : NULL;
		if (l1 || l2 || !mode) {
			rec_log(r, 2, "process hooks: %s%s%s", names[mode][0], prog[1] ? ", " : "",
				prog[1] ? names[mode][1] : "");
			break;
		}
		dnsreel_proc__destroy(p);
		p = NULL;
	}
	if (!p) {
		rec_log(r, 0,
			"warning: process hooks did not load (%s): recording without process "
			"context",
			strerror(err ? -err : EINVAL));
		return;
	}
	if (!l1 || (r->o.proc_recv && !l2)) {
		bool one = l1 || l2;
		rec_log(r, 0, "warning: tracepoint%s %s missing%s: %s process context",
			r->o.proc_recv ? "s" : "",
			r->o.proc_recv ? "sock:sock_send_length/sock_recv_length"
				       : "sock:sock_send_length",
			one ? " (one of them)" : "", one ? "partial" : "no");
	}
	r->proc_links[0] = l1;
	r->proc_links[1] = l2;
	r->proc_skel = p;
	r->has_proc = l1 || l2;
}

int rec_bpf_open(struct dnsreel_recorder *r, char *errbuf, size_t errlen)
{
	int err;
	libbpf_log_to = r;
	libbpf_set_print(libbpf_print);
	r->ncpus = libbpf_num_possible_cpus();
	if (r->ncpus <= 0)
		r->ncpus = 1;
	r->events_fd = bpf_map_create(BPF_MAP_TYPE_RINGBUF, "dnsreel_events", 0, 0,
				      (uint32_t)r->o.ringbuf_bytes, NULL);
	if (r->events_fd < 0) {
		err = -errno;
		snprintf(errbuf, errlen, "cannot create the BPF ring buffer (%llu bytes): %s",
			 (unsigned long long)r->o.ringbuf_bytes, strerror(errno));
		return err;
	}
	r->counters_fd =
	    bpf_map_create(BPF_MAP_TYPE_PERCPU_ARRAY, "dnsreel_cnt", 4, 8, DNSREEL_CNT_MAX, NULL);
	r->frags_fd = bpf_map_create(BPF_MAP_TYPE_LRU_HASH, "dnsreel_frags", 40, 1, 4096, NULL);
	if (r->counters_fd < 0 || r->frags_fd < 0) {
		err = -errno;
		snprintf(errbuf, errlen, "cannot create BPF maps: %s", strerror(errno));
		return err;
	}
	err = rec_ring_open(&r->ring, r->events_fd, r->o.ringbuf_bytes);
	if (err) {
		snprintf(errbuf, errlen, "cannot map the ring buffer: %s", strerror(-err));
		return err;
	}
	/* The tc hook where asked for (or the default) and the kernel attaches it; the default
	 * falls back to the packet hook. */
	bool fallback = r->o.hook == DNSREEL_HOOK_DEFAULT;
	if (fallback)
		r->o.hook = DNSREEL_REC_DEFAULT_HOOK;
	if (r->o.hook == DNSREEL_HOOK_TC || r->o.hook == DNSREEL_HOOK_TCX) {
		char why[256];
		err = rec_tc_open(r, why, sizeof(why));
		if (!err)
			goto proc;
		if (!fallback) {
			snprintf(errbuf, errlen, "--hook %s: %s; use --hook packet",
				 r->o.hook == DNSREEL_HOOK_TCX ? "tcx" : "tc", why);
			return err;
		}
		rec_log(r, 1, "tc hook unavailable (%s): packet hook", why);
	}
	r->o.hook = DNSREEL_HOOK_PACKET;
	/* One shared program when the kernel lets it read the packet's netns; else check the
	 * per-netns program loads: a clear early error. */
	if (!getenv("DNSREEL_PER_NETNS_PROG"))
		r->shared_pkt = pktdev_open_load(r, &err);
	if (!r->shared_pkt) {
		struct dnsreel_pkt *t = pkt_open_load(r, 0, &err);
		if (!t) {
			snprintf(errbuf, errlen,
				 "the kernel refused the socket filter program: %s (run with -v "
				 "for libbpf's messages and the verifier log)",
				 strerror(-err));
			return err;
		}
		dnsreel_pkt__destroy(t);
		rec_log(r, 1, "one socket filter program per netns (no bpf_cast_to_kern_ctx)");
	}
proc:
	/* Run-time statistics stay on while this fd is open (system-wide: --stats only). */
	if (r->o.stats && (r->bpf_stats_fd = bpf_enable_stats(BPF_STATS_RUN_TIME)) < 0)
		rec_log(r, 0, "warning: no BPF run-time statistics: %s",
			strerror(-r->bpf_stats_fd));
	if (!r->o.no_proc)
		load_proc(r);
	return 0;
}

int rec_bpf_counter(struct dnsreel_recorder *r, uint32_t idx, uint64_t *percpu)
{
	return bpf_map_lookup_elem(r->counters_fd, &idx, percpu) ? -errno : 0;
}

void rec_bpf_close(struct dnsreel_recorder *r)
{
	for (int i = 0; i < 2; i++)
		if (r->proc_links[i])
			bpf_link__destroy(r->proc_links[i]);
	if (r->proc_skel)
		dnsreel_proc__destroy(r->proc_skel);
	if (r->shared_pkt)
		dnsreel_pktdev__destroy(r->shared_pkt);
	rec_tc_close(r);
	rec_ring_close(&r->ring);
	if (r->events_fd >= 0)
		close(r->events_fd);
	if (r->counters_fd >= 0)
		close(r->counters_fd);
	if (r->frags_fd >= 0)
		close(r->frags_fd);
	if (r->bpf_stats_fd >= 0)
		close(r->bpf_stats_fd);
	if (libbpf_log_to == r)
		libbpf_log_to = NULL;
}

static void prog_stats(const struct bpf_program *p, void (*fn)(void *, const char *, uint64_t),
		       void *arg)
{
	struct bpf_prog_info info;
	__u32 len = sizeof(info);
	char name[96];
	if (!p || bpf_program__fd(p) < 0)
		return;
	memset(&info, 0, sizeof(info));
	if (bpf_obj_get_info_by_fd(bpf_program__fd(p), &info, &len))
		return;
	snprintf(name, sizeof(name), "bpf.%s.run_cnt", bpf_program__name(p));
	fn(arg, name, info.run_cnt);
	snprintf(name, sizeof(name), "bpf.%s.run_ns", bpf_program__name(p));
	fn(arg, name, info.run_time_ns);
}

void dnsreel_recorder__stats(struct dnsreel_recorder *r,
			     void (*fn)(void *arg, const char *name, uint64_t value), void *arg)
{
	fn(arg, "time.consume_ns", r->ns_consume);
	fn(arg, "time.join_ns", r->ns_join);
	fn(arg, "time.sink_ns", r->ns_sink);
	fn(arg, "ring.wakeups", r->n_wakeups);
	fn(arg, "polls", r->n_polls);
	fn(arg, "polls.asleep", r->n_sleeps);
	/* Per-netns socket filter instances are not kept (their sockets hold them): only the
	 * shared program reports. */
	if (r->shared_pkt)
		prog_stats(r->shared_pkt->progs.dnsreel_pkt, fn, arg);
	if (r->tc_skel) {
		prog_stats(r->tc_skel->progs.dnsreel_tc_in, fn, arg);
		prog_stats(r->tc_skel->progs.dnsreel_tc_eg, fn, arg);
	}
	if (r->proc_skel && r->has_proc) {
		struct bpf_program *p;
		bpf_object__for_each_program(p, r->proc_skel->obj)
		{
			if (bpf_program__autoload(p))
				prog_stats(p, fn, arg);
		}
	}
}
