#!/usr/bin/env bash
# Builds the grpc-go peers of the real-link tests (tests/net/go) from Debian's grpc-go and
# golang/protobuf packages in GOPATH mode, as ../shared/bench/build.sh does. Idempotent.
set -euo pipefail
HERE="$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")"
cd "$HERE"
APT_PKGS=(golang-go golang-google-grpc-dev golang-github-golang-protobuf-1-3-dev protobuf-compiler)
missing=()
for p in "${APT_PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  SUDO=(); [[ $EUID == 0 ]] || SUDO=(sudo)
  "${SUDO[@]}" apt-get update -qq
  "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
fi
export GO111MODULE=off GOFLAGS= GOPATH="$HERE/go:/usr/share/gocode"
mkdir -p go/bin go/src/netpeer/pb
[[ -x go/bin/protoc-gen-go ]] || go build -o go/bin/protoc-gen-go github.com/golang/protobuf/protoc-gen-go
protoc --plugin=protoc-gen-go="$HERE/go/bin/protoc-gen-go" \
  --go_out=plugins=grpc,paths=source_relative,Mbulk.proto=netpeer/pb:go/src/netpeer/pb bulk.proto
for cmd in netserver netclient; do
  go build -o "go/bin/$cmd" "netpeer/cmd/$cmd"
done
echo "build_go.sh: ok ($(go version | cut -d' ' -f3))" >&2
