/* Invariant: whatever a server (or something posing as one) answers, dnsreel-export's TSV
 * reader never reads or writes out of bounds and hands out exactly nf NUL-terminated fields per
 * row, no longer together than the line they came from; it returns 0, the callback's value or
 * a negative code. Any capture id text either is refused or parses to 16 bytes that print back
 * as the same text (lowercased).
 *
 * Input: the first byte picks the field count (1..16, from its low 4 bits); the rest is the
 * server's answer, and its first 36 bytes (cut at a NUL) are also tried as a capture id.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "parse_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define REQUIRE(c)                                                                                 \
	do {                                                                                       \
		if (!(c))                                                                          \
			abort();                                                                   \
	} while (0)

struct seen {
	size_t nf, rows, len;
};

static int on_row(void *arg, char **f, size_t nf)
{
	struct seen *s = arg;
	size_t total = 0;

	REQUIRE(nf == s->nf);
	for (size_t i = 0; i < nf; i++)
		total += strlen(f[i]) + 1;
	REQUIRE(total <= s->len + 1);
	return ++s->rows > 1000 ? 1 : 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	struct seen s = {(size_t)(data[0] & 15) + 1, 0, size - 1};
	char *buf = malloc(size);

	if (!buf)
		return 0;
	memcpy(buf, data + 1, size - 1);
	int r = chx_tsv_rows(buf, size - 1, s.nf, on_row, &s);
	REQUIRE(r <= 1);

	char id[37];
	size_t n = size - 1 < 36 ? size - 1 : 36;
	uint8_t u[16];
	memcpy(id, data + 1, n);
	id[n] = 0;
	if (uuid_parse(id, u) == 0) {
		char back[40];
		snprintf(back, sizeof(back),
			 "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
			 u[0], u[1], u[2], u[3], u[4], u[5], u[6], u[7], u[8], u[9], u[10], u[11],
			 u[12], u[13], u[14], u[15]);
		for (size_t i = 0; i < 36; i++)
			REQUIRE(back[i] == (id[i] >= 'A' && id[i] <= 'F' ? id[i] + 32 : id[i]));
	}
	free(buf);
	return 0;
}
