#!/bin/sh
# Handler of the admin and dashboard tests.
#   admin-handler.sh DIR
# Records what it was given, then fails permanently (exit 65, EX_DATAERR)
# while DIR/fail exists, and succeeds otherwise: a test can make dead
# letters, fix the "downstream", and replay them.
# DIR/runs       one line per run: "EVENT_ID ATTEMPT"
# DIR/env.NAME   the HOOKD_* variables and TRACEPARENT it saw (NAME: the
#                event id with anything but [A-Za-z0-9._-] as "_")
dir=$1
name=$(printf '%s' "$HOOKD_EVENT_ID" | tr -c 'A-Za-z0-9._-' '_')
cat > /dev/null
env | grep -E '^(HOOKD_|TRACEPARENT=)' | sort > "$dir/env.$name"
echo "$HOOKD_EVENT_ID $HOOKD_ATTEMPT" >> "$dir/runs"
if [ -e "$dir/fail" ]; then
    echo "downstream refused $HOOKD_EVENT_ID (test outage)" >&2
    exit 65
fi
exit 0
