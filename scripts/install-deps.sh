#!/bin/sh
# Installs the Debian packages hookd needs to build, run and test, skipping
# those already present. Used by `make run`, `make test` and CI; idempotent.
set -eu
PKGS="build-essential pkg-config libmicrohttpd-dev libssl-dev libhiredis-dev
libjansson-dev libcurl4-openssl-dev redis-server redis-tools curl"
[ -n "${HOOKD_EXTRA_PKGS:-}" ] && PKGS="$PKGS $HOOKD_EXTRA_PKGS"
missing=""
for p in $PKGS; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" != 0 ]; then
    echo "install-deps: missing packages:$missing (run as root, or install them)" >&2
    exit 1
fi
echo "install-deps: installing$missing" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing >/dev/null
