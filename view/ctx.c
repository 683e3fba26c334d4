/* Context across captures: capture meta, netns records and an endpoint table (pod IPs from each
 * netns's "ips" text, service VIPs) so replay can render p/NS/POD:PORT and s/NS/SVC:PORT.
 *
 * Netns records are allocated one by one so pointers handed out stay valid across upserts and
 * table growth. Endpoints are kept per capture and, as a fallback, cluster-wide: a service VIP
 * or a pod IP learned from one node's capture names the same thing in another's.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "ctx_priv.h"
#include "dnsreel.h"

#define ANY_CAPTURE UINT32_MAX

struct nsent {
	struct dnsreel_netns_ctx ns;
	bool has_pod; /* its pod and ips are in the endpoint table as of ns */
};

struct cap {
	bool used, has_meta;
	struct dnsreel_meta meta;
	char *path;
	struct nsent **tab; /* open addressing by netns inode */
	size_t tab_cap, tab_n;
};

struct epkey {
	uint32_t capture;
	uint16_t port;
	uint8_t ver;
	uint8_t kind; /* 'p' pod, 's' service with port, 'S' marks "some service has this IP" */
	uint8_t addr[16];
};

struct epval {
	char kind;
	char *ns;
	char *name;
	/* Pods: the netns that had the address from since (its first sighting, boot ns), and the
	 * one that had it before (pods come and go; their IPs are handed to new pods). */
	uint64_t netns;
	int64_t since;
	struct epval *older;
};

struct epent {
	bool used;
	struct epkey k;
	struct epval *v;
};

struct dnsreel_ctx {
	struct cap *caps;
	size_t ncaps;
	struct epent *ep;
	size_t ep_cap, ep_n;
	struct epval **vals; /* owned values, freed at the end */
	size_t nvals, vals_cap;
};

static uint64_t ep_hash(const struct epkey *k)
{
	uint64_t a, b;
	memcpy(&a, k->addr, 8);
	memcpy(&b, k->addr + 8, 8);
	uint64_t h =
	    dnsreel_mix64(a ^ ((uint64_t)k->capture << 32) ^ ((uint64_t)k->port << 8) ^ k->kind);
	return dnsreel_mix64(h ^ b ^ k->ver);
}

int dnsreel_ctx__new(struct dnsreel_ctx **out)
{
	if (!out)
		return DNSREEL_E_ARG;
	*out = calloc(1, sizeof(**out));
	return *out ? 0 : -ENOMEM;
}

void dnsreel_ctx__free(struct dnsreel_ctx *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->ncaps; i++) {
		struct cap *cp = &c->caps[i];
		for (size_t j = 0; j < cp->tab_cap; j++)
			free(cp->tab[j]);
		free(cp->tab);
		free(cp->path);
	}
	free(c->caps);
	for (size_t i = 0; i < c->nvals; i++) {
		free(c->vals[i]->ns);
		free(c->vals[i]->name);
		free(c->vals[i]);
	}
	free(c->vals);
	free(c->ep);
	free(c);
}

static struct cap *cap_get(struct dnsreel_ctx *c, uint32_t capture)
{
	if (capture == ANY_CAPTURE)
		return NULL;
	if (capture >= c->ncaps) {
		size_t n = (size_t)capture + 1;
		struct cap *nc = realloc(c->caps, n * sizeof(*nc));
		if (!nc)
			return NULL;
		memset(nc + c->ncaps, 0, (n - c->ncaps) * sizeof(*nc));
		c->caps = nc;
		c->ncaps = n;
	}
	c->caps[capture].used = true;
	return &c->caps[capture];
}

static const struct cap *cap_find(const struct dnsreel_ctx *c, uint32_t capture)
{
	if (!c || capture >= c->ncaps || !c->caps[capture].used)
		return NULL;
	return &c->caps[capture];
}

int dnsreel_ctx__set_meta(struct dnsreel_ctx *c, uint32_t capture, const struct dnsreel_meta *m)
{
	if (!c || !m)
		return DNSREEL_E_ARG;
	struct cap *cp = cap_get(c, capture);
	if (!cp)
		return -ENOMEM;
	cp->meta = *m;
	cp->meta.node[sizeof(cp->meta.node) - 1] = 0;
	cp->has_meta = true;
	return 0;
}

const struct dnsreel_meta *dnsreel_ctx__meta(const struct dnsreel_ctx *c, uint32_t capture)
{
	const struct cap *cp = cap_find(c, capture);
	return cp && cp->has_meta ? &cp->meta : NULL;
}

const char *dnsreel_ctx__node(const struct dnsreel_ctx *c, uint32_t capture)
{
	const struct cap *cp = cap_find(c, capture);
	return cp && cp->has_meta ? cp->meta.node : "";
}

int dnsreel_ctx__set_path(struct dnsreel_ctx *c, uint32_t capture, const char *path)
{
	struct cap *cp = cap_get(c, capture);
	if (!cp)
		return -ENOMEM;
	char *p = strdup(path ? path : "");
	if (!p)
		return -ENOMEM;
	free(cp->path);
	cp->path = p;
	return 0;
}

const char *dnsreel_ctx__path(const struct dnsreel_ctx *c, uint32_t capture)
{
	const struct cap *cp = cap_find(c, capture);
	return cp && cp->path ? cp->path : "";
}

/* ---- netns table -------------------------------------------------------------------------- */

static struct nsent **ns_slot(struct nsent **tab, size_t cap, uint64_t netns)
{
	size_t i = (size_t)dnsreel_mix64(netns) & (cap - 1);
	while (tab[i] && tab[i]->ns.netns != netns)
		i = (i + 1) & (cap - 1);
	return &tab[i];
}

static int ns_grow(struct cap *cp)
{
	size_t ncap = cp->tab_cap ? cp->tab_cap * 2 : 64;
	struct nsent **nt = calloc(ncap, sizeof(*nt));
	if (!nt)
		return -ENOMEM;
	for (size_t i = 0; i < cp->tab_cap; i++)
		if (cp->tab[i])
			*ns_slot(nt, ncap, cp->tab[i]->ns.netns) = cp->tab[i];
	free(cp->tab);
	cp->tab = nt;
	cp->tab_cap = ncap;
	return 0;
}

/* ---- endpoint table ----------------------------------------------------------------------- */

static struct epent *ep_slot(struct epent *tab, size_t cap, const struct epkey *k)
{
	size_t i = (size_t)ep_hash(k) & (cap - 1);
	while (tab[i].used && memcmp(&tab[i].k, k, sizeof(*k)) != 0)
		i = (i + 1) & (cap - 1);
	return &tab[i];
}

static int ep_put(struct dnsreel_ctx *c, const struct epkey *k, struct epval *v)
{
	if ((c->ep_n + 1) * 2 > c->ep_cap) {
		size_t ncap = c->ep_cap ? c->ep_cap * 2 : 256;
		struct epent *nt = calloc(ncap, sizeof(*nt));
		if (!nt)
			return -ENOMEM;
		for (size_t i = 0; i < c->ep_cap; i++)
			if (c->ep[i].used)
				*ep_slot(nt, ncap, &c->ep[i].k) = c->ep[i];
		free(c->ep);
		c->ep = nt;
		c->ep_cap = ncap;
	}
	struct epent *e = ep_slot(c->ep, c->ep_cap, k);
	if (!e->used) {
		e->used = true;
		e->k = *k;
		c->ep_n++;
	}
	e->v = v;
	return 0;
}

static const struct epval *ep_get(const struct dnsreel_ctx *c, const struct epkey *k)
{
	if (!c->ep_n)
		return NULL;
	const struct epent *e = ep_slot(c->ep, c->ep_cap, k);
	return e->used ? e->v : NULL;
}

static struct epval *val_new(struct dnsreel_ctx *c, char kind, const char *ns, const char *name)
{
	if (c->nvals == c->vals_cap) {
		size_t ncap = c->vals_cap ? c->vals_cap * 2 : 64;
		struct epval **nv = realloc(c->vals, ncap * sizeof(*nv));
		if (!nv)
			return NULL;
		c->vals = nv;
		c->vals_cap = ncap;
	}
	struct epval *v = calloc(1, sizeof(*v));
	if (!v)
		return NULL;
	v->kind = kind;
	v->ns = strdup(ns);
	v->name = strdup(name);
	if (!v->ns || !v->name) {
		free(v->ns);
		free(v->name);
		free(v);
		return NULL;
	}
	c->vals[c->nvals++] = v;
	return v;
}

static void key_init(struct epkey *k, uint32_t capture, char kind, uint8_t ver,
		     const uint8_t addr[16], uint16_t port)
{
	memset(k, 0, sizeof(*k));
	k->capture = capture;
	k->kind = (uint8_t)kind;
	k->ver = ver;
	k->port = port;
	memcpy(k->addr, addr, ver == 4 ? 4 : 16);
}

/* One pod address of ns under key k: the newest holder heads the key's chain, older holders
 * follow by time, and a netns upserted again replaces its own entry. */
static int pod_addr_put(struct dnsreel_ctx *c, const struct epkey *k,
			const struct dnsreel_netns_ctx *ns)
{
	struct epval *v = val_new(c, 'p', ns->k8s_namespace, ns->k8s_podname);
	if (!v)
		return -ENOMEM;
	v->netns = ns->netns;
	v->since = ns->first_seen_ns;
	struct epval *head = (struct epval *)ep_get(c, k);
	if (head && head->kind != 'p')
		head = NULL;
	if (!head || v->since >= head->since || head->netns == v->netns) {
		v->older = head;
		/* drop this netns's own earlier entry from the chain */
		for (struct epval **pp = &v->older; *pp; pp = &(*pp)->older)
			if ((*pp)->netns == v->netns) {
				*pp = (*pp)->older;
				break;
			}
		return ep_put(c, k, v);
	}
	struct epval *p = head;
	while (p->older && p->older->since > v->since && p->older->netns != v->netns)
		p = p->older;
	if (p->older && p->older->netns == v->netns)
		p->older = p->older->older;
	v->older = p->older;
	p->older = v;
	return 0;
}

/* Registers every address of the comma-separated ips text ("10.0.0.4, fd00::4/64") as a pod. */
static int add_pod_ips(struct dnsreel_ctx *c, uint32_t capture, const struct dnsreel_netns_ctx *ns)
{
	if (!ns->k8s_podname[0] || !ns->ips[0])
		return 0;
	const char *p = ns->ips;
	while (*p) {
		while (*p == ',' || *p == ' ')
			p++;
		char one[INET6_ADDRSTRLEN + 8];
		size_t n = 0;
		while (*p && *p != ',' && *p != ' ' && n + 1 < sizeof(one))
			one[n++] = *p++;
		while (*p && *p != ',' && *p != ' ')
			p++;
		one[n] = 0;
		char *slash = strchr(one, '/');
		if (slash)
			*slash = 0;
		uint8_t a[16] = {0};
		uint8_t ver;
		if (inet_pton(AF_INET, one, a) == 1)
			ver = 4;
		else if (inet_pton(AF_INET6, one, a) == 1)
			ver = 6;
		else
			continue;
		/* loopback addresses are in every netns: they name nobody */
		if ((ver == 4 && a[0] == 127) ||
		    (ver == 6 && !memcmp(a, "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\1", 16)))
			continue;
		struct epkey k;
		key_init(&k, capture, 'p', ver, a, 0);
		int rc = pod_addr_put(c, &k, ns);
		if (rc == 0) {
			k.capture = ANY_CAPTURE;
			rc = pod_addr_put(c, &k, ns);
		}
		if (rc)
			return rc;
	}
	return 0;
}

int dnsreel_ctx__put_netns(struct dnsreel_ctx *c, uint32_t capture,
			   const struct dnsreel_netns_ctx *ns)
{
	if (!c || !ns)
		return DNSREEL_E_ARG;
	struct cap *cp = cap_get(c, capture);
	if (!cp)
		return -ENOMEM;
	if ((cp->tab_n + 1) * 2 > cp->tab_cap && ns_grow(cp) < 0)
		return -ENOMEM;
	struct nsent **s = ns_slot(cp->tab, cp->tab_cap, ns->netns);
	if (!*s) {
		*s = calloc(1, sizeof(**s));
		if (!*s)
			return -ENOMEM;
		cp->tab_n++;
	}
	/* Live captures upsert the same record again and again: only a change in the pod or its
	 * addresses touches the endpoint table (whose values are never freed before the end). */
	bool same =
	    (*s)->has_pod &&
	    !strncmp((*s)->ns.k8s_podname, ns->k8s_podname, sizeof(ns->k8s_podname)) &&
	    !strncmp((*s)->ns.k8s_namespace, ns->k8s_namespace, sizeof(ns->k8s_namespace)) &&
	    !strncmp((*s)->ns.ips, ns->ips, sizeof(ns->ips));
	(*s)->ns = *ns;
	struct dnsreel_netns_ctx *d = &(*s)->ns;
	/* untrusted input: make sure every string ends */
	d->name[sizeof(d->name) - 1] = 0;
	d->k8s_namespace[sizeof(d->k8s_namespace) - 1] = 0;
	d->k8s_podname[sizeof(d->k8s_podname) - 1] = 0;
	d->k8s_pod_uid[sizeof(d->k8s_pod_uid) - 1] = 0;
	d->k8s_containername[sizeof(d->k8s_containername) - 1] = 0;
	d->runtime_containername[sizeof(d->runtime_containername) - 1] = 0;
	d->runtime_containerid[sizeof(d->runtime_containerid) - 1] = 0;
	d->ips[sizeof(d->ips) - 1] = 0;
	if (same)
		return 0;
	int rc = add_pod_ips(c, capture, d);
	(*s)->has_pod = rc == 0;
	return rc;
}

const struct dnsreel_netns_ctx *dnsreel_ctx__netns(const struct dnsreel_ctx *c, uint32_t capture,
						   uint64_t netns)
{
	const struct cap *cp = cap_find(c, capture);
	if (!cp || !cp->tab_n)
		return NULL;
	struct nsent *const *s = ns_slot(cp->tab, cp->tab_cap, netns);
	return *s ? &(*s)->ns : NULL;
}

void dnsreel_ctx__each_netns(const struct dnsreel_ctx *c, uint32_t capture,
			     void (*fn)(void *arg, const struct dnsreel_netns_ctx *ns), void *arg)
{
	const struct cap *cp = cap_find(c, capture);
	if (!cp)
		return;
	for (size_t i = 0; i < cp->tab_cap; i++)
		if (cp->tab[i])
			fn(arg, &cp->tab[i]->ns);
}

int dnsreel_ctx__put_service(struct dnsreel_ctx *c, uint32_t capture,
			     const struct dnsreel_service_ctx *svc)
{
	if (!c || !svc || (svc->ip_version != 4 && svc->ip_version != 6))
		return DNSREEL_E_ARG;
	if (!cap_get(c, capture))
		return -ENOMEM;
	char ns[sizeof(svc->k8s_namespace)], name[sizeof(svc->name)];
	memcpy(ns, svc->k8s_namespace, sizeof(ns));
	ns[sizeof(ns) - 1] = 0;
	memcpy(name, svc->name, sizeof(name));
	name[sizeof(name) - 1] = 0;
	struct epkey k;
	key_init(&k, capture, 's', svc->ip_version, svc->addr, svc->port);
	const struct epval *old = ep_get(c, &k);
	if (old && !strcmp(old->ns, ns) && !strcmp(old->name, name))
		return 0; /* an upsert that changes nothing */
	struct epval *v = val_new(c, 's', ns, name);
	if (!v)
		return -ENOMEM;
	uint32_t caps[2] = {capture, ANY_CAPTURE};
	for (int i = 0; i < 2; i++) {
		key_init(&k, caps[i], 's', svc->ip_version, svc->addr, svc->port);
		int rc = ep_put(c, &k, v);
		if (rc)
			return rc;
		key_init(&k, caps[i], 'S', svc->ip_version, svc->addr, 0);
		if ((rc = ep_put(c, &k, v)))
			return rc;
	}
	return 0;
}

static const struct epval *lookup(const struct dnsreel_ctx *c, uint32_t capture, uint8_t ver,
				  const uint8_t addr[16], uint16_t port, int64_t ts_ns)
{
	struct epkey k;
	key_init(&k, capture, 'p', ver, addr, 0);
	const struct epval *v = ep_get(c, &k);
	if (v) {
		/* who had the address then: the newest holder seen by ts_ns (else the first) */
		while (v->older && v->since > ts_ns)
			v = v->older;
		return v;
	}
	k.kind = 'S';
	if (!ep_get(c, &k))
		return NULL;
	k.kind = 's';
	k.port = port;
	if ((v = ep_get(c, &k)))
		return v;
	k.port = 0;
	return ep_get(c, &k);
}

void dnsreel_ctx__endpoint(const struct dnsreel_ctx *c, uint32_t capture, uint8_t ip_version,
			   const uint8_t addr[16], uint16_t port, struct dnsreel_endpoint *ep)
{
	dnsreel_ctx__endpoint_at(c, capture, ip_version, addr, port, INT64_MAX, ep);
}

void dnsreel_ctx__endpoint_at(const struct dnsreel_ctx *c, uint32_t capture, uint8_t ip_version,
			      const uint8_t addr[16], uint16_t port, int64_t ts_ns,
			      struct dnsreel_endpoint *ep)
{
	ep->kind = 0;
	ep->k8s_namespace = NULL;
	ep->name = NULL;
	if (!c || !c->ep_n || (ip_version != 4 && ip_version != 6))
		return;
	const struct epval *v = lookup(c, capture, ip_version, addr, port, ts_ns);
	if (!v) /* another capture's clock: its newest holder */
		v = lookup(c, ANY_CAPTURE, ip_version, addr, port, INT64_MAX);
	if (!v)
		return;
	ep->kind = v->kind;
	ep->k8s_namespace = v->ns;
	ep->name = v->name;
}
