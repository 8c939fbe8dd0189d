#!/usr/bin/env bash
# FastCGI: refserver's `fastcgi` route vs nginx's fastcgi_pass, on the same php-fpm pools,
# and refserver -> the fcgi-proto example app (echo_app) with multiplexing on vs off. One
# worker each, loopback only, the same wrk load, alternating in every round, medians and
# the median of the per-round ratios at the end.
#
# Part `php` (php-fpm8.2, nginx-light): a trivial hello.php behind
#   refserver       fastcgi route, defaults (php-fpm does not answer FCGI_MAX_CONNS, so a
#                   connection per request, as nginx's default)
#   refserver-keep  the same with `max_conns = CHILDREN` (kept connections, FCGI_KEEP_CONN)
#   nginx           worker_processes 1, fastcgi_pass unix:..., Debian's fastcgi_params
#   nginx-keep      the same through an upstream with `keepalive CHILDREN` and
#                   `fastcgi_keep_conn on`
# Each of the four has its own php-fpm pool (one master, pools of `pm = static`,
# `pm.max_children = CHILDREN`, the system php.ini with opcache), all four alike: a kept
# connection holds a php-fpm child, so two servers sharing one pool would starve each
# other. One refserver process serves both refserver routes, one nginx worker both nginx
# servers.
#
# Part `echo` (fcgi-proto's echo_app, release build, a thread per connection, says
# FCGI_MPXS_CONNS=1, FCGI_MAX_CONNS=64): refserver routes `program = ...` with
# `multiplex = true` (mpx-on: every request on one connection, so one app thread) and
# `multiplex = false` (mpx-off: a kept connection, and an app thread, per concurrent
# request), each to its own echo_app.
#
# CPU per request: utime+stime (fields 14, 15 of /proc/PID/stat) of the web server (its
# worker, for nginx) plus those of its application processes (the pool's php-fpm workers,
# or the echo_app process, all threads), before and after each run; `srv_us` and `app_us`
# split it. The php-fpm master (shared, idle) is left out.
#
#   cargo build --release -p refserver -p fcgi-proto --examples --bins
#   refserver/scripts/compare_fastcgi.sh [runs] [seconds]
#
# Environment: PARTS ("php echo"), CONNS (8; wrk connections for php), ECHO_CONNS (32),
# CHILDREN (4), BIN, ECHO_APP (the release binaries, under CARGO_TARGET_DIR or target),
# RS_PORT, NG_PORT, NGK_PORT (18290-18292), PHP_FPM, NGINX, KEEP_TMP=1 keeps the temporary
# directory. The script installs nothing (it names the Debian package of a missing peer),
# and stops every process it started when it exits (each in its own process group).
set -euo pipefail
RUNS=${1:-5}
SECS=${2:-5}
PARTS=${PARTS:-php echo}
CONNS=${CONNS:-8}
ECHO_CONNS=${ECHO_CONNS:-32}
CHILDREN=${CHILDREN:-4}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
BIN=${BIN:-$TARGET/release/refserver}
ECHO_APP=${ECHO_APP:-$TARGET/release/examples/echo_app}
RS_PORT=${RS_PORT:-18290}
NG_PORT=${NG_PORT:-18291}
NGK_PORT=${NGK_PORT:-18292}
PHP_FPM=${PHP_FPM:-$(command -v php-fpm8.2 || command -v php-fpm || echo /usr/sbin/php-fpm8.2)}
NGINX=${NGINX:-$(command -v nginx || echo /usr/sbin/nginx)}

has_part() { [[ " $PARTS " == *" $1 "* ]]; }
missing=0
need() { # what, executable, how to get it
  if [ ! -x "$2" ]; then
    echo "compare_fastcgi: $1 not found ($2): $3" >&2
    missing=1
  fi
}
need wrk "$(command -v wrk || echo /usr/bin/wrk)" "apt-get install wrk"
need curl "$(command -v curl || echo /usr/bin/curl)" "apt-get install curl"
need refserver "$BIN" "cargo build --release -p refserver"
if has_part php; then
  need php-fpm "$PHP_FPM" "apt-get install php8.2-fpm"
  need nginx "$NGINX" "apt-get install nginx-light"
fi
has_part echo && need echo_app "$ECHO_APP" "cargo build --release -p fcgi-proto --example echo_app"
[ "$missing" = 0 ] || exit 1

TMP=$(mktemp -d)
GROUPS_STARTED=()
stop_all() {
  local g left
  for g in "${GROUPS_STARTED[@]}"; do kill -TERM -- "-$g" 2>/dev/null || true; done
  # Bounded: two seconds for a clean exit, then SIGKILL to each whole group.
  for _ in $(seq 20); do
    left=0
    for g in "${GROUPS_STARTED[@]}"; do kill -0 -- "-$g" 2>/dev/null && left=1; done
    [ "$left" = 0 ] && break
    sleep 0.1
  done
  for g in "${GROUPS_STARTED[@]}"; do kill -KILL -- "-$g" 2>/dev/null || true; done
  if [ "${KEEP_TMP:-0}" = 1 ]; then echo "kept $TMP" >&2; else rm -rf "$TMP"; fi
}
trap stop_all EXIT
trap 'exit 130' INT
trap 'exit 143' TERM HUP

# Starts a command in the background as the leader of a new process group (so it and
# every process it forks can be stopped together); sets STARTED to its pid.
start_group() {
  setsid "$@" &
  STARTED=$!
  GROUPS_STARTED+=("$STARTED")
}

mkdir -p "$TMP/www" "$TMP/logs"
printf '<?php\necho "hello\\n";\n' >"$TMP/www/hello.php"

# refserver: one process, one worker, every route of both parts.
{
  echo "listen = [\"127.0.0.1:$RS_PORT\"]"
  echo 'workers = 1'
  echo 'access_log = "off"'
  echo 'shutdown_timeout_ms = 1000'
  if has_part php; then
    cat <<CONF
[[route]]
prefix = "/php/"
fastcgi = { upstreams = ["unix:$TMP/rs.sock"], root = "$TMP/www" }
[[route]]
prefix = "/keep/"
fastcgi = { upstreams = ["unix:$TMP/rsk.sock"], root = "$TMP/www", max_conns = $CHILDREN }
CONF
  fi
  if has_part echo; then
    cat <<CONF
[[route]]
prefix = "/mpx-on/"
fastcgi = { upstreams = ["unix:$TMP/echo-on.sock"], program = "/echo", multiplex = true }
[[route]]
prefix = "/mpx-off/"
fastcgi = { upstreams = ["unix:$TMP/echo-off.sock"], program = "/echo", multiplex = false }
CONF
  fi
} >"$TMP/refserver.toml"

wait_socket() { # path
  for _ in $(seq 100); do
    [ -S "$1" ] && return 0
    sleep 0.1
  done
  echo "compare_fastcgi: nothing listens on $1; logs:" >&2
  tail -n 5 "$TMP"/logs/* >&2 || true
  exit 1
}

FPM_PID=
if has_part php; then
  # One master, a pool per server; the system php.ini (opcache on), as installed.
  {
    echo '[global]'
    echo "error_log = $TMP/logs/fpm.log"
    echo 'daemonize = no'
    for pool in rs rsk ng ngk; do
      echo "[$pool]"
      [ "$(id -u)" != 0 ] || printf 'user = root\ngroup = root\n'
      echo "listen = $TMP/$pool.sock"
      echo 'pm = static'
      echo "pm.max_children = $CHILDREN"
    done
  } >"$TMP/fpm.conf"
  fpm_args=(-F -y "$TMP/fpm.conf" -p "$TMP")
  [ "$(id -u)" != 0 ] || fpm_args+=(-R)
  start_group "$PHP_FPM" "${fpm_args[@]}" >"$TMP/logs/fpm.out" 2>&1
  FPM_PID=$STARTED
  for pool in rs rsk ng ngk; do wait_socket "$TMP/$pool.sock"; done

  # nginx as a user would set it up: Debian's fastcgi_params, SCRIPT_FILENAME.
  cat >"$TMP/fastcgi_params" <<'CONF'
fastcgi_param  QUERY_STRING       $query_string;
fastcgi_param  REQUEST_METHOD     $request_method;
fastcgi_param  CONTENT_TYPE       $content_type;
fastcgi_param  CONTENT_LENGTH     $content_length;
fastcgi_param  SCRIPT_NAME        $fastcgi_script_name;
fastcgi_param  REQUEST_URI        $request_uri;
fastcgi_param  DOCUMENT_URI       $document_uri;
fastcgi_param  DOCUMENT_ROOT      $document_root;
fastcgi_param  SERVER_PROTOCOL    $server_protocol;
fastcgi_param  REQUEST_SCHEME     $scheme;
fastcgi_param  HTTPS              $https if_not_empty;
fastcgi_param  GATEWAY_INTERFACE  CGI/1.1;
fastcgi_param  SERVER_SOFTWARE    nginx/$nginx_version;
fastcgi_param  REMOTE_ADDR        $remote_addr;
fastcgi_param  REMOTE_PORT        $remote_port;
fastcgi_param  REMOTE_USER        $remote_user;
fastcgi_param  SERVER_ADDR        $server_addr;
fastcgi_param  SERVER_PORT        $server_port;
fastcgi_param  SERVER_NAME        $server_name;
fastcgi_param  REDIRECT_STATUS    200;
fastcgi_param  SCRIPT_FILENAME    $document_root$fastcgi_script_name;
CONF
  cat >"$TMP/nginx.conf" <<CONF
user $(id -un) $(id -gn);
daemon off;
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
  upstream php_keep {
    server unix:$TMP/ngk.sock;
    keepalive $CHILDREN;
  }
  server {
    listen 127.0.0.1:$NG_PORT;
    root $TMP/www;
    location ~ \.php\$ {
      include $TMP/fastcgi_params;
      fastcgi_pass unix:$TMP/ng.sock;
    }
  }
  server {
    listen 127.0.0.1:$NGK_PORT;
    root $TMP/www;
    location ~ \.php\$ {
      include $TMP/fastcgi_params;
      fastcgi_keep_conn on;
      fastcgi_pass php_keep;
    }
  }
}
CONF
  start_group "$NGINX" -c "$TMP/nginx.conf" -p "$TMP" >"$TMP/logs/nginx.out" 2>&1
  NG_MASTER=$STARTED
fi

ECHO_ON_PID=
ECHO_OFF_PID=
if has_part echo; then
  start_group "$ECHO_APP" "unix:$TMP/echo-on.sock" >"$TMP/logs/echo-on.out" 2>&1
  ECHO_ON_PID=$STARTED
  start_group "$ECHO_APP" "unix:$TMP/echo-off.sock" >"$TMP/logs/echo-off.out" 2>&1
  ECHO_OFF_PID=$STARTED
  wait_socket "$TMP/echo-on.sock"
  wait_socket "$TMP/echo-off.sock"
fi

start_group "$BIN" --config "$TMP/refserver.toml" >"$TMP/logs/rs.out" 2>"$TMP/logs/rs.err"
RS_PID=$STARTED

# Wait (bounded) until each answers with what it should.
check() { # name url expected-substring
  for _ in $(seq 50); do
    if curl -s --max-time 2 "$2" | grep -q "$3"; then return 0; fi
    sleep 0.1
  done
  echo "compare_fastcgi: $1 ($2) does not answer $3; logs:" >&2
  tail -n 5 "$TMP"/logs/* >&2 || true
  exit 1
}
RS_URL=http://127.0.0.1:$RS_PORT/php/hello.php
RSK_URL=http://127.0.0.1:$RS_PORT/keep/hello.php
NG_URL=http://127.0.0.1:$NG_PORT/hello.php
NGK_URL=http://127.0.0.1:$NGK_PORT/hello.php
ON_URL=http://127.0.0.1:$RS_PORT/mpx-on/x
OFF_URL=http://127.0.0.1:$RS_PORT/mpx-off/x
if has_part php; then
  check refserver "$RS_URL" '^hello$'
  check refserver-keep "$RSK_URL" '^hello$'
  check nginx "$NG_URL" '^hello$'
  check nginx-keep "$NGK_URL" '^hello$'
  NG_WORKER=$(pgrep -P "$NG_MASTER" | head -1)
  # Each pool's workers (pm = static: they live as long as the master).
  pool_pids() { pgrep -P "$FPM_PID" -f "php-fpm: pool $1\$" | tr '\n' ' '; }
  RS_APP=$(pool_pids rs)
  RSK_APP=$(pool_pids rsk)
  NG_APP=$(pool_pids ng)
  NGK_APP=$(pool_pids ngk)
  for p in "$RS_APP" "$RSK_APP" "$NG_APP" "$NGK_APP"; do
    if [ "$(echo $p | wc -w)" != "$CHILDREN" ]; then
      echo "compare_fastcgi: expected $CHILDREN workers per php-fpm pool, found: $p" >&2
      exit 1
    fi
  done
fi
if has_part echo; then
  check mpx-on "$ON_URL" 'SCRIPT_FILENAME=/echo'
  check mpx-off "$OFF_URL" 'SCRIPT_FILENAME=/echo'
fi

ticks() { # pid... : utime+stime, summed
  local t=0 pid
  for pid in "$@"; do t=$((t + $(awk '{print $14 + $15}' "/proc/$pid/stat"))); done
  echo "$t"
}
TCK=$(getconf CLK_TCK)

run() { # name url conns "server pids" "app pids"
  local name=$1 url=$2 conns=$3 srv=$4 app=$5 s0 s1 a0 a1 out rps reqs bad
  # shellcheck disable=SC2086
  s0=$(ticks $srv) a0=$(ticks $app)
  out=$(wrk -t1 -c"$conns" -d"${SECS}s" --timeout 5s "$url")
  # shellcheck disable=SC2086
  s1=$(ticks $srv) a1=$(ticks $app)
  rps=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
  reqs=$(echo "$out" | awk '/requests in/ {print $1}')
  bad=$(echo "$out" | awk '/Non-2xx/ {n += $NF} /Socket errors/ {gsub(",", ""); n += $4 + $6 + $8 + $10} END {print n + 0}')
  awk -v n="$name" -v rps="$rps" -v r="${reqs:-0}" -v s=$((s1 - s0)) -v a=$((a1 - a0)) -v h="$TCK" -v bad="$bad" \
    'BEGIN {if (r > 0) printf "%s %s %.1f %.1f %.1f %s\n", n, rps, (s + a) * 1e6 / h / r, s * 1e6 / h / r, a * 1e6 / h / r, bad
            else printf "%s %s - - - %s\n", n, rps, bad}'
}

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
# Medians of each column per name, then the median over rounds of each pair's ratios.
summarize() { # results-file names... -- pairs (a/b)...
  local file=$1 name
  shift
  echo "medians:"
  while [ "$1" != -- ]; do
    name=$1
    shift
    printf '%s req/s %s cpu_us/req %s (srv %s, app %s)\n' "$name" \
      "$(awk -v n="$name" '$1 == n {print $2}' "$file" | median)" \
      "$(awk -v n="$name" '$1 == n {print $3}' "$file" | median)" \
      "$(awk -v n="$name" '$1 == n {print $4}' "$file" | median)" \
      "$(awk -v n="$name" '$1 == n {print $5}' "$file" | median)"
  done
  shift
  local pair a b
  for pair in "$@"; do
    a=${pair%/*} b=${pair#*/}
    awk -v a="$a" -v b="$b" '$1 == a {ra[++i] = $2; ca[i] = $3} $1 == b {rb[++j] = $2; cb[j] = $3}
      END {for (k = 1; k <= i && k <= j; k++) printf "%.3f %.3f\n", ra[k] / rb[k], ca[k] / cb[k]}' "$file" >"$TMP/ratios"
    printf '%s: req/s %s, cpu_us/req %s (medians of the per-round ratios)\n' "$pair" \
      "$(awk '{print $1}' "$TMP/ratios" | median)" "$(awk '{print $2}' "$TMP/ratios" | median)"
  done
}

if has_part php; then
  for url in "$RS_URL" "$RSK_URL" "$NG_URL" "$NGK_URL"; do
    wrk -t1 -c"$CONNS" -d1s "$url" >/dev/null
  done
  echo "php-fpm ($CHILDREN children per pool), wrk -c$CONNS, ${SECS}s runs"
  echo "server req/s cpu_us/req srv_us app_us errors"
  for _ in $(seq "$RUNS"); do
    run refserver "$RS_URL" "$CONNS" "$RS_PID" "$RS_APP" | tee -a "$TMP/php"
    run nginx "$NG_URL" "$CONNS" "$NG_WORKER" "$NG_APP" | tee -a "$TMP/php"
    run refserver-keep "$RSK_URL" "$CONNS" "$RS_PID" "$RSK_APP" | tee -a "$TMP/php"
    run nginx-keep "$NGK_URL" "$CONNS" "$NG_WORKER" "$NGK_APP" | tee -a "$TMP/php"
  done
  summarize "$TMP/php" refserver nginx refserver-keep nginx-keep -- \
    refserver/nginx refserver-keep/nginx-keep refserver-keep/nginx
fi
if has_part echo; then
  for url in "$ON_URL" "$OFF_URL"; do wrk -t1 -c"$ECHO_CONNS" -d1s "$url" >/dev/null; done
  echo "echo_app, wrk -c$ECHO_CONNS, ${SECS}s runs"
  echo "route req/s cpu_us/req srv_us app_us errors"
  for _ in $(seq "$RUNS"); do
    run mpx-on "$ON_URL" "$ECHO_CONNS" "$RS_PID" "$ECHO_ON_PID" | tee -a "$TMP/echo"
    run mpx-off "$OFF_URL" "$ECHO_CONNS" "$RS_PID" "$ECHO_OFF_PID" | tee -a "$TMP/echo"
  done
  summarize "$TMP/echo" mpx-on mpx-off -- mpx-on/mpx-off
  printf 'echo_app threads after the runs: mpx-on %s, mpx-off %s\n' \
    "$(awk '/^Threads/ {print $2}' "/proc/$ECHO_ON_PID/status")" \
    "$(awk '/^Threads/ {print $2}' "/proc/$ECHO_OFF_PID/status")"
fi
