#!/bin/sh
# Test handler: sleeps, with start and end marks.
#   slow.sh DIR SECONDS [FAST_FROM [ONLY_ID]]
# DIR/marks gets "start ID ATTEMPT WORKER_PID NANOS" and "end ID ATTEMPT
# WORKER_PID NANOS"; DIR/pid.ID.ATTEMPT holds this shell's pid (= its process
# group). From attempt FAST_FROM on, it does not sleep; with ONLY_ID, only
# the event of that id sleeps.
dir=$1
secs=$2
id=$HOOKD_EVENT_ID
cat > /dev/null
echo $$ > "$dir/pid.$id.$HOOKD_ATTEMPT"
echo "start $id $HOOKD_ATTEMPT $PPID $(date +%s%N)" >> "$dir/marks"
if { [ -z "$3" ] || [ "$HOOKD_ATTEMPT" -lt "$3" ]; } && { [ -z "$4" ] || [ "$4" = "$id" ]; }; then
    sleep "$secs"
fi
echo "end $id $HOOKD_ATTEMPT $PPID $(date +%s%N)" >> "$dir/marks"
exit 0
