/* DNS parser: real messages from nsd (data/, see make_data.sh), hand-built compression attacks,
 * truncation at every byte, EDNS and client subnet, every RR type's text, trace_dns names. */
#include <dirent.h>
#include <stdint.h>
#include <time.h>

#include "check.h"
#include "dns.h"
#include "dnsreel.h"

static unsigned char *load(const char *name, size_t *len)
{
	char path[1024];
	snprintf(path, sizeof(path), "%s/%s", DATA_DIR, name);
	unsigned char *b = check_read_file(path, len);
	if (!b) {
		fprintf(stderr, "cannot read %s\n", path);
		check_failures++;
	}
	return b;
}

/* Collects every RR's "SECTION NAME TYPE RDATA" line into out. */
static int rrs(const unsigned char *m, size_t len, char out[][2048], int max)
{
	struct dnsreel_dns_iter it;
	struct dnsreel_dns_rr rr;
	int n = 0;
	dnsreel_dns_iter_init(&it, m, len);
	while (n < max && dnsreel_dns_iter_next(&it, &rr) == 1) {
		char rd[512];
		int r = dnsreel_dns_rdata_str(m, len, &rr, rd, sizeof(rd));
		snprintf(out[n++], 2048, "%d %s %u %s", rr.section, rr.name, rr.type,
			 r < 0 ? "ERR" : rd);
	}
	return n;
}

static bool has_rr(char out[][2048], int n, const char *want)
{
	for (int i = 0; i < n; i++)
		if (!strcmp(out[i], want))
			return true;
	fprintf(stderr, "missing RR \"%s\"; have:\n", want);
	for (int i = 0; i < n; i++)
		fprintf(stderr, "  %s\n", out[i]);
	return false;
}

static void test_real(void)
{
	static struct dnsreel_dns d;
	static char out[64][2048];
	size_t len;
	unsigned char *m;
	int n;

	m = load("a.r.bin", &len);
	if (m) {
		CHECK_INT(dnsreel_dns_parse(m, len, &d), 0);
		CHECK_INT(d.qr, 1);
		CHECK_INT(d.aa, 1);
		CHECK_STR(d.qname, "www.example.test.");
		CHECK_INT(d.qtype, 1);
		CHECK_STR(d.addresses, "192.0.2.10,192.0.2.11");
		CHECK_INT(d.num_answers, 2);
		CHECK_INT(d.min_ttl, 300);
		CHECK_INT(d.rcode, 0);
		CHECK(!d.has_edns);
		n = rrs(m, len, out, 64);
		CHECK_INT(n, 6);
		CHECK(has_rr(out, n, "1 www.example.test. 1 192.0.2.10"));
		CHECK(has_rr(out, n, "2 example.test. 2 ns2.example.test."));
		CHECK(has_rr(out, n, "3 ns2.example.test. 28 2001:db8::53"));
		free(m);
	}
	m = load("a.q.bin", &len);
	if (m) {
		CHECK_INT(dnsreel_dns_parse(m, len, &d), 0);
		CHECK_INT(d.qr, 0);
		CHECK_INT(d.rd, 1);
		CHECK_STR(d.addresses, "");
		free(m);
	}
	m = load("cname_chain.r.bin", &len);
	if (m) {
		CHECK_INT(dnsreel_dns_parse(m, len, &d), 0);
		CHECK_INT(d.num_answers, 4);
		CHECK_STR(d.addresses, "192.0.2.10,192.0.2.11");
		n = rrs(m, len, out, 64);
		CHECK(has_rr(out, n, "1 chain.example.test. 5 alias.example.test."));
		CHECK(has_rr(out, n, "1 alias.example.test. 5 www.example.test."));
		free(m);
	}
	m = load("aaaa.r.bin", &len);
	if (m) {
		CHECK_INT(dnsreel_dns_parse(m, len, &d), 0);
		CHECK_STR(d.addresses, "2001:db8::10");
		CHECK(d.has_edns);
		CHECK_INT(d.edns_udp_size, 1232);
		CHECK(!d.edns_do);
		free(m);
	}
	m = load("mx.r.bin", &len);
	if (m) {
		CHECK_INT(dnsreel_dns_parse(m, len, &d), 0);
		CHECK(d.edns_do);
		n = rrs(m, len, out, 64);
		CHECK(has_rr(out, n, "1 example.test. 15 10 mail.example.test."));
		CHECK(has_rr(out, n, "1 example.test. 15 20 mail2.example.test."));
		CHECK(has_rr(out, n, "3 . 41 udp=1232 ver=0 do=1"));
		free(m);
	}
	m = load("txt.r.bin", &len);
	if (m) {
		n = rrs(m, len, out, 64);
		CHECK(has_rr(
		    out, n,
		    "1 txt.example.test. 16 \"v=spf1 -all\" \"second \\\"quoted\\\" string\""));
		free(m);
	}
	m = load("srv.r.bin", &len);
	if (m) {
		n = rrs(m, len, out, 64);
		CHECK(has_rr(out, n, "1 _sip._tcp.example.test. 33 10 60 5060 www.example.test."));
		free(m);
	}
	m = load("soa.r.bin", &len);
	if (m) {
		n = rrs(m, len, out, 64);
		CHECK(has_rr(
		    out, n,
		    "1 example.test. 6 ns1.example.test. hostmaster.example.test. 2026112601 "
		    "3600 600 86400 60"));
		free(m);
	}
	m = load("ptr.r.bin", &len);
	if (m) {
		n = rrs(m, len, out, 64);
		CHECK(
		    has_rr(out, n, "1 1.2.0.192.in-addr.arpa.example.test. 12 www.example.test."));
		free(m);
	}
	m = load("generic.r.bin", &len);
	if (m) {
		CHECK_INT(dnsreel_dns_parse(m, len, &d), 0);
		CHECK_INT(d.qtype, 65534);
		n = rrs(m, len, out, 64);
		CHECK(has_rr(out, n, "1 loc.example.test. 65534 \\# 4 deadbeef"));
		free(m);
	}
	m = load("nxdomain.r.bin", &len);
	if (m) {
		CHECK_INT(dnsreel_dns_parse(m, len, &d), 0);
		CHECK_INT(d.rcode, 3);
		CHECK_STR(dnsreel_dns_rcode_name(d.rcode), "NameError");
		CHECK_INT(d.num_answers, 0);
		free(m);
	}
	m = load("refused.r.bin", &len);
	if (m) {
		CHECK_INT(dnsreel_dns_parse(m, len, &d), 0);
		CHECK_STR(dnsreel_dns_rcode_name(d.rcode), "Refused");
		free(m);
	}
	m = load("ecs4.q.bin", &len);
	if (m) {
		CHECK_INT(dnsreel_dns_parse(m, len, &d), 0);
		CHECK_STR(d.edns_client_subnet, "10.1.2.0/24");
		free(m);
	}
	/* messages from the wild: evidence kept where a stricter parser threw it away */
	m = load("wild_qname_loop.r.bin", &len);
	if (m) {
		CHECK_INT(dnsreel_dns_parse(m, len, &d), 0);
		CHECK(d.qname_bad);
		CHECK_INT(d.bad_name_off, 12);
		CHECK_STR(d.addresses, "10.0.0.7");
		n = rrs(m, len, out, 64);
		CHECK_INT(n, 1);
		free(m);
	}
	m = load("damaged_label41.r.bin", &len);
	if (m) {
		/* never guessed past: the first answer stays, the error names the bad label */
		CHECK_INT(dnsreel_dns_parse(m, len, &d), DNSREEL_E_CORRUPT);
		CHECK_INT(d.err_off, 40);
		CHECK_STR(d.addresses, "10.0.0.8");
		free(m);
	}
	m = load("wild_long_qname.r.bin", &len);
	if (m) {
		CHECK_INT(dnsreel_dns_parse(m, len, &d), 0);
		CHECK(d.qname_bad);
		CHECK_STR(d.addresses, "10.0.0.10");
		free(m);
	}
	m = load("update_empty.q.bin", &len);
	if (m) {
		n = rrs(m, len, out, 64);
		CHECK_INT(n, 2);
		CHECK(has_rr(out, n, "1 a.example.test. 1 "));
		CHECK(has_rr(out, n, "2 b.example.test. 1 "));
		free(m);
	}
	m = load("iquery_empty.q.bin", &len);
	if (m) {
		n = rrs(m, len, out, 64);
		CHECK(has_rr(out, n, "1 . 1 "));
		free(m);
	}
	m = load("edns_cut.q.bin", &len);
	if (m) {
		CHECK_INT(dnsreel_dns_parse(m, len, &d), 0);
		CHECK_STR(d.edns_err, "EDNS option cut by the OPT record length");
		CHECK_INT(d.edns_err_off, 35);
		free(m);
	}
	m = load("ecs_short.q.bin", &len);
	if (m) {
		CHECK_INT(dnsreel_dns_parse(m, len, &d), 0);
		CHECK_STR(d.edns_client_subnet, "");
		CHECK_STR(d.edns_err, "ECS address length disagrees with its source prefix");
		free(m);
	}
	m = load("big_null.r.bin", &len);
	if (m) {
		struct dnsreel_dns_iter it;
		struct dnsreel_dns_rr rr;
		CHECK_INT(dnsreel_dns_iter_init(&it, m, len), 0);
		CHECK_INT(dnsreel_dns_iter_next(&it, &rr), 1);
		static char small[2048], big[3000 * 4 + 64];
		CHECK_INT(dnsreel_dns_rdata_str(m, len, &rr, small, sizeof(small)),
			  DNSREEL_E_LIMIT);
		CHECK_INT(dnsreel_dns_rdata_str(m, len, &rr, big, sizeof(big)), 3 + 5 + 6000);
		free(m);
	}
	m = load("ecs6.q.bin", &len);
	if (m) {
		CHECK_INT(dnsreel_dns_parse(m, len, &d), 0);
		CHECK_STR(d.edns_client_subnet, "2001:db8:1::/48");
		CHECK(d.edns_do);
		n = rrs(m, len, out, 64);
		CHECK(has_rr(out, n, "3 . 41 udp=1232 ver=0 do=1 ecs=2001:db8:1::/48"));
		free(m);
	}
}

/* Every data file cut at every length: an error naming an offset inside what was given, for
 * every prefix; the iterator and rdata printer stay inside the buffer (ASan checks that). */
static void test_truncation(void)
{
	DIR *dir = opendir(DATA_DIR);
	struct dirent *de;
	static struct dnsreel_dns d;
	int files = 0;
	if (!dir) {
		CHECK(!"data dir");
		return;
	}
	while ((de = readdir(dir))) {
		size_t nl = strlen(de->d_name);
		if (nl < 4 || strcmp(de->d_name + nl - 4, ".bin"))
			continue;
		size_t len;
		unsigned char *m = load(de->d_name, &len);
		if (!m)
			continue;
		files++;
		/* damaged_*: a name whose extent cannot be known (0x41 label) stops the parse */
		if (strncmp(de->d_name, "damaged_", 8) == 0)
			CHECK_INT(dnsreel_dns_parse(m, len, &d), DNSREEL_E_CORRUPT);
		else
			CHECK_INT(dnsreel_dns_parse(m, len, &d), 0);
		for (size_t k = 0; k < len; k++) {
			/* a fresh copy of exactly k bytes, so ASan sees any read past it */
			unsigned char *c = malloc(k ? k : 1);
			memcpy(c, m, k);
			int rc = dnsreel_dns_parse(c, k, &d);
			if (rc == 0 || d.err != rc || d.err_off > k || !d.err_what) {
				fprintf(stderr, "%s cut at %zu: rc=%d off=%u\n", de->d_name, k, rc,
					d.err_off);
				check_failures++;
			}
			struct dnsreel_dns_iter it;
			struct dnsreel_dns_rr rr;
			dnsreel_dns_iter_init(&it, c, k);
			char buf[256];
			while (dnsreel_dns_iter_next(&it, &rr) == 1) {
				CHECK(rr.rdata_off + rr.rdlen <= k);
				dnsreel_dns_rdata_str(c, k, &rr, buf, sizeof(buf));
			}
			free(c);
		}
		free(m);
	}
	closedir(dir);
	CHECK(files >= 30);
}

static size_t put_name(unsigned char *p, const char *labels)
{
	/* "3www7example0" style is awkward: take dotted text */
	size_t n = 0;
	const char *s = labels;
	while (*s) {
		const char *e = strchr(s, '.');
		size_t l = e ? (size_t)(e - s) : strlen(s);
		p[n++] = (unsigned char)l;
		memcpy(p + n, s, l);
		n += l;
		s += l + (e ? 1 : 0);
	}
	p[n++] = 0;
	return n;
}

static size_t header(unsigned char *m, uint16_t qd, uint16_t an)
{
	memset(m, 0, 12);
	m[0] = 0x12;
	m[1] = 0x34;
	m[2] = 0x81;
	m[3] = 0x80;
	m[5] = (unsigned char)qd;
	m[7] = (unsigned char)an;
	return 12;
}

/* The header and question fields dnsreel_dns_parse_question() promises to fill as the full parse
 * does; 1 when they agree. */
static int same_question(const struct dnsreel_dns *a, const struct dnsreel_dns *b)
{
	return a->id == b->id && a->qr == b->qr && a->opcode == b->opcode && a->aa == b->aa &&
	       a->tc == b->tc && a->rd == b->rd && a->ra == b->ra && a->z == b->z &&
	       a->ad == b->ad && a->cd == b->cd && (a->rcode & 0xf) == b->rcode &&
	       a->qdcount == b->qdcount && a->ancount == b->ancount && a->nscount == b->nscount &&
	       a->arcount == b->arcount && a->has_question == b->has_question &&
	       !strcmp(a->qname, b->qname) && a->qtype == b->qtype && a->qclass == b->qclass;
}

/* Question-only parse against the full one: every real message whole and cut at every byte,
 * without a cache, with a cold and a warm cache; then more names than the cache has slots. */
static void test_question(void)
{
	DIR *dir = opendir(DATA_DIR);
	struct dirent *de;
	static struct dnsreel_dns full, q;
	struct dnsreel_dns_ncache *nc = NULL;
	int files = 0, bad = 0;

	CHECK_INT(dnsreel_dns_ncache__new(&nc), 0);
	if (!dir || !nc) {
		CHECK(!"data dir or cache");
		if (dir)
			closedir(dir);
		dnsreel_dns_ncache__free(nc);
		return;
	}
	while ((de = readdir(dir))) {
		size_t nl = strlen(de->d_name), len;
		if (nl < 4 || strcmp(de->d_name + nl - 4, ".bin"))
			continue;
		unsigned char *m = load(de->d_name, &len);
		if (!m)
			continue;
		files++;
		for (size_t k = 0; k <= len; k++) {
			unsigned char *c = malloc(k ? k : 1);
			memcpy(c, m, k);
			dnsreel_dns_parse(c, k, &full);
			for (int pass = 0; pass < 3; pass++) {
				int rc = dnsreel_dns_parse_question(c, k, &q, pass ? nc : NULL);
				if (!same_question(&full, &q) || (rc < 0) != (q.err < 0) ||
				    q.num_answers || q.addresses[0] || q.has_edns) {
					fprintf(stderr,
						"%s cut at %zu, pass %d: question differs\n",
						de->d_name, k, pass);
					bad++;
				}
			}
			free(c);
		}
		free(m);
	}
	closedir(dir);
	CHECK(files >= 30);
	CHECK_INT(bad, 0);

	/* 5000 names through 2048 slots: collisions must only cost a decode. */
	unsigned char m[300];
	char want[300];
	for (int round = 0; round < 2; round++) {
		for (int i = 0; i < 5000; i++) {
			size_t n = header(m, 1, 0);
			snprintf(want, sizeof(want), "host-%d.ns-%d.svc.cluster.local.", i, i % 7);
			n += put_name(m + n, want);
			m[n++] = 0;
			m[n++] = 28;
			m[n++] = 0;
			m[n++] = 1;
			CHECK_INT(dnsreel_dns_parse_question(m, n, &q, nc), 0);
			if (strcmp(q.qname, want) || q.qtype != 28 || q.qclass != 1 ||
			    !q.has_question) {
				fprintf(stderr, "name %d round %d: got %s\n", i, round, q.qname);
				check_failures++;
			}
		}
	}
	/* A damaged name is never served from the cache: the same wire, now cut short. */
	size_t n = header(m, 1, 0);
	n += put_name(m + n, "a.example.");
	CHECK_INT(dnsreel_dns_parse_question(m, n, &q, nc), DNSREEL_E_TRUNCATED);
	CHECK_INT(dnsreel_dns_parse_question(m, n - 3, &q, nc), DNSREEL_E_TRUNCATED);
	CHECK_STR(q.qname, "");
	CHECK(!q.has_question);
	CHECK_INT(dnsreel_dns_qr(m, n), 1);
	CHECK_INT(dnsreel_dns_qr(m, 11), -1);
	dnsreel_dns_ncache__free(nc);
}

static void test_compression(void)
{
	unsigned char m[4096];
	char name[DNSREEL_DNS_NAME_MAX];
	size_t next;
	static struct dnsreel_dns d;

	/* a pointer to itself */
	size_t n = header(m, 1, 0);
	m[n++] = 0xc0;
	m[n++] = 12;
	m[n++] = 0;
	m[n++] = 1;
	m[n++] = 0;
	m[n++] = 1;
	/* the name is marked bad with its offset; the rest of the message still decodes */
	CHECK_INT(dnsreel_dns_parse(m, n, &d), 0);
	CHECK(d.qname_bad && d.has_question);
	CHECK_STR(d.qname, "");
	CHECK_INT(d.qtype, 1);
	CHECK_INT(d.bad_names, 1);
	CHECK_INT(d.bad_name_off, 12);
	CHECK_STR(d.bad_name_what, "question");
	CHECK_INT(dnsreel_dns_name(m, n, 12, name, sizeof(name), &next), DNSREEL_E_CORRUPT);

	/* a forward pointer (to a valid name further on) */
	n = header(m, 1, 0);
	m[n++] = 0xc0;
	m[n++] = 18;
	m[n++] = 0;
	m[n++] = 1;
	m[n++] = 0;
	m[n++] = 1;
	n += put_name(m + n, "x");
	CHECK_INT(dnsreel_dns_parse(m, n, &d), 0);
	CHECK(d.qname_bad);
	CHECK_INT(d.bad_name_off, 12);

	/* a two-name loop: A at 12 = "a" + ptr->16, B at 16 = "b" + ptr->12 */
	n = header(m, 1, 0);
	m[n++] = 1;
	m[n++] = 'a';
	m[n++] = 0xc0;
	m[n++] = 16;
	m[n++] = 1;
	m[n++] = 'b';
	m[n++] = 0xc0;
	m[n++] = 12;
	CHECK_INT(dnsreel_dns_name(m, n, 12, name, sizeof(name), &next), DNSREEL_E_CORRUPT);
	CHECK_INT(dnsreel_dns_name(m, n, 16, name, sizeof(name), &next), DNSREEL_E_CORRUPT);

	/* a pointer past the end, and a pointer cut in half */
	n = header(m, 0, 0);
	m[n++] = 0xc3;
	m[n++] = 0xff;
	CHECK(dnsreel_dns_name(m, n, 12, name, sizeof(name), &next) < 0);
	CHECK_INT(dnsreel_dns_name(m, 13, 12, name, sizeof(name), &next), DNSREEL_E_TRUNCATED);

	/* reserved label types 0x40 and 0x80 */
	n = header(m, 0, 0);
	m[n++] = 0x41;
	m[n++] = 'a';
	m[n++] = 0;
	CHECK_INT(dnsreel_dns_name(m, n, 12, name, sizeof(name), &next), DNSREEL_E_CORRUPT);
	m[12] = 0x81;
	CHECK_INT(dnsreel_dns_name(m, n, 12, name, sizeof(name), &next), DNSREEL_E_CORRUPT);

	/* a name longer than 255 octets */
	n = header(m, 0, 0);
	for (int i = 0; i < 5; i++) {
		m[n++] = 63;
		memset(m + n, 'a', 63);
		n += 63;
	}
	m[n++] = 0;
	CHECK_INT(dnsreel_dns_name(m, n, 12, name, sizeof(name), &next), DNSREEL_E_CORRUPT);

	/* a long legal chain of backward pointers: each name one label on the previous */
	n = header(m, 0, 0);
	size_t prev = n;
	m[n++] = 1;
	m[n++] = 'z';
	m[n++] = 0;
	for (int i = 0; i < 40; i++) {
		size_t here = n;
		m[n++] = 1;
		m[n++] = 'a';
		m[n++] = (unsigned char)(0xc0 | (prev >> 8));
		m[n++] = (unsigned char)prev;
		prev = here;
	}
	CHECK_INT(dnsreel_dns_name(m, n, prev, name, sizeof(name), &next), 0);
	CHECK_INT(next, prev + 4);
	CHECK_INT(strlen(name), 40 * 2 + 2);
	/* past the jump cap (64) it is refused even though each jump goes backwards */
	for (int i = 0; i < 40; i++) {
		size_t here = n;
		m[n++] = 1;
		m[n++] = 'b';
		m[n++] = (unsigned char)(0xc0 | (prev >> 8));
		m[n++] = (unsigned char)prev;
		prev = here;
	}
	CHECK_INT(dnsreel_dns_name(m, n, prev, name, sizeof(name), &next), DNSREEL_E_CORRUPT);

	/* escapes: a dot, a space and a high byte inside labels; the root name */
	n = header(m, 0, 0);
	m[n++] = 5;
	memcpy(m + n, "a.b c", 5);
	n += 5;
	m[n++] = 1;
	m[n++] = 0xff;
	m[n++] = 0;
	CHECK_INT(dnsreel_dns_name(m, n, 12, name, sizeof(name), &next), 0);
	CHECK_STR(name, "a\\.b\\032c.\\255.");
	m[12] = 0;
	CHECK_INT(dnsreel_dns_name(m, 13, 12, name, sizeof(name), &next), 0);
	CHECK_STR(name, ".");
	/* a buffer too small is a limit, not an overflow */
	n = header(m, 0, 0);
	n += put_name(m + n, "www.example.com");
	CHECK_INT(dnsreel_dns_name(m, n, 12, name, 5, &next), DNSREEL_E_LIMIT);
	CHECK_INT(dnsreel_dns_name(m, n, 12, name, 17, &next), 0);
	CHECK_STR(name, "www.example.com.");
}

static void test_edns(void)
{
	unsigned char m[512];
	static struct dnsreel_dns d;
	/* response, header rcode 0, OPT with extended rcode 1 -> 16 (BADVERS), version 1 */
	size_t n = header(m, 1, 0);
	m[11] = 1; /* arcount */
	n += put_name(m + n, "example.com");
	m[n++] = 0, m[n++] = 1, m[n++] = 0, m[n++] = 1;
	m[n++] = 0;		      /* root */
	m[n++] = 0, m[n++] = 41;      /* OPT */
	m[n++] = 0x04, m[n++] = 0xd0; /* 1232 */
	m[n++] = 1, m[n++] = 1, m[n++] = 0x80, m[n++] = 0;
	m[n++] = 0, m[n++] = 11; /* rdlen */
	m[n++] = 0, m[n++] = 8;	 /* ECS */
	m[n++] = 0, m[n++] = 7;
	m[n++] = 0, m[n++] = 1, m[n++] = 20, m[n++] = 0; /* IPv4 /20 */
	m[n++] = 10, m[n++] = 20, m[n++] = 48;
	CHECK_INT(dnsreel_dns_parse(m, n, &d), 0);
	CHECK(d.has_edns);
	CHECK_INT(d.rcode, 16);
	CHECK(dnsreel_dns_rcode_name(d.rcode) == NULL);
	CHECK_INT(d.edns_version, 1);
	CHECK(d.edns_do);
	CHECK_INT(d.edns_udp_size, 1232);
	CHECK_STR(d.edns_client_subnet, "10.20.48.0/20");
	/* an ECS option claiming more bytes than the OPT holds is ignored, not read past */
	m[n - 9] = 50;
	CHECK_INT(dnsreel_dns_parse(m, n, &d), 0);
	CHECK_STR(d.edns_client_subnet, "");
}

static void test_rdata_damage(void)
{
	unsigned char m[256];
	struct dnsreel_dns_rr rr;
	char buf[64];
	size_t n = header(m, 0, 1);
	m[n++] = 0;
	memset(&rr, 0, sizeof(rr));
	rr.rdata_off = (uint32_t)n;
	/* A with 3 bytes, AAAA with 4, MX whose name runs past its rdata, TXT too long */
	m[n++] = 1, m[n++] = 2, m[n++] = 3, m[n++] = 4;
	rr.type = 1;
	rr.rdlen = 3;
	CHECK_INT(dnsreel_dns_rdata_str(m, n, &rr, buf, sizeof(buf)), DNSREEL_E_CORRUPT);
	rr.rdlen = 4;
	CHECK_INT(dnsreel_dns_rdata_str(m, n, &rr, buf, sizeof(buf)), 7);
	CHECK_STR(buf, "1.2.3.4");
	rr.type = 28;
	CHECK_INT(dnsreel_dns_rdata_str(m, n, &rr, buf, sizeof(buf)), DNSREEL_E_CORRUPT);
	rr.type = 16;
	m[rr.rdata_off] = 9;
	CHECK_INT(dnsreel_dns_rdata_str(m, n, &rr, buf, sizeof(buf)), DNSREEL_E_CORRUPT);
	rr.type = 15;
	m[rr.rdata_off] = 0, m[rr.rdata_off + 1] = 10, m[rr.rdata_off + 2] = 5;
	CHECK(dnsreel_dns_rdata_str(m, n, &rr, buf, sizeof(buf)) < 0);
	rr.rdlen = 200; /* past the message */
	CHECK_INT(dnsreel_dns_rdata_str(m, n, &rr, buf, sizeof(buf)), DNSREEL_E_TRUNCATED);
	/* generic text that does not fit: a limit, the buffer stays terminated */
	rr.type = 999;
	rr.rdlen = 4;
	CHECK_INT(dnsreel_dns_rdata_str(m, n, &rr, buf, 8), DNSREEL_E_LIMIT);
	CHECK(strlen(buf) < 8);
}

static void test_names(void)
{
	CHECK_STR(dnsreel_dns_type_name(1), "A");
	CHECK_STR(dnsreel_dns_type_name(28), "AAAA");
	CHECK_STR(dnsreel_dns_type_name(33), "SRV");
	CHECK_STR(dnsreel_dns_type_name(255), "ALL");
	CHECK_STR(dnsreel_dns_type_name(252), "AXFR");
	CHECK(dnsreel_dns_type_name(65) == NULL); /* trace_dns prints 65 */
	CHECK_STR(dnsreel_dns_rcode_name(0), "Success");
	CHECK_STR(dnsreel_dns_rcode_name(1), "FormatError");
	CHECK_STR(dnsreel_dns_rcode_name(2), "ServerFailure");
	CHECK_STR(dnsreel_dns_rcode_name(3), "NameError");
	CHECK_STR(dnsreel_dns_rcode_name(4), "NotImplemented");
	CHECK_STR(dnsreel_dns_rcode_name(5), "Refused");
	CHECK(dnsreel_dns_rcode_name(6) == NULL);
	CHECK_STR(dnsreel_dns_opcode_name(0), "QUERY");
	CHECK_STR(dnsreel_dns_opcode_name(5), "UPDATE");
	CHECK(dnsreel_dns_opcode_name(3) == NULL);
	CHECK_INT(dnsreel_dns_type_from_name("aaaa"), 28);
	CHECK_INT(dnsreel_dns_type_from_name("HTTPS"), 65);
	CHECK_INT(dnsreel_dns_type_from_name("TYPE65"), 65);
	CHECK_INT(dnsreel_dns_type_from_name("65"), 65);
	CHECK_INT(dnsreel_dns_type_from_name("bogus"), -1);
	CHECK_INT(dnsreel_dns_type_from_name("70000"), -1);
	CHECK_INT(dnsreel_dns_rcode_from_name("nameerror"), 3);
	CHECK_INT(dnsreel_dns_rcode_from_name("NXDOMAIN"), 3);
	CHECK_INT(dnsreel_dns_rcode_from_name("servfail"), 2);
	CHECK_INT(dnsreel_dns_rcode_from_name("16"), 16);
	CHECK_INT(dnsreel_dns_rcode_from_name("x"), -1);
}

/* Not a pass/fail check: prints the parse rate so the report has a number. */
static void bench(void)
{
	size_t len;
	unsigned char *m = load("cname_chain.r.bin", &len);
	if (!m)
		return;
	static struct dnsreel_dns d;
	struct timespec a, b;
	unsigned long iters = 1000000, sum = 0;
	clock_gettime(CLOCK_MONOTONIC, &a);
	for (unsigned long i = 0; i < iters; i++) {
		m[1] = (unsigned char)i;
		dnsreel_dns_parse(m, len, &d);
		sum += d.num_answers;
	}
	clock_gettime(CLOCK_MONOTONIC, &b);
	double s = (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9;
	printf("parse: %.1f M msgs/s (%zu-byte response, 4 answers, %lu)\n", iters / s / 1e6, len,
	       sum / iters);
	free(m);
}

int main(void)
{
	test_real();
	test_truncation();
	test_compression();
	test_question();
	test_edns();
	test_rdata_damage();
	test_names();
	bench();
	return check_done("test_dns");
}
