/* index.sqlite: the derived frame catalog, capture metadata and context tables. Written by the
 * capture writer and by reindex through the same statements so both give equal tables; read
 * read-only, defensive, with untrusted schema, triggers and views off, and the schema checked.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libgen.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "capture_int.h"

/* Columns are named after the context.h fields; QUERY users read these tables directly. */
static const char schema_sql[] =
    "CREATE TABLE capture_info(key TEXT PRIMARY KEY, value);\n"
    "CREATE TABLE segments(segment INTEGER PRIMARY KEY, path TEXT NOT NULL, bytes INTEGER "
    "NOT NULL, frames INTEGER NOT NULL, events INTEGER NOT NULL, first_ts INTEGER, last_ts "
    "INTEGER);\n"
    "CREATE TABLE frames(segment INTEGER NOT NULL, offset INTEGER NOT NULL, length INTEGER "
    "NOT NULL, first_ts INTEGER NOT NULL, last_ts INTEGER NOT NULL, events INTEGER NOT NULL, "
    "rcode_mask INTEGER NOT NULL, qr_mask INTEGER NOT NULL, proto_mask INTEGER NOT NULL, "
    "netns_count INTEGER NOT NULL, netns BLOB, name_bloom_bits INTEGER NOT NULL, name_bloom "
    "BLOB, PRIMARY KEY(segment, offset)) WITHOUT ROWID;\n"
    "CREATE INDEX frames_time ON frames(first_ts, last_ts);\n"
    "CREATE TABLE netns(netns INTEGER PRIMARY KEY, flags INTEGER NOT NULL, first_seen_ns "
    "INTEGER, name TEXT, k8s_namespace TEXT, k8s_podname TEXT, k8s_pod_uid TEXT, "
    "k8s_containername TEXT, runtime_containername TEXT, runtime_containerid TEXT, ips "
    "TEXT);\n"
    "CREATE TABLE processes(pid INTEGER NOT NULL, start_ns INTEGER NOT NULL, ppid INTEGER, "
    "netns INTEGER, cgroup_id INTEGER, uid INTEGER, gid INTEGER, comm TEXT, cmdline TEXT, "
    "cgroup TEXT, k8s_pod_uid TEXT, runtime_containerid TEXT, PRIMARY KEY(pid, start_ns));\n"
    "CREATE TABLE services(ip_version INTEGER NOT NULL, addr TEXT NOT NULL, proto INTEGER NOT "
    "NULL, port INTEGER NOT NULL, k8s_namespace TEXT, name TEXT, PRIMARY KEY(ip_version, "
    "addr, proto, port));\n"
    "CREATE TABLE counters(name TEXT PRIMARY KEY, value INTEGER NOT NULL);\n"
    "CREATE TABLE manifest(segment INTEGER PRIMARY KEY, path TEXT NOT NULL, bytes INTEGER NOT "
    "NULL, hash TEXT NOT NULL, prev TEXT NOT NULL);\n"
    "CREATE TABLE inputs(capture_id TEXT NOT NULL, root_hash TEXT NOT NULL, role TEXT NOT "
    "NULL);\n";

struct tabdef {
	const char *name;
	const char *cols[14];
};
static const struct tabdef tabdefs[] = {
    {"capture_info", {"key", "value"}},
    {"segments", {"segment", "path", "bytes", "frames", "events", "first_ts", "last_ts"}},
    {"frames",
     {"segment", "offset", "length", "first_ts", "last_ts", "events", "rcode_mask", "qr_mask",
      "proto_mask", "netns_count", "netns", "name_bloom_bits", "name_bloom"}},
    {"netns",
     {"netns", "flags", "first_seen_ns", "name", "k8s_namespace", "k8s_podname", "k8s_pod_uid",
      "k8s_containername", "runtime_containername", "runtime_containerid", "ips"}},
    {"processes",
     {"pid", "start_ns", "ppid", "netns", "cgroup_id", "uid", "gid", "comm", "cmdline", "cgroup",
      "k8s_pod_uid", "runtime_containerid"}},
    {"services", {"ip_version", "addr", "proto", "port", "k8s_namespace", "name"}},
    {"counters", {"name", "value"}},
};

static int sq(int rc)
{
	return (rc == SQLITE_OK || rc == SQLITE_DONE || rc == SQLITE_ROW) ? 0 : DNSREEL_E_SQLITE;
}

static int exec1(sqlite3 *db, const char *sql)
{
	return sq(sqlite3_exec(db, sql, NULL, NULL, NULL));
}

int dr_index_create(sqlite3 *db)
{
	/* small pages: a capture's index is a few small tables, mostly read whole */
	int err = exec1(db, "PRAGMA page_size=1024");
	if (!err)
		err = exec1(db, "BEGIN");
	if (!err)
		err = exec1(db, schema_sql);
	if (!err) {
		char sql[256];
		snprintf(sql, sizeof(sql),
			 "INSERT INTO capture_info VALUES('format_major', %d), ('format_minor', "
			 "%d)",
			 DNSREEL_FORMAT_MAJOR, DNSREEL_FORMAT_MINOR);
		err = exec1(db, sql);
	}
	if (!err)
		err = exec1(db, "COMMIT");
	else
		exec1(db, "ROLLBACK");
	return err;
}

/* Runs a prepared statement once with bound values given as a format string:
 * 'i' int64, 't' text, 'b' blob (ptr, len), 'n' NULL. */
static int run(sqlite3 *db, const char *sql, const char *fmt, ...)
{
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		return DNSREEL_E_SQLITE;
	va_list ap;
	va_start(ap, fmt);
	for (int i = 0; fmt[i]; i++) {
		switch (fmt[i]) {
		case 'i':
			sqlite3_bind_int64(st, i + 1, va_arg(ap, int64_t));
			break;
		case 't':
			sqlite3_bind_text(st, i + 1, va_arg(ap, const char *), -1,
					  SQLITE_TRANSIENT);
			break;
		case 'b': {
			const void *p = va_arg(ap, const void *);
			int l = va_arg(ap, int);
			if (p && l)
				sqlite3_bind_blob(st, i + 1, p, l, SQLITE_TRANSIENT);
			else
				sqlite3_bind_null(st, i + 1);
			break;
		}
		default:
			sqlite3_bind_null(st, i + 1);
		}
	}
	va_end(ap);
	int rc = sqlite3_step(st);
	sqlite3_finalize(st);
	return rc == SQLITE_DONE || rc == SQLITE_ROW ? 0 : DNSREEL_E_SQLITE;
}

static int put_info_i(sqlite3 *db, const char *k, int64_t v)
{
	return run(db, "INSERT OR REPLACE INTO capture_info VALUES(?, ?)", "ti", k, v);
}

static int put_info_t(sqlite3 *db, const char *k, const char *v)
{
	return run(db, "INSERT OR REPLACE INTO capture_info VALUES(?, ?)", "tt", k, v);
}

int dr_index_put_meta(sqlite3 *db, const struct dnsreel_meta *m)
{
	int err = put_info_i(db, "format_major", m->format_major);
	if (!err)
		err = put_info_i(db, "format_minor", m->format_minor);
	if (!err)
		err = put_info_t(db, "capture_id", m->capture_id);
	if (!err)
		err = put_info_t(db, "node", m->node);
	if (!err)
		err = put_info_t(db, "kernel", m->kernel);
	if (!err)
		err = put_info_t(db, "recorder", m->recorder);
	if (!err)
		err = put_info_i(db, "boot_to_wall_ns", m->boot_to_wall_ns);
	if (!err)
		err = put_info_i(db, "start_wall_ns", m->start_wall_ns);
	if (!err)
		err = put_info_i(db, "snaplen", m->snaplen);
	return err;
}

int dr_index_put_frame(sqlite3 *db, const struct dnsreel_frame_info *fi)
{
	uint8_t *ns = NULL;
	if (fi->netns_count) {
		ns = malloc((size_t)fi->netns_count * 8);
		if (!ns)
			return -ENOMEM;
		for (size_t i = 0; i < fi->netns_count; i++)
			dr_le64(ns + 8 * i, fi->netns[i]);
	}
	int err =
	    run(db, "INSERT OR REPLACE INTO frames VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
		"iiiiiiiiiibib", (int64_t)fi->segment, (int64_t)fi->offset, (int64_t)fi->length,
		fi->first_ts, fi->last_ts, (int64_t)fi->events, (int64_t)fi->rcode_mask,
		(int64_t)fi->qr_mask, (int64_t)fi->proto_mask, (int64_t)fi->netns_count,
		(const void *)ns, (int)fi->netns_count * 8, (int64_t)fi->name_bloom_bits,
		(const void *)fi->name_bloom, (int)(fi->name_bloom_bits / 8));
	free(ns);
	return err;
}

int dr_index_put_segment(sqlite3 *db, const struct dr_segment *s)
{
	char path[32];
	snprintf(path, sizeof(path), "seg/%06u.zst", s->segment);
	return run(db, "INSERT OR REPLACE INTO segments VALUES(?, ?, ?, ?, ?, ?, ?)", "itiiiii",
		   (int64_t)s->segment, path, (int64_t)s->bytes, (int64_t)s->frames,
		   (int64_t)s->events, s->first_ts, s->last_ts);
}

int dr_index_del_segment(sqlite3 *db, uint32_t seg)
{
	int err = run(db, "DELETE FROM frames WHERE segment = ?", "i", (int64_t)seg);
	if (!err)
		err = run(db, "DELETE FROM segments WHERE segment = ?", "i", (int64_t)seg);
	if (!err)
		err = run(db, "DELETE FROM manifest WHERE segment = ?", "i", (int64_t)seg);
	return err;
}

int dr_index_put_netns(sqlite3 *db, const struct dnsreel_netns_ctx *n)
{
	return run(db, "INSERT OR REPLACE INTO netns VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
		   "iiittttttttt", (int64_t)n->netns, (int64_t)n->flags, n->first_seen_ns, n->name,
		   n->k8s_namespace, n->k8s_podname, n->k8s_pod_uid, n->k8s_containername,
		   n->runtime_containername, n->runtime_containerid, n->ips);
}

int dr_index_put_proc(sqlite3 *db, const struct dnsreel_proc_ctx *p)
{
	return run(db,
		   "INSERT OR REPLACE INTO processes VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
		   "iiiiiiittttt", (int64_t)p->pid, (int64_t)p->start_ns, (int64_t)p->ppid,
		   (int64_t)p->netns, (int64_t)p->cgroup_id, (int64_t)p->uid, (int64_t)p->gid,
		   p->comm, p->cmdline, p->cgroup, p->k8s_pod_uid, p->runtime_containerid);
}

int dr_index_put_service(sqlite3 *db, const struct dnsreel_service_ctx *s)
{
	char a[64];
	dr_addr_str(s->ip_version, s->addr, a, sizeof(a));
	return run(db, "INSERT OR REPLACE INTO services VALUES(?, ?, ?, ?, ?, ?)", "itiitt",
		   (int64_t)s->ip_version, a, (int64_t)s->proto, (int64_t)s->port, s->k8s_namespace,
		   s->name);
}

int dr_index_put_counter(sqlite3 *db, const char *name, uint64_t v)
{
	return run(db, "INSERT OR REPLACE INTO counters VALUES(?, ?)", "ti", name, (int64_t)v);
}

/* The same four rows as dr_index_put_end, from totals the writer keeps: the aggregates over
 * the frames table scan it whole (max(last_ts), sum and count use no index), once per flush. */
int dr_index_put_totals(sqlite3 *db, bool have_ts, int64_t first_ts, int64_t last_ts,
			uint64_t events, uint64_t frames)
{
	/* one statement: each prepared statement costs more than its row */
	static const char sql[] =
	    "INSERT OR REPLACE INTO capture_info VALUES(?, ?), (?, ?), (?, ?), (?, ?)";
	if (have_ts)
		return run(db, sql, "titititi", "first_ts", first_ts, "last_ts", last_ts, "events",
			   (int64_t)events, "frames", (int64_t)frames);
	return run(db, sql, "tntntiti", "first_ts", "last_ts", "events", (int64_t)events, "frames",
		   (int64_t)frames);
}

/* Time range and totals, derived from the frames so writer and reindex agree. */
int dr_index_put_end(sqlite3 *db, const struct dr_catalog *c)
{
	if (c && c->damage[0] &&
	    run(db, "INSERT OR REPLACE INTO capture_info VALUES('damage', ?)", "t", c->damage))
		return DNSREEL_E_SQLITE;
	return exec1(db,
		     "INSERT OR REPLACE INTO capture_info SELECT 'first_ts', min(first_ts) "
		     "FROM frames;"
		     "INSERT OR REPLACE INTO capture_info SELECT 'last_ts', max(last_ts) FROM "
		     "frames;"
		     "INSERT OR REPLACE INTO capture_info SELECT 'events', coalesce(sum(events), "
		     "0) FROM frames;"
		     "INSERT OR REPLACE INTO capture_info SELECT 'frames', count(*) FROM frames;");
}

static int fsync_dir_of(const char *path)
{
	char tmp[4096];
	snprintf(tmp, sizeof(tmp), "%s", path);
	int fd = open(dirname(tmp), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	int err = fsync(fd) ? -errno : 0;
	close(fd);
	return err;
}

int dr_index_write_file(const char *path, const struct dr_catalog *c)
{
	char part[4096];
	snprintf(part, sizeof(part), "%s.part", path);
	unlink(part);
	sqlite3 *db = NULL;
	if (sqlite3_open_v2(part, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) !=
	    SQLITE_OK) {
		sqlite3_close(db);
		return DNSREEL_E_SQLITE;
	}
	int err = exec1(db, "PRAGMA journal_mode=DELETE; PRAGMA synchronous=FULL");
	if (!err)
		err = dr_index_create(db);
	if (!err)
		err = exec1(db, "BEGIN");
	if (!err && c->have_meta)
		err = dr_index_put_meta(db, &c->meta);
	for (size_t i = 0; !err && i < c->nsegs; i++)
		err = dr_index_put_segment(db, &c->segs[i]);
	for (size_t i = 0; !err && i < c->nframes; i++)
		err = dr_index_put_frame(db, &c->frames[i].fi);
	for (size_t i = 0; !err && i < c->nnetns; i++)
		err = dr_index_put_netns(db, &c->netns[i]);
	for (size_t i = 0; !err && i < c->nprocs; i++)
		err = dr_index_put_proc(db, &c->procs[i]);
	for (size_t i = 0; !err && i < c->nsvcs; i++)
		err = dr_index_put_service(db, &c->svcs[i]);
	for (size_t i = 0; !err && i < c->ncounters; i++)
		err = dr_index_put_counter(db, c->counters[i].name, c->counters[i].value);
	if (!err)
		err = dr_index_put_end(db, c);
	if (!err && c->custody)
		err = dr_custody_put_index(db, c->custody, false);
	if (!err)
		err = exec1(db, "COMMIT");
	if (sqlite3_close(db) != SQLITE_OK && !err)
		err = DNSREEL_E_SQLITE;
	/* A crashed writer's -wal and -shm belong to the old file: left beside the new one, SQLite
	 * would replay the old transactions onto it. The new file holds everything. */
	for (int i = 0; !err && i < 2; i++) {
		char side[4096 + 8];
		snprintf(side, sizeof(side), "%s%s", path, i ? "-shm" : "-wal");
		if (unlink(side) && errno != ENOENT)
			err = -errno;
	}
	if (!err && rename(part, path) != 0)
		err = -errno;
	if (!err)
		err = fsync_dir_of(path);
	if (err)
		unlink(part);
	return err;
}

/* ---- reading ----------------------------------------------------------------------------- */

static int check_schema(sqlite3 *db, char *errbuf, size_t errlen, const char *path)
{
	for (size_t t = 0; t < sizeof(tabdefs) / sizeof(tabdefs[0]); t++) {
		const struct tabdef *td = &tabdefs[t];
		for (size_t k = 0; k < 14 && td->cols[k]; k++) {
			sqlite3_stmt *st;
			if (sqlite3_prepare_v2(
				db,
				"SELECT 1 FROM pragma_table_info(?) WHERE name = ? "
				"AND (SELECT type FROM sqlite_schema WHERE name = ?) = "
				"'table'",
				-1, &st, NULL) != SQLITE_OK)
				return dr_errf(errbuf, errlen, DNSREEL_E_INDEX,
					       "%s: cannot read schema: %s", path,
					       sqlite3_errmsg(db));
			sqlite3_bind_text(st, 1, td->name, -1, SQLITE_STATIC);
			sqlite3_bind_text(st, 2, td->cols[k], -1, SQLITE_STATIC);
			sqlite3_bind_text(st, 3, td->name, -1, SQLITE_STATIC);
			int rc = sqlite3_step(st);
			sqlite3_finalize(st);
			if (rc != SQLITE_ROW)
				return dr_errf(errbuf, errlen, DNSREEL_E_INDEX,
					       "%s: schema: table %s lacks column %s", path,
					       td->name, td->cols[k]);
		}
	}
	return 0;
}

/* Read-only settings for an untrusted index, and its schema checked. Closes db on failure. */
static void untrusted(sqlite3 *db)
{
	/* the file is untrusted input: no schema-defined code may run */
	sqlite3_db_config(db, SQLITE_DBCONFIG_DEFENSIVE, 1, NULL);
	sqlite3_db_config(db, SQLITE_DBCONFIG_TRUSTED_SCHEMA, 0, NULL);
	sqlite3_db_config(db, SQLITE_DBCONFIG_ENABLE_TRIGGER, 0, NULL);
	sqlite3_db_config(db, SQLITE_DBCONFIG_ENABLE_VIEW, 0, NULL);
	sqlite3_busy_timeout(db, 2000);
}

static int setup_ro(sqlite3 *db, const char *path, char *errbuf, size_t errlen)
{
	untrusted(db);
	int err = check_schema(db, errbuf, errlen, path);
	if (err)
		sqlite3_close(db);
	return err;
}

static int open_file_ro(const char *path, sqlite3 **out, char *errbuf, size_t errlen, bool schema)
{
	*out = NULL;
	/* SQLite would block forever opening a FIFO: check the file without blocking first */
	int fd = dr_open_regular(path);
	if (fd < 0)
		return dr_errf(errbuf, errlen, fd, "%s: %s", path,
			       fd == DNSREEL_E_NOTREG ? "not a regular file" : strerror(-fd));
	close(fd);
	/* A closed capture has no WAL: open it immutable, so reading evidence (even from
	 * read-only media) creates no -shm or -wal beside it. A WAL means a writer is running or
	 * crashed; its frames live there, so read it the ordinary read-only way. */
	char wal[4096];
	snprintf(wal, sizeof(wal), "%s-wal", path);
	struct stat st;
	bool live = stat(wal, &st) == 0 && st.st_size > 0;
	char uri[3 * 4096 + 32];
	size_t u = (size_t)snprintf(uri, sizeof(uri), "file:");
	for (const char *c = path; *c && u + 4 < sizeof(uri); c++) {
		unsigned char ch = (unsigned char)*c;
		if (ch == '%' || ch == '?' || ch == '#' || ch < 0x20 || ch >= 0x7f)
			u += (size_t)snprintf(uri + u, sizeof(uri) - u, "%%%02X", ch);
		else
			uri[u++] = (char)ch;
	}
	snprintf(uri + u, sizeof(uri) - u, "%s", live ? "?mode=ro" : "?immutable=1");
	sqlite3 *db = NULL;
	int rc = sqlite3_open_v2(
	    uri, &db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_URI, NULL);
	if (rc != SQLITE_OK) {
		dr_errf(errbuf, errlen, DNSREEL_E_SQLITE, "%s: cannot open: %s", path,
			db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
		sqlite3_close(db);
		return DNSREEL_E_SQLITE;
	}
	int err = 0;
	if (schema)
		err = setup_ro(db, path, errbuf, errlen);
	else
		untrusted(db);
	if (err)
		return err;
	*out = db;
	return 0;
}

int dr_index_open_ro(const char *path, sqlite3 **out, char *errbuf, size_t errlen)
{
	return open_file_ro(path, out, errbuf, errlen, true);
}

int dr_sqlite_open_ro(const char *path, sqlite3 **out, char *errbuf, size_t errlen)
{
	return open_file_ro(path, out, errbuf, errlen, false);
}

int dr_index_open_src(const struct dr_src *src, sqlite3 **out, char *errbuf, size_t errlen)
{
	*out = NULL;
	char path[4096];
	snprintf(path, sizeof(path), "%s/index.sqlite", src->path);
	if (!src->pack)
		return dr_index_open_ro(path, out, errbuf, errlen);
	/* a packed index is read from its member's bytes: no file to open, nothing written */
	const struct dr_member *m = dr_src_member(src, "index.sqlite");
	if (!m || m->avail < m->size)
		return dr_errf(errbuf, errlen, DNSREEL_E_NOTCAPTURE, "%s: %s", path,
			       m ? "cut short in the pack" : "not in the pack");
	if (m->size < 512 || m->size > (1ull << 31))
		return dr_errf(errbuf, errlen, DNSREEL_E_INDEX, "%s: %llu bytes is no index", path,
			       (unsigned long long)m->size);
	uint8_t *buf = sqlite3_malloc64(m->size);
	if (!buf)
		return -ENOMEM;
	struct dr_file f = {src->fd, m->off, m->size};
	int err = dr_file_pread(&f, buf, (size_t)m->size, 0);
	if (err) {
		sqlite3_free(buf);
		return dr_errf(errbuf, errlen, err, "%s: cannot read: %s", path,
			       dnsreel_strerror(err));
	}
	/* a WAL-mode header would make SQLite look for a -wal: the bytes are the whole index */
	if (buf[18] == 2 && buf[19] == 2)
		buf[18] = buf[19] = 1;
	sqlite3 *db = NULL;
	if (sqlite3_open_v2(":memory:", &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL) !=
	    SQLITE_OK) {
		sqlite3_free(buf);
		sqlite3_close(db);
		return dr_errf(errbuf, errlen, DNSREEL_E_SQLITE, "%s: cannot open", path);
	}
	if (sqlite3_deserialize(db, "main", buf, (sqlite3_int64)m->size, (sqlite3_int64)m->size,
				SQLITE_DESERIALIZE_FREEONCLOSE | SQLITE_DESERIALIZE_READONLY) !=
	    SQLITE_OK) {
		dr_errf(errbuf, errlen, DNSREEL_E_INDEX, "%s: cannot load: %s", path,
			sqlite3_errmsg(db));
		sqlite3_close(db);
		return DNSREEL_E_INDEX;
	}
	err = setup_ro(db, path, errbuf, errlen);
	if (err)
		return err;
	*out = db;
	return 0;
}

static void col_text(sqlite3_stmt *st, int i, char *out, size_t max)
{
	const unsigned char *t = sqlite3_column_text(st, i);
	snprintf(out, max, "%s", t ? (const char *)t : "");
}

static int load_meta(sqlite3 *db, struct dr_catalog *c, const char *path, char *errbuf,
		     size_t errlen)
{
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(db, "SELECT key, value FROM capture_info", -1, &st, NULL) !=
	    SQLITE_OK)
		return dr_errf(errbuf, errlen, DNSREEL_E_INDEX, "%s: %s", path, sqlite3_errmsg(db));
	struct dnsreel_meta *m = &c->meta;
	memset(m, 0, sizeof(*m));
	c->info_frames = c->info_events = -1;
	bool have_major = false;
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *k = (const char *)sqlite3_column_text(st, 0);
		if (!k)
			continue;
		int64_t v = sqlite3_column_int64(st, 1);
		bool num = !strcmp(k, "format_major") || !strcmp(k, "format_minor") ||
			   !strcmp(k, "boot_to_wall_ns") || !strcmp(k, "start_wall_ns") ||
			   !strcmp(k, "snaplen");
		if (num && sqlite3_column_type(st, 1) != SQLITE_INTEGER) {
			/* text reads as 0: a silently wrong clock or version */
			char key[32];
			snprintf(key, sizeof(key), "%s", k);
			sqlite3_finalize(st);
			return dr_errf(errbuf, errlen, DNSREEL_E_INDEX,
				       "%s: capture_info.%s is not an integer", path, key);
		}
		if (!strcmp(k, "format_major")) {
			m->format_major = (uint32_t)v;
			have_major = true;
		} else if (!strcmp(k, "format_minor"))
			m->format_minor = (uint32_t)v;
		else if (!strcmp(k, "capture_id"))
			col_text(st, 1, m->capture_id, sizeof(m->capture_id));
		else if (!strcmp(k, "node"))
			col_text(st, 1, m->node, sizeof(m->node));
		else if (!strcmp(k, "kernel"))
			col_text(st, 1, m->kernel, sizeof(m->kernel));
		else if (!strcmp(k, "recorder"))
			col_text(st, 1, m->recorder, sizeof(m->recorder));
		else if (!strcmp(k, "boot_to_wall_ns"))
			m->boot_to_wall_ns = v;
		else if (!strcmp(k, "start_wall_ns"))
			m->start_wall_ns = v;
		else if (!strcmp(k, "snaplen"))
			m->snaplen = (uint32_t)v;
		else if (!strcmp(k, "damage"))
			col_text(st, 1, c->damage, sizeof(c->damage));
		else if (!strcmp(k, "frames") && sqlite3_column_type(st, 1) == SQLITE_INTEGER)
			c->info_frames = v;
		else if (!strcmp(k, "events") && sqlite3_column_type(st, 1) == SQLITE_INTEGER)
			c->info_events = v;
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return dr_errf(errbuf, errlen, DNSREEL_E_INDEX, "%s: capture_info: %s", path,
			       sqlite3_errmsg(db));
	if (!have_major)
		return dr_errf(errbuf, errlen, DNSREEL_E_INDEX,
			       "%s: capture_info has no format_major", path);
	if (m->format_major > DNSREEL_FORMAT_MAJOR)
		return dr_errf(errbuf, errlen, DNSREEL_E_VERSION,
			       "%s: written by format version %u.%u; this dnsreel (%s) reads "
			       "format %d.x and older: upgrade dnsreel",
			       path, m->format_major, m->format_minor, DNSREEL_VERSION,
			       DNSREEL_FORMAT_MAJOR);
	c->have_meta = m->capture_id[0] != 0 || m->node[0] != 0;
	return 0;
}

int dr_index_load_frames_after(sqlite3 *db, struct dr_catalog *c, uint32_t seg, uint64_t off,
			       bool after)
{
	sqlite3_stmt *st;
	const char *sql =
	    after ? "SELECT segment, offset, length, first_ts, last_ts, events, rcode_mask, "
		    "qr_mask, proto_mask, netns_count, netns, name_bloom_bits, name_bloom FROM "
		    "frames WHERE segment > ?1 OR (segment = ?1 AND offset > ?2) ORDER BY "
		    "segment, offset"
		  : "SELECT segment, offset, length, first_ts, last_ts, events, rcode_mask, "
		    "qr_mask, proto_mask, netns_count, netns, name_bloom_bits, name_bloom FROM "
		    "frames ORDER BY segment, offset";
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		return DNSREEL_E_INDEX;
	if (after) {
		sqlite3_bind_int64(st, 1, seg);
		sqlite3_bind_int64(st, 2, (int64_t)off);
	}
	int rc, err = 0, added = 0;
	uint64_t *ns = NULL;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct dnsreel_frame_info fi;
		memset(&fi, 0, sizeof(fi));
		int64_t v[10];
		for (int i = 0; i < 10; i++)
			v[i] = sqlite3_column_int64(st, i);
		if (v[0] < 0 || v[0] > UINT32_MAX || v[1] < 0 || v[2] <= 0 || v[2] > UINT32_MAX ||
		    v[5] <= 0 || v[5] > DR_MAX_BLOCK_EVENTS || v[3] > v[4] || v[9] < 0 ||
		    v[9] > 65535) {
			err = DNSREEL_E_INDEX;
			break;
		}
		fi.segment = (uint32_t)v[0];
		fi.offset = (uint64_t)v[1];
		fi.length = (uint32_t)v[2];
		fi.first_ts = v[3];
		fi.last_ts = v[4];
		fi.events = (uint32_t)v[5];
		fi.rcode_mask = (uint32_t)v[6];
		fi.qr_mask = (uint8_t)v[7];
		fi.proto_mask = (uint8_t)v[8];
		fi.netns_count = (uint16_t)v[9];
		const uint8_t *nsb = sqlite3_column_blob(st, 10);
		int nsl = sqlite3_column_bytes(st, 10);
		if (nsl != (int)fi.netns_count * 8 || (fi.netns_count && !nsb)) {
			err = DNSREEL_E_INDEX;
			break;
		}
		free(ns);
		ns = fi.netns_count ? malloc((size_t)fi.netns_count * 8) : NULL;
		if (fi.netns_count && !ns) {
			err = -ENOMEM;
			break;
		}
		for (size_t i = 0; i < fi.netns_count; i++) {
			ns[i] = dr_rd64(nsb + 8 * i);
			if (i && ns[i] <= ns[i - 1])
				err = DNSREEL_E_INDEX; /* must be sorted for binary search */
		}
		if (err)
			break;
		fi.netns = ns;
		int64_t bb = sqlite3_column_int64(st, 11);
		const uint8_t *bl = sqlite3_column_blob(st, 12);
		int bll = sqlite3_column_bytes(st, 12);
		if (bb < 0 || bb % 8 || bb > (1 << 27) || bll != bb / 8 || (bb && !bl)) {
			err = DNSREEL_E_INDEX;
			break;
		}
		fi.name_bloom_bits = (uint32_t)bb;
		fi.name_bloom = bl;
		/* an all-zero bloom would prune every name away; a frame with events always sets
		 * bits, so treat it as no bloom (may hold any name) */
		bool zero = true;
		for (int64_t k = 0; k < bll && zero; k++)
			zero = bl[k] == 0;
		if (bb && zero)
			fi.name_bloom_bits = 0;
		err = dr_catalog_add_frame(c, &fi);
		if (err)
			break;
		added++;
	}
	free(ns);
	if (!err && rc != SQLITE_DONE)
		err = DNSREEL_E_INDEX;
	sqlite3_finalize(st);
	return err ? err : added;
}

static int load_segments(sqlite3 *db, struct dr_catalog *c)
{
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(db,
			       "SELECT segment, bytes, frames, events, first_ts, last_ts FROM "
			       "segments ORDER BY segment",
			       -1, &st, NULL) != SQLITE_OK)
		return DNSREEL_E_INDEX;
	int rc, err = 0;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		int64_t sg = sqlite3_column_int64(st, 0);
		if (sg < 0 || sg > UINT32_MAX) {
			err = DNSREEL_E_INDEX;
			break;
		}
		struct dr_segment *s = dr_catalog_segment(c, (uint32_t)sg);
		if (!s) {
			err = -ENOMEM;
			break;
		}
		s->bytes = (uint64_t)sqlite3_column_int64(st, 1);
		s->frames = (uint32_t)sqlite3_column_int64(st, 2);
		s->events = (uint64_t)sqlite3_column_int64(st, 3);
		s->first_ts = sqlite3_column_int64(st, 4);
		s->last_ts = sqlite3_column_int64(st, 5);
	}
	if (!err && rc != SQLITE_DONE)
		err = DNSREEL_E_INDEX;
	sqlite3_finalize(st);
	return err;
}

int dr_index_load_context(sqlite3 *db, struct dr_catalog *c)
{
	sqlite3_stmt *st;
	int rc, err = 0;
	if (sqlite3_prepare_v2(
		db,
		"SELECT netns, flags, first_seen_ns, name, k8s_namespace, k8s_podname, "
		"k8s_pod_uid, k8s_containername, runtime_containername, "
		"runtime_containerid, ips FROM netns ORDER BY netns",
		-1, &st, NULL) != SQLITE_OK)
		return DNSREEL_E_INDEX;
	while (!err && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct dnsreel_netns_ctx n;
		memset(&n, 0, sizeof(n));
		n.netns = (uint64_t)sqlite3_column_int64(st, 0);
		n.flags = (uint32_t)sqlite3_column_int64(st, 1);
		n.first_seen_ns = sqlite3_column_int64(st, 2);
		col_text(st, 3, n.name, sizeof(n.name));
		col_text(st, 4, n.k8s_namespace, sizeof(n.k8s_namespace));
		col_text(st, 5, n.k8s_podname, sizeof(n.k8s_podname));
		col_text(st, 6, n.k8s_pod_uid, sizeof(n.k8s_pod_uid));
		col_text(st, 7, n.k8s_containername, sizeof(n.k8s_containername));
		col_text(st, 8, n.runtime_containername, sizeof(n.runtime_containername));
		col_text(st, 9, n.runtime_containerid, sizeof(n.runtime_containerid));
		col_text(st, 10, n.ips, sizeof(n.ips));
		err = dr_catalog_upsert_netns(c, &n);
	}
	sqlite3_finalize(st);
	if (err)
		return err;
	if (sqlite3_prepare_v2(
		db,
		"SELECT pid, start_ns, ppid, netns, cgroup_id, uid, gid, comm, cmdline, "
		"cgroup, k8s_pod_uid, runtime_containerid FROM processes ORDER BY "
		"pid, start_ns",
		-1, &st, NULL) != SQLITE_OK)
		return DNSREEL_E_INDEX;
	while (!err && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct dnsreel_proc_ctx p;
		memset(&p, 0, sizeof(p));
		p.pid = (uint32_t)sqlite3_column_int64(st, 0);
		p.start_ns = (uint64_t)sqlite3_column_int64(st, 1);
		p.ppid = (uint32_t)sqlite3_column_int64(st, 2);
		p.netns = (uint64_t)sqlite3_column_int64(st, 3);
		p.cgroup_id = (uint64_t)sqlite3_column_int64(st, 4);
		p.uid = (uint32_t)sqlite3_column_int64(st, 5);
		p.gid = (uint32_t)sqlite3_column_int64(st, 6);
		col_text(st, 7, p.comm, sizeof(p.comm));
		col_text(st, 8, p.cmdline, sizeof(p.cmdline));
		col_text(st, 9, p.cgroup, sizeof(p.cgroup));
		col_text(st, 10, p.k8s_pod_uid, sizeof(p.k8s_pod_uid));
		col_text(st, 11, p.runtime_containerid, sizeof(p.runtime_containerid));
		err = dr_catalog_upsert_proc(c, &p);
	}
	sqlite3_finalize(st);
	if (err)
		return err;
	if (sqlite3_prepare_v2(
		db, "SELECT ip_version, addr, proto, port, k8s_namespace, name FROM services", -1,
		&st, NULL) != SQLITE_OK)
		return DNSREEL_E_INDEX;
	while (!err && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct dnsreel_service_ctx s;
		memset(&s, 0, sizeof(s));
		s.ip_version = (uint8_t)sqlite3_column_int64(st, 0);
		char a[64];
		col_text(st, 1, a, sizeof(a));
		if (inet_pton(s.ip_version == 6 ? AF_INET6 : AF_INET, a, s.addr) != 1)
			memset(s.addr, 0, sizeof(s.addr));
		s.proto = (uint8_t)sqlite3_column_int64(st, 2);
		s.port = (uint16_t)sqlite3_column_int64(st, 3);
		col_text(st, 4, s.k8s_namespace, sizeof(s.k8s_namespace));
		col_text(st, 5, s.name, sizeof(s.name));
		err = dr_catalog_upsert_service(c, &s);
	}
	sqlite3_finalize(st);
	if (err)
		return err;
	if (sqlite3_prepare_v2(db, "SELECT name, value FROM counters ORDER BY name", -1, &st,
			       NULL) != SQLITE_OK)
		return DNSREEL_E_INDEX;
	while (!err && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		char name[DNSREEL_SHORT_LEN];
		col_text(st, 0, name, sizeof(name));
		err = dr_catalog_set_counter(c, name, (uint64_t)sqlite3_column_int64(st, 1));
	}
	sqlite3_finalize(st);
	return err;
}

/* Cross-checks an index against itself, cheaply: frames (loaded in segment, offset order)
 * must not overlap or repeat, and each segment row must count exactly its frames and events
 * and hold them within its bytes. A row deleted, duplicated or edited alone shows here. */
static int check_frames(const struct dr_catalog *c, const char *path, char *errbuf, size_t errlen)
{
	const struct dnsreel_frame_info *prev = NULL;
	struct dr_segment *sg = NULL;
	uint64_t frames = 0, events = 0;
	for (size_t i = 0; i <= c->nframes; i++) {
		const struct dnsreel_frame_info *f = i < c->nframes ? &c->frames[i].fi : NULL;
		if (prev && (!f || f->segment != prev->segment)) {
			if (!sg || sg->frames != frames || sg->events != events)
				return dr_errf(errbuf, errlen, DNSREEL_E_INDEX,
					       "%s: frames table lists %" PRIu64 " frames, %" PRIu64
					       " events in seg/%06u.zst but its segments row says "
					       "%u, %" PRIu64,
					       path, frames, events, prev->segment,
					       sg ? sg->frames : 0, sg ? sg->events : 0);
			frames = events = 0;
		}
		if (!f)
			break;
		if (prev && f->segment == prev->segment && f->offset < prev->offset + prev->length)
			return dr_errf(errbuf, errlen, DNSREEL_E_INDEX,
				       "%s: frames table: seg/%06u.zst offset %" PRIu64
				       " overlaps the frame before it (listed twice?)",
				       path, f->segment, f->offset);
		if (!prev || f->segment != prev->segment) {
			sg = NULL;
			for (size_t k = 0; k < c->nsegs && !sg; k++)
				if (c->segs[k].segment == f->segment)
					sg = &c->segs[k];
		}
		if (sg && f->offset + f->length > sg->bytes)
			return dr_errf(errbuf, errlen, DNSREEL_E_INDEX,
				       "%s: frames table: seg/%06u.zst offset %" PRIu64
				       " ends past the %" PRIu64 " bytes its segments row says",
				       path, f->segment, f->offset, sg->bytes);
		frames++;
		events += f->events;
		prev = f;
	}
	uint64_t all_events = 0;
	for (size_t i = 0; i < c->nframes; i++)
		all_events += c->frames[i].fi.events;
	if ((c->info_frames >= 0 && (uint64_t)c->info_frames != c->nframes) ||
	    (c->info_events >= 0 && (uint64_t)c->info_events != all_events))
		return dr_errf(errbuf, errlen, DNSREEL_E_INDEX,
			       "%s: capture_info says %" PRId64 " frames, %" PRId64
			       " events; the frames table lists %zu, %" PRIu64,
			       path, c->info_frames, c->info_events, c->nframes, all_events);
	for (size_t k = 0; k < c->nsegs; k++) {
		bool listed = false;
		for (size_t i = 0; i < c->nframes && !listed; i++)
			listed = c->frames[i].fi.segment == c->segs[k].segment;
		if (!listed && c->segs[k].frames)
			return dr_errf(errbuf, errlen, DNSREEL_E_INDEX,
				       "%s: segments row of seg/%06u.zst says %u frames, the "
				       "frames table lists none",
				       path, c->segs[k].segment, c->segs[k].frames);
	}
	return 0;
}

static int load_db(sqlite3 *db, const char *path, struct dr_catalog *c, char *errbuf,
		   size_t errlen);

int dr_index_load(const char *path, struct dr_catalog *c, char *errbuf, size_t errlen)
{
	sqlite3 *db;
	int err = dr_index_open_ro(path, &db, errbuf, errlen);
	return err ? err : load_db(db, path, c, errbuf, errlen);
}

int dr_index_load_src(const struct dr_src *src, struct dr_catalog *c, char *errbuf, size_t errlen)
{
	sqlite3 *db;
	char path[4096];
	snprintf(path, sizeof(path), "%s/index.sqlite", src->path);
	int err = dr_index_open_src(src, &db, errbuf, errlen);
	return err ? err : load_db(db, path, c, errbuf, errlen);
}

/* Loads everything from db and closes it. */
static int load_db(sqlite3 *db, const char *path, struct dr_catalog *c, char *errbuf, size_t errlen)
{
	int err = exec1(db, "BEGIN"); /* one snapshot for all tables */
	if (!err)
		err = load_meta(db, c, path, errbuf, errlen);
	if (!err) {
		int r = dr_index_load_frames_after(db, c, 0, 0, false);
		err = r < 0 ? r : 0;
		if (err)
			dr_errf(errbuf, errlen, err, "%s: frames table: %s", path,
				err == -ENOMEM ? "out of memory" : "invalid row");
	}
	if (!err) {
		err = load_segments(db, c);
		if (err)
			dr_errf(errbuf, errlen, err, "%s: segments table: invalid row", path);
	}
	if (!err) {
		err = dr_index_load_context(db, c);
		if (err)
			dr_errf(errbuf, errlen, err, "%s: context tables: invalid row", path);
	}
	exec1(db, "COMMIT");
	sqlite3_close(db);
	if (!err)
		err = check_frames(c, path, errbuf, errlen);
	if (!err)
		dr_catalog_sort_frames(c);
	return err;
}
