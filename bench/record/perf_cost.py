#!/usr/bin/env python3
"""Classifies `perf script -F comm,ip,sym` samples (cpu-clock, -g, -a) into what recording costs.

Reads the script output on stdin and prints "NAME COUNT" lines for bench_record.sh:
  all   every sample
  tap   a sample with a frame of a capture path anywhere on its stack: the packet socket's
        (tcpdump, dnsreel --hook packet), the tc hook's, the process hooks', ring wakeups
  proc  a sample of a recorder process (tcpdump, dnsreel-record) that is not already tap
  perf  perf's own samples (the measurement's cost, the same in every way)
  period  ns of CPU per sample (from --period)
  at.SYM  tap samples by their outermost capture-path frame (where the cost enters)
Frames are matched by name, so the classification needs kernel symbols (kptr_restrict 0 or
root) and the BPF programs' symbols, which perf record keeps for programs loaded before it.
"""
import re
import sys

# Frames that run only because something records. The packet socket: dev_queue_xmit_nit
# clones every transmitted packet for the taps, tpacket_rcv/packet_rcv run the socket's filter
# and copy what it keeps. The tc hook: tcx/cls entry points and our programs. The process
# hooks: the tracepoint's BPF trampoline. A ring-buffer wakeup runs from irq_work.
TAP = re.compile(
    r"^(tpacket_rcv|packet_rcv|packet_rcv_spkt|dev_queue_xmit_nit|"
    r"sch_handle_ingress|sch_handle_egress|tcx_run|tcf_classify|cls_bpf_classify|"
    r"bpf_trace_run[1-5]|__bpf_trace_sock_(send|recv)_length|"
    r"bpf_ringbuf_notify|"
    r"bpf_prog_[0-9a-f]+_(dnsreel_\w+|emit))$"
)
PROC = re.compile(r"^(tcpdump|dnsreel-record)$")


def main():
    period = 0
    args = sys.argv[1:]
    if len(args) == 2 and args[0] == "--period":
        period = int(args[1])
    counts = {"all": 0, "tap": 0, "proc": 0, "perf": 0}
    entry = {}
    comm, tap = None, None

    def flush():
        if comm is None:
            return
        counts["all"] += 1
        if tap:
            counts["tap"] += 1
            entry[tap] = entry.get(tap, 0) + 1
        elif PROC.match(comm):
            counts["proc"] += 1
        elif comm.startswith("perf"):
            counts["perf"] += 1

    for line in sys.stdin:
        if not line.strip():
            flush()
            comm, tap = None, None
        elif line[0] not in " \t":
            flush()
            comm, tap = line.split()[0], None
        else:
            # leaf first: the last match is the outermost frame
            parts = line.split(None, 1)
            if len(parts) == 2:
                sym = parts[1].split("+", 1)[0].strip()
                if TAP.match(sym):
                    tap = re.sub(r"^bpf_prog_[0-9a-f]+_", "bpf_prog_", sym)
    flush()
    for k, v in counts.items():
        print(k, v)
    for k, v in entry.items():
        print("at." + k, v)
    print("period", period)


if __name__ == "__main__":
    main()
