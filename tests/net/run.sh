#!/usr/bin/env bash
# `deno task test:net`: builds the grpc-go peers, brings the test network up, runs
# tests/net/*_test.ts, and takes the network down again, also when a test fails or is killed.
set -euo pipefail
HERE="$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")"
if [[ $EUID != 0 ]]; then echo "test:net needs root (network namespaces)" >&2; exit 1; fi
"$HERE/build_go.sh"
STATE="$(mktemp -d /tmp/gk-netlab.XXXXXX)"
cleanup() { "$HERE/netlab.sh" down "$STATE"; rm -rf "$STATE"; }
trap cleanup EXIT
"$HERE/netlab.sh" up "$STATE"
cd "$HERE/../.."
# In the background so a signal reaches the trap at once (bash runs traps only between
# foreground commands); `timeout` passes the TERM on to deno.
NETLAB_CTL="$STATE/link.sock" timeout 1200 deno test -A --sanitize-ops --sanitize-resources \
  tests/net/ "$@" &
child=$!
trap 'kill -TERM "$child" 2>/dev/null; wait "$child"; exit 130' INT TERM
wait "$child"
