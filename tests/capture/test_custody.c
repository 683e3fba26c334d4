/* Chain of custody through the library: the manifest the writer keeps in the index at every
 * flush equals the one computed from the files (also while it still writes, so a capture
 * copied mid-recording checks), ring mode keeps a chain from the first segment left, inputs
 * of a derived capture land in every segment and the manifest, reindex writes the same
 * manifest, and a pack of the capture has the same root. The writer renders the closed
 * segments' manifest lines once and rewrites only the open segment's row at a flush: checked
 * after flushes within a segment, at segment boundaries and around ring mode's drops. */
#include <errno.h>
#include <ftw.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "capture_int.h"
#include "check.h"
#include "dnsreel.h"
#include "synth.h"

static char tmproot[256];

static int rm_cb(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(p);
}

/* The first column of the first row of sql (with arg bound, if any) on DIR's index, as text. */
static void index_query(const char *dir, const char *sql, const char *arg, char *out, size_t len)
{
	char path[600];
	snprintf(path, sizeof(path), "%s/index.sqlite", dir);
	out[0] = 0;
	sqlite3 *db;
	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK) {
		sqlite3_stmt *st;
		if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK) {
			if (arg)
				sqlite3_bind_text(st, 1, arg, -1, SQLITE_STATIC);
			if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0))
				snprintf(out, len, "%s", (const char *)sqlite3_column_text(st, 0));
			sqlite3_finalize(st);
		}
	}
	sqlite3_close(db);
}

static void index_text(const char *dir, const char *key, char *out, size_t len)
{
	index_query(dir, "SELECT value FROM capture_info WHERE key = ?", key, out, len);
}

static struct dnsreel_capw *open_writer(const char *dir, struct dnsreel_capw_opts *wo,
					struct dnsreel_synth **s)
{
	struct dnsreel_synth_opts so = {.seed = 5, .multi_hop = true};
	dnsreel_synth__new(s, &so);
	struct dnsreel_capw *w = NULL;
	CHECKF(dnsreel_capw__open(&w, dir, wo) == 0, "open %s", dir);
	if (w)
		dnsreel_capw__set_meta(w, dnsreel_synth__meta(*s));
	return w;
}

static int append(struct dnsreel_capw *w, struct dnsreel_synth *s, int n)
{
	for (int i = 0; i < n; i++) {
		struct dnsreel_event e;
		dnsreel_synth__next(s, &e);
		int err = dnsreel_capw__append(w, &e);
		if (err)
			return err;
	}
	return 0;
}

static void test_live_and_inputs(void)
{
	char dir[512], root[DNSREEL_HASH_HEX], eb[512];
	snprintf(dir, sizeof(dir), "%s/derived.reel", tmproot);
	/* small enough that the 3000 events below take at least two segments */
	struct dnsreel_capw_opts wo = {.sz = sizeof(wo),
				       .segment_bytes = 12000,
				       .block_events = 500,
				       .no_fsync = true,
				       .custody_user = "alice smith",
				       .custody_host = "node-a.example"};
	struct dnsreel_synth *s;
	struct dnsreel_capw *w = open_writer(dir, &wo, &s);
	if (!w)
		return;
	struct dnsreel_custody_input in1 = {.capture_id = "11111111-aaaa", .role = "merge"};
	memset(in1.root, 'a', DNSREEL_HASH_HEX - 1);
	struct dnsreel_custody_input in2 = {
	    .capture_id = "22222222-bbbb", .root = "", .role = "merge"};
	struct dnsreel_custody_input bad = {.capture_id = "x", .root = "abc", .role = "merge"};
	CHECK(dnsreel_capw__add_input(w, &in1) == 0);
	CHECK(dnsreel_capw__add_input(w, &in2) == 0);
	CHECK(dnsreel_capw__add_input(w, &bad) == DNSREEL_E_ARG);
	CHECK(append(w, s, 3000) == 0);
	CHECK(dnsreel_capw__flush(w) == 0);
	CHECK(dnsreel_capw__add_input(w, &in1) == DNSREEL_E_STATE);
	/* while the writer still holds it: what the index says is what the files say */
	struct dnsreel_custody *c = NULL;
	int err = dnsreel_custody_compute(dir, &c, eb, sizeof(eb));
	CHECKF(err == 0, "compute live: %s", eb);
	index_text(dir, "root_hash", root, sizeof(root));
	if (c) {
		CHECK(c->chained);
		CHECK(c->nsegments >= 2);
		CHECK_STR(c->root, root);
		CHECK_STR(c->user, "alice smith");
		CHECK_STR(c->host, "node-a.example");
		CHECK_INT(c->ninputs, 2);
		CHECK(strstr(c->manifest, "\nuser alice\\x20smith\n") != NULL);
		CHECK(strstr(c->manifest, "\ninput 22222222-bbbb - merge\n") != NULL);
		CHECK(c->end_wall_ns > c->meta.start_wall_ns);
	}
	dnsreel_custody_free(c);
	CHECK(append(w, s, 2000) == 0);
	CHECK(dnsreel_capw__close(w) == 0);
	dnsreel_synth__free(s);

	c = NULL;
	CHECK(dnsreel_custody_compute(dir, &c, eb, sizeof(eb)) == 0);
	index_text(dir, "root_hash", root, sizeof(root));
	char manifest[8192];
	index_text(dir, "manifest", manifest, sizeof(manifest));
	if (c) {
		CHECK_STR(c->root, root);
		CHECK_STR(c->manifest, manifest);
		/* every segment repeats the inputs: each stands alone */
		CHECK_INT(c->ninputs, 2);
	}
	struct dnsreel_verify_opts vo = {.sz = sizeof(vo)};
	CHECK_INT(dnsreel_capture_verify(dir, &vo), 0);
	/* reindex writes the same manifest from the files */
	vo.reindex = true;
	CHECK_INT(dnsreel_capture_verify(dir, &vo), 0);
	char root2[DNSREEL_HASH_HEX], manifest2[8192];
	index_text(dir, "root_hash", root2, sizeof(root2));
	index_text(dir, "manifest", manifest2, sizeof(manifest2));
	CHECK_STR(root2, root);
	CHECK_STR(manifest2, manifest);

	/* the reader's custody, from a directory and from a pack of it */
	char pack[600];
	snprintf(pack, sizeof(pack), "%s/derived.reel.tar", tmproot);
	CHECKF(dnsreel_pack_write(dir, pack, NULL, eb, sizeof(eb)) == 0, "pack: %s", eb);
	const char *paths[] = {dir, pack};
	for (int i = 0; i < 2; i++) {
		struct dnsreel_capr *r;
		err = dnsreel_capr__open(&r, paths[i], NULL, eb, sizeof(eb));
		CHECKF(err == 0, "open %s: %s", paths[i], eb);
		if (err)
			continue;
		const struct dnsreel_custody *rc;
		CHECK(dnsreel_capr__custody(r, &rc) == 0);
		CHECK_STR(rc->root, root);
		CHECKF(dnsreel_capr__problem(r) == NULL, "%s", dnsreel_capr__problem(r));
		dnsreel_capr__close(r);
	}
	dnsreel_custody_free(c);
}

static void test_ring(void)
{
	char dir[512], eb[512], note[256], root[DNSREEL_HASH_HEX], iroot[DNSREEL_HASH_HEX];
	snprintf(dir, sizeof(dir), "%s/ring.reel", tmproot);
	struct dnsreel_capw_opts wo = {.sz = sizeof(wo),
				       .segment_bytes = 20000,
				       .max_bytes = 120000,
				       .block_events = 500,
				       .no_fsync = true};
	struct dnsreel_synth *s;
	struct dnsreel_capw *w = open_writer(dir, &wo, &s);
	if (!w)
		return;
	CHECK(append(w, s, 40000) == 0);
	struct dnsreel_capw_stats st;
	dnsreel_capw__flush(w);
	dnsreel_capw__stats(w, &st);
	CHECK(st.segments_dropped > 0);
	CHECK(dnsreel_capw__close(w) == 0);
	dnsreel_synth__free(s);
	struct dnsreel_custody *c = NULL;
	CHECK(dnsreel_custody_compute(dir, &c, eb, sizeof(eb)) == 0);
	if (c) {
		CHECK(c->chained && c->nsegments && c->segments[0].segment > 1);
		CHECK(strstr(c->manifest, c->segments[0].prev) != NULL); /* chain_base */
	}
	struct dnsreel_verify_opts vo = {.sz = sizeof(vo),
					 .root_out = root,
					 .custody_note = note,
					 .custody_note_len = sizeof(note)};
	CHECK_INT(dnsreel_capture_verify(dir, &vo), 0);
	CHECKF(strstr(note, "earlier ones removed") != NULL, "note: %s", note);
	index_text(dir, "root_hash", iroot, sizeof(iroot));
	CHECK_STR(root, iroot);
	if (c)
		CHECK_STR(root, c->root);
	/* the oldest segment left going missing too is named */
	if (c) {
		char seg[600];
		snprintf(seg, sizeof(seg), "%s/seg/%06u.zst", dir, c->segments[0].segment);
		unlink(seg);
		CHECK(dnsreel_capture_verify(dir, &vo) > 0);
	}
	dnsreel_custody_free(c);
}

/* Many flushes in each of many segments, then ring mode dropping the oldest: after every
 * flush the index's manifest is the one computed from the files. */
static void test_many_flushes(void)
{
	char dir[512], eb[512], root[DNSREEL_HASH_HEX];
	static char manifest[65536];
	snprintf(dir, sizeof(dir), "%s/flushes.reel", tmproot);
	struct dnsreel_capw_opts wo = {.sz = sizeof(wo),
				       .segment_bytes = 6000,
				       .max_bytes = 200000,
				       .block_events = 1000,
				       .no_fsync = true};
	struct dnsreel_synth *s;
	struct dnsreel_capw *w = open_writer(dir, &wo, &s);
	if (!w)
		return;
	int bad = 0;
	uint64_t segs = 0;
	struct dnsreel_capw_stats st = {0};
	for (int f = 0; f < 400 && !bad; f++) {
		CHECK(append(w, s, 40) == 0);
		CHECK(dnsreel_capw__flush(w) == 0);
		dnsreel_capw__stats(w, &st);
		struct dnsreel_custody *c = NULL;
		int err = dnsreel_custody_compute(dir, &c, eb, sizeof(eb));
		if (err || !c) {
			CHECKF(0, "flush %d: compute: %s", f, eb);
			bad++;
			break;
		}
		index_text(dir, "root_hash", root, sizeof(root));
		index_text(dir, "manifest", manifest, sizeof(manifest));
		char nrows[32];
		index_query(dir, "SELECT count(*) FROM manifest", NULL, nrows, sizeof(nrows));
		int rows = nrows[0] ? atoi(nrows) : -1;
		if (strcmp(root, c->root) || strcmp(manifest, c->manifest) ||
		    rows != (int)c->nsegments) {
			CHECKF(0,
			       "flush %d (segment %llu, %llu dropped): the index's manifest (%d "
			       "rows) is not the files' (%zu segments):\n%s\n---\n%s",
			       f, (unsigned long long)st.segments,
			       (unsigned long long)st.segments_dropped, rows, c->nsegments,
			       manifest, c->manifest);
			bad++;
		}
		segs = c->nsegments;
		dnsreel_custody_free(c);
	}
	/* the shape the checks covered: several flushes per segment, many segments, drops */
	CHECKF(st.segments >= 40 && st.frames >= 3 * st.segments && st.segments_dropped >= 10,
	       "%llu segments, %llu frames, %llu dropped", (unsigned long long)st.segments,
	       (unsigned long long)st.frames, (unsigned long long)st.segments_dropped);
	CHECK(segs >= 10);
	CHECK(dnsreel_capw__close(w) == 0);
	dnsreel_synth__free(s);
	struct dnsreel_verify_opts vo = {.sz = sizeof(vo)};
	CHECK_INT(dnsreel_capture_verify(dir, &vo), 0);
}

static void test_sign(void)
{
	char dir[512], key[512], pub[600], eb[512], root[DNSREEL_HASH_HEX];
	snprintf(dir, sizeof(dir), "%s/derived.reel", tmproot);
	snprintf(key, sizeof(key), "%s/k", tmproot);
	snprintf(pub, sizeof(pub), "%s.pub", key);
	CHECKF(dnsreel_custody_keygen(key, eb, sizeof(eb)) == 0, "keygen: %s", eb);
	CHECK(dnsreel_custody_keygen(key, eb, sizeof(eb)) == -EEXIST);
	CHECKF(dnsreel_custody_sign(dir, key, root, eb, sizeof(eb)) == 0, "sign: %s", eb);
	struct dnsreel_custody *c = NULL;
	CHECK(dnsreel_custody_compute(dir, &c, eb, sizeof(eb)) == 0);
	if (!c)
		return;
	CHECK_STR(root, c->root);
	CHECKF(dnsreel_custody_check_sig(dir, c, pub, eb, sizeof(eb)) == 0, "check: %s", eb);
	/* a manifest that differs by one byte (here: the user) no longer verifies */
	c->user[0] ^= 1;
	CHECK(dr_custody_build(c) == 0);
	CHECK(dnsreel_custody_check_sig(dir, c, pub, eb, sizeof(eb)) == DNSREEL_E_CORRUPT);
	CHECKF(strstr(eb, "changed since signing") != NULL, "%s", eb);
	/* the signature checked against the public key file as secret key: refused */
	c->user[0] ^= 1;
	CHECK(dr_custody_build(c) == 0);
	CHECK(dnsreel_custody_check_sig(dir, c, key, eb, sizeof(eb)) == DNSREEL_E_PARSE);
	dnsreel_custody_free(c);
}

int main(void)
{
	snprintf(tmproot, sizeof(tmproot), "/tmp/dnsreel-custody-XXXXXX");
	if (!mkdtemp(tmproot)) {
		perror("mkdtemp");
		return 1;
	}
	test_live_and_inputs();
	test_ring();
	test_many_flushes();
	test_sign();
	nftw(tmproot, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
	return check_done("custody");
}
