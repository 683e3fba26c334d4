/* Unit tests of the recorder's pure parsers: packet bytes (malformed on purpose), ports,
 * services, cgroup text, iptables-save text, kubelet log folders. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"

#include "k8s.h"
#include "parse.h"

static const uint8_t dnsq[] = {0x12, 0x34, 0x01, 0x00, 0,   1,	 0,   0,   0,	0,
			       0,    0,	   7,	 'e',  'x', 'a', 'm', 'p', 'l', 'e',
			       4,    't',  'e',	 's',  't', 0,	 0,   1,   0,	1};

static size_t ip4(uint8_t *p, uint8_t proto, uint16_t totlen)
{
	memset(p, 0, 20);
	p[0] = 0x45;
	p[2] = (uint8_t)(totlen >> 8);
	p[3] = (uint8_t)totlen;
	p[8] = 64;
	p[9] = proto;
	inet_pton(AF_INET, "10.244.0.10", p + 12);
	inet_pton(AF_INET, "10.96.0.10", p + 16);
	return 20;
}

static size_t udp(uint8_t *p, uint16_t sport, uint16_t dport, uint16_t len)
{
	p[0] = (uint8_t)(sport >> 8);
	p[1] = (uint8_t)sport;
	p[2] = (uint8_t)(dport >> 8);
	p[3] = (uint8_t)dport;
	p[4] = (uint8_t)(len >> 8);
	p[5] = (uint8_t)len;
	p[6] = p[7] = 0;
	return 8;
}

static size_t tcp(uint8_t *p, uint16_t sport, uint16_t dport, uint32_t seq, uint8_t doff)
{
	memset(p, 0, 20);
	p[0] = (uint8_t)(sport >> 8);
	p[1] = (uint8_t)sport;
	p[2] = (uint8_t)(dport >> 8);
	p[3] = (uint8_t)dport;
	p[4] = (uint8_t)(seq >> 24);
	p[5] = (uint8_t)(seq >> 16);
	p[6] = (uint8_t)(seq >> 8);
	p[7] = (uint8_t)seq;
	p[12] = (uint8_t)(doff << 4);
	p[13] = 0x18; /* PSH ACK */
	return 20;
}

static void test_ipv4_udp(void)
{
	uint8_t b[256];
	struct dnsreel_event ev;
	size_t n = ip4(b, 17, 20 + 8 + sizeof(dnsq));
	n += udp(b + n, 40000, 53, 8 + sizeof(dnsq));
	memcpy(b + n, dnsq, sizeof(dnsq));
	n += sizeof(dnsq);
	memset(&ev, 0, sizeof(ev));
	CHECK(dnsreel_parse_packet(b, (uint32_t)n, (uint32_t)n, 0x0800, &ev) == DNSREEL_PARSE_OK);
	CHECK(ev.ip_version == 4 && ev.proto == 17);
	CHECK(ev.src_port == 40000 && ev.dst_port == 53);
	CHECK(ev.orig_len == sizeof(dnsq) && ev.cap_len == sizeof(dnsq));
	CHECK(ev.payload == b + 28 && !memcmp(ev.payload, dnsq, sizeof(dnsq)));
	CHECK(ev.src_addr[0] == 10 && ev.dst_addr[1] == 96);
	CHECK(!(ev.flags & DNSREEL_EV_TRUNCATED));

	/* Ethernet padding after a tiny datagram is not payload. */
	memset(&ev, 0, sizeof(ev));
	memset(b + n, 0, 20);
	CHECK(dnsreel_parse_packet(b, (uint32_t)n + 6, (uint32_t)n + 6, 0x0800, &ev) ==
	      DNSREEL_PARSE_OK);
	CHECK(ev.orig_len == sizeof(dnsq));

	/* Snap length cut the message: truncated, orig_len kept. */
	memset(&ev, 0, sizeof(ev));
	CHECK(dnsreel_parse_packet(b, 28 + 12, (uint32_t)n, 0x0800, &ev) == DNSREEL_PARSE_OK);
	CHECK(ev.cap_len == 12 && ev.orig_len == sizeof(dnsq));
	CHECK(ev.flags & DNSREEL_EV_TRUNCATED);

	/* Guess the version when the ethertype is unknown. */
	memset(&ev, 0, sizeof(ev));
	CHECK(dnsreel_parse_packet(b, (uint32_t)n, (uint32_t)n, 0, &ev) == DNSREEL_PARSE_OK);
}

static void test_ipv4_bad(void)
{
	uint8_t b[256];
	struct dnsreel_event ev;
	size_t n = ip4(b, 17, 20 + 8 + sizeof(dnsq));
	n += udp(b + n, 40000, 53, 8 + sizeof(dnsq));
	memcpy(b + n, dnsq, sizeof(dnsq));
	n += sizeof(dnsq);

	/* truncated IP header */
	for (uint32_t c = 0; c < 20; c++)
		CHECK(dnsreel_parse_packet(b, c, (uint32_t)n, 0x0800, &ev) == DNSREEL_PARSE_SHORT);
	/* truncated UDP header */
	for (uint32_t c = 20; c < 28; c++)
		CHECK(dnsreel_parse_packet(b, c, c, 0x0800, &ev) == DNSREEL_PARSE_SHORT);
	/* IHL < 5 */
	b[0] = 0x44;
	CHECK(dnsreel_parse_packet(b, (uint32_t)n, (uint32_t)n, 0x0800, &ev) ==
	      DNSREEL_PARSE_BADHDR);
	/* IHL pointing past the bytes */
	b[0] = 0x4f;
	CHECK(dnsreel_parse_packet(b, (uint32_t)n, (uint32_t)n, 0x0800, &ev) ==
	      DNSREEL_PARSE_SHORT);
	b[0] = 0x45;
	/* version 5 */
	b[0] = 0x55;
	CHECK(dnsreel_parse_packet(b, (uint32_t)n, (uint32_t)n, 0x0800, &ev) ==
	      DNSREEL_PARSE_BADHDR);
	b[0] = 0x45;
	/* tot_len lies (larger than the packet): stored with what is there */
	b[2] = 0x10;
	memset(&ev, 0, sizeof(ev));
	CHECK(dnsreel_parse_packet(b, (uint32_t)n, (uint32_t)n, 0x0800, &ev) ==
	      DNSREEL_PARSE_LENLIE);
	CHECK(ev.orig_len == sizeof(dnsq) && ev.cap_len == sizeof(dnsq));
	/* tot_len smaller than the IP header */
	b[2] = 0;
	b[3] = 10;
	memset(&ev, 0, sizeof(ev));
	CHECK(dnsreel_parse_packet(b, (uint32_t)n, (uint32_t)n, 0x0800, &ev) ==
	      DNSREEL_PARSE_LENLIE);
	b[3] = (uint8_t)n;
	/* UDP length lies */
	b[24] = 0x07;
	memset(&ev, 0, sizeof(ev));
	CHECK(dnsreel_parse_packet(b, (uint32_t)n, (uint32_t)n, 0x0800, &ev) ==
	      DNSREEL_PARSE_LENLIE);
	CHECK(ev.cap_len <= ev.orig_len && ev.cap_len == sizeof(dnsq));
	b[24] = 0;
	b[25] = 3; /* < 8 */
	CHECK(dnsreel_parse_packet(b, (uint32_t)n, (uint32_t)n, 0x0800, &ev) ==
	      DNSREEL_PARSE_LENLIE);
	/* neither UDP nor TCP */
	b[9] = 1;
	CHECK(dnsreel_parse_packet(b, (uint32_t)n, (uint32_t)n, 0x0800, &ev) ==
	      DNSREEL_PARSE_NOTL4);
	/* unknown ethertype */
	CHECK(dnsreel_parse_packet(b, (uint32_t)n, (uint32_t)n, 0x0806, &ev) ==
	      DNSREEL_PARSE_NOTL4);
}

static void test_fragments(void)
{
	uint8_t b[256];
	struct dnsreel_event ev;
	size_t n = ip4(b, 17, 20 + 40);
	memset(b + n, 0xab, 40);
	b[6] = 0x00;
	b[7] = 0xb9; /* offset 185*8: a later fragment, no UDP header */
	memset(&ev, 0, sizeof(ev));
	CHECK(dnsreel_parse_packet(b, 60, 60, 0x0800, &ev) == DNSREEL_PARSE_OK);
	CHECK(ev.flags & DNSREEL_EV_FRAGMENT);
	CHECK(ev.src_port == 0 && ev.cap_len == 40 && ev.payload == b + 20);
	/* first fragment: MF set, UDP length covers the whole datagram */
	b[6] = 0x20;
	b[7] = 0;
	udp(b + 20, 53, 40000, 3000);
	memset(&ev, 0, sizeof(ev));
	CHECK(dnsreel_parse_packet(b, 60, 60, 0x0800, &ev) == DNSREEL_PARSE_OK);
	CHECK((ev.flags & DNSREEL_EV_FRAGMENT) && ev.src_port == 53 && ev.orig_len == 32);
}

static void test_tcp(void)
{
	uint8_t b[256];
	struct dnsreel_event ev;
	size_t n = ip4(b, 6, 20 + 20 + 2 + sizeof(dnsq));
	n += tcp(b + n, 41000, 53, 0xdeadbeef, 5);
	b[n++] = 0;
	b[n++] = sizeof(dnsq);
	memcpy(b + n, dnsq, sizeof(dnsq));
	n += sizeof(dnsq);
	memset(&ev, 0, sizeof(ev));
	CHECK(dnsreel_parse_packet(b, (uint32_t)n, (uint32_t)n, 0x0800, &ev) == DNSREEL_PARSE_OK);
	CHECK(ev.proto == 6 && ev.tcp_seq == 0xdeadbeef && ev.tcp_flags == 0x18);
	CHECK(ev.orig_len == 2 + sizeof(dnsq) && ev.payload == b + 40);
	/* truncated TCP header */
	for (uint32_t c = 20; c < 40; c++)
		CHECK(dnsreel_parse_packet(b, c, c, 0x0800, &ev) == DNSREEL_PARSE_SHORT);
	/* data offset < 5 */
	b[32] = 0x40;
	CHECK(dnsreel_parse_packet(b, (uint32_t)n, (uint32_t)n, 0x0800, &ev) ==
	      DNSREEL_PARSE_BADHDR);
	/* data offset past the bytes */
	b[32] = 0xf0;
	CHECK(dnsreel_parse_packet(b, 50, 50, 0x0800, &ev) == DNSREEL_PARSE_SHORT);
	/* options inside the packet, tot_len says less than the header: lie, empty payload */
	b[32] = 0x80;
	b[2] = 0;
	b[3] = 44;
	memset(&ev, 0, sizeof(ev));
	CHECK(dnsreel_parse_packet(b, (uint32_t)n, (uint32_t)n, 0x0800, &ev) ==
	      DNSREEL_PARSE_LENLIE);
	CHECK(ev.orig_len == 0 && ev.cap_len == 0);
}

static size_t ip6(uint8_t *p, uint8_t next, uint16_t plen)
{
	memset(p, 0, 40);
	p[0] = 0x60;
	p[4] = (uint8_t)(plen >> 8);
	p[5] = (uint8_t)plen;
	p[6] = next;
	p[7] = 64;
	inet_pton(AF_INET6, "fd00:244::10", p + 8);
	inet_pton(AF_INET6, "fd00:96::a", p + 24);
	return 40;
}

static void test_ipv6(void)
{
	uint8_t b[512];
	struct dnsreel_event ev;
	/* hop-by-hop (8 bytes) -> destination options (16 bytes) -> UDP */
	size_t n = ip6(b, 0, 8 + 16 + 8 + sizeof(dnsq));
	memset(b + n, 0, 24);
	b[n] = 60;
	b[n + 1] = 0;
	b[n + 8] = 17;
	b[n + 9] = 1;
	n += 24;
	n += udp(b + n, 5353, 5353, 8 + sizeof(dnsq));
	memcpy(b + n, dnsq, sizeof(dnsq));
	n += sizeof(dnsq);
	memset(&ev, 0, sizeof(ev));
	CHECK(dnsreel_parse_packet(b, (uint32_t)n, (uint32_t)n, 0x86DD, &ev) == DNSREEL_PARSE_OK);
	CHECK(ev.ip_version == 6 && ev.proto == 17 && ev.src_port == 5353);
	CHECK(ev.orig_len == sizeof(dnsq) && ev.payload == b + 72);
	CHECK(ev.src_addr[0] == 0xfd && ev.dst_addr[15] == 0x0a);
	/* extension header running past the captured bytes */
	b[n - sizeof(dnsq) - 8 - 16 + 1] = 200;
	CHECK(dnsreel_parse_packet(b, (uint32_t)n, (uint32_t)n, 0x86DD, &ev) ==
	      DNSREEL_PARSE_SHORT);
	/* seven extension headers: more than we walk */
	n = ip6(b, 0, 7 * 8 + 8);
	for (int i = 0; i < 7; i++) {
		memset(b + n, 0, 8);
		b[n] = i == 6 ? 17 : 60;
		n += 8;
	}
	n += udp(b + n, 1, 53, 8);
	CHECK(dnsreel_parse_packet(b, (uint32_t)n, (uint32_t)n, 0x86DD, &ev) ==
	      DNSREEL_PARSE_NOTL4);
	/* fragment header, later fragment */
	n = ip6(b, 44, 8 + 16);
	memset(b + n, 0, 8);
	b[n] = 17;
	b[n + 3] = 0x08; /* offset 1 */
	n += 8;
	memset(b + n, 0x55, 16);
	n += 16;
	memset(&ev, 0, sizeof(ev));
	CHECK(dnsreel_parse_packet(b, (uint32_t)n, (uint32_t)n, 0x86DD, &ev) == DNSREEL_PARSE_OK);
	CHECK((ev.flags & DNSREEL_EV_FRAGMENT) && ev.cap_len == 16 && ev.src_port == 0);
	/* payload length lies */
	n = ip6(b, 17, 4000);
	n += udp(b + n, 53, 1000, 8 + sizeof(dnsq));
	memcpy(b + n, dnsq, sizeof(dnsq));
	n += sizeof(dnsq);
	memset(&ev, 0, sizeof(ev));
	CHECK(dnsreel_parse_packet(b, (uint32_t)n, (uint32_t)n, 0x86DD, &ev) ==
	      DNSREEL_PARSE_LENLIE);
	CHECK(ev.cap_len == sizeof(dnsq));
	/* truncated fixed header */
	CHECK(dnsreel_parse_packet(b, 39, 39, 0x86DD, &ev) == DNSREEL_PARSE_SHORT);
}

/* Random bytes and random mutations of good packets: never read past cap, results coherent. */
static void test_random(void)
{
	uint8_t b[1600];
	srand(42);
	for (int it = 0; it < 200000; it++) {
		uint32_t cap = (uint32_t)(rand() % (int)sizeof(b));
		size_t n;
		if (it & 1) {
			for (uint32_t i = 0; i < cap; i++)
				b[i] = (uint8_t)rand();
			b[0] = (uint8_t)((rand() & 1 ? 0x40 : 0x60) | (b[0] & 15));
		} else {
			n = ip4(b, rand() & 1 ? 17 : 6, (uint16_t)(rand() % 1600));
			n += udp(b + n, 53, (uint16_t)rand(), (uint16_t)rand());
			for (int k = 0; k < 3; k++)
				b[rand() % 40] = (uint8_t)rand();
		}
		uint8_t *copy = malloc(cap ? cap : 1);
		memcpy(copy, b, cap);
		struct dnsreel_event ev;
		memset(&ev, 0, sizeof(ev));
		int st =
		    dnsreel_parse_packet(copy, cap, cap + (uint32_t)(rand() % 3) * 100, 0, &ev);
		if (st == DNSREEL_PARSE_OK || st == DNSREEL_PARSE_LENLIE) {
			CHECK(ev.payload >= copy && ev.payload + ev.cap_len <= copy + cap);
			CHECK(ev.cap_len <= ev.orig_len);
		}
		free(copy);
	}
}

static void test_ports(void)
{
	uint8_t bits[8192];
	CHECK(dnsreel_parse_ports("53,5353,65535", bits) == 0);
	CHECK(bits[53 / 8] & (1 << (53 % 8)));
	CHECK(bits[5353 / 8] & (1 << (5353 % 8)));
	CHECK(bits[65535 / 8] & 0x80);
	CHECK(!(bits[54 / 8] & (1 << (54 % 8))));
	CHECK(dnsreel_parse_ports("", bits) < 0);
	CHECK(dnsreel_parse_ports("0", bits) < 0);
	CHECK(dnsreel_parse_ports("65536", bits) < 0);
	CHECK(dnsreel_parse_ports("53,x", bits) < 0);
	CHECK(dnsreel_parse_ports("53;54", bits) < 0);
}

static void test_service(void)
{
	struct dnsreel_service_ctx s;
	CHECK(dnsreel_service_parse("10.96.0.10:53=kube-system/kube-dns", &s) == 0);
	CHECK(s.ip_version == 4 && s.port == 53 && s.addr[0] == 10);
	CHECK(!strcmp(s.k8s_namespace, "kube-system") && !strcmp(s.name, "kube-dns"));
	CHECK(dnsreel_service_parse("[fd00:96::a]:53=kube-system/kube-dns", &s) == 0);
	CHECK(s.ip_version == 6 && s.port == 53 && s.addr[0] == 0xfd);
	CHECK(dnsreel_service_parse("fd00:96::a=ns/x", &s) == 0 && s.port == 0);
	CHECK(dnsreel_service_parse("10.0.0.1=ns/x", &s) == 0 && s.port == 0);
	CHECK(dnsreel_service_parse("10.0.0.1:0=ns/x", &s) < 0);
	CHECK(dnsreel_service_parse("10.0.0.1:53=nsx", &s) < 0);
	CHECK(dnsreel_service_parse("bogus=ns/x", &s) < 0);
	CHECK(dnsreel_service_parse("10.0.0.1:53=/x", &s) < 0);
	CHECK(dnsreel_service_parse("=ns/x", &s) < 0);
}

static void test_cgroup(void)
{
	char uid[40], cid[80], path[256];
	const char *sd = "0::/kubepods.slice/kubepods-burstable.slice/"
			 "kubepods-burstable-pod0b7a6b1e_4c1d_4f57_9a63_2d7c1f1b3a11.slice/"
			 "cri-containerd-"
			 "a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90.scope\n";
	dnsreel_cgroup_parse(sd, uid, sizeof(uid), cid, sizeof(cid), path, sizeof(path));
	CHECK(!strcmp(uid, "0b7a6b1e-4c1d-4f57-9a63-2d7c1f1b3a11"));
	CHECK(!strcmp(cid, "a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90"));
	CHECK(!strncmp(path, "/kubepods.slice/", 16));
	const char *v1 = "12:memory:/kubepods/besteffort/pod7d3f0c5a-1111-2222-3333-444455556666/"
			 "f00dfeedf00dfeedf00dfeedf00dfeedf00dfeedf00dfeedf00dfeedf00dfeed\n"
			 "1:name=systemd:/kubepods/besteffort/"
			 "pod7d3f0c5a-1111-2222-3333-444455556666/"
			 "f00dfeedf00dfeedf00dfeedf00dfeedf00dfeedf00dfeedf00dfeedf00dfeed\n";
	dnsreel_cgroup_parse(v1, uid, sizeof(uid), cid, sizeof(cid), path, sizeof(path));
	CHECK(!strcmp(uid, "7d3f0c5a-1111-2222-3333-444455556666"));
	CHECK(!strncmp(cid, "f00dfeed", 8) && strlen(cid) == 64);
	const char *crio =
	    "0::/kubepods.slice/kubepods-pod11111111_2222_3333_4444_555555555555.slice/"
	    "crio-0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef."
	    "scope";
	dnsreel_cgroup_parse(crio, uid, sizeof(uid), cid, sizeof(cid), path, sizeof(path));
	CHECK(!strcmp(uid, "11111111-2222-3333-4444-555555555555"));
	CHECK(!strncmp(cid, "0123456789abcdef", 16));
	const char *dock =
	    "0::/system.slice/"
	    "docker-0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef."
	    "scope\n";
	dnsreel_cgroup_parse(dock, uid, sizeof(uid), cid, sizeof(cid), path, sizeof(path));
	CHECK(uid[0] == 0 && strlen(cid) == 64);
	dnsreel_cgroup_parse("0::/user.slice/user-0.slice/session-1.scope\n", uid, sizeof(uid), cid,
			     sizeof(cid), path, sizeof(path));
	CHECK(uid[0] == 0 && cid[0] == 0 &&
	      !strcmp(path, "/user.slice/user-0.slice/session-1.scope"));
	dnsreel_cgroup_parse("garbage without colons", uid, sizeof(uid), cid, sizeof(cid), path,
			     sizeof(path));
	CHECK(uid[0] == 0 && cid[0] == 0);
}

struct svclist {
	struct dnsreel_service_ctx s[8];
	int n;
};
static void add_svc(void *arg, const struct dnsreel_service_ctx *s)
{
	struct svclist *l = arg;
	if (l->n < 8)
		l->s[l->n++] = *s;
}

static void test_iptables(void)
{
	const char *text =
	    "# Generated by iptables-save\n*nat\n:PREROUTING ACCEPT [0:0]\n"
	    "-A KUBE-SERVICES -d 10.96.0.10/32 -p udp -m comment --comment "
	    "\"kube-system/kube-dns:dns cluster IP\" -m udp --dport 53 -j "
	    "KUBE-SVC-TCOU7JCQXEZGVUNU\n"
	    "-A KUBE-SERVICES -d 10.96.0.10/32 -p tcp -m comment --comment "
	    "\"kube-system/kube-dns:dns-tcp cluster IP\" -m tcp --dport 53 -j "
	    "KUBE-SVC-ERIFXISQEP7F7OF4\n"
	    "-A KUBE-SVC-TCOU7JCQXEZGVUNU -m comment --comment \"kube-system/kube-dns:dns -> "
	    "10.244.0.2:53\" -j KUBE-SEP-X\n"
	    "-A PREROUTING -d 10.96.0.10/32 -p udp --dport 53 -j DNAT --to-destination 10.244.0.2\n"
	    "COMMIT\n";
	struct svclist l = {.n = 0};
	CHECK(dnsreel_iptables_parse(text, add_svc, &l) == 2);
	CHECK(l.n == 2);
	CHECK(!strcmp(l.s[0].k8s_namespace, "kube-system") && !strcmp(l.s[0].name, "kube-dns"));
	CHECK(l.s[0].port == 53 && l.s[0].proto == 17 && l.s[0].addr[0] == 10);
	CHECK(l.s[1].proto == 6);
	CHECK(dnsreel_iptables_parse("", add_svc, &l) == 0);
	CHECK(dnsreel_iptables_parse("-A X --comment \"unterminated", add_svc, &l) == 0);
}

/* As `nft -j list map ip kube-proxy service-ips` prints it (nftables 1.0.6), twice back to
 * back as the recorder's dump gives them (ip then ip6). */
static void test_nft(void)
{
	const char *text =
	    "{\"nftables\": [{\"metainfo\": {\"version\": \"1.0.6\", \"json_schema_version\": 1}},"
	    " {\"map\": {\"family\": \"ip\", \"name\": \"service-ips\", \"table\": "
	    "\"kube-proxy\", \"type\": [\"ipv4_addr\", \"inet_proto\", \"inet_service\"], "
	    "\"map\": \"verdict\", \"elem\": ["
	    "[{\"elem\": {\"val\": {\"concat\": [\"10.96.0.10\", \"udp\", 53]}, \"comment\": "
	    "\"kube-system/kube-dns:dns\"}}, {\"goto\": {\"target\": \"service-X\"}}],"
	    "[{\"elem\": {\"val\": {\"concat\": [\"10.96.0.1\", 6, \"443\"]}, \"comment\": "
	    "\"default/kubernetes\"}}, {\"goto\": {\"target\": \"service-Y\"}}],"
	    "[{\"elem\": {\"val\": {\"concat\": [\"10.96.0.9\", \"udp\", 53]}}}, "
	    "{\"goto\": {\"target\": \"no-comment\"}}]]}}]}\n"
	    "{\"nftables\": [{\"map\": {\"family\": \"ip6\", \"name\": \"service-ips\", "
	    "\"table\": \"kube-proxy\", \"elem\": [[{\"elem\": {\"val\": {\"concat\": "
	    "[\"fd00:96::a\", \"tcp\", 53]}, \"comment\": \"kube-system/kube-dns:dns-tcp\"}}, "
	    "{\"goto\": {\"target\": \"s\"}}]]}},"
	    " {\"map\": {\"family\": \"ip6\", \"name\": \"other\", \"table\": \"kube-proxy\", "
	    "\"elem\": [[{\"elem\": {\"val\": {\"concat\": [\"fd00::1\", \"tcp\", 1]}, "
	    "\"comment\": \"a/b\"}}, 1]]}}]}\n";
	struct svclist l = {.n = 0};
	CHECK(dnsreel_nft_json_parse(text, strlen(text), add_svc, &l) == 3);
	CHECK(l.n == 3);
	CHECK(!strcmp(l.s[0].k8s_namespace, "kube-system") && !strcmp(l.s[0].name, "kube-dns"));
	CHECK(l.s[0].ip_version == 4 && l.s[0].port == 53 && l.s[0].proto == 17);
	CHECK(!strcmp(l.s[1].k8s_namespace, "default") && !strcmp(l.s[1].name, "kubernetes"));
	CHECK(l.s[1].port == 443 && l.s[1].proto == 6 && l.s[1].addr[3] == 1);
	CHECK(l.s[2].ip_version == 6 && l.s[2].proto == 6 && !strcmp(l.s[2].name, "kube-dns"));
	l.n = 0;
	CHECK(dnsreel_nft_json_parse("", 0, add_svc, &l) == 0);
	CHECK(dnsreel_nft_json_parse("{\"nftables\": 5}", 15, add_svc, &l) == 0);
	CHECK(dnsreel_nft_json_parse("{\"nftables\": [", 14, add_svc, &l) == -EINVAL);
	CHECK(dnsreel_nft_json_parse("Error: No such file", 19, add_svc, &l) == -EINVAL);
	CHECK(l.n == 0);
}

static void test_k8s_lookup(void)
{
	char tmpl[] = "/tmp/dnsreel-k8s-XXXXXX";
	char *d = mkdtemp(tmpl);
	CHECK(d != NULL);
	if (!d)
		return;
	char p[512];
	const char *uid = "0b7a6b1e-4c1d-4f57-9a63-2d7c1f1b3a11";
	const char *cid = "a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90";
	snprintf(p, sizeof(p), "%s/pods", d);
	mkdir(p, 0755);
	snprintf(p, sizeof(p), "%s/pods/kube-system_coredns-abc_%s", d, uid);
	mkdir(p, 0755);
	snprintf(p, sizeof(p), "%s/pods/kube-system_coredns-abc_%s/coredns", d, uid);
	mkdir(p, 0755);
	struct dnsreel_netns_ctx ns;
	memset(&ns, 0, sizeof(ns));
	snprintf(p, sizeof(p), "%s/pods", d);
	CHECK(dnsreel_k8s_lookup(p, NULL, NULL, uid, cid, &ns) == 0);
	CHECK(!strcmp(ns.k8s_namespace, "kube-system") && !strcmp(ns.k8s_podname, "coredns-abc"));
	CHECK(!strcmp(ns.k8s_containername, "coredns") && !strcmp(ns.k8s_pod_uid, uid));
	CHECK(!strcmp(ns.runtime_containername, "coredns")); /* the CRI name is kubelet's */
	memset(&ns, 0, sizeof(ns));
	CHECK(dnsreel_k8s_lookup(p, NULL, NULL, "ffffffff-4c1d-4f57-9a63-2d7c1f1b3a11", cid, &ns) <
	      0);
	char cmd[600];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", d);
	CHECK(system(cmd) == 0);
}

int main(void)
{
	test_ipv4_udp();
	test_ipv4_bad();
	test_fragments();
	test_tcp();
	test_ipv6();
	test_random();
	test_ports();
	test_service();
	test_cgroup();
	test_iptables();
	test_nft();
	test_k8s_lookup();
	if (check_failures) {
		fprintf(stderr, "%d checks failed\n", check_failures);
		return 1;
	}
	printf("ok: record parsers\n");
	return 0;
}
