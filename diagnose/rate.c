/* Per-minute rates. */
#include "diag_int.h"

int dnsreel__dg_rate_flow(struct dnsreel_diag *d, const struct dnsreel_flow *f, struct pod *p)
{
	(void)d, (void)f, (void)p;
	return 0;
}

int dnsreel__dg_rate_finish(struct dnsreel_diag *d)
{
	(void)d;
	return 0;
}
