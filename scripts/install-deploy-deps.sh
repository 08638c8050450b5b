#!/bin/sh
# Installs what `make test-deploy` needs on top of scripts/install-deps.sh:
# nginx (Debian's package), openssl for the test certificate, redis-tools
# for redis-cli --cluster. Idempotent; skips what is present.
set -eu
cd "$(dirname "$0")/.."
HOOKD_INSTALLER=install-deploy-deps HOOKD_EXTRA_PKGS="nginx openssl" exec sh scripts/install-deps.sh
