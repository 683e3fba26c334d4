/* The report's aggregates, fed one flow at a time in client-query order. Every structure has a
 * fixed size chosen at creation: time buckets merge pairwise when they run out, top-N tables
 * drop their lower half when full, and only K flows of each kind are copied. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "dnsreel.h"
#include "report_int.h"

const char *const dnsreel_report_series_names[RS_COUNT] = {
    "Success", "NameError (NXDOMAIN)", "ServerFailure", "Refused", "other error", "unanswered",
};

#define US 1000LL
#define MS 1000000LL
#define S  1000000000LL
const int64_t dnsreel_report_lat_edges[RL_BUCKETS - 1] = {
    50 * US, 100 * US, 200 * US, 500 * US, 1 * MS, 2 * MS, 5 * MS, 10 * MS, 20 * MS,
    50 * MS, 100 * MS, 200 * MS, 500 * MS, 1 * S,  2 * S,  5 * S,  10 * S,
};
const char *const dnsreel_report_lat_labels[RL_BUCKETS] = {
    "50us", "100us", "200us", "500us", "1ms", "2ms", "5ms", "10ms", "20ms",
    "50ms", "100ms", "200ms", "500ms", "1s",  "2s",  "5s",  "10s",  "slower",
};

static void hist_add(struct report_hist *h, int64_t ns)
{
	size_t b = 0;
	while (b < RL_BUCKETS - 1 && ns > dnsreel_report_lat_edges[b])
		b++;
	h->b[b]++;
	h->n++;
	h->sum_ns += (double)ns;
	if (ns > h->max_ns)
		h->max_ns = ns;
}

int64_t dnsreel_report_hist_quantile(const struct report_hist *h, double q)
{
	if (!h->n)
		return -1;
	uint64_t want = (uint64_t)(q * (double)h->n), seen = 0;
	if (want >= h->n)
		want = h->n - 1;
	for (size_t b = 0; b < RL_BUCKETS; b++) {
		seen += h->b[b];
		if (seen > want)
			return b < RL_BUCKETS - 1 ? dnsreel_report_lat_edges[b] : h->max_ns;
	}
	return h->max_ns;
}

/* ---- top-N ------------------------------------------------------------------------------- */

static int top_init(struct report_top *t, size_t cap)
{
	t->cap = cap;
	t->e = calloc(cap, sizeof(*t->e));
	t->slot = calloc(cap * 2, sizeof(*t->slot));
	return t->e && t->slot ? 0 : -ENOMEM;
}

static void top_free(struct report_top *t)
{
	free(t->e);
	free(t->slot);
}

static uint32_t top_hash(const char *k)
{
	uint32_t h = 2166136261u;
	for (; *k; k++)
		h = (h ^ (unsigned char)*k) * 16777619u;
	return h;
}

static void top_rehash(struct report_top *t)
{
	memset(t->slot, 0, t->cap * 2 * sizeof(*t->slot));
	for (size_t i = 0; i < t->n; i++) {
		size_t s = top_hash(t->e[i].key) % (t->cap * 2);
		while (t->slot[s])
			s = (s + 1) % (t->cap * 2);
		t->slot[s] = (uint32_t)i + 1;
	}
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

/* Drops the keys counted at most the median: the table then has room for half its size. */
static void top_evict(struct report_top *t)
{
	uint64_t *c = malloc(t->n * sizeof(*c));
	uint64_t median = 0;
	if (c) {
		for (size_t i = 0; i < t->n; i++)
			c[i] = t->e[i].count;
		qsort(c, t->n, sizeof(*c), cmp_u64);
		median = c[t->n / 2];
		free(c);
	}
	size_t w = 0;
	for (size_t i = 0; i < t->n; i++) {
		if (t->e[i].count <= median) {
			if (t->e[i].count > t->floor)
				t->floor = t->e[i].count;
			continue;
		}
		if (w != i)
			t->e[w] = t->e[i];
		w++;
	}
	/* all equal to the median: drop them all rather than loop */
	t->n = w;
	t->evictions++;
	top_rehash(t);
}

static struct report_top_ent *top_get(struct report_top *t, const char *key)
{
	size_t s = top_hash(key) % (t->cap * 2);
	while (t->slot[s]) {
		struct report_top_ent *e = &t->e[t->slot[s] - 1];
		if (!strcmp(e->key, key))
			return e;
		s = (s + 1) % (t->cap * 2);
	}
	if (t->n == t->cap) {
		top_evict(t);
		s = top_hash(key) % (t->cap * 2);
		while (t->slot[s])
			s = (s + 1) % (t->cap * 2);
	}
	struct report_top_ent *e = &t->e[t->n];
	memset(e, 0, sizeof(*e));
	dnsreel_report_cut(e->key, sizeof(e->key), "%s", key);
	e->err = t->floor;
	e->used = true;
	t->slot[s] = (uint32_t)++t->n;
	return e;
}

static int cmp_top(const void *a, const void *b)
{
	const struct report_top_ent *x = *(const struct report_top_ent *const *)a,
				    *y = *(const struct report_top_ent *const *)b;
	if (x->count != y->count)
		return x->count > y->count ? -1 : 1;
	return strcmp(x->key, y->key);
}

size_t dnsreel_report_top_sorted(const struct report_top *t, const struct report_top_ent **out,
				 size_t max)
{
	const struct report_top_ent **all = malloc((t->n ? t->n : 1) * sizeof(*all));
	if (!all)
		return 0;
	for (size_t i = 0; i < t->n; i++)
		all[i] = &t->e[i];
	qsort(all, t->n, sizeof(*all), cmp_top);
	size_t n = t->n < max ? t->n : max;
	memcpy(out, all, n * sizeof(*out));
	free(all);
	return n;
}

/* ---- the aggregate ----------------------------------------------------------------------- */

int dnsreel_report_agg__new(struct dnsreel_report_agg **out,
			    const struct dnsreel_report_agg_opts *opts)
{
	*out = NULL;
	if (!opts || opts->sz < sizeof(size_t))
		return DNSREEL_E_ARG;
	struct dnsreel_report_agg *a = calloc(1, sizeof(*a));
	if (!a)
		return -ENOMEM;
	memcpy(&a->o, opts, opts->sz < sizeof(a->o) ? opts->sz : sizeof(a->o));
	a->o.sz = sizeof(a->o);
	if (!a->o.top)
		a->o.top = 10;
	if (!a->o.keep)
		a->o.keep = 10;
	if (a->o.max_buckets < 2)
		a->o.max_buckets = 600;
	a->o.max_buckets &= ~(size_t)1; /* pairs merge */
	a->width_ns = S;
	a->b = calloc(a->o.max_buckets, sizeof(*a->b));
	a->slow = calloc(a->o.keep, sizeof(*a->slow));
	a->broken = calloc(a->o.keep, sizeof(*a->broken));
	a->broken_rank = calloc(a->o.keep, sizeof(*a->broken_rank));
	a->broken_seq = calloc(a->o.keep, sizeof(*a->broken_seq));
	if (!a->b || !a->slow || !a->broken || !a->broken_rank || !a->broken_seq ||
	    top_init(&a->pods, 4096) || top_init(&a->names, 4096)) {
		dnsreel_report_agg__free(a);
		return -ENOMEM;
	}
	*out = a;
	return 0;
}

void dnsreel_report_agg__free(struct dnsreel_report_agg *a)
{
	if (!a)
		return;
	free(a->b);
	free(a->slow);
	free(a->broken);
	free(a->broken_rank);
	free(a->broken_seq);
	top_free(&a->pods);
	top_free(&a->names);
	free(a);
}

uint64_t dnsreel_report_agg__flows(const struct dnsreel_report_agg *a)
{
	return a->flows;
}

static int series_of(const struct dnsreel_flow *f)
{
	if (!f->answered)
		return RS_UNANSWERED;
	switch (f->rcode) {
	case 0:
		return RS_SUCCESS;
	case 2:
		return RS_SERVFAIL;
	case 3:
		return RS_NXDOMAIN;
	case 5:
		return RS_REFUSED;
	default:
		return RS_OTHER;
	}
}

/* Time buckets: a flow before the first bucket counts in it; past the last, neighbours merge
 * (the width doubles) until it fits. */
static void bucket_add(struct dnsreel_report_agg *a, int64_t wall, int s)
{
	if (!a->nb) {
		a->t0 = wall - ((wall % S) + S) % S;
		a->nb = 1;
	}
	int64_t off = wall > a->t0 ? wall - a->t0 : 0;
	while (off / a->width_ns >= (int64_t)a->o.max_buckets) {
		size_t half = a->o.max_buckets / 2;
		for (size_t i = 0; i < half; i++)
			for (int k = 0; k < RS_COUNT; k++)
				a->b[i][k] = a->b[2 * i][k] + a->b[2 * i + 1][k];
		memset(a->b + half, 0, half * sizeof(*a->b));
		a->nb = (a->nb + 1) / 2;
		a->width_ns *= 2;
	}
	size_t i = (size_t)(off / a->width_ns);
	a->b[i][s]++;
	if (i + 1 > a->nb)
		a->nb = i + 1;
}

static void server_add(struct dnsreel_report_agg *a, const char *label,
		       const struct dnsreel_flow_upstream *u)
{
	struct report_server *sv = NULL;
	for (size_t i = 0; i < a->nsrv && !sv; i++)
		if (!strcmp(a->srv[i].label, label))
			sv = &a->srv[i];
	if (!sv && a->nsrv < RA_SERVERS) {
		sv = &a->srv[a->nsrv++];
		dnsreel_report_cut(sv->label, sizeof(sv->label), "%s", label);
	}
	if (!sv) {
		sv = &a->srv_rest;
		dnsreel_report_cut(sv->label, sizeof(sv->label), "other servers");
	}
	sv->tries++;
	if (!u->answered)
		return;
	sv->answered++;
	sv->tc += u->tc;
	if (u->rcode == 2)
		sv->servfail++;
	else if (u->rcode == 5)
		sv->refused++;
	else if (u->rcode != 0 && u->rcode != 3)
		sv->other_err++;
	if (u->latency_ns >= 0)
		hist_add(&sv->lat, u->latency_ns);
}

/* How broken a flow is, for keeping the worst K: unanswered, then server errors, then
 * NXDOMAIN; 0 = not broken. */
static int broken_rank(const struct dnsreel_flow *f)
{
	if (!f->answered)
		return 3;
	if (f->rcode == 0)
		return 0;
	return f->rcode == 3 ? 1 : 2;
}

static void keep_flows(struct dnsreel_report_agg *a, const struct dnsreel_ctx *ctx,
		       const struct dnsreel_flow *f)
{
	size_t K = a->o.keep;
	if (f->answered && f->latency_ns >= 0) {
		/* replace the fastest of the kept when full; ties keep the earlier flow */
		size_t at = a->nslow;
		if (a->nslow == K) {
			at = 0;
			for (size_t i = 1; i < K; i++)
				if (a->slow[i].latency_ns < a->slow[at].latency_ns)
					at = i;
			if (f->latency_ns <= a->slow[at].latency_ns)
				at = K;
		} else {
			a->nslow++;
		}
		if (at < K)
			dnsreel_report_flow_copy(&a->slow[at], ctx, f);
	}
	int r = broken_rank(f);
	if (r) {
		size_t at = a->nbroken;
		if (a->nbroken == K) {
			/* the least broken, latest of them, goes */
			at = 0;
			for (size_t i = 1; i < K; i++)
				if (a->broken_rank[i] < a->broken_rank[at] ||
				    (a->broken_rank[i] == a->broken_rank[at] &&
				     a->broken_seq[i] > a->broken_seq[at]))
					at = i;
			if (r <= a->broken_rank[at])
				at = K;
		} else {
			a->nbroken++;
		}
		if (at < K) {
			dnsreel_report_flow_copy(&a->broken[at], ctx, f);
			a->broken_rank[at] = r;
			a->broken_seq[at] = a->seq;
		}
	}
}

int dnsreel_report_agg__add(struct dnsreel_report_agg *a, const struct dnsreel_ctx *ctx,
			    const struct dnsreel_flow *f)
{
	int s = series_of(f);
	a->seq++;
	a->flows++;
	a->series[s]++;
	a->retries += f->retries;
	if (f->client_role == DNSREEL_ROLE_FORWARDER)
		a->forwarder_flows++;
	else
		a->client_flows++;
	if (!strcmp(f->flow_id, f->lookup_id))
		a->lookups_first++;
	if (a->flows == 1 || f->wall_ns < a->first_wall)
		a->first_wall = f->wall_ns;
	if (f->wall_ns > a->last_wall)
		a->last_wall = f->wall_ns;
	if (f->answered && f->rcode && f->rcode_origin >= 0 && f->rcode_origin < 4)
		a->origin[f->rcode_origin]++;
	bucket_add(a, f->wall_ns, s);

	/* latency per hop role: the first sighting of each role in each transaction */
	uint32_t seen[8] = {0};
	for (size_t i = 0; i < f->nhops; i++) {
		const struct dnsreel_flow_hop *hp = &f->hops[i];
		size_t t = hp->transaction < 8 ? hp->transaction : 7;
		if (!hp->query || hp->role > DNSREEL_ROLE_UPSTREAM || (seen[t] & (1u << hp->role)))
			continue;
		seen[t] |= 1u << hp->role;
		if (hp->latency_ns >= 0)
			hist_add(&a->role_lat[hp->role], hp->latency_ns);
	}
	char label[DNSREEL_RF_LABEL];
	for (size_t i = 0; i < f->nupstream; i++) {
		const struct dnsreel_flow_upstream *u = &f->upstream[i];
		if (u->query)
			dnsreel_event_addr_str(u->query, false, true, label, sizeof(label));
		else
			dnsreel_report_cut(label, sizeof(label), "?");
		server_add(a, label, u);
	}
	if (!f->answered) {
		if (f->has_lost && f->lost.role <= DNSREEL_ROLE_UPSTREAM)
			a->lost[f->lost.response ? 1 : 0][f->lost.role]++;
		else
			a->lost_unseen++;
	}

	/* top pods (by client netns) and names */
	char key[256];
	const struct dnsreel_netns_ctx *ns = f->client_ns;
	if (ns && ns->k8s_podname[0])
		dnsreel_report_cut(key, sizeof(key), "%s/%s", ns->k8s_namespace, ns->k8s_podname);
	else if (ns && ns->name[0])
		dnsreel_report_cut(key, sizeof(key), "netns %s", ns->name);
	else if (f->query)
		dnsreel_event_addr_str(f->query, true, false, key, sizeof(key));
	else
		dnsreel_report_cut(key, sizeof(key), "netns %llu",
				   (unsigned long long)f->client_netns);
	struct report_top_ent *e = top_get(&a->pods, key);
	e->count++;
	e->errors += s != RS_SUCCESS && s != RS_NXDOMAIN;
	e->nxdomain += s == RS_NXDOMAIN;
	e = top_get(&a->names, f->name ? f->name : "");
	e->count++;
	e->errors += s != RS_SUCCESS && s != RS_NXDOMAIN;
	e->nxdomain += s == RS_NXDOMAIN;

	keep_flows(a, ctx, f);
	return 0;
}
