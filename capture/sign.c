/* Ed25519 signatures over a capture's manifest (libsodium crypto_sign), kept in
 * CAPTURE/custody.sig (FORMAT.md §12.4). The message signed is "dnsreel-signature 1\n" and the
 * manifest text, so the signature covers the root hash and everything the manifest names.
 */
#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "capture_int.h"

static const char sig_tag[] = "dnsreel-signature 1\n";
static const char sec_tag[] = "dnsreel-ed25519-secret-key 1";
static const char pub_tag[] = "dnsreel-ed25519-public-key 1";

static int unhex(const char *s, size_t slen, uint8_t *out, size_t n)
{
	if (slen != 2 * n)
		return DNSREEL_E_PARSE;
	size_t bl;
	return sodium_hex2bin(out, n, s, slen, NULL, &bl, NULL) || bl != n ? DNSREEL_E_PARSE : 0;
}

static int write_new(const char *path, const char *text, mode_t mode, bool excl)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC | (excl ? O_EXCL : O_TRUNC), mode);
	if (fd < 0)
		return -errno;
	size_t n = strlen(text);
	int err = write(fd, text, n) == (ssize_t)n ? 0 : -EIO;
	if (!err && fsync(fd))
		err = -errno;
	if (close(fd) && !err)
		err = -errno;
	if (err)
		unlink(path);
	return err;
}

int dnsreel_custody_keygen(const char *path, char *errbuf, size_t errlen)
{
	if (!path || !*path)
		return DNSREEL_E_ARG;
	if (sodium_init() < 0)
		return dr_errf(errbuf, errlen, DNSREEL_E_STATE, "libsodium cannot initialise");
	uint8_t pk[crypto_sign_PUBLICKEYBYTES], sk[crypto_sign_SECRETKEYBYTES];
	crypto_sign_keypair(pk, sk);
	char text[2 * crypto_sign_SECRETKEYBYTES + 64], hx[2 * crypto_sign_SECRETKEYBYTES + 1];
	sodium_bin2hex(hx, sizeof(hx), sk, sizeof(sk));
	snprintf(text, sizeof(text), "%s\n%s\n", sec_tag, hx);
	sodium_memzero(sk, sizeof(sk));
	int err = write_new(path, text, 0600, true);
	sodium_memzero(text, sizeof(text));
	sodium_memzero(hx, sizeof(hx));
	if (err)
		return dr_errf(errbuf, errlen, err, "%s: %s%s", path, strerror(-err),
			       err == -EEXIST ? " (keys are never overwritten: choose a new name)"
					      : "");
	char pub[4096];
	snprintf(pub, sizeof(pub), "%s.pub", path);
	sodium_bin2hex(hx, sizeof(hx), pk, sizeof(pk));
	snprintf(text, sizeof(text), "%s\n%s\n", pub_tag, hx);
	err = write_new(pub, text, 0644, true);
	if (err) {
		unlink(path);
		return dr_errf(errbuf, errlen, err, "%s: %s", pub, strerror(-err));
	}
	return 0;
}

/* Reads a key file: its first line must be tag, its second n bytes in hex. */
static int read_key(const char *path, const char *tag, uint8_t *out, size_t n, char *errbuf,
		    size_t errlen)
{
	uint8_t *b;
	size_t len;
	int err = dr_read_file(path, &b, &len);
	if (err)
		return dr_errf(errbuf, errlen, err, "%s: %s", path,
			       err == DNSREEL_E_NOTREG ? "not a regular file"
						       : dnsreel_strerror(err));
	size_t tl = strlen(tag);
	const char *p = (const char *)b;
	const char *nl = len > tl ? memchr(p + tl + 1, '\n', len - tl - 1) : NULL;
	if (len < tl + 1 || memcmp(p, tag, tl) || p[tl] != '\n' || !nl ||
	    unhex(p + tl + 1, (size_t)(nl - (p + tl + 1)), out, n)) {
		sodium_memzero(b, len);
		free(b);
		return dr_errf(
		    errbuf, errlen, DNSREEL_E_PARSE,
		    "%s: not a dnsreel %s key file (make one with dnsreel sign --keygen)", path,
		    strstr(tag, "secret") ? "secret" : "public");
	}
	sodium_memzero(b, len);
	free(b);
	return 0;
}

static int message(const struct dnsreel_custody *c, uint8_t **out, size_t *len)
{
	size_t ml = strlen(c->manifest), tl = sizeof(sig_tag) - 1;
	*out = malloc(tl + ml);
	if (!*out)
		return -ENOMEM;
	memcpy(*out, sig_tag, tl);
	memcpy(*out + tl, c->manifest, ml);
	*len = tl + ml;
	return 0;
}

int dnsreel_custody_sign(const char *capture, const char *keyfile, char root_out[DNSREEL_HASH_HEX],
			 char *errbuf, size_t errlen)
{
	if (!capture || !keyfile)
		return DNSREEL_E_ARG;
	struct stat st;
	if (stat(capture, &st) != 0)
		return dr_errf(errbuf, errlen, -errno, "%s: %s", capture, strerror(errno));
	if (!S_ISDIR(st.st_mode))
		return dr_errf(errbuf, errlen, DNSREEL_E_ARG,
			       "%s: not a capture directory (sign before packing, or unpack "
			       "first)",
			       capture);
	struct dnsreel_custody *c;
	int err = dnsreel_custody_compute(capture, &c, errbuf, errlen);
	if (err)
		return err;
	if (!c->chained) {
		dnsreel_custody_free(c);
		return dr_errf(errbuf, errlen, DNSREEL_E_ARG,
			       "%s: no chain: recorded before custody, nothing to sign", capture);
	}
	uint8_t sk[crypto_sign_SECRETKEYBYTES], pk[crypto_sign_PUBLICKEYBYTES];
	err = read_key(keyfile, sec_tag, sk, sizeof(sk), errbuf, errlen);
	uint8_t *msg = NULL, sig[crypto_sign_BYTES];
	size_t ml = 0;
	if (!err)
		err = message(c, &msg, &ml);
	if (!err) {
		crypto_sign_detached(sig, NULL, msg, ml, sk);
		crypto_sign_ed25519_sk_to_pk(pk, sk);
	}
	sodium_memzero(sk, sizeof(sk));
	free(msg);
	if (!err) {
		char hp[2 * sizeof(pk) + 1], hs[2 * sizeof(sig) + 1], text[1024], path[4096],
		    part[4200];
		sodium_bin2hex(hp, sizeof(hp), pk, sizeof(pk));
		sodium_bin2hex(hs, sizeof(hs), sig, sizeof(sig));
		snprintf(text, sizeof(text), "%salg ed25519\npublic %s\nroot %s\nsignature %s\n",
			 sig_tag, hp, c->root, hs);
		snprintf(path, sizeof(path), "%s/%s", capture, DNSREEL_SIG_FILE);
		snprintf(part, sizeof(part), "%s.part", path);
		err = write_new(part, text, 0644, false);
		if (!err && rename(part, path))
			err = -errno;
		if (err) {
			unlink(part);
			dr_errf(errbuf, errlen, err, "%s: %s", path, strerror(-err));
		}
	}
	if (!err && root_out)
		snprintf(root_out, DNSREEL_HASH_HEX, "%s", c->root);
	dnsreel_custody_free(c);
	return err;
}

/* The value of "key VALUE" in the signature file text, NUL-cut in place. */
static char *field(char *text, const char *key)
{
	size_t kl = strlen(key);
	for (char *p = text; p && *p;) {
		char *nl = strchr(p, '\n');
		if (!strncmp(p, key, kl) && p[kl] == ' ') {
			if (nl)
				*nl = 0;
			return p + kl + 1;
		}
		p = nl ? nl + 1 : NULL;
	}
	return NULL;
}

int dnsreel_custody_check_sig(const char *capture, const struct dnsreel_custody *c,
			      const char *pubfile, char *errbuf, size_t errlen)
{
	if (!capture || !c || !pubfile)
		return DNSREEL_E_ARG;
	if (sodium_init() < 0)
		return dr_errf(errbuf, errlen, DNSREEL_E_STATE, "libsodium cannot initialise");
	uint8_t pk[crypto_sign_PUBLICKEYBYTES];
	int err = read_key(pubfile, pub_tag, pk, sizeof(pk), errbuf, errlen);
	if (err)
		return err;
	struct dr_src *src;
	err = dr_src_open(&src, capture, errbuf, errlen);
	if (err)
		return err;
	struct dr_file f;
	uint8_t *b = NULL;
	size_t len = 0;
	err = dr_src_file(src, DNSREEL_SIG_FILE, &f);
	if (!err) {
		err = f.size > 4096 ? DNSREEL_E_LIMIT : dr_file_read_all(&f, &b, &len);
		dr_file_close(&f);
	}
	dr_src_close(src);
	if (err)
		return dr_errf(errbuf, errlen, DNSREEL_E_CORRUPT, "%s: %s: %s", capture,
			       DNSREEL_SIG_FILE,
			       err == -ENOENT ? "missing: the capture is not signed (dnsreel sign)"
					      : dnsreel_strerror(err));
	char *text = malloc(len + 1);
	if (!text) {
		free(b);
		return -ENOMEM;
	}
	memcpy(text, b, len);
	text[len] = 0;
	free(b);
	char *t1 = strdup(text), *t2 = strdup(text), *t3 = strdup(text);
	const char *hp = t1 ? field(t1, "public") : NULL, *hr = t2 ? field(t2, "root") : NULL,
		   *hs = t3 ? field(t3, "signature") : NULL;
	uint8_t spk[crypto_sign_PUBLICKEYBYTES], sig[crypto_sign_BYTES];
	if (strncmp(text, sig_tag, sizeof(sig_tag) - 1) || !hp || !hr || !hs ||
	    unhex(hp, strlen(hp), spk, sizeof(spk)) || unhex(hs, strlen(hs), sig, sizeof(sig)))
		err = dr_errf(errbuf, errlen, DNSREEL_E_CORRUPT,
			      "%s: %s: bad signature: not a dnsreel signature file", capture,
			      DNSREEL_SIG_FILE);
	else if (memcmp(spk, pk, sizeof(pk)))
		err = dr_errf(errbuf, errlen, DNSREEL_E_CORRUPT,
			      "%s: bad signature: signed with another key than %s",
			      DNSREEL_SIG_FILE, pubfile);
	else if (strcmp(hr, c->root))
		err =
		    dr_errf(errbuf, errlen, DNSREEL_E_CORRUPT,
			    "%s: bad signature: it signs root %.64s, the capture's root is now %s "
			    "(changed since signing)",
			    DNSREEL_SIG_FILE, hr, c->root);
	else {
		uint8_t *msg;
		size_t ml;
		err = message(c, &msg, &ml);
		if (!err) {
			if (crypto_sign_verify_detached(sig, msg, ml, pk))
				err = dr_errf(errbuf, errlen, DNSREEL_E_CORRUPT,
					      "%s: bad signature: does not verify with %s",
					      DNSREEL_SIG_FILE, pubfile);
			free(msg);
		}
	}
	if (!err)
		dr_errf(errbuf, errlen, 0, "signature good: root %s signed by the key of %s",
			c->root, pubfile);
	free(t1);
	free(t2);
	free(t3);
	free(text);
	return err;
}
