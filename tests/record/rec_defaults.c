/* Prints the recorder's effective defaults as the man page and --help write them ("flush
 * 200ms"), from the constants the libraries use, for test_record_defaults.sh. */
#include <stdio.h>

#include "capture.h"
#include "recorder.h"

static void size(const char *opt, unsigned long long v)
{
	if (v % (1ull << 30) == 0)
		printf("%s %lluG\n", opt, v >> 30);
	else if (v % (1ull << 20) == 0)
		printf("%s %lluM\n", opt, v >> 20);
	else if (v % (1ull << 10) == 0)
		printf("%s %lluK\n", opt, v >> 10);
	else
		printf("%s %llu\n", opt, v);
}

static void duration(const char *opt, long long ns)
{
	if (ns % 1000000000 == 0)
		printf("%s %llds\n", opt, ns / 1000000000);
	else if (ns % 1000000 == 0)
		printf("%s %lldms\n", opt, ns / 1000000);
	else
		printf("%s %lldus\n", opt, ns / 1000);
}

int main(void)
{
	duration("flush", DNSREEL_REC_DEFAULT_FLUSH_NS);
	size("segment-size", DNSREEL_CAPW_DEFAULT_SEGMENT_BYTES);
	printf("zstd-level %d\n", DNSREEL_CAPW_DEFAULT_ZSTD_LEVEL);
	printf("busy-zstd-level %d\n", DNSREEL_REC_DEFAULT_BUSY_ZSTD_LEVEL);
	printf("ports %s\n", DNSREEL_REC_DEFAULT_PORTS);
	printf("snaplen %d\n", DNSREEL_REC_DEFAULT_SNAPLEN);
	size("ringbuf-size", DNSREEL_REC_DEFAULT_RINGBUF_BYTES);
	duration("scan-interval", DNSREEL_REC_DEFAULT_SCAN_NS);
	printf("hook %s\n", DNSREEL_REC_DEFAULT_HOOK_NAME);
	return 0;
}
