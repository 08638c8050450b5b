#!/bin/sh
# Installs what `make fuzz` needs beyond scripts/install-deps.sh: clang and
# its runtime libraries (libFuzzer, ASan, UBSan). Idempotent; Debian packages.
set -eu
cd "$(dirname "$0")/.."
HOOKD_INSTALLER=install-fuzz-deps HOOKD_EXTRA_PKGS="clang libclang-rt-14-dev" \
    exec sh scripts/install-deps.sh
