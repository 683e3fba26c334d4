/* dnsreel-merge: captures of several nodes in, one merged capture out (capture.h's
 * dnsreel_capture_merge(): every input copied whole, parts kept apart, warnings stored). */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "capture.h"
#include "cli.h"
#include "dnsreel.h"

enum { OPT_OUTPUT = 'o', OPT_SLACK = 1000 };

static const struct dnsreel_opt opts[] = {
    {OPT_OUTPUT, "output", 'o', DNSREEL_REQ_ARG, "DIR",
     "the merged capture to write (must not exist)", "Output"},
    {OPT_SLACK, "slack", 0, DNSREEL_REQ_ARG, "DURATION",
     "warn when a part misses more than this of the merged time range (default 1s)", "Warnings"},
    {0},
};

static const struct dnsreel_tool tool = {
    .name = "dnsreel-merge",
    .usage = "CAPTURE... -o MERGED [OPTIONS]",
    .summary = "Merge captures of several nodes into one capture on one time line.",
    .opts = opts,
    .epilog = "Examples:\n  dnsreel merge node-a.reel node-b.reel -o cluster.reel\n"
	      "  dnsreel replay cluster.reel --flows\n",
};

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static void warn(void *ctx, const char *msg)
{
	const struct dnsreel_cli *c = ctx;
	dnsreel_log(c, 0, "warning: %s", msg);
}

int main(int argc, char **argv)
{
	struct dnsreel_cli c;
	int ret = DNSREEL_EXIT_OK, code = 0, id;
	const char *out = NULL;
	int64_t slack = 1000000000LL;
	dnsreel_cli_init(&c, &tool, argc, argv);
	while ((id = dnsreel_cli_next(&c, &code)) != -1) {
		if (id == DNSREEL_CLI_EXIT) {
			ret = code;
			goto cleanup;
		}
		switch (id) {
		case OPT_OUTPUT:
			out = c.arg;
			break;
		case OPT_SLACK:
			if (dnsreel_parse_duration(c.arg, &slack) || slack < 0) {
				ret = dnsreel_cli_usage_error(&tool, "--slack: bad duration '%s'",
							      c.arg);
				goto cleanup;
			}
			break;
		}
	}
	if (!out) {
		ret = dnsreel_cli_usage_error(&tool, "no output given (-o MERGED)");
		goto cleanup;
	}
	if (c.optind >= argc) {
		ret = dnsreel_cli_usage_error(&tool, "no capture given");
		goto cleanup;
	}
	struct sigaction sa = {.sa_handler = on_signal};
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	struct dnsreel_capture_merge_opts mo = {
	    .sz = sizeof(mo),
	    .merger = "dnsreel-merge " DNSREEL_VERSION,
	    .warn = warn,
	    .warn_ctx = &c,
	    .coverage_slack_ns = slack ? slack : 1,
	    .stop = &stop,
	};
	struct dnsreel_capture_merge_stats st;
	char eb[1200];
	int err = dnsreel_capture_merge(out, (const char *const *)argv + c.optind,
					(size_t)(argc - c.optind), &mo, &st, eb, sizeof(eb));
	if (err) {
		dnsreel_err(&c, "%s; nothing was written", eb[0] ? eb : dnsreel_strerror(err));
		ret = DNSREEL_EXIT_FAIL;
		goto cleanup;
	}
	dnsreel_log(&c, 0,
		    "%s: %u part%s from %u input%s (%u duplicate%s merged once), %" PRIu64
		    " events, %" PRIu64 " frames, %.1f MiB copied, %u warning%s",
		    out, st.parts, st.parts == 1 ? "" : "s", st.inputs, st.inputs == 1 ? "" : "s",
		    st.duplicates, st.duplicates == 1 ? "" : "s", st.events, st.frames,
		    (double)st.bytes / 1048576.0, st.warnings, st.warnings == 1 ? "" : "s");
cleanup:
	return dnsreel_cli_end(&c, ret);
}
