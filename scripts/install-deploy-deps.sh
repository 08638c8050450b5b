#!/bin/sh
# Installs what `make test-deploy` needs on top of scripts/install-deps.sh:
# nginx (Debian's package), openssl for the test certificate, redis-tools
# for redis-cli --cluster. Idempotent; skips what is present.
#
# Debian starts a freshly installed nginx on port 80; the tests run their own
# nginx on free loopback ports, so the package's service is kept from
# starting during the install (policy-rc.d, removed again afterwards).
set -eu
PKGS="nginx openssl redis-server redis-tools curl"
missing=""
for p in $PKGS; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" != 0 ]; then
    echo "install-deploy-deps: missing packages:$missing (run as root, or install them)" >&2
    exit 1
fi
echo "install-deploy-deps: installing$missing" >&2
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
