#!/bin/sh
# Test handler: exit 75 (EX_TEMPFAIL) before attempt OK_FROM, then 0.
#   flaky.sh DIR OK_FROM
echo "$HOOKD_EVENT_ID $HOOKD_ATTEMPT" >> "$1/runs"
cat > /dev/null
if [ "$HOOKD_ATTEMPT" -lt "$2" ]; then
    echo "flaky.sh: not yet (attempt $HOOKD_ATTEMPT)" >&2
    exit 75
fi
exit 0
