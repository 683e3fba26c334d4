/* Events (in time order) to decoded records: UDP payloads directly, TCP through reassembly,
 * each DNS message parsed once, and responses matched to their query for latency.
 *
 * Latency follows trace_dns: a response's latency is its time minus the time of the query seen
 * at the same observation point (capture, netns, interface), with the endpoints reversed, the
 * same DNS id and protocol. Unanswered queries are forgotten after query_timeout_ns; the table
 * is rebuilt without them every half timeout of stream time, so memory stays bounded by the
 * query rate times the timeout (and by a hard entry cap).
 */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "ctx_priv.h"
#include "dnsreel.h"
#include "tcp_priv.h"
#include "view.h"

#define MAX_QUERIES (4u << 20) /* hard cap on remembered queries */

struct qkey {
	uint64_t netns;
	uint32_t capture;
	uint32_t ifindex;
	uint16_t id;
	uint16_t cport, sport; /* client, server */
	uint8_t proto, ver;
	uint8_t caddr[16], saddr[16];
};

struct qent {
	struct qkey k;
	int64_t ts_ns;
	int64_t wall_ns;
	bool used;
};

struct dnsreel_decoder {
	const struct dnsreel_ctx *ctx;
	int64_t timeout_ns;
	struct dnsreel_tcp *tcp;
	struct qent *q;
	size_t qcap, qn;
	int64_t next_sweep;
	/* per-feed state for the TCP callback */
	struct dnsreel_rec rec;
	dnsreel_rec_fn fn;
	void *arg;
	/* cache of the last netns lookup: consecutive events mostly share it */
	uint32_t last_cap;
	uint64_t last_netns;
	const struct dnsreel_netns_ctx *last_ns;
};

static uint64_t qhash(const struct qkey *k)
{
	uint64_t a, b, c, d;
	memcpy(&a, k->caddr, 8);
	memcpy(&b, k->caddr + 8, 8);
	memcpy(&c, k->saddr, 8);
	memcpy(&d, k->saddr + 8, 8);
	uint64_t h =
	    dnsreel_mix64(k->netns ^ ((uint64_t)k->id << 48) ^ ((uint64_t)k->capture << 32) ^ k->ifindex);
	h = dnsreel_mix64(h ^ a ^ ((uint64_t)k->cport << 40) ^ ((uint64_t)k->sport << 16) ^ k->proto);
	return dnsreel_mix64(h ^ b ^ (c * 0x9e3779b97f4a7c15ULL) ^ (d * 31) ^ k->ver);
}

int dnsreel_decoder__new(struct dnsreel_decoder **out, const struct dnsreel_ctx *ctx,
			 const struct dnsreel_decoder_opts *opts)
{
	if (!out)
		return DNSREEL_E_ARG;
	struct dnsreel_decoder *d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	d->ctx = ctx;
	d->timeout_ns = 30LL * 1000000000LL;
	size_t max_tcp = 64u << 20;
	if (opts &&
	    opts->sz >= offsetof(struct dnsreel_decoder_opts, query_timeout_ns) +
			    sizeof(opts->query_timeout_ns) &&
	    opts->query_timeout_ns > 0)
		d->timeout_ns = opts->query_timeout_ns;
	if (opts &&
	    opts->sz >= offsetof(struct dnsreel_decoder_opts, max_tcp_bytes) +
			    sizeof(opts->max_tcp_bytes) &&
	    opts->max_tcp_bytes)
		max_tcp = opts->max_tcp_bytes;
	d->qcap = 1024;
	d->q = calloc(d->qcap, sizeof(*d->q));
	int rc = d->q ? dnsreel_tcp__new(&d->tcp, max_tcp, 2 * d->timeout_ns) : -ENOMEM;
	if (rc) {
		free(d->q);
		free(d);
		return rc;
	}
	*out = d;
	return 0;
}

void dnsreel_decoder__free(struct dnsreel_decoder *d)
{
	if (!d)
		return;
	dnsreel_tcp__free(d->tcp);
	free(d->q);
	free(d);
}

static size_t qslot(const struct qent *tab, size_t cap, const struct qkey *k)
{
	size_t i = (size_t)qhash(k) & (cap - 1);
	while (tab[i].used && memcmp(&tab[i].k, k, sizeof(*k)) != 0)
		i = (i + 1) & (cap - 1);
	return i;
}

/* Rebuilds the table keeping queries newer than cutoff, into cap slots. */
static int rebuild(struct dnsreel_decoder *d, size_t cap, int64_t cutoff)
{
	struct qent *nt = calloc(cap, sizeof(*nt));
	if (!nt)
		return -ENOMEM;
	size_t n = 0;
	for (size_t i = 0; i < d->qcap; i++) {
		if (!d->q[i].used || d->q[i].wall_ns < cutoff)
			continue;
		nt[qslot(nt, cap, &d->q[i].k)] = d->q[i];
		n++;
	}
	free(d->q);
	d->q = nt;
	d->qcap = cap;
	d->qn = n;
	return 0;
}

static void qdelete(struct dnsreel_decoder *d, size_t i)
{
	d->q[i].used = false;
	d->qn--;
	size_t j = i, m = d->qcap - 1;
	for (;;) {
		j = (j + 1) & m;
		if (!d->q[j].used)
			return;
		size_t h = (size_t)qhash(&d->q[j].k) & m;
		bool between = i <= j ? (h > i && h <= j) : (h > i || h <= j);
		if (!between) {
			d->q[i] = d->q[j];
			d->q[j].used = false;
			i = j;
		}
	}
}

static void key_of(struct qkey *k, uint32_t capture, const struct dnsreel_event *ev, uint16_t id,
		   bool response)
{
	memset(k, 0, sizeof(*k));
	k->netns = ev->netns;
	k->capture = capture;
	k->ifindex = ev->ifindex;
	k->id = id;
	k->proto = ev->proto;
	k->ver = ev->ip_version;
	const uint8_t *ca = response ? ev->dst_addr : ev->src_addr;
	const uint8_t *sa = response ? ev->src_addr : ev->dst_addr;
	size_t al = ev->ip_version == 6 ? 16 : 4;
	memcpy(k->caddr, ca, al);
	memcpy(k->saddr, sa, al);
	k->cport = response ? ev->dst_port : ev->src_port;
	k->sport = response ? ev->src_port : ev->dst_port;
}

static void match_latency(struct dnsreel_decoder *d, struct dnsreel_rec *rec)
{
	const struct dnsreel_event *ev = rec->ev;
	struct qkey k;
	rec->latency_ns = 0;
	if (rec->msg_len < 12 || rec->dns.opcode != 0)
		return;
	key_of(&k, rec->capture, ev, rec->dns.id, rec->dns.qr);
	if (!rec->dns.qr) {
		if ((d->qn + 1) * 2 > d->qcap) {
			if (d->qcap * 2 > 2 * (size_t)MAX_QUERIES) {
				/* full of live queries: drop the oldest half by time */
				rebuild(d, d->qcap, rec->wall_ns - d->timeout_ns / 2);
				if ((d->qn + 1) * 2 > d->qcap)
					return;
			} else if (rebuild(d, d->qcap * 2, rec->wall_ns - d->timeout_ns) < 0) {
				return;
			}
		}
		size_t i = qslot(d->q, d->qcap, &k);
		if (!d->q[i].used) {
			d->q[i].used = true;
			d->q[i].k = k;
			d->qn++;
		}
		/* a retry with the same id restarts the clock, as trace_dns does */
		d->q[i].ts_ns = ev->ts_ns;
		d->q[i].wall_ns = rec->wall_ns;
		return;
	}
	if (!d->qn)
		return;
	size_t i = qslot(d->q, d->qcap, &k);
	if (!d->q[i].used)
		return;
	int64_t lat = ev->ts_ns - d->q[i].ts_ns;
	if (lat >= 0 && lat <= d->timeout_ns)
		rec->latency_ns = lat;
	qdelete(d, i);
}

static int emit(struct dnsreel_decoder *d, const uint8_t *msg, uint32_t len)
{
	struct dnsreel_rec *rec = &d->rec;
	rec->msg = msg;
	rec->msg_len = len;
	dnsreel_dns_parse(msg, len, &rec->dns);
	match_latency(d, rec);
	return d->fn(d->arg, rec);
}

static int tcp_msg(void *arg, const uint8_t *msg, uint32_t len)
{
	return emit(arg, msg, len);
}

int dnsreel_decoder__feed(struct dnsreel_decoder *d, uint32_t capture, uint32_t segment,
			  const struct dnsreel_event *ev, dnsreel_rec_fn fn, void *arg)
{
	if (!d || !ev || !fn)
		return DNSREEL_E_ARG;
	struct dnsreel_rec *rec = &d->rec;
	rec->ctx = d->ctx;
	rec->ev = ev;
	rec->capture = capture;
	rec->segment = segment;
	/* Only found netns are cached: their records stay in place when upserted (record --live),
	 * while an unknown one may become known any time. */
	if (!d->last_ns || d->last_cap != capture || d->last_netns != ev->netns) {
		d->last_ns = dnsreel_ctx__netns(d->ctx, capture, ev->netns);
		d->last_cap = capture;
		d->last_netns = ev->netns;
	}
	rec->ns = d->last_ns;
	const struct dnsreel_meta *meta = dnsreel_ctx__meta(d->ctx, capture);
	rec->wall_ns = ev->ts_ns + (meta ? meta->boot_to_wall_ns : 0);
	rec->latency_ns = 0;
	d->fn = fn;
	d->arg = arg;

	if (rec->wall_ns >= d->next_sweep) {
		if (d->qn && rebuild(d, d->qcap, rec->wall_ns - d->timeout_ns) < 0)
			return -ENOMEM;
		d->next_sweep = rec->wall_ns + d->timeout_ns / 2;
	}
	/* a dnstap event holds one whole message whatever the transport was */
	if (ev->proto == 6 && !(ev->flags & DNSREEL_EV_DNSTAP))
		return dnsreel_tcp__feed(d->tcp, capture, rec->wall_ns, ev, tcp_msg, d);
	return emit(d, ev->payload ? ev->payload : (const uint8_t *)"",
		    ev->payload ? ev->cap_len : 0);
}
