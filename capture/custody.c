/* Chain of custody: CHAIN and INPUT records, the manifest and its root hash (FORMAT.md §12),
 * computed from the segment files as they are, stored in the index by the writer and reindex.
 * Hashes are BLAKE2b-256 (libsodium's crypto_generichash).
 */
#include <errno.h>
#include <inttypes.h>
#include <sodium.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "capture_int.h"

void dr_hex(const uint8_t *p, size_t n, char *out)
{
	static const char d[] = "0123456789abcdef";
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = d[p[i] >> 4];
		out[2 * i + 1] = d[p[i] & 15];
	}
	out[2 * n] = 0;
}

static int unhex(const char *s, uint8_t *out, size_t n)
{
	for (size_t i = 0; i < 2 * n; i++) {
		char c = s[i];
		int v = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
		if (v < 0)
			return DNSREEL_E_PARSE;
		if (i % 2)
			out[i / 2] = (uint8_t)(out[i / 2] | v);
		else
			out[i / 2] = (uint8_t)(v << 4);
	}
	return s[2 * n] ? DNSREEL_E_PARSE : 0;
}

void dr_chain_ser(struct dr_buf *b, uint32_t segment, const uint8_t prev[DNSREEL_HASH_BYTES],
		  const char *user, const char *host)
{
	dr_put32(b, segment);
	dr_put8(b, 1); /* hash: BLAKE2b-256 */
	dr_put8(b, 0);
	dr_put8(b, 0);
	dr_put8(b, 0);
	dr_put(b, prev, DNSREEL_HASH_BYTES);
	dr_put_str(b, user, DNSREEL_SHORT_LEN);
	dr_put_str(b, host, DNSREEL_NAME_LEN);
}

struct chain_rec {
	uint32_t segment;
	uint8_t prev[DNSREEL_HASH_BYTES];
	char user[DNSREEL_SHORT_LEN];
	char host[DNSREEL_NAME_LEN];
};

static int chain_de(const uint8_t *p, size_t len, struct chain_rec *c)
{
	struct dr_rd r = {p, p + len, false};
	memset(c, 0, sizeof(*c));
	c->segment = dr_get32(&r);
	uint8_t alg = dr_get8(&r);
	dr_getn(&r, 3);
	const uint8_t *h = dr_getn(&r, DNSREEL_HASH_BYTES);
	if (h)
		memcpy(c->prev, h, DNSREEL_HASH_BYTES);
	dr_get_str(&r, c->user, sizeof(c->user));
	dr_get_str(&r, c->host, sizeof(c->host));
	return r.bad || alg != 1 ? DNSREEL_E_CORRUPT : 0;
}

void dr_input_ser(struct dr_buf *b, const struct dnsreel_custody_input *in)
{
	dr_put_str(b, in->capture_id, sizeof(in->capture_id));
	dr_put_str(b, in->root, sizeof(in->root));
	dr_put_str(b, in->role, sizeof(in->role));
}

static int input_de(const uint8_t *p, size_t len, struct dnsreel_custody_input *in)
{
	struct dr_rd r = {p, p + len, false};
	memset(in, 0, sizeof(*in));
	dr_get_str(&r, in->capture_id, sizeof(in->capture_id));
	dr_get_str(&r, in->root, sizeof(in->root));
	dr_get_str(&r, in->role, sizeof(in->role));
	return r.bad ? DNSREEL_E_CORRUPT : 0;
}

void dr_chain_link0(const char *capture_id, uint8_t out[DNSREEL_HASH_BYTES])
{
	crypto_generichash_state st;
	crypto_generichash_init(&st, NULL, 0, DNSREEL_HASH_BYTES);
	static const char tag[] = "dnsreel-chain 1\n";
	crypto_generichash_update(&st, (const uint8_t *)tag, sizeof(tag) - 1);
	crypto_generichash_update(&st, (const uint8_t *)capture_id, strlen(capture_id));
	crypto_generichash_final(&st, out, DNSREEL_HASH_BYTES);
}

void dr_chain_next(uint8_t link[DNSREEL_HASH_BYTES], const uint8_t seghash[DNSREEL_HASH_BYTES])
{
	uint8_t in[2 * DNSREEL_HASH_BYTES];
	memcpy(in, link, DNSREEL_HASH_BYTES);
	memcpy(in + DNSREEL_HASH_BYTES, seghash, DNSREEL_HASH_BYTES);
	crypto_generichash(link, DNSREEL_HASH_BYTES, in, sizeof(in), NULL, 0);
}

/* Text values in the manifest: a space, control bytes, DEL and the backslash as \xHH, so each
 * line splits into fields at spaces and no value can forge a line. */
static void put_esc(struct dr_buf *b, const char *s)
{
	if (!*s) {
		dr_put(b, "-", 1); /* empty: a field is never missing */
		return;
	}
	if (!strcmp(s, "-")) {
		dr_put(b, "\\x2d", 4);
		return;
	}
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c <= 0x20 || c == 0x7f || c == '\\') {
			char t[5];
			snprintf(t, sizeof(t), "\\x%02x", c);
			dr_put(b, t, 4);
		} else
			dr_put8(b, c);
	}
}

static void putf(struct dr_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void putf(struct dr_buf *b, const char *fmt, ...)
{
	char t[512];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(t, sizeof(t), fmt, ap);
	va_end(ap);
	if (n > 0)
		dr_put(b, t, (size_t)n < sizeof(t) ? (size_t)n : sizeof(t) - 1);
}

static void put_kv(struct dr_buf *b, const char *k, const char *v)
{
	putf(b, "%s ", k);
	put_esc(b, v);
	dr_put8(b, '\n');
}

static void put_seg_line(struct dr_buf *b, const struct dnsreel_custody_segment *s)
{
	putf(b, "segment seg/%06u.zst %" PRIu64 " %s\n", s->segment, s->bytes, s->hash);
}

static void chain_seg(uint8_t link[DNSREEL_HASH_BYTES], const struct dnsreel_custody_segment *s)
{
	uint8_t h[DNSREEL_HASH_BYTES];
	if (unhex(s->hash, h, sizeof(h)))
		memset(h, 0, sizeof(h));
	dr_chain_next(link, h);
}

void dr_mpart_reset(struct dr_mpart *p)
{
	p->lines.len = 0;
	p->lines.err = 0;
	p->n = 0;
}

void dr_mpart_free(struct dr_mpart *p)
{
	dr_buf_free(&p->lines);
	memset(p, 0, sizeof(*p));
}

int dr_mpart_add(struct dr_mpart *p, const char *capture_id,
		 const struct dnsreel_custody_segment *s)
{
	if (!p->n) {
		/* chain_base as dr_custody_build() finds it */
		if (unhex(s->prev, p->base, sizeof(p->base)))
			dr_chain_link0(capture_id, p->base);
		memcpy(p->link, p->base, sizeof(p->link));
		p->first = s->segment;
	}
	put_seg_line(&p->lines, s);
	if (p->lines.err) {
		int err = p->lines.err;
		dr_mpart_reset(p);
		return err;
	}
	chain_seg(p->link, s);
	p->n++;
	return 0;
}

int dr_custody_build_after(struct dnsreel_custody *c, const struct dr_mpart *before)
{
	struct dr_buf b = {0};
	const struct dnsreel_meta *m = &c->meta;
	putf(&b, "dnsreel-manifest 1\nhash blake2b-256\nchain %s\n", c->chained ? "yes" : "no");
	put_kv(&b, "capture_id", m->capture_id);
	putf(&b, "format %u.%u\n", m->format_major, m->format_minor);
	put_kv(&b, "recorder", m->recorder);
	put_kv(&b, "node", m->node);
	put_kv(&b, "kernel", m->kernel);
	put_kv(&b, "user", c->user);
	put_kv(&b, "host", c->host);
	putf(&b, "start_wall_ns %" PRId64 "\nend_wall_ns %" PRId64 "\n", m->start_wall_ns,
	     c->end_wall_ns);
	uint8_t link[DNSREEL_HASH_BYTES];
	if (before && before->n) {
		memcpy(link, before->base, sizeof(link));
	} else {
		dr_chain_link0(m->capture_id, link);
		if (c->chained && c->nsegments && unhex(c->segments[0].prev, link, sizeof(link)))
			dr_chain_link0(m->capture_id, link);
	}
	char hx[DNSREEL_HASH_HEX];
	dr_hex(link, sizeof(link), hx);
	putf(&b, "chain_base %s\n", hx);
	if (before && before->n) {
		dr_put(&b, before->lines.p, before->lines.len);
		memcpy(link, before->link, sizeof(link));
	}
	for (size_t i = 0; i < c->nsegments; i++) {
		put_seg_line(&b, &c->segments[i]);
		chain_seg(link, &c->segments[i]);
	}
	for (size_t i = 0; i < c->ninputs; i++) {
		const struct dnsreel_custody_input *in = &c->inputs[i];
		dr_put(&b, "input ", 6);
		put_esc(&b, in->capture_id);
		dr_put8(&b, ' ');
		put_esc(&b, in->root);
		dr_put8(&b, ' ');
		put_esc(&b, in->role);
		dr_put8(&b, '\n');
	}
	dr_hex(link, sizeof(link), c->chain_head);
	putf(&b, "chain_head %s\n", c->chain_head);
	dr_put8(&b, 0);
	if (b.err) {
		dr_buf_free(&b);
		return b.err;
	}
	free(c->manifest);
	c->manifest = (char *)b.p;
	uint8_t root[DNSREEL_HASH_BYTES];
	crypto_generichash(root, sizeof(root), b.p, b.len - 1, NULL, 0);
	dr_hex(root, sizeof(root), c->root);
	return 0;
}

int dr_custody_build(struct dnsreel_custody *c)
{
	return dr_custody_build_after(c, NULL);
}

void dnsreel_custody_free(struct dnsreel_custody *c)
{
	if (!c)
		return;
	free(c->segments);
	free(c->inputs);
	free(c->manifest);
	free(c);
}

static int add_input(struct dnsreel_custody *c, const struct dnsreel_custody_input *in)
{
	for (size_t i = 0; i < c->ninputs; i++)
		if (!strcmp(c->inputs[i].capture_id, in->capture_id) &&
		    !strcmp(c->inputs[i].root, in->root) && !strcmp(c->inputs[i].role, in->role))
			return 0;
	struct dnsreel_custody_input *n = realloc(c->inputs, (c->ninputs + 1) * sizeof(*n));
	if (!n)
		return -ENOMEM;
	c->inputs = n;
	c->inputs[c->ninputs++] = *in;
	return 0;
}

/* BLAKE2b-256 of a file's bytes, read in chunks; holes of a sparse file are hashed as the
 * zeros they read as without reading them. */
static int hash_file(const struct dr_file *f, uint64_t n, uint8_t out[DNSREEL_HASH_BYTES])
{
	crypto_generichash_state st;
	crypto_generichash_init(&st, NULL, 0, DNSREEL_HASH_BYTES);
	static const uint8_t zeros[65536];
	uint8_t *buf = malloc(1 << 20);
	if (!buf)
		return -ENOMEM;
	int err = 0;
	for (uint64_t off = 0; !err && off < n;) {
		uint64_t data = off;
		if (f->base == 0) {
			off_t d = lseek(f->fd, (off_t)off, SEEK_DATA);
			data = d < 0 ? n : (uint64_t)d;
			if (data > n)
				data = n;
		}
		for (; off < data; off += sizeof(zeros) < data - off ? sizeof(zeros) : data - off)
			crypto_generichash_update(
			    &st, zeros, sizeof(zeros) < data - off ? sizeof(zeros) : data - off);
		if (off >= n)
			break;
		size_t k = n - off < (1u << 20) ? (size_t)(n - off) : (1u << 20);
		err = dr_file_pread(f, buf, k, off);
		if (!err)
			crypto_generichash_update(&st, buf, k);
		off += k;
	}
	free(buf);
	crypto_generichash_final(&st, out, DNSREEL_HASH_BYTES);
	return err;
}

/* One segment: its hash, and what its leading records and block headers say, read item by
 * item. Damage stops the walk (verify's scanner reports it); the hash covers every byte. */
static int compute_segment(const struct dr_src *src, uint32_t segno, struct dnsreel_custody *c,
			   bool first, int64_t *last_ts, bool *have_ts, char *errbuf, size_t errlen)
{
	char name[32];
	snprintf(name, sizeof(name), "seg/%06u.zst", segno);
	struct dr_file f;
	int err = dr_src_file(src, name, &f);
	if (err)
		return dr_errf(errbuf, errlen, err, "%s/%s: %s", src->path, name,
			       err == DNSREEL_E_NOTREG ? "not a regular file"
						       : dnsreel_strerror(err));
	struct dnsreel_custody_segment *s = &c->segments[c->nsegments++];
	memset(s, 0, sizeof(*s));
	s->segment = segno;
	s->bytes = f.size;
	struct dr_buf rec = {0};
	bool head = true;
	for (uint64_t off = 0; off + DR_REC_HDR <= f.size;) {
		uint8_t hd[DR_REC_HDR + DR_BLOCK_HDR_BODY];
		size_t hn = f.size - off < sizeof(hd) ? (size_t)(f.size - off) : sizeof(hd);
		if (dr_file_pread(&f, hd, hn, off) || dr_rd32(hd) != DR_SKIP_MAGIC)
			break;
		uint32_t size = dr_rd32(hd + 4);
		if (size < 8 || size > DR_MAX_REC || size > f.size - off - 8)
			break;
		uint8_t type = hd[8];
		uint64_t next = off + 8 + size;
		if (type == DR_REC_BLOCK) {
			/* the header alone (its CRC checked), not the data: only its time range */
			if (hn < sizeof(hd) || size - 8 < DR_BLOCK_HDR_BODY)
				break;
			rec.len = 0;
			if (dr_buf_reserve(&rec, 8 + size) ||
			    dr_file_pread(&f, rec.p, 8 + size, off))
				break;
			uint32_t crc = dr_crc32c(0, rec.p + 8, 4);
			if (dr_crc32c(crc, rec.p + DR_REC_HDR, size - 8) != dr_rd32(rec.p + 12))
				break;
			struct dr_blockhdr bh;
			dr_blockhdr_de(rec.p + DR_REC_HDR, &bh);
			if (bh.zlen > f.size - next)
				break;
			if (!*have_ts || bh.last_ts > *last_ts)
				*last_ts = bh.last_ts;
			*have_ts = true;
			head = false;
			off = next + bh.zlen;
			continue;
		}
		if (!head ||
		    (type != DR_REC_META && type != DR_REC_CHAIN && type != DR_REC_INPUT)) {
			off = next;
			continue;
		}
		rec.len = 0;
		if (dr_buf_reserve(&rec, 8 + size) || dr_file_pread(&f, rec.p, 8 + size, off))
			break;
		struct dr_scan sc = {rec.p, 8 + (size_t)size, 0};
		struct dr_item it;
		const char *msg;
		if (dr_scan_next(&sc, &it, &msg) != 1)
			break;
		off = next;
		if (it.type == DR_REC_META && first) {
			uint32_t sn;
			if (dr_meta_de(it.body, it.body_len, &c->meta, &sn) == DNSREEL_E_VERSION) {
				err = dr_errf(errbuf, errlen, DNSREEL_E_VERSION,
					      "%s/%s: written by a newer format version %u.%u",
					      src->path, name, c->meta.format_major,
					      c->meta.format_minor);
				break;
			}
		} else if (it.type == DR_REC_CHAIN) {
			struct chain_rec cr;
			if (!chain_de(it.body, it.body_len, &cr) && !s->chain_segment) {
				s->chain_segment = cr.segment ? cr.segment : UINT32_MAX;
				dr_hex(cr.prev, sizeof(cr.prev), s->prev);
				if (first) {
					snprintf(c->user, sizeof(c->user), "%s", cr.user);
					snprintf(c->host, sizeof(c->host), "%s", cr.host);
				}
			}
		} else if (it.type == DR_REC_INPUT) {
			struct dnsreel_custody_input in;
			if (!input_de(it.body, it.body_len, &in) && (err = add_input(c, &in)))
				break;
		}
	}
	dr_buf_free(&rec);
	if (first)
		c->chained = s->chain_segment != 0;
	/* a capture from before custody has no chain to check: hashing it (a segment can be
	 * gigabytes) would only delay the other checks */
	if (!err && c->chained) {
		uint8_t h[DNSREEL_HASH_BYTES];
		err = hash_file(&f, f.size, h);
		if (err)
			dr_errf(errbuf, errlen, err, "%s/%s: cannot read: %s", src->path, name,
				dnsreel_strerror(err));
		dr_hex(h, sizeof(h), s->hash);
	}
	dr_file_close(&f);
	return err;
}

static int compute_src(const struct dr_src *src, struct dnsreel_custody **out, char *errbuf,
		       size_t errlen)
{
	*out = NULL;
	uint32_t *segs;
	size_t n;
	int err = dr_src_segments(src, &segs, &n);
	if (err)
		return dr_errf(errbuf, errlen, err == -ENOENT ? DNSREEL_E_NOTCAPTURE : err,
			       "%s: no segments: %s", src->path, dnsreel_strerror(err));
	struct dnsreel_custody *c = calloc(1, sizeof(*c));
	if (!c || !(c->segments = calloc(n + 1, sizeof(*c->segments)))) {
		free(segs);
		free(c);
		return -ENOMEM;
	}
	int64_t last_ts = 0;
	bool have_ts = false;
	for (size_t i = 0; i < n && !err; i++)
		err = compute_segment(src, segs[i], c, i == 0, &last_ts, &have_ts, errbuf, errlen);
	free(segs);
	if (!err && have_ts && dnsreel_wall_ns(last_ts, c->meta.boot_to_wall_ns, &c->end_wall_ns))
		c->end_wall_ns = 0;
	if (!err)
		err = dr_custody_build(c);
	if (!err && !c->chained)
		c->root[0] = c->chain_head[0] = 0;
	if (err) {
		dnsreel_custody_free(c);
		return err;
	}
	*out = c;
	return 0;
}

int dnsreel_custody_compute(const char *capture, struct dnsreel_custody **out, char *errbuf,
			    size_t errlen)
{
	*out = NULL;
	if (!capture)
		return DNSREEL_E_ARG;
	if (sodium_init() < 0)
		return dr_errf(errbuf, errlen, DNSREEL_E_STATE, "libsodium cannot initialise");
	struct dr_src *src;
	int err = dr_src_open(&src, capture, errbuf, errlen);
	if (err)
		return err;
	err = compute_src(src, out, errbuf, errlen);
	dr_src_close(src);
	return err;
}

int dr_custody_put_index(sqlite3 *db, const struct dnsreel_custody *c, bool last_only)
{
	int err = last_only ? SQLITE_OK
			    : sqlite3_exec(db, "DELETE FROM manifest; DELETE FROM inputs", NULL,
					   NULL, NULL);
	sqlite3_stmt *st = NULL;
	if (err == SQLITE_OK)
		err = sqlite3_prepare_v2(
		    db, "INSERT OR REPLACE INTO manifest VALUES(?, ?, ?, ?, ?)", -1, &st, NULL);
	for (size_t i = last_only && c->nsegments ? c->nsegments - 1 : 0;
	     err == SQLITE_OK && i < c->nsegments; i++) {
		const struct dnsreel_custody_segment *s = &c->segments[i];
		char path[32];
		snprintf(path, sizeof(path), "seg/%06u.zst", s->segment);
		sqlite3_bind_int64(st, 1, s->segment);
		sqlite3_bind_text(st, 2, path, -1, SQLITE_TRANSIENT);
		sqlite3_bind_int64(st, 3, (int64_t)s->bytes);
		sqlite3_bind_text(st, 4, s->hash, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 5, s->prev, -1, SQLITE_STATIC);
		err = sqlite3_step(st) == SQLITE_DONE ? SQLITE_OK : SQLITE_ERROR;
		sqlite3_reset(st);
	}
	sqlite3_finalize(st);
	st = NULL;
	if (err == SQLITE_OK && !last_only)
		err = sqlite3_prepare_v2(db, "INSERT INTO inputs VALUES(?, ?, ?)", -1, &st, NULL);
	for (size_t i = 0; err == SQLITE_OK && !last_only && i < c->ninputs; i++) {
		sqlite3_bind_text(st, 1, c->inputs[i].capture_id, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, c->inputs[i].root, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 3, c->inputs[i].role, -1, SQLITE_STATIC);
		err = sqlite3_step(st) == SQLITE_DONE ? SQLITE_OK : SQLITE_ERROR;
		sqlite3_reset(st);
	}
	sqlite3_finalize(st);
	st = NULL;
	static const char *const keys[] = {"root_hash", "chain_head", "custody_user",
					   "custody_host", "manifest"};
	const char *vals[] = {c->root, c->chain_head, c->user, c->host, c->manifest};
	if (err == SQLITE_OK)
		err = sqlite3_prepare_v2(db, "INSERT OR REPLACE INTO capture_info VALUES(?, ?)", -1,
					 &st, NULL);
	for (size_t i = 0; err == SQLITE_OK && i < sizeof(keys) / sizeof(keys[0]); i++) {
		sqlite3_bind_text(st, 1, keys[i], -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, vals[i], -1, SQLITE_STATIC);
		err = sqlite3_step(st) == SQLITE_DONE ? SQLITE_OK : SQLITE_ERROR;
		sqlite3_reset(st);
	}
	if (err == SQLITE_OK) {
		sqlite3_finalize(st);
		err =
		    sqlite3_prepare_v2(db,
				       "INSERT OR REPLACE INTO capture_info VALUES('end_wall_ns', "
				       "?)",
				       -1, &st, NULL);
		if (err == SQLITE_OK) {
			sqlite3_bind_int64(st, 1, c->end_wall_ns);
			err = sqlite3_step(st) == SQLITE_DONE ? SQLITE_OK : SQLITE_ERROR;
		}
	}
	sqlite3_finalize(st);
	return err == SQLITE_OK ? 0 : DNSREEL_E_SQLITE;
}

/* ---- verify ------------------------------------------------------------------------------ */

static void cprob(dr_problem_fn fn, void *pctx, int *n, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void cprob(dr_problem_fn fn, void *pctx, int *n, const char *fmt, ...)
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

/* BLAKE2b-256 of the first n bytes of a segment. */
static int hash_prefix(const char *capture, uint32_t segno, uint64_t n, char out[DNSREEL_HASH_HEX])
{
	struct dr_src *src;
	int err = dr_src_open(&src, capture, NULL, 0);
	if (err)
		return err;
	char name[32];
	snprintf(name, sizeof(name), "seg/%06u.zst", segno);
	struct dr_file f;
	err = dr_src_file(src, name, &f);
	if (!err) {
		crypto_generichash_state st;
		crypto_generichash_init(&st, NULL, 0, DNSREEL_HASH_BYTES);
		uint8_t buf[65536];
		for (uint64_t off = 0; !err && off < n;) {
			size_t k = n - off < sizeof(buf) ? (size_t)(n - off) : sizeof(buf);
			err = dr_file_pread(&f, buf, k, off);
			crypto_generichash_update(&st, buf, k);
			off += k;
		}
		uint8_t h[DNSREEL_HASH_BYTES];
		crypto_generichash_final(&st, h, sizeof(h));
		dr_hex(h, sizeof(h), out);
		dr_file_close(&f);
	}
	dr_src_close(src);
	return err;
}

/* What the files say of their own order: each CHAIN record must hold the link of the segments
 * before it, rooted at the capture id. */
static int check_chain(const struct dnsreel_custody *c, dr_problem_fn fn, void *pctx)
{
	int n = 0;
	if (!c->nsegments)
		return 0;
	uint8_t link[DNSREEL_HASH_BYTES], want[DNSREEL_HASH_BYTES];
	const struct dnsreel_custody_segment *s0 = &c->segments[0];
	if (unhex(s0->prev, link, sizeof(link)))
		memset(link, 0, sizeof(link));
	if (s0->segment == 1) {
		dr_chain_link0(c->meta.capture_id, want);
		if (memcmp(want, link, sizeof(link)))
			cprob(
			    fn, pctx, &n,
			    "seg/000001.zst: custody: altered: its chain does not start at capture "
			    "id %s",
			    c->meta.capture_id);
	}
	for (size_t i = 0; i < c->nsegments; i++) {
		const struct dnsreel_custody_segment *s = &c->segments[i];
		if (!s->chain_segment) {
			cprob(
			    fn, pctx, &n,
			    "seg/%06u.zst: custody: altered: no chain record (a chained capture's "
			    "segments all start with one)",
			    s->segment);
			continue;
		}
		if (s->chain_segment != s->segment) {
			cprob(fn, pctx, &n,
			      "seg/%06u.zst: custody: reordered: its chain record names "
			      "seg/%06u.zst",
			      s->segment, s->chain_segment);
			continue;
		}
		if (i == 0)
			continue;
		const struct dnsreel_custody_segment *p = &c->segments[i - 1];
		if (s->segment != p->segment + 1) {
			cprob(fn, pctx, &n,
			      "seg/%06u.zst: custody: missing: the chain goes from seg/%06u.zst to "
			      "seg/%06u.zst",
			      p->segment + 1, p->segment, s->segment);
			continue;
		}
		/* each link checked from its predecessor's own record, so one bad segment is
		 * named once, not every segment after it */
		uint8_t h[DNSREEL_HASH_BYTES];
		if (p->chain_segment != p->segment || unhex(p->prev, link, sizeof(link)) ||
		    unhex(p->hash, h, sizeof(h)))
			continue;
		dr_chain_next(link, h);
		if (unhex(s->prev, want, sizeof(want)) || memcmp(want, link, sizeof(link)))
			cprob(fn, pctx, &n,
			      "seg/%06u.zst: custody: changed (altered, truncated or appended): "
			      "seg/%06u.zst's chain link does not match its hash",
			      p->segment, s->segment);
	}
	return n;
}

struct mrow {
	uint32_t segment;
	uint64_t bytes;
	char hash[DNSREEL_HASH_HEX];
};

/* The manifest the index holds: rows and root. 0 with *n = 0 when it has none (format 1.0). */
struct ikey {
	const char *k;
	char v[DNSREEL_NAME_LEN];
};

static int load_manifest(const char *capture, struct mrow **rows, size_t *n,
			 char root[DNSREEL_HASH_HEX], char **text, struct ikey *keys, int nkeys)
{
	*rows = NULL;
	*n = 0;
	*text = NULL;
	root[0] = 0;
	struct dr_src *src;
	int err = dr_src_open(&src, capture, NULL, 0);
	if (err)
		return err;
	sqlite3 *db;
	err = dr_index_open_src(src, &db, NULL, 0);
	dr_src_close(src);
	if (err)
		return err;
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(db, "SELECT value FROM capture_info WHERE key = 'root_hash'", -1,
			       &st, NULL) == SQLITE_OK) {
		if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0))
			snprintf(root, DNSREEL_HASH_HEX, "%s",
				 (const char *)sqlite3_column_text(st, 0));
		sqlite3_finalize(st);
	}
	for (int i = 0; i < nkeys; i++)
		if (sqlite3_prepare_v2(db, "SELECT value FROM capture_info WHERE key = ?", -1, &st,
				       NULL) == SQLITE_OK) {
			sqlite3_bind_text(st, 1, keys[i].k, -1, SQLITE_STATIC);
			if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0))
				snprintf(keys[i].v, sizeof(keys[i].v), "%s",
					 (const char *)sqlite3_column_text(st, 0));
			sqlite3_finalize(st);
		}
	if (sqlite3_prepare_v2(db, "SELECT value FROM capture_info WHERE key = 'manifest'", -1, &st,
			       NULL) == SQLITE_OK) {
		if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0))
			*text = strdup((const char *)sqlite3_column_text(st, 0));
		sqlite3_finalize(st);
	}
	if (sqlite3_prepare_v2(db, "SELECT segment, bytes, hash FROM manifest ORDER BY segment", -1,
			       &st, NULL) == SQLITE_OK) {
		size_t cap = 0;
		while (sqlite3_step(st) == SQLITE_ROW) {
			if (*n == cap) {
				cap = cap ? 2 * cap : 16;
				struct mrow *nr = realloc(*rows, cap * sizeof(*nr));
				if (!nr) {
					err = -ENOMEM;
					break;
				}
				*rows = nr;
			}
			struct mrow *r = &(*rows)[(*n)++];
			int64_t sg = sqlite3_column_int64(st, 0), b = sqlite3_column_int64(st, 1);
			r->segment = sg < 0 || sg > UINT32_MAX ? 0 : (uint32_t)sg;
			r->bytes = b < 0 ? 0 : (uint64_t)b;
			const unsigned char *h = sqlite3_column_text(st, 2);
			snprintf(r->hash, sizeof(r->hash), "%s", h ? (const char *)h : "");
		}
		sqlite3_finalize(st);
	}
	sqlite3_close(db);
	return err;
}

int dr_custody_verify(const char *capture, const struct dnsreel_custody *c, dr_problem_fn fn,
		      void *pctx)
{
	if (!c->chained)
		return 0;
	int n = check_chain(c, fn, pctx);
	struct mrow *m;
	size_t nm;
	char root[DNSREEL_HASH_HEX], *text;
	struct ikey keys[3] = {{"custody_user", ""}, {"custody_host", ""}, {"chain_head", ""}};
	if (load_manifest(capture, &m, &nm, root, &text, keys, 3) || !nm) {
		free(m);
		free(text);
		return n; /* no usable index: the capture verifier says why */
	}
	for (size_t i = 0; i < nm; i++) {
		const struct dnsreel_custody_segment *f = NULL;
		for (size_t k = 0; k < c->nsegments && !f; k++)
			if (c->segments[k].segment == m[i].segment)
				f = &c->segments[k];
		const struct mrow *o = NULL;
		for (size_t k = 0; f && k < nm && !o; k++)
			if (k != i && !strcmp(m[k].hash, f->hash))
				o = &m[k];
		if (!f) {
			cprob(fn, pctx, &n,
			      "seg/%06u.zst: custody: missing: the manifest lists it (%" PRIu64
			      " bytes, hash %s)",
			      m[i].segment, m[i].bytes, m[i].hash);
		} else if (!strcmp(f->hash, m[i].hash)) {
			continue;
		} else if (o) {
			cprob(
			    fn, pctx, &n,
			    "seg/%06u.zst: custody: reordered: it holds what the manifest lists as "
			    "seg/%06u.zst",
			    f->segment, o->segment);
		} else if (f->bytes < m[i].bytes) {
			cprob(fn, pctx, &n,
			      "seg/%06u.zst: custody: truncated: %" PRIu64
			      " bytes, the manifest says %" PRIu64,
			      f->segment, f->bytes, m[i].bytes);
		} else if (f->bytes > m[i].bytes) {
			char ph[DNSREEL_HASH_HEX] = "";
			hash_prefix(capture, f->segment, m[i].bytes, ph);
			if (!strcmp(ph, m[i].hash))
				cprob(fn, pctx, &n,
				      "seg/%06u.zst: custody: appended: %" PRIu64
				      " bytes after the %" PRIu64 " the manifest covers",
				      f->segment, f->bytes - m[i].bytes, m[i].bytes);
			else
				cprob(fn, pctx, &n,
				      "seg/%06u.zst: custody: altered: %" PRIu64
				      " bytes and another hash than the manifest's %" PRIu64,
				      f->segment, f->bytes, m[i].bytes);
		} else {
			cprob(fn, pctx, &n,
			      "seg/%06u.zst: custody: altered: hash %s, the manifest says %s",
			      f->segment, f->hash, m[i].hash);
		}
	}
	for (size_t k = 0; k < c->nsegments; k++) {
		bool listed = false;
		for (size_t i = 0; i < nm && !listed; i++)
			listed = m[i].segment == c->segments[k].segment;
		if (!listed)
			cprob(fn, pctx, &n, "seg/%06u.zst: custody: appended: not in the manifest",
			      c->segments[k].segment);
	}
	if (strcmp(root, c->root))
		cprob(fn, pctx, &n,
		      "index.sqlite: custody: the index's root hash %s is not the segments' %s "
		      "(index edited, or segments changed)",
		      root[0] ? root : "(none)", c->root);
	else if (!text || strcmp(text, c->manifest)) {
		/* name the first line that differs */
		const char *a = text ? text : "", *b = c->manifest;
		while (*a && *a == *b) {
			const char *na = strchr(a, '\n'), *nb = strchr(b, '\n');
			if (!na || !nb || na - a != nb - b || memcmp(a, b, (size_t)(na - a)))
				break;
			a = na + 1;
			b = nb + 1;
		}
		int la = (int)strcspn(a, "\n"), lb = (int)strcspn(b, "\n");
		cprob(fn, pctx, &n,
		      "index.sqlite: custody: index edited: its manifest says '%.*s', the segments "
		      "'%.*s'",
		      la > 200 ? 200 : la, a, lb > 200 ? 200 : lb, b);
	} else {
		const char *want[] = {c->user, c->host, c->chain_head};
		for (int i = 0; i < 3; i++)
			if (strcmp(keys[i].v, want[i]))
				cprob(fn, pctx, &n,
				      "index.sqlite: custody: index edited: capture_info %s is "
				      "'%.100s', "
				      "the segments say '%.100s'",
				      keys[i].k, keys[i].v, want[i]);
	}
	free(text);
	free(m);
	return n;
}
