#!/usr/bin/env bash
# bench/profile.sh — where moat's CPU goes under one of bench/run.sh's loads.
#
# Starts the same backend, certificate and manifests as bench/run.sh, moat
# with --profiling pinned to PROXY_CPUS, drives it with one load from
# LOAD_CPUS for DURATION seconds, and takes a CPU profile over the middle
# of it from the admin listener's /debug/pprof/profile. Prints moat's peak
# RSS, the top functions (flat and cumulative), and keeps the profile in
# OUT_DIR/profile-<load>-<key>-<timestamp>.pprof.
#
# Usage: bench/profile.sh LOAD KEY
#   LOAD: wrk50 (HTTPS/1.1 keep-alive, 50 conns) | h2 (h2load -c50 -m10) |
#         hs_full (h2load --h1 -c200 -n200 repeated: full handshakes)
#   KEY:  ecdsa | rsa
# Knobs (environment): DURATION (s, 20), PROXY_CPUS (0), LOAD_CPUS (1),
# MOAT_BIN (default: go build ./cmd/moat), OUT_DIR (bench/results), TOP (25),
# LOG_LEVEL (moat's, warn).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
export PATH="$PATH:/usr/sbin:/sbin"
case "${1:-}" in
  -h|--help|"") sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
esac
LOAD=$1 KEY=${2:?bench/profile.sh: name a key type, ecdsa or rsa (try --help)}
case $LOAD in wrk50|h2|hs_full) ;; *) echo "bench/profile.sh: unknown load $LOAD" >&2; exit 2 ;; esac
case $KEY in ecdsa|rsa) ;; *) echo "bench/profile.sh: unknown key $KEY" >&2; exit 2 ;; esac
DURATION=${DURATION:-20} PROXY_CPUS=${PROXY_CPUS:-0} LOAD_CPUS=${LOAD_CPUS:-1}
OUT_DIR=${OUT_DIR:-$ROOT/bench/results} TOP=${TOP:-25} MOAT_BIN=${MOAT_BIN:-}
for t in nginx wrk h2load openssl taskset curl go; do
  command -v "$t" >/dev/null 2>&1 || { echo "bench/profile.sh: $t is missing (apt-get install -y nginx wrk nghttp2-client openssl util-linux curl)" >&2; exit 1; }
done

WORK=$(mktemp -d /tmp/moat-profile.XXXXXX)
PIDS=()
cleanup() {
  local p
  for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  # Failed requests in the load's summary usually have their reason here.
  if [[ -s $WORK/moat.err ]]; then
    echo "--- moat's warnings and errors (last 10 of $(wc -l <"$WORK/moat.err"))"
    tail -n 10 "$WORK/moat.err"
    if [[ ${LOG_LEVEL:-warn} != warn ]]; then
      cp "$WORK/moat.err" "$OUT_DIR/profile-$LOAD-$KEY-moat.log"
      echo "(moat's whole log: $OUT_DIR/profile-$LOAD-$KEY-moat.log)"
    fi
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if [[ -z $MOAT_BIN ]]; then
  (cd "$ROOT" && go build -o "$WORK/moat" ./cmd/moat)
  MOAT_BIN=$WORK/moat
fi
# The same backend, certificate and manifests as bench/run.sh.
# shellcheck source=bench/lib.sh
. "$ROOT/bench/lib.sh"
bench_setup "$KEY"

taskset -c "$LOAD_CPUS" nginx -c "$WORK/backend-nginx.conf" -p "$WORK/" -e "$WORK/backend.err" &
PIDS+=($!)
taskset -c "$PROXY_CPUS" "$MOAT_BIN" serve "${MOAT_FLAGS[@]}" --http-addr 127.0.0.1:18082 \
  --https-addr 127.0.0.1:18443 --admin-addr 127.0.0.1:18254 \
  --log-level "${LOG_LEVEL:-warn}" --profiling >"$WORK/moat.out" 2>"$WORK/moat.err" &
PIDS+=($!)
MPID=$!
for _ in $(seq 200); do
  curl -fsS -o /dev/null http://127.0.0.1:18254/readyz 2>/dev/null && break
  sleep 0.05
done
curl -fsS -o /dev/null http://127.0.0.1:18254/readyz || { cat "$WORK/moat.err" >&2; exit 1; }

URL=https://127.0.0.1:18443/
taskset -c "$LOAD_CPUS" wrk -t1 -c50 -d2s -H "Host: bench.local" "$URL" >/dev/null # warm-up
case $LOAD in
  wrk50) taskset -c "$LOAD_CPUS" wrk -t1 -c50 -d"${DURATION}s" --latency -H "Host: bench.local" "$URL" >"$WORK/load.out" 2>&1 & ;;
  h2) taskset -c "$LOAD_CPUS" h2load -t1 -c50 -m10 -D"$DURATION" -H ":authority: bench.local" "$URL" >"$WORK/load.out" 2>&1 & ;;
  hs_full)
    (end=$(( $(date +%s) + DURATION ))
     while (( $(date +%s) < end )); do
       taskset -c "$LOAD_CPUS" h2load --h1 -t1 -c200 -n200 -H ":authority: bench.local" "$URL" | grep '^requests:'
     done) >"$WORK/load.out" 2>&1 & ;;
esac
LPID=$!
PIDS+=("$LPID")
secs=$(( DURATION > 6 ? DURATION - 4 : DURATION ))
sleep 2
mkdir -p "$OUT_DIR"
PROF=$OUT_DIR/profile-$LOAD-$KEY-$(date -u +%Y%m%dT%H%M%SZ).pprof
curl -fsS -o "$PROF" "http://127.0.0.1:18254/debug/pprof/profile?seconds=$secs"
wait "$LPID" || true
echo "moat peak RSS (VmHWM): $(awk '/^VmHWM:/{printf "%.1f MiB", $2/1024}' "/proc/$MPID/status")"
echo "load average $(cut -d' ' -f1-3 /proc/loadavg); load output:"
tail -n 12 "$WORK/load.out"
echo "--- flat"
go tool pprof -top -nodecount="$TOP" "$MOAT_BIN" "$PROF" 2>/dev/null | sed -n '1,/^ *flat/d; p' | head -n "$TOP"
echo "--- cumulative"
go tool pprof -top -cum -nodecount="$TOP" "$MOAT_BIN" "$PROF" 2>/dev/null | sed -n '1,/^ *flat/d; p' | head -n "$TOP"
echo "profile: $PROF (binary $MOAT_BIN)"
