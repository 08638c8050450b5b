#!/bin/sh
# `make deb`: a Debian package of hookd built with dpkg-deb from what
# `make install PREFIX=/usr` lays out, into $BUILD/deb/hookd_VERSION_ARCH.deb
# (DEB_WORK=DIR: elsewhere).
# Depends: the Debian packages that ship the shared libraries the three
# programs link directly (objdump NEEDED, ldd and dpkg -S: this system's).
# Man pages are gzipped as Debian does; /etc/hookd/hookd.conf is a conffile;
# postinst creates the hookd system user the units run as.
set -eu
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
work=${DEB_WORK:-$BUILD/deb} # the package's tree; the .deb goes beside it
case "$work" in /*) ;; *) work=$PWD/$work ;; esac
root=$work/root
rm -rf "$work"
make --no-print-directory -s install BUILD="$BUILD" DESTDIR="$root" PREFIX=/usr \
    SYSTEMDDIR=/lib/systemd/system >/dev/null
find "$root/usr/share/man" -type f -exec gzip -9n {} +
arch=$(dpkg --print-architecture)
version=$(git describe --tags --always 2>/dev/null | sed 's/^v//; s/^\([0-9a-f]\{7,\}\)$/0.0~git\1/' || true)
[ -n "$version" ] || version=0.0
case "$version" in [0-9]*) ;; *) version="0.0~$version" ;; esac
# The libraries the programs name (NEEDED), not what those pull in.
deps=$(for b in hookd-receiver hookd-worker hookctl; do
        needed=$(objdump -p "$BUILD/$b" | awk '/NEEDED/ { print $2 }')
        ldd "$BUILD/$b" | awk -v n="$needed" 'BEGIN { split(n, a, "\n"); for (i in a) want[a[i]] = 1 }
            $1 in want && $3 ~ /^\// { print $3 }'
    done | sort -u | while read -r lib; do
        dpkg -S "$(readlink -f "$lib")" 2>/dev/null || dpkg -S "$lib" 2>/dev/null || true
    done | cut -d: -f1 | sort -u | grep -v '^libc6$' | while read -r pkg; do
        printf '%s (>= %s), ' "$pkg" "$(dpkg-query -W -f='${Version}' "$pkg" | sed 's/-[^-]*$//')"
    done)
mkdir -p "$root/DEBIAN"
cat > "$root/DEBIAN/control" <<CONTROL
Package: hookd
Version: $version
Architecture: $arch
Maintainer: hookd maintainers <hookd@localhost>
Depends: ${deps}libc6
Recommends: redis-server
Section: net
Priority: optional
Description: webhook ingress: verify, deduplicate, queue in Redis, run handlers
 hookd-receiver verifies provider webhooks (GitHub, Stripe, Shopify, Slack,
 Standard Webhooks, generic HMAC) over the raw body against versioned keys,
 records each event in Redis atomically and answers; hookd-worker runs the
 handlers with retries and dead letters; hookctl operates it.
CONTROL
echo /etc/hookd/hookd.conf > "$root/DEBIAN/conffiles"
cat > "$root/DEBIAN/postinst" <<'POSTINST'
#!/bin/sh
set -e
if [ "$1" = configure ]; then
    getent group hookd >/dev/null || addgroup --system hookd
    getent passwd hookd >/dev/null ||
        adduser --system --ingroup hookd --no-create-home --home /nonexistent hookd
    chown root:hookd /etc/hookd /etc/hookd/hookd.conf
fi
POSTINST
chmod 0755 "$root/DEBIAN/postinst"
out=$work/hookd_${version}_$arch.deb
dpkg-deb --root-owner-group --build "$root" "$out" >/dev/null
echo "$out"
