#!/usr/bin/env bash
# Builds the test control plane (kube-apiserver, etcd, kubectl, and
# kube-controller-manager for the Gateway API conformance harness) from Go
# modules into a cache folder and prints that folder, for use as
# KUBEBUILDER_ASSETS. No prebuilt binaries can be downloaded where moat is
# tested, but the Go module proxy serves the sources.
#
#   hack/kube/build.sh          build what is missing, then print the folder
#   hack/kube/build.sh --print  print the folder if it is complete; exit 1 if not
#
# The folder is ${MOAT_KUBE_CACHE:-$HOME/.cache/moat/kube}/<version>-<go.sum hash>,
# so a changed hack/kube/go.sum builds afresh. A cold build takes about 10
# minutes on 2 cores; the Go build cache makes a rebuild a relink.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"

version=v1.37.2 # keep in step with k8s.io/kubernetes in go.mod
sum=$(sha256sum "$here/go.sum" | cut -c1-12)
dir="${MOAT_KUBE_CACHE:-$HOME/.cache/moat/kube}/$version-$sum"
bins=(kube-apiserver etcd kubectl kube-controller-manager)

complete() {
  local b
  for b in "${bins[@]}"; do [ -x "$dir/$b" ] || return 1; done
}

if [ "${1:-}" = "--print" ]; then
  complete || { echo "hack/kube/build.sh: $dir is not built; run hack/kube/build.sh" >&2; exit 1; }
  echo "$dir"
  exit 0
fi

mkdir -p "$(dirname "$dir")"
# One builder at a time: parallel test runs share the cache.
exec 9>"$dir.lock"
flock 9

if ! complete; then
  start=$(date +%s)
  tmp="$dir.tmp.$$"
  rm -rf "$tmp" && mkdir -p "$tmp"
  trap 'rm -rf "$tmp"' EXIT
  minor=${version#v1.}; minor=${minor%%.*}
  # Without these the server reports v0.0.0-master (hack/lib/version.sh in
  # kubernetes sets the same variables).
  ldflags="-s -w"
  for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    ldflags+=" -X $pkg.gitVersion=$version -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor"
    ldflags+=" -X $pkg.gitTreeState=clean -X $pkg.buildDate=1970-01-01T00:00:00Z"
  done
  cd "$here"
  export GOWORK=off GOFLAGS=-mod=readonly CGO_ENABLED=0
  echo "hack/kube/build.sh: building kube-apiserver, kube-controller-manager, etcd and kubectl $version into $dir" >&2
  go build -trimpath -ldflags "$ldflags" -o "$tmp/kube-apiserver" k8s.io/kubernetes/cmd/kube-apiserver
  go build -trimpath -ldflags "$ldflags" -o "$tmp/kubectl" k8s.io/kubernetes/cmd/kubectl
  go build -trimpath -ldflags "$ldflags" -o "$tmp/kube-controller-manager" k8s.io/kubernetes/cmd/kube-controller-manager
  go build -trimpath -ldflags "-s -w" -o "$tmp/etcd" go.etcd.io/etcd/server/v3
  rm -rf "$dir" && mv "$tmp" "$dir"
  trap - EXIT
  echo "hack/kube/build.sh: built in $(( $(date +%s) - start ))s" >&2
fi
echo "$dir"
