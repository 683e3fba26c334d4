/* Internals of the capture format shared by codec.c, segment.c, index.c, capture.c,
 * capread.c and verify.c. Not installed; the layouts are specified in capture/FORMAT.md.
 */
#ifndef DNSREEL_CAPTURE_INT_H
#define DNSREEL_CAPTURE_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "capture.h"
#include "dnsreel.h"

/* zstd skippable frame magic used for every dnsreel record (0x184D2A50..5F are skippable) */
#define DR_SKIP_MAGIC 0x184D2A5Eu
#define DR_ZSTD_MAGIC 0xFD2FB528u
#define DR_REC_HDR    16 /* skippable magic, size, type, version, reserved, crc32c */

enum dr_rec_type {
	DR_REC_META = 1,
	DR_REC_NETNS = 2,
	DR_REC_PROC = 3,
	DR_REC_SERVICE = 4,
	DR_REC_COUNTERS = 5,
	DR_REC_CHAIN = 6, /* custody: the chain link of the segments before this one */
	DR_REC_INPUT = 7, /* custody: a capture this one was derived from */
	DR_REC_BLOCK = 16,
};

#define DR_BLOCK_HDR_BODY   48 /* body bytes of a BLOCK record */
#define DR_CODEC_VERSION    1
#define DR_MAX_BLOCK_EVENTS 1000000u
#define DR_MAX_RAW	    (256u << 20) /* largest decoded block body we accept */
#define DR_MAX_ZLEN	    (256u << 20) /* largest compressed frame we accept */
#define DR_MAX_REC	    (1u << 20)	 /* largest skippable record we accept */

/* ---- little-endian and varint helpers ---------------------------------------------------- */

static inline void dr_le16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}
static inline void dr_le32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}
static inline void dr_le64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}
static inline uint16_t dr_rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] | (p[1] << 8));
}
static inline uint32_t dr_rd32(const uint8_t *p)
{
	return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) |
	       ((uint32_t)p[3] << 24);
}
static inline uint64_t dr_rd64(const uint8_t *p)
{
	return (uint64_t)dr_rd32(p) | ((uint64_t)dr_rd32(p + 4) << 32);
}

/* Growable byte buffer. On allocation failure ->err is set and later writes are dropped. */
struct dr_buf {
	uint8_t *p;
	size_t len, cap;
	int err;
};
int dr_buf_reserve(struct dr_buf *b, size_t extra);
static inline void dr_put(struct dr_buf *b, const void *src, size_t n)
{
	if (b->len + n > b->cap && dr_buf_reserve(b, n))
		return;
	if (n)
		memcpy(b->p + b->len, src, n);
	b->len += n;
}
static inline void dr_put8(struct dr_buf *b, uint8_t v)
{
	if (b->len + 1 > b->cap && dr_buf_reserve(b, 1))
		return;
	b->p[b->len++] = v;
}
static inline void dr_putv(struct dr_buf *b, uint64_t v)
{
	if (b->len + 10 > b->cap && dr_buf_reserve(b, 10))
		return;
	while (v >= 0x80) {
		b->p[b->len++] = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	b->p[b->len++] = (uint8_t)v;
}
static inline void dr_put32(struct dr_buf *b, uint32_t v)
{
	uint8_t t[4];
	dr_le32(t, v);
	dr_put(b, t, 4);
}
static inline void dr_put64(struct dr_buf *b, uint64_t v)
{
	uint8_t t[8];
	dr_le64(t, v);
	dr_put(b, t, 8);
}
void dr_buf_free(struct dr_buf *b);

/* Bounded reader: every read checks the remaining length; on overrun ->bad is set and reads
 * return zeros, so decoders check once at the end of a structure. */
struct dr_rd {
	const uint8_t *p, *end;
	bool bad;
};
static inline uint64_t dr_getv(struct dr_rd *r)
{
	uint64_t v = 0;
	for (int s = 0; s < 64; s += 7) {
		if (r->p >= r->end) {
			r->bad = true;
			return 0;
		}
		uint8_t c = *r->p++;
		v |= (uint64_t)(c & 0x7f) << s;
		if (!(c & 0x80))
			return v;
	}
	r->bad = true;
	return 0;
}
static inline uint8_t dr_get8(struct dr_rd *r)
{
	if (r->p >= r->end) {
		r->bad = true;
		return 0;
	}
	return *r->p++;
}
static inline const uint8_t *dr_getn(struct dr_rd *r, size_t n)
{
	if ((size_t)(r->end - r->p) < n) {
		r->bad = true;
		r->p = r->end;
		return NULL;
	}
	const uint8_t *q = r->p;
	r->p += n;
	return q;
}

/* A string of at most max - 1 bytes as a 16-bit length and its bytes (segment records,
 * custody records); dr_get_str marks r bad when it is cut or longer than out holds. */
void dr_put_str(struct dr_buf *b, const char *s, size_t max);
void dr_get_str(struct dr_rd *r, char *out, size_t max);
static inline uint32_t dr_get32(struct dr_rd *r)
{
	const uint8_t *q = dr_getn(r, 4);
	return q ? dr_rd32(q) : 0;
}
static inline uint64_t dr_get64(struct dr_rd *r)
{
	const uint8_t *q = dr_getn(r, 8);
	return q ? dr_rd64(q) : 0;
}

uint32_t dr_crc32c(uint32_t crc, const void *data, size_t len);

/* ---- block codec (codec.c) --------------------------------------------------------------- */

/* Summary of a block for the frame catalog. */
struct dr_summary {
	int64_t first_ts, last_ts;
	uint32_t events;
	uint32_t rcode_mask;
	uint8_t qr_mask, proto_mask;
	uint32_t netns_count;
	uint64_t *netns; /* malloc'd, sorted */
	uint32_t bloom_bits;
	uint8_t *bloom; /* malloc'd, bloom_bits/8 bytes, NULL when bloom_bits == 0 */
};
void dr_summary_free(struct dr_summary *s);

/* Encodes n events (sorted by ts, stable, by the caller or not: the codec sorts) into the
 * uncompressed block body. */
struct dr_enc;
int dr_enc_new(struct dr_enc **out);
void dr_enc_free(struct dr_enc *e);
int dr_enc_block(struct dr_enc *e, const struct dnsreel_event *ev, size_t n, struct dr_buf *out);
/* A writer gathers its block event by event instead: dr_enc_add() takes the next event (x
 * with its payload bytes at p, x->payload not read; pay is where the payload will be: an
 * offset from the base dr_enc_block_gathered() is given, or a pointer for base NULL) and keeps what
 * encoding needs of it while its bytes are in cache, so a block of ~20 MB is never read back
 * in passes of its own. An add that fails (no memory, DNSREEL_E_LIMIT) leaves the block as
 * it was. dr_enc_block_gathered() encodes what was gathered and keeps it (a flush that failed
 * encodes it again); dr_enc_clear() starts the next block; dr_enc_drop_last() takes back the
 * last add. */
int dr_enc_add(struct dr_enc *e, const struct dnsreel_event *x, const uint8_t *p, uintptr_t pay);
int dr_enc_block_gathered(struct dr_enc *e, const uint8_t *base, struct dr_buf *out);
void dr_enc_clear(struct dr_enc *e);
void dr_enc_drop_last(struct dr_enc *e);
size_t dr_enc_gathered(const struct dr_enc *e);
/* A UDP message's first question name as the encoder found it: where it ends (0 = none or not
 * found: then whoever needs it works it out) and dnsreel_hash_bytes(p + 12, end - 12, 2). */
struct dr_qname {
	uint32_t end;
	uint64_t hash;
};
/* The question of the event dr_enc_add() took last, for the summary. */
void dr_enc_last_qname(const struct dr_enc *e, struct dr_qname *q);
/* Sorts order[] (0..n-1 ascending: indexes into ts) by ts, ties by index, if that takes at
 * most budget moves; false (order[] permuted, not sorted) past it. For dr_enc_block and tests. */
bool dr_enc_sort_near(uint32_t *order, const int64_t *ts, size_t n, size_t budget);
/* Sets a ZSTD_CCtx for the level: the level with the match finder settings the codec's
 * streams compress best with. dr_enc_compress() calls it. */
void dr_enc_zstd_params(void *cctx, int level);
/* Compresses the body dr_enc_block() just produced into one zstd frame (a ZSTD_CCtx). */
int dr_enc_compress(struct dr_enc *e, void *cctx, int level, const struct dr_buf *raw,
		    struct dr_buf *z);
/* The same with the parameters the caller set on cctx (a new frame: after a reset). */
int dr_enc_compress_as_set(struct dr_enc *e, void *cctx, const struct dr_buf *raw,
			   struct dr_buf *z);

/* Decodes a block body into events whose payloads point into *arena (malloc'd). */
int dr_dec_block(const uint8_t *body, size_t len, uint32_t n, int64_t first_ts,
		 struct dnsreel_event **evs, uint8_t **arena);

/* Computes the catalog summary (masks, netns list, name bloom) of decoded events. */
int dr_summarize(const struct dnsreel_event *ev, size_t n, struct dr_summary *s);
/* The same summary gathered event by event as a writer appends (x with its payload at p;
 * base is what payload offsets of the frame are taken from, NULL for pointers; q, if not
 * NULL, its question as the encoder found it): reset, add each event, finish. An add that fails (no
 * memory) leaves the summary as it was. */
struct dr_sumacc;
int dr_sumacc_new(struct dr_sumacc **out);
void dr_sumacc_free(struct dr_sumacc *a);
void dr_sumacc_reset(struct dr_sumacc *a);
int dr_sumacc_add(struct dr_sumacc *a, const struct dnsreel_event *x, const uint8_t *p,
		  const uint8_t *base, const struct dr_qname *q);
int dr_sumacc_finish(struct dr_sumacc *a, struct dr_summary *out);
bool dr_bloom_has(const uint8_t *bloom, uint32_t bits, uint64_t h);

/* ---- records and segments (segment.c) ---------------------------------------------------- */

/* Appends one skippable record of type with body to out. */
void dr_rec_put(struct dr_buf *out, uint8_t type, const void *body, size_t len);
void dr_meta_ser(struct dr_buf *b, const struct dnsreel_meta *m, uint32_t segment);
void dr_netns_ser(struct dr_buf *b, const struct dnsreel_netns_ctx *ns);
void dr_proc_ser(struct dr_buf *b, const struct dnsreel_proc_ctx *p);
void dr_service_ser(struct dr_buf *b, const struct dnsreel_service_ctx *s);
void dr_counters_ser(struct dr_buf *b, const struct dnsreel_counter *c, size_t n);
int dr_meta_de(const uint8_t *p, size_t len, struct dnsreel_meta *m, uint32_t *segment);
int dr_netns_de(const uint8_t *p, size_t len, struct dnsreel_netns_ctx *ns);
int dr_proc_de(const uint8_t *p, size_t len, struct dnsreel_proc_ctx *pr);
int dr_service_de(const uint8_t *p, size_t len, struct dnsreel_service_ctx *s);

/* Block record body (the 48 bytes after the record header). */
struct dr_blockhdr {
	uint32_t events;
	uint8_t codec;
	int64_t first_ts, last_ts;
	uint32_t raw_len; /* decoded body bytes */
	uint32_t zlen;	  /* bytes of the zstd frame that follows */
	uint32_t zcrc;	  /* crc32c of those bytes */
	uint64_t reserved;
};
void dr_blockhdr_ser(uint8_t out[DR_BLOCK_HDR_BODY], const struct dr_blockhdr *h);
void dr_blockhdr_de(const uint8_t in[DR_BLOCK_HDR_BODY], struct dr_blockhdr *h);

/* Scanning a segment held in memory. Each item is a record or a block (header + data frame).
 * On damage the scanner stops: *err_off is the offset of the first byte not accepted. */
struct dr_item {
	uint8_t type;
	uint64_t off; /* offset of the record (block: of its header record) */
	uint32_t len; /* bytes (block: header record + zstd frame) */
	const uint8_t *body;
	uint32_t body_len;
	struct dr_blockhdr bh; /* for blocks */
	const uint8_t *z;      /* for blocks: the zstd frame */
};
struct dr_scan {
	const uint8_t *p;
	size_t len, off;
};
/* 1 = item, 0 = clean end, negative = damage at s->off (msg says what) */
int dr_scan_next(struct dr_scan *s, struct dr_item *it, const char **msg);

/* Decompresses and decodes a block item (checks crc and sizes). dctx may be NULL. */
int dr_block_decode(void *dctx, const struct dr_item *it, struct dnsreel_event **evs,
		    uint8_t **arena, const char **msg);

/* ---- catalog shared by reader, scanner and index ----------------------------------------- */

struct dr_frame {
	struct dnsreel_frame_info fi;
	uint64_t *netns_own;
	uint8_t *bloom_own;
};

struct dr_segment {
	uint32_t segment;
	uint64_t bytes;
	uint32_t frames;
	uint64_t events;
	int64_t first_ts, last_ts;
	/* scanning only: the segment ends in a partial item starting at torn_at (a crash while
	 * writing), with nothing intact after it */
	bool torn;
	uint64_t torn_at;
	/* writer only: custody hash of the bytes written so far and the link its CHAIN holds */
	uint8_t hash[DNSREEL_HASH_BYTES];
	uint8_t prev[DNSREEL_HASH_BYTES];
};

/* Everything an index holds, in memory: what scanning the segments produces and what the
 * reader loads from index.sqlite. */
struct dr_catalog {
	struct dnsreel_meta meta;
	bool have_meta;
	struct dr_frame *frames;
	size_t nframes, capframes;
	struct dr_segment *segs;
	size_t nsegs, capsegs;
	struct dnsreel_netns_ctx *netns;
	size_t nnetns, capnetns;
	struct dnsreel_proc_ctx *procs;
	size_t nprocs, capprocs;
	struct dnsreel_service_ctx *svcs;
	size_t nsvcs, capsvcs;
	struct dnsreel_counter *counters;
	size_t ncounters, capcounters;
	/* hash indexes for upserts (slot = element index + 1, 0 empty); capacity a power of 2 */
	uint32_t *hnetns, *hprocs, *hsvcs;
	size_t hcapnetns, hcapprocs, hcapsvcs;
	/* capture_info "damage": what verify --reindex found and left out ("" = none) */
	char damage[512];
	/* capture_info "frames" and "events" when present (-1 = absent): index loads only */
	int64_t info_frames, info_events;
	/* reindex: the manifest computed from the segments, written with the tables (or NULL) */
	const struct dnsreel_custody *custody;
};
void dr_catalog_free(struct dr_catalog *c);
int dr_catalog_add_frame(struct dr_catalog *c, const struct dnsreel_frame_info *fi);
int dr_catalog_upsert_netns(struct dr_catalog *c, const struct dnsreel_netns_ctx *ns);
int dr_catalog_upsert_proc(struct dr_catalog *c, const struct dnsreel_proc_ctx *p);
int dr_catalog_upsert_service(struct dr_catalog *c, const struct dnsreel_service_ctx *s);
int dr_catalog_set_counter(struct dr_catalog *c, const char *name, uint64_t v);
const struct dnsreel_netns_ctx *dr_catalog_find_netns(const struct dr_catalog *c, uint64_t netns);
const struct dnsreel_proc_ctx *dr_catalog_find_proc(const struct dr_catalog *c, uint32_t pid,
						    uint64_t start_ns);
struct dr_segment *dr_catalog_segment(struct dr_catalog *c, uint32_t seg);
void dr_catalog_sort_frames(struct dr_catalog *c);

/* Problems found while scanning: one line naming file and offset. */
typedef void (*dr_problem_fn)(void *ctx, const char *msg);

/* Scans every seg/NNNNNN.zst of dir into c (context upserts in segment order). Damage stops
 * the scan of that segment; each is reported through problem. decode_all: decompress every
 * block (catalog summaries need it). Returns problems found or a negative error. */
int dr_list_segments(const char *dir, uint32_t **out, size_t *n);
int dr_read_file(const char *path, uint8_t **out, size_t *len);
/* Opens path read-only without blocking (a FIFO or device never hangs a reader) and refuses
 * anything but a regular file: returns the fd, -errno, or DNSREEL_E_NOTREG. */
#define DNSREEL_E_NOTREG DNSREEL_E_NOTCAPTURE
int dr_open_regular(const char *path);
/* Feeds one segment's bytes (named name in messages) into the catalog. Returns problems found
 * (>= 0) or a negative error that stops everything (newer version, no memory). */
int dr_scan_segment_buf(const uint8_t *buf, size_t len, uint32_t segno, const char *name,
			struct dr_catalog *c, void *dctx, dr_problem_fn fn, void *pctx);
/* Reports every difference between two catalogs (index vs segments); returns the count. */
int dr_catalog_compare(const struct dr_catalog *idx, const struct dr_catalog *seg, dr_problem_fn fn,
		       void *pctx);
int dr_scan_capture(const char *dir, struct dr_catalog *c, dr_problem_fn problem, void *pctx);

/* ---- index (index.c) --------------------------------------------------------------------- */

struct sqlite3;
/* Creates the schema in a fresh database. */
int dr_index_create(struct sqlite3 *db);
/* Within a transaction the caller opened. */
int dr_index_put_meta(struct sqlite3 *db, const struct dnsreel_meta *m);
int dr_index_put_frame(struct sqlite3 *db, const struct dnsreel_frame_info *fi);
int dr_index_put_segment(struct sqlite3 *db, const struct dr_segment *s);
int dr_index_del_segment(struct sqlite3 *db, uint32_t seg);
int dr_index_put_netns(struct sqlite3 *db, const struct dnsreel_netns_ctx *ns);
int dr_index_put_proc(struct sqlite3 *db, const struct dnsreel_proc_ctx *p);
int dr_index_put_service(struct sqlite3 *db, const struct dnsreel_service_ctx *s);
int dr_index_put_counter(struct sqlite3 *db, const char *name, uint64_t v);
int dr_index_put_end(struct sqlite3 *db, const struct dr_catalog *c);
/* What dr_index_put_end derives from the frames table (first_ts and last_ts NULL without
 * frames), from the caller's own totals of every frame in the index. */
int dr_index_put_totals(struct sqlite3 *db, bool have_ts, int64_t first_ts, int64_t last_ts,
			uint64_t events, uint64_t frames);
/* Writes a whole catalog into a new index file at path (replaced atomically). */
int dr_index_write_file(const char *path, const struct dr_catalog *c);
/* Opens read-only, defensive, validates schema and version, loads everything. */
int dr_index_load(const char *path, struct dr_catalog *c, char *errbuf, size_t errlen);
int dr_index_open_ro(const char *path, struct sqlite3 **db, char *errbuf, size_t errlen);
/* The same without the capture schema check: any untrusted SQLite file (a merge manifest). */
int dr_sqlite_open_ro(const char *path, struct sqlite3 **db, char *errbuf, size_t errlen);
/* The same for a capture directory or pack (a packed index deserialized from its member). */
struct dr_src;
int dr_index_open_src(const struct dr_src *src, struct sqlite3 **db, char *errbuf, size_t errlen);
int dr_index_load_src(const struct dr_src *src, struct dr_catalog *c, char *errbuf, size_t errlen);
/* Loads frames with (segment, offset) greater than the given one (for refresh). */
int dr_index_load_frames_after(struct sqlite3 *db, struct dr_catalog *c, uint32_t seg, uint64_t off,
			       bool after);
int dr_index_load_context(struct sqlite3 *db, struct dr_catalog *c);

/* ---- merged captures (merged.c) ---------------------------------------------------------- */

/* dir has parts/ and no seg/: the layout of a merged capture. */
bool dr_is_merged_dir(const char *dir);
/* A part directory name a manifest may give: NNN-NODE.reel, no path separators. */
bool dr_part_name_ok(const char *s);
/* Clock offsets between parts from messages seen on two of them (merge_clock.c): calls fn with
 * one warning per pair whose traffic shows the clocks apart. Samples at most max_events per part
 * from wall time from_wall on. Returns 0, fn's nonzero return, or -ENOMEM. */
typedef int (*dr_clock_fn)(void *ctx, const char *msg);
int dr_merge_clock_check(const char *const *dirs, const char *const *nodes, size_t n,
			 int64_t from_wall, size_t max_events, dr_clock_fn fn, void *ctx);
/* dnsreel_capture_verify() of a merged capture: its manifest against its parts, then each part. */
int dr_verify_merged(const char *dir, const struct dnsreel_verify_opts *opts);
/* ---- where a capture's files are (src.c, pack.c) ----------------------------------------- */

/* A member of a pack: its name, where its bytes start in the pack file, its size as the
 * header says, and how many of those bytes the file holds (less when the pack was cut). */
struct dr_member {
	char *name;
	uint64_t off, size, avail;
};
struct dr_src {
	char *path;
	bool pack; /* path is a ustar pack, not a directory */
	int fd;	   /* the pack, open while the src lives */
	struct dr_member *m;
	size_t n;
	char cut[512]; /* a cut pack: what was lost ("" = whole) */
};
/* Opens a capture directory or pack file (members indexed, nothing read beyond headers). */
int dr_src_open(struct dr_src **out, const char *path, char *errbuf, size_t errlen);
void dr_src_close(struct dr_src *s);
const struct dr_member *dr_src_member(const struct dr_src *s, const char *name);
/* Segment numbers present, sorted (seg/NNNNNN.zst files or members). */
int dr_src_segments(const struct dr_src *s, uint32_t **out, size_t *n);
bool dr_segment_name(const char *name, uint32_t *seg);
/* A file of the capture as a byte range: pread at base + offset, size bytes present. */
struct dr_file {
	int fd;
	uint64_t base, size;
};
/* -ENOENT when the capture has no such file. f->fd owned by the caller: dr_file_close(). */
int dr_src_file(const struct dr_src *s, const char *name, struct dr_file *f);
void dr_file_close(struct dr_file *f);
/* DNSREEL_E_TRUNCATED past the range's end. */
int dr_file_pread(const struct dr_file *f, void *buf, size_t n, uint64_t off);
int dr_file_read_all(const struct dr_file *f, uint8_t **out, size_t *len);
/* Indexes the members of the pack s->path (pack.c). */
int dr_pack_index(struct dr_src *s, char *errbuf, size_t errlen);
/* Lists the members of the open pack s->fd of fsize bytes (fuzzed directly). */
int dr_pack_scan(struct dr_src *s, uint64_t fsize, char *errbuf, size_t errlen);

/* ---- custody (custody.c) ----------------------------------------------------------------- */

void dr_chain_ser(struct dr_buf *b, uint32_t segment, const uint8_t prev[DNSREEL_HASH_BYTES],
		  const char *user, const char *host);
void dr_input_ser(struct dr_buf *b, const struct dnsreel_custody_input *in);
/* The link before segment 1: BLAKE2b-256 of "dnsreel-chain 1\n" and the capture id. */
void dr_chain_link0(const char *capture_id, uint8_t out[DNSREEL_HASH_BYTES]);
/* link = BLAKE2b-256(link || segment hash) */
void dr_chain_next(uint8_t link[DNSREEL_HASH_BYTES], const uint8_t seghash[DNSREEL_HASH_BYTES]);
void dr_hex(const uint8_t *p, size_t n, char *out);
/* Builds the canonical manifest text and root of a capture from what the writer knows (the
 * same text dnsreel_custody_compute() derives from the files). */
int dr_custody_build(struct dnsreel_custody *c);
/* The manifest lines and chain of a capture's first segments, rendered once: a writer's closed
 * segments never change, and its every flush writes the manifest again. */
struct dr_mpart {
	struct dr_buf lines;
	uint8_t base[DNSREEL_HASH_BYTES]; /* the link before the first segment (chain_base) */
	uint8_t link[DNSREEL_HASH_BYTES]; /* the link after the last */
	uint32_t first;			  /* segment number of the first */
	size_t n;			  /* segments rendered */
};
/* Appends the segment after the last one rendered. On failure p is empty again. */
int dr_mpart_add(struct dr_mpart *p, const char *capture_id,
		 const struct dnsreel_custody_segment *s);
void dr_mpart_reset(struct dr_mpart *p);
void dr_mpart_free(struct dr_mpart *p);
/* dr_custody_build() of the segments in before (if any) followed by c->segments: the same
 * text as with all of them in c->segments. */
int dr_custody_build_after(struct dnsreel_custody *c, const struct dr_mpart *before);
/* Replaces the manifest in an index (within the caller's transaction); last_only: the
 * manifest rows and inputs are those the index holds but for the last segment's row. */
int dr_custody_put_index(struct sqlite3 *db, const struct dnsreel_custody *c, bool last_only);
/* Reports every way the segments on disk differ from their chain and from the index's
 * manifest (missing, reordered, altered, truncated, appended, index edited). Returns the
 * count. */
int dr_custody_verify(const char *capture, const struct dnsreel_custody *c, dr_problem_fn fn,
		      void *pctx);

/* Formats an IP address (4 or 16 bytes) as text. */
void dr_addr_str(uint8_t ip_version, const uint8_t *addr, char *buf, size_t len);

int dr_errf(char *buf, size_t len, int err, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

#endif
