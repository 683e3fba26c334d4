/* Parsers of what dnsreel-export reads from outside: capture ids and the server's TSV. */
#include <stdbool.h>
#include <string.h>

#include "dnsreel.h"
#include "parse_int.h"

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int uuid_parse(const char *s, uint8_t out[16])
{
	size_t k = 0;

	if (strnlen(s, 37) != 36)
		return DNSREEL_E_PARSE;
	for (size_t i = 0; i < 36; i++) {
		bool dash = i == 8 || i == 13 || i == 18 || i == 23;
		if (dash != (s[i] == '-'))
			return DNSREEL_E_PARSE;
		if (dash)
			continue;
		int h = hexval(s[i]);
		if (h < 0)
			return DNSREEL_E_PARSE;
		if (k % 2)
			out[k / 2] = (uint8_t)(out[k / 2] | h);
		else
			out[k / 2] = (uint8_t)(h << 4);
		k++;
	}
	return 0;
}

/* ---- TSV ------------------------------------------------------------------------------------ */

int chx_tsv_rows(const char *s, size_t len, size_t nf,
		 int (*fn)(void *arg, char **fields, size_t nf), void *arg)
{
	char line[4096];
	char *fields[16];
	size_t i = 0;

	if (nf == 0 || nf > 16)
		return DNSREEL_E_ARG;
	while (i < len) {
		size_t e = i, n = 0, k = 0;

		while (e < len && s[e] != '\n')
			e++;
		if (e - i >= sizeof(line))
			return DNSREEL_E_LIMIT;
		fields[k++] = line;
		for (size_t j = i; j < e; j++) {
			char c = s[j];
			if (c == '\t') {
				line[n++] = 0;
				if (k == nf)
					return DNSREEL_E_PARSE;
				fields[k++] = line + n;
				continue;
			}
			if (c == '\\' && j + 1 < e) {
				c = s[++j];
				c = c == 't' ? '\t' : c == 'n' ? '\n' : c == '0' ? 0 : c;
			}
			if (c == 0)
				return DNSREEL_E_PARSE;
			line[n++] = c;
		}
		line[n] = 0;
		i = e + 1;
		if (k == 1 && !line[0] && e == len)
			break;
		if (k != nf)
			return DNSREEL_E_PARSE;
		int r = fn(arg, fields, nf);
		if (r)
			return r;
	}
	return 0;
}
