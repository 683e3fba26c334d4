/* verify and reindex: the segments are the truth; the index must say exactly what scanning
 * them says. Every problem is one line naming a file and a byte offset.
 */
#include <errno.h>
#include <stddef.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include "capture_int.h"

struct vctx {
	dnsreel_problem_fn fn;
	void *ctx;
	int count;
	char first[400];
	const struct dnsreel_verify_opts *o;
};

static void vprob(void *ctx, const char *msg)
{
	struct vctx *v = ctx;
	if (!v->count++)
		snprintf(v->first, sizeof(v->first), "%.390s", msg);
	if (v->fn)
		v->fn(v->ctx, msg);
}

static int write_all(int fd, const uint8_t *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -errno;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* A torn last frame is the crash state FORMAT.md §9 documents: its bytes go to
 * DIR/damaged/NNNNNN.zst.torn-at-OFFSET (kept, synced) before the segment is cut back to the
 * last intact item, so nothing is destroyed and the segment verifies again. */
static int move_torn_tail(const char *dir, struct dr_segment *sg, char *msg, size_t msglen)
{
	char seg[4096], side[4096];
	snprintf(seg, sizeof(seg), "%s/seg/%06u.zst", dir, sg->segment);
	snprintf(side, sizeof(side), "%s/damaged", dir);
	if (mkdir(side, 0755) && errno != EEXIST)
		return dr_errf(msg, msglen, -errno, "%s: %s", side, strerror(errno));
	snprintf(side, sizeof(side), "%s/damaged/%06u.zst.torn-at-%" PRIu64, dir, sg->segment,
		 sg->torn_at);
	uint8_t *buf;
	size_t len;
	int err = dr_read_file(seg, &buf, &len);
	if (err)
		return dr_errf(msg, msglen, err, "%s: %s", seg, dnsreel_strerror(err));
	if (sg->torn_at > len) {
		free(buf);
		return dr_errf(msg, msglen, DNSREEL_E_STATE, "%s: changed while verifying", seg);
	}
	int fd = open(side, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd < 0) {
		err = -errno;
		free(buf);
		return dr_errf(msg, msglen, err, "%s: %s", side, strerror(-err));
	}
	err = write_all(fd, buf + sg->torn_at, len - sg->torn_at);
	if (!err && fsync(fd))
		err = -errno;
	close(fd);
	free(buf);
	if (err) {
		unlink(side);
		return dr_errf(msg, msglen, err, "%s: %s", side, strerror(-err));
	}
	fd = open(seg, O_WRONLY | O_CLOEXEC);
	if (fd < 0 || ftruncate(fd, (off_t)sg->torn_at) || fsync(fd)) {
		err = -errno;
		if (fd >= 0)
			close(fd);
		return dr_errf(msg, msglen, err, "%s: cannot cut the torn tail: %s", seg,
			       strerror(-err));
	}
	close(fd);
	sg->bytes = sg->torn_at;
	dr_errf(msg, msglen, 0,
		"seg/%06u.zst: offset %" PRIu64 ": repaired: torn last frame (%zu bytes) moved to "
		"damaged/%06u.zst.torn-at-%" PRIu64,
		sg->segment, sg->torn_at, len - (size_t)sg->torn_at, sg->segment, sg->torn_at);
	return 0;
}

static void say(dr_problem_fn fn, void *pctx, int *n, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void say(dr_problem_fn fn, void *pctx, int *n, const char *fmt, ...)
{
	char msg[600];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	(*n)++;
	if (fn)
		fn(pctx, msg);
}

static int cmp_frame_key(const void *a, const void *b)
{
	const struct dnsreel_frame_info *x = &(*(const struct dr_frame *const *)a)->fi;
	const struct dnsreel_frame_info *y = &(*(const struct dr_frame *const *)b)->fi;
	if (x->segment != y->segment)
		return x->segment < y->segment ? -1 : 1;
	return x->offset < y->offset ? -1 : (x->offset > y->offset);
}

/* Frames of c sorted by (segment, offset), for binary search. */
static const struct dr_frame **frame_index(const struct dr_catalog *c)
{
	const struct dr_frame **v = malloc((c->nframes + 1) * sizeof(*v));
	if (!v)
		return NULL;
	for (size_t i = 0; i < c->nframes; i++)
		v[i] = &c->frames[i];
	qsort(v, c->nframes, sizeof(*v), cmp_frame_key);
	return v;
}

static const struct dr_frame *find_frame(const struct dr_frame **v, size_t n, uint32_t seg,
					 uint64_t off)
{
	struct dr_frame key;
	key.fi.segment = seg;
	key.fi.offset = off;
	const struct dr_frame *kp = &key;
	const struct dr_frame **r = bsearch(&kp, v, n, sizeof(*v), cmp_frame_key);
	return r ? *r : NULL;
}

static bool frame_eq(const struct dnsreel_frame_info *a, const struct dnsreel_frame_info *b)
{
	if (a->length != b->length || a->first_ts != b->first_ts || a->last_ts != b->last_ts ||
	    a->events != b->events || a->rcode_mask != b->rcode_mask || a->qr_mask != b->qr_mask ||
	    a->proto_mask != b->proto_mask || a->netns_count != b->netns_count ||
	    a->name_bloom_bits != b->name_bloom_bits)
		return false;
	if (a->netns_count && memcmp(a->netns, b->netns, a->netns_count * sizeof(uint64_t)))
		return false;
	if (a->name_bloom_bits && memcmp(a->name_bloom, b->name_bloom, a->name_bloom_bits / 8))
		return false;
	return true;
}

int dr_catalog_compare(const struct dr_catalog *idx, const struct dr_catalog *seg, dr_problem_fn fn,
		       void *pctx)
{
	int n = 0;
	const struct dr_frame **vi = frame_index(idx), **vs = frame_index(seg);
	if (!vi || !vs) {
		free(vi);
		free(vs);
		say(fn, pctx, &n, "index.sqlite: offset 0: out of memory comparing frames");
		return n;
	}
	for (size_t i = 0; i < seg->nframes; i++) {
		const struct dnsreel_frame_info *s = &seg->frames[i].fi;
		const struct dr_frame *x = find_frame(vi, idx->nframes, s->segment, s->offset);
		if (!x)
			say(fn, pctx, &n,
			    "seg/%06u.zst: offset %" PRIu64 ": frame missing from index.sqlite",
			    s->segment, s->offset);
		else if (!frame_eq(&x->fi, s))
			say(fn, pctx, &n,
			    "seg/%06u.zst: offset %" PRIu64
			    ": index.sqlite frame row disagrees with the segment",
			    s->segment, s->offset);
	}
	for (size_t i = 0; i < idx->nframes; i++) {
		const struct dnsreel_frame_info *s = &idx->frames[i].fi;
		if (!find_frame(vs, seg->nframes, s->segment, s->offset))
			say(fn, pctx, &n,
			    "seg/%06u.zst: offset %" PRIu64
			    ": index.sqlite lists a frame the segment does not hold",
			    s->segment, s->offset);
	}
	free(vi);
	free(vs);
	for (size_t i = 0; i < seg->nsegs; i++) {
		const struct dr_segment *s = &seg->segs[i];
		const struct dr_segment *x = NULL;
		for (size_t k = 0; k < idx->nsegs; k++)
			if (idx->segs[k].segment == s->segment)
				x = &idx->segs[k];
		if (!x)
			say(fn, pctx, &n,
			    "seg/%06u.zst: offset 0: segment missing from index.sqlite",
			    s->segment);
		else if (x->frames != s->frames || x->events != s->events ||
			 (s->frames && (x->first_ts != s->first_ts || x->last_ts != s->last_ts)))
			say(fn, pctx, &n,
			    "seg/%06u.zst: offset 0: index.sqlite segments row disagrees (frames "
			    "%u "
			    "vs %u, events %" PRIu64 " vs %" PRIu64 ")",
			    s->segment, x->frames, s->frames, x->events, s->events);
		else if (x->bytes != s->bytes)
			say(fn, pctx, &n,
			    "seg/%06u.zst: offset %" PRIu64 ": segment is %" PRIu64
			    " bytes but index.sqlite says %" PRIu64,
			    s->segment, x->bytes < s->bytes ? x->bytes : s->bytes, s->bytes,
			    x->bytes);
	}
	for (size_t k = 0; k < idx->nsegs; k++) {
		bool found = false;
		for (size_t i = 0; i < seg->nsegs && !found; i++)
			found = seg->segs[i].segment == idx->segs[k].segment;
		if (!found)
			say(fn, pctx, &n,
			    "seg/%06u.zst: offset 0: listed in index.sqlite but the file is "
			    "missing",
			    idx->segs[k].segment);
	}
	if (seg->have_meta) {
		const struct dnsreel_meta *a = &idx->meta, *b = &seg->meta;
		if (a->format_major != b->format_major || a->format_minor != b->format_minor ||
		    strcmp(a->capture_id, b->capture_id) || strcmp(a->node, b->node) ||
		    strcmp(a->kernel, b->kernel) || strcmp(a->recorder, b->recorder) ||
		    a->boot_to_wall_ns != b->boot_to_wall_ns ||
		    a->start_wall_ns != b->start_wall_ns || a->snaplen != b->snaplen)
			say(fn, pctx, &n,
			    "index.sqlite: offset 0: capture_info disagrees with the segment meta "
			    "records");
	}
	if (idx->nnetns != seg->nnetns)
		say(fn, pctx, &n, "index.sqlite: offset 0: netns table has %zu rows, segments %zu",
		    idx->nnetns, seg->nnetns);
	for (size_t i = 0; i < seg->nnetns; i++) {
		const struct dnsreel_netns_ctx *s = &seg->netns[i];
		const struct dnsreel_netns_ctx *x = dr_catalog_find_netns(idx, s->netns);
		if (!x || memcmp(x, s, sizeof(*x)))
			say(fn, pctx, &n,
			    "index.sqlite: offset 0: netns %" PRIu64
			    " row disagrees with the segments",
			    s->netns);
	}
	if (idx->nprocs != seg->nprocs)
		say(fn, pctx, &n,
		    "index.sqlite: offset 0: processes table has %zu rows, segments %zu",
		    idx->nprocs, seg->nprocs);
	for (size_t i = 0; i < seg->nprocs; i++) {
		const struct dnsreel_proc_ctx *s = &seg->procs[i];
		const struct dnsreel_proc_ctx *x = dr_catalog_find_proc(idx, s->pid, s->start_ns);
		if (!x || memcmp(x, s, sizeof(*x)))
			say(fn, pctx, &n,
			    "index.sqlite: offset 0: process %u row disagrees with the segments",
			    s->pid);
	}
	if (idx->nsvcs != seg->nsvcs)
		say(fn, pctx, &n,
		    "index.sqlite: offset 0: services table has %zu rows, segments %zu", idx->nsvcs,
		    seg->nsvcs);
	for (size_t i = 0; i < seg->ncounters; i++) {
		const struct dnsreel_counter *s = &seg->counters[i];
		bool ok = false;
		for (size_t k = 0; k < idx->ncounters; k++)
			if (!strcmp(idx->counters[k].name, s->name))
				ok = idx->counters[k].value == s->value;
		if (!ok)
			say(fn, pctx, &n,
			    "index.sqlite: offset 0: counter %s disagrees with the "
			    "segments",
			    s->name);
	}
	return n;
}

static int verify_locked(const char *dir, bool reindex, struct vctx *pv);

int dnsreel_capture_verify(const char *dir, const struct dnsreel_verify_opts *opts)
{
	struct vctx v = {0};
	bool reindex = false;
	if (opts) {
		v.fn = opts->problem;
		v.ctx = opts->ctx;
		reindex = opts->reindex;
		if (opts->sz >=
		    offsetof(struct dnsreel_verify_opts, custody_note_len) + sizeof(size_t))
			v.o = opts;
	}
	struct stat st;
	if (!dir || stat(dir, &st) != 0 || (!S_ISDIR(st.st_mode) && !S_ISREG(st.st_mode)))
		return DNSREEL_E_NOTCAPTURE;
	if (dr_is_merged_dir(dir))
		return dr_verify_merged(dir, opts);
	if (S_ISREG(st.st_mode) && reindex)
		return DNSREEL_E_ARG; /* a pack is read in place, never rewritten */
	if (S_ISREG(st.st_mode)) {
		/* a pack whose member list cannot be read: one problem naming the header */
		struct dr_src *src;
		char msg[512] = "";
		int err = dr_src_open(&src, dir, msg, sizeof(msg));
		if (err == -ENOMEM)
			return err;
		if (err) {
			vprob(&v, msg[0] ? msg : dnsreel_strerror(err));
			return v.count;
		}
		dr_src_close(src);
	}
	int lockfd = -1;
	if (reindex) {
		/* rebuilding under a running writer would replace the index it is writing: take
		 * the writer's lock (capture.c) for the whole repair */
		lockfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (lockfd < 0)
			return -errno;
		if (flock(lockfd, LOCK_EX | LOCK_NB) != 0) {
			int e = errno == EWOULDBLOCK ? -EBUSY : -errno;
			close(lockfd);
			return e;
		}
	}
	int ret = verify_locked(dir, reindex, &v);
	if (lockfd >= 0)
		close(lockfd);
	return ret;
}

static int verify_locked(const char *dir, bool reindex, struct vctx *pv)
{
	struct vctx v = *pv;
	struct dr_catalog seg, idx;
	memset(&seg, 0, sizeof(seg));
	memset(&idx, 0, sizeof(idx));
	int r = dr_scan_capture(dir, &seg, vprob, &v);
	if (r < 0) {
		dr_catalog_free(&seg);
		return r;
	}
	/* custody: the manifest as the files are now, checked against the chain and the index's */
	struct dnsreel_custody *cu = NULL;
	char cmsg[512] = "";
	int cerr = dnsreel_custody_compute(dir, &cu, cmsg, sizeof(cmsg));
	if (cerr && cerr != DNSREEL_E_NOTCAPTURE)
		vprob(&v, cmsg[0] ? cmsg : dnsreel_strerror(cerr));
	const struct dnsreel_verify_opts *o = v.o;
	if (cu && o && o->root_out)
		snprintf(o->root_out, DNSREEL_HASH_HEX, "%s", cu->root);
	if (o && o->custody_note && o->custody_note_len) {
		if (!cu)
			snprintf(o->custody_note, o->custody_note_len, "no custody: no segments");
		else if (!cu->chained)
			snprintf(o->custody_note, o->custody_note_len,
				 "no chain: recorded before custody (format 1.0)");
		else if (cu->nsegments && cu->segments[0].segment > 1)
			snprintf(o->custody_note, o->custody_note_len,
				 "chain of %zu segments from seg/%06u.zst (earlier ones removed)",
				 cu->nsegments, cu->segments[0].segment);
		else
			snprintf(o->custody_note, o->custody_note_len, "chain of %zu segment%s",
				 cu->nsegments, cu->nsegments == 1 ? "" : "s");
	}
	if (cu && o && o->expect_root && strcmp(o->expect_root, cu->root)) {
		char msg[300];
		snprintf(msg, sizeof(msg),
			 "custody: root hash %s is not the expected %.70s (the capture differs "
			 "from the one that hash was taken of)",
			 cu->root, o->expect_root);
		vprob(&v, msg);
	}
	char path[4096];
	snprintf(path, sizeof(path), "%s/index.sqlite", dir);
	if (reindex) {
		int repaired = 0;
		for (size_t i = 0; i < seg.nsegs; i++) {
			if (!seg.segs[i].torn)
				continue;
			char msg[600];
			int err = move_torn_tail(dir, &seg.segs[i], msg, sizeof(msg));
			if (err) {
				vprob(&v, msg);
				continue;
			}
			if (v.fn)
				v.fn(v.ctx, msg);
			repaired++;
		}
		v.count -= repaired;
		if (repaired) {
			/* the manifest describes the segments as repaired */
			dnsreel_custody_free(cu);
			cu = NULL;
			dnsreel_custody_compute(dir, &cu, NULL, 0);
		}
		if (v.count > 0)
			/* the rebuilt index lacks what the damage held: say so to every reader */
			snprintf(seg.damage, sizeof(seg.damage), "%d problem%s; first: %s", v.count,
				 v.count == 1 ? "" : "s", v.first);
		seg.custody = cu;
		int err = dr_index_write_file(path, &seg);
		dr_catalog_free(&seg);
		dnsreel_custody_free(cu);
		return err ? err : v.count;
	}
	char eb[512] = "";
	struct dr_src *src = NULL;
	int err = dr_src_open(&src, dir, eb, sizeof(eb));
	bool is_pack = !err && src->pack;
	if (!err && src->cut[0])
		vprob(&v, src->cut);
	if (!err)
		err = dr_index_load_src(src, &idx, eb, sizeof(eb));
	dr_src_close(src);
	if (err == DNSREEL_E_VERSION) {
		vprob(&v, eb);
		dnsreel_custody_free(cu);
		dr_catalog_free(&seg);
		dr_catalog_free(&idx);
		return DNSREEL_E_VERSION;
	}
	if (err) {
		char msg[600];
		snprintf(msg, sizeof(msg), "%s%s", eb[0] ? eb : "index.sqlite: offset 0: ",
			 !eb[0]	   ? dnsreel_strerror(err)
			 : is_pack ? " (dnsreel unpack it, then verify --reindex rebuilds it)"
				   : " (run verify --reindex to rebuild it)");
		vprob(&v, msg);
	} else {
		v.count += dr_catalog_compare(&idx, &seg, v.fn, v.ctx);
	}
	if (cu)
		v.count += dr_custody_verify(dir, cu, v.fn, v.ctx);
	dnsreel_custody_free(cu);
	dr_catalog_free(&seg);
	dr_catalog_free(&idx);
	return v.count;
}
