#!/usr/bin/env bash
# Runs every fuzz target for DURATION each (default 5m), one at a time.
# hack/test.sh runs them with a short DURATION; run this one longer.
# A crash leaves its input under the package's testdata/fuzz/FuzzXxx/:
# fix it and commit that file as a regression seed.
#   hack/fuzz.sh [DURATION]      e.g. hack/fuzz.sh 30m
set -euo pipefail
cd "$(dirname "$0")/.."
duration=${1:-5m}

# package target: every FuzzXxx in the repository (hack/fuzz.sh --list).
targets=(
  "./internal/k8s FuzzDecode"
  "./internal/translate FuzzAnnotations"
  "./internal/annotations/nginxval FuzzValues"
  "./internal/nginx FuzzSize"
  "./internal/controllerconfig FuzzParse"
  "./internal/htpasswd FuzzVerify"
  "./internal/htpasswd FuzzParseFile"
  "./internal/annotations/snippet FuzzParse"
  "./internal/dataplane/passthrough FuzzServerName"
  "./internal/dataplane/l4 FuzzReadProxyHeader"
  "./internal/translate FuzzStreams"
  "./internal/dataplane/proxyprotocol FuzzConn"
  "./internal/dataplane/router FuzzLookup"
  "./internal/dataplane/router FuzzRegexPreMatch"
  "./internal/dataplane/tracing FuzzPropagation"
  "./internal/redact FuzzURLs"
  "./internal/dataplane/compress FuzzAccepts"
  "./internal/dataplane/compress FuzzWriter"
  "./internal/dataplane/router FuzzQueryValue"
  "./internal/dataplane/proxy/upgrade FuzzFrameTracker"
  "./internal/translate FuzzGatewayRoute"
  "./internal/convert/gatewayapi FuzzConvert"
  "./internal/waf FuzzVet"
  "./internal/secrets FuzzDecrypt"
  "./internal/dataplane/h1parse FuzzReadRequest"
)
if [ "$duration" = "--list" ]; then
  printf '%s\n' "${targets[@]}"; exit 0
fi
failed=()
for t in "${targets[@]}"; do
  set -- $t
  echo "== fuzz $2 ($1, $duration)"
  # -parallel 1: the machines this runs on are small and shared.
  out=$(mktemp)
  if ! go test "$1" -run '^$' -fuzz "^$2\$" -fuzztime "$duration" -parallel 1 2>&1 | tee "$out"; then
    # Go's fuzzing engine sometimes ends a run with "context deadline
    # exceeded" and no failing input when a worker answers late at the
    # very end. Run such a target once more; a second deadline failure
    # counts, since a really slow input (FuzzVerify's bcrypt cost 31)
    # fails every time.
    if grep -q 'context deadline exceeded' "$out" && ! grep -q 'Failing input written' "$out"; then
      echo "hack/fuzz.sh: $2 ended on the fuzzing engine's deadline without a failing input; running it once more"
      go test "$1" -run '^$' -fuzz "^$2\$" -fuzztime "$duration" -parallel 1 || failed+=("$2")
    else
      failed+=("$2")
    fi
  fi
  rm -f "$out"
done
if [ ${#failed[@]} -gt 0 ]; then
  echo "hack/fuzz.sh: failed: ${failed[*]}" >&2; exit 1
fi
