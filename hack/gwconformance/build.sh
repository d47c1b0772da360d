#!/usr/bin/env bash
# Builds what test/gatewayconformance runs besides the control plane (which
# hack/kube/build.sh builds): the official Gateway API conformance suite as
# a test binary (conformance.test), its echo server (echo-basic), and
# podshim, the project's kubelet and scheduler stand-in. It also copies the
# CRDs of the same release. It prints the folder holding them all:
#
#   <dir>/conformance.test  <dir>/echo-basic  <dir>/podshim
#   <dir>/crd/standard      <dir>/crd/experimental
#
#   hack/gwconformance/build.sh          build what is missing, print the folder
#   hack/gwconformance/build.sh --print  print the folder if it is complete; exit 1 if not
#   hack/gwconformance/build.sh --crds CHANNEL  print the CRD folder of CHANNEL
#
# The folder is ${MOAT_GWC_CACHE:-$HOME/.cache/moat/gwconformance}/<version>-<hash>,
# the hash covering go.sum and this module's sources, so a changed podshim
# or suite version builds afresh. A cold build takes about 6 minutes on 2
# cores (the suite's test binary is most of it); the Go build cache makes a
# rebuild after a podshim change a relink.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"

version=v1.6.3 # keep in step with sigs.k8s.io/gateway-api/conformance in go.mod
sum=$(cd "$here" && cat go.mod go.sum build.sh $(find . -name '*.go' | LC_ALL=C sort) | sha256sum | cut -c1-12)
dir="${MOAT_GWC_CACHE:-$HOME/.cache/moat/gwconformance}/$version-$sum"
bins=(conformance.test echo-basic podshim)

complete() {
  local b
  for b in "${bins[@]}"; do [ -x "$dir/$b" ] || return 1; done
  [ -d "$dir/crd/standard" ] && [ -d "$dir/crd/experimental" ]
}

case "${1:-}" in
--print)
  complete || { echo "hack/gwconformance/build.sh: $dir is not built; run hack/gwconformance/build.sh" >&2; exit 1; }
  echo "$dir"
  exit 0
  ;;
--crds)
  complete || { echo "hack/gwconformance/build.sh: $dir is not built; run hack/gwconformance/build.sh" >&2; exit 1; }
  echo "$dir/crd/${2:?--crds needs a channel: standard or experimental}"
  exit 0
  ;;
esac

mkdir -p "$(dirname "$dir")"
exec 9>"$dir.lock"
flock 9

if ! complete; then
  start=$(date +%s)
  tmp="$dir.tmp.$$"
  rm -rf "$tmp" && mkdir -p "$tmp/crd"
  trap 'rm -rf "$tmp"' EXIT
  cd "$here"
  export GOWORK=off GOFLAGS=-mod=readonly CGO_ENABLED=0
  echo "hack/gwconformance/build.sh: building the Gateway API $version conformance suite, echo-basic and podshim into $dir" >&2
  go build -trimpath -o "$tmp/podshim" ./podshim
  go build -trimpath -o "$tmp/echo-basic" sigs.k8s.io/gateway-api/conformance/echo-basic
  go test -c -trimpath -o "$tmp/conformance.test" ./suite
  crds="$(go list -m -f '{{.Dir}}' sigs.k8s.io/gateway-api)/config/crd"
  cp -r "$crds/standard" "$crds/experimental" "$tmp/crd/"
  chmod -R u+w "$tmp/crd"
  rm -rf "$dir" && mv "$tmp" "$dir"
  trap - EXIT
  echo "hack/gwconformance/build.sh: built in $(( $(date +%s) - start ))s" >&2
fi
echo "$dir"
