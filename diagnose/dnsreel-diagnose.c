/* dnsreel-diagnose: names the known DNS failure modes found in captures, with the evidence.
 *
 *   captures ─▶ merge by time ─▶ decode ─▶ diag (sizes, EDNS) ─▶ flows ─▶ selection ─▶ diag
 *   capture counters (the recorder's losses) ─▶ diag ─▶ findings: text | json
 *
 * Selection works as replay --flows does: every event goes into reconstruction and a flow is
 * diagnosed when one of its events passes -F/-n/-p/-c (flow terms such as outcome== and rcode==
 * apply to the flow), so a pod's flows keep their forwarder and upstream hops.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cli.h"
#include "diagnose.h"
#include "dnsreel.h"
#include "flows.h"
#include "view.h"

enum { EXIT_FINDINGS = 3 };

enum {
	OPT_FILTER = 'F',
	OPT_NAMESPACE = 'n',
	OPT_PODNAME = 'p',
	OPT_CONTAINERNAME = 'c',
	OPT_OUTPUT = 'o',
	OPT_WRITE = 'w',
	OPT_SINCE = 1000,
	OPT_UNTIL,
	OPT_EXAMPLES,
	OPT_MIN_COUNT,
	OPT_FLOW_WINDOW,
	OPT_RACE_GAP,
	OPT_RACE_RETRY,
	OPT_SLOW,
	OPT_STORM_MIN,
	OPT_HOT_MIN,
	OPT_SCAN,
};

static const struct dnsreel_opt options[] = {
    {OPT_FILTER, "filter", 'F', DNSREEL_REQ_ARG, "EXPR",
     "diagnose flows with an event where FIELD OP VALUE (as replay --flows); repeat to AND",
     "Selection"},
    {OPT_NAMESPACE, "namespace", 'n', DNSREEL_REQ_ARG, "LIST",
     "only flows of these Kubernetes namespaces (comma-separated)", NULL},
    {OPT_PODNAME, "podname", 'p', DNSREEL_REQ_ARG, "LIST", "only flows of these pods", NULL},
    {OPT_CONTAINERNAME, "containername", 'c', DNSREEL_REQ_ARG, "LIST",
     "only flows of these containers", NULL},
    {OPT_SINCE, "since", 0, DNSREEL_REQ_ARG, "TIME",
     "from TIME (RFC 3339, or relative like -10m, 1h = an hour ago)", NULL},
    {OPT_UNTIL, "until", 0, DNSREEL_REQ_ARG, "TIME", "up to TIME", NULL},
    {OPT_OUTPUT, "output", 'o', DNSREEL_REQ_ARG, "FORMAT",
     "text (default) or json (one object, schema in dnsreel-diagnose(1))", "Output"},
    {OPT_WRITE, "write", 'w', DNSREEL_REQ_ARG, "FILE", "write to FILE instead of stdout", NULL},
    {OPT_EXAMPLES, "examples", 0, DNSREEL_REQ_ARG, "N",
     "example flow ids per finding (default 5, at most 32)", NULL},
    {OPT_MIN_COUNT, "min-count", 0, DNSREEL_REQ_ARG, "N",
     "report a finding from N occurrences (default 1)", "Thresholds"},
    {OPT_FLOW_WINDOW, "flow-window", 0, DNSREEL_REQ_ARG, "DURATION",
     "a flow is complete this long after its client query (default 10s)", NULL},
    {OPT_RACE_GAP, "race-gap", 0, DNSREEL_REQ_ARG, "DURATION",
     "conntrack race: two queries of one socket this close are a pair (default 10ms)", NULL},
    {OPT_RACE_RETRY, "race-retry", 0, DNSREEL_REQ_ARG, "DURATION",
     "conntrack race: a retry at least this late is the resolver's timeout (default 1s)", NULL},
    {OPT_SLOW, "slow", 0, DNSREEL_REQ_ARG, "DURATION",
     "an upstream whose p90 latency is above this is slow (default 250ms)", NULL},
    {OPT_STORM_MIN, "storm-min", 0, DNSREEL_REQ_ARG, "N",
     "NXDOMAIN storm: at least N NXDOMAIN per minute from one pod (default 120)", NULL},
    {OPT_HOT_MIN, "hot-min", 0, DNSREEL_REQ_ARG, "N",
     "hot name: at least N queries per minute for one name (default 600)", NULL},
    {OPT_SCAN, "scan", 0, DNSREEL_NO_ARG, NULL,
     "ignore index.sqlite and scan the segments (damaged index)", "Run"},
    {0, NULL, 0, 0, NULL, NULL, NULL},
};

static const struct dnsreel_tool tool = {
    .name = "dnsreel-diagnose",
    .usage = "CAPTURE... [OPTIONS]",
    .summary = "name the DNS failure modes found in captures, with the flows that prove them",
    .opts = options,
    .epilog = "Examples:\n"
	      "  dnsreel-diagnose incident.reel\n"
	      "  dnsreel-diagnose node1.reel node2.reel -n default -o json\n"
	      "  dnsreel-diagnose incident.reel --since 2026-11-26T08:00:00Z --until "
	      "2026-11-26T08:10:00Z\n"
	      "Exit status: 0 no findings, 3 findings, 1 failure, 2 usage.\n",
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
	struct dnsreel_diag *diag;
	struct dnsreel_flows *flows;
	struct dnsreel_flow_filter *ffilter;
	struct dnsreel_progress progress;
};

static void on_problem(void *arg, const char *msg)
{
	struct run *r = arg;
	dnsreel_progress_done(&r->progress);
	dnsreel_err(r->cli, "damaged: %s", msg);
}

static int sink(void *arg, const struct dnsreel_rec *rec)
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
	return dnsreel_diag__flow(r->diag, f);
}

static void on_tick(void *arg, const struct dnsreel_merge_stats *st, bool idle)
{
	struct run *r = arg;
	if (idle)
		return;
	char rate[96];
	dnsreel_progress_rate(&r->progress, st->events_read, st->events_total, "events", rate,
			      sizeof(rate));
	dnsreel_progress(&r->progress, "events %llu/%llu%s", (unsigned long long)st->events_read,
			 (unsigned long long)st->events_total, rate);
}

static int parse_dur(const char *name, const char *s, int64_t *out)
{
	if (dnsreel_parse_duration(s, out) < 0 || *out <= 0)
		return dnsreel_cli_usage_error(&tool, "--%s: cannot read duration '%s'", name, s);
	return 0;
}

static int parse_n(const char *name, const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	if (dnsreel_parse_u64(s, min, max, out) < 0)
		return dnsreel_cli_usage_error(&tool, "--%s: want a number %llu..%llu, not '%s'",
					       name, (unsigned long long)min,
					       (unsigned long long)max, s);
	return 0;
}

int main(int argc, char **argv)
{
	struct dnsreel_cli cli;
	struct dnsreel_filter *filter = NULL, *flow_span = NULL;
	struct dnsreel_merge *rp = NULL;
	struct run run = {0};
	struct dnsreel_diag_opts dopts = {.sz = sizeof(dopts)};
	const char *output = "text", *write_path = NULL, *since = NULL, *until = NULL;
	const char **exprs = NULL;
	size_t nexprs = 0;
	bool scan = false;
	int64_t window_ns = 0;
	uint64_t u;
	FILE *out = stdout;
	int exit_code = DNSREEL_EXIT_OK, ch, err;
	char errbuf[768] = "";

	dnsreel_cli_init(&cli, &tool, argc, argv);
	run.cli = &cli;
	if (dnsreel_filter__new(&filter) < 0 || dnsreel_flow_filter__new(&run.ffilter) < 0) {
		fprintf(stderr, "dnsreel-diagnose: out of memory\n");
		exit_code = DNSREEL_EXIT_FAIL;
		goto cleanup;
	}
	while ((ch = dnsreel_cli_next(&cli, &exit_code)) != -1) {
		if (ch == DNSREEL_CLI_EXIT)
			goto cleanup;
		const char *a = cli.arg;
		switch (ch) {
		case OPT_FILTER: {
			const char **ne = realloc(exprs, (nexprs + 1) * sizeof(*ne));
			if (!ne) {
				dnsreel_err(&cli, "out of memory");
				exit_code = DNSREEL_EXIT_FAIL;
				goto cleanup;
			}
			exprs = ne;
			exprs[nexprs++] = a;
			break;
		}
		case OPT_NAMESPACE:
		case OPT_PODNAME:
		case OPT_CONTAINERNAME: {
			enum dnsreel_field_id id = ch == OPT_NAMESPACE ? DNSREEL_F_K8S_NAMESPACE
						   : ch == OPT_PODNAME
						       ? DNSREEL_F_K8S_PODNAME
						       : DNSREEL_F_K8S_CONTAINERNAME;
			if (dnsreel_filter__add_any_of(filter, id, a, errbuf, sizeof(errbuf)) < 0) {
				exit_code = dnsreel_cli_usage_error(
				    &tool, "%s", errbuf[0] ? errbuf : "bad list");
				goto cleanup;
			}
			break;
		}
		case OPT_SINCE:
			since = a;
			break;
		case OPT_UNTIL:
			until = a;
			break;
		case OPT_OUTPUT:
			output = a;
			break;
		case OPT_WRITE:
			write_path = a;
			break;
		case OPT_EXAMPLES:
			if ((exit_code = parse_n("examples", a, 1, 32, &u)))
				goto cleanup;
			dopts.max_examples = (size_t)u;
			break;
		case OPT_MIN_COUNT:
			if ((exit_code = parse_n("min-count", a, 1, UINT64_MAX, &dopts.min_count)))
				goto cleanup;
			break;
		case OPT_FLOW_WINDOW:
			if ((exit_code = parse_dur("flow-window", a, &window_ns)))
				goto cleanup;
			break;
		case OPT_RACE_GAP:
			if ((exit_code = parse_dur("race-gap", a, &dopts.race_gap_ns)))
				goto cleanup;
			break;
		case OPT_RACE_RETRY:
			if ((exit_code = parse_dur("race-retry", a, &dopts.race_retry_ns)))
				goto cleanup;
			break;
		case OPT_SLOW:
			if ((exit_code = parse_dur("slow", a, &dopts.slow_upstream_ns)))
				goto cleanup;
			break;
		case OPT_STORM_MIN:
			if ((exit_code = parse_n("storm-min", a, 1, UINT64_MAX, &dopts.storm_min)))
				goto cleanup;
			break;
		case OPT_HOT_MIN:
			if ((exit_code = parse_n("hot-min", a, 1, UINT64_MAX, &dopts.hot_min)))
				goto cleanup;
			break;
		case OPT_SCAN:
			scan = true;
			break;
		default:
			exit_code = dnsreel_cli_usage_error(&tool, "unhandled option");
			goto cleanup;
		}
	}
	if (cli.optind >= argc) {
		exit_code = dnsreel_cli_usage_error(&tool, "no CAPTURE given");
		goto cleanup;
	}
	bool json = !strcmp(output, "json");
	if (!json && strcmp(output, "text")) {
		exit_code =
		    dnsreel_cli_usage_error(&tool, "unknown output '%s' (text, json)", output);
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
	int64_t since_ns, until_ns;
	if (dnsreel_window_parse(since, until, dnsreel_now_wall_ns(), &since_ns, &until_ns, errbuf,
				 sizeof(errbuf)) < 0) {
		exit_code = dnsreel_cli_usage_error(&tool, "%s", errbuf);
		goto cleanup;
	}
	if (since || until)
		dnsreel_filter__set_window(filter, since_ns, until_ns);

	if (write_path && !(out = fopen(write_path, "w"))) {
		dnsreel_err(&cli, "%s: %s", write_path, strerror(errno));
		exit_code = DNSREEL_EXIT_FAIL;
		out = stdout;
		goto cleanup;
	}

	struct dnsreel_merge_opts ro = {
	    .sz = sizeof(ro),
	    .stop = &stop_flag,
	    .problem = on_problem,
	    .problem_ctx = &run,
	    .tick = on_tick,
	    .tick_arg = &run,
	    .capr_flags = scan ? DNSREEL_CAPR_SCAN : 0,
	    .rec_fn = sink,
	    .rec_arg = &run,
	};
	if (dnsreel_flow_span__new(&flow_span, window_ns, since_ns, until_ns) < 0) {
		dnsreel_err(&cli, "out of memory");
		exit_code = DNSREEL_EXIT_FAIL;
		goto cleanup;
	}
	if (flow_span)
		ro.filter = flow_span;
	size_t ncap = (size_t)(argc - cli.optind);
	const char *const *paths = (const char *const *)argv + cli.optind;
	err = dnsreel_merge__open(&rp, paths, ncap, &ro, errbuf, sizeof(errbuf));
	if (err < 0) {
		dnsreel_err(&cli, "%s", errbuf[0] ? errbuf : dnsreel_strerror(err));
		exit_code = DNSREEL_EXIT_FAIL;
		goto cleanup;
	}
	dopts.captures = paths;
	dopts.ncaptures = ncap;
	struct dnsreel_flows_opts fo = {
	    .sz = sizeof(fo),
	    .window_ns = window_ns,
	    .filter = dnsreel_filter__empty(filter) ? NULL : filter,
	    .fn = on_flow,
	    .arg = &run,
	};
	err = dnsreel_diag__new(&run.diag, dnsreel_merge__ctx(rp), &dopts);
	if (!err)
		err = dnsreel_flows__new(&run.flows, dnsreel_merge__ctx(rp), &fo);
	if (err < 0) {
		dnsreel_err(&cli, "diagnose: %s", dnsreel_strerror(err));
		exit_code = DNSREEL_EXIT_FAIL;
		goto cleanup;
	}

	struct sigaction sa = {.sa_handler = on_signal};
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	dnsreel_progress_init(&run.progress, &cli);
	err = dnsreel_merge__run(rp);
	if (!err)
		err = dnsreel_flows__flush(run.flows);
	dnsreel_progress_done(&run.progress);
	if (!err && stop_flag)
		err = DNSREEL_E_STATE;
	/* The recorder's losses: absent packets are not the network's doing. */
	for (uint32_t c = 0; !err && c < ncap; c++) {
		struct dnsreel_capr *r = dnsreel_merge__capr(rp, c);
		for (size_t i = 0; r && !err && i < dnsreel_capr__counter_count(r); i++) {
			const struct dnsreel_counter *k = dnsreel_capr__counter_at(r, i);
			err = dnsreel_diag__counter(run.diag, c, k->name, k->value);
		}
	}
	struct dnsreel_merge_stats mst;
	dnsreel_merge__stats(rp, &mst);
	if (!err && mst.frames_bad)
		err =
		    dnsreel_diag__damaged(run.diag, ncap == 1 ? 0 : (uint32_t)ncap, mst.frames_bad);
	if (!err)
		err = dnsreel_diag__finish(run.diag);
	if (err) {
		dnsreel_err(&cli, "diagnose: %s",
			    err == DNSREEL_E_STATE ? "interrupted" : dnsreel_strerror(err));
		exit_code = DNSREEL_EXIT_FAIL;
		goto cleanup;
	}
	err = json ? dnsreel_diag__json(run.diag, out) : dnsreel_diag__text(run.diag, out);
	if (err || fflush(out)) {
		dnsreel_err(&cli, "writing output: %s", strerror(errno));
		exit_code = DNSREEL_EXIT_FAIL;
		goto cleanup;
	}
	if (mst.frames_bad || mst.capture_problems)
		dnsreel_err(&cli, "capture damaged (%llu frame(s) skipped): see recorder-loss",
			    (unsigned long long)mst.frames_bad);
	exit_code = dnsreel_diag__finding_count(run.diag) ? EXIT_FINDINGS : DNSREEL_EXIT_OK;

cleanup:
	dnsreel_flows__free(run.flows);
	dnsreel_diag__free(run.diag);
	dnsreel_flow_filter__free(run.ffilter);
	dnsreel_merge__close(rp);
	free(exprs);
	if (out != stdout && fclose(out) && exit_code != DNSREEL_EXIT_FAIL) {
		dnsreel_err(&cli, "%s: %s", write_path, strerror(errno));
		exit_code = DNSREEL_EXIT_FAIL;
	}
	dnsreel_filter__free(filter);
	dnsreel_filter__free(flow_span);
	dnsreel_cli_free(&cli);
	return dnsreel_cli_end(&cli, exit_code);
}
