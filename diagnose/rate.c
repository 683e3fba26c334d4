/* Rates per minute: NXDOMAIN storms per pod and hot names. Each key keeps its current minute's
 * count and its total before it; a minute is judged when the key's next minute starts (or at
 * the end): far above the key's usual rate (its mean per minute since it was first seen, the
 * quiet minutes included) and over an absolute floor. A pod's first minute has no rate of its
 * own: it is judged at the end against the other pods' mean minute; a name's is not judged. Names live in a set-associative table
 * that evicts the least-counted name of a full set, so memory is fixed however many names. */
#include <errno.h>
#include <string.h>
#include <strings.h>

#include "diag_int.h"

enum { RC_NXDOMAIN = 3 };

/* A judged minute that is a storm: into the finding of (id, subject). */
static int storm_hit(struct dnsreel_diag *d, const char *id, const char *subject,
		     enum dnsreel_severity sev, uint64_t n, double usual, int64_t first,
		     int64_t last, char (*ex)[17], size_t nex, const char *pod)
{
	int err = 0;
	struct acc *a = dnsreel__dg_acc(d, id, subject, sev, &err);
	if (!a)
		return err;
	dnsreel__dg_hit(d, a, n, first, NULL);
	dnsreel__dg_hit(d, a, 0, last, NULL);
	for (size_t i = 0; i < nex; i++)
		dnsreel__dg_hit(d, a, 0, 0, ex[i]);
	if (pod && dnsreel__dg_set_add(&a->pods, pod))
		return -ENOMEM;
	double minutes = 0, peak = 0, u = usual;
	for (size_t i = 0; i < a->nnums; i++) {
		if (!strcmp(a->numkey[i], "minutes"))
			minutes = a->numval[i];
		else if (!strcmp(a->numkey[i], "peak_per_minute"))
			peak = a->numval[i];
		else if (!strcmp(a->numkey[i], "usual_per_minute") && a->numval[i] > u)
			u = a->numval[i];
	}
	dnsreel__dg_num(a, "minutes", minutes + 1);
	dnsreel__dg_num(a, "peak_per_minute", (double)n > peak ? (double)n : peak);
	dnsreel__dg_num(a, "usual_per_minute", u);
	return 0;
}

static bool is_storm(uint64_t n, uint64_t before, int64_t minutes_before, uint64_t floor_n,
		     double factor, double *usual)
{
	*usual = minutes_before > 0 ? (double)before / (double)minutes_before : 0;
	double base = *usual > 1 ? *usual : 1;
	return n >= floor_n && (double)n >= factor * base;
}

static int pod_close(struct dnsreel_diag *d, struct pod *p)
{
	if (p->minute == INT64_MIN || !p->cur_nx)
		return 0;
	double usual;
	int err = 0;
	int64_t before = p->minute - p->first_minute;
	d->pm_sum += p->cur_nx;
	d->pm_n++;
	if (!before) {
		p->first_nx = p->cur_nx;
		p->first_first = p->cur_first;
		p->first_last = p->cur_last;
		memcpy(p->first_ex, p->ex, sizeof(p->ex));
		p->first_nex = p->nex;
	} else if (is_storm(p->cur_nx, p->nx_before_minute, before, d->o.storm_min,
			    d->o.storm_factor, &usual))
		err = storm_hit(d, DNSREEL_FIND_NXDOMAIN_STORM, p->text, DNSREEL_SEV_WARNING,
				p->cur_nx, usual, p->cur_first, p->cur_last, p->ex, p->nex, p->text);
	p->nx_before_minute += p->cur_nx;
	p->cur_nx = 0;
	p->nex = 0;
	return err;
}

/* A pod's first minute, against the other pods' usual minute (none: against nothing). */
static int pod_first(struct dnsreel_diag *d, struct pod *p)
{
	if (!p->first_nx)
		return 0;
	uint64_t others = d->pm_sum - p->first_nx, n = d->pm_n - 1;
	double usual;
	if (!is_storm(p->first_nx, others, (int64_t)n, d->o.storm_min, d->o.storm_factor, &usual))
		return 0;
	return storm_hit(d, DNSREEL_FIND_NXDOMAIN_STORM, p->text, DNSREEL_SEV_WARNING, p->first_nx,
			 usual, p->first_first, p->first_last, p->first_ex, p->first_nex, p->text);
}

static int hot_close(struct dnsreel_diag *d, struct hot *h)
{
	if (!h->key || !h->cur)
		return 0;
	double usual;
	int err = 0;
	/* a name's first minute is not judged: the other names' rates say nothing of its own */
	if (h->minute > h->first_minute &&
	    is_storm(h->cur, h->before, h->minute - h->first_minute, d->o.hot_min, d->o.hot_factor,
		     &usual))
		err = storm_hit(d, DNSREEL_FIND_HOT_NAME, h->name, DNSREEL_SEV_INFO, h->cur, usual,
				h->cur_first, h->cur_last, h->ex, h->nex, NULL);
	h->before += h->cur;
	h->cur = 0;
	h->nex = 0;
	return err;
}

static void keep_example(char (*ex)[17], size_t *nex, const char *flow_id)
{
	if (*nex < 5)
		memcpy(ex[(*nex)++], flow_id, 17);
}

static struct hot *hot_of(struct dnsreel_diag *d, const struct dnsreel_flow *f, int64_t minute,
			  int *err)
{
	uint64_t key = dnsreel__dg_hash_lower(0x5bd1e995, f->name) | 1;
	struct hot *set = &d->hot[(key & (HOT_SETS - 1)) * HOT_WAYS], *victim = NULL;
	for (size_t w = 0; w < HOT_WAYS; w++) {
		struct hot *h = &set[w];
		if (h->key == key && !strcasecmp(h->name, f->name))
			return h;
		if (!victim || !h->key || (victim->key && h->before + h->cur < victim->before + victim->cur))
			victim = h;
		if (!h->key)
			break;
	}
	if (victim->key && (*err = hot_close(d, victim)))
		return NULL;
	memset(victim, 0, sizeof(*victim));
	victim->key = key;
	snprintf(victim->name, sizeof(victim->name), "%s", f->name);
	victim->minute = victim->first_minute = minute;
	return victim;
}

int dnsreel__dg_rate_flow(struct dnsreel_diag *d, const struct dnsreel_flow *f, struct pod *p)
{
	int64_t minute = f->wall_ns / MIN_NS;
	int err = 0;
	if (p) {
		if (p->minute != minute) {
			if ((err = pod_close(d, p)))
				return err;
			if (p->minute == INT64_MIN)
				p->first_minute = minute;
			p->minute = minute;
		}
		if (f->answered && f->rcode == RC_NXDOMAIN) {
			if (!p->cur_nx)
				p->cur_first = f->wall_ns;
			p->cur_last = f->wall_ns;
			p->cur_nx++;
			keep_example(p->ex, &p->nex, f->flow_id);
		}
	}
	struct hot *h = hot_of(d, f, minute, &err);
	if (!h)
		return err;
	if (h->minute != minute) {
		if ((err = hot_close(d, h)))
			return err;
		h->minute = minute;
	}
	if (!h->cur)
		h->cur_first = f->wall_ns;
	h->cur_last = f->wall_ns;
	h->cur++;
	keep_example(h->ex, &h->nex, f->flow_id);
	return 0;
}

int dnsreel__dg_rate_finish(struct dnsreel_diag *d)
{
	int err = 0;
	for (size_t i = 0; !err && i < POD_MAX; i++)
		if (d->pods[i].key)
			err = pod_close(d, &d->pods[i]);
	for (size_t i = 0; !err && i < POD_MAX; i++)
		if (d->pods[i].key)
			err = pod_first(d, &d->pods[i]);
	for (size_t i = 0; !err && i < HOT_SETS * HOT_WAYS; i++)
		err = hot_close(d, &d->hot[i]);
	return err;
}
