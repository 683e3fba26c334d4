/* Where a capture's files live: a directory NAME.reel/, or the members of a pack (a ustar file
 * written by dnsreel pack, pack.c). Readers name files as in the directory ("seg/000001.zst",
 * "index.sqlite") and get a descriptor plus the byte range to pread, so a pack is read in place.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "capture_int.h"

int dr_src_open(struct dr_src **out, const char *path, char *errbuf, size_t errlen)
{
	*out = NULL;
	struct stat st;
	if (stat(path, &st) != 0)
		return dr_errf(errbuf, errlen, -errno, "%s: %s", path, strerror(errno));
	struct dr_src *s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->fd = -1;
	s->path = strdup(path);
	if (!s->path) {
		free(s);
		return -ENOMEM;
	}
	if (S_ISREG(st.st_mode)) {
		int err = dr_pack_index(s, errbuf, errlen);
		if (err) {
			dr_src_close(s);
			return err;
		}
	} else if (!S_ISDIR(st.st_mode)) {
		dr_src_close(s);
		return dr_errf(errbuf, errlen, DNSREEL_E_NOTCAPTURE,
			       "%s: not a capture directory or pack", path);
	}
	*out = s;
	return 0;
}

void dr_src_close(struct dr_src *s)
{
	if (!s)
		return;
	if (s->fd >= 0)
		close(s->fd);
	for (size_t i = 0; i < s->n; i++)
		free(s->m[i].name);
	free(s->m);
	free(s->path);
	free(s);
}

const struct dr_member *dr_src_member(const struct dr_src *s, const char *name)
{
	for (size_t i = 0; i < s->n; i++)
		if (!strcmp(s->m[i].name, name))
			return &s->m[i];
	return NULL;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return x < y ? -1 : (x > y);
}

int dr_src_segments(const struct dr_src *s, uint32_t **out, size_t *n)
{
	if (!s->pack)
		return dr_list_segments(s->path, out, n);
	*out = NULL;
	*n = 0;
	uint32_t *v = malloc((s->n + 1) * sizeof(*v));
	if (!v)
		return -ENOMEM;
	for (size_t i = 0; i < s->n; i++) {
		uint32_t seg;
		if (dr_segment_name(s->m[i].name, &seg))
			v[(*n)++] = seg;
	}
	qsort(v, *n, sizeof(*v), cmp_u32);
	*out = v;
	return 0;
}

bool dr_segment_name(const char *name, uint32_t *seg)
{
	if (strncmp(name, "seg/", 4))
		return false;
	const char *s = name + 4;
	size_t l = strlen(s);
	if (l < 10 || l - 4 > 9 || strcmp(s + l - 4, ".zst"))
		return false;
	uint32_t v = 0;
	for (size_t i = 0; i < l - 4; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (uint32_t)(s[i] - '0');
	}
	*seg = v;
	return true;
}

int dr_src_file(const struct dr_src *s, const char *name, struct dr_file *f)
{
	memset(f, 0, sizeof(*f));
	f->fd = -1;
	if (s->pack) {
		const struct dr_member *m = dr_src_member(s, name);
		if (!m)
			return -ENOENT;
		f->fd = dup(s->fd);
		if (f->fd < 0)
			return -errno;
		f->base = m->off;
		f->size = m->avail;
		return 0;
	}
	char path[4096];
	snprintf(path, sizeof(path), "%s/%s", s->path, name);
	int fd = dr_open_regular(path);
	if (fd < 0)
		return fd;
	struct stat st;
	if (fstat(fd, &st) != 0) {
		int e = -errno;
		close(fd);
		return e;
	}
	f->fd = fd;
	f->size = (uint64_t)st.st_size;
	return 0;
}

void dr_file_close(struct dr_file *f)
{
	if (f->fd >= 0)
		close(f->fd);
	f->fd = -1;
}

int dr_file_pread(const struct dr_file *f, void *buf, size_t n, uint64_t off)
{
	if (off > f->size || n > f->size - off)
		return DNSREEL_E_TRUNCATED;
	uint8_t *p = buf;
	size_t got = 0;
	while (got < n) {
		ssize_t r = pread(f->fd, p + got, n - got, (off_t)(f->base + off + got));
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		if (r == 0)
			return DNSREEL_E_TRUNCATED;
		got += (size_t)r;
	}
	return 0;
}

int dr_file_read_all(const struct dr_file *f, uint8_t **out, size_t *len)
{
	*out = NULL;
	*len = 0;
	if (f->size > (uint64_t)SIZE_MAX / 2)
		return DNSREEL_E_LIMIT;
	uint8_t *b = malloc(f->size ? (size_t)f->size : 1);
	if (!b)
		return -ENOMEM;
	int err = dr_file_pread(f, b, (size_t)f->size, 0);
	if (err) {
		free(b);
		return err;
	}
	*out = b;
	*len = (size_t)f->size;
	return 0;
}
