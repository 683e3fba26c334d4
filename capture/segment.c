/* Segment files: records in zstd skippable frames, blocks (header record + zstd data frame),
 * scanning untrusted bytes, and the in-memory catalog that scanning and the index share.
 */
#include <dirent.h>
#include <stdarg.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zstd.h>

#include "capture_int.h"

/* ---- records ----------------------------------------------------------------------------- */

void dr_rec_put(struct dr_buf *out, uint8_t type, const void *body, size_t len)
{
	uint8_t h[DR_REC_HDR];
	dr_le32(h, DR_SKIP_MAGIC);
	dr_le32(h + 4, (uint32_t)(8 + len));
	h[8] = type;
	h[9] = 1; /* record layout version */
	h[10] = 0;
	h[11] = 0;
	uint32_t crc = dr_crc32c(0, h + 8, 4);
	crc = dr_crc32c(crc, body, len);
	dr_le32(h + 12, crc);
	dr_put(out, h, sizeof(h));
	dr_put(out, body, len);
}

void dr_put_str(struct dr_buf *b, const char *s, size_t max)
{
	size_t l = strnlen(s, max - 1);
	uint8_t t[2];
	dr_le16(t, (uint16_t)l);
	dr_put(b, t, 2);
	dr_put(b, s, l);
}

void dr_get_str(struct dr_rd *r, char *out, size_t max)
{
	const uint8_t *t = dr_getn(r, 2);
	size_t l = t ? dr_rd16(t) : 0;
	const uint8_t *s = dr_getn(r, l);
	if (!s || l >= max) {
		r->bad = true;
		out[0] = 0;
		return;
	}
	memcpy(out, s, l);
	out[l] = 0;
	/* an embedded NUL would make index and scan disagree; cut there */
}

static void put16b(struct dr_buf *b, uint16_t v)
{
	uint8_t t[2];
	dr_le16(t, v);
	dr_put(b, t, 2);
}

void dr_meta_ser(struct dr_buf *b, const struct dnsreel_meta *m, uint32_t segment)
{
	dr_put32(b, m->format_major);
	dr_put32(b, m->format_minor);
	dr_put32(b, segment);
	dr_put64(b, (uint64_t)m->boot_to_wall_ns);
	dr_put64(b, (uint64_t)m->start_wall_ns);
	dr_put32(b, m->snaplen);
	dr_put_str(b, m->capture_id, sizeof(m->capture_id));
	dr_put_str(b, m->node, sizeof(m->node));
	dr_put_str(b, m->kernel, sizeof(m->kernel));
	dr_put_str(b, m->recorder, sizeof(m->recorder));
}

int dr_meta_de(const uint8_t *p, size_t len, struct dnsreel_meta *m, uint32_t *segment)
{
	struct dr_rd r = {p, p + len, false};
	memset(m, 0, sizeof(*m));
	m->format_major = dr_get32(&r);
	m->format_minor = dr_get32(&r);
	if (r.bad)
		return DNSREEL_E_CORRUPT;
	/* the version comes first so any later layout can still be refused clearly */
	if (m->format_major > DNSREEL_FORMAT_MAJOR)
		return DNSREEL_E_VERSION;
	*segment = dr_get32(&r);
	m->boot_to_wall_ns = (int64_t)dr_get64(&r);
	m->start_wall_ns = (int64_t)dr_get64(&r);
	m->snaplen = dr_get32(&r);
	dr_get_str(&r, m->capture_id, sizeof(m->capture_id));
	dr_get_str(&r, m->node, sizeof(m->node));
	dr_get_str(&r, m->kernel, sizeof(m->kernel));
	dr_get_str(&r, m->recorder, sizeof(m->recorder));
	return r.bad ? DNSREEL_E_CORRUPT : 0;
}

void dr_netns_ser(struct dr_buf *b, const struct dnsreel_netns_ctx *ns)
{
	dr_put64(b, ns->netns);
	dr_put32(b, ns->flags);
	dr_put64(b, (uint64_t)ns->first_seen_ns);
	dr_put_str(b, ns->name, sizeof(ns->name));
	dr_put_str(b, ns->k8s_namespace, sizeof(ns->k8s_namespace));
	dr_put_str(b, ns->k8s_podname, sizeof(ns->k8s_podname));
	dr_put_str(b, ns->k8s_pod_uid, sizeof(ns->k8s_pod_uid));
	dr_put_str(b, ns->k8s_containername, sizeof(ns->k8s_containername));
	dr_put_str(b, ns->runtime_containername, sizeof(ns->runtime_containername));
	dr_put_str(b, ns->runtime_containerid, sizeof(ns->runtime_containerid));
	dr_put_str(b, ns->ips, sizeof(ns->ips));
}

int dr_netns_de(const uint8_t *p, size_t len, struct dnsreel_netns_ctx *ns)
{
	struct dr_rd r = {p, p + len, false};
	memset(ns, 0, sizeof(*ns));
	ns->netns = dr_get64(&r);
	ns->flags = dr_get32(&r);
	ns->first_seen_ns = (int64_t)dr_get64(&r);
	dr_get_str(&r, ns->name, sizeof(ns->name));
	dr_get_str(&r, ns->k8s_namespace, sizeof(ns->k8s_namespace));
	dr_get_str(&r, ns->k8s_podname, sizeof(ns->k8s_podname));
	dr_get_str(&r, ns->k8s_pod_uid, sizeof(ns->k8s_pod_uid));
	dr_get_str(&r, ns->k8s_containername, sizeof(ns->k8s_containername));
	dr_get_str(&r, ns->runtime_containername, sizeof(ns->runtime_containername));
	dr_get_str(&r, ns->runtime_containerid, sizeof(ns->runtime_containerid));
	dr_get_str(&r, ns->ips, sizeof(ns->ips));
	return r.bad ? DNSREEL_E_CORRUPT : 0;
}

void dr_proc_ser(struct dr_buf *b, const struct dnsreel_proc_ctx *p)
{
	dr_put32(b, p->pid);
	dr_put32(b, p->ppid);
	dr_put64(b, p->start_ns);
	dr_put64(b, p->netns);
	dr_put64(b, p->cgroup_id);
	dr_put32(b, p->uid);
	dr_put32(b, p->gid);
	dr_put_str(b, p->comm, sizeof(p->comm));
	dr_put_str(b, p->cmdline, sizeof(p->cmdline));
	dr_put_str(b, p->cgroup, sizeof(p->cgroup));
	dr_put_str(b, p->k8s_pod_uid, sizeof(p->k8s_pod_uid));
	dr_put_str(b, p->runtime_containerid, sizeof(p->runtime_containerid));
}

int dr_proc_de(const uint8_t *q, size_t len, struct dnsreel_proc_ctx *p)
{
	struct dr_rd r = {q, q + len, false};
	memset(p, 0, sizeof(*p));
	p->pid = dr_get32(&r);
	p->ppid = dr_get32(&r);
	p->start_ns = dr_get64(&r);
	p->netns = dr_get64(&r);
	p->cgroup_id = dr_get64(&r);
	p->uid = dr_get32(&r);
	p->gid = dr_get32(&r);
	dr_get_str(&r, p->comm, sizeof(p->comm));
	dr_get_str(&r, p->cmdline, sizeof(p->cmdline));
	dr_get_str(&r, p->cgroup, sizeof(p->cgroup));
	dr_get_str(&r, p->k8s_pod_uid, sizeof(p->k8s_pod_uid));
	dr_get_str(&r, p->runtime_containerid, sizeof(p->runtime_containerid));
	return r.bad ? DNSREEL_E_CORRUPT : 0;
}

void dr_service_ser(struct dr_buf *b, const struct dnsreel_service_ctx *s)
{
	dr_put8(b, s->ip_version);
	dr_put8(b, s->proto);
	put16b(b, s->port);
	dr_put(b, s->addr, 16);
	dr_put_str(b, s->k8s_namespace, sizeof(s->k8s_namespace));
	dr_put_str(b, s->name, sizeof(s->name));
}

int dr_service_de(const uint8_t *p, size_t len, struct dnsreel_service_ctx *s)
{
	struct dr_rd r = {p, p + len, false};
	memset(s, 0, sizeof(*s));
	s->ip_version = dr_get8(&r);
	s->proto = dr_get8(&r);
	const uint8_t *t = dr_getn(&r, 2);
	s->port = t ? dr_rd16(t) : 0;
	const uint8_t *a = dr_getn(&r, 16);
	if (a)
		memcpy(s->addr, a, 16);
	dr_get_str(&r, s->k8s_namespace, sizeof(s->k8s_namespace));
	dr_get_str(&r, s->name, sizeof(s->name));
	return r.bad ? DNSREEL_E_CORRUPT : 0;
}

void dr_counters_ser(struct dr_buf *b, const struct dnsreel_counter *c, size_t n)
{
	dr_put32(b, (uint32_t)n);
	for (size_t i = 0; i < n; i++) {
		dr_put_str(b, c[i].name, sizeof(c[i].name));
		dr_put64(b, c[i].value);
	}
}

static int counters_de(const uint8_t *p, size_t len, struct dr_catalog *c)
{
	struct dr_rd r = {p, p + len, false};
	uint32_t n = dr_get32(&r);
	for (uint32_t i = 0; i < n && !r.bad; i++) {
		char name[DNSREEL_SHORT_LEN];
		dr_get_str(&r, name, sizeof(name));
		uint64_t v = dr_get64(&r);
		if (r.bad)
			break;
		int err = dr_catalog_set_counter(c, name, v);
		if (err)
			return err;
	}
	return r.bad ? DNSREEL_E_CORRUPT : 0;
}

void dr_blockhdr_ser(uint8_t out[DR_BLOCK_HDR_BODY], const struct dr_blockhdr *h)
{
	memset(out, 0, DR_BLOCK_HDR_BODY);
	dr_le32(out, h->events);
	out[4] = h->codec;
	dr_le64(out + 8, (uint64_t)h->first_ts);
	dr_le64(out + 16, (uint64_t)h->last_ts);
	dr_le32(out + 24, h->raw_len);
	dr_le32(out + 28, h->zlen);
	dr_le32(out + 32, h->zcrc);
	dr_le64(out + 40, h->reserved);
}

void dr_blockhdr_de(const uint8_t in[DR_BLOCK_HDR_BODY], struct dr_blockhdr *h)
{
	h->events = dr_rd32(in);
	h->codec = in[4];
	h->first_ts = (int64_t)dr_rd64(in + 8);
	h->last_ts = (int64_t)dr_rd64(in + 16);
	h->raw_len = dr_rd32(in + 24);
	h->zlen = dr_rd32(in + 28);
	h->zcrc = dr_rd32(in + 32);
	h->reserved = dr_rd64(in + 40);
}

/* ---- scanning ---------------------------------------------------------------------------- */

int dr_scan_next(struct dr_scan *s, struct dr_item *it, const char **msg)
{
	memset(it, 0, sizeof(*it));
	size_t left = s->len - s->off;
	const uint8_t *p = s->p + s->off;
	if (left == 0)
		return 0;
	if (left < 8) {
		*msg = "truncated frame header";
		return DNSREEL_E_TRUNCATED;
	}
	uint32_t magic = dr_rd32(p);
	if (magic == DR_ZSTD_MAGIC) {
		*msg = "zstd data frame without a block header";
		return DNSREEL_E_CORRUPT;
	}
	if ((magic & 0xFFFFFFF0u) != 0x184D2A50u) {
		*msg = "bad magic (not a zstd skippable frame)";
		return DNSREEL_E_CORRUPT;
	}
	uint32_t size = dr_rd32(p + 4);
	if (size > left - 8) {
		*msg = "record extends past end of file (truncated)";
		return DNSREEL_E_TRUNCATED;
	}
	it->off = s->off;
	if (magic != DR_SKIP_MAGIC) {
		/* someone else's skippable frame: step over it */
		it->type = 0;
		it->len = 8 + size;
		s->off += 8 + (size_t)size;
		return 1;
	}
	if (size < 8 || size > DR_MAX_REC) {
		*msg = "record size out of range";
		return DNSREEL_E_CORRUPT;
	}
	uint32_t crc = dr_crc32c(0, p + 8, 4);
	crc = dr_crc32c(crc, p + DR_REC_HDR, size - 8);
	if (crc != dr_rd32(p + 12)) {
		*msg = "record checksum mismatch";
		return DNSREEL_E_CORRUPT;
	}
	it->type = p[8];
	it->body = p + DR_REC_HDR;
	it->body_len = size - 8;
	it->len = 8 + size;
	if (it->type == DR_REC_BLOCK) {
		if (it->body_len < DR_BLOCK_HDR_BODY) {
			*msg = "block header too short";
			return DNSREEL_E_CORRUPT;
		}
		dr_blockhdr_de(it->body, &it->bh);
		size_t zoff = 8 + (size_t)size;
		if (it->bh.zlen < 4 || it->bh.zlen > DR_MAX_ZLEN || it->bh.raw_len > DR_MAX_RAW ||
		    it->bh.events == 0 || it->bh.events > DR_MAX_BLOCK_EVENTS ||
		    it->bh.first_ts > it->bh.last_ts) {
			*msg = "block header fields out of range";
			return DNSREEL_E_CORRUPT;
		}
		if (it->bh.zlen > left - zoff) {
			*msg = "block data extends past end of file (truncated)";
			return DNSREEL_E_TRUNCATED;
		}
		it->z = p + zoff;
		if (dr_rd32(it->z) != DR_ZSTD_MAGIC) {
			*msg = "block data is not a zstd frame";
			return DNSREEL_E_CORRUPT;
		}
		if (dr_crc32c(0, it->z, it->bh.zlen) != it->bh.zcrc) {
			*msg = "block checksum mismatch";
			return DNSREEL_E_CORRUPT;
		}
		it->len = (uint32_t)(zoff + it->bh.zlen);
	}
	s->off += it->len;
	return 1;
}

int dr_block_decode(void *dctx, const struct dr_item *it, struct dnsreel_event **evs,
		    uint8_t **arena, const char **msg)
{
	*evs = NULL;
	*arena = NULL;
	if (it->bh.codec != DR_CODEC_VERSION) {
		*msg = "unknown block codec version";
		return DNSREEL_E_VERSION;
	}
	unsigned long long cs = ZSTD_getFrameContentSize(it->z, it->bh.zlen);
	if (cs != it->bh.raw_len) {
		*msg = "zstd frame content size disagrees with block header";
		return DNSREEL_E_CORRUPT;
	}
	if (ZSTD_findFrameCompressedSize(it->z, it->bh.zlen) != it->bh.zlen) {
		*msg = "zstd frame length disagrees with block header";
		return DNSREEL_E_CORRUPT;
	}
	uint8_t *raw = malloc(it->bh.raw_len ? it->bh.raw_len : 1);
	if (!raw)
		return -ENOMEM;
	ZSTD_DCtx *own = NULL;
	if (!dctx)
		dctx = own = ZSTD_createDCtx();
	if (!dctx) {
		free(raw);
		return -ENOMEM;
	}
	size_t r = ZSTD_decompressDCtx(dctx, raw, it->bh.raw_len, it->z, it->bh.zlen);
	ZSTD_freeDCtx(own);
	if (ZSTD_isError(r) || r != it->bh.raw_len) {
		free(raw);
		*msg = "zstd decompression failed";
		return DNSREEL_E_ZSTD;
	}
	int err = dr_dec_block(raw, r, it->bh.events, it->bh.first_ts, evs, arena);
	free(raw);
	if (err) {
		*msg = "block body does not decode";
		return err;
	}
	struct dnsreel_event *ev = *evs;
	int64_t last = ev[it->bh.events - 1].ts_ns;
	if (ev[0].ts_ns != it->bh.first_ts || last != it->bh.last_ts) {
		free(*evs);
		free(*arena);
		*evs = NULL;
		*arena = NULL;
		*msg = "block time range disagrees with its events";
		return DNSREEL_E_CORRUPT;
	}
	return 0;
}

/* ---- catalog ----------------------------------------------------------------------------- */

static int grow(void **p, size_t *cap, size_t n, size_t elem)
{
	if (n < *cap)
		return 0;
	size_t nc = *cap ? *cap * 2 : 16;
	void *np = realloc(*p, nc * elem);
	if (!np)
		return -ENOMEM;
	*p = np;
	*cap = nc;
	return 0;
}

void dr_catalog_free(struct dr_catalog *c)
{
	for (size_t i = 0; i < c->nframes; i++) {
		free(c->frames[i].netns_own);
		free(c->frames[i].bloom_own);
	}
	free(c->frames);
	free(c->segs);
	free(c->netns);
	free(c->procs);
	free(c->svcs);
	free(c->counters);
	free(c->hnetns);
	free(c->hprocs);
	free(c->hsvcs);
	memset(c, 0, sizeof(*c));
}

int dr_catalog_add_frame(struct dr_catalog *c, const struct dnsreel_frame_info *fi)
{
	if (grow((void **)&c->frames, &c->capframes, c->nframes, sizeof(*c->frames)))
		return -ENOMEM;
	struct dr_frame *f = &c->frames[c->nframes];
	memset(f, 0, sizeof(*f));
	f->fi = *fi;
	if (fi->netns_count) {
		f->netns_own = malloc(fi->netns_count * sizeof(uint64_t));
		if (!f->netns_own)
			return -ENOMEM;
		memcpy(f->netns_own, fi->netns, fi->netns_count * sizeof(uint64_t));
	}
	if (fi->name_bloom_bits) {
		f->bloom_own = malloc(fi->name_bloom_bits / 8);
		if (!f->bloom_own) {
			free(f->netns_own);
			return -ENOMEM;
		}
		memcpy(f->bloom_own, fi->name_bloom, fi->name_bloom_bits / 8);
	}
	f->fi.netns = f->netns_own;
	f->fi.name_bloom = f->bloom_own;
	c->nframes++;
	return 0;
}

/* Upserts keep every segment's repeated context cheap: a hash index per table. */
typedef uint64_t (*key_hash_fn)(const void *e);
typedef bool (*key_eq_fn)(const void *a, const void *b);

static int upsert(void **arr, size_t *n, size_t *cap, size_t elem, uint32_t **tab, size_t *tcap,
		  const void *item, key_hash_fn hf, key_eq_fn eq)
{
	if (*tcap < 2 * (*n + 1)) {
		size_t nc = 64;
		while (nc < 4 * (*n + 1))
			nc *= 2;
		uint32_t *nt = calloc(nc, sizeof(uint32_t));
		if (!nt)
			return -ENOMEM;
		for (size_t i = 0; i < *n; i++) {
			size_t h = (size_t)hf((const uint8_t *)*arr + i * elem);
			while (nt[h & (nc - 1)])
				h++;
			nt[h & (nc - 1)] = (uint32_t)i + 1;
		}
		free(*tab);
		*tab = nt;
		*tcap = nc;
	}
	size_t h = (size_t)hf(item);
	for (;;) {
		uint32_t v = (*tab)[h & (*tcap - 1)];
		if (!v)
			break;
		void *e = (uint8_t *)*arr + (size_t)(v - 1) * elem;
		if (eq(e, item)) {
			memcpy(e, item, elem);
			return 0;
		}
		h++;
	}
	if (*n >= UINT32_MAX - 1 || grow(arr, cap, *n, elem))
		return -ENOMEM;
	memcpy((uint8_t *)*arr + *n * elem, item, elem);
	(*tab)[h & (*tcap - 1)] = (uint32_t)(*n + 1);
	(*n)++;
	return 0;
}

static uint64_t netns_hash(const void *e)
{
	return dnsreel_mix64(((const struct dnsreel_netns_ctx *)e)->netns + 1);
}

static bool netns_eq(const void *a, const void *b)
{
	return ((const struct dnsreel_netns_ctx *)a)->netns ==
	       ((const struct dnsreel_netns_ctx *)b)->netns;
}

static uint64_t proc_hash(const void *e)
{
	const struct dnsreel_proc_ctx *p = e;
	return dnsreel_mix64(p->pid * 0x9e3779b97f4a7c15ull ^ p->start_ns);
}

static bool proc_eq(const void *a, const void *b)
{
	const struct dnsreel_proc_ctx *x = a, *y = b;
	return x->pid == y->pid && x->start_ns == y->start_ns;
}

static uint64_t svc_hash(const void *e)
{
	const struct dnsreel_service_ctx *s = e;
	uint64_t h = (uint64_t)s->ip_version << 40 | (uint64_t)s->proto << 32 | s->port;
	for (int i = 0; i < 16; i++)
		h = (h ^ s->addr[i]) * 0x100000001b3ull;
	return dnsreel_mix64(h);
}

static bool svc_eq(const void *a, const void *b)
{
	const struct dnsreel_service_ctx *x = a, *y = b;
	return x->ip_version == y->ip_version && x->proto == y->proto && x->port == y->port &&
	       memcmp(x->addr, y->addr, 16) == 0;
}

static const void *find(const void *arr, size_t elem, const uint32_t *tab, size_t tcap,
			const void *item, key_hash_fn hf, key_eq_fn eq)
{
	if (!tcap)
		return NULL;
	size_t h = (size_t)hf(item);
	for (;;) {
		uint32_t v = tab[h & (tcap - 1)];
		if (!v)
			return NULL;
		const void *e = (const uint8_t *)arr + (size_t)(v - 1) * elem;
		if (eq(e, item))
			return e;
		h++;
	}
}

const struct dnsreel_netns_ctx *dr_catalog_find_netns(const struct dr_catalog *c, uint64_t netns)
{
	struct dnsreel_netns_ctx k;
	k.netns = netns;
	return find(c->netns, sizeof(k), c->hnetns, c->hcapnetns, &k, netns_hash, netns_eq);
}

const struct dnsreel_proc_ctx *dr_catalog_find_proc(const struct dr_catalog *c, uint32_t pid,
						    uint64_t start_ns)
{
	struct dnsreel_proc_ctx k;
	k.pid = pid;
	k.start_ns = start_ns;
	return find(c->procs, sizeof(k), c->hprocs, c->hcapprocs, &k, proc_hash, proc_eq);
}

int dr_catalog_upsert_netns(struct dr_catalog *c, const struct dnsreel_netns_ctx *ns)
{
	return upsert((void **)&c->netns, &c->nnetns, &c->capnetns, sizeof(*ns), &c->hnetns,
		      &c->hcapnetns, ns, netns_hash, netns_eq);
}

int dr_catalog_upsert_proc(struct dr_catalog *c, const struct dnsreel_proc_ctx *p)
{
	return upsert((void **)&c->procs, &c->nprocs, &c->capprocs, sizeof(*p), &c->hprocs,
		      &c->hcapprocs, p, proc_hash, proc_eq);
}

int dr_catalog_upsert_service(struct dr_catalog *c, const struct dnsreel_service_ctx *s)
{
	return upsert((void **)&c->svcs, &c->nsvcs, &c->capsvcs, sizeof(*s), &c->hsvcs,
		      &c->hcapsvcs, s, svc_hash, svc_eq);
}

int dr_catalog_set_counter(struct dr_catalog *c, const char *name, uint64_t v)
{
	for (size_t i = 0; i < c->ncounters; i++)
		if (strcmp(c->counters[i].name, name) == 0) {
			c->counters[i].value = v;
			return 0;
		}
	if (grow((void **)&c->counters, &c->capcounters, c->ncounters, sizeof(*c->counters)))
		return -ENOMEM;
	struct dnsreel_counter *k = &c->counters[c->ncounters++];
	memset(k, 0, sizeof(*k));
	snprintf(k->name, sizeof(k->name), "%s", name);
	k->value = v;
	return 0;
}

struct dr_segment *dr_catalog_segment(struct dr_catalog *c, uint32_t seg)
{
	for (size_t i = c->nsegs; i-- > 0;)
		if (c->segs[i].segment == seg)
			return &c->segs[i];
	if (grow((void **)&c->segs, &c->capsegs, c->nsegs, sizeof(*c->segs)))
		return NULL;
	struct dr_segment *s = &c->segs[c->nsegs++];
	memset(s, 0, sizeof(*s));
	s->segment = seg;
	return s;
}

static int cmp_frame(const void *a, const void *b)
{
	const struct dnsreel_frame_info *x = &((const struct dr_frame *)a)->fi;
	const struct dnsreel_frame_info *y = &((const struct dr_frame *)b)->fi;
	if (x->first_ts != y->first_ts)
		return x->first_ts < y->first_ts ? -1 : 1;
	if (x->segment != y->segment)
		return x->segment < y->segment ? -1 : 1;
	return x->offset < y->offset ? -1 : (x->offset > y->offset);
}

void dr_catalog_sort_frames(struct dr_catalog *c)
{
	if (c->nframes > 1)
		qsort(c->frames, c->nframes, sizeof(*c->frames), cmp_frame);
}

/* ---- scanning a whole capture ------------------------------------------------------------ */

static void problem(dr_problem_fn fn, void *ctx, int *count, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void problem(dr_problem_fn fn, void *ctx, int *count, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	(*count)++;
	if (fn)
		fn(ctx, msg);
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return x < y ? -1 : (x > y);
}

/* Segment numbers present in DIR/seg, sorted. */
int dr_list_segments(const char *dir, uint32_t **out, size_t *n)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/seg", dir);
	*out = NULL;
	*n = 0;
	DIR *d = opendir(path);
	if (!d)
		return -errno;
	size_t cap = 0;
	struct dirent *de;
	while ((de = readdir(d))) {
		const char *s = de->d_name;
		size_t l = strlen(s);
		if (l < 10 || strcmp(s + l - 4, ".zst") != 0)
			continue;
		bool digits = true;
		for (size_t i = 0; i < l - 4; i++)
			if (s[i] < '0' || s[i] > '9')
				digits = false;
		if (!digits || l - 4 > 9)
			continue;
		if (grow((void **)out, &cap, *n, sizeof(uint32_t))) {
			closedir(d);
			return -ENOMEM;
		}
		(*out)[(*n)++] = (uint32_t)strtoul(s, NULL, 10);
	}
	closedir(d);
	if (*n)
		qsort(*out, *n, sizeof(uint32_t), cmp_u32);
	return 0;
}

int dr_open_regular(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (fd < 0)
		return -errno;
	struct stat st;
	if (fstat(fd, &st) != 0) {
		int e = -errno;
		close(fd);
		return e;
	}
	if (!S_ISREG(st.st_mode)) {
		close(fd);
		return DNSREEL_E_NOTREG;
	}
	return fd;
}

int dr_read_file(const char *path, uint8_t **out, size_t *len)
{
	*out = NULL;
	*len = 0;
	int fd = dr_open_regular(path);
	if (fd < 0)
		return fd;
	struct stat st;
	if (fstat(fd, &st) != 0) {
		int e = -errno;
		close(fd);
		return e;
	}
	size_t cap = (size_t)st.st_size;
	uint8_t *b = malloc(cap ? cap : 1);
	if (!b) {
		close(fd);
		return -ENOMEM;
	}
	size_t got = 0;
	while (got < cap) {
		ssize_t r = read(fd, b + got, cap - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			int e = -errno;
			free(b);
			close(fd);
			return e;
		}
		if (r == 0)
			break;
		got += (size_t)r;
	}
	close(fd);
	*out = b;
	*len = got;
	return 0;
}

/* What scanning one segment carries from item to item. */
struct segscan {
	uint32_t segno;
	const char *name;
	struct dr_catalog *c;
	void *dctx;
	dr_problem_fn fn;
	void *pctx;
	struct dr_segment *sg;
	bool meta;
	int problems;
};

/* Adds one intact item to the catalog. Returns 0, or a negative error that stops everything
 * (newer version, no memory). */
static int scan_item(struct segscan *ss, const struct dr_item *it)
{
	struct dr_catalog *c = ss->c;
	const char *name = ss->name;
	const char *msg = NULL;
	if (it->type == 0) {
		problem(ss->fn, ss->pctx, &ss->problems,
			"%s: offset %llu: foreign zstd skippable frame of %u bytes (skipped)", name,
			(unsigned long long)it->off, it->len);
		return 0;
	}
	int err = 0;
	switch (it->type) {
	case DR_REC_META: {
		struct dnsreel_meta m;
		uint32_t sn = 0;
		err = dr_meta_de(it->body, it->body_len, &m, &sn);
		if (err == DNSREEL_E_VERSION) {
			problem(ss->fn, ss->pctx, &ss->problems,
				"%s: offset %llu: written by format version %u.%u; this "
				"dnsreel (%s) reads format %d.x and older: upgrade dnsreel",
				name, (unsigned long long)it->off, m.format_major, m.format_minor,
				DNSREEL_VERSION, DNSREEL_FORMAT_MAJOR);
			return err;
		}
		if (!err && sn != ss->segno)
			problem(ss->fn, ss->pctx, &ss->problems,
				"%s: offset %llu: segment header names segment %u", name,
				(unsigned long long)it->off, sn);
		if (!err) {
			c->meta = m;
			c->have_meta = true;
			ss->meta = true;
		}
		break;
	}
	case DR_REC_NETNS: {
		struct dnsreel_netns_ctx ns;
		err = dr_netns_de(it->body, it->body_len, &ns);
		if (!err)
			err = dr_catalog_upsert_netns(c, &ns);
		break;
	}
	case DR_REC_PROC: {
		struct dnsreel_proc_ctx p;
		err = dr_proc_de(it->body, it->body_len, &p);
		if (!err)
			err = dr_catalog_upsert_proc(c, &p);
		break;
	}
	case DR_REC_SERVICE: {
		struct dnsreel_service_ctx sv;
		err = dr_service_de(it->body, it->body_len, &sv);
		if (!err)
			err = dr_catalog_upsert_service(c, &sv);
		break;
	}
	case DR_REC_COUNTERS:
		err = counters_de(it->body, it->body_len, c);
		break;
	case DR_REC_BLOCK: {
		struct dnsreel_event *ev;
		uint8_t *arena;
		if (!ss->meta && !c->have_meta) {
			/* the clock offset and version come from META: without one the block's
			 * wall times are unknown */
			problem(ss->fn, ss->pctx, &ss->problems,
				"%s: offset %llu: block before any segment header (META)", name,
				(unsigned long long)it->off);
			ss->meta = true;
		}
		err = dr_block_decode(ss->dctx, it, &ev, &arena, &msg);
		if (err == -ENOMEM)
			return err;
		if (err) {
			problem(ss->fn, ss->pctx, &ss->problems, "%s: offset %llu: %s", name,
				(unsigned long long)it->off, msg);
			return 0;
		}
		struct dr_summary sm;
		err = dr_summarize(ev, it->bh.events, &sm);
		free(ev);
		free(arena);
		if (err)
			return err;
		struct dnsreel_frame_info fi = {
		    .segment = ss->segno,
		    .offset = it->off,
		    .length = it->len,
		    .first_ts = sm.first_ts,
		    .last_ts = sm.last_ts,
		    .events = sm.events,
		    .rcode_mask = sm.rcode_mask,
		    .qr_mask = sm.qr_mask,
		    .proto_mask = sm.proto_mask,
		    .netns_count = (uint16_t)(sm.netns_count > 65535 ? 0 : sm.netns_count),
		    .netns = sm.netns,
		    .name_bloom_bits = sm.bloom_bits,
		    .name_bloom = sm.bloom,
		};
		/* a frame with too many netns to list cannot be pruned by netns */
		if (sm.netns_count > 65535)
			fi.netns = NULL;
		err = dr_catalog_add_frame(c, &fi);
		dr_summary_free(&sm);
		if (err)
			return err;
		struct dr_segment *sg = ss->sg;
		if (!sg->frames || fi.first_ts < sg->first_ts)
			sg->first_ts = fi.first_ts;
		if (!sg->frames || fi.last_ts > sg->last_ts)
			sg->last_ts = fi.last_ts;
		sg->frames++;
		sg->events += fi.events;
		return 0;
	}
	default:
		return 0; /* unknown record types of this major are skipped */
	}
	if (err == -ENOMEM)
		return err;
	if (err)
		problem(ss->fn, ss->pctx, &ss->problems,
			"%s: offset %llu: record type %u does not decode", name,
			(unsigned long long)it->off, it->type);
	return 0;
}

static bool at_magic(const uint8_t *p)
{
	return p[0] == 0x5E && p[1] == 0x2A && p[2] == 0x4D && p[3] == 0x18;
}

/* Reports damage at bad (msg says what). next: where the scan resumes, 0 when it cannot. */
static void scan_damage(struct segscan *ss, int r, size_t bad, size_t next, size_t len,
			const char *msg)
{
	if (next)
		problem(ss->fn, ss->pctx, &ss->problems,
			"%s: offset %zu: %s; skipped %zu damaged bytes", ss->name, bad, msg,
			next - bad);
	else if (r == DNSREEL_E_TRUNCATED) {
		ss->sg->torn = true;
		ss->sg->torn_at = bad;
		problem(ss->fn, ss->pctx, &ss->problems,
			"%s: offset %zu: %s: a torn last frame (%zu bytes, a crash while writing); "
			"verify --reindex moves it aside",
			ss->name, bad, msg, len - bad);
	} else
		problem(ss->fn, ss->pctx, &ss->problems, "%s: offset %zu: %s", ss->name, bad, msg);
}

static int scan_begin(struct segscan *ss, size_t len)
{
	ss->sg = dr_catalog_segment(ss->c, ss->segno);
	if (!ss->sg)
		return -ENOMEM;
	ss->sg->bytes = len;
	if (len == 0)
		problem(ss->fn, ss->pctx, &ss->problems,
			"%s: offset 0: empty segment (no segment header)", ss->name);
	return 0;
}

/* Feeds one segment's bytes into the catalog. Returns problems found (>= 0) or a negative
 * error that stops everything (newer version, no memory). */
int dr_scan_segment_buf(const uint8_t *buf, size_t len, uint32_t segno, const char *name,
			struct dr_catalog *c, void *dctx, dr_problem_fn fn, void *pctx)
{
	struct segscan ss = {segno, name, c, dctx, fn, pctx, NULL, false, 0};
	int err = scan_begin(&ss, len);
	if (err)
		return err;
	struct dr_scan s = {buf, len, 0};
	for (;;) {
		struct dr_item it;
		const char *msg = NULL;
		int r = dr_scan_next(&s, &it, &msg);
		if (r == 0)
			break;
		if (r < 0) {
			/* resynchronize at the next record magic so later complete frames survive
			 */
			size_t bad = s.off, next = 0;
			for (size_t k = s.off + 1; k + 4 <= len; k++)
				if (at_magic(buf + k)) {
					next = k;
					break;
				}
			scan_damage(&ss, r, bad, next, len, msg);
			if (!next)
				break;
			s.off = next;
			continue;
		}
		err = scan_item(&ss, &it);
		if (err)
			return err;
	}
	return ss.problems;
}

/* Bytes the item starting with the header bytes h (n of them, n <= left) spans, bounded by
 * what a reader accepts; dr_scan_next then checks them. */
static size_t item_extent(const uint8_t *h, size_t n, size_t left)
{
	if (n < 8 || dr_rd32(h) != DR_SKIP_MAGIC)
		return n < 8 ? n : 8;
	size_t need = 8 + (size_t)dr_rd32(h + 4); /* <= DR_MAX_REC: checked by the caller */
	if (n >= DR_REC_HDR + DR_BLOCK_HDR_BODY && h[8] == DR_REC_BLOCK) {
		struct dr_blockhdr bh;
		dr_blockhdr_de(h + DR_REC_HDR, &bh);
		if (bh.zlen <= DR_MAX_ZLEN)
			need += bh.zlen;
	}
	return need < left ? need : left;
}

/* Scans a segment through fd item by item, holding one item (at most a block: 257 MiB) in
 * memory, never the whole file; damage resynchronizes by reading ahead in chunks. The
 * problems and catalog are those dr_scan_segment_buf gives for the same bytes. */
static int scan_segment_fd(const struct dr_file *f, size_t len, struct segscan *ss)
{
	int err = scan_begin(ss, len);
	if (err)
		return err;
	struct dr_buf b = {0};
	size_t off = 0;
	while (off < len) {
		size_t left = len - off;
		uint8_t h[DR_REC_HDR + DR_BLOCK_HDR_BODY];
		size_t hn = left < sizeof(h) ? left : sizeof(h);
		err = dr_file_pread(f, h, hn, off);
		if (err)
			break;
		struct dr_item it;
		const char *msg = NULL;
		int r = 1;
		size_t bad = off;
		uint32_t magic = hn >= 8 ? dr_rd32(h) : 0, size = hn >= 8 ? dr_rd32(h + 4) : 0;
		bool skippable = hn >= 8 && (magic & 0xFFFFFFF0u) == 0x184D2A50u;
		if (skippable && size > left - 8) {
			r = DNSREEL_E_TRUNCATED;
			msg = "record extends past end of file (truncated)";
		} else if (skippable && magic != DR_SKIP_MAGIC) {
			/* someone else's skippable frame: stepped over unread */
			memset(&it, 0, sizeof(it));
			it.off = off;
			it.len = 8 + size;
			err = scan_item(ss, &it);
			if (err)
				break;
			off += 8 + (size_t)size;
			continue;
		} else if (magic == DR_SKIP_MAGIC && (size < 8 || size > DR_MAX_REC)) {
			r = DNSREEL_E_CORRUPT;
			msg = "record size out of range";
		} else {
			size_t need = item_extent(h, hn, left);
			b.len = 0;
			if (dr_buf_reserve(&b, need)) {
				err = -ENOMEM;
				break;
			}
			err = dr_file_pread(f, b.p, need, off);
			if (err)
				break;
			struct dr_scan sc = {b.p, need, 0};
			r = dr_scan_next(&sc, &it, &msg);
			bad = off + sc.off;
			if (r == 1) {
				it.off += off;
				err = scan_item(ss, &it);
				if (err)
					break;
				off += it.len;
				continue;
			}
		}
		size_t next = 0;
		uint8_t chunk[65536];
		for (size_t k = bad + 1; k + 4 <= len && !next;) {
			/* holes of a sparse file read as zeros and hold no magic: skip them */
			off_t d = f->base ? (off_t)k : lseek(f->fd, (off_t)k, SEEK_DATA);
			if (d < 0 && errno == ENXIO)
				break;
			if (d > (off_t)k)
				k = (size_t)d;
			if (k + 4 > len)
				break;
			size_t cn = len - k < sizeof(chunk) ? len - k : sizeof(chunk);
			err = dr_file_pread(f, chunk, cn, k);
			if (err)
				break;
			for (size_t j = 0; j + 4 <= cn; j++)
				if (at_magic(chunk + j)) {
					next = k + j;
					break;
				}
			if (cn < sizeof(chunk))
				break;
			k += cn - 3; /* a magic across two chunks is seen in the next one */
		}
		if (err)
			break;
		scan_damage(ss, r, bad, next, len, msg);
		if (!next)
			break;
		off = next;
	}
	dr_buf_free(&b);
	if (err && err != -ENOMEM && err != DNSREEL_E_VERSION) {
		problem(ss->fn, ss->pctx, &ss->problems, "%s: offset %zu: cannot read: %s",
			ss->name, off, dnsreel_strerror(err));
		err = 0;
	}
	return err ? err : ss->problems;
}

int dr_scan_capture(const char *dir, struct dr_catalog *c, dr_problem_fn fn, void *pctx)
{
	struct dr_src *src;
	int err = dr_src_open(&src, dir, NULL, 0);
	if (err)
		return err == -ENOENT ? DNSREEL_E_NOTCAPTURE : err;
	uint32_t *segs;
	size_t n;
	err = dr_src_segments(src, &segs, &n);
	if (err) {
		dr_src_close(src);
		return err == -ENOENT ? DNSREEL_E_NOTCAPTURE : err;
	}
	ZSTD_DCtx *dctx = ZSTD_createDCtx();
	if (!dctx) {
		free(segs);
		dr_src_close(src);
		return -ENOMEM;
	}
	int problems = 0;
	for (size_t i = 0; i < n; i++) {
		char name[64];
		snprintf(name, sizeof(name), "seg/%06u.zst", segs[i]);
		struct dr_file f;
		int fe = dr_src_file(src, name, &f);
		if (fe < 0) {
			int cnt = 0;
			problem(fn, pctx, &cnt, "%s: offset 0: cannot read: %s", name,
				fe == DNSREEL_E_NOTREG ? "not a regular file"
						       : dnsreel_strerror(fe));
			problems += cnt;
			continue;
		}
		struct segscan ss = {segs[i], name, c, dctx, fn, pctx, NULL, false, 0};
		int r = scan_segment_fd(&f, (size_t)f.size, &ss);
		dr_file_close(&f);
		if (r < 0) {
			problems = r;
			break;
		}
		problems += r;
	}
	ZSTD_freeDCtx(dctx);
	free(segs);
	dr_src_close(src);
	if (problems >= 0)
		dr_catalog_sort_frames(c);
	return problems;
}
