/* Rows in RowBinary, in the column order of schema.c's INSERT lists: the events (the query
 * tool's dns table), the RRs of responses (its answers table) and the flows (its flows
 * table, with the same derived columns: the counted upstream, the forwarder, the endpoints as
 * replay renders them). Unknown text is "" and unknown numbers 0 where the query tool says
 * NULL, except the flows' latencies, which stay Nullable so avg() and max() agree.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "dnsreel.h"
#include "export_int.h"

#define NS_PER_S 1000000000ll

static void rb_time(struct rb *b, int64_t wall_ns)
{
	if (wall_ns < 0)
		wall_ns = 0;
	int64_t s = wall_ns / NS_PER_S;
	/* DateTime is a UInt32 of seconds: good until 2106 */
	rb_u32(b, s > UINT32_MAX ? UINT32_MAX : (uint32_t)s);
	rb_u32(b, (uint32_t)(wall_ns % NS_PER_S));
}

/* A field's text as replay prints it, "" when unknown. */
static void rb_field(struct rb *b, const struct dnsreel_rec *rec, enum dnsreel_field_id f)
{
	char buf[600];
	struct dnsreel_value v;

	memset(&v, 0, sizeof(v));
	dnsreel_rec__value(rec, f, &v, buf, sizeof(buf));
	if (v.null || !v.s)
		rb_strn(b, "", 0);
	else
		rb_strn(b, v.s, v.len);
}

static void rb_addr(struct rb *b, uint8_t ip_version, const uint8_t a[16])
{
	static const uint8_t v4map[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

	if (ip_version == 4) {
		rb_bytes(b, v4map, sizeof(v4map));
		rb_bytes(b, a, 4);
	} else {
		rb_bytes(b, a, 16);
	}
}

static void rb_pos(struct rb *b, const struct chx_pos *p)
{
	rb_uuid(b, p->capture_id);
	rb_u32(b, p->segment);
	rb_u64(b, p->frame_offset);
	rb_u32(b, p->event);
	rb_u8(b, p->sub);
	rb_u64(b, p->batch);
}

void chx_event_row(struct rb *b, const struct chx_pos *pos, const struct dnsreel_rec *rec)
{
	const struct dnsreel_event *ev = rec->ev;
	const struct dnsreel_dns *d = &rec->dns;
	bool proc = ev->flags & DNSREEL_EV_PROC;

	rb_pos(b, pos);
	rb_time(b, rec->wall_ns);
	rb_field(b, rec, DNSREEL_F_K8S_NODE);
	rb_field(b, rec, DNSREEL_F_K8S_NAMESPACE);
	rb_field(b, rec, DNSREEL_F_K8S_PODNAME);
	rb_field(b, rec, DNSREEL_F_K8S_CONTAINERNAME);
	rb_field(b, rec, DNSREEL_F_RUNTIME_CONTAINERNAME);
	rb_field(b, rec, DNSREEL_F_RUNTIME_CONTAINERID);
	rb_u64(b, ev->netns);
	rb_u32(b, ev->ifindex);
	rb_u8(b, ev->pkt_type <= DNSREEL_PKT_KERNEL ? ev->pkt_type : 0xff);
	rb_u8(b, ev->proto == 6 || ev->proto == 17 ? ev->proto : 0);
	rb_addr(b, ev->ip_version, ev->src_addr);
	rb_u16(b, ev->src_port);
	rb_addr(b, ev->ip_version, ev->dst_addr);
	rb_u16(b, ev->dst_port);
	rb_field(b, rec, DNSREEL_F_NAMESERVER);
	if (proc)
		rb_strn(b, ev->comm, strnlen(ev->comm, sizeof(ev->comm)));
	else
		rb_strn(b, "", 0);
	rb_u32(b, proc ? ev->pid : 0);
	rb_u32(b, proc ? ev->tid : 0);
	rb_u32(b, proc ? ev->uid : 0);
	rb_u32(b, proc ? ev->gid : 0);
	rb_u16(b, d->id);
	rb_u8(b, d->qr ? 1 : 0);
	rb_field(b, rec, DNSREEL_F_OPCODE);
	rb_field(b, rec, DNSREEL_F_QTYPE);
	rb_u16(b, d->has_question ? d->qtype : 0);
	rb_field(b, rec, DNSREEL_F_NAME);
	rb_field(b, rec, DNSREEL_F_RCODE);
	rb_u16(b, d->qr ? d->rcode : 0);
	rb_u16(b, d->num_answers);
	rb_str(b, d->addresses);
	rb_i64(b, rec->latency_ns);
	rb_u8(b, d->tc);
	rb_u8(b, d->rd);
	rb_u8(b, d->ra);
	rb_u8(b, d->aa);
	rb_u8(b, d->ad);
	rb_u8(b, d->cd);
	rb_u32(b, ev->proto == 6 ? rec->msg_len : ev->orig_len);
	b->rows++;
}

static const char *class_text(const struct dnsreel_dns_rr *rr, char *buf, size_t len)
{
	if (rr->type == 41) /* OPT: the class field is the UDP payload size */
		return "";
	switch (rr->class) {
	case 1:
		return "IN";
	case 3:
		return "CH";
	case 4:
		return "HS";
	default:
		snprintf(buf, len, "CLASS%u", rr->class);
		return buf;
	}
}

uint32_t chx_answer_rows(struct rb *b, const struct chx_pos *pos, const struct dnsreel_rec *rec,
			 char **dbuf, size_t *dbuf_cap)
{
	struct dnsreel_dns_iter it;
	struct dnsreel_dns_rr rr;
	uint32_t rows = 0;

	if (dnsreel_dns_qr(rec->msg, rec->msg_len) != 1 ||
	    dnsreel_dns_iter_init(&it, rec->msg, rec->msg_len) < 0)
		return 0;
	while (dnsreel_dns_iter_next(&it, &rr) == 1) {
		char tbuf[16], cbuf[16];
		const char *t = dnsreel_dns_type_name(rr.type);
		int n = DNSREEL_E_LIMIT;

		/* 4 * rdlen + 64 always suffices (dns.h) */
		size_t need = 4 * (size_t)rr.rdlen + 64;
		if (*dbuf_cap < need) {
			char *nb = realloc(*dbuf, need);
			if (!nb) {
				b->err = -ENOMEM;
				return rows;
			}
			*dbuf = nb;
			*dbuf_cap = need;
		}
		n = dnsreel_dns_rdata_str(rec->msg, rec->msg_len, &rr, *dbuf, *dbuf_cap);
		if (!t) {
			snprintf(tbuf, sizeof(tbuf), "%u", rr.type);
			t = tbuf;
		}
		rb_pos(b, pos);
		rb_time(b, rec->wall_ns);
		rb_u8(b, rr.section);
		rb_u16(b, (uint16_t)(it.index - 1));
		rb_str(b, rr.name);
		rb_str(b, t);
		rb_u16(b, rr.type);
		rb_str(b, class_text(&rr, cbuf, sizeof(cbuf)));
		rb_u32(b, rr.ttl);
		rb_strn(b, n > 0 ? *dbuf : "", n > 0 ? (size_t)n : 0);
		b->rows++;
		rows++;
	}
	return rows;
}

/* ---- flows ---------------------------------------------------------------------------------- */

/* A field of a flow's event as replay renders it (endpoints as p/NS/POD:PORT), "" if none. */
static void rb_ev_field(struct rb *b, const struct dnsreel_ctx *ctx, uint32_t capture,
			const struct dnsreel_event *ev, enum dnsreel_field_id id)
{
	struct dnsreel_rec r;

	memset(&r, 0, sizeof(r));
	r.ctx = ctx;
	r.ev = ev;
	r.capture = capture;
	r.ns = dnsreel_ctx__netns(ctx, capture, ev->netns);
	rb_field(b, &r, id);
}

static void rb_k8s(struct rb *b, const char *s)
{
	rb_str(b, s);
}

void chx_flow_row(struct rb *b, const struct dnsreel_ctx *ctx, const uint8_t capture_id[16],
		  uint64_t batch, const struct dnsreel_flow *f)
{
	const struct dnsreel_netns_ctx *ns = f->client_ns;
	const struct dnsreel_flow_upstream *u = dnsreel_flow_counted_upstream(f);
	char buf[64];
	uint32_t fc = 0;
	uint64_t fn = 0;
	bool has_fwd = dnsreel_flow_forwarder(f, &fc, &fn);
	const struct dnsreel_netns_ctx *fns = has_fwd ? dnsreel_ctx__netns(ctx, fc, fn) : NULL;
	int64_t answered = 0;

	rb_uuid(b, capture_id);
	rb_u64(b, batch);
	rb_fixed(b, f->flow_id, 16);
	rb_fixed(b, f->lookup_id, 16);
	rb_time(b, f->wall_ns);
	rb_str(b, f->name);
	rb_str(b, dnsreel_dns_type_text(f->qtype, buf, sizeof(buf)));
	rb_u64(b, f->client_netns);
	if (f->query)
		rb_ev_field(b, ctx, f->capture, f->query, DNSREEL_F_SRC_ADDR);
	else
		rb_str(b, "");
	rb_u16(b, f->query ? f->query->src_port : 0);
	rb_k8s(b, ns ? ns->k8s_namespace : "");
	rb_k8s(b, ns ? ns->k8s_podname : "");
	rb_k8s(b, ns ? ns->k8s_containername : "");
	rb_str(b, f->has_proc ? f->comm : "");
	rb_u32(b, f->has_proc ? f->pid : 0);
	rb_u8(b, (uint8_t)f->client_role);
	if (f->query)
		rb_ev_field(b, ctx, f->capture, f->query, DNSREEL_F_DST);
	else
		rb_str(b, "");
	rb_u8(b, f->answered ? 1 : 0);
	rb_str(b, f->answered ? dnsreel_dns_rcode_text(f->rcode, buf, sizeof(buf)) : "");
	rb_str(b, f->rcode_origin >= 0
		      ? dnsreel_flow_role_name((enum dnsreel_flow_role)f->rcode_origin)
		      : "");
	rb_nint64(b, f->latency_ns < 0, f->latency_ns);
	rb_u32(b, f->retries);
	rb_str(b, f->has_lost ? (f->lost.response ? "response" : "query") : "");
	rb_u64(b, f->has_lost ? f->lost.netns : 0);
	rb_str(b, f->has_lost ? dnsreel_flow_role_name(f->lost.role) : "");
	rb_nint64(b, !f->has_lost, f->lost.after_ns);
	rb_u16(b, (uint16_t)f->nhops);
	rb_u64(b, has_fwd ? fn : 0);
	rb_k8s(b, fns ? fns->k8s_namespace : "");
	rb_k8s(b, fns ? fns->k8s_podname : "");
	rb_u16(b, (uint16_t)f->nupstream);
	for (size_t i = 0; i < f->nupstream; i++)
		answered += f->upstream[i].answered;
	rb_u16(b, (uint16_t)answered);
	if (u && u->query)
		rb_ev_field(b, ctx, f->capture, u->query, DNSREEL_F_DST);
	else
		rb_str(b, "");
	rb_str(b, u && u->answered ? dnsreel_dns_rcode_text(u->rcode, buf, sizeof(buf)) : "");
	rb_nint64(b, !(u && u->answered && u->latency_ns >= 0), u ? u->latency_ns : 0);
	bool slow = f->slowest_hop >= 0 && (size_t)f->slowest_hop < f->nhops;
	const struct dnsreel_flow_hop *h = slow ? &f->hops[f->slowest_hop] : NULL;
	rb_str(b, h ? dnsreel_flow_role_name(h->role) : "");
	rb_u64(b, h ? h->netns : 0);
	rb_nint64(b, !h, f->slowest_ns);
	b->rows++;
}
