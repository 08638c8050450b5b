#!/bin/sh
# Example handler for `make run`: prints each event it receives.
# A handler gets the raw body on stdin and the event's metadata in HOOKD_*
# variables; exit 0 = processed, 75 = retry later, 65/77 = permanent failure.
#
# To see a failure: an event whose type starts with "fail" fails for good
# (exit 65, a dead letter) until the file DEMO_STATE_DIR/downstream-fixed
# exists (make run sets DEMO_STATE_DIR to run/); then replay it.
body=$(cat)
case "$HOOKD_EVENT_TYPE" in
fail*)
    if [ ! -e "${DEMO_STATE_DIR:-run}/downstream-fixed" ]; then
        echo "downstream refused $HOOKD_EVENT_ID (demo: touch ${DEMO_STATE_DIR:-run}/downstream-fixed, then replay)" >&2
        exit 65
    fi
    ;;
esac
printf 'handled %s event %s (%s, attempt %s, request %s): %.200s\n' \
    "$HOOKD_SOURCE" "$HOOKD_EVENT_ID" "$HOOKD_EVENT_TYPE" "$HOOKD_ATTEMPT" \
    "$HOOKD_REQUEST_ID" "$body" >&2
exit 0
