#!/bin/sh
# Installs what `make test` needs beyond the build: the browser test's
# chromium and playwright-core (install-browser-deps.sh) and Debian's
# prometheus package for promtool, which checks /metrics' exposition
# (tests/integration/test_metrics_promtool.c). Idempotent.
set -eu
cd "$(dirname "$0")/.."
sh scripts/install-browser-deps.sh
command -v promtool >/dev/null 2>&1 ||
    HOOKD_EXTRA_PKGS=prometheus HOOKD_INSTALLER=install-test-deps sh scripts/install-deps.sh
