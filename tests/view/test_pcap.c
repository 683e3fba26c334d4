/* The decoder on real kernel traffic, independent of the capture format: the tcpdump pcaps of
 * the lab run (tests/data/lab-basic.pcap, LINUX_SLL2) are turned into events (one netns per
 * file, interface and packet type from the SLL2 header) and decoded. Every DNS message must
 * come out (as many as tshark decodes; given as the first argument), none damaged, the 2.3 KB
 * TCP answer reassembled, and every answer at the app pod matched to its query.
 * Usage: test_pcap WANT FILE.pcap... (WANT < 0: do not check the count) */
#include <stdint.h>

#include "check.h"
#include "dnsreel.h"
#include "view.h"

struct stats {
	int recs, errs, tcp, v6, big, resp, resp_lat;
};

static int on_rec(void *arg, const struct dnsreel_rec *rec)
{
	struct stats *st = arg;
	st->recs++;
	if (rec->dns.err) {
		fprintf(stderr, "message %d: parse error %d at %u (%s)\n", st->recs, rec->dns.err,
			rec->dns.err_off, rec->dns.err_what);
		st->errs++;
	}
	st->tcp += rec->ev->proto == 6;
	st->v6 += rec->ev->ip_version == 6;
	st->big += rec->dns.qr && rec->msg_len > 2000;
	if (rec->dns.qr) {
		st->resp++;
		st->resp_lat += rec->latency_ns > 0;
	}
	return 0;
}

static uint16_t be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* One SLL2 frame to an event; false when it is not IPv4/IPv6 UDP/TCP on port 53. */
static bool to_event(const uint8_t *p, size_t n, struct dnsreel_event *e)
{
	if (n < 20)
		return false;
	uint16_t proto = be16(p);
	e->ifindex = be32(p + 4);
	e->pkt_type = p[10];
	p += 20;
	n -= 20;
	size_t l4off;
	uint8_t l4;
	if (proto == 0x0800 && n >= 20 && (p[0] >> 4) == 4) {
		size_t ihl = (size_t)(p[0] & 15) * 4;
		size_t tot = be16(p + 2);
		if (ihl < 20 || tot > n || tot < ihl)
			return false;
		n = tot;
		e->ip_version = 4;
		l4 = p[9];
		memcpy(e->src_addr, p + 12, 4);
		memcpy(e->dst_addr, p + 16, 4);
		l4off = ihl;
	} else if (proto == 0x86dd && n >= 40 && (p[0] >> 4) == 6) {
		size_t pl = be16(p + 4);
		if (40 + pl > n)
			return false;
		n = 40 + pl;
		e->ip_version = 6;
		l4 = p[6]; /* the lab sends no extension headers */
		memcpy(e->src_addr, p + 8, 16);
		memcpy(e->dst_addr, p + 24, 16);
		l4off = 40;
	} else {
		return false;
	}
	const uint8_t *t = p + l4off;
	size_t tn = n - l4off;
	if (l4 == 17 && tn >= 8) {
		e->proto = 17;
		e->src_port = be16(t);
		e->dst_port = be16(t + 2);
		e->payload = t + 8;
		e->cap_len = e->orig_len = (uint32_t)(tn - 8);
	} else if (l4 == 6 && tn >= 20) {
		size_t doff = (size_t)(t[12] >> 4) * 4;
		if (doff < 20 || doff > tn)
			return false;
		e->proto = 6;
		e->src_port = be16(t);
		e->dst_port = be16(t + 2);
		e->tcp_seq = be32(t + 4);
		e->tcp_flags = t[13];
		e->payload = t + doff;
		e->cap_len = e->orig_len = (uint32_t)(tn - doff);
	} else {
		return false;
	}
	return e->src_port == 53 || e->dst_port == 53;
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: test_pcap WANT FILE.pcap...\n");
		return 2;
	}
	int want = atoi(argv[1]);
	struct stats st;
	memset(&st, 0, sizeof(st));
	int app_resp = -1, app_lat = -1;
	for (int a = 2; a < argc; a++) {
		size_t len;
		uint8_t *f = check_read_file(argv[a], &len);
		if (!f || len < 24 || be32(f) == 0xa1b2c3d4 || (f[0] != 0xd4 && f[0] != 0x4d)) {
			/* little-endian pcap only (what tcpdump writes here) */
			fprintf(stderr, "%s: not a little-endian pcap\n", argv[a]);
			check_failures++;
			free(f);
			continue;
		}
		bool nano = f[0] == 0x4d;
		uint32_t linktype = f[20] | f[21] << 8 | f[22] << 16 | (uint32_t)f[23] << 24;
		CHECK_INT(linktype, 276); /* LINUX_SLL2 */
		struct dnsreel_decoder *d = NULL;
		CHECK_INT(dnsreel_decoder__new(&d, NULL, NULL), 0);
		struct stats fs;
		memset(&fs, 0, sizeof(fs));
		for (size_t off = 24; off + 16 <= len;) {
			const uint8_t *h = f + off;
			uint32_t sec = h[0] | h[1] << 8 | h[2] << 16 | (uint32_t)h[3] << 24;
			uint32_t sub = h[4] | h[5] << 8 | h[6] << 16 | (uint32_t)h[7] << 24;
			uint32_t incl = h[8] | h[9] << 8 | h[10] << 16 | (uint32_t)h[11] << 24;
			if (off + 16 + incl > len)
				break;
			struct dnsreel_event e;
			memset(&e, 0, sizeof(e));
			e.ts_ns = (int64_t)sec * 1000000000LL + (nano ? sub : (int64_t)sub * 1000);
			e.netns = (uint64_t)a;
			if (to_event(h + 16, incl, &e))
				CHECK_INT(dnsreel_decoder__feed(d, 0, 0, &e, on_rec, &fs), 0);
			off += 16 + incl;
		}
		dnsreel_decoder__free(d);
		printf("%s: %d messages (%d TCP), %d answers, %d with latency\n", argv[a], fs.recs,
		       fs.tcp, fs.resp, fs.resp_lat);
		if (strstr(argv[a], "app.pcap")) {
			app_resp = fs.resp;
			app_lat = fs.resp_lat;
		}
		st.recs += fs.recs;
		st.errs += fs.errs;
		st.tcp += fs.tcp;
		st.v6 += fs.v6;
		st.big += fs.big;
		free(f);
	}
	if (want >= 0)
		CHECK_INT(st.recs, want);
	CHECK(st.recs > 0);
	CHECK_INT(st.errs, 0);
	CHECK(st.tcp > 0);
	CHECK(st.v6 > 0);
	CHECK(st.big > 0);
	if (app_resp >= 0) {
		CHECK(app_resp > 0);
		CHECK_INT(app_lat, app_resp);
	}
	return check_done("test_pcap");
}
