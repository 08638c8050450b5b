#!/bin/sh
# Installs what `make bench` needs beyond scripts/install-deps.sh: wrk (the
# load generator) and nginx (the ceiling, and the worker run's HTTP handler).
# Idempotent; Debian packages.
set -eu
cd "$(dirname "$0")/.."
HOOKD_INSTALLER=install-bench-deps HOOKD_EXTRA_PKGS="wrk nginx" exec sh scripts/install-deps.sh
