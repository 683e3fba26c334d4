/* dnstap out (Frame Streams writer over a FILE) and in (reader over a file descriptor, message
 * decoding into capture events). The Frame Streams framing is libfstrm's, the protobuf
 * encoding protobuf-c's code generated from dnstap.proto. */
#include <errno.h>
#include <fstrm.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include "dnsreel.h"
#include "dnstap.h"
#include "dnstap.pb-c.h"

/* ---- writer ------------------------------------------------------------------------------ */

struct dnsreel_dnstap_writer {
	FILE *out;
	bool failed; /* a write to out failed: fstrm only says "failure" */
	struct fstrm_writer *fw;
	char *version;
	uint8_t *buf;
	size_t cap;
};

static fstrm_res w_open(void *obj)
{
	(void)obj;
	return fstrm_res_success;
}

static fstrm_res w_close(void *obj)
{
	struct dnsreel_dnstap_writer *w = obj;
	return fflush(w->out) ? fstrm_res_failure : fstrm_res_success;
}

static fstrm_res w_write(void *obj, const struct iovec *iov, int iovcnt)
{
	struct dnsreel_dnstap_writer *w = obj;
	for (int i = 0; i < iovcnt; i++)
		if (iov[i].iov_len &&
		    fwrite(iov[i].iov_base, 1, iov[i].iov_len, w->out) != iov[i].iov_len) {
			w->failed = true;
			return fstrm_res_failure;
		}
	return fstrm_res_success;
}

int dnsreel_dnstap_writer__new(struct dnsreel_dnstap_writer **out,
			       const struct dnsreel_dnstap_writer_opts *o)
{
	if (!out || !o || o->sz < sizeof(*o) || !o->out)
		return DNSREEL_E_ARG;
	*out = NULL;
	struct dnsreel_dnstap_writer *w = calloc(1, sizeof(*w));
	if (!w)
		return -ENOMEM;
	w->out = o->out;
	if (o->version && !(w->version = strdup(o->version))) {
		free(w);
		return -ENOMEM;
	}
	struct fstrm_writer_options *wo = fstrm_writer_options_init();
	struct fstrm_rdwr *rw = fstrm_rdwr_init(w);
	int err = -ENOMEM;
	if (!wo || !rw)
		goto fail;
	fstrm_rdwr_set_open(rw, w_open);
	fstrm_rdwr_set_close(rw, w_close);
	fstrm_rdwr_set_write(rw, w_write);
	fstrm_writer_options_add_content_type(wo, DNSREEL_DNSTAP_CONTENT_TYPE,
					      strlen(DNSREEL_DNSTAP_CONTENT_TYPE));
	w->fw = fstrm_writer_init(wo, &rw); /* takes rw */
	if (!w->fw)
		goto fail;
	fstrm_writer_options_destroy(&wo);
	if (fstrm_writer_open(w->fw) != fstrm_res_success) {
		fstrm_writer_destroy(&w->fw);
		free(w->version);
		free(w);
		return -EIO;
	}
	*out = w;
	return 0;
fail:
	if (rw)
		fstrm_rdwr_destroy(&rw);
	if (wo)
		fstrm_writer_options_destroy(&wo);
	free(w->version);
	free(w);
	return err;
}

static void set_time(int64_t wall_ns, uint64_t *sec, uint32_t *nsec)
{
	*sec = (uint64_t)(wall_ns / 1000000000);
	*nsec = (uint32_t)(wall_ns % 1000000000);
}

int dnsreel_dnstap_writer__rec(struct dnsreel_dnstap_writer *w, const struct dnsreel_rec *rec,
			       unsigned type, const char *identity)
{
	if (!w || !rec || !rec->ev || type < 1 || type > DNSREEL_DNSTAP_TYPE_MAX)
		return DNSREEL_E_ARG;
	const struct dnsreel_event *ev = rec->ev;
	Dnstap__Dnstap d = DNSTAP__DNSTAP__INIT;
	Dnstap__Message m = DNSTAP__MESSAGE__INIT;
	d.type = DNSTAP__DNSTAP__TYPE__MESSAGE;
	d.message = &m;
	if (identity && identity[0]) {
		d.has_identity = 1;
		d.identity.data = (uint8_t *)identity;
		d.identity.len = strlen(identity);
	}
	if (w->version) {
		d.has_version = 1;
		d.version.data = (uint8_t *)w->version;
		d.version.len = strlen(w->version);
	}
	m.type = (Dnstap__Message__Type)type;
	m.has_socket_family = 1;
	m.socket_family =
	    ev->ip_version == 6 ? DNSTAP__SOCKET_FAMILY__INET6 : DNSTAP__SOCKET_FAMILY__INET;
	m.has_socket_protocol = 1;
	m.socket_protocol =
	    ev->proto == 6 ? DNSTAP__SOCKET_PROTOCOL__TCP : DNSTAP__SOCKET_PROTOCOL__UDP;
	size_t al = ev->ip_version == 6 ? 16 : 4;
	bool response = !(type & 1);
	/* the initiator is the query's source: the response's destination */
	const uint8_t *qa = response ? ev->dst_addr : ev->src_addr;
	const uint8_t *ra = response ? ev->src_addr : ev->dst_addr;
	m.has_query_address = m.has_response_address = 1;
	m.query_address.data = (uint8_t *)qa;
	m.query_address.len = al;
	m.response_address.data = (uint8_t *)ra;
	m.response_address.len = al;
	m.has_query_port = m.has_response_port = 1;
	m.query_port = response ? ev->dst_port : ev->src_port;
	m.response_port = response ? ev->src_port : ev->dst_port;
	ProtobufCBinaryData msg = {rec->msg_len,
				   (uint8_t *)(rec->msg ? rec->msg : (const uint8_t *)"")};
	if (response) {
		m.has_response_time_sec = m.has_response_time_nsec = 1;
		set_time(rec->wall_ns, &m.response_time_sec, &m.response_time_nsec);
		if (rec->latency_ns > 0 && rec->latency_ns < rec->wall_ns) {
			m.has_query_time_sec = m.has_query_time_nsec = 1;
			set_time(rec->wall_ns - rec->latency_ns, &m.query_time_sec,
				 &m.query_time_nsec);
		}
		m.has_response_message = 1;
		m.response_message = msg;
	} else {
		m.has_query_time_sec = m.has_query_time_nsec = 1;
		set_time(rec->wall_ns, &m.query_time_sec, &m.query_time_nsec);
		m.has_query_message = 1;
		m.query_message = msg;
	}
	size_t n = dnstap__dnstap__get_packed_size(&d);
	if (n > w->cap) {
		size_t c = n * 2 > 4096 ? n * 2 : 4096;
		uint8_t *b = realloc(w->buf, c);
		if (!b)
			return -ENOMEM;
		w->buf = b;
		w->cap = c;
	}
	dnstap__dnstap__pack(&d, w->buf);
	/* fstrm_writer_write takes ownership of a buffer it may free later; the copy-free
	 * writev form keeps ours */
	struct iovec iov = {w->buf, n};
	if (fstrm_writer_writev(w->fw, &iov, 1) != fstrm_res_success)
		return -EIO;
	return 0;
}

int dnsreel_dnstap_writer__close(struct dnsreel_dnstap_writer *w)
{
	if (!w)
		return 0;
	int err = 0;
	if (fstrm_writer_close(w->fw) != fstrm_res_success || w->failed || ferror(w->out))
		err = -EIO;
	fstrm_writer_destroy(&w->fw);
	free(w->buf);
	free(w->version);
	free(w);
	return err;
}

static bool is_response(const struct dnsreel_rec *rec)
{
	if (rec->msg_len >= 3)
		return rec->msg[2] & 0x80;
	return rec->ev->pkt_type == DNSREEL_PKT_HOST && rec->ev->src_port == 53;
}

unsigned dnsreel_dnstap_rec_type(const struct dnsreel_rec *rec)
{
	if (rec->ev->flags & DNSREEL_EV_DNSTAP && rec->ev->ifindex >= 1 &&
	    rec->ev->ifindex <= DNSREEL_DNSTAP_TYPE_MAX)
		return rec->ev->ifindex;
	return DNSREEL_DNSTAP_TOOL_QUERY + (is_response(rec) ? 1 : 0);
}

unsigned dnsreel_dnstap_flow_type(const struct dnsreel_flow *f, size_t i)
{
	const struct dnsreel_rec *rec = &f->events[i];
	if (rec->ev->flags & DNSREEL_EV_DNSTAP)
		return dnsreel_dnstap_rec_type(rec);
	uint16_t id = rec->msg_len >= 2 ? (uint16_t)(rec->msg[0] << 8 | rec->msg[1]) : 0;
	bool client = false, upstream = false;
	for (size_t h = 0; h < f->nhops; h++) {
		const struct dnsreel_flow_hop *p = &f->hops[h];
		if (p->capture != rec->capture || p->netns != rec->ev->netns || p->id != id)
			continue;
		if (p->transaction)
			upstream = true;
		else
			client = true;
	}
	/* the same id at the same place in both: the client's, the flow's own transaction */
	unsigned base =
	    upstream && !client ? DNSREEL_DNSTAP_FORWARDER_QUERY : DNSREEL_DNSTAP_CLIENT_QUERY;
	return base + (is_response(rec) ? 1 : 0);
}

/* ---- messages in --------------------------------------------------------------------------- */

void dnsreel_dnstap_msg__free(struct dnsreel_dnstap_msg *m)
{
	if (m && m->priv) {
		dnstap__dnstap__free_unpacked(m->priv, NULL);
		m->priv = NULL;
	}
}

static bool get_time(protobuf_c_boolean has_sec, uint64_t sec, protobuf_c_boolean has_nsec,
		     uint32_t nsec, int64_t *out)
{
	/* up to the year 2262: the range of int64 ns */
	if (!has_sec || sec > 9223372035ull || (has_nsec && nsec >= 1000000000u))
		return false;
	*out = (int64_t)sec * 1000000000 + (has_nsec ? (int64_t)nsec : 0);
	return true;
}

static void set_addr(uint8_t dst[16], const ProtobufCBinaryData *a, protobuf_c_boolean has)
{
	memset(dst, 0, 16);
	if (has && (a->len == 4 || a->len == 16))
		memcpy(dst, a->data, a->len);
}

#define PERR(...) (snprintf(err, errlen, __VA_ARGS__), DNSREEL_E_PARSE)

int dnsreel_dnstap_msg__decode(struct dnsreel_dnstap_msg *m, const uint8_t *buf, size_t len,
			       int64_t boot_to_wall_ns, char *err, size_t errlen)
{
	if (!m || (!buf && len))
		return DNSREEL_E_ARG;
	dnsreel_dnstap_msg__free(m);
	memset(m, 0, sizeof(*m));
	Dnstap__Dnstap *d = dnstap__dnstap__unpack(NULL, len, buf);
	if (!d)
		return PERR("not a dnstap protobuf message (%zu bytes)", len);
	m->priv = d;
	if (d->type != DNSTAP__DNSTAP__TYPE__MESSAGE || !d->message)
		return PERR("dnstap payload type %d holds no Message", (int)d->type);
	const Dnstap__Message *dm = d->message;
	unsigned type = (unsigned)dm->type;
	if (type < 1 || type > DNSREEL_DNSTAP_TYPE_MAX)
		return PERR("unknown dnstap message type %u", type);
	m->type = type;
	if (d->has_identity && d->identity.len) { /* an empty one has no data pointer */
		size_t n = d->identity.len < sizeof(m->identity) - 1 ? d->identity.len
								     : sizeof(m->identity) - 1;
		memcpy(m->identity, d->identity.data, n);
		/* identity is text for people; a NUL inside would hide the rest */
		for (size_t i = 0; i < n; i++)
			if (!m->identity[i])
				m->identity[i] = '?';
	}
	bool response = !(type & 1);
	int64_t qt = 0, rt = 0;
	bool hq = get_time(dm->has_query_time_sec, dm->query_time_sec, dm->has_query_time_nsec,
			   dm->query_time_nsec, &qt);
	bool hr = get_time(dm->has_response_time_sec, dm->response_time_sec,
			   dm->has_response_time_nsec, dm->response_time_nsec, &rt);
	if (!hq && !hr)
		return PERR("%s message without a valid time", dnsreel_dnstap_type_name(type));
	m->wall_ns = response ? (hr ? rt : qt) : (hq ? qt : rt);
	m->query_wall_ns = hq ? qt : 0;
	const ProtobufCBinaryData *msg = NULL;
	if (response ? dm->has_response_message : dm->has_query_message)
		msg = response ? &dm->response_message : &dm->query_message;
	else if (response ? dm->has_query_message : dm->has_response_message)
		msg = response ? &dm->query_message : &dm->response_message;
	if (!msg)
		return PERR("%s message without a DNS message", dnsreel_dnstap_type_name(type));
	if (msg->len > UINT32_MAX || !msg->len)
		return PERR("DNS message of %zu bytes", msg->len);

	struct dnsreel_event *ev = &m->ev;
	/* wall_ns is in [0, INT64_MAX]: the difference overflows only past these bounds */
	if ((boot_to_wall_ns < 0 && m->wall_ns > INT64_MAX + boot_to_wall_ns) ||
	    (boot_to_wall_ns > 0 && m->wall_ns < INT64_MIN + boot_to_wall_ns))
		return PERR("time out of range");
	ev->ts_ns = m->wall_ns - boot_to_wall_ns;
	ev->pkt_type = DNSREEL_PKT_DNSTAP;
	ev->ifindex = type;
	ev->flags = DNSREEL_EV_DNSTAP;
	size_t ql = dm->has_query_address ? dm->query_address.len : 0;
	size_t rl = dm->has_response_address ? dm->response_address.len : 0;
	if (dm->has_socket_family)
		ev->ip_version = dm->socket_family == DNSTAP__SOCKET_FAMILY__INET6 ? 6 : 4;
	else
		ev->ip_version = ql == 16 || rl == 16 ? 6 : 4;
	size_t want = ev->ip_version == 6 ? 16 : 4;
	if ((ql && ql != want) || (rl && rl != want))
		return PERR("address of %zu bytes for IPv%u", ql && ql != want ? ql : rl,
			    ev->ip_version);
	/* DoT and DoH ride on TCP, DoQ and DNSCrypt over UDP on UDP */
	ev->proto = 17;
	if (dm->has_socket_protocol &&
	    (dm->socket_protocol == DNSTAP__SOCKET_PROTOCOL__TCP ||
	     dm->socket_protocol == DNSTAP__SOCKET_PROTOCOL__DOT ||
	     dm->socket_protocol == DNSTAP__SOCKET_PROTOCOL__DOH ||
	     dm->socket_protocol == DNSTAP__SOCKET_PROTOCOL__DNSCryptTCP))
		ev->proto = 6;
	if ((dm->has_query_port && dm->query_port > 65535) ||
	    (dm->has_response_port && dm->response_port > 65535))
		return PERR("port number over 65535");
	uint16_t qp = dm->has_query_port ? (uint16_t)dm->query_port : 0;
	uint16_t rp = dm->has_response_port ? (uint16_t)dm->response_port : 0;
	/* src and dst as the packet went: a response goes from responder to initiator */
	set_addr(response ? ev->dst_addr : ev->src_addr, &dm->query_address, dm->has_query_address);
	set_addr(response ? ev->src_addr : ev->dst_addr, &dm->response_address,
		 dm->has_response_address);
	ev->src_port = response ? rp : qp;
	ev->dst_port = response ? qp : rp;
	memcpy(ev->comm, m->identity, sizeof(ev->comm) - 1);
	ev->orig_len = ev->cap_len = (uint32_t)msg->len;
	ev->payload = msg->data;
	return 0;
}

/* ---- Frame Streams reader ------------------------------------------------------------------ */

struct dnsreel_dnstap_reader {
	int fd;
	uint64_t off; /* bytes consumed from fd */
	bool eof_mid; /* the stream ended inside a read */
	struct fstrm_reader *fr;
};

static fstrm_res r_open(void *obj)
{
	(void)obj;
	return fstrm_res_success;
}

static fstrm_res r_read(void *obj, void *data, size_t count)
{
	struct dnsreel_dnstap_reader *r = obj;
	size_t got = 0;
	while (got < count) {
		ssize_t n = read(r->fd, (uint8_t *)data + got, count - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return fstrm_res_failure;
		if (n == 0) {
			if (got)
				r->eof_mid = true;
			return got ? fstrm_res_failure : fstrm_res_stop;
		}
		got += (size_t)n;
		r->off += (uint64_t)n;
	}
	return fstrm_res_success;
}

static fstrm_res r_write(void *obj, const struct iovec *iov, int iovcnt)
{
	struct dnsreel_dnstap_reader *r = obj;
	for (int i = 0; i < iovcnt; i++) {
		size_t done = 0;
		while (done < iov[i].iov_len) {
			ssize_t n = write(r->fd, (const uint8_t *)iov[i].iov_base + done,
					  iov[i].iov_len - done);
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0)
				return fstrm_res_failure;
			done += (size_t)n;
		}
	}
	return fstrm_res_success;
}

static int rerr(struct dnsreel_dnstap_reader *r, const char *what, char *err, size_t errlen)
{
	if (r->off == 0) {
		snprintf(err, errlen, "%s: the stream is empty", what);
		return DNSREEL_E_TRUNCATED;
	}
	if (r->eof_mid) {
		snprintf(err, errlen, "%s: the stream ends inside a frame at byte offset %llu",
			 what, (unsigned long long)r->off);
		return DNSREEL_E_TRUNCATED;
	}
	snprintf(err, errlen, "%s: not valid Frame Streams at byte offset %llu", what,
		 (unsigned long long)r->off);
	return DNSREEL_E_CORRUPT;
}

int dnsreel_dnstap_reader__open(struct dnsreel_dnstap_reader **out, int fd, bool bidirectional,
				char *err, size_t errlen)
{
	if (!out || fd < 0)
		return DNSREEL_E_ARG;
	*out = NULL;
	struct dnsreel_dnstap_reader *r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	r->fd = fd;
	struct fstrm_reader_options *ro = fstrm_reader_options_init();
	struct fstrm_rdwr *rw = fstrm_rdwr_init(r);
	if (!ro || !rw) {
		if (rw)
			fstrm_rdwr_destroy(&rw);
		if (ro)
			fstrm_reader_options_destroy(&ro);
		free(r);
		return -ENOMEM;
	}
	fstrm_rdwr_set_open(rw, r_open);
	fstrm_rdwr_set_close(rw, r_open);
	fstrm_rdwr_set_read(rw, r_read);
	if (bidirectional)
		fstrm_rdwr_set_write(rw, r_write);
	fstrm_reader_options_add_content_type(ro, DNSREEL_DNSTAP_CONTENT_TYPE,
					      strlen(DNSREEL_DNSTAP_CONTENT_TYPE));
	r->fr = fstrm_reader_init(ro, &rw);
	fstrm_reader_options_destroy(&ro);
	if (!r->fr) {
		fstrm_rdwr_destroy(&rw);
		free(r);
		return -ENOMEM;
	}
	if (fstrm_reader_open(r->fr) != fstrm_res_success) {
		int e = rerr(r,
			     "Frame Streams header (control frames up to START, content "
			     "type " DNSREEL_DNSTAP_CONTENT_TYPE ")",
			     err, errlen);
		dnsreel_dnstap_reader__close(r);
		return e;
	}
	*out = r;
	return 0;
}

int dnsreel_dnstap_reader__next(struct dnsreel_dnstap_reader *r, const uint8_t **data, size_t *len,
				uint64_t *offset, char *err, size_t errlen)
{
	if (!r || !data || !len)
		return DNSREEL_E_ARG;
	uint64_t start = r->off;
	/* libfstrm can report success without filling these (a stray control frame in the
	 * middle of the stream): what it did not fill is damage, never read */
	*data = NULL;
	*len = 0;
	fstrm_res res = fstrm_reader_read(r->fr, data, len);
	if (res == fstrm_res_success && !*data) {
		snprintf(err, errlen,
			 "frame at byte offset %llu: a control frame where data was "
			 "expected",
			 (unsigned long long)start);
		return DNSREEL_E_CORRUPT;
	}
	if (res == fstrm_res_stop)
		return 0;
	if (res != fstrm_res_success) {
		char what[64];
		snprintf(what, sizeof(what), "frame at byte offset %llu",
			 (unsigned long long)start);
		return rerr(r, what, err, errlen);
	}
	if (offset)
		*offset = start;
	return 1;
}

void dnsreel_dnstap_reader__close(struct dnsreel_dnstap_reader *r)
{
	if (!r)
		return;
	/* a handshaked stream is answered with FINISH by close; a file needs nothing */
	fstrm_reader_destroy(&r->fr);
	free(r);
}
