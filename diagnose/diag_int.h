/* Internals of libdnsreel_diagnose shared by its files: the finding accumulators (diag.c) and
 * the detectors' bounded tables (detect.c, rate.c). */
#ifndef DNSREEL_DIAG_INT_H
#define DNSREEL_DIAG_INT_H

#include "diagnose.h"

#define MS_NS 1000000LL
#define S_NS 1000000000LL
#define MIN_NS (60 * S_NS)

#define SET_MAX 8    /* pods, netns, servers kept per finding */
#define EX_MAX 32    /* example flow ids kept per finding (opts.max_examples at most) */
#define NUM_MAX 16   /* numbers per finding */
#define ACC_MAX 4096 /* findings tracked at once (id, subject) */

struct strset {
	char *v[SET_MAX];
	size_t n;
};

/* One finding being accumulated while the stream runs. */
struct acc {
	const char *id;
	char *subject;
	uint64_t hash;
	enum dnsreel_severity sev;
	uint64_t count;
	int64_t first, last;
	struct strset pods, netns, servers;
	char ex[EX_MAX][17];
	size_t nex;
	bool lookup_examples; /* examples are lookup ids: replay with --lookup-id */
	bool drop;	      /* decided at finish: not a finding */
	char numkey[NUM_MAX][48];
	double numval[NUM_MAX];
	size_t nnums;
	char *title, *fix, *replay;
	struct dnsreel_finding pub;
	const char *ptrs[3 * SET_MAX + EX_MAX];
	struct dnsreel_finding_num nums[NUM_MAX];
};

/* Latency distribution: log2 buckets of microseconds (1 us .. ~1 h). */
#define HIST_N 32
struct hist {
	uint64_t b[HIST_N];
	uint64_t n;
	int64_t max_ns;
	double sum_ns;
};
void dnsreel__dg_hist_add(struct hist *h, int64_t ns);
void dnsreel__dg_hist_merge(struct hist *into, const struct hist *h);
/* Upper bound of the bucket holding quantile q (0..1), in ns; 0 when empty. */
int64_t dnsreel__dg_hist_q(const struct hist *h, double q);

/* A client netns: pod text, and what the per-pod detectors count. */
struct pod {
	uint64_t key; /* 0 = free */
	uint32_t capture;
	uint64_t netns;
	char text[192];
	/* search path */
	uint64_t queries, lookups, walks, nx_before;
	double extra_ns;
	int64_t extra_max;
	/* NXDOMAIN storm: per-minute buckets */
	int64_t minute, first_minute, cur_first, cur_last;
	uint64_t cur_nx, nx_before_minute;
	char ex[5][17];
	size_t nex;
	/* its first minute: no usual rate of its own yet, judged at the end against the others */
	uint64_t first_nx;
	int64_t first_first, first_last;
	char first_ex[5][17];
	size_t first_nex;
};
#define POD_MAX 2048

struct up_server {
	uint64_t key;
	char text[64];
	uint64_t tries, answered, timeouts, servfail, refused, tc;
	uint64_t client_failed; /* client flows that ended SERVFAIL/REFUSED with this server tried */
	char last_failed[17];	/* ... the last of them, counted once however many tries */
	struct hist lat;
};
#define SERVER_MAX 256

struct fwd {
	uint64_t key;
	char text[192];
	char addr[64];
	uint64_t flows, refused;
	struct hist lat; /* inside the forwarder: its hop latency */
	/* per second: queries, refusals, and the latency of the seconds it refused in against
	 * the others (does it slow down under the load it sheds?) */
	int64_t sec;
	uint64_t cur_q, cur_ref, peak_q, peak_ref;
	struct hist cur_lat, lat_refusing, lat_other;
};
#define FWD_MAX 64

struct hot {
	uint64_t key;
	char name[256];
	int64_t minute, first_minute, cur_first, cur_last;
	uint64_t cur, before;
	char ex[5][17];
	size_t nex;
};
#define HOT_SETS 256
#define HOT_WAYS 8

struct dnsreel_diag {
	struct dnsreel_diag_opts o;
	const struct dnsreel_ctx *ctx;
	struct dnsreel_diag_stats st;
	bool finished;
	/* findings */
	struct acc **acc; /* open addressing on (id, subject) */
	size_t nacc;
	struct acc **sorted;
	size_t nsorted;
	/* per-key tables */
	struct pod *pods; /* POD_MAX, open addressing */
	struct up_server servers[SERVER_MAX];
	size_t nservers;
	struct fwd fwds[FWD_MAX];
	size_t nfwds;
	struct hot *hot; /* HOT_SETS * HOT_WAYS */
	/* conntrack race: the last client query of each socket */
	struct race_slot {
		uint64_t key;
		int64_t wall;
		uint16_t id, qtype;
		bool fast, slow, paired;
		int64_t latency;
		char flow_id[17];
	} *race;
	uint64_t race_pairs;
	double race_delay_sum;
	uint64_t race_delay_n, race_unanswered;
	/* search path: open lookups */
	struct lk_slot {
		uint64_t key;
		int64_t start;
		uint32_t nx;
		bool done;
	} *lk;
	/* upstream tries already counted (one try may serve several client flows) */
	uint64_t *upseen;
	/* truncation */
	struct tc_q {
		uint64_t key;
		uint16_t edns; /* 0: no EDNS (512) */
		bool has;
	} *tcq;	       /* UDP queries by (id, name, type): their EDNS buffer */
	uint64_t *tcseen; /* truncated messages by (id, name, type), counted once */
	struct tc_retry {
		uint64_t key;
		int64_t wall;
	} *tcr; /* truncated client flows by (client, name, type), awaiting the TCP retry */
	uint64_t tc_msgs, tc_no_edns, tc_flows, tc_tcp_retries, tc_up;
	uint32_t tc_size_max, tcp_size_max, tc_edns_min, tc_edns_max;
	uint64_t *bigseen; /* UDP answers over their query's buffer, by (id, name, type) */
	uint32_t big_size_max, big_edns_min;
	/* NXDOMAIN per pod-minute over every pod-minute with any */
	uint64_t pm_sum, pm_n;
	/* unanswered */
	uint64_t unanswered_retries;
	/* recorder */
	uint64_t lost_total;
};

#define RACE_SLOTS 4096
#define LK_SLOTS 16384
#define UPSEEN_SLOTS 8192
#define TC_SLOTS 4096

uint64_t dnsreel__dg_hash_str(uint64_t h, const char *s);
uint64_t dnsreel__dg_hash_lower(uint64_t h, const char *s);
/* The accumulator of (id, subject), made on first use; NULL when the table is full (counted in
 * stats.dropped_keys) or out of memory (*err = -ENOMEM). */
struct acc *dnsreel__dg_acc(struct dnsreel_diag *d, const char *id, const char *subject,
			    enum dnsreel_severity sev, int *err);
/* One occurrence at wall (0: unknown), with its example flow id (NULL: none). */
void dnsreel__dg_hit(struct dnsreel_diag *d, struct acc *a, uint64_t n, int64_t wall,
		     const char *flow_id);
int dnsreel__dg_set_add(struct strset *s, const char *text);
void dnsreel__dg_num(struct acc *a, const char *key, double v);
/* "ns/pod", the netns name, or "netns:INODE". */
void dnsreel__dg_pod_text(const struct dnsreel_netns_ctx *ns, uint64_t netns, char *buf,
			  size_t len);
struct pod *dnsreel__dg_pod(struct dnsreel_diag *d, uint32_t capture, uint64_t netns);

int dnsreel__dg_detect_rec(struct dnsreel_diag *d, const struct dnsreel_rec *rec);
int dnsreel__dg_detect_flow(struct dnsreel_diag *d, const struct dnsreel_flow *f);
/* Per-minute rates (storms, hot names): a flow, and the end of the stream. */
int dnsreel__dg_rate_flow(struct dnsreel_diag *d, const struct dnsreel_flow *f, struct pod *p);
int dnsreel__dg_rate_finish(struct dnsreel_diag *d);
/* Ends the forwarder's current second (at a new second, and at the end). */
void dnsreel__dg_fwd_roll(struct fwd *w);
/* Turns the detectors' tables into numbers, titles and fixes of their findings. */
int dnsreel__dg_detect_finish(struct dnsreel_diag *d);
/* Title and fix once numbers are in: malloc'd. */
int dnsreel__dg_describe(struct dnsreel_diag *d, struct acc *a);

#endif
