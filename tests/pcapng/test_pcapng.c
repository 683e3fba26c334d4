/* pcapng/: the writer's file structure, read back block by block (independent of tshark, which
 * replay_cli uses for dissection): one section header, one interface per (capture, netns,
 * ifindex), one enhanced packet per event with the LINUX_SLL2 link type, nanosecond
 * timestamps equal to the events' wall times, every block length consistent. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "dnsreel.h"
#include "pcapng.h"
#include "synth.h"
#include "view.h"

struct run {
	struct dnsreel_pcapng *w;
	uint64_t events;
	int64_t first_wall, last_wall;
	uint64_t pairs[4096]; /* (netns, ifindex) seen */
	size_t npairs;
};

static int on_event(void *arg, uint32_t capture, uint32_t segment, const struct dnsreel_event *ev,
		    int64_t wall_ns)
{
	(void)segment;
	struct run *r = arg;
	if (!r->events)
		r->first_wall = wall_ns;
	r->last_wall = wall_ns;
	r->events++;
	uint64_t k = ev->netns * 1000003u ^ ev->ifindex;
	size_t i = 0;
	while (i < r->npairs && r->pairs[i] != k)
		i++;
	if (i == r->npairs && r->npairs < 4096)
		r->pairs[r->npairs++] = k;
	return dnsreel_pcapng__event(r->w, capture, ev, wall_ns);
}

static uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

int main(void)
{
	char dir[] = "/tmp/dnsreel-test-pcapng-XXXXXX";
	CHECK(mkdtemp(dir) != NULL);
	char cap[600];
	snprintf(cap, sizeof(cap), "%s/c.reel", dir);
	struct dnsreel_synth_opts so = {.seed = 5, .multi_hop = true, .tcp = true};
	struct dnsreel_capw_opts wo = {.sz = sizeof(wo), .block_events = 500, .no_fsync = true};
	CHECK_INT(dnsreel_synth_write_capture(cap, &so, &wo, 3000), 0);

	char *buf = NULL;
	size_t len = 0;
	FILE *mf = open_memstream(&buf, &len);
	struct run r = {0};
	struct dnsreel_merge *rp = NULL;
	const char *paths[1] = {cap};
	char err[512] = "";
	struct dnsreel_merge_opts ro = {
	    .sz = sizeof(ro), .no_decode = true, .event_fn = on_event, .event_arg = &r};
	CHECKF(dnsreel_merge__open(&rp, paths, 1, &ro, err, sizeof(err)) == 0, "%s", err);
	CHECK_INT(dnsreel_pcapng__new(&r.w, mf, dnsreel_merge__ctx(rp), 1, paths), 0);
	CHECK_INT(dnsreel_merge__run(rp), 0);
	CHECK_INT(dnsreel_pcapng__packets(r.w), r.events);
	CHECK_INT(dnsreel_pcapng__close(r.w), 0);
	dnsreel_merge__close(rp);
	fclose(mf);

	/* walk the blocks */
	size_t off = 0, shb = 0, idb = 0, epb = 0, other = 0;
	bool lengths_ok = true, sll2 = true, times_ok = true;
	uint64_t first_ts = 0, last_ts = 0;
	while (off + 12 <= len) {
		uint32_t type = rd32((const uint8_t *)buf + off),
			 blen = rd32((const uint8_t *)buf + off + 4);
		if (blen < 12 || blen % 4 || off + blen > len ||
		    rd32((const uint8_t *)buf + off + blen - 4) != blen) {
			lengths_ok = false;
			break;
		}
		const uint8_t *b = (const uint8_t *)buf + off;
		if (type == 0x0A0D0D0A) {
			shb++;
			CHECK(rd32(b + 8) == 0x1A2B3C4D); /* byte-order magic: little endian */
		} else if (type == 1) {
			idb++;
			sll2 &= (b[8] | b[9] << 8) == 276; /* LINKTYPE_LINUX_SLL2 */
		} else if (type == 6) {
			uint64_t ts = (uint64_t)rd32(b + 12) << 32 | rd32(b + 16);
			if (!epb)
				first_ts = ts;
			times_ok &= ts >= last_ts;
			last_ts = ts;
			epb++;
		} else {
			other++;
		}
		off += blen;
	}
	CHECK(lengths_ok);
	CHECK_INT(off, len);
	CHECK_INT(shb, 1);
	CHECK_INT(idb, r.npairs);
	CHECK(sll2);
	CHECK_INT(epb, r.events);
	CHECK(r.events > 2000);
	CHECK(times_ok);
	/* if_tsresol 9: timestamps are the events' wall times in ns */
	CHECK(first_ts == (uint64_t)r.first_wall && last_ts == (uint64_t)r.last_wall);
	free(buf);
	char rm[700];
	snprintf(rm, sizeof(rm), "rm -rf '%s'", dir);
	CHECK(system(rm) == 0);
	return check_done("test_pcapng");
}
