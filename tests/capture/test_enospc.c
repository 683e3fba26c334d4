/* ENOSPC: on a full file system the writer check_failures clearly and the capture stays valid up to the
 * last flush; in ring mode it drops the oldest segments and carries on. Needs root for a small
 * tmpfs; exits 77 (skipped) otherwise.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <unistd.h>

#include "check.h"

#include "capture.h"
#include "dnsreel.h"
#include "synth.h"

static int fill(const char *dir, const struct dnsreel_capw_opts *wo, int *last_err,
		struct dnsreel_capw_stats *st)
{
	struct dnsreel_synth_opts so = {.seed = 5, .multi_hop = true};
	struct dnsreel_synth *s;
	struct dnsreel_capw *w;
	dnsreel_synth__new(&s, &so);
	int err = dnsreel_capw__open(&w, dir, wo);
	if (err) {
		dnsreel_synth__free(s);
		return err;
	}
	dnsreel_capw__set_meta(w, dnsreel_synth__meta(s));
	*last_err = 0;
	for (int i = 0; i < 3000000 && !*last_err; i++) {
		struct dnsreel_event e;
		dnsreel_synth__next(s, &e);
		*last_err = dnsreel_capw__append(w, &e);
	}
	dnsreel_capw__stats(w, st);
	dnsreel_capw__close(w);
	dnsreel_synth__free(s);
	return 0;
}

static void check_readable(const char *dir)
{
	struct dnsreel_capr *r;
	char eb[512];
	int err = dnsreel_capr__open(&r, dir, NULL, eb, sizeof(eb));
	CHECKF(err == 0, "open after ENOSPC: %s", eb);
	if (err)
		return;
	size_t bad = 0;
	for (size_t i = 0; i < dnsreel_capr__frame_count(r); i++) {
		struct dnsreel_block b;
		if (dnsreel_capr__read_frame(r, i, &b, eb, sizeof(eb)))
			bad++;
		else
			dnsreel_block__release(&b);
	}
	CHECKF(dnsreel_capr__frame_count(r) > 0, "no frames survived");
	CHECKF(bad == 0, "%zu frames unreadable", bad);
	dnsreel_capr__close(r);
	struct dnsreel_verify_opts vo = {.sz = sizeof(vo)};
	int pr = dnsreel_capture_verify(dir, &vo);
	CHECKF(pr == 0, "verify after ENOSPC: %d problems", pr);
}

int main(void)
{
	if (geteuid() != 0) {
		printf("SKIP: ENOSPC test needs root to mount a small tmpfs\n");
		return 77;
	}
	char mp[] = "/tmp/dnsreel-enospc-XXXXXX";
	if (!mkdtemp(mp)) {
		perror("mkdtemp");
		return 1;
	}
	if (mount("tmpfs", mp, "tmpfs", 0, "size=3m")) {
		printf("SKIP: cannot mount tmpfs: %s\n", strerror(errno));
		rmdir(mp);
		return 77;
	}
	char dir[600];
	int last = 0;
	struct dnsreel_capw_stats st;
	char web[512] = "";
	struct dnsreel_capw_opts wo = {
	    .sz = sizeof(wo), .segment_bytes = 256 << 10, .errbuf = web, .errlen = sizeof(web)};
	snprintf(dir, sizeof(dir), "%s/full.reel", mp);
	CHECKF(fill(dir, &wo, &last, &st) == 0, "open");
	CHECKF(last == -ENOSPC, "expected ENOSPC, got %d (%s)", last, dnsreel_strerror(last));
	/* the refused event is counted, and the writer says which file failed and why */
	CHECK_INT(st.events_lost, 1);
	CHECKF(strstr(web, "full.reel/") && strstr(web, "No space left"), "writer error: %s", web);
	check_readable(dir);

	/* ring mode: the full file system makes it drop old segments instead of failing */
	char cmd[700];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		check_failures++;
	snprintf(dir, sizeof(dir), "%s/ring.reel", mp);
	struct dnsreel_capw_opts wr = {
	    .sz = sizeof(wr), .segment_bytes = 256 << 10, .max_bytes = 1ull << 40};
	CHECKF(fill(dir, &wr, &last, &st) == 0, "open ring");
	CHECKF(last == 0, "ring mode still failed: %s (segments %llu dropped %llu disk %llu)",
	      dnsreel_strerror(last), (unsigned long long)st.segments,
	      (unsigned long long)st.segments_dropped, (unsigned long long)st.bytes_disk);
	CHECKF(st.segments_dropped > 0, "ring mode dropped nothing");
	check_readable(dir);

	if (umount2(mp, MNT_DETACH))
		perror("umount");
	rmdir(mp);
	if (check_failures) {
		fprintf(stderr, "%d check(s) failed\n", check_failures);
		return 1;
	}
	printf("enospc: all checks passed\n");
	return 0;
}
