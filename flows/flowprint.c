/* Flow printers. Each flow is formatted into one growing buffer and written with one fwrite;
 * the events inside a JSON flow come from the replay event printer (the very layout
 * `dnsreel replay -o jsonl` prints), run over a memory stream.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dnsreel.h"
#include "flows.h"

struct sb {
	char *b;
	size_t len, cap;
	bool oom;
};

struct dnsreel_flow_printer {
	struct dnsreel_flow_printer_opts o;
	const struct dnsreel_ctx *ctx;
	FILE *out;
	struct sb s;
	size_t n;
	int err;
	/* events: a JSONL event printer writing into a memory stream */
	FILE *mem;
	char *mem_buf;
	size_t mem_len;
	struct dnsreel_printer *ep;
	struct dnsreel_timefmt tf;
};

static void sb_grow(struct sb *s, size_t n)
{
	if (s->len + n + 1 <= s->cap)
		return;
	size_t nc = s->cap ? s->cap : 4096;
	while (nc < s->len + n + 1)
		nc *= 2;
	char *nb = realloc(s->b, nc);
	if (!nb) {
		s->oom = true;
		return;
	}
	s->b = nb;
	s->cap = nc;
}

static void sb_put(struct sb *s, const char *p, size_t n)
{
	sb_grow(s, n);
	if (s->oom)
		return;
	memcpy(s->b + s->len, p, n);
	s->len += n;
	s->b[s->len] = 0;
}

static void sb_puts(struct sb *s, const char *p)
{
	sb_put(s, p, strlen(p));
}

static void sb_printf(struct sb *s, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char tmp[512];
	int n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n < sizeof(tmp)) {
		sb_put(s, tmp, (size_t)n);
		return;
	}
	sb_grow(s, (size_t)n);
	if (s->oom)
		return;
	va_start(ap, fmt);
	vsnprintf(s->b + s->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	s->len += (size_t)n;
}

static void sb_jstr(struct sb *s, const char *p)
{
	sb_put(s, "\"", 1);
	for (; *p; p++) {
		unsigned char c = (unsigned char)*p;
		if (c == '"' || c == '\\') {
			char e[2] = {'\\', (char)c};
			sb_put(s, e, 2);
		} else if (c < 0x20) {
			sb_printf(s, "\\u%04x", c);
		} else {
			sb_put(s, (const char *)&c, 1);
		}
	}
	sb_put(s, "\"", 1);
}

static void sb_csv(struct sb *s, const char *p)
{
	if (!strpbrk(p, ",\"\n\r")) {
		sb_puts(s, p);
		return;
	}
	sb_put(s, "\"", 1);
	for (; *p; p++) {
		if (*p == '"')
			sb_put(s, "\"", 1);
		sb_put(s, p, 1);
	}
	sb_put(s, "\"", 1);
}

/* A field of an event as replay renders it (endpoints as p/NS/POD:PORT, ...). */
static const char *ev_text(const struct dnsreel_flow_printer *p, uint32_t capture,
			   const struct dnsreel_event *ev, enum dnsreel_field_id f, char *buf,
			   size_t len)
{
	static const struct dnsreel_rec zero;
	struct dnsreel_rec r = zero;
	r.ctx = p->ctx;
	r.ev = ev;
	r.capture = capture;
	r.ns = dnsreel_ctx__netns(p->ctx, capture, ev->netns);
	struct dnsreel_value v;
	memset(&v, 0, sizeof(v));
	dnsreel_rec__value(&r, f, &v, buf, len);
	if (!v.s || v.null)
		return "";
	if (v.s != buf) {
		size_t n = v.len < len - 1 ? v.len : len - 1;
		memmove(buf, v.s, n);
		buf[n] = 0;
	} else {
		buf[v.len < len ? v.len : len - 1] = 0;
	}
	return buf;
}

/* The endpoint without its port: a participant of the sequence diagram. */
static const char *strip_port(char *s)
{
	char *c = strrchr(s, ':');
	if (c && c[1] && strspn(c + 1, "0123456789") == strlen(c + 1) &&
	    (c == s || c[-1] == ']' || !strchr(s, ':') || strchr(s, ':') == c))
		*c = 0;
	if (s[0] == '[' && s[strlen(s) - 1] == ']') {
		memmove(s, s + 1, strlen(s));
		s[strlen(s) - 1] = 0;
	}
	return s;
}

static void put_ms(struct sb *s, int64_t ns)
{
	sb_printf(s, "%.3f ms", (double)ns / 1e6);
}

/* ---- json --------------------------------------------------------------------------------- */

static void put_time(struct dnsreel_flow_printer *p, const char *key, int64_t wall)
{
	char t[40];
	size_t n = dnsreel_timefmt(&p->tf, wall, t);
	t[n] = 0;
	sb_printf(&p->s, "\"%s\":\"%s\",\"%s_raw\":%" PRId64, key, t, key, wall);
}

static void put_i64_or_null(struct sb *s, const char *key, int64_t v)
{
	if (v < 0)
		sb_printf(s, ",\"%s\":null", key);
	else
		sb_printf(s, ",\"%s\":%" PRId64, key, v);
}

static int put_events(struct dnsreel_flow_printer *p, const struct dnsreel_flow *f)
{
	sb_puts(&p->s, ",\"events\":[");
	for (size_t i = 0; i < f->nevents; i++) {
		if (fseeko(p->mem, 0, SEEK_SET))
			return -errno;
		int err = dnsreel_printer__print(p->ep, &f->events[i]);
		if (!err)
			err = dnsreel_printer__flush(p->ep);
		if (err)
			return err;
		long end = ftell(p->mem);
		if (end < 0)
			return -errno;
		size_t n = (size_t)end;
		while (n && (p->mem_buf[n - 1] == '\n'))
			n--;
		if (i)
			sb_put(&p->s, ",", 1);
		sb_put(&p->s, p->mem_buf, n);
	}
	sb_puts(&p->s, "]");
	return 0;
}

static int print_json(struct dnsreel_flow_printer *p, const struct dnsreel_flow *f)
{
	struct sb *s = &p->s;
	char b1[256], b2[32];
	sb_puts(s, "{\"flow_id\":");
	sb_jstr(s, f->flow_id);
	sb_puts(s, ",\"lookup_id\":");
	sb_jstr(s, f->lookup_id);
	sb_puts(s, ",");
	put_time(p, "timestamp", f->wall_ns);
	sb_puts(s, ",\"name\":");
	sb_jstr(s, f->name);
	sb_puts(s, ",\"qtype\":");
	sb_jstr(s, dnsreel_dns_type_text(f->qtype, b2, sizeof(b2)));

	const struct dnsreel_netns_ctx *ns = f->client_ns;
	const struct dnsreel_meta *m = dnsreel_ctx__meta(p->ctx, f->capture);
	sb_printf(s, ",\"client\":{\"netns_id\":%" PRIu64 ",\"addr\":", f->client_netns);
	sb_jstr(s, ev_text(p, f->capture, f->query, DNSREEL_F_SRC_ADDR, b1, sizeof(b1)));
	sb_printf(s, ",\"port\":%u,\"k8s\":{\"node\":", f->query->src_port);
	sb_jstr(s, m ? m->node : "");
	sb_puts(s, ",\"namespace\":");
	sb_jstr(s, ns ? ns->k8s_namespace : "");
	sb_puts(s, ",\"podName\":");
	sb_jstr(s, ns ? ns->k8s_podname : "");
	sb_puts(s, ",\"containerName\":");
	sb_jstr(s, ns ? ns->k8s_containername : "");
	sb_puts(s, "},\"comm\":");
	sb_jstr(s, f->has_proc ? f->comm : "");
	sb_printf(s, ",\"pid\":%u,\"role\":\"%s\"}", f->has_proc ? f->pid : 0,
		  dnsreel_flow_role_name(f->client_role));
	sb_puts(s, ",\"server\":");
	sb_jstr(s, ev_text(p, f->capture, f->query, DNSREEL_F_DST, b1, sizeof(b1)));
	sb_printf(s, ",\"outcome\":\"%s\",\"rcode\":", f->answered ? "answered" : "unanswered");
	sb_jstr(s, f->answered ? dnsreel_dns_rcode_text(f->rcode, b2, sizeof(b2)) : "");
	if (f->rcode_origin >= 0)
		sb_printf(s, ",\"rcode_origin\":\"%s\"",
			  dnsreel_flow_role_name((enum dnsreel_flow_role)f->rcode_origin));
	else
		sb_puts(s, ",\"rcode_origin\":null");
	put_i64_or_null(s, "latency_ns", f->latency_ns);
	sb_printf(s, ",\"tc\":%s,\"retries\":%u", f->tc ? "true" : "false", f->retries);
	if (f->has_lost)
		sb_printf(s,
			  ",\"lost\":{\"direction\":\"%s\",\"netns_id\":%" PRIu64
			  ",\"role\":\"%s\",\"after_ts\":%" PRId64 "}",
			  f->lost.response ? "response" : "query", f->lost.netns,
			  dnsreel_flow_role_name(f->lost.role), f->lost.after_ns);
	else
		sb_puts(s, ",\"lost\":null");

	sb_puts(s, ",\"hops\":[");
	for (size_t i = 0; i < f->nhops; i++) {
		const struct dnsreel_flow_hop *h = &f->hops[i];
		sb_printf(
		    s,
		    "%s{\"role\":\"%s\",\"netns_id\":%" PRIu64
		    ",\"ifindex\":%u,\"pkt_type\":\"%s\",\"direction\":\"%s\",\"id\":\"%04x\","
		    "\"transaction\":%zu,",
		    i ? "," : "", dnsreel_flow_role_name(h->role), h->netns, h->ifindex,
		    dnsreel_pkt_type_name(h->pkt_type), h->query ? "query" : "response", h->id,
		    h->transaction);
		put_time(p, "timestamp", h->wall_ns);
		put_i64_or_null(s, "latency_ns", h->latency_ns);
		sb_puts(s, "}");
	}
	sb_puts(s, "],\"upstream\":[");
	for (size_t i = 0; i < f->nupstream; i++) {
		const struct dnsreel_flow_upstream *u = &f->upstream[i];
		sb_printf(s, "%s{\"id\":\"%04x\",\"server\":", i ? "," : "", u->id);
		sb_jstr(s, ev_text(p, u->capture, u->query, DNSREEL_F_DST, b1, sizeof(b1)));
		sb_puts(s, ",\"rcode\":");
		sb_jstr(s, u->answered ? dnsreel_dns_rcode_text(u->rcode, b2, sizeof(b2)) : "");
		put_i64_or_null(s, "latency_ns", u->latency_ns);
		sb_printf(s, ",\"answered\":%s,\"used\":%s,\"tc\":%s}",
			  u->answered ? "true" : "false", u->used ? "true" : "false",
			  u->tc ? "true" : "false");
	}
	sb_puts(s, "]");
	if (f->slowest_hop >= 0) {
		const struct dnsreel_flow_hop *h = &f->hops[f->slowest_hop];
		sb_printf(s,
			  ",\"slowest_hop\":{\"index\":%d,\"role\":\"%s\",\"netns_id\":%" PRIu64
			  ",\"wait_ns\":%" PRId64 "}",
			  f->slowest_hop, dnsreel_flow_role_name(h->role), h->netns, f->slowest_ns);
	} else {
		sb_puts(s, ",\"slowest_hop\":null");
	}
	if (!p->o.no_events) {
		int err = put_events(p, f);
		if (err)
			return err;
	}
	sb_puts(s, "}");
	return 0;
}

/* The flow object in s indented, as jsonpretty prints events (view's indenter). */
static void json_indent(struct sb *s)
{
	size_t want = dnsreel_json_indent(s->b, s->len, NULL);
	char *d = malloc(want + 1);
	if (!d) {
		s->oom = true;
		return;
	}
	dnsreel_json_indent(s->b, s->len, d);
	d[want] = 0; /* an sb is a C string too */
	free(s->b);
	s->b = d;
	s->len = want;
	s->cap = want + 1;
}

/* ---- tree --------------------------------------------------------------------------------- */

static void outcome_words(struct dnsreel_flow_printer *p, const struct dnsreel_flow *f)
{
	struct sb *s = &p->s;
	char b[32];
	if (f->answered) {
		sb_printf(s, "answered %s%s", dnsreel_dns_rcode_text(f->rcode, b, sizeof(b)),
			  f->tc ? " truncated" : "");
		if (f->rcode_origin >= 0)
			sb_printf(s, " (from the %s)",
				  dnsreel_flow_role_name((enum dnsreel_flow_role)f->rcode_origin));
		sb_puts(s, " in ");
		put_ms(s, f->latency_ns);
	} else {
		sb_printf(s, "unanswered: the %s was last seen at the %s (netns %" PRIu64 ") at +",
			  f->lost.response ? "response" : "query",
			  dnsreel_flow_role_name(f->lost.role), f->lost.netns);
		put_ms(s, f->lost.after_ns - f->wall_ns);
	}
	if (f->retries)
		sb_printf(s, ", %u retr%s", f->retries, f->retries == 1 ? "y" : "ies");
}

static void print_tree(struct dnsreel_flow_printer *p, const struct dnsreel_flow *f)
{
	struct sb *s = &p->s;
	char b1[256], b2[256], b3[32];
	char t[40];
	size_t n = dnsreel_timefmt(&p->tf, f->wall_ns, t);
	t[n] = 0;
	const struct dnsreel_netns_ctx *ns = f->client_ns;
	sb_printf(s, "flow %s lookup %s %s %s %s\n", f->flow_id, f->lookup_id, t, f->name,
		  dnsreel_dns_type_text(f->qtype, b3, sizeof(b3)));
	sb_printf(s, "  %s ", dnsreel_flow_role_name(f->client_role));
	if (ns && ns->k8s_podname[0])
		sb_printf(s, "%s/%s ", ns->k8s_namespace, ns->k8s_podname);
	if (f->has_proc)
		sb_printf(s, "%s[%u] ", f->comm, f->pid);
	sb_printf(s, "%s -> %s: ", ev_text(p, f->capture, f->query, DNSREEL_F_SRC, b1, sizeof(b1)),
		  ev_text(p, f->capture, f->query, DNSREEL_F_DST, b2, sizeof(b2)));
	outcome_words(p, f);
	sb_puts(s, "\n");
	for (size_t i = 0; i < f->nhops; i++) {
		const struct dnsreel_flow_hop *h = &f->hops[i];
		sb_printf(
		    s, "    +%9.3f ms  %-9s netns %-10" PRIu64 " if%-3u %-9s %s %s %04x %s -> %s",
		    (double)(h->wall_ns - f->wall_ns) / 1e6, dnsreel_flow_role_name(h->role),
		    h->netns, h->ifindex, dnsreel_pkt_type_name(h->pkt_type),
		    h->event->proto == 6 ? "TCP" : "UDP", h->query ? "Q" : "R", h->id,
		    ev_text(p, h->capture, h->event, DNSREEL_F_SRC, b1, sizeof(b1)),
		    ev_text(p, h->capture, h->event, DNSREEL_F_DST, b2, sizeof(b2)));
		if (h->latency_ns >= 0) {
			sb_puts(s, "  latency ");
			put_ms(s, h->latency_ns);
		}
		if (h->transaction) {
			const struct dnsreel_flow_upstream *u = &f->upstream[h->transaction - 1];
			if (h->role == DNSREEL_ROLE_FORWARDER && h->query && h->netns == u->netns &&
			    h->capture == u->capture) {
				sb_printf(s, "  [upstream try %zu: ", h->transaction);
				if (u->answered)
					sb_puts(s,
						dnsreel_dns_rcode_text(u->rcode, b3, sizeof(b3)));
				else
					sb_puts(s, "unanswered");
				if (u->tc)
					sb_puts(s, ", truncated");
				sb_puts(s, u->used ? ", used]" : "]");
			}
		}
		if ((int)i == f->slowest_hop) {
			sb_puts(s, "  <- slowest (");
			put_ms(s, f->slowest_ns);
			sb_puts(s, " here)");
		}
		sb_puts(s, "\n");
	}
	sb_puts(s, "\n");
}

/* ---- csv ---------------------------------------------------------------------------------- */

static const char csv_header[] =
    "flow_id,lookup_id,timestamp,name,qtype,client.netns_id,client.addr,client.port,"
    "k8s.namespace,k8s.podname,k8s.containername,comm,pid,client.role,server,outcome,rcode,"
    "rcode_origin,latency_ns,retries,hops,upstreams,upstream_latency_ns,lost.direction,"
    "lost.netns_id,lost.role,lost.after_ts,slowest_hop.role,slowest_hop.netns_id,"
    "slowest_hop.wait_ns\n";

static void print_csv(struct dnsreel_flow_printer *p, const struct dnsreel_flow *f)
{
	struct sb *s = &p->s;
	char b1[256], b2[32], t[40];
	size_t n = dnsreel_timefmt(&p->tf, f->wall_ns, t);
	t[n] = 0;
	const struct dnsreel_netns_ctx *ns = f->client_ns;
	sb_printf(s, "%s,%s,%s,", f->flow_id, f->lookup_id, t);
	sb_csv(s, f->name);
	sb_printf(s, ",%s,%" PRIu64 ",", dnsreel_dns_type_text(f->qtype, b2, sizeof(b2)),
		  f->client_netns);
	sb_csv(s, ev_text(p, f->capture, f->query, DNSREEL_F_SRC_ADDR, b1, sizeof(b1)));
	sb_printf(s, ",%u,", f->query->src_port);
	sb_csv(s, ns ? ns->k8s_namespace : "");
	sb_puts(s, ",");
	sb_csv(s, ns ? ns->k8s_podname : "");
	sb_puts(s, ",");
	sb_csv(s, ns ? ns->k8s_containername : "");
	sb_puts(s, ",");
	sb_csv(s, f->has_proc ? f->comm : "");
	if (f->has_proc)
		sb_printf(s, ",%u", f->pid);
	else
		sb_puts(s, ",");
	sb_printf(s, ",%s,", dnsreel_flow_role_name(f->client_role));
	sb_csv(s, ev_text(p, f->capture, f->query, DNSREEL_F_DST, b1, sizeof(b1)));
	sb_printf(s, ",%s,%s,%s,", f->answered ? "answered" : "unanswered",
		  f->answered ? dnsreel_dns_rcode_text(f->rcode, b2, sizeof(b2)) : "",
		  f->rcode_origin >= 0
		      ? dnsreel_flow_role_name((enum dnsreel_flow_role)f->rcode_origin)
		      : "");
	if (f->latency_ns >= 0)
		sb_printf(s, "%" PRId64, f->latency_ns);
	sb_printf(s, ",%u,%zu,%zu,", f->retries, f->nhops, f->nupstream);
	for (size_t i = 0; i < f->nupstream; i++)
		if (f->upstream[i].used && f->upstream[i].latency_ns >= 0)
			sb_printf(s, "%" PRId64, f->upstream[i].latency_ns);
	if (f->has_lost)
		sb_printf(s, ",%s,%" PRIu64 ",%s,%" PRId64, f->lost.response ? "response" : "query",
			  f->lost.netns, dnsreel_flow_role_name(f->lost.role), f->lost.after_ns);
	else
		sb_puts(s, ",,,,");
	if (f->slowest_hop >= 0) {
		const struct dnsreel_flow_hop *h = &f->hops[f->slowest_hop];
		sb_printf(s, ",%s,%" PRIu64 ",%" PRId64 "\n", dnsreel_flow_role_name(h->role),
			  h->netns, f->slowest_ns);
	} else {
		sb_puts(s, ",,,\n");
	}
}

/* ---- mermaid ------------------------------------------------------------------------------ */

#define MAX_PART 16

struct parts {
	char name[MAX_PART][128];
	size_t n;
};

static size_t part_of(struct parts *ps, const char *name)
{
	for (size_t i = 0; i < ps->n; i++)
		if (!strcmp(ps->name[i], name))
			return i;
	if (ps->n == MAX_PART)
		return MAX_PART - 1;
	snprintf(ps->name[ps->n], sizeof(ps->name[0]), "%s", name);
	return ps->n++;
}

struct leg {
	size_t from, to;
	bool response;
	int64_t wall;
	uint16_t id;
	uint16_t rcode;
};

/* Each message's path drawn hop by hop: where a rewrite changed the destination of a query
 * (DNAT), the arrow goes from the old destination to the new; a response's source rewritten
 * back (un-DNAT) draws old source to new source. */
static void print_mermaid(struct dnsreel_flow_printer *p, const struct dnsreel_flow *f)
{
	struct sb *s = &p->s;
	struct parts ps = {.n = 0};
	struct leg legs[64];
	size_t nl = 0;
	char src[256], dst[256], b[32];
	size_t last_q_src = SIZE_MAX, last_q_dst = SIZE_MAX, last_r_src = SIZE_MAX,
	       last_r_dst = SIZE_MAX;
	uint16_t last_q_id = 0, last_r_id = 0;
	for (size_t i = 0; i < f->nevents && nl < 64; i++) {
		const struct dnsreel_rec *r = &f->events[i];
		ev_text(p, r->capture, r->ev, DNSREEL_F_SRC, src, sizeof(src));
		ev_text(p, r->capture, r->ev, DNSREEL_F_DST, dst, sizeof(dst));
		size_t a = part_of(&ps, strip_port(src)), z = part_of(&ps, strip_port(dst));
		bool resp = r->dns.qr;
		uint16_t id = r->dns.id;
		if (!resp) {
			if (id == last_q_id && a == last_q_src && z == last_q_dst)
				continue;
			size_t from = (id == last_q_id && a == last_q_src) ? last_q_dst : a;
			legs[nl++] = (struct leg){from, z, false, r->wall_ns, id, 0};
			last_q_id = id, last_q_src = a, last_q_dst = z;
		} else {
			if (id == last_r_id && a == last_r_src && z == last_r_dst)
				continue;
			if (id == last_r_id && z == last_r_dst && nl && legs[nl - 1].response &&
			    legs[nl - 1].to == z)
				legs[nl - 1].to = a; /* un-DNAT: the previous leg ended here */
			legs[nl++] = (struct leg){a, z, true, r->wall_ns, id, r->dns.rcode};
			last_r_id = id, last_r_src = a, last_r_dst = z;
		}
	}
	sb_printf(s, "%%%% flow %s: %s %s\nsequenceDiagram\n", f->flow_id, f->name,
		  dnsreel_dns_type_text(f->qtype, b, sizeof(b)));
	for (size_t i = 0; i < ps.n; i++)
		sb_printf(s, "participant P%zu as %s\n", i + 1, ps.name[i]);
	for (size_t i = 0; i < nl; i++) {
		const struct leg *l = &legs[i];
		sb_printf(s, "P%zu%sP%zu: %s %04x +%.3f ms", l->from + 1,
			  l->response ? "-->>" : "->>", l->to + 1, l->response ? "R" : "Q", l->id,
			  (double)(l->wall - f->wall_ns) / 1e6);
		if (l->response)
			sb_printf(s, " %s", dnsreel_dns_rcode_text(l->rcode, b, sizeof(b)));
		sb_puts(s, "\n");
	}
	if (!f->answered)
		sb_printf(s, "Note over P1: unanswered, lost after the %s\n",
			  dnsreel_flow_role_name(f->lost.role));
	sb_puts(s, "\n");
}

/* ---- public ------------------------------------------------------------------------------- */

int dnsreel_flow_output_parse(const char *s, enum dnsreel_flow_output *out)
{
	static const char *names[] = {"tree",	 "json",      "jsonl",	   "csv",
				      "mermaid", "jsonarray", "jsonpretty"};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (!strcmp(s, names[i])) {
			*out = (enum dnsreel_flow_output)i;
			return 0;
		}
	return DNSREEL_E_ARG;
}

int dnsreel_flow_printer__new(struct dnsreel_flow_printer **out, const struct dnsreel_ctx *ctx,
			      const struct dnsreel_flow_printer_opts *o)
{
	*out = NULL;
	if (!o || o->output > DNSREEL_FLOW_OUT_JSONPRETTY)
		return DNSREEL_E_ARG;
	struct dnsreel_flow_printer *p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	memcpy(&p->o, o, o->sz < sizeof(p->o) ? o->sz : sizeof(p->o));
	p->ctx = ctx;
	p->out = o->out ? o->out : stdout;
	bool json = o->output == DNSREEL_FLOW_OUT_JSON || o->output == DNSREEL_FLOW_OUT_JSONL ||
		    o->output == DNSREEL_FLOW_OUT_JSONARRAY ||
		    o->output == DNSREEL_FLOW_OUT_JSONPRETTY;
	if (json && !o->no_events) {
		p->mem = open_memstream(&p->mem_buf, &p->mem_len);
		struct dnsreel_printer_opts po = {
		    .sz = sizeof(po), .output = DNSREEL_OUT_JSONL, .out = p->mem};
		if (!p->mem || dnsreel_printer__new(&p->ep, &po) < 0) {
			dnsreel_flow_printer__close(p);
			return -ENOMEM;
		}
	}
	*out = p;
	return 0;
}

int dnsreel_flow_printer__print(struct dnsreel_flow_printer *p, const struct dnsreel_flow *f)
{
	int err = 0;
	p->s.len = 0;
	switch (p->o.output) {
	case DNSREEL_FLOW_OUT_TREE:
		print_tree(p, f);
		break;
	case DNSREEL_FLOW_OUT_JSONARRAY:
		sb_puts(&p->s, p->n ? ",\n" : "[\n");
		err = print_json(p, f);
		break;
	case DNSREEL_FLOW_OUT_JSON:
	case DNSREEL_FLOW_OUT_JSONL:
		err = print_json(p, f);
		sb_puts(&p->s, "\n");
		break;
	case DNSREEL_FLOW_OUT_JSONPRETTY:
		err = print_json(p, f);
		if (!err)
			json_indent(&p->s);
		sb_puts(&p->s, "\n");
		break;
	case DNSREEL_FLOW_OUT_CSV:
		if (!p->n && !p->o.no_header)
			sb_puts(&p->s, csv_header);
		print_csv(p, f);
		break;
	case DNSREEL_FLOW_OUT_MERMAID:
		print_mermaid(p, f);
		break;
	}
	if (err)
		return err;
	if (p->s.oom)
		return -ENOMEM;
	p->n++;
	if (p->s.len && fwrite(p->s.b, 1, p->s.len, p->out) != p->s.len && !p->err)
		p->err = errno ? -errno : -EIO;
	return p->err;
}

int dnsreel_flow_printer__close(struct dnsreel_flow_printer *p)
{
	if (!p)
		return 0;
	if (p->o.output == DNSREEL_FLOW_OUT_JSONARRAY)
		fputs(p->n ? "\n]\n" : "[]\n", p->out);
	else if (p->o.output == DNSREEL_FLOW_OUT_CSV && !p->n && !p->o.no_header)
		fputs(csv_header, p->out);
	if (fflush(p->out) && !p->err)
		p->err = errno ? -errno : -EIO;
	int err = p->err;
	if (p->ep)
		dnsreel_printer__close(p->ep);
	if (p->mem)
		fclose(p->mem);
	free(p->mem_buf);
	free(p->s.b);
	free(p);
	return err;
}
