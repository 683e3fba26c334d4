/* Shared command-line plumbing for the dnsreel tools: one declarative option table drives
 * getopt_long and --help, number parsing with suffixes, leveled diagnostics on stderr, and
 * progress on a terminal. Tools keep their state in main; nothing here is global.
 */
#ifndef DNSREEL_CLI_H
#define DNSREEL_CLI_H

#include <getopt.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

/* Exit codes shared by every tool (documented in each man page). */
enum { DNSREEL_EXIT_OK = 0, DNSREEL_EXIT_FAIL = 1, DNSREEL_EXIT_USAGE = 2 };

enum dnsreel_arg { DNSREEL_NO_ARG = 0, DNSREEL_REQ_ARG = 1 };

struct dnsreel_opt {
	int id;               /* returned by dnsreel_cli_next(); a short option uses its char */
	const char *lname;    /* long name without "--" */
	char sname;           /* short option char, 0 for none */
	enum dnsreel_arg arg;
	const char *argname;  /* shown in --help: "DIR" */
	const char *help;     /* one line; NULL ends the table */
	const char *section;  /* non-NULL starts a new --help section before this option */
};

struct dnsreel_tool {
	const char *name;     /* "dnsreel-replay" */
	const char *usage;    /* "CAPTURE... [OPTIONS]" */
	const char *summary;  /* one line */
	const struct dnsreel_opt *opts; /* terminated by an entry with help == NULL */
	const char *epilog;   /* examples, or NULL */
	/* --version: extra ", libbpf 1.1" style text printed inside the parentheses, or NULL */
	void (*print_versions)(FILE *out);
};

struct dnsreel_cli {
	const struct dnsreel_tool *tool;
	int argc;
	char **argv;
	int optind; /* after parsing: first operand */
	const char *arg;
	int verbosity; /* 0 normal, -1 quiet (-q), 1.. verbose (-v) */
	/* private: getopt tables live here, so parsing allocates nothing and an early return
	 * (usage error, --help) leaks nothing */
#define DNSREEL_CLI_MAX_OPTS 96
	struct option longopts[DNSREEL_CLI_MAX_OPTS + 5];
	char shortopts[2 * DNSREEL_CLI_MAX_OPTS + 8];
	bool built, done, builtin_help, builtin_verbose, builtin_quiet;
	bool out_failed; /* writing stdout failed, and was reported */
};

/* Starts parsing. --help, --version, -v, -q are handled by dnsreel_cli_next() itself when the
 * table does not define them. */
void dnsreel_cli_init(struct dnsreel_cli *c, const struct dnsreel_tool *t, int argc, char **argv);
/* Next option id; -1 when done (c->optind is the first operand), or DNSREEL_CLI_EXIT with
 * *exit_code set (after --help/--version: 0; after a usage error, which it reported: 2). */
#define DNSREEL_CLI_EXIT (-2)
int dnsreel_cli_next(struct dnsreel_cli *c, int *exit_code);
/* Nothing to free any more (tables are inside struct dnsreel_cli); kept so callers stay
 * symmetric with init. */
void dnsreel_cli_free(struct dnsreel_cli *c);
/* Ends a tool: flushes and closes standard output and, when that failed (a full disk, a closed
 * pipe, /dev/full), says so on stderr and returns DNSREEL_EXIT_FAIL; else exit_code. Data that
 * did not reach its file is never reported as success. */
int dnsreel_cli_end(struct dnsreel_cli *c, int exit_code);
/* "TOOL VERSION (git COMMIT, zstd V, SQLite V[, the tool's own])" on stdout, as --version. */
void dnsreel_cli_print_version(const struct dnsreel_tool *t);

void dnsreel_cli_help(const struct dnsreel_tool *t, FILE *out);
/* "dnsreel-x: MESSAGE\nUsage: ...\nTry 'dnsreel-x --help'." on stderr; returns 2. */
int dnsreel_cli_usage_error(const struct dnsreel_tool *t, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Numbers: end-pointer and range checked. Return 0 or -EINVAL / -ERANGE. */
int dnsreel_parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out);
/* "64M", "1G", "512k", "100" (bytes; K=1024) */
int dnsreel_parse_size(const char *s, uint64_t *out);
/* "500ms", "2s", "10m", "1h", "3d", "250us", plain number = seconds */
int dnsreel_parse_duration(const char *s, int64_t *out_ns);

/* Diagnostics: level 0 always unless quiet, 1 with -v, 2 with -vv; errors always. */
void dnsreel_log(const struct dnsreel_cli *c, int level, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void dnsreel_err(const struct dnsreel_cli *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Progress line on stderr, only when stderr is a terminal and not quiet; rewritten in place
 * at most every 200 ms. dnsreel_progress_done() clears it. */
struct dnsreel_progress {
	bool on;
	int64_t last_ns;
	int64_t start_ns; /* monotonic, at init */
	int64_t delay_ns; /* nothing shown before: a short job gets no progress line (1 s;
			   * DNSREEL_PROGRESS_DELAY=SECONDS in the environment changes it) */
};
void dnsreel_progress_init(struct dnsreel_progress *p, const struct dnsreel_cli *c);
/* " 42%, 1.25 M events/s, 0:07 left" for done of total units since init, into buf. */
void dnsreel_progress_rate(const struct dnsreel_progress *p, uint64_t done, uint64_t total,
			   const char *unit, char *buf, size_t len);
void dnsreel_progress(struct dnsreel_progress *p, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void dnsreel_progress_done(struct dnsreel_progress *p);

/* Wall clock and boot clock in ns. */
int64_t dnsreel_now_wall_ns(void);
int64_t dnsreel_now_boot_ns(void);

#endif
