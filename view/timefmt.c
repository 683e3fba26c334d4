/* Wall-clock time text: RFC 3339 in and out, relative times ("-10m", "1h" ago), "now", raw ns. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "dnsreel.h"
#include "view.h"

#define NS_PER_S 1000000000LL

/* Days since 1970-01-01 of a proleptic Gregorian date (no timezone, no libc state). */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
	y -= m <= 2;
	const int64_t era = (y >= 0 ? y : y - 399) / 400;
	const unsigned yoe = (unsigned)(y - era * 400);
	const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

static void civil_from_days(int64_t z, int *y, unsigned *m, unsigned *d)
{
	z += 719468;
	const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
	const unsigned doe = (unsigned)(z - era * 146097);
	const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	const unsigned mp = (5 * doy + 2) / 153;
	*d = doy - (153 * mp + 2) / 5 + 1;
	*m = mp < 10 ? mp + 3 : mp - 9;
	*y = (int)((int64_t)yoe + era * 400 + (*m <= 2));
}

int dnsreel_format_time(int64_t wall_ns, char *buf, size_t buflen)
{
	int64_t sec = wall_ns / NS_PER_S, ns = wall_ns % NS_PER_S;
	if (ns < 0) {
		ns += NS_PER_S;
		sec--;
	}
	int64_t days = sec / 86400, rem = sec % 86400;
	if (rem < 0) {
		rem += 86400;
		days--;
	}
	int y;
	unsigned mo, d;
	civil_from_days(days, &y, &mo, &d);
	if (buflen < 31 || y < 0 || y > 9999)
		return DNSREEL_E_LIMIT;
	/* by hand: this runs once per printed event */
	unsigned v[6] = {
	    (unsigned)y,	 mo, d, (unsigned)(rem / 3600), (unsigned)(rem / 60 % 60),
	    (unsigned)(rem % 60)};
	char *o = buf;
	o[0] = (char)('0' + v[0] / 1000);
	o[1] = (char)('0' + v[0] / 100 % 10);
	o[2] = (char)('0' + v[0] / 10 % 10);
	o[3] = (char)('0' + v[0] % 10);
	static const char sep[] = "--T::";
	o += 4;
	for (int i = 1; i < 6; i++) {
		*o++ = sep[i - 1];
		*o++ = (char)('0' + v[i] / 10);
		*o++ = (char)('0' + v[i] % 10);
	}
	*o++ = '.';
	for (int i = 8; i >= 0; i--) {
		o[i] = (char)('0' + ns % 10);
		ns /= 10;
	}
	o += 9;
	*o++ = 'Z';
	*o = 0;
	return (int)(o - buf);
}

static int digits(const char **p, int n, int *out)
{
	int v = 0;
	for (int i = 0; i < n; i++) {
		if (!isdigit((unsigned char)(*p)[i]))
			return -1;
		v = v * 10 + ((*p)[i] - '0');
	}
	*p += n;
	*out = v;
	return 0;
}

static int parse_rfc3339(const char *s, int64_t *out)
{
	int y, mo, d, h = 0, mi = 0, se = 0;
	int64_t frac = 0;
	const char *p = s;
	if (digits(&p, 4, &y) || *p++ != '-' || digits(&p, 2, &mo) || *p++ != '-' ||
	    digits(&p, 2, &d))
		return DNSREEL_E_PARSE;
	if (mo < 1 || mo > 12 || d < 1 || d > 31)
		return DNSREEL_E_PARSE;
	int64_t off = 0;
	if (*p) {
		if (*p != 'T' && *p != 't' && *p != ' ')
			return DNSREEL_E_PARSE;
		p++;
		if (digits(&p, 2, &h) || *p++ != ':' || digits(&p, 2, &mi))
			return DNSREEL_E_PARSE;
		if (*p == ':') {
			p++;
			if (digits(&p, 2, &se))
				return DNSREEL_E_PARSE;
		}
		if (h > 23 || mi > 59 || se > 60)
			return DNSREEL_E_PARSE;
		if (*p == '.' || *p == ',') {
			p++;
			int nd = 0;
			if (!isdigit((unsigned char)*p))
				return DNSREEL_E_PARSE;
			while (isdigit((unsigned char)*p)) {
				if (nd < 9) {
					frac = frac * 10 + (*p - '0');
					nd++;
				}
				p++;
			}
			for (; nd < 9; nd++)
				frac *= 10;
		}
		if (*p == 'Z' || *p == 'z') {
			p++;
		} else if (*p == '+' || *p == '-') {
			int sign = *p == '-' ? -1 : 1, oh, om = 0;
			p++;
			if (digits(&p, 2, &oh))
				return DNSREEL_E_PARSE;
			if (*p == ':')
				p++;
			if (*p && digits(&p, 2, &om))
				return DNSREEL_E_PARSE;
			if (oh > 23 || om > 59)
				return DNSREEL_E_PARSE;
			off = sign * (oh * 3600 + om * 60);
		}
		/* no offset: taken as UTC, as the tools print UTC */
	}
	if (*p)
		return DNSREEL_E_PARSE;
	int64_t days = days_from_civil(y, (unsigned)mo, (unsigned)d);
	int64_t secs = days * 86400 + h * 3600 + mi * 60 + se - off;
	/* int64 ns reach only the years 1677..2262: refuse, never wrap into another date */
	if (secs > INT64_MAX / NS_PER_S || secs < INT64_MIN / NS_PER_S ||
	    (secs == INT64_MAX / NS_PER_S && frac > INT64_MAX % NS_PER_S))
		return DNSREEL_E_PARSE;
	*out = secs * NS_PER_S + frac;
	return 0;
}

/* "10m", "1.5h", "250ms", "30" (seconds). */
static int parse_duration(const char *s, int64_t *out)
{
	char *end;
	double v = strtod(s, &end);
	if (end == s || v < 0)
		return DNSREEL_E_PARSE;
	static const struct {
		const char *u;
		double mul;
	} units[] = {{"ns", 1},	    {"us", 1e3},   {"ms", 1e6},	   {"s", 1e9}, {"m", 60e9},
		     {"min", 60e9}, {"h", 3600e9}, {"d", 86400e9}, {"", 1e9}};
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
		if (strcasecmp(end, units[i].u) == 0) {
			double r = v * units[i].mul;
			if (!(r <= 9.2e18)) /* also NaN */
				return DNSREEL_E_PARSE;
			*out = (int64_t)r;
			return 0;
		}
	return DNSREEL_E_PARSE;
}

int dnsreel_parse_time(const char *s, int64_t now_wall_ns, int64_t *out_wall_ns)
{
	if (!s || !out_wall_ns)
		return DNSREEL_E_ARG;
	while (*s == ' ')
		s++;
	if (!*s)
		return DNSREEL_E_PARSE;
	if (strcasecmp(s, "now") == 0) {
		*out_wall_ns = now_wall_ns;
		return 0;
	}
	/* 4 digits and '-': a date */
	if (strlen(s) >= 10 && isdigit((unsigned char)s[0]) && s[4] == '-')
		return parse_rfc3339(s, out_wall_ns);
	/* only digits: ns since the epoch */
	size_t nd = strspn(s, "0123456789");
	if (nd == strlen(s) && nd > 10) {
		if (nd > 19)
			return DNSREEL_E_PARSE;
		unsigned long long v = strtoull(s, NULL, 10);
		if (v > (unsigned long long)INT64_MAX)
			return DNSREEL_E_PARSE;
		*out_wall_ns = (int64_t)v;
		return 0;
	}
	/* relative: "-10m" or "10m", both mean that long ago */
	int64_t d;
	if (parse_duration(s[0] == '-' ? s + 1 : s, &d) < 0)
		return DNSREEL_E_PARSE;
	*out_wall_ns = now_wall_ns - d;
	return 0;
}

int dnsreel_window_parse(const char *since, const char *until, int64_t now_wall_ns,
			 int64_t *since_ns, int64_t *until_ns, char *errbuf, size_t errlen)
{
	*since_ns = *until_ns = 0;
	if (since && dnsreel_parse_time(since, now_wall_ns, since_ns) < 0) {
		snprintf(errbuf, errlen, "--since: cannot read time '%s'", since);
		return DNSREEL_E_ARG;
	}
	if (until && dnsreel_parse_time(until, now_wall_ns, until_ns) < 0) {
		snprintf(errbuf, errlen, "--until: cannot read time '%s'", until);
		return DNSREEL_E_ARG;
	}
	if (since && until && *since_ns > *until_ns) {
		snprintf(errbuf, errlen, "--since '%s' is after --until '%s'", since, until);
		return DNSREEL_E_ARG;
	}
	return 0;
}
