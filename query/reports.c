/* Built-in reports. Each is ordinary SQL over dns (see dnsreel-query(1) for the columns); the
 * comments explain the reasoning so a user can adapt it. Counting happens where the client
 * sees its traffic: queries leaving a netns (pkt_type OUTGOING), responses arriving (HOST). */
#include <string.h>

#include "reports.h"

static const struct dnsreel_report reports[] = {
    {"nxdomain", "top NXDOMAIN names by pod",
     "-- Top NXDOMAIN names by pod: responses with rcode NXDOMAIN (rcode_raw 3) as the\n"
     "-- receiving pod saw them. Search-path expansion shows up here too (see searchpath).\n"
     "SELECT k8s_namespace, k8s_podname, name, count(*) AS nxdomain\n"
     "FROM dns\n"
     "WHERE qr = 'R' AND rcode_raw = 3 AND pkt_type = 'HOST'\n"
     "GROUP BY k8s_namespace, k8s_podname, name\n"
     "ORDER BY nxdomain DESC, k8s_namespace, k8s_podname, name\n"
     "LIMIT 20;\n"},
    {"slowest", "slowest transactions (query to response, per observation point)",
     "-- Slowest transactions: latency_ns is the time from a query to its response at the\n"
     "-- same netns and interface (same id, reversed endpoints). Several rows for one lookup\n"
     "-- mean it was seen at several hops: compare them to see where the time went.\n"
     "SELECT time, k8s_node, k8s_namespace, k8s_podname, src, dst, name, qtype, rcode,\n"
     "       round(latency_ns / 1e6, 3) AS latency_ms\n"
     "FROM dns\n"
     "WHERE qr = 'R' AND latency_ns > 0\n"
     "ORDER BY latency_ns DESC\n"
     "LIMIT 20;\n"},
    {"unanswered", "queries that never got a response",
     "-- Unanswered queries: a query leaving a netns with no response coming back to the same\n"
     "-- netns with the same id and name between the reversed endpoints. (An id reused for\n"
     "-- the same name and endpoints in one capture can hide a lost query.)\n"
     "WITH responses AS MATERIALIZED (\n"
     "  SELECT capture, netns_id, id, name, src_addr, src_port, dst_addr, dst_port\n"
     "  FROM dns WHERE qr = 'R')\n"
     "SELECT q.time, q.k8s_namespace, q.k8s_podname, q.src, q.dst, q.name, q.qtype, q.comm\n"
     "FROM dns AS q\n"
     "WHERE q.qr = 'Q' AND q.pkt_type = 'OUTGOING'\n"
     "  AND NOT EXISTS (\n"
     "    SELECT 1 FROM responses AS r\n"
     "    WHERE r.capture = q.capture AND r.netns_id = q.netns_id AND r.id = q.id\n"
     "      AND r.name IS q.name\n"
     "      AND r.src_addr = q.dst_addr AND r.src_port = q.dst_port\n"
     "      AND r.dst_addr = q.src_addr AND r.dst_port = q.src_port)\n"
     "ORDER BY q.timestamp\n"
     "LIMIT 100;\n"},
    {"searchpath", "search-path expansion per pod (NAME.<search suffix> asked before NAME)",
     "-- Search-path expansion per pod. With ndots:5 a resolver asks\n"
     "-- NAME.<ns>.svc.cluster.local., NAME.svc.cluster.local. and NAME.cluster.local.\n"
     "-- (each NXDOMAIN) before NAME itself. An NXDOMAIN response for a name is counted as\n"
     "-- expansion when stripping one of these suffixes leaves a name the same pod also asked.\n"
     "-- Edit the suffix list for other search domains.\n"
     "WITH asked AS MATERIALIZED (\n"
     "  SELECT DISTINCT capture, netns_id, name FROM dns\n"
     "  WHERE qr = 'Q' AND pkt_type = 'OUTGOING'),\n"
     "nx AS MATERIALIZED (\n"
     "  SELECT capture, netns_id, k8s_namespace, k8s_podname, name, count(*) AS n FROM dns\n"
     "  WHERE qr = 'R' AND rcode_raw = 3 AND pkt_type = 'HOST'\n"
     "  GROUP BY capture, netns_id, k8s_namespace, k8s_podname, name),\n"
     "suffixes(k) AS (VALUES (1), (2), (3)),\n"
     "cand AS (\n"
     "  SELECT nx.*, CASE k WHEN 1 THEN nx.k8s_namespace || '.svc.cluster.local.'\n"
     "                      WHEN 2 THEN 'svc.cluster.local.'\n"
     "                      ELSE 'cluster.local.' END AS suffix\n"
     "  FROM nx, suffixes),\n"
     "expansion AS (\n"
     "  SELECT DISTINCT cand.capture, cand.netns_id, cand.k8s_namespace, cand.k8s_podname,\n"
     "         cand.name, cand.n,\n"
     "         substr(cand.name, 1, length(cand.name) - length(cand.suffix)) AS base\n"
     "  FROM cand JOIN asked\n"
     "    ON asked.capture = cand.capture AND asked.netns_id = cand.netns_id\n"
     "   AND asked.name = substr(cand.name, 1, length(cand.name) - length(cand.suffix))\n"
     "  WHERE substr(cand.name, -length(cand.suffix) - 1) = '.' || cand.suffix)\n"
     "SELECT k8s_namespace, k8s_podname, count(DISTINCT base) AS names_expanded,\n"
     "       sum(n) AS expansion_nxdomains\n"
     "FROM expansion\n"
     "GROUP BY capture, netns_id, k8s_namespace, k8s_podname\n"
     "ORDER BY expansion_nxdomains DESC\n"
     "LIMIT 50;\n"},
    {"upstream", "upstream traffic per forwarder",
     "-- Upstream traffic per forwarder: a forwarder is a netns that receives queries on port\n"
     "-- 53 and also sends queries out; its outgoing queries and the responses they get are\n"
     "-- counted per upstream server address.\n"
     "WITH forwarders AS MATERIALIZED (\n"
     "  SELECT DISTINCT capture, netns_id FROM dns\n"
     "  WHERE qr = 'Q' AND pkt_type = 'HOST' AND dst_port = 53)\n"
     "SELECT coalesce(d.k8s_namespace || '/' || d.k8s_podname, 'netns ' || d.netns_id)\n"
     "         AS forwarder,\n"
     "       CASE WHEN d.qr = 'Q' THEN d.dst_addr ELSE d.src_addr END AS upstream,\n"
     "       sum(d.qr = 'Q') AS queries, sum(d.qr = 'R') AS responses,\n"
     "       sum(d.rcode_raw = 3) AS nxdomain, sum(d.rcode_raw = 2) AS servfail,\n"
     "       round(avg(CASE WHEN d.qr = 'R' AND d.latency_ns > 0 THEN d.latency_ns END) / 1e6,\n"
     "             3) AS avg_latency_ms,\n"
     "       round(max(d.latency_ns) / 1e6, 3) AS max_latency_ms\n"
     "FROM dns AS d JOIN forwarders AS f ON f.capture = d.capture AND f.netns_id = d.netns_id\n"
     "WHERE (d.qr = 'Q' AND d.pkt_type = 'OUTGOING')\n"
     "   OR (d.qr = 'R' AND d.pkt_type = 'HOST' AND d.src_port = 53)\n"
     "GROUP BY 1, 2\n"
     "ORDER BY queries DESC;\n"},
    {"rcodes", "rcode mix over time (1 minute buckets)",
     "-- Response codes per minute, as the receiving side saw them. Change 60 to another\n"
     "-- bucket size in seconds.\n"
     "SELECT strftime('%Y-%m-%dT%H:%M:%SZ', (timestamp / 1000000000 / 60) * 60, 'unixepoch')\n"
     "         AS bucket,\n"
     "       count(*) AS responses,\n"
     "       sum(rcode_raw = 0) AS noerror, sum(rcode_raw = 3) AS nxdomain,\n"
     "       sum(rcode_raw = 2) AS servfail, sum(rcode_raw = 5) AS refused,\n"
     "       sum(rcode_raw NOT IN (0, 2, 3, 5)) AS other\n"
     "FROM dns\n"
     "WHERE qr = 'R' AND pkt_type = 'HOST'\n"
     "GROUP BY bucket\n"
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
