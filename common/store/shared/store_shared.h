/*
 * store_shared.h — the store's calls that more than one caller makes
 * (receiver, workers, hookctl and the admin API); each caller's own header
 * (store_ingress.h, store_worker.h, store_admin.h) includes this one.
 *
 * Operators' run-time controls, kept in Redis so every receiver and worker
 * sees them without a restart (store_control.c):
 *
 *   P:{ROUTE}:paused     string, present while the route is paused: ingress
 *                        answers 503 + Retry-After (checked inside the
 *                        enqueue script), workers take nothing from it
 *   P:throttle           hash SOURCE -> events per second, overriding the
 *                        config's rate_limit (0 = refuse everything)
 *
 * Handler durations (store_metrics.c), pushed by workers into Redis and
 * read back by the receiver's /metrics, so one scrape target covers every
 * worker of every route (workers come and go; their counts stay in Redis):
 *
 *   P:{ROUTE}:handler_hist   hash, one field per (result, bucket):
 *       RESULT:le=BOUND   runs of that verdict (ok, transient, permanent)
 *                         that took <= BOUND seconds and more than the
 *                         previous bound (non-cumulative; the receiver
 *                         cumulates); RESULT:le=+Inf beyond the last bound
 *       RESULT:sum_us     total duration in microseconds
 *   The fields only grow (HINCRBY): Prometheus counters across restarts.
 *
 * A route's streams (store_tenants.c): its own and one per tenant.
 *
 * The enqueue step (store_enqueue.h): the receiver's, and hookctl's for
 * events recovered from a provider's API.
 */
#ifndef HOOKD_STORE_SHARED_H
#define HOOKD_STORE_SHARED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "store.h"
#include "store_enqueue.h"

/* ---- controls ---- */

struct store_throttle {
    char source[CONFIG_NAME_MAX + 1];
    double rate;
};

int store_route_pause(struct store *st, const char *route, bool paused);
/* *paused set to whether the route is paused. */
int store_route_paused(struct store *st, const char *route, bool *paused);

/* rate < 0 removes the override. */
int store_throttle_set(struct store *st, const char *source, double rate);
/* Up to cap overrides into out; *n their count. */
int store_throttle_list(struct store *st, struct store_throttle *out, size_t cap, size_t *n);

/* ---- handler durations ---- */

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

/* ---- a route's streams ---- */

/* The tenants with a stream of their own on ROUTE (P:{ROUTE}:tenants),
 * sorted; names that are not valid tenant names are left out. *out is a
 * new array of *n names (free()), NULL when there are none. */
int store_route_tenants(struct store *st, const char *route,
                        char (**out)[STORE_TENANT_MAX + 1], size_t *n);
/* FN(ST, ROUTE, TENANT, ARG) on each stream of ROUTE: the route's own
 * (TENANT "") first, then each tenant's, sorted. Stops at the first
 * negative return (or failed tenant list) and returns it; 0 otherwise. */
typedef int store_stream_fn(struct store *st, const char *route, const char *tenant, void *arg);
int store_each_stream(struct store *st, const char *route, store_stream_fn *fn, void *arg);

/* Whether HOLDER exports the Redis-wide route metrics now: takes or renews
 * P:metrics_exporter for TTL_MS (store_metrics.c). 0 or a store error. */
int store_metrics_lease(struct store *st, const char *holder, int64_t ttl_ms, bool *held);

#endif
