/* Unit tests of the readers on hostile input: block bodies with crafted event counts and
 * header times, and the checked boot->wall time arithmetic.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"

#include "capture.h"
#include "capture_int.h"
#include "dnsreel.h"
#include "synth.h"

/* A real two-event block body from the encoder (event times 0 and 1000). */
static void two_event_body(struct dr_buf *body)
{
	static const uint8_t q[] = {0x12, 0x34, 1, 0,	0, 1, 0, 0, 0, 0,
				    0,	  0,	1, 'a', 0, 0, 1, 0, 1};
	struct dnsreel_event ev[2];
	memset(ev, 0, sizeof(ev));
	for (int i = 0; i < 2; i++) {
		ev[i].ts_ns = i * 1000;
		ev[i].netns = 4026531840u;
		ev[i].ip_version = 4;
		ev[i].proto = 17;
		ev[i].src_port = 5353;
		ev[i].dst_port = 53;
		ev[i].payload = q;
		ev[i].cap_len = ev[i].orig_len = sizeof(q);
	}
	struct dr_enc *e;
	CHECK(dr_enc_new(&e) == 0);
	CHECK(dr_enc_block(e, ev, 2, body) == 0);
	dr_enc_free(e);
}

static void test_block_times(void)
{
	struct dr_buf body = {0};
	two_event_body(&body);
	struct dnsreel_event *ev;
	uint8_t *arena;
	CHECK_INT(dr_dec_block(body.p, body.len, 2, 5, &ev, &arena), 0);
	CHECK_INT(ev[1].ts_ns, 1005);
	free(ev);
	free(arena);
	/* the second event would land past INT64_MAX: damage, not signed overflow (UBSan) */
	CHECK_INT(dr_dec_block(body.p, body.len, 2, INT64_MAX - 5, &ev, &arena), DNSREEL_E_CORRUPT);
	CHECK_INT(dr_dec_block(body.p, body.len, 2, INT64_MIN, &ev, &arena), 0);
	if (ev)
		CHECK_INT(ev[1].ts_ns, INT64_MIN + 1000);
	free(ev);
	free(arena);
	dr_buf_free(&body);
}

/* A block header claiming a million events over a tiny body is refused before anything is
 * allocated for a million events: run with the address space capped far below that. */
static void test_block_count(void)
{
	struct dr_buf body = {0};
	two_event_body(&body);
	struct dnsreel_event *ev;
	uint8_t *arena;
	CHECK_INT(dr_dec_block(body.p, body.len, 3, 0, &ev, &arena), DNSREEL_E_CORRUPT);
	CHECK_INT(dr_dec_block(body.p, body.len, 1, 0, &ev, &arena), DNSREEL_E_CORRUPT);
#if !defined(__SANITIZE_ADDRESS__) && !defined(__SANITIZE_UNDEFINED__)
	pid_t pid = fork();
	if (pid == 0) {
		struct rlimit rl = {64u << 20, 64u << 20};
		setrlimit(RLIMIT_AS, &rl);
		int err = dr_dec_block(body.p, body.len, DR_MAX_BLOCK_EVENTS, 0, &ev, &arena);
		_exit(err == DNSREEL_E_CORRUPT ? 0 : err == -ENOMEM ? 2 : 3);
	}
	int status = 0;
	waitpid(pid, &status, 0);
	CHECKF(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	       "1e6 events from a 2-event body: child status %d (2 = allocated first)", status);
#endif
	dr_buf_free(&body);
}

struct msgs {
	char text[64][600];
	int n;
};

static void keep(void *ctx, const char *msg)
{
	struct msgs *m = ctx;
	if (m->n < 64)
		snprintf(m->text[m->n], sizeof(m->text[0]), "%s", msg);
	m->n++;
}

static uint64_t rng = 0x9e3779b97f4a7c15ull;
static uint64_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

/* The file scanner reads a segment item by item instead of whole: on every damage (flips,
 * cuts, foreign skippable frames, garbage runs) it must give the catalog and the problems the
 * in-memory scanner gives for the same bytes. */
static void test_scan_equivalence(void)
{
	char dir[] = "/tmp/dnsreel-untrusted-XXXXXX";
	CHECK(mkdtemp(dir) != NULL);
	char cap[128], seg[160];
	snprintf(cap, sizeof(cap), "%s/a.reel", dir);
	snprintf(seg, sizeof(seg), "%s/seg/000001.zst", cap);
	struct dnsreel_synth_opts so = {.seed = 3, .multi_hop = true};
	struct dnsreel_capw_opts wo = {.sz = sizeof(wo), .block_events = 200, .no_fsync = true};
	CHECK_INT(dnsreel_synth_write_capture(cap, &so, &wo, 3000), 0);
	uint8_t *orig;
	size_t olen;
	CHECK_INT(dr_read_file(seg, &orig, &olen), 0);
	int problems = 0, torn = 0, foreign = 0;
	for (int round = 0; round < 300; round++) {
		struct dr_buf b = {0};
		size_t cut = round % 3 == 0 ? (size_t)(rnd() % olen) : olen;
		dr_put(&b, orig, cut);
		for (int k = 0, nf = (int)(rnd() % 4); k < nf && b.len; k++)
			b.p[rnd() % b.len] ^= (uint8_t)(1u << (rnd() % 8));
		if (round % 5 == 1) {
			/* a foreign skippable frame, possibly claiming more than the file holds */
			uint8_t f[16] = {0x50, 0x2A, 0x4D, 0x18};
			dr_le32(f + 4, round % 10 == 1 ? 8 : 0x7fffffff);
			dr_put(&b, f, sizeof(f));
			dr_put(&b, orig, olen / 3);
		}
		if (round % 7 == 2)
			for (int k = 0; k < 100000; k++)
				dr_put8(&b, (uint8_t)rnd());
		FILE *fp = fopen(seg, "wb");
		CHECK(fp && fwrite(b.p, 1, b.len, fp) == b.len);
		if (fp)
			fclose(fp);
		struct dr_catalog cf, cb;
		memset(&cf, 0, sizeof(cf));
		memset(&cb, 0, sizeof(cb));
		struct msgs mf = {.n = 0}, mb = {.n = 0};
		int rf = dr_scan_capture(cap, &cf, keep, &mf);
		int rb = dr_scan_segment_buf(b.p, b.len, 1, "seg/000001.zst", &cb, NULL, keep, &mb);
		dr_catalog_sort_frames(&cb);
		CHECKF(rf == rb, "round %d: %d vs %d problems", round, rf, rb);
		problems += rf > 0 ? rf : 0;
		torn += cf.nsegs && cf.segs[0].torn;
		for (int i = 0; i < mf.n && i < 64; i++)
			foreign += strstr(mf.text[i], "foreign") != NULL;
		CHECK_INT(cf.nframes, cb.nframes);
		for (size_t i = 0; i < cf.nframes && i < cb.nframes; i++)
			CHECK(cf.frames[i].fi.offset == cb.frames[i].fi.offset &&
			      cf.frames[i].fi.events == cb.frames[i].fi.events);
		CHECK(cf.nsegs == 1 && cb.nsegs == 1 && cf.segs[0].torn == cb.segs[0].torn &&
		      cf.segs[0].torn_at == cb.segs[0].torn_at);
		for (int i = 0; i < mf.n && i < mb.n && i < 64; i++)
			CHECKF(!strcmp(mf.text[i], mb.text[i]), "round %d: '%s' vs '%s'", round,
			       mf.text[i], mb.text[i]);
		dr_catalog_free(&cf);
		dr_catalog_free(&cb);
		dr_buf_free(&b);
	}
	/* the damage reached every path: problems, torn tails, foreign frames stepped over */
	CHECKF(problems > 300 && torn > 50 && foreign > 10, "problems %d, torn %d, foreign %d",
	       problems, torn, foreign);
	free(orig);
	char cmd[256];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	CHECK(system(cmd) == 0);
}

static void put_events(struct dnsreel_capw *w, int n, int64_t t0)
{
	static const uint8_t q[] = {0x12, 0x34, 1, 0,	0, 1, 0, 0, 0, 0,
				    0,	  0,	1, 'a', 0, 0, 1, 0, 1};
	for (int i = 0; i < n; i++) {
		struct dnsreel_event ev;
		memset(&ev, 0, sizeof(ev));
		ev.ts_ns = t0 + i;
		ev.ip_version = 4;
		ev.proto = 17;
		ev.payload = q;
		ev.cap_len = ev.orig_len = sizeof(q);
		CHECK_INT(dnsreel_capw__append(w, &ev), 0);
	}
}

/* Two writers on one path: one wins, the other gets -EBUSY with "in use" and changes
 * nothing; started at once (8 processes), exactly one records and the capture verifies. */
static void test_writer_lock(void)
{
	char dir[] = "/tmp/dnsreel-untrusted-XXXXXX";
	CHECK(mkdtemp(dir) != NULL);
	char cap[128];
	snprintf(cap, sizeof(cap), "%s/a.reel", dir);
	char eb[256] = "";
	struct dnsreel_capw_opts wo = {
	    .sz = sizeof(wo), .no_fsync = true, .errbuf = eb, .errlen = sizeof(eb)};
	struct dnsreel_capw *w1, *w2;
	CHECK_INT(dnsreel_capw__open(&w1, cap, &wo), 0);
	CHECK_INT(dnsreel_capw__open(&w2, cap, &wo), -EBUSY);
	CHECKF(strstr(eb, "in use") != NULL, "%s", eb);
	/* nor may verify --reindex replace the index under it */
	struct dnsreel_verify_opts ro = {.sz = sizeof(ro), .reindex = true};
	CHECK_INT(dnsreel_capture_verify(cap, &ro), -EBUSY);
	put_events(w1, 10, 1000);
	CHECK_INT(dnsreel_capw__close(w1), 0);
	CHECK_INT(dnsreel_capture_verify(cap, NULL), 0);
	eb[0] = 0;
	CHECK_INT(dnsreel_capw__open(&w2, cap, &wo), -EEXIST);
	CHECKF(strstr(eb, "not empty") != NULL, "%s", eb);

	for (int round = 0; round < 10; round++) {
		snprintf(cap, sizeof(cap), "%s/r%d.reel", dir, round);
		int pipefd[2];
		CHECK(pipe(pipefd) == 0);
		pid_t kids[8];
		for (int k = 0; k < 8; k++) {
			kids[k] = fork();
			if (kids[k] == 0) {
				char c;
				close(pipefd[1]);
				if (read(pipefd[0], &c, 1) < 0)
					_exit(9);
				struct dnsreel_capw *w;
				int err = dnsreel_capw__open(&w, cap, &wo);
				if (err)
					_exit(err == -EBUSY ? 1 : err == -EEXIST ? 2 : 3);
				put_events(w, 100, 1000);
				_exit(dnsreel_capw__close(w) ? 4 : 0);
			}
		}
		close(pipefd[0]);
		close(pipefd[1]); /* all start at once */
		int won = 0, other = 0;
		for (int k = 0; k < 8; k++) {
			int st = 0;
			waitpid(kids[k], &st, 0);
			if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
				won++;
			else if (!WIFEXITED(st) || WEXITSTATUS(st) > 2)
				other++;
		}
		CHECKF(won == 1 && other == 0, "round %d: %d writers won, %d failed oddly", round,
		       won, other);
		CHECK_INT(dnsreel_capture_verify(cap, NULL), 0);
	}
	char cmd[256];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	CHECK(system(cmd) == 0);
}

/* While recording, index.sqlite alone (copied without its -wal, as a careless copy or read-only
 * media gets it) already lists every flushed frame. */
static void test_writer_checkpoint(void)
{
	char dir[] = "/tmp/dnsreel-untrusted-XXXXXX";
	CHECK(mkdtemp(dir) != NULL);
	char cap[128], copy[160], cmd[1024];
	snprintf(cap, sizeof(cap), "%s/a.reel", dir);
	snprintf(copy, sizeof(copy), "%s/copy.reel", dir);
	struct dnsreel_capw_opts wo = {.sz = sizeof(wo), .no_fsync = true, .block_events = 10};
	struct dnsreel_capw *w;
	CHECK_INT(dnsreel_capw__open(&w, cap, &wo), 0);
	put_events(w, 50, 1000);
	CHECK_INT(dnsreel_capw__flush(w), 0);
	snprintf(cmd, sizeof(cmd), "mkdir %s && cp %s/index.sqlite %s/ && cp -R %s/seg %s/", copy,
		 cap, copy, cap, copy);
	CHECK(system(cmd) == 0);
	struct dnsreel_capr *r;
	char eb[512];
	CHECK_INT(dnsreel_capr__open(&r, copy, NULL, eb, sizeof(eb)), 0);
	if (r) {
		CHECK_INT(dnsreel_capr__frame_count(r), 5);
		CHECK(dnsreel_capr__problem(r) == NULL);
		dnsreel_capr__close(r);
	}
	CHECK_INT(dnsreel_capw__close(w), 0);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	CHECK(system(cmd) == 0);
}

int main(void)
{
	test_writer_lock();
	test_writer_checkpoint();
	test_scan_equivalence();
	test_block_times();
	test_block_count();
	return check_failures ? 1 : 0;
}
