/* Cost of -F regular expressions on a hostile question name (NAME_LEN 'w's then ".test."):
 * dnsreel's filter (PCRE2 DFA matcher, back-references refused) against glibc's POSIX regexec
 * on the same text, per pattern, with the ratio. glibc runs in a child killed after 10 s, so a
 * pattern that runs for minutes shows as ">10 s". Usage: bench_filter [NAME_LEN (default 60)]
 */
#include <regex.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "dns.h"
#include "view.h"

static double now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* Seconds per glibc regexec of re on s, run in a child with a 10 s limit; -1 on timeout. */
static double glibc_once(const char *re, const char *s)
{
	int fd[2];
	if (pipe(fd))
		return -2;
	pid_t pid = fork();
	if (pid == 0) {
		regex_t r;
		double t0 = now(), dt = -3;
		if (regcomp(&r, re, REG_EXTENDED | REG_NOSUB) == 0) {
			/* averaged over 1000 runs like dnsreel's, unless one run is already slow */
			t0 = now();
			regexec(&r, s, 0, NULL, 0);
			dt = now() - t0;
			if (dt < 1e-3) {
				t0 = now();
				for (int k = 0; k < 1000; k++)
					regexec(&r, s, 0, NULL, 0);
				dt = (now() - t0) / 1000;
			}
		}
		if (write(fd[1], &dt, sizeof(dt)) != sizeof(dt))
			_exit(1);
		_exit(0);
	}
	close(fd[1]);
	double dt = -1, t0 = now();
	int st;
	while (waitpid(pid, &st, WNOHANG) == 0) {
		if (now() - t0 > 10) {
			kill(pid, SIGKILL);
			waitpid(pid, &st, 0);
			close(fd[0]);
			return -1;
		}
		usleep(1000);
	}
	if (read(fd[0], &dt, sizeof(dt)) != sizeof(dt))
		dt = -2;
	close(fd[0]);
	return dt;
}

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 60;
	if (n < 1 || n > 63)
		n = 60;
	/* query for WWW...W.test. A */
	uint8_t msg[128] = {0x12, 0x34, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0};
	size_t o = 12;
	msg[o++] = (uint8_t)n;
	memset(msg + o, 'w', (size_t)n);
	o += (size_t)n;
	memcpy(msg + o, "\4test\0\0\1\0\1", 11);
	o += 11;
	char text[80];
	memset(text, 'w', (size_t)n);
	snprintf(text + n, sizeof(text) - (size_t)n, ".test.");

	struct dnsreel_ctx *ctx;
	dnsreel_ctx__new(&ctx);
	struct dnsreel_event ev;
	memset(&ev, 0, sizeof(ev));
	ev.ip_version = 4;
	ev.proto = 17;
	ev.payload = msg;
	ev.cap_len = ev.orig_len = (uint32_t)o;
	struct dnsreel_rec rec;
	memset(&rec, 0, sizeof(rec));
	rec.ctx = ctx;
	rec.ev = &ev;
	rec.msg = msg;
	rec.msg_len = (uint32_t)o;
	dnsreel_dns_parse(msg, o, &rec.dns);

	static const char *const pats[] = {
	    "example",
	    "^w+\\.test\\.$",
	    "^((w|ww)+)+x$",
	    "(w|ww)*(w|ww)*(w|ww)*x",
	    "(w|ww)*(w|ww)*(w|ww)*\\1\\2x",
	    "(.*)(.*)(.*)(.*)\\4\\3\\2\\1x",
	};
	printf("name: %d 'w's + .test. (%zu bytes)\n", n, strlen(text));
	printf("%-34s %14s %14s %14s\n", "pattern", "dnsreel_ns", "glibc_ns", "glibc/dnsreel");
	for (size_t i = 0; i < sizeof(pats) / sizeof(pats[0]); i++) {
		char expr[128], err[256] = "";
		snprintf(expr, sizeof(expr), "name~%s", pats[i]);
		struct dnsreel_filter *f;
		dnsreel_filter__new(&f);
		int rc = dnsreel_filter__add(f, expr, err, sizeof(err));
		double d = -1;
		if (rc == 0) {
			int reps = 1000;
			double t0 = now();
			for (int k = 0; k < reps; k++)
				(void)dnsreel_filter__match(f, &rec);
			d = (now() - t0) / reps;
		}
		dnsreel_filter__free(f);
		double g = glibc_once(pats[i], text);
		char ds[32], gs[32], rs[32];
		snprintf(ds, sizeof(ds), rc ? "refused" : "%.0f", d * 1e9);
		snprintf(gs, sizeof(gs), g == -1 ? ">10 s" : "%.0f", g * 1e9);
		if (rc || g < 0 || d <= 0)
			snprintf(rs, sizeof(rs), "-");
		else
			snprintf(rs, sizeof(rs), "%.1f", g / d);
		printf("%-34s %14s %14s %14s\n", pats[i], ds, gs, rs);
	}
	dnsreel_ctx__free(ctx);
	return 0;
}
