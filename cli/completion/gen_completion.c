/* Build-time helper: writes the bash completion script from its template, with the trace_dns
 * field names of the library's field table in place of @FIELDS@, so they never drift.
 * Usage: gen_completion TEMPLATE OUT */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "view.h"

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: gen_completion TEMPLATE OUT\n");
		return 2;
	}
	FILE *in = fopen(argv[1], "r");
	if (!in) {
		perror(argv[1]);
		return 1;
	}
	FILE *out = fopen(argv[2], "w");
	if (!out) {
		perror(argv[2]);
		fclose(in);
		return 1;
	}
	size_t n;
	const struct dnsreel_field_def *f = dnsreel_fields(&n);
	char line[4096];
	while (fgets(line, sizeof(line), in)) {
		char *at = strstr(line, "@FIELDS@");
		if (!at) {
			fputs(line, out);
			continue;
		}
		fwrite(line, 1, (size_t)(at - line), out);
		for (size_t i = 0; i < n; i++)
			fprintf(out, "%s%s", i ? " " : "", f[i].name);
		fputs(at + strlen("@FIELDS@"), out);
	}
	int err = ferror(in) || fclose(out) != 0;
	fclose(in);
	if (err) {
		fprintf(stderr, "gen_completion: writing %s failed\n", argv[2]);
		return 1;
	}
	return 0;
}
