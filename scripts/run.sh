#!/bin/sh
# `make run`: a local Redis, the receiver and a worker, on a copy of a config
# (receiver.conf.example unless CONF=FILE) written to run/hookd.conf, where
# every env:VAR secret becomes a file: secret under run/secrets/ (the
# variable's value if exported, else a development value kept across runs).
# So hookctl, a second terminal and a SIGHUP after editing a secret file all
# see the same config: `export HOOKD_CONFIG=$PWD/run/hookd.conf`.
# Data and logs go to run/ (git-ignored). Ctrl-C (or `make stop` from another
# shell) stops what this script started, by PID.
#
# Knobs (environment): CONF, HOOKD_RUN_DIR (run), HOOKD_RUN_PORT (8080),
# HOOKD_RUN_ADMIN_PORT (9090), HOOKD_RUN_REDIS_PORT (6379), BUILD (build),
# HOOKD_RUN_DETACH=1 (print the banner and return, leaving them running).
set -eu
cd "$(dirname "$0")/.."
REPO=$PWD
RUN=${HOOKD_RUN_DIR:-run}
case "$RUN" in /*) ;; *) RUN=$REPO/$RUN ;; esac
BUILD=${BUILD:-build}
case "$BUILD" in /*) ;; *) BUILD=$REPO/$BUILD ;; esac
CONF=${CONF:-receiver.conf.example}
PORT=${HOOKD_RUN_PORT:-8080}
ADMIN_PORT=${HOOKD_RUN_ADMIN_PORT:-9090}
REDIS_PORT=${HOOKD_RUN_REDIS_PORT:-6379}
RUNCONF=$RUN/hookd.conf

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

[ -f "$CONF" ] || { echo "run: no config $CONF"; exit 2; }
CONFDIR=$(cd "$(dirname "$CONF")" && pwd)
mkdir -p "$RUN/redis" "$RUN/secrets"
chmod 700 "$RUN/secrets"

# Development secrets for the example's variables; any other variable gets a
# random whsec_ value (valid for every scheme, Standard Webhooks included).
dev_secret() {
    case "$1" in
    HOOKD_ADMIN_TOKEN) echo dev-admin-token ;;
    GITHUB_WEBHOOK_SECRET_V1) echo dev-github-secret ;;
    STRIPE_WEBHOOK_SECRET_V1) echo whsec_dev_stripe_secret ;;
    *) echo "whsec_$(head -c 24 /dev/urandom | base64)" ;;
    esac
}

# One file per env: variable the config names: the exported value wins,
# else the file already there, else a development value.
for var in $(sed -e '/^[[:space:]]*[;#]/d' "$CONF" | grep -o 'env:[A-Za-z_][A-Za-z0-9_]*' |
    sed 's/^env://' | sort -u); do
    f=$RUN/secrets/$var
    val=$(printenv "$var" || true)
    if [ -n "$val" ]; then
        (umask 077 && printf '%s\n' "$val" > "$f")
    elif [ ! -s "$f" ]; then
        (umask 077 && dev_secret "$var" > "$f")
    fi
done

# The run config: env: secrets as files, this run's ports, exec: handlers
# relative to the config's folder made absolute.
(umask 077 && sed -e "/^[[:space:]]*[;#]/!s|env:\([A-Za-z_][A-Za-z0-9_]*\)|file:$RUN/secrets/\1|g" \
    -e "s|^\([[:space:]]*listen[[:space:]]*=\).*|\1 127.0.0.1:$PORT|" \
    -e "s|^\([[:space:]]*admin_listen[[:space:]]*=\).*|\1 127.0.0.1:$ADMIN_PORT|" \
    -e "s|^\([[:space:]]*url[[:space:]]*=\).*|\1 redis://127.0.0.1:$REDIS_PORT/0|" \
    -e "s|^\([[:space:]]*handler[[:space:]]*=[[:space:]]*exec:\)\([^/[:space:]]\)|\1$CONFDIR/\2|" \
    "$CONF" > "$RUNCONF.tmp")
grep -q '^[[:space:]]*\[redis\]' "$RUNCONF.tmp" ||
    printf '\n[redis]\nurl = redis://127.0.0.1:%s/0\n' "$REDIS_PORT" >> "$RUNCONF.tmp"
mv "$RUNCONF.tmp" "$RUNCONF"
"$BUILD/hookd-receiver" -c "$RUNCONF" --check >/dev/null || exit 2

stop_all
if redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping >/dev/null 2>&1; then
    echo "run: a Redis already answers on 127.0.0.1:$REDIS_PORT; using it"
else
    redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --dir "$RUN/redis" \
        --appendonly yes --appendfsync everysec --save "" \
        --daemonize no --logfile "$RUN/redis.log" &
    echo $! > "$RUN/redis.pid"
    i=0
    until redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping >/dev/null 2>&1; do
        i=$((i + 1)); [ $i -lt 100 ] || { echo "run: redis did not start; see $RUN/redis.log"; exit 1; }
        sleep 0.1
    done
fi

"$BUILD/hookd-receiver" -c "$RUNCONF" 2>>"$RUN/receiver.log" &
echo $! > "$RUN/receiver.pid"
# scripts/example-handler.sh fails "fail*" events until this file exists.
rm -f "$RUN/downstream-fixed"
DEMO_STATE_DIR=$RUN "$BUILD/hookd-worker" -c "$RUNCONF" 2>>"$RUN/worker.log" &
echo $! > "$RUN/worker.pid"
[ -n "${HOOKD_RUN_DETACH:-}" ] || trap 'stop_all; exit 0' INT TERM
i=0
until curl -sf "http://127.0.0.1:$ADMIN_PORT/healthz" >/dev/null 2>&1; do
    i=$((i + 1)); [ $i -lt 100 ] || { echo "run: receiver did not start; see $RUN/receiver.log"; stop_all; exit 1; }
    sleep 0.1
done

# A ready-made signed request for the config's first source.
source=$(sed -n 's/^[[:space:]]*\[source[[:space:]]\{1,\}\([^]]*\)\].*/\1/p' "$RUNCONF" | head -n 1)
body=$RUN/example-body.json
printf '%s' '{"id":"evt_demo","type":"push","zen":"Keep it logically awesome."}' > "$body"
curl_cmd=$("$BUILD/hookctl" -c "$RUNCONF" sign "$source" --body "$body" --type push \
    --url "http://127.0.0.1:$PORT" 2>&1) || curl_cmd="(hookctl sign failed: $curl_cmd)"
token=$(cat "$RUN/secrets/HOOKD_ADMIN_TOKEN" 2>/dev/null || echo "(the config's admin_token)")
HOOKCTL=$BUILD/hookctl
case "$HOOKCTL" in "$REPO"/*) HOOKCTL=${HOOKCTL#"$REPO"/} ;; esac
cat <<MSG

hookd is running with $RUNCONF (from $CONF):
receiver on 127.0.0.1:$PORT, admin on 127.0.0.1:$ADMIN_PORT, Redis on 127.0.0.1:$REDIS_PORT;
logs in $RUN/*.log; secrets in $RUN/secrets/.

Send a signed event to source "$source" (a new event id each time: hookctl sign;
with --type ping it is answered 200 "dropped" where a route has handler = drop):

$curl_cmd

In another terminal:
  export HOOKD_CONFIG=$RUNCONF
  $HOOKCTL stats                                 queues, workers, counters
  $HOOKCTL sign $source --body FILE [--type T]   a curl for any body
A failure (the example handler fails "fail*" types until you fix it):
  eval "\$($HOOKCTL sign $source --body $body --type fail.demo)"
  $HOOKCTL dead list default                     its dead letter
  touch $RUN/downstream-fixed && $HOOKCTL replay default --all --wait
Health:     curl http://127.0.0.1:$ADMIN_PORT/readyz
Dashboard:  http://127.0.0.1:$ADMIN_PORT/  (user any, password $token)
Another config: make run CONF=FILE. Ctrl-C stops everything (or: make stop).

MSG
[ -z "${HOOKD_RUN_DETACH:-}" ] || exit 0
tail -n 0 -F "$RUN/receiver.log" "$RUN/worker.log" 2>/dev/null &
echo $! > "$RUN/tail.pid"
wait
