/* The aggregates' layout, shared by agg.c (which fills them) and page.c (which draws them). */
#ifndef DNSREEL_REPORT_INT_H
#define DNSREEL_REPORT_INT_H

#include "report.h"

/* Outcome series, bottom to top in the time chart. */
enum { RS_SUCCESS, RS_NXDOMAIN, RS_SERVFAIL, RS_REFUSED, RS_OTHER, RS_UNANSWERED, RS_COUNT };
extern const char *const dnsreel_report_series_names[RS_COUNT];

/* Latency buckets: upper bounds from 50 us to 10 s, then everything slower. */
enum { RL_BUCKETS = 18 };
extern const int64_t dnsreel_report_lat_edges[RL_BUCKETS - 1];
extern const char *const dnsreel_report_lat_labels[RL_BUCKETS];

struct report_hist {
	uint64_t b[RL_BUCKETS];
	uint64_t n;
	int64_t max_ns;
	double sum_ns;
};

/* Top-N by count over a bounded table: when full, the lower half by count is dropped and the
 * largest count dropped becomes the error bound of every key counted after (so a count shown
 * is exact while err is 0, and at most err too low otherwise). */
struct report_top_ent {
	char key[256];
	uint64_t count, errors, nxdomain, err;
	bool used;
};
struct report_top {
	struct report_top_ent *e;
	size_t cap, n;
	uint32_t *slot; /* hash slots (2 * cap): entry index + 1, 0 = empty */
	uint64_t floor; /* the error bound of keys first counted now */
	uint64_t evictions;
};

enum { RA_SERVERS = 16 };

struct report_server {
	char label[DNSREEL_RF_LABEL];
	uint64_t tries, answered, servfail, refused, other_err, tc;
	struct report_hist lat;
};

struct dnsreel_report_agg {
	struct dnsreel_report_agg_opts o;
	uint64_t flows, client_flows, forwarder_flows, retries, lookups_first;
	uint64_t series[RS_COUNT];
	uint64_t origin[4]; /* non-Success rcodes by the role that produced them */
	int64_t first_wall, last_wall;
	/* time buckets: b[i] counts flows starting in [t0 + i * width, t0 + (i + 1) * width) */
	int64_t t0, width_ns;
	size_t nb;
	uint64_t (*b)[RS_COUNT];
	struct report_hist role_lat[4];
	struct report_server srv[RA_SERVERS];
	size_t nsrv;
	struct report_server srv_rest; /* servers past RA_SERVERS */
	uint64_t lost[2][4];	       /* unanswered: [response][role] last seen */
	uint64_t lost_unseen;	       /* unanswered with no place known */
	struct report_top pods, names;
	/* the K slowest answered flows, the K most broken (unanswered, then errors) */
	struct dnsreel_report_flow *slow, *broken;
	size_t nslow, nbroken;
	int *broken_rank;
	uint64_t *broken_seq, seq;
};

/* snprintf whose cut at len is intended (labels drawn in a fixed room). */
void dnsreel_report_cut(char *buf, size_t len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* The entries of t by count, largest first (ties by key): the first n, at most max, into out. */
size_t dnsreel_report_top_sorted(const struct report_top *t, const struct report_top_ent **out,
				 size_t max);
/* The upper bound of the bucket holding quantile q (0..1) of h, in ns; -1 when empty. */
int64_t dnsreel_report_hist_quantile(const struct report_hist *h, double q);

#endif
