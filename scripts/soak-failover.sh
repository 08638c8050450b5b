#!/bin/sh
# scripts/soak-failover.sh — `make soak-failover` (not part of `make test`):
# the Sentinel failover tests of tests/integration/test_replication.c, run
# SOAK_RUNS times (default 20) while SOAK_LOAD busy processes (default 1,
# niced) keep the CPU loaded, as a shared or slow machine would. Prints one
# line per run (its failures, and the tests' own figures) and the total;
# exits 1 if any run failed. The busy processes are stopped by PID.
set -u

BUILD=${BUILD:-build}
RUNS=${SOAK_RUNS:-20}
LOAD=${SOAK_LOAD:-1}
TESTS='replication_sentinel_failover_without_restart replication_failover_new_master_stalls_after_old_primary_returns'
BUSY=''

cleanup() {
    for p in $BUSY; do kill "$p" 2>/dev/null; done
}
trap cleanup EXIT
trap 'exit 130' INT TERM

i=0
while [ "$i" -lt "$LOAD" ]; do
    nice -n 10 sh -c 'while :; do :; done' &
    BUSY="$BUSY $!"
    i=$((i + 1))
done

echo "soak-failover: $RUNS runs of 2 tests, $LOAD busy process(es), $(nproc) cores," \
    "load $(cut -d' ' -f1-3 /proc/loadavg)"
failed_runs=0 failed_tests=0 run=1
log=$(mktemp /tmp/hookd-soak.XXXXXX)
while [ "$run" -le "$RUNS" ]; do
    start=$(date +%s)
    # shellcheck disable=SC2086 # TESTS is a list of names
    "$BUILD/tests" $TESTS > "$log" 2>&1
    failed=$(grep -c '^FAIL' "$log")
    figures=$(grep -E '^    (sentinel failover|failover, new master)' "$log" |
        sed -E 's/^ +//; s/, [0-9]+ answers 503//' | tr '\n' ';')
    echo "run $run: $failed failed ($(($(date +%s) - start)) s) $figures"
    if [ "$failed" -gt 0 ]; then
        grep -E '^ +FAIL|^FAIL' "$log" | head -5
        failed_runs=$((failed_runs + 1))
        failed_tests=$((failed_tests + failed))
    fi
    run=$((run + 1))
done
rm -f "$log"
echo "soak-failover: $((RUNS - failed_runs)) of $RUNS runs passed ($failed_tests test failures)"
[ "$failed_runs" -eq 0 ]
