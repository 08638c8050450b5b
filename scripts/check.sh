#!/bin/sh
# `make check`: the house rules a reviewer would otherwise enforce by hand.
#  1. banned functions (unbounded or not thread-safe), as curl's checksrc does;
#  2. size ceilings: a .c file under 600 lines, a header under 150, a
#     function under 60 lines;
#  3. the layers (docs/architecture.md): a file includes only headers of its
#     own layer or of the layers below it;
#  4. the docs keep up: every key of the config key table has its row in the
#     README, every Redis key name the store spells a row of its key table,
#     every module its name in docs/architecture.md's table;
#  5. clang-format, when installed, as a dry run (advisory, CHECK_FORMAT=1).
set -u
cd "$(dirname "$0")/.."
status=0
SRC=$(find common receiver workers hookctl -name '*.[ch]' | sort)

banned='\b(sprintf|vsprintf|strcpy|strcat|strncpy|strtok|atoi|atol|gets|localtime|strerror)[[:space:]]*\('
if grep -nE "$banned" $SRC $(find tests tools -name '*.c' -not -path '*/node_modules/*') 2>/dev/null; then
    echo "check: banned function used (see STYLE: snprintf, memcpy with bounds, strtol, gmtime_r, hookd_strerror)"
    status=1
fi

for f in $SRC; do
    n=$(wc -l < "$f")
    case "$f" in
    *.h) [ "$n" -le 150 ] || { echo "check: $f has $n lines (header ceiling 150)"; status=1; } ;;
    *.c) [ "$n" -le 600 ] || { echo "check: $f has $n lines (ceiling 600)"; status=1; } ;;
    esac
done

# Function length: from a line starting with an identifier and '(' ending the
# signature, to the closing brace in column 0.
long=$(for f in $(echo "$SRC" | grep '\.c$'); do
    awk -v F="$f" '
        /^[a-z].*\)$/ || /^[a-z].*\)[[:space:]]*$/ { name = $0; start = NR; next }
        /^\{/ { if (start == NR - 1) open = NR; next }
        /^\}/ { if (open) { len = NR - open; if (len > 60) printf "check: %s:%d: function of %d lines: %s\n", F, open, len, name; open = 0 } }
    ' "$f"
done)
[ -z "$long" ] || { echo "$long"; status=1; }

# Layers. Each folder has a rank; a file may include a header from a folder
# of the same or a lower rank only. Within common/store/, the callers' groups
# (ingress, worker, admin) share conn/, schema/, shared/ and the store/ root
# but never include each other. receiver/admin/ sits above the ingress path
# (only main.c and http.c, which start both listeners, include it). receiver/
# and workers/ never include each other, and common/ includes neither (nor
# hookctl/). Outside common/store/, a caller includes its own store header
# only: store_ingress.h (receiver/), store_worker.h (workers/),
# store_admin.h (receiver/admin/, hookctl/, common/ops/).
rank() {
    case "$1" in
    common/base) echo 0 ;;
    common/metrics) echo 1 ;;
    common/verify) echo 2 ;;
    common/config) echo 3 ;;
    common/store | common/store/conn | common/store/schema | common/store/shared) echo 4 ;;
    common/store/ingress | common/store/worker | common/store/admin) echo 5 ;;
    common/ops) echo 6 ;;
    receiver/admin) echo 8 ;;
    receiver* | workers* | hookctl) echo 7 ;;
    *) echo 99 ;;
    esac
}
HDRS=$(find common receiver workers hookctl -name '*.h' | sort)
dup=$(echo "$HDRS" | xargs -n1 basename | sort | uniq -d)
[ -z "$dup" ] || { echo "check: header names must be unique across the tree: $dup"; status=1; }
for f in $SRC; do
    d=$(dirname "$f")
    for inc in $(sed -n 's/^#include "\([^"]*\.h\)".*/\1/p' "$f"); do
        case "$inc" in */*) echo "check: $f: include \"$inc\" by name, not by path (the Makefile puts every layer on the include path)"; status=1; continue ;; esac
        if [ -f "$d/$inc" ]; then t=$d; else
            t=$(dirname "$(echo "$HDRS" | grep "/$inc\$" | head -n1)" 2>/dev/null)
            [ -n "$t" ] && [ "$t" != . ] || continue
        fi
        [ "$t" = "$d" ] && continue
        bad=
        case "$d" in
        common*) case "$t" in common*) ;; *) bad=1 ;; esac ;;
        receiver*) case "$t" in workers* | hookctl) bad=1 ;; esac ;;
        workers*) case "$t" in receiver* | hookctl) bad=1 ;; esac ;;
        hookctl) case "$t" in receiver* | workers*) bad=1 ;; esac ;;
        esac
        rd=$(rank "$d"); rt=$(rank "$t")
        [ "$rt" -le "$rd" ] || bad=1
        [ "$rd" = 5 ] && [ "$rt" = 5 ] && bad=1
        # The store by caller: outside common/store/, a file includes its
        # caller's one store header (store.h and store_shared.h come with it).
        case "$t" in common/store*)
            case "$d" in
            common/store*) ;;
            receiver) [ "$inc" = store_ingress.h ] || bad=1 ;;
            receiver/admin | hookctl | common/ops) [ "$inc" = store_admin.h ] || bad=1 ;;
            workers*) [ "$inc" = store_worker.h ] || bad=1 ;;
            *) bad=1 ;;
            esac ;;
        esac
        # The two files that start both listeners see the admin side.
        case "$f" in receiver/main.c | receiver/http.c) [ "$t" = receiver/admin ] && bad= ;; esac
        [ -z "$bad" ] || { echo "check: $f includes $t/$inc: against the layers (docs/architecture.md)"; status=1; }
    done
done

# Docs. A key row is {RCV(name), …} or {SEC_…, "name", …}; its README row
# starts with | `name` |. A module is a .c file; scheme_NAME.c files are
# named by the table's `scheme_NAME`.
keys=$(sed -n -e 's/^[[:space:]]*{R[A-Z][A-Z](\([a-z_]*\)),.*/\1/p' \
    -e 's/^[[:space:]]*{S[A-Z][A-Z](\([a-z_]*\)),.*/\1/p' \
    -e 's/^[[:space:]]*{SEC_[A-Z]*, "\([a-z_]*\)",.*/\1/p' common/config/config_keys.c | sort -u)
for k in $keys; do
    grep -q "^| \`$k\` |" README.md || { echo "check: config key $k has no row in README.md"; status=1; }
done
# Redis keys: the last word of each name store_key_route/store_key_global
# are given, of the STORE_*_KEY constants and of the formats in store_keys.c
# must end a name (or stand before ':') in a row of the README's key table.
rkeys=$(perl -0ne 'while (/store_key_(?:route|global)\s*\([^;]*?"([a-z_]+):?"/g) { print "$1\n" }
    while (/#define STORE_\w+_KEY "([a-z_]+)"/g) { print "$1\n" }
    while (/"%s:\{[^"]*\}:([a-z_]+)/g) { print "$1\n" }' $(find common/store -name '*.[ch]') |
    grep -vx h | sort -u)
for k in $rkeys; do
    grep -q "^| \`hookd:\(.*:\)\{0,1\}$k[\`:]" README.md ||
        { echo "check: Redis key ...:$k has no row in README.md's key table"; status=1; }
done
for f in $(find common receiver workers hookctl tools -name '*.c' -not -name 'scheme_*.c' | sort); do
    m=$(basename "$f" .c)
    grep -q "\`$m\`" docs/architecture.md ||
        { echo "check: module $f is not in docs/architecture.md's table"; status=1; }
done

if command -v clang-format >/dev/null 2>&1 && [ "${CHECK_FORMAT:-0}" = 1 ]; then
    for f in $SRC; do
        clang-format --dry-run "$f" 2>&1 | head -n 3
    done
fi
[ $status -eq 0 ] && echo "check: ok"
exit $status
