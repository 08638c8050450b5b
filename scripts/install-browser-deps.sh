#!/bin/sh
# Installs what the dashboard's browser test (tests/browser/) needs, skipping
# what is already there: Debian's chromium (through install-deps.sh, so the
# same root/apt rules apply), Node.js when absent, and playwright-core from
# tests/browser/package-lock.json into tests/browser/node_modules.
# Idempotent; called by the browser test itself and usable from CI.
set -eu
cd "$(dirname "$0")/.."
extra=""
[ -x /usr/bin/chromium ] || extra="$extra chromium"
command -v node >/dev/null 2>&1 || extra="$extra nodejs"
command -v npm >/dev/null 2>&1 || extra="$extra npm"
if [ -n "$extra" ]; then
    HOOKD_EXTRA_PKGS="${HOOKD_EXTRA_PKGS:-}$extra" sh scripts/install-deps.sh
fi
if [ ! -f tests/browser/node_modules/playwright-core/package.json ]; then
    echo "install-browser-deps: npm ci in tests/browser" >&2
    (cd tests/browser && npm ci --no-audit --no-fund --loglevel=error)
fi
