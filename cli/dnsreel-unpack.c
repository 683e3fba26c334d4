/* dnsreel-unpack: a pack (dnsreel pack) back into a capture directory. Only the files a
 * capture holds are written, inside the new directory; a cut pack gives what is intact. */
#include <stdio.h>

#include "capture.h"
#include "cli.h"
#include "dnsreel.h"

enum { OPT_OUT = 'o' };

static const struct dnsreel_opt opts[] = {
    {OPT_OUT, "output", 'o', DNSREEL_REQ_ARG, "DIR", "the capture directory to create", "Output"},
    {0},
};

static const struct dnsreel_tool tool = {
    .name = "dnsreel-unpack",
    .usage = "FILE -o DIR [OPTIONS]",
    .summary = "Unpack a dnsreel pack into a capture directory.",
    .opts = opts,
    .epilog = "Examples:\n  dnsreel unpack incident.reel.tar -o incident.reel\n",
};

int main(int argc, char **argv)
{
	struct dnsreel_cli c;
	int ret = DNSREEL_EXIT_OK, code = 0, id;
	const char *out = NULL;
	dnsreel_cli_init(&c, &tool, argc, argv);
	while ((id = dnsreel_cli_next(&c, &code)) != -1) {
		if (id == DNSREEL_CLI_EXIT) {
			ret = code;
			goto cleanup;
		}
		if (id == OPT_OUT)
			out = c.arg;
	}
	if (c.optind >= argc) {
		ret = dnsreel_cli_usage_error(&tool, "no pack given");
		goto cleanup;
	}
	if (c.optind + 1 < argc) {
		ret = dnsreel_cli_usage_error(&tool, "one pack at a time ('%s' is a second)",
					      argv[c.optind + 1]);
		goto cleanup;
	}
	if (!out) {
		ret = dnsreel_cli_usage_error(&tool, "no output directory given (-o DIR)");
		goto cleanup;
	}
	char eb[1024] = "";
	int err = dnsreel_pack_extract(argv[c.optind], out, eb, sizeof(eb));
	if (err) {
		dnsreel_err(&c, "%s", eb[0] ? eb : dnsreel_strerror(err));
		ret = DNSREEL_EXIT_FAIL;
	} else if (eb[0]) {
		/* what was intact is unpacked; what was cut is named, and the exit says so */
		dnsreel_err(&c,
			    "%s; unpacked what is intact into %s ('dnsreel verify --reindex "
			    "%s' rebuilds its index)",
			    eb, out, out);
		ret = DNSREEL_EXIT_FAIL;
	}
cleanup:
	return dnsreel_cli_end(&c, ret);
}
