/* dnsreel VERB [ARGS...]: runs dnsreel-VERB installed beside this program (as git does), so
 * `dnsreel replay x.reel` is `dnsreel-replay x.reel`. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

static const struct {
	const char *verb;
	const char *what;
} verbs[] = {
	{"record", "record DNS in every network namespace of this node into a capture"},
	{"replay", "print, filter and export a capture as trace_dns does, sorted by time"},
	{"query", "answer SQL over one or more captures"},
	{"info", "summarise a capture: node, time range, events, losses, pods"},
	{"verify", "check a capture's checksums and index; --reindex rebuilds the index"},
	{"diagnose", "name the DNS failure modes found in captures, with the flows that prove them"},
	{"report", "draw captures as one self-contained HTML page (charts, flows, findings)"},
	{"merge", "merge captures of several nodes into one capture"},
	{"pack", "pack a capture into one file that every tool reads in place"},
	{"unpack", "unpack a pack into a capture directory"},
	{"sign", "sign a capture's manifest (Ed25519), or make a key pair"},
	{"export", "load captures (events, answers, flows) into ClickHouse, each event once"},
	{"import", "a DNS server's dnstap log (Frame Streams) into a capture"},
};

static const struct dnsreel_opt opts[] = {{0}};

static const struct dnsreel_tool tool = {
	.name = "dnsreel",
	.usage = "VERB [ARGS...]",
	.summary = "Record/replay forensic toolkit for DNS on Linux and Kubernetes nodes.",
	.opts = opts,
};

static void usage(FILE *out)
{
	fprintf(out, "Usage: dnsreel VERB [ARGS...]\n%s\n\nVerbs:\n", tool.summary);
	for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++)
		fprintf(out, "  %-8s %s\n", verbs[i].verb, verbs[i].what);
	fprintf(out, "\n'dnsreel VERB --help' (or 'dnsreel help VERB') describes a verb.\n"
		     "Exit status: that of the verb; 2 for an unknown verb.\n");
}

/* Directory of this executable, so tools are found beside it before $PATH. */
static int self_dir(char *buf, size_t len)
{
	ssize_t n = readlink("/proc/self/exe", buf, len - 1);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	char *slash = strrchr(buf, '/');
	if (!slash)
		return -1;
	*slash = '\0';
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return DNSREEL_EXIT_USAGE;
	}
	const char *verb = argv[1];
	if (!strcmp(verb, "-h") || !strcmp(verb, "--help") || !strcmp(verb, "--version")) {
		if (strcmp(verb, "--version"))
			usage(stdout);
		else
			dnsreel_cli_print_version(&tool);
		struct dnsreel_cli c;
		dnsreel_cli_init(&c, &tool, argc, argv);
		return dnsreel_cli_end(&c, DNSREEL_EXIT_OK);
	}
	char *help_argv[3] = {NULL, "--help", NULL};
	char **targv = argv + 1; /* targv[0] becomes the tool's name */
	if (!strcmp(verb, "help")) {
		if (argc < 3) {
			usage(stdout);
			return DNSREEL_EXIT_OK;
		}
		verb = argv[2];
		targv = help_argv;
	}
	if (verb[0] == '-' || strchr(verb, '/')) {
		fprintf(stderr, "dnsreel: '%s' is not a verb\n", verb);
		usage(stderr);
		return DNSREEL_EXIT_USAGE;
	}
	char tool_name[128];
	if (snprintf(tool_name, sizeof(tool_name), "dnsreel-%s", verb) >= (int)sizeof(tool_name)) {
		fprintf(stderr, "dnsreel: '%s' is not a verb\n", verb);
		return DNSREEL_EXIT_USAGE;
	}
	char dir[PATH_MAX], path[PATH_MAX + 160];
	targv[0] = tool_name;
	if (self_dir(dir, sizeof(dir)) == 0) {
		snprintf(path, sizeof(path), "%s/%s", dir, tool_name);
		if (access(path, X_OK) == 0) {
			execv(path, targv);
			fprintf(stderr, "dnsreel: cannot run %s: %s\n", path, strerror(errno));
			return DNSREEL_EXIT_FAIL;
		}
	}
	execvp(tool_name, targv);
	int known = 0;
	for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++)
		known |= !strcmp(verbs[i].verb, verb);
	if (known)
		fprintf(stderr,
			"dnsreel: '%s' is not available: %s is not built or not installed beside "
			"dnsreel (build it with cmake, see README.md)\n",
			verb, tool_name);
	else
		fprintf(stderr, "dnsreel: '%s' is not a dnsreel verb; see 'dnsreel --help'\n", verb);
	return DNSREEL_EXIT_USAGE;
}
