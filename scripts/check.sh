#!/bin/sh
# `make check`: the house rules a reviewer would otherwise enforce by hand.
#  1. banned functions (unbounded or not thread-safe), as curl's checksrc does;
#  2. size ceilings: a .c file under 600 lines, a header under 150, a
#     function under 60 (reported, not fatal: some tables are long);
#  3. clang-format, when installed, as a dry run on changed files (advisory).
set -u
cd "$(dirname "$0")/.."
status=0
SRC=$(ls common/*.[ch] receiver/*.[ch] workers/*.[ch] hookctl/*.[ch] 2>/dev/null)

banned='\b(sprintf|vsprintf|strcpy|strcat|strncpy|strtok|atoi|atol|gets|localtime|strerror)[[:space:]]*\('
if grep -nE "$banned" $SRC tests/lib/*.c tests/unit/*.c tests/integration/*.c tests/deploy/*.c tests/tools/*.c 2>/dev/null; then
    echo "check: banned function used (see STYLE: snprintf, memcpy with bounds, strtol, gmtime_r, hookd_strerror)"
    status=1
fi

for f in $SRC; do
    n=$(wc -l < "$f")
    case "$f" in
    *.h) [ "$n" -le 150 ] || echo "check: $f has $n lines (header ceiling 150)" ;;
    *.c) [ "$n" -le 600 ] || { echo "check: $f has $n lines (ceiling 600)"; status=1; } ;;
    esac
done

# Function length: from a line starting with an identifier and '(' ending the
# signature, to the closing brace in column 0.
for f in $(ls common/*.c receiver/*.c workers/*.c hookctl/*.c 2>/dev/null); do
    awk -v F="$f" '
        /^[a-z].*\)$/ || /^[a-z].*\)[[:space:]]*$/ { name = $0; start = NR; next }
        /^\{/ { if (start == NR - 1) open = NR; next }
        /^\}/ { if (open) { len = NR - open; if (len > 60) printf "check: %s:%d: function of %d lines: %s\n", F, open, len, name; open = 0 } }
    ' "$f"
done

if command -v clang-format >/dev/null 2>&1 && [ "${CHECK_FORMAT:-0}" = 1 ]; then
    for f in $SRC; do
        clang-format --dry-run "$f" 2>&1 | head -n 3
    done
fi
[ $status -eq 0 ] && echo "check: ok"
exit $status
