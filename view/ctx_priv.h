/* Internals shared by the view's sources (not a public interface). */
#ifndef DNSREEL_CTX_PRIV_H
#define DNSREEL_CTX_PRIV_H

#include "view.h"

/* Calls fn for every netns known for capture (for filter pushdown). */
void dnsreel_ctx__each_netns(const struct dnsreel_ctx *c, uint32_t capture,
			     void (*fn)(void *arg, const struct dnsreel_netns_ctx *ns), void *arg);
int dnsreel_ctx__set_path(struct dnsreel_ctx *c, uint32_t capture, const char *path);
/* Capture path given to add_capture ("" for live captures). */
const char *dnsreel_ctx__path(const struct dnsreel_ctx *c, uint32_t capture);
/* Node name of capture (meta.node), "" when unknown. */
const char *dnsreel_ctx__node(const struct dnsreel_ctx *c, uint32_t capture);

/* The known field name closest to name (a typo), or NULL when none is close. */
const char *dnsreel__suggest_field(const char *name);
/* Whether value names a value of an enumerated field (rcode, qtype, opcode, pkt_type, proto);
 * true for every other field. When false, hint says so, with the closest known name. */
bool dnsreel__value_known(enum dnsreel_field_id f, const char *value, char *hint, size_t len);

#endif
