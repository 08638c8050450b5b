#!/bin/bash
# burst/run.sh — the burst drill (`make burst`; docs/backpressure.md).
#
# Starts its own redis-server (free loopback port, data in a temp dir), a
# receiver, BURST_WORKERS workers and a handler sink whose every run costs
# BURST_HANDLER_MS; floods the receiver with BURST_EVENTS unique signed
# events from burst/loadgen (a few keep-alive connections, re-sending after
# Retry-After whatever got no 2xx, BURST_DUP_PCT % redelivered, one heavy
# tenant with BURST_HEAVY_PCT % of the events); waits for the backlog to
# drain; stops everything it started, by PID; prints the figures and checks
# that every accepted event ran exactly once. Bounded: the load stops at
# BURST_DEADLINE_S, the drain wait at the same deadline, and every process
# is stopped on any exit.
#
# Exit 0 when every event was accepted and ran exactly once; 1 otherwise.
# BURST_KEEP=1 keeps the temp dir (logs, config, run records) after success.
set -u
cd "$(dirname "$0")/.." || exit 2

BIN=${BURST_BIN:-build}
EVENTS=${BURST_EVENTS:-100000}
HANDLER_MS=${BURST_HANDLER_MS:-5}
WORKERS=${BURST_WORKERS:-2}
CONCURRENCY=${BURST_CONCURRENCY:-4}
CONNS=${BURST_CONNS:-8}
DUP_PCT=${BURST_DUP_PCT:-5}
HEAVY_PCT=${BURST_HEAVY_PCT:-80}
TENANTS=${BURST_TENANTS:-5}
WATERMARK=${BURST_WATERMARK:-10000}
RATE=${BURST_RATE:-2000}
RETRY_AFTER=${BURST_RETRY_AFTER:-2}
THREADS=${BURST_RECEIVER_THREADS:-4}
BODY_BYTES=${BURST_BODY_BYTES:-512}
DEADLINE=${BURST_DEADLINE_S:-300}
KEEP=${BURST_KEEP:-0}

for v in EVENTS HANDLER_MS WORKERS CONCURRENCY CONNS DUP_PCT HEAVY_PCT TENANTS WATERMARK RATE \
    RETRY_AFTER THREADS BODY_BYTES DEADLINE; do
    case ${!v} in
    '' | *[!0-9]*) echo "burst: BURST_$v must be a whole number, not \"${!v}\"" >&2; exit 2 ;;
    esac
done
for b in hookd-receiver hookd-worker burst/loadgen burst/sink burst/freeport; do
    [ -x "$BIN/$b" ] || { echo "burst: $BIN/$b is not built (make burst builds it)" >&2; exit 2; }
done
for c in redis-server redis-cli curl; do
    command -v $c >/dev/null || { echo "burst: needs $c (make deps)" >&2; exit 2; }
done

umask 077 # the config holds secrets: the receiver refuses one others can read
dir=$(mktemp -d "${TMPDIR:-/tmp}/hookd-burst.XXXXXX")
pids=()
ok=0

now_ms() { date +%s%3N; }
t_start=$(now_ms)
t_deadline=$((t_start + DEADLINE * 1000))

# Stops what this script started, newest first: SIGTERM, up to 10 s, SIGKILL.
stop_all() {
    local i pid n
    for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
        pid=${pids[i]}
        kill -TERM "$pid" 2>/dev/null || continue
        for ((n = 0; n < 100; n++)); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        kill -KILL "$pid" 2>/dev/null
        wait "$pid" 2>/dev/null
    done
    pids=()
}

finish() {
    stop_all
    if [ "$ok" = 1 ] && [ "$KEEP" != 1 ]; then
        rm -rf "$dir"
    else
        echo "burst: logs, config and run records kept in $dir"
    fi
}
trap finish EXIT
trap 'echo "burst: interrupted" >&2; exit 130' INT TERM

start() { # start NAME CMD... : runs CMD with its output in $dir/NAME.log
    local name=$1
    shift
    "$@" >"$dir/$name.log" 2>&1 &
    pids+=($!)
}

wait_for() { # wait_for WHAT CMD... : polls CMD for up to 10 s
    local what=$1 n
    shift
    for ((n = 0; n < 100; n++)); do
        "$@" >/dev/null 2>&1 && return 0
        sleep 0.1
    done
    echo "burst: $what did not come up; see $dir" >&2
    exit 1
}

read -r P_REDIS P_HTTP P_ADMIN P_SINK < <("$BIN/burst/freeport" 4 | tr '\n' ' ')
rcli() { redis-cli -h 127.0.0.1 -p "$P_REDIS" "$@"; }

rate_lines=""
[ "$RATE" -gt 0 ] && rate_lines=$'rate_limit = '"$RATE"$'/s\nburst = '"$RATE"
cat >"$dir/burst.conf" <<CONF
; written by burst/run.sh
[receiver]
listen = 127.0.0.1:$P_HTTP
admin_listen = 127.0.0.1:$P_ADMIN
admin_token = burst-admin-token
threads = $THREADS
high_watermark = $WATERMARK
retry_after = ${RETRY_AFTER}s
[redis]
url = redis://127.0.0.1:$P_REDIS/0
timeout = 2s
dedupe_ttl = 1h
[source burst]
scheme = github
secret.v1 = burst-secret
tenant = header:X-Tenant
$rate_lines
[route default]
handler = http://127.0.0.1:$P_SINK/hook
handler_timeout = 10s
CONF

echo "burst: $EVENTS events, ${HANDLER_MS} ms handler, $WORKERS workers x $CONCURRENCY," \
    "$CONNS connections, ${DUP_PCT}% redelivered, ${HEAVY_PCT}% heavy tenant of $TENANTS," \
    "watermark $WATERMARK, rate_limit ${RATE}/s, deadline ${DEADLINE}s; in $dir"

start redis redis-server --bind 127.0.0.1 --port "$P_REDIS" --dir "$dir" --save "" \
    --appendonly no --daemonize no
wait_for redis rcli ping
start sink "$BIN/burst/sink" "$P_SINK" "$dir/runs.log" "$HANDLER_MS"
start receiver "$BIN/hookd-receiver" -c "$dir/burst.conf"
wait_for receiver curl -sf "http://127.0.0.1:$P_ADMIN/healthz"
for ((w = 1; w <= WORKERS; w++)); do
    start "worker-$w" "$BIN/hookd-worker" -c "$dir/burst.conf" -r default -n "$CONCURRENCY" \
        --consumer "burst-$w"
done

# The backlog every 250 ms: "MS BACKLOG".
sample_backlog() {
    while :; do
        echo "$(now_ms) $(rcli HGET 'hookd:{default}:counters' backlog)"
        sleep 0.25
    done
}
start backlog sample_backlog

left_s=$(((t_deadline - $(now_ms)) / 1000))
"$BIN/burst/loadgen" --port "$P_HTTP" --secret burst-secret --events "$EVENTS" --conns "$CONNS" \
    --dup-pct "$DUP_PCT" --heavy-pct "$HEAVY_PCT" --tenants "$TENANTS" \
    --body-bytes "$BODY_BYTES" --deadline-s "$((left_s > 1 ? left_s : 1))" \
    --run "$t_start" --accepted "$dir/accepted.log" >"$dir/loadgen.out" 2>"$dir/loadgen.log"
load_rc=$?
t_load_end=$(now_ms)
tail -n 1 "$dir/loadgen.log"

# Drain: until the backlog is 0 and nothing is in flight, or the deadline.
drained=0
while [ "$(now_ms)" -lt "$t_deadline" ]; do
    b=$(rcli HGET 'hookd:{default}:counters' backlog)
    if [ "${b:-1}" = 0 ]; then
        drained=1
        break
    fi
    sleep 0.1
done
t_drained=$(now_ms)
counters=$(rcli HGETALL 'hookd:{default}:counters' | paste - - | sort)
used_memory=$(rcli INFO memory | tr -d '\r' | sed -n 's/^used_memory://p')
tenant_lens=$(for t in $(rcli SMEMBERS 'hookd:{default}:tenants' | sort); do
    echo "$t $(rcli XLEN "hookd:{default}:stream:$t")"
done)
stop_all # the sink flushes its run records on SIGTERM

lg() { sed -n "s/^$1 = //p" "$dir/loadgen.out"; }
counter() { echo "$counters" | awk -v k="$1" '$1 == k { v = $2 } END { print v + 0 }'; }
peak=$(awk '$2 > m { m = $2 } END { print m + 0 }' "$dir/backlog.log")

# Exactly once: each accepted event has exactly one run; no run of an event
# that was never accepted. Waits: handler start - 202, per tenant.
awk -v out="$dir/waits" '
    FNR == NR { runs[$1]++; if (!($1 in start)) start[$1] = $3; next }
    { acc[$1] = 1
      if (!($1 in runs)) missing++
      else if ($3 >= 0) print $2, start[$1] - $3 > out }
    END {
      for (id in runs) { if (runs[id] > 1) twice++; if (!(id in acc)) unexpected++ }
      printf "ran_twice = %d\nmissing = %d\nran_unaccepted = %d\n", twice, missing, unexpected
    }' "$dir/runs.log" "$dir/accepted.log" >"$dir/once.out"
once() { sed -n "s/^$1 = //p" "$dir/once.out"; }
waits=$(sort -k1,1 -k2,2n "$dir/waits" | awk '
    function flush() { if (n) printf "  %-6s %7d events  p50 %7d ms  p99 %7d ms  max %7d ms\n",
                           t, n, w[int((n - 1) * 0.50) + 1], w[int((n - 1) * 0.99) + 1], w[n] }
    $1 != t { flush(); t = $1; n = 0 }
    { w[++n] = $2 }
    END { flush() }')

dup_sent=$(lg duplicates)
dup_200=$(lg duplicates_answered_200)
ratio=$(awk -v a="${dup_200:-0}" -v b="${dup_sent:-0}" 'BEGIN { printf "%.3f", (b ? a / b : 0) }')
load_s=$(awk -v a="$t_start" -v b="$t_load_end" 'BEGIN { printf "%.1f", (b - a) / 1000 }')
drain_s=$(awk -v a="$t_load_end" -v b="$t_drained" 'BEGIN { printf "%.1f", (b - a) / 1000 }')
total_s=$(awk -v a="$t_start" -v b="$t_drained" 'BEGIN { printf "%.1f", (b - a) / 1000 }')
processed=$(counter processed)
rate_s=$(awk -v n="${processed:-0}" -v s="$total_s" 'BEGIN { printf "%.0f", (s > 0 ? n / s : 0) }')

cat <<REPORT

burst drill: $EVENTS events, handler ${HANDLER_MS} ms, $WORKERS workers x $CONCURRENCY threads
  accepted                 $(lg accepted) of $EVENTS (never accepted: $(lg never_accepted))
  requests sent            $(lg requests_sent) (202: $(lg answers_202), 200 duplicate: $(lg answers_200_duplicate), other: $(lg answers_other), transport errors: $(lg transport_errors))
  429 answers              $(lg answers_429)
  503 answers              $(lg answers_503)
  backlog peak             $peak (high_watermark $WATERMARK)
  load phase               ${load_s} s
  drain after the load     ${drain_s} s $([ $drained = 1 ] || echo "(NOT DRAINED by the deadline)")
  total                    ${total_s} s, ${rate_s} events/s processed
  duplicate-skip ratio     $ratio ($dup_200 of $dup_sent redeliveries answered 200 duplicate, $(lg duplicates_answered_202) answered 202; workers' duplicate_skipped $(counter duplicate_skipped))
  counters                 received $(counter received), processed $processed, retried $(counter retried), failed_permanent $(counter failed_permanent), overload_rejected $(counter overload_rejected), backlog $(counter backlog)
  redis memory             $(awk -v m="${used_memory:-0}" -v n="$(lg accepted)" 'BEGIN { printf "%.0f MiB, %.1f KiB per accepted event (entries and dedupe records are kept)", m / 1048576, (n > 0 ? m / 1024 / n : 0) }')
  tenant streams           $(echo "$tenant_lens" | awk '{ printf "%s%s %s", (NR > 1 ? ", " : ""), $1, $2 }')
  wait, 202 -> handler start, per tenant:
$waits
  exactly once             ran twice: $(once ran_twice), accepted but never ran: $(once missing), ran but never accepted: $(once ran_unaccepted)
REPORT

if [ "$load_rc" = 0 ] && [ "$drained" = 1 ] && [ "$(once ran_twice)" = 0 ] &&
    [ "$(once missing)" = 0 ] && [ "$(once ran_unaccepted)" = 0 ] &&
    [ "$processed" = "$(lg accepted)" ]; then
    echo "  verdict                  PASS: every event accepted, each ran exactly once"
    ok=1
    exit 0
fi
echo "  verdict                  FAIL (see $dir)"
exit 1
