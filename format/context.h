/* Context records: what a capture knows about the node, its network namespaces, processes and
 * services. They are written into the segments (so segments alone rebuild the index) and into
 * index tables. Strings are NUL-terminated and may be empty ("" = unknown).
 */
#ifndef DNSREEL_CONTEXT_H
#define DNSREEL_CONTEXT_H

#include <stdint.h>

#define DNSREEL_NAME_LEN 256 /* k8s names are at most 253 */
#define DNSREEL_SHORT_LEN 64

/* Capture-wide facts, written once per segment (so each segment stands alone). */
struct dnsreel_meta {
	uint32_t format_major;
	uint32_t format_minor;
	char capture_id[40];          /* random UUID, names this capture across merges */
	char node[DNSREEL_SHORT_LEN]; /* k8s.node: node name or hostname */
	char kernel[128];             /* uname -r */
	char recorder[64];            /* "dnsreel-record 0.1.0" */
	int64_t boot_to_wall_ns;      /* wall-clock ns since epoch = ts_ns + boot_to_wall_ns */
	int64_t start_wall_ns;        /* when recording started */
	uint32_t snaplen;             /* max payload bytes kept per event */
};

enum dnsreel_netns_flags {
	DNSREEL_NETNS_HOST = 1u << 0, /* the node's own (init) netns */
	DNSREEL_NETNS_GONE = 1u << 1, /* detached: namespace disappeared */
};

/* One network namespace and who lives in it. Upserted: a later record for the same netns
 * replaces the earlier one (e.g. once the pod name becomes known). */
struct dnsreel_netns_ctx {
	uint64_t netns;                            /* inode number */
	uint32_t flags;                            /* enum dnsreel_netns_flags */
	int64_t first_seen_ns;                     /* boot ns when attached */
	char name[DNSREEL_SHORT_LEN];              /* "ip netns" name or runtime file name */
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
	char cgroup[DNSREEL_NAME_LEN];  /* cgroup path */
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

#endif
