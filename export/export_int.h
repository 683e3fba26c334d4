/* dnsreel-export's parts: RowBinary encoding, the ClickHouse HTTP client, the schema, the rows
 * of events, answers and flows, the export state read back from ClickHouse, and the built-in
 * reports in ClickHouse SQL. Private to the tool.
 */
#ifndef DNSREEL_EXPORT_INT_H
#define DNSREEL_EXPORT_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "flows.h"
#include "parse_int.h"
#include "view.h"

/* ---- RowBinary ------------------------------------------------------------------------------ */

/* A growing byte buffer; a failed allocation is kept in err and later puts do nothing. */
struct rb {
	uint8_t *p;
	size_t n, cap;
	int err;
	uint64_t rows;
};

void rb_free(struct rb *b);
void rb_reset(struct rb *b);
void rb_bytes(struct rb *b, const void *p, size_t n);
void rb_u8(struct rb *b, uint8_t v);
void rb_u16(struct rb *b, uint16_t v);
void rb_u32(struct rb *b, uint32_t v);
void rb_u64(struct rb *b, uint64_t v);
void rb_i64(struct rb *b, int64_t v);
/* String: LEB128 length, then the bytes. NULL is "". */
void rb_str(struct rb *b, const char *s);
void rb_strn(struct rb *b, const char *s, size_t n);
/* FixedString(n): s cut or zero-padded to n bytes. */
void rb_fixed(struct rb *b, const char *s, size_t n);
/* Nullable(Int64): a null flag byte, then the value when not null. */
void rb_nint64(struct rb *b, bool null, int64_t v);
/* UUID from its 16 bytes in text order (as RFC 4122 prints them). */
void rb_uuid(struct rb *b, const uint8_t u[16]);

/* ---- ClickHouse over HTTP ------------------------------------------------------------------- */

struct chx;

/* The tool's main calls curl_global_init() first.
 * url: "http://host:8123/" (user:password@ and https allowed; libcurl does the rest). */
int chx__new(struct chx **out, const char *url);
void chx__free(struct chx *c);
/* POSTs body (may be NULL) with query in the URL's query parameter (SQL text; for INSERT the
 * data follows in body). settings: extra "&name=value" URL parameters or NULL. Response body
 * in *resp (owned by c, NUL-terminated, valid until the next call). Returns 0, or -EIO with
 * chx__error() naming what failed: the server's exception text, or libcurl's (connection
 * refused, reset, timeout). */
int chx__post(struct chx *c, const char *query, const char *settings, const void *body, size_t len,
	      const char **resp, size_t *resp_len);
const char *chx__error(const struct chx *c);
/* Whether the last failure was the connection (refused, reset, timeout) rather than an answer
 * of the server. */
bool chx__gone(const struct chx *c);

/* ---- schema --------------------------------------------------------------------------------- */

/* The DDL of every table, one statement per entry, for database db (also CREATE DATABASE).
 * Returns the number of statements written into out[] (at most max); each is malloc'd. */
size_t chx_schema(const char *db, char **out, size_t max);
/* The settings --create sends with the DDL (LowCardinality is experimental in 18.x). */
#define CHX_CREATE_SETTINGS "&allow_experimental_low_cardinality_type=1"

/* ---- rows ----------------------------------------------------------------------------------- */

/* Where an event lies in its capture: the key that makes exporting it twice detectable. */
struct chx_pos {
	const uint8_t *capture_id; /* 16 bytes */
	uint32_t segment;
	uint64_t frame_offset;
	uint32_t event; /* index in its frame */
	uint8_t sub;	/* message of that packet (TCP can complete several) */
	uint64_t batch;
};

/* Column lists of the INSERTs, in the order the encoders write. */
extern const char chx_events_cols[];
extern const char chx_answers_cols[];
extern const char chx_flows_cols[];

void chx_event_row(struct rb *b, const struct chx_pos *pos, const struct dnsreel_rec *rec);
/* One row per RR of a response; returns the rows written. dbuf grows as RDATA needs. */
uint32_t chx_answer_rows(struct rb *b, const struct chx_pos *pos, const struct dnsreel_rec *rec,
			 char **dbuf, size_t *dbuf_cap);
/* The flows table's row, with the query tool's flows columns. */
void chx_flow_row(struct rb *b, const struct dnsreel_ctx *ctx, const uint8_t capture_id[16],
		  uint64_t batch, const struct dnsreel_flow *f);

/* ---- reports -------------------------------------------------------------------------------- */

struct chx_report {
	const char *name;
	const char *sql; /* "{db}" stands for the database */
};
const struct chx_report *chx_reports(size_t *count);
/* The report's SQL with the database filled in (malloc'd), NULL if unknown or out of memory. */
char *chx_report_sql(const char *name, const char *db);

#endif
