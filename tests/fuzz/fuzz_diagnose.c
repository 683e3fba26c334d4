/* Invariant: any sequence of decoded messages (whatever bytes a capture holds) and of flows of
 * any shape (answered or not, any rcode and origin, retries, lost anywhere, upstream tries,
 * sockets and lookups reused, time jumping forwards and back) never crashes the diagnosis, and
 * every finding it makes is well formed: known severity, count at least its min, lists within
 * their bounds and NUL-terminated, and the JSON and text forms written whole.
 *
 * Input: records of 6 header bytes [kind][a][b][c][d][len] followed by len bytes (fewer at the
 * end of the input). kind bit 0: a message (bit 1: TCP) or a flow built from it; the message
 * bytes are parsed as the decoder parses them, and give a flow its name, type and rcode. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "diagnose.h"
#include "dnsreel.h"

#define REQUIRE(c)                                                                                 \
	do {                                                                                       \
		if (!(c))                                                                          \
			abort();                                                                   \
	} while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_strs(const char *const *v, size_t n, size_t max)
{
	REQUIRE(n <= max);
	for (size_t i = 0; i < n; i++)
		REQUIRE(v[i] && strlen(v[i]) < 4096);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *caps[] = {"fuzz.reel"};
	struct dnsreel_diag_opts o = {.sz = sizeof(o), .captures = caps, .ncaptures = 1,
				      .storm_min = 3, .hot_min = 3, .slow_min_samples = 2};
	struct dnsreel_diag *d = NULL;
	REQUIRE(dnsreel_diag__new(&d, NULL, &o) == 0);
	int64_t wall = 1764000000LL * 1000000000LL;
	uint64_t seq = 0;
	char last_flow[17] = "0000000000000000";
	size_t off = 0;
	while (off + 6 <= size) {
		const uint8_t *h = data + off;
		size_t len = h[5];
		off += 6;
		if (len > size - off)
			len = size - off;
		const uint8_t *msg = data + off;
		off += len;
		/* time mostly forwards (ms to a minute), sometimes back */
		int64_t step = (int64_t)(h[1] & 0x7f) * ((h[1] & 0x80) ? 1000000000LL : 1000000LL);
		wall += (h[4] & 0x80) ? -step / 4 : step;
		struct dnsreel_rec rec = {.msg = msg, .msg_len = (uint32_t)len, .wall_ns = wall};
		dnsreel_dns_parse(msg, len, &rec.dns);
		struct dnsreel_event ev = {.netns = h[2] & 7, .ip_version = 4,
					   .proto = (h[0] & 2) ? 6 : 17, .src_port = h[3] & 15,
					   .dst_port = 53, .dst_addr = {10, 0, 0, (uint8_t)(h[2] >> 5)}};
		if (!(h[0] & 1)) {
			rec.ev = &ev;
			REQUIRE(dnsreel_diag__rec(d, &rec) == 0);
			continue;
		}
		struct dnsreel_flow f;
		struct dnsreel_flow_hop hops[2];
		struct dnsreel_flow_upstream up[3];
		memset(&f, 0, sizeof(f));
		memset(hops, 0, sizeof(hops));
		memset(up, 0, sizeof(up));
		snprintf(f.flow_id, sizeof(f.flow_id), "%016llx", (unsigned long long)++seq);
		memcpy(f.lookup_id, (h[4] & 1) ? last_flow : f.flow_id, 17);
		memcpy(last_flow, f.lookup_id, 17);
		f.wall_ns = wall;
		f.name = rec.dns.qdcount ? rec.dns.qname : "";
		f.qtype = rec.dns.qtype;
		f.client_role = (h[0] & 4) ? DNSREEL_ROLE_FORWARDER : DNSREEL_ROLE_CLIENT;
		f.client_netns = ev.netns;
		f.query = (h[0] & 8) ? NULL : &ev;
		f.answered = !(h[0] & 16);
		f.tc = (h[0] & 32) != 0;
		f.rcode = f.answered ? rec.dns.rcode : 0;
		f.rcode_origin = (int)(h[4] >> 1 & 3) - 1;
		f.latency_ns = f.answered ? (int64_t)h[3] * 50000000LL : -1;
		f.retries = h[3] >> 6;
		f.has_lost = !f.answered;
		f.lost.response = (h[4] & 8) != 0;
		f.lost.role = (enum dnsreel_flow_role)(h[4] >> 4 & 3);
		f.lost.netns = h[2] & 3;
		hops[0] = (struct dnsreel_flow_hop){.role = f.client_role, .netns = ev.netns,
						    .query = true, .id = rec.dns.id, .wall_ns = wall,
						    .latency_ns = f.latency_ns, .event = f.query};
		hops[1] = (struct dnsreel_flow_hop){.role = DNSREEL_ROLE_FORWARDER, .netns = 9,
						    .query = (h[2] & 8) != 0, .id = rec.dns.id,
						    .wall_ns = wall, .latency_ns = f.latency_ns / 2,
						    .event = (h[2] & 16) ? NULL : &ev};
		f.hops = hops;
		f.nhops = 1 + (h[0] >> 6 & 1);
		f.nupstream = (size_t)(h[2] >> 3 & 3);
		for (size_t i = 0; i < f.nupstream; i++)
			up[i] = (struct dnsreel_flow_upstream){
			    .id = (uint16_t)(rec.dns.id + i), .netns = 9, .wall_ns = wall + (int64_t)i,
			    .answered = !((h[3] >> i) & 1), .rcode = (uint16_t)(h[1] >> (2 * i) & 7),
			    .latency_ns = (int64_t)h[1] * 3000000LL, .query = (h[0] & 128) ? NULL : &ev};
		f.upstream = up;
		f.slowest_hop = -1;
		f.matched = true;
		REQUIRE(dnsreel_diag__flow(d, &f) == 0);
	}
	REQUIRE(dnsreel_diag__counter(d, 0, "lost.ringbuf.cpu0", size & 3) == 0);
	REQUIRE(dnsreel_diag__finish(d) == 0);
	for (size_t i = 0; i < dnsreel_diag__finding_count(d); i++) {
		const struct dnsreel_finding *f = dnsreel_diag__finding_at(d, i);
		REQUIRE(f && f->id && f->subject && f->title && f->fix && f->replay);
		REQUIRE(f->count >= 1 && f->severity <= DNSREEL_SEV_ERROR);
		REQUIRE(!strcmp(f->severity_name, dnsreel_severity_name(f->severity)));
		check_strs(f->pods, f->npods, 8);
		check_strs(f->netns, f->nnetns, 8);
		check_strs(f->servers, f->nservers, 8);
		check_strs(f->flow_ids, f->nflow_ids, 5);
		REQUIRE(f->nnums <= 16);
	}
	REQUIRE(dnsreel_diag__finding_at(d, dnsreel_diag__finding_count(d)) == NULL);
	char *buf = NULL;
	size_t n = 0;
	FILE *m = open_memstream(&buf, &n);
	REQUIRE(m && dnsreel_diag__json(d, m) == 0 && dnsreel_diag__text(d, m) == 0);
	fclose(m);
	REQUIRE(n > 2 && buf[n - 1] == '\n');
	free(buf);
	dnsreel_diag__free(d);
	return 0;
}
