/* rec_verify CAPTURE: dnsreel_capture_verify() for the recorder's root tests, so they do not
 * depend on the dnsreel-verify tool being built. Exit 0 clean, 1 problems. */
#include <stdio.h>

#include "capture.h"
#include "dnsreel.h"

static void problem(void *ctx, const char *msg)
{
	(void)ctx;
	fprintf(stderr, "%s\n", msg);
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: rec_verify CAPTURE\n");
		return 2;
	}
	struct dnsreel_verify_opts o = {.sz = sizeof(o), .problem = problem};
	int n = dnsreel_capture_verify(argv[1], &o);
	if (n < 0) {
		fprintf(stderr, "rec_verify: %s: %s\n", argv[1], dnsreel_strerror(n));
		return 1;
	}
	return n ? 1 : 0;
}
