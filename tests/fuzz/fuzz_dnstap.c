/* Invariant: any bytes given as a dnstap Frame Streams file, or as one Dnstap protobuf frame,
 * never crash, never read out of bounds, never leak; a stream either ends cleanly or fails
 * with DNSREEL_E_CORRUPT / DNSREEL_E_TRUNCATED and a message naming a byte offset (or that
 * it is empty); a message that decodes is a DNSTAP event whose payload lies within the input.
 *
 * Input: the low bit of the first byte selects the mode.
 *  0: the rest is a whole Frame Streams file for dnsreel_dnstap_reader (control frames, data
 *     frames, damage); every data frame is decoded as a dnstap message.
 *  1: the rest is one data frame for dnsreel_dnstap_msg__decode().
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "dnsreel.h"
#include "dnstap.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_msg(struct dnsreel_dnstap_msg *m, const uint8_t *buf, size_t len)
{
	char err[256];
	int e = dnsreel_dnstap_msg__decode(m, buf, len, 1000, err, sizeof(err));
	if (e == 0) {
		const struct dnsreel_event *ev = &m->ev;
		if (ev->pkt_type != DNSREEL_PKT_DNSTAP || !(ev->flags & DNSREEL_EV_DNSTAP) ||
		    ev->ifindex < 1 || ev->ifindex > DNSREEL_DNSTAP_TYPE_MAX ||
		    ev->cap_len != ev->orig_len || ev->comm[DNSREEL_COMM_LEN - 1])
			abort();
		volatile uint8_t sink = 0;
		for (uint32_t k = 0; k < ev->cap_len; k++)
			sink ^= ev->payload[k];
		(void)sink;
	} else if (e != DNSREEL_E_PARSE && e != -ENOMEM) {
		abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	struct dnsreel_dnstap_msg m = {0};
	if (data[0] & 1) {
		check_msg(&m, data + 1, size - 1);
		dnsreel_dnstap_msg__free(&m);
		return 0;
	}
	int fd = memfd_create("fuzz_dnstap", MFD_CLOEXEC);
	if (fd < 0)
		return 0;
	if (size > 1 && write(fd, data + 1, size - 1) != (ssize_t)(size - 1)) {
		close(fd);
		return 0;
	}
	lseek(fd, 0, SEEK_SET);
	char err[512] = "";
	struct dnsreel_dnstap_reader *r = NULL;
	int e = dnsreel_dnstap_reader__open(&r, fd, false, err, sizeof(err));
	if (e < 0) {
		if ((e != DNSREEL_E_CORRUPT && e != DNSREEL_E_TRUNCATED) ||
		    (!strstr(err, "byte offset") && !strstr(err, "empty")))
			abort();
		close(fd);
		return 0;
	}
	for (;;) {
		const uint8_t *buf;
		size_t len;
		uint64_t off;
		int n = dnsreel_dnstap_reader__next(r, &buf, &len, &off, err, sizeof(err));
		if (n == 0)
			break;
		if (n < 0) {
			if ((n != DNSREEL_E_CORRUPT && n != DNSREEL_E_TRUNCATED) ||
			    !strstr(err, "byte offset"))
				abort();
			break;
		}
		if (off >= size)
			abort();
		check_msg(&m, buf, len);
	}
	dnsreel_dnstap_msg__free(&m);
	dnsreel_dnstap_reader__close(r);
	close(fd);
	return 0;
}
