/* Time text: RFC 3339 with fraction and offset, relative times, "now", raw ns, and output. */
#include <stdint.h>

#include "check.h"
#include "dnsreel.h"
#include "view.h"

static int64_t T(const char *s, int64_t now)
{
	int64_t v = -1;
	int rc = dnsreel_parse_time(s, now, &v);
	return rc < 0 ? -1 : v;
}

int main(void)
{
	const int64_t now = 1764144000000000000LL;  /* 2025-11-26T08:00:00Z */
	const int64_t base = 1725032615000000000LL; /* 2024-08-30T15:43:35Z */
	CHECK_INT(T("2024-08-30T15:43:35Z", now), base);
	CHECK_INT(T("2024-08-30T15:43:35.463173731Z", now), base + 463173731);
	CHECK_INT(T("2024-08-30T15:43:35.5Z", now), base + 500000000);
	CHECK_INT(T("2024-08-30t15:43:35z", now), base);
	CHECK_INT(T("2024-08-30 15:43:35Z", now), base);
	CHECK_INT(T("2024-08-30T17:43:35+02:00", now), base);
	CHECK_INT(T("2024-08-30T10:13:35.25-05:30", now), base + 250000000);
	CHECK_INT(T("2024-08-30T15:43:35.1234567891234Z", now), base + 123456789);
	CHECK_INT(T("2024-08-30T15:43Z", now), base - 35000000000LL);
	CHECK_INT(T("2024-08-30", now), 1724976000000000000LL);
	CHECK_INT(T("2024-08-30T15:43:35", now), base); /* no zone: UTC, as the man pages say */
	CHECK_INT(T("1970-01-01T00:00:00Z", now), 0);
	CHECK_INT(T("2000-02-29T00:00:00Z", now), 951782400000000000LL);
	CHECK_INT(T("now", now), now);
	CHECK_INT(T("NOW", now), now);
	CHECK_INT(T("-10m", now), now - 600000000000LL);
	CHECK_INT(T("10m", now), now - 600000000000LL);
	CHECK_INT(T("1h", now), now - 3600000000000LL);
	CHECK_INT(T("-1.5h", now), now - 5400000000000LL);
	CHECK_INT(T("30s", now), now - 30000000000LL);
	CHECK_INT(T("250ms", now), now - 250000000LL);
	CHECK_INT(T("2d", now), now - 172800000000000LL);
	CHECK_INT(T("1725032615463173731", now), base + 463173731);
	/* int64 ns end in 1677 and 2262: later or earlier dates are errors, never wrapped */
	CHECK_INT(T("2262-04-11T23:47:16Z", now), 9223372036000000000LL);
	CHECK_INT(T("2263-01-01T00:00:00Z", now), -1);
	CHECK_INT(T("9999-12-31T23:59:59Z", now), -1);
	CHECK_INT(T("0000-01-01", now), -1);
	CHECK_INT(T("1677-09-20T00:00:00Z", now), -1);
	CHECK_INT(T("1677-09-22T00:00:00Z", now), -9223286400000000000LL);
	CHECK_INT(T("nan", now), -1);
	CHECK_INT(T("-nanh", now), -1);
	CHECK_INT(T("300y", now), -1);
	CHECK_INT(T("1000000d", now), -1);
	CHECK_INT(T("2262-04-11T23:47:16.854775808Z", now), -1);
	/* refused */
	CHECK_INT(T("", now), -1);
	CHECK_INT(T("yesterday", now), -1);
	CHECK_INT(T("2024-13-30T15:43:35Z", now), -1);
	CHECK_INT(T("2024-08-30T25:43:35Z", now), -1);
	CHECK_INT(T("2024-08-30T15:43:35.Z", now), -1);
	CHECK_INT(T("2024-08-30T15:43:35Zjunk", now), -1);
	CHECK_INT(T("10parsecs", now), -1);
	CHECK_INT(T("99999999999999999999999", now), -1);

	char buf[64];
	CHECK_INT(dnsreel_format_time(base + 463173731, buf, sizeof(buf)), 30);
	CHECK_STR(buf, "2024-08-30T15:43:35.463173731Z");
	dnsreel_format_time(0, buf, sizeof(buf));
	CHECK_STR(buf, "1970-01-01T00:00:00.000000000Z");
	dnsreel_format_time(-1, buf, sizeof(buf));
	CHECK_STR(buf, "1969-12-31T23:59:59.999999999Z");
	dnsreel_format_time(951782400000000001LL, buf, sizeof(buf));
	CHECK_STR(buf, "2000-02-29T00:00:00.000000001Z");
	CHECK(dnsreel_format_time(base, buf, 10) < 0);
	/* round trip */
	for (int64_t t = base; t < base + 400LL * 86400 * 1000000000LL; t += 7777777777777LL) {
		dnsreel_format_time(t, buf, sizeof(buf));
		CHECK_INT(T(buf, now), t);
	}
	return check_done("test_timefmt");
}
