#!/usr/bin/env bash
# HTTPS: refserver vs nginx, one worker each, the same ECDSA P-256 certificate (made here
# with openssl, thrown away after), the same wrk runs alternating A,B,A,B:
#
#   handshakes  a new connection, so a full TLS handshake, per request
#               (wrk -H 'Connection: close'); prints handshakes/s
#   keepalive   requests on kept-alive TLS connections; prints requests/s
#
# and, for both, server CPU microseconds per request (utime+stime from /proc/PID/stat before
# and after each run). Then the medians, and refserver's ratio to nginx.
#
#   cargo build --release -p refserver
#   refserver/scripts/compare_tls.sh [runs] [seconds]
set -euo pipefail
RUNS=${1:-3}
SECS=${2:-5}
CONNS=${CONNS:-50}
HS_CONNS=${HS_CONNS:-16}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BIN=${BIN:-${CARGO_TARGET_DIR:-$ROOT/target}/release/refserver}
RS_PORT=${RS_PORT:-18443}
NG_PORT=${NG_PORT:-18444}
TMP=$(mktemp -d)
RS_PID=
trap 'kill $RS_PID 2>/dev/null || true; [ -f $TMP/nginx.pid ] && kill $(cat $TMP/nginx.pid) 2>/dev/null || true; sleep 0.3; rm -rf $TMP' EXIT

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
  -keyout "$TMP/key.pem" -out "$TMP/cert.pem" -subj "/CN=localhost" \
  -addext "subjectAltName=DNS:localhost" 2>/dev/null

cat >"$TMP/refserver.toml" <<CONF
listen = { addr = "127.0.0.1:$RS_PORT", tls = { cert = "$TMP/cert.pem", key = "$TMP/key.pem" } }
workers = 1
access_log = "off"
[[route]]
prefix = "/plaintext"
respond = { content_type = "text/plain", body = "Hello, World!" }
CONF
"$BIN" --config "$TMP/refserver.toml" >"$TMP/rs.out" 2>"$TMP/rs.err" &
RS_PID=$!

mkdir -p "$TMP/logs"
cat >"$TMP/nginx.conf" <<CONF
worker_processes 1;
pid $TMP/nginx.pid;
error_log $TMP/logs/error.log;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path $TMP/body;
  proxy_temp_path $TMP/proxy;
  fastcgi_temp_path $TMP/fcgi;
  uwsgi_temp_path $TMP/uwsgi;
  scgi_temp_path $TMP/scgi;
  keepalive_requests 10000;
  server {
    listen 127.0.0.1:$NG_PORT ssl;
    ssl_certificate $TMP/cert.pem;
    ssl_certificate_key $TMP/key.pem;
    ssl_protocols TLSv1.2 TLSv1.3;
    location /plaintext { default_type text/plain; return 200 "Hello, World!"; }
  }
}
CONF
nginx -c "$TMP/nginx.conf" -p "$TMP"
sleep 0.5
NG_WORKER=$(pgrep -P "$(cat $TMP/nginx.pid)" | head -1)

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
TCK=$(getconf CLK_TCK)

run() { # kind name pid port
  local before after out rps reqs us conns=$CONNS
  local -a extra=()
  if [ "$1" = handshakes ]; then extra=(-H 'Connection: close'); conns=$HS_CONNS; fi
  before=$(cpu_ticks "$3")
  out=$(wrk -t1 -c"$conns" -d"${SECS}s" "${extra[@]}" "https://localhost:$4/plaintext")
  after=$(cpu_ticks "$3")
  rps=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
  reqs=$(echo "$out" | awk '/requests in/ {print $1}')
  if echo "$out" | grep -q "Non-2xx\|Socket errors"; then echo "$out" >&2; fi
  us=$(awk -v t=$((after - before)) -v r="$reqs" -v h="$TCK" 'BEGIN {printf "%.2f", t * 1e6 / h / r}')
  echo "$1 $2 $rps $us"
}

echo "negotiated:"
for port in $RS_PORT $NG_PORT; do
  echo | openssl s_client -connect 127.0.0.1:$port -servername localhost 2>/dev/null \
    | awk -v p=$port '/^New,/ {print " port " p ": " $0}'
  wrk -t1 -c"$CONNS" -d1s "https://localhost:$port/plaintext" >/dev/null
done
echo "kind server per_s cpu_us/req"
for _ in $(seq "$RUNS"); do
  for kind in handshakes keepalive; do
    run $kind refserver $RS_PID $RS_PORT | tee -a "$TMP/results"
    run $kind nginx "$NG_WORKER" $NG_PORT | tee -a "$TMP/results"
  done
done
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
echo "medians:"
for kind in handshakes keepalive; do
  for name in refserver nginx; do
    r=$(grep "^$kind $name " "$TMP/results" | awk '{print $3}' | median)
    c=$(grep "^$kind $name " "$TMP/results" | awk '{print $4}' | median)
    echo "$kind $name per_s $r cpu_us/req $c"
    eval "${name}_r=$r ${name}_c=$c"
  done
  # shellcheck disable=SC2154
  awk -v a="$refserver_r" -v b="$nginx_r" -v c="$refserver_c" -v d="$nginx_c" -v k="$kind" \
    'BEGIN {printf "%s refserver/nginx: throughput %.2f, cpu per request %.2f\n", k, a / b, c / d}'
done
