/* dnsreel-import: a DNS server's dnstap log (a Frame Streams file, e.g. written by
 * fstrm_capture from unbound's or CoreDNS's dnstap socket) into a capture. Each dnstap message
 * becomes an event of its own observation point (pkt_type DNSTAP, the server identity and
 * message type kept), so replay and query show what the server saw beside the wire's events.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "capture.h"
#include "cli.h"
#include "dnsreel.h"
#include "dnstap.h"

enum {
	OPT_DNSTAP = 1000,
	OPT_OUTPUT = 'o',
	OPT_NODE = 1001,
	OPT_NETNS,
};

static const struct dnsreel_opt opts[] = {
    {OPT_DNSTAP, "dnstap", 0, DNSREEL_REQ_ARG, "FILE",
     "the Frame Streams file of dnstap messages to read (- = standard input)", "Input"},
    {OPT_OUTPUT, "output", 'o', DNSREEL_REQ_ARG, "CAPTURE", "the capture directory to create",
     "Output"},
    {OPT_NODE, "node", 0, DNSREEL_REQ_ARG, "NAME",
     "k8s.node of the capture (default: the first message's identity)", NULL},
    {OPT_NETNS, "netns", 0, DNSREEL_REQ_ARG, "INODE",
     "netns_id to give the events: the server's network namespace, to line them up with a "
     "recording of the same node (default 0)",
     NULL},
    {0},
};

static const struct dnsreel_tool tool = {
    .name = "dnsreel-import",
    .usage = "--dnstap FILE -o CAPTURE [OPTIONS]",
    .summary = "Import a DNS server's dnstap log (Frame Streams) into a dnsreel capture.",
    .opts = opts,
    .epilog = "Examples:\n"
	      "  fstrm_capture -t protobuf:dnstap.Dnstap -u /run/dnstap.sock -w unbound.fstrm\n"
	      "  dnsreel import --dnstap unbound.fstrm -o unbound.reel\n"
	      "  dnsreel replay unbound.reel -F pkt_type==DNSTAP --fields "
	      "timestamp,dnstap.type,src,dst,id,name,rcode\n"
	      "Exit status: 0 ok, 1 failure (a damaged file: what came before the damage is "
	      "kept), 2 usage.\n",
};

static void fill_meta(struct dnsreel_meta *m, const char *node)
{
	memset(m, 0, sizeof(*m));
	m->format_major = DNSREEL_FORMAT_MAJOR;
	m->format_minor = DNSREEL_FORMAT_MINOR;
	FILE *f = fopen("/proc/sys/kernel/random/uuid", "re");
	if (f) {
		if (fgets(m->capture_id, sizeof(m->capture_id), f))
			m->capture_id[strcspn(m->capture_id, "\n")] = 0;
		fclose(f);
	}
	snprintf(m->node, sizeof(m->node), "%s", node && node[0] ? node : "dnstap");
	struct utsname u;
	if (!uname(&u))
		snprintf(m->kernel, sizeof(m->kernel), "%s", u.release);
	snprintf(m->recorder, sizeof(m->recorder), "dnsreel-import %s", DNSREEL_VERSION);
	/* the messages carry wall-clock times: event ts_ns are those times */
	m->boot_to_wall_ns = 0;
	m->start_wall_ns = dnsreel_now_wall_ns();
	m->snaplen = 65535;
}

int main(int argc, char **argv)
{
	struct dnsreel_cli c;
	int ret = DNSREEL_EXIT_OK, code = 0, id, fd = -1, err;
	const char *in = NULL, *outdir = NULL, *node = NULL;
	uint64_t netns = 0;
	struct dnsreel_dnstap_reader *rd = NULL;
	struct dnsreel_capw *w = NULL;
	struct dnsreel_dnstap_msg m = {0};
	char errbuf[512] = "", werr[512] = "";
	uint64_t n = 0, skipped = 0;

	dnsreel_cli_init(&c, &tool, argc, argv);
	while ((id = dnsreel_cli_next(&c, &code)) != -1) {
		if (id == DNSREEL_CLI_EXIT) {
			ret = code;
			goto cleanup;
		}
		switch (id) {
		case OPT_DNSTAP:
			in = c.arg;
			break;
		case OPT_OUTPUT:
			outdir = c.arg;
			break;
		case OPT_NODE:
			node = c.arg;
			break;
		case OPT_NETNS:
			if (dnsreel_parse_u64(c.arg, 0, UINT64_MAX, &netns) < 0) {
				ret = dnsreel_cli_usage_error(&tool, "--netns: cannot read '%s'",
							      c.arg);
				goto cleanup;
			}
			break;
		default:
			ret = dnsreel_cli_usage_error(&tool, "unhandled option");
			goto cleanup;
		}
	}
	if (!in || !outdir) {
		ret =
		    dnsreel_cli_usage_error(&tool, "--dnstap FILE and -o CAPTURE are both needed");
		goto cleanup;
	}
	if (c.optind < argc) {
		ret = dnsreel_cli_usage_error(&tool, "unexpected argument '%s'", argv[c.optind]);
		goto cleanup;
	}
	fd = strcmp(in, "-") ? open(in, O_RDONLY | O_CLOEXEC) : STDIN_FILENO;
	if (fd < 0) {
		dnsreel_err(&c, "%s: %s", in, strerror(errno));
		ret = DNSREEL_EXIT_FAIL;
		goto cleanup;
	}
	err = dnsreel_dnstap_reader__open(&rd, fd, false, errbuf, sizeof(errbuf));
	if (err < 0) {
		dnsreel_err(&c, "%s: %s", in, errbuf[0] ? errbuf : dnsreel_strerror(err));
		ret = DNSREEL_EXIT_FAIL;
		goto cleanup;
	}
	for (;;) {
		const uint8_t *data;
		size_t len;
		uint64_t off = 0;
		int r = dnsreel_dnstap_reader__next(rd, &data, &len, &off, errbuf, sizeof(errbuf));
		if (r == 0)
			break;
		if (r < 0) {
			dnsreel_err(&c, "%s: %s; the %llu message(s) before it were imported", in,
				    errbuf, (unsigned long long)n);
			ret = DNSREEL_EXIT_FAIL;
			break;
		}
		err = dnsreel_dnstap_msg__decode(&m, data, len, 0, errbuf, sizeof(errbuf));
		if (err == -ENOMEM) {
			dnsreel_err(&c, "out of memory");
			ret = DNSREEL_EXIT_FAIL;
			break;
		}
		if (err < 0) {
			/* one message a dnsreel event cannot hold: said, and the rest read */
			dnsreel_err(&c, "%s: frame at byte offset %llu: %s; skipped", in,
				    (unsigned long long)off, errbuf);
			skipped++;
			ret = DNSREEL_EXIT_FAIL;
			continue;
		}
		if (!w) {
			struct dnsreel_capw_opts wo = {
			    .sz = sizeof(wo), .errbuf = werr, .errlen = sizeof(werr)};
			struct dnsreel_meta meta;
			fill_meta(&meta, node ? node : m.identity);
			err = dnsreel_capw__open(&w, outdir, &wo);
			if (!err)
				err = dnsreel_capw__set_meta(w, &meta);
			if (err < 0) {
				dnsreel_err(&c, "%s: %s", outdir,
					    werr[0] ? werr : dnsreel_strerror(err));
				ret = DNSREEL_EXIT_FAIL;
				goto cleanup;
			}
		}
		m.ev.netns = netns;
		err = dnsreel_capw__append(w, &m.ev);
		if (err < 0) {
			dnsreel_err(&c, "%s: %s", outdir, werr[0] ? werr : dnsreel_strerror(err));
			ret = DNSREEL_EXIT_FAIL;
			goto cleanup;
		}
		n++;
	}
	if (!w && ret == DNSREEL_EXIT_OK) {
		dnsreel_err(&c, "%s: no dnstap message in it; no capture written", in);
		ret = DNSREEL_EXIT_FAIL;
	}
	if (w)
		dnsreel_log(&c, 0, "%s: %llu dnstap message(s) imported into %s%s", in,
			    (unsigned long long)n, outdir, skipped ? " (some skipped)" : "");

cleanup:
	dnsreel_dnstap_msg__free(&m);
	dnsreel_dnstap_reader__close(rd);
	if (w && dnsreel_capw__close(w) < 0) {
		dnsreel_err(&c, "%s: closing: %s", outdir, werr[0] ? werr : "failed");
		ret = DNSREEL_EXIT_FAIL;
	}
	if (fd > STDIN_FILENO)
		close(fd);
	return dnsreel_cli_end(&c, ret);
}
