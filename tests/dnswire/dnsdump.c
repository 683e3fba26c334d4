/* Prints what the parser makes of raw DNS message files: header, question, EDNS, every RR with
 * its rdata text. The unit test compares this with expected.txt (golden output). */
#include <stdio.h>
#include <stdlib.h>

#include "dns.h"
#include "dnsreel.h"

static void dump(const char *path)
{
	static uint8_t msg[65536];
	FILE *f = fopen(path, "rb");
	if (!f) {
		printf("%s: cannot open\n", path);
		return;
	}
	size_t len = fread(msg, 1, sizeof(msg), f);
	fclose(f);
	const char *base = path;
	for (const char *p = path; *p; p++)
		if (*p == '/')
			base = p + 1;
	static struct dnsreel_dns d;
	int rc = dnsreel_dns_parse(msg, len, &d);
	const char *tn = dnsreel_dns_type_name(d.qtype);
	const char *rn = dnsreel_dns_rcode_name(d.rcode);
	printf("%s: rc=%d id=%04x qr=%u op=%u aa=%u tc=%u rd=%u ra=%u ad=%u cd=%u rcode=%s(%u) "
	       "counts=%u/%u/%u/%u q=%s %s(%u) an=%u min_ttl=%u addrs=[%s]",
	       base, rc, d.id, d.qr, d.opcode, d.aa, d.tc, d.rd, d.ra, d.ad, d.cd, rn ? rn : "?",
	       d.rcode, d.qdcount, d.ancount, d.nscount, d.arcount, d.qname, tn ? tn : "?", d.qtype,
	       d.num_answers, d.min_ttl, d.addresses);
	if (d.has_edns)
		printf(" edns=udp:%u,v:%u,do:%d,ecs:%s", d.edns_udp_size, d.edns_version, d.edns_do,
		       d.edns_client_subnet);
	if (rc)
		printf(" err_off=%u err_what=%s", d.err_off, d.err_what ? d.err_what : "-");
	if (d.bad_names)
		printf(" bad_names=%u first=%s@%u", d.bad_names, d.bad_name_what, d.bad_name_off);
	if (d.edns_err)
		printf(" edns_err=%s@%u", d.edns_err, d.edns_err_off);
	printf("\n");
	struct dnsreel_dns_iter it;
	struct dnsreel_dns_rr rr;
	static const char *sec[] = {"?", "AN", "NS", "AR"};
	dnsreel_dns_iter_init(&it, msg, len);
	int r;
	while ((r = dnsreel_dns_iter_next(&it, &rr)) == 1) {
		/* sized from the record: hex or escaped text is at most 4 bytes per rdata byte */
		size_t cap = (size_t)rr.rdlen * 4 + 64;
		char *buf = malloc(cap);
		int n = buf ? dnsreel_dns_rdata_str(msg, len, &rr, buf, cap) : -1;
		const char *t = dnsreel_dns_type_name(rr.type);
		char bad[32] = "";
		if (rr.name_bad)
			snprintf(bad, sizeof(bad), "<bad name@%u>", rr.name_bad_off);
		printf("  %s %s%s %u %s(%u) %s\n", sec[rr.section], rr.name, bad, rr.ttl,
		       t ? t : "?", rr.type, n < 0 ? "<damaged>" : buf);
		free(buf);
	}
	if (r < 0)
		printf("  iter error %d\n", r);
}

int main(int argc, char **argv)
{
	for (int i = 1; i < argc; i++)
		dump(argv[i]);
	return 0;
}
