/* Emission: a transaction tree turned into the flow the caller sees (hop roles, outcome, lost,
 * rcode origin, upstream tries, slowest hop), in client-query order as the window closes. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "dnsreel.h"
#include "flows_int.h"

/* ---- emission ----------------------------------------------------------------------------- */

/* Role of each netns a transaction crossed: the origin sent it, a netns that received it and
 * sent it on passed it (node), the last that received it without sending it on served it. */
/* Whether addr is one of the netns's own addresses (its context's ips list). */
static bool addr_is_local(const struct dnsreel_flows *fl, uint32_t cap, uint64_t netns, uint8_t ipv,
			  const uint8_t addr[16])
{
	const struct dnsreel_netns_ctx *ns = dnsreel_ctx__netns(fl->ctx, cap, netns);
	if (!ns || !ns->ips[0])
		return false;
	char a[DNSREEL_ADDR_TEXT_LEN];
	size_t al = dnsreel_addr_text(ipv, addr, -1, a);
	for (const char *p = ns->ips; *p;) {
		const char *e = strchr(p, ',');
		size_t l = e ? (size_t)(e - p) : strlen(p);
		if (l == al && !memcmp(p, a, al))
			return true;
		if (!e)
			break;
		p = e + 1;
	}
	return false;
}

/* A netns that received the query and never sent it on either served it (it answered, asked
 * upstream, or owns the address the query was sent to) or dropped it on the way (a node's
 * firewall). Only the first is a forwarder. */
static bool served_here(const struct dnsreel_flows *fl, const struct tx *t, bool root, uint32_t cap,
			uint64_t netns)
{
	for (size_t i = 0; i < t->nobs; i++) {
		const struct obs *o = &t->obs[i];
		if (o->capture != cap || o->netns != netns)
			continue;
		if (o->qr && o->pkt_type == DNSREEL_PKT_OUTGOING)
			return true;
		if (!o->qr && o->full >= 0) {
			const struct dnsreel_event *ev = &t->full[o->full].ev;
			if (addr_is_local(fl, cap, netns, ev->ip_version, ev->dst_addr))
				return true;
		}
	}
	for (size_t u = 0; root && u < t->nup; u++)
		if (t->up[u]->origin_cap == cap && t->up[u]->origin_netns == netns)
			return true;
	return false;
}

static enum dnsreel_flow_role tx_role(const struct dnsreel_flows *fl, const struct tx *t, bool root,
				      enum dnsreel_flow_role origin, uint32_t cap, uint64_t netns)
{
	if (cap == t->origin_cap && netns == t->origin_netns)
		return origin;
	bool q_in = false, q_out = false;
	for (size_t i = 0; i < t->nobs; i++) {
		const struct obs *o = &t->obs[i];
		if (o->qr || o->capture != cap || o->netns != netns)
			continue;
		if (o->pkt_type == DNSREEL_PKT_OUTGOING)
			q_out = true;
		else if (o->pkt_type == DNSREEL_PKT_HOST)
			q_in = true;
	}
	if (q_in && !q_out && served_here(fl, t, root, cap, netns))
		return root && origin == DNSREEL_ROLE_CLIENT ? DNSREEL_ROLE_FORWARDER
							     : DNSREEL_ROLE_UPSTREAM;
	return DNSREEL_ROLE_NODE;
}

static int reserve(void **p, size_t *cap, size_t n, size_t sz)
{
	if (n <= *cap)
		return 0;
	size_t nc = *cap ? *cap : 16;
	while (nc < n)
		nc *= 2;
	void *np = realloc(*p, nc * sz);
	if (!np)
		return -ENOMEM;
	*p = np;
	*cap = nc;
	return 0;
}

/* Adds the hops (observation points) of transaction t to fl->hops. */
static int tx_hops(struct dnsreel_flows *fl, const struct tx *t, size_t ti, bool root,
		   enum dnsreel_flow_role origin, size_t *nh)
{
	for (size_t i = 0; i < t->nobs; i++) {
		const struct obs *o = &t->obs[i];
		size_t h = *nh, j;
		for (j = 0; j < h; j++) {
			struct dnsreel_flow_hop *p = &fl->hops[j];
			if (p->transaction == ti && p->capture == o->capture &&
			    p->netns == o->netns && p->ifindex == o->ifindex)
				break;
		}
		if (j == h) {
			if (reserve((void **)&fl->hops, &fl->hops_cap, h + 1, sizeof(*fl->hops)))
				return -ENOMEM;
			struct dnsreel_flow_hop *p = &fl->hops[h];
			p->role = tx_role(fl, t, root, origin, o->capture, o->netns);
			p->capture = o->capture;
			p->netns = o->netns;
			p->ifindex = o->ifindex;
			p->pkt_type = o->pkt_type;
			p->query = !o->qr;
			p->id = t->id;
			p->transaction = ti;
			p->wall_ns = o->wall;
			p->latency_ns = -1;
			p->event = &t->full[o->full].ev; /* a new point: kept whole */
			*nh = h + 1;
			continue;
		}
		struct dnsreel_flow_hop *p = &fl->hops[j];
		if (o->qr && p->query && p->latency_ns < 0)
			p->latency_ns = o->wall - p->wall_ns;
	}
	return 0;
}

static int cmp_hop(const void *a, const void *b)
{
	const struct dnsreel_flow_hop *x = a, *y = b;
	if (x->wall_ns != y->wall_ns)
		return x->wall_ns < y->wall_ns ? -1 : 1;
	if (x->transaction != y->transaction)
		return x->transaction < y->transaction ? -1 : 1;
	return 0;
}

struct sighting {
	struct obs *o;
	size_t ti; /* transaction: 0 = the client's, i = upstream i - 1 */
};

static int cmp_sighting(const void *a, const void *b)
{
	const struct sighting *x = a, *y = b;
	if (x->o->wall != y->o->wall)
		return x->o->wall < y->o->wall ? -1 : 1;
	if (x->ti != y->ti)
		return x->ti < y->ti ? -1 : 1;
	return x->o < y->o ? -1 : (x->o > y->o);
}

/* First sighting of a transaction's query or response in its origin netns. */
static const struct obs *at_origin(const struct tx *t, bool response, bool outgoing)
{
	for (size_t i = 0; i < t->nobs; i++) {
		const struct obs *o = &t->obs[i];
		if (o->capture != t->origin_cap || o->netns != t->origin_netns ||
		    (bool)o->qr != response)
			continue;
		if (outgoing != (o->pkt_type == DNSREEL_PKT_OUTGOING))
			continue;
		return o;
	}
	return NULL;
}

static int emit(struct dnsreel_flows *fl, struct tx *t)
{
	struct dnsreel_flow f;
	memset(&f, 0, sizeof(f));
	memcpy(f.flow_id, t->flow_id, sizeof(f.flow_id));
	memcpy(f.lookup_id, t->lookup_id, sizeof(f.lookup_id));
	f.wall_ns = t->first;
	f.name = t->name;
	f.qtype = t->qtype;
	f.qclass = t->qclass;
	f.capture = t->origin_cap;
	f.client_netns = t->origin_netns;
	f.client_ns = fl->ctx ? dnsreel_ctx__netns(fl->ctx, t->origin_cap, t->origin_netns) : NULL;
	f.client_role = dnsreel__fl_is_server(fl, netns_key(t->origin_cap, t->origin_netns))
			    ? DNSREEL_ROLE_FORWARDER
			    : DNSREEL_ROLE_CLIENT;
	const struct obs *q0 = &t->obs[0];
	f.query = &t->full[q0->full].ev;
	for (size_t i = 0; i < t->nobs; i++) {
		const struct obs *o = &t->obs[i];
		if (!o->qr && o->capture == t->origin_cap && o->netns == t->origin_netns &&
		    o->proc && o->full >= 0) {
			f.has_proc = true;
			f.pid = o->pid;
			memcpy(f.comm, t->full[o->full].ev.comm, sizeof(f.comm));
			f.comm[sizeof(f.comm) - 1] = 0;
			break;
		}
	}
	/* Retries: the query again at the point it was first seen. */
	for (size_t i = 1; i < t->nobs; i++) {
		const struct obs *o = &t->obs[i];
		if (!o->qr && o->capture == q0->capture && o->netns == q0->netns &&
		    o->ifindex == q0->ifindex && o->pkt_type == q0->pkt_type)
			f.retries++;
	}
	/* The client's answer: a response received where the query came from. */
	const struct obs *ans = at_origin(t, true, false);
	if (!ans && q0->pkt_type != DNSREEL_PKT_OUTGOING)
		ans = at_origin(t, true, true); /* the client side was not captured */
	f.answered = ans != NULL;
	f.latency_ns = ans ? ans->wall - t->first : -1;
	f.rcode = ans ? ans->rcode : 0;
	f.tc = ans ? ans->tc : false;

	/* Hops of every transaction. */
	size_t nh = 0;
	int err = tx_hops(fl, t, 0, true, f.client_role, &nh);
	for (size_t u = 0; !err && u < t->nup; u++)
		err = tx_hops(fl, t->up[u], u + 1, false, DNSREEL_ROLE_FORWARDER, &nh);
	if (err)
		return err;

	/* Where the forwarder answered the client, and the upstream answers before that. */
	int64_t fwd_answer = INT64_MAX;
	for (size_t i = 0; i < t->nobs; i++) {
		const struct obs *o = &t->obs[i];
		if (o->qr && o->pkt_type == DNSREEL_PKT_OUTGOING &&
		    tx_role(fl, t, true, f.client_role, o->capture, o->netns) ==
			DNSREEL_ROLE_FORWARDER) {
			fwd_answer = o->wall;
			break;
		}
	}
	if (reserve((void **)&fl->ups, &fl->ups_cap, t->nup, sizeof(*fl->ups)))
		return -ENOMEM;
	int used = -1, used_any = -1;
	for (size_t u = 0; u < t->nup; u++) {
		const struct tx *x = t->up[u];
		struct dnsreel_flow_upstream *p = &fl->ups[u];
		memset(p, 0, sizeof(*p));
		p->id = x->id;
		p->capture = x->origin_cap;
		p->netns = x->origin_netns;
		p->wall_ns = x->first;
		p->query = &x->full[x->obs[0].full].ev;
		const struct obs *r = at_origin(x, true, false);
		p->answered = r != NULL;
		p->latency_ns = r ? r->wall - x->first : -1;
		p->rcode = r ? r->rcode : 0;
		p->tc = r ? r->tc : 0;
		if (r && r->wall <= fwd_answer) {
			used_any = (int)u;
			if (!r->tc && f.answered && r->rcode == f.rcode)
				used = (int)u;
		}
	}
	if (used < 0)
		used = used_any;
	if (used >= 0 && fwd_answer != INT64_MAX)
		fl->ups[used].used = true;
	f.rcode_origin = -1;
	if (f.answered && f.rcode) {
		if (used >= 0 && fl->ups[used].rcode == f.rcode)
			f.rcode_origin = DNSREEL_ROLE_UPSTREAM;
		else
			f.rcode_origin = DNSREEL_ROLE_FORWARDER;
	}
	if (!f.answered) {
		const struct obs *last = &t->obs[t->nobs - 1];
		f.has_lost = true;
		f.lost.response = last->qr;
		f.lost.capture = last->capture;
		f.lost.netns = last->netns;
		f.lost.role = tx_role(fl, t, true, f.client_role, last->capture, last->netns);
		f.lost.after_ns = last->wall;
	}

	/* Every sighting in time order: the events, and the longest wait. */
	size_t ne = t->nobs;
	for (size_t u = 0; u < t->nup; u++)
		ne += t->up[u]->nobs;
	if (reserve((void **)&fl->sorted, &fl->sorted_cap, ne, sizeof(*fl->sorted)))
		return -ENOMEM;
	size_t k = 0;
	for (size_t i = 0; i < t->nobs; i++)
		fl->sorted[k++] = (struct sighting){&t->obs[i], 0};
	for (size_t u = 0; u < t->nup; u++)
		for (size_t i = 0; i < t->up[u]->nobs; i++)
			fl->sorted[k++] = (struct sighting){&t->up[u]->obs[i], u + 1};
	qsort(fl->sorted, ne, sizeof(*fl->sorted), cmp_sighting);
	qsort(fl->hops, nh, sizeof(*fl->hops), cmp_hop);
	f.slowest_hop = -1;
	for (size_t i = 0; i + 1 < ne; i++) {
		const struct sighting *s = &fl->sorted[i];
		int64_t gap = fl->sorted[i + 1].o->wall - s->o->wall;
		if (f.slowest_hop >= 0 && gap <= f.slowest_ns)
			continue;
		for (size_t j = 0; j < nh; j++) {
			const struct dnsreel_flow_hop *p = &fl->hops[j];
			if (p->transaction == s->ti && p->capture == s->o->capture &&
			    p->netns == s->o->netns && p->ifindex == s->o->ifindex) {
				f.slowest_hop = (int)j;
				f.slowest_ns = gap;
				break;
			}
		}
	}
	f.hops = fl->hops;
	f.nhops = nh;
	f.upstream = fl->ups;
	f.nupstream = t->nup;
	f.matched = !fl->o.filter || t->matched;
	for (size_t u = 0; !f.matched && u < t->nup; u++)
		f.matched = t->up[u]->matched;

	if (fl->o.events) {
		if (reserve((void **)&fl->recs, &fl->recs_cap, ne, sizeof(*fl->recs)))
			return -ENOMEM;
		for (size_t i = 0; i < ne; i++) {
			struct obs *o = fl->sorted[i].o;
			size_t ti = fl->sorted[i].ti;
			struct full *fu =
			    &(ti ? t->up[ti - 1] : t)->full[o->full]; /* events: all kept */
			struct dnsreel_rec *r = &fl->recs[i];
			r->ctx = fl->ctx;
			r->ev = &fu->ev;
			r->ns = fl->ctx ? dnsreel_ctx__netns(fl->ctx, o->capture, o->netns) : NULL;
			r->capture = o->capture;
			r->segment = fu->segment;
			r->wall_ns = o->wall;
			r->msg = fu->msg;
			r->msg_len = fu->msg ? fu->msg_len : 0;
			dnsreel_dns_parse(r->msg, r->msg_len, &r->dns);
			r->latency_ns = fu->latency;
		}
		f.events = fl->recs;
		f.nevents = ne;
	}
	fl->st.flows++;
	return fl->o.fn ? fl->o.fn(fl->o.arg, &f) : 0;
}

/* Emits (and frees) the oldest root; its upstream transactions go with their last root. */
static int pop_root(struct dnsreel_flows *fl)
{
	struct tx *t = fl->head;
	fl->head = t->next_root;
	if (!fl->head)
		fl->tail = NULL;
	t->emitted = true;
	int ret = dnsreel__fl_settle_inflight(fl, t);
	if (!ret)
		ret = emit(fl, t);
	if (t->lookup && t->lookup->pending) {
		t->lookup->pending--;
		dnsreel__fl_lookup_drop_if_done(fl, t->lookup);
	}
	for (size_t u = 0; u < t->nup; u++)
		dnsreel__fl_tx_release(fl, t->up[u]);
	t->nup = 0;
	dnsreel__fl_tx_release(fl, t);
	return ret;
}

int dnsreel__fl_emit_ready(struct dnsreel_flows *fl)
{
	while (fl->head && fl->now - fl->head->first > fl->o.window_ns) {
		int ret = pop_root(fl);
		if (ret)
			return ret;
	}
	return 0;
}

int dnsreel_flows__advance(struct dnsreel_flows *fl, int64_t now_wall_ns)
{
	if (now_wall_ns > fl->now)
		fl->now = now_wall_ns;
	return dnsreel__fl_emit_ready(fl);
}

int dnsreel_flows__flush(struct dnsreel_flows *fl)
{
	while (fl->head) {
		int ret = pop_root(fl);
		if (ret)
			return ret;
	}
	return 0;
}
