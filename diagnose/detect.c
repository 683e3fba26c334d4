/* Detectors over messages and flows. */
#include <stdlib.h>
#include <string.h>

#include "diag_int.h"

int dnsreel__dg_detect_rec(struct dnsreel_diag *d, const struct dnsreel_rec *rec)
{
	(void)d, (void)rec;
	return 0;
}

int dnsreel__dg_detect_flow(struct dnsreel_diag *d, const struct dnsreel_flow *f)
{
	(void)d, (void)f;
	return 0;
}

int dnsreel__dg_detect_finish(struct dnsreel_diag *d)
{
	(void)d;
	return 0;
}

int dnsreel__dg_describe(struct dnsreel_diag *d, struct acc *a)
{
	(void)d;
	a->title = strdup("");
	a->fix = strdup("");
	return a->title && a->fix ? 0 : -12;
}
