#!/usr/bin/env bash
# Builds the Go peer programs in tests/go (Debian's grpc-go 1.33 and genproto, GOPATH mode, as
# ../shared/bench/build.sh builds its peers) into tests/go/bin. Idempotent; .ci/run and the tests
# that need them call it. Needs: golang-go golang-google-grpc-dev golang-google-genproto-dev.
set -euo pipefail
HERE="$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")"
cd "$HERE"
export GO111MODULE=off GOFLAGS= GOPATH=/usr/share/gocode
mkdir -p bin
for cmd in errdetails; do
  go build -o "bin/$cmd" "./$cmd"
done
