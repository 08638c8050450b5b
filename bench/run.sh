#!/bin/bash
# bench/run.sh — the benchmark behind `make bench` (see docs/performance.md).
#
# Starts its own redis-server, hookd-receiver and nginx on loopback ports the
# kernel picks, drives them with wrk (closed loop) and bench/rate (open loop,
# constant rate), and prints one table row per setting. Everything it starts
# runs under a temporary directory and is stopped by PID on exit.
#
# Environment: BENCH_SECONDS (5) per run, BENCH_COUNT (400000) requests per
# pre-signed file, BENCH_RECEIVER_THREADS (the config default), BENCH_POLLING
# (the receiver's `polling`: poll, its default, or epoll),
# BENCH_ROWS (a regex of row names to run; all by default),
# BENCH_E2E_RATE (4000) events/s offered and BENCH_E2E_SECONDS (30) for the
# end-to-end row, BENCH_KEEP=1 keeps the temporary directory (with the
# end-to-end row's INFO commandstats in e2e.commandstats).
set -euo pipefail

BIN=${BENCH_BIN:-build-bench}
NOOP=$(cd "$BIN/bench" && pwd)/noop
NOOP_PERSISTENT=$(cd "$BIN/bench" && pwd)/noop_persistent
DUR=${BENCH_SECONDS:-5}
COUNT=${BENCH_COUNT:-400000}
ROWS=${BENCH_ROWS:-.}
WRK_THREADS=2
GITHUB_SECRET=bench-github-secret
STANDARD_SECRET=whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw
W=$(mktemp -d /tmp/hookd-bench.XXXXXX)
TICK=$(getconf CLK_TCK)
ulimit -n "$(ulimit -Hn)"

read -r PORT ADMIN_PORT REDIS_PORT NGINX_PORT HANDLER_PORT < <("$BIN/bench/freeport" 5 | tr '\n' ' '; echo)
REDIS_PID='' RECV_PID='' NGINX_PID='' WORKER_PID='' PLAIN_PID=''

cleanup() {
    for p in $WORKER_PID $RECV_PID $PLAIN_PID $NGINX_PID $REDIS_PID; do
        kill -TERM "$p" 2>/dev/null && wait "$p" 2>/dev/null || true
    done
    [ "${BENCH_KEEP:-0}" = 1 ] && echo "bench: kept $W" >&2 || rm -rf "$W"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

rcli() { redis-cli -p "$REDIS_PORT" "$@"; }
wait_port() { # PORT: until something listens on it (10 s at most)
    for _ in $(seq 200); do
        (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
        sleep 0.05
    done
    echo "bench: nothing listens on port $1" >&2
    return 1
}
cpu_ticks() { # PID: utime + stime + reaped children's, in clock ticks
    awk '{print $14 + $15 + $16 + $17}' "/proc/$1/stat"
}
children_ticks() { # PID: utime + stime of its live children (persistent handlers)
    local t=0 f s a
    for f in /proc/[0-9]*/stat; do
        s=$(cat "$f" 2>/dev/null) || continue
        read -r -a a <<<"${s##*) }" # a[1]: ppid, a[11] a[12]: utime stime
        [ "${a[1]}" = "$1" ] && t=$((t + a[11] + a[12]))
    done
    echo "$t"
}
peak_rss_kib() { awk '/^VmHWM/ {print $2}' "/proc/$1/status"; }
xlen() { rcli XLEN "hookd:{$1}:stream"; }

# ---- setup: config, request files, nginx ------------------------------------
write_config() {
    cat >"$W/bench.conf" <<CONF
[receiver]
listen = 127.0.0.1:$PORT
admin_listen = 127.0.0.1:$ADMIN_PORT
admin_token = bench-admin-token
high_watermark = 100000000
low_watermark = 90000000
connection_timeout = 60s
log_level = info
${BENCH_RECEIVER_THREADS:+threads = $BENCH_RECEIVER_THREADS}
${BENCH_POLLING:+polling = $BENCH_POLLING}

[redis]
url = redis://127.0.0.1:$REDIS_PORT/0
timeout = 5s

[source github]
scheme = github
secret.v1 = $GITHUB_SECRET

[source standard]
scheme = standard
secret.v1 = $STANDARD_SECRET
; the request files are signed once, before the first run
tolerance = 3600

[source v1a]
scheme = standard
public_key.v1 = $V1A_PUBLIC_KEY
tolerance = 3600

[source discord]
scheme = discord
public_key.v1 = $DISCORD_PUBLIC_KEY
tolerance = 3600

[route web]
match = standard:*
handler = http://127.0.0.1:$HANDLER_PORT/hook

[route default]
handler = exec:$NOOP
CONF
    chmod 600 "$W/bench.conf"
    # The worker of the persistent rows: the same, with a persistent default route.
    sed -e "s|^handler = exec:$NOOP\$|handler = exec:$NOOP_PERSISTENT\nexec_mode = persistent|" \
        "$W/bench.conf" >"$W/bench-persistent.conf"
    chmod 600 "$W/bench-persistent.conf"
    # Per-key ordering's cost: every event its own key (json:/seq: the list
    # writes and reads only, nothing ever held), and one key for all (every
    # event waits for the one before it: the serial worst case).
    sed -e "s|^exec_mode = persistent\$|exec_mode = persistent\norder_by = json:/seq|" \
        "$W/bench-persistent.conf" >"$W/bench-ordered.conf"
    sed -e "s|^exec_mode = persistent\$|exec_mode = persistent\norder_by = json:/sender/login|" \
        "$W/bench-persistent.conf" >"$W/bench-onekey.conf"
    chmod 600 "$W/bench-ordered.conf" "$W/bench-onekey.conf"
}

start_nginx() {
    mkdir -p "$W/nginx"
    local user=''
    [ "$(id -u)" = 0 ] && user='user root;'
    sed -e "s|@PREFIX@|$W/nginx|g" -e "s|@PORT@|$NGINX_PORT|g" \
        -e "s|@HANDLER_PORT@|$HANDLER_PORT|g" -e "s|@USER@|$user|" \
        -e "s|@WORKERS@|$(nproc)|" bench/nginx.conf.in >"$W/nginx/nginx.conf"
    nginx -p "$W/nginx" -c "$W/nginx/nginx.conf" -e "$W/nginx/error.log" &
    NGINX_PID=$!
    wait_port "$NGINX_PORT"
}

start_redis() { # MODE: off | everysec | always
    [ -n "$REDIS_PID" ] && { kill -TERM "$REDIS_PID"; wait "$REDIS_PID" 2>/dev/null || true; }
    mkdir -p "$W/redis-$1"
    local aof=(--appendonly no)
    [ "$1" != off ] && aof=(--appendonly yes --appendfsync "$1")
    redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --dir "$W/redis-$1" \
        --logfile "$W/redis-$1/redis.log" "${aof[@]}" &
    REDIS_PID=$!
    wait_port "$REDIS_PORT"
    until rcli PING 2>/dev/null | grep -q PONG; do sleep 0.05; done
    AOF=$1
}

start_receiver() { # [CONFIG]: bench.conf by default
    : >"$W/receiver.log"
    "$BIN/hookd-receiver" -c "$W/${1:-bench.conf}" 2>"$W/receiver.log" &
    RECV_PID=$!
    wait_port "$PORT"
}

stop_receiver() {
    kill -TERM "$RECV_PID"
    wait "$RECV_PID" 2>/dev/null || true
    RECV_PID=''
}

# ---- one load run -----------------------------------------------------------
# Leaves RESULT fields (rps, p50_ms, ..., n202) as shell variables.
load() { # TOOL PORT FILEPREFIX CONNS [RATE]
    local out
    if [ "$1" = wrk ]; then
        out=$(wrk -t"$WRK_THREADS" -c"$4" -d"${DUR}s" --timeout 10s -s bench/ingress.lua \
            "http://127.0.0.1:$2" -- "$3" | grep '^RESULT')
    else
        out=$("$BIN/bench/rate" 127.0.0.1 "$2" "$3" "$WRK_THREADS" "$5" "$DUR" "$4" | grep '^RESULT')
    fi
    eval "${out#RESULT }"
}

declare -A NGINX_RPS PLAIN_RPS
printf '%-30s %5s %8s %7s %7s %8s %7s %8s %8s %6s %7s %7s %7s %6s %s\n' setting conns req/s p50ms p99ms \
    p99.9ms RSS_MiB cpu/10k redis/10k vs_ngx recv_us redis_us cmd_us vs_pln "count check"
per10k() { awk -v t="$1" -v n="$requests" -v h="$TICK" 'BEGIN{printf "%.2f", n ? t/h/n*10000 : 0}'; }
# TICKS per EVENTS in µs; "-" without events or ticks
us_per() { awk -v t="$1" -v n="$2" -v h="${3:-$TICK}" 'BEGIN{if (n > 0 && t != "") printf "%.1f", t/h/n*1e6; else printf "-"}'; }
# NAME CONNS RSS_KIB CPU_TICKS RATIO CHECK [REDIS_TICKS [ACCEPTED CMD_USEC PLAIN_RATIO]]:
# CPU-s per 10k requests, then CPU µs per accepted event (receiver, Redis
# process, Redis commandstats)
row() {
    local acc=${8:-0}
    printf '%-30s %5s %8s %7s %7s %8s %7s %8s %8s %6s %7s %7s %7s %6s %s\n' "$1" "$2" "$rps" \
        "$p50_ms" "$p99_ms" "$p999_ms" "$(awk -v k="$3" 'BEGIN{printf "%.1f", k/1024}')" \
        "$(per10k "$4")" "$(per10k "${7:-0}")" "$5" "$(us_per "$4" "$acc")" \
        "$(us_per "${7:-}" "$acc")" "$(us_per "${9:-}" "$acc" 1000000)" "${10:--}" "$6"
}

# Redis's commandstats: reset, and the µs spent in the commands clients
# send. A script's inner calls are counted under their own names as well
# (and inside the script's time), so only top-level commands are summed:
# the scripts, WAIT, and the worker's plain commands. XREADGROUP counts: a
# worker reads a route with one stream (every bench route) with a plain
# XREADGROUP (the read script, which calls it inside, serves only routes
# with tenant streams). XACK is left out: scripts call it too (the
# malformed-entry ack is its only top-level use).
TOP_LEVEL_CMDS='evalsha|eval|evalsha_ro|wait|xreadgroup|xautoclaim|xpending|xclaim|zrangebyscore|zrem|xgroup|ping|info|hgetall|smembers|client|hello|select|script'
cmdstat_reset() { rcli CONFIG RESETSTAT >/dev/null; }
cmdstat_calls() { # COMMAND: its calls since the reset
    rcli INFO commandstats | tr -d '\r' | awk -F'[:,=]' -v c="cmdstat_$1" \
        '$1 == c {for (i = 2; i < NF; i++) if ($i == "calls") n += $(i + 1)} END {printf "%d", n}'
}
cmdstat_usec() {
    rcli INFO commandstats | tr -d '\r' | awk -F'[:,=]' -v re="^cmdstat_($TOP_LEVEL_CMDS)\$" \
        '$1 ~ re {for (i = 2; i < NF; i++) if ($i == "usec") t += $(i + 1)} END {printf "%d", t}'
}

nginx_row() { # CONNS
    want "nginx-$AOF-c$1" || return 0
    load wrk "$NGINX_PORT" "$W/github" "$1"
    NGINX_RPS[$1]=$rps
    row "nginx return 202 (ceiling)" "$1" 0 0 "1.00" "-"
}

want() { [[ $1 =~ $ROWS ]]; }

# NAME TOOL FILEPREFIX ROUTE CONNS [RATE]: one receiver run with its checks.
ingress_row() {
    local name=$1 tool=$2 file=$3 route=$4 conns=$5 rate=${6:-}
    want "$name-$AOF-c$conns" || return 0
    rcli FLUSHALL >/dev/null
    start_receiver
    local c0 c1 r0 r1 hwm n logged ratio check stream cmd calls pratio=-
    cmdstat_reset
    c0=$(cpu_ticks "$RECV_PID") r0=$(cpu_ticks "$REDIS_PID")
    load "$tool" "$PORT" "$W/$file" "$conns" "$rate"
    c1=$(cpu_ticks "$RECV_PID") r1=$(cpu_ticks "$REDIS_PID")
    cmd=$(cmdstat_usec)
    calls=$(cmdstat_calls evalsha)
    hwm=$(peak_rss_kib "$RECV_PID")
    stop_receiver
    stream=$(xlen "$route")
    logged=$(grep -c '"status":202' "$W/receiver.log" || true)
    # Every 202 the receiver sent is one stream entry; the client saw all of
    # them except answers cut off when wrk stopped (at most one per conn).
    if [ "$stream" = "$logged" ] && [ "$n202" -le "$stream" ] &&
        { [ "$tool" = rate ] && [ "$n202" = "$stream" ] || [ $((stream - n202)) -le "$conns" ]; }; then
        check="ok: XLEN $stream = $logged 202s sent, $n202 seen"
    else
        check="MISMATCH: XLEN $stream, $logged 202s sent, $n202 seen"
        FAILED=1
    fi
    [ "$n200" -gt 0 ] && check="$check, $n200 duplicates"
    [ "$nother" -gt 0 ] && check="$check, $nother other"
    [ "$wrapped" -gt 0 ] && check="$check, file wrapped"
    [ "$calls" -gt 0 ] && check="$check; $(awk -v s="$stream" -v c="$calls" 'BEGIN{printf "%.1f", s/c}') per EVALSHA"
    ratio=-
    [ -n "${NGINX_RPS[$conns]:-}" ] && ratio=$(awk -v a="$rps" -v b="${NGINX_RPS[$conns]}" 'BEGIN{printf "%.2f", a/b}')
    [ -n "${PLAIN_RPS[$conns]:-}" ] && [ "$tool" = wrk ] &&
        pratio=$(awk -v a="$rps" -v b="${PLAIN_RPS[$conns]}" 'BEGIN{printf "%.2f", a/b}')
    row "$name" "$conns" "$hwm" $((c1 - c0)) "$ratio" "$check" $((r1 - r0)) "$stream" "$cmd" "$pratio"
    [ "$name-$conns" = github-64 ] && RECV_RPS64=$rps
    return 0
}

# The baseline: bench/plain.c (a plain libmicrohttpd + hiredis receiver:
# verify, then one blocking EVALSHA SET NX EX + XADD per request) on the
# receiver's port, the same requests and checks.
plain_row() { # CONNS
    want "plain-$AOF-c$1" || return 0
    local c0 c1 r0 r1 hwm stream cmd check
    rcli FLUSHALL >/dev/null
    "$BIN/bench/plain" "$PORT" "$REDIS_PORT" "$GITHUB_SECRET" 2>"$W/plain.log" &
    PLAIN_PID=$!
    wait_port "$PORT"
    cmdstat_reset
    c0=$(cpu_ticks "$PLAIN_PID") r0=$(cpu_ticks "$REDIS_PID")
    load wrk "$PORT" "$W/github" "$1"
    c1=$(cpu_ticks "$PLAIN_PID") r1=$(cpu_ticks "$REDIS_PID")
    cmd=$(cmdstat_usec)
    hwm=$(peak_rss_kib "$PLAIN_PID")
    kill -TERM "$PLAIN_PID"; wait "$PLAIN_PID" 2>/dev/null || true
    PLAIN_PID=''
    stream=$(rcli XLEN plain:stream)
    if [ "$n202" -le "$stream" ] && [ $((stream - n202)) -le "$1" ]; then
        check="ok: XLEN $stream, $n202 seen"
    else
        check="MISMATCH: XLEN $stream, $n202 seen"
        FAILED=1
    fi
    PLAIN_RPS[$1]=$rps
    row "plain C receiver (baseline)" "$1" "$hwm" $((c1 - c0)) \
        "$(awk -v a="$rps" -v b="${NGINX_RPS[$1]:-0}" 'BEGIN{printf "%.2f", b ? a/b : 0}')" \
        "$check" $((r1 - r0)) "$stream" "$cmd" "1.00"
}

# NAME ROUTE FILE CONCURRENCY EVENTS [WORKER_CONFIG]: fill a route through the
# receiver, then time N concurrent handlers draining it. CPU: the worker's,
# its reaped children's and its live children's (persistent handlers).
worker_row() {
    local name=$1 route=$2 file=$3 conc=$4 events=$5 conf=${6:-bench.conf}
    want "$name-c$conc" || return 0
    rcli FLUSHALL >/dev/null
    start_receiver "$conf" # the receiver gives ordered events their keys
    load rate "$PORT" "$W/$file" 64 $((events / DUR + 1))
    stop_receiver
    local n t0 t1 c1 r0 r1 done=0
    n=$(xlen "$route")
    cmdstat_reset
    r0=$(cpu_ticks "$REDIS_PID")
    "$BIN/hookd-worker" -c "$W/$conf" -r "$route" --concurrency "$conc" 2>"$W/worker.log" &
    WORKER_PID=$!
    t0=$(date +%s.%N)
    # One redis-cli polling every 50 ms (a process per poll cost this VM
    # ~20 % of a core: process creation is expensive here), 60 s at most.
    while read -r done; do
        [ "${done:-0}" -ge "$n" ] && break
    done < <(timeout 60 redis-cli -p "$REDIS_PORT" -r -1 -i 0.05 HGET "hookd:{$route}:counters" processed)
    t1=$(date +%s.%N)
    c1=$(($(cpu_ticks "$WORKER_PID") + $(children_ticks "$WORKER_PID")))
    r1=$(cpu_ticks "$REDIS_PID")
    local cmd
    cmd=$(cmdstat_usec)
    kill -TERM "$WORKER_PID"
    wait "$WORKER_PID" 2>/dev/null || true
    WORKER_PID=''
    awk -v n="$n" -v d="${done:-0}" -v a="$t0" -v b="$t1" -v c="$c1" -v h="$TICK" -v nm="$name" -v k="$conc" \
        -v r=$((r1 - r0)) -v u="$cmd" \
        'BEGIN{ s = b - a; printf "%-30s %5s %8.0f events/s  (%d of %d events in %.2f s; worker+handlers %.2f CPU-s = %.0f events per CPU-second; Redis %.1f µs CPU per event, commandstats %.1f µs)\n",
                nm, k, d/s, d, n, s, c/h, c ? d/(c/h) : 0, d ? r/h/d*1e6 : 0, d ? u/d : 0 }'
    [ "${done:-0}" -ge "$n" ] || FAILED=1
}

# Ingest and workers together: BENCH_E2E_RATE events/s offered (open loop,
# bench/rate) to the receiver for BENCH_E2E_SECONDS while one worker
# (persistent no-op handler, concurrency 2) drains the route. The backlog is
# sampled every 5 s; "stable" when the last sample is under a second of
# input. CPU per processed event of every process, from /proc over the
# window; Redis also from commandstats. Then the route must drain: processed
# = received = XLEN, nothing lost or run twice.
e2e_row() {
    want "end-to-end" || return 0
    local rate=${BENCH_E2E_RATE:-4000} secs=${BENCH_E2E_SECONDS:-30}
    local t0 t1 c0 c1 w0 w1 h0 h1 r0 r1 p0 p1 cmd backlog=() load_pid sampler got stable
    rcli FLUSHALL >/dev/null
    start_receiver bench-persistent.conf
    "$BIN/hookd-worker" -c "$W/bench-persistent.conf" -r default --concurrency 2 2>"$W/worker.log" &
    WORKER_PID=$!
    sleep 1 # the worker's group and handlers up
    cmdstat_reset
    c0=$(cpu_ticks "$RECV_PID") w0=$(cpu_ticks "$WORKER_PID") h0=$(children_ticks "$WORKER_PID")
    r0=$(cpu_ticks "$REDIS_PID") p0=$(rcli HGET "hookd:{default}:counters" processed)
    t0=$(date +%s.%N)
    "$BIN/bench/rate" 127.0.0.1 "$PORT" "$W/github" "$WRK_THREADS" "$rate" "$secs" 64 >"$W/e2e.out" &
    load_pid=$!
    timeout $((secs + 30)) redis-cli -p "$REDIS_PORT" -r -1 -i 5 HGET "hookd:{default}:counters" backlog \
        >"$W/e2e.backlog" 2>/dev/null &
    sampler=$!
    wait "$load_pid"
    t1=$(date +%s.%N)
    c1=$(cpu_ticks "$RECV_PID") w1=$(cpu_ticks "$WORKER_PID") h1=$(children_ticks "$WORKER_PID")
    r1=$(cpu_ticks "$REDIS_PID") p1=$(rcli HGET "hookd:{default}:counters" processed)
    kill -TERM "$sampler" 2>/dev/null; wait "$sampler" 2>/dev/null || true
    mapfile -t backlog <"$W/e2e.backlog"
    cmd=$(cmdstat_usec)
    rcli INFO commandstats | tr -d '\r' >"$W/e2e.commandstats" # per command, kept by BENCH_KEEP=1
    backlog+=("$(rcli HGET "hookd:{default}:counters" backlog)")
    eval "$(grep '^RESULT' "$W/e2e.out" | cut -d' ' -f2-)"
    for _ in $(seq 200); do # drain: 20 s at most
        got=$(rcli HGET "hookd:{default}:counters" processed)
        [ "${got:-0}" -ge "$(xlen default)" ] && break
        sleep 0.1
    done
    kill -TERM "$WORKER_PID"; wait "$WORKER_PID" 2>/dev/null || true
    WORKER_PID=''
    stop_receiver
    local n=$((${p1:-0} - ${p0:-0})) received stream
    received=$(rcli HGET "hookd:{default}:counters" received) stream=$(xlen default)
    stable=no
    [ "${backlog[-1]:-0}" -le "$rate" ] && stable=yes
    awk -v r="$rate" -v a="$t0" -v b="$t1" -v n="$n" -v h="$TICK" -v c=$((c1 - c0)) \
        -v w=$((w1 - w0)) -v hd=$((h1 - h0)) -v rd=$((r1 - r0)) -v u="$cmd" -v p99="$p99_ms" \
        -v p50="$p50_ms" -v bl="${backlog[*]}" -v st="$stable" 'BEGIN{ s = b - a;
        printf "end-to-end %d/s offered, %.0f s: %.0f events/s processed, ingest p50 %s ms p99 %s ms; backlog every 5 s: %s (stable: %s)\n",
            r, s, n / s, p50, p99, bl, st
        printf "  CPU µs per processed event: receiver %.1f, worker %.1f, handler %.1f, Redis %.1f (commandstats %.1f); total %.1f\n",
            c/h/n*1e6, w/h/n*1e6, hd/h/n*1e6, rd/h/n*1e6, u/n, (c+w+hd+rd)/h/n*1e6 }'
    if [ "$n202" = "$stream" ] && [ "$received" = "$stream" ] && [ "${got:-0}" = "$stream" ] &&
        [ "$stable" = yes ]; then
        echo "  count check ok: $n202 accepted = XLEN $stream = received = processed after the drain"
    else
        echo "  MISMATCH or unstable: $n202 accepted, XLEN $stream, received $received, processed ${got:-0}"
        FAILED=1
    fi
}

# ---- the runs ---------------------------------------------------------------
FAILED=0 RECV_RPS64=''
ED25519_SEED=5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed
read -r DISCORD_PUBLIC_KEY V1A_PUBLIC_KEY < <("$BIN/bench/gen" pubkey "$ED25519_SEED")
write_config
echo "bench: signing $COUNT requests per file into $W" >&2
"$BIN/bench/gen" github "$COUNT" "$WRK_THREADS" "127.0.0.1:$PORT" "$GITHUB_SECRET" "$W/github"
"$BIN/bench/gen" standard "$COUNT" "$WRK_THREADS" "127.0.0.1:$PORT" "$STANDARD_SECRET" "$W/standard"
"$BIN/bench/gen" github "$COUNT" "$WRK_THREADS" "127.0.0.1:$PORT" "$GITHUB_SECRET" "$W/dup" 2
"$BIN/bench/gen" v1a "$COUNT" "$WRK_THREADS" "127.0.0.1:$PORT" "$ED25519_SEED" "$W/v1a"
"$BIN/bench/gen" discord "$COUNT" "$WRK_THREADS" "127.0.0.1:$PORT" "$ED25519_SEED" "$W/discord"
start_nginx
echo "# $(nproc) cores; load before the runs: $(cut -d' ' -f1-3 /proc/loadavg); ${DUR}s per run;" \
    "receiver threads ${BENCH_RECEIVER_THREADS:-default}; $(redis-server --version | cut -d' ' -f3)," \
    "$(nginx -v 2>&1 | cut -d' ' -f3), $(wrk -v 2>&1 | head -1 | cut -d' ' -f1-2)"

for mode in off everysec always; do
    start_redis "$mode"
    echo "## Redis AOF $mode"
    for c in 64 256; do
        [ "$mode" = always ] && [ "$c" = 256 ] && continue
        nginx_row "$c"
        [ "$mode" = off ] && plain_row "$c"
        ingress_row github wrk github default "$c"
    done
    [ "$mode" = off ] || continue
    ingress_row standard wrk standard web 64
    # Ed25519: one public-key verification per request instead of an HMAC
    ingress_row standard-v1a wrk v1a default 64
    ingress_row discord wrk discord default 64
    ingress_row github-half-duplicates wrk dup default 64
    ingress_row github-1000-connections wrk github default 1000
    # latency at half the receiver's own closed-loop rate, open loop
    half=$(awk -v r="${RECV_RPS64:-10000}" 'BEGIN{printf "%d", r/2}')
    ingress_row "github-at-half-load($half/s)" rate github default 64 "$half"
    # the same open-loop rate against nginx: what the generator and this
    # machine add to every latency figure (the floor under the row above)
    if want "nginx-at-half-load-$AOF-c64"; then
        load rate "$NGINX_PORT" "$W/github" 64 "$half"
        row "nginx at the same rate" 64 0 0 "-" "-"
    fi
done

# The receiver's own ceiling: the same requests against a stand-in store
# that answers every enqueue step at once and keeps nothing
# (bench/nullredis.c). What separates this row from "github, AOF off" is
# what Redis costs on the same two cores.
if want "github-null-store-null-c64" || want "nginx-null-c64"; then
    kill -TERM "$REDIS_PID"; wait "$REDIS_PID" 2>/dev/null || true
    "$BIN/bench/nullredis" "$REDIS_PORT" 2>"$W/nullredis.log" &
    REDIS_PID=$! AOF=null
    wait_port "$REDIS_PORT"
    echo "## null store (the receiver alone)"
    nginx_row 64
    if want "github-null-store-null-c64"; then
        start_receiver
        c0=$(cpu_ticks "$RECV_PID")
        load wrk "$PORT" "$W/github" 64
        c1=$(cpu_ticks "$RECV_PID")
        hwm=$(peak_rss_kib "$RECV_PID")
        stop_receiver
        logged=$(grep -c '"status":202' "$W/receiver.log" || true)
        ratio=$(awk -v a="$rps" -v b="${NGINX_RPS[64]:-0}" 'BEGIN{printf "%.2f", b ? a/b : 0}')
        check="ok: $logged 202s sent, $n202 seen (nothing stored)"
        [ $((logged - n202)) -le 64 ] && [ "$n202" -le "$logged" ] || { check="MISMATCH: $logged sent, $n202 seen"; FAILED=1; }
        row "github, null store" 64 "$hwm" $((c1 - c0)) "$ratio" "$check"
    fi
fi

start_redis off
echo "## workers (Redis AOF off)"
for k in 1 2; do worker_row exec-noop default github "$k" 1000; done
for k in 1 2; do worker_row exec-noop-persistent default github "$k" 30000 bench-persistent.conf; done
worker_row exec-noop-persistent-ordered default github 2 30000 bench-ordered.conf
worker_row exec-noop-persistent-one-key default github 2 30000 bench-onekey.conf
for k in 4 16 64; do worker_row http-nginx-200 web standard "$k" 30000; done
echo "## end to end (Redis AOF off)"
e2e_row
echo "# load after the runs: $(cut -d' ' -f1-3 /proc/loadavg)"
[ "$FAILED" = 0 ] || { echo "bench: a count check failed" >&2; exit 1; }
