#!/bin/sh
# Installs the Debian packages hookd needs to build, run and test, skipping
# those already present. Used by `make run`, `make test` and CI; idempotent.
# HOOKD_EXTRA_PKGS adds packages (the fuzz, bench, deploy and browser
# installers are this script with their own list).
#
# Debian starts the services of freshly installed packages (redis-server on
# 6379, nginx on 80); hookd's scripts and tests run their own on ports they
# choose, so services are kept from starting during the install
# (policy-rc.d, removed again afterwards).
set -eu
PKGS="build-essential pkg-config libmicrohttpd-dev libssl-dev libhiredis-dev
libjansson-dev libcurl4-openssl-dev redis-server redis-tools curl scdoc man-db"
[ -n "${HOOKD_EXTRA_PKGS:-}" ] && PKGS="$PKGS $HOOKD_EXTRA_PKGS"
who=${HOOKD_INSTALLER:-install-deps}
missing=""
for p in $PKGS; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" != 0 ]; then
    echo "$who: missing packages:$missing (run as root, or install them)" >&2
    exit 1
fi
echo "$who: installing$missing" >&2
policy=/usr/sbin/policy-rc.d
own_policy=""
if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' > "$policy"
    chmod 755 "$policy"
    own_policy=1
fi
cleanup() { [ -n "$own_policy" ] && rm -f "$policy"; return 0; }
trap cleanup EXIT
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing >/dev/null
