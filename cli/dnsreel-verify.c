/* dnsreel-verify: checks a capture — block checksums, zstd frames, frame order and decoding,
 * and that index.sqlite says exactly what the segments say. --reindex rebuilds the index from
 * the segments. Each problem is one line on stdout naming the file and byte offset. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "capture.h"
#include "cli.h"
#include "dnsreel.h"

enum { OPT_REINDEX = 1000 };

static const struct dnsreel_opt opts[] = {
    {OPT_REINDEX, "reindex", 0, DNSREEL_NO_ARG, NULL,
     "rebuild index.sqlite from the segments (replaced atomically)", "Repair"},
    {0},
};

static const struct dnsreel_tool tool = {
    .name = "dnsreel-verify",
    .usage = "CAPTURE... [OPTIONS]",
    .summary = "Check a dnsreel capture's checksums, frame order and index consistency.",
    .opts = opts,
    .epilog = "Examples:\n  dnsreel verify incident.reel\n  dnsreel verify --reindex "
	      "incident.reel\n",
};

struct pctx {
	const char *capture;
	FILE *out;
};

static void problem(void *ctx, const char *msg)
{
	struct pctx *p = ctx;
	fprintf(p->out, "%s: %s\n", p->capture, msg);
}

int main(int argc, char **argv)
{
	struct dnsreel_cli c;
	int ret = DNSREEL_EXIT_OK, code = 0, id;
	bool reindex = false;
	dnsreel_cli_init(&c, &tool, argc, argv);
	while ((id = dnsreel_cli_next(&c, &code)) != -1) {
		if (id == DNSREEL_CLI_EXIT) {
			ret = code;
			goto cleanup;
		}
		if (id == OPT_REINDEX)
			reindex = true;
	}
	if (c.optind >= argc) {
		ret = dnsreel_cli_usage_error(&tool, "no capture given");
		goto cleanup;
	}
	for (int i = c.optind; i < argc; i++) {
		struct pctx pc = {argv[i], stdout};
		struct dnsreel_verify_opts vo = {
		    .sz = sizeof(vo), .reindex = reindex, .problem = problem, .ctx = &pc};
		int n = dnsreel_capture_verify(argv[i], &vo);
		fflush(stdout);
		if (n == -EBUSY) {
			dnsreel_err(&c,
				    "%s: in use by a running dnsreel-record; --reindex once it "
				    "has stopped",
				    argv[i]);
			ret = DNSREEL_EXIT_FAIL;
		} else if (n < 0) {
			dnsreel_err(&c, "%s: %s", argv[i], dnsreel_strerror(n));
			ret = DNSREEL_EXIT_FAIL;
		} else if (n > 0) {
			dnsreel_log(&c, 0, "%s: %d problem%s%s", argv[i], n, n == 1 ? "" : "s",
				    reindex ? " in the segments; index rebuilt from what is intact"
					    : "");
			ret = DNSREEL_EXIT_FAIL;
		} else {
			dnsreel_log(&c, 0, "%s: ok%s", argv[i], reindex ? " (index rebuilt)" : "");
		}
	}
cleanup:
	return dnsreel_cli_end(&c, ret);
}
