/*
 * store_metrics.h — handler durations, pushed by workers into Redis and read
 * back by the receiver's /metrics, so one scrape target covers every worker
 * of every route (workers come and go; their counts stay in Redis).
 *
 *   P:{ROUTE}:handler_hist   hash, one field per (result, bucket):
 *       RESULT:le=BOUND   handler runs of that result that took <= BOUND
 *                         seconds and more than the previous bound
 *                         (non-cumulative; the receiver cumulates)
 *       RESULT:le=+Inf    runs longer than the last bound
 *       RESULT:sum_us     total duration in microseconds
 *   RESULT is the worker's verdict: ok, transient or permanent.
 *
 * The fields only grow (HINCRBY), so they behave as Prometheus counters
 * across worker restarts. The bounds are fixed here, shared by both sides.
 */
#ifndef HOOKD_STORE_METRICS_H
#define HOOKD_STORE_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "store.h"

#define STORE_HANDLER_HIST_KEY "handler_hist" /* P:{ROUTE}:handler_hist */
#define STORE_HANDLER_NBOUNDS 14
#define STORE_HANDLER_MAX_RESULTS 8 /* distinct verdict words read back */
#define STORE_HANDLER_RESULT_MAX 15 /* bytes of a verdict word */

extern const double store_handler_bounds_s[STORE_HANDLER_NBOUNDS];

/* One handler run as the two fields it increments: the bucket's count by
 * 1 and RESULT:sum_us by sum_us. The worker's outcome step (FINISH, RETRY,
 * DEAD) applies it in the same Lua call, so it costs no round trip. */
struct store_handler_sample {
    char bucket_field[64]; /* RESULT:le=BOUND */
    char sum_field[32];    /* RESULT:sum_us */
    long long sum_us;
};

/* Fills S for RESULT ([a-z_], else "other") and a duration in seconds. */
void store_handler_sample(struct store_handler_sample *s, const char *result, double seconds);

struct store_handler_hist {
    char result[STORE_HANDLER_RESULT_MAX + 1];
    uint64_t counts[STORE_HANDLER_NBOUNDS + 1]; /* non-cumulative; last: +Inf */
    double sum_s;
};

/* Reads ROUTE's histogram: one entry per result found (sorted by result),
 * at most cap; *n how many. Unknown fields are ignored. */
int store_handler_hist_read(struct store *st, const char *route, struct store_handler_hist *out,
                            size_t cap, size_t *n);

#endif
