#!/bin/sh
# Test handler: records what it was given, then exits with CODE (default 0).
#   record.sh DIR [CODE]
# DIR/runs        one line per run: "EVENT_ID ATTEMPT"
# DIR/env.ID      the HOOKD_* variables and TRACEPARENT it saw
# DIR/body.ID     its stdin, byte for byte
dir=$1
code=${2:-0}
id=$HOOKD_EVENT_ID
cat > "$dir/body.$id"
env | grep -E '^(HOOKD_|TRACEPARENT=)' | sort > "$dir/env.$id"
echo "$id $HOOKD_ATTEMPT" >> "$dir/runs"
[ "$code" = 0 ] || echo "record.sh: failing $id with exit $code on attempt $HOOKD_ATTEMPT" >&2
exit "$code"
