/* Crypto-PAn (Xu, Fan, Ammar, Moon, "Prefix-Preserving IP Address Anonymization", ICNP 2002)
 * over AES-128 from OpenSSL. The construction is written here; the block cipher is OpenSSL's.
 *
 * Output bit i = input bit i XOR msb(AES(first i bits of the input, then bits i..127 of the
 * pad)). Bit i depends only on bits 0..i of the input, which is the prefix preservation. The
 * 32 (IPv4) or 128 (IPv6) blocks of one address are independent, so they are built first and
 * encrypted in one ECB call: AES-NI pipelines them. IPv6 takes the same construction over 128
 * bits, as the common implementations do.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "dnsreel.h"
#include "redact.h"

struct dnsreel_cryptopan {
	EVP_CIPHER_CTX *ctx;
	uint8_t pad[16];
	uint8_t in[128 * 16], out[128 * 16 + 16];
};

void dnsreel_cryptopan__free(struct dnsreel_cryptopan *cp)
{
	if (!cp)
		return;
	EVP_CIPHER_CTX_free(cp->ctx);
	OPENSSL_cleanse(cp, sizeof(*cp));
	free(cp);
}

static int ecb(struct dnsreel_cryptopan *cp, const uint8_t *in, size_t n, uint8_t *out)
{
	int len = 0;
	if (n > INT32_MAX || !EVP_EncryptUpdate(cp->ctx, out, &len, in, (int)n) || (size_t)len != n)
		return DNSREEL_E_ARG;
	return 0;
}

int dnsreel_cryptopan__new(struct dnsreel_cryptopan **out, const uint8_t key[32])
{
	*out = NULL;
	struct dnsreel_cryptopan *cp = calloc(1, sizeof(*cp));
	if (!cp)
		return -ENOMEM;
	cp->ctx = EVP_CIPHER_CTX_new();
	if (!cp->ctx) {
		free(cp);
		return -ENOMEM;
	}
	if (!EVP_EncryptInit_ex(cp->ctx, EVP_aes_128_ecb(), NULL, key, NULL) ||
	    !EVP_CIPHER_CTX_set_padding(cp->ctx, 0) || ecb(cp, key + 16, 16, cp->out)) {
		dnsreel_cryptopan__free(cp);
		return DNSREEL_E_ARG;
	}
	memcpy(cp->pad, cp->out, 16);
	*out = cp;
	return 0;
}

int dnsreel_cryptopan__map(struct dnsreel_cryptopan *cp, unsigned bits, const uint8_t *in,
			   uint8_t *out)
{
	if (bits != 32 && bits != 128)
		return DNSREEL_E_ARG;
	uint8_t a[16];
	memcpy(a, in, bits / 8);
	for (unsigned pos = 0; pos < bits; pos++) {
		uint8_t *b = cp->in + 16 * pos;
		memcpy(b, cp->pad, 16);
		unsigned whole = pos / 8, part = pos % 8;
		memcpy(b, a, whole);
		if (part) {
			uint8_t hi = (uint8_t)(0xFFu << (8 - part));
			b[whole] = (uint8_t)((a[whole] & hi) | (cp->pad[whole] & (uint8_t)~hi));
		}
	}
	int err = ecb(cp, cp->in, 16 * (size_t)bits, cp->out);
	if (err)
		return err;
	for (unsigned pos = 0; pos < bits; pos++)
		a[pos / 8] ^= (uint8_t)((cp->out[16 * pos] >> 7) << (7 - pos % 8));
	memcpy(out, a, bits / 8);
	return 0;
}
