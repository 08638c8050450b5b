#!/bin/sh
# Installs what `make bench` needs beyond scripts/install-deps.sh: wrk (the
# load generator) and nginx (the ceiling, and the worker run's HTTP handler).
# Idempotent; Debian packages.
set -eu
PKGS="wrk nginx"
missing=""
for p in $PKGS; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" != 0 ]; then
    echo "install-bench-deps: missing packages:$missing (run as root, or install them)" >&2
    exit 1
fi
echo "install-bench-deps: installing$missing" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing >/dev/null
