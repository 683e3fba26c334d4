/* Merged captures of synthesized node captures: parts copied byte for byte and kept apart (the
 * same netns inode on two nodes stays two netns), order of inputs irrelevant, duplicates merged
 * once or refused, bad inputs refused with nothing left behind, time warnings stored, the
 * manifest checked by verify, and readers (the view's merge) seeing every event once.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "capture.h"
#include "check.h"
#include "dnsreel.h"
#include "synth.h"
#include "view.h"

static char tmproot[256];

static int rm_cb(const char *p, const struct stat *sb, int flag, struct FTW *f)
{
	(void)sb;
	(void)flag;
	(void)f;
	return remove(p);
}

static void rm_rf(const char *p)
{
	nftw(p, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
}

static const char *P(const char *name)
{
	static char buf[8][600];
	static int k;
	k = (k + 1) % 8;
	snprintf(buf[k], sizeof(buf[k]), "%s/%s", tmproot, name);
	return buf[k];
}

/* A node's capture: synthetic traffic under node's name and its own capture id, its wall
 * clock shifted by shift ns. */
static void write_node(const char *dir, uint64_t seed, const char *node, const char *id,
		       int64_t shift, uint64_t n)
{
	struct dnsreel_synth_opts so = {.seed = seed, .multi_hop = true};
	struct dnsreel_capw_opts wo = {.sz = sizeof(wo), .no_fsync = true, .block_events = 1000};
	struct dnsreel_synth *s;
	struct dnsreel_capw *w;
	CHECK_INT(dnsreel_synth__new(&s, &so), 0);
	CHECK_INT(dnsreel_capw__open(&w, dir, &wo), 0);
	struct dnsreel_meta m = *dnsreel_synth__meta(s);
	snprintf(m.node, sizeof(m.node), "%s", node);
	snprintf(m.capture_id, sizeof(m.capture_id), "%s", id);
	m.boot_to_wall_ns += shift;
	m.start_wall_ns += shift;
	CHECK_INT(dnsreel_capw__set_meta(w, &m), 0);
	for (size_t i = 0; i < dnsreel_synth__netns_count(s); i++)
		CHECK_INT(dnsreel_capw__put_netns(w, dnsreel_synth__netns_at(s, i)), 0);
	for (uint64_t i = 0; i < n; i++) {
		struct dnsreel_event ev;
		CHECK_INT(dnsreel_synth__next(s, &ev), 0);
		CHECK_INT(dnsreel_capw__append(w, &ev), 0);
	}
	CHECK_INT(dnsreel_capw__close(w), 0);
	dnsreel_synth__free(s);
}

struct wl {
	int n;
	char text[4][1024];
};

static void on_warn(void *ctx, const char *msg)
{
	struct wl *w = ctx;
	if (w->n < 4)
		snprintf(w->text[w->n], sizeof(w->text[0]), "%s", msg);
	w->n++;
}

struct pl {
	char all[4096];
};

static void on_problem(void *ctx, const char *msg)
{
	struct pl *p = ctx;
	size_t n = strlen(p->all);
	snprintf(p->all + n, sizeof(p->all) - n, "%s\n", msg);
}

static int merge(const char *out, const char **in, size_t n, struct dnsreel_capture_merge_stats *st,
		 struct wl *w, char *eb, size_t el)
{
	struct dnsreel_capture_merge_opts o = {
	    .sz = sizeof(o), .merger = "test", .warn = on_warn, .warn_ctx = w, .no_fsync = true};
	return dnsreel_capture_merge(out, in, n, &o, st, eb, el);
}

/* Nothing but the named entries in tmproot: a failed merge leaves no temporary directory. */
static int leftovers(void)
{
	DIR *d = opendir(tmproot);
	struct dirent *e;
	int n = 0;
	while (d && (e = readdir(d)))
		n += strstr(e->d_name, ".merge-") != NULL;
	if (d)
		closedir(d);
	return n;
}

struct count {
	uint64_t events;
	uint64_t per_cap[4];
	int64_t last_wall;
	bool ordered;
};

static int count_ev(void *arg, uint32_t capture, uint32_t segment, const struct dnsreel_event *ev,
		    int64_t wall)
{
	(void)segment;
	(void)ev;
	struct count *c = arg;
	c->events++;
	if (capture < 4)
		c->per_cap[capture]++;
	if (wall < c->last_wall)
		c->ordered = false;
	c->last_wall = wall;
	return 0;
}

static void replay_count(const char *const *paths, size_t n, struct count *c, size_t *ncaps,
			 const struct dnsreel_ctx **ctxp, struct dnsreel_merge **mp)
{
	memset(c, 0, sizeof(*c));
	c->ordered = true;
	struct dnsreel_merge_opts o = {
	    .sz = sizeof(o), .no_decode = true, .event_fn = count_ev, .event_arg = c};
	char eb[512];
	struct dnsreel_merge *m;
	int err = dnsreel_merge__open(&m, paths, n, &o, eb, sizeof(eb));
	CHECKF(err == 0, "%s", eb);
	if (err)
		return;
	CHECK_INT(dnsreel_merge__run(m), 0);
	*ncaps = dnsreel_merge__capture_count(m);
	if (ctxp) {
		*ctxp = dnsreel_merge__ctx(m);
		*mp = m;
	} else
		dnsreel_merge__close(m);
}

static void test_basic(void)
{
	const char *A = P("a.reel"), *B = P("b.reel"), *C = P("c.reel"), *D = P("d.reel");
	write_node(A, 1, "node-a", "11111111-aaaa-4aaa-8aaa-000000000001", 0, 5000);
	write_node(B, 2, "node-b", "22222222-bbbb-4bbb-8bbb-000000000002", 0, 4000);
	struct dnsreel_capture_merge_stats st;
	struct wl w = {0};
	char eb[1200];
	/* B before A: parts still come out in node order */
	const char *in[] = {B, A};
	CHECKF(merge(C, in, 2, &st, &w, eb, sizeof(eb)) == 0, "%s", eb);
	CHECK_INT(st.parts, 2);
	CHECK_INT(st.inputs, 2);
	CHECK_INT(st.duplicates, 0);
	CHECK_INT(st.events, 9000);
	CHECK_INT(w.n, 0);
	struct dnsreel_merged *mg = NULL;
	CHECK_INT(dnsreel_merged__load(C, &mg, eb, sizeof(eb)), 1);
	if (mg) {
		CHECK_INT(mg->ninputs, 2);
		CHECK_STR(mg->inputs[0].part, "001-node-a.reel");
		CHECK_STR(mg->inputs[1].part, "002-node-b.reel");
		CHECK_STR(mg->inputs[0].capture_id, "11111111-aaaa-4aaa-8aaa-000000000001");
		CHECK_STR(mg->inputs[1].source, B);
		CHECK_INT(mg->inputs[0].events, 5000);
		CHECK_INT(mg->format_major, DNSREEL_FORMAT_MAJOR);
		CHECK_INT(mg->format_minor, DNSREEL_FORMAT_MINOR);
		CHECK(strlen(mg->capture_id) == 36);
		CHECK(strcmp(mg->capture_id, mg->inputs[0].capture_id));
		CHECK_STR(mg->merger, "test");
	}
	/* a plain capture is not a merged one */
	struct dnsreel_merged *none = (void *)1;
	CHECK_INT(dnsreel_merged__load(A, &none, eb, sizeof(eb)), 0);
	CHECK(none == NULL);

	/* parts are the inputs byte for byte */
	char x[800], y[800];
	snprintf(x, sizeof(x), "%s/seg/000001.zst", A);
	snprintf(y, sizeof(y), "%s/parts/001-node-a.reel/seg/000001.zst", C);
	size_t lx, ly;
	unsigned char *bx = check_read_file(x, &lx), *by = check_read_file(y, &ly);
	CHECK(bx && by && lx == ly && !memcmp(bx, by, lx));
	free(bx);
	free(by);

	/* the other order gives the same parts */
	const char *in2[] = {A, B};
	CHECKF(merge(D, in2, 2, &st, &w, eb, sizeof(eb)) == 0, "%s", eb);
	struct dnsreel_merged *mg2 = NULL;
	CHECK_INT(dnsreel_merged__load(D, &mg2, eb, sizeof(eb)), 1);
	if (mg && mg2) {
		for (size_t i = 0; i < 2; i++) {
			CHECK_STR(mg2->inputs[i].part, mg->inputs[i].part);
			CHECK_STR(mg2->inputs[i].capture_id, mg->inputs[i].capture_id);
		}
		CHECK(strcmp(mg->capture_id,
			     mg2->capture_id)); /* each merge is a capture of its own */
	}
	dnsreel_merged__free(mg2);

	/* readers: the merged capture replays as its parts, every event once, in time order,
	 * the same as giving both inputs */
	struct count c1, c2;
	size_t n1 = 0, n2 = 0;
	const struct dnsreel_ctx *ctx = NULL;
	struct dnsreel_merge *m = NULL;
	const char *cc[] = {C};
	replay_count(cc, 1, &c1, &n1, &ctx, &m);
	const char *ab[] = {A, B};
	replay_count(ab, 2, &c2, &n2, NULL, NULL);
	CHECK_INT(n1, 2);
	CHECK_INT(c1.events, 9000);
	CHECK(c1.ordered);
	CHECK_INT(c1.per_cap[0], 5000);
	CHECK_INT(c1.per_cap[1], 4000);
	CHECK_INT(c2.events, c1.events);
	CHECK_INT(c2.last_wall, c1.last_wall);
	/* the same netns inode on both nodes stays two netns, each with its node */
	if (ctx) {
		CHECK_STR(dnsreel_ctx__meta(ctx, 0)->node, "node-a");
		CHECK_STR(dnsreel_ctx__meta(ctx, 1)->node, "node-b");
		struct dnsreel_capr *r0 = dnsreel_merge__capr(m, 0);
		const struct dnsreel_netns_ctx *ns = dnsreel_capr__netns_at(r0, 0);
		CHECK(ns && dnsreel_ctx__netns(ctx, 0, ns->netns) &&
		      dnsreel_ctx__netns(ctx, 1, ns->netns) &&
		      dnsreel_ctx__netns(ctx, 0, ns->netns) !=
			  dnsreel_ctx__netns(ctx, 1, ns->netns));
		dnsreel_merge__close(m);
	}

	/* verify: clean, then a stray part and a changed part are named */
	CHECK_INT(dnsreel_capture_verify(C, NULL), 0);
	char stray[800];
	snprintf(stray, sizeof(stray), "%s/parts/009-x.reel", D);
	mkdir(stray, 0755);
	CHECK(dnsreel_capture_verify(D, NULL) >= 1);
	rm_rf(stray);
	CHECK_INT(dnsreel_capture_verify(D, NULL), 0);
	/* custody: each input's root hash is recorded, and a part changed since is named */
	struct dnsreel_custody *cu = NULL;
	CHECK_INT(dnsreel_custody_compute(A, &cu, eb, sizeof(eb)), 0);
	if (cu && mg) {
		CHECK(cu->root[0] != 0);
		CHECK_STR(mg->inputs[0].root_hash, cu->root);
	}
	dnsreel_custody_free(cu);
	struct pl pr = {0};
	struct dnsreel_verify_opts vo = {.sz = sizeof(vo), .problem = on_problem, .ctx = &pr};
	snprintf(y, sizeof(y), "%s/parts/001-node-a.reel/seg/000001.zst", D);
	int fd = open(y, O_WRONLY);
	CHECK(fd >= 0 && pwrite(fd, "\x00", 1, 100) == 1);
	close(fd);
	CHECK(dnsreel_capture_verify(D, &vo) >= 1);
	CHECKF(strstr(pr.all, "parts/001-node-a.reel: root hash") &&
		   strstr(pr.all, "changed after the merge"),
	       "%s", pr.all);
	/* a capture reader opening a merged capture directly is told what it is */
	struct dnsreel_capr *r;
	CHECK_INT(dnsreel_capr__open(&r, C, NULL, eb, sizeof(eb)), DNSREEL_E_NOTCAPTURE);
	CHECKF(strstr(eb, "merged capture"), "%s", eb);

	/* a merged capture as input: its parts are taken one by one, duplicates once */
	const char *E = P("e.reel"), *F = P("f.reel");
	write_node(E, 3, "node-c", "33333333-cccc-4ccc-8ccc-000000000003", 0, 3000);
	const char *in3[] = {E, C, A};
	w.n = 0;
	CHECKF(merge(F, in3, 3, &st, &w, eb, sizeof(eb)) == 0, "%s", eb);
	CHECK_INT(st.parts, 3);
	CHECK_INT(st.inputs, 4);
	CHECK_INT(st.duplicates, 1);
	CHECK_INT(st.events, 12000);
	CHECK_INT(w.n, 1);
	CHECKF(strstr(w.text[0], "the same capture as"), "%s", w.text[0]);
	struct dnsreel_merged *mf = NULL;
	CHECK_INT(dnsreel_merged__load(F, &mf, eb, sizeof(eb)), 1);
	if (mf && mg) {
		CHECK_STR(mf->inputs[2].node, "node-c");
		CHECK_STR(mf->inputs[1].via, mg->capture_id);
		CHECK_INT(mf->nwarnings, 1);
	}
	dnsreel_merged__free(mf);
	char **xp;
	size_t nx;
	const char *fc[] = {F, A};
	CHECK_INT(dnsreel_capture_expand(fc, 2, &xp, &nx, eb, sizeof(eb)), 0);
	CHECK_INT(nx, 4);
	if (nx == 4) {
		CHECK(strstr(xp[0], "/parts/001-node-a.reel") != NULL);
		CHECK_STR(xp[3], A);
	}
	dnsreel_capture_expand_free(xp, nx);
	dnsreel_merged__free(mg);
	CHECK_INT(leftovers(), 0);
}

static void test_duplicates_and_errors(void)
{
	const char *A = P("da.reel"), *A2 = P("da-copy.reel"), *A3 = P("da-other.reel");
	const char *O = P("dout.reel");
	write_node(A, 7, "node-a", "44444444-aaaa-4aaa-8aaa-000000000004", 0, 3000);
	char cmd[2000], eb[1200];
	struct dnsreel_capture_merge_stats st;
	struct wl w = {0};

	/* the same capture twice: once */
	const char *self[] = {A, A};
	CHECKF(merge(O, self, 2, &st, &w, eb, sizeof(eb)) == 0, "%s", eb);
	CHECK_INT(st.parts, 1);
	CHECK_INT(st.duplicates, 1);
	CHECK_INT(st.events, 3000);
	rm_rf(O);

	/* an earlier copy (its segment a prefix of the later one's): the later one is kept */
	snprintf(cmd, sizeof(cmd), "cp -r %s %s", A, A2);
	CHECK_INT(system(cmd), 0);
	char seg[800];
	snprintf(seg, sizeof(seg), "%s/seg/000001.zst", A2);
	struct stat sb;
	CHECK_INT(stat(seg, &sb), 0);
	CHECK_INT(truncate(seg, sb.st_size - 100), 0);
	struct dnsreel_verify_opts vo = {.sz = sizeof(vo), .reindex = true};
	CHECK(dnsreel_capture_verify(A2, &vo) >= 0);
	const char *pre[] = {A2, A};
	w.n = 0;
	CHECKF(merge(O, pre, 2, &st, &w, eb, sizeof(eb)) == 0, "%s", eb);
	CHECK_INT(st.parts, 1);
	CHECK_INT(st.duplicates, 1);
	CHECK_INT(st.events, 3000);
	CHECKF(w.n >= 1 && strstr(w.text[0], A2) == w.text[0], "%s", w.text[0]);
	rm_rf(O);

	/* two copies of one capture that differ: refused, nothing written */
	snprintf(cmd, sizeof(cmd), "cp -r %s %s", A, A3);
	CHECK_INT(system(cmd), 0);
	snprintf(seg, sizeof(seg), "%s/seg/000001.zst", A3);
	int fd = open(seg, O_WRONLY);
	CHECK(fd >= 0 && pwrite(fd, "\xff", 1, sb.st_size - 50) == 1);
	close(fd);
	const char *diff[] = {A, A3};
	CHECK_INT(merge(O, diff, 2, &st, &w, eb, sizeof(eb)), DNSREEL_E_ARG);
	CHECKF(strstr(eb, "each holds events the other lacks"), "%s", eb);
	CHECK(access(O, F_OK) != 0);

	/* output exists: refused, left as it was */
	const char *one[] = {A};
	CHECK_INT(merge(A2, one, 1, &st, &w, eb, sizeof(eb)), -EEXIST);
	CHECKF(strstr(eb, "exists"), "%s", eb);

	/* not a capture */
	const char *nc[] = {A, tmproot};
	int err = merge(O, nc, 2, &st, &w, eb, sizeof(eb));
	CHECKF(err == DNSREEL_E_NOTCAPTURE, "%d %s", err, eb);
	const char *missing[] = {P("nope.reel")};
	CHECK_INT(merge(O, missing, 1, &st, &w, eb, sizeof(eb)), -ENOENT);

	/* a damaged index: refused with what to do */
	const char *Dm = P("damaged.reel");
	snprintf(cmd, sizeof(cmd), "cp -r %s %s && printf garbage > %s/index.sqlite", A, Dm, Dm);
	CHECK_INT(system(cmd), 0);
	const char *dm[] = {A, Dm};
	err = merge(O, dm, 2, &st, &w, eb, sizeof(eb));
	CHECKF(err == DNSREEL_E_CORRUPT && strstr(eb, "verify --reindex"), "%d %s", err, eb);

	/* a link inside an input: refused (merge follows no links) */
	const char *L = P("link.reel");
	snprintf(cmd, sizeof(cmd), "cp -r %s %s && ln -s /etc/passwd %s/notes", A, L, L);
	CHECK_INT(system(cmd), 0);
	const char *ln[] = {L};
	err = merge(O, ln, 1, &st, &w, eb, sizeof(eb));
	CHECKF(err == DNSREEL_E_ARG && strstr(eb, "not a regular file"), "%d %s", err, eb);
	CHECK(access(O, F_OK) != 0);
	CHECK_INT(leftovers(), 0);
}

static void test_time_warnings(void)
{
	const char *A = P("ta.reel"), *B = P("tb.reel"), *O = P("tout.reel");
	write_node(A, 1, "node-a", "55555555-aaaa-4aaa-8aaa-000000000005", 0, 3000);
	/* node-b starts 30 s after node-a ends: no overlap at all */
	write_node(B, 2, "node-b", "66666666-bbbb-4bbb-8bbb-000000000006", 30000000000LL, 3000);
	char eb[1200];
	struct dnsreel_capture_merge_stats st;
	struct wl w = {0};
	const char *in[] = {A, B};
	CHECKF(merge(O, in, 2, &st, &w, eb, sizeof(eb)) == 0, "%s", eb);
	CHECK_INT(st.warnings, 3);
	CHECK_INT(w.n, 3);
	CHECKF(strstr(w.text[0], "ends 30.") && strstr(w.text[0], "node-a"), "%s", w.text[0]);
	CHECKF(strstr(w.text[2], "do not overlap in time (29.") ||
		   strstr(w.text[2], "do not overlap in time (30."),
	       "%s", w.text[2]);
	struct dnsreel_merged *mg = NULL;
	CHECK_INT(dnsreel_merged__load(O, &mg, eb, sizeof(eb)), 1);
	if (mg) {
		CHECK_INT(mg->nwarnings, 3);
		if (mg->nwarnings == 3)
			CHECK_STR(mg->warnings[2], w.text[2]);
	}
	dnsreel_merged__free(mg);
}

/* One synthetic node split in two: node-a keeps the client pods and the host netns, node-b the
 * forwarder pod (netns fwd), its clock shifted by shift ns. Messages cross the two. */
static void write_split(const char *da, const char *db, uint64_t fwd, int64_t shift, uint64_t n)
{
	struct dnsreel_synth_opts so = {.seed = 9, .multi_hop = true};
	struct dnsreel_capw_opts wo = {.sz = sizeof(wo), .no_fsync = true, .block_events = 1000};
	struct dnsreel_synth *s;
	struct dnsreel_capw *w[2];
	CHECK_INT(dnsreel_synth__new(&s, &so), 0);
	CHECK_INT(dnsreel_capw__open(&w[0], da, &wo), 0);
	CHECK_INT(dnsreel_capw__open(&w[1], db, &wo), 0);
	for (int k = 0; k < 2; k++) {
		struct dnsreel_meta m = *dnsreel_synth__meta(s);
		snprintf(m.node, sizeof(m.node), "node-%c", 'a' + k);
		snprintf(m.capture_id, sizeof(m.capture_id),
			 "88888888-0000-4000-8000-00000000000%d", k);
		m.boot_to_wall_ns += k ? shift : 0;
		CHECK_INT(dnsreel_capw__set_meta(w[k], &m), 0);
	}
	for (size_t i = 0; i < dnsreel_synth__netns_count(s); i++) {
		const struct dnsreel_netns_ctx *ns = dnsreel_synth__netns_at(s, i);
		CHECK_INT(dnsreel_capw__put_netns(w[ns->netns == fwd], ns), 0);
	}
	for (uint64_t i = 0; i < n; i++) {
		struct dnsreel_event ev;
		CHECK_INT(dnsreel_synth__next(s, &ev), 0);
		CHECK_INT(dnsreel_capw__append(w[ev.netns == fwd], &ev), 0);
	}
	CHECK_INT(dnsreel_capw__close(w[0]), 0);
	CHECK_INT(dnsreel_capw__close(w[1]), 0);
	dnsreel_synth__free(s);
}

/* The clocks, from the traffic: in step no warning; node-b 50 ms behind is named, with how much
 * (at least 50 ms less the network delay of a message). */
static void test_clock(void)
{
	struct dnsreel_synth *s;
	struct dnsreel_synth_opts so = {.seed = 9, .multi_hop = true};
	CHECK_INT(dnsreel_synth__new(&s, &so), 0);
	uint64_t fwd = 0;
	for (size_t i = 0; i < dnsreel_synth__netns_count(s); i++)
		if (!strncmp(dnsreel_synth__netns_at(s, i)->k8s_podname, "coredns", 7))
			fwd = dnsreel_synth__netns_at(s, i)->netns;
	dnsreel_synth__free(s);
	CHECK(fwd != 0);
	char eb[1200];
	struct dnsreel_capture_merge_stats st;
	for (int shifted = 0; shifted < 2; shifted++) {
		const char *A = P(shifted ? "ca1.reel" : "ca0.reel");
		const char *B = P(shifted ? "cb1.reel" : "cb0.reel");
		const char *O = P(shifted ? "cout1.reel" : "cout0.reel");
		write_split(A, B, fwd, shifted ? -50000000LL : 0, 20000);
		struct wl w = {0};
		const char *in[] = {A, B};
		CHECKF(merge(O, in, 2, &st, &w, eb, sizeof(eb)) == 0, "%s", eb);
		if (!shifted) {
			CHECKF(w.n == 0, "in step: %s", w.text[0]);
			continue;
		}
		CHECK_INT(w.n, 1);
		double ms = 0;
		const char *p = strstr(w.text[0], "node node-b's clock is at least ");
		CHECKF(p && sscanf(p + 32, "%lf ms behind node node-a's", &ms) == 1, "%s",
		       w.text[0]);
		CHECKF(ms > 45 && ms <= 50, "%s", w.text[0]);
	}
}

/* A damaged manifest: readers refuse it with where to look, never guess. */
static void test_bad_manifest(void)
{
	const char *A = P("ma.reel"), *O = P("mout.reel");
	write_node(A, 1, "node-a", "77777777-aaaa-4aaa-8aaa-000000000007", 0, 500);
	char eb[1200], cmd[1600];
	struct dnsreel_capture_merge_stats st;
	struct wl w = {0};
	const char *in[] = {A};
	CHECKF(merge(O, in, 1, &st, &w, eb, sizeof(eb)) == 0, "%s", eb);
	struct dnsreel_merged *mg;
	const char *sqls[] = {
	    "UPDATE inputs SET dir = '../../etc'",
	    "UPDATE inputs SET dir = '001-missing.reel'",
	    "UPDATE capture_info SET value = 9 WHERE key = 'format_major'",
	    "DELETE FROM inputs",
	    "DROP TABLE inputs",
	    "UPDATE inputs SET events = 'many'",
	};
	int want[] = {DNSREEL_E_INDEX, DNSREEL_E_INDEX, DNSREEL_E_VERSION,
		      DNSREEL_E_INDEX, DNSREEL_E_INDEX, DNSREEL_E_INDEX};
	for (size_t i = 0; i < sizeof(sqls) / sizeof(sqls[0]); i++) {
		const char *X = P("mx.reel");
		rm_rf(X);
		snprintf(cmd, sizeof(cmd), "cp -r %s %s", O, X);
		CHECK_INT(system(cmd), 0);
		sqlite3 *db;
		snprintf(cmd, sizeof(cmd), "%s/index.sqlite", X);
		CHECK_INT(sqlite3_open(cmd, &db), SQLITE_OK);
		CHECK_INT(sqlite3_exec(db, sqls[i], NULL, NULL, NULL), SQLITE_OK);
		sqlite3_close(db);
		int err = dnsreel_merged__load(X, &mg, eb, sizeof(eb));
		CHECKF(err == want[i], "%s: %d %s", sqls[i], err, eb);
		CHECKF(dnsreel_capture_verify(X, NULL) >= 1, "%s", sqls[i]);
	}
	const char *X = P("mx.reel");
	snprintf(cmd, sizeof(cmd), "rm %s/index.sqlite", X);
	CHECK_INT(system(cmd), 0);
	CHECK_INT(dnsreel_merged__load(X, &mg, eb, sizeof(eb)), DNSREEL_E_INDEX);
	CHECKF(strstr(eb, "missing") && strstr(eb, "parts"), "%s", eb);
}

int main(void)
{
	snprintf(tmproot, sizeof(tmproot), "/tmp/dnsreel-merge-XXXXXX");
	if (!mkdtemp(tmproot)) {
		perror("mkdtemp");
		return 1;
	}
	test_basic();
	test_duplicates_and_errors();
	test_time_warnings();
	test_clock();
	test_bad_manifest();
	rm_rf(tmproot);
	return check_done("capture_merge");
}
