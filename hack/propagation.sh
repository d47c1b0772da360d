#!/usr/bin/env bash
# Measures the delay from an Ingress write to the API server to the new
# route serving, against the test API server (see test/cluster), and prints
# p50 and p99. Needs root and hack/kube/build.sh, like the cluster tests.
#   hack/propagation.sh [CHANGES]     (default 100)
set -euo pipefail
cd "$(dirname "$0")/.."
changes="${1:-100}"
go test -count=1 -run '^TestPropagationDelay$' -v ./test/cluster -args -propagation.changes="$changes" \
  | tee /dev/stderr | grep -o 'propagation: .*'
