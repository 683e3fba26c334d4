/* Packs: a capture in one POSIX ustar file (FORMAT.md §13), written in a fixed member order
 * (segments by number, custody.sig, index.sqlite last) with no compression on top of zstd, and
 * read in place: each member is a byte range readers pread from.
 *
 * The ustar code is our own rather than libarchive's: libarchive reads an archive as a stream
 * and gives member data through its own buffers, while readers here need each member's byte
 * range in the file to seek into (frames, sqlite3_deserialize of the index), and need to keep
 * exactly the intact part of a pack that was cut. A ustar header is 512 bytes of fixed
 * fields; writing and checking it takes less code than adapting a stream reader.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "capture_int.h"

#define TAR_BLOCK	 512
#define TAR_MAX_SIZE	 077777777777ull /* 11 octal digits: 8 GiB - 1 */
#define PACK_MAX_MEMBERS 1000000

static void octal(char *dst, size_t width, uint64_t v)
{
	/* width - 1 digits, zero padded, then NUL */
	dst[width - 1] = 0;
	for (size_t i = width - 1; i-- > 0;) {
		dst[i] = (char)('0' + (v & 7));
		v >>= 3;
	}
}

static unsigned header_sum(const uint8_t *h)
{
	unsigned s = 0;
	for (int i = 0; i < TAR_BLOCK; i++)
		s += (i >= 148 && i < 156) ? ' ' : h[i];
	return s;
}

/* A ustar header for name (split into prefix/name at a '/' when longer than 100 bytes). */
static int make_header(uint8_t h[TAR_BLOCK], const char *name, uint64_t size, char type,
		       int64_t mtime)
{
	memset(h, 0, TAR_BLOCK);
	size_t l = strlen(name);
	if (l <= 100)
		memcpy(h, name, l);
	else {
		const char *cut = NULL;
		for (const char *p = name; *p; p++)
			if (*p == '/' && (size_t)(p - name) <= 155 && strlen(p + 1) <= 100)
				cut = p;
		if (!cut)
			return DNSREEL_E_LIMIT;
		memcpy(h + 345, name, (size_t)(cut - name));
		memcpy(h, cut + 1, strlen(cut + 1));
	}
	if (size > TAR_MAX_SIZE)
		return DNSREEL_E_LIMIT;
	octal((char *)h + 100, 8, type == '5' ? 0755 : 0644);
	octal((char *)h + 108, 8, 0);
	octal((char *)h + 116, 8, 0);
	octal((char *)h + 124, 12, size);
	octal((char *)h + 136, 12, mtime > 0 ? (uint64_t)mtime : 0);
	h[156] = (uint8_t)type;
	memcpy(h + 257, "ustar", 6);
	memcpy(h + 263, "00", 2);
	char sum[8];
	octal(sum, 7, header_sum(h));
	memcpy(h + 148, sum, 7);
	h[155] = ' ';
	return 0;
}

static int write_all(int fd, const void *p, size_t n)
{
	const uint8_t *b = p;
	while (n) {
		ssize_t w = write(fd, b, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -errno;
		b += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Copies len bytes of in (from its start) to out, then the zero padding to a block. */
static int copy_member(int in, int out, uint64_t len, uint8_t *buf, size_t bufsz)
{
	uint64_t done = 0;
	while (done < len) {
		size_t k = len - done < bufsz ? (size_t)(len - done) : bufsz;
		ssize_t r = pread(in, buf, k, (off_t)done);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		if (r == 0)
			return DNSREEL_E_TRUNCATED; /* shrank while packing */
		int err = write_all(out, buf, (size_t)r);
		if (err)
			return err;
		done += (uint64_t)r;
	}
	static const uint8_t zeros[TAR_BLOCK];
	size_t pad = (size_t)((TAR_BLOCK - len % TAR_BLOCK) % TAR_BLOCK);
	return pad ? write_all(out, zeros, pad) : 0;
}

int dnsreel_pack_write(const char *capture, const char *out, struct dnsreel_pack_stats *stats,
		       char *errbuf, size_t errlen)
{
	if (errbuf && errlen)
		errbuf[0] = 0;
	if (stats)
		memset(stats, 0, sizeof(*stats));
	if (!capture || !out)
		return DNSREEL_E_ARG;
	struct stat st;
	if (stat(capture, &st) != 0)
		return dr_errf(errbuf, errlen, -errno, "%s: %s", capture, strerror(errno));
	if (!S_ISDIR(st.st_mode))
		return dr_errf(errbuf, errlen, DNSREEL_E_NOTCAPTURE,
			       "%s: not a capture directory (already a pack?)", capture);
	int64_t dir_mtime = (int64_t)st.st_mtime;
	char path[4096];
	snprintf(path, sizeof(path), "%s/index.sqlite-wal", capture);
	int lockfd = open(capture, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (lockfd < 0)
		return dr_errf(errbuf, errlen, -errno, "%s: %s", capture, strerror(errno));
	/* a recorder holds the capture exclusively; packing while it writes would cut frames */
	if (flock(lockfd, LOCK_SH | LOCK_NB) != 0 || (stat(path, &st) == 0 && st.st_size > 0)) {
		close(lockfd);
		return dr_errf(errbuf, errlen, -EBUSY,
			       "%s: in use by a running dnsreel-record (pack it once it has "
			       "stopped)",
			       capture);
	}
	uint32_t *segs = NULL;
	size_t nseg = 0;
	int err = dr_list_segments(capture, &segs, &nseg);
	if (err) {
		close(lockfd);
		return dr_errf(errbuf, errlen, DNSREEL_E_NOTCAPTURE, "%s/seg: %s", capture,
			       dnsreel_strerror(err));
	}
	/* members go under NAME.reel/ so that tar xf gives back the directory */
	char top[256];
	const char *base;
	size_t bl = strlen(capture);
	while (bl > 1 && capture[bl - 1] == '/')
		bl--;
	base = capture + bl;
	while (base > capture && base[-1] != '/')
		base--;
	snprintf(top, sizeof(top), "%.*s", (int)(capture + bl - base), base);
	if (!top[0] || !strcmp(top, ".") || !strcmp(top, ".."))
		snprintf(top, sizeof(top), "capture.reel");
	char part[4096];
	snprintf(part, sizeof(part), "%s.part", out);
	int fd = open(part, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) {
		err = dr_errf(errbuf, errlen, -errno, "%s: %s", part, strerror(errno));
		free(segs);
		close(lockfd);
		return err;
	}
	size_t bufsz = 1 << 20;
	uint8_t *buf = malloc(bufsz);
	uint8_t h[TAR_BLOCK];
	char name[4096];
	err = buf ? 0 : -ENOMEM;
	snprintf(name, sizeof(name), "%s/", top);
	if (!err)
		err = make_header(h, name, 0, '5', dir_mtime);
	if (!err)
		err = write_all(fd, h, TAR_BLOCK);
	snprintf(name, sizeof(name), "%s/seg/", top);
	if (!err)
		err = make_header(h, name, 0, '5', dir_mtime);
	if (!err)
		err = write_all(fd, h, TAR_BLOCK);
	/* fixed order: segments by number, the signature, the index last, so a cut pack loses
	 * only its end: the index is derived and readers rebuild it from the segments */
	size_t nfiles = nseg + 2;
	for (size_t i = 0; !err && i < nfiles; i++) {
		char rel[64];
		if (i < nseg)
			snprintf(rel, sizeof(rel), "seg/%06u.zst", segs[i]);
		else
			snprintf(rel, sizeof(rel), "%s",
				 i == nseg ? DNSREEL_SIG_FILE : "index.sqlite");
		snprintf(path, sizeof(path), "%s/%s", capture, rel);
		int in = dr_open_regular(path);
		if (in == -ENOENT && i >= nseg)
			continue;
		if (in < 0) {
			err = dr_errf(errbuf, errlen, in, "%s: %s", path,
				      in == DNSREEL_E_NOTREG ? "not a regular file"
							     : dnsreel_strerror(in));
			break;
		}
		struct stat fs;
		if (fstat(in, &fs) != 0) {
			err = -errno;
			close(in);
			break;
		}
		snprintf(name, sizeof(name), "%s/%s", top, rel);
		err = make_header(h, name, (uint64_t)fs.st_size, '0', (int64_t)fs.st_mtime);
		if (err)
			dr_errf(errbuf, errlen, err, "%s: too large for a ustar member (8 GiB)",
				path);
		if (!err)
			err = write_all(fd, h, TAR_BLOCK);
		if (!err)
			err = copy_member(in, fd, (uint64_t)fs.st_size, buf, bufsz);
		close(in);
		if (stats && !err) {
			stats->members++;
			stats->bytes_data += (uint64_t)fs.st_size;
		}
		if (err && errbuf && errlen && !errbuf[0])
			dr_errf(errbuf, errlen, err, "%s: %s", path, dnsreel_strerror(err));
	}
	memset(h, 0, sizeof(h));
	if (!err)
		err = write_all(fd, h, TAR_BLOCK);
	if (!err)
		err = write_all(fd, h, TAR_BLOCK);
	if (err && errbuf && errlen && !errbuf[0])
		dr_errf(errbuf, errlen, err, "%s: %s", part, dnsreel_strerror(err));
	if (!err && fsync(fd))
		err = dr_errf(errbuf, errlen, -errno, "%s: %s", part, strerror(errno));
	if (!err && stats) {
		struct stat os;
		if (fstat(fd, &os) == 0)
			stats->bytes_pack = (uint64_t)os.st_size;
	}
	if (close(fd) && !err)
		err = dr_errf(errbuf, errlen, -errno, "%s: %s", part, strerror(errno));
	if (!err && rename(part, out))
		err = dr_errf(errbuf, errlen, -errno, "%s: %s", out, strerror(errno));
	if (err)
		unlink(part);
	free(buf);
	free(segs);
	close(lockfd);
	return err;
}

/* ---- reading ----------------------------------------------------------------------------- */

static bool parse_octal(const uint8_t *p, size_t n, uint64_t *out)
{
	uint64_t v = 0;
	size_t i = 0;
	while (i < n && p[i] == ' ')
		i++;
	bool any = false;
	for (; i < n && p[i] >= '0' && p[i] <= '7'; i++) {
		if (v >> 60)
			return false;
		v = v * 8 + (uint64_t)(p[i] - '0');
		any = true;
	}
	for (; i < n; i++)
		if (p[i] != 0 && p[i] != ' ')
			return false;
	*out = v;
	return any;
}

static bool all_zero(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i])
			return false;
	return true;
}

/* The member's name inside the capture: the path without its first component (NAME.reel/),
 * which must be a relative name without "." or ".." parts. NULL when unusable. */
static char *member_name(const uint8_t *h)
{
	char full[256 + 2];
	size_t pl = strnlen((const char *)h + 345, 155), nl = strnlen((const char *)h, 100);
	if (pl)
		snprintf(full, sizeof(full), "%.*s/%.*s", (int)pl, (const char *)h + 345, (int)nl,
			 (const char *)h);
	else
		snprintf(full, sizeof(full), "%.*s", (int)nl, (const char *)h);
	const char *slash = strchr(full, '/');
	if (!slash || !slash[1] || full[0] == '/')
		return NULL;
	const char *rel = slash + 1;
	for (const char *p = full; *p; p++)
		if ((unsigned char)*p < 0x20)
			return NULL;
	for (const char *p = rel; p;) {
		const char *q = strchr(p, '/');
		size_t l = q ? (size_t)(q - p) : strlen(p);
		if ((l == 1 && p[0] == '.') || (l == 2 && p[0] == '.' && p[1] == '.') || l == 0)
			return NULL;
		p = q ? q + 1 : NULL;
	}
	return strdup(rel);
}

int dr_pack_scan(struct dr_src *s, uint64_t fsize, char *errbuf, size_t errlen)
{
	uint8_t h[TAR_BLOCK];
	uint64_t off = 0;
	size_t cap = 0;
	bool ended = false;
	while (!ended) {
		if (off + TAR_BLOCK > fsize) {
			snprintf(s->cut, sizeof(s->cut),
				 "pack cut at byte %" PRIu64
				 " (no end marker): members after %s are lost",
				 fsize, s->n ? s->m[s->n - 1].name : "the start");
			break;
		}
		ssize_t r = pread(s->fd, h, TAR_BLOCK, (off_t)off);
		if (r != TAR_BLOCK)
			return dr_errf(errbuf, errlen, r < 0 ? -errno : DNSREEL_E_TRUNCATED,
				       "%s: offset %" PRIu64 ": cannot read the pack", s->path,
				       off);
		if (all_zero(h, TAR_BLOCK)) {
			ended = true;
			break;
		}
		uint64_t size, sum;
		if (memcmp(h + 257, "ustar", 5) || !parse_octal(h + 148, 8, &sum) ||
		    sum != header_sum(h) || !parse_octal(h + 124, 12, &size))
			return dr_errf(errbuf, errlen,
				       s->n ? DNSREEL_E_CORRUPT : DNSREEL_E_NOTCAPTURE,
				       "%s: offset %" PRIu64 ": %s", s->path, off,
				       s->n ? "damaged pack member header (bad ustar magic, "
					      "checksum or size)"
					    : "not a capture directory or pack (no ustar header)");
		uint64_t data = off + TAR_BLOCK;
		char type = (char)h[156];
		if (type == '0' || type == 0) {
			char *name = member_name(h);
			if (!name)
				return dr_errf(errbuf, errlen, DNSREEL_E_CORRUPT,
					       "%s: offset %" PRIu64 ": pack member name unusable",
					       s->path, off);
			if (dr_src_member(s, name) || s->n >= PACK_MAX_MEMBERS) {
				free(name);
				return dr_errf(errbuf, errlen, DNSREEL_E_CORRUPT,
					       "%s: offset %" PRIu64 ": %s", s->path, off,
					       s->n >= PACK_MAX_MEMBERS
						   ? "too many pack members"
						   : "pack member listed twice");
			}
			if (s->n == cap) {
				size_t nc = cap ? 2 * cap : 16;
				struct dr_member *nm = realloc(s->m, nc * sizeof(*nm));
				if (!nm) {
					free(name);
					return -ENOMEM;
				}
				s->m = nm;
				cap = nc;
			}
			struct dr_member *m = &s->m[s->n++];
			m->name = name;
			m->off = data;
			m->size = size;
			m->avail = data >= fsize ? 0 : fsize - data < size ? fsize - data : size;
			if (m->avail < size) {
				snprintf(s->cut, sizeof(s->cut),
					 "pack cut at byte %" PRIu64 ": %s has %" PRIu64
					 " of its %" PRIu64 " bytes, members after it are lost",
					 fsize, name, m->avail, size);
				break;
			}
		}
		/* directories, pax headers, anything else: stepped over */
		if (size > fsize)
			size = fsize;
		off = data + (size + TAR_BLOCK - 1) / TAR_BLOCK * TAR_BLOCK;
	}
	return 0;
}

int dr_pack_index(struct dr_src *s, char *errbuf, size_t errlen)
{
	s->pack = true;
	s->fd = dr_open_regular(s->path);
	if (s->fd < 0)
		return dr_errf(errbuf, errlen, s->fd, "%s: %s", s->path,
			       s->fd == DNSREEL_E_NOTREG ? "not a regular file"
							 : dnsreel_strerror(s->fd));
	struct stat st;
	if (fstat(s->fd, &st) != 0)
		return dr_errf(errbuf, errlen, -errno, "%s: %s", s->path, strerror(errno));
	return dr_pack_scan(s, (uint64_t)st.st_size, errbuf, errlen);
}

int dnsreel_pack_extract(const char *pack, const char *dir, char *errbuf, size_t errlen)
{
	if (!pack || !dir)
		return DNSREEL_E_ARG;
	struct dr_src *s;
	int err = dr_src_open(&s, pack, errbuf, errlen);
	if (err)
		return err;
	if (!s->pack) {
		dr_src_close(s);
		return dr_errf(errbuf, errlen, DNSREEL_E_ARG, "%s: a directory, not a pack", pack);
	}
	if (mkdir(dir, 0755) != 0) {
		err = dr_errf(errbuf, errlen, -errno, "%s: %s%s", dir, strerror(errno),
			      errno == EEXIST ? " (unpack into a new directory)" : "");
		dr_src_close(s);
		return err;
	}
	char path[4096];
	snprintf(path, sizeof(path), "%s/seg", dir);
	if (mkdir(path, 0755) != 0)
		err = dr_errf(errbuf, errlen, -errno, "%s: %s", path, strerror(errno));
	uint8_t *buf = malloc(1 << 20);
	if (!buf && !err)
		err = -ENOMEM;
	for (size_t i = 0; !err && i < s->n; i++) {
		const struct dr_member *m = &s->m[i];
		uint32_t seg;
		/* only what a capture holds: nothing a crafted pack names can land elsewhere */
		if (!dr_segment_name(m->name, &seg) && strcmp(m->name, "index.sqlite") &&
		    strcmp(m->name, DNSREEL_SIG_FILE))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, m->name);
		int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
		if (fd < 0) {
			err = dr_errf(errbuf, errlen, -errno, "%s: %s", path, strerror(errno));
			break;
		}
		for (uint64_t done = 0; !err && done < m->avail;) {
			size_t k =
			    m->avail - done < (1u << 20) ? (size_t)(m->avail - done) : (1u << 20);
			struct dr_file f = {s->fd, m->off, m->avail};
			err = dr_file_pread(&f, buf, k, done);
			if (!err)
				err = write_all(fd, buf, k);
			done += k;
		}
		if (!err && fsync(fd))
			err = -errno;
		if (close(fd) && !err)
			err = -errno;
		if (err)
			dr_errf(errbuf, errlen, err, "%s: %s", path, dnsreel_strerror(err));
	}
	free(buf);
	if (!err && s->cut[0])
		dr_errf(errbuf, errlen, 0, "%s", s->cut);
	dr_src_close(s);
	return err;
}
