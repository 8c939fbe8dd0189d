#!/usr/bin/env bash
# Memory per idle keep-alive session: refserver vs nginx vs hyper, one worker each.
# Opens N sessions with tests/c10k_client.py (a separate process), each served once, and
# reads the serving process's VmRSS before and while they idle.
#
#   cargo build --release -p refserver -p benches --example hyper_plaintext
#   refserver/scripts/idle_memory.sh [sessions]
set -euo pipefail
N=${1:-10000}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
CLIENT=$ROOT/refserver/tests/c10k_client.py
TMP=$(mktemp -d)
PIDS=()
trap 'kill "${PIDS[@]}" 2>/dev/null || true; [ -f $TMP/nginx.pid ] && kill $(cat $TMP/nginx.pid) 2>/dev/null || true; sleep 0.3; rm -rf $TMP' EXIT
ulimit -n 20000

rss_kib() { awk '/VmRSS/ {print $2}' "/proc/$1/status"; }

measure() { # name pid port
  curl -s -o /dev/null "http://127.0.0.1:$3/plaintext"
  sleep 0.2
  local before after
  before=$(rss_kib "$2")
  coproc CLIENT_PROC { python3 "$CLIENT" 127.0.0.1 "$3" "$N" 0.5; }
  read -r ready <&"${CLIENT_PROC[0]}"
  sleep 0.3
  after=$(rss_kib "$2")
  echo >&"${CLIENT_PROC[1]}"
  read -r _done <&"${CLIENT_PROC[0]}" || true
  wait "$CLIENT_PROC_PID" 2>/dev/null || true
  echo "$1: $N sessions ($(echo "$ready" | head -c 40)...): RSS ${before} KiB -> ${after} KiB, $(( (after - before) * 1024 / N )) bytes per idle session"
}

"$ROOT/target/release/refserver" --listen 127.0.0.1:18090 --workers 1 --access-log off >/dev/null 2>&1 &
PIDS+=($!); sleep 0.5
measure refserver "${PIDS[-1]}" 18090

mkdir -p "$TMP/logs"
cat >"$TMP/nginx.conf" <<CONF
worker_processes 1;
worker_rlimit_nofile 20000;
pid $TMP/nginx.pid;
error_log $TMP/logs/error.log;
events { worker_connections 16000; }
http {
  access_log off;
  keepalive_timeout 120s;
  keepalive_requests 100000;
  client_body_temp_path $TMP/body; proxy_temp_path $TMP/proxy; fastcgi_temp_path $TMP/fcgi;
  uwsgi_temp_path $TMP/uwsgi; scgi_temp_path $TMP/scgi;
  server {
    listen 127.0.0.1:18091;
    location /plaintext { default_type text/plain; return 200 "Hello, World!"; }
  }
}
CONF
nginx -c "$TMP/nginx.conf" -p "$TMP"; sleep 0.5
measure nginx "$(pgrep -P "$(cat $TMP/nginx.pid)" | head -1)" 18091

if [ -x "$ROOT/target/release/examples/hyper_plaintext" ]; then
  "$ROOT/target/release/examples/hyper_plaintext" 127.0.0.1:18092 >/dev/null 2>&1 &
  PIDS+=($!); sleep 0.5
  measure hyper "${PIDS[-1]}" 18092
fi
