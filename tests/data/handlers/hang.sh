#!/bin/sh
# Test handler: never finishes. A background child (same process group)
# records its pid in DIR/child.ATTEMPT, so a test can check that the whole
# group was killed at the timeout.
#   hang.sh DIR
sleep 60 &
echo $! > "$1/child.$HOOKD_ATTEMPT"
echo "$HOOKD_EVENT_ID $HOOKD_ATTEMPT" >> "$1/runs"
echo "hang.sh: hanging" >&2
wait
