#!/usr/bin/env bash
# Every core (issue 23): the Go load generator, unpinned, against grpc-go (GOMAXPROCS=2) and our
# server with 1 and with 2 Worker isolates (`bench/server.ts -workers N`), rounds interleaved.
# The harness's scenarios use one connection, which the kernel gives to one worker, so this runs
# its own multi-connection loads: unary 100 B with 64 calls outstanding over CONNS connections,
# and server streaming (1000 × 1 KiB per call) with one call per connection.
#
#   bench/workers.sh                  ROUNDS=3 CONNS=4 DURATION=5s WARMUP=3s
#
# Prints one line per measurement (throughput, p50/p99, server CPU % of one core and CPU µs per
# unit over the measured window), then the medians and ratios to grpc-go.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
HARNESS="$(cd ../shared/bench && pwd)"
[[ -x "$HARNESS/go/bin/loadgen" ]] || "$HARNESS/build.sh"
ROUNDS="${ROUNDS:-3}"
CONNS="${CONNS:-4}"
DURATION="${DURATION:-5s}"
WARMUP="${WARMUP:-3s}"
OUT="${OUT:-bench/results/workers-$(date -u +%Y%m%dT%H%M%SZ).jsonl}"
mkdir -p "$(dirname "$OUT")"
export GOMAXPROCS=2

declare -A SERVERS=(
  [go]="$HARNESS/go/bin/server"
  [seed_w1]="deno run -A --unstable-net bench/server.ts -workers 1"
  [seed_w2]="deno run -A --unstable-net bench/server.ts -workers 2"
)
ORDER=(go seed_w1 seed_w2)
SCENARIOS=(
  "unary_${CONNS}conn_x64|-scenario unary -conns $CONNS -concurrency 64 -size 100"
  "sstream_${CONNS}conn_1k|-scenario server_stream -conns $CONNS -concurrency $CONNS -size 1024 -stream-msgs 1000"
)
secs() { # 3s -> 3, 1500ms -> 1.500 (for sleep)
  local d="$1"
  if [[ "$d" == *ms ]]; then printf '%d.%03d' $((${d%ms} / 1000)) $((${d%ms} % 1000)); else echo "${d%s}"; fi
}
ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; } # utime + stime, all threads (workers too)
HZ="$(getconf CLK_TCK)"

for ((round = 1; round <= ROUNDS; round++)); do
  for name in "${ORDER[@]}"; do
    log="$(mktemp)"
    # shellcheck disable=SC2086
    ${SERVERS[$name]} -port 0 >"$log" 2>&1 &
    pid=$!
    port=""
    for _ in $(seq 150); do
      port="$(sed -n 's/^READY port=\([0-9]*\).*/\1/p' "$log")"
      [[ -n "$port" ]] && break
      sleep 0.2
    done
    [[ -n "$port" ]] || { echo "workers.sh: $name did not start" >&2; cat "$log" >&2; exit 1; }
    for sc in "${SCENARIOS[@]}"; do
      id="${sc%%|*}"
      args="${sc#*|}"
      res="$(mktemp)"
      # shellcheck disable=SC2086
      "$HARNESS/go/bin/loadgen" -addr "127.0.0.1:$port" $args -duration "$DURATION" \
        -warmup "$WARMUP" >"$res" &
      lg=$!
      sleep "$(secs "$WARMUP")"
      t0="$(ticks "$pid")"
      s0="$(date +%s.%N)"
      wait "$lg"
      t1="$(ticks "$pid")"
      s1="$(date +%s.%N)"
      python3 - "$res" "$name" "$id" "$round" "$t0" "$t1" "$s0" "$s1" "$HZ" <<'PY' | tee -a "$OUT"
import json, sys
res, name, sc, rnd, t0, t1, s0, s1, hz = sys.argv[1:]
r = json.load(open(res))
cpu_s = (int(t1) - int(t0)) / int(hz)
wall = float(s1) - float(s0)
units = r["msgs"]
print(json.dumps({"server": name, "scenario": sc, "round": int(rnd), "msgs_per_s": r["msgs_per_s"],
  "p50_us": r["p50_us"], "p99_us": r["p99_us"], "srv_cpu_pct": round(100 * cpu_s / wall),
  "srv_cpu_us_per_unit": round(1e6 * cpu_s / units, 2), "client_cpu_pct": r["client_cpu_pct"],
  "errors": r["errors"]}))
PY
      rm -f "$res"
    done
    kill -TERM "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    rm -f "$log"
  done
done

python3 - "$OUT" <<'PY'
import json, sys, statistics
rows = [json.loads(l) for l in open(sys.argv[1])]
servers = list(dict.fromkeys(r["server"] for r in rows))
scs = list(dict.fromkeys(r["scenario"] for r in rows))
print("\n| scenario | server | median msg/s | per round | / go | server CPU % | CPU µs/unit |")
print("|---|---|---:|---|---:|---:|---:|")
for sc in scs:
    med = {}
    for s in servers:
        rs = [r for r in rows if r["scenario"] == sc and r["server"] == s]
        med[s] = statistics.median(r["msgs_per_s"] for r in rs)
    for s in servers:
        rs = [r for r in rows if r["scenario"] == sc and r["server"] == s]
        per = " / ".join(f"{r['msgs_per_s']:,.0f}" for r in rs)
        cpu = statistics.median(r["srv_cpu_pct"] for r in rs)
        cpu_u = statistics.median(r["srv_cpu_us_per_unit"] for r in rs)
        print(f"| {sc} | {s} | {med[s]:,.0f} | {per} | {med[s] / med['go']:.2f}x | {cpu} | {cpu_u} |")
PY
