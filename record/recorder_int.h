/* Inside the recorder library (not installed): the recorder's state and the calls between its
 * parts. One file per concern:
 *   recorder.c  the public handle: setup, the poll loop, counters, teardown
 *   bpfload.c   BPF maps and programs, libbpf's messages, a socket filter per netns
 *   tcattach.c  the tc hook: tcx programs on every interface of a netns, kept in step
 *   netns.c     namespace discovery (/proc scan, bind-mount folders, inotify), attach/detach
 *   enrich.c    context: the socket -> process table and its join, pods, services
 *   drain.c     the ring buffer: mapping, walk, packets into events
 *   write.c     events and context into a capture (recorder.h, dnsreel_recwriter)
 */
#ifndef DNSREEL_RECORDER_INT_H
#define DNSREEL_RECORDER_INT_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/types.h>
#include <time.h>

#include "dnsreel_bpf.h"
#include "recorder.h"
#include "ring.h"

#define NSFS_MAGIC_	 0x6e736673
#define REC_NETNS_DIRS	 4
#define MAX_NS_ADDRS	 16
#define MAX_NS_PIDS	 4
#define PT_SIZE		 (1u << 15) /* process table slots */
#define PT_WAYS		 8
#define PIDSET_SIZE	 8192
#define REC_STATS_SAMPLE 256

enum ns_state { NS_NEW, NS_SKIPPED, NS_ATTACHED, NS_GONE };

/* The tc hook on one interface: the BPF link fds of its ingress and egress programs (tcx),
 * or (classic tc) whether the recorder created the interface's clsact qdisc. */
struct tclink {
	int ifindex;
	int fd[2];
	bool qdisc_ours;
};

/* Classic tc filters outlive a recorder that is killed. Each recorder takes a slot, a lock
 * file (flock: released when its process dies, however it dies), and attaches its filters
 * at that slot's handle, replacing any left there; slots whose lock file exists but is not
 * held were left by a recorder that died, and their filters are removed wherever the
 * recorder attaches. */
#define REC_TC_SLOTS 8
struct tcslots {
	int own;	      /* the slot in use, -1 before rec_tc_open */
	int fd[REC_TC_SLOTS]; /* lock files held: own and the stale ones */
	uint32_t stale;	      /* bit k: slot k was left by a dead recorder */
	char dir[64];	      /* where the lock files are */
};

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
	uint8_t ipt_due; /* scans wanted: IPT_V4, IPT_V6, IPT_NFT */
	uint8_t addrs[MAX_NS_ADDRS][16];
	uint8_t addr_v[MAX_NS_ADDRS];
	int naddrs;
	uint32_t nodelocal; /* bit i: addrs[i] is on NodeLocal DNSCache's "nodelocaldns" link */
	uint32_t gen;	    /* namespaces seen before with this inode (the kernel reuses them) */
	uint32_t name_pid;  /* the last process a packet's join tried to name the netns from */
	struct dnsreel_netns_ctx ctx;
	/* tc hook: links per interface, and the rtnetlink socket that reports interfaces
	 * coming and going (-1 unless attached with the tc hook) */
	struct tclink *tcl;
	int ntcl, cap_tcl;
	int nlfd;
	/* set from that socket (or the packet hook's own, which has only the address groups):
	 * the addresses changed, read them again */
	bool addrs_due;
	bool resolve_due;    /* its processes or the pod folders changed: look for its pod again */
	bool hold_done;	     /* was held once (below): not again for this namespace */
	uint32_t pid_sig;    /* of pids[] at the last scan */
	struct nshold *hold; /* attached but not named yet under a pod selection */
	bool dir_seen;	     /* found by the last listing of the bind-mount folders */
	/* its hold ended unchosen: what the ring still has from it is dropped too */
	bool hold_dropped;
	/* Its service rules are dumped when nf_tables says they changed (nffd: a netfilter
	 * socket on the nf_tables group, -1 when none: then every 10 s); a change within
	 * REC_IPT_MIN_NS of the last dump (ipt_last) waits for the next tick (ipt_changed). */
	int nffd;
	bool nf_tried, ipt_changed;
	int64_t ipt_last;
};

/* A namespace that appeared while recording under -n/-p/-c is attached at once, before its pod
 * is named (its sandbox and log folder come a little later than the netns); its events and
 * process records wait here, in memory, until the name says whether it is chosen (then they
 * are delivered) or not (dropped, counted), or REC_HOLD_NS passes. Events are packed:
 * struct dnsreel_event, then its payload, each padded to 8 bytes. */
#define REC_HOLD_NS    (5 * 1000000000ll)
#define REC_HOLD_BYTES (256u << 10) /* per namespace */
#define REC_HOLD_TOTAL (8u << 20)   /* all held namespaces together */
#define REC_HOLD_PROCS 8
struct nshold {
	int64_t until;
	uint8_t *buf;
	size_t len, cap;
	uint64_t nev;
	struct dnsreel_proc_ctx procs[REC_HOLD_PROCS];
	int nprocs;
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
	void *cons_map;
	void *prod_map;
	size_t size;
};

#define MAX_IPT_JOBS 8
#define EPOLL_IPT    100
/* Service rule dumps of a node netns: iptables-save, ip6tables-save, and kube-proxy's nftables
 * tables (ip and ip6, one dump). */
enum { IPT_V4 = 1, IPT_V6 = 2, IPT_NFT = 4, IPT_ALL = 7 };
/* epoll data of a netns's rtnetlink socket: this tag in the high 32 bits, the netns inode
 * (32 bits in the kernel) in the low ones. The other sources use small u32 tags. */
#define REC_EPOLL_NL 0x4e4cu
/* the same for a netns's nf_tables notification socket (enrich.c) */
#define REC_EPOLL_NF	  0x4e46u
#define REC_IPT_MIN_NS	  (2 * 1000000000ll)  /* rule dumps of one netns at most this often */
#define REC_IPT_SAFETY_NS (60 * 1000000000ll) /* and, with notifications, at least this often */
struct ipt_job {
	pid_t pid;
	uint8_t kind; /* IPT_V4, IPT_V6 or IPT_NFT: which parser reads buf */
	int fd;
	char *buf;
	size_t len, cap;
};

/* pid -> netns inode seen at the last full scan: readlink of /proc/PID/ns/net is the costly
 * part of a scan on a node with thousands of processes, and a process rarely changes netns.
 * Known pids are re-read only on every tenth (full) scan. */
struct pidc {
	int32_t pid;
	uint32_t idx; /* where ino was in the netns table: a hint, checked before use */
	uint64_t ino;
};
#define PIDC_SIZE (1u << 16)
#define PIDC_WAYS 4

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
	struct dnsreel_tc *tc_skel;	   /* the tc hook's programs, NULL with the packet hook */
	struct tcslots tc_slots;	   /* classic tc: this recorder's filter handle */
	uint64_t n_unknown_ns;
	struct bpf_link *proc_links[2];
	bool has_proc;
	int self_ns;
	uint64_t host_ino;
	int epfd, inofd;
	int watch_wd[REC_NETNS_DIRS]; /* inotify watches on the bind-mount folders */
	struct nsent *ns;
	size_t nns, cap_ns;
	size_t last_ns;
	/* ns by inode (index + 1; open addressing), for the first ns_indexed entries of ns:
	 * every event looks its netns up, and gone entries stay until there are 4096 */
	uint32_t *ns_tab;
	size_t ns_tabcap, ns_indexed;
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
	/* Pods of processes whose netns was not attached yet when their socket was reported (a new
	 * pod, or a new namespace on a reused inode): applied when it attaches. A ring. */
	struct {
		uint64_t ino;
		char uid[40];
		char cid[80];
	} pend_names[16];
	unsigned pend_next;
	struct dnsreel_service_ctx *svcs; /* seen so far: each reported once */
	size_t nsvcs, cap_svcs;
	int ncpus;
	uint64_t n_events, n_malformed, n_lenlie, n_lost_user, n_attach_fail;
	/* opts.stats: thread CPU ns in rec_consume, in the join and in the sink (sampled, one
	 * event in REC_STATS_SAMPLE, scaled); epoll wakeups by the ring and polls; the fd that
	 * keeps the kernel's BPF run-time statistics on */
	uint64_t ns_consume, ns_join, ns_sink, n_wakeups, n_polls;
	bool ring_empty;	/* after the last pass: the poll may sleep longer */
	uint64_t *wake_ones;	/* ncpus ones: DNSREEL_CNT_WAKE set on every CPU (rec_ring_sleep) */
	uint64_t n_sleeps;	/* polls that slept with the producers told to wake us */
	uint64_t clock_cost_ns; /* the least a pair of rec_cpu_ns() calls measured */
	int bpf_stats_fd;
	/* Event-driven discovery: /proc is scanned every scan interval only while namespaces
	 * come and go (busy_until: an inotify event, a process record of a netns not known, a
	 * namespace held), else every REC_IDLE_SCANS intervals. */
	int64_t busy_until;
	int logs_wd[2]; /* inotify on the pod-logs and containers-logs folders */
	size_t nheld, held_bytes;
	bool dirs_dirty;	 /* inotify: the bind-mount folders changed since their listing */
	unsigned dirs_unmounted; /* files there that were no namespace yet at the listing */
	bool ipt_pending;	 /* some netns has ipt_due */
	bool ipt_nft; /* iptables-save is the nf_tables one (or absent): its rules notify changes */
	int cg_mntfd; /* cgroup v2 mount: ids of processes gone (-1 not open yet, -2 none) */
	uint64_t n_held_unselected, n_held_lost;
};
#define REC_IDLE_SCANS 10

/* CPU time of this thread (the recorder is single-threaded): what --stats splits, without the
 * time other processes held the CPU. A system call, not vDSO: per-event parts are sampled. */
static inline uint64_t rec_cpu_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* recorder.c */
void rec_log(struct dnsreel_recorder *r, int level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static inline int64_t rec_boot_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_BOOTTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Copies src into dst[n], cut and always terminated. */
static inline void rec_scopy(char *dst, size_t n, const char *src)
{
	size_t l = strnlen(src, n - 1);
	memcpy(dst, src, l);
	dst[l] = 0;
}

/* bpfload.c. rec_bpf_open creates the maps, maps the ring, loads the socket filter (shared or
 * checked per netns) and the process hooks; errbuf says what failed. */
int rec_bpf_open(struct dnsreel_recorder *r, char *errbuf, size_t errlen);
void rec_bpf_close(struct dnsreel_recorder *r);
/* Opens an AF_PACKET socket with the filter inside n (n->nsfd), reads its addresses. */
int rec_attach_socket(struct dnsreel_recorder *r, struct nsent *n);
/* Process hooks with a netns filter: which netns they report. */
void rec_bpf_netns_on(struct dnsreel_recorder *r, uint64_t ino, bool on);
/* Per-CPU values (r->ncpus) of one kernel counter. 0 or a negative errno. */
int rec_bpf_counter(struct dnsreel_recorder *r, uint32_t idx, uint64_t *percpu);

/* tcattach.c. rec_tc_open loads the tc programs and checks the kernel attaches them the way
 * r->o.hook says (classic tc filters or tcx links; errbuf says why not). rec_attach_tc
 * attaches them to every interface inside n (n->nsfd), watches its interfaces, reads its
 * addresses; rec_tc_netlink handles that watch's messages; rec_tc_detach takes them off. */
int rec_tc_open(struct dnsreel_recorder *r, char *errbuf, size_t errlen);
void rec_tc_close(struct dnsreel_recorder *r);
int rec_attach_tc(struct dnsreel_recorder *r, struct nsent *n);
void rec_tc_detach(struct dnsreel_recorder *r, struct nsent *n);
void rec_tc_netlink(struct dnsreel_recorder *r, uint32_t ino);

/* netns.c */
/* A netlink socket of protocol proto inside n's netns, bound to groups (a bitmask) and, when
 * group is not 0, a member of that group too, in the epoll set as tag << 32 | n's inode: its
 * fd, or -1 when any step failed. */
int rec_ns_netlink_socket(struct dnsreel_recorder *r, struct nsent *n, int proto, uint32_t groups,
			  unsigned group, uint32_t tag);
struct nsent *rec_ns_find(struct dnsreel_recorder *r, uint64_t ino);
/* The netns id events and context of n carry at boot time ts: the inode for the first
 * namespace with it, inode + gen * 2^32 for the gen-th reuse (see dnsreel-record(1)). */
uint64_t rec_ns_id(const struct nsent *n, int64_t ts);
/* A process of netns ino, in pod uid, container cid, uses a socket: names the netns from them
 * and reads its addresses when its own scan has not (a pod whose client lived less than a
 * scan). */
void rec_ns_name_from_proc(struct dnsreel_recorder *r, uint64_t ino, const char *uid,
			   const char *cid);
bool rec_ns_is_local(const struct nsent *n, uint8_t v, const uint8_t *addr);
void rec_ns_read_addrs(struct nsent *n);
/* Names NodeLocal DNSCache's link-local listen addresses (n->nodelocal) as its service. */
void rec_nodelocal_services(struct dnsreel_recorder *r, const struct nsent *n);
void rec_ns_detach(struct dnsreel_recorder *r, struct nsent *n, bool gone);
void rec_watch_dirs(struct dnsreel_recorder *r);
void rec_scan_all(struct dnsreel_recorder *r);
void rec_scan_dirs_attach(struct dnsreel_recorder *r);
void rec_tick(struct dnsreel_recorder *r, bool services);
/* An RTM_NEWADDR or RTM_DELADDR message of n's rtnetlink socket: n->addrs_due unless it is
 * about an address that is not recorded. */
struct nlmsghdr;
void rec_ns_addr_msg(struct nsent *n, const struct nlmsghdr *h);
/* The rtnetlink socket of netns ino has messages: interfaces (tc hook), addresses. */
void rec_ns_netlink(struct dnsreel_recorder *r, uint32_t ino);
/* Reads the inotify events: true when a netns folder changed (the pod folders are handled). */
bool rec_inotify_read(struct dnsreel_recorder *r);
/* A scan within one scan interval, and scans at that pace for a while. */
void rec_scan_soon(struct dnsreel_recorder *r);
/* Held namespaces (struct nshold): an event or process of n kept; decisions once named,
 * timed out or (final) at the end. */
int rec_hold_event(struct dnsreel_recorder *r, struct nsent *n, const struct dnsreel_event *ev);
void rec_hold_proc(struct dnsreel_recorder *r, struct nsent *n, const struct dnsreel_proc_ctx *pc);
void rec_hold_check(struct dnsreel_recorder *r, bool final);

/* enrich.c */
void rec_apply_proc(struct dnsreel_recorder *r, const struct dnsreel_proc_rec *p);
/* Fills ev's process fields from the socket that sent or will read it, if known. */
/* The cgroup v2 mount under the host root (fd), or -2 when there is none. */
int rec_cgroup2_open(struct dnsreel_recorder *r);
void rec_join(struct dnsreel_recorder *r, struct nsent *n, struct dnsreel_event *ev);
void rec_ns_resolve_k8s(struct dnsreel_recorder *r, struct nsent *n);
void rec_ipt_pump(struct dnsreel_recorder *r);
/* The iptables-save on PATH (what the dumps run) reports nf_tables rules, or there is none. */
bool rec_ipt_nft_variant(void);
/* Whether rec_tick should dump n's rules now: when its notifications said they changed (or
 * every minute), else on the 10 s round (services) as without notifications. */
bool rec_ipt_tick_due(struct dnsreel_recorder *r, struct nsent *n, bool services);
/* The nf_tables notification socket of the netns with this inode is readable. */
void rec_ipt_notify(struct dnsreel_recorder *r, uint32_t ino);
void rec_ipt_unwatch(struct nsent *n);
void rec_ipt_read(struct dnsreel_recorder *r, struct ipt_job *j);
void rec_ipt_finish(struct dnsreel_recorder *r, struct ipt_job *j);

/* drain.c */
int rec_ring_open(struct ring *rg, int fd, size_t size);
void rec_ring_close(struct ring *rg);
int rec_consume(struct dnsreel_recorder *r, int64_t cutoff);
/* Tells the packet programs the consumer sleeps (they wake it on their next record), then
 * says whether the ring is still empty: only then may the poll sleep past the join delay. */
bool rec_ring_sleep(struct dnsreel_recorder *r);

#endif
