#!/usr/bin/env python3
"""One DNS query over UDP from a fixed source port and DNS ID, for lab scenarios that dig and
kdig cannot set up: two pods sending the same ID from the same port, a client resending the
same message after a timeout, a client retrying with a new ID on the same socket.

  dnsq.py SERVER NAME [--qtype A] [--id 0x4242] [--sport 40053] [--timeout 1.0]
          [--tries 1] [--new-id]

Each try waits --timeout seconds for the answer; a later try resends the same bytes, or with
--new-id the same question under the next ID. Prints "rcode N id X tries T" for the answer and
exits 0, or prints "timeout" and exits 1. Only for the lab: SERVER must be a lab address.
"""
import argparse
import socket
import struct
import sys

QTYPES = {"A": 1, "NS": 2, "AAAA": 28, "TXT": 16, "MX": 15, "SRV": 33}


def query(qid, name, qtype):
    labels = b"".join(bytes([len(p)]) + p.encode() for p in name.rstrip(".").split(".") if p)
    # RD set, one question, class IN
    return struct.pack("!HHHHHH", qid, 0x0100, 1, 0, 0, 0) + labels + b"\0" + struct.pack(
        "!HH", QTYPES[qtype], 1)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("server")
    ap.add_argument("name")
    ap.add_argument("--qtype", default="A", choices=sorted(QTYPES))
    ap.add_argument("--id", default="0x4242", type=lambda s: int(s, 0))
    ap.add_argument("--sport", default=40053, type=int)
    ap.add_argument("--timeout", default=1.0, type=float)
    ap.add_argument("--tries", default=1, type=int)
    ap.add_argument("--new-id", action="store_true")
    a = ap.parse_args()

    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("0.0.0.0", a.sport))
    s.settimeout(a.timeout)
    qid = a.id
    for t in range(1, a.tries + 1):
        s.sendto(query(qid, a.name, a.qtype), (a.server, 53))
        try:
            while True:
                data, _ = s.recvfrom(65535)
                if len(data) >= 12 and struct.unpack("!H", data[:2])[0] == qid:
                    print("rcode %d id %04x tries %d" % (data[3] & 0xF, qid, t))
                    return 0
        except socket.timeout:
            if a.new_id:
                qid = (qid + 1) & 0xFFFF
    print("timeout")
    return 1


if __name__ == "__main__":
    sys.exit(main())
