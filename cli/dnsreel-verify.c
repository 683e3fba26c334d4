/* dnsreel-verify: checks a capture — block checksums, zstd frames, frame order and decoding,
 * and that index.sqlite says exactly what the segments say. --reindex rebuilds the index from
 * the segments. Each problem is one line on stdout naming the file and byte offset. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "capture.h"
#include "cli.h"
#include "dnsreel.h"

enum { OPT_REINDEX = 1000, OPT_EXPECT, OPT_PUBKEY };

static const struct dnsreel_opt opts[] = {
    {OPT_EXPECT, "expect", 0, DNSREEL_REQ_ARG, "HASH",
     "the root hash the capture must have (as a ticket or the sender gave it)", "Custody"},
    {OPT_PUBKEY, "pubkey", 0, DNSREEL_REQ_ARG, "FILE",
     "check custody.sig: signed with the key of this public key file (FILE.pub of the signer)",
     NULL},
    {OPT_REINDEX, "reindex", 0, DNSREEL_NO_ARG, NULL,
     "rebuild index.sqlite from the segments (replaced atomically)", "Repair"},
    {0},
};

static const struct dnsreel_tool tool = {
    .name = "dnsreel-verify",
    .usage = "CAPTURE... [OPTIONS]",
    .summary = "Check a dnsreel capture's checksums, frame order and index consistency.",
    .opts = opts,
    .epilog = "Examples:\n  dnsreel verify incident.reel\n  dnsreel verify --reindex "
	      "incident.reel\n",
};

struct pctx {
	const char *capture;
	FILE *out;
};

static void problem(void *ctx, const char *msg)
{
	struct pctx *p = ctx;
	fprintf(p->out, "%s: %s\n", p->capture, msg);
}

int main(int argc, char **argv)
{
	struct dnsreel_cli c;
	int ret = DNSREEL_EXIT_OK, code = 0, id;
	bool reindex = false;
	const char *expect = NULL, *pubkey = NULL;
	dnsreel_cli_init(&c, &tool, argc, argv);
	while ((id = dnsreel_cli_next(&c, &code)) != -1) {
		if (id == DNSREEL_CLI_EXIT) {
			ret = code;
			goto cleanup;
		}
		if (id == OPT_REINDEX)
			reindex = true;
		else if (id == OPT_EXPECT)
			expect = c.arg;
		else if (id == OPT_PUBKEY)
			pubkey = c.arg;
	}
	if (expect && (strlen(expect) != DNSREEL_HASH_HEX - 1 ||
		       strspn(expect, "0123456789abcdef") != DNSREEL_HASH_HEX - 1)) {
		ret = dnsreel_cli_usage_error(&tool,
					      "--expect: '%s' is not a root hash (64 lowercase hex "
					      "digits, as verify prints it)",
					      expect);
		goto cleanup;
	}
	if (c.optind >= argc) {
		ret = dnsreel_cli_usage_error(&tool, "no capture given");
		goto cleanup;
	}
	for (int i = c.optind; i < argc; i++) {
		struct pctx pc = {argv[i], stdout};
		char root[DNSREEL_HASH_HEX] = "", note[256] = "";
		struct dnsreel_verify_opts vo = {.sz = sizeof(vo),
						 .reindex = reindex,
						 .problem = problem,
						 .ctx = &pc,
						 .expect_root = expect,
						 .root_out = root,
						 .custody_note = note,
						 .custody_note_len = sizeof(note)};
		int n = dnsreel_capture_verify(argv[i], &vo);
		if (root[0])
			fprintf(stdout, "%s: root %s\n", argv[i], root);
		if (n >= 0 && pubkey) {
			struct dnsreel_custody *cu = NULL;
			char eb[512] = "";
			int err = dnsreel_custody_compute(argv[i], &cu, eb, sizeof(eb));
			if (!err)
				err =
				    dnsreel_custody_check_sig(argv[i], cu, pubkey, eb, sizeof(eb));
			dnsreel_custody_free(cu);
			if (err) {
				fprintf(stdout, "%s: %s\n", argv[i], eb);
				n++;
			} else
				dnsreel_log(&c, 0, "%s: %s", argv[i], eb);
		}
		if (note[0])
			dnsreel_log(&c, 0, "%s: %s", argv[i], note);
		fflush(stdout);
		if (n == -EBUSY) {
			dnsreel_err(&c,
				    "%s: in use by a running dnsreel-record; --reindex once it "
				    "has stopped",
				    argv[i]);
			ret = DNSREEL_EXIT_FAIL;
		} else if (n == DNSREEL_E_ARG && reindex) {
			dnsreel_err(
			    &c,
			    "%s: a pack is read in place, never rewritten: 'dnsreel unpack' "
			    "it, then --reindex the directory",
			    argv[i]);
			ret = DNSREEL_EXIT_FAIL;
		} else if (n < 0) {
			dnsreel_err(&c, "%s: %s", argv[i], dnsreel_strerror(n));
			ret = DNSREEL_EXIT_FAIL;
		} else if (n > 0) {
			dnsreel_log(&c, 0, "%s: %d problem%s%s", argv[i], n, n == 1 ? "" : "s",
				    reindex ? " in the segments; index rebuilt from what is intact"
					    : "");
			ret = DNSREEL_EXIT_FAIL;
		} else {
			dnsreel_log(&c, 0, "%s: ok%s", argv[i], reindex ? " (index rebuilt)" : "");
		}
	}
cleanup:
	return dnsreel_cli_end(&c, ret);
}
