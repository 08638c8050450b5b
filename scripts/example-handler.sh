#!/bin/sh
# Example handler for `make run`: prints each event it receives.
# A handler gets the raw body on stdin and the event's metadata in HOOKD_*
# variables; exit 0 = processed, 75 = retry later, 65/77 = permanent failure.
body=$(cat)
printf 'handled %s event %s (%s, attempt %s, request %s): %.200s\n' \
    "$HOOKD_SOURCE" "$HOOKD_EVENT_ID" "$HOOKD_EVENT_TYPE" "$HOOKD_ATTEMPT" \
    "$HOOKD_REQUEST_ID" "$body" >&2
exit 0
