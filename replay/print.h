/* Printers for decoded DNS records (struct dnsreel_rec) in the output formats trace_dns users
 * know: aligned columns, JSON (one array), JSON lines, and CSV. Shared by dnsreel-replay and
 * dnsreel-record --live. Output is buffered inside the printer; it reaches the FILE on
 * dnsreel_printer__flush(), when the buffer fills, at close, and after every record when the
 * stream is a terminal (so a live view is not delayed).
 */
#ifndef DNSREEL_PRINT_H
#define DNSREEL_PRINT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "view.h"

enum dnsreel_output {
	DNSREEL_OUT_COLUMNS,
	DNSREEL_OUT_JSON,
	DNSREEL_OUT_JSONL,
	DNSREEL_OUT_CSV,
};

struct dnsreel_printer;

struct dnsreel_printer_opts {
	size_t sz; /* sizeof(struct dnsreel_printer_opts) */
	enum dnsreel_output output;
	/* Columns (columns, csv) or keys (json, jsonl) to print, copied. NULL = defaults:
	 * columns: trace_dns's default columns; csv: timestamp plus every trace_dns field;
	 * json/jsonl: the full trace_dns JSON layout (nested src, dst, proc, k8s, ...). With
	 * fields given, json/jsonl print a flat object keyed by field name. */
	const enum dnsreel_field_id *fields;
	size_t nfields;
	bool wide;	/* columns: never cut long values */
	bool no_header; /* columns and csv: no header row */
	FILE *out;	/* NULL = stdout; not closed by the printer */
};

/* Creates a printer. Returns 0, DNSREEL_E_ARG (bad output or field id), or -ENOMEM.
 * *out is owned by the caller: release with dnsreel_printer__close(). */
int dnsreel_printer__new(struct dnsreel_printer **out, const struct dnsreel_printer_opts *o);
/* Formats one record. Returns 0 or -errno when writing to the stream failed. */
int dnsreel_printer__print(struct dnsreel_printer *p, const struct dnsreel_rec *rec);
/* Writes buffered output to the stream and fflush()es it. 0 or -errno. */
int dnsreel_printer__flush(struct dnsreel_printer *p);
/* Ends a JSON array (an empty "[]" when nothing was printed), flushes and frees p, even on
 * error. NULL ok. Returns 0 or the first write error seen. */
int dnsreel_printer__close(struct dnsreel_printer *p);

/* "columns" | "json" | "jsonl" | "csv" -> *out. 0 or DNSREEL_E_ARG. */
int dnsreel_output_parse(const char *s, enum dnsreel_output *out);
/* "name,k8s.podName, src" -> field ids (case-insensitive, '.' or '_', spaces ignored).
 * At most max ids; *n receives the count. On an unknown or empty name or too many names
 * returns DNSREEL_E_ARG (DNSREEL_E_LIMIT when over max) and writes why into err. */
int dnsreel_fields_parse(const char *csv, enum dnsreel_field_id *ids, size_t max, size_t *n,
			 char *err, size_t errlen);

/* trace_dns's default columns (k8s.node ... addresses), for callers that want to extend them. */
const enum dnsreel_field_id *dnsreel_default_columns(size_t *n);

/* Formats wall_ns as RFC 3339 UTC with 9 fraction digits and Z
 * ("2024-08-30T15:43:35.463173731Z"). buf needs >= 31 bytes. Returns the length. Faster than
 * dnsreel_format_time() for streams of nearby times: the calendar part is cached per second. */
struct dnsreel_timefmt {
	int64_t sec;
	char date[24];
};
size_t dnsreel_timefmt(struct dnsreel_timefmt *cache, int64_t wall_ns, char *buf);

#endif
