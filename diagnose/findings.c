/* From the detectors' tables to findings: the numbers each finding carries, which candidates
 * are not findings after all (an upstream that is not slow over enough samples), and the plain
 * words of titles and fixes. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "diag_int.h"

static double ms(double ns)
{
	return ns / 1e6;
}

/* The existing accumulator of (id, subject), or NULL: never makes one. */
static struct acc *find(struct dnsreel_diag *d, const char *id, const char *subject)
{
	uint64_t h = dnsreel__dg_hash_str(dnsreel__dg_hash_str(0xcbf29ce484222325ULL, id), subject);
	size_t cap = 2 * ACC_MAX, i = h & (cap - 1);
	for (;; i = (i + 1) & (cap - 1)) {
		struct acc *a = d->acc[i];
		if (!a)
			return NULL;
		if (a->hash == h && !strcmp(a->id, id) && !strcmp(a->subject, subject))
			return a;
	}
}

static double num(const struct acc *a, const char *key)
{
	for (size_t i = 0; i < a->nnums; i++)
		if (!strcmp(a->numkey[i], key))
			return a->numval[i];
	return 0;
}

static void server_nums(struct acc *a, const struct up_server *s)
{
	dnsreel__dg_num(a, "tries", (double)s->tries);
	dnsreel__dg_num(a, "answered", (double)s->answered);
	dnsreel__dg_num(a, "timeouts", (double)s->timeouts);
	dnsreel__dg_num(a, "servfail", (double)s->servfail);
	dnsreel__dg_num(a, "refused", (double)s->refused);
	dnsreel__dg_num(a, "client_flows_failed", (double)s->client_failed);
	dnsreel__dg_num(a, "latency_ms_p50", ms((double)dnsreel__dg_hist_q(&s->lat, 0.5)));
	dnsreel__dg_num(a, "latency_ms_p90", ms((double)dnsreel__dg_hist_q(&s->lat, 0.9)));
	dnsreel__dg_num(a, "latency_ms_p99", ms((double)dnsreel__dg_hist_q(&s->lat, 0.99)));
	dnsreel__dg_num(a, "latency_ms_max", ms((double)s->lat.max_ns));
}

int dnsreel__dg_detect_finish(struct dnsreel_diag *d)
{
	struct acc *a;
	if ((a = find(d, DNSREEL_FIND_CONNTRACK_RACE, ""))) {
		dnsreel__dg_num(a, "pairs", (double)d->race_pairs);
		dnsreel__dg_num(a, "retry_delay_ms_mean",
				d->race_delay_n ? ms(d->race_delay_sum / (double)d->race_delay_n)
						: 0);
		dnsreel__dg_num(a, "never_answered", (double)d->race_unanswered);
	}
	for (size_t i = 0; i < POD_MAX; i++) {
		const struct pod *p = &d->pods[i];
		if (!p->key || !p->walks || !(a = find(d, DNSREEL_FIND_SEARCH_PATH, p->text)))
			continue;
		dnsreel__dg_num(a, "queries", (double)p->queries);
		dnsreel__dg_num(a, "lookups", (double)p->lookups);
		dnsreel__dg_num(a, "walk_lookups", (double)p->walks);
		dnsreel__dg_num(a, "queries_per_lookup",
				p->lookups ? (double)p->queries / (double)p->lookups : 0);
		dnsreel__dg_num(a, "nxdomain_before_answer", (double)p->nx_before);
		dnsreel__dg_num(a, "nxdomain_per_walk", (double)p->nx_before / (double)p->walks);
		dnsreel__dg_num(a, "extra_latency_ms_mean", ms(p->extra_ns / (double)p->walks));
		dnsreel__dg_num(a, "extra_latency_ms_max", ms((double)p->extra_max));
		dnsreel__dg_num(a, "wasted_share",
				p->queries ? (double)p->nx_before / (double)p->queries : 0);
		dnsreel__dg_num(a, "share_of_all_queries",
				d->st.client_flows ? (double)p->queries / (double)d->st.client_flows
						   : 0);
	}
	static const char *const unans[] = {"node", "forwarder", "upstream", "return"};
	for (size_t i = 0; i < 4; i++)
		if ((a = find(d, DNSREEL_FIND_UNANSWERED, unans[i]))) {
			dnsreel__dg_num(a, "flows", (double)a->count);
			dnsreel__dg_num(a, "recorder_lost_events", (double)d->lost_total);
		}
	static const char *const up_ids[] = {
	    DNSREEL_FIND_UPSTREAM_SERVFAIL, DNSREEL_FIND_UPSTREAM_REFUSED,
	    DNSREEL_FIND_UPSTREAM_TIMEOUT, DNSREEL_FIND_UPSTREAM_SLOW};
	for (size_t i = 0; i < d->nservers; i++) {
		const struct up_server *s = &d->servers[i];
		for (size_t k = 0; k < 4; k++) {
			if (!(a = find(d, up_ids[k], s->text)))
				continue;
			server_nums(a, s);
			if (k == 3 && (s->answered < d->o.slow_min_samples ||
				       dnsreel__dg_hist_q(&s->lat, 0.9) <= d->o.slow_upstream_ns))
				a->drop = true;
		}
	}
	for (size_t i = 0; i < d->nfwds; i++) {
		struct fwd *w = &d->fwds[i];
		dnsreel__dg_fwd_roll(w);
		if (!(a = find(d, DNSREEL_FIND_FORWARDER_REFUSED, w->text)))
			continue;
		dnsreel__dg_num(a, "refused", (double)w->refused);
		dnsreel__dg_num(a, "flows", (double)w->flows);
		dnsreel__dg_num(a, "share", w->flows ? (double)w->refused / (double)w->flows : 0);
		dnsreel__dg_num(a, "peak_refused_per_second", (double)w->peak_ref);
		dnsreel__dg_num(a, "peak_queries_per_second", (double)w->peak_q);
		dnsreel__dg_num(a, "forwarder_latency_ms_p50",
				ms((double)dnsreel__dg_hist_q(&w->lat, 0.5)));
		dnsreel__dg_num(a, "forwarder_latency_ms_p90",
				ms((double)dnsreel__dg_hist_q(&w->lat, 0.9)));
		dnsreel__dg_num(a, "latency_ms_p90_refusing",
				ms((double)dnsreel__dg_hist_q(&w->lat_refusing, 0.9)));
		dnsreel__dg_num(a, "latency_ms_p90_other",
				ms((double)dnsreel__dg_hist_q(&w->lat_other, 0.9)));
	}
	if ((a = find(d, DNSREEL_FIND_TRUNCATION, ""))) {
		dnsreel__dg_num(a, "truncated_flows", (double)d->tc_flows);
		dnsreel__dg_num(a, "tcp_retries", (double)d->tc_tcp_retries);
		dnsreel__dg_num(a, "truncated_messages", (double)d->tc_msgs);
		dnsreel__dg_num(a, "upstream_truncated", (double)d->tc_up);
		dnsreel__dg_num(a, "udp_size_max", (double)d->tc_size_max);
		dnsreel__dg_num(a, "tcp_size_max", (double)d->tcp_size_max);
		dnsreel__dg_num(a, "edns_buffer_min", (double)d->tc_edns_min);
		dnsreel__dg_num(a, "edns_buffer_max", (double)d->tc_edns_max);
		dnsreel__dg_num(a, "queries_without_edns", (double)d->tc_no_edns);
	}
	if ((a = find(d, DNSREEL_FIND_EDNS_MISMATCH, ""))) {
		dnsreel__dg_num(a, "answers", (double)a->count);
		dnsreel__dg_num(a, "size_max", (double)d->big_size_max);
		dnsreel__dg_num(a, "edns_buffer_min", (double)d->big_edns_min);
	}
	return 0;
}

static char *fmt(const char *f, ...) __attribute__((format(printf, 1, 2)));
static char *fmt(const char *f, ...)
{
	char buf[1024];
	va_list ap;
	va_start(ap, f);
	vsnprintf(buf, sizeof(buf), f, ap);
	va_end(ap);
	return strdup(buf);
}

int dnsreel__dg_describe(struct dnsreel_diag *d, struct acc *a)
{
	const char *id = a->id, *s = a->subject;
	unsigned long long n = (unsigned long long)a->count;
	char *title = NULL;
	const char *fix = "";
	(void)d;
	if (!strcmp(id, DNSREEL_FIND_CONNTRACK_RACE)) {
		title = fmt("%llu pair(s) of queries sent together from one socket: one answered "
			    "at once, the other only after the resolver's retry (%.0f ms mean)%s",
			    n, num(a, "retry_delay_ms_mean"),
			    num(a, "never_answered") > 0 ? " or never" : "");
		fix = "The second packet of a same-socket pair lost the conntrack insert race after "
		      "DNAT. Set 'options single-request-reopen' (glibc) in the pods' resolv.conf "
		      "(dnsConfig), use TCP for DNS, or run NodeLocal DNSCache so pods do not go "
		      "through DNAT to reach DNS.";
	} else if (!strcmp(id, DNSREEL_FIND_SEARCH_PATH)) {
		title = fmt("%llu lookup(s) walked the search path: %.1f NXDOMAIN before the "
			    "answer, %.1f queries per lookup, %.1f ms added on average (%.0f%% of "
			    "the pod's queries wasted)",
			    n, num(a, "nxdomain_per_walk"), num(a, "queries_per_lookup"),
			    num(a, "extra_latency_ms_mean"), 100 * num(a, "wasted_share"));
		fix = "Names with fewer dots than ndots (5 in Kubernetes) try every search domain "
		      "first. Set dnsConfig options ndots:1 or ndots:2 for the pod, or use fully "
		      "qualified names with a trailing dot (api.example.com.).";
	} else if (!strcmp(id, DNSREEL_FIND_UNANSWERED)) {
		const char *where = !strcmp(s, "node")	    ? "on the node, before the forwarder"
				    : !strcmp(s, "forwarder") ? "inside the forwarder"
				    : !strcmp(s, "upstream")  ? "upstream (no upstream answer)"
							      : "on the way back to the client";
		title = fmt("%llu quer%s never answered, last seen %s%s", n, n == 1 ? "y" : "ies",
			    where,
			    d->lost_total ? " (the recorder also lost events: see recorder-loss)"
					  : "");
		fix = !strcmp(s, "node")
			  ? "Lost between the pod and the DNS server: check conntrack (conntrack -S "
			    "insert_failed, table full), iptables/nftables rules and the service's "
			    "endpoints."
		      : !strcmp(s, "forwarder")
			  ? "The forwarder received the query and neither answered nor asked "
			    "upstream: check its load (CPU, max_concurrent), its logs and its "
			    "forward/stub configuration."
		      : !strcmp(s, "upstream")
			  ? "The upstream servers did not answer: check their reachability from the "
			    "forwarder and their health; configure more than one upstream."
			  : "The answer was lost on its way back (reverse NAT, MTU, firewall): check "
			    "conntrack and fragments of large answers.";
	} else if (!strcmp(id, DNSREEL_FIND_UPSTREAM_SERVFAIL)) {
		title = fmt("%llu SERVFAIL answer(s) from upstream %s (of %.0f tries); %.0f client "
			    "quer%s failed with it tried",
			    n, s, num(a, "tries"), num(a, "client_flows_failed"),
			    num(a, "client_flows_failed") == 1 ? "y" : "ies");
		fix = "The upstream cannot resolve these names (broken delegation, DNSSEC failure, "
		      "its own upstream down): check it directly and the zones involved.";
	} else if (!strcmp(id, DNSREEL_FIND_UPSTREAM_REFUSED)) {
		title = fmt("%llu REFUSED answer(s) from upstream %s (of %.0f tries); %.0f client "
			    "quer%s failed with it tried",
			    n, s, num(a, "tries"), num(a, "client_flows_failed"),
			    num(a, "client_flows_failed") == 1 ? "y" : "ies");
		fix = "The upstream refuses the forwarder: allow the forwarder's addresses in its "
		      "ACL (allow-query, access-control), or forward these zones elsewhere.";
	} else if (!strcmp(id, DNSREEL_FIND_UPSTREAM_TIMEOUT)) {
		title = fmt("%llu upstream tr%s to %s got no answer (of %.0f tries)", n,
			    n == 1 ? "y" : "ies", s, num(a, "tries"));
		fix = "The upstream did not answer in time: check its reachability and load; "
		      "configure more than one upstream and a shorter per-try timeout.";
	} else if (!strcmp(id, DNSREEL_FIND_UPSTREAM_SLOW)) {
		title = fmt("upstream %s is slow: p50 %.1f ms, p90 %.1f ms, max %.1f ms over %.0f "
			    "answers; %llu above %.0f ms",
			    s, num(a, "latency_ms_p50"), num(a, "latency_ms_p90"),
			    num(a, "latency_ms_max"), num(a, "answered"), n,
			    ms((double)d->o.slow_upstream_ns));
		fix = "Slow answers from upstream add to every cache miss: enable or enlarge the "
		      "forwarder's cache, prefetch, or use a closer upstream.";
	} else if (!strcmp(id, DNSREEL_FIND_FORWARDER_REFUSED)) {
		title = fmt("%llu quer%s REFUSED by the forwarder %s itself (%.1f%% of its queries, "
			    "up to %.0f per second at up to %.0f queries per second; p90 %.1f ms "
			    "inside it while refusing, %.1f ms otherwise)",
			    n, n == 1 ? "y" : "ies", s, 100 * num(a, "share"),
			    num(a, "peak_refused_per_second"), num(a, "peak_queries_per_second"),
			    num(a, "latency_ms_p90_refusing"), num(a, "latency_ms_p90_other"));
		fix = "The forwarder sheds load (CoreDNS forward max_concurrent, a rate limit): "
		      "raise the limit, add forwarder replicas, or cut the query rate (ndots, "
		      "NodeLocal DNSCache).";
	} else if (!strcmp(id, DNSREEL_FIND_TRUNCATION)) {
		title = fmt("%llu answer(s) truncated (TC=1), %.0f retried over TCP; truncated at "
			    "%.0f bytes, full answer %.0f bytes, EDNS buffer %.0f..%.0f",
			    n, num(a, "tcp_retries"), num(a, "udp_size_max"),
			    num(a, "tcp_size_max"), num(a, "edns_buffer_min"),
			    num(a, "edns_buffer_max"));
		fix = "Answers larger than the EDNS buffer come back truncated and cost a TCP "
		      "round trip (and fail where TCP/53 is blocked): allow TCP to DNS, advertise "
		      "a 1232-byte EDNS buffer end to end, or shrink the answers.";
	} else if (!strcmp(id, DNSREEL_FIND_EDNS_MISMATCH)) {
		title = fmt("%llu UDP answer(s) larger than the buffer their query offered (up to %.0f "
			    "bytes, buffer down to %.0f)",
			    n, num(a, "size_max"), num(a, "edns_buffer_min"));
		fix = "A server ignores the EDNS buffer size its clients offer (or a middlebox "
		      "rewrote it): such answers fragment or are dropped on the way. Make the "
		      "servers honour the buffer (1232 bytes end to end) so large answers come "
		      "truncated and are retried over TCP.";
	} else if (!strcmp(id, DNSREEL_FIND_NXDOMAIN_STORM)) {
		title = fmt("NXDOMAIN storm: %llu NXDOMAIN answers in %.0f minute(s), up to %.0f "
			    "per minute against a usual %.1f",
			    n, num(a, "minutes"), num(a, "peak_per_minute"),
			    num(a, "usual_per_minute"));
		fix = "A client asks for names that do not exist, far above its usual rate: look at "
		      "the names (search-path walk, a misconfigured service name, a retry loop).";
	} else if (!strcmp(id, DNSREEL_FIND_HOT_NAME)) {
		title = fmt("hot name: %llu queries in %.0f minute(s), up to %.0f per minute against "
			    "a usual %.1f",
			    n, num(a, "minutes"), num(a, "peak_per_minute"),
			    num(a, "usual_per_minute"));
		fix = "One name is asked far above its usual rate: check the clients asking it "
		      "for a loop or a missing cache, and the TTL of its answer.";
	} else if (!strcmp(id, DNSREEL_FIND_RECORDER_LOSS)) {
		title = fmt("the recorder lost %.0f event(s)%s: packets missing from this capture "
			    "were not necessarily lost on the network",
			    num(a, "events_lost"),
			    num(a, "frames_damaged") > 0 ? ", and damaged frames were skipped" : "");
		fix = "Give the recorder a larger ring buffer (--ringbuf-size), more CPU, or a "
		      "narrower filter; check the disk it writes to.";
	} else {
		title = fmt("%llu occurrence(s)", n);
	}
	a->title = title;
	a->fix = strdup(fix);
	return a->title && a->fix ? 0 : -ENOMEM;
}
