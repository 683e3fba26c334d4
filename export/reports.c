/* The built-in reports of dnsreel-query (query/reports.c) in ClickHouse SQL, over the tables
 * dnsreel-export fills, giving the same numbers. ClickHouse 18.16 has no window functions and
 * no WITH subqueries: "the row with the largest x" is argMax, a lookup's rows are a GROUP BY
 * joined back. Every report counts per client transaction (client_role = 'client'), as the
 * query tool's do. They cover the whole database: add "AND capture_id = '...'" or a time
 * range to each WHERE to narrow them. Where the query tool says NULL these say '' (text) or
 * \N (latencies).
 */
#include <stddef.h>

#include "export_int.h"

/* RFC 3339 with ns, as the query tool's time column */
#define TIME_TEXT                                                                                  \
	"concat(formatDateTime(time, '%Y-%m-%dT%H:%M:%S'), '.', "                                  \
	"substring(toString(1000000000 + ns), 2), 'Z')"

static const struct chx_report reports[] = {
    {"nxdomain",
     "-- Top NXDOMAIN names by pod: flows whose client got NXDOMAIN, once per client\n"
     "-- transaction; origin: who said NXDOMAIN (forwarder or upstream).\n"
     "SELECT client_k8s_namespace AS k8s_namespace, client_k8s_podname AS k8s_podname, name,\n"
     "       count() AS nxdomain, uniqExact(lookup_id) AS lookups,\n"
     "       arrayStringConcat(arraySort(groupUniqArrayIf(rcode_origin, rcode_origin != '')),\n"
     "                         ',') AS origin\n"
     "FROM {db}.flows\n"
     "WHERE client_role = 'client' AND rcode = 'NameError'\n"
     "GROUP BY client_netns_id, k8s_namespace, k8s_podname, name\n"
     "ORDER BY nxdomain DESC, k8s_namespace, k8s_podname, name\n"
     "LIMIT 20\n"},
    {"slowest",
     "-- Slowest lookups: one row per application lookup, from its first query to its last\n"
     "-- answer at the client; its slowest flow, where that flow waited longest and the\n"
     "-- forwarder's wait for the upstream answer it used.\n"
     "SELECT concat(formatDateTime(w_time, '%Y-%m-%dT%H:%M:%S'), '.',\n"
     "              substring(toString(1000000000 + w_ns), 2), 'Z') AS time,\n"
     "       w_namespace AS k8s_namespace, w_podname AS k8s_podname, w_comm AS comm,\n"
     "       w_name AS name, w_qtype AS qtype, flows, unanswered,\n"
     "       round(lookup_ns / 1e6, 3) AS lookup_ms,\n"
     "       round(w_latency_ns / 1e6, 3) AS slowest_flow_ms, w_where AS where,\n"
     "       round(w_slowest_ns / 1e6, 3) AS wait_ms,\n"
     "       round(w_upstream_ns / 1e6, 3) AS upstream_ms, w_rcode AS rcode\n"
     "FROM (\n"
     "  SELECT lookup_id,\n"
     "         max(timestamp + ifNull(latency_ns, 0)) - min(timestamp) AS lookup_ns,\n"
     "         count() AS flows, countIf(outcome = 'unanswered') AS unanswered,\n"
     "         argMin(tuple(time, ns, client_k8s_namespace, client_k8s_podname, client_comm,\n"
     "                      name, qtype, latency_ns, slowest_hop_role, slowest_ns,\n"
     "                      upstream_latency_ns, rcode, timestamp),\n"
     "                tuple(-ifNull(latency_ns, 0), timestamp)) AS w,\n"
     "         w.1 AS w_time, w.2 AS w_ns, w.3 AS w_namespace, w.4 AS w_podname,\n"
     "         w.5 AS w_comm, w.6 AS w_name, w.7 AS w_qtype, w.8 AS w_latency_ns,\n"
     "         w.9 AS w_where, w.10 AS w_slowest_ns, w.11 AS w_upstream_ns, w.12 AS w_rcode,\n"
     "         w.13 AS w_ts\n"
     "  FROM {db}.flows\n"
     "  WHERE client_role = 'client'\n"
     "  GROUP BY lookup_id)\n"
     "ORDER BY lookup_ns DESC, w_ts\n"
     "LIMIT 20\n"},
    {"unanswered",
     "-- Unanswered queries: flows whose client never received a response, and where the\n"
     "-- message was last seen.\n"
     "SELECT " TIME_TEXT " AS time, client_k8s_namespace AS k8s_namespace,\n"
     "       client_k8s_podname AS k8s_podname, client_comm AS comm, name, qtype, server,\n"
     "       retries, lost_direction, lost_role, lost_netns_id,\n"
     "       round((lost_after_ts - timestamp) / 1e6, 3) AS last_seen_ms, lookup_id\n"
     "FROM {db}.flows\n"
     "WHERE client_role = 'client' AND outcome = 'unanswered'\n"
     "ORDER BY timestamp\n"
     "LIMIT 100\n"},
    {"unanswered-pods",
     "-- Unanswered queries per pod and per place the message was last seen;\n"
     "-- lookups_failed: lookups none of whose flows got an answer.\n"
     "SELECT client_k8s_namespace AS k8s_namespace, client_k8s_podname AS k8s_podname,\n"
     "       lost_direction, lost_role, count() AS unanswered, uniqExact(lookup_id) AS lookups,\n"
     "       uniqExactIf(lookup_id, lookup_id IN (\n"
     "         SELECT lookup_id FROM {db}.flows WHERE client_role = 'client'\n"
     "         GROUP BY lookup_id HAVING countIf(outcome = 'answered') = 0)) AS lookups_failed,\n"
     "       uniqExact(name) AS names\n"
     "FROM {db}.flows\n"
     "WHERE client_role = 'client' AND outcome = 'unanswered'\n"
     "GROUP BY client_netns_id, k8s_namespace, k8s_podname, lost_direction, lost_role\n"
     "ORDER BY unanswered DESC, k8s_namespace, k8s_podname\n"},
    {"searchpath",
     "-- Search-path expansion per pod: flows that got NXDOMAIN for the name their lookup\n"
     "-- asked last plus a suffix (NAME.<ns>.svc.cluster.local. before NAME with ndots:5).\n"
     "SELECT client_k8s_namespace AS k8s_namespace, client_k8s_podname AS k8s_podname,\n"
     "       uniqExact(base) AS names_expanded, uniqExact(lookup_id) AS lookups,\n"
     "       count() AS expansion_nxdomains\n"
     "FROM {db}.flows\n"
     "ANY INNER JOIN (\n"
     "  SELECT lookup_id, argMax(name, timestamp) AS base\n"
     "  FROM {db}.flows WHERE client_role = 'client' GROUP BY lookup_id) USING lookup_id\n"
     "WHERE client_role = 'client' AND rcode = 'NameError' AND name != base\n"
     "  AND startsWith(name, base)\n"
     "GROUP BY client_netns_id, k8s_namespace, k8s_podname\n"
     "ORDER BY expansion_nxdomains DESC\n"
     "LIMIT 50\n"},
    {"rcodes",
     "-- Response codes per minute as the clients got them, one per flow. Change 60 to\n"
     "-- another bucket size in seconds.\n"
     "SELECT formatDateTime(toDateTime(intDiv(toUInt32(time), 60) * 60, 'UTC'),\n"
     "                      '%Y-%m-%dT%H:%M:%SZ') AS bucket,\n"
     "       count() AS flows, uniqExact(lookup_id) AS lookups,\n"
     "       countIf(rcode = 'Success') AS noerror, countIf(rcode = 'NameError') AS nxdomain,\n"
     "       countIf(rcode = 'ServerFailure') AS servfail, countIf(rcode = 'Refused') AS refused,\n"
     "       countIf(outcome = 'answered' AND rcode NOT IN ('Success', 'NameError',\n"
     "               'ServerFailure', 'Refused')) AS other,\n"
     "       countIf(outcome = 'unanswered') AS unanswered\n"
     "FROM {db}.flows\n"
     "WHERE client_role = 'client'\n"
     "GROUP BY bucket\n"
     "ORDER BY bucket\n"},
};

const struct chx_report *chx_reports(size_t *count)
{
	*count = sizeof(reports) / sizeof(reports[0]);
	return reports;
}
