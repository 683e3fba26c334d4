/* Writing a recording: the sink that puts a recorder's events and context into a capture
 * (the capture writer rotates segments by size and drops old ones by size or age), --select
 * on decoded messages, the live view's filter, the capture's metadata, flushes with the
 * counters. Frames are flushed here, by time and by size. After a write error nothing more is
 * given to the capture writer; what arrives then is counted as lost.after_error, beside the
 * writer's own lost.write (events it could not flush). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "dnsreel.h"
#include "recorder_int.h"
#include "view.h"

struct dnsreel_recwriter {
	struct dnsreel_recwriter_opts o;
	struct dnsreel_capw *w;
	int werr; /* first write error: nothing more is written */
	struct dnsreel_ctx *ctx;
	struct dnsreel_decoder *dec;
	bool rec_match; /* set by the decoder callback */
	uint64_t not_selected;
	uint64_t pending;    /* appended since the last flush */
	uint64_t lost_after; /* received after a write error, never given to the writer */
	bool append_refused; /* the writer refused (and counted) one event */
	uint32_t block_events;
	int64_t next_flush;
	uint64_t flush_ns; /* thread CPU in write_frame, for --stats */
	/* the busy level (busy_zstd_level): the node's CPU times at the last look */
	int level;
	bool busy;
	int64_t next_look;
	uint64_t cpu_total, cpu_idle;
};

static int64_t wall_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void fill_meta(struct dnsreel_meta *m, const char *node, uint32_t snaplen)
{
	memset(m, 0, sizeof(*m));
	m->format_major = DNSREEL_FORMAT_MAJOR;
	m->format_minor = DNSREEL_FORMAT_MINOR;
	FILE *f = fopen("/proc/sys/kernel/random/uuid", "re");
	if (f) {
		if (fgets(m->capture_id, sizeof(m->capture_id), f))
			m->capture_id[strcspn(m->capture_id, "\n")] = 0;
		fclose(f);
	}
	if (node && node[0])
		snprintf(m->node, sizeof(m->node), "%s", node);
	else if (getenv("NODE_NAME") && getenv("NODE_NAME")[0])
		snprintf(m->node, sizeof(m->node), "%s", getenv("NODE_NAME"));
	else
		gethostname(m->node, sizeof(m->node) - 1);
	struct utsname u;
	if (!uname(&u))
		snprintf(m->kernel, sizeof(m->kernel), "%s", u.release);
	snprintf(m->recorder, sizeof(m->recorder), "dnsreel-record %s", DNSREEL_VERSION);
	/* Boot->wall offset: the smallest gap over a few reads bounds the error. */
	int64_t best = INT64_MAX, off = 0;
	for (int i = 0; i < 5; i++) {
		int64_t b1 = rec_boot_ns(), w = wall_ns(), b2 = rec_boot_ns();
		if (b2 - b1 < best) {
			best = b2 - b1;
			off = w - (b1 + (b2 - b1) / 2);
		}
	}
	m->boot_to_wall_ns = off;
	m->start_wall_ns = wall_ns();
	m->snaplen = snaplen;
}

int dnsreel_recwriter__open(struct dnsreel_recwriter **out, const char *dir,
			    const struct dnsreel_recwriter_opts *o, char *errbuf, size_t errlen)
{
	struct dnsreel_recwriter *w = calloc(1, sizeof(*w));
	struct dnsreel_capw_opts co = {.sz = sizeof(co)};
	struct dnsreel_meta meta;
	int err;
	*out = NULL;
	if (!w)
		return -ENOMEM;
	memcpy(&w->o, o, o->sz < sizeof(w->o) ? o->sz : sizeof(w->o));
	if (!w->o.flush_ns)
		w->o.flush_ns = DNSREEL_REC_DEFAULT_FLUSH_NS;
	/* Filters and the live view run on decoded messages. */
	if (w->o.select || w->o.on_record) {
		if ((err = dnsreel_ctx__new(&w->ctx)) ||
		    (err = dnsreel_decoder__new(&w->dec, w->ctx, NULL))) {
			snprintf(errbuf, errlen, "out of memory");
			goto fail;
		}
	}
	if (w->o.capw)
		co = *w->o.capw;
	co.snaplen = w->o.snaplen;
	w->block_events = co.block_events ? co.block_events : DNSREEL_REC_BLOCK_EVENTS;
	w->level = co.zstd_level ? co.zstd_level : DNSREEL_CAPW_DEFAULT_ZSTD_LEVEL;
	/* One more than what this sink flushes at: the capture writer never flushes on its own. */
	co.block_events = w->block_events + 1;
	if ((err = dnsreel_capw__open(&w->w, dir, &co))) {
		snprintf(errbuf, errlen, "cannot create capture %s: %s", dir,
			 dnsreel_strerror(err));
		goto fail;
	}
	fill_meta(&meta, w->o.node, w->o.snaplen);
	if ((err = dnsreel_capw__set_meta(w->w, &meta))) {
		snprintf(errbuf, errlen, "%s: %s", dir, dnsreel_strerror(err));
		goto fail;
	}
	if (w->ctx)
		dnsreel_ctx__set_meta(w->ctx, 0, &meta);
	w->next_flush = rec_boot_ns() + w->o.flush_ns;
	*out = w;
	return 0;
fail:
	dnsreel_recwriter__close(w, NULL, NULL, NULL);
	return err;
}

static int on_rec(void *arg, const struct dnsreel_rec *rec)
{
	struct dnsreel_recwriter *w = arg;
	if (w->o.select && !dnsreel_filter__match(w->o.select, rec))
		return 0;
	w->rec_match = true;
	if (w->o.on_record && (!w->o.view || dnsreel_filter__match(w->o.view, rec)))
		w->o.on_record(w->o.arg, rec);
	return 0;
}

/* The node's CPU time so far in /proc/stat's first line (user .. steal), and of that idle and
 * iowait. False when it cannot be read. */
static bool node_cpu(uint64_t *total, uint64_t *idle)
{
	FILE *f = fopen("/proc/stat", "re");
	if (!f)
		return false;
	unsigned long long v[8] = {0};
	int n = fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2], &v[3],
		       &v[4], &v[5], &v[6], &v[7]);
	fclose(f);
	if (n < 4)
		return false;
	*total = 0;
	for (int i = 0; i < 8; i++)
		*total += v[i];
	*idle = v[3] + v[4];
	return true;
}

/* Once a second at most: busy below 15% idle, not busy again above 30% (a frame's level does
 * not flap with the load of one second). */
static void pick_level(struct dnsreel_recwriter *w)
{
	int64_t now = rec_boot_ns();
	if (!w->o.busy_zstd_level || w->o.busy_zstd_level >= w->level || now < w->next_look)
		return;
	w->next_look = now + 1000000000;
	uint64_t total, idle;
	if (!node_cpu(&total, &idle))
		return;
	if (w->cpu_total && total > w->cpu_total) {
		double f = (double)(idle - w->cpu_idle) / (double)(total - w->cpu_total);
		bool busy = w->busy ? f < 0.30 : f < 0.15;
		if (busy != w->busy &&
		    !dnsreel_capw__set_zstd_level(w->w, busy ? w->o.busy_zstd_level : w->level))
			w->busy = busy;
	}
	w->cpu_total = total;
	w->cpu_idle = idle;
}

static int write_frame(struct dnsreel_recwriter *w)
{
	uint64_t t0 = rec_cpu_ns();
	pick_level(w);
	int err = dnsreel_capw__flush(w->w);
	w->flush_ns += rec_cpu_ns() - t0;
	if (err)
		w->werr = err;
	else
		w->pending = 0;
	return err;
}

static int sink_event(void *arg, const struct dnsreel_event *ev)
{
	struct dnsreel_recwriter *w = arg;
	if (w->dec) {
		w->rec_match = false;
		dnsreel_decoder__feed(w->dec, 0, 0, ev, on_rec, w);
		/* TCP segments are kept whatever they hold, so streams stay whole for replay. */
		if (w->o.select && !w->rec_match && ev->proto != 6) {
			w->not_selected++;
			return 0;
		}
	}
	if (w->werr) {
		w->lost_after++;
		return 0;
	}
	int err = dnsreel_capw__append(w->w, ev);
	if (err) {
		w->werr = err;
		if (err == -ENOMEM)
			w->lost_after++;
		else
			w->append_refused = true;
		return err;
	}
	if (++w->pending >= w->block_events)
		return write_frame(w);
	return 0;
}

static void sink_netns(void *arg, const struct dnsreel_netns_ctx *ns)
{
	struct dnsreel_recwriter *w = arg;
	if (!w->werr && (w->werr = dnsreel_capw__put_netns(w->w, ns)))
		return;
	if (w->ctx)
		dnsreel_ctx__put_netns(w->ctx, 0, ns);
}

static void sink_proc(void *arg, const struct dnsreel_proc_ctx *p)
{
	struct dnsreel_recwriter *w = arg;
	if (!w->werr && (w->werr = dnsreel_capw__put_proc(w->w, p)))
		return;
}

static void sink_service(void *arg, const struct dnsreel_service_ctx *svc)
{
	struct dnsreel_recwriter *w = arg;
	if (!w->werr && (w->werr = dnsreel_capw__put_service(w->w, svc)))
		return;
	if (w->ctx)
		dnsreel_ctx__put_service(w->ctx, 0, svc);
}

static uint64_t sink_flush_ns(void *arg)
{
	const struct dnsreel_recwriter *w = arg;
	return w->flush_ns;
}

struct dnsreel_sink dnsreel_recwriter__sink(struct dnsreel_recwriter *w)
{
	struct dnsreel_sink s = {
	    .arg = w,
	    .on_event = sink_event,
	    .on_netns = sink_netns,
	    .on_proc = sink_proc,
	    .on_service = sink_service,
	    .flush_ns = sink_flush_ns,
	};
	return s;
}

static void set_counter(void *arg, const char *name, uint64_t value)
{
	struct dnsreel_recwriter *w = arg;
	/* A counter that cannot be stored (out of memory) is a write error like any other. */
	if (!w->werr)
		w->werr = dnsreel_capw__set_counter(w->w, name, value);
}

static void put_after_error(void *arg, const char *name, uint64_t value)
{
	struct dnsreel_recwriter *w = arg;
	dnsreel_capw__set_counter(w->w, name, value);
}

static void put_counters(struct dnsreel_recwriter *w, struct dnsreel_recorder *r)
{
	if (r)
		dnsreel_recorder__counters(r, set_counter, w);
	if (w->o.select)
		set_counter(w, "events.not_selected", w->not_selected);
	if (w->lost_after)
		set_counter(w, "lost.after_error", w->lost_after);
}

int dnsreel_recwriter__flush(struct dnsreel_recwriter *w, struct dnsreel_recorder *r, bool force)
{
	int64_t now = rec_boot_ns();
	if (w->werr || (!force && now < w->next_flush))
		return w->werr;
	put_counters(w, r);
	int err = w->werr ? w->werr : write_frame(w);
	if (err)
		return err;
	if (w->o.on_flush)
		w->o.on_flush(w->o.arg);
	w->next_flush = now + w->o.flush_ns;
	return 0;
}

int dnsreel_recwriter__error(const struct dnsreel_recwriter *w)
{
	return w->werr;
}

int64_t dnsreel_recwriter__next_flush(const struct dnsreel_recwriter *w)
{
	return w->pending && !w->werr ? w->next_flush : INT64_MAX;
}

void dnsreel_recwriter__stats(const struct dnsreel_recwriter *w, struct dnsreel_capw_stats *st)
{
	dnsreel_capw__stats(w->w, st);
}

uint64_t dnsreel_recwriter__lost(const struct dnsreel_recwriter *w)
{
	struct dnsreel_capw_stats st;
	dnsreel_capw__stats(w->w, &st);
	return w->lost_after + st.events_lost;
}

uint64_t dnsreel_recwriter__not_selected(const struct dnsreel_recwriter *w)
{
	return w->not_selected;
}

int dnsreel_recwriter__close(struct dnsreel_recwriter *w, struct dnsreel_recorder *r,
			     struct dnsreel_capw_stats *st, uint64_t *lost_disk)
{
	int err = 0;
	if (lost_disk)
		*lost_disk = 0;
	if (!w)
		return 0;
	if (w->w) {
		if (r && !w->werr)
			dnsreel_recorder__drain(r);
		if (r && !w->werr)
			put_counters(w, r);
		if (w->werr) {
			/* Best effort: closing retries the pending frame and writes the counters;
			 * the index may have room where a frame had none. */
			if (r)
				dnsreel_recorder__counters(r, put_after_error, w);
			if (w->lost_after)
				dnsreel_capw__set_counter(w->w, "lost.after_error", w->lost_after);
		}
		struct dnsreel_capw_stats cs;
		dnsreel_capw__stats(w->w, &cs);
		err = dnsreel_capw__close(w->w);
		/* Closed: its stats are gone, but what close could not flush was pending, and that
		 * many events are lost; the one append refused was counted and never appended. */
		uint64_t unflushed = err ? w->pending : 0;
		uint64_t lost = cs.events_lost + unflushed + w->lost_after;
		if (st) {
			*st = cs;
			uint64_t appended_lost = cs.events_lost + unflushed -
						 (w->append_refused && cs.events_lost ? 1 : 0);
			st->events = cs.events >= appended_lost ? cs.events - appended_lost : 0;
			st->events_lost = lost;
		}
		if (lost_disk)
			*lost_disk = lost;
	}
	if (w->werr)
		err = w->werr;
	if (w->dec)
		dnsreel_decoder__free(w->dec);
	if (w->ctx)
		dnsreel_ctx__free(w->ctx);
	free(w);
	return err;
}
