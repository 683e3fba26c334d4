/* mkhostile DIR: a capture whose every string is an attack on an HTML page: the node, the pod
 * and namespace names carry markup and script, the query names carry markup (as DNS label
 * bytes, which presentation format keeps as they are). One answered and one unanswered lookup,
 * so the names reach the tables, the charts and both kinds of sequence diagram. */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "capture.h"
#include "dnsreel.h"

#define S 1000000000LL

/* A query or response for name (labels split at '|', so a label may hold a '.'-free script). */
static size_t dns_msg(uint8_t *m, uint16_t id, bool response, const char *labels)
{
	memset(m, 0, 12);
	m[0] = (uint8_t)(id >> 8);
	m[1] = (uint8_t)id;
	m[2] = response ? 0x81 : 0x01;
	m[3] = response ? 0x80 : 0x00;
	m[5] = 1; /* qdcount */
	size_t n = 12;
	const char *p = labels;
	while (*p) {
		size_t l = strcspn(p, "|");
		m[n++] = (uint8_t)l;
		memcpy(m + n, p, l);
		n += l;
		p += l;
		if (*p == '|')
			p++;
	}
	m[n++] = 0;
	m[n++] = 0;
	m[n++] = 1; /* A */
	m[n++] = 0;
	m[n++] = 1; /* IN */
	return n;
}

static int put(struct dnsreel_capw *w, int64_t ts, uint64_t netns, uint8_t pkt_type, bool resp,
	       uint16_t id, const char *labels)
{
	uint8_t msg[512];
	struct dnsreel_event ev = {
	    .ts_ns = ts,
	    .netns = netns,
	    .ifindex = 2,
	    .pkt_type = pkt_type,
	    .ip_version = 4,
	    .proto = 17,
	};
	const char *client = "10.244.0.66", *server = "10.96.0.10";
	inet_pton(AF_INET, resp ? server : client, ev.src_addr);
	inet_pton(AF_INET, resp ? client : server, ev.dst_addr);
	ev.src_port = resp ? 53 : 40000 + id;
	ev.dst_port = resp ? 40000 + id : 53;
	ev.orig_len = ev.cap_len = (uint32_t)dns_msg(msg, id, resp, labels);
	ev.payload = msg;
	return dnsreel_capw__append(w, &ev);
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: mkhostile DIR\n");
		return 2;
	}
	struct dnsreel_capw *w;
	struct dnsreel_capw_opts wo = {.sz = sizeof(wo), .no_fsync = true};
	int err = dnsreel_capw__open(&w, argv[1], &wo);
	if (err) {
		fprintf(stderr, "mkhostile: %s: %s\n", argv[1], dnsreel_strerror(err));
		return 1;
	}
	struct dnsreel_meta m = {.format_major = DNSREEL_FORMAT_MAJOR,
				 .format_minor = DNSREEL_FORMAT_MINOR,
				 .boot_to_wall_ns = 1764000000 * S,
				 .start_wall_ns = 1764000000 * S + 1000 * S,
				 .snaplen = 65535};
	snprintf(m.node, sizeof(m.node), "<b id=pwn-node>node</b>");
	snprintf(m.capture_id, sizeof(m.capture_id), "hostile");
	struct dnsreel_netns_ctx ns = {.netns = 4026530001, .first_seen_ns = 1000 * S};
	snprintf(ns.k8s_namespace, sizeof(ns.k8s_namespace), "\"><i id=pwn-ns>");
	snprintf(
	    ns.k8s_podname, sizeof(ns.k8s_podname),
	    "<script>document.title='PWNED'</script><img src=x onerror=\"document.title='P'\">");
	snprintf(ns.ips, sizeof(ns.ips), "10.244.0.66");
	err = dnsreel_capw__set_meta(w, &m);
	if (!err)
		err = dnsreel_capw__put_netns(w, &ns);
	/* label bytes: '<', '>', '=', '/', '\'' need no escape in presentation format */
	const char *a = "<img/src/onerror=document['title']='N'>|evil|test";
	const char *b = "<script>document['title']='S'</script>|lost|test";
	int64_t t = 1000 * S + 5 * S;
	if (!err)
		err = put(w, t, ns.netns, DNSREEL_PKT_OUTGOING, false, 0x1111, a);
	if (!err)
		err = put(w, t + 3000000, ns.netns, DNSREEL_PKT_HOST, true, 0x1111, a);
	if (!err)
		err = put(w, t + 100000000, ns.netns, DNSREEL_PKT_OUTGOING, false, 0x2222, b);
	if (!err)
		err = dnsreel_capw__set_counter(w, "lost.ringbuf", 0);
	int cerr = dnsreel_capw__close(w);
	if (err || cerr) {
		fprintf(stderr, "mkhostile: %s\n", dnsreel_strerror(err ? err : cerr));
		return 1;
	}
	return 0;
}
