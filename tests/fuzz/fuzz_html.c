/* Invariant: no bytes a capture holds can become markup in the report. The escaper's output of
 * any input has no '<', '>', '"' or '\'', an '&' only as the start of one of its own entities,
 * no control byte, and is valid UTF-8; a short buffer gets a prefix of the whole output cut at
 * an entity's edge, and the length needed is told exactly. A whole page drawn with the input
 * as a flow's name and pod has exactly the markup (the same count of '<') of the page drawn
 * with a plain name: the input added no element, attribute or script.
 *
 * Input: any bytes; up to the first NUL (at most 255 bytes) they are also the name.
 */
#include <arpa/inet.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define REQUIRE(c)                                                                                 \
	do {                                                                                       \
		if (!(c))                                                                          \
			abort();                                                                   \
	} while (0)

static const char *const entities[] = {"&amp;", "&lt;", "&gt;", "&quot;", "&#39;", "&#xFFFD;"};

static void check_escaped(const char *s, size_t n)
{
	for (size_t i = 0; i < n;) {
		unsigned char c = (unsigned char)s[i];
		REQUIRE(c != '<' && c != '>' && c != '"' && c != '\'' && c >= 0x20 && c != 0x7f);
		if (c == '&') {
			size_t k, e = 0;
			for (k = 0; k < sizeof(entities) / sizeof(entities[0]); k++) {
				e = strlen(entities[k]);
				if (n - i >= e && !memcmp(s + i, entities[k], e))
					break;
			}
			REQUIRE(k < sizeof(entities) / sizeof(entities[0]));
			i += e;
			continue;
		}
		size_t len = c < 0x80 ? 1 : c < 0xe0 ? 2 : c < 0xf0 ? 3 : 4;
		REQUIRE(c < 0x80 || (c >= 0xc2 && c <= 0xf4));
		REQUIRE(i + len <= n);
		for (size_t j = 1; j < len; j++)
			REQUIRE(((unsigned char)s[i + j] & 0xc0) == 0x80);
		i += len;
	}
}

static size_t count_lt(const char *s, size_t n)
{
	size_t k = 0;
	for (size_t i = 0; i < n; i++)
		k += s[i] == '<';
	return k;
}

/* The page of one flow named name from a pod named name. Returns the count of '<' in it. */
static size_t page_markup(struct dnsreel_ctx *ctx, const char *name)
{
	struct dnsreel_event q = {.ip_version = 4, .src_port = 40000, .dst_port = 53};
	inet_pton(AF_INET, "10.244.0.10", q.src_addr);
	inet_pton(AF_INET, "10.96.0.10", q.dst_addr);
	struct dnsreel_netns_ctx ns = {.netns = 7};
	snprintf(ns.k8s_podname, sizeof(ns.k8s_podname), "%s", name);
	snprintf(ns.k8s_namespace, sizeof(ns.k8s_namespace), "%s", name);
	struct dnsreel_flow_hop hops[2] = {
	    {.role = DNSREEL_ROLE_CLIENT,
	     .netns = 7,
	     .query = true,
	     .wall_ns = 1,
	     .latency_ns = 9,
	     .event = &q},
	    {.role = DNSREEL_ROLE_FORWARDER,
	     .netns = 8,
	     .query = true,
	     .wall_ns = 3,
	     .latency_ns = 5,
	     .event = &q},
	};
	struct dnsreel_flow_upstream up = {
	    .netns = 8, .wall_ns = 4, .answered = true, .used = true, .latency_ns = 2, .query = &q};
	struct dnsreel_flow f = {
	    .flow_id = "0123456789abcdef",
	    .lookup_id = "0123456789abcdef",
	    .wall_ns = 1,
	    .name = name,
	    .qtype = 1,
	    .client_ns = &ns,
	    .query = &q,
	    .answered = true,
	    .rcode = 2,
	    .rcode_origin = DNSREEL_ROLE_UPSTREAM,
	    .latency_ns = 9,
	    .hops = hops,
	    .nhops = 2,
	    .upstream = &up,
	    .nupstream = 1,
	    .slowest_hop = -1,
	    .matched = true,
	};
	struct dnsreel_report_agg *a;
	struct dnsreel_report_agg_opts o = {.sz = sizeof(o), .keep = 2};
	REQUIRE(dnsreel_report_agg__new(&a, &o) == 0);
	REQUIRE(dnsreel_report_agg__add(a, ctx, &f) == 0);
	struct dnsreel_meta meta = {.format_major = 1};
	snprintf(meta.node, sizeof(meta.node), "%s", name);
	struct dnsreel_report_capture cap = {.path = name, .meta = &meta};
	struct dnsreel_report_page p = {
	    .title = name, .captures = &cap, .ncaptures = 1, .generator = name};
	char *buf = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&buf, &len);
	REQUIRE(out);
	struct dnsreel_html h;
	dnsreel_html__init(&h, out);
	REQUIRE(dnsreel_report_write(&h, &p, a) == 0);
	fclose(out);
	size_t k = count_lt(buf, len);
	free(buf);
	dnsreel_report_agg__free(a);
	return k;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data;
	size_t need = dnsreel_html_escape(NULL, 0, s, size);
	char *full = malloc(need + 1);
	REQUIRE(full);
	REQUIRE(dnsreel_html_escape(full, need + 1, s, size) == need);
	REQUIRE(strlen(full) == need);
	check_escaped(full, need);
	/* a short buffer: a prefix, at an entity's edge */
	size_t cut = size ? (data[0] * 7u) % (need + 1) : 0;
	char *part = malloc(cut + 1);
	REQUIRE(part);
	REQUIRE(dnsreel_html_escape(part, cut + 1, s, size) == need);
	size_t pl = strlen(part);
	REQUIRE(pl <= cut && !memcmp(part, full, pl));
	check_escaped(part, pl);
	free(part);
	free(full);

	char name[256];
	size_t n = strnlen(s, size < 255 ? size : 255);
	memcpy(name, s, n);
	name[n] = 0;
	struct dnsreel_ctx *ctx;
	REQUIRE(dnsreel_ctx__new(&ctx) == 0);
	REQUIRE(page_markup(ctx, name) == page_markup(ctx, "x"));
	dnsreel_ctx__free(ctx);
	return 0;
}
