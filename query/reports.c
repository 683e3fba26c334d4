/* Built-in reports. Each is ordinary SQL over flows, flow_events and dns (see dnsreel-query(1)
 * for the columns); the comments explain the reasoning so a user can adapt it. They answer per
 * lookup, not per packet: a flow is one client transaction seen at every hop, so a question is
 * counted once where the client asked it (client questions: client_role = 'client') and the
 * forwarder's own traffic where the forwarder sent it (upstream questions).
 * "@capture, " stands for a capture column: kept when several captures are queried. */
#include <stdlib.h>
#include <string.h>

#include "reports.h"

static const struct dnsreel_report reports[] = {
    {"nxdomain", "top NXDOMAIN names by pod (per flow, as the client got them)",
     "-- Top NXDOMAIN names by pod: flows whose client got NXDOMAIN (rcode NameError), once\n"
     "-- per client transaction however many hops saw it. origin: who said NXDOMAIN (the\n"
     "-- forwarder itself, e.g. cluster.local search domains, or the upstream).\n"
     "SELECT @capture, client_k8s_namespace AS k8s_namespace, client_k8s_podname AS k8s_podname,\n"
     "       name, count(*) AS nxdomain, count(DISTINCT lookup_id) AS lookups,\n"
     "       group_concat(DISTINCT rcode_origin) AS origin\n"
     "FROM flows\n"
     "WHERE client_role = 'client' AND rcode = 'NameError'\n"
     "GROUP BY @capture, client_netns_id, k8s_namespace, k8s_podname, name\n"
     "ORDER BY nxdomain DESC, k8s_namespace, k8s_podname, name\n"
     "LIMIT 20;\n"},
    {"slowest", "slowest lookups and where they were slow",
     "-- Slowest lookups: one row per application lookup (its flows: search-path walk, A and\n"
     "-- AAAA, retries), from its first query to its last answer at the client. where: the\n"
     "-- hop role at which its slowest flow waited longest, and that wait; upstream_ms: the\n"
     "-- forwarder's wait for the upstream answer it used.\n"
     "WITH f AS MATERIALIZED (SELECT * FROM flows WHERE client_role = 'client'),\n"
     "l AS (\n"
     "  SELECT lookup_id, min(timestamp) AS start,\n"
     "         max(timestamp + coalesce(latency_ns, 0)) - min(timestamp) AS lookup_ns,\n"
     "         count(*) AS flows, sum(outcome = 'unanswered') AS unanswered\n"
     "  FROM f GROUP BY lookup_id),\n"
     "worst AS (\n"
     "  SELECT *, row_number() OVER (PARTITION BY lookup_id\n"
     "                                ORDER BY coalesce(latency_ns, 0) DESC, timestamp) AS rn\n"
     "  FROM f)\n"
     "SELECT @capture, w.time, w.client_k8s_namespace AS k8s_namespace,\n"
     "       w.client_k8s_podname AS k8s_podname, w.client_comm AS comm, w.name, w.qtype,\n"
     "       l.flows, l.unanswered, round(l.lookup_ns / 1e6, 3) AS lookup_ms,\n"
     "       round(w.latency_ns / 1e6, 3) AS slowest_flow_ms, w.slowest_hop_role AS 'where',\n"
     "       round(w.slowest_ns / 1e6, 3) AS wait_ms,\n"
     "       round(w.upstream_latency_ns / 1e6, 3) AS upstream_ms, w.rcode\n"
     "FROM l JOIN worst AS w ON w.lookup_id = l.lookup_id AND w.rn = 1\n"
     "ORDER BY l.lookup_ns DESC, w.timestamp\n"
     "LIMIT 20;\n"},
    {"unanswered", "client queries that never got a response, and where they were lost",
     "-- Unanswered queries: flows whose client never received a response, once per client\n"
     "-- transaction. lost: where the message was last seen (the query reached the node but\n"
     "-- never the forwarder; the forwarder answered but the pod never got it ...).\n"
     "SELECT @capture, time, client_k8s_namespace AS k8s_namespace,\n"
     "       client_k8s_podname AS k8s_podname, client_comm AS comm, name, qtype, server,\n"
     "       retries, lost_direction, lost_role, lost_netns_id,\n"
     "       round((lost_after_ts - timestamp) / 1e6, 3) AS last_seen_ms, lookup_id\n"
     "FROM flows\n"
     "WHERE client_role = 'client' AND outcome = 'unanswered'\n"
     "ORDER BY timestamp\n"
     "LIMIT 100;\n"},
    {"unanswered-pods", "unanswered queries per pod, by where they were lost",
     "-- Unanswered queries per pod: flows without a response at the client, counted per pod\n"
     "-- and per place the message was last seen; lookups_failed: lookups none of whose\n"
     "-- flows got an answer.\n"
     "WITH f AS MATERIALIZED (SELECT * FROM flows WHERE client_role = 'client'),\n"
     "failed AS (\n"
     "  SELECT lookup_id FROM f GROUP BY lookup_id HAVING sum(outcome = 'answered') = 0)\n"
     "SELECT @capture, client_k8s_namespace AS k8s_namespace, client_k8s_podname AS k8s_podname,\n"
     "       lost_direction, lost_role, count(*) AS unanswered,\n"
     "       count(DISTINCT lookup_id) AS lookups,\n"
     "       count(DISTINCT CASE WHEN lookup_id IN (SELECT lookup_id FROM failed)\n"
     "                      THEN lookup_id END) AS lookups_failed,\n"
     "       count(DISTINCT name) AS names\n"
     "FROM f\n"
     "WHERE outcome = 'unanswered'\n"
     "GROUP BY @capture, client_netns_id, k8s_namespace, k8s_podname, lost_direction, lost_role\n"
     "ORDER BY unanswered DESC, k8s_namespace, k8s_podname;\n"},
    {"searchpath", "search-path expansion per pod (NAME.<search suffix> asked before NAME)",
     "-- Search-path expansion per pod. With ndots:5 a resolver asks\n"
     "-- NAME.<ns>.svc.cluster.local., NAME.svc.cluster.local. and NAME.cluster.local.\n"
     "-- (each NXDOMAIN) before NAME itself, all in one lookup. A flow counts as expansion\n"
     "-- when it got NXDOMAIN and its name is the name its lookup asked last plus a suffix.\n"
     "WITH f AS MATERIALIZED (SELECT * FROM flows WHERE client_role = 'client'),\n"
     "last AS (\n"
     "  SELECT lookup_id, name AS base FROM (\n"
     "    SELECT lookup_id, name,\n"
     "           row_number() OVER (PARTITION BY lookup_id ORDER BY timestamp DESC) AS rn\n"
     "    FROM f)\n"
     "  WHERE rn = 1),\n"
     "expansion AS (\n"
     "  SELECT f.*, last.base FROM f JOIN last USING (lookup_id)\n"
     "  WHERE f.rcode = 'NameError' AND f.name != last.base\n"
     "    AND substr(f.name, 1, length(last.base)) = last.base)\n"
     "SELECT @capture, client_k8s_namespace AS k8s_namespace, client_k8s_podname AS k8s_podname,\n"
     "       count(DISTINCT base) AS names_expanded, count(DISTINCT lookup_id) AS lookups,\n"
     "       count(*) AS expansion_nxdomains\n"
     "FROM expansion\n"
     "GROUP BY @capture, client_netns_id, k8s_namespace, k8s_podname\n"
     "ORDER BY expansion_nxdomains DESC\n"
     "LIMIT 50;\n"},
    {"upstream", "upstream traffic per forwarder (the forwarder's view)",
     "-- Upstream traffic per forwarder and server: the queries a forwarder sent for the flows\n"
     "-- it served (and on its own: health checks, prefetch), each try once, and the responses\n"
     "-- it received, as seen in the forwarder's netns. flows: client transactions served.\n"
     "WITH fwd AS MATERIALIZED (\n"
     "  SELECT DISTINCT forwarder_netns_id FROM flows WHERE forwarder_netns_id IS NOT NULL),\n"
     "-- One pass over the forwarders' own messages; joined by event_id through an index.\n"
     "d AS MATERIALIZED (\n"
     "  SELECT event_id, netns_id, qr, id, rcode_raw, latency_ns, src, dst, src_port, dst_port\n"
     "  FROM dns\n"
     "  WHERE netns_id IN (SELECT forwarder_netns_id FROM fwd)\n"
     "    AND ((qr = 'Q' AND pkt_type = 'OUTGOING') OR (qr = 'R' AND pkt_type = 'HOST'))),\n"
     "up AS MATERIALIZED (\n"
     "  SELECT f.capture, f.flow_id, f.client_role, f.forwarder_netns_id,\n"
     "         coalesce(f.forwarder_k8s_namespace || '/' || f.forwarder_k8s_podname,\n"
     "                  'netns ' || f.forwarder_netns_id) AS forwarder,\n"
     "         d.qr, d.id, d.rcode_raw, d.latency_ns,\n"
     "         CASE WHEN d.qr = 'Q' THEN d.dst ELSE d.src END AS upstream,\n"
     "         CASE WHEN d.qr = 'Q' THEN d.src_port ELSE d.dst_port END AS port\n"
     "  FROM flows AS f JOIN flow_events AS e USING (flow_id) JOIN d USING (event_id)\n"
     "  WHERE d.netns_id = f.forwarder_netns_id)\n"
     "SELECT @capture, forwarder, upstream,\n"
     "       count(DISTINCT CASE WHEN client_role = 'client' THEN flow_id END) AS flows,\n"
     "       count(DISTINCT CASE WHEN qr = 'Q' THEN id || ':' || port END) AS queries,\n"
     "       count(DISTINCT CASE WHEN qr = 'R' THEN id || ':' || port END) AS responses,\n"
     "       count(DISTINCT CASE WHEN qr = 'R' AND rcode_raw = 3 THEN id || ':' || port END)\n"
     "         AS nxdomain,\n"
     "       count(DISTINCT CASE WHEN qr = 'R' AND rcode_raw = 2 THEN id || ':' || port END)\n"
     "         AS servfail,\n"
     "       round(avg(CASE WHEN qr = 'R' AND latency_ns > 0 THEN latency_ns END) / 1e6, 3)\n"
     "         AS avg_latency_ms,\n"
     "       round(max(CASE WHEN qr = 'R' THEN latency_ns END) / 1e6, 3) AS max_latency_ms\n"
     "FROM up\n"
     "GROUP BY @capture, forwarder_netns_id, forwarder, upstream\n"
     "ORDER BY queries DESC;\n"},
    {"rcodes", "rcode mix of client lookups over time (1 minute buckets)",
     "-- Response codes per minute, as the clients got them: one per flow (client\n"
     "-- transaction), not one per hop. Change 60 to another bucket size in seconds.\n"
     "SELECT @capture, strftime('%Y-%m-%dT%H:%M:%SZ', (timestamp / 1000000000 / 60) * 60,\n"
     "                          'unixepoch') AS bucket,\n"
     "       count(*) AS flows, count(DISTINCT lookup_id) AS lookups,\n"
     "       sum(rcode = 'Success') AS noerror, sum(rcode = 'NameError') AS nxdomain,\n"
     "       sum(rcode = 'ServerFailure') AS servfail, sum(rcode = 'Refused') AS refused,\n"
     "       sum(outcome = 'answered' AND rcode NOT IN ('Success', 'NameError',\n"
     "           'ServerFailure', 'Refused')) AS other,\n"
     "       sum(outcome = 'unanswered') AS unanswered\n"
     "FROM flows\n"
     "WHERE client_role = 'client'\n"
     "GROUP BY @capture, bucket\n"
     "ORDER BY bucket;\n"},
};

const struct dnsreel_report *dnsreel_reports(size_t *count)
{
	*count = sizeof(reports) / sizeof(reports[0]);
	return reports;
}

const struct dnsreel_report *dnsreel_report_find(const char *name)
{
	for (size_t i = 0; i < sizeof(reports) / sizeof(reports[0]); i++)
		if (!strcmp(reports[i].name, name))
			return &reports[i];
	return NULL;
}

char *dnsreel_report_sql(const struct dnsreel_report *r, bool captures)
{
	static const char mark[] = "@capture, ";
	size_t len = strlen(r->sql);
	char *out = malloc(len + 1), *o = out;

	if (!out)
		return NULL;
	for (const char *p = r->sql; *p;) {
		if (!strncmp(p, mark, sizeof(mark) - 1)) {
			if (captures) {
				memcpy(o, mark + 1, sizeof(mark) - 2);
				o += sizeof(mark) - 2;
			}
			p += sizeof(mark) - 1;
		} else {
			*o++ = *p++;
		}
	}
	*o = 0;
	return out;
}
