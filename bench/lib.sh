# bench/lib.sh — what bench/pair.sh and bench/profile.sh share: the same
# certificate, backend and moat manifests as bench/run.sh. Sourced, with
# ROOT and WORK set.

# bench_setup KEY: a certificate for bench.local (KEY ecdsa or rsa), the
# backend nginx's config in $WORK/backend-nginx.conf and moat's manifests
# in $WORK/manifests, for the backend on 127.0.0.1:18080 and `moat echo`
# on :18081.
bench_setup() {
  local key=$1
  if [[ $key == ecdsa ]]; then
    openssl ecparam -name prime256v1 -genkey -noout -out "$WORK/key.ec.pem" 2>/dev/null
    openssl pkcs8 -topk8 -nocrypt -in "$WORK/key.ec.pem" -out "$WORK/key.pem"
  else
    openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$WORK/key.pem" 2>/dev/null
  fi
  openssl req -x509 -new -key "$WORK/key.pem" -out "$WORK/cert.pem" -days 7 -subj "/CN=bench.local" \
    -addext "subjectAltName=DNS:bench.local,DNS:echo.bench.local" 2>/dev/null
  local body
  body=$(head -c 1024 /dev/zero | tr '\0' 'x')
  mkdir -p "$WORK/backend-tmp" "$WORK/manifests"
  bench_render backend-nginx.conf.tmpl "$WORK/backend-nginx.conf" WORK="$WORK" BACKEND_ADDR=127.0.0.1:18080 \
    ECHO_ADDR=127.0.0.1:18081 PROXY_ADDR=127.0.0.1:18443 BODY="$body"
  bench_render moat-manifests.yaml.tmpl "$WORK/manifests/bench.yaml" \
    CERT_B64="$(base64 -w0 "$WORK/cert.pem")" KEY_B64="$(base64 -w0 "$WORK/key.pem")" \
    BACKEND_HOST=127.0.0.1 BACKEND_PORT=18080 ECHO_HOST=127.0.0.1 ECHO_PORT=18081
}

# bench_render TEMPLATE OUT KEY=VALUE...
bench_render() {
  local tmpl=$1 out=$2 kv sedargs=(); shift 2
  for kv in "$@"; do sedargs+=(-e "s|@${kv%%=*}@|${kv#*=}|g"); done
  sed "${sedargs[@]}" "$ROOT/bench/templates/$tmpl" >"$out"
}

# MOAT_FLAGS: the flags every bench script gives `moat serve` besides the
# addresses (the kit's ConfigMap sets keep-alive-requests as nginx's).
MOAT_FLAGS=(--manifests "$WORK/manifests" --default-ssl-certificate default/bench-tls --configmap default/moat-bench --access-log=false)
