#!/usr/bin/env bash
# The test network of tests/net: two network namespaces, gk-a (clients, 10.201.0.1) and gk-b
# (servers, 10.201.0.2), joined by a point-to-point link whose packets pass through linkemu.py
# (delay, loss, blackhole; this kernel has no sch_netem, so `tc netem` cannot do it). Nothing
# is routed anywhere else: the namespaces have only their loopback and this link.
#   netlab.sh up STATE_DIR     create it; linkemu's control socket is STATE_DIR/link.sock
#   netlab.sh down STATE_DIR   remove it (idempotent; also after a failed or partial `up`)
set -euo pipefail
HERE="$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")"
cmd="${1:?up|down}"; state="${2:?state dir}"
NS_A=gk-a NS_B=gk-b TUN_A=gkta TUN_B=gktb

down() {
  if [[ -f "$state/linkemu.pid" ]]; then
    kill "$(cat "$state/linkemu.pid")" 2>/dev/null || true
    rm -f "$state/linkemu.pid"
  fi
  for ns in "$NS_A" "$NS_B"; do
    # Processes still inside a namespace (a test that failed midway) go with it.
    for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -9 "$pid" 2>/dev/null || true; done
    ip netns del "$ns" 2>/dev/null || true
  done
  ip link del "$TUN_A" 2>/dev/null || true
  ip link del "$TUN_B" 2>/dev/null || true
}

case "$cmd" in
  down) down ;;
  up)
    down
    mkdir -p "$state"
    ip tuntap add dev "$TUN_A" mode tun
    ip tuntap add dev "$TUN_B" mode tun
    python3 "$HERE/linkemu.py" "$TUN_A" "$TUN_B" "$state/link.sock" >"$state/linkemu.log" 2>&1 &
    echo $! >"$state/linkemu.pid"
    for _ in $(seq 50); do [[ -S "$state/link.sock" ]] && break; sleep 0.1; done
    [[ -S "$state/link.sock" ]] || { cat "$state/linkemu.log" >&2; exit 1; }
    ip netns add "$NS_A"
    ip netns add "$NS_B"
    ip link set "$TUN_A" netns "$NS_A"
    ip link set "$TUN_B" netns "$NS_B"
    ip -n "$NS_A" link set lo up
    ip -n "$NS_B" link set lo up
    ip -n "$NS_A" addr add 10.201.0.1 peer 10.201.0.2 dev "$TUN_A"
    ip -n "$NS_B" addr add 10.201.0.2 peer 10.201.0.1 dev "$TUN_B"
    # A large MTU keeps the emulator's packet rate low; a long queue so a 100 ms link is not
    # capped by the device queue (netem's `limit` problem).
    # TCP buffers up to 64 MiB (the default 6 MiB cap allows ~3 MiB in flight, which on a
    # 100 ms link limits every transfer before HTTP/2 flow control does).
    for ns in "$NS_A" "$NS_B"; do
      ip netns exec "$ns" sysctl -q -w net.ipv4.tcp_rmem="4096 131072 67108864" \
        net.ipv4.tcp_wmem="4096 16384 67108864"
    done
    ip -n "$NS_A" link set "$TUN_A" mtu 9000 txqueuelen 10000 up
    ip -n "$NS_B" link set "$TUN_B" mtu 9000 txqueuelen 10000 up
    ;;
  *) echo "usage: netlab.sh up|down STATE_DIR" >&2; exit 2 ;;
esac
