/* rec_verify [--reindex] CAPTURE [NETNS]: dnsreel_capture_verify() for the recorder's root
 * tests, so they do not depend on the dnsreel-verify tool being built. Exit 0 clean, 1
 * problems. --reindex rebuilds the index as verify --reindex does. With NETNS (an inode number)
 * also prints how many events the capture holds for that netns. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "capture.h"
#include "dnsreel.h"

static void problem(void *ctx, const char *msg)
{
	(void)ctx;
	fprintf(stderr, "%s\n", msg);
}

int main(int argc, char **argv)
{
	bool reindex = argc > 1 && !strcmp(argv[1], "--reindex");
	if (reindex) {
		argv++;
		argc--;
	}
	if (argc != 2 && argc != 3) {
		fprintf(stderr, "usage: rec_verify [--reindex] CAPTURE [NETNS]\n");
		return 2;
	}
	struct dnsreel_verify_opts o = {.sz = sizeof(o), .reindex = reindex, .problem = problem};
	int n = dnsreel_capture_verify(argv[1], &o);
	if (n < 0) {
		fprintf(stderr, "rec_verify: %s: %s\n", argv[1], dnsreel_strerror(n));
		return 1;
	}
	if (n)
		return 1;
	if (argc == 3) {
		uint64_t want = strtoull(argv[2], NULL, 10), count = 0;
		struct dnsreel_capr *r;
		char err[512];
		if (dnsreel_capr__open(&r, argv[1], NULL, err, sizeof(err))) {
			fprintf(stderr, "rec_verify: %s\n", err);
			return 1;
		}
		for (size_t i = 0; i < dnsreel_capr__frame_count(r); i++) {
			struct dnsreel_block b;
			if (dnsreel_capr__read_frame(r, i, &b, err, sizeof(err)))
				continue;
			for (size_t j = 0; j < b.n; j++)
				count += b.ev[j].netns == want;
			dnsreel_block__release(&b);
		}
		dnsreel_capr__close(r);
		printf("%llu\n", (unsigned long long)count);
	}
	return 0;
}
