/* Number, size and duration parsing: suffixes accepted, garbage and overflow refused. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "check.h"

#include "cli.h"


static const struct dnsreel_opt opts[] = {
	{.id = 'o', .lname = "output", .sname = 'o', .arg = DNSREEL_REQ_ARG, .argname = "DIR",
	 .help = "write here"},
	{.id = 1000, .lname = "live", .arg = DNSREEL_NO_ARG, .help = "print live",
	 .section = "Output"},
	{0},
};
static const struct dnsreel_tool tool = {.name = "t", .usage = "X", .summary = "s", .opts = opts};

int main(void)
{
	uint64_t u;
	int64_t ns;
	CHECK(dnsreel_parse_u64("42", 0, 100, &u) == 0 && u == 42);
	CHECK(dnsreel_parse_u64("0x10", 0, 100, &u) == 0 && u == 16);
	CHECK(dnsreel_parse_u64("101", 0, 100, &u) == -ERANGE);
	CHECK(dnsreel_parse_u64("-1", 0, 100, &u) == -EINVAL);
	CHECK(dnsreel_parse_u64("12abc", 0, 100, &u) == -EINVAL);
	CHECK(dnsreel_parse_u64("", 0, 100, &u) == -EINVAL);
	CHECK(dnsreel_parse_u64("99999999999999999999999", 0, UINT64_MAX, &u) == -ERANGE);

	CHECK(dnsreel_parse_size("64M", &u) == 0 && u == 64ull << 20);
	CHECK(dnsreel_parse_size("1G", &u) == 0 && u == 1ull << 30);
	CHECK(dnsreel_parse_size("2GiB", &u) == 0 && u == 2ull << 30);
	CHECK(dnsreel_parse_size("512k", &u) == 0 && u == 512ull << 10);
	CHECK(dnsreel_parse_size("100", &u) == 0 && u == 100);
	CHECK(dnsreel_parse_size("1.5K", &u) == 0 && u == 1536);
	CHECK(dnsreel_parse_size("10X", &u) == -EINVAL);
	CHECK(dnsreel_parse_size("-5M", &u) == -EINVAL);
	CHECK(dnsreel_parse_size("99999999T", &u) == -ERANGE);

	CHECK(dnsreel_parse_duration("500ms", &ns) == 0 && ns == 500000000);
	CHECK(dnsreel_parse_duration("2s", &ns) == 0 && ns == 2000000000);
	CHECK(dnsreel_parse_duration("2", &ns) == 0 && ns == 2000000000);
	CHECK(dnsreel_parse_duration("10m", &ns) == 0 && ns == 600000000000);
	CHECK(dnsreel_parse_duration("1h", &ns) == 0 && ns == 3600000000000);
	CHECK(dnsreel_parse_duration("250us", &ns) == 0 && ns == 250000);
	CHECK(dnsreel_parse_duration("1y", &ns) == -EINVAL);
	CHECK(dnsreel_parse_duration("s", &ns) == -EINVAL);

	/* option table: long, short, attached and separate arguments, operands after options */
	char *argv[] = {"t", "--output=a", "-o", "b", "--live", "-v", "x.reel", NULL};
	struct dnsreel_cli c;
	dnsreel_cli_init(&c, &tool, 7, argv);
	int rc, ex = -1, seen_o = 0, seen_live = 0;
	while ((rc = dnsreel_cli_next(&c, &ex)) != -1) {
		if (rc == 'o')
			seen_o++;
		else if (rc == 1000)
			seen_live++;
		else
			break;
	}
	CHECK(rc == -1);
	CHECK(seen_o == 2 && seen_live == 1);
	CHECK(c.verbosity == 1);
	CHECK(c.optind == 6 && strcmp(argv[c.optind], "x.reel") == 0);
	dnsreel_cli_free(&c);

	if (check_failures)
		fprintf(stderr, "%d check_failures\n", check_failures);
	else
		printf("ok: cli parsing\n");
	return check_failures != 0;
}
