/* One flow as a sequence diagram: a lane per party (the client pod, the service address it
 * asked, the forwarder, each upstream server), a row per message in time order, queries as
 * solid arrows, responses dashed, and a cross where the message was last seen. Times are
 * printed beside every arrow (ms after the client's query), so rows need no time scale. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "dnsreel.h"
#include "report_int.h"

static void endpoint_label(char *buf, size_t len, const struct dnsreel_ctx *ctx, uint32_t capture,
			   const struct dnsreel_event *ev, bool src)
{
	if (!ev) {
		dnsreel_report_cut(buf, len, "?");
		return;
	}
	struct dnsreel_endpoint ep;
	uint16_t port = src ? ev->src_port : ev->dst_port;
	dnsreel_ctx__endpoint(ctx, capture, ev->ip_version, src ? ev->src_addr : ev->dst_addr, port,
			      &ep);
	if (ep.kind && ep.name)
		dnsreel_report_cut(buf, len, "%c/%s/%s:%u", ep.kind,
				   ep.k8s_namespace ? ep.k8s_namespace : "", ep.name, port);
	else
		dnsreel_event_addr_str(ev, src, true, buf, len);
}

static void netns_label(char *buf, size_t len, const struct dnsreel_ctx *ctx, uint32_t capture,
			uint64_t netns)
{
	const struct dnsreel_netns_ctx *ns = dnsreel_ctx__netns(ctx, capture, netns);
	if (ns && ns->k8s_podname[0])
		dnsreel_report_cut(buf, len, "%s/%s", ns->k8s_namespace, ns->k8s_podname);
	else if (ns && ns->name[0])
		dnsreel_report_cut(buf, len, "%s", ns->name);
	else
		dnsreel_report_cut(buf, len, "netns %" PRIu64, netns);
}

void dnsreel_report_flow_copy(struct dnsreel_report_flow *o, const struct dnsreel_ctx *ctx,
			      const struct dnsreel_flow *f)
{
	char nb[16];
	memset(o, 0, sizeof(*o));
	memcpy(o->flow_id, f->flow_id, sizeof(o->flow_id));
	dnsreel_report_cut(o->name, sizeof(o->name), "%s", f->name ? f->name : "");
	dnsreel_report_cut(o->qtype, sizeof(o->qtype), "%s",
			   dnsreel_dns_type_text(f->qtype, nb, sizeof(nb)));
	o->wall_ns = f->wall_ns;
	o->latency_ns = f->latency_ns;
	o->answered = f->answered;
	o->rcode_num = f->rcode;
	o->retries = f->retries;
	o->rcode_origin = f->rcode_origin;
	o->forwarder_client = f->client_role == DNSREEL_ROLE_FORWARDER;
	if (f->answered)
		dnsreel_report_cut(o->rcode, sizeof(o->rcode), "%s%s",
				   dnsreel_dns_rcode_text(f->rcode, nb, sizeof(nb)),
				   f->tc ? " TC" : "");
	endpoint_label(o->client, sizeof(o->client), ctx, f->capture, f->query, true);
	endpoint_label(o->server, sizeof(o->server), ctx, f->capture, f->query, false);
	dnsreel_report_cut(o->forwarder, sizeof(o->forwarder), "forwarder");
	o->nhops_total = f->nhops;
	for (size_t i = 0; i < f->nhops; i++) {
		const struct dnsreel_flow_hop *hp = &f->hops[i];
		if (hp->role == DNSREEL_ROLE_FORWARDER && hp->transaction == 0 &&
		    !strcmp(o->forwarder, "forwarder"))
			netns_label(o->forwarder, sizeof(o->forwarder), ctx, hp->capture,
				    hp->netns);
		if (o->nhops >= DNSREEL_RF_HOPS)
			continue;
		o->hops[o->nhops].role = (uint8_t)hp->role;
		o->hops[o->nhops].query = hp->query;
		o->hops[o->nhops].transaction =
		    (uint8_t)(hp->transaction < 255 ? hp->transaction : 255);
		o->hops[o->nhops].wall_ns = hp->wall_ns;
		o->hops[o->nhops].latency_ns = hp->latency_ns;
		o->nhops++;
	}
	o->nup_total = f->nupstream;
	for (size_t i = 0; i < f->nupstream && o->nup < DNSREEL_RF_UP; i++) {
		const struct dnsreel_flow_upstream *u = &f->upstream[i];
		if (o->forwarder_client || !strcmp(o->forwarder, "forwarder"))
			netns_label(o->forwarder, sizeof(o->forwarder), ctx, u->capture, u->netns);
		endpoint_label(o->up[o->nup].server, sizeof(o->up[0].server), ctx, u->capture,
			       u->query, false);
		o->up[o->nup].wall_ns = u->wall_ns;
		o->up[o->nup].latency_ns = u->latency_ns;
		o->up[o->nup].answered = u->answered;
		o->up[o->nup].used = u->used;
		o->up[o->nup].tc = u->tc;
		if (u->answered)
			dnsreel_report_cut(o->up[o->nup].rcode, sizeof(o->up[0].rcode), "%s",
					   dnsreel_dns_rcode_text(u->rcode, nb, sizeof(nb)));
		o->nup++;
	}
	if (!f->answered && f->has_lost)
		dnsreel_report_cut(
		    o->lost, sizeof(o->lost), "%s last seen at the %s, %.3f ms after the query",
		    f->lost.response ? "response" : "query", dnsreel_flow_role_name(f->lost.role),
		    (double)f->lost.after_ns / 1e6);
	else if (!f->answered)
		dnsreel_report_cut(o->lost, sizeof(o->lost), "no response seen");
}

enum { MAX_LANES = 3 + DNSREEL_RF_UP, MAX_MSGS = 64 };

struct msg {
	int64_t t;
	int from, to; /* lanes; to < 0: a marker at from */
	int kind;     /* 0 query, 1 response, 2 lost or unanswered */
	char label[160];
};

static int cmp_msg(const void *a, const void *b)
{
	const struct msg *x = a, *y = b;
	return x->t < y->t ? -1 : x->t > y->t;
}

struct diagram {
	const char *lane[MAX_LANES];
	const char *role[MAX_LANES];
	int nlanes;
	struct msg m[MAX_MSGS];
	int nm;
};

static int lane_of(struct diagram *d, const char *label, const char *role)
{
	for (int i = 0; i < d->nlanes; i++)
		if (!strcmp(d->lane[i], label) && !strcmp(d->role[i], role))
			return i;
	if (d->nlanes >= MAX_LANES)
		return d->nlanes - 1;
	d->lane[d->nlanes] = label;
	d->role[d->nlanes] = role;
	return d->nlanes++;
}

static struct msg *add(struct diagram *d, int64_t t, int from, int to, int kind)
{
	if (d->nm >= MAX_MSGS)
		return NULL;
	struct msg *m = &d->m[d->nm++];
	m->t = t;
	m->from = from;
	m->to = to;
	m->kind = kind;
	m->label[0] = 0;
	return m;
}

/* The client's own transaction: its lanes in the order the query passes them. */
static void client_transaction(struct diagram *d, const struct dnsreel_report_flow *f)
{
	/* roles the client's transaction passes, and the lane each maps to */
	int order[3], lanes[3], n = 0;
	if (f->forwarder_client) {
		order[n] = DNSREEL_ROLE_FORWARDER;
		lanes[n++] = lane_of(d, f->client, "forwarder (client)");
		order[n] = DNSREEL_ROLE_UPSTREAM;
		lanes[n++] = lane_of(d, f->server, "upstream");
	} else {
		order[n] = DNSREEL_ROLE_CLIENT;
		lanes[n++] = lane_of(d, f->client, "client");
		order[n] = DNSREEL_ROLE_NODE;
		lanes[n++] = -1;
		order[n] = DNSREEL_ROLE_FORWARDER;
		lanes[n++] = -1;
	}
	int64_t q[3], r[3];
	for (int k = 0; k < n; k++)
		q[k] = r[k] = INT64_MIN;
	for (size_t i = 0; i < f->nhops; i++) {
		if (f->hops[i].transaction != 0)
			continue;
		for (int k = 0; k < n; k++) {
			if (f->hops[i].role != order[k])
				continue;
			int64_t qt = f->hops[i].query ? f->hops[i].wall_ns : INT64_MIN;
			int64_t rt = !f->hops[i].query ? f->hops[i].wall_ns
				     : f->hops[i].latency_ns >= 0
					 ? f->hops[i].wall_ns + f->hops[i].latency_ns
					 : INT64_MIN;
			if (qt != INT64_MIN && (q[k] == INT64_MIN || qt < q[k]))
				q[k] = qt;
			if (rt != INT64_MIN && (r[k] == INT64_MIN || rt < r[k]))
				r[k] = rt;
		}
	}
	/* lanes for the node (the service address) and the forwarder only when seen there */
	if (!f->forwarder_client) {
		if (q[1] != INT64_MIN || r[1] != INT64_MIN)
			lanes[1] = lane_of(d, f->server, "service (node)");
		if (q[2] != INT64_MIN || r[2] != INT64_MIN)
			lanes[2] = lane_of(d, f->forwarder, "forwarder");
	}
	int chain[3], nc = 0;
	for (int k = 0; k < n; k++)
		if (lanes[k] >= 0 && (q[k] != INT64_MIN || r[k] != INT64_MIN))
			chain[nc++] = k;
	for (int j = 1; j < nc; j++) {
		int a = chain[j - 1], b = chain[j];
		if (q[b] == INT64_MIN)
			continue;
		struct msg *m = add(d, q[b], lanes[a], lanes[b], 0);
		if (m)
			dnsreel_report_cut(m->label, sizeof(m->label), "query %s %s%s", f->qtype,
					   f->name, f->retries && j == 1 ? " (retried)" : "");
	}
	for (int j = nc - 1; j > 0; j--) {
		int a = chain[j - 1], b = chain[j];
		if (r[a] == INT64_MIN || r[b] == INT64_MIN)
			continue;
		struct msg *m = add(d, r[a], lanes[b], lanes[a], 1);
		if (m)
			dnsreel_report_cut(m->label, sizeof(m->label), "response %s",
					   f->rcode[0] ? f->rcode : "");
	}
	if (!f->answered && nc) {
		/* the cross stands at the last lane that saw the message */
		int at = lanes[chain[nc - 1]];
		for (int j = nc - 1; j >= 0; j--)
			if (r[chain[j]] != INT64_MIN) {
				at = lanes[chain[j]];
				break;
			}
		int64_t t = f->wall_ns;
		for (int j = 0; j < nc; j++) {
			if (q[chain[j]] > t)
				t = q[chain[j]];
			if (r[chain[j]] > t)
				t = r[chain[j]];
		}
		struct msg *m = add(d, t + 1, at, -1, 2);
		if (m)
			dnsreel_report_cut(m->label, sizeof(m->label), "unanswered: %s", f->lost);
	}
}

static void upstream_transactions(struct diagram *d, const struct dnsreel_report_flow *f)
{
	int fw = -1;
	for (int i = 0; i < d->nlanes; i++)
		if (!strcmp(d->role[i], "forwarder"))
			fw = i;
	if (fw < 0)
		fw = lane_of(d, f->forwarder, "forwarder");
	for (size_t i = 0; i < f->nup; i++) {
		int up = lane_of(d, f->up[i].server, "upstream");
		struct msg *m = add(d, f->up[i].wall_ns, fw, up, 0);
		if (m)
			dnsreel_report_cut(m->label, sizeof(m->label),
					   "upstream try %zu: query %s %s", i + 1, f->qtype,
					   f->name);
		if (f->up[i].answered) {
			m = add(d, f->up[i].wall_ns + f->up[i].latency_ns, up, fw, 1);
			if (m)
				dnsreel_report_cut(m->label, sizeof(m->label),
						   "response %s%s%s (%.3f ms)", f->up[i].rcode,
						   f->up[i].tc ? " TC" : "",
						   f->up[i].used ? ", used" : "",
						   (double)f->up[i].latency_ns / 1e6);
		} else {
			m = add(d, f->up[i].wall_ns + 1, up, -1, 2);
			if (m)
				dnsreel_report_cut(m->label, sizeof(m->label),
						   "try %zu: no response", i + 1);
		}
	}
}

void dnsreel_svg_sequence(struct dnsreel_html *h, const struct dnsreel_report_flow *f)
{
	struct diagram *d = calloc(1, sizeof(*d));
	if (!d) {
		dnsreel_html__raw(h, "<p>(out of memory drawing this flow)</p>\n");
		return;
	}
	unsigned id = ++h->ids;
	client_transaction(d, f);
	if (!f->forwarder_client)
		upstream_transactions(d, f);
	qsort(d->m, (size_t)d->nm, sizeof(d->m[0]), cmp_msg);

	const int LW = 60, TW = 960 - LW, HEAD = 58, RH = 34;
	int nl = d->nlanes ? d->nlanes : 1;
	double lw = (double)TW / nl;
	int H = HEAD + RH * (d->nm ? d->nm : 1) + 16;
	dnsreel_html__printf(h,
			     "<svg class=\"seq\" id=\"seq%u\" viewBox=\"0 0 960 %d\" width=\"960\" "
			     "height=\"%d\" role=\"img\" aria-labelledby=\"seq%u-t seq%u-d\">\n"
			     "<title id=\"seq%u-t\">Flow %s: ",
			     id, H, H, id, id, id, f->flow_id);
	dnsreel_html__text(h, f->name);
	dnsreel_html__printf(h, " %s</title>\n<desc id=\"seq%u-d\">", f->qtype, id);
	for (int i = 0; i < d->nm; i++) {
		const struct msg *m = &d->m[i];
		char t[48];
		dnsreel_report_cut(t, sizeof(t), "+%.3f ms: ", (double)(m->t - f->wall_ns) / 1e6);
		dnsreel_html__raw(h, t);
		dnsreel_html__text(h, d->lane[m->from]);
		if (m->to >= 0) {
			dnsreel_html__raw(h, " to ");
			dnsreel_html__text(h, d->lane[m->to]);
		}
		dnsreel_html__raw(h, ", ");
		dnsreel_html__text(h, m->label);
		dnsreel_html__raw(h, ". ");
	}
	dnsreel_html__raw(h, "</desc>\n");
	for (int i = 0; i < d->nlanes; i++) {
		double x = LW + lw * i + lw / 2;
		dnsreel_html__printf(h,
				     "<g class=\"lane\"><rect x=\"%.1f\" y=\"4\" width=\"%.1f\" "
				     "height=\"42\" rx=\"4\" fill=\"#f4f4f4\" stroke=\"#333\"/>"
				     "<text x=\"%.1f\" y=\"20\" font-size=\"11\" "
				     "text-anchor=\"middle\" font-style=\"italic\">",
				     x - lw / 2 + 4, lw - 8, x);
		dnsreel_html__text(h, d->role[i]);
		dnsreel_html__printf(h,
				     "</text><text x=\"%.1f\" y=\"38\" font-size=\"11\" "
				     "text-anchor=\"middle\"",
				     x);
		if (strlen(d->lane[i]) * 6.2 > lw - 12)
			dnsreel_html__printf(
			    h, " textLength=\"%.0f\" lengthAdjust=\"spacingAndGlyphs\"", lw - 14);
		dnsreel_html__raw(h, "><title>");
		dnsreel_html__text(h, d->lane[i]);
		dnsreel_html__raw(h, "</title>");
		dnsreel_html__text(h, d->lane[i]);
		dnsreel_html__printf(h,
				     "</text><line x1=\"%.1f\" x2=\"%.1f\" y1=\"46\" y2=\"%d\" "
				     "stroke=\"#888\" stroke-dasharray=\"2 3\"/></g>\n",
				     x, x, H - 8);
	}
	for (int i = 0; i < d->nm; i++) {
		const struct msg *m = &d->m[i];
		int y = HEAD + RH * i + 24;
		double x1 = LW + lw * m->from + lw / 2;
		dnsreel_html__printf(h,
				     "<g class=\"msg %s\"><text x=\"4\" y=\"%d\" font-size=\"10\">"
				     "+%.3f ms</text>",
				     m->kind == 0   ? "q"
				     : m->kind == 1 ? "r"
						    : "lost",
				     y + 3, (double)(m->t - f->wall_ns) / 1e6);
		if (m->to >= 0) {
			double x2 = LW + lw * m->to + lw / 2, dir = x2 > x1 ? 1 : -1;
			dnsreel_html__printf(
			    h,
			    "<path d=\"M%.1f %dL%.1f %d\" stroke=\"#111\" stroke-width=\"1.4\" "
			    "fill=\"none\"%s/><path d=\"M%.1f %dL%.1f %dL%.1f %dZ\" fill=\"%s\" "
			    "stroke=\"#111\"/>",
			    x1, y, x2 - dir * 2, y, m->kind == 1 ? " stroke-dasharray=\"6 4\"" : "",
			    x2, y, x2 - dir * 9, y - 5, x2 - dir * 9, y + 5,
			    m->kind == 1 ? "#fff" : "#111");
			double lx = (x1 + x2) / 2;
			dnsreel_html__printf(h,
					     "<text x=\"%.1f\" y=\"%d\" font-size=\"11\" "
					     "text-anchor=\"middle\"",
					     lx, y - 5);
			double room = (x2 - x1) * dir - 10;
			if (strlen(m->label) * 6.0 > room && room > 40)
				dnsreel_html__printf(
				    h, " textLength=\"%.0f\" lengthAdjust=\"spacingAndGlyphs\"",
				    room);
			dnsreel_html__raw(h, ">");
		} else {
			/* a cross, and what was last seen, beside the lane */
			dnsreel_html__printf(
			    h,
			    "<path d=\"M%.1f %dl12 12m0 -12l-12 12\" "
			    "stroke=\"#b00\" stroke-width=\"2.5\"/><text x=\"%.1f\" "
			    "y=\"%d\" font-size=\"11\" font-weight=\"700\"%s>",
			    x1 - 6, y - 6, x1 + (x1 > 700 ? -12 : 12), y + 4,
			    x1 > 700 ? " text-anchor=\"end\"" : "");
		}
		dnsreel_html__text(h, m->label);
		dnsreel_html__raw(h, "</text></g>\n");
	}
	if (!d->nm)
		dnsreel_html__printf(h,
				     "<text x=\"%d\" y=\"%d\" font-size=\"12\">no messages "
				     "kept for this flow</text>\n",
				     LW, HEAD + 20);
	dnsreel_html__raw(h, "</svg>\n");
	free(d);
}
