#!/usr/bin/env bash
# moat's test command: the one the README names and CI runs.
# Static checks first (gofmt, go vet, staticcheck), then every test.
set -euo pipefail
cd "$(dirname "$0")/.."

need() {
  command -v "$1" >/dev/null 2>&1 || { echo "hack/test.sh: '$1' is missing; install it ($2)" >&2; exit 1; }
}
need go "Go 1.26 from https://go.dev/dl or your distribution"
need curl "apt-get install curl: the demo test runs the README's curl lines"
need gcc "apt-get install gcc: the race detector (go test -race) needs a C compiler"

# test/cluster runs kube-apiserver and etcd built by hack/kube/build.sh
# (it fails, saying so, when they are missing or when not run as root).
if [ -z "${KUBEBUILDER_ASSETS:-}" ] && assets=$(hack/kube/build.sh --print 2>/dev/null); then
  export KUBEBUILDER_ASSETS="$assets"
fi

echo "== gofmt"
unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))
if [ -n "$unformatted" ]; then
  echo "gofmt would change:" >&2; echo "$unformatted" >&2; exit 1
fi
echo "== go vet"
go vet ./...
echo "== staticcheck"
go run honnef.co/go/tools/cmd/staticcheck@v0.8.2 ./...
echo "== go test"
go test -count=1 "$@" ./...
# Every fuzz target briefly (seeds plus a few seconds of new inputs);
# hack/fuzz.sh runs them longer.
echo "== fuzz (${FUZZTIME:-4s} each)"
hack/fuzz.sh "${FUZZTIME:-4s}"
# The data plane is where goroutines share state per request (flushes,
# connection pools, config swaps): its tests and the end-to-end suite run
# again under the race detector.
echo "== go test -race (data plane, e2e)"
go test -count=1 -race "$@" ./internal/dataplane/... ./internal/echo/ ./test/e2e/
# The official Gateway API conformance suite against moat controller
# (hack/conformance.sh: about 1 minute warm, plus about 6 minutes the first
# time to build the suite). Its report goes to a temporary file here;
# hack/conformance.sh alone rewrites docs/conformance/.
echo "== Gateway API conformance (hack/conformance.sh)"
if [ "$(id -u)" != 0 ]; then
  echo "hack/test.sh: the Gateway API conformance run needs root (it makes a network namespace per pod); run hack/test.sh as root, e.g. sudo -E env PATH=\$PATH hack/test.sh" >&2
  exit 1
fi
need ip "apt-get install iproute2: the Gateway API conformance run gives each pod a network namespace"
gwc_report=$(mktemp --suffix=.yaml)
trap 'rm -f "$gwc_report"' EXIT
MOAT_GWC_REPORT="$gwc_report" hack/conformance.sh
