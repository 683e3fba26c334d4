/* Capture writer. A flush appends [context records][block header + zstd frame] to the current
 * segment, syncs it, then records the frame in index.sqlite in one transaction; a failure in
 * between cuts the segment back so segments and index keep agreeing. Every new segment starts
 * with the meta record and all context known so far, so any segment stands alone.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdarg.h>
#include <pwd.h>
#include <sodium.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zstd.h>

#include "capture_int.h"

struct dnsreel_capw {
	char *dir;
	struct dnsreel_capw_opts o;
	sqlite3 *db;
	int segfd;
	uint32_t segno; /* current (or last) segment number */
	uint64_t segsize;
	struct dr_segment cur; /* index row of the current segment */
	struct dnsreel_meta meta;
	bool meta_indexed;
	struct dr_catalog all;	/* every context ever put: re-emitted per segment */
	struct dr_catalog pend; /* context put since the last flush */
	bool counters_dirty;
	/* counter values as the index has them (the first nctr_indexed of all.counters, which
	 * only grows and keeps its order): a flush writes only those that changed */
	uint64_t *ctr_indexed;
	size_t nctr_indexed;
	/* pending events: what the encoder and summary keep of them (enc, sum), their payloads
	 * in pay */
	size_t nev;
	struct dr_buf pay;
	struct dr_enc *enc;
	struct dr_sumacc *sum; /* the pending events' summary so far */
	int zstd_level;	       /* of the next frame: o.zstd_level unless set since */
	ZSTD_CCtx *cctx;
	struct dr_buf raw, out, zbuf;
	/* segments on disk, oldest first, for ring mode */
	struct dr_segment *segs;
	size_t nsegs, capsegs;
	struct dnsreel_capw_stats st;
	uint64_t index_bytes;
	int64_t newest_ts;
	int lockfd; /* DIR, flock'd exclusively while this writer lives */
	/* custody: the chain link after the closed segments, the hash of the open one so far */
	uint8_t link[DNSREEL_HASH_BYTES];
	bool have_link;
	crypto_generichash_state segh;
	char user[DNSREEL_SHORT_LEN];
	char host[DNSREEL_NAME_LEN];
	struct dnsreel_custody_input *inputs;
	size_t ninputs;
	/* the manifest's lines of segs[0] up to the open segment, kept between flushes */
	struct dr_mpart mclosed;
};

/* Fills the caller's error buffer, if any; returns err. */
static int werr(const struct dnsreel_capw *w, int err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int werr(const struct dnsreel_capw *w, int err, const char *fmt, ...)
{
	if (w->o.errbuf && w->o.errlen) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(w->o.errbuf, w->o.errlen, fmt, ap);
		va_end(ap);
	}
	return err;
}

static int wsqlerr(const struct dnsreel_capw *w, int err, const char *what)
{
	return werr(w, err, "%s/index.sqlite: %s: %s", w->dir, what,
		    w->db ? sqlite3_errmsg(w->db) : "cannot open");
}

static int fsync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	int err = fsync(fd) ? -errno : 0;
	close(fd);
	return err;
}

/* Creates DIR or accepts it empty, under an exclusive lock taken before looking inside, so of
 * two writers started at once exactly one proceeds and the other sees -EBUSY. */
static int dir_lock_empty_or_create(const char *dir, int *lockfd, bool *created)
{
	*created = mkdir(dir, 0755) == 0;
	if (!*created && errno != EEXIST)
		return -errno;
	*lockfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (*lockfd < 0)
		return -errno;
	if (flock(*lockfd, LOCK_EX | LOCK_NB) != 0)
		return errno == EWOULDBLOCK ? -EBUSY : -errno;
	DIR *d = opendir(dir);
	if (!d)
		return -errno;
	struct dirent *de;
	int err = 0;
	while ((de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			err = -EEXIST;
	closedir(d);
	return err;
}

/* The manifest's "who recorded": the caller's names, else the effective user and host. */
static void who_records(struct dnsreel_capw *w)
{
	if (w->o.custody_user)
		snprintf(w->user, sizeof(w->user), "%s", w->o.custody_user);
	else {
		struct passwd pw, *res = NULL;
		char buf[4096];
		if (getpwuid_r(geteuid(), &pw, buf, sizeof(buf), &res) == 0 && res)
			snprintf(w->user, sizeof(w->user), "%s", res->pw_name);
		else
			snprintf(w->user, sizeof(w->user), "uid %u", (unsigned)geteuid());
	}
	if (w->o.custody_host)
		snprintf(w->host, sizeof(w->host), "%s", w->o.custody_host);
	else if (gethostname(w->host, sizeof(w->host) - 1) != 0)
		w->host[0] = 0;
}

int dnsreel_capw__open(struct dnsreel_capw **out, const char *dir,
		       const struct dnsreel_capw_opts *opts)
{
	*out = NULL;
	if (!dir || !*dir)
		return DNSREEL_E_ARG;
	struct dnsreel_capw *w = calloc(1, sizeof(*w));
	if (!w)
		return -ENOMEM;
	w->segfd = -1;
	w->lockfd = -1;
	bool created = false, made = false;
	if (opts) {
		size_t n = opts->sz && opts->sz < sizeof(w->o) ? opts->sz : sizeof(w->o);
		memcpy(&w->o, opts, n);
	}
	if (!w->o.snaplen)
		w->o.snaplen = 65535;
	if (!w->o.block_events)
		w->o.block_events = DNSREEL_CAPW_DEFAULT_BLOCK_EVENTS;
	if (w->o.block_events > DR_MAX_BLOCK_EVENTS)
		w->o.block_events = DR_MAX_BLOCK_EVENTS;
	if (!w->o.segment_bytes)
		w->o.segment_bytes = DNSREEL_CAPW_DEFAULT_SEGMENT_BYTES;
	if (!w->o.zstd_level)
		w->o.zstd_level = DNSREEL_CAPW_DEFAULT_ZSTD_LEVEL;
	w->zstd_level = w->o.zstd_level;
	w->meta.format_major = DNSREEL_FORMAT_MAJOR;
	w->meta.format_minor = DNSREEL_FORMAT_MINOR;
	w->meta.snaplen = w->o.snaplen;
	who_records(w);
	w->o.custody_user = w->o.custody_host = NULL; /* copied: the caller's may go */
	int err = -ENOMEM;
	if (sodium_init() < 0)
		goto fail;
	w->dir = strdup(dir);
	if (!w->dir)
		goto fail;
	err = dir_lock_empty_or_create(dir, &w->lockfd, &created);
	if (err == -EBUSY) {
		werr(w, err, "%s: in use by another writer (dnsreel-record already records there)",
		     dir);
		goto fail;
	}
	if (err == -EEXIST) {
		werr(w, err, "%s: exists and is not empty (choose a new capture path)", dir);
		goto fail;
	}
	if (err) {
		werr(w, err, "%s: %s", dir, strerror(-err));
		goto fail;
	}
	made = true; /* from here on, a failure removes what this open made */
	char path[4096];
	snprintf(path, sizeof(path), "%s/seg", dir);
	if (mkdir(path, 0755) != 0 && errno != EEXIST) {
		err = werr(w, -errno, "%s: %s", path, strerror(errno));
		goto fail;
	}
	snprintf(path, sizeof(path), "%s/index.sqlite", dir);
	if (sqlite3_open_v2(path, &w->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) !=
	    SQLITE_OK) {
		err = wsqlerr(w, DNSREEL_E_SQLITE, "cannot create");
		goto fail;
	}
	/* WAL while recording so --follow readers never block the writer */
	err =
	    sqlite3_exec(
		w->db,
		w->o.no_fsync
		    ? "PRAGMA page_size=1024; PRAGMA journal_mode=WAL; PRAGMA synchronous=OFF; "
		      "PRAGMA wal_autocheckpoint=64; PRAGMA journal_size_limit=262144"
		    : "PRAGMA page_size=1024; PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; "
		      "PRAGMA wal_autocheckpoint=64; PRAGMA journal_size_limit=262144",
		NULL, NULL, NULL) == SQLITE_OK
		? 0
		: DNSREEL_E_SQLITE;
	if (!err)
		err = dr_index_create(w->db);
	if (err) {
		wsqlerr(w, err, "cannot create the schema");
		goto fail;
	}
	err = dr_enc_new(&w->enc);
	if (!err)
		err = dr_sumacc_new(&w->sum);
	if (err)
		goto fail;
	w->cctx = ZSTD_createCCtx();
	if (!w->cctx) {
		err = -ENOMEM;
		goto fail;
	}
	ZSTD_CCtx_setParameter(w->cctx, ZSTD_c_compressionLevel, w->o.zstd_level);
	ZSTD_CCtx_setParameter(w->cctx, ZSTD_c_checksumFlag, 1);
	ZSTD_CCtx_setParameter(w->cctx, ZSTD_c_contentSizeFlag, 1);
	/* the new folder's entry must survive a crash, or the capture vanishes with it */
	if (!w->o.no_fsync && (err = fsync_dir(dir))) {
		werr(w, err, "%s: fsync: %s", dir, strerror(-err));
		goto fail;
	}
	*out = w;
	return 0;
fail:
	if (w->db)
		sqlite3_close(w->db);
	w->db = NULL;
	if (made) {
		/* leave nothing half-made: the lock says these are ours */
		static const char *const parts[] = {"index.sqlite", "index.sqlite-wal",
						    "index.sqlite-shm", "index.sqlite-journal"};
		char path[4096];
		for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++) {
			snprintf(path, sizeof(path), "%s/%s", dir, parts[i]);
			unlink(path);
		}
		snprintf(path, sizeof(path), "%s/seg", dir);
		rmdir(path);
		if (created)
			rmdir(dir);
	}
	if (w->lockfd >= 0)
		close(w->lockfd);
	dr_enc_free(w->enc);
	dr_sumacc_free(w->sum);
	free(w->dir);
	free(w);
	return err;
}

int dnsreel_capw__set_meta(struct dnsreel_capw *w, const struct dnsreel_meta *meta)
{
	if (!w || !meta)
		return DNSREEL_E_ARG;
	if (w->st.frames || w->nev)
		return DNSREEL_E_STATE;
	w->meta = *meta;
	w->meta.format_major = DNSREEL_FORMAT_MAJOR;
	w->meta.format_minor = DNSREEL_FORMAT_MINOR;
	w->meta.snaplen = w->o.snaplen;
	w->meta_indexed = false;
	return 0;
}

int dnsreel_capw__put_netns(struct dnsreel_capw *w, const struct dnsreel_netns_ctx *ns)
{
	if (!w || !ns)
		return DNSREEL_E_ARG;
	int err = dr_catalog_upsert_netns(&w->all, ns);
	return err ? err : dr_catalog_upsert_netns(&w->pend, ns);
}

int dnsreel_capw__put_proc(struct dnsreel_capw *w, const struct dnsreel_proc_ctx *p)
{
	if (!w || !p)
		return DNSREEL_E_ARG;
	int err = dr_catalog_upsert_proc(&w->all, p);
	return err ? err : dr_catalog_upsert_proc(&w->pend, p);
}

int dnsreel_capw__put_service(struct dnsreel_capw *w, const struct dnsreel_service_ctx *s)
{
	if (!w || !s)
		return DNSREEL_E_ARG;
	int err = dr_catalog_upsert_service(&w->all, s);
	return err ? err : dr_catalog_upsert_service(&w->pend, s);
}

int dnsreel_capw__set_counter(struct dnsreel_capw *w, const char *name, uint64_t value)
{
	if (!w || !name || !*name || strlen(name) >= DNSREEL_SHORT_LEN)
		return DNSREEL_E_ARG;
	for (size_t i = 0; i < w->all.ncounters; i++)
		if (!strcmp(w->all.counters[i].name, name) && w->all.counters[i].value == value)
			return 0;
	int err = dr_catalog_set_counter(&w->all, name, value);
	if (!err)
		w->counters_dirty = true;
	return err;
}

int dnsreel_capw__append(struct dnsreel_capw *w, const struct dnsreel_event *ev)
{
	if (!w || !ev || (ev->cap_len && !ev->payload))
		return DNSREEL_E_ARG;
	/* a block also ends before its payloads could outgrow what a reader accepts */
	if (w->nev >= w->o.block_events ||
	    (w->nev && w->pay.len + ev->cap_len > (size_t)DR_MAX_RAW / 4)) {
		int err = dnsreel_capw__flush(w);
		if (err) {
			/* this event never reaches the disk: count it, stored with the next flush
			 * that succeeds */
			w->st.events_lost++;
			if (dr_catalog_set_counter(&w->all, "lost.write", w->st.events_lost) == 0)
				w->counters_dirty = true;
			return err;
		}
	}
	/* The block keeps what encoding needs of the event (dr_enc_add), not the event itself;
	 * a copy only where the stored event differs from the one given (nearly never). A comm
	 * with bytes after its NUL needs none: the tuple is built without them. */
	const struct dnsreel_event *e = ev;
	struct dnsreel_event st;
	uint32_t len = ev->cap_len < w->o.snaplen ? ev->cap_len : w->o.snaplen;
	uint32_t orig = ev->orig_len < ev->cap_len ? ev->cap_len : ev->orig_len;
	if (len != ev->cap_len || orig != ev->orig_len ||
	    (len < orig && !(ev->flags & DNSREEL_EV_TRUNCATED))) {
		st = *ev;
		st.cap_len = len;
		st.orig_len = orig;
		if (len < orig)
			st.flags |= DNSREEL_EV_TRUNCATED;
		e = &st;
	}
	size_t off = w->pay.len;
	dr_put(&w->pay, ev->payload, len);
	if (w->pay.err) {
		int err = w->pay.err;
		w->pay.err = 0;
		return err;
	}
	/* while the event and its payload are in cache: what encoding and the summary need of
	 * it; either failing takes the event back whole. pay may move: an offset until flush. */
	const uint8_t *p = w->pay.p + off;
	struct dr_qname q;
	int err = dr_enc_add(w->enc, e, p, off);
	if (!err) {
		dr_enc_last_qname(w->enc, &q);
		err = dr_sumacc_add(w->sum, e, p, w->pay.p, &q);
		if (err)
			dr_enc_drop_last(w->enc);
	}
	if (err) {
		w->pay.len = off;
		return err;
	}
	w->nev++;
	w->st.events++;
	w->st.bytes_payload += len;
	return 0;
}

static int write_all(int fd, const uint8_t *p, size_t len, uint64_t off)
{
	while (len) {
		ssize_t r = pwrite(fd, p, len, (off_t)off);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		if (r == 0)
			return -EIO;
		p += r;
		len -= (size_t)r;
		off += (uint64_t)r;
	}
	return 0;
}

static int index_bytes(struct dnsreel_capw *w)
{
	char path[4096];
	struct stat st;
	uint64_t total = 0;
	snprintf(path, sizeof(path), "%s/index.sqlite", w->dir);
	if (stat(path, &st) == 0)
		total += (uint64_t)st.st_size;
	snprintf(path, sizeof(path), "%s/index.sqlite-wal", w->dir);
	if (stat(path, &st) == 0)
		total += (uint64_t)st.st_size;
	w->index_bytes = total;
	return 0;
}

static void update_disk_stats(struct dnsreel_capw *w)
{
	uint64_t b = 0;
	for (size_t i = 0; i < w->nsegs; i++)
		b += w->segs[i].bytes;
	w->st.bytes_disk = b + w->index_bytes;
}

static void custody_seg(const struct dr_segment *sg, struct dnsreel_custody_segment *cs)
{
	cs->segment = sg->segment;
	cs->bytes = sg->bytes;
	cs->chain_segment = sg->segment;
	dr_hex(sg->hash, DNSREEL_HASH_BYTES, cs->hash);
	dr_hex(sg->prev, DNSREEL_HASH_BYTES, cs->prev);
}

/* The manifest of what is on disk, written into the index within the caller's transaction:
 * segments from skip on, the last one as cur says when given (a flush not yet committed).
 * A flush after the first (cur, skip 0; the index holds the closed segments' rows and the
 * inputs already) renders only the open segment, the lines of the closed ones kept in
 * w->mclosed: its work does not grow with the segments but for the manifest text. */
static int put_custody(struct dnsreel_capw *w, const struct dr_segment *cur, size_t skip)
{
	struct dnsreel_custody c;
	memset(&c, 0, sizeof(c));
	c.chained = true;
	c.meta = w->meta;
	snprintf(c.user, sizeof(c.user), "%s", w->user);
	snprintf(c.host, sizeof(c.host), "%s", w->host);
	c.inputs = w->inputs;
	c.ninputs = w->ninputs;
	bool have_ts = false;
	int64_t last = 0;
	for (size_t i = skip; i < w->nsegs; i++) {
		const struct dr_segment *sg = cur && i == w->nsegs - 1 ? cur : &w->segs[i];
		if (sg->frames && (!have_ts || sg->last_ts > last)) {
			last = sg->last_ts;
			have_ts = true;
		}
	}
	if (have_ts && dnsreel_wall_ns(last, w->meta.boot_to_wall_ns, &c.end_wall_ns))
		c.end_wall_ns = 0;
	int err = 0;
	if (cur && skip == 0 && w->meta_indexed && w->nsegs) {
		/* the closed segments from the kept lines (again from the start when ring mode
		 * dropped the first), then the open one */
		struct dr_mpart *mp = &w->mclosed;
		if (mp->n && mp->first != w->segs[0].segment)
			dr_mpart_reset(mp);
		while (!err && mp->n + 1 < w->nsegs) {
			struct dnsreel_custody_segment cs;
			custody_seg(&w->segs[mp->n], &cs);
			err = dr_mpart_add(mp, w->meta.capture_id, &cs);
		}
		struct dnsreel_custody_segment ocs;
		custody_seg(cur, &ocs);
		c.segments = &ocs;
		c.nsegments = 1;
		if (!err)
			err = dr_custody_build_after(&c, mp);
		if (!err)
			err = dr_custody_put_index(w->db, &c, true);
		free(c.manifest);
		return err;
	}
	c.segments = calloc(w->nsegs + 1, sizeof(*c.segments));
	if (!c.segments)
		return -ENOMEM;
	for (size_t i = skip; i < w->nsegs; i++)
		custody_seg(cur && i == w->nsegs - 1 ? cur : &w->segs[i],
			    &c.segments[c.nsegments++]);
	err = dr_custody_build(&c);
	if (!err)
		err = dr_custody_put_index(w->db, &c, false);
	free(c.segments);
	free(c.manifest);
	return err;
}

int dnsreel_capw__add_input(struct dnsreel_capw *w, const struct dnsreel_custody_input *in)
{
	if (!w || !in || !in->capture_id[0] ||
	    (in->root[0] && strlen(in->root) != DNSREEL_HASH_HEX - 1))
		return DNSREEL_E_ARG;
	if (w->st.segments)
		return DNSREEL_E_STATE;
	struct dnsreel_custody_input *n = realloc(w->inputs, (w->ninputs + 1) * sizeof(*n));
	if (!n)
		return -ENOMEM;
	w->inputs = n;
	w->inputs[w->ninputs++] = *in;
	return 0;
}

/* Removes the oldest segment (never the current one). Index first: a crash after the commit
 * leaves an orphan file that reindex picks up again, never an index row without its file. */
static int drop_index_rows(struct dnsreel_capw *w, uint32_t seg)
{
	int err =
	    sqlite3_exec(w->db, "BEGIN", NULL, NULL, NULL) == SQLITE_OK ? 0 : DNSREEL_E_SQLITE;
	if (!err)
		err = dr_index_del_segment(w->db, seg);
	if (!err)
		err = dr_index_put_end(w->db, NULL);
	if (!err && w->nsegs && w->segs[0].segment == seg)
		err = put_custody(w, NULL, 1);
	if (!err)
		err = sqlite3_exec(w->db, "COMMIT", NULL, NULL, NULL) == SQLITE_OK
			  ? 0
			  : DNSREEL_E_SQLITE;
	if (err)
		sqlite3_exec(w->db, "ROLLBACK", NULL, NULL, NULL);
	return err;
}

static int drop_oldest(struct dnsreel_capw *w)
{
	if (w->nsegs == 0 || (w->nsegs == 1 && w->segfd >= 0 && w->segs[0].segment == w->segno))
		return -ENOSPC;
	uint32_t seg = w->segs[0].segment;
	char path[4096];
	snprintf(path, sizeof(path), "%s/seg/%06u.zst", w->dir, seg);
	int err = drop_index_rows(w, seg);
	if (err) {
		/* a full disk can refuse even the index update: free the space first */
		unlink(path);
		err = drop_index_rows(w, seg);
		if (err)
			return err;
	}
	unlink(path);
	memmove(w->segs, w->segs + 1, (w->nsegs - 1) * sizeof(*w->segs));
	w->nsegs--;
	w->st.segments_dropped++;
	update_disk_stats(w);
	return 0;
}

static void ring_enforce(struct dnsreel_capw *w)
{
	if (w->o.max_bytes) {
		while (w->nsegs > 1 && w->st.bytes_disk > w->o.max_bytes)
			if (drop_oldest(w))
				break;
	}
	if (w->o.max_age_ns > 0) {
		while (w->nsegs > 1 && w->segs[0].segment != w->segno &&
		       w->segs[0].last_ts < w->newest_ts - w->o.max_age_ns)
			if (drop_oldest(w))
				break;
	}
}

/* Context records of one catalog: the whole catalog (with meta) at a segment's start, so each
 * segment stands alone, or what was put since the last flush. Counters always come from the
 * full catalog, since they are cumulative. */
static void put_context(struct dnsreel_capw *w, struct dr_buf *b, const struct dr_catalog *c,
			bool with_meta, bool with_counters)
{
	struct dr_buf r = {0};
	if (with_meta) {
		dr_meta_ser(&r, &w->meta, w->segno);
		dr_rec_put(b, DR_REC_META, r.p, r.len);
		r.len = 0;
		dr_chain_ser(&r, w->segno, w->link, w->user, w->host);
		dr_rec_put(b, DR_REC_CHAIN, r.p, r.len);
		for (size_t i = 0; i < w->ninputs; i++) {
			r.len = 0;
			dr_input_ser(&r, &w->inputs[i]);
			dr_rec_put(b, DR_REC_INPUT, r.p, r.len);
		}
	}
	for (size_t i = 0; i < c->nnetns; i++) {
		r.len = 0;
		dr_netns_ser(&r, &c->netns[i]);
		dr_rec_put(b, DR_REC_NETNS, r.p, r.len);
	}
	for (size_t i = 0; i < c->nprocs; i++) {
		r.len = 0;
		dr_proc_ser(&r, &c->procs[i]);
		dr_rec_put(b, DR_REC_PROC, r.p, r.len);
	}
	for (size_t i = 0; i < c->nsvcs; i++) {
		r.len = 0;
		dr_service_ser(&r, &c->svcs[i]);
		dr_rec_put(b, DR_REC_SERVICE, r.p, r.len);
	}
	if (with_counters && w->all.ncounters) {
		r.len = 0;
		dr_counters_ser(&r, w->all.counters, w->all.ncounters);
		dr_rec_put(b, DR_REC_COUNTERS, r.p, r.len);
	}
	if (r.err)
		b->err = r.err;
	dr_buf_free(&r);
}

static int open_segment(struct dnsreel_capw *w)
{
	uint32_t next = w->nsegs ? w->segs[w->nsegs - 1].segment + 1 : w->segno + 1;
	if (w->st.segments == 0 && w->nsegs == 0)
		next = 1;
	char path[4096];
	snprintf(path, sizeof(path), "%s/seg/%06u.zst", w->dir, next);
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	if (!w->o.no_fsync) {
		char seg[4096];
		snprintf(seg, sizeof(seg), "%s/seg", w->dir);
		int err = fsync_dir(seg);
		if (err) {
			close(fd);
			unlink(path);
			return werr(w, err, "%s: fsync: %s", seg, strerror(-err));
		}
	}
	if (w->nsegs == w->capsegs) {
		size_t nc = w->capsegs ? w->capsegs * 2 : 16;
		struct dr_segment *ns = realloc(w->segs, nc * sizeof(*ns));
		if (!ns) {
			close(fd);
			unlink(path);
			return -ENOMEM;
		}
		w->segs = ns;
		w->capsegs = nc;
	}
	w->segfd = fd;
	w->segno = next;
	w->segsize = 0;
	if (!w->have_link) {
		dr_chain_link0(w->meta.capture_id, w->link);
		w->have_link = true;
	}
	crypto_generichash_init(&w->segh, NULL, 0, DNSREEL_HASH_BYTES);
	memset(&w->cur, 0, sizeof(w->cur));
	w->cur.segment = next;
	memcpy(w->cur.prev, w->link, DNSREEL_HASH_BYTES);
	w->segs[w->nsegs++] = w->cur;
	w->st.segments++;
	return 0;
}

/* Closes the open segment; its frames are synced already (fdatasync per frame), the final
 * fsync makes its metadata durable. 0 or the -errno of the first failure. */
static int close_segment(struct dnsreel_capw *w)
{
	if (w->segfd < 0)
		return 0;
	/* the chain moves past this segment: the next one's CHAIN record holds the new link */
	if (w->nsegs && w->segs[w->nsegs - 1].segment == w->segno)
		dr_chain_next(w->link, w->segs[w->nsegs - 1].hash);
	int err = !w->o.no_fsync && fsync(w->segfd) ? -errno : 0;
	if (close(w->segfd) && !err)
		err = -errno;
	w->segfd = -1;
	return err;
}

/* CPU time of the flushing thread: the statistics say what a flush costs the CPU, not how
 * long it waited for the disk or for other processes. */
static uint64_t cpu_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Builds the block bytes (header record + zstd frame) and the catalog summary. */
static int build_block(struct dnsreel_capw *w, struct dr_summary *sm)
{
	uint64_t t0 = cpu_ns();
	int err = dr_enc_gathered(w->enc) == w->nev ? 0 : DNSREEL_E_STATE;
	if (!err)
		err = dr_enc_block_gathered(w->enc, w->pay.p, &w->raw);
	if (!err)
		err = dr_sumacc_finish(w->sum, sm);
	if (err)
		return err;
	uint64_t t1 = cpu_ns();
	err = dr_enc_compress(w->enc, w->cctx, w->zstd_level, &w->raw, &w->zbuf);
	w->st.ns_encode += t1 - t0;
	w->st.ns_zstd += cpu_ns() - t1;
	if (err)
		return err;
	if (w->raw.len > DR_MAX_RAW || w->zbuf.len > DR_MAX_ZLEN)
		return DNSREEL_E_LIMIT;
	return 0;
}

/* The capture's time range and totals over every frame in the index: those of the segments
 * it lists, the last one as cur says (this flush, not yet committed). */
static int put_totals(struct dnsreel_capw *w, const struct dr_segment *cur)
{
	bool have_ts = false;
	int64_t first = 0, last = 0;
	uint64_t events = 0, frames = 0;
	for (size_t i = 0; i < w->nsegs; i++) {
		const struct dr_segment *sg = i == w->nsegs - 1 ? cur : &w->segs[i];
		if (!sg->frames)
			continue;
		if (!have_ts || sg->first_ts < first)
			first = sg->first_ts;
		if (!have_ts || sg->last_ts > last)
			last = sg->last_ts;
		have_ts = true;
		events += sg->events;
		frames += sg->frames;
	}
	return dr_index_put_totals(w->db, have_ts, first, last, events, frames);
}

/* After a commit: what the index now holds of the counters. Without memory for the copy the
 * next flush writes them all again. */
static void note_indexed_counters(struct dnsreel_capw *w)
{
	size_t n = w->all.ncounters;
	uint64_t *v =
	    n > w->nctr_indexed ? realloc(w->ctr_indexed, n * sizeof(*v)) : w->ctr_indexed;
	if (!v) {
		w->nctr_indexed = 0;
		return;
	}
	w->ctr_indexed = v;
	for (size_t i = 0; i < n; i++)
		v[i] = w->all.counters[i].value;
	w->nctr_indexed = n;
}

static int do_flush(struct dnsreel_capw *w)
{
	bool have_ctx = w->pend.nnetns || w->pend.nprocs || w->pend.nsvcs || w->counters_dirty;
	if (!w->nev && !have_ctx)
		return 0;
	bool new_seg = false;
	int err;
	if (w->segfd < 0) {
		err = open_segment(w);
		if (err)
			return err;
		new_seg = true;
	}
	w->out.len = 0;
	w->out.err = 0;
	if (new_seg)
		put_context(w, &w->out, &w->all, true, true);
	else
		put_context(w, &w->out, &w->pend, false, w->counters_dirty);
	struct dr_summary sm;
	memset(&sm, 0, sizeof(sm));
	uint64_t block_off = 0;
	if (w->nev) {
		err = build_block(w, &sm);
		if (err) {
			dr_summary_free(&sm);
			return err;
		}
		struct dr_blockhdr bh = {
		    .events = (uint32_t)w->nev,
		    .codec = DR_CODEC_VERSION,
		    .first_ts = sm.first_ts,
		    .last_ts = sm.last_ts,
		    .raw_len = (uint32_t)w->raw.len,
		    .zlen = (uint32_t)w->zbuf.len,
		    .zcrc = dr_crc32c(0, w->zbuf.p, w->zbuf.len),
		};
		uint8_t body[DR_BLOCK_HDR_BODY];
		dr_blockhdr_ser(body, &bh);
		block_off = w->segsize + w->out.len;
		dr_rec_put(&w->out, DR_REC_BLOCK, body, sizeof(body));
		dr_put(&w->out, w->zbuf.p, w->zbuf.len);
	}
	if (w->out.err) {
		dr_summary_free(&sm);
		return w->out.err;
	}
	uint64_t tw = cpu_ns();
	err = write_all(w->segfd, w->out.p, w->out.len, w->segsize);
	if (!err && !w->o.no_fsync && fdatasync(w->segfd))
		err = -errno;
	uint64_t ti = cpu_ns();
	w->st.ns_write += ti - tw;
	if (err) {
		werr(w, err, "%s/seg/%06u.zst: offset %llu: cannot write: %s", w->dir, w->segno,
		     (unsigned long long)w->segsize, strerror(-err));
		/* cut back to the last good frame: the capture stays valid */
		if (ftruncate(w->segfd, (off_t)w->segsize)) {
		}
		dr_summary_free(&sm);
		return err;
	}
	struct dr_segment seg = w->cur;
	seg.bytes = w->segsize + w->out.len;
	/* the segment's hash so far, kept only once the index commits it */
	crypto_generichash_state hs = w->segh, fin;
	crypto_generichash_update(&hs, w->out.p, w->out.len);
	fin = hs;
	crypto_generichash_final(&fin, seg.hash, DNSREEL_HASH_BYTES);
	struct dnsreel_frame_info fi;
	memset(&fi, 0, sizeof(fi));
	if (w->nev) {
		fi.segment = w->segno;
		fi.offset = block_off;
		fi.length = (uint32_t)(w->out.len - (block_off - w->segsize));
		fi.first_ts = sm.first_ts;
		fi.last_ts = sm.last_ts;
		fi.events = sm.events;
		fi.rcode_mask = sm.rcode_mask;
		fi.qr_mask = sm.qr_mask;
		fi.proto_mask = sm.proto_mask;
		fi.netns_count = (uint16_t)(sm.netns_count > 65535 ? 0 : sm.netns_count);
		fi.netns = sm.netns_count > 65535 ? NULL : sm.netns;
		fi.name_bloom_bits = sm.bloom_bits;
		fi.name_bloom = sm.bloom;
		if (!seg.frames || fi.first_ts < seg.first_ts)
			seg.first_ts = fi.first_ts;
		if (!seg.frames || fi.last_ts > seg.last_ts)
			seg.last_ts = fi.last_ts;
		seg.frames++;
		seg.events += fi.events;
	}
	err = sqlite3_exec(w->db, "BEGIN", NULL, NULL, NULL) == SQLITE_OK ? 0 : DNSREEL_E_SQLITE;
	if (!err && !w->meta_indexed)
		err = dr_index_put_meta(w->db, &w->meta);
	if (!err)
		err = dr_index_put_segment(w->db, &seg);
	if (!err && w->nev)
		err = dr_index_put_frame(w->db, &fi);
	const struct dr_catalog *cx = new_seg ? &w->all : &w->pend;
	for (size_t i = 0; !err && i < cx->nnetns; i++)
		err = dr_index_put_netns(w->db, &cx->netns[i]);
	for (size_t i = 0; !err && i < cx->nprocs; i++)
		err = dr_index_put_proc(w->db, &cx->procs[i]);
	for (size_t i = 0; !err && i < cx->nsvcs; i++)
		err = dr_index_put_service(w->db, &cx->svcs[i]);
	if (new_seg || w->counters_dirty)
		for (size_t i = 0; !err && i < w->all.ncounters; i++)
			if (new_seg || i >= w->nctr_indexed ||
			    w->ctr_indexed[i] != w->all.counters[i].value)
				err = dr_index_put_counter(w->db, w->all.counters[i].name,
							   w->all.counters[i].value);
	if (!err)
		err = put_totals(w, &seg);
	if (!err)
		err = put_custody(w, &seg, 0);
	if (!err)
		err = sqlite3_exec(w->db, "COMMIT", NULL, NULL, NULL) == SQLITE_OK
			  ? 0
			  : DNSREEL_E_SQLITE;
	dr_summary_free(&sm);
	if (err) {
		w->st.ns_index += cpu_ns() - ti;
		int xerr = sqlite3_extended_errcode(w->db);
		wsqlerr(w, err, "flush");
		sqlite3_exec(w->db, "ROLLBACK", NULL, NULL, NULL);
		if (ftruncate(w->segfd, (off_t)w->segsize)) {
		}
		if ((xerr & 0xff) == SQLITE_FULL)
			err = -ENOSPC;
		return err;
	}
	/* the WAL into the main file now: a capture copied while recording (index.sqlite
	 * without its -wal) is complete up to this flush; PASSIVE never waits for readers */
	sqlite3_wal_checkpoint_v2(w->db, NULL, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
	w->st.ns_index += cpu_ns() - ti;
	w->meta_indexed = true;
	w->segh = hs;
	w->segsize = seg.bytes;
	w->cur = seg;
	w->segs[w->nsegs - 1] = seg;
	if (w->nev) {
		w->st.frames++;
		if (w->zstd_level != w->o.zstd_level)
			w->st.frames_relevel++;
		if (seg.last_ts > w->newest_ts)
			w->newest_ts = seg.last_ts;
	}
	if (new_seg || w->counters_dirty)
		note_indexed_counters(w);
	w->nev = 0;
	w->pay.len = 0;
	dr_enc_clear(w->enc);
	dr_sumacc_reset(w->sum);
	dr_catalog_free(&w->pend);
	w->counters_dirty = false;
	index_bytes(w);
	update_disk_stats(w);
	if (w->segsize >= w->o.segment_bytes)
		return close_segment(w);
	return 0;
}

int dnsreel_capw__set_zstd_level(struct dnsreel_capw *w, int level)
{
	if (!w || level < ZSTD_minCLevel() || level > ZSTD_maxCLevel() || level == 0)
		return DNSREEL_E_ARG;
	w->zstd_level = level;
	return 0;
}

int dnsreel_capw__flush(struct dnsreel_capw *w)
{
	if (!w)
		return DNSREEL_E_ARG;
	if (!w->db)
		return DNSREEL_E_STATE;
	int err;
	for (;;) {
		err = do_flush(w);
		/* ring mode: make room by dropping the oldest segment, then try again */
		if (err == -ENOSPC && (w->o.max_bytes || w->o.max_age_ns) && drop_oldest(w) == 0)
			continue;
		break;
	}
	if (!err)
		ring_enforce(w);
	return err;
}

int dnsreel_capw__rotate(struct dnsreel_capw *w)
{
	if (!w || !w->db)
		return DNSREEL_E_ARG;
	int err = dnsreel_capw__flush(w);
	if (err)
		return err;
	return close_segment(w);
}

void dnsreel_capw__stats(const struct dnsreel_capw *w, struct dnsreel_capw_stats *st)
{
	memset(st, 0, sizeof(*st));
	if (w)
		*st = w->st;
}

int dnsreel_capw__close(struct dnsreel_capw *w)
{
	if (!w)
		return 0;
	int err = w->db ? dnsreel_capw__flush(w) : 0;
	int cerr = close_segment(w);
	if (!err)
		err = cerr;
	if (w->db) {
		if (!w->meta_indexed && !err) {
			/* nothing was ever flushed: still record what the capture is */
			if (dr_index_put_meta(w->db, &w->meta) && !err)
				err = DNSREEL_E_SQLITE;
		}
		/* back to a rollback journal so read-only openers need no -shm file */
		if (sqlite3_exec(w->db,
				 "PRAGMA wal_checkpoint(TRUNCATE); PRAGMA journal_mode=DELETE",
				 NULL, NULL, NULL) != SQLITE_OK &&
		    !err)
			err = wsqlerr(w, DNSREEL_E_SQLITE, "checkpoint");
		if (sqlite3_close(w->db) != SQLITE_OK && !err)
			err = DNSREEL_E_SQLITE;
	}
	int derr = w->o.no_fsync ? 0 : fsync_dir(w->dir);
	if (derr && !err)
		err = werr(w, derr, "%s: fsync: %s", w->dir, strerror(-derr));
	dr_catalog_free(&w->all);
	dr_catalog_free(&w->pend);
	dr_buf_free(&w->pay);
	dr_buf_free(&w->raw);
	dr_buf_free(&w->out);
	dr_buf_free(&w->zbuf);
	dr_enc_free(w->enc);
	dr_sumacc_free(w->sum);
	free(w->ctr_indexed);
	ZSTD_freeCCtx(w->cctx);
	if (w->lockfd >= 0)
		close(w->lockfd); /* the lock goes last: the capture is complete */
	free(w->segs);
	free(w->inputs);
	dr_mpart_free(&w->mclosed);
	free(w->dir);
	free(w);
	return err;
}
