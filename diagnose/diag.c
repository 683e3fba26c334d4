/* The diagnosis: accumulators of findings keyed by (id, subject), their ordering, and the JSON
 * and text forms. The detectors live in detect.c and rate.c. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "diag_int.h"
#include "dnsreel.h"

const char *dnsreel_severity_name(enum dnsreel_severity s)
{
	switch (s) {
	case DNSREEL_SEV_INFO:
		return "info";
	case DNSREEL_SEV_WARNING:
		return "warning";
	case DNSREEL_SEV_ERROR:
		return "error";
	}
	return "unknown";
}

uint64_t dnsreel__dg_hash_str(uint64_t h, const char *s)
{
	for (; *s; s++)
		h = (h ^ (uint8_t)*s) * 0x100000001b3ULL;
	return dnsreel_mix64(h);
}

uint64_t dnsreel__dg_hash_lower(uint64_t h, const char *s)
{
	for (; *s; s++) {
		uint8_t c = (uint8_t)*s;
		if (c >= 'A' && c <= 'Z')
			c = (uint8_t)(c + 32);
		h = (h ^ c) * 0x100000001b3ULL;
	}
	return dnsreel_mix64(h);
}

void dnsreel__dg_hist_add(struct hist *h, int64_t ns)
{
	if (ns < 0)
		return;
	uint64_t us = (uint64_t)ns / 1000;
	int b = 0;
	while (us > 1 && b < HIST_N - 1) {
		us >>= 1;
		b++;
	}
	h->b[b]++;
	h->n++;
	h->sum_ns += (double)ns;
	if (ns > h->max_ns)
		h->max_ns = ns;
}

void dnsreel__dg_hist_merge(struct hist *into, const struct hist *h)
{
	for (int b = 0; b < HIST_N; b++)
		into->b[b] += h->b[b];
	into->n += h->n;
	into->sum_ns += h->sum_ns;
	if (h->max_ns > into->max_ns)
		into->max_ns = h->max_ns;
}

int64_t dnsreel__dg_hist_q(const struct hist *h, double q)
{
	if (!h->n)
		return 0;
	uint64_t want = (uint64_t)ceil(q * (double)h->n), seen = 0;
	if (!want)
		want = 1;
	for (int b = 0; b < HIST_N; b++) {
		seen += h->b[b];
		if (seen >= want) {
			int64_t up = (int64_t)(2ULL << b) * 1000; /* bucket b holds [2^b, 2^(b+1)) us */
			return up < h->max_ns ? up : h->max_ns;
		}
	}
	return h->max_ns;
}

void dnsreel__dg_pod_text(const struct dnsreel_netns_ctx *ns, uint64_t netns, char *buf,
			  size_t len)
{
	if (ns && ns->k8s_podname[0])
		snprintf(buf, len, "%s/%s", ns->k8s_namespace, ns->k8s_podname);
	else if (ns && ns->name[0])
		snprintf(buf, len, "%s", ns->name);
	else
		snprintf(buf, len, "netns:%llu", (unsigned long long)netns);
}

struct pod *dnsreel__dg_pod(struct dnsreel_diag *d, uint32_t capture, uint64_t netns)
{
	uint64_t key = dnsreel_mix64(netns * 31 + capture + 1) | 1;
	size_t i = key & (POD_MAX - 1);
	for (size_t probe = 0; probe < POD_MAX; probe++, i = (i + 1) & (POD_MAX - 1)) {
		struct pod *p = &d->pods[i];
		if (p->key == key && p->capture == capture && p->netns == netns)
			return p;
		if (!p->key) {
			/* bounded: leave a quarter free so probes stay short */
			if (probe > 64)
				break;
			p->key = key;
			p->capture = capture;
			p->netns = netns;
			dnsreel__dg_pod_text(d->ctx ? dnsreel_ctx__netns(d->ctx, capture, netns)
						    : NULL,
					     netns, p->text, sizeof(p->text));
			p->minute = INT64_MIN;
			return p;
		}
	}
	d->st.dropped_keys++;
	return NULL;
}

struct acc *dnsreel__dg_acc(struct dnsreel_diag *d, const char *id, const char *subject,
			    enum dnsreel_severity sev, int *err)
{
	uint64_t h = dnsreel__dg_hash_str(dnsreel__dg_hash_str(0xcbf29ce484222325ULL, id), subject);
	size_t cap = 2 * ACC_MAX, i = h & (cap - 1);
	for (;; i = (i + 1) & (cap - 1)) {
		struct acc *a = d->acc[i];
		if (!a)
			break;
		if (a->hash == h && !strcmp(a->id, id) && !strcmp(a->subject, subject))
			return a;
	}
	if (d->nacc >= ACC_MAX) {
		d->st.dropped_keys++;
		return NULL;
	}
	struct acc *a = calloc(1, sizeof(*a));
	if (!a || !(a->subject = strdup(subject))) {
		free(a);
		*err = -ENOMEM;
		return NULL;
	}
	a->id = id;
	a->hash = h;
	a->sev = sev;
	d->acc[i] = a;
	d->nacc++;
	return a;
}

void dnsreel__dg_hit(struct dnsreel_diag *d, struct acc *a, uint64_t n, int64_t wall,
		     const char *flow_id)
{
	a->count += n;
	if (wall) {
		if (!a->first || wall < a->first)
			a->first = wall;
		if (wall > a->last)
			a->last = wall;
	}
	if (flow_id && a->nex < d->o.max_examples) {
		for (size_t i = 0; i < a->nex; i++)
			if (!strcmp(a->ex[i], flow_id))
				return;
		memcpy(a->ex[a->nex++], flow_id, 17);
	}
}

int dnsreel__dg_set_add(struct strset *s, const char *text)
{
	if (!text || !text[0])
		return 0;
	for (size_t i = 0; i < s->n; i++)
		if (!strcmp(s->v[i], text))
			return 0;
	if (s->n == SET_MAX)
		return 0;
	if (!(s->v[s->n] = strdup(text)))
		return -ENOMEM;
	s->n++;
	return 0;
}

void dnsreel__dg_num(struct acc *a, const char *key, double v)
{
	for (size_t i = 0; i < a->nnums; i++)
		if (!strcmp(a->numkey[i], key)) {
			a->numval[i] = v;
			return;
		}
	if (a->nnums == NUM_MAX)
		return;
	snprintf(a->numkey[a->nnums], sizeof(a->numkey[0]), "%s", key);
	a->numval[a->nnums++] = v;
}

int dnsreel_diag__new(struct dnsreel_diag **out, const struct dnsreel_ctx *ctx,
		      const struct dnsreel_diag_opts *opts)
{
	if (!out || (opts && opts->sz < sizeof(size_t)))
		return DNSREEL_E_ARG;
	*out = NULL;
	struct dnsreel_diag *d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	if (opts)
		memcpy(&d->o, opts, opts->sz < sizeof(d->o) ? opts->sz : sizeof(d->o));
	d->o.sz = sizeof(d->o);
	if (!d->o.max_examples)
		d->o.max_examples = 5;
	if (d->o.max_examples > EX_MAX)
		d->o.max_examples = EX_MAX;
	if (!d->o.min_count)
		d->o.min_count = 1;
	if (d->o.race_gap_ns <= 0)
		d->o.race_gap_ns = 10 * MS_NS;
	if (d->o.race_retry_ns <= 0)
		d->o.race_retry_ns = S_NS;
	if (d->o.slow_upstream_ns <= 0)
		d->o.slow_upstream_ns = 250 * MS_NS;
	if (!d->o.slow_min_samples)
		d->o.slow_min_samples = 20;
	if (!d->o.storm_min)
		d->o.storm_min = 120;
	if (!(d->o.storm_factor > 0))
		d->o.storm_factor = 10;
	if (!d->o.hot_min)
		d->o.hot_min = 600;
	if (!(d->o.hot_factor > 0))
		d->o.hot_factor = 10;
	d->ctx = ctx;
	d->acc = calloc(2 * ACC_MAX, sizeof(*d->acc));
	d->pods = calloc(POD_MAX, sizeof(*d->pods));
	d->hot = calloc(HOT_SETS * HOT_WAYS, sizeof(*d->hot));
	d->race = calloc(RACE_SLOTS, sizeof(*d->race));
	d->lk = calloc(LK_SLOTS, sizeof(*d->lk));
	d->upseen = calloc(UPSEEN_SLOTS, sizeof(*d->upseen));
	d->tcq = calloc(TC_SLOTS, sizeof(*d->tcq));
	d->tcseen = calloc(TC_SLOTS, sizeof(*d->tcseen));
	d->tcr = calloc(TC_SLOTS, sizeof(*d->tcr));
	d->bigseen = calloc(TC_SLOTS, sizeof(*d->bigseen));
	if (!d->bigseen ||
	    !d->acc || !d->pods || !d->hot || !d->race || !d->lk || !d->upseen || !d->tcq ||
	    !d->tcseen || !d->tcr) {
		dnsreel_diag__free(d);
		return -ENOMEM;
	}
	*out = d;
	return 0;
}

static void set_free(struct strset *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->v[i]);
}

void dnsreel_diag__free(struct dnsreel_diag *d)
{
	if (!d)
		return;
	for (size_t i = 0; d->acc && i < 2 * ACC_MAX; i++) {
		struct acc *a = d->acc[i];
		if (!a)
			continue;
		set_free(&a->pods);
		set_free(&a->netns);
		set_free(&a->servers);
		free(a->subject);
		free(a->title);
		free(a->fix);
		free(a->replay);
		free(a);
	}
	free(d->acc);
	free(d->sorted);
	free(d->pods);
	free(d->hot);
	free(d->race);
	free(d->lk);
	free(d->upseen);
	free(d->tcq);
	free(d->tcseen);
	free(d->tcr);
	free(d->bigseen);
	free(d);
}

int dnsreel_diag__rec(struct dnsreel_diag *d, const struct dnsreel_rec *rec)
{
	if (!d || !rec || d->finished)
		return DNSREEL_E_ARG;
	d->st.recs++;
	return dnsreel__dg_detect_rec(d, rec);
}

int dnsreel_diag__flow(struct dnsreel_diag *d, const struct dnsreel_flow *f)
{
	if (!d || !f || d->finished)
		return DNSREEL_E_ARG;
	d->st.flows++;
	if (!d->st.first_wall_ns || f->wall_ns < d->st.first_wall_ns)
		d->st.first_wall_ns = f->wall_ns;
	if (f->wall_ns > d->st.last_wall_ns)
		d->st.last_wall_ns = f->wall_ns;
	return dnsreel__dg_detect_flow(d, f);
}

static const char *capture_path(const struct dnsreel_diag *d, uint32_t capture, char *buf,
				size_t len)
{
	if (capture < d->o.ncaptures && d->o.captures && d->o.captures[capture])
		return d->o.captures[capture];
	snprintf(buf, len, "capture %u", (unsigned)capture);
	return buf;
}

int dnsreel_diag__counter(struct dnsreel_diag *d, uint32_t capture, const char *name,
			  uint64_t value)
{
	if (!d || !name || d->finished)
		return DNSREEL_E_ARG;
	if (strncmp(name, "lost.", 5) || !value)
		return 0;
	char buf[32];
	int err = 0;
	struct acc *a = dnsreel__dg_acc(d, DNSREEL_FIND_RECORDER_LOSS,
					capture_path(d, capture, buf, sizeof(buf)),
					DNSREEL_SEV_WARNING, &err);
	if (!a)
		return err;
	/* lost.proc.* are process-context records, not packets: shown, not counted as lost events */
	bool proc = !strncmp(name, "lost.proc.", 10);
	if (!proc)
		dnsreel__dg_hit(d, a, value, 0, NULL);
	double prev = 0, total = 0;
	for (size_t i = 0; i < a->nnums; i++) {
		if (!strcmp(a->numkey[i], name))
			prev = a->numval[i];
		if (!strcmp(a->numkey[i], "events_lost"))
			total = a->numval[i];
	}
	dnsreel__dg_num(a, "events_lost", total + (proc ? 0 : (double)value));
	dnsreel__dg_num(a, name, prev + (double)value);
	if (!proc)
		d->lost_total += value;
	return 0;
}

int dnsreel_diag__damaged(struct dnsreel_diag *d, uint32_t capture, uint64_t frames)
{
	if (!d || d->finished)
		return DNSREEL_E_ARG;
	if (!frames)
		return 0;
	char buf[32];
	int err = 0;
	struct acc *a = dnsreel__dg_acc(d, DNSREEL_FIND_RECORDER_LOSS,
					capture_path(d, capture, buf, sizeof(buf)),
					DNSREEL_SEV_WARNING, &err);
	if (!a)
		return err;
	double prev = 0;
	for (size_t i = 0; i < a->nnums; i++)
		if (!strcmp(a->numkey[i], "frames_damaged"))
			prev = a->numval[i];
	dnsreel__dg_hit(d, a, frames, 0, NULL);
	dnsreel__dg_num(a, "frames_damaged", prev + (double)frames);
	return 0;
}

static int cmp_acc(const void *pa, const void *pb)
{
	const struct acc *a = *(const struct acc *const *)pa, *b = *(const struct acc *const *)pb;
	if (a->sev != b->sev)
		return a->sev > b->sev ? -1 : 1;
	if (a->count != b->count)
		return a->count > b->count ? -1 : 1;
	int c = strcmp(a->id, b->id);
	return c ? c : strcmp(a->subject, b->subject);
}

/* Shell-quotes s onto the end of buf when it holds anything but plain path characters. */
static void shell_append(char *buf, size_t len, const char *s)
{
	size_t n = strlen(buf);
	bool plain = s[0] != 0;
	for (const char *p = s; *p; p++)
		if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-/+=:,@",
			    *p))
			plain = false;
	if (plain) {
		snprintf(buf + n, len - n, " %s", s);
		return;
	}
	if (n + 2 < len)
		buf[n++] = ' ', buf[n++] = '\'';
	for (const char *p = s; *p && n + 5 < len; p++) {
		if (*p == '\'') {
			memcpy(buf + n, "'\\''", 4);
			n += 4;
		} else
			buf[n++] = *p;
	}
	if (n + 1 < len)
		buf[n++] = '\'';
	buf[n < len ? n : len - 1] = 0;
}

static int build_public(struct dnsreel_diag *d, struct acc *a)
{
	char cmd[4096] = "";
	if (a->nex) {
		snprintf(cmd, sizeof(cmd), "dnsreel replay");
		for (size_t i = 0; i < d->o.ncaptures && d->o.captures; i++)
			shell_append(cmd, sizeof(cmd), d->o.captures[i]);
		size_t n = strlen(cmd);
		snprintf(cmd + n, sizeof(cmd) - n, " --flows %s %s",
			 a->lookup_examples ? "--lookup-id" : "--flow-id", a->ex[0]);
	}
	if (!(a->replay = strdup(cmd)))
		return -ENOMEM;
	int err = dnsreel__dg_describe(d, a);
	if (err)
		return err;
	struct dnsreel_finding *p = &a->pub;
	p->id = a->id;
	p->subject = a->subject;
	p->title = a->title;
	p->severity = a->sev;
	p->severity_name = dnsreel_severity_name(a->sev);
	p->count = a->count;
	p->first_wall_ns = a->first;
	p->last_wall_ns = a->last;
	size_t k = 0;
	const struct strset *sets[3] = {&a->pods, &a->netns, &a->servers};
	const char *const *starts[3];
	for (int s = 0; s < 3; s++) {
		starts[s] = &a->ptrs[k];
		for (size_t i = 0; i < sets[s]->n; i++)
			a->ptrs[k++] = sets[s]->v[i];
	}
	p->pods = starts[0], p->npods = a->pods.n;
	p->netns = starts[1], p->nnetns = a->netns.n;
	p->servers = starts[2], p->nservers = a->servers.n;
	p->flow_ids = &a->ptrs[k];
	for (size_t i = 0; i < a->nex; i++)
		a->ptrs[k++] = a->ex[i];
	p->nflow_ids = a->nex;
	p->replay = a->replay;
	p->fix = a->fix;
	for (size_t i = 0; i < a->nnums; i++)
		a->nums[i] = (struct dnsreel_finding_num){a->numkey[i], a->numval[i]};
	p->nums = a->nums;
	p->nnums = a->nnums;
	return 0;
}

int dnsreel_diag__finish(struct dnsreel_diag *d)
{
	if (!d || d->finished)
		return DNSREEL_E_ARG;
	int err = dnsreel__dg_rate_finish(d);
	if (!err)
		err = dnsreel__dg_detect_finish(d);
	if (err)
		return err;
	d->finished = true;
	d->sorted = calloc(d->nacc ? d->nacc : 1, sizeof(*d->sorted));
	if (!d->sorted)
		return -ENOMEM;
	for (size_t i = 0; i < 2 * ACC_MAX; i++) {
		struct acc *a = d->acc[i];
		if (a && !a->drop && a->count >= d->o.min_count)
			d->sorted[d->nsorted++] = a;
	}
	qsort(d->sorted, d->nsorted, sizeof(*d->sorted), cmp_acc);
	for (size_t i = 0; i < d->nsorted; i++)
		if ((err = build_public(d, d->sorted[i])) < 0)
			return err;
	return 0;
}

size_t dnsreel_diag__finding_count(const struct dnsreel_diag *d)
{
	return d && d->finished ? d->nsorted : 0;
}

const struct dnsreel_finding *dnsreel_diag__finding_at(const struct dnsreel_diag *d, size_t i)
{
	return d && d->finished && i < d->nsorted ? &d->sorted[i]->pub : NULL;
}

void dnsreel_diag__stats(const struct dnsreel_diag *d, struct dnsreel_diag_stats *st)
{
	if (d && st)
		*st = d->st;
}

/* ---- output ------------------------------------------------------------------------------- */

static void json_time(FILE *o, const char *key, int64_t ns)
{
	char t[48];
	if (ns && dnsreel_format_time(ns, t, sizeof(t)) >= 0)
		fprintf(o, ",\"%s\":\"%s\"", key, t);
	else
		fprintf(o, ",\"%s\":null", key);
}

static void json_strs(FILE *o, const char *key, const char *const *v, size_t n)
{
	fprintf(o, ",\"%s\":[", key);
	for (size_t i = 0; i < n; i++) {
		if (i)
			fputc(',', o);
		dnsreel_json_fputs(o, v[i]);
	}
	fputc(']', o);
}

static void json_num(FILE *o, double v)
{
	if (!isfinite(v))
		fputs("null", o);
	else if (v == floor(v) && fabs(v) < 9e15)
		fprintf(o, "%.0f", v);
	else
		fprintf(o, "%.6g", v);
}

int dnsreel_diag__json(const struct dnsreel_diag *d, FILE *o)
{
	if (!d || !o)
		return DNSREEL_E_ARG;
	fprintf(o, "{\"schema\":%d,\"captures\":[", DNSREEL_DIAG_SCHEMA);
	for (size_t i = 0; i < d->o.ncaptures && d->o.captures; i++) {
		if (i)
			fputc(',', o);
		dnsreel_json_fputs(o, d->o.captures[i]);
	}
	fputc(']', o);
	json_time(o, "first", d->st.first_wall_ns);
	json_time(o, "last", d->st.last_wall_ns);
	fprintf(o,
		",\"flows\":%llu,\"client_flows\":%llu,\"lookups\":%llu,\"unanswered\":%llu,"
		"\"findings\":[",
		(unsigned long long)d->st.flows, (unsigned long long)d->st.client_flows,
		(unsigned long long)d->st.lookups, (unsigned long long)d->st.unanswered);
	size_t n = dnsreel_diag__finding_count(d);
	for (size_t i = 0; i < n; i++) {
		const struct dnsreel_finding *f = dnsreel_diag__finding_at(d, i);
		fputs(i ? ",{\"id\":" : "{\"id\":", o);
		dnsreel_json_fputs(o, f->id);
		fputs(",\"subject\":", o);
		dnsreel_json_fputs(o, f->subject);
		fprintf(o, ",\"severity\":\"%s\",\"count\":%llu", f->severity_name,
			(unsigned long long)f->count);
		fputs(",\"title\":", o);
		dnsreel_json_fputs(o, f->title);
		json_time(o, "first", f->first_wall_ns);
		json_time(o, "last", f->last_wall_ns);
		json_strs(o, "pods", f->pods, f->npods);
		json_strs(o, "netns", f->netns, f->nnetns);
		json_strs(o, "servers", f->servers, f->nservers);
		json_strs(o, "flow_ids", f->flow_ids, f->nflow_ids);
		fputs(",\"replay\":", o);
		dnsreel_json_fputs(o, f->replay);
		fputs(",\"fix\":", o);
		dnsreel_json_fputs(o, f->fix);
		fputs(",\"numbers\":{", o);
		for (size_t k = 0; k < f->nnums; k++) {
			if (k)
				fputc(',', o);
			dnsreel_json_fputs(o, f->nums[k].key);
			fputc(':', o);
			json_num(o, f->nums[k].value);
		}
		fputs("}}", o);
	}
	fputs("]}\n", o);
	return ferror(o) ? -EIO : 0;
}

static void text_list(FILE *o, const char *label, const char *const *v, size_t n)
{
	if (!n)
		return;
	fprintf(o, "  %-9s", label);
	for (size_t i = 0; i < n; i++)
		fprintf(o, "%s%s", i ? ", " : "", v[i]);
	fputc('\n', o);
}

int dnsreel_diag__text(const struct dnsreel_diag *d, FILE *o)
{
	if (!d || !o)
		return DNSREEL_E_ARG;
	size_t n = dnsreel_diag__finding_count(d);
	if (!n)
		fprintf(o, "no findings in %llu flows (%llu client queries, %llu lookups)\n",
			(unsigned long long)d->st.flows, (unsigned long long)d->st.client_flows,
			(unsigned long long)d->st.lookups);
	for (size_t i = 0; i < n; i++) {
		const struct dnsreel_finding *f = dnsreel_diag__finding_at(d, i);
		char t1[48] = "", t2[48] = "";
		fprintf(o, "%s[%s] %s%s%s: %s\n", i ? "\n" : "", f->severity_name, f->id,
			f->subject[0] ? " " : "", f->subject, f->title);
		if (f->first_wall_ns && dnsreel_format_time(f->first_wall_ns, t1, sizeof(t1)) >= 0 &&
		    dnsreel_format_time(f->last_wall_ns, t2, sizeof(t2)) >= 0)
			fprintf(o, "  %-9s%s .. %s\n", "when", t1, t2);
		text_list(o, "pods", f->pods, f->npods);
		text_list(o, "servers", f->servers, f->nservers);
		text_list(o, "netns", f->netns, f->nnetns);
		if (f->nnums) {
			fprintf(o, "  %-9s", "numbers");
			for (size_t k = 0; k < f->nnums; k++) {
				fprintf(o, "%s%s=", k ? ", " : "", f->nums[k].key);
				json_num(o, f->nums[k].value);
			}
			fputc('\n', o);
		}
		text_list(o, "examples", f->flow_ids, f->nflow_ids);
		if (f->replay[0])
			fprintf(o, "  %-9s%s\n", "see", f->replay);
		fprintf(o, "  %-9s%s\n", "fix", f->fix);
	}
	return ferror(o) ? -EIO : 0;
}
