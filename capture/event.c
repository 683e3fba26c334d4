/* Endpoint rendering of an event as trace_dns prints it, and the error-message helper. */
#include <stdarg.h>
#include <stdio.h>

#include "capture.h"
#include "capture_int.h"

void dr_addr_str(uint8_t ip_version, const uint8_t *addr, char *buf, size_t len)
{
	char tmp[DNSREEL_ADDR_TEXT_LEN];
	dnsreel_addr_text(ip_version, addr, -1, tmp);
	snprintf(buf, len, "%s", tmp);
}

int dnsreel_event_addr_str(const struct dnsreel_event *ev, bool src, bool with_port, char *buf,
			   size_t len)
{
	char a[DNSREEL_ADDR_TEXT_LEN];
	dnsreel_addr_text(ev->ip_version, src ? ev->src_addr : ev->dst_addr,
			  with_port ? (src ? ev->src_port : ev->dst_port) : -1, a);
	return snprintf(buf, len, "%s", a);
}

int dr_errf(char *buf, size_t len, int err, const char *fmt, ...)
{
	if (buf && len) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(buf, len, fmt, ap);
		va_end(ap);
	}
	return err;
}
