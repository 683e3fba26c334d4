/* Merged captures, write side: dnsreel_capture_merge() copies each input whole into parts/ of a
 * new directory (no re-encoding: segments, hash chains and indexes stay as recorded), drops
 * inputs that are the same capture as another, orders parts independently of the order given,
 * writes the manifest and the warnings, and renames the result into place only when all of it
 * is on disk.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libgen.h>
#include <limits.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "capture_int.h"

struct src {
	char dir[4096]; /* what is opened and copied */
	char real[PATH_MAX];
	int lockfd;   /* LOCK_SH on dir while copying: no recorder starts meanwhile */
	bool dropped; /* a duplicate of another input */
	struct dnsreel_merged_input in;
	struct dnsreel_meta meta;
};

struct mctx {
	const struct dnsreel_capture_merge_opts *o;
	struct dnsreel_capture_merge_stats *st;
	char *eb;
	size_t el;
	struct src *s;
	size_t ns, caps;
	char **warn;
	size_t nwarn;
	uint8_t *buf; /* copy and compare buffer */
};

#define BUFSZ (4u << 20)

static int warnf(struct mctx *m, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int warnf(struct mctx *m, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	char **nw = realloc(m->warn, (m->nwarn + 1) * sizeof(*nw));
	if (!nw)
		return -ENOMEM;
	m->warn = nw;
	if (!(m->warn[m->nwarn] = strdup(msg)))
		return -ENOMEM;
	m->nwarn++;
	m->st->warnings++;
	if (m->o->warn)
		m->o->warn(m->o->warn_ctx, msg);
	return 0;
}

static bool stopped(const struct mctx *m)
{
	return m->o->stop && *m->o->stop;
}

/* ---- inputs ---------------------------------------------------------------------------- */

static int add_src(struct mctx *m, const char *dir, const char *source, const char *via,
		   const char *root_hash)
{
	if (m->ns == m->caps) {
		size_t nc = m->caps ? 2 * m->caps : 8;
		struct src *n = realloc(m->s, nc * sizeof(*n));
		if (!n)
			return -ENOMEM;
		m->s = n;
		m->caps = nc;
	}
	struct src *s = &m->s[m->ns++];
	memset(s, 0, sizeof(*s));
	s->lockfd = -1;
	snprintf(s->dir, sizeof(s->dir), "%s", dir);
	snprintf(s->in.source, sizeof(s->in.source), "%s", source);
	snprintf(s->in.via, sizeof(s->in.via), "%s", via);
	snprintf(s->in.root_hash, sizeof(s->in.root_hash), "%s", root_hash);
	return 0;
}

/* Bytes of the regular files under path (an input's whole tree), refusing anything else. */
static int tree_bytes(struct mctx *m, const char *path, uint64_t *bytes, int depth)
{
	DIR *d = opendir(path);
	if (!d)
		return dr_errf(m->eb, m->el, -errno, "%s: %s", path, strerror(errno));
	int err = 0;
	struct dirent *e;
	while (!err && (e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		char p[4096];
		struct stat st;
		snprintf(p, sizeof(p), "%s/%s", path, e->d_name);
		if (lstat(p, &st))
			err = dr_errf(m->eb, m->el, -errno, "%s: %s", p, strerror(errno));
		else if (S_ISDIR(st.st_mode) && depth < 8)
			err = tree_bytes(m, p, bytes, depth + 1);
		else if (S_ISREG(st.st_mode))
			*bytes += (uint64_t)st.st_size;
		else
			err = dr_errf(m->eb, m->el, DNSREEL_E_ARG,
				      "%s: not a regular file or directory: merge copies captures "
				      "whole and follows no links; remove it or merge a copy",
				      p);
	}
	closedir(d);
	return err;
}

/* Opens one input: locked against a recorder, readable, undamaged. */
static int open_src(struct mctx *m, struct src *s)
{
	s->lockfd = open(s->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (s->lockfd < 0)
		return dr_errf(m->eb, m->el, errno == ENOTDIR ? DNSREEL_E_NOTCAPTURE : -errno,
			       "%s: %s", s->dir,
			       errno == ENOTDIR ? "not a capture directory" : strerror(errno));
	if (flock(s->lockfd, LOCK_SH | LOCK_NB))
		return dr_errf(m->eb, m->el, -EBUSY,
			       "%s: in use by a running dnsreel-record: merge it once the "
			       "recorder has stopped",
			       s->dir);
	if (!realpath(s->dir, s->real))
		return dr_errf(m->eb, m->el, -errno, "%s: %s", s->dir, strerror(errno));
	struct dnsreel_capr *r;
	char e[600];
	int err = dnsreel_capr__open(&r, s->dir, NULL, e, sizeof(e));
	if (err)
		return dr_errf(m->eb, m->el, err, "%s", e[0] ? e : dnsreel_strerror(err));
	const char *prob = dnsreel_capr__problem(r);
	if (prob) {
		err = dr_errf(m->eb, m->el, DNSREEL_E_CORRUPT,
			      "%s: damaged: %s; merge copies captures as they are: check it with "
			      "'dnsreel verify %s' and repair it with 'dnsreel verify --reindex' "
			      "(on a copy) first",
			      s->dir, prob, s->dir);
		dnsreel_capr__close(r);
		return err;
	}
	s->meta = *dnsreel_capr__meta(r);
	struct dnsreel_capr_summary su;
	dnsreel_capr__summary(r, &su);
	s->in.events = su.events;
	s->in.frames = su.frames;
	s->in.boot_to_wall_ns = s->meta.boot_to_wall_ns;
	if (su.frames) {
		/* the reader checked both sums */
		dnsreel_wall_ns(su.first_ts, s->meta.boot_to_wall_ns, &s->in.first_wall_ns);
		dnsreel_wall_ns(su.last_ts, s->meta.boot_to_wall_ns, &s->in.last_wall_ns);
	}
	bool scanned = dnsreel_capr__scanned(r);
	/* the root hash as computed from the segments copied, unless a merged input named it */
	const struct dnsreel_custody *cu;
	if (!s->in.root_hash[0] && dnsreel_capr__custody(r, &cu) == 0 && cu && cu->chained)
		snprintf(s->in.root_hash, sizeof(s->in.root_hash), "%s", cu->root);
	dnsreel_capr__close(r);
	snprintf(s->in.capture_id, sizeof(s->in.capture_id), "%s", s->meta.capture_id);
	snprintf(s->in.node, sizeof(s->in.node), "%s", s->meta.node);
	if (!s->in.capture_id[0])
		return dr_errf(m->eb, m->el, DNSREEL_E_CORRUPT,
			       "%s: has no capture id (META): cannot tell it from other inputs",
			       s->dir);
	if (scanned &&
	    (err = warnf(m, "%s: has no index.sqlite: readers scan its segments", s->dir)))
		return err;
	return tree_bytes(m, s->dir, &s->in.bytes, 0);
}

/* Compares the file a to b: 1 a is a prefix of b (or equal), 2 b a prefix of a, 0 they differ
 * or cannot be read. */
static int prefix_rel(struct mctx *m, const char *a, const char *b)
{
	int fa = dr_open_regular(a), fb = dr_open_regular(b);
	int rel = 0;
	struct stat sa, sb;
	if (fa < 0 || fb < 0 || fstat(fa, &sa) || fstat(fb, &sb))
		goto out;
	off_t n = sa.st_size < sb.st_size ? sa.st_size : sb.st_size;
	uint8_t *x = m->buf, *y = m->buf + BUFSZ / 2;
	for (off_t off = 0; off < n;) {
		size_t want = (size_t)(n - off) < BUFSZ / 2 ? (size_t)(n - off) : BUFSZ / 2;
		if (pread(fa, x, want, off) != (ssize_t)want ||
		    pread(fb, y, want, off) != (ssize_t)want || memcmp(x, y, want))
			goto out;
		off += (off_t)want;
	}
	rel = sa.st_size <= sb.st_size ? 1 : 2;
out:
	if (fa >= 0)
		close(fa);
	if (fb >= 0)
		close(fb);
	return rel;
}

/* Two inputs with one capture id: 1 keep a (b holds nothing a lacks), 2 keep b, 0 each holds
 * events the other lacks. Segments are append-only, so a later copy of a capture holds every
 * earlier copy's segments as prefixes of its own. */
static int which_holds_all(struct mctx *m, const struct src *a, const struct src *b)
{
	uint32_t *sa = NULL, *sb = NULL;
	size_t na = 0, nb = 0;
	int res = 0;
	if (dr_list_segments(a->dir, &sa, &na) || dr_list_segments(b->dir, &sb, &nb))
		goto out;
	bool a_all = true, b_all = true; /* a holds all of b / b all of a */
	for (size_t i = 0; i < na; i++) {
		bool in_b = false;
		for (size_t j = 0; j < nb; j++)
			in_b |= sa[i] == sb[j];
		if (!in_b) {
			b_all = false;
			continue;
		}
		char pa[4200], pb[4200];
		snprintf(pa, sizeof(pa), "%s/seg/%06u.zst", a->dir, sa[i]);
		snprintf(pb, sizeof(pb), "%s/seg/%06u.zst", b->dir, sa[i]);
		int rel = prefix_rel(m, pa, pb);
		if (!rel)
			goto out;
		struct stat x, y;
		if (stat(pa, &x) || stat(pb, &y))
			goto out;
		if (x.st_size < y.st_size)
			a_all = false;
		if (y.st_size < x.st_size)
			b_all = false;
	}
	for (size_t j = 0; j < nb; j++) {
		bool in_a = false;
		for (size_t i = 0; i < na; i++)
			in_a |= sa[i] == sb[j];
		if (!in_a)
			a_all = false;
	}
	res = a_all ? 1 : b_all ? 2 : 0;
out:
	free(sa);
	free(sb);
	return res;
}

static int dedup(struct mctx *m)
{
	for (size_t i = 0; i < m->ns; i++) {
		for (size_t j = i + 1; j < m->ns && !m->s[i].dropped; j++) {
			struct src *a = &m->s[i], *b = &m->s[j];
			if (b->dropped || strcmp(a->in.capture_id, b->in.capture_id))
				continue;
			int keep = !strcmp(a->real, b->real) ? 1 : which_holds_all(m, a, b);
			if (!keep)
				return dr_errf(
				    m->eb, m->el, DNSREEL_E_ARG,
				    "%s and %s are copies of one capture (id %s) and each holds "
				    "events the other lacks: merging both would double the events "
				    "they share; give the copy that holds everything, or merge "
				    "each "
				    "one separately",
				    a->dir, b->dir, a->in.capture_id);
			struct src *kept = keep == 1 ? a : b, *gone = keep == 1 ? b : a;
			gone->dropped = true;
			m->st->duplicates++;
			int err =
			    warnf(m,
				  "%s: the same capture as %s (id %s)%s: its events are "
				  "merged once",
				  gone->dir, kept->dir, a->in.capture_id,
				  !strcmp(a->real, b->real) ? "" : ", whose bytes hold all of it");
			if (err)
				return err;
		}
	}
	return 0;
}

static int cmp_src(const void *x, const void *y)
{
	const struct src *a = x, *b = y;
	int c = strcmp(a->in.node, b->in.node);
	if (c)
		return c;
	if (a->in.first_wall_ns != b->in.first_wall_ns)
		return a->in.first_wall_ns < b->in.first_wall_ns ? -1 : 1;
	return strcmp(a->in.capture_id, b->in.capture_id);
}

static void fmt_dur(int64_t ns, char *buf, size_t len)
{
	double s = (double)ns / 1e9;
	if (s < 1)
		snprintf(buf, len, "%.1f ms", s * 1e3);
	else if (s < 120)
		snprintf(buf, len, "%.1f s", s);
	else if (s < 7200)
		snprintf(buf, len, "%.1f min", s / 60);
	else
		snprintf(buf, len, "%.1f h", s / 3600);
}

static int clock_warn(void *ctx, const char *msg)
{
	return warnf(ctx, "%s", msg);
}

/* Warnings about time: a part that covers only some of the merged time range leaves
 * cross-node flows outside its range without their hops on that node. */
static int time_warnings(struct mctx *m)
{
	int64_t lo = INT64_MAX, hi = INT64_MIN;
	int64_t slack = m->o->coverage_slack_ns > 0 ? m->o->coverage_slack_ns : 1000000000LL;
	size_t with = 0, kept = 0;
	for (size_t i = 0; i < m->ns; i++) {
		struct src *s = &m->s[i];
		if (s->dropped)
			continue;
		kept++;
		if (!s->in.events)
			continue;
		with++;
		lo = s->in.first_wall_ns < lo ? s->in.first_wall_ns : lo;
		hi = s->in.last_wall_ns > hi ? s->in.last_wall_ns : hi;
	}
	int err = 0;
	for (size_t i = 0; !err && i < m->ns; i++) {
		struct src *s = &m->s[i];
		if (s->dropped)
			continue;
		if (!s->in.events) {
			err = warnf(m, "%s (node %s): holds no events", s->in.source, s->in.node);
			continue;
		}
		int64_t late = s->in.first_wall_ns - lo, early = hi - s->in.last_wall_ns;
		if (with < 2 || (late <= slack && early <= slack))
			continue;
		char a[32], b[32], r[32];
		fmt_dur(late, a, sizeof(a));
		fmt_dur(early, b, sizeof(b));
		fmt_dur(hi - lo, r, sizeof(r));
		int64_t cover = s->in.last_wall_ns - s->in.first_wall_ns;
		if (s->in.last_wall_ns < lo || s->in.first_wall_ns > hi || cover < 0)
			cover = 0;
		err =
		    warnf(m,
			  "%s (node %s): starts %s after and ends %s before the merged time "
			  "range (%s, %.0f%% covered): flows crossing node %s outside its range "
			  "lack their hops there",
			  s->in.source, s->in.node, a, b, r,
			  hi > lo ? 100.0 * (double)cover / (double)(hi - lo) : 100.0, s->in.node);
	}
	/* ranges that do not meet at all: nothing can link across them */
	for (size_t i = 0; !err && i < m->ns; i++)
		for (size_t j = i + 1; !err && j < m->ns; j++) {
			struct src *a = &m->s[i], *b = &m->s[j];
			if (a->dropped || b->dropped || !a->in.events || !b->in.events)
				continue;
			int64_t gap = a->in.first_wall_ns > b->in.last_wall_ns
					  ? a->in.first_wall_ns - b->in.last_wall_ns
				      : b->in.first_wall_ns > a->in.last_wall_ns
					  ? b->in.first_wall_ns - a->in.last_wall_ns
					  : 0;
			if (gap <= 0)
				continue;
			char g[32];
			fmt_dur(gap, g, sizeof(g));
			err = warnf(
			    m,
			    "%s and %s do not overlap in time (%s apart): no flow can "
			    "cross them, and their order rests on the two nodes' clocks alone",
			    a->dir, b->dir, g);
		}
	(void)kept;
	if (err || with < 2)
		return err;
	/* the clocks, from messages seen on two nodes, from where every part has events */
	const char **dirs = calloc(m->ns, sizeof(*dirs)), **nodes = calloc(m->ns, sizeof(*nodes));
	size_t k = 0;
	int64_t from = INT64_MIN;
	for (size_t i = 0; dirs && nodes && i < m->ns; i++) {
		struct src *s = &m->s[i];
		if (s->dropped || !s->in.events)
			continue;
		dirs[k] = s->dir;
		nodes[k++] = s->in.node[0] ? s->in.node : s->dir;
		from = s->in.first_wall_ns > from ? s->in.first_wall_ns : from;
	}
	size_t max = m->o->clock_sample_events ? m->o->clock_sample_events : 200000;
	err = dirs && nodes ? dr_merge_clock_check(dirs, nodes, k, from, max, clock_warn, m)
			    : -ENOMEM;
	free(dirs);
	free(nodes);
	return err;
}

/* ---- writing --------------------------------------------------------------------------- */

static int fsync_path(const char *p)
{
	int fd = open(p, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	int err = fsync(fd) ? -errno : 0;
	close(fd);
	return err;
}

static int copy_file(struct mctx *m, const char *from, const char *to, mode_t mode)
{
	int in = dr_open_regular(from);
	if (in < 0)
		return dr_errf(m->eb, m->el, in, "%s: %s", from,
			       in == DNSREEL_E_NOTREG ? "not a regular file" : strerror(-in));
	int out = open(to, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode & 0644);
	if (out < 0) {
		int e = -errno;
		close(in);
		return dr_errf(m->eb, m->el, e, "%s: %s", to, strerror(-e));
	}
	int err = 0;
	bool plain = false;
	for (;;) {
		if (stopped(m)) {
			err = dr_errf(m->eb, m->el, -EINTR, "interrupted");
			break;
		}
		ssize_t n;
		if (!plain) {
			/* in the kernel, no copy through user space (a reflink where the file
			 * system shares extents) */
			n = copy_file_range(in, NULL, out, NULL, 64u << 20, 0);
			if (n < 0 && (errno == EXDEV || errno == ENOSYS || errno == EINVAL ||
				      errno == EOPNOTSUPP)) {
				plain = true;
				continue;
			}
		} else {
			n = read(in, m->buf, BUFSZ);
			if (n > 0) {
				for (ssize_t w = 0; w < n;) {
					ssize_t k = write(out, m->buf + w, (size_t)(n - w));
					if (k < 0) {
						if (errno == EINTR)
							continue;
						n = -1;
						break;
					}
					w += k;
				}
			}
		}
		if (n == 0)
			break;
		if (n < 0) {
			if (errno == EINTR)
				continue;
			err = dr_errf(m->eb, m->el, -errno, "%s: writing %s: %s", to, from,
				      strerror(errno));
			break;
		}
		m->st->bytes += (uint64_t)n;
	}
	if (!err && !m->o->no_fsync && fsync(out))
		err = dr_errf(m->eb, m->el, -errno, "%s: %s", to, strerror(errno));
	if (close(out) && !err)
		err = dr_errf(m->eb, m->el, -errno, "%s: %s", to, strerror(errno));
	close(in);
	return err;
}

static int copy_tree(struct mctx *m, const char *from, const char *to, int depth)
{
	if (mkdir(to, 0755))
		return dr_errf(m->eb, m->el, -errno, "%s: %s", to, strerror(errno));
	DIR *d = opendir(from);
	if (!d)
		return dr_errf(m->eb, m->el, -errno, "%s: %s", from, strerror(errno));
	int err = 0;
	struct dirent *e;
	while (!err && (e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		char f[4096], t[4096];
		struct stat st;
		snprintf(f, sizeof(f), "%s/%s", from, e->d_name);
		snprintf(t, sizeof(t), "%s/%s", to, e->d_name);
		if (lstat(f, &st))
			err = dr_errf(m->eb, m->el, -errno, "%s: %s", f, strerror(errno));
		else if (S_ISDIR(st.st_mode) && depth < 8)
			err = copy_tree(m, f, t, depth + 1);
		else if (S_ISREG(st.st_mode))
			err = copy_file(m, f, t, st.st_mode);
		else
			err = dr_errf(m->eb, m->el, DNSREEL_E_ARG,
				      "%s: not a regular file or directory", f);
	}
	closedir(d);
	if (!err && !m->o->no_fsync && (err = fsync_path(to)))
		dr_errf(m->eb, m->el, err, "%s: %s", to, strerror(-err));
	return err;
}

static int remove_tree(const char *p, int depth)
{
	struct stat st;
	if (lstat(p, &st))
		return 0;
	if (S_ISDIR(st.st_mode) && depth < 16) {
		DIR *d = opendir(p);
		struct dirent *e;
		while (d && (e = readdir(d))) {
			if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
				continue;
			char c[4096];
			snprintf(c, sizeof(c), "%s/%s", p, e->d_name);
			remove_tree(c, depth + 1);
		}
		if (d)
			closedir(d);
		return rmdir(p);
	}
	return unlink(p);
}

static void part_name(const struct src *s, size_t k, char *out, size_t len)
{
	char node[41];
	size_t j = 0;
	for (size_t i = 0; s->in.node[i] && j < sizeof(node) - 1; i++) {
		char c = s->in.node[i];
		bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			  (c >= '0' && c <= '9') || c == '_' || c == '-' || (c == '.' && j);
		node[j++] = ok ? c : '_';
	}
	node[j] = 0;
	snprintf(out, len, "%03zu-%s.reel", k, node);
}

static int sq(sqlite3 *db, int rc, struct mctx *m, const char *path)
{
	if (rc == SQLITE_OK || rc == SQLITE_DONE || rc == SQLITE_ROW)
		return 0;
	return dr_errf(m->eb, m->el, rc == SQLITE_FULL ? -ENOSPC : DNSREEL_E_SQLITE, "%s: %s", path,
		       sqlite3_errmsg(db));
}

static void new_uuid(char out[40])
{
	uint8_t b[16];
	if (getrandom(b, sizeof(b), 0) != (ssize_t)sizeof(b)) {
		/* no entropy source: time and pid still make a distinct id */
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		uint64_t x = dnsreel_mix64((uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 30)),
			 y = dnsreel_mix64(x ^ (uint64_t)getpid());
		memcpy(b, &x, 8);
		memcpy(b + 8, &y, 8);
	}
	b[6] = (uint8_t)((b[6] & 0x0f) | 0x40);
	b[8] = (uint8_t)((b[8] & 0x3f) | 0x80);
	snprintf(out, 40, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
		 b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12],
		 b[13], b[14], b[15]);
}

static int write_manifest(struct mctx *m, const char *tmp, const char *merged_id)
{
	char path[4200];
	snprintf(path, sizeof(path), "%s/index.sqlite", tmp);
	sqlite3 *db = NULL;
	int rc = sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL);
	int err = sq(db, rc, m, path);
	if (!err)
		err = sq(db,
			 sqlite3_exec(
			     db,
			     "PRAGMA journal_mode=DELETE; PRAGMA synchronous=FULL; BEGIN;"
			     "CREATE TABLE capture_info(key TEXT PRIMARY KEY, value);"
			     "CREATE TABLE inputs(part INTEGER PRIMARY KEY, dir TEXT NOT NULL,"
			     " capture_id TEXT NOT NULL, node TEXT, source TEXT, via TEXT,"
			     " root_hash TEXT, boot_to_wall_ns INTEGER NOT NULL,"
			     " first_wall_ns INTEGER NOT NULL, last_wall_ns INTEGER NOT NULL,"
			     " events INTEGER NOT NULL, frames INTEGER NOT NULL,"
			     " bytes INTEGER NOT NULL, kernel TEXT, recorder TEXT);"
			     "CREATE TABLE warnings(n INTEGER PRIMARY KEY, message TEXT NOT NULL);",
			     NULL, NULL, NULL),
			 m, path);
	sqlite3_stmt *st = NULL;
	if (!err)
		err = sq(
		    db,
		    sqlite3_prepare_v2(db, "INSERT INTO capture_info VALUES(?, ?)", -1, &st, NULL),
		    m, path);
	struct {
		const char *k, *t;
		int64_t i;
	} info[] = {
	    {"kind", "merged", 0},
	    {"format_major", NULL, DNSREEL_FORMAT_MAJOR},
	    {"format_minor", NULL, DNSREEL_FORMAT_MINOR},
	    {"capture_id", merged_id, 0},
	    {"merger", m->o->merger ? m->o->merger : "libdnsreel " DNSREEL_VERSION, 0},
	    {"created_wall_ns", NULL, 0},
	    {"parts", NULL, m->st->parts},
	    {"events", NULL, (int64_t)m->st->events},
	};
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	info[5].i = (int64_t)now.tv_sec * 1000000000LL + now.tv_nsec;
	for (size_t i = 0; !err && i < sizeof(info) / sizeof(info[0]); i++) {
		sqlite3_bind_text(st, 1, info[i].k, -1, SQLITE_STATIC);
		if (info[i].t)
			sqlite3_bind_text(st, 2, info[i].t, -1, SQLITE_STATIC);
		else
			sqlite3_bind_int64(st, 2, info[i].i);
		err = sq(db, sqlite3_step(st), m, path);
		sqlite3_reset(st);
	}
	sqlite3_finalize(st);
	st = NULL;
	if (!err)
		err = sq(db,
			 sqlite3_prepare_v2(db,
					    "INSERT INTO inputs VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?, "
					    "?, ?, ?, ?, ?, ?)",
					    -1, &st, NULL),
			 m, path);
	int64_t part = 0;
	for (size_t i = 0; !err && i < m->ns; i++) {
		const struct src *s = &m->s[i];
		if (s->dropped)
			continue;
		sqlite3_bind_int64(st, 1, ++part);
		sqlite3_bind_text(st, 2, s->in.part, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 3, s->in.capture_id, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 4, s->in.node, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 5, s->in.source, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 6, s->in.via, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 7, s->in.root_hash, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 8, s->in.boot_to_wall_ns);
		sqlite3_bind_int64(st, 9, s->in.first_wall_ns);
		sqlite3_bind_int64(st, 10, s->in.last_wall_ns);
		sqlite3_bind_int64(st, 11, (int64_t)s->in.events);
		sqlite3_bind_int64(st, 12, (int64_t)s->in.frames);
		sqlite3_bind_int64(st, 13, (int64_t)s->in.bytes);
		sqlite3_bind_text(st, 14, s->meta.kernel, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 15, s->meta.recorder, -1, SQLITE_STATIC);
		err = sq(db, sqlite3_step(st), m, path);
		sqlite3_reset(st);
	}
	sqlite3_finalize(st);
	st = NULL;
	if (!err)
		err = sq(db,
			 sqlite3_prepare_v2(db, "INSERT INTO warnings VALUES(?, ?)", -1, &st, NULL),
			 m, path);
	for (size_t i = 0; !err && i < m->nwarn; i++) {
		sqlite3_bind_int64(st, 1, (int64_t)i + 1);
		sqlite3_bind_text(st, 2, m->warn[i], -1, SQLITE_STATIC);
		err = sq(db, sqlite3_step(st), m, path);
		sqlite3_reset(st);
	}
	sqlite3_finalize(st);
	if (!err)
		err = sq(db, sqlite3_exec(db, "COMMIT", NULL, NULL, NULL), m, path);
	if (db && sqlite3_close(db) != SQLITE_OK && !err)
		err = dr_errf(m->eb, m->el, DNSREEL_E_SQLITE, "%s: cannot close", path);
	if (!err && !m->o->no_fsync && (err = fsync_path(path)))
		dr_errf(m->eb, m->el, err, "%s: %s", path, strerror(-err));
	return err;
}

/* A packed input is unpacked once into its own directory under unpack (beside the output, gone
 * at the end): merge copies whole directories. A cut pack gives what is intact, with a
 * warning saying what was lost. */
static int unpack_input(struct mctx *m, const char *pack, const char *unpack, size_t i, char *dir,
			size_t dirlen)
{
	snprintf(dir, dirlen, "%s/%zu.reel", unpack, i);
	char e[600] = "";
	int err = dnsreel_pack_extract(pack, dir, e, sizeof(e));
	if (err)
		return dr_errf(m->eb, m->el, err, "%s: %s", pack, e[0] ? e : dnsreel_strerror(err));
	if (!e[0])
		return 0;
	/* our own copy: its torn tail is moved aside as verify --reindex does, and the part says
	 * what was dropped */
	struct dnsreel_verify_opts vo = {.sz = sizeof(vo), .reindex = true};
	int v = dnsreel_capture_verify(dir, &vo);
	if (v < 0)
		return dr_errf(m->eb, m->el, v, "%s: repairing what the cut left: %s", pack,
			       dnsreel_strerror(v));
	return warnf(m, "%s: %s; merged what is intact", pack, e);
}

static int expand_inputs(struct mctx *m, const char *const *inputs, size_t n, const char *unpack)
{
	int err = 0;
	for (size_t i = 0; !err && i < n; i++) {
		struct stat st;
		if (unpack[0] && stat(inputs[i], &st) == 0 && S_ISREG(st.st_mode)) {
			char dir[4096];
			if (!(err = unpack_input(m, inputs[i], unpack, i, dir, sizeof(dir))))
				err = add_src(m, dir, inputs[i], "", "");
			continue;
		}
		struct dnsreel_merged *mg = NULL;
		int r = dnsreel_merged__load(inputs[i], &mg, m->eb, m->el);
		if (r < 0)
			return r;
		if (!mg) {
			err = add_src(m, inputs[i], inputs[i], "", "");
			continue;
		}
		/* a merged input gives its parts: a merged capture never nests */
		for (size_t k = 0; !err && k < mg->ninputs; k++) {
			char d[4096];
			snprintf(d, sizeof(d), "%s/parts/%s", inputs[i], mg->inputs[k].part);
			err = add_src(m, d, mg->inputs[k].source[0] ? mg->inputs[k].source : d,
				      mg->capture_id, mg->inputs[k].root_hash);
		}
		for (size_t k = 0; !err && k < mg->nwarnings; k++)
			err = warnf(m, "from %s: %s", inputs[i], mg->warnings[k]);
		dnsreel_merged__free(mg);
	}
	return err;
}

int dnsreel_capture_merge(const char *out, const char *const *inputs, size_t n,
			  const struct dnsreel_capture_merge_opts *opts,
			  struct dnsreel_capture_merge_stats *stats, char *errbuf, size_t errlen)
{
	struct dnsreel_capture_merge_opts o = {0};
	struct dnsreel_capture_merge_stats stl;
	if (errbuf && errlen)
		errbuf[0] = 0;
	if (!out || !inputs || !n)
		return DNSREEL_E_ARG;
	if (opts)
		memcpy(&o, opts, opts->sz && opts->sz < sizeof(o) ? opts->sz : sizeof(o));
	if (!stats)
		stats = &stl;
	memset(stats, 0, sizeof(*stats));
	struct mctx m = {.o = &o, .st = stats, .eb = errbuf, .el = errlen};
	char tmp[4096] = "";
	int err;
	struct stat sb;
	if (lstat(out, &sb) == 0)
		return dr_errf(errbuf, errlen, -EEXIST,
			       "%s: exists: merge writes a new capture and never replaces one; "
			       "choose another name",
			       out);
	if (errno != ENOENT)
		return dr_errf(errbuf, errlen, -errno, "%s: %s", out, strerror(errno));
	if (!(m.buf = malloc(BUFSZ)))
		return -ENOMEM;
	char unpack[4096] = "";
	for (size_t i = 0; i < n && !unpack[0]; i++) {
		struct stat st;
		if (stat(inputs[i], &st) || !S_ISREG(st.st_mode))
			continue;
		char ud[4096], ub[4096];
		snprintf(ud, sizeof(ud), "%s", out);
		snprintf(ub, sizeof(ub), "%s", out);
		snprintf(unpack, sizeof(unpack), "%s/.%.200s.unpack-XXXXXX", dirname(ud),
			 basename(ub));
		if (!mkdtemp(unpack)) {
			err = dr_errf(errbuf, errlen, -errno,
				      "%s: cannot create a directory to unpack "
				      "packed inputs into: %s",
				      unpack, strerror(errno));
			unpack[0] = 0;
			free(m.buf);
			return err;
		}
	}
	err = expand_inputs(&m, inputs, n, unpack);
	stats->inputs = (uint32_t)m.ns;
	for (size_t i = 0; !err && i < m.ns; i++)
		err = open_src(&m, &m.s[i]);
	if (!err)
		err = dedup(&m);
	if (err)
		goto done;
	qsort(m.s, m.ns, sizeof(*m.s), cmp_src);
	if ((err = time_warnings(&m)))
		goto done;
	/* beside out, so the final rename stays on one file system */
	char parent[4096];
	snprintf(parent, sizeof(parent), "%s", out);
	char *base = basename(parent);
	char pdir[4096];
	snprintf(pdir, sizeof(pdir), "%s", out);
	snprintf(tmp, sizeof(tmp), "%s/.%.200s.merge-XXXXXX", dirname(pdir), base);
	if (!mkdtemp(tmp)) {
		err = dr_errf(errbuf, errlen, -errno,
			      "%s: cannot create a temporary directory "
			      "beside it: %s",
			      out, strerror(errno));
		tmp[0] = 0;
		goto done;
	}
	chmod(tmp, 0755);
	char pp[4200];
	snprintf(pp, sizeof(pp), "%s/parts", tmp);
	if (mkdir(pp, 0755)) {
		err = dr_errf(errbuf, errlen, -errno, "%s: %s", pp, strerror(errno));
		goto done;
	}
	size_t k = 0;
	for (size_t i = 0; !err && i < m.ns; i++) {
		struct src *s = &m.s[i];
		if (s->dropped)
			continue;
		part_name(s, ++k, s->in.part, sizeof(s->in.part));
		char to[4400];
		snprintf(to, sizeof(to), "%s/%s", pp, s->in.part);
		err = copy_tree(&m, s->dir, to, 0);
		stats->parts++;
		stats->events += s->in.events;
		stats->frames += s->in.frames;
	}
	if (!err && !o.no_fsync && (err = fsync_path(pp)))
		dr_errf(errbuf, errlen, err, "%s: %s", pp, strerror(-err));
	char id[40];
	new_uuid(id);
	if (!err)
		err = write_manifest(&m, tmp, id);
	if (!err && !o.no_fsync && (err = fsync_path(tmp)))
		dr_errf(errbuf, errlen, err, "%s: %s", tmp, strerror(-err));
	if (!err && renameat2(AT_FDCWD, tmp, AT_FDCWD, out, RENAME_NOREPLACE))
		err = dr_errf(errbuf, errlen, -errno, "%s: %s", out,
			      errno == EEXIST ? "appeared while merging: left as it was"
					      : strerror(errno));
	if (!err) {
		tmp[0] = 0;
		char od[4096];
		snprintf(od, sizeof(od), "%s", out);
		if (!o.no_fsync && (err = fsync_path(dirname(od))))
			dr_errf(errbuf, errlen, err, "%s: syncing its directory: %s", out,
				strerror(-err));
	}
done:
	if (tmp[0])
		remove_tree(tmp, 0);
	if (unpack[0])
		remove_tree(unpack, 0);
	for (size_t i = 0; i < m.ns; i++)
		if (m.s[i].lockfd >= 0)
			close(m.s[i].lockfd);
	for (size_t i = 0; i < m.nwarn; i++)
		free(m.warn[i]);
	free(m.warn);
	free(m.s);
	free(m.buf);
	return err;
}
