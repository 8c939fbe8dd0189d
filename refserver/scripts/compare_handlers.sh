#!/usr/bin/env bash
# The cost ladder on one trivial "Hello" answer: an in-process handler (the embedded
# example's GET /hello) vs a `respond` route (its /plaintext, same process) vs FastCGI (the
# refserver binary's `fastcgi` route, defaults, to fcgi-proto's example app echo_app over
# a Unix socket, /fcgi/hello) vs a CGI shell script (the same binary, /cgi-bin/hello.sh),
# beside hyper's hello-world (benches/examples/hyper_plaintext.rs). One worker each,
# loopback only, alternating handler, respond, fastcgi, cgi, hyper in every round, medians
# at the end. echo_app answers with the request's params (about 1 KiB), not "Hello": the
# FastCGI rung moves a little more.
#
# Requests per second from wrk; server CPU microseconds per request from utime+stime
# (fields 14, 15 of /proc/PID/stat) plus cutime+cstime (16, 17: reaped children, the CGI
# scripts) before and after each run; the FastCGI rung adds the application's (echo_app,
# all its threads: it is the handler there). CGI runs with CGI_CONNS connections (a process
# per request; more would only queue), the others with CONNS.
#
#   cargo build --release -p refserver --example embedded -p benches --example hyper_plaintext
#   cargo build --release -p refserver -p fcgi-proto --example echo_app --bins
#   refserver/scripts/compare_handlers.sh [runs] [seconds]
#
# Environment: CONNS (50), CGI_CONNS (8), EXAMPLE, BIN, HYPER, ECHO_APP (the release
# binaries), EM_PORT, RS_PORT, HY_PORT (18190-18192). The script installs nothing and
# stops every process it started when it exits.
set -euo pipefail
RUNS=${1:-5}
SECS=${2:-5}
CONNS=${CONNS:-50}
CGI_CONNS=${CGI_CONNS:-8}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
EXAMPLE=${EXAMPLE:-$TARGET/release/examples/embedded}
BIN=${BIN:-$TARGET/release/refserver}
HYPER=${HYPER:-$TARGET/release/examples/hyper_plaintext}
ECHO_APP=${ECHO_APP:-$TARGET/release/examples/echo_app}
EM_PORT=${EM_PORT:-18190}
RS_PORT=${RS_PORT:-18191}
HY_PORT=${HY_PORT:-18192}

missing=0
for exe in "$EXAMPLE" "$BIN" "$HYPER" "$ECHO_APP"; do
  if [ ! -x "$exe" ]; then
    echo "compare_handlers: $exe not built (see the build lines at the top)" >&2
    missing=1
  fi
done
command -v wrk >/dev/null || { echo "compare_handlers: wrk not found: apt-get install wrk" >&2; missing=1; }
[ "$missing" = 0 ] || exit 1

TMP=$(mktemp -d)
PIDS=()
stop_all() {
  local pid
  for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for _ in $(seq 20); do
    local left=0
    for pid in "${PIDS[@]}"; do kill -0 "$pid" 2>/dev/null && left=1; done
    [ "$left" = 0 ] && break
    sleep 0.1
  done
  for pid in "${PIDS[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done
  rm -rf "$TMP"
}
trap stop_all EXIT
trap 'exit 130' INT
trap 'exit 143' TERM HUP

mkdir -p "$TMP/cgi-bin"
cat >"$TMP/cgi-bin/hello.sh" <<'CGI'
#!/bin/sh
printf 'Content-Type: text/plain\n\nHello\n'
CGI
chmod 755 "$TMP/cgi-bin/hello.sh"
cat >"$TMP/refserver.toml" <<CONF
listen = ["127.0.0.1:$RS_PORT"]
workers = 1
access_log = "off"
shutdown_timeout_ms = 1000
[[route]]
prefix = "/cgi-bin/"
cgi = { dir = "$TMP/cgi-bin" }
[[route]]
prefix = "/fcgi/"
fastcgi = { upstreams = ["unix:$TMP/echo.sock"], program = "/hello" }
CONF

"$EXAMPLE" --listen 127.0.0.1:$EM_PORT --workers 1 --access-log off >"$TMP/em.out" 2>"$TMP/em.err" &
EM_PID=$!
PIDS+=("$EM_PID")
"$ECHO_APP" "unix:$TMP/echo.sock" >"$TMP/echo.out" 2>"$TMP/echo.err" &
ECHO_PID=$!
PIDS+=("$ECHO_PID")
for _ in $(seq 50); do
  [ -S "$TMP/echo.sock" ] && break
  sleep 0.1
done
"$BIN" --config "$TMP/refserver.toml" >"$TMP/rs.out" 2>"$TMP/rs.err" &
RS_PID=$!
PIDS+=("$RS_PID")
"$HYPER" 127.0.0.1:$HY_PORT >"$TMP/hy.out" 2>"$TMP/hy.err" &
HY_PID=$!
PIDS+=("$HY_PID")
for port in $EM_PORT $RS_PORT $HY_PORT; do
  for _ in $(seq 50); do
    (exec 3<>/dev/tcp/127.0.0.1/$port) 2>/dev/null && break
    sleep 0.1
  done
done

cpu_ticks() { awk '{print $14 + $15 + $16 + $17}' "/proc/$1/stat"; }
TCK=$(getconf CLK_TCK)

run() { # name "pids" url conns
  local before=0 after=0 out rps reqs us pid
  for pid in $2; do before=$((before + $(cpu_ticks "$pid"))); done
  out=$(wrk -t1 -c"$4" -d"${SECS}s" "$3")
  for pid in $2; do after=$((after + $(cpu_ticks "$pid"))); done
  rps=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
  reqs=$(echo "$out" | awk '/requests in/ {print $1}')
  us=$(awk -v t=$((after - before)) -v r="$reqs" -v h="$TCK" 'BEGIN {printf "%.2f", t * 1e6 / h / r}')
  echo "$1 $rps $us"
}

HANDLER_URL=http://127.0.0.1:$EM_PORT/hello
RESPOND_URL=http://127.0.0.1:$EM_PORT/plaintext
CGI_URL=http://127.0.0.1:$RS_PORT/cgi-bin/hello.sh
FCGI_URL=http://127.0.0.1:$RS_PORT/fcgi/hello
HYPER_URL=http://127.0.0.1:$HY_PORT/plaintext
for url in "$HANDLER_URL" "$RESPOND_URL" "$FCGI_URL" "$HYPER_URL"; do wrk -t1 -c"$CONNS" -d1s "$url" >/dev/null; done
wrk -t1 -c"$CGI_CONNS" -d1s "$CGI_URL" >/dev/null
echo "rung req/s cpu_us/req"
for _ in $(seq "$RUNS"); do
  run handler "$EM_PID" "$HANDLER_URL" "$CONNS" | tee -a "$TMP/results"
  run respond "$EM_PID" "$RESPOND_URL" "$CONNS" | tee -a "$TMP/results"
  run fastcgi "$RS_PID $ECHO_PID" "$FCGI_URL" "$CONNS" | tee -a "$TMP/results"
  run cgi "$RS_PID" "$CGI_URL" "$CGI_CONNS" | tee -a "$TMP/results"
  run hyper "$HY_PID" "$HYPER_URL" "$CONNS" | tee -a "$TMP/results"
done
echo "medians:"
for name in handler respond fastcgi cgi hyper; do
  grep "^$name " "$TMP/results" | awk '{print $2}' | sort -n | awk -v n="$name" '{a[NR]=$1} END {printf "%s req/s %s ", n, a[int((NR+1)/2)]}'
  grep "^$name " "$TMP/results" | awk '{print $3}' | sort -n | awk '{a[NR]=$1} END {printf "cpu_us/req %s\n", a[int((NR+1)/2)]}'
done
# Per-round ratios, then their median: handler/respond and handler/hyper throughput.
awk '$1 == "handler" {h[++i] = $2} $1 == "respond" {r[++j] = $2} $1 == "hyper" {y[++k] = $2}
  END {for (n = 1; n <= i; n++) printf "%.3f %.3f\n", h[n] / r[n], h[n] / y[n]}' "$TMP/results" >"$TMP/ratios"
sort -n -k1 "$TMP/ratios" | awk '{a[NR]=$1} END {printf "handler/respond req/s (median of rounds) %s\n", a[int((NR+1)/2)]}'
sort -n -k2 "$TMP/ratios" | awk '{a[NR]=$2} END {printf "handler/hyper req/s (median of rounds) %s\n", a[int((NR+1)/2)]}'
