#!/bin/sh
# Test handler: writes 256 KiB to stderr before reading any stdin (a worker
# that wrote the body first would deadlock with it), then records the size
# of its stdin in DIR/size.ID and a marker line last. Exit 75 on attempt 1.
#   noisy.sh DIR
head -c 262144 /dev/zero | tr '\0' 'e' >&2
wc -c < /dev/stdin | tr -d ' ' > "$1/size.$HOOKD_EVENT_ID"
echo "noisy.sh: tail marker" >&2
[ "$HOOKD_ATTEMPT" -ge 2 ] || exit 75
exit 0
