#!/usr/bin/env bash
# bench/pair.sh — a change to moat measured against its baseline, in pairs.
#
# This VM's host changes its speed under it: the same moat binary measured
# 5.4 and 10 CPU-seconds per 100k requests minutes apart, with the VM
# itself idle. bench/run.sh gives each proxy a turn of about a minute, so
# that drift lands between turns and moves its ratios by up to ±30%.
# pair.sh runs both moats at once (A on 127.0.0.1:18443, B on :18444, both
# pinned to PROXY_CPUS, only one loaded at a time) and alternates short
# wrk runs between them, so each pair of samples is seconds apart; it
# prints each pair's CPU seconds per 100k requests and req/s, and the
# median of the B/A ratios.
#
# Usage: bench/pair.sh BIN_A BIN_B
# Knobs (environment): PAIRS (10), SLICE (s per run, 3), CONNS (50),
# ENV_A / ENV_B (extra environment for A / B, e.g. ENV_A=GOGC=100 with
# the same binary twice), PROXY_CPUS (0), LOAD_CPUS (1), OUT_DIR
# (bench/results; the samples go to pair-<timestamp>.tsv).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
export PATH="$PATH:/usr/sbin:/sbin"
case "${1:-}" in
  -h|--help|"") sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
esac
BIN_A=$1 BIN_B=${2:?bench/pair.sh: name two moat binaries (try --help)}
PAIRS=${PAIRS:-10} SLICE=${SLICE:-3} CONNS=${CONNS:-50}
ENV_A=${ENV_A:-} ENV_B=${ENV_B:-}
PROXY_CPUS=${PROXY_CPUS:-0} LOAD_CPUS=${LOAD_CPUS:-1}
OUT_DIR=${OUT_DIR:-$ROOT/bench/results}

for t in nginx wrk openssl taskset; do
  command -v "$t" >/dev/null 2>&1 || { echo "bench/pair.sh: $t is missing (apt-get install -y nginx wrk openssl util-linux)" >&2; exit 1; }
done
for b in "$BIN_A" "$BIN_B"; do [[ -x $b ]] || { echo "bench/pair.sh: $b is not an executable moat binary" >&2; exit 1; }; done

WORK=$(mktemp -d /tmp/moat-pair.XXXXXX)
PIDS=()
cleanup() {
  local p
  for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# The same backend, certificate and manifests as bench/run.sh.
# shellcheck source=bench/lib.sh
. "$ROOT/bench/lib.sh"
bench_setup ecdsa

taskset -c "$LOAD_CPUS" nginx -c "$WORK/backend-nginx.conf" -p "$WORK/" -e "$WORK/backend.err" &
PIDS+=($!)
# start_moat NAME BIN ENV HTTPS HTTP ADMIN: sets PID.
start_moat() {
  local name=$1 bin=$2 env=$3 https=$4 http=$5 admin=$6
  # shellcheck disable=SC2086 # ENV_A/ENV_B are word lists on purpose
  env $env taskset -c "$PROXY_CPUS" "$bin" serve "${MOAT_FLAGS[@]}" --http-addr "127.0.0.1:$http" \
    --https-addr "127.0.0.1:$https" --admin-addr "127.0.0.1:$admin" --log-level warn >"$WORK/$name.out" 2>"$WORK/$name.err" &
  PID=$!
  PIDS+=("$PID")
  for _ in $(seq 200); do
    curl -fsS -o /dev/null "http://127.0.0.1:$admin/readyz" 2>/dev/null && return 0
    kill -0 "$PID" 2>/dev/null || { cat "$WORK/$name.err" >&2; exit 1; }
    sleep 0.05
  done
  echo "bench/pair.sh: $name not ready within 10 s" >&2; exit 1
}
start_moat A "$BIN_A" "$ENV_A" 18443 18082 18254; PID_A=$PID
start_moat B "$BIN_B" "$ENV_B" 18444 18083 18255; PID_B=$PID

ticks() { local s; s=$(cat "/proc/$1/stat"); s=${s##*) }; read -ra f <<<"$s"; echo $((f[11] + f[12])); }
CLK_TCK=$(getconf CLK_TCK)
# slice PID PORT: one wrk run; prints "cpu_s_per_100k req_per_s".
slice() {
  local t0 t1 out reqs rps
  t0=$(ticks "$1")
  out=$(taskset -c "$LOAD_CPUS" wrk -t1 -c"$CONNS" -d"${SLICE}s" --timeout 5s -H 'Host: bench.local' "https://127.0.0.1:$2/")
  t1=$(ticks "$1")
  reqs=$(awk '/ requests in /{print $1}' <<<"$out")
  rps=$(awk '/^Requests\/sec:/{print $2}' <<<"$out")
  if grep -q 'Non-2xx\|Socket errors' <<<"$out"; then echo "bench/pair.sh: errors on port $2:" >&2; echo "$out" >&2; exit 1; fi
  awk -v a="$t0" -v b="$t1" -v hz="$CLK_TCK" -v n="$reqs" -v r="$rps" 'BEGIN{printf "%.3f %.0f\n", (b-a)/hz/n*100000, r}'
}
slice "$PID_A" 18443 >/dev/null; slice "$PID_B" 18444 >/dev/null # warm-up

mkdir -p "$OUT_DIR"
TSV=$OUT_DIR/pair-$(date -u +%Y%m%dT%H%M%SZ).tsv
{
  echo "# A: $BIN_A ${ENV_A:+($ENV_A)}"
  echo "# B: $BIN_B ${ENV_B:+($ENV_B)}"
  echo "# $PAIRS pairs x ${SLICE}s, wrk -c$CONNS, proxy CPUs $PROXY_CPUS, load CPUs $LOAD_CPUS, load average $(cut -d' ' -f1-3 /proc/loadavg)"
  printf 'pair\tA_cpu_s_per_100k\tB_cpu_s_per_100k\tB_over_A\tA_req_s\tB_req_s\n'
} >"$TSV"
for i in $(seq "$PAIRS"); do
  read -r ca ra < <(slice "$PID_A" 18443)
  read -r cb rb < <(slice "$PID_B" 18444)
  printf '%d\t%s\t%s\t%s\t%s\t%s\n' "$i" "$ca" "$cb" "$(awk -v a="$ca" -v b="$cb" 'BEGIN{printf "%.3f", b/a}')" "$ra" "$rb" >>"$TSV"
done
hwm() { awk '/^VmHWM:/{printf "%.1f", $2/1024}' "/proc/$1/status"; }
echo "# peak RSS MiB: A $(hwm "$PID_A"), B $(hwm "$PID_B")" >>"$TSV"
cat "$TSV"
awk -F'\t' '!/^#/ && NR>4 {print $4}' "$TSV" | sort -n |
  awk '{v[NR]=$1} END{m=(NR%2)?v[(NR+1)/2]:(v[NR/2]+v[NR/2+1])/2; printf "median B/A CPU per request: %.3f over %d pairs\n", m, NR}'
echo "samples: $TSV"
