/* Capture reader: catalog from index.sqlite (or from scanning the segments), frame decoding
 * with every length checked, pruning, context lookups, and refresh for --follow.
 */
#include <errno.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zstd.h>

#include "capture_int.h"

struct dnsreel_capr {
	char *dir;
	struct dr_src *src; /* the directory or pack the files come from */
	struct dr_catalog cat;
	bool scanned;
	struct dr_file f; /* the segment fdseg, open for frame reads */
	uint32_t fdseg;
	ZSTD_DCtx *dctx;
	struct dr_buf fbuf;
	uint64_t bytes_index;
	char first_problem[512];
	int problems;
	struct dnsreel_custody *custody; /* computed on first use */
};

struct blockpriv {
	uint8_t *arena;
};

static void note_problem(void *ctx, const char *msg)
{
	struct dnsreel_capr *r = ctx;
	if (!r->problems++)
		snprintf(r->first_problem, sizeof(r->first_problem), "%s", msg);
}

static uint64_t file_size(const struct dr_src *src, const char *name)
{
	if (src->pack) {
		const struct dr_member *m = dr_src_member(src, name);
		return m ? m->avail : 0;
	}
	char path[4096];
	struct stat st;
	snprintf(path, sizeof(path), "%s/%s", src->path, name);
	return stat(path, &st) == 0 ? (uint64_t)st.st_size : 0;
}

/* The META record that starts segment seg: 1 found, 0 none readable (damage is left to the
 * scanners), DNSREEL_E_VERSION with *m's version filled for a newer major. */
static int segment_meta(const struct dr_src *src, uint32_t seg, struct dnsreel_meta *m)
{
	char name[32];
	snprintf(name, sizeof(name), "seg/%06u.zst", seg);
	struct dr_file f;
	if (dr_src_file(src, name, &f))
		return 0;
	uint8_t h[DR_REC_HDR];
	int found = 0;
	if (!dr_file_pread(&f, h, sizeof(h), 0) && dr_rd32(h) == DR_SKIP_MAGIC &&
	    h[8] == DR_REC_META) {
		uint32_t size = dr_rd32(h + 4);
		uint8_t *rec = size >= 8 && size <= DR_MAX_REC ? malloc(8 + (size_t)size) : NULL;
		if (rec && !dr_file_pread(&f, rec, 8 + (size_t)size, 0)) {
			struct dr_scan sc = {rec, 8 + (size_t)size, 0};
			struct dr_item it;
			const char *msg;
			uint32_t sn;
			if (dr_scan_next(&sc, &it, &msg) == 1 && it.type == DR_REC_META) {
				int err = dr_meta_de(it.body, it.body_len, m, &sn);
				found = err == DNSREEL_E_VERSION ? err : !err;
			}
		}
		free(rec);
	}
	dr_file_close(&f);
	return found;
}

/* A segment longer than the index says, while no writer holds the capture: the recorder
 * stopped (killed, crashed, power lost) after writing frames and before indexing them, the
 * crash state FORMAT.md documents. Those frames are evidence like any other; the caller reads
 * the segments instead of the index. Writes the note into msg. */
static bool index_lags(const struct dr_src *src, const struct dr_catalog *c, char *msg,
		       size_t msglen)
{
	const char *dir = src->path;
	if (src->pack)
		return false; /* a pack is written from a closed capture */
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return false;
	/* a live writer holds the directory: its index follows a frame behind by design */
	bool idle = flock(fd, LOCK_SH | LOCK_NB) == 0;
	close(fd);
	if (!idle)
		return false;
	for (size_t k = 0; k < c->nsegs; k++) {
		char name[32];
		snprintf(name, sizeof(name), "seg/%06u.zst", c->segs[k].segment);
		uint64_t size = file_size(src, name);
		if (size > c->segs[k].bytes) {
			snprintf(
			    msg, msglen,
			    "%s/index.sqlite: %s has %llu bytes past what the index lists (the "
			    "recorder stopped before indexing its last frames): read from the "
			    "segments; 'dnsreel verify --reindex %s' brings the index up to date",
			    dir, name, (unsigned long long)(size - c->segs[k].bytes), dir);
			return true;
		}
	}
	return false;
}

int dnsreel_capr__open(struct dnsreel_capr **out, const char *dir,
		       const struct dnsreel_capr_opts *opts, char *errbuf, size_t errlen)
{
	*out = NULL;
	if (errbuf && errlen)
		errbuf[0] = 0;
	if (!dir)
		return DNSREEL_E_ARG;
	uint32_t flags = 0;
	if (opts && opts->sz >= offsetof(struct dnsreel_capr_opts, flags) + sizeof(uint32_t))
		flags = opts->flags;
	struct stat st;
	if (stat(dir, &st) != 0)
		return dr_errf(errbuf, errlen, -errno, "%s: %s", dir, strerror(errno));
	if (!S_ISDIR(st.st_mode) && !S_ISREG(st.st_mode))
		return dr_errf(errbuf, errlen, DNSREEL_E_NOTCAPTURE, "%s: not a capture directory",
			       dir);
	struct dnsreel_capr *r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	r->f.fd = -1;
	r->dir = strdup(dir);
	r->dctx = ZSTD_createDCtx();
	int err = -ENOMEM;
	if (!r->dir || !r->dctx)
		goto fail;
	err = dr_src_open(&r->src, dir, errbuf, errlen);
	if (err)
		goto fail;
	char path[4096], segdir[4096];
	snprintf(path, sizeof(path), "%s/index.sqlite", dir);
	snprintf(segdir, sizeof(segdir), "%s/seg", dir);
	bool have_index, seg_exists, have_seg;
	if (r->src->pack) {
		const struct dr_member *im = dr_src_member(r->src, "index.sqlite");
		uint32_t *sv;
		size_t sn = 0;
		if (dr_src_segments(r->src, &sv, &sn) == 0)
			free(sv);
		have_index = im && im->avail == im->size;
		seg_exists = have_seg = sn > 0;
	} else {
		have_index = lstat(path, &st) == 0 || errno != ENOENT;
		seg_exists = stat(segdir, &st) == 0;
		have_seg = seg_exists && S_ISDIR(st.st_mode);
	}
	if (r->src->cut[0]) {
		/* a cut pack opens with what is intact, and says what was lost */
		snprintf(r->first_problem, sizeof(r->first_problem), "%s", r->src->cut);
		r->problems = 1;
	}
	if (!have_seg && !r->src->pack && dr_is_merged_dir(dir)) {
		err = dr_errf(errbuf, errlen, DNSREEL_E_NOTCAPTURE,
			      "%s: a merged capture: its parts (%s/parts/*) are the captures to "
			      "open (dnsreel_capture_expand())",
			      dir, dir);
		goto fail;
	}
	if (!have_index && !have_seg) {
		err = dr_errf(errbuf, errlen, DNSREEL_E_NOTCAPTURE,
			      "%s: not a capture (no index.sqlite and no seg/)", dir);
		goto fail;
	}
	if (!have_seg) {
		/* the segments are the evidence; an index alone has no events to give */
		err = dr_errf(errbuf, errlen, DNSREEL_E_NOTCAPTURE,
			      "%s/seg: %s: the capture's segments are gone (copy the whole "
			      "NAME.reel directory)",
			      dir, seg_exists ? "not a directory" : "missing");
		goto fail;
	}
	err = 1;
	if (have_index && !(flags & DNSREEL_CAPR_SCAN)) {
		char ibuf[512] = "";
		err = dr_index_load_src(r->src, &r->cat, ibuf, sizeof(ibuf));
		if (err == DNSREEL_E_VERSION || err == -ENOMEM) {
			dr_errf(errbuf, errlen, err, "%s", ibuf[0] ? ibuf : dnsreel_strerror(err));
			goto fail;
		}
		if (!err && r->cat.nsegs) {
			/* the index is only a cache: its version and clock must be the segments' */
			uint32_t first = r->cat.segs[0].segment;
			for (size_t k = 1; k < r->cat.nsegs; k++)
				if (r->cat.segs[k].segment < first)
					first = r->cat.segs[k].segment;
			struct dnsreel_meta sm;
			int f = segment_meta(r->src, first, &sm);
			const struct dnsreel_meta *im = &r->cat.meta;
			if (f == DNSREEL_E_VERSION) {
				err =
				    dr_errf(errbuf, errlen, f,
					    "%s/seg/%06u.zst: offset 0: written by format version "
					    "%u.%u; this dnsreel (%s) reads format %d.x and older: "
					    "upgrade dnsreel",
					    dir, first, sm.format_major, sm.format_minor,
					    DNSREEL_VERSION, DNSREEL_FORMAT_MAJOR);
				goto fail;
			}
			if (f == 1 && (sm.format_major != im->format_major ||
				       sm.format_minor != im->format_minor ||
				       sm.boot_to_wall_ns != im->boot_to_wall_ns ||
				       strcmp(sm.capture_id, im->capture_id))) {
				snprintf(
				    ibuf, sizeof(ibuf),
				    "%.300s: capture_info (format %u.%u, boot_to_wall_ns %lld) "
				    "disagrees with seg/%06u.zst META (format %u.%u, "
				    "boot_to_wall_ns %lld)",
				    path, im->format_major, im->format_minor,
				    (long long)im->boot_to_wall_ns, first, sm.format_major,
				    sm.format_minor, (long long)sm.boot_to_wall_ns);
				err = DNSREEL_E_INDEX;
			}
		}
		if (err) {
			/* a damaged index is only a cache: fall back to the segments */
			dr_catalog_free(&r->cat);
			snprintf(r->first_problem, sizeof(r->first_problem),
				 "%s (scanned the segments instead)", ibuf);
			r->problems = 1;
		} else if (index_lags(r->src, &r->cat, r->first_problem,
				      sizeof(r->first_problem))) {
			dr_catalog_free(&r->cat);
			r->problems = 1;
			err = 1;
		} else if (r->cat.damage[0]) {
			snprintf(r->first_problem, sizeof(r->first_problem),
				 "%.200s: verify --reindex left damaged frames out: %.250s", path,
				 r->cat.damage);
			r->problems = 1;
		}
	}
	if (err) {
		r->scanned = true;
		int p = dr_scan_capture(dir, &r->cat, note_problem, r);
		if (p < 0) {
			err = dr_errf(errbuf, errlen, p, "%s/%s", dir,
				      r->first_problem[0] ? r->first_problem : dnsreel_strerror(p));
			goto fail;
		}
	}
	struct dnsreel_capr_summary su;
	dnsreel_capr__summary(r, &su);
	int64_t w;
	if (su.frames && (dnsreel_wall_ns(su.first_ts, r->cat.meta.boot_to_wall_ns, &w) ||
			  dnsreel_wall_ns(su.last_ts, r->cat.meta.boot_to_wall_ns, &w))) {
		/* every event lies inside its frame's range, so checking the extremes here makes
		 * every later ts + boot_to_wall_ns safe */
		err = dr_errf(errbuf, errlen, DNSREEL_E_CORRUPT,
			      "%s/%s: boot_to_wall_ns %lld puts events outside the years "
			      "1970..2262 (damaged clock offset)",
			      dir, r->scanned ? "seg (META)" : "index.sqlite",
			      (long long)r->cat.meta.boot_to_wall_ns);
		goto fail;
	}
	r->bytes_index = file_size(r->src, "index.sqlite") + file_size(r->src, "index.sqlite-wal");
	*out = r;
	return 0;
fail:
	dnsreel_capr__close(r);
	return err;
}

void dnsreel_capr__close(struct dnsreel_capr *r)
{
	if (!r)
		return;
	dr_file_close(&r->f);
	dr_src_close(r->src);
	ZSTD_freeDCtx(r->dctx);
	dnsreel_custody_free(r->custody);
	dr_catalog_free(&r->cat);
	dr_buf_free(&r->fbuf);
	free(r->dir);
	free(r);
}

const char *dnsreel_capr__path(const struct dnsreel_capr *r)
{
	return r->dir;
}

const struct dnsreel_meta *dnsreel_capr__meta(const struct dnsreel_capr *r)
{
	return &r->cat.meta;
}

bool dnsreel_capr__scanned(const struct dnsreel_capr *r)
{
	return r->scanned;
}

const char *dnsreel_capr__problem(const struct dnsreel_capr *r)
{
	return r->problems ? r->first_problem : NULL;
}

size_t dnsreel_capr__frame_count(const struct dnsreel_capr *r)
{
	return r->cat.nframes;
}

const struct dnsreel_frame_info *dnsreel_capr__frame(const struct dnsreel_capr *r, size_t i)
{
	return i < r->cat.nframes ? &r->cat.frames[i].fi : NULL;
}

static bool has_netns(const struct dnsreel_frame_info *fi, uint64_t ns)
{
	size_t lo = 0, hi = fi->netns_count;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (fi->netns[mid] == ns)
			return true;
		if (fi->netns[mid] < ns)
			lo = mid + 1;
		else
			hi = mid;
	}
	return false;
}

bool dnsreel_capr__frame_may_match(const struct dnsreel_capr *r, size_t i,
				   const struct dnsreel_prune *p)
{
	if (i >= r->cat.nframes)
		return false;
	if (!p)
		return true;
	const struct dnsreel_frame_info *fi = &r->cat.frames[i].fi;
	int64_t b2w = r->cat.meta.boot_to_wall_ns;
	if (p->since_wall_ns && fi->last_ts + b2w < p->since_wall_ns)
		return false;
	if (p->until_wall_ns && fi->first_ts + b2w > p->until_wall_ns)
		return false;
	if (p->netns_count && p->netns && fi->netns_count && fi->netns) {
		bool any = false;
		for (size_t k = 0; k < p->netns_count && !any; k++)
			any = has_netns(fi, p->netns[k]);
		if (!any)
			return false;
	}
	if (p->qr_mask && !(p->qr_mask & fi->qr_mask))
		return false;
	if (p->rcode_mask && !(p->rcode_mask & fi->rcode_mask))
		return false;
	if (p->name && fi->name_bloom_bits && fi->name_bloom) {
		uint64_t h = dnsreel_name_hash(p->name, strlen(p->name));
		if (!dr_bloom_has(fi->name_bloom, fi->name_bloom_bits, h))
			return false;
	}
	return true;
}

static int seg_fd(struct dnsreel_capr *r, uint32_t seg)
{
	if (r->f.fd >= 0 && r->fdseg == seg)
		return 0;
	dr_file_close(&r->f);
	char name[32];
	snprintf(name, sizeof(name), "seg/%06u.zst", seg);
	int err = dr_src_file(r->src, name, &r->f);
	r->fdseg = seg;
	return err;
}

int dnsreel_capr__read_frame(struct dnsreel_capr *r, size_t i, struct dnsreel_block *blk,
			     char *errbuf, size_t errlen)
{
	memset(blk, 0, sizeof(*blk));
	if (i >= r->cat.nframes)
		return DNSREEL_E_ARG;
	const struct dnsreel_frame_info *fi = &r->cat.frames[i].fi;
	char name[32];
	snprintf(name, sizeof(name), "seg/%06u.zst", fi->segment);
	int fd = seg_fd(r, fi->segment);
	if (fd < 0)
		return dr_errf(errbuf, errlen, fd, "%s/%s: offset 0: %s", r->dir, name,
			       fd == DNSREEL_E_NOTREG ? "not a regular file"
						      : dnsreel_strerror(fd));
	if (fi->length > DR_MAX_ZLEN + DR_MAX_REC)
		return dr_errf(errbuf, errlen, DNSREEL_E_CORRUPT,
			       "%s/%s: offset %llu: frame length %u out of range", r->dir, name,
			       (unsigned long long)fi->offset, fi->length);
	r->fbuf.len = 0;
	if (dr_buf_reserve(&r->fbuf, fi->length))
		return -ENOMEM;
	/* a directory's segment may grow (--follow): its size is read again, a pack's is fixed */
	struct stat fst;
	if (!r->src->pack && fstat(r->f.fd, &fst) == 0)
		r->f.size = (uint64_t)fst.st_size;
	int rerr = dr_file_pread(&r->f, r->fbuf.p, fi->length, fi->offset);
	if (rerr == DNSREEL_E_TRUNCATED)
		return dr_errf(errbuf, errlen, DNSREEL_E_TRUNCATED,
			       "%s/%s: offset %llu: file ends inside the frame (truncated)", r->dir,
			       name, (unsigned long long)fi->offset);
	if (rerr)
		return dr_errf(errbuf, errlen, rerr, "%s/%s: offset %llu: %s", r->dir, name,
			       (unsigned long long)fi->offset, dnsreel_strerror(rerr));
	struct dr_scan s = {r->fbuf.p, fi->length, 0};
	struct dr_item it;
	const char *msg = "not a block";
	int rc = dr_scan_next(&s, &it, &msg);
	if (rc == 1 && (it.type != DR_REC_BLOCK || it.len != fi->length))
		rc = DNSREEL_E_INDEX;
	if (rc != 1)
		return dr_errf(errbuf, errlen, rc < 0 ? rc : DNSREEL_E_CORRUPT,
			       "%s/%s: offset %llu: %s", r->dir, name,
			       (unsigned long long)(fi->offset + s.off),
			       rc == DNSREEL_E_INDEX ? "index entry does not match a block" : msg);
	if (it.bh.events != fi->events || it.bh.first_ts != fi->first_ts ||
	    it.bh.last_ts != fi->last_ts)
		return dr_errf(errbuf, errlen, DNSREEL_E_INDEX,
			       "%s/%s: offset %llu: block header disagrees with the index", r->dir,
			       name, (unsigned long long)fi->offset);
	struct dnsreel_event *ev;
	uint8_t *arena;
	int err = dr_block_decode(r->dctx, &it, &ev, &arena, &msg);
	if (err)
		return dr_errf(errbuf, errlen, err, "%s/%s: offset %llu: %s", r->dir, name,
			       (unsigned long long)fi->offset, msg);
	blk->n = it.bh.events;
	blk->ev = ev;
	blk->priv = arena;
	return 0;
}

void dnsreel_block__release(struct dnsreel_block *blk)
{
	if (!blk)
		return;
	free(blk->ev);
	free(blk->priv);
	memset(blk, 0, sizeof(*blk));
}

/* Frames from before on that refresh added must keep every ts + boot_to_wall_ns in range, as
 * open checked for the first ones: otherwise they are dropped again and the capture is
 * reported damaged. */
static int drop_bad_walls(struct dnsreel_capr *r, size_t before, int added)
{
	for (size_t i = before; i < r->cat.nframes; i++) {
		const struct dnsreel_frame_info *f = &r->cat.frames[i].fi;
		int64_t w;
		if (dnsreel_wall_ns(f->first_ts, r->cat.meta.boot_to_wall_ns, &w) ||
		    dnsreel_wall_ns(f->last_ts, r->cat.meta.boot_to_wall_ns, &w)) {
			for (size_t k = before; k < r->cat.nframes; k++) {
				free(r->cat.frames[k].netns_own);
				free(r->cat.frames[k].bloom_own);
			}
			r->cat.nframes = before;
			return DNSREEL_E_CORRUPT;
		}
	}
	return added;
}

int dnsreel_capr__refresh(struct dnsreel_capr *r)
{
	if (r->src->pack)
		return 0; /* a pack never grows */
	if (r->scanned) {
		/* no index to follow: rescan and keep the frames we did not have */
		struct dr_catalog c;
		memset(&c, 0, sizeof(c));
		int p = dr_scan_capture(r->dir, &c, NULL, NULL);
		if (p < 0) {
			dr_catalog_free(&c);
			return p;
		}
		int added = 0;
		size_t before = r->cat.nframes;
		for (size_t i = 0; i < c.nframes; i++) {
			const struct dnsreel_frame_info *f = &c.frames[i].fi;
			bool known = false;
			for (size_t k = r->cat.nframes; k-- > 0 && !known;)
				known = r->cat.frames[k].fi.segment == f->segment &&
					r->cat.frames[k].fi.offset == f->offset;
			if (!known) {
				int err = dr_catalog_add_frame(&r->cat, f);
				if (err) {
					dr_catalog_free(&c);
					return err;
				}
				added++;
			}
		}
		for (size_t i = 0; i < c.nnetns; i++)
			dr_catalog_upsert_netns(&r->cat, &c.netns[i]);
		for (size_t i = 0; i < c.nprocs; i++)
			dr_catalog_upsert_proc(&r->cat, &c.procs[i]);
		for (size_t i = 0; i < c.nsvcs; i++)
			dr_catalog_upsert_service(&r->cat, &c.svcs[i]);
		for (size_t i = 0; i < c.ncounters; i++)
			dr_catalog_set_counter(&r->cat, c.counters[i].name, c.counters[i].value);
		dr_catalog_free(&c);
		return added > 0 ? drop_bad_walls(r, before, added) : added;
	}
	char path[4096];
	snprintf(path, sizeof(path), "%s/index.sqlite", r->dir);
	sqlite3 *db;
	int err = dr_index_open_ro(path, &db, NULL, 0);
	if (err)
		return err;
	uint32_t seg = 0;
	uint64_t off = 0;
	for (size_t i = 0; i < r->cat.nframes; i++) {
		const struct dnsreel_frame_info *f = &r->cat.frames[i].fi;
		if (f->segment > seg || (f->segment == seg && f->offset > off)) {
			seg = f->segment;
			off = f->offset;
		}
	}
	sqlite3_exec(db, "BEGIN", NULL, NULL, NULL);
	size_t before = r->cat.nframes;
	int added = dr_index_load_frames_after(db, &r->cat, seg, off, r->cat.nframes > 0);
	if (added >= 0) {
		err = dr_index_load_context(db, &r->cat);
		if (err)
			added = err;
	}
	sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
	sqlite3_close(db);
	if (added > 0)
		added = drop_bad_walls(r, before, added);
	if (added > 0 && r->cat.nframes > before) {
		/* new frames are sorted among themselves and kept after the old ones, so frame
		 * numbers a follower already used stay valid */
		struct dr_catalog tmp = r->cat;
		tmp.frames = r->cat.frames + before;
		tmp.nframes = r->cat.nframes - before;
		dr_catalog_sort_frames(&tmp);
	}
	r->bytes_index = file_size(r->src, "index.sqlite") + file_size(r->src, "index.sqlite-wal");
	return added;
}

const struct dnsreel_netns_ctx *dnsreel_capr__netns(const struct dnsreel_capr *r, uint64_t netns)
{
	return dr_catalog_find_netns(&r->cat, netns);
}

size_t dnsreel_capr__netns_count(const struct dnsreel_capr *r)
{
	return r->cat.nnetns;
}

const struct dnsreel_netns_ctx *dnsreel_capr__netns_at(const struct dnsreel_capr *r, size_t i)
{
	return i < r->cat.nnetns ? &r->cat.netns[i] : NULL;
}

size_t dnsreel_capr__proc_count(const struct dnsreel_capr *r)
{
	return r->cat.nprocs;
}

const struct dnsreel_proc_ctx *dnsreel_capr__proc_at(const struct dnsreel_capr *r, size_t i)
{
	return i < r->cat.nprocs ? &r->cat.procs[i] : NULL;
}

size_t dnsreel_capr__service_count(const struct dnsreel_capr *r)
{
	return r->cat.nsvcs;
}

const struct dnsreel_service_ctx *dnsreel_capr__service_at(const struct dnsreel_capr *r, size_t i)
{
	return i < r->cat.nsvcs ? &r->cat.svcs[i] : NULL;
}

size_t dnsreel_capr__counter_count(const struct dnsreel_capr *r)
{
	return r->cat.ncounters;
}

const struct dnsreel_counter *dnsreel_capr__counter_at(const struct dnsreel_capr *r, size_t i)
{
	return i < r->cat.ncounters ? &r->cat.counters[i] : NULL;
}

void dnsreel_capr__summary(const struct dnsreel_capr *r, struct dnsreel_capr_summary *s)
{
	memset(s, 0, sizeof(*s));
	for (size_t i = 0; i < r->cat.nframes; i++) {
		const struct dnsreel_frame_info *f = &r->cat.frames[i].fi;
		if (!s->frames || f->first_ts < s->first_ts)
			s->first_ts = f->first_ts;
		if (!s->frames || f->last_ts > s->last_ts)
			s->last_ts = f->last_ts;
		s->frames++;
		s->events += f->events;
	}
	s->segments = (uint32_t)r->cat.nsegs;
	for (size_t i = 0; i < r->cat.nsegs; i++)
		s->bytes_segments += r->cat.segs[i].bytes;
	s->bytes_index = r->bytes_index;
}

int dnsreel_capr__custody(struct dnsreel_capr *r, const struct dnsreel_custody **out)
{
	*out = NULL;
	if (!r)
		return DNSREEL_E_ARG;
	if (!r->custody) {
		int err = dnsreel_custody_compute(r->dir, &r->custody, NULL, 0);
		if (err)
			return err;
	}
	*out = r->custody;
	return 0;
}
