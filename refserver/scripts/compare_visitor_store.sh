#!/usr/bin/env bash
# Visitor sessions in memory vs in Redis: the embedded example's GET /visits (load the
# visitor's session, count the visit, save it: one load and one save per request, two
# Redis round trips with Redis), the same binary started twice, `--visitor-store memory`
# and `--visitor-store redis://...` (a redis-server of the script's own, no persistence),
# one worker each, alternating memory, redis in every round, medians at the end.
#
# Each round measures both ways:
#   - throughput: wrk with CONNS connections for SECS seconds, requests/s, and the server's
#     (and redis-server's) CPU microseconds per request from /proc/PID/stat;
#   - latency: wrk with one connection (nothing queues), p50 and p99 per request; the
#     difference between the two stores is what Redis adds to a request.
# Every request carries the same visitor's cookie (a session made before the runs), so
# each one is a session that exists: load, then save.
#
#   cargo build --release -p refserver --example embedded
#   refserver/scripts/compare_visitor_store.sh [runs] [seconds]
#
# Environment: CONNS (50), EXAMPLE (the release example), MEM_PORT, RED_PORT, REDIS_PORT
# (18290-18292). Needs redis-server and wrk; installs nothing and stops every process it
# started when it exits.
set -euo pipefail
RUNS=${1:-5}
SECS=${2:-5}
CONNS=${CONNS:-50}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
EXAMPLE=${EXAMPLE:-$TARGET/release/examples/embedded}
MEM_PORT=${MEM_PORT:-18290}
RED_PORT=${RED_PORT:-18291}
REDIS_PORT=${REDIS_PORT:-18292}
TMP=$(mktemp -d)
PIDS=()
trap 'for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; sleep 0.3; rm -rf "$TMP"' EXIT

redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --dir "$TMP" --save '' --appendonly no \
  >"$TMP/redis.log" 2>&1 &
REDIS_PID=$!
PIDS+=("$REDIS_PID")
for _ in $(seq 50); do redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1 && break; sleep 0.1; done

start() { # port store; not in $(...), which would keep PIDS in a subshell
  "$EXAMPLE" --listen "127.0.0.1:$1" --workers 1 --access-log off --visitor-store "$2" \
    >"$TMP/$1.out" 2>"$TMP/$1.err" &
  STARTED=$!
  PIDS+=("$STARTED")
}
start "$MEM_PORT" memory
MEM_PID=$STARTED
start "$RED_PORT" "redis://127.0.0.1:$REDIS_PORT/0"
RED_PID=$STARTED
sleep 0.5

cookie() { # port: a session's cookie, made by one visit
  curl -s -D - -o /dev/null "http://127.0.0.1:$1/visits" | awk -F'[ ;]' 'tolower($1) == "set-cookie:" {print $2}' | tr -d '\r'
}
MEM_COOKIE=$(cookie "$MEM_PORT")
RED_COOKIE=$(cookie "$RED_PORT")
[ -n "$MEM_COOKIE" ] && [ -n "$RED_COOKIE" ] || { echo "no session cookie"; exit 1; }

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
TCK=$(getconf CLK_TCK)
# wrk's latency lines ("50%  120.00us") in microseconds.
to_us() { awk '{v=$1; if (v ~ /us$/) {sub(/us$/,"",v); print v} else if (v ~ /ms$/) {sub(/ms$/,"",v); print v*1000} else if (v ~ /s$/) {sub(/s$/,"",v); print v*1e6} else print v}'; }

run() { # name port pid cookie
  local before rbefore after rafter out rps reqs us rus lat p50 p99
  before=$(cpu_ticks "$3")
  rbefore=$(cpu_ticks "$REDIS_PID")
  out=$(wrk -t1 -c"$CONNS" -d"${SECS}s" -H "Cookie: $4" "http://127.0.0.1:$2/visits")
  after=$(cpu_ticks "$3")
  rafter=$(cpu_ticks "$REDIS_PID")
  rps=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
  reqs=$(echo "$out" | awk '/requests in/ {print $1}')
  us=$(awk -v t=$((after - before)) -v r="$reqs" -v h="$TCK" 'BEGIN {printf "%.1f", t * 1e6 / h / r}')
  rus=$(awk -v t=$((rafter - rbefore)) -v r="$reqs" -v h="$TCK" 'BEGIN {printf "%.1f", t * 1e6 / h / r}')
  lat=$(wrk -t1 -c1 -d"${SECS}s" --latency -H "Cookie: $4" "http://127.0.0.1:$2/visits")
  p50=$(echo "$lat" | awk '$1 == "50%" {print $2}' | to_us)
  p99=$(echo "$lat" | awk '$1 == "99%" {print $2}' | to_us)
  echo "$1 $rps $us $rus $p50 $p99"
}

# Warm-up (connections, the scripts cached in Redis), then the rounds.
wrk -t1 -c"$CONNS" -d1s -H "Cookie: $MEM_COOKIE" "http://127.0.0.1:$MEM_PORT/visits" >/dev/null
wrk -t1 -c"$CONNS" -d1s -H "Cookie: $RED_COOKIE" "http://127.0.0.1:$RED_PORT/visits" >/dev/null
echo "store req/s server_cpu_us/req redis_cpu_us/req p50_us(1 conn) p99_us(1 conn)"
for _ in $(seq "$RUNS"); do
  run memory "$MEM_PORT" "$MEM_PID" "$MEM_COOKIE" | tee -a "$TMP/results"
  run redis "$RED_PORT" "$RED_PID" "$RED_COOKIE" | tee -a "$TMP/results"
done
# Every answer was a counted visit, not a 503.
for port in "$MEM_PORT" "$RED_PORT"; do
  curl -s "http://127.0.0.1:$port/status?format=json" | grep -o '"5xx":[0-9]*\|"responses":\[[0-9,]*\]' | head -1 | sed "s/^/port $port: /"
done
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
echo "medians:"
for name in memory redis; do
  printf "%s" "$name"
  for col in 2 3 4 5 6; do
    printf " %s" "$(grep "^$name " "$TMP/results" | awk -v c=$col '{print $c}' | median)"
  done
  echo
done | tee "$TMP/medians"
awk 'NR == 1 {m50=$5; m99=$6; mr=$2} NR == 2 {printf "redis adds p50 %.0f us, p99 %.0f us per request; req/s %.0f%% of memory\n", $5 - m50, $6 - m99, 100 * $2 / mr}' "$TMP/medians"
