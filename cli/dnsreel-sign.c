/* dnsreel-sign: an Ed25519 signature (libsodium) over a capture's manifest and root hash,
 * kept in CAPTURE/custody.sig, so whoever receives the capture can check who produced it
 * (dnsreel verify --pubkey). --keygen makes the key pair. */
#include <stdio.h>

#include "capture.h"
#include "cli.h"
#include "dnsreel.h"

enum { OPT_KEY = 1000, OPT_KEYGEN };

static const struct dnsreel_opt opts[] = {
    {OPT_KEY, "key", 0, DNSREEL_REQ_ARG, "FILE", "the secret key to sign with", "Signing"},
    {OPT_KEYGEN, "keygen", 0, DNSREEL_REQ_ARG, "FILE",
     "make a key pair: the secret key in FILE (mode 0600), the public key in FILE.pub", NULL},
    {0},
};

static const struct dnsreel_tool tool = {
    .name = "dnsreel-sign",
    .usage = "CAPTURE --key FILE | --keygen FILE",
    .summary = "Sign a dnsreel capture's manifest with Ed25519, or make a signing key pair.",
    .opts = opts,
    .epilog = "Examples:\n  dnsreel sign --keygen platform.key\n  dnsreel sign incident.reel "
	      "--key platform.key\n  dnsreel verify --pubkey platform.key.pub incident.reel\n",
};

int main(int argc, char **argv)
{
	struct dnsreel_cli c;
	int ret = DNSREEL_EXIT_OK, code = 0, id;
	const char *key = NULL, *keygen = NULL;
	dnsreel_cli_init(&c, &tool, argc, argv);
	while ((id = dnsreel_cli_next(&c, &code)) != -1) {
		if (id == DNSREEL_CLI_EXIT) {
			ret = code;
			goto cleanup;
		}
		if (id == OPT_KEY)
			key = c.arg;
		else if (id == OPT_KEYGEN)
			keygen = c.arg;
	}
	char eb[1024] = "";
	if (keygen) {
		if (key || c.optind < argc) {
			ret = dnsreel_cli_usage_error(&tool,
						      "--keygen takes no capture and no --key");
			goto cleanup;
		}
		int err = dnsreel_custody_keygen(keygen, eb, sizeof(eb));
		if (err) {
			dnsreel_err(&c, "%s", eb[0] ? eb : dnsreel_strerror(err));
			ret = DNSREEL_EXIT_FAIL;
		} else
			dnsreel_log(&c, 0, "secret key %s, public key %s.pub (give that one out)",
				    keygen, keygen);
		goto cleanup;
	}
	if (c.optind >= argc) {
		ret = dnsreel_cli_usage_error(&tool, "no capture given");
		goto cleanup;
	}
	if (!key) {
		ret = dnsreel_cli_usage_error(&tool, "no key given (--key FILE)");
		goto cleanup;
	}
	for (int i = c.optind; i < argc; i++) {
		char root[DNSREEL_HASH_HEX];
		int err = dnsreel_custody_sign(argv[i], key, root, eb, sizeof(eb));
		if (err) {
			dnsreel_err(&c, "%s", eb[0] ? eb : dnsreel_strerror(err));
			ret = DNSREEL_EXIT_FAIL;
			continue;
		}
		fprintf(stdout, "%s: signed root %s\n", argv[i], root);
	}
cleanup:
	return dnsreel_cli_end(&c, ret);
}
