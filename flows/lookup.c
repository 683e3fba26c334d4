/* Lookups: the flows one application call caused (search-path walk, A and AAAA together,
 * retries), grouped by client and question stem within the resolver's timeout. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "dnsreel.h"
#include "flows_int.h"

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

void dnsreel__fl_lookup_free(struct lookup *l)
{
	free(l->stem);
	free(l->prev);
	free(l);
}

int dnsreel__fl_grow_ltab(struct dnsreel_flows *fl)
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
void dnsreel__fl_lookup_sweep(struct dnsreel_flows *fl)
{
	for (size_t i = 0; i <= fl->ltab_mask; i++) {
		struct lookup **pp = &fl->ltab[i];
		while (*pp) {
			struct lookup *l = *pp;
			if (!l->pending && (fl->now - l->last > fl->o.lookup_gap_ns ||
					    (l->done && fl->now - l->done_at > COMPANION_NS))) {
				*pp = l->next;
				dnsreel__fl_lookup_free(l);
				fl->ltab_n--;
			} else {
				pp = &l->next;
			}
		}
	}
}

int dnsreel__fl_assign_lookup(struct dnsreel_flows *fl, struct tx *t, const struct dnsreel_rec *rec)
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
		if (l->key != k || rec->wall_ns - l->last > fl->o.lookup_gap_ns)
			continue;
		bool again = false, asked = false;
		for (uint32_t i = 0; i < l->nasked && !again; i++) {
			asked |= l->asked[i].qhash == t->qhash;
			again = l->asked[i].qhash == t->qhash &&
				(l->asked[i].answered ||
				 (!l->asked[i].truncated &&
				  rec->wall_ns - l->asked[i].ts < RETRY_MIN_NS));
		}
		if (l->done && (asked || strcmp(l->prev, t->lname) ||
				rec->wall_ns - l->done_at > COMPANION_NS))
			continue;
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
		if (fl->ltab_n >= fl->ltab_mask + 1 && dnsreel__fl_grow_ltab(fl))
			return -ENOMEM;
		l = calloc(1, sizeof(*l));
		if (!l)
			return -ENOMEM;
		l->key = k;
		l->stem = strdup(t->lname);
		l->prev = strdup(t->lname);
		if (!l->stem || !l->prev) {
			dnsreel__fl_lookup_free(l);
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

/* A finished lookup with nothing pending leaves once its companion time is over (the sweep
 * takes it then), so the client's later calls do not walk past it. */
void dnsreel__fl_lookup_drop_if_done(struct dnsreel_flows *fl, struct lookup *l)
{
	if (!l->done || l->pending || fl->now - l->done_at <= COMPANION_NS)
		return;
	struct lookup **pp = &fl->ltab[l->key & fl->ltab_mask];
	while (*pp && *pp != l)
		pp = &(*pp)->next;
	if (*pp) {
		*pp = l->next;
		dnsreel__fl_lookup_free(l);
		fl->ltab_n--;
	}
}

/* The client got its answer: a Success that is not truncated ends the lookup. */
void dnsreel__fl_lookup_answered(struct dnsreel_flows *fl, struct tx *t, const struct obs *o)
{
	struct lookup *l = t->lookup;
	if (!l)
		return;
	if (l->pending)
		l->pending--;
	if (o->rcode == 0 && !o->tc && !l->done) {
		l->done = true;
		l->done_at = o->wall;
	}
	for (uint32_t i = l->nasked; i-- > 0;)
		if (l->asked[i].qhash == t->qhash && !l->asked[i].answered &&
		    !l->asked[i].truncated) {
			l->asked[i].answered = !o->tc;
			l->asked[i].truncated = o->tc;
			break;
		}
	t->lookup = NULL;
	dnsreel__fl_lookup_drop_if_done(fl, l);
}
