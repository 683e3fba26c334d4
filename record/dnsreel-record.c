/* dnsreel-record: records every DNS packet of every network namespace of this node, with
 * netns, pod and process context, into a capture directory. See dnsreel-record.1.md.
 *
 * main() reads like the manual: parse options, check privileges, open the capture, start the
 * recorder, loop (poll, flush), close, print a summary. The recorder library does the work
 * (recorder.h; its parts are listed in recorder_int.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <bpf/libbpf.h>

#include "capture.h"
#include "cli.h"
#include "dnsreel.h"
#include "dnstap_in.h"
#include "k8s.h"
#include "parse.h"
#include "recorder.h"
#include "view.h"

enum {
	OPT_FLUSH = 256,
	OPT_SEGMENT,
	OPT_MAX_SIZE,
	OPT_MAX_AGE,
	OPT_PORTS,
	OPT_NETNS,
	OPT_READY,
	OPT_LIVE,
	OPT_FIELDS,
	OPT_HOST_ROOT,
	OPT_POD_LOGS,
	OPT_SERVICE,
	OPT_SERVICES,
	OPT_NODE,
	OPT_NO_PROC,
	OPT_NO_IPTABLES,
	OPT_RINGBUF,
	OPT_ZSTD,
	OPT_BUSY_ZSTD,
	OPT_NO_FSYNC,
	OPT_SCAN,
	OPT_SELECT,
	OPT_NO_RESOLVE,
	OPT_DNSTAP_SOCKET,
	OPT_HOOK,
	OPT_STATS,
	OPT_NODE_NETNS,
	OPT_PROC_RECV,
};

static const struct dnsreel_opt opts[] = {
    {'w', "write", 'w', DNSREEL_REQ_ARG, "DIR",
     "capture directory to create (default dnsreel-YYYYmmddTHHMMSSZ.reel here)", "Output"},
    {OPT_FLUSH, "flush", 0, DNSREEL_REQ_ARG, "DUR", "write a frame at least this often (150ms)",
     NULL},
    {OPT_SEGMENT, "segment-size", 0, DNSREEL_REQ_ARG, "SIZE",
     "start a new segment file past this size (64M)", NULL},
    {'d', "duration", 'd', DNSREEL_REQ_ARG, "DUR", "stop after this long", NULL},
    {OPT_MAX_SIZE, "max-size", 0, DNSREEL_REQ_ARG, "SIZE",
     "flight recorder: drop the oldest segments past this total", NULL},
    {OPT_MAX_AGE, "max-age", 0, DNSREEL_REQ_ARG, "DUR",
     "flight recorder: drop segments older than this", NULL},
    {OPT_ZSTD, "zstd-level", 0, DNSREEL_REQ_ARG, "N", "compression level (6)", NULL},
    {OPT_BUSY_ZSTD, "busy-zstd-level", 0, DNSREEL_REQ_ARG, "N",
     "compression level while the node's CPUs are busy, 0 never (1)", NULL},
    {OPT_NO_FSYNC, "no-fsync", 0, DNSREEL_NO_ARG, NULL,
     "do not fsync frames (tests and benchmarks only)", NULL},
    {OPT_PORTS, "ports", 0, DNSREEL_REQ_ARG, "LIST", "UDP/TCP ports to record (53,5353)",
     "What to record (filtered in the kernel)"},
    {'s', "snaplen", 's', DNSREEL_REQ_ARG, "N", "DNS bytes kept per packet (65535: whole messages)",
     NULL},
    {OPT_NETNS, "netns", 0, DNSREEL_REQ_ARG, "LIST",
     "only these netns: inode numbers or ip-netns/runtime names", NULL},
    {'n', "namespace", 'n', DNSREEL_REQ_ARG, "LIST",
     "only pods of these k8s namespaces (also what --live prints)", NULL},
    {'p', "podname", 'p', DNSREEL_REQ_ARG, "LIST", "only these pods (also what --live prints)",
     NULL},
    {'c', "containername", 'c', DNSREEL_REQ_ARG, "LIST",
     "only pods with these containers (also what --live prints)", NULL},
    {OPT_NODE_NETNS, "node-netns", 0, DNSREEL_REQ_ARG, "yes|no",
     "with -n/-p/-c, also the node's own netns (no)", NULL},
    {OPT_SELECT, "select", 0, DNSREEL_REQ_ARG, "EXPR",
     "record only messages matching FIELD==VALUE (also != ~ !~ < >), repeatable", NULL},
    {OPT_LIVE, "live", 0, DNSREEL_NO_ARG, NULL, "also print events as trace_dns does", "Live view"},
    {'o', "output", 'o', DNSREEL_REQ_ARG, "FORMAT",
     "--live format: columns, json, jsonl, jsonpretty, jsonarray or csv", NULL},
    {OPT_FIELDS, "fields", 0, DNSREEL_REQ_ARG, "LIST", "columns to print with --live", NULL},
    {OPT_NO_RESOLVE, "no-resolve", 0, DNSREEL_NO_ARG, NULL,
     "src, dst as plain IP:PORT (no p/NS/POD or s/NS/SVC names)", NULL},
    {'F', "filter", 'F', DNSREEL_REQ_ARG, "EXPR",
     "print only messages matching FIELD==VALUE (everything is recorded), repeatable", NULL},
    {OPT_HOST_ROOT, "host-root", 0, DNSREEL_REQ_ARG, "DIR",
     "host filesystem root for /proc, /run/netns, /var/log/pods ... (/)", "Context"},
    {OPT_POD_LOGS, "pod-logs", 0, DNSREEL_REQ_ARG, "DIR",
     "kubelet pod log folder (HOST-ROOT/var/log/pods)", NULL},
    {OPT_SERVICE, "service", 0, DNSREEL_REQ_ARG, "IP[:PORT]=NS/NAME",
     "name a service VIP, repeatable", NULL},
    {OPT_SERVICES, "services", 0, DNSREEL_REQ_ARG, "FILE",
     "service VIPs, one IP[:PORT]=NS/NAME a line, for proxies other than kube-proxy", NULL},
    {OPT_NODE, "node", 0, DNSREEL_REQ_ARG, "NAME", "node name ($NODE_NAME, else hostname)", NULL},
    {OPT_NO_PROC, "no-proc", 0, DNSREEL_NO_ARG, NULL, "do not collect process context", NULL},
    {OPT_PROC_RECV, "proc-recv", 0, DNSREEL_NO_ARG, NULL,
     "also hook every receive (sockets that only receive get a process; costs every recv)", NULL},
    {OPT_NO_IPTABLES, "no-iptables", 0, DNSREEL_NO_ARG, NULL,
     "do not read kube-proxy service rules (iptables or nftables)", NULL},
    {OPT_DNSTAP_SOCKET, "dnstap-socket", 0, DNSREEL_REQ_ARG, "PATH",
     "also record what a local DNS server reports over dnstap to this unix socket", NULL},
    {OPT_READY, "ready-file", 0, DNSREEL_REQ_ARG, "FILE",
     "create FILE once every netns present at start is attached", "Operation"},
    {OPT_RINGBUF, "ringbuf-size", 0, DNSREEL_REQ_ARG, "SIZE",
     "kernel ring buffer size, power of two (32M)", NULL},
    {OPT_SCAN, "scan-interval", 0, DNSREEL_REQ_ARG, "DUR",
     "how often /proc is scanned for new netns (100ms)", NULL},
    {OPT_HOOK, "hook", 0, DNSREEL_REQ_ARG, "HOOK",
     "where packets are taken: tc (bpf filters on every interface), tcx (the same as BPF "
     "links) or packet (a socket per netns) "
     "(" DNSREEL_REC_DEFAULT_HOOK_NAME ")",
     NULL},
    {OPT_STATS, "stats", 0, DNSREEL_NO_ARG, NULL,
     "at exit, print where the time went: kernel programs, ring drain, join, encoding, zstd", NULL},
    {0, NULL, 0, 0, NULL, NULL, NULL},
};

static void print_versions(FILE *out)
{
	fprintf(out, ", libbpf %u.%u", libbpf_major_version(), libbpf_minor_version());
}

static const struct dnsreel_tool tool = {
    .name = "dnsreel-record",
    .usage = "[OPTIONS]",
    .summary = "record every DNS packet of every network namespace into a capture",
    .opts = opts,
    .print_versions = print_versions,
    .epilog = "Examples:\n"
	      "  dnsreel-record -w incident.reel --duration 10m\n"
	      "  dnsreel-record --live -n kube-system -F rcode==NameError\n"
	      "  dnsreel-record -w /var/lib/dnsreel/ring.reel --max-size 2G --max-age 24h\n",
};

struct stats_acc {
	uint64_t consume, join, sink, wakeups;
};

static void stat_line(void *arg, const char *name, uint64_t value)
{
	struct stats_acc *a = arg;
	fprintf(stderr, "dnsreel-record: stats: %s %llu\n", name, (unsigned long long)value);
	if (!strcmp(name, "time.consume_ns"))
		a->consume = value;
	else if (!strcmp(name, "time.join_ns"))
		a->join = value;
	else if (!strcmp(name, "time.sink_ns"))
		a->sink = value;
	else if (!strcmp(name, "ring.wakeups"))
		a->wakeups = value;
}

/* --stats: the recorder's and the writer's counters one a line (for scripts such as
 * bench/record), then what they come to per event. */
static void print_stats(struct dnsreel_recorder *rec, const struct dnsreel_capw_stats *w,
			double secs)
{
	struct stats_acc a = {0};
	dnsreel_recorder__stats(rec, stat_line, &a);
	stat_line(&a, "writer.encode_ns", w->ns_encode);
	stat_line(&a, "writer.zstd_ns", w->ns_zstd);
	stat_line(&a, "writer.write_ns", w->ns_write);
	stat_line(&a, "writer.index_ns", w->ns_index);
	stat_line(&a, "writer.frames", w->frames);
	stat_line(&a, "writer.frames_busy_level", w->frames_relevel);
	stat_line(&a, "writer.events", w->events);
	double ev = w->events ? (double)w->events : 1.0;
	uint64_t inner = a.join + a.sink;
	fprintf(stderr,
		"dnsreel-record: stats: per event: ring walk %.0f ns, process join %.0f ns, "
		"writer append %.0f ns, block encoding %.0f ns, zstd %.0f ns, write+sync %.0f "
		"ns, index %.0f ns; %.1f ring wakeups/s\n",
		(double)(a.consume > inner ? a.consume - inner : 0) / ev, (double)a.join / ev,
		(double)a.sink / ev, (double)w->ns_encode / ev, (double)w->ns_zstd / ev,
		(double)w->ns_write / ev, (double)w->ns_index / ev,
		secs > 0 ? (double)a.wakeups / secs : 0.0);
}

static volatile sig_atomic_t stop_sig;

static void on_signal(int sig)
{
	stop_sig = sig;
}

static void sink_log(void *arg, int level, const char *msg)
{
	dnsreel_log(arg, level, "%s", msg);
}

static void live_print(void *arg, const struct dnsreel_rec *rec)
{
	dnsreel_printer__print(arg, rec);
}

static void live_flush(void *arg)
{
	dnsreel_printer__flush(arg);
}

/* Which capabilities are missing? Names into buf; returns how many. */
static int missing_caps(char *buf, size_t len)
{
	struct __user_cap_header_struct h = {.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0};
	struct __user_cap_data_struct d[2];
	buf[0] = 0;
	if (syscall(SYS_capget, &h, d))
		return 0; /* cannot tell: let the kernel say no later */
	uint64_t eff = (uint64_t)d[1].effective << 32 | d[0].effective;
#define HAS(c) ((eff >> (c)) & 1)
	int n = 0;
	const struct {
		int cap;
		const char *name;
		int alt;
	} need[] = {
	    {CAP_SYS_ADMIN, "CAP_SYS_ADMIN (enter other network namespaces)", -1},
	    {CAP_NET_RAW, "CAP_NET_RAW (packet sockets)", -1},
	    {39 /* CAP_BPF */, "CAP_BPF (load BPF programs)", CAP_SYS_ADMIN},
	    {38 /* CAP_PERFMON */, "CAP_PERFMON (tracepoints)", CAP_SYS_ADMIN},
	    {CAP_SYS_PTRACE, "CAP_SYS_PTRACE (read other processes' namespaces)", -1},
	};
	for (size_t i = 0; i < sizeof(need) / sizeof(need[0]); i++) {
		if (HAS(need[i].cap) || (need[i].alt >= 0 && HAS(need[i].alt)))
			continue;
		size_t l = strlen(buf);
		snprintf(buf + l, len - l, "%s%s", n ? ", " : "", need[i].name);
		n++;
	}
#undef HAS
	return n;
}

/* --services FILE: one IP[:PORT]=NS/NAME a line; blank lines and '#' comments skipped. Appends
 * to *v; a bad line is reported as FILE:LINE in err (DNSREEL_E_ARG), an unreadable file as the
 * system's reason (-errno). */
static int read_services(const char *path, struct dnsreel_service_ctx **v, size_t *n, char *err,
			 size_t errlen)
{
	FILE *f = fopen(path, "re");
	if (!f) {
		int e = errno;
		snprintf(err, errlen, "cannot read --services %s: %s", path, strerror(e));
		return -e;
	}
	char *line = NULL;
	size_t cap = 0;
	unsigned lineno = 0;
	int rc = 0;
	while (getline(&line, &cap, f) >= 0) {
		lineno++;
		char *h = strchr(line, '#');
		if (h)
			*h = 0;
		char *b = line;
		while (*b == ' ' || *b == '\t')
			b++;
		size_t l = strlen(b);
		while (l && (b[l - 1] == '\n' || b[l - 1] == '\r' || b[l - 1] == ' ' ||
			     b[l - 1] == '\t'))
			b[--l] = 0;
		if (!l)
			continue;
		struct dnsreel_service_ctx svc;
		if (dnsreel_service_parse(b, &svc)) {
			snprintf(err, errlen,
				 "bad --services line %s:%u (want IP[:PORT]=NAMESPACE/NAME): %s",
				 path, lineno, b);
			rc = DNSREEL_E_ARG;
			break;
		}
		struct dnsreel_service_ctx *nv = realloc(*v, (*n + 1) * sizeof(**v));
		if (!nv) {
			snprintf(err, errlen, "out of memory reading --services %s", path);
			rc = -ENOMEM;
			break;
		}
		*v = nv;
		nv[(*n)++] = svc;
	}
	if (!rc && ferror(f)) {
		snprintf(err, errlen, "cannot read --services %s: %s", path, strerror(errno));
		rc = -EIO;
	}
	free(line);
	fclose(f);
	return rc;
}

static int write_ready(const char *path)
{
	char tmp[4200];
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	FILE *f = fopen(tmp, "we");
	if (!f)
		return -errno;
	fprintf(f, "%d\n", (int)getpid());
	if (fclose(f))
		return -errno;
	return rename(tmp, path) ? -errno : 0;
}

/* A comma-separated list with an empty value ("-n ''") would match nothing. */
static int add_list(struct dnsreel_filter *f, enum dnsreel_field_id field, const char *opt,
		    const char *csv, char *errbuf, size_t len)
{
	if (!csv[0]) {
		snprintf(errbuf, len, "empty %s", opt);
		return DNSREEL_E_ARG;
	}
	return dnsreel_filter__add_any_of(f, field, csv, errbuf, len);
}

static bool same_terminal(int a, int b)
{
	struct stat sa, sb;
	if (!isatty(a) || fstat(a, &sa) || fstat(b, &sb))
		return false;
	return sa.st_rdev == sb.st_rdev;
}

static void show_status(struct dnsreel_progress *pg, struct dnsreel_recwriter *w,
			struct dnsreel_recorder *rec, int64_t start)
{
	struct dnsreel_capw_stats st;
	dnsreel_recwriter__stats(w, &st);
	double secs = (double)(dnsreel_now_boot_ns() - start) / 1e9;
	dnsreel_progress(
	    pg, "recording: %zu netns, %llu events, %.1f MiB, %llu lost, %.0f events/s",
	    dnsreel_recorder__attached(rec), (unsigned long long)st.events,
	    (double)st.bytes_disk / 1048576.0,
	    (unsigned long long)(dnsreel_recorder__lost(rec) + dnsreel_recwriter__lost(w)),
	    secs > 0 ? (double)st.events / secs : 0.0);
}

int main(int argc, char **argv)
{
	struct dnsreel_cli cli;
	struct dnsreel_recorder *rec = NULL;
	struct rec_dnstap *tap = NULL;
	const char *tap_path = NULL;
	struct dnsreel_recwriter *w = NULL;
	struct dnsreel_filter *select = NULL, *view = NULL;
	struct dnsreel_printer *printer = NULL;
	struct dnsreel_capw_opts wo = {.sz = sizeof(wo)};
	struct dnsreel_recorder_opts ro = {.sz = sizeof(ro)};
	static uint8_t port_bits[8192];
	const char *dir = NULL, *live_fmt = "columns", *fields = NULL, *ready_file = NULL;
	const char *node = NULL, *ports = DNSREEL_REC_DEFAULT_PORTS;
	const char *k8s_ns = NULL, *k8s_pod = NULL, *k8s_cont = NULL;
	struct dnsreel_recwriter_opts rwo = {
	    .sz = sizeof(rwo), .capw = &wo, .busy_zstd_level = DNSREEL_REC_DEFAULT_BUSY_ZSTD_LEVEL};
	int64_t duration_ns = 0;
	uint64_t v;
	bool live = false, no_resolve = false;
	const char **filters = NULL, **selects = NULL, **services = NULL, **netns_names = NULL;
	struct dnsreel_service_ctx *filesvc = NULL;
	size_t nfilesvc = 0;
	uint64_t *netns_ids = NULL;
	size_t nfilters = 0, nselects = 0, nservices = 0, nnames = 0, nids = 0;
	int rc = DNSREEL_EXIT_FAIL, code, id;
	char defdir[64], errbuf[512];

	filters = calloc((size_t)argc, sizeof(*filters));
	selects = calloc((size_t)argc, sizeof(*selects));
	services = calloc((size_t)argc, sizeof(*services));
	netns_names = calloc((size_t)argc * 8 + 8, sizeof(*netns_names));
	netns_ids = calloc((size_t)argc * 8 + 8, sizeof(*netns_ids));
	dnsreel_cli_init(&cli, &tool, argc, argv);
	if (!filters || !selects || !services || !netns_names || !netns_ids) {
		dnsreel_err(&cli, "out of memory");
		goto cleanup;
	}
	ro.snaplen = DNSREEL_REC_DEFAULT_SNAPLEN;
	while ((id = dnsreel_cli_next(&cli, &code)) != -1) {
		const char *a = cli.arg;
		switch (id) {
		case DNSREEL_CLI_EXIT:
			rc = code;
			goto cleanup;
		case 'w':
			dir = a;
			break;
		case 'o': {
			enum dnsreel_output of;
			if (dnsreel_output_parse(a, &of)) {
				rc = dnsreel_cli_usage_error(
				    &tool,
				    "-o is the --live output format (columns, json, jsonl, "
				    "jsonpretty, "
				    "jsonarray or csv), not %s; write the capture with -w DIR",
				    a);
				goto cleanup;
			}
			live_fmt = a;
			break;
		}
		case OPT_FLUSH:
			if (dnsreel_parse_duration(a, &rwo.flush_ns) || rwo.flush_ns <= 0) {
				rc = dnsreel_cli_usage_error(&tool, "bad --flush: %s", a);
				goto cleanup;
			}
			break;
		case OPT_SEGMENT:
			if (dnsreel_parse_size(a, &wo.segment_bytes) || wo.segment_bytes < 4096) {
				rc = dnsreel_cli_usage_error(&tool, "bad --segment-size: %s", a);
				goto cleanup;
			}
			break;
		case 'd':
			if (dnsreel_parse_duration(a, &duration_ns) || duration_ns <= 0) {
				rc = dnsreel_cli_usage_error(&tool, "bad --duration: %s", a);
				goto cleanup;
			}
			break;
		case OPT_MAX_SIZE:
			if (dnsreel_parse_size(a, &wo.max_bytes) || !wo.max_bytes) {
				rc = dnsreel_cli_usage_error(&tool, "bad --max-size: %s", a);
				goto cleanup;
			}
			break;
		case OPT_MAX_AGE:
			if (dnsreel_parse_duration(a, &wo.max_age_ns) || wo.max_age_ns <= 0) {
				rc = dnsreel_cli_usage_error(&tool, "bad --max-age: %s", a);
				goto cleanup;
			}
			break;
		case OPT_ZSTD:
			if (dnsreel_parse_u64(a, 1, 22, &v)) {
				rc = dnsreel_cli_usage_error(&tool, "bad --zstd-level: %s", a);
				goto cleanup;
			}
			wo.zstd_level = (int)v;
			break;
		case OPT_BUSY_ZSTD:
			if (dnsreel_parse_u64(a, 0, 22, &v)) {
				rc = dnsreel_cli_usage_error(&tool, "bad --busy-zstd-level: %s", a);
				goto cleanup;
			}
			rwo.busy_zstd_level = (int)v;
			break;
		case OPT_NO_FSYNC:
			wo.no_fsync = true;
			break;
		case OPT_PORTS:
			ports = a;
			break;
		case 's':
			if (dnsreel_parse_u64(a, 12, 65535, &v)) {
				rc = dnsreel_cli_usage_error(&tool, "bad --snaplen (12..65535): %s",
							     a);
				goto cleanup;
			}
			ro.snaplen = (uint32_t)v;
			break;
		case OPT_NETNS: {
			/* comma-separated: numbers are inodes, the rest names */
			char *copy = strdup(a), *save = NULL, *t;
			if (!copy) {
				dnsreel_err(&cli, "out of memory");
				goto cleanup;
			}
			for (t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
				if (!dnsreel_parse_u64(t, 1, UINT64_MAX, &v))
					netns_ids[nids++] = v;
				else if (nnames < (size_t)argc * 8 &&
					 !(netns_names[nnames++] = strdup(t))) {
					nnames--;
					free(copy);
					dnsreel_err(&cli, "out of memory");
					goto cleanup;
				}
				if (nids >= (size_t)argc * 8)
					break;
			}
			free(copy);
			break;
		}
		case 'n':
			k8s_ns = a;
			break;
		case 'p':
			k8s_pod = a;
			break;
		case 'c':
			k8s_cont = a;
			break;
		case 'F':
			filters[nfilters++] = a;
			break;
		case OPT_SELECT:
			selects[nselects++] = a;
			break;
		case OPT_NO_RESOLVE:
			no_resolve = true;
			break;
		case OPT_LIVE:
			live = true;
			break;
		case OPT_FIELDS:
			fields = a;
			break;
		case OPT_HOST_ROOT:
			ro.host_root = a;
			break;
		case OPT_POD_LOGS:
			ro.pod_logs = a;
			break;
		case OPT_SERVICE: {
			struct dnsreel_service_ctx svc;
			if (dnsreel_service_parse(a, &svc)) {
				rc = dnsreel_cli_usage_error(
				    &tool, "bad --service (want IP[:PORT]=NAMESPACE/NAME): %s", a);
				goto cleanup;
			}
			services[nservices++] = a;
			break;
		}
		case OPT_SERVICES: {
			int e = read_services(a, &filesvc, &nfilesvc, errbuf, sizeof(errbuf));
			if (e == DNSREEL_E_ARG) {
				rc = dnsreel_cli_usage_error(&tool, "%s", errbuf);
				goto cleanup;
			}
			if (e) {
				dnsreel_err(&cli, "%s", errbuf);
				goto cleanup;
			}
			break;
		}
		case OPT_NODE:
			node = a;
			break;
		case OPT_NO_PROC:
			ro.no_proc = true;
			break;
		case OPT_PROC_RECV:
			ro.proc_recv = true;
			break;
		case OPT_NO_IPTABLES:
			ro.no_iptables = true;
			break;
		case OPT_DNSTAP_SOCKET:
			tap_path = cli.arg;
			break;
		case OPT_READY:
			ready_file = a;
			break;
		case OPT_RINGBUF:
			if (dnsreel_parse_size(a, &ro.ringbuf_bytes) || ro.ringbuf_bytes < 65536 ||
			    (ro.ringbuf_bytes & (ro.ringbuf_bytes - 1)) ||
			    ro.ringbuf_bytes > (1ull << 30)) {
				rc = dnsreel_cli_usage_error(
				    &tool, "bad --ringbuf-size (power of two, 64K..1G): %s", a);
				goto cleanup;
			}
			break;
		case OPT_SCAN:
			if (dnsreel_parse_duration(a, &ro.scan_interval_ns) ||
			    ro.scan_interval_ns < 1000000) {
				rc = dnsreel_cli_usage_error(&tool, "bad --scan-interval: %s", a);
				goto cleanup;
			}
			break;
		case OPT_NODE_NETNS:
			if (strcmp(a, "yes") && strcmp(a, "no")) {
				rc = dnsreel_cli_usage_error(
				    &tool, "--node-netns: yes or no, not '%s'", a);
				goto cleanup;
			}
			ro.node_netns = !strcmp(a, "yes");
			break;
		case OPT_STATS:
			ro.stats = true;
			break;
		case OPT_HOOK:
			if (!strcmp(a, "tc")) {
				ro.hook = DNSREEL_HOOK_TC;
			} else if (!strcmp(a, "tcx")) {
				ro.hook = DNSREEL_HOOK_TCX;
			} else if (!strcmp(a, "packet")) {
				ro.hook = DNSREEL_HOOK_PACKET;
			} else {
				rc = dnsreel_cli_usage_error(
				    &tool, "bad --hook (tc, tcx or packet): %s", a);
				goto cleanup;
			}
			break;
		default: /* an option in the table without a case: a bug, say so */
			dnsreel_err(&cli, "internal: option %d not handled", id);
			rc = DNSREEL_EXIT_USAGE;
			goto cleanup;
		}
	}
	if (cli.optind < argc) {
		rc = dnsreel_cli_usage_error(&tool, "unexpected argument: %s", argv[cli.optind]);
		goto cleanup;
	}
	if (dnsreel_parse_ports(ports, port_bits)) {
		rc = dnsreel_cli_usage_error(&tool, "bad --ports (comma-separated 1..65535): %s",
					     ports);
		goto cleanup;
	}
	ro.port_bits = port_bits;
	ro.netns_ids = netns_ids;
	ro.netns_ids_n = nids;
	ro.netns_names = netns_names;
	ro.netns_names_n = nnames;
	ro.log = sink_log;
	ro.log_arg = &cli;
	ro.log_level = cli.verbosity;
	rwo.snaplen = ro.snaplen;
	rwo.node = node;

	/* -F filters what is printed, never what is recorded: --select does that. -n, -p and -c
	 * choose the pods recorded (and so printed). */
	if (!live && (nfilters || fields || no_resolve || strcmp(live_fmt, "columns"))) {
		rc = dnsreel_cli_usage_error(&tool,
					     "-F, -o, --fields and --no-resolve choose what --live "
					     "prints; add --live (to limit what is recorded use "
					     "--select, --netns or -n/-p/-c)");
		goto cleanup;
	}
	if (ro.node_netns && !k8s_ns && !k8s_pod && !k8s_cont) {
		rc = dnsreel_cli_usage_error(&tool, "--node-netns goes with -n, -p or -c");
		goto cleanup;
	}
	ro.k8s_namespaces = k8s_ns;
	ro.k8s_podnames = k8s_pod;
	ro.k8s_containers = k8s_cont;
	if (nselects) {
		if (dnsreel_filter__new(&select)) {
			dnsreel_err(&cli, "out of memory");
			goto cleanup;
		}
		for (size_t i = 0; i < nselects; i++) {
			if (dnsreel_filter__add(select, selects[i], errbuf, sizeof(errbuf))) {
				rc = dnsreel_cli_usage_error(&tool, "bad --select %s: %s",
							     selects[i], errbuf);
				goto cleanup;
			}
		}
		rwo.select = select;
	}
	if (nfilters || k8s_ns || k8s_pod || k8s_cont) {
		if (dnsreel_filter__new(&view)) {
			dnsreel_err(&cli, "out of memory");
			goto cleanup;
		}
		for (size_t i = 0; i < nfilters; i++) {
			if (dnsreel_filter__add(view, filters[i], errbuf, sizeof(errbuf))) {
				rc = dnsreel_cli_usage_error(&tool, "bad -F %s: %s", filters[i],
							     errbuf);
				goto cleanup;
			}
		}
		if ((k8s_ns && add_list(view, DNSREEL_F_K8S_NAMESPACE, "-n", k8s_ns, errbuf,
					sizeof(errbuf))) ||
		    (k8s_pod && add_list(view, DNSREEL_F_K8S_PODNAME, "-p", k8s_pod, errbuf,
					 sizeof(errbuf))) ||
		    (k8s_cont && add_list(view, DNSREEL_F_K8S_CONTAINERNAME, "-c", k8s_cont, errbuf,
					  sizeof(errbuf)))) {
			rc = dnsreel_cli_usage_error(&tool, "%s", errbuf);
			goto cleanup;
		}
		rwo.view = view;
	}
	if (live) {
		struct dnsreel_printer_opts po = {
		    .sz = sizeof(po), .out = stdout, .no_resolve = no_resolve};
		enum dnsreel_field_id ids[DNSREEL_F_COUNT_];
		size_t nids_f = 0;
		if (dnsreel_output_parse(live_fmt, &po.output)) {
			rc = dnsreel_cli_usage_error(&tool, "bad output format: %s", live_fmt);
			goto cleanup;
		}
		if (fields) {
			if (dnsreel_fields_parse(fields, ids, DNSREEL_F_COUNT_, &nids_f, errbuf,
						 sizeof(errbuf))) {
				rc = dnsreel_cli_usage_error(&tool, "bad --fields: %s", errbuf);
				goto cleanup;
			}
			po.fields = ids;
			po.nfields = nids_f;
		}
		if (dnsreel_printer__new(&printer, &po)) {
			dnsreel_err(&cli, "cannot create the live printer");
			goto cleanup;
		}
		rwo.on_record = live_print;
		rwo.on_flush = live_flush;
		rwo.arg = printer;
	}

	char caps[512];
	if (missing_caps(caps, sizeof(caps))) {
		dnsreel_err(&cli, "missing capabilities: %s; run as root", caps);
		goto cleanup;
	}

	if (!dir) {
		time_t now = time(NULL);
		struct tm tm;
		gmtime_r(&now, &tm);
		strftime(defdir, sizeof(defdir), "dnsreel-%Y%m%dT%H%M%SZ.reel", &tm);
		dir = defdir;
	}
	/* The capture writer's own words (file, SQLite's and zstd's text) for write errors. */
	static char werrbuf[1024];
	wo.errbuf = werrbuf;
	wo.errlen = sizeof(werrbuf);
	int err = dnsreel_recwriter__open(&w, dir, &rwo, errbuf, sizeof(errbuf));
	if (err) {
		if (err == -EBUSY)
			dnsreel_err(&cli, "%s is in use by another recorder (or verify --reindex)",
				    dir);
		else if (werrbuf[0])
			dnsreel_err(&cli, "%s: %s", errbuf, werrbuf);
		else
			dnsreel_err(&cli, "%s", errbuf);
		goto cleanup;
	}
	struct dnsreel_sink sink = dnsreel_recwriter__sink(w);
	for (size_t i = 0; i < nservices; i++) {
		struct dnsreel_service_ctx svc;
		dnsreel_service_parse(services[i], &svc);
		sink.on_service(sink.arg, &svc);
	}
	for (size_t i = 0; i < nfilesvc; i++)
		sink.on_service(sink.arg, &filesvc[i]);

	struct sigaction sa = {.sa_handler = on_signal};
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	err = dnsreel_recorder__new(&rec, &ro, &sink, errbuf, sizeof(errbuf));
	if (err) {
		dnsreel_err(&cli, "%s", errbuf);
		goto cleanup;
	}
	char missing[512];
	if (dnsreel_recorder__unmatched(rec, missing, sizeof(missing))) {
		dnsreel_err(&cli,
			    "--netns: no network namespace %s (inode numbers: lsns -t net; names: "
			    "ip netns list)",
			    missing);
		goto cleanup;
	}
	if (!dnsreel_recorder__attached(rec) && (k8s_ns || k8s_pod || k8s_cont))
		dnsreel_log(&cli, 0, "no pod matches -n/-p/-c yet: waiting for one to appear");
	else if (!dnsreel_recorder__attached(rec)) {
		dnsreel_err(&cli,
			    "attached to no network namespace (is %s/proc mounted, and do the "
			    "--netns selections exist?)",
			    ro.host_root ? ro.host_root : "");
		goto cleanup;
	}
	if (!dnsreel_recorder__has_proc(rec) && !ro.no_proc)
		dnsreel_log(&cli, 0, "warning: recording without process context");
	if ((err = dnsreel_recwriter__flush(w, NULL, true))) {
		dnsreel_err(&cli, "writing %s: %s", dir, dnsreel_strerror(err));
		goto cleanup;
	}
	if (tap_path) {
		/* dnstap times are wall clock; events keep boot time like the packets */
		struct timespec tw, tb;
		clock_gettime(CLOCK_REALTIME, &tw);
		clock_gettime(CLOCK_BOOTTIME, &tb);
		int64_t off =
		    ((int64_t)tw.tv_sec - tb.tv_sec) * 1000000000 + tw.tv_nsec - tb.tv_nsec;
		if (rec_dnstap__open(&tap, tap_path, ro.host_root, off, errbuf, sizeof(errbuf))) {
			dnsreel_err(&cli, "%s", errbuf);
			goto cleanup;
		}
		dnsreel_log(&cli, 1, "dnstap: listening on %s", tap_path);
	}
	if (ready_file && write_ready(ready_file)) {
		dnsreel_err(&cli, "cannot write --ready-file %s: %s", ready_file, strerror(errno));
		goto cleanup;
	}
	dnsreel_log(&cli, 1, "recording into %s", dir);

	/* A status line as tcpdump's, on a terminal only (dnsreel_progress checks); with --live
	 * only when the events go elsewhere than that terminal. */
	struct dnsreel_progress pg;
	dnsreel_progress_init(&pg, &cli);
	if (live && pg.on && same_terminal(STDOUT_FILENO, STDERR_FILENO))
		pg.on = false;
	int64_t start = dnsreel_now_boot_ns(), next_status = 0;
	while (!stop_sig) {
		/* the counters cost map reads: gathered only when the line may be redrawn */
		if (pg.on && dnsreel_now_boot_ns() >= next_status) {
			show_status(&pg, w, rec, start);
			next_status = dnsreel_now_boot_ns() + 200000000;
		}
		/* As long as nothing is due here: the next frame of events, the status line, the
		 * end of --duration; dnstap events come from a thread, so every 10 ms then. */
		int64_t now = dnsreel_now_boot_ns(), until = dnsreel_recwriter__next_flush(w);
		if (pg.on && next_status < until)
			until = next_status;
		if (duration_ns && start + duration_ns < until)
			until = start + duration_ns;
		int timeout = -1;
		if (until != INT64_MAX)
			timeout = until <= now ? 0
				  : until - now > 3600000000000ll
				      ? 3600000
				      : (int)((until - now + 999999) / 1000000);
		if (tap && (timeout < 0 || timeout > 10))
			timeout = 10;
		int k = dnsreel_recorder__poll(rec, timeout);
		if (k < 0 && !dnsreel_recwriter__error(w)) {
			dnsreel_err(&cli, "recorder: %s", strerror(-k));
			goto cleanup;
		}
		if (dnsreel_recwriter__error(w))
			break;
		if (rec_dnstap__drain(tap, sink.on_event, sink.arg))
			break;
		if (duration_ns && dnsreel_now_boot_ns() - start >= duration_ns)
			break;
		if (dnsreel_recwriter__flush(w, rec, false))
			break;
	}
	dnsreel_progress_done(&pg);
	struct rec_dnstap_stats ts;
	char tap_err[512];
	rec_dnstap__stop(tap);
	rec_dnstap__drain(tap, sink.on_event, sink.arg);
	rec_dnstap__stats(tap, &ts);
	rec_dnstap__last_error(tap, tap_err, sizeof(tap_err));
	struct dnsreel_capw_stats ws;
	uint64_t lost_disk = 0, not_selected = dnsreel_recwriter__not_selected(w);
	err = dnsreel_recwriter__close(w, rec, &ws, &lost_disk);
	w = NULL;
	if (err)
		dnsreel_err(&cli, "writing %s: %s%s%s%s%s", dir, dnsreel_strerror(err),
			    werrbuf[0] ? " (" : "", werrbuf, werrbuf[0] ? ")" : "",
			    err == -ENOSPC
				? " (disk full); the capture is valid up to the last flush"
				: "");
	/* Summary. */
	double secs = (double)(dnsreel_now_boot_ns() - start) / 1e9;
	if (ro.stats)
		print_stats(rec, &ws, secs);
	uint64_t lost = dnsreel_recorder__lost(rec) + lost_disk;
	if (cli.verbosity >= 0) {
		struct dnsreel_recorder_nsstat ns[256];
		size_t nn = dnsreel_recorder__nsstats(rec, ns, 256);
		fprintf(stderr,
			"dnsreel-record: %llu events in %.1f s into %s, %llu bytes on disk "
			"(%.1f bytes/event), %llu lost",
			(unsigned long long)ws.events, secs, dir, (unsigned long long)ws.bytes_disk,
			ws.events ? (double)ws.bytes_disk / (double)ws.events : 0.0,
			(unsigned long long)lost);
		if (lost_disk)
			fprintf(stderr, " (%llu never reached the disk)",
				(unsigned long long)lost_disk);
		if (select)
			fprintf(stderr, ", %llu not selected by --select",
				(unsigned long long)not_selected);
		fprintf(stderr, "; %zu netns:\n", nn);
		if (tap)
			fprintf(stderr,
				"  dnstap %s: %llu messages from %llu connection(s), %llu damaged, "
				"%llu dropped%s%s\n",
				tap_path, (unsigned long long)ts.messages,
				(unsigned long long)ts.connections, (unsigned long long)ts.bad,
				(unsigned long long)ts.dropped,
				tap_err[0] ? "; last problem: " : "", tap_err);
		for (size_t i = 0; i < nn; i++)
			if (ns[i].events || cli.verbosity > 0)
				fprintf(stderr, "  netns %-12llu %-32s %10llu seen%s\n",
					(unsigned long long)ns[i].netns, ns[i].name,
					(unsigned long long)ns[i].events,
					ns[i].attached ? "" : " (gone)");
		if (!err)
			fprintf(stderr, "dnsreel-record: replay it with: dnsreel replay %s\n", dir);
		if (lost)
			fprintf(stderr,
				"dnsreel-record: warning: %llu events lost (see counters lost.* "
				"in the capture; %s)\n",
				(unsigned long long)lost,
				lost_disk ? "free disk space or use --max-size"
					  : "try a larger --ringbuf-size");
	}
	rc = err ? DNSREEL_EXIT_FAIL : DNSREEL_EXIT_OK;
cleanup:
	rec_dnstap__close(tap);
	dnsreel_recwriter__close(w, NULL, NULL, NULL);
	dnsreel_recorder__free(rec);
	if (printer)
		dnsreel_printer__close(printer);
	if (select)
		dnsreel_filter__free(select);
	if (view)
		dnsreel_filter__free(view);
	for (size_t i = 0; i < nnames; i++)
		free((void *)netns_names[i]);
	free(filters);
	free(selects);
	free(services);
	free(filesvc);
	free(netns_names);
	free(netns_ids);
	dnsreel_cli_free(&cli);
	return rc;
}
