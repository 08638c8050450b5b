#!/bin/sh
# hookctl-outage.sh FIXED_FLAG RUN_LOG — a downstream that is down until the
# file FIXED_FLAG exists: until then every event fails permanently (exit 65,
# EX_DATAERR, so it is dead-lettered at once); afterwards it succeeds and
# appends the event id to RUN_LOG, one line per run, so a test can tell
# how many times each event was handled. A body containing "poison" always
# fails permanently.
body=$(cat)
case "$body" in
*poison*)
    echo "cannot handle this payload" >&2
    exit 65 ;;
esac
if [ ! -e "$1" ]; then
    echo "downstream unavailable" >&2
    exit 65
fi
printf '%s\n' "$HOOKD_EVENT_ID" >> "$2"
exit 0
