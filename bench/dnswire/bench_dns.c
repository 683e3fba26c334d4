/* Parse rate of the DNS parser against glibc's libresolv (ns_initparse/ns_parserr), the
 * parser a C program on Linux would otherwise use, on the real nsd messages of
 * tests/dnswire/data. Both decode the header, the question name and walk every RR with its
 * owner name. Prints messages/s for each and the ratio, then the rate of the parse alone.
 * Usage: bench_dns [DATA_DIR] [ROUNDS] */
#include <arpa/nameser.h>
#include <dirent.h>
#include <resolv.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dns.h"

struct msg {
	unsigned char *b;
	size_t n;
};

static double now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	const char *dir = argc > 1 ? argv[1] : DATA_DIR;
	long rounds = argc > 2 ? atol(argv[2]) : 100000;
	struct msg m[128];
	int nm = 0;
	DIR *d = opendir(dir);
	if (!d) {
		fprintf(stderr, "bench_dns: cannot open %s\n", dir);
		return 1;
	}
	struct dirent *de;
	while ((de = readdir(d)) && nm < 128) {
		size_t l = strlen(de->d_name);
		if (l < 4 || strcmp(de->d_name + l - 4, ".bin"))
			continue;
		char p[4096];
		snprintf(p, sizeof(p), "%s/%s", dir, de->d_name);
		FILE *f = fopen(p, "rb");
		if (!f)
			continue;
		m[nm].b = malloc(65536);
		m[nm].n = fread(m[nm].b, 1, 65536, f);
		fclose(f);
		nm++;
	}
	closedir(d);
	if (!nm) {
		fprintf(stderr, "bench_dns: no .bin messages in %s\n", dir);
		return 1;
	}

	static struct dnsreel_dns dd;
	struct dnsreel_dns_iter it;
	struct dnsreel_dns_rr rr;
	unsigned long sink = 0;
	double t0 = now();
	for (long r = 0; r < rounds; r++)
		for (int i = 0; i < nm; i++) {
			dnsreel_dns_parse(m[i].b, m[i].n, &dd);
			sink += dd.num_answers + (unsigned char)dd.qname[0];
			dnsreel_dns_iter_init(&it, m[i].b, m[i].n);
			while (dnsreel_dns_iter_next(&it, &rr) == 1)
				sink += rr.type + (unsigned char)rr.name[0];
		}
	double t1 = now();
	for (long r = 0; r < rounds; r++)
		for (int i = 0; i < nm; i++) {
			ns_msg h;
			ns_rr rrr;
			char name[NS_MAXDNAME];
			if (ns_initparse(m[i].b, (int)m[i].n, &h) < 0)
				continue;
			if (ns_msg_count(h, ns_s_qd) && ns_parserr(&h, ns_s_qd, 0, &rrr) == 0)
				sink += (unsigned char)ns_rr_name(rrr)[0];
			for (int s = ns_s_an; s <= ns_s_ar; s++)
				for (int k = 0; k < ns_msg_count(h, (ns_sect)s); k++)
					if (ns_parserr(&h, (ns_sect)s, k, &rrr) == 0)
						sink += ns_rr_type(rrr) +
							(unsigned char)ns_rr_name(rrr)[0];
			(void)name;
		}
	double t2 = now();
	/* what replay and query need per event: header, question, addresses, EDNS */
	for (long r = 0; r < rounds; r++)
		for (int i = 0; i < nm; i++) {
			dnsreel_dns_parse(m[i].b, m[i].n, &dd);
			sink += dd.num_answers + (unsigned char)dd.addresses[0];
		}
	double t3 = now();
	double n = (double)rounds * nm;
	double a = n / (t1 - t0), b = n / (t2 - t1);
	printf("messages: %d real nsd messages x %ld rounds\n", nm, rounds);
	printf("dnsreel_dns_parse + RR walk: %8.2f M msgs/s\n", a / 1e6);
	printf("libresolv ns_initparse + ns_parserr: %8.2f M msgs/s\n", b / 1e6);
	printf("ratio dnsreel/libresolv: %.2fx (sink %lu)\n", a / b, sink % 7);
	printf("dnsreel_dns_parse alone (header, question, addresses, EDNS): %8.2f M msgs/s\n",
	       n / (t3 - t2) / 1e6);
	for (int i = 0; i < nm; i++)
		free(m[i].b);
	return 0;
}
