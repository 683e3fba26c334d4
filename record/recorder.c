/* The recorder handle: setup from the options, the poll loop that drives discovery, context
 * and the ring drain, counters and teardown. See recorder.h; the parts are listed in
 * recorder_int.h. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include "parse.h"
#include "recorder_int.h"

void rec_log(struct dnsreel_recorder *r, int level, const char *fmt, ...)
{
	if (!r->o.log || level > r->o.log_level)
		return;
	char buf[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	r->o.log(r->o.log_arg, level, buf);
}

/* Host root without a trailing slash ("" for /), and the context folders beneath it. */
static void set_paths(struct dnsreel_recorder *r, const struct dnsreel_recorder_opts *o)
{
	const char *root = o->host_root && o->host_root[0] ? o->host_root : "";
	if (!strcmp(root, "/"))
		root = "";
	rec_scopy(r->root, sizeof(r->root), root);
	size_t rl = strlen(r->root);
	while (rl && r->root[rl - 1] == '/')
		r->root[--rl] = 0;
	if (o->pod_logs && o->pod_logs[0])
		rec_scopy(r->pod_logs, sizeof(r->pod_logs), o->pod_logs);
	else
		snprintf(r->pod_logs, sizeof(r->pod_logs), "%s/var/log/pods", r->root);
	snprintf(r->containers_logs, sizeof(r->containers_logs), "%s/var/log/containers", r->root);
	snprintf(r->docker_dir, sizeof(r->docker_dir), "%s/var/lib/docker/containers", r->root);
}

static void set_defaults(struct dnsreel_recorder *r, const struct dnsreel_recorder_opts *o)
{
	if (o->port_bits)
		memcpy(r->port_bits, o->port_bits, sizeof(r->port_bits));
	else
		dnsreel_parse_ports(DNSREEL_REC_DEFAULT_PORTS, r->port_bits);
	if (!r->o.snaplen || r->o.snaplen > 65535)
		r->o.snaplen = DNSREEL_REC_DEFAULT_SNAPLEN;
	if (!r->o.ringbuf_bytes)
		r->o.ringbuf_bytes = DNSREEL_REC_DEFAULT_RINGBUF_BYTES;
	if (!r->o.scan_interval_ns)
		r->o.scan_interval_ns = DNSREEL_REC_DEFAULT_SCAN_NS;
	if (!r->o.join_delay_ns)
		r->o.join_delay_ns = DNSREEL_REC_DEFAULT_JOIN_DELAY_NS;
	r->filtering =
	    o->netns_ids_n || o->netns_names_n || (o->k8s_namespaces && o->k8s_namespaces[0]) ||
	    (o->k8s_podnames && o->k8s_podnames[0]) || (o->k8s_containers && o->k8s_containers[0]);
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
	r->bpf_stats_fd = -1;
	r->tc_slots.own = -1;
	for (int i = 0; i < REC_TC_SLOTS; i++)
		r->tc_slots.fd[i] = -1;
	for (int i = 0; i < REC_NETNS_DIRS; i++)
		r->watch_wd[i] = -1;
	r->logs_wd[0] = r->logs_wd[1] = -1;
	r->cg_mntfd = -1;
	for (int i = 0; i < MAX_IPT_JOBS; i++)
		r->ipt[i].fd = -1;
	set_paths(r, o);
	set_defaults(r, o);
	/* opened once now, not when the first pod is named from a cgroup id: the recorder's fds
	 * stay flat however many pods come and go */
	r->cg_mntfd = rec_cgroup2_open(r);
	r->ipt_nft = rec_ipt_nft_variant();
	r->pt = calloc(PT_SIZE, sizeof(*r->pt));
	r->pt_tag = calloc(PT_SIZE, sizeof(*r->pt_tag));
	r->pidset = calloc(PIDSET_SIZE, sizeof(*r->pidset));
	r->pidc = calloc(PIDC_SIZE, sizeof(*r->pidc));
	if (!r->pt || !r->pt_tag || !r->pidset || !r->pidc) {
		err = -ENOMEM;
		goto fail;
	}

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

	if ((err = rec_bpf_open(r, errbuf, errlen)))
		goto fail;
	if (r->o.stats) {
		r->clock_cost_ns = UINT64_MAX;
		for (int i = 0; i < 64; i++) {
			uint64_t a = rec_cpu_ns(), b = rec_cpu_ns();
			if (b - a < r->clock_cost_ns)
				r->clock_cost_ns = b - a;
		}
	}

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
	if (epoll_ctl(r->epfd, EPOLL_CTL_ADD, r->events_fd, &ev) == 0) {
		ev.events = EPOLLIN;
		ev.data.u32 = 2;
		if (epoll_ctl(r->epfd, EPOLL_CTL_ADD, r->inofd, &ev) == 0)
			err = 0;
		else
			err = -errno;
	} else {
		err = -errno;
	}
	if (err) {
		snprintf(errbuf, errlen, "epoll: watching the ring buffer and netns folders: %s",
			 strerror(-err));
		goto fail;
	}
	rec_watch_dirs(r);

	rec_scan_all(r);
	rec_ipt_pump(r);
	r->ready = true;
	int64_t now = rec_boot_ns();
	r->next_scan = now + r->o.scan_interval_ns;
	r->next_tick = now + 1000000000;
	r->next_svc = now + 10000000000ll;
	*out = r;
	return 0;
fail:
	dnsreel_recorder__free(r);
	return err ? err : -EINVAL;
}

/* Milliseconds from now to t, rounded up (a wakeup before t would only sleep again). */
static int ms_until(int64_t now, int64_t t)
{
	if (t <= now)
		return 0;
	int64_t ms = (t - now + 999999) / 1000000;
	return ms > 3600000 ? 3600000 : (int)ms;
}

int dnsreel_recorder__poll(struct dnsreel_recorder *r, int timeout_ms)
{
	/* While the ring holds packets (waiting out the join delay), a namespace is held or the
	 * netns folders just changed: every 10 ms, producers never wake us then. With nothing
	 * waiting, the programs are told we sleep (the next packet wakes us) and we sleep until
	 * the next housekeeping, or the caller's timeout (its next flush). */
	int64_t now = rec_boot_ns();
	int wait = ms_until(now, r->next_scan < r->next_tick ? r->next_scan : r->next_tick);
	if (timeout_ms >= 0 && timeout_ms < wait)
		wait = timeout_ms;
	if (wait > 10) {
		if (r->ring_empty && !r->nheld && now >= r->fast_until && rec_ring_sleep(r))
			r->n_sleeps++;
		else
			wait = 10;
	}
	struct epoll_event evs[16];
	int n = epoll_wait(r->epfd, evs, 16, wait);
	if (n < 0 && errno != EINTR)
		return -errno;
	bool dirs_changed = false;
	r->n_polls++;
	for (int i = 0; i < n; i++) {
		if (evs[i].data.u64 >> 32 == REC_EPOLL_NL) {
			rec_ns_netlink(r, (uint32_t)evs[i].data.u64);
		} else if (evs[i].data.u64 >> 32 == REC_EPOLL_NF) {
			rec_ipt_notify(r, (uint32_t)evs[i].data.u64);
		} else if (evs[i].data.u32 >= EPOLL_IPT &&
			   evs[i].data.u32 < EPOLL_IPT + MAX_IPT_JOBS) {
			struct ipt_job *j = &r->ipt[evs[i].data.u32 - EPOLL_IPT];
			if (j->pid > 0)
				rec_ipt_read(r, j);
		} else if (evs[i].data.u32 == 1) {
			r->n_wakeups++;
		} else if (evs[i].data.u32 == 2) {
			dirs_changed |= rec_inotify_read(r);
		}
	}
	now = rec_boot_ns();
	if (dirs_changed) {
		r->fast_until = now + 500000000;
		rec_scan_soon(r); /* a bind mount removed: is its namespace gone? */
	}
	if (now < r->fast_until)
		rec_scan_dirs_attach(r);
	if (now >= r->next_scan) {
		rec_scan_all(r);
		/* Namespaces coming and going (or held): every interval; otherwise nothing
		 * has said anything changed, and the scan only catches what has no event. */
		bool busy = now < r->busy_until || r->nheld;
		r->next_scan = now + r->o.scan_interval_ns * (busy ? 1 : REC_IDLE_SCANS);
	}
	if (now >= r->next_tick) {
		bool svc = now >= r->next_svc;
		rec_watch_dirs(r);
		rec_tick(r, svc);
		if (svc)
			r->next_svc = now + 10000000000ll;
		r->next_tick = now + 1000000000;
	}
	rec_ipt_pump(r);
	int k = rec_consume(r, rec_boot_ns() - r->o.join_delay_ns);
	rec_hold_check(r, false);
	r->ring_empty = k >= 0 && r->ring.rg.cons &&
			*r->ring.rg.cons == __atomic_load_n(r->ring.rg.prod, __ATOMIC_ACQUIRE);
	return k;
}

bool dnsreel_recorder__ready(const struct dnsreel_recorder *r)
{
	return r->ready;
}

bool dnsreel_recorder__has_proc(const struct dnsreel_recorder *r)
{
	return r->has_proc;
}

enum dnsreel_rec_hook dnsreel_recorder__hook(const struct dnsreel_recorder *r)
{
	return r->o.hook;
}

/* Sum over CPUs of one kernel counter into *sum; false when it cannot be read. */
static bool counter_sum(struct dnsreel_recorder *r, uint32_t idx, uint64_t *percpu, uint64_t *sum)
{
	if (rec_bpf_counter(r, idx, percpu))
		return false;
	for (int c = 0; c < r->ncpus; c++)
		*sum += percpu[c];
	return true;
}

static void counter_percpu(struct dnsreel_recorder *r, uint32_t idx, const char *prefix,
			   uint64_t *percpu, void (*fn)(void *, const char *, uint64_t), void *arg)
{
	char name[64];
	if (rec_bpf_counter(r, idx, percpu))
		return;
	for (int c = 0; c < r->ncpus; c++) {
		snprintf(name, sizeof(name), "%s.cpu%d", prefix, c);
		fn(arg, name, percpu[c]);
	}
}

void dnsreel_recorder__counters(struct dnsreel_recorder *r,
				void (*fn)(void *arg, const char *name, uint64_t value), void *arg)
{
	uint64_t *v = calloc((size_t)r->ncpus, sizeof(uint64_t));
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
	counter_percpu(r, DNSREEL_CNT_RB_LOST, "lost.ringbuf", v, fn, arg);
	counter_percpu(r, DNSREEL_CNT_PROC_LOST, "lost.proc", v, fn, arg);
	for (size_t i = 0; i < sizeof(sums) / sizeof(sums[0]); i++) {
		uint64_t s = 0;
		if (counter_sum(r, sums[i].idx, v, &s))
			fn(arg, sums[i].name, s);
	}
	free(v);
	fn(arg, "lost.user", r->n_lost_user + r->ring.rg.bad);
	fn(arg, "lost.unknown_netns", r->n_unknown_ns);
	fn(arg, "events.malformed", r->n_malformed);
	fn(arg, "events.length_mismatch", r->n_lenlie);
	fn(arg, "events.total", r->n_events);
	fn(arg, "netns.attach_failed", r->n_attach_fail);
	if (r->n_held_unselected)
		fn(arg, "events.not_selected_netns", r->n_held_unselected);
	if (r->n_held_lost)
		fn(arg, "lost.held", r->n_held_lost);
	uint64_t att = 0;
	for (size_t i = 0; i < r->nns; i++)
		att += r->ns[i].state == NS_ATTACHED;
	fn(arg, "netns.attached", att);
	if (r->tc_skel) {
		uint64_t links = 0;
		for (size_t i = 0; i < r->nns; i++)
			links += (uint64_t)r->ns[i].ntcl;
		fn(arg, "netns.tc_interfaces", links);
	}
}

uint64_t dnsreel_recorder__lost(struct dnsreel_recorder *r)
{
	uint64_t *v = calloc((size_t)r->ncpus, sizeof(uint64_t));
	uint64_t s = r->n_lost_user + r->ring.rg.bad + r->n_unknown_ns + r->n_held_lost;
	if (!v)
		return s;
	counter_sum(r, DNSREEL_CNT_RB_LOST, v, &s);
	counter_sum(r, DNSREEL_CNT_PROC_LOST, v, &s);
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

static void list_add(char *buf, size_t len, const char *what)
{
	size_t l = strlen(buf);
	if (l < len)
		snprintf(buf + l, len - l, "%s%s", l ? "," : "", what);
}

size_t dnsreel_recorder__unmatched(struct dnsreel_recorder *r, char *buf, size_t len)
{
	size_t k = 0, i, j;
	char num[24];
	if (len)
		buf[0] = 0;
	for (i = 0; i < r->o.netns_ids_n; i++) {
		for (j = 0; j < r->nns && r->ns[j].ino != r->o.netns_ids[i]; j++)
			;
		if (j == r->nns) {
			snprintf(num, sizeof(num), "%llu", (unsigned long long)r->o.netns_ids[i]);
			list_add(buf, len, num);
			k++;
		}
	}
	for (i = 0; i < r->o.netns_names_n; i++) {
		for (j = 0; j < r->nns && strcmp(r->ns[j].ctx.name, r->o.netns_names[i]); j++)
			;
		if (j == r->nns) {
			list_add(buf, len, r->o.netns_names[i]);
			k++;
		}
	}
	return k;
}

size_t dnsreel_recorder__attached(struct dnsreel_recorder *r)
{
	size_t k = 0;
	for (size_t i = 0; i < r->nns; i++)
		k += r->ns[i].state == NS_ATTACHED;
	return k;
}

void dnsreel_recorder__free(struct dnsreel_recorder *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->nns; i++)
		rec_ns_detach(r, &r->ns[i], false);
	free(r->ns);
	free(r->ns_tab);
	rec_bpf_close(r);
	if (r->self_ns >= 0)
		close(r->self_ns);
	if (r->epfd >= 0)
		close(r->epfd);
	if (r->inofd >= 0)
		close(r->inofd);
	if (r->cg_mntfd >= 0)
		close(r->cg_mntfd);
	for (int i = 0; i < MAX_IPT_JOBS; i++) {
		if (r->ipt[i].pid > 0) {
			r->ipt[i].len = 0; /* do not parse a cut output */
			rec_ipt_finish(r, &r->ipt[i]);
		}
		free(r->ipt[i].buf);
	}
	free(r->svcs);
	free(r->pt);
	free(r->pt_tag);
	free(r->pidset);
	free(r->pidc);
	free(r->wake_ones);
	free(r);
}
