#!/usr/bin/env python3
"""Ground-truth checks for test_flows.sh: the flows of `dnsreel-replay --flows -o jsonl` against
the events of `dnsreel-replay -o jsonl` of the same capture and what each scenario is known to
have done (the scenario names are unique, so the events of a scenario are those with its name).

  flows_check.py TRUTH.json EVENTS.jsonl FLOWS.jsonl
  flows_check.py --recording-only TRUTH.json EVENTS.jsonl

Prints every failed check and exits 1 if there is one.
"""
import collections
import json
import sys

FAILS = []


def check(cond, what):
    if not cond:
        FAILS.append(what)
    return cond


def key(e):
    """An event's identity across both outputs: where and when it was seen, and what it was."""
    return (e["timestamp_raw"], e["netns_id"], e["pkt_type"], e["id"], e["qr"],
            e["src"]["addr"], e["src"]["port"], e["dst"]["addr"], e["dst"]["port"])


def lname(x):
    return (x.get("name") or "").lower()


class Lab:
    def __init__(self, truth, events):
        self.t = truth
        self.ns = truth["netns"]
        self.role_of_ns = {self.ns["app"]: "client", self.ns["app2"]: "client",
                           self.ns["node"]: "node", self.ns["dns"]: "forwarder",
                           self.ns["up"]: "upstream"}
        self.events = events
        self.by_name = collections.defaultdict(list)
        for e in events:
            self.by_name[lname(e)].append(e)

    def ev(self, name):
        return self.by_name.get(name, [])

    def upstream_side(self, e):
        return self.t["up_ip"] in (e["src"]["addr"], e["dst"]["addr"])

    def client_side(self, e, ip):
        return ip in (e["src"]["addr"], e["dst"]["addr"])


def check_recording(lab):
    """The scenarios happened as planned: the drops dropped where they should, and so on."""
    ns = lab.ns
    for n in ("ext1.w.example.test.", "nxd1.example.test.", "sf1.broken.test.",
              "tcp1.w.example.test.", "same1.w.example.test.", "same2.w.example.test."):
        check(any(e["netns_id"] == ns["up"] for e in lab.ev(n)), "%s: never reached the upstream" % n)
    check(not any(e["netns_id"] == ns["up"] for e in lab.ev("flowsvc.default.svc.cluster.local.")),
          "flowsvc: reached the upstream")
    dq = lab.ev("dropq1.w.example.test.")
    check(any(e["netns_id"] == ns["node"] for e in dq), "dropq1: not seen on the node")
    check(not any(e["netns_id"] in (ns["dns"], ns["up"]) for e in dq),
          "dropq1: the drop rule on the node did not drop it")
    dr = lab.ev("droprsp1.w.example.test.")
    check(any(e["netns_id"] == ns["dns"] and e["qr"] == "R" and not lab.upstream_side(e) for e in dr),
          "droprsp1: the forwarder did not answer")
    check(not any(e["netns_id"] == ns["app"] and e["qr"] == "R" for e in dr),
          "droprsp1: the response reached the pod")
    r1 = [e for e in lab.ev("rtry1.w.example.test.") if e["netns_id"] == ns["app"]]
    check([e["qr"] for e in r1] == ["Q", "Q", "R"] and len({e["id"] for e in r1}) == 1,
          "rtry1: app pod did not show query, resend, response with one ID: %s" %
          [(e["qr"], e["id"]) for e in r1])
    r2 = [e for e in lab.ev("rtry2.w.example.test.") if e["netns_id"] == ns["app"]]
    check([(e["qr"], e["id"]) for e in r2] == [("Q", "7171"), ("Q", "7172"), ("R", "7172")],
          "rtry2: app pod did not show 7171, 7172, answer 7172: %s" % [(e["qr"], e["id"]) for e in r2])
    for i in range(1, lab.t["load_n"] + 1):
        n = "load%0*d.w.example.test." % (len(str(lab.t["load_n"])), i)
        if not check(any(e["qr"] == "R" and e["netns_id"] == ns["app"] for e in lab.ev(n)),
                     "%s: no answer reached the pod" % n):
            break
    hc = [e for e in lab.ev(".") if e["qtype"] == "NS"]
    check(any(e["netns_id"] == ns["dns"] for e in hc) and any(e["netns_id"] == ns["up"] for e in hc),
          ". NS: the health-check query is missing")


class Flows:
    def __init__(self, lab, flows):
        self.lab = lab
        self.flows = flows
        self.by_name = collections.defaultdict(list)
        for f in flows:
            self.by_name[lname(f)].append(f)

    def named(self, name, count, what):
        fs = self.by_name.get(name, [])
        check(len(fs) == count, "%s: %d flows named %s, want %d" % (what, len(fs), name, count))
        return fs


def members(f):
    return collections.Counter(key(e) for e in f["events"])


def client_events(lab, f):
    ns = f["client"]["netns_id"]
    return [e for e in f["events"] if e["netns_id"] == ns and not lab.upstream_side(e)]


def check_every_flow(lab, fl):
    """What holds for every flow: layout, order, roles from the traffic, membership overall."""
    need = ("flow_id", "lookup_id", "timestamp", "timestamp_raw", "name", "qtype", "client",
            "server", "outcome", "rcode", "rcode_origin", "latency_ns", "retries", "lost", "hops",
            "upstream", "slowest_hop", "events")
    prev = None
    ids = set()
    for f in fl.flows:
        missing = [k for k in need if k not in f]
        if not check(not missing, "flow %s: fields missing: %s" % (f.get("flow_id"), missing)):
            continue
        fid = f["flow_id"]
        check(fid not in ids, "flow_id %s twice" % fid)
        ids.add(fid)
        check(prev is None or prev <= f["timestamp_raw"],
              "flow %s: out of client-query time order" % fid)
        prev = f["timestamp_raw"]
        ts = [e["timestamp_raw"] for e in f["events"]]
        check(ts == sorted(ts), "flow %s: events not in timestamp order" % fid)
        check(f["outcome"] in ("answered", "unanswered"), "flow %s: outcome %r" % (fid, f["outcome"]))
        check((f["lost"] is None) == (f["outcome"] == "answered"),
              "flow %s: lost %r with outcome %s" % (fid, f["lost"], f["outcome"]))
        for h in f["hops"]:
            want = lab.role_of_ns.get(h["netns_id"])
            check(h["role"] == want, "flow %s (%s): hop in netns %s has role %s, want %s" %
                  (fid, f["name"], h["netns_id"], h["role"], want))
        c = f["client"]
        if c["role"] == "client":
            q = [e for e in f["events"] if e["netns_id"] == c["netns_id"] and e["qr"] == "Q"]
            check(q and f["timestamp_raw"] == q[0]["timestamp_raw"],
                  "flow %s: timestamp_raw is not the client's first query" % fid)
        check(sum(1 for u in f["upstream"] if u["used"]) <= 1, "flow %s: several upstream used" % fid)
    # Every recorded event is in some flow; only upstream transactions may serve several.
    seen = collections.Counter()
    for f in fl.flows:
        seen.update(members(f))
    for e in lab.events:
        n = seen[key(e)]
        if lab.upstream_side(e):
            check(n >= 1, "event %s in no flow" % (key(e),))
        else:
            check(n == 1, "event %s (%s) in %d flows, want 1" % (key(e), lname(e), n))


def check_single(lab, fl, name, what, rcode, origin, n_up, roles):
    """One client, one flow: exactly the events with that name, its outcome and hops."""
    fs = fl.named(name, 1, what)
    if not fs:
        return None
    f = fs[0]
    check(members(f) == collections.Counter(key(e) for e in lab.ev(name)),
          "%s: flow events are not exactly the %d events named %s (flow has %d)" %
          (what, len(lab.ev(name)), name, len(f["events"])))
    c = f["client"]
    check(c["role"] == "client" and c["netns_id"] == lab.ns["app"] and c["addr"] == lab.t["app_ip"],
          "%s: client %s" % (what, c))
    check(c["k8s"]["podName"] == "dnsclient" and c["k8s"]["namespace"] == "default",
          "%s: client k8s %s" % (what, c["k8s"]))
    if rcode is not None:
        check(f["outcome"] == "answered" and f["rcode"] == rcode,
              "%s: outcome %s rcode %s, want answered %s" % (what, f["outcome"], f["rcode"], rcode))
        ce = client_events(lab, f)
        if ce and ce[-1]["qr"] == "R":
            check(f["latency_ns"] == ce[-1]["timestamp_raw"] - ce[0]["timestamp_raw"],
                  "%s: latency_ns %s, want %d (at the client)" %
                  (what, f["latency_ns"], ce[-1]["timestamp_raw"] - ce[0]["timestamp_raw"]))
    if origin is not None:
        check(f["rcode_origin"] == origin, "%s: rcode_origin %r, want %r" % (what, f["rcode_origin"], origin))
    check(len(f["upstream"]) == n_up, "%s: %d upstream transactions, want %d" %
          (what, len(f["upstream"]), n_up))
    hop_roles = {h["role"] for h in f["hops"]}
    check(roles <= hop_roles and ("upstream" in hop_roles) <= ("upstream" in roles),
          "%s: hop roles %s, want %s" % (what, sorted(hop_roles), sorted(roles)))
    check(f["retries"] == 0 or what.startswith("retry"), "%s: retries %s" % (what, f["retries"]))
    return f


def upstream_ids(lab, name):
    """The forwarder's upstream query IDs for NAME, in the order it sent them."""
    out = []
    for e in lab.ev(name):
        if e["netns_id"] == lab.ns["dns"] and e["qr"] == "Q" and lab.upstream_side(e) \
                and e["id"] not in out:
            out.append(e["id"])
    return out


def check_lost(lab, f, what, direction):
    lost = f["lost"]
    if not check(f["outcome"] == "unanswered" and lost is not None,
                 "%s: outcome %s, want unanswered" % (what, f["outcome"])):
        return
    check(lost["direction"] == direction and lost["netns_id"] == lab.ns["node"] and lost["role"] == "node",
          "%s: lost %s, want %s on the node (netns %d)" % (what, lost, direction, lab.ns["node"]))
    qr = "Q" if direction == "query" else "R"
    last = [e["timestamp_raw"] for e in f["events"] if e["qr"] == qr and not lab.upstream_side(e)]
    check(last and lost["after_ts"] == max(last),
          "%s: lost.after_ts %s, want the last sighting %s" % (what, lost["after_ts"], max(last or [0])))


def check_two_pods(lab, fl, name, what, same_id):
    fs = fl.named(name, 2, what)
    if len(fs) != 2:
        return
    addrs = sorted(f["client"]["addr"] for f in fs)
    check(addrs == sorted([lab.t["app_ip"], lab.t["app2_ip"]]), "%s: clients %s" % (what, addrs))
    ups = set()
    for f in fs:
        ip = f["client"]["addr"]
        want = collections.Counter(key(e) for e in lab.ev(name) if lab.client_side(e, ip))
        got = collections.Counter(key(e) for e in f["events"] if not lab.upstream_side(e))
        check(got == want, "%s: flow of %s has %d client-side events, want exactly its %d" %
              (what, ip, sum(got.values()), sum(want.values())))
        check(f["outcome"] == "answered" and f["rcode"] == "Success", "%s: %s %s" % (what, ip, f["outcome"]))
        check(len(f["upstream"]) >= 1, "%s: flow of %s has no upstream" % (what, ip))
        ups.update(key(e) for e in f["events"] if lab.upstream_side(e))
        if same_id:
            check(f["client"]["port"] == 40053, "%s: client port %s" % (what, f["client"]["port"]))
            check(all(e["id"] == "5151" for e in f["events"] if not lab.upstream_side(e)),
                  "%s: client-side ids" % what)
    check(ups == {key(e) for e in lab.ev(name) if lab.upstream_side(e)},
          "%s: the upstream events are not all in the two flows" % what)
    check(fs[0]["lookup_id"] != fs[1]["lookup_id"], "%s: two pods in one lookup" % what)


def check_flows(lab, fl):
    check_every_flow(lab, fl)
    lookups = collections.defaultdict(set)
    for f in fl.flows:
        lookups[f["lookup_id"]].add(f["flow_id"])

    def alone(f, what):
        if f is not None:
            check(lookups[f["lookup_id"]] == {f["flow_id"]},
                  "%s: lookup %s holds %d flows, want 1" % (what, f["lookup_id"], len(lookups[f["lookup_id"]])))

    every = {"client", "node", "forwarder", "upstream"}
    local = {"client", "node", "forwarder"}
    f = check_single(lab, fl, "ext1.w.example.test.", "external", "Success", None, 1, every)
    if f:
        u = f["upstream"][0] if f["upstream"] else {}
        ce = client_events(lab, f)
        check(u.get("used") is True and u.get("answered") is True and u.get("rcode") == "Success",
              "external: upstream %s" % u)
        check(ce and u.get("id") == upstream_ids(lab, "ext1.w.example.test.")[0] and u.get("id") != ce[0]["id"],
              "external: upstream id %s is not the forwarder's new id" % u.get("id"))
        check(lab.t["up_ip"] in str(u.get("server")), "external: upstream server %s" % u.get("server"))
    alone(f, "external")
    alone(check_single(lab, fl, "flowsvc.default.svc.cluster.local.", "cluster name", "Success",
                       None, 0, local), "cluster name")
    alone(check_single(lab, fl, "nxd1.example.test.", "nxdomain upstream", "NameError", "upstream", 1,
                       every), "nxdomain upstream")
    alone(check_single(lab, fl, "nxd2.default.svc.cluster.local.", "nxdomain forwarder", "NameError",
                       "forwarder", 0, local), "nxdomain forwarder")

    ids = upstream_ids(lab, "sf1.broken.test.")
    check(len(ids) >= 2, "servfail: unbound tried the upstream %d times, the scenario wants several" % len(ids))
    f = check_single(lab, fl, "sf1.broken.test.", "servfail", "ServerFailure", "upstream", len(ids), every)
    if f:
        check([u["id"] for u in f["upstream"]] == ids,
              "servfail: upstream ids %s, want every try in order %s" % ([u["id"] for u in f["upstream"]], ids))
        check(all(u["rcode"] == "ServerFailure" for u in f["upstream"]), "servfail: upstream rcodes")
    alone(f, "servfail")

    check_two_pods(lab, fl, "same1.w.example.test.", "same name two pods", False)
    check_two_pods(lab, fl, "same2.w.example.test.", "same id and port two pods", True)

    f = check_single(lab, fl, "dropq1.w.example.test.", "query dropped", None, None, 0, {"client", "node"})
    if f:
        check_lost(lab, f, "query dropped", "query")
    alone(f, "query dropped")
    f = check_single(lab, fl, "droprsp1.w.example.test.", "response dropped", None, None, 1, every)
    if f:
        check_lost(lab, f, "response dropped", "response")
    alone(f, "response dropped")

    f = check_single(lab, fl, "rtry1.w.example.test.", "retry same message", "Success", None, 1, every)
    if f:
        check(f["retries"] == 1, "retry same message: retries %s, want 1" % f["retries"])
    alone(f, "retry same message")
    fs = fl.named("rtry2.w.example.test.", 2, "retry new id")
    if len(fs) == 2:
        check([f["client"]["port"] for f in fs] == [40055, 40055], "retry new id: ports")
        check([client_events(lab, f)[0]["id"] for f in fs] == ["7171", "7172"], "retry new id: order")
        check([f["outcome"] for f in fs] == ["unanswered", "answered"],
              "retry new id: outcomes %s" % [f["outcome"] for f in fs])
        check_lost(lab, fs[0], "retry new id (first)", "query")
        check(fs[0]["lookup_id"] == fs[1]["lookup_id"] and lookups[fs[0]["lookup_id"]] ==
              {fs[0]["flow_id"], fs[1]["flow_id"]}, "retry new id: the two flows are not one lookup")

    walk = ["srch1.w.example.test.default.svc.cluster.local.", "srch1.w.example.test.svc.cluster.local.",
            "srch1.w.example.test.cluster.local.", "srch1.w.example.test."]
    sf = sorted([f for f in fl.flows if lname(f).startswith("srch1.")], key=lambda f: f["timestamp_raw"])
    got = [(lname(f), f["qtype"]) for f in sf]
    want_set = [(n, t) for n in walk for t in ("A", "AAAA")]
    check(sorted(got) == sorted(want_set) and [g[0] for g in got] == [n for n in walk for _ in (0, 1)],
          "search path: flows %s, want A and AAAA of %s in that order" % (got, walk))
    check(len({f["lookup_id"] for f in sf}) == 1 and
          lookups[sf[0]["lookup_id"]] == {f["flow_id"] for f in sf} if sf else False,
          "search path: the %d flows are not exactly one lookup: %s" %
          (len(sf), [(lname(f), f["qtype"], f["lookup_id"], f["client"]["port"]) for f in sf]))
    for f in sf:
        last = lname(f) == walk[-1]
        check(f["outcome"] == "answered" and f["rcode"] == ("Success" if last else "NameError"),
              "search path: %s %s %s %s" % (lname(f), f["qtype"], f["outcome"], f["rcode"]))
        check(f["client"]["comm"] == "getent", "search path: comm %r" % f["client"]["comm"])
        check(members(f) == collections.Counter(
            key(e) for e in lab.ev(lname(f)) if e["qtype"] == f["qtype"]),
            "search path: %s %s events" % (lname(f), f["qtype"]))

    f = check_single(lab, fl, "tcp1.w.example.test.", "tcp", "Success", None, 1, every)
    if f:
        check(all(e["src"]["proto"] == "TCP" for e in client_events(lab, f)), "tcp: client events not TCP")
    alone(f, "tcp")

    hc = [f for f in fl.flows if f["name"] == "." and f["qtype"] == "NS"]
    if check(len(hc) == 1, "health check: %d flows for . NS, want 1" % len(hc)):
        f = hc[0]
        check(f["client"]["role"] == "forwarder" and f["client"]["netns_id"] == lab.ns["dns"],
              "health check: client %s, want role forwarder in the dns netns" % f["client"])
        check(members(f) == collections.Counter(key(e) for e in lab.ev(".") if e["qtype"] == "NS"),
              "health check: events")
        check(f["outcome"] == "answered", "health check: %s" % f["outcome"])

    n = lab.t["load_n"]
    lf = [f for f in fl.flows if lname(f).startswith("load")]
    check(len(lf) == n, "load: %d flows, want %d" % (len(lf), n))
    check(all(f["outcome"] == "answered" and f["rcode"] == "Success" for f in lf), "load: not all answered")
    check(len({lname(f) for f in lf}) == n, "load: a name in several flows")
    bad = [lname(f) for f in lf if members(f) != collections.Counter(key(e) for e in lab.ev(lname(f)))]
    check(not bad, "load: %d flows without exactly their events, e.g. %s" % (len(bad), bad[:3]))
    check(len({f["lookup_id"] for f in lf}) == n, "load: different names in one lookup")


def main():
    args = sys.argv[1:]
    only = args and args[0] == "--recording-only"
    if only:
        args = args[1:]
    if len(args) != (2 if only else 3):
        print(__doc__, file=sys.stderr)
        return 2
    truth = json.load(open(args[0]))
    events = [json.loads(line) for line in open(args[1])]
    lab = Lab(truth, events)
    check_recording(lab)
    if not only:
        flows = [json.loads(line) for line in open(args[2])]
        check_flows(lab, Flows(lab, flows))
        print("%d flows, %d events checked" % (len(flows), len(events)))
    for m in FAILS:
        print("FAIL:", m)
    return 1 if FAILS else 0


if __name__ == "__main__":
    sys.exit(main())
