/* Built-in reports of dnsreel-query: plain SQL over the dns table that users can print
 * (--report NAME --show-sql), read and change. */
#ifndef DNSREEL_REPORTS_H
#define DNSREEL_REPORTS_H

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

#endif
