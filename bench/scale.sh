#!/usr/bin/env bash
# bench/scale.sh — moat in file mode at scale: 1,000 and 10,000 Ingresses
# (each with its own host, Service and EndpointSlice) and up to 5,000 TLS
# certificates, then the same with 1,000 and 10,000 HTTPRoutes on one
# Gateway (-gateways N for more). Reports time to ready, RSS, and
# change-to-serving delay (p50/p99 over 100 changes, measured by a client
# polling every 2 ms) for a route change (host renamed), a route added, an
# Ingress change with spec.tls (polled over HTTPS, certificate verified;
# -tls=false skips it) and an endpoint-only change, and the HTTPRoute /
# Ingress ratios. Loopback only; every wait is bounded (-max-time, 30 min
# by default, for the whole run); moat is stopped on exit.
#
# Usage: bench/scale.sh [flags of bench/scale, e.g. -sizes 1000 -changes 20 -kinds ingress]
# Environment: MOAT_BIN (a prebuilt moat; default: go build ./cmd/moat),
# OUT_DIR (bench/results).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
OUT_DIR=${OUT_DIR:-$ROOT/bench/results}
command -v go >/dev/null || { echo "bench/scale.sh: needs Go 1.26" >&2; exit 1; }
WORK=$(mktemp -d /tmp/moat-scale.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
if [[ -n ${MOAT_BIN:-} ]]; then
  cp "$MOAT_BIN" "$WORK/moat"
else
  (cd "$ROOT" && go build -o "$WORK/moat" ./cmd/moat)
fi
(cd "$ROOT" && go build -o "$WORK/scale" ./bench/scale)
mkdir -p "$OUT_DIR"
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
"$WORK/scale" -moat "$WORK/moat" -json "$OUT_DIR/scale-$(date -u +%Y%m%dT%H%M%SZ).json" "$@"
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
