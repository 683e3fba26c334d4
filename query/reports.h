/* Built-in reports of dnsreel-query: plain SQL over the flows and dns tables that users can print
 * (--report NAME --show-sql), read and change. */
#ifndef DNSREEL_REPORTS_H
#define DNSREEL_REPORTS_H

#include <stdbool.h>
#include <stddef.h>

struct dnsreel_report {
	const char *name;  /* "nxdomain" */
	const char *title; /* one line */
	const char *sql;   /* one or more statements, commented */
};

/* The whole list (static storage). */
const struct dnsreel_report *dnsreel_reports(size_t *count);
/* By name; NULL when unknown. */
const struct dnsreel_report *dnsreel_report_find(const char *name);
/* The report's SQL to run: with a capture column when several captures are queried. malloc'd
 * (the caller frees it); NULL when out of memory. */
char *dnsreel_report_sql(const struct dnsreel_report *r, bool captures);

#endif
