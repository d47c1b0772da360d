#!/usr/bin/env bash
# Runs the official Gateway API conformance suite (v1.6.3, profiles
# GATEWAY-HTTP, GATEWAY-TLS and GATEWAY-GRPC) against moat and writes the
# report to docs/conformance/. Needs root (network namespaces) and ip(8).
#
#   hack/conformance.sh                          the whole suite
#   MOAT_GWC_RUN_TEST=HTTPRouteWeight hack/conformance.sh   one test
#
# test/gatewayconformance/main_test.go lists the other knobs (MOAT_GWC_*).
# It builds what is missing first: the control plane with
# kube-controller-manager (hack/kube/build.sh, 10-35 minutes cold on 2
# cores) and the suite, echo-basic and podshim (hack/gwconformance/build.sh,
# about 6 minutes cold); both are cached afterwards.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v ip >/dev/null 2>&1 || { echo "hack/conformance.sh: ip(8) is missing; apt-get install iproute2" >&2; exit 1; }
KUBEBUILDER_ASSETS=$(hack/kube/build.sh)
export KUBEBUILDER_ASSETS
hack/gwconformance/build.sh >/dev/null
exec go test -tags gwconformance -count=1 -v -timeout 90m ./test/gatewayconformance "$@"
