/*
 * runtime.h — the receiver's process-wide state, shared by its threads.
 *
 *  - the current config: swapped atomically on SIGHUP; a request takes a
 *    reference for its whole life, so a reload never frees a config in use;
 *  - one Redis connection per thread (a struct store is not thread-safe);
 *  - per-route overload flags for the watermark hysteresis;
 *  - the in-flight request count (global concurrency limit, drain on stop).
 */
#ifndef HOOKD_RUNTIME_H
#define HOOKD_RUNTIME_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "config.h"
#include "store_ingress.h"

/* Installs the first config (takes over the caller's reference). */
void runtime_init(struct config *cfg);
/* Replaces the config (takes over the caller's reference); the old one is
 * released when its last request finishes. */
void runtime_swap_config(struct config *cfg);
/* New reference to the current config; release with config_release. */
struct config *runtime_config(void);
/* Frees everything at exit (after the HTTP daemons stopped). */
void runtime_shutdown(void);

/* This thread's Redis connection, opened on first use; NULL only when out
 * of memory. Borrowed: owned by the runtime, closed at shutdown. */
struct store *runtime_store(void);

/* Watermark hysteresis per route: once over the high watermark, a route
 * refuses until its backlog falls below the low one. How long ROUTE has
 * been refusing (ms), or -1 when it is not. */
int64_t runtime_route_overloaded_for_ms(const char *route);
void runtime_set_route_overloaded(const char *route, bool over);

/* In-flight requests. */
extern atomic_uint runtime_inflight;

#endif
