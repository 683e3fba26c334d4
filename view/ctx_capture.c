/* Loading a capture's context into a dnsreel_ctx. Apart from ctx.c so that users of the view
 * layer that never open a capture (record --live, unit tests) do not pull in the reader. */
#include "ctx_priv.h"
#include "dnsreel.h"

int dnsreel_ctx__add_capture(struct dnsreel_ctx *c, uint32_t capture, const struct dnsreel_capr *r)
{
	if (!c || !r)
		return DNSREEL_E_ARG;
	const struct dnsreel_meta *m = dnsreel_capr__meta(r);
	int rc;
	if (m && (rc = dnsreel_ctx__set_meta(c, capture, m)))
		return rc;
	if ((rc = dnsreel_ctx__set_path(c, capture, dnsreel_capr__path(r))))
		return rc;
	size_t n = dnsreel_capr__netns_count(r);
	for (size_t i = 0; i < n; i++) {
		const struct dnsreel_netns_ctx *ns = dnsreel_capr__netns_at(r, i);
		if (ns && (rc = dnsreel_ctx__put_netns(c, capture, ns)))
			return rc;
	}
	n = dnsreel_capr__service_count(r);
	for (size_t i = 0; i < n; i++) {
		const struct dnsreel_service_ctx *s = dnsreel_capr__service_at(r, i);
		if (s && s->ip_version && (rc = dnsreel_ctx__put_service(c, capture, s)) &&
		    rc != DNSREEL_E_ARG)
			return rc;
	}
	return 0;
}
