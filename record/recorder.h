/* The recorder engine behind dnsreel-record: loads the kernel programs, finds network
 * namespaces and attaches a socket filter in each, joins packets to processes, and hands
 * events and context to a sink (the tool writes them into a capture and prints them live).
 * Single-threaded: everything happens inside dnsreel_recorder__poll(). dnsreel_recwriter
 * is that sink for a capture directory.
 */
#ifndef DNSREEL_RECORDER_H
#define DNSREEL_RECORDER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "capture.h"

/* Where events and context go. Any callback may be NULL. A nonzero return from on_event stops
 * the current poll and is returned by it. */
struct dnsreel_sink {
	void *arg;
	int (*on_event)(void *arg, const struct dnsreel_event *ev);
	void (*on_netns)(void *arg, const struct dnsreel_netns_ctx *ns);
	void (*on_proc)(void *arg, const struct dnsreel_proc_ctx *proc);
	void (*on_service)(void *arg, const struct dnsreel_service_ctx *svc);
	/* Optional: the sink's CPU ns so far in writing frames (cumulative), which --stats
	 * leaves out of the ring walk and the sink's share: the writer reports them itself. */
	uint64_t (*flush_ns)(void *arg);
};

/* Defaults, for the tool's --help and man page (a test compares them). */
#define DNSREEL_REC_DEFAULT_PORTS	  "53,5353"
#define DNSREEL_REC_DEFAULT_SNAPLEN	  65535
#define DNSREEL_REC_DEFAULT_RINGBUF_BYTES (32u << 20)
#define DNSREEL_REC_DEFAULT_SCAN_NS	  100000000
#define DNSREEL_REC_DEFAULT_JOIN_DELAY_NS 20000000
/* A frame at least this often: with the join delay, what a SIGKILL can lose stays under
 * 250 ms. */
#define DNSREEL_REC_DEFAULT_FLUSH_NS 150000000
/* The zstd level of frames written while the node's CPUs are busy (busy_zstd_level). */
#define DNSREEL_REC_DEFAULT_BUSY_ZSTD_LEVEL 1
/* ... and at least every this many events: more than the capture writer's default, since
 * under load the flush interval cuts frames first and each frame has a fixed cost (its
 * index transaction, fdatasync, zstd set-up); bigger blocks also compress better (3% fewer
 * bytes at 65536 than at 16384 events on recorded lab traffic, bench/RESULTS.md). */
#define DNSREEL_REC_BLOCK_EVENTS 65536

/* Where packets are taken from. */
enum dnsreel_rec_hook {
	DNSREEL_HOOK_DEFAULT =
	    0,			 /* DNSREEL_REC_DEFAULT_HOOK where the kernel has it, else packet */
	DNSREEL_HOOK_PACKET = 1, /* an AF_PACKET socket with a socket filter per netns */
	DNSREEL_HOOK_TC = 2,	 /* classic tc: clsact + bpf filters on every interface */
	DNSREEL_HOOK_TCX = 3,	 /* the same programs as tcx links (Linux 6.6+) */
};
#define DNSREEL_REC_DEFAULT_HOOK      DNSREEL_HOOK_TC
#define DNSREEL_REC_DEFAULT_HOOK_NAME "tc"

struct dnsreel_recorder_opts {
	size_t sz;
	const char *host_root;	  /* prefix for /proc, /run/netns, ... ("" or NULL = /) */
	const char *pod_logs;	  /* default <host-root>/var/log/pods */
	const uint8_t *port_bits; /* 8192 bytes, bit p = record port p; NULL = 53,5353 */
	uint32_t snaplen;	  /* DNS payload bytes copied per packet (default 65535) */
	uint64_t ringbuf_bytes;	  /* shared ring buffer size, power of 2 (default 32 MiB) */
	int64_t scan_interval_ns; /* periodic /proc scan (default 100 ms) */
	int64_t join_delay_ns;	  /* how long a packet waits for its process (default 20 ms) */
	/* Namespace selection (all empty = every netns). A netns is attached when it matches any
	 * netns id or name, and every k8s list given (comma-separated values). */
	const uint64_t *netns_ids;
	size_t netns_ids_n;
	const char *const *netns_names;
	size_t netns_names_n;
	const char *k8s_namespaces; /* -n */
	const char *k8s_podnames;   /* -p */
	const char *k8s_containers; /* -c */
	bool no_proc;		    /* do not load the process hooks */
	bool no_iptables;	    /* do not scan kube-proxy rules */
	/* Diagnostics, the recorder's and libbpf's (which are routed here): level 0 warnings,
	 * 1 info and libbpf warnings (the verifier log among them), 2 debug, 3 per-record
	 * tracing. Only levels up to log_level are formatted and passed on; NULL: none. */
	void (*log)(void *arg, int level, const char *msg);
	void *log_arg;
	int log_level;
	enum dnsreel_rec_hook hook;
	/* Measure where the time goes (dnsreel_recorder__stats): CPU clock reads around the
	 * ring walk, the process join and the sink, and the kernel's BPF run-time statistics while
	 * the recorder runs. */
	bool stats;
	bool node_netns; /* with k8s lists: also the node's own (init) netns */
	/* Also hook every receive, not only sends (which attribute the packets a socket
	 * receives too, as long as it sends within the join delay). */
	bool proc_recv;
};

struct dnsreel_recorder;

/* Loads the BPF programs. errbuf receives a sentence on failure (missing capability, BPF
 * refused). *out owned by the caller: dnsreel_recorder__free(). */
int dnsreel_recorder__new(struct dnsreel_recorder **out, const struct dnsreel_recorder_opts *o,
			  const struct dnsreel_sink *sink, char *errbuf, size_t errlen);
/* Waits up to timeout_ms (-1: as long as the recorder itself may) for data or namespace
 * changes, attaches/detaches namespaces, joins and delivers events older than the join delay.
 * With packets waiting it returns within 10 ms; with the ring empty it sleeps until a packet
 * arrives or its own housekeeping is due (about a second). Returns events delivered or a
 * negative error (or the sink's nonzero return). */
int dnsreel_recorder__poll(struct dnsreel_recorder *r, int timeout_ms);
/* Delivers everything still in the ring buffer, without waiting for the join delay. */
int dnsreel_recorder__drain(struct dnsreel_recorder *r);
/* True once every namespace present at the first scan has been attached (or skipped). */
bool dnsreel_recorder__ready(const struct dnsreel_recorder *r);
/* Process context is being collected (hooks loaded and attached). */
bool dnsreel_recorder__has_proc(const struct dnsreel_recorder *r);

/* Counters ("lost.ringbuf.cpu0", "lost.proc.cpu0", "lost.user", "events.malformed",
 * "kernel.short", ...), cumulative; fn called for each. */
void dnsreel_recorder__counters(struct dnsreel_recorder *r,
				void (*fn)(void *arg, const char *name, uint64_t value), void *arg);

struct dnsreel_recorder_nsstat {
	uint64_t netns;
	const char *name; /* netns name or pod, may be "" */
	uint64_t events;
	bool attached;
};
/* Per-netns event counts, for the exit summary. Returns the number of entries. */
size_t dnsreel_recorder__nsstats(struct dnsreel_recorder *r, struct dnsreel_recorder_nsstat *out,
				 size_t max);
/* --netns selections (ids and names) that matched no namespace found so far: their text,
 * comma-separated, into buf. Returns how many. */
size_t dnsreel_recorder__unmatched(struct dnsreel_recorder *r, char *buf, size_t len);
/* Namespaces attached now. */
size_t dnsreel_recorder__attached(struct dnsreel_recorder *r);
/* With opts.stats, in CPU ns of the recorder's thread: "time.consume_ns" (ring walk and
 * delivery, everything below included, less the sink's flush_ns), "time.join_ns",
 * "time.sink_ns" (the sink's on_event less its flush_ns; both sampled one event in 256 and
 * scaled), "ring.wakeups" (epoll found the ring
 * ready), "polls", and for each BPF program "bpf.NAME.run_cnt" and "bpf.NAME.run_ns" (0 when
 * the kernel keeps no statistics). fn called for each. */
void dnsreel_recorder__stats(struct dnsreel_recorder *r,
			     void (*fn)(void *arg, const char *name, uint64_t value), void *arg);
/* The hook in use (never DNSREEL_HOOK_DEFAULT once created). */
enum dnsreel_rec_hook dnsreel_recorder__hook(const struct dnsreel_recorder *r);
/* Total losses (ring buffer reserve failures + user-space drops). */
uint64_t dnsreel_recorder__lost(struct dnsreel_recorder *r);

void dnsreel_recorder__free(struct dnsreel_recorder *r);

/* Writing a recording into a capture directory: a sink for dnsreel_recorder__new that appends
 * events and context (segments rotate and age out as the capture writer's options say), the
 * capture's metadata, and flushes that store the recorder's counters. */
struct dnsreel_capw_opts;
struct dnsreel_capw_stats;
struct dnsreel_filter;
struct dnsreel_rec;

struct dnsreel_recwriter_opts {
	size_t sz;
	const struct dnsreel_capw_opts *capw; /* segments, rotation, zstd; NULL: defaults */
	const char *node;		      /* NULL: $NODE_NAME, else the host name */
	uint32_t snaplen;		      /* recorded in the metadata */
	int64_t flush_ns;		      /* a frame at least this often (default 150 ms) */
	/* While the node's CPUs are busy (under 15% idle in /proc/stat over a second, until
	 * over 30% again), frames are compressed at this zstd level instead of the capture's:
	 * a recorder must not take CPU from the node's work when it has none to spare. 0: the
	 * capture's level always. */
	int busy_zstd_level;
	/* Record-time selection (--select): only messages matching select are written (TCP
	 * segments always are, so streams stay whole); the others are counted as
	 * events.not_selected. Borrowed: must outlive the writer. NULL: everything. */
	const struct dnsreel_filter *select;
	/* The live view: each decoded message that was written and matches view (NULL: all)
	 * goes to on_record; on_flush after each flush. view never changes what is written.
	 * Messages are decoded only when select or on_record is set. */
	const struct dnsreel_filter *view;
	void (*on_record)(void *arg, const struct dnsreel_rec *rec);
	void (*on_flush)(void *arg);
	void *arg;
};

struct dnsreel_recwriter;

/* Creates the capture dir and writes its metadata. Returns 0 or a negative dnsreel error;
 * errbuf names what failed. *out: close with dnsreel_recwriter__close(). */
int dnsreel_recwriter__open(struct dnsreel_recwriter **out, const char *dir,
			    const struct dnsreel_recwriter_opts *o, char *errbuf, size_t errlen);
/* The sink writing into w; also takes services named by the user (on_service). */
struct dnsreel_sink dnsreel_recwriter__sink(struct dnsreel_recwriter *w);
/* Writes a frame and r's counters (r may be NULL) once the flush interval has passed since the
 * last, or now when force. Returns 0 or the first write error, after which nothing more is
 * written and the recorder's poll returns that error. */
int dnsreel_recwriter__flush(struct dnsreel_recwriter *w, struct dnsreel_recorder *r, bool force);
int dnsreel_recwriter__error(const struct dnsreel_recwriter *w);
/* When the next dnsreel_recwriter__flush() would write a frame of events (boot ns), or
 * INT64_MAX with no event waiting: how long the caller's loop may sleep. */
int64_t dnsreel_recwriter__next_flush(const struct dnsreel_recwriter *w);
/* The capture writer's statistics so far (for a status line). */
void dnsreel_recwriter__stats(const struct dnsreel_recwriter *w, struct dnsreel_capw_stats *st);
/* Events that did not reach the disk so far: refused by the capture writer after a failed
 * flush (its counter lost.write) or received after a write error (lost.after_error). */
uint64_t dnsreel_recwriter__lost(const struct dnsreel_recwriter *w);
/* Messages left out by the select filter (events.not_selected). */
uint64_t dnsreel_recwriter__not_selected(const struct dnsreel_recwriter *w);
/* Unless a write failed: drains r and stores its last counters (r may be NULL). Then closes
 * the capture, fills st (may be NULL; st->events counts only events that reached the disk,
 * st->events_lost every one that did not, pending frames close could not write included) and
 * frees w. *lost_disk (may be NULL) receives that loss too. Returns the first write error
 * or 0. */
int dnsreel_recwriter__close(struct dnsreel_recwriter *w, struct dnsreel_recorder *r,
			     struct dnsreel_capw_stats *st, uint64_t *lost_disk);

#endif
