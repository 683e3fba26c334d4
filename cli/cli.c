/* Option tables, --help, number parsing, diagnostics and progress for the dnsreel tools. */
#include "cli.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>
#include <zstd.h>

#include "dnsreel.h"
#include "git_commit.h"


/* Ids for the options every tool gets unless its table defines them. */
enum { BUILTIN_HELP = 0x10001, BUILTIN_VERSION, BUILTIN_VERBOSE, BUILTIN_QUIET };


static size_t opt_count(const struct dnsreel_opt *o)
{
	size_t n = 0;
	while (o && o[n].help)
		n++;
	return n;
}

static const struct dnsreel_opt *find_long(const struct dnsreel_opt *o, const char *name)
{
	for (; o && o->help; o++)
		if (o->lname && strcmp(o->lname, name) == 0)
			return o;
	return NULL;
}

static const struct dnsreel_opt *find_short(const struct dnsreel_opt *o, char c)
{
	for (; o && o->help; o++)
		if (o->sname == c)
			return o;
	return NULL;
}

void dnsreel_cli_init(struct dnsreel_cli *c, const struct dnsreel_tool *t, int argc, char **argv)
{
	memset(c, 0, sizeof(*c));
	c->tool = t;
	c->argc = argc;
	c->argv = argv;
	c->optind = 1;
}

static int build_tables(struct dnsreel_cli *c)
{
	const struct dnsreel_opt *o = c->tool->opts;
	size_t n = opt_count(o);
	if (n > DNSREEL_CLI_MAX_OPTS)
		return -E2BIG;
	memset(c->longopts, 0, sizeof(c->longopts));
	memset(c->shortopts, 0, sizeof(c->shortopts));
	size_t k = 0, s = 0;
	c->shortopts[s++] = ':'; /* report a missing argument as ':' */
	for (size_t i = 0; i < n; i++) {
		if (o[i].lname) {
			c->longopts[k].name = o[i].lname;
			c->longopts[k].has_arg = o[i].arg == DNSREEL_REQ_ARG ? required_argument
									     : no_argument;
			c->longopts[k].val = o[i].id;
			k++;
		}
		if (o[i].sname) {
			c->shortopts[s++] = o[i].sname;
			if (o[i].arg == DNSREEL_REQ_ARG)
				c->shortopts[s++] = ':';
		}
	}
	if (!find_long(o, "help")) {
		c->longopts[k++] = (struct option){"help", no_argument, NULL, BUILTIN_HELP};
		c->builtin_help = true;
		if (!find_short(o, 'h'))
			c->shortopts[s++] = 'h';
	}
	if (!find_long(o, "version"))
		c->longopts[k++] = (struct option){"version", no_argument, NULL, BUILTIN_VERSION};
	if (!find_long(o, "verbose") && !find_short(o, 'v')) {
		c->longopts[k++] = (struct option){"verbose", no_argument, NULL, BUILTIN_VERBOSE};
		c->shortopts[s++] = 'v';
		c->builtin_verbose = true;
	}
	if (!find_long(o, "quiet") && !find_short(o, 'q')) {
		c->longopts[k++] = (struct option){"quiet", no_argument, NULL, BUILTIN_QUIET};
		c->shortopts[s++] = 'q';
		c->builtin_quiet = true;
	}
	c->built = true;
	return 0;
}

/* Flushes stdout; on failure says so on stderr (once) and returns true. */
static bool stdout_failed(struct dnsreel_cli *c)
{
	if (c->out_failed)
		return true;
	errno = 0;
	if (fflush(stdout) == 0 && !ferror(stdout))
		return false;
	c->out_failed = true;
	fprintf(stderr, "%s: writing standard output: %s\n", c->tool->name,
		strerror(errno ? errno : EIO));
	return true;
}

int dnsreel_cli_end(struct dnsreel_cli *c, int exit_code)
{
	bool failed = stdout_failed(c);
	if (!failed && fclose(stdout) != 0) {
		fprintf(stderr, "%s: writing standard output: %s\n", c->tool->name,
			strerror(errno));
		failed = true;
	}
	dnsreel_cli_free(c);
	return failed ? DNSREEL_EXIT_FAIL : exit_code;
}

void dnsreel_cli_print_version(const struct dnsreel_tool *t)
{
	printf("%s %s (git %s, zstd %s, SQLite %s", t->name, DNSREEL_VERSION, DNSREEL_GIT_COMMIT,
	       ZSTD_versionString(), sqlite3_libversion());
	if (t->print_versions)
		t->print_versions(stdout);
	printf(")\n");
}

static const char *opt_display(const struct dnsreel_cli *c, int ch)
{
	/* getopt leaves the offending argument at optind-1 */
	int i = optind - 1;
	if (i >= 1 && i < c->argc)
		return c->argv[i];
	(void)ch;
	return "?";
}

static int next_option(struct dnsreel_cli *c, int *exit_code)
{
	if (c->done)
		return -1;
	if (!c->built) {
		if (build_tables(c) != 0) {
			fprintf(stderr, "%s: more than %d options in its table\n", c->tool->name,
				DNSREEL_CLI_MAX_OPTS);
			*exit_code = DNSREEL_EXIT_FAIL;
			return DNSREEL_CLI_EXIT;
		}
		optind = 1;
		opterr = 0;
	}
	for (;;) {
		int ch = getopt_long(c->argc, c->argv, c->shortopts, c->longopts, NULL);
		c->optind = optind;
		c->arg = optarg;
		if (ch == -1)
			return -1;
		if (ch == '?') {
			const char *bad = opt_display(c, optopt);
			if (optopt && optopt < 256)
				*exit_code = dnsreel_cli_usage_error(c->tool, "unknown option '-%c'",
								     optopt);
			else
				*exit_code =
					dnsreel_cli_usage_error(c->tool, "unknown option '%s'", bad);
			return DNSREEL_CLI_EXIT;
		}
		if (ch == ':') {
			const char *bad = opt_display(c, optopt);
			*exit_code = dnsreel_cli_usage_error(c->tool, "option '%s' needs an argument",
							     bad);
			return DNSREEL_CLI_EXIT;
		}
		if ((ch == BUILTIN_HELP || (ch == 'h' && c->builtin_help))) {
			dnsreel_cli_help(c->tool, stdout);
			*exit_code = stdout_failed(c) ? DNSREEL_EXIT_FAIL : DNSREEL_EXIT_OK;
			return DNSREEL_CLI_EXIT;
		}
		if (ch == BUILTIN_VERSION) {
			dnsreel_cli_print_version(c->tool);
			*exit_code = stdout_failed(c) ? DNSREEL_EXIT_FAIL : DNSREEL_EXIT_OK;
			return DNSREEL_CLI_EXIT;
		}
		if (ch == BUILTIN_VERBOSE || (ch == 'v' && c->builtin_verbose)) {
			c->verbosity++;
			continue;
		}
		if (ch == BUILTIN_QUIET || (ch == 'q' && c->builtin_quiet)) {
			c->verbosity = -1;
			continue;
		}
		return ch;
	}
}

int dnsreel_cli_next(struct dnsreel_cli *c, int *exit_code)
{
	int rc = next_option(c, exit_code);
	/* Parsing is over: later calls keep saying so instead of starting again. */
	if (rc == -1 || rc == DNSREEL_CLI_EXIT)
		c->done = true;
	return rc;
}

void dnsreel_cli_free(struct dnsreel_cli *c)
{
	(void)c;
}

void dnsreel_cli_help(const struct dnsreel_tool *t, FILE *out)
{
	fprintf(out, "Usage: %s %s\n%s\n", t->name, t->usage, t->summary);
	const struct dnsreel_opt *o = t->opts;
	bool any_section = false;
	for (; o && o->help; o++) {
		if (o->section || !any_section) {
			fprintf(out, "\n%s:\n", o->section ? o->section : "Options");
			any_section = true;
		}
		char left[64];
		char sh[8] = "    ";
		if (o->sname)
			snprintf(sh, sizeof(sh), "-%c, ", o->sname);
		if (o->lname)
			snprintf(left, sizeof(left), "%s--%s%s%s", sh, o->lname,
				 o->arg ? "=" : "", o->arg ? (o->argname ? o->argname : "ARG") : "");
		else
			snprintf(left, sizeof(left), "-%c%s%s", o->sname, o->arg ? " " : "",
				 o->arg ? (o->argname ? o->argname : "ARG") : "");
		if (strlen(left) <= 26)
			fprintf(out, "  %-26s %s\n", left, o->help);
		else
			fprintf(out, "  %s\n  %-26s %s\n", left, "", o->help);
	}
	const struct dnsreel_opt *tab = t->opts;
	fprintf(out, "\nGeneral:\n");
	if (!find_long(tab, "help"))
		fprintf(out, "  %-26s %s\n", "-h, --help", "show this help and exit");
	if (!find_long(tab, "version"))
		fprintf(out, "  %-26s %s\n", "    --version", "show the version and exit");
	if (!find_long(tab, "verbose") && !find_short(tab, 'v'))
		fprintf(out, "  %-26s %s\n", "-v, --verbose", "more diagnostics on stderr (repeat)");
	if (!find_long(tab, "quiet") && !find_short(tab, 'q'))
		fprintf(out, "  %-26s %s\n", "-q, --quiet", "only errors on stderr");
	fprintf(out, "\nExit status: 0 success, 1 failure, 2 usage error.\n");
	if (t->epilog)
		fprintf(out, "\n%s", t->epilog);
}

int dnsreel_cli_usage_error(const struct dnsreel_tool *t, const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "%s: ", t->name);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nUsage: %s %s\nTry '%s --help' for more information.\n", t->name,
		t->usage, t->name);
	return DNSREEL_EXIT_USAGE;
}

int dnsreel_parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	if (!s || !*s || *s == '-' || *s == '+' || *s == ' ')
		return -EINVAL;
	errno = 0;
	char *end;
	unsigned long long v = strtoull(s, &end, 0);
	if (errno == ERANGE)
		return -ERANGE;
	if (end == s || *end)
		return -EINVAL;
	if (v < min || v > max)
		return -ERANGE;
	*out = v;
	return 0;
}

/* Splits "12.5ms" into a non-negative number and a suffix; rejects everything else. */
static int split_number(const char *s, double *num, const char **suffix)
{
	if (!s || !*s || *s == '-' || *s == '+' || *s == ' ')
		return -EINVAL;
	errno = 0;
	char *end;
	double v = strtod(s, &end);
	if (end == s || errno == ERANGE || v != v || v < 0)
		return -EINVAL;
	*num = v;
	*suffix = end;
	return 0;
}

int dnsreel_parse_size(const char *s, uint64_t *out)
{
	double v;
	const char *suf;
	if (split_number(s, &v, &suf) != 0)
		return -EINVAL;
	double mult = 1;
	switch (*suf) {
	case '\0':
		break;
	case 'k': case 'K': mult = 1024.0; suf++; break;
	case 'm': case 'M': mult = 1024.0 * 1024; suf++; break;
	case 'g': case 'G': mult = 1024.0 * 1024 * 1024; suf++; break;
	case 't': case 'T': mult = 1024.0 * 1024 * 1024 * 1024; suf++; break;
	default: return -EINVAL;
	}
	if (*suf == 'i')
		suf++;
	if (*suf == 'B' || *suf == 'b')
		suf++;
	if (*suf)
		return -EINVAL;
	double r = v * mult;
	if (r >= 18446744073709551615.0)
		return -ERANGE;
	*out = (uint64_t)r;
	return 0;
}

int dnsreel_parse_duration(const char *s, int64_t *out_ns)
{
	double v;
	const char *suf;
	if (split_number(s, &v, &suf) != 0)
		return -EINVAL;
	double mult;
	if (!*suf || !strcmp(suf, "s"))
		mult = 1e9;
	else if (!strcmp(suf, "ms"))
		mult = 1e6;
	else if (!strcmp(suf, "us"))
		mult = 1e3;
	else if (!strcmp(suf, "ns"))
		mult = 1;
	else if (!strcmp(suf, "m"))
		mult = 60e9;
	else if (!strcmp(suf, "h"))
		mult = 3600e9;
	else if (!strcmp(suf, "d"))
		mult = 86400e9;
	else
		return -EINVAL;
	double r = v * mult;
	if (r >= 9.2e18)
		return -ERANGE;
	*out_ns = (int64_t)r;
	return 0;
}

static void vlog(const struct dnsreel_cli *c, const char *fmt, va_list ap)
{
	fprintf(stderr, "%s: ", c->tool->name);
	vfprintf(stderr, fmt, ap);
	size_t n = strlen(fmt);
	if (!n || fmt[n - 1] != '\n')
		fputc('\n', stderr);
}

void dnsreel_log(const struct dnsreel_cli *c, int level, const char *fmt, ...)
{
	if (c->verbosity < level)
		return;
	va_list ap;
	va_start(ap, fmt);
	vlog(c, fmt, ap);
	va_end(ap);
}

void dnsreel_err(const struct dnsreel_cli *c, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vlog(c, fmt, ap);
	va_end(ap);
}

static int64_t clock_ns(clockid_t id)
{
	struct timespec ts;
	clock_gettime(id, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int64_t dnsreel_now_wall_ns(void)
{
	return clock_ns(CLOCK_REALTIME);
}

int64_t dnsreel_now_boot_ns(void)
{
	return clock_ns(CLOCK_BOOTTIME);
}

void dnsreel_progress_init(struct dnsreel_progress *p, const struct dnsreel_cli *c)
{
	p->on = c->verbosity >= 0 && isatty(STDERR_FILENO);
	p->last_ns = 0;
	p->start_ns = clock_ns(CLOCK_MONOTONIC);
	p->delay_ns = 1000000000LL;
	const char *d = getenv("DNSREEL_PROGRESS_DELAY");
	uint64_t s;
	if (d && dnsreel_parse_u64(d, 0, 3600, &s) == 0)
		p->delay_ns = (int64_t)s * 1000000000LL;
}

void dnsreel_progress_rate(const struct dnsreel_progress *p, uint64_t done, uint64_t total,
			   const char *unit, char *buf, size_t len)
{
	double secs = (double)(clock_ns(CLOCK_MONOTONIC) - p->start_ns) / 1e9;
	double rate = secs > 0 ? (double)done / secs : 0;
	const char *scale = "";
	double shown = rate;
	if (shown >= 1e6) {
		shown /= 1e6;
		scale = "M";
	} else if (shown >= 1e3) {
		shown /= 1e3;
		scale = "k";
	}
	int n = snprintf(buf, len, " %3.0f%%, %.2f%s %s/s",
			 total ? 100.0 * (double)done / (double)total : 0.0, shown, scale, unit);
	if (n < 0 || (size_t)n >= len)
		return;
	if (rate > 0 && total > done) {
		uint64_t left = (uint64_t)((double)(total - done) / rate + 0.5);
		snprintf(buf + n, len - (size_t)n, ", %" PRIu64 ":%02" PRIu64 " left", left / 60,
			 left % 60);
	}
}

void dnsreel_progress(struct dnsreel_progress *p, const char *fmt, ...)
{
	if (!p->on)
		return;
	int64_t now = clock_ns(CLOCK_MONOTONIC);
	if (now - p->start_ns < p->delay_ns || (p->last_ns && now - p->last_ns < 200000000))
		return;
	p->last_ns = now;
	va_list ap;
	va_start(ap, fmt);
	fputs("\r\033[K", stderr);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fflush(stderr);
}

void dnsreel_progress_done(struct dnsreel_progress *p)
{
	if (p->on && p->last_ns)
		fputs("\r\033[K", stderr);
	p->last_ns = 0;
}
