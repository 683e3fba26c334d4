/* Unit tests of the view's merge of captures and its printers: merge order across segments and
 * captures with interleaved times, bounded open frames, every filter operator on every field type
 * against a brute-force evaluation, damaged frames (flipped bytes, cut segment), printers' cutting,
 * quoting and field parsing.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <pthread.h>
#include <signal.h>
#include <time.h>
#include <unistd.h>

#include "check.h"

#include "dnsreel.h"
#include "view.h"
#include "synth.h"

static char tmpdir[] = "/tmp/dnsreel-test-replay-XXXXXX";

#define WALL0 1780000000000000000ll

/* A capture of n synthetic events whose boot clock starts at boot0 and whose wall clock starts
 * at wall0: different captures get different boot clocks but overlapping wall times. */
static int write_cap(const char *dir, uint64_t seed, const char *node, int64_t boot0, int64_t wall0,
		     uint64_t n, bool tcp, bool multi_hop)
{
	struct dnsreel_synth_opts so = {.seed = seed,
					.start_ts_ns = boot0,
					.qps = 5000,
					.pods = 6,
					.tcp = tcp,
					.multi_hop = multi_hop};
	struct dnsreel_capw_opts wo = {
	    .sz = sizeof(wo), .block_events = 97, .segment_bytes = 16 * 1024, .no_fsync = true};
	struct dnsreel_synth *s = NULL;
	struct dnsreel_capw *w = NULL;
	int err = dnsreel_synth__new(&s, &so);
	if (err)
		return err;
	err = dnsreel_capw__open(&w, dir, &wo);
	if (err)
		goto out;
	struct dnsreel_meta m = *dnsreel_synth__meta(s);
	snprintf(m.node, sizeof(m.node), "%s", node);
	m.boot_to_wall_ns = wall0 - boot0;
	m.start_wall_ns = wall0;
	if ((err = dnsreel_capw__set_meta(w, &m)))
		goto out;
	for (size_t i = 0; i < dnsreel_synth__netns_count(s); i++)
		if ((err = dnsreel_capw__put_netns(w, dnsreel_synth__netns_at(s, i))))
			goto out;
	for (size_t i = 0; i < dnsreel_synth__service_count(s); i++)
		if ((err = dnsreel_capw__put_service(w, dnsreel_synth__service_at(s, i))))
			goto out;
	for (uint64_t i = 0; i < n; i++) {
		struct dnsreel_event ev;
		if ((err = dnsreel_synth__next(s, &ev)) < 0)
			goto out;
		if ((err = dnsreel_capw__append(w, &ev)))
			goto out;
	}
out:
	if (w) {
		int e2 = dnsreel_capw__close(w);
		if (!err)
			err = e2;
	}
	dnsreel_synth__free(s);
	return err < 0 ? err : 0;
}

/* ---- collecting sinks ------------------------------------------------------------------- */

struct evrec {
	int64_t wall;
	uint16_t id;
	uint32_t cap;
};

struct collect {
	struct evrec *ev;
	size_t nev, capev;
	uint64_t recs;
	/* values of the chosen fields per rec, for brute-force filter checks */
	enum dnsreel_field_id field;
	struct dnsreel_value *vals;
	char **texts;
	size_t nvals, capvals;
	int problems;
	char last_problem[512];
};

static int col_event(void *arg, uint32_t capture, uint32_t segment, const struct dnsreel_event *ev,
		     int64_t wall)
{
	struct collect *c = arg;
	(void)segment;
	if (c->nev == c->capev) {
		c->capev = c->capev ? c->capev * 2 : 1024;
		c->ev = realloc(c->ev, c->capev * sizeof(*c->ev));
	}
	uint16_t id = 0;
	if (ev->proto == 6 && ev->cap_len >= 4)
		id = (uint16_t)(ev->payload[2] << 8 | ev->payload[3]);
	else if (ev->proto != 6 && ev->cap_len >= 2)
		id = (uint16_t)(ev->payload[0] << 8 | ev->payload[1]);
	c->ev[c->nev++] = (struct evrec){wall, id, capture};
	return 0;
}

static int col_rec(void *arg, const struct dnsreel_rec *rec)
{
	struct collect *c = arg;
	c->recs++;
	if (c->nvals == c->capvals) {
		c->capvals = c->capvals ? c->capvals * 2 : 1024;
		c->vals = realloc(c->vals, c->capvals * sizeof(*c->vals));
		c->texts = realloc(c->texts, c->capvals * sizeof(*c->texts));
	}
	char buf[512];
	struct dnsreel_value v;
	memset(&v, 0, sizeof(v));
	dnsreel_rec__value(rec, c->field, &v, buf, sizeof(buf));
	c->texts[c->nvals] = strndup(v.s ? v.s : "", v.s ? (v.len ? v.len : strlen(v.s)) : 0);
	v.s = NULL;
	c->vals[c->nvals++] = v;
	return 0;
}

static void col_problem(void *arg, const char *msg)
{
	struct collect *c = arg;
	c->problems++;
	snprintf(c->last_problem, sizeof(c->last_problem), "%s", msg);
}

static void col_free(struct collect *c)
{
	for (size_t i = 0; i < c->nvals; i++)
		free(c->texts[i]);
	free(c->texts);
	free(c->vals);
	free(c->ev);
	memset(c, 0, sizeof(*c));
}

static int run_replay(const char *const *paths, size_t n, struct dnsreel_filter *f,
		      struct collect *c, struct dnsreel_merge_stats *st)
{
	struct dnsreel_merge_opts o = {.sz = sizeof(o),
				       .filter = f,
				       .problem = col_problem,
				       .problem_ctx = c,
				       .event_fn = col_event,
				       .event_arg = c,
				       .rec_fn = col_rec,
				       .rec_arg = c};
	struct dnsreel_merge *r = NULL;
	char err[512];
	int ret = dnsreel_merge__open(&r, paths, n, &o, err, sizeof(err));
	if (ret) {
		fprintf(stderr, "replay open: %s\n", err);
		return ret;
	}
	ret = dnsreel_merge__run(r);
	if (st)
		dnsreel_merge__stats(r, st);
	dnsreel_merge__close(r);
	return ret;
}

/* ---- merge order ------------------------------------------------------------------------ */

static size_t count_segments(const char *cap)
{
	char p[600];
	snprintf(p, sizeof(p), "%s/seg", cap);
	DIR *d = opendir(p);
	size_t n = 0;
	struct dirent *e;
	while (d && (e = readdir(d)))
		n += strstr(e->d_name, ".zst") != NULL;
	if (d)
		closedir(d);
	return n;
}

static void test_order(char caps[3][512])
{
	const char *paths[3] = {caps[0], caps[1], caps[2]};
	struct collect c = {.field = DNSREEL_F_NAME};
	struct dnsreel_merge_stats st;
	int ret = run_replay(paths, 3, NULL, &c, &st);
	CHECKF(ret == 0, "run: %d", ret);
	CHECKF(count_segments(caps[0]) >= 3, "want several segments, got %zu",
	       count_segments(caps[0]));
	CHECKF(c.nev == 3 * 3000, "events %zu", c.nev);
	CHECKF(st.events_total == c.nev, "total %llu", (unsigned long long)st.events_total);
	CHECKF(c.recs == c.nev, "recs %llu of %zu (all UDP)", (unsigned long long)c.recs, c.nev);
	size_t bad = 0, switches = 0;
	for (size_t i = 1; i < c.nev; i++) {
		const struct evrec *a = &c.ev[i - 1], *b = &c.ev[i];
		bool ok =
		    a->wall < b->wall ||
		    (a->wall == b->wall && (a->id < b->id || (a->id == b->id && a->cap <= b->cap)));
		if (!ok && bad++ < 5)
			fprintf(stderr, "  order: #%zu %lld/%04x/%u before %lld/%04x/%u\n", i,
				(long long)a->wall, a->id, a->cap, (long long)b->wall, b->id,
				b->cap);
		switches += a->cap != b->cap;
	}
	CHECKF(bad == 0, "%zu events out of order", bad);
	CHECKF(switches > 100, "captures interleave (%zu switches)", switches);
	CHECKF(st.frames_open_max <= 8, "open frames bounded: %llu",
	       (unsigned long long)st.frames_open_max);
	col_free(&c);
}

/* Equal timestamps across captures: ties by DNS id, then capture order. */
static void test_ties(void)
{
	char a[600], b[600];
	snprintf(a, sizeof(a), "%s/tie-a.reel", tmpdir);
	snprintf(b, sizeof(b), "%s/tie-b.reel", tmpdir);
	/* Same seed and same wall start: identical events in both, so every timestamp ties. */
	CHECKF(write_cap(a, 7, "node-a", 1000000000000ll, WALL0, 500, false, false) == 0, "write");
	CHECKF(write_cap(b, 7, "node-b", 9000000000000ll, WALL0, 500, false, false) == 0, "write");
	const char *paths[2] = {b, a};
	struct collect c = {.field = DNSREEL_F_K8S_NODE};
	CHECKF(run_replay(paths, 2, NULL, &c, NULL) == 0, "run");
	CHECKF(c.nev == 1000, "events %zu", c.nev);
	size_t bad = 0;
	for (size_t i = 1; i < c.nev; i++) {
		const struct evrec *x = &c.ev[i - 1], *y = &c.ev[i];
		if (x->wall == y->wall && x->id == y->id && x->cap > y->cap)
			bad++;
		if (x->wall == y->wall && x->id > y->id)
			bad++;
	}
	CHECKF(bad == 0, "%zu ties broken wrong", bad);
	/* capture 0 is b: its node name comes first for the first pair */
	CHECKF(c.nvals >= 2 && !strcmp(c.texts[0], "node-b") && !strcmp(c.texts[1], "node-a"),
	       "tie by capture order: %s, %s", c.nvals ? c.texts[0] : "-",
	       c.nvals > 1 ? c.texts[1] : "-");
	col_free(&c);
}

/* ---- filters ---------------------------------------------------------------------------- */

static bool brute(const struct dnsreel_value *v, const char *text, enum dnsreel_ftype t,
		  const char *op, const char *val)
{
	if (!strcmp(op, "~") || !strcmp(op, "!~")) {
		regex_t re;
		if (regcomp(&re, val, REG_EXTENDED | REG_NOSUB))
			return false;
		bool m = regexec(&re, text, 0, NULL, 0) == 0;
		regfree(&re);
		return op[0] == '!' ? !m : m;
	}
	/* unknown values (no process, no pod, a query's rcode) equal only the empty value and
	 * are neither less nor greater than anything */
	if (v->null) {
		if (!strcmp(op, "=="))
			return !*val;
		if (!strcmp(op, "!="))
			return *val;
		return false;
	}
	int cmp;
	if (t == DNSREEL_FT_STR) {
		cmp = strcmp(text, val);
	} else if (t == DNSREEL_FT_BOOL) {
		bool b = !strcmp(val, "true") || !strcmp(val, "1");
		cmp = (v->i != 0) - (b ? 1 : 0);
	} else {
		long long x = strtoll(val, NULL, 10);
		cmp = v->i < x ? -1 : v->i > x;
	}
	if (!strcmp(op, "=="))
		return cmp == 0;
	if (!strcmp(op, "!="))
		return cmp != 0;
	if (!strcmp(op, "<"))
		return cmp < 0;
	if (!strcmp(op, "<="))
		return cmp <= 0;
	if (!strcmp(op, ">"))
		return cmp > 0;
	if (!strcmp(op, ">="))
		return cmp >= 0;
	return false;
}

struct fcase {
	const char *field;
	enum dnsreel_field_id id;
	enum dnsreel_ftype type;
	const char *val; /* NULL: take a value from the data */
	bool ordered;	 /* text whose order is the value's: RFC 3339 times, 4-digit hex ids */
};

static void test_filters(const char *cap)
{
	static const struct fcase cases[] = {
	    {"name", DNSREEL_F_NAME, DNSREEL_FT_STR, NULL, false},
	    {"k8s.podName", DNSREEL_F_K8S_PODNAME, DNSREEL_FT_STR, NULL, false},
	    {"k8s.namespace", DNSREEL_F_K8S_NAMESPACE, DNSREEL_FT_STR, NULL, false},
	    {"qtype", DNSREEL_F_QTYPE, DNSREEL_FT_STR, "AAAA", false},
	    {"rcode", DNSREEL_F_RCODE, DNSREEL_FT_STR, "NameError", false},
	    {"qr", DNSREEL_F_QR, DNSREEL_FT_STR, "R", false},
	    {"comm", DNSREEL_F_COMM, DNSREEL_FT_STR, NULL, false},
	    {"pid", DNSREEL_F_PID, DNSREEL_FT_INT, NULL, false},
	    {"num_answers", DNSREEL_F_NUM_ANSWERS, DNSREEL_FT_INT, "1", false},
	    {"latency_ns", DNSREEL_F_LATENCY_NS, DNSREEL_FT_INT, NULL, false},
	    {"netns_id", DNSREEL_F_NETNS_ID, DNSREEL_FT_INT, NULL, false},
	    {"dst.port", DNSREEL_F_DST_PORT, DNSREEL_FT_INT, "53", false},
	    {"rd", DNSREEL_F_RD, DNSREEL_FT_BOOL, "true", false},
	    {"ra", DNSREEL_F_RA, DNSREEL_FT_BOOL, "false", false},
	    {"tc", DNSREEL_F_TC, DNSREEL_FT_BOOL, "false", false},
	    {"timestamp", DNSREEL_F_TIMESTAMP, DNSREEL_FT_STR, NULL, true},
	    {"id", DNSREEL_F_ID, DNSREEL_FT_STR, NULL, true},
	};
	static const char *str_ops[] = {"==", "!=", "~", "!~"};
	static const char *num_ops[] = {"==", "!=", "<", "<=", ">", ">="};
	static const char *bool_ops[] = {"==", "!="};
	const char *paths[1] = {cap};
	for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		const struct fcase *fc = &cases[k];
		struct collect all = {.field = fc->id};
		CHECKF(run_replay(paths, 1, NULL, &all, NULL) == 0, "run all");
		if (!all.nvals)
			continue;
		char val[256];
		if (fc->val)
			snprintf(val, sizeof(val), "%s", fc->val);
		else {
			/* a known value from the middle of the data, so both sides are non-empty */
			size_t i = all.nvals / 2;
			while (i + 1 < all.nvals && (all.vals[i].null || !all.texts[i][0]))
				i++;
			snprintf(val, sizeof(val), "%s", all.texts[i]);
		}
		const char **ops = str_ops;
		size_t nops = 4;
		if (fc->ordered || fc->type == DNSREEL_FT_INT) {
			ops = num_ops;
			nops = 6;
		} else if (fc->type == DNSREEL_FT_BOOL) {
			ops = bool_ops;
			nops = 2;
		}
		for (size_t o = 0; o < nops; o++) {
			char rxval[300], expr[400];
			const char *v = val;
			if (ops[o][0] == '~' || (ops[o][0] == '!' && ops[o][1] == '~')) {
				/* a regex: the value's first 4 characters, anchored */
				snprintf(rxval, sizeof(rxval), "^%.4s", val);
				v = rxval;
			}
			snprintf(expr, sizeof(expr), "%s%s%s", fc->field, ops[o], v);
			uint64_t want = 0;
			for (size_t i = 0; i < all.nvals; i++)
				want += brute(&all.vals[i], all.texts[i], fc->type, ops[o], v);
			struct dnsreel_filter *f = NULL;
			char err[256] = "";
			dnsreel_filter__new(&f);
			int ret = dnsreel_filter__add(f, expr, err, sizeof(err));
			CHECKF(ret == 0, "filter '%s': %s", expr, err);
			struct collect got = {.field = fc->id};
			struct dnsreel_merge_stats st;
			CHECKF(run_replay(paths, 1, f, &got, &st) == 0, "run %s", expr);
			CHECKF(st.recs_matched == want, "-F '%s': matched %llu, brute force %llu",
			       expr, (unsigned long long)st.recs_matched, (unsigned long long)want);
			col_free(&got);
			dnsreel_filter__free(f);
		}
		col_free(&all);
	}

	/* ANDed -F and pushdown: a name filter reads fewer frames than there are. */
	struct collect all = {.field = DNSREEL_F_NAME};
	run_replay(paths, 1, NULL, &all, NULL);
	if (all.nvals) {
		char e1[400], err[256];
		snprintf(e1, sizeof(e1), "name==%s", all.texts[all.nvals / 3]);
		uint64_t want = 0;
		for (size_t i = 0; i < all.nvals; i++)
			want += !strcmp(all.texts[i], all.texts[all.nvals / 3]);
		struct dnsreel_filter *f = NULL;
		dnsreel_filter__new(&f);
		dnsreel_filter__add(f, e1, err, sizeof(err));
		dnsreel_filter__add(f, "qr==Q", err, sizeof(err));
		struct collect got = {.field = DNSREEL_F_QR};
		struct dnsreel_merge_stats st;
		run_replay(paths, 1, f, &got, &st);
		CHECKF(st.recs_matched > 0 && st.recs_matched < want, "AND: %llu of %llu",
		       (unsigned long long)st.recs_matched, (unsigned long long)want);
		for (size_t i = 0; i < got.nvals; i++)
			CHECKF(!strcmp(got.texts[i], "Q"), "AND let through qr=%s", got.texts[i]);
		fprintf(stderr, "pushdown name==: frames read %llu, pruned %llu of %llu\n",
			(unsigned long long)st.frames_read, (unsigned long long)st.frames_pruned,
			(unsigned long long)st.frames_total);
		col_free(&got);
		dnsreel_filter__free(f);

		/* time window: the middle third of the events */
		struct collect ev = {.field = DNSREEL_F_TIMESTAMP};
		run_replay(paths, 1, NULL, &ev, NULL);
		int64_t t0 = ev.vals[ev.nvals / 3].i, t1 = ev.vals[2 * ev.nvals / 3].i;
		uint64_t wantw = 0;
		for (size_t i = 0; i < ev.nvals; i++)
			wantw += ev.vals[i].i >= t0 && ev.vals[i].i <= t1;
		dnsreel_filter__new(&f);
		dnsreel_filter__set_window(f, t0, t1);
		struct collect w = {.field = DNSREEL_F_NAME};
		run_replay(paths, 1, f, &w, &st);
		CHECKF(st.recs_matched == wantw, "window: %llu want %llu",
		       (unsigned long long)st.recs_matched, (unsigned long long)wantw);
		CHECKF(st.frames_pruned > 0, "window pruned no frames");
		col_free(&w);
		col_free(&ev);
		dnsreel_filter__free(f);
	}
	col_free(&all);
}

/* ---- damage ----------------------------------------------------------------------------- */

static int copy_tree(const char *from, const char *to)
{
	char cmd[4096];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s' && cp -r '%s' '%s'", to, from, to);
	return system(cmd);
}

static void test_damage(const char *cap)
{
	const char *paths[1];
	struct collect base = {.field = DNSREEL_F_NAME};
	paths[0] = cap;
	run_replay(paths, 1, NULL, &base, NULL);

	/* flipped bytes in the middle of the first segment */
	char d[600], seg[700];
	snprintf(d, sizeof(d), "%s/flip.reel", tmpdir);
	CHECKF(copy_tree(cap, d) == 0, "copy");
	snprintf(seg, sizeof(seg), "%s/seg/000001.zst", d);
	int fd = open(seg, O_RDWR);
	if (fd < 0) {
		snprintf(seg, sizeof(seg), "%s/seg/000000.zst", d);
		fd = open(seg, O_RDWR);
	}
	CHECKF(fd >= 0, "open %s", seg);
	struct stat sb;
	if (fd >= 0 && fstat(fd, &sb) == 0) {
		off_t at = sb.st_size / 2;
		unsigned char x[16];
		pread(fd, x, sizeof(x), at);
		for (size_t i = 0; i < sizeof(x); i++)
			x[i] ^= 0x5a;
		pwrite(fd, x, sizeof(x), at);
		close(fd);
	}
	paths[0] = d;
	struct collect c = {.field = DNSREEL_F_NAME};
	struct dnsreel_merge_stats st;
	int ret = run_replay(paths, 1, NULL, &c, &st);
	CHECKF(ret == 0, "run flipped: %d", ret);
	CHECKF(st.frames_bad >= 1, "flipped bytes found: %llu", (unsigned long long)st.frames_bad);
	CHECKF(c.problems >= 1 && strstr(c.last_problem, "seg/"), "problem names segment: %s",
	       c.last_problem);
	CHECKF(c.nev > base.nev / 2 && c.nev < base.nev, "good frames replayed: %zu of %zu", c.nev,
	       base.nev);
	fprintf(stderr, "flipped: %s\n", c.last_problem);
	col_free(&c);

	/* the last segment cut in the middle of a frame */
	snprintf(d, sizeof(d), "%s/cut.reel", tmpdir);
	CHECKF(copy_tree(cap, d) == 0, "copy");
	size_t nseg = count_segments(d);
	snprintf(seg, sizeof(seg), "%s/seg/%06zu.zst", d, nseg);
	if (access(seg, F_OK))
		snprintf(seg, sizeof(seg), "%s/seg/%06zu.zst", d, nseg - 1);
	if (stat(seg, &sb) == 0)
		CHECKF(truncate(seg, sb.st_size - sb.st_size / 3) == 0, "truncate");
	struct collect c2 = {.field = DNSREEL_F_NAME};
	ret = run_replay(paths, 1, NULL, &c2, &st);
	CHECKF(ret == 0, "run cut: %d", ret);
	CHECKF(st.frames_bad >= 1, "cut segment found: %llu", (unsigned long long)st.frames_bad);
	CHECKF(c2.nev > base.nev / 2 && c2.nev < base.nev, "good frames replayed: %zu of %zu",
	       c2.nev, base.nev);
	fprintf(stderr, "cut: %s\n", c2.last_problem);
	col_free(&c2);
	col_free(&base);
}

/* ---- printers --------------------------------------------------------------------------- */

static int print_rec(void *arg, const struct dnsreel_rec *rec)
{
	return dnsreel_printer__print(arg, rec);
}

static void test_printers(const char *cap)
{
	enum dnsreel_field_id ids[8];
	size_t n;
	char err[256];
	CHECKF(dnsreel_fields_parse("k8s.podName, NAME,src", ids, 8, &n, err, sizeof(err)) == 0,
	       "%s", err);
	CHECKF(n == 3 && ids[0] == DNSREEL_F_K8S_PODNAME && ids[1] == DNSREEL_F_NAME &&
		   ids[2] == DNSREEL_F_SRC,
	       "fields parsed");
	CHECKF(dnsreel_fields_parse("name,bogus", ids, 8, &n, err, sizeof(err)) == DNSREEL_E_ARG &&
		   strstr(err, "bogus"),
	       "unknown field named: %s", err);
	CHECKF(dnsreel_fields_parse("name,,src", ids, 8, &n, err, sizeof(err)) < 0, "empty field");
	CHECKF(dnsreel_fields_parse("name,src,dst", ids, 2, &n, err, sizeof(err)) ==
		   DNSREEL_E_LIMIT,
	       "too many");
	enum dnsreel_output o;
	CHECKF(dnsreel_output_parse("jsonl", &o) == 0 && o == DNSREEL_OUT_JSONL, "jsonl");
	CHECKF(dnsreel_output_parse("xml", &o) < 0, "xml refused");

	struct dnsreel_timefmt tf = {0};
	char tb[40];
	dnsreel_timefmt(&tf, 1725032615463173731ll, tb);
	CHECKF(!strcmp(tb, "2024-08-30T15:43:35.463173731Z"), "time %s", tb);
	dnsreel_timefmt(&tf, 1725032615000000001ll, tb);
	CHECKF(!strcmp(tb, "2024-08-30T15:43:35.000000001Z"), "time %s", tb);

	/* Print every rec of a capture in each format into memory and check shape. */
	static const enum dnsreel_output outs[] = {DNSREEL_OUT_COLUMNS, DNSREEL_OUT_JSONARRAY,
						   DNSREEL_OUT_JSONL, DNSREEL_OUT_CSV,
						   DNSREEL_OUT_JSON};
	for (size_t k = 0; k < sizeof(outs) / sizeof(outs[0]); k++) {
		char *buf = NULL;
		size_t len = 0;
		FILE *mf = open_memstream(&buf, &len);
		struct dnsreel_printer *p = NULL;
		struct dnsreel_printer_opts po = {.sz = sizeof(po), .output = outs[k], .out = mf};
		CHECKF(dnsreel_printer__new(&p, &po) == 0, "printer");
		struct dnsreel_merge_opts ro = {
		    .sz = sizeof(ro), .rec_fn = print_rec, .rec_arg = p};
		struct dnsreel_merge *r = NULL;
		const char *paths[1] = {cap};
		CHECKF(dnsreel_merge__open(&r, paths, 1, &ro, err, sizeof(err)) == 0, "%s", err);
		dnsreel_merge__run(r);
		struct dnsreel_merge_stats st;
		dnsreel_merge__stats(r, &st);
		dnsreel_printer__close(p);
		dnsreel_merge__close(r);
		fclose(mf);
		size_t lines = 0;
		for (size_t i = 0; i < len; i++)
			lines += buf[i] == '\n';
		if (outs[k] == DNSREEL_OUT_COLUMNS) {
			CHECKF(lines == st.recs + 1, "columns lines %zu", lines);
			CHECKF(!strncmp(buf, "K8S.NODE", 8), "header: %.40s", buf);
			/* every line has no trailing space */
			CHECKF(!strstr(buf, " \n"), "trailing space");
		} else if (outs[k] == DNSREEL_OUT_JSONARRAY) {
			CHECKF(len > 4 && buf[0] == '[' && !strcmp(buf + len - 2, "]\n"), "array");
			CHECKF(strstr(buf, "\"timestamp_raw\":") &&
				   strstr(buf, "\"creds\":{\"uid\":") &&
				   strstr(buf, "\"podName\":") && strstr(buf, "\"qr_raw\":"),
			       "json keys");
		} else if (outs[k] == DNSREEL_OUT_JSONL || outs[k] == DNSREEL_OUT_JSON) {
			CHECKF(lines == st.recs, "jsonl lines %zu of %llu", lines,
			       (unsigned long long)st.recs);
			CHECKF(buf[0] == '{', "object");
		} else {
			CHECKF(lines == st.recs + 1, "csv lines");
			CHECKF(!strncmp(buf, "timestamp,k8s.node,", 19), "csv header %.30s", buf);
		}
		free(buf);
	}
}

/* Hand-made record: escaping in JSON and CSV, cutting in columns (end and, for pod names, the
 * middle), --wide, and no trailing spaces. */
static void test_render_edges(void)
{
	struct dnsreel_ctx *ctx = NULL;
	CHECKF(dnsreel_ctx__new(&ctx) == 0, "ctx");
	struct dnsreel_meta m = {.format_major = 1, .boot_to_wall_ns = 1725032615000000000ll};
	snprintf(m.node, sizeof(m.node), "node-with-a-rather-long-name-0123456789");
	dnsreel_ctx__set_meta(ctx, 0, &m);
	struct dnsreel_netns_ctx ns = {.netns = 4026533235ull};
	snprintf(ns.k8s_namespace, sizeof(ns.k8s_namespace), "kube-system");
	snprintf(ns.k8s_podname, sizeof(ns.k8s_podname),
		 "coredns-7db6d8ff4d-r7hwl-extra-long-tail");
	snprintf(ns.k8s_containername, sizeof(ns.k8s_containername), "coredns");
	dnsreel_ctx__put_netns(ctx, 0, &ns);
	static const uint8_t msg[] = {0x7f, 0x22, 0x81, 0x80, 0, 1,   0,   0, 0, 0, 0, 0,
				      3,    'a',  '"',	'b',  2, 'c', ',', 0, 0, 1, 0, 1};
	struct dnsreel_event ev = {.ts_ns = 463173731,
				   .netns = 4026533235ull,
				   .pkt_type = 0,
				   .ip_version = 4,
				   .proto = 17,
				   .src_port = 53,
				   .dst_port = 51340,
				   .flags = DNSREEL_EV_PROC,
				   .pid = 422204,
				   .tid = 422205,
				   .orig_len = sizeof(msg),
				   .cap_len = sizeof(msg),
				   .payload = msg};
	memcpy(ev.src_addr, (uint8_t[]){10, 244, 0, 2}, 4);
	memcpy(ev.dst_addr, (uint8_t[]){10, 244, 0, 4}, 4);
	snprintf(ev.comm, sizeof(ev.comm), "isc-net-0000\t");
	struct dnsreel_rec rec = {.ctx = ctx,
				  .ev = &ev,
				  .ns = dnsreel_ctx__netns(ctx, 0, ev.netns),
				  .wall_ns = ev.ts_ns + m.boot_to_wall_ns,
				  .msg = msg,
				  .msg_len = sizeof(msg),
				  .latency_ns = 30245219};
	dnsreel_dns_parse(msg, sizeof(msg), &rec.dns);
	CHECKF(!strcmp(rec.dns.qname, "a\\\"b.c,."), "qname as parsed: %s", rec.dns.qname);

	static const struct {
		enum dnsreel_output o;
		bool wide;
		const char *want[4];
	} cases[] = {
	    {DNSREEL_OUT_JSONL,
	     false,
	     {"\"name\":\"a\\\\\\\"b.c,.\"", "\"comm\":\"isc-net-0000\\t\"",
	      "\"timestamp\":\"2024-08-30T15:43:35.463173731Z\"", "\"latency_ns_raw\":30245219"}},
	    {DNSREEL_OUT_CSV, false, {"\"a\\\"\"b.c,.\"", "kube-system", "7f22", NULL}},
	    {DNSREEL_OUT_COLUMNS,
	     false,
	     {"coredns-7db6d8\xe2\x80\xa6"
	      "extra-long-tail",
	      "node-with-a-rather-long-name-\xe2\x80\xa6", "  422204 R", NULL}},
	    {DNSREEL_OUT_COLUMNS,
	     true,
	     {"coredns-7db6d8ff4d-r7hwl-extra-long-tail", "node-with-a-rather-long-name-0123456789",
	      NULL, NULL}},
	};
	for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		char *buf = NULL;
		size_t len = 0;
		FILE *mf = open_memstream(&buf, &len);
		struct dnsreel_printer *p = NULL;
		struct dnsreel_printer_opts po = {
		    .sz = sizeof(po), .output = cases[k].o, .wide = cases[k].wide, .out = mf};
		CHECKF(dnsreel_printer__new(&p, &po) == 0, "printer");
		dnsreel_printer__print(p, &rec);
		dnsreel_printer__close(p);
		fclose(mf);
		for (int i = 0; i < 4 && cases[k].want[i]; i++)
			CHECKF(strstr(buf, cases[k].want[i]), "case %zu: no '%s' in:\n%s", k,
			       cases[k].want[i], buf);
		CHECKF(!strstr(buf, " \n"), "case %zu: trailing space", k);
		free(buf);
	}
	dnsreel_ctx__free(ctx);
}

/* ---- follow ----------------------------------------------------------------------------- */

static volatile sig_atomic_t follow_stop;

struct follow_arg {
	const char *path;
	uint64_t events;
	int ret;
};

static int follow_event(void *arg, uint32_t capture, uint32_t segment,
			const struct dnsreel_event *ev, int64_t wall)
{
	struct follow_arg *fa = arg;
	(void)capture, (void)segment, (void)ev, (void)wall;
	__atomic_add_fetch(&fa->events, 1, __ATOMIC_RELAXED);
	return 0;
}

static void *follow_thread(void *arg)
{
	struct follow_arg *fa = arg;
	struct dnsreel_merge_opts o = {.sz = sizeof(o),
				       .follow = true,
				       .poll_ns = 20 * 1000000LL,
				       .stop = &follow_stop,
				       .event_fn = follow_event,
				       .event_arg = fa};
	struct dnsreel_merge *r = NULL;
	char err[512];
	const char *paths[1] = {fa->path};
	fa->ret = dnsreel_merge__open(&r, paths, 1, &o, err, sizeof(err));
	if (!fa->ret)
		fa->ret = dnsreel_merge__run(r);
	dnsreel_merge__close(r);
	return NULL;
}

static uint64_t wait_events(struct follow_arg *fa, uint64_t want)
{
	for (int i = 0; i < 300 && __atomic_load_n(&fa->events, __ATOMIC_RELAXED) < want; i++)
		nanosleep(&(struct timespec){.tv_nsec = 10 * 1000000}, NULL);
	return __atomic_load_n(&fa->events, __ATOMIC_RELAXED);
}

/* A capture still being written: replay --follow picks up frames flushed after it started. */
static void test_follow(void)
{
	char path[600];
	snprintf(path, sizeof(path), "%s/follow.reel", tmpdir);
	struct dnsreel_synth_opts so = {.seed = 21};
	struct dnsreel_capw_opts wo = {.sz = sizeof(wo), .block_events = 100, .no_fsync = true};
	struct dnsreel_synth *s = NULL;
	struct dnsreel_capw *w = NULL;
	CHECKF(dnsreel_synth__new(&s, &so) == 0, "synth");
	CHECKF(dnsreel_capw__open(&w, path, &wo) == 0, "capw");
	if (!s || !w)
		return;
	dnsreel_capw__set_meta(w, dnsreel_synth__meta(s));
	for (size_t i = 0; i < dnsreel_synth__netns_count(s); i++)
		dnsreel_capw__put_netns(w, dnsreel_synth__netns_at(s, i));
	struct dnsreel_event ev;
	for (int i = 0; i < 300; i++) {
		dnsreel_synth__next(s, &ev);
		dnsreel_capw__append(w, &ev);
	}
	dnsreel_capw__flush(w);

	struct follow_arg fa = {.path = path};
	pthread_t th;
	follow_stop = 0;
	pthread_create(&th, NULL, follow_thread, &fa);
	CHECKF(wait_events(&fa, 300) == 300, "first frames: %llu", (unsigned long long)fa.events);
	for (int round = 0; round < 3; round++) {
		for (int i = 0; i < 250; i++) {
			dnsreel_synth__next(s, &ev);
			dnsreel_capw__append(w, &ev);
		}
		dnsreel_capw__flush(w);
		uint64_t want = 300 + 250 * (uint64_t)(round + 1);
		CHECKF(wait_events(&fa, want) == want, "round %d: %llu of %llu", round,
		       (unsigned long long)fa.events, (unsigned long long)want);
	}
	follow_stop = 1;
	pthread_join(th, NULL);
	CHECKF(fa.ret == 0, "follow run: %d", fa.ret);
	dnsreel_capw__close(w);
	dnsreel_synth__free(s);
}

int main(void)
{
	if (!mkdtemp(tmpdir)) {
		perror("mkdtemp");
		return 1;
	}
	char caps[3][512];
	int64_t boots[3] = {1000000000000ll, 5000000000000ll, 77000000000000ll};
	for (int i = 0; i < 3; i++) {
		char node[16];
		snprintf(caps[i], sizeof(caps[i]), "%s/node%d.reel", tmpdir, i);
		snprintf(node, sizeof(node), "node-%d", i);
		/* wall starts 100 us apart: the three overlap over their whole length */
		int ret = write_cap(caps[i], 11 + (uint64_t)i, node, boots[i], WALL0 + i * 100000,
				    3000, false, i == 2);
		CHECKF(ret == 0, "write %s: %s", caps[i], dnsreel_strerror(ret));
	}
	char tcp[600];
	snprintf(tcp, sizeof(tcp), "%s/tcp.reel", tmpdir);
	CHECKF(write_cap(tcp, 5, "node-t", 1000000000000ll, WALL0, 4000, true, true) == 0,
	       "write tcp");
	if (!check_failures) {
		test_order(caps);
		test_ties();
		test_filters(tcp);
		test_damage(caps[0]);
		test_printers(tcp);
		test_render_edges();
		test_follow();
	}
	char cmd[600];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	if (!check_failures && system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", tmpdir);
	if (check_failures)
		fprintf(stderr, "%d failure(s); files kept in %s\n", check_failures, tmpdir);
	else
		printf("ok: replay unit tests\n");
	return check_failures ? 1 : 0;
}
