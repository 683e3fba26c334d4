/* redact library: Crypto-PAn against the published sample (the key and address pairs of the
 * Crypto-PAn source distribution), prefix preservation over random pairs, names (labels,
 * kept suffixes, reverse zones), and rebuilt messages that dnswire parses back. */
#include <arpa/inet.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "dns.h"
#include "dnsreel.h"
#include "redact.h"

static const uint8_t sample_key[32] = {21,  34, 23,  141, 51, 164, 207, 128, 19,  10,  91,
				       22,  73, 144, 125, 16, 216, 152, 143, 131, 121, 121,
				       101, 39, 98,  87,  76, 45,  42,	132, 34,  2};

/* sample_trace_raw.dat -> sample_trace_sanitized.dat of the Crypto-PAn distribution */
static const char *const v4_pairs[][2] = {
    {"128.11.68.132", "135.242.180.132"},   {"129.118.74.4", "134.136.186.123"},
    {"130.132.252.244", "133.68.164.234"},  {"141.223.7.43", "141.167.8.160"},
    {"141.233.145.108", "141.129.237.235"}, {"152.163.225.39", "151.140.114.167"},
    {"156.29.3.236", "147.225.12.42"},	    {"165.247.96.84", "162.9.99.234"},
    {"166.107.77.190", "160.132.178.185"},  {"192.102.249.13", "252.138.62.131"},
    {"192.215.32.125", "252.43.47.189"},    {"192.233.80.103", "252.25.108.8"},
    {"192.41.57.43", "252.222.221.184"},    {"193.150.244.223", "253.169.52.216"},
    {"195.205.63.100", "255.186.223.5"},    {"198.200.171.101", "249.199.68.213"},
    {"198.26.132.101", "249.36.123.202"},   {"198.36.213.5", "249.7.21.132"},
    {"198.51.77.238", "249.18.186.254"},    {"199.217.79.101", "248.38.184.213"},
    {"202.49.198.20", "245.206.7.234"},	    {"203.12.160.252", "244.248.163.4"},
    {"204.184.162.189", "243.192.77.90"},   {"204.202.136.230", "243.178.4.198"},
    {"204.29.20.4", "243.33.20.123"},	    {"205.178.38.67", "242.108.198.51"},
    {"205.188.147.153", "242.96.16.101"},   {"205.188.248.25", "242.96.88.27"},
    {"205.245.121.43", "242.21.121.163"},   {"207.105.49.5", "241.118.205.138"},
    {"207.135.65.238", "241.202.129.222"},  {"207.155.9.214", "241.220.250.22"},
    {"207.188.7.45", "241.255.249.220"},    {"207.25.71.27", "241.33.119.156"},
    {"207.33.151.131", "241.1.233.131"},    {"208.147.89.59", "227.237.98.191"},
    {"208.234.120.210", "227.154.67.17"},   {"208.28.185.184", "227.39.94.90"},
    {"208.52.56.122", "227.8.63.165"},	    {"209.12.231.7", "226.243.167.8"},
    {"209.238.72.3", "226.6.119.243"},	    {"209.246.74.109", "226.22.124.76"},
    {"209.68.60.238", "226.184.220.233"},   {"209.85.249.6", "226.170.70.6"},
    {"212.120.124.31", "228.135.163.231"},  {"212.146.8.236", "228.19.4.234"},
    {"212.186.227.154", "228.59.98.98"},    {"212.204.172.118", "228.71.195.169"},
    {"212.206.130.201", "228.69.242.193"},  {"216.148.237.145", "235.84.194.111"},
    {"216.157.30.252", "235.89.31.26"},	    {"216.184.159.48", "235.96.225.78"},
    {"216.227.10.221", "235.28.253.36"},    {"216.254.18.172", "235.7.16.162"},
    {"216.32.132.250", "235.192.139.38"},   {"216.35.217.178", "235.195.157.81"},
    {"24.0.250.221", "100.15.198.226"},	    {"24.13.62.231", "100.2.192.247"},
    {"24.14.213.138", "100.1.42.141"},	    {"24.5.0.80", "100.9.15.210"},
    {"24.7.198.88", "100.10.6.25"},	    {"24.94.26.44", "100.88.228.35"},
    {"38.15.67.68", "64.3.66.187"},	    {"4.3.88.225", "124.60.155.63"},
    {"63.14.55.111", "95.9.215.7"},	    {"63.195.241.44", "95.179.238.44"},
    {"63.97.7.140", "95.97.9.123"},	    {"64.14.118.196", "0.255.183.58"},
    {"64.34.154.117", "0.221.154.117"},	    {"64.39.15.238", "0.219.7.41"},
};

/* The same construction over 128 bits, as other implementations compute it with that key. */
static const char *const v6_pairs[][2] = {
    {"::1", "78ff:f001:9fc0:20df:8380:b1f1:704:ed"},
    {"::2", "78ff:f001:9fc0:20df:8380:b1f1:704:ef"},
    {"::ffff", "78ff:f001:9fc0:20df:8380:b1f1:704:f838"},
    {"2001:db8::1", "4401:2bc:603f:d91d:27f:ff8e:e6f1:dc1e"},
    {"2001:db8::2", "4401:2bc:603f:d91d:27f:ff8e:e6f1:dc1c"},
};

static unsigned cpl(const uint8_t *a, const uint8_t *b, unsigned bits)
{
	for (unsigned i = 0; i < bits; i++) {
		unsigned m = 0x80u >> (i % 8);
		if ((a[i / 8] & m) != (b[i / 8] & m))
			return i;
	}
	return bits;
}

static uint64_t rng = 0x9e3779b97f4a7c15ull;
static uint8_t rnd8(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint8_t)(rng >> 24);
}

static void test_cryptopan(void)
{
	struct dnsreel_cryptopan *cp;
	CHECK_INT(dnsreel_cryptopan__new(&cp, sample_key), 0);
	for (size_t i = 0; i < sizeof(v4_pairs) / sizeof(v4_pairs[0]); i++) {
		uint8_t a[4], want[4], got[4];
		inet_pton(AF_INET, v4_pairs[i][0], a);
		inet_pton(AF_INET, v4_pairs[i][1], want);
		CHECK_INT(dnsreel_cryptopan__map(cp, 32, a, got), 0);
		char t[64];
		inet_ntop(AF_INET, got, t, sizeof(t));
		CHECKF(!memcmp(got, want, 4), "%s -> %s, want %s", v4_pairs[i][0], t,
		       v4_pairs[i][1]);
	}
	for (size_t i = 0; i < sizeof(v6_pairs) / sizeof(v6_pairs[0]); i++) {
		uint8_t a[16], want[16], got[16];
		inet_pton(AF_INET6, v6_pairs[i][0], a);
		inet_pton(AF_INET6, v6_pairs[i][1], want);
		CHECK_INT(dnsreel_cryptopan__map(cp, 128, a, got), 0);
		char t[64];
		inet_ntop(AF_INET6, got, t, sizeof(t));
		CHECKF(!memcmp(got, want, 16), "%s -> %s, want %s", v6_pairs[i][0], t,
		       v6_pairs[i][1]);
	}
	CHECK_INT(dnsreel_cryptopan__map(cp, 64, sample_key, (uint8_t[16]){0}), DNSREEL_E_ARG);
	/* prefix preservation: the common prefix of two outputs is that of the inputs, for pairs
	 * built to share every prefix length */
	for (int bits = 32; bits <= 128; bits += 96) {
		int n = bits == 32 ? 20000 : 2000, bad = 0;
		for (int i = 0; i < n; i++) {
			uint8_t a[16], b[16], ma[16], mb[16];
			for (int k = 0; k < 16; k++)
				a[k] = b[k] = rnd8();
			unsigned share = (unsigned)(rnd8() | rnd8() << 8) % (unsigned)(bits + 1);
			if (share < (unsigned)bits) {
				for (unsigned k = share; k < (unsigned)bits; k++)
					if (rnd8() & 1)
						b[k / 8] ^= (uint8_t)(0x80u >> (k % 8));
				b[share / 8] = (uint8_t)((b[share / 8] & ~(0x80u >> (share % 8))) |
							 (~a[share / 8] & (0x80u >> (share % 8))));
			}
			dnsreel_cryptopan__map(cp, (unsigned)bits, a, ma);
			dnsreel_cryptopan__map(cp, (unsigned)bits, b, mb);
			unsigned p = cpl(a, b, (unsigned)bits);
			bad += p != share || cpl(ma, mb, (unsigned)bits) != p;
		}
		CHECKF(bad == 0, "%d of %d pairs of %d bits changed their common prefix", bad, n,
		       bits);
	}
	dnsreel_cryptopan__free(cp);
}

static const uint8_t key1[32] = "0123456789abcdef0123456789abcdef";
static const uint8_t key2[32] = "fedcba9876543210fedcba9876543210";

static struct dnsreel_redactor *mk(const uint8_t *key, const char *keep, uint32_t drop)
{
	struct dnsreel_redactor *r = NULL;
	const char *k[1] = {keep};
	struct dnsreel_redact_opts o = {
	    .sz = sizeof(o), .keep_suffix = k, .n_keep = keep ? 1 : 0, .drop = drop};
	CHECK_INT(dnsreel_redactor__new(&r, key, 32, &o), 0);
	return r;
}

/* "a.b." -> wire */
static size_t wire(const char *s, uint8_t *out)
{
	size_t o = 0;
	while (*s && strcmp(s, ".")) {
		const char *d = strchr(s, '.');
		size_t l = d ? (size_t)(d - s) : strlen(s);
		out[o++] = (uint8_t)l;
		memcpy(out + o, s, l);
		o += l;
		s += l + (d ? 1 : 0);
	}
	out[o++] = 0;
	return o;
}

static void text(const uint8_t *w, char *out)
{
	size_t o = 0;
	while (*w) {
		memcpy(out + o, w + 1, *w);
		o += *w;
		out[o++] = '.';
		w += 1 + *w;
	}
	if (!o)
		out[o++] = '.';
	out[o] = 0;
}

static void name_of(struct dnsreel_redactor *r, const char *in, char *out)
{
	uint8_t w[256], m[256];
	size_t n = wire(in, w);
	int k = dnsreel_redactor__wire_name(r, w, n, m);
	CHECKF(k > 0, "%s: %d", in, k);
	if (k > 0)
		text(m, out);
	else
		strcpy(out, "?");
}

static void addr_text(struct dnsreel_redactor *r, int v, const char *in, char *out)
{
	uint8_t a[16] = {0}, m[16];
	inet_pton(v == 4 ? AF_INET : AF_INET6, in, a);
	CHECK_INT(dnsreel_redactor__addr(r, (uint8_t)v, a, m), 0);
	inet_ntop(v == 4 ? AF_INET : AF_INET6, m, out, 64);
}

static void test_names(void)
{
	struct dnsreel_redactor *r = mk(key1, "cluster.local.", 0), *r2 = mk(key2, NULL, 0);
	char a[300], b[300], c[300];
	name_of(r, "web.default.svc.cluster.local.", a);
	name_of(r, "web.svc.cluster.local.", b);
	CHECKF(strlen(a) == strlen("web.default.svc.cluster.local.") &&
		   !strcmp(a + strlen(a) - 15, ".cluster.local.") && strncmp(a, "web.", 4),
	       "%s", a);
	/* the search walk keeps its shape: the same first label, the same svc label */
	CHECKF(!strncmp(a, b, 4) && !strcmp(a + 12, b + 4), "%s vs %s", a, b);
	name_of(r, "WEB.Default.svc.CLUSTER.local.", c);
	CHECKF(!strncmp(c, a, 16) && !strcmp(c + 16, "CLUSTER.local."), "%s", c);
	name_of(r, "_http._tcp.web.default.svc.cluster.local.", c);
	CHECKF(c[0] == '_' && c[6] == '_' && !strcmp(c + 11, a), "%s", c);
	name_of(r, "www.example.test.", a);
	name_of(r2, "www.example.test.", b);
	CHECKF(strlen(a) == 17 && strcmp(a, b) && !strstr(a, "example") && !strstr(a, "test"),
	       "%s %s", a, b);
	for (const char *p = a; *p; p++)
		CHECKF((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '.', "%s", a);
	name_of(r, ".", a);
	CHECK_STR(a, ".");
	/* reverse zones follow the address mapping, whole or partial */
	char m[64], want[128];
	addr_text(r, 4, "10.244.0.10", m);
	unsigned o[4];
	sscanf(m, "%u.%u.%u.%u", &o[0], &o[1], &o[2], &o[3]);
	name_of(r, "10.0.244.10.in-addr.arpa.", a);
	snprintf(want, sizeof(want), "%u.%u.%u.%u.in-addr.arpa.", o[3], o[2], o[1], o[0]);
	CHECK_STR(a, want);
	name_of(r, "0.244.10.in-addr.arpa.", a);
	snprintf(want, sizeof(want), "%u.%u.%u.in-addr.arpa.", o[2], o[1], o[0]);
	CHECK_STR(a, want);
	addr_text(r, 6, "fd00:244::10", m);
	uint8_t a6[16];
	inet_pton(AF_INET6, m, a6);
	size_t w = 0;
	for (int i = 31; i >= 0; i--)
		w += (size_t)snprintf(want + w, sizeof(want) - w, "%x.",
				      (a6[i / 2] >> (i % 2 ? 0 : 4)) & 15);
	strcat(want, "ip6.arpa.");
	char rev6[128];
	uint8_t o6[16];
	inet_pton(AF_INET6, "fd00:244::10", o6);
	w = 0;
	for (int i = 31; i >= 0; i--)
		w += (size_t)snprintf(rev6 + w, sizeof(rev6) - w, "%x.",
				      (o6[i / 2] >> (i % 2 ? 0 : 4)) & 15);
	strcat(rev6, "ip6.arpa.");
	name_of(r, rev6, a);
	CHECK_STR(a, want);
	/* "." keeps every name; reverse names are still mapped */
	struct dnsreel_redactor *all = mk(key1, ".", 0);
	name_of(all, "www.example.test.", a);
	CHECK_STR(a, "www.example.test.");
	name_of(all, "10.0.244.10.in-addr.arpa.", b);
	snprintf(want, sizeof(want), "%u.%u.%u.%u.in-addr.arpa.", o[3], o[2], o[1], o[0]);
	CHECK_STR(b, want);
	/* not names: refused */
	uint8_t bad[4] = {5, 'a', 'b', 0}, out[256];
	CHECK_INT(dnsreel_redactor__wire_name(r, bad, 4, out), DNSREEL_E_PARSE);
	/* identifiers: fixed shapes, one text one pseudonym, kinds apart */
	char p1[256], p2[256], p3[256];
	dnsreel_redactor__ident(r, DNSREEL_RK_POD, "dnsclient", p1, sizeof(p1));
	dnsreel_redactor__ident(r, DNSREEL_RK_POD, "dnsclient", p2, sizeof(p2));
	dnsreel_redactor__ident(r, DNSREEL_RK_NAMESPACE, "dnsclient", p3, sizeof(p3));
	CHECKF(!strcmp(p1, p2) && strcmp(p1 + 4, p3 + 3) && !strncmp(p1, "pod-", 4), "%s %s", p1,
	       p3);
	dnsreel_redactor__ident(r, DNSREEL_RK_UID, "671252da-452a-4fb8-ad48-a30a53acc83f", p1,
				sizeof(p1));
	CHECKF(strlen(p1) == 36 && p1[8] == '-' && p1[14] == '4', "%s", p1);
	dnsreel_redactor__ident(r, DNSREEL_RK_CID, "1b40a5611d8a723f", p1, sizeof(p1));
	CHECKF(strlen(p1) == 16 && strcmp(p1, "1b40a5611d8a723f"), "%s", p1);
	char c1[16];
	dnsreel_redactor__ident(r, DNSREEL_RK_COMM, "isc-net-0000", c1, sizeof(c1));
	CHECKF(strlen(c1) < 16 && strlen(c1) > 2, "%s", c1);
	dnsreel_redactor__addr_list(r, "10.244.0.10,fd00:244::10,eth0", p1, sizeof(p1));
	addr_text(r, 4, "10.244.0.10", m);
	CHECKF(!strncmp(p1, m, strlen(m)) && !strstr(p1, "eth0") && !strstr(p1, "10.244.0.10"),
	       "%s", p1);
	char k1[17], k2[17];
	dnsreel_redactor__key_id(r, k1);
	dnsreel_redactor__key_id(r2, k2);
	CHECK(strlen(k1) == 16 && strcmp(k1, k2));
	dnsreel_redactor__free(r);
	dnsreel_redactor__free(r2);
	dnsreel_redactor__free(all);
}

struct mb {
	uint8_t b[4096];
	size_t n;
};
static void u8(struct mb *m, unsigned v)
{
	m->b[m->n++] = (uint8_t)v;
}
static void u16(struct mb *m, unsigned v)
{
	u8(m, v >> 8), u8(m, v & 255);
}
static void u32(struct mb *m, uint32_t v)
{
	u16(m, v >> 16), u16(m, v & 0xFFFF);
}
static void raw(struct mb *m, const void *p, size_t n)
{
	memcpy(m->b + m->n, p, n);
	m->n += n;
}
static void rr(struct mb *m, unsigned ptr, unsigned type, const void *rd, size_t rdl)
{
	u16(m, 0xC000 | ptr), u16(m, type), u16(m, 1), u32(m, 300), u16(m, (unsigned)rdl);
	raw(m, rd, rdl);
}

static void test_message(void)
{
	struct dnsreel_redactor *r = mk(key1, "test.", 0);
	struct mb m = {.n = 0};
	u16(&m, 0x1234), u16(&m, 0x8180), u16(&m, 1), u16(&m, 6), u16(&m, 1), u16(&m, 1);
	raw(&m, "\3www\7example\4test\0", 18); /* at 12; "example" at 16 */
	u16(&m, 1), u16(&m, 1);
	uint8_t cname[] = {5, 'a', 'l', 'i', 'a', 's', 0xC0, 16};
	rr(&m, 12, 5, cname, sizeof(cname));
	uint8_t a[4] = {10, 244, 0, 10};
	rr(&m, 12, 1, a, 4);
	uint8_t mx[] = {0, 10, 4, 'm', 'a', 'i', 'l', 0xC0, 16};
	rr(&m, 16, 15, mx, sizeof(mx));
	uint8_t srv[] = {0, 1, 0, 5, 0, 53, 0xC0, 12};
	rr(&m, 12, 33, srv, sizeof(srv));
	uint8_t txt[] = {5, 'h', 'e', 'l', 'l', 'o', 3, '1', '0', '.'};
	rr(&m, 12, 16, txt, sizeof(txt));
	uint8_t rrsig[20] = {0, 1, 8, 2};
	rr(&m, 12, 46, rrsig, sizeof(rrsig));
	struct mb soa = {.n = 0};
	raw(&soa, "\3ns1\xC0\x10", 6);
	raw(&soa, "\4host\xC0\x10", 7);
	for (int i = 0; i < 5; i++)
		u32(&soa, 100u + (unsigned)i);
	rr(&m, 16, 6, soa.b, soa.n);
	/* OPT: client subnet 10.244.0.0/24 and an NSID, which goes */
	u8(&m, 0), u16(&m, 41), u16(&m, 1232), u32(&m, 0);
	uint8_t opt[] = {0, 8, 0, 7, 0, 1, 24, 0, 10, 244, 0, 0, 3, 0, 3, 'n', 's', '1'};
	u16(&m, sizeof(opt));
	raw(&m, opt, sizeof(opt));

	struct dnsreel_dns in;
	CHECK_INT(dnsreel_dns_parse(m.b, m.n, &in), 0);
	uint8_t out[65535];
	int n = dnsreel_redactor__message(r, m.b, m.n, out, sizeof(out));
	CHECKF(n > 0, "%d", n);
	struct dnsreel_dns d;
	CHECK_INT(dnsreel_dns_parse(out, (size_t)n, &d), 0);
	CHECK_INT(d.id, 0x1234);
	CHECK_INT(d.ancount, 5); /* RRSIG left out */
	CHECK_INT(d.nscount, 1);
	CHECK_INT(d.arcount, 1);
	CHECK_INT(d.num_answers, 5);
	CHECK_INT(d.bad_names, 0);
	CHECK(d.edns_err == NULL);
	char qn[300];
	name_of(r, "www.example.test.", qn);
	CHECK_STR(d.qname, qn);
	char m4[64], ecs[80];
	addr_text(r, 4, "10.244.0.10", m4);
	CHECK_STR(d.addresses, m4);
	uint8_t e4[16] = {0}, me[16];
	inet_pton(AF_INET, "10.244.0.0", e4);
	dnsreel_redactor__addr(r, 4, e4, me);
	me[3] = 0;
	inet_ntop(AF_INET, me, m4, sizeof(m4));
	snprintf(ecs, sizeof(ecs), "%s/24", m4);
	CHECK_STR(d.edns_client_subnet, ecs);
	const struct dnsreel_redact_stats *st = dnsreel_redactor__stats(r);
	CHECK_INT(st->rrs_dropped, 1);
	CHECK_INT(st->edns_options_dropped, 1);
	/* every record's data as text: names rewritten alike, nothing of the original left */
	struct dnsreel_dns_iter it;
	struct dnsreel_dns_rr x;
	dnsreel_dns_iter_init(&it, out, (size_t)n);
	char alias[300], mail[300], ex[300], ns1[300], host[300], want[1024], rd[1024];
	name_of(r, "alias.example.test.", alias);
	name_of(r, "mail.example.test.", mail);
	name_of(r, "example.test.", ex);
	name_of(r, "ns1.example.test.", ns1);
	name_of(r, "host.example.test.", host);
	int k = 0;
	while (dnsreel_dns_iter_next(&it, &x) == 1) {
		CHECK(dnsreel_dns_rdata_str(out, (size_t)n, &x, rd, sizeof(rd)) >= 0);
		CHECKF(!strstr(rd, "example") && !strstr(rd, "hello") && !strstr(rd, "10.244") &&
			   !strstr(rd, "ns1") && !strstr(x.name, "example"),
		       "%s %s", x.name, rd);
		switch (k++) {
		case 0:
			CHECK_STR(rd, alias);
			break;
		case 2:
			snprintf(want, sizeof(want), "10 %s", mail);
			CHECK_STR(rd, want);
			break;
		case 3:
			snprintf(want, sizeof(want), "1 5 53 %s", qn);
			CHECK_STR(rd, want);
			break;
		case 4:
			CHECKF(strlen(rd) == strlen("\"hello\" \"10.\""), "%s", rd);
			break;
		case 5:
			CHECK_STR(x.name, ex);
			snprintf(want, sizeof(want), "%s %s 100 101 102 103 104", ns1, host);
			CHECK_STR(rd, want);
			break;
		}
	}
	CHECK_INT(it.err, 0);
	CHECK_INT(k, 7);
	/* damage after the question: the message up to it, counts saying so */
	int n2 = dnsreel_redactor__message(r, m.b, 12 + 22 + 20, out, sizeof(out));
	CHECK(n2 > 0);
	CHECK_INT(dnsreel_dns_parse(out, (size_t)n2, &d), 0);
	CHECK_INT(d.ancount, 1);
	CHECK_INT(d.arcount, 0);
	/* no question: nothing kept */
	CHECK_INT(dnsreel_redactor__message(r, m.b, 20, out, sizeof(out)), DNSREEL_E_PARSE);
	/* a loop of compression pointers is refused, never followed */
	uint8_t loop[] = {0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xC0, 12, 0, 1, 0, 1};
	CHECK_INT(dnsreel_redactor__message(r, loop, sizeof(loop), out, sizeof(out)),
		  DNSREEL_E_PARSE);
	/* a small output buffer: fewer records, still a message */
	n2 = dnsreel_redactor__message(r, m.b, m.n, out, 80);
	CHECK(n2 > 0 && n2 <= 80);
	CHECK_INT(dnsreel_dns_parse(out, (size_t)n2, &d), 0);
	/* --drop answers: header and question only, OPT kept */
	struct dnsreel_redactor *da = mk(key1, NULL, DNSREEL_REDACT_DROP_ANSWERS);
	n2 = dnsreel_redactor__message(da, m.b, m.n, out, sizeof(out));
	CHECK_INT(dnsreel_dns_parse(out, (size_t)n2, &d), 0);
	CHECK_INT(d.ancount + d.nscount, 0);
	CHECK_INT(d.arcount, 1);
	dnsreel_redactor__free(da);
	dnsreel_redactor__free(r);
}

/* Random bytes through the rewriter: whatever comes out parses as it claims. */
static void test_random(void)
{
	struct dnsreel_redactor *r = mk(key1, "local.", 0);
	uint8_t in[600], out[65535];
	int parsed = 0;
	for (int i = 0; i < 200000; i++) {
		size_t n = 12 + rnd8() % 200;
		for (size_t k = 0; k < n; k++)
			in[k] = rnd8();
		in[4] = 0, in[5] = 1 + (rnd8() & 1);
		in[6] = 0, in[7] = rnd8() & 7;
		in[8] = in[10] = 0;
		/* names made mostly of short labels and pointers backwards */
		for (size_t k = 12; k < n; k++)
			if (rnd8() < 80)
				in[k] = rnd8() & 7;
		int w = dnsreel_redactor__message(r, in, n, out, sizeof(out));
		if (w < 0)
			continue;
		parsed++;
		struct dnsreel_dns d;
		int e = dnsreel_dns_parse(out, (size_t)w, &d);
		CHECKF(e == 0 && d.bad_names == 0, "message %d: %d at %u (%s)", i, e, d.err_off,
		       d.err_what ? d.err_what : "");
		if (e)
			break;
	}
	CHECKF(parsed > 1000, "only %d random messages rewritten", parsed);
	dnsreel_redactor__free(r);
}

/* Every message of the lab capture, redacted, parses completely (dnswire): UDP messages as
 * they are, TCP payloads as whole length-prefixed messages. */
static void test_lab_capture(void)
{
	struct dnsreel_capr *in = NULL;
	struct dnsreel_capr_opts co = {.sz = sizeof(co)};
	char err[512] = "";
	CHECKF(dnsreel_capr__open(&in, DATA_DIR "/lab-basic.reel", &co, err, sizeof(err)) == 0,
	       "%s", err);
	if (!in)
		return;
	struct dnsreel_redactor *r = mk(key1, "cluster.local.", 0);
	static uint8_t buf[65538];
	size_t events = 0, udp = 0, tcp = 0, in_msgs = 0;
	for (size_t f = 0; f < dnsreel_capr__frame_count(in); f++) {
		struct dnsreel_block blk = {0};
		CHECK_INT(dnsreel_capr__read_frame(in, f, &blk, err, sizeof(err)), 0);
		uint32_t *order = malloc(blk.n * sizeof(*order) + 1);
		void *tmp = malloc(blk.n * 16 + 1);
		dnsreel_redactor__order(blk.ev, blk.n, order, tmp);
		for (size_t i = 0; i < blk.n; i++) {
			struct dnsreel_event ev = blk.ev[order[i]];
			in_msgs += ev.cap_len > 0;
			CHECK_INT(dnsreel_redactor__event(r, &ev, buf, sizeof(buf)), 0);
			events++;
			struct dnsreel_dns d;
			if (ev.proto == 17) {
				CHECK_INT(dnsreel_dns_parse(ev.payload, ev.cap_len, &d), 0);
				CHECK_INT(d.bad_names, 0);
				udp++;
				continue;
			}
			for (size_t o = 0; o < ev.cap_len;) {
				size_t ml = (size_t)ev.payload[o] << 8 | ev.payload[o + 1];
				CHECK(ev.cap_len - o - 2 >= ml);
				CHECK_INT(dnsreel_dns_parse(ev.payload + o + 2, ml, &d), 0);
				tcp++;
				o += 2 + ml;
			}
		}
		free(order);
		free(tmp);
		dnsreel_block__release(&blk);
	}
	CHECK_INT(events, 327);
	CHECKF(udp > 250 && tcp >= 10, "%zu UDP and %zu TCP messages", udp, tcp);
	CHECK_INT(dnsreel_redactor__stats(r)->payloads_dropped, 0);
	dnsreel_redactor__free(r);
	dnsreel_capr__close(in);
}

int main(void)
{
	test_cryptopan();
	test_names();
	test_message();
	test_random();
	test_lab_capture();
	return check_done("test_redact");
}
