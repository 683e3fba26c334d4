/* -F filters as trace_dns users type them: FIELD==V, !=, ~RE (PCRE2 syntax, unanchored), !~,
 * <, <=, >, >= (and the older FIELD:V, FIELD:!~RE, FIELD:>=N spelling). Terms are ANDed. Values are
 * converted once, at add time, to what the field compares as: numbers for numeric fields and for
 * fields with a raw number (qtype "AAAA" or 28, rcode "NameError"/"NXDOMAIN"/3, id as hex,
 * timestamp as RFC 3339 or relative time, latency with a duration unit), text otherwise. Names
 * compare without regard to case or the trailing dot, as DNS does.
 */
#include <errno.h>
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "ctx_priv.h"
#include "dnsreel.h"
#include "view.h"

enum op { OP_EQ, OP_NE, OP_RE, OP_NRE, OP_LT, OP_LE, OP_GT, OP_GE, OP_ANY };

struct term {
	enum dnsreel_field_id f;
	enum op op;
	char *val;   /* text form (OP_ANY: unused) */
	bool num_ok; /* val converted to num */
	int64_t num;
	/* matched with PCRE2's DFA matcher: no backtracking, so a pattern's cost is bounded by
	 * pattern size times subject length (a backtracking engine took minutes on nested
	 * repeats and back-references) */
	pcre2_code *re;
	pcre2_match_data *md;
	pcre2_match_context *mctx;
	int *ws;
	bool has_re;
	char **vals; /* OP_ANY */
	size_t nvals;
};

struct dnsreel_filter {
	struct term *t;
	size_t n, cap;
	int64_t since, until;
	uint64_t *pnetns; /* prune storage */
	size_t pn, pcap;
	bool poom; /* a netns could not be listed: prune by netns must not be used */
};

int dnsreel_filter__new(struct dnsreel_filter **out)
{
	if (!out)
		return DNSREEL_E_ARG;
	*out = calloc(1, sizeof(**out));
	return *out ? 0 : -ENOMEM;
}

static void term_free(struct term *t)
{
	free(t->val);
	pcre2_code_free(t->re);
	pcre2_match_data_free(t->md);
	pcre2_match_context_free(t->mctx);
	free(t->ws);
	for (size_t i = 0; i < t->nvals; i++)
		free(t->vals[i]);
	free(t->vals);
}

void dnsreel_filter__free(struct dnsreel_filter *f)
{
	if (!f)
		return;
	for (size_t i = 0; i < f->n; i++)
		term_free(&f->t[i]);
	free(f->t);
	free(f->pnetns);
	free(f);
}

static bool numeric_field(enum dnsreel_field_id f)
{
	const struct dnsreel_field_def *d = &dnsreel_fields(NULL)[f];
	if (d->type != DNSREEL_FT_STR)
		return true;
	switch (f) {
	case DNSREEL_F_TIMESTAMP:
	case DNSREEL_F_ID:
	case DNSREEL_F_QR:
	case DNSREEL_F_OPCODE:
	case DNSREEL_F_QTYPE:
	case DNSREEL_F_RCODE:
	case DNSREEL_F_PKT_TYPE:
	case DNSREEL_F_PROTO:
		return true;
	default:
		return false;
	}
}

#define RE_MAX_PATTERN 1024
#define RE_WS	       4096 /* DFA workspace ints */
#define RE_MATCH_LIMIT 1000000

static int compile_re(struct term *t, char *errbuf, size_t errlen, const char *expr)
{
	size_t plen = strlen(t->val);
	if (plen > RE_MAX_PATTERN) {
		if (errbuf && errlen)
			snprintf(errbuf, errlen,
				 "filter \"%s\": regular expression longer than %d bytes", expr,
				 RE_MAX_PATTERN);
		return DNSREEL_E_PARSE;
	}
	int ec;
	PCRE2_SIZE eo;
	t->re = pcre2_compile((PCRE2_SPTR)t->val, plen, PCRE2_NEVER_BACKSLASH_C, &ec, &eo, NULL);
	if (!t->re) {
		char msg[160];
		pcre2_get_error_message(ec, (PCRE2_UCHAR *)msg, sizeof(msg));
		if (errbuf && errlen)
			snprintf(errbuf, errlen,
				 "filter \"%s\": bad regular expression at offset %zu: %s", expr,
				 (size_t)eo, msg);
		return DNSREEL_E_PARSE;
	}
	uint32_t backrefs = 0;
	pcre2_pattern_info(t->re, PCRE2_INFO_BACKREFMAX, &backrefs);
	if (backrefs) {
		if (errbuf && errlen)
			snprintf(errbuf, errlen,
				 "filter \"%s\": back-references are not supported (their matching "
				 "cost has no bound)",
				 expr);
		return DNSREEL_E_PARSE;
	}
	t->md = pcre2_match_data_create(1, NULL);
	t->mctx = pcre2_match_context_create(NULL);
	t->ws = malloc(RE_WS * sizeof(int));
	if (!t->md || !t->mctx || !t->ws)
		return -ENOMEM;
	pcre2_set_match_limit(t->mctx, RE_MATCH_LIMIT);
	/* the DFA matcher refuses some constructs (recursion, conditions on groups) only when
	 * it runs: try once now so they are an error here, not a silent non-match later */
	int rc = pcre2_dfa_match(t->re, (PCRE2_SPTR) "", 0, 0, 0, t->md, t->mctx, t->ws, RE_WS);
	if (rc == PCRE2_ERROR_DFA_UITEM || rc == PCRE2_ERROR_DFA_UCOND ||
	    rc == PCRE2_ERROR_DFA_UINVALID_UTF || rc == PCRE2_ERROR_DFA_RECURSE) {
		char msg[160];
		pcre2_get_error_message(rc, (PCRE2_UCHAR *)msg, sizeof(msg));
		if (errbuf && errlen)
			snprintf(errbuf, errlen, "filter \"%s\": not supported in -F: %s", expr,
				 msg);
		return DNSREEL_E_PARSE;
	}
	t->has_re = true;
	return 0;
}

static int parse_int(const char *s, int base, int64_t *out)
{
	char *end;
	errno = 0;
	long long v = strtoll(s, &end, base);
	if (end == s || *end || errno)
		return -1;
	*out = v;
	return 0;
}

static int parse_ns(const char *s, int64_t *out)
{
	char *end;
	errno = 0;
	double v = strtod(s, &end);
	if (end == s || errno)
		return -1;
	static const struct {
		const char *u;
		double mul;
	} units[] = {{"", 1},	  {"ns", 1},  {"us", 1e3}, {"µs", 1e3},
		     {"ms", 1e6}, {"s", 1e9}, {"m", 60e9}, {"h", 3600e9}};
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
		if (strcasecmp(end, units[i].u) == 0) {
			double r = v * units[i].mul;
			/* beyond int64 the conversion is undefined (1e99 matched everything) */
			if (!(r >= -9.2e18 && r <= 9.2e18))
				return -1;
			*out = (int64_t)r;
			return 0;
		}
	return -1;
}

/* Converts the text of a value to the field's raw number; -1 when it is not one. */
static int to_num(enum dnsreel_field_id f, const char *s, int64_t *out)
{
	int v;
	switch (f) {
	case DNSREEL_F_TIMESTAMP: {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		return dnsreel_parse_time(s, (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec, out)
			   ? -1
			   : 0;
	}
	case DNSREEL_F_ID:
		if (!strncasecmp(s, "0x", 2))
			s += 2;
		if (parse_int(s, 16, out) || *out < 0 || *out > 0xffff)
			return -1;
		return 0;
	case DNSREEL_F_QR:
		if (!strcasecmp(s, "Q") || !strcmp(s, "0") || !strcasecmp(s, "false") ||
		    !strcasecmp(s, "query"))
			*out = 0;
		else if (!strcasecmp(s, "R") || !strcmp(s, "1") || !strcasecmp(s, "true") ||
			 !strcasecmp(s, "response"))
			*out = 1;
		else
			return -1;
		return 0;
	case DNSREEL_F_QTYPE:
		v = dnsreel_dns_type_from_name(s);
		break;
	case DNSREEL_F_RCODE:
		v = dnsreel_dns_rcode_from_name(s);
		break;
	case DNSREEL_F_OPCODE:
		v = -1;
		for (int i = 0; i < 16; i++) {
			const char *n = dnsreel_dns_opcode_name((uint8_t)i);
			if (n && !strcasecmp(n, s))
				v = i;
		}
		if (v < 0 && parse_int(s, 10, out) == 0 && *out >= 0 && *out < 16)
			return 0;
		break;
	case DNSREEL_F_PKT_TYPE:
		v = -1;
		for (int i = 0; i < 8; i++)
			if (!strcasecmp(dnsreel_pkt_type_name((unsigned)i), s))
				v = i;
		if (!strcasecmp(s, "DNSTAP"))
			v = DNSREEL_PKT_DNSTAP;
		if (v < 0 && parse_int(s, 10, out) == 0)
			return 0;
		break;
	case DNSREEL_F_PROTO:
		v = !strcasecmp(s, "udp") ? 17 : !strcasecmp(s, "tcp") ? 6 : -1;
		if (v < 0 && parse_int(s, 10, out) == 0)
			return 0;
		break;
	case DNSREEL_F_LATENCY_NS:
		return parse_ns(s, out);
	default: {
		const struct dnsreel_field_def *d = &dnsreel_fields(NULL)[f];
		if (d->type == DNSREEL_FT_BOOL) {
			if (!strcasecmp(s, "true") || !strcmp(s, "1"))
				*out = 1;
			else if (!strcasecmp(s, "false") || !strcmp(s, "0"))
				*out = 0;
			else
				return -1;
			return 0;
		}
		return parse_int(s, 10, out);
	}
	}
	if (v < 0)
		return -1;
	*out = v;
	return 0;
}

static struct term *term_new(struct dnsreel_filter *f)
{
	if (f->n == f->cap) {
		size_t nc = f->cap ? f->cap * 2 : 8;
		struct term *nt = realloc(f->t, nc * sizeof(*nt));
		if (!nt)
			return NULL;
		f->t = nt;
		f->cap = nc;
	}
	struct term *t = &f->t[f->n];
	memset(t, 0, sizeof(*t));
	return t;
}

static void errf(char *buf, size_t len, const char *fmt, const char *a, const char *b)
{
	if (buf && len)
		snprintf(buf, len, fmt, a, b);
}

int dnsreel_filter__add(struct dnsreel_filter *f, const char *expr, char *errbuf, size_t errlen)
{
	if (!f || !expr)
		return DNSREEL_E_ARG;
	const char *p = expr;
	while (*p == ' ')
		p++;
	const char *fs = p;
	while (*p && !strchr("=!~<> :", *p))
		p++;
	size_t fl = (size_t)(p - fs);
	while (*p == ' ')
		p++;
	char fname[128];
	if (!fl || fl >= sizeof(fname)) {
		errf(errbuf, errlen, "filter \"%s\": expected FIELD OP VALUE%s", expr, "");
		return DNSREEL_E_PARSE;
	}
	memcpy(fname, fs, fl);
	fname[fl] = 0;
	const struct dnsreel_field_def *def = dnsreel_field_find(fname);
	if (!def) {
		const char *near = dnsreel__suggest_field(fname);
		if (errbuf && errlen)
			snprintf(errbuf, errlen, "filter \"%s\": unknown field \"%s\"%s%s%s", expr,
				 fname, near ? " (did you mean " : "", near ? near : "",
				 near ? "?)" : "");
		return DNSREEL_E_PARSE;
	}
	enum op op;
	if (*p == ':') {
		/* the older Inspektor Gadget spelling: FIELD:V, FIELD:!V, FIELD:~RE, FIELD:>=N,
		 * ... with '!' negating any of them */
		p++;
		bool neg = *p == '!';
		p += neg;
		if (*p == '~')
			op = neg ? OP_NRE : OP_RE, p += 1;
		else if (!strncmp(p, ">=", 2))
			op = neg ? OP_LT : OP_GE, p += 2;
		else if (*p == '>')
			op = neg ? OP_LE : OP_GT, p += 1;
		else if (!strncmp(p, "<=", 2))
			op = neg ? OP_GT : OP_LE, p += 2;
		else if (*p == '<')
			op = neg ? OP_GE : OP_LT, p += 1;
		else
			op = neg ? OP_NE : OP_EQ;
	} else if (!strncmp(p, "==", 2))
		op = OP_EQ, p += 2;
	else if (!strncmp(p, "!=", 2))
		op = OP_NE, p += 2;
	else if (!strncmp(p, "!~", 2))
		op = OP_NRE, p += 2;
	else if (*p == '~')
		op = OP_RE, p += 1;
	else if (!strncmp(p, "<=", 2))
		op = OP_LE, p += 2;
	else if (!strncmp(p, ">=", 2))
		op = OP_GE, p += 2;
	else if (*p == '<')
		op = OP_LT, p += 1;
	else if (*p == '>')
		op = OP_GT, p += 1;
	else {
		errf(errbuf, errlen,
		     "filter \"%s\": expected an operator (==, !=, ~, !~, <, <=, >, >=) after "
		     "\"%s\"",
		     expr, fname);
		return DNSREEL_E_PARSE;
	}
	while (*p == ' ') /* "name == x" reads as "name==x" */
		p++;
	struct term *t = term_new(f);
	if (!t)
		return -ENOMEM;
	t->f = def->id;
	t->op = op;
	t->val = strdup(p);
	if (!t->val)
		return -ENOMEM;
	if (op == OP_RE || op == OP_NRE) {
		int rc = compile_re(t, errbuf, errlen, expr);
		if (rc) {
			term_free(t);
			memset(t, 0, sizeof(*t));
			return rc;
		}
	} else if (numeric_field(def->id)) {
		t->num_ok = to_num(def->id, t->val, &t->num) == 0;
		if (!t->num_ok && (op != OP_EQ && op != OP_NE)) {
			errf(errbuf, errlen,
			     "filter \"%s\": \"%s\" is not a value this field can be "
			     "ordered by",
			     expr, t->val);
			free(t->val);
			return DNSREEL_E_PARSE;
		}
		char hint[256];
		if (!t->num_ok && t->val[0] &&
		    !dnsreel__value_known(def->id, t->val, hint, sizeof(hint))) {
			errf(errbuf, errlen, "filter \"%s\": %s", expr, hint);
			free(t->val);
			return DNSREEL_E_PARSE;
		}
		/* FIELD== and FIELD!= with nothing after: unknown (null) or known */
		if (!t->num_ok && def->type != DNSREEL_FT_STR && t->val[0]) {
			errf(errbuf, errlen, "filter \"%s\": \"%s\" is not a number", expr, t->val);
			free(t->val);
			return DNSREEL_E_PARSE;
		}
	}
	f->n++;
	return 0;
}

int dnsreel_filter__add_any_of(struct dnsreel_filter *f, enum dnsreel_field_id field,
			       const char *csv, char *errbuf, size_t errlen)
{
	if (!f || !csv || (unsigned)field >= DNSREEL_F_COUNT_) {
		errf(errbuf, errlen, "invalid field or value list%s%s", "", "");
		return DNSREEL_E_ARG;
	}
	struct term *t = term_new(f);
	if (!t)
		return -ENOMEM;
	t->f = field;
	t->op = OP_ANY;
	const char *p = csv;
	for (;;) {
		const char *e = strchr(p, ',');
		size_t n = e ? (size_t)(e - p) : strlen(p);
		while (n && *p == ' ')
			p++, n--;
		while (n && p[n - 1] == ' ')
			n--;
		if (n) {
			char **nv = realloc(t->vals, (t->nvals + 1) * sizeof(*nv));
			if (!nv)
				goto nomem;
			t->vals = nv;
			if (!(t->vals[t->nvals] = strndup(p, n)))
				goto nomem;
			t->nvals++;
		}
		if (!e)
			break;
		p = e + 1;
	}
	if (!t->nvals) {
		errf(errbuf, errlen, "empty list of values for %s%s",
		     dnsreel_fields(NULL)[field].name, "");
		term_free(t);
		return DNSREEL_E_ARG;
	}
	f->n++;
	return 0;
nomem:
	term_free(t);
	return -ENOMEM;
}

void dnsreel_filter__set_window(struct dnsreel_filter *f, int64_t since_wall_ns,
				int64_t until_wall_ns)
{
	if (!f)
		return;
	f->since = since_wall_ns;
	f->until = until_wall_ns;
}

bool dnsreel_filter__empty(const struct dnsreel_filter *f)
{
	return !f || (!f->n && !f->since && !f->until);
}

/* DNS names: any case, trailing dot optional. */
static bool name_equal(const char *a, size_t al, const char *b)
{
	size_t bl = strlen(b);
	if (al && a[al - 1] == '.')
		al--;
	if (bl && b[bl - 1] == '.')
		bl--;
	return al == bl && strncasecmp(a, b, al) == 0;
}

static bool text_equal(enum dnsreel_field_id f, const struct dnsreel_value *v, const char *s)
{
	if (f == DNSREEL_F_NAME)
		return name_equal(v->s, v->len, s);
	return strlen(s) == v->len && memcmp(v->s, s, v->len) == 0;
}

static int cmp_i64(int64_t a, int64_t b)
{
	return a < b ? -1 : a > b;
}

static bool term_match(const struct term *t, const struct dnsreel_rec *rec)
{
	struct dnsreel_value v;
	char buf[512];
	dnsreel_rec__value(rec, t->f, &v, buf, sizeof(buf));
	const char *s = v.s ? v.s : "";
	size_t len = v.s ? v.len : 0;
	switch (t->op) {
	case OP_ANY:
		if (v.null)
			return false;
		for (size_t i = 0; i < t->nvals; i++)
			if (text_equal(t->f, &(struct dnsreel_value){.s = s, .len = len},
				       t->vals[i]))
				return true;
		return false;
	case OP_RE:
	case OP_NRE: {
		int rc =
		    pcre2_dfa_match(t->re, (PCRE2_SPTR)s, len, 0, 0, t->md, t->mctx, t->ws, RE_WS);
		/* >= 0: matched (0 means more matches than the data holds, still a match); a
		 * limit reached counts as no match */
		bool m = rc >= 0;
		return t->op == OP_RE ? m : !m;
	}
	case OP_EQ:
	case OP_NE: {
		bool eq;
		if (v.null)
			eq = t->val[0] == 0;
		else if (t->num_ok && (v.type != DNSREEL_FT_STR || v.has_raw))
			eq = v.i == t->num;
		else
			eq = text_equal(t->f, &(struct dnsreel_value){.s = s, .len = len}, t->val);
		return t->op == OP_EQ ? eq : !eq;
	}
	default: {
		if (v.null)
			return false;
		int c;
		if (t->num_ok && (v.type != DNSREEL_FT_STR || v.has_raw)) {
			c = cmp_i64(v.i, t->num);
		} else {
			size_t vl = strlen(t->val);
			int r = memcmp(s, t->val, len < vl ? len : vl);
			c = r ? r : cmp_i64((int64_t)len, (int64_t)vl);
		}
		switch (t->op) {
		case OP_LT:
			return c < 0;
		case OP_LE:
			return c <= 0;
		case OP_GT:
			return c > 0;
		default:
			return c >= 0;
		}
	}
	}
}

bool dnsreel_filter__match(const struct dnsreel_filter *f, const struct dnsreel_rec *rec)
{
	if (!f)
		return true;
	if (f->since && rec->wall_ns < f->since)
		return false;
	if (f->until && rec->wall_ns > f->until)
		return false;
	for (size_t i = 0; i < f->n; i++)
		if (!term_match(&f->t[i], rec))
			return false;
	return true;
}

/* ---- pushdown ----------------------------------------------------------------------------- */

static bool netns_only(enum dnsreel_field_id f)
{
	switch (f) {
	case DNSREEL_F_NETNS_ID:
	case DNSREEL_F_K8S_NAMESPACE:
	case DNSREEL_F_K8S_PODNAME:
	case DNSREEL_F_K8S_CONTAINERNAME:
	case DNSREEL_F_RUNTIME_CONTAINERNAME:
	case DNSREEL_F_RUNTIME_CONTAINERID:
		return true;
	default:
		return false;
	}
}

struct prune_walk {
	struct dnsreel_filter *f;
	const struct dnsreel_ctx *ctx;
	uint32_t capture;
	int err;
};

/* Does a netns (its context possibly unknown) pass every netns-only term? */
static bool netns_passes(const struct dnsreel_filter *f, const struct dnsreel_ctx *ctx,
			 uint32_t capture, uint64_t netns, const struct dnsreel_netns_ctx *ns)
{
	struct dnsreel_event ev;
	memset(&ev, 0, sizeof(ev));
	ev.netns = netns;
	struct dnsreel_rec rec;
	memset(&rec, 0, sizeof(rec));
	rec.ctx = ctx;
	rec.capture = capture;
	rec.ev = &ev;
	rec.ns = ns;
	for (size_t i = 0; i < f->n; i++)
		if (netns_only(f->t[i].f) && !term_match(&f->t[i], &rec))
			return false;
	return true;
}

static void add_netns(struct dnsreel_filter *f, uint64_t netns)
{
	for (size_t i = 0; i < f->pn; i++)
		if (f->pnetns[i] == netns)
			return;
	if (f->pn == f->pcap) {
		size_t nc = f->pcap ? f->pcap * 2 : 16;
		uint64_t *nn = realloc(f->pnetns, nc * sizeof(*nn));
		if (!nn) {
			f->poom = true;
			return;
		}
		f->pnetns = nn;
		f->pcap = nc;
	}
	f->pnetns[f->pn++] = netns;
}

static void walk_ns(void *arg, const struct dnsreel_netns_ctx *ns)
{
	struct prune_walk *w = arg;
	if (netns_passes(w->f, w->ctx, w->capture, ns->netns, ns))
		add_netns(w->f, ns->netns);
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

void dnsreel_filter__prune(struct dnsreel_filter *f, const struct dnsreel_ctx *ctx,
			   uint32_t capture, struct dnsreel_prune *p)
{
	memset(p, 0, sizeof(*p));
	if (!f)
		return;
	p->since_wall_ns = f->since;
	p->until_wall_ns = f->until;
	bool any_netns_term = false, netns_listed = false;
	for (size_t i = 0; i < f->n; i++) {
		const struct term *t = &f->t[i];
		if (netns_only(t->f))
			any_netns_term = true;
		if (t->f == DNSREEL_F_TIMESTAMP && t->num_ok) {
			if ((t->op == OP_GE || t->op == OP_GT || t->op == OP_EQ) &&
			    t->num > p->since_wall_ns)
				p->since_wall_ns = t->num;
			if ((t->op == OP_LE || t->op == OP_LT || t->op == OP_EQ) &&
			    (!p->until_wall_ns || t->num < p->until_wall_ns))
				p->until_wall_ns = t->num;
		} else if (t->f == DNSREEL_F_NAME && t->op == OP_EQ && !p->name && t->val[0]) {
			p->name = t->val;
		} else if (t->f == DNSREEL_F_QR && t->op == OP_EQ && t->num_ok) {
			p->qr_mask = (uint8_t)(1u << (t->num & 1));
		} else if (t->f == DNSREEL_F_RCODE && t->op == OP_EQ && t->num_ok) {
			p->rcode_mask = 1u << (t->num > 31 ? 31 : t->num);
		} else if (t->f == DNSREEL_F_NETNS_ID && (t->op == OP_EQ || t->op == OP_ANY)) {
			netns_listed = true;
		}
	}
	if (p->rcode_mask)
		p->qr_mask = p->qr_mask & 2 ? p->qr_mask : (p->qr_mask ? 0 : 2);
	if (p->rcode_mask && !p->qr_mask)
		p->since_wall_ns = INT64_MAX; /* qr==Q and an rcode: nothing matches */
	if (!any_netns_term)
		return;

	f->pn = 0;
	f->poom = false;
	if (netns_listed) {
		/* candidates: the netns named, each checked against all netns-only terms */
		for (size_t i = 0; i < f->n; i++) {
			const struct term *t = &f->t[i];
			if (t->f != DNSREEL_F_NETNS_ID)
				continue;
			if (t->op == OP_EQ && t->num_ok)
				add_netns(f, (uint64_t)t->num);
			for (size_t j = 0; t->op == OP_ANY && j < t->nvals; j++) {
				int64_t v;
				if (parse_int(t->vals[j], 10, &v) == 0)
					add_netns(f, (uint64_t)v);
			}
		}
		size_t k = 0;
		for (size_t i = 0; i < f->pn; i++)
			if (netns_passes(f, ctx, capture, f->pnetns[i],
					 dnsreel_ctx__netns(ctx, capture, f->pnetns[i])))
				f->pnetns[k++] = f->pnetns[i];
		f->pn = k;
	} else {
		/* an event in a netns the capture knows nothing about could still match */
		if (netns_passes(f, ctx, capture, 0, NULL))
			return;
		struct prune_walk w = {f, ctx, capture, 0};
		dnsreel_ctx__each_netns(ctx, capture, walk_ns, &w);
	}
	if (f->poom)
		return; /* fail open: a list missing a netns would drop its events silently */
	if (!f->pn) {
		p->since_wall_ns = INT64_MAX; /* no netns can match */
		return;
	}
	qsort(f->pnetns, f->pn, sizeof(*f->pnetns), cmp_u64);
	p->netns = f->pnetns;
	p->netns_count = f->pn;
}
