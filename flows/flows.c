/* Flow reconstruction. Every rec with a question joins a transaction: one DNS message exchange
 * (id, question) followed across observation points. A query joins the transaction whose query
 * had the same source endpoint (DNAT rewrites the destination), or the same destination in the
 * same netns (SNAT rewrites the source); a response joins the transaction whose query came from
 * its destination. A query that joins nothing starts a transaction; if its netns received a
 * query with the same question (case-insensitively) that it has not answered yet, the new
 * transaction is an upstream try of those (coalescing: several at once), otherwise it roots a
 * flow of its own. Roles, outcome and latencies are worked out when the flow is emitted.
 */
#include "flows.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "dnsreel.h"

#define DEFAULT_WINDOW_NS     (10 * 1000000000LL)
#define DEFAULT_LOOKUP_GAP_NS (6 * 1000000000LL)

enum key_kind {
	K_QSRC = 1, /* query source endpoint */
	K_QDST,	    /* query destination endpoint */
	K_PEND,	    /* query received in a netns, question only */
};

/* One sighting, compact: the window holds millions of them. The whole event is kept (in
 * tx.full) only where it is shown: the first sighting at each observation point, the client's
 * process, and every sighting when the caller wants events. */
struct obs {
	int64_t wall;
	uint64_t netns;
	uint32_t capture;
	uint32_t ifindex;
	uint32_t pid;
	int32_t full; /* index into tx.full, -1 = none */
	uint16_t src_port;
	uint16_t rcode;
	uint8_t pkt_type, qr, tc, proc;
};

struct full {
	struct dnsreel_event ev;
	uint8_t *msg; /* owned copy when opts.events */
	uint32_t msg_len, segment;
	int64_t latency;
};

struct tx;
struct sighting;

struct hent {
	uint64_t key;
	struct hent *next, **pprev; /* pprev: O(1) unlink */
	struct tx *tx;
};

struct lookup {
	uint64_t key;
	struct lookup *next;
	char id[17];
	char *stem; /* the labels every name of the lookup starts with */
	char *prev; /* the last name */
	int64_t last;
	uint32_t pending;
	bool done;
	/* The questions asked: one asked again after its answer, or again within a second while
	 * the first is unanswered (too soon for a retry), is another call. */
	struct {
		uint64_t qhash;
		int64_t ts;
		bool answered, truncated; /* truncated: the retry over TCP may follow at once */
	} asked[16];
	uint32_t nasked;
};

#define RETRY_MIN_NS 1000000000LL

struct tx {
	uint16_t id, qtype, qclass;
	char *name, *lname;
	uint64_t qhash; /* lowercase name, qtype, qclass */
	struct obs *obs;
	size_t nobs, obs_cap;
	struct full *full;
	size_t nfull, full_cap;
	bool proc_kept; /* a sighting with the client's process is in full */
	struct hent **ents;
	size_t nents, ents_cap;
	uint32_t origin_cap;
	uint64_t origin_netns;
	int64_t first;
	bool root, emitted;
	int refs; /* roots holding this upstream transaction, plus one while a root is live */
	/* root only */
	struct tx **up;
	size_t nup, up_cap;
	struct tx *next_root;
	struct lookup *lookup;
	char flow_id[17];
	char lookup_id[17];
	bool client_answered;
	bool matched;
};

struct dnsreel_flows {
	struct dnsreel_flows_opts o;
	const struct dnsreel_ctx *ctx;
	struct hent **tab;
	size_t tab_mask, tab_n;
	struct hent *free_hents; /* recycled entries: one malloc per entry is the hot path */
	struct lookup **ltab;
	size_t ltab_mask, ltab_n;
	int64_t last_sweep;
	uint64_t *servers; /* (capture, netns) hashes that sent a response: forwarders */
	size_t nservers, servers_cap;
	struct tx *head, *tail;
	uint64_t live;
	int64_t now;
	struct dnsreel_flows_stats st;
	/* emission scratch */
	struct dnsreel_flow_hop *hops;
	size_t hops_cap;
	struct dnsreel_flow_upstream *ups;
	size_t ups_cap;
	struct dnsreel_rec *recs;
	size_t recs_cap;
	struct sighting *sorted;
	size_t sorted_cap;
};

/* ---- hashing ------------------------------------------------------------------------------ */

static inline uint64_t mix(uint64_t h, uint64_t v)
{
	h ^= v + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2);
	h *= 0xff51afd7ed558ccdULL;
	return h ^ (h >> 33);
}

static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
	const uint8_t *b = p;
	for (size_t i = 0; i < n; i++) {
		h ^= b[i];
		h *= 0x100000001b3ULL;
	}
	return h;
}

static uint64_t endpoint_hash(uint64_t h, uint8_t ipv, const uint8_t a[16], uint16_t port)
{
	uint64_t w0, w1;
	memcpy(&w0, a, 8);
	memcpy(&w1, a + 8, 8);
	return mix(mix(mix(h, w0), w1), (uint64_t)ipv << 16 | port);
}

static inline uint64_t netns_key(uint32_t cap, uint64_t netns)
{
	return mix(mix(0x51ed, cap), netns);
}

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

static void tx_free(struct tx *t)
{
	for (size_t i = 0; i < t->nfull; i++)
		free(t->full[i].msg);
	free(t->full);
	free(t->obs);
	free(t->ents);
	free(t->up);
	free(t->name);
	free(t);
}

static void tx_release(struct dnsreel_flows *fl, struct tx *t)
{
	if (--t->refs > 0)
		return;
	tx_unindex(fl, t);
	tx_free(t);
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

static bool is_server(const struct dnsreel_flows *fl, uint64_t k)
{
	for (size_t i = 0; i < fl->nservers; i++)
		if (fl->servers[i] == k)
			return true;
	return false;
}

static int add_server(struct dnsreel_flows *fl, uint64_t k)
{
	if (is_server(fl, k))
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

/* ---- lookups ------------------------------------------------------------------------------ */

/* Length of the longest common prefix of a and b that ends after a label ('.'). */
static size_t label_prefix(const char *a, const char *b)
{
	size_t i = 0, last = 0;
	while (a[i] && a[i] == b[i]) {
		if (a[i] == '.')
			last = i + 1;
		i++;
	}
	return last;
}

/* s is a label-aligned suffix of l. */
static bool label_suffix(const char *s, const char *l)
{
	size_t ns = strlen(s), nl = strlen(l);
	if (ns > nl)
		return false;
	if (strcmp(l + nl - ns, s))
		return false;
	return ns == nl || ns == 0 || l[nl - ns - 1] == '.';
}

/* The search walk: every name is STEM + a search domain, the domains nested
 * (ns.svc.cluster.local, svc.cluster.local, cluster.local, then none). */
static bool lookup_related(const struct lookup *l, const char *lname, size_t *stem_len)
{
	size_t n = label_prefix(l->stem, lname);
	if (!n && strcmp(l->stem, lname))
		return false;
	if (!n)
		n = strlen(lname);
	const char *rn = lname + n, *rp = l->prev + n;
	*stem_len = n;
	return label_suffix(rn, rp) || label_suffix(rp, rn);
}

static void lookup_free(struct lookup *l)
{
	free(l->stem);
	free(l->prev);
	free(l);
}

static int grow_ltab(struct dnsreel_flows *fl)
{
	size_t n = fl->ltab ? (fl->ltab_mask + 1) * 2 : 1024;
	struct lookup **t = calloc(n, sizeof(*t));
	if (!t)
		return -ENOMEM;
	for (size_t i = 0; fl->ltab && i <= fl->ltab_mask; i++) {
		struct lookup *e = fl->ltab[i], *next;
		for (; e; e = next) {
			next = e->next;
			e->next = t[e->key & (n - 1)];
			t[e->key & (n - 1)] = e;
		}
	}
	free(fl->ltab);
	fl->ltab = t;
	fl->ltab_mask = n - 1;
	return 0;
}

/* Drops lookups idle past the gap with nothing pending. */
static void lookup_sweep(struct dnsreel_flows *fl)
{
	for (size_t i = 0; i <= fl->ltab_mask; i++) {
		struct lookup **pp = &fl->ltab[i];
		while (*pp) {
			struct lookup *l = *pp;
			if (!l->pending && fl->now - l->last > fl->o.lookup_gap_ns) {
				*pp = l->next;
				lookup_free(l);
				fl->ltab_n--;
			} else {
				pp = &l->next;
			}
		}
	}
}

static int assign_lookup(struct dnsreel_flows *fl, struct tx *t, const struct dnsreel_rec *rec)
{
	const struct dnsreel_event *ev = rec->ev;
	uint64_t k = netns_key(rec->capture, ev->netns);
	if (ev->flags & DNSREEL_EV_PROC)
		k = mix(mix(k, 1), ev->pid);
	else
		k = endpoint_hash(mix(k, 2), ev->ip_version, ev->src_addr, 0);
	/* every name of a search walk starts with the same label */
	k = mix(fnv(k, t->lname, strcspn(t->lname, ".")), 3);
	struct lookup *l = fl->ltab[k & fl->ltab_mask];
	size_t stem = 0;
	for (; l; l = l->next) {
		if (l->key != k || l->done || rec->wall_ns - l->last > fl->o.lookup_gap_ns)
			continue;
		bool again = false;
		for (uint32_t i = 0; i < l->nasked && !again; i++)
			again = l->asked[i].qhash == t->qhash &&
				(l->asked[i].answered ||
				 (!l->asked[i].truncated &&
				  rec->wall_ns - l->asked[i].ts < RETRY_MIN_NS));
		if (!again && lookup_related(l, t->lname, &stem))
			break;
	}
	if (l) {
		l->stem[stem] = 0;
		char *p = strdup(t->lname);
		if (!p)
			return -ENOMEM;
		free(l->prev);
		l->prev = p;
	} else {
		if (fl->ltab_n >= fl->ltab_mask + 1 && grow_ltab(fl))
			return -ENOMEM;
		l = calloc(1, sizeof(*l));
		if (!l)
			return -ENOMEM;
		l->key = k;
		l->stem = strdup(t->lname);
		l->prev = strdup(t->lname);
		if (!l->stem || !l->prev) {
			lookup_free(l);
			return -ENOMEM;
		}
		memcpy(l->id, t->flow_id, sizeof(l->id));
		l->next = fl->ltab[k & fl->ltab_mask];
		fl->ltab[k & fl->ltab_mask] = l;
		fl->ltab_n++;
	}
	l->last = rec->wall_ns;
	l->pending++;
	if (l->nasked < sizeof(l->asked) / sizeof(l->asked[0])) {
		l->asked[l->nasked].qhash = t->qhash;
		l->asked[l->nasked].ts = rec->wall_ns;
		l->asked[l->nasked].answered = false;
		l->asked[l->nasked].truncated = false;
		l->nasked++;
	}
	t->lookup = l;
	memcpy(t->lookup_id, l->id, sizeof(t->lookup_id));
	return 0;
}

/* A finished lookup with nothing pending leaves at once, so the client's later calls do not walk
 * past it. */
static void lookup_drop_if_done(struct dnsreel_flows *fl, struct lookup *l)
{
	if (!l->done || l->pending)
		return;
	struct lookup **pp = &fl->ltab[l->key & fl->ltab_mask];
	while (*pp && *pp != l)
		pp = &(*pp)->next;
	if (*pp) {
		*pp = l->next;
		lookup_free(l);
		fl->ltab_n--;
	}
}

/* The client got its answer: a Success that is not truncated ends the lookup. */
static void lookup_answered(struct dnsreel_flows *fl, struct tx *t, const struct obs *o)
{
	struct lookup *l = t->lookup;
	if (!l)
		return;
	if (l->pending)
		l->pending--;
	if (o->rcode == 0 && !o->tc)
		l->done = true;
	for (uint32_t i = l->nasked; i-- > 0;)
		if (l->asked[i].qhash == t->qhash && !l->asked[i].answered &&
		    !l->asked[i].truncated) {
			l->asked[i].answered = !o->tc;
			l->asked[i].truncated = o->tc;
			break;
		}
	t->lookup = NULL;
	lookup_drop_if_done(fl, l);
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
		tx_release(fl, up);
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

static int emit_ready(struct dnsreel_flows *fl);

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

int dnsreel_flows__feed(struct dnsreel_flows *fl, const struct dnsreel_rec *rec)
{
	const struct dnsreel_event *ev = rec->ev;
	const struct dnsreel_dns *d = &rec->dns;
	int err;

	fl->st.recs++;
	if (rec->wall_ns > fl->now)
		fl->now = rec->wall_ns;
	if (!d->has_question || rec->msg_len < 12) {
		fl->st.recs_ignored++;
		return emit_ready(fl);
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
			return emit_ready(fl);
		}
		if ((err = add_obs(fl, t, rec)))
			return err;
		if (ev->pkt_type == DNSREEL_PKT_OUTGOING)
			tx_unindex_key(fl, t, key_pend(t->qhash, rec->capture, ev->netns));
		if (t->root && !t->client_answered && rec->capture == t->origin_cap &&
		    ev->netns == t->origin_netns && ev->pkt_type != DNSREEL_PKT_OUTGOING) {
			t->client_answered = true;
			lookup_answered(fl, t, &t->obs[t->nobs - 1]);
		}
		return emit_ready(fl);
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
				tx_free(t);
				return linked;
			}
		}
		if (linked) {
			t->refs--; /* held by its roots only */
		} else {
			t->root = true;
			make_flow_id(fl, t, rec);
			if ((err = assign_lookup(fl, t, rec))) {
				tx_free(t);
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
	if (fl->now - fl->last_sweep > 1000000000LL) {
		fl->last_sweep = fl->now;
		lookup_sweep(fl);
	}
	return emit_ready(fl);
}

/* ---- emission ----------------------------------------------------------------------------- */

/* Role of each netns a transaction crossed: the origin sent it, a netns that received it and
 * sent it on passed it (node), the last that received it without sending it on served it. */
static enum dnsreel_flow_role tx_role(const struct tx *t, bool root, enum dnsreel_flow_role origin,
				      uint32_t cap, uint64_t netns)
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
	if (q_in && !q_out)
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
			p->role = tx_role(t, root, origin, o->capture, o->netns);
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
	f.client_role = is_server(fl, netns_key(t->origin_cap, t->origin_netns))
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
		    tx_role(t, true, f.client_role, o->capture, o->netns) ==
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
		f.lost.role = tx_role(t, true, f.client_role, last->capture, last->netns);
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
	int ret = emit(fl, t);
	if (t->lookup && t->lookup->pending) {
		t->lookup->pending--;
		lookup_drop_if_done(fl, t->lookup);
	}
	for (size_t u = 0; u < t->nup; u++)
		tx_release(fl, t->up[u]);
	t->nup = 0;
	tx_release(fl, t);
	return ret;
}

static int emit_ready(struct dnsreel_flows *fl)
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
	return emit_ready(fl);
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
	if (grow_tab(fl) || grow_ltab(fl)) {
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
			tx_release(fl, t->up[u]);
		t->nup = 0;
		tx_release(fl, t);
	}
	for (size_t i = 0; fl->ltab && i <= fl->ltab_mask; i++) {
		struct lookup *l = fl->ltab[i], *next;
		for (; l; l = next) {
			next = l->next;
			lookup_free(l);
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
