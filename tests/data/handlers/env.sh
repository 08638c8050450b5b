#!/bin/sh
# Test handler: writes its whole environment to DIR/fullenv.ID.
#   env.sh DIR
cat > /dev/null
env | sort > "$1/fullenv.$HOOKD_EVENT_ID"
