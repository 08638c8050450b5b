/*
 * ratelimit.h — per-source token buckets (rate_limit = N/s, burst = M).
 *
 * Limits are per receiver process: with K receivers behind the proxy a
 * source may get up to K × rate. The rate in force is the config's, or an
 * operator's run-time override (`hookctl throttle SOURCE RATE`, kept in
 * Redis), refreshed at most once per RATELIMIT_REFRESH_MS by whichever
 * request notices it is stale — no extra round trip on the common path.
 */
#ifndef HOOKD_RATELIMIT_H
#define HOOKD_RATELIMIT_H

#include <stdint.h>

#include "config.h"
#include "store_ingress.h"

#define RATELIMIT_REFRESH_MS 1000

/* 0 when the request may proceed, else the seconds to put in Retry-After. */
int64_t ratelimit_check(const struct source_cfg *src, struct store *st);

/* The rate in force for a source (override or config), 0 = unlimited. */
double ratelimit_rate(const struct source_cfg *src);

#endif
