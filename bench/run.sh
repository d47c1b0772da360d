#!/usr/bin/env bash
# bench/run.sh — moat against nginx and HAProxy, one command, loopback only.
#
# Starts a backend (nginx answering a fixed 1 KiB body over keep-alive) and
# `moat echo`, then each proxy in turn (moat, nginx, HAProxy) terminating TLS
# on loopback with the same certificate and keep-alive to the backend, all
# pinned with taskset to the same CPU set, and drives each with
# time-bounded loads from a load generator pinned to another CPU.
#
# Every load runs in each cell of a matrix (CELLS), placement × key type:
#
#   alone-*    the proxy alone on PROXY_CPUS; load generator and backends on
#              LOAD_CPUS / BACKEND_CPUS
#   shared-*   the proxy shares BACKEND_CPUS with the backends (as in a pod
#              next to its workload); the load generator moves to PROXY_CPUS
#   *-ecdsa    an ECDSA P-256 certificate
#   *-rsa      an RSA-2048 certificate (cert-manager's default key, and the
#              key of ingress-nginx's default certificate)
#
# The loads:
#
#   wrk50 / wrk200   HTTPS/1.1 keep-alive, 50 and 200 connections (req/s, p50, p99)
#   h2               h2load HTTP/2, H2_CLIENTS connections × H2_STREAMS streams (req/s)
#   hs_full          new TLS connections per second, full handshakes: h2load --h1
#                    -c N -n N repeated, so every client makes exactly one
#                    connection with one request and has no session to resume
#   hs_resumed       new TLS connections per second with session resumption: wrk
#                    with "Connection: close" (wrk keeps the TLS session across
#                    its reconnects, so these handshakes resume)
#   echo50           wrk, 50 connections, to the `moat echo` backend through the proxy
#   log50            wrk, 50 connections, with the proxy's access log on (to a file)
#   direct           the backends without a proxy, plain HTTP: the ceiling
#
# LOADS (wrk50 wrk200 h2 hs_full) run in every cell; EXTRA_LOADS
# (hs_resumed echo50 log50) only in the first cell. Within a round, each
# cell's loads run in turn, and each load visits every proxy (started fresh
# and warmed for it) before the next load, with the order rotating per
# load and round, so one row's samples are taken close together; the
# machine's load average is recorded with every cell. The report gives,
# per cell, medians, ratios to nginx and HAProxy, CPU seconds per 100k
# requests (from /proc/PID/stat utime+stime) and peak RSS (VmHWM), then a
# summary of the ratios to nginx across the matrix. Access logs are OFF for
# every proxy except in the log50 row, where they are ON for every proxy.
# Results: tables on stdout and bench/results/<timestamp>.json. The run
# is bounded: ROUNDS × cells × loads × proxies runs of DURATION seconds
# (plus WARMUP and start-up each), estimated before it starts.
#
# Usage: bench/run.sh [--quick]      (--quick: 3 s loads, 1 round)
# Knobs (environment): DURATION (s, per load, default 10), ROUNDS (3),
# WARMUP (s, 2), PROXIES ("moat nginx haproxy"), CELLS ("alone-ecdsa
# alone-rsa shared-ecdsa shared-rsa"), LOADS, EXTRA_LOADS, PROXY_CPUS (0),
# LOAD_CPUS (1), BACKEND_CPUS (1), H2_CLIENTS (50), H2_STREAMS (10),
# HS_CLIENTS (200), LOG_ROW (1), OUT_DIR (bench/results), KEEP_WORK (0),
# MOAT_BIN (a prebuilt moat binary; default: go build ./cmd/moat) and
# MOAT_COMMIT (the commit it was built from, for the report);
# MOAT_BASE_BIN (a baseline moat binary, run as a fourth proxy "moat-base"
# in the same interleaved rounds, so a change is measured against its
# baseline under the same conditions; the table adds moat/moat-base) and
# MOAT_BASE_COMMIT.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
export PATH="$PATH:/usr/sbin:/sbin"

DURATION=${DURATION:-10}
ROUNDS=${ROUNDS:-3}
WARMUP=${WARMUP:-2}
MOAT_BASE_BIN=${MOAT_BASE_BIN:-}
PROXIES=${PROXIES:-"moat${MOAT_BASE_BIN:+ moat-base} nginx haproxy"}
PROXY_CPUS=${PROXY_CPUS:-0}
LOAD_CPUS=${LOAD_CPUS:-1}
BACKEND_CPUS=${BACKEND_CPUS:-1}
H2_CLIENTS=${H2_CLIENTS:-50}
H2_STREAMS=${H2_STREAMS:-10}
HS_CLIENTS=${HS_CLIENTS:-200}
LOG_ROW=${LOG_ROW:-1}
CELLS=${CELLS:-"alone-ecdsa alone-rsa shared-ecdsa shared-rsa"}
LOADS=${LOADS:-"wrk50 wrk200 h2 hs_full"}
if [[ -z ${EXTRA_LOADS+x} ]]; then
  EXTRA_LOADS="hs_resumed echo50"
  [[ $LOG_ROW == 1 ]] && EXTRA_LOADS+=" log50"
fi
OUT_DIR=${OUT_DIR:-$ROOT/bench/results}
KEEP_WORK=${KEEP_WORK:-0}
MOAT_BIN=${MOAT_BIN:-}

case "${1:-}" in
  --quick) DURATION=3; ROUNDS=1; WARMUP=1 ;;
  -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
  "") ;;
  *) echo "bench/run.sh: unknown argument $1 (try --help)" >&2; exit 2 ;;
esac

# Loopback addresses. The proxies take turns on PROXY_ADDR.
BACKEND_HOST=127.0.0.1 BACKEND_PORT=18080
ECHO_HOST=127.0.0.1 ECHO_PORT=18081
PROXY_ADDR=127.0.0.1:18443
MOAT_HTTP_ADDR=127.0.0.1:18082
MOAT_ADMIN_ADDR=127.0.0.1:18254

# --- tools -------------------------------------------------------------------
missing=()
need() { command -v "$1" >/dev/null 2>&1 || missing+=("$2"); }
need nginx nginx
need haproxy haproxy
need wrk wrk
need h2load nghttp2-client
need openssl openssl
need taskset util-linux
need curl curl
need go "golang (Go 1.26: https://go.dev/dl)"
if ((${#missing[@]})); then
  echo "bench/run.sh: missing tools. Install them and run again:" >&2
  echo "  apt-get install -y ${missing[*]}" >&2
  exit 1
fi
ncpu=$(nproc)
for c in $PROXY_CPUS $LOAD_CPUS $BACKEND_CPUS; do
  for n in ${c//[,-]/ }; do
    if ((n >= ncpu)); then echo "bench/run.sh: CPU $n not online (nproc=$ncpu); set PROXY_CPUS/LOAD_CPUS/BACKEND_CPUS" >&2; exit 2; fi
  done
done
for addr in $BACKEND_HOST:$BACKEND_PORT $ECHO_HOST:$ECHO_PORT $PROXY_ADDR $MOAT_HTTP_ADDR $MOAT_ADMIN_ADDR; do
  if (exec 3<>"/dev/tcp/${addr%:*}/${addr##*:}") 2>/dev/null; then
    echo "bench/run.sh: $addr is already in use; stop what listens there first" >&2; exit 1
  fi
done

WORK=$(mktemp -d /tmp/moat-bench.XXXXXX)
PIDS=()
cleanup() {
  local p
  for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do
    for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$p" 2>/dev/null || true
    wait "$p" 2>/dev/null || true
  done
  PIDS=()
  if [[ $KEEP_WORK == 1 ]]; then echo "work dir kept: $WORK" >&2; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

log() { printf '[%(%H:%M:%S)T] %s\n' -1 "$*" >&2; }

# start NAME CPUS CMD...: runs CMD pinned to CPUS in the background; sets PID.
start() {
  local name=$1 cpus=$2; shift 2
  taskset -c "$cpus" "$@" >"$WORK/$name.out" 2>"$WORK/$name.err" &
  PID=$!
  PIDS+=("$PID")
}

# stop PID: TERM, then KILL after 5 s.
stop() {
  local p=$1 q keep=()
  kill -TERM "$p" 2>/dev/null || true
  for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$p" 2>/dev/null || true
  wait "$p" 2>/dev/null || true
  for q in "${PIDS[@]}"; do [[ $q == "$p" ]] || keep+=("$q"); done
  PIDS=("${keep[@]}")
}

wait_port() {
  local addr=$1 name=$2 pid=$3
  for _ in $(seq 200); do
    if (exec 3<>"/dev/tcp/${addr%:*}/${addr##*:}") 2>/dev/null; then return 0; fi
    kill -0 "$pid" 2>/dev/null || { echo "bench/run.sh: $name exited:" >&2; cat "$WORK/$name.err" >&2; exit 1; }
    sleep 0.05
  done
  echo "bench/run.sh: $name did not listen on $addr within 10 s" >&2; cat "$WORK/$name.err" >&2; exit 1
}

# pids_of PID: PID and its children (nginx's master and workers).
pids_of() {
  local p=$1 f
  echo "$p"
  for f in /proc/[0-9]*/stat; do
    local s
    s=$(cat "$f" 2>/dev/null) || continue
    s=${s##*) }
    read -r _ ppid _ <<<"$s"
    [[ $ppid == "$p" ]] && { f=${f#/proc/}; echo "${f%/stat}"; }
  done
}

# ticks PIDS...: utime+stime in clock ticks, summed.
ticks() {
  local t=0 p s f
  for p in "$@"; do
    s=$(cat "/proc/$p/stat" 2>/dev/null) || continue
    s=${s##*) }
    read -ra f <<<"$s"
    t=$((t + f[11] + f[12]))
  done
  echo "$t"
}

# hwm_kib PIDS...: peak RSS (VmHWM) in KiB, summed.
hwm_kib() {
  local t=0 p v
  for p in "$@"; do
    v=$(awk '/^VmHWM:/{print $2}' "/proc/$p/status" 2>/dev/null || true)
    t=$((t + ${v:-0}))
  done
  echo "$t"
}

RAW=$WORK/raw.tsv
: >"$RAW"
# rec ROUND TARGET LOAD METRIC VALUE; the load is recorded as LOAD@CELL
# while a cell runs (SFX="@cell").
SFX=
rec() { printf '%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "$3$SFX" "$4" "$5" >>"$RAW"; }

CLK_TCK=$(getconf CLK_TCK)

# --- build and generate ------------------------------------------------------
if [[ -n $MOAT_BIN ]]; then
  log "using moat binary $MOAT_BIN"
  cp "$MOAT_BIN" "$WORK/moat"
else
  log "building moat"
  (cd "$ROOT" && go build -o "$WORK/moat" ./cmd/moat)
fi
if [[ -n $MOAT_BASE_BIN ]]; then
  log "using baseline moat binary $MOAT_BASE_BIN"
  cp "$MOAT_BASE_BIN" "$WORK/moat-base"
fi
(cd "$ROOT" && go build -o "$WORK/report" ./bench/report)

# Cells: "alone-ecdsa" etc. Checked before anything starts.
declare -A KEYS_USED=()
for cell in $CELLS; do
  case $cell in
    alone-ecdsa|alone-rsa|shared-ecdsa|shared-rsa) KEYS_USED[${cell#*-}]=1 ;;
    *) echo "bench/run.sh: unknown cell $cell in CELLS (alone-ecdsa alone-rsa shared-ecdsa shared-rsa)" >&2; exit 2 ;;
  esac
done
for key in "${!KEYS_USED[@]}"; do
  log "generating the $key certificate for bench.local"
  if [[ $key == ecdsa ]]; then
    openssl ecparam -name prime256v1 -genkey -noout -out "$WORK/key.ec.pem" 2>/dev/null
    openssl pkcs8 -topk8 -nocrypt -in "$WORK/key.ec.pem" -out "$WORK/key.ecdsa.pem"
  else
    openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$WORK/key.rsa.pem" 2>/dev/null
  fi
  openssl req -x509 -new -key "$WORK/key.$key.pem" -out "$WORK/cert.$key.pem" -days 7 -subj "/CN=bench.local" \
    -addext "subjectAltName=DNS:bench.local,DNS:echo.bench.local" 2>/dev/null
  cat "$WORK/cert.$key.pem" "$WORK/key.$key.pem" >"$WORK/bench.$key.pem"
done

BODY=$(head -c 1024 /dev/zero | tr '\0' 'x')
render() { # render TEMPLATE OUT KEY=VALUE...
  local tmpl=$1 out=$2 kv sedargs=(); shift 2
  for kv in "$@"; do sedargs+=(-e "s|@${kv%%=*}@|${kv#*=}|g"); done
  sed "${sedargs[@]}" "$ROOT/bench/templates/$tmpl" >"$out"
}
common=(WORK="$WORK" BACKEND_ADDR="$BACKEND_HOST:$BACKEND_PORT" ECHO_ADDR="$ECHO_HOST:$ECHO_PORT" PROXY_ADDR="$PROXY_ADDR")
mkdir -p "$WORK/backend-tmp" "$WORK/proxy-tmp"
render backend-nginx.conf.tmpl "$WORK/backend-nginx.conf" "${common[@]}" BODY="$BODY"
for key in "${!KEYS_USED[@]}"; do
for lg in off on; do
  if [[ $lg == on ]]; then
    # moat batches its access log (32 KiB or 100 ms); nginx gets the same.
    nl="access_log $WORK/nginx-access.log combined buffer=32k flush=100ms;"
    hg="log stdout format raw local0"; hd="log global
  option httplog"
  else
    nl="access_log off;"; hg="# access log off"; hd="# access log off"
  fi
  render proxy-nginx.conf.tmpl "$WORK/proxy-nginx-log$lg-$key.conf" "${common[@]}" NGINX_ACCESS_LOG="$nl" \
    CERT="$WORK/cert.$key.pem" KEY="$WORK/key.$key.pem"
  render proxy-haproxy.cfg.tmpl "$WORK/proxy-haproxy-log$lg-$key.cfg" "${common[@]}" HAPROXY_GLOBAL_LOG="$hg" \
    HAPROXY_DEFAULTS_LOG="${hd//$'\n'/\\n}" CRT="$WORK/bench.$key.pem"
done
mkdir -p "$WORK/moat-manifests-$key"
render moat-manifests.yaml.tmpl "$WORK/moat-manifests-$key/bench.yaml" \
  CERT_B64="$(base64 -w0 "$WORK/cert.$key.pem")" KEY_B64="$(base64 -w0 "$WORK/key.$key.pem")" \
  BACKEND_HOST=$BACKEND_HOST BACKEND_PORT=$BACKEND_PORT ECHO_HOST=$ECHO_HOST ECHO_PORT=$ECHO_PORT
nginx -t -q -c "$WORK/proxy-nginx-logoff-$key.conf" -p "$WORK/" -e "$WORK/nginx-t.err"
haproxy -c -q -f "$WORK/proxy-haproxy-logoff-$key.cfg"
done

# --- proxies -----------------------------------------------------------------
# start_proxy NAME LOG(on|off) KEY(ecdsa|rsa) CPUS: sets PPID_ (main pid)
# and PROXY_PIDS.
start_proxy() {
  local name=$1 lg=$2 key=$3 cpus=$4
  case $name in
    moat|moat-base)
      local al=false; [[ $lg == on ]] && al=true
      start "$name" "$cpus" "$WORK/$name" serve --manifests "$WORK/moat-manifests-$key" \
        --http-addr "$MOAT_HTTP_ADDR" --https-addr "$PROXY_ADDR" --admin-addr "$MOAT_ADMIN_ADDR" \
        --default-ssl-certificate default/bench-tls --configmap default/moat-bench --access-log="$al" --log-level warn
      PPID_=$PID
      for _ in $(seq 200); do
        curl -fsS -o /dev/null "http://$MOAT_ADMIN_ADDR/readyz" 2>/dev/null && break
        kill -0 "$PID" 2>/dev/null || { cat "$WORK/$name.err" >&2; exit 1; }
        sleep 0.05
      done
      ;;
    nginx)
      start nginx "$cpus" nginx -c "$WORK/proxy-nginx-log$lg-$key.conf" -p "$WORK/" -e "$WORK/proxy-nginx.err"
      PPID_=$PID ;;
    haproxy)
      start haproxy "$cpus" haproxy -db -f "$WORK/proxy-haproxy-log$lg-$key.cfg"
      PPID_=$PID ;;
  esac
  wait_port "$PROXY_ADDR" "$name" "$PPID_"
  # Wait for nginx's worker to exist before sampling its pids.
  for _ in $(seq 40); do
    mapfile -t PROXY_PIDS < <(pids_of "$PPID_")
    [[ $name != nginx || ${#PROXY_PIDS[@]} -ge 2 ]] && break
    sleep 0.05
  done
  # Check that it really proxies to the backend before measuring.
  local code
  code=$(curl -sk -o /dev/null -w '%{http_code}' --resolve "bench.local:${PROXY_ADDR##*:}:${PROXY_ADDR%:*}" \
    "https://bench.local:${PROXY_ADDR##*:}/") || true
  if [[ $code != 200 ]]; then
    echo "bench/run.sh: $name answered $code instead of 200" >&2; cat "$WORK/$name.err" >&2; exit 1
  fi
}

ms() { awk -v v="$1" 'BEGIN{ if (v ~ /us$/) printf "%.3f", v/1000; else if (v ~ /ms$/) printf "%.3f", v+0; else if (v ~ /s$/) printf "%.3f", v*1000; else print "nan" }'; }

# The CPUs of the current cell (set per cell in the run loop).
CUR_PROXY_CPUS=$PROXY_CPUS CUR_LOAD_CPUS=$LOAD_CPUS

# measure ROUND TARGET LOAD CMD...: runs CMD pinned to CUR_LOAD_CPUS (output in
# $OUT), recording the proxy's CPU time around it.
measure() {
  local round=$1 target=$2 load=$3; shift 3
  local t0 t1 w0 w1
  t0=$(ticks "${MPIDS[@]}"); w0=$(date +%s.%N)
  OUT=$(taskset -c "$CUR_LOAD_CPUS" "$@" 2>&1) || { echo "$OUT" >&2; echo "bench/run.sh: load $load on $target failed" >&2; exit 1; }
  t1=$(ticks "${MPIDS[@]}"); w1=$(date +%s.%N)
  CPU_S=$(awk -v a="$t0" -v b="$t1" -v hz="$CLK_TCK" 'BEGIN{printf "%.3f", (b-a)/hz}')
  WALL_S=$(awk -v a="$w0" -v b="$w1" 'BEGIN{printf "%.3f", b-a}')
  printf '%s\n' "$OUT" >>"$WORK/loads.log"
}

# wrk_load ROUND TARGET LOAD CONNS URL HOST [extra wrk args]
wrk_load() {
  local round=$1 target=$2 load=$3 conns=$4 url=$5 host=$6; shift 6
  measure "$round" "$target" "$load" wrk -t1 -c"$conns" -d"${DURATION}s" --timeout 5s --latency -H "Host: $host" "$@" "$url"
  local rps reqs p50 p99 non2xx sockerr
  rps=$(awk '/^Requests\/sec:/{print $2}' <<<"$OUT")
  reqs=$(awk '/ requests in /{print $1}' <<<"$OUT")
  p50=$(ms "$(awk '$1=="50%"{print $2}' <<<"$OUT")")
  p99=$(ms "$(awk '$1=="99%"{print $2}' <<<"$OUT")")
  non2xx=$(awk '/Non-2xx or 3xx responses:/{print $NF}' <<<"$OUT"); non2xx=${non2xx:-0}
  sockerr=$(awk '/Socket errors:/{gsub(/[^0-9 ]/," "); s=0; for(i=1;i<=NF;i++) s+=$i; print s}' <<<"$OUT"); sockerr=${sockerr:-0}
  rec "$round" "$target" "$load" rps "$rps"
  rec "$round" "$target" "$load" requests "$reqs"
  rec "$round" "$target" "$load" p50_ms "$p50"
  rec "$round" "$target" "$load" p99_ms "$p99"
  rec "$round" "$target" "$load" non2xx "$non2xx"
  rec "$round" "$target" "$load" socket_errors "$sockerr"
  cpu_rec "$round" "$target" "$load" "$reqs"
  log "  $target $load: $rps req/s, p50 ${p50} ms, p99 ${p99} ms, cpu ${CPU_S}s, non-2xx $non2xx, socket errors $sockerr"
}

cpu_rec() {
  local round=$1 target=$2 load=$3 reqs=$4
  [[ $target == direct ]] && return 0
  rec "$round" "$target" "$load" cpu_s "$CPU_S"
  rec "$round" "$target" "$load" cpu_util "$(awk -v c="$CPU_S" -v w="$WALL_S" 'BEGIN{printf "%.3f", c/w}')"
  if [[ ${reqs:-0} -gt 0 ]]; then
    rec "$round" "$target" "$load" cpu_s_per_100k "$(awk -v c="$CPU_S" -v n="$reqs" 'BEGIN{printf "%.3f", c/n*100000}')"
  fi
}

h2_load() {
  local round=$1 target=$2
  measure "$round" "$target" h2 h2load -t1 -c"$H2_CLIENTS" -m"$H2_STREAMS" -D"$DURATION" -H ":authority: bench.local" "https://$PROXY_ADDR/"
  local rps ok failed mean
  rps=$(awk '/^finished in/{print $4}' <<<"$OUT")
  ok=$(sed -n 's/^requests: .* \([0-9]*\) succeeded.*/\1/p' <<<"$OUT")
  failed=$(sed -n 's/^requests: .* \([0-9]*\) failed.*/\1/p' <<<"$OUT")
  mean=$(ms "$(awk '/^time for request:/{print $6}' <<<"$OUT")")
  if ! grep -q 'Application protocol: h2' <<<"$OUT"; then echo "bench/run.sh: h2load did not negotiate h2 with $target" >&2; exit 1; fi
  rec "$round" "$target" h2 rps "$rps"
  rec "$round" "$target" h2 requests "$ok"
  rec "$round" "$target" h2 failed "${failed:-0}"
  rec "$round" "$target" h2 mean_ms "$mean"
  cpu_rec "$round" "$target" h2 "$ok"
  log "  $target h2: $rps req/s, mean $mean ms, failed ${failed:-0}, cpu ${CPU_S}s"
}

# Full handshakes: h2load runs HS_CLIENTS clients that each open one TLS
# connection and send one request (-n = -c), so no client ever holds a
# session to resume; repeated until DURATION has passed (at most 500 runs).
hs_full_load() {
  local round=$1 target=$2 end n=0 done_=0 secs=0 t0 t1 w0 w1 out s ok
  end=$(( $(date +%s) + DURATION ))
  t0=$(ticks "${MPIDS[@]}"); w0=$(date +%s.%N)
  while (( $(date +%s) < end && n < 500 )); do
    out=$(taskset -c "$CUR_LOAD_CPUS" h2load --h1 -t1 -c"$HS_CLIENTS" -n"$HS_CLIENTS" -H ":authority: bench.local" "https://$PROXY_ADDR/" 2>&1) \
      || { echo "$out" >&2; exit 1; }
    # "finished in 1.23s," or "finished in 850.12ms,": seconds.
    s=$(awk '/^finished in/{v=$3; sub(/,$/,"",v); if (v ~ /ms$/) print v/1000; else if (v ~ /us$/) print v/1000000; else print v+0}' <<<"$out")
    ok=$(sed -n 's/^requests: .* \([0-9]*\) succeeded.*/\1/p' <<<"$out")
    done_=$((done_ + ok)); secs=$(awk -v a="$secs" -v b="$s" 'BEGIN{print a+b}'); n=$((n + 1))
  done
  t1=$(ticks "${MPIDS[@]}"); w1=$(date +%s.%N)
  CPU_S=$(awk -v a="$t0" -v b="$t1" -v hz="$CLK_TCK" 'BEGIN{printf "%.3f", (b-a)/hz}')
  WALL_S=$(awk -v a="$w0" -v b="$w1" 'BEGIN{printf "%.3f", b-a}')
  local rate; rate=$(awk -v d="$done_" -v s="$secs" 'BEGIN{printf "%.1f", (s>0)?d/s:0}')
  rec "$round" "$target" hs_full rps "$rate"
  rec "$round" "$target" hs_full requests "$done_"
  rec "$round" "$target" hs_full failed $((n * HS_CLIENTS - done_))
  cpu_rec "$round" "$target" hs_full "$done_"
  log "  $target hs_full: $rate handshakes/s ($done_ in $n runs), cpu ${CPU_S}s"
}

# run_load ROUND NAME LOAD KEY: starts the proxy fresh (access log on for
# log50 only), warms it, runs one load and stops it. Each load visits
# every proxy before the next load starts, so the samples of one row are
# taken within a minute of each other: this VM's host changes its speed
# over minutes (see docs/performance.md), and a turn of all loads per
# proxy charged a slow stretch to whichever proxy came later.
declare -A RSS_MAX=()
run_load() {
  local round=$1 name=$2 load=$3 key=$4 lg=off
  [[ $load == log50 ]] && lg=on
  start_proxy "$name" "$lg" "$key" "$CUR_PROXY_CPUS"
  MPIDS=("${PROXY_PIDS[@]}")
  local url="https://$PROXY_ADDR/"
  # Warm-up: connections, TLS sessions, heap growth; not recorded.
  taskset -c "$CUR_LOAD_CPUS" wrk -t1 -c50 -d"${WARMUP}s" -H "Host: bench.local" "$url" >/dev/null
  case $load in
    wrk50) wrk_load "$round" "$name" wrk50 50 "$url" bench.local ;;
    wrk200) wrk_load "$round" "$name" wrk200 200 "$url" bench.local ;;
    h2) h2_load "$round" "$name" ;;
    hs_full) hs_full_load "$round" "$name" ;;
    hs_resumed) wrk_load "$round" "$name" hs_resumed 50 "$url" bench.local -H "Connection: close" ;;
    echo50) wrk_load "$round" "$name" echo50 50 "$url" echo.bench.local ;;
    log50) wrk_load "$round" "$name" log50 50 "$url" bench.local ;;
  esac
  if [[ $lg == off ]]; then
    local k; k=$(hwm_kib "${MPIDS[@]}")
    (( k > ${RSS_MAX[$name]:-0} )) && RSS_MAX[$name]=$k
  fi
  if [[ $name == moat* && $load == wrk50 ]]; then
    rec "$round" "$name" all gomaxprocs "$(curl -fsS "http://$MOAT_ADMIN_ADDR/metrics" | awk '/^go_sched_gomaxprocs_threads /{print $2}')"
  fi
  stop "$PPID_"
}

run_direct() {
  local round=$1
  log "round $round: backends direct (plain HTTP)"
  MPIDS=()
  wrk_load "$round" direct wrk50 50 "http://$BACKEND_HOST:$BACKEND_PORT/" bench.local
  wrk_load "$round" direct wrk200 200 "http://$BACKEND_HOST:$BACKEND_PORT/" bench.local
  wrk_load "$round" direct echo50 50 "http://$ECHO_HOST:$ECHO_PORT/" echo.bench.local
}

# --- run ---------------------------------------------------------------------
start backend-nginx "$BACKEND_CPUS" nginx -c "$WORK/backend-nginx.conf" -p "$WORK/" -e "$WORK/backend-nginx.err"
wait_port "$BACKEND_HOST:$BACKEND_PORT" backend-nginx "$PID"
start echo "$BACKEND_CPUS" "$WORK/moat" echo --listen "$ECHO_HOST:$ECHO_PORT" --name bench
wait_port "$ECHO_HOST:$ECHO_PORT" echo "$PID"

META=$WORK/meta.txt
{
  echo "date=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
  if [[ -n $MOAT_BIN ]]; then
    echo "commit=${MOAT_COMMIT:-unknown} (prebuilt $MOAT_BIN)"
  else
    echo "commit=$(cd "$ROOT" && git rev-parse --short HEAD 2>/dev/null || echo unknown)$(cd "$ROOT" && git diff --quiet HEAD -- cmd internal 2>/dev/null || echo '+dirty')"
  fi
  [[ -n $MOAT_BASE_BIN ]] && echo "base_commit=${MOAT_BASE_COMMIT:-unknown} (prebuilt $MOAT_BASE_BIN)"
  echo "nproc=$ncpu"
  echo "cpu=$(awk -F': ' '/^model name/{print $2; exit}' /proc/cpuinfo)"
  echo "kernel=$(uname -sr)"
  echo "go=$(go version | awk '{print $3}')"
  echo "nginx=$(nginx -v 2>&1 | sed 's/.*nginx\///')"
  echo "haproxy=$(haproxy -v | awk 'NR==1{print $3}')"
  echo "wrk=$(wrk -v 2>&1 | awk 'NR==1{print $2}')"
  echo "h2load=$(h2load --version | awk '{print $2}')"
  echo "openssl=$(openssl version | awk '{print $2}')"
  echo "loadavg_before=$(cut -d' ' -f1-3 /proc/loadavg)"
  echo "duration_s=$DURATION"
  echo "rounds=$ROUNDS"
  echo "proxy_cpus=$PROXY_CPUS"
  echo "load_cpus=$LOAD_CPUS"
  echo "backend_cpus=$BACKEND_CPUS"
  echo "cells=$CELLS"
  echo "placement=alone: proxy on CPU $PROXY_CPUS, load generator on $LOAD_CPUS, backends on $BACKEND_CPUS; shared: proxy and backends on CPU $BACKEND_CPUS, load generator on $PROXY_CPUS"
  echo "proxies=$PROXIES"
  echo "h2=-c$H2_CLIENTS -m$H2_STREAMS"
  echo "hs_full=h2load --h1 -c$HS_CLIENTS -n$HS_CLIENTS, repeated"
  echo "access_log=off (on in the log50 row only, for every proxy)"
} >"$META"
log "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"

read -ra order <<<"$PROXIES"
read -ra cells <<<"$CELLS"
read -ra loads <<<"$LOADS"
read -ra extra <<<"$EXTRA_LOADS"
nruns=$(( ROUNDS * ${#order[@]} * (${#cells[@]} * ${#loads[@]} + ${#extra[@]}) ))
log "$nruns loads of ${DURATION}s (+${WARMUP}s warm-up each) and $((3 * ROUNDS)) direct runs: about $(( (nruns * (DURATION + WARMUP + 2) + 3 * ROUNDS * (DURATION + 1)) / 60 + 1 )) min"
declare -A RSS_ALL=()
for ((r = 1; r <= ROUNDS; r++)); do
  SFX= CUR_PROXY_CPUS=$PROXY_CPUS CUR_LOAD_CPUS=$LOAD_CPUS
  run_direct "$r"
  for ((c = 0; c < ${#cells[@]}; c++)); do
    cell=${cells[c]}
    if [[ $cell == shared-* ]]; then
      CUR_PROXY_CPUS=$BACKEND_CPUS CUR_LOAD_CPUS=$PROXY_CPUS
    else
      CUR_PROXY_CPUS=$PROXY_CPUS CUR_LOAD_CPUS=$LOAD_CPUS
    fi
    SFX=@$cell
    cl=("${loads[@]}")
    ((c == 0)) && cl+=("${extra[@]}")
    rec "$r" machine all loadavg1 "$(cut -d' ' -f1 /proc/loadavg)"
    for ((l = 0; l < ${#cl[@]}; l++)); do
      log "round $r, $cell (load average $(cut -d' ' -f1 /proc/loadavg)): ${cl[l]}"
      # Rotate the order per load and round so that drift does not always
      # favour the same proxy.
      for ((i = 0; i < ${#order[@]}; i++)); do
        run_load "$r" "${order[(i + r + c + l - 1) % ${#order[@]}]}" "${cl[l]}" "${cell#*-}"
      done
    done
    for name in "${order[@]}"; do
      rec "$r" "$name" all rss_peak_mib "$(awk -v k="${RSS_MAX[$name]:-0}" 'BEGIN{printf "%.1f", k/1024}')"
      (( ${RSS_MAX[$name]:-0} > ${RSS_ALL[$name]:-0} )) && RSS_ALL[$name]=${RSS_MAX[$name]}
    done
    RSS_MAX=()
  done
  SFX=
  for name in "${order[@]}"; do
    rec "$r" "$name" all rss_peak_mib "$(awk -v k="${RSS_ALL[$name]:-0}" 'BEGIN{printf "%.1f", k/1024}')"
  done
  RSS_ALL=()
done
echo "loadavg_after=$(cut -d' ' -f1-3 /proc/loadavg)" >>"$META"
log "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"

mkdir -p "$OUT_DIR"
stamp=$(date -u +%Y%m%dT%H%M%SZ)
"$WORK/report" -raw "$RAW" -meta "$META" -json "$OUT_DIR/$stamp.json"
echo
echo "raw results and settings: $OUT_DIR/$stamp.json"
