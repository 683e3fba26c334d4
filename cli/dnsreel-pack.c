/* dnsreel-pack: a capture directory in one plain file (a POSIX ustar, members in a fixed
 * order, the index last, no compression on top of zstd) that every dnsreel reader opens in
 * place. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "capture.h"
#include "cli.h"
#include "dnsreel.h"

enum { OPT_OUT = 'o' };

static const struct dnsreel_opt opts[] = {
    {OPT_OUT, "output", 'o', DNSREEL_REQ_ARG, "FILE",
     "the pack to write (FILE.reel.tar by convention; replaced atomically)", "Output"},
    {0},
};

static const struct dnsreel_tool tool = {
    .name = "dnsreel-pack",
    .usage = "CAPTURE -o FILE [OPTIONS]",
    .summary = "Pack a dnsreel capture into one ustar file that the other tools read in place.",
    .opts = opts,
    .epilog = "Examples:\n  dnsreel pack incident.reel -o incident.reel.tar\n  dnsreel "
	      "verify incident.reel.tar\n",
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
		ret = dnsreel_cli_usage_error(&tool, "no capture given");
		goto cleanup;
	}
	if (c.optind + 1 < argc) {
		ret = dnsreel_cli_usage_error(&tool, "one capture per pack ('%s' is a second)",
					      argv[c.optind + 1]);
		goto cleanup;
	}
	if (!out) {
		ret = dnsreel_cli_usage_error(&tool, "no output file given (-o FILE.reel.tar)");
		goto cleanup;
	}
	char eb[1024] = "";
	struct dnsreel_pack_stats st;
	int err = dnsreel_pack_write(argv[c.optind], out, &st, eb, sizeof(eb));
	if (err) {
		dnsreel_err(&c, "%s", eb[0] ? eb : dnsreel_strerror(err));
		ret = DNSREEL_EXIT_FAIL;
		goto cleanup;
	}
	dnsreel_log(&c, 0, "%s: %llu files, %llu bytes", out, (unsigned long long)st.members,
		    (unsigned long long)st.bytes_pack);
cleanup:
	return dnsreel_cli_end(&c, ret);
}
