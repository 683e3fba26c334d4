#!/usr/bin/python3
"""Offline check of deploy/daemonset.yaml against the Kubernetes API types.

kubectl's own validation needs an API server, so the schema here is the one Debian ships in
python3-kubernetes: its model classes are generated from the Kubernetes OpenAPI spec and carry
every field's JSON name and type (attribute_map, openapi_types) and, in their constructors, the
required fields. Every key of every object must be a field of its type with a value of that
type; required fields must be present. Then the properties the recorder depends on.
Usage: validate.py MANIFEST      exit 0 valid, 1 invalid (each problem on stderr), 2 usage.
"""
import re
import sys

import yaml
from kubernetes import client

KINDS = {
    ("v1", "Namespace"): "V1Namespace",
    ("v1", "ServiceAccount"): "V1ServiceAccount",
    ("apps/v1", "DaemonSet"): "V1DaemonSet",
}
PRIMITIVE = {"str": str, "int": int, "bool": bool, "float": (int, float)}
problems = []


def check(value, typ, path):
    """value (parsed YAML) against an openapi_types type string."""
    if value is None:
        return
    m = re.fullmatch(r"list\[(.+)\]", typ)
    if m:
        if not isinstance(value, list):
            problems.append(f"{path}: expected a list ({typ})")
            return
        for i, v in enumerate(value):
            check(v, m.group(1), f"{path}[{i}]")
        return
    m = re.fullmatch(r"dict\(str, (.+)\)", typ)
    if m:
        if not isinstance(value, dict):
            problems.append(f"{path}: expected a map ({typ})")
            return
        for k, v in value.items():
            check(v, m.group(1), f"{path}.{k}")
        return
    if typ == "object":
        # IntOrString and Quantity: a number or a string.
        if not isinstance(value, (str, int, float)) and not isinstance(value, dict):
            problems.append(f"{path}: expected a string or number")
        return
    if typ in PRIMITIVE:
        if isinstance(value, bool) and typ != "bool" or not isinstance(value, PRIMITIVE[typ]):
            problems.append(f"{path}: expected {typ}, got {type(value).__name__} {value!r}")
        return
    if typ == "datetime":
        return
    cls = getattr(client, typ, None)
    if cls is None:
        problems.append(f"{path}: unknown type {typ}")
        return
    if not isinstance(value, dict):
        problems.append(f"{path}: expected an object ({typ})")
        return
    by_json = {j: a for a, j in cls.attribute_map.items()}
    for k, v in value.items():
        if k not in by_json:
            problems.append(f"{path}.{k}: no such field in {typ}")
            continue
        check(v, cls.openapi_types[by_json[k]], f"{path}.{k}")
    # Required fields: the generated constructor refuses None for them.
    present = {by_json[k]: v for k, v in value.items() if k in by_json}
    for attr in cls.openapi_types:
        if attr in present:
            continue
        try:
            cls(**dict(present, **{attr: None}))
        except ValueError as e:
            if f"`{attr}`" in str(e) and "None" in str(e):
                problems.append(f"{path}.{cls.attribute_map[attr]}: required in {typ}")
        except TypeError:
            pass


def recorder_checks(ds, path):
    """What dnsreel needs from its pod, beyond schema validity."""
    spec = ds.get("spec") or {}
    tmpl = spec.get("template") or {}
    pod = tmpl.get("spec") or {}
    sel = (spec.get("selector") or {}).get("matchLabels") or {}
    labels = (tmpl.get("metadata") or {}).get("labels") or {}
    if not sel or any(labels.get(k) != v for k, v in sel.items()):
        problems.append(f"{path}: spec.selector.matchLabels do not match the template's labels")
    if pod.get("hostPID") is not True:
        problems.append(f"{path}: hostPID must be true (process context of every pod)")
    if pod.get("hostNetwork") is not True:
        problems.append(f"{path}: hostNetwork must be true (kube-proxy's rules, node netns)")
    if not any(t.get("operator") == "Exists" and "key" not in t for t in pod.get("tolerations") or []):
        problems.append(f"{path}: a toleration with operator Exists and no key (every node)")
    vols = {v.get("name"): v for v in pod.get("volumes") or []}
    cs = pod.get("containers") or []
    if len(cs) != 1:
        problems.append(f"{path}: one container expected, {len(cs)} found")
        return
    c = cs[0]
    caps = set(((c.get("securityContext") or {}).get("capabilities") or {}).get("add") or [])
    need = {"BPF", "PERFMON", "NET_ADMIN", "NET_RAW", "SYS_ADMIN", "SYS_PTRACE", "SYS_RESOURCE"}
    if (c.get("securityContext") or {}).get("privileged") is not True and not need <= caps:
        problems.append(f"{path}: privileged, or capabilities {sorted(need - caps)} missing")
    mounts = {m.get("mountPath"): m for m in c.get("volumeMounts") or []}
    for m in mounts.values():
        if m.get("name") not in vols:
            problems.append(f"{path}: volumeMount {m.get('name')} names no volume")
    host = mounts.get("/host")
    if (not host or host.get("readOnly") is not True
            or ((vols.get(host.get("name")) or {}).get("hostPath") or {}).get("path") != "/"):
        problems.append(f"{path}: the host's / must be mounted read-only at /host")
    args = c.get("args") or []
    if args[:1] != ["record"]:
        problems.append(f"{path}: args must start with record")
    for want in ("--host-root=/host", "--max-size=", "--max-age=", "--write=/var/lib/dnsreel/"):
        if not any(a.startswith(want) for a in args):
            problems.append(f"{path}: args lack {want}")
    if "/var/lib/dnsreel" not in mounts or "hostPath" not in vols.get(
            mounts["/var/lib/dnsreel"].get("name"), {}):
        problems.append(f"{path}: captures must be on a hostPath at /var/lib/dnsreel")
    locks = mounts.get("/run/dnsreel")
    if (not locks or locks.get("readOnly") is True or ((vols.get(locks.get("name")) or {})
                                                      .get("hostPath") or {}).get("path") != "/run/dnsreel"):
        problems.append(f"{path}: the tc hook's slot locks need the host's /run/dnsreel, "
                        "writable, at /run/dnsreel")
    env = {e.get("name"): e for e in c.get("env") or []}
    ref = ((env.get("NODE_NAME") or {}).get("valueFrom") or {}).get("fieldRef") or {}
    if ref.get("fieldPath") != "spec.nodeName":
        problems.append(f"{path}: NODE_NAME must come from the downward API (spec.nodeName)")
    res = c.get("resources") or {}
    for part in ("requests", "limits"):
        for r in ("cpu", "memory"):
            if r not in (res.get(part) or {}):
                problems.append(f"{path}: resources.{part}.{r} missing")


def main():
    if len(sys.argv) != 2:
        print("usage: validate.py MANIFEST", file=sys.stderr)
        return 2
    try:
        with open(sys.argv[1]) as f:
            docs = [d for d in yaml.safe_load_all(f) if d is not None]
    except (OSError, yaml.YAMLError) as e:
        print(f"validate: cannot read {sys.argv[1]}: {e}", file=sys.stderr)
        return 1
    ds = 0
    for i, d in enumerate(docs):
        where = f"document {i + 1}"
        key = (d.get("apiVersion"), d.get("kind")) if isinstance(d, dict) else None
        if key not in KINDS:
            problems.append(f"{where}: unexpected apiVersion/kind {key}")
            continue
        where += f" ({d['kind']} {(d.get('metadata') or {}).get('name')})"
        check(d, KINDS[key], where)
        if d["kind"] == "DaemonSet":
            ds += 1
            recorder_checks(d, where)
    if ds != 1:
        problems.append(f"{ds} DaemonSets, one expected")
    for p in problems:
        print(f"validate: {sys.argv[1]}: {p}", file=sys.stderr)
    if problems:
        return 1
    print(f"{sys.argv[1]}: {len(docs)} objects valid (Kubernetes API types of python3-kubernetes "
          f"{client.__version__ if hasattr(client, '__version__') else ''})".replace(" )", ")"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
