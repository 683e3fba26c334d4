/* k-way merge of captures by wall-clock time. The heap holds, per capture, one entry for the
 * next frame not yet opened (keyed by its first timestamp) and one entry per open frame (keyed
 * by its current event). Frames within a capture may overlap slightly in time, so a frame is
 * opened exactly when the frontier reaches its first timestamp and not before: memory stays at
 * the frames that overlap, whatever the capture size.
 */
#include "view.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dnsreel.h"

struct cap {
	struct dnsreel_capr *r;
	const char *path;
	int64_t off;	/* boot -> wall */
	size_t next;	/* next catalog index not yet considered */
	bool scheduled; /* an open-frame entry is in the heap */
	struct dnsreel_prune prune;
	uint64_t *netns; /* our copy of prune.netns */
	bool has_prune;
};

struct slot {
	struct dnsreel_block blk;
	size_t pos;
	uint32_t cap;
	uint32_t segment;
	uint64_t frame;
};

/* kind 0 = open the capture's next frame, 1 = an event of an open frame. Opening sorts first at
 * equal time so the opened frame's first event takes part in the tie-break. */
struct hent {
	int64_t wall;
	uint32_t tie; /* kind << 16 | DNS id */
	uint32_t cap;
	uint64_t ord; /* frame index << 24 | event position */
	int32_t slot; /* -1 for kind 0 */
};

struct dnsreel_merge {
	struct dnsreel_merge_opts o;
	struct cap *caps;
	size_t ncaps;
	struct dnsreel_ctx *ctx;
	struct dnsreel_decoder *dec;
	struct hent *heap;
	size_t nheap, heap_cap;
	struct slot *slots;
	size_t nslots, slots_cap;
	int32_t *free_slots;
	size_t nfree;
	struct dnsreel_merge_stats st;
	uint64_t cur_frame; /* catalog frame and position of the event being decoded */
	uint32_t cur_pos;
	char errbuf[512];
	char **xpaths; /* the paths given, merged captures expanded into their parts */
	size_t nxpaths;
};

static inline bool hless(const struct hent *a, const struct hent *b)
{
	if (a->wall != b->wall)
		return a->wall < b->wall;
	if (a->tie != b->tie)
		return a->tie < b->tie;
	if (a->cap != b->cap)
		return a->cap < b->cap;
	return a->ord < b->ord;
}

static void sift_down(struct hent *h, size_t n, size_t i)
{
	struct hent x = h[i];
	for (;;) {
		size_t c = 2 * i + 1;
		if (c >= n)
			break;
		if (c + 1 < n && hless(&h[c + 1], &h[c]))
			c++;
		if (!hless(&h[c], &x))
			break;
		h[i] = h[c];
		i = c;
	}
	h[i] = x;
}

static int heap_push(struct dnsreel_merge *r, const struct hent *e)
{
	if (r->nheap == r->heap_cap) {
		size_t nc = r->heap_cap ? r->heap_cap * 2 : 64;
		struct hent *nh = realloc(r->heap, nc * sizeof(*nh));
		if (!nh)
			return -ENOMEM;
		r->heap = nh;
		r->heap_cap = nc;
	}
	size_t i = r->nheap++;
	while (i) {
		size_t p = (i - 1) / 2;
		if (!hless(e, &r->heap[p]))
			break;
		r->heap[i] = r->heap[p];
		i = p;
	}
	r->heap[i] = *e;
	return 0;
}

static void heap_pop(struct dnsreel_merge *r)
{
	r->heap[0] = r->heap[--r->nheap];
	if (r->nheap)
		sift_down(r->heap, r->nheap, 0);
}

static inline uint16_t ev_dns_id(const struct dnsreel_event *ev)
{
	const uint8_t *p = ev->payload;
	if (!p)
		return 0;
	if (ev->proto == 6) /* TCP: after the RFC 7766 length prefix */
		return ev->cap_len >= 4 ? (uint16_t)(p[2] << 8 | p[3]) : 0;
	return ev->cap_len >= 2 ? (uint16_t)(p[0] << 8 | p[1]) : 0;
}

static inline void event_key(struct dnsreel_merge *r, int32_t si, struct hent *e)
{
	struct slot *s = &r->slots[si];
	const struct dnsreel_event *ev = &s->blk.ev[s->pos];
	e->wall = ev->ts_ns + r->caps[s->cap].off;
	e->tie = 1u << 16 | ev_dns_id(ev);
	e->cap = s->cap;
	e->ord = s->frame << 24 | (uint64_t)(s->pos & 0xffffff);
	e->slot = si;
}

/* Puts an open-frame entry for the next frame of capture c that may match, if any. */
static int schedule(struct dnsreel_merge *r, uint32_t c)
{
	struct cap *cp = &r->caps[c];
	if (cp->scheduled)
		return 0;
	size_t n = dnsreel_capr__frame_count(cp->r);
	while (cp->next < n) {
		size_t i = cp->next;
		if (cp->has_prune && !dnsreel_capr__frame_may_match(cp->r, i, &cp->prune)) {
			r->st.frames_pruned++;
			cp->next++;
			continue;
		}
		const struct dnsreel_frame_info *fi = dnsreel_capr__frame(cp->r, i);
		struct hent e = {.wall = (fi ? fi->first_ts : 0) + cp->off,
				 .tie = 0,
				 .cap = c,
				 .ord = (uint64_t)i << 24,
				 .slot = -1};
		int err = heap_push(r, &e);
		if (err)
			return err;
		cp->scheduled = true;
		return 0;
	}
	return 0;
}

static int32_t slot_get(struct dnsreel_merge *r)
{
	if (r->nfree)
		return r->free_slots[--r->nfree];
	if (r->nslots == r->slots_cap) {
		size_t nc = r->slots_cap ? r->slots_cap * 2 : 16;
		struct slot *ns = realloc(r->slots, nc * sizeof(*ns));
		if (!ns)
			return -1;
		r->slots = ns;
		int32_t *nf = realloc(r->free_slots, nc * sizeof(*nf));
		if (!nf)
			return -1;
		r->free_slots = nf;
		r->slots_cap = nc;
	}
	memset(&r->slots[r->nslots], 0, sizeof(struct slot));
	return (int32_t)r->nslots++;
}

static void slot_put(struct dnsreel_merge *r, int32_t si)
{
	dnsreel_block__release(&r->slots[si].blk);
	memset(&r->slots[si].blk, 0, sizeof(r->slots[si].blk));
	r->free_slots[r->nfree++] = si;
}

/* Decodes the frame the top entry names and replaces the entry with its first event. */
static int open_frame(struct dnsreel_merge *r)
{
	struct hent top = r->heap[0];
	struct cap *cp = &r->caps[top.cap];
	size_t i = cp->next++;
	cp->scheduled = false;
	heap_pop(r);

	int32_t si = slot_get(r);
	if (si < 0)
		return -ENOMEM;
	struct slot *s = &r->slots[si];
	const struct dnsreel_frame_info *fi = dnsreel_capr__frame(cp->r, i);
	r->errbuf[0] = 0;
	int err = dnsreel_capr__read_frame(cp->r, i, &s->blk, r->errbuf, sizeof(r->errbuf));
	if (err < 0) {
		r->st.frames_bad++;
		if (r->o.problem) {
			char msg[768];
			if (r->errbuf[0])
				snprintf(msg, sizeof(msg), "%s", r->errbuf);
			else
				snprintf(msg, sizeof(msg), "%s: seg/%06u.zst offset %llu: %s",
					 cp->path, fi ? fi->segment : 0,
					 (unsigned long long)(fi ? fi->offset : 0),
					 dnsreel_strerror(err));
			r->o.problem(r->o.problem_ctx, msg);
		}
		slot_put(r, si);
		return schedule(r, top.cap);
	}
	r->st.frames_read++;
	if (r->nslots - r->nfree > r->st.frames_open_max)
		r->st.frames_open_max = r->nslots - r->nfree;
	s->pos = 0;
	s->cap = top.cap;
	s->segment = fi ? fi->segment : 0;
	s->frame = i;
	if (s->blk.n) {
		struct hent e;
		event_key(r, si, &e);
		err = heap_push(r, &e);
		if (err)
			return err;
	} else {
		slot_put(r, si);
	}
	return schedule(r, top.cap);
}

static int on_rec(void *arg, const struct dnsreel_rec *rec)
{
	struct dnsreel_merge *r = arg;
	r->st.recs++;
	if (r->o.filter && !dnsreel_filter__match(r->o.filter, rec))
		return 0;
	r->st.recs_matched++;
	return r->o.rec_fn ? r->o.rec_fn(r->o.rec_arg, rec) : 0;
}

static int emit_top(struct dnsreel_merge *r)
{
	int32_t si = r->heap[0].slot;
	int64_t wall = r->heap[0].wall;
	struct slot *s = &r->slots[si];
	const struct dnsreel_event *ev = &s->blk.ev[s->pos];
	uint32_t cap = s->cap, seg = s->segment;
	int ret = 0;

	r->st.events_read++;
	r->cur_frame = s->frame;
	r->cur_pos = (uint32_t)s->pos;
	if (r->o.event_fn)
		ret = r->o.event_fn(r->o.event_arg, cap, seg, ev, wall);
	if (!ret && !r->o.no_decode)
		ret = dnsreel_decoder__feed(r->dec, cap, seg, ev, on_rec, r);

	/* The block may not move while the event is in use; advance only now. */
	s = &r->slots[si];
	if (++s->pos < s->blk.n) {
		event_key(r, si, &r->heap[0]);
		sift_down(r->heap, r->nheap, 0);
	} else {
		heap_pop(r);
		slot_put(r, si);
	}
	return ret;
}

static void load_prune(struct dnsreel_merge *r, uint32_t c)
{
	struct cap *cp = &r->caps[c];
	if (!r->o.filter)
		return;
	struct dnsreel_prune p;
	memset(&p, 0, sizeof(p));
	dnsreel_filter__prune(r->o.filter, r->ctx, c, &p);
	free(cp->netns);
	cp->netns = NULL;
	if (p.netns_count && p.netns) {
		cp->netns = malloc(p.netns_count * sizeof(uint64_t));
		if (cp->netns)
			memcpy(cp->netns, p.netns, p.netns_count * sizeof(uint64_t));
		else
			p.netns_count = 0; /* cannot keep it: do not prune on netns */
		p.netns = cp->netns;
	}
	cp->prune = p;
	cp->has_prune = true;
}

int dnsreel_merge__open(struct dnsreel_merge **out, const char *const *paths, size_t n,
			const struct dnsreel_merge_opts *opts, char *err, size_t errlen)
{
	*out = NULL;
	if (err && errlen)
		err[0] = 0;
	if (!n || !opts)
		return DNSREEL_E_ARG;
	struct dnsreel_merge *r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	memcpy(&r->o, opts, opts->sz < sizeof(r->o) ? opts->sz : sizeof(r->o));
	if (!r->o.poll_ns)
		r->o.poll_ns = 200 * 1000000LL;
	int ret = dnsreel_capture_expand(paths, n, &r->xpaths, &r->nxpaths, err, errlen);
	if (ret)
		goto fail;
	n = r->nxpaths;
	paths = (const char *const *)r->xpaths;
	ret = -ENOMEM;
	r->caps = calloc(n, sizeof(*r->caps));
	if (!r->caps)
		goto fail;
	r->ncaps = n;
	ret = dnsreel_ctx__new(&r->ctx);
	if (ret)
		goto fail;
	for (size_t i = 0; i < n; i++) {
		struct dnsreel_capr_opts co = {.sz = sizeof(co), .flags = r->o.capr_flags};
		char e[512] = "";
		r->caps[i].path = paths[i];
		ret = dnsreel_capr__open(&r->caps[i].r, paths[i], &co, e, sizeof(e));
		if (ret) {
			if (err) {
				if (ret == DNSREEL_E_VERSION && !e[0])
					snprintf(err, errlen,
						 "%s: written by a newer dnsreel format than this "
						 "reader understands (%d.%d); use a newer dnsreel",
						 paths[i], DNSREEL_FORMAT_MAJOR,
						 DNSREEL_FORMAT_MINOR);
				else if (e[0])
					snprintf(err, errlen, "%s", e);
				else
					snprintf(err, errlen, "%s: %s", paths[i],
						 dnsreel_strerror(ret));
			}
			r->caps[i].r = NULL;
			goto fail;
		}
		const char *prob = dnsreel_capr__problem(r->caps[i].r);
		if (prob) {
			/* The reader scanned past damage or rebuilt a lost index: the events it
			 * found replay, but the capture is not whole. */
			r->st.capture_problems++;
			if (r->o.problem) {
				char msg[1024];
				snprintf(msg, sizeof(msg), "%s: %s", paths[i], prob);
				r->o.problem(r->o.problem_ctx, msg);
			}
		}
		const struct dnsreel_meta *m = dnsreel_capr__meta(r->caps[i].r);
		r->caps[i].off = m ? m->boot_to_wall_ns : 0;
		ret = dnsreel_ctx__add_capture(r->ctx, (uint32_t)i, r->caps[i].r);
		if (ret) {
			if (err)
				snprintf(err, errlen, "%s: context: %s", paths[i],
					 dnsreel_strerror(ret));
			goto fail;
		}
		struct dnsreel_capr_summary su;
		dnsreel_capr__summary(r->caps[i].r, &su);
		r->st.frames_total += dnsreel_capr__frame_count(r->caps[i].r);
		r->st.events_total += su.events;
	}
	if (!r->o.no_decode) {
		struct dnsreel_decoder_opts dop = {.sz = sizeof(dop)};
		ret = dnsreel_decoder__new(&r->dec, r->ctx, &dop);
		if (ret)
			goto fail;
	}
	*out = r;
	return 0;
fail:
	dnsreel_merge__close(r);
	return ret;
}

static void sleep_ns(int64_t ns)
{
	struct timespec ts = {.tv_sec = ns / 1000000000, .tv_nsec = ns % 1000000000};
	nanosleep(&ts, NULL);
}

/* Follow mode: picks up frames and context the recorders appended. Returns frames added. */
static int refresh(struct dnsreel_merge *r)
{
	int added = 0;
	for (uint32_t c = 0; c < r->ncaps; c++) {
		struct cap *cp = &r->caps[c];
		int n = dnsreel_capr__refresh(cp->r);
		if (n <= 0)
			continue;
		added += n;
		r->st.frames_total += (uint64_t)n;
		dnsreel_ctx__add_capture(r->ctx, c, cp->r);
		load_prune(r, c); /* new netns may now match -n/-p/-c */
		int err = schedule(r, c);
		if (err)
			return err;
	}
	return added;
}

int dnsreel_merge__run(struct dnsreel_merge *r)
{
	int ret = 0;
	for (uint32_t c = 0; c < r->ncaps; c++) {
		load_prune(r, c);
		if ((ret = schedule(r, c)))
			return ret;
	}
	uint32_t since_tick = 0;
	for (;;) {
		while (r->nheap) {
			if (r->o.stop && *r->o.stop)
				return 0;
			if (r->heap[0].slot < 0)
				ret = open_frame(r);
			else
				ret = emit_top(r);
			if (ret)
				return ret;
			if (++since_tick >= 4096) {
				since_tick = 0;
				if (r->o.tick)
					r->o.tick(r->o.tick_arg, &r->st, false);
			}
		}
		if (!r->o.follow)
			break;
		if (r->o.tick)
			r->o.tick(r->o.tick_arg, &r->st, true);
		while (!(r->o.stop && *r->o.stop)) {
			sleep_ns(r->o.poll_ns);
			ret = refresh(r);
			if (ret < 0)
				return ret;
			if (ret > 0)
				break;
		}
		if (r->o.stop && *r->o.stop)
			break;
	}
	return 0;
}

void dnsreel_merge__stats(const struct dnsreel_merge *r, struct dnsreel_merge_stats *st)
{
	*st = r->st;
}

void dnsreel_merge__position(const struct dnsreel_merge *r, uint64_t *frame, uint32_t *event)
{
	*frame = r->cur_frame;
	*event = r->cur_pos;
}

const struct dnsreel_ctx *dnsreel_merge__ctx(const struct dnsreel_merge *r)
{
	return r->ctx;
}

size_t dnsreel_merge__capture_count(const struct dnsreel_merge *r)
{
	return r->ncaps;
}

struct dnsreel_capr *dnsreel_merge__capr(const struct dnsreel_merge *r, uint32_t capture)
{
	return capture < r->ncaps ? r->caps[capture].r : NULL;
}

void dnsreel_merge__close(struct dnsreel_merge *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->nheap; i++)
		if (r->heap[i].slot >= 0)
			dnsreel_block__release(&r->slots[r->heap[i].slot].blk);
	if (r->dec)
		dnsreel_decoder__free(r->dec);
	for (size_t i = 0; r->caps && i < r->ncaps; i++) {
		if (r->caps[i].r)
			dnsreel_capr__close(r->caps[i].r);
		free(r->caps[i].netns);
	}
	if (r->ctx)
		dnsreel_ctx__free(r->ctx);
	dnsreel_capture_expand_free(r->xpaths, r->nxpaths);
	free(r->caps);
	free(r->heap);
	free(r->slots);
	free(r->free_slots);
	free(r);
}
