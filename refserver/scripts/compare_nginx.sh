#!/usr/bin/env bash
# Plaintext: refserver vs nginx `return 200` vs hyper, one worker each, same wrk run,
# alternating A,B,C,A,B,C. Prints requests/s and server CPU microseconds per request
# (utime+stime from /proc/PID/stat before and after each run) for every run, then the medians.
# hyper is skipped if its example binary is not built. BASE=/path/to/an/older/refserver adds
# it as a fourth server ("baseline"), for before/after figures of a change in the same run.
#
#   cargo build --release -p refserver -p benches --example hyper_plaintext
#   refserver/scripts/compare_nginx.sh [runs] [seconds]
set -euo pipefail
RUNS=${1:-3}
SECS=${2:-5}
CONNS=${CONNS:-50}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BIN=${BIN:-$ROOT/target/release/refserver}
RS_PORT=${RS_PORT:-18080}
NG_PORT=${NG_PORT:-18081}
HY_PORT=${HY_PORT:-18082}
BASE_PORT=${BASE_PORT:-18083}
BASE=${BASE:-}
HYPER=${HYPER:-$ROOT/target/release/examples/hyper_plaintext}
RS_ARGS=${RS_ARGS:---workers 1}
TMP=$(mktemp -d)
HY_PID=
BASE_PID=
trap 'kill $RS_PID $HY_PID $BASE_PID 2>/dev/null || true; [ -f $TMP/nginx.pid ] && kill $(cat $TMP/nginx.pid) 2>/dev/null || true; sleep 0.3; rm -rf $TMP' EXIT

"$BIN" --listen 127.0.0.1:$RS_PORT --access-log off $RS_ARGS >"$TMP/rs.out" 2>"$TMP/rs.err" &
RS_PID=$!
SERVERS="refserver nginx"
if [ -x "$HYPER" ]; then
  "$HYPER" 127.0.0.1:$HY_PORT >"$TMP/hy.out" 2>&1 &
  HY_PID=$!
  SERVERS="$SERVERS hyper"
fi
if [ -n "$BASE" ]; then
  "$BASE" --listen 127.0.0.1:$BASE_PORT --access-log off $RS_ARGS >"$TMP/base.out" 2>"$TMP/base.err" &
  BASE_PID=$!
  SERVERS="$SERVERS baseline"
fi

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
  server {
    listen 127.0.0.1:$NG_PORT;
    location /plaintext { default_type text/plain; return 200 "Hello, World!"; }
  }
}
CONF
nginx -c "$TMP/nginx.conf" -p "$TMP"
sleep 0.5
NG_WORKER=$(pgrep -P "$(cat $TMP/nginx.pid)" | head -1)

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
TCK=$(getconf CLK_TCK)

run() { # name pid port
  local before after out rps reqs
  before=$(cpu_ticks "$2")
  out=$(wrk -t1 -c"$CONNS" -d"${SECS}s" "http://127.0.0.1:$3/plaintext")
  after=$(cpu_ticks "$2")
  rps=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
  reqs=$(echo "$out" | awk '/requests in/ {print $1}')
  local us
  us=$(awk -v t=$((after - before)) -v r="$reqs" -v h="$TCK" 'BEGIN {printf "%.2f", t * 1e6 / h / r}')
  echo "$1 $rps $us"
}

for port in $RS_PORT $NG_PORT ${HY_PID:+$HY_PORT} ${BASE_PID:+$BASE_PORT}; do wrk -t1 -c"$CONNS" -d1s "http://127.0.0.1:$port/plaintext" >/dev/null; done
echo "server req/s cpu_us/req"
for _ in $(seq "$RUNS"); do
  run refserver $RS_PID $RS_PORT | tee -a "$TMP/results"
  run nginx "$NG_WORKER" $NG_PORT | tee -a "$TMP/results"
  if [ -n "$HY_PID" ]; then run hyper "$HY_PID" $HY_PORT | tee -a "$TMP/results"; fi
  if [ -n "$BASE_PID" ]; then run baseline "$BASE_PID" $BASE_PORT | tee -a "$TMP/results"; fi
done
echo "medians:"
for name in $SERVERS; do
  grep "^$name " "$TMP/results" | awk '{print $2}' | sort -n | awk -v n="$name" '{a[NR]=$1} END {printf "%s req/s %s ", n, a[int((NR+1)/2)]}'
  grep "^$name " "$TMP/results" | awk '{print $3}' | sort -n | awk '{a[NR]=$1} END {printf "cpu_us/req %s\n", a[int((NR+1)/2)]}'
done
