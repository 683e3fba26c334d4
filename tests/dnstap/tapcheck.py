#!/usr/bin/env python3
"""tapcheck.py: compares what dnstap-ldns reads from a dnstap file with what dnsreel-replay says.

  tapcheck.py ldns-yaml EVENTS.jsonl FLOWS.jsonl
      the dnstap export of a capture (dnstap-ldns -y output) against replay -o json of the same
      capture: the same messages (count, type, addresses, ports, DNS id, qname, time to the
      microsecond dnstap-ldns prints), types expected from --flows -o json (an upstream id of a
      flow: FORWARDER_*, the client's transaction: CLIENT_*, in no flow: TOOL_*).
  tapcheck.py summary ldns-yaml
      one line per message: type qname id (for diffs between two dnstap files)
Exit 0 when equal, 1 with the differences on stdout.
"""
import collections
import datetime
import json
import re
import sys


def parse_ldns_yaml(path):
    msgs, cur, section = [], None, None
    for line in open(path, encoding="utf-8", errors="replace"):
        line = line.rstrip("\n")
        if line == "---":
            if cur:
                msgs.append(cur)
            cur, section = None, None
            continue
        if cur is None:
            cur = {}
        m = re.match(r"^  (\w+): (.*)$", line)
        if m:
            k, v = m.group(1), m.group(2)
            if k in ("query_message", "response_message"):
                section = k
            elif v.startswith("!!timestamp "):
                cur[k] = v[len("!!timestamp "):]
            else:
                cur[k] = v.strip('"')
            continue
        m = re.match(r"^identity: \"(.*)\"$", line)
        if m:
            cur["identity"] = m.group(1)
        m = re.search(r"->>HEADER<<-.* id: (\d+)", line)
        if m and section:
            cur["id"] = int(m.group(1))
        m = re.match(r"^    ;(\S+)\s+IN\s+(\S+)$", line)
        if m and section and "qname" not in cur:
            cur["qname"] = m.group(1)
    if cur:
        msgs.append(cur)
    return msgs


def usec(raw_ns):
    t = datetime.datetime.fromtimestamp(raw_ns // 1000000000, datetime.timezone.utc)
    return t.strftime("%Y-%m-%d %H:%M:%S") + ".%06d" % (raw_ns % 1000000000 // 1000)


def key_ldns(m):
    resp = m["type"].endswith("_RESPONSE")
    src = (m.get("response_address"), m.get("response_port")) if resp else \
        (m.get("query_address"), m.get("query_port"))
    dst = (m.get("query_address"), m.get("query_port")) if resp else \
        (m.get("response_address"), m.get("response_port"))
    t = m.get("response_time") if resp else m.get("query_time")
    return (m["type"], src[0], str(src[1]), dst[0], str(dst[1]), m.get("id"),
            m.get("qname", ""), t)


def expected(events_path, flows_path):
    # (timestamp_raw, netns, id, src port) -> type, from the flows
    role = {}
    for line in open(flows_path):
        f = json.loads(line)
        ups = {u["id"] for u in f.get("upstream", [])}
        cid = f["events"][0]["id"] if f.get("events") else None
        for e in f.get("events", []):
            k = (e["timestamp_raw"], e["netns_id"], e["id"], e["src"]["port"])
            role[k] = "FORWARDER" if e["id"] in ups and e["id"] != cid else "CLIENT"
    out = []
    for line in open(events_path):
        e = json.loads(line)
        k = (e["timestamp_raw"], e["netns_id"], e["id"], e["src"]["port"])
        r = role.get(k, "TOOL")
        t = r + ("_RESPONSE" if e["qr"] == "R" else "_QUERY")
        out.append((t, e["src"]["addr"], str(e["src"]["port"]), e["dst"]["addr"],
                    str(e["dst"]["port"]), int(e["id"], 16), e["name"] or "",
                    usec(e["timestamp_raw"])))
    return out


def main():
    if sys.argv[1] == "summary":
        for m in parse_ldns_yaml(sys.argv[2]):
            print(m.get("type"), m.get("qname"), m.get("id"))
        return 0
    got = collections.Counter(key_ldns(m) for m in parse_ldns_yaml(sys.argv[1]))
    want = collections.Counter(expected(sys.argv[2], sys.argv[3]))
    if got == want:
        types = collections.Counter(k[0] for k in got.elements())
        print("same %d messages: %s" % (sum(got.values()),
                                         ", ".join("%s %d" % kv for kv in sorted(types.items()))))
        return 0
    for k, n in sorted((want - got).items(), key=str)[:10]:
        print("missing from the dnstap file (%d): %s" % (n, k))
    for k, n in sorted((got - want).items(), key=str)[:10]:
        print("not expected in the dnstap file (%d): %s" % (n, k))
    return 1


sys.exit(main())
