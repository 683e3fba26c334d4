/* The detectors: each reads the signature its failure mode leaves in the flows (and, for sizes
 * and EDNS buffers, in the messages) into a bounded table, and turns it into findings at the
 * end. The per-minute rates (storms, hot names) are in rate.c. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "diag_int.h"
#include "dnsreel.h"

enum { RC_OK = 0, RC_SERVFAIL = 2, RC_NXDOMAIN = 3, RC_REFUSED = 5 };
enum { PROTO_TCP = 6, PROTO_UDP = 17 };

#define TC_RETRY_NS (10 * S_NS) /* a TCP retry follows its truncated answer within this */
#define LOOKUP_STALE_NS (30 * S_NS)

/* ---- messages: sizes and EDNS buffers of truncated exchanges ------------------------------ */

static uint64_t msg_key(const struct dnsreel_rec *rec)
{
	uint64_t h = dnsreel__dg_hash_lower(0x9e3779b97f4a7c15ULL ^ rec->dns.id, rec->dns.qname);
	return dnsreel_mix64(h ^ rec->dns.qtype) | 1;
}

int dnsreel__dg_detect_rec(struct dnsreel_diag *d, const struct dnsreel_rec *rec)
{
	if (rec->dns.qdcount == 0 || !rec->ev)
		return 0;
	uint64_t k = msg_key(rec);
	size_t i = k & (TC_SLOTS - 1);
	if (rec->ev->proto == PROTO_UDP && !rec->dns.qr) {
		d->tcq[i] = (struct tc_q){k, rec->dns.has_edns ? rec->dns.edns_udp_size : 0, true};
	} else if (rec->ev->proto == PROTO_UDP && rec->dns.tc) {
		if (rec->msg_len > d->tc_size_max)
			d->tc_size_max = rec->msg_len;
		/* one truncated message is seen at every hop: counted once */
		if (d->tcseen[i] == k)
			return 0;
		d->tcseen[i] = k;
		d->tc_msgs++;
		if (d->tcq[i].key == k && d->tcq[i].has) {
			uint16_t e = d->tcq[i].edns;
			if (!e)
				d->tc_no_edns++;
			uint32_t eff = e ? e : 512;
			if (!d->tc_edns_min || eff < d->tc_edns_min)
				d->tc_edns_min = eff;
			if (eff > d->tc_edns_max)
				d->tc_edns_max = eff;
		}
	} else if (rec->ev->proto == PROTO_UDP && rec->dns.qr && d->tcq[i].key == k &&
		   d->tcq[i].has && rec->msg_len > (d->tcq[i].edns ? d->tcq[i].edns : 512u)) {
		/* larger than the client said it can take: fragments, or drops on the way */
		if (d->bigseen[i] == k)
			return 0;
		d->bigseen[i] = k;
		uint32_t eff = d->tcq[i].edns ? d->tcq[i].edns : 512;
		if (rec->msg_len > d->big_size_max)
			d->big_size_max = rec->msg_len;
		if (!d->big_edns_min || eff < d->big_edns_min)
			d->big_edns_min = eff;
		int err = 0;
		struct acc *a = dnsreel__dg_acc(d, DNSREEL_FIND_EDNS_MISMATCH, "", DNSREEL_SEV_WARNING,
						&err);
		if (a)
			dnsreel__dg_hit(d, a, 1, rec->wall_ns, NULL);
		if (a) {
			char nsbuf[24];
			snprintf(nsbuf, sizeof(nsbuf), "%llu", (unsigned long long)rec->ev->netns);
			if (dnsreel__dg_set_add(&a->netns, nsbuf))
				err = -ENOMEM;
		}
		return err;
	} else if (rec->ev->proto == PROTO_TCP && rec->dns.qr) {
		if (rec->msg_len > d->tcp_size_max)
			d->tcp_size_max = rec->msg_len;
	}
	return 0;
}

/* ---- flows -------------------------------------------------------------------------------- */

/* The DNS id of the client's transaction. */
static uint16_t client_id(const struct dnsreel_flow *f)
{
	for (size_t i = 0; i < f->nhops; i++)
		if (f->hops[i].transaction == 0)
			return f->hops[i].id;
	return 0;
}

static void netns_text(uint64_t netns, char *buf, size_t len)
{
	snprintf(buf, len, "%llu", (unsigned long long)netns);
}

/* The occurrence of finding (id, subject) at wall for flow f: counted, timed, with its pod and
 * example. */
static struct acc *hit_at(struct dnsreel_diag *d, const char *id, const char *subject,
			  enum dnsreel_severity sev, const struct dnsreel_flow *f, int64_t wall,
			  const struct pod *p, const char *example, int *err)
{
	struct acc *a = dnsreel__dg_acc(d, id, subject, sev, err);
	if (!a)
		return NULL;
	dnsreel__dg_hit(d, a, 1, wall, example);
	char nsbuf[24];
	netns_text(f->client_netns, nsbuf, sizeof(nsbuf));
	if ((p && dnsreel__dg_set_add(&a->pods, p->text)) || dnsreel__dg_set_add(&a->netns, nsbuf))
		*err = -ENOMEM;
	return a;
}

static struct acc *hit_flow(struct dnsreel_diag *d, const char *id, const char *subject,
			    enum dnsreel_severity sev, const struct dnsreel_flow *f,
			    const struct pod *p, const char *example, int *err)
{
	return hit_at(d, id, subject, sev, f, f->wall_ns, p, example, err);
}

/* Conntrack insert race: two queries of one socket within race_gap (glibc and musl send A and
 * AAAA together), one answered at once, the other only after the resolver's retry (or never):
 * the second packet lost its conntrack insert race after DNAT. Flows arrive in client-query
 * order, so the pair meets in a table of the last query per socket. */
static int detect_race(struct dnsreel_diag *d, const struct dnsreel_flow *f, const struct pod *p)
{
	if (!f->query || f->query->proto != PROTO_UDP)
		return 0;
	const struct dnsreel_event *q = f->query;
	uint64_t key = dnsreel_mix64(f->client_netns ^ ((uint64_t)q->src_port << 48) ^
				     ((uint64_t)f->capture << 32)) |
		       1;
	struct race_slot *s = &d->race[key & (RACE_SLOTS - 1)];
	bool fast = f->answered && f->latency_ns < d->o.race_retry_ns;
	bool slow = f->retries > 0 && (!f->answered || f->latency_ns >= d->o.race_retry_ns);
	int err = 0;
	if (s->key == key && !s->paired && f->wall_ns - s->wall <= d->o.race_gap_ns &&
	    (s->id != client_id(f) || s->qtype != f->qtype) && ((fast && s->slow) || (slow && s->fast))) {
		const char *ex = slow ? f->flow_id : s->flow_id;
		int64_t lat = slow ? f->latency_ns : s->latency;
		struct acc *a = hit_flow(d, DNSREEL_FIND_CONNTRACK_RACE, "", DNSREEL_SEV_ERROR, f, p,
					 ex, &err);
		if (a) {
			d->race_pairs++;
			if (lat >= 0) {
				d->race_delay_sum += (double)lat;
				d->race_delay_n++;
			} else
				d->race_unanswered++;
		}
		s->paired = true;
		return err;
	}
	*s = (struct race_slot){.key = key,
				.wall = f->wall_ns,
				.id = client_id(f),
				.qtype = f->qtype,
				.fast = fast,
				.slow = slow,
				.latency = f->latency_ns};
	memcpy(s->flow_id, f->flow_id, 17);
	return 0;
}

static uint64_t lookup_key(const char *lookup_id)
{
	return dnsreel__dg_hash_str(0x84222325cbf29ce4ULL, lookup_id) | 1;
}

/* Search-path amplification: the lookup's flows that came back NXDOMAIN before one succeeded
 * (ndots:5 tries every search domain first). Open lookups live in a table keyed by lookup_id;
 * a slot older than any lookup can last is free again. */
static int detect_search(struct dnsreel_diag *d, const struct dnsreel_flow *f, struct pod *p)
{
	uint64_t key = lookup_key(f->lookup_id);
	size_t i = key & (LK_SLOTS - 1);
	struct lk_slot *s = NULL;
	for (size_t probe = 0; probe < 8; probe++) {
		struct lk_slot *c = &d->lk[(i + probe) & (LK_SLOTS - 1)];
		if (c->key == key) {
			s = c;
			break;
		}
		if (!s && (!c->key || f->wall_ns - c->start > LOOKUP_STALE_NS))
			s = c;
	}
	bool first = !strcmp(f->flow_id, f->lookup_id);
	if (first && p)
		p->lookups++;
	if (first)
		d->st.lookups++;
	if (!s) {
		d->st.dropped_keys++;
		return 0;
	}
	if (s->key != key) {
		if (!first)
			return 0; /* its start was not seen (filtered, or the table was full) */
		*s = (struct lk_slot){.key = key, .start = f->wall_ns};
	}
	if (!f->answered || s->done)
		return 0;
	if (f->rcode == RC_NXDOMAIN) {
		s->nx++;
		return 0;
	}
	if (f->rcode != RC_OK)
		return 0;
	s->done = true;
	if (!s->nx || !p)
		return 0;
	int64_t extra = f->wall_ns - s->start;
	p->walks++;
	p->nx_before += s->nx;
	p->extra_ns += (double)extra;
	if (extra > p->extra_max)
		p->extra_max = extra;
	int err = 0;
	struct acc *a = dnsreel__dg_acc(d, DNSREEL_FIND_SEARCH_PATH, p->text, DNSREEL_SEV_WARNING,
					&err);
	if (a) {
		a->lookup_examples = true;
		dnsreel__dg_hit(d, a, 1, s->start, f->lookup_id);
		if (dnsreel__dg_set_add(&a->pods, p->text))
			err = -ENOMEM;
	}
	return err;
}

static struct up_server *server_of(struct dnsreel_diag *d, const struct dnsreel_event *q)
{
	char text[64];
	dnsreel_event_addr_str(q, false, true, text, sizeof(text));
	uint64_t key = dnsreel__dg_hash_str(1, text);
	for (size_t i = 0; i < d->nservers; i++)
		if (d->servers[i].key == key && !strcmp(d->servers[i].text, text))
			return &d->servers[i];
	if (d->nservers == SERVER_MAX) {
		d->st.dropped_keys++;
		return NULL;
	}
	struct up_server *s = &d->servers[d->nservers++];
	s->key = key;
	snprintf(s->text, sizeof(s->text), "%s", text);
	return s;
}

/* One upstream try, counted once however many client flows it served. */
static int upstream_try(struct dnsreel_diag *d, const struct dnsreel_flow *f, struct up_server *s,
			uint32_t capture, uint64_t netns, uint16_t id, int64_t wall, bool answered,
			uint16_t rcode, bool tc, int64_t latency, const struct pod *p)
{
	uint64_t key = dnsreel_mix64(netns ^ ((uint64_t)id << 40) ^ (uint64_t)wall ^ capture) | 1;
	uint64_t *seen = &d->upseen[key & (UPSEEN_SLOTS - 1)];
	int err = 0;
	if (*seen == key) {
		/* counted already: only the client it also served */
		const char *id = !answered		 ? DNSREEL_FIND_UPSTREAM_TIMEOUT
				 : rcode == RC_SERVFAIL ? DNSREEL_FIND_UPSTREAM_SERVFAIL
				 : rcode == RC_REFUSED	 ? DNSREEL_FIND_UPSTREAM_REFUSED
							 : NULL;
		struct acc *a = id && p ? dnsreel__dg_acc(d, id, s->text, DNSREEL_SEV_ERROR, &err)
					: NULL;
		if (a && dnsreel__dg_set_add(&a->pods, p->text))
			err = -ENOMEM;
		return err;
	}
	*seen = key;
	s->tries++;
	const char *fid = f->flow_id;
	struct acc *a = NULL;
	if (!answered) {
		s->timeouts++;
		a = hit_at(d, DNSREEL_FIND_UPSTREAM_TIMEOUT, s->text, DNSREEL_SEV_ERROR, f, wall, p,
			   fid, &err);
	} else {
		s->answered++;
		dnsreel__dg_hist_add(&s->lat, latency);
		if (tc) {
			s->tc++;
			d->tc_up++;
		}
		if (rcode == RC_SERVFAIL) {
			s->servfail++;
			a = hit_at(d, DNSREEL_FIND_UPSTREAM_SERVFAIL, s->text, DNSREEL_SEV_ERROR, f,
				   wall, p, fid, &err);
		} else if (rcode == RC_REFUSED) {
			s->refused++;
			a = hit_at(d, DNSREEL_FIND_UPSTREAM_REFUSED, s->text, DNSREEL_SEV_ERROR, f,
				   wall, p, fid, &err);
		} else if (latency > d->o.slow_upstream_ns) {
			a = hit_at(d, DNSREEL_FIND_UPSTREAM_SLOW, s->text, DNSREEL_SEV_WARNING, f,
				   wall, p, fid, &err);
		}
	}
	if (a && dnsreel__dg_set_add(&a->servers, s->text))
		err = -ENOMEM;
	return err;
}

static int detect_upstream(struct dnsreel_diag *d, const struct dnsreel_flow *f,
			   const struct pod *p)
{
	int err = 0;
	bool failed = f->answered && (f->rcode == RC_SERVFAIL || f->rcode == RC_REFUSED);
	if (f->client_role == DNSREEL_ROLE_FORWARDER) {
		/* a forwarder's own query: the flow is itself the try */
		struct up_server *s = f->query ? server_of(d, f->query) : NULL;
		if (s)
			err = upstream_try(d, f, s, f->capture, f->client_netns,
					   client_id(f), f->wall_ns,
					   f->answered, f->rcode, f->tc, f->latency_ns, NULL);
		return err;
	}
	for (size_t i = 0; !err && i < f->nupstream; i++) {
		const struct dnsreel_flow_upstream *u = &f->upstream[i];
		struct up_server *s = u->query ? server_of(d, u->query) : NULL;
		if (!s)
			continue;
		if (failed && strcmp(s->last_failed, f->flow_id)) {
			s->client_failed++;
			memcpy(s->last_failed, f->flow_id, 17);
		}
		err = upstream_try(d, f, s, u->capture, u->netns, u->id, u->wall_ns, u->answered,
				   u->rcode, u->tc, u->latency_ns, p);
	}
	return err;
}

static const struct dnsreel_flow_hop *forwarder_hop(const struct dnsreel_flow *f)
{
	for (size_t i = 0; i < f->nhops; i++)
		if (f->hops[i].transaction == 0 && f->hops[i].role == DNSREEL_ROLE_FORWARDER)
			return &f->hops[i];
	return NULL;
}

static struct fwd *fwd_of(struct dnsreel_diag *d, const struct dnsreel_flow_hop *h)
{
	uint64_t key = dnsreel_mix64(h->netns * 7 + h->capture) | 1;
	for (size_t i = 0; i < d->nfwds; i++)
		if (d->fwds[i].key == key)
			return &d->fwds[i];
	if (d->nfwds == FWD_MAX) {
		d->st.dropped_keys++;
		return NULL;
	}
	struct fwd *w = &d->fwds[d->nfwds++];
	w->key = key;
	w->sec = INT64_MIN; /* no second yet */
	dnsreel__dg_pod_text(d->ctx ? dnsreel_ctx__netns(d->ctx, h->capture, h->netns) : NULL,
			     h->netns, w->text, sizeof(w->text));
	if (h->event)
		dnsreel_event_addr_str(h->event, h->query ? false : true, true, w->addr,
				       sizeof(w->addr));
	return w;
}

void dnsreel__dg_fwd_roll(struct fwd *w)
{
	dnsreel__dg_hist_merge(w->cur_ref ? &w->lat_refusing : &w->lat_other, &w->cur_lat);
	memset(&w->cur_lat, 0, sizeof(w->cur_lat));
	if (w->cur_q > w->peak_q)
		w->peak_q = w->cur_q;
	if (w->cur_ref > w->peak_ref)
		w->peak_ref = w->cur_ref;
	w->cur_q = w->cur_ref = 0;
}

/* Forwarder overload: REFUSED made by the forwarder itself (CoreDNS max_concurrent, a rate
 * limit), with the forwarder's own latency beside it. */
static int detect_forwarder(struct dnsreel_diag *d, const struct dnsreel_flow *f,
			    const struct pod *p)
{
	const struct dnsreel_flow_hop *h = forwarder_hop(f);
	if (!h)
		return 0;
	struct fwd *w = fwd_of(d, h);
	if (!w)
		return 0;
	int64_t sec = f->wall_ns / S_NS;
	if (sec != w->sec) {
		dnsreel__dg_fwd_roll(w);
		w->sec = sec;
	}
	w->flows++;
	w->cur_q++;
	if (!(f->answered && f->rcode == RC_REFUSED && f->rcode_origin == DNSREEL_ROLE_FORWARDER)) {
		if (h->latency_ns >= 0 && f->answered) {
			dnsreel__dg_hist_add(&w->lat, h->latency_ns);
			dnsreel__dg_hist_add(&w->cur_lat, h->latency_ns);
		}
		return 0;
	}
	w->refused++;
	w->cur_ref++;
	int err = 0;
	struct acc *a = hit_flow(d, DNSREEL_FIND_FORWARDER_REFUSED, w->text, DNSREEL_SEV_ERROR, f, p,
				 f->flow_id, &err);
	if (a && dnsreel__dg_set_add(&a->servers, w->addr))
		err = -ENOMEM;
	return err;
}

/* Unanswered, by where the message was last seen. */
static int detect_unanswered(struct dnsreel_diag *d, const struct dnsreel_flow *f,
			     const struct pod *p)
{
	if (f->answered)
		return 0;
	d->st.unanswered++;
	const char *where = "node";
	if (f->has_lost && f->lost.response)
		where = "return";
	else if (f->has_lost && f->lost.role == DNSREEL_ROLE_UPSTREAM)
		where = "upstream";
	else if (f->has_lost && f->lost.role == DNSREEL_ROLE_FORWARDER) {
		bool up_answered = false;
		for (size_t i = 0; i < f->nupstream; i++)
			up_answered |= f->upstream[i].answered;
		where = f->nupstream && !up_answered ? "upstream" : "forwarder";
	}
	int err = 0;
	struct acc *a =
	    hit_flow(d, DNSREEL_FIND_UNANSWERED, where, DNSREEL_SEV_ERROR, f, p, f->flow_id, &err);
	if (a) {
		double r = 0;
		for (size_t i = 0; i < a->nnums; i++)
			if (!strcmp(a->numkey[i], "retries"))
				r = a->numval[i];
		dnsreel__dg_num(a, "retries", r + f->retries);
		if (f->has_lost) {
			char nsbuf[24];
			netns_text(f->lost.netns, nsbuf, sizeof(nsbuf));
			if (dnsreel__dg_set_add(&a->netns, nsbuf))
				err = -ENOMEM;
		}
		for (size_t i = 0; !err && i < f->nupstream; i++) {
			char sbuf[64];
			if (!f->upstream[i].query)
				continue;
			dnsreel_event_addr_str(f->upstream[i].query, false, true, sbuf,
					       sizeof(sbuf));
			if (dnsreel__dg_set_add(&a->servers, sbuf))
				err = -ENOMEM;
		}
	}
	return err;
}

/* Truncation: the client's answer had TC=1; its TCP retry (same client, name and type) is
 * looked for in the next seconds. */
static int detect_tc(struct dnsreel_diag *d, const struct dnsreel_flow *f, const struct pod *p)
{
	uint64_t key = dnsreel__dg_hash_lower(dnsreel_mix64(f->client_netns ^ f->qtype), f->name);
	struct tc_retry *r = &d->tcr[key & (TC_SLOTS - 1)];
	int err = 0;
	if (f->query && f->query->proto == PROTO_TCP) {
		if (r->key == key && f->wall_ns - r->wall <= TC_RETRY_NS) {
			d->tc_tcp_retries++;
			r->key = 0;
		}
		return 0;
	}
	if (!(f->answered && f->tc))
		return 0;
	d->tc_flows++;
	*r = (struct tc_retry){key, f->wall_ns};
	hit_flow(d, DNSREEL_FIND_TRUNCATION, "", DNSREEL_SEV_INFO, f, p, f->flow_id, &err);
	return err;
}

int dnsreel__dg_detect_flow(struct dnsreel_diag *d, const struct dnsreel_flow *f)
{
	struct pod *p = NULL;
	if (f->client_role == DNSREEL_ROLE_CLIENT) {
		d->st.client_flows++;
		if (f->answered)
			d->st.answered++;
		p = dnsreel__dg_pod(d, f->capture, f->client_netns);
		if (p)
			p->queries++;
	}
	int err = detect_upstream(d, f, p);
	if (err || f->client_role != DNSREEL_ROLE_CLIENT)
		return err;
	if (!err)
		err = detect_race(d, f, p);
	if (!err)
		err = detect_search(d, f, p);
	if (!err)
		err = detect_forwarder(d, f, p);
	if (!err)
		err = detect_unanswered(d, f, p);
	if (!err)
		err = detect_tc(d, f, p);
	if (!err)
		err = dnsreel__dg_rate_flow(d, f, p);
	return err;
}
