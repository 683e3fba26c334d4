/* dnsreel-info: what a capture holds — node, kernel, time range, events, frames, segments,
 * bytes per event, loss counters, network namespaces and pods — as text or JSON. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "capture.h"
#include "cli.h"
#include "dnsreel.h"
#include "view.h"

enum { OPT_OUTPUT = 'o', OPT_SCAN = 1000 };

static const struct dnsreel_opt opts[] = {
    {OPT_OUTPUT, "output", 'o', DNSREEL_REQ_ARG, "FORMAT", "text (default) or json", "Output"},
    {OPT_SCAN, "scan", 0, DNSREEL_NO_ARG, NULL,
     "ignore index.sqlite and read the segments themselves", "Input"},
    {0},
};

static const struct dnsreel_tool tool = {
    .name = "dnsreel-info",
    .usage = "CAPTURE... [OPTIONS]",
    .summary = "Summarise a dnsreel capture: node, time range, events, losses, pods.",
    .opts = opts,
    .epilog = "Examples:\n  dnsreel info incident.reel\n  dnsreel info -o json incident.reel\n",
};

static void fmt_wall(int64_t ns, char *buf, size_t len)
{
	if (dnsreel_format_time(ns, buf, len) < 0)
		snprintf(buf, len, "(out of range: %" PRId64 " ns)", ns);
}

/* Boot ns of the capture as wall time text (the reader refused offsets that overflow; the
 * checked sum keeps it so). */
static void fmt_boot(int64_t boot_ns, const struct dnsreel_meta *m, char *buf, size_t len)
{
	int64_t w;
	if (dnsreel_wall_ns(boot_ns, m->boot_to_wall_ns, &w))
		snprintf(buf, len, "(out of range: %" PRId64 " + %" PRId64 " ns)", boot_ns,
			 m->boot_to_wall_ns);
	else
		fmt_wall(w, buf, len);
}

static void human_bytes(uint64_t b, char *buf, size_t len)
{
	const char *u[] = {"B", "KiB", "MiB", "GiB", "TiB"};
	double v = (double)b;
	int i = 0;
	while (v >= 1024 && i < 4) {
		v /= 1024;
		i++;
	}
	snprintf(buf, len, i ? "%.1f %s" : "%.0f %s", v, u[i]);
}

static void print_text(struct dnsreel_capr *r, FILE *o)
{
	const struct dnsreel_meta *m = dnsreel_capr__meta(r);
	struct dnsreel_capr_summary s;
	dnsreel_capr__summary(r, &s);
	char a[64], b[64], hb[32], hs[32], hi[32];
	fprintf(o, "capture:      %s\n", dnsreel_capr__path(r));
	fprintf(o, "capture id:   %s\n", m->capture_id[0] ? m->capture_id : "(unknown)");
	fprintf(o, "node:         %s\n", m->node[0] ? m->node : "(unknown)");
	fprintf(o, "kernel:       %s\n", m->kernel[0] ? m->kernel : "(unknown)");
	fprintf(o, "recorder:     %s\n", m->recorder[0] ? m->recorder : "(unknown)");
	fprintf(o, "format:       %u.%u\n", m->format_major, m->format_minor);
	fprintf(o, "snap length:  %u bytes\n", m->snaplen);
	if (m->start_wall_ns) {
		fmt_wall(m->start_wall_ns, a, sizeof(a));
		fprintf(o, "started:      %s\n", a);
	}
	if (s.frames) {
		fmt_boot(s.first_ts, m, a, sizeof(a));
		fmt_boot(s.last_ts, m, b, sizeof(b));
		fprintf(o, "time range:   %s .. %s (%.3f s)\n", a, b,
			(double)(s.last_ts - s.first_ts) / 1e9);
	} else {
		fprintf(o, "time range:   (no events)\n");
	}
	uint64_t total = s.bytes_segments + s.bytes_index;
	human_bytes(total, hb, sizeof(hb));
	human_bytes(s.bytes_segments, hs, sizeof(hs));
	human_bytes(s.bytes_index, hi, sizeof(hi));
	fprintf(o, "events:       %" PRIu64 "\n", s.events);
	fprintf(o, "frames:       %" PRIu64 "\n", s.frames);
	fprintf(o, "segments:     %u\n", s.segments);
	fprintf(o, "bytes:        %" PRIu64 " (%s: segments %s, index %s)\n", total, hb, hs, hi);
	if (s.events)
		fprintf(o, "bytes/event:  %.2f\n", (double)total / (double)s.events);
	uint64_t lost = 0;
	size_t nc = dnsreel_capr__counter_count(r);
	for (size_t i = 0; i < nc; i++) {
		const struct dnsreel_counter *c = dnsreel_capr__counter_at(r, i);
		/* lost.proc.* counts process-tracking records, not DNS events */
		if ((!strncmp(c->name, "lost", 4) || !strncmp(c->name, "drop", 4)) &&
		    strncmp(c->name, "lost.proc", 9))
			lost += c->value;
	}
	fprintf(o, "lost events:  %" PRIu64 "%s\n", lost,
		lost ? " (the recorder could not keep up; see counters)" : "");
	if (nc) {
		fprintf(o, "counters:\n");
		for (size_t i = 0; i < nc; i++) {
			const struct dnsreel_counter *c = dnsreel_capr__counter_at(r, i);
			fprintf(o, "  %-32s %" PRIu64 "\n", c->name, c->value);
		}
	}
	size_t nn = dnsreel_capr__netns_count(r), pods = 0;
	for (size_t i = 0; i < nn; i++)
		pods += dnsreel_capr__netns_at(r, i)->k8s_podname[0] != 0;
	fprintf(o, "netns:        %zu (%zu with a pod)\n", nn, pods);
	if (nn) {
		/* KIND says what a row is, so a netns name is never read as a pod name */
		fprintf(o, "  %-12s %-5s %-16s %-40s %-16s %s\n", "NETNS", "KIND", "NAMESPACE",
			"NAME", "CONTAINER", "IPS");
		for (size_t i = 0; i < nn; i++) {
			const struct dnsreel_netns_ctx *n = dnsreel_capr__netns_at(r, i);
			bool pod = n->k8s_podname[0] != 0;
			const char *kind = (n->flags & DNSREEL_NETNS_HOST) ? "host" : pod ? "pod" : "netns";
			const char *name = pod ? n->k8s_podname : n->name;
			fprintf(o, "  %-12" PRIu64 " %-5s %-16s %-40s %-16s %s%s\n", n->netns, kind,
				n->k8s_namespace[0] ? n->k8s_namespace : "-", name[0] ? name : "-",
				n->k8s_containername[0] ? n->k8s_containername : "-",
				n->ips[0] ? n->ips : "-",
				(n->flags & DNSREEL_NETNS_GONE) ? " (gone)" : "");
		}
	}
	size_t ns = dnsreel_capr__service_count(r);
	if (ns)
		fprintf(o, "services:     %zu\n", ns);
	if (dnsreel_capr__scanned(r))
		fprintf(o, "index:        not used (segments scanned)\n");
}

static void print_json(struct dnsreel_capr *r, FILE *o, bool first)
{
	const struct dnsreel_meta *m = dnsreel_capr__meta(r);
	struct dnsreel_capr_summary s;
	dnsreel_capr__summary(r, &s);
	char a[64];
	if (!first)
		fputs(",\n", o);
	fputs("{\"capture\":", o);
	dnsreel_json_fputs(o, dnsreel_capr__path(r));
	fputs(",\"capture_id\":", o);
	dnsreel_json_fputs(o, m->capture_id);
	fputs(",\"node\":", o);
	dnsreel_json_fputs(o, m->node);
	fputs(",\"kernel\":", o);
	dnsreel_json_fputs(o, m->kernel);
	fputs(",\"recorder\":", o);
	dnsreel_json_fputs(o, m->recorder);
	fprintf(o, ",\"format_major\":%u,\"format_minor\":%u,\"snaplen\":%u", m->format_major,
		m->format_minor, m->snaplen);
	fprintf(o, ",\"boot_to_wall_ns\":%" PRId64 ",\"start_wall_ns\":%" PRId64,
		m->boot_to_wall_ns, m->start_wall_ns);
	if (s.frames) {
		fmt_boot(s.first_ts, m, a, sizeof(a));
		fprintf(o, ",\"first_ts\":%" PRId64 ",\"first_time\":\"%s\"", s.first_ts, a);
		fmt_boot(s.last_ts, m, a, sizeof(a));
		fprintf(o, ",\"last_ts\":%" PRId64 ",\"last_time\":\"%s\"", s.last_ts, a);
	}
	uint64_t total = s.bytes_segments + s.bytes_index;
	fprintf(o,
		",\"events\":%" PRIu64 ",\"frames\":%" PRIu64 ",\"segments\":%u,\"bytes\":%" PRIu64
		",\"bytes_segments\":%" PRIu64 ",\"bytes_index\":%" PRIu64
		",\"bytes_per_event\":%.3f,\"index_used\":%s",
		s.events, s.frames, s.segments, total, s.bytes_segments, s.bytes_index,
		s.events ? (double)total / (double)s.events : 0.0,
		dnsreel_capr__scanned(r) ? "false" : "true");
	fputs(",\"counters\":{", o);
	for (size_t i = 0; i < dnsreel_capr__counter_count(r); i++) {
		const struct dnsreel_counter *c = dnsreel_capr__counter_at(r, i);
		if (i)
			fputc(',', o);
		dnsreel_json_fputs(o, c->name);
		fprintf(o, ":%" PRIu64, c->value);
	}
	fputs("},\"netns\":[", o);
	for (size_t i = 0; i < dnsreel_capr__netns_count(r); i++) {
		const struct dnsreel_netns_ctx *n = dnsreel_capr__netns_at(r, i);
		if (i)
			fputc(',', o);
		fprintf(o, "{\"netns\":%" PRIu64 ",\"host\":%s,\"gone\":%s,\"name\":", n->netns,
			(n->flags & DNSREEL_NETNS_HOST) ? "true" : "false",
			(n->flags & DNSREEL_NETNS_GONE) ? "true" : "false");
		dnsreel_json_fputs(o, n->name);
		fputs(",\"k8s_namespace\":", o);
		dnsreel_json_fputs(o, n->k8s_namespace);
		fputs(",\"k8s_podname\":", o);
		dnsreel_json_fputs(o, n->k8s_podname);
		fputs(",\"k8s_containername\":", o);
		dnsreel_json_fputs(o, n->k8s_containername);
		fputs(",\"runtime_containerid\":", o);
		dnsreel_json_fputs(o, n->runtime_containerid);
		fputs(",\"ips\":", o);
		dnsreel_json_fputs(o, n->ips);
		fputc('}', o);
	}
	fprintf(o, "],\"services\":%zu}", dnsreel_capr__service_count(r));
}

/* A merged capture's own facts: its id, its inputs and the warnings merge gave. */
static void print_merged_text(const char *path, const struct dnsreel_merged *mg, FILE *o)
{
	char a[64], b[64];
	fprintf(o, "capture:      %s (merged, %zu parts)\n", path, mg->ninputs);
	fprintf(o, "capture id:   %s\n", mg->capture_id[0] ? mg->capture_id : "(unknown)");
	fprintf(o, "merged by:    %s\n", mg->merger[0] ? mg->merger : "(unknown)");
	fprintf(o, "format:       %u.%u\n", mg->format_major, mg->format_minor);
	if (mg->created_wall_ns) {
		fmt_wall(mg->created_wall_ns, a, sizeof(a));
		fprintf(o, "merged:       %s\n", a);
	}
	fprintf(o, "inputs:\n  %-4s %-24s %-36s %-10s %s\n", "PART", "NODE", "CAPTURE ID", "EVENTS",
		"TIME RANGE");
	for (size_t i = 0; i < mg->ninputs; i++) {
		const struct dnsreel_merged_input *in = &mg->inputs[i];
		if (in->events) {
			fmt_wall(in->first_wall_ns, a, sizeof(a));
			fmt_wall(in->last_wall_ns, b, sizeof(b));
		} else
			snprintf(a, sizeof(a), "(no events)"), b[0] = 0;
		fprintf(o, "  %-4zu %-24s %-36s %-10" PRIu64 " %s%s%s\n", i + 1,
			in->node[0] ? in->node : "-", in->capture_id, in->events, a,
			b[0] ? " .. " : "", b);
		fprintf(o, "       from %s%s%s%s%s\n", in->source, in->via[0] ? " via merged " : "",
			in->via, in->root_hash[0] ? ", root hash " : "", in->root_hash);
	}
	fprintf(o, "warnings:     %zu\n", mg->nwarnings);
	for (size_t i = 0; i < mg->nwarnings; i++)
		fprintf(o, "  %s\n", mg->warnings[i]);
}

static void print_merged_json_head(const char *path, const struct dnsreel_merged *mg, FILE *o)
{
	char a[64];
	fputs("{\"capture\":", o);
	dnsreel_json_fputs(o, path);
	fputs(",\"kind\":\"merged\",\"capture_id\":", o);
	dnsreel_json_fputs(o, mg->capture_id);
	fputs(",\"merger\":", o);
	dnsreel_json_fputs(o, mg->merger);
	fprintf(o, ",\"format_major\":%u,\"format_minor\":%u,\"created_wall_ns\":%" PRId64,
		mg->format_major, mg->format_minor, mg->created_wall_ns);
	fputs(",\"inputs\":[", o);
	for (size_t i = 0; i < mg->ninputs; i++) {
		const struct dnsreel_merged_input *in = &mg->inputs[i];
		fprintf(o, "%s{\"part\":%zu,\"dir\":", i ? "," : "", i + 1);
		dnsreel_json_fputs(o, in->part);
		fputs(",\"capture_id\":", o);
		dnsreel_json_fputs(o, in->capture_id);
		fputs(",\"node\":", o);
		dnsreel_json_fputs(o, in->node);
		fputs(",\"source\":", o);
		dnsreel_json_fputs(o, in->source);
		fputs(",\"via\":", o);
		dnsreel_json_fputs(o, in->via);
		fputs(",\"root_hash\":", o);
		dnsreel_json_fputs(o, in->root_hash);
		fprintf(o,
			",\"boot_to_wall_ns\":%" PRId64 ",\"events\":%" PRIu64
			",\"frames\":%" PRIu64 ",\"bytes\":%" PRIu64,
			in->boot_to_wall_ns, in->events, in->frames, in->bytes);
		if (in->events) {
			fmt_wall(in->first_wall_ns, a, sizeof(a));
			fprintf(o, ",\"first_time\":\"%s\"", a);
			fmt_wall(in->last_wall_ns, a, sizeof(a));
			fprintf(o, ",\"last_time\":\"%s\"", a);
		}
		fputc('}', o);
	}
	fputs("],\"warnings\":[", o);
	for (size_t i = 0; i < mg->nwarnings; i++) {
		if (i)
			fputc(',', o);
		dnsreel_json_fputs(o, mg->warnings[i]);
	}
	fputs("],\"parts\":[", o);
}

/* Prints one capture (a part of a merged one too). 0 or 1 when it failed or is damaged. */
static int info_one(struct dnsreel_cli *c, const char *path, bool json, bool scan, bool first,
		    FILE *o)
{
	struct dnsreel_capr *r;
	char eb[600];
	struct dnsreel_capr_opts ro = {.sz = sizeof(ro), .flags = scan ? DNSREEL_CAPR_SCAN : 0};
	int err = dnsreel_capr__open(&r, path, &ro, eb, sizeof(eb));
	if (err) {
		dnsreel_err(c, "%s", eb[0] ? eb : dnsreel_strerror(err));
		return DNSREEL_EXIT_FAIL;
	}
	int ret = DNSREEL_EXIT_OK;
	/* A damaged capture is summarised from what could be read, and said to be damaged
	 * with the same exit status as every other reader. */
	if (dnsreel_capr__problem(r)) {
		dnsreel_err(c, "damaged: %s", dnsreel_capr__problem(r));
		ret = DNSREEL_EXIT_FAIL;
	}
	if (json)
		print_json(r, o, first);
	else {
		if (!first)
			fputc('\n', o);
		print_text(r, o);
	}
	dnsreel_capr__close(r);
	return ret;
}

int main(int argc, char **argv)
{
	struct dnsreel_cli c;
	int ret = DNSREEL_EXIT_OK, code = 0, id;
	bool json = false, scan = false;
	dnsreel_cli_init(&c, &tool, argc, argv);
	while ((id = dnsreel_cli_next(&c, &code)) != -1) {
		if (id == DNSREEL_CLI_EXIT) {
			ret = code;
			goto cleanup;
		}
		switch (id) {
		case OPT_OUTPUT:
			if (!strcmp(c.arg, "json"))
				json = true;
			else if (!strcmp(c.arg, "text") || !strcmp(c.arg, "columns"))
				json = false;
			else {
				ret = dnsreel_cli_usage_error(&tool, "unknown output format '%s'",
							      c.arg);
				goto cleanup;
			}
			break;
		case OPT_SCAN:
			scan = true;
			break;
		}
	}
	if (c.optind >= argc) {
		ret = dnsreel_cli_usage_error(&tool, "no capture given");
		goto cleanup;
	}
	int n = argc - c.optind;
	if (json && n > 1)
		fputs("[\n", stdout);
	for (int i = c.optind; i < argc; i++) {
		struct dnsreel_merged *mg = NULL;
		char eb[600];
		int err = dnsreel_merged__load(argv[i], &mg, eb, sizeof(eb));
		if (err < 0) {
			dnsreel_err(&c, "%s", eb[0] ? eb : dnsreel_strerror(err));
			ret = DNSREEL_EXIT_FAIL;
			continue;
		}
		if (!mg) {
			if (info_one(&c, argv[i], json, scan, i == c.optind, stdout))
				ret = DNSREEL_EXIT_FAIL;
			continue;
		}
		if (json) {
			if (i > c.optind)
				fputs(",\n", stdout);
			print_merged_json_head(argv[i], mg, stdout);
		} else {
			if (i > c.optind)
				fputc('\n', stdout);
			print_merged_text(argv[i], mg, stdout);
		}
		for (size_t k = 0; k < mg->ninputs; k++) {
			char pp[4096];
			snprintf(pp, sizeof(pp), "%s/parts/%s", argv[i], mg->inputs[k].part);
			if (!json)
				fprintf(stdout, "\npart %zu:\n", k + 1);
			if (info_one(&c, pp, json, scan, k == 0 || !json, stdout))
				ret = DNSREEL_EXIT_FAIL;
		}
		if (json)
			fputs("]}", stdout);
		dnsreel_merged__free(mg);
	}
	if (json)
		fputs(n > 1 ? "\n]\n" : "\n", stdout);
cleanup:
	return dnsreel_cli_end(&c, ret);
}
