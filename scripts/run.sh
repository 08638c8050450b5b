#!/bin/sh
# `make run`: a local Redis, the receiver and a worker, with
# receiver.conf.example as is. Data and logs go to run/ (git-ignored).
# Ctrl-C (or `make stop` from another shell) stops what this script started.
set -eu
cd "$(dirname "$0")/.."
RUN=run
mkdir -p "$RUN/redis"
BUILD=${BUILD:-build}
CONF=receiver.conf.example

stop_all() {
    for f in "$RUN"/*.pid; do
        [ -f "$f" ] || continue
        pid=$(cat "$f")
        kill "$pid" 2>/dev/null || true
        rm -f "$f"
    done
}

if [ "${1:-}" = stop ]; then
    stop_all
    echo "stopped"
    exit 0
fi

# Development secrets, unless the caller exported real ones.
export HOOKD_ADMIN_TOKEN="${HOOKD_ADMIN_TOKEN:-dev-admin-token}"
export GITHUB_WEBHOOK_SECRET_V1="${GITHUB_WEBHOOK_SECRET_V1:-dev-github-secret}"
export STRIPE_WEBHOOK_SECRET_V1="${STRIPE_WEBHOOK_SECRET_V1:-whsec_dev_stripe_secret}"

stop_all
if redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then
    echo "run: a Redis already answers on 127.0.0.1:6379; using it"
else
    redis-server --bind 127.0.0.1 --port 6379 --dir "$PWD/$RUN/redis" \
        --appendonly yes --appendfsync everysec --save "" \
        --daemonize no --logfile "$PWD/$RUN/redis.log" &
    echo $! > "$RUN/redis.pid"
    i=0
    until redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; do
        i=$((i + 1)); [ $i -lt 100 ] || { echo "run: redis did not start; see $RUN/redis.log"; exit 1; }
        sleep 0.1
    done
fi

"$BUILD/hookd-receiver" -c "$CONF" 2>>"$RUN/receiver.log" &
echo $! > "$RUN/receiver.pid"
if [ -x "$BUILD/hookd-worker" ]; then
    "$BUILD/hookd-worker" -c "$CONF" -r billing -r default 2>>"$RUN/worker.log" &
    echo $! > "$RUN/worker.pid"
fi
trap 'stop_all; exit 0' INT TERM
i=0
until curl -sf http://127.0.0.1:9090/healthz >/dev/null 2>&1; do
    i=$((i + 1)); [ $i -lt 100 ] || { echo "run: receiver did not start; see $RUN/receiver.log"; stop_all; exit 1; }
    sleep 0.1
done

body='{"zen":"Keep it logically awesome.","hook_id":1}'
sig=$(printf '%s' "$body" | openssl dgst -sha256 -hmac "$GITHUB_WEBHOOK_SECRET_V1" | sed 's/^.*= //')
cat <<MSG

hookd is running: receiver on 127.0.0.1:8080, admin on 127.0.0.1:9090,
Redis on 127.0.0.1:6379; logs in $RUN/*.log. Send a signed event:

curl -i -X POST http://127.0.0.1:8080/hooks/github \\
  -H 'Content-Type: application/json' \\
  -H 'X-GitHub-Event: push' \\
  -H "X-GitHub-Delivery: \$(cat /proc/sys/kernel/random/uuid)" \\
  -H 'X-Hub-Signature-256: sha256=$sig' \\
  -d '$body'

Then look at it:  redis-cli XRANGE 'hookd:{default}:stream' - +
(The same with X-GitHub-Event: ping is answered 200 dropped: route github-pings.)
Health:           curl http://127.0.0.1:9090/readyz
Dashboard:        http://127.0.0.1:9090/  (user any, password $HOOKD_ADMIN_TOKEN)
Ctrl-C stops everything (or: make stop).

MSG
tail -n 0 -F "$RUN/receiver.log" "$RUN/worker.log" 2>/dev/null &
echo $! > "$RUN/tail.pid"
wait
