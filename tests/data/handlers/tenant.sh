#!/bin/sh
# Test handler: appends "TENANT EVENT_ID" to DIR/order ("-" when the event
# has no tenant).
#   tenant.sh DIR
cat > /dev/null
echo "${HOOKD_TENANT:--} $HOOKD_EVENT_ID" >> "$1/order"
