/* Unit tests of the capture format: round trips (random and synthetic events, across segment
 * rotation), crash safety (truncation at every byte of the last frames, random byte flips),
 * reindex equality, newer-major refusal, ring mode, verify, pruning, damaged index fallback.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"

#include "capture.h"
#include "dnsreel.h"
#include "capture_int.h"
#include "dns.h"
#include "synth.h"

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

static void path_of(char *buf, size_t len, const char *name)
{
	snprintf(buf, len, "%s/%s", tmproot, name);
}

static uint64_t rng = 88172645463325252ull;
static uint64_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

/* ---- event lists ---------------------------------------------------------------------- */

struct evlist {
	struct dnsreel_event *ev;
	uint8_t **pay;
	size_t n, cap;
};

static void evl_add(struct evlist *l, const struct dnsreel_event *e)
{
	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 1024;
		l->ev = realloc(l->ev, l->cap * sizeof(*l->ev));
		l->pay = realloc(l->pay, l->cap * sizeof(*l->pay));
	}
	l->ev[l->n] = *e;
	l->pay[l->n] = malloc(e->cap_len + 1);
	memcpy(l->pay[l->n], e->payload, e->cap_len);
	l->ev[l->n].payload = l->pay[l->n];
	l->n++;
}

static void evl_free(struct evlist *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->pay[i]);
	free(l->ev);
	free(l->pay);
	memset(l, 0, sizeof(*l));
}

static int ev_cmp(const struct dnsreel_event *a, const struct dnsreel_event *b)
{
#define C(f)                                                                                       \
	if (a->f != b->f)                                                                          \
		return a->f < b->f ? -1 : 1;
	C(ts_ns)
	C(netns)
	C(ifindex)
	C(pkt_type)
	C(ip_version)
	C(proto)
	C(tcp_flags)
	C(tcp_seq) C(src_port) C(dst_port) C(flags) C(pid) C(tid) C(uid) C(gid) C(cgroup_id)
	    C(orig_len) C(cap_len)
#undef C
		int r = memcmp(a->src_addr, b->src_addr, 16);
	if (!r)
		r = memcmp(a->dst_addr, b->dst_addr, 16);
	if (!r)
		r = strncmp(a->comm, b->comm, DNSREEL_COMM_LEN);
	if (!r)
		r = memcmp(a->payload, b->payload, a->cap_len);
	return r;
}

static int ev_qcmp(const void *a, const void *b)
{
	return ev_cmp(a, b);
}

static void evl_sort(struct evlist *l)
{
	qsort(l->ev, l->n, sizeof(*l->ev), ev_qcmp);
}

/* Reads every frame of a capture into l; returns frames that failed to decode. */
static int read_all(struct dnsreel_capr *r, struct evlist *l)
{
	int bad = 0;
	for (size_t i = 0; i < dnsreel_capr__frame_count(r); i++) {
		struct dnsreel_block b;
		char eb[512];
		int err = dnsreel_capr__read_frame(r, i, &b, eb, sizeof(eb));
		if (err) {
			bad++;
			continue;
		}
		for (size_t k = 0; k < b.n; k++) {
			if (k)
				CHECKF(b.ev[k].ts_ns >= b.ev[k - 1].ts_ns, "block not sorted");
			evl_add(l, &b.ev[k]);
		}
		dnsreel_block__release(&b);
	}
	return bad;
}

static void compare_lists(struct evlist *want, struct evlist *got, const char *what)
{
	evl_sort(want);
	evl_sort(got);
	CHECKF(want->n == got->n, "%s: %zu events written, %zu read", what, want->n, got->n);
	size_t n = want->n < got->n ? want->n : got->n;
	size_t diff = 0;
	for (size_t i = 0; i < n; i++)
		if (ev_cmp(&want->ev[i], &got->ev[i]))
			diff++;
	CHECKF(diff == 0, "%s: %zu events differ", what, diff);
}

static void random_event(struct dnsreel_event *e, uint8_t *buf, int64_t *ts, uint32_t snaplen)
{
	memset(e, 0, sizeof(*e));
	/* mostly in order, sometimes a little late (per-CPU ring buffers) */
	*ts += (int64_t)(rnd() % 100000);
	e->ts_ns = *ts - ((rnd() % 10 == 0) ? (int64_t)(rnd() % 50000) : 0);
	e->netns = 4026531840ull + rnd() % 20;
	e->ifindex = (uint32_t)(rnd() % 8);
	e->pkt_type = (uint8_t)(rnd() % 9);
	e->ip_version = rnd() % 4 ? 4 : 6;
	if (rnd() % 50 == 0)
		e->ip_version = (uint8_t)rnd();
	e->proto = rnd() % 5 ? 17 : 6;
	if (rnd() % 50 == 0)
		e->proto = (uint8_t)rnd();
	if (e->proto == 6 || rnd() % 40 == 0) {
		e->tcp_flags = (uint8_t)rnd();
		e->tcp_seq = (uint32_t)rnd();
	}
	for (int i = 0; i < (e->ip_version == 6 ? 16 : 4); i++) {
		e->src_addr[i] = (uint8_t)(rnd() % 3);
		e->dst_addr[i] = (uint8_t)(rnd() % 3);
	}
	e->src_port = (uint16_t)(rnd() % 3 ? 53 : rnd());
	e->dst_port = (uint16_t)rnd();
	if (rnd() % 2) {
		e->flags |= DNSREEL_EV_PROC;
		e->pid = (uint32_t)(rnd() % 5);
		e->tid = e->pid + (uint32_t)(rnd() % 2);
		e->uid = (uint32_t)(rnd() % 3);
		e->gid = e->uid;
		e->cgroup_id = rnd() % 4;
		snprintf(e->comm, sizeof(e->comm), "proc%u", (unsigned)(rnd() % 4));
		if (rnd() % 5 == 0)
			memcpy(e->comm + 6, "garbage", 7); /* bytes after the NUL must not matter */
	}
	if (rnd() % 30 == 0)
		e->flags |= (uint32_t)(rnd() & 0xfc);
	size_t len = rnd() % 4 ? rnd() % 120 : rnd() % 1500;
	/* DNS-looking prefix half the time, so derived payloads are exercised */
	for (size_t i = 0; i < len; i++)
		buf[i] = (uint8_t)(rnd() % 4 ? rnd() % 8 : rnd());
	if (len > 20 && rnd() % 2) {
		buf[4] = 0;
		buf[5] = 1;
		buf[12] = 3;
		memcpy(buf + 13, "abc", 3);
		buf[16] = (uint8_t)(rnd() % 2);
		if (buf[16]) {
			buf[16] = 1;
			buf[17] = 'x';
			buf[18] = 0;
		}
	}
	e->cap_len = (uint32_t)len;
	e->orig_len = (uint32_t)len + (rnd() % 10 == 0 ? (uint32_t)(rnd() % 100) : 0);
	if (e->cap_len > snaplen)
		e->cap_len = snaplen;
	if (e->cap_len < e->orig_len)
		e->flags |= DNSREEL_EV_TRUNCATED;
	e->payload = buf;
}

static void test_roundtrip_random(void)
{
	char dir[512];
	path_of(dir, sizeof(dir), "random.reel");
	struct dnsreel_capw_opts wo = {.sz = sizeof(wo),
				       .block_events = 500,
				       .segment_bytes = 100000,
				       .snaplen = 1200,
				       .no_fsync = true};
	struct dnsreel_capw *w;
	int err = dnsreel_capw__open(&w, dir, &wo);
	CHECKF(err == 0, "open: %s", dnsreel_strerror(err));
	if (err)
		return;
	struct evlist want = {0}, got = {0};
	int64_t ts = 5000000000ll;
	uint8_t buf[2000];
	for (int i = 0; i < 20000; i++) {
		struct dnsreel_event e;
		random_event(&e, buf, &ts, wo.snaplen);
		err = dnsreel_capw__append(w, &e);
		CHECKF(err == 0, "append: %s", dnsreel_strerror(err));
		evl_add(&want, &e);
	}
	struct dnsreel_capw_stats st;
	dnsreel_capw__stats(w, &st);
	CHECKF(dnsreel_capw__close(w) == 0, "close");
	CHECKF(st.segments >= 3, "rotation expected, got %llu segments",
	       (unsigned long long)st.segments);
	for (int scan = 0; scan < 2; scan++) {
		struct dnsreel_capr *r;
		struct dnsreel_capr_opts ro = {.sz = sizeof(ro),
					       .flags = scan ? DNSREEL_CAPR_SCAN : 0};
		char eb[512];
		err = dnsreel_capr__open(&r, dir, &ro, eb, sizeof(eb));
		CHECKF(err == 0, "capr open: %s", eb);
		if (err)
			continue;
		CHECKF(read_all(r, &got) == 0, "frames failed to decode");
		compare_lists(&want, &got, scan ? "random (scan)" : "random (index)");
		struct dnsreel_capr_summary s;
		dnsreel_capr__summary(r, &s);
		CHECKF(s.events == 20000, "summary events %llu", (unsigned long long)s.events);
		CHECKF(s.segments == st.segments, "segments %u", s.segments);
		evl_free(&got);
		dnsreel_capr__close(r);
	}
	evl_free(&want);
}

static void write_synth(const char *dir, bool multi, bool tcp, uint64_t n,
			const struct dnsreel_capw_opts *wo)
{
	struct dnsreel_synth_opts so = {.seed = 7, .multi_hop = multi, .tcp = tcp};
	int err = dnsreel_synth_write_capture(dir, &so, wo, n);
	CHECKF(err == 0, "synth capture %s: %s", dir, dnsreel_strerror(err));
}

/* The writer keeps the capture's time range and totals itself (capture.c put_totals): they
 * must equal what the frames table gives, the way reindex derives them. */
static void check_totals(const char *dir, const char *what)
{
	char path[600];
	snprintf(path, sizeof(path), "%s/index.sqlite", dir);
	sqlite3 *db = NULL;
	CHECKF(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK, "%s: open",
	       what);
	static const char *const q[] = {
	    "SELECT (SELECT value FROM capture_info WHERE key = 'first_ts') IS "
	    "(SELECT min(first_ts) FROM frames)",
	    "SELECT (SELECT value FROM capture_info WHERE key = 'last_ts') IS "
	    "(SELECT max(last_ts) FROM frames)",
	    "SELECT (SELECT value FROM capture_info WHERE key = 'events') IS "
	    "(SELECT coalesce(sum(events), 0) FROM frames)",
	    "SELECT (SELECT value FROM capture_info WHERE key = 'frames') IS "
	    "(SELECT count(*) FROM frames)",
	};
	for (size_t i = 0; i < sizeof(q) / sizeof(q[0]); i++) {
		sqlite3_stmt *st = NULL;
		int ok = sqlite3_prepare_v2(db, q[i], -1, &st, NULL) == SQLITE_OK &&
			 sqlite3_step(st) == SQLITE_ROW && sqlite3_column_int(st, 0) == 1;
		CHECKF(ok, "%s: capture_info disagrees with the frames: %s", what, q[i]);
		sqlite3_finalize(st);
	}
	sqlite3_close(db);
}

static void test_totals(void)
{
	char dir[512];
	/* several segments */
	path_of(dir, sizeof(dir), "totals.reel");
	struct dnsreel_capw_opts wo = {
	    .sz = sizeof(wo), .segment_bytes = 20000, .block_events = 300, .no_fsync = true};
	write_synth(dir, true, false, 20000, &wo);
	check_totals(dir, "segments");
	/* no frames at all: first_ts and last_ts NULL, as the aggregates over no rows */
	path_of(dir, sizeof(dir), "totals-empty.reel");
	struct dnsreel_capw *w;
	CHECKF(dnsreel_capw__open(&w, dir, &wo) == 0, "open empty");
	struct dnsreel_netns_ctx ns = {.netns = 4026531840ull};
	CHECKF(dnsreel_capw__put_netns(w, &ns) == 0, "netns");
	CHECKF(dnsreel_capw__flush(w) == 0, "flush");
	CHECKF(dnsreel_capw__close(w) == 0, "close empty");
	check_totals(dir, "no frames");
}

static void test_roundtrip_synth(bool tcp)
{
	char dir[512];
	path_of(dir, sizeof(dir), tcp ? "synth-tcp.reel" : "synth.reel");
	struct dnsreel_capw_opts wo = {.sz = sizeof(wo), .segment_bytes = 60000, .no_fsync = true};
	write_synth(dir, true, tcp, 30000, &wo);
	struct dnsreel_synth_opts so = {.seed = 7, .multi_hop = true, .tcp = tcp};
	struct dnsreel_synth *s;
	dnsreel_synth__new(&s, &so);
	struct evlist want = {0}, got = {0};
	for (int i = 0; i < 30000; i++) {
		struct dnsreel_event e;
		dnsreel_synth__next(s, &e);
		evl_add(&want, &e);
	}
	struct dnsreel_capr *r;
	char eb[512];
	int err = dnsreel_capr__open(&r, dir, NULL, eb, sizeof(eb));
	CHECKF(err == 0, "open: %s", eb);
	if (!err) {
		CHECKF(read_all(r, &got) == 0, "decode");
		compare_lists(&want, &got, "synth");
		CHECKF(dnsreel_capr__netns_count(r) == dnsreel_synth__netns_count(s), "netns %zu",
		       dnsreel_capr__netns_count(r));
		CHECKF(dnsreel_capr__service_count(r) == dnsreel_synth__service_count(s),
		       "services");
		CHECKF(strcmp(dnsreel_capr__meta(r)->node, "node-1") == 0, "meta node");
		CHECKF(dnsreel_capr__counter_count(r) == 2, "counters");
		struct dnsreel_capr_summary sm;
		dnsreel_capr__summary(r, &sm);
		CHECKF(sm.segments > 1, "rotation");
		/* pruning: every frame holding a name must pass the name filter */
		size_t hit = 0, pass = 0;
		for (size_t i = 0; i < dnsreel_capr__frame_count(r); i++) {
			struct dnsreel_prune p = {.name = "svc-3.ns-3.svc.cluster.local"};
			struct dnsreel_prune q = {.name = "no-such-name.example."};
			pass += dnsreel_capr__frame_may_match(r, i, &q);
			struct dnsreel_block b;
			if (dnsreel_capr__read_frame(r, i, &b, eb, sizeof(eb)))
				continue;
			bool has = false;
			for (size_t k = 0; k < b.n && !has; k++)
				has = b.ev[k].proto == 17 && b.ev[k].cap_len > 40 &&
				      memmem(b.ev[k].payload, b.ev[k].cap_len,
					     "\x05svc-3\x04ns-3\x03svc", 15);
			dnsreel_block__release(&b);
			if (has) {
				hit++;
				CHECKF(dnsreel_capr__frame_may_match(r, i, &p),
				       "bloom lost a name");
			}
			const struct dnsreel_frame_info *fi = dnsreel_capr__frame(r, i);
			struct dnsreel_prune t = {.since_wall_ns =
						      fi->last_ts +
						      dnsreel_capr__meta(r)->boot_to_wall_ns + 1};
			CHECKF(!dnsreel_capr__frame_may_match(r, i, &t), "time prune");
		}
		CHECKF(hit > 0, "test name never seen");
		/* no false negatives: a prune built from any event keeps that event's frame */
		size_t missed = 0, tried = 0;
		int64_t b2w = dnsreel_capr__meta(r)->boot_to_wall_ns;
		for (size_t i = 0; i < dnsreel_capr__frame_count(r); i++) {
			struct dnsreel_block b;
			if (dnsreel_capr__read_frame(r, i, &b, eb, sizeof(eb)))
				continue;
			for (size_t k = 0; k < b.n; k += 7) {
				const struct dnsreel_event *x = &b.ev[k];
				const uint8_t *m = x->payload;
				size_t ml = x->cap_len;
				if (x->proto == 6) {
					if (ml < 2 || (size_t)(m[0] << 8 | m[1]) + 2 != ml)
						continue; /* only whole single TCP messages */
					m += 2;
					ml -= 2;
				}
				if (ml < 12)
					continue;
				char name[DNSREEL_DNS_NAME_MAX];
				size_t next;
				bool qr = m[2] & 0x80;
				struct dnsreel_prune p = {
				    .since_wall_ns = x->ts_ns + b2w,
				    .until_wall_ns = x->ts_ns + b2w,
				    .netns_count = 1,
				    .netns = &x->netns,
				    .qr_mask = qr ? 2 : 1,
				    .rcode_mask = qr ? 1u << (m[3] & 15) : 0,
				};
				if (dnsreel_dns_name(m, ml, 12, name, sizeof(name), &next) >= 0)
					p.name = name;
				tried++;
				if (!dnsreel_capr__frame_may_match(r, i, &p))
					missed++;
			}
			dnsreel_block__release(&b);
		}
		CHECKF(tried > 1000 && missed == 0, "prune dropped %zu of %zu matching frames",
		       missed, tried);
		/* TCP segments that start mid-message leave their frame without a bloom */
		CHECKF(tcp || pass < dnsreel_capr__frame_count(r), "bloom never prunes (%zu/%zu)",
		       pass, dnsreel_capr__frame_count(r));
		dnsreel_capr__close(r);
	}
	dnsreel_synth__free(s);
	evl_free(&want);
	evl_free(&got);
}

/* ---- reindex equality ----------------------------------------------------------------- */

static char *dump_tables(const char *db_path)
{
	sqlite3 *db;
	if (sqlite3_open_v2(db_path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK)
		return strdup("");
	static const char *const q[] = {
	    "SELECT * FROM capture_info ORDER BY key",
	    "SELECT * FROM segments ORDER BY segment",
	    "SELECT segment, offset, length, first_ts, last_ts, events, rcode_mask, qr_mask, "
	    "proto_mask, netns_count, hex(netns), name_bloom_bits, hex(name_bloom) FROM frames "
	    "ORDER BY segment, offset",
	    "SELECT * FROM netns ORDER BY netns",
	    "SELECT * FROM processes ORDER BY pid, start_ns",
	    "SELECT * FROM services ORDER BY addr, port, proto",
	    "SELECT * FROM counters ORDER BY name",
	    "SELECT * FROM manifest ORDER BY segment",
	    "SELECT * FROM inputs ORDER BY capture_id, root_hash, role",
	};
	size_t cap = 1 << 16, len = 0;
	char *out = malloc(cap);
	out[0] = 0;
	for (size_t t = 0; t < sizeof(q) / sizeof(q[0]); t++) {
		sqlite3_stmt *st;
		if (sqlite3_prepare_v2(db, q[t], -1, &st, NULL) != SQLITE_OK)
			continue;
		while (sqlite3_step(st) == SQLITE_ROW) {
			for (int c = 0; c < sqlite3_column_count(st); c++) {
				const char *v = (const char *)sqlite3_column_text(st, c);
				size_t l = strlen(v ? v : "NULL") + 2;
				if (len + l + 1 > cap) {
					cap = (cap + l) * 2;
					out = realloc(out, cap);
				}
				len += (size_t)sprintf(out + len, "%s|", v ? v : "NULL");
			}
			if (len + 2 > cap)
				out = realloc(out, cap *= 2);
			out[len++] = '\n';
			out[len] = 0;
		}
		sqlite3_finalize(st);
	}
	sqlite3_close(db);
	return out;
}

static void test_reindex(void)
{
	char dir[512], idx[600];
	path_of(dir, sizeof(dir), "reindex.reel");
	struct dnsreel_capw_opts wo = {.sz = sizeof(wo), .segment_bytes = 40000, .no_fsync = true};
	write_synth(dir, true, true, 20000, &wo);
	snprintf(idx, sizeof(idx), "%s/index.sqlite", dir);
	char *before = dump_tables(idx);
	struct dnsreel_verify_opts vo = {.sz = sizeof(vo)};
	CHECKF(dnsreel_capture_verify(dir, &vo) == 0, "fresh capture verifies clean");
	vo.reindex = true;
	CHECKF(dnsreel_capture_verify(dir, &vo) == 0, "reindex");
	char *after = dump_tables(idx);
	CHECKF(strlen(before) > 1000, "dump too small");
	CHECKF(strcmp(before, after) == 0, "index rebuilt from segments differs from the original");
	if (strcmp(before, after)) {
		size_t i = 0;
		while (before[i] && before[i] == after[i])
			i++;
		fprintf(stderr, "first difference at %zu: ...%.80s\n vs ...%.80s\n", i,
			before + (i > 40 ? i - 40 : 0), after + (i > 40 ? i - 40 : 0));
	}
	free(before);
	free(after);
}

/* ---- crash safety --------------------------------------------------------------------- */

static int count_problems;
static void count_problem(void *ctx, const char *msg)
{
	(void)ctx;
	(void)msg;
	count_problems++;
}

/* Block end offsets of a segment held in memory. */
static size_t block_ends(const uint8_t *buf, size_t len, uint64_t *ends, uint64_t *starts,
			 size_t max)
{
	struct dr_scan s = {buf, len, 0};
	struct dr_item it;
	const char *msg;
	size_t n = 0;
	while (dr_scan_next(&s, &it, &msg) == 1 && n < max)
		if (it.type == DR_REC_BLOCK) {
			starts[n] = it.off;
			ends[n++] = it.off + it.len;
		}
	return n;
}

static void test_truncation(void)
{
	char dir[512], seg[600];
	path_of(dir, sizeof(dir), "trunc.reel");
	struct dnsreel_capw_opts wo = {.sz = sizeof(wo), .block_events = 40, .no_fsync = true};
	write_synth(dir, true, true, 400, &wo);
	snprintf(seg, sizeof(seg), "%s/seg/000001.zst", dir);
	uint8_t *buf;
	size_t len;
	CHECKF(dr_read_file(seg, &buf, &len) == 0, "read segment");
	uint64_t ends[64], starts[64];
	size_t nb = block_ends(buf, len, ends, starts, 64);
	CHECKF(nb == 10, "expected 10 blocks, got %zu", nb);
	if (nb < 3) {
		free(buf);
		return;
	}
	/* every byte offset of the last two frames */
	size_t bad = 0;
	for (uint64_t cut = starts[nb - 2]; cut <= len; cut++) {
		struct dr_catalog c;
		memset(&c, 0, sizeof(c));
		count_problems = 0;
		int r = dr_scan_segment_buf(buf, cut, 1, "seg/000001.zst", &c, NULL, count_problem,
					    NULL);
		size_t complete = 0;
		for (size_t k = 0; k < nb; k++)
			complete += ends[k] <= cut;
		/* a cut between two records is a clean (shorter) segment */
		bool boundary = false;
		struct dr_scan sc = {buf, len, 0};
		struct dr_item it;
		const char *msg;
		while (dr_scan_next(&sc, &it, &msg) == 1)
			boundary |= it.off + it.len == cut;
		if (r < 0 || c.nframes != complete || (boundary != (count_problems == 0))) {
			if (!bad)
				fprintf(stderr, "cut %llu: r %d frames %zu want %zu problems %d\n",
					(unsigned long long)cut, r, c.nframes, complete,
					count_problems);
			bad++;
		}
		dr_catalog_free(&c);
	}
	CHECKF(bad == 0, "%zu truncation offsets misbehaved", bad);

	/* the same through the public reader with the (now too long) index, sampled */
	char dir2[512], seg2[600];
	path_of(dir2, sizeof(dir2), "trunc2.reel");
	size_t badr = 0;
	for (uint64_t cut = starts[nb - 2]; cut <= len; cut += 37) {
		rm_rf(dir2);
		char cmd[1400];
		snprintf(cmd, sizeof(cmd), "cp -r '%s' '%s'", dir, dir2);
		if (system(cmd) != 0)
			break;
		snprintf(seg2, sizeof(seg2), "%s/seg/000001.zst", dir2);
		if (truncate(seg2, (off_t)cut) != 0)
			break;
		for (int scan = 0; scan < 2; scan++) {
			struct dnsreel_capr *r;
			struct dnsreel_capr_opts ro = {.sz = sizeof(ro),
						       .flags = scan ? DNSREEL_CAPR_SCAN : 0};
			char eb[512];
			if (dnsreel_capr__open(&r, dir2, &ro, eb, sizeof(eb))) {
				badr++;
				continue;
			}
			size_t ok = 0, failed = 0;
			for (size_t i = 0; i < dnsreel_capr__frame_count(r); i++) {
				struct dnsreel_block b;
				eb[0] = 0;
				if (dnsreel_capr__read_frame(r, i, &b, eb, sizeof(eb)) == 0) {
					ok++;
					dnsreel_block__release(&b);
				} else {
					failed++;
					if (!strstr(eb, "seg/000001.zst") || !strstr(eb, "offset"))
						badr++;
				}
			}
			size_t complete = 0;
			for (size_t k = 0; k < nb; k++)
				complete += ends[k] <= cut;
			if (ok != complete)
				badr++;
			dnsreel_capr__close(r);
		}
		struct dnsreel_verify_opts vo = {.sz = sizeof(vo)};
		bool boundary = cut == len;
		int pr = dnsreel_capture_verify(dir2, &vo);
		if (boundary ? pr != 0 : pr < 1)
			badr++;
	}
	CHECKF(badr == 0, "%zu reader checks failed on truncated captures", badr);
	free(buf);
}

static void test_flips(void)
{
	char dir[512], seg[600];
	path_of(dir, sizeof(dir), "flip.reel");
	struct dnsreel_capw_opts wo = {.sz = sizeof(wo), .block_events = 100, .no_fsync = true};
	write_synth(dir, true, true, 600, &wo);
	snprintf(seg, sizeof(seg), "%s/seg/000001.zst", dir);
	uint8_t *buf;
	size_t len;
	CHECKF(dr_read_file(seg, &buf, &len) == 0, "read segment");
	uint64_t ends[64], starts[64];
	size_t nb = block_ends(buf, len, ends, starts, 64);
	uint8_t *copy = malloc(len);
	size_t undetected = 0, lost = 0;
	for (int iter = 0; iter < 1500; iter++) {
		memcpy(copy, buf, len);
		size_t at = rnd() % len;
		copy[at] ^= (uint8_t)(1 + rnd() % 255);
		if (iter % 3 == 0) {
			size_t at2 = rnd() % len;
			copy[at2] ^= (uint8_t)(1 + rnd() % 255);
			if (at2 < at)
				at = at2;
		}
		struct dr_catalog c;
		memset(&c, 0, sizeof(c));
		count_problems = 0;
		dr_scan_segment_buf(copy, len, 1, "seg/000001.zst", &c, NULL, count_problem, NULL);
		if (!count_problems)
			undetected++;
		size_t before = 0;
		for (size_t k = 0; k < nb; k++)
			before += ends[k] <= at;
		if (c.nframes < before)
			lost++;
		dr_catalog_free(&c);
	}
	CHECKF(undetected == 0, "%zu flips went undetected", undetected);
	CHECKF(lost == 0, "%zu flips lost frames before the damage", lost);
	free(copy);
	free(buf);
}

/* ---- versions ------------------------------------------------------------------------- */

static void test_newer_major(void)
{
	char dir[512], idx[600], eb[512];
	path_of(dir, sizeof(dir), "major.reel");
	struct dnsreel_capw_opts wo = {.sz = sizeof(wo), .no_fsync = true};
	write_synth(dir, false, false, 100, &wo);
	snprintf(idx, sizeof(idx), "%s/index.sqlite", dir);
	sqlite3 *db;
	sqlite3_open(idx, &db);
	sqlite3_exec(db, "UPDATE capture_info SET value = 2 WHERE key = 'format_major'", NULL, NULL,
		     NULL);
	sqlite3_close(db);
	struct dnsreel_capr *r = NULL;
	int err = dnsreel_capr__open(&r, dir, NULL, eb, sizeof(eb));
	CHECKF(err == DNSREEL_E_VERSION, "index major 2: got %d", err);
	char want[64];
	snprintf(want, sizeof(want), "format version 2.%d", DNSREEL_FORMAT_MINOR);
	CHECKF(strstr(eb, want) && strstr(eb, "upgrade"), "message: %s", eb);
	dnsreel_capr__close(r);

	/* a segment whose meta record says major 2 */
	char dir2[512], seg[600];
	path_of(dir2, sizeof(dir2), "major2.reel");
	snprintf(seg, sizeof(seg), "%s/seg", dir2);
	mkdir(dir2, 0755);
	mkdir(seg, 0755);
	struct dnsreel_meta m = {.format_major = 2, .format_minor = 3};
	struct dr_buf body = {0}, file = {0};
	dr_meta_ser(&body, &m, 1);
	dr_rec_put(&file, DR_REC_META, body.p, body.len);
	snprintf(seg, sizeof(seg), "%s/seg/000001.zst", dir2);
	FILE *f = fopen(seg, "wb");
	fwrite(file.p, 1, file.len, f);
	fclose(f);
	r = NULL;
	err = dnsreel_capr__open(&r, dir2, NULL, eb, sizeof(eb));
	CHECKF(err == DNSREEL_E_VERSION, "segment major 2: got %d", err);
	CHECKF(strstr(eb, "000001.zst") && strstr(eb, "2.3") && strstr(eb, "upgrade"),
	       "message: %s", eb);
	dnsreel_capr__close(r);

	/* a later minor may add record types and fields: an old reader skips and ignores them */
	char dir3[512];
	path_of(dir3, sizeof(dir3), "minor.reel");
	snprintf(seg, sizeof(seg), "%s/seg", dir3);
	mkdir(dir3, 0755);
	mkdir(seg, 0755);
	struct dnsreel_meta m1 = {.format_major = 1, .format_minor = 7};
	snprintf(m1.node, sizeof(m1.node), "future");
	file.len = 0;
	body.len = 0;
	dr_meta_ser(&body, &m1, 1);
	dr_put(&body, "more fields", 11);
	dr_rec_put(&file, DR_REC_META, body.p, body.len);
	dr_rec_put(&file, 99, "new record type", 15);
	struct dnsreel_netns_ctx ns = {.netns = 42};
	body.len = 0;
	dr_netns_ser(&body, &ns);
	dr_put(&body, "\1\2\3", 3);
	dr_rec_put(&file, DR_REC_NETNS, body.p, body.len);
	snprintf(seg, sizeof(seg), "%s/seg/000001.zst", dir3);
	f = fopen(seg, "wb");
	fwrite(file.p, 1, file.len, f);
	fclose(f);
	err = dnsreel_capr__open(&r, dir3, NULL, eb, sizeof(eb));
	CHECKF(err == 0, "minor 1.7: %s", eb);
	if (!err) {
		CHECKF(dnsreel_capr__problem(r) == NULL, "problem: %s", dnsreel_capr__problem(r));
		CHECKF(dnsreel_capr__netns(r, 42) != NULL, "netns record after unknown type");
		CHECKF(strcmp(dnsreel_capr__meta(r)->node, "future") == 0, "meta");
		dnsreel_capr__close(r);
	}
	dr_buf_free(&body);
	dr_buf_free(&file);
}

/* ---- ring mode ------------------------------------------------------------------------ */

static void test_ring(void)
{
	char dir[512], eb[512];
	path_of(dir, sizeof(dir), "ring.reel");
	struct dnsreel_capw_opts wo = {.sz = sizeof(wo),
				       .segment_bytes = 30000,
				       .max_bytes = 200000,
				       .block_events = 1000,
				       .no_fsync = true};
	struct dnsreel_synth_opts so = {.seed = 3, .multi_hop = true};
	struct dnsreel_synth *s;
	dnsreel_synth__new(&s, &so);
	struct dnsreel_capw *w;
	CHECKF(dnsreel_capw__open(&w, dir, &wo) == 0, "open");
	dnsreel_capw__set_meta(w, dnsreel_synth__meta(s));
	for (size_t i = 0; i < dnsreel_synth__netns_count(s); i++)
		dnsreel_capw__put_netns(w, dnsreel_synth__netns_at(s, i));
	for (int i = 0; i < 120000; i++) {
		struct dnsreel_event e;
		dnsreel_synth__next(s, &e);
		int err = dnsreel_capw__append(w, &e);
		if (err) {
			CHECKF(err == 0, "append %s", dnsreel_strerror(err));
			break;
		}
	}
	struct dnsreel_capw_stats st;
	dnsreel_capw__flush(w);
	dnsreel_capw__stats(w, &st);
	CHECKF(st.segments_dropped > 0, "ring dropped nothing");
	CHECKF(st.bytes_disk <= wo.max_bytes + wo.segment_bytes + 200000, "disk %llu",
	       (unsigned long long)st.bytes_disk);
	CHECKF(dnsreel_capw__close(w) == 0, "close");
	dnsreel_synth__free(s);
	struct dnsreel_verify_opts vo = {.sz = sizeof(vo)};
	int pr = dnsreel_capture_verify(dir, &vo);
	CHECKF(pr == 0, "ring capture verify: %d", pr);
	struct dnsreel_capr *r;
	int err = dnsreel_capr__open(&r, dir, NULL, eb, sizeof(eb));
	CHECKF(err == 0, "open ring: %s", eb);
	if (!err) {
		struct evlist got = {0};
		CHECKF(read_all(r, &got) == 0, "decode");
		CHECKF(got.n < 120000 && got.n > 1000, "kept %zu", got.n);
		CHECKF(dnsreel_capr__netns_count(r) == 52, "context survives ring: %zu",
		       dnsreel_capr__netns_count(r));
		evl_free(&got);
		dnsreel_capr__close(r);
	}

	/* by age */
	path_of(dir, sizeof(dir), "ringage.reel");
	struct dnsreel_capw_opts wa = {
	    .sz = sizeof(wa), .segment_bytes = 20000, .max_age_ns = 1000000000ll, .no_fsync = true};
	struct dnsreel_synth_opts sa = {.seed = 4, .qps = 2000};
	CHECKF(dnsreel_synth_write_capture(dir, &sa, &wa, 40000) == 0, "age capture");
	err = dnsreel_capr__open(&r, dir, NULL, eb, sizeof(eb));
	if (!err) {
		struct dnsreel_capr_summary sm;
		dnsreel_capr__summary(r, &sm);
		CHECKF(sm.first_ts > 1000000000000ll + 2000000000ll, "old segments kept");
		CHECKF(sm.last_ts - sm.first_ts < 3000000000ll, "span %lld",
		       (long long)(sm.last_ts - sm.first_ts));
		dnsreel_capr__close(r);
	}
	vo.reindex = false;
	CHECKF(dnsreel_capture_verify(dir, &vo) == 0, "age ring verify");
	check_totals(dir, "ring by age");
	path_of(dir, sizeof(dir), "ring.reel");
	check_totals(dir, "ring by size");
}

/* ---- verify and damaged index ---------------------------------------------------------- */

/* the first problem of a run (custody lines follow the segment's own) */
static char last_msg[600];
static void keep_msg(void *ctx, const char *msg)
{
	if ((*(int *)ctx)++ == 0)
		snprintf(last_msg, sizeof(last_msg), "%s", msg);
}

static void test_verify_damage(void)
{
	char dir[512], seg[600], idx[600], eb[512];
	path_of(dir, sizeof(dir), "damage.reel");
	struct dnsreel_capw_opts wo = {.sz = sizeof(wo), .block_events = 200, .no_fsync = true};
	write_synth(dir, true, false, 2000, &wo);
	snprintf(seg, sizeof(seg), "%s/seg/000001.zst", dir);
	snprintf(idx, sizeof(idx), "%s/index.sqlite", dir);
	int n = 0;
	struct dnsreel_verify_opts vo = {.sz = sizeof(vo), .problem = keep_msg, .ctx = &n};
	CHECKF(dnsreel_capture_verify(dir, &vo) == 0, "clean");
	/* flip one byte in the middle of the segment */
	uint8_t *sb;
	size_t slen;
	uint64_t ends[64], starts[64];
	CHECKF(dr_read_file(seg, &sb, &slen) == 0, "read");
	size_t nb = block_ends(sb, slen, ends, starts, 64);
	free(sb);
	CHECKF(nb == 10, "blocks %zu", nb);
	int fd = open(seg, O_RDWR);
	off_t at = (off_t)starts[4] + 300;
	uint8_t b;
	CHECKF(pread(fd, &b, 1, at) == 1, "pread");
	b ^= 0x40;
	CHECKF(pwrite(fd, &b, 1, at) == 1, "pwrite");
	close(fd);
	n = 0;
	int pr = dnsreel_capture_verify(dir, &vo);
	CHECKF(pr >= 1, "flip not detected");
	CHECKF(strstr(last_msg, "seg/000001.zst: offset"), "message: %s", last_msg);
	/* the reader still opens and reads the frames before the damage */
	struct dnsreel_capr *r;
	int err = dnsreel_capr__open(&r, dir, NULL, eb, sizeof(eb));
	CHECKF(err == 0, "open damaged: %s", eb);
	if (!err) {
		size_t ok = 0, badf = 0;
		for (size_t i = 0; i < dnsreel_capr__frame_count(r); i++) {
			struct dnsreel_block blk;
			if (dnsreel_capr__read_frame(r, i, &blk, eb, sizeof(eb)) == 0) {
				ok++;
				dnsreel_block__release(&blk);
			} else {
				badf++;
				CHECKF(strstr(eb, "000001.zst: offset"), "err: %s", eb);
			}
		}
		CHECKF(badf == 1 && ok == 9, "ok %zu bad %zu", ok, badf);
		dnsreel_capr__close(r);
	}
	/* an index row that lies */
	sqlite3 *db;
	sqlite3_open(idx, &db);
	sqlite3_exec(db,
		     "UPDATE frames SET events = events + 1 WHERE rowid IN (SELECT rowid FROM "
		     "frames LIMIT 1)",
		     NULL, NULL, NULL);
	sqlite3_exec(db,
		     "UPDATE frames SET events = events + 1 WHERE offset = (SELECT min(offset) "
		     "FROM frames)",
		     NULL, NULL, NULL);
	sqlite3_close(db);
	n = 0;
	CHECKF(dnsreel_capture_verify(dir, &vo) >= 2, "index lie not detected");
	/* garbage index: reader falls back to scanning */
	FILE *f = fopen(idx, "wb");
	fputs("this is not a database, just some bytes that are long enough to matter........."
	      "................................................................................",
	      f);
	fclose(f);
	err = dnsreel_capr__open(&r, dir, NULL, eb, sizeof(eb));
	CHECKF(err == 0, "open with garbage index: %s", eb);
	if (!err) {
		CHECKF(dnsreel_capr__scanned(r), "should have scanned");
		CHECKF(dnsreel_capr__problem(r) != NULL, "problem noted");
		CHECKF(dnsreel_capr__frame_count(r) == 9, "frames from scan %zu",
		       dnsreel_capr__frame_count(r));
		dnsreel_capr__close(r);
	}
	n = 0;
	CHECKF(dnsreel_capture_verify(dir, &vo) >= 1, "garbage index not reported");
	/* reindex repairs the index (the damaged frame stays reported) */
	vo.reindex = true;
	n = 0;
	pr = dnsreel_capture_verify(dir, &vo);
	CHECKF(pr == 1, "reindex problems %d", pr);
	vo.reindex = false;
	n = 0;
	pr = dnsreel_capture_verify(dir, &vo);
	CHECKF(pr == 1, "after reindex %d: %s", pr, last_msg);
	/* a missing index is fine for the reader */
	unlink(idx);
	err = dnsreel_capr__open(&r, dir, NULL, eb, sizeof(eb));
	CHECKF(err == 0, "open without index: %s", eb);
	if (!err)
		dnsreel_capr__close(r);
	/* not a capture */
	char nd[512];
	path_of(nd, sizeof(nd), "empty-dir");
	mkdir(nd, 0755);
	err = dnsreel_capr__open(&r, nd, NULL, eb, sizeof(eb));
	CHECKF(err == DNSREEL_E_NOTCAPTURE, "empty dir: %d", err);
}

/* An index is untrusted: a view in place of a table, or rows out of range, must not be used. */
static void test_hostile_index(void)
{
	char dir[512], idx[600], eb[512];
	static const char *const sql[] = {
	    "DROP TABLE counters; CREATE VIEW counters AS SELECT 'x' AS name, 1 AS value",
	    "UPDATE frames SET netns_count = 70000",
	    "UPDATE frames SET name_bloom_bits = 1 << 40",
	    "UPDATE frames SET length = -5",
	    "UPDATE frames SET netns = x'0102'",
	    "DROP TABLE frames",
	    "CREATE TRIGGER boom AFTER INSERT ON netns BEGIN DELETE FROM frames; END",
	};
	for (size_t k = 0; k < sizeof(sql) / sizeof(sql[0]); k++) {
		snprintf(dir, sizeof(dir), "%s/hostile%zu.reel", tmproot, k);
		struct dnsreel_capw_opts wo = {
		    .sz = sizeof(wo), .block_events = 300, .no_fsync = true};
		write_synth(dir, false, false, 1000, &wo);
		snprintf(idx, sizeof(idx), "%s/index.sqlite", dir);
		sqlite3 *db;
		sqlite3_open(idx, &db);
		char *msg = NULL;
		int rc = sqlite3_exec(db, sql[k], NULL, NULL, &msg);
		CHECKF(rc == SQLITE_OK, "setup %zu: %s", k, msg ? msg : "");
		sqlite3_free(msg);
		sqlite3_close(db);
		struct dnsreel_capr *r;
		int err = dnsreel_capr__open(&r, dir, NULL, eb, sizeof(eb));
		CHECKF(err == 0, "hostile %zu: %s", k, eb);
		if (err)
			continue;
		/* the last case is harmless (triggers never run for a reader) and keeps the index
		 */
		CHECKF(k == 6 ? !dnsreel_capr__scanned(r) : dnsreel_capr__scanned(r),
		       "hostile %zu: index used=%d", k, !dnsreel_capr__scanned(r));
		struct evlist got = {0};
		CHECKF(read_all(r, &got) == 0 && got.n == 1000, "hostile %zu: events %zu", k,
		       got.n);
		evl_free(&got);
		dnsreel_capr__close(r);
	}
}

static void test_follow(void)
{
	char dir[512], eb[512];
	path_of(dir, sizeof(dir), "follow.reel");
	struct dnsreel_capw_opts wo = {.sz = sizeof(wo), .block_events = 100, .no_fsync = true};
	struct dnsreel_synth_opts so = {.seed = 9};
	struct dnsreel_synth *s;
	dnsreel_synth__new(&s, &so);
	struct dnsreel_capw *w;
	CHECKF(dnsreel_capw__open(&w, dir, &wo) == 0, "open");
	dnsreel_capw__set_meta(w, dnsreel_synth__meta(s));
	struct dnsreel_event e;
	for (int i = 0; i < 250; i++) {
		dnsreel_synth__next(s, &e);
		dnsreel_capw__append(w, &e);
	}
	dnsreel_capw__flush(w);
	struct dnsreel_capr *r;
	int err = dnsreel_capr__open(&r, dir, NULL, eb, sizeof(eb));
	CHECKF(err == 0, "open while writing: %s", eb);
	if (!err) {
		CHECKF(dnsreel_capr__frame_count(r) == 3, "frames %zu",
		       dnsreel_capr__frame_count(r));
		for (int i = 0; i < 300; i++) {
			dnsreel_synth__next(s, &e);
			dnsreel_capw__append(w, &e);
		}
		dnsreel_capw__flush(w);
		int added = dnsreel_capr__refresh(r);
		CHECKF(added == 3, "refresh added %d", added);
		CHECKF(dnsreel_capr__frame_count(r) == 6, "frames %zu",
		       dnsreel_capr__frame_count(r));
		struct evlist got = {0};
		CHECKF(read_all(r, &got) == 0, "decode");
		CHECKF(got.n == 550, "events %zu", got.n);
		evl_free(&got);
		dnsreel_capr__close(r);
	}
	dnsreel_capw__close(w);
	dnsreel_synth__free(s);
}

/* A capture read while it is written (copied off a node, or after a crash) has the counters of
 * the last flush: a flush writes only the counters that changed, and none may be missed. */
static uint64_t counter_of(struct dnsreel_capr *r, const char *name)
{
	for (size_t i = 0; i < dnsreel_capr__counter_count(r); i++)
		if (!strcmp(dnsreel_capr__counter_at(r, i)->name, name))
			return dnsreel_capr__counter_at(r, i)->value;
	return UINT64_MAX;
}

static void test_counters_while_writing(void)
{
	char dir[512], eb[512];
	path_of(dir, sizeof(dir), "counters.reel");
	struct dnsreel_capw_opts wo = {.sz = sizeof(wo), .no_fsync = true};
	struct dnsreel_synth_opts so = {.seed = 5};
	struct dnsreel_synth *s;
	dnsreel_synth__new(&s, &so);
	struct dnsreel_capw *w;
	CHECKF(dnsreel_capw__open(&w, dir, &wo) == 0, "open");
	dnsreel_capw__set_meta(w, dnsreel_synth__meta(s));
	/* a, b, c over four flushes: each changes some and leaves others */
	static const uint64_t a[] = {1, 5, 5, 5}, b[] = {2, 2, 9, 9}, c[] = {0, 7, 7, 8};
	for (int f = 0; f < 4; f++) {
		struct dnsreel_event e;
		for (int i = 0; i < 50; i++) {
			dnsreel_synth__next(s, &e);
			CHECK(dnsreel_capw__append(w, &e) == 0);
		}
		CHECK(dnsreel_capw__set_counter(w, "a", a[f]) == 0);
		CHECK(dnsreel_capw__set_counter(w, "b", b[f]) == 0);
		if (f) /* c is new at the second flush */
			CHECK(dnsreel_capw__set_counter(w, "c", c[f]) == 0);
		CHECK(dnsreel_capw__flush(w) == 0);
		struct dnsreel_capr *r;
		int err = dnsreel_capr__open(&r, dir, NULL, eb, sizeof(eb));
		CHECKF(err == 0, "open while writing: %s", eb);
		if (err)
			continue;
		CHECKF(counter_of(r, "a") == a[f] && counter_of(r, "b") == b[f] &&
			   counter_of(r, "c") == (f ? c[f] : UINT64_MAX),
		       "flush %d: a %llu b %llu c %llu", f, (unsigned long long)counter_of(r, "a"),
		       (unsigned long long)counter_of(r, "b"),
		       (unsigned long long)counter_of(r, "c"));
		dnsreel_capr__close(r);
	}
	dnsreel_capw__close(w);
	dnsreel_synth__free(s);
}

static void test_misc(void)
{
	CHECKF(strcmp(dnsreel_pkt_type_name(4), "OUTGOING") == 0, "pkt name");
	CHECKF(strcmp(dnsreel_pkt_type_name(3), "OTHERHOST") == 0, "pkt name");
	CHECKF(strcmp(dnsreel_pkt_type_name(99), "UNKNOWN") == 0, "pkt name");
	CHECKF(strstr(dnsreel_strerror(-ENOSPC), "space") != NULL, "strerror errno");
	CHECKF(strstr(dnsreel_strerror(DNSREEL_E_VERSION), "newer") != NULL, "strerror version");
	struct dnsreel_event e = {.ip_version = 6, .src_port = 53};
	e.src_addr[0] = 0xfd;
	e.src_addr[15] = 1;
	char b[80];
	dnsreel_event_addr_str(&e, true, true, b, sizeof(b));
	CHECKF(strcmp(b, "[fd00::1]:53") == 0, "v6 addr: %s", b);
	struct dnsreel_event f = {.ip_version = 4, .dst_port = 5353};
	memcpy(f.dst_addr, "\x0a\x00\x00\x01", 4);
	dnsreel_event_addr_str(&f, false, true, b, sizeof(b));
	CHECKF(strcmp(b, "10.0.0.1:5353") == 0, "v4 addr: %s", b);
	CHECKF(dnsreel_name_hash("A.Example.", 10) == dnsreel_name_hash("a.example", 9),
	       "name hash normalizes");
	uint8_t crcin[] = "123456789";
	CHECKF(dr_crc32c(0, crcin, 9) == 0xE3069283u, "crc32c check value");
}

int main(void)
{
	snprintf(tmproot, sizeof(tmproot), "/tmp/dnsreel-format-XXXXXX");
	if (!mkdtemp(tmproot)) {
		perror("mkdtemp");
		return 1;
	}
	test_misc();
	test_roundtrip_random();
	test_roundtrip_synth(false);
	test_roundtrip_synth(true);
	test_totals();
	test_reindex();
	test_truncation();
	test_flips();
	test_newer_major();
	test_ring();
	test_verify_damage();
	test_follow();
	test_counters_while_writing();
	test_hostile_index();
	rm_rf(tmproot);
	if (check_failures) {
		fprintf(stderr, "%d check(s) failed\n", check_failures);
		return 1;
	}
	printf("format: all checks passed\n");
	return 0;
}
