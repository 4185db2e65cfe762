#!/usr/bin/env python3
"""Median server max RSS (MiB) per scenario and server, from run.sh JSON lines.

usage: bench/rss_table.py results/servers-X.jsonl
run.sh reads VmHWM of the server process after each measurement; a server process serves every
scenario of one round in turn, so a row shows the peak up to and including that scenario.
"""
import json
import statistics
import sys

rows = [json.loads(l) for p in sys.argv[1:] for l in open(p) if l.strip()]
servers, ids = [], []
for r in rows:
    if r.get("server") not in servers:
        servers.append(r.get("server"))
    if r.get("id") not in ids:
        ids.append(r.get("id"))
print("| scenario | " + " | ".join(servers) + " |")
print("|---|" + "---:|" * len(servers))
for i in ids:
    cells = []
    for s in servers:
        v = [r["server_maxrss_kb"] for r in rows if r.get("id") == i and r.get("server") == s and r.get("server_maxrss_kb")]
        cells.append(f"{statistics.median(v) / 1024:.0f}" if v else "-")
    print(f"| {i} | " + " | ".join(cells) + " |")
