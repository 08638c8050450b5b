/*
 * admin_metrics.h — the page served at GET /metrics on the admin listener:
 * the receiver's own registry (ingress_metrics.h) plus figures read from
 * Redis at scrape time, so they cover every receiver and worker:
 *
 *   hookd_redis_up                                  1 when the reads below worked
 *   hookd_route_{stream_entries,in_flight,queued,retry_scheduled,
 *                dead_letters,backlog,consumers}{route}        gauges
 *   hookd_route_{received,duplicates,overload_rejected,processed,retried,
 *                failed_permanent,duplicate_skipped,replayed}_total{route}
 *                                                   counters (P:{ROUTE}:counters)
 *   hookd_handler_duration_seconds{route,result}    histogram (store_shared.h)
 */
#ifndef HOOKD_ADMIN_METRICS_H
#define HOOKD_ADMIN_METRICS_H

#include "config.h"
#include "metrics.h"
#include "store_admin.h"

#define ADMIN_METRICS_MAX_BYTES (8u << 20)

/* Writes the whole page into out (initialised by the caller). ST may be
 * NULL: Redis figures are then left out and hookd_redis_up is 0. */
void admin_metrics_render(const struct config *cfg, struct store *st, struct metrics_buf *out);

#endif
