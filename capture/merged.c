/* Merged captures, read side: the manifest (index.sqlite of a merged capture) and the expansion
 * of a merged capture into the parts readers open. The manifest is untrusted input like any
 * index: read-only, defensive, every row checked before a path is built from it.
 */
#include <errno.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/stat.h>

#include "capture_int.h"

bool dr_is_merged_dir(const char *dir)
{
	char p[4096];
	struct stat st;
	snprintf(p, sizeof(p), "%s/seg", dir);
	if (lstat(p, &st) == 0 || errno != ENOENT)
		return false;
	snprintf(p, sizeof(p), "%s/parts", dir);
	return lstat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

bool dr_part_name_ok(const char *s)
{
	/* NNN-NODE.reel: digits, a dash, then [A-Za-z0-9._-], never "." or ".." or a slash */
	size_t n = strlen(s), d = 0;
	while (s[d] >= '0' && s[d] <= '9')
		d++;
	if (d < 3 || s[d] != '-' || n < d + 1 + 5 || strcmp(s + n - 5, ".reel"))
		return false;
	for (size_t i = d + 1; i < n - 5; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '_' || c == '-'))
			return false;
	}
	return n < sizeof(((struct dnsreel_merged_input *)0)->part);
}

void dnsreel_merged__free(struct dnsreel_merged *m)
{
	if (!m)
		return;
	for (size_t i = 0; i < m->nwarnings; i++)
		free(m->warnings[i]);
	free(m->warnings);
	free(m->inputs);
	free(m);
}

static void col_text(sqlite3_stmt *st, int i, char *out, size_t max)
{
	const unsigned char *t = sqlite3_column_text(st, i);
	snprintf(out, max, "%s", t ? (const char *)t : "");
}

static bool col_int(sqlite3_stmt *st, int i, int64_t *v)
{
	if (sqlite3_column_type(st, i) != SQLITE_INTEGER)
		return false;
	*v = sqlite3_column_int64(st, i);
	return true;
}

static int load_info(sqlite3 *db, struct dnsreel_merged *m, const char *path, char *eb, size_t el)
{
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(db, "SELECT key, value FROM capture_info", -1, &st, NULL) !=
	    SQLITE_OK)
		return dr_errf(eb, el, DNSREEL_E_INDEX, "%s: %s", path, sqlite3_errmsg(db));
	bool kind = false, major = false;
	int64_t v;
	int err = 0;
	while (!err && sqlite3_step(st) == SQLITE_ROW) {
		const char *k = (const char *)sqlite3_column_text(st, 0);
		if (!k)
			continue;
		if (!strcmp(k, "kind")) {
			const char *t = (const char *)sqlite3_column_text(st, 1);
			kind = t && !strcmp(t, "merged");
		} else if (!strcmp(k, "format_major") || !strcmp(k, "format_minor")) {
			if (!col_int(st, 1, &v) || v < 0 || v > UINT32_MAX)
				err =
				    dr_errf(eb, el, DNSREEL_E_INDEX,
					    "%s: capture_info %s is not a version number", path, k);
			else if (!strcmp(k, "format_major")) {
				m->format_major = (uint32_t)v;
				major = true;
			} else
				m->format_minor = (uint32_t)v;
		} else if (!strcmp(k, "capture_id"))
			col_text(st, 1, m->capture_id, sizeof(m->capture_id));
		else if (!strcmp(k, "merger"))
			col_text(st, 1, m->merger, sizeof(m->merger));
		else if (!strcmp(k, "created_wall_ns") && col_int(st, 1, &v))
			m->created_wall_ns = v;
	}
	sqlite3_finalize(st);
	if (err)
		return err;
	if (!kind || !major)
		return dr_errf(eb, el, DNSREEL_E_INDEX,
			       "%s: not a merge manifest (capture_info lacks kind 'merged' or "
			       "format_major)",
			       path);
	if (m->format_major > DNSREEL_FORMAT_MAJOR)
		return dr_errf(eb, el, DNSREEL_E_VERSION,
			       "%s: written by format version %u.%u; this dnsreel (%s) reads "
			       "format %d.x and older: upgrade dnsreel",
			       path, m->format_major, m->format_minor, DNSREEL_VERSION,
			       DNSREEL_FORMAT_MAJOR);
	return 0;
}

#define INPUT_COLS                                                                                 \
	"part, dir, capture_id, node, source, via, root_hash, boot_to_wall_ns, first_wall_ns, "    \
	"last_wall_ns, events, frames, bytes"

static int load_inputs(sqlite3 *db, struct dnsreel_merged *m, const char *dir, const char *path,
		       char *eb, size_t el)
{
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(db, "SELECT " INPUT_COLS " FROM inputs ORDER BY part", -1, &st,
			       NULL) != SQLITE_OK)
		return dr_errf(eb, el, DNSREEL_E_INDEX, "%s: table inputs: %s", path,
			       sqlite3_errmsg(db));
	int err = 0, rc;
	size_t cap = 0;
	while (!err && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (m->ninputs == cap) {
			size_t nc = cap ? 2 * cap : 8;
			struct dnsreel_merged_input *ni =
			    nc <= 100000 ? realloc(m->inputs, nc * sizeof(*ni)) : NULL;
			if (!ni) {
				err = nc <= 100000 ? -ENOMEM
						   : dr_errf(eb, el, DNSREEL_E_LIMIT,
							     "%s: more than 100000 inputs", path);
				break;
			}
			m->inputs = ni;
			cap = nc;
		}
		struct dnsreel_merged_input *in = &m->inputs[m->ninputs];
		memset(in, 0, sizeof(*in));
		int64_t part, v[6];
		const unsigned char *pd = sqlite3_column_text(st, 1);
		bool ok = col_int(st, 0, &part) && part == (int64_t)m->ninputs + 1 && pd &&
			  strlen((const char *)pd) < sizeof(in->part) &&
			  dr_part_name_ok((const char *)pd);
		for (int k = 0; ok && k < 6; k++)
			ok = col_int(st, 7 + k, &v[k]);
		if (!ok) {
			err = dr_errf(eb, el, DNSREEL_E_INDEX,
				      "%s: inputs row %zu: damaged (part number, directory name or "
				      "a number out of place)",
				      path, m->ninputs + 1);
			break;
		}
		col_text(st, 1, in->part, sizeof(in->part));
		col_text(st, 2, in->capture_id, sizeof(in->capture_id));
		col_text(st, 3, in->node, sizeof(in->node));
		col_text(st, 4, in->source, sizeof(in->source));
		col_text(st, 5, in->via, sizeof(in->via));
		col_text(st, 6, in->root_hash, sizeof(in->root_hash));
		in->boot_to_wall_ns = v[0];
		in->first_wall_ns = v[1];
		in->last_wall_ns = v[2];
		in->events = (uint64_t)v[3];
		in->frames = (uint64_t)v[4];
		in->bytes = (uint64_t)v[5];
		for (size_t j = 0; j < m->ninputs; j++)
			if (!strcmp(m->inputs[j].part, in->part) ||
			    !strcmp(m->inputs[j].capture_id, in->capture_id))
				err = dr_errf(eb, el, DNSREEL_E_INDEX,
					      "%s: inputs rows %zu and %zu name the same part or "
					      "capture",
					      path, j + 1, m->ninputs + 1);
		char pp[4096];
		struct stat sb;
		snprintf(pp, sizeof(pp), "%s/parts/%s", dir, in->part);
		if (!err && (lstat(pp, &sb) != 0 || !S_ISDIR(sb.st_mode)))
			err =
			    dr_errf(eb, el, DNSREEL_E_INDEX,
				    "%s: part %s is %s: the merged capture is incomplete (copy "
				    "the whole directory)",
				    pp, in->part, errno == ENOENT ? "missing" : "not a directory");
		m->ninputs++;
	}
	sqlite3_finalize(st);
	if (!err && !m->ninputs)
		err = dr_errf(eb, el, DNSREEL_E_INDEX, "%s: lists no inputs", path);
	return err;
}

static int load_warnings(sqlite3 *db, struct dnsreel_merged *m)
{
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(db, "SELECT message FROM warnings ORDER BY n", -1, &st, NULL) !=
	    SQLITE_OK)
		return 0; /* warnings are advice: a manifest without them still reads */
	int err = 0;
	while (!err && sqlite3_step(st) == SQLITE_ROW && m->nwarnings < 10000) {
		const unsigned char *t = sqlite3_column_text(st, 0);
		char **nw = realloc(m->warnings, (m->nwarnings + 1) * sizeof(*nw));
		char *w = nw ? strndup(t ? (const char *)t : "", 1024) : NULL;
		if (nw)
			m->warnings = nw;
		if (!w) {
			err = -ENOMEM;
			break;
		}
		m->warnings[m->nwarnings++] = w;
	}
	sqlite3_finalize(st);
	return err;
}

int dnsreel_merged__load(const char *dir, struct dnsreel_merged **out, char *errbuf, size_t errlen)
{
	*out = NULL;
	if (errbuf && errlen)
		errbuf[0] = 0;
	if (!dir)
		return DNSREEL_E_ARG;
	if (!dr_is_merged_dir(dir))
		return 0;
	char path[4096];
	snprintf(path, sizeof(path), "%s/index.sqlite", dir);
	sqlite3 *db;
	int err = dr_sqlite_open_ro(path, &db, errbuf, errlen);
	if (err) {
		if (err == DNSREEL_E_NOTREG || err == -ENOENT)
			err = dr_errf(errbuf, errlen, DNSREEL_E_INDEX,
				      "%s: merge manifest %s: the parts under %s/parts/ are whole "
				      "captures and can be read one by one",
				      path, err == -ENOENT ? "missing" : "not a regular file", dir);
		return err;
	}
	struct dnsreel_merged *m = calloc(1, sizeof(*m));
	if (!m) {
		sqlite3_close(db);
		return -ENOMEM;
	}
	err = load_info(db, m, path, errbuf, errlen);
	if (!err)
		err = load_inputs(db, m, dir, path, errbuf, errlen);
	if (!err)
		err = load_warnings(db, m);
	sqlite3_close(db);
	if (err) {
		dnsreel_merged__free(m);
		return err;
	}
	*out = m;
	return 1;
}

void dnsreel_capture_expand_free(char **paths, size_t n)
{
	for (size_t i = 0; paths && i < n; i++)
		free(paths[i]);
	free(paths);
}

int dnsreel_capture_expand(const char *const *paths, size_t n, char ***out, size_t *nout,
			   char *errbuf, size_t errlen)
{
	*out = NULL;
	*nout = 0;
	char **v = NULL;
	size_t nv = 0, cap = 0;
	int err = 0;
	for (size_t i = 0; !err && i < n; i++) {
		struct dnsreel_merged *m = NULL;
		int r = dnsreel_merged__load(paths[i], &m, errbuf, errlen);
		if (r < 0) {
			err = r;
			break;
		}
		size_t add = m ? m->ninputs : 1;
		if (nv + add > cap) {
			size_t nc = (nv + add) * 2;
			char **nvv = realloc(v, nc * sizeof(*v));
			if (!nvv) {
				dnsreel_merged__free(m);
				err = -ENOMEM;
				break;
			}
			v = nvv;
			cap = nc;
		}
		for (size_t k = 0; k < add; k++) {
			char *s;
			if (m) {
				size_t len = strlen(paths[i]) + strlen(m->inputs[k].part) + 8;
				s = malloc(len);
				if (s)
					snprintf(s, len, "%s/parts/%s", paths[i],
						 m->inputs[k].part);
			} else
				s = strdup(paths[i]);
			if (!s) {
				err = -ENOMEM;
				break;
			}
			v[nv++] = s;
		}
		dnsreel_merged__free(m);
	}
	if (err) {
		dnsreel_capture_expand_free(v, nv);
		return err;
	}
	*out = v;
	*nout = nv;
	return 0;
}

/* ---- verify ---------------------------------------------------------------------------- */

struct vpart {
	const struct dnsreel_verify_opts *o;
	const char *part;
	int n;
};

static void vproblem(void *ctx, const char *msg)
{
	struct vpart *v = ctx;
	char line[1200];
	v->n++;
	snprintf(line, sizeof(line), "parts/%s: %s", v->part, msg);
	if (v->o && v->o->problem)
		v->o->problem(v->o->ctx, line);
}

int dr_verify_merged(const char *dir, const struct dnsreel_verify_opts *opts)
{
	struct vpart top = {opts, "", 0};
	char eb[600];
	struct dnsreel_merged *m = NULL;
	int err = dnsreel_merged__load(dir, &m, eb, sizeof(eb));
	if (err < 0) {
		if (err == -ENOMEM)
			return err;
		if (opts && opts->problem)
			opts->problem(opts->ctx, eb);
		return 1;
	}
	int problems = 0;
	char pd[4096];
	snprintf(pd, sizeof(pd), "%s/parts", dir);
	DIR *d = opendir(pd);
	struct dirent *e;
	while (d && (e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		bool listed = false;
		for (size_t i = 0; i < m->ninputs; i++)
			listed |= !strcmp(m->inputs[i].part, e->d_name);
		if (!listed) {
			top.part = e->d_name;
			vproblem(&top, "not listed in the merge manifest (added after the merge?)");
		}
	}
	if (d)
		closedir(d);
	problems += top.n;
	for (size_t i = 0; i < m->ninputs; i++) {
		const struct dnsreel_merged_input *in = &m->inputs[i];
		struct vpart v = {opts, in->part, 0};
		char pp[4200];
		snprintf(pp, sizeof(pp), "%s/%s", pd, in->part);
		struct dnsreel_capr *r;
		if (dnsreel_capr__open(&r, pp, NULL, eb, sizeof(eb)) == 0) {
			const struct dnsreel_meta *mt = dnsreel_capr__meta(r);
			struct dnsreel_capr_summary su;
			dnsreel_capr__summary(r, &su);
			char msg[600];
			if (strcmp(mt->capture_id, in->capture_id)) {
				snprintf(msg, sizeof(msg),
					 "holds capture %s, the manifest lists %s", mt->capture_id,
					 in->capture_id);
				vproblem(&v, msg);
			} else if (su.events != in->events) {
				snprintf(
				    msg, sizeof(msg), "holds %llu events, the manifest lists %llu",
				    (unsigned long long)su.events, (unsigned long long)in->events);
				vproblem(&v, msg);
			}
			dnsreel_capr__close(r);
		}
		if (in->root_hash[0]) {
			/* custody: the part must still be the input whose root merge recorded */
			struct dnsreel_custody *cu = NULL;
			if (dnsreel_custody_compute(pp, &cu, eb, sizeof(eb)) == 0 && cu) {
				char msg[600];
				if (strcmp(cu->root, in->root_hash)) {
					snprintf(msg, sizeof(msg),
						 "root hash %s, the manifest recorded %s from the "
						 "input: the part changed after the merge",
						 cu->root[0] ? cu->root : "(none)", in->root_hash);
					vproblem(&v, msg);
				}
			}
			dnsreel_custody_free(cu);
		}
		struct dnsreel_verify_opts po = {.sz = sizeof(po), .problem = vproblem, .ctx = &v};
		if (opts)
			po.reindex = opts->reindex;
		int n = dnsreel_capture_verify(pp, &po);
		if (n < 0) {
			snprintf(eb, sizeof(eb), "cannot be checked: %s", dnsreel_strerror(n));
			vproblem(&v, eb);
		}
		problems += v.n;
	}
	dnsreel_merged__free(m);
	return problems;
}
