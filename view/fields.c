/* The trace_dns field table and the value of each field for a decoded record.
 *
 * Names, headers and widths follow trace_dns (gadget.yaml annotations and the templates of
 * Inspektor Gadget's metadata: endpoints 40 wide, k8s names 30, timestamp 35, qr 2, rcode 8,
 * name 30, pid right-aligned 7, uid/gid 8, netns 12; unannotated columns 16).
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "ctx_priv.h"
#include "dnsreel.h"
#include "view.h"

#define S DNSREEL_FT_STR
#define I DNSREEL_FT_INT
#define B DNSREEL_FT_BOOL

static const struct dnsreel_field_def defs[DNSREEL_F_COUNT_] = {
    {DNSREEL_F_TIMESTAMP, "timestamp", "TIMESTAMP", S, 35, false},
    {DNSREEL_F_K8S_NODE, "k8s.node", "K8S.NODE", S, 30, false},
    {DNSREEL_F_K8S_NAMESPACE, "k8s.namespace", "K8S.NAMESPACE", S, 30, false},
    {DNSREEL_F_K8S_PODNAME, "k8s.podname", "K8S.PODNAME", S, 30, false},
    {DNSREEL_F_K8S_CONTAINERNAME, "k8s.containername", "K8S.CONTAINERNAME", S, 30, false},
    {DNSREEL_F_RUNTIME_CONTAINERNAME, "runtime.containername", "RUNTIME.CONTAINERNAME", S, 30,
     false},
    {DNSREEL_F_RUNTIME_CONTAINERID, "runtime.containerid", "RUNTIME.CONTAINERID", S, 30, false},
    {DNSREEL_F_NETNS_ID, "netns_id", "NETNS_ID", I, 12, true},
    {DNSREEL_F_IFINDEX, "ifindex", "IFINDEX", I, 7, true},
    {DNSREEL_F_PKT_TYPE, "pkt_type", "PKT_TYPE", S, 10, false},
    {DNSREEL_F_PROTO, "proto", "PROTO", S, 5, false},
    {DNSREEL_F_SRC, "src", "SRC", S, 40, false},
    {DNSREEL_F_DST, "dst", "DST", S, 40, false},
    {DNSREEL_F_SRC_ADDR, "src.addr", "SRC.ADDR", S, 39, false},
    {DNSREEL_F_SRC_PORT, "src.port", "SRC.PORT", I, 8, true},
    {DNSREEL_F_DST_ADDR, "dst.addr", "DST.ADDR", S, 39, false},
    {DNSREEL_F_DST_PORT, "dst.port", "DST.PORT", I, 8, true},
    {DNSREEL_F_NAMESERVER, "nameserver", "NAMESERVER", S, 16, false},
    {DNSREEL_F_COMM, "comm", "COMM", S, 16, false},
    {DNSREEL_F_PID, "pid", "PID", I, 7, true},
    {DNSREEL_F_TID, "tid", "TID", I, 7, true},
    {DNSREEL_F_UID, "uid", "UID", I, 8, true},
    {DNSREEL_F_GID, "gid", "GID", I, 8, true},
    {DNSREEL_F_ID, "id", "ID", S, 16, false},
    {DNSREEL_F_QR, "qr", "QR", S, 2, false},
    {DNSREEL_F_OPCODE, "opcode", "OPCODE", S, 8, false},
    {DNSREEL_F_QTYPE, "qtype", "QTYPE", S, 16, false},
    {DNSREEL_F_NAME, "name", "NAME", S, 30, false},
    {DNSREEL_F_RCODE, "rcode", "RCODE", S, 8, false},
    {DNSREEL_F_ADDRESSES, "addresses", "ADDRESSES", S, 16, false},
    {DNSREEL_F_NUM_ANSWERS, "num_answers", "NUM_ANSWERS", I, 16, false},
    {DNSREEL_F_LATENCY_NS, "latency_ns", "LATENCY_NS", I, 8, false},
    {DNSREEL_F_TC, "tc", "TC", B, 16, false},
    {DNSREEL_F_RD, "rd", "RD", B, 16, false},
    {DNSREEL_F_RA, "ra", "RA", B, 16, false},
    {DNSREEL_F_AA, "aa", "AA", B, 16, false},
    {DNSREEL_F_AD, "ad", "AD", B, 16, false},
    {DNSREEL_F_CD, "cd", "CD", B, 16, false},
    {DNSREEL_F_SIZE, "size", "SIZE", I, 7, true},
    {DNSREEL_F_CAPTURE, "capture", "CAPTURE", S, 30, false},
    {DNSREEL_F_SEGMENT, "segment", "SEGMENT", I, 7, true},
    {DNSREEL_F_OBSERVATION, "observation", "OBSERVATION", S, 11, false},
    {DNSREEL_F_DNSTAP_TYPE, "dnstap.type", "DNSTAP.TYPE", S, 18, false},
    {DNSREEL_F_DNSTAP_IDENTITY, "dnstap.identity", "DNSTAP.IDENTITY", S, 16, false},
};

static const char *const dnstap_types[] = {
    "",
    "AUTH_QUERY",
    "AUTH_RESPONSE",
    "RESOLVER_QUERY",
    "RESOLVER_RESPONSE",
    "CLIENT_QUERY",
    "CLIENT_RESPONSE",
    "FORWARDER_QUERY",
    "FORWARDER_RESPONSE",
    "STUB_QUERY",
    "STUB_RESPONSE",
    "TOOL_QUERY",
    "TOOL_RESPONSE",
    "UPDATE_QUERY",
    "UPDATE_RESPONSE",
};

const char *dnsreel_dnstap_type_name(unsigned type)
{
	return type < sizeof(dnstap_types) / sizeof(dnstap_types[0]) ? dnstap_types[type] : "";
}

#undef S
#undef I
#undef B

const struct dnsreel_field_def *dnsreel_fields(size_t *count)
{
	if (count)
		*count = DNSREEL_F_COUNT_;
	return defs;
}

/* Other spellings trace_dns users type: its JSON paths and the _raw twins. */
static const struct {
	const char *name;
	enum dnsreel_field_id id;
} aliases[] = {
    {"timestamp_raw", DNSREEL_F_TIMESTAMP},
    {"k8s.pod", DNSREEL_F_K8S_PODNAME},
    {"k8s.container", DNSREEL_F_K8S_CONTAINERNAME},
    {"netns", DNSREEL_F_NETNS_ID},
    {"pkt_type_raw", DNSREEL_F_PKT_TYPE},
    {"src.proto", DNSREEL_F_PROTO},
    {"dst.proto", DNSREEL_F_PROTO},
    {"nameserver.addr", DNSREEL_F_NAMESERVER},
    {"proc.comm", DNSREEL_F_COMM},
    {"proc.pid", DNSREEL_F_PID},
    {"proc.tid", DNSREEL_F_TID},
    {"proc.creds.uid", DNSREEL_F_UID},
    {"proc.creds.gid", DNSREEL_F_GID},
    {"task", DNSREEL_F_COMM},
    {"qr_raw", DNSREEL_F_QR},
    {"qtype_raw", DNSREEL_F_QTYPE},
    {"rcode_raw", DNSREEL_F_RCODE},
    {"latency_ns_raw", DNSREEL_F_LATENCY_NS},
    {"latency", DNSREEL_F_LATENCY_NS},
};

/* Compares ignoring case and treating '.' and '_' as the same character. */
static bool name_eq(const char *a, const char *b)
{
	for (;; a++, b++) {
		char x = *a, y = *b;
		if (x >= 'A' && x <= 'Z')
			x = (char)(x - 'A' + 'a');
		if (y >= 'A' && y <= 'Z')
			y = (char)(y - 'A' + 'a');
		if (x == '_')
			x = '.';
		if (y == '_')
			y = '.';
		if (x != y)
			return false;
		if (!x)
			return true;
	}
}

const struct dnsreel_field_def *dnsreel_field_find(const char *name)
{
	if (!name)
		return NULL;
	for (size_t i = 0; i < DNSREEL_F_COUNT_; i++)
		if (name_eq(defs[i].name, name))
			return &defs[i];
	for (size_t i = 0; i < sizeof(aliases) / sizeof(aliases[0]); i++)
		if (name_eq(aliases[i].name, name))
			return &defs[aliases[i].id];
	return NULL;
}

/* ---- values ------------------------------------------------------------------------------- */

static void set_str(struct dnsreel_value *v, const char *s)
{
	v->type = DNSREEL_FT_STR;
	v->s = s;
	v->len = strlen(s);
}

static void set_null(struct dnsreel_value *v, enum dnsreel_ftype t)
{
	v->type = t;
	v->null = true;
	v->s = "";
	v->len = 0;
}

static size_t fmt_i64(char *buf, int64_t x)
{
	char t[24];
	size_t n = 0;
	uint64_t u = x < 0 ? (uint64_t)0 - (uint64_t)x : (uint64_t)x;
	do {
		t[n++] = (char)('0' + u % 10);
		u /= 10;
	} while (u);
	size_t o = 0;
	if (x < 0)
		buf[o++] = '-';
	while (n)
		buf[o++] = t[--n];
	buf[o] = 0;
	return o;
}

static void set_int(struct dnsreel_value *v, int64_t x, char *buf, size_t buflen)
{
	v->type = DNSREEL_FT_INT;
	v->i = x;
	if (buflen >= 24) {
		v->len = fmt_i64(buf, x);
		v->s = buf;
	} else {
		v->s = NULL;
		v->len = 0;
	}
}

static void set_bool(struct dnsreel_value *v, bool x)
{
	v->type = DNSREEL_FT_BOOL;
	v->i = x;
	v->s = x ? "true" : "false";
	v->len = x ? 4 : 5;
}

static void set_k8s(struct dnsreel_value *v, const char *s)
{
	if (s && *s)
		set_str(v, s);
	else
		set_null(v, DNSREEL_FT_STR);
}

/* src/dst as trace_dns renders endpoints: p/NS/POD:PORT, s/NS/SVC:PORT, else IP:PORT. */
static void endpoint_text(const struct dnsreel_rec *rec, bool src, char *buf, size_t buflen,
			  struct dnsreel_value *v)
{
	const struct dnsreel_event *ev = rec->ev;
	const uint8_t *a = src ? ev->src_addr : ev->dst_addr;
	uint16_t port = src ? ev->src_port : ev->dst_port;
	struct dnsreel_endpoint ep;
	dnsreel_ctx__endpoint_at(rec->ctx, rec->capture, ev->ip_version, a, port, ev->ts_ns, &ep);
	if (ep.kind) {
		size_t nl = strlen(ep.k8s_namespace), pl = strlen(ep.name);
		if (nl + pl + 12 <= buflen) {
			char *o = buf;
			*o++ = ep.kind;
			*o++ = '/';
			memcpy(o, ep.k8s_namespace, nl);
			o += nl;
			*o++ = '/';
			memcpy(o, ep.name, pl);
			o += pl;
			*o++ = ':';
			o += fmt_i64(o, port);
			v->type = DNSREEL_FT_STR;
			v->s = buf;
			v->len = (size_t)(o - buf);
			return;
		}
	}
	if (buflen < 64) {
		set_str(v, "");
		return;
	}
	v->type = DNSREEL_FT_STR;
	v->len = dnsreel_addr_text(ev->ip_version, a, port, buf);
	v->s = buf;
}

void dnsreel_rec__value(const struct dnsreel_rec *rec, enum dnsreel_field_id f,
			struct dnsreel_value *v, char *buf, size_t buflen)
{
	const struct dnsreel_event *ev = rec->ev;
	const struct dnsreel_netns_ctx *ns = rec->ns;
	const struct dnsreel_dns *d = &rec->dns;
	bool parsed_header = rec->msg_len >= 12;
	bool proc = ev && (ev->flags & DNSREEL_EV_PROC);

	v->type = DNSREEL_FT_STR;
	v->i = 0;
	v->has_raw = false;
	v->null = false;
	v->s = "";
	v->len = 0;

	switch (f) {
	case DNSREEL_F_TIMESTAMP:
		v->has_raw = true;
		v->i = rec->wall_ns;
		if (buflen >= 32 && dnsreel_format_time(rec->wall_ns, buf, buflen) > 0) {
			v->s = buf;
			v->len = strlen(buf);
		}
		v->i = rec->wall_ns;
		return;
	case DNSREEL_F_K8S_NODE:
		set_k8s(v, dnsreel_ctx__node(rec->ctx, rec->capture));
		return;
	case DNSREEL_F_K8S_NAMESPACE:
		set_k8s(v, ns ? ns->k8s_namespace : NULL);
		return;
	case DNSREEL_F_K8S_PODNAME:
		set_k8s(v, ns ? ns->k8s_podname : NULL);
		return;
	case DNSREEL_F_K8S_CONTAINERNAME:
		set_k8s(v, ns ? ns->k8s_containername : NULL);
		return;
	case DNSREEL_F_RUNTIME_CONTAINERNAME:
		set_k8s(v, ns ? ns->runtime_containername : NULL);
		return;
	case DNSREEL_F_RUNTIME_CONTAINERID:
		set_k8s(v, ns ? ns->runtime_containerid : NULL);
		return;
	case DNSREEL_F_CAPTURE:
		set_k8s(v, dnsreel_ctx__path(rec->ctx, rec->capture));
		return;
	case DNSREEL_F_SEGMENT:
		set_int(v, rec->segment, buf, buflen);
		return;
	default:
		break;
	}
	if (!ev) {
		set_null(v, defs[f].type);
		return;
	}
	switch (f) {
	case DNSREEL_F_NETNS_ID:
		set_int(v, (int64_t)ev->netns, buf, buflen);
		return;
	case DNSREEL_F_IFINDEX:
		set_int(v, ev->ifindex, buf, buflen);
		return;
	case DNSREEL_F_OBSERVATION:
		set_str(v, ev->flags & DNSREEL_EV_DNSTAP ? "dnstap" : "wire");
		return;
	case DNSREEL_F_DNSTAP_TYPE:
		set_str(v,
			ev->flags & DNSREEL_EV_DNSTAP ? dnsreel_dnstap_type_name(ev->ifindex) : "");
		v->has_raw = true;
		v->i = ev->flags & DNSREEL_EV_DNSTAP ? ev->ifindex : 0;
		return;
	case DNSREEL_F_DNSTAP_IDENTITY:
		set_str(v, "");
		if (ev->flags & DNSREEL_EV_DNSTAP) {
			v->s = ev->comm;
			v->len = strnlen(ev->comm, sizeof(ev->comm));
		}
		return;
	case DNSREEL_F_PKT_TYPE:
		set_str(v, dnsreel_pkt_type_name(ev->pkt_type));
		v->has_raw = true;
		v->i = ev->pkt_type;
		return;
	case DNSREEL_F_PROTO:
		set_str(v, ev->proto == 6 ? "TCP" : ev->proto == 17 ? "UDP" : "");
		v->has_raw = true;
		v->i = ev->proto;
		return;
	case DNSREEL_F_SRC:
	case DNSREEL_F_DST:
		endpoint_text(rec, f == DNSREEL_F_SRC, buf, buflen, v);
		return;
	case DNSREEL_F_SRC_ADDR:
	case DNSREEL_F_DST_ADDR:
	case DNSREEL_F_NAMESERVER: {
		bool src = f == DNSREEL_F_SRC_ADDR || (f == DNSREEL_F_NAMESERVER && d->qr);
		if (buflen < 64)
			return;
		v->len =
		    dnsreel_addr_text(ev->ip_version, src ? ev->src_addr : ev->dst_addr, -1, buf);
		v->s = buf;
		return;
	}
	case DNSREEL_F_SRC_PORT:
		set_int(v, ev->src_port, buf, buflen);
		return;
	case DNSREEL_F_DST_PORT:
		set_int(v, ev->dst_port, buf, buflen);
		return;
	case DNSREEL_F_COMM:
		if (!proc) {
			set_null(v, DNSREEL_FT_STR);
			return;
		}
		v->s = ev->comm;
		v->len = strnlen(ev->comm, sizeof(ev->comm));
		return;
	case DNSREEL_F_PID:
	case DNSREEL_F_TID:
	case DNSREEL_F_UID:
	case DNSREEL_F_GID:
		if (!proc) {
			set_null(v, DNSREEL_FT_INT);
			return;
		}
		set_int(v,
			f == DNSREEL_F_PID   ? ev->pid
			: f == DNSREEL_F_TID ? ev->tid
			: f == DNSREEL_F_UID ? ev->uid
					     : ev->gid,
			buf, buflen);
		return;
	case DNSREEL_F_SIZE:
		set_int(v, ev->proto == 6 ? rec->msg_len : ev->orig_len, buf, buflen);
		return;
	case DNSREEL_F_LATENCY_NS:
		set_int(v, rec->latency_ns, buf, buflen);
		return;
	default:
		break;
	}
	/* DNS fields: null when the message did not have them */
	if (!parsed_header) {
		set_null(v, defs[f].type);
		return;
	}
	switch (f) {
	case DNSREEL_F_ID: {
		static const char hex[] = "0123456789abcdef";
		if (buflen < 5)
			return;
		buf[0] = hex[d->id >> 12];
		buf[1] = hex[(d->id >> 8) & 15];
		buf[2] = hex[(d->id >> 4) & 15];
		buf[3] = hex[d->id & 15];
		buf[4] = 0;
		v->s = buf;
		v->len = 4;
		v->has_raw = true;
		v->i = d->id;
		return;
	}
	case DNSREEL_F_QR:
		set_str(v, d->qr ? "R" : "Q");
		v->has_raw = true;
		v->i = d->qr;
		return;
	case DNSREEL_F_OPCODE: {
		const char *n = dnsreel_dns_opcode_name(d->opcode);
		if (n)
			set_str(v, n);
		else if (buflen >= 24)
			set_int(v, d->opcode, buf, buflen);
		v->type = DNSREEL_FT_STR;
		v->has_raw = true;
		v->i = d->opcode;
		return;
	}
	case DNSREEL_F_QTYPE: {
		if (!d->has_question) {
			set_null(v, DNSREEL_FT_STR);
			return;
		}
		const char *n = dnsreel_dns_type_name(d->qtype);
		if (n)
			set_str(v, n);
		else if (buflen >= 24)
			set_int(v, d->qtype, buf, buflen);
		v->type = DNSREEL_FT_STR;
		v->has_raw = true;
		v->i = d->qtype;
		return;
	}
	case DNSREEL_F_NAME:
		/* a question name that does not decode is unknown, not "" (the parser marked it) */
		if (!d->has_question || d->qname_bad) {
			set_null(v, DNSREEL_FT_STR);
			return;
		}
		set_str(v, d->qname);
		return;
	case DNSREEL_F_RCODE: {
		if (!d->qr) {
			set_null(v, DNSREEL_FT_STR);
			return;
		}
		const char *n = dnsreel_dns_rcode_name(d->rcode);
		if (n)
			set_str(v, n);
		else if (buflen >= 24)
			set_int(v, d->rcode, buf, buflen);
		v->type = DNSREEL_FT_STR;
		v->has_raw = true;
		v->i = d->rcode;
		return;
	}
	case DNSREEL_F_ADDRESSES:
		set_str(v, d->addresses);
		return;
	case DNSREEL_F_NUM_ANSWERS:
		set_int(v, d->num_answers, buf, buflen);
		return;
	case DNSREEL_F_TC:
		set_bool(v, d->tc);
		return;
	case DNSREEL_F_RD:
		set_bool(v, d->rd);
		return;
	case DNSREEL_F_RA:
		set_bool(v, d->ra);
		return;
	case DNSREEL_F_AA:
		set_bool(v, d->aa);
		return;
	case DNSREEL_F_AD:
		set_bool(v, d->ad);
		return;
	case DNSREEL_F_CD:
		set_bool(v, d->cd);
		return;
	default:
		set_null(v, DNSREEL_FT_STR);
		return;
	}
}
