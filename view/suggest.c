/* "Did you mean ...?" for unknown field names and values: the closest known spelling by edit
 * distance, so a typo gets an answer instead of a filter that silently matches nothing. */
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "ctx_priv.h"
#include "dns.h"
#include "dnsreel.h"

/* Optimal string alignment distance, case-insensitive, '.' and '_' alike (field spellings). */
static unsigned distance(const char *a, const char *b)
{
	size_t n = strlen(a), m = strlen(b);
	if (n > 63 || m > 63)
		return 99;
	unsigned d[64][64];
	for (size_t i = 0; i <= n; i++)
		d[i][0] = (unsigned)i;
	for (size_t j = 0; j <= m; j++)
		d[0][j] = (unsigned)j;
	for (size_t i = 1; i <= n; i++)
		for (size_t j = 1; j <= m; j++) {
			int ca = tolower((unsigned char)a[i - 1]),
			    cb = tolower((unsigned char)b[j - 1]);
			if (ca == '_')
				ca = '.';
			if (cb == '_')
				cb = '.';
			unsigned best = d[i - 1][j - 1] + (ca != cb);
			if (d[i - 1][j] + 1 < best)
				best = d[i - 1][j] + 1;
			if (d[i][j - 1] + 1 < best)
				best = d[i][j - 1] + 1;
			if (i > 1 && j > 1 && ca == tolower((unsigned char)b[j - 2]) &&
			    tolower((unsigned char)a[i - 2]) == cb && d[i - 2][j - 2] + 1 < best)
				best = d[i - 2][j - 2] + 1;
			d[i][j] = best;
		}
	return d[n][m];
}

/* Keeps c when it is closer to word than *best; close enough means within a third of the
 * word (at least 2 edits), so unrelated names are never offered. */
static void consider(const char *word, const char *c, const char **best, unsigned *bd)
{
	if (!c || !*c)
		return;
	unsigned d = distance(word, c);
	size_t len = strlen(word);
	unsigned limit = len / 3 > 2 ? (unsigned)(len / 3) : 2;
	if (d <= limit && d < *bd) {
		*best = c;
		*bd = d;
	}
}

const char *dnsreel__suggest_field(const char *name)
{
	size_t n;
	const struct dnsreel_field_def *f = dnsreel_fields(&n);
	const char *best = NULL;
	unsigned bd = 99;
	for (size_t i = 0; i < n; i++)
		consider(name, f[i].name, &best, &bd);
	return best;
}

static const char *const rcode_mnemonics[] = {"NOERROR",  "FORMERR", "SERVFAIL",
					      "NXDOMAIN", "NOTIMP",  "REFUSED"};

bool dnsreel__value_known(enum dnsreel_field_id f, const char *value, char *hint, size_t len)
{
	const char *best = NULL;
	unsigned bd = 99;
	int code = -1;
	switch (f) {
	case DNSREEL_F_RCODE:
		if (dnsreel_dns_rcode_from_name(value) >= 0)
			return true;
		for (int i = 0; i < 24; i++)
			consider(value, dnsreel_dns_rcode_name((uint16_t)i), &best, &bd);
		for (size_t i = 0; i < sizeof(rcode_mnemonics) / sizeof(rcode_mnemonics[0]); i++)
			consider(value, rcode_mnemonics[i], &best, &bd);
		if (best)
			code = dnsreel_dns_rcode_from_name(best);
		if (code >= 0 && code < 6)
			snprintf(hint, len, "unknown rcode '%s' (did you mean %s / %s?)", value,
				 rcode_mnemonics[code], dnsreel_dns_rcode_name((uint16_t)code));
		else
			snprintf(hint, len,
				 "unknown rcode '%s' (names as trace_dns prints them: "
				 "Success, NameError, ServerFailure, Refused, ...; or a number)",
				 value);
		return false;
	case DNSREEL_F_QTYPE:
		if (dnsreel_dns_type_from_name(value) >= 0)
			return true;
		for (int i = 1; i < 300; i++) {
			const char *t = dnsreel_dns_type_name((uint16_t)i);
			if (t && strncmp(t, "TYPE", 4))
				consider(value, t, &best, &bd);
		}
		break;
	case DNSREEL_F_OPCODE:
		for (int i = 0; i < 16; i++) {
			const char *o = dnsreel_dns_opcode_name((uint8_t)i);
			if (o && !strcasecmp(o, value))
				return true;
			consider(value, o, &best, &bd);
		}
		break;
	case DNSREEL_F_PKT_TYPE:
		for (unsigned i = 0; i < 8; i++) {
			if (!strcasecmp(dnsreel_pkt_type_name(i), value))
				return true;
			consider(value, dnsreel_pkt_type_name(i), &best, &bd);
		}
		if (!strcasecmp(value, "DNSTAP"))
			return true;
		break;
	case DNSREEL_F_PROTO:
		if (!strcasecmp(value, "udp") || !strcasecmp(value, "tcp"))
			return true;
		consider(value, "UDP", &best, &bd);
		consider(value, "TCP", &best, &bd);
		break;
	default:
		return true;
	}
	const struct dnsreel_field_def *d = &dnsreel_fields(NULL)[f];
	if (best)
		snprintf(hint, len, "unknown %s '%s' (did you mean %s?)", d->name, value, best);
	else
		snprintf(hint, len, "unknown %s '%s'", d->name, value);
	return false;
}
