/* dnsreel-synth: writes a synthetic capture (realistic kube DNS mix) for tests and benchmarks. */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dnsreel.h"
#include "synth.h"

static const char usage[] =
    "Usage: dnsreel-synth -o DIR -n EVENTS [OPTIONS]\n"
    "Writes a synthetic DNS capture (kube-style names, search-path NXDOMAINs, A/AAAA/SRV/TXT).\n"
    "\n"
    "  -o, --output DIR       capture directory to create\n"
    "  -n, --events N         number of events\n"
    "      --multi-hop        also emit node, forwarder and upstream copies\n"
    "      --tcp              some transactions over TCP (split and coalesced)\n"
    "      --seed N           random seed (default 1)\n"
    "      --qps N            client queries per second (default 20000)\n"
    "      --pods N           client pods (default 50)\n"
    "      --block-events N   events per frame (default 4096)\n"
    "      --segment-bytes N  rotate segments at N bytes (default 64 MiB)\n"
    "      --zstd-level N     zstd level (default 3)\n"
    "      --fsync            sync every frame (default: no fsync, it is test data)\n"
    "  -h, --help             this help\n";

static int num(const char *s, uint64_t *out)
{
	char *end;
	unsigned long long v = strtoull(s, &end, 0);
	if (!*s || *end)
		return -1;
	*out = v;
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
	    {"output", required_argument, 0, 'o'},
	    {"events", required_argument, 0, 'n'},
	    {"multi-hop", no_argument, 0, 'm'},
	    {"tcp", no_argument, 0, 't'},
	    {"seed", required_argument, 0, 's'},
	    {"qps", required_argument, 0, 'q'},
	    {"pods", required_argument, 0, 'p'},
	    {"block-events", required_argument, 0, 'b'},
	    {"segment-bytes", required_argument, 0, 'g'},
	    {"zstd-level", required_argument, 0, 'z'},
	    {"fsync", no_argument, 0, 'f'},
	    {"help", no_argument, 0, 'h'},
	    {0, 0, 0, 0},
	};
	struct dnsreel_synth_opts so = {.seed = 1};
	struct dnsreel_capw_opts wo = {.sz = sizeof(wo), .no_fsync = true};
	const char *dir = NULL;
	uint64_t n = 0, v;
	bool have_n = false;
	int c;
	while ((c = getopt_long(argc, argv, "o:n:h", lo, NULL)) != -1) {
		switch (c) {
		case 'o':
			dir = optarg;
			break;
		case 'n':
			if (num(optarg, &n))
				goto bad;
			have_n = true;
			break;
		case 'm':
			so.multi_hop = true;
			break;
		case 't':
			so.tcp = true;
			break;
		case 's':
			if (num(optarg, &so.seed))
				goto bad;
			break;
		case 'q':
			if (num(optarg, &v) || !v || v > 100000000)
				goto bad;
			so.qps = (uint32_t)v;
			break;
		case 'p':
			if (num(optarg, &v) || !v || v > 60000)
				goto bad;
			so.pods = (uint32_t)v;
			break;
		case 'b':
			if (num(optarg, &v) || !v || v > 1000000)
				goto bad;
			wo.block_events = (uint32_t)v;
			break;
		case 'g':
			if (num(optarg, &v) || !v)
				goto bad;
			wo.segment_bytes = v;
			break;
		case 'z':
			if (num(optarg, &v) || v > 22)
				goto bad;
			wo.zstd_level = (int)v;
			break;
		case 'f':
			wo.no_fsync = false;
			break;
		case 'h':
			fputs(usage, stdout);
			return 0;
		default:
			goto usage_err;
		}
	}
	if (!dir || !have_n || optind != argc) {
		fprintf(stderr, "dnsreel-synth: -o DIR and -n EVENTS are required\n");
		goto usage_err;
	}
	int err = dnsreel_synth_write_capture(dir, &so, &wo, n);
	if (err) {
		fprintf(stderr, "dnsreel-synth: %s: %s\n", dir, dnsreel_strerror(err));
		return 1;
	}
	return 0;
bad:
	fprintf(stderr, "dnsreel-synth: invalid value '%s'\n", optarg);
usage_err:
	fputs("Usage: dnsreel-synth -o DIR -n EVENTS [OPTIONS]\nTry 'dnsreel-synth --help'.\n",
	      stderr);
	return 2;
}
