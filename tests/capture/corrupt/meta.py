#!/usr/bin/env python3
"""Rewrites fields of the META record that starts a segment (capture/FORMAT.md 3.1) and
recomputes its CRC32C, so readers get past the checksum to the crafted values.
Usage: meta.py SEGMENT FIELD=VALUE...  (FIELD: major, minor, boot_to_wall_ns, start_wall_ns)"""
import struct
import sys

FIELDS = {"major": (0, "<I"), "minor": (4, "<I"), "boot_to_wall_ns": (12, "<q"),
          "start_wall_ns": (20, "<q")}


def crc32c(data, crc=0):
    crc ^= 0xFFFFFFFF
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 if crc & 1 else 0)
    return crc ^ 0xFFFFFFFF


def main():
    path = sys.argv[1]
    buf = bytearray(open(path, "rb").read())
    magic, size = struct.unpack_from("<II", buf, 0)
    if magic != 0x184D2A5E or buf[8] != 1:
        sys.exit("meta.py: %s does not start with a META record" % path)
    body = 16
    for arg in sys.argv[2:]:
        name, value = arg.split("=", 1)
        off, fmt = FIELDS[name]
        struct.pack_into(fmt, buf, body + off, int(value))
    struct.pack_into("<I", buf, 12, crc32c(bytes(buf[8:12]) + bytes(buf[body:8 + size])))
    open(path, "wb").write(buf)


main()
