/* Merged captures: how far apart the nodes' clocks are, measured from the traffic itself. A DNS
 * message sent by one node and seen on another must be seen there after it was sent; with the
 * clock offset s = (clock of j) - (clock of i), each message from i bounds s from above by
 * t_j - t_i, each message from j bounds it from below by t_j - t_i. A message's origin is the
 * part whose netns owns its source address. Only a bounded sample is decoded (the first events
 * from where all parts overlap), so the merge stays bound by copying.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "capture_int.h"

struct obs {
	uint64_t key;	/* hash of the DNS message bytes */
	int64_t wall;	/* first time this part saw it */
	int32_t origin; /* part whose netns owns the source address, -1 unknown */
};

struct owner {
	uint8_t addr[16];
	int32_t part;
};

static int cmp_obs(const void *x, const void *y)
{
	const struct obs *a = x, *b = y;
	if (a->key != b->key)
		return a->key < b->key ? -1 : 1;
	return a->wall < b->wall ? -1 : a->wall > b->wall;
}

static int add_owners(struct dnsreel_capr *r, int32_t part, struct owner **ow, size_t *n,
		      size_t *cap)
{
	for (size_t i = 0; i < dnsreel_capr__netns_count(r); i++) {
		char ips[DNSREEL_NAME_LEN];
		snprintf(ips, sizeof(ips), "%s", dnsreel_capr__netns_at(r, i)->ips);
		char *save = NULL;
		for (char *t = strtok_r(ips, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
			uint8_t a[16] = {0};
			if (inet_pton(AF_INET, t, a) != 1 && inet_pton(AF_INET6, t, a) != 1)
				continue;
			if (*n == *cap) {
				size_t nc = *cap ? 2 * *cap : 64;
				struct owner *no = realloc(*ow, nc * sizeof(*no));
				if (!no)
					return -ENOMEM;
				*ow = no;
				*cap = nc;
			}
			memcpy((*ow)[*n].addr, a, 16);
			(*ow)[(*n)++].part = part;
		}
	}
	return 0;
}

static int32_t owner_of(const struct owner *ow, size_t n, const uint8_t addr[16])
{
	int32_t part = -1;
	for (size_t i = 0; i < n; i++)
		if (!memcmp(ow[i].addr, addr, 16)) {
			if (part >= 0 && part != ow[i].part)
				return -1; /* the same address on two nodes says nothing */
			part = ow[i].part;
		}
	return part;
}

/* The sample of a part: its UDP DNS messages from wall time from on, at most max of them, sorted
 * by message, each message once (its first sighting). */
static int sample(struct dnsreel_capr *r, int64_t from, size_t max, const struct owner *ow,
		  size_t now, struct obs **out, size_t *nout)
{
	int64_t off = dnsreel_capr__meta(r)->boot_to_wall_ns;
	size_t nf = dnsreel_capr__frame_count(r), n = 0, cap = 0;
	struct obs *o = NULL;
	int err = 0;
	for (size_t i = 0; i < nf && n < max && !err; i++) {
		const struct dnsreel_frame_info *fi = dnsreel_capr__frame(r, i);
		if (fi->last_ts + off < from)
			continue;
		struct dnsreel_block blk;
		if (dnsreel_capr__read_frame(r, i, &blk, NULL, 0))
			continue; /* damage is verify's to report; the sample just has less */
		for (size_t k = 0; k < blk.n && n < max; k++) {
			const struct dnsreel_event *ev = &blk.ev[k];
			if (ev->proto != 17 || ev->cap_len < 12)
				continue;
			if (n == cap) {
				size_t nc = cap ? 2 * cap : 4096;
				struct obs *no = realloc(o, nc * sizeof(*no));
				if (!no) {
					err = -ENOMEM;
					break;
				}
				o = no;
				cap = nc;
			}
			o[n].key = dnsreel_hash_bytes(ev->payload, ev->cap_len, 0x6d657267);
			o[n].wall = ev->ts_ns + off;
			o[n].origin = owner_of(ow, now, ev->src_addr);
			n++;
		}
		dnsreel_block__release(&blk);
	}
	if (err) {
		free(o);
		return err;
	}
	if (n) /* qsort wants a real array even for none */
		qsort(o, n, sizeof(*o), cmp_obs);
	size_t w = 0;
	for (size_t i = 0; i < n; i++)
		if (!w || o[w - 1].key != o[i].key)
			o[w++] = o[i];
	*out = o;
	*nout = w;
	return 0;
}

static void fmt_ns(int64_t ns, char *buf, size_t len)
{
	double a = (double)(ns < 0 ? -ns : ns);
	if (a < 1e6)
		snprintf(buf, len, "%.1f us", a / 1e3);
	else if (a < 1e9)
		snprintf(buf, len, "%.1f ms", a / 1e6);
	else
		snprintf(buf, len, "%.2f s", a / 1e9);
}

/* Messages further apart than this are not one message seen twice (an identical retry later). */
#define PAIR_MAX_NS (10LL * 1000000000LL)

int dr_merge_clock_check(const char *const *dirs, const char *const *nodes, size_t n,
			 int64_t from_wall, size_t max_events, dr_clock_fn fn, void *ctx)
{
	struct dnsreel_capr **r = calloc(n, sizeof(*r));
	struct obs **o = calloc(n, sizeof(*o));
	size_t *no = calloc(n, sizeof(*no));
	struct owner *ow = NULL;
	size_t now = 0, owcap = 0;
	int err = r && o && no ? 0 : -ENOMEM;
	for (size_t i = 0; !err && i < n; i++)
		if (dnsreel_capr__open(&r[i], dirs[i], NULL, NULL, 0) == 0)
			err = add_owners(r[i], (int32_t)i, &ow, &now, &owcap);
	for (size_t i = 0; !err && i < n; i++)
		if (r[i])
			err = sample(r[i], from_wall, max_events, ow, now, &o[i], &no[i]);
	for (size_t i = 0; !err && i < n; i++)
		for (size_t j = i + 1; !err && j < n; j++) {
			/* s = clock of j - clock of i: below every t_j - t_i of a message from i,
			 * above every t_j - t_i of a message from j */
			int64_t hi = INT64_MAX, lo = INT64_MIN;
			uint64_t from_i = 0, from_j = 0;
			for (size_t a = 0, b = 0; a < no[i] && b < no[j];) {
				if (o[i][a].key != o[j][b].key) {
					o[i][a].key < o[j][b].key ? a++ : b++;
					continue;
				}
				int64_t d = o[j][b].wall - o[i][a].wall;
				/* both parts must see it come from one node: a source rewritten on
				 * the way (SNAT) names no origin */
				int32_t org =
				    o[i][a].origin == o[j][b].origin ? o[i][a].origin : -1;
				if (d > -PAIR_MAX_NS && d < PAIR_MAX_NS) {
					if (org == (int32_t)i) {
						from_i++;
						hi = d < hi ? d : hi;
					} else if (org == (int32_t)j) {
						from_j++;
						lo = d > lo ? d : lo;
					}
				}
				a++;
				b++;
			}
			char msg[700], x[32], y[32];
			if (hi < 0 && (lo == INT64_MIN || lo <= hi)) {
				fmt_ns(hi, x, sizeof(x));
				snprintf(
				    msg, sizeof(msg),
				    "node %s's clock is at least %s behind node %s's: a message "
				    "from %s was seen on %s %s before it left (%llu messages "
				    "checked): cross-node order is unreliable by that much",
				    nodes[j], x, nodes[i], nodes[i], nodes[j], x,
				    (unsigned long long)(from_i + from_j));
				err = fn(ctx, msg);
			} else if (lo > 0 && (hi == INT64_MAX || lo <= hi)) {
				fmt_ns(lo, x, sizeof(x));
				snprintf(
				    msg, sizeof(msg),
				    "node %s's clock is at least %s ahead of node %s's: a message "
				    "from %s was seen on %s %s before it left (%llu messages "
				    "checked): cross-node order is unreliable by that much",
				    nodes[j], x, nodes[i], nodes[j], nodes[i], x,
				    (unsigned long long)(from_i + from_j));
				err = fn(ctx, msg);
			} else if (lo > hi && from_i && from_j) {
				fmt_ns(lo, x, sizeof(x));
				fmt_ns(hi, y, sizeof(y));
				snprintf(
				    msg, sizeof(msg),
				    "nodes %s and %s: their messages disagree on the clock offset "
				    "(at least %s%s, at most %s%s; did a clock step while "
				    "recording?): cross-node order is unreliable by %s",
				    nodes[i], nodes[j], lo < 0 ? "-" : "", x, hi < 0 ? "-" : "", y,
				    x);
				err = fn(ctx, msg);
			}
		}
	for (size_t i = 0; i < n; i++) {
		if (r && r[i])
			dnsreel_capr__close(r[i]);
		if (o)
			free(o[i]);
	}
	free(r);
	free(o);
	free(no);
	free(ow);
	return err;
}
