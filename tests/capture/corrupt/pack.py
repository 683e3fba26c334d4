#!/usr/bin/env python3
"""Damages a pack (a dnsreel pack ustar file) the way a bad copy or an attacker would.
Usage: pack.py PACK OP [ARGS]; NAME is a member name inside the capture (seg/000001.zst).
  cut-member NAME K    cut the file K bytes into NAME's data
  checksum NAME        break NAME's header checksum
  rename NAME NEW      rename NAME to NEW inside the capture (checksum kept valid)
  size NAME BYTES      give NAME a header size of BYTES (checksum kept valid)
  dup NAME             append a second copy of NAME before the end marker
"""
import sys


def members(b):
    off = 0
    while off + 512 <= len(b) and any(b[off:off + 512]):
        h = b[off:off + 512]
        name = h[:100].rstrip(b"\0").decode()
        size = int(h[124:136].rstrip(b"\0 ").decode() or "0", 8)
        yield off, name.split("/", 1)[1] if "/" in name else name, size, name
        off += 512 + (size + 511) // 512 * 512


def find(b, want):
    for off, rel, size, full in members(b):
        if rel == want:
            return off, size, full
    sys.exit("no member " + want)


def fix_sum(h):
    h[148:156] = b" " * 8
    h[148:155] = b"%06o\0" % sum(h)
    h[155:156] = b" "


def main():
    path, op, args = sys.argv[1], sys.argv[2], sys.argv[3:]
    b = bytearray(open(path, "rb").read())
    off, size, full = find(b, args[0])
    h = b[off:off + 512]
    if op == "cut-member":
        b = b[:off + 512 + int(args[1])]
    elif op == "checksum":
        h[148:155] = b"000001\0"
        b[off:off + 512] = h
    elif op == "rename":
        top = full.split("/", 1)[0]
        h[:100] = (top + "/" + args[1]).encode().ljust(100, b"\0")
        fix_sum(h)
        b[off:off + 512] = h
    elif op == "size":
        h[124:136] = b"%011o\0" % int(args[1])
        fix_sum(h)
        b[off:off + 512] = h
    elif op == "dup":
        end = off + 512 + (size + 511) // 512 * 512
        copy = b[off:end]
        last = 0
        for o, _, s, _ in members(b):
            last = o + 512 + (s + 511) // 512 * 512
        b = b[:last] + copy + b[last:]
    else:
        sys.exit("unknown op " + op)
    open(path, "wb").write(bytes(b))


main()
