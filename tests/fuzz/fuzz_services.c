/* Invariant: any text as kube-proxy's rules (nft JSON listings, iptables-save output) or as a
 * --services line never crashes the parsers, and every service they report has a namespace and
 * a name, an IP version of 4 or 6 and a protocol the rules can say (any, TCP, UDP, SCTP).
 *
 * Input: byte 0 picks the parser (nft JSON, iptables-save text, one --services line); the rest
 * is the text. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "k8s.h"

#define REQUIRE(c)                                                                                 \
	do {                                                                                       \
		if (!(c))                                                                          \
			abort();                                                                   \
	} while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(void *arg, const struct dnsreel_service_ctx *s)
{
	int *n = arg;
	REQUIRE(s->ip_version == 4 || s->ip_version == 6);
	REQUIRE(s->proto == 0 || s->proto == 6 || s->proto == 17 || s->proto == 132);
	REQUIRE(memchr(s->k8s_namespace, 0, sizeof(s->k8s_namespace)));
	REQUIRE(memchr(s->name, 0, sizeof(s->name)));
	(*n)++;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!size)
		return 0;
	char *text = malloc(size);
	if (!text)
		return 0;
	memcpy(text, data + 1, size - 1);
	text[size - 1] = 0;
	int n = 0;
	struct dnsreel_service_ctx svc;
	switch (data[0] % 3) {
	case 0: {
		int r = dnsreel_nft_json_parse(text, size - 1, check, &n);
		REQUIRE(r == n || r == -EINVAL);
		break;
	}
	case 1:
		REQUIRE(dnsreel_iptables_parse(text, check, &n) == n);
		break;
	default:
		if (!dnsreel_service_parse(text, &svc))
			REQUIRE(svc.ip_version == 4 || svc.ip_version == 6);
		break;
	}
	free(text);
	return 0;
}
