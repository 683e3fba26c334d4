#!/usr/bin/env python3
"""Sends hand-made (often malformed) DNS packets out of an interface with an AF_PACKET
SOCK_DGRAM socket, so no kernel stack fixes their headers: the recorder's socket filter sees
them exactly as written. Run inside the sending netns: badpkt.py IFNAME.
Prints one line per packet: TAG what the recorder should do with it."""
import socket
import struct
import sys

SRC4, DST4 = socket.inet_aton("10.199.0.1"), socket.inet_aton("10.199.0.2")
SRC6 = socket.inet_pton(socket.AF_INET6, "fd00:199::1")
DST6 = socket.inet_pton(socket.AF_INET6, "fd00:199::2")
DNSQ = bytes.fromhex("beef01000001000000000000") + b"\x03bad\x03rec\x04test\x00\x00\x01\x00\x01"


def ip4(proto, payload, tot_len=None, ihl=5, frag=0, ident=0x1234):
    opts = b"\x01" * (ihl * 4 - 20)
    tl = tot_len if tot_len is not None else 20 + len(opts) + len(payload)
    hdr = struct.pack("!BBHHHBBH4s4s", 0x40 | ihl, 0, tl, ident, frag, 64, proto, 0, SRC4, DST4)
    return hdr + opts + payload


def udp(sport, dport, payload, ulen=None):
    return struct.pack("!HHHH", sport, dport, ulen if ulen is not None else 8 + len(payload), 0) + payload


def tcp(sport, dport, seq, payload, doff=5):
    return struct.pack("!HHIIBBHHH", sport, dport, seq, 1, doff << 4, 0x18, 65535, 0, 0) + \
        b"\x01" * (doff * 4 - 20 if doff > 5 else 0) + payload


def ip6(nh, payload, plen=None):
    pl = plen if plen is not None else len(payload)
    return struct.pack("!IHBB16s16s", 6 << 28, pl, nh, 64, SRC6, DST6) + payload


def main():
    ifname = sys.argv[1]
    s = socket.socket(socket.AF_PACKET, socket.SOCK_DGRAM)
    pkts = []
    pkts.append(("good4", 0x0800, ip4(17, udp(40001, 53, DNSQ))))
    pkts.append(("udplen_lies", 0x0800, ip4(17, udp(40002, 53, DNSQ, ulen=900))))
    pkts.append(("totlen_lies", 0x0800, ip4(17, udp(40003, 53, DNSQ), tot_len=1400)))
    pkts.append(("udp_cut", 0x0800, ip4(17, struct.pack("!HH", 40004, 53))))
    pkts.append(("nondns", 0x0800, ip4(17, udp(40005, 53, b"\xff" * 7))))
    pkts.append(("ip_options", 0x0800, ip4(17, udp(40006, 53, DNSQ), ihl=8)))
    pkts.append(("ihl_lies", 0x0800, ip4(17, udp(40007, 53, DNSQ), ihl=5)[:0] +
                 struct.pack("!BBHHHBBH4s4s", 0x43, 0, 48, 1, 0, 64, 17, 0, SRC4, DST4) +
                 udp(40007, 53, DNSQ)[:8]))
    pkts.append(("tcp_doff_bad", 0x0800, ip4(6, tcp(40008, 53, 1000, DNSQ, doff=2))))
    m = struct.pack("!H", len(DNSQ)) + DNSQ
    pkts.append(("tcp_part1", 0x0800, ip4(6, tcp(40009, 53, 5000, m[:10]))))
    pkts.append(("tcp_part2", 0x0800, ip4(6, tcp(40009, 53, 5010, m[10:]))))
    big = bytes.fromhex("beef81800001000100000000") + b"\x00" * 2988
    pkts.append(("oversize", 0x0800, ip4(17, udp(53, 40010, big))))
    # IPv4 fragments of one datagram: first (with UDP header) then a later one.
    body = udp(53, 40011, big[:1400], ulen=8 + 2800)
    pkts.append(("frag_first", 0x0800, ip4(17, body, frag=0x2000, ident=0x7777)))
    pkts.append(("frag_later", 0x0800, ip4(17, big[1400:2800], frag=(1408 // 8), ident=0x7777)))
    pkts.append(("frag_unknown", 0x0800, ip4(17, big[:64], frag=100, ident=0x5555)))
    hbh = bytes([60, 0]) + b"\x01\x04\x00\x00\x00\x00"
    dst = bytes([17, 0]) + b"\x01\x04\x00\x00\x00\x00"
    pkts.append(("v6_ext", 0x86DD, ip6(0, hbh + dst + udp(40012, 53, DNSQ))))
    chain = b"".join(bytes([60, 0]) + b"\x01\x04\x00\x00\x00\x00" for _ in range(7))
    pkts.append(("v6_deep", 0x86DD, ip6(60, chain + udp(40013, 53, DNSQ))))
    pkts.append(("v6_ext_cut", 0x86DD, ip6(0, bytes([17, 30]) + b"\x00" * 6)))
    pkts.append(("v6_plen_lies", 0x86DD, ip6(17, udp(40014, 53, DNSQ), plen=3000)))
    pkts.append(("notdns_port", 0x0800, ip4(17, udp(40015, 80, DNSQ))))
    for tag, proto, p in pkts:
        s.sendto(p, (ifname, proto, 0, 0, b"\xff" * 6))
        print(tag)


main()
