/* A capture directory NAME.reel/: index.sqlite plus seg/NNNNNN.zst segments.
 * Writer: append events and context, frames are flushed and indexed, segments rotate, and in
 * ring mode the oldest segments go. Reader: frame catalog (for pruning), frame decoding,
 * context tables, counters. Both treat disk content as untrusted.
 */
#ifndef DNSREEL_CAPTURE_H
#define DNSREEL_CAPTURE_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- events ------------------------------------------------------------------------------ */

/* One captured packet: where and when it was seen, its endpoints, the process that sent or
 * received it when known, and the DNS bytes (the L4 payload) up to the snap length.
 * This is the in-memory form; the on-disk encoding lives in capture/FORMAT.md.
 */
/* Packet types as AF_PACKET reports them (linux/if_packet.h PACKET_*). */
enum dnsreel_pkt_type {
	DNSREEL_PKT_HOST = 0,
	DNSREEL_PKT_BROADCAST = 1,
	DNSREEL_PKT_MULTICAST = 2,
	DNSREEL_PKT_OTHERHOST = 3,
	DNSREEL_PKT_OUTGOING = 4,
	DNSREEL_PKT_LOOPBACK = 5,
	DNSREEL_PKT_USER = 6,
	DNSREEL_PKT_KERNEL = 7,
	/* Not a packet: a message a DNS server reported over dnstap (format 1.1, FORMAT.md §4.1) */
	DNSREEL_PKT_DNSTAP = 16,
};

enum dnsreel_event_flags {
	DNSREEL_EV_PROC = 1u << 0,	/* pid/tid/uid/gid/comm/cgroup_id are filled */
	DNSREEL_EV_TRUNCATED = 1u << 1, /* payload cut at the snap length (cap_len < orig_len) */
	DNSREEL_EV_BADCSUM = 1u << 2,	/* reserved: L4 checksum known bad */
	DNSREEL_EV_FRAGMENT = 1u << 3,	/* IP fragment: payload is what the fragment carried */
	/* dnstap message (pkt_type DNSREEL_PKT_DNSTAP): ifindex is the dnstap message type, comm
	 * the server identity, the payload one whole DNS message even over TCP */
	DNSREEL_EV_DNSTAP = 1u << 4,
};

#define DNSREEL_COMM_LEN 16

struct dnsreel_event {
	int64_t ts_ns;	    /* CLOCK_BOOTTIME ns of the node that recorded it */
	uint64_t netns;	    /* network namespace inode number */
	uint32_t ifindex;   /* interface index inside that netns */
	uint8_t pkt_type;   /* enum dnsreel_pkt_type */
	uint8_t ip_version; /* 4 or 6 */
	uint8_t proto;	    /* IPPROTO_UDP (17) or IPPROTO_TCP (6) */
	uint8_t tcp_flags;  /* TCP header flags byte (FIN=1 SYN=2 RST=4 PSH=8 ACK=16), 0 for UDP */
	uint32_t tcp_seq;   /* TCP sequence number of the first payload byte, 0 for UDP */
	uint8_t src_addr[16]; /* IPv4 in the first 4 bytes, rest zero */
	uint8_t dst_addr[16];
	uint16_t src_port; /* host byte order */
	uint16_t dst_port;
	uint32_t flags; /* enum dnsreel_event_flags */
	uint32_t pid;	/* process (tgid), valid with DNSREEL_EV_PROC */
	uint32_t tid;
	uint32_t uid;
	uint32_t gid;
	uint64_t cgroup_id;
	char comm[DNSREEL_COMM_LEN]; /* NUL-terminated */
	uint32_t orig_len;	     /* L4 payload length on the wire */
	uint32_t cap_len;	     /* bytes in payload (<= orig_len, <= snap length) */
	const uint8_t *payload;	     /* L4 payload: a DNS message for UDP, stream bytes for TCP.
				      * Not owned: points into caller or reader memory. */
};

/* Renders addr:port as trace_dns does ("10.0.0.1:53", "[fd00::1]:53" for v6 when with_port).
 * Returns the length written (snprintf rules). */
int dnsreel_event_addr_str(const struct dnsreel_event *ev, bool src, bool with_port, char *buf,
			   size_t len);

/* ---- context records ---------------------------------------------------------------------- */

/* Context records: what a capture knows about the node, its network namespaces, processes and
 * services. They are written into the segments (so segments alone rebuild the index) and into
 * index tables. Strings are NUL-terminated and may be empty ("" = unknown).
 */

#define DNSREEL_NAME_LEN  256 /* k8s names are at most 253 */
#define DNSREEL_SHORT_LEN 64

/* Capture-wide facts, written once per segment (so each segment stands alone). */
struct dnsreel_meta {
	uint32_t format_major;
	uint32_t format_minor;
	char capture_id[40];	      /* random UUID, names this capture across merges */
	char node[DNSREEL_SHORT_LEN]; /* k8s.node: node name or hostname */
	char kernel[128];	      /* uname -r */
	char recorder[64];	      /* "dnsreel-record 0.1.0" */
	int64_t boot_to_wall_ns;      /* wall-clock ns since epoch = ts_ns + boot_to_wall_ns */
	int64_t start_wall_ns;	      /* when recording started */
	uint32_t snaplen;	      /* max payload bytes kept per event */
};

enum dnsreel_netns_flags {
	DNSREEL_NETNS_HOST = 1u << 0, /* the node's own (init) netns */
	DNSREEL_NETNS_GONE = 1u << 1, /* detached: namespace disappeared */
};

/* One network namespace and who lives in it. Upserted: a later record for the same netns
 * replaces the earlier one (e.g. once the pod name becomes known). */
struct dnsreel_netns_ctx {
	uint64_t netns;		      /* inode number */
	uint32_t flags;		      /* enum dnsreel_netns_flags */
	int64_t first_seen_ns;	      /* boot ns when attached */
	char name[DNSREEL_SHORT_LEN]; /* "ip netns" name or runtime file name */
	char k8s_namespace[DNSREEL_SHORT_LEN];
	char k8s_podname[DNSREEL_NAME_LEN];
	char k8s_pod_uid[40];
	char k8s_containername[DNSREEL_SHORT_LEN];
	char runtime_containername[DNSREEL_NAME_LEN];
	char runtime_containerid[80];
	char ips[DNSREEL_NAME_LEN]; /* addresses of this netns, comma-separated text */
};

/* One process seen sending or receiving DNS. Keyed by (pid, start_ns): pids get reused. */
struct dnsreel_proc_ctx {
	uint32_t pid;
	uint32_t ppid;
	uint64_t start_ns; /* process start time, boot ns (from /proc/PID/stat) */
	uint64_t netns;
	uint64_t cgroup_id;
	uint32_t uid;
	uint32_t gid;
	char comm[16];
	char cmdline[DNSREEL_NAME_LEN]; /* arguments joined by spaces, cut */
	char cgroup[DNSREEL_NAME_LEN];	/* cgroup path */
	char k8s_pod_uid[40];
	char runtime_containerid[80];
};

/* A service VIP: renders as s/NAMESPACE/NAME:PORT. port 0 = any port. */
struct dnsreel_service_ctx {
	uint8_t ip_version;
	uint8_t proto; /* 0 = any */
	uint16_t port;
	uint8_t addr[16];
	char k8s_namespace[DNSREEL_SHORT_LEN];
	char name[DNSREEL_NAME_LEN];
};

/* Named cumulative counters: losses and statistics ("lost.ringbuf.cpu0", "lost.user",
 * "events.malformed", ...). Written at every flush; the last value of a name wins. */
struct dnsreel_counter {
	char name[DNSREEL_SHORT_LEN];
	uint64_t value;
};

/* ---- writer ---------------------------------------------------------------------------- */

struct dnsreel_capw;

/* The writer's defaults, for tools that document them. */
#define DNSREEL_CAPW_DEFAULT_ZSTD_LEVEL	   6
#define DNSREEL_CAPW_DEFAULT_SEGMENT_BYTES (64ull << 20)
#define DNSREEL_CAPW_DEFAULT_BLOCK_EVENTS  16384

struct dnsreel_capw_opts {
	size_t sz;		/* sizeof(struct dnsreel_capw_opts), for growth */
	uint32_t snaplen;	/* payload bytes kept (default 65535) */
	uint32_t block_events;	/* events per frame before it is flushed (default 16384) */
	uint64_t segment_bytes; /* rotate when a segment reaches this size (default 64 MiB) */
	uint64_t max_bytes;	/* ring mode: drop oldest segments past this total (0 = off) */
	int64_t max_age_ns;	/* ring mode: drop segments whose newest event is older (0 = off) */
	int zstd_level;		/* default 6 */
	bool no_fsync;		/* tests and benchmarks only */
	/* Optional: receives a message naming the file and what failed (SQLite's and zstd's own
	 * text included) whenever open or a later call fails. Must outlive the writer. */
	char *errbuf;
	size_t errlen;
	/* Who records, for the custody manifest (NULL: the effective user's name and the host
	 * name). Copied at open. */
	const char *custody_user;
	const char *custody_host;
};

/* Creates DIR (must not exist, or exist empty) and its index, and holds an exclusive lock on
 * DIR until close: a second writer on the same path gets -EBUSY ("in use") and touches
 * nothing. A failed open removes what it created. *out owned by the caller: release with
 * dnsreel_capw__close(). */
int dnsreel_capw__open(struct dnsreel_capw **out, const char *dir,
		       const struct dnsreel_capw_opts *opts);
/* Capture-wide facts; call before the first append. Copied. */
int dnsreel_capw__set_meta(struct dnsreel_capw *w, const struct dnsreel_meta *meta);
/* Context upserts. Copied; written with the next frame and again at the start of every
 * segment so each segment is self-contained. */
int dnsreel_capw__put_netns(struct dnsreel_capw *w, const struct dnsreel_netns_ctx *ns);
int dnsreel_capw__put_proc(struct dnsreel_capw *w, const struct dnsreel_proc_ctx *proc);
int dnsreel_capw__put_service(struct dnsreel_capw *w, const struct dnsreel_service_ctx *svc);
int dnsreel_capw__set_counter(struct dnsreel_capw *w, const char *name, uint64_t value);
/* Copies the event (payload cut to snaplen, orig_len kept). Flushes a frame when the block
 * is full. Events should come in roughly time order; a frame sorts its own events. */
int dnsreel_capw__append(struct dnsreel_capw *w, const struct dnsreel_event *ev);
/* Writes the pending block as a frame, syncs it and updates the index in one transaction.
 * A no-op with nothing pending. On -ENOSPC the capture up to the last flush stays valid; in
 * ring mode the writer first drops oldest segments and retries. */
int dnsreel_capw__flush(struct dnsreel_capw *w);
/* The zstd level of the frames written from now on (the level opened with stays the
 * capture's default): a recorder lowers it while the node's CPUs are busy. Any level zstd
 * has; DNSREEL_E_ARG otherwise. */
int dnsreel_capw__set_zstd_level(struct dnsreel_capw *w, int level);
/* Starts a new segment now (also done automatically by size). */
int dnsreel_capw__rotate(struct dnsreel_capw *w);

struct dnsreel_capw_stats {
	uint64_t events;	   /* appended */
	uint64_t frames;	   /* written */
	uint64_t segments;	   /* created */
	uint64_t segments_dropped; /* removed by ring mode */
	uint64_t bytes_payload;	   /* payload bytes appended */
	uint64_t bytes_disk;	   /* segment bytes currently on disk + index size */
	/* events that never reached the disk: refused by append while a flush failed (e.g.
	 * ENOSPC), or pending when close could not flush. Stored as counter "lost.write" with
	 * the next flush that succeeds. */
	uint64_t events_lost;
	/* Where flushes spend CPU (the flushing thread's CPU ns, cumulative): block encoding
	 * (with the catalog summary), zstd, segment write + fdatasync, SQLite index transaction
	 * and WAL checkpoint. */
	uint64_t ns_encode, ns_zstd, ns_write, ns_index;
	/* frames written at another level than the one the writer was opened with */
	uint64_t frames_relevel;
};
void dnsreel_capw__stats(const struct dnsreel_capw *w, struct dnsreel_capw_stats *st);
/* Flushes, finishes the index (end time, counters) and frees w, even on error. NULL ok. */
int dnsreel_capw__close(struct dnsreel_capw *w);

/* ---- reader ---------------------------------------------------------------------------- */

struct dnsreel_capr;

enum dnsreel_capr_flags {
	/* Ignore index.sqlite: build the catalog by scanning the segments (what reindex does). */
	DNSREEL_CAPR_SCAN = 1u << 0,
};

struct dnsreel_capr_opts {
	size_t sz;
	uint32_t flags; /* enum dnsreel_capr_flags */
};

/* Opens a capture read-only (SQLite read-only, defensive, untrusted schema off).
 * DNSREEL_E_VERSION for a newer major, DNSREEL_E_NOTCAPTURE if DIR is not a capture.
 * errbuf (may be NULL) receives a message naming file and offset. */
int dnsreel_capr__open(struct dnsreel_capr **out, const char *dir,
		       const struct dnsreel_capr_opts *opts, char *errbuf, size_t errlen);
void dnsreel_capr__close(struct dnsreel_capr *r);
const char *dnsreel_capr__path(const struct dnsreel_capr *r);
const struct dnsreel_meta *dnsreel_capr__meta(const struct dnsreel_capr *r);

/* What a frame holds, for pruning without decompressing it. */
struct dnsreel_frame_info {
	uint32_t segment; /* NNNNNN of seg/NNNNNN.zst */
	uint64_t offset;  /* byte offset of the frame's first byte in the segment */
	uint32_t length;  /* bytes of the frame (all zstd frames that make it up) */
	int64_t first_ts; /* boot ns, min over its events */
	int64_t last_ts;  /* boot ns, max */
	uint32_t events;
	uint32_t rcode_mask;	  /* bit r set: a response with rcode r (0..31, clamped) */
	uint8_t qr_mask;	  /* bit 0: has queries, bit 1: has responses */
	uint8_t proto_mask;	  /* bit 0: UDP, bit 1: TCP */
	uint16_t netns_count;	  /* distinct netns */
	const uint64_t *netns;	  /* sorted distinct netns inodes (owned by the reader) */
	uint32_t name_bloom_bits; /* size of bloom in bits (0 = no bloom: may hold any name) */
	const uint8_t *name_bloom;
};

/* Frames in catalog order: by first_ts, then segment and offset. */
size_t dnsreel_capr__frame_count(const struct dnsreel_capr *r);
const struct dnsreel_frame_info *dnsreel_capr__frame(const struct dnsreel_capr *r, size_t i);

/* Pushdown predicates; a frame that cannot hold a matching event is skipped. Zero = any. */
struct dnsreel_prune {
	int64_t since_wall_ns; /* events with wall time >= since */
	int64_t until_wall_ns; /* events with wall time <= until (0 = no bound) */
	size_t netns_count;    /* any of these netns */
	const uint64_t *netns;
	const char *name;    /* exact question name, any case, trailing dot optional */
	uint32_t rcode_mask; /* any of these rcodes (responses only) */
	uint8_t qr_mask;     /* 1 queries, 2 responses */
};
bool dnsreel_capr__frame_may_match(const struct dnsreel_capr *r, size_t i,
				   const struct dnsreel_prune *p);
/* Hash of a normalized name used in blooms (lowercase, trailing dot). */
uint64_t dnsreel_name_hash(const char *name, size_t len);

/* A decoded frame. Events and their payloads are owned by the block. */
struct dnsreel_block {
	size_t n;
	struct dnsreel_event *ev; /* sorted by ts_ns */
	void *priv;
};
/* Decodes frame i. On damage returns a negative code and fills errbuf with the segment path
 * and offset; the block is left empty. */
int dnsreel_capr__read_frame(struct dnsreel_capr *r, size_t i, struct dnsreel_block *blk,
			     char *errbuf, size_t errlen);
void dnsreel_block__release(struct dnsreel_block *blk);

/* Picks up frames and context appended since open (for --follow). Returns frames added.
 * New frames are numbered after the existing ones (sorted among themselves), so numbers already
 * used stay valid; pointers from dnsreel_capr__frame() taken before may not. Frames of segments
 * a ring-mode writer removed meanwhile stay listed and fail to read with a clear error. */
int dnsreel_capr__refresh(struct dnsreel_capr *r);

/* Context. Lookups return NULL when unknown. Pointers live until close. */
const struct dnsreel_netns_ctx *dnsreel_capr__netns(const struct dnsreel_capr *r, uint64_t netns);
size_t dnsreel_capr__netns_count(const struct dnsreel_capr *r);
const struct dnsreel_netns_ctx *dnsreel_capr__netns_at(const struct dnsreel_capr *r, size_t i);
size_t dnsreel_capr__proc_count(const struct dnsreel_capr *r);
const struct dnsreel_proc_ctx *dnsreel_capr__proc_at(const struct dnsreel_capr *r, size_t i);
size_t dnsreel_capr__service_count(const struct dnsreel_capr *r);
const struct dnsreel_service_ctx *dnsreel_capr__service_at(const struct dnsreel_capr *r, size_t i);
size_t dnsreel_capr__counter_count(const struct dnsreel_capr *r);
const struct dnsreel_counter *dnsreel_capr__counter_at(const struct dnsreel_capr *r, size_t i);

/* Totals from the catalog. */
struct dnsreel_capr_summary {
	uint64_t events;
	uint64_t frames;
	uint32_t segments;
	uint64_t bytes_segments;
	uint64_t bytes_index;
	int64_t first_ts, last_ts; /* boot ns */
};
void dnsreel_capr__summary(const struct dnsreel_capr *r, struct dnsreel_capr_summary *s);

/* True when the catalog came from scanning the segments (DNSREEL_CAPR_SCAN,
 * or index.sqlite missing or damaged); dnsreel_capr__problem() then names the first damage or
 * why the index was not used (NULL when none). */
bool dnsreel_capr__scanned(const struct dnsreel_capr *r);
const char *dnsreel_capr__problem(const struct dnsreel_capr *r);

/* ---- verify ---------------------------------------------------------------------------- */

/* Problem callback: one line naming file and offset. */
typedef void (*dnsreel_problem_fn)(void *ctx, const char *msg);

struct dnsreel_verify_opts {
	size_t sz;
	bool reindex; /* rebuild index.sqlite from the segments (atomically replaced) */
	dnsreel_problem_fn problem;
	void *ctx;
	/* custody: the root hash is checked against expect_root when set; root_out (may be NULL)
	 * receives the root computed from the segments; custody_note (may be NULL) a line such as
	 * "no chain: recorded before custody" */
	const char *expect_root;
	char *root_out;
	char *custody_note;
	size_t custody_note_len;
};
/* Checks checksums, frame order and index consistency. Returns the number of problems found
 * (0 = clean) or a negative error when the check itself could not run. */
int dnsreel_capture_verify(const char *dir, const struct dnsreel_verify_opts *opts);

/* ---- merged captures ------------------------------------------------------------------- */

/* A merged capture (dnsreel merge) joins captures of several nodes: NAME.reel/ holds
 * index.sqlite (the merged capture's own id, its inputs, the warnings given when it was made)
 * and parts/NNN-NODE.reel/, each a whole capture copied byte for byte from one input, so
 * segments, hash chains and indexes stay exactly as recorded. Readers open every part as a
 * capture of its own (netns inode numbers of different nodes never meet) on one time line.
 * Layout and manifest: capture/FORMAT.md §14.
 */

/* One input of a merged capture, as its manifest lists it. */
struct dnsreel_merged_input {
	char part[80]; /* directory name under parts/ */
	char capture_id[40];
	char node[DNSREEL_SHORT_LEN];
	char source[256];   /* the path merge was given, cut */
	char via[40];	    /* capture id of the merged capture it came through, or "" */
	char root_hash[80]; /* custody root hash of the input, "" when not known */
	int64_t boot_to_wall_ns;
	int64_t first_wall_ns; /* 0 and 0 for a capture without events */
	int64_t last_wall_ns;
	uint64_t events;
	uint64_t frames;
	uint64_t bytes; /* bytes copied */
};

struct dnsreel_merged {
	uint32_t format_major, format_minor;
	char capture_id[40]; /* the merged capture's own */
	char merger[64];     /* "dnsreel-merge 0.1.0" */
	int64_t created_wall_ns;
	size_t ninputs;
	struct dnsreel_merged_input *inputs; /* in part order */
	size_t nwarnings;
	char **warnings;
};

/* Reads dir's manifest when dir is a merged capture (a parts/ folder and no seg/): returns 1
 * and *out (release with dnsreel_merged__free()), 0 with *out NULL for any other directory,
 * or a negative error with errbuf naming the file: DNSREEL_E_VERSION for a newer format,
 * DNSREEL_E_INDEX for a damaged manifest or a part it lists that is missing. */
int dnsreel_merged__load(const char *dir, struct dnsreel_merged **out, char *errbuf, size_t errlen);
void dnsreel_merged__free(struct dnsreel_merged *m);

/* The captures readers open for paths: a merged capture becomes its parts (DIR/parts/NAME, in
 * part order), any other path stays as it is. *out is an array of *nout malloc'd strings,
 * owned by the caller: release with dnsreel_capture_expand_free(). Errors as
 * dnsreel_merged__load(). */
int dnsreel_capture_expand(const char *const *paths, size_t n, char ***out, size_t *nout,
			   char *errbuf, size_t errlen);
void dnsreel_capture_expand_free(char **paths, size_t n);

struct dnsreel_capture_merge_opts {
	size_t sz;
	const char *merger; /* stored as the merged capture's maker, e.g. "dnsreel-merge 0.1.0" */
	dnsreel_problem_fn warn; /* each warning as it is found (they are also stored) */
	void *warn_ctx;
	/* the time ranges of parts are called apart when one lacks more than this of the
	 * merged range (default 1 s) */
	int64_t coverage_slack_ns;
	bool no_fsync;		     /* tests only */
	volatile sig_atomic_t *stop; /* a nonzero *stop abandons the merge (nothing is left) */
	/* the nodes' clocks are checked against messages seen on two of them, decoding at most
	 * this many events per part from where all parts overlap (default 200000) */
	size_t clock_sample_events;
};

struct dnsreel_capture_merge_stats {
	uint32_t inputs;     /* captures given, merged ones counted by their parts */
	uint32_t parts;	     /* parts written */
	uint32_t duplicates; /* inputs left out: the same capture as another (same id, and its
			      * segments a prefix of the kept one's) */
	uint32_t warnings;
	uint64_t events;
	uint64_t frames;
	uint64_t bytes; /* bytes copied */
};

/* Writes a merged capture of inputs (plain or merged captures) to out, which must not exist:
 * each input is copied whole into out/parts/ (no re-encoding), parts in a fixed order (node,
 * first event, capture id) so the result does not depend on the order of inputs. An input
 * given twice, or two copies of one capture where one holds all the other's bytes, is kept
 * once (stats->duplicates); two copies of one capture that each hold events the other lacks
 * are refused. A damaged input, a running recorder's capture, or anything but directories and
 * regular files inside an input is refused. Everything is written under a temporary name beside
 * out and renamed at the end, so a failure (ENOSPC, a bad input) leaves nothing behind and
 * never touches the inputs. Returns 0 or a negative error, errbuf saying which input or file
 * failed and how. */
int dnsreel_capture_merge(const char *out, const char *const *inputs, size_t n,
			  const struct dnsreel_capture_merge_opts *opts,
			  struct dnsreel_capture_merge_stats *stats, char *errbuf, size_t errlen);

/* ---- packs --------------------------------------------------------------------------------- */

/* A pack is the capture in one POSIX ustar file (capture/FORMAT.md §13): members under
 * NAME.reel/, segments by number, custody.sig, index.sqlite last, no compression on top of
 * zstd. Every reader (dnsreel_capr__open, dnsreel_capture_verify, dnsreel_custody_compute)
 * takes a pack wherever it takes a directory and reads its members in place. */
struct dnsreel_pack_stats {
	uint64_t members;    /* files packed */
	uint64_t bytes_data; /* their bytes */
	uint64_t bytes_pack; /* the pack's size */
};
/* Writes the capture directory into out (through out.part, synced, renamed). -EBUSY while a
 * recorder writes the capture. stats may be NULL. */
int dnsreel_pack_write(const char *capture, const char *out, struct dnsreel_pack_stats *stats,
		       char *errbuf, size_t errlen);
/* Extracts a pack into the new directory dir (only the files a capture holds). Returns 0 for a
 * whole pack; for a cut one also 0, with errbuf saying what was lost ("" when nothing). */
int dnsreel_pack_extract(const char *pack, const char *dir, char *errbuf, size_t errlen);

/* ---- chain of custody -------------------------------------------------------------------- */

/* Every segment starts with a CHAIN record holding the chain link of the segments before it
 * (rooted at the capture id), and the index holds a manifest (capture/FORMAT.md §12): segment
 * names, sizes and BLAKE2b-256 hashes, recorder, node, kernel, start/end, who recorded (user,
 * host), the inputs of a derived capture, and the root hash = BLAKE2b-256 of that manifest's
 * canonical text. Everything in it is computed from the segments, so it can be checked. */
#define DNSREEL_HASH_BYTES 32
#define DNSREEL_HASH_HEX   65 /* 64 lowercase hex digits and a NUL */

/* A capture this one was derived from (merge, redact): its id and root hash. */
struct dnsreel_custody_input {
	char capture_id[40];
	char root[DNSREEL_HASH_HEX];  /* "" for an input recorded before custody */
	char role[DNSREEL_SHORT_LEN]; /* what was done with it: "merge", "redact", ... */
};

struct dnsreel_custody_segment {
	uint32_t segment;	     /* NNNNNN of seg/NNNNNN.zst */
	uint64_t bytes;		     /* file size */
	char hash[DNSREEL_HASH_HEX]; /* BLAKE2b-256 of the file's bytes */
	char prev[DNSREEL_HASH_HEX]; /* the link its CHAIN record holds ("" without one) */
	uint32_t chain_segment;	     /* the segment number its CHAIN record names (0: none) */
};

struct dnsreel_custody {
	bool chained; /* false: recorded before custody (format 1.0): no CHAIN records, nothing
		       * hashed, root and hashes "" */
	char root[DNSREEL_HASH_HEX];
	char chain_head[DNSREEL_HASH_HEX]; /* the link after the last segment */
	struct dnsreel_meta meta;	   /* from the first segment's META */
	char user[DNSREEL_SHORT_LEN];
	char host[DNSREEL_NAME_LEN];
	int64_t end_wall_ns; /* wall time of the newest event (0: none) */
	size_t nsegments;
	struct dnsreel_custody_segment *segments; /* by segment number */
	size_t ninputs;
	struct dnsreel_custody_input *inputs;
	char *manifest; /* the canonical text the root hashes (NUL-terminated) */
};

/* Hashes the segments of a capture (directory or pack) as they are on disk and builds its
 * manifest and root hash. *out owned by the caller: dnsreel_custody_free(). errbuf names what
 * could not be read. */
int dnsreel_custody_compute(const char *capture, struct dnsreel_custody **out, char *errbuf,
			    size_t errlen);
void dnsreel_custody_free(struct dnsreel_custody *c);
/* The same for an open reader, computed once and kept until close (merge and redact record
 * their inputs' roots with it). */
int dnsreel_capr__custody(struct dnsreel_capr *r, const struct dnsreel_custody **out);
/* Records an input of a derived capture; written into every segment and the manifest. Call
 * before the first flush. Copied. */
int dnsreel_capw__add_input(struct dnsreel_capw *w, const struct dnsreel_custody_input *in);

/* Ed25519 signatures (libsodium) over the manifest, kept in CAPTURE/custody.sig. */
#define DNSREEL_SIG_FILE "custody.sig"
/* Writes a new key pair: the secret key to path (mode 0600, must not exist) and the public
 * key to path.pub. */
int dnsreel_custody_keygen(const char *path, char *errbuf, size_t errlen);
/* Signs the capture's manifest as computed from its segments now; writes custody.sig
 * (replaced atomically). root_out (may be NULL) receives the root signed. */
int dnsreel_custody_sign(const char *capture, const char *keyfile, char root_out[DNSREEL_HASH_HEX],
			 char *errbuf, size_t errlen);
/* Checks custody.sig against the public key in pubfile and the manifest c computed from the
 * segments. 0 = good; DNSREEL_E_CORRUPT (bad or missing signature, other key, manifest changed
 * since signing) with errbuf saying which. */
int dnsreel_custody_check_sig(const char *capture, const struct dnsreel_custody *c,
			      const char *pubfile, char *errbuf, size_t errlen);

#endif
