/* dnsreel-report: captures in, one self-contained HTML page out.
 *
 *   captures ─▶ merge by time ─▶ decode ─▶ flows ─▶ flow filter ─▶ aggregates ─▶ page
 *
 * One pass, bounded memory: the aggregates have fixed sizes (report.h). The page is written to
 * a temporary file beside FILE and renamed over it when whole, so a failed run leaves nothing
 * that could pass for a report.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "diagnose.h"
#include "dnsreel.h"
#include "flows.h"
#include "report.h"
#include "view.h"

enum {
	OPT_FILTER = 'F',
	OPT_NAMESPACE = 'n',
	OPT_PODNAME = 'p',
	OPT_CONTAINERNAME = 'c',
	OPT_OUTPUT = 'o',
	OPT_SINCE = 1000,
	OPT_UNTIL,
	OPT_FORCE,
	OPT_TITLE,
	OPT_TOP,
	OPT_KEEP,
	OPT_FLOW_WINDOW,
	OPT_SCAN,
};

static const struct dnsreel_opt options[] = {
    {OPT_OUTPUT, "output", 'o', DNSREEL_REQ_ARG, "FILE",
     "write the page to FILE (required; - for standard output)", "Output"},
    {OPT_FORCE, "force", 0, DNSREEL_NO_ARG, NULL, "replace FILE when it exists", NULL},
    {OPT_TITLE, "title", 0, DNSREEL_REQ_ARG, "TEXT",
     "the page's title (default: DNS report: CAPTURE)", NULL},
    {OPT_TOP, "top", 0, DNSREEL_REQ_ARG, "N", "rows of the top pods and names (default 10)", NULL},
    {OPT_KEEP, "keep", 0, DNSREEL_REQ_ARG, "N",
     "slowest and broken flows drawn as sequence diagrams (default 10 each)", NULL},
    {OPT_FILTER, "filter", 'F', DNSREEL_REQ_ARG, "EXPR",
     "only flows with an event where FIELD OP VALUE, or flows where outcome==, rcode==, "
     "retries> ... as replay --flows takes them; repeat to AND",
     "Selection"},
    {OPT_NAMESPACE, "namespace", 'n', DNSREEL_REQ_ARG, "LIST",
     "only flows touching these Kubernetes namespaces (comma-separated)", NULL},
    {OPT_PODNAME, "podname", 'p', DNSREEL_REQ_ARG, "LIST", "only flows touching these pods", NULL},
    {OPT_CONTAINERNAME, "containername", 'c', DNSREEL_REQ_ARG, "LIST",
     "only flows touching these containers", NULL},
    {OPT_SINCE, "since", 0, DNSREEL_REQ_ARG, "TIME", "from TIME (RFC 3339, or relative like -10m)",
     NULL},
    {OPT_UNTIL, "until", 0, DNSREEL_REQ_ARG, "TIME", "up to TIME", NULL},
    {OPT_FLOW_WINDOW, "flow-window", 0, DNSREEL_REQ_ARG, "DURATION",
     "a flow is complete this long after its client query (default 10s)", "Input"},
    {OPT_SCAN, "scan", 0, DNSREEL_NO_ARG, NULL,
     "ignore index.sqlite and scan the segments (damaged index)", NULL},
    {0, NULL, 0, 0, NULL, NULL, NULL},
};

static const struct dnsreel_tool tool = {
    .name = "dnsreel-report",
    .usage = "CAPTURE... -o FILE [OPTIONS]",
    .summary = "draw captures as one self-contained HTML page: summary, findings, charts, "
	       "the slowest and broken flows",
    .opts = options,
    .epilog = "Examples:\n"
	      "  dnsreel-report incident.reel -o incident.html\n"
	      "  dnsreel-report node1.reel node2.reel -n default -o - | gzip > report.html.gz\n"
	      "  dnsreel-report c.reel --since 2026-11-26T08:00:00Z --until 2026-11-26T08:05:00Z "
	      "-o five-minutes.html --force\n"
	      "Exit status: 0 ok, 1 failure (including damaged frames, after reporting the rest; "
	      "FILE exists without --force), 2 usage.\n",
    .print_versions = NULL,
};

static volatile sig_atomic_t stop_flag;

static void on_signal(int sig)
{
	(void)sig;
	stop_flag = 1;
}

struct run {
	struct dnsreel_cli *cli;
	struct dnsreel_merge *rp;
	struct dnsreel_flows *flows;
	struct dnsreel_flow_filter *ffilter;
	struct dnsreel_report_agg *agg;
	struct dnsreel_diag *diag;
	struct dnsreel_progress progress;
	uint64_t problems;
};

static void on_problem(void *arg, const char *msg)
{
	struct run *r = arg;
	r->problems++;
	dnsreel_progress_done(&r->progress);
	dnsreel_err(r->cli, "damaged: %s", msg);
}

static int sink_flows(void *arg, const struct dnsreel_rec *rec)
{
	struct run *r = arg;
	int err = dnsreel_diag__rec(r->diag, rec);
	return err ? err : dnsreel_flows__feed(r->flows, rec);
}

static int on_flow(void *arg, const struct dnsreel_flow *f)
{
	struct run *r = arg;
	if (!f->matched || !dnsreel_flow_filter__match(r->ffilter, f))
		return 0;
	int err = dnsreel_diag__flow(r->diag, f);
	return err ? err : dnsreel_report_agg__add(r->agg, dnsreel_merge__ctx(r->rp), f);
}

static void on_tick(void *arg, const struct dnsreel_merge_stats *st, bool idle)
{
	struct run *r = arg;
	if (idle)
		return;
	char rate[96];
	dnsreel_progress_rate(&r->progress, st->events_read, st->events_total, "events", rate,
			      sizeof(rate));
	dnsreel_progress(&r->progress, "report: events %llu/%llu, flows %llu%s",
			 (unsigned long long)st->events_read, (unsigned long long)st->events_total,
			 (unsigned long long)dnsreel_report_agg__flows(r->agg), rate);
}

static void draw_findings(void *arg, struct dnsreel_html *h)
{
	const struct run *r = arg;
	dnsreel_report_findings_html(h, r->diag, r->agg);
}

static uint64_t lost_of(struct dnsreel_capr *c)
{
	uint64_t lost = 0;
	for (size_t i = 0; i < dnsreel_capr__counter_count(c); i++) {
		const struct dnsreel_counter *k = dnsreel_capr__counter_at(c, i);
		/* lost.proc.* counts process-tracking records, not DNS events (as info says) */
		if ((!strncmp(k->name, "lost", 4) || !strncmp(k->name, "drop", 4)) &&
		    strncmp(k->name, "lost.proc", 9))
			lost += k->value;
	}
	return lost;
}

/* The temporary file's directory entry is made durable with the rename. */
static int sync_dir_of(const char *path)
{
	char *copy = strdup(path);
	if (!copy)
		return -ENOMEM;
	int fd = open(dirname(copy), O_RDONLY | O_DIRECTORY);
	free(copy);
	if (fd < 0)
		return -errno;
	int err = fsync(fd) ? -errno : 0;
	close(fd);
	return err;
}

int main(int argc, char **argv)
{
	struct dnsreel_cli cli;
	struct dnsreel_filter *filter = NULL, *span = NULL;
	struct run run = {0};
	const char *out_path = NULL, *title = NULL, *since = NULL, *until = NULL;
	const char *flow_window = NULL;
	const char **exprs = NULL;
	size_t nexprs = 0;
	uint64_t top = 10, keep = 10;
	bool force = false, scan = false;
	struct dnsreel_report_capture *caps = NULL;
	char *tmp_path = NULL, *auto_title = NULL;
	FILE *out = NULL;
	int exit_code = DNSREEL_EXIT_OK, ch, err;
	char errbuf[768] = "";

	dnsreel_cli_init(&cli, &tool, argc, argv);
	run.cli = &cli;
	if (dnsreel_filter__new(&filter) < 0 || dnsreel_flow_filter__new(&run.ffilter) < 0) {
		dnsreel_err(&cli, "out of memory");
		exit_code = DNSREEL_EXIT_FAIL;
		goto cleanup;
	}
	while ((ch = dnsreel_cli_next(&cli, &exit_code)) != -1) {
		if (ch == DNSREEL_CLI_EXIT)
			goto cleanup;
		char lerr[256] = "";
		enum dnsreel_field_id list = DNSREEL_F_COUNT_;
		switch (ch) {
		case OPT_FILTER: {
			const char **ne = realloc(exprs, (nexprs + 1) * sizeof(*ne));
			if (!ne) {
				dnsreel_err(&cli, "out of memory");
				exit_code = DNSREEL_EXIT_FAIL;
				goto cleanup;
			}
			exprs = ne;
			exprs[nexprs++] = cli.arg;
			break;
		}
		case OPT_NAMESPACE:
			list = DNSREEL_F_K8S_NAMESPACE;
			break;
		case OPT_PODNAME:
			list = DNSREEL_F_K8S_PODNAME;
			break;
		case OPT_CONTAINERNAME:
			list = DNSREEL_F_K8S_CONTAINERNAME;
			break;
		case OPT_OUTPUT:
			out_path = cli.arg;
			break;
		case OPT_FORCE:
			force = true;
			break;
		case OPT_TITLE:
			title = cli.arg;
			break;
		case OPT_TOP:
			if (dnsreel_parse_u64(cli.arg, 1, 1000, &top) < 0) {
				exit_code = dnsreel_cli_usage_error(
				    &tool, "--top: want a number from 1 to 1000, not '%s'",
				    cli.arg);
				goto cleanup;
			}
			break;
		case OPT_KEEP:
			if (dnsreel_parse_u64(cli.arg, 0, 100, &keep) < 0) {
				exit_code = dnsreel_cli_usage_error(
				    &tool, "--keep: want a number from 0 to 100, not '%s'",
				    cli.arg);
				goto cleanup;
			}
			break;
		case OPT_SINCE:
			since = cli.arg;
			break;
		case OPT_UNTIL:
			until = cli.arg;
			break;
		case OPT_FLOW_WINDOW:
			flow_window = cli.arg;
			break;
		case OPT_SCAN:
			scan = true;
			break;
		default:
			exit_code = dnsreel_cli_usage_error(&tool, "unhandled option");
			goto cleanup;
		}
		if (list != DNSREEL_F_COUNT_ &&
		    dnsreel_filter__add_any_of(filter, list, cli.arg, lerr, sizeof(lerr)) < 0) {
			exit_code =
			    dnsreel_cli_usage_error(&tool, "%s", lerr[0] ? lerr : "bad list");
			goto cleanup;
		}
	}
	if (cli.optind >= argc) {
		exit_code = dnsreel_cli_usage_error(&tool, "no CAPTURE given");
		goto cleanup;
	}
	if (!out_path) {
		exit_code = dnsreel_cli_usage_error(&tool, "-o FILE is required (- for standard "
							   "output)");
		goto cleanup;
	}
	for (size_t i = 0; i < nexprs; i++) {
		int e =
		    dnsreel_flow_term(exprs[i])
			? dnsreel_flow_filter__add(run.ffilter, exprs[i], errbuf, sizeof(errbuf))
			: dnsreel_filter__add(filter, exprs[i], errbuf, sizeof(errbuf));
		if (e < 0) {
			exit_code = dnsreel_cli_usage_error(&tool, "-F '%s': %s", exprs[i], errbuf);
			goto cleanup;
		}
	}
	int64_t window_ns = 0;
	if (flow_window &&
	    (dnsreel_parse_duration(flow_window, &window_ns) < 0 || window_ns <= 0)) {
		exit_code =
		    dnsreel_cli_usage_error(&tool, "--flow-window: cannot read '%s'", flow_window);
		goto cleanup;
	}
	int64_t since_ns, until_ns;
	if (dnsreel_window_parse(since, until, dnsreel_now_wall_ns(), &since_ns, &until_ns, errbuf,
				 sizeof(errbuf)) < 0) {
		exit_code = dnsreel_cli_usage_error(&tool, "%s", errbuf);
		goto cleanup;
	}
	if (since || until)
		dnsreel_filter__set_window(filter, since_ns, until_ns);

	bool to_stdout = !strcmp(out_path, "-");
	struct stat st;
	if (!to_stdout && !force && lstat(out_path, &st) == 0) {
		dnsreel_err(&cli, "%s exists: choose another -o FILE or add --force to replace it",
			    out_path);
		exit_code = DNSREEL_EXIT_FAIL;
		goto cleanup;
	}

	struct dnsreel_merge_opts ro = {
	    .sz = sizeof(ro),
	    .stop = &stop_flag,
	    .problem = on_problem,
	    .problem_ctx = &run,
	    .tick = on_tick,
	    .tick_arg = &run,
	    .rec_fn = sink_flows,
	    .rec_arg = &run,
	    .capr_flags = scan ? DNSREEL_CAPR_SCAN : 0,
	};
	if (dnsreel_flow_span__new(&span, window_ns, since_ns, until_ns) < 0) {
		dnsreel_err(&cli, "out of memory");
		exit_code = DNSREEL_EXIT_FAIL;
		goto cleanup;
	}
	if (span)
		ro.filter = span;
	size_t ncap = (size_t)(argc - cli.optind);
	err = dnsreel_merge__open(&run.rp, (const char *const *)argv + cli.optind, ncap, &ro,
				  errbuf, sizeof(errbuf));
	if (err < 0) {
		dnsreel_err(&cli, "%s", errbuf[0] ? errbuf : dnsreel_strerror(err));
		exit_code = DNSREEL_EXIT_FAIL;
		goto cleanup;
	}
	struct dnsreel_report_agg_opts ao = {.sz = sizeof(ao), .top = top, .keep = keep};
	struct dnsreel_flows_opts fo = {
	    .sz = sizeof(fo),
	    .window_ns = window_ns,
	    .filter = dnsreel_filter__empty(filter) ? NULL : filter,
	    .fn = on_flow,
	    .arg = &run,
	};
	struct dnsreel_diag_opts dopts = {
	    .sz = sizeof(dopts),
	    .captures = (const char *const *)argv + cli.optind,
	    .ncaptures = ncap,
	};
	err = dnsreel_report_agg__new(&run.agg, &ao);
	if (!err)
		err = dnsreel_diag__new(&run.diag, dnsreel_merge__ctx(run.rp), &dopts);
	if (!err)
		err = dnsreel_flows__new(&run.flows, dnsreel_merge__ctx(run.rp), &fo);
	if (err < 0) {
		dnsreel_err(&cli, "%s", dnsreel_strerror(err));
		exit_code = DNSREEL_EXIT_FAIL;
		goto cleanup;
	}

	struct sigaction sa = {.sa_handler = on_signal};
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	dnsreel_progress_init(&run.progress, &cli);
	err = dnsreel_merge__run(run.rp);
	if (!err)
		err = dnsreel_flows__flush(run.flows);
	dnsreel_progress_done(&run.progress);
	if (err || stop_flag) {
		dnsreel_err(&cli, "report: %s; nothing written",
			    err < 0 ? dnsreel_strerror(err) : "stopped");
		exit_code = DNSREEL_EXIT_FAIL;
		goto cleanup;
	}

	struct dnsreel_merge_stats ms;
	dnsreel_merge__stats(run.rp, &ms);
	/* the recorder's losses, so an absent packet is not taken for the network's doing */
	for (uint32_t c = 0; !err && c < ncap; c++) {
		struct dnsreel_capr *r = dnsreel_merge__capr(run.rp, c);
		for (size_t i = 0; r && !err && i < dnsreel_capr__counter_count(r); i++) {
			const struct dnsreel_counter *k = dnsreel_capr__counter_at(r, i);
			err = dnsreel_diag__counter(run.diag, c, k->name, k->value);
		}
	}
	if (!err && ms.frames_bad)
		err =
		    dnsreel_diag__damaged(run.diag, ncap == 1 ? 0 : (uint32_t)ncap, ms.frames_bad);
	if (!err)
		err = dnsreel_diag__finish(run.diag);
	if (err) {
		dnsreel_err(&cli, "diagnose: %s; nothing written", dnsreel_strerror(err));
		exit_code = DNSREEL_EXIT_FAIL;
		goto cleanup;
	}
	caps = calloc(ncap, sizeof(*caps));
	if (!caps) {
		dnsreel_err(&cli, "out of memory");
		exit_code = DNSREEL_EXIT_FAIL;
		goto cleanup;
	}
	for (size_t i = 0; i < ncap; i++) {
		struct dnsreel_capr *c = dnsreel_merge__capr(run.rp, (uint32_t)i);
		caps[i].path = dnsreel_capr__path(c);
		caps[i].meta = dnsreel_capr__meta(c);
		dnsreel_capr__summary(c, &caps[i].summary);
		caps[i].lost = lost_of(c);
		caps[i].netns = dnsreel_capr__netns_count(c);
		for (size_t k = 0; k < caps[i].netns; k++)
			caps[i].pods += dnsreel_capr__netns_at(c, k)->k8s_podname[0] != 0;
		caps[i].capr = c;
		caps[i].problem = dnsreel_capr__problem(c);
	}
	if (!title) {
		size_t len = strlen(argv[cli.optind]) + 64;
		auto_title = malloc(len);
		if (!auto_title) {
			dnsreel_err(&cli, "out of memory");
			exit_code = DNSREEL_EXIT_FAIL;
			goto cleanup;
		}
		if (ncap > 1)
			snprintf(auto_title, len, "DNS report: %s and %zu more", argv[cli.optind],
				 ncap - 1);
		else
			snprintf(auto_title, len, "DNS report: %s", argv[cli.optind]);
		title = auto_title;
	}

	int fd = -1;
	if (to_stdout) {
		out = stdout;
	} else {
		size_t len = strlen(out_path) + 16;
		tmp_path = malloc(len);
		if (tmp_path) {
			snprintf(tmp_path, len, "%s.partXXXXXX", out_path);
			fd = mkstemp(tmp_path);
		}
		if (fd < 0 || !(out = fdopen(fd, "w"))) {
			dnsreel_err(&cli, "%s: cannot create a file beside it: %s", out_path,
				    strerror(tmp_path ? errno : ENOMEM));
			if (fd >= 0) {
				close(fd);
				unlink(tmp_path);
			}
			free(tmp_path);
			tmp_path = NULL;
			exit_code = DNSREEL_EXIT_FAIL;
			goto cleanup;
		}
		mode_t um = umask(0);
		umask(um);
		fchmod(fd, 0666 & ~um);
	}
	static char obuf[1 << 16];
	setvbuf(out, obuf, _IOFBF, sizeof(obuf));
	char gen[64];
	snprintf(gen, sizeof(gen), "dnsreel-report %s", DNSREEL_VERSION);
	struct dnsreel_report_page page = {
	    .title = title,
	    .captures = caps,
	    .ncaptures = ncap,
	    .events_read = ms.events_read,
	    .frames_bad = ms.frames_bad,
	    .generated_wall_ns = dnsreel_now_wall_ns(),
	    .generator = gen,
	    .findings = draw_findings,
	    .findings_arg = &run,
	};
	struct dnsreel_html h;
	dnsreel_html__init(&h, out);
	err = dnsreel_report_write(&h, &page, run.agg);
	if (!err && fflush(out))
		err = -errno;
	if (!to_stdout) {
		if (!err && fsync(fileno(out)))
			err = -errno;
		if (fclose(out) && !err)
			err = -errno;
		out = NULL;
		if (!err && rename(tmp_path, out_path))
			err = -errno;
		if (err) {
			unlink(tmp_path);
		} else {
			free(tmp_path);
			tmp_path = NULL;
			sync_dir_of(out_path);
		}
	}
	if (err) {
		dnsreel_err(&cli, "writing %s: %s%s", to_stdout ? "standard output" : out_path,
			    strerror(-err), to_stdout ? "" : "; nothing written");
		exit_code = DNSREEL_EXIT_FAIL;
	}
	if (ms.frames_bad || ms.capture_problems) {
		dnsreel_err(&cli, "capture damaged (%llu frame(s) skipped); the rest was reported",
			    (unsigned long long)ms.frames_bad);
		exit_code = DNSREEL_EXIT_FAIL;
	}

cleanup:
	free(tmp_path);
	free(auto_title);
	free(caps);
	dnsreel_flows__free(run.flows);
	dnsreel_report_agg__free(run.agg);
	dnsreel_diag__free(run.diag);
	dnsreel_merge__close(run.rp);
	dnsreel_flow_filter__free(run.ffilter);
	dnsreel_filter__free(filter);
	dnsreel_filter__free(span);
	free(exprs);
	return dnsreel_cli_end(&cli, exit_code);
}
