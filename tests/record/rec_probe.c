/* rec_probe: runs the recorder engine without a capture and prints one line per event
 * ("netns pkt_type proto src sport dst dport flags pid comm len"), for the root tests.
 * Usage: rec_probe SECONDS [--ports LIST] [--netns ID]... [--ready FILE] [--snaplen N]
 * Counters go to stderr at exit ("counter NAME VALUE"). */
#include <arpa/inet.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "parse.h"
#include "recorder.h"

static volatile sig_atomic_t stop;
static void on_sig(int s)
{
	(void)s;
	stop = 1;
}

static int on_event(void *arg, const struct dnsreel_event *ev)
{
	(void)arg;
	char s[64], d[64];
	inet_ntop(ev->ip_version == 4 ? AF_INET : AF_INET6, ev->src_addr, s, sizeof(s));
	inet_ntop(ev->ip_version == 4 ? AF_INET : AF_INET6, ev->dst_addr, d, sizeof(d));
	printf("%llu %u %u %s %u %s %u 0x%x %u %s %u %u\n", (unsigned long long)ev->netns,
	       ev->pkt_type, ev->proto, s, ev->src_port, d, ev->dst_port, ev->flags,
	       (ev->flags & DNSREEL_EV_PROC) ? ev->pid : 0,
	       (ev->flags & DNSREEL_EV_PROC) ? ev->comm : "-", ev->orig_len, ev->cap_len);
	return 0;
}

static void print_counter(void *arg, const char *name, uint64_t v)
{
	(void)arg;
	fprintf(stderr, "counter %s %llu\n", name, (unsigned long long)v);
}

static void on_log(void *arg, int level, const char *msg)
{
	(void)arg;
	if (level <= 1 || getenv("REC_PROBE_DEBUG"))
		fprintf(stderr, "rec_probe: %s\n", msg);
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: rec_probe SECONDS [--ports L] [--netns ID] [--ready F]\n");
		return 2;
	}
	double secs = atof(argv[1]);
	static uint8_t bits[8192];
	uint64_t ids[16];
	size_t nids = 0;
	const char *ready = NULL;
	uint32_t snaplen = 0;
	dnsreel_parse_ports("53,5353", bits);
	for (int i = 2; i + 1 < argc; i += 2) {
		if (!strcmp(argv[i], "--ports"))
			dnsreel_parse_ports(argv[i + 1], bits);
		else if (!strcmp(argv[i], "--netns") && nids < 16)
			ids[nids++] = strtoull(argv[i + 1], NULL, 10);
		else if (!strcmp(argv[i], "--ready"))
			ready = argv[i + 1];
		else if (!strcmp(argv[i], "--snaplen"))
			snaplen = (uint32_t)atoi(argv[i + 1]);
	}
	struct dnsreel_recorder_opts o = {.sz = sizeof(o),
					  .port_bits = bits,
					  .netns_ids = ids,
					  .netns_ids_n = nids,
					  .snaplen = snaplen,
					  .log = on_log,
					  .log_level = getenv("REC_PROBE_DEBUG") ? 3 : 1};
	struct dnsreel_sink sink = {.on_event = on_event};
	struct dnsreel_recorder *r;
	char err[256];
	setvbuf(stdout, NULL, _IOLBF, 0);
	signal(SIGINT, on_sig);
	signal(SIGTERM, on_sig);
	if (dnsreel_recorder__new(&r, &o, &sink, err, sizeof(err))) {
		fprintf(stderr, "rec_probe: %s\n", err);
		return 1;
	}
	fprintf(stderr, "rec_probe: proc=%d\n", dnsreel_recorder__has_proc(r));
	if (ready) {
		FILE *f = fopen(ready, "w");
		if (f)
			fclose(f);
	}
	struct timespec t0, t;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (!stop) {
		if (dnsreel_recorder__poll(r, 10) < 0)
			break;
		clock_gettime(CLOCK_MONOTONIC, &t);
		if ((double)(t.tv_sec - t0.tv_sec) + (double)(t.tv_nsec - t0.tv_nsec) / 1e9 >= secs)
			break;
	}
	dnsreel_recorder__drain(r);
	dnsreel_recorder__counters(r, print_counter, NULL);
	fprintf(stderr, "rec_probe: lost=%llu\n", (unsigned long long)dnsreel_recorder__lost(r));
	dnsreel_recorder__free(r);
	return 0;
}
