"""Sends queries to a local test server (127.0.0.1 only) and saves query/response bytes.
Called by make_data.sh. Each file NAME.q.bin / NAME.r.bin holds one raw DNS message."""
import os, random, socket, struct, sys

host, port, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
assert host == "127.0.0.1", "loopback only"

def qname(n):
    b = b""
    for l in n.rstrip(".").split("."):
        b += bytes([len(l)]) + l.encode()
    return b + b"\0"

def query(name, qtype, edns=None, ecs=None, rd=1, qid=None):
    qid = qid if qid is not None else random.randrange(65536)
    ar = 1 if edns else 0
    m = struct.pack(">HHHHHH", qid, rd << 8, 1, 0, 0, ar) + qname(name) + struct.pack(">HH", qtype, 1)
    if edns:
        opts = b""
        if ecs:
            fam, addr, plen = ecs
            ab = socket.inet_pton(socket.AF_INET if fam == 1 else socket.AF_INET6, addr)[: (plen + 7) // 8]
            opts += struct.pack(">HHHBB", 8, 4 + len(ab), fam, plen, 0) + ab
        udp, do = edns
        m += b"\0" + struct.pack(">HHIH", 41, udp, 0x8000 if do else 0, len(opts)) + opts
    return m

cases = [
    ("a", "www.example.test.", 1, None, None),
    ("aaaa", "www.example.test.", 28, (1232, False), None),
    ("cname_chain", "chain.example.test.", 1, None, None),
    ("mx", "example.test.", 15, (4096, True), None),
    ("txt", "txt.example.test.", 16, None, None),
    ("srv", "_sip._tcp.example.test.", 33, (1232, False), None),
    ("srv2", "_dns._udp.example.test.", 33, None, None),
    ("soa", "example.test.", 6, None, None),
    ("ns", "example.test.", 2, (1232, True), None),
    ("ptr", "1.2.0.192.in-addr.arpa.example.test.", 12, None, None),
    ("nxdomain", "nope.example.test.", 1, (1232, False), None),
    ("nodata", "www.example.test.", 15, None, None),
    ("refused", "other.invalid.", 1, None, None),
    ("generic", "loc.example.test.", 65534, None, None),
    ("hinfo", "hinfo.example.test.", 13, None, None),
    ("ecs4", "www.example.test.", 1, (1232, False), (1, "10.1.2.0", 24)),
    ("ecs6", "www.example.test.", 28, (1232, True), (2, "2001:db8:1::", 48)),
    ("big_txt", "big.example.test.", 16, None, None),
    ("any", "example.test.", 255, (4096, False), None),
]
random.seed(7)
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(2)
for name, qn, qt, edns, ecs in cases:
    q = query(qn, qt, edns, ecs)
    s.sendto(q, (host, port))
    r, _ = s.recvfrom(65535)
    open(os.path.join(out, name + ".q.bin"), "wb").write(q)
    open(os.path.join(out, name + ".r.bin"), "wb").write(r)
# One exchange over TCP, as the stream bytes (2-byte length prefix) both ways.
t = socket.create_connection((host, port), timeout=2)
q1 = query("www.example.test.", 1)
q2 = query("txt.example.test.", 16)
t.sendall(struct.pack(">H", len(q1)) + q1 + struct.pack(">H", len(q2)) + q2)
buf = b""
while True:
    if len(buf) >= 2:
        n1 = struct.unpack(">H", buf[:2])[0]
        if len(buf) >= 2 + n1 + 2:
            n2 = struct.unpack(">H", buf[2 + n1 : 4 + n1])[0]
            if len(buf) >= 4 + n1 + n2:
                break
    d = t.recv(65535)
    if not d:
        break
    buf += d
t.close()
open(os.path.join(out, "tcp_q.stream"), "wb").write(struct.pack(">H", len(q1)) + q1 + struct.pack(">H", len(q2)) + q2)
open(os.path.join(out, "tcp_r.stream"), "wb").write(buf)
print("saved", len(cases) * 2 + 2, "files to", out)
