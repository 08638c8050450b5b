#!/bin/sh
# Installs what `make fuzz` needs beyond scripts/install-deps.sh: clang and
# its runtime libraries (libFuzzer, ASan, UBSan). Idempotent; Debian packages.
set -eu
PKGS="clang libclang-rt-14-dev"
missing=""
for p in $PKGS; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" != 0 ]; then
    echo "install-fuzz-deps: missing packages:$missing (run as root, or install them)" >&2
    exit 1
fi
echo "install-fuzz-deps: installing$missing" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing >/dev/null
