/* Internals shared by ctx.c, fields.c, filter.c and decoder.c (not a public interface). */
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

/* Fast text of an address (with_port: "1.2.3.4:53", "[::1]:53"). Returns length. buf >= 64. */

#endif
