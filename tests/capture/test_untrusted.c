/* Unit tests of the readers on hostile input: block bodies with crafted event counts and
 * header times, and the checked boot->wall time arithmetic.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"

#include "capture.h"
#include "capture_int.h"
#include "dnsreel.h"

/* A real two-event block body from the encoder (event times 0 and 1000). */
static void two_event_body(struct dr_buf *body)
{
	static const uint8_t q[] = {0x12, 0x34, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0,
				    1,    'a',  0, 0, 1, 0, 1};
	struct dnsreel_event ev[2];
	memset(ev, 0, sizeof(ev));
	for (int i = 0; i < 2; i++) {
		ev[i].ts_ns = i * 1000;
		ev[i].netns = 4026531840u;
		ev[i].ip_version = 4;
		ev[i].proto = 17;
		ev[i].src_port = 5353;
		ev[i].dst_port = 53;
		ev[i].payload = q;
		ev[i].cap_len = ev[i].orig_len = sizeof(q);
	}
	struct dr_enc *e;
	CHECK(dr_enc_new(&e) == 0);
	CHECK(dr_enc_block(e, ev, 2, body) == 0);
	dr_enc_free(e);
}

static void test_block_times(void)
{
	struct dr_buf body = {0};
	two_event_body(&body);
	struct dnsreel_event *ev;
	uint8_t *arena;
	CHECK_INT(dr_dec_block(body.p, body.len, 2, 5, &ev, &arena), 0);
	CHECK_INT(ev[1].ts_ns, 1005);
	free(ev);
	free(arena);
	/* the second event would land past INT64_MAX: damage, not signed overflow (UBSan) */
	CHECK_INT(dr_dec_block(body.p, body.len, 2, INT64_MAX - 5, &ev, &arena), DNSREEL_E_CORRUPT);
	CHECK_INT(dr_dec_block(body.p, body.len, 2, INT64_MIN, &ev, &arena), 0);
	if (ev)
		CHECK_INT(ev[1].ts_ns, INT64_MIN + 1000);
	free(ev);
	free(arena);
	dr_buf_free(&body);
}

/* A block header claiming a million events over a tiny body is refused before anything is
 * allocated for a million events: run with the address space capped far below that. */
static void test_block_count(void)
{
	struct dr_buf body = {0};
	two_event_body(&body);
	struct dnsreel_event *ev;
	uint8_t *arena;
	CHECK_INT(dr_dec_block(body.p, body.len, 3, 0, &ev, &arena), DNSREEL_E_CORRUPT);
	CHECK_INT(dr_dec_block(body.p, body.len, 1, 0, &ev, &arena), DNSREEL_E_CORRUPT);
#if !defined(__SANITIZE_ADDRESS__) && !defined(__SANITIZE_UNDEFINED__)
	pid_t pid = fork();
	if (pid == 0) {
		struct rlimit rl = {64u << 20, 64u << 20};
		setrlimit(RLIMIT_AS, &rl);
		int err = dr_dec_block(body.p, body.len, DR_MAX_BLOCK_EVENTS, 0, &ev, &arena);
		_exit(err == DNSREEL_E_CORRUPT ? 0 : err == -ENOMEM ? 2 : 3);
	}
	int status = 0;
	waitpid(pid, &status, 0);
	CHECKF(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	       "1e6 events from a 2-event body: child status %d (2 = allocated first)", status);
#endif
	dr_buf_free(&body);
}

int main(void)
{
	test_block_times();
	test_block_count();
	return check_failures ? 1 : 0;
}
