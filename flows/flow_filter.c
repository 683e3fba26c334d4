/* Flow-level -F terms: what a flow ended with (outcome, rcode, ...) rather than what one of its
 * packets carried. Same operators as the event filter; text compares case-insensitively, numbers
 * as numbers, regexes are POSIX ERE, unanchored.
 */
#include <errno.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "dnsreel.h"
#include "flows.h"
#include "flows_int.h"

enum ffield {
	FF_OUTCOME,
	FF_RCODE,
	FF_RCODE_ORIGIN,
	FF_FLOW_ID,
	FF_LOOKUP_ID,
	FF_NAME,
	FF_QTYPE,
	FF_RETRIES,
	FF_LATENCY_NS,
	FF_UPSTREAMS,
	FF_CLIENT_ROLE,
};

static const struct {
	const char *name;
	enum ffield f;
	bool num;
} ffields[] = {
    {"outcome", FF_OUTCOME, false},
    {"rcode", FF_RCODE, false},
    {"rcode_origin", FF_RCODE_ORIGIN, false},
    {"flow_id", FF_FLOW_ID, false},
    {"lookup_id", FF_LOOKUP_ID, false},
    {"name", FF_NAME, false},
    {"qtype", FF_QTYPE, false},
    {"retries", FF_RETRIES, true},
    {"latency_ns", FF_LATENCY_NS, true},
    {"upstreams", FF_UPSTREAMS, true},
    {"client.role", FF_CLIENT_ROLE, false},
};

enum op { OP_EQ, OP_NE, OP_RE, OP_NRE, OP_LT, OP_LE, OP_GT, OP_GE };

struct fterm {
	enum ffield f;
	bool num;
	enum op op;
	char *val;
	long long n;
	regex_t re;
	bool has_re;
};

struct dnsreel_flow_filter {
	struct fterm *t;
	size_t n;
};

static int find_field(const char *s, size_t len)
{
	for (size_t i = 0; i < sizeof(ffields) / sizeof(ffields[0]); i++) {
		const char *a = ffields[i].name;
		if (strlen(a) != len)
			continue;
		size_t j = 0;
		for (; j < len; j++) {
			char x = a[j], y = s[j];
			if (y == '_' && x == '.')
				y = '.';
			if (x != (y >= 'A' && y <= 'Z' ? y + 32 : y))
				break;
		}
		if (j == len)
			return (int)i;
	}
	return -1;
}

bool dnsreel_flow_field_known(const char *field)
{
	return find_field(field, strlen(field)) >= 0;
}

int dnsreel_flow_filter__new(struct dnsreel_flow_filter **out)
{
	*out = calloc(1, sizeof(**out));
	return *out ? 0 : -ENOMEM;
}

void dnsreel_flow_filter__free(struct dnsreel_flow_filter *ff)
{
	if (!ff)
		return;
	for (size_t i = 0; i < ff->n; i++) {
		free(ff->t[i].val);
		if (ff->t[i].has_re)
			regfree(&ff->t[i].re);
	}
	free(ff->t);
	free(ff);
}

int dnsreel_flow_filter__add(struct dnsreel_flow_filter *ff, const char *expr, char *errbuf,
			     size_t errlen)
{
	static const struct {
		const char *s;
		enum op op;
	} ops[] = {{"==", OP_EQ}, {"!=", OP_NE}, {"!~", OP_NRE}, {"<=", OP_LE}, {">=", OP_GE},
		   {"~", OP_RE},  {"<", OP_LT},	 {">", OP_GT},	 {"=", OP_EQ}};
	size_t flen = strcspn(expr, "=!~<>");
	if (!expr[flen]) {
		snprintf(errbuf, errlen, "no operator (== != ~ !~ < <= > >=)");
		return DNSREEL_E_PARSE;
	}
	size_t b = flen, e = flen;
	while (b && expr[b - 1] == ' ')
		b--;
	int fi = find_field(expr, b);
	if (fi < 0) {
		snprintf(errbuf, errlen, "unknown flow field '%.*s'", (int)b, expr);
		return DNSREEL_E_PARSE;
	}
	struct fterm t = {.f = ffields[fi].f, .num = ffields[fi].num};
	size_t k = 0;
	for (; k < sizeof(ops) / sizeof(ops[0]); k++)
		if (!strncmp(expr + e, ops[k].s, strlen(ops[k].s)))
			break;
	if (k == sizeof(ops) / sizeof(ops[0])) {
		snprintf(errbuf, errlen, "bad operator");
		return DNSREEL_E_PARSE;
	}
	t.op = ops[k].op;
	const char *v = expr + e + strlen(ops[k].s);
	while (*v == ' ')
		v++;
	if (t.num) {
		char *end;
		t.n = strtoll(v, &end, 10);
		if (end == v || *end) {
			snprintf(errbuf, errlen, "'%s' is not a number", v);
			return DNSREEL_E_PARSE;
		}
	} else if (t.op == OP_RE || t.op == OP_NRE) {
		if (regcomp(&t.re, v, REG_EXTENDED | REG_NOSUB | REG_ICASE)) {
			snprintf(errbuf, errlen, "bad regular expression '%s'", v);
			return DNSREEL_E_PARSE;
		}
		t.has_re = true;
	} else if (t.op != OP_EQ && t.op != OP_NE) {
		snprintf(errbuf, errlen, "%s compares as text: use == != ~ !~", ffields[fi].name);
		return DNSREEL_E_PARSE;
	}
	t.val = strdup(v);
	struct fterm *nt = realloc(ff->t, (ff->n + 1) * sizeof(*nt));
	if (!t.val || !nt) {
		free(t.val);
		if (t.has_re)
			regfree(&t.re);
		if (nt)
			ff->t = nt;
		return -ENOMEM;
	}
	ff->t = nt;
	ff->t[ff->n++] = t;
	return 0;
}

/* Names compare without the trailing dot. */
static bool text_eq(const char *a, const char *b)
{
	size_t na = strlen(a), nb = strlen(b);
	if (na > 1 && a[na - 1] == '.')
		na--;
	if (nb > 1 && b[nb - 1] == '.')
		nb--;
	return na == nb && !strncasecmp(a, b, na);
}

static const char *text_of(const struct dnsreel_flow *f, enum ffield fld, char *buf, size_t len)
{
	const char *s;
	switch (fld) {
	case FF_OUTCOME:
		return f->answered ? "answered" : "unanswered";
	case FF_RCODE:
		if (!f->answered)
			return "";
		if ((s = dnsreel_dns_rcode_name(f->rcode)))
			return s;
		snprintf(buf, len, "%u", f->rcode);
		return buf;
	case FF_RCODE_ORIGIN:
		return f->rcode_origin < 0 ? "" : dnsreel_flow_role_name(f->rcode_origin);
	case FF_FLOW_ID:
		return f->flow_id;
	case FF_LOOKUP_ID:
		return f->lookup_id;
	case FF_NAME:
		return f->name;
	case FF_QTYPE:
		if ((s = dnsreel_dns_type_name(f->qtype)))
			return s;
		snprintf(buf, len, "%u", f->qtype);
		return buf;
	case FF_CLIENT_ROLE:
		return dnsreel_flow_role_name(f->client_role);
	default:
		return "";
	}
}

static long long num_of(const struct dnsreel_flow *f, enum ffield fld)
{
	switch (fld) {
	case FF_RETRIES:
		return f->retries;
	case FF_LATENCY_NS:
		return f->latency_ns;
	case FF_UPSTREAMS:
		return (long long)f->nupstream;
	default:
		return 0;
	}
}

bool dnsreel_flow_filter__match(const struct dnsreel_flow_filter *ff, const struct dnsreel_flow *f)
{
	char buf[32];
	for (size_t i = 0; ff && i < ff->n; i++) {
		const struct fterm *t = &ff->t[i];
		bool m;
		if (t->num) {
			long long v = num_of(f, t->f);
			switch (t->op) {
			case OP_EQ:
				m = v == t->n;
				break;
			case OP_NE:
				m = v != t->n;
				break;
			case OP_LT:
				m = v < t->n;
				break;
			case OP_LE:
				m = v <= t->n;
				break;
			case OP_GT:
				m = v > t->n;
				break;
			case OP_GE:
				m = v >= t->n;
				break;
			default:
				m = false;
			}
		} else {
			const char *s = text_of(f, t->f, buf, sizeof(buf));
			if (t->op == OP_RE || t->op == OP_NRE)
				m = (regexec(&t->re, s, 0, NULL, 0) == 0) == (t->op == OP_RE);
			else
				m = text_eq(s, t->val) == (t->op == OP_EQ);
		}
		if (!m)
			return false;
	}
	return true;
}

bool dnsreel_flow_term(const char *expr)
{
	char field[64];
	size_t n = strcspn(expr, "=!~<>:");
	while (n && expr[n - 1] == ' ')
		n--;
	if (n >= sizeof(field))
		return false;
	memcpy(field, expr, n);
	field[n] = 0;
	if (!dnsreel_flow_field_known(field))
		return false;
	return !strcasecmp(field, "rcode") || !dnsreel_field_find(field);
}

int dnsreel_flow_span__new(struct dnsreel_filter **out, int64_t flow_window_ns, int64_t since_ns,
			   int64_t until_ns)
{
	*out = NULL;
	if (!since_ns && !until_ns)
		return 0;
	int64_t margin =
	    (flow_window_ns > 0 ? flow_window_ns : DEFAULT_WINDOW_NS) + 2 * DEFAULT_LOOKUP_GAP_NS;
	int err = dnsreel_filter__new(out);
	if (err < 0)
		return err;
	dnsreel_filter__set_window(*out, since_ns > margin ? since_ns - margin : 0,
				   until_ns ? until_ns + margin : 0);
	return 0;
}

const struct dnsreel_flow_upstream *dnsreel_flow_counted_upstream(const struct dnsreel_flow *f)
{
	const struct dnsreel_flow_upstream *last = NULL;
	for (size_t i = 0; i < f->nupstream; i++) {
		if (f->upstream[i].used)
			return &f->upstream[i];
		if (f->upstream[i].answered)
			last = &f->upstream[i];
	}
	return last ? last : f->nupstream ? &f->upstream[0] : NULL;
}

bool dnsreel_flow_forwarder(const struct dnsreel_flow *f, uint32_t *capture, uint64_t *netns)
{
	if (f->client_role == DNSREEL_ROLE_FORWARDER) {
		*capture = f->capture;
		*netns = f->client_netns;
		return true;
	}
	for (size_t i = 0; i < f->nhops; i++) {
		if (f->hops[i].role == DNSREEL_ROLE_FORWARDER) {
			*capture = f->hops[i].capture;
			*netns = f->hops[i].netns;
			return true;
		}
	}
	return false;
}
