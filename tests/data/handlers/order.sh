#!/bin/sh
# Test handler: appends "ROUTE EVENT_ID" to DIR/order.
#   order.sh DIR
cat > /dev/null
echo "$HOOKD_ROUTE $HOOKD_EVENT_ID" >> "$1/order"
