#!/usr/bin/env python3
"""The peer's bill next to the server's: for each gRPC scenario and server, the Go load
generator's CPU per unit (its own getrusage over the window, `client_cpu_pct`) next to the
server's CPU per unit, with throughput and p50/p99, median over rounds and every round.
A unit is a message (msgs_per_s: unary and bidi = calls, sstream = messages received).
h2_* rows are left out: h2load reports no CPU figure.

    bench/peer_cost.py [--ref go] FILE.jsonl...
"""
import json, statistics, sys
from collections import defaultdict

args = sys.argv[1:]
ref = "go"
if args[:1] == ["--ref"]:
    ref, args = args[1], args[2:]
rows = [json.loads(l) for f in args for l in open(f) if l.strip().startswith("{")]
rows = [r for r in rows if not r.get("id", "").startswith("h2_") and r.get("msgs_per_s")]
groups = defaultdict(list)
for r in rows:
    groups[(r["id"], r["server"])].append(r)
scenarios = list(dict.fromkeys(r["id"] for r in rows))
servers = list(dict.fromkeys(r["server"] for r in rows))


def us_per_unit(pct, rate):
    return pct / 100 * 1e6 / rate if rate else float("nan")


def fmt(x):
    return f"{x:,.0f}" if x >= 100 else f"{x:.1f}" if x >= 10 else f"{x:.2f}"


print("| scenario | server | median msg/s | p50 us | p99 us | server CPU us/unit | "
      "load generator CPU us/unit (per round) | load generator / ref's |")
print("|---|---|---:|---:|---:|---:|---|---:|")
for sc in scenarios:
    med_client = {}
    for sv in servers:
        rs = sorted(groups.get((sc, sv), []), key=lambda r: r.get("round", 0))
        if rs:
            med_client[sv] = statistics.median(
                us_per_unit(r.get("client_cpu_pct", 0), r["msgs_per_s"]) for r in rs)
    for sv in servers:
        rs = sorted(groups.get((sc, sv), []), key=lambda r: r.get("round", 0))
        if not rs:
            continue
        rate = statistics.median(r["msgs_per_s"] for r in rs)
        p50 = statistics.median(r["p50_us"] for r in rs)
        p99 = statistics.median(r["p99_us"] for r in rs)
        srv = statistics.median(us_per_unit(r.get("server_cpu_pct", 0), r["msgs_per_s"]) for r in rs)
        per = " / ".join(fmt(us_per_unit(r.get("client_cpu_pct", 0), r["msgs_per_s"])) for r in rs)
        ratio = (f"{med_client[sv] / med_client[ref]:.2f}x"
                 if ref in med_client and med_client[ref] else "-")
        print(f"| {sc} | {sv} | {rate:,.0f} | {fmt(p50)} | {fmt(p99)} | {fmt(srv)} | "
              f"{fmt(med_client[sv])} ({per}) | {ratio} |")
