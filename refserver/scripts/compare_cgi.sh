#!/usr/bin/env bash
# CGI: refserver's `cgi` route vs lighttpd mod_cgi vs nginx + fcgiwrap, on the same trivial
# /bin/sh script (a Content-Type line, a blank line, `hello`), one worker each, loopback
# only, same wrk run, alternating A,B,C,A,B,C. Prints requests/s and server CPU microseconds
# per request for every run, then the medians and the median ratio refserver/lighttpd.
#
# CPU per request counts the children: utime+stime (fields 14, 15 of /proc/PID/stat) plus
# cutime+cstime (16, 17: the children it has reaped) of the server process, before and
# after each run. nginx: its worker process, plus the fcgiwrap process. fcgiwrap sets
# SIGCHLD to SIG_IGN, so the kernel reaps its scripts without adding their time to its
# cutime: that column leaves nginx + fcgiwrap's scripts out (marked `*`). Hence a second
# figure, cg_us/req: each server (nginx with fcgiwrap) runs in its own cpuacct cgroup (v1,
# or cgroup v2's cpu.stat), which counts every process in it, reaped or not. It needs a
# writable cgroup hierarchy (root); without one it is `-`. A child still running when a run
# ends is counted in the next one (the script waits SETTLE seconds before the second
# reading to keep that small).
#
# nginx + fcgiwrap is skipped if either is missing (nginx-light or nginx, fcgiwrap). The
# script installs nothing; it stops every process it started when it exits.
#
#   cargo build --release -p refserver
#   refserver/scripts/compare_cgi.sh [runs] [seconds]
#
# Environment: CONNS (8), BIN (target/release/refserver), RS_PORT, LT_PORT, NG_PORT
# (18090-18092), SETTLE (0.2 s), BASE_BIN: a second refserver build (e.g. the commit before
# a change), run in the same rotation as `refserver-base` on BASE_PORT (18093), KEEP_TMP=1 keeps the temporary directory (configs, logs),
# RS_CGI: more keys for refserver's cgi table, e.g. RS_CGI='limits = { open_files = 4096 }'
# (a pre_exec hook: std then forks instead of posix_spawn).
set -euo pipefail
RUNS=${1:-3}
SECS=${2:-5}
CONNS=${CONNS:-8}
SETTLE=${SETTLE:-0.2}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BIN=${BIN:-$ROOT/target/release/refserver}
RS_PORT=${RS_PORT:-18090}
RS_CGI=${RS_CGI:-}
LT_PORT=${LT_PORT:-18091}
NG_PORT=${NG_PORT:-18092}
BASE_BIN=${BASE_BIN:-}
BASE_PORT=${BASE_PORT:-18093}
LIGHTTPD=${LIGHTTPD:-$(command -v lighttpd || echo /usr/sbin/lighttpd)}
NGINX=${NGINX:-$(command -v nginx || echo /usr/sbin/nginx)}
FCGIWRAP=${FCGIWRAP:-$(command -v fcgiwrap || echo /usr/sbin/fcgiwrap)}

missing=0
need() { # what, executable, debian package
  if [ ! -x "$2" ]; then
    echo "compare_cgi: $1 not found ($2): apt-get install $3" >&2
    missing=1
  fi
}
need wrk "$(command -v wrk || echo /usr/bin/wrk)" wrk
need lighttpd "$LIGHTTPD" lighttpd
need curl "$(command -v curl || echo /usr/bin/curl)" curl
if [ ! -x "$BIN" ]; then
  echo "compare_cgi: $BIN not built: cargo build --release -p refserver" >&2
  missing=1
fi
[ "$missing" = 0 ] || exit 1
WITH_NGINX=1
if [ ! -x "$NGINX" ] || [ ! -x "$FCGIWRAP" ]; then
  [ -x "$NGINX" ] || echo "compare_cgi: nginx not found, skipping nginx + fcgiwrap (apt-get install nginx-light)" >&2
  [ -x "$FCGIWRAP" ] || echo "compare_cgi: fcgiwrap not found, skipping nginx + fcgiwrap (apt-get install fcgiwrap)" >&2
  WITH_NGINX=0
fi

TMP=$(mktemp -d)
PIDS=()
# A cgroup per server for the cg_us/req column: v1 cpuacct, else v2.
CG_KIND=
CG_BASE=
CGS=()
if [ -w /sys/fs/cgroup/cpuacct ] && [ -f /sys/fs/cgroup/cpuacct/cpuacct.usage ]; then
  CG_KIND=v1 CG_BASE=/sys/fs/cgroup/cpuacct
else
  for d in /sys/fs/cgroup /sys/fs/cgroup/unified; do
    if [ -w "$d" ] && [ -f "$d/cgroup.procs" ] && [ -f "$d/cgroup.controllers" ]; then
      CG_KIND=v2 CG_BASE=$d
      break
    fi
  done
fi
cg_make() { # name: sets CG to the new cgroup's directory, or to nothing
  CG=
  [ -n "$CG_KIND" ] || return 0
  local dir=$CG_BASE/compare_cgi.$$.$1
  if mkdir "$dir" 2>/dev/null; then
    CGS+=("$dir")
    CG=$dir
  fi
}
cg_usec() { # dir
  case $CG_KIND in
    v1) awk '{printf "%d", $1 / 1000}' "$1/cpuacct.usage" ;;
    v2) awk '$1 == "usage_usec" {print $2}' "$1/cpu.stat" ;;
  esac
}
# Runs a command in the background inside cgroup $1 (none if empty).
start_in() { # cgroup command...
  local cg=$1
  shift
  (
    if [ -n "$cg" ]; then echo "$BASHPID" >"$cg/cgroup.procs" 2>/dev/null || true; fi
    exec "$@"
  ) &
}
stop_all() {
  local pid left
  [ -f "$TMP/nginx.pid" ] && PIDS+=("$(cat "$TMP/nginx.pid")")
  for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  # Bounded: two seconds for a clean exit, then SIGKILL.
  for _ in $(seq 20); do
    left=0
    for pid in "${PIDS[@]}"; do kill -0 "$pid" 2>/dev/null && left=1; done
    [ "$left" = 0 ] && break
    sleep 0.1
  done
  for pid in "${PIDS[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done
  for cg in "${CGS[@]}"; do
    for _ in $(seq 10); do rmdir "$cg" 2>/dev/null && break; sleep 0.1; done
  done
  if [ "${KEEP_TMP:-0}" = 1 ]; then echo "kept $TMP" >&2; else rm -rf "$TMP"; fi
}
trap stop_all EXIT
trap 'exit 130' INT
trap 'exit 143' TERM HUP

# The script: one directory served by all three as /cgi-bin/.
mkdir -p "$TMP/www/cgi-bin" "$TMP/logs"
cat >"$TMP/www/cgi-bin/hello.sh" <<'SH'
#!/bin/sh
printf 'Content-Type: text/plain\n\nhello\n'
SH
chmod 755 "$TMP/www/cgi-bin/hello.sh"
URL_PATH=/cgi-bin/hello.sh

# refserver
cat >"$TMP/refserver.toml" <<CONF
listen = ["127.0.0.1:$RS_PORT"]
workers = 1
access_log = "off"
shutdown_timeout_ms = 1000

[[route]]
prefix = "/cgi-bin/"
cgi = { dir = "$TMP/www/cgi-bin"${RS_CGI:+, $RS_CGI} }
CONF
cg_make refserver
RS_CG=$CG
start_in "$RS_CG" "$BIN" --config "$TMP/refserver.toml" >"$TMP/logs/rs.out" 2>"$TMP/logs/rs.err"
RS_PID=$!
PIDS+=("$RS_PID")

SERVERS="refserver"
if [ -n "$BASE_BIN" ]; then
  sed "s/127.0.0.1:$RS_PORT/127.0.0.1:$BASE_PORT/" "$TMP/refserver.toml" >"$TMP/refserver-base.toml"
  cg_make refserver-base
  RB_CG=$CG
  start_in "$RB_CG" "$BASE_BIN" --config "$TMP/refserver-base.toml" >"$TMP/logs/rb.out" 2>"$TMP/logs/rb.err"
  RB_PID=$!
  PIDS+=("$RB_PID")
  SERVERS="$SERVERS refserver-base"
fi

# lighttpd, mod_cgi; no mod_accesslog: no access log.
cat >"$TMP/lighttpd.conf" <<CONF
server.modules += ( "mod_cgi" )
server.document-root = "$TMP/www"
server.bind = "127.0.0.1"
server.port = $LT_PORT
server.max-worker = 0
server.errorlog = "$TMP/logs/lighttpd.err"
\$HTTP["url"] =~ "^/cgi-bin/" { cgi.assign = ( ".sh" => "" ) }
CONF
cg_make lighttpd
LT_CG=$CG
start_in "$LT_CG" "$LIGHTTPD" -D -f "$TMP/lighttpd.conf" >"$TMP/logs/lighttpd.out" 2>&1
LT_PID=$!
PIDS+=("$LT_PID")

# nginx, one worker, to fcgiwrap (one process) over a Unix socket in $TMP (mode 0700).
SERVERS="$SERVERS lighttpd"
if [ "$WITH_NGINX" = 1 ]; then
  cg_make nginx
  NG_CG=$CG
  start_in "$NG_CG" "$FCGIWRAP" -c 1 -s "unix:$TMP/fcgiwrap.sock" >"$TMP/logs/fcgiwrap.out" 2>&1
  FW_PID=$!
  PIDS+=("$FW_PID")
  cat >"$TMP/nginx.conf" <<CONF
user $(id -un) $(id -gn);
worker_processes 1;
pid $TMP/nginx.pid;
error_log $TMP/logs/nginx.err;
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
    root $TMP/www;
    location /cgi-bin/ {
      fastcgi_pass unix:$TMP/fcgiwrap.sock;
      fastcgi_param QUERY_STRING \$query_string;
      fastcgi_param REQUEST_METHOD \$request_method;
      fastcgi_param CONTENT_TYPE \$content_type;
      fastcgi_param CONTENT_LENGTH \$content_length;
      fastcgi_param SCRIPT_NAME \$fastcgi_script_name;
      fastcgi_param SCRIPT_FILENAME \$document_root\$fastcgi_script_name;
      fastcgi_param REQUEST_URI \$request_uri;
      fastcgi_param DOCUMENT_URI \$document_uri;
      fastcgi_param DOCUMENT_ROOT \$document_root;
      fastcgi_param SERVER_PROTOCOL \$server_protocol;
      fastcgi_param GATEWAY_INTERFACE CGI/1.1;
      fastcgi_param SERVER_SOFTWARE nginx/\$nginx_version;
      fastcgi_param REMOTE_ADDR \$remote_addr;
      fastcgi_param REMOTE_PORT \$remote_port;
      fastcgi_param SERVER_ADDR \$server_addr;
      fastcgi_param SERVER_PORT \$server_port;
      fastcgi_param SERVER_NAME \$server_name;
    }
  }
}
CONF
  # The master daemonizes; run from a subshell inside the cgroup, it and its worker stay there.
  start_in "$NG_CG" "$NGINX" -c "$TMP/nginx.conf" -p "$TMP" 2>"$TMP/logs/nginx.start"
  wait $!
  SERVERS="$SERVERS nginx+fcgiwrap"
fi

# Wait (bounded) until each answers `hello`.
check() { # name port
  for _ in $(seq 50); do
    if [ "$(curl -s --max-time 2 "http://127.0.0.1:$2$URL_PATH")" = hello ]; then return 0; fi
    sleep 0.1
  done
  echo "compare_cgi: $1 on port $2 does not answer hello; logs:" >&2
  tail -n 5 "$TMP"/logs/* >&2 || true
  exit 1
}
check refserver $RS_PORT
[ -z "$BASE_BIN" ] || check refserver-base $BASE_PORT
check lighttpd $LT_PORT
NG_WORKER=
if [ "$WITH_NGINX" = 1 ]; then
  check nginx+fcgiwrap $NG_PORT
  NG_WORKER=$(pgrep -P "$(cat "$TMP/nginx.pid")" | head -1)
fi
# A process the cgroup did not take (v2's rules, permissions): no cg_us/req for it.
cg_has() { [ -n "$1" ] && grep -qx "$2" "$1/cgroup.procs" 2>/dev/null; }
cg_has "$RS_CG" "$RS_PID" || RS_CG=
cg_has "$LT_CG" "$LT_PID" || LT_CG=
[ -z "$BASE_BIN" ] || cg_has "$RB_CG" "$RB_PID" || RB_CG=
if [ -n "$NG_WORKER" ]; then
  { cg_has "$NG_CG" "$NG_WORKER" && cg_has "$NG_CG" "$FW_PID"; } || NG_CG=
fi

# Ticks of a process and of the children it reaped.
cpu_ticks() { awk '{print $14 + $15 + $16 + $17}' "/proc/$1/stat"; }
TCK=$(getconf CLK_TCK)

run() { # name port cgroup mark pid...
  local name=$1 port=$2 cg=$3 mark=$4 before=0 after=0 cg0=0 cg1=0 pid out rps reqs bad us cgus=-
  shift 4
  for pid in "$@"; do before=$((before + $(cpu_ticks "$pid"))); done
  [ -z "$cg" ] || cg0=$(cg_usec "$cg")
  out=$(wrk -t1 -c"$CONNS" -d"${SECS}s" "http://127.0.0.1:$port$URL_PATH")
  sleep "$SETTLE"
  for pid in "$@"; do after=$((after + $(cpu_ticks "$pid"))); done
  [ -z "$cg" ] || cg1=$(cg_usec "$cg")
  rps=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
  reqs=$(echo "$out" | awk '/requests in/ {print $1}')
  bad=$(echo "$out" | awk '/Non-2xx/ {n += $NF} /Socket errors/ {gsub(",", ""); n += $4 + $6 + $8 + $10} END {print n + 0}')
  us=$(awk -v t=$((after - before)) -v r="${reqs:-0}" -v h="$TCK" 'BEGIN {if (r > 0) printf "%.1f", t * 1e6 / h / r; else print "-"}')
  [ -z "$cg" ] || cgus=$(awk -v t=$((cg1 - cg0)) -v r="${reqs:-0}" 'BEGIN {if (r > 0) printf "%.1f", t / r; else print "-"}')
  echo "$name $rps $us$mark $cgus $bad"
}

# Warm-up.
for port in $RS_PORT ${BASE_BIN:+$BASE_PORT} $LT_PORT ${NG_WORKER:+$NG_PORT}; do
  wrk -t1 -c"$CONNS" -d1s "http://127.0.0.1:$port$URL_PATH" >/dev/null
done
echo "server req/s cpu_us/req cg_us/req errors"
for _ in $(seq "$RUNS"); do
  run refserver $RS_PORT "$RS_CG" "" "$RS_PID" | tee -a "$TMP/results"
  [ -z "$BASE_BIN" ] || run refserver-base $BASE_PORT "$RB_CG" "" "$RB_PID" | tee -a "$TMP/results"
  run lighttpd $LT_PORT "$LT_CG" "" "$LT_PID" | tee -a "$TMP/results"
  if [ -n "$NG_WORKER" ]; then
    run nginx+fcgiwrap $NG_PORT "$NG_CG" "*" "$NG_WORKER" "$FW_PID" | tee -a "$TMP/results"
  fi
done
median() { tr -d '*' | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
echo "medians:"
for name in $SERVERS; do
  rps=$(grep "^$name " "$TMP/results" | awk '{print $2}' | median)
  us=$(grep "^$name " "$TMP/results" | awk '{print $3}' | median)
  cgus=$(grep "^$name " "$TMP/results" | awk '{print $4}' | median)
  [ "$name" != nginx+fcgiwrap ] || us="$us*"
  echo "$name req/s $rps cpu_us/req $us cg_us/req $cgus" | tee -a "$TMP/medians"
done
awk '$1 == "refserver" {r = $3; rc = $5; rg = $7} $1 == "lighttpd" {l = $3; lc = $5; lg = $7}
  $1 == "refserver-base" {b = $3; bc = $5; bg = $7}
  END {
    printf "refserver/lighttpd: req/s %.2f, cpu_us/req %.2f", r / l, rc / lc
    if (rg != "-" && lg != "-") printf ", cg_us/req %.2f", rg / lg
    printf "\n"
    if (b != "") {
      printf "refserver-base/lighttpd: req/s %.2f, cpu_us/req %.2f\n", b / l, bc / lc
      printf "refserver/refserver-base: req/s %.2f, cpu_us/req %.2f\n", r / b, rc / bc
    }
  }' "$TMP/medians"
[ -z "$NG_WORKER" ] || echo "* nginx+fcgiwrap cpu_us/req leaves out the scripts (fcgiwrap ignores SIGCHLD); cg_us/req counts them"
