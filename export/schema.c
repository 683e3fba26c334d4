/* The ClickHouse schema: what --create runs and --schema clickhouse prints. It targets the
 * oldest ClickHouse Debian ships (18.16), so it uses what 18.16 has:
 *  - MergeTree partitioned by day (toDate(time), UTC), ordered for the common questions:
 *    events and answers by (name, time), flows by (pod, time); a pod's events are one
 *    materialized view away (dnsreel-export(1)).
 *  - time DateTime('UTC') + ns UInt32 (DateTime64(9) arrived in 20.1); timestamp, the query
 *    tool's ns since the epoch, is an ALIAS computed from the two.
 *  - addresses FixedString(16), IPv4 mapped into IPv6 (::ffff:a.b.c.d); src_addr and dst_addr
 *    are ALIASes rendering them as text (the IPv4 and IPv6 types arrived in 19.x/20.x).
 *  - Enum8 for closed sets (qr, proto, pkt_type, roles, outcome), LowCardinality(String) for
 *    pod, namespace, node, comm, qtype, rcode (experimental in 18.x: allowed by a setting,
 *    CHX_CREATE_SETTINGS; plain String works the same for every query here).
 *  - no TTL clause (19.6+): dnsreel-export(1) shows ALTER TABLE ... DROP PARTITION by day and
 *    the TTL a newer server takes.
 * The exports table is the export state: what each batch committed (see dnsreel-export.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "export_int.h"

#define LC "LowCardinality(String)"
#define TIME_COLS                                                                                  \
	"  time DateTime('UTC'),\n"                                                                \
	"  ns UInt32,\n"                                                                           \
	"  timestamp Int64 ALIAS toInt64(time) * 1000000000 + ns,\n"
#define POS_COLS                                                                                   \
	"  capture_id UUID,\n"                                                                     \
	"  segment UInt32,\n"                                                                      \
	"  frame_offset UInt64,\n"                                                                 \
	"  event UInt32,\n"                                                                        \
	"  sub UInt8,\n"                                                                           \
	"  batch UInt64,\n"
#define ADDR_TEXT(col)                                                                             \
	"if(substring(" col ", 1, 12) = unhex('00000000000000000000FFFF'), "                       \
	"IPv4NumToString(reinterpretAsUInt32(reverse(substring(" col ", 13, 4)))), "               \
	"IPv6NumToString(" col "))"

static const char *const ddl[] = {
    "CREATE DATABASE IF NOT EXISTS {db}",

    /* one row per DNS message at one observation point: the query tool's dns table */
    "CREATE TABLE IF NOT EXISTS {db}.events (\n" POS_COLS TIME_COLS "  k8s_node " LC ",\n"
    "  k8s_namespace " LC ",\n"
    "  k8s_podname " LC ",\n"
    "  k8s_containername " LC ",\n"
    "  runtime_containername " LC ",\n"
    "  runtime_containerid " LC ",\n"
    "  netns_id UInt64,\n"
    "  ifindex UInt32,\n"
    "  pkt_type Enum8('UNKNOWN' = -1, 'HOST' = 0, 'BROADCAST' = 1, 'MULTICAST' = 2,\n"
    "                 'OTHERHOST' = 3, 'OUTGOING' = 4, 'LOOPBACK' = 5, 'USER' = 6, 'KERNEL' = 7),\n"
    "  proto Enum8('OTHER' = 0, 'TCP' = 6, 'UDP' = 17),\n"
    "  src_ip FixedString(16),\n"
    "  src_port UInt16,\n"
    "  dst_ip FixedString(16),\n"
    "  dst_port UInt16,\n"
    "  src_addr String ALIAS " ADDR_TEXT("src_ip") ",\n"
						   "  dst_addr String ALIAS " ADDR_TEXT(
						       "dst_ip") ",\n"
								 "  nameserver " LC ",\n"
								 "  comm " LC ",\n"
								 "  pid UInt32,\n"
								 "  tid UInt32,\n"
								 "  uid UInt32,\n"
								 "  gid UInt32,\n"
								 "  id UInt16,\n"
								 "  qr Enum8('Q' = 0, 'R' = 1),\n"
								 "  opcode " LC ",\n"
								 "  qtype " LC ",\n"
								 "  qtype_raw UInt16,\n"
								 "  name String,\n"
								 "  rcode " LC ",\n"
								 "  rcode_raw UInt16,\n"
								 "  num_answers UInt16,\n"
								 "  addresses String,\n"
								 "  latency_ns Int64,\n"
								 "  tc UInt8,\n"
								 "  rd UInt8,\n"
								 "  ra UInt8,\n"
								 "  aa UInt8,\n"
								 "  ad UInt8,\n"
								 "  cd UInt8,\n"
								 "  size UInt32\n"
								 ") ENGINE = MergeTree\n"
								 "PARTITION BY toDate(time)\n"
								 "ORDER BY (name, time)",

    /* one row per resource record of a response */
    "CREATE TABLE IF NOT EXISTS {db}.answers (\n" POS_COLS TIME_COLS
    "  section Enum8('answer' = 1, 'authority' = 2, 'additional' = 3),\n"
    "  rr_index UInt16,\n"
    "  name String,\n"
    "  type " LC ",\n"
    "  type_raw UInt16,\n"
    "  class " LC ",\n"
    "  ttl UInt32,\n"
    "  data String\n"
    ") ENGINE = MergeTree\n"
    "PARTITION BY toDate(time)\n"
    "ORDER BY (name, time)",

    /* one row per flow (client transaction): the query tool's flows table */
    "CREATE TABLE IF NOT EXISTS {db}.flows (\n"
    "  capture_id UUID,\n"
    "  batch UInt64,\n"
    "  flow_id FixedString(16),\n"
    "  lookup_id FixedString(16),\n" TIME_COLS "  name String,\n"
    "  qtype " LC ",\n"
    "  client_netns_id UInt64,\n"
    "  client_addr String,\n"
    "  client_port UInt16,\n"
    "  client_k8s_namespace " LC ",\n"
    "  client_k8s_podname " LC ",\n"
    "  client_k8s_containername " LC ",\n"
    "  client_comm " LC ",\n"
    "  client_pid UInt32,\n"
    "  client_role Enum8('client' = 0, 'node' = 1, 'forwarder' = 2, 'upstream' = 3),\n"
    "  server " LC ",\n"
    "  outcome Enum8('unanswered' = 0, 'answered' = 1),\n"
    "  rcode " LC ",\n"
    "  rcode_origin " LC ",\n"
    "  latency_ns Nullable(Int64),\n"
    "  retries UInt32,\n"
    "  lost_direction " LC ",\n"
    "  lost_netns_id UInt64,\n"
    "  lost_role " LC ",\n"
    "  lost_after_ts Nullable(Int64),\n"
    "  hops UInt16,\n"
    "  forwarder_netns_id UInt64,\n"
    "  forwarder_k8s_namespace " LC ",\n"
    "  forwarder_k8s_podname " LC ",\n"
    "  upstreams UInt16,\n"
    "  upstreams_answered UInt16,\n"
    "  upstream_server " LC ",\n"
    "  upstream_rcode " LC ",\n"
    "  upstream_latency_ns Nullable(Int64),\n"
    "  slowest_hop_role " LC ",\n"
    "  slowest_hop_netns_id UInt64,\n"
    "  slowest_ns Nullable(Int64)\n"
    ") ENGINE = MergeTree\n"
    "PARTITION BY toDate(time)\n"
    "ORDER BY (client_k8s_namespace, client_k8s_podname, time)",

    /* the export state: per batch, one insert (one part, atomic) of the frames it
     * completed, the flows watermark and its row counts */
    "CREATE TABLE IF NOT EXISTS {db}.exports (\n"
    "  capture_id UUID,\n"
    "  batch UInt64,\n"
    "  kind Enum8('frame' = 2, 'flows' = 3, 'commit' = 4),\n"
    "  time DateTime('UTC') DEFAULT now(),\n"
    "  segment UInt32,\n"
    "  frame_offset UInt64,\n"
    "  done UInt32,\n"
    "  flows_ts Int64,\n"
    "  flows_at Array(String),\n"
    "  events UInt64,\n"
    "  answers UInt64,\n"
    "  flows UInt64,\n"
    "  path String,\n"
    "  node String\n"
    ") ENGINE = MergeTree\n"
    "ORDER BY (capture_id, batch)",
};

const char chx_events_cols[] =
    "capture_id, segment, frame_offset, event, sub, batch, time, ns, k8s_node, k8s_namespace, "
    "k8s_podname, k8s_containername, runtime_containername, runtime_containerid, netns_id, "
    "ifindex, pkt_type, proto, src_ip, src_port, dst_ip, dst_port, nameserver, comm, pid, tid, "
    "uid, gid, id, qr, opcode, qtype, qtype_raw, name, rcode, rcode_raw, num_answers, "
    "addresses, latency_ns, tc, rd, ra, aa, ad, cd, size";
const char chx_answers_cols[] = "capture_id, segment, frame_offset, event, sub, batch, time, "
				"ns, section, rr_index, name, type, type_raw, class, ttl, data";
const char chx_flows_cols[] =
    "capture_id, batch, flow_id, lookup_id, time, ns, name, qtype, client_netns_id, "
    "client_addr, client_port, client_k8s_namespace, client_k8s_podname, "
    "client_k8s_containername, client_comm, client_pid, client_role, server, outcome, rcode, "
    "rcode_origin, latency_ns, retries, lost_direction, lost_netns_id, lost_role, "
    "lost_after_ts, hops, forwarder_netns_id, forwarder_k8s_namespace, forwarder_k8s_podname, "
    "upstreams, upstreams_answered, upstream_server, upstream_rcode, upstream_latency_ns, "
    "slowest_hop_role, slowest_hop_netns_id, slowest_ns";

/* s with every "{db}" replaced by db; malloc'd. */
static char *fill_db(const char *s, const char *db)
{
	size_t n = 1, dl = strlen(db);
	for (const char *p = s; *p; p++)
		n += !strncmp(p, "{db}", 4) ? dl : 1;
	char *out = malloc(n), *o = out;
	if (!out)
		return NULL;
	while (*s) {
		if (!strncmp(s, "{db}", 4)) {
			memcpy(o, db, dl);
			o += dl;
			s += 4;
		} else {
			*o++ = *s++;
		}
	}
	*o = 0;
	return out;
}

size_t chx_schema(const char *db, char **out, size_t max)
{
	size_t n = 0;
	for (size_t i = 0; i < sizeof(ddl) / sizeof(ddl[0]) && n < max; i++) {
		out[n] = fill_db(ddl[i], db);
		if (!out[n]) {
			while (n)
				free(out[--n]);
			return 0;
		}
		n++;
	}
	return n;
}

char *chx_report_sql(const char *name, const char *db)
{
	size_t n;
	const struct chx_report *r = chx_reports(&n);
	for (size_t i = 0; i < n; i++)
		if (!strcmp(r[i].name, name))
			return fill_db(r[i].sql, db);
	return NULL;
}
