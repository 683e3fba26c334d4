/* dnsreel-replay: captures in, trace_dns-style events out, sorted by time.
 *
 *   captures ─▶ merge by time ─▶ decode ─▶ filter ─▶ printer | pcapng
 *   captures ─▶ merge by time ─▶ decode ─▶ flows ─▶ flow filter ─▶ flow printer   (--flows)
 *   captures ─▶ merge by time ─▶ decode ─▶ flows ─▶ dnstap writer (-o dnstap: roles from flows)
 *
 * With --flows every event goes into reconstruction (no frame pruning, no event filter before
 * it): a flow is shown when any of its events passes the event filter, so the filter is applied
 * per flow afterwards.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "dnsreel.h"
#include "dnstap.h"
#include "flows.h"
#include "pcapng.h"
#include "view.h"

enum {
	OPT_FILTER = 'F',
	OPT_NAMESPACE = 'n',
	OPT_PODNAME = 'p',
	OPT_CONTAINERNAME = 'c',
	OPT_OUTPUT = 'o',
	OPT_WRITE = 'w',
	OPT_FOLLOW = 'f',
	OPT_SINCE = 1000,
	OPT_UNTIL,
	OPT_FIELDS,
	OPT_WIDE,
	OPT_NO_RESOLVE,
	OPT_NO_HEADER,
	OPT_STATS,
	OPT_SCAN,
	OPT_FLOWS,
	OPT_WHOLE_FLOWS,
	OPT_FLOW_WINDOW,
	OPT_FLOW_ID,
	OPT_LOOKUP_ID,
	OPT_NO_EVENTS,
};

static const struct dnsreel_opt options[] = {
    {OPT_FILTER, "filter", 'F', DNSREEL_REQ_ARG, "EXPR",
     "keep events where FIELD OP VALUE (== != ~ !~ < <= > >=); repeat to AND", "Selection"},
    {OPT_NAMESPACE, "namespace", 'n', DNSREEL_REQ_ARG, "LIST",
     "only these Kubernetes namespaces (comma-separated)", NULL},
    {OPT_PODNAME, "podname", 'p', DNSREEL_REQ_ARG, "LIST", "only these pods", NULL},
    {OPT_CONTAINERNAME, "containername", 'c', DNSREEL_REQ_ARG, "LIST", "only these containers",
     NULL},
    {OPT_SINCE, "since", 0, DNSREEL_REQ_ARG, "TIME",
     "from TIME (RFC 3339, or relative like -10m, 1h = an hour ago)", NULL},
    {OPT_UNTIL, "until", 0, DNSREEL_REQ_ARG, "TIME", "up to TIME", NULL},
    {OPT_FLOW_ID, "flow-id", 0, DNSREEL_REQ_ARG, "ID", "--flows: only the flow with this flow_id",
     NULL},
    {OPT_LOOKUP_ID, "lookup-id", 0, DNSREEL_REQ_ARG, "ID", "--flows: only the flows of this lookup",
     NULL},
    {OPT_OUTPUT, "output", 'o', DNSREEL_REQ_ARG, "FORMAT",
     "columns (default), json (an object per line), jsonpretty, jsonarray, jsonl, csv, pcapng or "
     "dnstap (Frame Streams); "
     "with --flows: tree (default), json, jsonpretty, jsonarray, jsonl, csv or mermaid",
     "Output"},
    {OPT_FIELDS, "fields", 0, DNSREEL_REQ_ARG, "LIST",
     "columns to print, e.g. timestamp,k8s.podname,name,rcode", NULL},
    {OPT_WIDE, "wide", 0, DNSREEL_NO_ARG, NULL, "columns: never cut long values", NULL},
    {OPT_NO_RESOLVE, "no-resolve", 0, DNSREEL_NO_ARG, NULL,
     "src, dst as plain IP:PORT (no p/NS/POD or s/NS/SVC names)", NULL},
    {OPT_NO_HEADER, "no-header", 0, DNSREEL_NO_ARG, NULL, "columns, csv: no header row", NULL},
    {OPT_WRITE, "write", 'w', DNSREEL_REQ_ARG, "FILE", "write to FILE instead of stdout", NULL},
    {OPT_NO_EVENTS, "no-events", 0, DNSREEL_NO_ARG, NULL,
     "--flows json forms: leave the events out of each flow", NULL},
    {OPT_WHOLE_FLOWS, "whole-flows", 0, DNSREEL_NO_ARG, NULL,
     "events of every flow that has a matching event (the node's and forwarder's rows of a "
     "pod's lookups), flow by flow",
     NULL},
    {OPT_FLOWS, "flows", 0, DNSREEL_NO_ARG, NULL,
     "one flow per client transaction: every hop, upstream tries, outcome (-F outcome==, "
     "rcode==, retries> select flows)",
     "Flows"},
    {OPT_FLOW_WINDOW, "flow-window", 0, DNSREEL_REQ_ARG, "DURATION",
     "--flows: a flow is complete this long after its client query (default 10s)", NULL},
    {OPT_FOLLOW, "follow", 'f', DNSREEL_NO_ARG, NULL,
     "keep printing as captures being recorded grow (Ctrl-C ends)", "Run"},
    {OPT_STATS, "stats", 0, DNSREEL_NO_ARG, NULL, "print frames and events read on stderr", NULL},
    {OPT_SCAN, "scan", 0, DNSREEL_NO_ARG, NULL,
     "ignore index.sqlite and scan the segments (damaged index)", NULL},
    {0, NULL, 0, 0, NULL, NULL, NULL},
};

static const struct dnsreel_tool tool = {
    .name = "dnsreel-replay",
    .usage = "CAPTURE... [OPTIONS]",
    .summary = "print the DNS events of captures as trace_dns does, merged and sorted by time",
    .opts = options,
    .epilog = "Examples:\n"
	      "  dnsreel-replay node1.reel node2.reel -n demo -F rcode!=Success\n"
	      "  dnsreel-replay c.reel --since 2026-11-26T08:00:00Z --until 2026-11-26T08:05:00Z "
	      "-o jsonl\n"
	      "  dnsreel-replay c.reel --fields timestamp,src,dst,id,qr,name,latency_ns\n"
	      "  dnsreel-replay c.reel -F name==example.com. -o pcapng -w out.pcapng\n"
	      "  dnsreel-replay c.reel -o dnstap -w out.fstrm\n"
	      "  dnsreel-replay c.reel --flows -F outcome==unanswered\n"
	      "  dnsreel-replay c.reel --flows -o jsonl -F rcode!=Success -n default\n"
	      "Exit status: 0 ok, 1 failure (including damaged frames, after replaying the "
	      "rest), 2 usage.\n",
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
	struct dnsreel_printer *printer;
	struct dnsreel_flows *flows;
	struct dnsreel_flow_printer *fprinter;
	struct dnsreel_flow_filter *ffilter;
	const char *flow_id, *lookup_id;
	int flow_err; /* from printing flows at an idle tick */
	FILE *out;
	struct dnsreel_pcapng *pcap;
	struct dnsreel_dnstap_writer *tap;
	const struct dnsreel_filter *tap_filter; /* -o dnstap: events written */
	struct tap_seen {
		uint64_t *h;
		int64_t *wall;
		size_t cap, n;
		int64_t newest;
	} seen;
	struct dnsreel_progress progress;
	int64_t start_ns;
	uint64_t problems;
};

static void on_problem(void *arg, const char *msg)
{
	struct run *r = arg;
	r->problems++;
	dnsreel_progress_done(&r->progress);
	dnsreel_err(r->cli, "damaged: %s", msg);
}

/* Sinks: the printer, the pcapng writer, or the flow stage in front of the flow printer. */
static int sink_print(void *arg, const struct dnsreel_rec *rec)
{
	struct run *r = arg;
	return dnsreel_printer__print(r->printer, rec);
}

static int sink_flows(void *arg, const struct dnsreel_rec *rec)
{
	struct run *r = arg;
	return dnsreel_flows__feed(r->flows, rec);
}

/* -o dnstap: the events of an upstream transaction that served several client flows come with
 * each of them; one message each is written. The set forgets what is a minute older than the
 * newest event, far past any flow window. */
static uint64_t tap_key(const struct dnsreel_rec *rec)
{
	const struct dnsreel_event *ev = rec->ev;
	uint64_t k = dnsreel_hash_bytes(ev->src_addr, 16, (uint64_t)ev->ts_ns);
	k = dnsreel_hash_bytes(ev->dst_addr, 16, k ^ ev->netns);
	k ^= dnsreel_mix64((uint64_t)rec->capture << 48 ^ (uint64_t)ev->src_port << 32 ^
			   (uint64_t)ev->dst_port << 16 ^ ev->ifindex ^
			   (uint64_t)ev->pkt_type << 56);
	return k ? k : 1;
}

static int tap_seen_rebuild(struct tap_seen *s, size_t cap)
{
	uint64_t *h = calloc(cap, sizeof(*h));
	int64_t *wall = calloc(cap, sizeof(*wall));
	if (!h || !wall) {
		free(h);
		free(wall);
		return -ENOMEM;
	}
	size_t n = 0;
	for (size_t i = 0; i < s->cap; i++) {
		if (!s->h[i] || s->wall[i] < s->newest - 60 * 1000000000LL)
			continue;
		size_t j = s->h[i] & (cap - 1);
		while (h[j])
			j = (j + 1) & (cap - 1);
		h[j] = s->h[i];
		wall[j] = s->wall[i];
		n++;
	}
	free(s->h);
	free(s->wall);
	s->h = h;
	s->wall = wall;
	s->cap = cap;
	s->n = n;
	return 0;
}

/* 1 when rec was written before, 0 after noting it, -ENOMEM. */
static int tap_seen(struct tap_seen *s, const struct dnsreel_rec *rec)
{
	if (rec->wall_ns > s->newest)
		s->newest = rec->wall_ns;
	if ((s->n + 1) * 2 > s->cap) {
		size_t cap = s->cap ? s->cap : 1024;
		if (tap_seen_rebuild(s, cap) < 0)
			return -ENOMEM;
		if ((s->n + 1) * 4 > s->cap && tap_seen_rebuild(s, s->cap * 2) < 0)
			return -ENOMEM;
	}
	uint64_t k = tap_key(rec);
	size_t j = k & (s->cap - 1);
	for (; s->h[j]; j = (j + 1) & (s->cap - 1))
		if (s->h[j] == k)
			return 1;
	s->h[j] = k;
	s->wall[j] = rec->wall_ns;
	s->n++;
	return 0;
}

static int tap_write(struct run *r, const struct dnsreel_rec *rec, unsigned type)
{
	if (r->tap_filter && !dnsreel_filter__match(r->tap_filter, rec))
		return 0;
	const char *identity = NULL;
	char comm[DNSREEL_COMM_LEN];
	if (rec->ev->flags & DNSREEL_EV_DNSTAP) {
		memcpy(comm, rec->ev->comm, sizeof(comm));
		comm[sizeof(comm) - 1] = 0;
		identity = comm;
	} else {
		const struct dnsreel_meta *m = dnsreel_ctx__meta(rec->ctx, rec->capture);
		identity = m ? m->node : NULL;
	}
	return dnsreel_dnstap_writer__rec(r->tap, rec, type, identity);
}

/* -o dnstap: events outside flows go out as they come, the others with their flow. */
static int sink_dnstap(void *arg, const struct dnsreel_rec *rec)
{
	struct run *r = arg;
	if (rec->ev->flags & DNSREEL_EV_DNSTAP)
		return tap_write(r, rec, dnsreel_dnstap_rec_type(rec));
	struct dnsreel_flows_stats a, b;
	dnsreel_flows__stats(r->flows, &a);
	int err = dnsreel_flows__feed(r->flows, rec);
	if (err)
		return err;
	dnsreel_flows__stats(r->flows, &b);
	if (b.recs_ignored != a.recs_ignored)
		return tap_write(r, rec, dnsreel_dnstap_rec_type(rec));
	return 0;
}

static int on_flow_dnstap(void *arg, const struct dnsreel_flow *f)
{
	struct run *r = arg;
	for (size_t i = 0; i < f->nevents; i++) {
		unsigned type = dnsreel_dnstap_flow_type(f, i);
		if (type == DNSREEL_DNSTAP_FORWARDER_QUERY ||
		    type == DNSREEL_DNSTAP_FORWARDER_RESPONSE) {
			int seen = tap_seen(&r->seen, &f->events[i]);
			if (seen < 0)
				return seen;
			if (seen)
				continue;
		}
		int err = tap_write(r, &f->events[i], type);
		if (err)
			return err;
	}
	return 0;
}

static int on_flow(void *arg, const struct dnsreel_flow *f)
{
	struct run *r = arg;
	if (!f->matched || !dnsreel_flow_filter__match(r->ffilter, f))
		return 0;
	if (r->flow_id && strcmp(r->flow_id, f->flow_id))
		return 0;
	if (r->lookup_id && strcmp(r->lookup_id, f->lookup_id))
		return 0;
	if (!r->fprinter) { /* --whole-flows: the flow's events, in their printer */
		for (size_t i = 0; i < f->nevents; i++) {
			int err = dnsreel_printer__print(r->printer, &f->events[i]);
			if (err)
				return err;
		}
		return 0;
	}
	return dnsreel_flow_printer__print(r->fprinter, f);
}

static int sink_pcapng_rec(void *arg, const struct dnsreel_rec *rec)
{
	struct run *r = arg;
	return dnsreel_pcapng__rec(r->pcap, rec);
}

static int sink_pcapng_event(void *arg, uint32_t capture, uint32_t segment,
			     const struct dnsreel_event *ev, int64_t wall_ns)
{
	struct run *r = arg;
	(void)segment;
	return dnsreel_pcapng__event(r->pcap, capture, ev, wall_ns);
}

static void on_tick(void *arg, const struct dnsreel_merge_stats *st, bool idle)
{
	struct run *r = arg;
	if (idle) {
		if (r->printer)
			dnsreel_printer__flush(r->printer);
		/* Following: flows whose window has passed on the clock print now, not at the
		 * next event. */
		if (r->flows && !r->flow_err)
			r->flow_err = dnsreel_flows__advance(r->flows, dnsreel_now_wall_ns());
		if (r->fprinter)
			fflush(r->out);
		if (r->pcap)
			fflush(stdout);
		return;
	}
	char rate[96];
	dnsreel_progress_rate(&r->progress, st->events_read, st->events_total, "events", rate,
			      sizeof(rate));
	dnsreel_progress(&r->progress, "frames %llu/%llu  events %llu/%llu%s",
			 (unsigned long long)(st->frames_read + st->frames_pruned + st->frames_bad),
			 (unsigned long long)st->frames_total, (unsigned long long)st->events_read,
			 (unsigned long long)st->events_total, rate);
}

static int add_list(struct dnsreel_cli *cli, struct dnsreel_filter *f, enum dnsreel_field_id id,
		    const char *csv, int *exit_code)
{
	char err[256] = "";
	if (dnsreel_filter__add_any_of(f, id, csv, err, sizeof(err)) < 0) {
		*exit_code = dnsreel_cli_usage_error(&tool, "%s", err[0] ? err : "bad list");
		return -1;
	}
	(void)cli;
	return 0;
}

int main(int argc, char **argv)
{
	struct dnsreel_cli cli;
	struct dnsreel_filter *filter = NULL, *flow_span = NULL;
	struct dnsreel_merge *rp = NULL;
	struct run run = {0};
	enum dnsreel_field_id fields[64];
	size_t nfields = 0;
	const char *fields_arg = NULL, *output = "columns", *write_path = NULL;
	bool wfail = false; /* writing the output failed */
	const char *since = NULL, *until = NULL, *flow_window = NULL;
	const char **exprs = NULL;
	size_t nexprs = 0;
	bool wide = false, no_resolve = false, no_header = false, follow = false, stats = false,
	     scan = false;
	bool flows = false, no_events = false, output_set = false, whole_flows = false;
	FILE *out = stdout;
	int exit_code = DNSREEL_EXIT_OK, ch, err;
	char errbuf[768] = "";

	dnsreel_cli_init(&cli, &tool, argc, argv);
	run.cli = &cli;
	if (dnsreel_filter__new(&filter) < 0) {
		fprintf(stderr, "dnsreel-replay: out of memory\n");
		return DNSREEL_EXIT_FAIL;
	}
	while ((ch = dnsreel_cli_next(&cli, &exit_code)) != -1) {
		if (ch == DNSREEL_CLI_EXIT)
			goto cleanup;
		switch (ch) {
		case OPT_FILTER: {
			/* Kept until --flows is known: it decides where rcode== goes. */
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
		case OPT_FLOWS:
			flows = true;
			break;
		case OPT_WHOLE_FLOWS:
			whole_flows = true;
			break;
		case OPT_FLOW_WINDOW:
			flow_window = cli.arg;
			break;
		case OPT_FLOW_ID:
			run.flow_id = cli.arg;
			break;
		case OPT_LOOKUP_ID:
			run.lookup_id = cli.arg;
			break;
		case OPT_NO_EVENTS:
			no_events = true;
			break;
		case OPT_NAMESPACE:
			if (add_list(&cli, filter, DNSREEL_F_K8S_NAMESPACE, cli.arg, &exit_code))
				goto cleanup;
			break;
		case OPT_PODNAME:
			if (add_list(&cli, filter, DNSREEL_F_K8S_PODNAME, cli.arg, &exit_code))
				goto cleanup;
			break;
		case OPT_CONTAINERNAME:
			if (add_list(&cli, filter, DNSREEL_F_K8S_CONTAINERNAME, cli.arg,
				     &exit_code))
				goto cleanup;
			break;
		case OPT_SINCE:
			since = cli.arg;
			break;
		case OPT_UNTIL:
			until = cli.arg;
			break;
		case OPT_OUTPUT:
			output = cli.arg;
			output_set = true;
			break;
		case OPT_FIELDS:
			fields_arg = cli.arg;
			break;
		case OPT_NO_RESOLVE:
			no_resolve = true;
			break;
		case OPT_WIDE:
			wide = true;
			break;
		case OPT_NO_HEADER:
			no_header = true;
			break;
		case OPT_WRITE:
			write_path = cli.arg;
			break;
		case OPT_FOLLOW:
			follow = true;
			break;
		case OPT_STATS:
			stats = true;
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

	if (flows && dnsreel_flow_filter__new(&run.ffilter) < 0) {
		dnsreel_err(&cli, "out of memory");
		exit_code = DNSREEL_EXIT_FAIL;
		goto cleanup;
	}
	for (size_t i = 0; i < nexprs; i++) {
		int e =
		    flows && dnsreel_flow_term(exprs[i])
			? dnsreel_flow_filter__add(run.ffilter, exprs[i], errbuf, sizeof(errbuf))
			: dnsreel_filter__add(filter, exprs[i], errbuf, sizeof(errbuf));
		if (e < 0) {
			exit_code = dnsreel_cli_usage_error(&tool, "-F '%s': %s", exprs[i], errbuf);
			goto cleanup;
		}
	}
	if (!flows && (flow_window || run.flow_id || run.lookup_id || no_events)) {
		exit_code = dnsreel_cli_usage_error(
		    &tool, "--flow-window, --flow-id, --lookup-id and --no-events need --flows");
		goto cleanup;
	}
	int64_t window_ns = 0;
	if (flow_window &&
	    (dnsreel_parse_duration(flow_window, &window_ns) < 0 || window_ns <= 0)) {
		exit_code =
		    dnsreel_cli_usage_error(&tool, "--flow-window: cannot read '%s'", flow_window);
		goto cleanup;
	}
	if (flows && whole_flows) {
		exit_code = dnsreel_cli_usage_error(
		    &tool, "--whole-flows prints events; --flows prints flows: choose one");
		goto cleanup;
	}
	enum dnsreel_flow_output ffmt = DNSREEL_FLOW_OUT_TREE;
	if (flows) {
		if (output_set && dnsreel_flow_output_parse(output, &ffmt) < 0) {
			exit_code = dnsreel_cli_usage_error(&tool,
							    "--flows: unknown output '%s' (tree, "
							    "json, jsonl, jsonpretty, jsonarray, "
							    "csv, mermaid)",
							    output);
			goto cleanup;
		}
		if (fields_arg) {
			exit_code =
			    dnsreel_cli_usage_error(&tool, "--fields does not apply to --flows");
			goto cleanup;
		}
		output = "columns";
	}
	bool pcapng = !strcmp(output, "pcapng");
	bool dnstap = !flows && !strcmp(output, "dnstap");
	if (whole_flows && (pcapng || dnstap)) {
		exit_code = dnsreel_cli_usage_error(&tool, "--whole-flows: use an event output, "
							   "not pcapng");
		goto cleanup;
	}
	enum dnsreel_output fmt = DNSREEL_OUT_COLUMNS;
	if (!pcapng && !dnstap && dnsreel_output_parse(output, &fmt) < 0) {
		exit_code = dnsreel_cli_usage_error(&tool,
						    "unknown output '%s' (columns, json, "
						    "jsonpretty, jsonarray, jsonl, csv, pcapng, "
						    "dnstap)",
						    output);
		goto cleanup;
	}
	if (fields_arg &&
	    dnsreel_fields_parse(fields_arg, fields, 64, &nfields, errbuf, sizeof(errbuf)) < 0) {
		exit_code = dnsreel_cli_usage_error(&tool, "--fields: %s", errbuf);
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

	if (write_path) {
		out = fopen(write_path, "w");
		if (!out) {
			dnsreel_err(&cli, "%s: %s", write_path, strerror(errno));
			exit_code = DNSREEL_EXIT_FAIL;
			out = stdout;
			goto cleanup;
		}
	} else if ((pcapng || dnstap) && isatty(fileno(stdout))) {
		exit_code = dnsreel_cli_usage_error(
		    &tool, "-o %s writes binary data: use -w FILE or a pipe", output);
		goto cleanup;
	}
	static char obuf[1 << 20];
	if (pcapng || dnstap)
		setvbuf(out, obuf, _IOFBF, sizeof(obuf));

	bool filtered = !dnsreel_filter__empty(filter);
	/* --whole-flows reconstructs as --flows does and prints each selected flow's events */
	bool reconstruct = flows || whole_flows || dnstap;
	struct dnsreel_merge_opts ro = {
	    .sz = sizeof(ro),
	    .filter = filtered ? filter : NULL,
	    .follow = follow,
	    .stop = &stop_flag,
	    .problem = on_problem,
	    .problem_ctx = &run,
	    .tick = on_tick,
	    .tick_arg = &run,
	    .capr_flags = scan ? DNSREEL_CAPR_SCAN : 0,
	};
	if (reconstruct) {
		/* Every event into reconstruction; the filter selects flows afterwards. A time
		 * window still skips frames: a flow with an event inside it has all its events
		 * within one flow window of it, and its lookup's earlier flows within a lookup gap
		 * or two. */
		ro.filter = NULL;
		if (dnsreel_flow_span__new(&flow_span, window_ns, since_ns, until_ns) < 0) {
			dnsreel_err(&cli, "out of memory");
			exit_code = DNSREEL_EXIT_FAIL;
			goto cleanup;
		}
		if (flow_span)
			ro.filter = flow_span;
		ro.rec_fn = dnstap ? sink_dnstap : sink_flows;
		ro.rec_arg = &run;
	} else if (pcapng && !filtered) {
		/* Unfiltered: the original packets, TCP segments with their sequence numbers. */
		ro.event_fn = sink_pcapng_event;
		ro.event_arg = &run;
		ro.no_decode = !stats;
	} else {
		ro.rec_fn = pcapng ? sink_pcapng_rec : sink_print;
		ro.rec_arg = &run;
	}
	err = dnsreel_merge__open(&rp, (const char *const *)argv + cli.optind,
				  (size_t)(argc - cli.optind), &ro, errbuf, sizeof(errbuf));
	if (err < 0) {
		dnsreel_err(&cli, "%s", errbuf[0] ? errbuf : dnsreel_strerror(err));
		exit_code = DNSREEL_EXIT_FAIL;
		goto cleanup;
	}
	if (reconstruct) {
		struct dnsreel_flows_opts fo = {
		    .sz = sizeof(fo),
		    .window_ns = window_ns,
		    .events = whole_flows || dnstap ||
			      (ffmt != DNSREEL_FLOW_OUT_TREE && ffmt != DNSREEL_FLOW_OUT_CSV &&
			       !no_events) ||
			      ffmt == DNSREEL_FLOW_OUT_MERMAID,
		    .filter = filtered && !dnstap ? filter : NULL,
		    .fn = dnstap ? on_flow_dnstap : on_flow,
		    .arg = &run,
		};
		struct dnsreel_flow_printer_opts fpo = {
		    .sz = sizeof(fpo),
		    .output = ffmt,
		    .no_header = no_header,
		    .no_events = no_events,
		    .out = out,
		};
		run.out = out;
		err = dnsreel_flows__new(&run.flows, dnsreel_merge__ctx(rp), &fo);
		if (!err && flows)
			err =
			    dnsreel_flow_printer__new(&run.fprinter, dnsreel_merge__ctx(rp), &fpo);
	}
	if (err < 0 || flows) {
		/* the flow printer is made; nothing more */
	} else if (dnstap) {
		/* every event is written, the filter picks them after roles are known */
		run.tap_filter = filtered ? filter : NULL;
		struct dnsreel_dnstap_writer_opts wo = {
		    .sz = sizeof(wo), .out = out, .version = "dnsreel " DNSREEL_VERSION};
		err = dnsreel_dnstap_writer__new(&run.tap, &wo);
	} else if (pcapng) {
		err = dnsreel_pcapng__new(&run.pcap, out, dnsreel_merge__ctx(rp),
					  (size_t)(argc - cli.optind),
					  (const char *const *)argv + cli.optind);
	} else {
		struct dnsreel_printer_opts po = {
		    .sz = sizeof(po),
		    .output = fmt,
		    .fields = nfields ? fields : NULL,
		    .nfields = nfields,
		    .wide = wide,
		    .no_resolve = no_resolve,
		    .no_header = no_header,
		    .out = out,
		};
		err = dnsreel_printer__new(&run.printer, &po);
	}
	if (err < 0) {
		dnsreel_err(&cli, "output: %s", dnsreel_strerror(err));
		exit_code = DNSREEL_EXIT_FAIL;
		goto cleanup;
	}

	struct sigaction sa = {.sa_handler = on_signal};
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	dnsreel_progress_init(&run.progress, &cli);
	run.start_ns = dnsreel_now_boot_ns();
	err = dnsreel_merge__run(rp);
	if (!err)
		err = run.flow_err;
	if (!err && run.flows)
		err = dnsreel_flows__flush(run.flows);
	dnsreel_progress_done(&run.progress);
	if (err) {
		dnsreel_err(&cli, "replay: %s", err < 0 ? dnsreel_strerror(err) : "stopped");
		exit_code = DNSREEL_EXIT_FAIL;
		/* a sink's negative error is a write that failed (the replay's own are reported
		 * through the problem callback) */
		wfail |= err < 0 && err != -ENOMEM;
	}

cleanup:
	if (run.fprinter && dnsreel_flow_printer__close(run.fprinter) < 0 &&
	    exit_code == DNSREEL_EXIT_OK) {
		dnsreel_err(&cli, "writing output: %s", strerror(errno));
		exit_code = DNSREEL_EXIT_FAIL;
		wfail = true;
	}
	dnsreel_flows__free(run.flows);
	dnsreel_flow_filter__free(run.ffilter);
	free(exprs);
	if (run.printer && dnsreel_printer__close(run.printer) < 0 &&
	    exit_code == DNSREEL_EXIT_OK) {
		dnsreel_err(&cli, "writing output: %s", strerror(errno));
		exit_code = DNSREEL_EXIT_FAIL;
		wfail = true;
	}
	if (run.tap && dnsreel_dnstap_writer__close(run.tap) < 0 && exit_code == DNSREEL_EXIT_OK) {
		dnsreel_err(&cli, "writing dnstap: %s", strerror(errno));
		exit_code = DNSREEL_EXIT_FAIL;
		wfail = true;
	}
	free(run.seen.h);
	free(run.seen.wall);
	if (run.pcap && dnsreel_pcapng__close(run.pcap) < 0 && exit_code == DNSREEL_EXIT_OK) {
		dnsreel_err(&cli, "writing pcapng: %s", strerror(errno));
		exit_code = DNSREEL_EXIT_FAIL;
		wfail = true;
	}
	if (rp) {
		struct dnsreel_merge_stats st;
		dnsreel_merge__stats(rp, &st);
		if (stats) {
			double secs = (double)(dnsreel_now_boot_ns() - run.start_ns) / 1e9;
			fprintf(
			    stderr,
			    "frames read %llu/%llu (pruned %llu, damaged %llu), events %llu/%llu, "
			    "messages %llu, matched %llu, %.3f s, %.0f events/s\n",
			    (unsigned long long)st.frames_read, (unsigned long long)st.frames_total,
			    (unsigned long long)st.frames_pruned, (unsigned long long)st.frames_bad,
			    (unsigned long long)st.events_read, (unsigned long long)st.events_total,
			    (unsigned long long)st.recs, (unsigned long long)st.recs_matched, secs,
			    secs > 0 ? (double)st.events_read / secs : 0.0);
		}
		if (st.frames_bad || st.capture_problems) {
			dnsreel_err(
			    &cli, "capture damaged (%llu frame(s) skipped); the rest was replayed",
			    (unsigned long long)st.frames_bad);
			exit_code = DNSREEL_EXIT_FAIL;
		}
		dnsreel_merge__close(rp);
	}
	if (out != stdout && fclose(out) && exit_code == DNSREEL_EXIT_OK) {
		dnsreel_err(&cli, "%s: %s", write_path, strerror(errno));
		exit_code = DNSREEL_EXIT_FAIL;
		wfail = true;
	}
	/* A file cut short by a full disk must not pass for an export: remove it (a regular file
	 * only: never a device such as /dev/full, nor what a symlink points to). */
	struct stat wst;
	if (wfail && write_path && out != stdout && lstat(write_path, &wst) == 0 &&
	    S_ISREG(wst.st_mode) && unlink(write_path) == 0)
		dnsreel_err(&cli, "%s: removed the partial output", write_path);
	dnsreel_filter__free(filter);
	dnsreel_filter__free(flow_span);
	dnsreel_cli_free(&cli);
	return exit_code;
}
