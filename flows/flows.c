/* Flow reconstruction. Every rec with a question joins a transaction: one DNS message exchange
 * (id, question) followed across observation points. A query joins the transaction whose query
 * had the same source endpoint (DNAT rewrites the destination), or the same destination in the
 * same netns (SNAT rewrites the source); a response joins the transaction whose query came from
 * its destination. A query that joins nothing starts a transaction; if its netns received a
 * query with the same question (case-insensitively) that it has not answered yet, the new
 * transaction is an upstream try of those (coalescing: several at once), otherwise it roots a
 * flow of its own. Roles, outcome and latencies are worked out when the flow is emitted.
 */

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "dnsreel.h"
#include "flows_int.h"

static int grow_tab(struct dnsreel_flows *fl)
{
	size_t n = fl->tab ? (fl->tab_mask + 1) * 2 : 4096;
	struct hent **t = calloc(n, sizeof(*t));
	if (!t)
		return -ENOMEM;
	for (size_t i = 0; fl->tab && i <= fl->tab_mask; i++) {
		struct hent *e = fl->tab[i], *next;
		for (; e; e = next) {
			next = e->next;
			struct hent **b = &t[e->key & (n - 1)];
			e->next = *b;
			if (*b)
				(*b)->pprev = &e->next;
			e->pprev = b;
			*b = e;
		}
	}
	free(fl->tab);
	fl->tab = t;
	fl->tab_mask = n - 1;
	return 0;
}

static int tx_index(struct dnsreel_flows *fl, struct tx *t, uint64_t key)
{
	for (size_t i = 0; i < t->nents; i++)
		if (t->ents[i]->key == key)
			return 0;
	if (fl->tab_n >= fl->tab_mask + 1 && grow_tab(fl))
		return -ENOMEM;
	if (t->nents == t->ents_cap) {
		size_t nc = t->ents_cap ? t->ents_cap * 2 : 4;
		struct hent **ne = realloc(t->ents, nc * sizeof(*ne));
		if (!ne)
			return -ENOMEM;
		t->ents = ne;
		t->ents_cap = nc;
	}
	struct hent *e = fl->free_hents;
	if (e)
		fl->free_hents = e->next;
	else if (!(e = malloc(sizeof(*e))))
		return -ENOMEM;
	e->key = key;
	e->tx = t;
	struct hent **b = &fl->tab[key & fl->tab_mask];
	e->next = *b;
	if (*b)
		(*b)->pprev = &e->next;
	e->pprev = b;
	*b = e;
	fl->tab_n++;
	t->ents[t->nents++] = e;
	return 0;
}

/* Drops one key of t (the netns answered: its query is no longer pending there). */
static void tx_unindex_key(struct dnsreel_flows *fl, struct tx *t, uint64_t key)
{
	for (size_t i = 0; i < t->nents; i++) {
		struct hent *e = t->ents[i];
		if (e->key != key)
			continue;
		*e->pprev = e->next;
		if (e->next)
			e->next->pprev = e->pprev;
		e->next = fl->free_hents;
		fl->free_hents = e;
		fl->tab_n--;
		t->ents[i] = t->ents[--t->nents];
		return;
	}
}

static void tx_unindex(struct dnsreel_flows *fl, struct tx *t)
{
	for (size_t i = 0; i < t->nents; i++) {
		struct hent *e = t->ents[i];
		*e->pprev = e->next;
		if (e->next)
			e->next->pprev = e->pprev;
		e->next = fl->free_hents;
		fl->free_hents = e;
		fl->tab_n--;
	}
	t->nents = 0;
}

static void tx_free(struct dnsreel_flows *fl, struct tx *t)
{
	(void)fl;
	if (t->all_pprev) {
		*t->all_pprev = t->all_next;
		if (t->all_next)
			t->all_next->all_pprev = t->all_pprev;
	}
	for (size_t i = 0; i < t->nfull; i++)
		free(t->full[i].msg);
	free(t->full);
	free(t->obs);
	free(t->ents);
	free(t->up);
	free(t->name);
	free(t);
}

void dnsreel__fl_tx_release(struct dnsreel_flows *fl, struct tx *t)
{
	if (--t->refs > 0)
		return;
	tx_unindex(fl, t);
	tx_free(fl, t);
	fl->live--;
}

/* ---- keys ------------------------------------------------------------------------------- */

static inline uint64_t msg_hash(uint16_t id, uint64_t qhash)
{
	return mix(qhash, id);
}

static uint64_t key_qsrc(uint64_t mh, uint8_t ipv, const uint8_t a[16], uint16_t port)
{
	return endpoint_hash(mix(mh, K_QSRC), ipv, a, port);
}

static uint64_t key_qdst(uint64_t mh, uint8_t ipv, const uint8_t a[16], uint16_t port)
{
	return endpoint_hash(mix(mh, K_QDST), ipv, a, port);
}

static uint64_t key_pend(uint64_t qhash, uint32_t cap, uint64_t netns)
{
	return mix(mix(mix(qhash, K_PEND), cap), netns);
}

static uint64_t key_sent(uint64_t qhash, uint32_t cap, uint64_t netns)
{
	return mix(mix(mix(qhash, K_SENT), cap), netns);
}

static struct tx *find(struct dnsreel_flows *fl, uint64_t key, uint16_t id, uint64_t qhash,
		       const char *lname)
{
	/* The 64-bit key already covers the name (qhash); comparing the text as well would cost
	 * one more cache miss per packet for a 2^-64 collision. */
	(void)lname;
	for (struct hent *e = fl->tab[key & fl->tab_mask]; e; e = e->next)
		if (e->key == key && e->tx->id == id && e->tx->qhash == qhash)
			return e->tx;
	return NULL;
}

/* ---- servers seen (netns that sent responses) --------------------------------------------- */

bool dnsreel__fl_is_server(const struct dnsreel_flows *fl, uint64_t k)
{
	for (size_t i = 0; i < fl->nservers; i++)
		if (fl->servers[i] == k)
			return true;
	return false;
}

static int add_server(struct dnsreel_flows *fl, uint64_t k)
{
	if (dnsreel__fl_is_server(fl, k))
		return 0;
	if (fl->nservers == fl->servers_cap) {
		size_t nc = fl->servers_cap ? fl->servers_cap * 2 : 16;
		uint64_t *ns = realloc(fl->servers, nc * sizeof(*ns));
		if (!ns)
			return -ENOMEM;
		fl->servers = ns;
		fl->servers_cap = nc;
	}
	fl->servers[fl->nservers++] = k;
	return 0;
}

/* ---- feeding ------------------------------------------------------------------------------ */

static int add_obs(struct dnsreel_flows *fl, struct tx *t, const struct dnsreel_rec *rec)
{
	if (t->nobs == t->obs_cap) {
		size_t nc = t->obs_cap ? t->obs_cap * 2 : 8; /* a hop's query and response */
		struct obs *no = realloc(t->obs, nc * sizeof(*no));
		if (!no)
			return -ENOMEM;
		t->obs = no;
		t->obs_cap = nc;
	}
	const struct dnsreel_event *ev = rec->ev;
	struct obs *o = &t->obs[t->nobs];
	o->wall = rec->wall_ns;
	o->netns = ev->netns;
	o->capture = rec->capture;
	o->ifindex = ev->ifindex;
	o->proc = (ev->flags & DNSREEL_EV_PROC) != 0;
	o->pid = o->proc ? ev->pid : 0;
	o->src_port = ev->src_port;
	o->rcode = rec->dns.rcode;
	o->pkt_type = ev->pkt_type;
	o->qr = rec->dns.qr;
	o->tc = rec->dns.tc;
	o->full = -1;
	bool keep = fl->o.events || !t->nobs;
	if (!keep && o->proc && !t->proc_kept && rec->capture == t->origin_cap &&
	    ev->netns == t->origin_netns)
		keep = true;
	for (size_t i = 0; !keep && i <= t->nobs; i++) {
		const struct obs *p = &t->obs[i];
		if (i == t->nobs)
			keep = true; /* a new observation point */
		else if (p->capture == o->capture && p->netns == o->netns &&
			 p->ifindex == o->ifindex)
			break;
	}
	if (keep) {
		if (t->nfull == t->full_cap) {
			size_t nc = t->full_cap ? t->full_cap * 2 : 4;
			struct full *nf = realloc(t->full, nc * sizeof(*nf));
			if (!nf)
				return -ENOMEM;
			t->full = nf;
			t->full_cap = nc;
		}
		struct full *fu = &t->full[t->nfull];
		fu->ev = *ev;
		fu->ev.payload = NULL;
		fu->ev.cap_len = 0;
		fu->msg = NULL;
		fu->msg_len = rec->msg_len;
		fu->segment = rec->segment;
		fu->latency = rec->latency_ns;
		if (fl->o.events && rec->msg_len) {
			fu->msg = malloc(rec->msg_len);
			if (!fu->msg)
				return -ENOMEM;
			memcpy(fu->msg, rec->msg, rec->msg_len);
		}
		o->full = (int32_t)t->nfull++;
		if (o->proc && rec->capture == t->origin_cap && ev->netns == t->origin_netns)
			t->proc_kept = true;
	}
	t->nobs++;
	if (!t->matched && fl->o.filter && dnsreel_filter__match(fl->o.filter, rec))
		t->matched = true;
	return 0;
}

static void make_flow_id(struct dnsreel_flows *fl, struct tx *t, const struct dnsreel_rec *rec)
{
	static const char hex[] = "0123456789abcdef";
	const struct dnsreel_meta *m = fl->ctx ? dnsreel_ctx__meta(fl->ctx, rec->capture) : NULL;
	const struct dnsreel_event *ev = rec->ev;
	uint64_t h = 0xcbf29ce484222325ULL;
	if (m)
		h = fnv(h, m->capture_id, strnlen(m->capture_id, sizeof(m->capture_id)));
	uint64_t v[4] = {(uint64_t)ev->ts_ns, ev->netns,
			 (uint64_t)ev->ifindex << 32 | (uint64_t)ev->src_port << 16 | t->id,
			 (uint64_t)ev->pkt_type};
	h = fnv(h, v, sizeof(v));
	for (int i = 0; i < 16; i++)
		t->flow_id[i] = hex[(h >> (60 - 4 * i)) & 15];
	t->flow_id[16] = 0;
}

static struct tx *tx_new(struct dnsreel_flows *fl, const struct dnsreel_rec *rec, const char *lname,
			 uint64_t qhash)
{
	struct tx *t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	size_t n = strlen(rec->dns.qname);
	t->name = malloc(2 * n + 2);
	if (!t->name) {
		free(t);
		return NULL;
	}
	memcpy(t->name, rec->dns.qname, n + 1);
	t->lname = t->name + n + 1;
	memcpy(t->lname, lname, n + 1);
	t->id = rec->dns.id;
	t->qtype = rec->dns.qtype;
	t->qclass = rec->dns.qclass;
	t->qhash = qhash;
	t->origin_cap = rec->capture;
	t->origin_netns = rec->ev->netns;
	t->first = rec->wall_ns;
	t->refs = 1;
	t->all_next = fl->all;
	if (fl->all)
		fl->all->all_pprev = &t->all_next;
	t->all_pprev = &fl->all;
	fl->all = t;
	fl->live++;
	fl->st.transactions++;
	if (fl->live > fl->st.live_max)
		fl->st.live_max = fl->live;
	return t;
}

static int attach(struct tx *root, struct tx *up)
{
	for (size_t i = 0; i < root->nup; i++)
		if (root->up[i] == up)
			return 0;
	if (root->nup == root->up_cap) {
		size_t nc = root->up_cap ? root->up_cap * 2 : 4;
		struct tx **nu = realloc(root->up, nc * sizeof(*nu));
		if (!nu)
			return -ENOMEM;
		root->up = nu;
		root->up_cap = nc;
	}
	root->up[root->nup++] = up;
	up->refs++;
	return 0;
}

/* The roots a transaction belongs to: itself, or the roots it serves. */
static bool responded_in(const struct tx *t, uint32_t cap, uint64_t netns)
{
	for (size_t i = 0; i < t->nobs; i++) {
		const struct obs *o = &t->obs[i];
		if (o->qr && o->capture == cap && o->netns == netns &&
		    o->pkt_type == DNSREEL_PKT_OUTGOING)
			return true;
	}
	return false;
}

static void detach(struct dnsreel_flows *fl, struct tx *root, struct tx *up)
{
	for (size_t i = 0; i < root->nup; i++) {
		if (root->up[i] != up)
			continue;
		memmove(&root->up[i], &root->up[i + 1], (root->nup - i - 1) * sizeof(*root->up));
		root->nup--;
		dnsreel__fl_tx_release(fl, up);
		return;
	}
}

#define MAX_CAND 64

/* Links a new query t, sent from the netns of rec, to the queries with the same question that
 * netns received and has not answered: the roots it serves. Clients without a try yet all get
 * it (one upstream query serving several clients). When every client has one, a try shared by
 * several means the forwarder did not coalesce after all: the latest client to arrive gets the
 * new try instead. Otherwise it is the next try of each (timeout, REFUSED, TC). Queries of a
 * chain of forwarders (t serving an upstream try) serve that try's roots. */
static int link_upstream(struct dnsreel_flows *fl, struct tx *t, const struct dnsreel_rec *rec)
{
	uint64_t key = key_pend(t->qhash, rec->capture, rec->ev->netns);
	struct tx *cand[MAX_CAND];
	size_t nc = 0;
	bool linked = false;
	for (struct hent *e = fl->tab[key & fl->tab_mask]; e; e = e->next) {
		struct tx *c = e->tx;
		if (e->key != key || c == t || c->qhash != t->qhash || strcmp(c->lname, t->lname))
			continue;
		if (c->origin_cap == rec->capture && c->origin_netns == rec->ev->netns)
			continue;
		if (responded_in(c, rec->capture, rec->ev->netns))
			continue;
		if (c->root) {
			if (!c->emitted && nc < MAX_CAND)
				cand[nc++] = c;
			continue;
		}
		for (struct tx *r = fl->head; r; r = r->next_root) {
			for (size_t i = 0; i < r->nup; i++) {
				if (r->up[i] != c)
					continue;
				if (attach(r, t))
					return -ENOMEM;
				linked = true;
				break;
			}
		}
	}
	if (!nc)
		return linked ? 1 : 0;
	size_t fresh = 0;
	for (size_t i = 0; i < nc; i++)
		if (!cand[i]->nup)
			fresh++;
	if (fresh) {
		for (size_t i = 0; i < nc; i++)
			if (!cand[i]->nup && attach(cand[i], t))
				return -ENOMEM;
		return 1;
	}
	struct tx *late = NULL;
	for (size_t i = 0; i < nc; i++) {
		struct tx *last = cand[i]->up[cand[i]->nup - 1];
		for (size_t j = 0; j < nc; j++) {
			if (j != i && cand[j]->up[cand[j]->nup - 1] == last &&
			    cand[j]->first < cand[i]->first &&
			    (!late || cand[i]->first > late->first))
				late = cand[i];
		}
	}
	if (late) {
		detach(fl, late, late->up[late->nup - 1]);
		return attach(late, t) ? -ENOMEM : 1;
	}
	for (size_t i = 0; i < nc; i++)
		if (attach(cand[i], t))
			return -ENOMEM;
	return 1;
}

/* Same id, question and destination but another source: a source NAT of t's query, as
 * conntrack does it, when a forwarded copy (no local process sent it) keeps one of t's source
 * ports, or leaves a netns t's query arrived in and has not left yet. Otherwise another client
 * (or another upstream try) that happened to pick the same id. */
static bool snat_of(const struct tx *t, const struct dnsreel_rec *rec)
{
	const struct dnsreel_event *ev = rec->ev;
	bool port = false, arrived = false, left = false;
	for (size_t i = 0; i < t->nobs; i++) {
		const struct obs *o = &t->obs[i];
		if (o->qr)
			continue;
		if (o->src_port == ev->src_port)
			port = true;
		if (o->capture == rec->capture && o->netns == ev->netns) {
			if (o->pkt_type == DNSREEL_PKT_OUTGOING)
				left = true;
			else
				arrived = true;
		}
	}
	if (ev->flags & DNSREEL_EV_PROC)
		return false;
	return port || (arrived && !left);
}

/* A client query that reaches a forwarder while the forwarder's upstream try for the same
 * question is in flight may be served by that try (the forwarder coalesced it). Which it was is
 * known only later: if the forwarder sends no try of its own for this client, it was (see
 * dnsreel__fl_settle_inflight); the try is held until then. */
static void note_inflight(struct dnsreel_flows *fl, struct tx *t, const struct dnsreel_rec *rec)
{
	if (t->inflight)
		return;
	uint64_t key = key_sent(t->qhash, rec->capture, rec->ev->netns);
	for (struct hent *e = fl->tab[key & fl->tab_mask]; e; e = e->next) {
		struct tx *c = e->tx;
		if (e->key != key || c->root || c->qhash != t->qhash ||
		    strcmp(c->lname, t->lname) || c->origin_cap != rec->capture ||
		    c->origin_netns != rec->ev->netns)
			continue;
		t->inflight = c;
		c->refs++;
		return;
	}
}

int dnsreel__fl_settle_inflight(struct dnsreel_flows *fl, struct tx *t)
{
	struct tx *c = t->inflight;
	if (!c)
		return 0;
	t->inflight = NULL;
	int err = t->nup ? 0 : attach(t, c);
	dnsreel__fl_tx_release(fl, c);
	return err;
}

int dnsreel_flows__feed(struct dnsreel_flows *fl, const struct dnsreel_rec *rec)
{
	const struct dnsreel_event *ev = rec->ev;
	const struct dnsreel_dns *d = &rec->dns;
	int err;

	fl->st.recs++;
	if (rec->wall_ns > fl->now)
		fl->now = rec->wall_ns;
	/* A server's own dnstap report is no hop: flows and their ids are the wire's alone. */
	if (!d->has_question || rec->msg_len < 12 || ev->pkt_type == DNSREEL_PKT_DNSTAP) {
		fl->st.recs_ignored++;
		return dnsreel__fl_emit_ready(fl);
	}
	char lname[DNSREEL_DNS_NAME_MAX];
	size_t n = 0;
	for (; d->qname[n] && n < sizeof(lname) - 1; n++) {
		char c = d->qname[n];
		lname[n] = (c >= 'A' && c <= 'Z') ? (char)(c + 32) : c;
	}
	lname[n] = 0;
	uint64_t qhash =
	    mix(fnv(0xcbf29ce484222325ULL, lname, n), (uint64_t)d->qtype << 16 | d->qclass);
	uint64_t mh = msg_hash(d->id, qhash);
	struct tx *t;

	if (d->qr) {
		t = find(fl, key_qsrc(mh, ev->ip_version, ev->dst_addr, ev->dst_port), d->id, qhash,
			 lname);
		if (!t)
			t = find(fl, key_qdst(mh, ev->ip_version, ev->src_addr, ev->src_port),
				 d->id, qhash, lname);
		if (ev->pkt_type == DNSREEL_PKT_OUTGOING &&
		    (err = add_server(fl, netns_key(rec->capture, ev->netns))))
			return err;
		if (!t) {
			/* A response to a query never seen: in no flow. */
			fl->st.recs_ignored++;
			return dnsreel__fl_emit_ready(fl);
		}
		if ((err = add_obs(fl, t, rec)))
			return err;
		if (ev->pkt_type == DNSREEL_PKT_OUTGOING)
			tx_unindex_key(fl, t, key_pend(t->qhash, rec->capture, ev->netns));
		else if (!t->root && rec->capture == t->origin_cap && ev->netns == t->origin_netns)
			tx_unindex_key(fl, t, key_sent(t->qhash, rec->capture, ev->netns));
		if (t->root && !t->client_answered && rec->capture == t->origin_cap &&
		    ev->netns == t->origin_netns && ev->pkt_type != DNSREEL_PKT_OUTGOING) {
			t->client_answered = true;
			dnsreel__fl_lookup_answered(fl, t, &t->obs[t->nobs - 1]);
		}
		return dnsreel__fl_emit_ready(fl);
	}

	uint64_t ksrc = key_qsrc(mh, ev->ip_version, ev->src_addr, ev->src_port);
	uint64_t kdst = key_qdst(mh, ev->ip_version, ev->dst_addr, ev->dst_port);
	t = find(fl, ksrc, d->id, qhash, lname);
	if (!t) {
		t = find(fl, kdst, d->id, qhash, lname);
		if (t && !snat_of(t, rec))
			t = NULL;
	}
	if (!t) {
		t = tx_new(fl, rec, lname, qhash);
		if (!t)
			return -ENOMEM;
		int linked = 0;
		if (ev->pkt_type == DNSREEL_PKT_OUTGOING) {
			linked = link_upstream(fl, t, rec);
			if (linked < 0) {
				tx_free(fl, t);
				return linked;
			}
		}
		if (linked) {
			t->refs--; /* held by its roots only */
		} else {
			t->root = true;
			make_flow_id(fl, t, rec);
			if ((err = dnsreel__fl_assign_lookup(fl, t, rec))) {
				tx_free(fl, t);
				return err;
			}
			if (fl->tail)
				fl->tail->next_root = t;
			else
				fl->head = t;
			fl->tail = t;
		}
	}
	if ((err = add_obs(fl, t, rec)) || (err = tx_index(fl, t, ksrc)) ||
	    (err = tx_index(fl, t, kdst)))
		return err;
	if (ev->pkt_type != DNSREEL_PKT_OUTGOING &&
	    (err = tx_index(fl, t, key_pend(qhash, rec->capture, ev->netns))))
		return err;
	if (ev->pkt_type == DNSREEL_PKT_OUTGOING && !t->root && rec->capture == t->origin_cap &&
	    ev->netns == t->origin_netns && t->nobs == 1 &&
	    (err = tx_index(fl, t, key_sent(qhash, rec->capture, ev->netns))))
		return err;
	if (ev->pkt_type != DNSREEL_PKT_OUTGOING && t->root)
		note_inflight(fl, t, rec);
	if (fl->now - fl->last_sweep > 1000000000LL) {
		fl->last_sweep = fl->now;
		dnsreel__fl_lookup_sweep(fl);
	}
	return dnsreel__fl_emit_ready(fl);
}

int dnsreel_flows__new(struct dnsreel_flows **out, const struct dnsreel_ctx *ctx,
		       const struct dnsreel_flows_opts *opts)
{
	*out = NULL;
	if (!opts || opts->sz < sizeof(size_t))
		return DNSREEL_E_ARG;
	struct dnsreel_flows *fl = calloc(1, sizeof(*fl));
	if (!fl)
		return -ENOMEM;
	memcpy(&fl->o, opts, opts->sz < sizeof(fl->o) ? opts->sz : sizeof(fl->o));
	if (fl->o.window_ns <= 0)
		fl->o.window_ns = DEFAULT_WINDOW_NS;
	if (fl->o.lookup_gap_ns <= 0)
		fl->o.lookup_gap_ns = DEFAULT_LOOKUP_GAP_NS;
	fl->ctx = ctx;
	fl->now = INT64_MIN;
	if (grow_tab(fl) || dnsreel__fl_grow_ltab(fl)) {
		dnsreel_flows__free(fl);
		return -ENOMEM;
	}
	*out = fl;
	return 0;
}

void dnsreel_flows__stats(const struct dnsreel_flows *fl, struct dnsreel_flows_stats *st)
{
	*st = fl->st;
}

void dnsreel_flows__free(struct dnsreel_flows *fl)
{
	if (!fl)
		return;
	while (fl->head) {
		struct tx *t = fl->head;
		fl->head = t->next_root;
		for (size_t u = 0; u < t->nup; u++)
			dnsreel__fl_tx_release(fl, t->up[u]);
		t->nup = 0;
		dnsreel__fl_tx_release(fl, t);
	}
	/* transactions no root holds (upstream tries not linked yet, in-flight ones): a run
	 * stopped by its callback leaves some */
	while (fl->all) {
		struct tx *t = fl->all;
		tx_unindex(fl, t);
		tx_free(fl, t);
	}
	for (size_t i = 0; fl->ltab && i <= fl->ltab_mask; i++) {
		struct lookup *l = fl->ltab[i], *next;
		for (; l; l = next) {
			next = l->next;
			dnsreel__fl_lookup_free(l);
		}
	}
	free(fl->ltab);
	free(fl->tab);
	while (fl->free_hents) {
		struct hent *e = fl->free_hents;
		fl->free_hents = e->next;
		free(e);
	}
	free(fl->servers);
	free(fl->hops);
	free(fl->ups);
	free(fl->recs);
	free(fl->sorted);
	free(fl);
}

const char *dnsreel_flow_role_name(enum dnsreel_flow_role r)
{
	switch (r) {
	case DNSREEL_ROLE_CLIENT:
		return "client";
	case DNSREEL_ROLE_NODE:
		return "node";
	case DNSREEL_ROLE_FORWARDER:
		return "forwarder";
	case DNSREEL_ROLE_UPSTREAM:
		return "upstream";
	}
	return "unknown";
}
